/*
 * result.c - Monitoring Plugins ranges, threshold states and perfdata.
 *
 * Exports the range parser and evaluator, mxp_thresholds_state() and the
 * perfdata/number formatters declared in result.h.  Errors come back as
 * enum mxp_status (MXP_ERR_INVALID for bad ranges, MXP_ERR_NOMEM).
 */
#include "result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest number text we accept in a range; anything longer is junk. */
#define RANGE_NUM_MAX 64

/*
 * The guidelines' numbers are plain decimals: [+-]digits[.digits] with an
 * optional exponent.  strtod() alone would also take "inf", "nan", hex
 * and leading blanks, none of which is a threshold anyone meant.
 */
static int parse_num(const char *s, size_t n, double *out)
{
    char tmp[RANGE_NUM_MAX + 1];
    size_t i = 0, digits = 0;
    char *end;

    if (n == 0 || n > RANGE_NUM_MAX)
        return MXP_ERR_INVALID;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return MXP_ERR_INVALID;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;

        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return MXP_ERR_INVALID;
    }
    if (i != n)
        return MXP_ERR_INVALID;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(*out))
        return MXP_ERR_INVALID;
    return MXP_OK;
}

/*
 * Grammar: ["@"] ( END | START ":" [END] ), START is a number or "~".
 * An empty START (":10") is refused: the guidelines do not define it and
 * guessing 0 would hide a typo.
 */
int mxp_range_parse(const char *text, struct mxp_range *out)
{
    struct mxp_range r = {0};
    const char *s = text, *colon;
    int rc;

    if (text == NULL || out == NULL)
        return MXP_ERR_INVALID;
    if (*s == '@') {
        r.inside = 1;
        s++;
    }
    colon = strchr(s, ':');
    if (colon == NULL) {
        r.start = 0;
        rc = parse_num(s, strlen(s), &r.end);
        if (rc != MXP_OK)
            return rc;
    } else {
        size_t start_len = (size_t)(colon - s);
        const char *e = colon + 1;

        if (start_len == 1 && s[0] == '~') {
            r.start_inf = 1;
        } else {
            rc = parse_num(s, start_len, &r.start);
            if (rc != MXP_OK)
                return rc;
        }
        if (*e == '\0') {
            r.end_inf = 1;
        } else {
            rc = parse_num(e, strlen(e), &r.end);
            if (rc != MXP_OK)
                return rc;
        }
    }
    if (!r.start_inf && !r.end_inf && r.start > r.end)
        return MXP_ERR_INVALID;
    *out = r;
    return MXP_OK;
}

/* A NAN value never alerts: "could not measure" is not a threshold
 * breach, and the plugin reports that failure itself. */
int mxp_range_alert(const struct mxp_range *r, double value)
{
    int outside;

    if (r == NULL || isnan(value))
        return 0;
    outside =
        (!r->start_inf && value < r->start) || (!r->end_inf && value > r->end);
    return r->inside ? !outside : outside;
}

enum mxp_state mxp_thresholds_state(const struct mxp_range *warn,
                                    const struct mxp_range *crit, double value)
{
    if (crit != NULL && mxp_range_alert(crit, value))
        return MXP_STATE_CRITICAL;
    if (warn != NULL && mxp_range_alert(warn, value))
        return MXP_STATE_WARNING;
    return MXP_STATE_OK;
}

static const char *put_str(char *buf, size_t len, const char *s)
{
    size_t n = strlen(s);

    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

const char *mxp_format_number(double v, char *buf, size_t len)
{
    char tmp[MXP_NUMBER_MAX];
    char *dot;
    size_t n;
    int w;

    if (buf == NULL || len == 0)
        return buf;
    if (!isfinite(v))
        return put_str(buf, len, "U");
    /* %f never uses an exponent; 6 decimals is the promised precision. */
    w = snprintf(tmp, sizeof tmp, "%.6f", v);
    if (w < 0 || (size_t)w >= sizeof tmp)
        return put_str(buf, len, "U");
    n = (size_t)w;
    dot = strchr(tmp, '.');
    if (dot != NULL) {
        while (n > 0 && tmp[n - 1] == '0')
            n--;
        if (n > 0 && tmp[n - 1] == '.')
            n--;
        tmp[n] = '\0';
    }
    /* 1e-7 and -1e-7 round to "0" and "-0"; the sign means nothing. */
    if (strcmp(tmp, "-0") == 0) {
        tmp[0] = '0';
        tmp[1] = '\0';
        n = 1;
    }
    if (n >= len)
        return put_str(buf, len, "U");
    memcpy(buf, tmp, n + 1);
    return buf;
}

/* Characters that would end a perfdata field or the perfdata itself in
 * Nagios' parser ('|' ends the plugin text, newlines the line). */
static int perf_breaking(unsigned char c)
{
    return c < 0x20 || c == 0x7f || c == '|';
}

static int append_label(struct mxp_buf *out, const char *label)
{
    const char *p;
    int quote = 0;
    int rc;

    for (p = label; *p; p++) {
        if (*p == ' ' || *p == '=' || *p == '\'')
            quote = 1;
    }
    if (quote && (rc = mxp_buf_append(out, "'", 1)) != MXP_OK)
        return rc;
    for (p = label; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (perf_breaking(c))
            rc = mxp_buf_append(out, "_", 1);
        else if (c == '\'')
            rc = mxp_buf_append(out, "''", 2);
        else
            rc = mxp_buf_append(out, p, 1);
        if (rc != MXP_OK)
            return rc;
    }
    if (quote)
        return mxp_buf_append(out, "'", 1);
    return MXP_OK;
}

/* uom, warn and crit are short tokens; drop anything that would split
 * them (';', blanks) or break the perfdata line. */
static int append_token(struct mxp_buf *out, const char *s)
{
    int rc;

    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (perf_breaking(c) || c == ';' || c == ' ' || c == '\'' || c == '=')
            continue;
        if ((rc = mxp_buf_append(out, s, 1)) != MXP_OK)
            return rc;
    }
    return MXP_OK;
}

int mxp_perf_format(struct mxp_buf *out, const struct mxp_perfdatum *p)
{
    char num[MXP_NUMBER_MAX];
    int have[4];
    int last = -1, i, rc;

    if (out == NULL || p == NULL || p->label == NULL || p->label[0] == '\0')
        return MXP_ERR_INVALID;
    have[0] = p->warn != NULL && p->warn[0] != '\0';
    have[1] = p->crit != NULL && p->crit[0] != '\0';
    have[2] = isfinite(p->min);
    have[3] = isfinite(p->max);
    for (i = 0; i < 4; i++) {
        if (have[i])
            last = i;
    }
    if ((rc = append_label(out, p->label)) != MXP_OK)
        return rc;
    if ((rc = mxp_buf_append(out, "=", 1)) != MXP_OK)
        return rc;
    /* A NAN value is "U", the guidelines' "could not be determined". */
    rc = mxp_buf_puts(out, mxp_format_number(p->value, num, sizeof num));
    if (rc != MXP_OK)
        return rc;
    if (isfinite(p->value) && (rc = append_token(out, p->uom)) != MXP_OK)
        return rc;
    for (i = 0; i <= last; i++) {
        if ((rc = mxp_buf_append(out, ";", 1)) != MXP_OK)
            return rc;
        if (!have[i])
            continue;
        if (i == 0)
            rc = append_token(out, p->warn);
        else if (i == 1)
            rc = append_token(out, p->crit);
        else
            rc = mxp_buf_puts(out, mxp_format_number(i == 2 ? p->min : p->max,
                                                     num, sizeof num));
        if (rc != MXP_OK)
            return rc;
    }
    return MXP_OK;
}

/* Through ctx->svc, so that a fake service table gets the same rule. */
void mxp_add_metric(struct mxp_ctx *ctx, const char *metric, double value,
                    const char *uom, double max, int is_main)
{
    const struct mxp_services *svc = ctx->svc;
    struct mxp_perf p = {metric, value, uom,
                         is_main ? svc->threshold_text(ctx, 0) : NULL,
                         is_main ? svc->threshold_text(ctx, 1) : NULL, 0,
                         max};

    svc->add_perfdata(ctx, &p);
}
