/*
 * test_zone.c - the zone plugin's glue against the fake core: the mail
 * domain guess (configured, PTR, greeting, two domains, nothing), the MX
 * rules, how every SPF outcome is worded and ranked (one resting on a
 * timed-out lookup: UNKNOWN), DMARC lookups with the organizational
 * fallback and how weak policies rank (plugins.zone.dmarc_none), summary
 * and perfdata.  The SPF evaluator
 * is a stub here (its own tests are spf's): it records the request and
 * asks one TXT question through the plugin's lookup function.
 */
#include "zone_scaffold.h"

/* ---- the mail domain ---------------------------------------------------- */

static void test_guess_from_ptr_and_greeting(void **state)
{
    const struct mxp_perf *p;

    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "Mail.Example.ORG.", NULL);
    fake_smtp_reply(220, 0.01, "mail.example.org ESMTP");
    fake_smtp_reply(250, 0.01, "mail.example.org\nPIPELINING");
    fake_set_thresholds("8", NULL);
    run_zone(NULL);

    assert_state(MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "example.org: SPF pass, DMARC p=reject, 1 MX");
    assert_detail("domain example.org (from PTR mail.example.org, greeting "
                  "mail.example.org)",
                  MXP_STATE_OK);
    assert_no_detail("EHLO mail.example.org"); /* same as the greeting */
    assert_detail("SPF pass for " ADDR " at example.org (ip4:" ADDR ")",
                  MXP_STATE_OK);
    assert_detail(ADDR " is an MX of example.org (mx.example.org)",
                  MXP_STATE_OK);
    assert_detail("MX of example.org: 0 mx.example.org (" ADDR ")",
                  MXP_STATE_OK);
    assert_detail("DMARC of example.org: p=reject (at _dmarc.example.org)",
                  MXP_STATE_OK);
    assert_detail("rua=mailto:d@example.org", MXP_STATE_OK);
    assert_detail("no MTA-STS record for example.org", MXP_STATE_OK);
    assert_detail("no TLS-RPT record for example.org", MXP_STATE_OK);

    /* the request, and the lookup function answering from the core */
    assert_int_equal(S.calls, 1);
    assert_string_equal(S.domain[0], "example.org");
    assert_string_equal(S.sender, "postmaster@example.org");
    assert_string_equal(S.helo, "mail.example.org");
    assert_int_equal(S.lookup_rc, MXP_OK);
    assert_int_equal(S.txt_result, MXP_DNS_ANSWER);
    assert_string_equal(S.txt, "v=spf1 ip4:" ADDR " -all");

    /* our own SMTP session: EHLO with our name, QUIT */
    assert_int_equal(fake_smtp_opens(), 1);
    assert_int_equal(fake_smtp_closes(), 1);
    assert_true(fake_smtp_quit_sent());
    assert_string_equal(fake_smtp_sent(0), "EHLO probe.mxprobe.test");

    /* perfdata: the main metric first */
    assert_int_equal(fake_n_perf(), 4);
    p = fake_perf(0);
    assert_string_equal(p->metric, "spf_lookups");
    assert_true(p->value == 1);
    assert_string_equal(p->warn, "8");
    assert_true(p->max == 10);
    assert_string_equal(fake_perf(1)->metric, "spf_void");
    assert_string_equal(fake_perf(2)->metric, "mx");
    assert_true(fake_perf(2)->value == 1);
    assert_string_equal(fake_perf(3)->metric, "time");
    assert_string_equal(fake_perf(3)->uom, "s");
}

/* A forward-confirmed PTR name that is not generic. */
static void confirmed_ptr(const char *name)
{
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, name, NULL);
    fake_dns_add(name, MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
}

static void test_guess_two_domains(void **state)
{
    (void)state;
    clean_domain("example.org");
    confirmed_ptr("smtp.example.org");
    fake_smtp_reply(220, 0.01, "mx.elsewhere.co.uk ESMTP");
    fake_smtp_reply(250, 0.01, "mx.elsewhere.co.uk");
    run_zone(NULL);

    assert_detail("domain example.org (from PTR smtp.example.org)",
                  MXP_STATE_OK);
    assert_detail("domain elsewhere.co.uk (from greeting mx.elsewhere.co.uk)",
                  MXP_STATE_OK);
    /* elsewhere.co.uk: one batch, then dropped */
    assert_int_equal(S.calls, 1);
    assert_string_equal(S.domain[0], "example.org");
    assert_int_equal(fake_dns_asked("elsewhere.co.uk", MXP_DNS_MX), 1);
    /* a guessed domain that does not exist is dropped, not judged */
    assert_state(MXP_STATE_OK);
    assert_detail("the greeting name's domain elsewhere.co.uk does not "
                  "exist: not checked",
                  MXP_STATE_OK);
    assert_no_detail("does not exist (NXDOMAIN)");
    assert_no_detail("no DMARC record for elsewhere.co.uk");
    assert_string_equal(fake_summary(),
                        "example.org: SPF pass, DMARC p=reject, 1 MX");

    /* both exist: both judged, both in the summary */
    teardown(NULL);
    setup(NULL);
    clean_domain("example.org");
    clean_domain("elsewhere.co.uk");
    confirmed_ptr("smtp.example.org");
    fake_smtp_reply(220, 0.01, "mx.elsewhere.co.uk ESMTP");
    fake_smtp_reply(250, 0.01, "mx.elsewhere.co.uk");
    run_zone(NULL);
    assert_state(MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "example.org: SPF pass, DMARC p=reject, 1 MX; "
                        "elsewhere.co.uk: SPF pass, DMARC p=reject, 1 MX");
    assert_int_equal(S.calls, 2);
    assert_string_equal(S.domain[1], "elsewhere.co.uk");
    assert_int_equal(fake_dns_asked("_dmarc.elsewhere.co.uk", MXP_DNS_TXT), 1);
}

/* Review 2, B1: "220 localhost.localdomain" of a default install, or a
 * guessed domain that does not exist, never makes a good server
 * CRITICAL; a configured one that does not exist still does. */
static void test_guess_special_and_missing_domains(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.example.org", NULL);
    fake_smtp_reply(220, 0.01, "localhost.localdomain ESMTP Postfix");
    fake_smtp_reply(250, 0.01, "localhost.localdomain");
    run_zone(NULL);
    assert_state(MXP_STATE_OK);
    assert_detail("the greeting name localhost.localdomain is a special-use "
                  "or private name: not looked up",
                  MXP_STATE_OK);
    assert_detail("domain example.org (from PTR mail.example.org)",
                  MXP_STATE_OK);
    assert_int_equal(fake_dns_asked("localhost.localdomain", 0), 0);
    assert_int_equal(S.calls, 1);

    /* only special names: nothing to guess from */
    teardown(NULL);
    setup(NULL);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "nas.home.arpa", NULL);
    fake_smtp_reply(220, 0.01, "mx.corp ESMTP");
    fake_smtp_reply(250, 0.01, "mx.corp");
    run_zone(NULL);
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("cannot guess the mail domain of " ADDR);
    assert_detail("the PTR name nas.home.arpa is a special-use", MXP_STATE_OK);
    assert_int_equal(S.calls, 0);

    /* every guessed domain NXDOMAIN: UNKNOWN, not CRITICAL */
    teardown(NULL);
    setup(NULL);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.gone.test", NULL);
    fake_smtp_reply(220, 0.01, "mx.gone.test ESMTP");
    fake_smtp_reply(250, 0.01, "mx.gone.test");
    run_zone(NULL);
    assert_state(MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "cannot guess the mail domain of " ADDR
                        ": the domains of its names do not exist (give it "
                        "with -D)");
    assert_detail("the PTR name's domain gone.test does not exist: not "
                  "checked",
                  MXP_STATE_OK);
    assert_int_equal(S.calls, 0);

    /* configured: CRITICAL as before */
    teardown(NULL);
    setup(NULL);
    run_zone("gone.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_summary_has("domain gone.test does not exist (NXDOMAIN)");
}

/* Same-domain PTR names: the first one and a count. */
static void test_guess_more_ptr_names_counted(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "a.example.org",
                 "b.example.org", "c.example.org", NULL);
    fake_smtp_reply(220, 0.01, "mail.example.org ESMTP");
    fake_smtp_reply(250, 0.01, "mail.example.org");
    run_zone(NULL);
    assert_detail("domain example.org (from PTR a.example.org, greeting "
                  "mail.example.org, +2 more PTR names)",
                  MXP_STATE_OK);
    assert_no_detail("PTR b.example.org");
}

/* A failed PTR lookup is said as a failure, an empty one as no name. */
static void test_ptr_lookup_wording(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_TIMEOUT, NULL);
    fake_smtp_reply(220, 0.01, "mail.example.org ESMTP");
    fake_smtp_reply(250, 0.01, "mail.example.org");
    run_zone(NULL);
    assert_detail("PTR lookup of " ADDR " failed: timeout", MXP_STATE_OK);
    assert_no_detail("no PTR name");

    teardown(NULL);
    setup(NULL);
    clean_domain("example.org");
    fake_smtp_reply(220, 0.01, "mail.example.org ESMTP");
    fake_smtp_reply(250, 0.01, "mail.example.org");
    run_zone(NULL);
    assert_detail("no PTR name for " ADDR " (NXDOMAIN)", MXP_STATE_OK);
}

static void test_configured_domain_wins(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.other.test", NULL);
    run_zone("Example.ORG.");

    assert_state(MXP_STATE_OK);
    assert_detail("domain example.org (configured)", MXP_STATE_OK);
    assert_int_equal(fake_smtp_opens(), 0);
    assert_int_equal(fake_dns_asked(REV, 0), 0);
    assert_int_equal(S.calls, 1);
    assert_string_equal(S.helo, "example.org");
}

static void test_configured_domain_bad(void **state)
{
    (void)state;
    run_zone("not a domain");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("is not a domain name");
    assert_int_equal(S.calls, 0);
}

/* Addresses are no domains: "0.232" is no registered domain of a
 * greeting "10.0.0.232". */
static void test_address_names_rejected(void **state)
{
    (void)state;
    fake_smtp_reply(220, 0.01, "10.0.0.232 ESMTP");
    fake_smtp_reply(250, 0.01, "10.0.0.232");
    run_zone(NULL);
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("cannot guess the mail domain of " ADDR
                       ": no PTR name, no greeting name (give it with -D)");
    assert_int_equal(S.calls, 0);

    teardown(NULL);
    setup(NULL);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "192.0.2.25", NULL);
    fake_smtp_reply(554, 0.01, "no");
    run_zone(NULL);
    assert_summary_has("cannot guess the mail domain");

    teardown(NULL);
    setup(NULL);
    run_zone("127.0.0.21");
    assert_state(MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "configured domain '127.0.0.21' is not a domain name");
    assert_int_equal(fake_dns_batches(), 0);

    teardown(NULL);
    setup(NULL);
    run_zone("bad\x1bname.test");
    assert_string_equal(fake_summary(),
                        "configured domain 'bad?name.test' is not a domain "
                        "name");

    /* a digit-led last label that is not all digits is a name */
    teardown(NULL);
    setup(NULL);
    clean_domain("example.org");
    confirmed_ptr("mail.example.org");
    fake_smtp_reply(220, 0.01, "mx.3com ESMTP");
    fake_smtp_reply(250, 0.01, "mx.3com");
    run_zone(NULL);
    assert_string_equal(S.helo, "mx.3com");
}

/* The greeting's domain is kept when the PTR names give two domains. */
static void test_guess_greeting_before_more_ptrs(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "a.ptr-one.test",
                 "b.ptr-two.test", "c.ptr-three.test", NULL);
    fake_dns_add("a.ptr-one.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    fake_dns_add("b.ptr-two.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    fake_dns_add("c.ptr-three.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    fake_smtp_reply(220, 0.01, "mail.example.org ESMTP");
    fake_smtp_reply(250, 0.01, "mail.example.org");
    run_zone(NULL);
    assert_detail("domain ptr-one.test (from PTR a.ptr-one.test)",
                  MXP_STATE_OK);
    assert_detail("domain example.org (from greeting mail.example.org)",
                  MXP_STATE_OK);
    assert_no_detail("domain ptr-two.test");
    assert_detail("2 more names of other domains not checked (at most 2 "
                  "domains are)",
                  MXP_STATE_OK);
}

/* The server greets, and answers EHLO, with name. */
static void greets(const char *name)
{
    char line[300];

    snprintf(line, sizeof line, "%s ESMTP", name);
    fake_smtp_reply(220, 0.01, line);
    fake_smtp_reply(250, 0.01, name);
}

#define GENERIC "dsl-192-0-2-25.dyn.isp.test"

/* Issue 8.3: a generic or unconfirmed PTR names the access provider's
 * domain when the greeting names another; the greeting's is audited. */
static void test_guess_generic_ptr(void **state)
{
    (void)state;
    /* generic (the address in it), forward-confirmed all the same */
    clean_domain("other.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, GENERIC, NULL);
    fake_dns_add("dsl-192-0-2-25.dyn.isp.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR,
                 NULL);
    greets("mail.other.test");
    run_zone(NULL);
    assert_state(MXP_STATE_OK);
    assert_detail("PTR dsl-192-0-2-25.dyn.isp.test looks generic (contains "
                  "the address digits): its domain isp.test is taken for the "
                  "access provider's, not audited (the greeting names "
                  "other.test)",
                  MXP_STATE_OK);
    assert_detail("domain other.test (from greeting mail.other.test)",
                  MXP_STATE_OK);
    assert_no_detail("domain isp.test (");
    assert_no_detail("isp.test has no MX");
    assert_int_equal(S.calls, 1);
    assert_string_equal(S.domain[0], "other.test");
    assert_string_equal(fake_summary(),
                        "other.test: SPF pass, DMARC p=reject, 1 MX");

    /* not generic, not forward-confirmed: the same */
    teardown(NULL);
    setup(NULL);
    clean_domain("other.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.isp.test", NULL);
    fake_dns_add("mail.isp.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99",
                 NULL);
    greets("mail.other.test");
    run_zone(NULL);
    assert_state(MXP_STATE_OK);
    assert_detail("PTR mail.isp.test does not resolve back to " ADDR
                  ": its domain isp.test is taken for the access provider's",
                  MXP_STATE_OK);
    assert_int_equal(S.calls, 1);

    /* the forward lookup failed: no proof either way, both audited */
    teardown(NULL);
    setup(NULL);
    clean_domain("other.test");
    clean_domain("isp.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.isp.test", NULL);
    fake_dns_add("mail.isp.test", MXP_DNS_A, MXP_DNS_SERVFAIL, NULL);
    greets("mail.other.test");
    run_zone(NULL);
    assert_no_detail("access provider");
    assert_int_equal(S.calls, 2);

    /* generic, but the greeting names no other domain: the PTR's */
    teardown(NULL);
    setup(NULL);
    clean_domain("isp.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, GENERIC, NULL);
    greets("[192.0.2.25]");
    run_zone(NULL);
    assert_no_detail("access provider");
    assert_detail("domain isp.test (from PTR dsl-192-0-2-25.dyn.isp.test)",
                  MXP_STATE_OK);

    /* generic, but another PTR name of the same domain is confirmed and
     * not generic: that domain is audited, and no detail says otherwise */
    teardown(NULL);
    setup(NULL);
    clean_domain("other.test");
    clean_domain("isp.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, GENERIC, "mail.isp.test",
                 NULL);
    fake_dns_add("mail.isp.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    greets("mail.other.test");
    run_zone(NULL);
    assert_detail("domain isp.test (from PTR mail.isp.test)", MXP_STATE_OK);
    assert_no_detail("not audited");
    assert_int_equal(S.calls, 2);

    /* generic, the EHLO name in the PTR's domain: that domain is a
     * candidate all the same, and no detail says it is not audited */
    teardown(NULL);
    setup(NULL);
    clean_domain("other.test");
    clean_domain("isp.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, GENERIC, NULL);
    fake_smtp_reply(220, 0.01, "mail.other.test ESMTP");
    fake_smtp_reply(250, 0.01, "smtp.isp.test");
    run_zone(NULL);
    assert_detail("domain isp.test (from EHLO smtp.isp.test)", MXP_STATE_OK);
    assert_no_detail("not audited");
    assert_int_equal(S.calls, 2);

    /* a special-use greeting name, the EHLO name naming the domain: the
     * detail says which name named it */
    teardown(NULL);
    setup(NULL);
    clean_domain("other.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, GENERIC, NULL);
    fake_smtp_reply(220, 0.01, "localhost.localdomain ESMTP");
    fake_smtp_reply(250, 0.01, "mail.other.test");
    run_zone(NULL);
    assert_detail("its domain isp.test is taken for the access provider's, "
                  "not audited (the EHLO names other.test)",
                  MXP_STATE_OK);
    assert_int_equal(S.calls, 1);
    assert_string_equal(S.domain[0], "other.test");

    /* generic, and the greeting's domain does not exist: UNKNOWN, and
     * the reason does not claim that the PTR's domain does not exist */
    teardown(NULL);
    setup(NULL);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, GENERIC, NULL);
    greets("mx.gone.test");
    run_zone(NULL);
    assert_state(MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "cannot guess the mail domain of " ADDR
                        ": the domains of its names do not exist, and its "
                        "PTR's is the access provider's (give it with -D)");
    assert_int_equal(S.calls, 0);

    /* generic, the greeting in the same domain: kept */
    teardown(NULL);
    setup(NULL);
    clean_domain("isp.test");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, GENERIC, NULL);
    greets("mx.isp.test");
    run_zone(NULL);
    assert_no_detail("access provider");
    assert_int_equal(S.calls, 1);
    assert_string_equal(S.domain[0], "isp.test");
}

/* The waves: the PTR goes out before the SMTP session, the PTR name's
 * address and every candidate domain's records together after the
 * greeting, and the MX hosts' addresses with the next wave; the session
 * ends (QUIT) only after that wave went out. */
static void test_waves(void **state)
{
    (void)state;
    clean_domain("example.org");
    confirmed_ptr("mail.example.org");
    greets("mail.example.org");
    run_zone(NULL);
    assert_state(MXP_STATE_OK);
    /* PTR; A/AAAA of the PTR name + 7 domain questions; MX host's 3 */
    assert_int_equal(fake_dns_batches(), 3);
    assert_int_equal(fake_dns_batch_size(0), 1);
    assert_int_equal(fake_dns_batch_size(1), 2 + 7);
    assert_int_equal(fake_dns_batch_size(2), 3);
    assert_int_equal(fake_dns_asked("example.org", MXP_DNS_TXT), 1);
    assert_int_equal(fake_dns_asked("mx.example.org", MXP_DNS_A), 1);
    assert_int_equal(fake_dns_open_batches(), 0);
    assert_true(fake_smtp_quit_sent());
    assert_int_equal(fake_smtp_closes(), 1);

    /* a PTR slower than SMTP: read after EHLO, the PTR name's address
     * and its domain's records then; same verdict, nothing left open */
    teardown(NULL);
    setup(NULL);
    clean_domain("example.org");
    confirmed_ptr("mail.example.org");
    greets("mail.example.org");
    fake_dns_set_slow(1);
    run_zone(NULL);
    assert_state(MXP_STATE_OK);
    assert_detail("domain example.org (from PTR mail.example.org, greeting "
                  "mail.example.org)",
                  MXP_STATE_OK);
    assert_int_equal(fake_dns_batch_size(1), 7); /* the greeting's domain */
    assert_int_equal(fake_dns_batch_size(2), 2); /* the PTR name */
    assert_int_equal(fake_dns_open_batches(), 0);

    /* configured: no PTR, no SMTP; the domain, then the MX host */
    teardown(NULL);
    setup(NULL);
    clean_domain("example.org");
    run_zone("example.org");
    assert_int_equal(fake_dns_batches(), 2);
    assert_int_equal(fake_dns_batch_size(0), 7);
    assert_int_equal(fake_smtp_opens(), 0);
}

static void test_smtp_fails_ptr_only(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.example.org", NULL);
    fake_smtp_fail_open(MXP_ERR_CONNECT,
                        "cannot connect to 192.0.2.25:25: connection refused");
    run_zone(NULL);

    assert_state(MXP_STATE_OK);
    assert_detail("no greeting name from " ADDR " (cannot connect to "
                  "192.0.2.25:25: connection refused): guessing from the PTR "
                  "only",
                  MXP_STATE_OK);
    assert_detail("domain example.org (from PTR mail.example.org)",
                  MXP_STATE_OK);
    assert_int_equal(fake_smtp_closes(), 1);
    assert_false(fake_smtp_quit_sent());
}

static void test_silent_greeting_ptr_only(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.example.org", NULL);
    fake_smtp_fail(MXP_ERR_TIMEOUT, "no reply within 20.0 s");
    run_zone(NULL);

    assert_state(MXP_STATE_OK);
    assert_detail("no greeting name from " ADDR " (no reply within 20.0 s)",
                  MXP_STATE_OK);
    assert_detail("domain example.org (from PTR mail.example.org)",
                  MXP_STATE_OK);
    assert_string_equal(S.helo, "example.org");
    assert_int_equal(fake_smtp_n_sent(), 0);
    assert_false(fake_smtp_quit_sent());
}

static void test_nothing_to_guess(void **state)
{
    (void)state;
    fake_smtp_reply(220, 0.01, "ESMTP ready");
    fake_smtp_reply(250, 0.01, "[192.0.2.25]");
    run_zone(NULL);

    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("cannot guess the mail domain of " ADDR
                       ": no PTR name, no greeting name (give it with -D)");
    assert_int_equal(S.calls, 0);
}

static void test_guess_public_suffix_only(void **state)
{
    (void)state;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "co.uk", NULL);
    fake_smtp_reply(554, 0.01, "go away");
    run_zone(NULL);
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("no registered domain in its names");
    assert_detail("(greeting 554)", MXP_STATE_OK);
}

/* ---- MX --------------------------------------------------------------- */

static void test_mx_rules(void **state)
{
    static const struct {
        const char *what;
        enum mxp_state st;
        const char *text;
    } t[] = {
        {"null", MXP_STATE_WARNING,
         "Null MX: d.test accepts no mail (RFC 7505); receivers may refuse "
         "mail from it"},
        {"null+other", MXP_STATE_WARNING,
         "d.test mixes a Null MX with other MX records (RFC 7505)"},
        {"literal", MXP_STATE_CRITICAL,
         "MX host 192.0.2.25 of d.test is an IP address, not a host name"},
        {"cname", MXP_STATE_WARNING,
         "MX host alias.d.test of d.test is a CNAME (to real.d.test; RFC "
         "2181 10.3)"},
        {"noaddr", MXP_STATE_CRITICAL, "no usable MX host for d.test"},
        {"implicit", MXP_STATE_WARNING,
         "no MX for d.test: mail goes to its address record (implicit MX)"},
        {"nothing", MXP_STATE_CRITICAL,
         "d.test has no MX and no address record: it cannot receive mail"},
        {"nxdomain", MXP_STATE_CRITICAL,
         "domain d.test does not exist (NXDOMAIN)"},
        {"servfail", MXP_STATE_UNKNOWN, "MX lookup of d.test failed: SERVFAIL"},
        {"timeout", MXP_STATE_UNKNOWN,
         "address lookup of MX host slow.d.test of d.test failed"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        const char *w = t[i].what;

        setup(NULL);
        fake_dns_add("d.test", MXP_DNS_TXT, MXP_DNS_NODATA, NULL);
        fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                     "v=DMARC1; p=reject", NULL);
        fake_dns_add("mx.d.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
        fake_dns_add("mx.d.test", MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
        fake_dns_add("mx.d.test", MXP_DNS_CNAME, MXP_DNS_NODATA, NULL);
        fake_dns_default(MXP_DNS_NODATA);
        if (strcmp(w, "null") == 0)
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, ".", NULL);
        else if (strcmp(w, "null+other") == 0)
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "", "mx.d.test",
                         NULL);
        else if (strcmp(w, "literal") == 0)
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "192.0.2.25.",
                         "mx.d.test", NULL);
        else if (strcmp(w, "cname") == 0) {
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "alias.d.test",
                         NULL);
            fake_dns_add("alias.d.test", MXP_DNS_CNAME, MXP_DNS_ANSWER,
                         "real.d.test.", NULL);
            fake_dns_add("alias.d.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
        } else if (strcmp(w, "noaddr") == 0) {
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "gone.d.test",
                         NULL);
            fake_dns_add("gone.d.test", MXP_DNS_A, MXP_DNS_NXDOMAIN, NULL);
            fake_dns_add("gone.d.test", MXP_DNS_AAAA, MXP_DNS_NXDOMAIN, NULL);
        } else if (strcmp(w, "implicit") == 0) {
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_NODATA, NULL);
            fake_dns_add("d.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
        } else if (strcmp(w, "nothing") == 0) {
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_NODATA, NULL);
        } else if (strcmp(w, "nxdomain") == 0) {
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_NXDOMAIN, NULL);
        } else if (strcmp(w, "servfail") == 0) {
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_SERVFAIL, NULL);
        } else if (strcmp(w, "timeout") == 0) {
            fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "slow.d.test",
                         "mx.d.test", NULL);
            fake_dns_add("slow.d.test", MXP_DNS_A, MXP_DNS_TIMEOUT, NULL);
        }
        spf_stub(SPF_PASS, "ip4:" ADDR, '-', 1);
        run_zone("d.test");
        if (fake_detail_find(t[i].text, NULL) < 0 || fake_state() != t[i].st) {
            dump();
            fail_msg("%s: want state %d and '%s'", w, t[i].st, t[i].text);
        }
        teardown(NULL);
    }
}

static void test_mx_target_or_not(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("mx.d.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99", NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_detail(ADDR " is not an MX of d.test (fine for an outbound-only "
                       "server)",
                  MXP_STATE_OK);
    assert_detail("MX of d.test: 0 mx.d.test (192.0.2.99)", MXP_STATE_OK);

    teardown(NULL);
    setup(NULL);
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_NODATA, NULL);
    fake_dns_add("d.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    run_zone("d.test");
    assert_detail(ADDR " is the implicit MX of d.test", MXP_STATE_OK);
    assert_true(fake_perf_find("mx")->value == 0);
}

static void test_mx_hostile_answers(void **state)
{
    char name[64];

    (void)state;
    clean_domain("d.test");
    /* more MX records than we look at, and a name with odd bytes */
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "m\x1b[31mx.d.test",
                 "a2.d.test", "a3.d.test", "a4.d.test", "a5.d.test",
                 "a6.d.test", "a7.d.test", "a8.d.test", "a9.d.test",
                 "b1.d.test", "b2.d.test", "b3.d.test", "b4.d.test",
                 "b5.d.test", "b6.d.test", "b7.d.test", "b8.d.test",
                 "b9.d.test", "mx.d.test", "a1.d.test", NULL);
    run_zone("d.test");
    assert_detail("more MX records of d.test not looked at", MXP_STATE_OK);
    assert_true(fake_perf_find("mx")->value == 20);
    for (size_t i = 0; i < fake_n_details(); i++)
        for (const char *p = fake_detail(i, NULL); *p != '\0'; p++)
            assert_true(*p >= ' ' && *p < 0x7f);
    assert_detail("MX host 'm?[31mx.d.test' of d.test is not a valid host "
                  "name",
                  MXP_STATE_WARNING);
    snprintf(name, sizeof name, "b7.d.test");
    assert_int_equal(fake_dns_asked(name, MXP_DNS_A), 1);
    assert_int_equal(fake_dns_asked("b8.d.test", MXP_DNS_A), 0);
}

/* The preferred hosts are looked at wherever the answer puts them. */
static void test_mx_sorted_before_cap(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_default(MXP_DNS_NODATA);
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "a1.d.test", "a2.d.test",
                 "a3.d.test", "a4.d.test", "a5.d.test", "a6.d.test",
                 "a7.d.test", "a8.d.test", "a9.d.test", "b1.d.test",
                 "b2.d.test", "b3.d.test", "b4.d.test", "b5.d.test",
                 "b6.d.test", "b7.d.test", "b8.d.test", "b9.d.test",
                 "mx.d.test", NULL);
    for (int i = 1; i <= 9; i++) {
        char a[16], b[16];

        snprintf(a, sizeof a, "a%d.d.test", i);
        snprintf(b, sizeof b, "b%d.d.test", i);
        mx_pref(a, 20);
        mx_pref(b, 30);
        fake_dns_add(a, MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99", NULL);
        fake_dns_add(b, MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99", NULL);
    }
    mx_pref("mx.d.test", 5); /* last in the answer, first by preference */
    run_zone("d.test");
    assert_detail(ADDR " is an MX of d.test (mx.d.test)", MXP_STATE_OK);
    assert_detail("MX of d.test: 5 mx.d.test (" ADDR "), 20 a1.d.test",
                  MXP_STATE_OK);
    assert_detail("3 more MX records of d.test not looked at", MXP_STATE_OK);
    assert_int_equal(fake_dns_asked("b7.d.test", MXP_DNS_A), 0);
    assert_int_equal(fake_dns_asked("b6.d.test", MXP_DNS_A), 1);

    /* the target behind the cap: not said to be no MX at all */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    fake_dns_default(MXP_DNS_NODATA);
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "mx.d.test", "a1.d.test",
                 "a2.d.test", "a3.d.test", "a4.d.test", "a5.d.test",
                 "a6.d.test", "a7.d.test", "a8.d.test", "a9.d.test",
                 "b1.d.test", "b2.d.test", "b3.d.test", "b4.d.test",
                 "b5.d.test", "b6.d.test", "b7.d.test", NULL);
    mx_pref("mx.d.test", 50);
    run_zone("d.test");
    assert_detail(ADDR " is not among the 16 MX hosts of d.test looked at",
                  MXP_STATE_OK);
    assert_no_detail("outbound-only");
    assert_int_equal(fake_dns_asked("mx.d.test", MXP_DNS_A), 0);
}

/* RFC 7505: a Null MX is "0 ." only. */
static void test_mx_null_needs_pref_0(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, ".", NULL);
    mx_pref(".", 10);
    run_zone("d.test");
    assert_no_detail("Null MX: d.test accepts no mail");
    assert_detail("MX host '.' of d.test has preference 10: a Null MX has "
                  "preference 0 (RFC 7505)",
                  MXP_STATE_WARNING);
    assert_int_equal(fake_dns_asked(".", 0), 0);
}

/* ---- SPF -------------------------------------------------------------- */

static void test_spf_outcomes(void **state)
{
    static const struct {
        enum spf_result res;
        const char *mech;
        char top_all;
        const char *problem;
        enum mxp_state st;
        const char *text;
        enum spf_result other; /* SPF_NONE: fail by -all */
        const char *other_mech;
        const char *other_problem;
    } t[] = {
        {SPF_PASS, "ip4:" ADDR, '-', "", MXP_STATE_OK,
         "SPF pass for " ADDR " at d.test (ip4:" ADDR ")", SPF_NONE, "", ""},
        {SPF_FAIL, "-all", '-', "", MXP_STATE_CRITICAL,
         "SPF fail: " ADDR " not permitted by d.test (-all)", SPF_NONE, "", ""},
        {SPF_SOFTFAIL, "~all", '~', "", MXP_STATE_WARNING,
         "SPF softfail: " ADDR " not permitted by d.test (~all)", SPF_NONE, "",
         ""},
        {SPF_NEUTRAL, "?all", '?', "", MXP_STATE_WARNING,
         "SPF neutral for " ADDR " at d.test (?all)", SPF_NONE, "", ""},
        {SPF_NEUTRAL, "", 0, "", MXP_STATE_WARNING,
         "SPF neutral for " ADDR " at d.test (no term matched)", SPF_NONE, "",
         ""},
        {SPF_NONE, "", 0, "", MXP_STATE_WARNING, "no SPF record for d.test",
         SPF_NONE, "", ""},
        {SPF_PERMERROR, "", 0, "more than 10 DNS-querying terms",
         MXP_STATE_CRITICAL,
         "SPF permerror at d.test: more than 10 DNS-querying terms", SPF_NONE,
         "", ""},
        {SPF_PERMERROR, "", 0, "2 SPF records at d.test", MXP_STATE_CRITICAL,
         "SPF permerror at d.test: 2 SPF records at d.test", SPF_NONE, "", ""},
        {SPF_TEMPERROR, "", 0, "TXT lookup of d.test failed: timeout",
         MXP_STATE_UNKNOWN,
         "SPF temperror at d.test: TXT lookup of d.test failed: timeout",
         SPF_NONE, "", ""},
        /* other senders: a documentation address outside the target's
         * 192.0.2.0/24 */
        {SPF_PASS, "+all", '+', "", MXP_STATE_CRITICAL,
         "SPF of d.test lets anyone send (pass for 198.51.100.1 via +all)",
         SPF_PASS, "+all", ""},
        {SPF_PASS, "all", '+', "", MXP_STATE_CRITICAL,
         "SPF of d.test lets anyone send (pass for 198.51.100.1 via all)",
         SPF_PASS, "all", ""},
        {SPF_FAIL, "-all", '-', "", MXP_STATE_CRITICAL,
         "SPF of d.test lets anyone send (pass for 198.51.100.1 via "
         "include:open.test)",
         SPF_PASS, "include:open.test", ""},
        {SPF_PASS, "ip4:" ADDR, 0, "", MXP_STATE_CRITICAL,
         "SPF of d.test lets anyone send (pass for 198.51.100.1 via "
         "ip4:0.0.0.0/0)",
         SPF_PASS, "ip4:0.0.0.0/0", ""},
        {SPF_PASS, "ip4:" ADDR, '?', "", MXP_STATE_WARNING,
         "SPF policy ?all of d.test makes no assertion about other senders",
         SPF_NEUTRAL, "?all", ""},
        {SPF_PASS, "ip4:" ADDR, 0, "", MXP_STATE_WARNING,
         "SPF of d.test makes no assertion about other senders (neutral for "
         "198.51.100.1: no term matched)",
         SPF_NEUTRAL, "", ""},
        /* review 2, B5: the term that matched, not "no term matched" */
        {SPF_PASS, "ip4:" ADDR, 0, "", MXP_STATE_WARNING,
         "SPF of d.test makes no assertion about other senders (neutral for "
         "198.51.100.1: ?ip4:0.0.0.0/0)",
         SPF_NEUTRAL, "?ip4:0.0.0.0/0", ""},
        {SPF_PASS, "ip4:" ADDR, '-', "", MXP_STATE_CRITICAL,
         "SPF of d.test breaks for other senders: more than 10 DNS-querying "
         "terms (permerror for 198.51.100.1)",
         SPF_PERMERROR, "", "more than 10 DNS-querying terms"},
        {SPF_PASS, "ip4:" ADDR, '-', "", MXP_STATE_OK,
         "SPF of d.test for other senders (198.51.100.1) not known: "
         "temperror: A lookup of x.d.test failed: SERVFAIL",
         SPF_TEMPERROR, "", "A lookup of x.d.test failed: SERVFAIL"},
        {SPF_NONE, "", 0, "not a fully qualified domain name (RFC 7208 4.3)",
         MXP_STATE_WARNING,
         "SPF cannot apply to d.test: not a fully qualified domain name "
         "(RFC 7208 4.3)",
         SPF_NONE, "", ""},
    };

    enum mxp_state dst;

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        setup(NULL);
        clean_domain("d.test");
        spf_stub(t[i].res, t[i].mech, t[i].top_all, 2);
        snprintf(S.out.problem, sizeof S.out.problem, "%s", t[i].problem);
        if (t[i].other != SPF_NONE) {
            outcome(&S.other, t[i].other, t[i].other_mech, 0, 1);
            snprintf(S.other.problem, sizeof S.other.problem, "%s",
                     t[i].other_problem);
        }
        run_zone("d.test");
        /* the finding in its own state; the summary is the first of the
         * worst, which a verdict for the target may come before */
        if (fake_state() != t[i].st || fake_detail_find(t[i].text, &dst) < 0 ||
            dst != t[i].st ||
            (t[i].st != MXP_STATE_OK &&
             (t[i].other == SPF_NONE || t[i].res != SPF_FAIL) &&
             strstr(fake_summary(), t[i].text) == NULL)) {
            dump();
            fail_msg("case %zu: want state %d, '%s'", i, t[i].st, t[i].text);
        }
        teardown(NULL);
    }
}

static void test_spf_neutral_all_said_once(void **state)
{
    (void)state;
    clean_domain("d.test");
    spf_stub(SPF_NEUTRAL, "?all", '?', 1);
    outcome(&S.other, SPF_NEUTRAL, "?all", '?', 1);
    run_zone("d.test");
    assert_summary_has("SPF neutral for");
    assert_no_detail("SPF policy ?all");
    assert_no_detail("no assertion");

    /* a neutral include whose name holds "all" is no ?all */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    spf_stub(SPF_NEUTRAL, "?include:mall.test", '-', 1);
    run_zone("d.test");
    assert_string_equal(fake_summary(), "SPF neutral for " ADDR " at d.test "
                                        "(?include:mall.test)");
    assert_no_detail("no assertion");
    assert_false(S.out.by_all);
}

static void test_spf_other_senders(void **state)
{
    (void)state;
    /* IPv4 target outside 192.0.2.0/24: 192.0.2.1, then 2001:db8::1 */
    fake_set_target("203.0.113.7", 25);
    clean_domain("d.test");
    spf_stub(SPF_PASS, "ip4:203.0.113.7", '-', 0);
    run_zone("d.test");
    assert_int_equal(S.other_calls, 2);
    assert_string_equal(S.other_ip[0], "192.0.2.1");
    assert_string_equal(S.other_ip[1], "2001:db8::1");

    /* an open record needs no second family; the target's own /48 is
     * no other sender */
    teardown(NULL);
    setup(NULL);
    fake_set_target("2001:db8::25", 25);
    clean_domain("d.test");
    spf_stub(SPF_PASS, "+all", '+', 0);
    outcome(&S.other, SPF_PASS, "+all", '+', 0);
    run_zone("d.test");
    assert_int_equal(S.other_calls, 2); /* a second address confirms */
    assert_string_equal(S.other_ip[0], "3fff::1");
    assert_string_equal(S.other_ip[1], "2001:db8:ffff:ffff::1");
    assert_summary_has("SPF of d.test lets anyone send (pass for 3fff::1 via "
                       "+all)");

    /* a record listing 192.0.2.1 is not open to anyone */
    teardown(NULL);
    setup(NULL);
    fake_set_target("203.0.113.7", 25);
    clean_domain("d.test");
    spf_stub(SPF_PASS, "ip4:203.0.113.7", '-', 0);
    outcome(&S.other_first, SPF_PASS, "ip4:192.0.2.1", '-', 0);
    S.use_other_first = 1;
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_int_equal(S.other_calls, 3);
    assert_string_equal(S.other_ip[1], "198.51.100.1");
    assert_no_detail("lets anyone send");

    /* broken for senders of the other family only: a warning */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    outcome(&S.other_first, SPF_FAIL, "-all", '-', 3);
    S.use_other_first = 1;
    outcome(&S.other, SPF_PERMERROR, "", 0, 3);
    snprintf(S.other.problem, sizeof S.other.problem,
             "more than 2 void DNS lookups");
    run_zone("d.test");
    assert_detail("SPF of d.test breaks for other senders: more than 2 void "
                  "DNS lookups (permerror for 2001:db8::1)",
                  MXP_STATE_WARNING);

    /* no SPF record: nothing to ask for others */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    spf_stub(SPF_NONE, "", 0, 0);
    run_zone("d.test");
    assert_int_equal(S.other_calls, 0);
}

/* "ip4:<target> include:n0 ... include:n10 -all": 0 lookups for the
 * target, a permerror for everybody else; the count is the larger. */
static void test_spf_lookups_of_other_senders(void **state)
{
    (void)state;
    clean_domain("d.test");
    spf_stub(SPF_PASS, "ip4:" ADDR, '-', 0);
    outcome(&S.other, SPF_PERMERROR, "", 0, 11);
    snprintf(S.other.problem, sizeof S.other.problem,
             "more than 10 DNS-querying terms");
    fake_set_thresholds("8", NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_string_equal(fake_summary(),
                        "SPF of d.test breaks for other senders: more than 10 "
                        "DNS-querying terms (permerror for 198.51.100.1)");
    assert_true(fake_perf_find("spf_lookups")->value == 11);
    assert_detail("SPF of d.test: 0 DNS lookups, 0 void (up to 11 and 0 with "
                  "other senders)",
                  MXP_STATE_OK);
    assert_no_detail("of 10 DNS lookups");
}

static void test_spf_skipped_lookup_said(void **state)
{
    (void)state;
    clean_domain("d.test");
    spf_stub(SPF_FAIL, "-all", '-', 1);
    snprintf(S.out.skipped, sizeof S.out.skipped,
             "PTR lookup of " REV " failed: SERVFAIL");
    run_zone("d.test");
    assert_detail("SPF of d.test: PTR lookup of " REV " failed: SERVFAIL, "
                  "skipped as RFC 7208 5.5 says",
                  MXP_STATE_OK);
    assert_state(MXP_STATE_CRITICAL);
}

/* A verdict that a timed-out (skipped) lookup could have turned is no
 * verdict to page on; the evaluator's RFC result is named as it is. */
static void test_spf_rests_on_timeout(void **state)
{
    static const struct {
        enum spf_result res;
        const char *mech;
        int timeout; /* skipped_timeout */
        enum mxp_state st;
        const char *text;
    } t[] = {
        {SPF_FAIL, "-all", 1, MXP_STATE_UNKNOWN,
         "SPF fail for " ADDR " at d.test (-all) rests on a timed-out "
         "lookup: PTR lookup of " REV " failed: timeout"},
        {SPF_SOFTFAIL, "~all", 1, MXP_STATE_UNKNOWN,
         "SPF softfail for " ADDR " at d.test (~all) rests on a timed-out "
         "lookup"},
        {SPF_NEUTRAL, "?all", 1, MXP_STATE_UNKNOWN,
         "SPF neutral for " ADDR " at d.test (?all) rests on a timed-out "
         "lookup"},
        /* a pass is no accusation: the skip is not what it rests on */
        {SPF_PASS, "ip4:" ADDR, 1, MXP_STATE_OK,
         "SPF pass for " ADDR " at d.test"},
        /* a SERVFAIL is the DNS's answer: RFC 7208 5.5 decides */
        {SPF_FAIL, "-all", 0, MXP_STATE_CRITICAL,
         "SPF fail: " ADDR " not permitted by d.test (-all)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        enum mxp_state st;

        setup(NULL);
        clean_domain("d.test");
        spf_stub(t[i].res, t[i].mech, '-', 1);
        snprintf(S.out.skipped, sizeof S.out.skipped,
                 "PTR lookup of " REV " failed: %s",
                 t[i].timeout ? "timeout" : "SERVFAIL");
        S.out.skipped_timeout = t[i].timeout;
        run_zone("d.test");
        if (fake_state() != t[i].st || fake_detail_find(t[i].text, &st) < 0 ||
            st != t[i].st ||
            (t[i].timeout && t[i].res != SPF_PASS &&
             (fake_detail_find("skipped as RFC 7208", NULL) >= 0 ||
              fake_detail_find("not permitted by", NULL) >= 0 ||
              strstr(fake_summary(), "rests on a timed-out lookup") == NULL))) {
            dump();
            fail_msg("case %zu: want state %d, '%s'", i, t[i].st, t[i].text);
        }
        teardown(NULL);
    }
}

/* "ptr ?all" with the target's PTR timed out: its neutral is UNKNOWN,
 * but the ?all that makes no assertion about other senders is certain
 * and still warns (it was not said already: the target's verdict was
 * not reported as a neutral). */
static void test_spf_rests_on_timeout_others_neutral(void **state)
{
    (void)state;
    clean_domain("d.test");
    spf_stub(SPF_NEUTRAL, "?all", '?', 1);
    snprintf(S.out.skipped, sizeof S.out.skipped,
             "PTR lookup of " REV " failed: timeout");
    S.out.skipped_timeout = 1;
    outcome(&S.other, SPF_NEUTRAL, "?all", '?', 1);
    run_zone("d.test");
    assert_detail("SPF neutral for " ADDR " at d.test (?all) rests on a "
                  "timed-out lookup",
                  MXP_STATE_UNKNOWN);
    assert_detail("SPF policy ?all of d.test makes no assertion about other "
                  "senders",
                  MXP_STATE_WARNING);
    assert_state(MXP_STATE_WARNING);
}

static void test_spf_fail_explanation_and_record(void **state)
{
    (void)state;
    clean_domain("d.test");
    spf_stub(SPF_FAIL, "-all", '-', 3);
    snprintf(S.out.explanation, sizeof S.out.explanation,
             "see http://d.test/why\x1b[0m");
    S.out.void_lookups = 1;
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    /* the same problem in the domain's words: no "(+1 more)" */
    assert_detail("SPF explanation of d.test: see http://d.test/why?[0m",
                  MXP_STATE_OK);
    assert_string_equal(fake_summary(), "SPF fail: " ADDR " not permitted by "
                                        "d.test (-all)");
    assert_detail("SPF record of d.test: v=spf1 -all", MXP_STATE_OK);
    assert_detail("SPF of d.test: 3 DNS lookups, 1 void", MXP_STATE_OK);
    assert_true(fake_perf_find("spf_lookups")->value == 3);
    assert_true(fake_perf_find("spf_void")->value == 1);
}

static void test_spf_lookups_threshold(void **state)
{
    (void)state;
    clean_domain("d.test");
    spf_stub(SPF_PASS, "include:_spf.d.test", '-', 9);
    fake_set_thresholds("8", "9");
    run_zone("d.test");
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("SPF of d.test uses 9 of 10 DNS lookups");

    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    spf_stub(SPF_PASS, "include:_spf.d.test", '-', 10);
    fake_set_thresholds("8", "9");
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_summary_has("uses 10 of 10");

    /* over 10 is the permerror, said once */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    spf_stub(SPF_PERMERROR, "", '-', 11);
    snprintf(S.out.problem, sizeof S.out.problem,
             "more than 10 DNS-querying terms");
    outcome(&S.other, SPF_PERMERROR, "", 0, 11);
    fake_set_thresholds("8", NULL);
    run_zone("d.test");
    assert_string_equal(fake_summary(), "SPF permerror at d.test: more than "
                                        "10 DNS-querying terms");
    assert_no_detail("of 10 DNS lookups");
    assert_no_detail("breaks for other senders");
    assert_true(fake_perf_find("spf_lookups")->value == 11);
}

static void test_spf_evaluator_error(void **state)
{
    (void)state;
    clean_domain("d.test");
    S.rc = MXP_ERR_NOMEM;
    run_zone("d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("SPF check of d.test failed");
    assert_null(fake_perf_find("nothing"));
}

static void test_spf_lookup_deadline(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_set_remaining(0);
    run_zone("d.test");
    assert_int_equal(S.lookup_rc, MXP_ERR_TIMEOUT);
}

static void test_spf_lookup_batch_failure(void **state)
{
    struct zone_run R;
    struct spf_dns_answer a;

    (void)state;
    memset(&R, 0, sizeof R);
    R.ctx = fake_ctx();
    R.svc = R.ctx->svc;
    R.t = R.ctx->target;
    /* a batch that failed as a whole is no answer: the evaluator stops */
    fake_dns_fail_batches(MXP_ERR_DNS);
    assert_int_equal(spf_lookup(&R, "d.test", MXP_DNS_TXT, &a), MXP_ERR_DNS);
    assert_int_equal(a.n_rr, 0);
    fake_dns_fail_batches(MXP_ERR_NOMEM);
    assert_int_equal(spf_lookup(&R, "d.test", MXP_DNS_TXT, &a), MXP_ERR_NOMEM);
}

/* The deadline passes during the batch: a timed-out answer is no answer
 * (it made "ptr -all" a false fail), a definite one still counts. */
static void test_spf_lookup_deadline_cut(void **state)
{
    struct mxp_ctx c = test_ctx();
    struct zone_run R;
    struct spf_dns_answer a;

    (void)state;
    memset(&R, 0, sizeof R);
    R.ctx = &c;
    R.svc = c.svc;
    R.t = c.target;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_TIMEOUT, NULL);
    fake_dns_add("d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    TS.cut_after = 1;
    assert_int_equal(spf_lookup(&R, REV, MXP_DNS_PTR, &a), MXP_ERR_TIMEOUT);
    TS.cut_after = 2;
    assert_int_equal(spf_lookup(&R, "d.test", MXP_DNS_TXT, &a), MXP_OK);
    assert_int_equal(a.result, MXP_DNS_NXDOMAIN);
    /* a timeout with time left is an answer: RFC 7208 decides */
    TS.cut_after = 0;
    assert_int_equal(spf_lookup(&R, REV, MXP_DNS_PTR, &a), MXP_OK);
    assert_int_equal(a.result, MXP_DNS_TIMEOUT);
}

/* The lookup threshold applies to each domain, not only to the one
 * with the most lookups. */
static void test_spf_lookups_threshold_each_domain(void **state)
{
    (void)state;
    clean_domain("example.org");
    clean_domain("elsewhere.co.uk");
    confirmed_ptr("smtp.example.org");
    fake_smtp_reply(220, 0.01, "mx.elsewhere.co.uk ESMTP");
    fake_smtp_reply(250, 0.01, "mx.elsewhere.co.uk");
    spf_stub(SPF_PASS, "include:_spf.d.test", '-', 9);
    fake_set_thresholds("8", NULL);
    run_zone(NULL);
    assert_state(MXP_STATE_WARNING);
    assert_detail("SPF of example.org uses 9 of 10 DNS lookups",
                  MXP_STATE_WARNING);
    assert_detail("SPF of elsewhere.co.uk uses 9 of 10 DNS lookups",
                  MXP_STATE_WARNING);
}

/* The record's own lookup failed: the other senders' runs would wait for
 * the same name again. */
static void test_spf_others_skipped_after_record_temperror(void **state)
{
    (void)state;
    clean_domain("d.test");
    spf_stub(SPF_TEMPERROR, "", 0, 0);
    S.out.record[0] = '\0';
    snprintf(S.out.problem, sizeof S.out.problem,
             "TXT lookup of d.test failed: timeout");
    run_zone("d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_int_equal(S.other_calls, 0);

    /* a temperror later in the record: the others still run */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    spf_stub(SPF_TEMPERROR, "include:x.d.test", 0, 1);
    snprintf(S.out.problem, sizeof S.out.problem,
             "TXT lookup of x.d.test failed: timeout");
    run_zone("d.test");
    assert_int_equal(S.other_calls, 2);
}

/* An MX that is the target's address as an IP literal: no "is not an
 * MX" next to it. */
static void test_mx_literal_target(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, ADDR, NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_detail("MX host " ADDR " of d.test is an IP address, not a host "
                  "name",
                  MXP_STATE_CRITICAL);
    assert_detail(ADDR " is named as an MX of d.test only as an IP literal",
                  MXP_STATE_OK);
    assert_no_detail("is not an MX");

    /* another address as the literal: the target is not an MX */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "[192.0.2.99]", NULL);
    run_zone("d.test");
    assert_detail(ADDR " is not an MX of d.test", MXP_STATE_OK);
    assert_no_detail("only as an IP literal");
}

/* ---- DMARC ------------------------------------------------------------ */

/* A policy that lets failing mail through warns, unless dmarc_none: ok.
 * RFC 7489 6.6.4: with pct=0 the next lower policy applies to all, with
 * pct=N to all but N%; for a subdomain under the organizational record,
 * sp= is the policy in force (6.3). */
static void test_dmarc_weak_policies(void **state)
{
    static const struct {
        const char *txt;
        const char *domain;    /* the record is at _dmarc.d.test */
        enum mxp_state st;     /* by default */
        const char *finding;   /* of that state; "" when all is OK */
        const char *summary_p; /* in the OK summary (dmarc_none: ok) */
        const char *acts;      /* "" for none said */
    } t[] = {
        {"v=DMARC1; p=none", "d.test", MXP_STATE_WARNING,
         "DMARC policy of d.test is p=none (monitoring only): mail failing "
         "DMARC is delivered as usual",
         "none", ""},
        {"v=DMARC1; p=quarantine; pct=0", "d.test", MXP_STATE_WARNING,
         "DMARC policy of d.test acts as none (monitoring only): mail "
         "failing DMARC is delivered as usual",
         "none",
         "DMARC of d.test: p=quarantine with pct=0 acts as none (RFC 7489 "
         "6.6.4)"},
        {"v=DMARC1; p=reject; pct=0", "d.test", MXP_STATE_WARNING,
         "DMARC of d.test: p=reject with pct=0 acts as quarantine (RFC 7489 "
         "6.6.4)",
         "quarantine", "acts as quarantine"},
        {"v=DMARC1; p=none; pct=0", "d.test", MXP_STATE_WARNING,
         "DMARC policy of d.test is p=none", "none", ""},
        {"v=DMARC1; p=reject; pct=1", "d.test", MXP_STATE_WARNING,
         "DMARC of d.test: p=reject applies to 1% of the mail failing DMARC "
         "(pct=1), the rest gets quarantine",
         "reject", ""},
        {"v=DMARC1; p=quarantine; pct=99", "d.test", MXP_STATE_WARNING,
         "DMARC of d.test: p=quarantine applies to 99% of the mail failing "
         "DMARC (pct=99), the rest gets none",
         "quarantine", ""},
        {"v=DMARC1; p=reject; pct=100", "d.test", MXP_STATE_OK, "", "reject",
         ""},
        {"v=DMARC1; p=quarantine", "d.test", MXP_STATE_OK, "", "quarantine",
         ""},
        /* sp= of the organizational record is what a subdomain gets */
        {"v=DMARC1; p=none; sp=reject; pct=0", "sub.d.test", MXP_STATE_WARNING,
         "DMARC of sub.d.test: sp=reject with pct=0 acts as quarantine",
         "quarantine", "sp=reject with pct=0 acts as quarantine"},
        {"v=DMARC1; p=none; sp=reject", "sub.d.test", MXP_STATE_OK, "",
         "reject", ""},
        {"v=DMARC1; p=reject; sp=none", "sub.d.test", MXP_STATE_WARNING,
         "DMARC policy of sub.d.test is sp=none (monitoring only)", "none", ""},
        /* the domain's own record: sp= is for its subdomains, not it */
        {"v=DMARC1; p=reject; sp=none", "d.test", MXP_STATE_OK, "", "reject",
         ""},
        /* an implied p=none warned with the record's problem already */
        {"v=DMARC1; rua=mailto:r@d.test", "d.test", MXP_STATE_WARNING,
         "DMARC record of d.test: no p= tag", "", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        for (int ok = 0; ok < 2; ok++) {
            struct zone_settings set = {.dmarc_none_ok = ok};
            enum mxp_state want =
                ok && t[i].summary_p[0] != '\0' ? MXP_STATE_OK : t[i].st;
            enum mxp_state dst;
            char summary[128];

            setup(NULL);
            clean_domain(t[i].domain);
            fake_dns_add("_dmarc.sub.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN,
                         NULL);
            fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER, t[i].txt,
                         NULL);
            run_zone_set(t[i].domain, &set);
            snprintf(summary, sizeof summary, "%s: SPF pass, DMARC p=%s, 1 MX",
                     t[i].domain, t[i].summary_p);
            if (fake_state() != want ||
                (want == MXP_STATE_OK &&
                 strcmp(fake_summary(), summary) != 0) ||
                (t[i].finding[0] != '\0' &&
                 (fake_detail_find(t[i].finding, &dst) < 0 ||
                  dst != (ok && t[i].summary_p[0] != '\0' ? MXP_STATE_OK
                                                          : t[i].st))) ||
                (want != MXP_STATE_OK &&
                 strstr(fake_summary(), t[i].finding) == NULL) ||
                (t[i].acts[0] != '\0' &&
                 fake_detail_find(t[i].acts, NULL) < 0) ||
                (t[i].acts[0] == '\0' &&
                 fake_detail_find("with pct=0", NULL) >= 0)) {
                dump();
                fail_msg("case %zu, dmarc_none %s: want state %d, '%s'", i,
                         ok ? "ok" : "warning", want,
                         want == MXP_STATE_OK ? summary : t[i].finding);
            }
            teardown(NULL);
        }
    }
    /* only one finding per record: the weakest thing said */
    setup(NULL);
    clean_domain("d.test");
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=quarantine; pct=0", NULL);
    run_zone("d.test");
    assert_detail("DMARC of d.test: p=quarantine with pct=0 acts as none",
                  MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "DMARC policy of d.test acts as none (monitoring "
                        "only): mail failing DMARC is delivered as usual");
}

/* plugins.zone.dmarc_none: warning (the default) or ok, nothing else. */
static void test_settings(void **state)
{
    static const struct {
        const char *yaml;
        int rc, none_ok;
        const char *error;
    } t[] = {
        {NULL, MXP_OK, 0, ""},
        {"dmarc_none:\n", MXP_OK, 0, ""},
        {"dmarc_none: warning\n", MXP_OK, 0, ""},
        {"dmarc_none: ok\n", MXP_OK, 1, ""},
        {"dmarc_none: OK\n", MXP_ERR_CONFIG, 0,
         "test.yaml:1:13: plugins.zone: dmarc_none: 'OK' is not warning or "
         "ok"},
        {"dmarc_none: true\n", MXP_ERR_CONFIG, 0, "'true' is not warning"},
        {"dmarc_none: [ok]\n", MXP_ERR_CONFIG, 0,
         "test.yaml:1:13: plugins.zone: dmarc_none: '' is not warning or ok"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        void *st = (void *)1;
        int rc;

        setup(NULL);
        assert_int_equal(fake_config_set(t[i].yaml), MXP_OK);
        rc = mxp_plugin.init(fake_init_ctx(), &st);
        if (rc != t[i].rc ||
            (rc == MXP_OK &&
             (st == NULL ||
              ((struct zone_settings *)st)->dmarc_none_ok != t[i].none_ok)) ||
            (rc != MXP_OK &&
             (st != NULL || fake_n_config_errors() != 1 ||
              strstr(fake_config_error(0), t[i].error) == NULL)))
            fail_msg("row %zu: rc %d, errors %zu '%s'", i, rc,
                     fake_n_config_errors(),
                     fake_n_config_errors() ? fake_config_error(0) : "");
        mxp_plugin.free(rc == MXP_OK ? st : NULL);
        teardown(NULL);
    }
    assert_string_equal(mxp_plugin.config_keys[0], "dmarc_none");
    assert_string_equal(mxp_plugin.config_keys[1], "ca_file");
    assert_string_equal(mxp_plugin.config_keys[2], "mta_sts_cache");
    assert_null(mxp_plugin.config_keys[3]);
}

/* A subdomain without DMARC says the organizational domain was tried. */
static void test_dmarc_none_at_org_said(void **state)
{
    (void)state;
    clean_domain("sub.d.test");
    fake_dns_add("_dmarc.sub.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    run_zone("sub.d.test");
    assert_state(MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "no DMARC record for sub.d.test (nor "
                                        "at _dmarc.d.test)");
    assert_int_equal(fake_dns_asked("_dmarc.d.test", MXP_DNS_TXT), 1);
}

static void test_dmarc_cases(void **state)
{
    static const struct {
        const char *at;   /* where the TXT lives */
        const char *txt1; /* NULL: NXDOMAIN there */
        const char *txt2;
        enum mxp_state st;
        const char *text;
    } t[] = {
        {"_dmarc.d.test", NULL, NULL, MXP_STATE_WARNING,
         "no DMARC record for d.test"},
        {"_dmarc.d.test", "some other text", NULL, MXP_STATE_WARNING,
         "no DMARC record for d.test"},
        {"_dmarc.d.test", "v=DMARC1; p=none; rua=mailto:r@d.test", NULL,
         MXP_STATE_WARNING,
         "DMARC policy of d.test is p=none (monitoring only)"},
        {"_dmarc.d.test", "v=DMARC1; p=reject; pct=200", NULL,
         MXP_STATE_WARNING, "DMARC record of d.test: pct=200: not 0..100"},
        {"_dmarc.d.test", "v=DMARC1; p=reject", "v=DMARC1; p=none",
         MXP_STATE_WARNING,
         "d.test has 2 DMARC records: receivers ignore them (at "
         "_dmarc.d.test)"},
        {"_dmarc.d.test", "p=reject; v=DMARC1", NULL, MXP_STATE_WARNING,
         "DMARC record of d.test: v=DMARC1 must be the first tag (at "
         "_dmarc.d.test)"},
        {"_dmarc.d.test", "v=DMARC1; rua=mailto:r@d.test", NULL,
         MXP_STATE_WARNING,
         "DMARC record of d.test: no p= tag (it is required); receivers "
         "treat it as p=none"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        setup(NULL);
        clean_domain("d.test");
        if (t[i].txt1 == NULL)
            fake_dns_add(t[i].at, MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
        else
            fake_dns_add(t[i].at, MXP_DNS_TXT, MXP_DNS_ANSWER, t[i].txt1,
                         t[i].txt2, NULL);
        run_zone("d.test");
        if (fake_state() != t[i].st || fake_detail_find(t[i].text, NULL) < 0) {
            dump();
            fail_msg("case %zu: want state %d, detail '%s'", i, t[i].st,
                     t[i].text);
        }
        teardown(NULL);
    }
}

static void test_dmarc_p_none_summary(void **state)
{
    struct zone_settings rolling_out = {.dmarc_none_ok = 1};

    (void)state;
    clean_domain("d.test");
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=none", NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "DMARC policy of d.test is p=none (monitoring only): "
                        "mail failing DMARC is delivered as usual");

    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=none", NULL);
    run_zone_set("d.test", &rolling_out);
    assert_state(MXP_STATE_OK);
    assert_detail("DMARC policy of d.test is p=none (monitoring only)",
                  MXP_STATE_OK);
    assert_string_equal(fake_summary(), "d.test: SPF pass, DMARC p=none, 1 MX");
}

static void test_dmarc_org_fallback(void **state)
{
    (void)state;
    clean_domain("sub.d.test");
    fake_dns_add("_dmarc.sub.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=quarantine; sp=reject", NULL);
    run_zone("sub.d.test");
    assert_state(MXP_STATE_OK);
    assert_detail("DMARC of sub.d.test: sp=reject applies (p=quarantine at "
                  "_dmarc.d.test)",
                  MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "sub.d.test: SPF pass, DMARC p=reject, 1 MX");

    /* sp=none of the organizational domain is what a subdomain gets */
    teardown(NULL);
    setup(NULL);
    clean_domain("sub.d.test");
    fake_dns_add("_dmarc.sub.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=reject; sp=none; pct=50", NULL);
    run_zone("sub.d.test");
    assert_detail("DMARC of sub.d.test: sp=none applies (p=reject, pct=50 at "
                  "_dmarc.d.test)",
                  MXP_STATE_OK);
    assert_detail("DMARC policy of sub.d.test is sp=none (monitoring only)",
                  MXP_STATE_WARNING);
    assert_summary_has("DMARC policy of sub.d.test is sp=none");

    /* no sp=: p= applies */
    teardown(NULL);
    setup(NULL);
    clean_domain("sub.d.test");
    fake_dns_add("_dmarc.sub.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=quarantine", NULL);
    run_zone("sub.d.test");
    assert_detail("DMARC of sub.d.test: p=quarantine applies (at "
                  "_dmarc.d.test)",
                  MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "sub.d.test: SPF pass, DMARC p=quarantine, 1 MX");

    /* the domain's own record: its p=, whatever sp= says */
    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=reject; sp=none", NULL);
    run_zone("d.test");
    assert_detail("DMARC of d.test: p=reject, sp=none (at _dmarc.d.test)",
                  MXP_STATE_OK);
    assert_no_detail("monitoring only");

    /* the organizational domain's lookup fails: named */
    teardown(NULL);
    setup(NULL);
    clean_domain("sub.d.test");
    fake_dns_add("_dmarc.sub.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_SERVFAIL, NULL);
    run_zone("sub.d.test");
    assert_string_equal(fake_summary(), "DMARC lookup of sub.d.test failed: "
                                        "SERVFAIL (at _dmarc.d.test)");

    /* a failure at the first place ends discovery: no fallback (the
     * organizational record went out with the first wave, unused) */
    teardown(NULL);
    setup(NULL);
    clean_domain("sub.d.test");
    fake_dns_add("_dmarc.sub.d.test", MXP_DNS_TXT, MXP_DNS_SERVFAIL, NULL);
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=DMARC1; p=reject", NULL);
    run_zone("sub.d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("DMARC lookup of sub.d.test failed: SERVFAIL");
    assert_no_detail("_dmarc.d.test");
    assert_int_equal(fake_dns_asked("_dmarc.d.test", 0), 1);
}

/* ---- summary ---------------------------------------------------------- */

static void test_summary_worst_plus_more(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("_dmarc.d.test", MXP_DNS_TXT, MXP_DNS_NXDOMAIN, NULL);
    spf_stub(SPF_SOFTFAIL, "~all", '~', 1);
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "192.0.2.25", NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_string_equal(fake_summary(),
                        "MX host 192.0.2.25 of d.test is an IP address, not "
                        "a host name (+3 more)");
}

static void test_dns_batch_fails(void **state)
{
    (void)state;
    fake_dns_fail_batches(MXP_ERR_DNS);
    run_zone("d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("DNS lookups of d.test failed");
    assert_int_equal(S.calls, 0);
}

static void test_helpers(void **state)
{
    char out[16];
    unsigned char bin[16];

    (void)state;
    assert_true(zone_name_copy("A.B.", out, sizeof out));
    assert_string_equal(out, "a.b");
    assert_false(zone_name_copy(".", out, sizeof out));
    assert_false(zone_name_copy("a-very-long-name.example", out, sizeof out));
    zone_printable("abc\0d\x7f", 6, out, sizeof out);
    assert_string_equal(out, "abc?d?");
    zone_printable("0123456789abcdefghij", 20, out, sizeof out);
    assert_string_equal(out, "0123456789ab...");
    assert_int_equal(is_ip_literal("192.0.2.1.", bin), AF_INET);
    assert_memory_equal(bin, "\xc0\x00\x02\x01", 4);
    assert_int_equal(is_ip_literal("[192.0.2.1]", bin), AF_INET);
    assert_int_equal(is_ip_literal("[IPv6:2001:db8::1]", bin), AF_INET6);
    assert_int_equal(is_ip_literal("2001:db8::1", bin), AF_INET6);
    assert_false(is_ip_literal("mx1.example.org", bin));
    assert_false(is_ip_literal("192.0.2.1.example.org", bin));
}

/* ---- DNSSEC of the MX answer --------------------------------------------- */

/* The resolver's AD bit on the domain's MX answer is a detail and a JSON
 * field, never a problem. */
static void test_mx_dnssec_signed(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_set_ad("example.org", MXP_DNS_MX, 1);
    run_zone("example.org");
    assert_state(MXP_STATE_OK);
    assert_detail("MX records of example.org are DNSSEC-signed (validated by "
                  "the resolver)",
                  MXP_STATE_OK);
    assert_no_detail("not DNSSEC-signed");
    assert_non_null(fake_field_text("mx_dnssec"));
    assert_string_equal(fake_field_text("mx_dnssec"), "signed");
}

static void test_mx_dnssec_unsigned(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_set_ad("example.org", MXP_DNS_MX, 0);
    fake_dns_ad_default(1); /* only the MX answer counts */
    run_zone("example.org");
    assert_state(MXP_STATE_OK);
    assert_detail("MX records of example.org are not DNSSEC-signed (or the "
                  "resolver does not validate)",
                  MXP_STATE_OK);
    assert_non_null(fake_field_text("mx_dnssec"));
    assert_string_equal(fake_field_text("mx_dnssec"), "unsigned");
}

/* No response known (-1), or no MX records (a validated NODATA is no
 * "MX records ... signed"): nothing said. */
static void test_mx_dnssec_unknown(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_set_ad("example.org", MXP_DNS_MX, -1);
    run_zone("example.org");
    assert_state(MXP_STATE_OK);
    assert_no_detail("DNSSEC");
    assert_null(fake_field_text("mx_dnssec"));
}

static void test_mx_dnssec_no_mx(void **state)
{
    (void)state;
    clean_domain("example.org");
    fake_dns_add("example.org", MXP_DNS_MX, MXP_DNS_NODATA, NULL);
    fake_dns_ad_default(1);
    run_zone("example.org");
    assert_no_detail("DNSSEC");
    assert_null(fake_field_text("mx_dnssec"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_guess_from_ptr_and_greeting),
        T(test_guess_two_domains),
        T(test_guess_special_and_missing_domains),
        T(test_guess_more_ptr_names_counted),
        T(test_ptr_lookup_wording),
        T(test_configured_domain_wins),
        T(test_mx_dnssec_signed),
        T(test_mx_dnssec_unsigned),
        T(test_mx_dnssec_unknown),
        T(test_mx_dnssec_no_mx),
        T(test_configured_domain_bad),
        T(test_address_names_rejected),
        T(test_guess_greeting_before_more_ptrs),
        T(test_guess_generic_ptr),
        T(test_waves),
        T(test_smtp_fails_ptr_only),
        T(test_silent_greeting_ptr_only),
        T(test_nothing_to_guess),
        T(test_guess_public_suffix_only),
        T(test_mx_rules),
        T(test_mx_target_or_not),
        T(test_mx_hostile_answers),
        T(test_mx_sorted_before_cap),
        T(test_mx_null_needs_pref_0),
        T(test_spf_outcomes),
        T(test_spf_neutral_all_said_once),
        T(test_spf_other_senders),
        T(test_spf_lookups_of_other_senders),
        T(test_spf_skipped_lookup_said),
        T(test_spf_rests_on_timeout),
        T(test_spf_rests_on_timeout_others_neutral),
        T(test_spf_fail_explanation_and_record),
        T(test_spf_lookups_threshold),
        T(test_spf_lookups_threshold_each_domain),
        T(test_spf_others_skipped_after_record_temperror),
        T(test_mx_literal_target),
        T(test_dmarc_weak_policies),
        T(test_settings),
        T(test_dmarc_none_at_org_said),
        T(test_spf_evaluator_error),
        T(test_spf_lookup_deadline),
        T(test_spf_lookup_batch_failure),
        T(test_spf_lookup_deadline_cut),
        T(test_dmarc_cases),
        T(test_dmarc_p_none_summary),
        T(test_dmarc_org_fallback),
        T(test_summary_worst_plus_more),
        T(test_dns_batch_fails),
        T(test_helpers),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
