/*
 * clock.c - monotonic time and deadlines (see clock.h).
 */
#include "clock.h"

#include <limits.h>
#include <math.h>
#include <time.h>

double mxp_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int mxp_poll_ms(double deadline)
{
    double left = deadline - mxp_now();

    if (left <= 0)
        return 0;
    /* Round up: waking a fraction of a millisecond early would only spin
     * once more through the caller's loop. */
    left = ceil(left * 1000.0);
    if (left > INT_MAX)
        return INT_MAX;
    return (int)left;
}

double mxp_min_deadline(double a, double b)
{
    return a < b ? a : b;
}
