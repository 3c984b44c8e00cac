/*
 * sweep.c - CIDR blocks and the connect sweep (sweep.h).
 *
 * The sweep is one poll() loop over at most MXP_SWEEP_MAX_INFLIGHT
 * non-blocking connects.  A connect that completes means "there"; a
 * refusal, a reset or no answer within the timeout mean "not there".
 * Failures that are this machine's (no route, no source address, out of
 * sockets) are counted apart: a sweep that found nothing only because it
 * could not send must not read as an empty block.
 */
#include "sweep.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "expand.h"
#include "mxprobe/plugin.h"

/* 0.0.0.0, :: or ::ffff:0.0.0.0. */
static int unspecified(int family, const unsigned char *b)
{
    static const unsigned char zero[16];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};

    if (family == AF_INET)
        return memcmp(b, zero, 4) == 0;
    return memcmp(b + 12, zero, 4) == 0 &&
           (memcmp(b, zero, 12) == 0 || memcmp(b, mapped, 12) == 0);
}

int mxp_cidr_parse(const char *text, struct mxp_cidr *out, char *err,
                   size_t errlen)
{
    char addr[INET6_ADDRSTRLEN + 1], shown[INET6_ADDRSTRLEN];
    const char *slash = strchr(text, '/'), *p;
    unsigned char masked[16];
    unsigned bits, prefix = 0, host_bits, i;
    size_t alen;

    memset(out, 0, sizeof(*out));
    if (slash == NULL || (alen = (size_t)(slash - text)) == 0 ||
        alen >= sizeof(addr)) {
        snprintf(err, errlen, "'%.80s' is not a CIDR block (ADDRESS/PREFIX)",
                 text);
        return MXP_ERR_INVALID;
    }
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, out->net) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, addr, out->net) == 1)
        out->family = AF_INET6;
    else {
        snprintf(err, errlen,
                 "'%.80s' is not a CIDR block: '%s' is not an IPv4 or IPv6 "
                 "address",
                 text, addr);
        return MXP_ERR_INVALID;
    }
    bits = out->family == AF_INET ? 32 : 128;
    p = slash + 1;
    if (*p == '\0' || strlen(p) > 3) {
        snprintf(err, errlen,
                 "'%.80s' is not a CIDR block: the prefix must be 0..%u", text,
                 bits);
        return MXP_ERR_INVALID;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            snprintf(err, errlen,
                     "'%.80s' is not a CIDR block: the prefix must be 0..%u",
                     text, bits);
            return MXP_ERR_INVALID;
        }
        prefix = prefix * 10 + (unsigned)(*p - '0');
    }
    if (prefix > bits) {
        snprintf(err, errlen,
                 "'%.80s' is not a CIDR block: the prefix must be 0..%u", text,
                 bits);
        return MXP_ERR_INVALID;
    }
    out->prefix = prefix;

    memcpy(masked, out->net, 16);
    for (i = prefix; i < bits; i++)
        masked[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
    if (memcmp(masked, out->net, bits / 8) != 0) {
        inet_ntop(out->family, masked, shown, sizeof(shown));
        snprintf(err, errlen, "'%.80s' has host bits set: the block is %s/%u",
                 text, shown, prefix);
        return MXP_ERR_INVALID;
    }
    host_bits = bits - prefix;
    if (host_bits > 16) {
        snprintf(err, errlen,
                 "'%.80s' is too big: a block may hold at most %u addresses "
                 "(/%u); split it or check fewer",
                 text, MXP_CIDR_MAX_ADDRS, out->family == AF_INET ? 16 : 112);
        return MXP_ERR_INVALID;
    }
    out->count = (uint32_t)1 << host_bits;
    out->first = 0;
    out->last = out->count - 1;
    /* The network and broadcast addresses of a LAN are nobody's server;
     * a /31 (RFC 3021) or /32 has neither. */
    if (out->family == AF_INET && prefix <= 30) {
        out->first = 1;
        out->last = out->count - 2;
    }
    /* 0.0.0.0, :: and ::ffff:0.0.0.0 connect to this very machine (a DNS
     * answer of them is dropped for that): when the block holds one, it is
     * index 0, and is left out; a block of nothing else is an error. */
    mxp_cidr_addr(out, 0, masked);
    if (unspecified(out->family, masked)) {
        if (out->count == 1) {
            snprintf(err, errlen,
                     "'%.80s' is only the unspecified address, which would "
                     "probe this machine",
                     text);
            return MXP_ERR_INVALID;
        }
        if (out->first == 0)
            out->first = 1;
    }
    return MXP_OK;
}

void mxp_cidr_addr(const struct mxp_cidr *c, uint32_t i, unsigned char out[16])
{
    size_t len = c->family == AF_INET ? 4 : 16;

    memset(out, 0, 16);
    memcpy(out, c->net, len);
    /* At most 16 host bits: they sit in the last two bytes. */
    out[len - 1] = (unsigned char)(out[len - 1] | (i & 0xff));
    out[len - 2] = (unsigned char)(out[len - 2] | (i >> 8 & 0xff));
}

enum { PENDING = 0, THERE, ABSENT, LOCAL_FAIL };

struct slot {
    int fd;
    uint32_t idx;
    double deadline;
};

static socklen_t make_sockaddr(const struct mxp_cidr *c, uint32_t i,
                               unsigned port, struct sockaddr_storage *ss)
{
    unsigned char b[16];

    mxp_cidr_addr(c, i, b);
    memset(ss, 0, sizeof(*ss));
    if (c->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        memcpy(&sin->sin_addr, b, 4);
        return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    memcpy(&sin6->sin6_addr, b, 16);
    return sizeof(*sin6);
}

/* Errors that say the probe could not be sent from here, not that the
 * address has no server (EINVAL: a link-local block, which needs an
 * interface to be reached). */
static int local_errno(int e)
{
    return e == ENETUNREACH || e == EADDRNOTAVAIL || e == EAFNOSUPPORT ||
           e == ENETDOWN || e == EACCES || e == EPERM || e == EINVAL;
}

/* Starts the connect of index i: 1 in flight (slot filled), 0 decided at
 * once (state set), -1 out of sockets (try again later), -2 a socket
 * could not be had for another reason (errno). */
static int start_one(const struct mxp_cidr *c, uint32_t i, unsigned port,
                     double timeout, struct slot *s, unsigned char *state)
{
    struct sockaddr_storage ss;
    socklen_t len = make_sockaddr(c, i, port, &ss);
    int fd, e;

    fd = socket(c->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        e = errno;
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
            return -1;
        if (local_errno(e)) {
            state[i] = LOCAL_FAIL;
            return 0;
        }
        errno = e;
        return -2;
    }
    if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
        close(fd);
        state[i] = THERE;
        return 0;
    }
    e = errno;
    if (e == EINPROGRESS || e == EINTR) {
        s->fd = fd;
        s->idx = i;
        s->deadline = mxp_now() + timeout;
        return 1;
    }
    close(fd);
    state[i] = local_errno(e) ? LOCAL_FAIL : ABSENT;
    return 0;
}

static void finish_one(struct slot *s, unsigned char *state)
{
    int soerr = 0;
    socklen_t olen = sizeof(soerr);

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &olen) != 0)
        soerr = errno;
    if (soerr == 0)
        state[s->idx] = THERE;
    else
        state[s->idx] = local_errno(soerr) ? LOCAL_FAIL : ABSENT;
    /* A plain close: a FIN, as polite as a connect can end. */
    close(s->fd);
    s->fd = -1;
}

int mxp_sweep(const struct mxp_cidr *c, unsigned port, double rate,
              double timeout, mxp_sweep_cb cb, void *user, char *err,
              size_t errlen)
{
    struct slot slots[MXP_SWEEP_MAX_INFLIGHT];
    struct pollfd pfd[MXP_SWEEP_MAX_INFLIGHT];
    unsigned char *state;
    uint64_t started = 0, total, found = 0, local = 0;
    uint32_t next, emit;
    size_t inflight = 0, k;
    double t0, now, wake;
    int rc = MXP_OK, starved = 0;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (c->count == 0 || c->first > c->last || rate <= 0 || timeout <= 0)
        return MXP_OK;
    state = calloc(c->count, 1);
    if (state == NULL)
        return MXP_ERR_NOMEM;
    for (k = 0; k < MXP_SWEEP_MAX_INFLIGHT; k++)
        slots[k].fd = -1;
    next = emit = c->first;
    total = (uint64_t)c->last - c->first + 1;
    t0 = mxp_now();

    while (emit <= c->last) {
        now = mxp_now();
        /* Start what the rate allows: the k-th connect not before
         * t0 + k / rate, so no second ever holds more than rate + 1. */
        starved = 0;
        while (next <= c->last && inflight < MXP_SWEEP_MAX_INFLIGHT &&
               (double)started <= (now - t0) * rate) {
            for (k = 0; slots[k].fd >= 0; k++)
                ;
            int st = start_one(c, next, port, timeout, &slots[k], state);
            if (st == -1) {
                starved = 1;
                break;
            }
            if (st == -2) {
                snprintf(err, errlen, "cannot open a socket: %s",
                         strerror(errno));
                rc = MXP_ERR_IO;
                goto done;
            }
            if (st == 1)
                inflight++;
            started++;
            next++;
        }
        if (starved && inflight == 0) {
            snprintf(err, errlen, "cannot open a socket: out of descriptors");
            rc = MXP_ERR_IO;
            goto done;
        }
        /* Report the decided prefix, in address order. */
        while (emit <= c->last && state[emit] != PENDING) {
            if (state[emit] == THERE) {
                unsigned char b[16];

                found++;
                mxp_cidr_addr(c, emit, b);
                if (cb(user, c->family, b) != 0) {
                    rc = MXP_ERR_INVALID;
                    goto done;
                }
            } else if (state[emit] == LOCAL_FAIL) {
                local++;
            }
            emit++;
        }
        if (emit > c->last)
            break;

        /* Wait for a connect to finish, the next one's turn, or the
         * earliest timeout. */
        wake = now + 1.0;
        if (next <= c->last && inflight < MXP_SWEEP_MAX_INFLIGHT && !starved)
            wake = mxp_min_deadline(wake, t0 + (double)started / rate);
        size_t np = 0;
        for (k = 0; k < MXP_SWEEP_MAX_INFLIGHT; k++) {
            if (slots[k].fd < 0)
                continue;
            wake = mxp_min_deadline(wake, slots[k].deadline);
            pfd[np].fd = slots[k].fd;
            pfd[np].events = POLLOUT;
            pfd[np].revents = 0;
            np++;
        }
        if (poll(pfd, np, mxp_poll_ms(wake)) < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            rc = MXP_ERR_IO;
            goto done;
        }
        now = mxp_now();
        np = 0;
        for (k = 0; k < MXP_SWEEP_MAX_INFLIGHT; k++) {
            if (slots[k].fd < 0)
                continue;
            if (pfd[np].revents != 0) {
                finish_one(&slots[k], state);
                inflight--;
            } else if (now >= slots[k].deadline) {
                state[slots[k].idx] = ABSENT;
                close(slots[k].fd);
                slots[k].fd = -1;
                inflight--;
            }
            np++;
        }
    }
    if (local > 0)
        snprintf(err, errlen,
                 "%llu of %llu connects to port %u could not be sent from "
                 "here (no route or no source address): %s",
                 (unsigned long long)local, (unsigned long long)total, port,
                 found == 0 ? "the sweep cannot tell whether anything listens"
                            : "those addresses are not checked");
done:
    for (k = 0; k < MXP_SWEEP_MAX_INFLIGHT; k++)
        if (slots[k].fd >= 0)
            close(slots[k].fd);
    free(state);
    return rc;
}
