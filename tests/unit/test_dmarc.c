/*
 * test_dmarc.c - the zone plugin's RFC 7489 DMARC record parser as tables:
 * what is a DMARC record at all (v=DMARC1 first, exact case), near misses,
 * every tag's values, precise problem texts, and the 6.6.3 rule that a
 * record without a valid p= still works as p=none when rua= is valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../plugins/zone/dmarc.c"

static void test_is_record(void **state)
{
    static const struct {
        const char *txt;
        int is;
    } t[] = {
        {"v=DMARC1; p=none", 1},
        {"v=DMARC1;p=none", 1},
        {"v = DMARC1 ; p=none", 1},
        {"v=DMARC1", 1},
        {"V=DMARC1; p=reject", 1},
        {"v=DMARC1 ", 1},
        {"v=dmarc1; p=none", 0}, /* DMARC1 is %x-exact in the ABNF */
        {"v=DMARC10; p=none", 0},
        {"v=DMARC1x", 0},
        {" v=DMARC1; p=none", 0},
        {"p=none; v=DMARC1", 0},
        {"v=spf1 -all", 0},
        {"", 0},
        {"v=", 0},
        {"v=DMARC", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (dmarc_is_record(t[i].txt, strlen(t[i].txt)) != t[i].is)
            fail_msg("'%s': expected %d", t[i].txt, t[i].is);
}

static void test_near_miss(void **state)
{
    static const struct {
        const char *txt;
        const char *why; /* substring, or NULL: not a near miss */
    } t[] = {
        {"p=none; v=DMARC1", "must be the first tag"},
        {"v=dmarc1; p=none", "exactly v=DMARC1, not v=dmarc1"},
        {"v=DMARC1x; p=none", "exactly v=DMARC1"},
        {" v=DMARC1; p=none", "must be the first tag"},
        {"v=DMARC1; p=none", NULL}, /* a record, not a miss */
        {"google-site-verification=abc", NULL},
        {"v=spf1 -all", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char why[DMARC_PROBLEM_LEN] = "";
        int got = dmarc_near_miss(t[i].txt, strlen(t[i].txt), why, sizeof why);

        if (t[i].why == NULL && got)
            fail_msg("'%s': near miss '%s', expected none", t[i].txt, why);
        if (t[i].why != NULL && (!got || strstr(why, t[i].why) == NULL))
            fail_msg("'%s': got %d '%s', expected '%s'", t[i].txt, got, why,
                     t[i].why);
    }
}

/* Only the version token is quoted, its NUL and control bytes as '?'. */
static void test_near_miss_quotes_the_version(void **state)
{
    static const char nul[] = "v=DMARC\0"
                              "1\x1b; p=reject";
    char why[DMARC_PROBLEM_LEN];

    (void)state;
    assert_true(dmarc_near_miss("v=dmarc1; p=reject", 18, why, sizeof why));
    assert_string_equal(why,
                        "the version must be exactly v=DMARC1, not v=dmarc1");
    assert_true(dmarc_near_miss("v = DMARC2 p=none", 17, why, sizeof why));
    assert_string_equal(why,
                        "the version must be exactly v=DMARC1, not v=DMARC2");
    assert_true(dmarc_near_miss(nul, sizeof nul - 1, why, sizeof why));
    assert_string_equal(why,
                        "the version must be exactly v=DMARC1, not v=DMARC?1?");
    assert_true(dmarc_near_miss("v=DMARC1111111111111111111111111", 32, why,
                                sizeof why));
    assert_string_equal(why, "the version must be exactly v=DMARC1, not "
                             "v=DMARC111111111111111...");
}

/* One record: usable, policy, implied, and a problem substring ("" for
 * no problem at all). */
static const struct {
    const char *txt;
    int usable;
    enum dmarc_policy p;
    int implied;
    const char *problem;
} parse_table[] = {
    {"v=DMARC1; p=reject", 1, DMARC_P_REJECT, 0, ""},
    {"v=DMARC1; p=quarantine;", 1, DMARC_P_QUARANTINE, 0, ""},
    {"v=DMARC1;p=none;rua=mailto:d@example.org", 1, DMARC_P_NONE, 0, ""},
    {"v=DMARC1; p=REJECT", 1, DMARC_P_REJECT, 0, ""},
    {"v=DMARC1 ; p = reject ; sp = none ;", 1, DMARC_P_REJECT, 0, ""},
    {"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; "
     "rua=mailto:a@example.org,mailto:b@example.net!10m; "
     "ruf=mailto:f@example.org; fo=0:1:d:s; rf=afrf; ri=3600",
     1, DMARC_P_REJECT, 0, ""},
    {"v=DMARC1; p=reject;; ", 1, DMARC_P_REJECT, 0, ""},
    {"v=DMARC1; p=reject; np=reject; t=y", 1, DMARC_P_REJECT, 0, ""},
    /* bad values */
    {"v=DMARC1; p=quarantin", 0, DMARC_P_UNSET, 0,
     "p=quarantin: not none, quarantine or reject"},
    {"v=DMARC1; p=reject; pct=150", 1, DMARC_P_REJECT, 0,
     "pct=150: not 0..100"},
    {"v=DMARC1; p=reject; pct=-1", 1, DMARC_P_REJECT, 0, "pct=-1"},
    {"v=DMARC1; p=reject; pct=1000", 1, DMARC_P_REJECT, 0, "not 0..100"},
    {"v=DMARC1; p=reject; adkim=x", 1, DMARC_P_REJECT, 0,
     "adkim=x: not r or s"},
    {"v=DMARC1; p=reject; aspf=strict", 1, DMARC_P_REJECT, 0,
     "aspf=strict: not r or s"},
    {"v=DMARC1; p=reject; fo=2", 1, DMARC_P_REJECT, 0, "fo=2"},
    {"v=DMARC1; p=reject; rf=iodef", 1, DMARC_P_REJECT, 0,
     "rf=iodef: not afrf"},
    {"v=DMARC1; p=reject; ri=abc", 1, DMARC_P_REJECT, 0, "ri=abc"},
    {"v=DMARC1; p=reject; ri=99999999999", 1, DMARC_P_REJECT, 0, "ri="},
    {"v=DMARC1; p=reject; rua=d@example.org", 1, DMARC_P_REJECT, 0,
     "rua=d@example.org: not a URI"},
    {"v=DMARC1; p=reject; rua=mailto:", 1, DMARC_P_REJECT, 0,
     "rua=mailto:: not a URI"},
    {"v=DMARC1; p=reject; rua=mailto:nobody", 1, DMARC_P_REJECT, 0,
     "mailto: without a valid address"},
    {"v=DMARC1; p=reject; ruf=mailto:a@example.org!x", 1, DMARC_P_REJECT, 0,
     "bad size limit"},
    {"v=DMARC1; p=reject; rua=mailto:a@example.org,", 1, DMARC_P_REJECT, 0,
     "rua: empty URI"},
    {"v=DMARC1; p=reject; rua=https://example.org/r", 1, DMARC_P_REJECT, 0, ""},
    /* structure */
    {"v=DMARC1; p=reject; p=none", 1, DMARC_P_REJECT, 0, "p= given twice"},
    {"v=DMARC1; p=reject; v=DMARC1", 1, DMARC_P_REJECT, 0, "v= given twice"},
    {"v=DMARC1; p=reject; rau=mailto:a@example.org", 1, DMARC_P_REJECT, 0,
     "unknown tag 'rau'"},
    {"v=DMARC1; p=reject; pct", 1, DMARC_P_REJECT, 0, "'pct' is not tag=value"},
    {"v=DMARC1; p=reject; =x", 1, DMARC_P_REJECT, 0, "has no tag name"},
    {"v=DMARC1; p=reject; pct=", 1, DMARC_P_REJECT, 0, "pct= has no value"},
    {"v=DMARC1 p=reject", 0, DMARC_P_UNSET, 0, "';' expected before"},
    /* RFC 7489 6.6.3: no valid p=, but a valid rua= */
    {"v=DMARC1; rua=mailto:d@example.org", 1, DMARC_P_NONE, 1, "no p= tag"},
    {"v=DMARC1; rua=mailto:d@example.org", 1, DMARC_P_NONE, 1,
     "treat it as p=none"},
    {"v=DMARC1; p=bogus; rua=mailto:d@example.org", 1, DMARC_P_NONE, 1,
     "p=bogus"},
    {"v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.org", 1, DMARC_P_NONE,
     1, "sp=bogus"},
    {"v=DMARC1; p=reject; sp=bogus", 0, DMARC_P_REJECT, 0,
     "receivers ignore the record"},
    /* an empty sp= is an invalid one (RFC 7489 6.6.3) */
    {"v=DMARC1; p=reject; sp=; rua=mailto:d@example.org", 1, DMARC_P_NONE, 1,
     "sp= has no value"},
    {"v=DMARC1; p=reject; sp=", 0, DMARC_P_REJECT, 0,
     "receivers ignore the record"},
    {"v=DMARC1", 0, DMARC_P_UNSET, 0, "no p= tag (it is required)"},
    {"v=DMARC1; rua=d@example.org", 0, DMARC_P_UNSET, 0, "receivers ignore"},
    {"v=DMARC1; p=", 0, DMARC_P_UNSET, 0, "p= has no value"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_table / sizeof *parse_table; i++) {
        struct dmarc_record r;
        const char *want = parse_table[i].problem;
        int found = 0;

        dmarc_parse(parse_table[i].txt, strlen(parse_table[i].txt), &r);
        for (size_t k = 0; k < r.n_problems; k++)
            if (want[0] != '\0' && strstr(r.problems[k], want) != NULL)
                found = 1;
        if (r.usable != parse_table[i].usable ||
            (r.usable && r.p != parse_table[i].p) ||
            r.p_implied != parse_table[i].implied ||
            (want[0] == '\0' && r.n_problems != 0) ||
            (want[0] != '\0' && !found)) {
            for (size_t k = 0; k < r.n_problems; k++)
                print_message("  problem: %s\n", r.problems[k]);
            fail_msg("'%s': usable %d p %d implied %d, %zu problems; "
                     "expected usable %d p %d implied %d '%s'",
                     parse_table[i].txt, r.usable, r.p, r.p_implied,
                     r.n_problems, parse_table[i].usable, parse_table[i].p,
                     parse_table[i].implied, want);
        }
    }
}

static void test_values_kept(void **state)
{
    struct dmarc_record r;
    const char *txt = "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=s; "
                      "pct=25; rua=mailto:a@example.org; "
                      "ruf=mailto:f@example.org; fo=1:d; ri=3600";

    (void)state;
    dmarc_parse(txt, strlen(txt), &r);
    assert_int_equal(r.n_problems, 0);
    assert_int_equal(r.p, DMARC_P_QUARANTINE);
    assert_int_equal(r.sp, DMARC_P_REJECT);
    assert_int_equal(r.adkim, 's');
    assert_int_equal(r.aspf, 's');
    assert_int_equal(r.pct, 25);
    assert_int_equal(r.ri, 3600);
    assert_string_equal(r.rua, "mailto:a@example.org");
    assert_string_equal(r.ruf, "mailto:f@example.org");
    assert_string_equal(r.fo, "1:d");
    assert_int_equal(r.n_rua_valid, 1);
    assert_string_equal(dmarc_policy_name(r.p), "quarantine");

    /* defaults */
    dmarc_parse("v=DMARC1; p=none", 16, &r);
    assert_int_equal(r.sp, DMARC_P_UNSET);
    assert_int_equal(r.adkim, 'r');
    assert_int_equal(r.aspf, 'r');
    assert_int_equal(r.pct, 100);
    assert_int_equal(r.ri, 86400);
    assert_string_equal(r.fo, "0");
    assert_string_equal(r.rf, "afrf");
    assert_string_equal(r.rua, "");
}

/* Hostile bytes: NULs, control bytes, a huge record, many problems. */
static void test_hostile(void **state)
{
    static const char nul[] = "v=DMARC1; p=re\0ject; rua=mailto:a\x01@x.org";
    struct dmarc_record r;
    char big[8192];
    size_t off;

    (void)state;
    dmarc_parse(nul, sizeof nul - 1, &r);
    assert_false(r.usable);
    for (size_t k = 0; k < r.n_problems; k++)
        for (const char *p = r.problems[k]; *p != '\0'; p++)
            assert_true(isprint((unsigned char)*p));

    off = (size_t)snprintf(big, sizeof big, "v=DMARC1; p=reject");
    while (off + 12 < sizeof big)
        off += (size_t)snprintf(big + off, sizeof big - off, "; x%04zu=y",
                                off % 10000);
    dmarc_parse(big, off, &r);
    assert_true(r.usable);
    assert_int_equal(r.n_problems, DMARC_MAX_PROBLEMS);

    memset(big, 'a', sizeof big);
    memcpy(big, "v=DMARC1; p=reject; rua=mailto:", 31);
    dmarc_parse(big, sizeof big, &r);
    assert_true(r.usable);
    assert_true(strlen(r.rua) < DMARC_URIS_LEN);
    assert_true(strlen(r.problems[0]) < DMARC_PROBLEM_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_record),
        cmocka_unit_test(test_near_miss),
        cmocka_unit_test(test_near_miss_quotes_the_version),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_values_kept),
        cmocka_unit_test(test_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
