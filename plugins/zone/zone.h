/*
 * zone.h - what the files of the zone plugin share: one run's state and
 * the finding sink.
 *
 * zone.c is the glue (descriptor, run(), the order of the DNS waves,
 * summary, perfdata); lookup.c holds the DNS answers and sends the waves;
 * domain.c guesses the mail domain; mx.c judges the MX records;
 * spf_verdict.c the SPF verdict of each address judged, spf_others.c what
 * SPF says about everybody else; policy.c DMARC; sts_judge.c MTA-STS
 * and TLS-RPT (sts_cache.c the policies senders remember);
 * plan.c finds the SPF lookups ahead of the verdict; dmarc.c parses DMARC
 * records.
 *
 * The addresses judged (zone_addr): the target's, and in a run over a
 * whole mail domain (ABI 1.4) the domain's other MX addresses, its peers.
 * The domain's records are looked at once; what depends on the address
 * (the SPF verdict, MX membership) is said for each.
 */
#ifndef MXP_ZONE_H
#define MXP_ZONE_H

#include <stddef.h>

#include "mxprobe/plugin.h"

#define ZONE_NAME_LEN 256  /* a DNS name (253) plus room */
#define ZONE_TEXT_LEN 640  /* one finding */
#define ZONE_MAX_PTR 4     /* PTR names we look at */
#define ZONE_MAX_DOMAINS 2 /* PTR and banner may point at two domains */

/* One mail domain under test, and what the checks found for the OK
 * summary and the perfdata. */
struct zone_domain {
    char name[ZONE_NAME_LEN];       /* lowercase, no trailing dot */
    char source[ZONE_TEXT_LEN];     /* "configured", "from PTR x, ..." */
    size_t n_mx;                    /* MX records (a Null MX counts 0) */
    const char *spf;                /* result name, "none"; NULL: not run */
    char dmarc_p[16];               /* "reject"...; "" when none */
    unsigned spf_lookups, spf_void; /* max of targets and other senders */
    int spf_broken;                 /* a permerror was reported */
    size_t spf_judged;              /* addresses with an SPF verdict */
    int spf_mixed;                  /* their verdicts are not all spf's */
    int configured;                 /* given with -D, not guessed */
    const char *first_what;         /* "PTR", "greeting", "EHLO" */
    size_t more_ptr;                /* PTR names beyond the first */
    int dropped;                    /* guessed, NXDOMAIN: not checked */
};

/* plugins.zone settings, read by init() (policy.c's zone_settings_load). */
struct zone_settings {
    /* dmarc_none: ok: p=none and pct below 100 are OK (domains rolling
     * DMARC out); 0, the default: they warn. */
    int dmarc_none_ok;
    /* MTA-STS (sts_judge.c): the PEM file of CAs trusted for the policy
     * server ("": the system store), and the policy cache directory
     * ("": none). */
    char ca_file[4096];
    char sts_cache[4096];
};

/* What one run found; lives on the heap for run()'s duration. */
struct zone_run {
    struct mxp_ctx *ctx;
    const struct mxp_services *svc;
    const struct mxp_target *t;
    const struct zone_settings *set;       /* NULL: the defaults */
    char ptr[ZONE_MAX_PTR][ZONE_NAME_LEN]; /* printable PTR names */
    size_t n_ptr;
    char greeting[ZONE_NAME_LEN]; /* host name of the greeting, or "" */
    char ehlo[ZONE_NAME_LEN];     /* host name of the EHLO reply, or "" */
    struct zone_domain dom[ZONE_MAX_DOMAINS];
    size_t n_dom;
    /* PTR names whose domain was taken for the access provider's (and
     * not audited) because the banner names another one */
    size_t n_ptr_skipped;
    struct zone_cache *dns; /* lookup.c */
    /* domain.c's session, kept open (QUIT unsent) so that its QUIT round
     * trip overlaps the next DNS wave; NULL when none. */
    struct mxp_smtp *smtp;
};

/* The addresses judged: 1 + the target's peers; the i-th of them, the
 * target itself first. */
size_t zone_n_addrs(const struct zone_run *R);
const struct mxp_target *zone_addr(const struct zone_run *R, size_t i);

/* One long-output line; the non-OK ones make the summary (the core's
 * set_result_from_details). */
void zone_finding(struct zone_run *R, enum mxp_state st, const char *fmt, ...)
    MXP_PRINTF(3, 4);

/* DNS names compare without regard to case, a trailing dot ignored. */
int zone_names_equal(const char *a, const char *b);

/* name lowercased, without a trailing dot, non-printable bytes as '?',
 * into out; 0 when it does not fit or is empty. */
int zone_name_copy(const char *name, char *out, size_t len);

/* len bytes of network text, control and non-ASCII bytes as '?', into
 * out (cut at len - 4 with "..."). */
void zone_printable(const char *text, size_t n, char *out, size_t len);

/* 1 when name is a host name (the core's is_host_name) whose last label
 * is not all digits (RFC 7208 4.3's toplabel, RFC 3696 2): "10.0.0.232"
 * and "0.232" are addresses or their pieces, not domains. */
int zone_host_name_ok(const struct mxp_services *svc, const char *name);

/* A definite answer about a name: records, or that it has none. */
int zone_dns_definite(enum mxp_dns_result res);

/* domain.c: fills R->dom from the configured domain, or from the PTR,
 * greeting and EHLO names (looking them up); reports how.  The domains'
 * own records are asked along the way (zone_domain_want), and the SMTP
 * session is left in R->smtp. */
void zone_guess_domains(struct zone_run *R);

/* zone.c: wants (lookup.h) the records of a candidate mail domain: MX,
 * A, AAAA, TXT (SPF), _dmarc (and the organizational domain's),
 * _mta-sts and _smtp._tls. */
void zone_domain_want(struct zone_run *R, const char *domain);

/* plan.c: one planning pass of the SPF checks zone_spf_check will make
 * for every live domain, over the answers at hand: wants what they would
 * ask next.  Returns how many new questions it wanted (0: the checks have
 * every answer they can use, or they are past planning). */
size_t zone_spf_plan(struct zone_run *R);

#endif
