/*
 * clock.h - monotonic time and deadlines.
 *
 * Every wait in mxprobe is bounded by an absolute deadline in monotonic
 * seconds; helpers turn it into poll() timeouts.  No signals, no alarms.
 */
#ifndef MXP_CLOCK_H
#define MXP_CLOCK_H

/* Monotonic seconds (CLOCK_MONOTONIC). */
double mxp_now(void);

/* Milliseconds from now until deadline for poll(): 0 when passed,
 * rounded up so that we never wake just before the deadline. */
int mxp_poll_ms(double deadline);

/* The earlier of two absolute deadlines. */
double mxp_min_deadline(double a, double b);

#endif
