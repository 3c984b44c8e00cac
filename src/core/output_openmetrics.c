/*
 * output_openmetrics.c - the report as metrics (-o openmetrics), for a
 * Prometheus textfile collector or any OpenMetrics reader.
 *
 * Four gauge families, each written whole (OpenMetrics wants a family's
 * samples together), every sample labelled with the target:
 *
 *   mxprobe_target_state{target,address,port}               0..3
 *   mxprobe_check_state{target,address,port,check}          0..3
 *   mxprobe_check_duration_seconds{target,address,port,check}
 *   mxprobe_perfdata{target,address,port,check,metric,uom}  the value
 *
 * States are the Nagios codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
 * Perfdata keeps its own label as the metric label rather than becoming
 * a family name of its own, so that any label a plugin chooses makes a
 * valid sample; a value that could not be determined is NaN.  Label
 * values are escaped (backslash, double quote, line feed) and made valid
 * UTF-8.  The text ends with "# EOF", which Prometheus' own text format
 * reads as a comment.  Exports mxp_output_openmetrics().
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* A label value: escaped, invalid UTF-8 as U+FFFD, other control bytes
 * as '?' (a label value is one line of text). */
static void label_value(struct mxp_out *o, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0, i = 0;

    mxp_out_put(o, "\"", 1);
    while (i < n) {
        uint32_t cp;
        size_t used = mxp_utf8_next(s + i, n - i, &cp);

        if (cp == MXP_UTF8_INVALID)
            mxp_out_puts(o, "\xef\xbf\xbd");
        else if (cp == '\\')
            mxp_out_puts(o, "\\\\");
        else if (cp == '"')
            mxp_out_puts(o, "\\\"");
        else if (cp == '\n')
            mxp_out_puts(o, "\\n");
        else if (cp < 0x20 || cp == 0x7f)
            mxp_out_put(o, "?", 1);
        else
            mxp_out_put(o, s + i, used);
        i += used;
    }
    mxp_out_put(o, "\"", 1);
}

static void target_labels(struct mxp_out *o, const struct mxp_target_report *t)
{
    mxp_out_puts(o, "target=");
    label_value(o, t->host);
    mxp_out_puts(o, ",address=");
    label_value(o, t->addr != NULL ? t->addr : "");
    mxp_out_printf(o, ",port=\"%u\"", t->port);
}

static void check_labels(struct mxp_out *o, const struct mxp_target_report *t,
                         const struct mxp_check_result *c)
{
    target_labels(o, t);
    mxp_out_puts(o, ",check=");
    label_value(o, c->plugin);
}

/* A sample's value: integers as such, NaN for none, else 6 decimals. */
static void value(struct mxp_out *o, double v)
{
    if (isnan(v))
        mxp_out_puts(o, " NaN\n");
    else if (isinf(v))
        mxp_out_puts(o, v > 0 ? " +Inf\n" : " -Inf\n");
    else if (v == (double)(long long)v && fabs(v) < 1e15)
        mxp_out_printf(o, " %lld\n", (long long)v);
    else
        mxp_out_printf(o, " %.6f\n", v);
}

static void family(struct mxp_out *o, const char *name, const char *help)
{
    mxp_out_printf(o, "# TYPE %s gauge\n# HELP %s %s\n", name, name, help);
}

/* One sample per check of every target: its state, or its time. */
static void check_samples(struct mxp_out *o, const struct mxp_report *r,
                          const char *name, int durations)
{
    for (size_t i = 0; i < r->n_targets; i++)
        for (size_t j = 0; j < r->targets[i].n_checks; j++) {
            const struct mxp_check_result *c = &r->targets[i].checks[j];

            mxp_out_printf(o, "%s{", name);
            check_labels(o, &r->targets[i], c);
            mxp_out_puts(o, "}");
            value(o, durations ? c->elapsed : (double)c->state);
        }
}

int mxp_output_openmetrics(FILE *f, const struct mxp_report *r)
{
    struct mxp_out o;
    size_t i, j, k;

    mxp_out_init(&o);
    family(&o, "mxprobe_target_state",
           "Worst Nagios state of a target: 0 OK, 1 WARNING, 2 CRITICAL, "
           "3 UNKNOWN.");
    for (i = 0; i < r->n_targets; i++) {
        mxp_out_puts(&o, "mxprobe_target_state{");
        target_labels(&o, &r->targets[i]);
        mxp_out_puts(&o, "}");
        value(&o, r->targets[i].state);
    }
    family(&o, "mxprobe_check_state",
           "Nagios state of one check of a target: 0 OK, 1 WARNING, "
           "2 CRITICAL, 3 UNKNOWN.");
    check_samples(&o, r, "mxprobe_check_state", 0);
    family(&o, "mxprobe_check_duration_seconds",
           "Seconds one check of a target took.");
    check_samples(&o, r, "mxprobe_check_duration_seconds", 1);
    family(&o, "mxprobe_perfdata",
           "A perfdata value of a check, in the unit of its uom label.");
    for (i = 0; i < r->n_targets; i++)
        for (j = 0; j < r->targets[i].n_checks; j++) {
            const struct mxp_check_result *c = &r->targets[i].checks[j];

            for (k = 0; k < c->n_perf; k++) {
                mxp_out_puts(&o, "mxprobe_perfdata{");
                check_labels(&o, &r->targets[i], c);
                mxp_out_puts(&o, ",metric=");
                label_value(&o, c->perf[k].label);
                mxp_out_puts(&o, ",uom=");
                label_value(&o, c->perf[k].uom != NULL ? c->perf[k].uom : "");
                mxp_out_puts(&o, "}");
                value(&o, c->perf[k].value);
            }
        }
    mxp_out_puts(&o, "# EOF\n");
    return mxp_out_finish(&o, f);
}
