/*
 * tcpdelay.c - a TCP proxy that adds a fixed one-way delay, for benchmarks
 * (this kernel has no netem).  Every chunk of bytes read from one side is
 * written to the other exactly --delay-ms after it arrived, in both
 * directions, and so is each end-of-stream (half-close).  The handshake
 * with the proxy itself is instant, so it waits --connect-delay-ms
 * (default: one round trip, 2 x delay) before connecting upstream: the
 * greeting then reaches the client 3 x delay after its connect(), as over
 * a real path.  Single-threaded (ppoll).
 *
 *   tcpdelay --listen 127.0.0.173:25 --upstream 127.0.0.171:25 \
 *            --delay-ms 25 [--connect-delay-ms N] [--pidfile F]
 *
 * Addresses are "a.b.c.d:port" or "[v6]:port".  --listen may be given
 * up to MAX_LISTEN times (the 1000 targets of bench/many_bench.py), and
 * --upstream ":PORT" forwards each connection to the address it arrived
 * at, on PORT: one proxy in front of a server per loopback address.
 * Memory is bounded: at most MAX_PAIRS connections at once (more wait in
 * the listen backlog) and MAX_QUEUED bytes in flight per direction
 * (reading stops until they have been written).  A read or write error on
 * either side closes both.  SIGTERM or SIGINT ends it; it prints its
 * counters on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "delay_common.h"

#define MAX_PAIRS 4096
#define MAX_LISTEN 4096
#define MAX_QUEUED (256 * 1024)
#define READ_SIZE 16384
#define NS_PER_MS 1000000LL

struct chunk {
    struct chunk *next;
    int64_t due; /* monotonic ns */
    size_t len, off;
    int fin; /* end of stream: shutdown(SHUT_WR) the destination */
    unsigned char data[];
};

/* One direction of a pair: what was read from src, waiting for dst. */
struct dir {
    struct chunk *head, *tail;
    size_t queued;
    int eof;     /* src said end of stream (or a fin is queued) */
    int done;    /* the fin went out */
    int blocked; /* dst's send buffer is full: wait for POLLOUT */
};

struct pair {
    int used;
    int cfd, ufd;  /* client side, upstream side (-1: not yet) */
    int connected; /* the upstream connect() completed */
    int64_t connect_at;
    struct sockaddr_storage up; /* where this one goes */
    socklen_t up_len;
    struct dir d[2]; /* 0: client -> upstream, 1: upstream -> client */
};

struct proxy {
    int lfd[MAX_LISTEN];
    size_t n_listen;
    int epfd; /* the listening sockets: one pollfd for a thousand */
    int64_t delay, connect_delay;
    struct sockaddr_storage up;
    socklen_t up_len;
    unsigned up_port; /* --upstream :PORT: the arrival address, on PORT */
    struct pair p[MAX_PAIRS];
    size_t n_used, hi; /* pairs in use; none at or above hi */
    struct {
        unsigned long long accepted, refused, closed_ok, closed_err;
        unsigned long long bytes[2];
    } st;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tcpdelay --listen ADDR:PORT [--listen ...] "
               "--upstream ADDR:PORT|:PORT\n"
               "                --delay-ms N [--connect-delay-ms N] "
               "[--pidfile FILE]\n"
               "ADDR:PORT is a.b.c.d:port or [v6]:port; :PORT is the "
               "address a client connected to\n");
}

static int parse_ms(const char *s, int64_t *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v < 0 || v > 600000)
        return -1;
    *out = (int64_t)v * NS_PER_MS;
    return 0;
}

/* Small writes must leave at their due time, not wait for an ACK. */
static void no_delay(int fd)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- pairs ------------------------------------------------------------ */

static void dir_clear(struct dir *d)
{
    struct chunk *c, *next;

    for (c = d->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    memset(d, 0, sizeof(*d));
}

static void pair_close(struct proxy *x, struct pair *p, int ok)
{
    if (p->cfd >= 0)
        close(p->cfd);
    if (p->ufd >= 0)
        close(p->ufd);
    dir_clear(&p->d[0]);
    dir_clear(&p->d[1]);
    p->used = 0;
    p->cfd = p->ufd = -1;
    x->n_used--;
    if (ok)
        x->st.closed_ok++;
    else
        x->st.closed_err++;
}

/* Queues len bytes (len 0: the end of stream) due at now + delay. */
static int dir_push(struct proxy *x, struct dir *d, const unsigned char *b,
                    size_t len, int64_t now)
{
    struct chunk *c = malloc(sizeof(*c) + len);

    if (c == NULL)
        return -1;
    c->next = NULL;
    c->due = now + x->delay;
    c->len = len;
    c->off = 0;
    c->fin = len == 0;
    if (len > 0)
        memcpy(c->data, b, len);
    if (d->tail != NULL)
        d->tail->next = c;
    else
        d->head = c;
    d->tail = c;
    d->queued += len;
    if (c->fin)
        d->eof = 1;
    return 0;
}

/* Writes what is due to dst; -1 on a write error. */
static int dir_flush(struct dir *d, int dst, int64_t now)
{
    struct chunk *c;
    ssize_t n;

    while ((c = d->head) != NULL && c->due <= now && !d->blocked) {
        if (c->fin) {
            (void)shutdown(dst, SHUT_WR);
            d->done = 1;
        } else {
            n = send(dst, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    d->blocked = 1;
                    break;
                }
                if (errno == EINTR)
                    continue;
                return -1;
            }
            c->off += (size_t)n;
            d->queued -= (size_t)n;
            if (c->off < c->len)
                continue;
        }
        d->head = c->next;
        if (d->head == NULL)
            d->tail = NULL;
        free(c);
    }
    return 0;
}

/* Reads what src has into direction d; -1 on a read error. */
static int dir_read(struct proxy *x, struct dir *d, int src, int k, int64_t now)
{
    unsigned char buf[READ_SIZE];
    ssize_t n;

    if (d->eof || d->queued >= MAX_QUEUED)
        return 0;
    n = recv(src, buf, sizeof(buf), 0);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
                                                                         : -1;
    x->st.bytes[k] += (unsigned long long)n;
    return dir_push(x, d, buf, (size_t)n, now);
}

static void start_connect(struct proxy *x, struct pair *p)
{
    p->ufd = socket(p->up.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (p->ufd < 0) {
        pair_close(x, p, 0);
        return;
    }
    no_delay(p->ufd);
    if (connect(p->ufd, (struct sockaddr *)&p->up, p->up_len) == 0)
        p->connected = 1;
    else if (errno != EINPROGRESS)
        pair_close(x, p, 0);
}

/* Where pair p goes: --upstream, or with :PORT the address its client
 * connected to. */
static int pair_upstream(struct proxy *x, struct pair *p)
{
    if (x->up_port == 0) {
        p->up = x->up;
        p->up_len = x->up_len;
        return 0;
    }
    p->up_len = sizeof(p->up);
    if (getsockname(p->cfd, (struct sockaddr *)&p->up, &p->up_len) != 0)
        return -1;
    if (p->up.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&p->up)->sin6_port =
            htons((uint16_t)x->up_port);
    else
        ((struct sockaddr_in *)&p->up)->sin_port = htons((uint16_t)x->up_port);
    return 0;
}

static void accept_all(struct proxy *x, int lfd, int64_t now)
{
    struct pair *p;
    size_t i;
    int fd;

    while (x->n_used < MAX_PAIRS) {
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0)
            return;
        for (i = 0; x->p[i].used; i++)
            ;
        p = &x->p[i];
        memset(p, 0, sizeof(*p));
        p->used = 1;
        p->cfd = fd;
        p->ufd = -1;
        p->connect_at = now + x->connect_delay;
        no_delay(fd);
        x->n_used++;
        if (i + 1 > x->hi)
            x->hi = i + 1;
        x->st.accepted++;
        if (pair_upstream(x, p) != 0)
            pair_close(x, p, 0);
    }
}

/* Timers of one pair: starts connects and writes what is due.  Returns
 * the next time something of it falls due (INT64_MAX: none). */
static int64_t pair_tick(struct proxy *x, struct pair *p, int64_t now)
{
    int64_t next = INT64_MAX;
    int k;

    if (p->ufd < 0) {
        if (now < p->connect_at)
            return p->connect_at;
        start_connect(x, p);
        if (!p->used)
            return next;
    }
    if (!p->connected)
        return next; /* client data waits in d[0] */
    if (dir_flush(&p->d[0], p->ufd, now) != 0 ||
        dir_flush(&p->d[1], p->cfd, now) != 0) {
        pair_close(x, p, 0);
        return next;
    }
    if (p->d[0].done && p->d[1].done) {
        pair_close(x, p, 1);
        return next;
    }
    for (k = 0; k < 2; k++)
        if (p->d[k].head != NULL && !p->d[k].blocked &&
            p->d[k].head->due < next)
            next = p->d[k].head->due;
    return next;
}

/* ---- the loop --------------------------------------------------------- */

static int run(struct proxy *x, const sigset_t *waitmask)
{
    static struct pollfd pfd[1 + 2 * MAX_PAIRS];
    struct pollfd *pp = pfd + 1; /* the pairs'; pfd[0] the listeners' */
    struct epoll_event ev[64];
    int k, n_ev;
    struct pair *p;
    struct timespec ts;
    int64_t now, next, t;
    socklen_t elen;
    size_t i, n;
    int err;

    while (!quit) {
        now = now_ns();
        next = now + 1000 * NS_PER_MS;
        for (i = 0; i < x->hi; i++)
            if (x->p[i].used) {
                t = pair_tick(x, &x->p[i], now);
                if (t < next)
                    next = t;
            }
        while (x->hi > 0 && !x->p[x->hi - 1].used)
            x->hi--;

        pfd[0].fd = x->n_used < MAX_PAIRS ? x->epfd : -1;
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        for (i = 0; i < x->hi; i++) {
            struct pollfd *c = &pp[2 * i], *u = c + 1;
            p = &x->p[i];
            c->fd = u->fd = -1;
            c->events = u->events = 0;
            c->revents = u->revents = 0;
            if (!p->used)
                continue;
            if (!p->d[0].eof && p->d[0].queued < MAX_QUEUED)
                c->events |= POLLIN;
            if (p->d[1].blocked)
                c->events |= POLLOUT;
            if (p->ufd >= 0 && !p->connected) {
                u->events = POLLOUT;
            } else if (p->ufd >= 0) {
                if (!p->d[1].eof && p->d[1].queued < MAX_QUEUED)
                    u->events |= POLLIN;
                if (p->d[0].blocked)
                    u->events |= POLLOUT;
            }
            /* Nothing asked: leave the fd out, or a hang-up spins. */
            if (c->events != 0)
                c->fd = p->cfd;
            if (u->events != 0)
                u->fd = p->ufd;
        }

        t = next - now;
        if (t < 0)
            t = 0;
        ts.tv_sec = (time_t)(t / 1000000000LL);
        ts.tv_nsec = (long)(t % 1000000000LL);
        /* Signals are blocked except inside ppoll: no lost wake-up. */
        if (ppoll(pfd, 1 + 2 * x->hi, &ts, waitmask) < 0) {
            if (errno == EINTR)
                continue;
            perror("tcpdelay: ppoll");
            return -1;
        }
        now = now_ns();
        n = x->hi; /* accept_all below may raise it */
        for (i = 0; i < n; i++) {
            struct pollfd *c = &pp[2 * i], *u = c + 1;
            p = &x->p[i];
            if (!p->used)
                continue;
            if (u->revents != 0 && !p->connected) {
                err = 0;
                elen = sizeof(err);
                if (getsockopt(p->ufd, SOL_SOCKET, SO_ERROR, &err, &elen) !=
                        0 ||
                    err != 0) {
                    pair_close(x, p, 0);
                    continue;
                }
                p->connected = 1;
                u->revents = 0;
            }
            if (c->revents & POLLOUT)
                p->d[1].blocked = 0;
            if (u->revents & POLLOUT)
                p->d[0].blocked = 0;
            err = 0;
            if ((c->revents & (POLLIN | POLLHUP | POLLERR)) &&
                dir_read(x, &p->d[0], p->cfd, 0, now) != 0)
                err = 1;
            if ((u->revents & (POLLIN | POLLHUP | POLLERR)) &&
                dir_read(x, &p->d[1], p->ufd, 1, now) != 0)
                err = 1;
            if (err)
                pair_close(x, p, 0);
        }
        if (pfd[0].revents & POLLIN) {
            n_ev = epoll_wait(x->epfd, ev, 64, 0);
            for (k = 0; k < n_ev; k++)
                accept_all(x, ev[k].data.fd, now);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {"delay-ms", required_argument, NULL, 'd'},
        {"connect-delay-ms", required_argument, NULL, 'c'},
        {"pidfile", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct proxy x; /* big: the pair table */
    static struct sockaddr_storage laddr[MAX_LISTEN];
    static socklen_t llen[MAX_LISTEN];
    const char *pidfile = NULL;
    sigset_t waitmask;
    struct rlimit rl;
    int c, have_u = 0, have_d = 0, have_c = 0, have_pidfile = 0, bad = 0;
    int rc = 1, one = 1;
    size_t i;
    char *end;
    long port;

    for (i = 0; i < MAX_PAIRS; i++)
        x.p[i].cfd = x.p[i].ufd = -1;
    for (i = 0; i < MAX_LISTEN; i++)
        x.lfd[i] = -1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (x.n_listen == MAX_LISTEN ||
                parse_addr(optarg, &laddr[x.n_listen], &llen[x.n_listen]) !=
                    0) {
                fprintf(stderr, "tcpdelay: bad --listen '%s'\n", optarg);
                bad = 1;
            } else {
                x.n_listen++;
            }
            break;
        case 'u':
            if (optarg[0] == ':') {
                errno = 0;
                port = strtol(optarg + 1, &end, 10);
                have_u = errno == 0 && *end == '\0' && end != optarg + 1 &&
                         port >= 1 && port <= 65535;
                x.up_port = have_u ? (unsigned)port : 0;
            } else {
                have_u = parse_addr(optarg, &x.up, &x.up_len) == 0;
            }
            if (!have_u)
                fprintf(stderr, "tcpdelay: bad --upstream '%s'\n", optarg);
            break;
        case 'd':
        case 'c':
            if (parse_ms(optarg, c == 'd' ? &x.delay : &x.connect_delay)) {
                fprintf(stderr, "tcpdelay: bad number '%s'\n", optarg);
                goto done;
            }
            if (c == 'd')
                have_d = 1;
            else
                have_c = 1;
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
    }
    if (x.n_listen == 0 || bad || !have_u || !have_d || optind != argc) {
        usage(stderr);
        goto done;
    }
    if (!have_c)
        x.connect_delay = 2 * x.delay;
    /* Each listen address and each side of each pair is a descriptor. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }

    x.epfd = epoll_create1(0);
    if (x.epfd < 0) {
        perror("tcpdelay: epoll_create1");
        goto done;
    }
    for (i = 0; i < x.n_listen; i++) {
        struct epoll_event e = {.events = EPOLLIN};

        x.lfd[i] = socket(laddr[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (x.lfd[i] < 0) {
            perror("tcpdelay: socket");
            goto done;
        }
        (void)setsockopt(x.lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(x.lfd[i], (struct sockaddr *)&laddr[i], llen[i]) != 0 ||
            listen(x.lfd[i], 512) != 0) {
            perror("tcpdelay: bind --listen");
            x.n_listen = i + 1;
            goto done;
        }
        e.data.fd = x.lfd[i];
        if (epoll_ctl(x.epfd, EPOLL_CTL_ADD, x.lfd[i], &e) != 0) {
            perror("tcpdelay: epoll_ctl");
            x.n_listen = i + 1;
            goto done;
        }
    }

    catch_stop_signals(&waitmask);
    if (pidfile != NULL) {
        if (write_pidfile(pidfile) != 0) {
            perror("tcpdelay: pidfile");
            goto done;
        }
        have_pidfile = 1;
    }
    if (run(&x, &waitmask) == 0)
        rc = 0;
    fprintf(stderr,
            "tcpdelay: %llu connections (%llu closed cleanly, %llu on an "
            "error), %llu bytes to upstream, %llu to clients\n",
            x.st.accepted, x.st.closed_ok, x.st.closed_err, x.st.bytes[0],
            x.st.bytes[1]);

done:
    if (have_pidfile)
        unlink(pidfile);
    for (i = 0; i < MAX_PAIRS; i++)
        if (x.p[i].used)
            pair_close(&x, &x.p[i], 0);
    for (i = 0; i < x.n_listen; i++)
        if (x.lfd[i] >= 0)
            close(x.lfd[i]);
    if (x.epfd > 0)
        close(x.epfd);
    return rc;
}
