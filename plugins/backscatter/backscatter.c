/*
 * backscatter.c - the backscatter check: does the server accept mail for
 * users that do not exist (and so bounce it later, to forged senders)?
 *
 * Per mail domain of the server (-D, else the registered domains of the
 * greeting name and the PTR names), on one connection: MAIL, RCPT for a
 * random local part, RSET (pipelined when offered).  With deliver: true
 * and probe.my_email, one message from my_email goes to each accepting
 * domain's unknown user, so a bounce lands in the operator's mailbox.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mxprobe/plugin.h>

#define BS_MAX_PTR 8                    /* PTR names looked at */
#define BS_MAX_DOMAINS (BS_MAX_PTR + 2) /* + greeting and -D */
#define BS_NAME_LEN 256                 /* a DNS name (253) plus room */
#define BS_TEXT_LEN 512
#define BS_REPLY_SHOWN 200                /* reply text kept for the output */
#define BS_REPLY_MAX (BS_REPLY_SHOWN + 8) /* a bs_reply's text: code too */
#define BS_TOKEN_DIGITS 16
#define BS_LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */
#define BS_PREFIX_MAX (BS_LOCAL_MAX - BS_TOKEN_DIGITS)
#define BS_MIN_TIME 0.05 /* seconds left below which nothing starts */
/* Seconds left below which a domain whose pipelined replies timed out is
 * not tried again one command at a time: connect, greeting, EHLO and
 * three commands need a moment even on a fast server. */
#define BS_RETRY_TIME 1.0

#define BS_DEFAULT_PREFIX "mxprobe-nonexistent-"

/* init's result: the validated config. */
struct bs_config {
    int deliver;
    char prefix[BS_PREFIX_MAX + 1];
};

enum bs_verdict {
    BS_UNTESTED = 0,
    BS_ACCEPTS,      /* 2xx at RCPT */
    BS_REJECTS_USER, /* 5.1.x, or 550/551/553 without an enhanced code */
    BS_NO_MAIL,      /* another 5xx: not a domain of this server */
    BS_AUTH,         /* 530 */
    BS_INCONCLUSIVE, /* 4xx, a refused MAIL, a lost session */
};

/* A reply copied out of the session (its lines die with the next call). */
struct bs_reply {
    int code;
    char enhanced[16];
    char text[BS_TEXT_LEN]; /* "550 5.1.1 <x@dom>: Recipient ..." */
};

struct bs_domain {
    char name[BS_NAME_LEN];
    enum bs_verdict verdict;
    char why[BS_TEXT_LEN]; /* the reply or error that decided it */
    /* What became of the test message (deliver), shown after the verdict;
     * "" when none was tried.  sent: it went out (shown in the state of
     * the accepting domains), else it is UNKNOWN why not. */
    int sent;
    char note[BS_TEXT_LEN];
};

/* What one run found; lives on the heap for the run. */
struct bs_run {
    struct mxp_ctx *ctx;
    const struct mxp_services *svc;
    const struct mxp_target *t;
    const struct bs_config *cfg;
    int can_pipeline; /* the core has smtp_send (ABI 1.1) */
    int can_deliver;  /* the core has smtp_send_message (ABI 1.1) */
    char token[BS_TOKEN_DIGITS + 1];
    char local[BS_LOCAL_MAX + 1];
    struct mxp_smtp *s;
    int pipelining;         /* this session offers PIPELINING */
    /* A pipelined group timed out: the server (or a "fixup" firewall in
     * front of it) loses commands sent together, so every later session
     * sends one command at a time.  Set once; it also allows one more
     * new connection, to go on without pipelining. */
    int no_pipelining;
    int reconnects; /* used of the one allowed (two after no_pipelining) */
    char lost[BS_TEXT_LEN]; /* why the session was lost, for what is left */
    char greeting_name[BS_NAME_LEN];
    struct bs_domain dom[BS_MAX_DOMAINS];
    size_t n_dom;
};

/* ---- small helpers --------------------------------------------------- */

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

/* RFC 3463 "class.subject.detail" at the start of a reply line, its
 * class matching the reply code's first digit (RFC 2034); "" when none.
 * The core fills r->enhanced; this covers a core (or fake) that did not. */
static void enhanced_of(int code, const char *line, char *out, size_t len)
{
    size_t i = 0, digits[3] = {0, 0, 0};

    out[0] = '\0';
    if (line[0] - '0' != code / 100 || line[1] != '.')
        return;
    for (int part = 0; part < 3; part++) {
        while (isdigit((unsigned char)line[i])) {
            digits[part]++;
            i++;
        }
        if (part < 2 && line[i++] != '.')
            return;
    }
    if (digits[0] != 1 || digits[1] < 1 || digits[1] > 3 || digits[2] < 1 ||
        digits[2] > 3 || (line[i] != '\0' && line[i] != ' ') || i >= len)
        return;
    memcpy(out, line, i);
    out[i] = '\0';
}

static void copy_reply(struct bs_reply *out, const struct mxp_smtp_reply *r)
{
    const char *line = r->n_lines > 0 && r->lines[0] != NULL ? r->lines[0] : "";

    out->code = r->code;
    if (r->enhanced[0] != '\0')
        snprintf(out->enhanced, sizeof out->enhanced, "%s", r->enhanced);
    else
        enhanced_of(r->code, line, out->enhanced, sizeof out->enhanced);
    snprintf(out->text, sizeof out->text, "%d%s%.*s", r->code,
             line[0] != '\0' ? " " : "", BS_REPLY_SHOWN, line);
}

/* 16 hex digits from the kernel's random pool, or from the clock and
 * the pid when that is not available (still unique enough per run). */
static void make_token(char *out)
{
    unsigned char b[BS_TOKEN_DIGITS / 2];
    size_t got = 0;

    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, GRND_NONBLOCK);

        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    if (got < sizeof b) {
        struct timespec ts;
        uint64_t v;

        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
            ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(v >> (8 * i));
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- config ---------------------------------------------------------- */

/* Absent, or written with no value: the default applies. */
static int node_unset(const struct mxp_services *svc, const struct mxp_node *n)
{
    const char *s;

    if (n == NULL)
        return 1;
    if (svc->node_kind(n) != MXP_NODE_SCALAR)
        return 0;
    s = svc->node_str(n);
    return s == NULL || s[0] == '\0';
}

/* A local part prefix stays a plain dot-atom once the hex digits follow:
 * letters, digits and - _ . + =, no leading or doubled dot. */
static const char *prefix_problem(const char *p)
{
    size_t n = strlen(p);

    if (n > BS_PREFIX_MAX)
        return "is longer than 48 characters";
    if (p[0] == '.' || strstr(p, "..") != NULL)
        return "may not start with a dot or hold two dots in a row";
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && strchr("-_.+=", p[i]) == NULL)
            return "may hold only letters, digits and - _ . + =";
    return NULL;
}

static int bs_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *cfg = svc->config(ctx), *n;
    struct bs_config *c;
    int rc = MXP_OK;

    *state = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MXP_ERR_NOMEM;
    snprintf(c->prefix, sizeof c->prefix, "%s", BS_DEFAULT_PREFIX);

    rc = svc->config_bool(ctx, cfg, "deliver", &c->deliver);

    n = cfg != NULL ? svc->node_get(cfg, "local_part_prefix") : NULL;
    if (!node_unset(svc, n)) {
        const char *v =
            svc->node_kind(n) == MXP_NODE_SCALAR ? svc->node_str(n) : NULL;
        const char *why = v != NULL ? prefix_problem(v) : "expected a string";

        if (why != NULL) {
            svc->config_error(ctx, n, "local_part_prefix: %s", why);
            rc = MXP_ERR_CONFIG;
        } else {
            snprintf(c->prefix, sizeof c->prefix, "%s", v);
        }
    }

    if (rc != MXP_OK) {
        free(c);
        return rc;
    }
    *state = c;
    return MXP_OK;
}

static void bs_free(void *state)
{
    free(state);
}

/* ---- SMTP sessions --------------------------------------------------- */

/* Connect, greeting, EHLO.  On failure says why in R->lost and leaves no
 * session; MXP_ERR_CLOSED (or MXP_ERR_IO) means the server hung up or
 * said 421, which a new connection may get past. */
static int session_open(struct bs_run *R)
{
    const struct mxp_services *svc = R->svc;
    const char *helo = R->ctx->probe != NULL ? R->ctx->probe->helo_name : NULL;
    struct mxp_smtp_reply r;
    int rc, used_helo = 0;

    R->pipelining = 0;
    rc = svc->smtp_open(R->ctx, R->t->addr, R->t->port, &R->s);
    if (rc != MXP_OK) {
        snprintf(R->lost, sizeof R->lost, "%s",
                 R->s != NULL ? svc->smtp_error(R->s) : svc->strerror(rc));
        goto fail;
    }
    memset(&r, 0, sizeof r);
    rc = svc->smtp_read_reply(R->s, &r);
    if (rc != MXP_OK) {
        snprintf(R->lost, sizeof R->lost, "no greeting: %s",
                 svc->smtp_error(R->s));
        goto fail;
    }
    if (r.code != 220) {
        /* RFC 5321 4.3.1: 220, or 554 for a server that will not talk;
         * anything else (a 250 included) is no greeting. */
        snprintf(R->lost, sizeof R->lost, "greeting %d %.*s", r.code,
                 BS_REPLY_SHOWN, r.n_lines ? r.lines[0] : "");
        svc->smtp_close(R->s, r.code != 421);
        R->s = NULL;
        return r.code == 421 ? MXP_ERR_CLOSED : MXP_ERR_PROTOCOL;
    }
    if (R->greeting_name[0] == '\0' && r.n_lines > 0) {
        size_t n = strcspn(r.lines[0], " \t");

        if (n > 0 && n < sizeof R->greeting_name) {
            memcpy(R->greeting_name, r.lines[0], n);
            R->greeting_name[n] = '\0';
        }
    }

    if (helo == NULL || helo[0] == '\0')
        helo = "localhost";
    memset(&r, 0, sizeof r);
    rc = svc->smtp_ehlo(R->s, helo, &r, &used_helo);
    if (rc != MXP_OK) {
        snprintf(R->lost, sizeof R->lost, "%s failed: %s",
                 used_helo ? "HELO" : "EHLO", svc->smtp_error(R->s));
        goto fail;
    }
    if (r.code / 100 != 2) {
        snprintf(R->lost, sizeof R->lost, "%s refused: %d %.*s",
                 used_helo ? "EHLO and HELO" : "EHLO", r.code, BS_REPLY_SHOWN,
                 r.n_lines ? r.lines[0] : "");
        svc->smtp_close(R->s, r.code != 421);
        R->s = NULL;
        return r.code == 421 ? MXP_ERR_CLOSED : MXP_ERR_PROTOCOL;
    }
    R->pipelining = R->can_pipeline && !R->no_pipelining && !used_helo &&
                    svc->smtp_has_extension(R->s, "PIPELINING");
    return MXP_OK;

fail:
    svc->smtp_close(R->s, 0);
    R->s = NULL;
    return rc != MXP_OK ? rc : MXP_ERR_PROTOCOL;
}

/* Drops a session that failed or cannot be trusted: no QUIT (the core
 * would not send it after a failure).  why: what is left is lost for
 * that; NULL: the session's own error. */
static void session_drop(struct bs_run *R, const char *why)
{
    const char *err = why != NULL ? why : R->svc->smtp_error(R->s);

    if (err != R->lost)
        snprintf(R->lost, sizeof R->lost, "%s",
                 err[0] != '\0' ? err : "connection lost");
    R->svc->smtp_close(R->s, 0);
    R->s = NULL;
}

/* A reply MAIL or RCPT can get: 250 (RFC 5321 4.3.2), 251 or 252 (some
 * servers say so to RCPT), 4xx, 5xx.  A 354, a 220 or a 1xx belongs to
 * some other command: the replies are out of step with the commands. */
static int plausible(const struct bs_reply *r)
{
    return (r->code >= 250 && r->code <= 252) ||
           (r->code >= 400 && r->code <= 599);
}

/* The replies to one MAIL, RCPT, RSET; code 0: not read. */
struct bs_group {
    struct bs_reply mail, rcpt, rset;
};

/* MAIL, RCPT, RSET as one pipelined group, or one by one (then a refused
 * MAIL is not followed by RCPT).  Returns the failure of the first send
 * or read that failed, with the replies read before it in g; a 421 ends
 * the group (the server is closing) with MXP_OK. */
static int transaction(struct bs_run *R, const char *from, const char *to,
                       struct bs_group *g)
{
    const struct mxp_services *svc = R->svc;
    char l_mail[BS_TEXT_LEN], l_rcpt[BS_TEXT_LEN];
    struct mxp_smtp_reply r;
    int rc;

    memset(g, 0, sizeof(*g));
    snprintf(l_mail, sizeof l_mail, "MAIL FROM:<%s>", from);
    snprintf(l_rcpt, sizeof l_rcpt, "RCPT TO:<%s>", to);

    if (R->pipelining) {
        rc = svc->smtp_send(R->s, l_mail);
        if (rc == MXP_OK)
            rc = svc->smtp_send(R->s, l_rcpt);
        if (rc == MXP_OK)
            rc = svc->smtp_send(R->s, "RSET");
        if (rc == MXP_OK)
            rc = svc->smtp_read_reply(R->s, &r);
        if (rc != MXP_OK)
            return rc;
        copy_reply(&g->mail, &r);
        if (g->mail.code == 421)
            return MXP_OK; /* closing: the other replies will not come */
        rc = svc->smtp_read_reply(R->s, &r);
        if (rc != MXP_OK)
            return rc;
        copy_reply(&g->rcpt, &r);
        if (g->rcpt.code == 421)
            return MXP_OK;
        rc = svc->smtp_read_reply(R->s, &r);
        if (rc == MXP_OK)
            copy_reply(&g->rset, &r);
        return rc;
    }

    rc = svc->smtp_command(R->s, l_mail, &r);
    if (rc != MXP_OK)
        return rc;
    copy_reply(&g->mail, &r);
    if (g->mail.code / 100 == 2) {
        rc = svc->smtp_command(R->s, l_rcpt, &r);
        if (rc != MXP_OK)
            return rc;
        copy_reply(&g->rcpt, &r);
    }
    if (g->mail.code == 421 || g->rcpt.code == 421)
        return MXP_OK; /* the server is closing: no RSET */
    if (!plausible(&g->mail) || (g->rcpt.code != 0 && !plausible(&g->rcpt)))
        return MXP_OK; /* out of step: the session is dropped, no RSET */
    rc = svc->smtp_command(R->s, "RSET", &r);
    if (rc == MXP_OK)
        copy_reply(&g->rset, &r);
    return rc;
}

/* Why the replies of g cannot be matched to the commands (into out), or
 * 0 when they can.  A server that answers one command twice shifts every
 * later reply by one: RCPT's reply then shows up as RSET's, and RSET
 * only ever gets 250 (or 421, closing). */
static int out_of_step(const struct bs_group *g, char *out, size_t len)
{
    static const char *const names[] = {"MAIL", "RCPT", "RSET"};
    const struct bs_reply *rep[] = {&g->mail, &g->rcpt, &g->rset};

    for (size_t k = 0; k < 3; k++) {
        const struct bs_reply *x = rep[k];
        int bad = k < 2 ? !plausible(x) : x->code / 100 != 2 && x->code != 421;

        if (x->code != 0 && bad) {
            snprintf(out, len, "%s answered %.*s", names[k], BS_REPLY_MAX,
                     x->text);
            return 1;
        }
    }
    return 0;
}

/* ---- verdicts -------------------------------------------------------- */

static int user_unknown(const struct bs_reply *r)
{
    /* RFC 3463: X.1.1 bad mailbox, X.1.0 other address status, X.1.2
     * bad system, X.1.3 bad syntax, X.1.6 moved; X.1.7 and X.1.8 are
     * about the sender, not the user. */
    static const char *const user[] = {"5.1.0", "5.1.1", "5.1.2", "5.1.3",
                                       "5.1.6", NULL};

    if (r->enhanced[0] != '\0') {
        for (size_t i = 0; user[i] != NULL; i++)
            if (strcmp(r->enhanced, user[i]) == 0)
                return 1;
        return 0;
    }
    return r->code == 550 || r->code == 551 || r->code == 553;
}

/* The refusal is about our sender (Postfix's smtpd_delay_reject answers
 * sender restrictions at RCPT): it says nothing of the recipient. */
static int refuses_sender(const struct bs_reply *r)
{
    if (strcasestr(r->text, "recipient address rejected") != NULL)
        return 0; /* Postfix names which address it means */
    return (r->enhanced[0] != '\0' &&
            (strncmp(r->enhanced + 1, ".1.7", 4) == 0 ||
             strncmp(r->enhanced + 1, ".1.8", 4) == 0)) ||
           strcasestr(r->text, "sender address rejected") != NULL ||
           (r->code == 504 && strcasestr(r->text, "fully-qualified") !=
                                  NULL);
}

/* Text of a refusal that is about relaying, whatever its code: Postfix's
 * default defer_unauth_destination says "454 4.7.1 <x>: Relay access
 * denied", temporary only so that a config mistake defers mail instead
 * of bouncing it.  The same phrases as the relay plugin's. */
static int denies_relaying(const char *text)
{
    static const char *const phrases[] = {"relay access denied",
                                          "relaying denied",
                                          "relay denied",
                                          "relay not permitted",
                                          "relaying not permitted",
                                          "not permitted to relay",
                                          "relaying not allowed",
                                          "relay not allowed",
                                          "unable to relay",
                                          "relaying disallowed",
                                          NULL};

    for (size_t i = 0; phrases[i] != NULL; i++)
        if (strcasestr(text, phrases[i]) != NULL)
            return 1;
    return 0;
}

static void verdict(struct bs_domain *d, enum bs_verdict v, const char *fmt,
                    ...) MXP_PRINTF(3, 4);

static void verdict(struct bs_domain *d, enum bs_verdict v, const char *fmt,
                    ...)
{
    va_list ap;

    d->verdict = v;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof d->why, fmt, ap);
    va_end(ap);
}

static void classify(struct bs_run *R, struct bs_domain *d,
                     const struct bs_reply *mail, const struct bs_reply *rcpt)
{
    const char *from = R->ctx->probe != NULL && R->ctx->probe->mail_from
                           ? R->ctx->probe->mail_from
                           : "";

    if (mail->code == 530 || (mail->code / 100 == 2 && rcpt->code == 530))
        verdict(d, BS_AUTH, "%s", mail->code == 530 ? mail->text : rcpt->text);
    else if (mail->code / 100 != 2)
        /* Refused before any recipient: nothing is known of the users. */
        verdict(d, BS_INCONCLUSIVE, "MAIL FROM:<%s> refused: %s", from,
                mail->text);
    else if (rcpt->code / 100 == 2)
        verdict(d, BS_ACCEPTS, "%s", rcpt->text);
    else if (refuses_sender(rcpt))
        verdict(d, BS_INCONCLUSIVE, "sender <%s> refused: %s", from,
                rcpt->text);
    else if (rcpt->code / 100 == 5 && user_unknown(rcpt))
        verdict(d, BS_REJECTS_USER, "%s", rcpt->text);
    else if (rcpt->code / 100 == 5 ||
             (rcpt->code / 100 == 4 && denies_relaying(rcpt->text)))
        verdict(d, BS_NO_MAIL, "%s", rcpt->text);
    else
        verdict(d, BS_INCONCLUSIVE, "%s", rcpt->text);
}

/* ---- delivery -------------------------------------------------------- */

static void message_text(struct bs_run *R, const char *to, char *out,
                         size_t len)
{
    const char *me = R->ctx->probe->my_email;
    const char *helo = R->ctx->probe->helo_name;
    char date[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    int other = R->t->host != NULL && strcmp(R->t->host, R->t->addr) != 0;

    if (gmtime_r(&now, &tm) != NULL)
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (helo == NULL || helo[0] == '\0')
        helo = "localhost";
    snprintf(out, len,
             "From: <%s>\n"
             "To: <%s>\n"
             "Subject: mxprobe backscatter test %s\n"
             "Date: %s\n"
             "Message-ID: <mxprobe-backscatter-%s@%s>\n"
             "MIME-Version: 1.0\n"
             "Content-Type: text/plain; charset=us-ascii\n"
             "\n"
             "mxprobe sent this message to a user that does not exist,\n"
             "    %s\n"
             "through the mail server %s port %u%s%s%s, which\n"
             "accepted that recipient.\n"
             "\n"
             "If it comes back to you as a bounce, that server produces\n"
             "backscatter: it accepts mail for unknown users and bounces\n"
             "it later, to senders who are often forged.  It should\n"
             "reject unknown recipients during the SMTP session instead.\n",
             me, to, R->token, date, R->token, helo, to, R->t->addr, R->t->port,
             other ? " (" : "", other ? R->t->host : "", other ? ")" : "");
}

/* After a refusal in the test transaction: start over, but a session
 * that cannot even do that is lost (why in R->lost). */
static int reset(struct bs_run *R)
{
    struct mxp_smtp_reply r;
    struct bs_reply rep;
    int rc = R->svc->smtp_command(R->s, "RSET", &r);

    if (rc != MXP_OK) {
        snprintf(R->lost, sizeof R->lost, "%s", R->svc->smtp_error(R->s));
        return rc;
    }
    copy_reply(&rep, &r);
    if (rep.code == 421) {
        snprintf(R->lost, sizeof R->lost, "%s", rep.text);
        return MXP_ERR_CLOSED;
    }
    if (rep.code / 100 != 2) {
        snprintf(R->lost, sizeof R->lost,
                 "replies out of step with commands (RSET answered %.*s)",
                 BS_REPLY_MAX, rep.text);
        return MXP_ERR_PROTOCOL;
    }
    return MXP_OK;
}

static void note(struct bs_domain *d, int sent, const char *fmt, ...)
    MXP_PRINTF(3, 4);

static void note(struct bs_domain *d, int sent, const char *fmt, ...)
{
    va_list ap;

    d->sent = sent;
    va_start(ap, fmt);
    vsnprintf(d->note, sizeof d->note, fmt, ap);
    va_end(ap);
}

/* One message from my_email to the unknown user, by plain commands (the
 * core refuses anything pipelined behind DATA).  Returns a session
 * failure (the session must then be dropped, R->lost says why); what
 * happened goes to d->note. */
static int send_test(struct bs_run *R, struct bs_domain *d, const char *to)
{
    const struct mxp_services *svc = R->svc;
    const char *me = R->ctx->probe->my_email;
    struct bs_reply rep;
    struct mxp_smtp_reply r;
    char line[BS_TEXT_LEN], text[2048];
    const char *step;
    int rc;

    step = "MAIL FROM";
    snprintf(line, sizeof line, "MAIL FROM:<%s>", me);
    rc = svc->smtp_command(R->s, line, &r);
    if (rc == MXP_OK && r.code / 100 == 2) {
        step = "RCPT";
        snprintf(line, sizeof line, "RCPT TO:<%s>", to);
        rc = svc->smtp_command(R->s, line, &r);
    }
    if (rc == MXP_OK && r.code / 100 == 2) {
        step = "DATA";
        rc = svc->smtp_command(R->s, "DATA", &r);
    }
    if (rc != MXP_OK)
        goto failed;
    copy_reply(&rep, &r);
    if (rep.code / 100 == 4 || rep.code / 100 == 5) {
        note(d, 0, "test message to <%s> not sent: %s refused (%s)", to, step,
             rep.text);
        if (rep.code != 421)
            return reset(R);
        snprintf(R->lost, sizeof R->lost, "%s", rep.text);
        return MXP_ERR_CLOSED;
    }
    if (rep.code != 354 || strcmp(step, "DATA") != 0) {
        /* 354 is the only go-ahead DATA gets (a 250 there is no
         * delivery), and MAIL or RCPT never get a 3xx: the replies are
         * out of step with the commands, the session no good for more. */
        int data = strcmp(step, "DATA") == 0;

        note(d, 0,
             "test message to <%s> not sent: %s answered %s instead of %s", to,
             step, rep.text, data ? "354" : "250");
        snprintf(R->lost, sizeof R->lost,
                 "replies out of step with commands (%s answered %.*s)", step,
                 BS_REPLY_MAX, rep.text);
        return MXP_ERR_PROTOCOL;
    }
    message_text(R, to, text, sizeof text);
    rc = svc->smtp_send_message(R->s, text, &r);
    if (rc != MXP_OK &&
        strstr(svc->smtp_error(R->s), "waiting for reply to message") !=
            NULL) {
        /* The final dot went out: the server may have queued the message
         * and only its reply got lost. */
        snprintf(R->lost, sizeof R->lost, "%s", svc->smtp_error(R->s));
        note(d, 0,
             "sent test message %s from %s to <%s>, but no reply to the "
             "final dot (%s): it may have been delivered",
             R->token, me, to, R->lost);
        return rc;
    }
    if (rc != MXP_OK) {
        step = "the message";
        goto failed;
    }
    copy_reply(&rep, &r);
    if (rep.code / 100 == 2)
        note(d, 1,
             "sent test message %s from %s to <%s> (%s): a bounce "
             "in your mailbox means backscatter",
             R->token, me, to, rep.text);
    else
        note(d, 0, "test message to <%s> refused (%s)", to, rep.text);
    if (rep.code != 421)
        return MXP_OK;
    snprintf(R->lost, sizeof R->lost, "%s", rep.text);
    return MXP_ERR_CLOSED;

failed:
    snprintf(R->lost, sizeof R->lost, "%s", svc->smtp_error(R->s));
    note(d, 0, "test message to <%s> not sent: %s: %s", to, step, R->lost);
    return rc;
}

/* ---- the domains ----------------------------------------------------- */

/* -D, else the registered domains of the greeting name and the PTR names
 * (looked up now: the session is open, the greeting known). */
static void find_domains(struct bs_run *R)
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
            verdict(&R->dom[i], BS_INCONCLUSIVE, "%s", why);
}

/* A lost connection or a 421 may be the server's limit on errors per
 * session, or a glitch: worth one new connection. */
static int dropped(int rc)
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
    return session_open(R) == MXP_OK;
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
        session_drop(R, g->mail.code == 421 ? g->mail.text : g->rcpt.text);
        return 0;
    }
    if (!basis) { /* lost before RCPT was answered */
        session_drop(R, NULL);
        return dropped(rc) || fallback ? 0 : -1;
    }
    text[0] = '\0';
    if (out_of_step(g, why, sizeof why))
        snprintf(text, sizeof text, "replies out of step with commands (%s)",
                 why);
    else if (rc == MXP_ERR_PROTOCOL &&
             strstr(err, "more replies than commands") != NULL)
        snprintf(text, sizeof text, "replies out of step with commands (%s)",
                 err);
    if (text[0] != '\0') {
        /* Never a verdict; and what comes next cannot be matched either:
         * the rest get a new session. */
        verdict(d, BS_INCONCLUSIVE, "%s", text);
        session_drop(R, text);
        return 1;
    }
    if (rc != MXP_OK && R->pipelining && !dropped(rc) && !pipe_timeout) {
        /* RSET's reply came garbled: one reply may be missing, which one
         * is unknown. */
        session_drop(R, NULL);
        verdict(d, BS_INCONCLUSIVE, "%s", R->lost);
        return -1;
    }
    /* MAIL and RCPT got replies such as they get (out_of_step passed):
     * when only RSET's is missing, the verdict stands, the session not. */
    classify(R, d, &g->mail, &g->rcpt);
    if (rc != MXP_OK)
        session_drop(R, NULL);
    else if (g->rset.code == 421)
        session_drop(R, g->rset.text);
    return rc == MXP_OK || dropped(rc) || fallback ? 1 : -1;
}

static void test_domains(struct bs_run *R)
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
        rc = transaction(R, from, to, &g);
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
            note(d, 0, "test message to <%s> not sent: out of time", to);
            continue;
        }
        if (!have_session(R)) {
            note(d, 0, "test message to <%s> not sent: %s", to, R->lost);
            continue;
        }
        if (send_test(R, d, to) != MXP_OK)
            session_drop(R, R->lost);
    }
}

/* ---- result ---------------------------------------------------------- */

static size_t count(const struct bs_run *R, enum bs_verdict v)
{
    size_t n = 0;

    for (size_t i = 0; i < R->n_dom; i++)
        n += R->dom[i].verdict == v;
    return n;
}

/* "a.example, b.example" of the domains with verdict v. */
static void join_domains(const struct bs_run *R, enum bs_verdict v, int any,
                         char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < R->n_dom; i++) {
        int w;

        if (!any && R->dom[i].verdict != v)
            continue;
        w = snprintf(out + off, len - off, "%s%s", off ? ", " : "",
                     R->dom[i].name);
        if (w < 0 || (size_t)w >= len - off)
            break;
        off += (size_t)w;
    }
}

static void details(struct bs_run *R, enum mxp_state st_acc)
{
    const struct mxp_services *svc = R->svc;

    for (size_t i = 0; i < R->n_dom; i++) {
        const struct bs_domain *d = &R->dom[i];

        switch (d->verdict) {
        case BS_ACCEPTS:
            svc->add_detail(R->ctx, st_acc,
                            "accepts RCPT for unknown user <%s@%s> (%s): it "
                            "will bounce later (backscatter)",
                            R->local, d->name, d->why);
            break;
        case BS_REJECTS_USER:
            svc->add_detail(R->ctx, MXP_STATE_OK,
                            "rejects unknown user <%s@%s> (%s)", R->local,
                            d->name, d->why);
            break;
        case BS_NO_MAIL:
            svc->add_detail(R->ctx, MXP_STATE_OK,
                            "does not accept mail for %s (%s)", d->name,
                            d->why);
            break;
        case BS_AUTH:
            svc->add_detail(R->ctx, MXP_STATE_OK,
                            "authentication required (%s)", d->why);
            break;
        case BS_INCONCLUSIVE:
        case BS_UNTESTED:
            svc->add_detail(R->ctx, MXP_STATE_UNKNOWN,
                            "inconclusive for %s: %s", d->name,
                            d->why[0] ? d->why : "not tested");
            break;
        }
        if (d->note[0] != '\0')
            svc->add_detail(R->ctx, d->sent ? st_acc : MXP_STATE_UNKNOWN, "%s",
                            d->note);
    }
}

static void perf(struct bs_run *R, const char *metric, double v,
                 const char *uom, int is_main, double max)
{
    struct mxp_perf p;

    memset(&p, 0, sizeof p);
    p.metric = metric;
    p.value = v;
    p.uom = uom;
    p.warn = is_main ? R->svc->threshold_text(R->ctx, 0) : NULL;
    p.crit = is_main ? R->svc->threshold_text(R->ctx, 1) : NULL;
    p.min = 0;
    p.max = max;
    R->svc->add_perfdata(R->ctx, &p);
}

/* tested: some domain got an answer (else the count means nothing). */
static void finish(struct bs_run *R, double start, int tested)
{
    const struct mxp_services *svc = R->svc;
    size_t n = R->n_dom, acc = count(R, BS_ACCEPTS);
    size_t inc = count(R, BS_INCONCLUSIVE) + count(R, BS_UNTESTED);
    enum mxp_state st_acc = svc->check_threshold(R->ctx, (double)acc);
    char list[BS_TEXT_LEN];

    details(R, st_acc);
    perf(R, "accepted", tested ? (double)acc : NAN, "", 1, (double)n);
    perf(R, "domains", (double)n, "", 0, NAN);
    perf(R, "time", svc->now() - start, "s", 0, NAN);

    if (acc > 0 && st_acc != MXP_STATE_OK) {
        join_domains(R, BS_ACCEPTS, 0, list, sizeof list);
        svc->set_result(R->ctx, st_acc, "accepts mail for unknown users (%s)",
                        list);
    } else if (inc > 0) {
        const struct bs_domain *first = NULL;

        for (size_t i = 0; i < n && first == NULL; i++)
            if (R->dom[i].verdict == BS_INCONCLUSIVE ||
                R->dom[i].verdict == BS_UNTESTED)
                first = &R->dom[i];
        svc->set_result(R->ctx, MXP_STATE_UNKNOWN,
                        "inconclusive: %zu/%zu domains (%s: %s)", inc, n,
                        first->name, first->why);
    } else if (acc > 0) {
        join_domains(R, BS_ACCEPTS, 0, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK,
                        "accepts mail for unknown users (%s)", list);
    } else if (count(R, BS_REJECTS_USER) > 0) {
        join_domains(R, BS_REJECTS_USER, 0, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK, "rejects unknown users (%s)",
                        list);
    } else if (count(R, BS_AUTH) == n) {
        join_domains(R, BS_AUTH, 1, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK,
                        "no domain of this server accepts mail (%s): "
                        "authentication required (%s)",
                        list, R->dom[0].why);
    } else {
        join_domains(R, BS_NO_MAIL, 1, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK,
                        "no domain of this server accepts mail (%s)", list);
    }
}

/* Which domains, and where they came from (-v). */
static void say_domains(struct bs_run *R)
{
    char list[BS_TEXT_LEN];

    join_domains(R, BS_UNTESTED, 1, list, sizeof list);
    R->svc->add_detail(R->ctx, MXP_STATE_OK, "domains tested: %s (%s)", list,
                       R->t->domain != NULL && R->t->domain[0] != '\0'
                           ? "the target's domain"
                           : "from the greeting and PTR names");
}

/* Before any domain could be tested. */
static void cannot_test(struct bs_run *R, double start, const char *fmt, ...)
    MXP_PRINTF(3, 4);

static void cannot_test(struct bs_run *R, double start, const char *fmt, ...)
{
    char text[BS_TEXT_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    perf(R, "accepted", NAN, "", 1, R->n_dom ? (double)R->n_dom : NAN);
    perf(R, "domains", (double)R->n_dom, "", 0, NAN);
    perf(R, "time", R->svc->now() - start, "s", 0, NAN);
    R->svc->set_result(R->ctx, MXP_STATE_UNKNOWN, "%s", text);
}

static int bs_run(struct mxp_ctx *ctx, void *state)
{
    static const struct bs_config defaults = {0, BS_DEFAULT_PREFIX};
    const struct mxp_services *svc = ctx->svc;
    struct bs_run *R;
    double start = svc->now();
    int tested, rc;

    if (ctx->target == NULL)
        return MXP_ERR_INVALID;
    R = calloc(1, sizeof(*R));
    if (R == NULL)
        return MXP_ERR_NOMEM;
    R->ctx = ctx;
    R->svc = svc;
    R->t = ctx->target;
    R->cfg = state != NULL ? state : &defaults;
    /* Members of ABI 1.1: a 1.0 core has neither. */
    R->can_pipeline = svc->size >= offsetof(struct mxp_services, smtp_send) +
                                       sizeof(svc->smtp_send) &&
                      svc->smtp_send != NULL;
    R->can_deliver =
        svc->size >= offsetof(struct mxp_services, smtp_send_message) +
                         sizeof(svc->smtp_send_message) &&
        svc->smtp_send_message != NULL;
    make_token(R->token);
    snprintf(R->local, sizeof R->local, "%s%s", R->cfg->prefix, R->token);

    if (R->t->domain != NULL && R->t->domain[0] != '\0')
        find_domains(R); /* known before connecting: shown in perfdata */
    rc = session_open(R);
    if (dropped(rc) && svc->remaining(ctx) >= BS_MIN_TIME)
        /* Hung up at once or 421 (a limit on connections, a restart):
         * once more, apart from the one reconnect during the tests. */
        rc = session_open(R);
    if (rc != MXP_OK) {
        cannot_test(R, start, "cannot test backscatter: %s", R->lost);
        goto done;
    }
    if (R->n_dom == 0)
        find_domains(R);
    if (R->n_dom == 0) {
        cannot_test(R, start,
                    "no mail domain to test: set the target's domain (-D)");
        goto done;
    }
    say_domains(R);
    if (R->cfg->deliver &&
        (ctx->probe == NULL || ctx->probe->my_email == NULL ||
         ctx->probe->my_email[0] == '\0'))
        svc->add_detail(ctx, MXP_STATE_OK,
                        "deliver is on but probe.my_email is not set: no "
                        "test message is sent");
    test_domains(R);
    tested = 0;
    for (size_t i = 0; i < R->n_dom; i++)
        if (R->dom[i].verdict != BS_INCONCLUSIVE &&
            R->dom[i].verdict != BS_UNTESTED)
            tested = 1;
    finish(R, start, tested);

done:
    if (R->s != NULL)
        svc->smtp_close(R->s, 1);
    free(R);
    return MXP_OK;
}

static const char *const bs_keys[] = {"deliver", "local_part_prefix", NULL};

MXP_PLUGIN_DEFINE(.name = "backscatter",
                  .summary = "RCPT for an unknown user at the server's "
                             "domains: accepted mail bounces later",
                  .config_keys = bs_keys, .default_warning = "0",
                  .default_critical = NULL, .init = bs_init, .run = bs_run,
                  .free = bs_free);
