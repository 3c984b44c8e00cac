/*
 * net.c - TCP with deadlines (see net.h).
 *
 * Sockets are non-blocking from birth; every wait is a poll() whose
 * timeout is recomputed from the absolute deadline after each wake-up, so
 * EINTR or partial progress never stretch a wait.  Writes use MSG_NOSIGNAL:
 * a peer that hangs up gives EPIPE, never SIGPIPE.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "mxprobe/plugin.h"

int mxp_parse_addr(const char *text, int *family, unsigned char bytes[16])
{
    memset(bytes, 0, 16);
    if (text == NULL)
        return -1;
    if (inet_pton(AF_INET, text, bytes) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, bytes) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

/* strerror() in the lower case that reads well inside a sentence:
 * "connection refused", "no route to host". */
static void errno_words(int err, char *out, size_t len)
{
    char tmp[128];
    const char *s;

    s = strerror_r(err, tmp, sizeof(tmp));
    snprintf(out, len, "%s", s);
    if (len > 0 && out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' &&
        out[1] <= 'z')
        out[0] = (char)(out[0] - 'A' + 'a');
}

/* Failures that say something about the target (MXP_ERR_CONNECT) rather
 * than about us (MXP_ERR_IO): no route to a whole network, a network down
 * or no usable source address (say, no IPv6 here) are this prober's
 * problem, not evidence that the server is dead. */
static int connect_status(int err)
{
    switch (err) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ECONNRESET:
        return MXP_ERR_CONNECT;
    case ETIMEDOUT:
        return MXP_ERR_TIMEOUT;
    default:
        return MXP_ERR_IO;
    }
}

/* See net.h: shared by the connects and reads here and by probe.c. */
int mxp_net_wait_fd(int fd, short events, double deadline)
{
    struct pollfd pfd;
    int rc;

    for (;;) {
        pfd.fd = fd;
        pfd.events = events;
        pfd.revents = 0;
        rc = poll(&pfd, 1, mxp_poll_ms(deadline));
        if (rc > 0)
            return 1;
        if (rc == 0) {
            if (mxp_poll_ms(deadline) == 0)
                return 0;
            continue; /* woke a hair early */
        }
        if (errno != EINTR)
            return -1;
    }
}

/* Outbound port 25 is blocked on most cloud and consumer networks: a
 * connect to it that times out or finds no route usually means the
 * prober's own network, not the server.  A refusal is the server's own
 * answer and needs no such hint. */
static const char port25_hint[] =
    " (outbound port 25 is often blocked on the prober's own network: most "
    "cloud and consumer networks block it)";

/* A connect failure in words: strerror's, with the port 25 hint when the
 * error is one a blocked port 25 gives. */
static void connect_words(int err, unsigned port, char *out, size_t len)
{
    char words[128];

    errno_words(err, words, sizeof(words));
    snprintf(out, len, "%s%s", words,
             port == 25 && (err == ENETUNREACH || err == EHOSTUNREACH ||
                            err == ETIMEDOUT)
                 ? port25_hint
                 : "");
}

void mxp_tcp_connect_timeout_words(unsigned port, double waited, char *err,
                                   size_t errlen)
{
    snprintf(err, errlen, "timed out after %.1f s%s",
             waited > 0 ? waited : 0.0, port == 25 ? port25_hint : "");
}

/* A numeric address and a port a connect can go to; else the words. */
static int check_target(const char *addr, unsigned port, int *family,
                        unsigned char bytes[16], char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    if (mxp_parse_addr(addr, family, bytes) != 0) {
        snprintf(err, errlen, "not a numeric address");
        return MXP_ERR_INVALID;
    }
    if (port == 0 || port > 65535) {
        snprintf(err, errlen, "bad port %u", port);
        return MXP_ERR_INVALID;
    }
    return MXP_OK;
}

int mxp_net_sockaddr(const char *addr, unsigned port,
                     struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                     size_t errlen)
{
    unsigned char bytes[16];
    int family, rc;

    if ((rc = check_target(addr, port, &family, bytes, err, errlen)) != MXP_OK)
        return rc;
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        memcpy(&sin->sin_addr, bytes, 4);
        *sslen = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        memcpy(&sin6->sin6_addr, bytes, 16);
        *sslen = sizeof(*sin6);
    }
    return MXP_OK;
}

int mxp_tcp_connect_start(const char *addr, unsigned port, int *fd,
                          int *pending, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int s = -1, rc, one = 1, saved;

    *fd = -1;
    *pending = 0;
    rc = mxp_net_sockaddr(addr, port, &ss, &sslen, err, errlen);
    if (rc != MXP_OK)
        return rc;

    s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        errno_words(errno, err, errlen);
        return MXP_ERR_IO;
    }
    /* Commands are small and timed: don't let Nagle hold them back. */
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(s, (struct sockaddr *)&ss, sslen) == 0) {
        *fd = s;
        return MXP_OK;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        *fd = s;
        *pending = 1;
        return MXP_OK;
    }
    saved = errno;
    rc = connect_status(saved);
    connect_words(saved, port, err, errlen);
    close(s);
    errno = saved; /* tcp_probe tells a refusal from other failures */
    return rc;
}

int mxp_tcp_connect_finish(int fd, unsigned port, char *err, size_t errlen)
{
    int soerr = 0;
    socklen_t olen = sizeof(soerr);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &olen) != 0) {
        errno_words(errno, err, errlen);
        return MXP_ERR_IO;
    }
    if (soerr != 0) {
        connect_words(soerr, port, err, errlen);
        errno = soerr;
        return connect_status(soerr);
    }
    return MXP_OK;
}

int mxp_tcp_connect(const char *addr, unsigned port, double deadline, int *fd,
                    char *err, size_t errlen)
{
    double start = mxp_now();
    int s, pending, rc;

    *fd = -1;
    if (mxp_poll_ms(deadline) == 0) {
        unsigned char bytes[16];

        rc = check_target(addr, port, &pending, bytes, err, errlen);
        if (rc == MXP_OK) {
            mxp_tcp_connect_timeout_words(port, 0, err, errlen);
            rc = MXP_ERR_TIMEOUT;
        }
        return rc;
    }
    rc = mxp_tcp_connect_start(addr, port, &s, &pending, err, errlen);
    if (rc != MXP_OK || !pending) {
        *fd = s;
        return rc;
    }
    rc = mxp_net_wait_fd(s, POLLOUT, deadline);
    if (rc == 0) {
        mxp_tcp_connect_timeout_words(port, mxp_now() - start, err, errlen);
        rc = MXP_ERR_TIMEOUT;
    } else if (rc < 0) {
        errno_words(errno, err, errlen);
        rc = MXP_ERR_IO;
    } else {
        rc = mxp_tcp_connect_finish(s, port, err, errlen);
    }
    if (rc == MXP_OK)
        *fd = s;
    else
        close(s);
    return rc;
}

ssize_t mxp_net_read(int fd, void *buf, size_t len, double deadline)
{
    ssize_t n;
    int w;

    if (len == 0)
        return -MXP_ERR_INVALID;
    for (;;) {
        /* Try first: data already here is returned even at the deadline. */
        n = recv(fd, buf, len, 0);
        if (n > 0)
            return n;
        if (n == 0)
            return -MXP_ERR_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return -MXP_ERR_CLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -MXP_ERR_IO;
        w = mxp_net_wait_fd(fd, POLLIN, deadline);
        if (w == 0)
            return -MXP_ERR_TIMEOUT;
        if (w < 0)
            return -MXP_ERR_IO;
    }
}

int mxp_net_write_all(int fd, const void *buf, size_t len, double deadline)
{
    const char *p = buf;
    ssize_t n;
    int w;

    while (len > 0) {
        n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return MXP_ERR_CLOSED;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return MXP_ERR_IO;
        w = mxp_net_wait_fd(fd, POLLOUT, deadline);
        if (w == 0)
            return MXP_ERR_TIMEOUT;
        if (w < 0)
            return MXP_ERR_IO;
    }
    return MXP_OK;
}
