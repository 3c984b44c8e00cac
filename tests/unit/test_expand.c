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

#define MAX_SEEN 4096

struct seen {
    size_t entry;
    char host[256];
    char addr[64];
    int family;
    int last;
    char error[600];
    int has_error;
    char warning[600];
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
    if (x->warning != NULL) {
        /* Only on an end that is not an error. */
        assert_true(x->last);
        assert_null(x->error);
        snprintf(s->warning, sizeof(s->warning), "%s", x->warning);
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
    /* Generous: other tests may load the machine meanwhile. */
    set.dns.timeout_ms = 500;
    set.dns.tries = 3;
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
            w = snprintf(buf + off, sizeof(buf) - off, "%s%zu end%s%s%s%s",
                         i > 0 ? "|" : "", seen[i].entry,
                         seen[i].has_error ? ": " : "", seen[i].error,
                         seen[i].warning[0] != '\0' ? " warning: " : "",
                         seen[i].warning);
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

/* One scripted answer (dns_script.h): name, type, rcode, delay in ms
 * (-1: never), records. */
struct rr {
    const char *name;
    uint16_t type;
    unsigned rcode;
    int delay_ms;
    const char *records;
};

static void load(const struct rr *z, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dnss_add(z[i].name, z[i].type, z[i].rcode, z[i].delay_ms, z[i].records);
}
#define LOAD(z) load((z), sizeof(z) / sizeof((z)[0]))

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

/* An AAAA record holding ::ffff:a.b.c.d is that IPv4 host: one address
 * with its A record, and none under -6. */
static void test_name_v4mapped(void **state)
{
    const struct mxp_entry e[] = {HOST("mapped.test")};

    (void)state;
    dnss_add("mapped.test", MXP_DNS_A, 0, 0, "A 127.0.0.11");
    dnss_add("mapped.test", MXP_DNS_AAAA, 0, 0,
             "AAAA ::ffff:127.0.0.11; AAAA ::ffff:127.0.0.12; AAAA ::1");
    run(e, 1, 0);
    assert_string_equal(line(), "0 mapped.test 127.0.0.11|0 mapped.test "
                                "127.0.0.12|0 mapped.test ::1|0 end");
    run(e, 1, AF_INET6);
    assert_string_equal(line(), "0 mapped.test ::1|0 end");
}

static void test_name_errors(void **state)
{
    const struct mxp_entry e[] = {HOST("nx.test"), HOST("empty.test"),
                                  HOST("silent.test"), HOST("fail.test"),
                                  HOST("127.0.0.1")};
    static const struct rr zone[] = {
        {"empty.test", MXP_DNS_A, 0, 0, ""},
        {"empty.test", MXP_DNS_AAAA, 0, 0, ""},
        {"silent.test", MXP_DNS_A, 0, -1, ""},
        {"silent.test", MXP_DNS_AAAA, 0, -1, ""},
        {"fail.test", MXP_DNS_A, 2, 0, ""},
        {"fail.test", MXP_DNS_AAAA, 3, 0, ""},
    };

    (void)state;
    LOAD(zone);
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
    static const struct rr zone[] = {
        {"example.test", MXP_DNS_MX, 0, 0,
         "MX 20 mx3.example.test; MX 10 mx1.example.test; "
         "MX 20 mx2.example.test; MX 10 MX1.example.test"},
        {"mx1.example.test", MXP_DNS_A, 0, 0, "A 127.0.0.21"},
        {"mx1.example.test", MXP_DNS_AAAA, 0, 0, "AAAA ::1"},
        {"mx2.example.test", MXP_DNS_A, 0, 0, "A 127.0.0.23; A 127.0.0.23"},
        {"mx2.example.test", MXP_DNS_AAAA, 0, 0, ""},
        {"mx3.example.test", MXP_DNS_A, 0, 0, "A 127.0.0.21; A 127.0.0.22"},
        {"mx3.example.test", MXP_DNS_AAAA, 0, 0, ""},
    };

    (void)state;
    /* Preference order, equal ones in answer order, a name listed twice
     * and two names with one address give one address each. */
    LOAD(zone);
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
    static const struct rr zone[] = {
        {"implicit.test", MXP_DNS_MX, 0, 0, ""},
        {"implicit.test", MXP_DNS_A, 0, 0, "A 127.0.0.31"},
        {"implicit.test", MXP_DNS_AAAA, 0, 0, ""},
        {"null.test", MXP_DNS_MX, 0, 0, "MX 0 ."},
        {"deadmx.test", MXP_DNS_MX, 0, 0,
         "MX 10 a.deadmx.test; MX 20 b.deadmx.test"},
        {"noaddr.test", MXP_DNS_MX, 0, 0, ""},
        {"noaddr.test", MXP_DNS_A, 0, 0, ""},
        {"noaddr.test", MXP_DNS_AAAA, 0, 0, ""},
        {"mixed.test", MXP_DNS_MX, 0, 0, "MX 0 .; MX 10 mx.mixed.test"},
        {"mx.mixed.test", MXP_DNS_A, 0, 0, "A 127.0.0.32"},
        {"mx.mixed.test", MXP_DNS_AAAA, 0, 0, ""},
    };

    (void)state;
    LOAD(zone);
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
    if (n_seen != 16 + 31 + 1)
        fail_msg("%s", line());
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

/* A name that never answers heads the list: the domain behind it still
 * goes on to its MX hosts' addresses at once, so its own deadline is not
 * spent waiting for the first one's. */
static void test_no_head_of_line(void **state)
{
    const struct mxp_entry e[] = {HOST("silent.test"), DOMAIN("d.test")};
    static const struct rr zone[] = {
        {"silent.test", MXP_DNS_A, 0, -1, ""},
        {"silent.test", MXP_DNS_AAAA, 0, -1, ""},
        {"d.test", MXP_DNS_MX, 0, 0, "MX 10 mx.d.test"},
        {"mx.d.test", MXP_DNS_A, 0, 300, "A 127.0.0.71"},
        {"mx.d.test", MXP_DNS_AAAA, 0, 300, ""},
    };
    struct mxp_expand_settings set = settings(0);
    double took;

    (void)state;
    LOAD(zone);
    set.dns_deadline = 1.0;
    took = run_set(e, 2, &set);
    assert_string_equal(
        line(), "0 end: cannot resolve 'silent.test': no answer (timeout)|1 "
                "mx.d.test 127.0.0.71|1 end");
    assert_true(took >= 0.9);
    assert_true(took < 2.0);
}

/* A lookup that fails while the entry still gives addresses: the end
 * says which addresses may be missing. */
static void test_partial_failure(void **state)
{
    const struct mxp_entry e[] = {HOST("half.test"), DOMAIN("part.test")};
    static const struct rr zone[] = {
        {"half.test", MXP_DNS_A, 0, 0, "A 127.0.0.61"},
        {"half.test", MXP_DNS_AAAA, 0, -1, ""},
        {"part.test", MXP_DNS_MX, 0, 0,
         "MX 10 bad.part.test; MX 20 good.part.test; MX 30 nx.part.test"},
        {"bad.part.test", MXP_DNS_A, 2, 0, ""},
        {"bad.part.test", MXP_DNS_AAAA, 2, 0, ""},
        {"good.part.test", MXP_DNS_A, 0, 0, "A 127.0.0.62"},
        {"good.part.test", MXP_DNS_AAAA, 0, 0, ""},
    };

    (void)state;
    LOAD(zone);
    run(e, 2, 0);
    /* NXDOMAIN is an answer (the zone check judges it), no warning. */
    assert_string_equal(
        line(), "0 half.test 127.0.0.61|0 end warning: the AAAA lookup of "
                "'half.test' failed (no answer (timeout)): its IPv6 "
                "addresses are not checked|1 good.part.test 127.0.0.62|1 "
                "end warning: the A lookup of 'bad.part.test' failed "
                "(SERVFAIL): its IPv4 addresses are not checked (and 1 more "
                "lookups)");
    /* Under -4 the AAAA is not asked: nothing is missing. */
    run(e, 1, AF_INET);
    assert_string_equal(line(), "0 half.test 127.0.0.61|0 end");
}

/* A parent that reads late: the child blocks on the full pipe, the
 * answers of the entries behind wait in its socket, and they are still
 * taken as answers, not as timeouts. */
static void test_slow_reader(void **state)
{
    enum { BIG = 6, LATE = 10 };
    static struct mxp_entry e[BIG + LATE];
    static char late[LATE][32];
    struct mxp_expand_settings set = settings(AF_INET);
    struct mxp_expander *x;
    char mx[4096], name[64], a[1024];
    size_t off = 0, i, j, aoff;
    double start;

    (void)state;
    for (i = 0; i < 32; i++) {
        off += (size_t)snprintf(mx + off, sizeof(mx) - off,
                                "MX %zu h%zu.big.test;", i, i);
        snprintf(name, sizeof(name), "h%zu.big.test", i);
        for (j = 0, aoff = 0; j < 16; j++)
            aoff += (size_t)snprintf(a + aoff, sizeof(a) - aoff,
                                     "A 127.1.%zu.%zu;", i, j + 1);
        dnss_add(name, MXP_DNS_A, 0, 0, a);
    }
    dnss_add("big.test", MXP_DNS_MX, 0, 0, mx);
    for (i = 0; i < BIG; i++) {
        e[i].kind = MXP_ENTRY_DOMAIN;
        e[i].text = "big.test";
    }
    for (i = 0; i < LATE; i++) {
        snprintf(late[i], sizeof(late[i]), "late%zu.test", i);
        snprintf(a, sizeof(a), "A 127.0.3.%zu", i + 1);
        dnss_add(late[i], MXP_DNS_A, 0, 100, a);
        e[BIG + i].kind = MXP_ENTRY_HOST;
        e[BIG + i].text = late[i];
    }
    set.dns_deadline = 1.0;
    n_seen = 0;
    assert_int_equal(mxp_expand_start(e, BIG + LATE, &set, &x), MXP_OK);
    usleep(2500 * 1000); /* the pipe fills; nobody reads */
    start = mxp_now();
    while (!mxp_expand_done(x)) {
        struct pollfd pfd = {mxp_expand_fd(x), POLLIN, 0};

        (void)poll(&pfd, 1, 1000);
        mxp_expand_read(x, collect, NULL);
        assert_true(mxp_now() - start < 20);
    }
    mxp_expand_free(x);
    for (i = 0; i < n_seen; i++)
        if (seen[i].has_error || seen[i].warning[0] != '\0')
            fail_msg("entry %zu: %s%s", seen[i].entry, seen[i].error,
                     seen[i].warning);
    assert_int_equal(n_seen, BIG * (512 + 1) + LATE * 2);
    for (i = 0; i < LATE; i++) {
        const struct seen *sa = &seen[BIG * 513 + 2 * i];

        assert_string_equal(sa->host, late[i]);
        assert_false(sa->last);
        assert_false(sa[1].has_error);
    }
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
    unsigned char buf[4 + MXP_EXPAND_MAX_RECORD], b4[4] = {127, 0, 0, 1};
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
    len = mxp_expand_encode_end(buf, 0, NULL, "w1");
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
                        "0 a.test 127.0.0.1|0 end warning: w1|1 b.test "
                        "127.0.0.1|"
                        "1 end: the expansion of 'b.test' failed: the "
                        "expander stopped|2 end: the expansion of 'c.test' "
                        "failed: the expander stopped");
    mxp_expand_free(x);
}

static void test_stream_corrupt(void **state)
{
    const struct mxp_entry e[] = {HOST("a.test"), HOST("b.test")};
    unsigned char good[4 + MXP_EXPAND_MAX_RECORD], bad[8192];
    unsigned char b4[4] = {127, 0, 0, 1};
    size_t glen, blen, k;
    uint32_t n;

    (void)state;
    glen = mxp_expand_encode_end(good, 0, NULL, NULL);
    for (k = 0; k < 10; k++) {
        struct mxp_expander *x;
        int p[2];

        memset(bad, 0, sizeof(bad));
        switch (k) {
        case 0: /* wrong entry */
            blen = mxp_expand_encode_end(bad, 0, NULL, NULL);
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
            blen = mxp_expand_encode_end(bad, 1, NULL, NULL);
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
        case 7: /* a NUL, then no warning */
            blen = mxp_expand_encode_end(bad, 1, "x", NULL);
            bad[blen++] = '\0';
            n = (uint32_t)(blen - 4);
            memcpy(bad, &n, 4);
            break;
        case 8: /* a control byte in the warning */
            blen = mxp_expand_encode_end(bad, 1, NULL, "a warning");
            bad[blen - 2] = '\r';
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

/* A real expander killed mid-stream: the entries it had not ended end
 * with an error at once, and free reaps it. */
static void test_child_dies(void **state)
{
    const struct mxp_entry e[] = {HOST("127.0.0.1"), HOST("slow.test"),
                                  HOST("127.0.0.2")};
    struct mxp_expand_settings set = settings(0);
    struct mxp_expander *x;
    double start = mxp_now(), killed;
    pid_t pid;

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
    pid = mxp_expand_pid(x);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    killed = mxp_now();
    while (!mxp_expand_done(x)) {
        struct pollfd pfd = {mxp_expand_fd(x), POLLIN, 0};

        assert_true(pfd.fd >= 0);
        (void)poll(&pfd, 1, 1000);
        mxp_expand_read(x, collect, NULL);
        assert_true(mxp_now() - killed < 5);
    }
    assert_string_equal(line(), "0 127.0.0.1 127.0.0.1|0 end|1 end: the "
                                "expansion of 'slow.test' failed: the "
                                "expander stopped|2 end: the expansion of "
                                "'127.0.0.2' failed: the expander stopped");
    mxp_expand_free(x);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* No entries: done at once, no child. */
static void test_no_entries(void **state)
{
    struct mxp_expand_settings set = settings(0);
    struct mxp_expander *x;

    (void)state;
    assert_int_equal(mxp_expand_start(NULL, 0, &set, &x), MXP_OK);
    assert_true(mxp_expand_done(x));
    assert_int_equal(mxp_expand_fd(x), -1);
    assert_int_equal(mxp_expand_pid(x), -1);
    mxp_expand_free(x);
}

/* free while the child still works: it is killed and reaped at once. */
static void test_free_running(void **state)
{
    const struct mxp_entry e[] = {HOST("slow.test")};
    struct mxp_expand_settings set = settings(0);
    struct mxp_expander *x;
    double start;
    pid_t pid;

    (void)state;
    dnss_add("slow.test", MXP_DNS_A, 0, -1, "");
    dnss_add("slow.test", MXP_DNS_AAAA, 0, -1, "");
    set.dns_deadline = 30;
    set.dns.timeout_ms = 10000;
    assert_int_equal(mxp_expand_start(e, 1, &set, &x), MXP_OK);
    pid = mxp_expand_pid(x);
    usleep(100 * 1000);
    start = mxp_now();
    mxp_expand_free(x);
    assert_true(mxp_now() - start < 1.0);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* Answers a hostile or careless zone gives. */
static void test_hostile_answers(void **state)
{
    const struct mxp_entry e[] = {DOMAIN("badnames.test"), HOST("zero.test"),
                                  DOMAIN("literal.test"), HOST("0.0.0.0"),
                                  HOST("some.test")};
    static const struct rr zone[] = {
        {"badnames.test", MXP_DNS_MX, 0, 0,
         "MX 10 -bad.badnames.test; MX 20 a*b.badnames.test"},
        {"zero.test", MXP_DNS_A, 0, 0, "A 0.0.0.0"},
        {"zero.test", MXP_DNS_AAAA, 0, 0, "AAAA ::"},
        /* An MX that is an address literal is a name to the DNS, as to any *
           MTA: it does not resolve. */
        {"literal.test", MXP_DNS_MX, 0, 0, "MX 10 127.0.0.1"},
        /* Unspecified addresses among good ones are dropped. */
        {"some.test", MXP_DNS_A, 0, 0, "A 0.0.0.0; A 127.0.0.51"},
        {"some.test", MXP_DNS_AAAA, 0, 0, "AAAA ::; AAAA ::1"},
    };

    (void)state;
    /* MX names that are no host names are skipped. */
    LOAD(zone);
    run(e, 5, 0);
    assert_string_equal(
        line(),
        "0 end: the MX records of 'badnames.test' name no valid host name|"
        "1 end: cannot resolve 'zero.test': only the unspecified address "
        "(0.0.0.0 or ::)|"
        "2 end: cannot resolve the MX host of literal.test: '127.0.0.1': no "
        "such name (NXDOMAIN)|"
        "3 end: 0.0.0.0 is not an address a server can have|"
        "4 some.test 127.0.0.51|4 some.test ::1|4 end");
}

/* ---- entry text and CIDR blocks ---------------------------------------- */

static void test_entry_check(void **state)
{
    static const struct {
        enum mxp_entry_kind kind;
        const char *text;
        const char *err; /* NULL: valid */
    } cases[] = {
        {MXP_ENTRY_HOST, "mx1.example.org", NULL},
        {MXP_ENTRY_HOST, "mx1.example.org.", NULL},
        {MXP_ENTRY_HOST, "192.0.2.25", NULL},
        {MXP_ENTRY_HOST, "2001:db8::25", NULL},
        {MXP_ENTRY_HOST, "", "empty host"},
        {MXP_ENTRY_HOST, "mx 1.example.org",
         "'mx 1.example.org' is neither an IP address nor a host name (like "
         "mx.example.org)"},
        {MXP_ENTRY_HOST, "localhost",
         "'localhost' is neither an IP address nor a host name (like "
         "mx.example.org)"},
        {MXP_ENTRY_DOMAIN, "example.org", NULL},
        {MXP_ENTRY_DOMAIN, "192.0.2.25",
         "'192.0.2.25' is not a mail domain (like example.org)"},
        {MXP_ENTRY_DOMAIN, "", "empty domain"},
        {MXP_ENTRY_CIDR, "192.0.2.0/24", NULL},
        {MXP_ENTRY_CIDR, "192.0.2.1/24",
         "'192.0.2.1/24' has host bits set: the block is 192.0.2.0/24"},
        {MXP_ENTRY_CIDR, "2001:db8::1/120",
         "'2001:db8::1/120' has host bits set: the block is 2001:db8::/120"},
        {MXP_ENTRY_CIDR, "10.0.0.0/16", NULL},
        {MXP_ENTRY_CIDR, "10.0.0.0/15",
         "'10.0.0.0/15' is too big: a block may hold at most 65536 "
         "addresses (/16); split it or check fewer"},
        {MXP_ENTRY_CIDR, "2001:db8::/112", NULL},
        {MXP_ENTRY_CIDR, "2001:db8::/64",
         "'2001:db8::/64' is too big: a block may hold at most 65536 "
         "addresses (/112); split it or check fewer"},
        {MXP_ENTRY_CIDR, "192.0.2.0/33",
         "'192.0.2.0/33' is not a CIDR block: the prefix must be 0..32"},
        {MXP_ENTRY_CIDR, "192.0.2.0/",
         "'192.0.2.0/' is not a CIDR block: the prefix must be 0..32"},
        {MXP_ENTRY_CIDR, "192.0.2.0/+4",
         "'192.0.2.0/+4' is not a CIDR block: the prefix must be 0..32"},
        {MXP_ENTRY_CIDR, "192.0.2.0/2a",
         "'192.0.2.0/2a' is not a CIDR block: the prefix must be 0..32"},
        {MXP_ENTRY_CIDR, "2001:db8::/129",
         "'2001:db8::/129' is not a CIDR block: the prefix must be 0..128"},
        {MXP_ENTRY_CIDR, "/24", "'/24' is not a CIDR block (ADDRESS/PREFIX)"},
        {MXP_ENTRY_CIDR, "mx.example.org/24",
         "'mx.example.org/24' is not a CIDR block: 'mx.example.org' is not "
         "an IPv4 or IPv6 address"},
        {MXP_ENTRY_CIDR, "192.0.2.0",
         "'192.0.2.0' is not a CIDR block "
         "(ADDRESS/PREFIX)"},
    };
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mxp_entry e = {cases[i].kind, cases[i].text, 25};
        int rc;

        err[0] = '\0';
        rc = mxp_entry_check(&e, err, sizeof(err));
        if (cases[i].err == NULL) {
            assert_int_equal(rc, MXP_OK);
        } else {
            assert_int_equal(rc, MXP_ERR_INVALID);
            assert_string_equal(err, cases[i].err);
        }
    }
    assert_int_equal(mxp_entry_kind_of("192.0.2.0/24"), MXP_ENTRY_CIDR);
    assert_int_equal(mxp_entry_kind_of("2001:db8::/120"), MXP_ENTRY_CIDR);
    assert_int_equal(mxp_entry_kind_of("mx.example.org"), MXP_ENTRY_HOST);
    assert_int_equal(mxp_entry_kind_of("192.0.2.1"), MXP_ENTRY_HOST);
}

static void test_cidr_ranges(void **state)
{
    static const struct {
        const char *text;
        uint32_t count, first, last;
        const char *first_addr, *last_addr;
    } cases[] = {
        {"192.0.2.0/24", 256, 1, 254, "192.0.2.1", "192.0.2.254"},
        {"192.0.2.8/30", 4, 1, 2, "192.0.2.9", "192.0.2.10"},
        {"192.0.2.8/31", 2, 0, 1, "192.0.2.8", "192.0.2.9"},
        {"192.0.2.8/32", 1, 0, 0, "192.0.2.8", "192.0.2.8"},
        {"10.1.0.0/16", 65536, 1, 65534, "10.1.0.1", "10.1.255.254"},
        {"2001:db8::/112", 65536, 0, 65535, "2001:db8::", "2001:db8::ffff"},
        {"2001:db8::100/120", 256, 0, 255, "2001:db8::100", "2001:db8::1ff"},
        {"::1/128", 1, 0, 0, "::1", "::1"},
        /* The unspecified address connects to this very machine: a block
         * holding it starts after it (as a DNS answer of it is dropped). */
        {"::/112", 65536, 1, 65535, "::1", "::ffff"},
        {"::/127", 2, 1, 1, "::1", "::1"},
        {"::ffff:0.0.0.0/112", 65536, 1, 65535, "::ffff:0.0.0.1",
         "::ffff:0.0.255.255"},
        {"0.0.0.0/31", 2, 1, 1, "0.0.0.1", "0.0.0.1"},
        {"0.0.0.0/24", 256, 1, 254, "0.0.0.1", "0.0.0.254"},
    };
    struct mxp_cidr c;
    unsigned char b[16];
    char err[256], text[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(mxp_cidr_parse(cases[i].text, &c, err, sizeof(err)),
                         MXP_OK);
        assert_int_equal(c.count, cases[i].count);
        assert_int_equal(c.first, cases[i].first);
        assert_int_equal(c.last, cases[i].last);
        mxp_cidr_addr(&c, c.first, b);
        assert_non_null(inet_ntop(c.family, b, text, sizeof(text)));
        assert_string_equal(text, cases[i].first_addr);
        mxp_cidr_addr(&c, c.last, b);
        assert_non_null(inet_ntop(c.family, b, text, sizeof(text)));
        assert_string_equal(text, cases[i].last_addr);
    }
    /* A block of only the unspecified address is no block to sweep. */
    assert_int_equal(mxp_cidr_parse("0.0.0.0/32", &c, err, sizeof(err)),
                     MXP_ERR_INVALID);
    assert_non_null(strstr(err, "unspecified"));
    assert_int_equal(mxp_cidr_parse("::/128", &c, err, sizeof(err)),
                     MXP_ERR_INVALID);
    assert_non_null(strstr(err, "unspecified"));
}

/* ---- the sweep -------------------------------------------------------- */

/* A listener on addr:*port (0: any port, then *port says which). */
static int listen_on(const char *addr, unsigned *port, int backlog)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    assert_true(fd >= 0);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)*port);
    assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

/* Listeners on one free port on each of addrs[0..n), the last
 * n_small of them with a backlog of 0; returns the port. */
static unsigned listen_set(const char *const *addrs, size_t n, size_t n_small,
                           int *fds)
{
    for (int tries = 0; tries < 20; tries++) {
        unsigned port = 0;
        size_t i;

        for (i = 0; i < n; i++) {
            fds[i] = listen_on(addrs[i], &port, i + n_small >= n ? 0 : 8);
            if (fds[i] < 0)
                break;
        }
        if (i == n)
            return port;
        while (i-- > 0)
            close(fds[i]);
    }
    fail_msg("no free port on all of %s...", addrs[0]);
    return 0;
}

/* A connect to addr:port left pending or queued (fills a backlog). */
static int connect_to(const char *addr, unsigned port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
    (void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    return fd;
}

struct sweep_seen {
    char addr[8][64];
    double t[8];
    size_t n;
};

static int sweep_cb(void *user, int family, const unsigned char *bytes)
{
    struct sweep_seen *s = user;

    assert_true(s->n < 8);
    assert_non_null(
        inet_ntop(family, bytes, s->addr[s->n], sizeof(s->addr[0])));
    s->t[s->n++] = mxp_now();
    return 0;
}

/* 127.0.0.8/29: .9, .12 and .14 listen; .10 listens but its queue is
 * full, so its connect hangs until the timeout; .8 (the network address)
 * and .15 (broadcast) listen too but are no servers of the block.  The
 * finds come in address order, .12 held until .10 is decided. */
static void test_sweep_loopback(void **state)
{
    const char *const listening[] = {"127.0.0.8",  "127.0.0.9",  "127.0.0.12",
                                     "127.0.0.14", "127.0.0.15", "127.0.0.10"};
    int fds[6], fill[2];
    unsigned port = 0;
    struct sweep_seen s;
    struct mxp_cidr c;
    char err[256];
    double start;
    size_t i;

    (void)state;
    /* The last one's backlog is 0. */
    port = listen_set(listening, 6, 1, fds);
    /* Fill .10's accept queue (backlog 0 holds one; one more waits). */
    fill[0] = connect_to("127.0.0.10", port);
    fill[1] = connect_to("127.0.0.10", port);
    usleep(100 * 1000);

    assert_int_equal(mxp_cidr_parse("127.0.0.8/29", &c, err, sizeof(err)),
                     MXP_OK);
    memset(&s, 0, sizeof(s));
    start = mxp_now();
    assert_int_equal(
        mxp_sweep(&c, port, 1000, 0.5, sweep_cb, &s, err, sizeof(err)), MXP_OK);
    assert_string_equal(err, "");
    assert_int_equal(s.n, 3);
    assert_string_equal(s.addr[0], "127.0.0.9");
    assert_string_equal(s.addr[1], "127.0.0.12");
    assert_string_equal(s.addr[2], "127.0.0.14");
    /* .9 came at once; .12 waited for .10's timeout. */
    assert_true(s.t[0] - start < 0.3);
    assert_true(s.t[1] - start >= 0.45);
    assert_true(mxp_now() - start < 2.0);
    for (i = 0; i < 6; i++)
        close(fds[i]);
    close(fill[0]);
    close(fill[1]);
}

/* At most rate connects a second: 62 addresses at 100/s take 0.61 s at
 * least, though every one is refused at once. */
static void test_sweep_rate(void **state)
{
    struct sweep_seen s;
    struct mxp_cidr c;
    char err[256];
    double start, took;
    unsigned port = 0;
    int fd = listen_on("127.0.1.1", &port, 8);

    (void)state;
    assert_true(fd >= 0);
    close(fd); /* a port nobody listens on now */
    assert_int_equal(mxp_cidr_parse("127.0.1.0/26", &c, err, sizeof(err)),
                     MXP_OK);
    memset(&s, 0, sizeof(s));
    start = mxp_now();
    assert_int_equal(
        mxp_sweep(&c, port, 100, 0.5, sweep_cb, &s, err, sizeof(err)), MXP_OK);
    took = mxp_now() - start;
    assert_int_equal(s.n, 0);
    assert_string_equal(err, "");
    assert_true(took >= 0.60);
    assert_true(took < 2.0);
}

/* The sweep through the expander: the addresses that answered, as hosts
 * of their own, then the next entry. */
static void test_expand_cidr(void **state)
{
    const char *const addrs[] = {"127.0.0.41", "127.0.0.42"};
    char cidr_text[] = "127.0.0.40/30";
    int fds[2];
    unsigned port = listen_set(addrs, 2, 0, fds);

    (void)state;
    {
        const struct mxp_entry e[] = {
            {MXP_ENTRY_CIDR, cidr_text, port},
            HOST("127.0.0.5"),
            {MXP_ENTRY_CIDR, "127.0.0.44/30", port},
            {MXP_ENTRY_CIDR, "::1/128", port},
        };

        run(e, 4, 0);
        assert_string_equal(line(), "0 127.0.0.41 127.0.0.41|0 127.0.0.42 "
                                    "127.0.0.42|0 end|1 127.0.0.5 "
                                    "127.0.0.5|1 end|2 end|3 end");
        const struct mxp_entry ll[] = {{MXP_ENTRY_CIDR, "fe80::/126", 25}};

        /* A link-local block cannot be reached without an interface:
         * every connect fails here, before a packet leaves, and the
         * entry says the sweep could not tell. */
        run(ll, 1, 0);
        assert_string_equal(line(),
                            "0 end: the sweep of fe80::/126 is incomplete: "
                            "4 of 4 connects to port 25 could not be sent "
                            "from here (no route or no source address): the "
                            "sweep cannot tell whether anything listens");
        run(e, 4, AF_INET6);
        assert_string_equal(
            line(), "0 end: 127.0.0.40/30 is an IPv4 block, and -6 checks "
                    "IPv6 only|1 end: 127.0.0.5 is an IPv4 address, and -6 "
                    "checks IPv6 only|2 end: 127.0.0.44/30 is an IPv4 "
                    "block, and -6 checks IPv6 only|3 end");
    }
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_numeric_hosts, reset),
        cmocka_unit_test_setup(test_name_every_address, reset),
        cmocka_unit_test_setup(test_name_v4mapped, reset),
        cmocka_unit_test_setup(test_name_errors, reset),
        cmocka_unit_test_setup(test_family_mismatch, reset),
        cmocka_unit_test_setup(test_domain_mx, reset),
        cmocka_unit_test_setup(test_domain_implicit_null_errors, reset),
        cmocka_unit_test_setup(test_caps, reset),
        cmocka_unit_test_setup(test_order_and_overlap, reset),
        cmocka_unit_test_setup(test_no_head_of_line, reset),
        cmocka_unit_test_setup(test_partial_failure, reset),
        cmocka_unit_test_setup(test_slow_reader, reset),
        cmocka_unit_test_setup(test_stream_good_and_partial, reset),
        cmocka_unit_test_setup(test_stream_corrupt, reset),
        cmocka_unit_test_setup(test_child_dies, reset),
        cmocka_unit_test_setup(test_free_running, reset),
        cmocka_unit_test(test_no_entries),
        cmocka_unit_test_setup(test_hostile_answers, reset),
        cmocka_unit_test(test_entry_check),
        cmocka_unit_test(test_cidr_ranges),
        cmocka_unit_test(test_sweep_loopback),
        cmocka_unit_test(test_sweep_rate),
        cmocka_unit_test_setup(test_expand_cidr, reset),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
