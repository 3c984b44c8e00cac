/*
 * job.c - the service table plugins call (job.h).
 *
 * Every service takes the plugin's ctx and finds the job through
 * ctx->core.  Results go to the parent as IPC records right away.
 */
#include "job.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "https.h"
#include "ipc.h"
#include "names.h"
#include "probe.h"
#include "psl.h"
#include "smtp.h"
#include "smtp_reply.h"
#include "status.h"

static struct mxp_job *job_of(struct mxp_ctx *ctx)
{
    return ctx->core;
}

static double svc_remaining(struct mxp_ctx *ctx)
{
    double left = job_of(ctx)->deadline - mxp_now();

    return left > 0 ? left : 0;
}

static void svc_log(struct mxp_ctx *ctx, int level, const char *fmt, ...)
{
    struct mxp_job *job = job_of(ctx);
    va_list ap;
    char *s;

    if (level > ctx->verbosity || job->fd < 0)
        return;
    va_start(ap, fmt);
    s = mxp_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (s != NULL)
        mxp_ipc_send(job->fd, MXP_IPC_LOG, s, strlen(s));
    free(s);
}

static void send_state_text(struct mxp_ctx *ctx, enum mxp_ipc_type type,
                            enum mxp_state st, const char *fmt, va_list ap)
{
    struct mxp_job *job = job_of(ctx);
    char *s;

    if (job->fd < 0)
        return;
    if (st > MXP_STATE_UNKNOWN)
        st = MXP_STATE_UNKNOWN;
    s = mxp_strdup_vprintf(fmt, ap);
    if (s != NULL)
        mxp_ipc_send_state_text(job->fd, type, st, s);
    free(s);
}

static void svc_set_result(struct mxp_ctx *ctx, enum mxp_state st,
                           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    send_state_text(ctx, MXP_IPC_RESULT, st, fmt, ap);
    va_end(ap);
}

/* Keeps what set_result_from_details needs of a detail. */
static void note_detail(struct mxp_job *job, enum mxp_state st, const char *fmt,
                        va_list ap)
{
    char *text;

    if (st == MXP_STATE_OK)
        return;
    if (st > MXP_STATE_UNKNOWN)
        st = MXP_STATE_UNKNOWN;
    job->n_problems++;
    if (job->worst_text != NULL &&
        mxp_state_worst(job->worst, st) == job->worst)
        return; /* not strictly worse: the first of equals stays */
    text = mxp_strdup_vprintf(fmt, ap);
    if (text == NULL)
        return;
    free(job->worst_text);
    job->worst_text = text;
    job->worst = st;
}

static void svc_add_detail(struct mxp_ctx *ctx, enum mxp_state st,
                           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    send_state_text(ctx, MXP_IPC_DETAIL, st, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    note_detail(job_of(ctx), st, fmt, ap);
    va_end(ap);
}

static int svc_set_result_from_details(struct mxp_ctx *ctx)
{
    struct mxp_job *job = job_of(ctx);

    if (job->n_problems == 0 || job->worst_text == NULL)
        return 0;
    if (job->n_problems > 1)
        svc_set_result(ctx, job->worst, "%s (+%zu more)", job->worst_text,
                       job->n_problems - 1);
    else
        svc_set_result(ctx, job->worst, "%s", job->worst_text);
    return 1;
}

static void svc_add_perfdata(struct mxp_ctx *ctx, const struct mxp_perf *p)
{
    struct mxp_job *job = job_of(ctx);
    char *label;

    if (job->fd < 0 || p == NULL || p->metric == NULL)
        return;
    label = mxp_strdup_printf("%s_%s", ctx->plugin_name, p->metric);
    if (label != NULL)
        mxp_ipc_send_perf(job->fd, label, p);
    free(label);
}

static enum mxp_state svc_check_threshold(struct mxp_ctx *ctx, double value)
{
    struct mxp_plugin_slot *slot = job_of(ctx)->slot;

    return mxp_thresholds_state(slot->warn_text ? &slot->warn : NULL,
                                slot->crit_text ? &slot->crit : NULL, value);
}

static const char *svc_threshold_text(struct mxp_ctx *ctx, int which)
{
    struct mxp_plugin_slot *slot = job_of(ctx)->slot;

    return which ? slot->crit_text : slot->warn_text;
}

static const struct mxp_node *svc_config(struct mxp_ctx *ctx)
{
    return job_of(ctx)->slot->cfg;
}

static enum mxp_node_kind svc_node_kind(const struct mxp_node *n)
{
    return n != NULL ? n->kind : MXP_NODE_SCALAR;
}

static const char *svc_node_str(const struct mxp_node *n)
{
    return n != NULL && n->kind == MXP_NODE_SCALAR ? n->str : NULL;
}

static int svc_node_unset(const struct mxp_node *n)
{
    return n == NULL || (n->kind == MXP_NODE_SCALAR && n->str[0] == '\0');
}

static size_t svc_node_len(const struct mxp_node *n)
{
    return n != NULL && n->kind != MXP_NODE_SCALAR ? n->n : 0;
}

static const struct mxp_node *svc_node_at(const struct mxp_node *n, size_t i)
{
    if (n == NULL || n->kind == MXP_NODE_SCALAR || i >= n->n)
        return NULL;
    return n->items[i];
}

static const char *svc_node_key(const struct mxp_node *n, size_t i)
{
    if (n == NULL || n->kind != MXP_NODE_MAP || i >= n->n)
        return NULL;
    return n->keys[i];
}

static void set_init_error(struct mxp_job *job, char *msg)
{
    if (job->init_error == NULL)
        job->init_error = msg;
    else
        free(msg);
}

static void svc_config_error(struct mxp_ctx *ctx, const struct mxp_node *at,
                             const char *fmt, ...)
{
    struct mxp_job *job = job_of(ctx);
    char where[512];
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = mxp_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (msg == NULL)
        return;
    /* It ends up on the status line: one line, no terminal controls,
     * whatever the config's quoted values hold. */
    for (char *p = msg; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (at != NULL) {
        char *full = mxp_strdup_printf("%s: plugins.%s: %s",
                                       mxp_node_where(at, where, sizeof(where)),
                                       ctx->plugin_name, msg);
        free(msg);
        msg = full;
    } else {
        char *full = mxp_strdup_printf("plugins.%s: %s", ctx->plugin_name, msg);
        free(msg);
        msg = full;
    }
    if (msg != NULL)
        set_init_error(job, msg);
}

/* The node of key in map, or NULL when absent or written with no value. */
static const struct mxp_node *given(const struct mxp_node *map, const char *key)
{
    const struct mxp_node *n = map != NULL ? mxp_node_get(map, key) : NULL;

    if (n != NULL && n->kind == MXP_NODE_SCALAR && n->is_null)
        return NULL;
    return n;
}

/* What was written instead, for messages: "'maybe'", "a list". */
static const char *shown_value(const struct mxp_node *n, char *buf, size_t len)
{
    if (n->kind == MXP_NODE_SEQ)
        return "a list";
    if (n->kind == MXP_NODE_MAP)
        return "a mapping";
    snprintf(buf, len, "'%.60s'", n->str);
    return buf;
}

static int svc_config_bool(struct mxp_ctx *ctx, const struct mxp_node *map,
                           const char *key, int *out)
{
    const struct mxp_node *n = given(map, key);
    char err[256];

    if (n == NULL || mxp_node_to_bool(n, key, out, err, sizeof(err)) == MXP_OK)
        return MXP_OK;
    svc_config_error(ctx, n, "%s: expected true or false, got %s", key,
                     shown_value(n, err, sizeof(err)));
    return MXP_ERR_CONFIG;
}

static int svc_config_long(struct mxp_ctx *ctx, const struct mxp_node *map,
                           const char *key, long min, long max, long *out)
{
    const struct mxp_node *n = given(map, key);
    char err[256];

    if (n == NULL ||
        mxp_node_to_long(n, key, min, max, out, err, sizeof(err)) == MXP_OK)
        return MXP_OK;
    svc_config_error(ctx, n,
                     "%s: expected a whole number from %ld to %ld, got %s", key,
                     min, max, shown_value(n, err, sizeof(err)));
    return MXP_ERR_CONFIG;
}

static int svc_config_parse(struct mxp_ctx *ctx, const char *name,
                            const char *text, size_t len,
                            const struct mxp_node **out)
{
    struct mxp_job *job = job_of(ctx);
    struct mxp_loaded_plugin *lp = &job->slot->lp;
    struct mxp_node *tree, **trees;
    char err[512];
    int rc;

    *out = NULL;
    rc = mxp_yaml_parse(name, text, len, &tree, err, sizeof(err));
    if (rc != MXP_OK) {
        set_init_error(job, strdup(err));
        return rc;
    }
    trees = realloc(lp->trees, (lp->n_trees + 1) * sizeof(*trees));
    if (trees == NULL) {
        mxp_node_free(tree);
        return MXP_ERR_NOMEM;
    }
    lp->trees = trees;
    lp->trees[lp->n_trees++] = tree;
    *out = tree;
    return MXP_OK;
}

/* What a batch may take: dns_timeout per try times dns_tries.  c-ares
 * doubles its wait on every retry (2 s then 4 s by default), which would
 * make a dead server cost far more than the config says. */
static double dns_budget(const struct mxp_job *job)
{
    int ms = job->run->dns.timeout_ms > 0 ? job->run->dns.timeout_ms : 2000;
    int tries = job->run->dns.tries > 0 ? job->run->dns.tries : 2;

    return (double)ms / 1000.0 * tries;
}

/* The job's arena and resolver, made on first use (after fork()). */
static int dns_ready(struct mxp_ctx *ctx)
{
    struct mxp_job *job = job_of(ctx);

    if (ctx->target == NULL)
        return MXP_ERR_INVALID; /* no network during init() */
    if (job->arena == NULL) {
        job->arena = mxp_arena_new();
        if (job->arena == NULL)
            return MXP_ERR_NOMEM;
    }
    if (job->resolver == NULL)
        return mxp_resolver_new(&job->run->dns, &job->resolver);
    return MXP_OK;
}

/* A batch's time: from now, the budget, never past the job's deadline. */
static double dns_deadline(const struct mxp_job *job)
{
    return mxp_min_deadline(job->deadline, mxp_now() + dns_budget(job));
}

static int svc_dns_batch(struct mxp_ctx *ctx, struct mxp_dns_query *q, size_t n)
{
    struct mxp_job *job = job_of(ctx);
    int rc = dns_ready(ctx);

    if (rc != MXP_OK)
        return rc;
    return mxp_dns_batch(job->resolver, job->arena, q, n, dns_deadline(job));
}

/* ---- ABI 1.2: asynchronous DNS, generic names ---- */

static int svc_dns_start(struct mxp_ctx *ctx, struct mxp_dns_query *q, size_t n,
                         struct mxp_dns_batch **out)
{
    struct mxp_job *job = job_of(ctx);
    int rc;

    if (out == NULL)
        return MXP_ERR_INVALID;
    *out = NULL;
    rc = dns_ready(ctx);
    if (rc != MXP_OK)
        return rc;
    return mxp_dns_start(job->resolver, job->arena, q, n, dns_deadline(job),
                         out);
}

static int svc_dns_done(struct mxp_ctx *ctx, struct mxp_dns_batch *b)
{
    return mxp_dns_done(job_of(ctx)->resolver, b);
}

static int svc_dns_collect(struct mxp_ctx *ctx, struct mxp_dns_batch *b)
{
    struct mxp_job *job = job_of(ctx);
    int ms = job->run->dns.timeout_ms > 0 ? job->run->dns.timeout_ms : 2000;

    if (b == NULL)
        return MXP_OK;
    /* Collected late (SMTP took long): one more try's time, not past the
     * job's deadline, for what timed out unnoticed meanwhile. */
    mxp_dns_extend(
        b, mxp_min_deadline(job->deadline, mxp_now() + (double)ms / 1000.0));
    return mxp_dns_collect(job->resolver, b);
}

static void transcript_to_parent(void *user, char dir, double t,
                                 const char *line)
{
    struct mxp_job *job = user;

    if (job->fd >= 0 && job->ctx.verbosity >= 2)
        mxp_ipc_send_transcript(job->fd, t, dir, line);
}

/* plugins.<name>.deliver is true. */
static int delivery_allowed(const struct mxp_job *job)
{
    const struct mxp_node *n = job->slot != NULL && job->slot->cfg != NULL
                                   ? mxp_node_get(job->slot->cfg, "deliver")
                                   : NULL;
    char err[128];
    int on = 0;

    return n != NULL &&
           mxp_node_to_bool(n, "deliver", &on, err, sizeof(err)) == MXP_OK &&
           on;
}

/* The session options of this job: its timeouts, deadline, transcript
 * and the one mailbox a message may complete to. */
static void smtp_options(struct mxp_ctx *ctx, struct mxp_smtp_options *opt)
{
    struct mxp_job *job = job_of(ctx);

    memset(opt, 0, sizeof(*opt));
    opt->connect_timeout = ctx->probe->connect_timeout;
    opt->command_timeout = ctx->probe->command_timeout;
    opt->deadline = job->deadline;
    opt->t0 = job->t0;
    opt->transcript = transcript_to_parent;
    opt->transcript_user = job;
    /* Only a plugin the operator let deliver may complete a message, and
     * only to or from probe.my_email (smtp.c enforces the rest). */
    opt->own_mailbox = delivery_allowed(job) ? ctx->probe->my_email : NULL;
}

/* A session with this job's options; wait_connect: as smtp_open, else
 * as smtp_open_start (the connect runs on). */
static int open_session(struct mxp_ctx *ctx, const char *addr, unsigned port,
                        struct mxp_smtp **out, int wait_connect)
{
    struct mxp_smtp_options opt;

    *out = NULL;
    if (ctx->target == NULL)
        return MXP_ERR_INVALID;
    smtp_options(ctx, &opt);
    return wait_connect ? mxp_smtp_open(&opt, addr, port, out)
                        : mxp_smtp_open_start(&opt, addr, port, out);
}

static int svc_smtp_open(struct mxp_ctx *ctx, const char *addr, unsigned port,
                         struct mxp_smtp **out)
{
    return open_session(ctx, addr, port, out, 1);
}

/* ---- ABI 1.2: concurrent SMTP sessions ---- */

static int svc_smtp_open_start(struct mxp_ctx *ctx, const char *addr,
                               unsigned port, struct mxp_smtp **out)
{
    return open_session(ctx, addr, port, out, 0);
}

static const char *svc_registered_domain(struct mxp_ctx *ctx, const char *name)
{
    (void)ctx;
    return mxp_registered_domain(name);
}

/* ---- ABI 1.2: structured fields ---- */

static int svc_add_field(struct mxp_ctx *ctx, const char *key, const char *text)
{
    struct mxp_job *job = job_of(ctx);

    if (key == NULL || text == NULL || !mxp_field_key_ok(key, strlen(key)))
        return MXP_ERR_INVALID;
    if (job->fd >= 0)
        mxp_ipc_send_field(job->fd, key, text, 0);
    return MXP_OK;
}

static int svc_add_field_number(struct mxp_ctx *ctx, const char *key,
                                double value)
{
    struct mxp_job *job = job_of(ctx);

    if (key == NULL || !mxp_field_key_ok(key, strlen(key)) || !isfinite(value))
        return MXP_ERR_INVALID;
    if (job->fd >= 0)
        mxp_ipc_send_field(job->fd, key, NULL, value);
    return MXP_OK;
}

/* ---- ABI 1.2: port probes and UDP ---- */

static int svc_tcp_probe(struct mxp_ctx *ctx, const char *addr,
                         struct mxp_port_probe *p, size_t n)
{
    return mxp_tcp_probe(addr, p, n, ctx->probe->connect_timeout,
                         job_of(ctx)->deadline);
}

static int svc_udp_exchange(struct mxp_ctx *ctx, struct mxp_udp_exchange *x)
{
    return mxp_udp_exchange(x, ctx->probe->connect_timeout,
                            job_of(ctx)->deadline);
}

/* ABI 1.5: the AD bit of q's response, kept by the job's resolver until
 * the job is released (dns.h). */
static int svc_dns_authenticated(struct mxp_ctx *ctx,
                                 const struct mxp_dns_query *q)
{
    return mxp_dns_authenticated(job_of(ctx)->resolver, q);
}

static void https_transcript(void *user, char dir, const char *line)
{
    struct mxp_job *job = user;

    transcript_to_parent(job, dir, mxp_now() - job->t0, line);
}

/* The run's DNS and the job's arena, deadline and timeouts (https.c). */
static int svc_https_get(struct mxp_ctx *ctx, struct mxp_https_get *g)
{
    struct mxp_job *job = job_of(ctx);
    struct mxp_https_env env;
    int rc;

    if (g == NULL)
        return MXP_ERR_INVALID;
    rc = dns_ready(ctx);
    if (rc != MXP_OK) {
        snprintf(g->words, sizeof(g->words), "%s",
                 ctx->target == NULL ? "no network during init()"
                                     : "the DNS resolver did not start");
        return rc == MXP_ERR_INVALID ? rc : MXP_ERR_DNS;
    }
    memset(&env, 0, sizeof(env));
    env.resolver = job->resolver;
    env.arena = job->arena;
    env.family = job->run->family;
    env.connect_timeout = ctx->probe->connect_timeout;
    env.command_timeout = ctx->probe->command_timeout;
    env.dns_deadline = dns_deadline(job);
    env.deadline = job->deadline;
    env.transcript = https_transcript;
    env.transcript_user = job;
    return mxp_https_get(&env, g);
}

static const struct mxp_services services = {
    .size = sizeof(struct mxp_services),
    .now = mxp_now,
    .remaining = svc_remaining,
    .log = svc_log,
    .strerror = mxp_strerror,
    .set_result = svc_set_result,
    .add_detail = svc_add_detail,
    .add_perfdata = svc_add_perfdata,
    .check_threshold = svc_check_threshold,
    .threshold_text = svc_threshold_text,
    .config = svc_config,
    .node_get = mxp_node_get,
    .node_kind = svc_node_kind,
    .node_str = svc_node_str,
    .node_len = svc_node_len,
    .node_at = svc_node_at,
    .node_key = svc_node_key,
    .config_error = svc_config_error,
    .config_parse = svc_config_parse,
    .dns_batch = svc_dns_batch,
    .smtp_open = svc_smtp_open,
    .smtp_read_reply = mxp_smtp_read_reply,
    .smtp_command = mxp_smtp_command,
    .smtp_ehlo = mxp_smtp_ehlo,
    .smtp_has_extension = mxp_smtp_has_extension,
    .smtp_extensions = mxp_smtp_extensions,
    .smtp_connect_time = mxp_smtp_connect_time,
    .smtp_error = mxp_smtp_error,
    .smtp_close = mxp_smtp_close,
    .registered_domain = svc_registered_domain,
    .dns_result_name = mxp_dns_result_name,
    .state_worst = mxp_state_worst,
    .reverse_name = mxp_dns_reverse_name,
    .is_host_name = mxp_is_host_name,
    .smtp_send = mxp_smtp_send,
    .smtp_send_message = mxp_smtp_send_message,
    .config_bool = svc_config_bool,
    .config_long = svc_config_long,
    .set_result_from_details = svc_set_result_from_details,
    .reply_about = mxp_reply_about,
    .add_metric = mxp_add_metric,
    .dns_has_addr = mxp_dns_has_addr,
    .node_unset = svc_node_unset,
    /* ---- ABI 1.2: asynchronous DNS, generic names ---- */
    .dns_start = svc_dns_start,
    .dns_done = svc_dns_done,
    .dns_collect = svc_dns_collect,
    .name_generic = mxp_name_generic,
    /* ---- ABI 1.2: concurrent SMTP sessions ---- */
    .smtp_open_start = svc_smtp_open_start,
    .smtp_wait = mxp_smtp_wait,
    .smtp_wait_until = mxp_smtp_wait_until,
    /* ---- ABI 1.2: special-use names ---- */
    .name_special = mxp_name_special,
    /* ---- ABI 1.2: structured fields ---- */
    .add_field = svc_add_field,
    .add_field_number = svc_add_field_number,
    /* ---- ABI 1.2: port probes and UDP ---- */
    .tcp_probe = svc_tcp_probe,
    .udp_exchange = svc_udp_exchange,
    /* ---- ABI 1.3: TLS ---- */
    .smtp_tls_start = mxp_smtp_tls_start,
    .smtp_tls_handshake = mxp_smtp_tls_handshake,
    .smtp_tls_info = mxp_smtp_tls_info,
    .smtp_unsolicited = mxp_smtp_unsolicited,
    .tls_hello = mxp_smtp_tls_hello,
    .tls_hello_start = mxp_smtp_tls_hello_start,
    .tls_hello_result = mxp_smtp_tls_hello_result,
    /* ---- ABI 1.5: DNSSEC, HTTPS ---- */
    .dns_authenticated = svc_dns_authenticated,
    .https_get = svc_https_get,
};

const struct mxp_services *mxp_core_services(void)
{
    return &services;
}

void mxp_job_prepare(struct mxp_job *job, const struct mxp_run_settings *run,
                     struct mxp_plugin_slot *slot,
                     const struct mxp_target *target, double deadline, int fd)
{
    memset(job, 0, sizeof(*job));
    job->ctx.svc = &services;
    job->ctx.target = target;
    job->ctx.probe = &run->probe;
    job->ctx.plugin_name = slot->lp.name;
    job->ctx.verbosity = run->verbosity;
    job->ctx.core = job;
    job->run = run;
    job->slot = slot;
    job->t0 = mxp_now();
    job->deadline = deadline;
    job->fd = fd;
}

void mxp_job_release(struct mxp_job *job)
{
    mxp_resolver_free(job->resolver);
    job->resolver = NULL;
    mxp_arena_free(job->arena);
    job->arena = NULL;
    free(job->init_error);
    job->init_error = NULL;
    free(job->worst_text);
    job->worst_text = NULL;
}

int mxp_job_init_plugin(const struct mxp_run_settings *run,
                        struct mxp_plugin_slot *slot, char *err, size_t errlen)
{
    struct mxp_job job;
    int rc = MXP_OK;

    if (slot->lp.desc->init == NULL)
        return MXP_OK;
    mxp_job_prepare(&job, run, slot, NULL, INFINITY, -1);
    rc = slot->lp.desc->init(&job.ctx, &slot->lp.state);
    if (job.init_error != NULL) {
        snprintf(err, errlen, "%s", job.init_error);
        rc = MXP_ERR_CONFIG;
    } else if (rc != MXP_OK && rc != MXP_ERR_UNSUPPORTED) {
        /* UNSUPPORTED: nothing to check with here (main.c's init_slots). */
        snprintf(err, errlen, "plugin %s: initialisation failed: %s",
                 slot->lp.name, mxp_strerror(rc));
    }
    mxp_job_release(&job);
    return rc;
}
