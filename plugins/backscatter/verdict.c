/*
 * verdict.c - what the replies to MAIL and RCPT say of one domain: the
 * user is unknown, the domain is not the server's, authentication is
 * required, the refusal is about our sender or about relaying, or the
 * server accepts mail for a user that does not exist.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backscatter.h"

static int user_unknown(const struct bs_reply *r)
{
    /* RFC 3463: X.1.1 bad mailbox, X.1.0 other address status, X.1.2
     * bad system, X.1.3 bad syntax, X.1.6 moved; X.1.7 and X.1.8 are
     * about the sender, not the user. */
    static const char *const user[] = {"5.1.0", "5.1.1", "5.1.2",
                                       "5.1.3", "5.1.6", NULL};

    if (r->enhanced[0] != '\0') {
        for (size_t i = 0; user[i] != NULL; i++)
            if (strcmp(r->enhanced, user[i]) == 0)
                return 1;
        return 0;
    }
    return r->code == 550 || r->code == 551 || r->code == 553;
}

/* The refusal is about our sender (Postfix's smtpd_delay_reject answers
 * sender restrictions at RCPT): it says nothing of the recipient.  The
 * core reads the reply; naming the recipient wins over the code. */
static int refuses_sender(const struct mxp_services *svc,
                          const struct bs_reply *r)
{
    unsigned about = svc->reply_about(r->code, r->text);

    return (about & MXP_ABOUT_SENDER) && !(about & MXP_ABOUT_RECIPIENT);
}

/* A refusal that is about relaying, whatever its code: Postfix's default
 * defer_unauth_destination says "454 4.7.1 <x>: Relay access denied",
 * temporary only so that a config mistake defers mail instead of
 * bouncing it. */
static int denies_relaying(const struct mxp_services *svc,
                           const struct bs_reply *r)
{
    return (svc->reply_about(r->code, r->text) & MXP_ABOUT_RELAYING) != 0;
}

void bs_set_verdict(struct bs_domain *d, enum bs_verdict v, const char *fmt,
                    ...)
{
    va_list ap;

    d->verdict = v;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof d->why, fmt, ap);
    va_end(ap);
}

void bs_classify(struct bs_run *R, struct bs_domain *d,
                 const struct bs_reply *mail, const struct bs_reply *rcpt)
{
    const char *from = R->ctx->probe != NULL && R->ctx->probe->mail_from
                           ? R->ctx->probe->mail_from
                           : "";

    if (mail->code == 530 || (mail->code / 100 == 2 && rcpt->code == 530))
        bs_set_verdict(d, BS_AUTH, "%s",
                       mail->code == 530 ? mail->text : rcpt->text);
    else if (mail->code / 100 != 2)
        /* Refused before any recipient: nothing is known of the users. */
        bs_set_verdict(d, BS_INCONCLUSIVE, "MAIL FROM:<%s> refused: %s", from,
                       mail->text);
    else if (rcpt->code / 100 == 2)
        bs_set_verdict(d, BS_ACCEPTS, "%s", rcpt->text);
    else if (refuses_sender(R->svc, rcpt))
        bs_set_verdict(d, BS_INCONCLUSIVE, "sender <%s> refused: %s", from,
                       rcpt->text);
    else if (rcpt->code / 100 == 5 && user_unknown(rcpt))
        bs_set_verdict(d, BS_REJECTS_USER, "%s", rcpt->text);
    else if (rcpt->code / 100 == 5 ||
             (rcpt->code / 100 == 4 && denies_relaying(R->svc, rcpt)))
        bs_set_verdict(d, BS_NO_MAIL, "%s", rcpt->text);
    else
        bs_set_verdict(d, BS_INCONCLUSIVE, "%s", rcpt->text);
}
