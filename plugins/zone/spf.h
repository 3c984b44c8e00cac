/*
 * spf.h - RFC 7208 check_host(): the SPF evaluator of the zone plugin.
 *
 * The evaluator never touches the network itself: it asks its caller one
 * DNS question at a time through spf_lookup_fn, so the zone plugin answers
 * through the core's c-ares batches and the tests answer from memory (the
 * RFC 7208 conformance suite).  Everything it reads is hostile: records
 * are bounded, recursion is bounded by the lookup limits, and out of
 * memory is an error return, never a crash.
 */
#ifndef MXP_ZONE_SPF_H
#define MXP_ZONE_SPF_H

#include <stddef.h>
#include <stdint.h>

#include "mxprobe/plugin.h"

enum spf_result {
    SPF_NONE = 0,
    SPF_NEUTRAL,
    SPF_PASS,
    SPF_FAIL,
    SPF_SOFTFAIL,
    SPF_TEMPERROR,
    SPF_PERMERROR,
};

/* One DNS answer.  result MXP_DNS_TIMEOUT, SERVFAIL, REFUSED, BADRESP and
 * FAILED all mean "the lookup failed" (temperror where RFC 7208 says so).
 * rr holds records of the asked type only; for TXT, text is the record's
 * character strings concatenated.  The provider owns the answer; it must
 * stay valid until spf_check_host() returns. */
struct spf_dns_answer {
    enum mxp_dns_result result;
    const struct mxp_dns_rr *rr;
    size_t n_rr;
    /* Set by a planning lookup: the answer is not known yet.  The
     * evaluator then goes on as though the term did not match (no void
     * lookup counted, an include or redirect target giving neutral), so
     * that one pass meets every question it can ask now; the outcome
     * counts them in pending and means nothing else. */
    int pending;
};

/* Looks up name (no trailing dot) of type MXP_DNS_A, AAAA, MX, TXT or PTR.
 * Returns MXP_OK with *out filled, or an mxp_status that stops the
 * evaluation: MXP_ERR_NOMEM (spf_check_host returns it), MXP_ERR_TIMEOUT
 * when the job's deadline is gone (temperror "deadline reached during the
 * SPF check"), any other when the lookup could not be made at all
 * (temperror): an audit must not reach a verdict on lookups it never
 * made, even where RFC 7208 5.5 skips failed ones. */
typedef int (*spf_lookup_fn)(void *user, const char *name, uint16_t type,
                             struct spf_dns_answer *out);

struct spf_request {
    int family;             /* AF_INET or AF_INET6: <ip> */
    unsigned char addr[16]; /* network order; AF_INET uses 4 bytes */
    const char *domain;     /* <domain>: the first domain checked */
    const char *sender;     /* MAIL FROM ("user@dom", "dom" or "");
                               a bare domain or "" means postmaster@ */
    const char *helo;       /* %{h}; NULL or "" gives "unknown" */
    const char *receiver;   /* %{r}; NULL gives "unknown" */
    spf_lookup_fn lookup;
    void *lookup_user;
    /* Limits; 0 means the RFC 7208 defaults (10 and 2). */
    unsigned max_dns_mechanisms;
    unsigned max_void_lookups;
};

#define SPF_TEXT_MAX 512

struct spf_outcome {
    enum spf_result result;
    /* The term that decided, as written ("ip4:192.0.2.0/24", "-all",
     * "include:_spf.example.net"), or "" when no term matched (default
     * neutral, or an error). */
    char mechanism[SPF_TEXT_MAX];
    /* Why permerror/temperror, in words ("more than 10 DNS-querying
     * terms", "2 SPF records at example.org", "syntax error at 'ip4:1.2'",
     * "TXT lookup of example.org failed: timeout"). */
    char problem[SPF_TEXT_MAX];
    /* fail only: the expanded exp= text, or "" (none or unusable). */
    char explanation[SPF_TEXT_MAX];
    /* The SPF record of the first domain as published ("" if none), and
     * the qualifier of its own "all" mechanism: '+', '-', '~', '?', or 0
     * when it has none (e.g. only redirect=). */
    char record[SPF_TEXT_MAX];
    char top_all;
    unsigned dns_lookups;  /* terms counted against the 10 */
    unsigned void_lookups; /* NXDOMAIN / no-data answers counted */
    /* The deciding term (mechanism above) is an "all" mechanism. */
    int by_all;
    /* The first failed lookup that RFC 7208 5.5 skips over (the PTR
     * lookup of ptr and %{p}, the address lookup of a PTR name), in
     * words, or "": the verdict may change once it answers. */
    char skipped[SPF_TEXT_MAX];
    /* One of those skipped lookups timed out: the verdict rests on a
     * lookup that got no answer at all (not on a SERVFAIL, which is the
     * DNS's answer). */
    int skipped_timeout;
    /* Lookups answered "pending" (a planning pass): when not 0 the
     * outcome is only a plan of what to ask. */
    unsigned pending;
};

/* The result's lowercase RFC name: "pass", "permerror"... */
const char *spf_result_name(enum spf_result r);

/* check_host(<ip>, <domain>, <sender>).  Returns MXP_OK when an outcome
 * was reached (whatever it is), MXP_ERR_NOMEM or MXP_ERR_INVALID (bad
 * request) otherwise. */
int spf_check_host(const struct spf_request *rq, struct spf_outcome *out);

/* Macro expansion (RFC 7208 section 7) of spec for the request, with
 * domain as %{d}; explain != 0 allows the exp-only letters c, r, t.
 * Writes the NUL-terminated result into out; MXP_ERR_INVALID on a
 * syntax error, MXP_ERR_TOO_BIG when it does not fit. */
int spf_expand(const struct spf_request *rq, const char *domain,
               const char *spec, int explain, char *out, size_t outlen);

#endif
