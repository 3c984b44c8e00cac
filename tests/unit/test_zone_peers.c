/*
 * test_zone_peers.c - the zone plugin in a run over a whole mail domain
 * (ABI 1.4: the target is the domain's first MX address, its peers the
 * others), with the real SPF evaluator and planner over the fake core's
 * DNS: a verdict for every address (pass, fail, softfail, IPv6), what is
 * said once for the domain (no record, the record's lookup failing, the
 * other senders), MX membership of each address, the DNS questions asked
 * once whatever the number of addresses, one set of perfdata, and a run
 * without peers exactly as before (a golden list of its output).
 */
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
#include "../../plugins/zone/plan.c"
#include "../../plugins/zone/policy.c"
/* spf.c's statics named like dmarc.c's and zone.c's: renamed in this one
 * translation unit */
#define check_domain spf_check_domain_
#define copy_value spf_copy_value_
#include "../../plugins/zone/spf.c"
#undef check_domain
#undef copy_value
#include "../../plugins/zone/spf_macro.c"
#include "../../plugins/zone/spf_others.c"
#include "../../plugins/zone/spf_parse.c"
#include "../../plugins/zone/spf_verdict.c"
#include "../../plugins/zone/sts_cache.c"
#include "../../plugins/zone/sts_judge.c"
#include "../../plugins/zone/zone.c"
#include "fake_assert.h"
#include "fake_core.h"

#define DOM "example.org"
#define MX1 "mx1.example.org"
#define MX2 "mx2.example.org"
#define A1 "192.0.2.25"
#define A2 "192.0.2.26"
#define A1_6 "2001:db8::25"

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("zone");
    fake_set_target(A1, 25);
    fake_set_domain(DOM);
    fake_set_host(DOM); /* as the scheduler sets it for a domain run */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* example.org: MX mx1 (A1, A1_6) and mx2 (A2), DMARC reject, and the
 * SPF record spf. */
static void domain_with(const char *spf)
{
    fake_dns_add(DOM, MXP_DNS_MX, MXP_DNS_ANSWER, MX1, MX2, NULL);
    fake_dns_add(MX1, MXP_DNS_A, MXP_DNS_ANSWER, A1, NULL);
    fake_dns_add(MX1, MXP_DNS_AAAA, MXP_DNS_ANSWER, A1_6, NULL);
    fake_dns_add(MX1, MXP_DNS_CNAME, MXP_DNS_NODATA, NULL);
    fake_dns_add(MX2, MXP_DNS_A, MXP_DNS_ANSWER, A2, NULL);
    fake_dns_add(MX2, MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
    fake_dns_add(MX2, MXP_DNS_CNAME, MXP_DNS_NODATA, NULL);
    fake_dns_add(DOM, MXP_DNS_A, MXP_DNS_NODATA, NULL);
    fake_dns_add(DOM, MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
    if (spf != NULL)
        fake_dns_add(DOM, MXP_DNS_TXT, MXP_DNS_ANSWER, spf, NULL);
    else
        fake_dns_add(DOM, MXP_DNS_TXT, MXP_DNS_NODATA, NULL);
    fake_dns_add("_dmarc." DOM, MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=reject", NULL);
}

/* The domain's other MX addresses, as the scheduler hands them over. */
static void peers(void)
{
    fake_add_peer(MX2, A2, 25);
    fake_add_peer(MX1, A1_6, 25);
}

static void run_zone(void)
{
    assert_int_equal(zone_run(fake_ctx(), NULL), MXP_OK);
    assert_int_equal(fake_result_calls(), 1);
}

/* A run over the domain with the SPF record spf and the peers. */
static void run_peers(const char *spf)
{
    domain_with(spf);
    peers();
    run_zone();
}

/* ---- verdicts per address --------------------------------------------- */

static void test_all_pass(void **state)
{
    (void)state;
    run_peers("v=spf1 mx -all");
    fake_assert_state(MXP_STATE_OK);
    fake_assert_summary(DOM
                        ": SPF pass for all 3 MX addresses, DMARC p=reject, "
                        "2 MX");
    fake_assert_detail("SPF pass for " A1 " at " DOM " (mx)", MXP_STATE_OK);
    fake_assert_detail("SPF pass for " A2 " at " DOM " (mx)", MXP_STATE_OK);
    fake_assert_detail("SPF pass for " A1_6 " at " DOM " (mx)", MXP_STATE_OK);
    /* each address where the zone's own MX lookup finds it */
    fake_assert_detail(A1 " is an MX of " DOM " (" MX1 ")", MXP_STATE_OK);
    fake_assert_detail(A2 " is an MX of " DOM " (" MX2 ")", MXP_STATE_OK);
    fake_assert_detail(A1_6 " is an MX of " DOM " (" MX1 ")", MXP_STATE_OK);
    /* the domain's own things once */
    assert_int_equal(fake_count_details("SPF record of " DOM), 1);
    assert_int_equal(fake_count_details("MX of " DOM ": "), 1);
    assert_int_equal(fake_count_details("DMARC of " DOM), 1);
    fake_assert_detail("SPF of " DOM ": 1 DNS lookups, 0 void (the most of 3 "
                       "addresses)",
                       MXP_STATE_OK);
    /* the domain is configured: no PTR guess, no SMTP session */
    assert_int_equal(fake_dns_asked("25.2.0.192.in-addr.arpa", 0), 0);
    assert_int_equal(fake_dns_asked("26.2.0.192.in-addr.arpa", 0), 0);
    assert_int_equal(fake_smtp_opens(), 0);
    /* one set of perfdata */
    assert_int_equal(fake_n_perf(), 4);
    assert_int_equal(fake_perf_find("spf_lookups")->value, 1);
    assert_int_equal(fake_perf_find("mx")->value, 2);
}

/* A record that lists mx1's addresses and not mx2's: the verdict for
 * mx2's address, by the record's all, is the finding (and the summary),
 * the two others pass. */
static const struct {
    const char *all;
    enum mxp_state st;
    const char *finding;
} not_listed[] = {
    {"-all", MXP_STATE_CRITICAL,
     "SPF fail: " A2 " not permitted by " DOM " (-all)"},
    {"~all", MXP_STATE_WARNING,
     "SPF softfail: " A2 " not permitted by " DOM " (~all)"},
    {"?all", MXP_STATE_WARNING, "SPF neutral for " A2 " at " DOM " (?all)"},
};

static void test_one_peer_not_listed(void **state)
{
    char spf[128];

    (void)state;
    for (size_t i = 0; i < sizeof not_listed / sizeof *not_listed; i++) {
        teardown(NULL);
        setup(NULL);
        snprintf(spf, sizeof spf, "v=spf1 ip4:" A1 " ip6:" A1_6 " %s",
                 not_listed[i].all);
        run_peers(spf);
        fake_assert_state(not_listed[i].st);
        fake_assert_summary(not_listed[i].finding);
        fake_assert_detail(not_listed[i].finding, not_listed[i].st);
        fake_assert_detail("SPF pass for " A1 " at " DOM " (ip4:" A1 ")",
                           MXP_STATE_OK);
        fake_assert_detail("SPF pass for " A1_6 " at " DOM " (ip6:" A1_6 ")",
                           MXP_STATE_OK);
        assert_int_equal(fake_count_findings(A2), 1);
        assert_int_equal(fake_count_findings(A1), 0);
    }
}

/* IPv6 is where SPF is most often forgotten: the v4 addresses pass, the
 * AAAA of mx1 does not. */
static void test_ipv6_peer_forgotten(void **state)
{
    (void)state;
    run_peers("v=spf1 ip4:192.0.2.0/24 -all");
    fake_assert_state(MXP_STATE_CRITICAL);
    fake_assert_detail("SPF fail: " A1_6 " not permitted by " DOM " (-all)",
                       MXP_STATE_CRITICAL);
    fake_assert_detail("SPF pass for " A2 " at " DOM, MXP_STATE_OK);

    /* the target itself IPv6, a v4 peer: the same verdicts by address */
    teardown(NULL);
    setup(NULL);
    fake_set_target(A1_6, 25);
    domain_with("v=spf1 ip4:192.0.2.0/24 -all");
    fake_add_peer(MX1, A1, 25);
    run_zone();
    fake_assert_detail("SPF fail: " A1_6 " not permitted by " DOM " (-all)",
                       MXP_STATE_CRITICAL);
    fake_assert_detail("SPF pass for " A1 " at " DOM, MXP_STATE_OK);
    fake_assert_detail(A1 " is an MX of " DOM " (" MX1 ")", MXP_STATE_OK);
}

/* ---- said once for the domain ------------------------------------------ */

static void test_domain_wide_results_once(void **state)
{
    (void)state;
    run_peers(NULL); /* no SPF record */
    fake_assert_state(MXP_STATE_WARNING);
    assert_int_equal(fake_count_details("no SPF record for " DOM), 1);
    fake_assert_summary("no SPF record for " DOM);

    /* the record's own lookup fails: one temperror, not three */
    teardown(NULL);
    setup(NULL);
    domain_with(NULL);
    fake_dns_add(DOM, MXP_DNS_TXT, MXP_DNS_SERVFAIL, NULL);
    peers();
    run_zone();
    fake_assert_state(MXP_STATE_UNKNOWN);
    assert_int_equal(fake_count_details("SPF temperror at " DOM), 1);

    /* a broken record breaks for every address: each says so */
    teardown(NULL);
    setup(NULL);
    run_peers("v=spf1 ip4:192.0.2.0/33 -all");
    fake_assert_state(MXP_STATE_CRITICAL);
    assert_int_equal(fake_count_details("SPF permerror at " DOM " for "), 3);
    fake_assert_detail("SPF permerror at " DOM " for " A2 ": ",
                       MXP_STATE_CRITICAL);
    /* and the other senders' permerror is not a fourth */
    assert_int_equal(fake_count_details("breaks for other senders"), 0);
}

static void test_other_senders_once(void **state)
{
    (void)state;
    run_peers("v=spf1 mx +all");
    fake_assert_state(MXP_STATE_CRITICAL);
    assert_int_equal(fake_count_details("lets anyone send"), 1);
    /* the documentation addresses stay outside every judged network:
     * 192.0.2.1 shares A1's and A2's /24, 2001:db8::1 A1_6's /48 */
    fake_assert_detail("lets anyone send (pass for 198.51.100.1 via +all)",
                       MXP_STATE_CRITICAL);
    assert_int_equal(fake_count_details("SPF pass for"), 3);

    /* peers in the other documentation networks, permitted by their
     * ip4: terms: those networks say nothing about strangers (without
     * the peers' networks left out, 198.51.100.1 and 203.0.113.1 would
     * pass and "let anyone send") */
    teardown(NULL);
    setup(NULL);
    domain_with("v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 "
                "ip4:203.0.113.0/24 -all");
    fake_dns_add(MX1, MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
    fake_dns_add(MX2, MXP_DNS_A, MXP_DNS_ANSWER, "198.51.100.26",
                 "203.0.113.26", NULL);
    fake_add_peer(MX2, "198.51.100.26", 25);
    fake_add_peer(MX2, "203.0.113.26", 25);
    run_zone();
    fake_assert_state(MXP_STATE_OK);
    assert_int_equal(fake_count_details("SPF pass for"), 3);
    assert_int_equal(fake_count_details("lets anyone send"), 0);
}

/* ---- DNS waves --------------------------------------------------------- */

static const char *const busy_spf =
    "v=spf1 mx a:relay.example.org include:_spf.example.net -all";

static void busy_domain(void)
{
    domain_with(busy_spf);
    fake_dns_add("relay.example.org", MXP_DNS_A, MXP_DNS_ANSWER, "198.51.100.7",
                 NULL);
    fake_dns_add("relay.example.org", MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
    fake_dns_add("_spf.example.net", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=spf1 include:_b.example.net ~all", NULL);
    fake_dns_add("_b.example.net", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=spf1 ip4:203.0.113.0/24 -all", NULL);
}

/* The zone's DNS set up by zone(): a run of the target alone, its
 * batches and queries into *batches and *queries, then one with the
 * peers, whose counts the caller reads from the fake. */
static void alone_then_peers(void (*zone)(void), size_t *batches,
                             size_t *queries)
{
    zone();
    run_zone();
    *batches = fake_dns_batches();
    *queries = fake_dns_queries();
    teardown(NULL);
    setup(NULL);
    zone();
    peers();
    run_zone();
}

static void test_dns_not_repeated(void **state)
{
    size_t batches, queries;

    (void)state;
    alone_then_peers(busy_domain, &batches, &queries);
    fake_assert_state(MXP_STATE_OK);
    fake_assert_detail("SPF of " DOM ": 1 DNS lookups, 0 void (the most of 3 "
                       "addresses; up to 4 and 1 with other senders)",
                       MXP_STATE_OK);
    assert_int_equal(fake_perf_find("spf_lookups")->value, 4);
    /* the same waves and questions as for one address */
    assert_int_equal(fake_dns_batches(), batches);
    assert_int_equal(fake_dns_queries(), queries);
    assert_int_equal(fake_dns_asked(DOM, MXP_DNS_TXT), 1);
    assert_int_equal(fake_dns_asked(DOM, MXP_DNS_MX), 1);
    assert_int_equal(fake_dns_asked(MX1, MXP_DNS_A), 1);
    assert_int_equal(fake_dns_asked(MX1, MXP_DNS_AAAA), 1);
    assert_int_equal(fake_dns_asked("relay.example.org", MXP_DNS_A), 1);
    assert_int_equal(fake_dns_asked("relay.example.org", MXP_DNS_AAAA), 1);
    assert_int_equal(fake_dns_asked("_spf.example.net", MXP_DNS_TXT), 1);
    assert_int_equal(fake_dns_asked("_b.example.net", MXP_DNS_TXT), 1);
    /* planned: the include chain goes out one wave a level, not asked
     * one by one during the verdicts (one batch each) */
    assert_true(fake_dns_batches() <= 5);
    assert_int_equal(fake_dns_open_batches(), 0);
}

/* exists:%{i}: a question for each address, only the target's listed. */
static void per_address_domain(void)
{
    domain_with("v=spf1 exists:%{i}._i.example.org -all");
    fake_dns_add(A1 "._i.example.org", MXP_DNS_A, MXP_DNS_ANSWER, "127.0.0.2",
                 NULL);
}

/* A question only one address asks: planned for every address at once,
 * so the peers add questions but no wave. */
static void test_dns_per_address_planned(void **state)
{
    size_t batches, queries;

    (void)state;
    alone_then_peers(per_address_domain, &batches, &queries);
    fake_assert_state(MXP_STATE_CRITICAL);
    fake_assert_detail("SPF pass for " A1 " at " DOM, MXP_STATE_OK);
    fake_assert_detail("SPF fail: " A2 " not permitted by " DOM " (-all)",
                       MXP_STATE_CRITICAL);
    fake_assert_detail("SPF fail: " A1_6 " not permitted by " DOM " (-all)",
                       MXP_STATE_CRITICAL);
    assert_int_equal(fake_dns_asked(A2 "._i.example.org", MXP_DNS_A), 1);
    assert_int_equal(
        fake_dns_asked("2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                       "0.0.0.0.0.2.5._i.example.org",
                       MXP_DNS_A),
        1);
    assert_int_equal(fake_dns_queries(), queries + 2);
    assert_int_equal(fake_dns_batches(), batches);
}

/* ---- the deadline ---------------------------------------------------------
 */

/* Time runs out as soon as the target's verdict is said. */
static double t_remaining(struct mxp_ctx *ctx)
{
    if (fake_detail_find("SPF pass for " A1, NULL) >= 0)
        return 0;
    return fake_services.remaining(ctx);
}

static void test_deadline_between_addresses(void **state)
{
    struct mxp_services svc = fake_services;
    struct mxp_ctx c = *fake_ctx();

    (void)state;
    svc.remaining = t_remaining;
    c.svc = &svc;
    domain_with("v=spf1 mx -all");
    peers();
    assert_int_equal(zone_run(&c, NULL), MXP_OK);
    fake_assert_state(MXP_STATE_UNKNOWN);
    fake_assert_detail("SPF of " DOM " not checked for 2 more addresses: "
                       "deadline reached",
                       MXP_STATE_UNKNOWN);
    assert_int_equal(fake_count_details("SPF pass for"), 1);
    assert_int_equal(fake_count_details(A2 " not permitted"), 0);
}

/* ---- membership ---------------------------------------------------------- */

/* A peer the zone's MX lookup no longer finds (the MX set changed since
 * the scheduler looked): said, and no alarm. */
static void test_peer_no_longer_mx(void **state)
{
    (void)state;
    domain_with("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/48 -all");
    fake_add_peer("mx3.example.org", "192.0.2.27", 25);
    run_zone();
    fake_assert_state(MXP_STATE_OK);
    fake_assert_detail(
        "192.0.2.27 is no longer among the MX hosts' addresses of " DOM,
        MXP_STATE_OK);
    assert_int_equal(fake_count_details("outbound-only"), 0);
    fake_assert_summary(DOM
                        ": SPF pass for all 2 MX addresses, DMARC p=reject, "
                        "2 MX");
}

/* mx2's addresses did not come: its address is not said to have left. */
static void test_peer_mx_lookup_failed(void **state)
{
    (void)state;
    domain_with("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/48 -all");
    fake_dns_add(MX2, MXP_DNS_A, MXP_DNS_SERVFAIL, NULL);
    peers();
    run_zone();
    fake_assert_state(MXP_STATE_UNKNOWN); /* the failed lookup */
    fake_assert_detail(A2 " is not among the addresses of the MX hosts of " DOM
                          " that answered",
                       MXP_STATE_OK);
    fake_assert_no_detail("no longer");
    fake_assert_detail("SPF pass for " A2, MXP_STATE_OK);
}

/* No MX: each address against the implicit MX. */
static void test_implicit_mx_each(void **state)
{
    (void)state;
    domain_with("v=spf1 a -all");
    fake_dns_add(DOM, MXP_DNS_MX, MXP_DNS_NODATA, NULL);
    fake_dns_add(DOM, MXP_DNS_A, MXP_DNS_ANSWER, A1, A2, NULL);
    fake_add_peer(DOM, A2, 25);
    run_zone();
    fake_assert_state(MXP_STATE_WARNING);
    fake_assert_detail(A1 " is the implicit MX of " DOM, MXP_STATE_OK);
    fake_assert_detail(A2 " is the implicit MX of " DOM, MXP_STATE_OK);
    assert_int_equal(fake_count_details("SPF pass for"), 2);
}

/* ---- no peers: as before ---------------------------------------------------
 */

/* The output of a run of one address (-H A1 -D example.org) before ABI
 * 1.4, recorded from main at d736cf9: with no peers nothing changes. */
static const struct {
    enum mxp_state st;
    const char *text;
} before[] = {
    {MXP_STATE_OK, "domain example.org (configured)"},
    {MXP_STATE_OK, "MX of example.org: 0 mx1.example.org (192.0.2.25, "
                   "2001:db8::25), 0 mx2.example.org (192.0.2.26)"},
    {MXP_STATE_OK, "192.0.2.25 is an MX of example.org (mx1.example.org)"},
    /* ABI 1.5: the AD bit of the MX answer (the fake's default: none) */
    {MXP_STATE_OK, "MX records of example.org are not DNSSEC-signed (or the "
                   "resolver does not validate)"},
    {MXP_STATE_CRITICAL, "SPF fail: 192.0.2.25 not permitted by example.org "
                         "(-all)"},
    {MXP_STATE_OK, "SPF record of example.org: v=spf1 ip4:192.0.2.26 -all"},
    {MXP_STATE_OK, "SPF of example.org: 0 DNS lookups, 0 void"},
    {MXP_STATE_OK, "DMARC of example.org: p=reject (at _dmarc.example.org)"},
    {MXP_STATE_OK, "no MTA-STS record for example.org"},
    {MXP_STATE_OK, "no TLS-RPT record for example.org (with MTA-STS or DANE, "
                   "one lets senders report TLS failures, RFC 8460)"},
};

static void test_no_peers_unchanged(void **state)
{
    size_t n = sizeof before / sizeof *before;

    (void)state;
    domain_with("v=spf1 ip4:" A2 " -all");
    fake_set_host(NULL);
    run_zone();
    fake_assert_state(MXP_STATE_CRITICAL);
    fake_assert_summary(
        "SPF fail: 192.0.2.25 not permitted by example.org (-all)");
    if (fake_n_details() != n)
        fake_dump();
    assert_int_equal(fake_n_details(), n);
    for (size_t i = 0; i < n; i++) {
        enum mxp_state st;

        assert_string_equal(fake_detail(i, &st), before[i].text);
        assert_int_equal(st, before[i].st);
    }
    assert_int_equal(fake_n_perf(), 4);

    /* the all-OK summary as before */
    teardown(NULL);
    setup(NULL);
    domain_with("v=spf1 mx -all");
    run_zone();
    fake_assert_summary(DOM ": SPF pass, DMARC p=reject, 2 MX");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_all_pass),
        T(test_one_peer_not_listed),
        T(test_ipv6_peer_forgotten),
        T(test_domain_wide_results_once),
        T(test_other_senders_once),
        T(test_dns_not_repeated),
        T(test_dns_per_address_planned),
        T(test_deadline_between_addresses),
        T(test_peer_no_longer_mx),
        T(test_peer_mx_lookup_failed),
        T(test_implicit_mx_each),
        T(test_no_peers_unchanged),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
