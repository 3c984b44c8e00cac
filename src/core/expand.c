/*
 * expand.c - the expander's parent side (expand.h): the checks of entry
 * text, the fork, and the reader that turns the child's records
 * (expand_wire.h) into findings.  The reader never blocks and trusts
 * nothing the child sends: the child parses DNS answers, hostile input,
 * and a bug there must cost at most the entries it had not finished.
 */
#include "expand.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "expand_wire.h"
#include "names.h"
#include "net.h"
#include "sweep.h"

/* ---- entry text ------------------------------------------------------- */

enum mxp_entry_kind mxp_entry_kind_of(const char *text)
{
    return strchr(text, '/') != NULL ? MXP_ENTRY_CIDR : MXP_ENTRY_HOST;
}

int mxp_entry_check(const struct mxp_entry *e, char *err, size_t errlen)
{
    struct mxp_cidr c;
    unsigned char b[16];
    int family;

    if (e->text == NULL || e->text[0] == '\0') {
        snprintf(err, errlen, "empty %s",
                 e->kind == MXP_ENTRY_DOMAIN ? "domain" : "host");
        return MXP_ERR_INVALID;
    }
    switch (e->kind) {
    case MXP_ENTRY_CIDR:
        return mxp_cidr_parse(e->text, &c, err, errlen);
    case MXP_ENTRY_HOST:
        if (mxp_parse_addr(e->text, &family, b) == 0 ||
            mxp_is_host_name(e->text))
            return MXP_OK;
        snprintf(err, errlen,
                 "'%.80s' is neither an IP address nor a host name "
                 "(like mx.example.org)",
                 e->text);
        return MXP_ERR_INVALID;
    case MXP_ENTRY_DOMAIN:
        if (mxp_is_domain_name(e->text))
            return MXP_OK;
        snprintf(err, errlen, "'%.80s' is not a mail domain (like example.org)",
                 e->text);
        return MXP_ERR_INVALID;
    }
    snprintf(err, errlen, "unknown kind of entry");
    return MXP_ERR_INVALID;
}

/* ---- records ---------------------------------------------------------- */

static size_t put_text(unsigned char *p, const char *s, size_t max)
{
    size_t i;

    for (i = 0; s != NULL && s[i] != '\0' && i < max; i++)
        p[i] = (s[i] >= 0x20 && s[i] <= 0x7e) ? (unsigned char)s[i] : '?';
    return i;
}

static size_t finish_record(unsigned char *buf, size_t body)
{
    uint32_t n = (uint32_t)body;

    memcpy(buf, &n, 4);
    return 4 + body;
}

size_t mxp_expand_encode_addr(unsigned char *buf, size_t entry, int family,
                              const unsigned char *bytes, const char *host)
{
    uint32_t e = (uint32_t)entry;
    size_t alen = family == AF_INET ? 4 : 16, off = 4;

    buf[off++] = 'A';
    memcpy(buf + off, &e, 4);
    off += 4;
    buf[off++] = family == AF_INET ? 4 : 6;
    memcpy(buf + off, bytes, alen);
    off += alen;
    off += put_text(buf + off, host, MXP_EXPAND_MAX_HOST);
    return finish_record(buf, off - 4);
}

size_t mxp_expand_encode_end(unsigned char *buf, size_t entry,
                             const char *error, const char *warning)
{
    uint32_t e = (uint32_t)entry;
    size_t off = 4;

    buf[off++] = 'E';
    memcpy(buf + off, &e, 4);
    off += 4;
    off += put_text(buf + off, error, MXP_EXPAND_MAX_ERROR);
    if (warning != NULL && warning[0] != '\0') {
        buf[off++] = '\0';
        off += put_text(buf + off, warning, MXP_EXPAND_MAX_ERROR);
    }
    return finish_record(buf, off - 4);
}

/* ---- the parent side -------------------------------------------------- */

struct mxp_expander {
    pid_t pid;    /* -1: none (attached to a test's pipe) */
    int fd;       /* -1 once closed */
    size_t n;     /* entries */
    char **texts; /* each entry's text, for the synthesised errors */
    size_t cur;   /* the first entry not ended */
    size_t cur_addrs;
    struct mxp_buf in;
};

static int printable(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return 0;
    return 1;
}

/* Decodes one body; 0 when it breaks a rule. */
static int deliver(struct mxp_expander *x, const unsigned char *p, size_t n,
                   mxp_expand_cb cb, void *user)
{
    char host[MXP_EXPAND_MAX_HOST + 1], text[INET6_ADDRSTRLEN];
    char error[MXP_EXPAND_MAX_ERROR + 1], warning[MXP_EXPAND_MAX_ERROR + 1];
    struct mxp_expansion ex;
    uint32_t entry;
    size_t alen, hlen;

    if (n < 5 || x->cur >= x->n)
        return 0;
    memcpy(&entry, p + 1, 4);
    if (entry != x->cur)
        return 0;
    memset(&ex, 0, sizeof(ex));
    ex.entry = entry;
    if (p[0] == 'A') {
        if (n < 6 || (p[5] != 4 && p[5] != 6))
            return 0;
        alen = p[5] == 4 ? 4 : 16;
        if (n < 6 + alen + 1)
            return 0;
        hlen = n - 6 - alen;
        if (hlen > MXP_EXPAND_MAX_HOST || !printable(p + 6 + alen, hlen))
            return 0;
        if (++x->cur_addrs > MXP_EXPAND_MAX_PER_ENTRY)
            return 0;
        memcpy(host, p + 6 + alen, hlen);
        host[hlen] = '\0';
        ex.family = p[5] == 4 ? AF_INET : AF_INET6;
        ex.bytes = p + 6;
        if (inet_ntop(ex.family, ex.bytes, text, sizeof(text)) == NULL)
            return 0;
        ex.addr = text;
        ex.host = host;
        cb(user, &ex);
        return 1;
    }
    if (p[0] == 'E') {
        const unsigned char *nul = memchr(p + 5, '\0', n - 5);
        size_t wlen = 0;

        hlen = nul != NULL ? (size_t)(nul - (p + 5)) : n - 5;
        if (nul != NULL) {
            wlen = n - 5 - hlen - 1;
            if (wlen == 0 || wlen > MXP_EXPAND_MAX_ERROR ||
                !printable(nul + 1, wlen))
                return 0;
            memcpy(warning, nul + 1, wlen);
            warning[wlen] = '\0';
        }
        if (hlen > MXP_EXPAND_MAX_ERROR || !printable(p + 5, hlen))
            return 0;
        memcpy(error, p + 5, hlen);
        error[hlen] = '\0';
        ex.last = 1;
        ex.error = hlen > 0 ? error : NULL;
        ex.warning = wlen > 0 ? warning : NULL;
        ex.host = x->texts[x->cur];
        x->cur++;
        x->cur_addrs = 0;
        cb(user, &ex);
        return 1;
    }
    return 0;
}

static void close_stream(struct mxp_expander *x)
{
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    mxp_buf_free(&x->in);
}

/* Kills the child unless it is gone; with reap, waits for it.  A pid
 * that waitpid no longer knows (reaped elsewhere) is never signalled: it
 * may belong to somebody else by now. */
static void stop_child(struct mxp_expander *x, int reap)
{
    pid_t r;

    if (x->pid <= 0)
        return;
    do
        r = waitpid(x->pid, NULL, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        kill(x->pid, SIGKILL);
        if (!reap)
            return;
        while (waitpid(x->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    x->pid = -1;
}

/* The stream ended early: every entry left ends with an error. */
static void synthesise(struct mxp_expander *x, const char *why,
                       mxp_expand_cb cb, void *user)
{
    char error[MXP_EXPAND_MAX_ERROR + 1];
    struct mxp_expansion ex;

    close_stream(x);
    stop_child(x, 0);
    while (x->cur < x->n) {
        memset(&ex, 0, sizeof(ex));
        ex.entry = x->cur;
        ex.host = x->texts[x->cur];
        ex.last = 1;
        snprintf(error, sizeof(error), "the expansion of '%.200s' failed: %s",
                 x->texts[x->cur], why);
        ex.error = error;
        x->cur++;
        x->cur_addrs = 0;
        cb(user, &ex);
    }
}

/* Decodes every whole record in x->in; 0 on a corrupt one. */
static int drain(struct mxp_expander *x, mxp_expand_cb cb, void *user)
{
    size_t off = 0;
    uint32_t len;
    int ok = 1;

    while (x->in.len - off >= 4 && x->cur < x->n) {
        memcpy(&len, x->in.data + off, 4);
        if (len == 0 || len > MXP_EXPAND_MAX_RECORD) {
            ok = 0;
            break;
        }
        if (x->in.len - off - 4 < len)
            break;
        if (!deliver(x, (const unsigned char *)x->in.data + off + 4, len, cb,
                     user)) {
            ok = 0;
            break;
        }
        off += 4 + len;
    }
    mxp_buf_consume(&x->in, off);
    return ok;
}

void mxp_expand_read(struct mxp_expander *x, mxp_expand_cb cb, void *user)
{
    char chunk[16384];
    int rounds;

    /* Bounded work per call: the poll loop has other things to do, and
     * poll() says again when more is there. */
    for (rounds = 0; x->fd >= 0 && rounds < 16; rounds++) {
        ssize_t r = read(x->fd, chunk, sizeof(chunk));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            synthesise(x,
                       r == 0 ? "the expander stopped"
                              : "cannot read from the expander",
                       cb, user);
            return;
        }
        if (mxp_buf_append(&x->in, chunk, (size_t)r) != MXP_OK) {
            synthesise(x, "out of memory", cb, user);
            return;
        }
        if (!drain(x, cb, user)) {
            synthesise(x, "the expander sent a corrupt record", cb, user);
            return;
        }
        if (x->cur >= x->n) {
            /* Everything ended: whatever else comes is not read. */
            close_stream(x);
            return;
        }
    }
}

pid_t mxp_expand_pid(const struct mxp_expander *x)
{
    return x->pid;
}

int mxp_expand_fd(const struct mxp_expander *x)
{
    return x->fd;
}

int mxp_expand_done(const struct mxp_expander *x)
{
    return x->cur >= x->n;
}

static void free_texts(char **texts, size_t n)
{
    for (size_t i = 0; texts != NULL && i < n; i++)
        free(texts[i]);
    free(texts);
}

int mxp_expand_attach(const struct mxp_entry *entries, size_t n, int fd,
                      pid_t pid, struct mxp_expander **out)
{
    struct mxp_expander *x = calloc(1, sizeof(*x));

    *out = NULL;
    if (x == NULL)
        return MXP_ERR_NOMEM;
    x->texts = calloc(n > 0 ? n : 1, sizeof(*x->texts));
    if (x->texts == NULL) {
        free(x);
        return MXP_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        x->texts[i] = strdup(entries[i].text != NULL ? entries[i].text : "");
        if (x->texts[i] == NULL) {
            free_texts(x->texts, n);
            free(x);
            return MXP_ERR_NOMEM;
        }
    }
    x->n = n;
    x->pid = pid;
    x->fd = fd;
    mxp_buf_init(&x->in);
    if (fd >= 0) {
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (n == 0)
        close_stream(x);
    *out = x;
    return MXP_OK;
}

/* In the child: keep only the pipe (and stdin/stderr), so that the other
 * jobs' pipes and sockets are not held open by the expander. */
static void child_fds(int *wfd)
{
    int keep = 3;

    if (*wfd != keep) {
        if (dup2(*wfd, keep) < 0)
            _exit(1);
        *wfd = keep;
    }
    if (close_range((unsigned)keep + 1, ~0u, 0) != 0)
        for (int fd = keep + 1; fd < 1024; fd++)
            (void)close(fd);
    /* Nothing of the expander belongs on our stdout (the report). */
    (void)dup2(STDERR_FILENO, STDOUT_FILENO);
}

int mxp_expand_start(const struct mxp_entry *entries, size_t n,
                     const struct mxp_expand_settings *set,
                     struct mxp_expander **out)
{
    pid_t parent = getpid(), pid;
    int p[2], rc;

    *out = NULL;
    if (n == 0) /* nothing to do: no child */
        return mxp_expand_attach(entries, 0, -1, -1, out);
    if (pipe(p) != 0)
        return MXP_ERR_IO;
    fflush(NULL); /* or the child would print our buffers again */
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return MXP_ERR_IO;
    }
    if (pid == 0) {
        int wfd = p[1];

        /* The expander must not outlive mxprobe. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        close(p[0]);
        signal(SIGPIPE, SIG_IGN);
        child_fds(&wfd);
        mxp_expand_child(entries, n, set, wfd);
        close(wfd);
        _exit(0);
    }
    close(p[1]);
    rc = mxp_expand_attach(entries, n, p[0], pid, out);
    if (rc != MXP_OK) {
        close(p[0]);
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    return rc;
}

void mxp_expand_free(struct mxp_expander *x)
{
    if (x == NULL)
        return;
    close_stream(x);
    stop_child(x, 1);
    free_texts(x->texts, x->n);
    free(x);
}
