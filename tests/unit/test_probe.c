/*
 * test_probe.c - the core's port probes and UDP exchange (probe.c) on
 * 127.0.0.1 only: open, refused, a full accept queue that drops SYNs
 * (filtered), argument checks; a UDP peer in a child process that
 * answers, answers too much, answers first from another port (ignored),
 * or never answers; an ICMP port unreachable.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "probe.h"

/* A socket bound to 127.0.0.1 on a free port; its port in *port. */
static int bound(int type, unsigned *port)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, type, 0);

    assert_true(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

/* A port nothing listens on (bound, then closed). */
static unsigned free_port(int type)
{
    unsigned port;

    close(bound(type, &port));
    return port;
}

static void test_tcp_open_closed(void **state)
{
    struct mxp_port_probe p[2];
    unsigned open_port;
    int l = bound(SOCK_STREAM, &open_port);

    (void)state;
    assert_int_equal(listen(l, 8), 0);
    memset(p, 0, sizeof(p));
    p[0].port = open_port;
    p[1].port = free_port(SOCK_STREAM);
    assert_int_equal(mxp_tcp_probe("127.0.0.1", p, 2, 2.0, mxp_now() + 5),
                     MXP_OK);
    assert_int_equal(p[0].state, MXP_PORT_OPEN);
    assert_int_equal(p[1].state, MXP_PORT_CLOSED);
    assert_non_null(strstr(p[1].words, "refused"));
    close(l);
}

/* A listener that accepts and resets at once: the handshake completed,
 * so the port is open, even when the reset beats the probe's look. */
static void test_tcp_accept_then_reset(void **state)
{
    struct mxp_port_probe p[16];
    unsigned port;
    int l = bound(SOCK_STREAM, &port), open = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(listen(l, 64), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct linger lg = {1, 0};

        for (;;) {
            int c = accept(l, NULL, NULL);

            if (c < 0)
                _exit(0);
            (void)setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            close(c);
        }
    }
    /* 16 connects at once leave the child time to reset some of them
     * before the one poll() looks. */
    for (int i = 0; i < 10; i++) {
        memset(p, 0, sizeof(p));
        for (size_t k = 0; k < 16; k++)
            p[k].port = port;
        assert_int_equal(
            mxp_tcp_probe("127.0.0.1", p, 16, 2.0, mxp_now() + 5), MXP_OK);
        for (size_t k = 0; k < 16; k++)
            open += p[k].state == MXP_PORT_OPEN;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(l);
    assert_int_equal(open, 160);
}

static void test_tcp_filtered(void **state)
{
    struct mxp_port_probe p[1];
    unsigned port;
    int l = bound(SOCK_STREAM, &port), c[4];
    struct sockaddr_in sin;
    double t0;

    (void)state;
    /* A full accept queue makes Linux drop further SYNs: no answer, as
     * behind a dropping firewall. */
    assert_int_equal(listen(l, 0), 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)port);
    for (size_t i = 0; i < 4; i++) {
        c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)connect(c[i], (struct sockaddr *)&sin, sizeof(sin));
    }
    usleep(100000);
    memset(p, 0, sizeof(p));
    p[0].port = port;
    t0 = mxp_now();
    assert_int_equal(mxp_tcp_probe("127.0.0.1", p, 1, 0.5, mxp_now() + 5),
                     MXP_OK);
    if (p[0].state != MXP_PORT_FILTERED)
        skip(); /* a kernel that answers anyway: nothing to test here */
    assert_non_null(strstr(p[0].words, "no answer within"));
    assert_true(mxp_now() - t0 < 2.5); /* bounded by the 0.5 s timeout */
    /* the job's deadline bounds it too, and a wait cut short by it is
     * not "filtered" (no false OK): cannot tell */
    t0 = mxp_now();
    assert_int_equal(mxp_tcp_probe("127.0.0.1", p, 1, 30, mxp_now() + 0.3),
                     MXP_OK);
    assert_int_equal(p[0].state, MXP_PORT_ERROR);
    assert_non_null(strstr(p[0].words, "deadline"));
    assert_true(mxp_now() - t0 < 2.5);
    for (size_t i = 0; i < 4; i++)
        close(c[i]);
    close(l);
}

static void test_tcp_invalid(void **state)
{
    struct mxp_port_probe p[65];

    (void)state;
    memset(p, 0, sizeof(p));
    p[0].port = 445;
    assert_int_equal(mxp_tcp_probe("mail.example", p, 1, 1, mxp_now() + 1),
                     MXP_ERR_INVALID);
    assert_int_equal(mxp_tcp_probe("127.0.0.1", p, 0, 1, mxp_now() + 1),
                     MXP_ERR_INVALID);
    for (size_t i = 0; i < 65; i++)
        p[i].port = 445;
    assert_int_equal(mxp_tcp_probe("127.0.0.1", p, 65, 1, mxp_now() + 1),
                     MXP_ERR_INVALID);
    p[0].port = 0;
    assert_int_equal(mxp_tcp_probe("127.0.0.1", p, 1, 1, mxp_now() + 1),
                     MXP_ERR_INVALID);
    /* past the deadline: not probed, which is no answer of the target */
    p[0].port = free_port(SOCK_STREAM);
    assert_int_equal(mxp_tcp_probe("127.0.0.1", p, 1, 1, mxp_now() - 1),
                     MXP_OK);
    assert_int_equal(p[0].state, MXP_PORT_ERROR);
    assert_non_null(strstr(p[0].words, "deadline"));
}

/* ---- UDP --------------------------------------------------------------- */

static pid_t peer_pid;
static unsigned peer_port;

/* The peer answers by the request's first byte: 'a' "answer", 'b' 3000
 * bytes, 's' first "spoof" from another port then "real", 'q' nothing. */
static void peer_loop(int fd)
{
    unsigned other_port;
    int other = bound(SOCK_DGRAM, &other_port);
    unsigned char buf[4096];
    struct sockaddr_in from;

    for (;;) {
        socklen_t flen = sizeof(from);
        ssize_t n =
            recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
        if (n <= 0)
            continue;
        switch (buf[0]) {
        case 'a':
            sendto(fd, "answer", 6, 0, (struct sockaddr *)&from, flen);
            break;
        case 'b':
            memset(buf, 'x', 3000);
            sendto(fd, buf, 3000, 0, (struct sockaddr *)&from, flen);
            break;
        case 's':
            sendto(other, "spoof", 5, 0, (struct sockaddr *)&from, flen);
            usleep(50000);
            sendto(fd, "real", 4, 0, (struct sockaddr *)&from, flen);
            break;
        default:
            break;
        }
    }
}

static int peer_setup(void **state)
{
    int fd = bound(SOCK_DGRAM, &peer_port);

    (void)state;
    peer_pid = fork();
    if (peer_pid == 0) {
        peer_loop(fd);
        _exit(0);
    }
    close(fd);
    return peer_pid > 0 ? 0 : -1;
}

static int peer_teardown(void **state)
{
    (void)state;
    kill(peer_pid, SIGKILL);
    waitpid(peer_pid, NULL, 0);
    return 0;
}

static int exchange(const char *req, unsigned port, char *resp, size_t cap,
                    double timeout, struct mxp_udp_exchange *x)
{
    memset(x, 0, sizeof(*x));
    x->addr = "127.0.0.1";
    x->port = port;
    x->req = req;
    x->req_len = strlen(req);
    x->resp = resp;
    x->cap = cap;
    x->timeout = timeout;
    return mxp_udp_exchange(x, 5.0, mxp_now() + 10);
}

static void test_udp_answer_and_spoof(void **state)
{
    struct mxp_udp_exchange x;
    char resp[64];

    (void)state;
    assert_int_equal(exchange("a", peer_port, resp, sizeof(resp), 2, &x),
                     MXP_OK);
    assert_int_equal(x.resp_len, 6);
    assert_memory_equal(resp, "answer", 6);
    /* the datagram from the peer's other port is not the answer */
    assert_int_equal(exchange("s", peer_port, resp, sizeof(resp), 2, &x),
                     MXP_OK);
    assert_int_equal(x.resp_len, 4);
    assert_memory_equal(resp, "real", 4);
}

static void test_udp_too_big(void **state)
{
    struct mxp_udp_exchange x;
    char resp[100];

    (void)state;
    assert_int_equal(exchange("b", peer_port, resp, sizeof(resp), 2, &x),
                     MXP_ERR_TOO_BIG);
    assert_int_equal(x.resp_len, sizeof(resp));
    assert_non_null(strstr(x.words, "3000 bytes"));
}

static void test_udp_timeout(void **state)
{
    struct mxp_udp_exchange x;
    char resp[64];
    double t0 = mxp_now();

    (void)state;
    assert_int_equal(exchange("q", peer_port, resp, sizeof(resp), 0.3, &x),
                     MXP_ERR_TIMEOUT);
    assert_non_null(strstr(x.words, "no answer within"));
    assert_true(mxp_now() - t0 < 2.0);
    /* a wait the job's deadline cut short is not silence: cannot tell */
    memset(&x, 0, sizeof(x));
    x.addr = "127.0.0.1";
    x.port = peer_port;
    x.req = "q";
    x.req_len = 1;
    x.resp = resp;
    x.cap = sizeof(resp);
    x.timeout = 30;
    t0 = mxp_now();
    assert_int_equal(mxp_udp_exchange(&x, 5.0, mxp_now() + 0.3), MXP_ERR_IO);
    assert_non_null(strstr(x.words, "deadline"));
    assert_true(mxp_now() - t0 < 2.0);
}

static void test_udp_unreachable_and_invalid(void **state)
{
    struct mxp_udp_exchange x;
    char resp[64];

    (void)state;
    assert_int_equal(
        exchange("a", free_port(SOCK_DGRAM), resp, sizeof(resp), 2, &x),
        MXP_ERR_CONNECT);
    assert_non_null(strstr(x.words, "unreachable"));
    assert_int_equal(exchange("a", peer_port, resp, 0, 2, &x), MXP_ERR_INVALID);
    assert_int_equal(exchange("", peer_port, resp, sizeof(resp), 2, &x),
                     MXP_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_open_closed),
        cmocka_unit_test(test_tcp_accept_then_reset),
        cmocka_unit_test(test_tcp_filtered),
        cmocka_unit_test(test_tcp_invalid),
        cmocka_unit_test_setup_teardown(test_udp_answer_and_spoof, peer_setup,
                                        peer_teardown),
        cmocka_unit_test_setup_teardown(test_udp_too_big, peer_setup,
                                        peer_teardown),
        cmocka_unit_test_setup_teardown(test_udp_timeout, peer_setup,
                                        peer_teardown),
        cmocka_unit_test_setup_teardown(test_udp_unreachable_and_invalid,
                                        peer_setup, peer_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
