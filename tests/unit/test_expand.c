/*
 * test_expand.c - the expander (expand.h): host names, mail domains and
 * netblocks turned into addresses, against a scripted DNS server
 * (dns_script.h) and loopback listeners.  Each test forks a real
 * expander and reads it as the scheduler does: poll() on its pipe and
 * mxp_expand_read until every entry has ended.  The parent-side reader
 * is also fed hostile streams directly (mxp_expand_attach).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "dns.h"
#include "dns_script.h"
#include "expand.h"
#include "expand_wire.h"
#include "sweep.h"

/* ---- collecting findings ---------------------------------------------- */

#define MAX_SEEN 2048

struct seen {
    size_t entry;
    char host[256];
    char addr[64];
    int family;
    int last;
    char error[600];
    int has_error;
    double t; /* when it arrived */
};

static struct seen seen[MAX_SEEN];
static size_t n_seen;

static void collect(void *user, const struct mxp_expansion *x)
{
    struct seen *s;

    (void)user;
    assert_true(n_seen < MAX_SEEN);
    s = &seen[n_seen++];
    memset(s, 0, sizeof(*s));
    s->entry = x->entry;
    s->last = x->last;
    s->t = mxp_now();
    if (x->host != NULL)
        snprintf(s->host, sizeof(s->host), "%s", x->host);
    if (x->addr != NULL) {
        char text[64];

        assert_false(x->last);
        assert_non_null(x->bytes);
        snprintf(s->addr, sizeof(s->addr), "%s", x->addr);
        s->family = x->family;
        /* The text and the bytes agree. */
        assert_non_null(inet_ntop(x->family, x->bytes, text, sizeof(text)));
        assert_string_equal(text, x->addr);
    } else {
        assert_true(x->last);
    }
    if (x->error != NULL) {
        assert_true(x->last);
        s->has_error = 1;
        snprintf(s->error, sizeof(s->error), "%s", x->error);
    }
}

static const char *servers[1];

static struct mxp_expand_settings settings(int family)
{
    struct mxp_expand_settings set;

    memset(&set, 0, sizeof(set));
    servers[0] = dnss_server();
    set.dns.servers = servers;
    set.dns.n_servers = 1;
    set.dns.timeout_ms = 300;
    set.dns.tries = 2;
    set.family = family;
    set.scan_rate = 1000;
    set.connect_timeout = 0.5;
    set.dns_deadline = 2.0;
    return set;
}

/* Runs the expander over entries to the end, as a poll loop would;
 * returns the seconds it took. */
static double run_set(const struct mxp_entry *e, size_t n,
                      const struct mxp_expand_settings *set)
{
    struct mxp_expander *x = NULL;
    double start = mxp_now();

    n_seen = 0;
    assert_int_equal(mxp_expand_start(e, n, set, &x), MXP_OK);
    while (!mxp_expand_done(x)) {
        struct pollfd pfd = {mxp_expand_fd(x), POLLIN, 0};

        assert_true(pfd.fd >= 0);
        assert_true(mxp_now() - start < 60);
        (void)poll(&pfd, 1, 1000);
        mxp_expand_read(x, collect, NULL);
    }
    assert_int_equal(mxp_expand_fd(x), -1);
    mxp_expand_free(x);
    return mxp_now() - start;
}

static double run(const struct mxp_entry *e, size_t n, int family)
{
    struct mxp_expand_settings set = settings(family);

    return run_set(e, n, &set);
}

/* The findings as one line: "0 mx1.test 127.0.0.1|0 end|1 end: why". */
static const char *line(void)
{
    static char buf[1 << 16];
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n_seen && off < sizeof(buf); i++) {
        int w;

        if (seen[i].last)
            w = snprintf(buf + off, sizeof(buf) - off, "%s%zu end%s%s",
                         i > 0 ? "|" : "", seen[i].entry,
                         seen[i].has_error ? ": " : "", seen[i].error);
        else
            w = snprintf(buf + off, sizeof(buf) - off, "%s%zu %s %s",
                         i > 0 ? "|" : "", seen[i].entry, seen[i].host,
                         seen[i].addr);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return buf;
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (mxp_dns_global_init() != MXP_OK)
        return -1;
    return dnss_start() != 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    dnss_stop();
    mxp_dns_global_cleanup();
    return 0;
}

static int reset(void **state)
{
    (void)state;
    dnss_clear();
    return 0;
}

#define HOST(t)                                                                \
    {                                                                          \
        MXP_ENTRY_HOST, (t), 25                                                \
    }
#define DOMAIN(t)                                                              \
    {                                                                          \
        MXP_ENTRY_DOMAIN, (t), 25                                              \
    }

/* ---- hosts and domains ------------------------------------------------ */

static void test_numeric_hosts(void **state)
{
    const struct mxp_entry e[] = {HOST("127.0.0.5"), HOST("::1"),
                                  HOST("::ffff:127.0.0.7")};

    (void)state;
    run(e, 3, 0);
    assert_string_equal(line(), "0 127.0.0.5 127.0.0.5|0 end|1 ::1 ::1|1 end|"
                                "2 ::ffff:127.0.0.7 127.0.0.7|2 end");
    /* Nothing was asked of the DNS. */
    assert_int_equal(dnss_peak_pending(), 0);
}

static void test_name_every_address(void **state)
{
    const struct mxp_entry e[] = {HOST("mx1.test")};

    (void)state;
    dnss_add("mx1.test", MXP_DNS_A, 0, 0, "A 127.0.0.11; A 127.0.0.12");
    dnss_add("mx1.test", MXP_DNS_AAAA, 0, 0, "AAAA ::1");
    run(e, 1, 0);
    /* IPv4 first, each family in answer order. */
    assert_string_equal(line(), "0 mx1.test 127.0.0.11|0 mx1.test "
                                "127.0.0.12|0 mx1.test ::1|0 end");
    run(e, 1, AF_INET);
    assert_string_equal(line(), "0 mx1.test 127.0.0.11|0 mx1.test "
                                "127.0.0.12|0 end");
    run(e, 1, AF_INET6);
    assert_string_equal(line(), "0 mx1.test ::1|0 end");
    /* -4 and -6 ask only their own record type (2 runs each above,
     * counted from the first run's one query of each). */
    assert_int_equal(dnss_asked("mx1.test", MXP_DNS_A), 2);
    assert_int_equal(dnss_asked("mx1.test", MXP_DNS_AAAA), 2);
}

static void test_name_errors(void **state)
{
    const struct mxp_entry e[] = {HOST("nx.test"), HOST("empty.test"),
                                  HOST("silent.test"), HOST("fail.test"),
                                  HOST("127.0.0.1")};

    (void)state;
    dnss_add("empty.test", MXP_DNS_A, 0, 0, "");
    dnss_add("empty.test", MXP_DNS_AAAA, 0, 0, "");
    dnss_add("silent.test", MXP_DNS_A, 0, -1, "");
    dnss_add("silent.test", MXP_DNS_AAAA, 0, -1, "");
    dnss_add("fail.test", MXP_DNS_A, 2, 0, "");
    dnss_add("fail.test", MXP_DNS_AAAA, 3, 0, "");
    run(e, 5, 0);
    assert_string_equal(
        line(), "0 end: cannot resolve 'nx.test': no such name (NXDOMAIN)|"
                "1 end: cannot resolve 'empty.test': no A or AAAA record|"
                "2 end: cannot resolve 'silent.test': no answer (timeout)|"
                "3 end: cannot resolve 'fail.test': SERVFAIL|"
                "4 127.0.0.1 127.0.0.1|4 end");
    run(&e[1], 1, AF_INET6);
    assert_string_equal(
        line(), "0 end: cannot resolve 'empty.test': no AAAA record (-6)");
}

static void test_family_mismatch(void **state)
{
    const struct mxp_entry e[] = {HOST("127.0.0.1"), HOST("::1")};

    (void)state;
    run(e, 2, AF_INET6);
    assert_string_equal(line(), "0 end: 127.0.0.1 is an IPv4 address, and -6 "
                                "checks IPv6 only|1 ::1 ::1|1 end");
    run(e, 2, AF_INET);
    assert_string_equal(line(), "0 127.0.0.1 127.0.0.1|0 end|1 end: ::1 is an "
                                "IPv6 address, and -4 checks IPv4 only");
}

static void test_domain_mx(void **state)
{
    const struct mxp_entry e[] = {DOMAIN("example.test")};

    (void)state;
    /* Preference order, equal ones in answer order, a name listed twice
     * and two names with one address give one address each. */
    dnss_add("example.test", MXP_DNS_MX, 0, 0,
             "MX 20 mx3.example.test; MX 10 mx1.example.test; "
             "MX 20 mx2.example.test; MX 10 MX1.example.test");
    dnss_add("mx1.example.test", MXP_DNS_A, 0, 0, "A 127.0.0.21");
    dnss_add("mx1.example.test", MXP_DNS_AAAA, 0, 0, "AAAA ::1");
    dnss_add("mx2.example.test", MXP_DNS_A, 0, 0, "A 127.0.0.23; A 127.0.0.23");
    dnss_add("mx2.example.test", MXP_DNS_AAAA, 0, 0, "");
    dnss_add("mx3.example.test", MXP_DNS_A, 0, 0, "A 127.0.0.21; A 127.0.0.22");
    dnss_add("mx3.example.test", MXP_DNS_AAAA, 0, 0, "");
    run(e, 1, 0);
    assert_string_equal(line(), "0 mx1.example.test 127.0.0.21|"
                                "0 mx1.example.test ::1|"
                                "0 mx3.example.test 127.0.0.22|"
                                "0 mx2.example.test 127.0.0.23|0 end");
    /* Each MX host was asked once. */
    assert_int_equal(dnss_asked("mx1.example.test", MXP_DNS_A), 1);
}

static void test_domain_implicit_null_errors(void **state)
{
    const struct mxp_entry e[] = {
        DOMAIN("implicit.test"), DOMAIN("null.test"),   DOMAIN("nx.test"),
        DOMAIN("deadmx.test"),   DOMAIN("noaddr.test"), DOMAIN("mixed.test")};

    (void)state;
    dnss_add("implicit.test", MXP_DNS_MX, 0, 0, "");
    dnss_add("implicit.test", MXP_DNS_A, 0, 0, "A 127.0.0.31");
    dnss_add("implicit.test", MXP_DNS_AAAA, 0, 0, "");
    dnss_add("null.test", MXP_DNS_MX, 0, 0, "MX 0 .");
    dnss_add("deadmx.test", MXP_DNS_MX, 0, 0,
             "MX 10 a.deadmx.test; MX 20 b.deadmx.test");
    dnss_add("noaddr.test", MXP_DNS_MX, 0, 0, "");
    dnss_add("noaddr.test", MXP_DNS_A, 0, 0, "");
    dnss_add("noaddr.test", MXP_DNS_AAAA, 0, 0, "");
    dnss_add("mixed.test", MXP_DNS_MX, 0, 0, "MX 0 .; MX 10 mx.mixed.test");
    dnss_add("mx.mixed.test", MXP_DNS_A, 0, 0, "A 127.0.0.32");
    dnss_add("mx.mixed.test", MXP_DNS_AAAA, 0, 0, "");
    run(e, 6, 0);
    assert_string_equal(
        line(),
        "0 implicit.test 127.0.0.31|0 end|"
        "1 end: null.test has a Null MX (RFC 7505): it accepts no mail|"
        "2 end: cannot look up the MX records of 'nx.test': no such domain "
        "(NXDOMAIN)|"
        "3 end: cannot resolve any MX host of deadmx.test: 'a.deadmx.test': "
        "no such name (NXDOMAIN) (and 1 more)|"
        "4 end: noaddr.test has no MX record, and cannot resolve "
        "'noaddr.test' (the implicit MX): no A or AAAA record|"
        "5 mx.mixed.test 127.0.0.32|5 end");
    /* A Null MX costs no address lookup. */
    assert_int_equal(dnss_asked("null.test", MXP_DNS_A), 0);
}

static void test_caps(void **state)
{
    const struct mxp_entry e[] = {DOMAIN("huge.test")};
    char mx[4096], name[64], a[2048], rec[64];
    size_t off = 0, i, aoff = 0;

    (void)state;
    /* 40 MX hosts, the first with 20 addresses: 32 hosts, 16 each. */
    for (i = 0; i < 40; i++) {
        off += (size_t)snprintf(mx + off, sizeof(mx) - off,
                                "MX %zu h%zu.huge.test;", i, i);
        snprintf(name, sizeof(name), "h%zu.huge.test", i);
        snprintf(rec, sizeof(rec), "A 127.0.1.%zu", i + 1);
        dnss_add(name, MXP_DNS_A, 0, 0, rec);
        dnss_add(name, MXP_DNS_AAAA, 0, 0, "");
    }
    dnss_add("huge.test", MXP_DNS_MX, 0, 0, mx);
    for (i = 0; i < 20; i++)
        aoff += (size_t)snprintf(a + aoff, sizeof(a) - aoff, "A 127.0.2.%zu;",
                                 i + 1);
    dnss_clear();
    dnss_add("huge.test", MXP_DNS_MX, 0, 0, mx);
    dnss_add("h0.huge.test", MXP_DNS_A, 0, 0, a);
    for (i = 1; i < 40; i++) {
        snprintf(name, sizeof(name), "h%zu.huge.test", i);
        snprintf(rec, sizeof(rec), "A 127.0.1.%zu", i + 1);
        dnss_add(name, MXP_DNS_A, 0, 0, rec);
    }
    run(e, 1, AF_INET);
    assert_int_equal(n_seen, 16 + 31 + 1);
    assert_string_equal(seen[0].addr, "127.0.2.1");
    assert_string_equal(seen[15].addr, "127.0.2.16");
    assert_string_equal(seen[16].host, "h1.huge.test");
    assert_string_equal(seen[46].host, "h31.huge.test");
    assert_true(seen[47].last);
    assert_false(seen[47].has_error);
    /* The hosts beyond the cap were never asked. */
    assert_int_equal(dnss_asked("h32.huge.test", 0), 0);
    assert_int_equal(dnss_asked("h31.huge.test", 0), 1);
}

/* Answers that come late for the first entries still leave in entry
 * order, and many entries are resolved at once, not one after another. */
static void test_order_and_overlap(void **state)
{
    enum { N = 200 };
    static struct mxp_entry e[N];
    static char names[N][32];
    char rec[64];
    double took;
    size_t i;

    (void)state;
    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "h%zu.order.test", i);
        snprintf(rec, sizeof(rec), "A 127.0.%zu.%zu", i / 250, i % 250 + 1);
        /* The first ones answer last. */
        dnss_add(names[i], MXP_DNS_A, 0, i < 5 ? 400 : 100, rec);
        e[i].kind = MXP_ENTRY_HOST;
        e[i].text = names[i];
        e[i].port = 25;
    }
    took = run(e, N, AF_INET);
    assert_int_equal(n_seen, 2 * N);
    for (i = 0; i < N; i++) {
        snprintf(rec, sizeof(rec), "127.0.%zu.%zu", i / 250, i % 250 + 1);
        assert_int_equal(seen[2 * i].entry, i);
        assert_string_equal(seen[2 * i].addr, rec);
        assert_true(seen[2 * i + 1].last);
        assert_int_equal(seen[2 * i + 1].entry, i);
    }
    /* One after another that is 200 x 100 ms = 20 s; a window of 64
     * makes it about 4 rounds. */
    assert_true(took < 3.0);
    assert_true(dnss_peak_pending() >= 32);
}

/* ---- the parent side: hostile streams --------------------------------- */

static void feed(struct mxp_expander *x, int wfd, const void *p, size_t n)
{
    assert_int_equal(write(wfd, p, n), (ssize_t)n);
    mxp_expand_read(x, collect, NULL);
}

static void test_stream_good_and_partial(void **state)
{
    const struct mxp_entry e[] = {HOST("a.test"), HOST("b.test"),
                                  HOST("c.test")};
    unsigned char buf[1024], b4[4] = {127, 0, 0, 1};
    struct mxp_expander *x;
    size_t len;
    int p[2];

    (void)state;
    n_seen = 0;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(mxp_expand_attach(e, 3, p[0], -1, &x), MXP_OK);
    len = mxp_expand_encode_addr(buf, 0, AF_INET, b4, "a.test");
    /* Byte by byte: a record is delivered only when whole. */
    for (size_t i = 0; i + 1 < len; i++)
        feed(x, p[1], buf + i, 1);
    assert_int_equal(n_seen, 0);
    feed(x, p[1], buf + len - 1, 1);
    assert_int_equal(n_seen, 1);
    len = mxp_expand_encode_end(buf, 0, NULL);
    feed(x, p[1], buf, len);
    /* The child dies after an address of entry 1. */
    len = mxp_expand_encode_addr(buf, 1, AF_INET, b4, "b.test");
    feed(x, p[1], buf, len);
    close(p[1]);
    assert_false(mxp_expand_done(x));
    mxp_expand_read(x, collect, NULL);
    assert_true(mxp_expand_done(x));
    assert_int_equal(mxp_expand_fd(x), -1);
    assert_string_equal(line(),
                        "0 a.test 127.0.0.1|0 end|1 b.test 127.0.0.1|"
                        "1 end: the expansion of 'b.test' failed: the "
                        "expander stopped|2 end: the expansion of 'c.test' "
                        "failed: the expander stopped");
    mxp_expand_free(x);
}

static void test_stream_corrupt(void **state)
{
    const struct mxp_entry e[] = {HOST("a.test"), HOST("b.test")};
    unsigned char good[1024], bad[8192];
    unsigned char b4[4] = {127, 0, 0, 1};
    size_t glen, blen, k;
    uint32_t n;

    (void)state;
    glen = mxp_expand_encode_end(good, 0, NULL);
    for (k = 0; k < 8; k++) {
        struct mxp_expander *x;
        int p[2];

        memset(bad, 0, sizeof(bad));
        switch (k) {
        case 0: /* wrong entry */
            blen = mxp_expand_encode_end(bad, 0, NULL);
            break;
        case 1: /* oversized length */
            n = 1u << 30;
            memcpy(bad, &n, 4);
            blen = 4;
            break;
        case 2: /* zero length */
            blen = 4;
            break;
        case 3: /* unknown type */
            blen = mxp_expand_encode_end(bad, 1, NULL);
            bad[4] = 'Z';
            break;
        case 4: /* bad family */
            blen = mxp_expand_encode_addr(bad, 1, AF_INET, b4, "b.test");
            bad[9] = 5;
            break;
        case 5: /* control bytes in the host */
            blen = mxp_expand_encode_addr(bad, 1, AF_INET, b4, "b.test");
            bad[blen - 1] = '\n';
            break;
        case 6: /* no host */
            blen = mxp_expand_encode_addr(bad, 1, AF_INET, b4, "");
            break;
        default: /* a record longer than the cap, whole */
            n = MXP_EXPAND_MAX_RECORD + 1;
            memcpy(bad, &n, 4);
            bad[4] = 'E';
            memset(bad + 9, 'x', n - 5);
            blen = 4 + n;
            break;
        }
        n_seen = 0;
        assert_int_equal(pipe(p), 0);
        assert_int_equal(mxp_expand_attach(e, 2, p[0], -1, &x), MXP_OK);
        feed(x, p[1], good, glen);
        feed(x, p[1], bad, blen);
        /* Entry 1 ended with the error at once, the pipe is dropped. */
        assert_true(mxp_expand_done(x));
        assert_int_equal(mxp_expand_fd(x), -1);
        assert_int_equal(n_seen, 2);
        assert_string_equal(seen[1].error,
                            "the expansion of 'b.test' failed: the expander "
                            "sent a corrupt record");
        mxp_expand_free(x);
        close(p[1]);
    }
}

/* A real expander that dies: its entries all end. */
static void test_child_dies(void **state)
{
    const struct mxp_entry e[] = {HOST("127.0.0.1"), HOST("slow.test"),
                                  HOST("127.0.0.2")};
    struct mxp_expand_settings set = settings(0);
    struct mxp_expander *x;
    double start = mxp_now();

    (void)state;
    dnss_add("slow.test", MXP_DNS_A, 0, -1, "");
    dnss_add("slow.test", MXP_DNS_AAAA, 0, -1, "");
    set.dns_deadline = 30;
    set.dns.timeout_ms = 10000;
    n_seen = 0;
    assert_int_equal(mxp_expand_start(e, 3, &set, &x), MXP_OK);
    while (n_seen < 2) {
        struct pollfd pfd = {mxp_expand_fd(x), POLLIN, 0};

        (void)poll(&pfd, 1, 1000);
        mxp_expand_read(x, collect, NULL);
        assert_true(mxp_now() - start < 10);
    }
    /* Find the child: the only one of ours still running. */
    assert_int_equal(kill(0, 0), 0);
    {
        pid_t pid;
        int st;

        /* The pipe's writer is the child; kill it through its group is
         * not possible, so ask waitpid for any child after a kill of
         * every process of ours but us: simpler, the expander is our
         * only child here. */
        pid = waitpid(-1, &st, WNOHANG);
        assert_int_equal(pid, 0);
    }
    mxp_expand_free(x); /* kills and reaps it */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_numeric_hosts, reset),
        cmocka_unit_test_setup(test_name_every_address, reset),
        cmocka_unit_test_setup(test_name_errors, reset),
        cmocka_unit_test_setup(test_family_mismatch, reset),
        cmocka_unit_test_setup(test_domain_mx, reset),
        cmocka_unit_test_setup(test_domain_implicit_null_errors, reset),
        cmocka_unit_test_setup(test_caps, reset),
        cmocka_unit_test_setup(test_order_and_overlap, reset),
        cmocka_unit_test_setup(test_stream_good_and_partial, reset),
        cmocka_unit_test_setup(test_stream_corrupt, reset),
        cmocka_unit_test_setup(test_child_dies, reset),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
