/*
 * output_json.c - the report for machines (-o json).
 *
 * One compact JSON object per target, one per line (JSON Lines), with
 * every check's details and perfdata whatever the verbosity.  Strings are
 * escaped per RFC 8259 and always valid UTF-8.  Exports mxp_output_json().
 *
 * Schema (one line per target; keys always present unless marked):
 *
 *   {
 *     "host":      string,          the target as given (-H or config)
 *     "address":   string | null,   numeric address; null if unresolved
 *     "port":      integer,         SMTP port
 *     "state":     "OK" | "WARNING" | "CRITICAL" | "UNKNOWN",
 *     "exit_code": 0 | 1 | 2 | 3,   the Nagios code of "state"
 *     "summary":   string,          the Nagios status line's summary
 *     "error":     string | null,   a target-level failure
 *     "elapsed":   number,          seconds for the whole target
 *     "checks": [ {
 *       "plugin":   string,
 *       "state":    "OK" | "WARNING" | "CRITICAL" | "UNKNOWN",
 *       "summary":  string,
 *       "elapsed":  number,         seconds
 *       "details":  [ { "state": string, "text": string } ],
 *       "perfdata": [ {
 *         "label": string,          "<plugin>_<metric>"
 *         "value": number | null,   null: could not be determined
 *         "uom":   string | null,   "s", "%", "B", "c"...; null if none
 *         "warn":  string | null,   threshold ranges as text
 *         "crit":  string | null,
 *         "min":   number | null,
 *         "max":   number | null
 *       } ],
 *       "transcript": [              only with -vv
 *         { "t": number,            seconds since the job started
 *           "dir": string,          "C" connect/info, ">" sent,
 *                                   "<" received, "!" error
 *           "text": string } ],
 *       "log": [ string ],           only with -vvv: plugin debug lines
 *       "fields": { key: string | number }   only when the check set
 *                                   some (svc->add_field): e.g. geoip's
 *                                   country, city, lat, lon, asn, org
 *     } ]
 *   }
 *
 * Numbers are plain decimals with at most 6 decimals (no exponent); bytes
 * that are not valid UTF-8 in any text come out as U+FFFD.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "report.h"
#include "status.h"

static void json_str_n(struct mxp_out *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    mxp_out_put(o, "\"", 1);
    while (len > 0) {
        uint32_t cp;
        size_t n = mxp_utf8_next(s, len, &cp);
        char esc[7];
        const char *rep = NULL;
        size_t rep_len = 2;

        if (cp == MXP_UTF8_INVALID) {
            rep = "\\ufffd";
            rep_len = 6;
        } else if (cp == '"') {
            rep = "\\\"";
        } else if (cp == '\\') {
            rep = "\\\\";
        } else if (cp < 0x20 || cp == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[cp >> 4];
            esc[5] = hex[cp & 0xf];
            rep = esc;
            rep_len = 6;
        }
        if (rep != NULL) {
            mxp_out_put(o, run, (size_t)(s - run));
            mxp_out_put(o, rep, rep_len);
            run = s + n;
        }
        s += n;
        len -= n;
    }
    mxp_out_put(o, run, (size_t)(s - run));
    mxp_out_put(o, "\"", 1);
}

/* NULL prints as "": for keys the schema says are always strings. */
static void json_str(struct mxp_out *o, const char *s)
{
    json_str_n(o, s ? s : "", s ? strlen(s) : 0);
}

static void json_str_or_null(struct mxp_out *o, const char *s)
{
    if (s == NULL || s[0] == '\0')
        mxp_out_puts(o, "null");
    else
        json_str(o, s);
}

static void json_num(struct mxp_out *o, double v)
{
    char num[MXP_NUMBER_MAX];

    if (!isfinite(v))
        mxp_out_puts(o, "null");
    else
        mxp_out_puts(o, mxp_format_number(v, num, sizeof num));
}

/* The key with its colon, and a comma before every key but the first. */
static void json_key(struct mxp_out *o, const char *key, int first)
{
    mxp_out_printf(o, "%s\"%s\":", first ? "" : ",", key);
}

static void json_perf(struct mxp_out *o, const struct mxp_perfdatum *p)
{
    json_key(o, "label", 1);
    json_str(o, p->label);
    json_key(o, "value", 0);
    json_num(o, p->value);
    json_key(o, "uom", 0);
    json_str_or_null(o, p->uom);
    json_key(o, "warn", 0);
    json_str_or_null(o, p->warn);
    json_key(o, "crit", 0);
    json_str_or_null(o, p->crit);
    json_key(o, "min", 0);
    json_num(o, p->min);
    json_key(o, "max", 0);
    json_num(o, p->max);
}

static void json_check(struct mxp_out *o, const struct mxp_check_result *c,
                       int verbosity)
{
    size_t i;

    json_key(o, "plugin", 1);
    json_str(o, c->plugin);
    json_key(o, "state", 0);
    json_str(o, mxp_state_name(c->state));
    json_key(o, "summary", 0);
    json_str(o, c->summary);
    json_key(o, "elapsed", 0);
    json_num(o, c->elapsed);
    json_key(o, "details", 0);
    mxp_out_puts(o, "[");
    for (i = 0; i < c->n_details; i++) {
        mxp_out_puts(o, i ? ",{" : "{");
        json_key(o, "state", 1);
        json_str(o, mxp_state_name(c->details[i].state));
        json_key(o, "text", 0);
        json_str(o, c->details[i].text);
        mxp_out_puts(o, "}");
    }
    mxp_out_puts(o, "]");
    json_key(o, "perfdata", 0);
    mxp_out_puts(o, "[");
    for (i = 0; i < c->n_perf; i++) {
        mxp_out_puts(o, i ? ",{" : "{");
        json_perf(o, &c->perf[i]);
        mxp_out_puts(o, "}");
    }
    mxp_out_puts(o, "]");
    if (verbosity >= 2) {
        json_key(o, "transcript", 0);
        mxp_out_puts(o, "[");
        for (i = 0; i < c->n_transcript; i++) {
            const struct mxp_transcript_line *l = &c->transcript[i];

            mxp_out_puts(o, i ? ",{" : "{");
            json_key(o, "t", 1);
            json_num(o, l->t);
            json_key(o, "dir", 0);
            json_str_n(o, &l->dir, 1);
            json_key(o, "text", 0);
            json_str(o, l->text);
            mxp_out_puts(o, "}");
        }
        mxp_out_puts(o, "]");
    }
    if (verbosity >= 3) {
        json_key(o, "log", 0);
        mxp_out_puts(o, "[");
        for (i = 0; i < c->n_log; i++) {
            if (i)
                mxp_out_puts(o, ",");
            json_str(o, c->log[i]);
        }
        mxp_out_puts(o, "]");
    }
    if (c->n_fields > 0) {
        json_key(o, "fields", 0);
        mxp_out_puts(o, "{");
        for (i = 0; i < c->n_fields; i++) {
            if (i)
                mxp_out_puts(o, ",");
            json_str(o, c->fields[i].key);
            mxp_out_puts(o, ":");
            if (c->fields[i].text != NULL)
                json_str(o, c->fields[i].text);
            else
                json_num(o, c->fields[i].number);
        }
        mxp_out_puts(o, "}");
    }
}

static void json_target(struct mxp_out *o, const struct mxp_target_report *t,
                        int verbosity)
{
    char *summary = mxp_target_summary(t);
    size_t i;

    if (summary == NULL && o->status == MXP_OK)
        o->status = MXP_ERR_NOMEM;
    mxp_out_puts(o, "{");
    json_key(o, "host", 1);
    json_str(o, t->host);
    json_key(o, "address", 0);
    json_str_or_null(o, t->addr);
    json_key(o, "port", 0);
    mxp_out_printf(o, "%u", t->port);
    json_key(o, "state", 0);
    json_str(o, mxp_state_name(t->state));
    json_key(o, "exit_code", 0);
    mxp_out_printf(o, "%d",
                   t->state >= MXP_STATE_OK && t->state <= MXP_STATE_UNKNOWN
                       ? (int)t->state
                       : (int)MXP_STATE_UNKNOWN);
    json_key(o, "summary", 0);
    json_str(o, summary);
    json_key(o, "error", 0);
    /* An empty error is still an error: only NULL is null here. */
    if (t->error == NULL)
        mxp_out_puts(o, "null");
    else
        json_str(o, t->error);
    json_key(o, "elapsed", 0);
    json_num(o, t->elapsed);
    json_key(o, "checks", 0);
    mxp_out_puts(o, "[");
    for (i = 0; i < t->n_checks; i++) {
        mxp_out_puts(o, i ? ",{" : "{");
        json_check(o, &t->checks[i], verbosity);
        mxp_out_puts(o, "}");
    }
    mxp_out_puts(o, "]}\n");
    free(summary);
}

int mxp_output_json(FILE *f, const struct mxp_report *r, int verbosity)
{
    struct mxp_out o;
    size_t i;

    mxp_out_init(&o);
    for (i = 0; i < r->n_targets; i++)
        json_target(&o, &r->targets[i], verbosity);
    return mxp_out_finish(&o, f);
}
