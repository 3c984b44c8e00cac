/*
 * status.c - words for enum mxp_status and enum mxp_state (status.h).
 */
#include "status.h"

#include <stddef.h>

const char *mxp_strerror(int status)
{
    static const char *const words[MXP_STATUS_COUNT] = {
        [MXP_OK] = "success",
        [MXP_ERR_NOMEM] = "out of memory",
        [MXP_ERR_INVALID] = "invalid argument or input",
        [MXP_ERR_TIMEOUT] = "timed out",
        [MXP_ERR_CONNECT] = "connection failed",
        [MXP_ERR_CLOSED] = "connection closed by peer",
        [MXP_ERR_PROTOCOL] = "protocol error",
        [MXP_ERR_TOO_BIG] = "peer sent more than allowed",
        [MXP_ERR_IO] = "input/output error",
        [MXP_ERR_DNS] = "DNS resolver error",
        [MXP_ERR_CONFIG] = "configuration error",
        [MXP_ERR_UNSUPPORTED] = "not supported",
        [MXP_ERR_PLUGIN] = "plugin error",
    };

    if (status < 0 || status >= MXP_STATUS_COUNT || words[status] == NULL)
        return "unknown error";
    return words[status];
}

const char *mxp_state_name(enum mxp_state st)
{
    switch (st) {
    case MXP_STATE_OK:
        return "OK";
    case MXP_STATE_WARNING:
        return "WARNING";
    case MXP_STATE_CRITICAL:
        return "CRITICAL";
    case MXP_STATE_UNKNOWN:
        break;
    }
    return "UNKNOWN";
}

/* Rank by severity: UNKNOWN sits between OK and WARNING, so a check that
 * could not decide never hides a real problem found by another. */
static int severity(enum mxp_state st)
{
    switch (st) {
    case MXP_STATE_OK:
        return 0;
    case MXP_STATE_UNKNOWN:
        return 1;
    case MXP_STATE_WARNING:
        return 2;
    case MXP_STATE_CRITICAL:
        return 3;
    }
    return 1;
}

enum mxp_state mxp_state_worst(enum mxp_state a, enum mxp_state b)
{
    return severity(a) >= severity(b) ? a : b;
}
