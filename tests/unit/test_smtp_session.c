/*
 * test_smtp_session.c - SMTP client sessions (smtp.c, net.c) against a
 * scripted server forked on 127.0.0.1 (an ephemeral port).
 *
 * Each test's server is a small function run in the child; its exit code
 * says whether the client sent what the script expected.  The tests check
 * outcomes and error words, and that every call returns in bounded time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "smtp.h"

/* ---- the scripted server (runs in a forked child) -------------------- */

struct server {
    pid_t pid;
    unsigned port;
};

typedef void (*script_fn)(int fd);

static void srv_send(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            _exit(3); /* client went away */
        s += w;
        n -= (size_t)w;
    }
}

static void srv_puts(int fd, const char *s)
{
    srv_send(fd, s, strlen(s));
}

/* Reads one line (without CRLF) and exits with 2 unless it equals want. */
static void srv_expect(int fd, const char *want)
{
    char line[512];
    size_t n = 0;
    char c;

    for (;;) {
        ssize_t r = recv(fd, &c, 1, 0);
        if (r <= 0)
            _exit(2);
        if (c == '\n')
            break;
        if (n + 1 < sizeof(line))
            line[n++] = c;
    }
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    if (strcmp(line, want) != 0) {
        fprintf(stderr, "server: wanted '%s', got '%s'\n", want, line);
        _exit(2);
    }
}

/* Waits for the client to hang up, so the script's exit is orderly. */
static void srv_drain(int fd)
{
    char buf[256];

    while (recv(fd, buf, sizeof(buf), 0) > 0)
        ;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void start_server(struct server *sv, script_fn fn)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int ls, one = 1;

    ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(ls, 4), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
    sv->port = ntohs(sin.sin_port);
    sv->pid = fork();
    assert_true(sv->pid >= 0);
    if (sv->pid == 0) {
        int fd;

        alarm(10); /* a stuck script never outlives the test run */
        fd = accept(ls, NULL, NULL);
        close(ls);
        if (fd < 0)
            _exit(4);
        fn(fd);
        close(fd);
        _exit(0);
    }
    close(ls);
}

/* The script's exit code (0: the client did what was expected). */
static int finish_server(struct server *sv, int kill_it)
{
    int status;

    if (kill_it)
        kill(sv->pid, SIGKILL);
    assert_int_equal(waitpid(sv->pid, &status, 0), sv->pid);
    if (kill_it)
        return 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* ---- the client side --------------------------------------------------- */

#define MAX_NOTES 512

static struct {
    char dir;
    char line[96];
} notes[MAX_NOTES];
static size_t n_notes;

static void record(void *user, char dir, double t, const char *line)
{
    (void)user;
    assert_true(t >= 0);
    if (n_notes < MAX_NOTES) {
        notes[n_notes].dir = dir;
        snprintf(notes[n_notes].line, sizeof(notes[0].line), "%s", line);
        n_notes++;
    }
}

/* Whether the transcript holds a line of that direction starting with
 * prefix. */
static int noted(char dir, const char *prefix)
{
    size_t i;

    for (i = 0; i < n_notes; i++)
        if (notes[i].dir == dir &&
            strncmp(notes[i].line, prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

static struct mxp_smtp *connect_to(const struct server *sv, double cmd_timeout,
                                   double deadline_in)
{
    struct mxp_smtp_options opt;
    struct mxp_smtp *s = NULL;

    n_notes = 0;
    memset(&opt, 0, sizeof(opt));
    opt.connect_timeout = 2;
    opt.command_timeout = cmd_timeout;
    opt.t0 = mxp_now();
    opt.deadline = opt.t0 + deadline_in;
    opt.transcript = record;
    assert_int_equal(mxp_smtp_open(&opt, "127.0.0.1", sv->port, &s), MXP_OK);
    assert_non_null(s);
    assert_string_equal(mxp_smtp_error(s), "");
    return s;
}

/* ---- scripts and tests ------------------------------------------------ */

static void script_ehlo(int fd)
{
    srv_puts(fd, "220 fake.test ESMTP\r\n");
    srv_expect(fd, "EHLO probe.test");
    srv_puts(fd, "250-fake.test hello\r\n250-PIPELINING\r\n"
                 "250-SIZE 10240000\r\n250 8BITMIME\r\n");
    srv_expect(fd, "NOOP");
    srv_puts(fd, "250 2.0.0 Ok\r\n");
    srv_expect(fd, "QUIT");
    srv_puts(fd, "221 2.0.0 Bye\r\n");
    srv_drain(fd);
}

static void test_greeting_and_ehlo(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    const char *const *ext;
    int used_helo = -1;

    (void)state;
    start_server(&sv, script_ehlo);
    s = connect_to(&sv, 5, 10);
    assert_true(mxp_smtp_connect_time(s) >= 0);
    assert_true(mxp_smtp_connect_time(s) < 2);

    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(r.code, 220);
    assert_int_equal(r.n_lines, 1);
    assert_string_equal(r.lines[0], "fake.test ESMTP");
    assert_true(r.elapsed >= 0 && r.elapsed < 5);

    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, &used_helo), MXP_OK);
    assert_int_equal(used_helo, 0);
    assert_int_equal(r.code, 250);
    assert_int_equal(r.n_lines, 4);
    assert_int_equal(mxp_smtp_extensions(s, &ext), 3);
    assert_string_equal(ext[0], "PIPELINING");
    assert_string_equal(ext[1], "SIZE 10240000");
    assert_string_equal(ext[2], "8BITMIME");
    assert_true(mxp_smtp_has_extension(s, "pipelining"));
    assert_true(mxp_smtp_has_extension(s, "SIZE"));
    assert_true(mxp_smtp_has_extension(s, "8bitmime"));
    assert_false(mxp_smtp_has_extension(s, "SIZ"));
    assert_false(mxp_smtp_has_extension(s, "fake.test"));
    assert_false(mxp_smtp_has_extension(s, "STARTTLS"));

    /* A line with CR or LF is refused; the session stays usable. */
    assert_int_equal(mxp_smtp_command(s, "NOOP\r\nRSET", &r), MXP_ERR_INVALID);
    assert_int_equal(mxp_smtp_command(s, "NOOP\n", &r), MXP_ERR_INVALID);
    assert_int_equal(mxp_smtp_command(s, "NOOP", &r), MXP_OK);
    assert_int_equal(r.code, 250);
    assert_string_equal(r.enhanced, "2.0.0");
    assert_string_equal(r.lines[0], "2.0.0 Ok");

    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);

    assert_true(noted('C', "connected to 127.0.0.1:"));
    assert_true(noted('<', "220 fake.test ESMTP"));
    assert_true(noted('>', "EHLO probe.test"));
    assert_true(noted('<', "250-PIPELINING"));
    assert_true(noted('<', "250 8BITMIME"));
    assert_true(noted('>', "QUIT"));
    assert_true(noted('<', "221 2.0.0 Bye"));
    assert_false(noted('!', ""));
}

static void script_helo_only(int fd)
{
    srv_puts(fd, "220 old.test SMTP\r\n");
    srv_expect(fd, "EHLO probe.test");
    srv_puts(fd, "502 5.5.2 Error: command not recognized\r\n");
    srv_expect(fd, "HELO probe.test");
    srv_puts(fd, "250 old.test\r\n");
    srv_drain(fd);
}

static void test_helo_fallback(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    int used_helo = 0;

    (void)state;
    start_server(&sv, script_helo_only);
    s = connect_to(&sv, 5, 10);
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, &used_helo), MXP_OK);
    assert_int_equal(used_helo, 1);
    assert_int_equal(r.code, 250);
    assert_string_equal(r.lines[0], "old.test");
    assert_int_equal(mxp_smtp_extensions(s, NULL), 0);
    assert_false(mxp_smtp_has_extension(s, "PIPELINING"));
    mxp_smtp_close(s, 0);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_slow_greeting(int fd)
{
    const char *g = "220 slow.test ESMTP\r\n";

    for (; *g != '\0'; g++) {
        srv_send(fd, g, 1);
        sleep_ms(100);
    }
    srv_drain(fd);
}

/* The command timeout bounds the whole reply, not each read. */
static void test_slow_greeting_times_out(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    double t;

    (void)state;
    start_server(&sv, script_slow_greeting);
    s = connect_to(&sv, 0.3, 10);
    t = mxp_now();
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_ERR_TIMEOUT);
    t = mxp_now() - t;
    assert_true(t >= 0.25 && t < 1.5);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.n_lines, 0);
    assert_true(r.elapsed >= 0.25);
    assert_string_equal(mxp_smtp_error(s),
                        "no reply within 0.3 s (waiting for greeting)");
    assert_true(noted('!', "no reply within 0.3 s"));

    /* Broken: later calls fail at once with the same error. */
    t = mxp_now();
    assert_int_equal(mxp_smtp_command(s, "NOOP", &r), MXP_ERR_TIMEOUT);
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, NULL), MXP_ERR_TIMEOUT);
    assert_true(mxp_now() - t < 0.1);
    assert_string_equal(mxp_smtp_error(s),
                        "no reply within 0.3 s (waiting for greeting)");
    assert_false(noted('>', "NOOP"));
    mxp_smtp_close(s, 1);
    assert_false(noted('>', "QUIT"));
    finish_server(&sv, 1);
}

static void script_silent(int fd)
{
    srv_drain(fd);
}

/* The session deadline wins over a longer command timeout. */
static void test_deadline_bounds_wait(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    double t;

    (void)state;
    start_server(&sv, script_silent);
    s = connect_to(&sv, 20, 0.3);
    t = mxp_now();
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_ERR_TIMEOUT);
    assert_true(mxp_now() - t < 1.5);
    assert_non_null(strstr(mxp_smtp_error(s), "(waiting for greeting)"));
    mxp_smtp_close(s, 1);
    finish_server(&sv, 1);
}

static void script_endless_ehlo(int fd)
{
    srv_puts(fd, "220 endless.test ESMTP\r\n");
    srv_expect(fd, "EHLO probe.test");
    for (;;)
        srv_puts(fd, "250-AND-ANOTHER-EXTENSION\r\n"); /* exits on EPIPE */
}

static void test_endless_ehlo(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    double t;

    (void)state;
    start_server(&sv, script_endless_ehlo);
    s = connect_to(&sv, 5, 10);
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    t = mxp_now();
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, NULL), MXP_ERR_TOO_BIG);
    assert_true(mxp_now() - t < 2);
    assert_string_equal(mxp_smtp_error(s), "more than 128 reply lines");
    assert_int_equal(mxp_smtp_extensions(s, NULL), 0);
    mxp_smtp_close(s, 1);
    finish_server(&sv, 1);
}

static void script_close_mid_reply(int fd)
{
    srv_puts(fd, "220 closer.test ESMTP\r\n");
    srv_expect(fd, "EHLO probe.test");
    srv_puts(fd, "250-closer.test\r\n250-SIZE");
}

static void test_close_mid_reply(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;

    (void)state;
    start_server(&sv, script_close_mid_reply);
    s = connect_to(&sv, 5, 10);
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, NULL), MXP_ERR_CLOSED);
    assert_string_equal(
        mxp_smtp_error(s),
        "connection closed by server (waiting for reply to EHLO)");
    assert_true(noted('<', "250-closer.test"));
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_garbage(int fd)
{
    static const char g[] = "xyzzy\0\x1b[0m plugh\r\n";

    srv_send(fd, g, sizeof(g) - 1);
    srv_drain(fd);
}

static void test_malformed_greeting(void **state)
{
    struct server sv;
    struct mxp_smtp *s;

    (void)state;
    start_server(&sv, script_garbage);
    s = connect_to(&sv, 5, 10);
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_ERR_PROTOCOL);
    assert_string_equal(mxp_smtp_error(s),
                        "malformed reply: 'xyzzy??[0m plugh'");
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_two_at_once(int fd)
{
    srv_puts(fd, "220 hi\r\n250-one\r\n250 two\r\n");
    srv_drain(fd);
}

/* Bytes past one reply are kept for the next read. */
static void test_leftover_kept(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;

    (void)state;
    start_server(&sv, script_two_at_once);
    s = connect_to(&sv, 1, 10);
    sleep_ms(50); /* let both replies arrive in one segment */
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(r.code, 220);
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(r.code, 250);
    assert_int_equal(r.n_lines, 2);
    assert_string_equal(r.lines[1], "two");
    mxp_smtp_close(s, 0);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void script_early_250(int fd)
{
    srv_puts(fd, "220 mail.example.org\r\n250 extra\r\n");
    srv_drain(fd);
}

/* A reply sent before our command is not taken as its answer: the
 * session breaks with a protocol error and EHLO is never sent. */
static void test_unsolicited_data_refused(void **state)
{
    struct server sv;
    struct mxp_smtp *s;
    struct mxp_smtp_reply r;
    int used_helo = 0;

    (void)state;
    start_server(&sv, script_early_250);
    s = connect_to(&sv, 1, 10);
    sleep_ms(50); /* both lines in one segment, or the second waiting */
    assert_int_equal(mxp_smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(r.code, 220);
    assert_int_equal(mxp_smtp_ehlo(s, "probe.test", &r, &used_helo),
                     MXP_ERR_PROTOCOL);
    assert_string_equal(mxp_smtp_error(s),
                        "server sent data before our EHLO: '250 extra?" "?'");
    assert_false(noted('>', "EHLO"));
    mxp_smtp_close(s, 1);
    assert_int_equal(finish_server(&sv, 0), 0);
}

static void test_connect_refused(void **state)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct mxp_smtp_options opt;
    struct mxp_smtp *s = NULL;
    char want[80];
    int fd;

    (void)state;
    /* A port that was just free: bound, never listened on, closed. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);

    memset(&opt, 0, sizeof(opt));
    opt.connect_timeout = 2;
    opt.command_timeout = 2;
    opt.t0 = mxp_now();
    opt.deadline = opt.t0 + 5;
    assert_int_equal(mxp_smtp_open(&opt, "127.0.0.1", ntohs(sin.sin_port), &s),
                     MXP_ERR_CONNECT);
    assert_non_null(s);
    snprintf(want, sizeof(want),
             "cannot connect to 127.0.0.1:%u: connection refused",
             (unsigned)ntohs(sin.sin_port));
    assert_string_equal(mxp_smtp_error(s), want);
    assert_int_equal(mxp_smtp_read_reply(s, NULL), MXP_ERR_CONNECT);
    mxp_smtp_close(s, 1);

    assert_int_equal(mxp_smtp_open(&opt, "localhost", 25, &s), MXP_ERR_INVALID);
    mxp_smtp_close(s, 1);
    mxp_smtp_close(NULL, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_and_ehlo),
        cmocka_unit_test(test_helo_fallback),
        cmocka_unit_test(test_slow_greeting_times_out),
        cmocka_unit_test(test_deadline_bounds_wait),
        cmocka_unit_test(test_endless_ehlo),
        cmocka_unit_test(test_close_mid_reply),
        cmocka_unit_test(test_malformed_greeting),
        cmocka_unit_test(test_leftover_kept),
        cmocka_unit_test(test_unsolicited_data_refused),
        cmocka_unit_test(test_connect_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
