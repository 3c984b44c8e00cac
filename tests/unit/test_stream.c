/*
 * test_stream.c - the output of many targets as they finish: text in the
 * configured order while targets finish out of order, json lines as they
 * finish, the nagios forms (one target as today, one host at several
 * addresses, a run of many), openmetrics families kept contiguous.
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
#include "stream.h"

static struct mxp_perfdatum perf_a[] = {
    {"a_time", 1, "s", NULL, NULL, NAN, NAN},
    {"a_count", 3, NULL, NULL, NULL, 0, NAN},
};
static struct mxp_perfdatum perf_b[] = {{"b_n", 2, NULL, "1", "2", NAN, NAN}};

static struct mxp_check_result ok_checks[] = {
    {.plugin = "a",
     .state = MXP_STATE_OK,
     .summary = "a fine",
     .perf = perf_a,
     .n_perf = 2},
    {.plugin = "bb",
     .state = MXP_STATE_OK,
     .summary = "b fine",
     .perf = perf_b,
     .n_perf = 1},
};
static struct mxp_check_result crit_checks[] = {
    {.plugin = "a",
     .state = MXP_STATE_OK,
     .summary = "a fine",
     .perf = perf_a,
     .n_perf = 2},
    {.plugin = "bb",
     .state = MXP_STATE_CRITICAL,
     .summary = "SPF fail",
     .perf = perf_b,
     .n_perf = 1},
};

static struct mxp_target_report tgt(const char *host, const char *addr,
                                    int crit)
{
    struct mxp_target_report t = {
        .host = (char *)host,
        .addr = (char *)addr,
        .port = 25,
        .state = crit ? MXP_STATE_CRITICAL : MXP_STATE_OK,
        .checks = crit ? crit_checks : ok_checks,
        .n_checks = 2,
    };
    return t;
}

struct fixture {
    char *text;
    size_t len;
    FILE *out;
    struct mxp_stream *s;
};

static void open_stream(struct fixture *f, enum mxp_format fmt,
                        enum mxp_nagios_form form)
{
    struct mxp_stream_settings set;

    memset(f, 0, sizeof(*f));
    f->out = open_memstream(&f->text, &f->len);
    assert_non_null(f->out);
    memset(&set, 0, sizeof(set));
    set.format = fmt;
    set.plugin_col = 4;
    set.nagios_form = form;
    set.out = f->out;
    set.err = stderr;
    f->s = mxp_stream_new(&set);
    assert_non_null(f->s);
}

/* What was written so far. */
static const char *so_far(struct fixture *f)
{
    fflush(f->out);
    return f->text != NULL ? f->text : "";
}

static void close_stream(struct fixture *f, const char *want)
{
    assert_int_equal(mxp_stream_finish(f->s), MXP_OK);
    fclose(f->out);
    if (want != NULL && strcmp(f->text, want) != 0)
        fail_msg("got:\n%s\nwant:\n%s", f->text, want);
}

static void test_text_order(void **state)
{
    struct mxp_target_report t0 = tgt("a.example", "192.0.2.1", 0);
    struct mxp_target_report t1 = tgt("b.example", "192.0.2.2", 1);
    struct mxp_target_report t2 = tgt("c.example", "192.0.2.3", 0);
    struct fixture f;

    (void)state;
    open_stream(&f, MXP_FORMAT_TEXT, MXP_NAGIOS_MULTI);
    /* The last one finishes first: it waits for those before it. */
    assert_int_equal(mxp_stream_add(f.s, 2, &t2), MXP_OK);
    assert_string_equal(so_far(&f), "");
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    assert_string_equal(so_far(&f), "a.example [192.0.2.1] port 25: OK\n"
                                    "  OK        a   a fine\n"
                                    "  OK        bb  b fine\n");
    assert_int_equal(mxp_stream_add(f.s, 1, &t1), MXP_OK);
    assert_non_null(strstr(so_far(&f), "c.example"));
    close_stream(&f, "a.example [192.0.2.1] port 25: OK\n"
                     "  OK        a   a fine\n"
                     "  OK        bb  b fine\n"
                     "\n"
                     "b.example [192.0.2.2] port 25: CRITICAL\n"
                     "  OK        a   a fine\n"
                     "  CRITICAL  bb  SPF fail\n"
                     "\n"
                     "c.example [192.0.2.3] port 25: OK\n"
                     "  OK        a   a fine\n"
                     "  OK        bb  b fine\n"
                     "\n"
                     "3 targets: CRITICAL - 1 critical, 2 ok\n");
    free(f.text);
}

/* Many finishing in reverse, and a target that never came: the reports
 * still go out in the configured order, each once. */
static void test_text_reverse(void **state)
{
    char names[300][32];
    struct fixture f;
    const char *p;
    size_t i, n = 300;

    (void)state;
    open_stream(&f, MXP_FORMAT_TEXT, MXP_NAGIOS_MULTI);
    for (i = n; i-- > 1;) {
        struct mxp_target_report t;

        snprintf(names[i], sizeof(names[i]), "t%zu.example", i);
        t = tgt(names[i], NULL, 0);
        assert_int_equal(mxp_stream_add(f.s, i, &t), MXP_OK);
    }
    /* seq 0 never finished: nothing could be written yet. */
    assert_string_equal(so_far(&f), "");
    close_stream(&f, NULL);
    p = f.text;
    for (i = 1; i < n; i++) {
        char line[64];

        snprintf(line, sizeof(line), "%st%zu.example port 25: OK\n",
                 i > 1 ? "\n" : "", i);
        p = strstr(p, line);
        if (p == NULL)
            fail_msg("t%zu.example missing or out of order", i);
        p += strlen(line);
    }
    assert_non_null(strstr(p, "299 targets: OK - 299 ok\n"));
    free(f.text);
}

/* What the one-report formatter prints for t alone (today's -H HOST). */
static char *direct(enum mxp_format fmt, struct mxp_target_report *t)
{
    struct mxp_report r = {t, 1, t->state};
    char *text;
    size_t len;
    FILE *m = open_memstream(&text, &len);

    assert_non_null(m);
    if (fmt == MXP_FORMAT_TEXT)
        assert_int_equal(mxp_output_text(m, &r, 0, 0), MXP_OK);
    else
        assert_int_equal(mxp_output_nagios(m, &r, 0), MXP_OK);
    fclose(m);
    return text;
}

/* One target: today's text output, no run summary. */
static void test_text_one(void **state)
{
    struct mxp_target_report t0 = tgt("a.example", "192.0.2.1", 0);
    struct fixture f;
    char *want = direct(MXP_FORMAT_TEXT, &t0);

    (void)state;
    open_stream(&f, MXP_FORMAT_TEXT, MXP_NAGIOS_HOST);
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    close_stream(&f, want);
    free(want);
    free(f.text);
}

static void test_json_as_finished(void **state)
{
    struct mxp_target_report t0 = tgt("a.example", "192.0.2.1", 0);
    struct mxp_target_report t1 = tgt("b.example", "192.0.2.2", 1);
    struct fixture f;
    const char *second;

    (void)state;
    open_stream(&f, MXP_FORMAT_JSON, MXP_NAGIOS_MULTI);
    assert_int_equal(mxp_stream_add(f.s, 1, &t1), MXP_OK);
    /* Out at once, one line. */
    assert_non_null(strstr(so_far(&f), "{\"host\":\"b.example\""));
    assert_ptr_equal(strchr(so_far(&f), '\n'),
                     so_far(&f) + strlen(so_far(&f)) - 1);
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    close_stream(&f, NULL);
    assert_int_equal(strncmp(f.text, "{\"host\":\"b.example\"", 19), 0);
    second = strchr(f.text, '\n') + 1;
    assert_int_equal(strncmp(second, "{\"host\":\"a.example\"", 19), 0);
    assert_string_equal(strchr(second, '\n'), "\n");
    free(f.text);
}

/* One target with one address: byte for byte what mxp_output_nagios
 * prints for it (today's -H HOST). */
static void test_nagios_single(void **state)
{
    struct mxp_target_report t0 = tgt("mx1.example.org", "192.0.2.25", 1);
    struct fixture f;
    char *want = direct(MXP_FORMAT_NAGIOS, &t0);

    (void)state;
    assert_string_equal(want,
                        "MXPROBE CRITICAL - mx1.example.org [192.0.2.25]: "
                        "SPF fail | a_time=1s b_n=2;1;2\n"
                        "[OK] a: a fine\n"
                        "[CRITICAL] bb: SPF fail\n"
                        "|a_count=3;;;0\n");
    open_stream(&f, MXP_FORMAT_NAGIOS, MXP_NAGIOS_HOST);
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    assert_string_equal(so_far(&f), ""); /* the status line needs all */
    close_stream(&f, want);
    free(want);
    free(f.text);
}

/* One host name at three addresses: one status line for the host, the
 * worst address named, a block per address, perfdata per address. */
static void test_nagios_host(void **state)
{
    struct mxp_target_report t0 = tgt("mx1.example.org", "192.0.2.25", 0);
    struct mxp_target_report t1 = tgt("mx1.example.org", "192.0.2.26", 1);
    struct mxp_target_report t2 = tgt("mx1.example.org", "2001:db8::25", 0);
    struct fixture f;

    (void)state;
    open_stream(&f, MXP_FORMAT_NAGIOS, MXP_NAGIOS_HOST);
    assert_int_equal(mxp_stream_add(f.s, 2, &t2), MXP_OK);
    assert_int_equal(mxp_stream_add(f.s, 1, &t1), MXP_OK);
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    assert_int_equal(mxp_stream_state(f.s), MXP_STATE_CRITICAL);
    close_stream(&f,
                 "MXPROBE CRITICAL - mx1.example.org [192.0.2.26]: SPF fail "
                 "(1 of 3 addresses CRITICAL)\n"
                 "== mx1.example.org [192.0.2.25]: OK - a fine, b fine\n"
                 "[OK] a: a fine\n"
                 "[OK] bb: b fine\n"
                 "== mx1.example.org [192.0.2.26]: CRITICAL - SPF fail\n"
                 "[OK] a: a fine\n"
                 "[CRITICAL] bb: SPF fail\n"
                 "== mx1.example.org [2001:db8::25]: OK - a fine, b fine\n"
                 "[OK] a: a fine\n"
                 "[OK] bb: b fine\n"
                 "|192.0.2.25::a_time=1s 192.0.2.25::a_count=3;;;0 "
                 "192.0.2.25::b_n=2;1;2 192.0.2.26::a_time=1s "
                 "192.0.2.26::a_count=3;;;0 192.0.2.26::b_n=2;1;2 "
                 "2001:db8::25::a_time=1s 2001:db8::25::a_count=3;;;0 "
                 "2001:db8::25::b_n=2;1;2\n");
    free(f.text);

    /* All fine: the host and its addresses. */
    open_stream(&f, MXP_FORMAT_NAGIOS, MXP_NAGIOS_HOST);
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    assert_int_equal(mxp_stream_add(f.s, 1, &t2), MXP_OK);
    close_stream(&f, NULL);
    assert_int_equal(strncmp(f.text,
                             "MXPROBE OK - mx1.example.org: all 2 addresses "
                             "OK (192.0.2.25, 2001:db8::25)\n== ",
                             strlen("MXPROBE OK - mx1.example.org: all 2 "
                                    "addresses OK (192.0.2.25, "
                                    "2001:db8::25)\n== ")),
                     0);
    free(f.text);
}

/* A run of many (--all, -D, a netblock): the counts first, blocks in the
 * configured order, perfdata host::label, or host[address]::label for
 * the addresses of one host. */
static void test_nagios_multi(void **state)
{
    struct mxp_target_report t0 = tgt("example.org", NULL, 0);
    struct mxp_target_report t1 = tgt("mx1.example.org", "192.0.2.25", 1);
    struct mxp_target_report t2 = tgt("mx1.example.org", "192.0.2.26", 0);
    struct mxp_target_report t3 = tgt("mx2.example.org", "192.0.2.27", 0);
    struct fixture f;

    (void)state;
    t0.n_checks = 1;
    open_stream(&f, MXP_FORMAT_NAGIOS, MXP_NAGIOS_MULTI);
    assert_int_equal(mxp_stream_add(f.s, 3, &t3), MXP_OK);
    assert_int_equal(mxp_stream_add(f.s, 1, &t1), MXP_OK);
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    assert_int_equal(mxp_stream_add(f.s, 2, &t2), MXP_OK);
    close_stream(&f,
                 "MXPROBE CRITICAL - 4 targets: 1 critical, 3 ok\n"
                 "== example.org: OK - a fine\n"
                 "[OK] a: a fine\n"
                 "== mx1.example.org [192.0.2.25]: CRITICAL - SPF fail\n"
                 "[OK] a: a fine\n"
                 "[CRITICAL] bb: SPF fail\n"
                 "== mx1.example.org [192.0.2.26]: OK - a fine, b fine\n"
                 "[OK] a: a fine\n"
                 "[OK] bb: b fine\n"
                 "== mx2.example.org [192.0.2.27]: OK - a fine, b fine\n"
                 "[OK] a: a fine\n"
                 "[OK] bb: b fine\n"
                 "|example.org::a_time=1s example.org::a_count=3;;;0 "
                 "mx1.example.org[192.0.2.25]::a_time=1s "
                 "mx1.example.org[192.0.2.25]::a_count=3;;;0 "
                 "mx1.example.org[192.0.2.25]::b_n=2;1;2 "
                 "mx1.example.org[192.0.2.26]::a_time=1s "
                 "mx1.example.org[192.0.2.26]::a_count=3;;;0 "
                 "mx1.example.org[192.0.2.26]::b_n=2;1;2 "
                 "mx2.example.org::a_time=1s mx2.example.org::a_count=3;;;0 "
                 "mx2.example.org::b_n=2;1;2\n");
    free(f.text);
}

/* Every family's samples together, whatever order targets finish in. */
static void test_openmetrics_contiguous(void **state)
{
    struct mxp_target_report t0 = tgt("a.example", "192.0.2.1", 0);
    struct mxp_target_report t1 = tgt("b.example", "192.0.2.2", 1);
    static const char *const fams[] = {
        "mxprobe_target_state", "mxprobe_check_state",
        "mxprobe_check_duration_seconds", "mxprobe_perfdata"};
    struct fixture f;
    const char *line;
    int fam = -1, seen[4] = {0, 0, 0, 0};
    size_t samples = 0;

    (void)state;
    open_stream(&f, MXP_FORMAT_OPENMETRICS, MXP_NAGIOS_MULTI);
    assert_int_equal(mxp_stream_add(f.s, 1, &t1), MXP_OK);
    assert_int_equal(mxp_stream_add(f.s, 0, &t0), MXP_OK);
    assert_string_equal(so_far(&f), "");
    close_stream(&f, NULL);
    for (line = f.text; *line != '\0'; line = strchr(line, '\n') + 1) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            fam++;
            assert_true(fam < 4);
            assert_int_equal(strncmp(line + 7, fams[fam], strlen(fams[fam])),
                             0);
            seen[fam]++;
        } else if (line[0] != '#') {
            /* A sample belongs to the family whose TYPE came last. */
            assert_true(fam >= 0);
            assert_int_equal(strncmp(line, fams[fam], strlen(fams[fam])), 0);
            assert_true(line[strlen(fams[fam])] == '{');
            samples++;
        }
    }
    assert_int_equal(fam, 3);
    /* 2 target states, 4 check states, 4 durations, 6 perfdata. */
    assert_int_equal(samples, 16);
    assert_non_null(strstr(f.text, "# EOF\n"));
    assert_int_equal(seen[0] + seen[1] + seen[2] + seen[3], 4);
    free(f.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_order),
        cmocka_unit_test(test_text_one),
        cmocka_unit_test(test_text_reverse),
        cmocka_unit_test(test_json_as_finished),
        cmocka_unit_test(test_nagios_single),
        cmocka_unit_test(test_nagios_host),
        cmocka_unit_test(test_nagios_multi),
        cmocka_unit_test(test_openmetrics_contiguous),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
