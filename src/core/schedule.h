/*
 * schedule.h - many targets at once: the layer above the runner
 * (DESIGN.md section 6).
 *
 * The entries (-H, -D, or the config's targets:) go to the expander,
 * which streams their addresses back; each address becomes a target with
 * its own hard deadline (-t from its own start) and at most `jobs`
 * targets run at once, all driven by one poll loop.  Each finished target
 * goes to the output stream at once (stream.h) and its report is freed;
 * each finished group (the addresses of one host name of one entry) is
 * rendered in the Nagios format and queued to the submitter.
 *
 *   host entry    every address of the name runs every check of the
 *                 entry (zone too, per address, with no peers)
 *   domain entry  the domain-wide checks (MXP_PLUGIN_DOMAIN_WIDE: zone)
 *                 run once, when the entry's expansion has ended, in a
 *                 report of their own (host the domain, no address):
 *                 the plugin's target is the first MX address (host and
 *                 domain the domain) with the others as target.peers;
 *                 every address runs the other checks with the domain
 *   CIDR entry    every address that answered, host = the address text
 *
 * An entry that gave no address is one report with its error (UNKNOWN);
 * a netblock where nothing answered is one OK report with a "scan" check
 * saying so.  Order (the text and nagios outputs): entries in order, a
 * domain entry's own report first, then the addresses in the expander's
 * order.
 */
#ifndef MXP_SCHEDULE_H
#define MXP_SCHEDULE_H

#include <stddef.h>

#include "expand.h"
#include "job.h"
#include "stream.h"
#include "submit.h"

struct mxp_sched_entry {
    struct mxp_entry entry; /* kind, text (as configured), sweep port */
    const char *domain;     /* the servers' mail domain; NULL: guessed */
    unsigned port;          /* the SMTP port */
    struct mxp_plugin_slot **slots; /* its checks, out of main's slots */
    size_t n_slots;
    const char *service; /* its submit service; NULL: the default */
};

struct mxp_sched_settings {
    const struct mxp_run_settings *run;
    const struct mxp_expand_settings *expand;
    size_t jobs;    /* targets at once (>= 1) */
    double timeout; /* -t: seconds per target */
    /* > 0: an absolute hard deadline for every target instead (-H HOST:
     * the whole run is bounded by -t, as Nagios expects). */
    double run_deadline;
    struct mxp_submitter *submit; /* NULL: no --submit */
    const char *service;          /* submit.service */
    int verbosity;
    struct mxp_stream *out;
};

/* Runs entries[0..n) to the end.  MXP_OK, or an error status when the
 * expander could not be started or memory ran out (what was found is
 * still in the stream). */
int mxp_schedule(const struct mxp_sched_entry *entries, size_t n,
                 const struct mxp_sched_settings *set);

/* How many targets can run at once under the open-file limit: raises the
 * soft limit of RLIMIT_NOFILE toward the hard one as jobs needs (each
 * plugin child holds MXP_RUN_FDS_PER_PLUGIN fds in the parent), and when
 * the hard limit is too low returns fewer than jobs (at least 1). */
size_t mxp_sched_fit_jobs(size_t jobs, size_t max_slots, int fd_floor);

#endif
