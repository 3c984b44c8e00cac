/*
 * output_nagios.c - the report as a Nagios plugin answer (-o nagios).
 *
 * One status line with the main perfdata, long output with one line per
 * check and its details, and the remaining perfdata on a last "| " line,
 * per the Monitoring Plugins Development Guidelines.  Exports
 * mxp_output_nagios(); returns MXP_OK, MXP_ERR_NOMEM or MXP_ERR_IO.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "report.h"
#include "status.h"

/* Nagios splits plugin output at the first '|' and at newlines, so these
 * may not appear in texts that came from plugins or the network. */
static void put_text(struct mxp_out *o, const char *s)
{
    const char *run = s;

    if (s == NULL)
        return;
    for (; *s; s++) {
        const char *rep = NULL;

        if (*s == '|')
            rep = "/";
        else if (*s == '\n' || *s == '\r')
            rep = " ";
        if (rep == NULL)
            continue;
        mxp_out_put(o, run, (size_t)(s - run));
        mxp_out_put(o, rep, 1);
        run = s + 1;
    }
    mxp_out_put(o, run, (size_t)(s - run));
}

/* Takes ownership of s, which may be NULL after out of memory. */
static void put_owned(struct mxp_out *o, char *s)
{
    if (s == NULL && o->status == MXP_OK)
        o->status = MXP_ERR_NOMEM;
    put_text(o, s);
    free(s);
}

static void put_dir(struct mxp_out *o, char dir)
{
    char c = dir;

    if ((unsigned char)c < 0x20 || c == 0x7f || c == '|')
        c = '?';
    mxp_out_put(o, &c, 1);
}

/* The long-output lines of one check, in the order the brief promises:
 * the check, its details, then (-vv) transcript and (-vvv) debug log. */
static void put_check(struct mxp_out *o, const struct mxp_check_result *c,
                      int verbosity)
{
    const char *plugin = c->plugin ? c->plugin : "?";
    size_t i;

    mxp_out_printf(o, "[%s] ", mxp_state_name(c->state));
    put_text(o, plugin);
    if (c->summary != NULL && c->summary[0] != '\0') {
        mxp_out_puts(o, ": ");
        put_text(o, c->summary);
    }
    mxp_out_puts(o, "\n");
    for (i = 0; i < c->n_details; i++) {
        const struct mxp_detail *d = &c->details[i];

        if (!mxp_detail_visible(c, d, verbosity))
            continue;
        mxp_out_printf(o, "[%s] ", mxp_state_name(d->state));
        put_text(o, plugin);
        mxp_out_puts(o, ": ");
        put_text(o, d->text);
        mxp_out_puts(o, "\n");
    }
    for (i = 0; verbosity >= 2 && i < c->n_transcript; i++) {
        const struct mxp_transcript_line *l = &c->transcript[i];

        mxp_out_puts(o, "  ");
        put_text(o, plugin);
        mxp_out_printf(o, " +%.3fs ", l->t);
        put_dir(o, l->dir);
        mxp_out_puts(o, " ");
        put_text(o, l->text);
        mxp_out_puts(o, "\n");
    }
    for (i = 0; verbosity >= 3 && i < c->n_log; i++) {
        mxp_out_puts(o, "  ");
        put_text(o, plugin);
        mxp_out_puts(o, " debug: ");
        put_text(o, c->log[i]);
        mxp_out_puts(o, "\n");
    }
}

static void put_checks(struct mxp_out *o, const struct mxp_target_report *t,
                       int verbosity)
{
    size_t i;

    for (i = 0; i < t->n_checks; i++)
        put_check(o, &t->checks[i], verbosity);
}

/*
 * One target: line 1 carries each check's first perfdatum (its main
 * metric, what graphs and thresholds care about); the rest goes on the
 * last line, where Nagios still reads it as perfdata.
 */
static void put_single(struct mxp_out *o, const struct mxp_report *r,
                       int verbosity)
{
    const struct mxp_target_report *t = &r->targets[0];
    size_t i, j;
    int first = 1;

    mxp_out_printf(o, "MXPROBE %s - ", mxp_state_name(r->state));
    put_owned(o, mxp_target_name(t));
    mxp_out_puts(o, ": ");
    put_owned(o, mxp_target_summary(t));
    for (i = 0; i < t->n_checks; i++) {
        if (t->checks[i].n_perf == 0)
            continue;
        mxp_out_puts(o, first ? " | " : " ");
        mxp_out_perf(o, &t->checks[i].perf[0]);
        first = 0;
    }
    mxp_out_puts(o, "\n");
    put_checks(o, t, verbosity);
    first = 1;
    for (i = 0; i < t->n_checks; i++) {
        for (j = 1; j < t->checks[i].n_perf; j++) {
            mxp_out_puts(o, first ? "| " : " ");
            mxp_out_perf(o, &t->checks[i].perf[j]);
            first = 0;
        }
    }
    if (!first)
        mxp_out_puts(o, "\n");
}

/*
 * Several targets (--all).  The status line only counts targets: there is
 * no one "main metric" for many servers.  Every perfdatum goes on the last
 * line with its label prefixed "<host>::" (the check_multi convention), so
 * labels stay unique across targets and a grapher can split them again.
 */
static void put_multi(struct mxp_out *o, const struct mxp_report *r,
                      int verbosity)
{
    size_t i, j, k;
    int first = 1;

    mxp_out_printf(o, "MXPROBE %s - %zu targets: ", mxp_state_name(r->state),
                   r->n_targets);
    put_owned(o, mxp_report_counts(r));
    mxp_out_puts(o, "\n");
    for (i = 0; i < r->n_targets; i++) {
        const struct mxp_target_report *t = &r->targets[i];

        mxp_out_puts(o, "== ");
        put_owned(o, mxp_target_name(t));
        mxp_out_printf(o, ": %s - ", mxp_state_name(t->state));
        put_owned(o, mxp_target_summary(t));
        mxp_out_puts(o, "\n");
        put_checks(o, t, verbosity);
    }
    for (i = 0; i < r->n_targets; i++) {
        const struct mxp_target_report *t = &r->targets[i];
        const char *host = t->host ? t->host : t->addr ? t->addr : "?";

        for (j = 0; j < t->n_checks; j++) {
            for (k = 0; k < t->checks[j].n_perf; k++) {
                struct mxp_perfdatum p = t->checks[j].perf[k];
                char *label;

                label =
                    mxp_strdup_printf("%s::%s", host, p.label ? p.label : "");
                if (label == NULL) {
                    if (o->status == MXP_OK)
                        o->status = MXP_ERR_NOMEM;
                    return;
                }
                p.label = label;
                mxp_out_puts(o, first ? "| " : " ");
                mxp_out_perf(o, &p);
                free(label);
                first = 0;
            }
        }
    }
    if (!first)
        mxp_out_puts(o, "\n");
}

int mxp_output_nagios(FILE *f, const struct mxp_report *r, int verbosity)
{
    struct mxp_out o;

    mxp_out_init(&o);
    if (r->n_targets == 0)
        mxp_out_printf(&o, "MXPROBE %s - no targets\n",
                       mxp_state_name(r->state));
    else if (r->n_targets == 1)
        put_single(&o, r, verbosity);
    else
        put_multi(&o, r, verbosity);
    return mxp_out_finish(&o, f);
}
