/*
 * spf_verdict.c - the zone plugin's SPF verdict for each address judged.
 *
 * spf.c evaluates check_host() for an address with the mail domain as
 * MAIL FROM domain; it asks its DNS questions one at a time through
 * spf_lookup(), which answers from the zone's DNS cache (most were
 * fetched ahead by plan.c's planning passes, for every address at once)
 * and asks the rest as a one-query batch (answers live in the job until
 * run() returns).  One finding per address (pass, fail, softfail,
 * neutral, permerror...); what does not depend on the address (no record,
 * the record's own lookup failing) is said once.  Then the record, what it
 * says about everybody else (spf_others.c) and the lookups it costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "policy.h"
#include "spf.h"

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
                      const struct mxp_target *a, struct spf_request *rq,
                      char *sender, size_t len)
{
    memset(rq, 0, sizeof *rq);
    rq->family = a->family;
    memcpy(rq->addr, a->addr_bytes, sizeof rq->addr);
    snprintf(sender, len, "postmaster@%s", d->name);
    rq->domain = d->name;
    rq->sender = sender;
    rq->helo = R->greeting[0] != '\0' ? R->greeting : d->name;
    rq->receiver = R->ctx->probe != NULL && R->ctx->probe->helo_name != NULL &&
                           R->ctx->probe->helo_name[0] != '\0'
                       ? R->ctx->probe->helo_name
                       : NULL;
}

const char *zone_spf_term(const struct spf_outcome *o)
{
    return o->mechanism[0] != '\0' ? o->mechanism : "no term matched";
}

int zone_spf_rests_on_timeout(const struct spf_outcome *o)
{
    return o->skipped_timeout &&
           (o->result == SPF_FAIL || o->result == SPF_SOFTFAIL ||
            o->result == SPF_NEUTRAL);
}

/* The verdict for no address in particular: no record, or the record's
 * own lookup failed; the other addresses would only say it again. */
static int spf_address_free(const struct spf_outcome *o)
{
    return o->result == SPF_NONE ||
           (o->result == SPF_TEMPERROR && o->record[0] == '\0');
}

/* What the verdicts said, for the other senders' finding, and the
 * details already given, not to repeat them for every address. */
struct said {
    struct spf_said s;
    char explanation[SPF_TEXT_MAX], skipped[SPF_TEXT_MAX];
};

/* 1 the first time text comes (kept in last): a detail is said once for
 * all the addresses it is the same for. */
static int first_time(char *last, const char *text)
{
    if (strcmp(last, text) == 0)
        return 0;
    snprintf(last, SPF_TEXT_MAX, "%s", text);
    return 1;
}

/* The finding of address addr's outcome o; for (" for <addr>" when
 * several addresses are judged and the wording does not name it). */
static void judge(struct zone_run *R, struct zone_domain *d,
                  const struct spf_outcome *o, const char *addr,
                  const char *for_, struct said *S)
{
    char text[SPF_TEXT_MAX], mech[SPF_TEXT_MAX];
    const char *t = zone_spf_term(o);

    zone_printable(t, strlen(t), mech, sizeof mech);
    zone_printable(o->problem, strlen(o->problem), text, sizeof text);
    if (zone_spf_rests_on_timeout(o)) {
        zone_printable(o->skipped, strlen(o->skipped), text, sizeof text);
        zone_finding(R, MXP_STATE_UNKNOWN,
                     "SPF %s for %s at %s (%s) rests on a timed-out lookup: "
                     "%s",
                     spf_result_name(o->result), addr, d->name, mech, text);
        return;
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
            if (first_time(S->explanation, text))
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
        S->s.neutral[o->by_all != 0] = 1;
        zone_finding(R, MXP_STATE_WARNING, "SPF neutral for %s at %s (%s)",
                     addr, d->name, mech);
        break;
    case SPF_NONE:
        if (text[0] != '\0')
            zone_finding(R, MXP_STATE_WARNING, "SPF cannot apply to %s: %s",
                         d->name, text);
        else
            zone_finding(R, MXP_STATE_WARNING, "no SPF record for %s", d->name);
        return;
    case SPF_PERMERROR:
        d->spf_broken = 1;
        S->s.permerror = 1;
        zone_finding(R, MXP_STATE_CRITICAL, "SPF permerror at %s%s: %s",
                     d->name, for_, text[0] != '\0' ? text : "invalid record");
        break;
    case SPF_TEMPERROR:
    default:
        S->s.temperror = 1;
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF temperror at %s%s: %s", d->name,
                     for_, text[0] != '\0' ? text : "DNS failure");
        break;
    }
    if (o->skipped[0] != '\0' && o->result != SPF_PASS &&
        o->result != SPF_TEMPERROR) {
        zone_printable(o->skipped, strlen(o->skipped), text, sizeof text);
        if (first_time(S->skipped, text))
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "SPF of %s: %s, skipped as RFC 7208 5.5 says "
                               "(the verdict may change when it answers)",
                               d->name, text);
    }
}

/* check_host() for the i-th address; 0 (reported) when it could not run. */
static int evaluate(struct zone_run *R, struct zone_domain *d, size_t i,
                    struct spf_request *rq, char *sender, size_t len,
                    struct spf_outcome *o)
{
    const struct mxp_target *a = zone_addr(R, i);
    int rc;

    zone_spf_request(R, d, a, rq, sender, len);
    rq->lookup = spf_lookup;
    rq->lookup_user = R;
    rc = spf_check_host(rq, o);
    if (rc == MXP_OK)
        return 1;
    if (zone_n_addrs(R) > 1)
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF check of %s for %s failed: %s",
                     d->name, a->addr, R->svc->strerror(rc));
    else
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF check of %s failed: %s",
                     d->name, R->svc->strerror(rc));
    return 0;
}

/* The lookups the record costs: the most over the addresses judged, and
 * with other senders. */
static void say_lookups(struct zone_run *R, const struct zone_domain *d,
                        unsigned mine, unsigned mine_void, size_t judged)
{
    char over[48] = "", with[80] = "";
    int others = d->spf_lookups != mine || d->spf_void != mine_void;

    if (judged > 1)
        snprintf(over, sizeof over, "the most of %zu addresses%s", judged,
                 others ? "; " : "");
    if (others)
        snprintf(with, sizeof with, "up to %u and %u with other senders",
                 d->spf_lookups, d->spf_void);
    if (over[0] != '\0' || others)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "SPF of %s: %u DNS lookups, %u void (%s%s)", d->name,
                           mine, mine_void, over, with);
    else
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "SPF of %s: %u DNS lookups, %u void", d->name, mine,
                           mine_void);
}

void zone_spf_check(struct zone_run *R, struct zone_domain *d)
{
    size_t n = zone_n_addrs(R), first = n;
    struct spf_request rq, first_rq;
    struct spf_outcome *o = calloc(n, sizeof *o);
    struct said *S = calloc(1, sizeof *S);
    char sender[ZONE_NAME_LEN + 16], text[SPF_TEXT_MAX];
    unsigned mine = 0, mine_void = 0;

    if (o == NULL || S == NULL) {
        zone_finding(R, MXP_STATE_UNKNOWN, "SPF check of %s: out of memory",
                     d->name);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *addr = zone_addr(R, i)->addr;
        char for_[64] = "";

        if (i > 0 && R->svc->remaining(R->ctx) <= 0) {
            zone_finding(R, MXP_STATE_UNKNOWN,
                         "SPF of %s not checked for %zu more addresses: "
                         "deadline reached",
                         d->name, n - i);
            break;
        }
        if (!evaluate(R, d, i, &rq, sender, sizeof sender, &o[i]))
            continue;
        if (first == n) {
            first = i;
            first_rq = rq;
            d->spf = spf_result_name(o[i].result);
        } else if (o[i].result != o[first].result) {
            d->spf_mixed = 1;
        }
        d->spf_judged++;
        if (o[i].dns_lookups > mine)
            mine = o[i].dns_lookups;
        if (o[i].void_lookups > mine_void)
            mine_void = o[i].void_lookups;
        if (n > 1)
            snprintf(for_, sizeof for_, " for %s", addr);
        judge(R, d, &o[i], addr, for_, S);
        /* the others would say the same (a later one that says so ran
         * out of time: the next turn tells how many were left) */
        if (i == first && spf_address_free(&o[i]))
            break;
    }
    if (first == n)
        goto done; /* no verdict at all: said */
    d->spf_lookups = mine;
    d->spf_void = mine_void;
    if (o[first].result == SPF_NONE) {
        d->spf = "none";
        goto done;
    }
    if (o[first].record[0] != '\0') {
        zone_printable(o[first].record, strlen(o[first].record), text,
                       sizeof text);
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "SPF record of %s: %s",
                           d->name, text);
    }
    /* The record's own lookup failed: the other senders' runs would only
     * wait for it again. */
    if (!spf_address_free(&o[first]))
        zone_spf_others(R, d, &first_rq, &S->s);
    say_lookups(R, d, mine, mine_void, d->spf_judged);
done:
    free(o);
    free(S);
}
