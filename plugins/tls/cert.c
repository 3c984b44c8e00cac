/*
 * cert.c - the certificate judgement of the tls check (see cert.h).
 *
 * The core hands over the chain as the server sent it (DER, leaf first)
 * and OpenSSL's verdict on it; this file says in words what is wrong:
 * dates (its own check against now, so the days are exact), trust, names
 * (RFC 6125 through X509_check_host), key size, weak signatures and a
 * sloppy chain.  Everything read from a certificate is hostile: every
 * text is made printable and bounded before it reaches a detail.
 */
#include "cert.h"

#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#define CERT_TEXT_MAX 1024 /* one detail line */
#define CERT_DN_MAX 256    /* a subject or issuer as shown */
#define CERT_NAME_MAX 96   /* one SAN or CN as shown */
#define CERT_LIST_MAX 10   /* SANs or names listed before "+N more" */
#define CERT_DAY 86400L

#define CERT_DEFAULT_WHY                                                       \
    "senders to port 25 rarely verify certificates (RFC 7435); "               \
    "plugins.tls.strict: true makes this critical"

/* How a problem is ranked: CERT_POLICY ones (name, dates) and
 * CERT_TRUST ones follow pol->strict; CERT_WEAK ones (key, signature)
 * are WARNING anywhere.  A DANE match (pol->dane) reads them anew. */
enum cert_class { CERT_NOTE, CERT_WEAK, CERT_POLICY, CERT_TRUST };

struct judge {
    struct mxp_ctx *ctx;
    const struct tls_cert_policy *pol;
    struct tls_cert_facts *out;
    int capped; /* a CRITICAL was lowered to WARNING by the policy */
    X509 *chain[MXP_TLS_MAX_CHAIN];
    size_t der_len[MXP_TLS_MAX_CHAIN]; /* bytes d2i_X509 used */
    size_t n;                          /* certificates parsed (leaf first) */
    size_t path[MXP_TLS_MAX_CHAIN];    /* indexes into chain: leaf upwards */
    size_t n_path;
    int weak; /* judge_keys or judge_signatures warns */
};

/* ---- text ----------------------------------------------------------- */

/* Length of the valid UTF-8 character at s[0..n) that is safe to show
 * (no C1 controls, zero-width or bidi-override characters that could
 * disguise a name), or 0. */
static size_t utf8_ok(const unsigned char *s, size_t n)
{
    unsigned long cp;
    size_t len;

    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (n < len)
        return 0;
    cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0 ||
        (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
        return 0;
    return len;
}

/* Length of the character at s[0..n) as printable() copies it. */
static size_t char_len(const unsigned char *s, size_t n)
{
    size_t len = 1;

    if (s[0] < 0x20 || s[0] > 0x7e) {
        len = utf8_ok(s, n);
        if (len == 0)
            len = 1;
    }
    return len;
}

/* in[0..n) as printable text in out[0..cap): printable ASCII and safe
 * UTF-8 kept, any other byte '?'; cut with "..." (never inside a
 * character) when it does not fit. */
static void printable(const void *in, size_t n, char *out, size_t cap)
{
    const unsigned char *s = in;
    size_t k = 0, i = 0, total = 0, room;

    if (cap == 0)
        return;
    for (i = 0; i < n; i += char_len(s + i, n - i))
        total += char_len(s + i, n - i);
    room = total < cap ? cap - 1 : cap > 4 ? cap - 4 : cap - 1;
    for (i = 0; i < n;) {
        size_t len = char_len(s + i, n - i);

        if (k + len > room)
            break;
        if (len == 1)
            out[k++] = s[i] >= 0x20 && s[i] <= 0x7e ? (char)s[i] : '?';
        else
            memcpy(out + k, s + i, len), k += len;
        i += len;
    }
    if (i < n && cap > 4) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

/* A distinguished name as "CN=x, O=y, C=z" (most specific first, as
 * RFC 4514 writes it), each value printable and cut on its own, so that
 * a long O cannot hide the CN; ',', '+' and '\\' in values escaped so
 * that a value cannot pose as another attribute. */
static void dn_text(const X509_NAME *nm, char *out, size_t cap)
{
    int n = nm ? X509_NAME_entry_count(nm) : 0;
    size_t k = 0;

    snprintf(out, cap, "(none)");
    if (n <= 0 || cap < 8)
        return;
    for (int i = n - 1; i >= 0; i--) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
        const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
        const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
        const char *sn = OBJ_nid2sn(OBJ_obj2nid(o));
        char key[48], val[CERT_NAME_MAX], piece[2 * CERT_NAME_MAX + 56];
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, v);
        size_t p = 0;

        if (OBJ_obj2nid(o) == NID_undef || sn == NULL) {
            if (OBJ_obj2txt(key, sizeof key, o, 1) <= 0)
                snprintf(key, sizeof key, "?");
            sn = key;
        }
        if (len >= 0)
            printable(utf8, (size_t)len, val, sizeof val);
        else /* not what its type says: its raw bytes, made safe */
            printable(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v),
                      val, sizeof val);
        OPENSSL_free(utf8);
        p = (size_t)snprintf(piece, sizeof piece,
                             "%s%s=", i == n - 1 ? "" : ", ", sn);
        for (const char *c = val; *c && p + 3 < sizeof piece; c++) {
            if (*c == ',' || *c == '+' || *c == '\\')
                piece[p++] = '\\';
            piece[p++] = *c;
        }
        piece[p] = '\0';
        if (k + p + 4 >= cap) {
            memcpy(out + k, "...", 4);
            return;
        }
        memcpy(out + k, piece, p + 1);
        k += p;
    }
}

/* Appends to buf[0..cap) what fmt says; never overflows, cuts quietly. */
static void append(char *buf, size_t cap, const char *fmt, ...)
    MXP_PRINTF(3, 4);
static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t k = strlen(buf);
    va_list ap;

    if (k + 1 >= cap)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + k, cap - k, fmt, ap);
    va_end(ap);
}

static void date_text(const struct tm *tm, char *out, size_t cap)
{
    snprintf(out, cap, "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1,
             tm->tm_mday);
}

static const char *plural(long n)
{
    return n == 1 || n == -1 ? "" : "s";
}

/* ---- details -------------------------------------------------------- */

static void detail(struct judge *j, enum cert_class cls, enum mxp_state st,
                   const char *fmt, ...) MXP_PRINTF(4, 5);
static void detail(struct judge *j, enum cert_class cls, enum mxp_state st,
                   const char *fmt, ...)
{
    char text[CERT_TEXT_MAX];
    const char *pre = "";
    va_list ap;

    /* DANE-EE: trust, names and dates are no matter to DANE senders
     * (RFC 7672 3.1.1); DANE-TA: trust is (RFC 7672 3.2.2). */
    if (st != MXP_STATE_OK &&
        ((j->pol->dane == TLS_DANE_EE &&
          (cls == CERT_POLICY || cls == CERT_TRUST)) ||
         (j->pol->dane == TLS_DANE_TA && cls == CERT_TRUST))) {
        st = MXP_STATE_OK;
        pre = "for senders without DANE: ";
    }
    if (cls == CERT_WEAK && st == MXP_STATE_CRITICAL)
        st = MXP_STATE_WARNING;
    /* DANE-TA senders defer mail on a wrong name or date, port 25 or not. */
    if ((cls == CERT_POLICY || cls == CERT_TRUST) && st == MXP_STATE_CRITICAL &&
        !j->pol->strict &&
        !(j->pol->dane == TLS_DANE_TA && cls == CERT_POLICY)) {
        st = MXP_STATE_WARNING;
        j->capped = 1;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    j->ctx->svc->add_detail(j->ctx, st, "%s%s", pre, text);
    j->out->state = j->ctx->svc->state_worst(j->out->state, st);
}

/* ---- parsing and the path ------------------------------------------- */

static void parse_chain(struct judge *j, const struct mxp_tls_info *info)
{
    size_t n =
        info->n_chain < MXP_TLS_MAX_CHAIN ? info->n_chain : MXP_TLS_MAX_CHAIN;

    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = info->chain_der[i];
        X509 *x;

        if (p == NULL || info->chain_len[i] == 0 ||
            info->chain_len[i] > (size_t)LONG_MAX) {
            if (i == 0)
                return;
            continue;
        }
        x = d2i_X509(NULL, &p, (long)info->chain_len[i]);
        if (x == NULL) {
            if (i == 0)
                return; /* no leaf: nothing else is judged */
            continue;
        }
        j->der_len[j->n] = (size_t)(p - info->chain_der[i]);
        j->chain[j->n++] = x;
    }
}

static int is_self_signed(X509 *x)
{
    return X509_self_signed(x, 0) == 1;
}

/* The certification path as far as the server sent it: the leaf, then
 * each certificate's issuer among those sent (in any order). */
static void build_path(struct judge *j)
{
    int used[MXP_TLS_MAX_CHAIN] = {0};

    j->n_path = 0;
    if (j->n == 0)
        return;
    j->path[j->n_path++] = 0;
    used[0] = 1;
    while (j->n_path < j->n) {
        X509 *cur = j->chain[j->path[j->n_path - 1]];
        size_t k;

        if (is_self_signed(cur))
            break;
        for (k = 0; k < j->n; k++)
            if (!used[k] && X509_check_issued(j->chain[k], cur) == X509_V_OK)
                break;
        if (k == j->n)
            break;
        used[k] = 1;
        j->path[j->n_path++] = k;
    }
}

/* ---- dates ---------------------------------------------------------- */

static int asn1_time(const ASN1_TIME *t, struct tm *tm, long long *secs)
{
    memset(tm, 0, sizeof *tm);
    if (t == NULL || ASN1_TIME_to_tm(t, tm) != 1)
        return 0;
    *secs = (long long)timegm(tm);
    return 1;
}

/* floor(a / b) for b > 0 */
static long long floor_div(long long a, long long b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static void judge_dates(struct judge *j, time_t now)
{
    X509 *leaf = j->chain[0];
    struct tm nb_tm, na_tm;
    long long nb, na, left;
    char from[40], until[40];
    const struct tls_cert_policy *pol = j->pol;

    if (!asn1_time(X509_get0_notBefore(leaf), &nb_tm, &nb) ||
        !asn1_time(X509_get0_notAfter(leaf), &na_tm, &na)) {
        detail(j, CERT_NOTE, MXP_STATE_UNKNOWN,
               "certificate validity dates could not be read");
        snprintf(j->out->summary, sizeof j->out->summary,
                 "certificate dates unreadable");
        return;
    }
    date_text(&nb_tm, from, sizeof from);
    date_text(&na_tm, until, sizeof until);
    left = floor_div(na - (long long)now, CERT_DAY);
    if (left > 100000000LL)
        left = 100000000LL;
    if (left < -100000000LL)
        left = -100000000LL;
    j->out->days_left = (long)left;
    j->out->have_days = 1;
    if (na < (long long)now) {
        long ago = (long)floor_div((long long)now - na, CERT_DAY);

        j->out->expired = 1;
        if (ago == 0) {
            detail(j, CERT_POLICY, MXP_STATE_CRITICAL,
                   "certificate expired less than a day ago (%s)", until);
            snprintf(j->out->summary, sizeof j->out->summary,
                     "certificate expired less than a day ago");
        } else {
            detail(j, CERT_POLICY, MXP_STATE_CRITICAL,
                   "certificate expired %ld day%s ago (%s)", ago, plural(ago),
                   until);
            snprintf(j->out->summary, sizeof j->out->summary,
                     "certificate expired %ld day%s ago", ago, plural(ago));
        }
    }
    if (nb > (long long)now) {
        long in = (long)floor_div(nb - (long long)now, CERT_DAY);

        j->out->not_yet_valid = 1;
        if (in == 0)
            detail(j, CERT_POLICY, MXP_STATE_CRITICAL,
                   "certificate not yet valid: valid from %s (in less than "
                   "a day)",
                   from);
        else
            detail(j, CERT_POLICY, MXP_STATE_CRITICAL,
                   "certificate not yet valid: valid from %s (in %ld day%s)",
                   from, in, plural(in));
        if (!j->out->expired)
            snprintf(j->out->summary, sizeof j->out->summary,
                     "certificate not yet valid");
    }
    if (j->out->expired || j->out->not_yet_valid)
        return;
    snprintf(j->out->summary, sizeof j->out->summary,
             "certificate valid %ld day%s", j->out->days_left,
             plural(j->out->days_left));
    if (pol->crit_days >= 0 && j->out->days_left < pol->crit_days)
        detail(j, CERT_POLICY, MXP_STATE_CRITICAL,
               "certificate expires in %ld day%s (%s), fewer than %ld",
               j->out->days_left, plural(j->out->days_left), until,
               pol->crit_days);
    else if (pol->warn_days >= 0 && j->out->days_left < pol->warn_days)
        detail(j, CERT_POLICY, MXP_STATE_WARNING,
               "certificate expires in %ld day%s (%s), fewer than %ld",
               j->out->days_left, plural(j->out->days_left), until,
               pol->warn_days);
    else
        detail(j, CERT_NOTE, MXP_STATE_OK, "certificate valid %ld day%s (%s)",
               j->out->days_left, plural(j->out->days_left), until);
}

/* ---- trust ---------------------------------------------------------- */

static void subject_of(struct judge *j, size_t depth, char *out, size_t cap)
{
    out[0] = '\0';
    if (depth < j->n_path)
        dn_text(X509_get_subject_name(j->chain[j->path[depth]]), out, cap);
}

static void judge_trust(struct judge *j, const struct mxp_tls_info *info)
{
    X509 *top = j->chain[j->path[j->n_path - 1]];
    char dn[CERT_DN_MAX], words[sizeof info->verify_words];
    long r = info->verify_result;
    int depth = info->verify_depth;

    printable(info->verify_words,
              strnlen(info->verify_words, sizeof info->verify_words), words,
              sizeof words);
    switch (r) {
    case X509_V_OK:
        j->out->trusted = 1;
        dn_text(X509_get_issuer_name(top), dn, sizeof dn);
        detail(j, CERT_NOTE, MXP_STATE_OK, "chain trusted, up to %s", dn);
        return;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        /* No path to a trusted CA: name where the path the server sent
         * ends, a self-signed leaf, a root nobody trusts, or an issuer
         * nobody has. */
        if (j->out->self_signed) {
            detail(j, CERT_TRUST, MXP_STATE_CRITICAL,
                   "self-signed certificate");
        } else if (is_self_signed(top)) {
            dn_text(X509_get_subject_name(top), dn, sizeof dn);
            detail(j, CERT_TRUST, MXP_STATE_CRITICAL,
                   "issuer not trusted (unknown root CA: %s)", dn);
        } else {
            dn_text(X509_get_issuer_name(top), dn, sizeof dn);
            detail(j, CERT_TRUST, MXP_STATE_CRITICAL,
                   "issuer not trusted (unknown CA: %s)", dn);
        }
        return;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        /* The leaf's dates are said once, by judge_dates. */
        if (depth == 0 && (j->out->expired || j->out->not_yet_valid))
            return;
        break;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
        /* OpenSSL's security level refused what judge_key and
         * judge_signatures already warn of; it stopped there, so the
         * chain is not known to be trusted, yet this is no new problem. */
        if (j->weak) {
            detail(j, CERT_NOTE, MXP_STATE_OK, "chain not verified further: %s",
                   words);
            return;
        }
        break;
    default:
        break;
    }
    subject_of(j, depth >= 0 ? (size_t)depth : (size_t)-1, dn, sizeof dn);
    if (dn[0])
        detail(j, CERT_TRUST, MXP_STATE_CRITICAL,
               "certificate not trusted: %s (depth %d: %s)", words, depth, dn);
    else
        detail(j, CERT_TRUST, MXP_STATE_CRITICAL,
               "certificate not trusted: %s (error %ld, depth %d)", words, r,
               depth);
}

/* ---- names ---------------------------------------------------------- */

/* The names the leaf offers for matching, as RFC 6125 reads them: its
 * DNS and IP SANs, or its CNs when it has no DNS SAN. */
static void cert_names(X509 *x, char *out, size_t cap)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t shown = 0, total = 0;
    int dns = 0;
    char one[CERT_NAME_MAX];

    out[0] = '\0';
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        int type;
        const ASN1_STRING *s = GENERAL_NAME_get0_value(g, &type);
        char ip[INET6_ADDRSTRLEN];

        if (type == GEN_DNS) {
            dns = 1;
            printable(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s),
                      one, sizeof one);
        } else if (type == GEN_IPADD) {
            int len = ASN1_STRING_length(s);
            const unsigned char *d = ASN1_STRING_get0_data(s);

            if ((len != 4 && len != 16) ||
                !inet_ntop(len == 4 ? AF_INET : AF_INET6, d, ip, sizeof ip))
                snprintf(ip, sizeof ip, "?");
            snprintf(one, sizeof one, "IP:%s", ip);
        } else {
            continue;
        }
        if (shown < CERT_LIST_MAX) {
            append(out, cap, "%s%s", shown ? ", " : "", one);
            shown++;
        }
        total++;
    }
    GENERAL_NAMES_free(gens);
    if (!dns) {
        const X509_NAME *subj = X509_get_subject_name(x);
        int idx = -1;

        while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >=
               0) {
            const ASN1_STRING *s =
                X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
            unsigned char *utf8 = NULL;
            int len = ASN1_STRING_to_UTF8(&utf8, s);

            if (len < 0)
                continue;
            printable(utf8, (size_t)len, one, sizeof one);
            OPENSSL_free(utf8);
            if (shown < CERT_LIST_MAX) {
                append(out, cap, "%sCN=%s", shown ? ", " : "", one);
                shown++;
            }
            total++;
        }
    }
    if (total > shown)
        append(out, cap, " (+%zu more)", total - shown);
    if (total == 0)
        snprintf(out, cap, "no name");
}

/* A given name without its trailing dot, in buf; 0 when empty. */
static int plain_name(const char *name, char *buf, size_t cap)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= cap)
        return 0;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return 1;
}

static int is_ip(const char *s)
{
    unsigned char a[16];

    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static void judge_names(struct judge *j, const struct tls_cert_name *names,
                        size_t n_names)
{
    const unsigned int flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
    char tried[CERT_TEXT_MAX / 2], offered[CERT_TEXT_MAX / 2];
    char name[256], shown[CERT_NAME_MAX], role[64];
    size_t listed = 0, distinct = 0;
    X509 *leaf = j->chain[0];

    tried[0] = '\0';
    for (size_t i = 0; i < n_names; i++) {
        char *peer = NULL;
        int dup = 0, ok;

        if (!plain_name(names[i].name, name, sizeof name))
            continue;
        for (size_t k = 0; k < i && !dup; k++) {
            char prev[256];

            dup = plain_name(names[k].name, prev, sizeof prev) &&
                  strcasecmp(prev, name) == 0;
        }
        if (dup)
            continue;
        distinct++;
        if (is_ip(name))
            ok = X509_check_ip_asc(leaf, name, 0) == 1;
        else
            ok = X509_check_host(leaf, name, strlen(name), flags, &peer) == 1;
        printable(name, strlen(name), shown, sizeof shown);
        printable(names[i].role ? names[i].role : "name",
                  strlen(names[i].role ? names[i].role : "name"), role,
                  sizeof role);
        if (ok) {
            char via[CERT_NAME_MAX];

            j->out->name_match = 1;
            if (peer != NULL && strcasecmp(peer, name) != 0) {
                printable(peer, strlen(peer), via, sizeof via);
                detail(j, CERT_NOTE, MXP_STATE_OK,
                       "certificate matches %s (%s) as %s", shown, role, via);
            } else {
                detail(j, CERT_NOTE, MXP_STATE_OK,
                       "certificate matches %s (%s)", shown, role);
            }
            OPENSSL_free(peer);
            return;
        }
        OPENSSL_free(peer);
        if (listed < CERT_LIST_MAX) {
            append(tried, sizeof tried, "%s%s (%s)", listed ? ", " : "", shown,
                   role);
            listed++;
        }
    }
    if (distinct == 0) {
        j->out->name_match = -1;
        detail(j, CERT_NOTE, MXP_STATE_OK,
               "certificate name not checked: no host name to check it "
               "against");
        return;
    }
    if (distinct > listed)
        append(tried, sizeof tried, " (+%zu more)", distinct - listed);
    j->out->name_match = 0;
    cert_names(leaf, offered, sizeof offered);
    detail(j, CERT_POLICY, MXP_STATE_CRITICAL,
           "certificate name does not match %s; the certificate names %s",
           tried, offered);
}

/* ---- key and signatures --------------------------------------------- */

/* "RSA key of 2048 bits" and whether it is weak. */
static int key_text(X509 *x, char *out, size_t cap)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    int bits, id;
    char group[64];
    size_t glen = 0;

    if (pk == NULL) {
        snprintf(out, cap, "unreadable public key");
        return 0;
    }
    bits = EVP_PKEY_get_bits(pk);
    id = EVP_PKEY_get_base_id(pk);
    switch (id) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
    case EVP_PKEY_DSA:
        snprintf(out, cap, "%s key of %d bits",
                 id == EVP_PKEY_DSA       ? "DSA"
                 : id == EVP_PKEY_RSA_PSS ? "RSA-PSS"
                                          : "RSA",
                 bits);
        if (bits < 2048) {
            append(out, cap, ", under 2048");
            return 1;
        }
        return 0;
    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(pk, group, sizeof group, &glen) != 1)
            snprintf(group, sizeof group, "unknown curve");
        snprintf(out, cap, "EC key of %d bits (%s)", bits, group);
        if (bits < 224) {
            append(out, cap, ", under 224");
            return 1;
        }
        return 0;
    case EVP_PKEY_ED25519:
        snprintf(out, cap, "Ed25519 key");
        return 0;
    case EVP_PKEY_ED448:
        snprintf(out, cap, "Ed448 key");
        return 0;
    default:
        snprintf(out, cap, "%s key of %d bits",
                 OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown", bits);
        return 0;
    }
}

static void judge_keys(struct judge *j)
{
    char text[128], dn[CERT_DN_MAX];

    if (key_text(j->chain[0], text, sizeof text)) {
        detail(j, CERT_WEAK, MXP_STATE_WARNING, "%s: weak", text);
    } else {
        detail(j, CERT_NOTE, MXP_STATE_OK, "%s", text);
    }
    for (size_t d = 1; d < j->n_path; d++) {
        X509 *x = j->chain[j->path[d]];

        if (is_self_signed(x) || !key_text(x, text, sizeof text))
            continue;
        dn_text(X509_get_subject_name(x), dn, sizeof dn);
        detail(j, CERT_WEAK, MXP_STATE_WARNING,
               "intermediate certificate %s: %s: weak", dn, text);
    }
}

/* The digest of x's signature, when it is SHA-1 or worse: "SHA-1". */
static const char *weak_digest(X509 *x)
{
    int md = NID_undef, pk = NID_undef;

    if (X509_get_signature_info(x, &md, &pk, NULL, NULL) != 1 &&
        OBJ_find_sigid_algs(X509_get_signature_nid(x), &md, &pk) != 1)
        return NULL;
    switch (md) {
    case NID_sha1:
        return "SHA-1";
    case NID_md5:
    case NID_md5_sha1:
        return "MD5";
    case NID_md4:
        return "MD4";
    case NID_md2:
        return "MD2";
    default:
        return NULL;
    }
}

/* Only signatures someone checks matter: the leaf's and the
 * intermediates', not a self-signed certificate's own. */
static void judge_signatures(struct judge *j)
{
    char dn[CERT_DN_MAX];

    for (size_t d = 0; d < j->n_path; d++) {
        X509 *x = j->chain[j->path[d]];
        const char *md;
        int nid;

        if (is_self_signed(x) || (md = weak_digest(x)) == NULL)
            continue;
        nid = X509_get_signature_nid(x);
        if (d == 0) {
            detail(j, CERT_WEAK, MXP_STATE_WARNING,
                   "%s signature on the certificate (%s)", md,
                   OBJ_nid2ln(nid) ? OBJ_nid2ln(nid) : "?");
        } else {
            dn_text(X509_get_subject_name(x), dn, sizeof dn);
            detail(j, CERT_WEAK, MXP_STATE_WARNING,
                   "%s signature on intermediate certificate %s (%s)", md, dn,
                   OBJ_nid2ln(nid) ? OBJ_nid2ln(nid) : "?");
        }
    }
}

/* Whether judge_keys or judge_signatures will warn, known before they
 * speak so that judge_trust does not say the same thing again. */
static int chain_weak(struct judge *j)
{
    char text[128];

    for (size_t d = 0; d < j->n_path; d++) {
        X509 *x = j->chain[j->path[d]];

        if (d > 0 && is_self_signed(x))
            continue;
        if (key_text(x, text, sizeof text))
            return 1;
        if (!is_self_signed(x) && weak_digest(x) != NULL)
            return 1;
    }
    return 0;
}

/* ---- the chain as sent ---------------------------------------------- */

static void judge_chain(struct judge *j, const struct mxp_tls_info *info)
{
    char text[CERT_TEXT_MAX], dn[CERT_DN_MAX];
    size_t extra = 0, first_extra = 0;
    size_t sent =
        info->chain_total > info->n_chain ? info->chain_total : info->n_chain;
    int in_path[MXP_TLS_MAX_CHAIN] = {0}, ordered = 1;
    X509 *top = j->chain[j->path[j->n_path - 1]];

    for (size_t d = 0; d < j->n_path; d++) {
        in_path[j->path[d]] = 1;
        if (j->path[d] != d)
            ordered = 0;
    }
    for (size_t i = 0; i < j->n; i++)
        if (!in_path[i] && extra++ == 0)
            first_extra = i;
    snprintf(text, sizeof text, "chain: %zu certificate%s sent", sent,
             sent == 1 ? "" : "s");
    if (sent > info->n_chain)
        append(text, sizeof text, " (the first %zu looked at)", info->n_chain);
    if (j->n_path > 1 && is_self_signed(top))
        append(text, sizeof text, ", the root included (not needed)");
    if (!ordered)
        append(text, sizeof text, ", out of order");
    if (extra > 0) {
        dn_text(X509_get_subject_name(j->chain[first_extra]), dn, sizeof dn);
        append(text, sizeof text,
               ", %zu more than needed (not in the path: %s%s)", extra, dn,
               extra > 1 ? ", ..." : "");
    }
    if (j->n < info->n_chain)
        append(text, sizeof text, ", %zu unreadable", info->n_chain - j->n);
    detail(j, CERT_NOTE, MXP_STATE_OK, "%s", text);
}

/* ---- what the leaf says --------------------------------------------- */

/* "AB:CD:..." of the certificate's DER as the server sent it, as
 * check_ssl_cert and openssl x509 -fingerprint show it. */
static void fingerprint(const unsigned char *der, size_t len, const EVP_MD *md,
                        char *out, size_t cap)
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    size_t k = 0;

    out[0] = '\0';
    if (EVP_Digest(der, len, h, &hlen, md, NULL) != 1)
        return;
    for (unsigned int i = 0; i < hlen && k + 4 <= cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%02X", i ? ":" : "", h[i]);
}

static void describe_leaf(struct judge *j, const struct mxp_tls_info *info)
{
    X509 *leaf = j->chain[0];
    char dn[CERT_DN_MAX], names[CERT_TEXT_MAX / 2], fp[3 * EVP_MAX_MD_SIZE];
    struct tm nb_tm, na_tm;
    long long s;

    dn_text(X509_get_subject_name(leaf), dn, sizeof dn);
    detail(j, CERT_NOTE, MXP_STATE_OK, "subject: %s", dn);
    cert_names(leaf, names, sizeof names);
    detail(j, CERT_NOTE, MXP_STATE_OK, "names: %s", names);
    dn_text(X509_get_issuer_name(leaf), dn, sizeof dn);
    detail(j, CERT_NOTE, MXP_STATE_OK, "issuer: %s", dn);
    if (asn1_time(X509_get0_notBefore(leaf), &nb_tm, &s) &&
        asn1_time(X509_get0_notAfter(leaf), &na_tm, &s)) {
        char from[40], until[40];

        date_text(&nb_tm, from, sizeof from);
        date_text(&na_tm, until, sizeof until);
        detail(j, CERT_NOTE, MXP_STATE_OK, "validity: %s to %s (UTC)", from,
               until);
    }
    fingerprint(info->chain_der[0], j->der_len[0], EVP_sha256(), fp, sizeof fp);
    detail(j, CERT_NOTE, MXP_STATE_OK, "SHA-256 fingerprint: %s", fp);
    fingerprint(info->chain_der[0], j->der_len[0], EVP_sha1(), fp, sizeof fp);
    detail(j, CERT_NOTE, MXP_STATE_OK, "SHA-1 fingerprint: %s", fp);
}

static void add_days_perf(struct judge *j)
{
    char warn[32], crit[32];
    struct mxp_perf p;

    snprintf(warn, sizeof warn, "%ld:", j->pol->warn_days);
    snprintf(crit, sizeof crit, "%ld:", j->pol->crit_days);
    memset(&p, 0, sizeof p);
    p.metric = "cert_days";
    p.value = (double)j->out->days_left;
    p.uom = "";
    p.warn = j->pol->warn_days >= 0 ? warn : NULL;
    p.crit = j->pol->crit_days >= 0 ? crit : NULL;
    p.min = NAN;
    p.max = NAN;
    j->ctx->svc->add_perfdata(j->ctx, &p);
}

void tls_cert_judge(struct mxp_ctx *ctx, const struct mxp_tls_info *info,
                    const struct tls_cert_name *names, size_t n_names,
                    const struct tls_cert_policy *pol, time_t now,
                    struct tls_cert_facts *out)
{
    struct judge j;

    memset(out, 0, sizeof *out);
    out->state = MXP_STATE_OK;
    out->name_match = -1;
    memset(&j, 0, sizeof j);
    j.ctx = ctx;
    j.pol = pol;
    j.out = out;
    if (info == NULL || info->n_chain == 0 || info->chain_der == NULL ||
        info->chain_len == NULL) {
        snprintf(out->summary, sizeof out->summary, "no certificate");
        detail(&j, CERT_NOTE, MXP_STATE_OK,
               "no certificate (anonymous cipher suite): nothing to verify");
        return;
    }
    parse_chain(&j, info);
    if (j.n == 0) {
        snprintf(out->summary, sizeof out->summary, "certificate unreadable");
        detail(&j, CERT_NOTE, MXP_STATE_UNKNOWN,
               "the server's certificate could not be parsed (%zu bytes)",
               info->chain_len[0]);
        return;
    }
    out->have_leaf = 1;
    build_path(&j);
    out->self_signed = is_self_signed(j.chain[0]);
    j.weak = chain_weak(&j);
    /* Verdicts first, the worst kinds first: the first of equals is what
     * the status line shows. */
    judge_dates(&j, now);
    judge_trust(&j, info);
    judge_names(&j, names, names ? n_names : 0);
    judge_keys(&j);
    judge_signatures(&j);
    if (j.capped)
        detail(&j, CERT_NOTE, MXP_STATE_OK,
               "certificate problems are WARNING here, not CRITICAL: %s",
               pol->strict_why ? pol->strict_why : CERT_DEFAULT_WHY);
    judge_chain(&j, info);
    describe_leaf(&j, info);
    if (out->have_days)
        add_days_perf(&j);
    for (size_t i = 0; i < j.n; i++)
        X509_free(j.chain[i]);
}
