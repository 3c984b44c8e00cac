/*
 * zone_scaffold.h - what the zone plugin's unit tests against the fake
 * core share (test_zone.c, test_zone_sts.c): the plugin's sources in
 * one translation unit with a stub SPF evaluator (it records the request
 * and asks one TXT question through the plugin's lookup function), MX
 * preferences by host name, a deadline cut after some DNS batches,
 * run_zone() and assertions that print everything said when they fail.
 * Include it once, first, from a test file.
 */
#ifndef ZONE_SCAFFOLD_H
#define ZONE_SCAFFOLD_H

/* not every test file uses every helper */
#define ZT_UNUSED __attribute__((unused))

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/zone/dmarc.c"
#include "../../plugins/zone/domain.c"
#include "../../plugins/zone/lookup.c"
/* mta_sts.c's statics named like dmarc.c's: renamed in this one
 * translation unit */
#define is_wsp mta_sts_is_wsp_
#define shown mta_sts_shown_
#include "../../plugins/zone/mta_sts.c"
#undef is_wsp
#undef shown
#include "../../plugins/zone/mx.c"
#include "../../plugins/zone/policy.c"
#include "../../plugins/zone/spf_others.c"
#include "../../plugins/zone/spf_verdict.c"
#include "../../plugins/zone/sts_cache.c"
#include "../../plugins/zone/sts_judge.c"
#include "../../plugins/zone/zone.c"
#include "fake_core.h"

/* ---- the SPF stub ----------------------------------------------------- */

static struct {
    struct spf_outcome out;         /* for the target */
    struct spf_outcome other;       /* for the documentation addresses */
    struct spf_outcome other_first; /* for the first one, when set: */
    int use_other_first;
    int rc;
    size_t calls;       /* for the target */
    size_t other_calls; /* for any other address */
    char other_ip[2][64];
    char domain[4][256];
    char sender[256], helo[256];
    int lookup_rc;
    enum mxp_dns_result txt_result;
    char txt[256];
} S;

int spf_check_host(const struct spf_request *rq, struct spf_outcome *out)
{
    struct spf_dns_answer a;
    unsigned char t[16];
    int target;

    memset(t, 0, sizeof t);
    inet_pton(fake_ctx()->target->family, fake_ctx()->target->addr, t);
    target = rq->family == fake_ctx()->target->family &&
             memcmp(rq->addr, t, rq->family == AF_INET ? 4 : 16) == 0;
    if (!target) {
        if (S.other_calls < 2)
            inet_ntop(rq->family, rq->addr, S.other_ip[S.other_calls],
                      sizeof S.other_ip[0]);
        *out =
            S.use_other_first && S.other_calls == 0 ? S.other_first : S.other;
        S.other_calls++;
        return MXP_OK;
    }
    if (S.calls < 4)
        snprintf(S.domain[S.calls], sizeof S.domain[0], "%s", rq->domain);
    S.calls++;
    snprintf(S.sender, sizeof S.sender, "%s", rq->sender);
    snprintf(S.helo, sizeof S.helo, "%s", rq->helo ? rq->helo : "(null)");
    S.lookup_rc = rq->lookup(rq->lookup_user, rq->domain, MXP_DNS_TXT, &a);
    S.txt_result = a.result;
    S.txt[0] = '\0';
    if (S.lookup_rc == MXP_OK && a.n_rr > 0)
        snprintf(S.txt, sizeof S.txt, "%s", a.rr[0].text);
    *out = S.out;
    return S.rc;
}

/* plan.c drives the real evaluator ahead of the verdict; with the stub
 * it has nothing to plan (test_spf.c tests the planning answers). */
size_t zone_spf_plan(struct zone_run *R)
{
    (void)R;
    return 0;
}

const char *spf_result_name(enum spf_result r)
{
    static const char *const names[] = {"none",     "neutral",  "pass",
                                        "fail",     "softfail", "temperror",
                                        "permerror"};

    return (unsigned)r < 7 ? names[r] : "?";
}

static ZT_UNUSED void outcome(struct spf_outcome *o, enum spf_result res,
                              const char *mech, char top_all, unsigned lookups)
{
    memset(o, 0, sizeof *o);
    o->result = res;
    snprintf(o->mechanism, sizeof o->mechanism, "%s", mech);
    snprintf(o->record, sizeof o->record, "v=spf1 %s", mech);
    o->top_all = top_all;
    o->by_all =
        strcasecmp(mech + (strchr("+-~?", mech[0]) != NULL && mech[0] != '\0'),
                   "all") == 0;
    o->dns_lookups = lookups;
}

/* The target's outcome; other senders fail by -all with no lookups. */
static ZT_UNUSED void spf_stub(enum spf_result res, const char *mech,
                               char top_all, unsigned lookups)
{
    outcome(&S.out, res, mech, top_all, lookups);
    outcome(&S.other, SPF_FAIL, "-all", '-', 0);
}

/* The fake core, plus MX preferences by host name (the fake gives 0)
 * and a deadline that is gone after a number of DNS batches. */
static struct {
    char name[24][64];
    unsigned pref[24];
    size_t n;
    size_t cut_after; /* batches; 0: never */
} TS;

/* The batches started and not yet collected, for the preferences. */
static struct {
    struct mxp_dns_batch *b;
    struct mxp_dns_query *q;
    size_t n;
} TB[16];

/* ---- scaffolding ------------------------------------------------------ */

#define ADDR "192.0.2.25"
#define REV "25.2.0.192.in-addr.arpa"

static ZT_UNUSED int setup(void **state)
{
    (void)state;
    fake_reset();
    memset(&S, 0, sizeof S);
    memset(&TS, 0, sizeof TS);
    memset(TB, 0, sizeof TB);
    spf_stub(SPF_PASS, "ip4:" ADDR, '-', 1);
    fake_set_plugin_name("zone");
    fake_set_target(ADDR, 25);
    return 0;
}

static ZT_UNUSED int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* A domain in good order: MX to the target, DMARC reject. */
static ZT_UNUSED void clean_domain(const char *d)
{
    char mxhost[300], dmarc[300];

    snprintf(mxhost, sizeof mxhost, "mx.%s", d);
    snprintf(dmarc, sizeof dmarc, "_dmarc.%s", d);
    fake_dns_add(d, MXP_DNS_MX, MXP_DNS_ANSWER, mxhost, NULL);
    fake_dns_add(mxhost, MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    fake_dns_add(mxhost, MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
    fake_dns_add(mxhost, MXP_DNS_CNAME, MXP_DNS_NODATA, NULL);
    fake_dns_add(d, MXP_DNS_TXT, MXP_DNS_ANSWER, "v=spf1 ip4:" ADDR " -all",
                 NULL);
    fake_dns_add(dmarc, MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=reject; rua=mailto:d@example.org", NULL);
}

static ZT_UNUSED void mx_pref(const char *name, unsigned pref)
{
    snprintf(TS.name[TS.n], sizeof TS.name[0], "%s", name);
    TS.pref[TS.n++] = pref;
}

static ZT_UNUSED void t_prefs(struct mxp_dns_query *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (q[i].type != MXP_DNS_MX || q[i].result != MXP_DNS_ANSWER)
            continue;
        for (size_t j = 0; j < q[i].n_rr; j++) {
            /* the fake's records live on its heap: writable */
            struct mxp_dns_rr *rr = (struct mxp_dns_rr *)&q[i].rr[j];

            for (size_t k = 0; k < TS.n; k++)
                if (rr->text != NULL && strcmp(rr->text, TS.name[k]) == 0)
                    rr->pref = (uint16_t)TS.pref[k];
        }
    }
}

static ZT_UNUSED int t_dns_batch(struct mxp_ctx *ctx, struct mxp_dns_query *q,
                                 size_t n)
{
    int rc = fake_services.dns_batch(ctx, q, n);

    if (rc == MXP_OK)
        t_prefs(q, n);
    return rc;
}

static ZT_UNUSED int t_dns_start(struct mxp_ctx *ctx, struct mxp_dns_query *q,
                                 size_t n, struct mxp_dns_batch **out)
{
    int rc = fake_services.dns_start(ctx, q, n, out);

    for (size_t i = 0; rc == MXP_OK && i < 16; i++)
        if (TB[i].b == NULL) {
            TB[i].b = *out;
            TB[i].q = q;
            TB[i].n = n;
            break;
        }
    return rc;
}

static ZT_UNUSED int t_dns_collect(struct mxp_ctx *ctx, struct mxp_dns_batch *b)
{
    int rc = fake_services.dns_collect(ctx, b);

    for (size_t i = 0; b != NULL && i < 16; i++)
        if (TB[i].b == b) {
            if (rc == MXP_OK)
                t_prefs(TB[i].q, TB[i].n);
            TB[i].b = NULL;
        }
    return rc;
}

static ZT_UNUSED double t_remaining(struct mxp_ctx *ctx)
{
    if (TS.cut_after > 0 && fake_dns_batches() >= TS.cut_after)
        return 0;
    return fake_services.remaining(ctx);
}

static struct mxp_services tsvc;

static ZT_UNUSED struct mxp_ctx test_ctx(void)
{
    struct mxp_ctx c = *fake_ctx();

    tsvc = fake_services;
    tsvc.dns_batch = t_dns_batch;
    tsvc.dns_start = t_dns_start;
    tsvc.dns_collect = t_dns_collect;
    tsvc.remaining = t_remaining;
    c.svc = &tsvc;
    return c;
}

/* run() with the target's configured domain set (NULL: guess) and the
 * plugin's settings (NULL: the defaults, as when init() found none). */
static ZT_UNUSED void run_zone_set(const char *domain,
                                   struct zone_settings *set)
{
    struct mxp_ctx c = test_ctx();
    struct mxp_target t = *c.target;

    t.domain = domain;
    c.target = &t;
    assert_int_equal(zone_run(&c, set), MXP_OK);
    assert_int_equal(fake_result_calls(), 1);
}

static ZT_UNUSED void run_zone(const char *domain)
{
    run_zone_set(domain, NULL);
}

static ZT_UNUSED void dump(void)
{
    print_message("summary: %s\n", fake_summary());
    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *d = fake_detail(i, &st);

        print_message("detail [%d]: %s\n", st, d);
    }
}

static ZT_UNUSED void assert_summary_has(const char *s)
{
    if (strstr(fake_summary(), s) == NULL) {
        dump();
        fail_msg("summary '%s' lacks '%s'", fake_summary(), s);
    }
}

static ZT_UNUSED void assert_detail(const char *s, enum mxp_state want)
{
    enum mxp_state st;

    if (fake_detail_find(s, &st) < 0) {
        dump();
        fail_msg("no detail containing '%s'", s);
    }
    if (st != want) {
        dump();
        fail_msg("detail '%s': state %d, want %d", s, st, want);
    }
}

static ZT_UNUSED void assert_no_detail(const char *s)
{
    if (fake_detail_find(s, NULL) >= 0) {
        dump();
        fail_msg("unexpected detail containing '%s'", s);
    }
}

static ZT_UNUSED void assert_state(enum mxp_state want)
{
    if (fake_state() != want) {
        dump();
        fail_msg("state %d, want %d", fake_state(), want);
    }
}

#endif
