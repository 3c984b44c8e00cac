/*
 * test_range.c - Monitoring Plugins ranges, threshold states and the
 * state precedence, as tables of cases (the guidelines' own examples).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "result.h"
#include "status.h"

static const double values[] = {-5, 0, 10, 11, 20, 21};
#define N_VALUES (sizeof values / sizeof values[0])

/* Each row: a range and whether it alerts for -5, 0, 10, 11, 20, 21. */
static const struct {
    const char *range;
    int alert[N_VALUES];
} alert_table[] = {
    {"10", {1, 0, 0, 1, 1, 1}},     /* outside 0..10 */
    {"10:", {1, 1, 0, 0, 0, 0}},    /* below 10 */
    {"~:10", {0, 0, 0, 1, 1, 1}},   /* above 10 */
    {"10:20", {1, 1, 0, 0, 0, 1}},  /* outside 10..20 */
    {"@10:20", {0, 0, 1, 1, 1, 0}}, /* inside 10..20 */
    /* beyond the guidelines' table, same grammar */
    {"@10", {0, 1, 1, 0, 0, 0}}, /* inside 0..10 */
    {"~:", {0, 0, 0, 0, 0, 0}},  /* everything is fine */
    {"@~:", {1, 1, 1, 1, 1, 1}}, /* nothing is */
    {"-5:-5", {0, 1, 1, 1, 1, 1}},
    {"10.5", {1, 0, 0, 1, 1, 1}},
    {"1e1:2e1", {1, 1, 0, 0, 0, 1}},
    {"+10:20.0", {1, 1, 0, 0, 0, 1}},
};

static void test_alert_table(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof alert_table / sizeof alert_table[0]; i++) {
        struct mxp_range r;

        if (mxp_range_parse(alert_table[i].range, &r) != MXP_OK)
            fail_msg("range \"%s\" did not parse", alert_table[i].range);
        for (j = 0; j < N_VALUES; j++) {
            int got = mxp_range_alert(&r, values[j]);

            if (got != alert_table[i].alert[j])
                fail_msg("range \"%s\" value %g: alert %d, expected %d",
                         alert_table[i].range, values[j], got,
                         alert_table[i].alert[j]);
        }
    }
}

static void test_parse_fields(void **state)
{
    struct mxp_range r;

    (void)state;
    assert_int_equal(mxp_range_parse("10", &r), MXP_OK);
    assert_true(r.start == 0 && r.end == 10);
    assert_false(r.start_inf || r.end_inf || r.inside);

    assert_int_equal(mxp_range_parse("10:", &r), MXP_OK);
    assert_true(r.start == 10 && r.end_inf && !r.start_inf);

    assert_int_equal(mxp_range_parse("~:10", &r), MXP_OK);
    assert_true(r.start_inf && !r.end_inf && r.end == 10);

    assert_int_equal(mxp_range_parse("@-1.5:2.25", &r), MXP_OK);
    assert_true(r.inside && r.start == -1.5 && r.end == 2.25);
}

static const char *const bad_ranges[] = {
    "",    "abc",  "20:10", "10:x", "@",     "10x",  "10:20x",
    " 10", "10 ",  "1:2:3", ":10",  "~",     "@@10", "10:~",
    "nan", "inf",  "0x10",  "1e",   "1e999", "-",    ".",
    "--1", "1..2", "10:-5", "-5",   "@:",    "~:~",  "1,5",
};

static void test_parse_errors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_ranges / sizeof bad_ranges[0]; i++) {
        struct mxp_range r = {.start = 42};

        if (mxp_range_parse(bad_ranges[i], &r) != MXP_ERR_INVALID)
            fail_msg("range \"%s\" should not parse", bad_ranges[i]);
        /* a failed parse leaves the output alone */
        assert_true(r.start == 42);
    }
    assert_int_equal(mxp_range_parse(NULL, NULL), MXP_ERR_INVALID);
}

static void test_nan_never_alerts(void **state)
{
    struct mxp_range r;

    (void)state;
    assert_int_equal(mxp_range_parse("@0:10", &r), MXP_OK);
    assert_false(mxp_range_alert(&r, NAN));
    assert_int_equal(mxp_range_parse("10", &r), MXP_OK);
    assert_false(mxp_range_alert(&r, NAN));
}

/* warn "10", crit "20": crit is checked first, either may be absent. */
static void test_thresholds(void **state)
{
    static const struct {
        int has_warn, has_crit;
        double value;
        enum mxp_state want;
    } cases[] = {
        {1, 1, 5, MXP_STATE_OK},        {1, 1, 15, MXP_STATE_WARNING},
        {1, 1, 25, MXP_STATE_CRITICAL}, {1, 1, -1, MXP_STATE_CRITICAL},
        {0, 1, 15, MXP_STATE_OK},       {0, 1, 25, MXP_STATE_CRITICAL},
        {1, 0, 25, MXP_STATE_WARNING},  {0, 0, 1e9, MXP_STATE_OK},
        {1, 1, 10, MXP_STATE_OK},       {1, 1, 20, MXP_STATE_WARNING},
    };
    struct mxp_range w, c;
    size_t i;

    (void)state;
    assert_int_equal(mxp_range_parse("10", &w), MXP_OK);
    assert_int_equal(mxp_range_parse("20", &c), MXP_OK);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum mxp_state got =
            mxp_thresholds_state(cases[i].has_warn ? &w : NULL,
                                 cases[i].has_crit ? &c : NULL, cases[i].value);

        if (got != cases[i].want)
            fail_msg("case %zu: value %g gave %d, expected %d", i,
                     cases[i].value, (int)got, (int)cases[i].want);
    }
}

/* A warning range that is wider than the critical one must not mask it:
 * "crit before warn". */
static void test_crit_before_warn(void **state)
{
    struct mxp_range w, c;

    (void)state;
    assert_int_equal(mxp_range_parse("@0:100", &w), MXP_OK);
    assert_int_equal(mxp_range_parse("@40:60", &c), MXP_OK);
    assert_int_equal(mxp_thresholds_state(&w, &c, 50), MXP_STATE_CRITICAL);
    assert_int_equal(mxp_thresholds_state(&w, &c, 10), MXP_STATE_WARNING);
    assert_int_equal(mxp_thresholds_state(&w, &c, 101), MXP_STATE_OK);
}

/* OK < UNKNOWN < WARNING < CRITICAL, whatever the argument order. */
static void test_state_worst(void **state)
{
    static const enum mxp_state rank[] = {
        MXP_STATE_OK, MXP_STATE_UNKNOWN, MXP_STATE_WARNING, MXP_STATE_CRITICAL};
    size_t i, j;

    (void)state;
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 4; j++) {
            enum mxp_state want = rank[i > j ? i : j];

            assert_int_equal(mxp_state_worst(rank[i], rank[j]), want);
            assert_int_equal(mxp_state_worst(rank[j], rank[i]), want);
        }
    }
    assert_string_equal(mxp_state_name(MXP_STATE_OK), "OK");
    assert_string_equal(mxp_state_name(MXP_STATE_WARNING), "WARNING");
    assert_string_equal(mxp_state_name(MXP_STATE_CRITICAL), "CRITICAL");
    assert_string_equal(mxp_state_name(MXP_STATE_UNKNOWN), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_table),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_nan_never_alerts),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_crit_before_warn),
        cmocka_unit_test(test_state_worst),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
