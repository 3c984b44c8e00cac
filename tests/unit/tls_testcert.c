/*
 * tls_testcert.c - keys and certificates for unit tests (tls_testcert.h).
 *
 * libcrypto only (no openssl CLI, no config file): EVP_PKEY_Q_keygen for
 * the key, X509V3_EXT_conf_nid for the extensions, X509_sign with the
 * chosen digest.  Temporary files live in one directory per process,
 * removed at exit by the process that made it (forked servers _exit).
 */
#include "tls_testcert.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static void tls_testcert_die(const char *what)
{
    fprintf(stderr, "tls_testcert: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    abort();
}

#define TC_CHECK(cond, what)                                                   \
    do {                                                                       \
        if (!(cond))                                                           \
            tls_testcert_die(what);                                            \
    } while (0)

static EVP_PKEY *tls_testcert_key(const struct tls_testcert_spec *spec)
{
    EVP_PKEY *k;

    if (spec->key_type == TLS_TESTCERT_RSA)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
                              (size_t)(spec->bits > 0 ? spec->bits : 2048));
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
                              spec->bits == 384 ? "P-384" : "P-256");
    TC_CHECK(k != NULL, "key generation");
    return k;
}

static void tls_testcert_ext(X509 *cert, X509 *issuer, int nid,
                             const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    TC_CHECK(ext != NULL, "extension");
    TC_CHECK(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(ext);
}

/* "DNS:a,IP:1.2.3.4" from the spec's list. */
static char *tls_testcert_san_text(const char *const *san)
{
    size_t cap = 1, i, used = 0;
    char *text;

    for (i = 0; san[i] != NULL; i++)
        cap += strlen(san[i]) + 8;
    text = calloc(1, cap);
    TC_CHECK(text != NULL, "calloc");
    for (i = 0; san[i] != NULL; i++) {
        const char *e = san[i];
        unsigned char b[16];
        const char *prefix = "DNS:";

        if (strncmp(e, "DNS:", 4) == 0 || strncmp(e, "IP:", 3) == 0 ||
            strncmp(e, "email:", 6) == 0 || strncmp(e, "URI:", 4) == 0)
            prefix = "";
        else if (inet_pton(AF_INET, e, b) == 1 ||
                 inet_pton(AF_INET6, e, b) == 1)
            prefix = "IP:";
        used += (size_t)snprintf(text + used, cap - used, "%s%s%s",
                                 i > 0 ? "," : "", prefix, e);
    }
    return text;
}

void tls_testcert_make(const struct tls_testcert_spec *spec,
                       struct tls_testcert *out)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509 *issuer;
    EVP_PKEY *signer;
    const EVP_MD *md;
    long serial = spec->serial;

    TC_CHECK(cert != NULL && name != NULL, "X509_new");
    out->key = tls_testcert_key(spec);
    out->cert = cert;
    TC_CHECK(X509_set_version(cert, 2) == 1, "X509_set_version");
    if (serial == 0) {
        unsigned char r[4];

        TC_CHECK(RAND_bytes(r, sizeof(r)) == 1, "RAND_bytes");
        serial = 1 + (long)(((unsigned long)r[0] << 24 | r[1] << 16 |
                             r[2] << 8 | r[3]) &
                            0x7fffffffUL);
    }
    TC_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) == 1,
             "serial");
    TC_CHECK(X509_gmtime_adj(X509_getm_notBefore(cert),
                             (long)spec->not_before_days * 86400L) != NULL,
             "notBefore");
    TC_CHECK(X509_gmtime_adj(X509_getm_notAfter(cert),
                             (long)spec->not_after_days * 86400L) != NULL,
             "notAfter");
    if (spec->org != NULL)
        TC_CHECK(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                            (const unsigned char *)spec->org,
                                            -1, -1, 0) == 1,
                 "O");
    if (spec->cn != NULL)
        TC_CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                            (const unsigned char *)spec->cn, -1,
                                            -1, 0) == 1,
                 "CN");
    TC_CHECK(X509_set_subject_name(cert, name) == 1, "subject");
    TC_CHECK(X509_set_pubkey(cert, out->key) == 1, "pubkey");

    issuer = spec->issuer_cert != NULL ? spec->issuer_cert : cert;
    signer = spec->issuer_key != NULL ? spec->issuer_key : out->key;
    TC_CHECK(X509_set_issuer_name(cert, X509_get_subject_name(issuer)) == 1,
             "issuer");
    X509_NAME_free(name);

    if (spec->is_ca) {
        tls_testcert_ext(cert, issuer, NID_basic_constraints,
                         "critical,CA:TRUE");
        tls_testcert_ext(cert, issuer, NID_key_usage,
                         "critical,keyCertSign,cRLSign");
    } else {
        tls_testcert_ext(cert, issuer, NID_basic_constraints, "CA:FALSE");
    }
    tls_testcert_ext(cert, issuer, NID_subject_key_identifier, "hash");
    if (issuer != cert)
        tls_testcert_ext(cert, issuer, NID_authority_key_identifier,
                         "keyid:always");
    if (spec->san != NULL && spec->san[0] != NULL) {
        char *text = tls_testcert_san_text(spec->san);

        tls_testcert_ext(cert, issuer, NID_subject_alt_name, text);
        free(text);
    }
    md = spec->sha1 ? EVP_sha1() : EVP_sha256();
    TC_CHECK(X509_sign(cert, signer, md) > 0, "X509_sign");
}

void tls_testcert_free(struct tls_testcert *c)
{
    if (c == NULL)
        return;
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    c->cert = NULL;
    c->key = NULL;
}

void tls_testcert_write_pem(const struct tls_testcert *c, const char *cert_path,
                            const char *key_path, X509 *const *extra, size_t n)
{
    FILE *f = fopen(cert_path, "w");
    size_t i;

    TC_CHECK(f != NULL, "fopen certificate file");
    TC_CHECK(PEM_write_X509(f, c->cert) == 1, "PEM_write_X509");
    for (i = 0; i < n; i++)
        TC_CHECK(PEM_write_X509(f, extra[i]) == 1, "PEM_write_X509");
    TC_CHECK(fclose(f) == 0, "fclose");
    if (key_path == NULL)
        return;
    f = fopen(key_path, "w");
    TC_CHECK(f != NULL, "fopen key file");
    TC_CHECK(PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL) == 1,
             "PEM_write_PrivateKey");
    TC_CHECK(fclose(f) == 0, "fclose");
}

/* OPENSSL_malloc()ed bytes handed over as malloc()ed ones. */
static unsigned char *tls_testcert_own(unsigned char *der, int n)
{
    unsigned char *copy;

    TC_CHECK(n > 0, "i2d");
    copy = malloc((size_t)n);
    TC_CHECK(copy != NULL, "malloc");
    memcpy(copy, der, (size_t)n);
    OPENSSL_free(der);
    return copy;
}

unsigned char *tls_testcert_der(X509 *cert, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);

    TC_CHECK(n > 0, "i2d_X509");
    *len = (size_t)n;
    return tls_testcert_own(der, n);
}

unsigned char *tls_testcert_tlsa(const struct tls_testcert *c, int usage,
                                 int selector, int mtype, size_t *len)
{
    unsigned char *der = NULL, *sel, *rdata;
    size_t sel_len;
    unsigned int md_len = 0;

    if (selector == 0) {
        sel = tls_testcert_der(c->cert, &sel_len);
    } else {
        int n = i2d_PUBKEY(c->key, &der);

        sel = tls_testcert_own(der, n);
        sel_len = (size_t)n;
    }
    rdata = malloc(3 + sel_len + EVP_MAX_MD_SIZE);
    TC_CHECK(rdata != NULL, "malloc");
    rdata[0] = (unsigned char)usage;
    rdata[1] = (unsigned char)selector;
    rdata[2] = (unsigned char)mtype;
    if (mtype == 0) {
        memcpy(rdata + 3, sel, sel_len);
        *len = 3 + sel_len;
    } else {
        TC_CHECK(EVP_Digest(sel, sel_len, rdata + 3, &md_len,
                            mtype == 1 ? EVP_sha256() : EVP_sha512(),
                            NULL) == 1,
                 "EVP_Digest");
        *len = 3 + md_len;
    }
    free(sel);
    return rdata;
}

static char tls_testcert_dir_path[64];
static pid_t tls_testcert_dir_owner;

static int tls_testcert_rm(const char *path, const struct stat *st, int type,
                           struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void tls_testcert_cleanup(void)
{
    if (tls_testcert_dir_path[0] != '\0' && getpid() == tls_testcert_dir_owner)
        (void)nftw(tls_testcert_dir_path, tls_testcert_rm, 8,
                   FTW_DEPTH | FTW_PHYS);
}

const char *tls_testcert_dir(void)
{
    if (tls_testcert_dir_path[0] == '\0') {
        snprintf(tls_testcert_dir_path, sizeof(tls_testcert_dir_path),
                 "/tmp/mxp-testcert-XXXXXX");
        TC_CHECK(mkdtemp(tls_testcert_dir_path) != NULL, "mkdtemp");
        tls_testcert_dir_owner = getpid();
        atexit(tls_testcert_cleanup);
    }
    return tls_testcert_dir_path;
}
