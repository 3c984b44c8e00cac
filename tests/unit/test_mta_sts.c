/*
 * test_mta_sts.c - the zone plugin's RFC 8461 MTA-STS and RFC 8460
 * TLS-RPT parsers as tables: the _mta-sts TXT record, the policy file
 * (good ones, and bad ones with the words of their error), MX pattern
 * matching with wildcards, and the _smtp._tls TXT record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/zone/mta_sts.c"

/* ---- policy: good ones ----------------------------------------------- */

static void test_policy_good(void **state)
{
    static const struct {
        const char *body;
        enum mta_sts_mode mode;
        long max_age;
        const char *mx; /* the patterns, ' '-separated */
        unsigned blank;
    } t[] = {
        {"version: STSv1\nmode: enforce\nmx: mx1.example.com\n"
         "mx: *.mx.example.com\nmx: backup.example.net\nmax_age: 604800\n",
         MTA_STS_MODE_ENFORCE, 604800,
         "mx1.example.com *.mx.example.com backup.example.net", 0},
        {"version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\n"
         "max_age: 86400\r\n",
         MTA_STS_MODE_TESTING, 86400, "mx.example.com", 0},
        {"version: STSv1\nmode: none\nmax_age: 0", MTA_STS_MODE_NONE, 0, "", 0},
        /* no final terminator, LF and CRLF mixed */
        {"version: STSv1\r\nmode: enforce\nmx: a.example\r\nmax_age: 1",
         MTA_STS_MODE_ENFORCE, 1, "a.example", 0},
        /* trailing white space, none or several after ':' */
        {"version:STSv1  \nmode:\tenforce\t\nmx:   MX.Example.COM \n"
         "max_age: 31557600 \n",
         MTA_STS_MODE_ENFORCE, 31557600, "MX.Example.COM", 0},
        /* unknown keys ignored, whatever their value */
        {"version: STSv1\nmode: testing\nx-note: hello world\n"
         "mx: mx.example.com\nfoo.bar_1: \xc3\xa9t\xc3\xa9\nmax_age: 3600\n",
         MTA_STS_MODE_TESTING, 3600, "mx.example.com", 0},
        /* an empty line: accepted, its number kept for a note */
        {"version: STSv1\nmode: enforce\n\nmx: mx.example.com\n"
         "max_age: 86400\n\n",
         MTA_STS_MODE_ENFORCE, 86400, "mx.example.com", 3},
        /* mode none with mx */
        {"version: STSv1\nmode: none\nmx: mx.example.com\nmax_age: 10\n",
         MTA_STS_MODE_NONE, 10, "mx.example.com", 0},
        /* ten digits with leading zeros */
        {"version: STSv1\nmode: none\nmax_age: 0000086400\n", MTA_STS_MODE_NONE,
         86400, "", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct mta_sts_policy p;
        char err[256] = "", mx[1024] = "";
        size_t off = 0;
        enum mta_sts_rc rc = mta_sts_policy_parse(t[i].body, strlen(t[i].body),
                                                  &p, err, sizeof err);

        if (rc != MTA_STS_OK)
            fail_msg("policy %zu: rc %d: %s", i, rc, err);
        for (size_t k = 0; k < p.n_mx; k++)
            off += (size_t)snprintf(mx + off, sizeof mx - off, "%s%s",
                                    k ? " " : "", p.mx[k]);
        if (p.mode != t[i].mode || p.max_age != t[i].max_age ||
            strcmp(mx, t[i].mx) != 0 || p.blank_line != t[i].blank)
            fail_msg("policy %zu: mode %s max_age %ld mx '%s' blank %u", i,
                     mta_sts_mode_name(p.mode), p.max_age, mx, p.blank_line);
        mta_sts_policy_free(&p);
        assert_null(p.mx);
    }
}

/* ---- policy: bad ones ------------------------------------------------- */

static void test_policy_bad(void **state)
{
    static const struct {
        const char *body;
        size_t len; /* 0: strlen */
        const char *why;
    } t[] = {
        {"", 0, "the policy is empty"},
        {"\n\n", 0, "the policy is empty"},
        {"mode: enforce\nmx: mx.example.com\nmax_age: 86400\n", 0,
         "the policy has no version field"},
        {"x-a: b\nmode: none\nmax_age: 1\n", 0,
         "the policy has no version field"},
        {"version: STSv2\nmode: none\nmax_age: 1\n", 0,
         "line 1: version is 'STSv2', not STSv1"},
        {"version: stsv1\nmode: none\nmax_age: 1\n", 0,
         "line 1: version is 'stsv1', not STSv1"},
        {"version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n", 0,
         "line 2: mode 'Enforce' is not enforce, testing or none"},
        {"version: STSv1\nmode: reject\nmx: a.example\nmax_age: 1\n", 0,
         "line 2: mode 'reject' is not enforce, testing or none"},
        {"version: STSv1\nmode: \nmax_age: 1\n", 0,
         "line 2: mode '' is not enforce, testing or none"},
        {"version: STSv1\nmode: enforce\nmax_age: 86400\n", 0,
         "the policy has mode enforce but no mx field"},
        {"version: STSv1\nmode: testing\nmax_age: 86400\n", 0,
         "the policy has mode testing but no mx field"},
        {"version: STSv1\nmx: a.example\nmax_age: 86400\n", 0,
         "the policy has no mode field"},
        {"version: STSv1\nmode: none\n", 0, "the policy has no max_age field"},
        {"version: STSv1\nmode: none\nmax_age: 31557601\n", 0,
         "line 3: max_age 31557601 is more than 31557600 seconds"},
        {"version: STSv1\nmode: none\nmax_age: 9999999999\n", 0,
         "line 3: max_age 9999999999 is more than 31557600 seconds"},
        {"version: STSv1\nmode: none\nmax_age: 00000000001\n", 0,
         "line 3: max_age '00000000001' is not a number of seconds (1 to 10 "
         "digits)"},
        {"version: STSv1\nmode: none\nmax_age: 1d\n", 0,
         "line 3: max_age '1d' is not a number of seconds"},
        {"version: STSv1\nmode: none\nmax_age: -1\n", 0,
         "line 3: max_age '-1' is not a number of seconds"},
        {"version: STSv1\nmode: none\nmax_age: 1 2\n", 0,
         "line 3: max_age '1 2' is not a number of seconds"},
        {"version: STSv1\nmode: none\nmax_age:\n", 0,
         "line 3: max_age '' is not a number of seconds"},
        /* a bad first of a field counts, whatever a second says */
        {"version: STSv1\nmode: bogus\nmode: none\nmax_age: 1\n", 0,
         "line 2: mode 'bogus' is not enforce, testing or none"},
        {"version: STSv1\nmode: none\x00\nmax_age: 1\n", 33,
         "line 2: control byte 0x00 at column 11"},
        {"version: STSv1\nmode: none\nmax_age: 1\n\x01\x02\xff", 0,
         "line 4: control byte 0x01 at column 1"},
        {"version: STSv1\nmode: none\nmax_age: 1\nx: \xff\xfe\n", 0,
         "line 4: byte 0xff at column 4 is not UTF-8"},
        {"version: STSv1\rmode: none\nmax_age: 1\n", 0,
         "line 1: control byte 0x0d at column 15"},
        {"version: STSv1\nmode none\nmax_age: 1\n", 0,
         "line 2 has no ':' (expected key: value): 'mode none'"},
        {"version: STSv1\nmode : none\nmax_age: 1\n", 0,
         "line 2: 'mode ' is no key"},
        {" version: STSv1\nmode: none\nmax_age: 1\n", 0,
         "line 1: ' version' is no key"},
        {"version: STSv1\n: none\nmax_age: 1\n", 0, "line 2: '' is no key"},
        {"\xef\xbb\xbfversion: STSv1\r\nmode: none\r\nmax_age: 1\r\n", 0,
         "line 1 begins with a UTF-8 byte order mark (EF BB BF)"},
        {"version: STSv1\nMode: none\nmax_age: 1\n", 0,
         "the policy has no mode field (line 2 writes it in another case, "
         "which senders ignore: keys are case-sensitive)"},
        {"version: STSv1\nmode: enforce\nMX: a.example\nmax_age: 1\n", 0,
         "the policy has mode enforce but no mx field (line 3 writes it in "
         "another case"},
        {"version: STSv1\nmode: enforce\nmx: mx..example.com\nmax_age: 1\n", 0,
         "line 3: mx 'mx..example.com' is not a domain name or '*.' and a "
         "domain name"},
        {"version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", 0,
         "line 3: mx '*' is not a domain name"},
        {"version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n", 0,
         "line 3: mx 'a.*.example' is not a domain name"},
        {"version: STSv1\nmode: enforce\nmx: mx_1.example\nmax_age: 1\n", 0,
         "line 3: mx 'mx_1.example' is not a domain name"},
        {"version: STSv1\nmode: enforce\nmx: a.example b.example\nmax_age: "
         "1\n",
         0, "line 3: mx 'a.example b.example' is not a domain name"},
        {"version: STSv1\nmode: enforce\nmx: mx.example.com.\nmax_age: 1\n", 0,
         "line 3: mx 'mx.example.com.' ends in a dot"},
        {"version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", 0,
         "line 3: mx '' is not a domain name"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct mta_sts_policy p;
        char err[256] = "";
        size_t len = t[i].len ? t[i].len : strlen(t[i].body);
        enum mta_sts_rc rc =
            mta_sts_policy_parse(t[i].body, len, &p, err, sizeof err);

        if (rc != MTA_STS_BAD)
            fail_msg("policy %zu: rc %d, expected MTA_STS_BAD ('%s')", i, rc,
                     err);
        if (strstr(err, t[i].why) == NULL)
            fail_msg("policy %zu: error '%s' lacks '%s'", i, err, t[i].why);
        assert_null(p.mx);
        assert_int_equal(p.n_mx, 0);
    }
}

/* RFC 8461 3.2: the fields come in any order (sts-policy-field is any of
 * them), and of a field other than mx given twice the first counts, the
 * others are ignored; which line repeated one is kept for a note. */
static void test_policy_order_and_duplicates(void **state)
{
    static const struct {
        const char *body;
        enum mta_sts_mode mode;
        long max_age;
        size_t n_mx;
        unsigned dup_line;
        const char *dup_key;
    } t[] = {
        {"mode: enforce\nversion: STSv1\nmx: mx.example.com\nmax_age: 1\n",
         MTA_STS_MODE_ENFORCE, 1, 1, 0, NULL},
        {"max_age: 86400\nmx: a.example\nmode: testing\nversion: STSv1\n",
         MTA_STS_MODE_TESTING, 86400, 1, 0, NULL},
        {"x-a: b\nversion: STSv1\nmode: none\nmax_age: 1\n", MTA_STS_MODE_NONE,
         1, 0, 0, NULL},
        {"version: STSv1\nmode: none\nmode: enforce\nmax_age: 1\n",
         MTA_STS_MODE_NONE, 1, 0, 3, "mode"},
        {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n"
         "mode: bogus\nmax_age: x\n",
         MTA_STS_MODE_ENFORCE, 86400, 1, 5, "mode"},
        {"version: STSv1\nmode: none\nmax_age: 1\nmax_age: 2\n",
         MTA_STS_MODE_NONE, 1, 0, 4, "max_age"},
        {"version: STSv1\r\nversion: STSv2\r\nmode: none\r\nmax_age: 1\r\n",
         MTA_STS_MODE_NONE, 1, 0, 2, "version"},
        /* a known key in another case is an extension to senders */
        {"version: STSv1\nmode: enforce\nmx: a.example\nMX: b.example\n"
         "Max_Age: 5\nmax_age: 86400\n",
         MTA_STS_MODE_ENFORCE, 86400, 1, 0, NULL},
        /* mx repeats by design: no note */
        {"version: STSv1\nmode: enforce\nmx: a.example\nmx: a.example\n"
         "max_age: 1\n",
         MTA_STS_MODE_ENFORCE, 1, 2, 0, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct mta_sts_policy p;
        char err[256] = "";
        enum mta_sts_rc rc = mta_sts_policy_parse(t[i].body, strlen(t[i].body),
                                                  &p, err, sizeof err);

        if (rc != MTA_STS_OK)
            fail_msg("policy %zu: rc %d: %s", i, rc, err);
        if (p.mode != t[i].mode || p.max_age != t[i].max_age ||
            p.n_mx != t[i].n_mx || p.dup_line != t[i].dup_line ||
            (t[i].dup_key == NULL) != (p.dup_key == NULL) ||
            (t[i].dup_key != NULL && strcmp(p.dup_key, t[i].dup_key) != 0))
            fail_msg("policy %zu: mode %s max_age %ld n_mx %zu dup %u %s", i,
                     mta_sts_mode_name(p.mode), p.max_age, p.n_mx, p.dup_line,
                     p.dup_key != NULL ? p.dup_key : "-");
        if (strstr(t[i].body, "MX: b") != NULL &&
            (p.case_line != 4 || p.case_key == NULL ||
             strcmp(p.case_key, "mx") != 0))
            fail_msg("policy %zu: case line %u", i, p.case_line);
        mta_sts_policy_free(&p);
    }
}

static void test_policy_oversized(void **state)
{
    size_t len = MTA_STS_POLICY_MAX + 1;
    char *body = malloc(len), err[256] = "";
    struct mta_sts_policy p;
    const char *head = "version: STSv1\nmode: none\nmax_age: 1\nx: ";

    (void)state;
    assert_non_null(body);
    memset(body, 'a', len);
    memcpy(body, head, strlen(head));
    assert_int_equal(mta_sts_policy_parse(body, len, &p, err, sizeof err),
                     MTA_STS_OVERSIZED);
    assert_non_null(strstr(err, "the policy is 65537 bytes, more than the "
                                "65536 accepted"));
    /* exactly the cap is fine */
    err[0] = '\0';
    assert_int_equal(
        mta_sts_policy_parse(body, MTA_STS_POLICY_MAX, &p, err, sizeof err),
        MTA_STS_OK);
    mta_sts_policy_free(&p);
    free(body);
}

/* Many mx lines: the array grows and is released. */
static void test_policy_many_mx(void **state)
{
    char body[8192], err[256] = "";
    size_t off = 0;
    struct mta_sts_policy p;

    (void)state;
    off += (size_t)snprintf(body + off, sizeof body - off,
                            "version: STSv1\nmode: enforce\n");
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(body + off, sizeof body - off,
                                "mx: mx%d.example.com\n", i);
    off += (size_t)snprintf(body + off, sizeof body - off, "max_age: 5\n");
    assert_int_equal(mta_sts_policy_parse(body, off, &p, err, sizeof err),
                     MTA_STS_OK);
    assert_int_equal(p.n_mx, 100);
    assert_string_equal(p.mx[99], "mx99.example.com");
    assert_true(mta_sts_mx_matches(&p, "MX42.example.com."));
    assert_false(mta_sts_mx_matches(&p, "mx100.example.com"));
    mta_sts_policy_free(&p);
    /* a failure after mx lines leaves nothing allocated */
    off -= strlen("max_age: 5\n");
    off += (size_t)snprintf(body + off, sizeof body - off, "max_age: x\n");
    assert_int_equal(mta_sts_policy_parse(body, off, &p, err, sizeof err),
                     MTA_STS_BAD);
    assert_null(p.mx);
    assert_non_null(strstr(err, "line 103: max_age 'x'"));
}

/* ---- mx matching ------------------------------------------------------ */

static void test_mx_match(void **state)
{
    static const struct {
        const char *pattern, *mx;
        int match;
    } t[] = {
        {"*.example.com", "mx1.example.com", 1},
        {"*.example.com", "MX1.EXAMPLE.COM", 1},
        {"*.example.com", "mx1.example.com.", 1},
        {"*.example.com", "example.com", 0},
        {"*.example.com", "a.b.example.com", 0},
        {"*.example.com", ".example.com", 0},
        {"*.example.com", "mx1.example.org", 0},
        {"*.example.com", "mx1example.com", 0},
        {"mx.example.com", "mx.example.com", 1},
        {"mx.example.com", "Mx.Example.Com.", 1},
        {"MX.example.com", "mx.example.com", 1},
        {"mx.example.com", "mx2.example.com", 0},
        {"mx.example.com", "a.mx.example.com", 0},
        {"mx.example.com", "mx.example.co", 0},
        {"mx.example.com", "", 0},
        {"mx.example.com", ".", 0},
        {"example.com", "mx.example.com", 0},
    };
    struct mta_sts_policy p;
    char err[256] = "";
    const char *body = "version: STSv1\nmode: enforce\nmx: mx.example.net\n"
                       "mx: *.example.com\nmax_age: 86400\n";

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (mta_sts_pattern_matches(t[i].pattern, t[i].mx) != t[i].match)
            fail_msg("'%s' against '%s': expected %d", t[i].pattern, t[i].mx,
                     t[i].match);
    assert_int_equal(
        mta_sts_policy_parse(body, strlen(body), &p, err, sizeof err),
        MTA_STS_OK);
    assert_true(mta_sts_mx_matches(&p, "mx.example.net"));
    assert_true(mta_sts_mx_matches(&p, "in1.example.com"));
    assert_false(mta_sts_mx_matches(&p, "example.com"));
    assert_false(mta_sts_mx_matches(&p, "a.b.example.com"));
    assert_false(mta_sts_mx_matches(&p, "mx.example.org"));
    assert_false(mta_sts_mx_matches(NULL, "mx.example.net"));
    mta_sts_policy_free(&p);
}

/* ---- _mta-sts TXT ----------------------------------------------------- */

static void test_sts_txt(void **state)
{
    static const struct {
        const char *txt;
        const char *id;  /* the id on success */
        const char *why; /* the error's words, NULL on success */
    } t[] = {
        {"v=STSv1; id=20160831085700Z;", "20160831085700Z", NULL},
        {"v=STSv1; id=20160831085700Z", "20160831085700Z", NULL},
        {"v=STSv1;id=abc", "abc", NULL},
        {"v=STSv1 ;  id=abc ; ", "abc", NULL},
        {"v=STSv1; ext_1=foo; id=ABCdef0123456789abcdef0123456789", /* 32 */
         "ABCdef0123456789abcdef0123456789", NULL},
        {"v=STSv1; id=1; x.y-z=a:b/c", "1", NULL},
        {"v=STSv2; id=abc", NULL, "does not begin with v=STSv1"},
        {"v=stsv1; id=abc", NULL, "does not begin with v=STSv1"},
        {"id=abc; v=STSv1", NULL, "does not begin with v=STSv1"},
        {"v=STSv10; id=abc", NULL, "does not begin with v=STSv1"},
        {"v=STSv1", NULL, "the record has no field after v=STSv1"},
        {"v=STSv1;", NULL, "the record has no field after v=STSv1"},
        {"v=STSv1; x=y", NULL, "the record has no id field"},
        {"v=STSv1; id=", NULL, "id '' is not 1 to 32 letters and digits"},
        {"v=STSv1; id=2016-08-31", NULL,
         "id '2016-08-31' is not 1 to 32 letters and digits"},
        {"v=STSv1; id=ABCdef0123456789abcdef01234567890", NULL, /* 33 */
         "is not 1 to 32 letters and digits"},
        {"v=STSv1; id=a b", NULL, "id 'a b' is not 1 to 32"},
        /* RFC 8461 3.2: the first of a repeated field, the rest ignored */
        {"v=STSv1; id=a; id=b", "a", NULL},
        {"v=STSv1; id=a; id=not-an-id", "a", NULL},
        {"v=STSv1; id=no-dash; id=a", NULL, "id 'no-dash' is not 1 to 32"},
        {"v=STSv1 id=abc", NULL, "'id=abc' follows v=STSv1 where ';' belongs"},
        {"v=STSv1; id", NULL, "field 'id' has no '='"},
        {"v=STSv1; id=a; _x=1", NULL, "'_x' is no field name"},
        {"v=STSv1; id=a; x=", NULL, "field x has the value ''"},
        {"v=STSv1; id=a; x=a b", NULL, "field x has the value 'a b'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct mta_sts_txt r;
        char err[256] = "";
        enum mta_sts_rc rc =
            mta_sts_txt_parse(t[i].txt, strlen(t[i].txt), &r, err, sizeof err);

        if (t[i].why == NULL) {
            if (rc != MTA_STS_OK || strcmp(r.id, t[i].id) != 0 ||
                /* a second "id=" in the record sets dup_id */
                r.dup_id !=
                    (strstr(strstr(t[i].txt, "id=") + 3, "id=") != NULL))
                fail_msg("'%s': rc %d id '%s' dup %d (%s)", t[i].txt, rc, r.id,
                         r.dup_id, err);
        } else if (rc != MTA_STS_BAD || strstr(err, t[i].why) == NULL) {
            fail_msg("'%s': rc %d, error '%s' lacks '%s'", t[i].txt, rc, err,
                     t[i].why);
        }
    }
}

static void test_sts_txt_select(void **state)
{
    const char *one[] = {"v=spf1 -all", "v=STSv1; id=abc1;", "hello"};
    const char *two[] = {"v=STSv1; id=abc1;", "v=STSv1; id=abc2;"};
    const char *none[] = {"v=spf1 -all", "v=STSv2; id=x"};
    const char *bad[] = {"v=STSv1; id=no-dash"};
    size_t lens[3], which = 99;
    struct mta_sts_txt r;
    char err[256] = "";

    (void)state;
    for (size_t i = 0; i < 3; i++)
        lens[i] = strlen(one[i]);
    assert_int_equal(
        mta_sts_txt_select(one, lens, 3, &which, &r, err, sizeof err),
        MTA_STS_OK);
    assert_int_equal(which, 1);
    assert_string_equal(r.id, "abc1");
    for (size_t i = 0; i < 2; i++)
        lens[i] = strlen(two[i]);
    assert_int_equal(
        mta_sts_txt_select(two, lens, 2, &which, &r, err, sizeof err),
        MTA_STS_SEVERAL);
    assert_string_equal(err, "2 TXT records begin with v=STSv1: senders "
                             "ignore them all (RFC 8461 3.1)");
    for (size_t i = 0; i < 2; i++)
        lens[i] = strlen(none[i]);
    assert_int_equal(
        mta_sts_txt_select(none, lens, 2, &which, &r, err, sizeof err),
        MTA_STS_NONE);
    assert_string_equal(err, "no TXT record begins with v=STSv1");
    assert_int_equal(
        mta_sts_txt_select(none, lens, 0, &which, &r, err, sizeof err),
        MTA_STS_NONE);
    lens[0] = strlen(bad[0]);
    assert_int_equal(
        mta_sts_txt_select(bad, lens, 1, &which, &r, err, sizeof err),
        MTA_STS_BAD);
    assert_non_null(strstr(err, "id 'no-dash' is not 1 to 32"));
}

/* ---- TLS-RPT ---------------------------------------------------------- */

static void test_tlsrpt(void **state)
{
    static const struct {
        const char *txt;
        const char *rua; /* the URIs on success, ' '-separated */
        const char *why; /* the error's words, NULL on success */
    } t[] = {
        {"v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
         "mailto:tlsrpt@example.com", NULL},
        {"v=TLSRPTv1;rua=mailto:a@example.com,https://r.example.com/tls",
         "mailto:a@example.com https://r.example.com/tls", NULL},
        {"v=TLSRPTv1; rua=mailto:a@example.com , HTTPS://r.example.com/x?y=1 ;",
         "mailto:a@example.com HTTPS://r.example.com/x?y=1", NULL},
        {"v=TLSRPTv1; ext=1; rua=mailto:a%21b@example.com",
         "mailto:a%21b@example.com", NULL},
        {"v=TLSRPTv1; rua=ftp://r.example.com/", NULL,
         "rua URI 'ftp://r.example.com/' is neither mailto: nor https:"},
        {"v=TLSRPTv1; rua=http://r.example.com/", NULL,
         "rua URI 'http://r.example.com/' is neither mailto: nor https:"},
        {"v=TLSRPTv1; rua=a@example.com", NULL,
         "is neither mailto: nor https:"},
        {"v=TLSRPTv1; rua=mailto:a@example.com!10m", NULL,
         "rua URI 'mailto:a@example.com!10m' has a '!'"},
        {"v=TLSRPTv1; rua=mailto:", NULL, "has no mail address after mailto:"},
        {"v=TLSRPTv1; rua=mailto:nobody", NULL,
         "has no mail address after mailto:"},
        {"v=TLSRPTv1; rua=https://", NULL, "has no host after https://"},
        {"v=TLSRPTv1; rua=https:/x", NULL, "has no host after https://"},
        {"v=TLSRPTv1; rua=mailto:a@example.com,", NULL, "rua has an empty URI"},
        {"v=TLSRPTv1; rua=", NULL, "rua has an empty URI"},
        {"v=TLSRPTv1; rua=mailto:a b@example.com", NULL,
         "has the character ' ', not allowed in a URI"},
        {"v=TLSRPTv1; rua=mailto:a%2@example.com", NULL, "has a bad %-escape"},
        {"v=TLSRPTv1; rua=mailto:a@x.example; rua=mailto:b@x.example", NULL,
         "the record has a second rua field"},
        {"v=TLSRPTv1", NULL, "the record has no field after v=TLSRPTv1"},
        {"v=TLSRPTv1; ext=1", NULL, "the record has no rua field"},
        {"v=TLSRPTv2; rua=mailto:a@example.com", NULL,
         "does not begin with v=TLSRPTv1"},
        {"v=tlsrptv1; rua=mailto:a@example.com", NULL,
         "does not begin with v=TLSRPTv1"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct tlsrpt_record r;
        char err[256] = "", rua[1024] = "";
        size_t off = 0;
        enum mta_sts_rc rc =
            tlsrpt_parse(t[i].txt, strlen(t[i].txt), &r, err, sizeof err);

        for (size_t k = 0; k < r.n_rua; k++)
            off += (size_t)snprintf(rua + off, sizeof rua - off, "%s%s",
                                    k ? " " : "", r.rua[k]);
        if (t[i].why == NULL) {
            if (rc != MTA_STS_OK || strcmp(rua, t[i].rua) != 0)
                fail_msg("'%s': rc %d rua '%s' (%s)", t[i].txt, rc, rua, err);
        } else if (rc != MTA_STS_BAD || strstr(err, t[i].why) == NULL) {
            fail_msg("'%s': rc %d, error '%s' lacks '%s'", t[i].txt, rc, err,
                     t[i].why);
        }
    }
}

static void test_tlsrpt_select(void **state)
{
    const char *two[] = {"v=TLSRPTv1; rua=mailto:a@example.com",
                         "v=TLSRPTv1; rua=mailto:b@example.com"};
    const char *one[] = {"v=spf1 -all", "v=TLSRPTv1; rua=mailto:b@example.com"};
    size_t lens[2] = {strlen(two[0]), strlen(two[1])}, which = 9;
    struct tlsrpt_record r;
    char err[256] = "", many[2048];
    size_t off;

    (void)state;
    assert_int_equal(tlsrpt_select(two, lens, 2, &which, &r, err, sizeof err),
                     MTA_STS_SEVERAL);
    assert_non_null(strstr(err, "2 TXT records begin with v=TLSRPTv1"));
    lens[0] = strlen(one[0]);
    lens[1] = strlen(one[1]);
    assert_int_equal(tlsrpt_select(one, lens, 2, &which, &r, err, sizeof err),
                     MTA_STS_OK);
    assert_int_equal(which, 1);
    assert_string_equal(r.rua[0], "mailto:b@example.com");
    assert_int_equal(tlsrpt_select(one, lens, 1, &which, &r, err, sizeof err),
                     MTA_STS_NONE);
    assert_string_equal(err, "no TXT record begins with v=TLSRPTv1");
    /* more URIs than kept: counted, all checked */
    off = (size_t)snprintf(many, sizeof many, "v=TLSRPTv1; rua=");
    for (int i = 0; i < 10; i++)
        off += (size_t)snprintf(many + off, sizeof many - off,
                                "%smailto:r%d@example.com", i ? "," : "", i);
    assert_int_equal(tlsrpt_parse(many, off, &r, err, sizeof err), MTA_STS_OK);
    assert_int_equal(r.n_rua, TLSRPT_MAX_RUA);
    assert_int_equal(r.n_rua_more, 10 - TLSRPT_MAX_RUA);
    off += (size_t)snprintf(many + off, sizeof many - off, ",gopher:x");
    assert_int_equal(tlsrpt_parse(many, off, &r, err, sizeof err), MTA_STS_BAD);
    assert_non_null(strstr(err, "'gopher:x' is neither mailto: nor https:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_good),
        cmocka_unit_test(test_policy_bad),
        cmocka_unit_test(test_policy_order_and_duplicates),
        cmocka_unit_test(test_policy_oversized),
        cmocka_unit_test(test_policy_many_mx),
        cmocka_unit_test(test_mx_match),
        cmocka_unit_test(test_sts_txt),
        cmocka_unit_test(test_sts_txt_select),
        cmocka_unit_test(test_tlsrpt),
        cmocka_unit_test(test_tlsrpt_select),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
