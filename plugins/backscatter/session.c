/*
 * session.c - the backscatter check's side of an SMTP session: connect,
 * greeting, EHLO, replies copied out of the core, and the MAIL, RCPT,
 * RSET group of one domain, pipelined or one by one, with the test of
 * whether its replies can be matched to its commands.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "backscatter.h"

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

void bs_copy_reply(struct bs_reply *out, const struct mxp_smtp_reply *r)
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

/* The first word of a reply line into out; "" when it does not fit. */
static void first_word(const char *line, char *out, size_t len)
{
    size_t n = strcspn(line, " \t");

    out[0] = '\0';
    if (n > 0 && n < len) {
        memcpy(out, line, n);
        out[n] = '\0';
    }
}

/* Connect, greeting, EHLO.  On failure says why in R->lost and leaves no
 * session; MXP_ERR_CLOSED (or MXP_ERR_IO) means the server hung up or
 * said 421, which a new connection may get past. */
int bs_session_open(struct bs_run *R)
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
    if (R->greeting_name[0] == '\0' && r.n_lines > 0)
        first_word(r.lines[0], R->greeting_name, sizeof R->greeting_name);
    bs_dns_step(R); /* the PTR names' addresses go out during EHLO */

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
    /* the server's own name, a guess at its domain as the greeting's */
    if (R->ehlo_name[0] == '\0' && r.n_lines > 0)
        first_word(r.lines[0], R->ehlo_name, sizeof R->ehlo_name);
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
void bs_session_drop(struct bs_run *R, const char *why)
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

/* MAIL, RCPT, RSET as one pipelined group, or one by one (then a refused
 * MAIL is not followed by RCPT).  Returns the failure of the first send
 * or read that failed, with the replies read before it in g; a 421 ends
 * the group (the server is closing) with MXP_OK. */
int bs_transaction(struct bs_run *R, const char *from, const char *to,
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
        bs_copy_reply(&g->mail, &r);
        if (g->mail.code == 421)
            return MXP_OK; /* closing: the other replies will not come */
        rc = svc->smtp_read_reply(R->s, &r);
        if (rc != MXP_OK)
            return rc;
        bs_copy_reply(&g->rcpt, &r);
        if (g->rcpt.code == 421)
            return MXP_OK;
        rc = svc->smtp_read_reply(R->s, &r);
        if (rc == MXP_OK)
            bs_copy_reply(&g->rset, &r);
        return rc;
    }

    rc = svc->smtp_command(R->s, l_mail, &r);
    if (rc != MXP_OK)
        return rc;
    bs_copy_reply(&g->mail, &r);
    if (g->mail.code / 100 == 2) {
        rc = svc->smtp_command(R->s, l_rcpt, &r);
        if (rc != MXP_OK)
            return rc;
        bs_copy_reply(&g->rcpt, &r);
    }
    if (g->mail.code == 421 || g->rcpt.code == 421)
        return MXP_OK; /* the server is closing: no RSET */
    if (!plausible(&g->mail) || (g->rcpt.code != 0 && !plausible(&g->rcpt)))
        return MXP_OK; /* out of step: the session is dropped, no RSET */
    rc = svc->smtp_command(R->s, "RSET", &r);
    if (rc == MXP_OK)
        bs_copy_reply(&g->rset, &r);
    return rc;
}

/* Why the replies of g cannot be matched to the commands (into out), or
 * 0 when they can.  A server that answers one command twice shifts every
 * later reply by one: RCPT's reply then shows up as RSET's, and RSET
 * only ever gets 250 (or 421, closing). */
int bs_out_of_step(const struct bs_group *g, char *out, size_t len)
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
