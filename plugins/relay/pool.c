/*
 * pool.c - runs the relay check's batches on several SMTP connections at
 * once (plugins.relay.connections), without threads.
 *
 * Each connection is a small state machine: greeting, EHLO (HELO when
 * EHLO is refused), then the commands of its batch, all at once when the
 * server offers PIPELINING, else one at a time.  svc->smtp_wait says
 * which connection has its next reply in, so a server that pauses before
 * every MAIL or RCPT pauses on all connections side by side.  A
 * connection takes its batch once greeted: one that a server holds back
 * (it serves only so many at once and leaves the others waiting) holds
 * no work, and is given up once it waited a second beyond the slowest
 * greeting seen, the pool then opening no more than were served at
 * once (svc->smtp_wait_until wakes the pool for that).  probe.c plans
 * the batches and judges what they got (relay_batch_done), which
 * may queue more: retries, the confirmations, senders tried again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "relay.h"

int relay_enqueue(struct relay_run *r, const struct batch *b, int front)
{
    if (b->n == 0)
        return 1;
    if (r->q_len == RELAY_QUEUE)
        return 0;
    if (front) {
        r->q_head = (r->q_head + RELAY_QUEUE - 1) % RELAY_QUEUE;
        r->queue[r->q_head] = *b;
    } else {
        r->queue[(r->q_head + r->q_len) % RELAY_QUEUE] = *b;
    }
    r->q_len++;
    return 1;
}

static void dequeue(struct relay_run *r, struct batch *b)
{
    *b = r->queue[r->q_head];
    r->q_head = (r->q_head + 1) % RELAY_QUEUE;
    r->q_len--;
}

static void conv_failed(struct relay_run *r, struct conv *c, int rc, int retry,
                        const char *fmt, ...) MXP_PRINTF(5, 6);
static void conv_failed(struct relay_run *r, struct conv *c, int rc, int retry,
                        const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->failure, sizeof(c->failure), fmt, ap);
    va_end(ap);
    snprintf(r->failure, sizeof(r->failure), "%s", c->failure);
    c->rc = rc != MXP_OK ? rc : MXP_ERR_PROTOCOL;
    c->retry = retry;
}

/* Sends the next command of c's batch: MAIL, the RCPTs, then RSET (the
 * survey) or DATA (a confirmation), then, pipelined, QUIT. */
static int say_cmd(struct relay_run *r, struct conv *c, size_t k)
{
    const struct batch *b = &c->b;

    if (k == 0)
        return relay_say(r, c->s, "MAIL FROM:%s", r->forms[b->forms[0]].mail);
    if (k <= b->n)
        return relay_say(r, c->s, "RCPT TO:%s", r->forms[b->forms[k - 1]].rcpt);
    if (k == b->n + 1) {
        c->data_sent = b->kind == B_CONFIRM;
        return relay_say(r, c->s, b->kind == B_SURVEY ? "RSET" : "DATA");
    }
    return relay_say(r, c->s, "QUIT");
}

/* The greeting and EHLO are done: the batch's commands go out. */
static int begin_work(struct relay_run *r, struct conv *c)
{
    int rc = MXP_OK;

    c->phase = P_WORK;
    c->n_cmds = c->b.n + 2 + (c->pipelined && c->b.kind == B_SURVEY);
    if (c->pipelined) {
        /* RFC 2920: RSET, QUIT and DATA may end a pipelined group. */
        for (c->sent = 0; c->sent < c->n_cmds && rc == MXP_OK; c->sent++)
            rc = say_cmd(r, c, c->sent);
    } else {
        rc = say_cmd(r, c, 0);
        c->sent = 1;
    }
    if (rc != MXP_OK)
        conv_failed(r, c, rc, 0, "%s", r->failure);
    return rc;
}

/* After the EHLO or HELO reply: the server's name, the forms if this is
 * the first connection greeted, and the batch to run. */
static int greeted(struct relay_run *r, struct conv *c, const char *ehlo)
{
    relay_learn_server_name(r, c->greeting, ehlo);
    c->pipelined = c->phase == P_EHLO && !r->no_pipelining &&
                   r->svc->smtp_has_extension(c->s, "PIPELINING");
    r->pipelining = c->pipelined;
    if (r->n_forms == 0 && !relay_build(r)) {
        conv_failed(r, c, MXP_ERR_INVALID, 0, "%s", r->survey_reason);
        return MXP_ERR_INVALID;
    }
    if (c->unassigned) {
        r->unassigned--;
        c->unassigned = 0;
        if (r->q_len > 0)
            dequeue(r, &c->b);
        if (c->b.n > 0 && c->b.kind == B_SURVEY)
            r->survey_active++;
    }
    if (c->b.n == 0)
        return MXP_ERR_CLOSED; /* nothing to do: goodbye */
    return begin_work(r, c);
}

/* c got its greeting: the server serves this many connections at once,
 * and greets within this time. */
static void greeting_came(struct relay_run *r, struct conv *c)
{
    double took = r->svc->now() - c->started;

    r->served++;
    if (++r->greeted_now > r->most_greeted)
        r->most_greeted = r->greeted_now;
    if (took > r->slowest_greeting)
        r->slowest_greeting = took;
}

/* One reply of c's batch, and what to send next when not pipelining.
 * Returns 1 when the batch is over. */
static int work_reply(struct relay_run *r, struct conv *c,
                      const struct reply_copy *got)
{
    const struct batch *b = &c->b;
    size_t k = c->heard++;
    int rc = MXP_OK, any_ok = 0;

    if (k == 0)
        c->mail = *got;
    else if (k <= b->n)
        c->rcpt[k - 1] = *got;
    else if (k == b->n + 1)
        c->end = *got;
    else
        c->quit = *got;
    if (c->pipelined)
        return c->heard >= c->n_cmds;
    if (k == 0 && got->code / 100 != 2) {
        /* MAIL refused: the RCPTs would only be refused for want of it. */
        c->skip_rcpts = 1;
        if (b->kind == B_CONFIRM)
            return 1;
        c->heard = b->n + 1;
        rc = say_cmd(r, c, b->n + 1);
    } else if (k < b->n) {
        rc = say_cmd(r, c, k + 1);
    } else if (k == b->n) {
        for (size_t j = 0; j < b->n; j++)
            any_ok |= c->rcpt[j].code / 100 == 2;
        if (b->kind == B_CONFIRM && !any_ok)
            return 1; /* DATA would find no recipient */
        rc = say_cmd(r, c, b->n + 1);
    } else {
        return 1;
    }
    if (rc != MXP_OK) {
        conv_failed(r, c, rc, 0, "%s", r->failure);
        return 1;
    }
    return 0;
}

/* The reply c's session has ready.  Returns 1 when c is over. */
static int step(struct relay_run *r, struct conv *c)
{
    struct reply_copy got;
    int rc = relay_hear(r, c->s, &got);

    if (c->phase == P_GREETING && !c->connected &&
        (rc == MXP_OK || strncmp(got.text, "cannot connect", 14) != 0)) {
        c->connected = 1;
        r->connections++; /* every TCP connection counts, greeted or not */
    }
    if (rc != MXP_OK) {
        conv_failed(
            r, c, rc, c->phase != P_WORK && rc == MXP_ERR_CLOSED, "%s%s",
            c->phase == P_GREETING && got.code == 421 ? "greeting " : "",
            got.text);
        return 1;
    }
    switch (c->phase) {
    case P_GREETING:
        if (got.code != 220) {
            conv_failed(r, c, MXP_ERR_PROTOCOL, 0, "greeting %s", got.text);
            return 1;
        }
        snprintf(c->greeting, sizeof(c->greeting), "%s", got.text + 4);
        greeting_came(r, c);
        c->phase = P_EHLO;
        rc = relay_say(r, c->s, "EHLO %s", r->ctx->probe->helo_name);
        break;
    case P_EHLO:
        if (got.code >= 500) {
            c->phase = P_HELO;
            rc = relay_say(r, c->s, "HELO %s", r->ctx->probe->helo_name);
            break;
        }
        /* fall through */
    case P_HELO:
        if (got.code / 100 != 2) {
            conv_failed(r, c, MXP_ERR_PROTOCOL, 0, "EHLO and HELO refused: %s",
                        got.text);
            return 1;
        }
        {
            char first[RELAY_REPLY_LEN];

            snprintf(first, sizeof(first), "%s", got.text + 4);
            rc = greeted(r, c, first);
        }
        if (rc == MXP_ERR_CLOSED) {
            c->rc = MXP_OK;
            return 1;
        }
        return rc != MXP_OK;
    case P_WORK:
        return work_reply(r, c, &got);
    }
    if (rc != MXP_OK) {
        conv_failed(r, c, rc, 0, "%s", r->failure);
        return 1;
    }
    return 0;
}

/* Whether c's session may say goodbye: it is healthy, no QUIT went out
 * yet, and it is not inside (or possibly inside) a message. */
static int may_quit(const struct conv *c)
{
    if (c->rc != MXP_OK)
        return 0;
    if (c->phase != P_WORK)
        return 1;
    if (c->b.kind == B_SURVEY)
        return !c->pipelined;
    /* After a 354 the core drops the connection: no dot, no message.
     * After a DATA answer that is neither 354 nor a refusal, the server
     * may be taking content: no QUIT either. */
    return !c->data_sent || c->end.code / 100 == 4 || c->end.code / 100 == 5;
}

/* When c, still waiting for its greeting, counts as held back. */
static double held_back_at(const struct relay_run *r, const struct conv *c)
{
    return c->started + r->slowest_greeting + RELAY_HELD_BACK;
}

/* Whether c, still waiting for its greeting, is held back by a server
 * that serves only so many connections at once: it greeted others, and
 * c has waited well beyond the slowest greeting it gave.  A server that
 * greets every connection late (postscreen's greet delay) is not one. */
static int held_back(const struct relay_run *r, const struct conv *c)
{
    return c->phase == P_GREETING && c->unassigned && r->served > 0 &&
           r->svc->now() >= held_back_at(r, c);
}

/* Gives up a connection held back (held_back): it holds no batch, and
 * no more connections than the server was seen to serve are opened. */
static void drop_held_back(struct relay_run *r, struct conv *c)
{
    r->unassigned--;
    r->held_back++;
    if (r->max_conns > r->most_greeted)
        r->max_conns = r->most_greeted > 0 ? r->most_greeted : 1;
    r->svc->smtp_close(c->s, 0);
    c->s = NULL;
}

/* c failed before it took a batch: the failure is the next queued
 * batch's, as if c had been opened for it, so that its tries and the
 * stalls count it (a server refusing every connection ends the run
 * after a few, not at the deadline). */
static void charge_failure(struct relay_run *r, struct conv *c)
{
    if (c->b.n > 0 || r->q_len == 0)
        return;
    dequeue(r, &c->b);
    if (c->b.kind == B_SURVEY)
        r->survey_active++;
}

static void finish(struct relay_run *r, struct conv *c)
{
    int quit = may_quit(c);

    if (c->phase != P_GREETING)
        r->greeted_now--;
    if (c->unassigned && c->phase == P_GREETING && c->rc == MXP_ERR_TIMEOUT &&
        r->served > 0 && r->held_back < 2 * RELAY_MAX_CONNECTIONS) {
        /* No greeting from a server that greets others: held back (by
         * its limit, or by connections held back before it), not a
         * stall of the survey, and it held no batch. */
        drop_held_back(r, c);
        return;
    }
    if (c->unassigned) {
        r->unassigned--;
        charge_failure(r, c);
    }
    relay_batch_done(r, c);
    r->svc->smtp_close(c->s, quit);
    c->s = NULL;
}

/* Starts a connection for the next batch (or, before the forms exist,
 * for whichever batch there will be).  0 when it ended at once. */
static int start(struct relay_run *r, struct conv *c)
{
    const struct mxp_target *t = r->ctx->target;
    int rc;

    memset(c, 0, sizeof(*c));
    /* A connection takes its batch once greeted, not before: one that a
     * server holds back (it serves only so many at once) holds no work,
     * and queued batches are spoken for by such connections first. */
    c->unassigned = 1;
    r->unassigned++;
    c->started = r->svc->now();
    rc = r->svc->smtp_open_start(r->ctx, t->addr, t->port, &c->s);
    if (rc != MXP_OK || c->s == NULL) {
        conv_failed(r, c, rc, 0, "%s",
                    c->s != NULL ? r->svc->smtp_error(c->s)
                                 : r->svc->strerror(rc));
        r->unassigned--;
        charge_failure(r, c);
        relay_batch_done(r, c);
        r->svc->smtp_close(c->s, 0);
        c->s = NULL;
        return 0;
    }
    return 1;
}

/* Another connection is wanted: work is queued, or the forms are yet to
 * be built, and time is left. */
static int want_more(struct relay_run *r, unsigned active)
{
    if (active >= r->max_conns)
        return 0;
    if (r->q_len <= r->unassigned && (r->n_forms > 0 || r->survey_stopped))
        return 0;
    if (r->svc->remaining(r->ctx) < RELAY_MIN_LEFT) {
        relay_give_up_queue(r, "no time left before the deadline");
        if (r->n_forms == 0 && !r->survey_stopped) {
            r->survey_stopped = 1;
            snprintf(r->survey_reason, sizeof(r->survey_reason),
                     "no time left before the deadline");
        }
        return 0;
    }
    return 1;
}

/* When the soonest connection waiting for its greeting will count as
 * held back, 0 if none can. */
static double wake_at(const struct relay_run *r)
{
    double at = 0;

    for (unsigned i = 0; i < RELAY_MAX_CONNECTIONS; i++) {
        const struct conv *c = &r->convs[i];

        if (c->s != NULL && c->phase == P_GREETING && c->unassigned &&
            r->served > 0 && (at == 0 || held_back_at(r, c) < at))
            at = held_back_at(r, c);
    }
    return at;
}

/* No batch is queued or running, and none will come: the connections
 * still waiting for their greeting have nothing to do. */
static int all_done(const struct relay_run *r, unsigned active)
{
    return r->n_forms > 0 && r->q_len == 0 && r->survey_active == 0 &&
           r->senders_retried && r->confirms_planned && active == r->unassigned;
}

void relay_pool_run(struct relay_run *r)
{
    struct conv *convs = r->convs;
    struct mxp_smtp *ss[RELAY_MAX_CONNECTIONS];
    unsigned active = 0, i;
    int rc;

    memset(ss, 0, sizeof(ss));
    r->max_conns = r->cfg->connections;
    if (r->max_conns > RELAY_MAX_CONNECTIONS)
        r->max_conns = RELAY_MAX_CONNECTIONS;
    for (;;) {
        size_t ready;

        if (r->q_len == 0 && r->survey_active == 0 && r->n_forms > 0)
            relay_next_phase(r);
        for (i = 0; i < RELAY_MAX_CONNECTIONS; i++)
            if (ss[i] != NULL &&
                (held_back(r, &convs[i]) ||
                 (convs[i].unassigned && all_done(r, active)))) {
                /* held back, or no work will come for it */
                drop_held_back(r, &convs[i]);
                ss[i] = NULL;
                r->active = --active;
            }
        for (i = 0; i < RELAY_MAX_CONNECTIONS && want_more(r, active); i++) {
            if (ss[i] != NULL)
                continue;
            if (!start(r, &convs[i]))
                continue; /* settled at once; the loop asks again */
            ss[i] = convs[i].s;
            r->active = ++active;
        }
        if (active == 0) {
            if (r->q_len == 0 && r->survey_active == 0 && r->n_forms > 0 &&
                !(r->senders_retried && r->confirms_planned))
                continue; /* the next phase may bring work */
            if (r->q_len > 0 && want_more(r, 0))
                continue;
            relay_give_up_queue(r, r->failure[0] != '\0'
                                       ? r->failure
                                       : "no time left before the deadline");
            return;
        }
        rc = r->svc->smtp_wait_until(ss, RELAY_MAX_CONNECTIONS, &ready,
                                     wake_at(r));
        if (rc == MXP_ERR_TIMEOUT)
            continue; /* a connection is now held back */
        if (rc != MXP_OK || ready >= RELAY_MAX_CONNECTIONS ||
            ss[ready] == NULL) {
            /* Cannot happen with sessions owing replies; drop them all
             * rather than spin. */
            for (i = 0; i < RELAY_MAX_CONNECTIONS; i++)
                if (ss[i] != NULL) {
                    conv_failed(r, &convs[i], MXP_ERR_IO, 0,
                                "cannot wait for the server's replies");
                    finish(r, &convs[i]);
                    ss[i] = NULL;
                }
            r->active = active = 0;
            continue;
        }
        if (step(r, &convs[ready])) {
            finish(r, &convs[ready]);
            ss[ready] = NULL;
            r->active = --active;
        }
    }
}
