/*
 * relay.c - the open relay check.
 *
 * Tries every envelope form of forms.c (MAIL, RCPT, RSET; pipelined when
 * the server offers PIPELINING), a few forms per connection so that
 * servers which slow down after repeated errors (Postfix sleeps after
 * smtpd_soft_error_limit) never get the chance.  A form accepted at RCPT
 * is confirmed on a fresh connection with DATA: 354 proves the relay, and
 * the connection is then dropped without the final dot, so no message
 * exists.  Only with deliver: true and probe.my_email does one message go
 * through, to the operator's own mailbox (the core enforces that too).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mxprobe/plugin.h>

#include "forms.h"

#define RELAY_REPLY_LEN 256 /* a reply as shown: "554 5.7.1 <...>: Relay..." */
#define RELAY_NAME_LEN 256
#define RELAY_MIN_LEFT 0.3  /* seconds: do not start a connection with less */
#define RELAY_MAX_STALLS 2  /* connections in a row that settled no form */

struct relay_config {
    char external[RELAY_NAME_LEN];
    char sender[65];
    char recipient[65];
    int deliver;
    unsigned per_connection;
};

enum verdict {
    V_UNTESTED = 0,
    V_REFUSED,      /* 5xx at MAIL or RCPT */
    V_AUTH,         /* 530: authentication required */
    V_TEMP,         /* 4xx at MAIL or RCPT */
    V_ACCEPTED,     /* 2xx at RCPT, not (yet) confirmed */
    V_RELAYS,       /* 354 at DATA */
    V_DATA_REFUSED, /* 5xx at DATA */
    V_DATA_TEMP,    /* 4xx (or nonsense) at DATA */
};

struct form_state {
    enum verdict v;
    char reply[RELAY_REPLY_LEN];      /* the deciding MAIL/RCPT reply */
    char data_reply[RELAY_REPLY_LEN]; /* DATA's reply, or why none */
};

/* A reply copied out of the session (its lines die with the next call). */
struct reply_copy {
    int code;
    char text[RELAY_REPLY_LEN];
};

struct relay_run {
    struct mxp_ctx *ctx;
    const struct mxp_services *svc;
    const struct relay_config *cfg;
    char literal[80];
    char server[RELAY_NAME_LEN];
    char own[RELAY_NAME_LEN];
    struct relay_form forms[RELAY_MAX_FORMS];
    struct form_state st[RELAY_MAX_FORMS];
    size_t n_forms;
    unsigned connections;
    int pipelining;
    char stop_reason[320]; /* why testing ended early, "" if it did not */
};

/* ---- config ---------------------------------------------------------- */

static const char *const config_keys[] = {
    "external_domain", "sender", "recipient", "deliver",
    "forms_per_connection", NULL};

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
    long per = 8;
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

/* ---- talking to the server ------------------------------------------- */

static void copy_reply(struct reply_copy *out, const struct mxp_smtp_reply *r)
{
    out->code = r->code;
    snprintf(out->text, sizeof(out->text), "%d %.200s", r->code,
             r->n_lines > 0 ? r->lines[0] : "");
}

/* The first word of a greeting or EHLO line when it is a host name. */
static void name_of(const struct mxp_services *svc, const char *line,
                    char *out, size_t len)
{
    size_t n = strcspn(line, " ");

    out[0] = '\0';
    if (n == 0 || n >= len)
        return;
    memcpy(out, line, n);
    out[n] = '\0';
    if (!svc->is_host_name(out))
        out[0] = '\0';
}

/* S and R from the configured domain or the first greeting/EHLO names. */
static void learn_server_name(struct relay_run *r, const char *greeting,
                              const char *ehlo)
{
    const struct mxp_services *svc = r->svc;
    const char *domain = r->ctx->target->domain, *own;
    char name[RELAY_NAME_LEN];

    if (r->server[0] != '\0')
        return;
    name[0] = '\0';
    if (domain != NULL && domain[0] != '\0')
        snprintf(name, sizeof(name), "%s", domain);
    if (name[0] == '\0')
        name_of(svc, greeting, name, sizeof(name));
    if (name[0] == '\0')
        name_of(svc, ehlo, name, sizeof(name));
    if (name[0] == '\0')
        snprintf(name, sizeof(name), "%s", r->literal);
    for (char *p = name; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    /* "mail.example.org." is a fine DNS name but no SMTP domain. */
    if (name[0] != '\0' && name[strlen(name) - 1] == '.')
        name[strlen(name) - 1] = '\0';
    snprintf(r->server, sizeof(r->server), "%s", name);
    own = svc->is_host_name(name) ? svc->registered_domain(r->ctx, name)
                                  : NULL;
    snprintf(r->own, sizeof(r->own), "%s", own != NULL ? own : "");
}

/* Connects, reads the greeting and says EHLO.  NULL on failure, with the
 * reason in r->stop_reason and *retry set when reconnecting may help
 * (the server closed or said 421). */
static struct mxp_smtp *open_session(struct relay_run *r, int *retry)
{
    const struct mxp_services *svc = r->svc;
    const struct mxp_target *t = r->ctx->target;
    struct mxp_smtp *s = NULL;
    struct mxp_smtp_reply rep;
    char greeting[RELAY_REPLY_LEN];
    int rc;

    *retry = 0;
    if (svc->remaining(r->ctx) < RELAY_MIN_LEFT) {
        snprintf(r->stop_reason, sizeof(r->stop_reason),
                 "no time left before the deadline");
        return NULL;
    }
    rc = svc->smtp_open(r->ctx, t->addr, t->port, &s);
    if (rc == MXP_OK)
        rc = svc->smtp_read_reply(s, &rep);
    if (rc != MXP_OK) {
        *retry = rc == MXP_ERR_CLOSED && r->connections > 0;
        snprintf(r->stop_reason, sizeof(r->stop_reason), "%s",
                 s != NULL ? svc->smtp_error(s) : svc->strerror(rc));
        goto fail;
    }
    r->connections++;
    if (rep.code != 220) {
        *retry = rep.code == 421 && r->connections > 1;
        snprintf(r->stop_reason, sizeof(r->stop_reason),
                 "greeting %d %.200s", rep.code,
                 rep.n_lines ? rep.lines[0] : "");
        goto fail;
    }
    snprintf(greeting, sizeof(greeting), "%s",
             rep.n_lines ? rep.lines[0] : "");
    rc = svc->smtp_ehlo(s, r->ctx->probe->helo_name, &rep, NULL);
    if (rc != MXP_OK || rep.code / 100 != 2) {
        *retry = rc == MXP_ERR_CLOSED || rep.code == 421;
        if (rc != MXP_OK)
            snprintf(r->stop_reason, sizeof(r->stop_reason), "%s",
                     svc->smtp_error(s));
        else
            snprintf(r->stop_reason, sizeof(r->stop_reason),
                     "EHLO and HELO refused: %d %.200s", rep.code,
                     rep.n_lines ? rep.lines[0] : "");
        goto fail;
    }
    learn_server_name(r, greeting, rep.n_lines ? rep.lines[0] : "");
    r->pipelining = svc->smtp_has_extension(s, "PIPELINING");
    r->stop_reason[0] = '\0';
    return s;

fail:
    svc->smtp_close(s, 0);
    return NULL;
}

/* Sends one command, or queues it when pipelining. */
static int say(struct relay_run *r, struct mxp_smtp *s, const char *fmt,
               ...) MXP_PRINTF(3, 4);
static int say(struct relay_run *r, struct mxp_smtp *s, const char *fmt, ...)
{
    char line[RELAY_ADDR_LEN + 32];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return r->svc->smtp_send(s, line);
}

/* Reads the next owed reply into out; on failure out says why. */
static int hear(struct relay_run *r, struct mxp_smtp *s,
                struct reply_copy *out)
{
    struct mxp_smtp_reply rep;
    int rc = r->svc->smtp_read_reply(s, &rep);

    if (rc != MXP_OK) {
        out->code = 0;
        snprintf(out->text, sizeof(out->text), "%s", r->svc->smtp_error(s));
        return rc;
    }
    copy_reply(out, &rep);
    return rep.code == 421 ? MXP_ERR_CLOSED : MXP_OK;
}

/* 1 when a reply says in words that the server does not relay (the
 * echoed address may contain "relay" too: only whole phrases count). */
static int denies_relaying(const char *text)
{
    static const char *const phrases[] = {
        "relay access denied", "relaying denied", "relay denied",
        "relay not permitted", "relaying not permitted",
        "not permitted to relay", "relaying not allowed",
        "relay not allowed", "unable to relay", "relaying disallowed",
        NULL};

    for (size_t i = 0; phrases[i] != NULL; i++)
        if (strcasestr(text, phrases[i]) != NULL)
            return 1;
    return 0;
}

/* MAIL and RCPT replies into a verdict for form i. */
static void judge(struct relay_run *r, size_t i, const struct reply_copy *mail,
                  const struct reply_copy *rcpt)
{
    struct form_state *f = &r->st[i];
    const struct reply_copy *d = mail->code / 100 != 2 ? mail : rcpt;

    snprintf(f->reply, sizeof(f->reply), "%s", d->text);
    if (d->code / 100 == 2)
        f->v = V_ACCEPTED;
    else if (d->code == 530)
        f->v = V_AUTH;
    else if (d->code / 100 == 5)
        f->v = V_REFUSED;
    else if (d->code / 100 == 4 && denies_relaying(d->text))
        /* Postfix's default defer_unauth_destination: "454 4.7.1 ...
         * Relay access denied", worded as temporary only so that a
         * config mistake defers mail instead of bouncing it. */
        f->v = V_REFUSED;
    else
        f->v = V_TEMP; /* 4xx, or a code that makes no sense here */
}

/* Tries forms [*next, end) on s, MAIL + RCPT + RSET each; *next moves past
 * every form that got its answers.  Pipelined, QUIT ends the group, so
 * saying goodbye costs no round trip of its own: *quit_done then.
 * Returns MXP_OK, or the status that ended the session (421 counts as
 * closed). */
static int survey(struct relay_run *r, struct mxp_smtp *s, size_t *next,
                  size_t end, int *quit_done)
{
    struct reply_copy mail = {0, ""}, rcpt = {0, ""}, rset = {0, ""};
    size_t i;
    int rc = MXP_OK;

    if (r->pipelining) {
        size_t sent = *next;

        for (i = *next; i < end && rc == MXP_OK; i++) {
            rc = say(r, s, "MAIL FROM:%s", r->forms[i].mail);
            if (rc == MXP_OK)
                sent = i + 1;
            if (rc == MXP_OK)
                rc = say(r, s, "RCPT TO:%s", r->forms[i].rcpt);
            if (rc == MXP_OK)
                rc = say(r, s, "RSET");
        }
        if (rc == MXP_OK)
            *quit_done = say(r, s, "QUIT") == MXP_OK;
        /* Replies to whatever went out are read even after a failed
         * send: they tell how far the server got before it hung up. */
        end = sent;
    }
    for (i = *next; i < end; i++) {
        if (r->pipelining) {
            if ((rc = hear(r, s, &mail)) != MXP_OK ||
                (rc = hear(r, s, &rcpt)) != MXP_OK)
                break;
            judge(r, i, &mail, &rcpt);
            *next = i + 1;
            if ((rc = hear(r, s, &rset)) != MXP_OK)
                break;
            continue;
        }
        if ((rc = say(r, s, "MAIL FROM:%s", r->forms[i].mail)) != MXP_OK ||
            (rc = hear(r, s, &mail)) != MXP_OK)
            break;
        rcpt = mail;
        if (mail.code / 100 == 2 &&
            ((rc = say(r, s, "RCPT TO:%s", r->forms[i].rcpt)) != MXP_OK ||
             (rc = hear(r, s, &rcpt)) != MXP_OK))
            break;
        judge(r, i, &mail, &rcpt);
        *next = i + 1;
        if ((rc = say(r, s, "RSET")) != MXP_OK ||
            (rc = hear(r, s, &rset)) != MXP_OK)
            break;
    }
    if (rc == MXP_OK && *quit_done)
        (void)hear(r, s, &rset); /* 221; the survey is done either way */
    if (rc != MXP_OK && r->stop_reason[0] == '\0')
        snprintf(r->stop_reason, sizeof(r->stop_reason), "%s",
                 rc == MXP_ERR_CLOSED && mail.code == 421 ? mail.text
                 : rc == MXP_ERR_CLOSED && rcpt.code == 421 ? rcpt.text
                 : rc == MXP_ERR_CLOSED && rset.code == 421
                     ? rset.text
                     : r->svc->smtp_error(s));
    return rc;
}

/* Runs the survey over as many connections as it takes. */
static void survey_all(struct relay_run *r)
{
    size_t next = 0;
    unsigned stalls = 0;

    /* The forms need the server's name: they are built once connected. */
    while ((r->n_forms == 0 || next < r->n_forms) &&
           stalls < RELAY_MAX_STALLS) {
        size_t before = next, end;
        int retry, rc, quit_done = 0;
        struct mxp_smtp *s = open_session(r, &retry);

        if (s == NULL) {
            if (!retry)
                return;
            stalls++;
            continue;
        }
        if (r->n_forms == 0) {
            struct relay_parts p = {
                r->cfg->sender, r->cfg->recipient, r->cfg->external,
                r->server,      r->literal,        r->own};
            r->n_forms = relay_build_forms(&p, r->forms, RELAY_MAX_FORMS);
            if (r->n_forms == 0) {
                r->svc->smtp_close(s, 1);
                return;
            }
        }
        end = next + r->cfg->per_connection;
        if (end > r->n_forms)
            end = r->n_forms;
        r->stop_reason[0] = '\0';
        rc = survey(r, s, &next, end, &quit_done);
        r->svc->smtp_close(s, rc == MXP_OK && !quit_done);
        if (rc != MXP_OK && rc != MXP_ERR_CLOSED)
            return; /* a timeout or garbage: another try would repeat it */
        stalls = next > before ? 0 : stalls + 1;
        if (rc == MXP_OK)
            r->stop_reason[0] = '\0';
    }
}

/* Confirms form i at DATA on a connection of its own. */
static void confirm(struct relay_run *r, size_t i)
{
    struct form_state *f = &r->st[i];
    struct reply_copy mail = {0, ""}, rcpt = {0, ""}, data = {0, ""};
    int retry, rc;
    struct mxp_smtp *s = open_session(r, &retry);

    if (s == NULL) {
        snprintf(f->data_reply, sizeof(f->data_reply), "%.250s",
                 r->stop_reason);
        return;
    }
    if (r->pipelining) {
        /* RFC 2920: DATA may end a pipelined group. */
        rc = say(r, s, "MAIL FROM:%s", r->forms[i].mail);
        if (rc == MXP_OK)
            rc = say(r, s, "RCPT TO:%s", r->forms[i].rcpt);
        if (rc == MXP_OK)
            rc = say(r, s, "DATA");
        if (rc == MXP_OK && (rc = hear(r, s, &mail)) == MXP_OK &&
            (rc = hear(r, s, &rcpt)) == MXP_OK)
            rc = hear(r, s, &data);
    } else {
        rc = say(r, s, "MAIL FROM:%s", r->forms[i].mail);
        if (rc == MXP_OK && (rc = hear(r, s, &mail)) == MXP_OK &&
            mail.code / 100 == 2 &&
            (rc = say(r, s, "RCPT TO:%s", r->forms[i].rcpt)) == MXP_OK &&
            (rc = hear(r, s, &rcpt)) == MXP_OK && rcpt.code / 100 == 2 &&
            (rc = say(r, s, "DATA")) == MXP_OK)
            rc = hear(r, s, &data);
    }
    if (rc != MXP_OK) {
        snprintf(f->data_reply, sizeof(f->data_reply), "%s",
                 r->svc->smtp_error(s));
    } else if (mail.code / 100 != 2 || rcpt.code / 100 != 2) {
        judge(r, i, &mail, &rcpt); /* changed its mind: that answer */
    } else {
        snprintf(f->data_reply, sizeof(f->data_reply), "%s", data.text);
        f->v = data.code == 354       ? V_RELAYS
               : data.code / 100 == 5 ? V_DATA_REFUSED
                                      : V_DATA_TEMP;
    }
    /* After a 354 the core drops the connection: no dot, no message. */
    r->svc->smtp_close(s, 1);
}

/* ---- delivery -------------------------------------------------------- */

static void random_token(char *out, size_t len)
{
    unsigned char b[8];
    size_t i;

    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
        unsigned long x = (unsigned long)time(NULL) ^
                          ((unsigned long)getpid() << 16);
        for (i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)(x >> (8 * (i % sizeof(x))));
    }
    for (i = 0; i < sizeof(b) && 2 * i + 2 < len; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* One message through relaying form i to probe.my_email.  The recipient
 * takes the form's shape with my_email's parts; the sender is the form's
 * when the recipient is then my_email itself, else my_email (the core
 * completes only mail from or to the operator's mailbox). */
static void deliver(struct relay_run *r, size_t i)
{
    const struct mxp_services *svc = r->svc;
    const char *me = r->ctx->probe->my_email;
    const char *at = strrchr(me, '@');
    struct relay_form mine[RELAY_MAX_FORMS];
    struct reply_copy rep;
    char local[65], token[17], text[2048], from[RELAY_ADDR_LEN];
    struct mxp_smtp_reply done;
    struct mxp_smtp *s;
    int retry, rc;
    size_t n;

    if (at == NULL || (size_t)(at - me) >= sizeof(local)) {
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN, "no test message sent: "
                        "probe.my_email '%s' is not an address", me);
        return;
    }
    memcpy(local, me, (size_t)(at - me));
    local[at - me] = '\0';
    {
        struct relay_parts p = {r->cfg->sender, local,     at + 1,
                                r->server,      r->literal, r->own};
        n = relay_build_forms(&p, mine, RELAY_MAX_FORMS);
    }
    if (!relay_local_part_ok(local) || n != r->n_forms) {
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN, "no test message sent: "
                        "cannot shape a recipient from '%s'", me);
        return;
    }
    if (mine[i].plain_rcpt)
        snprintf(from, sizeof(from), "%s", mine[i].mail);
    else
        snprintf(from, sizeof(from), "<%s>", me);
    random_token(token, sizeof(token));
    snprintf(text, sizeof(text),
             "From: %s\nTo: <%s>\nSubject: mxprobe relay test %s\n"
             "Message-ID: <%s.relay@%s>\n\n"
             "mxprobe relayed this message through %s (%s) with\n"
             "MAIL FROM:%s RCPT TO:%s\n"
             "because plugins.relay.deliver is true.  Token: %s\n",
             strcmp(from, "<>") == 0 ? "<mailer-daemon@invalid>" : from, me,
             token, token, r->ctx->probe->helo_name, r->ctx->target->host,
             r->ctx->target->addr, from, mine[i].rcpt, token);

    s = open_session(r, &retry);
    if (s == NULL) {
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN,
                        "no test message sent: %s", r->stop_reason);
        return;
    }
    rc = say(r, s, "MAIL FROM:%s", from);
    if (rc == MXP_OK && (rc = hear(r, s, &rep)) == MXP_OK &&
        rep.code / 100 == 2 &&
        (rc = say(r, s, "RCPT TO:%s", mine[i].rcpt)) == MXP_OK &&
        (rc = hear(r, s, &rep)) == MXP_OK && rep.code / 100 == 2 &&
        (rc = say(r, s, "DATA")) == MXP_OK &&
        (rc = hear(r, s, &rep)) == MXP_OK && rep.code == 354 &&
        (rc = svc->smtp_send_message(s, text, &done)) == MXP_OK)
        copy_reply(&rep, &done);
    if (rc != MXP_OK)
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN,
                        "test message %s to %s not sent: %s", token, me,
                        svc->smtp_error(s));
    else if (rep.code / 100 == 2)
        svc->add_detail(r->ctx, MXP_STATE_CRITICAL,
                        "sent test message %s to %s via MAIL FROM:%s "
                        "RCPT TO:%s (%s)", token, me, from, mine[i].rcpt,
                        rep.text);
    else
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN,
                        "test message %s to %s refused: %s", token, me,
                        rep.text);
    svc->smtp_close(s, 1);
}

/* ---- the report ------------------------------------------------------ */

struct tally {
    size_t relays, tested, refused, auth, temp, data_refused, unconfirmed;
    const char *first_temp, *first_auth, *first_unconfirmed;
};

static void count(const struct relay_run *r, struct tally *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < r->n_forms; i++) {
        const struct form_state *f = &r->st[i];

        t->tested += f->v != V_UNTESTED;
        switch (f->v) {
        case V_RELAYS: t->relays++; break;
        case V_REFUSED: t->refused++; break;
        case V_AUTH:
            t->auth++;
            if (t->first_auth == NULL)
                t->first_auth = f->reply;
            break;
        case V_TEMP:
            t->temp++;
            if (t->first_temp == NULL)
                t->first_temp = f->reply;
            break;
        case V_DATA_TEMP:
            t->temp++;
            if (t->first_temp == NULL)
                t->first_temp = f->data_reply;
            break;
        case V_DATA_REFUSED: t->data_refused++; break;
        case V_ACCEPTED:
            t->unconfirmed++;
            if (t->first_unconfirmed == NULL)
                t->first_unconfirmed = f->data_reply;
            break;
        case V_UNTESTED: break;
        }
    }
}

static void details(const struct relay_run *r)
{
    const struct mxp_services *svc = r->svc;
    struct mxp_ctx *ctx = r->ctx;

    for (size_t i = 0; i < r->n_forms; i++) {
        const struct form_state *f = &r->st[i];
        const char *m = r->forms[i].mail, *t = r->forms[i].rcpt;

        switch (f->v) {
        case V_RELAYS:
            svc->add_detail(ctx, MXP_STATE_CRITICAL, "relays MAIL FROM:%s "
                            "RCPT TO:%s (RCPT %s, DATA %s)", m, t, f->reply,
                            f->data_reply);
            break;
        case V_DATA_REFUSED:
            svc->add_detail(ctx, MXP_STATE_OK, "accepted at RCPT, refused "
                            "at DATA: MAIL FROM:%s RCPT TO:%s (%s)", m, t,
                            f->data_reply);
            break;
        case V_DATA_TEMP:
            svc->add_detail(ctx, MXP_STATE_UNKNOWN, "accepted at RCPT, "
                            "DATA temporarily refused: MAIL FROM:%s RCPT "
                            "TO:%s (%s)", m, t, f->data_reply);
            break;
        case V_ACCEPTED:
            svc->add_detail(ctx, MXP_STATE_UNKNOWN, "accepted at RCPT, not "
                            "confirmed at DATA: MAIL FROM:%s RCPT TO:%s "
                            "(%s; %s)", m, t, f->reply, f->data_reply);
            break;
        case V_TEMP:
            svc->add_detail(ctx, MXP_STATE_UNKNOWN, "temporarily refused "
                            "MAIL FROM:%s RCPT TO:%s (%s)", m, t, f->reply);
            break;
        case V_REFUSED:
        case V_AUTH:
            svc->add_detail(ctx, MXP_STATE_OK, "refused MAIL FROM:%s RCPT "
                            "TO:%s (%s)", m, t, f->reply);
            break;
        case V_UNTESTED:
            break;
        }
    }
}

static void perfdata(const struct relay_run *r, const struct tally *t,
                     double elapsed)
{
    const struct mxp_services *svc = r->svc;
    struct mxp_perf p = {"accepted", (double)t->relays, "",
                         svc->threshold_text(r->ctx, 0),
                         svc->threshold_text(r->ctx, 1), 0,
                         (double)r->n_forms};

    svc->add_perfdata(r->ctx, &p);
    p = (struct mxp_perf){"forms", (double)t->tested, "", NULL, NULL, 0,
                          (double)r->n_forms};
    svc->add_perfdata(r->ctx, &p);
    p = (struct mxp_perf){"connections", (double)r->connections, "", NULL,
                          NULL, 0, NAN};
    svc->add_perfdata(r->ctx, &p);
    p = (struct mxp_perf){"time", elapsed, "s", NULL, NULL, 0, NAN};
    svc->add_perfdata(r->ctx, &p);
}

static void verdict(const struct relay_run *r, const struct tally *t)
{
    const struct mxp_services *svc = r->svc;
    struct mxp_ctx *ctx = r->ctx;
    size_t n = r->n_forms;
    enum mxp_state st = svc->check_threshold(ctx, (double)t->relays);

    if (t->relays > 0) {
        svc->set_result(ctx, st, "open relay (%zu/%zu forms)", t->relays, n);
    } else if (t->tested < n) {
        svc->set_result(ctx, svc->state_worst(st, MXP_STATE_UNKNOWN),
                        "inconclusive: %zu/%zu forms tested (%s)", t->tested,
                        n, r->stop_reason);
    } else if (t->temp > 0 || t->unconfirmed > 0) {
        svc->set_result(ctx, svc->state_worst(st, MXP_STATE_UNKNOWN),
                        t->temp > 0 ? "inconclusive: %zu/%zu forms "
                                      "temporarily refused (%s)"
                                    : "inconclusive: %zu/%zu forms accepted "
                                      "at RCPT but not confirmed (%s)",
                        t->temp > 0 ? t->temp : t->unconfirmed, n,
                        t->first_temp != NULL ? t->first_temp
                                              : t->first_unconfirmed);
    } else if (t->auth > 0 && t->auth == t->refused + t->auth &&
               t->data_refused == 0) {
        svc->set_result(ctx, st, "no open relay: authentication required "
                        "(%s)", t->first_auth);
    } else if (t->data_refused > 0) {
        svc->set_result(ctx, st, "no open relay: %zu/%zu forms refused, "
                        "%zu accepted at RCPT but refused at DATA",
                        n, n, t->data_refused);
    } else {
        svc->set_result(ctx, st, "no open relay: %zu/%zu forms refused", n,
                        n);
    }
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
    survey_all(r);
    if (r->n_forms == 0) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN, "cannot test relaying: %s",
                        r->stop_reason[0] ? r->stop_reason
                                          : "cannot build the forms");
        goto done;
    }
    for (i = 0; i < r->n_forms; i++) {
        if (r->st[i].v != V_ACCEPTED)
            continue;
        confirm(r, i);
        if (r->st[i].v == V_RELAYS && first_relay == RELAY_MAX_FORMS)
            first_relay = i;
    }
    count(r, &t);
    verdict(r, &t);
    details(r);
    if (first_relay < r->n_forms && r->cfg->deliver) {
        if (ctx->probe->my_email == NULL || ctx->probe->my_email[0] == '\0')
            svc->add_detail(ctx, MXP_STATE_OK, "deliver is on but "
                            "probe.my_email is not set: no test message");
        else
            deliver(r, first_relay);
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
