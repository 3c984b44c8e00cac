/*
 * runner.c - fork a child per plugin, collect its records, enforce the
 * deadline (runner.h).
 *
 * No signals are involved in timing: the parent's poll() is bounded by
 * the hard deadline and SIGKILL ends whatever overruns it.  A child's
 * exit is a poll event too, through a pidfd (Linux 5.3); without one the
 * parent looks for exited children every millisecond.
 */
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "ipc.h"
#include "status.h"

/* A child that returns an error status exits with this plus the status,
 * so the parent can name it when no result was sent. */
#define EXIT_STATUS_BASE 64

struct child {
    pid_t pid;
    int fd;    /* read end, -1 once closed */
    int pidfd; /* readable when the child exits; -1 if none */
    int exited;
    int wstatus;
    int killed; /* we killed it at the deadline */
    double started, ended;
    struct mxp_ipc_reader reader;
    int corrupt;
};

double mxp_runner_grace(double budget)
{
    double g = budget * 0.1;

    if (g > 0.5)
        g = 0.5;
    return g > 0 ? g : 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* -1: close only the fds of the child's own run (mxp_run_target). */
static int fd_floor = -1;

void mxp_runner_set_fd_floor(int floor)
{
    fd_floor = floor;
}

/* Calls fn for each fd open in [lo, hi] as /proc/self/fd lists them;
 * -1 without /proc. */
static int each_open_fd(int lo, int hi, void (*fn)(int fd, void *user),
                        void *user)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long v = strtol(e->d_name, &end, 10);

        if (end != e->d_name && *end == '\0' && v >= lo && v <= hi &&
            v != dirfd(d))
            fn((int)v, user);
    }
    closedir(d);
    return 0;
}

static void note_top(int fd, void *user)
{
    int *top = user;

    if (fd > *top)
        *top = fd;
}

static void close_one(int fd, void *user)
{
    (void)user;
    close(fd);
}

int mxp_runner_fd_watermark(void)
{
    struct rlimit rl;
    int top = -1, fd, hi = INT_MAX;

    /* An fd at or above the soft limit (valgrind's own, or one inherited
     * from a parent with a higher limit) is none of ours: building on it
     * would leave no fd for any pipe.  The children close it anyway. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur > 0 && rl.rlim_cur <= (rlim_t)INT_MAX)
        hi = (int)rl.rlim_cur - 1;
    if (each_open_fd(0, hi, note_top, &top) != 0) {
        /* No /proc: the lowest free fd, right unless something below it
         * was closed again. */
        fd = fcntl(0, F_DUPFD, 0);
        if (fd >= 0)
            close(fd);
        return fd >= 0 ? fd : 3;
    }
    /* Holes below the top would take the fds opened later (the pipes of
     * other runs), below the floor: fill them with /dev/null for good. */
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && fd < top)
        ;
    if (fd > top)
        close(fd);
    return top + 1;
}

static void close_from(int lo, int hi)
{
    if (lo > hi)
        return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0u) == 0)
        return;
#endif
    /* Linux < 5.9: the fds that are open, as /proc lists them. */
    each_open_fd(lo, hi, close_one, NULL);
}

/* In the child: nothing of the parent's other runs stays open but our own
 * pipe, so that fork cost and fd tables do not grow with -j. */
static void close_inherited(int wfd)
{
    if (fd_floor < 0)
        return;
    close_from(fd_floor, wfd - 1);
    close_from(wfd > fd_floor ? wfd + 1 : fd_floor, INT_MAX);
}

static void run_child(const struct mxp_run_settings *run,
                      struct mxp_plugin_slot *slot,
                      const struct mxp_target *target, double deadline, int wfd,
                      pid_t parent)
{
    struct mxp_job job;
    int rc;

    /* A job must not outlive mxprobe: Nagios kills a plugin that overruns
     * its own timeout, and the jobs are in process groups of their own. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(EXIT_STATUS_BASE + MXP_ERR_IO); /* it died before prctl */
    close_inherited(wfd);
    /* Plugins must not write to our stdout: the Nagios output is there. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    signal(SIGPIPE, SIG_IGN);
    mxp_job_prepare(&job, run, slot, target, deadline, wfd);
    rc = slot->lp.desc->run(&job.ctx, slot->lp.state);
    mxp_job_release(&job);
    close(wfd);
    /* _exit: the atexit handlers of the libraries (OpenSSL's cleanup...)
     * are the parent's business and cost every child CPU. */
    fflush(NULL);
    _exit(rc == MXP_OK ? 0 : EXIT_STATUS_BASE + (rc & 0x3f));
}

struct mxp_run {
    struct child *ch;
    struct mxp_check_result *res;
    size_t n;
    double t0, hard, budget;
    int rc;
};

static int start_children(const struct mxp_run_settings *run,
                          struct mxp_plugin_slot *const *slots, size_t n,
                          const struct mxp_target *target, double deadline,
                          struct child *ch)
{
    pid_t parent = getpid();
    size_t i, j;

    fflush(NULL); /* or the children would print our buffers again */
    for (i = 0; i < n; i++) {
        int p[2];
        pid_t pid;

        ch[i].started = mxp_now();
        if (pipe(p) != 0)
            return MXP_ERR_IO;
        pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            return MXP_ERR_IO;
        }
        if (pid == 0) {
            setpgid(0, 0);
            close(p[0]);
            for (j = 0; j < i; j++) {
                close_fd(&ch[j].fd);
                close_fd(&ch[j].pidfd);
            }
            run_child(run, slots[i], target, deadline, p[1], parent);
        }
        /* Both sides set the group, so a kill right after fork works. */
        setpgid(pid, pid);
        close(p[1]);
        ch[i].pid = pid;
        ch[i].fd = p[0];
        fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
#ifdef SYS_pidfd_open
        ch[i].pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    }
    return MXP_OK;
}

static void reap(struct child *c, int block)
{
    int st;
    pid_t r;

    if (c->exited || c->pid <= 0)
        return;
    do {
        r = waitpid(c->pid, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == c->pid) {
        c->exited = 1;
        c->wstatus = st;
        c->ended = mxp_now();
    }
}

/* Reads what the pipe has; 1 when it gave bytes, 0 at EOF or nothing. */
static int drain(struct child *c, struct mxp_check_result *res)
{
    char buf[16384];
    ssize_t r;

    r = read(c->fd, buf, sizeof(buf));
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r <= 0) {
        close_fd(&c->fd);
        return 0;
    }
    if (!c->corrupt && mxp_ipc_feed(&c->reader, buf, (size_t)r, res) != MXP_OK)
        c->corrupt = 1;
    return 1;
}

int mxp_run_start(const struct mxp_run_settings *run,
                  struct mxp_plugin_slot *const *slots, size_t n,
                  const struct mxp_target *target, double hard_deadline,
                  struct mxp_run **out)
{
    struct mxp_run *r = calloc(1, sizeof(*r));
    size_t i;

    *out = NULL;
    if (r == NULL)
        return MXP_ERR_NOMEM;
    r->res = calloc(n ? n : 1, sizeof(*r->res));
    r->ch = calloc(n ? n : 1, sizeof(*r->ch));
    if (r->res == NULL || r->ch == NULL) {
        free(r->res);
        free(r->ch);
        free(r);
        return MXP_ERR_NOMEM;
    }
    r->n = n;
    r->t0 = mxp_now();
    r->hard = hard_deadline;
    r->budget = hard_deadline - r->t0;
    for (i = 0; i < n; i++) {
        r->ch[i].fd = -1;
        r->ch[i].pidfd = -1;
        mxp_ipc_reader_init(&r->ch[i].reader);
        r->res[i].plugin = strdup(slots[i]->lp.name);
        r->res[i].state = MXP_STATE_UNKNOWN;
    }
    r->rc = start_children(run, slots, n, target,
                           hard_deadline - mxp_runner_grace(r->budget), r->ch);
    *out = r;
    return MXP_OK;
}

size_t mxp_run_pollfds(struct mxp_run *r, struct pollfd *pfd)
{
    size_t i, k = 0;

    for (i = 0; i < r->n; i++) {
        struct child *c = &r->ch[i];

        /* With a pidfd, exit is a poll event: no need to ask. */
        if (c->pidfd < 0)
            reap(c, 0);
        if (c->fd >= 0) {
            pfd[k].fd = c->fd;
            pfd[k].events = POLLIN;
            pfd[k++].revents = 0;
        }
        if (!c->exited && c->pidfd >= 0) {
            pfd[k].fd = c->pidfd;
            pfd[k].events = POLLIN;
            pfd[k++].revents = 0;
        }
    }
    return k;
}

void mxp_run_events(struct mxp_run *r, const struct pollfd *pfd, size_t k)
{
    size_t i, j = 0;

    /* The entries are in the order mxp_run_pollfds wrote them: walk the
     * children alongside instead of searching. */
    for (i = 0; i < k; i++) {
        while (j < r->n && r->ch[j].fd != pfd[i].fd &&
               r->ch[j].pidfd != pfd[i].fd)
            j++;
        if (j == r->n)
            return;
        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (pfd[i].fd == r->ch[j].fd)
            drain(&r->ch[j], &r->res[j]);
        else
            reap(&r->ch[j], 0);
    }
}

double mxp_run_wake(struct mxp_run *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->ch[i].pid > 0 && !r->ch[i].exited && r->ch[i].pidfd < 0)
            return mxp_min_deadline(r->hard, mxp_now() + 0.001);
    return r->hard;
}

int mxp_run_done(struct mxp_run *r, double now)
{
    size_t i;

    if (now >= r->hard)
        return 1;
    for (i = 0; i < r->n; i++) {
        struct child *c = &r->ch[i];

        if (c->fd >= 0 || (c->pid > 0 && !c->exited))
            return 0;
    }
    return 1;
}

/* Kills what overran and reads what it wrote before. */
static void stop_children(struct child *ch, size_t n,
                          struct mxp_check_result *res)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!ch[i].exited && ch[i].pid > 0) {
            reap(&ch[i], 0);
        }
        if (!ch[i].exited && ch[i].pid > 0) {
            kill(-ch[i].pid, SIGKILL);
            kill(ch[i].pid, SIGKILL);
            ch[i].killed = 1;
            reap(&ch[i], 1);
        }
        /* What a child wrote before it died or was killed is still read;
         * the pipe is non-blocking, so a grandchild holding it open
         * cannot stall us. */
        while (ch[i].fd >= 0 && drain(&ch[i], &res[i]))
            ;
        close_fd(&ch[i].fd);
        close_fd(&ch[i].pidfd);
    }
}

static void set_unknown(struct mxp_check_result *res, const char *why)
{
    char *s = strdup(why);

    if (s == NULL)
        return;
    free(res->summary);
    res->summary = s;
    res->state = MXP_STATE_UNKNOWN;
}

static void add_detail(struct mxp_check_result *res, enum mxp_state st,
                       const char *text)
{
    struct mxp_detail *d =
        realloc(res->details, (res->n_details + 1) * sizeof(*d));

    if (d == NULL)
        return;
    res->details = d;
    d[res->n_details].state = st;
    d[res->n_details].text = strdup(text);
    if (d[res->n_details].text != NULL)
        res->n_details++;
}

/* Turns how the child ended into the check's final state. */
static void conclude(const struct child *c, struct mxp_check_result *res,
                     double budget)
{
    const char *name = res->plugin ? res->plugin : "?";
    char why[256];
    int code;

    res->elapsed = (c->exited ? c->ended : mxp_now()) - c->started;
    if (c->killed && c->reader.got_result) {
        /* It had said its verdict and then failed to exit: the verdict
         * stands, the overrun is noted. */
        snprintf(why, sizeof(why),
                 "plugin '%s' had reported but did not exit within the "
                 "deadline (%.1f s) and was stopped",
                 name, budget);
        add_detail(res, MXP_STATE_UNKNOWN, why);
        return;
    }
    if (c->killed) {
        snprintf(why, sizeof(why),
                 "plugin '%s' did not finish within the deadline (%.1f s) "
                 "and was stopped",
                 name, budget);
        set_unknown(res, why);
        return;
    }
    if (WIFSIGNALED(c->wstatus)) {
        int sig = WTERMSIG(c->wstatus);
        snprintf(why, sizeof(why), "plugin '%s' crashed (signal %d, %s)", name,
                 sig, strsignal(sig));
        set_unknown(res, why);
        return;
    }
    code = WIFEXITED(c->wstatus) ? WEXITSTATUS(c->wstatus) : -1;
    if (c->corrupt) {
        snprintf(why, sizeof(why), "plugin '%s' sent a corrupt result stream",
                 name);
        set_unknown(res, why);
        return;
    }
    if (code != 0 && !(code >= EXIT_STATUS_BASE &&
                       code < EXIT_STATUS_BASE + MXP_STATUS_COUNT)) {
        snprintf(why, sizeof(why), "plugin '%s' crashed (exit status %d)", name,
                 code);
        set_unknown(res, why);
        return;
    }
    if (!c->reader.got_result) {
        if (code >= EXIT_STATUS_BASE)
            snprintf(why, sizeof(why), "%s check failed: %s", name,
                     mxp_strerror(code - EXIT_STATUS_BASE));
        else
            snprintf(why, sizeof(why), "plugin '%s' ended without a result",
                     name);
        set_unknown(res, why);
    }
}

int mxp_run_finish(struct mxp_run *r, struct mxp_target_report *out)
{
    size_t i;
    int rc = r->rc;

    stop_children(r->ch, r->n, r->res);
    out->checks = r->res;
    out->n_checks = r->n;
    out->state = MXP_STATE_OK;
    for (i = 0; i < r->n; i++) {
        struct mxp_check_result *res = &r->res[i];

        if (r->ch[i].pid > 0)
            conclude(&r->ch[i], res, r->budget);
        else
            set_unknown(res, "could not start the plugin");
        if (r->ch[i].reader.overflow)
            set_unknown(res, "plugin sent more than 4 MiB of results");
        if (res->summary == NULL)
            set_unknown(res, "no result");
        out->state = mxp_state_worst(out->state, res->state);
        mxp_ipc_reader_free(&r->ch[i].reader);
    }
    out->elapsed = mxp_now() - r->t0;
    free(r->ch);
    free(r);
    return rc;
}

int mxp_run_target(const struct mxp_run_settings *run,
                   struct mxp_plugin_slot *const *slots, size_t n,
                   const struct mxp_target *target, double hard_deadline,
                   struct mxp_target_report *out)
{
    struct mxp_run *r;
    struct pollfd *pfd;
    int rc;

    rc = mxp_run_start(run, slots, n, target, hard_deadline, &r);
    if (rc != MXP_OK)
        return rc;
    pfd = calloc(MXP_RUN_FDS_PER_PLUGIN * (n ? n : 1), sizeof(*pfd));
    while (pfd != NULL && !mxp_run_done(r, mxp_now())) {
        size_t k = mxp_run_pollfds(r, pfd);
        int ms = mxp_poll_ms(mxp_run_wake(r));

        if (k == 0 && ms > 1)
            ms = 1; /* children without pidfds are all that is left */
        if (poll(pfd, k, ms) > 0)
            mxp_run_events(r, pfd, k);
    }
    free(pfd);
    return mxp_run_finish(r, out);
}
