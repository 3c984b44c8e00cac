/*
 * names.c - host name syntax, the generic (ISP pool) name rule that
 * banner, zone and backscatter share, and the special-use names zone and
 * backscatter never take for a mail domain (names.h).
 */
#include "names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "psl.h"

int mxp_is_host_name(const char *s)
{
    size_t len, label = 0, labels = 0;

    if (s == NULL)
        return 0;
    len = strlen(s);
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)s[i] : '.';

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            labels++;
            label = 0;
        } else if (isalnum(c) || c == '_' || (c == '-' && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return labels >= 2;
}

int mxp_is_domain_name(const char *s)
{
    size_t len;
    const char *last;

    if (!mxp_is_host_name(s))
        return 0;
    len = strlen(s);
    if (s[len - 1] == '.')
        len--;
    last = s + len;
    while (last > s && last[-1] != '.')
        last--;
    for (const char *p = last; p < s + len; p++)
        if (!isdigit((unsigned char)*p))
            return 1;
    return 0;
}

/* ---- generic names ----------------------------------------------------- */

/* Words ISPs put in names of pools of customer addresses.  They count
 * only as whole tokens (delimited by '.', '-', '_' or digits) left of the
 * registered domain, so "dsl-provider.example" itself is no evidence and
 * "poolside" is not "pool".  dash_or_digit: the token counts only when a
 * '-' or a digit follows ("host-12", "ip-10-0-0-1", not "host.example"). */
static const struct {
    const char *word;
    int dash_or_digit;
} generic_tokens[] = {
    {"dyn", 0},         {"dynamic", 0},    {"dynip", 0},      {"dsl", 0},
    {"adsl", 0},        {"xdsl", 0},       {"vdsl", 0},       {"sdsl", 0},
    {"pool", 0},        {"dhcp", 0},       {"dial", 0},       {"dialup", 0},
    {"dialin", 0},      {"dip", 0},        {"ppp", 0},        {"pppoe", 0},
    {"cable", 0},       {"catv", 0},       {"cpe", 0},        {"customer", 0},
    {"cust", 0},        {"client", 0},     {"subscriber", 0}, {"broadband", 0},
    {"bb", 0},          {"ftth", 0},       {"fttx", 0},       {"res", 0},
    {"residential", 0}, {"mobile", 0},     {"wireless", 0},   {"gprs", 0},
    {"lte", 0},         {"unassigned", 0}, {"unknown", 0},    {"static", 0},
    {"nat", 0},         {"rev", 0},        {"reverse", 0},    {"generic", 0},
    {"host", 1},        {"ip", 1},
};

/* Does needle occur in hay delimited as a number: the bytes next to it are
 * not digits (hex: not hex digits)? */
static int contains_number(const char *hay, const char *needle, int hex)
{
    size_t nlen = strlen(needle);
    const char *p = hay;

    while ((p = strstr(p, needle)) != NULL) {
        unsigned char before = p > hay ? (unsigned char)p[-1] : '.';
        unsigned char after = (unsigned char)p[nlen];
        int bad_before = hex ? isxdigit(before) : isdigit(before);
        int bad_after = hex ? isxdigit(after) : isdigit(after);

        if (!bad_before && !bad_after)
            return 1;
        p++;
    }
    return 0;
}

/* The address written into a host name in the usual ways: octets joined
 * by '-' or '.', forward or reversed, zero-padded or not, as one 12-digit
 * number, as 8 hex digits, as a 32-bit decimal; for IPv6 the 32 nibbles,
 * the groups joined by '-', the compressed form with ':' -> '-'. */
static int contains_address(const char *name, int family,
                            const unsigned char *a)
{
    char form[80];

    if (family == AF_INET) {
        static const char seps[] = {'-', '.'};
        unsigned o[2][4] = {{a[0], a[1], a[2], a[3]}, {a[3], a[2], a[1], a[0]}};

        for (int r = 0; r < 2; r++) {
            const unsigned *v = o[r];

            for (size_t s = 0; s < sizeof seps; s++) {
                char c = seps[s];

                snprintf(form, sizeof form, "%u%c%u%c%u%c%u", v[0], c, v[1], c,
                         v[2], c, v[3]);
                if (contains_number(name, form, 0))
                    return 1;
                snprintf(form, sizeof form, "%03u%c%03u%c%03u%c%03u", v[0], c,
                         v[1], c, v[2], c, v[3]);
                if (contains_number(name, form, 0))
                    return 1;
            }
            snprintf(form, sizeof form, "%03u%03u%03u%03u", v[0], v[1], v[2],
                     v[3]);
            if (contains_number(name, form, 0))
                return 1;
            snprintf(form, sizeof form, "%02x%02x%02x%02x", v[0], v[1], v[2],
                     v[3]);
            if (contains_number(name, form, 1))
                return 1;
        }
        snprintf(form, sizeof form, "%lu",
                 (unsigned long)a[0] << 24 | (unsigned long)a[1] << 16 |
                     (unsigned long)a[2] << 8 | (unsigned long)a[3]);
        return contains_number(name, form, 0);
    }

    for (int i = 0; i < 16; i++)
        snprintf(form + 2 * i, sizeof form - 2 * (size_t)i, "%02x", a[i]);
    if (contains_number(name, form, 1))
        return 1;
    {
        size_t off = 0;

        for (int g = 0; g < 8; g++) {
            int n = snprintf(form + off, sizeof form - off, "%s%x",
                             g ? "-" : "", a[2 * g] << 8 | a[2 * g + 1]);

            off += n > 0 ? (size_t)n : 0;
        }
        if (contains_number(name, form, 1))
            return 1;
    }
    if (inet_ntop(AF_INET6, a, form, sizeof form) != NULL &&
        strstr(form, "::") != NULL) {
        for (char *p = form; *p != '\0'; p++)
            if (*p == ':')
                *p = '-';
        /* "--1" alone would be too little evidence. */
        if (strlen(form) >= 6 && contains_number(name, form, 1))
            return 1;
    }
    return 0;
}

int mxp_name_generic(const char *name, int family, const unsigned char *addr,
                     char *why, size_t len)
{
    const char *regdom;
    char low[256];
    size_t n = strlen(name), end, i = 0;

    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t k = 0; k < n; k++)
        low[k] = (char)tolower((unsigned char)name[k]);
    low[n] = '\0';
    if (n > 0 && low[n - 1] == '.')
        low[--n] = '\0';

    if (contains_address(low, family, addr)) {
        snprintf(why, len, "contains the address digits");
        return 1;
    }
    /* Only the labels left of the registered domain (Public Suffix List)
     * can describe the host; a name that is a public suffix or has no
     * registered domain gives no token evidence. */
    regdom = mxp_registered_domain(low);
    end = regdom != NULL ? (size_t)(regdom - low) : 0;
    while (i < end) {
        size_t start, tl;

        while (i < end && !islower((unsigned char)low[i]))
            i++;
        start = i;
        while (i < end && islower((unsigned char)low[i]))
            i++;
        tl = i - start;
        if (tl == 0)
            continue;
        for (size_t k = 0; k < sizeof generic_tokens / sizeof *generic_tokens;
             k++) {
            const char *w = generic_tokens[k].word;

            if (strlen(w) != tl || strncmp(low + start, w, tl) != 0)
                continue;
            if (generic_tokens[k].dash_or_digit && low[i] != '-' &&
                !isdigit((unsigned char)low[i]))
                continue;
            snprintf(why, len, "contains '%s%s'", w,
                     generic_tokens[k].dash_or_digit ? "-" : "");
            return 1;
        }
    }
    return 0;
}

int mxp_name_special(const char *name)
{
    /* RFC 6761/6762/7686/9476 special-use names, and the private
     * suffixes default installs use: never a mail domain on the Internet. */
    static const char *const tlds[] = {
        "localhost", "localdomain", "local",    "invalid", "internal", "lan",
        "corp",      "home",        "intranet", "private", "onion",    "alt"};
    size_t n = strlen(name), i;

    if (n > 0 && name[n - 1] == '.')
        n--;
    for (i = n; i > 0 && name[i - 1] != '.'; i--)
        ;
    for (size_t k = 0; k < sizeof tlds / sizeof *tlds; k++)
        if (n - i == strlen(tlds[k]) &&
            strncasecmp(name + i, tlds[k], n - i) == 0)
            return 1;
    /* home.arpa and its subdomains (RFC 8375) */
    return (n == 9 && strncasecmp(name, "home.arpa", 9) == 0) ||
           (n > 9 && strncasecmp(name + n - 10, ".home.arpa", 10) == 0);
}
