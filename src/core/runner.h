/*
 * runner.h - run the plugins of a target, each in its own child.
 *
 * Every (target, plugin) job is a forked child in its own process group,
 * reporting over a pipe.  All jobs of a target run at once; the parent
 * polls their pipes until each has finished or the hard deadline comes,
 * then kills what is left.  A job that crashes, exits without a result or
 * overruns becomes UNKNOWN with a sentence saying so, while the others
 * are reported as usual.
 *
 * A run is asynchronous (mxp_run_start ... mxp_run_finish) so that one
 * poll loop in the parent drives the runs of many targets at once (the
 * scheduler, schedule.h); mxp_run_target is the blocking form for one.
 */
#ifndef MXP_RUNNER_H
#define MXP_RUNNER_H

#include <poll.h>
#include <stddef.h>

#include "job.h"
#include "report.h"

/* Seconds kept back from a job's hard deadline for the plugin's own
 * deadline (svc->remaining), so that a plugin timing out on a silent
 * server still reports before it is killed. */
double mxp_runner_grace(double budget);

/* Every fd from floor up is closed in a plugin child, but its own pipe:
 * the pipes and pidfds of the other runs in flight, the expander's and
 * the submitter's pipes.  Set it once the plugins are init()ed (what
 * they opened stays below) and before those are opened; -1 (the
 * default) closes only the fds of the child's own run. */
void mxp_runner_set_fd_floor(int floor);
/* One above the highest fd open now (scans /proc/self/fd; else the
 * lowest free one): the floor to give above.  Holes below it are filled
 * with /dev/null, so that every fd opened afterwards comes above it. */
int mxp_runner_fd_watermark(void);

/* Parent fds a run of n plugins holds at most (pipe and pidfd each). */
#define MXP_RUN_FDS_PER_PLUGIN 2

struct mxp_run;

/* Forks a child per slots[0..n) against target (used during the call
 * only: the children have their copies).  hard_deadline is when the
 * parent kills what still runs.  Fails only for out of memory; a plugin
 * that cannot be started is reported UNKNOWN by mxp_run_finish. */
int mxp_run_start(const struct mxp_run_settings *run,
                  struct mxp_plugin_slot *const *slots, size_t n,
                  const struct mxp_target *target, double hard_deadline,
                  struct mxp_run **out);
/* Fills pfd (room for MXP_RUN_FDS_PER_PLUGIN * n entries) with what to
 * poll; returns how many.  Then mxp_run_events with the same entries. */
size_t mxp_run_pollfds(struct mxp_run *r, struct pollfd *pfd);
void mxp_run_events(struct mxp_run *r, const struct pollfd *pfd, size_t k);
/* When the loop must look at the run again without an event (absolute,
 * mxp_now()): its hard deadline, or soon when a child has no pidfd. */
double mxp_run_wake(struct mxp_run *r);
/* 1 once every child has exited and every pipe is drained, or the hard
 * deadline has passed. */
int mxp_run_done(struct mxp_run *r, double now);
/* Kills what still runs, reads what was written, concludes each check
 * and fills out->checks (in slot order), out->state and out->elapsed
 * (out->host/addr/port are the caller's); frees r. */
int mxp_run_finish(struct mxp_run *r, struct mxp_target_report *out);

/* The blocking form: start, poll until done, finish. */
int mxp_run_target(const struct mxp_run_settings *run,
                   struct mxp_plugin_slot *const *slots, size_t n,
                   const struct mxp_target *target, double hard_deadline,
                   struct mxp_target_report *out);

#endif
