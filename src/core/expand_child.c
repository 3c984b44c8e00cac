/*
 * expand_child.c - the expander's work, in its forked child (expand.h).
 *
 * Entries are resolved a window at a time: up to WINDOW (128) entries have
 * their DNS batches in flight on one resolver, so a thousand names cost
 * a few round trips, not a thousand.  Each entry goes on to its next
 * stage (an MX answer: its hosts' addresses) as soon as its batch is
 * answered; the findings still go out in entry order, an entry waiting
 * in the window until those before it are out.  A CIDR entry is a barrier: the
 * entries after it start when its sweep is done (the sweep can take minutes,
 * and their DNS deadlines would pass meanwhile).
 *
 * Caps (a hostile zone must not make us probe the world): at most
 * MAX_MX_HOSTS MX hosts per domain (by preference) and MAX_PER_FAMILY
 * addresses of each family per name.  They are silent: no real mail
 * domain comes near them (the largest providers publish a handful of MX
 * hosts, and a sending MTA tries only a few), and the zone plugin
 * judges an oversized MX set on its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "expand.h"
#include "expand_wire.h"
#include "names.h"
#include "net.h"
#include "sweep.h"

#define WINDOW 128
#define MAX_MX_HOSTS 32
#define MAX_PER_FAMILY 16

enum stage { ST_NEW, ST_NAME, ST_MX, ST_HOSTS, ST_CIDR, ST_DONE };

struct found {
    const char *host;
    int family;
    unsigned char b[16];
};

struct ent {
    const struct mxp_entry *e;
    size_t idx;
    enum stage stage;
    struct mxp_arena *arena;
    struct mxp_dns_query *q;
    size_t nq;
    struct mxp_dns_batch *b;
    double deadline;
    const char **hosts; /* the names asked in q: nfam queries each */
    size_t nhosts;
    int implicit; /* ST_HOSTS for the domain itself (no MX) */
    struct found *f;
    size_t nf;
    char error[1024]; /* cut to MXP_EXPAND_MAX_ERROR when sent */
    /* A lookup that failed while others gave addresses: */
    char warning[1024];
    size_t n_failed;
};

struct ctx {
    const struct mxp_expand_settings *set;
    struct mxp_resolver *r;
    int resolver_failed;
    int fd;
    uint16_t fams[2];
    size_t nfam;
    double stalled; /* seconds blocked on the pipe, not yet made up */
};

/* Writes a record, blocking while the pipe is full: the parent reads
 * when its poll loop gets to it.  Time spent so is counted in
 * c->stalled: the DNS deadlines of the entries in flight move by it, or
 * a slow reader would turn answers waiting in the socket into
 * timeouts. */
static void send_all(struct ctx *c, const unsigned char *p, size_t n)
{
    double start = mxp_now();

    while (n > 0) {
        ssize_t w = write(c->fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(0); /* the parent went away: nobody to tell */
        p += w;
        n -= (size_t)w;
    }
    c->stalled += mxp_now() - start;
}

static void send_addr(struct ctx *c, size_t entry, int family,
                      const unsigned char *b, const char *host)
{
    unsigned char buf[4 + MXP_EXPAND_MAX_RECORD + MXP_EXPAND_MAX_HOST];

    send_all(c, buf, mxp_expand_encode_addr(buf, entry, family, b, host));
}

static void send_end(struct ctx *c, size_t entry, const char *error,
                     const char *warning)
{
    unsigned char buf[4 + MXP_EXPAND_MAX_RECORD];

    send_all(c, buf, mxp_expand_encode_end(buf, entry, error, warning));
}

static const char *family_name(int family)
{
    return family == AF_INET ? "IPv4" : "IPv6";
}

/* Why a name gave no address, in words for "cannot resolve 'x': ...". */
static const char *reason(const struct ctx *c, enum mxp_dns_result res)
{
    switch (res) {
    case MXP_DNS_NXDOMAIN:
        return "no such name (NXDOMAIN)";
    case MXP_DNS_ANSWER: /* only unusable addresses */
        return "only the unspecified address (0.0.0.0 or ::)";
    case MXP_DNS_NODATA:
        if (c->nfam == 1)
            return c->fams[0] == MXP_DNS_A ? "no A record (-4)"
                                           : "no AAAA record (-6)";
        return "no A or AAAA record";
    case MXP_DNS_TIMEOUT:
        return "no answer (timeout)";
    default:
        return mxp_dns_result_name(res);
    }
}

static int get_resolver(struct ctx *c)
{
    if (c->r == NULL && !c->resolver_failed) {
        if (mxp_resolver_new(&c->set->dns, &c->r) != MXP_OK) {
            c->r = NULL;
            c->resolver_failed = 1;
        }
    }
    return c->r != NULL;
}

/* ---- addresses -------------------------------------------------------- */

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                           0, 0, 0, 0, 0xff, 0xff};

/* The family an address is checked as: ::ffff:192.0.2.1 is an IPv4 host
 * (its PTR lives in in-addr.arpa, DNSBLs know it by its IPv4 name). */
static int family_of(int family, const unsigned char *bytes)
{
    return family == AF_INET6 && memcmp(bytes, v4mapped, 12) == 0 ? AF_INET
                                                                  : family;
}

/* Adds an address of host unless the entry has it: 1 added or known
 * already, -1 unusable (0.0.0.0 or ::), 0 out of memory. */
static int add_found(struct ent *s, const char *host, int family,
                     const unsigned char *bytes)
{
    static const unsigned char zero[16];
    size_t len, i;

    if (family_of(family, bytes) != family) {
        family = AF_INET;
        bytes += 12;
    }
    len = family == AF_INET ? 4 : 16;
    /* 0.0.0.0 or :: would probe this very machine. */
    if (memcmp(bytes, zero, len) == 0)
        return -1;
    for (i = 0; i < s->nf; i++)
        if (s->f[i].family == family && memcmp(s->f[i].b, bytes, len) == 0)
            return 1; /* known: the first name that led to it keeps it */
    if (s->nf % 32 == 0) {
        struct found *nf = realloc(s->f, (s->nf + 32) * sizeof(*nf));

        if (nf == NULL)
            return 0;
        s->f = nf;
    }
    memset(&s->f[s->nf], 0, sizeof(s->f[s->nf]));
    s->f[s->nf].host = host;
    s->f[s->nf].family = family;
    memcpy(s->f[s->nf].b, bytes, len);
    s->nf++;
    return 1;
}

/* A lookup that failed (no answer, SERVFAIL...: not NXDOMAIN or no data,
 * which are answers): the addresses it would have given are unknown.
 * The first is worded, the others counted. */
static void note_failure(const struct ctx *c, struct ent *s,
                         const struct mxp_dns_query *q)
{
    if (s->n_failed++ > 0)
        return;
    snprintf(s->warning, sizeof(s->warning),
             "the %s lookup of '%.253s' failed (%s): its %s addresses are "
             "not checked",
             q->type == MXP_DNS_A ? "A" : "AAAA", q->name, reason(c, q->result),
             q->type == MXP_DNS_A ? "IPv4" : "IPv6");
}

/* Takes the addresses of hosts[i] from its queries; returns how many it
 * gave, and in *why the result that explains none. */
static size_t take_host(const struct ctx *c, struct ent *s, size_t i,
                        enum mxp_dns_result *why)
{
    size_t j, k, got = 0;

    *why = MXP_DNS_NODATA;
    for (j = 0; j < c->nfam; j++) {
        const struct mxp_dns_query *q = &s->q[i * c->nfam + j];
        int family = q->type == MXP_DNS_A ? AF_INET : AF_INET6;

        if (q->result != MXP_DNS_ANSWER) {
            /* The first family's reason, unless it was merely empty. */
            if (q->result != MXP_DNS_NODATA && *why == MXP_DNS_NODATA)
                *why = q->result;
            if (q->result != MXP_DNS_NODATA && q->result != MXP_DNS_NXDOMAIN)
                note_failure(c, s, q);
            continue;
        }
        for (k = 0; k < q->n_rr && k < MAX_PER_FAMILY; k++) {
            if (q->rr[k].type != q->type)
                continue;
            if (c->set->family != 0 &&
                c->set->family != family_of(family, q->rr[k].addr))
                continue;
            int added = add_found(s, s->hosts[i], family, q->rr[k].addr);

            if (added > 0)
                got++;
            else if (added < 0 && *why == MXP_DNS_NODATA)
                *why = MXP_DNS_ANSWER; /* only 0.0.0.0 or :: */
        }
    }
    return got;
}

/* Starts the A/AAAA queries of s->hosts. */
static void ask_hosts(struct ctx *c, struct ent *s, enum stage next)
{
    size_t i, j;

    s->nq = s->nhosts * c->nfam;
    s->q = mxp_arena_alloc(s->arena, s->nq * sizeof(*s->q));
    if (s->q == NULL) {
        snprintf(s->error, sizeof(s->error), "cannot resolve '%.253s': %s",
                 s->e->text, "out of memory");
        s->stage = ST_DONE;
        return;
    }
    for (i = 0; i < s->nhosts; i++)
        for (j = 0; j < c->nfam; j++) {
            s->q[i * c->nfam + j].name = s->hosts[i];
            s->q[i * c->nfam + j].type = c->fams[j];
        }
    if (mxp_dns_start(c->r, s->arena, s->q, s->nq, s->deadline, &s->b) !=
        MXP_OK) {
        snprintf(s->error, sizeof(s->error), "cannot resolve '%.253s': %s",
                 s->e->text, "the DNS queries could not be sent");
        s->b = NULL;
        s->stage = ST_DONE;
        return;
    }
    s->stage = next;
}

/* ---- the stages ------------------------------------------------------- */

static void begin(struct ctx *c, struct ent *s)
{
    unsigned char b[16];
    int family;

    s->deadline =
        mxp_now() + (c->set->dns_deadline > 0 ? c->set->dns_deadline : 10.0);
    if (s->e->kind == MXP_ENTRY_CIDR) {
        s->stage = ST_CIDR;
        return;
    }
    if (s->e->kind == MXP_ENTRY_HOST &&
        mxp_parse_addr(s->e->text, &family, b) == 0) {
        int eff = family_of(family, b);

        if (c->set->family != 0 && c->set->family != eff)
            snprintf(s->error, sizeof(s->error),
                     "%.64s is an %s address, and -%c checks %s only",
                     s->e->text, family_name(eff),
                     c->set->family == AF_INET ? '4' : '6',
                     family_name(c->set->family));
        else if (add_found(s, s->e->text, family, b) <= 0)
            snprintf(s->error, sizeof(s->error),
                     "%.64s is not an address a server can have", s->e->text);
        s->stage = ST_DONE;
        return;
    }
    s->arena = mxp_arena_new();
    if (s->arena == NULL || !get_resolver(c)) {
        snprintf(s->error, sizeof(s->error), "cannot resolve '%.253s': %s",
                 s->e->text,
                 s->arena == NULL ? "out of memory"
                                  : "the DNS resolver could not be set up");
        s->stage = ST_DONE;
        return;
    }
    if (s->e->kind == MXP_ENTRY_HOST) {
        s->hosts = mxp_arena_alloc(s->arena, sizeof(*s->hosts));
        if (s->hosts != NULL) {
            s->hosts[0] = s->e->text;
            s->nhosts = 1;
        }
        ask_hosts(c, s, ST_NAME);
        return;
    }
    s->nq = 1;
    s->q = mxp_arena_alloc(s->arena, sizeof(*s->q));
    if (s->q == NULL) {
        snprintf(s->error, sizeof(s->error), "out of memory");
        s->stage = ST_DONE;
        return;
    }
    s->q[0].name = s->e->text;
    s->q[0].type = MXP_DNS_MX;
    if (mxp_dns_start(c->r, s->arena, s->q, 1, s->deadline, &s->b) != MXP_OK) {
        s->b = NULL;
        snprintf(s->error, sizeof(s->error),
                 "cannot look up the MX records of '%.253s': the DNS query "
                 "could not be sent",
                 s->e->text);
        s->stage = ST_DONE;
        return;
    }
    s->stage = ST_MX;
}

static int is_null_mx(const char *name)
{
    return name == NULL || name[0] == '\0' || strcmp(name, ".") == 0;
}

static int same_name(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* The MX answer came: the hosts to resolve, by preference. */
static void got_mx(struct ctx *c, struct ent *s)
{
    const struct mxp_dns_query *q = &s->q[0];
    const struct mxp_dns_rr **mx;
    size_t i, j, n = 0, nulls = 0;

    if (q->result == MXP_DNS_NODATA) {
        /* No MX: the domain itself is its mail server (RFC 5321 5.1). */
        s->hosts = mxp_arena_alloc(s->arena, sizeof(*s->hosts));
        if (s->hosts == NULL) {
            snprintf(s->error, sizeof(s->error), "out of memory");
            s->stage = ST_DONE;
            return;
        }
        s->hosts[0] = s->e->text;
        s->nhosts = 1;
        s->implicit = 1;
        ask_hosts(c, s, ST_HOSTS);
        return;
    }
    if (q->result != MXP_DNS_ANSWER) {
        snprintf(s->error, sizeof(s->error),
                 "cannot look up the MX records of '%.253s': %s", s->e->text,
                 q->result == MXP_DNS_NXDOMAIN ? "no such domain (NXDOMAIN)"
                                               : reason(c, q->result));
        s->stage = ST_DONE;
        return;
    }
    mx = mxp_arena_alloc(s->arena, (q->n_rr + 1) * sizeof(*mx));
    s->hosts = mxp_arena_alloc(s->arena, (q->n_rr + 1) * sizeof(*s->hosts));
    if (mx == NULL || s->hosts == NULL) {
        snprintf(s->error, sizeof(s->error), "out of memory");
        s->stage = ST_DONE;
        return;
    }
    /* A stable insertion sort: equal preferences keep answer order. */
    for (i = 0; i < q->n_rr; i++) {
        const struct mxp_dns_rr *rr = &q->rr[i];

        if (rr->type != MXP_DNS_MX)
            continue;
        if (is_null_mx(rr->text)) {
            nulls++;
            continue;
        }
        for (j = n; j > 0 && mx[j - 1]->pref > rr->pref; j--)
            mx[j] = mx[j - 1];
        mx[j] = rr;
        n++;
    }
    if (n == 0) {
        if (nulls > 0)
            snprintf(s->error, sizeof(s->error),
                     "%.253s has a Null MX (RFC 7505): it accepts no mail",
                     s->e->text);
        else
            snprintf(s->error, sizeof(s->error),
                     "the MX records of '%.253s' name no host", s->e->text);
        s->stage = ST_DONE;
        return;
    }
    for (i = 0; i < n && s->nhosts < MAX_MX_HOSTS; i++) {
        /* A name that is not a host name cannot be resolved sanely;
         * the zone plugin says what is wrong with it. */
        if (!mxp_is_host_name(mx[i]->text))
            continue;
        for (j = 0; j < s->nhosts; j++)
            if (same_name(s->hosts[j], mx[i]->text))
                break;
        if (j == s->nhosts)
            s->hosts[s->nhosts++] = mx[i]->text;
    }
    if (s->nhosts == 0) {
        snprintf(s->error, sizeof(s->error),
                 "the MX records of '%.253s' name no valid host name",
                 s->e->text);
        s->stage = ST_DONE;
        return;
    }
    ask_hosts(c, s, ST_HOSTS);
}

/* The A/AAAA answers came: the addresses, host by host. */
static void got_hosts(struct ctx *c, struct ent *s)
{
    enum mxp_dns_result why, first_why = MXP_DNS_NODATA;
    size_t i, failed = 0, first = SIZE_MAX;

    for (i = 0; i < s->nhosts; i++) {
        if (take_host(c, s, i, &why) == 0) {
            if (first == SIZE_MAX) {
                first = i;
                first_why = why;
            }
            failed++;
        }
    }
    s->stage = ST_DONE;
    if (s->nf > 0) {
        if (s->n_failed > 1) {
            size_t len = strlen(s->warning);

            snprintf(s->warning + len, sizeof(s->warning) - len,
                     " (and %zu more lookups)", s->n_failed - 1);
        }
        return;
    }
    if (s->e->kind == MXP_ENTRY_HOST)
        snprintf(s->error, sizeof(s->error), "cannot resolve '%.253s': %s",
                 s->e->text, reason(c, first_why));
    else if (s->implicit)
        snprintf(s->error, sizeof(s->error),
                 "%.253s has no MX record, and cannot resolve '%.253s' (the "
                 "implicit MX): %s",
                 s->e->text, s->e->text, reason(c, first_why));
    else if (failed > 1)
        snprintf(s->error, sizeof(s->error),
                 "cannot resolve any MX host of %.253s: '%.253s': %s (and %zu "
                 "more)",
                 s->e->text, s->hosts[first], reason(c, first_why), failed - 1);
    else
        snprintf(s->error, sizeof(s->error),
                 "cannot resolve the MX host of %.253s: '%.253s': %s",
                 s->e->text, s->hosts[first], reason(c, first_why));
}

/* s's batch has its outcome (or failed): collect it, go on. */
static void advance(struct ctx *c, struct ent *s)
{
    struct mxp_dns_batch *b = s->b;

    s->b = NULL;
    if (mxp_dns_collect(c->r, b) != MXP_OK)
        for (size_t i = 0; i < s->nq; i++)
            s->q[i].result = MXP_DNS_FAILED;
    if (s->stage == ST_MX)
        got_mx(c, s);
    else
        got_hosts(c, s);
}

/* ---- the sweep -------------------------------------------------------- */

struct sweep_ctx {
    struct ctx *c;
    size_t entry;
    size_t found;
};

static int sweep_found(void *user, int family, const unsigned char *bytes)
{
    struct sweep_ctx *sc = user;
    char text[INET6_ADDRSTRLEN];

    if (inet_ntop(family, bytes, text, sizeof(text)) == NULL)
        return 0;
    send_addr(sc->c, sc->entry, family, bytes, text);
    sc->found++;
    return 0;
}

/* Sweeps s's block, streaming what answers; what went wrong is the
 * entry's error when nothing answered, else its warning. */
static void run_cidr(struct ctx *c, struct ent *s)
{
    struct sweep_ctx sc = {c, s->idx, 0};
    struct mxp_cidr cidr;
    char why[512];
    int rc;

    if (mxp_cidr_parse(s->e->text, &cidr, s->error, sizeof(s->error)) != MXP_OK)
        return;
    if (c->set->family != 0 && c->set->family != cidr.family) {
        snprintf(s->error, sizeof(s->error),
                 "%.64s is an %s block, and -%c checks %s only", s->e->text,
                 family_name(cidr.family),
                 c->set->family == AF_INET ? '4' : '6',
                 family_name(c->set->family));
        return;
    }
    why[0] = '\0';
    rc = mxp_sweep(&cidr, s->e->port != 0 ? s->e->port : 25,
                   c->set->scan_rate > 0 ? c->set->scan_rate : 100,
                   c->set->connect_timeout > 0 ? c->set->connect_timeout : 2,
                   sweep_found, &sc, why, sizeof(why));
    if (rc == MXP_OK && why[0] == '\0')
        return;
    snprintf(sc.found > 0 ? s->warning : s->error, sizeof(s->error),
             "the sweep of %.64s %s: %.400s", s->e->text,
             rc == MXP_OK ? "is incomplete" : "failed",
             why[0] != '\0' ? why : "out of memory");
}

/* ---- the loop ----------------------------------------------------------- */

static void emit(struct ctx *c, struct ent *s)
{
    for (size_t i = 0; i < s->nf; i++)
        send_addr(c, s->idx, s->f[i].family, s->f[i].b, s->f[i].host);
    if (s->nf > 0)
        send_end(c, s->idx, NULL, s->warning[0] != '\0' ? s->warning : NULL);
    else
        send_end(c, s->idx, s->error[0] != '\0' ? s->error : NULL, NULL);
}

static void release(struct ctx *c, struct ent *s)
{
    if (s->b != NULL)
        (void)mxp_dns_collect(c->r, s->b);
    free(s->f);
    mxp_arena_free(s->arena);
    memset(s, 0, sizeof(*s));
}

void mxp_expand_child(const struct mxp_entry *entries, size_t n,
                      const struct mxp_expand_settings *set, int fd)
{
    static struct ent win[WINDOW];
    struct ctx c;
    size_t head = 0, next = 0, i;

    memset(&c, 0, sizeof(c));
    c.set = set;
    c.fd = fd;
    if (set->family != AF_INET6)
        c.fams[c.nfam++] = MXP_DNS_A;
    if (set->family != AF_INET)
        c.fams[c.nfam++] = MXP_DNS_AAAA;
    (void)mxp_dns_global_init();
    memset(win, 0, sizeof(win));

    while (head < n) {
        /* Fill the window, up to and including the next CIDR entry. */
        while (next < n && next - head < WINDOW &&
               !(next > head && entries[next - 1].kind == MXP_ENTRY_CIDR)) {
            struct ent *s = &win[next % WINDOW];

            memset(s, 0, sizeof(*s));
            s->e = &entries[next];
            s->idx = next;
            begin(&c, s);
            next++;
        }
        struct ent *h = &win[head % WINDOW];

        if (h->stage == ST_CIDR) {
            run_cidr(&c, h);
            h->stage = ST_DONE;
            send_end(&c, h->idx, h->error[0] != '\0' ? h->error : NULL,
                     h->warning[0] != '\0' ? h->warning : NULL);
            release(&c, h);
            head++;
            continue;
        }
        /* Take every batch that has its outcome, or whose entry's time
         * is up, whichever entry it is: a slow name must not hold back
         * the next stage of the others (only their emission waits). */
        int progressed = 0;
        double wake = mxp_now() + 1.0;

        for (i = head; i < next; i++) {
            struct ent *s = &win[i % WINDOW];

            if (s->stage != ST_DONE && s->stage != ST_CIDR && s->b == NULL)
                s->stage = ST_DONE; /* cannot happen; never hang on it */
            if (s->b != NULL &&
                (mxp_dns_done(c.r, s->b) || mxp_now() >= s->deadline)) {
                advance(&c, s);
                progressed = 1;
            }
            if (s->b != NULL && s->deadline < wake)
                wake = s->deadline;
        }
        while (head < next && win[head % WINDOW].stage == ST_DONE) {
            emit(&c, &win[head % WINDOW]);
            release(&c, &win[head % WINDOW]);
            progressed = 1;
            head++;
        }
        if (!progressed && c.r != NULL)
            (void)mxp_dns_wait(c.r, wake);
        if (c.stalled > 0.01) {
            for (i = head; i < next; i++) {
                struct ent *s = &win[i % WINDOW];

                s->deadline += c.stalled;
                if (s->b != NULL)
                    mxp_dns_extend(s->b, s->deadline);
            }
        }
        c.stalled = 0;
    }
    mxp_resolver_free(c.r);
}
