/*
 * probe.c - the domains to test (-D, else the registered domains of the
 * greeting, EHLO and PTR names, the PTR looked up alongside the session,
 * guessed as zone guesses them) and
 * the test of each: one transaction per
 * domain, judged, with one new connection after a drop or a 421 and
 * pipelining given up after a timeout; then the test message, if any.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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

/* The registered domain of a host name, when the DNS may know it, into
 * out (lowercase); 0 for special-use names (the core's rule, as zone's)
 * and public suffixes. */
static int domain_of(struct bs_run *R, const char *host, char *out, size_t len)
{
    char low[BS_NAME_LEN];
    const char *reg, *last;

    if (!R->svc->is_host_name(host) || R->svc->name_special(host) ||
        !name_copy(low, sizeof low, host))
        return 0;
    /* a last label of digits only is an address ("127.0.0.28 ESMTP"),
     * not a domain (RFC 3696 2; zone's rule too) */
    last = strrchr(low, '.');
    last = last != NULL ? last + 1 : low;
    if (strspn(last, "0123456789") == strlen(last))
        return 0;
    reg = R->svc->registered_domain(R->ctx, low);
    return reg != NULL && reg[0] != '\0' && name_copy(out, len, reg);
}

/* The registered domain of the what ("greeting", "EHLO", "PTR") name
 * host, added as a domain to test; a special-use name, never in the DNS
 * ("localhost.localdomain" of a default install), is named instead. */
static void add_registered(struct bs_run *R, const char *what, const char *host)
{
    char dom[BS_NAME_LEN];

    if (R->svc->is_host_name(host) && R->svc->name_special(host))
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "the %s name %s is a special-use or private "
                           "name: not tested",
                           what, host);
    else if (domain_of(R, host, dom, sizeof dom))
        add_domain(R, dom);
}

/* The PTR goes out before connecting (bs_dns_start), the PTR names'
 * addresses as soon as it is read (bs_dns_step, after the greeting), so
 * that the DNS costs nothing beyond the session. */
void bs_dns_start(struct bs_run *R)
{
    if (R->svc->reverse_name(R->t->family, R->t->addr_bytes, NULL, R->rev,
                             sizeof R->rev) == 0)
        return;
    R->ptr_q.name = R->rev;
    R->ptr_q.type = MXP_DNS_PTR;
    R->ptr_rc = R->svc->dns_start(R->ctx, &R->ptr_q, 1, &R->ptr_b);
    R->ptr_started = R->ptr_rc == MXP_OK;
}

/* Reads the PTR (waiting when wait) and sends A/AAAA of its names. */
static void ptr_read(struct bs_run *R, int wait)
{
    const struct mxp_services *svc = R->svc;
    const struct mxp_dns_query *q = &R->ptr_q;
    int rc;

    if (!R->ptr_started || R->ptr_read)
        return;
    if (!wait && !svc->dns_done(R->ctx, R->ptr_b))
        return;
    R->ptr_read = 1;
    rc = svc->dns_collect(R->ctx, R->ptr_b);
    R->ptr_b = NULL;
    if (rc != MXP_OK) {
        svc->add_detail(R->ctx, MXP_STATE_OK, "PTR lookup for %s failed: %s",
                        R->t->addr, svc->strerror(rc));
        return;
    }
    if (q->result != MXP_DNS_ANSWER) {
        svc->add_detail(R->ctx, MXP_STATE_OK, "PTR lookup for %s: %s",
                        R->t->addr, svc->dns_result_name(q->result));
        return;
    }
    for (size_t i = 0; i < q->n_rr && R->n_ptr < BS_MAX_PTR; i++)
        if (q->rr[i].text != NULL && svc->is_host_name(q->rr[i].text) &&
            name_copy(R->ptr[R->n_ptr], BS_NAME_LEN, q->rr[i].text))
            R->n_ptr++;
    for (size_t i = 0; i < R->n_ptr; i++) {
        R->fwd_q[2 * i] = (struct mxp_dns_query){
            .name = R->ptr[i], .type = MXP_DNS_A, .result = MXP_DNS_FAILED};
        R->fwd_q[2 * i + 1] = (struct mxp_dns_query){
            .name = R->ptr[i], .type = MXP_DNS_AAAA, .result = MXP_DNS_FAILED};
    }
    if (R->n_ptr > 0 &&
        svc->dns_start(R->ctx, R->fwd_q, 2 * R->n_ptr, &R->fwd_b) == MXP_OK)
        R->fwd_started = 1;
}

void bs_dns_step(struct bs_run *R)
{
    ptr_read(R, 0);
}

/* Why the domain of PTR name ptr (index i) is not tested: the name is
 * generic (the core's rule, as banner's) or not forward-confirmed, and
 * the banner names another registered domain, banner_dom ("" when it
 * names none).  Into why; 0 when it is tested. */
static int ptr_doubtful(struct bs_run *R, size_t i, const char *banner_dom,
                        char *why, size_t len)
{
    const struct mxp_dns_query *fq =
        &R->fwd_q[2 * i + (R->t->family == AF_INET ? 0 : 1)];
    char dom[BS_NAME_LEN], generic[96];

    if (banner_dom[0] == '\0' || !domain_of(R, R->ptr[i], dom, sizeof dom) ||
        strcmp(dom, banner_dom) == 0)
        return 0;
    if (R->svc->name_generic(R->ptr[i], R->t->family, R->t->addr_bytes, generic,
                             sizeof generic)) {
        snprintf(why, len, "looks generic (%s)", generic);
        return 1;
    }
    /* only a definite "no": a failed lookup proves nothing */
    if (R->fwd_rc == MXP_OK &&
        (fq->result == MXP_DNS_ANSWER || fq->result == MXP_DNS_NODATA ||
         fq->result == MXP_DNS_NXDOMAIN) &&
        !R->svc->dns_has_addr(fq, R->t->family, R->t->addr_bytes)) {
        snprintf(why, len, "does not resolve back to %s", R->t->addr);
        return 1;
    }
    return 0;
}

/* -D, else the registered domains of the greeting and EHLO names and of
 * the PTR names (the session is open, the banner known), as zone guesses
 * them.  A PTR name that is generic or not forward-confirmed names the
 * access provider's domain when the banner names another (the greeting,
 * else the EHLO reply when the greeting names none or a special-use
 * name): that one is not tested (it is named). */
void bs_find_domains(struct bs_run *R)
{
    const struct mxp_services *svc = R->svc;
    char banner_dom[BS_NAME_LEN], why[BS_MAX_PTR][160];
    const char *banner_what = "greeting";
    int doubtful[BS_MAX_PTR] = {0};

    if (R->t->domain != NULL && R->t->domain[0] != '\0') {
        add_domain(R, R->t->domain);
        return;
    }
    if (!domain_of(R, R->greeting_name, banner_dom, sizeof banner_dom)) {
        banner_what = "EHLO"; /* no greeting name, or a special-use one */
        if (!domain_of(R, R->ehlo_name, banner_dom, sizeof banner_dom))
            banner_dom[0] = '\0';
    }
    add_registered(R, "greeting", R->greeting_name);
    /* EHLO usually repeats the greeting's name: said once. */
    if (strcasecmp(R->ehlo_name, R->greeting_name) != 0)
        add_registered(R, "EHLO", R->ehlo_name);

    ptr_read(R, 1);
    if (R->fwd_started) {
        R->fwd_rc = svc->dns_collect(R->ctx, R->fwd_b);
        R->fwd_b = NULL;
    } else {
        R->fwd_rc = MXP_ERR_DNS;
    }
    for (size_t i = 0; i < R->n_ptr; i++) {
        doubtful[i] = ptr_doubtful(R, i, banner_dom, why[i], sizeof why[i]);
        if (!doubtful[i])
            add_registered(R, "PTR", R->ptr[i]);
    }
    for (size_t i = 0; i < R->n_ptr; i++) {
        char dom[BS_NAME_LEN];
        int tested = 0;

        /* said only when true: another PTR name (confirmed, not generic)
         * or the EHLO name may have brought the same domain in */
        if (!doubtful[i] || !domain_of(R, R->ptr[i], dom, sizeof dom))
            continue;
        for (size_t k = 0; k < R->n_dom; k++)
            tested |= strcmp(R->dom[k].name, dom) == 0;
        if (!tested)
            svc->add_detail(R->ctx, MXP_STATE_OK,
                            "PTR %s %s: its domain %s is taken for the access "
                            "provider's, not tested (the %s names %s)",
                            R->ptr[i], why[i], dom, banner_what, banner_dom);
    }
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
