/*
 * schedule.c - the poll loop over the expander, the runs in flight and
 * the submitter (schedule.h).
 *
 * Everything is bounded by jobs, not by the number of targets: at most
 * jobs runs (their children and pipes), a queue of found addresses kept
 * short by reading the expander only while the queue is short (the
 * expander then waits on its full pipe), and per finished target only
 * its rendered output (in the stream) and, with --submit, its group's
 * Nagios pieces until the group is complete.
 */
#include "schedule.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "buf.h"
#include "clock.h"
#include "net.h"
#include "plugin_loader.h"
#include "runner.h"
#include "status.h"
#include "target.h"

/* The addresses of one host name of one entry, which are submitted as
 * one result (the Nagios host form). */
struct group {
    char *host; /* as Nagios knows it */
    const char *service;
    size_t outstanding; /* targets of it not finished */
    int closed;         /* no more targets will join */
    struct gitem {
        size_t seq;
        struct mxp_nagios_item it;
    } * items;
    size_t n_items;
};

struct addr {
    char *host, *addr;
    int family;
    unsigned char bytes[16];
};

struct tgt {
    struct tgt *next; /* the queue */
    size_t entry, seq;
    struct group *group;
    char *host;  /* the report's */
    int no_addr; /* the report has no address (a domain report) */
    struct mxp_target t;
    char *t_host, *t_addr;
    struct mxp_target *peers;
    struct mxp_plugin_slot **slots;
    size_t n_slots;
    struct mxp_run *run;
};

struct ent {
    int started, ended;
    size_t domain_seq;
    int domain_reserved;
    struct group *cur;  /* the group addresses join */
    struct addr *addrs; /* a domain entry's, for the peers */
    size_t n_addrs;
    size_t n_found;
    /* a domain entry's checks split: domain-wide and per address */
    struct mxp_plugin_slot **wide, **per;
    size_t n_wide, n_per;
};

struct sched {
    const struct mxp_sched_entry *e;
    size_t n;
    const struct mxp_sched_settings *set;
    struct ent *ents;
    size_t next_seq;
    struct tgt *head, *tail; /* queued, not started */
    size_t n_queued;
    struct tgt **fly; /* in flight */
    size_t n_fly, jobs;
    int status;
};

static void keep(struct sched *s, int rc)
{
    if (rc != MXP_OK && s->status == MXP_OK)
        s->status = rc;
}

/* ---- the open-file limit --------------------------------------------- */

size_t mxp_sched_fit_jobs(size_t jobs, size_t max_slots, int fd_floor)
{
    struct rlimit rl;
    /* stdio, expander, submitter, a DNS socket or two, and room. */
    rlim_t base = (rlim_t)(fd_floor > 0 ? fd_floor : 3) + 32;
    rlim_t per = (rlim_t)(max_slots ? max_slots : 1) * MXP_RUN_FDS_PER_PLUGIN;
    rlim_t need = base + per * (rlim_t)jobs;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return jobs;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t want = need;

        if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
            want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return jobs;
    if (rl.rlim_cur <= base + per)
        return 1;
    return (size_t)((rl.rlim_cur - base) / per);
}

/* ---- groups and finished targets -------------------------------------- */

static struct group *group_new(struct sched *s, size_t entry, const char *host)
{
    struct group *g = calloc(1, sizeof(*g));

    if (g == NULL || (g->host = strdup(host)) == NULL) {
        free(g);
        keep(s, MXP_ERR_NOMEM);
        return NULL;
    }
    g->service = s->e[entry].service ? s->e[entry].service : s->set->service;
    return g;
}

static int by_seq(const void *a, const void *b)
{
    const struct gitem *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A complete group: its Nagios text to the submitter, then gone. */
static void group_done(struct sched *s, struct group *g)
{
    const struct mxp_nagios_item **ptrs;
    enum mxp_state st = MXP_STATE_OK;
    struct mxp_out o;
    size_t i;

    if (s->set->submit != NULL && g->n_items > 0) {
        qsort(g->items, g->n_items, sizeof(*g->items), by_seq);
        ptrs = calloc(g->n_items, sizeof(*ptrs));
        if (ptrs == NULL) {
            keep(s, MXP_ERR_NOMEM);
        } else {
            for (i = 0; i < g->n_items; i++) {
                ptrs[i] = &g->items[i].it;
                st = mxp_state_worst(st, g->items[i].it.state);
            }
            mxp_out_init(&o);
            mxp_nagios_render(&o, ptrs, g->n_items, MXP_NAGIOS_HOST, st);
            if (o.status == MXP_OK && o.buf.data != NULL)
                keep(s, mxp_submit_queue(s->set->submit, g->host, g->service,
                                         st, o.buf.data));
            else
                keep(s, MXP_ERR_NOMEM);
            mxp_buf_free(&o.buf);
            free(ptrs);
        }
    }
    for (i = 0; i < g->n_items; i++)
        mxp_nagios_item_free(&g->items[i].it);
    free(g->items);
    free(g->host);
    free(g);
}

static void group_close(struct sched *s, struct group *g)
{
    if (g == NULL)
        return;
    g->closed = 1;
    if (g->outstanding == 0)
        group_done(s, g);
}

/* One target's report is complete: out, into its group, freed. */
static void report_done(struct sched *s, size_t seq, struct group *g,
                        struct mxp_target_report *tr)
{
    keep(s, mxp_stream_add(s->set->out, seq, tr));
    if (g != NULL && s->set->submit != NULL) {
        struct gitem *p = realloc(g->items, (g->n_items + 1) * sizeof(*p));

        if (p == NULL) {
            keep(s, MXP_ERR_NOMEM);
        } else {
            g->items = p;
            p[g->n_items].seq = seq;
            if (mxp_nagios_item_make(tr, s->set->verbosity,
                                     &p[g->n_items].it) == MXP_OK)
                g->n_items++;
            else
                keep(s, MXP_ERR_NOMEM);
        }
    }
    if (g != NULL) {
        g->outstanding--;
        if (g->closed && g->outstanding == 0)
            group_done(s, g);
    }
}

/* A report without checks: an entry that gave no address, or a netblock
 * where nothing answered (error NULL: then an OK "scan" check). */
static void report_plain(struct sched *s, size_t entry, size_t seq,
                         const char *error)
{
    const struct mxp_sched_entry *e = &s->e[entry];
    struct mxp_target_report tr;
    struct mxp_check_result scan;
    struct group *g = group_new(s, entry, e->entry.text);

    memset(&tr, 0, sizeof(tr));
    memset(&scan, 0, sizeof(scan));
    tr.host = (char *)e->entry.text;
    tr.port = e->port;
    if (error != NULL) {
        tr.error = (char *)error;
        tr.state = MXP_STATE_UNKNOWN;
    } else if (e->entry.kind == MXP_ENTRY_CIDR) {
        scan.plugin = "scan";
        scan.state = MXP_STATE_OK;
        scan.summary =
            mxp_strdup_printf("no SMTP server answered on port %u in %s",
                              e->entry.port, e->entry.text);
        tr.checks = &scan;
        tr.n_checks = 1;
        tr.state = MXP_STATE_OK;
        if (scan.summary == NULL)
            keep(s, MXP_ERR_NOMEM);
    } else {
        tr.error = "no address found";
        tr.state = MXP_STATE_UNKNOWN;
    }
    if (g != NULL)
        g->outstanding = 1;
    report_done(s, seq, g, &tr);
    free(scan.summary);
    group_close(s, g);
}

/* An entry that gave addresses, but not every one (a lookup failed: "the
 * AAAA lookup of 'mx1.example.org' failed ...: its IPv6 addresses are not
 * checked"): one UNKNOWN report more, in the entry's last group, so that
 * neither the report nor the passive result passes for "all checked". */
static void report_warning(struct sched *s, size_t entry, struct group *g,
                           const char *warning)
{
    const struct mxp_sched_entry *e = &s->e[entry];
    struct mxp_target_report tr;
    int own = g == NULL;

    if (own)
        g = group_new(s, entry, e->entry.text);
    memset(&tr, 0, sizeof(tr));
    tr.host = g != NULL ? g->host : (char *)e->entry.text;
    tr.port = e->port;
    tr.error = (char *)warning;
    tr.state = MXP_STATE_UNKNOWN;
    if (g != NULL)
        g->outstanding++;
    report_done(s, s->next_seq++, g, &tr);
    if (own)
        group_close(s, g);
}

static void tgt_free(struct tgt *t)
{
    if (t == NULL)
        return;
    free(t->host);
    free(t->t_host);
    free(t->t_addr);
    free(t->peers);
    free(t);
}

static void finish(struct sched *s, struct tgt *t)
{
    struct mxp_target_report tr;

    memset(&tr, 0, sizeof(tr));
    if (t->run != NULL)
        keep(s, mxp_run_finish(t->run, &tr) == MXP_ERR_NOMEM ? MXP_ERR_NOMEM
                                                             : MXP_OK);
    t->run = NULL;
    tr.host = t->host;
    tr.addr = t->no_addr ? NULL : t->t_addr;
    tr.port = t->t.port;
    report_done(s, t->seq, t->group, &tr);
    for (size_t i = 0; i < tr.n_checks; i++)
        mxp_check_result_free(&tr.checks[i]);
    free(tr.checks);
    tgt_free(t);
}

/* ---- targets from the expander ----------------------------------------- */

static void enqueue(struct sched *s, struct tgt *t, int front)
{
    if (front) {
        t->next = s->head;
        s->head = t;
        if (s->tail == NULL)
            s->tail = t;
    } else {
        t->next = NULL;
        if (s->tail != NULL)
            s->tail->next = t;
        else
            s->head = t;
        s->tail = t;
    }
    s->n_queued++;
}

static struct tgt *tgt_new(struct sched *s, size_t entry, const char *rhost,
                           const char *thost, const char *addr, int family,
                           const unsigned char *bytes)
{
    const struct mxp_sched_entry *e = &s->e[entry];
    struct tgt *t = calloc(1, sizeof(*t));

    if (t == NULL)
        goto oom;
    t->entry = entry;
    t->host = strdup(rhost);
    t->t_host = strdup(thost);
    t->t_addr = strdup(addr);
    if (t->host == NULL || t->t_host == NULL || t->t_addr == NULL)
        goto oom;
    t->t.host = t->t_host;
    t->t.addr = t->t_addr;
    t->t.family = family;
    memcpy(t->t.addr_bytes, bytes, family == AF_INET ? 4 : 16);
    t->t.port = e->port;
    t->t.domain = e->domain;
    return t;
oom:
    tgt_free(t);
    keep(s, MXP_ERR_NOMEM);
    return NULL;
}

/* The domain-wide checks of a domain entry, once its addresses are all
 * known: the first one is the target, the others its peers. */
static void domain_report(struct sched *s, size_t entry)
{
    struct ent *en = &s->ents[entry];
    const char *domain = s->e[entry].entry.text;
    struct tgt *t;
    size_t i;

    t = tgt_new(s, entry, domain, domain, en->addrs[0].addr,
                en->addrs[0].family, en->addrs[0].bytes);
    if (t == NULL)
        return;
    t->no_addr = 1;
    t->t.domain = domain;
    t->seq = en->domain_seq;
    t->slots = en->wide;
    t->n_slots = en->n_wide;
    t->group = group_new(s, entry, domain);
    if (t->group != NULL) {
        t->group->outstanding = 1;
        t->group->closed = 1;
    }
    if (en->n_addrs > 1) {
        t->peers = calloc(en->n_addrs - 1, sizeof(*t->peers));
        if (t->peers == NULL) {
            keep(s, MXP_ERR_NOMEM);
        } else {
            for (i = 1; i < en->n_addrs; i++) {
                struct mxp_target *p = &t->peers[i - 1];

                p->host = en->addrs[i].host;
                p->addr = en->addrs[i].addr;
                p->family = en->addrs[i].family;
                memcpy(p->addr_bytes, en->addrs[i].bytes, 16);
                p->port = t->t.port;
                p->domain = domain;
            }
            t->t.peers = t->peers;
            t->t.n_peers = en->n_addrs - 1;
        }
    }
    /* Ahead of the queue: it comes first in the configured order. */
    enqueue(s, t, 1);
}

static void remember(struct sched *s, struct ent *en,
                     const struct mxp_expansion *x)
{
    struct addr *a = realloc(en->addrs, (en->n_addrs + 1) * sizeof(*a));

    if (a == NULL) {
        keep(s, MXP_ERR_NOMEM);
        return;
    }
    en->addrs = a;
    a += en->n_addrs;
    memset(a, 0, sizeof(*a));
    a->host = strdup(x->host ? x->host : "");
    a->addr = strdup(x->addr);
    a->family = x->family;
    memcpy(a->bytes, x->bytes, x->family == AF_INET ? 4 : 16);
    if (a->host == NULL || a->addr == NULL) {
        free(a->host);
        free(a->addr);
        keep(s, MXP_ERR_NOMEM);
        return;
    }
    en->n_addrs++;
}

static void on_address(struct sched *s, size_t i, const struct mxp_expansion *x)
{
    const struct mxp_sched_entry *e = &s->e[i];
    struct ent *en = &s->ents[i];
    const char *rhost = e->entry.text;
    struct mxp_plugin_slot **slots = e->slots;
    size_t n_slots = e->n_slots;
    struct group *g;
    struct tgt *t;

    en->n_found++;
    if (e->entry.kind == MXP_ENTRY_CIDR) {
        rhost = x->addr;
    } else if (e->entry.kind == MXP_ENTRY_DOMAIN) {
        rhost = x->host != NULL ? x->host : x->addr;
        remember(s, en, x);
        slots = en->per;
        n_slots = en->n_per;
        if (n_slots == 0)
            return; /* only domain-wide checks: the domain report */
    }
    /* A new host name of the entry starts a new group. */
    if (e->entry.kind == MXP_ENTRY_CIDR || en->cur == NULL ||
        strcasecmp(en->cur->host, rhost) != 0) {
        group_close(s, en->cur);
        en->cur = group_new(s, i, rhost);
    }
    g = en->cur;
    t = tgt_new(s, i, rhost, rhost, x->addr, x->family, x->bytes);
    if (t == NULL)
        return;
    t->seq = s->next_seq++;
    t->slots = slots;
    t->n_slots = n_slots;
    t->group = g;
    if (g != NULL)
        g->outstanding++;
    if (e->entry.kind == MXP_ENTRY_CIDR) {
        group_close(s, en->cur);
        en->cur = NULL;
    }
    enqueue(s, t, 0);
}

static void on_end(struct sched *s, size_t i, const struct mxp_expansion *x)
{
    struct ent *en = &s->ents[i];

    en->ended = 1;
    if (x->warning != NULL && en->n_found > 0)
        report_warning(s, i, en->cur, x->warning);
    group_close(s, en->cur);
    en->cur = NULL;
    if (en->n_found == 0) {
        size_t seq = en->domain_reserved ? en->domain_seq : s->next_seq++;

        report_plain(s, i, seq, x->error);
        return;
    }
    if (en->domain_reserved && en->n_addrs > 0)
        domain_report(s, i);
    else if (en->domain_reserved) /* the addresses could not be kept */
        report_plain(s, i, en->domain_seq, "out of memory");
}

static void on_expansion(void *user, const struct mxp_expansion *x)
{
    struct sched *s = user;
    struct ent *en;

    if (x->entry >= s->n)
        return;
    en = &s->ents[x->entry];
    if (en->ended)
        return;
    if (!en->started) {
        en->started = 1;
        /* The domain report is first of its entry: its place is taken
         * now, it starts when the entry's addresses are all known. */
        if (s->e[x->entry].entry.kind == MXP_ENTRY_DOMAIN && en->n_wide > 0) {
            en->domain_reserved = 1;
            en->domain_seq = s->next_seq++;
        }
    }
    if (x->addr != NULL && x->bytes == NULL)
        return; /* the expander promises both */
    if (x->addr != NULL && !x->last)
        on_address(s, x->entry, x);
    if (x->last) {
        if (x->addr != NULL)
            on_address(s, x->entry, x);
        on_end(s, x->entry, x);
    }
}

/* -H ADDRESS needs no expander: the address is itself (and the Nagios hot
 * path saves a fork). */
static int numeric_only(struct sched *s)
{
    struct mxp_target_store ts;
    struct mxp_expansion x;
    char err[256];
    size_t i;

    if (s->set->expand->family != 0)
        return 0;
    for (i = 0; i < s->n; i++) {
        int fam;
        unsigned char b[16];

        if (s->e[i].entry.kind != MXP_ENTRY_HOST ||
            mxp_parse_addr(s->e[i].entry.text, &fam, b) != 0)
            return 0;
    }
    for (i = 0; i < s->n; i++) {
        if (mxp_target_resolve(&s->set->run->dns, s->e[i].entry.text, 25, NULL,
                               0, &ts, err, sizeof(err)) != MXP_OK) {
            mxp_target_store_free(&ts);
            keep(s, MXP_ERR_NOMEM);
            return 1;
        }
        memset(&x, 0, sizeof(x));
        x.entry = i;
        x.host = ts.host;
        x.addr = ts.addr;
        x.family = ts.t.family;
        x.bytes = ts.t.addr_bytes;
        on_expansion(s, &x);
        x.addr = NULL;
        x.last = 1;
        on_expansion(s, &x);
        mxp_target_store_free(&ts);
    }
    return 1;
}

/* ---- the loop ------------------------------------------------------------ */

static double target_deadline(const struct sched *s, double now)
{
    double t = s->set->timeout;

    if (s->set->run_deadline > 0)
        return s->set->run_deadline;
    /* Output after the hard deadline must still make it within -t. */
    return now + t - fmin(0.1, t * 0.05);
}

static void start_queued(struct sched *s)
{
    while (s->head != NULL && s->n_fly < s->jobs) {
        struct tgt *t = s->head;

        s->head = t->next;
        if (s->head == NULL)
            s->tail = NULL;
        s->n_queued--;
        if (mxp_run_start(s->set->run, t->slots, t->n_slots, &t->t,
                          target_deadline(s, mxp_now()), &t->run) != MXP_OK) {
            keep(s, MXP_ERR_NOMEM);
            finish(s, t); /* a report all the same: no checks run */
            continue;
        }
        s->fly[s->n_fly++] = t;
    }
}

static int split_domain_slots(struct sched *s, size_t i)
{
    const struct mxp_sched_entry *e = &s->e[i];
    struct ent *en = &s->ents[i];
    size_t k;

    en->wide = calloc(e->n_slots + 1, sizeof(*en->wide));
    en->per = calloc(e->n_slots + 1, sizeof(*en->per));
    if (en->wide == NULL || en->per == NULL)
        return MXP_ERR_NOMEM;
    for (k = 0; k < e->n_slots; k++) {
        if (mxp_plugin_flags(e->slots[k]->lp.desc) & MXP_PLUGIN_DOMAIN_WIDE)
            en->wide[en->n_wide++] = e->slots[k];
        else
            en->per[en->n_per++] = e->slots[k];
    }
    return MXP_OK;
}

static void sched_free(struct sched *s)
{
    size_t i, k;

    while (s->head != NULL) {
        struct tgt *t = s->head;

        s->head = t->next;
        tgt_free(t);
    }
    for (i = 0; s->ents != NULL && i < s->n; i++) {
        struct ent *en = &s->ents[i];

        for (k = 0; k < en->n_addrs; k++) {
            free(en->addrs[k].host);
            free(en->addrs[k].addr);
        }
        free(en->addrs);
        free(en->wide);
        free(en->per);
    }
    free(s->ents);
    free(s->fly);
}

int mxp_schedule(const struct mxp_sched_entry *entries, size_t n,
                 const struct mxp_sched_settings *set)
{
    struct sched s;
    struct mxp_expander *x = NULL;
    struct pollfd *pfd = NULL;
    size_t *fly_at = NULL;
    size_t i, max_slots = 0, cap;
    int rc;

    memset(&s, 0, sizeof(s));
    s.e = entries;
    s.n = n;
    s.set = set;
    s.ents = calloc(n ? n : 1, sizeof(*s.ents));
    for (i = 0; i < n; i++)
        if (entries[i].n_slots > max_slots)
            max_slots = entries[i].n_slots;
    s.jobs = set->jobs ? set->jobs : 1;
    s.fly = calloc(s.jobs, sizeof(*s.fly));
    cap = 2 + s.jobs * MXP_RUN_FDS_PER_PLUGIN * (max_slots ? max_slots : 1);
    pfd = calloc(cap, sizeof(*pfd));
    fly_at = calloc(s.jobs + 1, sizeof(*fly_at));
    if (s.ents == NULL || s.fly == NULL || pfd == NULL || fly_at == NULL) {
        rc = MXP_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++)
        if (entries[i].entry.kind == MXP_ENTRY_DOMAIN &&
            (rc = split_domain_slots(&s, i)) != MXP_OK)
            goto out;
    /* A dead submitter must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (!numeric_only(&s)) {
        struct mxp_entry *list = calloc(n ? n : 1, sizeof(*list));

        if (list == NULL) {
            rc = MXP_ERR_NOMEM;
            goto out;
        }
        for (i = 0; i < n; i++)
            list[i] = entries[i].entry;
        rc = mxp_expand_start(list, n, set->expand, &x);
        free(list);
        if (rc != MXP_OK) {
            /* No expander (no fd for its pipe, no process): every entry
             * says so, or the run would pass for an OK one of nothing. */
            char why[160];

            snprintf(why, sizeof(why),
                     "cannot start the expansion of the targets: %s",
                     rc == MXP_ERR_NOMEM ? "out of memory" : strerror(errno));
            for (i = 0; i < n; i++)
                report_plain(&s, i, s.next_seq++, why);
            goto out;
        }
    }
    for (;;) {
        double now, wake;
        size_t k = 0, xi = SIZE_MAX, si = SIZE_MAX;
        short sev = 0;
        int ms;

        start_queued(&s);
        /* Read the expander only while the queue is short: the found
         * addresses wait in its pipe, not in our memory. */
        if (x != NULL && mxp_expand_fd(x) >= 0 &&
            s.n_queued < 2 * s.jobs + 16) {
            xi = k;
            pfd[k].fd = mxp_expand_fd(x);
            pfd[k].events = POLLIN;
            pfd[k++].revents = 0;
        }
        if (set->submit != NULL && mxp_submit_fd(set->submit, &sev) >= 0 &&
            sev != 0) {
            si = k;
            pfd[k].fd = mxp_submit_fd(set->submit, &sev);
            pfd[k].events = sev;
            pfd[k++].revents = 0;
        }
        if (s.n_fly == 0 && s.head == NULL && (x == NULL || mxp_expand_done(x)))
            break;
        /* The output is gone (a closed pipe: `| head -1`) and no result
         * goes anywhere else: checking on would be work for nobody. */
        if (s.status == MXP_ERR_IO && set->submit == NULL)
            break;
        now = mxp_now();
        wake = now + 1.0; /* the progress line at least once a second */
        for (i = 0; i < s.n_fly; i++) {
            fly_at[i] = k;
            k += mxp_run_pollfds(s.fly[i]->run, pfd + k);
            wake = mxp_min_deadline(wake, mxp_run_wake(s.fly[i]->run));
        }
        fly_at[s.n_fly] = k;
        ms = mxp_poll_ms(wake);
        if (poll(pfd, (nfds_t)k, ms) < 0 && errno != EINTR) {
            rc = MXP_ERR_IO;
            goto out;
        }
        if (xi != SIZE_MAX && pfd[xi].revents != 0)
            mxp_expand_read(x, on_expansion, &s);
        if (si != SIZE_MAX && pfd[si].revents != 0)
            mxp_submit_events(set->submit, pfd[si].revents);
        now = mxp_now();
        for (i = 0; i < s.n_fly;) {
            struct tgt *t = s.fly[i];

            mxp_run_events(t->run, pfd + fly_at[i], fly_at[i + 1] - fly_at[i]);
            if (!mxp_run_done(t->run, now)) {
                i++;
                continue;
            }
            /* Keep the order of fly_at for the runs still to look at. */
            memmove(&s.fly[i], &s.fly[i + 1],
                    (s.n_fly - i - 1) * sizeof(*s.fly));
            memmove(&fly_at[i], &fly_at[i + 1],
                    (s.n_fly - i) * sizeof(*fly_at));
            s.n_fly--;
            finish(&s, t);
        }
        mxp_stream_progress(set->out, s.next_seq, s.n_fly);
    }
    rc = MXP_OK;
out:
    for (i = 0; i < s.n_fly; i++)
        finish(&s, s.fly[i]);
    s.n_fly = 0;
    mxp_expand_free(x);
    for (i = 0; s.ents != NULL && i < n; i++)
        group_close(&s, s.ents[i].cur);
    free(pfd);
    free(fly_at);
    keep(&s, rc);
    rc = s.status;
    sched_free(&s);
    return rc;
}
