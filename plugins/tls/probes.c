/*
 * probes.c - asks the tls check's questions, each on a connection of its
 * own, all at once (plugins.tls.connections), without threads.
 *
 * A connection is a small state machine: greeting, EHLO, STARTTLS, then
 * either an OpenSSL handshake of the probe's settings (svc->smtp_tls_start,
 * finished in svc->smtp_wait) or a bare ClientHello (hello.c) for what
 * this OpenSSL can no longer offer.  With implicit TLS the handshake
 * comes first and the greeting after it.  The main connection is the
 * session a sender gets; it stays open until its certificate has been
 * judged.  A server that turns a connection away with a 4xx greeting
 * (too many at once) gets that probe again later, one connection fewer
 * at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "probes.h"

static int is_raw(enum tls_probe p)
{
    return p >= TP_SSL3 && p <= TP_ANON;
}

static void enqueue(struct loop *l, struct conn *c)
{
    c->ph = PH_QUEUED;
    l->queue[(l->q_head + l->q_len++) %
             (sizeof(l->queue) / sizeof(l->queue[0]))] = (size_t)(c - l->c);
}

/* With implicit TLS a bare ClientHello goes out as the connect is made,
 * which the core waits for: the raw probes start once the main
 * connection shows the server is there, so that a dead one costs one
 * connect timeout, not one per probe. */
static void release_held(struct loop *l)
{
    for (size_t i = 0; i < TP_COUNT; i++)
        if (l->c[i].ph == PH_HELD)
            enqueue(l, &l->c[i]);
}

/* The held raw probes, not to be asked: why, in their words. */
static void drop_held(struct loop *l, const char *why)
{
    for (size_t i = 0; i < TP_COUNT; i++)
        if (l->c[i].ph == PH_HELD) {
            l->c[i].ph = PH_DONE;
            l->r->sv.r[i].outcome = TO_UNKNOWN;
            snprintf(l->r->sv.r[i].words, sizeof(l->r->sv.r[i].words),
                     "not asked: %s", why);
        }
}

/* "NNN text" of a reply's first line, cut to fit. */
void tls_reply_words(const struct mxp_smtp_reply *rp, char *out, size_t len)
{
    snprintf(out, len, "%d%s%s", rp->code, rp->n_lines > 0 ? " " : "",
             rp->n_lines > 0 ? rp->lines[0] : "");
}

void tls_probe_words(struct tls_probe_result *res, enum tls_outcome o,
                     const char *fmt, ...)
{
    va_list ap;

    res->outcome = o;
    va_start(ap, fmt);
    vsnprintf(res->words, sizeof(res->words), fmt, ap);
    va_end(ap);
}

/* How probe p offers its handshake. */
void tls_probe_options(const struct tls_run *r, enum tls_probe p,
                       struct mxp_tls_options *o)
{
    const char *host = r->ctx->target->host;

    memset(o, 0, sizeof(*o));
    o->sni = host != NULL && r->svc->is_host_name(host) ? host : NULL;
    o->ca_file = r->cfg->ca_file;
    switch (p) {
    case TP_MAIN:
        break; /* what a current sender offers */
    case TP_TLS10:
    case TP_TLS11:
    case TP_TLS12:
        /* The question is the protocol alone: anything else this
         * OpenSSL has is offered, at security level 0, so that a small
         * key or SHA-1 cannot pass for a refused protocol. */
        o->min_version = o->max_version = p == TP_TLS10   ? MXP_TLS_1_0
                                          : p == TP_TLS11 ? MXP_TLS_1_1
                                                          : MXP_TLS_1_2;
        o->ciphers = "ALL:COMPLEMENTOFALL";
        o->legacy = 1;
        break;
    case TP_DHE:
        o->max_version = MXP_TLS_1_2;
        o->ciphers = "kDHE:!aNULL:!eNULL";
        o->legacy = 1;
        break;
    default:
        /* The injection test wants any handshake at all. */
        o->ciphers = "ALL:COMPLEMENTOFALL";
        o->legacy = 1;
        break;
    }
}

void tls_probe_finish(struct loop *l, struct conn *c, int send_quit)
{
    if (c->s != NULL && c->s != l->r->main_session)
        l->r->svc->smtp_close(c->s, send_quit);
    c->s = NULL;
    /* A connection waiting out the injection test is held, not active. */
    if (c->ph != PH_INJECT_WAIT)
        l->active--;
    else
        l->held--;
    c->ph = PH_DONE;
}

/* Main failed before TLS: why, for the verdict. */
static void main_failed(struct loop *l, const char *fmt, ...) MXP_PRINTF(2, 3);
static void main_failed(struct loop *l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(l->r->sv.fail, sizeof(l->r->sv.fail), fmt, ap);
    va_end(ap);
}

/* A probe's connection failed before its question was asked. */
static void probe_lost(struct loop *l, struct conn *c, const char *why)
{
    struct tls_survey *sv = &l->r->sv;

    if (c->p == TP_MAIN) {
        main_failed(l, "%s", why);
    } else if (c->p == TP_INJECT) {
        sv->inject = TI_UNKNOWN;
        snprintf(sv->inject_words, sizeof(sv->inject_words), "%s", why);
    } else {
        tls_probe_words(&sv->r[c->p], TO_UNKNOWN, "%s", why);
    }
}

/* A handshake that failed, at its start or on the way: what it tells. */
static void handshake_failed(struct loop *l, struct conn *c, int rc)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_survey *sv = &l->r->sv;
    const char *why = svc->smtp_error(c->s);

    /* A server that is there but failed the handshake may still take
     * what the raw probes offer (an SSL 3.0-only server); one that never
     * answered it would leave them unanswered too, a timeout each. */
    if (c->p == TP_MAIN && rc == MXP_ERR_TIMEOUT)
        drop_held(l, why);
    else if (c->p == TP_MAIN && strncmp(why, "cannot connect", 14) != 0)
        release_held(l);
    /* A server that will not speak a protocol says so with an alert or
     * by hanging up; silence, or a start refused before anything was
     * sent, tells nothing. */
    int tells = rc != MXP_ERR_TIMEOUT && rc != MXP_ERR_INVALID &&
                rc != MXP_ERR_UNSUPPORTED && rc != MXP_ERR_NOMEM;

    if (c->p == TP_MAIN) {
        sv->handshake_rc = rc;
        snprintf(sv->handshake_error, TLS_TEXT, "%s", why);
    } else if (c->p == TP_INJECT) {
        /* Bytes right behind the 220 mean it answered the NOOP in clear;
         * no handshake at all smuggles nothing into one. */
        sv->inject =
            !tells ? TI_UNKNOWN
            : rc == MXP_ERR_PROTOCOL &&
                    strstr(why, "data before the TLS handshake") != NULL
                ? TI_CLEAR
                : TI_FAILED;
        snprintf(sv->inject_words, TLS_TEXT, "%s", why);
    } else {
        tls_probe_words(&sv->r[c->p], tells ? TO_FAILED : TO_UNKNOWN, "%s",
                        why);
    }
    tls_probe_finish(l, c, 0);
}

/* Starts probe c's OpenSSL handshake. */
static void start_handshake(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct mxp_tls_options o;
    int rc;

    tls_probe_options(l->r, c->p, &o);
    rc = svc->smtp_tls_start(c->s, &o);
    if (rc == MXP_OK)
        c->ph = PH_HANDSHAKE;
    else
        handshake_failed(l, c, rc);
}

/* TLS may start now (a 220 to STARTTLS, or connected for implicit). */
static void tls_point(struct loop *l, struct conn *c)
{
    if (is_raw(c->p))
        tls_hello_send(l, c);
    else
        start_handshake(l, c);
}

static int start_conn(struct loop *l, struct conn *c)
{
    struct tls_run *r = l->r;
    const struct mxp_target *t = r->ctx->target;
    int rc = r->svc->smtp_open_start(r->ctx, t->addr, t->port, &c->s);

    l->active++;
    if (c->s == NULL) {
        probe_lost(l, c, r->svc->strerror(rc));
        c->ph = PH_DONE;
        l->active--;
        return 0;
    }
    if (c->p == TP_MAIN)
        r->main_session = c->s;
    c->ph = PH_GREETING;
    if (rc != MXP_OK) {
        /* Refused at once (the session is broken and says why). */
        probe_lost(l, c, r->svc->smtp_error(c->s));
        tls_probe_finish(l, c, 0);
        return 0;
    }
    if (r->sv.implicit)
        tls_point(l, c);
    return 1;
}

/* EHLO with our name, its reply read in the loop. */
static int send_ehlo(struct loop *l, struct conn *c)
{
    char line[300];

    snprintf(line, sizeof(line), "EHLO %s", l->r->ctx->probe->helo_name);
    if (l->r->svc->smtp_send(c->s, line) == MXP_OK)
        return 1;
    probe_lost(l, c, l->r->svc->smtp_error(c->s));
    tls_probe_finish(l, c, 0);
    return 0;
}

/* The main connection was turned away too: the server is not taking
 * anyone now, and asking again only costs the pauses. */
static int main_turned_away(const struct loop *l)
{
    return l->r->sv.connected && l->r->sv.greet_code != 220;
}

/* The greeting (in clear, or over TLS when implicit). */
static void on_greeting(struct loop *l, struct conn *c,
                        const struct mxp_smtp_reply *rp)
{
    struct tls_run *r = l->r;
    struct tls_survey *sv = &r->sv;
    char words[TLS_TEXT];

    tls_reply_words(rp, words, sizeof(words));
    if (c->p == TP_MAIN) {
        sv->connected = 1;
        sv->greet_code = rp->code;
        snprintf(sv->greeting, sizeof(sv->greeting), "%s", words);
        if (rp->n_lines > 0)
            sscanf(rp->lines[0], "%255s", sv->greet_name);
    }
    if (rp->code != 220) {
        if (c->p != TP_MAIN && rp->code / 100 == 4 && c->tries < MAX_TRIES &&
            !main_turned_away(l) &&
            l->q_len < sizeof(l->queue) / sizeof(l->queue[0])) {
            /* Turned away for now (a limit of connections per client):
             * again after a pause, which lets the server see the ones
             * that just closed as gone, with fewer at once.  The main
             * session stays open, so it counts among the open ones. */
            char why[TLS_TEXT + 48];
            size_t open;

            /* What stands should the run end before it is asked again. */
            snprintf(why, sizeof(why),
                     "turned away: %s; no time left to ask again", words);
            probe_lost(l, c, why);
            tls_probe_finish(l, c, 0);
            open = l->active + l->held;
            c->tries++;
            c->not_before = r->svc->now() + RETRY_PAUSE * c->tries;
            /* No connection at all for a pause: one right after a 421
             * meets the limit still full and burns a try. */
            l->calm_until = r->svc->now() + RETRY_PAUSE;
            enqueue(l, c);
            if (l->cap > 1)
                l->cap = open > 1 ? open - 1 : 1;
            return;
        }
        if (c->p == TP_MAIN)
            main_failed(l, "greeting %s", words);
        else
            probe_lost(l, c, words);
        tls_probe_finish(l, c, 0);
        return;
    }
    if (send_ehlo(l, c))
        c->ph = PH_EHLO;
}

/* 1 when the EHLO keyword line "AUTH PLAIN LOGIN CRAM-MD5" (or the old
 * form "AUTH=PLAIN LOGIN") offers mechanism mech, as a whole word. */
static int offers_mechanism(const char *line, const char *mech)
{
    size_t n = strlen(mech);
    const char *p = line + 5; /* past "AUTH " or "AUTH=" */

    while (*p != '\0') {
        size_t w = strcspn(p, " ");

        if (w == n && strncasecmp(p, mech, n) == 0)
            return 1;
        p += w;
        p += strspn(p, " ");
    }
    return 0;
}

/* The EHLO reply in clear: is STARTTLS offered, and AUTH before it? */
static void on_ehlo(struct loop *l, struct conn *c,
                    const struct mxp_smtp_reply *rp)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_survey *sv = &l->r->sv;
    const char *const *ext;
    size_t n = svc->smtp_extensions(c->s, &ext);
    int offered = svc->smtp_has_extension(c->s, "STARTTLS");
    char words[TLS_TEXT];

    tls_reply_words(rp, words, sizeof(words));
    if (c->p == TP_MAIN) {
        int plain = 0, login = 0;

        sv->ehlo_code = rp->code;
        sv->starttls_offered = rp->code / 100 == 2 && offered;
        /* The mechanisms that send a password as it is. */
        for (size_t i = 0; i < n; i++)
            if (strncasecmp(ext[i], "AUTH", 4) == 0 &&
                (ext[i][4] == ' ' || ext[i][4] == '=')) {
                plain |= offers_mechanism(ext[i], "PLAIN");
                login |= offers_mechanism(ext[i], "LOGIN");
            }
        snprintf(sv->auth_clear, sizeof(sv->auth_clear), "%s%s%s",
                 plain ? "PLAIN" : "", plain && login ? " " : "",
                 login ? "LOGIN" : "");
    }
    if (rp->code / 100 != 2 || !offered) {
        /* The main connection tells the verdict; the others stop. */
        if (c->p != TP_MAIN)
            tls_probe_words(&sv->r[c->p], TO_NOT_RUN, "STARTTLS not offered");
        if (c->p == TP_INJECT)
            sv->inject = TI_NOT_RUN;
        tls_probe_finish(l, c, 0);
        return;
    }
    if (svc->smtp_send(c->s, "STARTTLS") != MXP_OK ||
        (c->p == TP_INJECT && svc->smtp_send(c->s, "NOOP") != MXP_OK)) {
        probe_lost(l, c, svc->smtp_error(c->s));
        tls_probe_finish(l, c, 0);
        return;
    }
    c->ph = PH_STARTTLS;
}

static void on_starttls(struct loop *l, struct conn *c,
                        const struct mxp_smtp_reply *rp)
{
    struct tls_survey *sv = &l->r->sv;
    char words[TLS_TEXT];

    tls_reply_words(rp, words, sizeof(words));
    if (c->p == TP_MAIN) {
        sv->starttls_code = rp->code;
        snprintf(sv->starttls_reply, sizeof(sv->starttls_reply), "%s", words);
    }
    if (rp->code == 220) {
        tls_point(l, c);
        return;
    }
    if (c->p == TP_INJECT) {
        /* Refusing STARTTLS with a command behind it is the cure. */
        sv->inject = TI_REFUSED;
        snprintf(sv->inject_words, sizeof(sv->inject_words), "%s", words);
    } else if (c->p != TP_MAIN) {
        tls_probe_words(&sv->r[c->p], TO_UNKNOWN, "STARTTLS refused: %s",
                        words);
    }
    tls_probe_finish(l, c, 0);
}

static void on_handshake(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_survey *sv = &l->r->sv;
    struct tls_probe_result *res = &sv->r[c->p];
    const struct mxp_tls_info *info = NULL;
    int rc = svc->smtp_tls_info(c->s, &info);

    if (rc != MXP_OK || info == NULL) {
        handshake_failed(l, c, rc != MXP_OK ? rc : MXP_ERR_PROTOCOL);
        return;
    }
    if (c->p == TP_MAIN) {
        sv->handshake_rc = MXP_OK;
        sv->info = info;
        release_held(l);
        c->ph = sv->implicit ? PH_TLS_GREETING : PH_AFTER_EHLO;
        if (!sv->implicit && !send_ehlo(l, c))
            return;
        return;
    }
    if (c->p == TP_INJECT) {
        tls_inject_ask(l, c);
        return;
    }
    res->outcome = TO_ACCEPTED;
    res->version = info->version;
    res->cipher = info->cipher_id;
    snprintf(res->cipher_name, sizeof(res->cipher_name), "%s", info->cipher);
    snprintf(res->kx, sizeof(res->kx), "%s", info->kx);
    res->kx_bits = info->kx_bits;
    tls_probe_finish(l, c, 0);
}

/* The main connection is through; kept open for its tls_info.  After
 * its QUIT the server has let go; else it still holds a place at the
 * server, which counts against the cap. */
static void main_done(struct loop *l, struct conn *c)
{
    c->ph = PH_DONE;
    c->s = NULL;
    l->active--;
    if (!l->r->main_quit)
        l->held++;
}

/* The EHLO over TLS: what the server offers once the link is private. */
static void on_after_ehlo(struct loop *l, struct conn *c,
                          const struct mxp_smtp_reply *rp)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_survey *sv = &l->r->sv;
    const char *const *ext;
    size_t n = svc->smtp_extensions(c->s, &ext);

    if (rp->code / 100 != 2) {
        tls_reply_words(rp, sv->after_fail, sizeof(sv->after_fail));
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t used = strlen(sv->after_ext);

            snprintf(sv->after_ext + used, sizeof(sv->after_ext) - used,
                     "%s%.*s", used > 0 ? " " : "", (int)strcspn(ext[i], " "),
                     ext[i]);
        }
    }
    /* Goodbye now, its reply awaited beside the other probes; the
     * session stays open afterwards: the certificate chain lives in it. */
    if (svc->smtp_send(c->s, "QUIT") == MXP_OK) {
        l->r->main_quit = 1;
        c->ph = PH_QUIT;
        return;
    }
    main_done(l, c);
}

/* The reply c's session has ready, or its handshake's end. */
static void step(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct mxp_smtp_reply rp;
    int rc;

    if (c->ph == PH_HANDSHAKE) {
        on_handshake(l, c);
        return;
    }
    if (c->ph == PH_HELLO) {
        tls_hello_done(l, c);
        return;
    }
    rc = svc->smtp_read_reply(c->s, &rp);
    if (c->ph == PH_QUIT) {
        main_done(l, c); /* whatever it said: we are gone */
        return;
    }
    if (rc != MXP_OK) {
        if (c->p == TP_MAIN && c->ph == PH_AFTER_EHLO) {
            snprintf(l->r->sv.after_fail, TLS_TEXT, "%s",
                     svc->smtp_error(c->s));
            main_done(l, c);
            return;
        }
        if (c->p == TP_MAIN && c->ph == PH_TLS_GREETING)
            snprintf(l->r->sv.after_fail, TLS_TEXT, "%s",
                     svc->smtp_error(c->s));
        else
            probe_lost(l, c, svc->smtp_error(c->s));
        tls_probe_finish(l, c, 0);
        return;
    }
    switch (c->ph) {
    case PH_GREETING:
        on_greeting(l, c, &rp);
        break;
    case PH_TLS_GREETING:
        on_greeting(l, c, &rp);
        if (c->ph == PH_EHLO)
            c->ph = PH_AFTER_EHLO;
        break;
    case PH_EHLO:
        on_ehlo(l, c, &rp);
        break;
    case PH_STARTTLS:
        on_starttls(l, c, &rp);
        break;
    case PH_AFTER_EHLO:
        on_after_ehlo(l, c, &rp);
        break;
    case PH_INJECT_HELP:
        tls_inject_help(l, c, &rp);
        break;
    default:
        break;
    }
}

static double start_ready(struct loop *l)
{
    const struct mxp_services *svc = l->r->svc;
    const size_t qcap = sizeof(l->queue) / sizeof(l->queue[0]);
    size_t n = l->q_len;
    double next = 0, calm = l->calm_until - svc->now();

    if (calm > 0 && l->q_len > 0)
        return calm;
    while (n-- > 0 && (l->active == 0 || l->active + l->held < l->cap) &&
           svc->remaining(l->r->ctx) > MIN_LEFT) {
        struct conn *c = &l->c[l->queue[l->q_head]];
        double wait = c->not_before - svc->now();

        l->q_head = (l->q_head + 1) % qcap;
        l->q_len--;
        if (c->tries > 0 && main_turned_away(l)) {
            c->ph = PH_DONE; /* its 421 stands */
            continue;
        }
        if (wait > 0) {
            enqueue(l, c); /* to the back, its pause not over */
            if (next == 0 || wait < next)
                next = wait;
            continue;
        }
        start_conn(l, c);
    }
    return next;
}

/* Nothing to wait on but a pause: sleep it out, within the deadline;
 * the probes whose pause that was may go then. */
static void pause_for(struct loop *l, double secs)
{
    const struct mxp_services *svc = l->r->svc;
    double left = svc->remaining(l->r->ctx) - MIN_LEFT, t0 = svc->now();
    struct timespec ts;

    if (secs > left)
        secs = left;
    if (secs <= 0)
        return;
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
    if (l->calm_until - t0 <= secs)
        l->calm_until = 0;
    for (size_t i = 0; i < TP_COUNT; i++)
        if (l->c[i].ph == PH_QUEUED && l->c[i].not_before - t0 <= secs)
            l->c[i].not_before = 0;
}

static int waiting(enum phase ph)
{
    return ph >= PH_GREETING && ph <= PH_INJECT_HELP;
}

void tls_probe_all(struct tls_run *r)
{
    const struct mxp_services *svc = r->svc;
    struct loop l;
    double t0 = svc->now();
    size_t i;

    memset(&l, 0, sizeof(l));
    l.r = r;
    l.cap = (size_t)r->cfg->connections;
    for (i = 0; i < TP_COUNT; i++) {
        if (r->sv.implicit && i == TP_INJECT)
            continue; /* nothing is sent in clear to smuggle */
        l.c[i].p = (enum tls_probe)i;
        if (r->sv.implicit && is_raw(l.c[i].p))
            l.c[i].ph = PH_HELD;
        else
            l.queue[l.q_len++] = i;
    }
    for (;;) {
        struct mxp_smtp *ss[TP_COUNT];
        size_t ready, n_wait = 0;
        double pause = start_ready(&l);
        int rc;

        if (r->names != NULL)
            tls_names_poll(r->ctx, r->names);
        if (r->dane != NULL)
            tls_dane_poll(r->ctx, r->dane, r->names);
        for (i = 0; i < TP_COUNT; i++) {
            ss[i] = waiting(l.c[i].ph) ? l.c[i].s : NULL;
            n_wait += ss[i] != NULL;
        }
        if (n_wait == 0) {
            if (l.q_len == 0 || svc->remaining(r->ctx) <= MIN_LEFT)
                break;
            pause_for(&l, pause);
            continue;
        }
        /* A pause to wait out wakes the wait up when it is over. */
        rc = svc->smtp_wait_until(ss, TP_COUNT, &ready,
                                  pause > 0 ? svc->now() + pause : 0);
        if (rc == MXP_ERR_TIMEOUT && pause > 0)
            continue;
        if (rc != MXP_OK || ready >= TP_COUNT) {
            for (i = 0; i < TP_COUNT; i++)
                if (ss[i] != NULL) {
                    probe_lost(&l, &l.c[i], svc->strerror(rc));
                    tls_probe_finish(&l, &l.c[i], 0);
                }
            break;
        }
        step(&l, &l.c[ready]);
    }
    /* Questions never asked for want of time tell nothing. */
    for (i = 0; i < TP_COUNT; i++)
        if (l.c[i].ph == PH_QUEUED && l.c[i].p == (enum tls_probe)i &&
            l.c[i].tries == 0 && !(r->sv.implicit && i == TP_INJECT))
            probe_lost(&l, &l.c[i], "not asked: the run's time ran out");
    if (l.c[TP_INJECT].ph == PH_INJECT_WAIT)
        tls_inject_verdict(&l, &l.c[TP_INJECT]);
    r->sv.elapsed = svc->now() - t0;
}

void tls_run_end(struct tls_run *r)
{
    /* QUIT went out in the loop when the session got that far. */
    if (r->main_session != NULL)
        r->svc->smtp_close(r->main_session, !r->main_quit);
    r->main_session = NULL;
}
