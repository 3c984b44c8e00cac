/*
 * test_runner.c - the asynchronous runner: several targets in flight in
 * one poll loop, each with its own deadline; a hung plugin costs only its
 * own target's deadline; a plugin child keeps no fd of the other runs;
 * the open-file limit and -j.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "runner.h"
#include "schedule.h"

/* The plugins run in forked children of this test: the port of the
 * target says how many milliseconds "sleepy" takes. */
static int quick_run(struct mxp_ctx *ctx, void *state)
{
    (void)state;
    ctx->svc->set_result(ctx, MXP_STATE_OK, "done");
    return MXP_OK;
}

static int sleepy_run(struct mxp_ctx *ctx, void *state)
{
    struct timespec ts = {0, (long)ctx->target->port * 1000000L};

    (void)state;
    nanosleep(&ts, NULL);
    ctx->svc->set_result(ctx, MXP_STATE_WARNING, "slept");
    return MXP_OK;
}

static int hang_run(struct mxp_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    for (;;)
        pause();
    return MXP_OK;
}

/* fd numbers the "fds" plugin looks at in its child. */
static int fd_above = -1, fd_below = -1;

static int fds_run(struct mxp_ctx *ctx, void *state)
{
    int above = fcntl(fd_above, F_GETFD) >= 0;
    int below = fcntl(fd_below, F_GETFD) >= 0;

    (void)state;
    if (!above && below)
        ctx->svc->set_result(ctx, MXP_STATE_OK, "clean");
    else
        ctx->svc->set_result(ctx, MXP_STATE_CRITICAL,
                             above ? "inherited a pipe of another run"
                                   : "lost an fd below the floor");
    return MXP_OK;
}

#define PLUGIN(var, nm, fn)                                                    \
    static const struct mxp_plugin var = {.abi_major = MXP_ABI_MAJOR,          \
                                          .abi_minor = MXP_ABI_MINOR,          \
                                          .struct_size = sizeof(var),          \
                                          .name = nm,                          \
                                          .summary = "test",                   \
                                          .run = fn}
PLUGIN(quick_desc, "quick", quick_run);
PLUGIN(sleepy_desc, "sleepy", sleepy_run);
PLUGIN(hang_desc, "hang", hang_run);
PLUGIN(fds_desc, "fds", fds_run);

static struct mxp_run_settings settings;

static void slot_init(struct mxp_plugin_slot *s, const struct mxp_plugin *d)
{
    memset(s, 0, sizeof(*s));
    s->lp.name = (char *)d->name;
    s->lp.desc = d;
}

static void target_init(struct mxp_target *t, unsigned port)
{
    memset(t, 0, sizeof(*t));
    t->host = "127.0.0.1";
    t->addr = "127.0.0.1";
    t->family = AF_INET;
    t->addr_bytes[0] = 127;
    t->addr_bytes[3] = 1;
    t->port = port;
}

static void report_free(struct mxp_target_report *tr)
{
    for (size_t i = 0; i < tr->n_checks; i++)
        mxp_check_result_free(&tr->checks[i]);
    free(tr->checks);
    memset(tr, 0, sizeof(*tr));
}

#define NRUNS 3

/* One poll loop over every run, as the scheduler drives them; records
 * when each run was seen done (seconds since t0). */
static void drive(struct mxp_run **runs, size_t n, double t0, double *done_at,
                  struct mxp_target_report *out)
{
    struct pollfd pfd[64];
    size_t at[NRUNS + 1], left = n, i;

    while (left > 0) {
        size_t k = 0;
        double wake = mxp_now() + 1;

        for (i = 0; i < n; i++) {
            at[i] = k;
            if (runs[i] == NULL)
                continue;
            k += mxp_run_pollfds(runs[i], pfd + k);
            wake = mxp_min_deadline(wake, mxp_run_wake(runs[i]));
        }
        at[n] = k;
        poll(pfd, k, mxp_poll_ms(wake));
        for (i = 0; i < n; i++) {
            if (runs[i] == NULL)
                continue;
            mxp_run_events(runs[i], pfd + at[i], at[i + 1] - at[i]);
            if (mxp_run_done(runs[i], mxp_now())) {
                done_at[i] = mxp_now() - t0;
                assert_int_equal(mxp_run_finish(runs[i], &out[i]), MXP_OK);
                runs[i] = NULL;
                left--;
            }
        }
    }
}

static void test_in_flight(void **state)
{
    struct mxp_plugin_slot quick, sleepy, hang;
    struct mxp_plugin_slot *a[] = {&quick, &sleepy};
    struct mxp_plugin_slot *b[] = {&quick, &hang};
    struct mxp_plugin_slot *c[] = {&sleepy};
    struct mxp_target ta, tb, tc;
    struct mxp_run *runs[NRUNS];
    struct mxp_target_report out[NRUNS];
    double done_at[NRUNS], t0 = mxp_now();

    (void)state;
    memset(out, 0, sizeof(out));
    slot_init(&quick, &quick_desc);
    slot_init(&sleepy, &sleepy_desc);
    slot_init(&hang, &hang_desc);
    target_init(&ta, 50); /* sleepy: 50 ms */
    target_init(&tb, 0);
    target_init(&tc, 150); /* 150 ms */
    /* b hangs: its deadline (0.4 s) ends it; a and c must not wait. */
    assert_int_equal(mxp_run_start(&settings, a, 2, &ta, t0 + 3, &runs[0]),
                     MXP_OK);
    assert_int_equal(mxp_run_start(&settings, b, 2, &tb, t0 + 0.4, &runs[1]),
                     MXP_OK);
    assert_int_equal(mxp_run_start(&settings, c, 1, &tc, t0 + 3, &runs[2]),
                     MXP_OK);
    drive(runs, NRUNS, t0, done_at, out);

    assert_true(done_at[0] < 0.3);  /* 50 ms of work */
    assert_true(done_at[2] < 0.38); /* 150 ms, before b's deadline */
    assert_true(done_at[0] < done_at[2]);
    assert_true(done_at[1] >= 0.39 && done_at[1] < 1.5);
    assert_int_equal(out[0].state, MXP_STATE_WARNING);
    assert_int_equal(out[0].n_checks, 2);
    assert_string_equal(out[0].checks[0].plugin, "quick");
    assert_string_equal(out[0].checks[1].summary, "slept");
    assert_int_equal(out[1].state, MXP_STATE_UNKNOWN);
    assert_int_equal(out[1].checks[0].state, MXP_STATE_OK);
    assert_non_null(
        strstr(out[1].checks[1].summary, "did not finish within the deadline"));
    assert_int_equal(out[2].state, MXP_STATE_WARNING);
    for (int i = 0; i < NRUNS; i++)
        report_free(&out[i]);
    /* Every child was reaped. */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* The blocking wrapper: a hung plugin costs its target's deadline only,
 * and what the others said stands. */
static void test_run_target(void **state)
{
    struct mxp_plugin_slot quick, hang;
    struct mxp_plugin_slot *s[] = {&hang, &quick};
    struct mxp_target t;
    struct mxp_target_report out;
    double t0 = mxp_now();

    (void)state;
    memset(&out, 0, sizeof(out));
    slot_init(&quick, &quick_desc);
    slot_init(&hang, &hang_desc);
    target_init(&t, 0);
    assert_int_equal(mxp_run_target(&settings, s, 2, &t, t0 + 0.3, &out),
                     MXP_OK);
    assert_true(mxp_now() - t0 >= 0.29 && mxp_now() - t0 < 1.0);
    assert_int_equal(out.n_checks, 2);
    assert_int_equal(out.checks[0].state, MXP_STATE_UNKNOWN);
    assert_int_equal(out.checks[1].state, MXP_STATE_OK);
    assert_int_equal(out.state, MXP_STATE_UNKNOWN);
    report_free(&out);
}

/* An fd above the soft open-file limit (valgrind's own, or one inherited
 * from a parent with a higher limit) is not ours to build on: the floor
 * stays below the limit, or no pipe of any run could be had. */
static void test_fd_watermark_above_limit(void **state)
{
    struct rlimit old, low;
    int lowest, high, floor;

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    if (old.rlim_cur < 1024)
        skip();
    lowest = dup(0);
    assert_true(lowest >= 0);
    close(lowest);
    high = dup2(0, 1000);
    assert_int_equal(high, 1000);
    low = old;
    low.rlim_cur = (rlim_t)lowest + 40;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    floor = mxp_runner_fd_watermark();
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    close(high);
    if (floor > lowest + 40)
        fail_msg("floor %d, lowest free fd %d", floor, lowest);
}

/* Above the floor only the child's own pipe survives: a pipe of another
 * run in flight is closed, an fd from before the floor stays. */
static void test_fd_floor(void **state)
{
    struct mxp_plugin_slot fds;
    struct mxp_plugin_slot *s[] = {&fds};
    struct mxp_target t;
    struct mxp_target_report out;
    int below[2], above[2], floor;

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(pipe(below), 0);
    floor = mxp_runner_fd_watermark();
    assert_true(floor > below[1]);
    assert_int_equal(pipe(above), 0);
    assert_true(above[0] >= floor);
    fd_below = below[0];
    fd_above = above[1];
    slot_init(&fds, &fds_desc);
    target_init(&t, 0);
    mxp_runner_set_fd_floor(floor);
    assert_int_equal(mxp_run_target(&settings, s, 1, &t, mxp_now() + 3, &out),
                     MXP_OK);
    assert_string_equal(out.checks[0].summary, "clean");
    report_free(&out);
    /* Without a floor the child keeps what it inherited. */
    mxp_runner_set_fd_floor(-1);
    assert_int_equal(mxp_run_target(&settings, s, 1, &t, mxp_now() + 3, &out),
                     MXP_OK);
    assert_string_equal(out.checks[0].summary,
                        "inherited a pipe of another run");
    report_free(&out);
    close(below[0]);
    close(below[1]);
    close(above[0]);
    close(above[1]);
}

/* In a child of its own: lowering the hard limit cannot be undone. */
static void test_fit_jobs(void **state)
{
    pid_t pid;
    int st;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {64, 4096};
        int ok = 1;

        /* The soft limit is raised as -j needs: 16 x 10 plugins x 2. */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(2);
        ok &= mxp_sched_fit_jobs(16, 10, 10) == 16;
        ok &= getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 16 * 20;
        /* A hard limit too low: fewer at once, never none. */
        rl.rlim_cur = rl.rlim_max = 242;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(2);
        ok &= mxp_sched_fit_jobs(64, 10, 10) == 10; /* (242 - 42) / 20 */
        ok &= mxp_sched_fit_jobs(64, 500, 10) == 1;
        ok &= mxp_sched_fit_jobs(5, 10, 10) == 5;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_flight),
        cmocka_unit_test(test_run_target),
        cmocka_unit_test(test_fd_floor),
        cmocka_unit_test(test_fd_watermark_above_limit),
        cmocka_unit_test(test_fit_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
