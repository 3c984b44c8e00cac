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

static const char *const family_name[MXP_OM_FAMILIES] = {
    "mxprobe_target_state", "mxprobe_check_state",
    "mxprobe_check_duration_seconds", "mxprobe_perfdata"};
static const char *const family_help[MXP_OM_FAMILIES] = {
    "Worst Nagios state of a target: 0 OK, 1 WARNING, 2 CRITICAL, "
    "3 UNKNOWN.",
    "Nagios state of one check of a target: 0 OK, 1 WARNING, "
    "2 CRITICAL, 3 UNKNOWN.",
    "Seconds one check of a target took.",
    "A perfdata value of a check, in the unit of its uom label."};

/* One target's samples, each into the buffer of its family. */
void mxp_openmetrics_add(struct mxp_out fam[MXP_OM_FAMILIES],
                         const struct mxp_target_report *t)
{
    size_t j, k;

    mxp_out_puts(&fam[0], "mxprobe_target_state{");
    target_labels(&fam[0], t);
    mxp_out_puts(&fam[0], "}");
    value(&fam[0], t->state);
    for (j = 0; j < t->n_checks; j++) {
        const struct mxp_check_result *c = &t->checks[j];

        for (k = 1; k <= 2; k++) {
            mxp_out_printf(&fam[k], "%s{", family_name[k]);
            check_labels(&fam[k], t, c);
            mxp_out_puts(&fam[k], "}");
            value(&fam[k], k == 2 ? c->elapsed : (double)c->state);
        }
        for (k = 0; k < c->n_perf; k++) {
            mxp_out_puts(&fam[3], "mxprobe_perfdata{");
            check_labels(&fam[3], t, c);
            mxp_out_puts(&fam[3], ",metric=");
            label_value(&fam[3], c->perf[k].label);
            mxp_out_puts(&fam[3], ",uom=");
            label_value(&fam[3], c->perf[k].uom != NULL ? c->perf[k].uom : "");
            mxp_out_puts(&fam[3], "}");
            value(&fam[3], c->perf[k].value);
        }
    }
}

int mxp_openmetrics_write(struct mxp_out fam[MXP_OM_FAMILIES], FILE *f)
{
    struct mxp_out o;
    size_t k;

    mxp_out_init(&o);
    for (k = 0; k < MXP_OM_FAMILIES; k++) {
        family(&o, family_name[k], family_help[k]);
        if (fam[k].status != MXP_OK && o.status == MXP_OK)
            o.status = fam[k].status;
        if (fam[k].buf.len > 0)
            mxp_out_put(&o, fam[k].buf.data, fam[k].buf.len);
        mxp_buf_free(&fam[k].buf);
    }
    mxp_out_puts(&o, "# EOF\n");
    return mxp_out_finish(&o, f);
}

int mxp_output_openmetrics(FILE *f, const struct mxp_report *r)
{
    struct mxp_out fam[MXP_OM_FAMILIES];
    size_t i;

    for (i = 0; i < MXP_OM_FAMILIES; i++)
        mxp_out_init(&fam[i]);
    for (i = 0; i < r->n_targets; i++)
        mxp_openmetrics_add(fam, &r->targets[i]);
    return mxp_openmetrics_write(fam, f);
}
