/*
 * relay.c - the open relay check: config, run and report.
 *
 * Tries every envelope form of forms.c on several connections at once
 * (pool.c, plugins.relay.connections; probe.c: MAIL once per sender,
 * the RCPTs, RSET; pipelined when the server offers PIPELINING), a few
 * forms per connection so that servers which slow down after repeated
 * errors (Postfix sleeps after smtpd_soft_error_limit) never get the
 * chance.  The forms accepted at RCPT are confirmed on fresh connections
 * with DATA: 354 proves the relay, and the connection is then dropped
 * without the final dot, so no message exists.  Only with deliver: true and probe.my_email
 * does one message go through, to the operator's own mailbox (the core
 * enforces that too).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

/* ---- config ---------------------------------------------------------- */

static const char *const config_keys[] = {
    "external_domain", "sender", "recipient", "deliver",
    "forms_per_connection", "connections", NULL};

/* A scalar of plugins.relay, or NULL when absent; errors for non-scalars. */
static const char *scalar(struct mxp_ctx *ctx, const struct mxp_node *cfg,
                          const char *key, const struct mxp_node **at,
                          int *bad)
{
    const struct mxp_services *svc = ctx->svc;

    *at = cfg != NULL ? svc->node_get(cfg, key) : NULL;
    if (*at == NULL)
        return NULL;
    if (svc->node_kind(*at) != MXP_NODE_SCALAR) {
        svc->config_error(ctx, *at, "%s: expected a single value", key);
        *bad = 1;
        return NULL;
    }
    return svc->node_str(*at);
}

static int relay_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *cfg = svc->config(ctx), *at;
    struct relay_config *c = calloc(1, sizeof(*c));
    const char *v;
    long per = 8, conns = 8;
    int bad = 0;

    if (c == NULL)
        return MXP_ERR_NOMEM;
    snprintf(c->external, sizeof(c->external), "example.net");
    snprintf(c->sender, sizeof(c->sender), "relaytest");
    snprintf(c->recipient, sizeof(c->recipient), "relaytest");
    c->per_connection = 8;

    if ((v = scalar(ctx, cfg, "external_domain", &at, &bad)) != NULL) {
        if (!svc->is_host_name(v) || strlen(v) >= sizeof(c->external)) {
            svc->config_error(ctx, at, "external_domain: '%s' is not a "
                              "domain name", v);
            bad = 1;
        } else {
            snprintf(c->external, sizeof(c->external), "%s", v);
        }
    }
    if ((v = scalar(ctx, cfg, "sender", &at, &bad)) != NULL) {
        if (!relay_local_part_ok(v)) {
            svc->config_error(ctx, at, "sender: '%s' is not a plain local "
                              "part (letters, digits, . - _ +)", v);
            bad = 1;
        } else {
            snprintf(c->sender, sizeof(c->sender), "%s", v);
        }
    }
    if ((v = scalar(ctx, cfg, "recipient", &at, &bad)) != NULL) {
        if (!relay_local_part_ok(v)) {
            svc->config_error(ctx, at, "recipient: '%s' is not a plain "
                              "local part (letters, digits, . - _ +)", v);
            bad = 1;
        } else {
            snprintf(c->recipient, sizeof(c->recipient), "%s", v);
        }
    }
    if (svc->config_bool(ctx, cfg, "deliver", &c->deliver) != MXP_OK)
        bad = 1;
    if (svc->config_long(ctx, cfg, "forms_per_connection", 1, 100, &per) !=
        MXP_OK)
        bad = 1;
    c->per_connection = (unsigned)per;
    /* Postfix allows 50 connections per client by default
     * (smtpd_client_connection_count_limit): 16 stays far below. */
    if (svc->config_long(ctx, cfg, "connections", 1, RELAY_MAX_CONNECTIONS,
                         &conns) != MXP_OK)
        bad = 1;
    c->connections = (unsigned)conns;
    if (bad) {
        free(c);
        return MXP_ERR_CONFIG;
    }
    *state = c;
    return MXP_OK;
}

static void relay_free(void *state)
{
    free(state);
}

/* ---- the report ------------------------------------------------------ */

/* How many forms got each verdict, and the first reply of some. */
struct tally {
    size_t relays, relays_other, duplicates, tested, refused, auth,
        data_refused;
    size_t temp, sender_refused, inconsistent, unconfirmed;
    const char *first_temp, *first_auth, *first_sender, *first_inconsistent,
        *first_unconfirmed;
};

static void first(const char **slot, const char *text)
{
    if (*slot == NULL)
        *slot = text;
}

static void count(const struct relay_run *r, struct tally *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < r->n_forms; i++) {
        const struct form_state *f = &r->st[i];

        t->tested += f->v != V_UNTESTED;
        switch (f->v) {
        case V_RELAYS:
            /* with a sender other than its own: counted apart */
            if (f->refused_sender[0] != '\0')
                t->relays_other++;
            else
                t->relays++;
            break;
        case V_DUPLICATE: t->duplicates++; break;
        case V_REFUSED: t->refused++; break;
        case V_DATA_REFUSED: t->data_refused++; break;
        case V_AUTH:
            t->auth++;
            first(&t->first_auth, f->reply);
            break;
        case V_TEMP:
            t->temp++;
            first(&t->first_temp, f->reply);
            break;
        case V_DATA_TEMP:
            t->temp++;
            first(&t->first_temp, f->data_reply);
            break;
        case V_SENDER_REFUSED:
            t->sender_refused++;
            first(&t->first_sender, f->reply);
            break;
        case V_INCONSISTENT:
            t->inconsistent++;
            first(&t->first_inconsistent, f->data_reply);
            break;
        case V_ACCEPTED:
            t->unconfirmed++;
            first(&t->first_unconfirmed, f->data_reply);
            break;
        case V_UNTESTED: break;
        }
    }
}

/* One detail per tested form; -v shows the OK ones. */
static void details(const struct relay_run *r)
{
    const struct mxp_services *svc = r->svc;
    struct mxp_ctx *ctx = r->ctx;

    for (size_t i = 0; i < r->n_forms; i++) {
        const struct form_state *f = &r->st[i];
        const char *m = r->forms[i].mail, *t = r->forms[i].rcpt;
        const char *how = "", *why = f->reply;
        enum mxp_state st = MXP_STATE_OK;
        char note[sizeof(f->refused_sender) + 64] = "";
        char both[2 * RELAY_REPLY_LEN + 4];

        if (f->refused_sender[0] != '\0')
            snprintf(note, sizeof(note), "; its own sender %s was refused",
                     f->refused_sender);
        switch (f->v) {
        case V_RELAYS:
            if (f->refused_sender[0] != '\0')
                svc->add_detail(ctx, MXP_STATE_CRITICAL,
                                "relays RCPT TO:%s with sender %s instead: "
                                "MAIL FROM:%s RCPT TO:%s (RCPT %s, DATA %s; "
                                "its own sender %s was refused)", t, m, m, t,
                                f->reply, f->data_reply, f->refused_sender);
            else
                svc->add_detail(ctx, MXP_STATE_CRITICAL, "relays MAIL FROM:%s "
                                "RCPT TO:%s (RCPT %s, DATA %s)", m, t,
                                f->reply, f->data_reply);
            continue;
        case V_DUPLICATE:
            /* forms[i].mail is still its own sender */
            svc->add_detail(ctx, MXP_STATE_OK,
                            "MAIL FROM:%s RCPT TO:%s: its sender was refused "
                            "(%s); with sender %s instead it is MAIL FROM:%s "
                            "RCPT TO:%s, reported as that form", m, t,
                            f->reply, r->forms[f->same_as].mail,
                            r->forms[f->same_as].mail,
                            r->forms[f->same_as].rcpt);
            continue;
        case V_DATA_REFUSED:
            how = "accepted at RCPT, refused at DATA:";
            why = f->data_reply;
            break;
        case V_REFUSED:
        case V_AUTH: how = "refused"; break;
        case V_DATA_TEMP:
            how = "accepted at RCPT, DATA temporarily refused:";
            why = f->data_reply;
            st = MXP_STATE_UNKNOWN;
            break;
        case V_TEMP:
            how = "temporarily refused";
            st = MXP_STATE_UNKNOWN;
            break;
        case V_SENDER_REFUSED:
            how = "sender refused, recipient not tested:";
            st = MXP_STATE_UNKNOWN;
            break;
        case V_INCONSISTENT:
            how = "accepted at RCPT on one connection, refused on another:";
            why = f->data_reply;
            st = MXP_STATE_UNKNOWN;
            break;
        case V_ACCEPTED:
            how = "accepted at RCPT, not confirmed at DATA:";
            snprintf(both, sizeof(both), "%s; %s", f->reply, f->data_reply);
            why = both;
            st = MXP_STATE_UNKNOWN;
            break;
        case V_UNTESTED: continue;
        }
        svc->add_detail(ctx, st, "%s MAIL FROM:%s RCPT TO:%s (%s%s)", how, m,
                        t, why, note);
    }
}

static void perfdata(const struct relay_run *r, const struct tally *t,
                     double elapsed)
{
    const struct mxp_services *svc = r->svc;
    double n = (double)r->n_forms;

    svc->add_metric(r->ctx, "accepted", (double)(t->relays + t->relays_other),
                    "", n, 1);
    svc->add_metric(r->ctx, "forms", (double)t->tested, "", n, 0);
    svc->add_metric(r->ctx, "connections", (double)r->connections, "", NAN,
                    0);
    svc->add_metric(r->ctx, "time", elapsed, "s", NAN, 0);
}

/* The summary of no relay found, but no clean "no" either. */
static int inconclusive(const struct relay_run *r, const struct tally *t,
                        enum mxp_state st)
{
    const struct mxp_services *svc = r->svc;
    size_t n = r->n_forms;

    st = svc->state_worst(st, MXP_STATE_UNKNOWN);
    if (t->tested < n && t->unconfirmed > 0)
        svc->set_result(r->ctx, st, "inconclusive: %zu/%zu forms tested "
                        "(%s), %zu accepted at RCPT, not confirmed",
                        t->tested, n, r->survey_reason, t->unconfirmed);
    else if (t->tested < n)
        svc->set_result(r->ctx, st, "inconclusive: %zu/%zu forms tested (%s)",
                        t->tested, n, r->survey_reason);
    else if (t->temp > 0)
        svc->set_result(r->ctx, st, "inconclusive: %zu/%zu forms "
                        "temporarily refused (%s)", t->temp, n,
                        t->first_temp);
    else if (t->sender_refused > 0 && r->good_sender[0] == '\0')
        svc->set_result(r->ctx, st, "inconclusive: the server refused every "
                        "sender (%s)", t->first_sender);
    else if (t->sender_refused > 0)
        svc->set_result(r->ctx, st, "inconclusive: %zu/%zu forms' senders "
                        "refused (%s)", t->sender_refused, n,
                        t->first_sender);
    else if (t->inconsistent > 0)
        svc->set_result(r->ctx, st, "inconclusive: %zu/%zu forms accepted "
                        "at RCPT on one connection, refused on another (%s)",
                        t->inconsistent, n, t->first_inconsistent);
    else if (t->unconfirmed > 0)
        svc->set_result(r->ctx, st, "inconclusive: %zu/%zu forms accepted "
                        "at RCPT but not confirmed (%s)", t->unconfirmed, n,
                        t->first_unconfirmed);
    else
        return 0;
    return 1;
}

static void verdict(const struct relay_run *r, const struct tally *t)
{
    const struct mxp_services *svc = r->svc;
    struct mxp_ctx *ctx = r->ctx;
    size_t n = r->n_forms;
    enum mxp_state st =
        svc->check_threshold(ctx, (double)(t->relays + t->relays_other));

    /* The count is of envelopes that relay as written; those that relay
     * only with the sender the server took instead of their own are
     * counted apart, and copies of another form not at all. */
    if (t->relays > 0 && t->relays_other > 0)
        svc->set_result(ctx, st, "open relay (%zu/%zu forms, %zu more with "
                        "sender %s instead)", t->relays, n, t->relays_other,
                        r->good_sender);
    else if (t->relays > 0)
        svc->set_result(ctx, st, "open relay (%zu/%zu forms)", t->relays, n);
    else if (t->relays_other > 0)
        svc->set_result(ctx, st, "open relay (%zu/%zu forms with sender %s "
                        "instead of their own)", t->relays_other, n,
                        r->good_sender);
    else if (inconclusive(r, t, st))
        return;
    else if (t->auth > 0 && t->refused == 0 && t->data_refused == 0)
        svc->set_result(ctx, st, "no open relay: authentication required "
                        "(%s)", t->first_auth);
    else if (t->data_refused > 0)
        svc->set_result(ctx, st, "no open relay: %zu/%zu forms refused, "
                        "%zu accepted at RCPT but refused at DATA",
                        n, n, t->data_refused);
    else
        svc->set_result(ctx, st, "no open relay: %zu/%zu forms refused", n,
                        n);
}

/* ---- run ------------------------------------------------------------- */

static int relay_run(struct mxp_ctx *ctx, void *state)
{
    const struct mxp_services *svc = ctx->svc;
    struct relay_run *r = calloc(1, sizeof(*r));
    double start = svc->now();
    struct tally t;
    size_t i, first_relay = RELAY_MAX_FORMS;

    if (r == NULL)
        return MXP_ERR_NOMEM;
    r->ctx = ctx;
    r->svc = svc;
    r->cfg = state;
    relay_address_literal(ctx->target->family, ctx->target->addr, r->literal,
                          sizeof(r->literal));
    relay_pool_run(r);
    if (r->n_forms == 0) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN, "cannot test relaying: %s",
                        r->survey_reason[0] ? r->survey_reason
                                            : "cannot build the forms");
        goto done;
    }
    for (i = r->n_forms; i > 0; i--)
        if (r->st[i - 1].v == V_RELAYS)
            first_relay = i - 1;
    count(r, &t);
    verdict(r, &t);
    details(r);
    if (first_relay < r->n_forms && r->cfg->deliver) {
        if (ctx->probe->my_email == NULL || ctx->probe->my_email[0] == '\0')
            svc->add_detail(ctx, MXP_STATE_OK, "deliver is on but "
                            "probe.my_email is not set: no test message");
        else
            relay_deliver(r, first_relay);
    }
    perfdata(r, &t, svc->now() - start);

done:
    free(r);
    return MXP_OK;
}

MXP_PLUGIN_DEFINE(.name = "relay",
                  .summary = "open relay: 17 envelope forms, confirmed at "
                             "DATA without completing a message",
                  .config_keys = config_keys, .default_critical = "0",
                  .init = relay_init, .run = relay_run, .free = relay_free);
