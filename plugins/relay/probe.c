/*
 * probe.c - plans and judges the forms: the survey (forms that share a
 * sender in one transaction: MAIL once, a RCPT each, RSET; a few forms
 * per connection, the batches spread over the connections), the
 * confirmation of the forms accepted at RCPT (those of one sender in one
 * transaction on a fresh connection, DATA: 354 proves the relay, and the
 * connection is then dropped without the final dot; a group refused at
 * DATA is confirmed form by form), and the one test message of
 * deliver: true.  pool.c runs the batches.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"

/* 1 when a refusal is about our sender, not the recipient or relaying
 * (Postfix's smtpd_delay_reject answers sender restrictions at RCPT):
 * the core's reading of the reply, the words winning over the code. */
static int refuses_sender(const struct mxp_services *svc,
                          const struct reply_copy *rep)
{
    unsigned about = svc->reply_about(rep->code, rep->text);

    return (about & MXP_ABOUT_SENDER) &&
           !(about & (MXP_ABOUT_RECIPIENT | MXP_ABOUT_RELAYING));
}

/* MAIL and RCPT replies into a verdict for form i. */
static void judge(struct relay_run *r, size_t i, const struct reply_copy *mail,
                  const struct reply_copy *rcpt)
{
    struct form_state *f = &r->st[i];
    int mail_ok = mail->code / 100 == 2;
    const struct reply_copy *d = mail_ok ? rcpt : mail;
    int sender = (!mail_ok && d->code / 100 == 5) ||
                 (d->code / 100 != 2 && refuses_sender(r->svc, d));

    if (mail_ok && !sender && r->good_sender[0] == '\0')
        snprintf(r->good_sender, sizeof(r->good_sender), "%s",
                 r->forms[i].mail);
    snprintf(f->reply, sizeof(f->reply), "%s", d->text);
    if (d->code / 100 == 2)
        f->v = V_ACCEPTED;
    else if (d->code == 530)
        f->v = V_AUTH;
    else if (sender)
        /* Says nothing of the recipient's shape: tried again with a
         * sender the server takes, if there is one. */
        f->v = V_SENDER_REFUSED;
    else if (d->code / 100 == 5)
        f->v = V_REFUSED;
    else if (d->code / 100 == 4 &&
             (r->svc->reply_about(d->code, d->text) & MXP_ABOUT_RELAYING))
        /* Postfix's default defer_unauth_destination: "454 4.7.1 ...
         * Relay access denied", worded as temporary only so that a
         * config mistake defers mail instead of bouncing it. */
        f->v = V_REFUSED;
    else
        f->v = V_TEMP; /* 4xx, or a code that makes no sense here */
}

/* ---- planning ---------------------------------------------------------- */

/* Splits forms idx[0..n) of kind into batches of one sender each, at
 * most per forms (and RELAY_MAX_GROUP), then halves the biggest until
 * there are enough to keep every connection busy: on a server that
 * pauses at each RCPT, the longest batch is what the survey costs. */
static void plan(struct relay_run *r, enum batch_kind kind, const size_t *idx,
                 size_t n, size_t per, unsigned spread)
{
    struct batch b[RELAY_MAX_FORMS];
    size_t nb = 0, i, j;
    int used[RELAY_MAX_FORMS] = {0};

    if (per > RELAY_MAX_GROUP)
        per = RELAY_MAX_GROUP;
    if (per == 0)
        per = 1;
    for (i = 0; i < n; i++) {
        size_t group[RELAY_MAX_FORMS], ng = 0, parts, k;

        if (used[i])
            continue;
        for (j = i; j < n; j++)
            if (!used[j] && strcmp(r->forms[idx[j]].mail,
                                   r->forms[idx[i]].mail) == 0) {
                used[j] = 1;
                group[ng++] = idx[j];
            }
        parts = (ng + per - 1) / per;
        for (k = 0; k < parts && nb < RELAY_MAX_FORMS; k++) {
            /* evenly: the first ng % parts get one more */
            size_t from = k * (ng / parts) + (k < ng % parts ? k : ng % parts);
            size_t len = ng / parts + (k < ng % parts);

            memset(&b[nb], 0, sizeof(b[nb]));
            b[nb].kind = kind;
            memcpy(b[nb].forms, group + from, len * sizeof(size_t));
            b[nb].n = len;
            nb++;
        }
    }
    while (nb < spread && nb < RELAY_MAX_FORMS) {
        size_t big = 0, half;

        for (i = 1; i < nb; i++)
            if (b[i].n > b[big].n)
                big = i;
        if (nb == 0 || b[big].n < 2)
            break;
        /* the second half goes right after it, keeping the order */
        memmove(&b[big + 2], &b[big + 1], (nb - big - 1) * sizeof(b[0]));
        half = b[big].n / 2;
        b[big + 1] = b[big];
        b[big + 1].n = b[big].n - half;
        memmove(b[big + 1].forms, b[big].forms + half,
                b[big + 1].n * sizeof(size_t));
        b[big].n = half;
        nb++;
    }
    for (i = 0; i < nb; i++)
        (void)relay_enqueue(r, &b[i], 0);
}

static void stop_survey(struct relay_run *r, const char *why)
{
    size_t i, n = r->q_len;

    r->survey_stopped = 1;
    snprintf(r->survey_reason, sizeof(r->survey_reason), "%s", why);
    /* survey batches still queued are dropped; confirmations stay */
    for (i = 0; i < n; i++) {
        struct batch b = r->queue[r->q_head];

        r->q_head = (r->q_head + 1) % RELAY_QUEUE;
        r->q_len--;
        if (b.kind == B_CONFIRM)
            (void)relay_enqueue(r, &b, 0);
    }
}

int relay_build(struct relay_run *r)
{
    struct relay_parts p = {r->cfg->sender, r->cfg->recipient,
                            r->cfg->external, r->server, r->literal, r->own};
    size_t idx[RELAY_MAX_FORMS], i;

    r->n_forms = relay_build_forms(&p, r->forms, RELAY_MAX_FORMS);
    if (r->n_forms == 0) {
        stop_survey(r, "cannot build the forms from the server's name");
        return 0;
    }
    for (i = 0; i < r->n_forms; i++)
        idx[i] = i;
    plan(r, B_SURVEY, idx, r->n_forms, r->cfg->per_connection,
         r->cfg->connections);
    return 1;
}

void relay_give_up_queue(struct relay_run *r, const char *why)
{
    while (r->q_len > 0) {
        struct batch b = r->queue[r->q_head];

        r->q_head = (r->q_head + 1) % RELAY_QUEUE;
        r->q_len--;
        if (b.kind == B_SURVEY) {
            r->survey_stopped = 1;
            snprintf(r->survey_reason, sizeof(r->survey_reason), "%s", why);
            continue;
        }
        for (size_t k = 0; k < b.n; k++)
            snprintf(r->st[b.forms[k]].data_reply,
                     sizeof(r->st[b.forms[k]].data_reply), "%.250s", why);
    }
}

/* Forms of batch b accepted at RCPT, as one confirmation (they share
 * the sender). */
static void confirm_batch(struct relay_run *r, const struct batch *b,
                          struct batch *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = B_CONFIRM;
    for (size_t k = 0; k < b->n; k++)
        if (r->st[b->forms[k]].v == V_ACCEPTED &&
            !r->st[b->forms[k]].confirm_tried) {
            r->st[b->forms[k]].confirm_tried = 1;
            out->forms[out->n++] = b->forms[k];
        }
}

/* A refused sender says nothing of the recipient's shape: such forms go
 * again with a sender the server took.  One that then is another form's
 * envelope exactly is that form: it is folded into it, not tried (and
 * not counted) twice.  Returns how many were queued. */
static size_t retry_senders(struct relay_run *r)
{
    size_t idx[RELAY_MAX_FORMS] = {0}, n = 0, i, k;

    if (r->good_sender[0] == '\0')
        return 0;
    for (i = 0; i < r->n_forms; i++) {
        struct form_state *f = &r->st[i];

        if (f->v != V_SENDER_REFUSED ||
            strcmp(r->forms[i].mail, r->good_sender) == 0)
            continue;
        snprintf(f->refused_sender, sizeof(f->refused_sender), "%s (%.200s)",
                 r->forms[i].mail, f->reply);
        for (k = 0; k < r->n_forms; k++)
            if (k != i && r->st[k].v != V_DUPLICATE &&
                r->st[k].v != V_SENDER_REFUSED &&
                strcmp(r->forms[k].mail, r->good_sender) == 0 &&
                strcmp(r->forms[k].rcpt, r->forms[i].rcpt) == 0)
                break;
        if (k < r->n_forms) {
            f->v = V_DUPLICATE;
            f->same_as = k;
            continue;
        }
        snprintf(r->forms[i].mail, sizeof(r->forms[i].mail), "%s",
                 r->good_sender);
        f->v = V_UNTESTED;
        idx[n++] = i;
    }
    plan(r, B_SURVEY, idx, n, r->cfg->per_connection, r->cfg->connections);
    return n;
}

void relay_next_phase(struct relay_run *r)
{
    size_t idx[RELAY_MAX_FORMS] = {0}, n = 0, i;

    if (!r->senders_retried) {
        r->senders_retried = 1;
        if (!r->survey_stopped && retry_senders(r) > 0)
            return;
    }
    if (r->confirms_planned)
        return;
    r->confirms_planned = 1;
    /* Every form accepted at RCPT and not confirmed yet, those of one
     * sender in one transaction: 354 to DATA means the server takes the
     * message for every recipient it accepted. */
    for (i = 0; i < r->n_forms; i++)
        if (r->st[i].v == V_ACCEPTED && !r->st[i].confirm_tried) {
            r->st[i].confirm_tried = 1;
            idx[n++] = i;
        }
    plan(r, B_CONFIRM, idx, n, RELAY_MAX_GROUP, 0);
}

/* ---- what a batch got -------------------------------------------------- */

static void out_of_step(struct relay_run *r, struct conv *c, const char *what)
{
    char why[RELAY_REPLY_LEN];

    snprintf(why, sizeof(why), "%.200s", what); /* may be r->failure */
    r->no_pipelining = 1;
    snprintf(c->failure, sizeof(c->failure),
             "replies out of step with the pipelined commands (%s)", why);
    snprintf(r->failure, sizeof(r->failure), "%s", c->failure);
    c->rc = MXP_ERR_PROTOCOL;
}

static void survey_done(struct relay_run *r, struct conv *c)
{
    const struct batch *b = &c->b;
    struct batch left, again;
    size_t judged = 0, accepted = 0, k;
    int retry;

    if (b->n > 0)
        r->survey_active--; /* a connection that took no batch: none */
    memset(&left, 0, sizeof(left));
    left.kind = B_SURVEY;
    /* A server that hangs up on our pipelined QUIT said all it had to. */
    if (c->phase == P_WORK && c->pipelined && c->rc == MXP_ERR_CLOSED &&
        c->heard + 1 == c->n_cmds)
        c->rc = MXP_OK;
    if (c->phase == P_WORK && c->pipelined) {
        /* Replies out of step with the commands (a server that answers
         * twice, or skips one): RSET must get 250 and QUIT 221, and more
         * replies than commands is the core's protocol error.  What the
         * group got is then forgotten and tried again unpipelined. */
        if (c->rc == MXP_ERR_PROTOCOL)
            out_of_step(r, c, r->failure);
        else if (c->heard > b->n + 1 && c->end.code != 250)
            out_of_step(r, c, c->end.text);
        else if (c->rc == MXP_OK && c->heard == c->n_cmds &&
                 c->quit.code != 221)
            out_of_step(r, c, c->quit.text);
    }
    for (k = 0; k < b->n; k++) {
        size_t i = b->forms[k];

        if (c->phase == P_WORK && !(c->pipelined && c->rc == MXP_ERR_PROTOCOL) &&
            (c->heard > k + 1 || (c->skip_rcpts && c->heard > 0))) {
            judge(r, i, &c->mail, c->skip_rcpts ? &c->mail : &c->rcpt[k]);
            judged++;
            accepted += r->st[i].v == V_ACCEPTED;
        } else {
            left.forms[left.n++] = i;
        }
    }
    /* "452 4.5.3 Too many recipients" beside accepted ones: a limit of
     * the transaction (RFC 5321 4.5.3.1.10: try them in another), so
     * such forms go again in a transaction of their own. */
    memset(&again, 0, sizeof(again));
    again.kind = B_SURVEY;
    again.tries = b->tries + 1;
    for (k = 0; accepted > 0 && again.tries < RELAY_CONFIRM_TRIES && k < b->n;
         k++)
        if (r->st[b->forms[k]].v == V_TEMP && c->mail.code / 100 == 2)
            again.forms[again.n++] = b->forms[k];
    (void)relay_enqueue(r, &again, 0);
    if (c->rc == MXP_OK && left.n == 0) {
        if (b->n > 0)
            r->stalls = 0;
    } else {
        snprintf(r->survey_reason, sizeof(r->survey_reason), "%s",
                 c->failure);
        /* Dropped, 421, or pipelined commands lost or out of step: once
         * more (unpipelined after the last two).  A timeout or garbage
         * without pipelining would only repeat itself. */
        retry = c->retry || c->rc == MXP_ERR_CLOSED ||
                (c->pipelined && (c->rc == MXP_ERR_PROTOCOL ||
                                  c->rc == MXP_ERR_TIMEOUT));
        if (c->pipelined && c->rc == MXP_ERR_TIMEOUT)
            r->no_pipelining = 1; /* some firewalls lose pipelined commands */
        if (judged > 0)
            r->stalls = 0;
        else if (c->retry && c->phase == P_GREETING && r->active > 1) {
            /* Turned away while other connections are open: too many at
             * once for this server, not a stall. */
            r->max_conns = r->active - 1;
        } else {
            r->stalls++;
        }
        if (!retry || r->stalls >= RELAY_MAX_STALLS)
            stop_survey(r, c->failure);
        else if (!relay_enqueue(r, &left, 1))
            stop_survey(r, c->failure);
    }
    /* An open relay is proven as soon as one form is accepted at RCPT:
     * its confirmation goes first, while the survey goes on. */
    if (!r->confirmed_early) {
        struct batch cb;

        confirm_batch(r, b, &cb);
        if (cb.n > 0 && relay_enqueue(r, &cb, 1))
            r->confirmed_early = 1;
        else
            for (k = 0; k < cb.n; k++)
                r->st[cb.forms[k]].confirm_tried = 0;
    }
}

/* The forms of b still accepted, each as a confirmation of its own. */
static void split(struct relay_run *r, const struct batch *b)
{
    for (size_t k = 0; k < b->n; k++) {
        struct batch one;

        if (r->st[b->forms[k]].v != V_ACCEPTED)
            continue;
        memset(&one, 0, sizeof(one));
        one.kind = B_CONFIRM;
        one.forms[0] = b->forms[k];
        one.n = 1;
        (void)relay_enqueue(r, &one, 0);
    }
}

static void confirm_done(struct relay_run *r, struct conv *c)
{
    struct batch *b = &c->b, again;
    size_t k, accepted = 0;
    int any_ok = 0, tries = b->tries + 1, retry;

    for (k = 0; k < b->n && c->heard > k + 1; k++)
        any_ok |= c->rcpt[k].code / 100 == 2;
    /* 2xx to DATA, or 354 after a refused MAIL or with no RCPT accepted:
     * the replies are not those of our commands. */
    if (c->rc == MXP_OK && c->pipelined && c->data_sent &&
        c->heard == c->n_cmds &&
        (c->end.code / 100 == 2 ||
         (c->end.code == 354 && (c->mail.code / 100 != 2 || !any_ok))))
        out_of_step(r, c, c->end.text);
    if (c->rc != MXP_OK) {
        /* Once a form could not be confirmed in all its tries, the
         * others get one each: a server that drops every DATA must not
         * cost dozens of connections. */
        int max = r->confirm_failed ? 1 : RELAY_CONFIRM_TRIES;

        retry = c->retry || c->rc == MXP_ERR_CLOSED ||
                c->rc == MXP_ERR_PROTOCOL ||
                (c->rc == MXP_ERR_TIMEOUT && c->pipelined);
        if (c->rc == MXP_ERR_TIMEOUT && c->pipelined)
            r->no_pipelining = 1; /* lost pipelined commands: once more */
        for (k = 0; k < b->n; k++)
            snprintf(r->st[b->forms[k]].data_reply,
                     sizeof(r->st[b->forms[k]].data_reply), "%.250s",
                     c->failure);
        if (retry && b->n > 1 && c->rc == MXP_ERR_CLOSED &&
            c->phase == P_WORK) {
            /* A group that never got its DATA answer (a server that
             * drops after a few commands): each form alone. */
            split(r, b);
        } else if (retry && tries < max) {
            b->tries = tries;
            (void)relay_enqueue(r, b, 0);
        } else if (retry) {
            r->confirm_failed = 1; /* every try ended without an answer */
        }
        return;
    }
    /* Connections now take their batch once greeted, so a connection
     * that failed before it may have been meant for a confirmation: one
     * that settles forms ends a row of stalls as a survey's does. */
    r->stalls = 0;
    memset(&again, 0, sizeof(again));
    again.kind = B_CONFIRM;
    again.tries = tries;
    for (k = 0; k < b->n; k++) {
        struct form_state *f = &r->st[b->forms[k]];
        const struct reply_copy *d = c->mail.code / 100 != 2 ? &c->mail
                                                              : &c->rcpt[k];

        if (d->code / 100 == 4 &&
            !(r->svc->reply_about(d->code, d->text) & MXP_ABOUT_RELAYING)) {
            /* Not now ("452 4.5.3 Too many recipients": RFC 5321 says
             * try them in another transaction), not a refusal: again,
             * the others of the group without it. */
            snprintf(f->data_reply, sizeof(f->data_reply),
                     "not confirmed: %.200s", d->text);
            again.forms[again.n++] = b->forms[k];
            continue;
        }
        if (d->code / 100 != 2) {
            /* Accepted on one connection, refused on this one (a pool
             * of servers that disagree?): no verdict either way. */
            f->v = V_INCONSISTENT;
            snprintf(f->data_reply, sizeof(f->data_reply), "%s", d->text);
            continue;
        }
        accepted++;
    }
    if (again.n > 0 && (accepted == 0 || !c->data_sent || c->end.code == 354 ||
                        accepted == 1)) {
        /* (a group refused at DATA is split below, these with it) */
        if (tries < RELAY_CONFIRM_TRIES)
            (void)relay_enqueue(r, &again, 0);
    }
    if (accepted == 0 || !c->data_sent)
        return;
    if (c->end.code != 354 && accepted > 1) {
        /* Refused for the group: perhaps for one recipient's sake, so
         * each form is confirmed alone, never judged by the others. */
        for (k = 0; k < b->n; k++)
            snprintf(r->st[b->forms[k]].data_reply,
                     sizeof(r->st[b->forms[k]].data_reply),
                     "refused at DATA with other forms (%.200s), not tried "
                     "alone", c->end.text);
        split(r, b);
        return;
    }
    for (k = 0; k < b->n; k++) {
        struct form_state *f = &r->st[b->forms[k]];

        if (f->v != V_ACCEPTED)
            continue;
        if (c->end.code == 354 || c->end.code / 100 == 4 ||
            c->end.code / 100 == 5)
            snprintf(f->data_reply, sizeof(f->data_reply), "%s", c->end.text);
        else
            snprintf(f->data_reply, sizeof(f->data_reply),
                     "%.200s instead of 354", c->end.text);
        f->v = c->end.code == 354       ? V_RELAYS
               : c->end.code / 100 == 5 ? V_DATA_REFUSED
                                        : V_DATA_TEMP;
    }
}

void relay_batch_done(struct relay_run *r, struct conv *c)
{
    if (c->b.kind == B_SURVEY)
        survey_done(r, c);
    else
        confirm_done(r, c);
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

/* The form of relaying form i with probe.my_email as its recipient
 * (the same shape, my_email's parts).  0 when my_email cannot be one. */
static int shape_for_me(const struct relay_run *r, size_t i, const char *me,
                        struct relay_form *out)
{
    struct relay_form mine[RELAY_MAX_FORMS];
    const char *at = strrchr(me, '@');
    char local[65];
    size_t n;

    if (at == NULL || at == me || (size_t)(at - me) >= sizeof(local))
        return 0;
    memcpy(local, me, (size_t)(at - me));
    local[at - me] = '\0';
    if (!relay_local_part_ok(local) || !r->svc->is_host_name(at + 1))
        return 0;
    {
        struct relay_parts p = {r->cfg->sender, local,      at + 1,
                                r->server,      r->literal, r->own};
        n = relay_build_forms(&p, mine, RELAY_MAX_FORMS);
    }
    if (n != r->n_forms)
        return 0;
    *out = mine[i];
    /* The sender the relay took for this form (it may have been
     * replaced by one the server takes). */
    snprintf(out->mail, sizeof(out->mail), "%s", r->forms[i].mail);
    return 1;
}

/* One message through relaying form i to probe.my_email.  The sender is
 * the form's when the recipient is then my_email itself, else my_email
 * (the core completes only mail from or to the operator's mailbox). */
void relay_deliver(struct relay_run *r, size_t i)
{
    const struct mxp_services *svc = r->svc;
    const char *me = r->ctx->probe->my_email;
    struct relay_form f;
    struct reply_copy rep = {0, ""};
    char token[17], text[2048], from[RELAY_ADDR_LEN];
    struct mxp_smtp_reply done;
    struct mxp_smtp *s;
    int retry, rc;

    if (!shape_for_me(r, i, me, &f)) {
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN, "no test message sent: "
                        "cannot shape a recipient from '%s'", me);
        return;
    }
    if (f.plain_rcpt)
        snprintf(from, sizeof(from), "%s", f.mail);
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
             r->ctx->target->addr, from, f.rcpt, token);

    s = relay_open_session(r, &retry);
    if (s == NULL) {
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN,
                        "no test message sent: %s", r->failure);
        return;
    }
    rc = relay_say(r, s, "MAIL FROM:%s", from);
    if (rc == MXP_OK && (rc = relay_hear(r, s, &rep)) == MXP_OK &&
        rep.code / 100 == 2 &&
        (rc = relay_say(r, s, "RCPT TO:%s", f.rcpt)) == MXP_OK &&
        (rc = relay_hear(r, s, &rep)) == MXP_OK && rep.code / 100 == 2 &&
        (rc = relay_say(r, s, "DATA")) == MXP_OK &&
        (rc = relay_hear(r, s, &rep)) == MXP_OK && rep.code == 354) {
        rc = svc->smtp_send_message(s, text, &done);
        if (rc == MXP_OK)
            relay_copy_reply(&rep, &done);
        else if (strstr(svc->smtp_error(s), "waiting for reply") != NULL) {
            /* The whole message and its dot went out: only the answer
             * is missing. */
            svc->add_detail(r->ctx, MXP_STATE_CRITICAL,
                            "sent test message %s to %s via MAIL FROM:%s "
                            "RCPT TO:%s, but no reply to the final dot (%s):"
                            " it may have been delivered", token, me, from,
                            f.rcpt, svc->smtp_error(s));
            rc = MXP_OK;
            rep.code = 0;
        } else
            snprintf(r->failure, sizeof(r->failure), "%s",
                     svc->smtp_error(s));
        if (rc == MXP_OK && rep.code / 100 == 2)
            svc->add_detail(r->ctx, MXP_STATE_CRITICAL,
                            "sent test message %s to %s via MAIL FROM:%s "
                            "RCPT TO:%s (%s)", token, me, from, f.rcpt,
                            rep.text);
        else if (rc == MXP_OK && rep.code != 0)
            svc->add_detail(r->ctx, MXP_STATE_UNKNOWN,
                            "test message %s to %s refused: %s", token, me,
                            rep.text);
    } else if (rc == MXP_OK) {
        /* The server said no before the message: its reply says why. */
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN,
                        "test message %s to %s not sent: %s", token, me,
                        rep.text);
    }
    if (rc != MXP_OK)
        svc->add_detail(r->ctx, MXP_STATE_UNKNOWN,
                        "test message %s to %s not sent: %s", token, me,
                        r->failure);
    svc->smtp_close(s, 1);
}
