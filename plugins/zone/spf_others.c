/*
 * spf_others.c - what a domain's SPF policy says about everybody else.
 *
 * Whatever it said about the addresses judged, check_host() for a
 * documentation address of each family tells whether the policy lets
 * anyone send (+all wherever it hides: include:, redirect=,
 * ip4:0.0.0.0/0, a/0), breaks for other senders, or asserts nothing
 * about them; and it meets the lookups of the terms that the judged
 * addresses' own matches never reached.  One finding, the worst thing
 * said, once per domain however many addresses were judged.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

/* Documentation addresses (RFC 5737, RFC 3849 and 9637) standing for
 * "any other sender"; test zones list some, so a pass is believed only
 * when a second one passes too. */
static const unsigned char other_v4[][4] = {
    {192, 0, 2, 1}, {198, 51, 100, 1}, {203, 0, 113, 1}};
static const unsigned char other_v6[][16] = {
    {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
    {0x3f, 0xff, [15] = 1},
    {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, [15] = 1}};

/* a is in the network (/24, /48) of one of the addresses judged: the
 * record's ip4:/ip6: that lets them send would likely let a send too,
 * which says nothing about strangers. */
static int near_judged(const struct zone_run *R, int family,
                       const unsigned char *a)
{
    size_t net = family == AF_INET ? 3 : 6;

    for (size_t i = 0; i < zone_n_addrs(R); i++) {
        const struct mxp_target *t = zone_addr(R, i);

        if (t->family == family && memcmp(a, t->addr_bytes, net) == 0)
            return 1;
    }
    return 0;
}

int zone_spf_other(const struct zone_run *R, int family, size_t k,
                   struct spf_request *rq, char *shown, size_t len)
{
    size_t alen = family == AF_INET ? 4 : 16;

    for (size_t i = 0; i < 3; i++) {
        const unsigned char *a = family == AF_INET ? other_v4[i] : other_v6[i];

        if (near_judged(R, family, a))
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

/* The finding for the worst outcome, pick, unless the verdicts of the
 * addresses judged said it already. */
static void report(struct zone_run *R, struct zone_domain *d,
                   const struct spf_outcome *pick, int first_family,
                   const char *pick_ip, const struct spf_said *said)
{
    char mech[SPF_TEXT_MAX], text[SPF_TEXT_MAX];
    const char *t = zone_spf_term(pick);

    zone_printable(t, strlen(t), mech, sizeof mech);
    zone_printable(pick->problem, strlen(pick->problem), text, sizeof text);
    switch (pick->result) {
    case SPF_PASS:
        zone_finding(R, MXP_STATE_CRITICAL,
                     "SPF of %s lets anyone send (pass for %s via %s)", d->name,
                     pick_ip, mech);
        break;
    case SPF_PERMERROR:
        if (said->permerror)
            break;
        d->spf_broken = 1;
        /* senders of the target's family, or only of the other one (e.g.
         * IPv6 senders over the void lookups of a: without AAAA) */
        zone_finding(R, first_family ? MXP_STATE_CRITICAL : MXP_STATE_WARNING,
                     "SPF of %s breaks for other senders: %s (permerror for "
                     "%s)",
                     d->name, text[0] != '\0' ? text : "invalid record",
                     pick_ip);
        break;
    case SPF_NEUTRAL:
        /* not repeated when a verdict said it already (it did not when
         * it was UNKNOWN for resting on a timeout) */
        if (said->neutral[pick->by_all != 0])
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
        if (!said->temperror)
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "SPF of %s for other senders (%s) not known: "
                               "temperror: %s",
                               d->name, pick_ip,
                               text[0] != '\0' ? text : "DNS failure");
        break;
    }
}

void zone_spf_others(struct zone_run *R, struct zone_domain *d,
                     const struct spf_request *target_rq,
                     const struct spf_said *said)
{
    static const enum spf_result order[] = {SPF_PASS, SPF_PERMERROR,
                                            SPF_NEUTRAL, SPF_TEMPERROR};
    struct spf_outcome *o = calloc(2, sizeof *o), *pick = NULL;
    char ip[2][48], ip2[48];
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
    if (pick != NULL)
        report(R, d, pick, pick == &o[0], pick_ip, said);
    free(o);
}
