/*
 * test_relay.c - the relay plugin against the fake core: forms, local
 * parts, literals and config as tables; run() against scripted SMTP
 * servers (closed, open, %-hack, DATA refused, 530, 4xx, drops, 421,
 * pipelining, names, deliver, replies out of step, refused senders,
 * servers that disagree, early confirmation, lost pipelined commands)
 * through a wrapper of the fake's SMTP calls that records sends and
 * reads in order, flags what the core refuses, breaks the session where
 * the core would (extra replies) and can lose pipelined commands.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/relay/forms.c"
#include "../../plugins/relay/pool.c"
#include "../../plugins/relay/probe.c"
#include "../../plugins/relay/relay.c"
#include "../../plugins/relay/session.c"
#include "fake_core.h"

#define ADDR "127.0.0.21"
#define LIT "[" ADDR "]"
#define LIT6 "[IPv6:::1]"
#define F_ "relaytest"
#define T_ "relaytest"
#define D_ "example.net"
#define S_ "mail.example.org"
#define R_ "example.org"
#define ME "me@mailbox.example.com"

/* ---- forms.c ---------------------------------------------------------- */

struct want_form {
    const char *mail, *rcpt;
    int plain;
};

/* The 16 nmap forms then the own-domain one, for server S and literal I. */
#define WANT_FORMS(S, I)                                                       \
    {                                                                          \
        {"<>", "<" T_ "@" D_ ">", 1},                                          \
            {"<" F_ "@" D_ ">", "<" T_ "@" D_ ">", 1},                         \
            {"<" F_ "@" S ">", "<" T_ "@" D_ ">", 1},                          \
            {"<" F_ "@" I ">", "<" T_ "@" D_ ">", 1},                          \
            {"<" F_ "@" I ">", "<" T_ "%" D_ "@" I ">", 0},                    \
            {"<" F_ "@" I ">", "<" T_ "%" D_ "@" S ">", 0},                    \
            {"<" F_ "@" I ">", "<\"" T_ "@" D_ "\">", 0},                      \
            {"<" F_ "@" I ">", "<\"" T_ "%" D_ "\">", 0},                      \
            {"<" F_ "@" I ">", "<" T_ "@" D_ "@" I ">", 0},                    \
            {"<" F_ "@" I ">", "<\"" T_ "@" D_ "\"@" I ">", 0},                \
            {"<" F_ "@" I ">", "<" T_ "@" D_ "@" S ">", 0},                    \
            {"<" F_ "@" I ">", "<@" I ":" T_ "@" D_ ">", 0},                   \
            {"<" F_ "@" I ">", "<@" S ":" T_ "@" D_ ">", 0},                   \
            {"<" F_ "@" I ">", "<" D_ "!" T_ ">", 0},                          \
            {"<" F_ "@" I ">", "<" D_ "!" T_ "@" I ">", 0},                    \
            {"<" F_ "@" I ">", "<" D_ "!" T_ "@" S ">", 0},                    \
            {"<" F_ "@" R_ ">", "<" T_ "@" D_ ">", 1},                         \
    }

static void check_forms(const struct relay_form *got, size_t n,
                        const struct want_form *want, size_t n_want)
{
    if (n != n_want)
        fail_msg("built %zu forms, expected %zu", n, n_want);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(got[i].mail, want[i].mail) != 0 ||
            strcmp(got[i].rcpt, want[i].rcpt) != 0 ||
            got[i].plain_rcpt != want[i].plain)
            fail_msg("form %zu: got %s %s plain=%d, expected %s %s plain=%d",
                     i + 1, got[i].mail, got[i].rcpt, got[i].plain_rcpt,
                     want[i].mail, want[i].rcpt, want[i].plain);
    }
}

static void test_forms_ipv4(void **state)
{
    static const struct want_form want[] = WANT_FORMS(S_, LIT);
    struct relay_parts p = {F_, T_, D_, S_, LIT, R_};
    struct relay_form forms[RELAY_MAX_FORMS];
    size_t n;

    (void)state;
    n = relay_build_forms(&p, forms, RELAY_MAX_FORMS);
    check_forms(forms, n, want, 17);
}

static void test_forms_ipv6(void **state)
{
    static const struct want_form want[] = WANT_FORMS(S_, LIT6);
    char lit[80];
    struct relay_parts p = {F_, T_, D_, S_, lit, R_};
    struct relay_form forms[RELAY_MAX_FORMS];
    size_t n;

    (void)state;
    relay_address_literal(AF_INET6, "::1", lit, sizeof lit);
    assert_string_equal(lit, LIT6);
    n = relay_build_forms(&p, forms, RELAY_MAX_FORMS);
    check_forms(forms, n, want, 17);
}

/* With no name for the server, S is the literal: the shapes that differ
 * only in S or I are one envelope each, built (and counted) once. */
static void test_forms_no_name(void **state)
{
    struct relay_parts p = {F_, T_, D_, LIT, LIT, NULL};
    struct relay_form forms[RELAY_MAX_FORMS];
    size_t n, i, k;

    (void)state;
    n = relay_build_forms(&p, forms, RELAY_MAX_FORMS);
    assert_int_equal(n, 11);
    for (i = 0; i < n; i++)
        for (k = i + 1; k < n; k++)
            assert_false(strcmp(forms[i].mail, forms[k].mail) == 0 &&
                         strcmp(forms[i].rcpt, forms[k].rcpt) == 0);
    assert_string_equal(forms[2].mail, "<" F_ "@" LIT ">");
    assert_string_equal(forms[2].rcpt, "<" T_ "@" D_ ">");
    assert_string_equal(forms[3].rcpt, "<" T_ "%" D_ "@" LIT ">");
}

/* The own-domain sender form exists only when R is set and differs. */
static void test_forms_own_domain(void **state)
{
    static const struct want_form want[] = WANT_FORMS(R_, LIT);
    static const struct {
        const char *server, *own;
        size_t n;
    } t[] = {
        {S_, R_, 17},
        {S_, NULL, 16},
        {S_, "", 16},
        {R_, R_, 16},
        {R_, "EXAMPLE.ORG", 16},
        {"mx.example.co.uk", "example.co.uk", 17},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct relay_parts p = {F_, T_, D_, t[i].server, LIT, t[i].own};
        struct relay_form forms[RELAY_MAX_FORMS];
        size_t n = relay_build_forms(&p, forms, RELAY_MAX_FORMS);

        if (n != t[i].n)
            fail_msg("S=%s R=%s: %zu forms, expected %zu", t[i].server,
                     t[i].own ? t[i].own : "(null)", n, t[i].n);
    }
    {
        /* S == R: exactly the first 16 forms, S in them. */
        struct relay_parts p = {F_, T_, D_, R_, LIT, R_};
        struct relay_form forms[RELAY_MAX_FORMS];
        size_t n = relay_build_forms(&p, forms, RELAY_MAX_FORMS);

        check_forms(forms, n, want, 16);
    }
}

static void test_forms_limits(void **state)
{
    struct relay_form forms[RELAY_MAX_FORMS];
    char big[RELAY_ADDR_LEN + 10];
    struct relay_parts p = {F_, T_, D_, S_, LIT, R_};

    (void)state;
    /* room for exactly the forms, and one short */
    assert_int_equal(relay_build_forms(&p, forms, 17), 17);
    assert_int_equal(relay_build_forms(&p, forms, 16), 0);
    assert_int_equal(relay_build_forms(&p, forms, 0), 0);
    p.own = NULL;
    assert_int_equal(relay_build_forms(&p, forms, 16), 16);
    assert_int_equal(relay_build_forms(&p, forms, 15), 0);

    /* a part that cannot fit an address */
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    p = (struct relay_parts){F_, T_, big, S_, LIT, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
    p = (struct relay_parts){F_, T_, D_, big, LIT, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
    p = (struct relay_parts){big, T_, D_, S_, LIT, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
    /* just fitting: "<" F "@" D ">" is RELAY_ADDR_LEN - 1 (D longer than
     * S and I, so that form 2 has the longest sender) */
    memset(big, 'a', sizeof big);
    big[RELAY_ADDR_LEN - 1 - strlen("<@long-external-domain.example>")] = '\0';
    p = (struct relay_parts){big, T_,  "long-external-domain.example",
                             S_,  LIT, NULL};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 16);
    assert_int_equal(strlen(forms[1].mail), RELAY_ADDR_LEN - 1);

    /* a missing part */
    p = (struct relay_parts){F_, T_, D_, NULL, LIT, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
    p = (struct relay_parts){F_, T_, D_, S_, NULL, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
    p = (struct relay_parts){NULL, T_, D_, S_, LIT, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
    p = (struct relay_parts){F_, NULL, D_, S_, LIT, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
    p = (struct relay_parts){F_, T_, NULL, S_, LIT, R_};
    assert_int_equal(relay_build_forms(&p, forms, RELAY_MAX_FORMS), 0);
}

static void test_local_part_ok(void **state)
{
    static const struct {
        const char *s;
        int ok;
    } t[] = {
        {"relaytest", 1},
        {"a.b", 1},
        {"x+y", 1},
        {"a-b_c", 1},
        {"A9", 1},
        {"a", 1},
        {"1234567890123456789012345678901234567890123456789012345678901234", 1},
        {"", 0},
        {".a", 0},
        {"a.", 0},
        {".", 0},
        {"a..b", 0},
        {"a%b", 0},
        {"a!b", 0},
        {"a@b", 0},
        {"a\"b", 0},
        {"a b", 0},
        {"a\nb", 0},
        {"a\rb", 0},
        {"a<b", 0},
        {"a>b", 0},
        {"a:b", 0},
        {"a\xc3\xa9", 0},
        {"12345678901234567890123456789012345678901234567890123456789012345",
         0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (relay_local_part_ok(t[i].s) != t[i].ok)
            fail_msg("relay_local_part_ok(\"%s\") != %d", t[i].s, t[i].ok);
}

static void test_address_literal(void **state)
{
    static const struct {
        int family;
        const char *addr, *lit;
    } t[] = {
        {AF_INET, "127.0.0.21", "[127.0.0.21]"},
        {AF_INET, "192.0.2.25", "[192.0.2.25]"},
        {AF_INET6, "::1", "[IPv6:::1]"},
        {AF_INET6, "2001:db8::1", "[IPv6:2001:db8::1]"},
    };
    char out[80], small[8];
    /* no compile-time warning (-Wformat-truncation, also where
     * _FORTIFY_SOURCE inlines the checked snprintf): the size and the
     * buffer are hidden from the compiler, the truncation is the point */
    volatile size_t small_len = sizeof small;
    char *volatile small_p = small;

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        relay_address_literal(t[i].family, t[i].addr, out, sizeof out);
        assert_string_equal(out, t[i].lit);
    }
    /* truncated, but terminated */
    memset(small, 'x', sizeof small);
    relay_address_literal(AF_INET6, "2001:db8::1", small_p, small_len);
    assert_string_equal(small, "[IPv6:2");
}

/* ---- config ----------------------------------------------------------- */

static void test_config_defaults(void **state)
{
    void *st = NULL;
    struct relay_config *c;

    (void)state;
    assert_int_equal(fake_config_set(NULL), MXP_OK);
    assert_int_equal(relay_init(fake_init_ctx(), &st), MXP_OK);
    c = st;
    assert_string_equal(c->external, "example.net");
    assert_string_equal(c->sender, "relaytest");
    assert_string_equal(c->recipient, "relaytest");
    assert_int_equal(c->deliver, 0);
    assert_int_equal(c->per_connection, 8);
    relay_free(st);
    assert_int_equal(fake_n_config_errors(), 0);
}

static void test_config_good(void **state)
{
    static const struct {
        const char *yaml;
        const char *external, *sender, *recipient;
        int deliver;
        unsigned per;
    } t[] = {
        {"external_domain: relay-test.example.com\nsender: a.b\n"
         "recipient: x+y\ndeliver: true\nforms_per_connection: 1\n",
         "relay-test.example.com", "a.b", "x+y", 1, 1},
        {"deliver: false\nforms_per_connection: 100\n", "example.net",
         "relaytest", "relaytest", 0, 100},
        {"deliver: yes\n", "example.net", "relaytest", "relaytest", 1, 8},
        {"deliver: off\nforms_per_connection: 17\n", "example.net", "relaytest",
         "relaytest", 0, 17},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        void *st = NULL;
        struct relay_config *c;

        fake_reset();
        fake_set_plugin_name("relay");
        assert_int_equal(fake_config_set(t[i].yaml), MXP_OK);
        if (relay_init(fake_init_ctx(), &st) != MXP_OK)
            fail_msg("case %zu refused: %s", i,
                     fake_n_config_errors() ? fake_config_error(0) : "?");
        c = st;
        assert_string_equal(c->external, t[i].external);
        assert_string_equal(c->sender, t[i].sender);
        assert_string_equal(c->recipient, t[i].recipient);
        assert_int_equal(c->deliver, t[i].deliver);
        assert_int_equal(c->per_connection, t[i].per);
        relay_free(st);
    }
}

static void test_config_bad(void **state)
{
    static const struct {
        const char *yaml, *key;
    } t[] = {
        {"external_domain: nodots\n", "external_domain"},
        {"external_domain: \"bad domain.example\"\n", "external_domain"},
        {"external_domain: a..b.example\n", "external_domain"},
        {"external_domain: \"x@example.net\"\n", "external_domain"},
        {"external_domain: [a.example, b.example]\n", "external_domain"},
        {"sender: \"\"\n", "sender"},
        {"sender: .a\n", "sender"},
        {"sender: a.\n", "sender"},
        {"sender: a..b\n", "sender"},
        {"sender: a%b\n", "sender"},
        {"sender: a!b\n", "sender"},
        {"sender: \"a@b\"\n", "sender"},
        {"sender: 'a\"b'\n", "sender"},
        {"sender: 12345678901234567890123456789012345678901234567890"
         "123456789012345\n",
         "sender"},
        {"recipient: a%b\n", "recipient"},
        {"recipient: \"a b\"\n", "recipient"},
        {"recipient: {x: y}\n", "recipient"},
        {"deliver: maybe\n", "deliver"},
        {"deliver: 2\n", "deliver"},
        {"deliver: \"\"\n", "deliver"},
        {"forms_per_connection: 0\n", "forms_per_connection"},
        {"forms_per_connection: 101\n", "forms_per_connection"},
        {"forms_per_connection: abc\n", "forms_per_connection"},
        {"forms_per_connection: -1\n", "forms_per_connection"},
        {"forms_per_connection: 8x\n", "forms_per_connection"},
        {"forms_per_connection: \"\"\n", "forms_per_connection"},
        {"forms_per_connection: 99999999999999999999\n",
         "forms_per_connection"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        void *st = NULL;
        int rc;

        fake_reset();
        fake_set_plugin_name("relay");
        assert_int_equal(fake_config_set(t[i].yaml), MXP_OK);
        rc = relay_init(fake_init_ctx(), &st);
        if (rc != MXP_ERR_CONFIG)
            fail_msg("'%s': init returned %d, expected MXP_ERR_CONFIG",
                     t[i].yaml, rc);
        assert_null(st);
        if (fake_n_config_errors() != 1)
            fail_msg("'%s': %zu config errors, expected 1", t[i].yaml,
                     fake_n_config_errors());
        if (strstr(fake_config_error(0), t[i].key) == NULL ||
            strstr(fake_config_error(0), "test.yaml:1:") == NULL ||
            strstr(fake_config_error(0), "plugins.relay: ") == NULL)
            fail_msg("'%s': error '%s' lacks the key '%s' or its position",
                     t[i].yaml, fake_config_error(0), t[i].key);
    }
}

/* Every bad key is reported, not only the first. */
static void test_config_several_bad(void **state)
{
    void *st = NULL;

    (void)state;
    assert_int_equal(fake_config_set("sender: a%b\nrecipient: a!b\n"
                                     "deliver: sure\n"
                                     "forms_per_connection: 0\n"),
                     MXP_OK);
    assert_int_equal(relay_init(fake_init_ctx(), &st), MXP_ERR_CONFIG);
    assert_int_equal(fake_n_config_errors(), 4);
}

/* ---- the services wrapper ---------------------------------------------- */

/* Every SMTP call in order, to check pipelining and the core's rules. */
#define EV_MAX 4096
struct ev {
    char kind; /* O open, E ehlo, S send, R read, M message, C close */
    int code;  /* R: reply code, or -status; O: status; C: send_quit */
    char line[160];
};

static struct ev evs[EV_MAX];
static size_t n_ev;
static int owed, max_owed, in_message;
static int send_fails_when_closed; /* smtp_send fails once srv.dead */
static int broken;                 /* a send failed: reads fail too */
static int broken_status;          /* what reads return once broken */
static char broken_error[320];     /* and smtp_error() says */
/* Replies of this connection taken from the fake's script, and whether
 * the commands owed were sent with smtp_send (the core's "group"): with
 * them the core can tell a server that answers more often than asked. */
static unsigned consumed;
static int in_group;
/* 0: an extra reply is already buffered when the group's last reply is
 * read (the core: "more replies than commands"); 1: it arrives later,
 * seen only before the next command ("server sent data before our X"),
 * and not at all when no command follows. */
static int extras_late;
static char violation[512];
static struct mxp_services wrap;

static void ev_add(char kind, int code, const char *line)
{
    if (n_ev == EV_MAX)
        return;
    evs[n_ev].kind = kind;
    evs[n_ev].code = code;
    snprintf(evs[n_ev].line, sizeof evs[n_ev].line, "%s", line ? line : "");
    n_ev++;
}

static void violate(const char *fmt, ...) MXP_PRINTF(1, 2);
static void violate(const char *fmt, ...)
{
    va_list ap;

    if (violation[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(violation, sizeof violation, fmt, ap);
    va_end(ap);
}

static int srv_dead(void);
static int srv_loses(int replies_owed);
static size_t n_lost; /* commands lost by srv.lose_from */
static unsigned srv_extras(unsigned taken, char *text, size_t len);

/* Breaks the session as the core does: every later call fails. */
static int wrap_break(int status, const char *fmt, ...) MXP_PRINTF(2, 3);
static int wrap_break(int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(broken_error, sizeof broken_error, fmt, ap);
    va_end(ap);
    broken = 1;
    broken_status = status;
    return status;
}

static int w_open(struct mxp_ctx *ctx, const char *addr, unsigned port,
                  struct mxp_smtp **out)
{
    int rc = fake_services.smtp_open(ctx, addr, port, out);

    ev_add('O', rc, addr);
    owed = rc == MXP_OK; /* the greeting */
    in_message = 0;
    broken = 0;
    consumed = 0;
    in_group = 0;
    return rc;
}

static int w_read(struct mxp_smtp *s, struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply tmp;
    int rc;

    if (r == NULL)
        r = &tmp;
    if (broken) { /* the real core fails at once on a broken session */
        memset(r, 0, sizeof(*r));
        ev_add('R', -broken_status, NULL);
        return broken_status;
    }
    if (owed <= 0)
        violate("smtp_read_reply with no reply owed (event %zu)", n_ev);
    rc = fake_services.smtp_read_reply(s, r);
    owed--;
    if (rc != MXP_ERR_TIMEOUT) /* the fake's timeout takes no item */
        consumed++;
    if (rc == MXP_OK && owed == 0 && in_group && !extras_late) {
        char extra[80];

        if (srv_extras(consumed, extra, sizeof extra) > 0) {
            memset(r, 0, sizeof(*r));
            ev_add('R', -MXP_ERR_PROTOCOL, NULL);
            return wrap_break(MXP_ERR_PROTOCOL,
                              "more replies than commands: '%s?"
                              "?'",
                              extra);
        }
    }
    if (owed == 0)
        in_group = 0;
    ev_add('R', rc == MXP_OK ? r->code : -rc, NULL);
    if (rc == MXP_OK && r->code == 354)
        in_message = 1;
    return rc;
}

static int w_send(struct mxp_smtp *s, const char *line)
{
    char extra[80];

    if (broken) {
        ev_add('S', -broken_status, line);
        return broken_status;
    }
    if (owed == 0 && srv_extras(consumed, extra, sizeof extra) > 0) {
        /* the core's check before a command with nothing owed */
        ev_add('S', -MXP_ERR_PROTOCOL, line);
        return wrap_break(MXP_ERR_PROTOCOL,
                          "server sent data before our %.*s: '%s?"
                          "?'",
                          (int)strcspn(line, " "), line, extra);
    }
    if (in_message)
        violate("'%s' sent after a 354", line);
    if (owed >= 64)
        violate("'%s' sent with %d replies owed", line, owed);
    if (strchr(line, '\r') || strchr(line, '\n'))
        violate("CR or LF in '%s'", line);
    if (send_fails_when_closed && srv_dead()) {
        /* as the core: a failed write breaks the session */
        ev_add('S', -MXP_ERR_CLOSED, line);
        return wrap_break(MXP_ERR_CLOSED,
                          "write failed: connection closed by server");
    }
    if (srv_loses(owed)) {
        /* lost on the way: the server never sees it */
        owed++;
        in_group = 1;
        ev_add('S', 0, line);
        n_lost++;
        return MXP_OK;
    }
    owed++;
    in_group = 1;
    if (owed > max_owed)
        max_owed = owed;
    ev_add('S', 0, line);
    return fake_services.smtp_send(s, line);
}

static int w_command(struct mxp_smtp *s, const char *line,
                     struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply tmp;
    int rc;

    if (r == NULL)
        r = &tmp;
    if (owed > 0)
        violate("smtp_command '%s' with %d replies owed", line, owed);
    if (in_message)
        violate("'%s' sent after a 354", line);
    ev_add('S', 0, line);
    rc = fake_services.smtp_command(s, line, r);
    if (rc != MXP_ERR_TIMEOUT)
        consumed++;
    ev_add('R', rc == MXP_OK ? r->code : -rc, NULL);
    if (rc == MXP_OK && r->code == 354)
        in_message = 1;
    return rc;
}

static int w_ehlo(struct mxp_smtp *s, const char *name,
                  struct mxp_smtp_reply *r, int *used_helo)
{
    int helo = 0, rc;

    if (owed > 0)
        violate("EHLO with %d replies owed", owed);
    ev_add('E', 0, name);
    rc = fake_services.smtp_ehlo(s, name, r, &helo);
    consumed += 1 + (helo && rc != MXP_ERR_TIMEOUT);
    if (used_helo != NULL)
        *used_helo = helo;
    return rc;
}

static int w_send_message(struct mxp_smtp *s, const char *text,
                          struct mxp_smtp_reply *r)
{
    int rc;

    if (!in_message)
        violate("smtp_send_message without a 354");
    ev_add('M', 0, NULL);
    rc = fake_services.smtp_send_message(s, text, r);
    if (rc != MXP_ERR_INVALID && rc != MXP_ERR_TIMEOUT)
        consumed++;
    in_message = 0;
    return rc;
}

static const char *w_error(struct mxp_smtp *s)
{
    return broken ? broken_error : fake_services.smtp_error(s);
}

static void w_close(struct mxp_smtp *s, int send_quit)
{
    if (s != NULL)
        ev_add('C', send_quit, NULL);
    fake_services.smtp_close(s, send_quit);
    owed = 0;
    in_message = 0;
}

/* ---- the scripted server ---------------------------------------------- */

struct srv {
    int greet_code;
    const char *greet;
    int greet_close;     /* the connection closes before the greeting */
    const char *name;    /* first word of the EHLO reply */
    int pipelining;      /* PIPELINING in the EHLO reply */
    int ehlo_close;      /* EHLO gets a closed connection */
    int ehlo_close_even; /* the same, on every second connection only */
    int ehlo_code;       /* EHLO's reply code when not 250 (HELO gets 250) */
    int helo_code;       /* HELO's reply code when not 250 */
    int mail_code;
    const char *mail_text;
    int mail_twice;          /* every MAIL is answered twice */
    const char *mail_refuse; /* a MAIL FROM holding this gets: */
    int mail_refuse_code;
    const char *mail_refuse_text;
    int rcpt_code;
    const char *rcpt_text;
    int pct_only;  /* RCPT with '%' gets 250, others rcpt_code */
    int null_only; /* RCPT after MAIL FROM:<> gets 250, others rcpt_code */
    unsigned change_after; /* on connections after this one, MAIL and */
    int mail_code2;        /* RCPT get these (0: no change) */
    const char *mail_text2;
    int rcpt_code2;
    const char *rcpt_text2;
    int data_code;
    const char *data_text;
    int data_needs_rcpt; /* DATA with no RCPT accepted: 554 (as Postfix) */
    int data_code_me;    /* DATA after a RCPT to ME's domain (0: data_code) */
    const char *data_text_me;
    int answers;           /* per connection: commands answered, then closed
                            * (negative: no limit) */
    int silent_after;      /* commands answered in all, then silence (timeout);
                            * negative: no limit */
    unsigned silent_conn;  /* not 0: silent_after counts the commands of
                            * this connection only */
    unsigned silent_conns; /* with silent_conn: of this many connections
                            * from it (0: one) */
    unsigned same_conns;   /* not 0: a bit per connection (1 << n) that
                            * keeps the first codes; every other one
                            * gets the second ones (change_after unused) */
    unsigned lose_from;    /* not 0: from this connection on, a command
                            * sent while a reply is owed (pipelined) is
                            * lost, as by a firewall that passes only
                            * the first command of each packet */
    int greet_421_conns;   /* the first this many connections are
                            * greeted "421 4.3.2 Too many connections" */
    int dot_timeout;       /* the final dot gets no reply (timeout) */
    const char *rcpt_sender; /* RCPT after a MAIL FROM holding this gets */
    int rcpt_sender_code;    /* these (Postfix's smtpd_delay_reject) */
    const char *rcpt_sender_text;
    int rcpt_fqdn; /* RCPT without a domain: 504 (reject_non_fqdn_recipient) */
    int close_after_answer; /* closed right after the answers-th reply */
    int r421_after;         /* 421 after this many commands; negative: never */
    int r421_every;         /* on every connection, not only the first */
    unsigned r421_conn;     /* not 0: on this connection only */
    /* seen */
    unsigned conns, cmds, total, datas, dots, rsets;
    int dead;
    /* this transaction: MAIL FROM:<>, MAIL refused, a RCPT accepted, a
     * RCPT to ME's domain, its MAIL line */
    int txn_null, txn_refused, txn_rcpt_ok, txn_me;
    char txn_mail[RELAY_ADDR_LEN + 16];
    /* replies queued on this connection, with their first words */
    unsigned queued;
    char qtext[256][48];
    char ehlo_buf[256];
};

static struct srv srv;

static void srv_default(int pipelining)
{
    memset(&srv, 0, sizeof srv);
    srv.greet_code = 220;
    srv.greet = S_ " ESMTP Postfix";
    srv.name = S_;
    srv.pipelining = pipelining;
    srv.mail_code = 250;
    srv.mail_text = "2.1.0 Ok";
    srv.rcpt_code = 554;
    srv.rcpt_text = "5.7.1 <relaytest@example.net>: Relay access denied";
    srv.data_code = 354;
    srv.data_text = "End data with <CR><LF>.<CR><LF>";
    srv.answers = -1;
    srv.silent_after = -1;
    srv.r421_after = -1;
}

static int srv_dead(void)
{
    return srv.dead;
}

static int srv_loses(int replies_owed)
{
    return srv.lose_from != 0 && srv.conns >= srv.lose_from && replies_owed > 0;
}

/* Replies queued on this connection past the first taken ones; text
 * gets the first of them, as the core shows it. */
static unsigned srv_extras(unsigned taken, char *text, size_t len)
{
    snprintf(text, len, "%s",
             taken < srv.queued && taken < 256 ? srv.qtext[taken] : "");
    return srv.queued > taken ? srv.queued - taken : 0;
}

/* Queues a reply; a 421 closes the connection after it. */
static void q_reply(struct srv *v, int code, const char *text)
{
    if (v->queued < 256)
        snprintf(v->qtext[v->queued], sizeof v->qtext[0], "%d %.40s", code,
                 text);
    v->queued++;
    fake_smtp_reply(code, 0.001, text);
    if (code == 421)
        v->dead = 1;
}

static void q_closed(struct srv *v)
{
    v->queued++;
    v->dead = 1;
    fake_smtp_fail(MXP_ERR_CLOSED, "connection closed by server");
}

/* This connection gets mail_code2/rcpt_code2. */
static int srv_changed(const struct srv *v)
{
    if (v->same_conns != 0)
        return v->conns >= 32 || !(v->same_conns & (1u << v->conns));
    return v->conns > v->change_after;
}

static void srv_rcpt(struct srv *v, const char *line)
{
    int code = v->rcpt_code;
    const char *text = v->rcpt_text;

    if (v->txn_refused) {
        q_reply(v, 503, "5.5.1 Error: need MAIL command");
        return;
    }
    if ((v->pct_only && strchr(line, '%')) || (v->null_only && v->txn_null)) {
        code = 250;
        text = "2.1.5 Ok";
    }
    if (v->rcpt_fqdn && !v->txn_refused &&
        strcspn(line + 8, "@") == strlen(line + 8)) {
        char fq[160];

        snprintf(fq, sizeof fq,
                 "5.5.2 %s: Recipient address rejected: "
                 "need fully-qualified address",
                 line + 8);
        q_reply(v, 504, fq);
        return;
    }
    if (v->rcpt_sender != NULL && strstr(v->txn_mail, v->rcpt_sender)) {
        code = v->rcpt_sender_code;
        text = v->rcpt_sender_text;
    }
    if (v->rcpt_code2 != 0 && srv_changed(v)) {
        code = v->rcpt_code2;
        text = v->rcpt_text2;
    }
    if (code / 100 == 2) {
        v->txn_rcpt_ok = 1;
        if (strstr(line, "mailbox.example.com") != NULL)
            v->txn_me = 1;
    }
    q_reply(v, code, text);
}

static void srv_respond(void *user, const char *line)
{
    struct srv *v = user;

    if (line == NULL) {
        v->conns++;
        v->cmds = 0;
        v->dead = 0;
        v->queued = 0;
        v->txn_null = v->txn_refused = v->txn_rcpt_ok = v->txn_me = 0;
        if (v->greet_close) {
            q_closed(v);
            return;
        }
        if (v->conns <= (unsigned)v->greet_421_conns) {
            q_reply(v, 421, "4.3.2 Too many connections");
            return;
        }
        q_reply(v, v->greet_code, v->greet);
        return;
    }
    if (v->dead) {
        q_closed(v);
        return;
    }
    if (strncmp(line, "EHLO ", 5) == 0 || strncmp(line, "HELO ", 5) == 0) {
        if (v->ehlo_close || (v->ehlo_close_even && v->conns % 2 == 0)) {
            q_closed(v);
            return;
        }
        if (line[0] == 'E' && v->ehlo_code != 0) {
            q_reply(v, v->ehlo_code, "5.5.1 EHLO not here");
            return;
        }
        if (line[0] == 'H' && v->helo_code != 0) {
            q_reply(v, v->helo_code, "5.7.1 Go away");
            return;
        }
        snprintf(v->ehlo_buf, sizeof v->ehlo_buf, "%s%s\nSIZE 10240000",
                 v->name, v->pipelining ? "\nPIPELINING" : "");
        q_reply(v, 250, line[0] == 'E' ? v->ehlo_buf : v->name);
        return;
    }
    v->cmds++;
    v->total++;
    if (strcmp(line, "DATA") == 0)
        v->datas++;
    if (strcmp(line, ".") == 0)
        v->dots++;
    if (strcmp(line, "RSET") == 0)
        v->rsets++;
    if (v->silent_after >= 0 &&
        (v->silent_conn == 0
             ? v->total > (unsigned)v->silent_after
             : v->conns >= v->silent_conn &&
                   v->conns < v->silent_conn +
                                  (v->silent_conns ? v->silent_conns : 1) &&
                   v->cmds > (unsigned)v->silent_after))
        return; /* no reply: the fake times out */
    if (v->answers >= 0 && v->cmds > (unsigned)v->answers) {
        q_closed(v);
        return;
    }
    if (v->r421_after >= 0 &&
        (v->r421_conn != 0 ? v->conns == v->r421_conn
                           : v->conns == 1 || v->r421_every) &&
        v->cmds > (unsigned)v->r421_after) {
        q_reply(v, 421, "4.3.2 Service shutting down");
        return;
    }
    if (v->close_after_answer && v->answers >= 0 &&
        v->cmds == (unsigned)v->answers)
        v->dead = 1; /* after this reply */
    if (strncmp(line, "MAIL FROM:", 10) == 0) {
        int dead = v->dead; /* the second reply goes out too */
        int code = v->mail_code;
        const char *text = v->mail_text;

        if (v->mail_refuse != NULL && strstr(line, v->mail_refuse) != NULL) {
            code = v->mail_refuse_code;
            text = v->mail_refuse_text;
        } else if (v->mail_code2 != 0 && srv_changed(v)) {
            code = v->mail_code2;
            text = v->mail_text2;
        }
        v->txn_null = strcmp(line, "MAIL FROM:<>") == 0;
        snprintf(v->txn_mail, sizeof v->txn_mail, "%s", line);
        v->txn_rcpt_ok = v->txn_me = 0;
        v->txn_refused = code / 100 != 2;
        q_reply(v, code, text);
        if (v->mail_twice)
            q_reply(v, code, text);
        v->dead = dead || v->dead;
    } else if (strncmp(line, "RCPT TO:", 8) == 0) {
        srv_rcpt(v, line);
    } else if (strcmp(line, "RSET") == 0) {
        v->txn_null = v->txn_refused = v->txn_rcpt_ok = v->txn_me = 0;
        q_reply(v, 250, "2.0.0 Ok");
    } else if (strcmp(line, "DATA") == 0) {
        if (v->data_needs_rcpt && !v->txn_rcpt_ok)
            q_reply(v, 554, "5.5.1 Error: no valid recipients");
        else if (v->txn_me && v->data_code_me != 0)
            q_reply(v, v->data_code_me, v->data_text_me);
        else
            q_reply(v, v->data_code, v->data_text);
    } else if (strcmp(line, ".") == 0) {
        if (v->dot_timeout)
            fake_smtp_fail(MXP_ERR_TIMEOUT, "no reply within 10.0 s "
                                            "(waiting for reply to message)");
        else
            q_reply(v, 250, "2.0.0 Ok: queued as 4F2A1");
    } else if (strcmp(line, "QUIT") == 0) {
        q_reply(v, 221, "2.0.0 Bye");
    } else {
        q_reply(v, 502, "5.5.2 Error: command not recognized");
    }
}

/* ---- run() helpers ----------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("relay");
    fake_set_target(ADDR, 25);
    fake_set_thresholds(NULL, "0"); /* the plugin's default_critical */
    wrap = fake_services;
    wrap.smtp_open = w_open;
    wrap.smtp_open_start = w_open;
    wrap.smtp_read_reply = w_read;
    wrap.smtp_send = w_send;
    wrap.smtp_command = w_command;
    wrap.smtp_ehlo = w_ehlo;
    wrap.smtp_send_message = w_send_message;
    wrap.smtp_close = w_close;
    wrap.smtp_error = w_error;
    n_ev = 0;
    owed = max_owed = in_message = 0;
    send_fails_when_closed = broken = 0;
    broken_status = MXP_ERR_CLOSED;
    broken_error[0] = '\0';
    consumed = 0;
    n_lost = 0;
    in_group = extras_late = 0;
    violation[0] = '\0';
    srv_default(1);
    fake_smtp_set_responder(srv_respond, &srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

static void dump(void)
{
    if (getenv("RELAY_TEST_EVENTS") != NULL)
        for (size_t i = 0; i < n_ev; i++)
            print_message("ev %c %d %s\n", evs[i].kind, evs[i].code,
                          evs[i].line);
    print_message("summary: %s\n", fake_summary());
    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *d = fake_detail(i, &st);

        print_message("detail %d: %s\n", (int)st, d);
    }
}

static void run_relay(const char *yaml)
{
    void *st = NULL;
    struct mxp_ctx *ctx;
    char one[1024];

    /* The scripted server and the wrapper follow one connection at a
     * time: these tests run the pool with one connection (the
     * concurrent cases have a server of their own, below). */
    if (yaml == NULL || strstr(yaml, "connections:") == NULL ||
        strstr(yaml, "forms_per_connection:") != NULL) {
        snprintf(one, sizeof one, "connections: 1\n%s", yaml ? yaml : "");
        yaml = one;
    }
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(relay_init(fake_init_ctx(), &st), MXP_OK);
    ctx = fake_ctx();
    ctx->svc = &wrap;
    assert_int_equal(relay_run(ctx, st), MXP_OK);
    relay_free(st);
    fake_ctx(); /* back to the plain services */
    assert_int_equal(fake_result_calls(), 1);
    if (violation[0] != '\0') {
        dump();
        fail_msg("the core would refuse: %s", violation);
    }
    if (getenv("RELAY_TEST_DUMP") != NULL)
        dump();
    /* every session opened is closed */
    assert_int_equal(fake_smtp_closes(), fake_smtp_opens());
}

static void assert_summary(enum mxp_state want, const char *s)
{
    if (strcmp(fake_summary(), s) != 0 || fake_state() != want) {
        dump();
        fail_msg("got state %d '%s', expected %d '%s'", (int)fake_state(),
                 fake_summary(), (int)want, s);
    }
}

static void assert_summary_has(enum mxp_state want, const char *s)
{
    if (strstr(fake_summary(), s) == NULL || fake_state() != want) {
        dump();
        fail_msg("got state %d '%s', expected %d with '%s'", (int)fake_state(),
                 fake_summary(), (int)want, s);
    }
}

static void assert_detail(const char *s, enum mxp_state want)
{
    enum mxp_state st;

    if (fake_detail_find(s, &st) < 0) {
        dump();
        fail_msg("no detail containing '%s'", s);
    }
    if (st != want) {
        dump();
        fail_msg("detail '%s': state %d, expected %d", s, (int)st, (int)want);
    }
}

static double perf(const char *metric)
{
    const struct mxp_perf *p = fake_perf_find(metric);

    if (p == NULL)
        fail_msg("no perfdata '%s'", metric);
    return p->value;
}

/* Lines sent that equal line exactly. */
static size_t sent_exact(const char *line)
{
    size_t n = 0;

    for (size_t i = 0; i < fake_smtp_n_sent(); i++)
        n += strcmp(fake_smtp_sent(i), line) == 0;
    return n;
}

/* Lines sent that start with prefix. */
static size_t sent_prefix(const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < fake_smtp_n_sent(); i++)
        n += strncmp(fake_smtp_sent(i), prefix, strlen(prefix)) == 0;
    return n;
}

/* Details in state st whose text starts with prefix. */
static size_t details_with(enum mxp_state want, const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *d = fake_detail(i, &st);

        n += st == want && strncmp(d, prefix, strlen(prefix)) == 0;
    }
    return n;
}

/* Every one of the 17 forms (S_, LIT) was sent at least once. */
static void assert_all_forms_sent(void)
{
    static const struct want_form want[] = WANT_FORMS(S_, LIT);
    char line[RELAY_ADDR_LEN + 16];

    for (size_t i = 0; i < 17; i++) {
        snprintf(line, sizeof line, "RCPT TO:%s", want[i].rcpt);
        if (sent_exact(line) == 0)
            fail_msg("form %zu's '%s' never sent", i + 1, line);
        snprintf(line, sizeof line, "MAIL FROM:%s", want[i].mail);
        if (sent_exact(line) == 0)
            fail_msg("form %zu's '%s' never sent", i + 1, line);
    }
}

/* Connection by connection, as a pattern string per connection:
 * S = send, R = read (the greeting's read left out). */
static size_t connection_patterns(char pat[][256], size_t max)
{
    size_t n = 0, len = 0;
    int first_read = 0;

    for (size_t i = 0; i < n_ev; i++) {
        char k = evs[i].kind;

        if (k == 'O') {
            if (evs[i].code != MXP_OK)
                continue;
            if (n == max)
                break;
            n++;
            len = 0;
            pat[n - 1][0] = '\0';
            first_read = 1;
            continue;
        }
        if (n == 0 || (k != 'S' && k != 'R'))
            continue;
        if (k == 'R' && first_read) {
            first_read = 0;
            continue;
        }
        if (len + 1 < 256) {
            pat[n - 1][len++] = k;
            pat[n - 1][len] = '\0';
        }
    }
    return n;
}

/* ---- run(): verdicts -------------------------------------------------- */

static void test_run_closed(void **state)
{
    char pat[64][256];
    size_t n;

    (void)state;
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    assert_true(perf("forms") == 17);
    assert_true(perf("accepted") == 0);
    /* one connection at a time here: 6 batches of one sender each */
    assert_true(perf("connections") == 6);
    assert_true(fake_perf_find("accepted")->max == 17);
    assert_string_equal(fake_perf_find("accepted")->crit, "0");
    assert_string_equal(fake_perf_find("time")->uom, "s");
    assert_string_equal(fake_perf(0)->metric, "accepted");
    assert_int_equal(sent_prefix("DATA"), 0);
    assert_int_equal(srv.datas, 0);
    assert_int_equal(fake_smtp_opens(), 6);
    assert_int_equal(sent_exact("EHLO probe.mxprobe.test"), 6);
    assert_all_forms_sent();
    /* forms of one sender share a MAIL: 5 senders, the 13 of the
     * literal in two batches (8 forms a connection at most) */
    assert_int_equal(sent_prefix("MAIL FROM:"), 6);
    assert_int_equal(sent_prefix("RCPT TO:"), 17);
    assert_int_equal(sent_exact("RSET"), 6);
    assert_int_equal(details_with(MXP_STATE_OK, "refused MAIL FROM:"), 17);
    assert_detail("refused MAIL FROM:<> RCPT TO:<relaytest@example.net> "
                  "(554 5.7.1 <relaytest@example.net>: Relay access denied)",
                  MXP_STATE_OK);
    /* pipelined: after EHLO, each connection sends its whole batch and
     * QUIT, then reads: goodbye costs no round trip of its own */
    n = connection_patterns(pat, 64);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(pat[i], "SRSSSSRRRR");
    assert_string_equal(pat[3], "SRSSSSSSSSSSRRRRRRRRRR"); /* 7 forms */
    assert_string_equal(pat[4], "SRSSSSSSSSSRRRRRRRRR");   /* 6 forms */
    assert_string_equal(pat[5], "SRSSSSRRRR");
    assert_int_equal(sent_exact("QUIT"), 6);
    assert_int_equal(max_owed, 10);
}

static void test_run_closed_plain(void **state)
{
    char pat[64][256];
    size_t n;

    (void)state;
    srv_default(0);
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    assert_true(perf("forms") == 17);
    assert_int_equal(fake_smtp_opens(), 6);
    assert_int_equal(srv.datas, 0);
    assert_all_forms_sent();
    n = connection_patterns(pat, 64);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; pat[i][j] != '\0'; j++)
            if (pat[i][j] != (j % 2 ? 'R' : 'S'))
                fail_msg("connection %zu not one command at a time: %s", i,
                         pat[i]);
    /* EHLO, MAIL, the RCPTs, RSET */
    assert_int_equal(strlen(pat[0]), (1 + 1 + 1 + 1) * 2);
    assert_int_equal(strlen(pat[3]), (1 + 1 + 7 + 1) * 2);
    assert_int_equal(max_owed, 1);
}

/* The DATA commands of each connection: at most one, on its own one. */
static size_t data_connections(void)
{
    size_t conns = 0, in_conn = 0;

    for (size_t i = 0; i < n_ev; i++) {
        if (evs[i].kind == 'O') {
            in_conn = 0;
        } else if (evs[i].kind == 'S' && strcmp(evs[i].line, "DATA") == 0) {
            if (++in_conn > 1)
                fail_msg("two DATA on one connection (event %zu)", i);
            conns++;
        } else if (evs[i].kind == 'S' && in_conn > 0 &&
                   strcmp(evs[i].line, "RSET") == 0) {
            fail_msg("RSET after DATA on one connection (event %zu)", i);
        }
    }
    return conns;
}

/* The form (0-based, forms of S_ and LIT) whose RCPT preceded the nth
 * DATA sent (with its MAIL FROM), or -1. */
static int nth_data_rcpt(size_t nth)
{
    static const struct want_form want[] = WANT_FORMS(S_, LIT);
    const char *mail = NULL, *rcpt = NULL;
    size_t seen = 0;

    for (size_t i = 0; i < n_ev; i++) {
        if (evs[i].kind != 'S')
            continue;
        if (strncmp(evs[i].line, "MAIL FROM:", 10) == 0)
            mail = evs[i].line + 10;
        else if (strncmp(evs[i].line, "RCPT TO:", 8) == 0)
            rcpt = evs[i].line + 8;
        else if (strcmp(evs[i].line, "DATA") == 0 && seen++ == nth) {
            for (size_t f = 0; f < 17 && mail && rcpt; f++)
                if (strcmp(want[f].mail, mail) == 0 &&
                    strcmp(want[f].rcpt, rcpt) == 0)
                    return (int)f;
            return -1;
        }
    }
    return -1;
}

/* The idx-th line sent on the conn-th connection (1-based), or "". */
static const char *conn_sent(size_t conn, size_t idx)
{
    size_t c = 0, seen = 0;

    for (size_t i = 0; i < n_ev; i++) {
        if (evs[i].kind == 'O')
            c++;
        else if (evs[i].kind == 'S' && c == conn && seen++ == idx)
            return evs[i].line;
    }
    return "";
}

/* The 1-based connection of the nth DATA sent, or 0. */
static size_t nth_data_conn(size_t nth)
{
    size_t conn = 0, seen = 0;

    for (size_t i = 0; i < n_ev; i++) {
        if (evs[i].kind == 'O')
            conn++;
        else if (evs[i].kind == 'S' && strcmp(evs[i].line, "DATA") == 0 &&
                 seen++ == nth)
            return conn;
    }
    return 0;
}

static void test_run_open(void **state)
{
    static const int modes[] = {1, 0};

    (void)state;
    for (size_t m = 0; m < 2; m++) {
        char pat[64][256];
        size_t n;

        teardown(NULL);
        setup(NULL);
        srv_default(modes[m]);
        srv.rcpt_code = 250;
        srv.rcpt_text = "2.1.5 Ok";
        fake_set_my_email(ME); /* set, but deliver is off */
        run_relay(NULL);
        assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
        assert_true(perf("accepted") == 17);
        assert_true(perf("forms") == 17);
        /* 6 survey connections; the first form confirmed at once, the
         * others of each sender in one transaction: 1 + 4 */
        assert_true(perf("connections") == 6 + 5);
        assert_int_equal(fake_smtp_opens(), 6 + 5);
        assert_int_equal(srv.datas, 5);
        assert_int_equal(data_connections(), 5);
        assert_int_equal(fake_smtp_n_messages(), 0);
        assert_int_equal(sent_exact("."), 0);
        assert_int_equal(srv.dots, 0);
        assert_all_forms_sent();
        assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays MAIL FROM:"),
                         17);
        assert_detail("relays MAIL FROM:<" F_ "@" LIT "> RCPT TO:<" T_ "%" D_
                      "@" LIT "> (RCPT 250 2.1.5 Ok, DATA 354 End "
                      "data with <CR><LF>.<CR><LF>)",
                      MXP_STATE_CRITICAL);
        assert_int_equal(fake_detail_find("sent test message", NULL), -1);
        /* the survey's first connection, then at once the confirmation
         * of the form it found accepted, then the rest of the survey,
         * then the other confirmations, a sender each: MAIL, the RCPTs,
         * DATA, pipelined when offered */
        n = connection_patterns(pat, 64);
        assert_int_equal(n, 11);
        assert_string_equal(pat[0], modes[m] ? "SRSSSSRRRR" : "SRSRSRSR");
        assert_string_equal(pat[1], modes[m] ? "SRSSSRRR" : "SRSRSRSR");
        assert_string_equal(pat[2], pat[0]);
        /* the 13 forms of the literal sender, confirmed together */
        assert_string_equal(pat[9], modes[m] ? "SRSSSSSSSSSSSSSSS"
                                               "RRRRRRRRRRRRRRR"
                                             : "SRSRSRSRSRSRSRSRSRSRSRSRSR"
                                               "SRSRSR");
        assert_int_equal(nth_data_rcpt(0), 0);
        assert_int_equal(nth_data_conn(0), 2);
        assert_int_equal(nth_data_conn(1), 8);
        assert_int_equal(nth_data_rcpt(1), 1);
        assert_int_equal(nth_data_rcpt(2), 2);
        assert_int_equal(nth_data_rcpt(3), 15); /* the last RCPT of 13 */
        assert_int_equal(nth_data_rcpt(4), 16);
        /* each form confirmed once: its RCPT TO went out twice (survey,
         * confirmation) */
        assert_int_equal(sent_exact("MAIL FROM:<>"), 2);
        assert_int_equal(sent_exact("RCPT TO:<" T_ "%" D_ "@" LIT ">"), 2);
    }
}

static void test_run_percent_only(void **state)
{
    static const char *const pct[] = {
        "RCPT TO:<" T_ "%" D_ "@" LIT ">",
        "RCPT TO:<" T_ "%" D_ "@" S_ ">",
        "RCPT TO:<\"" T_ "%" D_ "\">",
    };

    (void)state;
    srv.pct_only = 1;
    run_relay(NULL);
    assert_summary(MXP_STATE_CRITICAL, "open relay (3/17 forms)");
    assert_true(perf("accepted") == 3);
    /* the three share the literal sender and a batch: one
     * confirmation, at once after that batch */
    assert_int_equal(srv.datas, 1);
    assert_int_equal(fake_smtp_opens(), 6 + 1);
    assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays "), 3);
    assert_int_equal(details_with(MXP_STATE_OK, "refused "), 14);
    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *d = fake_detail(i, &st);

        if (st == MXP_STATE_CRITICAL && strchr(d, '%') == NULL)
            fail_msg("a relaying form without %%: %s", d);
    }
    for (size_t i = 0; i < 3; i++) {
        char want[RELAY_ADDR_LEN + 64];

        /* the DATA probe went out for exactly these */
        if (sent_exact(pct[i]) != 2)
            fail_msg("'%s' sent %zu times, expected 2", pct[i],
                     sent_exact(pct[i]));
        snprintf(want, sizeof want, "relays MAIL FROM:<" F_ "@" LIT "> %s",
                 pct[i]);
        assert_detail(want, MXP_STATE_CRITICAL);
    }
    assert_int_equal(fake_smtp_n_messages(), 0);
}

static void test_run_data_refused(void **state)
{
    (void)state;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    srv.data_code = 554;
    srv.data_text = "5.5.1 Error: no valid recipients";
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused, 17 "
                                 "accepted at RCPT but refused at DATA");
    assert_true(perf("accepted") == 0);
    /* the first at once; 3 more senders of one form; the 13 forms of
     * the literal sender refused together, then each alone */
    assert_int_equal(srv.datas, 1 + 3 + 1 + 13);
    assert_int_equal(details_with(MXP_STATE_OK, "accepted at RCPT, refused "
                                                "at DATA: "),
                     17);
    assert_detail("accepted at RCPT, refused at DATA: MAIL FROM:<> RCPT "
                  "TO:<relaytest@example.net> (554 5.5.1 Error: no valid "
                  "recipients)",
                  MXP_STATE_OK);
    assert_int_equal(details_with(MXP_STATE_CRITICAL, ""), 0);
}

static void test_run_data_refused_some(void **state)
{
    (void)state;
    srv.pct_only = 1;
    srv.data_code = 554;
    srv.data_text = "5.7.1 Relaying denied";
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused, 3 "
                                 "accepted at RCPT but refused at DATA");
    assert_int_equal(details_with(MXP_STATE_OK, "accepted at RCPT, refused "
                                                "at DATA: "),
                     3);
    assert_int_equal(details_with(MXP_STATE_OK, "refused MAIL"), 14);
}

static void test_run_auth_required(void **state)
{
    static const struct {
        int pipelining, at_mail;
    } t[] = {{1, 1}, {0, 1}, {1, 0}, {0, 0}};

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        teardown(NULL);
        setup(NULL);
        srv_default(t[i].pipelining);
        if (t[i].at_mail) {
            srv.mail_code = 530;
            srv.mail_text = "5.7.0 Authentication required";
        }
        srv.rcpt_code = 530;
        srv.rcpt_text = "5.7.0 Authentication required";
        run_relay(NULL);
        assert_summary(MXP_STATE_OK, "no open relay: authentication "
                                     "required (530 5.7.0 Authentication "
                                     "required)");
        assert_true(perf("forms") == 17);
        assert_int_equal(srv.datas, 0);
        if (t[i].at_mail && !t[i].pipelining)
            assert_int_equal(sent_prefix("RCPT TO:"), 0);
    }
}

static void test_run_tempfail_rcpt(void **state)
{
    (void)state;
    srv.rcpt_code = 450;
    srv.rcpt_text = "4.7.1 <relaytest@example.net>: Recipient address "
                    "rejected: greylisted";
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN,
                   "inconclusive: 17/17 forms temporarily refused (450 "
                   "4.7.1 <relaytest@example.net>: Recipient address "
                   "rejected: greylisted)");
    assert_int_equal(srv.datas, 0);
    assert_true(perf("accepted") == 0);
    assert_int_equal(details_with(MXP_STATE_UNKNOWN, "temporarily refused "),
                     17);
}

/* Postfix's default (defer_unauth_destination) refuses relaying with a
 * 4xx: a refusal in words, not an inconclusive tempfail. */
static void test_run_deferred_relay_denied(void **state)
{
    static const char *const texts[] = {
        "4.7.1 <relaytest@example.net>: Relay access denied",
        "4.7.1 Unable to relay for relaytest@example.net",
    };

    (void)state;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        teardown(NULL);
        setup(NULL);
        srv_default(1);
        srv.rcpt_code = 454;
        srv.rcpt_text = texts[i];
        run_relay(NULL);
        assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
        assert_int_equal(srv.datas, 0);
        assert_int_equal(details_with(MXP_STATE_OK, "refused MAIL FROM:"), 17);
    }
}

static void test_run_tempfail_data(void **state)
{
    (void)state;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    srv.data_code = 451;
    srv.data_text = "4.3.0 Try again later";
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN, "inconclusive: 17/17 forms temporarily "
                                      "refused (451 4.3.0 Try again later)");
    /* the 13 forms of one sender together, then each alone */
    assert_int_equal(srv.datas, 1 + 3 + 1 + 13);
    assert_int_equal(details_with(MXP_STATE_UNKNOWN, "accepted at RCPT, DATA "
                                                     "temporarily refused: "),
                     17);
    assert_int_equal(details_with(MXP_STATE_CRITICAL, ""), 0);
}

/* ---- run(): servers that drop, 421, stall ----------------------------- */

/* Closing after N answered commands: every form still gets tested, over
 * as many connections as it takes (a form is settled once its RCPT is
 * answered; forms of one sender share the MAIL: N - 1 forms a
 * connection; batches of 1, 1, 1, 7, 6 and 1 forms).  A confirmation of
 * many forms dropped before DATA's answer goes form by form. */
static void test_run_drops_after_n(void **state)
{
    static const struct {
        int answers, relays;
        size_t opens;
    } t[] = {
        {2, 0, 17}, {3, 0, 11}, {4, 0, 9},      {5, 0, 8},       {8, 0, 6},
        {11, 0, 6}, {23, 0, 6}, {5, 1, 8 + 18}, {3, 1, 11 + 18},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        for (int pipe = 0; pipe <= 1; pipe++) {
            teardown(NULL);
            setup(NULL);
            srv_default(pipe);
            srv.answers = t[i].answers;
            if (t[i].relays) {
                srv.rcpt_code = 250;
                srv.rcpt_text = "2.1.5 Ok";
            }
            run_relay(NULL);
            if (fake_smtp_opens() != t[i].opens)
                fail_msg("answers %d pipelining %d: %zu connections, "
                         "expected %zu",
                         t[i].answers, pipe, fake_smtp_opens(), t[i].opens);
            assert_true(perf("forms") == 17);
            assert_all_forms_sent();
            if (t[i].relays)
                assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 "
                                                   "forms)");
            else
                assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms "
                                             "refused");
        }
}

/* The same, when the server closes right after its Nth reply and the
 * next command's write fails (one command at a time: the failed send is
 * how the plugin learns of the close). */
static void test_run_send_fails(void **state)
{
    static const struct {
        int answers;
        size_t opens;
    } t[] = {{2, 17}, {3, 11}, {5, 8}, {11, 6}};

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        teardown(NULL);
        setup(NULL);
        srv_default(0);
        srv.answers = t[i].answers;
        srv.close_after_answer = 1;
        send_fails_when_closed = 1;
        run_relay(NULL);
        assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
        if (fake_smtp_opens() != t[i].opens)
            fail_msg("answers %d: %zu connections, expected %zu", t[i].answers,
                     fake_smtp_opens(), t[i].opens);
        assert_all_forms_sent();
    }
}

/* Accepted at RCPT but the confirming connection drops before DATA's
 * answer: not a relay, not refused either. */
static void test_run_unconfirmed(void **state)
{
    (void)state;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    srv.answers = 2; /* MAIL and RCPT, then closed */
    run_relay(NULL);
    assert_summary_has(MXP_STATE_UNKNOWN, "inconclusive: 17/17 forms "
                                          "accepted at RCPT but not "
                                          "confirmed");
    assert_int_equal(details_with(MXP_STATE_UNKNOWN, "accepted at RCPT, not "
                                                     "confirmed at DATA: "),
                     17);
    assert_detail("accepted at RCPT, not confirmed at DATA: MAIL FROM:<> "
                  "RCPT TO:<relaytest@example.net> (250 2.1.5 Ok; "
                  "connection closed by server)",
                  MXP_STATE_UNKNOWN);
    assert_true(perf("accepted") == 0);
    /* a dropped confirmation is tried again, a bounded number of times:
     * the first gets all its tries, the others run meanwhile (the 13 of
     * one sender dropped together, then each alone) and get no more once
     * it failed in all of them */
    assert_int_equal(fake_smtp_opens(), 17 + RELAY_CONFIRM_TRIES + 4 + 16);
}

/* Closing before any form is settled: a bounded number of tries. */
static void test_run_drops_at_once(void **state)
{
    static const int answers[] = {0, 1};

    (void)state;
    for (size_t i = 0; i < 2; i++)
        for (int pipe = 0; pipe <= 1; pipe++) {
            teardown(NULL);
            setup(NULL);
            srv_default(pipe);
            srv.answers = answers[i];
            run_relay(NULL);
            assert_summary_has(MXP_STATE_UNKNOWN, "inconclusive: 0/17 forms "
                                                  "tested (connection closed "
                                                  "by server)");
            assert_in_range(fake_smtp_opens(), 2, 4);
            assert_true(perf("forms") == 0);
        }
}

static void test_run_421_mid_session(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        /* the third RCPT of the literal sender's first batch (forms 4 to
         * 10, on the 4th connection) */
        srv.r421_after = 3;
        srv.r421_conn = 4;
        run_relay(NULL);
        assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
        assert_int_equal(fake_smtp_opens(), 7);
        assert_all_forms_sent();
        /* form 6 on: again, from a MAIL, on the next connection */
        assert_int_equal(sent_exact("MAIL FROM:<" F_ "@" LIT ">"), 3);
        assert_int_equal(sent_exact("RCPT TO:<" T_ "%" D_ "@" S_ ">"), 2);
        assert_int_equal(sent_exact("RCPT TO:<" T_ "%" D_ "@" LIT ">"), 1);
        assert_int_equal(sent_exact("MAIL FROM:<>"), 1);
        assert_int_equal(details_with(MXP_STATE_OK, "refused "), 17);
    }
}

static void test_run_421_always(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.r421_after = 0;
        srv.r421_every = 1;
        run_relay(NULL);
        assert_summary(MXP_STATE_UNKNOWN, "inconclusive: 0/17 forms tested "
                                          "(421 4.3.2 Service shutting "
                                          "down)");
        assert_in_range(fake_smtp_opens(), 2, 4);
    }
}

static void test_run_closes_after_greeting(void **state)
{
    (void)state;
    srv.ehlo_close = 1;
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN,
                   "cannot test relaying: connection closed by server");
    assert_in_range(fake_smtp_opens(), 1, 4);
    assert_int_equal(sent_prefix("MAIL"), 0);

    teardown(NULL);
    setup(NULL);
    srv.greet_close = 1;
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN,
                   "cannot test relaying: connection closed by server");
    assert_in_range(fake_smtp_opens(), 1, 4);
}

static void assert_plain_from(size_t from);

/* A server that stops answering: the timeout ends the test.  Pipelined,
 * a timeout may be a firewall that lost commands: one more connection,
 * one command at a time, which times out too; then no more. */
static void test_run_silent(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        /* forms 1 and 2 (a batch each) answered; pipelined, the second
         * batch's RSET is not, and plain, the third's MAIL */
        srv.silent_after = 6;
        run_relay(NULL);
        assert_summary(MXP_STATE_UNKNOWN,
                       "inconclusive: 2/17 forms tested (no reply within "
                       "20.0 s (fake script ended))");
        assert_int_equal(fake_smtp_opens(), 3);
        assert_true(perf("forms") == 2);
        assert_true(perf("connections") == 3);
        assert_plain_from(pipe ? 2 : 0);
        /* the third batch (form 3) on the last connection, plain */
        assert_int_equal(sent_exact("MAIL FROM:<" F_ "@" S_ ">"), 1);
        assert_int_equal(srv.datas, 0);
    }
}

static void test_run_connect_refused(void **state)
{
    (void)state;
    fake_smtp_fail_open(MXP_ERR_CONNECT,
                        "cannot connect to " ADDR ":25: connection refused");
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN, "cannot test relaying: cannot connect "
                                      "to " ADDR ":25: connection refused");
    assert_int_equal(fake_smtp_opens(), 1);
    assert_int_equal(fake_smtp_n_sent(), 0);
}

static void test_run_greeting_refuses(void **state)
{
    static const struct {
        int code;
        const char *text, *summary;
    } t[] = {
        {554, "5.7.1 mail.example.org: no SMTP service here",
         "cannot test relaying: greeting 554 5.7.1 mail.example.org: no "
         "SMTP service here"},
        {421, "4.3.2 Too many connections",
         "cannot test relaying: greeting 421 4.3.2 Too many connections"},
    };
    /* 421 says "later": the first connection is tried again, a bounded
     * number of times; 554 is final */
    static const size_t opens[] = {1, RELAY_MAX_STALLS};

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        teardown(NULL);
        setup(NULL);
        srv.greet_code = t[i].code;
        srv.greet = t[i].text;
        run_relay(NULL);
        assert_summary(MXP_STATE_UNKNOWN, t[i].summary);
        assert_int_equal(fake_smtp_opens(), opens[i]);
        assert_int_equal(sent_prefix("EHLO"), 0);
        assert_int_equal(sent_prefix("MAIL"), 0);
    }
}

/* EHLO refused, HELO accepted: one command at a time, HELO's name. */
static void test_run_helo_only(void **state)
{
    (void)state;
    srv.ehlo_code = 502;
    srv.greet = "ESMTP ready";
    srv.name = "mx3.example.org";
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    assert_int_equal(sent_exact("HELO probe.mxprobe.test"), 6);
    assert_int_equal(max_owed, 1);
    assert_int_equal(sent_exact("MAIL FROM:<" F_ "@mx3.example.org>"), 1);
}

static void test_run_helo_refused(void **state)
{
    (void)state;
    srv.ehlo_code = 502;
    srv.helo_code = 550;
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN, "cannot test relaying: EHLO and HELO "
                                      "refused: 550 5.7.1 Go away");
    assert_int_equal(fake_smtp_opens(), 1);
    assert_int_equal(sent_prefix("MAIL"), 0);
}

static void test_run_no_time(void **state)
{
    (void)state;
    fake_set_remaining(0.1);
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN, "cannot test relaying: no time left "
                                      "before the deadline");
    assert_int_equal(fake_smtp_opens(), 0);
}

/* ---- run(): pipelining chunks ----------------------------------------- */

static void test_run_per_connection(void **state)
{
    static const struct {
        const char *yaml;
        unsigned per;
        int pct;
        size_t opens;
    } t[] = {
        /* batches of one sender each, at most per forms: senders of 1
         * form, and the 13 of the literal split evenly (per: the
         * biggest batch) */
        {NULL, 7, 0, 6},
        {"forms_per_connection: 1\n", 1, 0, 17},
        {"forms_per_connection: 5\n", 5, 0, 7},
        {"forms_per_connection: 16\n", 13, 0, 5},
        {"forms_per_connection: 17\n", 13, 0, 5},
        {"forms_per_connection: 100\n", 13, 0, 5},
        /* the 3 % forms share a batch: one confirmation; one a batch:
         * the first confirmed at once, the other two together */
        {NULL, 7, 1, 6 + 1},
        {"forms_per_connection: 1\n", 1, 1, 17 + 2},
        {"forms_per_connection: 100\n", 13, 1, 5 + 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        for (int pipe = 0; pipe <= 1; pipe++) {
            unsigned chunk = t[i].per;

            teardown(NULL);
            setup(NULL);
            srv_default(pipe);
            srv.pct_only = t[i].pct;
            run_relay(t[i].yaml);
            if (fake_smtp_opens() != t[i].opens)
                fail_msg("case %zu pipelining %d: %zu connections, "
                         "expected %zu",
                         i, pipe, fake_smtp_opens(), t[i].opens);
            assert_true(perf("forms") == 17);
            assert_true(perf("connections") == (double)t[i].opens);
            /* pipelined: MAIL, the batch's RCPTs, RSET and QUIT */
            assert_int_equal(max_owed, pipe ? (int)(chunk + 3) : 1);
            assert_int_equal(sent_exact("RSET"),
                             t[i].pct ? t[i].opens - 1 - (t[i].per == 1)
                                      : t[i].opens);
        }
}

/* ---- run(): the server's name ----------------------------------------- */

static void test_run_names(void **state)
{
    static const struct {
        const char *addr, *domain, *greet, *ehlo;
        size_t n_forms;
        const char *must[3]; /* lines sent */
        const char *never;   /* a substring no line has */
    } t[] = {
        /* -D wins over the greeting; R its registered domain */
        {ADDR,
         "mx.example.com",
         S_ " ESMTP",
         S_,
         17,
         {"MAIL FROM:<" F_ "@mx.example.com>", "MAIL FROM:<" F_ "@example.com>",
          "RCPT TO:<" T_ "%" D_ "@mx.example.com>"},
         "example.org"},
        /* -D a registered domain itself: no own-domain form */
        {ADDR,
         "example.com",
         S_ " ESMTP",
         S_,
         16,
         {"MAIL FROM:<" F_ "@example.com>",
          "RCPT TO:<@example.com:" T_ "@" D_ ">",
          "RCPT TO:<" D_ "!" T_ "@example.com>"},
         "example.org"},
        /* the greeting's name, lowercased */
        {ADDR,
         NULL,
         "Mail.Example.ORG ESMTP",
         "other.example.net",
         17,
         {"MAIL FROM:<" F_ "@" S_ ">", "MAIL FROM:<" F_ "@" R_ ">",
          "RCPT TO:<" T_ "%" D_ "@" S_ ">"},
         "other.example"},
        /* no name in the greeting: the EHLO reply's */
        {ADDR,
         NULL,
         "ESMTP ready",
         "mx2.example.org",
         17,
         {"MAIL FROM:<" F_ "@mx2.example.org>", "MAIL FROM:<" F_ "@" R_ ">",
          "RCPT TO:<" T_ "@" D_ "@mx2.example.org>"},
         "ESMTP"},
        /* no name anywhere: the address literal */
        {ADDR,
         NULL,
         "ESMTP ready",
         "localhost",
         11,
         {"MAIL FROM:<" F_ "@" LIT ">", "RCPT TO:<" T_ "%" D_ "@" LIT ">",
          "RCPT TO:<@" LIT ":" T_ "@" D_ ">"},
         "localhost"},
        {"::1",
         NULL,
         "ESMTP ready",
         "localhost",
         11,
         {"MAIL FROM:<" F_ "@" LIT6 ">", "RCPT TO:<" T_ "%" D_ "@" LIT6 ">",
          "RCPT TO:<" D_ "!" T_ "@" LIT6 ">"},
         "localhost"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char want[64];

        teardown(NULL);
        setup(NULL);
        fake_set_target(t[i].addr, 25);
        fake_set_domain(t[i].domain);
        srv.greet = t[i].greet;
        srv.name = t[i].ehlo;
        run_relay(NULL);
        snprintf(want, sizeof want, "no open relay: %zu/%zu forms refused",
                 t[i].n_forms, t[i].n_forms);
        if (strcmp(fake_summary(), want) != 0) {
            dump();
            fail_msg("case %zu: '%s', expected '%s'", i, fake_summary(), want);
        }
        for (size_t j = 0; j < 3; j++)
            if (sent_exact(t[i].must[j]) == 0) {
                for (size_t k = 0; k < fake_smtp_n_sent(); k++)
                    print_message("sent: %s\n", fake_smtp_sent(k));
                fail_msg("case %zu: '%s' never sent", i, t[i].must[j]);
            }
        for (size_t k = 0; k < fake_smtp_n_sent(); k++)
            if (strncmp(fake_smtp_sent(k), "EHLO ", 5) != 0 &&
                strstr(fake_smtp_sent(k), t[i].never) != NULL)
                fail_msg("case %zu: '%s' sent", i, fake_smtp_sent(k));
    }
}

/* A greeting name written with the root's dot ("mail.example.org.", which
 * is_host_name accepts): RFC 5321 domains have no trailing dot, so the
 * addresses must not either ("<relaytest@mail.example.org.>" is a syntax
 * error a server answers 501, wasting the form). */
static void test_run_name_trailing_dot(void **state)
{
    (void)state;
    srv.greet = S_ ". ESMTP Postfix";
    srv.name = S_ ".";
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    for (size_t k = 0; k < fake_smtp_n_sent(); k++)
        if (strstr(fake_smtp_sent(k), ".>") != NULL ||
            strstr(fake_smtp_sent(k), ".:") != NULL)
            fail_msg("address with a trailing dot sent: '%s'",
                     fake_smtp_sent(k));
    assert_int_equal(sent_exact("MAIL FROM:<" F_ "@" S_ ">"), 1);
    assert_int_equal(sent_exact("MAIL FROM:<" F_ "@" R_ ">"), 1);
    assert_int_equal(sent_exact("RCPT TO:<" T_ "%" D_ "@" S_ ">"), 1);
}

/* ---- run(): deliver --------------------------------------------------- */

/* The token of the one message's Subject, checked to be 16 hex digits. */
static void message_token(char *token)
{
    const char *msg = fake_smtp_message(0), *p;
    static const char subj[] = "\nSubject: mxprobe relay test ";

    assert_non_null(msg);
    p = strstr(msg, subj);
    if (p == NULL)
        fail_msg("no Subject in the message:\n%s", msg);
    p += strlen(subj);
    for (size_t i = 0; i < 16; i++)
        if (!isxdigit((unsigned char)p[i]))
            fail_msg("Subject token not 16 hex digits: %.40s", p);
    assert_int_equal(p[16], '\n');
    memcpy(token, p, 16);
    token[16] = '\0';
}

/* The connection that completed the message used the operator's mailbox
 * as its MAIL FROM or a RCPT (what the core requires). */
static void assert_message_session_mine(void)
{
    size_t start = 0;

    for (size_t i = 0; i < n_ev; i++) {
        if (evs[i].kind == 'O')
            start = i;
        if (evs[i].kind != 'M')
            continue;
        for (size_t j = start; j < i; j++)
            if (evs[j].kind == 'S' &&
                (strcmp(evs[j].line, "MAIL FROM:<" ME ">") == 0 ||
                 strcmp(evs[j].line, "RCPT TO:<" ME ">") == 0))
                return;
        fail_msg("message completed on a session without <" ME ">");
    }
    fail_msg("no message completed");
}

static void test_run_deliver(void **state)
{
    char token[17], want[512];

    (void)state;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    fake_set_my_email(ME);
    run_relay("deliver: true\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_int_equal(fake_smtp_n_messages(), 1);
    assert_int_equal(sent_exact("."), 1);
    assert_int_equal(srv.dots, 1);
    /* the survey, the confirmations (one per sender), the message */
    assert_int_equal(fake_smtp_opens(), 6 + 5 + 1);
    message_token(token);
    assert_message_session_mine();
    /* the first relaying form: the null sender to a plain recipient */
    snprintf(want, sizeof want,
             "sent test message %s to " ME " via MAIL FROM:<> RCPT TO:<" ME
             "> (250 2.0.0 Ok: queued as 4F2A1)",
             token);
    assert_detail(want, MXP_STATE_CRITICAL);
    assert_non_null(strstr(fake_smtp_message(0), "\nTo: <" ME ">\n"));
    assert_non_null(strstr(fake_smtp_message(0), token));
}

static void test_run_deliver_percent(void **state)
{
    char token[17], want[512];

    (void)state;
    srv.pct_only = 1;
    fake_set_my_email(ME);
    run_relay("deliver: on\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (3/17 forms)");
    assert_int_equal(fake_smtp_n_messages(), 1);
    message_token(token);
    assert_message_session_mine();
    assert_int_equal(sent_exact("RCPT TO:<me%mailbox.example.com@" LIT ">"), 1);
    snprintf(want, sizeof want,
             "sent test message %s to " ME " via MAIL FROM:<" ME "> RCPT "
             "TO:<me%%mailbox.example.com@" LIT "> (250 ",
             token);
    assert_detail(want, MXP_STATE_CRITICAL);
}

static void test_run_deliver_without_my_email(void **state)
{
    (void)state;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    run_relay("deliver: true\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(sent_exact("."), 0);
    assert_int_equal(fake_smtp_opens(), 6 + 5);
    assert_detail("my_email", MXP_STATE_OK);
}

static void test_run_deliver_off(void **state)
{
    static const char *const yaml[] = {NULL, "deliver: false\n"};

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        teardown(NULL);
        setup(NULL);
        srv.rcpt_code = 250;
        srv.rcpt_text = "2.1.5 Ok";
        fake_set_my_email(ME);
        run_relay(yaml[i]);
        assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
        assert_int_equal(fake_smtp_n_messages(), 0);
        assert_int_equal(sent_exact("."), 0);
        assert_int_equal(fake_detail_find("test message", NULL), -1);
        assert_int_equal(fake_smtp_opens(), 6 + 5);
    }
}

static void test_run_deliver_not_relaying(void **state)
{
    (void)state;
    fake_set_my_email(ME);
    run_relay("deliver: true\n");
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(fake_smtp_opens(), 6);
    assert_int_equal(fake_detail_find("test message", NULL), -1);
}

/* ---- run(): the review's fixes ----------------------------------------- */

/* A detail in state want that contains every one of parts (NULL ended):
 * for texts with the random token in the middle. */
static void assert_detail_parts(enum mxp_state want, ...)
{
    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *d = fake_detail(i, &st);
        const char *part;
        int all = st == want;
        va_list ap;

        va_start(ap, want);
        while ((part = va_arg(ap, const char *)) != NULL)
            all = all && strstr(d, part) != NULL;
        va_end(ap);
        if (all)
            return;
    }
    dump();
    fail_msg("no detail in state %d with all the parts", (int)want);
}

/* No detail or summary with an empty reason: "()", "; )", ": " at the
 * end. */
static void assert_no_empty_reason(void)
{
    for (size_t i = 0; i <= fake_n_details(); i++) {
        const char *d =
            i < fake_n_details() ? fake_detail(i, NULL) : fake_summary();
        size_t n = strlen(d);

        if (strstr(d, "()") != NULL || strstr(d, "; )") != NULL ||
            (n >= 2 && strcmp(d + n - 2, ": ") == 0)) {
            dump();
            fail_msg("an empty reason: '%s'", d);
        }
    }
}

/* 1. DATA answered 250 instead of 354 on the delivery connection: no
 * message exists, so it is "not sent", never "sent test message". */
static void test_fix_deliver_data_not_354(void **state)
{
    (void)state;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    srv.data_code_me = 250;
    srv.data_text_me = "2.0.0 Ok";
    fake_set_my_email(ME);
    run_relay("deliver: true\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(sent_exact("."), 0);
    assert_int_equal(fake_detail_find("sent test message", NULL), -1);
    assert_detail_parts(MXP_STATE_UNKNOWN, "test message ",
                        " to " ME " not sent: 250 2.0.0 Ok", NULL);
    /* the delivery connection got as far as DATA */
    assert_int_equal(sent_exact("RCPT TO:<" ME ">"), 1);
    assert_int_equal(srv.datas, 5 + 1);
}

/* 2. A 421 gives its own words as the reason: at DATA of every
 * confirmation (tried RELAY_CONFIRM_TRIES times), and at DATA of the
 * delivery. */
static void test_fix_421_reason(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.rcpt_code = 250;
        srv.rcpt_text = "2.1.5 Ok";
        srv.data_code = 421;
        srv.data_text = "4.3.2 Service shutting down";
        run_relay(NULL);
        assert_summary(MXP_STATE_UNKNOWN,
                       "inconclusive: 17/17 forms accepted at RCPT but not "
                       "confirmed (421 4.3.2 Service shutting down)");
        assert_detail("accepted at RCPT, not confirmed at DATA: MAIL "
                      "FROM:<> RCPT TO:<relaytest@example.net> (250 2.1.5 "
                      "Ok; 421 4.3.2 Service shutting down)",
                      MXP_STATE_UNKNOWN);
        /* the first confirmation's tries, the others' first (the 13 of
         * one sender together), then those 13 alone and a second try of
         * the 3 others, started before the first had used all its tries */
        assert_int_equal(fake_smtp_opens(),
                         6 + RELAY_CONFIRM_TRIES + 4 + 16);
        assert_no_empty_reason();
    }

    teardown(NULL);
    setup(NULL);
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    srv.data_code_me = 421;
    srv.data_text_me = "4.3.2 Service shutting down";
    fake_set_my_email(ME);
    run_relay("deliver: true\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_detail_parts(MXP_STATE_UNKNOWN, "test message ",
                        " to " ME " not sent: 421 4.3.2 Service shutting "
                        "down",
                        NULL);
    assert_no_empty_reason();
}

/* 3. Why the survey stopped survives the confirmations that follow
 * (which fail for reasons of their own), and the summary says how many
 * forms were accepted but not confirmed.  The connections: 1 the survey
 * of form 1 (accepted), 2 its early confirmation (421 at DATA), 3 the
 * survey of form 2, silent (pipelined: 4 once more, one command at a
 * time, silent too), then form 1's other two tries. */
static void test_fix_survey_reason_kept(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.rcpt_code = 250;
        srv.rcpt_text = "2.1.5 Ok";
        srv.silent_after = 0; /* the survey's second connection hangs */
        srv.silent_conn = 3;
        srv.silent_conns = 1 + (unsigned)pipe;
        srv.data_code = 421; /* and every confirmation fails */
        srv.data_text = "4.3.2 Service shutting down";
        run_relay(NULL);
        assert_summary(MXP_STATE_UNKNOWN,
                       "inconclusive: 1/17 forms tested (no reply within "
                       "20.0 s (fake script ended)), 1 accepted at RCPT, "
                       "not confirmed");
        assert_int_equal(fake_smtp_opens(), 5 + pipe);
        assert_int_equal(srv.datas, RELAY_CONFIRM_TRIES);
        for (size_t i = 0; i < RELAY_CONFIRM_TRIES; i++)
            assert_int_equal(nth_data_rcpt(i), 0);
        assert_int_equal(nth_data_conn(0), 2);
        assert_int_equal(nth_data_conn(1), 4 + pipe);
        assert_int_equal(sent_exact("MAIL FROM:<>"), 1 + RELAY_CONFIRM_TRIES);
        assert_detail("accepted at RCPT, not confirmed at DATA: MAIL "
                      "FROM:<> RCPT TO:<relaytest@example.net> (250 2.1.5 "
                      "Ok; 421 4.3.2 Service shutting down)",
                      MXP_STATE_UNKNOWN);
        assert_int_equal(details_with(MXP_STATE_UNKNOWN, "accepted at RCPT, "
                                                         "not confirmed"),
                         1);
    }
}

/* 4. The confirmation reconnects: a server that closes right after the
 * greeting on every second connection and relays only MAIL FROM:<>. */
static void test_fix_confirm_reconnects(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.ehlo_close_even = 1;
        srv.null_only = 1;
        run_relay(NULL);
        assert_summary(MXP_STATE_CRITICAL, "open relay (1/17 forms)");
        assert_detail("relays MAIL FROM:<> RCPT TO:<relaytest@example.net> "
                      "(RCPT 250 2.1.5 Ok, DATA 354 ",
                      MXP_STATE_CRITICAL);
        assert_int_equal(details_with(MXP_STATE_OK, "refused "), 16);
        /* 1 the survey of form 1, 2 its confirmation, closed; the other
         * 5 batches each on an odd connection after a closed one (3 to
         * 11); the confirmation again: 12 closed, 13 */
        assert_int_equal(fake_smtp_opens(), 13);
        assert_int_equal(srv.datas, 1);
    }

    /* a 421 at DATA on the first confirming connection only */
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.null_only = 1;
        srv.r421_after = 2; /* MAIL, RCPT answered; DATA gets 421 */
        srv.r421_conn = 2;  /* the first form's early confirmation */
        run_relay("forms_per_connection: 17\n");
        assert_summary(MXP_STATE_CRITICAL, "open relay (1/17 forms)");
        /* 5 batches, the confirmation twice */
        assert_int_equal(fake_smtp_opens(), 5 + 2);
        assert_int_equal(srv.datas, 2);
    }
}

/* Every connection after the first `from` ones sent one command at a
 * time (no pipelining). */
static void assert_plain_from(size_t from)
{
    char pat[64][256];
    size_t n = connection_patterns(pat, 64);

    for (size_t i = from; i < n; i++)
        for (size_t j = 0; pat[i][j] != '\0'; j++)
            if (pat[i][j] != (j % 2 ? 'R' : 'S')) {
                dump();
                fail_msg("connection %zu pipelined: %s", i + 1, pat[i]);
            }
}

/* No verdict either way: neither "open relay" nor "no open relay", and
 * no form said to relay or be refused. */
static void assert_no_verdict(void)
{
    if (fake_state() != MXP_STATE_UNKNOWN ||
        strncmp(fake_summary(), "inconclusive: ", 14) != 0 ||
        strstr(fake_summary(), "temporarily refused") != NULL) {
        dump();
        fail_msg("a verdict: state %d '%s'", (int)fake_state(), fake_summary());
    }
    assert_int_equal(details_with(MXP_STATE_CRITICAL, ""), 0);
    assert_int_equal(details_with(MXP_STATE_OK, "refused "), 0);
    assert_int_equal(fake_detail_find("temporarily refused", NULL), -1);
}

/* 5. A server that answers every MAIL twice and relays everything: the
 * replies of a pipelined DATA group are out of step (250 to DATA), the
 * form is never "temporarily refused (250 ...)"; without pipelining the
 * session breaks: inconclusive.  extras_late: the extra reply shows up
 * after the group's last reply was read (only the plugin's own check of
 * DATA's 2xx sees it), or already with it (the core's "more replies than
 * commands"). */
static void test_fix_mail_answered_twice_relays(void **state)
{
    (void)state;
    for (int late = 0; late <= 1; late++)
        for (int pipe = 0; pipe <= 1; pipe++) {
            teardown(NULL);
            setup(NULL);
            srv_default(pipe);
            extras_late = late;
            srv.mail_twice = 1;
            srv.rcpt_code = 250;
            srv.rcpt_text = "2.1.5 Ok";
            run_relay(NULL);
            assert_no_verdict();
            assert_int_equal(fake_smtp_n_messages(), 0);
            /* once out of step, never pipelined again */
            if (pipe) {
                size_t first = 0;

                /* the first confirming connection may pipeline: it is
                 * the one that finds the replies out of step */
                for (size_t i = 0; i < n_ev; i++)
                    if (evs[i].kind == 'S' && strcmp(evs[i].line, "DATA") == 0)
                        break;
                    else if (evs[i].kind == 'O')
                        first++;
                assert_plain_from(first);
            }
        }
}

/* 5. The same server refusing to relay: the first pipelined group's
 * RSET gets the RCPT's 554; what was judged there is forgotten, the
 * forms go again one command at a time, which breaks the session:
 * inconclusive, never "no open relay" (nor "accepted"). */
static void test_fix_mail_answered_twice_refuses(void **state)
{
    (void)state;
    for (int late = 0; late <= 1; late++) {
        teardown(NULL);
        setup(NULL);
        extras_late = late;
        srv.mail_twice = 1;
        run_relay(NULL);
        assert_no_verdict();
        assert_summary_has(MXP_STATE_UNKNOWN, "inconclusive: 0/17 forms "
                                              "tested (");
        assert_int_equal(fake_n_details(), 0);
        assert_int_equal(srv.datas, 0);
        assert_plain_from(1);
        assert_in_range(fake_smtp_opens(), 2, 3);
    }
    /* without pipelining at all: the session breaks at once */
    teardown(NULL);
    setup(NULL);
    srv_default(0);
    srv.mail_twice = 1;
    run_relay(NULL);
    assert_no_verdict();
    assert_summary_has(MXP_STATE_UNKNOWN, "inconclusive: 0/17 forms tested "
                                          "(more replies than commands: "
                                          "'250 2.1.0 Ok");
    assert_int_equal(fake_smtp_opens(), 1);
}

/* 5. The core's "more replies than commands" ends a pipelined survey
 * group (the extra reply is only noticed with the last reply owed, the
 * QUIT's): the forms judged on that connection are forgotten and tried
 * again without pipelining.  A server answering MAIL twice with every
 * reply a 2xx gets past the RSET check: only the core sees it. */
static void test_fix_survey_more_replies(void **state)
{
    (void)state;
    srv.mail_twice = 1;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    run_relay(NULL);
    assert_no_verdict();
    /* the survey's second connection is one command at a time */
    assert_plain_from(1);
}

/* 6. A 5xx to MAIL FROM says nothing of the recipient: the forms with
 * the literal sender go again with the sender the server took (<>). */
#define REFUSE_LIT                                                             \
    do {                                                                       \
        srv.mail_refuse = "@" LIT ">";                                         \
        srv.mail_refuse_code = 553;                                            \
        srv.mail_refuse_text = "5.1.8 <relaytest@" LIT ">: Sender address "    \
                               "rejected: Domain not found";                   \
    } while (0)
#define REFUSED_LIT                                                            \
    "its own sender <relaytest@" LIT "> (553 5.1.8 <relaytest@" LIT ">: "      \
    "Sender address rejected: Domain not found) was refused)"

static void test_fix_sender_refused_closed(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        REFUSE_LIT;
        run_relay(NULL);
        assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
        /* forms 5..16 again with MAIL FROM:<>, in two batches; form 4
         * with <> is form 1: folded into it, not tried twice */
        assert_int_equal(sent_exact("MAIL FROM:<>"), 1 + 2);
        assert_int_equal(sent_exact("MAIL FROM:<" F_ "@" LIT ">"), 2);
        /* (one at a time, no RCPT after the refused MAIL) */
        assert_int_equal(sent_exact("RCPT TO:<" T_ "@" D_ ">"), 4 + pipe);
        assert_int_equal(fake_smtp_opens(), 6 + 2);
        assert_int_equal(details_with(MXP_STATE_OK, "refused MAIL FROM:<> "),
                         1 + 12);
        assert_detail("MAIL FROM:<" F_ "@" LIT "> RCPT TO:<" T_ "@" D_
                      ">: its sender was refused (553 5.1.8 ",
                      MXP_STATE_OK);
        assert_detail("with sender <> instead it is MAIL FROM:<> RCPT "
                      "TO:<" T_ "@" D_ ">, reported as that form",
                      MXP_STATE_OK);
        assert_detail("refused MAIL FROM:<> RCPT TO:<" T_ "%" D_ "@" LIT
                      "> (554 5.7.1 <relaytest@example.net>: Relay access "
                      "denied; " REFUSED_LIT,
                      MXP_STATE_OK);
        assert_int_equal(fake_detail_find("sender refused, recipient not",
                                          NULL),
                         -1);
        assert_true(perf("forms") == 17);
    }
}

/* 6. ... and a server that refuses literal senders but relays the
 * %-hack is an open relay (before: "no open relay"). */
static void test_fix_sender_refused_percent_relays(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        REFUSE_LIT;
        srv.pct_only = 1;
        run_relay(NULL);
        /* the count says with which sender they relay (issue 8.6) */
        assert_summary(MXP_STATE_CRITICAL, "open relay (3/17 forms with "
                                           "sender <> instead of their own)");
        assert_true(perf("accepted") == 3);
        assert_detail("relays RCPT TO:<" T_ "%" D_ "@" LIT "> with sender <> "
                      "instead: MAIL FROM:<> RCPT TO:<" T_ "%" D_ "@" LIT
                      "> (RCPT 250 2.1.5 Ok, DATA 354 End data with "
                      "<CR><LF>.<CR><LF>; " REFUSED_LIT,
                      MXP_STATE_CRITICAL);
        assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays "), 3);
        /* the three share the sender <>: one confirmation */
        assert_int_equal(srv.datas, 1);
    }
}

/* 6. Every sender refused: nothing is known of the recipients. */
static void test_fix_every_sender_refused(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.mail_code = 553;
        srv.mail_text = "5.1.8 Sender address rejected: Domain not found";
        run_relay(NULL);
        assert_summary(MXP_STATE_UNKNOWN,
                       "inconclusive: the server refused every sender (553 "
                       "5.1.8 Sender address rejected: Domain not found)");
        assert_int_equal(details_with(MXP_STATE_UNKNOWN,
                                      "sender refused, recipient not "
                                      "tested: MAIL FROM:"),
                         17);
        assert_int_equal(fake_smtp_opens(), 6);
    }
}

/* 7. Accepted at RCPT in the survey, refused on the confirming
 * connection (a pool of servers that disagree). data_needs_rcpt: DATA
 * then gets 554 "no valid recipients" (Postfix); without it, 354 after
 * the refused RCPT, which a pipelined confirmation takes for replies out
 * of step and tries again one command at a time. */
static void test_fix_inconsistent(void **state)
{
    (void)state;
    for (int needs = 0; needs <= 1; needs++)
        for (int pipe = 0; pipe <= 1; pipe++) {
            teardown(NULL);
            setup(NULL);
            srv_default(pipe);
            srv.rcpt_code = 250;
            srv.rcpt_text = "2.1.5 Ok";
            /* the survey's connections keep accepting: 1, then (after
             * the early confirmation of form 1 on 2) the next five */
            srv.same_conns = 1u << 1 | 1u << 3 | 1u << 4 | 1u << 5 |
                             1u << 6 | 1u << 7;
            srv.rcpt_code2 = 554;
            srv.rcpt_text2 = "5.7.1 <relaytest@example.net>: Relay access "
                             "denied";
            srv.data_needs_rcpt = needs;
            run_relay(NULL);
            assert_summary(MXP_STATE_UNKNOWN,
                           "inconclusive: 17/17 forms accepted at RCPT on "
                           "one connection, refused on another (554 5.7.1 "
                           "<relaytest@example.net>: Relay access denied)");
            assert_detail("accepted at RCPT on one connection, refused on "
                          "another: MAIL FROM:<> RCPT "
                          "TO:<relaytest@example.net> (554 5.7.1 "
                          "<relaytest@example.net>: Relay access denied)",
                          MXP_STATE_UNKNOWN);
            assert_int_equal(details_with(MXP_STATE_UNKNOWN, "accepted at "
                                                             "RCPT on one "),
                             17);
            assert_int_equal(details_with(MXP_STATE_CRITICAL, ""), 0);
            /* 6 survey connections, 5 confirmations (a sender each);
             * pipelined with a 354 after the 554: the first once more,
             * plainly, as every one after it */
            assert_int_equal(fake_smtp_opens(),
                             6 + 5 + (pipe && !needs ? 1 : 0));
            /* form 1 confirmed (found inconsistent) right after the
             * survey's first connection, and only then */
            assert_string_equal(conn_sent(2, 1), "MAIL FROM:<>");
            assert_string_equal(conn_sent(2, 2), "RCPT TO:<" T_ "@" D_ ">");
            assert_string_equal(conn_sent(2, 3), pipe ? "DATA" : "");
            assert_int_equal(sent_exact("MAIL FROM:<>"),
                             2 + (pipe && !needs ? 1 : 0));
            if (pipe && !needs)
                assert_plain_from(2);
        }
}

/* 7. The sender refused on the confirming connection. */
static void test_fix_inconsistent_mail(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.pct_only = 1;
        srv.data_needs_rcpt = 1;
        /* the survey's connections (the 5th confirms the % forms, found
         * on the 4th) */
        srv.same_conns = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 6;
        srv.mail_code2 = 553;
        srv.mail_text2 = "5.7.1 Sender blocked";
        run_relay("forms_per_connection: 17\n");
        assert_summary(MXP_STATE_UNKNOWN,
                       "inconclusive: 3/17 forms accepted at RCPT on one "
                       "connection, refused on another (553 5.7.1 Sender "
                       "blocked)");
        assert_int_equal(details_with(MXP_STATE_UNKNOWN, "accepted at RCPT "
                                                         "on one "),
                         3);
        assert_int_equal(details_with(MXP_STATE_OK, "refused "), 14);
        assert_int_equal(fake_smtp_opens(), 5 + 1);
    }
}

/* 8. The server's name S: -D lowercased, one trailing dot dropped, used
 * only when a host name; else the greeting's, else EHLO's, else the
 * literal. */
static void test_fix_server_name(void **state)
{
    static const struct {
        const char *domain, *greet, *ehlo;
        const char *s; /* the name in MAIL FROM:<F@S> */
        size_t n_forms;
    } t[] = {
        {".", S_ " ESMTP", "other.example.net", S_, 17},
        {"..", S_ " ESMTP", "other.example.net", S_, 17},
        {"MX.Example.COM.", S_ " ESMTP", S_, "mx.example.com", 17},
        {"MX.EXAMPLE.COM", "ESMTP", S_, "mx.example.com", 17},
        {"localhost", S_ " ESMTP", "other.example.net", S_, 17},
        {"bad name.example", S_ " ESMTP", S_, S_, 17},
        {"a..b.example", "ESMTP ready", "MX2.Example.ORG.", "mx2.example.org",
         17},
        {".", "ESMTP ready", "localhost", LIT, 11},
        {"", "[127.0.0.21] ESMTP", "localhost.", LIT, 11},
        {NULL, "Mail.Example.ORG. ESMTP", "x", S_, 17},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char want[RELAY_NAME_LEN + 32];

        teardown(NULL);
        setup(NULL);
        fake_set_domain(t[i].domain);
        srv.greet = t[i].greet;
        srv.name = t[i].ehlo;
        run_relay(NULL);
        snprintf(want, sizeof want, "no open relay: %zu/%zu forms refused",
                 t[i].n_forms, t[i].n_forms);
        if (strcmp(fake_summary(), want) != 0) {
            dump();
            fail_msg("case %zu: '%s', expected '%s'", i, fake_summary(), want);
        }
        snprintf(want, sizeof want, "MAIL FROM:<" F_ "@%s>", t[i].s);
        if (sent_exact(want) == 0)
            fail_msg("case %zu: '%s' never sent", i, want);
        for (size_t k = 0; k < fake_smtp_n_sent(); k++) {
            const char *l = fake_smtp_sent(k);

            if (strstr(l, "@>") != NULL || strstr(l, "@:") != NULL ||
                strstr(l, ".>") != NULL || strstr(l, ".:") != NULL)
                fail_msg("case %zu: '%s' sent", i, l);
            if ((strncmp(l, "MAIL FROM:", 10) == 0 ||
                 strncmp(l, "RCPT TO:", 8) == 0) &&
                strpbrk(strchr(l, ':') + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
                    NULL)
                fail_msg("case %zu: upper case in '%s'", i, l);
        }
    }
}

/* ---- run(): the lead's changes ------------------------------------------ */

/* (1) An open relay that goes silent after the survey's first
 * connection: only the confirmation of the first accepted form, run at
 * once, proves it.  Connections: 1 the survey (form 1 accepted), 2 its
 * confirmation (354), 3 the survey again, silent (pipelined: 4 once
 * more without pipelining, silent too). */
static void test_new_early_confirmation(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.rcpt_code = 250;
        srv.rcpt_text = "2.1.5 Ok";
        srv.silent_after = 0;
        srv.silent_conn = 3;
        srv.silent_conns = 100;
        run_relay(NULL);
        assert_summary(MXP_STATE_CRITICAL, "open relay (1/17 forms)");
        assert_detail("relays MAIL FROM:<> RCPT TO:<relaytest@example.net> "
                      "(RCPT 250 2.1.5 Ok, DATA 354 End data with "
                      "<CR><LF>.<CR><LF>)",
                      MXP_STATE_CRITICAL);
        assert_int_equal(details_with(MXP_STATE_CRITICAL, ""), 1);
        assert_true(perf("forms") == 1);
        assert_true(perf("accepted") == 1);
        assert_int_equal(nth_data_conn(0), 2);
        assert_int_equal(nth_data_rcpt(0), 0);
        assert_int_equal(srv.datas, 1);
        assert_int_equal(fake_smtp_opens(), 3 + pipe);
        /* form 1 confirmed once: its MAIL went out in the survey and in
         * the confirmation only */
        assert_int_equal(sent_exact("MAIL FROM:<>"), 2);
        assert_int_equal(fake_smtp_n_messages(), 0);
    }
}

/* (1) The early confirmation is of the first form accepted, even when
 * it comes from the survey's second connection; no form is confirmed
 * twice.  Only MAIL FROM:<> relays here (form 1 is in the first
 * connection); with %-hack only, the first accepted is form 5. */
static void test_new_early_confirmation_order(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.pct_only = 1;
        run_relay("forms_per_connection: 4\n");
        assert_summary(MXP_STATE_CRITICAL, "open relay (3/17 forms)");
        /* survey: forms 1, 2, 3 a batch each, then 4..7 (forms 5 and 6
         * accepted), confirmed together at once; then 8..10 (form 8),
         * 3 more batches, then form 8's confirmation */
        assert_int_equal(nth_data_conn(0), 5);
        assert_int_equal(nth_data_rcpt(0), 5);
        assert_int_equal(nth_data_rcpt(1), 7);
        assert_int_equal(srv.datas, 2);
        assert_int_equal(fake_smtp_opens(), 8 + 2);
        assert_int_equal(sent_exact("RCPT TO:<" T_ "%" D_ "@" LIT ">"), 2);
    }
}

/* (2) A firewall that passes only the first command of each pipelined
 * packet: the survey's first connection times out and the forms go
 * again one command at a time, every form settled. */
static void test_new_lost_pipelined_survey(void **state)
{
    (void)state;
    srv.lose_from = 1;
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    assert_true(n_lost > 0);
    /* the first batch again, plainly, and the other 5 */
    assert_int_equal(fake_smtp_opens(), 1 + 1 + 5);
    assert_plain_from(1);
    assert_all_forms_sent();
    assert_int_equal(details_with(MXP_STATE_OK, "refused MAIL FROM:"), 17);
    assert_true(perf("forms") == 17);
}

/* (2) ... and on the confirmation: the survey's first 4 connections pass
 * (no loss), the pipelined MAIL, RCPTs, DATA of the first confirmation
 * (the 5th) lose the RCPTs and DATA, it is tried again one command at a
 * time and the relay proven; every later connection is plain. */
static void test_new_lost_pipelined_confirm(void **state)
{
    (void)state;
    srv.pct_only = 1;
    srv.lose_from = 5;
    run_relay("forms_per_connection: 17\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (3/17 forms)");
    assert_int_equal(n_lost, 3 + 1);
    assert_int_equal(fake_smtp_opens(), 5 + 2);
    assert_plain_from(5);
    assert_int_equal(srv.datas, 1);
    assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays "), 3);
    assert_detail("relays MAIL FROM:<" F_ "@" LIT "> RCPT TO:<" T_ "%" D_
                  "@" LIT "> (RCPT 250 2.1.5 Ok, DATA 354 ",
                  MXP_STATE_CRITICAL);
}

/* (2) Silence after the first reply on a plain connection is no lost
 * packet: no second try (test_run_silent has the pipelined side). */
static void test_new_silent_plain_no_retry(void **state)
{
    (void)state;
    srv_default(0);
    srv.lose_from = 1; /* never pipelined: nothing is lost */
    srv.silent_after = 1;
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN, "inconclusive: 0/17 forms tested (no "
                                      "reply within 20.0 s (fake script "
                                      "ended))");
    assert_int_equal(n_lost, 0);
    assert_int_equal(fake_smtp_opens(), 1);
}

/* (3) 421 at the greeting, or a close before it, on the first
 * connection: tried again; the second connection works. */
static void test_new_first_connection_retried(void **state)
{
    (void)state;
    srv.greet_421_conns = 1;
    run_relay(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    assert_int_equal(fake_smtp_opens(), 1 + 6);
    assert_int_equal(sent_exact("EHLO probe.mxprobe.test"), 6);
    assert_all_forms_sent();

    /* more 421s in a row than RELAY_MAX_STALLS: given up */
    teardown(NULL);
    setup(NULL);
    srv.greet_421_conns = RELAY_MAX_STALLS;
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN, "cannot test relaying: greeting 421 "
                                      "4.3.2 Too many connections");
    assert_int_equal(fake_smtp_opens(), RELAY_MAX_STALLS);

    /* closed before the greeting, every time: bounded */
    teardown(NULL);
    setup(NULL);
    srv.greet_close = 1;
    run_relay(NULL);
    assert_summary(MXP_STATE_UNKNOWN,
                   "cannot test relaying: connection closed by server");
    assert_int_equal(fake_smtp_opens(), RELAY_MAX_STALLS);
}

/* The close of each connection that sent DATA: 1 with QUIT, 0 without,
 * in order, into quits (at most max); returns how many. */
static size_t data_closes(int *quits, size_t max)
{
    size_t n = 0;
    int data = 0;

    for (size_t i = 0; i < n_ev; i++) {
        if (evs[i].kind == 'O')
            data = 0;
        else if (evs[i].kind == 'S' && strcmp(evs[i].line, "DATA") == 0)
            data = 1;
        else if (evs[i].kind == 'C' && data && n < max)
            quits[n++] = evs[i].code;
    }
    return n;
}

/* (5) DATA answered neither 354 nor 4xx/5xx: shown as "<reply> instead
 * of 354", not a relay, and the session is dropped without QUIT (the
 * server may be taking content); after 4xx/5xx at DATA QUIT is sent,
 * after 354 it is not. */
static void test_new_data_not_354(void **state)
{
    static const struct {
        int pipe, code;
        const char *text, *shown;
        int quit;
    } t[] = {
        {0, 250, "2.0.0 Ok", "250 2.0.0 Ok instead of 354", 0},
        {0, 334, "VXNlcm5hbWU6", "334 VXNlcm5hbWU6 instead of 354", 0},
        {1, 334, "VXNlcm5hbWU6", "334 VXNlcm5hbWU6 instead of 354", 0},
        {1, 354, "go ahead", NULL, 0},
        {1, 451, "4.3.0 Try again later", "451 4.3.0 Try again later", 1},
        {0, 554, "5.5.1 Error: no valid recipients",
         "554 5.5.1 Error: no valid recipients", 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        int quits[32];
        size_t n;
        char want[256];

        teardown(NULL);
        setup(NULL);
        srv_default(t[i].pipe);
        srv.null_only = 1;
        srv.data_code = t[i].code;
        srv.data_text = t[i].text;
        run_relay(NULL);
        n = data_closes(quits, 32);
        if (n != 1)
            fail_msg("case %zu: %zu connections with DATA, expected 1", i, n);
        if (quits[0] != t[i].quit)
            fail_msg("case %zu: closed with send_quit %d, expected %d", i,
                     quits[0], t[i].quit);
        if (t[i].shown == NULL) {
            assert_summary(MXP_STATE_CRITICAL, "open relay (1/17 forms)");
            continue;
        }
        if (t[i].code / 100 == 5) {
            assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms "
                                         "refused, 1 accepted at RCPT but "
                                         "refused at DATA");
            continue;
        }
        snprintf(want, sizeof want,
                 "inconclusive: 1/17 forms temporarily "
                 "refused (%s)",
                 t[i].shown);
        assert_summary(MXP_STATE_UNKNOWN, want);
        snprintf(want, sizeof want,
                 "accepted at RCPT, DATA temporarily "
                 "refused: MAIL FROM:<> RCPT "
                 "TO:<relaytest@example.net> (%s)",
                 t[i].shown);
        assert_detail(want, MXP_STATE_UNKNOWN);
        assert_int_equal(details_with(MXP_STATE_CRITICAL, ""), 0);
    }
}

/* (6) The test message and its dot went out, the reply to the dot never
 * came: it may have been delivered, which is CRITICAL, never "not
 * sent". */
static void test_new_deliver_dot_unanswered(void **state)
{
    (void)state;
    srv.rcpt_code = 250;
    srv.rcpt_text = "2.1.5 Ok";
    srv.dot_timeout = 1;
    fake_set_my_email(ME);
    run_relay("deliver: true\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_int_equal(fake_smtp_n_messages(), 1);
    assert_int_equal(srv.dots, 1);
    assert_detail_parts(MXP_STATE_CRITICAL, "sent test message ",
                        " to " ME " via MAIL FROM:<> RCPT TO:<" ME ">, but "
                        "no reply to the final dot (no reply within 10.0 s "
                        "(waiting for reply to message)): it may have been "
                        "delivered",
                        NULL);
    assert_int_equal(fake_detail_find("not sent", NULL), -1);
    assert_int_equal(fake_detail_find("refused: ", NULL), -1);
    assert_int_equal(details_with(MXP_STATE_UNKNOWN, "test message"), 0);
    assert_no_empty_reason();
}

/* (7) Postfix with smtpd_delay_reject answers a sender restriction at
 * RCPT: "553 5.1.8 ... Sender address rejected" for the literal sender
 * is about the sender, not relaying: the forms go again with <>, and the
 * %-hack relays. */
static void test_new_sender_refused_at_rcpt(void **state)
{
    (void)state;
    for (int pipe = 0; pipe <= 1; pipe++) {
        teardown(NULL);
        setup(NULL);
        srv_default(pipe);
        srv.rcpt_sender = "@" LIT ">";
        srv.rcpt_sender_code = 553;
        srv.rcpt_sender_text = "5.1.8 <relaytest@" LIT ">: Sender address "
                               "rejected: Domain not found";
        srv.pct_only = 1;
        run_relay(NULL);
        assert_summary(MXP_STATE_CRITICAL, "open relay (3/17 forms with "
                                           "sender <> instead of their own)");
        assert_detail("relays RCPT TO:<" T_ "%" D_ "@" LIT "> with sender <> "
                      "instead: MAIL FROM:<> RCPT TO:<" T_ "%" D_ "@" LIT
                      "> (RCPT 250 2.1.5 Ok, DATA 354 End data with "
                      "<CR><LF>.<CR><LF>; " REFUSED_LIT,
                      MXP_STATE_CRITICAL);
        assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays "), 3);
        /* form 4 with <> is form 1: folded into it */
        assert_int_equal(details_with(MXP_STATE_OK, "refused "), 13);
        assert_int_equal(fake_detail_find("reported as that form", NULL) >= 0,
                         1);
        assert_int_equal(fake_detail_find("sender refused, recipient not",
                                          NULL),
                         -1);
        assert_int_equal(sent_exact("MAIL FROM:<" F_ "@" LIT ">"), 2);
        assert_int_equal(srv.datas, 1);
    }
}

/* (7) A refusal about form 3's sender, at RCPT or at MAIL, 4xx or 5xx:
 * the form goes again with <>, and a closed server is "no open relay",
 * not inconclusive.  A refusal about the recipient is not retried. */
/* Which replies speak of our sender: the enhanced code alone, exactly
 * X.1.7/X.1.8, unless the words say the recipient or relaying is meant. */
static void test_refuses_sender_words(void **state)
{
    static const struct {
        int code;
        const char *text;
        int sender;
    } t[] = {
        {550, "550 5.1.8", 1},
        {450, "450 4.1.8 <a@b>: Sender address rejected: Domain not found", 1},
        {553, "553 5.1.7 bad sender", 1},
        {550, "550 x.1.8 odd", 0},
        {550, "550 5.1.80 odd", 0},
        {554, "554 5.1.8 <relaytest@example.net>: Relay access denied", 0},
        {504, "504 5.5.2 <x>: Recipient address rejected: need "
              "fully-qualified address", 0},
        {504, "504 5.5.2 <x>: Sender address rejected: need "
              "fully-qualified address", 1},
        {554, "554 5.7.1 <x>: Relay access denied", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct reply_copy rep;

        rep.code = t[i].code;
        snprintf(rep.text, sizeof rep.text, "%s", t[i].text);
        if (refuses_sender(&fake_services, &rep) != t[i].sender)
            fail_msg("'%s': expected %d", t[i].text, t[i].sender);
    }
}

static void test_new_sender_refusals(void **state)
{
    static const struct {
        int at_mail, code;
        const char *text;
        int sender;
    } t[] = {
        {0, 450,
         "4.1.8 <relaytest@" S_ ">: Sender address rejected: "
         "Domain not found",
         1},
        {0, 553,
         "5.1.8 <relaytest@" S_ ">: Sender address rejected: "
         "Domain not found",
         1},
        {0, 550, "5.1.7 Bad sender mailbox", 1},
        {0, 553, "5.1.8 Domain of sender address does not exist", 1},
        {0, 451, "4.1.7 Sender verification in progress", 1},
        {0, 550, "Sender address rejected: Access denied", 1},
        {0, 504,
         "5.5.2 <relaytest>: Sender address rejected: need "
         "fully-qualified address",
         1},
        {0, 504, "need fully-qualified address", 1},
        {1, 450,
         "4.1.8 <relaytest@" S_ ">: Sender address rejected: "
         "Domain not found",
         1},
        {1, 451, "4.1.7 Try later", 1},
        {0, 550,
         "5.1.1 <relaytest@example.net>: Recipient address "
         "rejected",
         0},
        {0, 554, "5.7.1 Relay access denied (sender relaytest)", 0},
        {0, 550,
         "5.1.1 Recipient unknown: fully-qualified address "
         "needed",
         0},
        {0, 504, "5.5.4 Unrecognized parameter", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char want[512];

        teardown(NULL);
        setup(NULL);
        if (t[i].at_mail) {
            srv.mail_refuse = "@" S_ ">";
            srv.mail_refuse_code = t[i].code;
            srv.mail_refuse_text = t[i].text;
        } else {
            srv.rcpt_sender = "@" S_ ">";
            srv.rcpt_sender_code = t[i].code;
            srv.rcpt_sender_text = t[i].text;
        }
        run_relay(NULL);
        if (strcmp(fake_summary(), "no open relay: 17/17 forms refused") != 0 ||
            fake_state() != MXP_STATE_OK) {
            dump();
            fail_msg("case %zu: '%s'", i, fake_summary());
        }
        /* form 3 with <> is form 1: folded into it, not sent again */
        if (sent_exact("MAIL FROM:<>") != 1)
            fail_msg("case %zu: MAIL FROM:<> sent %zu times", i,
                     sent_exact("MAIL FROM:<>"));
        if (!t[i].sender) {
            assert_int_equal(fake_detail_find("reported as that form", NULL),
                             -1);
            continue;
        }
        snprintf(want, sizeof want,
                 "MAIL FROM:<" F_ "@" S_ "> RCPT TO:<" T_ "@" D_ ">: its "
                 "sender was refused (%d %s); with sender <> instead it is "
                 "MAIL FROM:<> RCPT TO:<" T_ "@" D_ ">, reported as that "
                 "form",
                 t[i].code, t[i].text);
        assert_detail(want, MXP_STATE_OK);
    }
}

/* (7) Postfix's reject_non_fqdn_recipient answers "504 5.5.2 <...>:
 * Recipient address rejected: need fully-qualified address" to the
 * bang path form (<example.net!relaytest> has no domain): a refusal of
 * the recipient, which on a closed server is "no open relay", not a
 * refused sender retried in vain and reported inconclusive. */
static void test_new_504_recipient_not_sender(void **state)
{
    (void)state;
    srv.rcpt_sender = NULL;
    srv.rcpt_text = "5.7.1 <relaytest@example.net>: Relay access denied";
    srv.pct_only = 0;
    srv.rcpt_fqdn = 1;
    run_relay(NULL);
    assert_detail("refused MAIL FROM:<" F_ "@" LIT "> RCPT TO:<" D_ "!" T_
                  "> (504 5.5.2 <" D_ "!" T_ ">: Recipient address "
                  "rejected: need fully-qualified address)",
                  MXP_STATE_OK);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- run(): many connections at once (issue 8) ----------------------- */

/* A server for many connections at once: each connection's transaction
 * is its own (fake_smtp_current() says which one a line is on).  relay:
 * RCPT for the foreign domain accepted; refuse_sender: a MAIL FROM
 * holding it gets Exim's 501; bad_rcpt: a transaction with an accepted
 * RCPT holding it is refused at DATA (a server that refuses DATA for one
 * recipient's sake). */
#define CS_MAX 256
struct cconn {
    int mail_ok, n_ok, bad, errors;
};
static struct {
    int relay;
    const char *refuse_sender, *bad_rcpt;
    struct cconn c[CS_MAX];
    unsigned low_time_at; /* from this connection on, 0.1 s are left */
    unsigned max_at_once; /* more sessions open: 421 at the greeting */
    unsigned hang_above;  /* more sessions open: no greeting ever */
    int rcpt_max;         /* RCPTs a transaction takes, then 452 */
    unsigned refuse_from; /* connections from this one on are refused */
    unsigned hung;
    double step;          /* seconds each line and greeting take */
    unsigned turned_away;
    unsigned mails, datas, dots, max_errors;
    char ehlo[128];
} cs;

static void cs_reply(struct cconn *c, int code, const char *text)
{
    if (code >= 400 && ++c->errors > (int)cs.max_errors)
        cs.max_errors = (unsigned)c->errors;
    fake_smtp_reply(code, 0.001, text);
}

static void cs_respond(void *user, const char *line)
{
    unsigned id = fake_smtp_current();
    struct cconn *c = &cs.c[id < CS_MAX ? id : 0];

    (void)user;
    if (cs.step > 0)
        fake_set_now(fake_services.now() + cs.step);
    if (line == NULL) {
        memset(c, 0, sizeof(*c));
        if (cs.refuse_from != 0 && id + 1 >= cs.refuse_from)
            fake_smtp_fail_open(MXP_ERR_CONNECT, "connection refused");
        if (cs.low_time_at != 0 && id >= cs.low_time_at)
            fake_set_remaining(0.1);
        if (cs.hang_above != 0 && fake_smtp_open_now() > cs.hang_above) {
            cs.hung++; /* nothing queued: it waits for its greeting */
            return;
        }
        if (cs.max_at_once != 0 && fake_smtp_open_now() > cs.max_at_once) {
            cs.turned_away++;
            fake_smtp_reply(421, 0.001, "4.3.2 Too many connections");
            return;
        }
        fake_smtp_reply(220, 0.001, S_ " ESMTP");
    } else if (strncmp(line, "EHLO ", 5) == 0) {
        snprintf(cs.ehlo, sizeof cs.ehlo, "%s\nPIPELINING\nSIZE 1000", S_);
        fake_smtp_reply(250, 0.001, cs.ehlo);
    } else if (strncmp(line, "MAIL FROM:", 10) == 0) {
        cs.mails++;
        c->n_ok = c->bad = 0;
        c->mail_ok = !(cs.refuse_sender && strstr(line, cs.refuse_sender));
        if (c->mail_ok)
            cs_reply(c, 250, "OK");
        else
            cs_reply(c, 501, "<relaytest@" LIT ">: domain literals not "
                             "allowed");
    } else if (strncmp(line, "RCPT TO:", 8) == 0) {
        if (!c->mail_ok) {
            cs_reply(c, 503, "sender not yet given");
        } else if (cs.rcpt_max != 0 && c->n_ok >= cs.rcpt_max) {
            cs_reply(c, 452, "4.5.3 Too many recipients");
        } else if (cs.relay) {
            c->n_ok++;
            c->bad |= cs.bad_rcpt != NULL && strstr(line, cs.bad_rcpt);
            cs_reply(c, 250, "Accepted");
        } else {
            cs_reply(c, 550, "relay not permitted");
        }
    } else if (strcmp(line, "RSET") == 0) {
        c->mail_ok = c->n_ok = c->bad = 0;
        cs_reply(c, 250, "Reset OK");
    } else if (strcmp(line, "DATA") == 0) {
        cs.datas++;
        if (c->n_ok == 0)
            cs_reply(c, 503, "valid RCPT command must precede DATA");
        else if (c->bad)
            cs_reply(c, 550, "5.7.1 one recipient is not welcome");
        else
            cs_reply(c, 354, "Enter message, ending with \".\"");
    } else if (strcmp(line, "QUIT") == 0) {
        fake_smtp_reply(221, 0.001, "closing connection");
    } else if (strcmp(line, ".") == 0) {
        cs.dots++;
        fake_smtp_reply(250, 0.001, "OK id=1");
    } else {
        cs_reply(c, 500, "unrecognized command");
    }
}

/* A fresh many-connection server: relay, refused senders, a bad RCPT. */
static void cs_start(int relay, const char *refuse_sender,
                     const char *bad_rcpt)
{
    memset(&cs, 0, sizeof cs);
    cs.relay = relay;
    cs.refuse_sender = refuse_sender;
    cs.bad_rcpt = bad_rcpt;
    fake_smtp_set_responder(cs_respond, NULL);
}

/* run() with yaml as plugins.relay, on the plain fake services: several
 * sessions at once.  No message is ever completed. */
static void run_many(const char *yaml)
{
    void *st = NULL;

    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(relay_init(fake_init_ctx(), &st), MXP_OK);
    assert_int_equal(relay_run(fake_ctx(), st), MXP_OK);
    relay_free(st);
    assert_int_equal(fake_result_calls(), 1);
    assert_int_equal(fake_smtp_closes(), fake_smtp_opens());
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(cs.dots, 0);
}

/* An open relay on 8 connections at once: every form classified, the
 * forms of one sender sharing a MAIL (a server pausing before each MAIL
 * pauses once a batch), at most 8 connections open at once, and the
 * forms of one sender confirmed in one transaction. */
static void test_many_open_relay(void **state)
{
    (void)state;
    cs_start(1, NULL, NULL);
    run_many(NULL);
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_true(perf("forms") == 17);
    assert_true(perf("connections") == (double)fake_smtp_opens());
    assert_int_equal(fake_smtp_open_peak(), 8);
    assert_true(fake_smtp_waits() > 0);
    assert_int_equal(fake_smtp_closes(), fake_smtp_opens());
    /* the survey: 8 batches of one sender, a MAIL each; confirmations: 5
     * senders, the first accepted form's at once */
    assert_int_equal(fake_smtp_opens(), 8 + 5);
    assert_int_equal(cs.mails, 8 + 5);
    assert_int_equal(cs.datas, 5);
    assert_int_equal(cs.dots, 0);
    assert_int_equal(fake_smtp_n_messages(), 0);
    assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays MAIL FROM:"),
                     17);
}

/* connections bounds the sessions open at once; a closed server gets at
 * most 8 refusals a connection (below Postfix's smtpd_soft_error_limit). */
static void test_many_connections_bounded(void **state)
{
    static const struct {
        const char *yaml;
        unsigned peak;
        size_t opens;
    } t[] = {
        {NULL, 8, 8},
        {"connections: 3\n", 3, 6},
        {"connections: 16\n", 16, 16},
        {"connections: 2\nforms_per_connection: 4\n", 2, 8},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        teardown(NULL);
        setup(NULL);
        cs_start(0, NULL, NULL);
        run_many(t[i].yaml);
        assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
        if (fake_smtp_open_peak() != t[i].peak ||
            fake_smtp_opens() != t[i].opens)
            fail_msg("case %zu: %u at once, %zu in all; expected %u, %zu", i,
                     fake_smtp_open_peak(), fake_smtp_opens(), t[i].peak,
                     t[i].opens);
        assert_true(cs.max_errors <= 8);
        assert_int_equal(cs.datas, 0);
        assert_int_equal(fake_smtp_closes(), fake_smtp_opens());
    }
}

/* A server that refuses DATA for one recipient's sake: a group refused
 * at DATA is confirmed form by form, so the forms it would take relay
 * and the one it refuses is refused, never a false "no". */
static void test_many_group_refused_for_one(void **state)
{
    (void)state;
    cs_start(1, NULL, "%"); /* the three % forms */
    run_many(NULL);
    assert_summary(MXP_STATE_CRITICAL, "open relay (14/17 forms)");
    assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays MAIL FROM:"),
                     14);
    assert_int_equal(details_with(MXP_STATE_OK, "accepted at RCPT, refused "
                                                "at DATA: "),
                     3);
    assert_detail("accepted at RCPT, refused at DATA: MAIL FROM:<" F_ "@" LIT
                  "> RCPT TO:<" T_ "%" D_ "@" LIT "> (550 5.7.1 one "
                  "recipient is not welcome)",
                  MXP_STATE_OK);
    assert_int_equal(fake_smtp_closes(), fake_smtp_opens());
    assert_int_equal(cs.dots, 0);
}

/* Issue 8.6, Exim's "501 <relaytest@[ip]>: domain literals not allowed":
 * the 13 forms with the literal sender go again with <>; the one that
 * then is form 1's envelope is folded into it; the count says what
 * relays as written and what with <> instead. */
static void test_many_sender_instead(void **state)
{
    (void)state;
    cs_start(1, "@[", NULL);
    run_many(NULL);
    assert_summary(MXP_STATE_CRITICAL, "open relay (4/17 forms, 12 more with "
                                       "sender <> instead)");
    assert_true(perf("accepted") == 16);
    assert_true(perf("forms") == 17);
    /* as written: <>, the foreign, the server's and its domain's sender */
    assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays MAIL FROM:"), 4);
    assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays RCPT TO:"), 12);
    assert_detail("relays RCPT TO:<" T_ "%" D_ "@" LIT "> with sender <> "
                  "instead: MAIL FROM:<> RCPT TO:<" T_ "%" D_ "@" LIT
                  "> (RCPT 250 Accepted, DATA 354 ",
                  MXP_STATE_CRITICAL);
    assert_detail("its own sender <" F_ "@" LIT "> (501 <relaytest@" LIT
                  ">: domain literals not allowed) was refused)",
                  MXP_STATE_CRITICAL);
    /* the literal sender to the plain recipient is form 1 with <> */
    assert_detail("MAIL FROM:<" F_ "@" LIT "> RCPT TO:<" T_ "@" D_ ">: its "
                  "sender was refused (501 <relaytest@" LIT ">: domain "
                  "literals not allowed); with sender <> instead it is MAIL "
                  "FROM:<> RCPT TO:<" T_ "@" D_ ">, reported as that form",
                  MXP_STATE_OK);
    assert_int_equal(fake_smtp_closes(), fake_smtp_opens());
    assert_int_equal(cs.dots, 0);
}

/* Out of time before the confirmations: the forms accepted at RCPT are
 * "not confirmed", never refused; with none confirmed the verdict is
 * inconclusive, with one confirmed it is an open relay. */
static void test_many_no_time_to_confirm(void **state)
{
    (void)state;
    cs_start(1, NULL, NULL);
    cs.low_time_at = 8; /* the survey's last connection */
    run_many(NULL);
    assert_summary(MXP_STATE_UNKNOWN, "inconclusive: 17/17 forms accepted at "
                                      "RCPT but not confirmed (no time left "
                                      "before the deadline)");
    assert_int_equal(details_with(MXP_STATE_UNKNOWN, "accepted at RCPT, not "
                                                     "confirmed at DATA: "),
                     17);
    assert_detail("accepted at RCPT, not confirmed at DATA: MAIL FROM:<> RCPT "
                  "TO:<relaytest@example.net> (250 Accepted; no time left "
                  "before the deadline)",
                  MXP_STATE_UNKNOWN);
    assert_int_equal(details_with(MXP_STATE_OK, "refused"), 0);
    assert_int_equal(cs.datas, 0);
    assert_int_equal(fake_smtp_opens(), 8);

    teardown(NULL);
    setup(NULL);
    cs_start(1, NULL, NULL);
    cs.low_time_at = 9; /* the first form's early confirmation */
    run_many(NULL);
    assert_summary(MXP_STATE_CRITICAL, "open relay (1/17 forms)");
    assert_int_equal(details_with(MXP_STATE_CRITICAL, "relays MAIL FROM:<> "),
                     1);
    assert_int_equal(details_with(MXP_STATE_UNKNOWN, "accepted at RCPT, not "
                                                     "confirmed at DATA: "),
                     16);
    assert_int_equal(details_with(MXP_STATE_OK, "refused"), 0);
    assert_int_equal(cs.datas, 1);
}

/* A server that takes only 3 connections from us at once (Exim's
 * smtp_accept_max_per_host, a hardened Postfix): the connections it
 * turns away with 421 while others are open lower how many the pool
 * opens, cost no stall, and every form is still tested. */
static void test_many_server_limits_connections(void **state)
{
    (void)state;
    cs_start(0, NULL, NULL);
    cs.max_at_once = 3;
    run_many(NULL);
    assert_summary(MXP_STATE_OK, "no open relay: 17/17 forms refused");
    assert_true(perf("forms") == 17);
    assert_int_equal(cs.turned_away, 8 - 3);
    /* 8 at first, then never more than 3 */
    assert_int_equal(fake_smtp_open_peak(), 8);
    assert_int_equal(fake_smtp_opens(), 8 + 8 - 3);
    assert_true(perf("connections") == 8 + 8 - 3);
}

/* A server that serves 3 connections at once and never greets the
 * others (a process limit with a full queue, a tarpit): the held-back
 * connections take no batch and are given up once the server has served
 * others meanwhile; every form is tested and confirmed, no wait runs
 * into a timeout. */
static void test_many_hang_above(void **state)
{
    enum mxp_state st;

    (void)state;
    cs_start(1, NULL, NULL);
    cs.hang_above = 3;
    cs.step = 0.05;
    run_many(NULL);
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_true(perf("forms") == 17);
    assert_true(cs.hung >= 5);
    assert_int_equal(fake_detail_find("fake script ended", &st), -1);
    assert_int_equal(fake_smtp_open_now(), 0);
}

/* A server that takes 5 recipients a transaction and answers the next
 * "452 4.5.3 Too many recipients" (RFC 5321 4.5.3.1.10: try them in
 * another): the 13 forms of the literal sender, accepted in the survey,
 * are confirmed 5 at a time, never "refused on another connection";
 * in the survey, the forms it refused go again. */
static void test_many_recipient_limit(void **state)
{
    enum mxp_state st;

    (void)state;
    cs_start(1, NULL, NULL);
    cs.rcpt_max = 5;
    run_many(NULL);
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_int_equal(fake_detail_find("refused on another", &st), -1);

    /* one connection: the survey's batches of 8 meet the limit too, and
     * the forms refused for it go again, not "temporarily refused" */
    teardown(NULL);
    setup(NULL);
    cs_start(1, NULL, NULL);
    cs.rcpt_max = 5;
    run_many("connections: 1\n");
    assert_summary(MXP_STATE_CRITICAL, "open relay (17/17 forms)");
    assert_int_equal(fake_detail_find("temporarily refused", &st), -1);
    assert_int_equal(fake_smtp_open_peak(), 1);
}

/* A server that refuses every connection after the survey's first
 * ones: the work queued is charged with those failures (each connect
 * that fails at once is its next batch's), so the run ends, after a few
 * connects, instead of trying to connect until the deadline. */
static void test_many_refused_later(void **state)
{
    (void)state;
    cs_start(1, NULL, NULL);
    cs.refuse_from = 5;
    run_many(NULL);
    assert_true(fake_smtp_opens() < 40);
    /* accepted at RCPT, but no connection to confirm them */
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_non_null(strstr(fake_summary(), "not confirmed"));
    assert_detail("connection refused", MXP_STATE_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_ipv4),
        cmocka_unit_test(test_forms_ipv6),
        cmocka_unit_test(test_forms_no_name),
        cmocka_unit_test(test_forms_own_domain),
        cmocka_unit_test(test_forms_limits),
        cmocka_unit_test(test_local_part_ok),
        cmocka_unit_test(test_address_literal),
        T(test_config_defaults),
        T(test_config_good),
        T(test_config_bad),
        T(test_config_several_bad),
        T(test_run_closed),
        T(test_many_hang_above),
        T(test_many_recipient_limit),
        T(test_many_refused_later),
        T(test_run_closed_plain),
        T(test_run_open),
        T(test_run_percent_only),
        T(test_run_data_refused),
        T(test_run_data_refused_some),
        T(test_run_auth_required),
        T(test_run_tempfail_rcpt),
        T(test_run_deferred_relay_denied),
        T(test_run_tempfail_data),
        T(test_run_drops_after_n),
        T(test_run_send_fails),
        T(test_run_unconfirmed),
        T(test_run_drops_at_once),
        T(test_run_421_mid_session),
        T(test_run_421_always),
        T(test_run_closes_after_greeting),
        T(test_run_silent),
        T(test_run_connect_refused),
        T(test_run_greeting_refuses),
        T(test_run_helo_only),
        T(test_run_helo_refused),
        T(test_run_no_time),
        T(test_run_per_connection),
        T(test_run_names),
        T(test_run_name_trailing_dot),
        T(test_run_deliver),
        T(test_run_deliver_percent),
        T(test_run_deliver_without_my_email),
        T(test_run_deliver_off),
        T(test_run_deliver_not_relaying),
        T(test_fix_deliver_data_not_354),
        T(test_fix_421_reason),
        T(test_fix_survey_reason_kept),
        T(test_fix_confirm_reconnects),
        T(test_fix_mail_answered_twice_relays),
        T(test_fix_mail_answered_twice_refuses),
        T(test_fix_survey_more_replies),
        T(test_fix_sender_refused_closed),
        T(test_fix_sender_refused_percent_relays),
        T(test_fix_every_sender_refused),
        T(test_fix_inconsistent),
        T(test_fix_inconsistent_mail),
        T(test_fix_server_name),
        T(test_new_early_confirmation),
        T(test_new_early_confirmation_order),
        T(test_new_lost_pipelined_survey),
        T(test_new_lost_pipelined_confirm),
        T(test_new_silent_plain_no_retry),
        T(test_new_first_connection_retried),
        T(test_new_data_not_354),
        T(test_new_deliver_dot_unanswered),
        T(test_new_sender_refused_at_rcpt),
        T(test_new_sender_refusals),
        T(test_refuses_sender_words),
        T(test_new_504_recipient_not_sender),
        T(test_many_open_relay),
        T(test_many_connections_bounded),
        T(test_many_group_refused_for_one),
        T(test_many_sender_instead),
        T(test_many_no_time_to_confirm),
        T(test_many_server_limits_connections),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
