/*
 * test_zone_sts.c - the zone plugin's MTA-STS (RFC 8461) and TLS-RPT
 * (RFC 8460) verdicts against the fake core: the _mta-sts record (none,
 * several, invalid), the policy fetched over https_get (the URL, the CA
 * file, the 64 KiB cap) and every way it cannot be had (404, redirect,
 * content type, malformed, oversized, failure, too little time), the
 * policy held against the MX hosts (enforce, wildcards, testing, none,
 * a short max_age), the policy cache (written, read back when the fetch
 * fails, expired, broken, changed without a new id) and the TLS-RPT
 * record.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zone_scaffold.h"

#define URL "https://mta-sts.d.test/.well-known/mta-sts.txt"
#define ENFORCE_MX                                                             \
    "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 604800\n"

static char tmpdir[64];

static int sts_setup(void **state)
{
    setup(state);
    tmpdir[0] = '\0';
    return 0;
}

/* Removes the cache directory a test made, and what is in it. */
static int sts_teardown(void **state)
{
    if (tmpdir[0] != '\0') {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        assert_int_equal(system(cmd), 0);
    }
    return teardown(state);
}

/* d.test in good order (MX mx.d.test at the target), an MTA-STS record
 * with id, and the policy served with content type ct. */
static void sts_domain(const char *id, const char *policy, const char *ct)
{
    char txt[64];

    clean_domain("d.test");
    snprintf(txt, sizeof txt, "v=STSv1; id=%s", id);
    fake_dns_add("_mta-sts.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER, txt, NULL);
    if (policy != NULL)
        fake_https_add(URL, 200, policy, strlen(policy), ct, NULL);
}

/* A second MX host, mx2.d.test at 192.0.2.26. */
static void second_mx(const char *name)
{
    fake_dns_add("d.test", MXP_DNS_MX, MXP_DNS_ANSWER, "mx.d.test", name, NULL);
    fake_dns_add(name, MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.26", NULL);
    fake_dns_add(name, MXP_DNS_AAAA, MXP_DNS_NODATA, NULL);
    fake_dns_add(name, MXP_DNS_CNAME, MXP_DNS_NODATA, NULL);
}

/* Settings with a fresh cache directory. */
static void with_cache(struct zone_settings *set)
{
    memset(set, 0, sizeof *set);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mxprobe-sts-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(set->sts_cache, sizeof set->sts_cache, "%s", tmpdir);
}

static void cache_file(const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof path, "%s/d.test.mta-sts", tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
}

/* A cache file for d.test: policy fetched ago seconds back under id. */
static void cached(const char *id, long ago, const char *policy)
{
    char text[1024];

    snprintf(
        text, sizeof text,
        "mxprobe-mta-sts-cache 1\ndomain d.test\nfetched %lld\nid %s\n\n%s",
        (long long)time(NULL) - ago, id, policy);
    cache_file(text);
}

/* ---- the _mta-sts record ------------------------------------------------ */

static void test_no_record(void **state)
{
    (void)state;
    clean_domain("d.test");
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_detail("no MTA-STS record for d.test", MXP_STATE_OK);
    assert_int_equal(fake_https_gets(), 0);
    assert_int_equal(fake_dns_asked("_mta-sts.d.test", MXP_DNS_TXT), 1);
}

static void test_two_records(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("_mta-sts.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=STSv1; id=one", "v=spf1 -all", "v=STSv1; id=two", NULL);
    fake_https_add(URL, 200, ENFORCE_MX, strlen(ENFORCE_MX), "text/plain",
                   NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("_mta-sts.d.test has several MTA-STS records: 2 TXT "
                       "records begin with v=STSv1: senders ignore them all "
                       "(RFC 8461 3.1)");
    assert_detail("MTA-STS record of d.test: v=STSv1; id=one", MXP_STATE_OK);
    assert_detail("MTA-STS record of d.test: v=STSv1; id=two", MXP_STATE_OK);
    assert_int_equal(fake_https_gets(), 0);
}

static void test_invalid_record(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("_mta-sts.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=STSv1; id=2024-01", NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("MTA-STS record of d.test is invalid: id '2024-01' is "
                       "not 1 to 32 letters and digits (RFC 8461 3.1: senders "
                       "then assume no policy): v=STSv1; id=2024-01");
    assert_int_equal(fake_https_gets(), 0);
}

/* A second id is ignored as RFC 8461 3.2 says (a note): the policy is
 * fetched and judged. */
static void test_record_second_id(void **state)
{
    (void)state;
    sts_domain("1; id=2", ENFORCE_MX, "text/plain");
    second_mx("mx2.d.test");
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_detail("MTA-STS record of d.test: id 1 (_mta-sts.d.test)",
                  MXP_STATE_OK);
    assert_detail("MTA-STS record of d.test has a second id field: senders "
                  "go by the first (RFC 8461 3.2), some by the last; keep one",
                  MXP_STATE_OK);
    assert_summary_has("mail to MX mx2.d.test is refused by MTA-STS senders");
    assert_int_equal(fake_https_gets(), 1);
}

static void test_record_lookup_fails(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("_mta-sts.d.test", MXP_DNS_TXT, MXP_DNS_SERVFAIL, NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("MTA-STS lookup of d.test failed: SERVFAIL");
    assert_int_equal(fake_https_gets(), 0);
}

/* ---- the policy held against the MX hosts ------------------------------- */

static void test_enforce_matching(void **state)
{
    (void)state;
    sts_domain("20240101", ENFORCE_MX, "text/plain; charset=utf-8");
    run_zone("D.Test.");
    assert_state(MXP_STATE_OK);
    assert_int_equal(fake_https_gets(), 1);
    assert_string_equal(fake_https_url(0), URL);
    assert_string_equal(fake_https_ca_file(0), "");
    assert_detail("MTA-STS record of d.test: id 20240101 (_mta-sts.d.test)",
                  MXP_STATE_OK);
    assert_detail("MTA-STS policy of d.test (id 20240101): mode enforce, "
                  "max_age 604800 s, 7 days, mx mx.d.test",
                  MXP_STATE_OK);
    assert_detail("MX hosts of d.test matching the MTA-STS policy: mx.d.test "
                  "(the target) (mx.d.test)",
                  MXP_STATE_OK);
    assert_no_detail("is refused by MTA-STS");
}

static void test_enforce_mx_not_matched(void **state)
{
    (void)state;
    sts_domain("1", ENFORCE_MX, "text/plain");
    second_mx("mx2.d.test");
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_summary_has("MTA-STS policy of d.test: mail to MX mx2.d.test is "
                       "refused by MTA-STS senders (mode enforce, no mx "
                       "pattern matches)");
    assert_no_detail("mail to MX mx.d.test");
    assert_detail("matching the MTA-STS policy: mx.d.test (the target)",
                  MXP_STATE_OK);
}

static void test_enforce_target_not_matched(void **state)
{
    static const char pol[] =
        "version: STSv1\nmode: enforce\nmx: other.d.test\nmax_age: 604800\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    fake_set_host("mx.d.test");
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_summary_has("mail to MX mx.d.test is refused by MTA-STS senders "
                       "(mode enforce, no mx pattern matches); it is the "
                       "target");
    /* by its -H name alone (the MX's address moved meanwhile) */
    teardown(NULL);
    setup(NULL);
    sts_domain("1", pol, "text/plain");
    fake_dns_add("mx.d.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99", NULL);
    fake_set_host("MX.d.test.");
    run_zone("d.test");
    assert_summary_has("no mx pattern matches); it is the target");
}

/* Fields in any order, and of a repeated one the first (RFC 8461 3.2):
 * senders refuse mail to the target, not ignore a malformed policy. */
static void test_enforce_repeated_fields(void **state)
{
    static const char pol[] =
        "mx: other.d.test\nmode: enforce\nversion: STSv1\nmode: testing\n"
        "max_age: 604800\nmax_age: 60\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_summary_has("mail to MX mx.d.test is refused by MTA-STS senders "
                       "(mode enforce, no mx pattern matches); it is the "
                       "target");
    assert_detail("MTA-STS policy of d.test repeats its mode field (line 4): "
                  "senders go by the first and ignore the others (RFC 8461 "
                  "3.2)",
                  MXP_STATE_OK);
    assert_no_detail("invalid policy");
    assert_no_detail("under a day");
}

/* "MX:" is no mx field to senders: mail to the MX it names is refused,
 * not a policy to ignore. */
static void test_enforce_key_case(void **state)
{
    static const char pol[] = "version: STSv1\nmode: enforce\nmx: mx.d.test\n"
                              "MX: mx2.d.test\nmax_age: 604800\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    second_mx("mx2.d.test");
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_summary_has("mail to MX mx2.d.test is refused by MTA-STS senders");
    assert_detail("MTA-STS policy of d.test writes the key mx in another case "
                  "on line 4: senders ignore that line (keys are "
                  "case-sensitive, RFC 8461 3.2)",
                  MXP_STATE_OK);
    assert_no_detail("invalid policy");
}

/* A run over the whole domain (-D without -H): every MX is the run's,
 * none singled out as the target. */
static void test_domain_run(void **state)
{
    (void)state;
    sts_domain("1", ENFORCE_MX, "text/plain");
    second_mx("mx2.d.test");
    fake_set_host("d.test");
    fake_add_peer("mx2.d.test", "192.0.2.26", 25);
    run_zone("d.test");
    assert_detail("MTA-STS policy of d.test: mail to MX mx2.d.test is "
                  "refused by MTA-STS senders (mode enforce, no mx pattern "
                  "matches)",
                  MXP_STATE_CRITICAL);
    assert_detail("matching the MTA-STS policy: mx.d.test (mx.d.test)",
                  MXP_STATE_OK);
    assert_no_detail("the target");
    assert_int_equal(fake_https_gets(), 1);
}

/* A target that is no MX of the domain is not judged by its policy. */
static void test_target_not_an_mx(void **state)
{
    (void)state;
    sts_domain("1", ENFORCE_MX, "text/plain");
    fake_dns_add("mx.d.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99", NULL);
    fake_set_host("out.d.test");
    run_zone("d.test");
    assert_no_detail("is refused by MTA-STS");
    assert_detail("the target out.d.test is not an MX host of d.test: the "
                  "MTA-STS policy does not apply to it",
                  MXP_STATE_OK);
}

static void test_wildcard_one_label(void **state)
{
    static const char pol[] = "version: STSv1\nmode: enforce\nmx: *.d.test\n"
                              "max_age: 1209600\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    second_mx("a.b.d.test");
    run_zone("d.test");
    assert_state(MXP_STATE_CRITICAL);
    assert_summary_has("mail to MX a.b.d.test is refused by MTA-STS senders");
    assert_no_detail("mail to MX mx.d.test");
    assert_detail("matching the MTA-STS policy: mx.d.test (the target) "
                  "(*.d.test)",
                  MXP_STATE_OK);
}

static void test_testing_mode(void **state)
{
    static const char pol[] = "version: STSv1\nmode: testing\nmx: other.d.test"
                              "\nmax_age: 604800\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_detail("MTA-STS policy of d.test is in mode testing: senders "
                  "report TLS failures (TLS-RPT) but deliver",
                  MXP_STATE_OK);
    assert_detail("MX mx.d.test (the target) matches no mx pattern of the "
                  "MTA-STS policy of d.test: in mode testing senders report "
                  "it (TLS-RPT) but deliver",
                  MXP_STATE_OK);
}

static void test_none_mode(void **state)
{
    static const char pol[] = "version: STSv1\nmode: none\nmax_age: 3600\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_detail("MTA-STS policy of d.test is in mode none: senders do not "
                  "apply MTA-STS",
                  MXP_STATE_OK);
    assert_no_detail("under a day");
}

static void test_short_max_age(void **state)
{
    static const char pol[] =
        "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 3600\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    run_zone("d.test");
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("max_age of the MTA-STS policy of d.test is 3600 s, "
                       "1.0 hours, under a day");
}

/* ---- a policy that cannot be had ---------------------------------------- */

/* The WARNING for an unfetchable policy, with reason. */
static void assert_unfetchable(const char *reason)
{
    char want[512];

    snprintf(want, sizeof want,
             "MTA-STS policy of d.test cannot be fetched from " URL
             ": %s; senders without a cached policy deliver as if d.test had "
             "no MTA-STS",
             reason);
    assert_state(MXP_STATE_WARNING);
    assert_summary_has(want);
    assert_no_detail("is refused by MTA-STS");
}

static void test_not_found(void **state)
{
    (void)state;
    sts_domain("1", NULL, NULL);
    fake_https_add(URL, 404, "Not Found", 9, "text/html", NULL);
    run_zone("d.test");
    assert_unfetchable("HTTP status 404");
}

static void test_redirect(void **state)
{
    (void)state;
    sts_domain("1", NULL, NULL);
    fake_https_add(URL, 301, "", 0, "text/html",
                   "https://www.d.test/mta-sts.txt");
    run_zone("d.test");
    assert_unfetchable("HTTP 301 redirect to https://www.d.test/mta-sts.txt: "
                       "redirects are not followed by senders (RFC 8461 3.3)");
}

static void test_wrong_content_type(void **state)
{
    (void)state;
    sts_domain("1", ENFORCE_MX, "text/html");
    run_zone("d.test");
    assert_unfetchable(
        "its Content-Type is 'text/html', not text/plain (RFC 8461 3.2)");
    teardown(NULL);
    setup(NULL);
    sts_domain("1", ENFORCE_MX, "text/plainx");
    run_zone("d.test");
    assert_unfetchable(
        "its Content-Type is 'text/plainx', not text/plain (RFC 8461 3.2)");
    teardown(NULL);
    setup(NULL);
    sts_domain("1", ENFORCE_MX, "");
    run_zone("d.test");
    assert_unfetchable(
        "its Content-Type is missing, not text/plain (RFC 8461 3.2)");
}

static void test_malformed(void **state)
{
    static const char pol[] = "version: STSv1\nmode: enforcing\nmx: mx.d.test"
                              "\nmax_age: 604800\n";

    (void)state;
    sts_domain("1", pol, "text/plain");
    run_zone("d.test");
    assert_unfetchable("invalid policy: line 2: mode 'enforcing' is not "
                       "enforce, testing or none");
}

static void test_oversized(void **state)
{
    size_t n = 64 * 1024 + 1;
    char *big = malloc(n);

    (void)state;
    assert_non_null(big);
    memset(big, 'x', n);
    memcpy(big, ENFORCE_MX, strlen(ENFORCE_MX));
    big[strlen(ENFORCE_MX)] = '#';
    sts_domain("1", NULL, NULL);
    fake_https_add(URL, 200, big, n, "text/plain", NULL);
    free(big);
    run_zone("d.test");
    assert_unfetchable(
        "it is larger than 64 KiB (senders refuse it, RFC 8461 3.3)");
}

static void test_fetch_fails(void **state)
{
    (void)state;
    sts_domain("1", NULL, NULL);
    fake_https_fail(URL, MXP_ERR_PROTOCOL,
                    "certificate verify failed: unable to get local issuer "
                    "certificate");
    run_zone("d.test");
    assert_unfetchable("certificate verify failed: unable to get local issuer "
                       "certificate");
}

/* A fetch that timed out: the server's fault with the time of a run,
 * UNKNOWN when the run had too little left to give it. */
static void test_fetch_times_out(void **state)
{
    (void)state;
    sts_domain("1", NULL, NULL);
    fake_https_fail(URL, MXP_ERR_TIMEOUT, "timed out after 29.0 s");
    run_zone("d.test");
    assert_unfetchable("timed out after 29.0 s");
    teardown(NULL);
    setup(NULL);
    sts_domain("1", NULL, NULL);
    fake_https_fail(URL, MXP_ERR_TIMEOUT, "timed out after 2.0 s");
    fake_set_remaining(3);
    run_zone("d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("MTA-STS policy of d.test not fetched from " URL
                       ": timed out after 2.0 s, with too little of the run's "
                       "time left to tell (raise -t)");
}

/* No address for the policy host: a WARNING when the DNS says so for
 * certain, UNKNOWN when the lookup failed. */
static void test_policy_host_missing(void **state)
{
    (void)state;
    sts_domain("1", NULL, NULL);
    fake_https_fail(URL, MXP_ERR_DNS, "mta-sts.d.test: NXDOMAIN");
    run_zone("d.test");
    assert_unfetchable("mta-sts.d.test: NXDOMAIN");
    assert_int_equal(fake_dns_asked("mta-sts.d.test", MXP_DNS_A), 1);
    teardown(NULL);
    setup(NULL);
    sts_domain("1", NULL, NULL);
    fake_dns_add("mta-sts.d.test", MXP_DNS_A, MXP_DNS_SERVFAIL, NULL);
    fake_https_fail(URL, MXP_ERR_DNS, "mta-sts.d.test: A lookup: SERVFAIL");
    run_zone("d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("MTA-STS policy of d.test not fetched from " URL
                       ": mta-sts.d.test: A lookup: SERVFAIL: the DNS gave no "
                       "definite answer, so mxprobe cannot tell");
}

/* mxprobe's own failure (a core without HTTPS) is no finding. */
static void test_fetch_unsupported(void **state)
{
    (void)state;
    sts_domain("1", NULL, NULL);
    fake_https_fail(URL, MXP_ERR_UNSUPPORTED, "HTTPS is not built in yet");
    run_zone("d.test");
    assert_state(MXP_STATE_UNKNOWN);
    assert_summary_has("MTA-STS policy of d.test not fetched from " URL
                       ": HTTPS is not built in yet: mxprobe cannot tell");
}

/* ---- the cache ---------------------------------------------------------- */

static void test_cache_written_then_used(void **state)
{
    struct zone_settings set;
    char path[128];
    struct stat st;

    (void)state;
    with_cache(&set);
    sts_domain("20240101", ENFORCE_MX, "text/plain");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_OK);
    snprintf(path, sizeof path, "%s/d.test.mta-sts", tmpdir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* the policy server fails now: senders keep the cached enforce one,
     * held against today's MX hosts */
    teardown(NULL);
    setup(NULL);
    sts_domain("20240101", NULL, NULL);
    second_mx("mx2.d.test");
    fake_https_add(URL, 503, "", 0, "text/html", NULL);
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_CRITICAL);
    assert_detail("MTA-STS policy of d.test cannot be fetched from " URL
                  ": HTTP status 503; senders keep applying the enforce "
                  "policy they cached (id 20240101, fetched ",
                  MXP_STATE_CRITICAL);
    /* ") of": the cached policy's "(fetched ...)" just before */
    assert_detail(") of d.test: mail to MX mx2.d.test is refused by MTA-STS "
                  "senders (mode enforce, no mx pattern matches)",
                  MXP_STATE_CRITICAL);
    assert_detail("cached MTA-STS policy (fetched ", MXP_STATE_CRITICAL);
    assert_no_detail("senders without a cached policy");
}

static void test_cache_expired(void **state)
{
    struct zone_settings set;

    (void)state;
    with_cache(&set);
    cached("20240101", 2 * 86400,
           "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 172799\n");
    sts_domain("20240101", NULL, NULL);
    fake_https_fail(URL, MXP_ERR_CONNECT, "connection refused");
    run_zone_set("d.test", &set);
    assert_unfetchable("connection refused");
    /* a second longer, it binds */
    cached("20240101", 2 * 86400,
           "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 172900\n");
    fake_reset();
    setup(NULL);
    sts_domain("20240101", NULL, NULL);
    fake_https_fail(URL, MXP_ERR_CONNECT, "connection refused");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_CRITICAL);
}

/* A testing policy in the cache binds nobody. */
static void test_cache_testing_not_critical(void **state)
{
    struct zone_settings set;

    (void)state;
    with_cache(&set);
    cached("1", 60,
           "version: STSv1\nmode: testing\nmx: mx.d.test\nmax_age: 604800\n");
    sts_domain("1", NULL, NULL);
    run_zone_set("d.test", &set);
    assert_unfetchable("connection refused");
}

static void test_cache_broken_ignored(void **state)
{
    static const char *const broken[] = {
        "garbage\n",
        "mxprobe-mta-sts-cache 1\ndomain other.test\nfetched 1\nid 1\n\n"
        "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 604800\n",
        "mxprobe-mta-sts-cache 1\ndomain d.test\nfetched 99999999999\nid 1\n\n"
        "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 604800\n",
        "mxprobe-mta-sts-cache 1\ndomain d.test\nfetched 1x\nid 1\n\n",
        "mxprobe-mta-sts-cache 1\ndomain d.test\nfetched 1\nid 1\n\n"
        "version: STSv1\nmode: enforce\nmax_age: 604800\n",
        "mxprobe-mta-sts-cache 1\ndomain d.test\nfetched 1\nid 1\n"
        "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 604800\n",
    };
    struct zone_settings set;
    char path[128];

    (void)state;
    with_cache(&set);
    for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
        setup(NULL);
        cache_file(broken[i]);
        sts_domain("1", NULL, NULL);
        run_zone_set("d.test", &set);
        assert_unfetchable("connection refused");
        assert_detail("MTA-STS cache file of d.test in /tmp/mxprobe-sts-",
                      MXP_STATE_OK);
        teardown(NULL);
    }
    /* a NUL inside a header value: not cut short there */
    {
        static const char nul[] =
            "mxprobe-mta-sts-cache 1\ndomain d.test\0x\nfetched 1\nid 1\n\n"
            "version: STSv1\nmode: enforce\nmx: mx.d.test\nmax_age: 604800\n";
        struct sts_cached c;
        char why[256];
        FILE *f;

        setup(NULL);
        snprintf(path, sizeof path, "%s/d.test.mta-sts", tmpdir);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(nul, 1, sizeof nul - 1, f), sizeof nul - 1);
        fclose(f);
        assert_int_equal(
            sts_cache_read(tmpdir, "d.test", 10, &c, why, sizeof why), -1);
        assert_string_equal(why, "its domain line does not name d.test");
        teardown(NULL);
    }
    /* a good file, writable by others: not trusted */
    setup(NULL);
    cached("1", 60, ENFORCE_MX);
    snprintf(path, sizeof path, "%s/d.test.mta-sts", tmpdir);
    chmod(path, 0666);
    sts_domain("1", NULL, NULL);
    run_zone_set("d.test", &set);
    assert_unfetchable("connection refused");
    assert_detail("ignored: writable by others (mode 666)", MXP_STATE_OK);
    /* a symlink to a good file: not followed */
    teardown(NULL);
    setup(NULL);
    chmod(path, 0600);
    assert_int_equal(rename(path, "/tmp/mxprobe-sts-target"), 0);
    assert_int_equal(symlink("/tmp/mxprobe-sts-target", path), 0);
    sts_domain("1", NULL, NULL);
    run_zone_set("d.test", &set);
    unlink("/tmp/mxprobe-sts-target");
    assert_unfetchable("connection refused");
    assert_detail("ignored: cannot open it", MXP_STATE_OK);
}

/* A policy that changed under the same id is not fetched by senders
 * that cached it; a new id without a change is fine. */
static void test_cache_changed_without_new_id(void **state)
{
    static const char pol2[] = "version: STSv1\nmode: enforce\nmx: mx.d.test\n"
                               "mx: mx2.d.test\nmax_age: 604800\n";
    struct zone_settings set;

    (void)state;
    with_cache(&set);
    cached("7", 3600, ENFORCE_MX);
    sts_domain("7", pol2, "text/plain");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("MTA-STS policy of d.test changed since ");
    assert_summary_has("but its id 7 did not: senders that cached it do not "
                       "fetch the new one until it expires (RFC 8461 3.1), ");
    /* the cache keeps what senders keep: the next run says so again */
    teardown(NULL);
    setup(NULL);
    sts_domain("7", pol2, "text/plain");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("but its id 7 did not");
    /* the cached one ran out: senders fetch the new one, the cache too */
    cached("7", 2 * 604800, ENFORCE_MX);
    teardown(NULL);
    setup(NULL);
    sts_domain("7", pol2, "text/plain");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_OK);
    teardown(NULL);
    setup(NULL);
    sts_domain("7", pol2, "text/plain");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_OK);
    /* a pattern gone is a change too */
    teardown(NULL);
    setup(NULL);
    cached("7", 3600, pol2);
    sts_domain("7", ENFORCE_MX, "text/plain");
    run_zone_set("d.test", &set);
    assert_summary_has("MTA-STS policy of d.test changed since ");
    teardown(NULL);
    setup(NULL);
    cached("7", 3600, ENFORCE_MX);
    sts_domain("8",
               "version: STSv1\r\nmode: enforce\r\nmx: MX.d.test\r\n"
               "max_age: 604800\r\n",
               "text/plain");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_OK);
}

/* The record gone, a fresh enforce policy cached: senders still apply
 * it (RFC 8461 8.3). */
static void test_record_gone_cache_binds(void **state)
{
    struct zone_settings set;

    (void)state;
    with_cache(&set);
    cached("1", 60, ENFORCE_MX);
    clean_domain("d.test");
    run_zone_set("d.test", &set);
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("no MTA-STS record for d.test; senders keep applying "
                       "the enforce policy they cached (id 1, fetched ");
    assert_int_equal(fake_https_gets(), 0);
}

static void test_cache_names(void **state)
{
    (void)state;
    assert_true(sts_cache_name_ok("d.test"));
    assert_true(sts_cache_name_ok("a-b_c.example"));
    assert_false(sts_cache_name_ok(""));
    assert_false(sts_cache_name_ok(".."));
    assert_false(sts_cache_name_ok("a..b"));
    assert_false(sts_cache_name_ok(".hidden"));
    assert_false(sts_cache_name_ok("a/b"));
    assert_false(sts_cache_name_ok("a?b"));
    assert_false(sts_cache_name_ok("D.test"));
}

/* A domain of 250 bytes: with ".mta-sts.XXXXXX" its file name would pass
 * the 255 bytes a name may have, so the cache never worked for it.  Two
 * such domains alike in their first 200 bytes keep files of their own. */
static void test_cache_long_domain(void **state)
{
    struct zone_settings set;
    struct sts_cached c;
    char a[254], b[254], why[256];
    static const char pol[] = "version: STSv1\nmode: enforce\nmx: mx.d.test\n"
                              "max_age: 604800\n";

    (void)state;
    /* 3 labels of 63, one of 51, "test": 250 bytes */
    memset(a, 'a', sizeof a);
    a[63] = a[127] = a[191] = a[243] = '.';
    memcpy(a + 244, "test", 5);
    assert_int_equal(strlen(a), 248);
    memcpy(b, a, sizeof b);
    b[240] = 'b';
    with_cache(&set);
    assert_int_equal(sts_cache_write(tmpdir, a, "ida", 1000, pol,
                                     sizeof pol - 1, why, sizeof why),
                     0);
    assert_int_equal(sts_cache_read(tmpdir, b, 2000, &c, why, sizeof why), 0);
    assert_int_equal(sts_cache_write(tmpdir, b, "idb", 1000, pol,
                                     sizeof pol - 1, why, sizeof why),
                     0);
    assert_int_equal(sts_cache_read(tmpdir, a, 2000, &c, why, sizeof why), 1);
    assert_string_equal(c.id, "ida");
    sts_cached_free(&c);
    assert_int_equal(sts_cache_read(tmpdir, b, 2000, &c, why, sizeof why), 1);
    assert_string_equal(c.id, "idb");
    sts_cached_free(&c);
}

/* ---- settings ----------------------------------------------------------- */

static void test_settings(void **state)
{
    static const struct {
        const char *yaml;
        int rc;
        const char *error;
    } t[] = {
        {"ca_file: ''\nmta_sts_cache: ''\n", MXP_OK, NULL},
        {"ca_file: /etc/hostname\n", MXP_OK, NULL},
        {"ca_file: /nonexistent/ca.pem\n", MXP_ERR_CONFIG,
         "ca_file: '/nonexistent/ca.pem' names no file"},
        {"ca_file: /tmp\n", MXP_ERR_CONFIG,
         "ca_file: '/tmp' is not a regular file"},
        {"ca_file: [a]\n", MXP_ERR_CONFIG, "ca_file: '' is not a file name"},
        {"mta_sts_cache: /tmp\n", MXP_OK, NULL},
        {"mta_sts_cache: /etc/hostname\n", MXP_ERR_CONFIG,
         "mta_sts_cache: '/etc/hostname' is not a directory"},
        {"mta_sts_cache: /nonexistent\n", MXP_ERR_CONFIG,
         "mta_sts_cache: '/nonexistent' names no directory"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        void *st = NULL;
        int rc;

        setup(NULL);
        assert_int_equal(fake_config_set(t[i].yaml), MXP_OK);
        rc = mxp_plugin.init(fake_init_ctx(), &st);
        if (rc != t[i].rc || (rc != MXP_OK && (fake_n_config_errors() != 1 ||
                                               strstr(fake_config_error(0),
                                                      t[i].error) == NULL)))
            fail_msg("row %zu: rc %d, errors %zu '%s'", i, rc,
                     fake_n_config_errors(),
                     fake_n_config_errors() ? fake_config_error(0) : "");
        mxp_plugin.free(rc == MXP_OK ? st : NULL);
        teardown(NULL);
    }
}

/* The configured CA file goes to https_get. */
static void test_ca_file_used(void **state)
{
    void *st = NULL;

    (void)state;
    assert_int_equal(fake_config_set("ca_file: /etc/hostname\n"), MXP_OK);
    assert_int_equal(mxp_plugin.init(fake_init_ctx(), &st), MXP_OK);
    sts_domain("1", ENFORCE_MX, "text/plain");
    run_zone_set("d.test", st);
    assert_int_equal(fake_https_gets(), 1);
    assert_string_equal(fake_https_ca_file(0), "/etc/hostname");
    mxp_plugin.free(st);
}

/* ---- TLS-RPT ------------------------------------------------------------ */

static void test_tlsrpt(void **state)
{
    (void)state;
    clean_domain("d.test");
    fake_dns_add("_smtp._tls.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=TLSRPTv1; rua=mailto:tls@d.test,https://r.d.test/tls",
                 NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_detail("TLS-RPT of d.test: reports go to mailto:tls@d.test, "
                  "https://r.d.test/tls",
                  MXP_STATE_OK);

    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    fake_dns_add("_smtp._tls.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=TLSRPTv1; rua=ftp://d.test/x", NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("TLS-RPT record of d.test is invalid: rua URI "
                       "'ftp://d.test/x' is neither mailto: nor https:: "
                       "v=TLSRPTv1; rua=ftp://d.test/x");

    teardown(NULL);
    setup(NULL);
    clean_domain("d.test");
    fake_dns_add("_smtp._tls.d.test", MXP_DNS_TXT, MXP_DNS_ANSWER,
                 "v=TLSRPTv1; rua=mailto:a@d.test",
                 "v=TLSRPTv1; rua=mailto:b@d.test", NULL);
    run_zone("d.test");
    assert_state(MXP_STATE_WARNING);
    assert_summary_has("_smtp._tls.d.test has several TLS-RPT records");
}

static void test_tlsrpt_absent(void **state)
{
    (void)state;
    clean_domain("d.test");
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_detail("no TLS-RPT record for d.test (with MTA-STS or DANE, one "
                  "lets senders report TLS failures, RFC 8460)",
                  MXP_STATE_OK);
    teardown(NULL);
    setup(NULL);
    sts_domain("1", ENFORCE_MX, "text/plain");
    run_zone("d.test");
    assert_state(MXP_STATE_OK);
    assert_detail("no TLS-RPT record for d.test: senders cannot report the "
                  "MTA-STS failures they meet (publish one at _smtp._tls, "
                  "RFC 8460)",
                  MXP_STATE_OK);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, sts_setup, sts_teardown)
    const struct CMUnitTest tests[] = {
        T(test_no_record),
        T(test_two_records),
        T(test_invalid_record),
        T(test_record_second_id),
        T(test_record_lookup_fails),
        T(test_enforce_matching),
        T(test_enforce_mx_not_matched),
        T(test_enforce_target_not_matched),
        T(test_target_not_an_mx),
        T(test_enforce_repeated_fields),
        T(test_enforce_key_case),
        T(test_domain_run),
        T(test_wildcard_one_label),
        T(test_testing_mode),
        T(test_none_mode),
        T(test_short_max_age),
        T(test_not_found),
        T(test_redirect),
        T(test_wrong_content_type),
        T(test_malformed),
        T(test_oversized),
        T(test_fetch_fails),
        T(test_fetch_times_out),
        T(test_fetch_unsupported),
        T(test_policy_host_missing),
        T(test_cache_written_then_used),
        T(test_cache_expired),
        T(test_cache_testing_not_critical),
        T(test_cache_broken_ignored),
        T(test_cache_changed_without_new_id),
        T(test_record_gone_cache_binds),
        T(test_cache_names),
        T(test_cache_long_domain),
        T(test_settings),
        T(test_ca_file_used),
        T(test_tlsrpt),
        T(test_tlsrpt_absent),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
