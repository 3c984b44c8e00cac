/*
 * policy.h - what a mail domain's published policies say about the
 * addresses judged: the SPF verdict (spf.c's check_host() over the core's
 * DNS; spf_verdict.c, spf_others.c), DMARC (dmarc.c's parser, with the
 * organizational-domain fallback; policy.c), MTA-STS and TLS-RPT
 * (sts_judge.c).
 */
#ifndef MXP_ZONE_POLICY_H
#define MXP_ZONE_POLICY_H

#include "spf.h"
#include "zone.h"

/* Reads plugins.zone (dmarc_none: warning|ok) into *out, defaults
 * first; MXP_ERR_CONFIG after a config_error at the bad node. */
int zone_settings_load(struct mxp_ctx *ctx, struct zone_settings *out);

/* check_host(<address>, d, postmaster@d) for every address judged;
 * reports each verdict, the record and what it says about other senders,
 * sets d->spf (the first verdict), d->spf_judged, d->spf_mixed,
 * d->spf_lookups, d->spf_void (the most over the addresses and the
 * other senders). */
void zone_spf_check(struct zone_run *R, struct zone_domain *d);

/* dq: the TXT answer for _dmarc.<d> (asked in the caller's batch). */
void zone_dmarc_check(struct zone_run *R, struct zone_domain *d,
                      const struct mxp_dns_query *dq);

/* sts_judge.c: MTA-STS (the policy fetched and held against the MX
 * hosts) and TLS-RPT; sts, rpt: TXT answers for _mta-sts.<d> and
 * _smtp._tls.<d>. */
void zone_sts_check(struct zone_run *R, struct zone_domain *d,
                    const struct mxp_dns_query *sts,
                    const struct mxp_dns_query *rpt);

/* The check_host() request zone_spf_check makes for d and address a
 * (one of zone_addr's; postmaster@d as sender into sender[len], the
 * greeting as HELO), without its lookup function. */
void zone_spf_request(const struct zone_run *R, const struct zone_domain *d,
                      const struct mxp_target *a, struct spf_request *rq,
                      char *sender, size_t len);
/* The k-th documentation address of family outside the networks (/24,
 * /48) of the addresses judged into rq, standing for "any other sender";
 * 0 when there is none. */
int zone_spf_other(const struct zone_run *R, int family, size_t k,
                   struct spf_request *rq, char *shown, size_t len);

/* What the verdicts of the addresses judged said, so that the other
 * senders' finding does not say it again. */
struct spf_said {
    int permerror, temperror;
    int neutral[2]; /* a neutral verdict, [1]: by an all mechanism */
};
/* spf_others.c: check_host() for documentation addresses with
 * target_rq's domain, sender and HELO; reports the worst thing the policy
 * says about other senders, raises d->spf_lookups and d->spf_void. */
void zone_spf_others(struct zone_run *R, struct zone_domain *d,
                     const struct spf_request *target_rq,
                     const struct spf_said *said);

/* The deciding term for the wording, "no term matched" when none. */
const char *zone_spf_term(const struct spf_outcome *o);
/* A fail (or softfail, neutral) that a skipped lookup which got no
 * answer at all could have turned: RFC 7208 5.5 lets receivers decide
 * so, but it is no verdict an operator should be paged for; it is
 * reported as UNKNOWN, not as the result it is. */
int zone_spf_rests_on_timeout(const struct spf_outcome *o);

#endif
