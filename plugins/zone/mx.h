/*
 * mx.h - the zone plugin's MX analysis of one mail domain.
 *
 * Judges the MX records of a domain (Null MX per RFC 7505, MX hosts that
 * are CNAMEs or IP literals, hosts without addresses, implicit MX) and
 * says whether the target is one of the MX hosts.
 */
#ifndef MXP_ZONE_MX_H
#define MXP_ZONE_MX_H

#include "zone.h"

#define ZONE_MAX_MX 16 /* MX hosts looked at; more is abuse */

/* mx, a and aaaa are the domain's own MX, A and AAAA answers (asked in
 * the caller's batch).  Looks up the MX hosts in one more batch, reports
 * findings and sets d->n_mx. */
void zone_mx_check(struct zone_run *R, struct zone_domain *d,
                   const struct mxp_dns_query *mx,
                   const struct mxp_dns_query *a,
                   const struct mxp_dns_query *aaaa);

/* Wants (lookup.h) A, AAAA and CNAME of the hosts zone_mx_check will
 * look at, so that they go out with the next wave. */
void zone_mx_want(struct zone_run *R, const struct mxp_dns_query *mx);

#endif
