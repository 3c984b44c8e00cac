/*
 * policy.h - what a mail domain's published policies say about the
 * target: the SPF verdict (spf.c's check_host() over the core's DNS),
 * DMARC (dmarc.c's parser, with the organizational-domain fallback),
 * and whether MTA-STS and TLS-RPT records exist.
 */
#ifndef MXP_ZONE_POLICY_H
#define MXP_ZONE_POLICY_H

#include "spf.h"
#include "zone.h"

/* Reads plugins.zone (dmarc_none: warning|ok) into *out, defaults
 * first; MXP_ERR_CONFIG after a config_error at the bad node. */
int zone_settings_load(struct mxp_ctx *ctx, struct zone_settings *out);

/* check_host(<target address>, d, postmaster@d); reports the verdict and
 * the policy's all, sets d->spf, d->spf_lookups, d->spf_void. */
void zone_spf_check(struct zone_run *R, struct zone_domain *d);

/* dq: the TXT answer for _dmarc.<d> (asked in the caller's batch). */
void zone_dmarc_check(struct zone_run *R, struct zone_domain *d,
                      const struct mxp_dns_query *dq);

/* sts, rpt: TXT answers for _mta-sts.<d> and _smtp._tls.<d>. */
void zone_sts_check(struct zone_run *R, struct zone_domain *d,
                    const struct mxp_dns_query *sts,
                    const struct mxp_dns_query *rpt);

/* The check_host() request zone_spf_check makes for d (the target's
 * address, postmaster@d as sender into sender[len], the greeting as
 * HELO), without its lookup function. */
void zone_spf_request(const struct zone_run *R, const struct zone_domain *d,
                      struct spf_request *rq, char *sender, size_t len);
/* The k-th documentation address of family outside the target's own
 * network (/24, /48) into rq, standing for "any other sender"; 0 when
 * there is none. */
int zone_spf_other(const struct zone_run *R, int family, size_t k,
                   struct spf_request *rq, char *shown, size_t len);

#endif
