/*
 * session.c - the relay check's side of an SMTP conversation: connect,
 * greeting, EHLO, the server's own name (S and R of the forms), and
 * commands and replies with the reason of any failure kept in words.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "relay.h"

void relay_copy_reply(struct reply_copy *out,
                      const struct mxp_smtp_reply *rep)
{
    out->code = rep->code;
    snprintf(out->text, sizeof(out->text), "%d %.200s", rep->code,
             rep->n_lines > 0 ? rep->lines[0] : "");
}

/* Lowercase, one trailing dot dropped ("mail.example.org." is a fine DNS
 * name but no SMTP domain); "" unless a host name then. */
static void clean_name(const struct mxp_services *svc, char *name)
{
    size_t n = strlen(name);

    for (char *p = name; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (n > 1 && name[n - 1] == '.')
        name[n - 1] = '\0';
    if (!svc->is_host_name(name) || strspn(strrchr(name, '.') + 1,
                                           "0123456789") ==
                                        strlen(strrchr(name, '.') + 1))
        name[0] = '\0'; /* not a name, or an address ("10.0.0.1") */
}

/* The first word of a greeting or EHLO line, when it is a host name. */
static void name_of(const struct mxp_services *svc, const char *line,
                    char *out, size_t len)
{
    size_t n = strcspn(line, " ");

    out[0] = '\0';
    if (n == 0 || n >= len)
        return;
    memcpy(out, line, n);
    out[n] = '\0';
    clean_name(svc, out);
}

/* S and R: the configured domain, else the greeting's or EHLO's name,
 * else the address literal. */
void relay_learn_server_name(struct relay_run *r, const char *greeting,
                             const char *ehlo)
{
    const struct mxp_services *svc = r->svc;
    const char *domain = r->ctx->target->domain, *own;
    char name[RELAY_NAME_LEN] = "";

    if (r->server[0] != '\0')
        return;
    if (domain != NULL && strlen(domain) < sizeof(name)) {
        snprintf(name, sizeof(name), "%s", domain);
        clean_name(svc, name);
    }
    if (name[0] == '\0')
        name_of(svc, greeting, name, sizeof(name));
    if (name[0] == '\0')
        name_of(svc, ehlo, name, sizeof(name));
    if (name[0] == '\0')
        snprintf(name, sizeof(name), "%s", r->literal);
    snprintf(r->server, sizeof(r->server), "%s", name);
    own = svc->is_host_name(name) ? svc->registered_domain(r->ctx, name)
                                  : NULL;
    snprintf(r->own, sizeof(r->own), "%s", own != NULL ? own : "");
}

void relay_failed(struct relay_run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->failure, sizeof(r->failure), fmt, ap);
    va_end(ap);
}

struct mxp_smtp *relay_open_session(struct relay_run *r, int *retry)
{
    const struct mxp_services *svc = r->svc;
    const struct mxp_target *t = r->ctx->target;
    struct mxp_smtp *s = NULL;
    struct mxp_smtp_reply rep;
    char greeting[RELAY_REPLY_LEN];
    int rc;

    *retry = 0;
    if (svc->remaining(r->ctx) < RELAY_MIN_LEFT) {
        relay_failed(r, "no time left before the deadline");
        return NULL;
    }
    rc = svc->smtp_open(r->ctx, t->addr, t->port, &s);
    if (rc == MXP_OK) {
        r->connections++; /* every TCP connection counts, greeted or not */
        rc = svc->smtp_read_reply(s, &rep);
    }
    if (rc != MXP_OK) {
        *retry = rc == MXP_ERR_CLOSED;
        relay_failed(r, "%s", s != NULL ? svc->smtp_error(s) : svc->strerror(rc));
        goto fail;
    }
    if (rep.code != 220) {
        *retry = rep.code == 421;
        relay_failed(r, "greeting %d %.200s", rep.code,
               rep.n_lines ? rep.lines[0] : "");
        goto fail;
    }
    snprintf(greeting, sizeof(greeting), "%s",
             rep.n_lines ? rep.lines[0] : "");
    rc = svc->smtp_ehlo(s, r->ctx->probe->helo_name, &rep, NULL);
    if (rc != MXP_OK || rep.code / 100 != 2) {
        *retry = rc == MXP_ERR_CLOSED || rep.code == 421;
        if (rc != MXP_OK)
            relay_failed(r, "%s", svc->smtp_error(s));
        else
            relay_failed(r, "EHLO and HELO refused: %d %.200s", rep.code,
                   rep.n_lines ? rep.lines[0] : "");
        goto fail;
    }
    relay_learn_server_name(r, greeting, rep.n_lines ? rep.lines[0] : "");
    r->pipelining =
        !r->no_pipelining && svc->smtp_has_extension(s, "PIPELINING");
    return s;

fail:
    svc->smtp_close(s, 0);
    return NULL;
}

int relay_say(struct relay_run *r, struct mxp_smtp *s, const char *fmt, ...)
{
    char line[RELAY_ADDR_LEN + 32];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    rc = r->svc->smtp_send(s, line);
    if (rc != MXP_OK)
        relay_failed(r, "%s", r->svc->smtp_error(s));
    return rc;
}

int relay_hear(struct relay_run *r, struct mxp_smtp *s,
               struct reply_copy *out)
{
    struct mxp_smtp_reply rep;
    int rc = r->svc->smtp_read_reply(s, &rep);

    if (rc != MXP_OK) {
        out->code = 0;
        snprintf(out->text, sizeof(out->text), "%s", r->svc->smtp_error(s));
        relay_failed(r, "%s", out->text);
        return rc;
    }
    relay_copy_reply(out, &rep);
    if (rep.code == 421) {
        /* The server is closing the session: its words are the reason. */
        relay_failed(r, "%s", out->text);
        return MXP_ERR_CLOSED;
    }
    return MXP_OK;
}
