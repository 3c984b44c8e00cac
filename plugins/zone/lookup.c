/*
 * lookup.c - the zone plugin's DNS cache and waves (lookup.h).
 *
 * A fixed table of questions, each wanted, in flight or answered; a wave
 * is one asynchronous batch of the core over a copy of the wanted
 * questions, copied back into the table when collected.  Questions the
 * table has no room for are asked directly, uncached.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lookup.h"

#define ZONE_WAVES_MAX 8 /* batches in flight at once */

enum entry_state { E_WANTED, E_SENT, E_ANSWERED };

struct entry {
    char *name;
    uint16_t type;
    enum entry_state state;
    int rc; /* of its batch as a whole */
    int ad; /* svc->dns_authenticated of the batch's own copy */
    struct mxp_dns_query q;
};

struct wave {
    struct mxp_dns_batch *b;
    struct mxp_dns_query *q; /* the batch's own copy */
    size_t *idx;             /* entry of each query */
    size_t n;
};

struct zone_cache {
    struct entry e[ZONE_CACHE_MAX];
    size_t n;
    struct wave w[ZONE_WAVES_MAX];
    size_t n_waves;
};

int zone_dns_init(struct zone_run *R)
{
    R->dns = calloc(1, sizeof *R->dns);
    return R->dns != NULL ? MXP_OK : MXP_ERR_NOMEM;
}

void zone_dns_free(struct zone_run *R)
{
    if (R->dns == NULL)
        return;
    zone_dns_wait(R);
    for (size_t i = 0; i < R->dns->n; i++)
        free(R->dns->e[i].name);
    free(R->dns);
    R->dns = NULL;
}

static struct entry *find(struct zone_cache *c, const char *name, uint16_t type)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].type == type && zone_names_equal(c->e[i].name, name))
            return &c->e[i];
    return NULL;
}

int zone_dns_want(struct zone_run *R, const char *name, uint16_t type)
{
    struct zone_cache *c = R->dns;
    struct entry *e;

    if (c == NULL || name == NULL || name[0] == '\0')
        return -1;
    if (find(c, name, type) != NULL)
        return 0;
    if (c->n == ZONE_CACHE_MAX)
        return -1;
    e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (e->name == NULL)
        return -1;
    e->type = type;
    e->state = E_WANTED;
    e->q.name = e->name;
    e->q.type = type;
    e->q.result = MXP_DNS_FAILED;
    c->n++;
    return 1;
}

/* A wave's outcome into the table; a batch that failed as a whole
 * leaves its questions MXP_DNS_FAILED. */
static void wave_done(struct zone_run *R, struct wave *w, int rc)
{
    struct zone_cache *c = R->dns;

    for (size_t i = 0; i < w->n; i++) {
        struct entry *e = &c->e[w->idx[i]];

        e->state = E_ANSWERED;
        /* The core knows the query it sent, the wave's copy: asked now,
         * before that copy is freed. */
        e->ad = rc == MXP_OK ? R->svc->dns_authenticated(R->ctx, &w->q[i]) : -1;
        e->rc = rc;
        e->q.result = rc == MXP_OK ? w->q[i].result : MXP_DNS_FAILED;
        e->q.rr = rc == MXP_OK ? w->q[i].rr : NULL;
        e->q.n_rr = rc == MXP_OK ? w->q[i].n_rr : 0;
        e->q.elapsed = w->q[i].elapsed;
    }
    free(w->q);
    free(w->idx);
    memset(w, 0, sizeof *w);
}

void zone_dns_send(struct zone_run *R)
{
    struct zone_cache *c = R->dns;
    struct wave *w;
    size_t n = 0, k = 0;
    int rc;

    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        n += c->e[i].state == E_WANTED;
    if (n == 0)
        return;
    if (c->n_waves == ZONE_WAVES_MAX)
        zone_dns_wait(R); /* not expected: the flow has 3 or 4 waves */
    w = &c->w[c->n_waves];
    w->q = calloc(n, sizeof *w->q);
    w->idx = calloc(n, sizeof *w->idx);
    if (w->q == NULL || w->idx == NULL) {
        free(w->q);
        free(w->idx);
        memset(w, 0, sizeof *w);
        return; /* still wanted: zone_dns_get asks them directly */
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->e[i].state != E_WANTED)
            continue;
        w->q[k] =
            (struct mxp_dns_query){.name = c->e[i].name, .type = c->e[i].type};
        w->idx[k++] = i;
        c->e[i].state = E_SENT;
    }
    w->n = n;
    rc = R->svc->dns_start(R->ctx, w->q, n, &w->b);
    if (rc != MXP_OK) {
        wave_done(R, w, rc);
        return;
    }
    c->n_waves++;
}

int zone_dns_fetched(struct zone_run *R, const char *name, uint16_t type)
{
    struct zone_cache *c = R->dns;
    struct entry *e = c != NULL ? find(c, name, type) : NULL;

    if (e == NULL || e->state == E_WANTED)
        return 0;
    for (size_t i = 0; e->state == E_SENT && i < c->n_waves; i++) {
        struct wave *w = &c->w[i];
        int mine = 0;

        for (size_t k = 0; k < w->n && !mine; k++)
            mine = &c->e[w->idx[k]] == e;
        if (!mine)
            continue;
        if (!R->svc->dns_done(R->ctx, w->b))
            return 0;
        wave_done(R, w, R->svc->dns_collect(R->ctx, w->b));
        c->w[i] = c->w[--c->n_waves];
    }
    return e->state == E_ANSWERED;
}

void zone_dns_wait(struct zone_run *R)
{
    struct zone_cache *c = R->dns;

    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_waves; i++)
        wave_done(R, &c->w[i], R->svc->dns_collect(R->ctx, c->w[i].b));
    c->n_waves = 0;
}

const struct mxp_dns_query *zone_dns_peek(struct zone_run *R, const char *name,
                                          uint16_t type)
{
    struct entry *e = R->dns != NULL ? find(R->dns, name, type) : NULL;

    return e != NULL && e->state == E_ANSWERED ? &e->q : NULL;
}

int zone_dns_authenticated(struct zone_run *R, const struct mxp_dns_query *q)
{
    struct entry *e = R->dns != NULL ? find(R->dns, q->name, q->type) : NULL;

    if (e != NULL && e->state == E_ANSWERED)
        return e->ad;
    return R->svc->dns_authenticated(R->ctx, q); /* asked uncached */
}

int zone_dns_get(struct zone_run *R, struct mxp_dns_query *q, size_t n)
{
    int rc = MXP_OK;

    for (size_t i = 0; i < n; i++)
        if (zone_dns_peek(R, q[i].name, q[i].type) == NULL)
            zone_dns_want(R, q[i].name, q[i].type);
    if (R->dns != NULL) {
        for (size_t i = 0; i < n; i++) {
            struct entry *e = find(R->dns, q[i].name, q[i].type);

            if (e != NULL && e->state != E_ANSWERED) {
                zone_dns_send(R);
                zone_dns_wait(R);
                break;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct entry *e =
            R->dns != NULL ? find(R->dns, q[i].name, q[i].type) : NULL;
        int one;

        if (e == NULL || e->state != E_ANSWERED) {
            /* no room in the cache (or it could not be sent): directly */
            one = R->svc->dns_batch(R->ctx, &q[i], 1);
            if (one != MXP_OK) {
                q[i].result = MXP_DNS_FAILED;
                q[i].rr = NULL;
                q[i].n_rr = 0;
                if (rc == MXP_OK)
                    rc = one;
            }
            continue;
        }
        q[i].result = e->q.result;
        q[i].rr = e->q.rr;
        q[i].n_rr = e->q.n_rr;
        q[i].elapsed = e->q.elapsed;
        /* a batch that failed as a whole says so, as dns_batch would */
        if (e->rc != MXP_OK && rc == MXP_OK)
            rc = e->rc;
    }
    return rc;
}
