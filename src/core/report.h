/*
 * report.h - what a run found, as the output formats see it.
 *
 * The runner fills one mxp_target_report per target with one
 * mxp_check_result per plugin; output_*.c turn that into text.
 */
#ifndef MXP_REPORT_H
#define MXP_REPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mxprobe/plugin.h"
#include "result.h"

struct mxp_detail {
    enum mxp_state state;
    char *text;
};

/* A named value of a check (svc->add_field): text, or a number. */
struct mxp_field {
    char *key;
    char *text; /* NULL for a number */
    double number;
};

#define MXP_MAX_FIELDS 64 /* keys a check may set */
#define MXP_FIELD_KEY_MAX 32
#define MXP_FIELD_TEXT_MAX 1024

struct mxp_transcript_line {
    double t;  /* seconds since the job started */
    char dir;  /* 'C' connect/info, '>' sent, '<' received, '!' error */
    char *text;
};

struct mxp_check_result {
    char *plugin;
    enum mxp_state state;
    char *summary;
    struct mxp_detail *details;
    size_t n_details;
    struct mxp_perfdatum *perf;
    size_t n_perf;
    struct mxp_transcript_line *transcript;
    size_t n_transcript;
    char **log;
    size_t n_log;
    struct mxp_field *fields; /* in the order first set */
    size_t n_fields;
    double elapsed; /* seconds */
};

struct mxp_target_report {
    char *host;
    char *addr; /* NULL when the host could not be resolved */
    unsigned port;
    enum mxp_state state; /* worst of the checks (and of error) */
    char *error;          /* a target-level failure, else NULL */
    struct mxp_check_result *checks;
    size_t n_checks;
    double elapsed;
};

struct mxp_report {
    struct mxp_target_report *targets;
    size_t n_targets;
    enum mxp_state state; /* worst of all targets */
};

void mxp_check_result_free(struct mxp_check_result *c); /* members only */
/* n perfdata's strings, and the array. */
void mxp_perfdata_free(struct mxp_perfdatum *p, size_t n);
/* 1 when key is a valid field key (1..MXP_FIELD_KEY_MAX of [a-z0-9_]). */
int mxp_field_key_ok(const char *key, size_t len);
void mxp_report_free(struct mxp_report *r); /* members only */

/* The output formats (output_nagios.c, output_text.c, output_json.c).
 * verbosity is the count of -v: 0 summaries and non-OK details, 1 all
 * details, 2 plus SMTP transcripts, 3 plus plugin debug logs. */
int mxp_output_nagios(FILE *f, const struct mxp_report *r, int verbosity);
int mxp_output_text(FILE *f, const struct mxp_report *r, int verbosity,
                    int color);
int mxp_output_json(FILE *f, const struct mxp_report *r, int verbosity);
/* States, check times and perfdata as OpenMetrics gauges (verbosity
 * changes nothing: metrics are all there is). */
int mxp_output_openmetrics(FILE *f, const struct mxp_report *r);

/* ---- helpers shared by the output formats (report.c) ---------------- */

/* An output under construction with a sticky status: after the first
 * failure every append is a no-op, so a formatter checks once at the end.
 * mxp_out_finish() writes the text to f (when status is still MXP_OK),
 * frees it and returns MXP_OK, the first failure, or MXP_ERR_IO. */
struct mxp_out {
    struct mxp_buf buf;
    int status;
};
void mxp_out_init(struct mxp_out *o);
void mxp_out_put(struct mxp_out *o, const char *p, size_t n);
void mxp_out_puts(struct mxp_out *o, const char *s); /* NULL: nothing */
void mxp_out_printf(struct mxp_out *o, const char *fmt, ...) MXP_PRINTF(2, 3);
/* mxp_perf_format() into o; a datum without a label is written as
 * "unnamed" rather than failing the whole output. */
void mxp_out_perf(struct mxp_out *o, const struct mxp_perfdatum *p);
int mxp_out_finish(struct mxp_out *o, FILE *f);

/* "host [addr]", "addr" when both are equal, "host" when addr is NULL.
 * Raw text (not sanitised); caller frees; NULL on out of memory. */
char *mxp_target_name(const struct mxp_target_report *t);
/* The one-line summary of a target: the summaries of non-OK checks
 * ordered CRITICAL, WARNING, UNKNOWN (run order within a state), or all
 * summaries when every check is OK, joined with ", "; a target error
 * comes first.  A check without a summary counts as "<plugin> <STATE>";
 * no checks and no error gives "no checks run".
 * Raw text; caller frees; NULL on out of memory. */
char *mxp_target_summary(const struct mxp_target_report *t);
/* "x critical, y warning, z unknown, w ok" over the targets, zero counts
 * left out (but never all of them).  Caller frees; NULL on OOM. */
char *mxp_report_counts(const struct mxp_report *r);
/* The same from counts indexed by state (mxp_state_index). */
char *mxp_counts_text(const size_t count[4]);
/* 0..3 for OK..UNKNOWN; anything else counts as UNKNOWN. */
size_t mxp_state_index(enum mxp_state st);
/* Whether a detail of c is shown at this verbosity (0: non-OK only);
 * never when it repeats the summary of c. */
int mxp_detail_visible(const struct mxp_check_result *c,
                       const struct mxp_detail *d, int verbosity);

/* ---- pieces for the output of many targets (stream.c) --------------- */

/* One finished target as the nagios output needs it: texts rendered and
 * perfdata copied, so that the report (transcripts...) can be freed at
 * once.  Labels get their prefix only when rendered, when the form of the
 * whole output is known. */
struct mxp_nagios_item {
    enum mxp_state state;
    char *host, *addr;     /* raw copies; addr NULL when none */
    char *name, *summary;  /* mxp_target_name/summary, raw */
    char *checks;          /* the long-output lines, rendered */
    struct mxp_perfdatum *perf;
    unsigned char *perf_main; /* 1: the first perfdatum of its check */
    size_t n_perf;
};
int mxp_nagios_item_make(const struct mxp_target_report *t, int verbosity,
                         struct mxp_nagios_item *out);
void mxp_nagios_item_free(struct mxp_nagios_item *it);

/* HOST: one target in today's single form, several as the addresses of
 * one host (one status line for the host); MULTI: a run summary line and
 * a block per target (--all, -D, a netblock). */
enum mxp_nagios_form { MXP_NAGIOS_HOST, MXP_NAGIOS_MULTI };
void mxp_nagios_render(struct mxp_out *o,
                       const struct mxp_nagios_item *const *items, size_t n,
                       enum mxp_nagios_form form, enum mxp_state state);

/* Text (-o text) of one target, the plugin column given (the widest
 * plugin name + 2, the same for every target so that lines align). */
void mxp_text_target(struct mxp_out *o, const struct mxp_target_report *t,
                     int verbosity, int color, size_t plugin_col);
/* The run summary line "N targets: STATE - counts". */
void mxp_text_summary(struct mxp_out *o, size_t n, enum mxp_state state,
                      const size_t count[4], int color);

/* OpenMetrics: the families, each kept contiguous in a buffer of its own
 * while targets finish, written out at the end. */
#define MXP_OM_FAMILIES 4
void mxp_openmetrics_add(struct mxp_out fam[MXP_OM_FAMILIES],
                         const struct mxp_target_report *t);
/* Writes the families (and frees them) with "# EOF". */
int mxp_openmetrics_write(struct mxp_out fam[MXP_OM_FAMILIES], FILE *f);

/* Decodes one UTF-8 sequence at s (n > 0 bytes): returns the bytes used
 * and sets *cp, or for invalid input (overlong, surrogate, > U+10FFFF,
 * truncated) returns the length of the maximal invalid subpart (>= 1)
 * and sets *cp to MXP_UTF8_INVALID, as Unicode's U+FFFD practice says. */
#define MXP_UTF8_INVALID 0xffffffffu
size_t mxp_utf8_next(const char *s, size_t n, uint32_t *cp);

#endif
