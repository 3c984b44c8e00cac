/*
 * forms.c - builds the envelope forms of the relay check (see forms.h).
 */
#include "forms.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* How each form's recipient is made: {T} {D} {S} {I} stand for the
 * parts; sender: 0 <>, 1 F@D, 2 F@S, 3 F@I, 4 F@R. */
static const struct {
    int sender;
    const char *rcpt;
} shapes[] = {
    {0, "<{T}@{D}>"},         {1, "<{T}@{D}>"},
    {2, "<{T}@{D}>"},         {3, "<{T}@{D}>"},
    {3, "<{T}%{D}@{I}>"},     {3, "<{T}%{D}@{S}>"},
    {3, "<\"{T}@{D}\">"},     {3, "<\"{T}%{D}\">"},
    {3, "<{T}@{D}@{I}>"},     {3, "<\"{T}@{D}\"@{I}>"},
    {3, "<{T}@{D}@{S}>"},     {3, "<@{I}:{T}@{D}>"},
    {3, "<@{S}:{T}@{D}>"},    {3, "<{D}!{T}>"},
    {3, "<{D}!{T}@{I}>"},     {3, "<{D}!{T}@{S}>"},
    {4, "<{T}@{D}>"},
};

/* Expands a shape into out; 0 when it does not fit. */
static int expand(const char *shape, const struct relay_parts *p, char *out,
                  size_t len)
{
    size_t n = 0;

    for (; *shape != '\0'; shape++) {
        const char *part = NULL;
        size_t plen;

        if (shape[0] == '{' && shape[1] != '\0' && shape[2] == '}') {
            switch (shape[1]) {
            case 'T': part = p->recipient; break;
            case 'D': part = p->external; break;
            case 'S': part = p->server; break;
            default: part = p->literal; break;
            }
            shape += 2;
        }
        plen = part != NULL ? strlen(part) : 1;
        if (n + plen >= len)
            return 0;
        memcpy(out + n, part != NULL ? part : shape, plen);
        n += plen;
    }
    out[n] = '\0';
    return 1;
}

int relay_local_part_ok(const char *s)
{
    static const char special[] = "!#$&'*+/=?^_`{|}~-";
    size_t i, n = strlen(s);

    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9'))
            continue;
        if (c == '.' && s[i + 1] != '.')
            continue;
        if (c != '!' && strchr(special, c) != NULL)
            continue;
        return 0;
    }
    return 1;
}

void relay_address_literal(int family, const char *addr, char *out,
                           size_t len)
{
    if (family == AF_INET6)
        snprintf(out, len, "[IPv6:%s]", addr);
    else
        snprintf(out, len, "[%s]", addr);
}

/* snprintf that says whether it fitted. */
static int fits(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fits(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len;
}

/* 1 when forms[n] is the envelope of an earlier form: with no name for
 * the server, S is the literal I, and shapes that differ only there are
 * one envelope, tried and counted once. */
static int repeats(const struct relay_form *forms, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(forms[k].mail, forms[n].mail) == 0 &&
            strcmp(forms[k].rcpt, forms[n].rcpt) == 0)
            return 1;
    return 0;
}

size_t relay_build_forms(const struct relay_parts *p, struct relay_form *forms,
                         size_t max)
{
    size_t i, n = 0;
    int with_own;

    if (p->sender == NULL || p->recipient == NULL || p->external == NULL ||
        p->server == NULL || p->literal == NULL)
        return 0;
    with_own = p->own != NULL && p->own[0] != '\0' &&
               strcasecmp(p->own, p->server) != 0;
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        const char *sdom[] = {NULL, p->external, p->server, p->literal,
                              p->own};
        struct relay_form *f;
        int ok;

        if (shapes[i].sender == 4 && !with_own)
            continue;
        if (n == max)
            return 0;
        f = &forms[n];
        if (shapes[i].sender == 0)
            ok = fits(f->mail, sizeof(f->mail), "<>");
        else
            ok = fits(f->mail, sizeof(f->mail), "<%s@%s>", p->sender,
                      sdom[shapes[i].sender]);
        ok = ok && expand(shapes[i].rcpt, p, f->rcpt, sizeof(f->rcpt));
        if (!ok)
            return 0;
        f->plain_rcpt = strcmp(shapes[i].rcpt, "<{T}@{D}>") == 0;
        if (!repeats(forms, n))
            n++;
    }
    return n;
}
