/*
 * lookup.h - the zone plugin's DNS: every question asked once per run,
 * its answer kept, and questions sent together in waves.
 *
 * The checks of a mail domain need few sequential round trips when
 * independent questions go out together: the PTR; then the PTR names'
 * addresses and each candidate domain's MX, TXT, _dmarc... records; then
 * the MX hosts' addresses with the SPF terms' lookups.  Callers "want"
 * questions as soon as they know them, "send" what is wanted as one
 * asynchronous batch (SMTP may run meanwhile), "wait" for every batch in
 * flight, and read answers with zone_dns_get, which asks (in one batch)
 * only what was not answered yet.  Answers live in the job's arena until
 * run() returns.
 */
#ifndef MXP_ZONE_LOOKUP_H
#define MXP_ZONE_LOOKUP_H

#include "zone.h"

#define ZONE_CACHE_MAX 512 /* questions kept; more are asked uncached */

/* Makes R's cache; MXP_OK or MXP_ERR_NOMEM. */
int zone_dns_init(struct zone_run *R);
/* Waits for what is in flight and frees the cache. */
void zone_dns_free(struct zone_run *R);

/* Notes (name, type) for the next zone_dns_send unless it was asked
 * already.  Returns 1 when it is new, 0 when known, -1 when the cache is
 * full (the question then goes uncached through zone_dns_get). */
int zone_dns_want(struct zone_run *R, const char *name, uint16_t type);
/* Sends every wanted question as one batch, without waiting. */
void zone_dns_send(struct zone_run *R);
/* 1 when the answer to (name, type) is there, collecting its batch when
 * that has all its answers (never waits; other batches stay in flight). */
int zone_dns_fetched(struct zone_run *R, const char *name, uint16_t type);
/* Waits for every batch in flight. */
void zone_dns_wait(struct zone_run *R);
/* The answer to (name, type) when it came, else NULL. */
const struct mxp_dns_query *zone_dns_peek(struct zone_run *R, const char *name,
                                          uint16_t type);
/* Like svc->dns_batch, from the cache: the questions not answered yet go
 * out together (with whatever else is wanted) and are waited for.  Fills
 * each q's result, rr, n_rr and elapsed; q's name and type are inputs.
 * Returns MXP_OK or the status of a batch that failed as a whole (its
 * questions are then MXP_DNS_FAILED). */
int zone_dns_get(struct zone_run *R, struct mxp_dns_query *q, size_t n);

/* svc->dns_authenticated of the answer q got from zone_dns_get (from
 * the cache, or asked directly): 1 AD, 0 no AD, -1 no response. */
int zone_dns_authenticated(struct zone_run *R, const struct mxp_dns_query *q);
#endif
