/*
 * dns.h - batched DNS queries on c-ares.
 *
 * A batch sends every query at once and waits for all of them, driven by
 * poll() on c-ares' sockets until each query has an outcome or the
 * deadline passes (then the rest are TIMEOUT).  A batch may also be
 * started and collected later (mxp_dns_start, mxp_dns_collect), with
 * other work in between and several batches in flight on one resolver:
 * waiting for any of them lets all of them progress.  Per-try timeout and tries
 * are set explicitly: c-ares' defaults (5 s x 4) are far too long for a
 * monitoring check.  Servers may carry a port ("127.0.0.10:5353",
 * "[::1]:5353"); with none configured, /etc/resolv.conf is used.
 *
 * A resolver must be created after fork(): c-ares sockets are not shared.
 */
#ifndef MXP_DNS_H
#define MXP_DNS_H

#include <stddef.h>

#include "buf.h"
#include "mxprobe/plugin.h"

struct mxp_dns_config {
    const char *const *servers; /* "ip", "ip:port", "[v6]:port"; may be NULL */
    size_t n_servers;
    int timeout_ms; /* per try; <= 0 means 2000 */
    int tries;      /* <= 0 means 2 */
};

struct mxp_resolver;

/* Call once per process before any resolver (wraps ares_library_init). */
int mxp_dns_global_init(void);
void mxp_dns_global_cleanup(void);

/* Checks one server string; MXP_ERR_CONFIG with a message in err when it
 * is not an IPv4/IPv6 address with an optional port 1..65535. */
int mxp_dns_server_check(const char *server, char *err, size_t errlen);

int mxp_resolver_new(const struct mxp_dns_config *cfg,
                     struct mxp_resolver **out);
void mxp_resolver_free(struct mxp_resolver *r);

/* Runs the batch until every query has an outcome or the absolute
 * monotonic deadline passes.  Answers are allocated in arena.  Returns
 * MXP_OK when the batch ran (look at each query's result), otherwise an
 * error status for the whole batch (e.g. MXP_ERR_NOMEM).  Up to 256
 * queries are sent at once; a bigger batch keeps a window of 256 in
 * flight, so that a burst of answers fits the socket buffer.  elapsed
 * counts from each query's own send (0 for a query never sent). */
int mxp_dns_batch(struct mxp_resolver *r, struct mxp_arena *arena,
                  struct mxp_dns_query *q, size_t n, double deadline);

/* The asynchronous form of mxp_dns_batch: mxp_dns_start sends the
 * queries (up to the window) and returns at once with a handle in *out;
 * q must stay valid and untouched until mxp_dns_collect, which waits
 * until each query has an outcome or the batch's deadline (given at the
 * start) passes, fills q like mxp_dns_batch and frees the handle.  Every
 * started batch is collected once; mxp_resolver_free frees the rest
 * without touching their q.  Answers that come meanwhile wait in the
 * socket buffer (1 MiB asked); mxp_dns_done makes every batch progress
 * without waiting (reads what came, retries what timed out) and returns
 * 1 when b's queries all have an outcome.  start returns MXP_OK, or
 * MXP_ERR_NOMEM / MXP_ERR_INVALID with *out NULL and nothing sent. */
struct mxp_dns_batch;
int mxp_dns_start(struct mxp_resolver *r, struct mxp_arena *arena,
                  struct mxp_dns_query *q, size_t n, double deadline,
                  struct mxp_dns_batch **out);
int mxp_dns_done(struct mxp_resolver *r, struct mxp_dns_batch *b);
/* Waits until something happens on the resolver (an answer, a try that
 * timed out, c-ares' next timer) or deadline passes, and lets every
 * batch progress: for a caller that waits on many batches at once and
 * then asks mxp_dns_done of each.  MXP_OK or MXP_ERR_IO/NOMEM. */
int mxp_dns_wait(struct mxp_resolver *r, double deadline);
int mxp_dns_collect(struct mxp_resolver *r, struct mxp_dns_batch *b);
/* Moves b's deadline to deadline when that is later.  c-ares only notices
 * a try that timed out when it is driven: a batch collected after a long
 * wait elsewhere gets one more try's time, so that a lost packet is
 * asked again rather than reported as a timeout. */
void mxp_dns_extend(struct mxp_dns_batch *b, double deadline);

/* svc->dns_authenticated: whether the response that gave q its outcome
 * in a batch collected on r (mxp_dns_batch or mxp_dns_collect) had the
 * AD bit set.  Every query goes out with AD set and without DO (RFC 6840
 * 5.7: a validating resolver then reports AD; no RRSIGs come back) and
 * without EDNS, as before.  1 AD (answer, NXDOMAIN or NODATA alike); 0 a
 * response without AD; -1 no response (timeout, nothing sent) or q not
 * part of any collected batch (or not yet collected).  q is looked up
 * by address among the q arrays of collected batches, newest first:
 * a query asked again reports its latest answer.  The record lives as
 * long as r (the job's run).  AD is only as good as the path to the
 * resolver: see README "DNSSEC". */
int mxp_dns_authenticated(const struct mxp_resolver *r,
                          const struct mxp_dns_query *q);

/* Parses one raw DNS response for records of q->type (q->name is not
 * looked at) into q->result, q->rr and q->n_rr, from arena memory.  Only
 * IN-class answer records of the queried type are kept (at most 256);
 * every record is checked and anything malformed gives MXP_DNS_BADRESP.
 * NOERROR without a record of the type is MXP_DNS_NODATA.  Besides the
 * types plugin.h describes, SOA gives the MNAME as text, and any other
 * type its raw RDATA as text/text_len.  Returns MXP_OK or MXP_ERR_NOMEM.
 * mxp_dns_batch() uses it; it is public for tests and fuzzing. */
int mxp_dns_parse_answer(const unsigned char *abuf, size_t alen,
                         struct mxp_arena *arena, struct mxp_dns_query *q);

/* "NXDOMAIN", "timeout"...: the words for a result. */
const char *mxp_dns_result_name(enum mxp_dns_result res);
/* svc->dns_has_addr: q answered with an A/AAAA record holding addr. */
int mxp_dns_has_addr(const struct mxp_dns_query *q, int family,
                     const unsigned char *addr);

/* Reverse-lookup names: "25.2.0.192.in-addr.arpa" or the 32 nibbles of
 * ip6.arpa.  With suffix (e.g. a DNSBL zone) the suffix replaces
 * in-addr.arpa/ip6.arpa.  Returns bytes written (excluding NUL) or 0 when
 * it does not fit. */
size_t mxp_dns_reverse_name(int family, const unsigned char *addr,
                            const char *suffix, char *out, size_t outlen);

#endif
