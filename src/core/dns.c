/*
 * dns.c - batched DNS queries on c-ares 1.18 (see dns.h).
 *
 * A batch hands every query to c-ares at once (up to 256 in flight over
 * all batches; more slide through that window), then drives the channel
 * with poll() over the sockets c-ares reports through its socket-state
 * callback, until each query has an outcome or the deadline passes.
 * Batches may be started and collected later; the resolver keeps a list
 * of them, since one channel serves all and any wait drives all.
 * Answers are parsed here, from the raw packet, into arena memory: the
 * packet is hostile input and a bad one becomes MXP_DNS_BADRESP.
 */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_TRIES 2
#define MAX_RR 256 /* records kept per answer */
#define DNS_HEADER 12
#define AD_BIT 0x20 /* in header byte 3 (RFC 4035 3.2.3, RFC 6840 5.7) */
#define RR_FIXED 10 /* type, class, ttl, rdlength */
#define CLASS_IN 1
/* Queries of one batch in flight at once.  Answers that arrive together
 * must fit the socket's receive buffer (we ask for RCVBUF below, but the
 * kernel caps it at net.core.rmem_max, 208 KiB by default, which holds a
 * few hundred small answers); bigger batches go out in a sliding window. */
#define BATCH_WINDOW 256
#define RCVBUF_BYTES (1 << 20)

/* A socket c-ares wants watched, and for what. */
struct sock_watch {
    ares_socket_t fd;
    int rd, wr;
};

/* One query of a batch, as c-ares' callback sees it. */
struct pending {
    struct mxp_dns_batch *b;
    struct mxp_dns_query *q;
    int sent, done;
    int in_ares; /* handed to c-ares, not called back: qid in use */
    uint16_t qid;
    signed char ad; /* the AD bit of the response that gave the outcome,
                       -1 none came */
    double sent_at;
};

/* What a collected batch's responses said about AD, for
 * mxp_dns_authenticated() after the batch handle is gone: the address
 * range of its q array and one AD byte per query. */
struct ad_record {
    struct ad_record *next; /* older */
    const struct mxp_dns_query *q;
    size_t n;
    signed char ad[];
};

/* A started batch (dns.h).  It stays on the resolver's list until it is
 * collected and c-ares has called back for every query it was handed:
 * a batch given up at its deadline ("abandoned") may still have queries
 * inside c-ares, whose callbacks must find it. */
struct mxp_dns_batch {
    struct mxp_resolver *r;
    struct mxp_dns_batch *next; /* on r->batches */
    struct mxp_arena *arena;
    struct mxp_dns_query *q;
    struct pending *pend;
    size_t n, next_send;
    size_t pending;  /* without an outcome yet */
    size_t inflight; /* handed to c-ares, not called back yet */
    double deadline;
    int nomem;
    int abandoned; /* collected or the resolver is going: no more outcomes */
};

struct mxp_resolver {
    ares_channel ch;
    int have_channel;
    struct sock_watch *socks;
    size_t n_socks, cap_socks;
    int sock_nomem; /* a socket could not be tracked: fail the batch */
    struct mxp_dns_batch *batches; /* started, not yet freed */
    size_t inflight;               /* over all batches: the window */
    struct ad_record *ad_log;      /* collected batches, newest first */
    /* Query ids in flight.  c-ares 1.18's ares_send() keeps the id the
     * query carries (only ares_query() picks one) and matches answers by
     * id, then question: two queries in flight with one id would lose
     * an answer. */
    unsigned char qid_used[65536 / 8];
    uint16_t rnd[64]; /* getrandom() ids, used from the end */
    size_t n_rnd;
    uint32_t rnd_state; /* fallback when getrandom() fails */
};

/* A parsed server string. */
struct server_addr {
    int family;
    unsigned char addr[16];
    unsigned port; /* 0: not given */
};

int mxp_dns_global_init(void)
{
    return ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS ? MXP_OK
                                                                : MXP_ERR_DNS;
}

void mxp_dns_global_cleanup(void)
{
    ares_library_cleanup();
}

/* ---- server strings -------------------------------------------------- */

static int parse_port(const char *s, unsigned *port)
{
    unsigned long v = 0;
    size_t i;

    if (*s == '\0' || strlen(s) > 5)
        return -1;
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

/* Accepts "a.b.c.d", "a.b.c.d:port", "v6", "[v6]" and "[v6]:port". */
static int parse_server(const char *s, struct server_addr *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon, *end, *port = NULL;
    size_t len;

    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return -1;
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (end == NULL)
            return -1;
        len = (size_t)(end - (s + 1));
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return -1;
        if (len == 0 || len >= sizeof(host))
            return -1;
        memcpy(host, s + 1, len);
        host[len] = '\0';
        out->family = AF_INET6;
    } else {
        colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            /* Two or more colons: a bare IPv6 address, no port. */
            len = strlen(s);
            out->family = AF_INET6;
        } else {
            len = colon != NULL ? (size_t)(colon - s) : strlen(s);
            if (colon != NULL)
                port = colon + 1;
            out->family = AF_INET;
        }
        if (len == 0 || len >= sizeof(host))
            return -1;
        memcpy(host, s, len);
        host[len] = '\0';
    }
    if (inet_pton(out->family, host, out->addr) != 1)
        return -1;
    if (port != NULL && parse_port(port, &out->port) != 0)
        return -1;
    return 0;
}

int mxp_dns_server_check(const char *server, char *err, size_t errlen)
{
    struct server_addr sa;
    char shown[80];
    size_t i;

    if (parse_server(server, &sa) == 0)
        return MXP_OK;
    if (err != NULL && errlen > 0) {
        /* Config text, but keep the message one printable line. */
        for (i = 0;
             server != NULL && server[i] != '\0' && i < sizeof(shown) - 4;
             i++) {
            unsigned char c = (unsigned char)server[i];
            shown[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
        if (server != NULL && server[i] != '\0') {
            memcpy(shown + i, "...", 3);
            i += 3;
        }
        shown[i] = '\0';
        snprintf(err, errlen,
                 "'%s' is not an IPv4/IPv6 address with optional :port "
                 "(1..65535)",
                 shown);
    }
    return MXP_ERR_CONFIG;
}

/* ---- the resolver ---------------------------------------------------- */

/* c-ares tells us which sockets to watch; keep our own table so that
 * poll() sees every one of them (ares_getsock() stops at 16). */
static void sock_state_cb(void *data, ares_socket_t fd, int readable,
                          int writable)
{
    struct mxp_resolver *r = data;
    size_t i;

    for (i = 0; i < r->n_socks; i++)
        if (r->socks[i].fd == fd)
            break;
    if (!readable && !writable) {
        if (i < r->n_socks)
            r->socks[i] = r->socks[--r->n_socks];
        return;
    }
    if (i == r->n_socks) {
        if (r->n_socks == r->cap_socks) {
            size_t cap = r->cap_socks ? r->cap_socks * 2 : 8;
            struct sock_watch *p = realloc(r->socks, cap * sizeof(*p));
            if (p == NULL) {
                r->sock_nomem = 1;
                return;
            }
            r->socks = p;
            r->cap_socks = cap;
        }
        r->socks[r->n_socks++].fd = fd;
    }
    r->socks[i].rd = readable;
    r->socks[i].wr = writable;
}

int mxp_resolver_new(const struct mxp_dns_config *cfg,
                     struct mxp_resolver **out)
{
    struct ares_options opts;
    struct ares_addr_port_node *nodes = NULL;
    struct mxp_resolver *r = NULL;
    struct server_addr sa;
    char lookups[] = "b"; /* never /etc/hosts */
    int mask, rc = MXP_OK;
    size_t i;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MXP_ERR_NOMEM;

    r->rnd_state = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)r ^ 0x9e3779b9u;
    if (r->rnd_state == 0)
        r->rnd_state = 1;
    memset(&opts, 0, sizeof(opts));
    /* NOCHECKRESP: c-ares 1.18 would otherwise turn SERVFAIL, REFUSED
     * and NOTIMP into ECONNREFUSED after trying the other servers; a
     * check reports what the server said instead. */
    opts.flags =
        ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    opts.timeout = cfg != NULL && cfg->timeout_ms > 0 ? cfg->timeout_ms
                                                      : DEFAULT_TIMEOUT_MS;
    opts.tries = cfg != NULL && cfg->tries > 0 ? cfg->tries : DEFAULT_TRIES;
    opts.sock_state_cb = sock_state_cb;
    opts.sock_state_cb_data = r;
    opts.lookups = lookups;
    opts.socket_receive_buffer_size = RCVBUF_BYTES;
    mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
           ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_RCVBUF;
    switch (ares_init_options(&r->ch, &opts, mask)) {
    case ARES_SUCCESS:
        break;
    case ARES_ENOMEM:
        rc = MXP_ERR_NOMEM;
        goto done;
    default:
        rc = MXP_ERR_DNS;
        goto done;
    }
    r->have_channel = 1;

    if (cfg != NULL && cfg->servers != NULL && cfg->n_servers > 0) {
        /* Build the list ourselves rather than through
         * ares_set_servers_ports_csv(): its 1.18 parser guesses ports
         * from colon counts, and a string that passed
         * mxp_dns_server_check() must mean exactly one thing. */
        nodes = calloc(cfg->n_servers, sizeof(*nodes));
        if (nodes == NULL) {
            rc = MXP_ERR_NOMEM;
            goto done;
        }
        for (i = 0; i < cfg->n_servers; i++) {
            if (parse_server(cfg->servers[i], &sa) != 0) {
                rc = MXP_ERR_CONFIG;
                goto done;
            }
            nodes[i].next = i + 1 < cfg->n_servers ? &nodes[i + 1] : NULL;
            nodes[i].family = sa.family;
            if (sa.family == AF_INET)
                memcpy(&nodes[i].addr.addr4, sa.addr, 4);
            else
                memcpy(&nodes[i].addr.addr6, sa.addr, 16);
            nodes[i].udp_port = sa.port ? (int)sa.port : 53;
            nodes[i].tcp_port = nodes[i].udp_port;
        }
        switch (ares_set_servers_ports(r->ch, nodes)) {
        case ARES_SUCCESS:
            break;
        case ARES_ENOMEM:
            rc = MXP_ERR_NOMEM;
            goto done;
        default:
            rc = MXP_ERR_DNS;
            goto done;
        }
    }
    *out = r;
    r = NULL;

done:
    free(nodes);
    mxp_resolver_free(r);
    return rc;
}

void mxp_resolver_free(struct mxp_resolver *r)
{
    struct mxp_dns_batch *b, *next;

    if (r == NULL)
        return;
    /* The queries' owners may be gone (a plugin that never collected):
     * the callbacks of ares_destroy() must only count down. */
    for (b = r->batches; b != NULL; b = b->next)
        b->abandoned = 1;
    if (r->have_channel)
        ares_destroy(r->ch);
    for (b = r->batches; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    while (r->ad_log != NULL) {
        struct ad_record *old = r->ad_log;

        r->ad_log = old->next;
        free(old);
    }
    free(r->socks);
    free(r);
}

/* ---- answer parsing -------------------------------------------------- */

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* The name at abuf[off] into buf (at most 1 KiB as presented, with
 * escapes: enough for any 255-byte name), without touching the arena:
 * owners are read many times over.  Returns 0, -1 when malformed or too
 * long, -2 when out of memory. */
static int name_at(const unsigned char *abuf, size_t alen, size_t off,
                   char *buf, size_t len, size_t *used)
{
    char *s = NULL;
    long enclen = 0;
    int st;

    if (off >= alen)
        return -1;
    st = ares_expand_name(abuf + off, abuf, (int)alen, &s, &enclen);
    if (st == ARES_ENOMEM)
        return -2;
    if (st != ARES_SUCCESS || enclen <= 0 || (size_t)enclen > alen - off ||
        strlen(s) >= len) {
        ares_free_string(s);
        return -1;
    }
    memcpy(buf, s, strlen(s) + 1);
    ares_free_string(s);
    *used = (size_t)enclen;
    return 0;
}

/* Expands the name at abuf[off] into the arena (name may be NULL: only
 * checked).  *used is its length in place (a compression pointer counts
 * 2).  Returns 0, -1 when malformed, -2 when out of memory. */
static int expand_name(const unsigned char *abuf, size_t alen, size_t off,
                       struct mxp_arena *arena, char **name, size_t *used)
{
    char buf[1024];
    int st = name_at(abuf, alen, off, buf, sizeof(buf), used);

    if (st != 0 || name == NULL)
        return st;
    *name = mxp_arena_strndup(arena, buf, strlen(buf));
    return *name != NULL ? 0 : -2;
}

/* Fills rr from rdata at abuf[off], rdlen bytes.  Returns 0, -1 when
 * malformed, -2 when out of memory. */
static int parse_rdata(const unsigned char *abuf, size_t alen, size_t off,
                       size_t rdlen, struct mxp_arena *arena,
                       struct mxp_dns_rr *rr)
{
    const unsigned char *rd = abuf + off;
    char addr[INET6_ADDRSTRLEN];
    char *name = NULL, *text;
    size_t used, used2, i, n;
    int st;

    switch (rr->type) {
    case MXP_DNS_A:
    case MXP_DNS_AAAA:
        n = rr->type == MXP_DNS_A ? 4 : 16;
        if (rdlen != n)
            return -1;
        memcpy(rr->addr, rd, n);
        if (inet_ntop(n == 4 ? AF_INET : AF_INET6, rd, addr, sizeof(addr)) ==
            NULL)
            return -1;
        rr->text = mxp_arena_strndup(arena, addr, strlen(addr));
        if (rr->text == NULL)
            return -2;
        rr->text_len = strlen(addr);
        return 0;
    case MXP_DNS_NS:
    case MXP_DNS_CNAME:
    case MXP_DNS_PTR:
        st = expand_name(abuf, alen, off, arena, &name, &used);
        if (st != 0)
            return st;
        if (used != rdlen)
            return -1;
        break;
    case MXP_DNS_MX:
        if (rdlen < 3)
            return -1;
        rr->pref = get16(rd);
        st = expand_name(abuf, alen, off + 2, arena, &name, &used);
        if (st != 0)
            return st;
        if (used + 2 != rdlen)
            return -1;
        break;
    case MXP_DNS_SOA:
        /* text is the primary server (MNAME); RNAME and the five
         * counters are checked for shape only. */
        st = expand_name(abuf, alen, off, arena, &name, &used);
        if (st != 0)
            return st;
        if (used >= rdlen)
            return -1;
        st = expand_name(abuf, alen, off + used, arena, NULL, &used2);
        if (st != 0)
            return st;
        if (used + used2 + 20 != rdlen)
            return -1;
        break;
    case MXP_DNS_TXT:
        text = mxp_arena_alloc(arena, rdlen + 1);
        if (text == NULL)
            return -2;
        n = 0;
        for (i = 0; i < rdlen; i += 1 + rd[i]) {
            if (rd[i] > rdlen - i - 1)
                return -1;
            memcpy(text + n, rd + i + 1, rd[i]);
            n += rd[i];
        }
        text[n] = '\0';
        rr->text = text;
        rr->text_len = n;
        return 0;
    default:
        /* Any other type: the raw RDATA (RFC 3597), NUL-terminated. */
        text = mxp_arena_alloc(arena, rdlen + 1);
        if (text == NULL)
            return -2;
        memcpy(text, rd, rdlen);
        rr->text = text;
        rr->text_len = rdlen;
        return 0;
    }
    rr->text = name;
    rr->text_len = strlen(name);
    return 0;
}

#define MAX_CHAIN 8 /* CNAME links followed inside one answer */

/* The names an answer may hold records for: the question's, then the
 * CNAME chain from it as the answer spells it out.  A record owned by any
 * other name is none of our business, however it got there (a hostile
 * server adding an A or TXT record for a name we did not ask about). */
struct owners {
    char *name[MAX_CHAIN + 1];
    size_t n;
};

static int owned(const struct owners *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcasecmp(o->name[i], name) == 0)
            return 1;
    return 0;
}

/* Follows the CNAME records of the answer section (which starts at off,
 * an records) from the question's name.  Order in the packet is not
 * trusted: each round looks for the next link anywhere.  Returns 0, -1
 * when malformed, -2 when out of memory. */
static int follow_chain(const unsigned char *abuf, size_t alen, size_t off,
                        size_t an, struct mxp_arena *arena, struct owners *o)
{
    for (int round = 0; round < MAX_CHAIN && o->n <= MAX_CHAIN; round++) {
        size_t at = off, used, i;
        int linked = 0;

        for (i = 0; i < an && !linked; i++) {
            char owner[1024], target[1024];
            size_t rdlen;
            int st = name_at(abuf, alen, at, owner, sizeof(owner), &used);

            if (st != 0)
                return st;
            if (alen - at - used < RR_FIXED)
                return -1;
            at += used;
            rdlen = get16(abuf + at + 8);
            if (rdlen > alen - at - RR_FIXED)
                return -1;
            if (get16(abuf + at) == MXP_DNS_CNAME &&
                get16(abuf + at + 2) == CLASS_IN) {
                /* Every CNAME must be exactly one name: a short one would
                 * borrow the next record's owner as its target. */
                st = name_at(abuf, alen, at + RR_FIXED, target, sizeof(target),
                             &used);
                if (st != 0)
                    return st;
                if (used != rdlen)
                    return -1;
                if (strcasecmp(owner, o->name[o->n - 1]) == 0) {
                    if (owned(o, target))
                        return 0; /* a loop: the chain ends here */
                    o->name[o->n] =
                        mxp_arena_strndup(arena, target, strlen(target));
                    if (o->name[o->n] == NULL)
                        return -2;
                    o->n++;
                    linked = 1;
                }
            }
            at += RR_FIXED + rdlen;
        }
        if (!linked)
            return 0;
    }
    return 0;
}

int mxp_dns_parse_answer(const unsigned char *abuf, size_t alen,
                         struct mxp_arena *arena, struct mxp_dns_query *q)
{
    struct owners owners = {{NULL}, 0};
    size_t answers;
    char owner[1024];
    struct mxp_dns_rr *rrs = NULL;
    size_t off, used, rdlen, i, qd, an, n = 0;
    uint16_t type, cls;
    uint32_t ttl;
    int st;

    q->rr = NULL;
    q->n_rr = 0;
    /* c-ares hands over at most 64 KiB; the int casts below rely on it. */
    if (abuf == NULL || alen < DNS_HEADER || alen > 65535 ||
        !(abuf[2] & 0x80)) {
        q->result = MXP_DNS_BADRESP;
        return MXP_OK;
    }
    switch (abuf[3] & 0x0f) {
    case 0:
        break;
    case 1:
        q->result = MXP_DNS_BADRESP;
        return MXP_OK;
    case 2:
        q->result = MXP_DNS_SERVFAIL;
        return MXP_OK;
    case 3:
        q->result = MXP_DNS_NXDOMAIN;
        return MXP_OK;
    case 5:
        q->result = MXP_DNS_REFUSED;
        return MXP_OK;
    default:
        q->result = MXP_DNS_FAILED;
        return MXP_OK;
    }
    qd = get16(abuf + 4);
    an = get16(abuf + 6);

    off = DNS_HEADER;
    for (i = 0; i < qd; i++) {
        st = expand_name(abuf, alen, off, arena,
                         i == 0 ? &owners.name[0] : NULL, &used);
        if (st == -2)
            return MXP_ERR_NOMEM;
        if (st != 0 || alen - off - used < 4)
            goto bad;
        off += used + 4;
    }
    if (qd != 1)
        goto bad; /* c-ares matched it to our one question */
    owners.n = 1;
    answers = off;
    st = follow_chain(abuf, alen, answers, an, arena, &owners);
    if (st == -2)
        return MXP_ERR_NOMEM;
    if (st != 0)
        goto bad;
    if (an > 0) {
        rrs =
            mxp_arena_alloc(arena, (an < MAX_RR ? an : MAX_RR) * sizeof(*rrs));
        if (rrs == NULL)
            return MXP_ERR_NOMEM;
    }
    /* Every answer record is checked for shape, even past the cap, so a
     * packet is either wholly well-formed or BADRESP. */
    for (i = 0; i < an; i++) {
        st = name_at(abuf, alen, off, owner, sizeof(owner), &used);
        if (st == -2)
            return MXP_ERR_NOMEM;
        if (st != 0 || alen - off - used < RR_FIXED)
            goto bad;
        off += used;
        type = get16(abuf + off);
        cls = get16(abuf + off + 2);
        ttl = get32(abuf + off + 4);
        rdlen = get16(abuf + off + 8);
        off += RR_FIXED;
        if (rdlen > alen - off)
            goto bad;
        if (type == q->type && cls == CLASS_IN && owned(&owners, owner) &&
            n == MAX_RR) {
            /* More records than we keep: a cut answer could hide the one
             * that matters (a second SPF record, the preferred MX), so it
             * is no answer at all. */
            goto bad;
        }
        if (type == q->type && cls == CLASS_IN && n < MAX_RR &&
            owned(&owners, owner)) {
            memset(&rrs[n], 0, sizeof(rrs[n]));
            rrs[n].type = type;
            rrs[n].ttl = ttl > 0x7fffffffu ? 0 : ttl; /* RFC 2181 8 */
            st = parse_rdata(abuf, alen, off, rdlen, arena, &rrs[n]);
            if (st == -2)
                return MXP_ERR_NOMEM;
            if (st != 0)
                goto bad;
            n++;
        }
        off += rdlen;
    }
    if (n == 0) {
        q->result = MXP_DNS_NODATA;
        return MXP_OK;
    }
    q->result = MXP_DNS_ANSWER;
    q->rr = rrs;
    q->n_rr = n;
    return MXP_OK;

bad:
    q->result = MXP_DNS_BADRESP;
    return MXP_OK;
}

/* ---- the batch ------------------------------------------------------- */

static enum mxp_dns_result map_status(int status)
{
    switch (status) {
    case ARES_ENODATA:
        return MXP_DNS_NODATA;
    case ARES_ENOTFOUND:
        return MXP_DNS_NXDOMAIN;
    case ARES_ESERVFAIL:
        return MXP_DNS_SERVFAIL;
    case ARES_EREFUSED:
        return MXP_DNS_REFUSED;
    case ARES_ETIMEOUT:
        return MXP_DNS_TIMEOUT;
    case ARES_EFORMERR:
    case ARES_EBADRESP:
    case ARES_EBADNAME:
        return MXP_DNS_BADRESP;
    default:
        return MXP_DNS_FAILED;
    }
}

static void query_cb(void *arg, int status, int timeouts, unsigned char *abuf,
                     int alen);

static uint16_t random_id(struct mxp_resolver *r)
{
    if (r->n_rnd == 0) {
        ssize_t got = getrandom(r->rnd, sizeof(r->rnd), GRND_NONBLOCK);

        if (got == (ssize_t)sizeof(r->rnd)) {
            r->n_rnd = sizeof(r->rnd) / sizeof(r->rnd[0]);
        } else {
            /* xorshift32: ids stay distinct, if not unpredictable. */
            r->rnd_state ^= r->rnd_state << 13;
            r->rnd_state ^= r->rnd_state >> 17;
            r->rnd_state ^= r->rnd_state << 5;
            return (uint16_t)(r->rnd_state >> 8);
        }
    }
    return r->rnd[--r->n_rnd];
}

/* A random id no query in flight has (at most a few hundred of 65536
 * are taken: a handful of draws). */
static uint16_t take_qid(struct mxp_resolver *r)
{
    uint16_t id;

    do
        id = random_id(r);
    while (r->qid_used[id >> 3] & (1u << (id & 7)));
    r->qid_used[id >> 3] |= (unsigned char)(1u << (id & 7));
    return id;
}

static void release_qid(struct mxp_resolver *r, uint16_t id)
{
    r->qid_used[id >> 3] &= (unsigned char)~(1u << (id & 7));
}

/* What ares_query() would have made of a response's RCODE and answer
 * count (its qcallback); ares_send() hands us the bare response. */
static int rcode_status(const unsigned char *abuf)
{
    switch (abuf[3] & 0x0f) {
    case 0: /* NOERROR */
        return get16(abuf + 6) > 0 ? ARES_SUCCESS : ARES_ENODATA;
    case 1:
        return ARES_EFORMERR;
    case 2:
        return ARES_ESERVFAIL;
    case 3:
        return ARES_ENOTFOUND;
    case 4:
        return ARES_ENOTIMP;
    case 5:
        return ARES_EREFUSED;
    default:
        return ARES_SUCCESS; /* as c-ares 1.18: left to the parser */
    }
}

/* Sends one query as ares_query() would (RD set, no EDNS: the resolver
 * does not ask for ARES_FLAG_EDNS) but with the AD bit set, so that a
 * validating resolver reports AD (RFC 6840 5.7); no DO bit: no RRSIGs
 * come back.  c-ares 1.18's ares_send() sends the id given here (only
 * ares_query() picks one) and matches the answer by id and question:
 * take_qid() keeps ids in flight distinct. */
static void send_query(struct mxp_resolver *r, struct pending *p)
{
    unsigned char *qbuf = NULL;
    int qlen = 0;
    int st;

    p->qid = take_qid(r);
    p->in_ares = 1;
    st = ares_create_query(p->q->name, CLASS_IN, p->q->type, p->qid, 1, &qbuf,
                           &qlen, 0);
    if (st != ARES_SUCCESS || qbuf == NULL || qlen < DNS_HEADER) {
        if (qbuf != NULL)
            ares_free_string(qbuf);
        query_cb(p, st != ARES_SUCCESS ? st : ARES_EBADQUERY, 0, NULL, 0);
        return;
    }
    qbuf[3] |= AD_BIT;
    ares_send(r->ch, qbuf, qlen, query_cb, p);
    ares_free_string(qbuf);
}

static void batch_unlink_free(struct mxp_dns_batch *b)
{
    struct mxp_dns_batch **pp = &b->r->batches;

    while (*pp != NULL && *pp != b)
        pp = &(*pp)->next;
    if (*pp == b)
        *pp = b->next;
    free(b);
}

static void query_cb(void *arg, int status, int timeouts, unsigned char *abuf,
                     int alen)
{
    struct pending *p = arg;
    struct mxp_dns_batch *b = p->b;
    struct mxp_resolver *r = b->r;

    (void)timeouts;
    if (p->in_ares) {
        p->in_ares = 0;
        release_qid(r, p->qid);
    }
    b->inflight--;
    r->inflight--;
    if (b->abandoned) {
        if (b->inflight == 0 && status != ARES_EDESTRUCTION)
            batch_unlink_free(b); /* mxp_resolver_free() frees the rest */
        return;
    }
    if (p->done)
        return;
    p->done = 1;
    b->pending--;
    p->q->elapsed = mxp_now() - p->sent_at;
    if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) {
        p->q->result = MXP_DNS_TIMEOUT;
        return;
    }
    if (abuf != NULL && alen >= DNS_HEADER) {
        p->ad = (abuf[3] & AD_BIT) != 0;
        if (status == ARES_SUCCESS)
            status = rcode_status(abuf);
    }
    if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
        if (mxp_dns_parse_answer(abuf, (size_t)alen, b->arena, p->q) !=
            MXP_OK) {
            p->q->result = MXP_DNS_FAILED;
            b->nomem = 1;
        }
        return;
    }
    p->q->result =
        status == ARES_SUCCESS ? MXP_DNS_BADRESP : map_status(status);
}

/* One poll() round: waits for c-ares' sockets or its next timeout, never
 * past deadline, and lets c-ares process what happened (answers of every
 * batch in flight, retries, timeouts). */
static int batch_step(struct mxp_resolver *r, struct pollfd **pfds, size_t *cap,
                      double deadline)
{
    struct timeval tv, *tvp;
    size_t i, n = r->n_socks;
    int ms, ares_ms, rc;

    if (n > *cap) {
        struct pollfd *p = realloc(*pfds, n * sizeof(*p));
        if (p == NULL)
            return MXP_ERR_NOMEM;
        *pfds = p;
        *cap = n;
    }
    /* A copy: processing may open and close sockets under us. */
    for (i = 0; i < n; i++) {
        (*pfds)[i].fd = r->socks[i].fd;
        (*pfds)[i].events = (short)((r->socks[i].rd ? POLLIN : 0) |
                                    (r->socks[i].wr ? POLLOUT : 0));
        (*pfds)[i].revents = 0;
    }
    ms = mxp_poll_ms(deadline);
    tvp = ares_timeout(r->ch, NULL, &tv);
    if (tvp != NULL) {
        ares_ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
        if (ares_ms < ms)
            ms = ares_ms;
    }
    rc = poll(*pfds, (nfds_t)n, ms);
    if (rc < 0)
        return errno == EINTR ? MXP_OK : MXP_ERR_IO;
    if (rc == 0) {
        ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        return MXP_OK;
    }
    for (i = 0; i < n; i++) {
        short ev = (*pfds)[i].revents;
        if (ev == 0)
            continue;
        /* Errors and hang-ups go to c-ares as readable: its read sees
         * the error (e.g. ICMP port unreachable) and moves on. */
        ares_process_fd(r->ch,
                        ev & (POLLIN | POLLERR | POLLHUP | POLLNVAL)
                            ? (*pfds)[i].fd
                            : ARES_SOCKET_BAD,
                        ev & POLLOUT ? (*pfds)[i].fd : ARES_SOCKET_BAD);
    }
    return MXP_OK;
}

/* Hands c-ares the next queries of every batch, oldest batch first, up
 * to BATCH_WINDOW in flight over all of them. */
static void submit(struct mxp_resolver *r)
{
    for (struct mxp_dns_batch *b = r->batches; b != NULL; b = b->next) {
        for (; b->next_send < b->n && r->inflight < BATCH_WINDOW;
             b->next_send++) {
            struct pending *p = &b->pend[b->next_send];

            if (p->done)
                continue;
            /* Count first: the callback may run inside send_query(),
             * e.g. for a name c-ares cannot encode. */
            p->sent = 1;
            p->sent_at = mxp_now();
            b->inflight++;
            r->inflight++;
            send_query(r, p);
        }
        if (b->next_send < b->n)
            return; /* the window is full */
    }
}

int mxp_dns_start(struct mxp_resolver *r, struct mxp_arena *arena,
                  struct mxp_dns_query *q, size_t n, double deadline,
                  struct mxp_dns_batch **out)
{
    struct mxp_dns_batch *b, **tail;
    size_t i;

    if (out != NULL)
        *out = NULL;
    if (r == NULL || arena == NULL || (q == NULL && n > 0) || out == NULL)
        return MXP_ERR_INVALID;
    /* One allocation: the batch and its pending slots. */
    if (n > (SIZE_MAX - sizeof(*b)) / sizeof(struct pending))
        return MXP_ERR_NOMEM;
    b = calloc(1, sizeof(*b) + n * sizeof(struct pending));
    if (b == NULL)
        return MXP_ERR_NOMEM;
    b->r = r;
    b->arena = arena;
    b->q = q;
    b->pend = (struct pending *)(b + 1);
    b->n = n;
    b->deadline = deadline;
    for (i = 0; i < n; i++) {
        q[i].result = MXP_DNS_FAILED;
        q[i].rr = NULL;
        q[i].n_rr = 0;
        q[i].elapsed = 0;
        b->pend[i].b = b;
        b->pend[i].q = &q[i];
        b->pend[i].ad = -1;
        b->pend[i].done = q[i].name == NULL;
        if (!b->pend[i].done)
            b->pending++;
    }
    for (tail = &r->batches; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = b;
    submit(r);
    *out = b;
    return MXP_OK;
}

int mxp_dns_done(struct mxp_resolver *r, struct mxp_dns_batch *b)
{
    struct pollfd *pfds = NULL;
    size_t cap = 0;

    if (r == NULL || b == NULL)
        return 1;
    if (b->pending > 0 && r->n_socks > 0) {
        /* A zero wait: read what came, let c-ares retry what timed out. */
        if (batch_step(r, &pfds, &cap, mxp_now()) == MXP_OK)
            submit(r);
        free(pfds);
    }
    return b->pending == 0;
}

int mxp_dns_wait(struct mxp_resolver *r, double deadline)
{
    struct pollfd *pfds = NULL;
    size_t cap = 0;
    int rc = MXP_OK;

    if (r == NULL)
        return MXP_ERR_INVALID;
    if (r->n_socks > 0) {
        rc = batch_step(r, &pfds, &cap, deadline);
        if (rc == MXP_OK)
            submit(r);
        free(pfds);
    } else {
        /* Nothing in flight to wake us: no wait beyond the deadline. */
        int ms = mxp_poll_ms(deadline);

        if (ms > 0)
            (void)poll(NULL, 0, ms);
    }
    return rc;
}

void mxp_dns_extend(struct mxp_dns_batch *b, double deadline)
{
    if (b != NULL && deadline > b->deadline)
        b->deadline = deadline;
}

/* Other batches still wanting outcomes besides b. */
static int others_live(const struct mxp_resolver *r,
                       const struct mxp_dns_batch *b)
{
    for (const struct mxp_dns_batch *o = r->batches; o != NULL; o = o->next)
        if (o != b && !o->abandoned && o->pending > 0)
            return 1;
    return 0;
}

/* Keeps b's AD bytes on r for mxp_dns_authenticated().  Without memory
 * they are lost: those queries then say -1 (unknown), never AD. */
static void log_ad(struct mxp_resolver *r, const struct mxp_dns_batch *b)
{
    struct ad_record *rec;

    if (b->n == 0 || b->n > (SIZE_MAX - sizeof(*rec)))
        return;
    rec = malloc(sizeof(*rec) + b->n);
    if (rec == NULL)
        return;
    rec->q = b->q;
    rec->n = b->n;
    for (size_t i = 0; i < b->n; i++)
        rec->ad[i] = b->pend[i].ad;
    rec->next = r->ad_log;
    r->ad_log = rec;
}

int mxp_dns_authenticated(const struct mxp_resolver *r,
                          const struct mxp_dns_query *q)
{
    if (r == NULL || q == NULL)
        return -1;
    for (const struct ad_record *rec = r->ad_log; rec != NULL;
         rec = rec->next) {
        /* Compared as addresses: q may point into any batch's array. */
        uintptr_t lo = (uintptr_t)rec->q, at = (uintptr_t)q;

        if (at >= lo && at < lo + rec->n * sizeof(*q) &&
            (at - lo) % sizeof(*q) == 0)
            return rec->ad[(at - lo) / sizeof(*q)];
    }
    return -1;
}

int mxp_dns_collect(struct mxp_resolver *r, struct mxp_dns_batch *b)
{
    struct pollfd *pfds = NULL;
    size_t i, cap = 0;
    int rc = MXP_OK;

    if (b == NULL)
        return MXP_OK;
    if (r == NULL || b->r != r)
        return MXP_ERR_INVALID;
    /* What came while the caller did other work counts, even when the
     * batch's time is up: one look without waiting first. */
    if (b->pending > 0 && r->n_socks > 0) {
        rc = batch_step(r, &pfds, &cap, mxp_now());
        if (rc == MXP_OK)
            submit(r);
    }
    while (rc == MXP_OK && b->pending > 0 && !b->nomem && !r->sock_nomem &&
           mxp_now() < b->deadline) {
        rc = batch_step(r, &pfds, &cap, b->deadline);
        if (rc != MXP_OK)
            break;
        submit(r);
    }
    if (rc == MXP_OK && (b->nomem || r->sock_nomem))
        rc = MXP_ERR_NOMEM;
    r->sock_nomem = 0;
    if (b->pending > 0) {
        double now = mxp_now();

        /* Sent or not (the window), what has no outcome by now has none. */
        for (i = 0; i < b->n; i++)
            if (!b->pend[i].done) {
                b->pend[i].done = 1;
                b->q[i].result =
                    rc == MXP_OK ? MXP_DNS_TIMEOUT : MXP_DNS_FAILED;
                b->q[i].elapsed =
                    b->pend[i].sent ? now - b->pend[i].sent_at : 0;
            }
        b->pending = 0;
        b->next_send = b->n;
        /* Alone in the channel, its leftovers are cancelled at once (no
         * retries go out for nobody); beside other batches they are left
         * to c-ares' own timeouts, as ares_cancel() would end those too. */
        if (!others_live(r, b))
            ares_cancel(r->ch);
    }
    log_ad(r, b);
    b->abandoned = 1;
    if (b->inflight == 0)
        batch_unlink_free(b);
    free(pfds);
    return rc;
}

int mxp_dns_batch(struct mxp_resolver *r, struct mxp_arena *arena,
                  struct mxp_dns_query *q, size_t n, double deadline)
{
    struct mxp_dns_batch *b = NULL;
    int rc;

    if (n == 0)
        return MXP_OK;
    if (r == NULL || arena == NULL || q == NULL)
        return MXP_ERR_INVALID;
    rc = mxp_dns_start(r, arena, q, n, deadline, &b);
    if (rc != MXP_OK)
        return rc;
    return mxp_dns_collect(r, b);
}

const char *mxp_dns_result_name(enum mxp_dns_result res)
{
    switch (res) {
    case MXP_DNS_ANSWER:
        return "answer";
    case MXP_DNS_NODATA:
        return "no data";
    case MXP_DNS_NXDOMAIN:
        return "NXDOMAIN";
    case MXP_DNS_SERVFAIL:
        return "SERVFAIL";
    case MXP_DNS_REFUSED:
        return "REFUSED";
    case MXP_DNS_TIMEOUT:
        return "timeout";
    case MXP_DNS_BADRESP:
        return "bad response";
    case MXP_DNS_FAILED:
        return "resolver failure";
    }
    return "unknown";
}

/* ---- reverse names --------------------------------------------------- */

size_t mxp_dns_reverse_name(int family, const unsigned char *addr,
                            const char *suffix, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0, i, slen;
    int w;

    if (addr == NULL || out == NULL || outlen == 0)
        return 0;
    if (family == AF_INET) {
        for (i = 4; i-- > 0;) {
            w = snprintf(out + pos, outlen - pos, "%u.", addr[i]);
            if (w < 0 || (size_t)w >= outlen - pos)
                goto toosmall;
            pos += (size_t)w;
        }
        if (suffix == NULL)
            suffix = "in-addr.arpa";
    } else if (family == AF_INET6) {
        if (outlen - pos <= 64)
            goto toosmall;
        for (i = 16; i-- > 0;) {
            out[pos++] = hex[addr[i] & 0x0f];
            out[pos++] = '.';
            out[pos++] = hex[addr[i] >> 4];
            out[pos++] = '.';
        }
        if (suffix == NULL)
            suffix = "ip6.arpa";
    } else {
        goto toosmall;
    }
    if (*suffix == '.') /* ".bl.example" reads the same as "bl.example" */
        suffix++;
    slen = strlen(suffix);
    if (slen >= outlen - pos)
        goto toosmall;
    memcpy(out + pos, suffix, slen + 1);
    return pos + slen;

toosmall:
    out[0] = '\0';
    return 0;
}

int mxp_dns_has_addr(const struct mxp_dns_query *q, int family,
                     const unsigned char *addr)
{
    size_t alen = family == AF_INET ? 4 : 16;

    if (q == NULL || q->result != MXP_DNS_ANSWER)
        return 0;
    for (size_t i = 0; i < q->n_rr; i++)
        if (memcmp(q->rr[i].addr, addr, alen) == 0)
            return 1;
    return 0;
}
