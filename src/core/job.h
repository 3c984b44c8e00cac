/*
 * job.h - one (target, plugin) job: the context a plugin runs in.
 *
 * The core side of struct mxp_ctx.  In the forked child every result call
 * of the plugin becomes a record on the pipe to the parent (ipc.h), so
 * what a plugin reported before it crashed or hung is not lost.  During
 * init() (in the parent, no target) the same table serves config access
 * and config errors; network services refuse there.
 */
#ifndef MXP_JOB_H
#define MXP_JOB_H

#include "buf.h"
#include "config.h"
#include "dns.h"
#include "mxprobe/plugin.h"
#include "plugin_loader.h"
#include "result.h"

/* What every job of a run shares. */
struct mxp_run_settings {
    const struct mxp_config *cfg;
    struct mxp_probe_settings probe;
    struct mxp_dns_config dns;
    int verbosity;
    int family; /* AF_INET (-4) or AF_INET6 (-6) only, else 0 */
};

/* Per plugin, decided once by main: thresholds and config section. */
struct mxp_plugin_slot {
    struct mxp_loaded_plugin lp;
    const struct mxp_node *cfg;  /* plugins.<name>, may be NULL */
    const char *warn_text, *crit_text; /* NULL when none */
    struct mxp_range warn, crit;
};

struct mxp_job {
    struct mxp_ctx ctx; /* ctx.core points back to the job */
    const struct mxp_run_settings *run;
    struct mxp_plugin_slot *slot;
    double t0;       /* job start, transcript times are relative to it */
    double deadline; /* what svc->remaining() counts down to */
    int fd;          /* pipe to the parent; -1 in init */
    struct mxp_arena *arena;
    struct mxp_resolver *resolver; /* created on first use */
    char *init_error; /* first config error reported during init() */
    /* The details so far, for set_result_from_details. */
    size_t n_problems;      /* details that were not OK */
    enum mxp_state worst;   /* the worst of them */
    char *worst_text;       /* the first detail of that state */
};

const struct mxp_services *mxp_core_services(void);

/* Prepares a job; target NULL for init().  No allocation. */
void mxp_job_prepare(struct mxp_job *job, const struct mxp_run_settings *run,
                     struct mxp_plugin_slot *slot,
                     const struct mxp_target *target, double deadline,
                     int fd);
/* Frees what the job acquired (arena, resolver, init_error). */
void mxp_job_release(struct mxp_job *job);

/* Runs the plugin's init() for slot; on a config error returns
 * MXP_ERR_CONFIG with the message in err. */
int mxp_job_init_plugin(const struct mxp_run_settings *run,
                        struct mxp_plugin_slot *slot, char *err,
                        size_t errlen);

#endif
