/*
 * banner.c - the banner check: SMTP greeting and EHLO against the PTR.
 *
 * Connects, reads the greeting, says EHLO, quits; the DNS goes alongside:
 * the PTR of the target address is asked before connecting, A and AAAA of
 * the PTR names and of the greeting and EHLO names as soon as each is
 * known, and all is collected after QUIT, so the DNS costs at most one
 * round trip beyond the SMTP session.  Finds: no SMTP service, refused or
 * broken greetings, no PTR, PTR not forward-confirmed (FCrDNS), a greeting
 * that names another host than the PTR, generic/dynamic-looking PTR names
 * and the time to the greeting (thresholds apply to it).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <mxprobe/plugin.h>

#define BANNER_MAX_PTR 8       /* PTR names we look at; more is abuse */
#define BANNER_NAME_LEN 256    /* a DNS name (253) plus room */
#define BANNER_TEXT_LEN 512

/* What one run found; lives on run()'s stack. */
struct banner_run {
    struct mxp_ctx *ctx;
    const struct mxp_services *svc;
    const struct mxp_target *t;
    double connect_time, greeting_time, ehlo_time; /* NAN: not measured */
    char greeting_name[BANNER_NAME_LEN];           /* "" when none */
    char ehlo_name[BANNER_NAME_LEN];
    char ptr[BANNER_MAX_PTR][BANNER_NAME_LEN];
    size_t n_ptr;
    /* DNS in flight during SMTP: the PTR, then A and AAAA (2 queries a
     * name, in the order the names became known) in up to 4 batches. */
    char rev[128];
    struct mxp_dns_query ptr_q;
    struct mxp_dns_batch *ptr_b;
    int ptr_rc;      /* of starting or collecting the PTR lookup */
    int ptr_started; /* the PTR query went out */
    int ptr_read;    /* its answer was read */
    const char *fwd_names[BANNER_MAX_PTR + 2];
    size_t n_fwd, n_fwd_sent;
    struct mxp_dns_query fwd_q[2 * (BANNER_MAX_PTR + 2)];
    struct mxp_dns_batch *fwd_b[4];
    size_t fwd_from[5], n_fwd_b;
    int fwd_rc; /* the first failure of a forward batch */
    int ptr_ok;    /* the PTR lookup gave an answer */
    int fcrdns_ok; /* some PTR name resolves back to the address */
    size_t n_problems; /* findings that were not OK */
};

/* ---- names ----------------------------------------------------------- */

/* DNS names compare without regard to case, a trailing dot ignored. */
static int names_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). */
static int is_address_literal(const char *s)
{
    size_t len = strlen(s);

    if (len < 3 || s[0] != '[' || s[len - 1] != ']')
        return 0;
    for (size_t i = 1; i + 1 < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != ':')
            return 0;
    return 1;
}

/* The first word of a reply line, when it is a host name or an address
 * literal, into out; "" otherwise. */
static void first_word_name(const struct mxp_services *svc, const char *line,
                            char *out, size_t len)
{
    size_t n = strcspn(line, " \t");

    out[0] = '\0';
    if (n == 0 || n >= len)
        return;
    memcpy(out, line, n);
    out[n] = '\0';
    if (!svc->is_host_name(out) && !is_address_literal(out))
        out[0] = '\0';
}

/* ---- findings -------------------------------------------------------- */

static void finding(struct banner_run *R, enum mxp_state st, const char *fmt,
                    ...) MXP_PRINTF(3, 4);

/* One long-output line; the non-OK ones make the summary (the core's
 * set_result_from_details). */
static void finding(struct banner_run *R, enum mxp_state st, const char *fmt,
                    ...)
{
    char text[BANNER_TEXT_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    R->svc->add_detail(R->ctx, st, "%s", text);
    R->n_problems += st != MXP_STATE_OK;
}

/* A definite answer about a name: records, or that it has none. */
static int dns_definite(enum mxp_dns_result res)
{
    return res == MXP_DNS_ANSWER || res == MXP_DNS_NODATA ||
           res == MXP_DNS_NXDOMAIN;
}

/* ---- SMTP ------------------------------------------------------------ */

static void dns_step(struct banner_run *R); /* DNS, between SMTP steps */

/* The core words a failed connect "cannot connect to PEER: WHY"; the
 * contract wants "connection refused" / "connect timed out after ...". */
static void connect_words(const char *err, char *out, size_t len)
{
    const char *why = err;

    if (strncmp(err, "cannot connect to ", 18) == 0) {
        const char *p = strstr(err + 18, ": ");

        if (p != NULL)
            why = p + 2;
    }
    if (strncmp(why, "timed out", 9) == 0)
        snprintf(out, len, "connect %s", why);
    else
        snprintf(out, len, "%s", why);
}

static void join_extensions(struct banner_run *R, struct mxp_smtp *s)
{
    const char *const *ext = NULL;
    size_t n = R->svc->smtp_extensions(s, &ext);
    char text[BANNER_TEXT_LEN];
    size_t off = 0;

    text[0] = '\0';
    for (size_t i = 0; i < n && ext != NULL; i++) {
        int w = snprintf(text + off, sizeof text - off, "%s%s", i ? ", " : "",
                         ext[i]);

        if (w < 0 || (size_t)w >= sizeof text - off) {
            snprintf(text + off, sizeof text - off, "...");
            break;
        }
        off += (size_t)w;
    }
    R->svc->add_detail(R->ctx, MXP_STATE_OK, "EHLO extensions: %s",
                       n ? text : "none");
}

/* Connect, greeting, EHLO, QUIT. */
static void smtp_phase(struct banner_run *R)
{
    const struct mxp_services *svc = R->svc;
    struct mxp_smtp *s = NULL;
    struct mxp_smtp_reply r;
    const char *helo = R->ctx->probe != NULL ? R->ctx->probe->helo_name : NULL;
    char words[BANNER_TEXT_LEN];
    int rc, used_helo = 0;

    rc = svc->smtp_open(R->ctx, R->t->addr, R->t->port, &s);
    if (rc != MXP_OK) {
        connect_words(s != NULL ? svc->smtp_error(s) : svc->strerror(rc), words,
                      sizeof words);
        /* A local failure (no route from here, no IPv6 here) says
         * nothing about the server. */
        if (rc == MXP_ERR_IO || rc == MXP_ERR_NOMEM || rc == MXP_ERR_INVALID)
            finding(R, MXP_STATE_UNKNOWN,
                    "cannot test SMTP from this prober: %s", words);
        else
            finding(R, MXP_STATE_CRITICAL, "no SMTP service: %s", words);
        goto done;
    }
    R->connect_time = svc->smtp_connect_time(s);

    memset(&r, 0, sizeof r);
    rc = svc->smtp_read_reply(s, &r);
    if (rc == MXP_ERR_TIMEOUT || rc == MXP_ERR_CLOSED) {
        finding(R, MXP_STATE_CRITICAL, "no greeting: %s", svc->smtp_error(s));
        goto done;
    }
    if (rc != MXP_OK) {
        finding(R, MXP_STATE_CRITICAL, "bad greeting: %s", svc->smtp_error(s));
        goto done;
    }
    R->greeting_time = R->connect_time + r.elapsed;
    if (r.code >= 400) {
        finding(R, MXP_STATE_CRITICAL, "greeting refuses service: %d %.200s",
                r.code, r.n_lines ? r.lines[0] : "");
        svc->smtp_close(s, 1);
        s = NULL;
        goto done;
    }
    if (r.code != 220)
        finding(R, MXP_STATE_WARNING, "greeting code %d, expected 220: %.200s",
                r.code, r.n_lines ? r.lines[0] : "");
    if (r.n_lines > 0)
        first_word_name(svc, r.lines[0], R->greeting_name,
                        sizeof R->greeting_name);
    if (R->greeting_name[0] == '\0')
        finding(R, MXP_STATE_WARNING,
                "greeting does not start with a host name: %.200s",
                r.n_lines ? r.lines[0] : "");
    dns_step(R);

    if (helo == NULL || helo[0] == '\0')
        helo = "localhost";
    memset(&r, 0, sizeof r);
    rc = svc->smtp_ehlo(s, helo, &r, &used_helo);
    if (rc != MXP_OK) {
        finding(R, MXP_STATE_CRITICAL, "%s failed: %s",
                used_helo ? "HELO" : "EHLO", svc->smtp_error(s));
        goto done;
    }
    R->ehlo_time = r.elapsed;
    if (r.code / 100 != 2) {
        finding(R, MXP_STATE_WARNING, "%s refused: %d %.200s",
                used_helo ? "EHLO and HELO" : "EHLO", r.code,
                r.n_lines ? r.lines[0] : "");
    } else {
        if (used_helo)
            finding(R, MXP_STATE_WARNING, "EHLO refused, HELO accepted");
        else
            join_extensions(R, s);
        if (r.n_lines > 0)
            first_word_name(svc, r.lines[0], R->ehlo_name, sizeof R->ehlo_name);
    }
    /* the last lookups go out before QUIT, whose reply is waited for */
    dns_step(R);
    svc->smtp_close(s, 1);
    s = NULL;
done:
    if (s != NULL)
        svc->smtp_close(s, 0);
}

/* ---- DNS ------------------------------------------------------------- */

static void ptr_start(struct banner_run *R)
{
    R->ptr_rc = MXP_OK;
    if (R->svc->reverse_name(R->t->family, R->t->addr_bytes, NULL, R->rev,
                             sizeof R->rev) == 0) {
        R->ptr_rc = MXP_ERR_INVALID;
        return;
    }
    R->ptr_q.name = R->rev;
    R->ptr_q.type = MXP_DNS_PTR;
    R->ptr_rc = R->svc->dns_start(R->ctx, &R->ptr_q, 1, &R->ptr_b);
    R->ptr_started = R->ptr_rc == MXP_OK;
}

/* Reads the PTR answer (waiting for it when wait) into R->ptr; 0 when it
 * is not there yet. */
static int ptr_read(struct banner_run *R, int wait)
{
    const struct mxp_dns_query *q = &R->ptr_q;

    if (R->ptr_read)
        return 1;
    if (R->ptr_started && !wait && !R->svc->dns_done(R->ctx, R->ptr_b))
        return 0;
    R->ptr_read = 1;
    if (R->ptr_started) {
        R->ptr_rc = R->svc->dns_collect(R->ctx, R->ptr_b);
        R->ptr_b = NULL;
    }
    if (R->ptr_rc != MXP_OK) {
        finding(R, MXP_STATE_UNKNOWN, "PTR lookup for %s failed: %s",
                R->t->addr,
                R->ptr_rc == MXP_ERR_INVALID && !R->ptr_started
                    ? "bad address"
                    : R->svc->strerror(R->ptr_rc));
        return 1;
    }
    if (q->result == MXP_DNS_NXDOMAIN || q->result == MXP_DNS_NODATA ||
        (q->result == MXP_DNS_ANSWER && q->n_rr == 0)) {
        finding(R, MXP_STATE_WARNING, "no PTR record for %s", R->t->addr);
        return 1;
    }
    if (q->result != MXP_DNS_ANSWER) {
        finding(R, MXP_STATE_UNKNOWN, "PTR lookup for %s failed: %s",
                R->t->addr, R->svc->dns_result_name(q->result));
        return 1;
    }
    R->ptr_ok = 1;
    for (size_t i = 0; i < q->n_rr && R->n_ptr < BANNER_MAX_PTR; i++) {
        const char *t = q->rr[i].text;

        char *out = R->ptr[R->n_ptr];
        size_t len;

        if (t == NULL || t[0] == '\0' || strlen(t) >= BANNER_NAME_LEN)
            continue;
        /* A label may hold any byte: keep the output printable. */
        len = strlen(t);
        for (size_t k = 0; k < len; k++)
            out[k] = t[k] > ' ' && t[k] < 0x7f ? t[k] : '?';
        out[len] = '\0';
        R->n_ptr++;
    }
    if (R->n_ptr == 0) {
        R->ptr_ok = 0;
        finding(R, MXP_STATE_UNKNOWN, "PTR lookup for %s failed: %s",
                R->t->addr, "unusable answer");
    }
    return 1;
}

/* Index of name among the forward names, adding it when new. */
static size_t name_slot(struct banner_run *R, const char *name)
{
    for (size_t i = 0; i < R->n_fwd; i++)
        if (names_equal(R->fwd_names[i], name))
            return i;
    R->fwd_names[R->n_fwd] = name;
    return R->n_fwd++;
}

/* Sends A and AAAA of every name known by now and not yet asked: the PTR
 * names once the PTR is read, the greeting and EHLO names once said. */
static void forward_send(struct banner_run *R)
{
    size_t from = R->n_fwd_sent;
    int rc;

    /* called three times at most (after the greeting, after EHLO, at the
     * end): 4 batches hold every name */
    if (R->n_fwd_b == 4)
        return;
    if (R->ptr_read)
        for (size_t i = 0; i < R->n_ptr; i++)
            name_slot(R, R->ptr[i]);
    if (R->svc->is_host_name(R->greeting_name))
        name_slot(R, R->greeting_name);
    if (R->svc->is_host_name(R->ehlo_name))
        name_slot(R, R->ehlo_name);
    if (R->n_fwd == from)
        return;
    for (size_t i = from; i < R->n_fwd; i++) {
        R->fwd_q[2 * i] = (struct mxp_dns_query){.name = R->fwd_names[i],
                                                 .type = MXP_DNS_A,
                                                 .result = MXP_DNS_FAILED};
        R->fwd_q[2 * i + 1] =
            (struct mxp_dns_query){.name = R->fwd_names[i],
                                   .type = MXP_DNS_AAAA,
                                   .result = MXP_DNS_FAILED};
    }
    R->n_fwd_sent = R->n_fwd;
    R->fwd_from[R->n_fwd_b] = from;
    rc = R->svc->dns_start(R->ctx, &R->fwd_q[2 * from], 2 * (R->n_fwd - from),
                           &R->fwd_b[R->n_fwd_b]);
    R->n_fwd_b++;
    R->fwd_from[R->n_fwd_b] = R->n_fwd;
    if (rc != MXP_OK && R->fwd_rc == MXP_OK)
        R->fwd_rc = rc;
}

/* Between SMTP steps: what can go out now, goes out. */
static void dns_step(struct banner_run *R)
{
    ptr_read(R, 0);
    forward_send(R);
}

/* After SMTP: the PTR, the last names, then every answer. */
static void dns_finish(struct banner_run *R)
{
    ptr_read(R, 1);
    forward_send(R);
    for (size_t k = 0; k < R->n_fwd_b; k++) {
        int rc = R->svc->dns_collect(R->ctx, R->fwd_b[k]);

        R->fwd_b[k] = NULL;
        if (rc != MXP_OK) {
            if (R->fwd_rc == MXP_OK)
                R->fwd_rc = rc;
            for (size_t i = 2 * R->fwd_from[k]; i < 2 * R->fwd_from[k + 1];
                 i++) {
                R->fwd_q[i].result = MXP_DNS_FAILED;
                R->fwd_q[i].n_rr = 0;
            }
        }
    }
}

static void join_ptr(const struct banner_run *R, char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < R->n_ptr; i++) {
        int w =
            snprintf(out + off, len - off, "%s%s", i ? " and " : "", R->ptr[i]);

        if (w < 0 || (size_t)w >= len - off)
            break;
        off += (size_t)w;
    }
}

/* What the forward lookups of the greeting or EHLO name say, as OK
 * evidence lines. */
static void name_evidence(struct banner_run *R, const char *what,
                          const char *name, const struct mxp_dns_query *fq)
{
    if (R->svc->dns_has_addr(fq, R->t->family, R->t->addr_bytes))
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "%s name %s resolves to %s",
                           what, name, R->t->addr);
    else if (dns_definite(fq->result))
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s name %s does not resolve to %s", what, name,
                           R->t->addr);
}

/* The answer for name of the target's family. */
static const struct mxp_dns_query *fwd_answer(struct banner_run *R,
                                              const char *name)
{
    int fam_off = R->t->family == AF_INET ? 0 : 1; /* A, AAAA */

    return &R->fwd_q[2 * name_slot(R, name) + fam_off];
}

static void forward_phase(struct banner_run *R)
{
    int have_g = R->svc->is_host_name(R->greeting_name);
    int have_e = R->svc->is_host_name(R->ehlo_name);
    char ptrs[BANNER_TEXT_LEN];
    int g_match = 0;

    if (R->fwd_rc != MXP_OK && R->n_ptr > 0)
        finding(R, MXP_STATE_UNKNOWN, "forward lookups failed: %s",
                R->svc->strerror(R->fwd_rc));

    /* FCrDNS: some PTR name must resolve back; each that does not is
     * reported (a stale second PTR is worth fixing too). */
    for (size_t i = 0; i < R->n_ptr && R->fwd_rc == MXP_OK; i++) {
        const struct mxp_dns_query *fq = fwd_answer(R, R->ptr[i]);

        if (R->svc->dns_has_addr(fq, R->t->family, R->t->addr_bytes)) {
            R->fcrdns_ok = 1;
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "PTR %s resolves back to %s (FCrDNS ok)",
                               R->ptr[i], R->t->addr);
        } else if (dns_definite(fq->result)) {
            finding(R, MXP_STATE_WARNING,
                    "PTR %s does not resolve back to %s (FCrDNS fails)",
                    R->ptr[i], R->t->addr);
        } else {
            finding(R, MXP_STATE_UNKNOWN,
                    "forward lookup of PTR %s failed: %s (FCrDNS unknown)",
                    R->ptr[i], R->svc->dns_result_name(fq->result));
        }
    }

    for (size_t i = 0; i < R->n_ptr; i++) {
        char why[96];

        if (R->svc->name_generic(R->ptr[i], R->t->family, R->t->addr_bytes,
                                 why, sizeof why))
            finding(R, MXP_STATE_WARNING, "PTR %s looks generic (%s)",
                    R->ptr[i], why);
    }

    join_ptr(R, ptrs, sizeof ptrs);
    if (R->greeting_name[0] != '\0' && R->n_ptr > 0) {
        for (size_t i = 0; i < R->n_ptr; i++)
            if (names_equal(R->greeting_name, R->ptr[i]))
                g_match = 1;
        if (g_match)
            R->svc->add_detail(R->ctx, MXP_STATE_OK, "greeting %s matches PTR",
                               R->greeting_name);
        else
            finding(R, MXP_STATE_WARNING, "greeting names %s, PTR is %s",
                    R->greeting_name, ptrs);
    }
    if (have_g && !g_match)
        name_evidence(R, "greeting", R->greeting_name,
                      fwd_answer(R, R->greeting_name));
    /* The EHLO name is informational: the contract's clean state is
     * defined by the greeting name, and many servers answer EHLO with the
     * same name anyway. */
    if (have_e && !names_equal(R->ehlo_name, R->greeting_name)) {
        int e_match = 0;

        for (size_t i = 0; i < R->n_ptr; i++)
            if (names_equal(R->ehlo_name, R->ptr[i]))
                e_match = 1;
        if (!e_match && R->n_ptr > 0)
            R->svc->add_detail(R->ctx, MXP_STATE_OK, "EHLO names %s, PTR is %s",
                               R->ehlo_name, ptrs);
        name_evidence(R, "EHLO", R->ehlo_name, fwd_answer(R, R->ehlo_name));
    }
}

/* ---- result ---------------------------------------------------------- */

static void finish(struct banner_run *R)
{
    if (!isnan(R->greeting_time)) {
        enum mxp_state st = R->svc->check_threshold(R->ctx, R->greeting_time);

        if (st != MXP_STATE_OK)
            finding(R, st, "greeting took %.3f s", R->greeting_time);
    }
    R->svc->add_metric(R->ctx, "greeting", R->greeting_time, "s", NAN, 1);
    R->svc->add_metric(R->ctx, "connect", R->connect_time, "s", NAN, 0);
    R->svc->add_metric(R->ctx, "ehlo", R->ehlo_time, "s", NAN, 0);

    if (!R->svc->set_result_from_details(R->ctx))
        R->svc->set_result(R->ctx, MXP_STATE_OK,
                           "greeting %s matches PTR, FCrDNS ok",
                           R->greeting_name);
}

static int banner_run(struct mxp_ctx *ctx, void *state)
{
    struct banner_run *R;

    (void)state;
    if (ctx->target == NULL)
        return MXP_ERR_INVALID;
    R = calloc(1, sizeof(*R));
    if (R == NULL)
        return MXP_ERR_NOMEM;
    R->ctx = ctx;
    R->svc = ctx->svc;
    R->t = ctx->target;
    R->connect_time = R->greeting_time = R->ehlo_time = NAN;

    /* The DNS goes alongside SMTP and is only waited for after it: a DNS
     * server that never answers must not eat the time of the SMTP test
     * and make a working server look dead.  A silent SMTP server can leave
     * the lookups no time; that is then said as an UNKNOWN detail, next to
     * the CRITICAL it deserves. */
    R->fwd_rc = MXP_OK;
    ptr_start(R);
    smtp_phase(R);
    dns_finish(R);
    forward_phase(R);
    /* Every clean case has a greeting matching a confirmed PTR; anything
     * short of that was reported above as a finding. */
    if (R->n_problems == 0 && (!R->ptr_ok || !R->fcrdns_ok))
        finding(R, MXP_STATE_UNKNOWN, "could not confirm the PTR of %s",
                R->t->addr);
    finish(R);
    free(R);
    return MXP_OK;
}

static const char *const banner_keys[] = {NULL};

MXP_PLUGIN_DEFINE(.name = "banner",
                  .summary = "SMTP greeting and EHLO vs PTR, FCrDNS, "
                             "generic PTR names, response times",
                  .config_keys = banner_keys, .default_warning = NULL,
                  .default_critical = NULL, .init = NULL, .run = banner_run,
                  .free = NULL);
