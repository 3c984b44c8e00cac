/*
 * fake_assert.c - cmocka assertions over the fake core's captured result
 * (fake_assert.h), shared by the plugin tests rather than copied into
 * each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_assert.h"
#include "fake_core.h"

void fake_dump(void)
{
    print_message("state %d, summary: %s\n", (int)fake_state(), fake_summary());
    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;
        const char *d = fake_detail(i, &st);

        print_message("detail [%d]: %s\n", (int)st, d);
    }
}

static size_t count(const char *substr, int findings)
{
    size_t n = 0;

    for (size_t i = 0; i < fake_n_details(); i++) {
        enum mxp_state st;

        if (strstr(fake_detail(i, &st), substr) != NULL &&
            (!findings || st != MXP_STATE_OK))
            n++;
    }
    return n;
}

size_t fake_count_details(const char *substr)
{
    return count(substr, 0);
}

size_t fake_count_findings(const char *substr)
{
    return count(substr, 1);
}

/* cmocka's fail_msg, at the caller's file and line. */
static void fail_at(const char *file, int line)
{
    fake_dump();
    _fail(file, line);
}

void fake_assert_state_at(enum mxp_state want, const char *file, int line)
{
    if (fake_state() == want)
        return;
    print_error("state %d, want %d\n", (int)fake_state(), (int)want);
    fail_at(file, line);
}

void fake_assert_summary_at(const char *want, const char *file, int line)
{
    if (strcmp(fake_summary(), want) == 0)
        return;
    print_error("summary '%s', want '%s'\n", fake_summary(), want);
    fail_at(file, line);
}

void fake_assert_detail_at(const char *substr, enum mxp_state want,
                           const char *file, int line)
{
    enum mxp_state st;

    if (fake_detail_find(substr, &st) < 0) {
        print_error("no detail containing '%s'\n", substr);
        fail_at(file, line);
    } else if (st != want) {
        print_error("detail '%s': state %d, want %d\n", substr, (int)st,
                    (int)want);
        fail_at(file, line);
    }
}

void fake_assert_no_detail_at(const char *substr, const char *file, int line)
{
    if (fake_detail_find(substr, NULL) < 0)
        return;
    print_error("unexpected detail containing '%s'\n", substr);
    fail_at(file, line);
}
