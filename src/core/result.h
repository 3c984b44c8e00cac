/*
 * result.h - Monitoring Plugins ranges, thresholds and perfdata.
 *
 * Ranges follow the Monitoring Plugins Development Guidelines exactly:
 * "10" alerts outside 0..10, "10:" below 10, "~:10" above 10, "10:20"
 * outside 10..20, "@10:20" inside 10..20; ends are inclusive.
 */
#ifndef MXP_RESULT_H
#define MXP_RESULT_H

#include "buf.h"
#include "mxprobe/plugin.h"

struct mxp_range {
    double start, end;
    int start_inf, end_inf; /* -infinity / +infinity */
    int inside;             /* '@': alert inside the range */
};

/* MXP_OK or MXP_ERR_INVALID (empty, junk, start > end). */
int mxp_range_parse(const char *text, struct mxp_range *out);
/* 1 when value raises an alert for this range. */
int mxp_range_alert(const struct mxp_range *r, double value);
/* CRITICAL if crit alerts, else WARNING if warn alerts, else OK; either
 * range may be NULL. */
enum mxp_state mxp_thresholds_state(const struct mxp_range *warn,
                                    const struct mxp_range *crit,
                                    double value);

struct mxp_perfdatum {
    char *label; /* full label, "<plugin>_<metric>" */
    double value;
    char *uom;   /* may be NULL */
    char *warn, *crit; /* may be NULL */
    double min, max;   /* NAN when absent */
};

/* Appends "label=value[uom];warn;crit;min;max" to out, trailing empty
 * fields dropped.  The label is single-quoted when it holds a space, '='
 * or a quote (a quote inside is doubled).  Numbers are plain decimals,
 * never exponents, at most 6 decimals, trailing zeros trimmed. */
int mxp_perf_format(struct mxp_buf *out, const struct mxp_perfdatum *p);
/* Plain decimal of a number as above into buf; returns buf. */
const char *mxp_format_number(double v, char *buf, size_t len);

/* svc->add_metric, written over ctx->svc so that a fake service table
 * shares the rule: min 0, ranges only for the main metric. */
void mxp_add_metric(struct mxp_ctx *ctx, const char *metric, double value,
                    const char *uom, double max, int is_main);
/* A buffer of this size holds any mxp_format_number() output.  NAN and
 * infinities give "U" (the guidelines' unknown value), as does a number
 * that does not fit a smaller buffer.  In perfdata a NAN value prints as
 * "U" without uom; NAN or infinite min/max are omitted. */
#define MXP_NUMBER_MAX 400

#endif
