/*
 * smtp.c - SMTP client sessions with deadlines and a timed transcript
 * (see smtp.h).
 *
 * One session is one TCP connection plus a reply parser.  Each reply is
 * bounded in TOTAL by min(now + command_timeout, deadline), so a server
 * that trickles one byte a second cannot stretch a wait.  Any network or
 * protocol failure breaks the session for good: later calls return the
 * same status at once, and close does not try QUIT on a link we no longer
 * trust.
 */
#include "smtp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "net.h"
#include "smtp_reply.h"

#define QUIT_WAIT 2.0 /* seconds, at most, for the reply to QUIT */

struct mxp_smtp {
    int fd;
    struct mxp_smtp_options opt;
    char peer[64]; /* "127.0.0.1:25", "[::1]:25" */
    double connect_time;
    int broken;        /* set by any network or protocol failure */
    int err_status;    /* what a broken session returns */
    char err[320];     /* the last failure in words */
    int greeted;       /* a reply has been read */
    char verb[16];     /* first word of the last command, for messages */
    double sent_at;    /* when the command awaiting a reply started going
                          out (or the connect completed); 0: not known */
    struct mxp_buf in; /* received past the last reply (pipelining) */
    struct mxp_reply_parser parser;
    char **ext; /* EHLO extension lines, owned */
    size_t n_ext;
};

static void note(struct mxp_smtp *s, char dir, const char *fmt, ...)
    MXP_PRINTF(3, 4);
static int fail(struct mxp_smtp *s, int status, const char *fmt, ...)
    MXP_PRINTF(3, 4);

/* One transcript line; silently skipped when out of memory, as losing a
 * log line must not change the outcome of a check. */
static void note(struct mxp_smtp *s, char dir, const char *fmt, ...)
{
    va_list ap;
    char *line;

    if (s->opt.transcript == NULL)
        return;
    va_start(ap, fmt);
    line = mxp_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (line == NULL)
        return;
    s->opt.transcript(s->opt.transcript_user, dir, mxp_now() - s->opt.t0, line);
    free(line);
}

static int fail(struct mxp_smtp *s, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    s->broken = 1;
    s->err_status = status;
    note(s, '!', "%s", s->err);
    return status;
}

/* What we were waiting for, for messages: "greeting", "reply to EHLO". */
static void waiting_for(const struct mxp_smtp *s, char *out, size_t len)
{
    if (s->verb[0] != '\0')
        snprintf(out, len, "reply to %s", s->verb);
    else if (!s->greeted)
        snprintf(out, len, "greeting");
    else
        snprintf(out, len, "reply");
}

static void clear_reply(struct mxp_smtp_reply *r)
{
    r->code = 0;
    r->enhanced[0] = '\0';
    r->n_lines = 0;
    r->lines = NULL;
    r->elapsed = 0;
}

static void free_ext(struct mxp_smtp *s)
{
    size_t i;

    for (i = 0; i < s->n_ext; i++)
        free(s->ext[i]);
    free(s->ext);
    s->ext = NULL;
    s->n_ext = 0;
}

/* Sends the parser's lines [*shown, n_lines) to the transcript in their
 * wire form.  Only a reply that is DONE has a last line. */
static void show_lines(struct mxp_smtp *s, size_t *shown)
{
    const struct mxp_reply_parser *p = &s->parser;

    for (; *shown < p->n_lines; (*shown)++) {
        const char *text = p->lines[*shown];
        int last = p->state == MXP_REPLY_DONE && *shown + 1 == p->n_lines;

        if (!last)
            note(s, '<', "%03d-%s", p->code, text);
        else if (text[0] != '\0')
            note(s, '<', "%03d %s", p->code, text);
        else
            note(s, '<', "%03d", p->code);
    }
}

/* The parser's verdict in words; the session becomes broken. */
static int parse_failure(struct mxp_smtp *s, enum mxp_reply_step step)
{
    const char *line = s->parser.error_line ? s->parser.error_line : "";

    switch (step) {
    case MXP_REPLY_LINE_TOO_LONG:
        return fail(s, MXP_ERR_TOO_BIG, "reply line longer than %d bytes",
                    MXP_SMTP_MAX_LINE);
    case MXP_REPLY_TOO_MANY_LINES:
        return fail(s, MXP_ERR_TOO_BIG, "more than %d reply lines",
                    MXP_SMTP_MAX_LINES);
    case MXP_REPLY_TOO_BIG:
        return fail(s, MXP_ERR_TOO_BIG, "reply longer than %d bytes",
                    MXP_SMTP_MAX_REPLY);
    default:
        return fail(s, MXP_ERR_PROTOCOL, "malformed reply: '%s'", line);
    }
}

/* start + timeout capped by the session deadline; a timeout <= 0 leaves
 * the deadline alone in charge. */
static double limit_of(const struct mxp_smtp *s, double start, double timeout)
{
    if (timeout <= 0)
        return s->opt.deadline;
    return mxp_min_deadline(start + timeout, s->opt.deadline);
}

/* Reads one reply, waiting at most timeout seconds in total and never
 * past the deadline.  Bytes after the reply stay in s->in. */
static int read_reply_within(struct mxp_smtp *s, struct mxp_smtp_reply *r,
                             double timeout)
{
    enum mxp_reply_step step = MXP_REPLY_MORE;
    double start = mxp_now();
    double limit = limit_of(s, start, timeout);
    /* A reply's time counts from its command (or from the connect), not
     * from when we got round to reading: it measures the server. */
    double origin = s->sent_at > 0 ? s->sent_at : start;
    size_t shown = 0, used;
    char what[40];
    int rc;

    clear_reply(r);
    if (s->broken)
        return s->err_status;
    mxp_reply_parser_reset(&s->parser);
    waiting_for(s, what, sizeof(what));

    if (s->in.len > 0) {
        step = mxp_reply_parser_feed(&s->parser, s->in.data, s->in.len, &used);
        show_lines(s, &shown);
        mxp_buf_consume(&s->in, used);
    }
    while (step == MXP_REPLY_MORE) {
        char tmp[4096];
        ssize_t n;

        /* A fast trickle must not outlive the limit: recv() would keep
         * finding a byte and never reach the poll that times out. */
        n = mxp_now() >= limit ? -MXP_ERR_TIMEOUT
                               : mxp_net_read(s->fd, tmp, sizeof(tmp), limit);
        if (n < 0) {
            double waited = limit - start;

            r->elapsed = mxp_now() - origin;
            s->sent_at = 0;
            if (n == -MXP_ERR_TIMEOUT)
                return fail(s, MXP_ERR_TIMEOUT,
                            "no reply within %.1f s (waiting for %s)",
                            waited > 0 ? waited : 0.0, what);
            if (n == -MXP_ERR_CLOSED)
                return fail(s, MXP_ERR_CLOSED,
                            "connection closed by server (waiting for %s)",
                            what);
            return fail(s, MXP_ERR_IO, "read error: %s (waiting for %s)",
                        strerror(errno), what);
        }
        step = mxp_reply_parser_feed(&s->parser, tmp, (size_t)n, &used);
        show_lines(s, &shown);
        if (step == MXP_REPLY_DONE && used < (size_t)n) {
            rc = mxp_buf_append(&s->in, tmp + used, (size_t)n - used);
            if (rc != MXP_OK)
                return fail(s, rc, "out of memory");
        }
    }
    r->elapsed = mxp_now() - origin;
    s->sent_at = 0;
    if (step != MXP_REPLY_DONE)
        return parse_failure(s, step);

    s->greeted = 1;
    s->verb[0] = '\0';
    r->code = s->parser.code;
    memcpy(r->enhanced, s->parser.enhanced, sizeof(r->enhanced));
    r->n_lines = s->parser.n_lines;
    r->lines = (const char *const *)s->parser.lines;
    return MXP_OK;
}

/* Without pipelining a server speaks only to answer a command (RFC 5321
 * 4.3.1).  Bytes already waiting when we are about to send one would be
 * read as its answer: a server that sends "250" early would seem to
 * accept what it later refuses.  So they break the session instead. */
static int check_unsolicited(struct mxp_smtp *s)
{
    char peek[64];
    ssize_t n = 0;
    char *shown;
    int rc;

    if (s->in.len == 0) {
        n = recv(s->fd, peek, sizeof(peek), MSG_DONTWAIT | MSG_PEEK);
        if (n <= 0)
            return MXP_OK; /* nothing waiting, or EOF: the send tells */
    }
    shown = s->in.len > 0
                ? mxp_printable_dup(s->in.data, s->in.len > 60 ? 60 : s->in.len)
                : mxp_printable_dup(peek, (size_t)n > 60 ? 60 : (size_t)n);
    rc = fail(s, MXP_ERR_PROTOCOL, "server sent data before our %s: '%s'",
              s->verb, shown != NULL ? shown : "?");
    free(shown);
    return rc;
}

/* Sends line + CRLF within timeout (and the deadline). */
static int send_line(struct mxp_smtp *s, const char *line, double timeout)
{
    double start = mxp_now();
    double limit = limit_of(s, start, timeout);
    struct mxp_buf out;
    size_t vlen;
    int rc;

    if (s->broken)
        return s->err_status;
    if (strpbrk(line, "\r\n") != NULL) {
        /* Our caller's bug, not the server's: the session stays usable. */
        snprintf(s->err, sizeof(s->err),
                 "refusing to send a command containing CR or LF");
        return MXP_ERR_INVALID;
    }
    vlen = strcspn(line, " ");
    if (vlen >= sizeof(s->verb))
        vlen = sizeof(s->verb) - 1;
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)line[i];
        s->verb[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
    }
    s->verb[vlen] = '\0';
    rc = check_unsolicited(s);
    if (rc != MXP_OK)
        return rc;
    s->sent_at = start;

    mxp_buf_init(&out);
    rc = mxp_buf_puts(&out, line);
    if (rc == MXP_OK)
        rc = mxp_buf_append(&out, "\r\n", 2);
    if (rc != MXP_OK) {
        rc = fail(s, rc, "out of memory");
        goto done;
    }
    {
        char *shown = mxp_printable_dup(line, out.len - 2);
        if (shown != NULL)
            note(s, '>', "%s", shown);
        free(shown);
    }
    rc = mxp_net_write_all(s->fd, out.data, out.len, limit);
    if (rc == MXP_ERR_CLOSED)
        rc = fail(s, rc, "connection closed by server (sending %s)", s->verb);
    else if (rc == MXP_ERR_TIMEOUT)
        rc = fail(s, rc, "could not send %s within %.1f s", s->verb,
                  limit - start > 0 ? limit - start : 0.0);
    else if (rc != MXP_OK)
        rc = fail(s, rc, "write error: %s (sending %s)", strerror(errno),
                  s->verb);

done:
    mxp_buf_free(&out);
    return rc;
}

int mxp_smtp_open(const struct mxp_smtp_options *opt, const char *addr,
                  unsigned port, struct mxp_smtp **out)
{
    struct mxp_smtp *s;
    char why[128];
    double start, limit;
    int rc;

    *out = NULL;
    if (opt == NULL || addr == NULL)
        return MXP_ERR_INVALID;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MXP_ERR_NOMEM;
    s->fd = -1;
    s->opt = *opt;
    mxp_buf_init(&s->in);
    mxp_reply_parser_init(&s->parser);
    if (strchr(addr, ':') != NULL)
        snprintf(s->peer, sizeof(s->peer), "[%s]:%u", addr, port);
    else
        snprintf(s->peer, sizeof(s->peer), "%s:%u", addr, port);

    start = mxp_now();
    limit = limit_of(s, start, opt->connect_timeout);
    rc = mxp_tcp_connect(addr, port, limit, &s->fd, why, sizeof(why));
    s->connect_time = mxp_now() - start;
    *out = s;
    if (rc != MXP_OK)
        return fail(s, rc, "cannot connect to %s: %s", s->peer, why);
    note(s, 'C', "connected to %s in %.3f s", s->peer, s->connect_time);
    s->sent_at = mxp_now();
    return MXP_OK;
}

int mxp_smtp_read_reply(struct mxp_smtp *s, struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply dummy;

    if (s == NULL)
        return MXP_ERR_INVALID;
    return read_reply_within(s, r ? r : &dummy, s->opt.command_timeout);
}

int mxp_smtp_command(struct mxp_smtp *s, const char *line,
                     struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply dummy;
    int rc;

    if (r == NULL)
        r = &dummy;
    if (s == NULL || line == NULL) {
        clear_reply(r);
        return MXP_ERR_INVALID;
    }
    rc = send_line(s, line, s->opt.command_timeout);
    if (rc != MXP_OK) {
        clear_reply(r);
        return rc;
    }
    return read_reply_within(s, r, s->opt.command_timeout);
}

/* "EHLO name" / "HELO name" and its reply. */
static int greet(struct mxp_smtp *s, const char *verb, const char *name,
                 struct mxp_smtp_reply *r)
{
    char *line = mxp_strdup_printf("%s %s", verb, name);
    int rc;

    if (line == NULL) {
        clear_reply(r);
        return MXP_ERR_NOMEM;
    }
    rc = mxp_smtp_command(s, line, r);
    free(line);
    return rc;
}

int mxp_smtp_ehlo(struct mxp_smtp *s, const char *name,
                  struct mxp_smtp_reply *r, int *used_helo)
{
    struct mxp_smtp_reply dummy;
    size_t i, n;
    int rc;

    if (r == NULL)
        r = &dummy;
    if (used_helo != NULL)
        *used_helo = 0;
    if (s == NULL || name == NULL) {
        clear_reply(r);
        return MXP_ERR_INVALID;
    }
    free_ext(s);
    rc = greet(s, "EHLO", name, r);
    if (rc != MXP_OK)
        return rc;
    if (r->code >= 500) {
        if (used_helo != NULL)
            *used_helo = 1;
        return greet(s, "HELO", name, r);
    }
    if (r->code / 100 != 2 || r->n_lines < 2)
        return MXP_OK;

    n = r->n_lines - 1;
    s->ext = calloc(n, sizeof(*s->ext));
    if (s->ext == NULL)
        return MXP_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        s->ext[i] = strdup(r->lines[i + 1]);
        if (s->ext[i] == NULL) {
            s->n_ext = i;
            free_ext(s);
            return MXP_ERR_NOMEM;
        }
    }
    s->n_ext = n;
    return MXP_OK;
}

int mxp_smtp_has_extension(struct mxp_smtp *s, const char *keyword)
{
    size_t i, klen;

    if (s == NULL || keyword == NULL)
        return 0;
    klen = strlen(keyword);
    for (i = 0; i < s->n_ext; i++) {
        size_t wlen = strcspn(s->ext[i], " ");

        if (wlen == klen && strncasecmp(s->ext[i], keyword, klen) == 0)
            return 1;
    }
    return 0;
}

size_t mxp_smtp_extensions(struct mxp_smtp *s, const char *const **list)
{
    if (s == NULL) {
        if (list != NULL)
            *list = NULL;
        return 0;
    }
    if (list != NULL)
        *list = (const char *const *)s->ext;
    return s->n_ext;
}

double mxp_smtp_connect_time(struct mxp_smtp *s)
{
    return s != NULL ? s->connect_time : 0.0;
}

const char *mxp_smtp_error(struct mxp_smtp *s)
{
    if (s == NULL)
        return "no session (out of memory or bad arguments)";
    return s->err;
}

void mxp_smtp_close(struct mxp_smtp *s, int send_quit)
{
    if (s == NULL)
        return;
    if (send_quit && s->fd >= 0 && !s->broken) {
        double left = s->opt.deadline - mxp_now();
        double wait = left < QUIT_WAIT ? left : QUIT_WAIT;
        struct mxp_smtp_reply r;

        /* QUIT is a courtesy: skip it when no time is left. */
        if (wait > 0 && send_line(s, "QUIT", wait) == MXP_OK)
            (void)read_reply_within(s, &r, wait);
    }
    if (s->fd >= 0)
        close(s->fd);
    mxp_reply_parser_free(&s->parser);
    mxp_buf_free(&s->in);
    free_ext(s);
    free(s);
}
