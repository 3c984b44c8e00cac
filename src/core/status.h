/*
 * status.h - the one status type (enum mxp_status, in plugin.h) in words.
 */
#ifndef MXP_STATUS_H
#define MXP_STATUS_H

#include "mxprobe/plugin.h"

/* A sentence for every status code; never NULL. */
const char *mxp_strerror(int status);

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *mxp_state_name(enum mxp_state st);

/* Precedence OK < UNKNOWN < WARNING < CRITICAL: the worse of a and b. */
enum mxp_state mxp_state_worst(enum mxp_state a, enum mxp_state b);

#endif
