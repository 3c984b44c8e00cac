/*
 * backscatter.c - the backscatter plugin: its config (deliver,
 * local_part_prefix), the run (the random user, the first session, the
 * domains), and the report: details, summary and perfdata.  The check
 * itself is described in backscatter.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "backscatter.h"

/* 16 hex digits from the kernel's random pool, or from the clock and
 * the pid when that is not available (still unique enough per run). */
static void make_token(char *out)
{
    unsigned char b[BS_TOKEN_DIGITS / 2];
    size_t got = 0;

    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, GRND_NONBLOCK);

        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    if (got < sizeof b) {
        struct timespec ts;
        uint64_t v;

        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
            ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(v >> (8 * i));
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- config ---------------------------------------------------------- */

/* A local part prefix stays a plain dot-atom once the hex digits follow:
 * letters, digits and - _ . + =, no leading or doubled dot. */
static const char *prefix_problem(const char *p)
{
    size_t n = strlen(p);

    if (n > BS_PREFIX_MAX)
        return "is longer than 48 characters";
    if (p[0] == '.' || strstr(p, "..") != NULL)
        return "may not start with a dot or hold two dots in a row";
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && strchr("-_.+=", p[i]) == NULL)
            return "may hold only letters, digits and - _ . + =";
    return NULL;
}

static int bs_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *cfg = svc->config(ctx), *n;
    struct bs_config *c;
    int rc = MXP_OK;

    *state = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MXP_ERR_NOMEM;
    snprintf(c->prefix, sizeof c->prefix, "%s", BS_DEFAULT_PREFIX);

    rc = svc->config_bool(ctx, cfg, "deliver", &c->deliver);

    n = cfg != NULL ? svc->node_get(cfg, "local_part_prefix") : NULL;
    if (!svc->node_unset(n)) {
        const char *v =
            svc->node_kind(n) == MXP_NODE_SCALAR ? svc->node_str(n) : NULL;
        const char *why = v != NULL ? prefix_problem(v) : "expected a string";

        if (why != NULL) {
            svc->config_error(ctx, n, "local_part_prefix: %s", why);
            rc = MXP_ERR_CONFIG;
        } else {
            snprintf(c->prefix, sizeof c->prefix, "%s", v);
        }
    }

    if (rc != MXP_OK) {
        free(c);
        return rc;
    }
    *state = c;
    return MXP_OK;
}

static void bs_free(void *state)
{
    free(state);
}

/* ---- result ---------------------------------------------------------- */

static size_t count(const struct bs_run *R, enum bs_verdict v)
{
    size_t n = 0;

    for (size_t i = 0; i < R->n_dom; i++)
        n += R->dom[i].verdict == v;
    return n;
}

/* "a.example, b.example" of the domains with verdict v. */
static void join_domains(const struct bs_run *R, enum bs_verdict v, int any,
                         char *out, size_t len)
{
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < R->n_dom; i++) {
        int w;

        if (!any && R->dom[i].verdict != v)
            continue;
        w = snprintf(out + off, len - off, "%s%s", off ? ", " : "",
                     R->dom[i].name);
        if (w < 0 || (size_t)w >= len - off)
            break;
        off += (size_t)w;
    }
}

static void details(struct bs_run *R, enum mxp_state st_acc)
{
    const struct mxp_services *svc = R->svc;

    for (size_t i = 0; i < R->n_dom; i++) {
        const struct bs_domain *d = &R->dom[i];

        switch (d->verdict) {
        case BS_ACCEPTS:
            svc->add_detail(R->ctx, st_acc,
                            "accepts RCPT for unknown user <%s@%s> (%s): it "
                            "will bounce later (backscatter)",
                            R->local, d->name, d->why);
            break;
        case BS_REJECTS_USER:
            svc->add_detail(R->ctx, MXP_STATE_OK,
                            "rejects unknown user <%s@%s> (%s)", R->local,
                            d->name, d->why);
            break;
        case BS_NO_MAIL:
            svc->add_detail(R->ctx, MXP_STATE_OK,
                            "does not accept mail for %s (%s)", d->name,
                            d->why);
            break;
        case BS_AUTH:
            svc->add_detail(R->ctx, MXP_STATE_OK,
                            "authentication required (%s)", d->why);
            break;
        case BS_INCONCLUSIVE:
        case BS_UNTESTED:
            svc->add_detail(R->ctx, MXP_STATE_UNKNOWN,
                            "inconclusive for %s: %s", d->name,
                            d->why[0] ? d->why : "not tested");
            break;
        }
        if (d->note[0] != '\0')
            svc->add_detail(R->ctx, d->sent ? st_acc : MXP_STATE_UNKNOWN, "%s",
                            d->note);
    }
}

/* tested: some domain got an answer (else the count means nothing). */
static void finish(struct bs_run *R, double start, int tested)
{
    const struct mxp_services *svc = R->svc;
    size_t n = R->n_dom, acc = count(R, BS_ACCEPTS);
    size_t inc = count(R, BS_INCONCLUSIVE) + count(R, BS_UNTESTED);
    enum mxp_state st_acc = svc->check_threshold(R->ctx, (double)acc);
    char list[BS_TEXT_LEN];

    details(R, st_acc);
    R->svc->add_metric(R->ctx, "accepted", tested ? (double)acc : NAN, "",
                       (double)n, 1);
    R->svc->add_metric(R->ctx, "domains", (double)n, "", NAN, 0);
    R->svc->add_metric(R->ctx, "time", svc->now() - start, "s", NAN, 0);

    if (acc > 0 && st_acc != MXP_STATE_OK) {
        join_domains(R, BS_ACCEPTS, 0, list, sizeof list);
        svc->set_result(R->ctx, st_acc, "accepts mail for unknown users (%s)",
                        list);
    } else if (inc > 0) {
        const struct bs_domain *first = NULL;

        for (size_t i = 0; i < n && first == NULL; i++)
            if (R->dom[i].verdict == BS_INCONCLUSIVE ||
                R->dom[i].verdict == BS_UNTESTED)
                first = &R->dom[i];
        svc->set_result(R->ctx, MXP_STATE_UNKNOWN,
                        "inconclusive: %zu/%zu domains (%s: %s)", inc, n,
                        first->name, first->why);
    } else if (acc > 0) {
        join_domains(R, BS_ACCEPTS, 0, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK,
                        "accepts mail for unknown users (%s)", list);
    } else if (count(R, BS_REJECTS_USER) > 0) {
        join_domains(R, BS_REJECTS_USER, 0, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK, "rejects unknown users (%s)",
                        list);
    } else if (count(R, BS_AUTH) == n) {
        join_domains(R, BS_AUTH, 1, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK,
                        "no domain of this server accepts mail (%s): "
                        "authentication required (%s)",
                        list, R->dom[0].why);
    } else {
        join_domains(R, BS_NO_MAIL, 1, list, sizeof list);
        svc->set_result(R->ctx, MXP_STATE_OK,
                        "no domain of this server accepts mail (%s)", list);
    }
}

/* Which domains, and where they came from (-v). */
static void say_domains(struct bs_run *R)
{
    char list[BS_TEXT_LEN];

    join_domains(R, BS_UNTESTED, 1, list, sizeof list);
    R->svc->add_detail(R->ctx, MXP_STATE_OK, "domains tested: %s (%s)", list,
                       R->t->domain != NULL && R->t->domain[0] != '\0'
                           ? "the target's domain"
                           : "from the greeting, EHLO and PTR names");
}

/* Before any domain could be tested. */
static void cannot_test(struct bs_run *R, double start, const char *fmt, ...)
    MXP_PRINTF(3, 4);

static void cannot_test(struct bs_run *R, double start, const char *fmt, ...)
{
    char text[BS_TEXT_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    R->svc->add_metric(R->ctx, "accepted", NAN, "",
                       R->n_dom ? (double)R->n_dom : NAN, 1);
    R->svc->add_metric(R->ctx, "domains", (double)R->n_dom, "", NAN, 0);
    R->svc->add_metric(R->ctx, "time", R->svc->now() - start, "s", NAN, 0);
    R->svc->set_result(R->ctx, MXP_STATE_UNKNOWN, "%s", text);
}

static int bs_run(struct mxp_ctx *ctx, void *state)
{
    static const struct bs_config defaults = {0, BS_DEFAULT_PREFIX};
    const struct mxp_services *svc = ctx->svc;
    struct bs_run *R;
    double start = svc->now();
    int tested, rc;

    if (ctx->target == NULL)
        return MXP_ERR_INVALID;
    R = calloc(1, sizeof(*R));
    if (R == NULL)
        return MXP_ERR_NOMEM;
    R->ctx = ctx;
    R->svc = svc;
    R->t = ctx->target;
    R->cfg = state != NULL ? state : &defaults;
    /* Members of ABI 1.1: a 1.0 core has neither. */
    R->can_pipeline = svc->size >= offsetof(struct mxp_services, smtp_send) +
                                       sizeof(svc->smtp_send) &&
                      svc->smtp_send != NULL;
    R->can_deliver =
        svc->size >= offsetof(struct mxp_services, smtp_send_message) +
                         sizeof(svc->smtp_send_message) &&
        svc->smtp_send_message != NULL;
    make_token(R->token);
    snprintf(R->local, sizeof R->local, "%s%s", R->cfg->prefix, R->token);

    if (R->t->domain != NULL && R->t->domain[0] != '\0')
        bs_find_domains(R); /* known before connecting: shown in perfdata */
    else
        bs_dns_start(R); /* the PTR, alongside the session */
    rc = bs_session_open(R);
    if (bs_dropped(rc) && svc->remaining(ctx) >= BS_MIN_TIME)
        /* Hung up at once or 421 (a limit on connections, a restart):
         * once more, apart from the one reconnect during the tests. */
        rc = bs_session_open(R);
    if (rc != MXP_OK) {
        cannot_test(R, start, "cannot test backscatter: %s", R->lost);
        goto done;
    }
    if (R->n_dom == 0)
        bs_find_domains(R);
    if (R->n_dom == 0) {
        cannot_test(R, start,
                    "no mail domain to test: set the target's domain (-D)");
        goto done;
    }
    say_domains(R);
    if (R->cfg->deliver &&
        (ctx->probe == NULL || ctx->probe->my_email == NULL ||
         ctx->probe->my_email[0] == '\0'))
        svc->add_detail(ctx, MXP_STATE_OK,
                        "deliver is on but probe.my_email is not set: no "
                        "test message is sent");
    bs_test_domains(R);
    tested = 0;
    for (size_t i = 0; i < R->n_dom; i++)
        if (R->dom[i].verdict != BS_INCONCLUSIVE &&
            R->dom[i].verdict != BS_UNTESTED)
            tested = 1;
    finish(R, start, tested);

done:
    if (R->s != NULL)
        svc->smtp_close(R->s, 1);
    /* a PTR lookup left in flight (no session) is not waited for: the
     * core ends it after run() */
    free(R);
    return MXP_OK;
}

static const char *const bs_keys[] = {"deliver", "local_part_prefix", NULL};

MXP_PLUGIN_DEFINE(.name = "backscatter",
                  .summary = "RCPT for an unknown user at the server's "
                             "domains: accepted mail bounces later",
                  .config_keys = bs_keys, .default_warning = "0",
                  .default_critical = NULL, .init = bs_init, .run = bs_run,
                  .free = bs_free);
