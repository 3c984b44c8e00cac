/*
 * submit.h - passive check results (--submit DEST, DESIGN.md section 6).
 *
 *   nagios:/path/to/nagios.cmd   the Nagios/Naemon external command file:
 *       one line per result,
 *       "[<epoch>] PROCESS_SERVICE_CHECK_RESULT;<host>;<service>;<code>;
 *        <output>", written with a single write() of at most PIPE_BUF
 *       bytes so that concurrent writers never interleave (long output
 *       is cut to fit, and its newlines written as the two characters
 *       \n, which Nagios 4 turns back into line breaks).  The path must
 *       be a FIFO or a regular file; a FIFO with no reader (the core is
 *       not running) is a failed submission, never a block.
 *   icinga2:https://host:5665    the Icinga 2 REST API: POST
 *       /v1/actions/process-check-result (libcurl, TLS verified against
 *       submit.icinga2.ca_file or the system's CAs, user and password
 *       from submit.icinga2, the password read from password_file, never
 *       from the command line), one request per result, each failure
 *       retried once.
 *
 * The submissions run in a forked child of their own (the "submitter"),
 * so a slow or dead Nagios or Icinga never holds up the checks or the
 * local report: the parent queues a result in memory and hands it over
 * when the pipe is writable.  Whatever fails is said on stderr, one line
 * per result ("mxprobe: submit: icinga2: mx1.example.org!mxprobe: HTTP
 * 404: no such service"), and counted; the local output is never lost.
 */
#ifndef MXP_SUBMIT_H
#define MXP_SUBMIT_H

#include <stddef.h>

#include "config.h"
#include "mxprobe/plugin.h"

struct mxp_submitter;

/* Checks DEST and what it needs (the path's type, the URL's scheme, the
 * user, the password file readable and not empty, the CA file) before any
 * check runs, then forks the submitter.  MXP_ERR_CONFIG or
 * MXP_ERR_INVALID with one sentence in err: main exits 3 with it. */
int mxp_submit_start(const char *dest, const struct mxp_submit_config *cfg,
                     struct mxp_submitter **out, char *err, size_t errlen);

/* Queues one result: host and service as Nagios/Icinga know them, the
 * state, and the plugin output in the Nagios format (status line, long
 * output lines, perfdata after '|' on the first and last lines, as
 * mxp_output_nagios writes it).  Copies everything; never blocks. */
int mxp_submit_queue(struct mxp_submitter *s, const char *host,
                     const char *service, enum mxp_state state,
                     const char *output);

/* For the parent's poll loop: the fd to poll and the events to ask for
 * (POLLOUT while results wait to be handed over; 0 when none), then
 * mxp_submit_events with what poll said. */
int mxp_submit_fd(const struct mxp_submitter *s, short *events);
void mxp_submit_events(struct mxp_submitter *s, short revents);

/* Hands over what is queued, closes the pipe and waits until deadline
 * (absolute, mxp_now()) for the submitter to finish; one still running
 * then is killed, and what it had not sent counts as failed.  Returns the
 * number of results that did not reach their destination, and frees s. */
size_t mxp_submit_finish(struct mxp_submitter *s, double deadline);

#endif
