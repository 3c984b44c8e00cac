/*
 * test_ipc.c - job records survive the pipe intact, fed in any pieces;
 * corrupt streams and floods are caught.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;

    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)r;
    return n;
}

static void test_roundtrip_bytewise(void **state)
{
    int p[2];
    char buf[8192];
    size_t n, i;
    struct mxp_perf perf = {"greeting", 0.25, "s", "1", "2", 0, NAN};
    struct mxp_ipc_reader r;
    struct mxp_check_result res;

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(mxp_ipc_send_state_text(p[1], MXP_IPC_DETAIL,
                                             MXP_STATE_WARNING,
                                             "bad\033[31m name"),
                     MXP_OK);
    assert_int_equal(mxp_ipc_send_perf(p[1], "banner_greeting", &perf),
                     MXP_OK);
    assert_int_equal(mxp_ipc_send_transcript(p[1], 0.5, '<', "220 hi"),
                     MXP_OK);
    assert_int_equal(mxp_ipc_send_state_text(p[1], MXP_IPC_RESULT,
                                             MXP_STATE_CRITICAL, "done"),
                     MXP_OK);
    close(p[1]);
    n = read_all(p[0], buf, sizeof(buf));
    close(p[0]);

    memset(&res, 0, sizeof(res));
    mxp_ipc_reader_init(&r);
    for (i = 0; i < n; i++)
        assert_int_equal(mxp_ipc_feed(&r, buf + i, 1, &res), MXP_OK);
    assert_true(r.got_result);
    assert_int_equal(res.state, MXP_STATE_CRITICAL);
    assert_string_equal(res.summary, "done");
    assert_int_equal(res.n_details, 1);
    assert_int_equal(res.details[0].state, MXP_STATE_WARNING);
    /* The escape byte is neutralised on the way in. */
    assert_string_equal(res.details[0].text, "bad?[31m name");
    assert_int_equal(res.n_perf, 1);
    assert_string_equal(res.perf[0].label, "banner_greeting");
    assert_true(res.perf[0].value == 0.25);
    assert_string_equal(res.perf[0].uom, "s");
    assert_string_equal(res.perf[0].crit, "2");
    assert_true(res.perf[0].min == 0);
    assert_true(isnan(res.perf[0].max));
    assert_int_equal(res.n_transcript, 1);
    assert_true(res.transcript[0].t == 0.5);
    assert_int_equal(res.transcript[0].dir, '<');
    assert_string_equal(res.transcript[0].text, "220 hi");
    mxp_ipc_reader_free(&r);
    mxp_check_result_free(&res);
}

/* Fields (svc->add_field): text and number, a later value replacing,
 * bad keys and numbers refused by the parent. */
static void test_fields(void **state)
{
    static const char bad_key[] = {0,   0, 0,   0, 'F', 'C',
                                   'x', 0, 's', 0, 'v', 0};
    static const char bad_num[] = {0,   0, 0,   0, 'F', 'l', 'a',
                                   't', 0, 'n', 0, 'x', 0};
    static const char bad_kind[] = {0, 0, 0, 0, 'F', 'k', 0, 'q', 0, 'v', 0};
    const struct {
        const char *bytes;
        size_t len;
    } bad[] = {{bad_key, sizeof bad_key},
               {bad_num, sizeof bad_num},
               {bad_kind, sizeof bad_kind}};
    int p[2];
    char buf[8192];
    size_t n;
    struct mxp_ipc_reader r;
    struct mxp_check_result res;

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(mxp_ipc_send_field(p[1], "country", "DE", 0), MXP_OK);
    assert_int_equal(mxp_ipc_send_field(p[1], "lat", NULL, -12.5), MXP_OK);
    assert_int_equal(mxp_ipc_send_field(p[1], "city", "K\033ln", 0), MXP_OK);
    assert_int_equal(mxp_ipc_send_field(p[1], "country", "AT", 0), MXP_OK);
    close(p[1]);
    n = read_all(p[0], buf, sizeof(buf));
    close(p[0]);
    memset(&res, 0, sizeof(res));
    mxp_ipc_reader_init(&r);
    assert_int_equal(mxp_ipc_feed(&r, buf, n, &res), MXP_OK);
    assert_int_equal(res.n_fields, 3);
    assert_string_equal(res.fields[0].key, "country");
    assert_string_equal(res.fields[0].text, "AT");
    assert_string_equal(res.fields[1].key, "lat");
    assert_null(res.fields[1].text);
    assert_true(res.fields[1].number == -12.5);
    assert_string_equal(res.fields[2].text, "K?ln");
    mxp_ipc_reader_free(&r);
    mxp_check_result_free(&res);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char rec[64];
        uint32_t len = (uint32_t)(bad[i].len - 4);

        memcpy(rec, bad[i].bytes, bad[i].len);
        memcpy(rec, &len, 4);
        memset(&res, 0, sizeof(res));
        mxp_ipc_reader_init(&r);
        assert_int_equal(mxp_ipc_feed(&r, rec, bad[i].len, &res),
                         MXP_ERR_PROTOCOL);
        mxp_ipc_reader_free(&r);
        mxp_check_result_free(&res);
    }
}

static void test_corrupt_streams(void **state)
{
    struct {
        const char *what;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"zero length", "\0\0\0\0", 4},
        {"huge length", "\xff\xff\xff\x7f" "R", 5},
        {"unknown type", "\x02\0\0\0" "Zx", 6},
        {"bad state", "\x02\0\0\0" "R\x09", 6},
        {"perf short of fields", "\x04\0\0\0" "Pa\0b", 8},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mxp_ipc_reader r;
        struct mxp_check_result res;
        memset(&res, 0, sizeof(res));
        mxp_ipc_reader_init(&r);
        if (mxp_ipc_feed(&r, cases[i].bytes, cases[i].len, &res) !=
            MXP_ERR_PROTOCOL)
            fail_msg("%s: not refused", cases[i].what);
        mxp_ipc_reader_free(&r);
        mxp_check_result_free(&res);
    }
}

static void test_flood_is_capped(void **state)
{
    struct mxp_ipc_reader r;
    struct mxp_check_result res;
    char *chunk = calloc(1, 4 + 65535);
    size_t i;

    (void)state;
    assert_non_null(chunk);
    memset(&res, 0, sizeof(res));
    mxp_ipc_reader_init(&r);
    /* Records of 64 KiB - 1 detail text each: "\xff\xff\0\0" 'D' state. */
    for (i = 0; i < 100 && !r.overflow; i++) {
        uint32_t len = 65535;
        memcpy(chunk, &len, 4);
        chunk[4] = 'D';
        chunk[5] = 0;
        memset(chunk + 6, 'x', 65535 - 2);
        assert_int_equal(mxp_ipc_feed(&r, chunk, 4 + 65535, &res), MXP_OK);
    }
    assert_true(r.overflow);
    assert_true(res.n_details < 100);
    mxp_ipc_reader_free(&r);
    mxp_check_result_free(&res);
    free(chunk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_bytewise),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_corrupt_streams),
        cmocka_unit_test(test_flood_is_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
