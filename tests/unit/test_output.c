/*
 * test_output.c - the three output formats (nagios, text, json) and the
 * report helpers they share, asserted as exact text on small reports
 * built in memory.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

/* ---- fixtures --------------------------------------------------------- */

#define PERF(l, v, u, w, c, mn, mx)                                            \
    {                                                                          \
        .label = l, .value = v, .uom = u, .warn = w, .crit = c, .min = mn,     \
        .max = mx                                                              \
    }
#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct mxp_detail banner_details[] = {
    {MXP_STATE_OK, "connected in 0.012s"},
    {MXP_STATE_WARNING, "greeting name does not match PTR"},
};
static struct mxp_perfdatum banner_perf[] = {
    PERF("banner_connect", 0.012, "s", NULL, NULL, 0, NAN),
    PERF("banner_ehlo", 0.02, "s", NULL, NULL, 0, NAN),
};
static struct mxp_transcript_line banner_transcript[] = {
    {0.012, 'C', "connected to 192.0.2.25:25"},
    {0.0125, '<', "220 mail.example.org ESMTP"},
    {0.013, '>', "EHLO probe.example.org"},
};
static char *banner_log[] = {"ptr lookup took 3ms"};

static struct mxp_detail relay_details[] = {
    {MXP_STATE_CRITICAL, "accepted RCPT TO:<relaytest%example.net@"
                         "[192.0.2.25]> (250 2.1.5 Ok)"},
    {MXP_STATE_OK, "refused RCPT TO:<relaytest@example.net>"},
};
static struct mxp_perfdatum relay_perf[] = {
    PERF("relay_accepted", 3, NULL, NULL, "1", 0, 16),
};
static struct mxp_perfdatum tls_perf[] = {
    PERF("tls_handshake", 0.05, "s", NULL, NULL, 0, NAN),
    PERF("tls_cert_days", 81, NULL, "14", "7", NAN, NAN),
};
static struct mxp_perfdatum dnsbl_perf[] = {
    PERF("dnsbl_listed", 2, NULL, "1", "2", 0, 40),
};

static struct mxp_check_result full_checks[] = {
    {.plugin = "banner",
     .state = MXP_STATE_WARNING,
     .summary = "greeting names mail.example.org, PTR is "
                "dsl-192-0-2-25.isp.example",
     .details = banner_details,
     .n_details = N(banner_details),
     .perf = banner_perf,
     .n_perf = N(banner_perf),
     .transcript = banner_transcript,
     .n_transcript = N(banner_transcript),
     .log = banner_log,
     .n_log = N(banner_log),
     .elapsed = 0.02},
    {.plugin = "relay",
     .state = MXP_STATE_CRITICAL,
     .summary = "open relay (3/16 forms)",
     .details = relay_details,
     .n_details = N(relay_details),
     .perf = relay_perf,
     .n_perf = N(relay_perf),
     .elapsed = 1.5},
    {.plugin = "tls",
     .state = MXP_STATE_OK,
     .summary = "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate valid 81 days",
     .perf = tls_perf,
     .n_perf = N(tls_perf)},
    {.plugin = "dnsbl",
     .state = MXP_STATE_CRITICAL,
     .summary = "on 2/40 DNSBLs",
     .perf = dnsbl_perf,
     .n_perf = N(dnsbl_perf)},
    {.plugin = "zone", .state = MXP_STATE_UNKNOWN, .summary = "no SOA"},
};

static struct mxp_target_report full_target = {
    .host = "mx1.example.org",
    .addr = "192.0.2.25",
    .port = 25,
    .state = MXP_STATE_CRITICAL,
    .checks = full_checks,
    .n_checks = N(full_checks),
    .elapsed = 1.6,
};

static struct mxp_report one(struct mxp_target_report *t)
{
    struct mxp_report r = {.targets = t, .n_targets = 1, .state = t->state};
    return r;
}

/* ---- running a format into a string ----------------------------------- */

enum fmt { NAGIOS, TEXT, TEXT_COLOR, JSON, OPENMETRICS };

static char *render(enum fmt fmt, const struct mxp_report *r, int verbosity)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    int rc = MXP_ERR_INVALID;

    assert_non_null(f);
    switch (fmt) {
    case NAGIOS:
        rc = mxp_output_nagios(f, r, verbosity);
        break;
    case TEXT:
        rc = mxp_output_text(f, r, verbosity, 0);
        break;
    case TEXT_COLOR:
        rc = mxp_output_text(f, r, verbosity, 1);
        break;
    case JSON:
        rc = mxp_output_json(f, r, verbosity);
        break;
    case OPENMETRICS:
        rc = mxp_output_openmetrics(f, r);
        break;
    }
    assert_int_equal(rc, MXP_OK);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(strlen(s), n); /* no NUL bytes in any output */
    return s;
}

static void expect(enum fmt fmt, const struct mxp_report *r, int verbosity,
                   const char *want)
{
    char *got = render(fmt, r, verbosity);

    if (strcmp(got, want) != 0) {
        print_error("format %d -v%d\n--- got:\n%s--- expected:\n%s---\n",
                    (int)fmt, verbosity, got, want);
        free(got);
        fail();
    }
    free(got);
}

/* ---- nagios ----------------------------------------------------------- */

#define FULL_LINE1                                                             \
    "MXPROBE CRITICAL - mx1.example.org [192.0.2.25]: open relay (3/16 "       \
    "forms), on 2/40 DNSBLs, greeting names mail.example.org, PTR is "         \
    "dsl-192-0-2-25.isp.example, no SOA | banner_connect=0.012s;;;0 "          \
    "relay_accepted=3;;1;0;16 tls_handshake=0.05s;;;0 "                        \
    "dnsbl_listed=2;1;2;0;40\n"
#define FULL_PERF_LAST "|banner_ehlo=0.02s;;;0 tls_cert_days=81;14;7\n"

static void test_nagios_v0(void **state)
{
    struct mxp_report r = one(&full_target);

    (void)state;
    expect(NAGIOS, &r, 0,
           FULL_LINE1
           "[WARNING] banner: greeting names mail.example.org, PTR is "
           "dsl-192-0-2-25.isp.example\n"
           "[WARNING] banner: greeting name does not match PTR\n"
           "[CRITICAL] relay: open relay (3/16 forms)\n"
           "[CRITICAL] relay: accepted RCPT TO:<relaytest%example.net@"
           "[192.0.2.25]> (250 2.1.5 Ok)\n"
           "[OK] tls: TLSv1.3 TLS_AES_256_GCM_SHA384, certificate valid 81 "
           "days\n"
           "[CRITICAL] dnsbl: on 2/40 DNSBLs\n"
           "[UNKNOWN] zone: no SOA\n" FULL_PERF_LAST);
}

#define FULL_CHECKS_V1                                                         \
    "[WARNING] banner: greeting names mail.example.org, PTR is "               \
    "dsl-192-0-2-25.isp.example\n"                                             \
    "[OK] banner: connected in 0.012s\n"                                       \
    "[WARNING] banner: greeting name does not match PTR\n"

#define FULL_REST_V1                                                           \
    "[CRITICAL] relay: open relay (3/16 forms)\n"                              \
    "[CRITICAL] relay: accepted RCPT TO:<relaytest%example.net@"               \
    "[192.0.2.25]> (250 2.1.5 Ok)\n"                                           \
    "[OK] relay: refused RCPT TO:<relaytest@example.net>\n"                    \
    "[OK] tls: TLSv1.3 TLS_AES_256_GCM_SHA384, certificate valid 81 "          \
    "days\n"                                                                   \
    "[CRITICAL] dnsbl: on 2/40 DNSBLs\n"                                       \
    "[UNKNOWN] zone: no SOA\n" FULL_PERF_LAST

#define FULL_TRANSCRIPT                                                        \
    "  banner +0.012s C connected to 192.0.2.25:25\n"                          \
    "  banner +0.013s < 220 mail.example.org ESMTP\n"                          \
    "  banner +0.013s > EHLO probe.example.org\n"

static void test_nagios_verbosity(void **state)
{
    struct mxp_report r = one(&full_target);

    (void)state;
    expect(NAGIOS, &r, 1, FULL_LINE1 FULL_CHECKS_V1 FULL_REST_V1);
    expect(NAGIOS, &r, 2,
           FULL_LINE1 FULL_CHECKS_V1 FULL_TRANSCRIPT FULL_REST_V1);
    expect(NAGIOS, &r, 3,
           FULL_LINE1 FULL_CHECKS_V1 FULL_TRANSCRIPT
           "  banner debug: ptr lookup took 3ms\n" FULL_REST_V1);
}

static struct mxp_perfdatum ok_perf_a[] = {
    PERF("a_time", 1, "s", NULL, NULL, NAN, NAN)};
static struct mxp_detail ok_details[] = {{MXP_STATE_OK, "fine detail"}};
static struct mxp_check_result ok_checks[] = {
    {.plugin = "a",
     .state = MXP_STATE_OK,
     .summary = "first ok",
     .perf = ok_perf_a,
     .n_perf = 1,
     .details = ok_details,
     .n_details = 1},
    {.plugin = "b", .state = MXP_STATE_OK, .summary = "second ok"},
    {.plugin = "c", .state = MXP_STATE_OK, .summary = NULL},
};

static void test_nagios_all_ok(void **state)
{
    struct mxp_target_report t = {.host = "mx.example.org",
                                  .addr = "192.0.2.1",
                                  .port = 25,
                                  .checks = ok_checks,
                                  .n_checks = N(ok_checks)};
    struct mxp_report r = one(&t);

    (void)state;
    /* every summary in run order; a missing one named by its plugin; no
     * last perfdata line when line 1 took all of it */
    expect(NAGIOS, &r, 0,
           "MXPROBE OK - mx.example.org [192.0.2.1]: first ok, second ok, "
           "c OK | a_time=1s\n"
           "[OK] a: first ok\n"
           "[OK] b: second ok\n"
           "[OK] c\n");
}

/* A detail that says what the check's own line says is not repeated;
 * one with the same words in another state still is. */
static struct mxp_detail dup_details[] = {
    {MXP_STATE_WARNING, "greeting names a.example, PTR is b.example"},
    {MXP_STATE_OK, "greeting names a.example, PTR is b.example"},
    {MXP_STATE_WARNING, "no PTR record for 192.0.2.1"},
};
static struct mxp_check_result dup_checks[] = {
    {.plugin = "banner",
     .state = MXP_STATE_WARNING,
     .summary = "greeting names a.example, PTR is b.example",
     .details = dup_details,
     .n_details = 3},
};

static void test_nagios_no_repeated_summary(void **state)
{
    struct mxp_target_report t = {.host = "192.0.2.1",
                                  .addr = "192.0.2.1",
                                  .port = 25,
                                  .state = MXP_STATE_WARNING,
                                  .checks = dup_checks,
                                  .n_checks = 1};
    struct mxp_report r = one(&t);

    (void)state;
    r.state = MXP_STATE_WARNING;
    expect(NAGIOS, &r, 1,
           "MXPROBE WARNING - 192.0.2.1: greeting names a.example, PTR is "
           "b.example\n"
           "[WARNING] banner: greeting names a.example, PTR is b.example\n"
           "[OK] banner: greeting names a.example, PTR is b.example\n"
           "[WARNING] banner: no PTR record for 192.0.2.1\n");
}

static void test_nagios_order_within_state(void **state)
{
    struct mxp_check_result c[] = {
        {.plugin = "p1", .state = MXP_STATE_UNKNOWN, .summary = "u1"},
        {.plugin = "p2", .state = MXP_STATE_WARNING, .summary = "w1"},
        {.plugin = "p3", .state = MXP_STATE_OK, .summary = "ok"},
        {.plugin = "p4", .state = MXP_STATE_CRITICAL, .summary = "c1"},
        {.plugin = "p5", .state = MXP_STATE_WARNING, .summary = "w2"},
        {.plugin = "p6", .state = MXP_STATE_UNKNOWN, .summary = "u2"},
        {.plugin = "p7", .state = MXP_STATE_CRITICAL, .summary = "c2"},
    };
    struct mxp_target_report t = {.host = "h",
                                  .addr = "h",
                                  .state = MXP_STATE_CRITICAL,
                                  .checks = c,
                                  .n_checks = N(c)};
    struct mxp_report r = one(&t);
    char *s = mxp_target_summary(&t);

    (void)state;
    assert_string_equal(s, "c1, c2, w1, w2, u1, u2");
    free(s);
    /* host equal to addr: the name once */
    expect(NAGIOS, &r, 0,
           "MXPROBE CRITICAL - h: c1, c2, w1, w2, u1, u2\n"
           "[UNKNOWN] p1: u1\n[WARNING] p2: w1\n[OK] p3: ok\n"
           "[CRITICAL] p4: c1\n[WARNING] p5: w2\n[UNKNOWN] p6: u2\n"
           "[CRITICAL] p7: c2\n");
}

static void test_nagios_error(void **state)
{
    struct mxp_target_report t = {.host = "nx.example.org",
                                  .addr = NULL,
                                  .port = 25,
                                  .state = MXP_STATE_CRITICAL,
                                  .error = "cannot resolve nx.example.org"};
    struct mxp_report r = one(&t);

    (void)state;
    expect(NAGIOS, &r, 0,
           "MXPROBE CRITICAL - nx.example.org: cannot resolve "
           "nx.example.org\n");
    /* with checks, their summary follows the error */
    t.addr = "192.0.2.9";
    t.checks = ok_checks;
    t.n_checks = 2;
    expect(NAGIOS, &r, 0,
           "MXPROBE CRITICAL - nx.example.org [192.0.2.9]: cannot resolve "
           "nx.example.org, first ok, second ok | a_time=1s\n"
           "[OK] a: first ok\n"
           "[OK] b: second ok\n");
}

/* Nagios splits at '|' and newlines: texts from the network must not. */
static void test_nagios_sanitise(void **state)
{
    struct mxp_detail d[] = {{MXP_STATE_WARNING, "a|b\r\nc"}};
    struct mxp_transcript_line tr[] = {{0.5, '<', "220 x | y\r\n"},
                                       {1.25, '\n', "z"}};
    char *log[] = {"l|o\ng"};
    struct mxp_perfdatum p[] = {PERF("s_v", 1, NULL, NULL, NULL, NAN, NAN)};
    struct mxp_check_result c[] = {{.plugin = "s",
                                    .state = MXP_STATE_WARNING,
                                    .summary = "banner says |evil\nline",
                                    .details = d,
                                    .n_details = 1,
                                    .transcript = tr,
                                    .n_transcript = 2,
                                    .log = log,
                                    .n_log = 1,
                                    .perf = p,
                                    .n_perf = 1}};
    struct mxp_target_report t = {.host = "h|x",
                                  .addr = "192.0.2.1",
                                  .state = MXP_STATE_WARNING,
                                  .error = "err|or\n",
                                  .checks = c,
                                  .n_checks = 1};
    struct mxp_report r = one(&t);

    (void)state;
    expect(NAGIOS, &r, 3,
           "MXPROBE WARNING - h/x [192.0.2.1]: err/or , banner says /evil "
           "line | s_v=1\n"
           "[WARNING] s: banner says /evil line\n"
           "[WARNING] s: a/b  c\n"
           "  s +0.500s < 220 x / y  \n"
           "  s +1.250s ? z\n"
           "  s debug: l/o g\n");
}

static void test_nagios_multi(void **state)
{
    struct mxp_check_result c2[] = {{.plugin = "relay",
                                     .state = MXP_STATE_CRITICAL,
                                     .summary = "open relay",
                                     .perf = relay_perf,
                                     .n_perf = 1}};
    struct mxp_target_report t[] = {
        {.host = "a.example.org",
         .addr = "192.0.2.1",
         .port = 25,
         .state = MXP_STATE_OK,
         .checks = ok_checks,
         .n_checks = 2},
        {.host = "b.example.org",
         .addr = "192.0.2.2",
         .port = 25,
         .state = MXP_STATE_CRITICAL,
         .checks = c2,
         .n_checks = 1},
        {.host = "c.example.org",
         .state = MXP_STATE_CRITICAL,
         .error = "cannot resolve"},
        {.host = "d.example.org",
         .addr = "192.0.2.4",
         .state = MXP_STATE_OK,
         .checks = ok_checks + 1,
         .n_checks = 1},
    };
    struct mxp_report r = {
        .targets = t, .n_targets = N(t), .state = MXP_STATE_CRITICAL};

    (void)state;
    expect(NAGIOS, &r, 0,
           "MXPROBE CRITICAL - 4 targets: 2 critical, 2 ok\n"
           "== a.example.org [192.0.2.1]: OK - first ok, second ok\n"
           "[OK] a: first ok\n"
           "[OK] b: second ok\n"
           "== b.example.org [192.0.2.2]: CRITICAL - open relay\n"
           "[CRITICAL] relay: open relay\n"
           "== c.example.org: CRITICAL - cannot resolve\n"
           "== d.example.org [192.0.2.4]: OK - second ok\n"
           "[OK] b: second ok\n"
           "|a.example.org::a_time=1s "
           "b.example.org::relay_accepted=3;;1;0;16\n");
}

static void test_nagios_edge(void **state)
{
    struct mxp_report r = {.n_targets = 0, .state = MXP_STATE_UNKNOWN};
    struct mxp_target_report t = {
        .host = "h", .addr = "192.0.2.1", .state = MXP_STATE_OK};
    struct mxp_target_report u[3] = {
        {.host = "x", .state = MXP_STATE_WARNING},
        {.host = "y", .state = MXP_STATE_UNKNOWN},
        {.host = "z", .state = MXP_STATE_UNKNOWN},
    };
    char *s;

    (void)state;
    expect(NAGIOS, &r, 0, "MXPROBE UNKNOWN - no targets\n");
    r = one(&t);
    expect(NAGIOS, &r, 0, "MXPROBE OK - h [192.0.2.1]: no checks run\n");
    r.targets = u;
    r.n_targets = 3;
    s = mxp_report_counts(&r);
    assert_string_equal(s, "1 warning, 2 unknown");
    free(s);
    r.n_targets = 0;
    s = mxp_report_counts(&r);
    assert_string_equal(s, "0 ok");
    free(s);
}

/* ---- text ------------------------------------------------------------- */

static void test_text_plain(void **state)
{
    struct mxp_report r = one(&full_target);

    (void)state;
    expect(TEXT, &r, 0,
           "mx1.example.org [192.0.2.25] port 25: CRITICAL\n"
           "  WARNING   banner  greeting names mail.example.org, PTR is "
           "dsl-192-0-2-25.isp.example\n"
           "                    [WARNING] greeting name does not match PTR\n"
           "  CRITICAL  relay   open relay (3/16 forms)\n"
           "                    [CRITICAL] accepted RCPT "
           "TO:<relaytest%example.net@[192.0.2.25]> (250 2.1.5 Ok)\n"
           "  OK        tls     TLSv1.3 TLS_AES_256_GCM_SHA384, certificate "
           "valid 81 days\n"
           "  CRITICAL  dnsbl   on 2/40 DNSBLs\n"
           "  UNKNOWN   zone    no SOA\n");
    expect(TEXT, &r, 3,
           "mx1.example.org [192.0.2.25] port 25: CRITICAL\n"
           "  WARNING   banner  greeting names mail.example.org, PTR is "
           "dsl-192-0-2-25.isp.example\n"
           "                    [OK] connected in 0.012s\n"
           "                    [WARNING] greeting name does not match PTR\n"
           "                    +0.012s C connected to 192.0.2.25:25\n"
           "                    +0.013s < 220 mail.example.org ESMTP\n"
           "                    +0.013s > EHLO probe.example.org\n"
           "                    debug: ptr lookup took 3ms\n"
           "  CRITICAL  relay   open relay (3/16 forms)\n"
           "                    [CRITICAL] accepted RCPT "
           "TO:<relaytest%example.net@[192.0.2.25]> (250 2.1.5 Ok)\n"
           "                    [OK] refused RCPT "
           "TO:<relaytest@example.net>\n"
           "  OK        tls     TLSv1.3 TLS_AES_256_GCM_SHA384, certificate "
           "valid 81 days\n"
           "  CRITICAL  dnsbl   on 2/40 DNSBLs\n"
           "  UNKNOWN   zone    no SOA\n"
           "Performance data:\n"
           "  banner_connect=0.012s;;;0\n"
           "  banner_ehlo=0.02s;;;0\n"
           "  relay_accepted=3;;1;0;16\n"
           "  tls_handshake=0.05s;;;0\n"
           "  tls_cert_days=81;14;7\n"
           "  dnsbl_listed=2;1;2;0;40\n");
}

static void test_text_no_escapes_without_color(void **state)
{
    struct mxp_report r = one(&full_target);
    char *s;

    (void)state;
    s = render(TEXT, &r, 3);
    assert_null(strchr(s, '\033'));
    free(s);
}

static void test_text_color(void **state)
{
    struct mxp_check_result c[] = {
        {.plugin = "banner",
         .state = MXP_STATE_WARNING,
         .summary = "220 \033[2J\033]0;owned\007 hi"},
        {.plugin = "tls", .state = MXP_STATE_OK, .summary = "fine"},
        {.plugin = "relay", .state = MXP_STATE_CRITICAL, .summary = "open"},
        {.plugin = "zone", .state = MXP_STATE_UNKNOWN, .summary = "?"},
    };
    struct mxp_target_report t = {.host = "mx",
                                  .addr = "192.0.2.1",
                                  .port = 587,
                                  .state = MXP_STATE_CRITICAL,
                                  .checks = c,
                                  .n_checks = N(c)};
    struct mxp_report r = one(&t);

    (void)state;
    expect(TEXT_COLOR, &r, 0,
           "\033[1mmx [192.0.2.1] port 587: \033[1;31mCRITICAL\033[0m\n"
           "  \033[38;5;208mWARNING\033[0m   banner  220 ?[2J?]0;owned? "
           "hi\n"
           "  \033[34mOK\033[0m        tls     fine\n"
           "  \033[1;31mCRITICAL\033[0m  relay   open\n"
           "  \033[35mUNKNOWN\033[0m   zone    ?\n");
    expect(TEXT, &r, 0,
           "mx [192.0.2.1] port 587: CRITICAL\n"
           "  WARNING   banner  220 ?[2J?]0;owned? hi\n"
           "  OK        tls     fine\n"
           "  CRITICAL  relay   open\n"
           "  UNKNOWN   zone    ?\n");
}

/* Valid UTF-8 stays; C1 controls (8-bit CSI), invalid bytes, tabs and
 * DEL become '?', one per maximal invalid sequence. */
static void test_text_sanitise_utf8(void **state)
{
    struct mxp_detail d[] = {{MXP_STATE_CRITICAL, "x\xc2\x9b"
                                                  "31my\x7f"}};
    struct mxp_check_result c[] = {{.plugin = "geoip",
                                    .state = MXP_STATE_CRITICAL,
                                    .summary = "Z\xc3\xbcrich \xff\xe2\x82"
                                               "\t\x9b"
                                               "2J",
                                    .details = d,
                                    .n_details = 1}};
    struct mxp_target_report t = {.host = "h\033x",
                                  .addr = "192.0.2.1",
                                  .port = 25,
                                  .state = MXP_STATE_CRITICAL,
                                  .error = "e\re",
                                  .checks = c,
                                  .n_checks = 1};
    struct mxp_report r = one(&t);

    (void)state;
    expect(TEXT, &r, 0,
           "h?x [192.0.2.1] port 25: CRITICAL\n"
           "  error: e?e\n"
           "  CRITICAL  geoip  Z\xc3\xbcrich ????2J\n"
           "                   [CRITICAL] x?31my?\n");
}

static void test_text_multi(void **state)
{
    struct mxp_target_report t[] = {
        {.host = "a",
         .addr = "192.0.2.1",
         .port = 25,
         .state = MXP_STATE_OK,
         .checks = ok_checks,
         .n_checks = 2},
        {.host = "b",
         .port = 25,
         .state = MXP_STATE_UNKNOWN,
         .error = "cannot resolve"},
    };
    struct mxp_report r = {
        .targets = t, .n_targets = 2, .state = MXP_STATE_UNKNOWN};

    (void)state;
    expect(TEXT, &r, 1,
           "2 targets: UNKNOWN - 1 unknown, 1 ok\n"
           "\n"
           "a [192.0.2.1] port 25: OK\n"
           "  OK        a  first ok\n"
           "               [OK] fine detail\n"
           "  OK        b  second ok\n"
           "Performance data:\n"
           "  a_time=1s\n"
           "\n"
           "b port 25: UNKNOWN\n"
           "  error: cannot resolve\n");
}

/* ---- json ------------------------------------------------------------- */

#define JSON_HEAD                                                              \
    "{\"host\":\"mx1.example.org\",\"address\":\"192.0.2.25\",\"port\":25,"    \
    "\"state\":\"CRITICAL\",\"exit_code\":2,\"summary\":\"open relay "         \
    "(3/16 forms), on 2/40 DNSBLs, greeting names mail.example.org, PTR "      \
    "is dsl-192-0-2-25.isp.example, no SOA\",\"error\":null,"                  \
    "\"elapsed\":1.6,\"checks\":["
#define JSON_BANNER_HEAD                                                       \
    "{\"plugin\":\"banner\",\"state\":\"WARNING\",\"summary\":\"greeting "     \
    "names mail.example.org, PTR is dsl-192-0-2-25.isp.example\","             \
    "\"elapsed\":0.02,\"details\":[{\"state\":\"OK\",\"text\":\"connected "    \
    "in 0.012s\"},{\"state\":\"WARNING\",\"text\":\"greeting name does "       \
    "not match PTR\"}],\"perfdata\":[{\"label\":\"banner_connect\","           \
    "\"value\":0.012,\"uom\":\"s\",\"warn\":null,\"crit\":null,\"min\":0,"     \
    "\"max\":null},{\"label\":\"banner_ehlo\",\"value\":0.02,\"uom\":\"s\""    \
    ",\"warn\":null,\"crit\":null,\"min\":0,\"max\":null}]"
#define JSON_TRANSCRIPT                                                        \
    ",\"transcript\":[{\"t\":0.012,\"dir\":\"C\",\"text\":\"connected to "     \
    "192.0.2.25:25\"},{\"t\":0.0125,\"dir\":\"<\",\"text\":\"220 "             \
    "mail.example.org ESMTP\"},{\"t\":0.013,\"dir\":\">\",\"text\":\"EHLO "    \
    "probe.example.org\"}]"
#define JSON_REST                                                              \
    "},{\"plugin\":\"relay\",\"state\":\"CRITICAL\",\"summary\":\"open "       \
    "relay (3/16 forms)\",\"elapsed\":1.5,\"details\":[{\"state\":"            \
    "\"CRITICAL\",\"text\":\"accepted RCPT TO:<relaytest%example.net@"         \
    "[192.0.2.25]> (250 2.1.5 Ok)\"},{\"state\":\"OK\",\"text\":\"refused "    \
    "RCPT TO:<relaytest@example.net>\"}],\"perfdata\":[{\"label\":"            \
    "\"relay_accepted\",\"value\":3,\"uom\":null,\"warn\":null,\"crit\":"      \
    "\"1\",\"min\":0,\"max\":16}]"
#define JSON_TLS                                                               \
    "},{\"plugin\":\"tls\",\"state\":\"OK\",\"summary\":\"TLSv1.3 "            \
    "TLS_AES_256_GCM_SHA384, certificate valid 81 days\",\"elapsed\":0,"       \
    "\"details\":[],\"perfdata\":[{\"label\":\"tls_handshake\",\"value\":"     \
    "0.05,\"uom\":\"s\",\"warn\":null,\"crit\":null,\"min\":0,\"max\":null"    \
    "},{\"label\":\"tls_cert_days\",\"value\":81,\"uom\":null,\"warn\":"       \
    "\"14\",\"crit\":\"7\",\"min\":null,\"max\":null}]"
#define JSON_DNSBL                                                             \
    "},{\"plugin\":\"dnsbl\",\"state\":\"CRITICAL\",\"summary\":\"on 2/40 "    \
    "DNSBLs\",\"elapsed\":0,\"details\":[],\"perfdata\":[{\"label\":"          \
    "\"dnsbl_listed\",\"value\":2,\"uom\":null,\"warn\":\"1\",\"crit\":"       \
    "\"2\",\"min\":0,\"max\":40}]"
#define JSON_ZONE                                                              \
    "},{\"plugin\":\"zone\",\"state\":\"UNKNOWN\",\"summary\":\"no SOA\","     \
    "\"elapsed\":0,\"details\":[],\"perfdata\":[]"
/* The whole line; banner_extra and other_extra end the banner's and the
 * other checks' objects (transcript and log keys). */
#define JSON_FULL(banner_extra, other_extra)                                   \
    JSON_HEAD JSON_BANNER_HEAD banner_extra JSON_REST other_extra JSON_TLS     \
        other_extra JSON_DNSBL other_extra JSON_ZONE other_extra "}]}\n"

/* ---- openmetrics ------------------------------------------------------ */

#define OM_T "target=\"mx1.example.org\",address=\"192.0.2.25\",port=\"25\""

static void test_openmetrics_full(void **state)
{
    struct mxp_report r = one(&full_target);

    (void)state;
    expect(OPENMETRICS, &r, 0,
           "# TYPE mxprobe_target_state gauge\n"
           "# HELP mxprobe_target_state Worst Nagios state of a target: 0 "
           "OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n"
           "mxprobe_target_state{" OM_T "} 2\n"
           "# TYPE mxprobe_check_state gauge\n"
           "# HELP mxprobe_check_state Nagios state of one check of a "
           "target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n"
           "mxprobe_check_state{" OM_T ",check=\"banner\"} 1\n"
           "mxprobe_check_state{" OM_T ",check=\"relay\"} 2\n"
           "mxprobe_check_state{" OM_T ",check=\"tls\"} 0\n"
           "mxprobe_check_state{" OM_T ",check=\"dnsbl\"} 2\n"
           "mxprobe_check_state{" OM_T ",check=\"zone\"} 3\n"
           "# TYPE mxprobe_check_duration_seconds gauge\n"
           "# HELP mxprobe_check_duration_seconds Seconds one check of a "
           "target took.\n"
           "mxprobe_check_duration_seconds{" OM_T ",check=\"banner\"} "
           "0.020000\n"
           "mxprobe_check_duration_seconds{" OM_T ",check=\"relay\"} "
           "1.500000\n"
           "mxprobe_check_duration_seconds{" OM_T ",check=\"tls\"} 0\n"
           "mxprobe_check_duration_seconds{" OM_T ",check=\"dnsbl\"} 0\n"
           "mxprobe_check_duration_seconds{" OM_T ",check=\"zone\"} 0\n"
           "# TYPE mxprobe_perfdata gauge\n"
           "# HELP mxprobe_perfdata A perfdata value of a check, in the unit "
           "of its uom label.\n"
           "mxprobe_perfdata{" OM_T ",check=\"banner\",metric=\"banner_"
           "connect\",uom=\"s\"} 0.012000\n"
           "mxprobe_perfdata{" OM_T ",check=\"banner\",metric=\"banner_"
           "ehlo\",uom=\"s\"} 0.020000\n"
           "mxprobe_perfdata{" OM_T ",check=\"relay\",metric=\"relay_"
           "accepted\",uom=\"\"} 3\n"
           "mxprobe_perfdata{" OM_T ",check=\"tls\",metric=\"tls_"
           "handshake\",uom=\"s\"} 0.050000\n"
           "mxprobe_perfdata{" OM_T ",check=\"tls\",metric=\"tls_cert_"
           "days\",uom=\"\"} 81\n"
           "mxprobe_perfdata{" OM_T ",check=\"dnsbl\",metric=\"dnsbl_"
           "listed\",uom=\"\"} 2\n"
           "# EOF\n");
}

/* Label values from the network or the operator: escaped, one line,
 * valid UTF-8; an unknown value is NaN; no address is "". */
static void test_openmetrics_escaping(void **state)
{
    static struct mxp_perfdatum perf[] = {
        PERF("odd \"x\"\\y\nz", NAN, NULL, NULL, NULL, NAN, NAN),
    };
    static struct mxp_check_result checks[] = {
        {.plugin = "zone", .state = MXP_STATE_OK, .perf = perf, .n_perf = 1},
    };
    struct mxp_target_report t = {.host = "bad\xff\x01host",
                                  .addr = NULL,
                                  .port = 587,
                                  .state = MXP_STATE_UNKNOWN,
                                  .checks = checks,
                                  .n_checks = 1};
    struct mxp_report r = one(&t);
    char *got;

    (void)state;
    got = render(OPENMETRICS, &r, 3);

    assert_non_null(strstr(got, "mxprobe_target_state{target=\"bad\xef\xbf"
                                "\xbd?host\",address=\"\",port=\"587\"} "
                                "3\n"));
    assert_non_null(strstr(got, ",metric=\"odd \\\"x\\\"\\\\y\\nz\","
                                "uom=\"\"} NaN\n"));
    assert_non_null(strstr(got, "# EOF\n"));
    /* Every line a sample, a TYPE/HELP line or the end. */
    for (char *line = got; *line != '\0'; line = strchr(line, '\n') + 1)
        assert_true(strncmp(line, "mxprobe_", 8) == 0 ||
                    strncmp(line, "# TYPE ", 7) == 0 ||
                    strncmp(line, "# HELP ", 7) == 0 ||
                    strcmp(line, "# EOF\n") == 0);
    free(got);
}

static void test_json_full(void **state)
{
    struct mxp_report r = one(&full_target);

    (void)state;
    /* details are all there even at -v0; no transcript, no log */
    expect(JSON, &r, 0, JSON_FULL("", ""));
    expect(JSON, &r, 1, JSON_FULL("", ""));
    expect(JSON, &r, 2, JSON_FULL(JSON_TRANSCRIPT, ",\"transcript\":[]"));
    expect(JSON, &r, 3,
           JSON_FULL(JSON_TRANSCRIPT ",\"log\":[\"ptr lookup took 3ms\"]",
                     ",\"transcript\":[],\"log\":[]"));
}

static void test_json_escaping(void **state)
{
    struct mxp_detail d[] = {
        {MXP_STATE_OK, "q\"b\\s/\x01\x1f\x7f\n\r\t"},
        /* valid: 2, 3 and 4 byte forms */
        {MXP_STATE_OK, "Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x93\xa7"},
        /* invalid: lone continuation, overlong, surrogate, > U+10FFFF,
         * truncated 3-byte form, 0xff */
        {MXP_STATE_OK, "a\x80"
                       "b\xc0\xaf"
                       "c\xed\xa0\x80"
                       "d\xf4\x90\x80"
                       "\x80"
                       "e\xe2\x82"
                       "f\xff"},
    };
    struct mxp_transcript_line tr[] = {{0, '\x01', "x"}, {0, '\xe9', "y"}};
    struct mxp_check_result c[] = {{.plugin = "p\"",
                                    .state = MXP_STATE_OK,
                                    .summary = NULL,
                                    .details = d,
                                    .n_details = N(d),
                                    .transcript = tr,
                                    .n_transcript = N(tr)}};
    struct mxp_target_report t = {.host = "h\\",
                                  .addr = NULL,
                                  .port = 25,
                                  .state = MXP_STATE_OK,
                                  .elapsed = NAN,
                                  .checks = c,
                                  .n_checks = 1};
    struct mxp_report r = one(&t);

    (void)state;
    expect(JSON, &r, 2,
           "{\"host\":\"h\\\\\",\"address\":null,\"port\":25,\"state\":"
           "\"OK\",\"exit_code\":0,\"summary\":\"p\\\" OK\",\"error\":null,"
           "\"elapsed\":null,\"checks\":[{\"plugin\":\"p\\\"\",\"state\":"
           "\"OK\",\"summary\":\"\",\"elapsed\":0,\"details\":["
           "{\"state\":\"OK\",\"text\":\"q\\\"b\\\\s/\\u0001\\u001f\\u007f"
           "\\u000a\\u000d\\u0009\"},"
           "{\"state\":\"OK\",\"text\":\"Z\xc3\xbcrich \xe2\x82\xac "
           "\xf0\x9f\x93\xa7\"},"
           "{\"state\":\"OK\",\"text\":\"a\\ufffdb\\ufffd\\ufffdc\\ufffd"
           "\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffd\\ufffde\\ufffdf\\ufffd\"}"
           "],\"perfdata\":[],\"transcript\":[{\"t\":0,\"dir\":"
           "\"\\u0001\",\"text\":\"x\"},{\"t\":0,\"dir\":\"\\ufffd\","
           "\"text\":\"y\"}]}]}\n");
}

/* A check's fields come as an object after the perfdata; none: no key. */
static void test_json_fields(void **state)
{
    struct mxp_field f[] = {{.key = "country", .text = "DE"},
                            {.key = "lat", .number = 52.52},
                            {.key = "city", .text = "K\"o"}};
    struct mxp_check_result c[] = {
        {.plugin = "geoip",
         .state = MXP_STATE_OK,
         .summary = "x",
         .fields = f,
         .n_fields = N(f)},
        {.plugin = "other", .state = MXP_STATE_OK, .summary = "y"}};
    struct mxp_target_report t[] = {{.host = "a",
                                     .addr = "192.0.2.1",
                                     .port = 25,
                                     .state = MXP_STATE_OK,
                                     .checks = c,
                                     .n_checks = 2}};
    struct mxp_report r = {.targets = t, .n_targets = 1};

    (void)state;
    expect(JSON, &r, 0,
           "{\"host\":\"a\",\"address\":\"192.0.2.1\",\"port\":25,"
           "\"state\":\"OK\",\"exit_code\":0,\"summary\":\"x, y\","
           "\"error\":null,\"elapsed\":0,\"checks\":[{\"plugin\":"
           "\"geoip\",\"state\":\"OK\",\"summary\":\"x\",\"elapsed\":0,"
           "\"details\":[],\"perfdata\":[],\"fields\":{\"country\":\"DE\","
           "\"lat\":52.52,\"city\":\"K\\\"o\"}},{\"plugin\":\"other\","
           "\"state\":\"OK\",\"summary\":\"y\",\"elapsed\":0,"
           "\"details\":[],\"perfdata\":[]}]}\n");
}

static void test_json_nulls_and_error(void **state)
{
    struct mxp_perfdatum p[] = {
        PERF("v_unknown", NAN, "s", "", NULL, NAN, INFINITY),
        PERF("v_neg", -0.5, "", "~:1", "@2:3", -1, 1),
    };
    struct mxp_check_result c[] = {{.plugin = "v",
                                    .state = MXP_STATE_UNKNOWN,
                                    .summary = "x",
                                    .perf = p,
                                    .n_perf = N(p),
                                    .elapsed = 12345678}};
    struct mxp_target_report t[] = {
        {.host = "a",
         .addr = "2001:db8::1",
         .port = 465,
         .state = MXP_STATE_UNKNOWN,
         .error = "boom",
         .checks = c,
         .n_checks = 1,
         .elapsed = 0.1234567},
        {.host = "b", .port = 25, .state = MXP_STATE_CRITICAL, .error = ""},
    };
    struct mxp_report r = {
        .targets = t, .n_targets = 2, .state = MXP_STATE_CRITICAL};

    (void)state;
    expect(JSON, &r, 0,
           "{\"host\":\"a\",\"address\":\"2001:db8::1\",\"port\":465,"
           "\"state\":\"UNKNOWN\",\"exit_code\":3,\"summary\":\"boom, x\","
           "\"error\":\"boom\",\"elapsed\":0.123457,\"checks\":[{\"plugin\":"
           "\"v\",\"state\":\"UNKNOWN\",\"summary\":\"x\",\"elapsed\":"
           "12345678,\"details\":[],\"perfdata\":[{\"label\":\"v_unknown\","
           "\"value\":null,\"uom\":\"s\",\"warn\":null,\"crit\":null,"
           "\"min\":null,\"max\":null},{\"label\":\"v_neg\",\"value\":-0.5,"
           "\"uom\":null,\"warn\":\"~:1\",\"crit\":\"@2:3\",\"min\":-1,"
           "\"max\":1}]}]}\n"
           "{\"host\":\"b\",\"address\":null,\"port\":25,\"state\":"
           "\"CRITICAL\",\"exit_code\":2,\"summary\":\"\",\"error\":\"\","
           "\"elapsed\":0,\"checks\":[]}\n");
}

/* ---- shared helpers --------------------------------------------------- */

static void test_target_name(void **state)
{
    static const struct {
        const char *host, *addr, *want;
    } cases[] = {
        {"mx.example.org", "192.0.2.1", "mx.example.org [192.0.2.1]"},
        {"192.0.2.1", "192.0.2.1", "192.0.2.1"},
        {"mx.example.org", NULL, "mx.example.org"},
        {"2001:db8::1", "2001:db8::1", "2001:db8::1"},
        {NULL, "192.0.2.1", "192.0.2.1"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        struct mxp_target_report t = {.host = (char *)cases[i].host,
                                      .addr = (char *)cases[i].addr};
        char *s = mxp_target_name(&t);

        assert_string_equal(s, cases[i].want);
        free(s);
    }
}

static void test_utf8_next(void **state)
{
    static const struct {
        const char *s;
        size_t n, used;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 1, 0x41},
        {"\xc3\xbc", 2, 2, 0xfc},
        {"\xe2\x82\xac", 3, 3, 0x20ac},
        {"\xf0\x9f\x93\xa7", 4, 4, 0x1f4e7},
        {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
        {"\xed\x9f\xbf", 3, 3, 0xd7ff},
        {"\x80", 1, 1, MXP_UTF8_INVALID},
        {"\xc0\xaf", 2, 1, MXP_UTF8_INVALID},
        {"\xc1\xbf", 2, 1, MXP_UTF8_INVALID},
        {"\xe0\x80\xaf", 3, 1, MXP_UTF8_INVALID},
        {"\xed\xa0\x80", 3, 1, MXP_UTF8_INVALID},
        {"\xf0\x8f\xbf\xbf", 4, 1, MXP_UTF8_INVALID},
        {"\xf4\x90\x80\x80", 4, 1, MXP_UTF8_INVALID},
        {"\xf5\x80", 2, 1, MXP_UTF8_INVALID},
        {"\xe2\x82", 2, 2, MXP_UTF8_INVALID},  /* truncated by length */
        {"\xe2\x82z", 3, 2, MXP_UTF8_INVALID}, /* truncated by a byte */
        {"\xf0\x9f\x93", 3, 3, MXP_UTF8_INVALID},
        {"\xc3\xbc", 1, 1, MXP_UTF8_INVALID},
    };
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        uint32_t cp = 0;
        size_t used = mxp_utf8_next(cases[i].s, cases[i].n, &cp);

        if (used != cases[i].used || cp != cases[i].cp)
            fail_msg("case %zu: used %zu cp %x, expected %zu %x", i, used,
                     (unsigned)cp, cases[i].used, (unsigned)cases[i].cp);
    }
}

static char *dup(const char *s)
{
    char *p = strdup(s);

    assert_non_null(p);
    return p;
}

/* A heap report as the runner builds it: freeing must release all of it
 * (ASan's leak checker tells) and leave the structs zeroed. */
static void test_report_free(void **state)
{
    struct mxp_report r = {0};
    struct mxp_check_result *c;

    (void)state;
    r.targets = calloc(1, sizeof *r.targets);
    assert_non_null(r.targets);
    r.n_targets = 1;
    r.targets[0].host = dup("h");
    r.targets[0].addr = dup("192.0.2.1");
    r.targets[0].error = dup("e");
    r.targets[0].checks = calloc(2, sizeof *c);
    assert_non_null(r.targets[0].checks);
    r.targets[0].n_checks = 2;
    c = &r.targets[0].checks[0];
    c->plugin = dup("p");
    c->summary = dup("s");
    c->details = calloc(1, sizeof *c->details);
    c->details[0].text = dup("d");
    c->n_details = 1;
    c->perf = calloc(1, sizeof *c->perf);
    c->perf[0].label = dup("p_x");
    c->perf[0].uom = dup("s");
    c->perf[0].warn = dup("1");
    c->perf[0].crit = dup("2");
    c->n_perf = 1;
    c->transcript = calloc(1, sizeof *c->transcript);
    c->transcript[0].text = dup("t");
    c->n_transcript = 1;
    c->log = calloc(1, sizeof *c->log);
    c->log[0] = dup("l");
    c->n_log = 1;
    /* checks[1] stays empty: all NULL members are fine */
    mxp_report_free(&r);
    assert_null(r.targets);
    assert_int_equal(r.n_targets, 0);
    mxp_report_free(&r); /* twice is harmless once zeroed */
    mxp_check_result_free(NULL);
    mxp_report_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nagios_v0),
        cmocka_unit_test(test_nagios_verbosity),
        cmocka_unit_test(test_nagios_all_ok),
        cmocka_unit_test(test_nagios_no_repeated_summary),
        cmocka_unit_test(test_nagios_order_within_state),
        cmocka_unit_test(test_nagios_error),
        cmocka_unit_test(test_nagios_sanitise),
        cmocka_unit_test(test_nagios_multi),
        cmocka_unit_test(test_nagios_edge),
        cmocka_unit_test(test_text_plain),
        cmocka_unit_test(test_text_no_escapes_without_color),
        cmocka_unit_test(test_text_color),
        cmocka_unit_test(test_text_sanitise_utf8),
        cmocka_unit_test(test_text_multi),
        cmocka_unit_test(test_openmetrics_full),
        cmocka_unit_test(test_openmetrics_escaping),
        cmocka_unit_test(test_json_full),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_nulls_and_error),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_target_name),
        cmocka_unit_test(test_utf8_next),
        cmocka_unit_test(test_report_free),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
