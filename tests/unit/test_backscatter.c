/*
 * test_backscatter.c - the backscatter plugin against the fake core and a
 * scripted SMTP server (fake_smtp_set_responder): the RCPT verdicts as a
 * table, with and without PIPELINING; where the domains come from; lost
 * connections; PIPELINING given up after a timeout; delivery only with
 * deliver and my_email, a final dot left unanswered; config; perfdata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/backscatter/backscatter.c"
#include "../../plugins/backscatter/deliver.c"
#include "../../plugins/backscatter/probe.c"
#include "../../plugins/backscatter/session.c"
#include "../../plugins/backscatter/verdict.c"
#include "fake_core.h"

#define ADDR "127.0.0.28"
#define REV "28.0.0.127.in-addr.arpa"
#define ME "operator@mxprobe.test"

/* ---- the scripted server --------------------------------------------- */

#define SRV_MAX_DOMAINS 4
#define SRV_MAX_RCPT 16

struct srv_answer {
    /* 0: the connection drops (MXP_ERR_CLOSED); -1: timeout; -2: the
     * core finds the replies out of step (MXP_ERR_PROTOCOL, text); -3: a
     * write fails (MXP_ERR_IO).  For those, text (if any) is the error. */
    int code;
    const char *text;
};

struct srv {
    const char *greeting; /* text after "220 " */
    const char *ehlo;     /* the EHLO reply's first line ("250 " after) */
    int greeting_code;
    int pipelining;
    /* Answers only when the RSET of a MAIL/RCPT/RSET group came: a client
     * waiting for each reply would time out. */
    int strict_pipelining;
    struct srv_answer mail;
    struct srv_answer rcpt; /* for domains not in the table */
    struct {
        const char *domain;
        struct srv_answer a;
    } by_domain[SRV_MAX_DOMAINS];
    /* RCPT on connection drop_conn (1-based) gets drop_answer instead. */
    size_t drop_conn;
    struct srv_answer drop_answer;
    int data_code;
    int refuse_later;   /* connections after the drop are refused */
    int greeting2_code; /* greeting of connections after the first */
    const char *greeting2;
    /* The first fail_conns connections fail: 1 closed after the greeting,
     * 2 greeting 421, 3 closed before the greeting. */
    size_t fail_conns;
    int fail_how;
    /* On connection quirk_conn (0: every one): MAIL answered twice, or
     * odd_mail (when its code is set); RSET answered rset (when
     * odd_rset, else 250). */
    size_t quirk_conn;
    int mail_twice;
    struct srv_answer odd_mail;
    int odd_rset;
    struct srv_answer rset;

    /* A "fixup" firewall in front: of commands sent together (smtp_send
     * with no read in between) only the first reaches the server. */
    int fixup_firewall;
    /* The reply to the final dot of a message, when dot_set. */
    int dot_set;
    struct srv_answer dot;

    size_t conn;
    size_t piped[8];   /* commands sent by smtp_send, per connection */
    size_t lost_lines; /* commands the firewall dropped */
    int in_packet;     /* a command was sent since the last read */
    size_t n_to;
    char to[SRV_MAX_RCPT][256]; /* the addresses of RCPT TO */
    size_t owed;                /* strict: replies held back */
    int closed;                 /* a 421 was given on this connection */
    struct srv_answer held[4];
};

static struct srv S;

static void srv_answer(const struct srv_answer *a)
{
    if (a->code == 421)
        S.closed = 1; /* like Postfix: 421, then the connection closes */
    if (a->code == 0)
        fake_smtp_fail(MXP_ERR_CLOSED,
                       a->text ? a->text : "connection closed by server");
    else if (a->code == -2)
        fake_smtp_fail(MXP_ERR_PROTOCOL, a->text);
    else if (a->code == -3)
        fake_smtp_fail(MXP_ERR_IO, a->text);
    else if (a->code < 0)
        fake_smtp_fail(MXP_ERR_TIMEOUT,
                       a->text ? a->text : "no reply within 20.0 s");
    else
        fake_smtp_reply(a->code, 0.001, a->text);
}

static void srv_give(const struct srv_answer *a)
{
    if (!S.strict_pipelining) {
        srv_answer(a);
        return;
    }
    if (S.owed < 4)
        S.held[S.owed++] = *a;
}

static const struct srv_answer *rcpt_answer(const char *addr)
{
    const char *at = strrchr(addr, '@');

    if (S.drop_conn != 0 && S.conn == S.drop_conn) {
        if (S.refuse_later)
            fake_smtp_fail_open(MXP_ERR_CONNECT,
                                "cannot connect to " ADDR ":25: connection "
                                "refused");
        return &S.drop_answer;
    }
    for (size_t i = 0; i < SRV_MAX_DOMAINS && at != NULL; i++) {
        const char *d = S.by_domain[i].domain;

        if (d != NULL && strncmp(d, at + 1, strlen(d)) == 0 &&
            strcmp(at + 1 + strlen(d), ">") == 0)
            return &S.by_domain[i].a;
    }
    return &S.rcpt;
}

static int quirk_now(void)
{
    return S.quirk_conn == 0 || S.conn == S.quirk_conn;
}

static void responder(void *user, const char *line)
{
    static const struct srv_answer ok = {250, "2.0.0 Ok"};
    int failing = S.conn <= S.fail_conns;

    (void)user;
    if (line == NULL) {
        S.conn++;
        S.owed = 0;
        S.closed = 0;
        failing = S.conn <= S.fail_conns;
        if (failing && S.fail_how == 2)
            fake_smtp_reply(421, 0.001, "4.3.2 Service not available");
        else if (failing && S.fail_how == 3)
            fake_smtp_fail(MXP_ERR_CLOSED, "connection closed by server "
                                           "(waiting for the greeting)");
        else if (S.conn > 1 && S.greeting2_code != 0)
            fake_smtp_reply(S.greeting2_code, 0.001, S.greeting2);
        else
            fake_smtp_reply(S.greeting_code, 0.001, S.greeting);
        return;
    }
    if (S.closed || (failing && S.fail_how == 1)) {
        fake_smtp_fail(MXP_ERR_CLOSED, "connection closed by server");
    } else if (strncmp(line, "EHLO ", 5) == 0) {
        char ehlo[300];

        snprintf(ehlo, sizeof ehlo, "%s%s\nSIZE 10240000", S.ehlo,
                 S.pipelining ? "\nPIPELINING" : "");
        fake_smtp_reply(250, 0.001, ehlo);
    } else if (strncmp(line, "MAIL FROM:", 10) == 0) {
        srv_give(S.odd_mail.code != 0 && quirk_now() ? &S.odd_mail : &S.mail);
        if (S.mail_twice && quirk_now())
            srv_give(&S.mail);
    } else if (strncmp(line, "RCPT TO:<", 9) == 0) {
        size_t len = strlen(line + 9);

        if (S.n_to < SRV_MAX_RCPT && len > 0 && len < 256) {
            memcpy(S.to[S.n_to], line + 9, len - 1); /* no '>' */
            S.to[S.n_to][len - 1] = '\0';
            S.n_to++;
        }
        srv_give(rcpt_answer(line + 9));
    } else if (strcmp(line, "RSET") == 0) {
        srv_give(S.odd_rset && quirk_now() ? &S.rset : &ok);
        for (size_t i = 0; i < S.owed; i++)
            srv_answer(&S.held[i]);
        S.owed = 0;
    } else if (strcmp(line, "DATA") == 0 && S.data_code == 0) {
        fake_smtp_fail(MXP_ERR_CLOSED, "connection closed by server");
    } else if (strcmp(line, "DATA") == 0) {
        fake_smtp_reply(S.data_code, 0.001,
                        S.data_code == 354   ? "End data with <CR><LF>.<CR><LF>"
                        : S.data_code == 250 ? "2.0.0 Ok"
                                             : "5.7.1 no");
    } else if (strcmp(line, ".") == 0 && S.dot_set) {
        srv_answer(&S.dot);
    } else if (strcmp(line, ".") == 0) {
        fake_smtp_reply(250, 0.001, "2.0.0 Ok: queued as 4XyZ");
    } else {
        fake_smtp_reply(502, 0.001, "5.5.2 Error: command not recognized");
    }
}

/* A Postfix that accepts every user of every domain. */
static void srv_default(void)
{
    memset(&S, 0, sizeof S);
    S.greeting = "mail.mxprobe.test ESMTP Postfix";
    S.ehlo = "mail.mxprobe.test";
    S.greeting_code = 220;
    S.pipelining = 1;
    S.mail = (struct srv_answer){250, "2.1.0 Ok"};
    S.rcpt = (struct srv_answer){250, "2.1.5 Ok"};
    S.data_code = 354;
    fake_smtp_set_responder(responder, NULL);
}

/* ---- the path to the server ------------------------------------------ */

/* The fake core's services, with what goes through smtp_send counted
 * (and, behind S.fixup_firewall, lost). */
static struct mxp_services wire;

static int wire_send(struct mxp_smtp *s, const char *line)
{
    if (S.conn < sizeof S.piped / sizeof *S.piped)
        S.piped[S.conn]++;
    if (S.fixup_firewall && S.in_packet) {
        S.lost_lines++;
        return MXP_OK;
    }
    S.in_packet = 1;
    return fake_services.smtp_send(s, line);
}

static int wire_read(struct mxp_smtp *s, struct mxp_smtp_reply *r)
{
    S.in_packet = 0;
    return fake_services.smtp_read_reply(s, r);
}

static int wire_command(struct mxp_smtp *s, const char *line,
                        struct mxp_smtp_reply *r)
{
    S.in_packet = 0;
    return fake_services.smtp_command(s, line, r);
}

static struct mxp_ctx *wired_ctx(void)
{
    struct mxp_ctx *ctx = fake_ctx();

    wire = fake_services;
    wire.smtp_send = wire_send;
    wire.smtp_read_reply = wire_read;
    wire.smtp_command = wire_command;
    ctx->svc = &wire;
    return ctx;
}

/* ---- helpers ---------------------------------------------------------- */

static const char *const confirmed[] = {
    "mx1.mxprobe.test", "mail.mxprobe.test", "smtp.other.example.co.uk",
    "mail.ptr.test",    "a.ptr.test",        "b.two.test",
    "mx.other.test"};

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("backscatter");
    fake_set_target(ADDR, 25);
    /* The core's default for this plugin (descriptor default_warning). */
    fake_set_thresholds("0", NULL);
    srv_default();
    /* The PTR names of these tests are forward-confirmed: each domain
     * they name is tested (test_domains_generic_ptr is about the rest). */
    for (size_t i = 0; i < sizeof confirmed / sizeof *confirmed; i++)
        fake_dns_add(confirmed[i], MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* run() with config yaml (NULL: none) through init, as the core does. */
static void run_with(const char *yaml)
{
    void *st = NULL;

    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(bs_init(fake_init_ctx(), &st), MXP_OK);
    assert_int_equal(bs_run(wired_ctx(), st), MXP_OK);
    assert_int_equal(fake_result_calls(), 1);
    bs_free(st);
}

static void run_plain(void)
{
    run_with(NULL);
}

static void dump(void)
{
    print_message("summary: [%d] %s\n", fake_state(), fake_summary());
    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *d = fake_detail(i, &st);

        print_message("detail: [%d] %s\n", st, d);
    }
    for (size_t i = 0; i < fake_smtp_n_sent(); i++)
        print_message("sent: %s\n", fake_smtp_sent(i));
}

static void assert_summary_has(const char *s)
{
    if (strstr(fake_summary(), s) == NULL) {
        dump();
        fail_msg("summary '%s' lacks '%s'", fake_summary(), s);
    }
}

static void assert_detail(const char *s, enum mxp_state want)
{
    enum mxp_state st;

    if (fake_detail_find(s, &st) < 0) {
        dump();
        fail_msg("no detail containing '%s'", s);
    }
    assert_int_equal(st, want);
}

static size_t sent_count(const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < fake_smtp_n_sent(); i++)
        n += strncmp(fake_smtp_sent(i), prefix, strlen(prefix)) == 0;
    return n;
}

/* "mxprobe-nonexistent-" and 16 lowercase hex digits, at domain. */
static void assert_random_user(const char *addr, const char *prefix,
                               const char *domain)
{
    size_t pl = strlen(prefix);
    const char *at = strrchr(addr, '@');

    assert_non_null(at);
    assert_int_equal(strncmp(addr, prefix, pl), 0);
    assert_int_equal((size_t)(at - addr), pl + 16);
    for (size_t i = pl; i < pl + 16; i++)
        assert_non_null(strchr("0123456789abcdef", addr[i]));
    assert_string_equal(at + 1, domain);
}

/* ---- unit pieces ------------------------------------------------------ */

static void test_token(void **state)
{
    char a[BS_TOKEN_DIGITS + 1], b[BS_TOKEN_DIGITS + 1];

    (void)state;
    make_token(a);
    make_token(b);
    assert_int_equal(strlen(a), 16);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
    assert_string_not_equal(a, b);
}

/* Postfix answers sender restrictions at RCPT (smtpd_delay_reject): a
 * refusal of our sender says nothing of the unknown user. */
static void test_sender_refused_at_rcpt(void **state)
{
    static const struct {
        int code;
        const char *enhanced, *text;
    } t[] = {
        {550, "5.1.8",
         "<postmaster@nagios01>: Sender address rejected: "
         "Domain not found"},
        {450, "4.1.8",
         "<postmaster@x.internal>: Sender address rejected: "
         "Domain not found"},
        {553, "5.1.7", "<postmaster@x>: Sender address rejected"},
        {504, "5.5.2",
         "<postmaster@nagios01>: Sender address rejected: "
         "need fully-qualified address"},
        {554, "5.7.1",
         "<postmaster@example.org>: Sender address rejected: "
         "Access denied"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct bs_reply r;

        memset(&r, 0, sizeof r);
        r.code = t[i].code;
        snprintf(r.enhanced, sizeof r.enhanced, "%s", t[i].enhanced);
        snprintf(r.text, sizeof r.text, "%d %s %s", t[i].code, t[i].enhanced,
                 t[i].text);
        if (!refuses_sender(&fake_services, &r))
            fail_msg("case %zu: not taken as a sender refusal", i);
    }
}

static void test_user_unknown(void **state)
{
    static const struct {
        int code;
        const char *enhanced;
        int unknown;
    } t[] = {
        {550, "5.1.1", 1},
        {554, "5.1.1", 1},
        {550, "", 1},
        {551, "", 1},
        {553, "", 1},
        {550, "5.7.1", 0},
        {554, "", 0},
        {552, "", 0},
        {553, "5.7.1", 0},
        {554, "5.7.1", 0},
        {550, "5.1.0", 1},
        {553, "5.1.3", 1},
        /* about the sender, or the domain's Null MX: not the user */
        {550, "5.1.8", 0},
        {553, "5.1.7", 0},
        {550, "5.1.10", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct bs_reply r;

        memset(&r, 0, sizeof r);
        r.code = t[i].code;
        snprintf(r.enhanced, sizeof r.enhanced, "%s", t[i].enhanced);
        if (user_unknown(&r) != t[i].unknown)
            fail_msg("%d %s: expected %d", t[i].code, t[i].enhanced,
                     t[i].unknown);
    }
}

static void test_enhanced_of(void **state)
{
    static const struct {
        int code;
        const char *line;
        const char *enhanced;
    } t[] = {
        {550, "5.1.1 <x@y>: Recipient address rejected", "5.1.1"},
        {554, "5.7.1 Relay access denied", "5.7.1"},
        {250, "2.1.5 Ok", "2.1.5"},
        {550, "5.1.10", "5.1.10"},
        {450, "4.7.1 greylisted", "4.7.1"},
        {550, "4.7.1 class differs", ""},
        {550, "User unknown", ""},
        {550, "5.1 too short", ""},
        {550, "5.1.1x glued", ""},
        {550, "5.1234.1 subject too long", ""},
        {550, "5..1 empty", ""},
        {550, "55.1.1 two-digit class", ""},
        {550, "", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char out[16];

        enhanced_of(t[i].code, t[i].line, out, sizeof out);
        if (strcmp(out, t[i].enhanced) != 0)
            fail_msg("%d '%s': got '%s', expected '%s'", t[i].code, t[i].line,
                     out, t[i].enhanced);
    }
}

static void test_denies_relaying(void **state)
{
    static const struct {
        const char *text;
        int denies;
    } t[] = {
        {"4.7.1 <x@example.org>: Relay access denied", 1},
        {"5.7.1 RELAYING DENIED", 1},
        {"Unable to relay for x@example.org", 1},
        {"5.7.1 relay not permitted", 1},
        {"you are not permitted to relay", 1},
        {"4.1.1 <x>: Recipient address rejected: unverified address", 0},
        {"4.7.1 greylisted, try again later", 0},
        {"5.1.1 User unknown", 0},
        {"", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct bs_reply r;

        memset(&r, 0, sizeof r);
        r.code = 454;
        snprintf(r.text, sizeof r.text, "%s", t[i].text);
        if (denies_relaying(&fake_services, &r) != t[i].denies)
            fail_msg("'%s': expected %d", t[i].text, t[i].denies);
    }
}

/* ---- config ----------------------------------------------------------- */

static void test_config(void **state)
{
    static const struct {
        const char *yaml;
        int ok;
        int deliver;
        const char *prefix; /* or the error's substring */
    } t[] = {
        {NULL, 1, 0, BS_DEFAULT_PREFIX},
        {"{}", 1, 0, BS_DEFAULT_PREFIX},
        {"deliver: true", 1, 1, BS_DEFAULT_PREFIX},
        {"deliver: yes", 1, 1, BS_DEFAULT_PREFIX},
        {"deliver: On", 1, 1, BS_DEFAULT_PREFIX},
        {"deliver: FALSE", 1, 0, BS_DEFAULT_PREFIX},
        {"deliver: no", 1, 0, BS_DEFAULT_PREFIX},
        {"deliver: off", 1, 0, BS_DEFAULT_PREFIX},
        {"deliver:", 1, 0, BS_DEFAULT_PREFIX},
        {"local_part_prefix: nobody-here.", 1, 0, "nobody-here."},
        {"local_part_prefix: a+b=c_d", 1, 0, "a+b=c_d"},
        {"local_part_prefix: ''", 1, 0, BS_DEFAULT_PREFIX},
        {"deliver: maybe", 0, 0,
         "deliver: expected true or false, got 'maybe'"},
        {"deliver: 1", 0, 0, "deliver: expected true or false, got '1'"},
        {"deliver: [true]", 0, 0, "deliver: expected true or false"},
        {"local_part_prefix: has space", 0, 0,
         "local_part_prefix: may hold only"},
        {"local_part_prefix: a<b>", 0, 0, "local_part_prefix: may hold only"},
        {"local_part_prefix: .x", 0, 0, "local_part_prefix: may not start"},
        {"local_part_prefix: a..b", 0, 0, "local_part_prefix: may not start"},
        {"local_part_prefix: "
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         0, 0, "longer than 48"},
        {"local_part_prefix: {a: b}", 0, 0, "local_part_prefix: expected"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        void *st = NULL;
        int rc;

        fake_reset();
        assert_int_equal(fake_config_set(t[i].yaml), MXP_OK);
        rc = bs_init(fake_init_ctx(), &st);
        if (t[i].ok) {
            const struct bs_config *c = st;

            if (rc != MXP_OK)
                fail_msg("'%s': %s", t[i].yaml, fake_config_error(0));
            assert_non_null(c);
            assert_int_equal(c->deliver, t[i].deliver);
            assert_string_equal(c->prefix, t[i].prefix);
            bs_free(st);
            continue;
        }
        assert_int_equal(rc, MXP_ERR_CONFIG);
        assert_null(st);
        assert_int_equal(fake_n_config_errors(), 1);
        if (strstr(fake_config_error(0), t[i].prefix) == NULL)
            fail_msg("'%s': error '%s' lacks '%s'", t[i].yaml,
                     fake_config_error(0), t[i].prefix);
        /* at the node: "test.yaml:1:..." */
        assert_int_equal(strncmp(fake_config_error(0), "test.yaml:1:", 12), 0);
    }
}

/* ---- verdicts --------------------------------------------------------- */

static void test_accepts_unknown_user(void **state)
{
    const struct mxp_perf *p;

    (void)state;
    fake_set_domain("mxprobe.test");
    run_plain();
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "accepts mail for unknown users (mxprobe.test)");
    assert_int_equal(S.n_to, 1);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "mxprobe.test");
    {
        char want[512];

        snprintf(want, sizeof want,
                 "accepts RCPT for unknown user <%s> (250 2.1.5 Ok): it will "
                 "bounce later (backscatter)",
                 S.to[0]);
        assert_detail(want, MXP_STATE_WARNING);
    }
    /* MAIL, RCPT, RSET; from probe.mail_from; one connection, QUIT. */
    assert_int_equal(sent_count("MAIL FROM:<postmaster@mxprobe.test>"), 1);
    assert_int_equal(sent_count("RSET"), 1);
    assert_int_equal(sent_count("DATA"), 0);
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(fake_smtp_opens(), 1);
    assert_int_equal(fake_smtp_closes(), 1);
    assert_true(fake_smtp_quit_sent());
    assert_int_equal(fake_dns_batches(), 0);

    assert_int_equal(fake_n_perf(), 3);
    p = fake_perf(0);
    assert_string_equal(p->metric, "accepted");
    assert_true(p->value == 1);
    assert_string_equal(p->warn, "0");
    assert_null(p->crit);
    assert_true(p->min == 0 && p->max == 1);
    assert_string_equal(fake_perf(1)->metric, "domains");
    assert_true(fake_perf(1)->value == 1);
    assert_string_equal(fake_perf(2)->metric, "time");
    assert_string_equal(fake_perf(2)->uom, "s");
    assert_true(fake_perf(2)->value >= 0);
}

static const struct {
    int code;
    const char *text;
    enum mxp_state state;
    const char *summary;
    const char *detail; /* substring of the detail */
} verdict_table[] = {
    {550, "5.1.1 <x>: Recipient address rejected: User unknown in local",
     MXP_STATE_OK, "rejects unknown users (mxprobe.test)",
     "rejects unknown user <mxprobe-nonexistent-"},
    {550, "User unknown", MXP_STATE_OK, "rejects unknown users (mxprobe.test)",
     "(550 User unknown)"},
    {553, "sorry, no mailbox here by that name", MXP_STATE_OK,
     "rejects unknown users", "rejects unknown user"},
    {554, "5.7.1 <x@mxprobe.test>: Relay access denied", MXP_STATE_OK,
     "no domain of this server accepts mail (mxprobe.test)",
     "does not accept mail for mxprobe.test (554 5.7.1 <x@mxprobe.test>: "
     "Relay access denied)"},
    {550, "5.7.1 Client host rejected", MXP_STATE_OK,
     "no domain of this server accepts mail (mxprobe.test)",
     "does not accept mail for mxprobe.test (550 5.7.1"},
    {530, "5.7.0 Authentication required", MXP_STATE_OK,
     "no domain of this server accepts mail (mxprobe.test): authentication "
     "required (530 5.7.0 Authentication required)",
     "authentication required (530 5.7.0 Authentication required)"},
    {450, "4.1.1 <x>: Recipient address rejected: unverified address",
     MXP_STATE_UNKNOWN, "inconclusive: 1/1 domains (mxprobe.test: 450 4.1.1",
     "inconclusive for mxprobe.test: 450 4.1.1 <x>: Recipient"},
    {451, "4.3.0 Temporary lookup failure", MXP_STATE_UNKNOWN, "inconclusive",
     "inconclusive for mxprobe.test: 451 4.3.0"},
    {252, "2.1.5 Cannot verify, will attempt delivery", MXP_STATE_WARNING,
     "accepts mail for unknown users (mxprobe.test)", "(252 2.1.5 Cannot"},
    /* Postfix's default defer_unauth_destination: temporary in form
     * only, a refusal to relay like the 554 above. */
    {454, "4.7.1 <x@mxprobe.test>: Relay access denied", MXP_STATE_OK,
     "no domain of this server accepts mail (mxprobe.test)",
     "does not accept mail for mxprobe.test (454 4.7.1 <x@mxprobe.test>: "
     "Relay access denied)"},
    {451, "Unable to relay for x@mxprobe.test", MXP_STATE_OK,
     "no domain of this server accepts mail (mxprobe.test)",
     "does not accept mail for mxprobe.test (451 Unable to relay"},
    {450, "4.7.1 Client host rejected: try again later", MXP_STATE_UNKNOWN,
     "inconclusive: 1/1 domains (mxprobe.test: 450 4.7.1 Client",
     "inconclusive for mxprobe.test: 450 4.7.1 Client host rejected"},
};

static void test_verdicts(void **state)
{
    (void)state;
    for (int pipe = 0; pipe < 2; pipe++) {
        for (size_t i = 0; i < sizeof verdict_table / sizeof *verdict_table;
             i++) {
            setup(NULL);
            S.pipelining = pipe;
            S.strict_pipelining = pipe;
            S.rcpt.code = verdict_table[i].code;
            S.rcpt.text = verdict_table[i].text;
            fake_set_domain("mxprobe.test");
            run_plain();
            if (fake_state() != verdict_table[i].state) {
                dump();
                fail_msg("%d %s (pipelining %d): state %d", S.rcpt.code,
                         S.rcpt.text, pipe, fake_state());
            }
            assert_summary_has(verdict_table[i].summary);
            assert_detail(verdict_table[i].detail, verdict_table[i].state);
            assert_int_equal(sent_count("RCPT TO:"), 1);
            assert_int_equal(sent_count("RSET"), 1);
            assert_int_equal(fake_smtp_opens(), 1);
            teardown(NULL);
        }
    }
}

/* Without PIPELINING each command waits for its reply, and a refused
 * MAIL is not followed by RCPT. */
static void test_mail_refused(void **state)
{
    (void)state;
    for (int pipe = 0; pipe < 2; pipe++) {
        setup(NULL);
        S.pipelining = pipe;
        S.mail = (struct srv_answer){553, "5.1.8 <postmaster@mxprobe.test>: "
                                          "Sender address rejected"};
        S.rcpt = (struct srv_answer){503, "5.5.1 Error: need MAIL command"};
        fake_set_domain("mxprobe.test");
        run_plain();
        assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
        assert_detail("inconclusive for mxprobe.test: MAIL "
                      "FROM:<postmaster@mxprobe.test> refused: 553 5.1.8",
                      MXP_STATE_UNKNOWN);
        assert_int_equal(sent_count("RCPT TO:"), pipe ? 1 : 0);
        assert_true(isnan(fake_perf_find("accepted")->value));
        teardown(NULL);
    }
}

static void test_auth_at_mail(void **state)
{
    (void)state;
    S.pipelining = 0;
    S.mail = (struct srv_answer){530, "5.7.0 Must issue a STARTTLS first"};
    fake_set_domain("mxprobe.test");
    run_plain();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_detail("authentication required (530 5.7.0 Must issue",
                  MXP_STATE_OK);
    assert_int_equal(sent_count("RCPT TO:"), 0);
}

static void test_thresholds(void **state)
{
    (void)state;
    fake_set_domain("mxprobe.test");
    fake_set_thresholds(NULL, "0");
    run_plain();
    assert_int_equal(fake_state(), MXP_STATE_CRITICAL);
    assert_summary_has("accepts mail for unknown users");
    assert_detail("accepts RCPT for unknown user", MXP_STATE_CRITICAL);
    assert_string_equal(fake_perf_find("accepted")->crit, "0");
    teardown(NULL);

    /* one accepting domain allowed: OK, but still said */
    setup(NULL);
    fake_set_domain("mxprobe.test");
    fake_set_thresholds("1", NULL);
    run_plain();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "accepts mail for unknown users (mxprobe.test)");
}

/* ---- cannot test ------------------------------------------------------ */

static void test_cannot_test(void **state)
{
    static const struct {
        /* 0 refused, 1 greeting 554, 2 no greeting, 3 EHLO+HELO,
         * 4 greeting 250 (RFC 5321 4.3.1: 220 or 554 only) */
        int how;
        const char *summary;
    } t[] = {
        {0, "cannot test backscatter: cannot connect to 127.0.0.28:25: "
            "connection refused"},
        {1, "cannot test backscatter: greeting 554 5.7.1 go away"},
        {2, "cannot test backscatter: no greeting: no reply within 20.0 s"},
        {3, "cannot test backscatter: EHLO and HELO refused: 500 5.5.1 no"},
        {4, "cannot test backscatter: greeting 250 mail.mxprobe.test ESMTP"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        setup(NULL);
        fake_set_domain("mxprobe.test");
        if (t[i].how == 0) {
            fake_smtp_fail_open(MXP_ERR_CONNECT,
                                "cannot connect to 127.0.0.28:25: connection "
                                "refused");
        } else {
            fake_smtp_set_responder(NULL, NULL);
            if (t[i].how == 1)
                fake_smtp_reply(554, 0.001, "5.7.1 go away");
            else if (t[i].how == 2)
                fake_smtp_fail(MXP_ERR_TIMEOUT, "no reply within 20.0 s");
            else if (t[i].how == 4) {
                fake_smtp_reply(250, 0.001, "mail.mxprobe.test ESMTP");
                fake_smtp_reply(250, 0.001, "mail.mxprobe.test\nPIPELINING");
            } else {
                fake_smtp_reply(220, 0.001, "mail.mxprobe.test ESMTP");
                fake_smtp_reply(500, 0.001, "5.5.1 no");
                fake_smtp_reply(500, 0.001, "5.5.1 no");
            }
        }
        run_plain();
        assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
        assert_string_equal(fake_summary(), t[i].summary);
        assert_int_equal(sent_count("MAIL"), 0);
        assert_int_equal(fake_smtp_opens(), 1);
        assert_int_equal(fake_smtp_closes(), 1);
        assert_true(isnan(fake_perf_find("accepted")->value));
        assert_true(fake_perf_find("domains")->value == 1);
        teardown(NULL);
    }
}

static void test_no_domain(void **state)
{
    (void)state;
    S.greeting = "[127.0.0.28] ESMTP";
    S.ehlo = "[127.0.0.28]";
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_NXDOMAIN, NULL);
    run_plain();
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "no mail domain to test: set the target's domain "
                        "(-D)");
    assert_int_equal(sent_count("MAIL"), 0);
    assert_true(fake_perf_find("domains")->value == 0);
    assert_true(isnan(fake_perf_find("accepted")->value));
    assert_true(fake_smtp_quit_sent());
}

/* ---- domains ---------------------------------------------------------- */

static void test_domain_from_target(void **state)
{
    (void)state;
    fake_set_domain("Example.ORG.");
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mx.other.test", NULL);
    run_plain();
    assert_int_equal(S.n_to, 1);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "example.org");
    assert_int_equal(fake_dns_batches(), 0);
    assert_detail("domains tested: example.org (the target's domain)",
                  MXP_STATE_OK);
}

static void test_domains_guessed(void **state)
{
    (void)state;
    S.by_domain[0].domain = "mxprobe.test";
    S.by_domain[0].a = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "MX1.mxprobe.test.",
                 "smtp.other.example.co.uk", "mail.mxprobe.test", NULL);
    run_plain();
    /* greeting mail.mxprobe.test and the PTRs: two distinct domains */
    assert_int_equal(S.n_to, 2);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "mxprobe.test");
    assert_random_user(S.to[1], BS_DEFAULT_PREFIX, "example.co.uk");
    /* one random local part per run */
    assert_int_equal(strncmp(S.to[0], S.to[1], strlen(BS_DEFAULT_PREFIX) + 16),
                     0);
    assert_int_equal(fake_dns_asked(REV, MXP_DNS_PTR), 1);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "accepts mail for unknown users (example.co.uk)");
    assert_detail("rejects unknown user", MXP_STATE_OK);
    assert_detail("domains tested: mxprobe.test, example.co.uk (from "
                  "the greeting, EHLO and PTR names)",
                  MXP_STATE_OK);
    assert_true(fake_perf_find("accepted")->value == 1);
    assert_true(fake_perf_find("accepted")->max == 2);
    assert_true(fake_perf_find("domains")->value == 2);
    assert_int_equal(fake_smtp_opens(), 1);
}

/* Issue 8.3: a generic or unconfirmed PTR names the access provider's
 * domain when the greeting names another: only the greeting's is tested;
 * the PTR's domain is named in a detail.  The PTR went out before the
 * session, its name's addresses after the greeting. */
static void test_domains_generic_ptr(void **state)
{
    (void)state;
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER,
                 "dsl-127-0-0-28.dyn.isp.test", "mail.other.test", NULL);
    fake_dns_add("dsl-127-0-0-28.dyn.isp.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR,
                 NULL);
    fake_dns_add("mail.other.test", MXP_DNS_A, MXP_DNS_NXDOMAIN, NULL);
    run_plain();
    assert_int_equal(S.n_to, 1);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "mxprobe.test");
    assert_detail("PTR dsl-127-0-0-28.dyn.isp.test looks generic (contains "
                  "the address digits): its domain isp.test is taken for the "
                  "access provider's, not tested (the greeting names "
                  "mxprobe.test)",
                  MXP_STATE_OK);
    assert_detail("PTR mail.other.test does not resolve back to " ADDR
                  ": its domain other.test",
                  MXP_STATE_OK);
    assert_int_equal(fake_dns_batches(), 2);
    assert_int_equal(fake_dns_batch_size(1), 4);
    assert_int_equal(fake_dns_open_batches(), 0);

    /* generic, but another PTR name of the same domain is confirmed and
     * not generic: that domain is tested, and no detail says otherwise */
    teardown(NULL);
    setup(NULL);
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER,
                 "dsl-127-0-0-28.dyn.isp.test", "mail.isp.test", NULL);
    fake_dns_add("mail.isp.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR, NULL);
    run_plain();
    assert_int_equal(S.n_to, 2);
    assert_random_user(S.to[1], BS_DEFAULT_PREFIX, "isp.test");
    assert_true(fake_detail_find("not tested", NULL) < 0);

    /* no greeting name, no EHLO name: the PTR's domain is the only
     * guess, tested */
    teardown(NULL);
    setup(NULL);
    S.greeting = "ESMTP ready";
    S.ehlo = "[127.0.0.28]";
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER,
                 "dsl-127-0-0-28.dyn.isp.test", NULL);
    run_plain();
    assert_int_equal(S.n_to, 1);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "isp.test");
}

/* The banner's names are taken as zone takes them (issue 8): a
 * special-use greeting or EHLO name is no domain (named, not tested),
 * and the EHLO name stands for the banner when the greeting names none
 * or a special-use one. */
static void test_domains_banner_names(void **state)
{
    static const char *const greetings[] = {
        "ESMTP ready", "localhost.localdomain ESMTP Postfix",
        "mx.corp.LOCAL ESMTP"};

    (void)state;
    /* a default install's greeting and EHLO, a generic PTR: the PTR's
     * domain is the only guess, not localhost.localdomain */
    S.greeting = "localhost.localdomain ESMTP Postfix";
    S.ehlo = "localhost.localdomain";
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER,
                 "dsl-127-0-0-28.dyn.isp.test", NULL);
    fake_dns_add("dsl-127-0-0-28.dyn.isp.test", MXP_DNS_A, MXP_DNS_ANSWER, ADDR,
                 NULL);
    run_plain();
    assert_int_equal(S.n_to, 1);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "isp.test");
    assert_detail("the greeting name localhost.localdomain is a special-use "
                  "or private name: not tested",
                  MXP_STATE_OK);
    /* the EHLO name repeats the greeting's: said once */
    assert_true(fake_detail_find("the EHLO name", NULL) < 0);
    assert_true(fake_detail_find("not tested (the", NULL) < 0);
    assert_string_equal(fake_summary(), "rejects unknown users (isp.test)");

    /* no greeting name, or a special-use one, and the EHLO reply names
     * mail.other.test: other.test is the mail domain, the generic PTR's
     * isp.test the access provider's */
    for (size_t i = 0; i < sizeof greetings / sizeof *greetings; i++) {
        teardown(NULL);
        setup(NULL);
        S.greeting = greetings[i];
        S.ehlo = "mail.other.test";
        S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
        fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER,
                     "dsl-127-0-0-28.dyn.isp.test", NULL);
        fake_dns_add("dsl-127-0-0-28.dyn.isp.test", MXP_DNS_A, MXP_DNS_ANSWER,
                     ADDR, NULL);
        run_plain();
        if (S.n_to != 1)
            dump();
        assert_int_equal(S.n_to, 1);
        assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "other.test");
        assert_detail("PTR dsl-127-0-0-28.dyn.isp.test looks generic "
                      "(contains the address digits): its domain isp.test is "
                      "taken for the access provider's, not tested (the EHLO "
                      "names other.test)",
                      MXP_STATE_OK);
        assert_true((fake_detail_find("is a special-use", NULL) >= 0) ==
                    (i > 0));
    }

    /* greeting and EHLO name different domains: both are tested, as zone
     * audits both (the PTR's, confirmed, too) */
    teardown(NULL);
    setup(NULL);
    S.ehlo = "mx.other.test";
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
    run_plain();
    assert_int_equal(S.n_to, 3);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "mxprobe.test");
    assert_random_user(S.to[1], BS_DEFAULT_PREFIX, "other.test");
    assert_random_user(S.to[2], BS_DEFAULT_PREFIX, "ptr.test");

    /* a bare address for a name is no domain ("0.28" is no domain) */
    teardown(NULL);
    setup(NULL);
    S.greeting = "127.0.0.28 ESMTP";
    S.ehlo = "mail.other.test";
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_NXDOMAIN, NULL);
    run_plain();
    assert_int_equal(S.n_to, 1);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "other.test");

    /* a special-use PTR name is no domain either */
    teardown(NULL);
    setup(NULL);
    S.greeting = "ESMTP ready";
    S.ehlo = "[127.0.0.28]";
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "nas.home.arpa", NULL);
    run_plain();
    assert_int_equal(S.n_to, 0);
    assert_detail("the PTR name nas.home.arpa is a special-use or private "
                  "name: not tested",
                  MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "no mail domain to test: set the target's domain "
                        "(-D)");
}

static void test_domain_from_ptr_only(void **state)
{
    (void)state;
    S.greeting = "ESMTP ready";
    S.ehlo = "[127.0.0.28]";
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
    run_plain();
    assert_int_equal(S.n_to, 1);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "ptr.test");
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(), "rejects unknown users (ptr.test)");
}

static void test_mixed_ok(void **state)
{
    (void)state;
    S.by_domain[0].domain = "mxprobe.test";
    S.by_domain[0].a = (struct srv_answer){550, "5.1.1 User unknown"};
    S.rcpt = (struct srv_answer){554, "5.7.1 Relay access denied"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
    run_plain();
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(), "rejects unknown users (mxprobe.test)");
    assert_detail("does not accept mail for ptr.test (554 5.7.1", MXP_STATE_OK);
}

static void test_prefix_config(void **state)
{
    (void)state;
    fake_set_domain("mxprobe.test");
    run_with("local_part_prefix: nosuchuser.");
    assert_random_user(S.to[0], "nosuchuser.", "mxprobe.test");
}

/* ---- lost connections ------------------------------------------------- */

static void test_drop_reconnects(void **state)
{
    static const struct srv_answer drops[] = {
        {0, NULL},
        {421, "4.7.0 mail.mxprobe.test Error: too many errors"},
    };

    (void)state;
    for (size_t k = 0; k < 2; k++) {
        for (int pipe = 0; pipe < 2; pipe++) {
            setup(NULL);
            S.pipelining = pipe;
            S.drop_conn = 1;
            S.drop_answer = drops[k];
            S.by_domain[0].domain = "mxprobe.test";
            S.by_domain[0].a = (struct srv_answer){550, "5.1.1 unknown"};
            fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test",
                         NULL);
            run_plain();
            /* the first domain again on connection 2, then the second */
            assert_int_equal(fake_smtp_opens(), 2);
            assert_int_equal(S.n_to, 3);
            assert_string_equal(S.to[0], S.to[1]);
            assert_int_equal(fake_state(), MXP_STATE_WARNING);
            assert_string_equal(fake_summary(),
                                "accepts mail for unknown users (ptr.test)");
            assert_detail("rejects unknown user", MXP_STATE_OK);
            teardown(NULL);
        }
    }
}

static void test_drop_twice(void **state)
{
    static const struct {
        struct srv_answer a;
        const char *summary;
        const char *detail;
    } t[] = {
        {{0, NULL},
         "inconclusive: 2/2 domains (mxprobe.test: connection closed by "
         "server)",
         "inconclusive for ptr.test: connection closed by server"},
        {{421, "4.7.0 mail.mxprobe.test Error: too many errors"},
         "inconclusive: 2/2 domains (mxprobe.test: 421 4.7.0 "
         "mail.mxprobe.test Error: too many errors)",
         "inconclusive for ptr.test: 421 4.7.0 mail.mxprobe.test Error"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        for (int pipe = 0; pipe < 2; pipe++) {
            setup(NULL);
            S.pipelining = pipe;
            S.rcpt = t[i].a; /* every RCPT */
            fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test",
                         NULL);
            run_plain();
            assert_int_equal(fake_smtp_opens(), 2);
            assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
            assert_string_equal(fake_summary(), t[i].summary);
            assert_detail(t[i].detail, MXP_STATE_UNKNOWN);
            assert_int_equal(S.n_to, 2);
            assert_true(isnan(fake_perf_find("accepted")->value));
            teardown(NULL);
        }
    }
}

/* The one new connection fails: what is left is inconclusive. */
static void test_reconnect_fails(void **state)
{
    static const struct {
        int refuse; /* connect refused, else greeting 421 */
        const char *why;
    } t[] = {
        {1, "inconclusive for mxprobe.test: cannot connect to 127.0.0.28:25: "
            "connection refused"},
        {0, "inconclusive for mxprobe.test: greeting 421 4.3.2 Service "
            "shutting down"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        setup(NULL);
        S.drop_conn = 1;
        S.drop_answer = (struct srv_answer){0, NULL};
        S.refuse_later = t[i].refuse;
        S.greeting2_code = 421;
        S.greeting2 = "4.3.2 Service shutting down";
        fake_set_domain("mxprobe.test");
        run_plain();
        assert_int_equal(fake_smtp_opens(), 2);
        assert_int_equal(S.n_to, 1);
        assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
        assert_detail(t[i].why, MXP_STATE_UNKNOWN);
        teardown(NULL);
    }
}

/* A server that does not answer: one by one, no new connection (it
 * would only wait as long again); pipelined, one more without
 * pipelining (the next test), and no more. */
static void test_timeout_no_reconnect(void **state)
{
    (void)state;
    for (int pipe = 0; pipe < 2; pipe++) {
        setup(NULL);
        S.pipelining = pipe;
        S.rcpt = (struct srv_answer){-1, NULL};
        fake_set_domain("mxprobe.test");
        run_plain();
        assert_int_equal(fake_smtp_opens(), pipe ? 2 : 1);
        assert_int_equal(S.n_to, pipe ? 2 : 1);
        assert_int_equal(S.piped[1], pipe ? 3 : 0);
        assert_int_equal(S.piped[2], 0);
        assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
        assert_detail("inconclusive for mxprobe.test: no reply within 20.0 s",
                      MXP_STATE_UNKNOWN);
        assert_false(fake_smtp_quit_sent());
        teardown(NULL);
    }
}

/* PIPELINING offered, but a firewall passes only the first command of
 * each packet: MAIL is answered, RCPT never.  After that timeout the
 * domain is tried again on a new connection, one command at a time, and
 * so is every later one. */
static void test_fake_pipelining(void **state)
{
    char want[512];

    (void)state;
    S.fixup_firewall = 1;
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
    run_plain();
    assert_int_equal(fake_smtp_opens(), 2);
    assert_int_equal(S.lost_lines, 2); /* RCPT and RSET of the first try */
    assert_int_equal(S.piped[1], 3);
    assert_int_equal(S.piped[2], 0);
    /* RCPT for mxprobe.test got through on the second try; ptr.test */
    assert_int_equal(S.n_to, 2);
    assert_random_user(S.to[0], BS_DEFAULT_PREFIX, "mxprobe.test");
    assert_random_user(S.to[1], BS_DEFAULT_PREFIX, "ptr.test");
    assert_int_equal(sent_count("RCPT TO:"), 2);
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(),
                        "rejects unknown users (mxprobe.test, ptr.test)");
    snprintf(want, sizeof want, "rejects unknown user <%s> (550 5.1.1",
             S.to[0]);
    assert_detail(want, MXP_STATE_OK);
    assert_true(fake_perf_find("accepted")->value == 0);
    assert_true(fake_smtp_quit_sent());
}

/* ... unless time is short: the timeout's inconclusive verdict stands. */
static void test_fake_pipelining_no_time(void **state)
{
    (void)state;
    S.fixup_firewall = 1;
    fake_set_remaining(BS_RETRY_TIME / 2);
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
    run_plain();
    assert_int_equal(fake_smtp_opens(), 1);
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_detail("inconclusive for mxprobe.test: no reply within 20.0 s",
                  MXP_STATE_UNKNOWN);
    assert_detail("inconclusive for ptr.test: no reply within 20.0 s",
                  MXP_STATE_UNKNOWN);
}

/* The new connection without pipelining comes on top of the one
 * reconnect after a drop. */
static void test_fake_pipelining_after_drop(void **state)
{
    (void)state;
    S.fixup_firewall = 1;
    S.quirk_conn = 1; /* connection 1 closes at MAIL */
    S.odd_mail = (struct srv_answer){421, "4.3.2 Service shutting down"};
    S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
    fake_set_domain("mxprobe.test");
    run_plain();
    /* 1 closed, 2 lost RCPT and RSET to the firewall, 3 one by one */
    assert_int_equal(fake_smtp_opens(), 3);
    assert_int_equal(S.lost_lines, 4);
    assert_int_equal(S.piped[3], 0);
    assert_int_equal(S.n_to, 1);
    assert_int_equal(fake_state(), MXP_STATE_OK);
    assert_string_equal(fake_summary(), "rejects unknown users (mxprobe.test)");
}

static void test_out_of_time(void **state)
{
    (void)state;
    fake_set_domain("mxprobe.test");
    fake_set_remaining(0.0);
    run_plain();
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_detail("inconclusive for mxprobe.test: out of time",
                  MXP_STATE_UNKNOWN);
    assert_int_equal(sent_count("MAIL"), 0);
}

/* ---- replies out of step ---------------------------------------------- */

/* A reply that cannot be the one to its command is never a verdict: the
 * domain is inconclusive, and the next one gets a new connection. */
static void test_out_of_step(void **state)
{
    static const struct {
        int mail_twice;
        struct srv_answer mail, rcpt, rset; /* rset.code 0: 250 */
        const char *why;
    } t[] = {
        /* MAIL answered twice: RCPT's 250 is MAIL's second, RCPT's 550
         * shows up as RSET's (without the check: a false WARNING). */
        {1,
         {250, "2.1.0 Ok"},
         {550, "5.1.1 User unknown"},
         {0, NULL},
         "replies out of step with commands (RSET answered 550 5.1.1 User "
         "unknown)"},
        {0,
         {250, "2.1.0 Ok"},
         {354, "End data with <CR><LF>.<CR><LF>"},
         {0, NULL},
         "replies out of step with commands (RCPT answered 354 End data"},
        {0,
         {220, "mail.mxprobe.test ESMTP Postfix"},
         {250, "2.1.5 Ok"},
         {0, NULL},
         "replies out of step with commands (MAIL answered 220 "
         "mail.mxprobe.test ESMTP Postfix)"},
        {0,
         {250, "2.1.0 Ok"},
         {250, "2.1.5 Ok"},
         {554, "5.5.1 Error"},
         "replies out of step with commands (RSET answered 554 5.5.1 Error)"},
        /* the core's own check at the end of a pipelined group */
        {0,
         {250, "2.1.0 Ok"},
         {250, "2.1.5 Ok"},
         {-2, "more replies than commands: '250 2.0.0 Ok'"},
         "replies out of step with commands (more replies than commands: "
         "'250 2.0.0 Ok')"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        for (int pipe = 0; pipe < 2; pipe++) {
            char want[512];

            setup(NULL);
            S.pipelining = pipe;
            S.strict_pipelining = pipe;
            S.quirk_conn = 1;
            S.mail_twice = t[i].mail_twice;
            S.odd_rset = t[i].rset.code != 0;
            S.rset = t[i].rset;
            /* mxprobe.test on connection 1, ptr.test on connection 2 */
            S.by_domain[0].domain = "mxprobe.test";
            S.by_domain[0].a = t[i].rcpt;
            S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
            if (t[i].mail.code != 250)
                S.odd_mail = t[i].mail;
            fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test",
                         NULL);
            run_plain();
            snprintf(want, sizeof want, "inconclusive for mxprobe.test: %s",
                     t[i].why);
            assert_detail(want, MXP_STATE_UNKNOWN);
            assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
            assert_summary_has("inconclusive: 1/2 domains (mxprobe.test: "
                               "replies out of step with commands (");
            assert_int_equal(fake_smtp_opens(), 2);
            teardown(NULL);
        }
    }
}

/* The domain after an out-of-step one is judged on a new connection. */
static void test_out_of_step_next_domain(void **state)
{
    (void)state;
    for (int pipe = 0; pipe < 2; pipe++) {
        setup(NULL);
        S.pipelining = pipe;
        S.strict_pipelining = pipe;
        S.quirk_conn = 1;
        S.mail_twice = 1;
        S.by_domain[0].domain = "mxprobe.test";
        S.by_domain[0].a = (struct srv_answer){550, "5.1.1 User unknown"};
        S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
        fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
        run_plain();
        assert_int_equal(fake_smtp_opens(), 2);
        assert_int_equal(S.n_to, 2);
        assert_random_user(S.to[1], BS_DEFAULT_PREFIX, "ptr.test");
        {
            char want[512];

            snprintf(want, sizeof want,
                     "rejects unknown user <%s> (550 5.1.1 User unknown)",
                     S.to[1]);
            assert_detail(want, MXP_STATE_OK);
        }
        assert_int_equal(fake_detail_find("accepts RCPT", NULL), -1);
        assert_true(fake_perf_find("accepted")->value == 0);
        teardown(NULL);
    }
}

/* ---- RSET's reply lost ------------------------------------------------ */

/* RCPT was answered: the verdict stands, only the session is lost; the
 * next domain gets the new connection. */
static void test_rset_lost_keeps_verdict(void **state)
{
    static const struct srv_answer lost[] = {
        {0, NULL},
        {421, "4.7.0 mail.mxprobe.test Error: too many errors"},
    };

    (void)state;
    for (size_t k = 0; k < sizeof lost / sizeof *lost; k++) {
        for (int pipe = 0; pipe < 2; pipe++) {
            char want[512];

            setup(NULL);
            S.pipelining = pipe;
            S.strict_pipelining = pipe;
            S.quirk_conn = 1;
            S.odd_rset = 1;
            S.rset = lost[k];
            S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
            S.by_domain[0].domain = "mxprobe.test";
            S.by_domain[0].a = (struct srv_answer){250, "2.1.5 Ok"};
            fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test",
                         NULL);
            run_plain();
            assert_int_equal(fake_state(), MXP_STATE_WARNING);
            assert_string_equal(fake_summary(),
                                "accepts mail for unknown users "
                                "(mxprobe.test)");
            /* mxprobe.test not asked again */
            assert_int_equal(S.n_to, 2);
            assert_random_user(S.to[1], BS_DEFAULT_PREFIX, "ptr.test");
            snprintf(want, sizeof want, "rejects unknown user <%s>", S.to[1]);
            assert_detail(want, MXP_STATE_OK);
            assert_int_equal(fake_smtp_opens(), 2);
            teardown(NULL);
        }
    }
}

/* The one reconnect already used: the verdict still stands, what is
 * left is inconclusive. */
static void test_rset_lost_after_reconnect(void **state)
{
    (void)state;
    for (int pipe = 0; pipe < 2; pipe++) {
        setup(NULL);
        S.pipelining = pipe;
        S.strict_pipelining = pipe;
        S.drop_conn = 1; /* RCPT on connection 1: dropped */
        S.drop_answer = (struct srv_answer){0, NULL};
        S.quirk_conn = 2; /* RSET on connection 2: dropped */
        S.odd_rset = 1;
        S.rset = (struct srv_answer){0, NULL};
        S.by_domain[0].domain = "mxprobe.test";
        S.by_domain[0].a = (struct srv_answer){250, "2.1.5 Ok"};
        fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
        run_plain();
        assert_int_equal(fake_smtp_opens(), 2);
        assert_int_equal(fake_state(), MXP_STATE_WARNING);
        assert_string_equal(fake_summary(),
                            "accepts mail for unknown users (mxprobe.test)");
        assert_detail("inconclusive for ptr.test: connection closed by server",
                      MXP_STATE_UNKNOWN);
        assert_true(fake_perf_find("accepted")->value == 1);
        teardown(NULL);
    }
}

/* No reply to RSET in time, MAIL and RCPT answered as they can be: the
 * verdict stands, only the session is lost.  One by one, the rest is
 * then inconclusive (a new connection would wait as long again);
 * pipelined, the rest goes on, on a new connection without pipelining
 * (here RSET times out there too, after ptr.test's verdict). */
static void test_rset_timeout(void **state)
{
    (void)state;
    for (int pipe = 0; pipe < 2; pipe++) {
        setup(NULL);
        S.pipelining = pipe;
        S.odd_rset = 1;
        S.rset = (struct srv_answer){-1, NULL};
        S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
        fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
        run_plain();
        assert_int_equal(fake_smtp_opens(), pipe ? 2 : 1);
        assert_int_equal(S.n_to, pipe ? 2 : 1);
        assert_detail("rejects unknown user <mxprobe-nonexistent-",
                      MXP_STATE_OK);
        assert_int_equal(S.piped[2], 0);
        if (pipe) {
            assert_int_equal(fake_state(), MXP_STATE_OK);
            assert_string_equal(fake_summary(),
                                "rejects unknown users (mxprobe.test, "
                                "ptr.test)");
            assert_false(fake_smtp_quit_sent());
            teardown(NULL);
            continue;
        }
        assert_detail("inconclusive for ptr.test: no reply within 20.0 s",
                      MXP_STATE_UNKNOWN);
        assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
        teardown(NULL);
    }
}

/* ... but not when a reply to MAIL or RCPT cannot be its own: then the
 * replies are out of step, never a verdict. */
static void test_rset_timeout_out_of_step(void **state)
{
    static const struct srv_answer odd[] = {
        {354, "End data with <CR><LF>.<CR><LF>"},
        {221, "2.0.0 Bye"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        setup(NULL);
        S.quirk_conn = 1;
        S.odd_rset = 1;
        S.rset = (struct srv_answer){-1, NULL};
        S.by_domain[0].domain = "mxprobe.test";
        S.by_domain[0].a = odd[i];
        S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
        fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "mail.ptr.test", NULL);
        run_plain();
        assert_detail("inconclusive for mxprobe.test: replies out of step "
                      "with commands (RCPT answered ",
                      MXP_STATE_UNKNOWN);
        assert_int_equal(fake_detail_find("accepts RCPT", NULL), -1);
        /* ptr.test on a new connection */
        assert_int_equal(fake_smtp_opens(), 2);
        assert_detail("rejects unknown user", MXP_STATE_OK);
        assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
        teardown(NULL);
    }
}

/* An accepting domain whose RSET reply was lost still gets its test
 * message, on the new connection. */
static void test_rset_lost_deliver(void **state)
{
    (void)state;
    S.quirk_conn = 1;
    S.odd_rset = 1;
    S.rset = (struct srv_answer){0, NULL};
    fake_set_domain("mxprobe.test");
    fake_set_my_email(ME);
    run_with("deliver: true");
    assert_int_equal(fake_smtp_opens(), 2);
    assert_int_equal(fake_smtp_n_messages(), 1);
    assert_detail("sent test message", MXP_STATE_WARNING);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
}

/* ---- the first session ------------------------------------------------ */

/* Hung up at once, or 421: tried once more. */
static void test_first_session_retried(void **state)
{
    static const struct {
        int how;
        const char *summary; /* when the second fails too */
    } t[] = {
        {1, "cannot test backscatter: EHLO failed: connection closed by "
            "server"},
        {2, "cannot test backscatter: greeting 421 4.3.2 Service not "
            "available"},
        {3, "cannot test backscatter: no greeting: connection closed by "
            "server (waiting for the greeting)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        for (size_t fails = 1; fails <= 3; fails++) {
            setup(NULL);
            S.fail_conns = fails;
            S.fail_how = t[i].how;
            S.rcpt = (struct srv_answer){550, "5.1.1 User unknown"};
            fake_set_domain("mxprobe.test");
            run_plain();
            assert_int_equal(fake_smtp_opens(), 2);
            if (fails == 1) {
                assert_int_equal(fake_state(), MXP_STATE_OK);
                assert_string_equal(fake_summary(),
                                    "rejects unknown users (mxprobe.test)");
            } else {
                assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
                assert_string_equal(fake_summary(), t[i].summary);
                assert_int_equal(sent_count("MAIL"), 0);
            }
            teardown(NULL);
        }
    }
}

/* That retry does not use up the one reconnect during the tests. */
static void test_first_retry_then_drop(void **state)
{
    (void)state;
    S.fail_conns = 1;
    S.fail_how = 2;
    S.drop_conn = 2;
    S.drop_answer = (struct srv_answer){0, NULL};
    fake_set_domain("mxprobe.test");
    run_plain();
    assert_int_equal(fake_smtp_opens(), 3);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "accepts mail for unknown users (mxprobe.test)");
}

/* ---- delivery --------------------------------------------------------- */

static void test_deliver(void **state)
{
    char want[512];
    const char *msg;

    (void)state;
    S.by_domain[0].domain = "mxprobe.test";
    S.by_domain[0].a = (struct srv_answer){550, "5.1.1 unknown"};
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "a.ptr.test", "b.two.test",
                 NULL);
    fake_set_my_email(ME);
    run_with("deliver: true");

    /* mxprobe.test rejects; ptr.test and two.test accept: two messages */
    assert_int_equal(fake_smtp_n_messages(), 2);
    assert_int_equal(sent_count("MAIL FROM:<" ME ">"), 2);
    assert_int_equal(sent_count("DATA"), 2);
    assert_int_equal(S.n_to, 5); /* 3 probes, 2 for the messages */
    assert_random_user(S.to[2], BS_DEFAULT_PREFIX, "ptr.test");
    assert_string_equal(S.to[2], S.to[1]);
    msg = fake_smtp_message(0);
    snprintf(want, sizeof want, "Subject: mxprobe backscatter test %.16s\n",
             S.to[0] + strlen(BS_DEFAULT_PREFIX));
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "From: <" ME ">\n"));
    snprintf(want, sizeof want, "To: <%s>\n", S.to[1]);
    assert_non_null(strstr(msg, want));
    snprintf(want, sizeof want,
             "sent test message %.16s from " ME " to <%s> (250 2.0.0 Ok: "
             "queued as 4XyZ): a bounce in your mailbox means backscatter",
             S.to[0] + strlen(BS_DEFAULT_PREFIX), S.to[3]);
    assert_detail(want, MXP_STATE_WARNING);
    /* each sent message right after its domain's verdict */
    {
        int k = fake_detail_find("accepts RCPT for unknown user", NULL);

        assert_true(k >= 0);
        assert_non_null(strstr(fake_detail((size_t)k, NULL), "@ptr.test>"));
        assert_non_null(
            strstr(fake_detail((size_t)k + 1, NULL), "sent test message"));
        assert_non_null(strstr(fake_detail((size_t)k + 1, NULL), "@ptr.test>"));
    }
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "accepts mail for unknown users (ptr.test, two.test)");
    assert_true(fake_perf_find("accepted")->value == 2);
    assert_int_equal(fake_smtp_opens(), 1);
}

static void test_deliver_data_refused(void **state)
{
    (void)state;
    S.data_code = 554;
    fake_set_domain("mxprobe.test");
    fake_set_my_email(ME);
    run_with("deliver: yes");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_detail("test message to <mxprobe-nonexistent-", MXP_STATE_UNKNOWN);
    assert_detail("not sent: DATA refused (554 5.7.1 no)", MXP_STATE_UNKNOWN);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
}

/* 250 to DATA is no go-ahead, and says the replies are out of step: no
 * message, and the next domain gets a new connection. */
static void test_deliver_data_250(void **state)
{
    (void)state;
    S.data_code = 250;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "a.ptr.test", NULL);
    fake_set_my_email(ME);
    run_with("deliver: true");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(sent_count("DATA"), 2);
    assert_int_equal(fake_smtp_opens(), 2);
    assert_detail("@mxprobe.test> not sent: DATA answered 250 2.0.0 Ok "
                  "instead of 354",
                  MXP_STATE_UNKNOWN);
    assert_detail("@ptr.test> not sent: DATA answered 250 2.0.0 Ok instead "
                  "of 354",
                  MXP_STATE_UNKNOWN);
    assert_int_equal(fake_detail_find("DATA refused", NULL), -1);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "accepts mail for unknown users (mxprobe.test, "
                        "ptr.test)");
}

/* A session lost while sending: the next domain gets the new one. */
static void test_deliver_drop(void **state)
{
    (void)state;
    S.data_code = 0;
    fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "a.ptr.test", NULL);
    fake_set_my_email(ME);
    run_with("deliver: true");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(fake_smtp_opens(), 2);
    assert_int_equal(sent_count("DATA"), 2);
    assert_detail("@mxprobe.test> not sent: DATA: connection closed by "
                  "server",
                  MXP_STATE_UNKNOWN);
    assert_detail("@ptr.test> not sent: DATA: connection closed",
                  MXP_STATE_UNKNOWN);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "accepts mail for unknown users (mxprobe.test, "
                        "ptr.test)");
}

/* The final dot went out but its reply did not come: the message may
 * well have been queued, so it is not "not sent".  A failure while the
 * message was still being written is. */
static void test_deliver_dot_unanswered(void **state)
{
    static const struct {
        struct srv_answer dot;
        const char *why;
        int dotted; /* the final dot was sent */
    } t[] = {
        {{-1, "no reply within 20.0 s (waiting for reply to message)"},
         "no reply within 20.0 s (waiting for reply to message)",
         1},
        {{0, "connection closed by server (waiting for reply to message)"},
         "connection closed by server (waiting for reply to message)",
         1},
        {{-3, "cannot send: connection reset by peer (sending message)"},
         "cannot send: connection reset by peer (sending message)",
         0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char want[768], token[BS_TOKEN_DIGITS + 1];

        setup(NULL);
        S.dot_set = 1;
        S.dot = t[i].dot;
        fake_set_domain("mxprobe.test");
        fake_set_my_email(ME);
        run_with("deliver: true");
        assert_int_equal(fake_smtp_n_messages(), 1);
        memcpy(token, S.to[0] + strlen(BS_DEFAULT_PREFIX), BS_TOKEN_DIGITS);
        token[BS_TOKEN_DIGITS] = '\0';
        if (t[i].dotted)
            snprintf(want, sizeof want,
                     "sent test message %s from " ME " to <%s>, but no reply "
                     "to the final dot (%s): it may have been delivered",
                     token, S.to[0], t[i].why);
        else
            snprintf(want, sizeof want,
                     "test message to <%s> not sent: the message: %s", S.to[0],
                     t[i].why);
        assert_detail(want, MXP_STATE_UNKNOWN);
        assert_int_equal(
            fake_detail_find(t[i].dotted ? "not sent" : "may have been", NULL),
            -1);
        /* the verdict is what RCPT said */
        assert_int_equal(fake_state(), MXP_STATE_WARNING);
        assert_false(fake_smtp_quit_sent());
        teardown(NULL);
    }
}

static void test_deliver_without_my_email(void **state)
{
    (void)state;
    fake_set_domain("mxprobe.test");
    run_with("deliver: true");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(sent_count("DATA"), 0);
    assert_detail("probe.my_email is not set: no test message is sent",
                  MXP_STATE_OK);
    assert_int_equal(fake_state(), MXP_STATE_WARNING);
}

static void test_no_deliver_never_sends(void **state)
{
    static const char *const configs[] = {NULL, "deliver: false",
                                          "deliver: no"};

    (void)state;
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
        setup(NULL);
        fake_set_my_email(ME);
        fake_dns_add(REV, MXP_DNS_PTR, MXP_DNS_ANSWER, "a.ptr.test", NULL);
        run_with(configs[i]);
        assert_int_equal(fake_state(), MXP_STATE_WARNING);
        assert_int_equal(fake_smtp_n_messages(), 0);
        assert_int_equal(sent_count("DATA"), 0);
        assert_int_equal(sent_count("MAIL FROM:<" ME), 0);
        teardown(NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_user_unknown),
        cmocka_unit_test(test_sender_refused_at_rcpt),
        cmocka_unit_test(test_enhanced_of),
        cmocka_unit_test(test_denies_relaying),
        cmocka_unit_test_teardown(test_config, teardown),
        cmocka_unit_test_setup_teardown(test_accepts_unknown_user, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mail_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_at_mail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thresholds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cannot_test, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_from_target, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_domains_guessed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains_banner_names, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_domains_generic_ptr, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_domain_from_ptr_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mixed_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_reconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_no_reconnect, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fake_pipelining, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fake_pipelining_no_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fake_pipelining_after_drop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_of_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_step_next_domain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rset_lost_keeps_verdict, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rset_lost_after_reconnect, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rset_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rset_timeout_out_of_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rset_lost_deliver, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_first_session_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_first_retry_then_drop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliver_data_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliver_data_250, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliver_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliver_dot_unanswered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliver_without_my_email, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_deliver_never_sends, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
