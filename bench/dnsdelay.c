/*
 * dnsdelay.c - a UDP DNS forwarder that adds a fixed delay, for benchmarks
 * (this kernel has no netem).  Every query is forwarded at once to the
 * upstream under a fresh query ID; its response goes back to the client
 * exactly --delay-ms after the query arrived (or as soon as it comes, if
 * the upstream is slower).  Single-threaded: ppoll() and a timer heap, so
 * thousands of queries can be in flight at once.
 *
 *   dnsdelay --listen 127.0.0.60:5353 --upstream 127.0.0.53:5353 \
 *            --delay-ms 50 [--drop-suffix zone.test ...] [--pidfile F] \
 *            [--max-inflight N] [--log FILE]
 *
 * Addresses are "a.b.c.d:port" or "[v6]:port".  Queries for a name equal
 * to or under a --drop-suffix (repeatable) are silently dropped: a zone
 * that never answers.  Memory is bounded: at most --max-inflight queries
 * (default 4096) wait for the upstream, a query unanswered for 10 s is
 * forgotten, responses over 4096 bytes are dropped.  With --log, every
 * query's arrival goes to FILE as a line "SECONDS TYPE NAME" (monotonic
 * clock, type as a number), for a benchmark to count its waves.
 * SIGTERM or SIGINT ends it cleanly; it prints its counters on stderr and
 * removes the pidfile.  Try it:  kdig @127.0.0.60 -p 5353 example.test A
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "delay_common.h"

#define MAX_SUFFIXES 64
#define MAX_RESPONSE 4096
#define MAX_QUERY 4096
#define EXPIRE_NS (10LL * 1000000000LL)
#define DEFAULT_INFLIGHT 4096
#define MAX_INFLIGHT 60000 /* below the 16-bit ID space */
#define READ_BURST 64      /* datagrams read per wake-up and socket */
/* Sockets to the upstream, used in turn: a server with a socket per
 * worker (Knot's SO_REUSEPORT) spreads flows, not datagrams, so one
 * socket would put every query of a burst into one worker's buffer. */
#define N_UP 8

struct entry {
    int used;
    int ready; /* response received, waiting for its time */
    uint16_t client_id, our_id;
    struct sockaddr_storage client;
    socklen_t client_len;
    int64_t arrived, due; /* monotonic ns */
    size_t len;
    unsigned char *resp; /* MAX_RESPONSE bytes */
};

struct fwd {
    int lfd, ufd[N_UP];
    unsigned next_up;
    int64_t delay;
    struct entry *e;
    size_t cap, n_used;
    size_t *free_list, n_free;
    int32_t id_slot[65536]; /* our ID -> slot, -1 when free */
    uint16_t next_id;
    size_t *heap, n_heap; /* ready slots, earliest due first */
    char *suffix[MAX_SUFFIXES];
    size_t n_suffix;
    FILE *log; /* --log: arrivals, or NULL */
    struct {
        unsigned long long queries, forwarded, answered, late, dropped, full,
            expired, bad, oversize, unknown;
    } st;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: dnsdelay --listen ADDR:PORT --upstream ADDR:PORT "
               "--delay-ms N\n"
               "                [--drop-suffix ZONE ...] [--pidfile FILE] "
               "[--max-inflight N] [--log FILE]\n"
               "ADDR:PORT is a.b.c.d:port or [v6]:port\n");
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Bursts of queries and of delayed answers are the point of a benchmark:
 * ask for big socket buffers (the kernel caps them at rmem_max/wmem_max). */
static void grow_buffers(int fd)
{
    int sz = 4 << 20;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/* ---- the timer heap -------------------------------------------------- */

static int heap_less(const struct fwd *f, size_t a, size_t b)
{
    return f->e[f->heap[a]].due < f->e[f->heap[b]].due;
}

static void heap_swap(struct fwd *f, size_t a, size_t b)
{
    size_t t = f->heap[a];

    f->heap[a] = f->heap[b];
    f->heap[b] = t;
}

static void heap_push(struct fwd *f, size_t slot)
{
    size_t i = f->n_heap++;

    f->heap[i] = slot;
    while (i > 0 && heap_less(f, i, (i - 1) / 2)) {
        heap_swap(f, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static size_t heap_pop(struct fwd *f)
{
    size_t top = f->heap[0], i = 0, c;

    f->heap[0] = f->heap[--f->n_heap];
    for (;;) {
        c = 2 * i + 1;
        if (c >= f->n_heap)
            break;
        if (c + 1 < f->n_heap && heap_less(f, c + 1, c))
            c++;
        if (!heap_less(f, c, i))
            break;
        heap_swap(f, i, c);
        i = c;
    }
    return top;
}

/* ---- entries --------------------------------------------------------- */

static void entry_free(struct fwd *f, size_t slot)
{
    struct entry *e = &f->e[slot];

    f->id_slot[e->our_id] = -1;
    e->used = 0;
    e->ready = 0;
    f->free_list[f->n_free++] = slot;
    f->n_used--;
}

static void send_response(struct fwd *f, size_t slot)
{
    struct entry *e = &f->e[slot];

    e->resp[0] = (unsigned char)(e->client_id >> 8);
    e->resp[1] = (unsigned char)(e->client_id & 0xff);
    (void)sendto(f->lfd, e->resp, e->len, 0,
                 (const struct sockaddr *)&e->client, e->client_len);
    f->st.answered++;
    entry_free(f, slot);
}

/* The question name in lowercase dots; -1 when malformed. */
static int query_name(const unsigned char *q, size_t len, char *out, size_t cap)
{
    size_t off = 12, n = 0, l, i;

    while (off < len && q[off] != 0) {
        l = q[off];
        if (l > 63 || off + 1 + l >= len || n + l + 2 > cap)
            return -1;
        if (n > 0)
            out[n++] = '.';
        for (i = 0; i < l; i++) {
            unsigned char c = q[off + 1 + i];
            out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        off += 1 + l;
    }
    if (off >= len)
        return -1;
    out[n] = '\0';
    return 0;
}

/* The name is a suffix or lies under one (label boundaries only). */
static int dropped(const struct fwd *f, const char *name)
{
    size_t i, nl = strlen(name), sl;

    for (i = 0; i < f->n_suffix; i++) {
        sl = strlen(f->suffix[i]);
        if (nl == sl && strcmp(name, f->suffix[i]) == 0)
            return 1;
        if (nl > sl && name[nl - sl - 1] == '.' &&
            strcmp(name + nl - sl, f->suffix[i]) == 0)
            return 1;
    }
    return 0;
}

static void on_query(struct fwd *f, unsigned char *q, size_t len,
                     const struct sockaddr_storage *from, socklen_t fromlen,
                     int64_t now)
{
    char name[1100];
    struct entry *e;
    size_t slot;
    uint16_t id;

    f->st.queries++;
    if (len < 12 || (q[2] & 0x80) || query_name(q, len, name, sizeof(name))) {
        f->st.bad++;
        return;
    }
    if (f->log != NULL) {
        /* past the name's wire form: the labels, their lengths, the root */
        size_t end = 12 + (name[0] != '\0' ? strlen(name) + 2 : 1);

        fprintf(f->log, "%.6f %u %s\n", (double)now / 1e9,
                end + 2 <= len ? (unsigned)(q[end] << 8 | q[end + 1]) : 0u,
                name);
        fflush(f->log);
    }
    if (dropped(f, name)) {
        f->st.dropped++;
        return;
    }
    if (f->n_free == 0) {
        f->st.full++;
        return;
    }
    /* A free ID exists: fewer than 65536 are ever in use. */
    do
        id = f->next_id++;
    while (f->id_slot[id] >= 0);
    slot = f->free_list[--f->n_free];
    e = &f->e[slot];
    e->used = 1;
    e->ready = 0;
    e->client_id = (uint16_t)(q[0] << 8 | q[1]);
    e->our_id = id;
    memcpy(&e->client, from, fromlen);
    e->client_len = fromlen;
    e->arrived = now;
    e->due = now + f->delay;
    f->id_slot[id] = (int32_t)slot;
    f->n_used++;
    q[0] = (unsigned char)(id >> 8);
    q[1] = (unsigned char)(id & 0xff);
    if (send(f->ufd[f->next_up++ % N_UP], q, len, 0) < 0) {
        entry_free(f, slot);
        return;
    }
    f->st.forwarded++;
}

static void on_response(struct fwd *f, const unsigned char *r, size_t len,
                        int64_t now)
{
    struct entry *e;
    int32_t slot;

    if (len < 12 || !(r[2] & 0x80)) {
        f->st.bad++;
        return;
    }
    slot = f->id_slot[r[0] << 8 | r[1]];
    if (slot < 0 || f->e[slot].ready) {
        f->st.unknown++; /* late, duplicate or never asked */
        return;
    }
    e = &f->e[slot];
    if (len > MAX_RESPONSE) {
        f->st.oversize++;
        entry_free(f, (size_t)slot);
        return;
    }
    memcpy(e->resp, r, len);
    e->len = len;
    e->ready = 1;
    if (e->due <= now) {
        f->st.late++;
        send_response(f, (size_t)slot);
    } else {
        heap_push(f, (size_t)slot);
    }
}

static void expire(struct fwd *f, int64_t now)
{
    size_t i;

    for (i = 0; i < f->cap; i++)
        if (f->e[i].used && !f->e[i].ready &&
            now - f->e[i].arrived > EXPIRE_NS) {
            f->st.expired++;
            entry_free(f, i);
        }
}

/* ---- setup and the loop ---------------------------------------------- */

static int fwd_init(struct fwd *f, size_t cap)
{
    size_t i;

    f->cap = cap;
    f->e = calloc(cap, sizeof(*f->e));
    f->free_list = calloc(cap, sizeof(*f->free_list));
    f->heap = calloc(cap, sizeof(*f->heap));
    if (f->e == NULL || f->free_list == NULL || f->heap == NULL)
        return -1;
    for (i = 0; i < cap; i++) {
        f->e[i].resp = malloc(MAX_RESPONSE);
        if (f->e[i].resp == NULL)
            return -1;
        f->free_list[i] = cap - 1 - i;
    }
    f->n_free = cap;
    for (i = 0; i < 65536; i++)
        f->id_slot[i] = -1;
    f->next_id = (uint16_t)(now_ns() ^ getpid());
    return 0;
}

static void fwd_free(struct fwd *f)
{
    size_t i;

    for (i = 0; f->e != NULL && i < f->cap; i++)
        free(f->e[i].resp);
    free(f->e);
    free(f->free_list);
    free(f->heap);
    for (i = 0; i < f->n_suffix; i++)
        free(f->suffix[i]);
}

static int run(struct fwd *f, const sigset_t *waitmask)
{
    static unsigned char buf[65536];
    struct sockaddr_storage from;
    struct pollfd pfd[1 + N_UP];
    struct timespec ts;
    socklen_t fromlen;
    int64_t now, next_expire = now_ns() + 1000000000LL, wait;
    ssize_t n;
    int i, k;

    pfd[0].fd = f->lfd;
    for (i = 0; i < N_UP; i++)
        pfd[1 + i].fd = f->ufd[i];
    while (!quit) {
        now = now_ns();
        while (f->n_heap > 0 && f->e[f->heap[0]].due <= now)
            send_response(f, heap_pop(f));
        if (now >= next_expire) {
            expire(f, now);
            next_expire = now + 1000000000LL;
        }
        wait = next_expire - now;
        if (f->n_heap > 0 && f->e[f->heap[0]].due - now < wait)
            wait = f->e[f->heap[0]].due - now;
        ts.tv_sec = (time_t)(wait / 1000000000LL);
        ts.tv_nsec = (long)(wait % 1000000000LL);
        for (i = 0; i < 1 + N_UP; i++) {
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        /* Signals are blocked except inside ppoll: no lost wake-up. */
        if (ppoll(pfd, 1 + N_UP, &ts, waitmask) < 0) {
            if (errno == EINTR)
                continue;
            perror("dnsdelay: ppoll");
            return -1;
        }
        for (i = 0; i < 1 + N_UP; i++) {
            if (pfd[i].revents == 0)
                continue;
            for (k = 0; k < READ_BURST; k++) {
                fromlen = sizeof(from);
                n = recvfrom(pfd[i].fd, buf, sizeof(buf), 0,
                             (struct sockaddr *)&from, &fromlen);
                if (n < 0)
                    break; /* EAGAIN, or an ICMP error from upstream */
                now = now_ns();
                if (i == 0 && (size_t)n <= MAX_QUERY)
                    on_query(f, buf, (size_t)n, &from, fromlen, now);
                else if (i >= 1)
                    on_response(f, buf, (size_t)n, now);
            }
        }
    }
    return 0;
}

static int add_suffix(struct fwd *f, const char *s)
{
    size_t n, i;
    char *c;

    while (*s == '.')
        s++;
    n = strlen(s);
    while (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || f->n_suffix == MAX_SUFFIXES)
        return -1;
    c = malloc(n + 1);
    if (c == NULL)
        return -1;
    for (i = 0; i < n; i++)
        c[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    c[n] = '\0';
    f->suffix[f->n_suffix++] = c;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {"delay-ms", required_argument, NULL, 'd'},
        {"drop-suffix", required_argument, NULL, 's'},
        {"pidfile", required_argument, NULL, 'p'},
        {"max-inflight", required_argument, NULL, 'm'},
        {"log", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct fwd f; /* big: the ID table */
    struct sockaddr_storage laddr, uaddr;
    socklen_t llen = 0, ulen = 0;
    const char *pidfile = NULL;
    sigset_t waitmask;
    long delay = -1, inflight = DEFAULT_INFLIGHT;
    int c, i, have_l = 0, have_u = 0, have_pidfile = 0, rc = 1, one = 1;
    char *end;

    f.lfd = -1;
    for (i = 0; i < N_UP; i++)
        f.ufd[i] = -1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            have_l = parse_addr(optarg, &laddr, &llen) == 0;
            if (!have_l)
                fprintf(stderr, "dnsdelay: bad --listen '%s'\n", optarg);
            break;
        case 'u':
            have_u = parse_addr(optarg, &uaddr, &ulen) == 0;
            if (!have_u)
                fprintf(stderr, "dnsdelay: bad --upstream '%s'\n", optarg);
            break;
        case 'd':
        case 'm':
            errno = 0;
            {
                long v = strtol(optarg, &end, 10);
                if (errno != 0 || *end != '\0' || end == optarg || v < 0 ||
                    (c == 'd' && v > 600000) ||
                    (c == 'm' && (v < 1 || v > MAX_INFLIGHT))) {
                    fprintf(stderr, "dnsdelay: bad number '%s'\n", optarg);
                    goto done;
                }
                if (c == 'd')
                    delay = v;
                else
                    inflight = v;
            }
            break;
        case 's':
            if (add_suffix(&f, optarg) != 0) {
                fprintf(stderr, "dnsdelay: bad or too many --drop-suffix\n");
                goto done;
            }
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 'g':
            f.log = fopen(optarg, "w");
            if (f.log == NULL) {
                perror("dnsdelay: --log");
                goto done;
            }
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
    if (!have_l || !have_u || delay < 0 || optind != argc) {
        usage(stderr);
        goto done;
    }
    f.delay = (int64_t)delay * 1000000LL;
    if (fwd_init(&f, (size_t)inflight) != 0) {
        fprintf(stderr, "dnsdelay: out of memory\n");
        goto done;
    }

    f.lfd = socket(laddr.ss_family, SOCK_DGRAM, 0);
    if (f.lfd < 0) {
        perror("dnsdelay: socket");
        goto done;
    }
    (void)setsockopt(f.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    grow_buffers(f.lfd);
    if (bind(f.lfd, (struct sockaddr *)&laddr, llen) != 0) {
        perror("dnsdelay: bind --listen");
        goto done;
    }
    if (set_nonblock(f.lfd) != 0) {
        perror("dnsdelay: fcntl");
        goto done;
    }
    for (i = 0; i < N_UP; i++) {
        f.ufd[i] = socket(uaddr.ss_family, SOCK_DGRAM, 0);
        if (f.ufd[i] < 0) {
            perror("dnsdelay: socket");
            goto done;
        }
        grow_buffers(f.ufd[i]);
        if (connect(f.ufd[i], (struct sockaddr *)&uaddr, ulen) != 0) {
            perror("dnsdelay: connect --upstream");
            goto done;
        }
        if (set_nonblock(f.ufd[i]) != 0) {
            perror("dnsdelay: fcntl");
            goto done;
        }
    }

    catch_stop_signals(&waitmask);
    if (pidfile != NULL) {
        if (write_pidfile(pidfile) != 0) {
            perror("dnsdelay: pidfile");
            goto done;
        }
        have_pidfile = 1;
    }
    if (run(&f, &waitmask) == 0)
        rc = 0;
    fprintf(stderr,
            "dnsdelay: %llu queries, %llu forwarded, %llu answered "
            "(%llu late), %llu dropped by suffix, %llu over capacity, "
            "%llu expired, %llu malformed, %llu oversize, %llu unmatched "
            "responses\n",
            f.st.queries, f.st.forwarded, f.st.answered, f.st.late,
            f.st.dropped, f.st.full, f.st.expired, f.st.bad, f.st.oversize,
            f.st.unknown);

done:
    if (have_pidfile)
        unlink(pidfile);
    if (f.lfd >= 0)
        close(f.lfd);
    for (i = 0; i < N_UP; i++)
        if (f.ufd[i] >= 0)
            close(f.ufd[i]);
    fwd_free(&f);
    if (f.log != NULL)
        fclose(f.log);
    return rc;
}
