/*
 * test_smtp_reply.c - the incremental SMTP reply parser (smtp_reply.c).
 *
 * One table of replies, each parsed twice: in one feed and one byte at a
 * time, which must agree.  Caps (line length, line count, reply size) and
 * RFC 3463 enhanced codes have tests of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_reply.h"

/* cmocka 1.1 has no per-assert message: name the case before failing. */
static const char *current;
#define SAY_CASE(ok)                                                           \
    do {                                                                       \
        if (!(ok))                                                             \
            print_error("in case '%s':\n", current);                           \
    } while (0)
#define CHECK_INT(a, b)                                                        \
    do {                                                                       \
        SAY_CASE((a) == (b));                                                  \
        assert_int_equal(a, b);                                                \
    } while (0)
#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        SAY_CASE(strcmp(a, b) == 0);                                           \
        assert_string_equal(a, b);                                             \
    } while (0)

#define ANY SIZE_MAX           /* consumed count not checked */
#define IN(s) s, sizeof(s) - 1 /* keeps NUL bytes inside the literal */

struct reply_case {
    const char *name;
    const char *input;
    size_t len;
    enum mxp_reply_step step;
    size_t consumed;
    int code;
    const char *enhanced;
    size_t n_lines;
    const char *lines[4];
};

/* clang-format off */
static const struct reply_case cases[] = {
    {"single line", IN("220 mx.example ESMTP\r\n"), MXP_REPLY_DONE, 22, 220,
     "", 1, {"mx.example ESMTP"}},
    {"multi-line", IN("250-mx.example\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"),
     MXP_REPLY_DONE, 45, 250, "", 3, {"mx.example", "SIZE 1000", "8BITMIME"}},
    {"code alone ends a reply", IN("250\r\n"), MXP_REPLY_DONE, 5, 250, "", 1,
     {""}},
    {"code and space", IN("250 \r\n"), MXP_REPLY_DONE, 6, 250, "", 1, {""}},
    {"empty continuation", IN("250-\r\n250 ok\r\n"), MXP_REPLY_DONE, 14, 250,
     "", 2, {"", "ok"}},
    {"bare LF", IN("250-a\n250 b\n"), MXP_REPLY_DONE, 12, 250, "", 2,
     {"a", "b"}},
    {"incomplete last line", IN("250-a\r\n250 b"), MXP_REPLY_MORE, 12, 250,
     "", 1, {"a"}},
    {"incomplete after continuation", IN("250-a\r\n"), MXP_REPLY_MORE, 7,
     250, "", 1, {"a"}},
    {"two replies in one buffer", IN("250 a\r\n354 go\r\n"), MXP_REPLY_DONE,
     7, 250, "", 1, {"a"}},
    {"NUL and ESC in text", IN("220 a\0b\x1b[c\r\n"), MXP_REPLY_DONE, 12,
     220, "", 1, {"a?b?[c"}},
    {"CR inside a line", IN("220 a\rb\r\n"), MXP_REPLY_DONE, 9, 220, "", 1,
     {"a?b"}},
    {"high bytes", IN("220 caf\xc3\xa9\r\n"), MXP_REPLY_DONE, 11, 220, "",
     1, {"caf??"}},
    {"lowest code", IN("200 x\r\n"), MXP_REPLY_DONE, 7, 200, "", 1, {"x"}},
    {"highest code", IN("599 x\r\n"), MXP_REPLY_DONE, 7, 599, "", 1, {"x"}},

    /* Codes: three digits, the first 2..5, then SP, '-' or end. */
    {"letter in code", IN("2x0 x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"first digit 6", IN("600 x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"first digit 1", IN("199 x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"first digit 0", IN("050 x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"two digits", IN("25\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0, {NULL}},
    {"four digits", IN("2500 x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"letters", IN("xyzzy\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0, {NULL}},
    {"bad separator", IN("250_x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"leading space", IN(" 250 x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"empty line", IN("\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0, {NULL}},
    {"NUL in code", IN("2\0000 x\r\n"), MXP_REPLY_MALFORMED, ANY, 0, "", 0,
     {NULL}},
    {"codes differ", IN("250-a\r\n251 b\r\n"), MXP_REPLY_MALFORMED, ANY,
     250, "", 1, {"a"}},
    {"codes differ in class", IN("250-a\r\n550 b\r\n"), MXP_REPLY_MALFORMED,
     ANY, 250, "", 1, {"a"}},
    {"malformed second line", IN("250-a\r\nb\r\n"), MXP_REPLY_MALFORMED,
     ANY, 250, "", 1, {"a"}},

    /* Enhanced codes (RFC 3463) come from the first line only. */
    {"enhanced", IN("550 5.1.1 <x@y>: unknown\r\n"), MXP_REPLY_DONE, ANY,
     550, "5.1.1", 1, {"5.1.1 <x@y>: unknown"}},
    {"enhanced alone", IN("250 2.0.0\r\n"), MXP_REPLY_DONE, ANY, 250,
     "2.0.0", 1, {"2.0.0"}},
    {"enhanced 3-digit parts", IN("451 4.123.456 later\r\n"),
     MXP_REPLY_DONE, ANY, 451, "4.123.456", 1, {"4.123.456 later"}},
    {"enhanced first line wins", IN("250-2.1.0 a\r\n250 2.1.5 b\r\n"),
     MXP_REPLY_DONE, ANY, 250, "2.1.0", 2, {"2.1.0 a", "2.1.5 b"}},
    {"enhanced only on a later line", IN("250-a\r\n250 2.1.5 b\r\n"),
     MXP_REPLY_DONE, ANY, 250, "", 2, {"a", "2.1.5 b"}},
    {"enhanced class 3", IN("550 3.1.1 x\r\n"), MXP_REPLY_DONE, ANY, 550,
     "", 1, {"3.1.1 x"}},
    {"enhanced two parts", IN("550 5.1 x\r\n"), MXP_REPLY_DONE, ANY, 550,
     "", 1, {"5.1 x"}},
    {"enhanced 4-digit part", IN("550 5.1.1000 x\r\n"), MXP_REPLY_DONE, ANY,
     550, "", 1, {"5.1.1000 x"}},
    {"enhanced glued to text", IN("550 5.1.1x\r\n"), MXP_REPLY_DONE, ANY,
     550, "", 1, {"5.1.1x"}},
    {"IP address is no code", IN("220 4.5.6.7 ready\r\n"), MXP_REPLY_DONE,
     ANY, 220, "", 1, {"4.5.6.7 ready"}},
};
/* clang-format on */

static void check_result(const struct reply_case *c,
                         const struct mxp_reply_parser *p,
                         enum mxp_reply_step step, size_t consumed)
{
    size_t i;

    current = c->name;
    CHECK_INT(step, c->step);
    if (c->consumed != ANY)
        CHECK_INT(consumed, c->consumed);
    CHECK_INT(p->n_lines, c->n_lines);
    for (i = 0; i < c->n_lines; i++)
        CHECK_STR(p->lines[i], c->lines[i]);
    if (step == MXP_REPLY_DONE || c->n_lines > 0)
        CHECK_INT(p->code, c->code);
    CHECK_STR(p->enhanced, c->enhanced);
    if (step >= MXP_REPLY_MALFORMED) {
        SAY_CASE(p->error_line != NULL);
        assert_non_null(p->error_line);
        assert_true(strlen(p->error_line) <= 60);
    }
}

static void test_table_one_feed(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mxp_reply_parser p;
        size_t consumed;
        enum mxp_reply_step step;

        mxp_reply_parser_init(&p);
        step =
            mxp_reply_parser_feed(&p, cases[i].input, cases[i].len, &consumed);
        check_result(&cases[i], &p, step, consumed);
        mxp_reply_parser_free(&p);
    }
}

static void test_table_byte_at_a_time(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mxp_reply_parser p;
        enum mxp_reply_step step = MXP_REPLY_MORE;
        size_t total = 0, j, consumed;

        mxp_reply_parser_init(&p);
        for (j = 0; j < cases[i].len && step == MXP_REPLY_MORE; j++) {
            step = mxp_reply_parser_feed(&p, cases[i].input + j, 1, &consumed);
            assert_true(consumed <= 1);
            total += consumed;
        }
        check_result(&cases[i], &p, step, total);
        mxp_reply_parser_free(&p);
    }
}

static void test_error_line(void **state)
{
    struct mxp_reply_parser p;
    char line[200];
    size_t consumed;

    (void)state;
    mxp_reply_parser_init(&p);
    assert_int_equal(
        mxp_reply_parser_feed(&p, IN("250-a\r\n251 b\r\n"), &consumed),
        MXP_REPLY_MALFORMED);
    assert_string_equal(p.error_line, "251 b");
    mxp_reply_parser_reset(&p);

    memset(line, 'x', 100);
    memcpy(line + 100, "\0\r\n", 3);
    assert_int_equal(mxp_reply_parser_feed(&p, line, 103, &consumed),
                     MXP_REPLY_MALFORMED);
    assert_int_equal(strlen(p.error_line), 60);
    assert_memory_equal(p.error_line, "xxxxx", 5);
    assert_string_equal(p.error_line + 57, "...");
    mxp_reply_parser_reset(&p);

    assert_int_equal(mxp_reply_parser_feed(&p, IN("\x1b[2J\0\r\n"), &consumed),
                     MXP_REPLY_MALFORMED);
    assert_string_equal(p.error_line, "?[2J?");
    mxp_reply_parser_free(&p);
}

/* After DONE or an error the parser stays put until reset. */
static void test_sticky_and_reset(void **state)
{
    static const char two[] = "250 a\r\n354 go\r\n";
    struct mxp_reply_parser p;
    size_t consumed;

    (void)state;
    mxp_reply_parser_init(&p);
    assert_int_equal(mxp_reply_parser_feed(&p, two, sizeof(two) - 1, &consumed),
                     MXP_REPLY_DONE);
    assert_int_equal(consumed, 7);
    assert_int_equal(mxp_reply_parser_feed(&p, two + 7, 8, &consumed),
                     MXP_REPLY_DONE);
    assert_int_equal(consumed, 0);
    assert_int_equal(p.code, 250);

    mxp_reply_parser_reset(&p);
    assert_int_equal(mxp_reply_parser_feed(&p, two + 7, 8, &consumed),
                     MXP_REPLY_DONE);
    assert_int_equal(consumed, 8);
    assert_int_equal(p.code, 354);
    assert_string_equal(p.lines[0], "go");

    mxp_reply_parser_reset(&p);
    assert_int_equal(mxp_reply_parser_feed(&p, IN("bad\r\n"), &consumed),
                     MXP_REPLY_MALFORMED);
    assert_int_equal(mxp_reply_parser_feed(&p, IN("250 ok\r\n"), &consumed),
                     MXP_REPLY_MALFORMED);
    assert_int_equal(consumed, 0);
    mxp_reply_parser_free(&p);
}

/* Builds "250 " + fill + terminator, total bytes long. */
static char *make_line(size_t total, const char *term)
{
    size_t tl = strlen(term);
    char *s = malloc(total);

    assert_non_null(s);
    assert_true(total >= 4 + tl);
    memcpy(s, "250 ", 4);
    memset(s + 4, 'A', total - 4 - tl);
    memcpy(s + total - tl, term, tl);
    return s;
}

static void test_line_length_boundary(void **state)
{
    static const struct {
        size_t total;
        const char *term;
        enum mxp_reply_step step;
    } t[] = {
        {MXP_SMTP_MAX_LINE, "\r\n", MXP_REPLY_DONE},
        {MXP_SMTP_MAX_LINE, "\n", MXP_REPLY_DONE},
        {MXP_SMTP_MAX_LINE + 1, "\r\n", MXP_REPLY_LINE_TOO_LONG},
        {MXP_SMTP_MAX_LINE + 1, "\n", MXP_REPLY_LINE_TOO_LONG},
    };
    size_t i, chunk;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        /* Whole, and in chunks that split the line at odd places. */
        for (chunk = 1; chunk <= 4096; chunk = chunk * 7 + 1) {
            struct mxp_reply_parser p;
            char *line = make_line(t[i].total, t[i].term);
            enum mxp_reply_step step = MXP_REPLY_MORE;
            size_t pos = 0, consumed;

            mxp_reply_parser_init(&p);
            while (pos < t[i].total && step == MXP_REPLY_MORE) {
                size_t n = t[i].total - pos < chunk ? t[i].total - pos : chunk;
                step = mxp_reply_parser_feed(&p, line + pos, n, &consumed);
                pos += n;
            }
            current = "line length boundary";
            if (step != t[i].step)
                print_error("total %zu chunk %zu\n", t[i].total, chunk);
            assert_int_equal(step, t[i].step);
            if (step == MXP_REPLY_DONE)
                assert_int_equal(strlen(p.lines[0]),
                                 t[i].total - 4 - strlen(t[i].term));
            mxp_reply_parser_free(&p);
            free(line);
        }
    }
}

/* A 1 MiB line fails once the cap is passed, without being buffered. */
static void test_huge_line(void **state)
{
    const size_t size = 1024 * 1024;
    char *big = malloc(size);
    struct mxp_reply_parser p;
    size_t consumed, fed = 0;
    enum mxp_reply_step step = MXP_REPLY_MORE;

    (void)state;
    assert_non_null(big);
    memcpy(big, "250 ", 4);
    memset(big + 4, 'A', size - 4);

    mxp_reply_parser_init(&p);
    step = mxp_reply_parser_feed(&p, big, size, &consumed);
    assert_int_equal(step, MXP_REPLY_LINE_TOO_LONG);
    assert_true(consumed <= MXP_SMTP_MAX_LINE);
    assert_true(p.partial.cap <= 2 * MXP_SMTP_MAX_LINE);
    assert_non_null(p.error_line);
    assert_memory_equal(p.error_line, "250 AAAA", 8);
    assert_true(strlen(p.error_line) <= 60);
    mxp_reply_parser_free(&p);

    /* As the network would deliver it: 1 KiB reads. */
    mxp_reply_parser_init(&p);
    while (step == MXP_REPLY_MORE || fed == 0) {
        step = mxp_reply_parser_feed(&p, big + fed, 1024, &consumed);
        fed += 1024;
        assert_true(fed <= size);
    }
    assert_int_equal(step, MXP_REPLY_LINE_TOO_LONG);
    assert_true(fed <= MXP_SMTP_MAX_LINE + 1024);
    assert_true(p.partial.len <= MXP_SMTP_MAX_LINE);
    mxp_reply_parser_free(&p);
    free(big);
}

/* n lines "250-x" (the last "250 x" when last is set). */
static enum mxp_reply_step feed_lines(struct mxp_reply_parser *p, size_t n,
                                      int last, size_t fill)
{
    enum mxp_reply_step step = MXP_REPLY_MORE;
    char *line = malloc(fill + 7);
    size_t i, consumed;

    assert_non_null(line);
    memcpy(line, "250-", 4);
    memset(line + 4, 'x', fill);
    memcpy(line + 4 + fill, "\r\n", 2);
    for (i = 0; i < n && step == MXP_REPLY_MORE; i++) {
        if (last && i + 1 == n)
            line[3] = ' ';
        step = mxp_reply_parser_feed(p, line, fill + 6, &consumed);
    }
    free(line);
    return step;
}

static void test_line_count_cap(void **state)
{
    struct mxp_reply_parser p;

    (void)state;
    mxp_reply_parser_init(&p);
    assert_int_equal(feed_lines(&p, MXP_SMTP_MAX_LINES, 1, 1), MXP_REPLY_DONE);
    assert_int_equal(p.n_lines, MXP_SMTP_MAX_LINES);
    mxp_reply_parser_reset(&p);

    assert_int_equal(feed_lines(&p, MXP_SMTP_MAX_LINES + 1, 1, 1),
                     MXP_REPLY_TOO_MANY_LINES);
    mxp_reply_parser_reset(&p);

    /* An endless "250-" stream stops at the cap. */
    assert_int_equal(feed_lines(&p, 100000, 0, 1), MXP_REPLY_TOO_MANY_LINES);
    assert_int_equal(p.n_lines, MXP_SMTP_MAX_LINES);
    mxp_reply_parser_free(&p);
}

static void test_reply_size_cap(void **state)
{
    struct mxp_reply_parser p;

    (void)state;
    mxp_reply_parser_init(&p);
    /* 40 lines of 2000 bytes: under the line caps, over 64 KiB. */
    assert_int_equal(feed_lines(&p, 40, 1, 1994), MXP_REPLY_TOO_BIG);
    assert_true(p.reply_bytes <= MXP_SMTP_MAX_REPLY);
    mxp_reply_parser_reset(&p);
    /* 32 such lines fit. */
    assert_int_equal(feed_lines(&p, 32, 1, 1994), MXP_REPLY_DONE);
    mxp_reply_parser_free(&p);
}

static void test_enhanced_code_table(void **state)
{
    static const struct {
        const char *text;
        const char *code; /* "" when none */
    } t[] = {
        {"2.0.0", "2.0.0"},
        {"2.0.0 Ok", "2.0.0"},
        {"5.7.1 relay denied", "5.7.1"},
        {"4.4.2 timeout", "4.4.2"},
        {"5.999.999 x", "5.999.999"},
        {"3.0.0 x", ""},
        {"1.0.0 x", ""},
        {"5.1 x", ""},
        {"5..1 x", ""},
        {"5.1. x", ""},
        {"5.1000.1 x", ""},
        {"5.1.1000", ""},
        {"5.1.1.1", ""},
        {"5.1.1,", ""},
        {"x5.1.1", ""},
        {" 5.1.1", ""},
        {"", ""},
    };
    size_t i;
    char out[16];

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t n = mxp_parse_enhanced_code(t[i].text, out);

        current = t[i].text;
        CHECK_STR(out, t[i].code);
        CHECK_INT(n, strlen(t[i].code));
    }
}

static void test_step_names(void **state)
{
    (void)state;
    assert_string_equal(mxp_reply_step_name(MXP_REPLY_DONE), "done");
    assert_string_equal(mxp_reply_step_name(MXP_REPLY_LINE_TOO_LONG),
                        "line too long");
}

/* What a refusal speaks of: the words servers use, and X.1.7/X.1.8 for
 * the sender, with or without the reply code in front. */
static void test_reply_about(void **state)
{
    static const struct {
        int code;
        const char *text;
        unsigned about;
    } t[] = {
        {554, "554 5.7.1 <x@example.net>: Relay access denied",
         MXP_ABOUT_RELAYING},
        {454, "4.7.1 <x@example.net>: Relay access denied",
         MXP_ABOUT_RELAYING},
        {550, "5.7.1 Unable to relay for x@example.net", MXP_ABOUT_RELAYING},
        {550, "550 5.1.8", MXP_ABOUT_SENDER},
        {450, "450 4.1.8 <a@b>: Sender address rejected: Domain not found",
         MXP_ABOUT_SENDER},
        {553, "5.1.7 bad sender", MXP_ABOUT_SENDER},
        {250, "250 2.1.8 odd", 0},
        {550, "550 x.1.8 odd", 0},
        {550, "550 5.1.80 odd", 0},
        {504, "504 5.5.2 <x>: Sender address rejected: need "
              "fully-qualified address", MXP_ABOUT_SENDER},
        {504, "504 5.5.2 <x>: Recipient address rejected: need "
              "fully-qualified address",
         MXP_ABOUT_RECIPIENT | MXP_ABOUT_SENDER},
        {554, "554 5.1.8 <x@example.net>: Relay access denied",
         MXP_ABOUT_RELAYING | MXP_ABOUT_SENDER},
        {550, "550 5.1.1 <x>: Recipient address rejected: User unknown",
         MXP_ABOUT_RECIPIENT},
        {450, "450 4.7.1 greylisted, try again later", 0},
        {550, "", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (mxp_reply_about(t[i].code, t[i].text) != t[i].about)
            fail_msg("'%s': %u, expected %u", t[i].text,
                     mxp_reply_about(t[i].code, t[i].text), t[i].about);
    assert_int_equal(mxp_reply_about(550, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_one_feed),
        cmocka_unit_test(test_table_byte_at_a_time),
        cmocka_unit_test(test_error_line),
        cmocka_unit_test(test_sticky_and_reset),
        cmocka_unit_test(test_line_length_boundary),
        cmocka_unit_test(test_huge_line),
        cmocka_unit_test(test_line_count_cap),
        cmocka_unit_test(test_reply_size_cap),
        cmocka_unit_test(test_enhanced_code_table),
        cmocka_unit_test(test_step_names),
        cmocka_unit_test(test_reply_about),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
