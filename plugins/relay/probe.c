/*
 * probe.c - runs the forms: the survey (MAIL, RCPT, RSET per form, a few
 * forms per connection, pipelined when offered), the confirmation of
 * every form accepted at RCPT (DATA on a fresh connection: 354 proves
 * the relay; the connection is then dropped without the final dot), and
 * the one test message of deliver: true.
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

/* The replies of a pipelined group no longer match its commands (a
 * server that answers twice, or skips one): what this connection judged
 * is forgotten, and the forms are tried again without pipelining. */
static int out_of_step(struct relay_run *r, const size_t *pend, size_t from,
                       size_t *done, const char *what)
{
    char why[RELAY_REPLY_LEN];

    snprintf(why, sizeof(why), "%.200s", what); /* may be r->failure */
    for (size_t k = from; k < *done; k++)
        r->st[pend[k]].v = V_UNTESTED;
    *done = from;
    r->no_pipelining = 1;
    snprintf(r->failure, sizeof(r->failure),
             "replies out of step with the pipelined commands (%s)", why);
    return MXP_ERR_PROTOCOL;
}

/* Tries forms pend[*done .. end) on s; *done moves past every form that
 * got its answers.  Pipelined, QUIT ends the group, so goodbye costs no
 * round trip of its own (*quit_done).  Returns MXP_OK or the status that
 * ended the session (421 counts as closed). */
static int survey(struct relay_run *r, struct mxp_smtp *s, const size_t *pend,
                  size_t *done, size_t end, int *quit_done)
{
    struct reply_copy mail, rcpt, rset;
    size_t k, from = *done;
    int rc = MXP_OK;

    if (r->pipelining) {
        size_t sent = from;

        for (k = from; k < end && rc == MXP_OK; k++) {
            const struct relay_form *f = &r->forms[pend[k]];

            rc = relay_say(r, s, "MAIL FROM:%s", f->mail);
            if (rc == MXP_OK)
                sent = k + 1;
            if (rc == MXP_OK)
                rc = relay_say(r, s, "RCPT TO:%s", f->rcpt);
            if (rc == MXP_OK)
                rc = relay_say(r, s, "RSET");
        }
        if (rc == MXP_OK)
            *quit_done = relay_say(r, s, "QUIT") == MXP_OK;
        /* Replies to whatever went out are read even after a failed
         * send: they tell how far the server got before it hung up. */
        for (k = from; k < sent; k++) {
            if ((rc = relay_hear(r, s, &mail)) != MXP_OK ||
                (rc = relay_hear(r, s, &rcpt)) != MXP_OK)
                break;
            judge(r, pend[k], &mail, &rcpt);
            *done = k + 1;
            if ((rc = relay_hear(r, s, &rset)) != MXP_OK)
                break;
            if (rset.code != 250)
                return out_of_step(r, pend, from, done, rset.text);
        }
        if (rc == MXP_ERR_PROTOCOL) /* e.g. more replies than commands */
            return out_of_step(r, pend, from, done, r->failure);
        /* QUIT's reply ends the group: anything but 221 there (a lost
         * command shifted every reply by one, and QUIT's 221 went to
         * the last RSET, or the other way round), or more replies than
         * commands, means the verdicts of this group cannot be trusted.
         * No reply at all is a server that hangs up on QUIT. */
        if (rc == MXP_OK && *quit_done) {
            int qrc = relay_hear(r, s, &rset);

            if (qrc == MXP_ERR_PROTOCOL || (qrc == MXP_OK && rset.code != 221))
                return out_of_step(r, pend, from, done,
                                   qrc == MXP_OK ? rset.text : r->failure);
        }
        return rc;
    }
    for (k = from; k < end; k++) {
        const struct relay_form *f = &r->forms[pend[k]];

        if ((rc = relay_say(r, s, "MAIL FROM:%s", f->mail)) != MXP_OK ||
            (rc = relay_hear(r, s, &mail)) != MXP_OK)
            break;
        rcpt = mail;
        if (mail.code / 100 == 2 &&
            ((rc = relay_say(r, s, "RCPT TO:%s", f->rcpt)) != MXP_OK ||
             (rc = relay_hear(r, s, &rcpt)) != MXP_OK))
            break;
        judge(r, pend[k], &mail, &rcpt);
        *done = k + 1;
        if ((rc = relay_say(r, s, "RSET")) != MXP_OK ||
            (rc = relay_hear(r, s, &rset)) != MXP_OK)
            break;
    }
    return rc;
}

/* An open relay is proven as soon as one form is accepted at RCPT, not
 * after the whole survey: on a slow server the survey may not finish,
 * and the one relay it found is what matters. */
static void confirm_first(struct relay_run *r)
{
    if (r->confirmed_early)
        return;
    for (size_t i = 0; i < r->n_forms; i++) {
        if (r->st[i].v == V_ACCEPTED) {
            r->confirmed_early = 1;
            relay_confirm(r, i);
            return;
        }
    }
}

/* The forms still to try, in order. */
static size_t pending(const struct relay_run *r, size_t *pend)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n_forms; i++)
        if (r->st[i].v == V_UNTESTED)
            pend[n++] = i;
    return n;
}

/* Runs the untested forms over as many connections as it takes; false
 * when it had to stop (the reason in r->survey_reason). */
static int survey_pending(struct relay_run *r)
{
    size_t pend[RELAY_MAX_FORMS], n, done = 0;
    unsigned stalls = 0;

    /* The forms need the server's name: they are built once connected. */
    n = pending(r, pend);
    while ((r->n_forms == 0 || done < n) && stalls < RELAY_MAX_STALLS) {
        size_t before = done, end, chunk;
        int retry, rc, quit_done = 0, was_pipelined;
        struct mxp_smtp *s = relay_open_session(r, &retry);

        if (s == NULL) {
            snprintf(r->survey_reason, sizeof(r->survey_reason), "%s",
                     r->failure);
            if (!retry)
                return 0;
            stalls++;
            continue;
        }
        if (r->n_forms == 0) {
            struct relay_parts p = {
                r->cfg->sender, r->cfg->recipient, r->cfg->external,
                r->server,      r->literal,        r->own};
            r->n_forms = relay_build_forms(&p, r->forms, RELAY_MAX_FORMS);
            n = pending(r, pend);
            if (r->n_forms == 0) {
                r->svc->smtp_close(s, 1);
                snprintf(r->survey_reason, sizeof(r->survey_reason),
                         "cannot build the forms from the server's name");
                return 0;
            }
        }
        /* Pipelined, a form owes three replies and QUIT one: the core
         * keeps 64, so at most RELAY_MAX_GROUP forms go in one group. */
        chunk = r->cfg->per_connection;
        if (r->pipelining && chunk > RELAY_MAX_GROUP)
            chunk = RELAY_MAX_GROUP;
        end = done + chunk < n ? done + chunk : n;
        was_pipelined = r->pipelining;
        rc = survey(r, s, pend, &done, end, &quit_done);
        r->svc->smtp_close(s, rc == MXP_OK && !quit_done);
        if (rc == MXP_ERR_TIMEOUT && was_pipelined && !r->no_pipelining) {
            /* Some firewalls that "fix up" SMTP lose pipelined commands:
             * one more go, a command at a time. */
            r->no_pipelining = 1;
            snprintf(r->survey_reason, sizeof(r->survey_reason), "%s",
                     r->failure);
        } else if (rc != MXP_OK) {
            snprintf(r->survey_reason, sizeof(r->survey_reason), "%s",
                     r->failure);
            /* A timeout or garbage would only repeat itself. */
            if (rc != MXP_ERR_CLOSED && rc != MXP_ERR_PROTOCOL)
                return 0;
            if (rc == MXP_ERR_PROTOCOL && !r->no_pipelining)
                return 0;
        }
        stalls = done > before ? 0 : stalls + 1;
        confirm_first(r);
    }
    if (r->n_forms == 0 || done < n)
        return 0;
    r->survey_reason[0] = '\0';
    return 1;
}

void relay_survey_all(struct relay_run *r)
{
    size_t i, again = 0;

    if (!survey_pending(r))
        return;
    /* A refused sender says nothing of the recipient's shape: forms whose
     * MAIL was refused go again with a sender the server took. */
    for (i = 0; i < r->n_forms; i++) {
        struct form_state *f = &r->st[i];

        if (f->v != V_SENDER_REFUSED || r->good_sender[0] == '\0' ||
            strcmp(r->forms[i].mail, r->good_sender) == 0)
            continue;
        snprintf(f->refused_sender, sizeof(f->refused_sender), "%s (%.200s)",
                 r->forms[i].mail, f->reply);
        snprintf(r->forms[i].mail, sizeof(r->forms[i].mail), "%s",
                 r->good_sender);
        f->v = V_UNTESTED;
        again++;
    }
    if (again > 0)
        (void)survey_pending(r);
}

/* One try at confirming form i: MAIL, RCPT, DATA.  Returns MXP_OK with
 * the three replies, or the status that ended the session. */
static int confirm_once(struct relay_run *r, struct mxp_smtp *s, size_t i,
                        struct reply_copy *mail, struct reply_copy *rcpt,
                        struct reply_copy *data)
{
    const struct relay_form *f = &r->forms[i];
    int rc;

    if (r->pipelining) {
        /* RFC 2920: DATA may end a pipelined group. */
        rc = relay_say(r, s, "MAIL FROM:%s", f->mail);
        if (rc == MXP_OK)
            rc = relay_say(r, s, "RCPT TO:%s", f->rcpt);
        if (rc == MXP_OK)
            rc = relay_say(r, s, "DATA");
        if (rc == MXP_OK && (rc = relay_hear(r, s, mail)) == MXP_OK &&
            (rc = relay_hear(r, s, rcpt)) == MXP_OK)
            rc = relay_hear(r, s, data);
        /* 2xx to DATA, or 354 after a refused RCPT: the replies are not
         * those of our commands. */
        if (rc == MXP_OK && (data->code / 100 == 2 ||
                             (data->code == 354 && (mail->code / 100 != 2 ||
                                                    rcpt->code / 100 != 2)))) {
            r->no_pipelining = 1;
            snprintf(r->failure, sizeof(r->failure),
                     "replies out of step with the pipelined commands "
                     "(%.200s)", data->text);
            return MXP_ERR_PROTOCOL;
        }
        if (rc == MXP_ERR_PROTOCOL)
            r->no_pipelining = 1;
        return rc;
    }
    rc = relay_say(r, s, "MAIL FROM:%s", f->mail);
    if (rc == MXP_OK && (rc = relay_hear(r, s, mail)) == MXP_OK &&
        mail->code / 100 == 2 &&
        (rc = relay_say(r, s, "RCPT TO:%s", f->rcpt)) == MXP_OK &&
        (rc = relay_hear(r, s, rcpt)) == MXP_OK && rcpt->code / 100 == 2 &&
        (rc = relay_say(r, s, "DATA")) == MXP_OK)
        rc = relay_hear(r, s, data);
    return rc;
}

void relay_confirm(struct relay_run *r, size_t i)
{
    struct form_state *f = &r->st[i];

    /* Once a form could not be confirmed in all its tries, the others
     * get one each: a server that drops every DATA must not cost dozens
     * of connections (and trip its connection-rate limits). */
    int tries = r->confirm_failed ? 1 : RELAY_CONFIRM_TRIES;

    f->confirm_tried = 1;
    for (int attempt = 0; attempt < tries; attempt++) {
        struct reply_copy mail = {0, ""}, rcpt = {0, ""}, data = {0, ""};
        int retry, rc;
        struct mxp_smtp *s = relay_open_session(r, &retry);

        if (s == NULL) {
            snprintf(f->data_reply, sizeof(f->data_reply), "%.250s",
                     r->failure);
            if (!retry)
                return;
            continue;
        }
        rc = confirm_once(r, s, i, &mail, &rcpt, &data);
        /* After a 354 the core drops the connection: no dot, no message.
         * After a DATA answer that is neither 354 nor a refusal, the
         * server may be taking content: no QUIT either. */
        r->svc->smtp_close(s, rc == MXP_OK && (data.code / 100 == 4 ||
                                               data.code / 100 == 5));
        if (rc == MXP_ERR_TIMEOUT && r->pipelining && !r->no_pipelining) {
            r->no_pipelining = 1; /* lost pipelined commands: once more */
            snprintf(f->data_reply, sizeof(f->data_reply), "%.250s",
                     r->failure);
            continue;
        }
        if (rc != MXP_OK) {
            snprintf(f->data_reply, sizeof(f->data_reply), "%.250s",
                     r->failure);
            if (rc == MXP_ERR_CLOSED || rc == MXP_ERR_PROTOCOL)
                continue; /* dropped, 421, or out of step: once more */
            return;
        }
        if (mail.code / 100 != 2 || rcpt.code / 100 != 2) {
            /* Accepted on one connection, refused on this one (a pool
             * of servers that disagree?): no verdict either way. */
            const struct reply_copy *d = mail.code / 100 != 2 ? &mail
                                                               : &rcpt;

            f->v = V_INCONSISTENT;
            snprintf(f->data_reply, sizeof(f->data_reply), "%s", d->text);
            return;
        }
        if (data.code == 354 || data.code / 100 == 4 || data.code / 100 == 5)
            snprintf(f->data_reply, sizeof(f->data_reply), "%s", data.text);
        else
            snprintf(f->data_reply, sizeof(f->data_reply),
                     "%.200s instead of 354", data.text);
        f->v = data.code == 354       ? V_RELAYS
               : data.code / 100 == 5 ? V_DATA_REFUSED
                                      : V_DATA_TEMP;
        return;
    }
    r->confirm_failed = 1; /* every try ended without an answer */
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
