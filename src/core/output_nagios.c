/*
 * output_nagios.c - the report as a Nagios plugin answer (-o nagios).
 *
 * One status line with the main perfdata, long output with one line per
 * check and its details, and the remaining perfdata on a last "|" line,
 * per the Monitoring Plugins Development Guidelines.  No space after
 * that '|': Icinga 2 before 2.14 joins the perfdata of the lines with a
 * space and takes a second one into the next label (' banner_connect').
 * Exports mxp_output_nagios(); returns MXP_OK, MXP_ERR_NOMEM or
 * MXP_ERR_IO.
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

/* A finished target as the nagios output needs it: its texts rendered,
 * its perfdata copied (labels get their prefix only when the form of the
 * whole output is known), so that the full report can be freed. */
static char *dup_or_null(const char *s, int *fail)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *fail = 1;
    return d;
}

int mxp_nagios_item_make(const struct mxp_target_report *t, int verbosity,
                         struct mxp_nagios_item *it)
{
    struct mxp_out o;
    size_t i, j, n = 0;
    int fail = 0;

    memset(it, 0, sizeof(*it));
    it->state = t->state;
    it->host = dup_or_null(t->host, &fail);
    it->addr = dup_or_null(t->addr, &fail);
    it->name = mxp_target_name(t);
    it->summary = mxp_target_summary(t);
    mxp_out_init(&o);
    for (i = 0; i < t->n_checks; i++) {
        put_check(&o, &t->checks[i], verbosity);
        n += t->checks[i].n_perf;
    }
    if (o.status == MXP_OK && o.buf.data == NULL)
        o.status = mxp_buf_puts(&o.buf, "");
    it->checks = o.status == MXP_OK ? o.buf.data : NULL;
    if (it->checks == NULL)
        mxp_buf_free(&o.buf);
    it->perf = calloc(n ? n : 1, sizeof(*it->perf));
    it->perf_main = calloc(n ? n : 1, 1);
    if (it->name == NULL || it->summary == NULL || it->checks == NULL ||
        it->perf == NULL || it->perf_main == NULL)
        fail = 1;
    for (i = 0; !fail && i < t->n_checks; i++) {
        for (j = 0; j < t->checks[i].n_perf; j++) {
            const struct mxp_perfdatum *p = &t->checks[i].perf[j];
            struct mxp_perfdatum *q = &it->perf[it->n_perf];

            *q = *p;
            q->label = dup_or_null(p->label, &fail);
            q->uom = dup_or_null(p->uom, &fail);
            q->warn = dup_or_null(p->warn, &fail);
            q->crit = dup_or_null(p->crit, &fail);
            it->perf_main[it->n_perf++] = j == 0;
        }
    }
    if (fail) {
        mxp_nagios_item_free(it);
        return MXP_ERR_NOMEM;
    }
    return MXP_OK;
}

void mxp_nagios_item_free(struct mxp_nagios_item *it)
{
    if (it == NULL)
        return;
    mxp_perfdata_free(it->perf, it->n_perf);
    free(it->perf_main);
    free(it->host);
    free(it->addr);
    free(it->name);
    free(it->summary);
    free(it->checks);
    memset(it, 0, sizeof(*it));
}

/* A perfdatum with its label as "<prefix>::<label>" (prefix NULL: as it
 * is). */
static void put_perf_prefixed(struct mxp_out *o, const struct mxp_perfdatum *p,
                              const char *prefix, int *first, const char *lead)
{
    struct mxp_perfdatum q = *p;
    char *label = NULL;

    if (prefix != NULL) {
        label = mxp_strdup_printf("%s::%s", prefix, p->label ? p->label : "");
        if (label == NULL) {
            if (o->status == MXP_OK)
                o->status = MXP_ERR_NOMEM;
            return;
        }
        q.label = label;
    }
    mxp_out_puts(o, *first ? lead : " ");
    mxp_out_perf(o, &q);
    free(label);
    *first = 0;
}

/*
 * One target: line 1 carries each check's first perfdatum (its main
 * metric, what graphs and thresholds care about); the rest goes on the
 * last line, where Nagios still reads it as perfdata.
 */
static void put_single(struct mxp_out *o, const struct mxp_nagios_item *t,
                       enum mxp_state state)
{
    size_t i;
    int first = 1;

    mxp_out_printf(o, "MXPROBE %s - ", mxp_state_name(state));
    put_text(o, t->name);
    mxp_out_puts(o, ": ");
    put_text(o, t->summary);
    for (i = 0; i < t->n_perf; i++)
        if (t->perf_main[i])
            put_perf_prefixed(o, &t->perf[i], NULL, &first, " | ");
    mxp_out_puts(o, "\n");
    mxp_out_puts(o, t->checks);
    first = 1;
    for (i = 0; i < t->n_perf; i++)
        if (!t->perf_main[i])
            put_perf_prefixed(o, &t->perf[i], NULL, &first, "|");
    if (!first)
        mxp_out_puts(o, "\n");
}

static void put_block(struct mxp_out *o, const struct mxp_nagios_item *t)
{
    mxp_out_puts(o, "== ");
    put_text(o, t->name);
    mxp_out_printf(o, ": %s - ", mxp_state_name(t->state));
    put_text(o, t->summary);
    mxp_out_puts(o, "\n");
    mxp_out_puts(o, t->checks);
}

static int same_host(const struct mxp_nagios_item *a,
                     const struct mxp_nagios_item *b)
{
    return a->host != NULL && b->host != NULL && strcmp(a->host, b->host) == 0;
}

/*
 * Several targets (--all, -D, a netblock).  The status line only counts
 * targets: there is no one "main metric" for many servers.  Every
 * perfdatum goes on the last line with its label prefixed "<host>::" (the
 * check_multi convention), so labels stay unique across targets and a
 * grapher can split them again; a host checked at several addresses
 * (items next to each other with the same host) prefixes
 * "<host>[<address>]::", unique per address and stable while the DNS is.
 */
static void put_multi(struct mxp_out *o,
                      const struct mxp_nagios_item *const *it, size_t n,
                      enum mxp_state state)
{
    size_t count[4] = {0, 0, 0, 0};
    size_t i, j;
    int first = 1;

    for (i = 0; i < n; i++)
        count[mxp_state_index(it[i]->state)]++;
    mxp_out_printf(o, "MXPROBE %s - %zu target%s: ", mxp_state_name(state), n,
                   n == 1 ? "" : "s");
    put_owned(o, mxp_counts_text(count));
    mxp_out_puts(o, "\n");
    for (i = 0; i < n; i++)
        put_block(o, it[i]);
    for (i = 0; i < n; i++) {
        const struct mxp_nagios_item *t = it[i];
        const char *host = t->host ? t->host : t->addr ? t->addr : "?";
        int several = (i > 0 && same_host(it[i - 1], t)) ||
                      (i + 1 < n && same_host(it[i + 1], t));
        char *prefix = NULL;

        if (several && t->addr != NULL && strcmp(t->addr, host) != 0) {
            prefix = mxp_strdup_printf("%s[%s]", host, t->addr);
            if (prefix == NULL) {
                if (o->status == MXP_OK)
                    o->status = MXP_ERR_NOMEM;
                return;
            }
        }
        for (j = 0; j < t->n_perf; j++)
            put_perf_prefixed(o, &t->perf[j], prefix ? prefix : host, &first,
                              "|");
        free(prefix);
    }
    if (!first)
        mxp_out_puts(o, "\n");
}

/*
 * One host name checked at each of its addresses (-H NAME with several
 * A/AAAA records): one status line for the host, with the worst state,
 * the address it comes from and how many addresses share it, so that the
 * service's state is the host's; then a block per address.  Perfdata is
 * all on the last line, labelled "<address>::<label>": the labels stay
 * the same from run to run whichever address is worst.
 */
static void put_host(struct mxp_out *o, const struct mxp_nagios_item *const *it,
                     size_t n, enum mxp_state state)
{
    static const enum mxp_state order[] = {
        MXP_STATE_CRITICAL, MXP_STATE_WARNING, MXP_STATE_UNKNOWN};
    size_t count[4] = {0, 0, 0, 0};
    const struct mxp_nagios_item *worst = NULL;
    size_t i, j, k;
    int first = 1;

    for (i = 0; i < n; i++) {
        count[mxp_state_index(it[i]->state)]++;
        if (worst == NULL && it[i]->state == state)
            worst = it[i];
    }
    if (worst == NULL)
        worst = it[0];
    mxp_out_printf(o, "MXPROBE %s - ", mxp_state_name(state));
    if (count[MXP_STATE_OK] == n) {
        put_text(o, it[0]->host);
        mxp_out_printf(o, ": all %zu addresses OK (", n);
        for (i = 0; i < n; i++) {
            mxp_out_puts(o, i ? ", " : "");
            put_text(o, it[i]->addr ? it[i]->addr : "?");
        }
        mxp_out_puts(o, ")\n");
    } else {
        put_text(o, worst->name);
        mxp_out_puts(o, ": ");
        put_text(o, worst->summary);
        first = 1;
        for (k = 0; k < 3; k++) {
            size_t c = count[mxp_state_index(order[k])];

            if (c == 0)
                continue;
            if (first)
                mxp_out_printf(o, " (%zu of %zu addresses %s", c, n,
                               mxp_state_name(order[k]));
            else
                mxp_out_printf(o, ", %zu %s", c, mxp_state_name(order[k]));
            first = 0;
        }
        mxp_out_puts(o, ")\n");
    }
    for (i = 0; i < n; i++)
        put_block(o, it[i]);
    first = 1;
    for (i = 0; i < n; i++) {
        const char *prefix = it[i]->addr   ? it[i]->addr
                             : it[i]->host ? it[i]->host
                                           : "?";

        for (j = 0; j < it[i]->n_perf; j++)
            put_perf_prefixed(o, &it[i]->perf[j], prefix, &first, "|");
    }
    if (!first)
        mxp_out_puts(o, "\n");
}

void mxp_nagios_render(struct mxp_out *o,
                       const struct mxp_nagios_item *const *items, size_t n,
                       enum mxp_nagios_form form, enum mxp_state state)
{
    if (n == 0)
        mxp_out_printf(o, "MXPROBE %s - no targets\n", mxp_state_name(state));
    else if (form == MXP_NAGIOS_HOST && n == 1)
        put_single(o, items[0], state);
    else if (form == MXP_NAGIOS_HOST)
        put_host(o, items, n, state);
    else
        put_multi(o, items, n, state);
}

int mxp_output_nagios(FILE *f, const struct mxp_report *r, int verbosity)
{
    struct mxp_nagios_item *items;
    const struct mxp_nagios_item **ptrs;
    struct mxp_out o;
    size_t i, made = 0;

    mxp_out_init(&o);
    items = calloc(r->n_targets ? r->n_targets : 1, sizeof(*items));
    ptrs = calloc(r->n_targets ? r->n_targets : 1, sizeof(*ptrs));
    if (items == NULL || ptrs == NULL)
        o.status = MXP_ERR_NOMEM;
    for (; o.status == MXP_OK && made < r->n_targets; made++) {
        if (mxp_nagios_item_make(&r->targets[made], verbosity, &items[made]) !=
            MXP_OK) {
            o.status = MXP_ERR_NOMEM;
            break;
        }
        ptrs[made] = &items[made];
    }
    if (o.status == MXP_OK)
        mxp_nagios_render(
            &o, ptrs, r->n_targets,
            r->n_targets == 1 ? MXP_NAGIOS_HOST : MXP_NAGIOS_MULTI, r->state);
    for (i = 0; i < made; i++)
        mxp_nagios_item_free(&items[i]);
    free(items);
    free(ptrs);
    return mxp_out_finish(&o, f);
}
