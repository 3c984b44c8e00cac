/*
 * ipc.c - encode job records in the child, decode them in the parent
 * (ipc.h).  Decoding trusts nothing: lengths are checked against the
 * caps, and a short or strange record ends the stream as corrupt.
 */
#include "ipc.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mxp_ipc_send(int fd, enum mxp_ipc_type type, const void *payload,
                 size_t len)
{
    /* One write per record: each write wakes the parent, and a record
     * up to PIPE_BUF bytes arrives whole. */
    unsigned char buf[5 + MXP_IPC_MAX_RECORD];
    uint32_t n;
    size_t off, total;

    if (len > MXP_IPC_MAX_RECORD - 1)
        len = MXP_IPC_MAX_RECORD - 1;
    n = (uint32_t)len + 1;
    memcpy(buf, &n, 4);
    buf[4] = (unsigned char)type;
    if (len > 0)
        memcpy(buf + 5, payload, len);
    total = 5 + len;
    for (off = 0; off < total;) {
        ssize_t w = write(fd, buf + off, total - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MXP_ERR_IO;
        off += (size_t)w;
    }
    return MXP_OK;
}

int mxp_ipc_send_state_text(int fd, enum mxp_ipc_type type,
                            enum mxp_state st, const char *text)
{
    struct mxp_buf b;
    char c = (char)st;
    int rc;

    mxp_buf_init(&b);
    rc = mxp_buf_append(&b, &c, 1);
    if (rc == MXP_OK)
        rc = mxp_buf_puts(&b, text);
    if (rc == MXP_OK)
        rc = mxp_ipc_send(fd, type, b.data, b.len);
    mxp_buf_free(&b);
    return rc;
}

static int put_field(struct mxp_buf *b, const char *s)
{
    int rc = mxp_buf_puts(b, s != NULL ? s : "");

    if (rc == MXP_OK)
        rc = mxp_buf_append(b, "", 1);
    return rc;
}

static int put_number(struct mxp_buf *b, double v)
{
    char tmp[64];

    if (isnan(v))
        tmp[0] = '\0';
    else
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    return put_field(b, tmp);
}

int mxp_ipc_send_field(int fd, const char *key, const char *text, double number)
{
    struct mxp_buf b;
    char cut[MXP_FIELD_TEXT_MAX + 1];
    int rc;

    mxp_buf_init(&b);
    rc = put_field(&b, key);
    if (rc == MXP_OK)
        rc = put_field(&b, text != NULL ? "s" : "n");
    if (rc == MXP_OK && text != NULL) {
        snprintf(cut, sizeof cut, "%s", text);
        rc = put_field(&b, cut);
    } else if (rc == MXP_OK) {
        rc = put_number(&b, number);
    }
    if (rc == MXP_OK)
        rc = mxp_ipc_send(fd, MXP_IPC_FIELD, b.data, b.len);
    mxp_buf_free(&b);
    return rc;
}

int mxp_ipc_send_perf(int fd, const char *label, const struct mxp_perf *p)
{
    struct mxp_buf b;
    int rc;

    mxp_buf_init(&b);
    rc = put_field(&b, label);
    if (rc == MXP_OK)
        rc = put_number(&b, p->value);
    if (rc == MXP_OK)
        rc = put_field(&b, p->uom);
    if (rc == MXP_OK)
        rc = put_field(&b, p->warn);
    if (rc == MXP_OK)
        rc = put_field(&b, p->crit);
    if (rc == MXP_OK)
        rc = put_number(&b, p->min);
    if (rc == MXP_OK)
        rc = put_number(&b, p->max);
    if (rc == MXP_OK)
        rc = mxp_ipc_send(fd, MXP_IPC_PERF, b.data, b.len);
    mxp_buf_free(&b);
    return rc;
}

int mxp_ipc_send_transcript(int fd, double t, char dir, const char *text)
{
    struct mxp_buf b;
    int rc;

    mxp_buf_init(&b);
    rc = mxp_buf_append(&b, &t, sizeof(t));
    if (rc == MXP_OK)
        rc = mxp_buf_append(&b, &dir, 1);
    if (rc == MXP_OK)
        rc = mxp_buf_puts(&b, text);
    if (rc == MXP_OK)
        rc = mxp_ipc_send(fd, MXP_IPC_TRANSCRIPT, b.data, b.len);
    mxp_buf_free(&b);
    return rc;
}

void mxp_ipc_reader_init(struct mxp_ipc_reader *r)
{
    memset(r, 0, sizeof(*r));
    mxp_buf_init(&r->in);
}

void mxp_ipc_reader_free(struct mxp_ipc_reader *r)
{
    mxp_buf_free(&r->in);
}

/* Texts from a plugin are printable-only from here on: a plugin may quote
 * network bytes, and outputs must not carry NUL or escapes. */
static char *text_dup(const char *p, size_t n)
{
    return mxp_printable_dup(p, strnlen(p, n));
}

static int valid_state(unsigned char c)
{
    return c <= MXP_STATE_UNKNOWN;
}

static int grow(void **arr, size_t n, size_t size)
{
    void *p = realloc(*arr, (n + 1) * size);

    if (p == NULL)
        return MXP_ERR_NOMEM;
    *arr = p;
    return MXP_OK;
}

/* Splits p[0..n) at NULs into at most max fields. */
static size_t split_fields(const char *p, size_t n, const char **f,
                           size_t *flen, size_t max)
{
    size_t k = 0, start = 0, i;

    for (i = 0; i < n && k < max; i++) {
        if (p[i] == '\0') {
            f[k] = p + start;
            flen[k] = i - start;
            k++;
            start = i + 1;
        }
    }
    return k;
}

static double field_number(const char *p, size_t n)
{
    char tmp[64];
    char *end;
    double v;

    if (n == 0 || n >= sizeof(tmp))
        return NAN;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    v = strtod(tmp, &end);
    return *end == '\0' ? v : NAN;
}

static char *field_dup_or_null(const char *p, size_t n)
{
    return n == 0 ? NULL : text_dup(p, n);
}

static int decode(const char *p, size_t n, struct mxp_check_result *res,
                  struct mxp_ipc_reader *r)
{
    unsigned char type = (unsigned char)p[0];

    p++;
    n--;
    switch (type) {
    case MXP_IPC_RESULT: {
        char *s;
        if (n < 1 || !valid_state((unsigned char)p[0]))
            return MXP_ERR_PROTOCOL;
        s = text_dup(p + 1, n - 1);
        if (s == NULL)
            return MXP_ERR_NOMEM;
        free(res->summary);
        res->summary = s;
        res->state = (enum mxp_state)p[0];
        r->got_result = 1;
        return MXP_OK;
    }
    case MXP_IPC_DETAIL: {
        struct mxp_detail *d;
        if (n < 1 || !valid_state((unsigned char)p[0]))
            return MXP_ERR_PROTOCOL;
        if (grow((void **)&res->details, res->n_details, sizeof(*d)))
            return MXP_ERR_NOMEM;
        d = &res->details[res->n_details];
        d->state = (enum mxp_state)p[0];
        d->text = text_dup(p + 1, n - 1);
        if (d->text == NULL)
            return MXP_ERR_NOMEM;
        res->n_details++;
        return MXP_OK;
    }
    case MXP_IPC_PERF: {
        const char *f[7];
        size_t fl[7];
        struct mxp_perfdatum *pd;
        if (split_fields(p, n, f, fl, 7) != 7 || fl[0] == 0)
            return MXP_ERR_PROTOCOL;
        if (grow((void **)&res->perf, res->n_perf, sizeof(*pd)))
            return MXP_ERR_NOMEM;
        pd = &res->perf[res->n_perf];
        memset(pd, 0, sizeof(*pd));
        pd->label = text_dup(f[0], fl[0]);
        pd->value = field_number(f[1], fl[1]);
        pd->uom = field_dup_or_null(f[2], fl[2]);
        pd->warn = field_dup_or_null(f[3], fl[3]);
        pd->crit = field_dup_or_null(f[4], fl[4]);
        pd->min = field_number(f[5], fl[5]);
        pd->max = field_number(f[6], fl[6]);
        res->n_perf++;
        if (pd->label == NULL)
            return MXP_ERR_NOMEM;
        return MXP_OK;
    }
    case MXP_IPC_TRANSCRIPT: {
        struct mxp_transcript_line *t;
        double when;
        if (n < sizeof(double) + 1)
            return MXP_ERR_PROTOCOL;
        if (grow((void **)&res->transcript, res->n_transcript, sizeof(*t)))
            return MXP_ERR_NOMEM;
        memcpy(&when, p, sizeof(when));
        t = &res->transcript[res->n_transcript];
        t->t = when;
        t->dir = p[sizeof(double)];
        t->text = text_dup(p + sizeof(double) + 1,
                           n - sizeof(double) - 1);
        if (t->text == NULL)
            return MXP_ERR_NOMEM;
        res->n_transcript++;
        return MXP_OK;
    }
    case MXP_IPC_FIELD: {
        const char *f[3];
        size_t fl[3], k;
        struct mxp_field *fd;
        char *text = NULL;
        double num = NAN;

        if (split_fields(p, n, f, fl, 3) != 3 ||
            !mxp_field_key_ok(f[0], fl[0]) || fl[1] != 1 ||
            (f[1][0] != 's' && f[1][0] != 'n') || fl[2] > MXP_FIELD_TEXT_MAX)
            return MXP_ERR_PROTOCOL;
        if (f[1][0] == 'n') {
            num = field_number(f[2], fl[2]);
            if (!isfinite(num))
                return MXP_ERR_PROTOCOL;
        } else if ((text = text_dup(f[2], fl[2])) == NULL) {
            return MXP_ERR_NOMEM;
        }
        for (k = 0; k < res->n_fields; k++)
            if (strlen(res->fields[k].key) == fl[0] &&
                memcmp(res->fields[k].key, f[0], fl[0]) == 0)
                break;
        if (k == res->n_fields) {
            if (res->n_fields >= MXP_MAX_FIELDS) {
                free(text); /* over the cap: dropped, like a cut text */
                return MXP_OK;
            }
            if (grow((void **)&res->fields, res->n_fields, sizeof(*fd))) {
                free(text);
                return MXP_ERR_NOMEM;
            }
            fd = &res->fields[k];
            fd->key = text_dup(f[0], fl[0]);
            if (fd->key == NULL) {
                free(text);
                return MXP_ERR_NOMEM;
            }
            fd->text = NULL;
            res->n_fields++;
        }
        fd = &res->fields[k];
        free(fd->text);
        fd->text = text;
        fd->number = num;
        return MXP_OK;
    }
    case MXP_IPC_LOG: {
        char *s = text_dup(p, n);
        if (s == NULL)
            return MXP_ERR_NOMEM;
        if (grow((void **)&res->log, res->n_log, sizeof(char *))) {
            free(s);
            return MXP_ERR_NOMEM;
        }
        res->log[res->n_log++] = s;
        return MXP_OK;
    }
    }
    return MXP_ERR_PROTOCOL;
}

int mxp_ipc_feed(struct mxp_ipc_reader *r, const char *data, size_t len,
                 struct mxp_check_result *res)
{
    int rc;

    if (r->overflow)
        return MXP_OK;
    if (r->total + len > MXP_IPC_MAX_TOTAL) {
        /* Keep what came so far; the runner reports the overflow. */
        r->overflow = 1;
        return MXP_OK;
    }
    r->total += len;
    rc = mxp_buf_append(&r->in, data, len);
    if (rc != MXP_OK)
        return rc;
    while (r->in.len >= 4) {
        uint32_t n;
        memcpy(&n, r->in.data, 4);
        if (n == 0 || n > MXP_IPC_MAX_RECORD)
            return MXP_ERR_PROTOCOL;
        if (r->in.len - 4 < n)
            break;
        rc = decode(r->in.data + 4, n, res, r);
        if (rc != MXP_OK)
            return rc;
        mxp_buf_consume(&r->in, 4 + (size_t)n);
    }
    return MXP_OK;
}
