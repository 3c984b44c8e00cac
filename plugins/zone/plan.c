/*
 * plan.c - the SPF lookups of the zone check, found ahead of the verdict.
 *
 * spf.c asks one question at a time, each depending on the last answer
 * only where the record says so.  A planning pass runs the very
 * check_host() calls zone_spf_check will make (the target, and the
 * documentation addresses standing for other senders) over the answers
 * at hand; a question without an answer yet is wanted (lookup.h) and
 * answered "pending", which the evaluator takes as no match and goes on.
 * So one pass wants every question the records allow now: all terms of a
 * record at once, each include/redirect level one wave later.  The
 * addresses of a run over a whole domain share the waves: the cache asks
 * each question once, whichever address's check meets it first.  The
 * verdicts themselves come afterwards, from the full answers.
 */
#include <string.h>
#include <sys/socket.h>

#include "lookup.h"
#include "policy.h"
#include "spf.h"

struct plan {
    struct zone_run *R;
    size_t wanted;
};

static int plan_lookup(void *user, const char *name, uint16_t type,
                       struct spf_dns_answer *out)
{
    struct plan *P = user;
    const struct mxp_dns_query *q = zone_dns_peek(P->R, name, type);
    int w;

    memset(out, 0, sizeof *out);
    if (q != NULL) {
        out->result = q->result;
        out->rr = q->result == MXP_DNS_ANSWER ? q->rr : NULL;
        out->n_rr = q->result == MXP_DNS_ANSWER ? q->n_rr : 0;
        return MXP_OK;
    }
    w = zone_dns_want(P->R, name, type);
    if (w < 0)
        return MXP_ERR_TOO_BIG; /* no room: this pass stops, the check asks */
    P->wanted += (size_t)w;
    out->pending = 1;
    return MXP_OK;
}

/* One check_host() over the answers at hand. */
static void plan_one(struct plan *P, const struct spf_request *rq)
{
    struct spf_outcome o;

    (void)P;
    (void)spf_check_host(rq, &o); /* only its questions count */
}

size_t zone_spf_plan(struct zone_run *R)
{
    struct plan P = {R, 0};

    for (size_t i = 0; i < R->n_dom; i++) {
        struct zone_domain *d = &R->dom[i];
        const struct mxp_dns_query *mx = zone_dns_peek(R, d->name, MXP_DNS_MX);
        struct spf_request rq, other;
        char sender[ZONE_NAME_LEN + 16], ip[48];
        int fam[2];

        /* the domains check_domain will drop or cannot check */
        if (d->dropped || d->name[0] == '\0' ||
            (mx != NULL && mx->result == MXP_DNS_NXDOMAIN && !d->configured))
            continue;
        for (size_t a = 0; a < zone_n_addrs(R); a++) {
            zone_spf_request(R, d, zone_addr(R, a), &rq, sender, sizeof sender);
            rq.lookup = plan_lookup;
            rq.lookup_user = &P;
            plan_one(&P, &rq);
        }
        /* the other senders zone_spf_check may ask about (spf_others):
         * two documentation addresses of each family, in a request like
         * the last address's but for the address */
        fam[0] = R->t->family;
        fam[1] = fam[0] == AF_INET ? AF_INET6 : AF_INET;
        for (int f = 0; f < 2; f++)
            for (size_t k = 0; k < 2; k++) {
                other = rq;
                if (zone_spf_other(R, fam[f], k, &other, ip, sizeof ip))
                    plan_one(&P, &other);
            }
    }
    return P.wanted;
}
