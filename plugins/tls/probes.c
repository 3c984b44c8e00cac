/*
 * probes.c - asks the tls check's questions, each on a connection of its
 * own, all at once (plugins.tls.connections), without threads.
 *
 * A connection is a small state machine: greeting, EHLO, STARTTLS, then
 * either an OpenSSL handshake of the probe's settings (svc->smtp_tls_start,
 * finished in svc->smtp_wait) or a bare ClientHello (svc->tls_hello) for
 * what this OpenSSL can no longer offer.  With implicit TLS the handshake
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

#include "tls.h"

#define MIN_LEFT 0.3      /* seconds: no new connection with less left */
#define INJECT_WAIT 2.0 /* seconds at most for a second reply */
#define MAX_TRIES 4     /* greetings a probe may get turned away with */
#define RETRY_PAUSE 0.25 /* seconds, times the tries, before another go */

enum phase {
    PH_QUEUED = 0,
    PH_HELD,         /* implicit TLS: a raw probe waits for main's connect */
    PH_GREETING,
    PH_EHLO,
    PH_STARTTLS,
    PH_HANDSHAKE,
    PH_HELLO,        /* a bare ClientHello is out */
    PH_TLS_GREETING, /* implicit TLS: the greeting after the handshake */
    PH_AFTER_EHLO,   /* EHLO over TLS */
    PH_QUIT,         /* main: QUIT, its reply awaited with the others */
    PH_INJECT_HELP,  /* injection test: our HELP over TLS, answered */
    PH_INJECT_WAIT,  /* HELP got a 250: does a second reply follow? */
    PH_DONE,
};

struct conn {
    enum tls_probe p;
    struct mxp_smtp *s;
    enum phase ph;
    int tries;            /* turned away with a 4xx greeting so often */
    double not_before;    /* turned away: not again before this time */
    char first[TLS_TEXT]; /* injection test: the first reply over TLS */
};

struct loop {
    struct tls_run *r;
    struct conn c[TP_COUNT];
    size_t n;        /* probes asked */
    size_t queue[2 * TP_COUNT], q_head, q_len;
    size_t active;   /* connections open */
    size_t held;     /* open but not waited on (main, the injection wait):
                        they hold a place of the server's limit too */
    size_t cap;      /* at once */
    double calm_until; /* turned away: no new connection before this */
};

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
static void reply_words(const struct mxp_smtp_reply *rp, char *out,
                        size_t len)
{
    snprintf(out, len, "%d%s%s", rp->code, rp->n_lines > 0 ? " " : "",
             rp->n_lines > 0 ? rp->lines[0] : "");
}

static void set_words(struct tls_probe_result *res, enum tls_outcome o,
                      const char *fmt, ...) MXP_PRINTF(3, 4);
static void set_words(struct tls_probe_result *res, enum tls_outcome o,
                      const char *fmt, ...)
{
    va_list ap;

    res->outcome = o;
    va_start(ap, fmt);
    vsnprintf(res->words, sizeof(res->words), fmt, ap);
    va_end(ap);
}

/* How probe p offers its handshake. */
static void options_of(const struct tls_run *r, enum tls_probe p,
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

static void finish(struct loop *l, struct conn *c, int send_quit)
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
static void main_failed(struct loop *l, const char *fmt, ...)
    MXP_PRINTF(2, 3);
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
        set_words(&sv->r[c->p], TO_UNKNOWN, "%s", why);
    }
}

/* The raw ClientHello of probe c, at the point TLS would start; its
 * answer is read when smtp_wait says it is in (hello_done). */
static void raw_hello(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct mxp_tls_options o;
    const uint16_t *suites;
    size_t n = tls_suites_of(c->p, &suites);

    options_of(l->r, c->p, &o);
    if (svc->tls_hello_start(c->s, c->p == TP_SSL3 ? MXP_SSL_3_0 : MXP_TLS_1_2,
                             suites, n, o.sni) == MXP_OK) {
        c->ph = PH_HELLO;
        return;
    }
    set_words(&l->r->sv.r[c->p], TO_UNKNOWN, "%s", svc->smtp_error(c->s));
    finish(l, c, 0);
}

/* Whether suite id is among those probe p's ClientHello offers. */
static int offered(enum tls_probe p, uint16_t id)
{
    const uint16_t *suites;
    size_t n = tls_suites_of(p, &suites);

    for (size_t i = 0; i < n; i++)
        if (suites[i] == id)
            return 1;
    return 0;
}

static void hello_done(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_probe_result *res = &l->r->sv.r[c->p];
    struct mxp_tls_hello h;
    int rc = svc->tls_hello_result(c->s, &h);

    if (rc != MXP_OK)
        set_words(res, TO_UNKNOWN, "%s",
                  h.words[0] != '\0' ? h.words : svc->strerror(rc));
    else if (!h.accepted)
        set_words(res, TO_REFUSED, "%s", h.words);
    else if (c->p == TP_SSL3 && h.version != MXP_SSL_3_0)
        /* It answered with a later protocol: SSL 3.0 itself refused. */
        set_words(res, TO_REFUSED, "answered with a later protocol");
    else if (!offered(c->p, h.cipher))
        /* A suite we never offered is no sign that it takes the class:
         * a broken server or a box in the way (RFC 5246 7.4.1.3). */
        set_words(res, TO_UNKNOWN,
                  "it chose suite 0x%04x, which was not offered", h.cipher);
    else {
        const char *name = tls_suite_name(h.cipher);

        res->outcome = TO_ACCEPTED;
        res->version = h.version;
        res->cipher = h.cipher;
        if (name[0] != '\0')
            snprintf(res->cipher_name, sizeof(res->cipher_name), "%s", name);
        else
            snprintf(res->cipher_name, sizeof(res->cipher_name),
                     "suite 0x%04x", h.cipher);
        snprintf(res->words, sizeof(res->words), "%s", h.words);
    }
    finish(l, c, 0);
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
        sv->inject = !tells                    ? TI_UNKNOWN
                     : rc == MXP_ERR_PROTOCOL &&
                             strstr(why, "data before the TLS handshake") != NULL
                         ? TI_CLEAR
                         : TI_FAILED;
        snprintf(sv->inject_words, TLS_TEXT, "%s", why);
    } else {
        set_words(&sv->r[c->p], tells ? TO_FAILED : TO_UNKNOWN, "%s", why);
    }
    finish(l, c, 0);
}

/* Starts probe c's OpenSSL handshake. */
static void start_handshake(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct mxp_tls_options o;
    int rc;

    options_of(l->r, c->p, &o);
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
        raw_hello(l, c);
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
        finish(l, c, 0);
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
    finish(l, c, 0);
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

    reply_words(rp, words, sizeof(words));
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
            finish(l, c, 0);
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
        finish(l, c, 0);
        return;
    }
    if (send_ehlo(l, c))
        c->ph = PH_EHLO;
}

/* The AUTH mechanisms that send a password as it is (PLAIN, LOGIN), of
 * an EHLO keyword line "AUTH PLAIN LOGIN CRAM-MD5", into out. */
static void clear_mechanisms(const char *line, char *out, size_t len)
{
    char copy[TLS_TEXT], *tok, *save = NULL;

    out[0] = '\0';
    snprintf(copy, sizeof(copy), "%s", line);
    tok = strtok_r(copy, " =", &save); /* "AUTH" or "AUTH=" (old form) */
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        if (strcasecmp(tok, "PLAIN") != 0 && strcasecmp(tok, "LOGIN") != 0)
            continue;
        if (strstr(out, tok) != NULL)
            continue;
        snprintf(out + strlen(out), len - strlen(out), "%s%s",
                 out[0] != '\0' ? " " : "", tok);
    }
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

    reply_words(rp, words, sizeof(words));
    if (c->p == TP_MAIN) {
        sv->ehlo_code = rp->code;
        sv->starttls_offered = rp->code / 100 == 2 && offered;
        for (size_t i = 0; i < n; i++)
            if (strncasecmp(ext[i], "AUTH", 4) == 0 &&
                (ext[i][4] == ' ' || ext[i][4] == '='))
                clear_mechanisms(ext[i], sv->auth_clear,
                                 sizeof(sv->auth_clear));
    }
    if (rp->code / 100 != 2 || !offered) {
        /* The main connection tells the verdict; the others stop. */
        if (c->p != TP_MAIN)
            set_words(&sv->r[c->p], TO_NOT_RUN, "STARTTLS not offered");
        if (c->p == TP_INJECT)
            sv->inject = TI_NOT_RUN;
        finish(l, c, 0);
        return;
    }
    if (svc->smtp_send(c->s, "STARTTLS") != MXP_OK ||
        (c->p == TP_INJECT && svc->smtp_send(c->s, "NOOP") != MXP_OK)) {
        probe_lost(l, c, svc->smtp_error(c->s));
        finish(l, c, 0);
        return;
    }
    c->ph = PH_STARTTLS;
}

static void on_starttls(struct loop *l, struct conn *c,
                        const struct mxp_smtp_reply *rp)
{
    struct tls_survey *sv = &l->r->sv;
    char words[TLS_TEXT];

    reply_words(rp, words, sizeof(words));
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
        set_words(&sv->r[c->p], TO_UNKNOWN, "STARTTLS refused: %s", words);
    }
    finish(l, c, 0);
}

static void inject_ask(struct loop *l, struct conn *c);

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
        inject_ask(l, c);
        return;
    }
    res->outcome = TO_ACCEPTED;
    res->version = info->version;
    res->cipher = info->cipher_id;
    snprintf(res->cipher_name, sizeof(res->cipher_name), "%s", info->cipher);
    snprintf(res->kx, sizeof(res->kx), "%s", info->kx);
    res->kx_bits = info->kx_bits;
    finish(l, c, 0);
}

/* The injection test over TLS.  A vulnerable server runs the NOOP it
 * read in clear before our next command, so HELP (answered 214 or 5xx,
 * never 250) tells in one round trip: a 250 first is the NOOP's.  A
 * server that answers HELP with 250 is told apart by the second reply
 * only a vulnerable one sends (inject_verdict). */
static void inject_found(struct tls_survey *sv, const char *text)
{
    size_t n = strlen(text);

    /* The core shows CR LF as "??": the reply's first line is enough. */
    while (n > 0 && text[n - 1] == '?')
        n--;
    sv->inject = strncmp(text, "250", 3) == 0 ? TI_VULNERABLE : TI_UNKNOWN;
    if (sv->inject == TI_VULNERABLE)
        snprintf(sv->inject_words, TLS_TEXT, "'%.*s'", (int)n, text);
    else
        snprintf(sv->inject_words, TLS_TEXT,
                 "it sent '%.*s' unasked after the handshake", (int)n, text);
}

static void inject_ask(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_survey *sv = &l->r->sv;
    char text[128];
    int rc = svc->smtp_unsolicited(c->s, 0, text, sizeof(text));

    if (rc > 0) {
        inject_found(sv, text);
    } else if (rc < 0) {
        sv->inject = TI_REFUSED;
        snprintf(sv->inject_words, TLS_TEXT, "%s", svc->smtp_error(c->s));
    } else if (svc->smtp_send(c->s, "HELP") != MXP_OK) {
        sv->inject = TI_UNKNOWN;
        snprintf(sv->inject_words, TLS_TEXT, "%s", svc->smtp_error(c->s));
    } else {
        c->ph = PH_INJECT_HELP;
        return;
    }
    finish(l, c, 0);
}

static void on_inject_help(struct loop *l, struct conn *c,
                           const struct mxp_smtp_reply *rp)
{
    reply_words(rp, c->first, sizeof(c->first));
    if (rp->code == 250) {
        c->ph = PH_INJECT_WAIT; /* held, not waited on: see finish() */
        l->active--;
        l->held++;
        return;
    }
    l->r->sv.inject = TI_SAFE;
    finish(l, c, 0);
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
        reply_words(rp, sv->after_fail, sizeof(sv->after_fail));
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
        hello_done(l, c);
        return;
    }
    rc = svc->smtp_read_reply(c->s, &rp);
    if (c->ph == PH_QUIT) {
        main_done(l, c); /* whatever it said: we are gone */
        return;
    }
    if (rc != MXP_OK) {
        if (c->p == TP_MAIN && c->ph == PH_AFTER_EHLO) {
            snprintf(l->r->sv.after_fail, TLS_TEXT, "%s", svc->smtp_error(c->s));
            main_done(l, c);
            return;
        }
        if (c->p == TP_MAIN && c->ph == PH_TLS_GREETING)
            snprintf(l->r->sv.after_fail, TLS_TEXT, "%s", svc->smtp_error(c->s));
        else
            probe_lost(l, c, svc->smtp_error(c->s));
        finish(l, c, 0);
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
        on_inject_help(l, c, &rp);
        break;
    default:
        break;
    }
}

/* HELP got a 250: a second reply, which only a server that ran the
 * smuggled NOOP first owes, settles it. */
static void inject_verdict(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_survey *sv = &l->r->sv;
    double wait = svc->remaining(l->r->ctx) - MIN_LEFT;
    char text[128];
    int rc;

    if (wait > INJECT_WAIT)
        wait = INJECT_WAIT;
    rc = svc->smtp_unsolicited(c->s, wait > 0 ? wait : 0, text, sizeof(text));
    if (rc > 0) {
        inject_found(sv, c->first);
    } else if (rc == 0 || rc == -MXP_ERR_CLOSED) {
        sv->inject = TI_SAFE;
    } else {
        sv->inject = TI_UNKNOWN;
        snprintf(sv->inject_words, TLS_TEXT, "%s", svc->smtp_error(c->s));
    }
    finish(l, c, 0);
}

/* Starts the queued probes that may go now: room under the cap (one
 * at least, whatever is held), and no pause to wait out.  The seconds
 * until the next one may go when some must wait, else 0. */
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
                    finish(&l, &l.c[i], 0);
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
        inject_verdict(&l, &l.c[TP_INJECT]);
    r->sv.elapsed = svc->now() - t0;
}

void tls_run_end(struct tls_run *r)
{
    /* QUIT went out in the loop when the session got that far. */
    if (r->main_session != NULL)
        r->svc->smtp_close(r->main_session, !r->main_quit);
    r->main_session = NULL;
}
