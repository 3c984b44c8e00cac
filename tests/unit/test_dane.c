/*
 * test_dane.c - TLSA records and the DANE match (plugins/tls/dane.c) on
 * chains made at test time with tls_testcert: the TLSA data is computed
 * here on its own (SPKI from the key the test made, digests through
 * EVP_Digest) and held against the leaf (DANE-EE) and the issuers
 * (DANE-TA, sent or, as a full key, not sent); broken signatures, usages
 * 0/1, malformed and unknown fields, several records, the rollover flag,
 * and the presentation form both ways.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../plugins/tls/dane.c"
#include "tls_testcert.h"

/* root CA -> intermediate CA -> leaf, a CA signing leaf directly, a
 * stranger's key, and a forgery: issuer name and key identifier of ca,
 * signed by the stranger. */
static struct tls_testcert root, inter, leaf3, ca, leaf, other, forged;
/* Not CAs (basicConstraints CA:FALSE) that signed a leaf anyway: a
 * self-made "CA" without the extension, and an intermediate under the
 * real root. */
static struct tls_testcert notca, leaf_nc, mid_nc, leaf_mid;

static void make(const char *cn, int is_ca, struct tls_testcert *issuer,
                 EVP_PKEY *signer, struct tls_testcert *out)
{
    struct tls_testcert_spec s = {0};

    s.cn = cn;
    s.is_ca = is_ca;
    s.not_before_days = -1;
    s.not_after_days = 90;
    if (issuer != NULL) {
        s.issuer_cert = issuer->cert;
        s.issuer_key = signer != NULL ? signer : issuer->key;
    }
    tls_testcert_make(&s, out);
}

static int group_setup(void **state)
{
    (void)state;
    make("DANE Test Root", 1, NULL, NULL, &root);
    make("DANE Test Intermediate", 1, &root, NULL, &inter);
    make("mx3.example.org", 0, &inter, NULL, &leaf3);
    make("DANE Test CA", 1, NULL, NULL, &ca);
    make("mx.example.org", 0, &ca, NULL, &leaf);
    make("other.example.org", 0, NULL, NULL, &other);
    make("mx.example.org", 0, &ca, other.key, &forged);
    make("Homemade Not A CA", 0, NULL, NULL, &notca);
    make("mx.example.org", 0, &notca, NULL, &leaf_nc);
    make("Not A CA Intermediate", 0, &root, NULL, &mid_nc);
    make("mx.example.org", 0, &mid_nc, NULL, &leaf_mid);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tls_testcert_free(&root);
    tls_testcert_free(&inter);
    tls_testcert_free(&leaf3);
    tls_testcert_free(&ca);
    tls_testcert_free(&leaf);
    tls_testcert_free(&other);
    tls_testcert_free(&forged);
    tls_testcert_free(&notca);
    tls_testcert_free(&leaf_nc);
    tls_testcert_free(&mid_nc);
    tls_testcert_free(&leaf_mid);
    return 0;
}

/* ---- TLSA data computed by the test --------------------------------- */

/* rdata U S M + data for c (computed by tls_testcert from the key the
 * test made, not the certificate's copy), parsed into *rr. */
static void rr_for(int usage, int selector, int mtype,
                   const struct tls_testcert *c, struct dane_rr *rr)
{
    size_t len;
    unsigned char *rdata = tls_testcert_tlsa(c, usage, selector, mtype, &len);

    assert_int_equal(len, mtype == 1 ? 35 : mtype == 2 ? 67 : len);
    assert_int_equal(dane_rr_parse(rdata, len, rr), 0);
    free(rdata);
}

static void rr_raw(const unsigned char *rdata, size_t len, struct dane_rr *rr)
{
    assert_int_equal(dane_rr_parse(rdata, len, rr), 0);
}

static void rrs_free(struct dane_rr *rrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dane_rr_free(&rrs[i]);
}

/* Matches one record against chain; returns the outcome. */
static enum dane_outcome match1(const struct dane_rr *rr, X509 *const *chain,
                                size_t n_chain, struct dane_rr_result *r,
                                struct dane_summary *sum)
{
    assert_int_equal(dane_match(rr, 1, chain, n_chain, r, sum), 0);
    return r->outcome;
}

/* ---- DANE-EE -------------------------------------------------------- */

static void test_ee_forms(void **state)
{
    static const int forms[][2] = {{1, 1}, {0, 1}, {1, 2}, {1, 0}, {0, 0}};
    X509 *chain[] = {leaf.cert, ca.cert};

    (void)state;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct dane_rr rr;
        struct dane_rr_result r;
        struct dane_summary sum;

        rr_for(3, forms[i][0], forms[i][1], &leaf, &rr);
        assert_true(rr.usable);
        assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_MATCH);
        assert_int_equal(r.position, 0);
        assert_string_equal(r.why, "matches the server certificate");
        assert_int_equal(sum.n_usable, 1);
        assert_int_equal(sum.n_matched, 1);
        assert_int_equal(sum.first_match, 0);
        assert_true(sum.matched_ee);
        assert_false(sum.matched_ta);
        /* DANE-EE matches the leaf only: the CA's own record does not */
        dane_rr_free(&rr);
        rr_for(3, forms[i][0], forms[i][1], &ca, &rr);
        assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_NO_MATCH);
        assert_false(sum.matched_ee);
        dane_rr_free(&rr);
    }
}

static void test_ee_not_matching(void **state)
{
    X509 *chain[] = {leaf.cert, ca.cert};
    struct dane_rr rr;
    struct dane_rr_result r;
    struct dane_summary sum;

    (void)state;
    rr_for(3, 1, 1, &other, &rr);
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_NO_MATCH);
    assert_string_equal(r.why, "does not match the server certificate");
    assert_int_equal(sum.n_usable, 1);
    assert_int_equal(sum.n_matched, 0);
    assert_int_equal(sum.first_match, (size_t)-1);
    dane_rr_free(&rr);

    /* the right digest with its last bit flipped, and a full SPKI one
     * byte short */
    rr_for(3, 1, 1, &leaf, &rr);
    rr.data[31] ^= 1;
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_NO_MATCH);
    dane_rr_free(&rr);
    rr_for(3, 1, 0, &leaf, &rr);
    rr.len--;
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_NO_MATCH);
    dane_rr_free(&rr);
}

/* ---- DANE-TA -------------------------------------------------------- */

static void test_ta_cert(void **state)
{
    X509 *chain[] = {leaf.cert, ca.cert};
    struct dane_rr rr;
    struct dane_rr_result r;
    struct dane_summary sum;

    (void)state;
    rr_for(2, 0, 1, &ca, &rr);
    assert_true(rr.usable);
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, 1);
    assert_non_null(strstr(r.why, "trust anchor at chain position 1"));
    assert_true(sum.matched_ta);
    assert_false(sum.matched_ee);
    /* the TA certificate not sent: a digest cannot be checked */
    assert_int_equal(match1(&rr, chain, 1, &r, &sum), DANE_NO_MATCH);
    dane_rr_free(&rr);

    /* DANE-TA names an issuer, not the leaf */
    rr_for(2, 0, 1, &leaf, &rr);
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_NO_MATCH);
    dane_rr_free(&rr);
}

static void test_ta_key(void **state)
{
    X509 *chain[] = {leaf.cert, ca.cert};
    struct dane_rr rr;
    struct dane_rr_result r;
    struct dane_summary sum;

    (void)state;
    rr_for(2, 1, 1, &ca, &rr);
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, 1);
    dane_rr_free(&rr);
    rr_for(2, 1, 2, &ca, &rr);
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_MATCH);
    dane_rr_free(&rr);
    rr_for(2, 1, 1, &other, &rr);
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_NO_MATCH);
    assert_string_equal(r.why, "matches no issuer certificate on the chain's "
                               "signed path");
    dane_rr_free(&rr);
}

/* A leaf with ca's name and key identifier as issuer but another key's
 * signature: the TA is in the chain, the chain to it is broken. */
static void test_ta_broken_signature(void **state)
{
    static const int forms[][2] = {{0, 1}, {1, 1}, {0, 0}, {1, 0}, {1, 2}};
    X509 *chain[] = {forged.cert, ca.cert};

    (void)state;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct dane_rr rr;
        struct dane_rr_result r;
        struct dane_summary sum;

        rr_for(2, forms[i][0], forms[i][1], &ca, &rr);
        assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_NO_MATCH);
        assert_non_null(strstr(r.why, "no valid signature chain"));
        assert_int_equal(sum.n_matched, 0);
        dane_rr_free(&rr);
    }
    /* DANE-EE does not look at the signature (RFC 7672 3.1.1) */
    {
        struct dane_rr rr;
        struct dane_rr_result r;
        struct dane_summary sum;

        rr_for(3, 1, 1, &forged, &rr);
        assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_MATCH);
        dane_rr_free(&rr);
    }
}

/* root -> inter -> leaf3: the root sent, not sent, out of order. */
static void test_ta_depth(void **state)
{
    X509 *full[] = {leaf3.cert, inter.cert, root.cert};
    X509 *shuffled[] = {leaf3.cert, root.cert, inter.cert};
    X509 *no_root[] = {leaf3.cert, inter.cert};
    X509 *no_inter[] = {leaf3.cert, root.cert};
    struct dane_rr rr;
    struct dane_rr_result r;
    struct dane_summary sum;

    (void)state;
    rr_for(2, 0, 1, &root, &rr);
    assert_int_equal(match1(&rr, full, 3, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, 2);
    assert_int_equal(match1(&rr, shuffled, 3, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, 1);
    assert_int_equal(match1(&rr, no_root, 2, &r, &sum), DANE_NO_MATCH);
    /* the root sent, the intermediate between missing: no path to it */
    assert_int_equal(match1(&rr, no_inter, 2, &r, &sum), DANE_NO_MATCH);
    assert_non_null(strstr(r.why, "no valid signature chain"));
    dane_rr_free(&rr);

    /* 2 1 0: the root's full key, which need not be sent (RFC 7671
     * 5.2.3); its digest (2 1 1) needs the root in the chain */
    rr_for(2, 1, 0, &root, &rr);
    assert_int_equal(match1(&rr, no_root, 2, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, DANE_TA_ABSENT);
    assert_non_null(strstr(r.why, "not sent"));
    assert_true(sum.matched_ta);
    assert_int_equal(match1(&rr, full, 3, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, 2);
    dane_rr_free(&rr);
    rr_for(2, 1, 1, &root, &rr);
    assert_int_equal(match1(&rr, no_root, 2, &r, &sum), DANE_NO_MATCH);
    dane_rr_free(&rr);
    rr_for(2, 1, 0, &other, &rr);
    assert_int_equal(match1(&rr, no_root, 2, &r, &sum), DANE_NO_MATCH);
    dane_rr_free(&rr);
    /* the intermediate as TA */
    rr_for(2, 1, 1, &inter, &rr);
    assert_int_equal(match1(&rr, no_root, 2, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, 1);
    dane_rr_free(&rr);
}

/* A stray certificate in the chain: skipped on the path, and matching
 * it as TA is no match; a 2 1 0 record that is no key at all. */
static void test_ta_stray(void **state)
{
    X509 *chain[] = {leaf.cert, other.cert, ca.cert};
    X509 *no_ca[] = {leaf.cert};
    static const unsigned char junk[] = {2, 1, 0, 0x30, 0x03, 0x02, 0x01};
    struct dane_rr rr;
    struct dane_rr_result r;
    struct dane_summary sum;

    (void)state;
    rr_for(2, 0, 1, &ca, &rr);
    assert_int_equal(match1(&rr, chain, 3, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, 2);
    dane_rr_free(&rr);
    rr_for(2, 1, 1, &other, &rr);
    assert_int_equal(match1(&rr, chain, 3, &r, &sum), DANE_NO_MATCH);
    assert_non_null(strstr(r.why, "chain position 1, which is not a CA"));
    dane_rr_free(&rr);
    rr_raw(junk, sizeof junk, &rr);
    assert_true(rr.usable);
    assert_int_equal(match1(&rr, no_ca, 1, &r, &sum), DANE_NO_MATCH);
    dane_rr_free(&rr);
    /* the CA's key in full, the CA not sent: matches (RFC 7671 5.2.3) */
    rr_for(2, 1, 0, &ca, &rr);
    assert_int_equal(match1(&rr, no_ca, 1, &r, &sum), DANE_MATCH);
    assert_int_equal(r.position, DANE_TA_ABSENT);
    dane_rr_free(&rr);
}

/* DANE-TA: every certificate above the leaf, the trust anchor too,
 * must be a CA (OpenSSL's DANE, hence Postfix, rejects the chain with
 * "invalid CA certificate" otherwise); a signature alone is no match. */
static void test_ta_not_a_ca(void **state)
{
    static const int forms[][2] = {{0, 1}, {1, 1}, {0, 0}, {1, 2}};
    X509 *direct[] = {leaf_nc.cert, notca.cert};
    X509 *via[] = {leaf_mid.cert, mid_nc.cert, root.cert};

    (void)state;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct dane_rr rr;
        struct dane_rr_result r;
        struct dane_summary sum;

        rr_for(2, forms[i][0], forms[i][1], &notca, &rr);
        assert_int_equal(match1(&rr, direct, 2, &r, &sum), DANE_NO_MATCH);
        assert_non_null(strstr(r.why, "not a CA"));
        dane_rr_free(&rr);
        rr_for(2, forms[i][0], forms[i][1], &mid_nc, &rr);
        assert_int_equal(match1(&rr, via, 3, &r, &sum), DANE_NO_MATCH);
        assert_non_null(strstr(r.why, "not a CA"));
        dane_rr_free(&rr);
        rr_for(2, forms[i][0], forms[i][1], &root, &rr);
        assert_int_equal(match1(&rr, via, 3, &r, &sum), DANE_NO_MATCH);
        assert_int_equal(sum.n_matched, 0);
        dane_rr_free(&rr);
    }
    /* DANE-EE of that leaf still matches: no issuer is looked at */
    {
        struct dane_rr rr;
        struct dane_rr_result r;
        struct dane_summary sum;

        rr_for(3, 1, 1, &leaf_nc, &rr);
        assert_int_equal(match1(&rr, direct, 2, &r, &sum), DANE_MATCH);
        dane_rr_free(&rr);
    }
}

/* ---- unusable records ----------------------------------------------- */

static void test_pkix_not_for_smtp(void **state)
{
    X509 *chain[] = {leaf.cert, ca.cert};
    struct dane_rr rr;
    struct dane_rr_result r;
    struct dane_summary sum;

    (void)state;
    rr_for(1, 1, 1, &leaf, &rr); /* would match as 3 1 1 */
    assert_false(rr.usable);
    assert_string_equal(rr.why, "usage 1 (PKIX-EE) is ignored by SMTP "
                                "senders (RFC 7672 3.1.3)");
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_UNUSABLE);
    assert_string_equal(r.why, rr.why);
    assert_int_equal(sum.n_usable, 0);
    assert_int_equal(sum.n_matched, 0);
    assert_false(sum.single_usable);
    dane_rr_free(&rr);
    rr_for(0, 0, 1, &ca, &rr);
    assert_false(rr.usable);
    assert_string_equal(rr.why, "usage 0 (PKIX-TA) is ignored by SMTP "
                                "senders (RFC 7672 3.1.3)");
    assert_int_equal(match1(&rr, chain, 2, &r, &sum), DANE_UNUSABLE);
    dane_rr_free(&rr);
}

static void test_unusable_table(void **state)
{
    static const struct {
        unsigned char head[3];
        size_t data_len;
        int usable;
        const char *why;
    } cases[] = {
        {{3, 1, 1}, 32, 1, "DANE-EE, usable"},
        {{3, 1, 1}, 31, 0, "SHA-256 data of 31 bytes, not 32"},
        {{3, 1, 1}, 33, 0, "SHA-256 data of 33 bytes, not 32"},
        {{3, 1, 1}, 0, 0, "SHA-256 data of 0 bytes, not 32"},
        {{2, 0, 2}, 64, 1, "DANE-TA, usable"},
        {{2, 0, 2}, 63, 0, "SHA-512 data of 63 bytes, not 64"},
        {{2, 0, 2}, 32, 0, "SHA-512 data of 32 bytes, not 64"},
        {{3, 1, 0}, 1, 1, "DANE-EE, usable"},
        {{3, 1, 0}, 0, 0, "no association data"},
        {{3, 1, 0}, DANE_DATA_MAX, 1, "DANE-EE, usable"},
        {{3, 1, 0}, DANE_DATA_MAX + 1, 0, "over 16384"},
        {{3, 1, 3}, 32, 0, "unknown matching type 3"},
        {{3, 1, 255}, 32, 0, "unknown matching type 255"},
        {{3, 2, 1}, 32, 0, "unknown selector 2"},
        {{4, 1, 1}, 32, 0, "unknown usage 4"},
        {{255, 1, 1}, 32, 0, "unknown usage 255"},
    };
    unsigned char *rdata = calloc(1, 3 + DANE_DATA_MAX + 1);

    (void)state;
    assert_non_null(rdata);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dane_rr rr;

        memcpy(rdata, cases[i].head, 3);
        rr_raw(rdata, 3 + cases[i].data_len, &rr);
        if (rr.usable != cases[i].usable ||
            strstr(rr.why, cases[i].why) == NULL)
            fail_msg("case %zu: usable %d why '%s'", i, rr.usable, rr.why);
        if (!cases[i].usable)
            assert_non_null(strstr(rr.why, "unusable, ignored"));
        assert_int_equal(rr.usage, cases[i].head[0]);
        assert_int_equal(rr.selector, cases[i].head[1]);
        assert_int_equal(rr.mtype, cases[i].head[2]);
        dane_rr_free(&rr);
    }
    free(rdata);
    /* rdata too short for the three fields */
    {
        struct dane_rr rr;

        rr_raw((const unsigned char *)"\3\1", 2, &rr);
        assert_false(rr.usable);
        assert_string_equal(rr.why,
                            "rdata of 2 bytes, under 3: unusable, ignored");
        dane_rr_free(&rr);
        rr_raw(NULL, 0, &rr);
        assert_false(rr.usable);
        dane_rr_free(&rr);
    }
}

/* ---- RRsets --------------------------------------------------------- */

static void test_several_one_matches(void **state)
{
    X509 *chain[] = {leaf.cert, ca.cert};
    struct dane_rr rrs[5];
    struct dane_rr_result r[5];
    struct dane_summary sum;
    static const unsigned char bad[3 + 31] = {3, 1, 1};

    (void)state;
    rr_for(3, 1, 1, &other, &rrs[0]);
    rr_for(0, 0, 1, &ca, &rrs[1]); /* would match, usage 0 */
    rr_for(2, 1, 1, &other, &rrs[2]);
    rr_raw(bad, sizeof bad, &rrs[3]);
    rr_for(3, 0, 1, &leaf, &rrs[4]);
    assert_int_equal(dane_match(rrs, 5, chain, 2, r, &sum), 0);
    assert_int_equal(r[0].outcome, DANE_NO_MATCH);
    assert_int_equal(r[1].outcome, DANE_UNUSABLE);
    assert_int_equal(r[2].outcome, DANE_NO_MATCH);
    assert_int_equal(r[3].outcome, DANE_UNUSABLE);
    assert_non_null(strstr(r[3].why, "31 bytes"));
    assert_int_equal(r[4].outcome, DANE_MATCH);
    assert_int_equal(sum.n_records, 5);
    assert_int_equal(sum.n_usable, 3);
    assert_int_equal(sum.n_matched, 1);
    assert_int_equal(sum.first_match, 4);
    assert_false(sum.single_usable);
    assert_true(sum.matched_ee);
    assert_false(sum.matched_ta);
    rrs_free(rrs, 5);
}

/* One usable record: no second key published for a rollover. */
static void test_rollover_flag(void **state)
{
    X509 *chain[] = {leaf.cert, ca.cert};
    struct dane_rr rrs[3];
    struct dane_rr_result r[3];
    struct dane_summary sum;

    (void)state;
    rr_for(3, 1, 1, &leaf, &rrs[0]);
    rr_for(1, 1, 1, &leaf, &rrs[1]); /* unusable: does not count */
    rr_for(2, 0, 1, &ca, &rrs[2]);
    assert_int_equal(dane_match(rrs, 1, chain, 2, r, &sum), 0);
    assert_true(sum.single_usable);
    assert_int_equal(dane_match(rrs, 2, chain, 2, r, &sum), 0);
    assert_true(sum.single_usable);
    assert_int_equal(sum.n_records, 2);
    assert_int_equal(dane_match(rrs, 3, chain, 2, r, &sum), 0);
    assert_false(sum.single_usable);
    assert_int_equal(sum.n_matched, 2);
    assert_true(sum.matched_ee);
    assert_true(sum.matched_ta);
    /* an empty RRset: nothing usable, nothing single */
    assert_int_equal(dane_match(rrs, 0, chain, 2, r, &sum), 0);
    assert_false(sum.single_usable);
    assert_int_equal(sum.n_usable, 0);
    rrs_free(rrs, 3);
}

static void test_no_certificate(void **state)
{
    struct dane_rr rr;
    struct dane_rr_result r;
    struct dane_summary sum;

    (void)state;
    rr_for(3, 1, 1, &leaf, &rr);
    assert_int_equal(match1(&rr, NULL, 0, &r, &sum), DANE_NO_MATCH);
    assert_string_equal(r.why, "no certificate to match");
    assert_int_equal(sum.n_usable, 1);
    dane_rr_free(&rr);
}

/* ---- presentation form ---------------------------------------------- */

static void test_text_round_trip(void **state)
{
    struct dane_rr rr, back;
    char text[2 * DANE_DATA_MAX + 16], err[128];
    size_t need;

    (void)state;
    rr_for(3, 1, 1, &leaf, &rr);
    need = dane_rr_format(&rr, text, sizeof text, 0);
    assert_int_equal(need, strlen(text));
    assert_int_equal(need, 6 + 64);
    assert_memory_equal(text, "3 1 1 ", 6);
    assert_int_equal(dane_rr_parse_text(text, &back, err, sizeof err), 0);
    assert_true(back.usable);
    assert_int_equal(back.len, 32);
    assert_memory_equal(back.data, rr.data, 32);
    dane_rr_free(&back);
    /* shortened for messages */
    need = dane_rr_format(&rr, text, sizeof text, 8);
    assert_int_equal(need, 6 + 8 + 3);
    assert_int_equal(strlen(text), need);
    assert_string_equal(text + 14, "...");
    /* cut to the buffer, terminated, the full need returned */
    assert_int_equal(dane_rr_format(&rr, text, 10, 0), 70);
    assert_int_equal(strlen(text), 9);
    assert_memory_equal(text, "3 1 1 ", 6);
    dane_rr_free(&rr);

    /* a full certificate, lower case and split hex in, upper case out */
    assert_int_equal(
        dane_rr_parse_text("2 0 0 30 82\t0a\nbC", &rr, err, sizeof err), 0);
    assert_int_equal(rr.usage, 2);
    assert_int_equal(rr.len, 4);
    dane_rr_format(&rr, text, sizeof text, 0);
    assert_string_equal(text, "2 0 0 30820ABC");
    dane_rr_free(&rr);
    assert_int_equal(dane_rr_parse_text(" 1 1 1 "
                                        "0000000000000000"
                                        "0000000000000000"
                                        "0000000000000000"
                                        "0000000000000000",
                                        &rr, err, sizeof err),
                     0);
    assert_false(rr.usable);
    dane_rr_free(&rr);
    /* unusable records parse too: they are classified, no error */
    assert_int_equal(dane_rr_parse_text("3 1 1 ab", &rr, err, sizeof err), 0);
    assert_false(rr.usable);
    assert_non_null(strstr(rr.why, "1 bytes, not 32"));
    dane_rr_format(&rr, text, sizeof text, 0);
    assert_string_equal(text, "3 1 1 AB");
    dane_rr_free(&rr);
}

static void test_text_errors(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"3 1 1 zz", "no hex digit (at offset 6)"},
        {"3 1 1 abc", "odd number of hex digits (3)"},
        {"3 1 1 a", "odd number of hex digits (1)"},
        {"3 1 1 0x00", "no hex digit (at offset 7)"},
        {"3 1 1", "matching type is not a number"},
        {"3 1 1 ", "has no data"},
        {"3 1 1 \t\n", "has no data"},
        {"3 1", "selector is not a number"},
        {"", "usage is not a number"},
        {"x 1 1 00", "usage is not a number"},
        {"256 1 1 00", "usage is not a number"},
        {"0003 1 1 00", "usage is not a number"},
        {"3 -1 1 00", "selector is not a number"},
        {"3 1 1a 00", "matching type is not a number"},
        {"3 1 1\00000", "matching type is not a number"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dane_rr rr;
        char err[128] = "";

        if (dane_rr_parse_text(cases[i].text, &rr, err, sizeof err) != -1 ||
            strstr(err, cases[i].err) == NULL)
            fail_msg("case %zu '%s': err '%s'", i, cases[i].text, err);
        assert_null(rr.data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ee_forms),
        cmocka_unit_test(test_ee_not_matching),
        cmocka_unit_test(test_ta_cert),
        cmocka_unit_test(test_ta_key),
        cmocka_unit_test(test_ta_broken_signature),
        cmocka_unit_test(test_ta_depth),
        cmocka_unit_test(test_ta_stray),
        cmocka_unit_test(test_ta_not_a_ca),
        cmocka_unit_test(test_pkix_not_for_smtp),
        cmocka_unit_test(test_unusable_table),
        cmocka_unit_test(test_several_one_matches),
        cmocka_unit_test(test_rollover_flag),
        cmocka_unit_test(test_no_certificate),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_text_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
