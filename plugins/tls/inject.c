/*
 * inject.c - the tls check's STARTTLS command injection test
 * (CVE-2011-0411): STARTTLS and NOOP go out in one write (probes.c); a
 * server that keeps the NOOP it read in clear and runs it inside the TLS
 * session is vulnerable.
 */
#include <stdio.h>
#include <string.h>

#include "probes.h"

/* The injection test over TLS.  A vulnerable server runs the NOOP it
 * read in clear before our next command, so HELP (answered 214 or 5xx,
 * never 250) tells in one round trip: a 250 first is the NOOP's.  A
 * server that answers HELP with 250 is told apart by the second reply
 * only a vulnerable one sends (tls_inject_verdict). */
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

void tls_inject_ask(struct loop *l, struct conn *c)
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
    tls_probe_finish(l, c, 0);
}

void tls_inject_help(struct loop *l, struct conn *c,
                     const struct mxp_smtp_reply *rp)
{
    tls_reply_words(rp, c->first, sizeof(c->first));
    if (rp->code == 250) {
        c->ph = PH_INJECT_WAIT; /* held, not waited on: see finish() */
        l->active--;
        l->held++;
        return;
    }
    l->r->sv.inject = TI_SAFE;
    tls_probe_finish(l, c, 0);
}

/* HELP got a 250: a second reply, which only a server that ran the
 * smuggled NOOP first owes, settles it. */
void tls_inject_verdict(struct loop *l, struct conn *c)
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
    tls_probe_finish(l, c, 0);
}

/* Starts the queued probes that may go now: room under the cap (one
 * at least, whatever is held), and no pause to wait out.  The seconds
 * until the next one may go when some must wait, else 0. */
