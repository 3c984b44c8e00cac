/*
 * policy.c - the zone plugin's SPF verdict, DMARC, MTA-STS and TLS-RPT.
 *
 * SPF: spf.c evaluates check_host() for the target's address with the
 * mail domain as MAIL FROM domain; it asks its DNS questions one at a time
 * through spf_lookup(), which runs each as a one-query batch of the core
 * (answers live in the job until run() returns).  DMARC: the record at
 * _dmarc.<domain>, else at the organizational domain (RFC 7489 6.6.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "policy.h"
#include "spf.h"

/* ---- SPF ------------------------------------------------------------- */

static int spf_lookup(void *user, const char *name, uint16_t type,
                      struct spf_dns_answer *out)
{
    struct zone_run *R = user;
    struct mxp_dns_query q;
    int rc;

    memset(out, 0, sizeof *out);
    if (R->svc->remaining(R->ctx) <= 0)
        return MXP_ERR_TIMEOUT;
    memset(&q, 0, sizeof q);
    q.name = name;
    q.type = type;
    rc = R->svc->dns_batch(R->ctx, &q, 1);
    if (rc == MXP_ERR_NOMEM || rc == MXP_ERR_TIMEOUT)
        return rc;
    if (rc != MXP_OK) {
        out->result = MXP_DNS_FAILED;
        return MXP_OK;
    }
    out->result = q.result;
    out->rr = q.result == MXP_DNS_ANSWER ? q.rr : NULL;
    out->n_rr = q.result == MXP_DNS_ANSWER ? q.n_rr : 0;
    return MXP_OK;
}

/* The deciding term for the wording, "no term matched" when none. */
static const char *term(const struct spf_outcome *o)
{
    return o->mechanism[0] != '\0' ? o->mechanism : "no term matched";
}

void zone_spf_check(struct zone_run *R, struct zone_domain *d)
{
    struct spf_request rq;
    struct spf_outcome *o;
    char sender[ZONE_NAME_LEN + 16], text[SPF_TEXT_MAX], mech[SPF_TEXT_MAX];
    const char *addr = R->t->addr;
    int rc;

    o = calloc(1, sizeof *o);
    if (o == NULL) {
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF check of %s: out of memory",
                     d->name);
        return;
    }
    memset(&rq, 0, sizeof rq);
    rq.family = R->t->family;
    memcpy(rq.addr, R->t->addr_bytes, sizeof rq.addr);
    snprintf(sender, sizeof sender, "postmaster@%s", d->name);
    rq.domain = d->name;
    rq.sender = sender;
    rq.helo = R->greeting[0] != '\0' ? R->greeting : d->name;
    rq.receiver = R->ctx->probe != NULL && R->ctx->probe->helo_name != NULL &&
                          R->ctx->probe->helo_name[0] != '\0'
                      ? R->ctx->probe->helo_name
                      : NULL;
    rq.lookup = spf_lookup;
    rq.lookup_user = R;

    rc = spf_check_host(&rq, o);
    if (rc != MXP_OK) {
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF check of %s failed: %s",
                     d->name, R->svc->strerror(rc));
        goto done;
    }
    d->spf = spf_result_name(o->result);
    d->spf_lookups = o->dns_lookups;
    d->spf_void = o->void_lookups;
    zone_printable(term(o), strlen(term(o)), mech, sizeof mech);
    zone_printable(o->problem, strlen(o->problem), text, sizeof text);

    switch (o->result) {
    case SPF_PASS:
        zone_finding(R, MXP_STATE_OK, "SPF pass for %s at %s (%s)", addr,
                     d->name, mech);
        break;
    case SPF_FAIL:
        zone_finding(R, MXP_STATE_CRITICAL,
                     "SPF fail: %s not permitted by %s (%s)", addr, d->name,
                     mech);
        if (o->explanation[0] != '\0') {
            zone_printable(o->explanation, strlen(o->explanation), text,
                           sizeof text);
            R->svc->add_detail(R->ctx, MXP_STATE_CRITICAL,
                               "SPF explanation of %s: %s", d->name, text);
        }
        break;
    case SPF_SOFTFAIL:
        zone_finding(R, MXP_STATE_WARNING,
                     "SPF softfail: %s not permitted by %s (%s)", addr, d->name,
                     mech);
        break;
    case SPF_NEUTRAL:
        zone_finding(R, MXP_STATE_WARNING, "SPF neutral for %s at %s (%s)",
                     addr, d->name, mech);
        break;
    case SPF_NONE:
        d->spf = "none";
        zone_finding(R, MXP_STATE_WARNING, "no SPF record for %s", d->name);
        break;
    case SPF_PERMERROR:
        zone_finding(R, MXP_STATE_CRITICAL, "SPF permerror at %s: %s", d->name,
                     text[0] != '\0' ? text : "invalid record");
        break;
    case SPF_TEMPERROR:
    default:
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF temperror at %s: %s", d->name,
                     text[0] != '\0' ? text : "DNS failure");
        break;
    }

    if (o->record[0] != '\0') {
        zone_printable(o->record, strlen(o->record), text, sizeof text);
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "SPF record of %s: %s",
                           d->name, text);
    }
    /* What the policy says about everybody else, whatever it said about
     * the target. */
    if (o->top_all == '+')
        zone_finding(R, MXP_STATE_CRITICAL,
                     "SPF policy +all lets anyone send as %s", d->name);
    else if (o->top_all == '?' &&
             !(o->result == SPF_NEUTRAL && strstr(o->mechanism, "all")))
        zone_finding(R, MXP_STATE_WARNING,
                     "SPF policy ?all of %s makes no assertion about other "
                     "senders",
                     d->name);
    R->svc->add_detail(R->ctx, MXP_STATE_OK,
                       "SPF of %s: %u DNS lookups, %u void", d->name,
                       o->dns_lookups, o->void_lookups);
done:
    free(o);
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

static void dmarc_report(struct zone_run *R, struct zone_domain *d,
                         const char *where, const struct mxp_dns_rr *rr)
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
        snprintf(d->dmarc_p, sizeof d->dmarc_p, "%s", dmarc_policy_name(r->p));
        off = (size_t)snprintf(text, sizeof text, "p=%s",
                               dmarc_policy_name(r->p));
        if (r->sp != DMARC_P_UNSET)
            off += (size_t)snprintf(text + off, sizeof text - off, ", sp=%s",
                                    dmarc_policy_name(r->sp));
        if (r->pct != 100)
            off += (size_t)snprintf(text + off, sizeof text - off, ", pct=%d",
                                    r->pct);
        if (r->adkim == 's')
            off += (size_t)snprintf(text + off, sizeof text - off, ", adkim=s");
        if (r->aspf == 's')
            snprintf(text + off, sizeof text - off, ", aspf=s");
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "DMARC of %s: %s (at %s)",
                           d->name, text, where);
        if (r->p == DMARC_P_NONE)
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "DMARC policy of %s is p=none (monitoring only)",
                               d->name);
    }
    if (r->rua[0] != '\0' || r->ruf[0] != '\0')
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "DMARC reports of %s: rua=%s; ruf=%s", d->name,
                           r->rua[0] != '\0' ? r->rua : "(none)",
                           r->ruf[0] != '\0' ? r->ruf : "(none)");
    free(r);
}

/* Looks at one _dmarc TXT answer.  Returns 1 when policy discovery ends
 * there (a record, several, or a failure), 0 when the next place is to be
 * tried; *near_said is set when a near-miss was reported. */
static int dmarc_at(struct zone_run *R, struct zone_domain *d,
                    const char *where, const struct mxp_dns_query *q,
                    int *near_said)
{
    char near[DMARC_PROBLEM_LEN];
    size_t first = 0, n;

    if (!zone_dns_definite(q->result)) {
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
    dmarc_report(R, d, where, &q->rr[first]);
    return 1;
}

void zone_dmarc_check(struct zone_run *R, struct zone_domain *d,
                      const struct mxp_dns_query *dq)
{
    char where[ZONE_NAME_LEN + 8], org_where[ZONE_NAME_LEN + 8];
    const char *org;
    struct mxp_dns_query q;
    int near_said = 0, rc;

    snprintf(where, sizeof where, "_dmarc.%s", d->name);
    if (dmarc_at(R, d, where, dq, &near_said))
        return;
    org = R->svc->registered_domain(R->ctx, d->name);
    if (org != NULL && !zone_names_equal(org, d->name)) {
        snprintf(org_where, sizeof org_where, "_dmarc.%s", org);
        memset(&q, 0, sizeof q);
        q.name = org_where;
        q.type = MXP_DNS_TXT;
        rc = R->svc->dns_batch(R->ctx, &q, 1);
        if (rc != MXP_OK)
            q.result = MXP_DNS_FAILED;
        if (dmarc_at(R, d, org_where, &q, &near_said))
            return;
    }
    if (!near_said)
        zone_finding(R, MXP_STATE_WARNING, "no DMARC record for %s", d->name);
}

/* ---- MTA-STS and TLS-RPT --------------------------------------------- */

static void txt_presence(struct zone_run *R, struct zone_domain *d,
                         const char *what, const char *version,
                         const struct mxp_dns_query *q)
{
    char text[ZONE_TEXT_LEN];
    size_t vl = strlen(version);

    if (!zone_dns_definite(q->result)) {
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "%s lookup of %s failed: %s",
                           what, d->name, R->svc->dns_result_name(q->result));
        return;
    }
    for (size_t i = 0; q->result == MXP_DNS_ANSWER && i < q->n_rr; i++) {
        const struct mxp_dns_rr *rr = &q->rr[i];

        if (rr->text == NULL || rr->text_len < vl ||
            strncmp(rr->text, version, vl) != 0)
            continue;
        zone_printable(rr->text, rr->text_len, text, sizeof text);
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "%s record of %s: %s", what,
                           d->name, text);
        return;
    }
    R->svc->add_detail(R->ctx, MXP_STATE_OK, "no %s record for %s", what,
                       d->name);
}

void zone_sts_check(struct zone_run *R, struct zone_domain *d,
                    const struct mxp_dns_query *sts,
                    const struct mxp_dns_query *rpt)
{
    txt_presence(R, d, "MTA-STS", "v=STSv1", sts);
    txt_presence(R, d, "TLS-RPT", "v=TLSRPTv1", rpt);
}
