/*
 * test_banner.c - the banner plugin against the fake core: the generic-PTR
 * heuristics and name rules as tables, and run() through the contract's
 * cases (clean, mismatch, no PTR, FCrDNS, generic, no greeting, refused,
 * HELO fallback...), asserting state, summary wording and perfdata.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/banner/banner.c"
#include "fake_core.h"

/* ---- tables ----------------------------------------------------------- */

static const struct {
    const char *name;
    const char *addr;
    const char *why; /* substring of the reason, or NULL: not generic */
} generic_table[] = {
    /* the address in the name, in the usual forms */
    {"127-0-0-23.example.net", "127.0.0.23", "address digits"},
    {"host127-0-0-23.example.net", "127.0.0.23", "address digits"},
    {"127.0.0.23.example.net", "127.0.0.23", "address digits"},
    {"23.0.0.127.static.example.net", "127.0.0.23", "address digits"},
    {"23-0-0-127.example.net", "127.0.0.23", "address digits"},
    {"x127000000023.example.net", "127.0.0.23", "address digits"},
    {"127-000-000-023.example.net", "127.0.0.23", "address digits"},
    {"h7f000017.example.net", "127.0.0.23", "address digits"},
    {"0x7F000017.example.net", "127.0.0.23", "address digits"},
    {"p5B0A1234.dip0.t-ipconnect.de", "91.10.18.52", "address digits"},
    {"d2130706455.example.net", "127.0.0.23", "address digits"},
    {"c-67-180-23-45.hsd1.ca.comcast.net", "67.180.23.45", "address"},
    {"ec2-54-1-2-3.compute-1.amazonaws.com", "54.1.2.3", "address"},
    {"2001-db8--25.dyn.example.net", "2001:db8::25", "address digits"},
    {"2001-db8-0-0-0-0-0-25.example.net", "2001:db8::25", "address"},
    {"20010db8000000000000000000000025.v6.example.net", "2001:db8::25",
     "address digits"},
    /* the tokens */
    {"host.dsl.isp.example", "127.0.0.23", "'dsl'"},
    {"adsl.isp.example.net", "127.0.0.23", "'adsl'"},
    {"a.dynamic.isp.example", "127.0.0.23", "'dynamic'"},
    {"dyn5.isp.example", "127.0.0.23", "'dyn'"},
    {"mail.dyn5.example", "127.0.0.23", NULL}, /* the registered domain */
    {"x.dyn5.isp.example", "127.0.0.23", "'dyn'"},
    {"pool7.isp.example.net", "127.0.0.23", "'pool'"},
    {"cpe.isp.example.co.uk", "127.0.0.23", "'cpe'"},
    {"customer.fibre.isp.example", "127.0.0.23", "'customer'"},
    {"ppp.isp.example.org", "127.0.0.23", "'ppp'"},
    {"unassigned.isp.example.org", "127.0.0.23", "'unassigned'"},
    {"static.isp.example.org", "127.0.0.23", "'static'"},
    {"host-12.isp.example", "127.0.0.23", "'host-'"},
    {"ip-10-1-2-3.internal.example", "127.0.0.23", "'ip-'"},
    {"a.dhcp.example.com", "127.0.0.23", "'dhcp'"},
    {"mail.broadband.co.jp", "127.0.0.23", NULL}, /* the domain */
    {"x.broadband.example.co.jp", "127.0.0.23", "'broadband'"},
    /* not generic */
    {"mail.example.org", "127.0.0.23", NULL},
    {"mx1.dsl-provider-hq.example", "127.0.0.23", NULL},
    {"mail.dsl-provider.co.uk", "127.0.0.23", NULL},
    {"smtp.poolside.example", "127.0.0.23", NULL},
    {"mail.hostname.example.org", "127.0.0.23", NULL},
    {"host.example.org", "127.0.0.23", NULL},
    {"ipmail.example.org", "127.0.0.23", NULL},
    {"mx.mail.example.org", "127.0.0.23", NULL},
    {"mx127.example.org", "127.0.0.23", NULL},
    {"mail1270023.example.org", "127.0.0.23", NULL},
    {"127-0-0-230.example.net", "127.0.0.23", NULL},
    {"1127-0-0-23.example.net", "127.0.0.23", NULL},
    {"mail.example.org", "2001:db8::25", NULL},
    {"mx25.example.org", "2001:db8::25", NULL},
};

static void test_generic_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof generic_table / sizeof *generic_table; i++) {
        unsigned char addr[16] = {0};
        int family = strchr(generic_table[i].addr, ':') ? AF_INET6 : AF_INET;
        char why[96] = "";
        int got;

        assert_int_equal(inet_pton(family, generic_table[i].addr, addr), 1);
        /* the core's rule (svc->name_generic), which banner uses */
        got = fake_ctx()->svc->name_generic(generic_table[i].name, family, addr,
                                            why, sizeof why);
        if (generic_table[i].why == NULL && got)
            fail_msg("%s (%s): generic (%s), expected not",
                     generic_table[i].name, generic_table[i].addr, why);
        if (generic_table[i].why != NULL &&
            (!got || strstr(why, generic_table[i].why) == NULL))
            fail_msg("%s (%s): got %d '%s', expected '%s'",
                     generic_table[i].name, generic_table[i].addr, got, why,
                     generic_table[i].why);
    }
}

/* The core's rule for names the DNS never delegates (svc->name_special),
 * which zone and backscatter use; .test and .example stay usable. */
static void test_special_names(void **state)
{
    int (*special)(const char *) = fake_ctx()->svc->name_special;

    (void)state;
    assert_true(special("localhost.localdomain"));
    assert_true(special("LOCALHOST"));
    assert_true(special("mail.local."));
    assert_true(special("abcdef.onion"));
    assert_true(special("mx.example.alt"));
    assert_false(special("mail.alter.example"));
    assert_true(special("x.invalid"));
    assert_true(special("mx.corp"));
    assert_true(special("srv.lan"));
    assert_true(special("home.arpa"));
    assert_true(special("nas.home.arpa"));
    assert_true(special("a.internal"));
    assert_false(special("mail.example.org"));
    assert_false(special("mail.mxprobe.test"));
    assert_false(special("mail.example"));
    assert_false(special("localhost.example.org"));
    assert_false(special("mylocal"));
    assert_false(special("xhome.arpa"));
    assert_false(special("in-addr.arpa"));
    assert_false(special("mx.mxprobe.test."));
    assert_false(special("example"));
    assert_true(special("MAIL.HOME.ARPA."));
    assert_false(special(""));
}

static void test_names_equal(void **state)
{
    static const struct {
        const char *a, *b;
        int eq;
    } t[] = {
        {"mail.example.org", "mail.example.org", 1},
        {"Mail.Example.ORG", "mail.example.org", 1},
        {"mail.example.org.", "mail.example.org", 1},
        {"mail.example.org", "MAIL.EXAMPLE.ORG.", 1},
        {"mail.example.org", "mail.example.org.uk", 0},
        {"mail.example.org", "mail1.example.org", 0},
        {"", "", 0},
        {".", "", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (names_equal(t[i].a, t[i].b) != t[i].eq)
            fail_msg("names_equal(%s, %s) != %d", t[i].a, t[i].b, t[i].eq);
}

static void test_greeting_name(void **state)
{
    static const struct {
        const char *line, *name;
    } t[] = {
        {"mail.example.org ESMTP Postfix", "mail.example.org"},
        {"mail.example.org. ready", "mail.example.org."},
        {"mail.example.org", "mail.example.org"},
        {"[192.0.2.25] ESMTP", "[192.0.2.25]"},
        {"ESMTP ready", ""},
        {"localhost ESMTP", ""},
        {"", ""},
        {"-bad-.example.org hi", ""},
        {"mail..example.org hi", ""},
        {"m\xe4il.example.org hi", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char out[BANNER_NAME_LEN];

        first_word_name(fake_ctx()->svc, t[i].line, out, sizeof out);
        if (strcmp(out, t[i].name) != 0)
            fail_msg("'%s': got '%s', expected '%s'", t[i].line, out,
                     t[i].name);
    }
}

static void test_connect_words(void **state)
{
    char out[128];

    (void)state;
    connect_words("cannot connect to 127.0.0.1:25: connection refused", out,
                  sizeof out);
    assert_string_equal(out, "connection refused");
    connect_words("cannot connect to [::1]:25: timed out after 5.0 s", out,
                  sizeof out);
    assert_string_equal(out, "connect timed out after 5.0 s");
    connect_words("something else", out, sizeof out);
    assert_string_equal(out, "something else");
}

/* ---- run() against the fake core -------------------------------------- */

#define ADDR "192.0.2.25"
#define REV "25.2.0.192.in-addr.arpa"
#define NAME "mail.mxprobe.test"

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("banner");
    fake_set_target(ADDR, 25);
    fake_smtp_set_connect_time(0.010);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* A well-configured server: greeting and EHLO name = PTR, confirmed. */
static void script_clean_dns(void)
{
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, NAME, NULL);
    fake_dns_add(NAME, MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    fake_dns_add(NAME, MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
}

static void script_smtp(const char *greeting)
{
    fake_smtp_reply(220, 0.020, greeting);
    fake_smtp_reply(250, 0.005, NAME "\nPIPELINING\nSIZE 10240000\n8BITMIME");
}

static void run_banner(void)
{
    assert_int_equal(banner_run(fake_ctx(), NULL), MXP_OK);
    assert_int_equal(fake_result_calls(), 1);
}

static void assert_summary_has(const char *s)
{
    if (strstr(fake_summary(), s) == NULL)
        fail_msg("summary '%s' lacks '%s'", fake_summary(), s);
}

static void assert_detail(const char *s, enum mxp_state want)
{
    enum mxp_state st;

    if (fake_detail_find(s, &st) < 0) {
        for (size_t i = 0; i < fake_n_details(); i++)
            print_message("detail: %s\n", fake_detail(i, NULL));
        fail_msg("no detail containing '%s'", s);
    }
    assert_int_equal(st, want);
}

static void test_run_clean(void **state)
{
    const struct mxp_perf *p;

    (void)state;
    script_clean_dns();
    script_smtp(NAME " ESMTP Postfix");
    fake_set_thresholds("5", "10");
    run_banner();

    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "greeting " NAME " matches PTR, FCrDNS ok");
    assert_detail("EHLO extensions: PIPELINING, SIZE 10240000, 8BITMIME",
                  MXP_STATE_OK);
    assert_detail("resolves back to " ADDR " (FCrDNS ok)", MXP_STATE_OK);

    /* perfdata: greeting first (main metric), then connect, ehlo */
    assert_int_equal(fake_n_perf(), 3);
    p = fake_perf(0);
    assert_string_equal(p->metric, "greeting");
    assert_string_equal(p->uom, "s");
    assert_true(fabs(p->value - 0.030) < 1e-9);
    assert_string_equal(p->warn, "5");
    assert_string_equal(p->crit, "10");
    assert_string_equal(fake_perf(1)->metric, "connect");
    assert_true(fabs(fake_perf(1)->value - 0.010) < 1e-9);
    assert_string_equal(fake_perf(2)->metric, "ehlo");
    assert_true(fabs(fake_perf(2)->value - 0.005) < 1e-9);
    assert_null(fake_perf(2)->warn);

    /* the session: EHLO with our name, then QUIT on close */
    assert_int_equal(fake_smtp_opens(), 1);
    assert_int_equal(fake_smtp_closes(), 1);
    assert_true(fake_smtp_quit_sent());
    assert_string_equal(fake_smtp_sent(0), "EHLO probe.mxprobe.test");
    /* DNS: the PTR, then A and AAAA of the one distinct name */
    assert_int_equal(fake_dns_batches(), 2);
    assert_int_equal(fake_dns_batch_size(0), 1);
    assert_int_equal(fake_dns_batch_size(1), 2);
    assert_int_equal(fake_dns_asked(REV, MXP_DNS_PTR), 1);
    assert_int_equal(fake_dns_asked(NAME, MXP_DNS_A), 1);
    assert_int_equal(fake_dns_asked(NAME, MXP_DNS_AAAA), 1);
}

/* A PTR answer slower than the greeting and EHLO: the greeting name goes
 * out at once, the PTR name after the PTR is read, and all batches are
 * collected. */
static void test_run_clean_slow_ptr(void **state)
{
    (void)state;
    script_clean_dns();
    script_smtp(NAME " ESMTP Postfix");
    fake_dns_set_slow(1);
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_summary_has("matches PTR");
    assert_int_equal(fake_dns_open_batches(), 0);
    /* the PTR, the greeting name; the PTR name is the same: asked once */
    assert_int_equal(fake_dns_batches(), 2);
    assert_int_equal(fake_dns_asked(NAME, MXP_DNS_A), 1);
    assert_int_equal(fake_dns_batch_size(1), 2);
}

/* The PTR answer came before the greeting ended: A and AAAA of the PTR
 * name go out before EHLO, beside the greeting name's. */
static void test_run_dns_before_ehlo(void **state)
{
    (void)state;
    script_clean_dns();
    fake_dns_add("other.example.net", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    script_smtp("other.example.net ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_int_equal(fake_dns_batches(), 2);
    assert_string_equal(fake_dns_query_name(1, 0), NAME);
    assert_string_equal(fake_dns_query_name(1, 2), "other.example.net");
    assert_int_equal(fake_dns_open_batches(), 0);
}

static void test_run_clean_case_and_dot(void **state)
{
    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "Mail.MXProbe.Test.", NULL);
    fake_dns_add(NAME, MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.7", ADDR, NULL);
    script_smtp("MAIL.mxprobe.test ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_summary_has("matches PTR");
}

static void test_run_clean_ipv6(void **state)
{
    static const char rev[] = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                              "0.8.b.d.0.1.0.0.2.ip6.arpa";

    (void)state;
    fake_set_target("2001:db8::25", 25);
    fake_dns_add(rev, MXP_DNS_PTR, MXP_DNS_ANSWER, NAME, NULL);
    fake_dns_add(NAME, MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25", NULL);
    fake_dns_add(NAME, MXP_DNS_AAAA, MXP_DNS_ANSWER, "2001:db8::25", NULL);
    script_smtp(NAME " ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_summary_has("matches PTR");
}

static void test_run_mismatch(void **state)
{
    (void)state;
    script_clean_dns();
    fake_dns_add("other.example.net", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99",
                 NULL);
    script_smtp("other.example.net ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "greeting names other.example.net, PTR is " NAME);
    assert_detail("greeting name other.example.net does not resolve to " ADDR,
                  MXP_STATE_OK);
    /* PTR (= EHLO) name and greeting name: A and AAAA each */
    assert_int_equal(fake_dns_batch_size(1), 4);
}

static void test_run_mismatch_two_ptr(void **state)
{
    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "a.example.org",
                 "b.example.org", NULL);
    fake_dns_add("a.example.org", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    fake_dns_add("b.example.org", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    script_smtp("c.example.org ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(
        fake_summary(),
        "greeting names c.example.org, PTR is a.example.org and b.example.org");
}

static void test_run_no_ptr(void **state)
{
    (void)state;
    fake_dns_add(NAME, MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    script_smtp(NAME " ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "no PTR record for " ADDR);
    assert_detail("greeting name " NAME " resolves to " ADDR, MXP_STATE_OK);
}

static void test_run_ptr_nodata(void **state)
{
    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_NODATA, NULL);
    script_smtp(NAME " ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "no PTR record for " ADDR);
}

static void test_run_ptr_lookup_fails(void **state)
{
    static const struct {
        enum mxp_dns_result res;
        const char *why;
    } t[] = {
        {MXP_DNS_SERVFAIL, "SERVFAIL"},
        {MXP_DNS_TIMEOUT, "timeout"},
        {MXP_DNS_REFUSED, "REFUSED"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char want[128];

        setup(NULL);
        fake_dns_add(REV, MXP_DNS_PTR, t[i].res, NULL);
        script_smtp(NAME " ESMTP");
        run_banner();
        snprintf(want, sizeof want, "PTR lookup for " ADDR " failed: %s",
                 t[i].why);
        assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
        assert_string_equal(fake_summary(), want);
        assert_detail(want, MXP_STATE_UNKNOWN);
    }
}

static void test_run_fcrdns_fails(void **state)
{
    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, NAME, NULL);
    fake_dns_add(NAME, MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.26", NULL);
    script_smtp(NAME " ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "PTR " NAME " does not resolve back "
                                        "to " ADDR " (FCrDNS fails)");

    /* a name that does not exist at all fails the same way */
    setup(NULL);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, NAME, NULL);
    script_smtp(NAME " ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_summary_has("FCrDNS fails");

    /* a forward lookup that times out is no verdict */
    setup(NULL);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, NAME, NULL);
    fake_dns_add(NAME, MXP_DNS_A, MXP_DNS_TIMEOUT, NULL);
    script_smtp(NAME " ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_summary_has("forward lookup of PTR " NAME " failed: timeout");
}

static void test_run_generic(void **state)
{
    static const char gen[] = "dsl-192-0-2-25.isp.example";

    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, gen, NULL);
    fake_dns_add(gen, MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    script_smtp("dsl-192-0-2-25.isp.example ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "PTR dsl-192-0-2-25.isp.example looks generic "
                        "(contains the address digits)");

    setup(NULL);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.dsl.isp.example",
                 NULL);
    fake_dns_add("mail.dsl.isp.example", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    script_smtp("mail.dsl.isp.example ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "PTR mail.dsl.isp.example looks "
                                        "generic (contains 'dsl')");
}

static void test_run_several_problems(void **state)
{
    static const char gen[] = "dsl-192-0-2-25.isp.example";

    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, gen, NULL);
    script_smtp(NAME " ESMTP");
    fake_smtp_set_connect_time(0.5);
    fake_set_thresholds("~:0.1", "~:1");
    run_banner();
    /* FCrDNS fails, generic, mismatch, slow greeting: all WARNING */
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "PTR "
                                        "dsl-192-0-2-25.isp.example "
                                        "does not resolve back to " ADDR
                                        " (FCrDNS fails) (+3 more)");
    assert_detail("greeting took 0.520 s", MXP_STATE_WARNING);
}

static void test_run_slow_greeting(void **state)
{
    (void)state;
    script_clean_dns();
    fake_smtp_reply(220, 3.0, NAME " ESMTP");
    fake_smtp_reply(250, 0.005, NAME);
    fake_set_thresholds("1", "2");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_string_equal(fake_summary(), "greeting took 3.010 s");
    assert_detail("EHLO extensions: none", MXP_STATE_OK);
}

static void test_run_no_greeting(void **state)
{
    (void)state;
    script_clean_dns();
    fake_smtp_fail(MXP_ERR_TIMEOUT,
                   "no reply within 20.0 s (waiting for greeting)");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_string_equal(fake_summary(), "no greeting: no reply within 20.0 s "
                                        "(waiting for greeting)");
    assert_int_equal(fake_smtp_closes(), 1);
    assert_false(fake_smtp_quit_sent());
    assert_true(isnan(fake_perf_find("greeting")->value));
    assert_true(fabs(fake_perf_find("connect")->value - 0.010) < 1e-9);
    /* the PTR is still checked */
    assert_int_equal(fake_dns_asked(REV, MXP_DNS_PTR), 1);

    setup(NULL);
    script_clean_dns();
    fake_smtp_fail(MXP_ERR_CLOSED,
                   "connection closed by server (waiting for greeting)");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_summary_has("no greeting");
}

static void test_run_refused(void **state)
{
    (void)state;
    script_clean_dns();
    fake_smtp_fail_open(MXP_ERR_CONNECT,
                        "cannot connect to " ADDR ":25: connection refused");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_string_equal(fake_summary(), "no SMTP service: connection refused");
    assert_int_equal(fake_smtp_opens(), 1);
    assert_int_equal(fake_smtp_closes(), 1);
    assert_false(fake_smtp_quit_sent());
    assert_int_equal(fake_n_perf(), 3);
    assert_true(isnan(fake_perf(0)->value));

    /* no route from here: the prober's problem, not the server's */
    setup(NULL);
    script_clean_dns();
    fake_smtp_fail_open(MXP_ERR_IO, "cannot connect to " ADDR
                                    ":25: network is unreachable");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "cannot test SMTP from this prober: network is "
                        "unreachable");

    setup(NULL);
    script_clean_dns();
    fake_smtp_fail_open(MXP_ERR_TIMEOUT,
                        "cannot connect to " ADDR ":25: timed out after 5.0 s");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_string_equal(fake_summary(),
                        "no SMTP service: connect timed out after 5.0 s");
}

static void test_run_greeting_refuses(void **state)
{
    (void)state;
    script_clean_dns();
    fake_smtp_reply(554, 0.01, NAME " no service for you");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_string_equal(fake_summary(), "greeting refuses service: 554 " NAME
                                        " no service for you");
    assert_int_equal(fake_smtp_n_sent(), 0); /* no EHLO after a 554 */
    assert_true(fake_smtp_quit_sent());
}

static void test_run_bad_replies(void **state)
{
    static const struct {
        int on_ehlo, status;
        const char *error;
    } t[] = {
        {0, MXP_ERR_PROTOCOL, "malformed reply: 'hello'"},
        {0, MXP_ERR_TOO_BIG, "reply line longer than 2048 bytes"},
        {1, MXP_ERR_TOO_BIG, "more than 128 reply lines"},
        {1, MXP_ERR_PROTOCOL, "malformed reply: '250x'"},
        {1, MXP_ERR_TIMEOUT,
         "no reply within 20.0 s (waiting for reply to "
         "EHLO)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        setup(NULL);
        script_clean_dns();
        if (t[i].on_ehlo)
            fake_smtp_reply(220, 0.01, NAME " ESMTP");
        fake_smtp_fail(t[i].status, t[i].error);
        run_banner();
        assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
        assert_summary_has(t[i].error);
        assert_false(fake_smtp_quit_sent());
    }
}

static void test_run_helo_fallback(void **state)
{
    (void)state;
    script_clean_dns();
    fake_smtp_reply(220, 0.01, NAME " ESMTP");
    fake_smtp_reply(502, 0.01, "5.5.2 Error: command not recognized");
    fake_smtp_reply(250, 0.01, NAME);
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "EHLO refused, HELO accepted");
    assert_detail("EHLO refused, HELO accepted", MXP_STATE_WARNING);
    assert_int_equal(fake_smtp_n_sent(), 2);
    assert_string_equal(fake_smtp_sent(0), "EHLO probe.mxprobe.test");
    assert_string_equal(fake_smtp_sent(1), "HELO probe.mxprobe.test");
    assert_int_equal(fake_detail_find("EHLO extensions", NULL), -1);
}

static void test_run_greeting_without_name(void **state)
{
    (void)state;
    script_clean_dns();
    script_smtp("ESMTP ready");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "greeting does not start with a host name: ESMTP "
                        "ready");
}

static void test_run_ehlo_name_differs(void **state)
{
    (void)state;
    script_clean_dns();
    fake_smtp_reply(220, 0.01, NAME " ESMTP");
    fake_smtp_reply(250, 0.01, "other.example.net\nPIPELINING");
    run_banner();
    /* informational only: the clean state is defined by the greeting */
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_detail("EHLO names other.example.net, PTR is " NAME, MXP_STATE_OK);
}

static void test_run_hostile_ptr(void **state)
{
    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "evil\033[31m.example",
                 NULL);
    script_smtp(NAME " ESMTP");
    run_banner();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_detail("PTR evil?[31m.example does not resolve back",
                  MXP_STATE_WARNING);
    for (size_t i = 0; i < fake_n_details(); i++)
        assert_null(strchr(fake_detail(i, NULL), '\033'));
    assert_null(strchr(fake_summary(), '\033'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic_table),
        cmocka_unit_test(test_special_names),
        cmocka_unit_test(test_names_equal),
        cmocka_unit_test(test_greeting_name),
        cmocka_unit_test(test_connect_words),
        cmocka_unit_test_setup_teardown(test_run_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_clean_slow_ptr, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_dns_before_ehlo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_clean_case_and_dot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_clean_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_mismatch_two_ptr, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_no_ptr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_ptr_nodata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_ptr_lookup_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_fcrdns_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_generic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_several_problems, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_slow_greeting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_no_greeting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_greeting_refuses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_bad_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_helo_fallback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_greeting_without_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_ehlo_name_differs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_hostile_ptr, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
