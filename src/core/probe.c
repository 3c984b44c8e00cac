/*
 * probe.c - port probes and one-shot UDP exchanges (see probe.h).
 *
 * A port probe only connects: nothing is written, and each socket is
 * closed as soon as its outcome is known, so a probe costs the target one
 * handshake.  All connects of a call go out at once and one poll() waits
 * for them, so n ports take one connect timeout, not n.  The UDP socket
 * is connect()ed to the target, so the kernel drops datagrams from any
 * other address or port and reports an ICMP port unreachable as
 * ECONNREFUSED; the source is checked again anyway, since a hostile
 * network may spoof.
 */
#include "probe.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "net.h"

static double earlier(double a, double b)
{
    return a < b ? a : b;
}

/* The outcome of a failed connect, errno holding the cause. */
static void port_failed(struct mxp_port_probe *p, int err, int rc)
{
    if (err == ECONNREFUSED)
        p->state = MXP_PORT_CLOSED;
    else if (rc == MXP_ERR_TIMEOUT)
        p->state = MXP_PORT_FILTERED;
    else
        p->state = MXP_PORT_ERROR;
}

int mxp_tcp_probe(const char *addr, struct mxp_port_probe *p, size_t n,
                  double connect_timeout, double deadline)
{
    struct pollfd pfd[MXP_PROBE_MAX_PORTS];
    size_t idx[MXP_PROBE_MAX_PORTS], waiting = 0;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char err[128];
    double start = mxp_now(), until;
    int rc, cut;

    if (p == NULL || n == 0 || n > MXP_PROBE_MAX_PORTS)
        return MXP_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (mxp_net_sockaddr(addr, p[i].port, &ss, &sslen, err, sizeof(err)) !=
            MXP_OK)
            return MXP_ERR_INVALID;
    if (!(connect_timeout > 0))
        connect_timeout = 5.0;
    until = earlier(deadline, start + connect_timeout);
    cut = deadline < start + connect_timeout;
    for (size_t i = 0; i < n; i++) {
        int fd, pending;

        p[i].state = MXP_PORT_ERROR;
        p[i].elapsed = 0;
        p[i].words[0] = '\0';
        if (mxp_poll_ms(until) == 0) {
            /* Not probed is not "no answer": never a false OK. */
            p[i].state = MXP_PORT_ERROR;
            snprintf(p[i].words, sizeof(p[i].words),
                     "not probed: the job's deadline came first");
            continue;
        }
        rc = mxp_tcp_connect_start(addr, p[i].port, &fd, &pending, p[i].words,
                                   sizeof(p[i].words));
        if (rc != MXP_OK) {
            port_failed(&p[i], errno, rc);
            p[i].elapsed = mxp_now() - start;
            continue;
        }
        if (!pending) {
            close(fd);
            p[i].state = MXP_PORT_OPEN;
            snprintf(p[i].words, sizeof(p[i].words), "connected");
            p[i].elapsed = mxp_now() - start;
            continue;
        }
        pfd[waiting].fd = fd;
        pfd[waiting].events = POLLOUT;
        idx[waiting++] = i;
    }

    while (waiting > 0) {
        int ms = mxp_poll_ms(until);

        rc = poll(pfd, (nfds_t)waiting, ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || (rc == 0 && mxp_poll_ms(until) == 0)) {
            int saved = errno;

            /* Out of time (or poll broke): what is still waiting had no
             * answer.  A firewall that drops is what this looks like. */
            for (size_t w = 0; w < waiting; w++) {
                struct mxp_port_probe *q = &p[idx[w]];

                close(pfd[w].fd);
                q->elapsed = mxp_now() - start;
                if (rc < 0) {
                    q->state = MXP_PORT_ERROR;
                    snprintf(q->words, sizeof(q->words), "poll: %s",
                             strerror(saved));
                } else if (cut) {
                    /* The job's deadline, not the connect timeout, ended
                     * the wait: too short to call the port filtered. */
                    q->state = MXP_PORT_ERROR;
                    snprintf(q->words, sizeof(q->words),
                             "no answer before the job's deadline "
                             "(%.1f s of the %.1f s connect timeout)",
                             q->elapsed, connect_timeout);
                } else {
                    q->state = MXP_PORT_FILTERED;
                    snprintf(q->words, sizeof(q->words),
                             "no answer within %.1f s", q->elapsed);
                }
            }
            break;
        }
        for (size_t w = 0; w < waiting;) {
            struct mxp_port_probe *q = &p[idx[w]];

            if (pfd[w].revents == 0) {
                w++;
                continue;
            }
            q->elapsed = mxp_now() - start;
            rc = mxp_tcp_connect_finish(pfd[w].fd, q->port, q->words,
                                        sizeof(q->words));
            if (rc == MXP_OK) {
                q->state = MXP_PORT_OPEN;
                snprintf(q->words, sizeof(q->words), "connected");
            } else if (errno == ECONNRESET) {
                /* A reset needs an established connection (a refused
                 * SYN is ECONNREFUSED): the handshake completed, so
                 * something listens, whatever it did next. */
                q->state = MXP_PORT_OPEN;
                snprintf(q->words, sizeof(q->words),
                         "connected, then reset by the peer");
            } else {
                port_failed(q, errno, rc);
            }
            close(pfd[w].fd);
            pfd[w] = pfd[waiting - 1];
            idx[w] = idx[waiting - 1];
            waiting--;
        }
    }
    return MXP_OK;
}

/* 1 when from is the address and port we sent to. */
static int same_peer(const struct sockaddr_storage *to,
                     const struct sockaddr_storage *from)
{
    if (to->ss_family != from->ss_family)
        return 0;
    if (to->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)to, *b = (const void *)from;
        return a->sin_port == b->sin_port &&
               memcmp(&a->sin_addr, &b->sin_addr, 4) == 0;
    }
    {
        const struct sockaddr_in6 *a = (const void *)to,
                                  *b = (const void *)from;
        return a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
    }
}

int mxp_udp_exchange(struct mxp_udp_exchange *x, double default_timeout,
                     double deadline)
{
    struct sockaddr_storage to, from;
    socklen_t tolen, fromlen;
    double start = mxp_now(), timeout, until;
    ssize_t got;
    int fd, rc;

    if (x == NULL)
        return MXP_ERR_INVALID;
    x->resp_len = 0;
    x->elapsed = 0;
    x->words[0] = '\0';
    if (x->req == NULL || x->req_len == 0 || x->req_len > 65507 ||
        x->resp == NULL || x->cap == 0 || x->cap > 65535) {
        snprintf(x->words, sizeof(x->words), "bad request or answer size");
        return MXP_ERR_INVALID;
    }
    rc = mxp_net_sockaddr(x->addr, x->port, &to, &tolen, x->words,
                          sizeof(x->words));
    if (rc != MXP_OK)
        return rc;
    timeout = x->timeout > 0 ? x->timeout : default_timeout;
    if (!(timeout > 0))
        timeout = 5.0;
    until = earlier(deadline, start + timeout);

    fd = socket(to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(x->words, sizeof(x->words), "socket: %s", strerror(errno));
        return MXP_ERR_IO;
    }
    if (connect(fd, (struct sockaddr *)&to, tolen) != 0 ||
        send(fd, x->req, x->req_len, MSG_NOSIGNAL) != (ssize_t)x->req_len) {
        rc = errno == ECONNREFUSED ? MXP_ERR_CONNECT : MXP_ERR_IO;
        snprintf(x->words, sizeof(x->words), "send: %s", strerror(errno));
        close(fd);
        return rc;
    }
    for (;;) {
        rc = mxp_net_wait_fd(fd, POLLIN, until);
        if (rc < 0) {
            snprintf(x->words, sizeof(x->words), "poll: %s", strerror(errno));
            rc = MXP_ERR_IO;
            break;
        }
        if (rc == 0) {
            if (deadline < start + timeout) {
                /* The job's deadline cut the wait short: silence that
                 * short says nothing (never a false OK). */
                snprintf(x->words, sizeof(x->words),
                         "no answer before the job's deadline (%.1f s of "
                         "the %.1f s timeout)",
                         mxp_now() - start, timeout);
                rc = MXP_ERR_IO;
                break;
            }
            snprintf(x->words, sizeof(x->words), "no answer within %.1f s",
                     mxp_now() - start);
            rc = MXP_ERR_TIMEOUT;
            break;
        }
        fromlen = sizeof(from);
        memset(&from, 0, sizeof(from));
        /* MSG_TRUNC: the datagram's real length, so that an answer over
         * the cap is known as such rather than silently cut. */
        got = recvfrom(fd, x->resp, x->cap, MSG_TRUNC, (struct sockaddr *)&from,
                       &fromlen);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            if (errno == ECONNREFUSED) {
                snprintf(x->words, sizeof(x->words),
                         "port unreachable (ICMP): nothing listens");
                rc = MXP_ERR_CONNECT;
            } else {
                snprintf(x->words, sizeof(x->words), "receive: %s",
                         strerror(errno));
                rc = MXP_ERR_IO;
            }
            break;
        }
        if (!same_peer(&to, &from))
            continue; /* not the target's answer */
        x->elapsed = mxp_now() - start;
        if ((size_t)got > x->cap) {
            x->resp_len = x->cap;
            snprintf(x->words, sizeof(x->words),
                     "answer of %zd bytes, over the cap of %zu", got, x->cap);
            rc = MXP_ERR_TOO_BIG;
            break;
        }
        x->resp_len = (size_t)got;
        rc = MXP_OK;
        break;
    }
    close(fd);
    return rc;
}
