/*
 * submit.c - the submitter (submit.h): a queue in the parent, a forked
 * child that does the slow I/O, and a socket pair between them.
 *
 * The parent appends each result to an in-memory queue as one record
 * and sends what the socket takes when poll says it is writable, never
 * waiting.  The child reads records, submits each (submit_nagios.c,
 * submit_icinga2.c), says a failure on stderr itself and answers every
 * record with one byte, 'o' or 'f'.  The parent keeps a record until
 * its answer came, so when the child is killed at the deadline or dies,
 * every result it did not answer is named on stderr and counted as
 * failed: nothing is lost silently.  A socket pair rather than pipes:
 * send(MSG_NOSIGNAL) never raises SIGPIPE in the parent, one fd carries
 * both directions, and shutdown(SHUT_WR) tells the child "no more"
 * even when forked check jobs hold copies of the parent's end.
 *
 * Record (native byte order, same machine): struct rec_head, then host,
 * service and output, each NUL-terminated.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "http.h"
#include "submit.h"
#include "submit_dest.h"

#define REC_MAX (1u << 20) /* a record larger than this is refused */
#define NAGIOS_WRITE_TIMEOUT 10.0

struct rec_head {
    uint32_t len; /* of the whole record, head included */
    int32_t code;
    int64_t epoch;
    uint32_t host_len, service_len, output_len; /* without their NULs */
};

enum dest_kind { DEST_NAGIOS, DEST_ICINGA2 };

struct mxp_submitter {
    enum dest_kind kind;
    pid_t pid;
    int fd;
    int dead;         /* the child went away: nothing more is sent */
    int shut;         /* shutdown(SHUT_WR) done */
    struct mxp_buf q; /* records not yet answered, oldest first */
    size_t sent;      /* bytes of q already sent */
    size_t n_queued;  /* records in q */
    size_t failed;    /* answered 'f' */
};

static const char *kind_name(enum dest_kind k)
{
    return k == DEST_NAGIOS ? "nagios" : "icinga2";
}

/* ---- shared by the destinations --------------------------------------- */

int mxp_submit_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ';')
            return 0;
    return 1;
}

static void trim(struct mxp_span *s)
{
    while (s->n > 0 && (s->p[0] == ' ' || s->p[0] == '\t' || s->p[0] == '\n'))
        s->p++, s->n--;
    while (s->n > 0 && (s->p[s->n - 1] == ' ' || s->p[s->n - 1] == '\t' ||
                        s->p[s->n - 1] == '\n' || s->p[s->n - 1] == '\r'))
        s->n--;
}

/* Perfdata items of p..p+n: separated by white space; a label in single
 * quotes may hold spaces ('' is a quote inside it). */
static int add_perf(struct mxp_plugin_text *t, const char *p, size_t n)
{
    const char *end = p + n;

    while (p < end) {
        const char *start;
        int quoted = 0;

        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p == end)
            break;
        start = p;
        while (p < end) {
            if (*p == '\'') {
                quoted = !quoted;
            } else if (!quoted &&
                       (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
                break;
            }
            p++;
        }
        struct mxp_span *np =
            realloc(t->perf, (t->n_perf + 1) * sizeof(*t->perf));
        if (np == NULL)
            return -1;
        t->perf = np;
        t->perf[t->n_perf].p = start;
        t->perf[t->n_perf].n = (size_t)(p - start);
        t->n_perf++;
    }
    return 0;
}

int mxp_plugin_text_split(const char *output, struct mxp_plugin_text *t)
{
    const char *nl = strchr(output, '\n');
    const char *first_end = nl != NULL ? nl : output + strlen(output);
    const char *bar = memchr(output, '|', (size_t)(first_end - output));

    memset(t, 0, sizeof(*t));
    t->status.p = output;
    t->status.n = (size_t)((bar != NULL ? bar : first_end) - output);
    trim(&t->status);
    if (bar != NULL && add_perf(t, bar + 1, (size_t)(first_end - bar - 1)) != 0)
        goto oom;
    t->long_text.p = first_end;
    if (nl != NULL) {
        const char *rest = nl + 1, *bar2 = strchr(rest, '|');
        size_t rest_n = strlen(rest);

        /* As Nagios reads it: the first '|' after the first line starts
         * perfdata that runs to the end. */
        t->long_text.p = rest;
        t->long_text.n = bar2 != NULL ? (size_t)(bar2 - rest) : rest_n;
        if (bar2 != NULL &&
            add_perf(t, bar2 + 1, rest_n - (size_t)(bar2 + 1 - rest)) != 0)
            goto oom;
    }
    trim(&t->long_text);
    return 0;
oom:
    mxp_plugin_text_free(t);
    return -1;
}

void mxp_plugin_text_free(struct mxp_plugin_text *t)
{
    free(t->perf);
    t->perf = NULL;
    t->n_perf = 0;
}

/* ---- the child -------------------------------------------------------- */

static int read_full(int fd, void *p, size_t n)
{
    char *c = p;

    while (n > 0) {
        ssize_t r = read(fd, c, n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One line on stderr with one write(), so the lines of the child and the
 * parent never mix within a line. */
static void say(const char *kind, const char *host, const char *service,
                const char *why)
{
    char line[768];
    int n = snprintf(line, sizeof(line), "mxprobe: submit: %s: %s!%s: %s\n",
                     kind, host, service, why);

    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    if (write(2, line, (size_t)n) < 0) {
        /* stderr gone: nothing left to tell */
    }
}

/* Answers are sent without waiting so the child never blocks on a
 * parent busy with checks; the ones the socket did not take go out
 * later, and all of them at the end (the parent then reads). */
static void answer(int fd, char a, char *pending, size_t *n_pending, int wait)
{
    if (a != 0)
        pending[(*n_pending)++] = a;
    while (*n_pending > 0) {
        ssize_t w = send(fd, pending, *n_pending,
                         MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        memmove(pending, pending + w, *n_pending - (size_t)w);
        *n_pending -= (size_t)w;
    }
}

static void child_close_fds(int keep)
{
    long max;

    /* The child must hold no copy of another pipe of the parent (a job's
     * or the expander's), or their readers would wait for an EOF that
     * never comes. */
    if ((keep <= 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
        close_range((unsigned)keep + 1, ~0u, 0) == 0)
        return;
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

static _Noreturn void child_main(int fd, enum dest_kind kind, const char *path,
                                 struct mxp_icinga2 *ic)
{
    char *pending = NULL, *rec = NULL;
    size_t n_pending = 0, cap_pending = 0;
    const char *kn = kind_name(kind);

    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    child_close_fds(fd);
    if (kind == DEST_ICINGA2 && mxp_http_init() != MXP_OK)
        ic = NULL; /* every result then fails, and says why */
    for (;;) {
        struct rec_head h;
        struct mxp_submit_result r;
        char why[512];
        int rc;

        if (read_full(fd, &h, sizeof(h)) != 0)
            break;
        if (h.len < sizeof(h) || h.len > REC_MAX ||
            (uint64_t)h.host_len + h.service_len + h.output_len + 3 !=
                h.len - sizeof(h))
            break; /* cannot happen: the parent wrote it */
        free(rec);
        rec = malloc(h.len - sizeof(h));
        if (rec == NULL || read_full(fd, rec, h.len - sizeof(h)) != 0)
            break;
        r.epoch = h.epoch;
        r.code = h.code;
        r.host = rec;
        r.service = rec + h.host_len + 1;
        r.output = r.service + h.service_len + 1;
        why[0] = '\0';
        if (kind == DEST_NAGIOS)
            rc = mxp_nagios_send(path, &r, NAGIOS_WRITE_TIMEOUT, why,
                                 sizeof(why));
        else if (ic != NULL)
            rc = mxp_icinga2_send(ic, &r, why, sizeof(why));
        else
            rc = (snprintf(why, sizeof(why), "libcurl did not start"),
                  MXP_ERR_NOMEM);
        if (rc != MXP_OK)
            say(kn, r.host, r.service, why[0] ? why : "failed");
        if (n_pending == cap_pending) {
            size_t cap = cap_pending ? cap_pending * 2 : 256;
            char *np = realloc(pending, cap);

            if (np == NULL)
                break;
            pending = np;
            cap_pending = cap;
        }
        answer(fd, rc == MXP_OK ? 'o' : 'f', pending, &n_pending, 0);
    }
    answer(fd, 0, pending, &n_pending, 1);
    _exit(0);
}

/* ---- the parent ------------------------------------------------------- */

int mxp_submit_start(const char *dest, const struct mxp_submit_config *cfg,
                     struct mxp_submitter **out, char *err, size_t errlen)
{
    struct mxp_submitter *s;
    struct mxp_icinga2 *ic = NULL;
    enum dest_kind kind;
    const char *arg;
    int sv[2], rc;

    *out = NULL;
    if (strncmp(dest, "nagios:", 7) == 0) {
        kind = DEST_NAGIOS;
        arg = dest + 7;
        rc = mxp_nagios_check(arg, err, errlen);
    } else if (strncmp(dest, "icinga2:", 8) == 0) {
        kind = DEST_ICINGA2;
        arg = dest + 8;
        rc = mxp_icinga2_new(arg, cfg, &ic, err, errlen);
    } else {
        snprintf(err, errlen,
                 "--submit: expected nagios:/path/to/nagios.cmd or "
                 "icinga2:https://host:5665, got '%.100s'",
                 dest);
        return MXP_ERR_INVALID;
    }
    if (rc != MXP_OK)
        return rc;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        mxp_icinga2_free(ic);
        snprintf(err, errlen, "--submit: out of memory");
        return MXP_ERR_NOMEM;
    }
    s->kind = kind;
    mxp_buf_init(&s->q);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "--submit: socketpair: %s", strerror(errno));
        mxp_icinga2_free(ic);
        free(s);
        return MXP_ERR_IO;
    }
    /* What the parent buffered for stdout must not be written twice. */
    fflush(stdout);
    fflush(stderr);
    s->pid = fork();
    if (s->pid < 0) {
        snprintf(err, errlen, "--submit: fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        mxp_icinga2_free(ic);
        free(s);
        return MXP_ERR_IO;
    }
    if (s->pid == 0) {
        close(sv[0]);
        child_main(sv[1], kind, arg, ic);
    }
    close(sv[1]);
    mxp_icinga2_free(ic); /* the parent needs no password */
    s->fd = sv[0];
    *out = s;
    return MXP_OK;
}

static const struct rec_head *rec_at(const struct mxp_submitter *s, size_t off,
                                     struct rec_head *h)
{
    memcpy(h, s->q.data + off, sizeof(*h));
    return h;
}

/* Takes the answers that came, without waiting; an answered record
 * leaves the queue. */
static void read_answers(struct mxp_submitter *s, int *eof)
{
    char a[256];

    *eof = 0;
    for (;;) {
        ssize_t r = recv(s->fd, a, sizeof(a), MSG_DONTWAIT);
        size_t drop = 0;
        struct rec_head h;

        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            *eof = 1;
            return;
        }
        if (r < 0)
            return;
        for (ssize_t i = 0; i < r && s->n_queued > 0; i++) {
            rec_at(s, drop, &h);
            if (a[i] != 'o')
                s->failed++;
            drop += h.len;
            s->n_queued--;
        }
        mxp_buf_consume(&s->q, drop);
        s->sent = s->sent > drop ? s->sent - drop : 0;
    }
}

/* Sends what the socket takes now. */
static void send_some(struct mxp_submitter *s)
{
    while (!s->dead && s->sent < s->q.len) {
        ssize_t w = send(s->fd, s->q.data + s->sent, s->q.len - s->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0) {
            s->dead = 1; /* EPIPE: the child is gone */
            return;
        }
        s->sent += (size_t)w;
    }
}

int mxp_submit_queue(struct mxp_submitter *s, const char *host,
                     const char *service, enum mxp_state state,
                     const char *output)
{
    struct rec_head h;
    size_t hl = strlen(host), sl = strlen(service), ol = strlen(output);
    int eof;

    if (hl > 255 || sl > 255 || ol > REC_MAX - sizeof(h) - 600) {
        say(kind_name(s->kind), hl > 255 ? "(long name)" : host,
            sl > 255 ? "(long name)" : service, "refused: too long");
        s->failed++;
        return MXP_ERR_TOO_BIG;
    }
    h.len = (uint32_t)(sizeof(h) + hl + sl + ol + 3);
    h.code = (int32_t)state;
    h.epoch = (int64_t)time(NULL);
    h.host_len = (uint32_t)hl;
    h.service_len = (uint32_t)sl;
    h.output_len = (uint32_t)ol;
    if (mxp_buf_reserve(&s->q, h.len) != MXP_OK) {
        say(kind_name(s->kind), host, service, "out of memory");
        s->failed++;
        return MXP_ERR_NOMEM;
    }
    mxp_buf_append(&s->q, &h, sizeof(h));
    mxp_buf_append(&s->q, host, hl + 1);
    mxp_buf_append(&s->q, service, sl + 1);
    mxp_buf_append(&s->q, output, ol + 1);
    s->n_queued++;
    read_answers(s, &eof);
    send_some(s);
    return MXP_OK;
}

int mxp_submit_fd(const struct mxp_submitter *s, short *events)
{
    *events = (!s->dead && s->sent < s->q.len) ? POLLOUT : 0;
    return s->fd;
}

void mxp_submit_events(struct mxp_submitter *s, short revents)
{
    int eof;

    if (revents & (POLLERR | POLLHUP))
        s->dead = 1;
    read_answers(s, &eof);
    if (revents & POLLOUT)
        send_some(s);
}

/* The records never answered: each named on stderr and counted. */
static size_t unanswered(struct mxp_submitter *s, const char *why)
{
    size_t off = 0, n = s->n_queued;

    for (size_t i = 0; i < s->n_queued; i++) {
        struct rec_head h;
        const char *host = s->q.data + off + sizeof(h), *service;

        rec_at(s, off, &h);
        service = host + h.host_len + 1;
        say(kind_name(s->kind), host, service, why);
        off += h.len;
    }
    s->n_queued = 0;
    return n;
}

size_t mxp_submit_finish(struct mxp_submitter *s, double deadline)
{
    int eof = 0, status;
    size_t failed;
    const char *why = "not submitted before the deadline";

    if (s == NULL)
        return 0;
    /* Hand over the rest, then say "no more" and read the answers. */
    while (!eof && mxp_now() < deadline) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};

        send_some(s);
        if (!s->dead && s->sent < s->q.len)
            p.events |= POLLOUT;
        else if (!s->shut) {
            shutdown(s->fd, SHUT_WR);
            s->shut = 1;
        }
        if (poll(&p, 1, mxp_poll_ms(deadline)) < 0 && errno != EINTR)
            break;
        read_answers(s, &eof);
        if (eof && s->n_queued > 0)
            why = "the submitter ended before submitting it";
    }
    /* The child ends right after its last answer; one still running at
     * the deadline is stopped. */
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (mxp_now() >= deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    failed = s->failed + unanswered(s, why);
    close(s->fd);
    mxp_buf_free(&s->q);
    free(s);
    return failed;
}
