/*
 * test_dnsbl.c - the dnsbl plugin against the fake core: query names,
 * the classification of answers as a table (listings vs list errors),
 * severities (per zone, per code) and the count ranges as an extra bound,
 * summary/perfdata wording, config validation,
 * the shipped conf/dnsbl.yaml, and that every query goes out in one batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../plugins/dnsbl/dnsbl.c"
#include "dns.h"
#include "fake_core.h"

/* The plugin's built-in list is conf/dnsbl.yaml compiled in by the
 * Makefile for the .so only; the test binary brings its own (and reads
 * the real file in test_shipped_list). */
const char mxp_default_dnsbl[] = "# test default\n"
                                 "zones:\n"
                                 "  - one.example\n"
                                 "  - { zone: two.example, codes: "
                                 "{ 127.0.0.2: SBL } }\n";
const size_t mxp_default_dnsbl_len = sizeof(mxp_default_dnsbl) - 1;

#define V6_SELFTEST_POS                                                        \
    "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
#define V6_SELFTEST_NEG                                                        \
    "1.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("dnsbl");
    fake_set_target("192.0.2.99", 25);
    fake_set_thresholds("0", "2"); /* the plugin's defaults */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* ---- query names ------------------------------------------------------ */

static void test_query_names(void **state)
{
    static const struct {
        const char *addr;
        int positive; /* -1 target, 1/0 the self-test addresses */
        const char *want;
    } t[] = {
        {"192.0.2.99", -1, "99.2.0.192.zone.example"},
        {"127.0.0.1", -1, "1.0.0.127.zone.example"},
        {"2001:db8::1", -1,
         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
         "zone.example"},
        {"2001:db8:ab::fe", -1,
         "e.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.a.0.0.8.b.d.0.1.0.0.2."
         "zone.example"},
        {"192.0.2.99", 1, "2.0.0.127.zone.example"},
        {"192.0.2.99", 0, "1.0.0.127.zone.example"},
        {"2001:db8::1", 1, V6_SELFTEST_POS "zone.example"},
        {"2001:db8::1", 0, V6_SELFTEST_NEG "zone.example"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        int family = strchr(t[i].addr, ':') ? AF_INET6 : AF_INET;
        unsigned char a[16] = {0};
        char out[DNSBL_NAME_LEN];

        if (t[i].positive < 0)
            assert_int_equal(inet_pton(family, t[i].addr, a), 1);
        else
            selftest_addr(family, t[i].positive, a);
        assert_true(mxp_dns_reverse_name(family, a, "zone.example", out,
                                         sizeof out) > 0);
        assert_string_equal(out, t[i].want);
    }
}

static void test_query_name_fits(void **state)
{
    unsigned char a[16] = {0};
    char zone[DNSBL_MAX_ZONE_LEN + 1], out[DNSBL_NAME_LEN];

    (void)state;
    /* the longest zone init() accepts still fits an IPv6 query name */
    memset(zone, 'a', sizeof zone - 1);
    zone[sizeof zone - 1] = '\0';
    for (size_t i = 60; i < sizeof zone - 1; i += 61)
        zone[i] = '.';
    assert_true(valid_zone_name(fake_ctx()->svc, zone));
    assert_int_equal(mxp_dns_reverse_name(AF_INET6, a, zone, out, sizeof out),
                     253);
    assert_int_equal(mxp_dns_reverse_name(AF_INET6, a, zone, out, 100), 0);
}

static void test_zone_names(void **state)
{
    static const struct {
        const char *name;
        int ok;
    } t[] = {
        {"zen.spamhaus.org", 1}, {"dnsbl-1.uceprotect.net", 1},
        {"bl.example.", 1},      {"BL.Example.NET", 1},
        {"example", 0},          {"", 0},
        {"bad..zone", 0},        {".bl.example", 0},
        {"-bl.example", 0},      {"bl-.example", 0},
        {"bl example.org", 0},   {"bl.example/x", 0},
        {"127.0.0.2", 1}, /* numeric labels are fine in DNS */
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (valid_zone_name(fake_ctx()->svc, t[i].name) != t[i].ok)
            fail_msg("valid_zone_name(%s) != %d", t[i].name, t[i].ok);
}

/* ---- classification --------------------------------------------------- */

struct answer {
    enum mxp_dns_result res;
    const char *a[3]; /* A records, NULL-terminated */
};

#define NX                                                                     \
    {                                                                          \
        MXP_DNS_NXDOMAIN,                                                      \
        {                                                                      \
            NULL                                                               \
        }                                                                      \
    }
#define NODATA                                                                 \
    {                                                                          \
        MXP_DNS_NODATA,                                                        \
        {                                                                      \
            NULL                                                               \
        }                                                                      \
    }
#define A1(x)                                                                  \
    {                                                                          \
        MXP_DNS_ANSWER,                                                        \
        {                                                                      \
            x, NULL                                                            \
        }                                                                      \
    }
#define A2(x, y)                                                               \
    {                                                                          \
        MXP_DNS_ANSWER,                                                        \
        {                                                                      \
            x, y, NULL                                                         \
        }                                                                      \
    }
#define FAIL(r)                                                                \
    {                                                                          \
        r,                                                                     \
        {                                                                      \
            NULL                                                               \
        }                                                                      \
    }
#define SELF_OK A1("127.0.0.2"), NX

static const struct {
    struct answer target, pos, neg;
    enum dnsbl_verdict want;
    const char *text; /* exact text for listings, substring for errors */
} classify_table[] = {
    /* listings, with the zone's code meanings */
    {A1("127.0.0.2"), SELF_OK, ZONE_LISTED, "127.0.0.2 SBL"},
    {A1("127.0.0.4"), SELF_OK, ZONE_LISTED, "127.0.0.4 XBL"},
    {A1("127.0.0.10"), SELF_OK, ZONE_LISTED, "127.0.0.10"},
    {A2("127.0.0.2", "127.0.0.4"), SELF_OK, ZONE_LISTED,
     "127.0.0.2 SBL, 127.0.0.4 XBL"},
    {A1("127.1.2.3"), SELF_OK, ZONE_LISTED, "127.1.2.3"},
    /* not listed */
    {NX, SELF_OK, ZONE_CLEAN, ""},
    {NODATA, SELF_OK, ZONE_CLEAN, ""},
    /* list errors on the target's answer */
    {A1("127.255.255.254"), SELF_OK, ZONE_ERROR, "public resolver"},
    {A1("127.255.255.252"), SELF_OK, ZONE_ERROR, "typing error"},
    {A1("127.255.255.255"), SELF_OK, ZONE_ERROR, "excessive number"},
    {A1("127.255.255.250"), SELF_OK, ZONE_ERROR, "error code of the list"},
    {A2("127.0.0.2", "127.255.255.254"), SELF_OK, ZONE_ERROR,
     "127.255.255.254"},
    {A1("127.0.0.1"), SELF_OK, ZONE_ERROR, "answer 127.0.0.1 for the target"},
    {A1("10.0.0.1"), SELF_OK, ZONE_ERROR,
     "answer 10.0.0.1 is outside 127.0.0.0/8"},
    {A2("127.0.0.2", "192.0.2.1"), SELF_OK, ZONE_ERROR, "outside"},
    {FAIL(MXP_DNS_SERVFAIL), SELF_OK, ZONE_ERROR, "query failed (SERVFAIL)"},
    {FAIL(MXP_DNS_REFUSED), SELF_OK, ZONE_ERROR, "query failed (REFUSED)"},
    {FAIL(MXP_DNS_TIMEOUT), SELF_OK, ZONE_ERROR, "query failed (timeout)"},
    {FAIL(MXP_DNS_BADRESP), SELF_OK, ZONE_ERROR, "bad response"},
    /* self-tests failing each way */
    {NX, NX, NX, ZONE_ERROR, "self-test failed: 127.0.0.2 not listed"},
    {A1("127.0.0.2"), NX, NX, ZONE_ERROR,
     "self-test failed: 127.0.0.2 not listed"},
    {NX, NODATA, NX, ZONE_ERROR, "self-test failed: 127.0.0.2 not listed"},
    {NX, A1("127.0.0.2"), A1("127.0.0.2"), ZONE_ERROR,
     "self-test failed: 127.0.0.1 is listed"},
    /* a wildcard zone answers everything: never a listing */
    {A1("127.0.0.2"), A1("127.0.0.2"), A1("127.0.0.2"), ZONE_ERROR,
     "self-test failed: 127.0.0.1 is listed"},
    {NX, A1("127.255.255.254"), NX, ZONE_ERROR,
     "self-test failed: 127.0.0.2 gave 127.255.255.254"},
    {NX, A1("1.2.3.4"), NX, ZONE_ERROR, "outside 127.0.0.0/8"},
    {NX, FAIL(MXP_DNS_TIMEOUT), NX, ZONE_ERROR,
     "self-test query failed (timeout)"},
    {NX, A1("127.0.0.2"), FAIL(MXP_DNS_SERVFAIL), ZONE_ERROR,
     "self-test query failed (SERVFAIL)"},
};

static void fill_query(struct mxp_dns_query *q, const struct answer *a,
                       struct mxp_dns_rr *rr)
{
    size_t n = 0;

    memset(q, 0, sizeof(*q));
    q->type = MXP_DNS_A;
    q->result = a->res;
    for (; n < 3 && a->a[n] != NULL; n++) {
        memset(&rr[n], 0, sizeof(rr[n]));
        rr[n].type = MXP_DNS_A;
        rr[n].text = a->a[n];
        rr[n].text_len = strlen(a->a[n]);
        assert_int_equal(inet_pton(AF_INET, a->a[n], rr[n].addr), 1);
    }
    q->rr = rr;
    q->n_rr = n;
}

static void test_classify_table(void **state)
{
    struct dnsbl_code codes[] = {
        {{127, 0, 0, 2}, (char *)"SBL", SEV_UNSET},
        {{127, 0, 0, 4}, (char *)"XBL", SEV_UNSET},
    };
    struct dnsbl_zone z = {(char *)"zen.example", codes, 2, SEV_WARNING};

    (void)state;
    for (size_t i = 0; i < sizeof classify_table / sizeof *classify_table;
         i++) {
        struct mxp_dns_query q[4];
        struct mxp_dns_rr rr[3][3];
        char text[DNSBL_TEXT_LEN];
        enum dnsbl_verdict got;
        int ok;

        fill_query(&q[0], &classify_table[i].target, rr[0]);
        memset(&q[1], 0, sizeof q[1]);
        q[1].result = MXP_DNS_NXDOMAIN;
        fill_query(&q[2], &classify_table[i].pos, rr[1]);
        fill_query(&q[3], &classify_table[i].neg, rr[2]);
        got = classify(fake_ctx()->svc, 0, &z, q, text, sizeof text);
        if (classify_table[i].want == ZONE_ERROR)
            ok = strstr(text, classify_table[i].text) != NULL;
        else
            ok = strcmp(text, classify_table[i].text) == 0;
        if (got != classify_table[i].want || !ok)
            fail_msg("row %zu: verdict %d '%s', expected %d '%s'", i, got, text,
                     classify_table[i].want, classify_table[i].text);
    }
}

/* ---- run() ------------------------------------------------------------ */

/* Makes zone a working list (self-tests pass); the target is listed with
 * code (NULL: not listed). */
static void zone_ok(const char *zone, const char *code)
{
    char name[DNSBL_NAME_LEN];

    snprintf(name, sizeof name, "2.0.0.127.%s", zone);
    fake_dns_add(name, MXP_DNS_A, MXP_DNS_ANSWER, "127.0.0.2", NULL);
    if (code != NULL) {
        snprintf(name, sizeof name, "99.2.0.192.%s", zone);
        fake_dns_add(name, MXP_DNS_A, MXP_DNS_ANSWER, code, NULL);
    }
}

static struct dnsbl_state *init_with(const char *yaml)
{
    void *st = NULL;

    assert_int_equal(fake_config_set(yaml), MXP_OK);
    if (dnsbl_init(fake_init_ctx(), &st) != MXP_OK) {
        for (size_t i = 0; i < fake_n_config_errors(); i++)
            print_message("config error: %s\n", fake_config_error(i));
        fail_msg("init failed");
    }
    assert_non_null(st);
    return st;
}

static const char three_zones[] =
    "zones:\n"
    "  - { zone: a.example, codes: { 127.0.0.2: SBL, 127.0.0.4: XBL } }\n"
    "  - b.example\n"
    "  - c.example\n";

static void assert_perf(size_t i, const char *metric, double value,
                        const char *uom)
{
    const struct mxp_perf *p = fake_perf(i);

    assert_non_null(p);
    assert_string_equal(p->metric, metric);
    assert_true(fabs(p->value - value) < 1e-9);
    assert_string_equal(p->uom, uom);
}

static void test_run_one_listed(void **state)
{
    struct dnsbl_state *st = init_with(three_zones);
    enum mxp_state ds;

    (void)state;
    zone_ok("a.example", "127.0.0.4");
    fake_dns_add("99.2.0.192.a.example", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "Listed, see https://a.example/query/ip/192.0.2.99", NULL);
    zone_ok("b.example", NULL);
    /* c.example is dead: its self-test is NXDOMAIN too */
    fake_set_dns_delay(0.25);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);

    /* one batch, 4 queries per zone, in the documented order */
    assert_int_equal(fake_dns_batches(), 1);
    assert_int_equal(fake_dns_queries(), 12);
    assert_int_equal(fake_dns_batch_size(0), 12);
    assert_string_equal(fake_dns_query_name(0, 0), "99.2.0.192.a.example");
    assert_string_equal(fake_dns_query_name(0, 1), "99.2.0.192.a.example");
    assert_string_equal(fake_dns_query_name(0, 2), "2.0.0.127.a.example");
    assert_string_equal(fake_dns_query_name(0, 3), "1.0.0.127.a.example");
    assert_int_equal(fake_dns_asked("99.2.0.192.c.example", MXP_DNS_TXT), 1);

    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "on 1/3 DNSBLs (a.example), 1 list error");
    assert_int_equal(fake_n_details(), 3);
    assert_string_equal(fake_detail(0, &ds),
                        "listed on a.example (127.0.0.4 XBL): Listed, see "
                        "https://a.example/query/ip/192.0.2.99");
    assert_int_equal(ds, MXP_STATE_WARNING);
    assert_string_equal(fake_detail(1, &ds), "not listed on b.example");
    assert_int_equal(ds, MXP_STATE_OK);
    assert_string_equal(fake_detail(2, &ds),
                        "list error on c.example: self-test failed: "
                        "127.0.0.2 not listed");
    assert_int_equal(ds, MXP_STATE_UNKNOWN);

    assert_int_equal(fake_n_perf(), 5);
    assert_perf(0, "listed", 1, "");
    assert_string_equal(fake_perf(0)->warn, "0");
    assert_string_equal(fake_perf(0)->crit, "2");
    assert_true(fake_perf(0)->min == 0 && fake_perf(0)->max == 3);
    assert_perf(1, "info", 0, "");
    assert_null(fake_perf(1)->warn);
    assert_true(fake_perf(1)->min == 0 && fake_perf(1)->max == 3);
    assert_perf(2, "errors", 1, "");
    assert_null(fake_perf(2)->warn);
    assert_true(fake_perf(2)->min == 0 && fake_perf(2)->max == 3);
    assert_perf(3, "zones", 3, "");
    assert_perf(4, "time", 0.25, "s");
    dnsbl_free(st);
}

/* Three lists of the default severity (warning): each listing warns, and
 * the ranges on the count raise the state further, never lower it. */
static void test_run_counts_and_thresholds(void **state)
{
    static const struct {
        const char *warn, *crit;
        int n_listed;
        enum mxp_state want;
    } t[] = {
        /* the defaults: three warning-lists agreeing are critical */
        {"0", "2", 0, MXP_STATE_OK},
        {"0", "2", 1, MXP_STATE_WARNING},
        {"0", "2", 2, MXP_STATE_WARNING},
        {"0", "2", 3, MXP_STATE_CRITICAL},
        /* the old "two lists are critical" */
        {"0", "1", 2, MXP_STATE_CRITICAL},
        {"0", "0", 1, MXP_STATE_CRITICAL},
        /* a range that tolerates listings: the severity still warns */
        {"1", "2", 1, MXP_STATE_WARNING},
        {"5", "5", 3, MXP_STATE_WARNING},
        {NULL, NULL, 3, MXP_STATE_WARNING},
        {NULL, NULL, 0, MXP_STATE_OK},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        static const char *const zones[] = {"a.example", "b.example",
                                            "c.example"};
        struct dnsbl_state *st;
        enum mxp_state ds;

        setup(NULL);
        fake_set_thresholds(t[i].warn, t[i].crit);
        st = init_with(three_zones);
        for (int z = 0; z < 3; z++)
            zone_ok(zones[z], z < t[i].n_listed ? "127.0.0.2" : NULL);
        assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
        if (fake_state() != t[i].want)
            fail_msg("row %zu: state %d, expected %d (%s)", i, fake_state(),
                     t[i].want, fake_summary());
        assert_true(fake_perf_find("listed")->value == t[i].n_listed);
        if (t[i].n_listed > 0) {
            /* a listing carries its own severity, not the count's */
            assert_int_equal(fake_detail_find("listed on a.example", &ds), 0);
            assert_int_equal(ds, MXP_STATE_WARNING);
        }
        dnsbl_free(st);
    }
}

/* What a listing weighs: the zone's severity, or its code's. */
static void test_run_severities(void **state)
{
    static const char zones[] =
        "zones:\n"
        "  - { zone: zen.example, severity: critical,\n"
        "      codes: { 127.0.0.2: SBL, 127.0.0.4: XBL,\n"
        "               127.0.0.10: { name: PBL, severity: info },\n"
        "               127.0.0.11: { severity: info } } }\n"
        "  - { zone: agg.example, severity: info,\n"
        "      codes: { 127.0.0.3: { name: L1, severity: warning },\n"
        "               127.0.0.5: { name: L0, severity: } } }\n"
        "  - plain.example\n";
    static const struct {
        const char *zen, *agg, *plain; /* codes, NULL: not listed */
        enum mxp_state want;
        double listed, info;
        const char *summary;
    } t[] = {
        {NULL, NULL, NULL, MXP_STATE_OK, 0, 0, "not listed on 3 DNSBLs"},
        /* a policy listing: shown, not counted, OK */
        {"127.0.0.10", NULL, NULL, MXP_STATE_OK, 0, 1,
         "on 1/3 DNSBLs (info: zen.example)"},
        {"127.0.0.11", NULL, NULL, MXP_STATE_OK, 0, 1,
         "on 1/3 DNSBLs (info: zen.example)"},
        /* the zone's severity for the named and the unnamed codes */
        {"127.0.0.4", NULL, NULL, MXP_STATE_CRITICAL, 1, 0,
         "on 1/3 DNSBLs (zen.example)"},
        {"127.0.0.99", NULL, NULL, MXP_STATE_CRITICAL, 1, 0,
         "on 1/3 DNSBLs (zen.example)"},
        /* two codes at once: the worst weighs */
        {"127.0.0.10,127.0.0.4", NULL, NULL, MXP_STATE_CRITICAL, 1, 0,
         "on 1/3 DNSBLs (zen.example)"},
        /* an info zone with a warning code */
        {NULL, "127.0.0.2", NULL, MXP_STATE_OK, 0, 1,
         "on 1/3 DNSBLs (info: agg.example)"},
        {NULL, "127.0.0.3", NULL, MXP_STATE_WARNING, 1, 0,
         "on 1/3 DNSBLs (agg.example)"},
        /* severity: without a value is the zone's, as for a zone */
        {NULL, "127.0.0.5", NULL, MXP_STATE_OK, 0, 1,
         "on 1/3 DNSBLs (info: agg.example)"},
        /* a zone without severity: warning */
        {NULL, NULL, "127.0.0.2", MXP_STATE_WARNING, 1, 0,
         "on 1/3 DNSBLs (plain.example)"},
        {"127.0.0.10", "127.0.0.2", "127.0.0.2", MXP_STATE_WARNING, 1, 2,
         "on 3/3 DNSBLs (plain.example; info: zen.example, agg.example)"},
        {"127.0.0.2", "127.0.0.3", "127.0.0.2", MXP_STATE_CRITICAL, 3, 0,
         "on 3/3 DNSBLs (zen.example, agg.example, plain.example)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const char *codes[3] = {t[i].zen, t[i].agg, t[i].plain};
        static const char *const names[3] = {"zen.example", "agg.example",
                                             "plain.example"};
        struct dnsbl_state *st;

        setup(NULL);
        st = init_with(zones);
        for (int z = 0; z < 3; z++) {
            char qname[DNSBL_NAME_LEN], a[32], *comma;

            zone_ok(names[z], NULL);
            if (codes[z] == NULL)
                continue;
            snprintf(qname, sizeof qname, "99.2.0.192.%s", names[z]);
            snprintf(a, sizeof a, "%s", codes[z]);
            comma = strchr(a, ',');
            if (comma != NULL)
                *comma++ = '\0';
            fake_dns_add(qname, MXP_DNS_A, MXP_DNS_ANSWER, a, comma, NULL);
        }
        assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
        if (fake_state() != t[i].want ||
            strcmp(fake_summary(), t[i].summary) != 0 ||
            fake_perf_find("listed")->value != t[i].listed ||
            fake_perf_find("info")->value != t[i].info)
            fail_msg("row %zu: state %d '%s' listed %g info %g, expected %d "
                     "'%s' %g %g",
                     i, fake_state(), fake_summary(),
                     fake_perf_find("listed")->value,
                     fake_perf_find("info")->value, t[i].want, t[i].summary,
                     t[i].listed, t[i].info);
        dnsbl_free(st);
    }

    /* the details: an info listing says so, at state OK */
    setup(NULL);
    {
        struct dnsbl_state *st = init_with(zones);
        enum mxp_state ds;

        zone_ok("zen.example", "127.0.0.10");
        zone_ok("agg.example", "127.0.0.3");
        zone_ok("plain.example", NULL);
        fake_dns_add("99.2.0.192.zen.example", MXP_DNS_TXT, MXP_DNS_ANSWER,
                     "dynamic range", NULL);
        assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
        assert_int_equal(fake_detail_find("listed on zen.example (127.0.0.10 "
                                          "PBL), info only: dynamic range",
                                          &ds),
                         0);
        assert_int_equal(ds, MXP_STATE_OK);
        assert_int_equal(
            fake_detail_find("listed on agg.example (127.0.0.3 L1)", &ds), 1);
        assert_int_equal(ds, MXP_STATE_WARNING);
        assert_int_equal(fake_state(), MXP_STATE_WARNING);
        assert_string_equal(fake_summary(),
                            "on 2/3 DNSBLs (agg.example; info: zen.example)");
        dnsbl_free(st);
    }
}

static void test_run_summaries(void **state)
{
    struct dnsbl_state *st;

    (void)state;
    st = init_with(three_zones);
    zone_ok("a.example", NULL);
    zone_ok("b.example", NULL);
    zone_ok("c.example", NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(), "not listed on 3 DNSBLs");
    dnsbl_free(st);

    setup(NULL);
    st = init_with(three_zones);
    zone_ok("a.example", "127.0.0.2");
    zone_ok("c.example", "127.0.0.3");
    fake_dns_add("99.2.0.192.b.example", MXP_DNS_A, MXP_DNS_ANSWER,
                 "127.255.255.254", NULL);
    zone_ok("b.example", NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    /* two lists of the default severity: each warns, and two do not
     * reach the default critical range (outside 0..2) */
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "on 2/3 DNSBLs (a.example, c.example), 1 list error");
    assert_true(fake_detail_find("list error on b.example: 127.255.255.254",
                                 NULL) >= 0);
    assert_true(fake_detail_find("listed on a.example (127.0.0.2 SBL)", NULL) >=
                0);
    /* no TXT: no ": " tail */
    assert_string_equal(fake_detail(2, NULL),
                        "listed on c.example (127.0.0.3)");
    dnsbl_free(st);
}

/* An IPv6 target: lists without the IPv6 test entry are IPv4-only and
 * are skipped, not counted as errors; with no IPv6 list left, UNKNOWN. */
static void zone6(const char *zone, int has_test_entry, const char *code)
{
    unsigned char a[16] = {0};
    char name[DNSBL_NAME_LEN];

    a[10] = a[11] = 0xff;
    a[12] = 127;
    a[15] = 2;
    mxp_dns_reverse_name(AF_INET6, a, zone, name, sizeof name);
    if (has_test_entry)
        fake_dns_add(name, MXP_DNS_A, MXP_DNS_ANSWER, "127.0.0.2", NULL);
    if (code != NULL) {
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a), 1);
        mxp_dns_reverse_name(AF_INET6, a, zone, name, sizeof name);
        fake_dns_add(name, MXP_DNS_A, MXP_DNS_ANSWER, code, NULL);
    }
}

static void test_run_ipv6_target(void **state)
{
    struct dnsbl_state *st;

    (void)state;
    fake_set_target("2001:db8::1", 25);
    st = init_with(three_zones);
    zone6("a.example", 1, "127.0.0.4");
    zone6("b.example", 0, NULL);
    zone6("c.example", 1, NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "on 1/2 DNSBLs (a.example), 1 IPv4-only skipped");
    assert_true(fake_detail_find("skipped b.example: no IPv6 test entry "
                                 "(::FFFF:7F00:2): an IPv4-only list",
                                 NULL) >= 0);
    assert_true(fake_perf_find("zones")->value == 2);
    dnsbl_free(st);

    setup(NULL);
    fake_set_target("2001:db8::1", 25);
    st = init_with(three_zones);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "none of the 3 DNSBLs lists IPv6 addresses");
    dnsbl_free(st);
}

static void test_run_all_failed(void **state)
{
    struct dnsbl_state *st;

    (void)state;
    st = init_with(three_zones);
    fake_dns_default(MXP_DNS_TIMEOUT);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(), "all 3 DNSBLs failed");
    assert_true(fake_detail_find("list error on a.example: query failed "
                                 "(timeout)",
                                 NULL) >= 0);
    assert_true(fake_perf_find("errors")->value == 3);
    assert_true(fake_perf_find("listed")->value == 0);
    dnsbl_free(st);

    /* two of three failed: "not listed on 1/3" is no verdict */
    setup(NULL);
    st = init_with(three_zones);
    zone_ok("a.example", NULL);
    fake_dns_add("99.2.0.192.b.example", MXP_DNS_A, MXP_DNS_TIMEOUT, NULL);
    fake_dns_add("99.2.0.192.c.example", MXP_DNS_A, MXP_DNS_TIMEOUT, NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "not listed on 1/3 DNSBLs, 2 list errors");
    dnsbl_free(st);

    /* one of three failed: the two that answered decide */
    setup(NULL);
    st = init_with(three_zones);
    zone_ok("a.example", NULL);
    zone_ok("b.example", NULL);
    fake_dns_add("99.2.0.192.c.example", MXP_DNS_A, MXP_DNS_TIMEOUT, NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "not listed on 2/3 DNSBLs, 1 list error");
    dnsbl_free(st);

    /* the batch itself failing */
    setup(NULL);
    st = init_with(three_zones);
    fake_dns_fail_batches(MXP_ERR_DNS);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(), "all 3 DNSBLs failed");
    assert_int_equal(fake_n_details(), 3);
    dnsbl_free(st);
}

static void test_run_txt_hostile(void **state)
{
    static const char bytes[] = "bad\0\r\nbytes\x7f\xff";
    struct dnsbl_state *st;
    char long_txt[1000];

    (void)state;
    st = init_with("zones: [a.example, b.example]");
    zone_ok("a.example", "127.0.0.2");
    zone_ok("b.example", "127.0.0.2");
    fake_dns_add_txt_bytes("99.2.0.192.a.example", bytes, sizeof bytes - 1);
    memset(long_txt, 'x', sizeof long_txt - 1);
    long_txt[sizeof long_txt - 1] = '\0';
    fake_dns_add("99.2.0.192.b.example", MXP_DNS_TXT, MXP_DNS_ANSWER, long_txt,
                 NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_string_equal(fake_detail(0, NULL),
                        "listed on a.example (127.0.0.2): bad???bytes??");
    assert_true(strlen(fake_detail(1, NULL)) < 300);
    dnsbl_free(st);
}

/* Ten codes, the last one critical: the detail says codes were left
 * out, it does not pass eight info codes off as the whole answer. */
static void test_run_many_codes(void **state)
{
    struct dnsbl_state *st;
    enum mxp_state ds;

    (void)state;
    st = init_with("zones:\n"
                   "  - { zone: a.example, severity: info,\n"
                   "      codes: { 127.0.0.11: { severity: critical } } }\n");
    zone_ok("a.example", NULL);
    fake_dns_add("99.2.0.192.a.example", MXP_DNS_A, MXP_DNS_ANSWER, "127.0.0.2",
                 "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6",
                 "127.0.0.7", "127.0.0.8", "127.0.0.9", "127.0.0.10",
                 "127.0.0.11", NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_int_equal(fake_detail_find("listed on a.example (127.0.0.2, "
                                      "127.0.0.3, 127.0.0.4, 127.0.0.5, "
                                      "127.0.0.6, 127.0.0.7, 127.0.0.8, "
                                      "127.0.0.9, +2 more)",
                                      &ds),
                     0);
    assert_int_equal(ds, MXP_STATE_CRITICAL);
    dnsbl_free(st);
}

static void test_run_ipv6(void **state)
{
    static const char target[] =
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
        "v6.example";
    struct dnsbl_state *st;

    (void)state;
    fake_set_target("2001:db8::1", 25);
    st = init_with("zones: [v6.example]");
    fake_dns_add(V6_SELFTEST_POS "v6.example", MXP_DNS_A, MXP_DNS_ANSWER,
                 "127.0.0.2", NULL);
    fake_dns_add(target, MXP_DNS_A, MXP_DNS_ANSWER, "127.0.0.2", NULL);
    assert_int_equal(dnsbl_run(fake_ctx(), st), MXP_OK);
    assert_int_equal(fake_dns_asked(target, MXP_DNS_A), 1);
    assert_int_equal(fake_dns_asked(target, MXP_DNS_TXT), 1);
    assert_int_equal(fake_dns_asked(V6_SELFTEST_NEG "v6.example", MXP_DNS_A),
                     1);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "on 1/1 DNSBLs (v6.example)");
    dnsbl_free(st);
}

/* ---- config ----------------------------------------------------------- */

static void test_config_ok(void **state)
{
    struct dnsbl_state *st;

    (void)state;
    st = init_with("zones:\n"
                   "  - bl.example.\n"
                   "  - zone: zen.example\n"
                   "    codes: { 127.0.0.2: SBL, 127.0.0.10: PBL ISP }\n"
                   "  - { zone: x.example, codes: ~, severity: info }\n"
                   "  - { zone: y.example, severity: critical, codes: {\n"
                   "      127.0.0.2: { name: SBL, severity: warning },\n"
                   "      127.0.0.3: { severity: info }, 127.0.0.4: XBL } }\n"
                   "warning: 1\n");
    assert_int_equal(st->n, 4);
    assert_int_equal(st->zones[0].sev, SEV_WARNING);
    assert_int_equal(st->zones[1].sev, SEV_WARNING);
    assert_int_equal(st->zones[2].sev, SEV_INFO);
    assert_int_equal(st->zones[3].sev, SEV_CRITICAL);
    assert_int_equal(st->zones[3].n_codes, 3);
    assert_string_equal(st->zones[3].codes[0].meaning, "SBL");
    assert_int_equal(st->zones[3].codes[0].sev, SEV_WARNING);
    assert_string_equal(st->zones[3].codes[1].meaning, "");
    assert_int_equal(st->zones[3].codes[1].sev, SEV_INFO);
    assert_int_equal(st->zones[3].codes[2].sev, SEV_UNSET);
    assert_int_equal(st->zones[1].codes[0].sev, SEV_UNSET);
    assert_string_equal(st->zones[0].name, "bl.example");
    assert_string_equal(st->zones[1].name, "zen.example");
    assert_int_equal(st->zones[1].n_codes, 2);
    assert_memory_equal(st->zones[1].codes[1].addr,
                        ((unsigned char[]){127, 0, 0, 10}), 4);
    assert_string_equal(st->zones[1].codes[1].meaning, "PBL ISP");
    assert_int_equal(st->zones[2].n_codes, 0);
    dnsbl_free(st);

    /* a single name is a list of one */
    setup(NULL);
    st = init_with("zones: one.example\n");
    assert_int_equal(st->n, 1);
    dnsbl_free(st);
}

static void test_config_default(void **state)
{
    struct dnsbl_state *st;

    (void)state;
    /* no config at all, and zones: written with no value */
    st = init_with(NULL);
    assert_int_equal(st->n, 2);
    assert_string_equal(st->zones[1].name, "two.example");
    assert_string_equal(st->zones[1].codes[0].meaning, "SBL");
    dnsbl_free(st);
    setup(NULL);
    st = init_with("zones:\nwarning: 0\n");
    assert_int_equal(st->n, 2);
    dnsbl_free(st);
}

static void test_config_errors(void **state)
{
    static const struct {
        const char *yaml;
        const char *error; /* substring of the one config error */
    } t[] = {
        {"zones: [bad..zone]", "test.yaml:1:9: plugins.dnsbl: zones: "
                               "'bad..zone' is not a valid DNS zone name"},
        {"zones:\n  - ok.example\n  - nodot\n",
         "test.yaml:3:5: plugins.dnsbl: zones: 'nodot' is not a valid"},
        {"zones:\n  - { zone: a.example, codes: { 10.0.0.2: x } }\n",
         "'10.0.0.2' is not an IPv4 address in 127.0.0.0/8"},
        {"zones:\n  - { zone: a.example, codes: { 127.0.0.300: x } }\n",
         "'127.0.0.300' is not an IPv4 address in 127.0.0.0/8"},
        {"zones:\n  - { zone: a.example, codes: { '::1': x } }\n",
         "is not an IPv4 address"},
        {"zones:\n  - { zone: a.example, codes: [127.0.0.2] }\n",
         "expected a mapping"},
        {"zones:\n  - { zone: a.example, codes: { 127.0.0.2: [x] } }\n",
         "must be a string"},
        {"zones:\n  - { zone: a.example, severity: high }\n",
         "test.yaml:2:34: plugins.dnsbl: zones: severity of a.example: "
         "'high' is not critical, warning or info"},
        {"zones:\n  - { zone: a.example, severity: Critical }\n",
         "'Critical' is not critical, warning or info"},
        {"zones:\n  - { zone: a.example, severity: [info] }\n",
         "severity of a.example: '' is not critical"},
        {"zones:\n  - { zone: a.example, codes: { 127.0.0.2: "
         "{ name: x, severity: low } } }\n",
         "test.yaml:2:65: plugins.dnsbl: zones: severity of a.example code "
         "127.0.0.2: 'low' is not critical, warning or info"},
        {"zones:\n  - { zone: a.example, codes: { 127.0.0.2: "
         "{ name: x, weight: 1 } } }\n",
         "codes of a.example: 127.0.0.2: unknown key (expected name, "
         "severity)"},
        /* a severity written where the meaning goes */
        {"zones:\n  - { zone: a.example, codes: { 127.0.0.2: Info } }\n",
         "test.yaml:2:44: plugins.dnsbl: zones: codes of a.example: "
         "127.0.0.2: 'Info' is a meaning; write { severity: info } for a "
         "severity, { name: Info } for a meaning"},
        {"zones:\n  - { zone: a.example, codes: { 127.0.0.2: "
         "{ name: [x] } } }\n",
         "the name of 127.0.0.2 must be a string"},
        {"zones:\n  - { zone: a.example, codes: { 10.0.0.2: "
         "{ severity: info } } }\n",
         "test.yaml:2:"},
        {"zones:\n  - { zone: a.example, foo: 1 }\n",
         "test.yaml:2:29: plugins.dnsbl: zones: unknown key 'foo'"},
        {"zones:\n  - { codes: { 127.0.0.2: x } }\n", "needs zone: NAME"},
        {"zones:\n  - { zone: [a.example] }\n", "needs zone: NAME"},
        {"zones: []\n", "test.yaml:1:8: plugins.dnsbl: zones: empty list"},
        {"zones: { a: b }\n", "expected a list"},
        {"zones:\n  - [a.example]\n", "an entry is a zone name or a mapping"},
        {"zones: [a.example, b.example, A.Example.]\n", "listed twice"},
        {"zones: [a.example]\nzones_file: /nonexistent\n",
         "give either zones or zones_file"},
        {"zones_file: /nonexistent/dnsbl.yaml\n",
         "zones_file: cannot open /nonexistent/dnsbl.yaml"},
        {"zones_file: [a]\n", "zones_file: expected a file name"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        void *st = (void *)1;

        setup(NULL);
        assert_int_equal(fake_config_set(t[i].yaml), MXP_OK);
        assert_int_equal(dnsbl_init(fake_init_ctx(), &st), MXP_ERR_CONFIG);
        assert_null(st);
        if (fake_n_config_errors() != 1 ||
            strstr(fake_config_error(0), t[i].error) == NULL)
            fail_msg("row %zu: got %zu errors, first '%s', expected '%s'", i,
                     fake_n_config_errors(),
                     fake_n_config_errors() ? fake_config_error(0) : "",
                     t[i].error);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_config_zones_file(void **state)
{
    char path[] = "/tmp/test_dnsbl_XXXXXX";
    char yaml[128];
    struct dnsbl_state *st;
    void *bad = NULL;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# mine\nzones:\n  - f1.example\n  - f2.example\n");
    snprintf(yaml, sizeof yaml, "zones_file: %s\n", path);
    st = init_with(yaml);
    assert_int_equal(st->n, 2);
    assert_string_equal(st->zones[1].name, "f2.example");
    dnsbl_free(st);

    /* errors inside the file point into it */
    setup(NULL);
    write_file(path, "zones:\n  - f1.example\nextra: 1\n");
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(dnsbl_init(fake_init_ctx(), &bad), MXP_ERR_CONFIG);
    assert_int_equal(fake_n_config_errors(), 1);
    assert_non_null(strstr(fake_config_error(0), ":3:8: "));
    assert_non_null(strstr(fake_config_error(0), "unknown key 'extra'"));

    setup(NULL);
    write_file(path, "- just.a.list\n");
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(dnsbl_init(fake_init_ctx(), &bad), MXP_ERR_CONFIG);
    assert_non_null(strstr(fake_config_error(0), "expected a mapping"));

    setup(NULL);
    write_file(path, "zones: [a.example\n");
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(dnsbl_init(fake_init_ctx(), &bad), MXP_ERR_CONFIG);
    assert_int_equal(fake_n_config_errors(), 1);
    unlink(path);
}

/* conf/dnsbl.yaml as shipped: it parses, every zone is valid, and it
 * holds what the comments promise. */
static void test_shipped_list(void **state)
{
    char path[512], *text;
    const char *slash = strrchr(__FILE__, '/');
    struct dnsbl_state *st = calloc(1, sizeof(*st));
    FILE *f;
    size_t len;
    int found = 0;

    (void)state;
    assert_non_null(st);
    snprintf(path, sizeof path, "%.*s/../../conf/dnsbl.yaml",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s (run from the source tree)", path);
    text = malloc(DNSBL_MAX_FILE);
    assert_non_null(text);
    len = fread(text, 1, DNSBL_MAX_FILE, f);
    fclose(f);
    if (load_text(fake_init_ctx(), st, "dnsbl.yaml", text, len) != MXP_OK)
        fail_msg("dnsbl.yaml: %s", fake_config_error(0));
    assert_true(st->n >= 15 && st->n <= 25);
    for (size_t i = 0; i < st->n; i++) {
        const struct dnsbl_zone *z = &st->zones[i];
        /* the weights the comments promise */
        static const struct {
            const char *zone;
            enum dnsbl_severity sev;
        } weigh[] = {
            {"zen.spamhaus.org", SEV_CRITICAL},
            {"bl.spamcop.net", SEV_CRITICAL},
            {"b.barracudacentral.org", SEV_CRITICAL},
            {"dnsbl-1.uceprotect.net", SEV_WARNING},
            {"dnsbl-2.uceprotect.net", SEV_INFO},
            {"dnsbl-3.uceprotect.net", SEV_INFO},
            {"dyna.spamrats.com", SEV_INFO},
        };

        assert_null(strstr(z->name, "sorbs"));
        for (size_t k = 0; k < sizeof weigh / sizeof *weigh; k++)
            if (strcmp(z->name, weigh[k].zone) == 0) {
                if (z->sev != weigh[k].sev)
                    fail_msg("%s: severity %d, want %d", z->name, z->sev,
                             weigh[k].sev);
                found++;
            }
        if (strcmp(z->name, "zen.spamhaus.org") != 0)
            continue;
        for (size_t j = 0; j < z->n_codes; j++) {
            const unsigned char *a = z->codes[j].addr;

            if (a[3] == 4 && strcmp(z->codes[j].meaning, "XBL") == 0 &&
                z->codes[j].sev == SEV_UNSET)
                found++;
            /* PBL is policy, not reputation */
            if (a[3] == 10 || a[3] == 11) {
                assert_int_equal(z->codes[j].sev, SEV_INFO);
                found++;
            }
        }
    }
    assert_int_equal(found, 7 + 3);
    free(text);
    dnsbl_free(st);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(mxp_plugin.name, "dnsbl");
    assert_int_equal(mxp_plugin.abi_major, MXP_ABI_MAJOR);
    assert_string_equal(mxp_plugin.default_warning, "0");
    assert_string_equal(mxp_plugin.default_critical, "2");
    assert_string_equal(mxp_plugin.config_keys[0], "zones");
    assert_string_equal(mxp_plugin.config_keys[1], "zones_file");
    assert_null(mxp_plugin.config_keys[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_names),
        cmocka_unit_test(test_query_name_fits),
        cmocka_unit_test(test_zone_names),
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test_setup_teardown(test_run_one_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_counts_and_thresholds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_severities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_summaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_ipv6_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_all_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_txt_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_many_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_zones_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shipped_list, setup, teardown),
        cmocka_unit_test(test_descriptor),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
