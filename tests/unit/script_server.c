/*
 * script_server.c - the scripted loopback server of script_server.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "script_server.h"

void srv_send(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            _exit(3); /* client went away */
        s += w;
        n -= (size_t)w;
    }
}

void srv_puts(int fd, const char *s)
{
    srv_send(fd, s, strlen(s));
}

/* Everything the script received, in order: the checks on what a client
 * may never send ("\r\n.\r\n" outside send_message) look at all of it. */
char srv_rx[1 << 16];
size_t srv_rx_len;

/* One byte from the client, recorded; -1 at EOF, -2 on an error (a reset
 * rather than an orderly close). */
int srv_getc(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, 0);

    if (r == 0)
        return -1;
    if (r < 0)
        return -2;
    if (srv_rx_len < sizeof(srv_rx))
        srv_rx[srv_rx_len++] = c;
    return (unsigned char)c;
}

/* Reads one line (without CRLF) and exits with 2 unless it equals want. */
void srv_expect(int fd, const char *want)
{
    char line[512];
    size_t n = 0;
    int c;

    for (;;) {
        c = srv_getc(fd);
        if (c < 0)
            _exit(2);
        if (c == '\n')
            break;
        if (n + 1 < sizeof(line))
            line[n++] = (char)c;
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
void srv_drain(int fd)
{
    while (srv_getc(fd) >= 0)
        ;
}

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int srv_conn;

void start_server(struct server *sv, script_fn fn)
{
    start_server_n(sv, fn, 1);
}

void start_server_n(struct server *sv, script_fn fn, int n_conns)
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
        alarm(10); /* a stuck script never outlives the test run */
        for (srv_conn = 0; srv_conn < n_conns; srv_conn++) {
            struct pollfd p = {.fd = ls, .events = POLLIN};
            int fd;

            /* A connection that does not come within 5 s fails the
             * script (exit 7) instead of running into the alarm. */
            if (n_conns > 1 && poll(&p, 1, 5000) != 1)
                _exit(7);
            fd = accept(ls, NULL, NULL);
            if (fd < 0)
                _exit(4);
            /* Replies written one by one must not wait on Nagle for the
             * client's delayed ACK (40 ms each when pipelining). */
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            fn(fd);
            close(fd);
        }
        close(ls);
        _exit(0);
    }
    close(ls);
}

/* The script's exit code (0: the client did what was expected). */
int finish_server(struct server *sv, int kill_it)
{
    int status;

    if (kill_it)
        kill(sv->pid, SIGKILL);
    assert_int_equal(waitpid(sv->pid, &status, 0), sv->pid);
    if (kill_it)
        return 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* ---- the client side: the session transcript ------------------------- */

struct note notes[MAX_NOTES];
size_t n_notes;

void record(void *user, char dir, double t, const char *line)
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
int noted(char dir, const char *prefix)
{
    size_t i;

    for (i = 0; i < n_notes; i++)
        if (notes[i].dir == dir &&
            strncmp(notes[i].line, prefix, strlen(prefix)) == 0)
            return 1;
    return 0;
}

struct mxp_smtp_options session_opts(double cmd_timeout, double deadline_in)
{
    struct mxp_smtp_options opt;

    n_notes = 0;
    memset(&opt, 0, sizeof(opt));
    opt.connect_timeout = 2;
    opt.command_timeout = cmd_timeout;
    opt.t0 = mxp_now();
    opt.deadline = opt.t0 + deadline_in;
    opt.transcript = record;
    return opt;
}
