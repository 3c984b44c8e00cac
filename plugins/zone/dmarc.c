/*
 * dmarc.c - RFC 7489 section 6.3/6.4 DMARC record parser.
 *
 * Tags: v (first, exactly DMARC1), p (required: none, quarantine,
 * reject), sp, adkim, aspf, pct, rua, ruf, fo, rf, ri; unknown tags are
 * ignored by receivers and noted here, since a misspelt tag is a silent
 * mistake.  A record without a valid p= (or with a bad sp=) still works as
 * p=none when rua= holds a valid URI (RFC 7489 6.6.3), else it is ignored.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "mxprobe/plugin.h"

#define DMARC_VALUE_SHOWN 60 /* bytes of a bad value quoted in a problem */

static void problem(struct dmarc_record *r, const char *fmt, ...)
    MXP_PRINTF(2, 3);

static void problem(struct dmarc_record *r, const char *fmt, ...)
{
    va_list ap;

    if (r->n_problems == DMARC_MAX_PROBLEMS)
        return;
    va_start(ap, fmt);
    vsnprintf(r->problems[r->n_problems], DMARC_PROBLEM_LEN, fmt, ap);
    va_end(ap);
    r->n_problems++;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
    switch (p) {
    case DMARC_P_NONE:
        return "none";
    case DMARC_P_QUARANTINE:
        return "quarantine";
    case DMARC_P_REJECT:
        return "reject";
    default:
        return "";
    }
}

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* Where "v" *WSP "=" *WSP ends in txt, or 0 when it does not start so. */
static size_t version_value_at(const char *txt, size_t len)
{
    size_t i = 0;

    if (len == 0 || (txt[0] != 'v' && txt[0] != 'V'))
        return 0;
    for (i = 1; i < len && is_wsp(txt[i]); i++)
        ;
    if (i == len || txt[i] != '=')
        return 0;
    for (i++; i < len && is_wsp(txt[i]); i++)
        ;
    return i;
}

int dmarc_is_record(const char *txt, size_t len)
{
    size_t i = version_value_at(txt, len);

    if (i == 0 || len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
        return 0;
    i += 6;
    return i == len || txt[i] == ';' || is_wsp(txt[i]);
}

/* Case-insensitive search of a NUL-free needle in len bytes. */
static const char *find_ci(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

int dmarc_near_miss(const char *txt, size_t len, char *why, size_t wlen)
{
    char token[24];
    size_t i, n;

    if (dmarc_is_record(txt, len) || find_ci(txt, len, "dmarc") == NULL)
        return 0;
    i = version_value_at(txt, len);
    if (i == 0) {
        snprintf(why, wlen, "v=DMARC1 must be the first tag");
        return 1;
    }
    /* Only the version token is quoted, NUL and control bytes as '?'. */
    for (n = 0;
         i + n < len && n < 20 && txt[i + n] != ';' && !is_wsp(txt[i + n]); n++)
        token[n] = isprint((unsigned char)txt[i + n]) ? txt[i + n] : '?';
    token[n] = '\0';
    snprintf(why, wlen, "the version must be exactly v=DMARC1, not v=%s%s",
             token,
             i + n < len && n == 20 && txt[i + n] != ';' && !is_wsp(txt[i + n])
                 ? "..."
                 : "");
    return 1;
}

/* Printable copy of a value for a problem text. */
static void shown(const char *v, size_t n, char *out, size_t len)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k + 4 < len && i < DMARC_VALUE_SHOWN; i++)
        out[k++] = isprint((unsigned char)v[i]) ? v[i] : '?';
    if (n > DMARC_VALUE_SHOWN && k + 4 < len) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

static int value_is(const char *v, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(v, word, n) == 0;
}

static enum dmarc_policy parse_policy(const char *v, size_t n)
{
    if (value_is(v, n, "none"))
        return DMARC_P_NONE;
    if (value_is(v, n, "quarantine"))
        return DMARC_P_QUARANTINE;
    if (value_is(v, n, "reject"))
        return DMARC_P_REJECT;
    return DMARC_P_UNSET;
}

/* 1*digits, at most maxlen of them, into *out (saturating). */
static int parse_digits(const char *v, size_t n, size_t maxlen,
                        unsigned long long *out)
{
    unsigned long long x = 0;

    if (n == 0 || n > maxlen)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i]))
            return 0;
        if (x < 1000000000000ULL)
            x = x * 10 + (unsigned)(v[i] - '0');
    }
    *out = x;
    return 1;
}

/* One dmarc-uri: URI (RFC 3986: scheme ":" something, no spaces, no
 * unencoded ',' or '!') [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]; a
 * mailto: URI needs an addr-spec with a domain.  why says what is wrong. */
static int uri_ok(const char *u, size_t n, const char **why)
{
    const char *bang = memchr(u, '!', n);
    size_t len = bang != NULL ? (size_t)(bang - u) : n, i;

    if (bang != NULL) {
        const char *s = bang + 1;
        size_t sl = n - len - 1;
        unsigned long long sz;

        if (sl > 0 && strchr("kmgtKMGT", s[sl - 1]) != NULL)
            sl--;
        if (!parse_digits(s, sl, 20, &sz)) {
            *why = "bad size limit after '!'";
            return 0;
        }
    }
    if (len == 0 || !isalpha((unsigned char)u[0])) {
        *why = "not a URI";
        return 0;
    }
    for (i = 1; i < len && u[i] != ':'; i++)
        if (!isalnum((unsigned char)u[i]) && u[i] != '+' && u[i] != '-' &&
            u[i] != '.') {
            *why = "not a URI";
            return 0;
        }
    if (i == len || i + 1 == len) {
        *why = "not a URI (mailto:ADDRESS expected)";
        return 0;
    }
    for (size_t k = i + 1; k < len; k++)
        if (!isgraph((unsigned char)u[k])) {
            *why = "space or control byte in the URI";
            return 0;
        }
    if (i == 6 && strncasecmp(u, "mailto", 6) == 0) {
        const char *at = memchr(u + 7, '@', len - 7);

        if (at == NULL || at == u + 7 || at + 1 == u + len ||
            memchr(at + 1, '.', (size_t)(u + len - at - 1)) == NULL) {
            *why = "mailto: without a valid address";
            return 0;
        }
    }
    return 1;
}

/* rua/ruf: dmarc-uri *(*WSP "," *WSP dmarc-uri).  Returns the number of
 * valid URIs; each bad one is a problem. */
static size_t parse_uris(struct dmarc_record *r, const char *tag, const char *v,
                         size_t n)
{
    size_t valid = 0, i = 0;

    while (i <= n) {
        size_t s = i, e;
        const char *why = NULL;
        char sv[DMARC_VALUE_SHOWN + 8];

        while (s < n && is_wsp(v[s]))
            s++;
        e = s;
        while (e < n && v[e] != ',')
            e++;
        i = e + 1;
        while (e > s && is_wsp(v[e - 1]))
            e--;
        if (e == s) {
            problem(r, "%s: empty URI in the list", tag);
            continue;
        }
        if (uri_ok(v + s, e - s, &why)) {
            valid++;
            continue;
        }
        shown(v + s, e - s, sv, sizeof sv);
        problem(r, "%s=%s: %s", tag, sv, why);
    }
    return valid;
}

/* Colon-separated list whose items each pass ok(). */
static int colon_list(const char *v, size_t n, int (*ok)(const char *, size_t))
{
    size_t i = 0;

    while (i <= n) {
        size_t s = i, e;

        while (s < n && is_wsp(v[s]))
            s++;
        e = s;
        while (e < n && v[e] != ':')
            e++;
        i = e + 1;
        while (e > s && is_wsp(v[e - 1]))
            e--;
        if (e == s || !ok(v + s, e - s))
            return 0;
    }
    return 1;
}

static int fo_item(const char *v, size_t n)
{
    return n == 1 && strchr("01dsDS", v[0]) != NULL;
}

/* Only "afrf" is registered (RFC 7489 7.1 / IANA). */
static int rf_item(const char *v, size_t n)
{
    return value_is(v, n, "afrf");
}

static void copy_value(char *dst, size_t dlen, const char *v, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n && k + 1 < dlen; i++)
        dst[k++] = isprint((unsigned char)v[i]) ? v[i] : '?';
    dst[k] = '\0';
}

/* Tags that may appear once each (v is handled by the caller). */
static const char *const known_tags[] = {
    "p",
    "sp",
    "adkim",
    "aspf",
    "pct",
    "rua",
    "ruf",
    "fo",
    "rf",
    "ri",
    /* DMARCbis, already published by some: not errors */
    "np",
    "psd",
    "t",
};
#define N_KNOWN (sizeof known_tags / sizeof *known_tags)

static void one_tag(struct dmarc_record *r, const char *name, size_t nl,
                    const char *v, size_t n, int *p_bad, int *sp_bad)
{
    char sv[DMARC_VALUE_SHOWN + 8];
    unsigned long long x;

    shown(v, n, sv, sizeof sv);
    if (value_is(name, nl, "p") || value_is(name, nl, "sp")) {
        int is_p = nl == 1;
        enum dmarc_policy pol = parse_policy(v, n);

        if (pol == DMARC_P_UNSET) {
            problem(r, "%s=%s: not none, quarantine or reject",
                    is_p ? "p" : "sp", sv);
            *(is_p ? p_bad : sp_bad) = 1;
        } else if (is_p) {
            r->p = pol;
        } else {
            r->sp = pol;
        }
    } else if (value_is(name, nl, "adkim") || value_is(name, nl, "aspf")) {
        int dkim = nl == 5;

        if (n == 1 &&
            (v[0] == 'r' || v[0] == 's' || v[0] == 'R' || v[0] == 'S'))
            *(dkim ? &r->adkim : &r->aspf) = (char)tolower((unsigned char)v[0]);
        else
            problem(r, "%s=%s: not r or s", dkim ? "adkim" : "aspf", sv);
    } else if (value_is(name, nl, "pct")) {
        if (parse_digits(v, n, 3, &x) && x <= 100)
            r->pct = (int)x;
        else
            problem(r, "pct=%s: not 0..100", sv);
    } else if (value_is(name, nl, "ri")) {
        if (parse_digits(v, n, 32, &x) && x <= 0xffffffffULL)
            r->ri = (unsigned long)x;
        else
            problem(r, "ri=%s: not a number of seconds", sv);
    } else if (value_is(name, nl, "rua") || value_is(name, nl, "ruf")) {
        int rua = tolower((unsigned char)name[2]) == 'a';
        size_t valid = parse_uris(r, rua ? "rua" : "ruf", v, n);

        copy_value(rua ? r->rua : r->ruf, DMARC_URIS_LEN, v, n);
        if (rua)
            r->n_rua_valid = valid;
    } else if (value_is(name, nl, "fo")) {
        if (colon_list(v, n, fo_item))
            copy_value(r->fo, sizeof r->fo, v, n);
        else
            problem(r, "fo=%s: not a ':' list of 0, 1, d, s", sv);
    } else if (value_is(name, nl, "rf")) {
        if (colon_list(v, n, rf_item))
            copy_value(r->rf, sizeof r->rf, v, n);
        else
            problem(r, "rf=%s: not afrf", sv);
    }
}

void dmarc_parse(const char *txt, size_t len, struct dmarc_record *r)
{
    unsigned seen = 0; /* bit per known_tags entry */
    int p_bad = 0, sp_bad = 0;
    size_t i = version_value_at(txt, len) + 6;

    memset(r, 0, sizeof *r);
    r->adkim = r->aspf = 'r';
    r->pct = 100;
    r->ri = 86400;
    snprintf(r->fo, sizeof r->fo, "0");
    snprintf(r->rf, sizeof r->rf, "afrf");
    if (!dmarc_is_record(txt, len)) {
        problem(r, "not a DMARC record (v=DMARC1 must come first)");
        return;
    }

    /* i is just past "DMARC1"; then dmarc-sep tag-spec ... [dmarc-sep] */
    while (i < len) {
        size_t s, e, eq, ns, ne, vs, ve;
        char sv[DMARC_VALUE_SHOWN + 8];

        while (i < len && is_wsp(txt[i]))
            i++;
        if (i == len)
            break;
        if (txt[i] != ';') {
            shown(txt + i, len - i, sv, sizeof sv);
            problem(r, "';' expected before '%s'", sv);
            while (i < len && txt[i] != ';')
                i++;
            continue;
        }
        i++;
        s = i;
        while (i < len && txt[i] != ';')
            i++;
        e = i;
        while (s < e && is_wsp(txt[s]))
            s++;
        while (e > s && is_wsp(txt[e - 1]))
            e--;
        if (s == e)
            continue; /* a trailing or doubled ';' harms nobody */
        eq = s;
        while (eq < e && txt[eq] != '=')
            eq++;
        shown(txt + s, e - s, sv, sizeof sv);
        if (eq == e) {
            problem(r, "'%s' is not tag=value", sv);
            continue;
        }
        ns = s;
        ne = eq;
        while (ne > ns && is_wsp(txt[ne - 1]))
            ne--;
        vs = eq + 1;
        ve = e;
        while (vs < ve && is_wsp(txt[vs]))
            vs++;
        if (ne == ns) {
            problem(r, "'%s' has no tag name", sv);
            continue;
        }
        if (value_is(txt + ns, ne - ns, "v")) {
            problem(r, "v= given twice");
            continue;
        }
        {
            size_t k;

            for (k = 0; k < N_KNOWN; k++)
                if (value_is(txt + ns, ne - ns, known_tags[k]))
                    break;
            if (k == N_KNOWN) {
                char sn[DMARC_VALUE_SHOWN + 8];

                shown(txt + ns, ne - ns, sn, sizeof sn);
                problem(r, "unknown tag '%s' (receivers ignore it)", sn);
                continue;
            }
            if (seen & (1u << k)) {
                problem(r, "%s= given twice", known_tags[k]);
                continue;
            }
            seen |= 1u << k;
            if (vs == ve) {
                problem(r, "%s= has no value", known_tags[k]);
                /* an empty p= or sp= is an invalid one (6.6.3) */
                if (k == 0)
                    p_bad = 1;
                else if (k == 1)
                    sp_bad = 1;
                continue;
            }
        }
        one_tag(r, txt + ns, ne - ns, txt + vs, ve - vs, &p_bad, &sp_bad);
    }

    if (r->p != DMARC_P_UNSET && !p_bad && !sp_bad) {
        r->usable = 1;
        return;
    }
    if (r->p == DMARC_P_UNSET && !p_bad)
        problem(r, "no p= tag (it is required)");
    if (r->n_rua_valid > 0) {
        /* RFC 7489 6.6.3: act as if p=none was published. */
        r->usable = 1;
        r->p = DMARC_P_NONE;
        r->p_implied = 1;
        r->sp = DMARC_P_UNSET;
        problem(r, "receivers treat it as p=none");
    } else {
        r->usable = 0;
        problem(r, "without a valid p= and rua= receivers ignore the "
                   "record");
    }
}
