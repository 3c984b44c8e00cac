/*
 * test_tls_cert.c - the tls check's certificate judgement (plugins/tls/
 * cert.c) on certificates made at test time with tls_testcert: dates
 * (expired, not yet valid, days to expiry against the thresholds), trust
 * (CA-issued, unknown CA, self-signed), names (SAN vs CN, wildcards of
 * one label), key sizes, SHA-1 signatures, the chain as sent, hostile
 * bytes in names; the states per policy (strict or port 25) and the
 * words the integration tests look for.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "../../plugins/tls/cert.c"
#include "fake_core.h"
#include "tls_testcert.h"

#define DAY 86400L

static const struct tls_cert_policy STRICT = {1, 21, 7, NULL, TLS_DANE_NONE};
static const struct tls_cert_policy PORT25 = {0, 21, 7, NULL, TLS_DANE_NONE};

/* The CA the tests trust, made once. */
static struct tls_testcert ca;

/* A chain as the core hands it over, with its verification done as the
 * core does it: X509_verify_cert against a store holding the trusted
 * CA (or nothing), the certificates after the leaf as untrusted. */
struct chain {
    struct mxp_tls_info info;
    unsigned char *der[MXP_TLS_MAX_CHAIN];
    size_t len[MXP_TLS_MAX_CHAIN];
    const unsigned char *derp[MXP_TLS_MAX_CHAIN];
};

static void verify(struct chain *c, X509 *const *certs, size_t n, X509 *trusted)
{
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *un = sk_X509_new_null();
    X509_STORE_CTX *x = X509_STORE_CTX_new();

    assert_non_null(st);
    assert_non_null(un);
    assert_non_null(x);
    if (trusted != NULL)
        assert_int_equal(X509_STORE_add_cert(st, trusted), 1);
    for (size_t i = 1; i < n; i++)
        assert_true(sk_X509_push(un, certs[i]) > 0);
    assert_int_equal(X509_STORE_CTX_init(x, st, certs[0], un), 1);
    if (X509_verify_cert(x) == 1) {
        c->info.verify_result = X509_V_OK;
        c->info.verify_depth = -1;
    } else {
        c->info.verify_result = X509_STORE_CTX_get_error(x);
        c->info.verify_depth = X509_STORE_CTX_get_error_depth(x);
    }
    snprintf(c->info.verify_words, sizeof c->info.verify_words, "%s",
             X509_verify_cert_error_string(c->info.verify_result));
    X509_STORE_CTX_free(x);
    sk_X509_free(un);
    X509_STORE_free(st);
}

static void chain_set(struct chain *c, X509 *const *certs, size_t n,
                      X509 *trusted)
{
    memset(c, 0, sizeof *c);
    assert_true(n <= MXP_TLS_MAX_CHAIN);
    for (size_t i = 0; i < n; i++) {
        c->der[i] = tls_testcert_der(certs[i], &c->len[i]);
        c->derp[i] = c->der[i];
    }
    c->info.n_chain = n;
    c->info.chain_total = n;
    c->info.chain_der = c->derp;
    c->info.chain_len = c->len;
    if (n > 0)
        verify(c, certs, n, trusted);
}

static void chain_free(struct chain *c)
{
    for (size_t i = 0; i < MXP_TLS_MAX_CHAIN; i++)
        free(c->der[i]);
    memset(c, 0, sizeof *c);
}

/* Makes the certificate within one second of the clock, so that the
 * day counts are exact: returns that second, the "now" to judge at. */
static time_t make(const struct tls_testcert_spec *s, struct tls_testcert *c)
{
    for (;;) {
        time_t t = time(NULL);

        tls_testcert_make(s, c);
        if (time(NULL) == t)
            return t;
        tls_testcert_free(c);
    }
}

/* A CA certificate valid 10 days back and 1000 ahead, signed by issuer
 * (NULL: self-signed), with SHA-1 when sha1. */
static void make_ca(const char *cn, int sha1, const struct tls_testcert *issuer,
                    struct tls_testcert *out)
{
    struct tls_testcert_spec s = {0};

    s.cn = cn;
    s.is_ca = 1;
    s.sha1 = sha1;
    s.not_before_days = -10;
    s.not_after_days = 1000;
    if (issuer != NULL) {
        s.issuer_key = issuer->key;
        s.issuer_cert = issuer->cert;
    }
    tls_testcert_make(&s, out);
}

/* A leaf signed by the trusted CA. */
static time_t leaf_by_ca(struct tls_testcert_spec *s, struct tls_testcert *c)
{
    s->issuer_key = ca.key;
    s->issuer_cert = ca.cert;
    return make(s, c);
}

static void judge1(X509 *leaf, X509 *trusted, const char *name,
                   const struct tls_cert_policy *pol, time_t now,
                   struct tls_cert_facts *f)
{
    struct chain c;
    struct tls_cert_name n = {name, "-H name"};

    chain_set(&c, &leaf, 1, trusted);
    tls_cert_judge(fake_ctx(), &c.info, name ? &n : NULL, name ? 1 : 0, pol,
                   now, f);
    chain_free(&c);
}

/* s issued by the CA and judged for the -H name mx.example.org under
 * pol at the second it was made (returned). */
static time_t judge_mx(struct tls_testcert_spec *s, struct tls_testcert *leaf,
                       const struct tls_cert_policy *pol,
                       struct tls_cert_facts *f)
{
    time_t now = leaf_by_ca(s, leaf);

    judge1(leaf->cert, ca.cert, "mx.example.org", pol, now, f);
    return now;
}

/* The core's verdict as OpenSSL would have given it. */
static void set_verify(struct chain *c, long result, int depth)
{
    c->info.verify_result = result;
    c->info.verify_depth = depth;
    snprintf(c->info.verify_words, sizeof c->info.verify_words, "%s",
             X509_verify_cert_error_string(result));
}

/* The detail holding substr exists and has state st. */
static void want(const char *substr, enum mxp_state st)
{
    enum mxp_state got;

    if (fake_detail_find(substr, &got) < 0) {
        for (size_t i = 0; i < fake_n_details(); i++)
            print_message("  detail: %s\n", fake_detail(i, NULL));
        fail_msg("no detail with \"%s\"", substr);
    }
    if (got != st)
        fail_msg("\"%s\" has state %d, not %d", substr, got, st);
}

static void want_none(const char *substr)
{
    enum mxp_state got;
    int i = fake_detail_find(substr, &got);

    if (i >= 0)
        fail_msg("unexpected detail: %s", fake_detail((size_t)i, NULL));
}

/* No detail has a state worse than st. */
static void worst_is(enum mxp_state st, const struct tls_cert_facts *f)
{
    enum mxp_state w = MXP_STATE_OK, s;

    for (size_t i = 0; i < fake_n_details(); i++) {
        fake_detail(i, &s);
        w = fake_services.state_worst(w, s);
    }
    assert_int_equal(w, st);
    assert_int_equal(f->state, st);
}

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("tls");
    fake_set_target("192.0.2.25", 25);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

static int group_setup(void **state)
{
    struct tls_testcert_spec s = {0};

    (void)state;
    s.cn = "mxprobe Test CA";
    s.org = "mxprobe";
    s.is_ca = 1;
    s.not_before_days = -30;
    s.not_after_days = 3650;
    tls_testcert_make(&s, &ca);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tls_testcert_free(&ca);
    return 0;
}

/* ---- a good certificate --------------------------------------------- */

static void test_good(void **state)
{
    const char *san[] = {"mx.example.org", "mail.example.org", NULL};
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    const struct mxp_perf *p;

    (void)state;
    s.cn = "mx.example.org";
    s.san = san;
    s.not_before_days = -10;
    s.not_after_days = 81;
    (void)judge_mx(&s, &leaf, &STRICT, &f);
    worst_is(MXP_STATE_OK, &f);
    assert_int_equal(f.have_leaf, 1);
    assert_int_equal(f.trusted, 1);
    assert_int_equal(f.self_signed, 0);
    assert_int_equal(f.name_match, 1);
    assert_int_equal(f.days_left, 81);
    assert_string_equal(f.summary, "certificate valid 81 days");
    want("certificate valid 81 days (", MXP_STATE_OK);
    want("chain trusted, up to CN=mxprobe Test CA, O=mxprobe", MXP_STATE_OK);
    want("certificate matches mx.example.org (-H name)", MXP_STATE_OK);
    want("EC key of 256 bits (prime256v1)", MXP_STATE_OK);
    want("subject: CN=mx.example.org", MXP_STATE_OK);
    want("names: mx.example.org, mail.example.org", MXP_STATE_OK);
    want("issuer: CN=mxprobe Test CA, O=mxprobe", MXP_STATE_OK);
    want("validity: ", MXP_STATE_OK);
    want("SHA-256 fingerprint: ", MXP_STATE_OK);
    want("SHA-1 fingerprint: ", MXP_STATE_OK);
    want("chain: 1 certificate sent", MXP_STATE_OK);
    want_none("WARNING here");
    assert_int_equal(fake_n_perf(), 1);
    p = fake_perf_find("cert_days");
    assert_non_null(p);
    assert_true(p->value == 81.0);
    assert_string_equal(p->warn, "21:");
    assert_string_equal(p->crit, "7:");
    assert_true(isnan(p->min));
    tls_testcert_free(&leaf);
}

/* The fingerprints are of the DER as sent, as openssl x509 -fingerprint
 * shows them: uppercase hex pairs joined by ':'. */
static void test_fingerprints(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    char want256[200] = "SHA-256 fingerprint: ";
    size_t used = strlen(want256);
    const char *d;

    (void)state;
    s.cn = "mx.example.org";
    s.not_after_days = 30;
    (void)judge_mx(&s, &leaf, &STRICT, &f);
    assert_int_equal(X509_digest(leaf.cert, EVP_sha256(), md, &mdlen), 1);
    for (unsigned i = 0; i < mdlen; i++)
        used += (size_t)snprintf(want256 + used, sizeof want256 - used,
                                 "%s%02X", i ? ":" : "", md[i]);
    d = fake_detail((size_t)fake_detail_find("SHA-256 fingerprint", NULL),
                    NULL);
    assert_string_equal(d, want256);
    d = fake_detail((size_t)fake_detail_find("SHA-1 fingerprint", NULL), NULL);
    assert_int_equal(strlen(d), strlen("SHA-1 fingerprint: ") + 59);
    tls_testcert_free(&leaf);
}

/* ---- dates ------------------------------------------------------------ */

static void test_expired_self_signed(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    time_t now;

    (void)state;
    s.cn = "mx.example.org";
    s.san = (const char *const[]){"mx.example.org", NULL};
    s.not_before_days = -400;
    s.not_after_days = -3;
    now = make(&s, &leaf);

    /* Port 25: each problem a WARNING, and one note says why. */
    judge1(leaf.cert, NULL, "mx.example.org", &PORT25, now, &f);
    worst_is(MXP_STATE_WARNING, &f);
    assert_int_equal(f.expired, 1);
    assert_int_equal(f.self_signed, 1);
    assert_int_equal(f.trusted, 0);
    assert_int_equal(f.days_left, -3);
    assert_string_equal(f.summary, "certificate expired 3 days ago");
    want("certificate expired 3 days ago (", MXP_STATE_WARNING);
    want("self-signed certificate", MXP_STATE_WARNING);
    want("certificate problems are WARNING here, not CRITICAL: senders to "
         "port 25 rarely verify certificates (RFC 7435); plugins.tls.strict: "
         "true makes this critical",
         MXP_STATE_OK);
    want_none("not trusted");
    want_none("expires in"); /* the expiry is said once */
    assert_true(fake_perf_find("cert_days")->value == -3.0);
    /* The first non-OK detail is what the status line shows. */
    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *t = fake_detail(i, &st);

        if (st != MXP_STATE_OK) {
            assert_non_null(strstr(t, "expired"));
            break;
        }
    }

    /* Strict (587/465): CRITICAL, no note. */
    fake_reset();
    judge1(leaf.cert, NULL, "mx.example.org", &STRICT, now, &f);
    worst_is(MXP_STATE_CRITICAL, &f);
    want("certificate expired 3 days ago", MXP_STATE_CRITICAL);
    want("self-signed certificate", MXP_STATE_CRITICAL);
    want_none("WARNING here");

    /* The caller's own reason. */
    fake_reset();
    {
        struct tls_cert_policy p = PORT25;

        p.strict_why = "port 25 is opportunistic";
        judge1(leaf.cert, NULL, "mx.example.org", &p, now, &f);
        want("not CRITICAL: port 25 is opportunistic", MXP_STATE_OK);
    }
    tls_testcert_free(&leaf);
}

static void test_expired_one_day(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    time_t now;

    (void)state;
    s.cn = "mx.example.org";
    s.not_before_days = -10;
    s.not_after_days = -1;
    now = judge_mx(&s, &leaf, &STRICT, &f);
    want("certificate expired 1 day ago", MXP_STATE_CRITICAL);
    /* OpenSSL's own "certificate has expired" is the same problem. */
    want_none("not trusted");
    assert_int_equal(f.days_left, -1);
    tls_testcert_free(&leaf);

    /* Less than a day: still expired, perfdata negative. */
    fake_reset();
    s.not_after_days = 0;
    now = leaf_by_ca(&s, &leaf);
    judge1(leaf.cert, ca.cert, "mx.example.org", &STRICT, now + 60, &f);
    want("certificate expired less than a day ago", MXP_STATE_CRITICAL);
    assert_int_equal(f.days_left, -1);
    assert_true(fake_perf_find("cert_days")->value < 0);
    tls_testcert_free(&leaf);
}

static void test_not_yet_valid(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    time_t now;

    (void)state;
    s.cn = "mx.example.org";
    s.not_before_days = 8;
    s.not_after_days = 100;
    now = judge_mx(&s, &leaf, &PORT25, &f);
    worst_is(MXP_STATE_WARNING, &f);
    assert_int_equal(f.not_yet_valid, 1);
    assert_int_equal(f.expired, 0);
    assert_string_equal(f.summary, "certificate not yet valid");
    want("certificate not yet valid: valid from ", MXP_STATE_WARNING);
    want("(in 8 days)", MXP_STATE_WARNING);
    want("rarely verify", MXP_STATE_OK);
    want_none("not trusted");
    assert_true(fake_perf_find("cert_days")->value == 100.0);
    fake_reset();
    judge1(leaf.cert, ca.cert, "mx.example.org", &STRICT, now, &f);
    want("certificate not yet valid", MXP_STATE_CRITICAL);
    tls_testcert_free(&leaf);
}

static void test_days_thresholds(void **state)
{
    static const struct {
        int days;
        int strict;
        enum mxp_state st;
        const char *words;
    } cases[] = {
        {22, 1, MXP_STATE_OK, "certificate valid 22 days"},
        {21, 1, MXP_STATE_OK, "certificate valid 21 days"},
        {20, 1, MXP_STATE_WARNING, "certificate expires in 20 days"},
        {7, 1, MXP_STATE_WARNING, "certificate expires in 7 days"},
        {6, 1, MXP_STATE_CRITICAL, "certificate expires in 6 days"},
        {6, 0, MXP_STATE_WARNING, "certificate expires in 6 days"},
        {1, 1, MXP_STATE_CRITICAL, "certificate expires in 1 day ("},
        {10, 0, MXP_STATE_WARNING, ", fewer than 21"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tls_testcert_spec s = {0};
        struct tls_testcert leaf;
        struct tls_cert_facts f;
        time_t now;

        fake_reset();
        s.cn = "mx.example.org";
        s.not_before_days = -1;
        s.not_after_days = cases[i].days;
        now = leaf_by_ca(&s, &leaf);
        judge1(leaf.cert, ca.cert, "mx.example.org",
               cases[i].strict ? &STRICT : &PORT25, now, &f);
        want(cases[i].words, cases[i].st);
        worst_is(cases[i].st, &f);
        assert_int_equal(f.days_left, cases[i].days);
        assert_true(fake_perf_find("cert_days")->value == cases[i].days);
        /* Only a lowered CRITICAL brings the note. */
        if (!cases[i].strict && cases[i].days < 7)
            want("rarely verify", MXP_STATE_OK);
        else
            want_none("rarely verify");
        tls_testcert_free(&leaf);
    }
}

/* A negative threshold is off: no state from it, no range. */
static void test_thresholds_off(void **state)
{
    const struct tls_cert_policy off = {1, -1, -1, NULL, TLS_DANE_NONE};
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;

    (void)state;
    s.cn = "mx.example.org";
    s.not_after_days = 2;
    (void)judge_mx(&s, &leaf, &off, &f);
    worst_is(MXP_STATE_OK, &f);
    assert_null(fake_perf_find("cert_days")->warn);
    assert_null(fake_perf_find("cert_days")->crit);
    tls_testcert_free(&leaf);
}

/* ---- trust ------------------------------------------------------------ */

static void test_unknown_ca(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert other, leaf;
    struct tls_cert_facts f;
    struct chain c;
    X509 *certs[2];
    time_t now;

    (void)state;
    make_ca("Evil CA", 0, NULL, &other);
    s.cn = "mx.example.org";
    s.not_after_days = 50;
    s.issuer_key = other.key;
    s.issuer_cert = other.cert;
    now = make(&s, &leaf);

    /* The leaf alone: its issuer is nowhere. */
    judge1(leaf.cert, ca.cert, "mx.example.org", &STRICT, now, &f);
    want("issuer not trusted (unknown CA: CN=Evil CA)", MXP_STATE_CRITICAL);
    assert_int_equal(f.trusted, 0);
    assert_int_equal(f.self_signed, 0);
    want_none("self-signed");

    /* With its root: a self-signed root nobody trusts. */
    fake_reset();
    certs[0] = leaf.cert;
    certs[1] = other.cert;
    chain_set(&c, certs, 2, ca.cert);
    tls_cert_judge(fake_ctx(), &c.info, NULL, 0, &PORT25, now, &f);
    want("issuer not trusted (unknown root CA: CN=Evil CA)", MXP_STATE_WARNING);
    want("chain: 2 certificates sent, the root included (not needed)",
         MXP_STATE_OK);
    chain_free(&c);
    tls_testcert_free(&leaf);
    tls_testcert_free(&other);
}

/* CA-issued and self-signed leaves with the same name: only the first is
 * trusted. */
static void test_ca_vs_self_signed(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert a, b;
    struct tls_cert_facts f;
    time_t now;

    (void)state;
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    now = leaf_by_ca(&s, &a);
    judge1(a.cert, ca.cert, "mx.example.org", &STRICT, now, &f);
    worst_is(MXP_STATE_OK, &f);
    assert_int_equal(f.trusted, 1);

    fake_reset();
    s.issuer_key = NULL;
    s.issuer_cert = NULL;
    now = make(&s, &b);
    judge1(b.cert, ca.cert, "mx.example.org", &STRICT, now, &f);
    worst_is(MXP_STATE_CRITICAL, &f);
    assert_int_equal(f.self_signed, 1);
    want("self-signed certificate", MXP_STATE_CRITICAL);
    want("certificate matches mx.example.org", MXP_STATE_OK);
    tls_testcert_free(&a);
    tls_testcert_free(&b);
}

/* A self-signed certificate the operator trusts (ca_file) is fine. */
static void test_self_signed_trusted(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert a;
    struct tls_cert_facts f;
    time_t now;

    (void)state;
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    now = make(&s, &a);
    judge1(a.cert, a.cert, "mx.example.org", &STRICT, now, &f);
    worst_is(MXP_STATE_OK, &f);
    assert_int_equal(f.trusted, 1);
    assert_int_equal(f.self_signed, 1);
    tls_testcert_free(&a);
}

/* Errors without words of their own: OpenSSL's, with the depth. */
static void test_other_verify_error(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    struct chain c;
    time_t now;

    (void)state;
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    now = leaf_by_ca(&s, &leaf);
    chain_set(&c, &leaf.cert, 1, ca.cert);
    set_verify(&c, X509_V_ERR_CERT_SIGNATURE_FAILURE, 0);
    tls_cert_judge(fake_ctx(), &c.info, NULL, 0, &STRICT, now, &f);
    want("certificate not trusted: certificate signature failure (depth 0: "
         "CN=mx.example.org)",
         MXP_STATE_CRITICAL);
    chain_free(&c);
    tls_testcert_free(&leaf);
}

/* ---- names ------------------------------------------------------------ */

static void name_case(const char *const *san, const char *cn, const char *name,
                      int match, const char *words)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    time_t now;

    fake_reset();
    s.cn = cn;
    s.san = san;
    s.not_after_days = 60;
    now = leaf_by_ca(&s, &leaf);
    judge1(leaf.cert, ca.cert, name, &STRICT, now, &f);
    if (f.name_match != match)
        fail_msg("%s: name_match %d, not %d", name, f.name_match, match);
    want(words, match ? MXP_STATE_OK : MXP_STATE_CRITICAL);
    tls_testcert_free(&leaf);
}

static void test_names(void **state)
{
    const char *const wild[] = {"*.example.org", NULL};
    const char *const partial[] = {"m*.example.org", NULL};
    const char *const other[] = {"other.example.org", NULL};
    const char *const two[] = {"a.example.net", "10.0.0.1", NULL};

    (void)state;
    /* A wildcard covers one whole left-most label. */
    name_case(wild, NULL, "mx.example.org", 1,
              "certificate matches mx.example.org (-H name) as "
              "*.example.org");
    name_case(wild, NULL, "MX.Example.ORG.", 1, "certificate matches");
    name_case(wild, NULL, "a.mx.example.org", 0,
              "certificate name does not match a.mx.example.org (-H name); "
              "the certificate names *.example.org");
    name_case(wild, NULL, "example.org", 0,
              "does not match example.org (-H name)");
    name_case(partial, NULL, "mx.example.org", 0, "does not match");
    /* DNS SANs win over the CN; the CN counts only without them. */
    name_case(other, "mx.example.org", "mx.example.org", 0,
              "does not match mx.example.org (-H name); the certificate "
              "names other.example.org");
    name_case(NULL, "mx.example.org", "mx.example.org", 1,
              "certificate matches mx.example.org (-H name)");
    name_case(NULL, "mx.example.org", "mail.example.org", 0,
              "the certificate names CN=mx.example.org");
    /* A numeric name against the IP SANs. */
    name_case(two, NULL, "10.0.0.1", 1, "certificate matches 10.0.0.1");
    name_case(two, NULL, "10.0.0.2", 0,
              "the certificate names a.example.net, IP:10.0.0.1");
}

/* Any name given matching is enough, and says which; a mismatch lists
 * every name tried (each once) with where it came from. */
static void test_names_several(void **state)
{
    const char *san[] = {"mail.example.org", NULL};
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    struct chain c;
    struct tls_cert_name names[] = {
        {"192-0-2-25.isp.example", "-H name"},
        {"mail.example.org", "greeting name"},
        {"mx.example.org", "MX name"},
    };
    struct tls_cert_name miss[] = {
        {"a.example.com", "-H name"},
        {"A.example.com.", "greeting name"},
        {"b.example.com", "MX name"},
        {"", "MX name"},
        {NULL, NULL},
    };
    time_t now;

    (void)state;
    s.san = san;
    s.not_after_days = 60;
    now = leaf_by_ca(&s, &leaf);
    chain_set(&c, &leaf.cert, 1, ca.cert);
    tls_cert_judge(fake_ctx(), &c.info, names, 3, &STRICT, now, &f);
    assert_int_equal(f.name_match, 1);
    want("certificate matches mail.example.org (greeting name)", MXP_STATE_OK);
    want_none("does not match");
    fake_reset();
    tls_cert_judge(fake_ctx(), &c.info, miss, 5, &STRICT, now, &f);
    assert_int_equal(f.name_match, 0);
    want("certificate name does not match a.example.com (-H name), "
         "b.example.com (MX name); the certificate names mail.example.org",
         MXP_STATE_CRITICAL);
    /* No name to check: a note, never an alarm. */
    fake_reset();
    tls_cert_judge(fake_ctx(), &c.info, miss + 3, 2, &STRICT, now, &f);
    assert_int_equal(f.name_match, -1);
    want("certificate name not checked", MXP_STATE_OK);
    worst_is(MXP_STATE_OK, &f);
    chain_free(&c);
    tls_testcert_free(&leaf);
}

/* ---- keys and signatures ---------------------------------------------- */

static void test_weak_rsa(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    struct chain c;
    time_t now;

    (void)state;
    s.key_type = TLS_TESTCERT_RSA;
    s.bits = 1024;
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    now = judge_mx(&s, &leaf, &STRICT, &f);
    worst_is(MXP_STATE_WARNING, &f);
    want("RSA key of 1024 bits, under 2048: weak", MXP_STATE_WARNING);
    /* Not a policy problem: no note about port 25 even when not strict. */
    fake_reset();
    judge1(leaf.cert, ca.cert, "mx.example.org", &PORT25, now, &f);
    want("RSA key of 1024 bits", MXP_STATE_WARNING);
    want_none("rarely verify");

    /* OpenSSL's security level refusing the key is the same problem. */
    fake_reset();
    chain_set(&c, &leaf.cert, 1, ca.cert);
    set_verify(&c, X509_V_ERR_EE_KEY_TOO_SMALL, 0);
    tls_cert_judge(fake_ctx(), &c.info, NULL, 0, &STRICT, now, &f);
    worst_is(MXP_STATE_WARNING, &f);
    want("chain not verified further: ", MXP_STATE_OK);
    want_none("not trusted");
    chain_free(&c);
    tls_testcert_free(&leaf);
}

/* A weak key on an intermediate warns too, naming it. */
static void test_weak_intermediate(void **state)
{
    struct tls_testcert_spec is = {0}, s = {0};
    struct tls_testcert inter, leaf;
    struct tls_cert_facts f;
    struct chain c;
    X509 *certs[2];
    time_t now;

    (void)state;
    is.key_type = TLS_TESTCERT_RSA;
    is.bits = 1024;
    is.cn = "Weak Intermediate";
    is.is_ca = 1;
    is.not_before_days = -1;
    is.not_after_days = 100;
    is.issuer_key = ca.key;
    is.issuer_cert = ca.cert;
    tls_testcert_make(&is, &inter);
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    s.issuer_key = inter.key;
    s.issuer_cert = inter.cert;
    now = make(&s, &leaf);
    certs[0] = leaf.cert;
    certs[1] = inter.cert;
    chain_set(&c, certs, 2, ca.cert);
    tls_cert_judge(fake_ctx(), &c.info, NULL, 0, &STRICT, now, &f);
    want("intermediate certificate CN=Weak Intermediate: RSA key of 1024 "
         "bits, under 2048: weak",
         MXP_STATE_WARNING);
    want("EC key of 256 bits", MXP_STATE_OK);
    want("chain trusted", MXP_STATE_OK);
    want("chain: 2 certificates sent", MXP_STATE_OK);
    want_none("root included");
    worst_is(MXP_STATE_WARNING, &f);
    chain_free(&c);
    tls_testcert_free(&leaf);
    tls_testcert_free(&inter);
}

static void test_rsa_2048_and_ec(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;

    (void)state;
    s.key_type = TLS_TESTCERT_RSA;
    s.bits = 2048;
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    (void)judge_mx(&s, &leaf, &STRICT, &f);
    worst_is(MXP_STATE_OK, &f);
    want("RSA key of 2048 bits", MXP_STATE_OK);
    tls_testcert_free(&leaf);

    fake_reset();
    s.key_type = TLS_TESTCERT_EC;
    s.bits = 384;
    (void)judge_mx(&s, &leaf, &STRICT, &f);
    worst_is(MXP_STATE_OK, &f);
    want("EC key of 384 bits (secp384r1)", MXP_STATE_OK);
    tls_testcert_free(&leaf);
}

/* An EC key under 224 bits (P-192): the generator's leaf re-keyed and
 * re-signed by the CA. */
static void test_weak_ec(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime192v1");
    time_t now;

    (void)state;
    assert_non_null(k);
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    now = leaf_by_ca(&s, &leaf);
    assert_int_equal(X509_set_pubkey(leaf.cert, k), 1);
    assert_true(X509_sign(leaf.cert, ca.key, EVP_sha256()) > 0);
    judge1(leaf.cert, ca.cert, "mx.example.org", &STRICT, now, &f);
    want("EC key of 192 bits (prime192v1), under 224: weak", MXP_STATE_WARNING);
    EVP_PKEY_free(k);
    tls_testcert_free(&leaf);
}

static void test_sha1(void **state)
{
    struct tls_testcert_spec s = {0};
    struct tls_testcert inter, leaf, root;
    struct tls_cert_facts f;
    struct chain c;
    X509 *certs[3];
    time_t now;

    (void)state;
    /* A SHA-1 leaf. */
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    s.sha1 = 1;
    now = judge_mx(&s, &leaf, &STRICT, &f);
    worst_is(MXP_STATE_WARNING, &f);
    want("SHA-1 signature on the certificate (ecdsa-with-SHA1)",
         MXP_STATE_WARNING);
    tls_testcert_free(&leaf);

    /* A SHA-1 intermediate under a SHA-1 self-signed root that the
     * server sends too: the intermediate warns, the root does not. */
    fake_reset();
    make_ca("Old Root", 1, NULL, &root);
    make_ca("Old Intermediate", 1, &root, &inter);
    memset(&s, 0, sizeof s);
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    s.issuer_key = inter.key;
    s.issuer_cert = inter.cert;
    now = make(&s, &leaf);
    certs[0] = leaf.cert;
    certs[1] = inter.cert;
    certs[2] = root.cert;
    chain_set(&c, certs, 3, root.cert);
    tls_cert_judge(fake_ctx(), &c.info, NULL, 0, &STRICT, now, &f);
    want("SHA-1 signature on intermediate certificate CN=Old Intermediate",
         MXP_STATE_WARNING);
    want_none("Old Root (ecdsa");
    want_none("signature on the certificate");
    want("chain trusted", MXP_STATE_OK);
    worst_is(MXP_STATE_WARNING, &f);
    chain_free(&c);

    /* A self-signed SHA-1 leaf: self-signed is the problem, not SHA-1. */
    fake_reset();
    judge1(root.cert, NULL, NULL, &STRICT, now, &f);
    want("self-signed certificate", MXP_STATE_CRITICAL);
    want_none("SHA-1 signature");
    tls_testcert_free(&leaf);
    tls_testcert_free(&inter);
    tls_testcert_free(&root);
}

/* ---- the chain as sent ------------------------------------------------ */

static void test_chain_sloppy(void **state)
{
    struct tls_testcert_spec s = {0}, xs = {0};
    struct tls_testcert inter, leaf, stray;
    struct tls_cert_facts f;
    struct chain c;
    X509 *certs[3];
    time_t now;

    (void)state;
    make_ca("Intermediate", 0, &ca, &inter);
    xs.cn = "stray.example.net";
    xs.not_after_days = 10;
    tls_testcert_make(&xs, &stray);
    s.cn = "mx.example.org";
    s.not_after_days = 60;
    s.issuer_key = inter.key;
    s.issuer_cert = inter.cert;
    now = make(&s, &leaf);

    /* leaf, stray, intermediate: out of order with one too many. */
    certs[0] = leaf.cert;
    certs[1] = stray.cert;
    certs[2] = inter.cert;
    chain_set(&c, certs, 3, ca.cert);
    c.info.chain_total = 50;
    tls_cert_judge(fake_ctx(), &c.info, NULL, 0, &STRICT, now, &f);
    want("chain: 50 certificates sent (the first 3 looked at), out of "
         "order, 1 more than needed (not in the path: CN=stray.example.net)",
         MXP_STATE_OK);
    want("chain trusted", MXP_STATE_OK);
    worst_is(MXP_STATE_OK, &f);
    chain_free(&c);

    /* An unreadable certificate after the leaf is said, not fatal. */
    fake_reset();
    certs[1] = inter.cert;
    chain_set(&c, certs, 2, ca.cert);
    c.len[1] = 10;
    tls_cert_judge(fake_ctx(), &c.info, NULL, 0, &STRICT, now, &f);
    want("chain: 2 certificates sent, 1 unreadable", MXP_STATE_OK);
    chain_free(&c);
    tls_testcert_free(&leaf);
    tls_testcert_free(&inter);
    tls_testcert_free(&stray);
}

/* ---- no certificate, no leaf ------------------------------------------ */

static void test_no_certificate(void **state)
{
    struct mxp_tls_info info;
    struct tls_cert_facts f;
    static const unsigned char junk[] = {0x30, 0x82, 0x01, 0x00, 0x02};
    const unsigned char *der[1] = {junk};
    size_t len[1] = {sizeof junk};

    (void)state;
    memset(&info, 0, sizeof info);
    info.verify_depth = -1;
    tls_cert_judge(fake_ctx(), &info, NULL, 0, &STRICT, time(NULL), &f);
    assert_int_equal(f.have_leaf, 0);
    assert_int_equal(f.have_days, 0);
    assert_string_equal(f.summary, "no certificate");
    want("no certificate (anonymous cipher suite)", MXP_STATE_OK);
    assert_int_equal(fake_n_perf(), 0);
    worst_is(MXP_STATE_OK, &f);

    /* A leaf that does not parse: cannot tell (UNKNOWN), no perfdata. */
    fake_reset();
    info.n_chain = info.chain_total = 1;
    info.chain_der = der;
    info.chain_len = len;
    tls_cert_judge(fake_ctx(), &info, NULL, 0, &STRICT, time(NULL), &f);
    assert_int_equal(f.have_leaf, 0);
    assert_string_equal(f.summary, "certificate unreadable");
    want("could not be parsed (5 bytes)", MXP_STATE_UNKNOWN);
    assert_int_equal(fake_n_perf(), 0);
}

/* ---- hostile text ------------------------------------------------------ */

/* Every detail is printable: ASCII 0x20..0x7e or well-formed UTF-8 of no
 * control character, and bounded. */
static void all_printable(void)
{
    for (size_t i = 0; i < fake_n_details(); i++) {
        const unsigned char *t = (const unsigned char *)fake_detail(i, NULL);
        size_t n = strlen((const char *)t);

        assert_true(n < CERT_TEXT_MAX);
        for (size_t k = 0; k < n;) {
            size_t len =
                t[k] >= 0x20 && t[k] <= 0x7e ? 1 : utf8_ok(t + k, n - k);

            if (len == 0)
                fail_msg("detail %zu byte %zu is 0x%02x: %s", i, k, t[k],
                         (const char *)t);
            k += len;
        }
    }
}

static void test_hostile_names(void **state)
{
    /* Valid UTF-8 (OpenSSL refuses to encode a UTF8String that is not)
     * with control bytes, a C1 control and a bidi override. */
    static const unsigned char cn[] = "mx\x1b[31m.example.org\r\n\x7f"
                                      "\xc2\x9b caf\xc3\xa9 \xe2\x80\xae"
                                      "gro.elpmaxe";
    unsigned char longname[3000];
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    X509_NAME *nm = X509_NAME_new();
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    static const char nul_san[] = "mx.example.org\0.evil.example";
    time_t now;

    (void)state;
    /* Latin-1 bytes of every kind, NUL included, in a T61String. */
    for (size_t i = 0; i < sizeof longname; i++)
        longname[i] = (unsigned char)(i < 256 ? i : 'a');
    s.not_after_days = 60;
    now = leaf_by_ca(&s, &leaf);
    /* A subject with control bytes, a bidi override and an O of 3000
     * bytes, written as raw strings past OpenSSL's length checks; a DNS
     * SAN with a NUL inside. */
    assert_int_equal(X509_NAME_add_entry_by_NID(nm, NID_organizationName,
                                                V_ASN1_T61STRING, longname,
                                                (int)sizeof longname, -1, 0),
                     1);
    assert_int_equal(X509_NAME_add_entry_by_NID(nm, NID_commonName,
                                                V_ASN1_UTF8STRING, cn,
                                                (int)sizeof cn - 1, -1, 0),
                     1);
    assert_int_equal(X509_set_subject_name(leaf.cert, nm), 1);
    assert_int_equal(ASN1_STRING_set(ia5, nul_san, (int)sizeof nul_san - 1), 1);
    GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
    assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
    assert_int_equal(X509_add1_ext_i2d(leaf.cert, NID_subject_alt_name, gens, 0,
                                       X509V3_ADD_REPLACE),
                     1);
    assert_true(X509_sign(leaf.cert, ca.key, EVP_sha256()) > 0);
    judge1(leaf.cert, ca.cert, "mx.example.org", &STRICT, now, &f);
    all_printable();
    /* The NUL does not let the name through. */
    assert_int_equal(f.name_match, 0);
    want("does not match mx.example.org (-H name); the certificate names "
         "mx.example.org?.evil.example",
         MXP_STATE_CRITICAL);
    /* Controls, C1 and the override are '?', good UTF-8 stays, and the
     * long O is cut on its own, after the CN. */
    want("subject: CN=mx?[31m.example.org????? caf\xc3\xa9 ???gro.elpmaxe, "
         "O=???????????????????????????????? !\"#$%&'()*\\+\\,-./01",
         MXP_STATE_OK);
    want("...", MXP_STATE_OK);
    want_none("\xe2\x80\xae");
    X509_NAME_free(nm);
    GENERAL_NAMES_free(gens);
    tls_testcert_free(&leaf);
}

/* Many SANs: the first 10 and "+N more". */
static void test_many_sans(void **state)
{
    char names[25][32];
    const char *san[26];
    struct tls_testcert_spec s = {0};
    struct tls_testcert leaf;
    struct tls_cert_facts f;
    time_t now;

    (void)state;
    for (int i = 0; i < 25; i++) {
        snprintf(names[i], sizeof names[i], "n%d.example.org", i);
        san[i] = names[i];
    }
    san[25] = NULL;
    s.san = san;
    s.not_after_days = 60;
    now = leaf_by_ca(&s, &leaf);
    judge1(leaf.cert, ca.cert, "x.example.com", &STRICT, now, &f);
    want("names: n0.example.org, n1.example.org, n2.example.org, "
         "n3.example.org, n4.example.org, n5.example.org, n6.example.org, "
         "n7.example.org, n8.example.org, n9.example.org (+15 more)",
         MXP_STATE_OK);
    want_none("n10.example.org");
    want("the certificate names n0.example.org", MXP_STATE_CRITICAL);
    tls_testcert_free(&leaf);
}

/* The text helper on its own: cuts never split a character. */
static void test_printable_cut(void **state)
{
    char out[8];

    (void)state;
    printable("abc", 3, out, sizeof out);
    assert_string_equal(out, "abc");
    printable("abcdefgh", 8, out, sizeof out);
    assert_string_equal(out, "abcd...");
    printable("abcdefg", 7, out, sizeof out);
    assert_string_equal(out, "abcdefg");
    printable("ab\xc3\xa9\xc3\xa9xyz", 9, out, sizeof out);
    assert_string_equal(out, "ab\xc3\xa9...");
    printable("a\x00"
              "b\x80",
              4, out, sizeof out);
    assert_string_equal(out, "a?b?");
    printable("\xc2\x85x", 3, out, sizeof out); /* C1 NEL */
    assert_string_equal(out, "??x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_self_signed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expired_one_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_yet_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_days_thresholds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thresholds_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_vs_self_signed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_self_signed_trusted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_verify_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_several, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weak_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weak_intermediate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rsa_2048_and_ec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weak_ec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sha1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_sloppy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_sans, setup, teardown),
        cmocka_unit_test(test_printable_cut),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
