/*
 * test_submit.c - passive results (submit.h, submit_dest.h): the exact
 * Nagios command lines, writing them to FIFOs and files, the Icinga 2
 * requests against a scripted local HTTPS server, and the submitter's
 * queue, child and deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "report.h"
#include "script_server.h"
#include "submit.h"
#include "submit_dest.h"
#include "tls_testcert.h"

static char dir[256];
static char ca_pem[300], other_ca_pem[300], leaf_pem[300], leaf_key[300];
static char pw_file[300];

static void path_in(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static struct mxp_submit_result res(const char *host, const char *svc, int code,
                                    const char *out)
{
    struct mxp_submit_result r = {.epoch = 1700000000,
                                  .host = host,
                                  .service = svc,
                                  .code = code,
                                  .output = out};
    return r;
}

/* ---- the command line ------------------------------------------------ */

static void expect_line(const struct mxp_submit_result *r, const char *want)
{
    char buf[MXP_NAGIOS_LINE_MAX];
    size_t n = mxp_nagios_line(r, buf, sizeof(buf));

    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
}

static void test_line_format(void **state)
{
    static const char *const outs[] = {"SMTP OK", "SMTP WARNING - slow",
                                       "SMTP CRITICAL - down", "UNKNOWN - ?"};
    char want[512];
    (void)state;

    for (int code = 0; code <= 3; code++) {
        struct mxp_submit_result r =
            res("mx1.example.org", "mxprobe", code, outs[code]);

        snprintf(want, sizeof(want),
                 "[1700000000] PROCESS_SERVICE_CHECK_RESULT;mx1.example.org;"
                 "mxprobe;%d;%s\n",
                 code, outs[code]);
        expect_line(&r, want);
    }
    /* A state out of range is UNKNOWN, never OK. */
    struct mxp_submit_result odd = res("h", "s", 7, "x");
    expect_line(&odd, "[1700000000] PROCESS_SERVICE_CHECK_RESULT;h;s;3;x\n");
}

static void test_line_escaping(void **state)
{
    (void)state;
    /* Multi-line output with perfdata on the first and last lines: line
     * breaks as the two characters \n, a backslash doubled (Nagios 4
     * unescapes both), CR dropped, other control bytes blanked, ';' in
     * the output kept (Nagios takes the rest of the line as output), a
     * final newline not sent. */
    struct mxp_submit_result r =
        res("mx.test", "SMTP relay", 1,
            "WARNING - a;b | t=1s;2;3\nC:\\path\r\nbell\a here | u=2\n");
    expect_line(&r, "[1700000000] PROCESS_SERVICE_CHECK_RESULT;mx.test;"
                    "SMTP relay;1;WARNING - a;b | t=1s;2;3\\nC:\\\\path\\n"
                    "bell  here | u=2\n");
}

static void test_line_refuses_names(void **state)
{
    static const char *const bad[] = {"",     "a;b",  "a\nb",
                                      "a\rb", "a\tb", "x\x7f"};
    char buf[MXP_NAGIOS_LINE_MAX], longname[300];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct mxp_submit_result r = res(bad[i], "svc", 0, "OK");
        struct mxp_submit_result r2 = res("host", bad[i], 0, "OK");

        assert_int_equal(mxp_nagios_line(&r, buf, sizeof(buf)), 0);
        assert_int_equal(mxp_nagios_line(&r2, buf, sizeof(buf)), 0);
    }
    memset(longname, 'a', 256);
    longname[256] = '\0';
    struct mxp_submit_result r = res(longname, "svc", 0, "OK");
    assert_int_equal(mxp_nagios_line(&r, buf, sizeof(buf)), 0);
    longname[255] = '\0';
    r = res(longname, "svc", 0, "OK");
    assert_true(mxp_nagios_line(&r, buf, sizeof(buf)) > 0);
}

/* A line is well-formed: one '\n', at the end; at most PIPE_BUF bytes; no
 * backslash that starts no escape; valid UTF-8 where the input was. */
static void assert_well_formed(const char *line, size_t n)
{
    assert_true(n <= PIPE_BUF);
    assert_true(n > 0 && line[n - 1] == '\n');
    assert_null(memchr(line, '\n', n - 1));
    for (size_t i = 0; i < n - 1; i++) {
        if (line[i] == '\\') {
            assert_true(i + 1 < n - 1);
            assert_true(line[i + 1] == 'n' || line[i + 1] == '\\');
            i++;
        }
    }
    for (size_t i = 0; i < n - 1;) {
        uint32_t cp;
        size_t k = mxp_utf8_next(line + i, n - 1 - i, &cp);

        assert_true(cp != MXP_UTF8_INVALID);
        i += k;
    }
}

static void test_line_cut_long_output(void **state)
{
    struct mxp_buf out;
    char buf[MXP_NAGIOS_LINE_MAX], *p;
    size_t n;
    (void)state;

    /* 300 long-output lines with backslashes, perfdata on both ends. */
    mxp_buf_init(&out);
    mxp_buf_puts(&out, "CRITICAL - 3 of 9 checks failed | time=0.5s;1;2 "
                       "'a label'=3;;;0\n");
    for (int i = 0; i < 300; i++)
        mxp_buf_printf(&out, "check %03d: C:\\dir is fine\n", i);
    mxp_buf_puts(&out, "| last=7 other=8\n");
    struct mxp_submit_result r = res("mx.test", "mxprobe", 2, out.data);
    n = mxp_nagios_line(&r, buf, sizeof(buf));
    assert_well_formed(buf, n);
    assert_true(n > PIPE_BUF - 200); /* cut, not emptied */
    /* The status line, then all the perfdata on it (whole items, the
     * quoted label intact), then whole long lines, then the note. */
    p = "[1700000000] PROCESS_SERVICE_CHECK_RESULT;mx.test;mxprobe;2;"
        "CRITICAL - 3 of 9 checks failed|time=0.5s;1;2 'a label'=3;;;0 "
        "last=7 other=8\\ncheck 000: C:\\\\dir is fine\\ncheck 001";
    assert_memory_equal(buf, p, strlen(p));
    p = "is fine\\n[output cut to fit the command file]\n";
    assert_memory_equal(buf + n - strlen(p), p, strlen(p));
    mxp_buf_free(&out);
}

static void test_line_cut_long_status(void **state)
{
    struct mxp_buf out;
    char buf[MXP_NAGIOS_LINE_MAX];
    size_t n;
    (void)state;

    /* A status line of 3000 two-byte characters: cut at a character
     * boundary, and nothing after it. */
    mxp_buf_init(&out);
    for (int i = 0; i < 3000; i++)
        mxp_buf_puts(&out, "\xc3\xa9");
    mxp_buf_puts(&out, " | t=1\nmore\n");
    struct mxp_submit_result r = res("mx.test", "mxprobe", 0, out.data);
    n = mxp_nagios_line(&r, buf, sizeof(buf));
    assert_well_formed(buf, n);
    assert_true(n >= PIPE_BUF - 1);
    assert_null(memchr(buf, '|', n));
    mxp_buf_free(&out);
}

/* ---- the command file -------------------------------------------------- */

static void test_check_paths(void **state)
{
    char fifo[300], file[300], sock[300], link[300], none[300], err[256];
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int s;
    (void)state;

    path_in(fifo, sizeof(fifo), "check.fifo");
    path_in(file, sizeof(file), "check.file");
    path_in(sock, sizeof(sock), "check.sock");
    path_in(link, sizeof(link), "check.link");
    path_in(none, sizeof(none), "none");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    close(open(file, O_CREAT | O_WRONLY, 0600));
    assert_int_equal(symlink(fifo, link), 0);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(strlen(sock) < sizeof(sun.sun_path));
    memcpy(sun.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);

    assert_int_equal(mxp_nagios_check(fifo, err, sizeof(err)), MXP_OK);
    assert_int_equal(mxp_nagios_check(file, err, sizeof(err)), MXP_OK);
    assert_int_equal(mxp_nagios_check(link, err, sizeof(err)), MXP_OK);
    assert_int_equal(mxp_nagios_check(dir, err, sizeof(err)), MXP_ERR_CONFIG);
    assert_non_null(strstr(err, "not a FIFO or a regular file"));
    assert_int_equal(mxp_nagios_check(sock, err, sizeof(err)), MXP_ERR_CONFIG);
    assert_int_equal(mxp_nagios_check("/dev/null", err, sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_int_equal(mxp_nagios_check(none, err, sizeof(err)), MXP_ERR_CONFIG);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(mxp_nagios_check("", err, sizeof(err)), MXP_ERR_INVALID);
    close(s);
}

static ssize_t read_all(int fd, char *buf, size_t cap, double wait)
{
    double deadline = mxp_now() + wait;
    size_t n = 0;

    while (n < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (poll(&p, 1, mxp_poll_ms(deadline)) <= 0)
            break;
        r = read(fd, buf + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

static void test_fifo_with_reader(void **state)
{
    char fifo[300], why[256], got[8192];
    struct mxp_submit_result r = res("mx.test", "mxprobe", 0, "OK - fine");
    int rfd;
    (void)state;

    path_in(fifo, sizeof(fifo), "reader.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    rfd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rfd >= 0);
    assert_int_equal(mxp_nagios_send(fifo, &r, 2, why, sizeof(why)), MXP_OK);
    ssize_t n = read_all(rfd, got, sizeof(got) - 1, 0.5);
    got[n > 0 ? n : 0] = '\0';
    assert_string_equal(got, "[1700000000] PROCESS_SERVICE_CHECK_RESULT;"
                             "mx.test;mxprobe;0;OK - fine\n");
    close(rfd);
}

static void test_fifo_without_reader(void **state)
{
    char fifo[300], why[256];
    struct mxp_submit_result r = res("mx.test", "mxprobe", 0, "OK");
    double t0;
    (void)state;

    path_in(fifo, sizeof(fifo), "noreader.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    t0 = mxp_now();
    assert_int_equal(mxp_nagios_send(fifo, &r, 5, why, sizeof(why)),
                     MXP_ERR_IO);
    assert_true(mxp_now() - t0 < 0.5);
    assert_non_null(strstr(why, "no process reads the FIFO"));
}

/* A FIFO at path with a reader that never reads, already full: the
 * test's read and write ends in rfd and wfd. */
static void full_fifo(const char *path, int *rfd, int *wfd)
{
    char junk[4096];

    assert_int_equal(mkfifo(path, 0600), 0);
    *rfd = open(path, O_RDONLY | O_NONBLOCK);
    *wfd = open(path, O_WRONLY | O_NONBLOCK);
    assert_true(*rfd >= 0 && *wfd >= 0);
    memset(junk, 'x', sizeof(junk));
    while (write(*wfd, junk, sizeof(junk)) > 0)
        ;
}

static void test_fifo_full(void **state)
{
    char fifo[300], why[256];
    struct mxp_submit_result r = res("mx.test", "mxprobe", 0, "OK");
    int rfd, wfd;
    double t0;
    (void)state;

    /* A reader that never reads and a FIFO already full: bounded. */
    path_in(fifo, sizeof(fifo), "full.fifo");
    full_fifo(fifo, &rfd, &wfd);
    t0 = mxp_now();
    assert_int_equal(mxp_nagios_send(fifo, &r, 0.3, why, sizeof(why)),
                     MXP_ERR_IO);
    assert_true(mxp_now() - t0 >= 0.25);
    assert_true(mxp_now() - t0 < 1.5);
    assert_non_null(strstr(why, "stayed full"));
    close(wfd);
    close(rfd);
}

static void test_regular_file(void **state)
{
    char file[300], why[256], got[512];
    struct mxp_submit_result a = res("h1", "s", 2, "CRITICAL - x");
    struct mxp_submit_result b = res("h2", "s", 0, "OK");
    int fd;
    (void)state;

    path_in(file, sizeof(file), "append.cmd");
    fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_int_equal(write(fd, "old\n", 4), 4);
    close(fd);
    assert_int_equal(mxp_nagios_send(file, &a, 1, why, sizeof(why)), MXP_OK);
    assert_int_equal(mxp_nagios_send(file, &b, 1, why, sizeof(why)), MXP_OK);
    fd = open(file, O_RDONLY);
    ssize_t n = read(fd, got, sizeof(got) - 1);
    close(fd);
    got[n > 0 ? n : 0] = '\0';
    assert_string_equal(
        got, "old\n"
             "[1700000000] PROCESS_SERVICE_CHECK_RESULT;h1;s;2;"
             "CRITICAL - x\n"
             "[1700000000] PROCESS_SERVICE_CHECK_RESULT;h2;s;0;OK\n");
}

/* Writer w's result number i: a long line, different for every one. */
static void writer_output(int w, int i, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "OK - writer %d result %d ", w, i);

    for (; n + 2 < cap && n < 3900; n++)
        out[n] = (char)('a' + (w + i + (int)n) % 26);
    out[n] = '\0';
}

static void concurrent(const char *path, int is_fifo)
{
    enum { WRITERS = 6, EACH = 40 };
    static char got[WRITERS * EACH * MXP_NAGIOS_LINE_MAX];
    pid_t pids[WRITERS];
    size_t n = 0;
    int rfd = -1, hold = -1, seen[WRITERS][EACH];

    memset(seen, 0, sizeof(seen));
    if (is_fifo) {
        rfd = open(path, O_RDONLY | O_NONBLOCK);
        assert_true(rfd >= 0);
        /* Held open so the reader sees no EOF between two writers. */
        hold = open(path, O_WRONLY | O_NONBLOCK);
        assert_true(hold >= 0);
    }
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            char out[4096], why[256], host[16];

            snprintf(host, sizeof(host), "w%d", w);
            for (int i = 0; i < EACH; i++) {
                writer_output(w, i, out, sizeof(out));
                struct mxp_submit_result r = res(host, "svc", 0, out);
                if (mxp_nagios_send(path, &r, 10, why, sizeof(why)) != MXP_OK)
                    _exit(1);
            }
            _exit(0);
        }
    }
    if (is_fifo) {
        /* Read while they write: the FIFO holds only 64 KiB. */
        double deadline = mxp_now() + 10;
        size_t lines = 0;

        while (lines < WRITERS * EACH && mxp_now() < deadline) {
            ssize_t r = read_all(rfd, got + n, sizeof(got) - n, 0.2);

            for (ssize_t k = 0; k < r; k++)
                lines += got[n + (size_t)k] == '\n';
            n += (size_t)(r > 0 ? r : 0);
        }
        close(hold);
        close(rfd);
    }
    for (int w = 0; w < WRITERS; w++) {
        int st;

        assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    if (!is_fifo) {
        int fd = open(path, O_RDONLY);

        n = (size_t)read(fd, got, sizeof(got));
        close(fd);
    }
    /* Every line whole, each exactly one writer's result. */
    for (size_t off = 0; off < n;) {
        char *nl = memchr(got + off, '\n', n - off), want[MXP_NAGIOS_LINE_MAX];
        char out[4096], host[16];
        int w, i;

        assert_non_null(nl);
        assert_int_equal(sscanf(got + off,
                                "[1700000000] PROCESS_SERVICE_CHECK"
                                "_RESULT;w%d;svc;0;OK - writer %*d "
                                "result %d",
                                &w, &i),
                         2);
        assert_true(w >= 0 && w < WRITERS && i >= 0 && i < EACH);
        writer_output(w, i, out, sizeof(out));
        snprintf(host, sizeof(host), "w%d", w);
        struct mxp_submit_result r = res(host, "svc", 0, out);
        size_t len = mxp_nagios_line(&r, want, sizeof(want));
        assert_int_equal((size_t)(nl + 1 - (got + off)), len);
        assert_memory_equal(got + off, want, len);
        seen[w][i]++;
        off += len;
    }
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < EACH; i++)
            assert_int_equal(seen[w][i], 1);
}

static void test_concurrent_writers_fifo(void **state)
{
    char fifo[300];
    (void)state;

    path_in(fifo, sizeof(fifo), "many.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    concurrent(fifo, 1);
}

static void test_concurrent_writers_file(void **state)
{
    char file[300];
    (void)state;

    path_in(file, sizeof(file), "many.cmd");
    close(open(file, O_CREAT | O_WRONLY, 0600));
    concurrent(file, 0);
}

/* ---- the submitter ---------------------------------------------------- */

static const struct mxp_submit_config no_cfg = {.service = "mxprobe",
                                                .icinga2_user = "",
                                                .icinga2_password_file = "",
                                                .icinga2_ca_file = ""};

/* stderr into a file while fn runs; its text in out. */
static int saved_err = -1;
static char err_path[300];

static void capture_stderr(void)
{
    int fd;

    path_in(err_path, sizeof(err_path), "stderr.txt");
    fd = open(err_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    saved_err = dup(2);
    dup2(fd, 2);
    close(fd);
}

static void restore_stderr(char *out, size_t cap)
{
    int fd;
    ssize_t n;

    fflush(stderr);
    dup2(saved_err, 2);
    close(saved_err);
    fd = open(err_path, O_RDONLY);
    n = read(fd, out, cap - 1);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
}

static void test_submitter_fifo(void **state)
{
    char fifo[300], dest[320], err[256], got[4096];
    struct mxp_submitter *s;
    int rfd;
    short ev;
    (void)state;

    path_in(fifo, sizeof(fifo), "sub.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    rfd = open(fifo, O_RDONLY | O_NONBLOCK);
    snprintf(dest, sizeof(dest), "nagios:%s", fifo);
    assert_int_equal(mxp_submit_start(dest, &no_cfg, &s, err, sizeof(err)),
                     MXP_OK);
    assert_true(mxp_submit_fd(s, &ev) >= 0);
    assert_int_equal(ev, 0); /* nothing queued */
    assert_int_equal(
        mxp_submit_queue(s, "a.test", "mxprobe", MXP_STATE_OK, "OK - a"),
        MXP_OK);
    assert_int_equal(mxp_submit_queue(s, "b.test", "mxprobe",
                                      MXP_STATE_CRITICAL, "CRITICAL - b|t=1"),
                     MXP_OK);
    assert_int_equal(mxp_submit_finish(s, mxp_now() + 5), 0);
    ssize_t n = read_all(rfd, got, sizeof(got) - 1, 0.5);
    got[n > 0 ? n : 0] = '\0';
    close(rfd);
    /* The epoch is the queueing time: check the rest. */
    char *l2 = strchr(got, '\n');
    assert_non_null(l2);
    assert_non_null(strstr(got, "] PROCESS_SERVICE_CHECK_RESULT;a.test;"
                                "mxprobe;0;OK - a\n"));
    assert_non_null(strstr(l2 + 1, "] PROCESS_SERVICE_CHECK_RESULT;b.test;"
                                   "mxprobe;2;CRITICAL - b|t=1\n"));
}

static void test_submitter_failures_counted(void **state)
{
    char fifo[300], dest[320], err[256], said[4096];
    struct mxp_submitter *s;
    (void)state;

    /* No reader: every result fails, each one said on stderr. */
    path_in(fifo, sizeof(fifo), "subfail.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(dest, sizeof(dest), "nagios:%s", fifo);
    capture_stderr();
    assert_int_equal(mxp_submit_start(dest, &no_cfg, &s, err, sizeof(err)),
                     MXP_OK);
    mxp_submit_queue(s, "a.test", "mxprobe", MXP_STATE_OK, "OK");
    mxp_submit_queue(s, "b.test", "smtp", MXP_STATE_OK, "OK");
    mxp_submit_queue(s, "bad;name", "smtp", MXP_STATE_OK, "OK");
    size_t failed = mxp_submit_finish(s, mxp_now() + 5);
    restore_stderr(said, sizeof(said));
    assert_int_equal(failed, 3);
    assert_non_null(strstr(said, "mxprobe: submit: nagios: a.test!mxprobe: "));
    assert_non_null(strstr(said, "mxprobe: submit: nagios: b.test!smtp: "));
    assert_non_null(strstr(said, "no process reads the FIFO"));
    assert_non_null(strstr(said, "mxprobe: submit: nagios: bad;name!smtp: "
                                 "refused"));
}

static void test_submitter_deadline(void **state)
{
    char fifo[300], dest[320], err[256], said[4096];
    struct mxp_submitter *s;
    int rfd, wfd;
    double t0;
    (void)state;

    /* A reader that never reads: the child waits on the full FIFO, the
     * deadline stops it, the results are counted and named. */
    path_in(fifo, sizeof(fifo), "stuck.fifo");
    full_fifo(fifo, &rfd, &wfd);
    snprintf(dest, sizeof(dest), "nagios:%s", fifo);
    capture_stderr();
    assert_int_equal(mxp_submit_start(dest, &no_cfg, &s, err, sizeof(err)),
                     MXP_OK);
    mxp_submit_queue(s, "a.test", "mxprobe", MXP_STATE_OK, "OK");
    mxp_submit_queue(s, "b.test", "mxprobe", MXP_STATE_OK, "OK");
    t0 = mxp_now();
    size_t failed = mxp_submit_finish(s, t0 + 0.5);
    double took = mxp_now() - t0;
    restore_stderr(said, sizeof(said));
    assert_int_equal(failed, 2);
    assert_true(took >= 0.45 && took < 1.5);
    assert_non_null(strstr(said, "a.test!mxprobe: not submitted before the "
                                 "deadline"));
    assert_non_null(strstr(said, "b.test!mxprobe: not submitted before the "
                                 "deadline"));
    close(wfd);
    close(rfd);
}

static void test_queue_never_blocks(void **state)
{
    static char said[1 << 20];
    char fifo[300], dest[320], err[256], out[4000];
    struct mxp_submitter *s;
    int rfd, wfd;
    double t0;
    short ev;
    (void)state;

    /* The child is stuck on a full FIFO and takes nothing more: 8 MB of
     * results still queue at once, the socket taking what it can. */
    path_in(fifo, sizeof(fifo), "block.fifo");
    full_fifo(fifo, &rfd, &wfd);
    memset(out, 'o', sizeof(out) - 1);
    out[sizeof(out) - 1] = '\0';
    snprintf(dest, sizeof(dest), "nagios:%s", fifo);
    capture_stderr();
    assert_int_equal(mxp_submit_start(dest, &no_cfg, &s, err, sizeof(err)),
                     MXP_OK);
    t0 = mxp_now();
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(
            mxp_submit_queue(s, "a.test", "mxprobe", MXP_STATE_OK, out),
            MXP_OK);
        mxp_submit_events(s, POLLOUT);
    }
    assert_true(mxp_now() - t0 < 2);
    mxp_submit_fd(s, &ev);
    assert_int_equal(ev, POLLOUT); /* still waiting to be handed over */
    assert_int_equal(mxp_submit_finish(s, mxp_now() + 0.3), 2000);
    restore_stderr(said, sizeof(said));
    size_t lines = 0;
    for (const char *p = said; (p = strstr(p, "a.test!mxprobe: not submitted "
                                              "before the deadline\n")) != NULL;
         p++)
        lines++;
    assert_int_equal(lines, 2000); /* each one named */
    close(wfd);
    close(rfd);
}

static void test_start_refuses(void **state)
{
    char err[256];
    struct mxp_submitter *s = (void *)1;
    (void)state;

    assert_int_equal(mxp_submit_start("nsca:x", &no_cfg, &s, err, sizeof(err)),
                     MXP_ERR_INVALID);
    assert_null(s);
    assert_int_equal(mxp_submit_start("nagios:/nonexistent/x", &no_cfg, &s, err,
                                      sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_int_equal(mxp_submit_start("icinga2:https://127.0.0.1:5665", &no_cfg,
                                      &s, err, sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_non_null(strstr(err, "submit.icinga2.user"));
}

/* ---- icinga2 ----------------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static struct mxp_submit_config icfg(const char *ca)
{
    struct mxp_submit_config c = {.service = "mxprobe",
                                  .icinga2_user = "mxp",
                                  .icinga2_password_file = pw_file,
                                  .icinga2_ca_file = (char *)ca};
    return c;
}

static void test_icinga2_new_checks(void **state)
{
    char err[256], pw2[300];
    struct mxp_icinga2 *c;
    struct mxp_submit_config cfg = icfg(ca_pem);
    static const char *const bad_urls[] = {
        "http://127.0.0.1:5665", "https://",    "https://h:1/v1/x",
        "https://u@h:1",         "https://h 1", "127.0.0.1:5665"};
    (void)state;

    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        assert_int_equal(
            mxp_icinga2_new(bad_urls[i], &cfg, &c, err, sizeof(err)),
            MXP_ERR_INVALID);
        assert_null(c);
    }
    assert_int_equal(
        mxp_icinga2_new("https://127.0.0.1:5665/", &cfg, &c, err, sizeof(err)),
        MXP_OK);
    mxp_icinga2_free(c);
    /* A password file everyone may read is refused; an empty one too. */
    path_in(pw2, sizeof(pw2), "pw-open");
    write_file(pw2, "s3cret\n", 0644);
    cfg.icinga2_password_file = pw2;
    assert_int_equal(
        mxp_icinga2_new("https://127.0.0.1:5665", &cfg, &c, err, sizeof(err)),
        MXP_ERR_CONFIG);
    assert_non_null(strstr(err, "everyone"));
    write_file(pw2, "\n", 0600);
    assert_int_equal(
        mxp_icinga2_new("https://127.0.0.1:5665", &cfg, &c, err, sizeof(err)),
        MXP_ERR_CONFIG);
    assert_non_null(strstr(err, "empty"));
    cfg = icfg("/nonexistent/ca.pem");
    assert_int_equal(
        mxp_icinga2_new("https://127.0.0.1:5665", &cfg, &c, err, sizeof(err)),
        MXP_ERR_CONFIG);
    assert_non_null(strstr(err, "ca_file"));
}

/* The scripted API: what to answer on each connection. */
struct reply {
    int hang; /* accept, handshake, then say nothing for 5 s */
    const char *status_line, *body;
};
static struct reply g_replies[4];

/* Reads one HTTP request over TLS and writes it to req-<conn>. */
static void http_script(int fd)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char req[16384], path[320], resp[1024];
    size_t n = 0, need = 0;
    const struct reply *rp = &g_replies[srv_conn];
    SSL *ssl;

    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, leaf_pem) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, leaf_key, SSL_FILETYPE_PEM) != 1)
        _exit(6);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
        /* The client refused our certificate: that is the test. */
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        return;
    }
    if (rp->hang) {
        sleep_ms(5000);
        _exit(0);
    }
    for (;;) {
        int r = SSL_read(ssl, req + n, (int)(sizeof(req) - 1 - n));
        char *end, *cl;

        if (r <= 0)
            _exit(8);
        n += (size_t)r;
        req[n] = '\0';
        end = strstr(req, "\r\n\r\n");
        if (end == NULL)
            continue;
        cl = strcasestr(req, "\r\nContent-Length: ");
        need = (size_t)(end + 4 - req) +
               (cl != NULL ? strtoul(cl + 18, NULL, 10) : 0);
        if (n >= need)
            break;
    }
    snprintf(path, sizeof(path), "%s/req-%d", dir, srv_conn);
    write_file(path, req, 0600);
    snprintf(resp, sizeof(resp),
             "%s\r\nContent-Type: application/json\r\nContent-Length: "
             "%zu\r\nConnection: close\r\n\r\n",
             rp->status_line, strlen(rp->body));
    SSL_write(ssl, resp, (int)strlen(resp));
    SSL_write(ssl, rp->body, (int)strlen(rp->body));
    SSL_shutdown(ssl);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

static void read_req(int conn, char *out, size_t cap)
{
    char path[320];
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/req-%d", dir, conn);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, out, cap - 1);
    close(fd);
    unlink(path);
    out[n > 0 ? n : 0] = '\0';
}

static const char ok_body[] =
    "{\"results\":[{\"code\":200.0,\"status\":\"Successfully processed "
    "check result for object 'mx.test!mxprobe'.\"}]}";

static struct mxp_icinga2 *client(struct server *sv, const char *ca,
                                  double timeout)
{
    char url[64], err[256];
    struct mxp_submit_config cfg = icfg(ca);
    struct mxp_icinga2 *c;

    snprintf(url, sizeof(url), "https://127.0.0.1:%u", sv->port);
    assert_int_equal(mxp_icinga2_new(url, &cfg, &c, err, sizeof(err)), MXP_OK);
    mxp_icinga2_set_timeouts(c, timeout, timeout);
    return c;
}

static void test_icinga2_request(void **state)
{
    struct server sv;
    struct mxp_icinga2 *c;
    char why[512], req[16384], *body;
    struct mxp_submit_result r =
        res("mx.test", "mxprobe", 1,
            "WARNING - \"slow\" | time=2.5s;2;5\nline 2\xff\n| 'a b'=1 c=2\n");
    (void)state;

    memset(g_replies, 0, sizeof(g_replies));
    g_replies[0].status_line = "HTTP/1.1 200 OK";
    g_replies[0].body = ok_body;
    start_server_n(&sv, http_script, 1);
    c = client(&sv, ca_pem, 3);
    assert_int_equal(mxp_icinga2_send(c, &r, why, sizeof(why)), MXP_OK);
    assert_int_equal(finish_server(&sv, 0), 0);
    read_req(0, req, sizeof(req));
    assert_true(strncmp(req,
                        "POST /v1/actions/process-check-result HTTP/1.1\r\n",
                        48) == 0);
    assert_non_null(
        strstr(req, "\r\nAuthorization: Basic bXhwOnMzY3JldA==\r\n"));
    assert_non_null(strstr(req, "\r\nAccept: application/json\r\n"));
    assert_non_null(strstr(req, "\r\nContent-Type: application/json\r\n"));
    body = strstr(req, "\r\n\r\n") + 4;
    char want[1024], host[256];
    gethostname(host, sizeof(host));
    snprintf(want, sizeof(want),
             "{\"type\":\"Service\",\"filter\":\"host.name==mxp_host && "
             "service.name==mxp_service\",\"filter_vars\":{\"mxp_host\":"
             "\"mx.test\",\"mxp_service\":\"mxprobe\"},\"exit_status\":1,"
             "\"plugin_output\":\"WARNING - \\\"slow\\\"\\nline "
             "2\\ufffd\",\"performance_data\":[\"time=2.5s;2;5\",\"'a "
             "b'=1\",\"c=2\"],\"check_source\":\"%s\"}",
             host);
    assert_string_equal(body, want);
    mxp_icinga2_free(c);
}

/* One result sent to a scripted API that answers replies[0..n) on n
 * connections (all of them must come: that counts the tries); returns
 * what mxp_icinga2_send said. */
static int send_to(const struct reply *replies, int n, const char *ca,
                   double timeout, char *why, size_t whylen)
{
    struct mxp_submit_result r = res("mx.test", "mxprobe", 0, "OK");
    struct server sv;
    struct mxp_icinga2 *c;
    int rc, hang = 0;

    memset(g_replies, 0, sizeof(g_replies));
    for (int i = 0; i < n; i++) {
        g_replies[i] = replies[i];
        hang |= replies[i].hang;
    }
    start_server_n(&sv, http_script, n);
    c = client(&sv, ca, timeout);
    rc = mxp_icinga2_send(c, &r, why, whylen);
    if (hang)
        finish_server(&sv, 1);
    else
        assert_int_equal(finish_server(&sv, 0), 0);
    mxp_icinga2_free(c);
    return rc;
}

static void test_icinga2_retry_once(void **state)
{
    static const struct reply busy_then_ok[] = {
        {0, "HTTP/1.1 500 Internal Server Error",
         "{\"error\":500,\"status\":\"busy\"}"},
        {0, "HTTP/1.1 200 OK", ok_body},
    };
    char why[512];
    (void)state;

    /* 500 then 200: retried once, and that is a success. */
    assert_int_equal(send_to(busy_then_ok, 2, ca_pem, 3, why, sizeof(why)),
                     MXP_OK);
}

static void test_icinga2_two_failures(void **state)
{
    static const struct reply not_found[] = {
        {0, "HTTP/1.1 404 Not Found",
         "{\"error\":404.0,\"status\":\"No objects found.\"}"},
        {0, "HTTP/1.1 404 Not Found",
         "{\"error\":404.0,\"status\":\"No objects found.\"}"},
    };
    static const struct reply disabled[] = {
        {0, "HTTP/1.1 200 OK",
         "{\"results\":[{\"code\":409.0,\"status\":\"Passive checks are "
         "disabled for object 'mx.test!mxprobe'.\"}]}"},
        {0, "HTTP/1.1 200 OK",
         "{\"results\":[{\"code\":409.0,\"status\":\"Passive checks are "
         "disabled for object 'mx.test!mxprobe'.\"}]}"},
    };
    char why[512];
    (void)state;

    /* Both tries fail: the API's own words. */
    assert_int_equal(send_to(not_found, 2, ca_pem, 3, why, sizeof(why)),
                     MXP_ERR_PROTOCOL);
    assert_string_equal(why, "HTTP 404: No objects found.");
    /* HTTP 200 with another API code is a failure too. */
    assert_int_equal(send_to(disabled, 2, ca_pem, 3, why, sizeof(why)),
                     MXP_ERR_PROTOCOL);
    assert_string_equal(why, "API code 409: Passive checks are disabled for "
                             "object 'mx.test!mxprobe'.");
}

static void test_icinga2_slow_server(void **state)
{
    static const struct reply silent[] = {{1, NULL, NULL}, {1, NULL, NULL}};
    char why[512];
    double t0 = mxp_now();
    (void)state;

    /* Two tries of 0.5 s each, then the answer. */
    assert_int_equal(send_to(silent, 2, ca_pem, 0.5, why, sizeof(why)),
                     MXP_ERR_TIMEOUT);
    assert_true(mxp_now() - t0 < 2.5);
    assert_non_null(strstr(why, "imed out"));
}

static void test_icinga2_wrong_ca(void **state)
{
    static const struct reply none[2];
    char why[512];
    (void)state;

    /* The server's certificate is of another CA: refused, both tries. */
    assert_int_not_equal(send_to(none, 2, other_ca_pem, 3, why, sizeof(why)),
                         MXP_OK);
    assert_non_null(strstr(why, "certificate"));
}

/* http.c on its own: what it refuses and what it never does. */
static void test_http_limits(void **state)
{
    static char big[100 * 1024];
    struct server sv;
    struct mxp_http_request rq = {
        .method = "GET", .ca_file = ca_pem, .connect_timeout = 3, .timeout = 3};
    struct mxp_http_response rs;
    char url[80];
    (void)state;

    rq.url = "http://127.0.0.1:1/";
    assert_int_equal(mxp_http_request(&rq, &rs), MXP_ERR_INVALID);
    rq.method = "DELETE";
    rq.url = "https://127.0.0.1:1/";
    assert_int_equal(mxp_http_request(&rq, &rs), MXP_ERR_INVALID);
    rq.method = "GET";

    /* A redirect is an answer, not followed (one connection only). */
    memset(g_replies, 0, sizeof(g_replies));
    g_replies[0].status_line =
        "HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1:1/elsewhere";
    g_replies[0].body = "{}";
    start_server_n(&sv, http_script, 1);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/policy", sv.port);
    rq.url = url;
    assert_int_equal(mxp_http_request(&rq, &rs), MXP_OK);
    assert_int_equal(rs.status, 302);
    assert_string_equal(rs.body, "{}");
    mxp_http_response_free(&rs);
    assert_int_equal(finish_server(&sv, 0), 0);

    /* A body over the cap is an error, not a truncated answer. */
    memset(big, 'x', sizeof(big) - 1);
    g_replies[0].status_line = "HTTP/1.1 200 OK";
    g_replies[0].body = big;
    start_server_n(&sv, http_script, 1);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/policy", sv.port);
    rq.max_response = 1000;
    assert_int_equal(mxp_http_request(&rq, &rs), MXP_ERR_TOO_BIG);
    assert_non_null(strstr(rs.error, "larger than 1000 bytes"));
    assert_null(rs.body);
    finish_server(&sv, 1);
}

static void test_submitter_icinga2(void **state)
{
    struct server sv;
    struct mxp_submitter *s;
    struct mxp_submit_config cfg = icfg(ca_pem);
    char dest[64], err[256], said[4096], req[16384];
    (void)state;

    /* One result OK, one refused twice: 1 failure, said once. */
    memset(g_replies, 0, sizeof(g_replies));
    g_replies[0].status_line = "HTTP/1.1 200 OK";
    g_replies[0].body = ok_body;
    g_replies[1].status_line = "HTTP/1.1 401 Unauthorized";
    g_replies[1].body = "{\"error\":401,\"status\":\"Unauthorized. Please "
                        "check your user credentials.\"}";
    g_replies[2] = g_replies[1];
    start_server_n(&sv, http_script, 3);
    snprintf(dest, sizeof(dest), "icinga2:https://127.0.0.1:%u", sv.port);
    capture_stderr();
    assert_int_equal(mxp_submit_start(dest, &cfg, &s, err, sizeof(err)),
                     MXP_OK);
    mxp_submit_queue(s, "mx.test", "mxprobe", MXP_STATE_OK, "OK");
    mxp_submit_queue(s, "mx2.test", "mxprobe", MXP_STATE_OK, "OK");
    size_t failed = mxp_submit_finish(s, mxp_now() + 10);
    restore_stderr(said, sizeof(said));
    assert_int_equal(failed, 1);
    assert_string_equal(said, "mxprobe: submit: icinga2: mx2.test!mxprobe: "
                              "HTTP 401: Unauthorized. Please check your "
                              "user credentials.\n");
    assert_int_equal(finish_server(&sv, 0), 0);
    read_req(0, req, sizeof(req));
    assert_non_null(strstr(req, "\"mxp_host\":\"mx.test\""));
    read_req(2, req, sizeof(req));
    assert_non_null(strstr(req, "\"mxp_host\":\"mx2.test\""));
}

/* ---- set-up ------------------------------------------------------------ */

static int setup(void **state)
{
    static const char *const san[] = {"127.0.0.1", NULL};
    struct tls_testcert ca, other, leaf;
    struct tls_testcert_spec ca_spec = {.cn = "mxprobe submit test CA",
                                        .is_ca = 1,
                                        .not_before_days = -1,
                                        .not_after_days = 30};
    struct tls_testcert_spec leaf_spec = {.cn = "icinga.test",
                                          .san = san,
                                          .not_before_days = -1,
                                          .not_after_days = 20};
    (void)state;

    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(mxp_http_init(), MXP_OK);
    snprintf(dir, sizeof(dir), "%s", tls_testcert_dir());
    tls_testcert_make(&ca_spec, &ca);
    tls_testcert_make(&ca_spec, &other);
    leaf_spec.issuer_key = ca.key;
    leaf_spec.issuer_cert = ca.cert;
    tls_testcert_make(&leaf_spec, &leaf);
    path_in(ca_pem, sizeof(ca_pem), "ca.pem");
    path_in(other_ca_pem, sizeof(other_ca_pem), "other-ca.pem");
    path_in(leaf_pem, sizeof(leaf_pem), "leaf.pem");
    path_in(leaf_key, sizeof(leaf_key), "leaf.key");
    path_in(pw_file, sizeof(pw_file), "password");
    tls_testcert_write_pem(&ca, ca_pem, NULL, NULL, 0);
    tls_testcert_write_pem(&other, other_ca_pem, NULL, NULL, 0);
    tls_testcert_write_pem(&leaf, leaf_pem, leaf_key, NULL, 0);
    tls_testcert_free(&ca);
    tls_testcert_free(&other);
    tls_testcert_free(&leaf);
    write_file(pw_file, "s3cret\n", 0600);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_line_escaping),
        cmocka_unit_test(test_line_refuses_names),
        cmocka_unit_test(test_line_cut_long_output),
        cmocka_unit_test(test_line_cut_long_status),
        cmocka_unit_test(test_check_paths),
        cmocka_unit_test(test_fifo_with_reader),
        cmocka_unit_test(test_fifo_without_reader),
        cmocka_unit_test(test_fifo_full),
        cmocka_unit_test(test_regular_file),
        cmocka_unit_test(test_concurrent_writers_fifo),
        cmocka_unit_test(test_concurrent_writers_file),
        cmocka_unit_test(test_submitter_fifo),
        cmocka_unit_test(test_submitter_failures_counted),
        cmocka_unit_test(test_submitter_deadline),
        cmocka_unit_test(test_queue_never_blocks),
        cmocka_unit_test(test_start_refuses),
        cmocka_unit_test(test_icinga2_new_checks),
        cmocka_unit_test(test_icinga2_request),
        cmocka_unit_test(test_icinga2_retry_once),
        cmocka_unit_test(test_icinga2_two_failures),
        cmocka_unit_test(test_icinga2_slow_server),
        cmocka_unit_test(test_icinga2_wrong_ca),
        cmocka_unit_test(test_http_limits),
        cmocka_unit_test(test_submitter_icinga2),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
