/*
 * stream.h - the output of a run of many targets, written as targets
 * finish (DESIGN.md section 6).
 *
 * Each finished target is rendered at once and its report freed by the
 * caller: what stays in memory per target is its rendered output, never
 * the report with its transcripts.
 *
 *   json         one line per target as it finishes (JSON Lines)
 *   text         each target's report as it finishes, in the configured
 *                order (one that finishes early waits for those before
 *                it), then the run summary; a progress line on stderr
 *                when asked (a terminal, no -q)
 *   nagios       everything at the end: the status line comes first and
 *                needs every target
 *   openmetrics  at the end, each family's samples together
 */
#ifndef MXP_STREAM_H
#define MXP_STREAM_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "report.h"

struct mxp_stream_settings {
    enum mxp_format format; /* never MXP_FORMAT_AUTO */
    int verbosity;
    int color;         /* text: ANSI colours */
    size_t plugin_col; /* text: the widest check name + 2 */
    enum mxp_nagios_form nagios_form;
    int progress; /* text: a progress line on err */
    FILE *out, *err;
};

struct mxp_stream;

struct mxp_stream *mxp_stream_new(const struct mxp_stream_settings *set);
/* Target t has finished; seq is its place in the configured order (every
 * seq from 0 up is added exactly once, in any order).  t stays the
 * caller's.  MXP_OK, or the first error (kept for mxp_stream_finish). */
int mxp_stream_add(struct mxp_stream *s, size_t seq,
                   const struct mxp_target_report *t);
/* The progress line: targets known so far and running now (redrawn at
 * most ten times a second; none while only one target is known). */
void mxp_stream_progress(struct mxp_stream *s, size_t known, size_t running);
/* The worst state of the targets added so far (OK when none). */
enum mxp_state mxp_stream_state(const struct mxp_stream *s);
/* Writes what is held, the run summary, clears the progress line, frees
 * s.  MXP_OK, or the first error of the whole output (out of memory, a
 * write that failed). */
int mxp_stream_finish(struct mxp_stream *s);

#endif
