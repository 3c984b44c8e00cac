/*
 * test_tls_plugin.c - the tls check's probes and verdicts, against the
 * fake core: a scripted SMTP server per connection, and TLS responders
 * that decide each handshake and bare ClientHello by what it offers, as
 * a server of a given configuration would.  The certificate is a real
 * one made at test time (its judgement has its own test, test_tls_cert).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/x509_vfy.h>

#include "../../plugins/tls/cert.c"
#include "../../plugins/tls/dane.c"
#include "../../plugins/tls/dane_check.c"
#include "../../plugins/tls/hello.c"
#include "../../plugins/tls/inject.c"
#include "../../plugins/tls/names.c"
#include "../../plugins/tls/probes.c"
#include "../../plugins/tls/suites.c"
#include "../../plugins/tls/tls.c"
#include "../../plugins/tls/verdict.c"
#include "fake_core.h"
#include "tls_testcert.h"

/* ---- the scripted server --------------------------------------------- */

static struct {
    int no_starttls;        /* EHLO offers no STARTTLS */
    int starttls_code;      /* 0: 220 */
    const char *auth;       /* an AUTH line offered before TLS, or NULL */
    int versions[5];        /* accepted: [0] SSL3 [1] 1.0 [2] 1.1 [3] 1.2
                               [4] 1.3 */
    int anon, rc4, null_ok; /* suite classes accepted by bare hellos */
    int rc4_version;        /* the protocol RC4 is taken with (0: 1.2) */
    int dh_bits;            /* DHE offered with this group, 0: none */
    int vulnerable;         /* answers a smuggled NOOP inside TLS */
    int help_250;           /* answers HELP with 250 (not vulnerable) */
    int stall_tls10;        /* the TLS 1.0 handshake times out */
    int junk;               /* answers every ClientHello with junk */
    int stall_all;          /* every handshake times out */
    int any_suite;          /* bare hellos get ECDHE-RSA-AES128-GCM-SHA256,
                               offered or not */
    unsigned turn_away;     /* sessions open above this get 421 */
    unsigned linger;        /* and so many after the first 421 though under
                               it (the ones just closed still counted) */
    int late;               /* the run's time is all but out after a 421 */
    int refuse_all;         /* every connection greeted with 421 */
    unsigned turned_away;
    unsigned tls_sessions[64]; /* session -> handshook */
    unsigned long long der_len;
    unsigned char *der;
    unsigned char *der2; /* the chain's second certificate, or NULL */
    const unsigned char *chain[2];
    size_t chain_len[2];
    size_t n_chain;
    long verify;
} srv;

static struct tls_testcert leaf;

static void respond(void *user, const char *line)
{
    unsigned id = fake_smtp_current();

    (void)user;
    if (line == NULL) {
        if (srv.refuse_all ||
            (srv.turn_away != 0 && (fake_smtp_open_now() > srv.turn_away ||
                                    (srv.turned_away > 0 && srv.linger > 0)))) {
            if (fake_smtp_open_now() <= srv.turn_away)
                srv.linger--;
            if (srv.late)
                fake_set_remaining(0.2);
            srv.turned_away++;
            fake_smtp_reply(421, 0.001, "4.7.0 too many connections");
            return;
        }
        fake_smtp_reply(220, 0.001, "mail.tls.test ESMTP");
    } else if (strncmp(line, "EHLO ", 5) == 0) {
        char text[256];
        int tls = id < 64 && srv.tls_sessions[id];

        snprintf(text, sizeof text, "mail.tls.test\nPIPELINING%s%s%s",
                 srv.no_starttls || tls ? "" : "\nSTARTTLS",
                 srv.auth != NULL ? "\n" : "", srv.auth ? srv.auth : "");
        fake_smtp_reply(250, 0.001, text);
    } else if (strcmp(line, "STARTTLS") == 0) {
        if (srv.starttls_code != 0)
            fake_smtp_reply(srv.starttls_code, 0.001,
                            "4.7.0 TLS not available");
        else
            fake_smtp_reply(220, 0.001, "2.0.0 Ready to start TLS");
    } else if (strcmp(line, "NOOP") == 0) {
        /* Smuggled behind STARTTLS: a sound server forgets it. */
    } else if (strcmp(line, "HELP") == 0) {
        if (srv.vulnerable)
            fake_smtp_reply(250, 0.001, "2.0.0 Ok");
        else if (srv.help_250)
            fake_smtp_reply(250, 0.001, "2.0.0 help yourself");
        else
            fake_smtp_reply(502, 0.001, "5.5.2 Error: command not recognized");
    } else if (strcmp(line, "QUIT") == 0) {
        fake_smtp_reply(221, 0.001, "Bye");
    } else {
        fake_smtp_reply(502, 0.001, "5.5.2 Error: command not recognized");
    }
}

static int version_index(int v)
{
    return v == MXP_SSL_3_0 ? 0 : v - MXP_TLS_1_0 + 1;
}

static void fill_info(struct mxp_tls_info *info, int version,
                      const char *cipher, const char *kx, int kx_bits)
{
    static const char *const names[] = {"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2",
                                        "TLSv1.3"};

    info->version = version;
    snprintf(info->protocol, sizeof info->protocol, "%s",
             names[version_index(version)]);
    snprintf(info->cipher, sizeof info->cipher, "%s", cipher);
    info->cipher_bits = 256;
    snprintf(info->kx, sizeof info->kx, "%s", kx);
    info->kx_bits = kx_bits;
    info->verify_result = srv.verify;
    info->n_chain = info->chain_total = srv.n_chain;
    info->chain_der = srv.chain;
    info->chain_len = srv.chain_len;
    info->handshake_time = 0.004;
}

/* Decides a handshake by what it offers, as the scripted server would. */
static int tls_respond(void *user, unsigned session,
                       const struct mxp_tls_options *o,
                       struct mxp_tls_info *info, char *err, size_t errlen)
{
    int lo = o->min_version ? o->min_version : MXP_TLS_1_0;
    int hi = o->max_version ? o->max_version : MXP_TLS_1_3;
    int best = 0;

    (void)user;
    if (srv.junk) {
        snprintf(err, errlen, "TLS handshake failed: wrong version number");
        return MXP_ERR_PROTOCOL;
    }
    if (o->ciphers != NULL && strncmp(o->ciphers, "kDHE", 4) == 0) {
        if (srv.dh_bits == 0) {
            snprintf(err, errlen, "TLS handshake failed: no shared cipher");
            return MXP_ERR_PROTOCOL;
        }
        fill_info(info, MXP_TLS_1_2, "DHE-RSA-AES256-GCM-SHA384", "DH",
                  srv.dh_bits);
        return MXP_OK;
    }
    if ((lo == MXP_TLS_1_0 && hi == MXP_TLS_1_0 && srv.stall_tls10) ||
        srv.stall_all) {
        snprintf(err, errlen, "TLS handshake: no answer within 20.0 s");
        return MXP_ERR_TIMEOUT;
    }
    /* Without legacy (security level 0) OpenSSL 3 offers no TLS 1.0/1.1. */
    if (!o->legacy && lo < MXP_TLS_1_2)
        lo = MXP_TLS_1_2;
    for (int v = hi; v >= lo && best == 0; v--)
        if (srv.versions[version_index(v)])
            best = v;
    if (best == 0) {
        int any = 0;

        for (int v = 0; v < 5; v++)
            any |= srv.versions[v];
        /* What OpenSSL 3 says to a TLS 1.0 server at its default level
         * (no word of protocols or alerts), and what a server that takes
         * none of what is offered answers. */
        snprintf(err, errlen, "TLS handshake failed: %s",
                 any ? "legacy sigalg disallowed or unsupported"
                     : "tlsv1 alert protocol version");
        return MXP_ERR_PROTOCOL;
    }
    fill_info(info, best,
              best == MXP_TLS_1_3 ? "TLS_AES_256_GCM_SHA384"
                                  : "ECDHE-RSA-AES256-GCM-SHA384",
              "X25519", 253);
    if (session < 64)
        srv.tls_sessions[session] = 1;
    return MXP_OK;
}

static int has_suite(const uint16_t *c, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (c[i] == id)
            return 1;
    return 0;
}

static int hello_respond(void *user, unsigned session, int version,
                         const uint16_t *ciphers, size_t n,
                         struct mxp_tls_hello *out)
{
    (void)user;
    (void)session;
    if (srv.junk) {
        snprintf(out->words, sizeof out->words, "not a TLS answer: 'xyz'");
        return MXP_ERR_PROTOCOL;
    }
    if (srv.any_suite) {
        out->accepted = 1;
        out->version = MXP_TLS_1_2;
        out->cipher = 0xC02F;
    } else if (version == MXP_SSL_3_0 && srv.versions[0]) {
        out->accepted = 1;
        out->version = MXP_SSL_3_0;
        out->cipher = ciphers[0];
    } else if (version != MXP_SSL_3_0 && srv.anon &&
               has_suite(ciphers, n, 0x00A7)) {
        out->accepted = 1;
        out->version = MXP_TLS_1_2;
        out->cipher = 0x00A7;
    } else if (version != MXP_SSL_3_0 && srv.rc4 &&
               has_suite(ciphers, n, 0x0005)) {
        out->accepted = 1;
        out->version = srv.rc4_version ? srv.rc4_version : MXP_TLS_1_2;
        out->cipher = 0x0005;
    } else if (version != MXP_SSL_3_0 && srv.null_ok &&
               has_suite(ciphers, n, 0x0002) &&
               !has_suite(ciphers, n, 0x00A7)) {
        out->accepted = 1;
        out->version = MXP_TLS_1_2;
        out->cipher = 0x0002;
    } else {
        out->alert = 40;
        snprintf(out->words, sizeof out->words,
                 "refused: handshake failure (alert 40)");
    }
    return MXP_OK;
}

static int unsolicited(void *user, unsigned session, char *text, size_t len)
{
    (void)user;
    (void)session;
    (void)text;
    (void)len;
    return 0;
}

/* A vulnerable server: its answer to the smuggled NOOP is not there yet
 * when the handshake ends (the first look), so our HELP gets it; then
 * the HELP's own answer comes, which no command asked for. */
static int unsolicited_vulnerable(void *user, unsigned session, char *text,
                                  size_t len)
{
    static unsigned looks;

    (void)session;
    if (user != NULL) {
        looks = 0;
        return 0;
    }
    if (looks++ == 0)
        return 0;
    snprintf(text, len, "502 5.5.2 Error: command not recognized??");
    return 1;
}

/* One whose answer is in by the time the handshake ends. */
static int unsolicited_at_once(void *user, unsigned session, char *text,
                               size_t len)
{
    (void)user;
    (void)session;
    snprintf(text, len, "250 2.0.0 Ok??");
    return 1;
}

/* ---- fixtures --------------------------------------------------------- */

static void *state_of_init;

static int setup(void **state)
{
    static const char *const san[] = {"mail.tls.test", NULL};
    struct tls_testcert_spec spec = {.cn = "mail.tls.test",
                                     .san = san,
                                     .not_before_days = -1,
                                     .not_after_days = 60};
    size_t len;

    (void)state;
    fake_reset();
    fake_set_plugin_name("tls");
    fake_set_target("192.0.2.25", 25);
    memset(&srv, 0, sizeof srv);
    srv.versions[3] = srv.versions[4] = 1; /* TLS 1.2 and 1.3 */
    srv.verify = X509_V_OK;
    tls_testcert_make(&spec, &leaf);
    srv.der = tls_testcert_der(leaf.cert, &len);
    srv.chain[0] = srv.der;
    srv.chain_len[0] = len;
    srv.n_chain = 1;
    fake_smtp_set_responder(respond, NULL);
    fake_tls_set_responder(tls_respond, NULL);
    fake_tls_hello_set_responder(hello_respond, NULL);
    fake_smtp_unsolicited_set(unsolicited, NULL);
    state_of_init = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tls_free(state_of_init);
    fake_reset();
    free(srv.der);
    free(srv.der2);
    tls_testcert_free(&leaf);
    return 0;
}

/* init with yaml (NULL: none), then run; the run's state. */
static enum mxp_state run_with(const char *yaml)
{
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(tls_init(fake_init_ctx(), &state_of_init), MXP_OK);
    assert_int_equal(tls_run(fake_ctx(), state_of_init), MXP_OK);
    return fake_state();
}

static void assert_detail(const char *words, enum mxp_state want)
{
    enum mxp_state st;

    if (fake_detail_find(words, &st) < 0) {
        for (size_t i = 0; i < fake_n_details(); i++)
            print_message("detail: %s\n", fake_detail(i, NULL));
        fail_msg("no detail with '%s'", words);
    }
    assert_int_equal(st, want);
}

/* ---- tests ------------------------------------------------------------ */

static void test_modern_server_is_ok(void **state)
{
    (void)state;
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    /* 60 days less the seconds since the certificate was made. */
    assert_true(strcmp(fake_summary(), "TLSv1.3 TLS_AES_256_GCM_SHA384, "
                                       "certificate valid 59 days") == 0 ||
                strcmp(fake_summary(), "TLSv1.3 TLS_AES_256_GCM_SHA384, "
                                       "certificate valid 60 days") == 0);
    assert_detail("protocols: TLSv1.2 TLSv1.3 accepted; SSLv3 TLSv1.0 "
                  "TLSv1.1 refused",
                  MXP_STATE_OK);
    assert_detail("weak cipher suites refused: RC4 3DES NULL EXPORT anonymous",
                  MXP_STATE_OK);
    assert_detail("not vulnerable to STARTTLS command injection", MXP_STATE_OK);
    assert_non_null(fake_perf_find("cert_days"));
    /* Every question on its own connection; the raw ones by ClientHello. */
    assert_int_equal(fake_smtp_opens(), TP_COUNT);
    assert_int_equal(fake_tls_hellos(), 6);
    assert_int_equal(fake_smtp_open_now(), 0); /* all closed */
}

static void test_no_starttls_warns_on_25_critical_on_587(void **state)
{
    (void)state;
    srv.no_starttls = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("STARTTLS not offered", MXP_STATE_WARNING);
    assert_int_equal(fake_tls_handshakes(), 0);
    teardown(NULL);
    setup(NULL);
    srv.no_starttls = 1;
    fake_set_target("192.0.2.25", 587);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("STARTTLS not offered", MXP_STATE_CRITICAL);
}

static void test_starttls_refused_is_critical(void **state)
{
    (void)state;
    srv.starttls_code = 454;
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("STARTTLS refused: 454 4.7.0 TLS not available",
                  MXP_STATE_CRITICAL);
}

static void test_legacy_protocols(void **state)
{
    (void)state;
    srv.versions[0] = srv.versions[1] = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("SSLv3 accepted", MXP_STATE_CRITICAL);
    assert_detail("TLSv1.0 accepted", MXP_STATE_WARNING);
    assert_detail("protocols: SSLv3 TLSv1.0 TLSv1.2 TLSv1.3 accepted; "
                  "TLSv1.1 refused",
                  MXP_STATE_OK);
}

/* Only TLS 1.0: the main handshake fails, and the protocols are still
 * told, TLS 1.3 refused as the server speaks TLS otherwise. */
static void test_tls10_only_server(void **state)
{
    (void)state;
    srv.versions[3] = srv.versions[4] = 0;
    srv.versions[1] = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("TLS handshake failed: legacy sigalg disallowed",
                  MXP_STATE_CRITICAL);
    assert_detail("TLSv1.0 accepted", MXP_STATE_WARNING);
    assert_detail("protocols: TLSv1.0 accepted; SSLv3 TLSv1.1 TLSv1.2 TLSv1.3 "
                  "refused",
                  MXP_STATE_OK);
    assert_int_equal(fake_detail_find("cannot tell", NULL), -1);
}

/* Junk instead of TLS: nothing is refused, nothing accepted. */
static void test_junk_tells_nothing(void **state)
{
    (void)state;
    srv.versions[3] = srv.versions[4] = 0;
    srv.junk = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("TLS handshake failed: wrong version number",
                  MXP_STATE_CRITICAL);
    assert_int_equal(fake_detail_find("refused", NULL), -1);
    assert_int_equal(fake_detail_find("not vulnerable", NULL), -1);
    assert_detail("cannot tell", MXP_STATE_UNKNOWN);
}

static void test_silent_probe_is_unknown_not_refused(void **state)
{
    (void)state;
    srv.stall_tls10 = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_UNKNOWN);
    assert_detail(
        "TLSv1.0: cannot tell (TLS handshake: no answer within 20.0 s)",
        MXP_STATE_UNKNOWN);
    assert_int_equal(fake_detail_find("TLSv1.0 TLSv1.1 refused", NULL), -1);
}

static void test_anonymous_suites_by_port(void **state)
{
    (void)state;
    srv.anon = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("anonymous cipher suites accepted (ADH-AES256-GCM-SHA384): "
                  "fine for opportunistic TLS on port 25",
                  MXP_STATE_OK);
    teardown(NULL);
    setup(NULL);
    srv.anon = 1;
    fake_set_target("192.0.2.25", 587);
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("anonymous cipher suites accepted", MXP_STATE_WARNING);
}

static void test_weak_classes(void **state)
{
    (void)state;
    srv.rc4 = 1;
    srv.null_ok = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("RC4 cipher suites accepted (RC4-SHA", MXP_STATE_WARNING);
    assert_detail("NULL cipher suites accepted (NULL-SHA", MXP_STATE_CRITICAL);
}

/* A ServerHello with a suite the hello did not offer tells nothing of
 * the class offered (a broken server, a middlebox): no false alarm. */
static void test_suite_not_offered_is_unknown(void **state)
{
    (void)state;
    srv.any_suite = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_UNKNOWN);
    assert_int_equal(fake_detail_find("cipher suites accepted", NULL), -1);
    assert_detail("RC4 cipher suites: cannot tell (it chose suite 0xc02f, "
                  "which was not offered)",
                  MXP_STATE_UNKNOWN);
}

/* TLS 1.0 with RC4 alone (an old Exchange): OpenSSL's TLS 1.0
 * handshake finds no suite in common, the bare RC4 hello is answered
 * in TLS 1.0: TLS 1.0 is accepted, not refused. */
static void test_tls10_with_rc4_only_is_accepted(void **state)
{
    (void)state;
    memset(srv.versions, 0, sizeof srv.versions);
    srv.rc4 = 1;
    srv.rc4_version = MXP_TLS_1_0;
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("TLSv1.0 accepted (deprecated by RFC 8996; with RC4-SHA",
                  MXP_STATE_WARNING);
    assert_detail("RC4 cipher suites accepted (RC4-SHA", MXP_STATE_WARNING);
    assert_int_equal(fake_detail_find("TLSv1.0 TLSv1.1", NULL), -1);
}

static void test_small_dh_group_warns(void **state)
{
    (void)state;
    srv.dh_bits = 1024;
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("DH group of 1024 bits", MXP_STATE_WARNING);
}

static void test_auth_in_clear_warns(void **state)
{
    (void)state;
    srv.auth = "AUTH PLAIN LOGIN CRAM-MD5";
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("AUTH PLAIN LOGIN offered before STARTTLS",
                  MXP_STATE_WARNING);
}

static void test_command_injection(void **state)
{
    (void)state;
    srv.vulnerable = 1;
    unsolicited_vulnerable(&srv, 0, NULL, 0); /* from the first look */
    fake_smtp_unsolicited_set(unsolicited_vulnerable, NULL);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("STARTTLS command injection: a command sent in clear before "
                  "the handshake was answered inside TLS (CVE-2011-0411): "
                  "'250 2.0.0 Ok'",
                  MXP_STATE_CRITICAL);
    /* Already answered when the handshake ends: no HELP needed. */
    teardown(NULL);
    setup(NULL);
    fake_smtp_unsolicited_set(unsolicited_at_once, NULL);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("(CVE-2011-0411): '250 2.0.0 Ok'", MXP_STATE_CRITICAL);
    for (size_t i = 0; i < fake_smtp_n_sent(); i++)
        assert_string_not_equal(fake_smtp_sent(i), "HELP");
}

/* HELP answered 250 by a sound server: no second reply, no alarm. */
/* A server that refuses every handshake did not refuse the command
 * behind STARTTLS: the injection line must not say it did. */
static void test_no_handshake_at_all_words(void **state)
{
    (void)state;
    memset(srv.versions, 0, sizeof srv.versions);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("TLS handshake failed: tlsv1 alert protocol version",
                  MXP_STATE_CRITICAL);
    assert_int_equal(fake_detail_find("would not go on", NULL), -1);
    assert_detail("not vulnerable to STARTTLS command injection (no TLS "
                  "session to smuggle a command into: tlsv1 alert protocol "
                  "version)",
                  MXP_STATE_OK);
}

/* The certificate of the name the server greets with is not enough when
 * the operator named it otherwise: senders verify the name they use. */
static void test_names_from_h_and_mx_win(void **state)
{
    (void)state;
    fake_set_host("mx1.tls.test");
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("does not match mx1.tls.test (-H name)", MXP_STATE_WARNING);
    teardown(NULL);
    setup(NULL);
    /* -H an address (Nagios' $HOSTADDRESS$) and -D: the MX names. */
    fake_set_domain("tls.test");
    fake_dns_add("tls.test", MXP_DNS_MX, MXP_DNS_ANSWER, "mail.tls.test", NULL);
    fake_dns_add("mail.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25",
                 NULL);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("certificate matches mail.tls.test (MX name)", MXP_STATE_OK);
    teardown(NULL);
    setup(NULL);
    /* Neither: what the server says of itself. */
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("certificate matches mail.tls.test (greeting name)",
                  MXP_STATE_OK);
}

static void test_help_250_is_not_injection(void **state)
{
    (void)state;
    srv.help_250 = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("not vulnerable to STARTTLS command injection", MXP_STATE_OK);
}

static void test_turned_away_probes_are_asked_again(void **state)
{
    (void)state;
    srv.turn_away = 6;
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_true(srv.turned_away > 0);
    assert_int_equal(fake_smtp_opens(), TP_COUNT + srv.turned_away);
    assert_int_equal(fake_detail_find("cannot tell", NULL), -1);
}

/* A limit of 2 or 3 connections per client (Postfix's
 * smtpd_client_connection_count_limit): the main session stays open
 * and holds one of them, and a retry can be turned away again while
 * the server still counts the ones it just closed; still a full
 * verdict, the questions asked one or two at a time. */
static void test_connection_limit_of_two_gives_full_verdict(void **state)
{
    for (unsigned limit = 2; limit <= 3; limit++) {
        (void)state;
        teardown(NULL);
        setup(NULL);
        srv.turn_away = limit;
        srv.linger = 3;
        assert_int_equal(run_with(NULL), MXP_STATE_OK);
        assert_int_equal(srv.linger, 0);
        assert_true(srv.turned_away > 0);
        assert_int_equal(fake_detail_find("cannot tell", NULL), -1);
        assert_detail("protocols: TLSv1.2 TLSv1.3 accepted; SSLv3 TLSv1.0 "
                      "TLSv1.1 refused",
                      MXP_STATE_OK);
    }
}

/* Turned away, and no time left to try again: the 421 is the reason,
 * not "not asked". */
static void test_turned_away_out_of_time_says_so(void **state)
{
    (void)state;
    srv.turn_away = 2;
    srv.late = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_UNKNOWN);
    assert_detail("SSLv3: cannot tell (turned away: 421 4.7.0 too many "
                  "connections; no time left to ask again)",
                  MXP_STATE_UNKNOWN);
    /* Those never started were not asked indeed. */
    assert_detail("TLSv1.0: cannot tell (not asked: the run's time ran out)",
                  MXP_STATE_UNKNOWN);
}

/* A server that turns everyone away, the main connection too: UNKNOWN
 * at once, no probe asked again (each retry only cost its pause). */
static void test_all_turned_away_asks_nothing_again(void **state)
{
    (void)state;
    srv.refuse_all = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(),
                        "cannot tell: greeting 421 4.7.0 too many connections");
    assert_int_equal(fake_smtp_opens(), TP_COUNT);
}

static void test_implicit_tls_on_465(void **state)
{
    (void)state;
    fake_set_target("192.0.2.25", 465);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("implicit TLS: TLSv1.3", MXP_STATE_OK);
    /* Nothing goes in clear: no STARTTLS, no injection test. */
    for (size_t i = 0; i < fake_smtp_n_sent(); i++)
        assert_string_not_equal(fake_smtp_sent(i), "STARTTLS");
    assert_int_equal(fake_smtp_opens(), TP_COUNT - 1);
}

/* Implicit TLS to a server that takes connections and says nothing:
 * the raw probes held for the main handshake are not sent after it
 * timed out (one more timeout, for nothing). */
static void test_implicit_silent_server_holds_raw_probes(void **state)
{
    (void)state;
    fake_set_target("192.0.2.25", 465);
    srv.stall_all = 1;
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("TLS handshake failed: no answer within 20.0 s",
                  MXP_STATE_CRITICAL);
    assert_int_equal(fake_tls_hellos(), 0);
    assert_detail("SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3, RC4 cipher "
                  "suites",
                  MXP_STATE_UNKNOWN);
}

/* -H an address: held against the certificate's IP SANs, IPv6 too, and
 * called an address. */
static void test_address_target_against_ip_sans(void **state)
{
    static const char *const san[] = {"2001:db8::25", NULL};
    struct tls_testcert_spec spec = {.cn = "other.tls.test",
                                     .san = san,
                                     .not_before_days = -1,
                                     .not_after_days = 60};
    struct tls_testcert ip;
    size_t len;

    (void)state;
    fake_set_target("2001:db8::25", 25);
    tls_testcert_make(&spec, &ip);
    free(srv.der);
    srv.der = tls_testcert_der(ip.cert, &len);
    srv.chain[0] = srv.der;
    srv.chain_len[0] = len;
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("certificate matches 2001:db8::25 (-H address)",
                  MXP_STATE_OK);
    tls_testcert_free(&ip);
}

static void test_connect_failure_is_unknown(void **state)
{
    (void)state;
    fake_smtp_fail_open(MXP_ERR_CONNECT,
                        "cannot connect to 192.0.2.25:25: connection refused");
    assert_int_equal(run_with(NULL), MXP_STATE_UNKNOWN);
    assert_non_null(strstr(fake_summary(), "connection refused"));
}

static void test_days_from_thresholds(void **state)
{
    (void)state;
    fake_set_thresholds("90", "7:");
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_string_equal(fake_perf_find("cert_days")->warn, "90:");
}

/* -w/-c are days: anything else, or -c above -w, is one clear line and
 * no connection. */
static void test_bad_day_thresholds(void **state)
{
    (void)state;
    fake_set_thresholds("@10:20", "7");
    assert_int_equal(run_with(NULL), MXP_STATE_UNKNOWN);
    assert_non_null(strstr(fake_summary(), "days left on the certificate"));
    assert_int_equal(fake_smtp_opens(), 0);
    fake_set_thresholds("7", "30");
    assert_int_equal(tls_run(fake_ctx(), state_of_init), MXP_OK);
    assert_int_equal(fake_state(), MXP_STATE_UNKNOWN);
    assert_string_equal(fake_summary(), "tls: the critical days (30) must not "
                                        "exceed the warning days (7)");
    assert_int_equal(fake_smtp_opens(), 0);
}

static void test_config_errors(void **state)
{
    (void)state;
    assert_int_equal(fake_config_set("cert_warning: 5\ncert_critical: 9\n"),
                     MXP_OK);
    assert_int_equal(tls_init(fake_init_ctx(), &state_of_init), MXP_ERR_CONFIG);
    assert_non_null(strstr(fake_config_error(0), "must not exceed"));
    assert_int_equal(fake_config_set("ca_file: /nonexistent/ca.pem\n"), MXP_OK);
    assert_int_equal(tls_init(fake_init_ctx(), &state_of_init), MXP_ERR_CONFIG);
    assert_int_equal(fake_config_set("connections: 99\n"), MXP_OK);
    assert_int_equal(tls_init(fake_init_ctx(), &state_of_init), MXP_ERR_CONFIG);
}

/* A directory or a FIFO as ca_file: a config error at once (a FIFO's
 * fopen blocked the run; a directory failed every handshake, reported
 * as the server's CRITICAL). */
static void test_ca_file_not_regular(void **state)
{
    char dir[] = "/tmp/tls-ca-XXXXXX", fifo[64], yaml[128];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(yaml, sizeof yaml, "ca_file: %s\n", dir);
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    assert_int_equal(tls_init(fake_init_ctx(), &state_of_init), MXP_ERR_CONFIG);
    assert_non_null(strstr(fake_config_error(0), "not a regular file"));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(yaml, sizeof yaml, "ca_file: %s\n", fifo);
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    alarm(10); /* a blocking open fails the test, not the suite */
    assert_int_equal(tls_init(fake_init_ctx(), &state_of_init), MXP_ERR_CONFIG);
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- DANE (dane_check.c) ---------------------------------------------- */

#define TLSA_NAME "_25._tcp.mail.tls.test"

/* The server presents c (and above it ca, when not NULL). */
static void present(const struct tls_testcert *c, const struct tls_testcert *ca)
{
    size_t len;

    free(srv.der);
    free(srv.der2);
    srv.der2 = NULL;
    srv.der = tls_testcert_der(c->cert, &len);
    srv.chain[0] = srv.der;
    srv.chain_len[0] = len;
    srv.n_chain = 1;
    if (ca != NULL) {
        srv.der2 = tls_testcert_der(ca->cert, &len);
        srv.chain[1] = srv.der2;
        srv.chain_len[1] = len;
        srv.n_chain = 2;
    }
}

/* A TLSA record for c at TLSA_NAME; its first 8 hex digits into hex. */
static void push_tlsa(const struct tls_testcert *c, int u, int s, int m,
                      char *hex)
{
    size_t len;
    unsigned char *rd = tls_testcert_tlsa(c, u, s, m, &len);

    fake_dns_push_raw(TLSA_NAME, MXP_DNS_TLSA, rd, len);
    if (hex != NULL)
        snprintf(hex, 9, "%02X%02X%02X%02X", rd[3], rd[4], rd[5], rd[6]);
    free(rd);
}

/* -H mail.tls.test, the name the setup's certificate carries. */
static void dane_target(void)
{
    fake_set_host("mail.tls.test");
}

static void make_cert(const char *cn, int after_days, int is_ca,
                      const struct tls_testcert *issuer,
                      struct tls_testcert *out)
{
    const char *san[] = {cn, NULL};
    struct tls_testcert_spec spec = {.cn = cn,
                                     .san = is_ca ? NULL : san,
                                     .is_ca = is_ca,
                                     .not_before_days = -30,
                                     .not_after_days = after_days};

    if (issuer != NULL) {
        spec.issuer_cert = issuer->cert;
        spec.issuer_key = issuer->key;
    }
    tls_testcert_make(&spec, out);
}

static void test_dane_ee_match_named_with_rollover_note(void **state)
{
    char hex[9], words[80];

    (void)state;
    dane_target();
    push_tlsa(&leaf, 3, 1, 1, hex);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    snprintf(words, sizeof words,
             "TLSA 3 1 1 %s... (DANE-EE) matches the leaf certificate", hex);
    assert_detail(words, MXP_STATE_OK);
    assert_detail("one usable TLSA record at " TLSA_NAME
                  ": publish a second one",
                  MXP_STATE_OK);
    assert_detail("DANE-EE matches: names and expiry are not checked by DANE "
                  "senders (RFC 7672 3.1.1)",
                  MXP_STATE_OK);
    assert_int_equal(fake_dns_asked(TLSA_NAME, MXP_DNS_TLSA), 1);
}

static void test_dane_signed_not_matching_is_critical(void **state)
{
    struct tls_testcert other;

    (void)state;
    dane_target();
    make_cert("mail.tls.test", 60, 0, NULL, &other);
    push_tlsa(&other, 3, 1, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_non_null(strstr(fake_summary(),
                           "no TLSA record at " TLSA_NAME
                           " matches the certificate chain: DANE senders "
                           "defer all mail"));
    assert_detail("(DANE-EE): does not match the server certificate",
                  MXP_STATE_OK);
    tls_testcert_free(&other);
}

static void test_dane_unsigned_tlsa_warns(void **state)
{
    (void)state;
    dane_target();
    push_tlsa(&leaf, 3, 1, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 0);
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("TLSA records at " TLSA_NAME " are not DNSSEC-signed: "
                  "senders ignore them",
                  MXP_STATE_WARNING);
    assert_int_equal(fake_detail_find("matches the leaf", NULL), -1);
    assert_detail("(no AD on the address either: an unsigned zone, or a "
                  "resolver that does not validate)",
                  MXP_STATE_WARNING);
    teardown(NULL);
    setup(NULL);
    /* A signed address: the resolver validates, the TLSA is unsigned. */
    dane_target();
    push_tlsa(&leaf, 3, 1, 1, NULL);
    fake_dns_add("mail.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25",
                 NULL);
    fake_dns_set_ad("mail.tls.test", MXP_DNS_A, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("not DNSSEC-signed: senders ignore them", MXP_STATE_WARNING);
    assert_int_equal(fake_detail_find("no AD on the address", NULL), -1);
}

static void test_dane_usage_1_only_warns(void **state)
{
    (void)state;
    dane_target();
    push_tlsa(&leaf, 1, 1, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("TLSA records at " TLSA_NAME " are of usage 0/1 "
                  "(PKIX-TA/PKIX-EE) only, which SMTP senders ignore (RFC "
                  "7672 3.1.3): DANE senders use TLS without authentication",
                  MXP_STATE_WARNING);
    assert_detail("ignored by senders", MXP_STATE_OK);
}

static void test_dane_several_records_one_matches(void **state)
{
    struct tls_testcert other;
    char hex[9], words[80];

    (void)state;
    dane_target();
    make_cert("mail.tls.test", 60, 0, NULL, &other);
    push_tlsa(&other, 3, 1, 1, NULL);
    push_tlsa(&leaf, 3, 0, 2, hex);
    push_tlsa(&other, 2, 0, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    snprintf(words, sizeof words,
             "TLSA 3 0 2 %s... (DANE-EE) matches the leaf certificate", hex);
    assert_detail(words, MXP_STATE_OK);
    assert_detail("(DANE-TA): matches no issuer", MXP_STATE_OK);
    /* Three usable records: a rollover is provided for. */
    assert_int_equal(fake_detail_find("one usable TLSA record", NULL), -1);
    tls_testcert_free(&other);
}

/* A large RRset (a rollover of many keys, or one per server of a pool):
 * the matching record after sixteen others still counts, as it does for
 * senders, which use every record; the details stay bounded. */
static void test_dane_match_after_many_records(void **state)
{
    static unsigned char junk[3 + 32] = {3, 1, 1};
    char words[80];

    (void)state;
    dane_target();
    for (int i = 0; i < 40; i++) {
        junk[3] = (unsigned char)i;
        fake_dns_push_raw(TLSA_NAME, MXP_DNS_TLSA, junk, sizeof junk);
    }
    push_tlsa(&leaf, 3, 1, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_int_equal(fake_detail_find("matches the certificate chain", NULL),
                     -1);
    assert_detail("(DANE-EE) matches the leaf certificate", MXP_STATE_OK);
    /* 16 of the 40 others shown, the match too */
    snprintf(words, sizeof words, "and %d more TLSA records at " TLSA_NAME,
             40 - 16);
    assert_detail(words, MXP_STATE_OK);
}

static void test_dane_ee_match_lowers_pkix_findings(void **state)
{
    struct tls_testcert bad;

    (void)state;
    dane_target();
    /* Expired two days ago, for another name, self-signed. */
    make_cert("other.tls.test", -2, 0, NULL, &bad);
    present(&bad, NULL);
    srv.verify = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
    push_tlsa(&bad, 3, 1, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with("strict: true"), MXP_STATE_OK);
    assert_detail("for senders without DANE: certificate expired 2 days ago",
                  MXP_STATE_OK);
    assert_detail("for senders without DANE: certificate name does not match",
                  MXP_STATE_OK);
    assert_detail("for senders without DANE: self-signed certificate",
                  MXP_STATE_OK);
    assert_detail("DANE-EE matches", MXP_STATE_OK);
    tls_testcert_free(&bad);
    teardown(NULL);
    setup(NULL);
    /* The same certificate without TLSA: all of it counts. */
    dane_target();
    make_cert("other.tls.test", -2, 0, NULL, &bad);
    present(&bad, NULL);
    assert_int_equal(run_with("strict: true"), MXP_STATE_CRITICAL);
    tls_testcert_free(&bad);
}

static void test_dane_ta_match_still_checks_the_name(void **state)
{
    struct tls_testcert ca, mx;

    (void)state;
    dane_target();
    make_cert("Private CA", 365, 1, NULL, &ca);
    make_cert("other.tls.test", 60, 0, &ca, &mx);
    present(&mx, &ca);
    srv.verify = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    push_tlsa(&ca, 2, 0, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    /* Port 25, not strict: still CRITICAL, DANE senders defer. */
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("(DANE-TA) matches certificate 2 of the chain", MXP_STATE_OK);
    assert_detail("certificate name does not match mail.tls.test (TLSA base "
                  "domain)",
                  MXP_STATE_CRITICAL);
    assert_detail("for senders without DANE: issuer not trusted", MXP_STATE_OK);
    tls_testcert_free(&mx);
    teardown(NULL);
    setup(NULL);
    /* The right name: trusted through the TA, OK. */
    dane_target();
    make_cert("mail.tls.test", 60, 0, &ca, &mx);
    present(&mx, &ca);
    srv.verify = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    push_tlsa(&ca, 2, 0, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("DANE-TA matches", MXP_STATE_OK);
    assert_detail("certificate matches mail.tls.test (TLSA base domain)",
                  MXP_STATE_OK);
    tls_testcert_free(&mx);
    tls_testcert_free(&ca);
}

static void test_dane_no_tlsa_is_an_ok_detail(void **state)
{
    (void)state;
    dane_target();
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("no TLSA at " TLSA_NAME ": no DANE", MXP_STATE_OK);
    teardown(NULL);
    setup(NULL);
    /* Turned off: not asked. */
    dane_target();
    assert_int_equal(run_with("dane: false"), MXP_STATE_OK);
    assert_int_equal(fake_dns_asked(TLSA_NAME, MXP_DNS_TLSA), 0);
    assert_int_equal(fake_detail_find("TLSA", NULL), -1);
}

static void test_dane_signed_without_starttls_is_critical(void **state)
{
    (void)state;
    dane_target();
    srv.no_starttls = 1;
    push_tlsa(&leaf, 3, 1, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("TLSA records at " TLSA_NAME " are DNSSEC-signed but no "
                  "TLS session could be had: DANE senders defer all mail",
                  MXP_STATE_CRITICAL);
}

static void test_dane_mx_names_are_the_base(void **state)
{
    char hex[9], words[80];

    (void)state;
    /* -H an address, -D the domain: its MX pointing here is the base. */
    fake_set_domain("tls.test");
    fake_dns_add("tls.test", MXP_DNS_MX, MXP_DNS_ANSWER, "mail.tls.test",
                 "mx9.tls.test", NULL);
    fake_dns_add("mail.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25",
                 NULL);
    fake_dns_add("mx9.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99", NULL);
    push_tlsa(&leaf, 3, 1, 1, hex);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    snprintf(words, sizeof words, "TLSA 3 1 1 %s... (DANE-EE) matches", hex);
    assert_detail(words, MXP_STATE_OK);
    /* The MX that points elsewhere is no base name. */
    assert_int_equal(fake_detail_find("_25._tcp.mx9.tls.test", NULL), -1);
}

static void test_dane_failed_lookup(void **state)
{
    (void)state;
    dane_target();
    fake_dns_add(TLSA_NAME, MXP_DNS_TLSA, MXP_DNS_SERVFAIL, NULL);
    fake_dns_add("mail.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25",
                 NULL);
    fake_dns_set_ad("mail.tls.test", MXP_DNS_A, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_WARNING);
    assert_detail("TLSA lookup of " TLSA_NAME " failed (SERVFAIL) while "
                  "mail.tls.test's address is DNSSEC-signed: DANE senders "
                  "defer mail to it",
                  MXP_STATE_WARNING);
    teardown(NULL);
    setup(NULL);
    /* An unsigned address: DANE senders do not ask; no alarm. */
    dane_target();
    fake_dns_add(TLSA_NAME, MXP_DNS_TLSA, MXP_DNS_SERVFAIL, NULL);
    fake_dns_add("mail.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25",
                 NULL);
    assert_int_equal(run_with(NULL), MXP_STATE_OK);
    assert_detail("cannot tell whether DANE applies", MXP_STATE_OK);
}

static void test_dane_each_mx_name_judged(void **state)
{
    struct tls_testcert ca, mx;
    size_t len;
    unsigned char *rd;

    (void)state;
    /* Two MX names point here: mail's TLSA is DANE-EE, mx2's DANE-TA.
     * A sender to mx2 checks the leaf's names against mx2.tls.test. */
    make_cert("Private CA", 365, 1, NULL, &ca);
    make_cert("mail.tls.test", 60, 0, &ca, &mx);
    present(&mx, &ca);
    fake_set_domain("tls.test");
    fake_dns_add("tls.test", MXP_DNS_MX, MXP_DNS_ANSWER, "mail.tls.test",
                 "mx2.tls.test", NULL);
    fake_dns_add("mail.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25",
                 NULL);
    fake_dns_add("mx2.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25", NULL);
    push_tlsa(&mx, 3, 1, 1, NULL);
    fake_dns_set_ad(TLSA_NAME, MXP_DNS_TLSA, 1);
    rd = tls_testcert_tlsa(&ca, 2, 0, 1, &len);
    fake_dns_push_raw("_25._tcp.mx2.tls.test", MXP_DNS_TLSA, rd, len);
    free(rd);
    fake_dns_set_ad("_25._tcp.mx2.tls.test", MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("(DANE-EE) matches the leaf certificate", MXP_STATE_OK);
    assert_detail("(DANE-TA) matches certificate 2 of the chain", MXP_STATE_OK);
    assert_detail("certificate name does not match mx2.tls.test (TLSA base "
                  "domain)",
                  MXP_STATE_CRITICAL);
    tls_testcert_free(&mx);
    tls_testcert_free(&ca);
}

/* Every MX name (of the eight the names module keeps) that points at the
 * target is judged: a DANE sender may pick any of them.  The sixth's
 * signed TLSA does not match: CRITICAL, not left out unsaid. */
static void test_dane_every_mx_name_judged(void **state)
{
    static const char *const mx[] = {"mx1.tls.test", "mx2.tls.test",
                                     "mx3.tls.test", "mx4.tls.test",
                                     "mx5.tls.test", "mx6.tls.test"};
    struct tls_testcert other;
    size_t len;
    unsigned char *rd;

    (void)state;
    make_cert("mx6.tls.test", 60, 0, NULL, &other);
    fake_set_domain("tls.test");
    /* -H another name: asked first, then the MX names */
    fake_set_host("mail.tls.test");
    fake_dns_add("tls.test", MXP_DNS_MX, MXP_DNS_ANSWER, mx[0], mx[1], mx[2],
                 mx[3], mx[4], mx[5], NULL);
    for (size_t i = 0; i < 6; i++)
        fake_dns_add(mx[i], MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.25", NULL);
    rd = tls_testcert_tlsa(&other, 3, 1, 1, &len);
    fake_dns_push_raw("_25._tcp.mx6.tls.test", MXP_DNS_TLSA, rd, len);
    free(rd);
    fake_dns_set_ad("_25._tcp.mx6.tls.test", MXP_DNS_TLSA, 1);
    assert_int_equal(run_with(NULL), MXP_STATE_CRITICAL);
    assert_detail("no TLSA record at _25._tcp.mx6.tls.test matches",
                  MXP_STATE_CRITICAL);
    assert_int_equal(fake_dns_asked("_25._tcp.mx5.tls.test", MXP_DNS_TLSA), 1);
    tls_testcert_free(&other);
}

/* -H an address, -D's MX lookup failed (a bogus zone is SERVFAIL): the
 * detail says that DANE could not be told and why, not that no name was
 * given; an MX answer that names other hosts says so too. */
static void test_dane_mx_lookup_failed_says_why(void **state)
{
    (void)state;
    fake_set_domain("tls.test");
    fake_dns_add("tls.test", MXP_DNS_MX, MXP_DNS_SERVFAIL, NULL);
    run_with(NULL);
    assert_detail("DANE not checked: the MX lookup of tls.test failed "
                  "(SERVFAIL), so the names senders ask TLSA for are not "
                  "known",
                  MXP_STATE_OK);
    assert_int_equal(fake_detail_find("-D gives the MX names", NULL), -1);
    teardown(NULL);
    setup(NULL);
    fake_set_domain("tls.test");
    fake_dns_add("tls.test", MXP_DNS_MX, MXP_DNS_ANSWER, "elsewhere.tls.test",
                 NULL);
    fake_dns_add("elsewhere.tls.test", MXP_DNS_A, MXP_DNS_ANSWER, "192.0.2.99",
                 NULL);
    run_with(NULL);
    assert_detail("DANE not checked: no MX name of tls.test points at the "
                  "target",
                  MXP_STATE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_modern_server_is_ok),
        T(test_no_starttls_warns_on_25_critical_on_587),
        T(test_starttls_refused_is_critical),
        T(test_legacy_protocols),
        T(test_tls10_only_server),
        T(test_junk_tells_nothing),
        T(test_silent_probe_is_unknown_not_refused),
        T(test_anonymous_suites_by_port),
        T(test_weak_classes),
        T(test_suite_not_offered_is_unknown),
        T(test_tls10_with_rc4_only_is_accepted),
        T(test_small_dh_group_warns),
        T(test_auth_in_clear_warns),
        T(test_command_injection),
        T(test_no_handshake_at_all_words),
        T(test_names_from_h_and_mx_win),
        T(test_help_250_is_not_injection),
        T(test_turned_away_probes_are_asked_again),
        T(test_connection_limit_of_two_gives_full_verdict),
        T(test_turned_away_out_of_time_says_so),
        T(test_all_turned_away_asks_nothing_again),
        T(test_implicit_tls_on_465),
        T(test_implicit_silent_server_holds_raw_probes),
        T(test_address_target_against_ip_sans),
        T(test_connect_failure_is_unknown),
        T(test_days_from_thresholds),
        T(test_bad_day_thresholds),
        T(test_config_errors),
        T(test_ca_file_not_regular),
        T(test_dane_ee_match_named_with_rollover_note),
        T(test_dane_signed_not_matching_is_critical),
        T(test_dane_unsigned_tlsa_warns),
        T(test_dane_usage_1_only_warns),
        T(test_dane_several_records_one_matches),
        T(test_dane_match_after_many_records),
        T(test_dane_every_mx_name_judged),
        T(test_dane_mx_lookup_failed_says_why),
        T(test_dane_ee_match_lowers_pkix_findings),
        T(test_dane_ta_match_still_checks_the_name),
        T(test_dane_no_tlsa_is_an_ok_detail),
        T(test_dane_signed_without_starttls_is_critical),
        T(test_dane_mx_names_are_the_base),
        T(test_dane_failed_lookup),
        T(test_dane_each_mx_name_judged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
