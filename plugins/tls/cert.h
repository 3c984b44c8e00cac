/*
 * cert.h - the tls check's judgement of the server's certificate: the
 * chain the core received (DER, leaf first) and its verification result
 * against the trusted CAs, held against the names the server should have,
 * the clock and the policy.  It adds the details and the perfdata
 * (tls_cert_days) and returns the facts the status line needs.
 */
#ifndef TLS_CERT_H
#define TLS_CERT_H

#include <stddef.h>
#include <time.h>

#include "mxprobe/plugin.h"

/* A name the certificate should carry, and where it came from (for the
 * words): "-H name", "greeting name", "MX name".  A numeric name
 * ("192.0.2.25", "[::1]" not accepted) is held against the IP SANs. */
struct tls_cert_name {
    const char *name;
    const char *role;
};

/* How a DANE match bears on the PKIX findings (dane_check.c decides). */
enum tls_dane_mode {
    TLS_DANE_NONE = 0, /* no TLSA matched: PKIX as ever */
    TLS_DANE_EE,       /* DANE-EE matched: trust, names and dates do not
                          count for DANE senders (RFC 7672 3.1.1) */
    TLS_DANE_TA,       /* DANE-TA matched: trusted through the TA, names and
                          dates still count (RFC 7672 3.2.2, 3.2.3) */
};

struct tls_cert_policy {
    /* 1 (port 587/465, or plugins.tls.strict): trust, name and date
     * problems are CRITICAL.  0 (port 25): at most WARNING, and one note
     * says why: strict_why, or when NULL the default "senders to port 25
     * rarely verify certificates (RFC 7435); plugins.tls.strict: true
     * makes this critical". */
    int strict;
    /* Fewer whole days left than warn_days: WARNING; than crit_days:
     * CRITICAL (WARNING when not strict).  Negative: no such threshold.
     * They are also the perfdata ranges "N:" and "M:". */
    long warn_days;
    long crit_days;
    const char *strict_why;
    /* TLS_DANE_EE: trust, name and date problems become OK notes "for
     * senders without DANE: ...".  TLS_DANE_TA: trust problems do; name
     * and date problems are CRITICAL whatever strict says (DANE senders
     * defer mail on them). */
    enum tls_dane_mode dane;
};

struct tls_cert_facts {
    int have_leaf;        /* 1: the leaf certificate could be parsed */
    int have_days;        /* 1: its dates could be read (days_left set) */
    long days_left;       /* whole days to notAfter, negative once expired */
    int expired;          /* notAfter is past */
    int not_yet_valid;    /* notBefore is ahead */
    int trusted;          /* the chain verified (verify_result X509_V_OK) */
    int self_signed;      /* the leaf is its own issuer */
    int name_match;       /* 1 a given name matches, 0 none does, -1 none
                             given (not checked) */
    enum mxp_state state; /* the worst state of the details added */
    /* For the status line: "certificate valid 81 days", "certificate
     * expired 3 days ago", "certificate not yet valid", "no certificate",
     * "certificate unreadable", "certificate dates unreadable". */
    char summary[96];
};

/* Judges info's chain at time now against names[0..n_names) (NULL and 0:
 * none known, the name is then not checked, an OK note) and pol, adding
 * the details with ctx->svc->add_detail (verdicts first, then subject,
 * names, issuer, validity, fingerprints) and the perfdata "cert_days"
 * (value days_left, min unset).  No certificate (anonymous suites): an
 * OK note and no perfdata.  Every text taken from a certificate is made
 * printable (valid UTF-8, no control or bidi-override characters) and
 * cut to a bound.  out is always filled. */
void tls_cert_judge(struct mxp_ctx *ctx, const struct mxp_tls_info *info,
                    const struct tls_cert_name *names, size_t n_names,
                    const struct tls_cert_policy *pol, time_t now,
                    struct tls_cert_facts *out);

#endif
