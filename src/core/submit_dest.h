/*
 * submit_dest.h - the destinations behind submit.h, as the submitter
 * child and the unit tests see them.
 *
 * submit.c owns the queue, the pipe and the child; each destination file
 * turns one result into what its receiver reads: submit_nagios.c a line
 * of the external command file, submit_icinga2.c a request to the Icinga
 * 2 API (through http.c).  The helpers here that split plugin output
 * into its parts are shared by both.  Errors come back as an MXP_ status
 * and one sentence in why.
 */
#ifndef MXP_SUBMIT_DEST_H
#define MXP_SUBMIT_DEST_H

#include <stddef.h>

#include "config.h"

/* One result as the submitter sends it (strings NUL-terminated). */
struct mxp_submit_result {
    long long epoch; /* when the result was queued: the check's time */
    const char *host, *service;
    int code; /* 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN */
    const char *output;
};

/* Whether a host or service name can be submitted: 1..255 bytes, no ';'
 * (the command file's field separator), no control character (a newline
 * would end the command and start another one). */
int mxp_submit_name_ok(const char *s);

/* Plugin output in its Nagios parts: the status line without its
 * perfdata, the long output (lines after the first, up to the first
 * '|' in them), and every perfdata item of the first line and of the
 * long part, in order.  Offsets into the output given to split. */
struct mxp_span {
    const char *p;
    size_t n;
};
struct mxp_plugin_text {
    struct mxp_span status;
    struct mxp_span long_text; /* without its leading/trailing newline */
    struct mxp_span *perf;     /* malloc()ed */
    size_t n_perf;
};
int mxp_plugin_text_split(const char *output, struct mxp_plugin_text *t);
void mxp_plugin_text_free(struct mxp_plugin_text *t);

/* ---- nagios: (submit_nagios.c) ---- */

/* The longest command line (with its '\n'): one write() of at most
 * PIPE_BUF bytes is atomic on a FIFO, so writers never interleave. */
#define MXP_NAGIOS_LINE_MAX 4096

/* Checks at start: path exists (symlinks followed), is a FIFO or a
 * regular file, and this process may write it. */
int mxp_nagios_check(const char *path, char *err, size_t errlen);

/* Builds the command line, '\n' included, into buf (MXP_NAGIOS_LINE_MAX
 * bytes or more; the line never exceeds MXP_NAGIOS_LINE_MAX) and returns
 * its length; 0 when host or service cannot be submitted. */
size_t mxp_nagios_line(const struct mxp_submit_result *r, char *buf,
                       size_t cap);

/* Writes r's line to path with one write(): opens without blocking (a
 * FIFO nobody reads is an error, ENXIO), checks the type of what it
 * opened, waits at most timeout seconds for room in a full FIFO. */
int mxp_nagios_send(const char *path, const struct mxp_submit_result *r,
                    double timeout, char *why, size_t whylen);

/* ---- icinga2: (submit_icinga2.c) ---- */

struct mxp_icinga2;

/* Checks the URL (https://host[:port], nothing after it but an optional
 * '/'), the user, the CA file, and reads the password file (not
 * world-readable, not empty; its first line is the password). */
int mxp_icinga2_new(const char *url, const struct mxp_submit_config *cfg,
                    struct mxp_icinga2 **out, char *err, size_t errlen);
/* Seconds: connect, and the whole request (each try). Defaults 5, 10. */
void mxp_icinga2_set_timeouts(struct mxp_icinga2 *c, double connect_s,
                              double request_s);
/* The JSON body of r's request (malloc()ed, NULL on OOM). */
char *mxp_icinga2_body(const struct mxp_icinga2 *c,
                       const struct mxp_submit_result *r);
/* POST /v1/actions/process-check-result, retried once on any failure. */
int mxp_icinga2_send(struct mxp_icinga2 *c, const struct mxp_submit_result *r,
                     char *why, size_t whylen);
void mxp_icinga2_free(struct mxp_icinga2 *c);

#endif
