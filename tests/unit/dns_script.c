/*
 * dns_script.c - the scripted DNS server of dns_script.h.
 */
#include "dns_script.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DNSS_MAX_ANSWERS 512
#define DNSS_MAX_PENDING 4096
#define DNSS_PKT 4096
#define DNSS_CONNS 8

struct dnss_answer {
    char name[256];
    uint16_t type;
    unsigned rcode;
    int delay_ms;
    char records[2048]; /* longer: cut (dnss_add) */
    unsigned asked;
    int ad; /* the AD bit in the answer (dnss_set_ad) */
};

struct dnss_pending {
    double due;
    struct sockaddr_in from;
    unsigned char pkt[DNSS_PKT];
    size_t len;
};

struct dnss_conn {
    int fd;
    unsigned char in[1024];
    size_t len;
};

static struct {
    pthread_t th;
    int lfd; /* TCP, same port: answers over 512 bytes go there */
    struct dnss_conn conns[DNSS_CONNS];
    pthread_mutex_t mu;
    atomic_int stop;
    int fd;
    unsigned port;
    char server[64];
    struct dnss_answer ans[DNSS_MAX_ANSWERS];
    size_t n_ans;
    unsigned nx_asked;
    unsigned last_flags, last_arcount; /* of the last query */
    struct dnss_pending *pend;
    size_t n_pend;
    unsigned peak;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .lfd = -1};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct pk {
    unsigned char *b;
    size_t len;
};

static void w8(struct pk *p, unsigned v)
{
    if (p->len < DNSS_PKT)
        p->b[p->len++] = (unsigned char)v;
}

static void w16(struct pk *p, unsigned v)
{
    w8(p, v >> 8 & 0xff);
    w8(p, v & 0xff);
}

static void wname(struct pk *p, const char *name)
{
    while (*name != '\0' && strcmp(name, ".") != 0) {
        const char *dot = strchr(name, '.');
        size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

        w8(p, (unsigned)n);
        for (size_t i = 0; i < n; i++)
            w8(p, (unsigned char)name[i]);
        name += n;
        if (*name == '.')
            name++;
    }
    w8(p, 0);
}

/* Appends one record of text ("A 127.0.0.1"); 1 when written. */
static int wrecord(struct pk *p, const char *rec)
{
    char type[16], a[256], b[256];
    unsigned char addr[16];
    size_t rdpos;

    a[0] = b[0] = '\0';
    if (sscanf(rec, " %15s %255s %255s", type, a, b) < 2)
        return 0;
    w16(p, 0xc00c);
    if (strcmp(type, "A") == 0 && inet_pton(AF_INET, a, addr) == 1) {
        w16(p, 1);
        w16(p, 1);
        w16(p, 0);
        w16(p, 300);
        w16(p, 4);
        for (int i = 0; i < 4; i++)
            w8(p, addr[i]);
        return 1;
    }
    if (strcmp(type, "AAAA") == 0 && inet_pton(AF_INET6, a, addr) == 1) {
        w16(p, 28);
        w16(p, 1);
        w16(p, 0);
        w16(p, 300);
        w16(p, 16);
        for (int i = 0; i < 16; i++)
            w8(p, addr[i]);
        return 1;
    }
    w16(p, strcmp(type, "MX") == 0 ? 15 : 5);
    w16(p, 1);
    w16(p, 0);
    w16(p, 300);
    rdpos = p->len;
    w16(p, 0);
    if (strcmp(type, "MX") == 0) {
        w16(p, (unsigned)strtoul(a, NULL, 10));
        wname(p, b);
    } else {
        wname(p, a);
    }
    p->b[rdpos] = (unsigned char)((p->len - rdpos - 2) >> 8);
    p->b[rdpos + 1] = (unsigned char)((p->len - rdpos - 2) & 0xff);
    return 1;
}

int dnss_parse_question(const unsigned char *q, size_t len, char *name,
                        size_t namecap, unsigned *type, size_t *qend)
{
    size_t off = 12, n = 0;

    if (len < 12 || namecap == 0)
        return -1;
    while (off < len && q[off] != 0) {
        size_t l = q[off];

        if (l > 63 || off + 1 + l >= len || n + l + 2 > namecap)
            return -1;
        if (n > 0)
            name[n++] = '.';
        memcpy(name + n, q + off + 1, l);
        n += l;
        off += 1 + l;
    }
    if (off + 5 > len)
        return -1;
    name[n] = '\0';
    *type = (unsigned)q[off + 1] << 8 | q[off + 2];
    if (qend != NULL)
        *qend = off + 5;
    return 0;
}

/* Builds the answer into out; returns the delay (ms), or -1: none. */
static int answer(const unsigned char *q, size_t len, unsigned char *out,
                  size_t *outlen)
{
    char name[256], recs[2048], *tok, *end;
    struct dnss_answer *a = NULL;
    struct pk p = {out, 0};
    unsigned type, rcode = 3, an = 0;
    size_t qend, i, anpos;
    int delay = 0, ad = 0;

    if (dnss_parse_question(q, len, name, sizeof(name), &type, &qend) != 0)
        return -1;
    recs[0] = '\0';
    pthread_mutex_lock(&S.mu);
    for (i = 0; i < S.n_ans; i++)
        if (S.ans[i].type == type && strcasecmp(S.ans[i].name, name) == 0) {
            a = &S.ans[i];
            break;
        }
    if (a != NULL) {
        a->asked++;
        rcode = a->rcode;
        delay = a->delay_ms;
        ad = a->ad;
        snprintf(recs, sizeof(recs), "%s", a->records);
    } else {
        S.nx_asked++;
    }
    S.last_flags = (unsigned)q[2] << 8 | q[3];
    S.last_arcount = (unsigned)q[10] << 8 | q[11];
    pthread_mutex_unlock(&S.mu);
    if (delay < 0)
        return -1;
    memcpy(out, q, qend);
    p.len = qend;
    out[2] = 0x81; /* QR, RD */
    out[3] = (unsigned char)(0x80 | (ad ? 0x20 : 0) | rcode);
    out[4] = 0;
    out[5] = 1;
    anpos = 6;
    memset(out + 8, 0, 4);
    for (tok = recs; *tok != '\0'; tok = end) {
        end = strchr(tok, ';');
        if (end != NULL)
            *end++ = '\0';
        else
            end = tok + strlen(tok);
        an += (unsigned)wrecord(&p, tok);
    }
    out[anpos] = (unsigned char)(an >> 8);
    out[anpos + 1] = (unsigned char)(an & 0xff);
    *outlen = p.len;
    return delay;
}

/* Answers every whole query a TCP client sent (at once: the delays are
 * for UDP). */
static void read_tcp(struct dnss_conn *c)
{
    static unsigned char out[DNSS_PKT];
    size_t qlen, olen;
    unsigned char hdr[2];
    ssize_t n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);

    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->len += (size_t)n;
    while (c->len >= 2 &&
           c->len >= 2 + (qlen = (size_t)(c->in[0] << 8 | c->in[1]))) {
        if (answer(c->in + 2, qlen, out, &olen) >= 0) {
            hdr[0] = (unsigned char)(olen >> 8);
            hdr[1] = (unsigned char)(olen & 0xff);
            if (write(c->fd, hdr, 2) != 2 ||
                write(c->fd, out, olen) != (ssize_t)olen)
                break;
        }
        memmove(c->in, c->in + 2 + qlen, c->len - 2 - qlen);
        c->len -= 2 + qlen;
    }
    if (c->len == sizeof(c->in)) {
        close(c->fd);
        c->fd = -1;
    }
}

static void accept_tcp(void)
{
    int fd = accept(S.lfd, NULL, NULL);

    for (size_t i = 0; fd >= 0 && i < DNSS_CONNS; i++)
        if (S.conns[i].fd < 0) {
            S.conns[i].fd = fd;
            S.conns[i].len = 0;
            fd = -1;
        }
    if (fd >= 0)
        close(fd);
}

static void *serve(void *arg)
{
    unsigned char q[512];
    struct pollfd pfd[2 + DNSS_CONNS];
    (void)arg;

    while (!atomic_load(&S.stop)) {
        double now = now_ms(), wake = now + 20;
        size_t i;

        pfd[0].fd = S.fd;
        pfd[1].fd = S.lfd;
        for (i = 0; i < DNSS_CONNS; i++)
            pfd[2 + i].fd = S.conns[i].fd;
        for (i = 0; i < 2 + DNSS_CONNS; i++) {
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        for (i = 0; i < S.n_pend; i++)
            if (S.pend[i].due < wake)
                wake = S.pend[i].due;
        (void)poll(pfd, 2 + DNSS_CONNS, wake > now ? (int)(wake - now) + 1 : 0);
        if (pfd[1].revents & POLLIN)
            accept_tcp();
        for (i = 0; i < DNSS_CONNS; i++)
            if (pfd[2 + i].fd >= 0 && pfd[2 + i].revents != 0)
                read_tcp(&S.conns[i]);
        if (pfd[0].revents & POLLIN) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n =
                recvfrom(S.fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
            struct dnss_pending *pd;
            int delay;

            if (n > 0 && S.n_pend < DNSS_MAX_PENDING) {
                pd = &S.pend[S.n_pend];
                delay = answer(q, (size_t)n, pd->pkt, &pd->len);
                if (delay >= 0 && pd->len > 512) {
                    /* Too big for UDP without EDNS: truncated, no
                     * records, so the client asks over TCP. */
                    size_t qend = 12;

                    while (qend < pd->len && pd->pkt[qend] != 0)
                        qend += 1u + pd->pkt[qend];
                    pd->len = qend + 5;
                    pd->pkt[2] |= 0x02;
                    memset(pd->pkt + 6, 0, 6);
                }
                if (delay >= 0) {
                    pd->from = from;
                    pd->due = now_ms() + delay;
                    S.n_pend++;
                    if (S.n_pend > S.peak)
                        S.peak = (unsigned)S.n_pend;
                }
            }
        }
        now = now_ms();
        for (i = 0; i < S.n_pend;) {
            if (S.pend[i].due <= now) {
                (void)sendto(S.fd, S.pend[i].pkt, S.pend[i].len, 0,
                             (struct sockaddr *)&S.pend[i].from,
                             sizeof(S.pend[i].from));
                S.pend[i] = S.pend[--S.n_pend];
            } else {
                i++;
            }
        }
    }
    return NULL;
}

/* UDP and TCP sockets bound to one free port on 127.0.0.1. */
static int bind_pair(void)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    int rcvbuf = 1 << 20;

    S.fd = socket(AF_INET, SOCK_DGRAM, 0);
    S.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (S.fd < 0 || S.lfd < 0)
        return -1;
    (void)setsockopt(S.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(S.fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(S.fd, (struct sockaddr *)&sin, &sl) != 0 ||
        bind(S.lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(S.lfd, 8) != 0)
        return -1;
    S.port = ntohs(sin.sin_port);
    return 0;
}

unsigned dnss_start(void)
{
    int attempt;

    S.pend = calloc(DNSS_MAX_PENDING, sizeof(*S.pend));
    if (S.pend == NULL)
        return 0;
    /* The kernel's UDP port may be taken for TCP (any outgoing
     * connection's): try another. */
    for (attempt = 0; attempt < 50; attempt++) {
        if (bind_pair() == 0)
            break;
        if (S.fd >= 0)
            close(S.fd);
        if (S.lfd >= 0)
            close(S.lfd);
        S.fd = S.lfd = -1;
    }
    if (S.fd < 0)
        return 0;
    for (size_t i = 0; i < DNSS_CONNS; i++)
        S.conns[i].fd = -1;
    snprintf(S.server, sizeof(S.server), "127.0.0.1:%u", S.port);
    atomic_store(&S.stop, 0);
    if (pthread_create(&S.th, NULL, serve, NULL) != 0)
        return 0;
    return S.port;
}

void dnss_stop(void)
{
    atomic_store(&S.stop, 1);
    pthread_join(S.th, NULL);
    close(S.fd);
    S.fd = -1;
    if (S.lfd >= 0)
        close(S.lfd);
    for (size_t i = 0; i < DNSS_CONNS; i++)
        if (S.conns[i].fd >= 0)
            close(S.conns[i].fd);
    free(S.pend);
    S.pend = NULL;
}

void dnss_clear(void)
{
    pthread_mutex_lock(&S.mu);
    S.n_ans = 0;
    S.nx_asked = 0;
    S.peak = 0;
    pthread_mutex_unlock(&S.mu);
}

void dnss_add(const char *name, uint16_t type, unsigned rcode, int delay_ms,
              const char *records)
{
    pthread_mutex_lock(&S.mu);
    if (S.n_ans < DNSS_MAX_ANSWERS) {
        struct dnss_answer *a = &S.ans[S.n_ans++];

        snprintf(a->name, sizeof(a->name), "%s", name);
        a->type = type;
        a->rcode = rcode;
        a->delay_ms = delay_ms;
        snprintf(a->records, sizeof(a->records), "%s",
                 records != NULL ? records : "");
        a->asked = 0;
        a->ad = 0;
    }
    pthread_mutex_unlock(&S.mu);
}

void dnss_set_ad(const char *name, uint16_t type, int ad)
{
    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n_ans; i++)
        if (S.ans[i].type == type && strcasecmp(S.ans[i].name, name) == 0)
            S.ans[i].ad = ad;
    pthread_mutex_unlock(&S.mu);
}

void dnss_last_query(unsigned *flags, unsigned *arcount)
{
    pthread_mutex_lock(&S.mu);
    *flags = S.last_flags;
    *arcount = S.last_arcount;
    pthread_mutex_unlock(&S.mu);
}

unsigned dnss_asked(const char *name, uint16_t type)
{
    unsigned n = 0;

    pthread_mutex_lock(&S.mu);
    for (size_t i = 0; i < S.n_ans; i++)
        if ((type == 0 || S.ans[i].type == type) &&
            strcasecmp(S.ans[i].name, name) == 0)
            n += S.ans[i].asked;
    pthread_mutex_unlock(&S.mu);
    return n;
}

unsigned dnss_peak_pending(void)
{
    return S.peak;
}

const char *dnss_server(void)
{
    return S.server;
}
