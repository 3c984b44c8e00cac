/*
 * runner.h - run the plugins of one target, each in its own child.
 *
 * Every (target, plugin) job is a forked child in its own process group,
 * reporting over a pipe.  All jobs of a target run at once; the parent
 * polls their pipes until each has finished or the hard deadline comes,
 * then kills what is left.  A job that crashes, exits without a result or
 * overruns becomes UNKNOWN with a sentence saying so, while the others
 * are reported as usual.
 */
#ifndef MXP_RUNNER_H
#define MXP_RUNNER_H

#include <stddef.h>

#include "job.h"
#include "report.h"

/* Seconds kept back from a job's hard deadline for the plugin's own
 * deadline (svc->remaining), so that a plugin timing out on a silent
 * server still reports before it is killed. */
double mxp_runner_grace(double budget);

/* Runs slots[0..n) against target.  hard_deadline is when the parent
 * kills what still runs.  Fills out->checks (in slot order), out->state
 * and out->elapsed; out->host/addr/port are the caller's. */
int mxp_run_target(const struct mxp_run_settings *run,
                   struct mxp_plugin_slot *slots, size_t n,
                   const struct mxp_target *target, double hard_deadline,
                   struct mxp_target_report *out);

#endif
