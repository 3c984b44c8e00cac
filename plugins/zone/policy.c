/*
 * policy.c - the zone plugin's settings and DMARC (the SPF verdict is
 * spf_verdict.c's, MTA-STS and TLS-RPT sts_judge.c's).
 *
 * DMARC: the record at _dmarc.<domain>, else at the organizational
 * domain, whose sp= then applies (RFC 7489 6.3, 6.6.3).  A policy that
 * lets failing mail through (p=none, or pct below 100) warns unless
 * plugins.zone.dmarc_none is ok.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "lookup.h"
#include "policy.h"

/* ---- settings -------------------------------------------------------- */

int zone_settings_load(struct mxp_ctx *ctx, struct zone_settings *out)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *cfg = svc->config(ctx);
    const struct mxp_node *n =
        cfg != NULL ? svc->node_get(cfg, "dmarc_none") : NULL;
    const char *v = svc->node_str(n);

    memset(out, 0, sizeof *out);
    if (svc->node_unset(n))
        return MXP_OK;
    if (svc->node_kind(n) == MXP_NODE_SCALAR && v != NULL &&
        (strcmp(v, "ok") == 0 || strcmp(v, "warning") == 0)) {
        out->dmarc_none_ok = strcmp(v, "ok") == 0;
        return MXP_OK;
    }
    svc->config_error(ctx, n, "dmarc_none: '%s' is not warning or ok",
                      svc->node_kind(n) == MXP_NODE_SCALAR && v ? v : "");
    return MXP_ERR_CONFIG;
}

/* ---- DMARC ----------------------------------------------------------- */

/* The DMARC records among the TXT answers: count, and the first. */
static size_t dmarc_records(const struct mxp_dns_query *q, size_t *first,
                            char *near, size_t nlen)
{
    size_t n = 0;

    near[0] = '\0';
    if (q->result != MXP_DNS_ANSWER)
        return 0;
    for (size_t i = 0; i < q->n_rr; i++) {
        const char *t = q->rr[i].text != NULL ? q->rr[i].text : "";

        if (dmarc_is_record(t, q->rr[i].text_len)) {
            if (n++ == 0)
                *first = i;
        } else if (near[0] == '\0') {
            dmarc_near_miss(t, q->rr[i].text_len, near, nlen);
        }
    }
    return n;
}

/* The tags of r in words ("p=reject, sp=none, pct=50"), leaving out
 * skip ("sp" when it is the one said to apply). */
static void dmarc_tags(const struct dmarc_record *r, const char *skip,
                       char *text, size_t len)
{
    size_t off = 0;
    int w;

    text[0] = '\0';
#define TAG(...)                                                               \
    do {                                                                       \
        w = snprintf(text + off, len - off, __VA_ARGS__);                      \
        if (w < 0 || (size_t)w >= len - off)                                   \
            return;                                                            \
        off += (size_t)w;                                                      \
    } while (0)
    if (strcmp(skip, "p") != 0)
        TAG("p=%s", dmarc_policy_name(r->p));
    if (r->sp != DMARC_P_UNSET && strcmp(skip, "sp") != 0)
        TAG("%ssp=%s", off ? ", " : "", dmarc_policy_name(r->sp));
    if (r->pct != 100)
        TAG("%spct=%d", off ? ", " : "", r->pct);
    if (r->adkim == 's')
        TAG("%sadkim=s", off ? ", " : "");
    if (r->aspf == 's')
        TAG("%saspf=s", off ? ", " : "");
#undef TAG
}

/* What the policy in force does to mail failing DMARC: with p=none
 * (sp=none for a subdomain), pct=0 on quarantine, or any pct below 100,
 * some spoofed mail is delivered as usual or only quarantined, which
 * MxToolbox and internet.nl flag; a domain rolling DMARC out sets
 * plugins.zone.dmarc_none: ok.  One finding: the weakest thing said.  A
 * p=none implied by a broken record already warned with the record. */
static void dmarc_judge(struct zone_run *R, const struct zone_domain *d,
                        const struct dmarc_record *r, const char *tag,
                        enum dmarc_policy eff, enum dmarc_policy stepped)
{
    enum mxp_state weak = R->set != NULL && R->set->dmarc_none_ok
                              ? MXP_STATE_OK
                              : MXP_STATE_WARNING;

    if (stepped != eff)
        zone_finding(R, stepped == DMARC_P_NONE ? MXP_STATE_OK : weak,
                     "DMARC of %s: %s=%s with pct=0 acts as %s (RFC 7489 "
                     "6.6.4)",
                     d->name, tag, dmarc_policy_name(eff),
                     dmarc_policy_name(stepped));
    if (eff == DMARC_P_NONE)
        zone_finding(R, r->p_implied ? MXP_STATE_OK : weak,
                     "DMARC policy of %s is %s=none (monitoring only): mail "
                     "failing DMARC is delivered as usual",
                     d->name, tag);
    else if (stepped == DMARC_P_NONE)
        zone_finding(R, weak,
                     "DMARC policy of %s acts as none (monitoring only): mail "
                     "failing DMARC is delivered as usual",
                     d->name);
    else if (r->pct > 0 && r->pct < 100)
        zone_finding(R, weak,
                     "DMARC of %s: %s=%s applies to %d%% of the mail failing "
                     "DMARC (pct=%d), the rest gets %s",
                     d->name, tag, dmarc_policy_name(eff), r->pct, r->pct,
                     eff == DMARC_P_REJECT ? "quarantine" : "none");
}

/* at_org: the record is the organizational domain's, found for d as its
 * subdomain: then sp= applies, else p= (RFC 7489 6.3, 6.6.3). */
static void dmarc_report(struct zone_run *R, struct zone_domain *d,
                         const char *where, const struct mxp_dns_rr *rr,
                         int at_org)
{
    struct dmarc_record *r = calloc(1, sizeof *r);
    char text[ZONE_TEXT_LEN];
    size_t off = 0;

    if (r == NULL) {
        zone_finding(R, MXP_STATE_UNKNOWN, "DMARC check of %s: out of memory",
                     d->name);
        return;
    }
    dmarc_parse(rr->text, rr->text_len, r);
    text[0] = '\0';
    for (size_t i = 0; i < r->n_problems && off + 1 < sizeof text; i++) {
        int w = snprintf(text + off, sizeof text - off, "%s%s", i ? "; " : "",
                         r->problems[i]);

        if (w < 0 || (size_t)w >= sizeof text - off)
            break;
        off += (size_t)w;
    }
    if (r->n_problems > 0)
        zone_finding(R, MXP_STATE_WARNING, "DMARC record of %s: %s", d->name,
                     text);
    if (r->usable) {
        int by_sp = at_org && r->sp != DMARC_P_UNSET;
        enum dmarc_policy eff = by_sp ? r->sp : r->p, stepped = eff;
        const char *tag = by_sp ? "sp" : "p";

        /* RFC 7489 6.6.4: with pct=0 no message gets the policy, all get
         * the next lower one */
        if (r->pct == 0 && eff == DMARC_P_REJECT)
            stepped = DMARC_P_QUARANTINE;
        else if (r->pct == 0 && eff == DMARC_P_QUARANTINE)
            stepped = DMARC_P_NONE;
        snprintf(d->dmarc_p, sizeof d->dmarc_p, "%s",
                 dmarc_policy_name(stepped));
        if (!at_org) {
            dmarc_tags(r, "", text, sizeof text);
            R->svc->add_detail(R->ctx, MXP_STATE_OK, "DMARC of %s: %s (at %s)",
                               d->name, text, where);
        } else {
            dmarc_tags(r, tag, text, sizeof text);
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "DMARC of %s: %s=%s applies (%s%sat %s)",
                               d->name, tag, dmarc_policy_name(eff), text,
                               text[0] != '\0' ? " " : "", where);
        }
        dmarc_judge(R, d, r, tag, eff, stepped);
    }
    if (r->rua[0] != '\0' || r->ruf[0] != '\0')
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "DMARC reports of %s: rua=%s; ruf=%s", d->name,
                           r->rua[0] != '\0' ? r->rua : "(none)",
                           r->ruf[0] != '\0' ? r->ruf : "(none)");
    free(r);
}

/* Looks at one _dmarc TXT answer (at_org: of the organizational domain).
 * Returns 1 when policy discovery ends there (a record, several, or a
 * failure), 0 when the next place is to be tried; *near_said is set when
 * a near-miss was reported. */
static int dmarc_at(struct zone_run *R, struct zone_domain *d,
                    const char *where, const struct mxp_dns_query *q,
                    int at_org, int *near_said)
{
    char near[DMARC_PROBLEM_LEN];
    size_t first = 0, n;

    if (!zone_dns_definite(q->result)) {
        if (at_org)
            zone_finding(R, MXP_STATE_UNKNOWN,
                         "DMARC lookup of %s failed: %s (at %s)", d->name,
                         R->svc->dns_result_name(q->result), where);
        else
            zone_finding(R, MXP_STATE_UNKNOWN, "DMARC lookup of %s failed: %s",
                         d->name, R->svc->dns_result_name(q->result));
        return 1;
    }
    n = dmarc_records(q, &first, near, sizeof near);
    if (n == 0) {
        if (near[0] != '\0') {
            zone_finding(R, MXP_STATE_WARNING, "DMARC record of %s: %s (at %s)",
                         d->name, near, where);
            *near_said = 1;
        }
        return 0;
    }
    if (n > 1) {
        zone_finding(R, MXP_STATE_WARNING,
                     "%s has %zu DMARC records: receivers ignore them (at %s)",
                     d->name, n, where);
        return 1;
    }
    dmarc_report(R, d, where, &q->rr[first], at_org);
    return 1;
}

void zone_dmarc_check(struct zone_run *R, struct zone_domain *d,
                      const struct mxp_dns_query *dq)
{
    char where[ZONE_NAME_LEN + 8], org_where[ZONE_NAME_LEN + 8];
    const char *org;
    struct mxp_dns_query q;
    int near_said = 0, rc, org_tried = 0;

    snprintf(where, sizeof where, "_dmarc.%s", d->name);
    if (dmarc_at(R, d, where, dq, 0, &near_said))
        return;
    org = R->svc->registered_domain(R->ctx, d->name);
    if (org != NULL && !zone_names_equal(org, d->name)) {
        snprintf(org_where, sizeof org_where, "_dmarc.%s", org);
        memset(&q, 0, sizeof q);
        q.name = org_where;
        q.type = MXP_DNS_TXT;
        rc = zone_dns_get(R, &q, 1);
        if (rc != MXP_OK)
            q.result = MXP_DNS_FAILED;
        if (dmarc_at(R, d, org_where, &q, 1, &near_said))
            return;
        org_tried = 1;
    }
    if (near_said)
        return;
    if (org_tried)
        zone_finding(R, MXP_STATE_WARNING, "no DMARC record for %s (nor at %s)",
                     d->name, org_where);
    else
        zone_finding(R, MXP_STATE_WARNING, "no DMARC record for %s", d->name);
}
