/*
 * test_schedule.c - the scheduler end to end against a scripted DNS
 * server: a domain entry's own report (the domain-wide check once, on the
 * first MX address, the others as peers) before its addresses (the other
 * checks, each with the domain), a host name at each of its addresses
 * (every check, no peers), a name that does not resolve (one UNKNOWN
 * report), all in the configured order; -j 1 and -j 8 give the same.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "dns_script.h"
#include "schedule.h"

/* Both plugins say what target they were given. */
static int who_run(struct mxp_ctx *ctx, void *state)
{
    const struct mxp_target *t = ctx->target;
    char text[512];
    size_t i, used;

    (void)state;
    used = (size_t)snprintf(text, sizeof(text), "%s %s %s peers", t->host,
                            t->addr, t->domain ? t->domain : "-");
    for (i = 0; i < t->n_peers && used < sizeof(text); i++)
        used += (size_t)snprintf(text + used, sizeof(text) - used, " %s@%s",
                                 t->peers[i].host, t->peers[i].addr);
    ctx->svc->set_result(ctx, MXP_STATE_OK, "%s", text);
    return MXP_OK;
}

static const struct mxp_plugin who_desc = {.abi_major = MXP_ABI_MAJOR,
                                           .abi_minor = MXP_ABI_MINOR,
                                           .struct_size = sizeof(who_desc),
                                           .name = "who",
                                           .summary = "test",
                                           .run = who_run};
static const struct mxp_plugin wide_desc = {.abi_major = MXP_ABI_MAJOR,
                                            .abi_minor = MXP_ABI_MINOR,
                                            .struct_size = sizeof(wide_desc),
                                            .name = "wide",
                                            .summary = "test",
                                            .run = who_run,
                                            .flags = MXP_PLUGIN_DOMAIN_WIDE};

static const char *servers[1];

static struct mxp_submitter *submitter;

/* What one scheduled run needs, pointed at the scripted DNS server. */
struct fixture {
    struct mxp_run_settings run;
    struct mxp_expand_settings xs;
    struct mxp_stream_settings ss;
    struct mxp_sched_settings set;
};

static void slot_init(struct mxp_plugin_slot *slot, char *name,
                      const struct mxp_plugin *desc)
{
    memset(slot, 0, sizeof(*slot));
    slot->lp.name = name;
    slot->lp.desc = desc;
}

/* n entries of the port 25, each running slots[0..n_slots). */
static void entries_init(struct mxp_sched_entry *e, size_t n,
                         struct mxp_plugin_slot **slots, size_t n_slots)
{
    memset(e, 0, n * sizeof(*e));
    for (size_t i = 0; i < n; i++) {
        e[i].port = 25;
        e[i].entry.port = 25;
        e[i].slots = slots;
        e[i].n_slots = n_slots;
    }
}

/* A run in format fmt to out, jobs at once, each target given timeout
 * seconds; DNS tries of dns_ms, an entry's DNS at most dns_deadline. */
static void fixture_init(struct fixture *f, FILE *out, enum mxp_format fmt,
                         size_t jobs, double timeout, int dns_ms, int tries,
                         double dns_deadline)
{
    memset(f, 0, sizeof(*f));
    servers[0] = dnss_server();
    f->run.dns.servers = servers;
    f->run.dns.n_servers = 1;
    f->run.dns.timeout_ms = dns_ms;
    f->run.dns.tries = tries;
    f->xs.dns = f->run.dns;
    f->xs.scan_rate = 100;
    f->xs.connect_timeout = 0.5;
    f->xs.dns_deadline = dns_deadline;
    f->ss.format = fmt;
    f->ss.plugin_col = 6;
    f->ss.nagios_form = MXP_NAGIOS_MULTI;
    f->ss.out = out;
    f->ss.err = stderr;
    f->set.run = &f->run;
    f->set.expand = &f->xs;
    f->set.jobs = jobs;
    f->set.timeout = timeout;
    f->set.service = "mxprobe";
    f->set.out = mxp_stream_new(&f->ss);
    assert_non_null(f->set.out);
}

static char *run_entries(enum mxp_format fmt, size_t jobs)
{
    static struct mxp_plugin_slot who, wide;
    struct mxp_plugin_slot *both[] = {&who, &wide}, *one[] = {&who};
    struct mxp_sched_entry e[3];
    struct fixture f;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    slot_init(&who, "who", &who_desc);
    slot_init(&wide, "wide", &wide_desc);
    entries_init(e, 3, both, 2);
    e[0].entry.kind = MXP_ENTRY_DOMAIN;
    e[0].entry.text = "example.test";
    e[0].domain = "example.test";
    e[1].entry.kind = MXP_ENTRY_HOST;
    e[1].entry.text = "multi.test";
    e[2].entry.kind = MXP_ENTRY_HOST;
    e[2].entry.text = "nope.test";
    e[2].slots = one;
    e[2].n_slots = 1;
    fixture_init(&f, out, fmt, jobs, 5, 300, 2, 3);
    f.set.submit = submitter;
    assert_int_equal(mxp_schedule(e, 3, &f.set), MXP_OK);
    assert_int_equal(mxp_stream_state(f.set.out), MXP_STATE_UNKNOWN);
    assert_int_equal(mxp_stream_finish(f.set.out), MXP_OK);
    fclose(out);
    return text;
}

static int setup(void **state)
{
    (void)state;
    assert_true(dnss_start() != 0);
    dnss_add("example.test", 15, 0, 0,
             "MX 10 mx1.example.test; MX 20 mx2.example.test");
    dnss_add("mx1.example.test", 1, 0, 0, "A 127.0.0.1");
    dnss_add("mx1.example.test", 28, 0, 0, "AAAA ::1");
    dnss_add("mx2.example.test", 1, 0, 0, "A 127.0.0.2");
    dnss_add("mx2.example.test", 28, 0, 0, "");
    dnss_add("multi.test", 1, 0, 0, "A 127.0.0.3; A 127.0.0.4");
    /* Its AAAA lookup fails: the IPv4 addresses are checked, and an
     * UNKNOWN says the IPv6 ones are not. */
    dnss_add("multi.test", 28, 2, 0, "");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dnss_stop();
    return 0;
}

static void test_nagios_order(void **state)
{
    static const char want[] =
        "MXPROBE UNKNOWN - 8 targets: 2 unknown, 6 ok\n"
        "== example.test: OK - example.test 127.0.0.1 example.test peers "
        "mx1.example.test@::1 mx2.example.test@127.0.0.2\n"
        "[OK] wide: example.test 127.0.0.1 example.test peers "
        "mx1.example.test@::1 mx2.example.test@127.0.0.2\n"
        "== mx1.example.test [127.0.0.1]: OK - mx1.example.test 127.0.0.1 "
        "example.test peers\n"
        "[OK] who: mx1.example.test 127.0.0.1 example.test peers\n"
        "== mx1.example.test [::1]: OK - mx1.example.test ::1 example.test "
        "peers\n"
        "[OK] who: mx1.example.test ::1 example.test peers\n"
        "== mx2.example.test [127.0.0.2]: OK - mx2.example.test 127.0.0.2 "
        "example.test peers\n"
        "[OK] who: mx2.example.test 127.0.0.2 example.test peers\n"
        "== multi.test [127.0.0.3]: OK - multi.test 127.0.0.3 - peers, "
        "multi.test 127.0.0.3 - peers\n"
        "[OK] who: multi.test 127.0.0.3 - peers\n"
        "[OK] wide: multi.test 127.0.0.3 - peers\n"
        "== multi.test [127.0.0.4]: OK - multi.test 127.0.0.4 - peers, "
        "multi.test 127.0.0.4 - peers\n"
        "[OK] who: multi.test 127.0.0.4 - peers\n"
        "[OK] wide: multi.test 127.0.0.4 - peers\n"
        "== multi.test: UNKNOWN - the AAAA lookup of 'multi.test' failed "
        "(SERVFAIL): its IPv6 addresses are not checked\n"
        "== nope.test: UNKNOWN - cannot resolve 'nope.test': no such name "
        "(NXDOMAIN)\n";
    size_t jobs[] = {1, 8};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        char *got = run_entries(MXP_FORMAT_NAGIOS, jobs[i]);

        if (strcmp(got, want) != 0)
            fail_msg("-j %zu: got:\n%s\nwant:\n%s", jobs[i], got, want);
        free(got);
    }
}

/* JSON Lines: one object per target, the domain report without address. */
static void test_json_lines(void **state)
{
    char *got = run_entries(MXP_FORMAT_JSON, 4);
    size_t lines = 0;

    (void)state;
    for (const char *p = got; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    assert_int_equal(lines, 8);
    assert_non_null(
        strstr(got, "{\"host\":\"example.test\",\"address\":null,"));
    assert_non_null(
        strstr(got, "{\"host\":\"mx1.example.test\",\"address\":\"::1\","));
    assert_non_null(strstr(got, "{\"host\":\"nope.test\",\"address\":null,"
                                "\"port\":25,\"state\":\"UNKNOWN\""));
    free(got);
}

/* The output is a pipe nobody reads any more (`| head -1`): the run
 * stops instead of waiting for a name that never answers. */
static void test_broken_output_stops(void **state)
{
    static struct mxp_plugin_slot who;
    struct mxp_plugin_slot *one[] = {&who};
    struct mxp_sched_entry e[2];
    struct fixture f;
    int p[2];
    FILE *out;
    double t0;

    (void)state;
    dnss_add("hang.test", 1, 0, -1, "");
    dnss_add("hang.test", 28, 0, -1, "");
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    out = fdopen(p[1], "w");
    assert_non_null(out);
    signal(SIGPIPE, SIG_IGN);
    slot_init(&who, "who", &who_desc);
    entries_init(e, 2, one, 1);
    e[0].entry.kind = MXP_ENTRY_HOST;
    e[0].entry.text = "multi.test";
    e[1].entry.kind = MXP_ENTRY_HOST;
    e[1].entry.text = "hang.test";
    fixture_init(&f, out, MXP_FORMAT_JSON, 4, 5, 3000, 2, 4);
    t0 = mxp_now();
    assert_int_equal(mxp_schedule(e, 2, &f.set), MXP_ERR_IO);
    assert_true(mxp_now() - t0 < 2.0);
    assert_int_not_equal(mxp_stream_finish(f.set.out), MXP_OK);
    fclose(out);
}

/* The expander cannot start (no file descriptor left for its pipe):
 * every entry is an UNKNOWN report saying why, never an empty OK run. */
static void test_expander_cannot_start(void **state)
{
    static struct mxp_plugin_slot who;
    struct mxp_plugin_slot *one[] = {&who};
    struct mxp_sched_entry e[2];
    struct fixture f;
    struct rlimit old, low;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int lowest;

    (void)state;
    assert_non_null(out);
    slot_init(&who, "who", &who_desc);
    entries_init(e, 2, one, 1);
    e[0].entry.kind = MXP_ENTRY_HOST;
    e[0].entry.text = "multi.test";
    e[1].entry.kind = MXP_ENTRY_DOMAIN;
    e[1].entry.text = "example.test";
    e[1].domain = "example.test";
    fixture_init(&f, out, MXP_FORMAT_JSON, 2, 3, 300, 1, 2);
    /* One free fd at most: a pipe cannot be had. */
    lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)lowest + 1;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    (void)mxp_schedule(e, 2, &f.set);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(mxp_stream_state(f.set.out), MXP_STATE_UNKNOWN);
    assert_int_equal(mxp_stream_finish(f.set.out), MXP_OK);
    fclose(out);
    assert_non_null(strstr(text, "{\"host\":\"multi.test\",\"address\":null,"
                                 "\"port\":25,\"state\":\"UNKNOWN\""));
    assert_non_null(strstr(text, "{\"host\":\"example.test\",\"address\":null,"
                                 "\"port\":25,\"state\":\"UNKNOWN\""));
    assert_non_null(strstr(text, "cannot start the expansion of the targets"));
    free(text);
}

/* One passive result per group: the domain report, each MX host (its
 * addresses in the host form), the name of two addresses (UNKNOWN: its
 * AAAA lookup failed), the failure. */
static void test_submit_groups(void **state)
{
    struct mxp_submit_config sc = {"mxprobe", "", "", ""};
    char path[] = "/tmp/test_schedule.XXXXXX", dest[64], err[256];
    char line[4096], *got;
    const char *want[] = {
        "PROCESS_SERVICE_CHECK_RESULT;example.test;mxprobe;0;MXPROBE OK - "
        "example.test: example.test 127.0.0.1",
        "PROCESS_SERVICE_CHECK_RESULT;mx1.example.test;mxprobe;0;MXPROBE OK "
        "- mx1.example.test: all 2 addresses OK (127.0.0.1, ::1)",
        "PROCESS_SERVICE_CHECK_RESULT;mx2.example.test;mxprobe;0;MXPROBE OK "
        "- mx2.example.test [127.0.0.2]: mx2.example.test",
        /* its IPv6 addresses went unchecked: not OK */
        "PROCESS_SERVICE_CHECK_RESULT;multi.test;mxprobe;3;MXPROBE UNKNOWN - "
        "multi.test: the AAAA lookup of 'multi.test' failed",
        "PROCESS_SERVICE_CHECK_RESULT;nope.test;mxprobe;3;MXPROBE UNKNOWN - "
        "nope.test: cannot resolve 'nope.test'",
    };
    int fd = mkstemp(path), seen[5] = {0, 0, 0, 0, 0};
    size_t n = 0, i;
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    snprintf(dest, sizeof(dest), "nagios:%s", path);
    assert_int_equal(mxp_submit_start(dest, &sc, &submitter, err, sizeof(err)),
                     MXP_OK);
    got = run_entries(MXP_FORMAT_JSON, 8);
    free(got);
    assert_int_equal(mxp_submit_finish(submitter, mxp_now() + 10), 0);
    submitter = NULL;
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *cmd = strchr(line, ']');

        n++;
        assert_non_null(cmd);
        for (i = 0; i < 5; i++)
            if (strncmp(cmd + 2, want[i], strlen(want[i])) == 0)
                seen[i]++;
    }
    fclose(f);
    unlink(path);
    assert_int_equal(n, 5);
    for (i = 0; i < 5; i++)
        if (seen[i] != 1)
            fail_msg("'%s' seen %d times", want[i], seen[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nagios_order),
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_broken_output_stops),
        cmocka_unit_test(test_expander_cannot_start),
        cmocka_unit_test(test_submit_groups),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
