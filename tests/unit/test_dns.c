/*
 * test_dns.c - unit tests for dns.c: reverse names, server strings, the
 * answer parser fed crafted packets, and whole batches against a fake
 * UDP DNS server running in a thread on 127.0.0.1 (port chosen by the
 * kernel) that answers the same crafted packets by query name.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "dns_script.h"

/* ---- crafted packets ------------------------------------------------- */

#define PKT_MAX 8192

struct pkt {
    unsigned char b[PKT_MAX];
    size_t len;
};

static void p8(struct pkt *p, unsigned v)
{
    if (p->len < sizeof(p->b))
        p->b[p->len++] = (unsigned char)v;
}

static void p16(struct pkt *p, unsigned v)
{
    p8(p, v >> 8 & 0xff);
    p8(p, v & 0xff);
}

static void p32(struct pkt *p, uint32_t v)
{
    p16(p, v >> 16);
    p16(p, v & 0xffff);
}

static void pbytes(struct pkt *p, const void *d, size_t n)
{
    const unsigned char *s = d;
    size_t i;

    for (i = 0; i < n; i++)
        p8(p, s[i]);
}

/* Uncompressed wire form of a dotted name. */
static void pname(struct pkt *p, const char *name)
{
    const char *dot;
    size_t n;

    while (*name != '\0') {
        dot = strchr(name, '.');
        n = dot != NULL ? (size_t)(dot - name) : strlen(name);
        p8(p, (unsigned)n);
        pbytes(p, name, n);
        name += n;
        if (*name == '.')
            name++;
    }
    p8(p, 0);
}

static size_t name_wire_len(const char *name)
{
    struct pkt tmp;

    tmp.len = 0;
    pname(&tmp, name);
    return tmp.len;
}

/* Header (QR, RD, RA set) and the one question. */
static void pstart(struct pkt *p, uint16_t id, unsigned rcode, unsigned an,
                   const char *qname, unsigned qtype)
{
    p->len = 0;
    p16(p, id);
    p8(p, 0x81);
    p8(p, 0x80 | rcode);
    p16(p, 1);
    p16(p, an);
    p16(p, 0);
    p16(p, 0);
    pname(p, qname);
    p16(p, qtype);
    p16(p, 1);
}

/* Record header; the owner is a pointer to the question name. */
static void prr(struct pkt *p, unsigned type, uint32_t ttl, unsigned rdlen)
{
    p16(p, 0xc00c);
    p16(p, type);
    p16(p, 1);
    p32(p, ttl);
    p16(p, rdlen);
}

static void pa(struct pkt *p, const char *text)
{
    unsigned char a[4];

    assert_int_equal(inet_pton(AF_INET, text, a), 1);
    prr(p, MXP_DNS_A, 300, 4);
    pbytes(p, a, 4);
}

static void pnamerr(struct pkt *p, unsigned type, const char *target)
{
    prr(p, type, 300, (unsigned)name_wire_len(target));
    pname(p, target);
}

/* The fake zone: what every test name answers.  Returns 0 to stay
 * silent (the query never gets an answer). */
static atomic_int dropfirst_seen; /* dropfirst.test: first query lost */

static int respond(const char *qname, unsigned qtype, uint16_t id,
                   struct pkt *p)
{
    static const char txt1[] = "\x06hello \x06wor\0ld";
    unsigned char a6[16];
    long i;
    char *end;

    if (strcmp(qname, "two.test") == 0) {
        /* A CNAME first (another type: skipped), then the two A. */
        pstart(p, id, 0, 3, qname, qtype);
        pnamerr(p, MXP_DNS_CNAME, "alias.test");
        pa(p, "192.0.2.1");
        pa(p, "192.0.2.2");
    } else if (strcmp(qname, "txt.test") == 0) {
        pstart(p, id, 0, 2, qname, qtype);
        prr(p, MXP_DNS_TXT, 60, sizeof(txt1) - 1);
        pbytes(p, txt1, sizeof(txt1) - 1);
        prr(p, MXP_DNS_TXT, 60, 7);
        pbytes(p, "\x06second", 7);
    } else if (strcmp(qname, "nx.test") == 0) {
        pstart(p, id, 3, 0, qname, qtype);
    } else if (strcmp(qname, "nodata.test") == 0) {
        pstart(p, id, 0, 0, qname, qtype);
    } else if (strcmp(qname, "cnameonly.test") == 0) {
        pstart(p, id, 0, 1, qname, qtype);
        pnamerr(p, MXP_DNS_CNAME, "elsewhere.test");
    } else if (strcmp(qname, "servfail.test") == 0) {
        pstart(p, id, 2, 0, qname, qtype);
    } else if (strcmp(qname, "refused.test") == 0) {
        pstart(p, id, 5, 0, qname, qtype);
    } else if (strcmp(qname, "formerr.test") == 0) {
        pstart(p, id, 1, 0, qname, qtype);
    } else if (strcmp(qname, "notimp.test") == 0) {
        pstart(p, id, 4, 0, qname, qtype);
    } else if (strcmp(qname, "trunc.test") == 0) {
        /* Says one answer, carries half a record header. */
        pstart(p, id, 0, 1, qname, qtype);
        p16(p, 0xc00c);
        p16(p, MXP_DNS_A);
        p8(p, 0);
    } else if (strcmp(qname, "overrun.test") == 0) {
        /* rdlength runs past the end of the packet. */
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_A, 300, 400);
        pbytes(p, "\x01\x02\x03\x04", 4);
    } else if (strcmp(qname, "badlen.test") == 0) {
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_A, 300, 3);
        pbytes(p, "\x01\x02\x03", 3);
    } else if (strcmp(qname, "loop.test") == 0) {
        /* A PTR whose target is a compression pointer to itself. */
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_PTR, 300, 2);
        p16(p, 0xc000 | (unsigned)p->len);
    } else if (strcmp(qname, "badtxt.test") == 0) {
        /* A character-string longer than the RDATA. */
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_TXT, 300, 4);
        pbytes(p,
               "\x09"
               "abc",
               4);
    } else if (strcmp(qname, "junkname.test") == 0) {
        /* PTR RDATA holding a name and two bytes more. */
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_PTR, 300, 2 + 2);
        p16(p, 0xc00c);
        p16(p, 0);
    } else if (strcmp(qname, "mx.test") == 0) {
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_MX, 300,
            2 + (unsigned)name_wire_len("mail.example.org"));
        p16(p, 10);
        pname(p, "mail.example.org");
    } else if (strcmp(qname, "aaaa.test") == 0) {
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a6), 1);
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_AAAA, 300, 16);
        pbytes(p, a6, 16);
    } else if (strcmp(qname, "25.2.0.192.in-addr.arpa") == 0) {
        pstart(p, id, 0, 1, qname, qtype);
        pnamerr(p, MXP_DNS_PTR, "mx1.example.org");
    } else if (strcmp(qname, "soa.test") == 0) {
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_SOA, 300,
            (unsigned)(name_wire_len("ns1.test") +
                       name_wire_len("hostmaster.test") + 20));
        pname(p, "ns1.test");
        pname(p, "hostmaster.test");
        for (i = 0; i < 5; i++)
            p32(p, 3600);
    } else if (strcmp(qname, "raw.test") == 0) {
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, 99, 300, 3);
        pbytes(p, "\x00\x01\x02", 3);
    } else if (strcmp(qname, "mixed.test") == 0) {
        /* A CH-class A, an MX and a wrong-type record, one real A. */
        pstart(p, id, 0, 3, qname, qtype);
        p16(p, 0xc00c);
        p16(p, MXP_DNS_A);
        p16(p, 3);
        p32(p, 300);
        p16(p, 4);
        pbytes(p, "\x0a\x0a\x0a\x0a", 4);
        prr(p, MXP_DNS_MX, 300, 2 + 2);
        p16(p, 5);
        p16(p, 0xc00c);
        pa(p, "198.51.100.7");
    } else if (strcmp(qname, "ttl.test") == 0) {
        pstart(p, id, 0, 1, qname, qtype);
        prr(p, MXP_DNS_A, 0xffffffffu, 4);
        pbytes(p, "\x7f\x00\x00\x02", 4);
    } else if (strcmp(qname, "cap.test") == 0 ||
               strcmp(qname, "cap256.test") == 0) {
        /* Records of one empty string each: 256 is all we keep, 300 is
         * more (too big for UDP either way: TCP). */
        long count = strcmp(qname, "cap.test") == 0 ? 300 : 256;

        pstart(p, id, 0, (unsigned)count, qname, qtype);
        for (i = 0; i < count; i++) {
            prr(p, MXP_DNS_TXT, 300, 1);
            p8(p, 0);
        }
    } else if (strcmp(qname, "drop.test") == 0) {
        return 0;
    } else if (strcmp(qname, "dropfirst.test") == 0) {
        if (atomic_fetch_add(&dropfirst_seen, 1) == 0)
            return 0;
        pstart(p, id, 0, 1, qname, qtype);
        pa(p, "192.0.2.9");
    } else if (strlen(qname) > 1 && qname[0] == 'n' &&
               (strcmp(strchr(qname, '.'), ".many.test") == 0 ||
                strcmp(strchr(qname, '.'), ".gather.test") == 0)) {
        char addr[32];
        i = strtol(qname + 1, &end, 10);
        assert_true(*end == '.' && i >= 0 && i < 65536);
        snprintf(addr, sizeof(addr), "10.0.%ld.%ld", i / 256, i % 256);
        pstart(p, id, 0, 1, qname, qtype);
        pa(p, addr);
    } else {
        pstart(p, id, 3, 0, qname, qtype);
    }
    assert_true(p->len < sizeof(p->b));
    return 1;
}

/* ---- the fake server ------------------------------------------------- */

#define GATHER_N 50

struct held {
    struct sockaddr_storage from;
    socklen_t fromlen;
    unsigned char q[512];
    size_t len;
};

#define MAX_CONN 4

/* A TCP client of the fake server and its unread bytes. */
struct conn {
    int fd;
    unsigned char in[600];
    size_t len;
};

struct fake {
    int fd;  /* UDP */
    int lfd; /* TCP listener on the same port, for truncated answers */
    unsigned port;
    pthread_t th;
    atomic_int stop;
    atomic_int gathered; /* gather.test queries received */
    atomic_int tcp_queries;
    /* Queries under gather.test are held until GATHER_N have arrived:
     * a client that waited for each answer before sending the next
     * would never see one. */
    struct held held[GATHER_N];
    size_t n_held;
    struct conn conns[MAX_CONN];
};

static struct fake srv;

/* Builds the answer to query q; 0 when it is to stay unanswered.  Over
 * UDP an answer over 512 bytes goes out truncated (TC, no records), as
 * a server does for a client without EDNS. */
static int build_answer(const unsigned char *q, size_t len, int tcp,
                        struct pkt *p)
{
    char name[256];
    unsigned type;

    if (dnss_parse_question(q, len, name, sizeof(name), &type, NULL) != 0)
        return 0;
    if (!respond(name, type, (uint16_t)(q[0] << 8 | q[1]), p))
        return 0;
    if (!tcp && p->len > 512) {
        pstart(p, (uint16_t)(q[0] << 8 | q[1]), 0, 0, name, type);
        p->b[2] |= 0x02;
    }
    return 1;
}

static void answer_udp(struct fake *f, const unsigned char *q, size_t len,
                       const struct sockaddr_storage *from, socklen_t fromlen)
{
    static struct pkt p; /* only the server thread uses it */

    if (build_answer(q, len, 0, &p))
        (void)sendto(f->fd, p.b, p.len, 0, (const struct sockaddr *)from,
                     fromlen);
}

static void read_udp(struct fake *f)
{
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    unsigned char q[512];
    struct held *h;
    char name[256];
    unsigned type;
    ssize_t len;
    size_t i;

    len = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
    if (len <= 0)
        return;
    if (dnss_parse_question(q, (size_t)len, name, sizeof(name), &type, NULL) !=
            0 ||
        strstr(name, ".gather.test") == NULL) {
        answer_udp(f, q, (size_t)len, &from, fromlen);
        return;
    }
    atomic_fetch_add(&f->gathered, 1);
    h = &f->held[f->n_held++];
    h->from = from;
    h->fromlen = fromlen;
    memcpy(h->q, q, (size_t)len);
    h->len = (size_t)len;
    if (f->n_held == GATHER_N) {
        for (i = 0; i < f->n_held; i++)
            answer_udp(f, f->held[i].q, f->held[i].len, &f->held[i].from,
                       f->held[i].fromlen);
        f->n_held = 0;
    }
}

/* Reads from a TCP client and answers each complete query. */
static void read_tcp(struct fake *f, struct conn *c)
{
    static struct pkt p;
    unsigned char hdr[2];
    size_t qlen;
    ssize_t n;

    n = read(c->fd, c->in + c->len, sizeof(c->in) - c->len);
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->len += (size_t)n;
    while (c->len >= 2 &&
           c->len >= 2 + (qlen = (size_t)(c->in[0] << 8 | c->in[1]))) {
        atomic_fetch_add(&f->tcp_queries, 1);
        if (build_answer(c->in + 2, qlen, 1, &p)) {
            hdr[0] = (unsigned char)(p.len >> 8);
            hdr[1] = (unsigned char)(p.len & 0xff);
            if (write(c->fd, hdr, 2) != 2 ||
                write(c->fd, p.b, p.len) != (ssize_t)p.len)
                break;
        }
        memmove(c->in, c->in + 2 + qlen, c->len - 2 - qlen);
        c->len -= 2 + qlen;
    }
    if (c->len == sizeof(c->in)) { /* a query we cannot hold: drop */
        close(c->fd);
        c->fd = -1;
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct pollfd pfd[2 + MAX_CONN];
    size_t i;
    int fd;

    while (!atomic_load(&f->stop)) {
        pfd[0].fd = f->fd;
        pfd[1].fd = f->lfd;
        for (i = 0; i < MAX_CONN; i++)
            pfd[2 + i].fd = f->conns[i].fd;
        for (i = 0; i < 2 + MAX_CONN; i++) {
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, 2 + MAX_CONN, 20) <= 0)
            continue;
        if (pfd[0].revents & POLLIN)
            read_udp(f);
        if (pfd[1].revents & POLLIN) {
            fd = accept(f->lfd, NULL, NULL);
            for (i = 0; fd >= 0 && i < MAX_CONN; i++)
                if (f->conns[i].fd < 0) {
                    f->conns[i].fd = fd;
                    f->conns[i].len = 0;
                    fd = -1;
                }
            if (fd >= 0)
                close(fd);
        }
        for (i = 0; i < MAX_CONN; i++)
            if (pfd[2 + i].fd >= 0 && pfd[2 + i].revents != 0)
                read_tcp(f, &f->conns[i]);
    }
    for (i = 0; i < MAX_CONN; i++)
        if (f->conns[i].fd >= 0)
            close(f->conns[i].fd);
    return NULL;
}

/* A socket of type bound to 127.0.0.1:*port (0: the kernel picks and
 * *port says which). */
static int socket_bound(int type, unsigned *port)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    int fd = socket(AF_INET, type, 0);

    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)*port);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

static int group_setup(void **state)
{
    size_t i, attempt;
    int rcvbuf = 1 << 20;

    (void)state;
    if (mxp_dns_global_init() != MXP_OK)
        return -1;
    memset(&srv, 0, sizeof(srv));
    for (i = 0; i < MAX_CONN; i++)
        srv.conns[i].fd = -1;
    /* The TCP port must equal the UDP one; retry if it is taken. */
    for (attempt = 0; attempt < 20; attempt++) {
        srv.port = 0;
        srv.fd = socket_bound(SOCK_DGRAM, &srv.port);
        if (srv.fd < 0)
            return -1;
        /* Room for a whole window of queries even on a loaded machine
         * (the kernel may cap it at rmem_max). */
        (void)setsockopt(srv.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
                         sizeof(rcvbuf));
        srv.lfd = socket_bound(SOCK_STREAM, &srv.port);
        if (srv.lfd >= 0 && listen(srv.lfd, 8) == 0)
            break;
        if (srv.lfd >= 0)
            close(srv.lfd);
        close(srv.fd);
        srv.fd = srv.lfd = -1;
    }
    if (srv.fd < 0)
        return -1;
    if (pthread_create(&srv.th, NULL, fake_main, &srv) != 0) {
        close(srv.fd);
        close(srv.lfd);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    atomic_store(&srv.stop, 1);
    pthread_join(srv.th, NULL);
    close(srv.fd);
    close(srv.lfd);
    mxp_dns_global_cleanup();
    return 0;
}

/* A resolver on the fake server (or on port, when not 0). */
static struct mxp_resolver *resolver_on(unsigned port, int timeout_ms,
                                        int tries)
{
    char server[32];
    const char *servers[1] = {server};
    struct mxp_dns_config cfg = {servers, 1, timeout_ms, tries};
    struct mxp_resolver *r = NULL;

    snprintf(server, sizeof(server), "127.0.0.1:%u",
             port != 0 ? port : srv.port);
    assert_int_equal(mxp_resolver_new(&cfg, &r), MXP_OK);
    assert_non_null(r);
    return r;
}

/* ---- reverse names --------------------------------------------------- */

static void test_reverse_names(void **state)
{
    static const struct {
        int family;
        const char *addr;
        const char *suffix;
        const char *want;
    } cases[] = {
        {AF_INET, "192.0.2.25", NULL, "25.2.0.192.in-addr.arpa"},
        {AF_INET, "127.0.0.2", "zen.example.org", "2.0.0.127.zen.example.org"},
        {AF_INET, "10.255.0.1", ".bl.example", "1.0.255.10.bl.example"},
        {AF_INET6, "2001:db8::1", NULL,
         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
         "ip6.arpa"},
        {AF_INET6, "2001:DB8:ABCD::FE", "bl.example.net",
         "e.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.b.d.0.1.0.0.2."
         "bl.example.net"},
        {AF_INET6, "::", NULL,
         "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
         "ip6.arpa"},
    };
    unsigned char bytes[16];
    char out[256];
    size_t i, len;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(inet_pton(cases[i].family, cases[i].addr, bytes), 1);
        len = mxp_dns_reverse_name(cases[i].family, bytes, cases[i].suffix, out,
                                   sizeof(out));
        assert_string_equal(out, cases[i].want);
        assert_int_equal(len, strlen(cases[i].want));

        /* Exactly big enough works; one byte less gives 0 and "". */
        len = mxp_dns_reverse_name(cases[i].family, bytes, cases[i].suffix, out,
                                   strlen(cases[i].want) + 1);
        assert_int_equal(len, strlen(cases[i].want));
        assert_string_equal(out, cases[i].want);
        len = mxp_dns_reverse_name(cases[i].family, bytes, cases[i].suffix, out,
                                   strlen(cases[i].want));
        assert_int_equal(len, 0);
        assert_string_equal(out, "");
    }
    assert_int_equal(mxp_dns_reverse_name(AF_INET, bytes, NULL, out, 4), 0);
    assert_int_equal(mxp_dns_reverse_name(AF_INET6, bytes, NULL, out, 60), 0);
    assert_int_equal(mxp_dns_reverse_name(AF_UNIX, bytes, NULL, out, 256), 0);
}

/* ---- server strings -------------------------------------------------- */

static void test_server_check(void **state)
{
    static const struct {
        const char *server;
        int ok;
    } cases[] = {
        {"127.0.0.10:5353", 1},
        {"127.0.0.10", 1},
        {"[::1]:5353", 1},
        {"::1", 1},
        {"[::1]", 1},
        {"2001:db8::53", 1},
        {"[2001:db8::1]:53", 1},
        {"::ffff:192.0.2.1", 1},
        {"::1:53", 1}, /* the address ::1:53; a port needs brackets */
        {"1.2.3.4:1", 1},
        {"1.2.3.4:65535", 1},
        {"1.2.3.4:00053", 1},
        {"300.1.1.1:53", 0},
        {"1.2.3.4:0", 0},
        {"1.2.3.4:65536", 0},
        {"1.2.3.4:000053", 0},
        {"1.2.3.4:", 0},
        {"1.2.3.4:53x", 0},
        {"1.2.3.4:-53", 0},
        {"1.2.3.4:+53", 0},
        {"1.2.3.4: 53", 0},
        {" 1.2.3.4", 0},
        {"1.2.3", 0},
        {"junk", 0},
        {"localhost", 0},
        {"", 0},
        {"[::1", 0},
        {"[::1]:", 0},
        {"[::1]x", 0},
        {"[::1]:0", 0},
        {"[::1]:65536", 0},
        {"[1.2.3.4]:53", 0},
        {"[]:53", 0},
        {"fe80::1%eth0", 0},
        {"2001:db8::1:::", 0},
    };
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        err[0] = '\0';
        rc = mxp_dns_server_check(cases[i].server, err, sizeof(err));
        if (rc != (cases[i].ok ? MXP_OK : MXP_ERR_CONFIG))
            fail_msg("server '%s': got %d", cases[i].server, rc);
        if (!cases[i].ok)
            assert_non_null(strstr(err, "is not an IPv4/IPv6 address"));
    }
    mxp_dns_server_check("300.1.1.1:53", err, sizeof(err));
    assert_non_null(strstr(
        err, "'300.1.1.1:53' is not an IPv4/IPv6 address with optional :port"));

    /* Control bytes never reach the message; long input is cut. */
    mxp_dns_server_check("bad\n\033[31m", err, sizeof(err));
    assert_non_null(strstr(err, "'bad??[31m'"));
    {
        char longs[300];
        memset(longs, 'x', sizeof(longs) - 1);
        longs[sizeof(longs) - 1] = '\0';
        mxp_dns_server_check(longs, err, sizeof(err));
        assert_non_null(strstr(err, "...'"));
        assert_true(strlen(err) < 200);
    }
    assert_int_equal(mxp_dns_server_check(NULL, err, sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_int_equal(mxp_dns_server_check("junk", NULL, 0), MXP_ERR_CONFIG);
}

static void test_resolver_new(void **state)
{
    static const char *const good[] = {"127.0.0.10:5353", "127.0.0.10",
                                       "[::1]:5353", "::1"};
    static const char *const bad[] = {"127.0.0.10", "1.2.3.4:0"};
    struct mxp_dns_config cfg = {good, 4, 100, 1};
    struct mxp_resolver *r = NULL;

    (void)state;
    assert_int_equal(mxp_resolver_new(&cfg, &r), MXP_OK);
    assert_non_null(r);
    mxp_resolver_free(r);

    cfg.servers = bad;
    cfg.n_servers = 2;
    assert_int_equal(mxp_resolver_new(&cfg, &r), MXP_ERR_CONFIG);
    assert_null(r);
    mxp_resolver_free(NULL);
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(mxp_dns_result_name(MXP_DNS_NXDOMAIN), "NXDOMAIN");
    assert_string_equal(mxp_dns_result_name(MXP_DNS_TIMEOUT), "timeout");
    assert_string_equal(mxp_dns_result_name((enum mxp_dns_result)99),
                        "unknown");
}

/* ---- the parser on crafted packets ----------------------------------- */

struct expect {
    const char *name;
    unsigned type;
    enum mxp_dns_result result;
    size_t n_rr;
};

/* Outcomes that the parser and a live batch must agree on. */
static const struct expect outcomes[] = {
    {"two.test", MXP_DNS_A, MXP_DNS_ANSWER, 2},
    {"txt.test", MXP_DNS_TXT, MXP_DNS_ANSWER, 2},
    {"nx.test", MXP_DNS_A, MXP_DNS_NXDOMAIN, 0},
    {"nodata.test", MXP_DNS_A, MXP_DNS_NODATA, 0},
    {"cnameonly.test", MXP_DNS_A, MXP_DNS_NODATA, 0},
    {"servfail.test", MXP_DNS_A, MXP_DNS_SERVFAIL, 0},
    {"refused.test", MXP_DNS_A, MXP_DNS_REFUSED, 0},
    {"formerr.test", MXP_DNS_A, MXP_DNS_BADRESP, 0},
    {"notimp.test", MXP_DNS_A, MXP_DNS_FAILED, 0},
    {"trunc.test", MXP_DNS_A, MXP_DNS_BADRESP, 0},
    {"overrun.test", MXP_DNS_A, MXP_DNS_BADRESP, 0},
    {"badlen.test", MXP_DNS_A, MXP_DNS_BADRESP, 0},
    {"loop.test", MXP_DNS_PTR, MXP_DNS_BADRESP, 0},
    {"badtxt.test", MXP_DNS_TXT, MXP_DNS_BADRESP, 0},
    {"junkname.test", MXP_DNS_PTR, MXP_DNS_BADRESP, 0},
    {"mx.test", MXP_DNS_MX, MXP_DNS_ANSWER, 1},
    {"aaaa.test", MXP_DNS_AAAA, MXP_DNS_ANSWER, 1},
    {"25.2.0.192.in-addr.arpa", MXP_DNS_PTR, MXP_DNS_ANSWER, 1},
    {"soa.test", MXP_DNS_SOA, MXP_DNS_ANSWER, 1},
    {"raw.test", 99, MXP_DNS_ANSWER, 1},
    {"mixed.test", MXP_DNS_A, MXP_DNS_ANSWER, 1},
    {"ttl.test", MXP_DNS_A, MXP_DNS_ANSWER, 1},
};
#define N_OUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

/* Checks the records of an answered query by its name. */
static void check_records(const struct mxp_dns_query *q)
{
    if (strcmp(q->name, "two.test") == 0) {
        assert_string_equal(q->rr[0].text, "192.0.2.1");
        assert_string_equal(q->rr[1].text, "192.0.2.2");
        assert_memory_equal(q->rr[1].addr, "\xc0\x00\x02\x02", 4);
        assert_int_equal(q->rr[0].type, MXP_DNS_A);
        assert_int_equal(q->rr[0].ttl, 300);
    } else if (strcmp(q->name, "txt.test") == 0) {
        assert_int_equal(q->rr[0].text_len, 12);
        assert_memory_equal(q->rr[0].text, "hello wor\0ld", 13);
        assert_int_equal(q->rr[1].text_len, 6);
        assert_string_equal(q->rr[1].text, "second");
    } else if (strcmp(q->name, "mx.test") == 0) {
        assert_int_equal(q->rr[0].pref, 10);
        assert_string_equal(q->rr[0].text, "mail.example.org");
    } else if (strcmp(q->name, "aaaa.test") == 0) {
        assert_string_equal(q->rr[0].text, "2001:db8::1");
        assert_int_equal(q->rr[0].addr[0], 0x20);
        assert_int_equal(q->rr[0].addr[15], 0x01);
    } else if (strcmp(q->name, "25.2.0.192.in-addr.arpa") == 0) {
        assert_string_equal(q->rr[0].text, "mx1.example.org");
        assert_int_equal(q->rr[0].text_len, strlen("mx1.example.org"));
    } else if (strcmp(q->name, "soa.test") == 0) {
        assert_string_equal(q->rr[0].text, "ns1.test");
    } else if (strcmp(q->name, "raw.test") == 0) {
        assert_int_equal(q->rr[0].text_len, 3);
        assert_memory_equal(q->rr[0].text, "\x00\x01\x02", 4);
    } else if (strcmp(q->name, "mixed.test") == 0) {
        assert_string_equal(q->rr[0].text, "198.51.100.7");
    } else if (strcmp(q->name, "ttl.test") == 0) {
        assert_int_equal(q->rr[0].ttl, 0);
    }
}

static void check_outcome(const struct expect *e, const struct mxp_dns_query *q)
{
    if (q->result != e->result)
        fail_msg("%s: got %s, want %s", e->name, mxp_dns_result_name(q->result),
                 mxp_dns_result_name(e->result));
    assert_int_equal(q->n_rr, e->n_rr);
    if (e->n_rr == 0)
        assert_null(q->rr);
    else
        check_records(q);
}

static void test_parse_table(void **state)
{
    struct mxp_arena *arena = mxp_arena_new();
    static struct pkt p;
    size_t i;

    (void)state;
    assert_non_null(arena);
    for (i = 0; i < N_OUTCOMES; i++) {
        struct mxp_dns_query q = {outcomes[i].name,
                                  (uint16_t)outcomes[i].type,
                                  MXP_DNS_FAILED,
                                  NULL,
                                  0,
                                  0};
        assert_int_equal(respond(outcomes[i].name, outcomes[i].type, 7, &p), 1);
        assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
        check_outcome(&outcomes[i], &q);
    }
    mxp_arena_free(arena);
}

static void test_parse_cap(void **state)
{
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q = {"cap.test", MXP_DNS_TXT, MXP_DNS_FAILED,
                              NULL,       0,           0};
    static struct pkt p;

    (void)state;
    assert_non_null(arena);
    /* More records than we keep: a cut answer could hide the record that
     * matters, so it is no answer. */
    respond("cap.test", MXP_DNS_TXT, 1, &p);
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_BADRESP);
    assert_null(q.rr);

    q.name = "cap256.test";
    respond("cap256.test", MXP_DNS_TXT, 1, &p);
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_ANSWER);
    assert_int_equal(q.n_rr, 256);
    assert_int_equal(q.rr[255].text_len, 0);
    assert_string_equal(q.rr[255].text, "");

    /* Every record is checked: break the last one. */
    p.b[p.len - 3] = 9; /* its rdlength low byte */
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_BADRESP);
    assert_null(q.rr);
    mxp_arena_free(arena);
}

/* Every prefix of every packet, and every single-byte corruption of a
 * few, must parse without crashing (ASan watches) to a defined result. */
static void test_parse_hostile(void **state)
{
    struct mxp_arena *arena = mxp_arena_new();
    static struct pkt p;
    unsigned char copy[PKT_MAX];
    size_t i, cut, pos;
    unsigned v;

    (void)state;
    assert_non_null(arena);
    for (i = 0; i < N_OUTCOMES; i++) {
        struct mxp_dns_query q = {outcomes[i].name,
                                  (uint16_t)outcomes[i].type,
                                  MXP_DNS_FAILED,
                                  NULL,
                                  0,
                                  0};
        respond(outcomes[i].name, outcomes[i].type, 1, &p);
        for (cut = 0; cut < p.len; cut++) {
            /* A fresh heap copy so ASan sees reads past the cut. */
            unsigned char *h = malloc(cut ? cut : 1);
            assert_non_null(h);
            memcpy(h, p.b, cut);
            assert_int_equal(mxp_dns_parse_answer(h, cut, arena, &q), MXP_OK);
            free(h);
            if (cut < 12)
                assert_int_equal(q.result, MXP_DNS_BADRESP);
            assert_true(q.result <= MXP_DNS_FAILED);
        }
        for (pos = 0; pos < p.len && pos < 80; pos++) {
            for (v = 0; v < 256; v += 17) {
                memcpy(copy, p.b, p.len);
                copy[pos] = (unsigned char)v;
                assert_int_equal(mxp_dns_parse_answer(copy, p.len, arena, &q),
                                 MXP_OK);
                assert_true(q.result <= MXP_DNS_FAILED);
                if (q.result == MXP_DNS_ANSWER)
                    assert_true(q.n_rr > 0 && q.rr[0].text != NULL);
            }
        }
    }
    /* Not a response (QR clear) and NULL input. */
    {
        struct mxp_dns_query q = {"two.test", MXP_DNS_A, MXP_DNS_FAILED,
                                  NULL,       0,         0};
        respond("two.test", MXP_DNS_A, 1, &p);
        p.b[2] &= 0x7f;
        mxp_dns_parse_answer(p.b, p.len, arena, &q);
        assert_int_equal(q.result, MXP_DNS_BADRESP);
        mxp_dns_parse_answer(NULL, 0, arena, &q);
        assert_int_equal(q.result, MXP_DNS_BADRESP);
    }
    mxp_arena_free(arena);
}

/* A record owned by name (uncompressed), type, rdata from pa/pnamerr
 * style callers. */
static void prr_owned(struct pkt *p, const char *owner, unsigned type,
                      unsigned rdlen)
{
    pname(p, owner);
    p16(p, type);
    p16(p, 1);
    p32(p, 300);
    p16(p, rdlen);
}

static void pa_owned(struct pkt *p, const char *owner, const char *text)
{
    unsigned char a[4];

    assert_int_equal(inet_pton(AF_INET, text, a), 1);
    prr_owned(p, owner, MXP_DNS_A, 4);
    pbytes(p, a, 4);
}

static void pcname_owned(struct pkt *p, const char *owner, const char *target)
{
    prr_owned(p, owner, MXP_DNS_CNAME, (unsigned)name_wire_len(target));
    pname(p, target);
}

/* Only records owned by the question's name, or by the CNAME chain from
 * it, count: a hostile server cannot slip in records for other names. */
static void test_parse_owners(void **state)
{
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q = {"www.own.test", MXP_DNS_A, MXP_DNS_FAILED,
                              NULL,           0,         0};
    static struct pkt p;

    (void)state;
    assert_non_null(arena);
    /* An extra record for another name: ignored. */
    pstart(&p, 1, 0, 2, "www.own.test", MXP_DNS_A);
    pa_owned(&p, "evil.example", "192.0.2.66");
    pa_owned(&p, "WWW.own.test", "192.0.2.1");
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_ANSWER);
    assert_int_equal(q.n_rr, 1);
    assert_string_equal(q.rr[0].text, "192.0.2.1");

    /* Only the foreign record: no data for our name. */
    pstart(&p, 1, 0, 1, "www.own.test", MXP_DNS_A);
    pa_owned(&p, "evil.example", "192.0.2.66");
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_NODATA);

    /* A CNAME chain, listed out of order: the end's records count. */
    pstart(&p, 1, 0, 4, "www.own.test", MXP_DNS_A);
    pa_owned(&p, "c2.own.test", "192.0.2.2");
    pcname_owned(&p, "c1.own.test", "c2.own.test");
    pcname_owned(&p, "www.own.test", "c1.own.test");
    pa_owned(&p, "c3.own.test", "192.0.2.3"); /* not on the chain */
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_ANSWER);
    assert_int_equal(q.n_rr, 1);
    assert_string_equal(q.rr[0].text, "192.0.2.2");

    /* A CNAME loop ends the chain; nothing else is taken. */
    pstart(&p, 1, 0, 3, "www.own.test", MXP_DNS_A);
    pcname_owned(&p, "www.own.test", "l.own.test");
    pcname_owned(&p, "l.own.test", "www.own.test");
    pa_owned(&p, "x.own.test", "192.0.2.9");
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_NODATA);

    /* A CNAME of rdlength 0 would take the next record's owner as its
     * target and smuggle that record in: a bad response. */
    pstart(&p, 1, 0, 2, "www.own.test", MXP_DNS_A);
    prr_owned(&p, "www.own.test", MXP_DNS_CNAME, 0);
    pa_owned(&p, "evil.example", "192.0.2.66");
    assert_int_equal(mxp_dns_parse_answer(p.b, p.len, arena, &q), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_BADRESP);
    assert_null(q.rr);
    mxp_arena_free(arena);
}

/* svc->dns_has_addr: only an answer holding the very address counts. */
static void test_has_addr(void **state)
{
    struct mxp_dns_rr rr[2] = {{.type = MXP_DNS_A, .addr = {192, 0, 2, 1}},
                               {.type = MXP_DNS_A, .addr = {192, 0, 2, 2}}};
    struct mxp_dns_query q = {"x.test", MXP_DNS_A, MXP_DNS_ANSWER, rr, 2, 0};
    const unsigned char two[4] = {192, 0, 2, 2}, three[4] = {192, 0, 2, 3};

    (void)state;
    assert_true(mxp_dns_has_addr(&q, AF_INET, two));
    assert_false(mxp_dns_has_addr(&q, AF_INET, three));
    q.result = MXP_DNS_NODATA;
    assert_false(mxp_dns_has_addr(&q, AF_INET, two));
    assert_false(mxp_dns_has_addr(NULL, AF_INET, two));
}

/* ---- live batches against the fake server ---------------------------- */

/* Every outcome in one batch, plus a query never answered and one the
 * resolver refuses to send: the whole batch takes one per-try timeout. */
static void test_batch_outcomes(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 200, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[N_OUTCOMES + 3];
    char longname[80];
    double t0, took;
    size_t i, n = N_OUTCOMES;

    (void)state;
    assert_non_null(arena);
    memset(q, 0, sizeof(q));
    for (i = 0; i < N_OUTCOMES; i++) {
        q[i].name = outcomes[i].name;
        q[i].type = (uint16_t)outcomes[i].type;
    }
    memset(longname, 'a', 70); /* a label over 63 bytes */
    memcpy(longname + 70, ".test", 6);
    q[n].name = "drop.test";
    q[n++].type = MXP_DNS_A;
    q[n].name = longname;
    q[n++].type = MXP_DNS_A;
    q[n].name = NULL;
    q[n++].type = MXP_DNS_A;

    t0 = mxp_now();
    assert_int_equal(mxp_dns_batch(r, arena, q, n, t0 + 1.5), MXP_OK);
    took = mxp_now() - t0;
    for (i = 0; i < N_OUTCOMES; i++) {
        check_outcome(&outcomes[i], &q[i]);
        assert_true(q[i].elapsed > 0 && q[i].elapsed < 0.15);
    }
    assert_int_equal(q[N_OUTCOMES].result, MXP_DNS_TIMEOUT);
    assert_true(q[N_OUTCOMES].elapsed >= 0.19);
    assert_int_equal(q[N_OUTCOMES + 1].result, MXP_DNS_BADRESP);
    assert_int_equal(q[N_OUTCOMES + 2].result, MXP_DNS_FAILED);
    /* One c-ares timeout (200 ms), not one per query, not the deadline. */
    assert_true(took >= 0.19 && took < 0.6);

    /* The resolver is reusable, and an empty batch is fine. */
    assert_int_equal(mxp_dns_batch(r, arena, q, 1, mxp_now() + 1), MXP_OK);
    check_outcome(&outcomes[0], &q[0]);
    assert_int_equal(mxp_dns_batch(r, arena, q, 0, mxp_now() + 1), MXP_OK);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* The deadline wins over long per-try timeouts: the batch returns on
 * time, the silent query is TIMEOUT and the others are answered. */
static void test_batch_deadline(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 5000, 3);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[3] = {
        {"drop.test", MXP_DNS_A, MXP_DNS_ANSWER, NULL, 0, 0},
        {"two.test", MXP_DNS_A, MXP_DNS_FAILED, NULL, 0, 0},
        {"nx.test", MXP_DNS_A, MXP_DNS_FAILED, NULL, 0, 0},
    };
    double t0, took;

    (void)state;
    assert_non_null(arena);
    t0 = mxp_now();
    assert_int_equal(mxp_dns_batch(r, arena, q, 3, t0 + 0.3), MXP_OK);
    took = mxp_now() - t0;
    assert_true(took >= 0.29 && took < 0.45);
    assert_int_equal(q[0].result, MXP_DNS_TIMEOUT);
    assert_int_equal(q[1].result, MXP_DNS_ANSWER);
    assert_int_equal(q[1].n_rr, 2);
    assert_int_equal(q[2].result, MXP_DNS_NXDOMAIN);

    /* A deadline already past: nothing waits, nothing is left open. */
    t0 = mxp_now();
    assert_int_equal(mxp_dns_batch(r, arena, q, 1, t0 - 1), MXP_OK);
    assert_int_equal(q[0].result, MXP_DNS_TIMEOUT);
    assert_true(mxp_now() - t0 < 0.05);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* The server holds gather.test queries until all 50 have arrived, so
 * this only passes when the batch sends every query before waiting. */
static void test_batch_all_at_once(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 500, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[GATHER_N];
    char names[GATHER_N][32], want[32];
    int before = atomic_load(&srv.gathered);
    double t0;
    size_t i;

    (void)state;
    assert_non_null(arena);
    memset(q, 0, sizeof(q));
    for (i = 0; i < GATHER_N; i++) {
        snprintf(names[i], sizeof(names[i]), "n%zu.gather.test", i);
        q[i].name = names[i];
        q[i].type = MXP_DNS_A;
    }
    t0 = mxp_now();
    assert_int_equal(mxp_dns_batch(r, arena, q, GATHER_N, t0 + 1.0), MXP_OK);
    assert_true(mxp_now() - t0 < 0.3);
    for (i = 0; i < GATHER_N; i++) {
        snprintf(want, sizeof(want), "10.0.0.%zu", i);
        assert_int_equal(q[i].result, MXP_DNS_ANSWER);
        assert_int_equal(q[i].n_rr, 1);
        assert_string_equal(q[i].rr[0].text, want);
    }
    assert_int_equal(atomic_load(&srv.gathered) - before, GATHER_N);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* More queries than c-ares gets at once (256): the window slides on
 * as answers come and every query is answered.  Tries 3: a query the
 * loaded fake server lost is asked again. */
static void test_batch_window(void **state)
{
    enum { N = 700 };
    struct mxp_resolver *r = resolver_on(0, 200, 3);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query *q = calloc(N, sizeof(*q));
    char(*names)[32] = calloc(N, sizeof(*names));
    char want[32];
    size_t i;

    (void)state;
    assert_non_null(arena);
    assert_non_null(q);
    assert_non_null(names);
    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "n%zu.many.test", i);
        q[i].name = names[i];
        q[i].type = MXP_DNS_A;
    }
    assert_int_equal(mxp_dns_batch(r, arena, q, N, mxp_now() + 1.5), MXP_OK);
    for (i = 0; i < N; i++) {
        snprintf(want, sizeof(want), "10.0.%zu.%zu", i / 256, i % 256);
        assert_int_equal(q[i].result, MXP_DNS_ANSWER);
        assert_string_equal(q[i].rr[0].text, want);
    }
    free(names);
    free(q);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* Nothing listens on the port: ICMP port unreachable, reported at once
 * as a failure rather than waited out. */
static void test_batch_refused_port(void **state)
{
    unsigned port = 0;
    int fd = socket_bound(SOCK_DGRAM, &port);
    struct mxp_resolver *r;
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q = {"two.test", MXP_DNS_A, MXP_DNS_ANSWER,
                              NULL,       0,         0};
    double t0;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    r = resolver_on(port, 300, 1);
    t0 = mxp_now();
    assert_int_equal(mxp_dns_batch(r, arena, &q, 1, t0 + 1.0), MXP_OK);
    assert_int_equal(q.result, MXP_DNS_FAILED);
    assert_true(mxp_now() - t0 < 0.5);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* An answer too big for UDP comes truncated; c-ares asks again over
 * TCP and gets all of it, of which we keep the first 256 records. */
static void test_batch_tcp_fallback(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 500, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[2] = {
        {"cap256.test", MXP_DNS_TXT, MXP_DNS_FAILED, NULL, 0, 0},
        {"two.test", MXP_DNS_A, MXP_DNS_FAILED, NULL, 0, 0},
    };
    int before = atomic_load(&srv.tcp_queries);

    (void)state;
    assert_non_null(arena);
    assert_int_equal(mxp_dns_batch(r, arena, q, 2, mxp_now() + 1.0), MXP_OK);
    assert_int_equal(q[0].result, MXP_DNS_ANSWER);
    assert_int_equal(q[0].n_rr, 256);
    assert_int_equal(q[1].result, MXP_DNS_ANSWER);
    assert_int_equal(q[1].n_rr, 2);
    assert_int_equal(atomic_load(&srv.tcp_queries) - before, 1);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* ---- asynchronous batches --------------------------------------------- */

static void sleep_ms(int ms)
{
    poll(NULL, 0, ms);
}

/* Two batches in flight while the caller does something else (a stand-in
 * for SMTP): nothing is read meanwhile, yet no answer is lost, and each
 * batch gets exactly its own answers whatever the order of collection. */
static void test_async_overlap(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 2000, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query a[2] = {{"two.test", MXP_DNS_A, 0, NULL, 0, 0},
                                 {"nx.test", MXP_DNS_A, 0, NULL, 0, 0}};
    struct mxp_dns_query b[1] = {{"txt.test", MXP_DNS_TXT, 0, NULL, 0, 0}};
    struct mxp_dns_batch *ba = NULL, *bb = NULL;
    double t0 = mxp_now();

    (void)state;
    assert_non_null(arena);
    assert_int_equal(mxp_dns_start(r, arena, a, 2, t0 + 2, &ba), MXP_OK);
    assert_non_null(ba);
    /* not answered before collection, whatever came */
    assert_int_equal(a[0].result, MXP_DNS_FAILED);
    sleep_ms(100);
    assert_int_equal(mxp_dns_start(r, arena, b, 1, t0 + 2, &bb), MXP_OK);
    assert_int_equal(mxp_dns_collect(r, bb), MXP_OK);
    assert_int_equal(b[0].result, MXP_DNS_ANSWER);
    assert_int_equal(b[0].n_rr, 2);
    assert_int_equal(mxp_dns_collect(r, ba), MXP_OK);
    assert_int_equal(a[0].result, MXP_DNS_ANSWER);
    assert_int_equal(a[0].n_rr, 2);
    assert_string_equal(a[0].rr[1].text, "192.0.2.2");
    assert_int_equal(a[1].result, MXP_DNS_NXDOMAIN);
    /* the 100 ms of other work, not a timeout's worth */
    assert_true(mxp_now() - t0 < 0.5);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* An answer that came while the caller was busy past the batch's time
 * is still read: a slow SMTP step must not turn answers into timeouts. */
static void test_async_collect_late(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 2000, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[1] = {{"two.test", MXP_DNS_A, 0, NULL, 0, 0}};
    struct mxp_dns_batch *b = NULL;

    (void)state;
    assert_non_null(arena);
    assert_int_equal(mxp_dns_start(r, arena, q, 1, mxp_now() + 0.05, &b),
                     MXP_OK);
    sleep_ms(150);
    assert_int_equal(mxp_dns_collect(r, b), MXP_OK);
    assert_int_equal(q[0].result, MXP_DNS_ANSWER);
    assert_int_equal(q[0].n_rr, 2);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* A batch given up at its deadline leaves the other batches in flight
 * alone: the later one still gets its answers and its own timeout. */
static void test_async_deadlines(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 5000, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query a[1] = {{"drop.test", MXP_DNS_A, 0, NULL, 0, 0}};
    struct mxp_dns_query b[2] = {{"drop.test", MXP_DNS_TXT, 0, NULL, 0, 0},
                                 {"nx.test", MXP_DNS_A, 0, NULL, 0, 0}};
    struct mxp_dns_batch *ba = NULL, *bb = NULL;
    double t0 = mxp_now(), took;

    (void)state;
    assert_non_null(arena);
    assert_int_equal(mxp_dns_start(r, arena, a, 1, t0 + 0.2, &ba), MXP_OK);
    assert_int_equal(mxp_dns_start(r, arena, b, 2, t0 + 0.4, &bb), MXP_OK);
    assert_int_equal(mxp_dns_collect(r, ba), MXP_OK);
    took = mxp_now() - t0;
    assert_true(took >= 0.19 && took < 0.35);
    assert_int_equal(a[0].result, MXP_DNS_TIMEOUT);
    assert_true(a[0].elapsed >= 0.19);
    assert_int_equal(mxp_dns_collect(r, bb), MXP_OK);
    took = mxp_now() - t0;
    assert_true(took >= 0.39 && took < 0.55);
    assert_int_equal(b[0].result, MXP_DNS_TIMEOUT);
    assert_int_equal(b[1].result, MXP_DNS_NXDOMAIN);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* A lost packet while the caller was busy past the batch's time: c-ares
 * notices the timed-out try only when driven, so a batch given one more
 * try's time at collection asks again and gets the answer. */
static void test_async_retry_after_wait(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 100, 2);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[1] = {{"dropfirst.test", MXP_DNS_A, 0, NULL, 0, 0}};
    struct mxp_dns_batch *b = NULL;

    (void)state;
    assert_non_null(arena);
    atomic_store(&dropfirst_seen, 0);
    assert_int_equal(mxp_dns_start(r, arena, q, 1, mxp_now() + 0.2, &b),
                     MXP_OK);
    sleep_ms(300);
    mxp_dns_extend(b, mxp_now() + 0.3);
    assert_int_equal(mxp_dns_collect(r, b), MXP_OK);
    assert_int_equal(q[0].result, MXP_DNS_ANSWER);
    assert_int_equal(atomic_load(&dropfirst_seen), 2);

    /* not extended: the time is up, the one look finds nothing */
    atomic_store(&dropfirst_seen, 0);
    assert_int_equal(mxp_dns_start(r, arena, q, 1, mxp_now() + 0.2, &b),
                     MXP_OK);
    sleep_ms(300);
    assert_int_equal(mxp_dns_collect(r, b), MXP_OK);
    assert_int_equal(q[0].result, MXP_DNS_TIMEOUT);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* mxp_dns_done never waits, drives the batches on, and says when one has
 * all its outcomes; collecting it then costs nothing. */
static void test_async_done(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 2000, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[2] = {{"two.test", MXP_DNS_A, 0, NULL, 0, 0},
                                 {"nodata.test", MXP_DNS_A, 0, NULL, 0, 0}};
    struct mxp_dns_batch *b = NULL;
    double t0 = mxp_now(), t;
    int done = 0, calls = 0;

    (void)state;
    assert_non_null(arena);
    assert_int_equal(mxp_dns_start(r, arena, q, 2, t0 + 2, &b), MXP_OK);
    while (!done && mxp_now() - t0 < 1.0) {
        t = mxp_now();
        done = mxp_dns_done(r, b);
        assert_true(mxp_now() - t < 0.05);
        calls++;
        if (!done)
            sleep_ms(5);
    }
    assert_true(done);
    t = mxp_now();
    assert_int_equal(mxp_dns_collect(r, b), MXP_OK);
    assert_true(mxp_now() - t < 0.05);
    assert_int_equal(q[0].result, MXP_DNS_ANSWER);
    assert_int_equal(q[1].result, MXP_DNS_NODATA);
    /* NULL handles are no-ops */
    assert_int_equal(mxp_dns_collect(r, NULL), MXP_OK);
    assert_int_equal(mxp_dns_done(r, NULL), 1);
    mxp_arena_free(arena);
    mxp_resolver_free(r);
}

/* A batch never collected: freeing the resolver ends it without writing
 * to its queries (they may be gone; ASan watches this one). */
static void test_async_uncollected(void **state)
{
    struct mxp_resolver *r = resolver_on(0, 2000, 1);
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query *q = calloc(2, sizeof(*q));
    struct mxp_dns_batch *b = NULL;

    (void)state;
    assert_non_null(arena);
    assert_non_null(q);
    q[0].name = "drop.test";
    q[0].type = MXP_DNS_A;
    q[1].name = "two.test";
    q[1].type = MXP_DNS_A;
    assert_int_equal(mxp_dns_start(r, arena, q, 2, mxp_now() + 2, &b), MXP_OK);
    free(q);
    mxp_resolver_free(r);
    mxp_arena_free(arena);
    /* bad arguments: no handle, nothing sent */
    r = resolver_on(0, 2000, 1);
    b = (struct mxp_dns_batch *)&b;
    assert_int_equal(mxp_dns_start(r, NULL, NULL, 0, mxp_now() + 1, &b),
                     MXP_ERR_INVALID);
    assert_null(b);
    mxp_resolver_free(r);
}

/* ---- the AD bit (svc->dns_authenticated) ----------------------------- */

/* A resolver on the scripted server of dns_script.c, which sets AD where
 * dnss_set_ad says so. */
static struct mxp_resolver *resolver_on_script(int timeout_ms)
{
    const char *servers[1] = {dnss_server()};
    struct mxp_dns_config cfg = {servers, 1, timeout_ms, 1};
    struct mxp_resolver *r = NULL;

    assert_int_equal(mxp_resolver_new(&cfg, &r), MXP_OK);
    return r;
}

/* Queries go out with RD and AD (RFC 6840 5.7), without CD and without
 * EDNS (no OPT, so no DO bit: no RRSIGs come back); the AD bit of each
 * response is what mxp_dns_authenticated() reports, NXDOMAIN too; no
 * response is -1, as is a query of no collected batch. */
static void test_ad_bit(void **state)
{
    struct mxp_resolver *r;
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[5],
        other = {.name = "signed.test", .type = MXP_DNS_A};
    unsigned flags = 0, arcount = 9;

    (void)state;
    assert_non_null(arena);
    assert_true(dnss_start() != 0);
    dnss_add("signed.test", MXP_DNS_MX, 0, 0, "MX 10 mx.signed.test");
    dnss_set_ad("signed.test", MXP_DNS_MX, 1);
    dnss_add("plain.test", MXP_DNS_MX, 0, 0, "MX 10 mx.plain.test");
    dnss_add("gone.signed.test", MXP_DNS_A, 3, 0, "");
    dnss_set_ad("gone.signed.test", MXP_DNS_A, 1);
    dnss_add("gone.plain.test", MXP_DNS_A, 3, 0, "");
    dnss_add("drop.test", MXP_DNS_A, 0, -1, "");
    r = resolver_on_script(200);
    memset(q, 0, sizeof(q));
    q[0].name = "signed.test";
    q[0].type = MXP_DNS_MX;
    q[1].name = "plain.test";
    q[1].type = MXP_DNS_MX;
    q[2].name = "gone.signed.test";
    q[2].type = MXP_DNS_A;
    q[3].name = "gone.plain.test";
    q[3].type = MXP_DNS_A;
    q[4].name = "drop.test";
    q[4].type = MXP_DNS_A;
    assert_int_equal(mxp_dns_authenticated(r, &q[0]), -1); /* not asked */
    assert_int_equal(mxp_dns_batch(r, arena, q, 5, mxp_now() + 1), MXP_OK);
    assert_int_equal(q[0].result, MXP_DNS_ANSWER);
    assert_int_equal(q[1].result, MXP_DNS_ANSWER);
    assert_int_equal(q[2].result, MXP_DNS_NXDOMAIN);
    assert_int_equal(q[3].result, MXP_DNS_NXDOMAIN);
    assert_int_equal(q[4].result, MXP_DNS_TIMEOUT);
    assert_int_equal(mxp_dns_authenticated(r, &q[0]), 1);
    assert_int_equal(mxp_dns_authenticated(r, &q[1]), 0);
    assert_int_equal(mxp_dns_authenticated(r, &q[2]), 1);
    assert_int_equal(mxp_dns_authenticated(r, &q[3]), 0);
    assert_int_equal(mxp_dns_authenticated(r, &q[4]), -1);
    /* Not a query of any batch (an address inside none of the arrays). */
    assert_int_equal(mxp_dns_authenticated(r, &other), -1);
    assert_int_equal(mxp_dns_authenticated(r, NULL), -1);
    assert_int_equal(mxp_dns_authenticated(NULL, &q[0]), -1);
    dnss_last_query(&flags, &arcount);
    assert_int_equal(flags & 0x0100, 0x0100); /* RD */
    assert_int_equal(flags & 0x0020, 0x0020); /* AD */
    assert_int_equal(flags & 0x0010, 0);      /* no CD */
    assert_int_equal(arcount, 0);             /* no OPT: no DO bit */
    mxp_resolver_free(r);
    mxp_arena_free(arena);
    dnss_clear();
    dnss_stop();
}

/* A query asked again reports its latest answer, through dns_start and
 * dns_collect as through dns_batch; a batch started and not yet
 * collected changes nothing. */
static void test_ad_latest(void **state)
{
    struct mxp_resolver *r;
    struct mxp_arena *arena = mxp_arena_new();
    struct mxp_dns_query q[2], again[1];
    struct mxp_dns_batch *b = NULL;

    (void)state;
    assert_non_null(arena);
    assert_true(dnss_start() != 0);
    dnss_add("flip.test", MXP_DNS_MX, 0, 0, "MX 10 mx.flip.test");
    dnss_add("slow.test", MXP_DNS_MX, 0, 150, "MX 10 mx.slow.test");
    dnss_set_ad("slow.test", MXP_DNS_MX, 1);
    r = resolver_on_script(1000);
    memset(q, 0, sizeof(q));
    q[0].name = "flip.test";
    q[0].type = MXP_DNS_MX;
    q[1].name = "slow.test";
    q[1].type = MXP_DNS_MX;
    assert_int_equal(mxp_dns_batch(r, arena, q, 1, mxp_now() + 1), MXP_OK);
    assert_int_equal(mxp_dns_authenticated(r, &q[0]), 0);

    dnss_set_ad("flip.test", MXP_DNS_MX, 1);
    assert_int_equal(mxp_dns_start(r, arena, q, 2, mxp_now() + 1, &b), MXP_OK);
    assert_int_equal(mxp_dns_authenticated(r, &q[0]), 0); /* not collected */
    assert_int_equal(mxp_dns_authenticated(r, &q[1]), -1);
    assert_int_equal(mxp_dns_collect(r, b), MXP_OK);
    assert_int_equal(q[1].result, MXP_DNS_ANSWER);
    assert_int_equal(mxp_dns_authenticated(r, &q[0]), 1);
    assert_int_equal(mxp_dns_authenticated(r, &q[1]), 1);

    /* Another array: its own record; q's stays. */
    dnss_set_ad("flip.test", MXP_DNS_MX, 0);
    memset(again, 0, sizeof(again));
    again[0] = q[0];
    assert_int_equal(mxp_dns_batch(r, arena, again, 1, mxp_now() + 1), MXP_OK);
    assert_int_equal(mxp_dns_authenticated(r, &again[0]), 0);
    assert_int_equal(mxp_dns_authenticated(r, &q[0]), 1);
    /* q[0] alone asked again: latest answer, q[1] keeps its own. */
    assert_int_equal(mxp_dns_batch(r, arena, q, 1, mxp_now() + 1), MXP_OK);
    assert_int_equal(mxp_dns_authenticated(r, &q[0]), 0);
    assert_int_equal(mxp_dns_authenticated(r, &q[1]), 1);
    mxp_resolver_free(r);
    mxp_arena_free(arena);
    dnss_clear();
    dnss_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reverse_names),
        cmocka_unit_test(test_server_check),
        cmocka_unit_test(test_resolver_new),
        cmocka_unit_test(test_result_names),
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_cap),
        cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_parse_owners),
        cmocka_unit_test(test_has_addr),
        cmocka_unit_test(test_batch_outcomes),
        cmocka_unit_test(test_batch_deadline),
        cmocka_unit_test(test_batch_all_at_once),
        cmocka_unit_test(test_batch_window),
        cmocka_unit_test(test_batch_tcp_fallback),
        cmocka_unit_test(test_batch_refused_port),
        cmocka_unit_test(test_async_overlap),
        cmocka_unit_test(test_async_collect_late),
        cmocka_unit_test(test_async_deadlines),
        cmocka_unit_test(test_async_retry_after_wait),
        cmocka_unit_test(test_async_done),
        cmocka_unit_test(test_async_uncollected),
        cmocka_unit_test(test_ad_bit),
        cmocka_unit_test(test_ad_latest),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
