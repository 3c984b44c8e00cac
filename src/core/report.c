/*
 * report.c - freeing run reports, and what the output formats share.
 *
 * Exports mxp_check_result_free()/mxp_report_free(), the sticky-status
 * output buffer (struct mxp_out), the target name, summary and count
 * texts, and a UTF-8 decoder; see report.h.  Out of memory comes back as
 * NULL or MXP_ERR_NOMEM, never as a crash.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "status.h"

void mxp_perfdata_free(struct mxp_perfdatum *p, size_t n)
{
    size_t i;

    for (i = 0; p != NULL && i < n; i++) {
        free(p[i].label);
        free(p[i].uom);
        free(p[i].warn);
        free(p[i].crit);
    }
    free(p);
}

void mxp_check_result_free(struct mxp_check_result *c)
{
    size_t i;

    if (c == NULL)
        return;
    free(c->plugin);
    free(c->summary);
    for (i = 0; i < c->n_details; i++)
        free(c->details[i].text);
    free(c->details);
    mxp_perfdata_free(c->perf, c->n_perf);
    for (i = 0; i < c->n_transcript; i++)
        free(c->transcript[i].text);
    free(c->transcript);
    for (i = 0; i < c->n_log; i++)
        free(c->log[i]);
    free(c->log);
    for (i = 0; i < c->n_fields; i++) {
        free(c->fields[i].key);
        free(c->fields[i].text);
    }
    free(c->fields);
    memset(c, 0, sizeof *c);
}

int mxp_field_key_ok(const char *key, size_t len)
{
    if (len == 0 || len > MXP_FIELD_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((key[i] >= 'a' && key[i] <= 'z') ||
              (key[i] >= '0' && key[i] <= '9') || key[i] == '_'))
            return 0;
    return 1;
}

void mxp_report_free(struct mxp_report *r)
{
    size_t i, j;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_targets; i++) {
        struct mxp_target_report *t = &r->targets[i];

        free(t->host);
        free(t->addr);
        free(t->error);
        for (j = 0; j < t->n_checks; j++)
            mxp_check_result_free(&t->checks[j]);
        free(t->checks);
    }
    free(r->targets);
    memset(r, 0, sizeof *r);
}

/* ---- struct mxp_out --------------------------------------------------- */

void mxp_out_init(struct mxp_out *o)
{
    mxp_buf_init(&o->buf);
    o->status = MXP_OK;
}

void mxp_out_put(struct mxp_out *o, const char *p, size_t n)
{
    if (o->status == MXP_OK && n > 0)
        o->status = mxp_buf_append(&o->buf, p, n);
}

void mxp_out_puts(struct mxp_out *o, const char *s)
{
    if (s != NULL)
        mxp_out_put(o, s, strlen(s));
}

void mxp_out_printf(struct mxp_out *o, const char *fmt, ...)
{
    char small[256];
    char *big = NULL;
    va_list ap;
    int n;

    if (o->status != MXP_OK)
        return;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->status = MXP_ERR_INVALID;
        return;
    }
    if ((size_t)n < sizeof small) {
        mxp_out_put(o, small, (size_t)n);
        return;
    }
    big = malloc((size_t)n + 1);
    if (big == NULL) {
        o->status = MXP_ERR_NOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    mxp_out_put(o, big, (size_t)n);
    free(big);
}

void mxp_out_perf(struct mxp_out *o, const struct mxp_perfdatum *p)
{
    struct mxp_perfdatum q = *p;

    /* A nameless datum from a broken producer must not cost the whole
     * output, and an empty label would not parse. */
    if (q.label == NULL || q.label[0] == '\0')
        q.label = (char *)"unnamed";
    if (o->status == MXP_OK)
        o->status = mxp_perf_format(&o->buf, &q);
}

int mxp_out_finish(struct mxp_out *o, FILE *f)
{
    int rc = o->status;

    if (rc == MXP_OK && o->buf.len > 0) {
        if (fwrite(o->buf.data, 1, o->buf.len, f) != o->buf.len)
            rc = MXP_ERR_IO;
    }
    if (rc == MXP_OK && fflush(f) != 0)
        rc = MXP_ERR_IO;
    mxp_buf_free(&o->buf);
    o->status = rc;
    return rc;
}

/* ---- texts the formats share ------------------------------------------ */

char *mxp_target_name(const struct mxp_target_report *t)
{
    const char *host = t->host;

    if (host == NULL || host[0] == '\0')
        host = t->addr != NULL ? t->addr : "(no host)";
    if (t->addr == NULL || strcmp(host, t->addr) == 0)
        return mxp_strdup_printf("%s", host);
    return mxp_strdup_printf("%s [%s]", host, t->addr);
}

/* Out-of-range values from a broken producer count as UNKNOWN. */
static enum mxp_state norm_state(enum mxp_state st)
{
    switch (st) {
    case MXP_STATE_OK:
    case MXP_STATE_WARNING:
    case MXP_STATE_CRITICAL:
        return st;
    default:
        return MXP_STATE_UNKNOWN;
    }
}

static void add_check_summary(struct mxp_out *o,
                              const struct mxp_check_result *c, int *first)
{
    if (!*first)
        mxp_out_puts(o, ", ");
    *first = 0;
    if (c->summary != NULL && c->summary[0] != '\0')
        mxp_out_puts(o, c->summary);
    else
        mxp_out_printf(o, "%s %s", c->plugin ? c->plugin : "?",
                       mxp_state_name(norm_state(c->state)));
}

char *mxp_target_summary(const struct mxp_target_report *t)
{
    static const enum mxp_state order[] = {
        MXP_STATE_CRITICAL, MXP_STATE_WARNING, MXP_STATE_UNKNOWN};
    struct mxp_out o;
    size_t i, k, n_bad = 0;
    int first = 1;
    char *s;

    mxp_out_init(&o);
    if (t->error != NULL) {
        mxp_out_puts(&o, t->error);
        first = 0;
    }
    for (i = 0; i < t->n_checks; i++) {
        if (norm_state(t->checks[i].state) != MXP_STATE_OK)
            n_bad++;
    }
    if (n_bad == 0) {
        for (i = 0; i < t->n_checks; i++)
            add_check_summary(&o, &t->checks[i], &first);
    } else {
        for (k = 0; k < sizeof order / sizeof order[0]; k++) {
            for (i = 0; i < t->n_checks; i++) {
                if (norm_state(t->checks[i].state) == order[k])
                    add_check_summary(&o, &t->checks[i], &first);
            }
        }
    }
    if (first)
        mxp_out_puts(&o, "no checks run");
    if (o.status != MXP_OK) {
        mxp_buf_free(&o.buf);
        return NULL;
    }
    /* Ownership of the text moves to the caller; an empty error string
     * alone leaves the buffer unallocated. */
    s = o.buf.data != NULL ? o.buf.data : strdup("");
    return s;
}

size_t mxp_state_index(enum mxp_state st)
{
    return (size_t)norm_state(st);
}

char *mxp_counts_text(const size_t count[4])
{
    static const enum mxp_state order[] = {
        MXP_STATE_CRITICAL, MXP_STATE_WARNING, MXP_STATE_UNKNOWN, MXP_STATE_OK};
    static const char *const words[] = {"critical", "warning", "unknown", "ok"};
    struct mxp_out o;
    size_t k;
    int first = 1;

    mxp_out_init(&o);
    for (k = 0; k < 4; k++) {
        size_t c = count[order[k]];

        /* "0 ok" stands in when there is nothing else to say. */
        if (c == 0 && !(k == 3 && first))
            continue;
        mxp_out_printf(&o, "%s%zu %s", first ? "" : ", ", c, words[k]);
        first = 0;
    }
    if (o.status != MXP_OK) {
        mxp_buf_free(&o.buf);
        return NULL;
    }
    return o.buf.data;
}

char *mxp_report_counts(const struct mxp_report *r)
{
    size_t count[4] = {0, 0, 0, 0};
    size_t i;

    for (i = 0; i < r->n_targets; i++)
        count[mxp_state_index(r->targets[i].state)]++;
    return mxp_counts_text(count);
}

int mxp_detail_visible(const struct mxp_check_result *c,
                       const struct mxp_detail *d, int verbosity)
{
    /* The check's own line already says it: a plugin whose summary is
     * its one finding would otherwise print it twice. */
    if (c->summary != NULL && d->state == c->state &&
        strcmp(d->text, c->summary) == 0)
        return 0;
    return verbosity >= 1 || d->state != MXP_STATE_OK;
}

size_t mxp_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xbf;
    uint32_t v;
    size_t need, i;

    *cp = MXP_UTF8_INVALID;
    if (n == 0)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] < 0xc2) {
        return 1; /* continuation byte, or C0/C1 overlong lead */
    } else if (p[0] < 0xe0) {
        need = 1;
        v = p[0] & 0x1f;
    } else if (p[0] < 0xf0) {
        need = 2;
        v = p[0] & 0x0f;
        if (p[0] == 0xe0)
            lo = 0xa0; /* overlong */
        else if (p[0] == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (p[0] < 0xf5) {
        need = 3;
        v = p[0] & 0x07;
        if (p[0] == 0xf0)
            lo = 0x90; /* overlong */
        else if (p[0] == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 1;
    }
    for (i = 1; i <= need; i++) {
        if (i >= n || p[i] < lo || p[i] > hi)
            return i;
        v = (v << 6) | (p[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *cp = v;
    return i;
}
