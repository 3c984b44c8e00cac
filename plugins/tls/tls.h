/*
 * tls.h - what the files of the tls check share.
 *
 * probes.c talks to the server: one connection per question (the main
 * STARTTLS session, each legacy protocol, each weak cipher class, the DH
 * group, the command injection test), all at once; hello.c sends the bare
 * ClientHellos and reads their answers, inject.c runs the injection
 * test's end (probes.h is what these three share).  suites.c knows the
 * cipher suites of each class.  verdict.c judges what the probes found,
 * cert.c the certificate, names.c gathers the names the certificate must
 * carry, dane_check.c asks and judges the TLSA records (DANE), tls.c is
 * the plugin (config, run, summary).
 */
#ifndef MXP_TLS_PLUGIN_H
#define MXP_TLS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <mxprobe/plugin.h>

#include "cert.h" /* enum tls_dane_mode */

#define TLS_TEXT 320           /* a reply or an error as shown */
#define TLS_MAX_CONNECTIONS 16 /* plugins.tls.connections at most */
#define TLS_MAX_NAMES 12       /* names the certificate is held against */
#define TLS_NAME_LEN 256

struct tls_config {
    int implicit;  /* -1: by the port (465), else plugins.tls.implicit */
    int strict;    /* plugins.tls.strict */
    char *ca_file; /* NULL: the system store */
    long cert_warning, cert_critical; /* days */
    long connections;                 /* at once */
    int dane;                         /* plugins.tls.dane: TLSA checked */
};

/* The questions, each asked on a connection of its own. */
enum tls_probe {
    TP_MAIN,   /* the session a sender gets: STARTTLS, handshake, EHLO */
    TP_INJECT, /* STARTTLS and NOOP in one write (CVE-2011-0411) */
    TP_SSL3,   /* raw ClientHellos: what this OpenSSL cannot speak */
    TP_RC4,
    TP_3DES,
    TP_EXPORT,
    TP_NULL,
    TP_ANON,
    TP_TLS10, /* OpenSSL handshakes of one protocol each */
    TP_TLS11,
    TP_TLS12,
    TP_DHE, /* DHE suites only: the server's DH group */
    TP_COUNT
};

enum tls_outcome {
    TO_NOT_RUN = 0, /* not asked (no STARTTLS, implicit TLS, no time) */
    TO_ACCEPTED,
    TO_REFUSED,
    TO_UNKNOWN, /* asked, but the answer tells nothing */
    TO_FAILED,  /* the handshake failed: a refusal when the server speaks
                   TLS otherwise or said so (verdict.c decides) */
};

struct tls_probe_result {
    enum tls_outcome outcome;
    char words[TLS_TEXT]; /* why refused or unknown, in words */
    int version;          /* accepted: the protocol */
    uint16_t cipher;      /* accepted: the suite */
    char cipher_name[64];
    char kx[32]; /* TP_DHE, TP_MAIN: the server's temporary key */
    int kx_bits;
};

/* The injection test's finding. */
enum tls_inject {
    TI_NOT_RUN = 0,
    TI_VULNERABLE, /* answered the smuggled NOOP inside TLS */
    TI_SAFE,       /* handshake done, nothing smuggled came back */
    TI_CLEAR,      /* answered the NOOP in clear, before TLS */
    TI_REFUSED,    /* refused the pipelined STARTTLS */
    TI_FAILED,     /* the handshake behind it failed (verdict.c reads it) */
    TI_UNKNOWN,
};

/* What the probes found. */
struct tls_survey {
    int implicit;        /* implicit TLS (465) rather than STARTTLS */
    int submission;      /* port 587 or implicit TLS: clients verify */
    int connected;       /* the main connection was made */
    char fail[TLS_TEXT]; /* the main session failed before TLS: why */
    int greet_code;
    char greeting[TLS_TEXT];
    char greet_name[TLS_NAME_LEN]; /* first word of the greeting */
    int ehlo_code;                 /* 0: no EHLO reply */
    int starttls_offered;
    char auth_clear[64]; /* "PLAIN LOGIN" offered before STARTTLS */
    int starttls_code;   /* 0: STARTTLS not sent */
    char starttls_reply[TLS_TEXT];
    int handshake_rc; /* MXP_OK when the main handshake worked */
    char handshake_error[TLS_TEXT];
    const struct mxp_tls_info *info; /* main's facts (its session open) */
    char after_ext[TLS_TEXT];        /* EHLO keywords offered after TLS */
    char after_fail[TLS_TEXT];       /* the session broke after TLS: why */
    struct tls_probe_result r[TP_COUNT];
    enum tls_inject inject;
    char inject_words[TLS_TEXT];
    double elapsed; /* seconds the probes took */
};

/* names.c: the names the certificate is held against: the -H name,
 * the greeting's name, and the names of the domain's MX hosts that
 * point at the target (-D), asked while the probes run. */
#define TLS_MX_NAMES 8 /* MX hosts kept */
struct tls_names {
    struct mxp_dns_query mx;
    struct mxp_dns_batch *b_mx, *b_addr;
    struct mxp_dns_query addr[TLS_MX_NAMES];
    size_t n_addr;
    char mx_names[TLS_MX_NAMES][TLS_NAME_LEN];
    size_t n_mx;
};
/* dane_check.c: the TLSA records (RFC 7672) of the names senders reach
 * the target by, asked while the probes run.  Every MX name kept is
 * judged: a DANE sender may pick any one, and one left out could hide a
 * mismatch that defers its mail. */
#define TLS_DANE_NAMES TLS_MX_NAMES         /* base names judged at most */
#define TLS_DANE_ASKED (TLS_DANE_NAMES + 1) /* and -H's name */
struct tls_dane_name {
    char base[TLS_NAME_LEN];       /* the TLSA base domain (an MX name) */
    char qname[TLS_NAME_LEN + 16]; /* _25._tcp.<base> */
    struct mxp_dns_query q[2];     /* TLSA, and base's address record */
    struct mxp_dns_batch *b;
};
struct tls_dane {
    int on;       /* plugins.tls.dane and a core with DNSSEC (1.5) */
    int mx_asked; /* the MX names are asked */
    struct tls_dane_name n[TLS_DANE_ASKED];
    size_t n_names;
};

/* A probe run: the survey, and the main session kept open so that its
 * tls_info (the certificate chain) stays valid while it is judged. */
struct tls_run {
    struct mxp_ctx *ctx;
    const struct mxp_services *svc;
    const struct tls_config *cfg;
    struct tls_survey sv;
    struct mxp_smtp *main_session;
    int main_quit;           /* its QUIT went out already */
    struct tls_names *names; /* polled while the probes run, or NULL */
    struct tls_dane *dane;   /* polled likewise, or NULL */
};

/* probes.c: asks every question; sv of r filled.  tls_run_end closes
 * what is still open. */
void tls_probe_all(struct tls_run *r);
void tls_run_end(struct tls_run *r);

/* suites.c: the cipher suites a raw ClientHello offers for probe p (the
 * raw ones), and the name of a suite of any class ("" when unknown). */
size_t tls_suites_of(enum tls_probe p, const uint16_t **list);
const char *tls_suite_name(uint16_t id);
/* "TLSv1.0" for 0x0301, "SSLv3", "TLSv1.3"; "version 0x...." else. */
const char *tls_version_name(int version, char *buf, size_t len);

/* tls.c: an IPv4 or IPv6 address (which is_host_name takes too). */
int tls_is_address(const char *s);

void tls_names_start(struct mxp_ctx *ctx, struct tls_names *n);
/* Moves the lookups on without waiting (the addresses are asked as soon
 * as the MX answer is in). */
void tls_names_poll(struct mxp_ctx *ctx, struct tls_names *n);
/* Waits for the answers: mx_names[0..n_mx) are then the MX hosts of the
 * domain that have the target's address. */
void tls_names_finish(struct mxp_ctx *ctx, struct tls_names *n);

/* Asks TLSA for -H's name at once; tls_dane_poll asks it for the MX
 * names once names has them; tls_dane_finish waits for every answer. */
void tls_dane_start(struct mxp_ctx *ctx, const struct tls_config *cfg,
                    struct tls_dane *d);
void tls_dane_poll(struct mxp_ctx *ctx, struct tls_dane *d,
                   const struct tls_names *names);
void tls_dane_finish(struct mxp_ctx *ctx, struct tls_dane *d,
                     const struct tls_names *names);
/* Judges the TLSA records of the base names (the MX names that point at
 * the target, else -H's name) against info's chain (NULL: no TLS),
 * adding the details.  Returns how the PKIX findings are to be read; for
 * TLS_DANE_TA the names the leaf must carry go into ta_names (at most
 * cap, *n_ta set). */
enum tls_dane_mode tls_dane_judge(struct mxp_ctx *ctx, struct tls_dane *d,
                                  const struct tls_names *names,
                                  const struct mxp_tls_info *info,
                                  const char **ta_names, size_t cap,
                                  size_t *n_ta);

/* verdict.c: the details of everything but the certificate; 1 when the
 * main session got TLS (its certificate is then to be judged). */
int tls_judge(struct mxp_ctx *ctx, const struct tls_survey *sv);

#endif
