/*
 * test_tls.c - the core's TLS (tls.c, tls_hello.c, TLS inside smtp.c)
 * against real OpenSSL servers forked on 127.0.0.1, and raw scripted
 * servers for the bare ClientHello.
 *
 * The certificates are made at start with tls_testcert (a CA, a leaf it
 * signed for mx.test, a self-signed leaf, a leaf too big to accept).
 * Each server is a script_server child; a TLS one runs SSL_accept on the
 * accepted socket with the settings of g_srv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "clock.h"
#include "fake_core.h"
#include "script_server.h"
#include "smtp.h"
#include "tls_hello.h"
#include "tls_testcert.h"

/* ---- certificates ------------------------------------------------------ */

static char ca_pem[256], leaf_pem[256], leaf_key[256], self_pem[256],
    self_key[256], big_pem[256], big_key[256], rsa_pem[256], rsa_key[256],
    long_pem[256];
static unsigned char *leaf_der;
static size_t leaf_der_len;

static void path_in(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tls_testcert_dir(), name);
}

static int make_certs(void **state)
{
    static const char *const san[] = {"mx.test", "127.0.0.1", NULL};
    struct tls_testcert ca, leaf, self, big, rsa;
    struct tls_testcert_spec ca_spec = {.cn = "mxprobe test CA",
                                        .is_ca = 1,
                                        .not_before_days = -1,
                                        .not_after_days = 30};
    struct tls_testcert_spec leaf_spec = {.cn = "mx.test",
                                          .san = san,
                                          .not_before_days = -1,
                                          .not_after_days = 20};
    struct tls_testcert_spec self_spec = leaf_spec;
    struct tls_testcert_spec big_spec = leaf_spec;
    const char **many;
    size_t i;

    (void)state;
    /* A server that hangs up must not kill the test (runner.c ignores
     * SIGPIPE in jobs; the core's own socket writes never raise it). */
    signal(SIGPIPE, SIG_IGN);
    tls_testcert_make(&ca_spec, &ca);
    leaf_spec.issuer_key = ca.key;
    leaf_spec.issuer_cert = ca.cert;
    tls_testcert_make(&leaf_spec, &leaf);
    tls_testcert_make(&self_spec, &self);
    leaf_spec.key_type = TLS_TESTCERT_RSA;
    tls_testcert_make(&leaf_spec, &rsa);
    /* Over 100 KiB of certificate: 2400 names of 50 bytes. */
    many = calloc(2401, sizeof(*many));
    assert_non_null(many);
    for (i = 0; i < 2400; i++) {
        char *n = malloc(64);

        assert_non_null(n);
        snprintf(n, 64, "host-%04zu.a-rather-long-name-for-padding.test", i);
        many[i] = n;
    }
    big_spec.san = many;
    tls_testcert_make(&big_spec, &big);
    for (i = 0; i < 2400; i++)
        free((char *)many[i]);
    free(many);

    path_in(ca_pem, sizeof(ca_pem), "ca.pem");
    path_in(leaf_pem, sizeof(leaf_pem), "leaf.pem");
    path_in(leaf_key, sizeof(leaf_key), "leaf.key");
    path_in(self_pem, sizeof(self_pem), "self.pem");
    path_in(self_key, sizeof(self_key), "self.key");
    path_in(big_pem, sizeof(big_pem), "big.pem");
    path_in(big_key, sizeof(big_key), "big.key");
    path_in(rsa_pem, sizeof(rsa_pem), "rsa.pem");
    path_in(rsa_key, sizeof(rsa_key), "rsa.key");
    tls_testcert_write_pem(&ca, ca_pem, NULL, NULL, 0);
    tls_testcert_write_pem(&leaf, leaf_pem, leaf_key, &ca.cert, 1);
    tls_testcert_write_pem(&self, self_pem, self_key, NULL, 0);
    tls_testcert_write_pem(&big, big_pem, big_key, NULL, 0);
    tls_testcert_write_pem(&rsa, rsa_pem, rsa_key, NULL, 0);
    /* The leaf and 24 more certificates: more than MXP_TLS_MAX_CHAIN. */
    {
        struct tls_testcert extra[24];
        X509 *certs[24];
        struct tls_testcert_spec x = {.cn = "filler", .not_after_days = 9};

        for (i = 0; i < 24; i++) {
            tls_testcert_make(&x, &extra[i]);
            certs[i] = extra[i].cert;
        }
        path_in(long_pem, sizeof(long_pem), "long.pem");
        tls_testcert_write_pem(&self, long_pem, NULL, certs, 24);
        for (i = 0; i < 24; i++)
            tls_testcert_free(&extra[i]);
    }
    leaf_der = tls_testcert_der(leaf.cert, &leaf_der_len);
    tls_testcert_free(&ca);
    tls_testcert_free(&leaf);
    tls_testcert_free(&self);
    tls_testcert_free(&big);
    tls_testcert_free(&rsa);
    return 0;
}

static int free_certs(void **state)
{
    (void)state;
    free(leaf_der);
    return 0;
}

/* ---- the TLS server side (in the child) -------------------------------- */

static struct {
    const char *cert, *key;
    int min, max;        /* OpenSSL version constants, 0: default */
    int level0;          /* security level 0 (TLS 1.0 needs it in OpenSSL 3) */
    const char *groups;  /* key exchange groups, NULL: default */
    const char *ciphers; /* TLS <= 1.2 list, NULL: default */
    const char *after;   /* sent right after the handshake, or NULL */
} g_srv;

static void srv_defaults(void)
{
    memset(&g_srv, 0, sizeof(g_srv));
    g_srv.cert = leaf_pem;
    g_srv.key = leaf_key;
}

/* SSL_accept on fd with g_srv; exits 5 when the handshake fails. */
static SSL *srv_tls(int fd)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl;

    if (ctx == NULL)
        _exit(6);
    if (g_srv.level0) {
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    if (g_srv.groups != NULL)
        SSL_CTX_set1_groups_list(ctx, g_srv.groups);
    if (g_srv.ciphers != NULL) {
        SSL_CTX_set_cipher_list(ctx, g_srv.ciphers);
        SSL_CTX_set_dh_auto(ctx, 1);
    }
    if (g_srv.min != 0)
        SSL_CTX_set_min_proto_version(ctx, g_srv.min);
    if (g_srv.max != 0)
        SSL_CTX_set_max_proto_version(ctx, g_srv.max);
    if (SSL_CTX_use_certificate_chain_file(ctx, g_srv.cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, g_srv.key, SSL_FILETYPE_PEM) != 1)
        _exit(6);
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
        _exit(6);
    if (SSL_accept(ssl) != 1)
        _exit(5);
    if (g_srv.after != NULL)
        SSL_write(ssl, g_srv.after, (int)strlen(g_srv.after));
    return ssl;
}

static void tls_puts(SSL *ssl, const char *s)
{
    if (SSL_write(ssl, s, (int)strlen(s)) <= 0)
        _exit(3);
}

/* One line over TLS; exits 2 unless it equals want. */
static void tls_expect(SSL *ssl, const char *want)
{
    char line[512];
    size_t n = 0;
    char c;

    for (;;) {
        if (SSL_read(ssl, &c, 1) != 1)
            _exit(2);
        if (c == '\n')
            break;
        if (n + 1 < sizeof(line))
            line[n++] = c;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    if (strcmp(line, want) != 0) {
        fprintf(stderr, "tls server: wanted '%s', got '%s'\n", want, line);
        _exit(2);
    }
}

/* Waits for the client's close_notify or EOF. */
static void tls_drain(SSL *ssl)
{
    char c;

    while (SSL_read(ssl, &c, 1) == 1)
        ;
}

/* The plaintext part up to STARTTLS's 220. */
static void srv_to_starttls(int fd)
{
    srv_puts(fd, "220 mx.test ESMTP\r\n");
    srv_expect(fd, "EHLO probe.test");
    srv_puts(fd, "250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
    srv_expect(fd, "STARTTLS");
}

/* ---- the client side ----------------------------------------------------- */

static struct mxp_smtp *open_to(const struct server *sv, double cmd_timeout)
{
    struct mxp_smtp_options o = session_opts(cmd_timeout, 10);
    struct mxp_smtp *s = NULL;

    assert_int_equal(mxp_smtp_open(&o, "127.0.0.1", sv->port, &s), MXP_OK);
    return s;
}

/* Greeting, EHLO, STARTTLS answered 220. */
static struct mxp_smtp *client_to_starttls(const struct server *sv,
                                           double cmd_timeout)
{
    struct mxp_smtp *s = open_to(sv, cmd_timeout);
    struct mxp_smtp_reply r;

    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, NULL), MXP_OK);
    assert_true(mxp_smtp_has_extension(s, "STARTTLS"));
    assert_int_equal(mxp_smtp_command(s, "STARTTLS", &r), MXP_OK);
    assert_int_equal(r.code, 220);
    return s;
}

/* ---- STARTTLS, then EHLO over TLS ---------------------------------------- */

static void script_starttls(int fd)
{
    SSL *ssl;

    srv_to_starttls(fd);
    srv_puts(fd, "220 2.0.0 Ready to start TLS\r\n");
    ssl = srv_tls(fd);
    tls_expect(ssl, "EHLO probe.test");
    tls_puts(ssl, "250-mx.test\r\n250 AUTH PLAIN LOGIN\r\n");
    tls_expect(ssl, "QUIT");
    tls_puts(ssl, "221 2.0.0 Bye\r\n");
    tls_drain(ssl);
}

static void test_starttls_then_ehlo(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    const struct mxp_tls_info *info = NULL, *again = NULL;
    struct mxp_tls_options o = {.ca_file = ca_pem, .sni = "mx.test"};

    (void)state;
    srv_defaults();
    start_server(&sv, script_starttls);
    s = client_to_starttls(&sv, 5);
    assert_int_equal(mxp_smtp_tls_info(s, &info), MXP_ERR_INVALID);
    assert_int_equal(mxp_smtp_tls_handshake(s, &o, &info), MXP_OK);
    assert_non_null(info);
    assert_int_equal(info->version, MXP_TLS_1_3);
    assert_string_equal(info->protocol, "TLSv1.3");
    assert_true(strncmp(info->cipher, "TLS_", 4) == 0);
    assert_int_equal(info->cipher_id >> 8, 0x13);
    assert_true(info->cipher_bits >= 128);
    assert_string_equal(info->kx, "X25519");
    assert_int_equal(info->kx_bits, 253);
    assert_int_equal(info->verify_result, X509_V_OK);
    assert_int_equal(info->verify_depth, -1);
    assert_int_equal(info->n_chain, 2); /* leaf and the CA above it */
    assert_int_equal(info->chain_total, 2);
    assert_int_equal(info->chain_len[0], leaf_der_len);
    assert_memory_equal(info->chain_der[0], leaf_der, leaf_der_len);
    assert_true(info->handshake_time >= 0 && info->handshake_time < 5);
    assert_int_equal(mxp_smtp_tls_info(s, &again), MXP_OK);
    assert_ptr_equal(again, info);
    assert_true(noted('C', "TLS handshake with 127.0.0.1:"));
    for (size_t k = 0; k < n_notes; k++) {
        char want[160];

        if (strncmp(notes[k].line, "TLS handshake", 13) != 0)
            continue;
        snprintf(want, sizeof(want),
                 "TLS handshake with 127.0.0.1:%u done in %.0f ms, TLSv1.3 %s",
                 sv.port, info->handshake_time * 1000.0, info->cipher);
        assert_string_equal(notes[k].line, want);
    }
    /* A second upgrade is the caller's mistake; the session goes on. */
    assert_int_equal(mxp_smtp_tls_start(s, &o), MXP_ERR_INVALID);
    /* The extensions are the ones offered over TLS. */
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, NULL), MXP_OK);
    assert_int_equal(r.code, 250);
    assert_true(mxp_smtp_has_extension(s, "AUTH"));
    assert_false(mxp_smtp_has_extension(s, "STARTTLS"));
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* tls_start, then a command straight away: the command finishes the
 * handshake, and no later wait reports that handshake again. */
static void test_start_then_command(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    size_t ready;

    (void)state;
    srv_defaults();
    start_server(&sv, script_starttls);
    s = client_to_starttls(&sv, 5);
    assert_int_equal(mxp_smtp_tls_start(s, NULL), MXP_OK);
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, NULL), MXP_OK);
    assert_true(mxp_smtp_has_extension(s, "AUTH"));
    assert_int_equal(mxp_smtp_wait(&s, 1, &ready), MXP_ERR_INVALID);
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* A 12 KiB EHLO reply in one TLS record: more than one read of the
 * socket's worth, all of it held inside OpenSSL after the first. */
static void script_big_reply(int fd)
{
    static char reply[16384];
    size_t n = 0;
    SSL *ssl;
    int i;

    srv_to_starttls(fd);
    srv_puts(fd, "220 2.0.0 Ready\r\n");
    ssl = srv_tls(fd);
    tls_expect(ssl, "EHLO probe.test");
    n += (size_t)snprintf(reply + n, sizeof(reply) - n, "250-mx.test\r\n");
    for (i = 0; i < 100; i++)
        n += (size_t)snprintf(reply + n, sizeof(reply) - n,
                              "250-X-PAD%03d %0110d\r\n", i, 0);
    n += (size_t)snprintf(reply + n, sizeof(reply) - n, "250 8BITMIME\r\n");
    tls_puts(ssl, reply);
    tls_drain(ssl);
}

static void test_no_wait_and_big_record(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    size_t ready;

    (void)state;
    srv_defaults();
    start_server(&sv, script_big_reply);
    s = client_to_starttls(&sv, 3);
    /* No wait: the next command finishes the handshake first, and the
     * wait then reports the reply, not the handshake. */
    assert_int_equal(mxp_smtp_tls_start(s, NULL), MXP_OK);
    assert_int_equal(mxp_smtp_send(s, "EHLO probe.test"), MXP_OK);
    assert_int_equal(mxp_smtp_tls_info(s, NULL), MXP_OK);
    assert_int_equal(mxp_smtp_wait(&s, 1, &ready), MXP_OK);
    assert_int_equal(ready, 0);
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(r.code, 250);
    assert_int_equal(r.n_lines, 102);
    assert_true(mxp_smtp_has_extension(s, "8BITMIME"));
    mxp_smtp_close(s, 0);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* ---- implicit TLS and the verification result ---------------------------- */

static void script_implicit(int fd)
{
    SSL *ssl = srv_tls(fd);

    tls_puts(ssl, "220 mx.test ESMTP over TLS\r\n");
    tls_drain(ssl);
}

static const struct verify_case {
    const char *cert, *key;
    int use_ca; /* ca_file: the test CA; else the system store */
    long want;
    int depth;
} verify_cases[] = {
    {leaf_pem, leaf_key, 1, X509_V_OK, -1},
    {self_pem, self_key, 1, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0},
    {self_pem, self_key, 0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0},
    /* The system store does not know the test CA the server sends. */
    {leaf_pem, leaf_key, 0, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 1},
};

static void test_implicit_tls_and_verify(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(verify_cases) / sizeof(verify_cases[0]); i++) {
        const struct verify_case *c = &verify_cases[i];
        struct mxp_tls_options o = {.ca_file = c->use_ca ? ca_pem : NULL,
                                    .sni = "mx.test"};
        struct server sv;
        struct mxp_smtp *s;
        struct mxp_smtp_reply r;
        const struct mxp_tls_info *info;

        srv_defaults();
        g_srv.cert = c->cert;
        g_srv.key = c->key;
        start_server(&sv, script_implicit);
        s = open_to(&sv, 5);
        assert_int_equal(mxp_smtp_tls_handshake(s, &o, &info), MXP_OK);
        assert_int_equal(info->verify_result, c->want);
        assert_int_equal(info->verify_depth, c->depth);
        assert_string_equal(info->verify_words,
                            X509_verify_cert_error_string(c->want));
        /* The greeting was owed all along and comes over TLS. */
        assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
        assert_int_equal(r.code, 220);
        assert_string_equal(r.lines[0], "mx.test ESMTP over TLS");
        assert_true(r.elapsed < 2);
        mxp_smtp_close(s, 0);
        assert_int_equal(finish_server(&sv, 0), 0);
    }
}

/* ---- the server's temporary key ---------------------------------------- */

static const struct kx_case {
    const char *groups, *ciphers;
    int rsa, max;
    const char *kx;
    int bits;
} kx_cases[] = {
    {NULL, NULL, 0, 0, "X25519", 253},
    {"P-256", NULL, 0, 0, "ECDH P-256", 256},
    {"P-384", NULL, 0, TLS1_2_VERSION, "ECDH P-384", 384},
    /* DHE with an automatic group the size of the RSA key. */
    {NULL, "DHE-RSA-AES128-GCM-SHA256", 1, TLS1_2_VERSION, "DH", 2048},
    /* RSA key exchange: no temporary key. */
    {NULL, "AES128-GCM-SHA256", 1, TLS1_2_VERSION, "", 0},
};

static void test_kx(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(kx_cases) / sizeof(kx_cases[0]); i++) {
        const struct kx_case *c = &kx_cases[i];
        struct server sv;
        struct mxp_smtp *s;
        const struct mxp_tls_info *info;

        srv_defaults();
        g_srv.groups = c->groups;
        g_srv.ciphers = c->ciphers;
        g_srv.max = c->max;
        if (c->rsa) {
            g_srv.cert = rsa_pem;
            g_srv.key = rsa_key;
        }
        start_server(&sv, script_implicit);
        s = open_to(&sv, 5);
        assert_int_equal(mxp_smtp_tls_handshake(s, NULL, &info), MXP_OK);
        if (strcmp(info->kx, c->kx) != 0 || info->kx_bits != c->bits)
            fail_msg("case %zu: %s %d", i, info->kx, info->kx_bits);
        assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_OK);
        mxp_smtp_close(s, 0);
        assert_int_equal(finish_server(&sv, 0), 0);
    }
}

/* ---- a TLS 1.0 only server ---------------------------------------------- */

static void test_legacy_server(void **state)
{
    int legacy;

    (void)state;
    for (legacy = 0; legacy <= 1; legacy++) {
        struct mxp_tls_options o = {.legacy = legacy,
                                    .min_version = MXP_TLS_1_0};
        struct server sv;
        struct mxp_smtp *s;
        const struct mxp_tls_info *info = NULL;
        int rc;

        srv_defaults();
        g_srv.min = g_srv.max = TLS1_VERSION;
        g_srv.level0 = 1;
        start_server(&sv, script_implicit);
        s = open_to(&sv, 5);
        rc = mxp_smtp_tls_handshake(s, &o, &info);
        if (legacy) {
            assert_int_equal(rc, MXP_OK);
            assert_int_equal(info->version, MXP_TLS_1_0);
            assert_string_equal(info->protocol, "TLSv1");
            assert_int_equal(info->cipher_id >> 8, 0xc0); /* ECDHE-... */
            assert_string_equal(info->kx, "X25519");
            assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_OK);
            mxp_smtp_close(s, 0);
            assert_int_equal(finish_server(&sv, 0), 0);
        } else {
            /* Refused by this side's security level: OpenSSL's words. */
            assert_int_equal(rc, MXP_ERR_PROTOCOL);
            assert_null(info);
            assert_true(
                strncmp(mxp_smtp_error(s), "TLS handshake failed: ", 22) == 0);
            /* (here "legacy sigalg disallowed or unsupported": the
             * reason, not OpenSSL's "error:0A..." code) */
            assert_true(strlen(mxp_smtp_error(s)) > 30);
            assert_null(strstr(mxp_smtp_error(s), "error:"));
            assert_int_equal(mxp_smtp_tls_info(s, &info), MXP_ERR_PROTOCOL);
            assert_true(noted('!', "TLS handshake failed: "));
            /* The session is broken for good. */
            assert_int_equal(mxp_smtp_command(s, "NOOP", NULL),
                             MXP_ERR_PROTOCOL);
            mxp_smtp_close(s, 1);
            assert_int_equal(finish_server(&sv, 0), 5);
        }
    }
}

/* What this OpenSSL cannot offer is refused before anything is sent. */
static void test_unsupported_options(void **state)
{
    struct mxp_tls_options bad_list = {.ciphers = "NO-SUCH-CIPHER"};
    struct mxp_tls_options ssl3 = {.min_version = MXP_SSL_3_0,
                                   .max_version = MXP_SSL_3_0};
    const struct mxp_tls_info *info;
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    srv_defaults();
    start_server(&sv, script_implicit);
    s = open_to(&sv, 5);
    assert_int_equal(mxp_smtp_tls_start(s, &bad_list), MXP_ERR_UNSUPPORTED);
    assert_non_null(strstr(mxp_smtp_error(s), "NO-SUCH-CIPHER"));
    assert_int_equal(mxp_smtp_tls_start(s, &ssl3), MXP_ERR_UNSUPPORTED);
    /* Still usable: a good handshake follows. */
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, &info), MXP_OK);
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_OK);
    mxp_smtp_close(s, 0);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* A CA file that cannot serve is a config error in words; a FIFO is
 * refused before it is opened (the open would block). */
static void test_bad_ca_file(void **state)
{
    static const char *const bad[] = {"/nonexistent/ca.pem", "fifo", "/tmp"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char fifo[256];
        struct mxp_tls_options o = {.ca_file = bad[i]};
        struct server sv;
        struct mxp_smtp *s;

        if (strcmp(bad[i], "fifo") == 0) {
            path_in(fifo, sizeof(fifo), "ca.fifo");
            (void)unlink(fifo);
            assert_int_equal(mkfifo(fifo, 0600), 0);
            o.ca_file = fifo;
        }
        srv_defaults();
        start_server(&sv, script_implicit);
        s = open_to(&sv, 5);
        assert_int_equal(mxp_smtp_tls_start(s, &o), MXP_ERR_CONFIG);
        assert_true(strncmp(mxp_smtp_error(s), "TLS: cannot load the CA file ",
                            29) == 0);
        assert_non_null(strstr(mxp_smtp_error(s),
                               i == 0 ? "No such file" : "not a regular file"));
        mxp_smtp_close(s, 0);
        (void)finish_server(&sv, 1);
    }
}

/* ---- hostile servers after the 220 ------------------------------------- */

static void script_silent_after_220(int fd)
{
    srv_to_starttls(fd);
    srv_puts(fd, "220 go ahead\r\n");
    srv_drain(fd);
}

static void test_silent_after_220(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    double t;

    (void)state;
    start_server(&sv, script_silent_after_220);
    s = client_to_starttls(&sv, 0.4);
    t = mxp_now();
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_ERR_TIMEOUT);
    t = mxp_now() - t;
    assert_true(t >= 0.35 && t < 3.0);
    assert_string_equal(mxp_smtp_error(s),
                        "TLS handshake: no answer within 0.4 s");
    assert_int_equal(mxp_smtp_tls_info(s, NULL), MXP_ERR_TIMEOUT);
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* The deadline's words when the run's time, not the timeout, ends it. */
static void test_handshake_cut_by_deadline(void **state)
{
    struct server sv;
    struct mxp_smtp_options o = session_opts(5, 0.5);
    struct mxp_smtp *s = NULL;

    (void)state;
    start_server(&sv, script_silent_after_220);
    assert_int_equal(mxp_smtp_open(&o, "127.0.0.1", sv.port, &s), MXP_OK);
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_OK);
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", NULL, NULL), MXP_OK);
    assert_int_equal(mxp_smtp_command(s, "STARTTLS", NULL), MXP_OK);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_ERR_TIMEOUT);
    assert_non_null(strstr(mxp_smtp_error(s), ", the end of the run's time"));
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_stall_halfway(int fd)
{
    srv_to_starttls(fd);
    srv_puts(fd, "220 go ahead\r\n");
    (void)srv_getc(fd); /* the ClientHello has begun */
    srv_send(fd, "\x16\x03\x03\x00\x40\x02\x00\x00", 8);
    srv_drain(fd);
}

static void test_stall_halfway(void **state)
{
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    start_server(&sv, script_stall_halfway);
    s = client_to_starttls(&sv, 0.4);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_ERR_TIMEOUT);
    assert_non_null(strstr(mxp_smtp_error(s), "not finished within 0.4 s"));
    assert_non_null(strstr(mxp_smtp_error(s), "8 bytes"));
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_junk_after_220(int fd)
{
    srv_to_starttls(fd);
    srv_puts(fd, "220 go ahead\r\n");
    (void)srv_getc(fd);
    srv_puts(fd, "500 what is this?\r\n");
    srv_drain(fd);
}

static void test_junk_after_220(void **state)
{
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    start_server(&sv, script_junk_after_220);
    s = client_to_starttls(&sv, 5);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_ERR_PROTOCOL);
    assert_string_equal(mxp_smtp_error(s),
                        "TLS handshake failed: wrong version number");
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_close_in_handshake(int fd)
{
    srv_to_starttls(fd);
    srv_puts(fd, "220 go ahead\r\n");
    (void)srv_getc(fd);
}

static void test_closed_in_handshake(void **state)
{
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    start_server(&sv, script_close_in_handshake);
    s = client_to_starttls(&sv, 5);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_ERR_CLOSED);
    assert_string_equal(mxp_smtp_error(s),
                        "connection closed by server during the TLS "
                        "handshake");
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_bytes_before_handshake(int fd)
{
    srv_to_starttls(fd);
    srv_puts(fd, "220 go ahead\r\n250 smuggled\r\n");
    srv_drain(fd);
}

static void test_bytes_before_handshake(void **state)
{
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    start_server(&sv, script_bytes_before_handshake);
    s = client_to_starttls(&sv, 5);
    sleep_ms(50); /* the rest of the write is in */
    assert_int_equal(mxp_smtp_tls_start(s, NULL), MXP_ERR_PROTOCOL);
    assert_string_equal(mxp_smtp_error(s),
                        "server sent data before the TLS handshake: "
                        "'250 smuggled?\?'");
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* A certificate list over OpenSSL's cap fails in words, never hangs. */
static void test_certificate_too_big(void **state)
{
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    srv_defaults();
    g_srv.cert = big_pem;
    g_srv.key = big_key;
    g_srv.max = TLS1_2_VERSION;
    start_server(&sv, script_implicit);
    s = open_to(&sv, 5);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_ERR_PROTOCOL);
    assert_string_equal(mxp_smtp_error(s),
                        "TLS handshake failed: excessive message size");
    mxp_smtp_close(s, 0);
    (void)finish_server(&sv, 1);
}

/* A chain longer than the core keeps: the first MXP_TLS_MAX_CHAIN
 * certificates, the count of all, and a verify error, not a failure. */
static void test_long_chain(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    const struct mxp_tls_info *info;
    size_t i;

    (void)state;
    srv_defaults();
    g_srv.cert = long_pem;
    g_srv.key = self_key;
    start_server(&sv, script_implicit);
    s = open_to(&sv, 5);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, &info), MXP_OK);
    assert_int_equal(info->chain_total, 25);
    assert_int_equal(info->n_chain, MXP_TLS_MAX_CHAIN);
    for (i = 0; i < info->n_chain; i++) {
        const unsigned char *p = info->chain_der[i];
        X509 *x = d2i_X509(NULL, &p, (long)info->chain_len[i]);

        assert_non_null(x);
        assert_ptr_equal(p, info->chain_der[i] + info->chain_len[i]);
        X509_free(x);
    }
    assert_int_not_equal(info->verify_result, X509_V_OK);
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_OK);
    mxp_smtp_close(s, 0);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* After the handshake, a record that never ends: its bytes trickle in
 * (each wakes the client), the reply's time runs out all the same. */
static void script_trickle_record(int fd)
{
    int i;

    (void)srv_tls(fd);
    srv_send(fd, "\x17\x03\x03\x40\x00", 5);
    for (i = 0; i < 2000; i++) {
        srv_send(fd, "x", 1);
        sleep_ms(1);
    }
}

static void test_trickled_record(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    double t;

    (void)state;
    srv_defaults();
    start_server(&sv, script_trickle_record);
    s = open_to(&sv, 0.3);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_OK);
    t = mxp_now();
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_ERR_TIMEOUT);
    assert_true(mxp_now() - t < 3.0);
    assert_string_equal(mxp_smtp_error(s),
                        "no reply within 0.3 s (waiting for greeting)");
    mxp_smtp_close(s, 0);
    (void)finish_server(&sv, 1);
}

/* ---- STARTTLS command injection and smtp_unsolicited ------------------- */

/* A server that buffered the NOOP sent with STARTTLS answers it over TLS
 * (CVE-2011-0411); a correct one discards it. */
static int g_vulnerable;

static void script_injection(int fd)
{
    SSL *ssl;

    srv_to_starttls(fd);
    srv_expect(fd, "NOOP");
    srv_puts(fd, "220 go ahead\r\n");
    srv_defaults();
    g_srv.after = g_vulnerable ? "250 2.0.0 Ok (NOOP)\r\n" : NULL;
    ssl = srv_tls(fd);
    tls_drain(ssl);
}

static void test_injection_and_unsolicited(void **state)
{
    (void)state;
    for (g_vulnerable = 0; g_vulnerable <= 1; g_vulnerable++) {
        struct server sv;
        struct mxp_smtp *s;
        struct mxp_smtp_reply r;
        char text[16];
        int rc;

        start_server(&sv, script_injection);
        s = open_to(&sv, 5);
        assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
        assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, NULL), MXP_OK);
        assert_int_equal(mxp_smtp_send(s, "STARTTLS"), MXP_OK);
        assert_int_equal(mxp_smtp_send(s, "NOOP"), MXP_OK);
        assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
        assert_int_equal(r.code, 220);
        /* Waiting is refused while the NOOP's reply is owed... */
        assert_int_equal(mxp_smtp_unsolicited(s, 0.1, text, sizeof(text)),
                         -MXP_ERR_INVALID);
        /* ...and forgotten by the upgrade. */
        assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_OK);
        rc = mxp_smtp_unsolicited(s, 0.3, text, sizeof(text));
        if (g_vulnerable) {
            assert_int_equal(rc, 1);
            assert_string_equal(text, "250 2.0.0 Ok (N");
            /* The bytes stay: the next command would read them. */
            assert_int_equal(mxp_smtp_command(s, "QUIT", NULL),
                             MXP_ERR_PROTOCOL);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(text, "");
        }
        mxp_smtp_close(s, 0);
        assert_int_equal(finish_server(&sv, 0), 0);
    }
}

static void script_close_after_handshake(int fd)
{
    SSL *ssl = srv_tls(fd);

    SSL_shutdown(ssl);
}

static void test_unsolicited_closed(void **state)
{
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    srv_defaults();
    start_server(&sv, script_close_after_handshake);
    s = open_to(&sv, 5);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, NULL), MXP_OK);
    /* The greeting is owed (implicit TLS): refused... */
    assert_int_equal(mxp_smtp_unsolicited(s, 0.5, NULL, 0), -MXP_ERR_INVALID);
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_ERR_CLOSED);
    assert_non_null(strstr(mxp_smtp_error(s), "connection closed by server"));
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_implicit_slower(int fd)
{
    sleep_ms(600);
    script_implicit(fd);
}

/* Implicit TLS: the greeting's time counts from the end of the handshake
 * (it measures the server's SMTP, the handshake has its own time). */
static void test_greeting_time_after_handshake(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    const struct mxp_tls_info *info;

    (void)state;
    srv_defaults();
    start_server(&sv, script_implicit_slower);
    s = open_to(&sv, 5);
    assert_int_equal(mxp_smtp_tls_handshake(s, NULL, &info), MXP_OK);
    assert_true(info->handshake_time >= 0.55);
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_true(r.elapsed < 0.5);
    mxp_smtp_close(s, 0);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* ---- smtp_wait over handshaking sessions ------------------------------ */

static void script_implicit_slow(int fd)
{
    sleep_ms(150);
    script_implicit(fd);
}

static void script_close_on_hello(int fd)
{
    (void)srv_getc(fd);
}

static void test_wait_over_handshakes(void **state)
{
    struct server sv[3];
    struct mxp_smtp *s[3];
    struct mxp_smtp_options o = session_opts(3, 10);
    int seen[3] = {0, 0, 0};
    size_t i, ready, greetings = 0;

    (void)state;
    srv_defaults();
    start_server(&sv[0], script_implicit_slow);
    start_server(&sv[1], script_implicit);
    start_server(&sv[2], script_close_on_hello);
    for (i = 0; i < 3; i++) {
        assert_int_equal(
            mxp_smtp_open_start(&o, "127.0.0.1", sv[i].port, &s[i]), MXP_OK);
        assert_int_equal(mxp_smtp_tls_start(s[i], NULL), MXP_OK);
    }
    /* The third one's server hangs up: it fails.  Each session is
     * reported once when its handshake ends, then (the first two) again
     * when their greeting, owed over TLS, is in. */
    while (greetings < 2 || !seen[2]) {
        struct mxp_smtp_reply r;

        assert_int_equal(mxp_smtp_wait(s, 3, &ready), MXP_OK);
        assert_true(ready < 3);
        if (!seen[ready]) {
            seen[ready] = 1;
            if (ready < 2) {
                assert_int_equal(mxp_smtp_tls_info(s[ready], NULL), MXP_OK);
                continue;
            }
            assert_int_equal(mxp_smtp_tls_info(s[2], NULL), MXP_ERR_CLOSED);
            assert_string_equal(mxp_smtp_error(s[2]),
                                "connection closed by server during the "
                                "TLS handshake");
        } else {
            assert_true(ready < 2);
            assert_int_equal(mxp_smtp_read_reply(s[ready], &r), MXP_OK);
            assert_int_equal(r.code, 220);
            greetings++;
        }
        mxp_smtp_close(s[ready], 0);
        s[ready] = NULL;
    }
    assert_int_equal(finish_server(&sv[0], 0), 0);
    assert_int_equal(finish_server(&sv[1], 0), 0);
    (void)finish_server(&sv[2], 1);
}

/* ---- tls_hello against raw servers ------------------------------------- */

static const unsigned char *g_answer;
static size_t g_answer_len;
static size_t g_chunk; /* 0: one write; else writes of this many bytes */
static int g_want_version;
static size_t g_want_suites;

/* Reads the ClientHello record and checks its version and suites. */
static void srv_read_hello(int fd)
{
    unsigned char h[5], body[2048];
    size_t len, i, nsuites, sid;

    for (i = 0; i < 5; i++)
        h[i] = (unsigned char)srv_getc(fd);
    if (h[0] != 22 || h[1] != 3)
        _exit(2);
    len = (size_t)h[3] << 8 | h[4];
    if (len > sizeof(body))
        _exit(2);
    for (i = 0; i < len; i++) {
        int c = srv_getc(fd);

        if (c < 0)
            _exit(2);
        body[i] = (unsigned char)c;
    }
    if (body[0] != 1 || (body[4] << 8 | body[5]) != g_want_version)
        _exit(2);
    sid = body[38];
    nsuites = ((size_t)body[39 + sid] << 8 | body[40 + sid]) / 2;
    if (nsuites != g_want_suites)
        _exit(2);
}

static void script_raw_hello(int fd)
{
    size_t off = 0;

    srv_to_starttls(fd);
    srv_puts(fd, "220 go ahead\r\n");
    srv_read_hello(fd);
    while (off < g_answer_len) {
        size_t n = g_chunk == 0 || g_answer_len - off < g_chunk
                       ? g_answer_len - off
                       : g_chunk;

        srv_send(fd, (const char *)g_answer + off, n);
        off += n;
        if (g_chunk != 0)
            sleep_ms(2);
    }
    srv_drain(fd);
}

/* A ServerHello for TLS 1.0 choosing 0x000A (3DES), in one record. */
static const unsigned char hello_3des[] = {
    22, 3,  1,  0,  42, 2,  0,  0,  38, 3,  1,  1,  2,    3,    4,  5,
    6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18,   19,   20, 21,
    22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 0,  0x00, 0x0a, 0};
/* The same split into records of 3, 30 and 5 payload bytes. */
static const unsigned char hello_split[] = {
    22, 3,  1,  0,  3,  2,  0,  0,  22, 3,    1,    0,  30, 38, 3,
    1,  1,  2,  3,  4,  5,  6,  7,  8,  9,    10,   11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24,   25,   26, 27, 22, 3,
    1,  0,  9,  28, 29, 30, 31, 32, 0,  0x00, 0x0a, 0};
static const unsigned char alert_40[] = {21, 3, 1, 0, 2, 2, 40};

static const struct hello_case {
    const char *name;
    const unsigned char *answer;
    size_t len, chunk;
    int status, accepted, version, cipher, alert;
    const char *words;
} hello_cases[] = {
    {"ServerHello", hello_3des, sizeof(hello_3des), 0, MXP_OK, 1, 0x0301,
     0x000a, -1, "accepted: TLSv1, suite 0x000A"},
    {"byte by byte", hello_3des, sizeof(hello_3des), 1, MXP_OK, 1, 0x0301,
     0x000a, -1, "accepted: TLSv1, suite 0x000A"},
    {"split records", hello_split, sizeof(hello_split), 7, MXP_OK, 1, 0x0301,
     0x000a, -1, "accepted: TLSv1, suite 0x000A"},
    {"alert", alert_40, sizeof(alert_40), 0, MXP_OK, 0, 0, 0, 40,
     "handshake failure (alert 40)"},
    {"junk", (const unsigned char *)"554 no TLS here\r\n", 17, 0,
     MXP_ERR_PROTOCOL, 0, 0, 0, -1, "not a TLS answer: '554 no TLS here?\?'"},
};

static void test_tls_hello_raw(void **state)
{
    static const uint16_t suites[] = {0x000a, 0x0005, 0x0004};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(hello_cases) / sizeof(hello_cases[0]); i++) {
        const struct hello_case *c = &hello_cases[i];
        struct mxp_tls_hello out;
        struct server sv;
        struct mxp_smtp *s;

        g_answer = c->answer;
        g_answer_len = c->len;
        g_chunk = c->chunk;
        g_want_version = MXP_TLS_1_0;
        g_want_suites = 3;
        start_server(&sv, script_raw_hello);
        s = client_to_starttls(&sv, 5);
        assert_int_equal(
            mxp_smtp_tls_hello(s, MXP_TLS_1_0, suites, 3, "mx.test", &out),
            c->status);
        assert_int_equal(out.accepted, c->accepted);
        assert_int_equal(out.version, c->version);
        assert_int_equal(out.cipher, c->cipher);
        assert_int_equal(out.alert, c->alert);
        if (c->status == MXP_OK) {
            assert_string_equal(out.words, c->words);
        } else {
            assert_non_null(strstr(out.words, c->words));
        }
        /* Spent either way: nothing more goes out. */
        assert_int_not_equal(mxp_smtp_command(s, "NOOP", NULL), MXP_OK);
        mxp_smtp_close(s, 1);
        assert_int_equal(finish_server(&sv, 0), 0);
    }
}

static void script_raw_silent(int fd)
{
    srv_to_starttls(fd);
    srv_puts(fd, "220 go ahead\r\n");
    srv_drain(fd);
}

static void test_tls_hello_silent_and_args(void **state)
{
    static const uint16_t suites[] = {0x000a};
    struct mxp_tls_hello out;
    struct server sv;
    struct mxp_smtp *s;
    double t;

    (void)state;
    start_server(&sv, script_raw_silent);
    s = client_to_starttls(&sv, 0.3);
    assert_int_equal(mxp_smtp_tls_hello(s, MXP_TLS_1_3, suites, 1, NULL, &out),
                     MXP_ERR_INVALID);
    assert_int_equal(mxp_smtp_tls_hello(s, MXP_SSL_3_0, suites, 0, NULL, &out),
                     MXP_ERR_INVALID);
    t = mxp_now();
    assert_int_equal(mxp_smtp_tls_hello(s, MXP_SSL_3_0, suites, 1, NULL, &out),
                     MXP_ERR_TIMEOUT);
    assert_true(mxp_now() - t < 3.0);
    assert_string_equal(out.words, "no answer to the ClientHello within 0.3 s");
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

/* ---- the pure parts: ClientHello builder, ServerHello parser ----------- */

static void test_client_hello_layout(void **state)
{
    static const uint16_t suites[] = {0xc02f, 0x009c};
    unsigned char b[MXP_TLS_HELLO_MAX];
    size_t n, body, ext, pos;
    int saw_sni = 0, saw_groups = 0;

    (void)state;
    /* SSL 3.0: no extensions at all. */
    n = mxp_tls_client_hello(MXP_SSL_3_0, suites, 2, "mx.test", b, sizeof(b));
    assert_int_equal(n, 5 + 4 + 2 + 32 + 1 + 2 + 4 + 2);
    assert_int_equal(b[1] << 8 | b[2], 0x0300);
    /* TLS 1.2 with SNI: lengths that add up, the extensions named. */
    n = mxp_tls_client_hello(MXP_TLS_1_2, suites, 2, "mx.test", b, sizeof(b));
    assert_true(n > 0);
    assert_int_equal((size_t)(b[3] << 8 | b[4]), n - 5);
    assert_int_equal((size_t)(b[6] << 16 | b[7] << 8 | b[8]), n - 9);
    assert_int_equal(b[9] << 8 | b[10], 0x0303);
    body = 9 + 2 + 32 + 1;
    assert_int_equal(b[body] << 8 | b[body + 1], 4);
    assert_int_equal(b[body + 2] << 8 | b[body + 3], 0xc02f);
    pos = body + 2 + 4 + 2;
    ext = (size_t)(b[pos] << 8 | b[pos + 1]);
    assert_int_equal(pos + 2 + ext, n);
    for (pos += 2; pos + 4 <= n;) {
        unsigned type = b[pos] << 8 | b[pos + 1];
        size_t len = (size_t)(b[pos + 2] << 8 | b[pos + 3]);

        if (type == 0) {
            saw_sni = 1;
            assert_memory_equal(b + pos + 4 + 5, "mx.test", 7);
        }
        saw_groups |= type == 10;
        pos += 4 + len;
    }
    assert_int_equal(pos, n);
    assert_true(saw_sni && saw_groups);
    /* No SNI for an address. */
    n = mxp_tls_client_hello(MXP_TLS_1_0, suites, 2, "127.0.0.1", b, sizeof(b));
    assert_null(memmem(b, n, "127.0.0.1", 9));
    assert_int_equal(
        mxp_tls_client_hello(MXP_TLS_1_3, suites, 2, NULL, b, sizeof(b)), 0);
}

static const struct parse_case {
    const char *name;
    const char *bytes;
    size_t len;
    enum mxp_tls_parse want;
    const char *words;
} parse_cases[] = {
    {"empty", "", 0, MXP_TLS_PARSE_MORE, ""},
    {"half a header", "\x16\x03", 2, MXP_TLS_PARSE_MORE, ""},
    {"smtp text", "220 mx", 6, MXP_TLS_PARSE_BAD, "not a TLS answer: '220 mx'"},
    {"sslv2", "\x80\x2e\x04\x00\x01", 5, MXP_TLS_PARSE_BAD,
     "an SSLv2 ServerHello"},
    {"major 2", "\x16\x02\x00", 3, MXP_TLS_PARSE_BAD, "not a TLS record"},
    {"empty record", "\x16\x03\x01\x00\x00", 5, MXP_TLS_PARSE_BAD,
     "a TLS record of a bad length"},
    {"huge record", "\x16\x03\x01\xff\xff\x02", 6, MXP_TLS_PARSE_BAD,
     "a TLS record of a bad length"},
    {"not a ServerHello", "\x16\x03\x01\x00\x04\x0b\x00\x00\x00", 9,
     MXP_TLS_PARSE_BAD, "not a ServerHello"},
    {"short ServerHello", "\x16\x03\x01\x00\x04\x02\x00\x00\x05", 9,
     MXP_TLS_PARSE_BAD, "a ServerHello too short"},
    {"app data first", "\x17\x03\x03\x00\x01\x00", 6, MXP_TLS_PARSE_BAD,
     "not a TLS answer"},
    {"truncated alert", "\x15\x03\x01\x00\x01\x02", 6, MXP_TLS_PARSE_BAD,
     "a truncated TLS alert"},
    {"half an alert", "\x15\x03\x01\x00\x02\x02", 6, MXP_TLS_PARSE_MORE, ""},
    {"alert 70", "\x15\x03\x00\x00\x02\x02\x46", 7, MXP_TLS_PARSE_DONE,
     "protocol version (alert 70)"},
    {"unknown alert", "\x15\x03\x00\x00\x02\x02\xfe", 7, MXP_TLS_PARSE_DONE,
     "unknown (alert 254)"},
};

static void test_parse_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct mxp_tls_hello out;
        enum mxp_tls_parse got = mxp_tls_parse_server_hello(
            (const unsigned char *)c->bytes, c->len, &out);

        if (got != c->want ||
            strncmp(out.words, c->words, strlen(c->words)) != 0)
            fail_msg("%s: got %d '%s'", c->name, (int)got, out.words);
    }
}

/* Every prefix of a good answer asks for more, never fails; a ServerHello
 * inside a record too long for our read still shows its suite. */
static void test_parse_prefixes(void **state)
{
    struct mxp_tls_hello out;
    unsigned char big[200];
    size_t n;

    (void)state;
    /* (the last byte, the compression method, is not needed) */
    for (n = 0; n < sizeof(hello_split) - 1; n++)
        assert_int_equal(mxp_tls_parse_server_hello(hello_split, n, &out),
                         MXP_TLS_PARSE_MORE);
    assert_int_equal(
        mxp_tls_parse_server_hello(hello_split, sizeof(hello_split), &out),
        MXP_TLS_PARSE_DONE);
    assert_int_equal(out.cipher, 0x000a);
    memset(big, 0, sizeof(big));
    memcpy(big, hello_3des, sizeof(hello_3des));
    big[3] = 0x3f; /* a 16 KiB record: ServerHello, then the rest */
    big[4] = 0xff;
    assert_int_equal(mxp_tls_parse_server_hello(big, sizeof(big), &out),
                     MXP_TLS_PARSE_DONE);
    assert_int_equal(out.version, 0x0301);
    /* A session id of 33 bytes is a lie. */
    memcpy(big, hello_3des, sizeof(hello_3des));
    big[43] = 33;
    assert_int_equal(mxp_tls_parse_server_hello(big, sizeof(hello_3des), &out),
                     MXP_TLS_PARSE_BAD);
}

/* ---- the fake core's TLS block (for the plugins' unit tests) ------------ */

static int fake_tls_answer(void *user, unsigned session,
                           const struct mxp_tls_options *o,
                           struct mxp_tls_info *info, char *err, size_t errlen)
{
    (void)user;
    if (session == 2) {
        snprintf(err, errlen, "TLS handshake failed: wrong version number");
        return MXP_ERR_PROTOCOL;
    }
    assert_string_equal(o->sni, "mx.test");
    info->version = MXP_TLS_1_2;
    snprintf(info->protocol, sizeof(info->protocol), "TLSv1.2");
    return MXP_OK;
}

static int fake_hello_answer(void *user, unsigned session, int version,
                             const uint16_t *ciphers, size_t n,
                             struct mxp_tls_hello *out)
{
    (void)user;
    (void)session;
    assert_int_equal(version, MXP_SSL_3_0);
    assert_int_equal(n, 1);
    out->accepted = 1;
    out->version = version;
    out->cipher = ciphers[0];
    return MXP_OK;
}

static int fake_unsol_answer(void *user, unsigned session, char *text,
                             size_t len)
{
    (void)user;
    (void)session;
    snprintf(text, len, "250 injected");
    return 1;
}

static void test_fake_core_tls(void **state)
{
    const struct mxp_services *svc = &fake_services;
    struct mxp_tls_options o = {.sni = "mx.test"};
    const struct mxp_tls_info *info;
    struct mxp_smtp *s[2];
    struct mxp_smtp_reply r;
    struct mxp_tls_hello h;
    uint16_t suite = 0x000a;
    char text[32];
    size_t ready;

    (void)state;
    fake_reset();
    fake_set_target("127.0.0.1", 25);
    svc->smtp_open_start(fake_ctx(), "127.0.0.1", 25, &s[0]);
    assert_int_equal(svc->smtp_tls_start(s[0], &o), MXP_ERR_UNSUPPORTED);
    assert_string_equal(svc->smtp_error(s[0]), "no TLS in the fake");
    fake_tls_set_responder(fake_tls_answer, NULL);
    svc->smtp_open_start(fake_ctx(), "127.0.0.1", 25, &s[1]);
    assert_int_equal(svc->smtp_tls_start(s[0], &o), MXP_OK);
    assert_int_equal(svc->smtp_tls_start(s[1], &o), MXP_ERR_PROTOCOL);
    /* Each reported ready once by the wait. */
    assert_int_equal(svc->smtp_wait(s, 2, &ready), MXP_OK);
    assert_int_equal(ready, 0);
    assert_int_equal(svc->smtp_wait(s, 2, &ready), MXP_OK);
    assert_int_equal(ready, 1);
    assert_int_equal(svc->smtp_tls_info(s[0], &info), MXP_OK);
    assert_string_equal(info->protocol, "TLSv1.2");
    assert_int_equal(svc->smtp_tls_info(s[1], &info), MXP_ERR_PROTOCOL);
    assert_int_equal(svc->smtp_command(s[1], "EHLO x", &r), MXP_ERR_PROTOCOL);
    assert_int_equal(fake_tls_handshakes(), 3);
    assert_int_equal(svc->smtp_unsolicited(s[0], 1, text, sizeof(text)), 0);
    fake_smtp_unsolicited_set(fake_unsol_answer, NULL);
    assert_int_equal(svc->smtp_unsolicited(s[0], 1, text, sizeof(text)), 1);
    assert_string_equal(text, "250 injected");
    assert_int_equal(svc->tls_hello(s[0], MXP_SSL_3_0, &suite, 1, NULL, &h),
                     MXP_ERR_UNSUPPORTED);
    fake_tls_hello_set_responder(fake_hello_answer, NULL);
    assert_int_equal(svc->tls_hello(s[0], MXP_SSL_3_0, &suite, 1, NULL, &h),
                     MXP_OK);
    assert_int_equal(h.cipher, 0x000a);
    assert_int_equal(h.alert, -1);
    assert_int_equal(fake_tls_hellos(), 2);
    /* Spent. */
    assert_int_not_equal(svc->smtp_command(s[0], "NOOP", &r), MXP_OK);
    svc->smtp_close(s[0], 0);
    svc->smtp_close(s[1], 0);
    fake_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_then_ehlo),
        cmocka_unit_test(test_start_then_command),
        cmocka_unit_test(test_no_wait_and_big_record),
        cmocka_unit_test(test_implicit_tls_and_verify),
        cmocka_unit_test(test_kx),
        cmocka_unit_test(test_legacy_server),
        cmocka_unit_test(test_unsupported_options),
        cmocka_unit_test(test_bad_ca_file),
        cmocka_unit_test(test_silent_after_220),
        cmocka_unit_test(test_handshake_cut_by_deadline),
        cmocka_unit_test(test_stall_halfway),
        cmocka_unit_test(test_junk_after_220),
        cmocka_unit_test(test_closed_in_handshake),
        cmocka_unit_test(test_bytes_before_handshake),
        cmocka_unit_test(test_certificate_too_big),
        cmocka_unit_test(test_trickled_record),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_injection_and_unsolicited),
        cmocka_unit_test(test_unsolicited_closed),
        cmocka_unit_test(test_greeting_time_after_handshake),
        cmocka_unit_test(test_wait_over_handshakes),
        cmocka_unit_test(test_tls_hello_raw),
        cmocka_unit_test(test_tls_hello_silent_and_args),
        cmocka_unit_test(test_client_hello_layout),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_prefixes),
        cmocka_unit_test(test_fake_core_tls),
    };

    return cmocka_run_group_tests(tests, make_certs, free_certs);
}
