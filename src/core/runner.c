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

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
    /* Plugins must not write to our stdout: the Nagios output is there. */
    dup2(STDERR_FILENO, STDOUT_FILENO);
    signal(SIGPIPE, SIG_IGN);
    mxp_job_prepare(&job, run, slot, target, deadline, wfd);
    rc = slot->lp.desc->run(&job.ctx, slot->lp.state);
    mxp_job_release(&job);
    close(wfd);
    exit(rc == MXP_OK ? 0 : EXIT_STATUS_BASE + (rc & 0x3f));
}

static int start_children(const struct mxp_run_settings *run,
                          struct mxp_plugin_slot *slots, size_t n,
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
            run_child(run, &slots[i], target, deadline, p[1], parent);
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

static void wait_children(struct child *ch, size_t n,
                          struct mxp_check_result *res, double deadline)
{
    /* Two poll slots per child: its pipe and its pidfd. */
    struct pollfd *pfd = calloc(2 * (n ? n : 1), sizeof(*pfd));
    size_t *owner = calloc(2 * (n ? n : 1), sizeof(*owner));
    size_t i;

    while (pfd != NULL && owner != NULL) {
        nfds_t k = 0;
        int ms, blind = 0;

        for (i = 0; i < n; i++) {
            /* With a pidfd, exit is a poll event: no need to ask. */
            if (ch[i].pidfd < 0)
                reap(&ch[i], 0);
            if (ch[i].fd >= 0) {
                pfd[k].fd = ch[i].fd;
                pfd[k].events = POLLIN;
                owner[k++] = i;
            }
            if (!ch[i].exited) {
                if (ch[i].pidfd >= 0) {
                    pfd[k].fd = ch[i].pidfd;
                    pfd[k].events = POLLIN;
                    owner[k++] = i;
                } else {
                    blind = 1;
                }
            }
        }
        if (k == 0 && !blind)
            break; /* all pipes drained, all children reaped */
        ms = mxp_poll_ms(deadline);
        if (ms == 0)
            break;
        if (blind && ms > 1)
            ms = 1;
        for (i = 0; i < k; i++)
            pfd[i].revents = 0;
        if (poll(pfd, k, ms) <= 0)
            continue;
        for (i = 0; i < k; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (pfd[i].fd == ch[owner[i]].fd)
                drain(&ch[owner[i]], &res[owner[i]]);
            else
                reap(&ch[owner[i]], 0);
        }
    }
    free(pfd);
    free(owner);
    for (i = 0; i < n; i++) {
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

int mxp_run_target(const struct mxp_run_settings *run,
                   struct mxp_plugin_slot *slots, size_t n,
                   const struct mxp_target *target, double hard_deadline,
                   struct mxp_target_report *out)
{
    struct child *ch;
    double t0 = mxp_now(), budget = hard_deadline - t0;
    double soft = hard_deadline - mxp_runner_grace(budget);
    size_t i;
    int rc;

    out->checks = calloc(n ? n : 1, sizeof(*out->checks));
    ch = calloc(n ? n : 1, sizeof(*ch));
    if (out->checks == NULL || ch == NULL) {
        free(ch);
        return MXP_ERR_NOMEM;
    }
    out->n_checks = n;
    for (i = 0; i < n; i++) {
        ch[i].fd = -1;
        ch[i].pidfd = -1;
        mxp_ipc_reader_init(&ch[i].reader);
        out->checks[i].plugin = strdup(slots[i].lp.name);
        out->checks[i].state = MXP_STATE_UNKNOWN;
    }
    rc = start_children(run, slots, n, target, soft, ch);
    wait_children(ch, n, out->checks, hard_deadline);
    out->state = MXP_STATE_OK;
    for (i = 0; i < n; i++) {
        if (ch[i].pid > 0)
            conclude(&ch[i], &out->checks[i], budget);
        else
            set_unknown(&out->checks[i], "could not start the plugin");
        if (ch[i].reader.overflow)
            set_unknown(&out->checks[i], "plugin sent more than 4 MiB of "
                                         "results");
        if (out->checks[i].summary == NULL)
            set_unknown(&out->checks[i], "no result");
        out->state = mxp_state_worst(out->state, out->checks[i].state);
        mxp_ipc_reader_free(&ch[i].reader);
    }
    out->elapsed = mxp_now() - t0;
    free(ch);
    return rc;
}
