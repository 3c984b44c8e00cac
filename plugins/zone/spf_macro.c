/*
 * spf_macro.c - SPF macros (RFC 7208 section 7): the syntax of
 * macro-strings and explain-strings, the letters' values, transformers
 * (right-hand parts, reversal), delimiters, %% %_ %- and the URL escaping
 * of upper-case letters.  One tokenizer serves the syntax check done at
 * parse time and the expansion done at evaluation time.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "spf_internal.h"

#define SPF_PARTS_MAX (2 * SPF_VALUE_MAX + 4)

/* One token of a macro-string: literal text or a macro-expand. */
struct mtok {
    const char *lit; /* literal bytes, or NULL for a macro */
    size_t lit_len;
    int expand;      /* a macro-expand (not a macro-literal) */
    char letter;     /* lower case */
    int upper;       /* URL-escape the result */
    unsigned digits; /* right-hand parts to keep, 0: all */
    int reverse;
    const char *delims;
    size_t n_delims;
};

static int is_delim(char c)
{
    return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* "%{" letter *DIGIT [ "r" ] *delimiter "}", s at the letter. */
static int read_macro(const char *s, size_t len, size_t *pos, int explain,
                      struct mtok *t)
{
    size_t i = *pos;
    char c;

    if (i >= len)
        return -1;
    c = lower(s[i]);
    if (c == '\0' || strchr(explain ? "slodipvhcrt" : "slodipvh", c) == NULL)
        return -1;
    t->letter = c;
    t->upper = s[i++] != c;
    if (i < len && s[i] == '0')
        return -1; /* the number of parts is nonzero (7.3) */
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (t->digits < 1000)
            t->digits = t->digits * 10 + (unsigned)(s[i] - '0');
        i++;
    }
    if (i < len && lower(s[i]) == 'r') {
        t->reverse = 1;
        i++;
    }
    t->delims = s + i;
    while (i < len && is_delim(s[i]))
        i++;
    t->n_delims = (size_t)(s + i - t->delims);
    if (i >= len || s[i] != '}')
        return -1;
    *pos = i + 1;
    return 1;
}

/* The next token at *pos: 1, 0 at the end, -1 on a syntax error. */
static int next_token(const char *s, size_t len, size_t *pos, int explain,
                      struct mtok *t)
{
    size_t i = *pos;
    unsigned char c;

    memset(t, 0, sizeof *t);
    if (i >= len)
        return 0;
    c = (unsigned char)s[i];
    if (c != '%') {
        if (c < 0x21 || c > 0x7e) {
            if (!(explain && c == ' '))
                return -1;
        }
        t->lit = s + i;
        t->lit_len = 1;
        *pos = i + 1;
        return 1;
    }
    if (i + 1 >= len)
        return -1;
    *pos = i + 2;
    t->expand = 1;
    switch (s[i + 1]) {
    case '%':
        t->lit = "%";
        break;
    case '_':
        t->lit = " ";
        break;
    case '-':
        t->lit = "%20";
        break;
    case '{':
        return read_macro(s, len, pos, explain, t);
    default:
        return -1;
    }
    t->lit_len = strlen(t->lit);
    return 1;
}

int spf_macro_check(const char *s, size_t len, int explain)
{
    struct mtok t;
    size_t pos = 0;
    int r, last_macro = 0;

    while ((r = next_token(s, len, &pos, explain, &t)) > 0)
        last_macro = t.expand;
    if (r < 0)
        return 0;
    return last_macro ? 2 : 1;
}

/* ---- output ---- */

struct wbuf {
    char *p;
    size_t cap, len;
    int full;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
    if (w->full || n >= w->cap - w->len) {
        w->full = 1;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (7.3) */
static void put_escaped(struct wbuf *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~", c) != NULL) {
            put(w, s + i, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(w, e, 3);
        }
    }
}

/* ---- the letters' values ---- */

static void ip_dotted(const struct spf_ctx *ctx, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (ctx->v4) {
        snprintf(out, outlen, "%u.%u.%u.%u", ctx->ip[0], ctx->ip[1], ctx->ip[2],
                 ctx->ip[3]);
        return;
    }
    for (int i = 0; i < 16 && n + 4 < outlen; i++) {
        out[n++] = hex[ctx->ip[i] >> 4];
        out[n++] = '.';
        out[n++] = hex[ctx->ip[i] & 15];
        out[n++] = i == 15 ? '\0' : '.';
    }
    out[outlen - 1] = '\0';
}

static const char *or_unknown(const char *s)
{
    return (s == NULL || s[0] == '\0') ? "unknown" : s;
}

/* The value of letter into out.  MXP_OK or a fatal status (%{p}). */
static int letter_value(struct spf_ctx *ctx, const char *domain, char letter,
                        char *out, size_t outlen)
{
    const char *v = NULL;

    switch (letter) {
    case 's':
        snprintf(out, outlen, "%s@%s", ctx->local, ctx->sender_dom);
        return MXP_OK;
    case 'l':
        v = ctx->local;
        break;
    case 'o':
        v = ctx->sender_dom;
        break;
    case 'd':
        v = domain;
        break;
    case 'i':
        ip_dotted(ctx, out, outlen);
        return MXP_OK;
    case 'p':
        return spf_p_value(ctx, domain, out, outlen);
    case 'v':
        v = ctx->v4 ? "in-addr" : "ip6";
        break;
    case 'h':
        v = or_unknown(ctx->rq->helo);
        break;
    case 'r':
        v = or_unknown(ctx->rq->receiver);
        break;
    case 'c':
        if (ctx->v4)
            ip_dotted(ctx, out, outlen);
        else if (inet_ntop(AF_INET6, ctx->ip, out, (socklen_t)outlen) == NULL)
            out[0] = '\0';
        return MXP_OK;
    case 't':
        snprintf(out, outlen, "%lld", (long long)time(NULL));
        return MXP_OK;
    default:
        v = "";
        break;
    }
    snprintf(out, outlen, "%s", v);
    return MXP_OK;
}

/* Splits value on the delimiters, keeps the right-hand parts (after the
 * optional reversal) and joins them with dots (7.3). */
static void transform(const struct mtok *t, const char *v, struct wbuf *w)
{
    uint16_t start[SPF_PARTS_MAX], plen[SPF_PARTS_MAX];
    size_t n = 0, len = strlen(v), first = 0;
    struct wbuf tmp;
    char out[2 * SPF_VALUE_MAX + 2];
    const char *delims = t->n_delims > 0 ? t->delims : ".";
    size_t n_delims = t->n_delims > 0 ? t->n_delims : 1;

    start[0] = 0;
    for (size_t i = 0; i <= len && n < SPF_PARTS_MAX; i++) {
        if (i == len || memchr(delims, v[i], n_delims) != NULL) {
            plen[n] = (uint16_t)(i - start[n]);
            if (++n < SPF_PARTS_MAX)
                start[n] = (uint16_t)(i + 1);
        }
    }
    if (t->digits > 0 && t->digits < n)
        first = n - t->digits;
    tmp = (struct wbuf){out, sizeof out, 0, 0};
    for (size_t k = first; k < n; k++) {
        size_t j = t->reverse ? n - 1 - k : k;
        if (k > first)
            put(&tmp, ".", 1);
        put(&tmp, v + start[j], plen[j]);
    }
    if (t->upper)
        put_escaped(w, out, tmp.len);
    else
        put(w, out, tmp.len);
}

int spf_macro_expand(struct spf_ctx *ctx, const char *domain, const char *s,
                     size_t len, int explain, char *out, size_t outlen)
{
    struct wbuf w = {out, outlen, 0, 0};
    char value[2 * SPF_VALUE_MAX + 2];
    struct mtok t;
    size_t pos = 0;
    int r, rc;

    if (outlen == 0)
        return MXP_ERR_TOO_BIG;
    while ((r = next_token(s, len, &pos, explain, &t)) > 0) {
        if (t.lit != NULL) {
            put(&w, t.lit, t.lit_len);
            continue;
        }
        rc = letter_value(ctx, domain, t.letter, value, sizeof value);
        if (rc != MXP_OK)
            return rc;
        transform(&t, value, &w);
    }
    out[w.full ? 0 : w.len] = '\0';
    if (r < 0)
        return MXP_ERR_INVALID;
    return w.full ? MXP_ERR_TOO_BIG : MXP_OK;
}
