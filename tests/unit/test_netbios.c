/*
 * test_netbios.c - the netbios plugin: the NBSTAT request and the name
 * table parser as a table (good tables, truncated ones, counts that lie,
 * names with control bytes), and run() against the fake core's scripted
 * port probes and UDP answers, asserting states and wording.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/netbios/nbstat.c"
#include "../../plugins/netbios/netbios.c"
#include "fake_core.h"

#define ID 0x1234

/* ---- building answers -------------------------------------------------- */

struct answer {
    unsigned char b[2048];
    size_t len;
};

static void put(struct answer *a, const void *p, size_t n)
{
    assert_true(a->len + n <= sizeof(a->b));
    memcpy(a->b + a->len, p, n);
    a->len += n;
}

static void put8(struct answer *a, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put(a, &c, 1);
}

static void put16b(struct answer *a, unsigned v)
{
    put8(a, v >> 8);
    put8(a, v & 0xff);
}

/* The header and the record up to RDLENGTH, as Samba answers. */
static void head(struct answer *a, unsigned id, unsigned flags,
                 unsigned ancount, unsigned type, unsigned rdlength)
{
    unsigned char req[NBSTAT_REQ_LEN];

    a->len = 0;
    nbstat_request(req, sizeof(req), ID);
    put16b(a, id);
    put16b(a, flags);
    put16b(a, 0);
    put16b(a, ancount);
    put16b(a, 0);
    put16b(a, 0);
    put(a, req + 12, 34); /* the encoded name "*" */
    put16b(a, type);
    put16b(a, 1);
    put16b(a, 0);
    put16b(a, 0); /* TTL */
    put16b(a, rdlength);
}

static void entry(struct answer *a, const char *name, unsigned suffix,
                  unsigned flags)
{
    unsigned char e[15];

    memset(e, ' ', sizeof(e));
    memcpy(e, name, strlen(name) < 15 ? strlen(name) : 15);
    put(a, e, 15);
    put8(a, suffix);
    put16b(a, flags);
}

static const unsigned char mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0xaa};

/* A good table of n names: host, workgroup, server, then fillers. */
static void good(struct answer *a, size_t n, size_t stats)
{
    unsigned char zeros[64] = {0};

    head(a, ID, 0x8400, 1, 0x21, (unsigned)(1 + 18 * n + stats));
    put8(a, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            entry(a, "MAILHOST", 0x00, 0x0400);
        else if (i == 1)
            entry(a, "WORKGROUP", 0x00, 0x8400);
        else
            entry(a, "MAILHOST", 0x20, 0x0400);
    }
    if (stats >= 6) {
        put(a, mac, 6);
        put(a, zeros, stats - 6);
    } else {
        put(a, zeros, stats);
    }
}

/* ---- the request -------------------------------------------------------- */

static void test_request(void **state)
{
    unsigned char r[NBSTAT_REQ_LEN + 4];
    static const char name[] = "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    (void)state;
    assert_int_equal(nbstat_request(r, 10, ID), 0);
    assert_int_equal(nbstat_request(r, sizeof(r), ID), NBSTAT_REQ_LEN);
    assert_int_equal(r[0], 0x12);
    assert_int_equal(r[1], 0x34);
    assert_int_equal(r[2] | r[3], 0);        /* a plain query */
    assert_int_equal((r[4] << 8) | r[5], 1); /* QDCOUNT */
    assert_int_equal(r[12], 32);
    assert_memory_equal(r + 13, name, 32);
    assert_int_equal(r[45], 0);
    assert_int_equal((r[46] << 8) | r[47], 0x21); /* NBSTAT */
    assert_int_equal((r[48] << 8) | r[49], 1);    /* IN */
}

/* ---- the parser as a table ---------------------------------------------- */

enum shape {
    GOOD3,         /* 3 names, 46 bytes of statistics */
    GOOD_NO_STATS, /* 2 names, no statistics: no MAC */
    GOOD_MANY,     /* 200 names: kept to NBSTAT_MAX_NAMES */
    GOOD_ZERO,     /* no names at all */
    TRUNC_HEADER,  /* 7 bytes */
    TRUNC_RECORD,  /* cut inside the record's fixed part */
    TRUNC_ENTRY,   /* cut inside the second entry */
    LIE_NUM_NAMES, /* NUM_NAMES 200, 3 entries there */
    LIE_RDLENGTH,  /* RDLENGTH over the datagram */
    LIE_QDCOUNT,   /* 65535 questions, none there */
    WRONG_ID,      /* another transaction's answer */
    NOT_RESPONSE,  /* a query, not an answer */
    RCODE_ERR,     /* an error answer */
    WRONG_TYPE,    /* an NB record, not NBSTAT */
    NO_ANSWER,     /* ANCOUNT 0 */
    BAD_LABEL,     /* a label length with the 01 high bits */
};

static void make(struct answer *a, enum shape s)
{
    unsigned char zeros[46] = {0};

    a->len = 0;
    switch (s) {
    case GOOD3:
        good(a, 3, 46);
        break;
    case GOOD_NO_STATS:
        good(a, 2, 0);
        break;
    case GOOD_MANY:
        good(a, 100, 6);
        break;
    case GOOD_ZERO:
        good(a, 0, 46);
        break;
    case TRUNC_HEADER:
        good(a, 3, 46);
        a->len = 7;
        break;
    case TRUNC_RECORD:
        good(a, 3, 46);
        a->len = 12 + 34 + 5;
        break;
    case TRUNC_ENTRY:
        head(a, ID, 0x8400, 1, 0x21, 1 + 18 + 10);
        put8(a, 2);
        entry(a, "MAILHOST", 0x00, 0x0400);
        put(a, "WORKGROUP\0", 10);
        break;
    case LIE_NUM_NAMES:
        good(a, 3, 46);
        a->b[12 + 34 + 10] = 200;
        break;
    case LIE_RDLENGTH:
        good(a, 3, 46);
        a->b[12 + 34 + 8] = 0x7f;
        break;
    case LIE_QDCOUNT:
        good(a, 3, 46);
        a->b[4] = 0xff;
        a->b[5] = 0xff;
        break;
    case WRONG_ID:
        good(a, 3, 46);
        a->b[1] ^= 1;
        break;
    case NOT_RESPONSE:
        good(a, 3, 46);
        a->b[2] = 0x00;
        break;
    case RCODE_ERR:
        good(a, 3, 46);
        a->b[3] |= 0x03;
        break;
    case WRONG_TYPE:
        head(a, ID, 0x8400, 1, 0x20, 6);
        put(a, zeros, 6);
        break;
    case NO_ANSWER:
        good(a, 3, 46);
        a->b[7] = 0;
        break;
    case BAD_LABEL:
        good(a, 3, 46);
        a->b[12] = 0x60;
        break;
    }
}

static const struct {
    enum shape shape;
    enum nbstat_verdict verdict;
    size_t n_names;
    const char *host, *workgroup; /* NULL: none */
    int have_mac;
    const char *why; /* substring of the reason, or NULL */
} parse_table[] = {
    {GOOD3, NBSTAT_TABLE, 3, "MAILHOST", "WORKGROUP", 1, NULL},
    {GOOD_NO_STATS, NBSTAT_TABLE, 2, "MAILHOST", "WORKGROUP", 0, NULL},
    {GOOD_MANY, NBSTAT_TABLE, NBSTAT_MAX_NAMES, "MAILHOST", "WORKGROUP", 1,
     NULL},
    {GOOD_ZERO, NBSTAT_TABLE, 0, NULL, NULL, 1, NULL},
    {TRUNC_HEADER, NBSTAT_NOT_NBNS, 0, NULL, NULL, 0, "shorter than a header"},
    {TRUNC_RECORD, NBSTAT_BROKEN, 0, NULL, NULL, 0, "runs past the end"},
    {TRUNC_ENTRY, NBSTAT_BROKEN, 0, NULL, NULL, 0,
     "NUM_NAMES says 2 names, the record holds bytes for 1"},
    {LIE_NUM_NAMES, NBSTAT_BROKEN, 0, NULL, NULL, 0,
     "NUM_NAMES says 200 names"},
    {LIE_RDLENGTH, NBSTAT_BROKEN, 0, NULL, NULL, 0, "RDLENGTH says"},
    {LIE_QDCOUNT, NBSTAT_BROKEN, 0, NULL, NULL, 0, "question"},
    {WRONG_ID, NBSTAT_NOT_NBNS, 0, NULL, NULL, 0, "not a name service"},
    {NOT_RESPONSE, NBSTAT_NOT_NBNS, 0, NULL, NULL, 0, "not a name service"},
    {RCODE_ERR, NBSTAT_BROKEN, 0, NULL, NULL, 0, "RCODE 3"},
    {WRONG_TYPE, NBSTAT_BROKEN, 0, NULL, NULL, 0, "not NBSTAT"},
    {NO_ANSWER, NBSTAT_BROKEN, 0, NULL, NULL, 0, "ANCOUNT 0"},
    {BAD_LABEL, NBSTAT_BROKEN, 0, NULL, NULL, 0, "runs past the end"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_table) / sizeof(parse_table[0]); i++) {
        struct answer a;
        struct nbstat_table t;
        char why[160];
        enum nbstat_verdict v;
        const char *h, *w;

        make(&a, parse_table[i].shape);
        v = nbstat_parse(a.b, a.len, ID, &t, why, sizeof(why));
        if (v != parse_table[i].verdict)
            fail_msg("case %zu: verdict %d, want %d (%s)", i, v,
                     parse_table[i].verdict, why);
        if (parse_table[i].why != NULL &&
            strstr(why, parse_table[i].why) == NULL)
            fail_msg("case %zu: why '%s', want '%s'", i, why,
                     parse_table[i].why);
        if (v != NBSTAT_TABLE)
            continue;
        assert_int_equal(t.n_names, parse_table[i].n_names);
        h = nbstat_host(&t);
        w = nbstat_workgroup(&t);
        if (parse_table[i].host == NULL)
            assert_null(h);
        else
            assert_string_equal(h, parse_table[i].host);
        if (parse_table[i].workgroup == NULL)
            assert_null(w);
        else
            assert_string_equal(w, parse_table[i].workgroup);
        assert_int_equal(t.have_mac, parse_table[i].have_mac);
        if (t.have_mac)
            assert_memory_equal(t.mac, mac, 6);
    }
}

/* Every prefix of a good answer parses or is refused, never read past. */
static void test_parse_every_prefix(void **state)
{
    struct answer a;
    struct nbstat_table t;
    char why[160];

    (void)state;
    good(&a, 3, 46);
    for (size_t n = 0; n < a.len; n++) {
        unsigned char *copy = malloc(n ? n : 1);

        memcpy(copy, a.b, n);
        assert_int_not_equal(nbstat_parse(copy, n, ID, &t, why, sizeof(why)),
                             NBSTAT_TABLE);
        free(copy);
    }
    assert_int_equal(nbstat_parse(a.b, a.len, ID, &t, why, sizeof(why)),
                     NBSTAT_TABLE);
}

static void test_parse_control_bytes(void **state)
{
    struct answer a;
    struct nbstat_table t;
    char why[160];

    (void)state;
    head(&a, ID, 0x8400, 1, 0x21, 1 + 2 * 18 + 6);
    put8(&a, 2);
    entry(&a, "EVIL\033[31mX\x01\x7f\xff", 0x00, 0x0400);
    entry(&a, "WG\nFAKE", 0x00, 0x8400);
    put(&a, mac, 6);
    assert_int_equal(nbstat_parse(a.b, a.len, ID, &t, why, sizeof(why)),
                     NBSTAT_TABLE);
    assert_string_equal(nbstat_host(&t), "EVIL?[31mX???");
    assert_string_equal(nbstat_workgroup(&t), "WG?FAKE");
    assert_int_equal(nbstat_parse(NULL, 0, ID, &t, why, sizeof(why)),
                     NBSTAT_NOT_NBNS);
}

/* ---- run() -----------------------------------------------------------------
 */

static void *plugin_state;

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("netbios");
    fake_set_target("192.0.2.25", 25);
    plugin_state = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    netbios_free(plugin_state);
    plugin_state = NULL;
    fake_reset();
    return 0;
}

static int init_with(const char *yaml)
{
    if (yaml != NULL)
        assert_int_equal(fake_config_set(yaml), 0);
    return netbios_init(fake_init_ctx(), &plugin_state);
}

static void run_netbios(void)
{
    assert_int_equal(netbios_run(fake_ctx(), plugin_state), MXP_OK);
}

static void assert_detail(const char *substr, enum mxp_state want)
{
    enum mxp_state st;

    if (fake_detail_find(substr, &st) < 0) {
        for (size_t i = 0; i < fake_n_details(); i++)
            print_message("  detail: %s\n", fake_detail(i, NULL));
        fail_msg("no detail with '%s'", substr);
    }
    assert_int_equal(st, want);
}

/* The answer a, its id echoing the plugin's request as a server's does. */
static void answer_with(const struct answer *a)
{
    fake_udp_answer(MXP_OK, a->b, a->len, "");
    fake_udp_echo_id(1);
}

static void test_run_all_closed(void **state)
{
    size_t len;
    unsigned port;
    const unsigned char *req;

    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_non_null(strstr(fake_summary(), "no NetBIOS or SMB exposed"));
    assert_int_equal(fake_tcp_probes(), 1);
    assert_int_equal(fake_tcp_probed(), 3);
    assert_detail("port 135/tcp (MS RPC) closed (connection refused)",
                  MXP_STATE_OK);
    assert_detail("port 445/tcp (SMB) closed", MXP_STATE_OK);
    assert_detail("port 137/udp (NetBIOS name service) filtered or silent",
                  MXP_STATE_OK);
    req = fake_udp_request(&len, &port);
    assert_int_equal(len, NBSTAT_REQ_LEN);
    assert_int_equal(port, 137);
    assert_int_equal((req[46] << 8) | req[47], 0x21);
    assert_non_null(fake_perf_find("open_ports"));
    assert_true(fake_perf_find("open_ports")->value == 0);
}

static void test_run_open_and_filtered(void **state)
{
    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    fake_port_set(139, MXP_PORT_OPEN, "connected");
    fake_port_set(445, MXP_PORT_OPEN, "connected");
    fake_port_set(135, MXP_PORT_FILTERED, "no answer within 5.0 s");
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_non_null(strstr(fake_summary(), "port 139/tcp"));
    assert_non_null(strstr(fake_summary(), "open"));
    assert_detail("port 139/tcp (NetBIOS session, SMB) open",
                  MXP_STATE_CRITICAL);
    assert_detail("port 445/tcp (SMB) open", MXP_STATE_CRITICAL);
    assert_detail("port 135/tcp (MS RPC) filtered (no answer", MXP_STATE_OK);
    assert_true(fake_perf_find("open_ports")->value == 2);
}

static void test_run_port_error_unknown(void **state)
{
    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    fake_port_set(445, MXP_PORT_ERROR, "no route to host");
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_detail("port 445/tcp (SMB): cannot tell: no route to host",
                  MXP_STATE_UNKNOWN);
}

/* The right bytes under another transaction id are not our answer. */
static void test_run_node_status_wrong_id(void **state)
{
    struct answer a;

    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    good(&a, 3, 46);
    a.b[0] = 0xde;
    a.b[1] = 0xad;
    fake_udp_answer(MXP_OK, a.b, a.len, "");
    fake_set_now(1000.0); /* the id comes from now(): not 0xdead */
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_detail("not a NetBIOS answer", MXP_STATE_WARNING);
}

static void test_run_node_status_shown(void **state)
{
    struct answer a;

    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    good(&a, 3, 46);
    answer_with(&a);
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_detail("port 137/udp (NetBIOS name service) answers a node status: "
                  "host MAILHOST, workgroup WORKGROUP, MAC 00:11:22:33:44:aa",
                  MXP_STATE_CRITICAL);
    assert_detail("name MAILHOST<20> unique", MXP_STATE_OK);
    assert_detail("name WORKGROUP<00> group", MXP_STATE_OK);
}

static void test_run_counts_lie(void **state)
{
    struct answer a;

    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    make(&a, LIE_NUM_NAMES);
    answer_with(&a);
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_detail("answered, unparsable: NUM_NAMES says 200 names",
                  MXP_STATE_CRITICAL);
}

static void test_run_garbage(void **state)
{
    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    fake_udp_answer(MXP_OK, "garbage\n", 8, "");
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_detail("port 137/udp answered 8 bytes that are not a NetBIOS "
                  "answer",
                  MXP_STATE_WARNING);
}

static void test_run_udp_closed_and_off(void **state)
{
    (void)state;
    assert_int_equal(init_with(NULL), MXP_OK);
    fake_udp_answer(MXP_ERR_CONNECT, NULL, 0,
                    "port unreachable (ICMP): nothing listens");
    run_netbios();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_detail("port 137/udp (NetBIOS name service) closed (port "
                  "unreachable",
                  MXP_STATE_OK);
    netbios_free(plugin_state);
    plugin_state = NULL;
    fake_reset();
    fake_set_target("192.0.2.25", 25);
    assert_int_equal(init_with("udp_137: false\n"
                               "ports: [445]\n"),
                     MXP_OK);
    run_netbios();
    assert_int_equal(fake_udp_exchanges(), 0);
    assert_int_equal(fake_tcp_probed(), 1);
    assert_int_equal(fake_state(), MXP_STATE_OK);
}

static void test_config_errors(void **state)
{
    static const char *const bad[] = {
        "ports: 445\n",        "ports: [0]\n", "ports: [65536]\n",
        "ports: [445, 445]\n", "ports: [x]\n", "ports: []\n",
        "udp_137: maybe\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_reset();
        fake_set_plugin_name("netbios");
        plugin_state = NULL;
        if (init_with(bad[i]) != MXP_ERR_CONFIG)
            fail_msg("accepted: %s", bad[i]);
        assert_null(plugin_state);
        assert_true(fake_n_config_errors() >= 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_every_prefix),
        cmocka_unit_test(test_parse_control_bytes),
        cmocka_unit_test_setup_teardown(test_run_all_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_open_and_filtered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_port_error_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_node_status_wrong_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_node_status_shown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_counts_lie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_udp_closed_and_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
