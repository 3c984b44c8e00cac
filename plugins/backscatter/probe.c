/*
 * probe.c - the domains to test (-D, else the registered domains of the
 * greeting and PTR names) and the test of each: one transaction per
 * domain, judged, with one new connection after a drop or a 421 and
 * pipelining given up after a timeout; then the test message, if any.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "backscatter.h"

/* Lowercase copy of a DNS name without its trailing dot; 0 when it does
 * not fit. */
static int name_copy(char *out, size_t len, const char *name)
{
    size_t n = strlen(name);

    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= len)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[n] = '\0';
    return 1;
}

/* Adds a domain unless it is there already (names are lowercase). */
static void add_domain(struct bs_run *R, const char *name)
{
    if (R->n_dom == BS_MAX_DOMAINS)
        return;
    for (size_t i = 0; i < R->n_dom; i++)
        if (strcmp(R->dom[i].name, name) == 0)
            return;
    if (name_copy(R->dom[R->n_dom].name, BS_NAME_LEN, name))
        R->n_dom++;
}

/* The registered domain of a host name, added as a domain to test. */
static void add_registered(struct bs_run *R, const char *host)
{
    char low[BS_NAME_LEN];
    const char *reg;

    if (!R->svc->is_host_name(host) || !name_copy(low, sizeof low, host))
        return;
    reg = R->svc->registered_domain(R->ctx, low);
    if (reg != NULL)
        add_domain(R, reg);
}

/* -D, else the registered domains of the greeting name and the PTR names
 * (looked up now: the session is open, the greeting known). */
void bs_find_domains(struct bs_run *R)
{
    const struct mxp_services *svc = R->svc;
    struct mxp_dns_query q;
    char rev[128];
    int rc;

    if (R->t->domain != NULL && R->t->domain[0] != '\0') {
        add_domain(R, R->t->domain);
        return;
    }
    add_registered(R, R->greeting_name);

    memset(&q, 0, sizeof q);
    if (svc->reverse_name(R->t->family, R->t->addr_bytes, NULL, rev,
                          sizeof rev) == 0)
        return;
    q.name = rev;
    q.type = MXP_DNS_PTR;
    rc = svc->dns_batch(R->ctx, &q, 1);
    if (rc != MXP_OK) {
        svc->add_detail(R->ctx, MXP_STATE_OK, "PTR lookup for %s failed: %s",
                        R->t->addr, svc->strerror(rc));
        return;
    }
    if (q.result != MXP_DNS_ANSWER) {
        svc->add_detail(R->ctx, MXP_STATE_OK, "PTR lookup for %s: %s",
                        R->t->addr, svc->dns_result_name(q.result));
        return;
    }
    for (size_t i = 0; i < q.n_rr && i < BS_MAX_PTR; i++)
        if (q.rr[i].text != NULL)
            add_registered(R, q.rr[i].text);
}

/* Every domain from i on that was not tested gets why. */
static void give_up(struct bs_run *R, size_t from, const char *why)
{
    for (size_t i = from; i < R->n_dom; i++)
        if (R->dom[i].verdict == BS_UNTESTED)
            bs_set_verdict(&R->dom[i], BS_INCONCLUSIVE, "%s", why);
}

/* A lost connection or a 421 may be the server's limit on errors per
 * session, or a glitch: worth one new connection. */
int bs_dropped(int rc)
{
    return rc == MXP_ERR_CLOSED || rc == MXP_ERR_IO;
}

/* A session to go on with: the one open, else the one new connection
 * allowed (after a drop, a 421 or replies out of step), plus one when
 * pipelining was given up.  0: none, why in R->lost. */
static int have_session(struct bs_run *R)
{
    if (R->s != NULL)
        return 1;
    if (R->reconnects >= 1 + R->no_pipelining)
        return 0;
    R->reconnects++;
    return bs_session_open(R) == MXP_OK;
}

/* What the replies to MAIL, RCPT, RSET (and the status that ended them,
 * rc) say of domain d.  Returns 1 when d has its verdict (the session may
 * be gone all the same), 0 when d is to be tried again on a new session,
 * -1 when nothing more is to be tried. */
static int judge(struct bs_run *R, struct bs_domain *d,
                 const struct bs_group *g, int rc)
{
    /* Enough for a verdict: RCPT answered, or MAIL refused. */
    int basis =
        g->mail.code != 0 && (g->mail.code / 100 != 2 || g->rcpt.code != 0);
    char why[BS_TEXT_LEN], text[BS_TEXT_LEN + 64];
    const char *err = R->svc->smtp_error(R->s);
    /* Silence after commands sent together: maybe the server, maybe
     * something on the way that drops all but the first line of a
     * packet.  Sent one at a time, they may well be answered. */
    int pipe_timeout = rc == MXP_ERR_TIMEOUT && R->pipelining;
    /* ... so once (no_pipelining is set for good below), when time
     * allows, a new session goes on without pipelining. */
    int fallback = pipe_timeout && !R->no_pipelining &&
                   R->svc->remaining(R->ctx) >= BS_RETRY_TIME;

    if (pipe_timeout)
        R->no_pipelining = 1;
    if (g->mail.code == 421 || g->rcpt.code == 421) {
        /* Closing before RCPT was judged: this domain again. */
        bs_session_drop(R, g->mail.code == 421 ? g->mail.text : g->rcpt.text);
        return 0;
    }
    if (!basis) { /* lost before RCPT was answered */
        bs_session_drop(R, NULL);
        return bs_dropped(rc) || fallback ? 0 : -1;
    }
    text[0] = '\0';
    if (bs_out_of_step(g, why, sizeof why))
        snprintf(text, sizeof text, "replies out of step with commands (%s)",
                 why);
    else if (rc == MXP_ERR_PROTOCOL &&
             strstr(err, "more replies than commands") != NULL)
        snprintf(text, sizeof text, "replies out of step with commands (%s)",
                 err);
    if (text[0] != '\0') {
        /* Never a verdict; and what comes next cannot be matched either:
         * the rest get a new session. */
        bs_set_verdict(d, BS_INCONCLUSIVE, "%s", text);
        bs_session_drop(R, text);
        return 1;
    }
    if (rc != MXP_OK && R->pipelining && !bs_dropped(rc) && !pipe_timeout) {
        /* RSET's reply came garbled: one reply may be missing, which one
         * is unknown. */
        bs_session_drop(R, NULL);
        bs_set_verdict(d, BS_INCONCLUSIVE, "%s", R->lost);
        return -1;
    }
    /* MAIL and RCPT got replies such as they get (bs_out_of_step passed):
     * when only RSET's is missing, the verdict stands, the session not. */
    bs_classify(R, d, &g->mail, &g->rcpt);
    if (rc != MXP_OK)
        bs_session_drop(R, NULL);
    else if (g->rset.code == 421)
        bs_session_drop(R, g->rset.text);
    return rc == MXP_OK || bs_dropped(rc) || fallback ? 1 : -1;
}

void bs_test_domains(struct bs_run *R)
{
    const struct mxp_probe_settings *p = R->ctx->probe;
    const char *from = p != NULL && p->mail_from != NULL ? p->mail_from : "";
    int deliver = R->cfg->deliver && R->can_deliver && p != NULL &&
                  p->my_email != NULL && p->my_email[0] != '\0';
    size_t i = 0;

    while (i < R->n_dom) {
        struct bs_domain *d = &R->dom[i];
        struct bs_group g;
        char to[BS_LOCAL_MAX + 1 + BS_NAME_LEN];
        int rc, next;

        if (R->svc->remaining(R->ctx) < BS_MIN_TIME) {
            give_up(R, i, "out of time");
            return;
        }
        if (!have_session(R)) {
            give_up(R, i, R->lost);
            return;
        }
        snprintf(to, sizeof to, "%s@%s", R->local, d->name);
        rc = bs_transaction(R, from, to, &g);
        next = judge(R, d, &g, rc);
        if (next == 0)
            continue; /* this domain again, on a new connection */
        if (next < 0) {
            give_up(R, i, R->lost);
            return;
        }
        i++;
        if (d->verdict != BS_ACCEPTS || !deliver)
            continue;
        if (R->svc->remaining(R->ctx) < BS_MIN_TIME) {
            bs_note(d, 0, "test message to <%s> not sent: out of time", to);
            continue;
        }
        if (!have_session(R)) {
            bs_note(d, 0, "test message to <%s> not sent: %s", to, R->lost);
            continue;
        }
        if (bs_send_test(R, d, to) != MXP_OK)
            bs_session_drop(R, R->lost);
    }
}
