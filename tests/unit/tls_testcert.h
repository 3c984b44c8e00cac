/*
 * tls_testcert.h - keys and X.509 certificates made in C for unit tests.
 *
 * Tests make the certificates they need at run time with libcrypto, so
 * that no fixed certificate in the tree expires and each test says in
 * its own words what it holds: RSA of a given size or EC, self-signed or
 * signed by a CA made the same way, a subject CN and a SAN list, validity
 * as day offsets from now, SHA-1 or SHA-256.  Every symbol starts with
 * tls_testcert_ because this file is linked into every unit test binary.
 * Failures abort: this is test scaffolding, not the product.
 */
#ifndef TLS_TESTCERT_H
#define TLS_TESTCERT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

enum tls_testcert_key {
    TLS_TESTCERT_EC = 0, /* P-256 (bits 384: P-384); the fast default */
    TLS_TESTCERT_RSA,    /* bits: 512..4096, 0 for 2048 */
};

/* What to make.  A zeroed spec ({0}) is a self-signed EC P-256 leaf with
 * no subject, no SAN, valid from now until now + 0 days (set the days),
 * signed with SHA-256. */
struct tls_testcert_spec {
    enum tls_testcert_key key_type;
    int bits;
    const char *cn;  /* subject (and, self-signed, issuer) CN */
    const char *org; /* subject O, NULL: none */
    /* subjectAltName entries, NULL-terminated (NULL: no extension).  A
     * numeric IPv4/IPv6 address becomes an IP entry, "email:..",
     * "URI:..", "DNS:.." and "IP:.." are taken as written, anything
     * else is a DNS name ("*.example.org" too). */
    const char *const *san;
    int not_before_days; /* offsets from now, negative in the past */
    int not_after_days;
    int sha1;    /* 1: sha1WithRSA / ecdsa-with-SHA1 */
    int is_ca;   /* basicConstraints CA:TRUE + keyCertSign */
    long serial; /* 0: a random one */
    /* The signer; both NULL: self-signed.  issuer_key signs, and the
     * issuer name is issuer_cert's subject. */
    EVP_PKEY *issuer_key;
    X509 *issuer_cert;
};

struct tls_testcert {
    EVP_PKEY *key;
    X509 *cert;
};

/* Makes key and certificate per spec into *out (free it with
 * tls_testcert_free).  Aborts on any failure. */
void tls_testcert_make(const struct tls_testcert_spec *spec,
                       struct tls_testcert *out);
void tls_testcert_free(struct tls_testcert *c);

/* Writes c's certificate (and with key_path, its private key, PEM,
 * unencrypted) to files; extra certificates (e.g. the chain above the
 * leaf, n of them) are appended to cert_path after c's own.  Aborts on
 * failure. */
void tls_testcert_write_pem(const struct tls_testcert *c, const char *cert_path,
                            const char *key_path, X509 *const *extra, size_t n);

/* The certificate's DER, malloc()ed (free it), length in *len. */
unsigned char *tls_testcert_der(X509 *cert, size_t *len);

/* TLSA rdata (usage, selector, matching type, data) for c as RFC 6698
 * computes it: selector 0 the certificate's DER, 1 the SPKI of the key
 * the test made; mtype 0 those bytes, 1 SHA-256, 2 SHA-512.  malloc()ed
 * (free it), length in *len. */
unsigned char *tls_testcert_tlsa(const struct tls_testcert *c, int usage,
                                 int selector, int mtype, size_t *len);

/* A temporary directory for such files ("/tmp/mxp-testcert-XXXXXX"),
 * made once per process and removed with its files at exit. */
const char *tls_testcert_dir(void);

#endif
