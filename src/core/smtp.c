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
 *
 * TLS (STARTTLS after its 220, or implicit TLS right after the connect)
 * sits under the same code: once the handshake is done every read and
 * write goes through tls.c with the same limits (sess_read,
 * sess_write_all), and the waits of mxp_smtp_wait poll for what OpenSSL
 * wants, counting what it already holds as readable.
 */
#include "smtp.h"

#include <errno.h>
#include <poll.h>
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
#include "tls.h"
#include "tls_hello.h"

#define QUIT_WAIT 2.0 /* seconds, at most, for the reply to QUIT */
#define MAX_OWED 64    /* replies a pipelining client may be owed */
#define MAX_MESSAGE (1024 * 1024) /* bytes of a test message */

/* What a command does to the mail transaction when it succeeds; the
 * session tracks it so that only the operator's own mail can complete. */
enum cmd_kind { CMD_KEEP, CMD_RESET, CMD_MAIL, CMD_RCPT, CMD_DATA,
                CMD_MESSAGE };

/* Where a session stands with TLS (ABI 1.3). */
enum tls_state {
    TLS_NONE,      /* plain text */
    TLS_PENDING,   /* implicit TLS asked for while the connect runs */
    TLS_HANDSHAKE, /* under way */
    TLS_UP,        /* every read and write goes through s->tls */
    TLS_FAILED,    /* the handshake failed: the session is broken */
};

/* A reply we are owed: the command's first word (for messages), when it
 * went out (a reply's time counts from its command), and what it was. */
struct owed {
    char verb[16];
    double sent_at;
    enum cmd_kind kind;
    int mine; /* MAIL/RCPT: the address is the operator's own mailbox */
};

struct mxp_smtp {
    int fd;
    struct mxp_smtp_options opt;
    char peer[64]; /* "127.0.0.1:25", "[::1]:25" */
    unsigned port;
    unsigned tag;         /* sessions of open_start: "#n " on each
                             transcript line, as several run at once */
    double connect_time;
    int connecting;       /* the TCP connect is under way (open_start) */
    double connect_start, connect_limit;
    double wait_start;    /* mxp_smtp_wait began waiting for the next
                             reply then (0: not yet): its timeout counts
                             from there, as a read's counts from its call */
    int peer_gone;        /* mxp_smtp_wait saw EOF or an error: the next
                             read reports it */
    int broken;        /* set by any network or protocol failure */
    int send_closed;   /* a send found the connection closed: nothing
                          more goes out, but replies the server sent
                          before it hung up can still be read */
    int send_status;   /* what a send then returns */
    int err_status;    /* what a broken session returns */
    char err[320];     /* the last failure in words */
    int greeted;       /* a reply has been read */
    struct owed owed[MAX_OWED]; /* ring of replies owed, oldest first */
    size_t owed_head, n_owed;
    int in_message;    /* a 354 came: everything we send is content */
    int txn_mine;      /* this transaction's MAIL or an accepted RCPT is
                          the own mailbox: only then may it complete */
    struct mxp_buf in; /* received past the last reply (pipelining) */
    struct mxp_buf out; /* pipelined commands not written yet: a group
                           goes out in one write (RFC 2920 3.1) */
    size_t n_unsent;    /* owed replies whose commands are in out */
    int in_group;       /* replies of a pipelined group are being read */
    struct mxp_reply_parser parser;
    char **ext; /* EHLO extension lines, owned */
    size_t n_ext;
    char io_err[160];    /* why the last read or write failed */
    struct mxp_tls *tls; /* NULL until smtp_tls_start */
    enum tls_state tls_state;
    short tls_events;            /* what the TLS layer waits for */
    double tls_start, tls_limit; /* the handshake's start and limit */
    int tls_status;              /* of a failed handshake */
    int tls_notify;              /* done, not yet reported by mxp_smtp_wait */
    const struct mxp_tls_info *tls_info;
    int hello;            /* a bare ClientHello is out: its answer is
                             gathered in s->in (tls_hello_result reads) */
    double hello_start, hello_limit;
};

static void note(struct mxp_smtp *s, char dir, const char *fmt, ...)
    MXP_PRINTF(3, 4);
static int flush_out(struct mxp_smtp *s, double timeout);
static void owe(struct mxp_smtp *s, const struct owed *o);
static int fail(struct mxp_smtp *s, int status, const char *fmt, ...)
    MXP_PRINTF(3, 4);
static int tls_begin(struct mxp_smtp *s, int may_refuse);
static void tls_step(struct mxp_smtp *s);
static int tls_timeout(struct mxp_smtp *s);
static int hello_timeout(struct mxp_smtp *s);
static int ensure_tls(struct mxp_smtp *s);
static void pull(struct mxp_smtp *s);

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
    if (s->tag != 0) {
        char *tagged = mxp_strdup_printf("#%u %s", s->tag, line);

        free(line);
        if ((line = tagged) == NULL)
            return;
    }
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

/* The oldest reply owed, or NULL. */
static struct owed *owed_first(struct mxp_smtp *s)
{
    return s->n_owed > 0 ? &s->owed[s->owed_head] : NULL;
}

/* What we were waiting for, for messages: "greeting", "reply to EHLO". */
static void waiting_for(struct mxp_smtp *s, char *out, size_t len)
{
    const struct owed *o = owed_first(s);

    if (o != NULL && o->verb[0] != '\0')
        snprintf(out, len, "reply to %s", o->verb);
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

/* A reply came for the oldest command owed one: forget it, and follow
 * the transaction it opened, extended or ended. */
static void settle_owed(struct mxp_smtp *s, int code)
{
    const struct owed *o = owed_first(s);
    int ok = code / 100 == 2;

    if (o == NULL)
        return; /* a reply nobody asked for: the caller reads on */
    switch (o->kind) {
    case CMD_RESET:
        s->txn_mine = 0;
        break;
    case CMD_MAIL:
        s->txn_mine = ok && o->mine;
        break;
    case CMD_RCPT:
        if (ok && o->mine)
            s->txn_mine = 1;
        break;
    case CMD_DATA:
        break;
    case CMD_MESSAGE:
        s->in_message = 0;
        s->txn_mine = 0;
        break;
    case CMD_KEEP:
        break;
    }
    /* Whatever the command (even the final dot), a 354 means the server
     * now takes content. */
    if (code == 354)
        s->in_message = 1;
    s->owed_head = (s->owed_head + 1) % MAX_OWED;
    s->n_owed--;
}

/* ", the end of the run's time" when the deadline, not the timeout, set
 * limit for a wait that began at start: the words then say it was our
 * clock, not the server's slowness; "" otherwise. */
static const char *cut_by_deadline(const struct mxp_smtp *s, double start,
                                   double timeout, double limit)
{
    return limit >= s->opt.deadline &&
                   (timeout <= 0 || start + timeout > s->opt.deadline)
               ? ", the end of the run's time"
               : "";
}

/* The timeout failure of a wait for a reply that began at start with
 * timeout and ended at limit: it says when it was our deadline, not the
 * server's slowness, that cut the wait short. */
static int reply_timeout(struct mxp_smtp *s, double start, double timeout,
                         double limit)
{
    double waited = limit - start;
    char what[40];

    waiting_for(s, what, sizeof(what));
    return fail(s, MXP_ERR_TIMEOUT, "no reply within %.1f s%s (waiting for %s)",
                waited > 0 ? waited : 0.0,
                cut_by_deadline(s, start, timeout, limit), what);
}

/* The connection is up: the greeting is owed from now. */
static void connected(struct mxp_smtp *s)
{
    struct owed greeting = {.sent_at = mxp_now(), .kind = CMD_KEEP};

    s->connecting = 0;
    s->connect_time = mxp_now() - s->connect_start;
    note(s, 'C', "connected to %s in %.3f s", s->peer, s->connect_time);
    owe(s, &greeting);
    if (s->tls_state == TLS_PENDING)
        (void)tls_begin(s, 0); /* implicit TLS asked while connecting */
}

/* A connect under way polled ready: its outcome. */
static int connect_done(struct mxp_smtp *s)
{
    char why[256];
    int rc = mxp_tcp_connect_finish(s->fd, s->port, why, sizeof(why));

    if (rc != MXP_OK) {
        s->connecting = 0;
        s->connect_time = mxp_now() - s->connect_start;
        return fail(s, rc, "cannot connect to %s: %s", s->peer, why);
    }
    connected(s);
    return MXP_OK;
}

/* A connect that ran out of time.  When the run's deadline, not
 * probe.connect_timeout, cut it short, nothing is known of the path: no
 * port 25 hint then, and the words say whose time ran out. */
static int connect_expired(struct mxp_smtp *s)
{
    char why[256];
    double timeout = s->opt.connect_timeout;

    s->connecting = 0;
    s->connect_time = mxp_now() - s->connect_start;
    if (s->connect_limit >= s->opt.deadline &&
        (timeout <= 0 || s->connect_start + timeout > s->opt.deadline))
        return fail(s, MXP_ERR_TIMEOUT,
                    "cannot connect to %s: not connected after %.1f s, the "
                    "end of the run's time",
                    s->peer, s->connect_time > 0 ? s->connect_time : 0.0);
    mxp_tcp_connect_timeout_words(s->port, s->connect_time, why, sizeof(why));
    return fail(s, MXP_ERR_TIMEOUT, "cannot connect to %s: %s", s->peer, why);
}

/* Finishes a connect begun by open_start, waiting for it at most until
 * its limit. */
static int ensure_connected(struct mxp_smtp *s)
{
    while (s->connecting && !s->broken) {
        struct pollfd p = {.fd = s->fd, .events = POLLOUT};
        int rc;

        if (mxp_poll_ms(s->connect_limit) == 0)
            return connect_expired(s);
        rc = poll(&p, 1, mxp_poll_ms(s->connect_limit));
        if (rc < 0 && errno != EINTR)
            return fail(s, MXP_ERR_IO, "cannot connect to %s: poll: %s",
                        s->peer, strerror(errno));
        if (rc > 0)
            (void)connect_done(s);
    }
    return s->broken ? s->err_status : MXP_OK;
}

/* Keeps the EHLO extensions (lines 2..n of a 2xx reply to EHLO); any
 * other reply to EHLO or HELO leaves none. */
static int keep_extensions(struct mxp_smtp *s, const char *verb)
{
    const struct mxp_reply_parser *p = &s->parser;
    size_t i, n;

    if (strcasecmp(verb, "EHLO") != 0 && strcasecmp(verb, "HELO") != 0)
        return MXP_OK;
    free_ext(s);
    if (strcasecmp(verb, "EHLO") != 0 || p->code / 100 != 2 ||
        p->n_lines < 2)
        return MXP_OK;
    n = p->n_lines - 1;
    s->ext = calloc(n, sizeof(*s->ext));
    if (s->ext == NULL)
        return fail(s, MXP_ERR_NOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        s->ext[i] = strdup(p->lines[i + 1]);
        if (s->ext[i] == NULL) {
            s->n_ext = i;
            free_ext(s);
            return fail(s, MXP_ERR_NOMEM, "out of memory");
        }
    }
    s->n_ext = n;
    return MXP_OK;
}

/* ---- the session's bytes: plain or through TLS ----------------------- */

/* Reads what is there (at most len bytes), waiting until limit: as
 * mxp_net_read, through TLS once it is up; s->io_err says why on
 * -MXP_ERR_IO. */
static ssize_t sess_read(struct mxp_smtp *s, void *buf, size_t len,
                         double limit)
{
    ssize_t n;
    short ev = POLLIN;
    int w;

    if (s->tls_state != TLS_UP) {
        n = mxp_net_read(s->fd, buf, len, limit);
        if (n == -MXP_ERR_IO)
            snprintf(s->io_err, sizeof(s->io_err), "%s", strerror(errno));
        return n;
    }
    for (;;) {
        /* Try first: bytes OpenSSL holds are returned even at the limit. */
        n = mxp_tls_read(s->tls, buf, len, &ev, s->io_err, sizeof(s->io_err));
        if (n != MXP_TLS_AGAIN)
            return n;
        s->tls_events = ev;
        /* A trickle of a record's bytes keeps the socket readable: the
         * limit must be checked here, not left to poll(). */
        if (mxp_poll_ms(limit) == 0)
            return -MXP_ERR_TIMEOUT;
        w = mxp_net_wait_fd(s->fd, ev, limit);
        if (w == 0)
            return -MXP_ERR_TIMEOUT;
        if (w < 0) {
            snprintf(s->io_err, sizeof(s->io_err), "poll: %s", strerror(errno));
            return -MXP_ERR_IO;
        }
    }
}

/* Writes all of data before limit, plain or through TLS: MXP_OK,
 * MXP_ERR_CLOSED (the peer hung up), MXP_ERR_TIMEOUT, or MXP_ERR_IO /
 * MXP_ERR_PROTOCOL with s->io_err. */
static int sess_write_all(struct mxp_smtp *s, const char *data, size_t len,
                          double limit)
{
    if (s->tls_state != TLS_UP) {
        int rc = mxp_net_write_all(s->fd, data, len, limit);

        if (rc == MXP_ERR_IO && (errno == EPIPE || errno == ECONNRESET))
            return MXP_ERR_CLOSED;
        if (rc == MXP_ERR_IO)
            snprintf(s->io_err, sizeof(s->io_err), "%s", strerror(errno));
        return rc;
    }
    while (len > 0) {
        short ev = POLLOUT;
        ssize_t n =
            mxp_tls_write(s->tls, data, len, &ev, s->io_err, sizeof(s->io_err));
        int w;

        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n != MXP_TLS_AGAIN)
            return n == 0 ? MXP_ERR_IO : (int)-n;
        if (mxp_poll_ms(limit) == 0)
            return MXP_ERR_TIMEOUT;
        w = mxp_net_wait_fd(s->fd, ev, limit);
        if (w == 0)
            return MXP_ERR_TIMEOUT;
        if (w < 0) {
            snprintf(s->io_err, sizeof(s->io_err), "poll: %s", strerror(errno));
            return MXP_ERR_IO;
        }
    }
    return MXP_OK;
}

/* The printable start of bytes the server sent that nobody asked for
 * yet (kept in s->in, waiting in the socket, or, over TLS, readable
 * now), malloc()ed; NULL when there are none.  Over TLS, what is read
 * here stays in s->in. */
static char *early_bytes(struct mxp_smtp *s)
{
    char peek[64];
    ssize_t n = 0;

    if (s->in.len == 0 && s->connecting)
        return NULL;
    if (s->in.len == 0 && s->tls_state == TLS_UP) {
        short ev;
        char err[160];
        char tmp[4096];

        n = mxp_tls_read(s->tls, tmp, sizeof(tmp), &ev, err, sizeof(err));
        if (n <= 0 || mxp_buf_append(&s->in, tmp, (size_t)n) != MXP_OK)
            return NULL; /* nothing, or a failure the next read tells */
    } else if (s->in.len == 0) {
        n = recv(s->fd, peek, sizeof(peek), MSG_DONTWAIT | MSG_PEEK);
        if (n <= 0)
            return NULL;
        return mxp_printable_dup(peek, (size_t)n > 60 ? 60 : (size_t)n);
    }
    return mxp_printable_dup(s->in.data, s->in.len > 60 ? 60 : s->in.len);
}

/* Reads one reply, waiting at most timeout seconds in total and never
 * past the deadline.  Bytes after the reply stay in s->in. */
static int read_reply_within(struct mxp_smtp *s, struct mxp_smtp_reply *r,
                             double timeout)
{
    enum mxp_reply_step step = MXP_REPLY_MORE;
    double start = mxp_now();
    double limit;
    const struct owed *o;
    double origin;
    size_t shown = 0, used;
    char what[40], verb[16];
    int rc;

    clear_reply(r);
    s->wait_start = 0;
    if (s->broken)
        return s->err_status;
    if (s->connecting && (rc = ensure_connected(s)) != MXP_OK)
        return rc;
    if ((rc = ensure_tls(s)) != MXP_OK)
        return rc;
    s->tls_notify = 0; /* the caller is past the handshake */
    /* Held commands go out now; if the server has hung up, what it said
     * before is still worth reading. */
    if (s->out.len > 0 && (rc = flush_out(s, timeout)) != MXP_OK &&
        !s->send_closed)
        return rc;
    /* A reply's time counts from its command (or from the connect), not
     * from when we got round to reading: it measures the server. */
    o = owed_first(s);
    origin = o != NULL ? o->sent_at : start;
    snprintf(verb, sizeof(verb), "%s", o != NULL ? o->verb : "");
    /* Goodbye is a courtesy: a server that never says it gets no more
     * than close would give it. */
    if (o != NULL && strcasecmp(o->verb, "QUIT") == 0 &&
        (timeout <= 0 || timeout > QUIT_WAIT))
        timeout = QUIT_WAIT;
    limit = limit_of(s, start, timeout);
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
                               : sess_read(s, tmp, sizeof(tmp), limit);
        if (n < 0) {
            r->elapsed = mxp_now() - origin;
            if (n == -MXP_ERR_TIMEOUT)
                return reply_timeout(s, start, timeout, limit);
            if (n == -MXP_ERR_CLOSED)
                return fail(s, MXP_ERR_CLOSED,
                            "connection closed by server (waiting for %s)",
                            what);
            return fail(s, MXP_ERR_IO, "read error: %s (waiting for %s)",
                        s->io_err, what);
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
    if (step != MXP_REPLY_DONE)
        return parse_failure(s, step);

    s->greeted = 1;
    settle_owed(s, s->parser.code);
    if ((rc = keep_extensions(s, verb)) != MXP_OK)
        return rc;
    if (s->in_group && s->n_owed == 0 && s->in.len > 0) {
        /* Every reply owed is in, yet more came: the replies and our
         * commands are out of step, and so may be what we just read. */
        char *extra = mxp_printable_dup(s->in.data,
                                        s->in.len > 60 ? 60 : s->in.len);
        rc = fail(s, MXP_ERR_PROTOCOL, "more replies than commands: '%s'",
                  extra != NULL ? extra : "?");
        free(extra);
        return rc;
    }
    if (s->n_owed == 0)
        s->in_group = 0;
    r->code = s->parser.code;
    memcpy(r->enhanced, s->parser.enhanced, sizeof(r->enhanced));
    r->n_lines = s->parser.n_lines;
    r->lines = (const char *const *)s->parser.lines;
    return MXP_OK;
}

/* Without pipelining a server speaks only to answer a command (RFC 5321
 * 4.3.1).  Bytes already waiting when we are about to send one, with no
 * reply owed, would be read as its answer: a server that sends "250"
 * early would seem to accept what it later refuses.  So they break the
 * session instead. */
static int check_unsolicited(struct mxp_smtp *s, const char *verb)
{
    char *shown;
    int rc;

    if (s->n_owed > 0)
        return MXP_OK; /* pipelining: replies are on their way */
    if ((shown = early_bytes(s)) == NULL)
        return MXP_OK; /* nothing waiting, or EOF: the send tells */
    rc = fail(s, MXP_ERR_PROTOCOL, "server sent data before our %s: '%s'", verb,
              shown);
    free(shown);
    return rc;
}
/* 1 when the address in "MAIL FROM:<addr> ..." / "RCPT TO:<addr>" (after
 * prefix) is the operator's own mailbox. */
static int names_own_mailbox(const struct mxp_smtp *s, const char *line,
                             size_t prefix)
{
    const char *own = s->opt.own_mailbox;
    const char *a = line + prefix, *end;

    if (own == NULL || own[0] == '\0')
        return 0;
    while (*a == ' ')
        a++;
    if (*a != '<')
        return 0;
    a++;
    end = strchr(a, '>');
    return end != NULL && (size_t)(end - a) == strlen(own) &&
           strncasecmp(a, own, strlen(own)) == 0;
}

/* The first word of line, printable, for messages and the owed ring. */
static void first_word(const char *line, char *verb, size_t len)
{
    size_t i, n = strcspn(line, " ");

    if (n >= len)
        n = len - 1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        verb[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
    }
    verb[n] = '\0';
}

/* What the command does to the transaction.  Only the plain spellings
 * "MAIL FROM:<own>" and "RCPT TO:<own>" can grant the right to complete
 * a message; any command that might start a new transaction (MAIL in
 * any spelling, RSET, HELO, SEND, SAML...) takes it away.  Commands
 * known to leave the transaction alone keep it. */
static void classify(const struct mxp_smtp *s, const char *line,
                     struct owed *o)
{
    static const char *const keep[] = {"NOOP", "VRFY", "EXPN", "HELP",
                                       NULL};

    o->kind = CMD_RESET;
    o->mine = 0;
    if (strcasecmp(o->verb, "MAIL") == 0) {
        o->kind = CMD_MAIL;
        if (strncasecmp(line, "MAIL FROM:", 10) == 0)
            o->mine = names_own_mailbox(s, line, 10);
    } else if (strcasecmp(o->verb, "RCPT") == 0) {
        o->kind = CMD_RCPT;
        if (strncasecmp(line, "RCPT TO:", 8) == 0)
            o->mine = names_own_mailbox(s, line, 8);
    } else if (strcasecmp(o->verb, "DATA") == 0) {
        o->kind = CMD_DATA;
    } else {
        for (size_t i = 0; keep[i] != NULL; i++)
            if (strcasecmp(o->verb, keep[i]) == 0)
                o->kind = CMD_KEEP;
    }
}

/* Commands that must never go out as plain commands: inside a message
 * every line is content, and BDAT carries content of its own, so either
 * could complete a message behind the guard of smtp_send_message. */
static int refuse_command(struct mxp_smtp *s, const char *line,
                          const char *verb)
{
    const char *why = NULL;
    size_t i;

    for (i = 0; line[i] != '\0'; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            break;
    if (line[i] == '\r' || line[i] == '\n')
        why = "refusing to send a command containing CR or LF";
    else if (line[i] != '\0')
        why = "refusing to send a command containing control characters";
    else if (line[0] == ' ')
        /* The verb must be where the server (and this guard) look. */
        why = "refusing to send a command starting with a space";
    else if (s->in_message || (s->n_owed > 0 &&
                                s->owed[(s->owed_head + s->n_owed - 1) %
                                        MAX_OWED].kind == CMD_DATA))
        why = "refusing to send a command inside a message (after DATA)";
    else if (strcasecmp(verb, "BDAT") == 0)
        why = "refusing to send BDAT (it would carry a message)";
    else if (s->n_owed >= MAX_OWED)
        why = "refusing to send: too many replies owed";
    if (why == NULL)
        return MXP_OK;
    /* Our caller's bug, not the server's: the session stays usable. */
    snprintf(s->err, sizeof(s->err), "%s", why);
    return MXP_ERR_INVALID;
}

/* Writes data within limit; failures are named after verb.  A peer that
 * hung up ends the sending only: a pipelining server may have answered
 * several commands before it closed, and those replies still count. */
static int write_within(struct mxp_smtp *s, const char *data, size_t len,
                        const char *verb, double start, double limit)
{
    int rc = sess_write_all(s, data, len, limit);

    if (rc == MXP_ERR_CLOSED) {
        snprintf(s->err, sizeof(s->err),
                 "connection closed by server (sending %s)", verb);
        note(s, '!', "%s", s->err);
        s->send_closed = 1;
        s->send_status = rc = MXP_ERR_CLOSED;
    } else if (rc == MXP_ERR_TIMEOUT)
        rc = fail(s, rc, "could not send %s within %.1f s", verb,
                  limit - start > 0 ? limit - start : 0.0);
    else if (rc != MXP_OK)
        rc = fail(s, rc, "write error: %s (sending %s)", s->io_err, verb);
    return rc;
}

/* Owes the reply to o, sent at o->sent_at. */
static void owe(struct mxp_smtp *s, const struct owed *o)
{
    s->owed[(s->owed_head + s->n_owed) % MAX_OWED] = *o;
    s->n_owed++;
}

/* Sends line + CRLF within timeout (and the deadline); its reply is owed. */
/* Writes the pipelined commands held in s->out; their replies' times
 * count from now. */
static int flush_out(struct mxp_smtp *s, double timeout)
{
    double start = mxp_now();
    size_t i, first = s->n_owed - s->n_unsent;
    const char *verb;
    int rc;

    if (s->out.len == 0)
        return MXP_OK;
    if (s->connecting && (rc = ensure_connected(s)) != MXP_OK)
        return rc;
    if ((rc = ensure_tls(s)) != MXP_OK)
        return rc;
    for (i = first; i < s->n_owed; i++)
        s->owed[(s->owed_head + i) % MAX_OWED].sent_at = start;
    verb = s->owed[(s->owed_head + first) % MAX_OWED].verb;
    rc = write_within(s, s->out.data, s->out.len, verb, start,
                      limit_of(s, start, timeout));
    s->out.len = 0;
    s->n_unsent = 0;
    return rc;
}

/* Sends line + CRLF within timeout (and the deadline), or with hold keeps
 * it for the next flush; its reply is owed either way. */
static int send_line(struct mxp_smtp *s, const char *line, double timeout,
                     int hold)
{
    struct owed o;
    int rc;

    if (s->broken)
        return s->err_status;
    if (s->send_closed)
        return s->send_status;
    first_word(line, o.verb, sizeof(o.verb));
    rc = refuse_command(s, line, o.verb);
    if (rc != MXP_OK)
        return rc;
    /* A handshake under way ends first: its bytes are not unsolicited. */
    if ((rc = ensure_tls(s)) != MXP_OK)
        return rc;
    s->tls_notify = 0;
    rc = check_unsolicited(s, o.verb);
    if (rc != MXP_OK)
        return rc;
    classify(s, line, &o);
    o.sent_at = mxp_now();

    rc = mxp_buf_puts(&s->out, line);
    if (rc == MXP_OK)
        rc = mxp_buf_append(&s->out, "\r\n", 2);
    if (rc != MXP_OK)
        return fail(s, rc, "out of memory");
    {
        char *shown = mxp_printable_dup(line, strlen(line));
        if (shown != NULL)
            note(s, '>', "%s", shown);
        free(shown);
    }
    owe(s, &o);
    s->n_unsent++;
    s->in_group |= hold;
    return hold ? MXP_OK : flush_out(s, timeout);
}

/* A session, its connect begun; tag 0 for none (see struct mxp_smtp). */
static int open_session(const struct mxp_smtp_options *opt, const char *addr,
                        unsigned port, unsigned tag, struct mxp_smtp **out)
{
    struct mxp_smtp *s;
    char why[256];
    int rc, pending = 0;

    *out = NULL;
    if (opt == NULL || addr == NULL)
        return MXP_ERR_INVALID;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MXP_ERR_NOMEM;
    s->fd = -1;
    s->opt = *opt;
    s->port = port;
    s->tag = tag;
    mxp_buf_init(&s->in);
    mxp_buf_init(&s->out);
    mxp_reply_parser_init(&s->parser);
    if (strchr(addr, ':') != NULL)
        snprintf(s->peer, sizeof(s->peer), "[%s]:%u", addr, port);
    else
        snprintf(s->peer, sizeof(s->peer), "%s:%u", addr, port);
    *out = s;

    s->connect_start = mxp_now();
    s->connect_limit = limit_of(s, s->connect_start, opt->connect_timeout);
    if (mxp_poll_ms(s->connect_limit) == 0) {
        /* Validate the address and port before blaming the clock. */
        rc = mxp_tcp_connect_start(addr, port, &s->fd, &pending, why,
                                   sizeof(why));
        if (rc != MXP_OK)
            return fail(s, rc, "cannot connect to %s: %s", s->peer, why);
        return connect_expired(s);
    }
    rc = mxp_tcp_connect_start(addr, port, &s->fd, &pending, why, sizeof(why));
    if (rc != MXP_OK) {
        s->connect_time = mxp_now() - s->connect_start;
        return fail(s, rc, "cannot connect to %s: %s", s->peer, why);
    }
    if (pending)
        s->connecting = 1;
    else
        connected(s);
    return MXP_OK;
}

int mxp_smtp_open_start(const struct mxp_smtp_options *opt, const char *addr,
                        unsigned port, struct mxp_smtp **out)
{
    /* Numbered in this process (a job is a process of its own), so that
     * the lines of sessions that run side by side can be told apart. */
    static unsigned serial;

    return open_session(opt, addr, port, ++serial, out);
}

int mxp_smtp_open(const struct mxp_smtp_options *opt, const char *addr,
                  unsigned port, struct mxp_smtp **out)
{
    int rc = open_session(opt, addr, port, 0, out);

    if (rc == MXP_OK)
        rc = ensure_connected(*out);
    return rc;
}

/* ---- waiting on many sessions at once --------------------------------- */

enum wait_state { W_IDLE, W_WAITING, W_READY };

/* Where s stands for mxp_smtp_wait: ready when its next read returns at
 * once (a complete reply or a failure is in), idle when it owes nothing.
 * Held pipelined commands go out here, so that the server can answer. */
static enum wait_state wait_state(struct mxp_smtp *s)
{
    enum mxp_reply_step step;
    size_t used;

    if (s->broken)
        return W_READY;
    if (s->connecting || s->tls_state == TLS_HANDSHAKE)
        return W_WAITING;
    if (s->tls_notify) {
        /* A finished handshake is reported once. */
        s->tls_notify = 0;
        return W_READY;
    }
    if (s->hello) {
        struct mxp_tls_hello h;

        if (s->peer_gone || s->in.len >= MXP_TLS_REPLY_MAX)
            return W_READY;
        return mxp_tls_parse_server_hello((const unsigned char *)s->in.data,
                                          s->in.len, &h) == MXP_TLS_PARSE_MORE
                   ? W_WAITING
                   : W_READY;
    }
    if (s->n_owed == 0)
        return W_IDLE;
    if (s->out.len > 0 && flush_out(s, s->opt.command_timeout) != MXP_OK &&
        !s->send_closed)
        return W_READY; /* broken by the write */
    if (s->peer_gone)
        return W_READY;
    /* What OpenSSL holds already, a poll() on the socket would not see
     * (a record is up to 16 KiB, a pull takes 4 KiB). */
    while (s->tls_state == TLS_UP && !s->broken && !s->peer_gone &&
           mxp_tls_pending(s->tls)) {
        size_t before = s->in.len;

        pull(s);
        if (s->in.len == before)
            break;
    }
    if (s->broken || s->peer_gone)
        return W_READY;
    if (s->in.len == 0)
        return W_WAITING;
    /* The parser is free between reads: try the bytes kept so far. */
    mxp_reply_parser_reset(&s->parser);
    step = mxp_reply_parser_feed(&s->parser, s->in.data, s->in.len, &used);
    mxp_reply_parser_reset(&s->parser);
    return step == MXP_REPLY_MORE ? W_WAITING : W_READY;
}

/* When waiting for s must end, counted from when the wait for its next
 * reply (or its connect) began. */
static double wait_limit(struct mxp_smtp *s, double now, double *timeout)
{
    const struct owed *o = owed_first(s);

    if (s->connecting) {
        *timeout = s->opt.connect_timeout;
        return s->connect_limit;
    }
    if (s->tls_state == TLS_HANDSHAKE) {
        *timeout = s->opt.command_timeout;
        return s->tls_limit;
    }
    if (s->hello) {
        *timeout = s->opt.command_timeout;
        return s->hello_limit;
    }
    if (s->wait_start == 0)
        s->wait_start = now;
    *timeout = s->opt.command_timeout;
    if (o != NULL && strcasecmp(o->verb, "QUIT") == 0 &&
        (*timeout <= 0 || *timeout > QUIT_WAIT))
        *timeout = QUIT_WAIT;
    return limit_of(s, s->wait_start, *timeout);
}

/* What arrived for s, into s->in, without blocking. */
static void pull(struct mxp_smtp *s)
{
    char tmp[4096];
    ssize_t n;

    if (s->tls_state == TLS_UP) {
        short ev = POLLIN;

        n = mxp_tls_read(s->tls, tmp, sizeof(tmp), &ev, s->io_err,
                         sizeof(s->io_err));
        if (n == MXP_TLS_AGAIN)
            s->tls_events = ev;
        else if (n < 0)
            s->peer_gone = 1; /* kept by the TLS layer for the next read */
        else if (mxp_buf_append(&s->in, tmp, (size_t)n) != MXP_OK)
            (void)fail(s, MXP_ERR_NOMEM, "out of memory");
        else
            s->tls_events = POLLIN;
        return;
    }
    n = recv(s->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
    if (n > 0) {
        if (mxp_buf_append(&s->in, tmp, (size_t)n) != MXP_OK)
            (void)fail(s, MXP_ERR_NOMEM, "out of memory");
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
                          errno != EINTR)) {
        s->peer_gone = 1; /* the read that follows says how */
    }
}

/* Its time is up, but the caller may have been busy elsewhere while the
 * answer came: one look without waiting before calling it a timeout.
 * 1 when that made s ready. */
static int last_look(struct mxp_smtp *s)
{
    struct pollfd p = {.fd = s->fd};

    p.events = s->connecting                ? POLLOUT
               : s->tls_state != TLS_NONE ? s->tls_events
                                          : POLLIN;
    if (poll(&p, 1, 0) <= 0 || p.revents == 0)
        return 0;
    if (s->connecting)
        (void)connect_done(s);
    else if (s->tls_state == TLS_HANDSHAKE)
        tls_step(s);
    else
        pull(s);
    return wait_state(s) == W_READY;
}

int mxp_smtp_wait(struct mxp_smtp *const *ss, size_t n, size_t *ready)
{
    return mxp_smtp_wait_until(ss, n, ready, 0);
}

int mxp_smtp_wait_until(struct mxp_smtp *const *ss, size_t n, size_t *ready,
                        double until)
{
    struct pollfd pfd[MXP_SMTP_WAIT_MAX];
    size_t map[MXP_SMTP_WAIT_MAX];

    if (ready != NULL)
        *ready = n;
    if (ss == NULL || ready == NULL || n == 0 || n > MXP_SMTP_WAIT_MAX)
        return MXP_ERR_INVALID;
    for (;;) {
        double now = mxp_now(), soonest = 0;
        size_t i, np = 0;
        int rc;

        for (i = 0; i < n; i++) {
            struct mxp_smtp *s = ss[i];
            enum wait_state w;
            double limit, timeout;

            if (s == NULL || (w = wait_state(s)) == W_IDLE)
                continue;
            if (w == W_READY) {
                *ready = i;
                return MXP_OK;
            }
            limit = wait_limit(s, now, &timeout);
            if (now >= limit && last_look(s)) {
                *ready = i;
                return MXP_OK;
            }
            if (now >= limit) {
                if (s->connecting)
                    (void)connect_expired(s);
                else if (s->tls_state == TLS_HANDSHAKE)
                    (void)tls_timeout(s);
                else if (s->hello)
                    (void)hello_timeout(s);
                else
                    (void)reply_timeout(s, s->wait_start, timeout, limit);
                *ready = i;
                return MXP_OK;
            }
            if (np == 0 || limit < soonest)
                soonest = limit;
            pfd[np].fd = s->fd;
            pfd[np].events = s->connecting              ? POLLOUT
                             : s->tls_state != TLS_NONE ? s->tls_events
                                                        : POLLIN;
            pfd[np].revents = 0;
            map[np++] = i;
        }
        if (np == 0)
            return MXP_ERR_INVALID; /* nothing owed anywhere */
        if (until > 0 && now >= until)
            return MXP_ERR_TIMEOUT; /* the caller's own limit */
        if (until > 0 && until < soonest)
            soonest = until;
        rc = poll(pfd, np, mxp_poll_ms(soonest));
        if (rc < 0 && errno != EINTR)
            return MXP_ERR_IO;
        for (i = 0; rc > 0 && i < np; i++) {
            struct mxp_smtp *s = ss[map[i]];

            if (pfd[i].revents == 0)
                continue;
            if (s->connecting)
                (void)connect_done(s);
            else if (s->tls_state == TLS_HANDSHAKE)
                tls_step(s);
            else
                pull(s);
        }
    }
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
    if (s->n_owed > 0 && !s->broken) {
        /* Its reply would be read as an earlier command's. */
        clear_reply(r);
        char verb[16];

        first_word(line, verb, sizeof(verb));
        snprintf(s->err, sizeof(s->err),
                 "refusing to send %s: %zu earlier repl%s not read yet",
                 verb, s->n_owed, s->n_owed == 1 ? "y" : "ies");
        return MXP_ERR_INVALID;
    }
    rc = send_line(s, line, s->opt.command_timeout, 0);
    if (rc != MXP_OK) {
        clear_reply(r);
        return rc;
    }
    return read_reply_within(s, r, s->opt.command_timeout);
}

int mxp_smtp_send(struct mxp_smtp *s, const char *line)
{
    if (s == NULL || line == NULL)
        return MXP_ERR_INVALID;
    return send_line(s, line, s->opt.command_timeout, 1);
}

/* text as DATA content: CRLF line ends, a leading dot doubled (RFC 5321
 * 4.5.2), then the end-of-data line. */
static int stuff_message(const char *text, struct mxp_buf *out)
{
    const char *p = text;
    int rc = MXP_OK;

    while (rc == MXP_OK && *p != '\0') {
        size_t n = strcspn(p, "\n");
        size_t body = n > 0 && p[n - 1] == '\r' ? n - 1 : n;

        if (p[0] == '.')
            rc = mxp_buf_append(out, ".", 1);
        if (rc == MXP_OK)
            rc = mxp_buf_append(out, p, body);
        if (rc == MXP_OK)
            rc = mxp_buf_append(out, "\r\n", 2);
        p += n;
        if (*p == '\n')
            p++;
    }
    if (rc == MXP_OK)
        rc = mxp_buf_append(out, ".\r\n", 3);
    return rc;
}

static int has_bare_cr(const char *text)
{
    for (const char *p = strchr(text, '\r'); p != NULL; p = strchr(p + 1, '\r'))
        if (p[1] != '\n')
            return 1;
    return 0;
}

int mxp_smtp_send_message(struct mxp_smtp *s, const char *text,
                          struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply dummy;
    struct owed o = {.verb = "message", .kind = CMD_MESSAGE};
    struct mxp_buf out;
    const char *why = NULL;
    int rc;

    if (r == NULL)
        r = &dummy;
    clear_reply(r);
    if (s == NULL || text == NULL)
        return MXP_ERR_INVALID;
    if (s->broken)
        return s->err_status;
    if (s->send_closed)
        return s->send_status;
    /* The one place a message can be completed: only the operator's own
     * mail, whatever the plugin asks. */
    if (!s->in_message)
        why = "no message to complete (DATA was not answered 354)";
    else if (s->n_owed > 0)
        why = "refusing to complete a message while replies are owed";
    else if (s->opt.own_mailbox == NULL || s->opt.own_mailbox[0] == '\0')
        why = "refusing to complete a message: probe.my_email is not set";
    else if (!s->txn_mine)
        why = "refusing to complete a message that is neither from nor to "
              "probe.my_email";
    else if (strlen(text) > MAX_MESSAGE)
        why = "refusing to send a test message over 1 MiB";
    else if (has_bare_cr(text))
        /* A lone CR could end the data early on some servers and smuggle
         * what follows in as commands. */
        why = "refusing to send a message with a CR that ends no line";
    if (why != NULL) {
        snprintf(s->err, sizeof(s->err), "%s", why);
        return MXP_ERR_INVALID;
    }
    mxp_buf_init(&out);
    rc = stuff_message(text, &out);
    if (rc != MXP_OK) {
        rc = fail(s, rc, "out of memory");
        goto done;
    }
    o.sent_at = mxp_now();
    note(s, '>', "[message of %zu bytes for %s]", out.len,
         s->opt.own_mailbox);
    note(s, '>', ".");
    owe(s, &o);
    rc = write_within(s, out.data, out.len, "message", o.sent_at,
                      limit_of(s, o.sent_at, s->opt.command_timeout));
    if (rc == MXP_OK)
        rc = read_reply_within(s, r, s->opt.command_timeout);

done:
    mxp_buf_free(&out);
    return rc;
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
    int rc;

    if (r == NULL)
        r = &dummy;
    if (used_helo != NULL)
        *used_helo = 0;
    if (s == NULL || name == NULL) {
        clear_reply(r);
        return MXP_ERR_INVALID;
    }
    /* The replies' reader keeps the extensions (keep_extensions). */
    free_ext(s);
    rc = greet(s, "EHLO", name, r);
    if (rc != MXP_OK)
        return rc;
    if (r->code >= 500) {
        if (used_helo != NULL)
            *used_helo = 1;
        return greet(s, "HELO", name, r);
    }
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
    /* Inside a message, closing is how it is abandoned: QUIT would be
     * content.  With replies owed, the QUIT reply would be a stale one. */
    if (send_quit && s->fd >= 0 && !s->broken && !s->connecting &&
        !s->in_message && s->n_owed == 0 &&
        (s->tls_state == TLS_NONE || s->tls_state == TLS_UP)) {
        double left = s->opt.deadline - mxp_now();
        double wait = left < QUIT_WAIT ? left : QUIT_WAIT;
        struct mxp_smtp_reply r;

        /* QUIT is a courtesy: skip it when no time is left. */
        if (wait > 0 && send_line(s, "QUIT", wait, 0) == MXP_OK)
            (void)read_reply_within(s, &r, wait);
    }
    mxp_tls_free(s->tls); /* close_notify, once, never waited for */
    if (s->fd >= 0)
        close(s->fd);
    mxp_reply_parser_free(&s->parser);
    mxp_buf_free(&s->in);
    mxp_buf_free(&s->out);
    free_ext(s);
    free(s);
}

/* ---- TLS (ABI 1.3) ----------------------------------------------------- */

/* A failed handshake: the session is broken with the reason in words. */
static void tls_failed(struct mxp_smtp *s, int status, const char *why)
{
    s->tls_state = TLS_FAILED;
    s->tls_status = status;
    if (status == MXP_ERR_CLOSED)
        (void)fail(s, status,
                   "connection closed by server during the TLS handshake");
    else
        (void)fail(s, status, "TLS handshake failed: %s", why);
}

static void tls_done(struct mxp_smtp *s)
{
    double now = mxp_now();
    struct owed *o;

    s->tls_info = mxp_tls_info(s->tls, now - s->tls_start);
    if (s->tls_info == NULL) {
        tls_failed(s, MXP_ERR_NOMEM, "out of memory");
        return;
    }
    s->tls_state = TLS_UP;
    s->tls_notify = 1;
    s->tls_events = POLLIN;
    note(s, 'C', "TLS handshake with %s done in %.0f ms, %s %s", s->peer,
         s->tls_info->handshake_time * 1000.0, s->tls_info->protocol,
         s->tls_info->cipher);
    /* Implicit TLS: the greeting is owed from the end of the handshake,
     * so its time measures the server's SMTP, not the handshake. */
    if (!s->greeted && (o = owed_first(s)) != NULL)
        o->sent_at = now;
    s->wait_start = 0;
}

/* What one step of the handshake came to. */
static void tls_outcome(struct mxp_smtp *s, int rc, short ev, const char *why)
{
    if (rc == MXP_TLS_AGAIN)
        s->tls_events = ev;
    else if (rc == MXP_OK)
        tls_done(s);
    else
        tls_failed(s, rc, why);
}

static void tls_step(struct mxp_smtp *s)
{
    char why[160];
    short ev = POLLIN;
    int rc = mxp_tls_handshake(s->tls, &ev, why, sizeof(why));

    tls_outcome(s, rc, ev, why);
}

/* Starts the handshake, limited by command_timeout from now and the
 * deadline.  With may_refuse, settings that leave nothing to offer
 * (found before a byte is sent) give MXP_ERR_UNSUPPORTED and leave the
 * session as it was; otherwise they fail it like any handshake. */
static int tls_begin(struct mxp_smtp *s, int may_refuse)
{
    char why[160];
    short ev = POLLOUT;
    int rc;

    s->tls_start = mxp_now();
    s->tls_limit = limit_of(s, s->tls_start, s->opt.command_timeout);
    s->tls_state = TLS_HANDSHAKE;
    s->tls_events = POLLOUT;
    rc = mxp_tls_handshake(s->tls, &ev, why, sizeof(why));
    if (rc == MXP_ERR_UNSUPPORTED && may_refuse &&
        mxp_tls_bytes_out(s->tls) == 0) {
        mxp_tls_free(s->tls);
        s->tls = NULL;
        s->tls_state = TLS_NONE;
        snprintf(s->err, sizeof(s->err), "cannot offer that: %s", why);
        return rc;
    }
    tls_outcome(s, rc, ev, why);
    return MXP_OK;
}

/* A handshake that ran out of time: silent server or one that stalled. */
static int tls_timeout(struct mxp_smtp *s)
{
    double waited = s->tls_limit - s->tls_start;
    const char *cut =
        cut_by_deadline(s, s->tls_start, s->opt.command_timeout, s->tls_limit);
    size_t got = mxp_tls_bytes_in(s->tls);

    s->tls_state = TLS_FAILED;
    s->tls_status = MXP_ERR_TIMEOUT;
    if (waited < 0)
        waited = 0;
    if (got == 0)
        return fail(s, MXP_ERR_TIMEOUT,
                    "TLS handshake: no answer within %.1f s%s", waited, cut);
    return fail(s, MXP_ERR_TIMEOUT,
                "TLS handshake: not finished within %.1f s%s (stalled after "
                "%zu bytes from the server)",
                waited, cut, got);
}

/* Finishes a handshake under way, waiting at most until its limit. */
static int ensure_tls(struct mxp_smtp *s)
{
    while (s->tls_state == TLS_HANDSHAKE && !s->broken) {
        int rc;

        if (mxp_poll_ms(s->tls_limit) == 0)
            return tls_timeout(s);
        rc = mxp_net_wait_fd(s->fd, s->tls_events, s->tls_limit);
        if (rc < 0)
            return fail(s, MXP_ERR_IO, "TLS handshake: poll: %s",
                        strerror(errno));
        if (rc > 0)
            tls_step(s);
    }
    return s->broken ? s->err_status : MXP_OK;
}

/* Whether a handshake (or a bare ClientHello) may start on s now, and
 * the state it needs: after STARTTLS's 220 the replies owed to commands
 * pipelined behind it are forgotten (RFC 3207 4.2: the server must
 * discard those commands); bytes the server sent after its 220 fail.
 * MXP_ERR_INVALID leaves the session as it was. */
static int tls_ready_to_start(struct mxp_smtp *s)
{
    const char *why = NULL;
    char *early;
    int rc;

    if (s->broken)
        return s->err_status;
    if (s->send_closed)
        return s->send_status;
    if (s->tls_state != TLS_NONE)
        why = "refusing to start TLS: the session is TLS already";
    else if (s->in_message ||
             (s->n_owed > 0 &&
              s->owed[(s->owed_head + s->n_owed - 1) % MAX_OWED].kind ==
                  CMD_DATA))
        why = "refusing to start TLS inside a message (after DATA)";
    else if (!s->greeted && (s->n_owed > 1 || s->out.len > 0))
        why = "refusing to start TLS: commands were sent before the greeting";
    if (why != NULL) {
        snprintf(s->err, sizeof(s->err), "%s", why);
        return MXP_ERR_INVALID;
    }
    if (s->greeted) {
        s->n_owed = 0;
        s->owed_head = 0;
        s->out.len = 0;
        s->n_unsent = 0;
        s->in_group = 0;
    }
    if ((early = early_bytes(s)) == NULL)
        return MXP_OK;
    rc = fail(s, MXP_ERR_PROTOCOL,
              "server sent data before the TLS handshake: '%s'", early);
    free(early);
    return rc;
}

int mxp_smtp_tls_start(struct mxp_smtp *s, const struct mxp_tls_options *o)
{
    char why[200];
    int rc;

    if (s == NULL)
        return MXP_ERR_INVALID;
    if ((rc = tls_ready_to_start(s)) != MXP_OK)
        return rc;
    rc = mxp_tls_new(s->fd, o, &s->tls, why, sizeof(why));
    if (rc == MXP_ERR_UNSUPPORTED || rc == MXP_ERR_INVALID) {
        /* Nothing was sent: the caller asked for what cannot be. */
        snprintf(s->err, sizeof(s->err), "%s", why);
        return rc;
    }
    if (rc != MXP_OK)
        return fail(s, rc, "TLS: %s", why);
    if (s->connecting)
        s->tls_state = TLS_PENDING; /* begins when connected */
    else if ((rc = tls_begin(s, 1)) != MXP_OK)
        return rc;
    return s->broken ? s->err_status : MXP_OK;
}

int mxp_smtp_tls_handshake(struct mxp_smtp *s, const struct mxp_tls_options *o,
                           const struct mxp_tls_info **info)
{
    int rc;

    if (info != NULL)
        *info = NULL;
    rc = mxp_smtp_tls_start(s, o);
    if (rc == MXP_OK && s->connecting)
        rc = ensure_connected(s);
    if (rc == MXP_OK)
        rc = ensure_tls(s);
    if (rc != MXP_OK)
        return rc;
    s->tls_notify = 0; /* waited for here, not by mxp_smtp_wait */
    if (info != NULL)
        *info = s->tls_info;
    return MXP_OK;
}

int mxp_smtp_tls_info(struct mxp_smtp *s, const struct mxp_tls_info **info)
{
    if (info != NULL)
        *info = NULL;
    if (s == NULL)
        return MXP_ERR_INVALID;
    if (s->tls_state == TLS_FAILED)
        return s->tls_status;
    if (s->tls_state != TLS_UP)
        return MXP_ERR_INVALID;
    if (info != NULL)
        *info = s->tls_info;
    return MXP_OK;
}

int mxp_smtp_unsolicited(struct mxp_smtp *s, double wait, char *text,
                         size_t len)
{
    double limit;
    char *shown;
    int rc;

    if (text != NULL && len > 0)
        text[0] = '\0';
    if (s == NULL)
        return -MXP_ERR_INVALID;
    if (s->broken)
        return -s->err_status;
    if (s->n_owed > 0) {
        snprintf(s->err, sizeof(s->err),
                 "refusing to wait for unsolicited data: %zu repl%s owed",
                 s->n_owed, s->n_owed == 1 ? "y" : "ies");
        return -MXP_ERR_INVALID;
    }
    if (s->connecting && (rc = ensure_connected(s)) != MXP_OK)
        return -rc;
    if ((rc = ensure_tls(s)) != MXP_OK)
        return -rc;
    s->tls_notify = 0;
    limit =
        mxp_min_deadline(mxp_now() + (wait > 0 ? wait : 0), s->opt.deadline);
    if (s->in.len == 0) {
        char tmp[4096];
        ssize_t n = sess_read(s, tmp, sizeof(tmp), limit);

        if (n == -MXP_ERR_TIMEOUT)
            return 0;
        if (n == -MXP_ERR_CLOSED)
            return -fail(s, MXP_ERR_CLOSED, "connection closed by server");
        if (n < 0)
            return -fail(s, (int)-n, "read error: %s", s->io_err);
        if (mxp_buf_append(&s->in, tmp, (size_t)n) != MXP_OK)
            return -fail(s, MXP_ERR_NOMEM, "out of memory");
    }
    shown = mxp_printable_dup(s->in.data, s->in.len > 200 ? 200 : s->in.len);
    note(s, '<', "[unsolicited: %s]", shown != NULL ? shown : "?");
    if (text != NULL && len > 0)
        snprintf(text, len, "%s", shown != NULL ? shown : "?");
    free(shown);
    return 1;
}

/* The ClientHello's answer did not come in time. */
static int hello_timeout(struct mxp_smtp *s)
{
    double waited = s->hello_limit - s->hello_start;

    return fail(s, MXP_ERR_TIMEOUT,
                "no answer to the ClientHello within %.1f s%s",
                waited > 0 ? waited : 0.0,
                cut_by_deadline(s, s->hello_start, s->opt.command_timeout,
                                s->hello_limit));
}

int mxp_smtp_tls_hello_start(struct mxp_smtp *s, int version,
                             const uint16_t *ciphers, size_t n, const char *sni)
{
    unsigned char hello[MXP_TLS_HELLO_MAX];
    size_t hlen;
    int rc;

    if (s == NULL || ciphers == NULL || n == 0 || n > MXP_TLS_HELLO_SUITES ||
        version < MXP_SSL_3_0 || version > MXP_TLS_1_2) {
        if (s != NULL)
            snprintf(s->err, sizeof(s->err), "bad arguments");
        return MXP_ERR_INVALID;
    }
    if (s->hello) {
        snprintf(s->err, sizeof(s->err), "a ClientHello is out already");
        return MXP_ERR_INVALID;
    }
    if ((rc = ensure_connected(s)) != MXP_OK ||
        (rc = tls_ready_to_start(s)) != MXP_OK)
        return rc;
    hlen = mxp_tls_client_hello(version, ciphers, n, sni, hello,
                                sizeof(hello));
    s->hello_start = mxp_now();
    s->hello_limit = limit_of(s, s->hello_start, s->opt.command_timeout);
    note(s, '>', "[ClientHello %s, %zu suite%s]", mxp_tls_version_name(version),
         n, n == 1 ? "" : "s");
    rc = sess_write_all(s, (const char *)hello, hlen, s->hello_limit);
    if (rc != MXP_OK)
        return fail(s, rc, "could not send the ClientHello: %s",
                    rc == MXP_ERR_CLOSED    ? "connection closed by server"
                    : rc == MXP_ERR_TIMEOUT ? "timed out"
                                            : s->io_err);
    s->hello = 1;
    return MXP_OK;
}

int mxp_smtp_tls_hello_result(struct mxp_smtp *s, struct mxp_tls_hello *out)
{
    enum mxp_tls_parse step;
    int rc = MXP_OK;

    if (out == NULL)
        return MXP_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->alert = -1;
    if (s == NULL || (!s->hello && !s->broken)) {
        snprintf(out->words, sizeof(out->words), "no ClientHello was sent");
        return MXP_ERR_INVALID;
    }
    if (s->broken) {
        rc = s->err_status;
        goto done;
    }
    /* What came so far, then more until the answer is whole. */
    step = mxp_tls_parse_server_hello((const unsigned char *)s->in.data,
                                      s->in.len, out);
    while (step == MXP_TLS_PARSE_MORE) {
        char tmp[1024];
        size_t room = MXP_TLS_REPLY_MAX - s->in.len;
        ssize_t r;

        if (s->in.len >= MXP_TLS_REPLY_MAX) {
            rc = fail(s, MXP_ERR_TOO_BIG, "no ServerHello in the first %zu "
                      "bytes", s->in.len);
            goto done;
        }
        r = mxp_now() >= s->hello_limit
                ? -MXP_ERR_TIMEOUT
                : sess_read(s, tmp, room < sizeof(tmp) ? room : sizeof(tmp),
                            s->hello_limit);
        if (r == -MXP_ERR_TIMEOUT) {
            rc = hello_timeout(s);
            goto done;
        }
        if (r == -MXP_ERR_CLOSED) {
            rc = fail(s, MXP_ERR_CLOSED,
                      "connection closed by server %s the ClientHello",
                      s->in.len == 0 ? "after" : "in its answer to");
            goto done;
        }
        if (r < 0) {
            rc = fail(s, (int)-r, "read error: %s", s->io_err);
            goto done;
        }
        if (mxp_buf_append(&s->in, tmp, (size_t)r) != MXP_OK) {
            rc = fail(s, MXP_ERR_NOMEM, "out of memory");
            goto done;
        }
        memset(out, 0, sizeof(*out));
        out->alert = -1;
        step = mxp_tls_parse_server_hello((const unsigned char *)s->in.data,
                                          s->in.len, out);
    }
    if (step == MXP_TLS_PARSE_BAD) {
        rc = fail(s, MXP_ERR_PROTOCOL, "%s", out->words);
        goto done;
    }
    note(s, '<', "[%s]", out->words);

done:
    s->hello = 0;
    if (rc != MXP_OK) {
        out->accepted = 0;
        snprintf(out->words, sizeof(out->words), "%.127s", s->err);
    } else {
        /* Nothing more may go out: the server waits for the rest of a
         * handshake we never make. */
        s->broken = 1;
        s->err_status = MXP_ERR_INVALID;
        snprintf(s->err, sizeof(s->err),
                 "the session is spent by a bare ClientHello");
    }
    return rc;
}

int mxp_smtp_tls_hello(struct mxp_smtp *s, int version,
                       const uint16_t *ciphers, size_t n, const char *sni,
                       struct mxp_tls_hello *out)
{
    int rc;

    if (out == NULL)
        return MXP_ERR_INVALID;
    rc = mxp_smtp_tls_hello_start(s, version, ciphers, n, sni);
    if (rc != MXP_OK) {
        memset(out, 0, sizeof(*out));
        out->alert = -1;
        snprintf(out->words, sizeof(out->words), "%.127s",
                 s != NULL ? s->err : "bad arguments");
        return rc;
    }
    return mxp_smtp_tls_hello_result(s, out);
}
