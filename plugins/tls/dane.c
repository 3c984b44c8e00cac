/*
 * dane.c - TLSA records and the DANE match of a server's chain (dane.h).
 *
 * Parsing classifies rather than fails: RFC 7671 4.1 has a client ignore
 * a record it cannot use, so each record carries its usability and the
 * reason.  Matching follows RFC 7671 5 and RFC 7672 3.1: DANE-EE against
 * the leaf, DANE-TA against an issuer on the signed path from the leaf.
 * Trust in the RRset itself (DNSSEC, AD) is the caller's business.
 */
#include "dane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#define DANE_MAX_PATH 16 /* links followed from the leaf up */

const char *dane_usage_name(unsigned usage)
{
    switch (usage) {
    case DANE_PKIX_TA:
        return "PKIX-TA";
    case DANE_PKIX_EE:
        return "PKIX-EE";
    case DANE_DANE_TA:
        return "DANE-TA";
    case DANE_DANE_EE:
        return "DANE-EE";
    default:
        return "usage";
    }
}

static void dane_classify(struct dane_rr *rr)
{
    rr->usable = 0;
    if (rr->usage == DANE_PKIX_TA || rr->usage == DANE_PKIX_EE) {
        snprintf(rr->why, sizeof rr->why,
                 "usage %u (%s) is ignored by SMTP senders (RFC 7672 "
                 "3.1.3)",
                 rr->usage, dane_usage_name(rr->usage));
    } else if (rr->usage > DANE_DANE_EE) {
        snprintf(rr->why, sizeof rr->why,
                 "unknown usage %u: unusable, ignored (RFC 7671 4.1)",
                 rr->usage);
    } else if (rr->selector > DANE_SEL_SPKI) {
        snprintf(rr->why, sizeof rr->why,
                 "unknown selector %u: unusable, ignored (RFC 7671 4.1)",
                 rr->selector);
    } else if (rr->mtype > DANE_SHA512) {
        snprintf(rr->why, sizeof rr->why,
                 "unknown matching type %u: unusable, ignored (RFC 7671 "
                 "4.1)",
                 rr->mtype);
    } else if (rr->mtype == DANE_SHA256 && rr->len != 32) {
        snprintf(rr->why, sizeof rr->why,
                 "SHA-256 data of %zu bytes, not 32: unusable, ignored",
                 rr->len);
    } else if (rr->mtype == DANE_SHA512 && rr->len != 64) {
        snprintf(rr->why, sizeof rr->why,
                 "SHA-512 data of %zu bytes, not 64: unusable, ignored",
                 rr->len);
    } else if (rr->mtype == DANE_FULL && rr->len == 0) {
        snprintf(rr->why, sizeof rr->why,
                 "no association data: unusable, ignored");
    } else {
        rr->usable = 1;
        snprintf(rr->why, sizeof rr->why, "%s, usable",
                 dane_usage_name(rr->usage));
    }
}

int dane_rr_parse(const unsigned char *rdata, size_t len, struct dane_rr *out)
{
    memset(out, 0, sizeof *out);
    if (rdata == NULL || len < 3) {
        snprintf(out->why, sizeof out->why,
                 "rdata of %zu bytes, under 3: unusable, ignored", len);
        return 0;
    }
    out->usage = rdata[0];
    out->selector = rdata[1];
    out->mtype = rdata[2];
    if (len - 3 > DANE_DATA_MAX) {
        out->len = len - 3;
        snprintf(out->why, sizeof out->why,
                 "association data of %zu bytes, over %d: unusable, ignored",
                 out->len, DANE_DATA_MAX);
        out->len = 0;
        return 0;
    }
    out->len = len - 3;
    if (out->len > 0) {
        out->data = malloc(out->len);
        if (out->data == NULL) {
            memset(out, 0, sizeof *out);
            return -1;
        }
        memcpy(out->data, rdata + 3, out->len);
    }
    dane_classify(out);
    return 0;
}

static int dane_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int dane_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One decimal field 0..255 at *p, then at least one blank. */
static int dane_field(const char **p, unsigned char *v)
{
    const char *s = *p;
    unsigned n = 0;
    size_t digits = 0;

    while (dane_blank((unsigned char)*s))
        s++;
    while (*s >= '0' && *s <= '9') {
        n = n * 10 + (unsigned)(*s - '0');
        if (n > 255 || ++digits > 3)
            return -1;
        s++;
    }
    if (digits == 0 || !dane_blank((unsigned char)*s))
        return -1;
    *v = (unsigned char)n;
    *p = s;
    return 0;
}

int dane_rr_parse_text(const char *text, struct dane_rr *out, char *err,
                       size_t err_cap)
{
    static const char *const field[] = {"usage", "selector", "matching type"};
    unsigned char *rdata;
    const char *p = text;
    size_t cap, n = 3, digits = 0;
    int hi = -1, rc;

    memset(out, 0, sizeof *out);
    if (text == NULL) {
        snprintf(err, err_cap, "no TLSA record given");
        return -1;
    }
    cap = 3 + strlen(text) / 2 + 1;
    rdata = malloc(cap);
    if (rdata == NULL) {
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (dane_field(&p, &rdata[i]) != 0) {
            snprintf(err, err_cap,
                     "TLSA %s is not a number 0..255 followed by a blank",
                     field[i]);
            free(rdata);
            return -1;
        }
    }
    for (; *p != '\0'; p++) {
        int v;

        if (dane_blank((unsigned char)*p))
            continue;
        v = dane_hexval((unsigned char)*p);
        if (v < 0) {
            snprintf(err, err_cap,
                     "TLSA data has a character that is no hex digit "
                     "(at offset %zu)",
                     (size_t)(p - text));
            free(rdata);
            return -1;
        }
        digits++;
        if (hi < 0) {
            hi = v;
        } else {
            rdata[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    if (digits == 0 || hi >= 0) {
        snprintf(err, err_cap,
                 digits == 0 ? "TLSA record has no data"
                             : "TLSA data has an odd number of hex digits "
                               "(%zu)",
                 digits);
        free(rdata);
        return -1;
    }
    rc = dane_rr_parse(rdata, n, out);
    free(rdata);
    if (rc != 0)
        snprintf(err, err_cap, "out of memory");
    return rc;
}

void dane_rr_free(struct dane_rr *rr)
{
    if (rr == NULL)
        return;
    free(rr->data);
    rr->data = NULL;
    rr->len = 0;
}

size_t dane_rr_format(const struct dane_rr *rr, char *buf, size_t cap,
                      size_t max_hex)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need, used, i, nhex = 2 * rr->len;
    int cut = max_hex > 0 && nhex > max_hex;
    char head[16];
    int h;

    if (cut)
        nhex = max_hex;
    h = snprintf(head, sizeof head, "%u %u %u ", rr->usage, rr->selector,
                 rr->mtype);
    need = (size_t)h + nhex + (cut ? 3 : 0);
    if (cap == 0)
        return need;
    used = 0;
    for (i = 0; i < (size_t)h && used + 1 < cap; i++)
        buf[used++] = head[i];
    for (i = 0; i < nhex && used + 1 < cap; i++) {
        unsigned char b = rr->data[i / 2];

        buf[used++] = hex[i % 2 == 0 ? b >> 4 : b & 15];
    }
    for (i = 0; cut && i < 3 && used + 1 < cap; i++)
        buf[used++] = '.';
    buf[used] = '\0';
    return need;
}

/* ---- matching ------------------------------------------------------- */

/* The selected bytes of x (full DER or its SPKI DER), OPENSSL_malloc()ed
 * into *der; returns the length or -1. */
static int dane_selected(X509 *x, unsigned selector, unsigned char **der)
{
    *der = NULL;
    if (selector == DANE_SEL_CERT)
        return i2d_X509(x, der);
    return i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), der);
}

/* 1: x matches rr's selector and matching type, 0: not, -1: error. */
static int dane_match_cert(const struct dane_rr *rr, X509 *x)
{
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int n = dane_selected(x, rr->selector, &der), hit = 0;

    if (n <= 0) {
        OPENSSL_free(der);
        return -1;
    }
    if (rr->mtype == DANE_FULL) {
        hit = (size_t)n == rr->len && memcmp(der, rr->data, rr->len) == 0;
    } else {
        const EVP_MD *type =
            rr->mtype == DANE_SHA256 ? EVP_sha256() : EVP_sha512();

        if (EVP_Digest(der, (size_t)n, md, &md_len, type, NULL) != 1) {
            OPENSSL_free(der);
            return -1;
        }
        hit = md_len == rr->len && memcmp(md, rr->data, rr->len) == 0;
    }
    OPENSSL_free(der);
    return hit;
}

/* 1: x may issue certificates.  X509_check_issued() looks at names, key
 * identifiers and key usage only; OpenSSL's chain check, which DANE-TA
 * senders such as Postfix run, also wants basicConstraints CA:TRUE of
 * every certificate above the leaf (a v1 root passes) and rejects the
 * chain with "invalid CA certificate" otherwise. */
static int dane_is_ca(X509 *x)
{
    return X509_check_ca(x) != 0;
}

/* 1: issuer, a CA, issued (names, key identifiers, key usage) and
 * signed x. */
static int dane_signed_by(X509 *x, X509 *issuer)
{
    EVP_PKEY *k;

    if (!dane_is_ca(issuer) || X509_check_issued(issuer, x) != X509_V_OK)
        return 0;
    k = X509_get0_pubkey(issuer);
    return k != NULL && X509_verify(x, k) == 1;
}

/* The signed path from the leaf: path[0] = 0, then each next index is a
 * certificate of the chain (any order) that issued and signed the one
 * before, until a self-issued one or none.  Returns its length. */
static size_t dane_path(X509 *const *chain, size_t n_chain, size_t *path)
{
    size_t n = 1;

    path[0] = 0;
    while (n < DANE_MAX_PATH) {
        X509 *cur = chain[path[n - 1]];
        size_t j, k;

        if (X509_check_issued(cur, cur) == X509_V_OK)
            break; /* self-issued: the top */
        for (j = 0; j < n_chain; j++) {
            for (k = 0; k < n && path[k] != j; k++)
                ;
            if (k == n && dane_signed_by(cur, chain[j]))
                break;
        }
        if (j == n_chain)
            break;
        path[n++] = j;
    }
    return n;
}

static int dane_match_ta(const struct dane_rr *rr, X509 *const *chain,
                         size_t n_chain, const size_t *path, size_t n_path,
                         struct dane_rr_result *r)
{
    size_t i, off_path = 0;
    int found_off_path = 0;

    for (i = 1; i < n_path; i++) {
        int m = dane_match_cert(rr, chain[path[i]]);

        if (m < 0)
            return -1;
        if (m == 1) {
            r->outcome = DANE_MATCH;
            r->position = path[i];
            snprintf(r->why, sizeof r->why,
                     "matches the trust anchor at chain position %zu, "
                     "which signed the chain below it",
                     path[i]);
            return 0;
        }
    }
    /* A sent certificate that matches but is not on the signed path. */
    for (i = 1; i < n_chain; i++) {
        size_t k;
        int m;

        for (k = 0; k < n_path && path[k] != i; k++)
            ;
        if (k < n_path)
            continue;
        m = dane_match_cert(rr, chain[i]);
        if (m < 0)
            return -1;
        if (m == 1) {
            found_off_path = 1;
            off_path = i;
            break;
        }
    }
    if (found_off_path && !dane_is_ca(chain[off_path])) {
        snprintf(r->why, sizeof r->why,
                 "matches the certificate at chain position %zu, which is "
                 "not a CA (no basicConstraints CA:TRUE): DANE senders "
                 "reject it as trust anchor",
                 off_path);
        return 0;
    }
    if (found_off_path) {
        snprintf(r->why, sizeof r->why,
                 "matches the certificate at chain position %zu, but no "
                 "valid signature chain leads from the leaf to it",
                 off_path);
        return 0;
    }
    /* RFC 7671 5.2.3: a TA public key in full need not be sent; its
     * signature on the top of the path is then the only link checked. */
    if (rr->selector == DANE_SEL_SPKI && rr->mtype == DANE_FULL) {
        const unsigned char *p = rr->data;
        EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)rr->len);
        X509 *top = chain[path[n_path - 1]];
        int ok = k != NULL && p == rr->data + rr->len &&
                 X509_check_issued(top, top) != X509_V_OK &&
                 X509_verify(top, k) == 1;

        EVP_PKEY_free(k);
        if (ok) {
            r->outcome = DANE_MATCH;
            r->position = DANE_TA_ABSENT;
            snprintf(r->why, sizeof r->why,
                     "the trust anchor key (not sent) signed the "
                     "certificate at chain position %zu",
                     path[n_path - 1]);
            return 0;
        }
    }
    snprintf(r->why, sizeof r->why,
             "matches no issuer certificate on the chain's signed path");
    return 0;
}

int dane_match(const struct dane_rr *rrs, size_t n, X509 *const *chain,
               size_t n_chain, struct dane_rr_result *res,
               struct dane_summary *sum)
{
    size_t path[DANE_MAX_PATH], n_path = 0, i;
    int rc = 0;

    memset(sum, 0, sizeof *sum);
    sum->n_records = n;
    sum->first_match = (size_t)-1;
    if (chain != NULL && n_chain > 0 && chain[0] != NULL)
        n_path = dane_path(chain, n_chain, path);
    for (i = 0; i < n; i++) {
        const struct dane_rr *rr = &rrs[i];
        struct dane_rr_result *r = &res[i];

        memset(r, 0, sizeof *r);
        r->outcome = DANE_UNUSABLE;
        if (!rr->usable) {
            snprintf(r->why, sizeof r->why, "%s", rr->why);
            continue;
        }
        sum->n_usable++;
        r->outcome = DANE_NO_MATCH;
        if (n_path == 0) {
            snprintf(r->why, sizeof r->why, "no certificate to match");
            continue;
        }
        if (rr->usage == DANE_DANE_EE) {
            int m = dane_match_cert(rr, chain[0]);

            if (m < 0) {
                rc = -1;
                snprintf(r->why, sizeof r->why, "could not be computed");
            } else if (m == 1) {
                r->outcome = DANE_MATCH;
                r->position = 0;
                snprintf(r->why, sizeof r->why,
                         "matches the server certificate");
            } else {
                snprintf(r->why, sizeof r->why,
                         "does not match the server certificate");
            }
        } else if (dane_match_ta(rr, chain, n_chain, path, n_path, r) != 0) {
            rc = -1;
            r->outcome = DANE_NO_MATCH;
            snprintf(r->why, sizeof r->why, "could not be computed");
        }
        if (r->outcome == DANE_MATCH) {
            sum->n_matched++;
            if (sum->first_match == (size_t)-1)
                sum->first_match = i;
            if (rr->usage == DANE_DANE_EE)
                sum->matched_ee = 1;
            else
                sum->matched_ta = 1;
        }
    }
    sum->single_usable = sum->n_usable == 1;
    return rc;
}
