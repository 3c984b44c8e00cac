/*
 * test_perfdata.c - perfdata and number formatting per the Monitoring
 * Plugins guidelines: label quoting, plain decimals, dropped trailing
 * fields, absent min/max.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "result.h"

static const struct {
    double v;
    const char *want;
} numbers[] = {
    {0, "0"},
    {0.5, "0.5"},
    {1e-7, "0"},
    {-1e-7, "0"},
    {-0.0, "0"},
    {12345678, "12345678"},
    {-3, "-3"},
    {1.25, "1.25"},
    {0.012, "0.012"},
    {2.500000, "2.5"},
    {100, "100"},
    {1e15, "1000000000000000"},
    {0.1234567, "0.123457"},
    {0.0000016, "0.000002"},
    {-0.75, "-0.75"},
    {NAN, "U"},
    {INFINITY, "U"},
    {-INFINITY, "U"},
};

static void test_format_number(void **state)
{
    char buf[MXP_NUMBER_MAX];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *got = mxp_format_number(numbers[i].v, buf, sizeof buf);

        assert_ptr_equal(got, buf);
        if (strcmp(got, numbers[i].want) != 0)
            fail_msg("%.10g: got \"%s\", expected \"%s\"", numbers[i].v, got,
                     numbers[i].want);
    }
}

static void test_format_number_bounds(void **state)
{
    char big[MXP_NUMBER_MAX], small[4];

    (void)state;
    /* the largest double fits the promised size without an exponent */
    mxp_format_number(1.7976931348623157e308, big, sizeof big);
    assert_int_equal(strlen(big), 309);
    assert_null(strchr(big, 'e'));
    /* a number that does not fit a small buffer is never cut short */
    assert_string_equal(mxp_format_number(12345, small, sizeof small), "U");
    assert_string_equal(mxp_format_number(123, small, sizeof small), "123");
}

struct perf_case {
    const char *label;
    double value;
    const char *uom, *warn, *crit;
    double min, max;
    const char *want;
};

static const struct perf_case perf_cases[] = {
    /* fields and trailing empty ones */
    {"banner_connect", 0.012, "s", NULL, NULL, 0, NAN,
     "banner_connect=0.012s;;;0"},
    {"relay_accepted", 3, NULL, NULL, "1", 0, 16, "relay_accepted=3;;1;0;16"},
    {"dnsbl_listed", 2, "", "1", "2", 0, 40, "dnsbl_listed=2;1;2;0;40"},
    {"tls_cert_days", 81, NULL, "14", "7", NAN, NAN, "tls_cert_days=81;14;7"},
    {"x", 1, NULL, "5", NULL, NAN, NAN, "x=1;5"},
    {"x", 1, NULL, NULL, NULL, NAN, NAN, "x=1"},
    {"x", 1, NULL, "", "", NAN, NAN, "x=1"},
    {"x", 1, NULL, NULL, NULL, NAN, 10, "x=1;;;;10"},
    {"x", 1, "%", "~:80", "@90:100", 0, 100, "x=1%;~:80;@90:100;0;100"},
    {"x", 50, "B", NULL, NULL, INFINITY, NAN, "x=50B"},
    /* numbers */
    {"n", 1e-7, NULL, NULL, NULL, -3, 12345678, "n=0;;;-3;12345678"},
    {"n", 0.5, NULL, NULL, NULL, 0.50, 2.000, "n=0.5;;;0.5;2"},
    {"n", NAN, "s", NULL, NULL, 0, NAN, "n=U;;;0"},
    /* label quoting */
    {"has space", 1, NULL, NULL, NULL, NAN, NAN, "'has space'=1"},
    {"a=b", 1, NULL, NULL, NULL, NAN, NAN, "'a=b'=1"},
    {"it's", 1, NULL, NULL, NULL, NAN, NAN, "'it''s'=1"},
    {"'", 1, NULL, NULL, NULL, NAN, NAN, "''''=1"},
    {"mx1.example.org::banner_connect", 1, NULL, NULL, NULL, NAN, NAN,
     "mx1.example.org::banner_connect=1"},
    /* what would break the Nagios line is replaced, not passed on */
    {"a|b\nc", 1, "s;|", "5; ", NULL, NAN, NAN, "a_b_c=1s;5"},
};

static void test_perf_format(void **state)
{
    struct mxp_buf b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof perf_cases / sizeof perf_cases[0]; i++) {
        const struct perf_case *c = &perf_cases[i];
        struct mxp_perfdatum p = {
            .label = (char *)c->label,
            .value = c->value,
            .uom = (char *)c->uom,
            .warn = (char *)c->warn,
            .crit = (char *)c->crit,
            .min = c->min,
            .max = c->max,
        };

        mxp_buf_init(&b);
        assert_int_equal(mxp_buf_puts(&b, "pre "), MXP_OK);
        assert_int_equal(mxp_perf_format(&b, &p), MXP_OK);
        /* it appends: what was there stays */
        assert_memory_equal(b.data, "pre ", 4);
        if (strcmp(b.data + 4, c->want) != 0)
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, b.data + 4,
                     c->want);
        assert_int_equal(b.len, 4 + strlen(c->want));
        mxp_buf_free(&b);
    }
}

static void test_perf_invalid(void **state)
{
    struct mxp_perfdatum p = {
        .label = NULL, .value = 1, .min = NAN, .max = NAN};
    struct mxp_buf b;

    (void)state;
    mxp_buf_init(&b);
    assert_int_equal(mxp_perf_format(&b, &p), MXP_ERR_INVALID);
    p.label = (char *)"";
    assert_int_equal(mxp_perf_format(&b, &p), MXP_ERR_INVALID);
    assert_int_equal(b.len, 0);
    mxp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_number),
        cmocka_unit_test(test_format_number_bounds),
        cmocka_unit_test(test_perf_format),
        cmocka_unit_test(test_perf_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
