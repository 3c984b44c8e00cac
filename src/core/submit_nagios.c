/*
 * submit_nagios.c - passive results into the Nagios/Naemon external
 * command file (--submit nagios:PATH).
 *
 * One line per result:
 *   [<epoch>] PROCESS_SERVICE_CHECK_RESULT;<host>;<service>;<code>;<output>
 * Nagios 4 reads the output up to the end of the line and turns the two
 * characters "\n" back into a line break and "\\" into a backslash
 * (unescape_check_result_output in base/commands.c), so the multi-line
 * plugin output goes in escaped.  The line is written with one write()
 * of at most PIPE_BUF bytes: POSIX makes such a write to a FIFO atomic,
 * so lines of concurrent writers never interleave.  Output that does not
 * fit is cut so that the line stays what Nagios expects: the status line
 * first, then the perfdata (whole items only), then whole long-output
 * lines and a note that the rest was cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "report.h"
#include "submit_dest.h"

#if MXP_NAGIOS_LINE_MAX > PIPE_BUF
#error "a command line must fit one atomic FIFO write"
#endif

static const char cut_note[] = "\\n[output cut to fit the command file]";

/* The line being built: never longer than cap (the '\n' comes after). */
struct line {
    char *buf;
    size_t len, cap;
};

static int put_raw(struct line *l, const char *p, size_t n)
{
    if (n > l->cap - l->len)
        return 0;
    memcpy(l->buf + l->len, p, n);
    l->len += n;
    return 1;
}

/* One character of plugin output as it goes into the line. */
static size_t escaped(const char *s, size_t n, size_t *used, char out[8])
{
    uint32_t cp;

    *used = mxp_utf8_next(s, n, &cp);
    if (*s == '\\') {
        memcpy(out, "\\\\", 2);
        return 2;
    }
    if (*s == '\n') {
        memcpy(out, "\\n", 2);
        return 2;
    }
    if (*s == '\r')
        return 0;
    if ((unsigned char)*s < 0x20 || *s == 0x7f) {
        out[0] = ' ';
        return 1;
    }
    /* A UTF-8 sequence (or an invalid byte run) goes in whole, so a cut
     * never splits a character. */
    memcpy(out, s, *used);
    return *used;
}

/* Appends text escaped.  whole: all of it or nothing (returns 0 and
 * leaves the line as it was); else as much as fits.  Returns whether
 * all of it went in. */
static int put_text(struct line *l, const char *s, size_t n, int whole)
{
    size_t start = l->len;

    while (n > 0) {
        char out[8];
        size_t used, k = escaped(s, n, &used, out);

        if (!put_raw(l, out, k)) {
            if (whole)
                l->len = start;
            return 0;
        }
        s += used;
        n -= used;
    }
    return 1;
}

/* A perfdata item goes in as written, so one that would need escaping
 * (a backslash or a control character) is left out rather than changed. */
static int perf_clean(const struct mxp_span *it)
{
    for (size_t i = 0; i < it->n; i++)
        if (it->p[i] == '\\' || (unsigned char)it->p[i] < 0x20 ||
            it->p[i] == 0x7f)
            return 0;
    return 1;
}

/* The cut form: status, '|' and the perfdata items that fit, the long
 * output lines that fit, the note. */
static void put_cut(struct line *l, const struct mxp_plugin_text *t)
{
    size_t bar = 0, n_in = 0;
    const char *p, *end;
    int dropped = 0;

    if (!put_text(l, t->status.p, t->status.n, 0))
        return;
    for (size_t i = 0; i < t->n_perf; i++) {
        size_t before = l->len;

        if (!perf_clean(&t->perf[i]))
            continue;
        if (n_in == 0) {
            bar = l->len;
            if (!put_raw(l, "|", 1))
                break;
        } else if (!put_raw(l, " ", 1)) {
            break;
        }
        if (!put_raw(l, t->perf[i].p, t->perf[i].n)) {
            l->len = before;
            if (n_in == 0)
                l->len = bar;
            dropped = 1;
            continue; /* a shorter item further on may still fit */
        }
        n_in++;
    }
    /* Whole long-output lines, leaving room for the note. */
    p = t->long_text.p;
    end = p + t->long_text.n;
    if (l->cap - l->len < sizeof(cut_note) - 1)
        return;
    l->cap -= sizeof(cut_note) - 1;
    while (p != NULL && p < end && !dropped) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl != NULL ? nl : end;

        if (!put_raw(l, "\\n", 2) || !put_text(l, p, (size_t)(stop - p), 1)) {
            if (l->len >= 2 && memcmp(l->buf + l->len - 2, "\\n", 2) == 0)
                l->len -= 2;
            dropped = 1;
            break;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    l->cap += sizeof(cut_note) - 1;
    put_raw(l, cut_note, sizeof(cut_note) - 1);
}

size_t mxp_nagios_line(const struct mxp_submit_result *r, char *buf, size_t cap)
{
    struct mxp_plugin_text t;
    struct line l;
    size_t n;
    int len, code = r->code >= 0 && r->code <= 3 ? r->code : 3;

    if (cap < MXP_NAGIOS_LINE_MAX || !mxp_submit_name_ok(r->host) ||
        !mxp_submit_name_ok(r->service))
        return 0;
    len = snprintf(buf, cap, "[%lld] PROCESS_SERVICE_CHECK_RESULT;%s;%s;%d;",
                   r->epoch, r->host, r->service, code);
    if (len < 0 || (size_t)len >= MXP_NAGIOS_LINE_MAX - 1)
        return 0;
    l.buf = buf;
    l.len = (size_t)len;
    l.cap = MXP_NAGIOS_LINE_MAX - 1;
    /* As written when it fits (without a final newline, which would end
     * the command early). */
    n = strlen(r->output);
    while (n > 0 && (r->output[n - 1] == '\n' || r->output[n - 1] == '\r'))
        n--;
    if (!put_text(&l, r->output, n, 1)) {
        if (mxp_plugin_text_split(r->output, &t) != 0)
            return 0;
        put_cut(&l, &t);
        mxp_plugin_text_free(&t);
    }
    buf[l.len++] = '\n';
    return l.len;
}

int mxp_nagios_check(const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (path[0] == '\0') {
        snprintf(err, errlen,
                 "--submit nagios: needs the command file's "
                 "path (nagios:/path/to/nagios.cmd)");
        return MXP_ERR_INVALID;
    }
    /* stat, not lstat: a symlink to the FIFO is a usual set-up; what
     * counts is the type of what it leads to, checked again (fstat) on
     * every open. */
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "--submit nagios:%s: %s", path, strerror(errno));
        return MXP_ERR_CONFIG;
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen,
                 "--submit nagios:%s: not a FIFO or a regular file", path);
        return MXP_ERR_CONFIG;
    }
    if (access(path, W_OK) != 0) {
        snprintf(err, errlen,
                 "--submit nagios:%s: not writable by this user (%s)", path,
                 strerror(errno));
        return MXP_ERR_CONFIG;
    }
    return MXP_OK;
}

static int fail(char *why, size_t whylen, const char *fmt, const char *arg)
{
    snprintf(why, whylen, fmt, arg);
    return MXP_ERR_IO;
}

int mxp_nagios_send(const char *path, const struct mxp_submit_result *r,
                    double timeout, char *why, size_t whylen)
{
    char line[MXP_NAGIOS_LINE_MAX];
    double deadline = mxp_now() + timeout;
    struct stat st;
    size_t n;
    ssize_t w;
    int fd, rc = MXP_OK;

    n = mxp_nagios_line(r, line, sizeof(line));
    if (n == 0)
        return fail(why, whylen,
                    "%s: host or service name unusable in a command (empty, "
                    "longer than 255 bytes, ';' or a control character)",
                    "refused");
    /* O_NONBLOCK: opening a FIFO nobody reads fails with ENXIO instead of
     * waiting for a reader that may never come. */
    fd = open(path, O_WRONLY | O_NONBLOCK | O_APPEND | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO)
            return fail(why, whylen,
                        "%s: no process reads the FIFO (is Nagios running?)",
                        path);
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return MXP_ERR_IO;
    }
    if (fstat(fd, &st) != 0 ||
        (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))) {
        rc = fail(why, whylen, "%s: not a FIFO or a regular file", path);
        goto done;
    }
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};

        w = write(fd, line, n);
        if (w == (ssize_t)n)
            break;
        if (w >= 0) {
            rc = fail(why, whylen, "%s: short write", path);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            snprintf(why, whylen, "%s: %s", path, strerror(errno));
            rc = MXP_ERR_IO;
            break;
        }
        /* A full FIFO: Nagios is behind; wait for room, not forever. */
        if (mxp_now() >= deadline) {
            rc = fail(why, whylen,
                      "%s: the FIFO stayed full (Nagios does not read it)",
                      path);
            break;
        }
        if (poll(&pfd, 1, mxp_poll_ms(deadline)) < 0 && errno != EINTR) {
            snprintf(why, whylen, "%s: %s", path, strerror(errno));
            rc = MXP_ERR_IO;
            break;
        }
    }
done:
    close(fd);
    return rc;
}
