/*
 * policy.c - the zone plugin's SPF verdict, DMARC, MTA-STS and TLS-RPT.
 *
 * SPF: spf.c evaluates check_host() for the target's address with the
 * mail domain as MAIL FROM domain; it asks its DNS questions one at a time
 * through spf_lookup(), which answers from the zone's DNS cache (most were
 * fetched ahead by plan.c's planning passes) and asks the rest as a
 * one-query batch (answers live in the job until run() returns); a second
 * check_host() for a documentation address tells what the policy says about
 * everybody else.  DMARC: the record at _dmarc.<domain>, else at the
 * organizational domain, whose sp= then applies (RFC 7489 6.3, 6.6.3).  A
 * policy that lets failing mail through (p=none, or pct below 100) warns
 * unless plugins.zone.dmarc_none is ok.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dmarc.h"
#include "lookup.h"
#include "policy.h"
#include "spf.h"

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
    rc = zone_dns_get(R, &q, 1);
    if (rc == MXP_ERR_NOMEM)
        return rc;
    /* A lookup the deadline cut is no answer: SPF would read it as "no
     * names" (ptr) and let -all decide. */
    if ((rc != MXP_OK || !zone_dns_definite(q.result)) &&
        R->svc->remaining(R->ctx) <= 0)
        return MXP_ERR_TIMEOUT;
    if (rc != MXP_OK)
        return rc; /* the evaluator ends in temperror */
    out->result = q.result;
    out->rr = q.result == MXP_DNS_ANSWER ? q.rr : NULL;
    out->n_rr = q.result == MXP_DNS_ANSWER ? q.n_rr : 0;
    return MXP_OK;
}

void zone_spf_request(const struct zone_run *R, const struct zone_domain *d,
                      struct spf_request *rq, char *sender, size_t len)
{
    memset(rq, 0, sizeof *rq);
    rq->family = R->t->family;
    memcpy(rq->addr, R->t->addr_bytes, sizeof rq->addr);
    snprintf(sender, len, "postmaster@%s", d->name);
    rq->domain = d->name;
    rq->sender = sender;
    rq->helo = R->greeting[0] != '\0' ? R->greeting : d->name;
    rq->receiver = R->ctx->probe != NULL && R->ctx->probe->helo_name != NULL &&
                           R->ctx->probe->helo_name[0] != '\0'
                       ? R->ctx->probe->helo_name
                       : NULL;
}

/* The deciding term for the wording, "no term matched" when none. */
static const char *term(const struct spf_outcome *o)
{
    return o->mechanism[0] != '\0' ? o->mechanism : "no term matched";
}

/* Documentation addresses (RFC 5737, RFC 3849 and 9637) standing for
 * "any other sender"; test zones list some, so a pass is believed only
 * when a second one passes too. */
static const unsigned char other_v4[][4] = {
    {192, 0, 2, 1}, {198, 51, 100, 1}, {203, 0, 113, 1}};
static const unsigned char other_v6[][16] = {
    {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
    {0x3f, 0xff, [15] = 1},
    {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, [15] = 1}};

int zone_spf_other(const struct zone_run *R, int family, size_t k,
                   struct spf_request *rq, char *shown, size_t len)
{
    size_t alen = family == AF_INET ? 4 : 16, net = family == AF_INET ? 3 : 6;

    for (size_t i = 0; i < 3; i++) {
        const unsigned char *a = family == AF_INET ? other_v4[i] : other_v6[i];

        if (R->t->family == family && memcmp(a, R->t->addr_bytes, net) == 0)
            continue;
        if (k-- > 0)
            continue;
        memset(rq->addr, 0, sizeof rq->addr);
        memcpy(rq->addr, a, alen);
        rq->family = family;
        inet_ntop(family, a, shown, (socklen_t)len);
        return 1;
    }
    return 0;
}

/* check_host() for the k-th documentation address of family with the
 * target's domain, sender and HELO; 0 when it could not run. */
static int spf_other_eval(struct zone_run *R, struct zone_domain *d,
                          const struct spf_request *target_rq, int family,
                          size_t k, struct spf_outcome *o, char *ip,
                          size_t iplen)
{
    struct spf_request rq = *target_rq;

    if (!zone_spf_other(R, family, k, &rq, ip, iplen) ||
        R->svc->remaining(R->ctx) <= 0 || spf_check_host(&rq, o) != MXP_OK)
        return 0;
    if (o->dns_lookups > d->spf_lookups)
        d->spf_lookups = o->dns_lookups;
    if (o->void_lookups > d->spf_void)
        d->spf_void = o->void_lookups;
    return 1;
}

/* A fail (or softfail, neutral) that a skipped lookup which got no
 * answer at all could have turned: RFC 7208 5.5 lets receivers decide
 * so, but it is no verdict an operator should be paged for; it is
 * reported as UNKNOWN, not as the result it is. */
static int spf_rests_on_timeout(const struct spf_outcome *o)
{
    return o->skipped_timeout &&
           (o->result == SPF_FAIL || o->result == SPF_SOFTFAIL ||
            o->result == SPF_NEUTRAL);
}

/* What the policy says about everybody else, whatever it said about the
 * target: check_host() for a documentation address of each family.
 * Catches +all wherever it hides (include:, redirect=, ip4:0.0.0.0/0,
 * a/0) and the lookups of the terms the target's own match never
 * reached.  mine: the target's outcome, for what it already said. */
static void spf_others(struct zone_run *R, struct zone_domain *d,
                       const struct spf_request *target_rq,
                       const struct spf_outcome *mine)
{
    static const enum spf_result order[] = {SPF_PASS, SPF_PERMERROR,
                                            SPF_NEUTRAL, SPF_TEMPERROR};
    struct spf_outcome *o = calloc(2, sizeof *o), *pick = NULL;
    char ip[2][48], ip2[48], mech[SPF_TEXT_MAX], text[SPF_TEXT_MAX];
    const char *pick_ip = "";
    int fam[2], ran[2] = {0, 0};

    if (o == NULL) {
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF check of %s: out of memory",
                     d->name);
        return;
    }
    fam[0] = R->t->family;
    fam[1] = fam[0] == AF_INET ? AF_INET6 : AF_INET;
    /* the other family only when the first did not find it open */
    for (int i = 0; i < 2; i++) {
        ran[i] = spf_other_eval(R, d, target_rq, fam[i], 0, &o[i], ip[i],
                                sizeof ip[i]);
        if (!ran[i] || o[i].result != SPF_PASS)
            continue;
        /* a pass for a second address, or this one is listed somewhere */
        ran[i] =
            spf_other_eval(R, d, target_rq, fam[i], 1, &o[i], ip2, sizeof ip2);
        if (ran[i] && o[i].result == SPF_PASS)
            break;
        memcpy(ip[i], ip2, sizeof ip2);
    }
    /* the worst thing said about other senders, one finding */
    for (size_t k = 0; k < sizeof order / sizeof *order && pick == NULL; k++)
        for (int i = 0; i < 2 && pick == NULL; i++)
            if (ran[i] && o[i].result == order[k]) {
                pick = &o[i];
                pick_ip = ip[i];
            }
    if (pick == NULL)
        goto done;
    zone_printable(term(pick), strlen(term(pick)), mech, sizeof mech);
    zone_printable(pick->problem, strlen(pick->problem), text, sizeof text);
    switch (pick->result) {
    case SPF_PASS:
        zone_finding(R, MXP_STATE_CRITICAL,
                     "SPF of %s lets anyone send (pass for %s via %s)", d->name,
                     pick_ip, mech);
        break;
    case SPF_PERMERROR:
        if (mine->result == SPF_PERMERROR)
            break;
        d->spf_broken = 1;
        /* senders of the target's family, or only of the other one (e.g.
         * IPv6 senders over the void lookups of a: without AAAA) */
        zone_finding(R, pick == &o[0] ? MXP_STATE_CRITICAL : MXP_STATE_WARNING,
                     "SPF of %s breaks for other senders: %s (permerror for "
                     "%s)",
                     d->name, text[0] != '\0' ? text : "invalid record",
                     pick_ip);
        break;
    case SPF_NEUTRAL:
        /* not repeated when the target's verdict said it already (it
         * did not when it was UNKNOWN for resting on a timeout) */
        if (mine->result == SPF_NEUTRAL && mine->by_all == pick->by_all &&
            !spf_rests_on_timeout(mine))
            break;
        if (pick->by_all)
            zone_finding(R, MXP_STATE_WARNING,
                         "SPF policy %s of %s makes no assertion about other "
                         "senders",
                         mech, d->name);
        else
            zone_finding(R, MXP_STATE_WARNING,
                         "SPF of %s makes no assertion about other senders "
                         "(neutral for %s: %s)",
                         d->name, pick_ip, mech);
        break;
    default:
        if (mine->result != SPF_TEMPERROR)
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "SPF of %s for other senders (%s) not known: "
                               "temperror: %s",
                               d->name, pick_ip,
                               text[0] != '\0' ? text : "DNS failure");
        break;
    }
done:
    free(o);
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
    zone_spf_request(R, d, &rq, sender, sizeof sender);
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

    if (spf_rests_on_timeout(o)) {
        zone_printable(o->skipped, strlen(o->skipped), text, sizeof text);
        zone_finding(R, MXP_STATE_UNKNOWN,
                     "SPF %s for %s at %s (%s) rests on a timed-out lookup: "
                     "%s",
                     spf_result_name(o->result), addr, d->name, mech, text);
        goto judged;
    }
    switch (o->result) {
    case SPF_PASS:
        zone_finding(R, MXP_STATE_OK, "SPF pass for %s at %s (%s)", addr,
                     d->name, mech);
        break;
    case SPF_FAIL:
        zone_finding(R, MXP_STATE_CRITICAL,
                     "SPF fail: %s not permitted by %s (%s)", addr, d->name,
                     mech);
        /* the same problem in the domain's words: not a second one */
        if (o->explanation[0] != '\0') {
            zone_printable(o->explanation, strlen(o->explanation), text,
                           sizeof text);
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
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
        if (text[0] != '\0')
            zone_finding(R, MXP_STATE_WARNING, "SPF cannot apply to %s: %s",
                         d->name, text);
        else
            zone_finding(R, MXP_STATE_WARNING, "no SPF record for %s", d->name);
        goto done;
    case SPF_PERMERROR:
        d->spf_broken = 1;
        zone_finding(R, MXP_STATE_CRITICAL, "SPF permerror at %s: %s", d->name,
                     text[0] != '\0' ? text : "invalid record");
        break;
    case SPF_TEMPERROR:
    default:
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF temperror at %s: %s", d->name,
                     text[0] != '\0' ? text : "DNS failure");
        break;
    }
    if (o->skipped[0] != '\0' && o->result != SPF_PASS &&
        o->result != SPF_TEMPERROR) {
        zone_printable(o->skipped, strlen(o->skipped), text, sizeof text);
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "SPF of %s: %s, skipped as RFC 7208 5.5 says (the "
                           "verdict may change when it answers)",
                           d->name, text);
    }
judged:

    if (o->record[0] != '\0') {
        zone_printable(o->record, strlen(o->record), text, sizeof text);
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "SPF record of %s: %s",
                           d->name, text);
    }
    /* The record's own lookup failed: the other senders' runs would only
     * wait for it again. */
    if (!(o->result == SPF_TEMPERROR && o->record[0] == '\0'))
        spf_others(R, d, &rq, o);
    if (d->spf_lookups != o->dns_lookups || d->spf_void != o->void_lookups)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "SPF of %s: %u DNS lookups, %u void (up to %u and "
                           "%u with other senders)",
                           d->name, o->dns_lookups, o->void_lookups,
                           d->spf_lookups, d->spf_void);
    else
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
