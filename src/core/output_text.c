/*
 * output_text.c - the report for a person at a terminal (-o text).
 *
 * Same content as the Nagios output, laid out in aligned columns, with
 * ANSI colours when asked (red urgent, orange warning, blue positive).
 * Every text is made terminal-safe first: a hostile banner must not be
 * able to send escape sequences.  Exports mxp_output_text().
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "report.h"
#include "status.h"

#define STATE_COL 10 /* "CRITICAL" and two blanks */

static const char *color_of(enum mxp_state st)
{
    switch (st) {
    case MXP_STATE_OK:
        return "\033[34m";
    case MXP_STATE_WARNING:
        return "\033[38;5;208m";
    case MXP_STATE_CRITICAL:
        return "\033[1;31m";
    default:
        return "\033[35m";
    }
}

#define BOLD "\033[1m"
#define RESET "\033[0m"

/* Valid UTF-8 passes (names like "Zürich"); control characters, C1
 * controls (U+0080..U+009F, which some terminals obey as CSI) and
 * invalid bytes each become '?'. */
static void put_text(struct mxp_out *o, const char *s)
{
    size_t n, len;

    if (s == NULL)
        return;
    len = strlen(s);
    while (len > 0) {
        uint32_t cp;

        n = mxp_utf8_next(s, len, &cp);
        if (cp == MXP_UTF8_INVALID || cp < 0x20 || cp == 0x7f ||
            (cp >= 0x80 && cp <= 0x9f))
            mxp_out_put(o, "?", 1);
        else
            mxp_out_put(o, s, n);
        s += n;
        len -= n;
    }
}

static void put_owned(struct mxp_out *o, char *s)
{
    if (s == NULL && o->status == MXP_OK)
        o->status = MXP_ERR_NOMEM;
    put_text(o, s);
    free(s);
}

static void put_spaces(struct mxp_out *o, size_t n)
{
    while (n-- > 0)
        mxp_out_put(o, " ", 1);
}

static void put_state(struct mxp_out *o, enum mxp_state st, int color)
{
    if (color)
        mxp_out_puts(o, color_of(st));
    mxp_out_puts(o, mxp_state_name(st));
    if (color)
        mxp_out_puts(o, RESET);
}

static void put_check(struct mxp_out *o, const struct mxp_check_result *c,
                      int verbosity, int color, size_t plugin_col)
{
    const char *plugin = c->plugin ? c->plugin : "?";
    size_t indent = 2 + STATE_COL + plugin_col;
    size_t i, w;
    char dir;

    mxp_out_puts(o, "  ");
    put_state(o, c->state, color);
    w = strlen(mxp_state_name(c->state));
    put_spaces(o, w < STATE_COL ? STATE_COL - w : 1);
    put_text(o, plugin);
    w = strlen(plugin);
    put_spaces(o, w < plugin_col ? plugin_col - w : 1);
    put_text(o, c->summary);
    mxp_out_puts(o, "\n");
    for (i = 0; i < c->n_details; i++) {
        if (!mxp_detail_visible(c, &c->details[i], verbosity))
            continue;
        put_spaces(o, indent);
        mxp_out_puts(o, "[");
        put_state(o, c->details[i].state, color);
        mxp_out_puts(o, "] ");
        put_text(o, c->details[i].text);
        mxp_out_puts(o, "\n");
    }
    for (i = 0; verbosity >= 2 && i < c->n_transcript; i++) {
        put_spaces(o, indent);
        dir = c->transcript[i].dir;
        if ((unsigned char)dir < 0x20 || (unsigned char)dir >= 0x7f)
            dir = '?';
        mxp_out_printf(o, "+%.3fs %c ", c->transcript[i].t, dir);
        put_text(o, c->transcript[i].text);
        mxp_out_puts(o, "\n");
    }
    for (i = 0; verbosity >= 3 && i < c->n_log; i++) {
        put_spaces(o, indent);
        mxp_out_puts(o, "debug: ");
        put_text(o, c->log[i]);
        mxp_out_puts(o, "\n");
    }
}

static void put_perf(struct mxp_out *o, const struct mxp_target_report *t)
{
    struct mxp_out one;
    size_t i, j;
    int any = 0;

    for (i = 0; i < t->n_checks; i++) {
        for (j = 0; j < t->checks[i].n_perf; j++) {
            if (!any)
                mxp_out_puts(o, "Performance data:\n");
            any = 1;
            mxp_out_init(&one);
            mxp_out_perf(&one, &t->checks[i].perf[j]);
            if (one.status != MXP_OK && o->status == MXP_OK)
                o->status = one.status;
            mxp_out_puts(o, "  ");
            put_text(o, one.buf.data);
            mxp_out_puts(o, "\n");
            mxp_buf_free(&one.buf);
        }
    }
}

void mxp_text_target(struct mxp_out *o, const struct mxp_target_report *t,
                     int verbosity, int color, size_t plugin_col)
{
    size_t i;

    if (color)
        mxp_out_puts(o, BOLD);
    put_owned(o, mxp_target_name(t));
    mxp_out_printf(o, " port %u: ", t->port);
    put_state(o, t->state, color);
    mxp_out_puts(o, "\n");
    if (t->error != NULL) {
        mxp_out_puts(o, "  error: ");
        put_text(o, t->error);
        mxp_out_puts(o, "\n");
    } else if (t->n_checks == 0) {
        mxp_out_puts(o, "  no checks run\n");
    }
    for (i = 0; i < t->n_checks; i++)
        put_check(o, &t->checks[i], verbosity, color, plugin_col);
    if (verbosity >= 1)
        put_perf(o, t);
}

void mxp_text_summary(struct mxp_out *o, size_t n, enum mxp_state state,
                      const size_t count[4], int color)
{
    if (color)
        mxp_out_puts(o, BOLD);
    mxp_out_printf(o, "%zu target%s: ", n, n == 1 ? "" : "s");
    put_state(o, state, color);
    mxp_out_puts(o, " - ");
    put_owned(o, mxp_counts_text(count));
    mxp_out_puts(o, "\n");
}

int mxp_output_text(FILE *f, const struct mxp_report *r, int verbosity,
                    int color)
{
    struct mxp_out o;
    size_t count[4] = {0, 0, 0, 0};
    size_t i, j, plugin_col = 0;

    /* One plugin column for all targets, so --all output lines up. */
    for (i = 0; i < r->n_targets; i++) {
        count[mxp_state_index(r->targets[i].state)]++;
        for (j = 0; j < r->targets[i].n_checks; j++) {
            const char *p = r->targets[i].checks[j].plugin;
            size_t w = p ? strlen(p) : 1;

            if (w + 2 > plugin_col)
                plugin_col = w + 2;
        }
    }
    mxp_out_init(&o);
    if (r->n_targets != 1)
        mxp_text_summary(&o, r->n_targets, r->state, count, color);
    for (i = 0; i < r->n_targets; i++) {
        if (r->n_targets > 1)
            mxp_out_puts(&o, "\n");
        mxp_text_target(&o, &r->targets[i], verbosity, color, plugin_col);
    }
    return mxp_out_finish(&o, f);
}
