/*
 * deliver.c - the test message (deliver: true and probe.my_email): one
 * message from my_email to the unknown user of an accepting domain, by
 * plain commands, so that a bounce lands in the operator's mailbox; what
 * became of it is noted on the domain.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backscatter.h"

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
    bs_copy_reply(&rep, &r);
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

void bs_note(struct bs_domain *d, int sent, const char *fmt, ...)
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
int bs_send_test(struct bs_run *R, struct bs_domain *d, const char *to)
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
    bs_copy_reply(&rep, &r);
    if (rep.code / 100 == 4 || rep.code / 100 == 5) {
        bs_note(d, 0, "test message to <%s> not sent: %s refused (%s)", to,
                step, rep.text);
        if (rep.code != 421)
            return reset(R);
        snprintf(R->lost, sizeof R->lost, "%s", rep.text);
        return MXP_ERR_CLOSED;
    }
    if (rep.code != 354 || strcmp(step, "DATA") != 0) {
        /* 354 is the only go-ahead an answer to DATA can be (a 250
         * there is no delivery), and MAIL or RCPT never get a 3xx: the
         * replies are out of step with the commands, the session no good
         * for more. */
        int data = strcmp(step, "DATA") == 0;

        bs_note(d, 0,
                "test message to <%s> not sent: %s answered %s instead of %s",
                to, step, rep.text, data ? "354" : "250");
        snprintf(R->lost, sizeof R->lost,
                 "replies out of step with commands (%s answered %.*s)", step,
                 BS_REPLY_MAX, rep.text);
        return MXP_ERR_PROTOCOL;
    }
    message_text(R, to, text, sizeof text);
    rc = svc->smtp_send_message(R->s, text, &r);
    if (rc != MXP_OK &&
        strstr(svc->smtp_error(R->s), "waiting for reply to message") != NULL) {
        /* The final dot went out: the server may have queued the message
         * and only its reply got lost. */
        snprintf(R->lost, sizeof R->lost, "%s", svc->smtp_error(R->s));
        bs_note(d, 0,
                "sent test message %s from %s to <%s>, but no reply to the "
                "final dot (%s): it may have been delivered",
                R->token, me, to, R->lost);
        return rc;
    }
    if (rc != MXP_OK) {
        step = "the message";
        goto failed;
    }
    bs_copy_reply(&rep, &r);
    if (rep.code / 100 == 2)
        bs_note(d, 1,
                "sent test message %s from %s to <%s> (%s): a bounce "
                "in your mailbox means backscatter",
                R->token, me, to, rep.text);
    else
        bs_note(d, 0, "test message to <%s> refused (%s)", to, rep.text);
    if (rep.code != 421)
        return MXP_OK;
    snprintf(R->lost, sizeof R->lost, "%s", rep.text);
    return MXP_ERR_CLOSED;

failed:
    snprintf(R->lost, sizeof R->lost, "%s", svc->smtp_error(R->s));
    bs_note(d, 0, "test message to <%s> not sent: %s: %s", to, step, R->lost);
    return rc;
}
