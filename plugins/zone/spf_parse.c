/*
 * spf_parse.c - the syntax of SPF records (RFC 7208 sections 4.5, 4.6, 5,
 * 6, 7.1 and 12): record selection, terms, dual CIDR lengths, IP
 * networks, domain-specs and the rules for names that can be queried.
 * A record is parsed whole before it is evaluated, so a syntax error
 * anywhere is a permerror even after a match (RFC 7208 4.6).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf_internal.h"

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_name_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.';
}

int spf_is_spf_record(const char *rec, size_t len)
{
    if (rec == NULL || len < 6 || strncasecmp(rec, "v=spf1", 6) != 0)
        return 0;
    return len == 6 || rec[6] == ' ';
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int toplabel_ok(const char *s, size_t len)
{
    int alpha = 0, dash = 0;

    if (len == 0 || s[0] == '-' || s[len - 1] == '-')
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '-')
            dash = 1;
        else if (is_alpha(s[i]))
            alpha = 1;
        else if (!is_digit(s[i]))
            return 0;
    }
    return alpha || dash;
}

/* domain-end = ( "." toplabel [ "." ] ) / macro-expand, at the end of s */
static int domain_end_ok(const char *s, size_t len)
{
    size_t dot;

    if (len > 0 && s[len - 1] == '.')
        len--;
    dot = len;
    while (dot > 0 && s[dot - 1] != '.')
        dot--;
    if (dot == 0)
        return 0; /* no "." before the toplabel */
    return toplabel_ok(s + dot, len - dot);
}

int spf_domain_spec_ok(const char *s, size_t len)
{
    int m;

    if (len == 0)
        return 0;
    m = spf_macro_check(s, len, 0);
    if (m == 0)
        return 0;
    return m == 2 || domain_end_ok(s, len);
}

int spf_query_name_ok(const char *name)
{
    size_t len = strlen(name), label = 0;

    if (len == 0 || len > SPF_NAME_MAX)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            if (label == 0 || label > SPF_LABEL_MAX)
                return 0;
            label = 0;
        } else {
            label++;
        }
    }
    return 1;
}

int spf_domain_ok(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (const char *c = name; *c != '\0'; c++)
        if (*c < 0x21 || *c > 0x7e)
            return 0;
    return spf_query_name_ok(name) && dot != NULL &&
           toplabel_ok(dot + 1, strlen(dot + 1));
}

int spf_query_name_fix(char *name)
{
    size_t len = strlen(name);

    if (len > 0 && name[len - 1] == '.')
        name[--len] = '\0';
    while (len > SPF_NAME_MAX) {
        char *dot = strchr(name, '.');
        if (dot == NULL)
            return 0;
        len -= (size_t)(dot + 1 - name);
        memmove(name, dot + 1, len + 1);
    }
    return spf_query_name_ok(name);
}

int spf_parse_ip4(const char *s, size_t len, unsigned char out[4])
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t start = i;
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return 0;
            start = ++i;
        }
        while (i < len && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return 0;
        out[part] = (unsigned char)v;
    }
    return i == len;
}

/* "/" 1*DIGIT at the end of s[0..len): 1 with *slash its position. */
static int cidr_at_end(const char *s, size_t len, size_t *slash)
{
    size_t j = len;

    while (j > 0 && is_digit(s[j - 1]))
        j--;
    if (j == len || j == 0 || s[j - 1] != '/')
        return 0;
    *slash = j - 1;
    return 1;
}

/* The digits s[0..len) as a prefix length up to max (no leading zero, as
 * for ip4-network), or -1. */
static int cidr_value(const char *s, size_t len, int max)
{
    int v = 0;

    if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
        return -1;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    return v <= max ? v : -1;
}

/* One "/" prefix length at the end of s[0..*len) (not "//"), taken off;
 * 0 when it is malformed. */
static int take_cidr(const char *s, size_t *len, int max, int *out)
{
    size_t slash;

    if (!cidr_at_end(s, *len, &slash))
        return 1;
    if (slash > 0 && s[slash - 1] == '/')
        return 0;
    *out = cidr_value(s + slash + 1, *len - slash - 1, max);
    *len = slash;
    return *out >= 0;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], taken
 * off the end of s[0..*len).  0 on a malformed length. */
static int take_dual_cidr(const char *s, size_t *len, struct spf_term *t)
{
    size_t slash;

    if (cidr_at_end(s, *len, &slash) && slash > 0 && s[slash - 1] == '/') {
        t->cidr6 = cidr_value(s + slash + 1, *len - slash - 1, 128);
        if (t->cidr6 < 0)
            return 0;
        *len = slash - 1;
    }
    if (cidr_at_end(s, *len, &slash) && (slash == 0 || s[slash - 1] != '/'))
        return take_cidr(s, len, 32, &t->cidr4);
    return 1;
}

/* [ ":" domain-spec ]: rest is what follows the mechanism's name. */
static int take_spec(const char *rest, size_t len, int required,
                     struct spf_term *t)
{
    if (len == 0)
        return !required;
    if (rest[0] != ':' || !spf_domain_spec_ok(rest + 1, len - 1))
        return 0;
    t->spec = rest + 1;
    t->spec_len = len - 1;
    return 1;
}

static int parse_ip4_net(const char *rest, size_t len, struct spf_term *t)
{
    size_t n = len;

    if (len == 0 || rest[0] != ':' || !take_cidr(rest, &n, 32, &t->cidr4))
        return 0;
    return spf_parse_ip4(rest + 1, n - 1, t->net);
}

static int parse_ip6_net(const char *rest, size_t len, struct spf_term *t)
{
    char buf[64];
    size_t n = len;

    if (len == 0 || rest[0] != ':' || !take_cidr(rest, &n, 128, &t->cidr6))
        return 0;
    if (n - 1 >= sizeof buf)
        return 0;
    memcpy(buf, rest + 1, n - 1);
    buf[n - 1] = '\0';
    return inet_pton(AF_INET6, buf, t->net) == 1;
}

static const struct {
    const char *name;
    enum spf_kind kind;
} mechanisms[] = {
    {"all", SPF_T_ALL}, {"include", SPF_T_INCLUDE}, {"a", SPF_T_A},
    {"mx", SPF_T_MX},   {"ptr", SPF_T_PTR},         {"ip4", SPF_T_IP4},
    {"ip6", SPF_T_IP6}, {"exists", SPF_T_EXISTS},
};

static int parse_mechanism(const char *name, size_t name_len, const char *rest,
                           size_t len, struct spf_term *t)
{
    size_t i, n = len;

    for (i = 0; i < sizeof mechanisms / sizeof *mechanisms; i++)
        if (strlen(mechanisms[i].name) == name_len &&
            strncasecmp(mechanisms[i].name, name, name_len) == 0)
            break;
    if (i == sizeof mechanisms / sizeof *mechanisms)
        return 0;
    t->kind = mechanisms[i].kind;
    switch (t->kind) {
    case SPF_T_ALL:
        return len == 0;
    case SPF_T_INCLUDE:
    case SPF_T_EXISTS:
        return take_spec(rest, len, 1, t);
    case SPF_T_PTR:
        return take_spec(rest, len, 0, t);
    case SPF_T_A:
    case SPF_T_MX:
        return take_dual_cidr(rest, &n, t) && take_spec(rest, n, 0, t);
    case SPF_T_IP4:
        return parse_ip4_net(rest, len, t);
    case SPF_T_IP6:
        return parse_ip6_net(rest, len, t);
    default:
        return 0;
    }
}

/* modifier = name "=" ( domain-spec | macro-string ) */
static int parse_modifier(const char *name, size_t name_len, const char *val,
                          size_t len, struct spf_term *t)
{
    if (name_len == 0 || !is_alpha(name[0]))
        return 0;
    if (name_len == 8 && strncasecmp(name, "redirect", 8) == 0)
        t->kind = SPF_T_REDIRECT;
    else if (name_len == 3 && strncasecmp(name, "exp", 3) == 0)
        t->kind = SPF_T_EXP;
    else {
        t->kind = SPF_T_UNKNOWN_MOD;
        return len == 0 || spf_macro_check(val, len, 0) != 0;
    }
    t->spec = val;
    t->spec_len = len;
    return spf_domain_spec_ok(val, len);
}

static int parse_term(const char *s, size_t len, struct spf_term *t)
{
    size_t i = 0, name;

    memset(t, 0, sizeof *t);
    t->text = s;
    t->len = len;
    t->qual = '+';
    t->cidr4 = 32;
    t->cidr6 = 128;
    if (strchr("+-~?", s[0]) != NULL)
        t->qual = s[i++];
    name = i;
    while (i < len && is_name_char(s[i]))
        i++;
    if (name == 0 && i < len && s[i] == '=')
        return parse_modifier(s, i, s + i + 1, len - i - 1, t);
    return parse_mechanism(s + name, i - name, s + i, len - i, t);
}

static int bad_bytes(const char *rec, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)rec[i] < 0x20 || (unsigned char)rec[i] > 0x7e)
            return 1;
    return 0;
}

static size_t count_terms(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
            n++;
    return n;
}

/* Parses every term; the first error is the problem. */
static int parse_terms(struct spf_record *r, char *problem, size_t plen)
{
    size_t i = 6, n = 0;

    while (i < r->len) {
        struct spf_term *t = &r->terms[n];
        size_t start;
        while (i < r->len && r->text[i] == ' ')
            i++;
        if (i == r->len)
            break;
        start = i;
        while (i < r->len && r->text[i] != ' ')
            i++;
        if (!parse_term(r->text + start, i - start, t)) {
            snprintf(problem, plen, "syntax error at '%.*s'",
                     (int)(i - start > 200 ? 200 : i - start), r->text + start);
            return MXP_ERR_INVALID;
        }
        if ((t->kind == SPF_T_REDIRECT && r->redirect != NULL) ||
            (t->kind == SPF_T_EXP && r->exp != NULL)) {
            snprintf(problem, plen, "more than one %s= modifier",
                     t->kind == SPF_T_EXP ? "exp" : "redirect");
            return MXP_ERR_INVALID;
        }
        if (t->kind == SPF_T_REDIRECT)
            r->redirect = t;
        if (t->kind == SPF_T_EXP)
            r->exp = t;
        n++;
    }
    r->n_terms = n;
    return MXP_OK;
}

int spf_parse_record(const char *rec, size_t len, struct spf_record *r,
                     char *problem, size_t problem_len)
{
    int rc;

    memset(r, 0, sizeof *r);
    if (!spf_is_spf_record(rec, len))
        return MXP_ERR_INVALID;
    if (len > SPF_RECORD_MAX) {
        snprintf(problem, problem_len,
                 "SPF record longer than mxprobe's %d-byte limit",
                 SPF_RECORD_MAX);
        return MXP_ERR_INVALID;
    }
    if (bad_bytes(rec, len)) {
        snprintf(problem, problem_len,
                 "control or non-ASCII character in the SPF record");
        return MXP_ERR_INVALID;
    }
    r->text = malloc(len + 1);
    r->terms = calloc(count_terms(rec, len) + 1, sizeof *r->terms);
    if (r->text == NULL || r->terms == NULL) {
        spf_record_free(r);
        return MXP_ERR_NOMEM;
    }
    memcpy(r->text, rec, len);
    r->text[len] = '\0';
    r->len = len;
    rc = parse_terms(r, problem, problem_len);
    if (rc != MXP_OK)
        spf_record_free(r);
    return rc;
}

void spf_record_free(struct spf_record *r)
{
    free(r->text);
    free(r->terms);
    memset(r, 0, sizeof *r);
}
