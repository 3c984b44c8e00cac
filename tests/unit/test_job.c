/*
 * test_job.c - the core's service table (job.c) as a plugin sees it:
 * results and details reach the parent as IPC records through a real
 * pipe, set_result_from_details ranks and counts details, the typed
 * config readers accept and refuse values with positioned messages, and
 * thresholds come from the plugin's slot.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "dns_script.h"
#include "ipc.h"
#include "job.h"
#include "report.h"
#include "result.h"

#define PLUGIN "demo"
#define FILE_NAME "t.yaml"

static const struct mxp_target target = {
    .host = "mx.example.test",
    .addr = "127.0.0.1",
    .family = AF_INET, /* never connected to here */
    .addr_bytes = {127, 0, 0, 1},
    .port = 25,
};

/* One job of the real table, its pipe, and what came out of the pipe. */
struct fx {
    int p[2];
    struct mxp_run_settings run;
    struct mxp_plugin_slot slot;
    struct mxp_job job;
    struct mxp_check_result res;
    int got_result;
};

/* A running job (target set, fd the pipe's write end). */
static void fx_start(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(pipe(f->p), 0);
    f->slot.lp.name = (char *)PLUGIN;
    mxp_job_prepare(&f->job, &f->run, &f->slot, &target, INFINITY, f->p[1]);
}

/* A job as during init(): no target, no pipe. */
static void fx_start_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    f->p[0] = f->p[1] = -1;
    f->slot.lp.name = (char *)PLUGIN;
    mxp_job_prepare(&f->job, &f->run, &f->slot, NULL, INFINITY, -1);
}

/* Closes the write end and decodes every record sent so far. */
static void fx_collect(struct fx *f)
{
    struct mxp_ipc_reader r;
    char buf[4096];
    ssize_t n;

    assert_int_equal(close(f->p[1]), 0);
    f->p[1] = -1;
    mxp_ipc_reader_init(&r);
    while ((n = read(f->p[0], buf, sizeof(buf))) > 0)
        assert_int_equal(mxp_ipc_feed(&r, buf, (size_t)n, &f->res), MXP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(r.in.len, 0); /* no half record left over */
    f->got_result = r.got_result;
    mxp_ipc_reader_free(&r);
}

static void fx_end(struct fx *f)
{
    mxp_job_release(&f->job);
    mxp_check_result_free(&f->res);
    for (size_t i = 0; i < f->slot.lp.n_trees; i++)
        mxp_node_free(f->slot.lp.trees[i]);
    free(f->slot.lp.trees);
    if (f->p[0] >= 0)
        close(f->p[0]);
    if (f->p[1] >= 0)
        close(f->p[1]);
}

/* ---- the table itself ------------------------------------------------ */

static void test_table_is_complete(void **state)
{
    const struct mxp_services *s = mxp_core_services();

    (void)state;
    assert_non_null(s);
    assert_int_equal(s->size, sizeof(struct mxp_services));
    assert_non_null(s->now);
    assert_non_null(s->remaining);
    assert_non_null(s->log);
    assert_non_null(s->strerror);
    assert_non_null(s->set_result);
    assert_non_null(s->add_detail);
    assert_non_null(s->add_perfdata);
    assert_non_null(s->check_threshold);
    assert_non_null(s->threshold_text);
    assert_non_null(s->config);
    assert_non_null(s->node_get);
    assert_non_null(s->node_kind);
    assert_non_null(s->node_str);
    assert_non_null(s->node_len);
    assert_non_null(s->node_at);
    assert_non_null(s->node_key);
    assert_non_null(s->config_error);
    assert_non_null(s->config_parse);
    assert_non_null(s->dns_batch);
    assert_non_null(s->smtp_open);
    assert_non_null(s->smtp_read_reply);
    assert_non_null(s->smtp_command);
    assert_non_null(s->smtp_ehlo);
    assert_non_null(s->smtp_has_extension);
    assert_non_null(s->smtp_extensions);
    assert_non_null(s->smtp_connect_time);
    assert_non_null(s->smtp_error);
    assert_non_null(s->smtp_close);
    assert_non_null(s->registered_domain);
    assert_non_null(s->dns_result_name);
    assert_non_null(s->state_worst);
    assert_non_null(s->reverse_name);
    assert_non_null(s->is_host_name);
    /* ABI 1.1 */
    assert_non_null(s->smtp_send);
    assert_non_null(s->smtp_send_message);
    assert_non_null(s->config_bool);
    assert_non_null(s->config_long);
    assert_non_null(s->set_result_from_details);
    /* ABI 1.3: TLS */
    assert_non_null(s->smtp_tls_start);
    assert_non_null(s->smtp_tls_handshake);
    assert_non_null(s->smtp_tls_info);
    assert_non_null(s->smtp_unsolicited);
    assert_non_null(s->tls_hello);
    /* ABI 1.5: DNSSEC, HTTPS */
    assert_non_null(s->dns_authenticated);
    assert_non_null(s->https_get);
}

static void test_prepare_fills_ctx(void **state)
{
    struct fx f;

    (void)state;
    fx_start(&f);
    f.run.verbosity = 2; /* read by prepare: redo it */
    f.run.probe.helo_name = "probe.example.test";
    mxp_job_prepare(&f.job, &f.run, &f.slot, &target, INFINITY, f.p[1]);
    assert_ptr_equal(f.job.ctx.svc, mxp_core_services());
    assert_ptr_equal(f.job.ctx.target, &target);
    assert_ptr_equal(f.job.ctx.core, &f.job);
    assert_string_equal(f.job.ctx.plugin_name, PLUGIN);
    assert_string_equal(f.job.ctx.probe->helo_name, "probe.example.test");
    assert_int_equal(f.job.ctx.verbosity, 2);
    fx_end(&f);
}

static void test_remaining(void **state)
{
    struct fx f;
    double left;

    (void)state;
    fx_start(&f);
    f.job.deadline = mxp_now() - 5;
    assert_true(f.job.ctx.svc->remaining(&f.job.ctx) == 0);
    f.job.deadline = mxp_now() + 100;
    left = f.job.ctx.svc->remaining(&f.job.ctx);
    assert_true(left > 90 && left <= 100);
    fx_end(&f);
}

/* ---- results, details, perfdata, log ---------------------------------- */

static void test_result_detail_perf_log_records(void **state)
{
    struct fx f;
    struct mxp_perf perf = {"rtt", 0.5, "s", "1", "2", 0, NAN};
    struct mxp_ctx *ctx;

    (void)state;
    fx_start(&f);
    f.run.verbosity = 1;
    mxp_job_prepare(&f.job, &f.run, &f.slot, &target, INFINITY, f.p[1]);
    ctx = &f.job.ctx;
    ctx->svc->add_detail(ctx, MXP_STATE_OK, "greeting %d ok", 220);
    ctx->svc->add_perfdata(ctx, &perf);
    ctx->svc->log(ctx, 1, "seen %s", "this");
    ctx->svc->log(ctx, 2, "not %s", "this"); /* above the verbosity */
    ctx->svc->set_result(ctx, MXP_STATE_WARNING, "first");
    ctx->svc->set_result(ctx, (enum mxp_state)9, "last %s", "wins");
    fx_collect(&f);
    assert_true(f.got_result);
    /* Out-of-range states become UNKNOWN rather than a corrupt record. */
    assert_int_equal(f.res.state, MXP_STATE_UNKNOWN);
    assert_string_equal(f.res.summary, "last wins");
    assert_int_equal(f.res.n_details, 1);
    assert_int_equal(f.res.details[0].state, MXP_STATE_OK);
    assert_string_equal(f.res.details[0].text, "greeting 220 ok");
    assert_int_equal(f.res.n_perf, 1);
    assert_string_equal(f.res.perf[0].label, PLUGIN "_rtt");
    assert_true(f.res.perf[0].value == 0.5);
    assert_string_equal(f.res.perf[0].warn, "1");
    assert_int_equal(f.res.n_log, 1);
    assert_string_equal(f.res.log[0], "seen this");
    fx_end(&f);
}

#define MAX_DETAILS 4

struct detail_in {
    enum mxp_state st;
    const char *text; /* NULL ends the list */
};

/* Each row: the details a plugin adds, then what set_result_from_details
 * must return and send (no result at all when ret is 0). */
static const struct {
    const char *name;
    struct detail_in d[MAX_DETAILS + 1];
    int ret;
    enum mxp_state st;
    const char *summary;
} from_details_table[] = {
    {"no details", {{0, NULL}}, 0, 0, NULL},
    {"only OK",
     {{MXP_STATE_OK, "fine"}, {MXP_STATE_OK, "also fine"}, {0, NULL}},
     0,
     0,
     NULL},
    {"one warning",
     {{MXP_STATE_WARNING, "slow greeting"}, {0, NULL}},
     1,
     MXP_STATE_WARNING,
     "slow greeting"},
    {"OK details are not counted",
     {{MXP_STATE_OK, "a"},
      {MXP_STATE_WARNING, "w"},
      {MXP_STATE_OK, "b"},
      {0, NULL}},
     1,
     MXP_STATE_WARNING,
     "w"},
    {"first critical wins, others counted",
     {{MXP_STATE_WARNING, "w1"},
      {MXP_STATE_CRITICAL, "c1"},
      {MXP_STATE_CRITICAL, "c2"},
      {MXP_STATE_UNKNOWN, "u1"},
      {0, NULL}},
     1,
     MXP_STATE_CRITICAL,
     "c1 (+3 more)"},
    {"warning beats unknown",
     {{MXP_STATE_UNKNOWN, "u1"}, {MXP_STATE_WARNING, "w1"}, {0, NULL}},
     1,
     MXP_STATE_WARNING,
     "w1 (+1 more)"},
    {"unknown beats OK",
     {{MXP_STATE_OK, "ok"}, {MXP_STATE_UNKNOWN, "u1"}, {0, NULL}},
     1,
     MXP_STATE_UNKNOWN,
     "u1"},
    {"critical first stays",
     {{MXP_STATE_CRITICAL, "c1"},
      {MXP_STATE_WARNING, "w1"},
      {MXP_STATE_UNKNOWN, "u1"},
      {0, NULL}},
     1,
     MXP_STATE_CRITICAL,
     "c1 (+2 more)"},
    {"first of equal unknowns",
     {{MXP_STATE_UNKNOWN, "u1"}, {MXP_STATE_UNKNOWN, "u2"}, {0, NULL}},
     1,
     MXP_STATE_UNKNOWN,
     "u1 (+1 more)"},
    {"out-of-range state is unknown",
     {{(enum mxp_state)7, "odd"}, {0, NULL}},
     1,
     MXP_STATE_UNKNOWN,
     "odd"},
    {"percent signs pass through",
     {{MXP_STATE_WARNING, "disk 100% %s %d %n %%"}, {0, NULL}},
     1,
     MXP_STATE_WARNING,
     "disk 100% %s %d %n %%"},
    {"percent signs with a count",
     {{MXP_STATE_WARNING, "50%"},
      {MXP_STATE_CRITICAL, "99% %s%s%s"},
      {0, NULL}},
     1,
     MXP_STATE_CRITICAL,
     "99% %s%s%s (+1 more)"},
};

static void test_result_from_details_table(void **state)
{
    (void)state;
    for (size_t i = 0;
         i < sizeof(from_details_table) / sizeof(from_details_table[0]); i++) {
        const struct detail_in *d = from_details_table[i].d;
        struct fx f;
        struct mxp_ctx *ctx;
        size_t n = 0;
        int ret;

        print_message("case: %s\n", from_details_table[i].name);
        fx_start(&f);
        ctx = &f.job.ctx;
        for (; d[n].text != NULL; n++)
            ctx->svc->add_detail(ctx, d[n].st, "%s", d[n].text);
        ret = ctx->svc->set_result_from_details(ctx);
        fx_collect(&f);
        assert_int_equal(ret, from_details_table[i].ret);
        assert_int_equal(f.got_result, from_details_table[i].ret);
        if (from_details_table[i].ret) {
            assert_int_equal(f.res.state, from_details_table[i].st);
            assert_string_equal(f.res.summary, from_details_table[i].summary);
        } else {
            assert_null(f.res.summary);
        }
        /* The details themselves still went out, in order. */
        assert_int_equal(f.res.n_details, n);
        for (size_t j = 0; j < n; j++) {
            enum mxp_state st =
                d[j].st > MXP_STATE_UNKNOWN ? MXP_STATE_UNKNOWN : d[j].st;
            assert_int_equal(f.res.details[j].state, st);
            assert_string_equal(f.res.details[j].text, d[j].text);
        }
        fx_end(&f);
    }
}

/* A result the plugin set itself survives when every detail was OK. */
static void test_from_details_keeps_own_result(void **state)
{
    struct fx f;
    struct mxp_ctx *ctx;

    (void)state;
    fx_start(&f);
    ctx = &f.job.ctx;
    ctx->svc->add_detail(ctx, MXP_STATE_OK, "MX found");
    ctx->svc->set_result(ctx, MXP_STATE_OK, "all good");
    assert_int_equal(ctx->svc->set_result_from_details(ctx), 0);
    fx_collect(&f);
    assert_true(f.got_result);
    assert_int_equal(f.res.state, MXP_STATE_OK);
    assert_string_equal(f.res.summary, "all good");
    fx_end(&f);
}

/* Details formatted with arguments are ranked by their final text. */
static void test_from_details_formats_once(void **state)
{
    struct fx f;
    struct mxp_ctx *ctx;

    (void)state;
    fx_start(&f);
    ctx = &f.job.ctx;
    ctx->svc->add_detail(ctx, MXP_STATE_WARNING, "%s listed on %d lists",
                         "127.0.0.2", 3);
    ctx->svc->add_detail(ctx, MXP_STATE_CRITICAL, "%s: %.1f%%", "loss", 12.5);
    assert_int_equal(ctx->svc->set_result_from_details(ctx), 1);
    fx_collect(&f);
    assert_int_equal(f.res.state, MXP_STATE_CRITICAL);
    assert_string_equal(f.res.summary, "loss: 12.5% (+1 more)");
    assert_string_equal(f.res.details[0].text, "127.0.0.2 listed on 3 lists");
    fx_end(&f);
}

/* ---- thresholds ------------------------------------------------------- */

static void set_thresholds(struct fx *f, const char *warn, const char *crit)
{
    f->slot.warn_text = warn;
    f->slot.crit_text = crit;
    if (warn != NULL)
        assert_int_equal(mxp_range_parse(warn, &f->slot.warn), MXP_OK);
    if (crit != NULL)
        assert_int_equal(mxp_range_parse(crit, &f->slot.crit), MXP_OK);
}

static const double th_values[] = {-1, 0, 5, 10, 15, 20, 25};
#define N_TH (sizeof(th_values) / sizeof(th_values[0]))
#define O MXP_STATE_OK
#define W MXP_STATE_WARNING
#define C MXP_STATE_CRITICAL

/* Each row: -w and -c (NULL: none) and the state for each of th_values. */
static const struct {
    const char *warn, *crit;
    enum mxp_state st[N_TH];
} th_table[] = {
    {NULL, NULL, {O, O, O, O, O, O, O}},
    {"10", "20", {C, O, O, O, W, W, C}},
    {"10", NULL, {W, O, O, O, W, W, W}},
    {NULL, "20", {C, O, O, O, O, O, C}},
    {"~:10", "~:20", {O, O, O, O, W, W, C}},
    {"@5:10", "@0:4", {O, C, W, W, O, O, O}},
    {"5:", "1:", {C, C, O, O, O, O, O}},
};

static void test_check_threshold_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(th_table) / sizeof(th_table[0]); i++) {
        struct fx f;
        struct mxp_ctx *ctx;

        fx_start_init(&f);
        set_thresholds(&f, th_table[i].warn, th_table[i].crit);
        ctx = &f.job.ctx;
        for (size_t j = 0; j < N_TH; j++) {
            print_message("case: -w %s -c %s value %g\n",
                          th_table[i].warn ? th_table[i].warn : "-",
                          th_table[i].crit ? th_table[i].crit : "-",
                          th_values[j]);
            assert_int_equal(ctx->svc->check_threshold(ctx, th_values[j]),
                             th_table[i].st[j]);
        }
        if (th_table[i].warn != NULL)
            assert_string_equal(ctx->svc->threshold_text(ctx, 0),
                                th_table[i].warn);
        else
            assert_null(ctx->svc->threshold_text(ctx, 0));
        if (th_table[i].crit != NULL)
            assert_string_equal(ctx->svc->threshold_text(ctx, 1),
                                th_table[i].crit);
        else
            assert_null(ctx->svc->threshold_text(ctx, 1));
        fx_end(&f);
    }
}

/* A range struct without its text counts as no threshold at all. */
static void test_threshold_without_text_is_ignored(void **state)
{
    struct fx f;

    (void)state;
    fx_start_init(&f);
    assert_int_equal(mxp_range_parse("1", &f.slot.crit), MXP_OK);
    assert_int_equal(f.job.ctx.svc->check_threshold(&f.job.ctx, 50), O);
    assert_null(f.job.ctx.svc->threshold_text(&f.job.ctx, 1));
    fx_end(&f);
}

#undef O
#undef W
#undef C

/* ---- typed config readers ---------------------------------------------- */

static struct mxp_node *parse(const char *text)
{
    struct mxp_node *root = NULL;
    char err[512];

    err[0] = '\0';
    if (mxp_yaml_parse(FILE_NAME, text, strlen(text), &root, err,
                       sizeof(err)) != MXP_OK)
        fail_msg("YAML did not parse: %s", err);
    return root;
}

/* Values on lines 1..16, each at column 4. */
static const char bool_doc[] = "a: true\n"
                               "b: FALSE\n"
                               "c: Yes\n"
                               "d: no\n"
                               "e: ON\n"
                               "f: oFf\n"
                               "g:\n"
                               "h: ~\n"
                               "i: \"true\"\n"
                               "j: [1, 2]\n"
                               "k: maybe\n"
                               "l: {x: 1}\n"
                               "m: 1\n"
                               "n: 'yes'\n"
                               "o: null\n"
                               "p: True\n";

#define UNTOUCHED 42

/* Each row: key, rc, value (UNTOUCHED when *out must not change), and
 * for errors the line and what "got" must say. */
static const struct {
    const char *key;
    int rc;
    int out;
    int line;
    const char *got;
} bool_table[] = {
    {"a", MXP_OK, 1, 0, NULL},
    {"b", MXP_OK, 0, 0, NULL},
    {"c", MXP_OK, 1, 0, NULL},
    {"d", MXP_OK, 0, 0, NULL},
    {"e", MXP_OK, 1, 0, NULL},
    {"f", MXP_OK, 0, 0, NULL},
    {"p", MXP_OK, 1, 0, NULL},
    {"g", MXP_OK, UNTOUCHED, 0, NULL}, /* no value */
    {"h", MXP_OK, UNTOUCHED, 0, NULL}, /* ~ */
    {"o", MXP_OK, UNTOUCHED, 0, NULL}, /* null */
    {"absent", MXP_OK, UNTOUCHED, 0, NULL},
    {"i", MXP_ERR_CONFIG, UNTOUCHED, 9, "'true'"}, /* quoted */
    {"j", MXP_ERR_CONFIG, UNTOUCHED, 10, "a list"},
    {"k", MXP_ERR_CONFIG, UNTOUCHED, 11, "'maybe'"},
    {"l", MXP_ERR_CONFIG, UNTOUCHED, 12, "a mapping"},
    {"m", MXP_ERR_CONFIG, UNTOUCHED, 13, "'1'"},
    {"n", MXP_ERR_CONFIG, UNTOUCHED, 14, "'yes'"},
};

static void assert_prefix_suffix(const char *s, const char *prefix,
                                 const char *suffix)
{
    size_t n = strlen(s), ns = strlen(suffix);

    if (strncmp(s, prefix, strlen(prefix)) != 0 || n < ns ||
        strcmp(s + n - ns, suffix) != 0)
        fail_msg("'%s' does not start with '%s' and end with '%s'", s, prefix,
                 suffix);
}

static void test_config_bool_table(void **state)
{
    struct mxp_node *root = parse(bool_doc);

    (void)state;
    for (size_t i = 0; i < sizeof(bool_table) / sizeof(bool_table[0]); i++) {
        struct fx f;
        int out = UNTOUCHED;
        int rc;

        print_message("case: %s\n", bool_table[i].key);
        fx_start_init(&f);
        rc = f.job.ctx.svc->config_bool(&f.job.ctx, root, bool_table[i].key,
                                        &out);
        assert_int_equal(rc, bool_table[i].rc);
        assert_int_equal(out, bool_table[i].out);
        if (rc == MXP_OK) {
            assert_null(f.job.init_error);
        } else {
            char prefix[128], suffix[128];
            snprintf(prefix, sizeof(prefix),
                     FILE_NAME ":%d:4: plugins." PLUGIN ": %s: expected ",
                     bool_table[i].line, bool_table[i].key);
            snprintf(suffix, sizeof(suffix), ", got %s", bool_table[i].got);
            assert_non_null(f.job.init_error);
            assert_prefix_suffix(f.job.init_error, prefix, suffix);
            assert_non_null(strstr(f.job.init_error, "true or false"));
        }
        fx_end(&f);
    }
    mxp_node_free(root);
}

/* Values on lines 1..14, each at column 4. */
static const char long_doc[] = "a: 1\n"
                               "b: 100\n"
                               "c: 0\n"
                               "d: 101\n"
                               "e: abc\n"
                               "f: 8x\n"
                               "g: -5\n"
                               "h:\n"
                               "i: [1]\n"
                               "j: 99999999999999999999999\n"
                               "k: 1.5\n"
                               "l: 0x10\n"
                               "m: +7\n"
                               "n: ''\n";

static const struct {
    const char *key;
    long min, max;
    int rc;
    long out;
    int line;
    const char *got;
} long_table[] = {
    {"a", 1, 100, MXP_OK, 1, 0, NULL},
    {"b", 1, 100, MXP_OK, 100, 0, NULL},
    {"g", -10, 10, MXP_OK, -5, 0, NULL},
    {"m", 0, 10, MXP_OK, 7, 0, NULL},
    {"h", 1, 100, MXP_OK, UNTOUCHED, 0, NULL},
    {"absent", 1, 100, MXP_OK, UNTOUCHED, 0, NULL},
    {"c", 1, 100, MXP_ERR_CONFIG, UNTOUCHED, 3, "'0'"},
    {"d", 1, 100, MXP_ERR_CONFIG, UNTOUCHED, 4, "'101'"},
    {"e", 1, 100, MXP_ERR_CONFIG, UNTOUCHED, 5, "'abc'"},
    {"f", 1, 100, MXP_ERR_CONFIG, UNTOUCHED, 6, "'8x'"},
    {"g", 0, 10, MXP_ERR_CONFIG, UNTOUCHED, 7, "'-5'"},
    {"i", 1, 100, MXP_ERR_CONFIG, UNTOUCHED, 9, "a list"},
    {"j", 1, 100, MXP_ERR_CONFIG, UNTOUCHED, 10, "'99999999999999999999999'"},
    {"k", 1, 100, MXP_ERR_CONFIG, UNTOUCHED, 11, "'1.5'"},
    {"l", 0, 100, MXP_ERR_CONFIG, UNTOUCHED, 12, "'0x10'"},
    {"n", 0, 100, MXP_ERR_CONFIG, UNTOUCHED, 14, "''"},
};

static void test_config_long_table(void **state)
{
    struct mxp_node *root = parse(long_doc);

    (void)state;
    for (size_t i = 0; i < sizeof(long_table) / sizeof(long_table[0]); i++) {
        struct fx f;
        long out = UNTOUCHED;
        int rc;

        print_message("case: %s in %ld..%ld\n", long_table[i].key,
                      long_table[i].min, long_table[i].max);
        fx_start_init(&f);
        rc = f.job.ctx.svc->config_long(&f.job.ctx, root, long_table[i].key,
                                        long_table[i].min, long_table[i].max,
                                        &out);
        assert_int_equal(rc, long_table[i].rc);
        assert_int_equal(out, long_table[i].out);
        if (rc == MXP_OK) {
            assert_null(f.job.init_error);
        } else {
            char prefix[128], suffix[128], range[64];
            snprintf(prefix, sizeof(prefix),
                     FILE_NAME ":%d:4: plugins." PLUGIN ": %s: expected ",
                     long_table[i].line, long_table[i].key);
            snprintf(suffix, sizeof(suffix), ", got %s", long_table[i].got);
            snprintf(range, sizeof(range), "from %ld to %ld", long_table[i].min,
                     long_table[i].max);
            assert_non_null(f.job.init_error);
            assert_prefix_suffix(f.job.init_error, prefix, suffix);
            assert_non_null(strstr(f.job.init_error, range));
        }
        fx_end(&f);
    }
    mxp_node_free(root);
}

/* The usual shape: the plugin's section nested in plugins:, indented. */
static void test_config_nested_position(void **state)
{
    struct mxp_node *root = parse("probe:\n"
                                  "  helo_name: x\n"
                                  "plugins:\n"
                                  "  demo:\n"
                                  "    port: 8x\n"
                                  "    verbose:   maybe\n");
    const struct mxp_node *map =
        mxp_node_get(mxp_node_get(root, "plugins"), PLUGIN);
    struct fx f;
    long port = 25;
    int verbose = 0;

    (void)state;
    assert_non_null(map);
    fx_start_init(&f);
    assert_int_equal(
        f.job.ctx.svc->config_long(&f.job.ctx, map, "port", 1, 65535, &port),
        MXP_ERR_CONFIG);
    assert_int_equal(port, 25);
    assert_non_null(f.job.init_error);
    assert_prefix_suffix(f.job.init_error,
                         FILE_NAME ":5:11: plugins.demo: port: expected ",
                         ", got '8x'");
    /* A second error does not replace the first. */
    assert_int_equal(
        f.job.ctx.svc->config_bool(&f.job.ctx, map, "verbose", &verbose),
        MXP_ERR_CONFIG);
    assert_prefix_suffix(f.job.init_error,
                         FILE_NAME ":5:11: plugins.demo: port: expected ",
                         ", got '8x'");
    fx_end(&f);

    fx_start_init(&f);
    assert_int_equal(
        f.job.ctx.svc->config_bool(&f.job.ctx, map, "verbose", &verbose),
        MXP_ERR_CONFIG);
    assert_prefix_suffix(f.job.init_error,
                         FILE_NAME ":6:16: plugins.demo: verbose: expected ",
                         ", got 'maybe'");
    fx_end(&f);
    mxp_node_free(root);
}

static void test_config_null_map(void **state)
{
    struct fx f;
    int b = UNTOUCHED;
    long l = UNTOUCHED;

    (void)state;
    fx_start_init(&f);
    assert_int_equal(f.job.ctx.svc->config_bool(&f.job.ctx, NULL, "x", &b),
                     MXP_OK);
    assert_int_equal(
        f.job.ctx.svc->config_long(&f.job.ctx, NULL, "x", 0, 10, &l), MXP_OK);
    assert_int_equal(b, UNTOUCHED);
    assert_int_equal(l, UNTOUCHED);
    assert_null(f.job.init_error);
    fx_end(&f);
}

/* Config errors end on the Nagios status line ("MXPROBE UNKNOWN - ..."),
 * which must stay one line: the core's own config errors (yaml.c verr)
 * turn CR/LF into spaces and describe() turns control bytes into '?'.
 * A quoted value carrying them must not break the readers' messages. */
static void test_config_error_is_one_printable_line(void **state)
{
    struct mxp_node *root = parse("a: \"1\\n2\"\n"
                                  "b: \"x\\ry\\e[31m\"\n");
    static const char *const keys[] = {"a", "b"};
    char bad[512] = "";

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        const char *key = keys[i / 2];
        int as_bool = (int)(i % 2);
        struct fx f;
        long l = 0;
        int b = 0;
        int rc;

        fx_start_init(&f);
        if (as_bool)
            rc = f.job.ctx.svc->config_bool(&f.job.ctx, root, key, &b);
        else
            rc = f.job.ctx.svc->config_long(&f.job.ctx, root, key, 0, 9, &l);
        assert_int_equal(rc, MXP_ERR_CONFIG);
        assert_non_null(f.job.init_error);
        /* Noted, not failed at once, so the tree and job are freed. */
        for (const char *p = f.job.init_error; *p != '\0' && !bad[0]; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                snprintf(bad, sizeof(bad),
                         "%s as %s: control byte 0x%02x "
                         "in '%s'",
                         key, as_bool ? "bool" : "long", (unsigned char)*p,
                         f.job.init_error);
        fx_end(&f);
    }
    mxp_node_free(root);
    if (bad[0])
        fail_msg("%s", bad);
}

static void test_config_error_service(void **state)
{
    struct mxp_node *root = parse("x: 1\n"
                                  "list:\n"
                                  "  - a\n"
                                  "  - 50%\n");
    const struct mxp_node *list = mxp_node_get(root, "list");
    struct fx f;

    (void)state;
    fx_start_init(&f);
    f.job.ctx.svc->config_error(
        &f.job.ctx, f.job.ctx.svc->node_at(list, 1), "bad item '%s'",
        f.job.ctx.svc->node_str(f.job.ctx.svc->node_at(list, 1)));
    assert_string_equal(f.job.init_error,
                        FILE_NAME ":4:5: plugins.demo: bad item '50%'");
    fx_end(&f);

    fx_start_init(&f);
    f.job.ctx.svc->config_error(&f.job.ctx, NULL, "missing %s", "x");
    assert_string_equal(f.job.init_error, "plugins.demo: missing x");
    fx_end(&f);
    mxp_node_free(root);
}

static void test_config_node_accessors(void **state)
{
    struct mxp_node *root = parse("name: mx\n"
                                  "list: [a, b]\n"
                                  "map: {k: v}\n"
                                  "none:\n"
                                  "quoted: ''\n");
    struct fx f;
    const struct mxp_services *s;
    const struct mxp_node *list, *map;

    (void)state;
    fx_start_init(&f);
    f.slot.cfg = root;
    s = f.job.ctx.svc;
    assert_ptr_equal(s->config(&f.job.ctx), root);
    list = s->node_get(root, "list");
    map = s->node_get(root, "map");
    assert_int_equal(s->node_kind(list), MXP_NODE_SEQ);
    assert_int_equal(s->node_kind(map), MXP_NODE_MAP);
    assert_int_equal(s->node_kind(NULL), MXP_NODE_SCALAR);
    assert_string_equal(s->node_str(s->node_get(root, "name")), "mx");
    assert_null(s->node_str(list));
    assert_null(s->node_str(NULL));
    /* "the default": absent, no value, or "" */
    assert_true(s->node_unset(NULL));
    assert_true(s->node_unset(s->node_get(root, "none")));
    assert_true(s->node_unset(s->node_get(root, "quoted")));
    assert_false(s->node_unset(s->node_get(root, "name")));
    assert_false(s->node_unset(list));
    assert_int_equal(s->node_len(list), 2);
    assert_int_equal(s->node_len(s->node_get(root, "name")), 0);
    assert_string_equal(s->node_str(s->node_at(list, 1)), "b");
    assert_null(s->node_at(list, 2));
    assert_null(s->node_at(NULL, 0));
    assert_string_equal(s->node_key(map, 0), "k");
    assert_null(s->node_key(map, 1));
    assert_null(s->node_key(list, 0));
    assert_null(s->node_get(root, "absent"));
    fx_end(&f);
    mxp_node_free(root);
}

static void test_config_parse(void **state)
{
    struct fx f;
    const struct mxp_node *out = NULL;
    const struct mxp_services *s;
    static const char good[] = "- a\n- b\n";
    static const char bad[] = "x: [1, 2\n";

    (void)state;
    fx_start_init(&f);
    s = f.job.ctx.svc;
    assert_int_equal(
        s->config_parse(&f.job.ctx, "builtin", good, strlen(good), &out),
        MXP_OK);
    assert_non_null(out);
    assert_int_equal(s->node_len(out), 2);
    /* The tree lives with the plugin, not with the job. */
    assert_int_equal(f.slot.lp.n_trees, 1);
    assert_ptr_equal(f.slot.lp.trees[0], out);
    assert_null(f.job.init_error);
    assert_int_not_equal(
        s->config_parse(&f.job.ctx, "builtin", bad, strlen(bad), &out), MXP_OK);
    assert_null(out);
    assert_int_equal(f.slot.lp.n_trees, 1);
    assert_non_null(f.job.init_error);
    assert_prefix_suffix(f.job.init_error, "builtin:", "");
    fx_end(&f);
}

/* ---- init() through mxp_job_init_plugin ------------------------------- */

static int init_rc;
static int init_net_rc[2];

static int demo_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_node *cfg = ctx->svc->config(ctx);
    int flag = 0;
    long n = 0;

    (void)state;
    if (ctx->svc->config_bool(ctx, cfg, "flag", &flag) != MXP_OK)
        return MXP_ERR_CONFIG;
    if (ctx->svc->config_long(ctx, cfg, "count", 1, 5, &n) != MXP_OK)
        return MXP_ERR_CONFIG;
    return init_rc;
}

/* A plugin that ignores the readers' return values still fails init. */
static int careless_init(struct mxp_ctx *ctx, void **state)
{
    int flag = 0;

    (void)state;
    (void)ctx->svc->config_bool(ctx, ctx->svc->config(ctx), "flag", &flag);
    return MXP_OK;
}

/* No network during init(). */
static int net_init(struct mxp_ctx *ctx, void **state)
{
    struct mxp_dns_query q = {.name = "example.test", .type = MXP_DNS_A};
    struct mxp_smtp *s = (struct mxp_smtp *)&q;

    (void)state;
    init_net_rc[0] = ctx->svc->dns_batch(ctx, &q, 1);
    init_net_rc[1] = ctx->svc->smtp_open(ctx, "127.0.0.1", 25, &s);
    if (s != NULL)
        return MXP_ERR_INVALID;
    return MXP_OK;
}

static void init_slot(struct mxp_plugin_slot *slot, struct mxp_plugin *desc,
                      int (*init)(struct mxp_ctx *, void **),
                      const struct mxp_node *cfg)
{
    memset(desc, 0, sizeof(*desc));
    desc->abi_major = MXP_ABI_MAJOR;
    desc->abi_minor = MXP_ABI_MINOR;
    desc->struct_size = sizeof(*desc);
    desc->name = PLUGIN;
    desc->init = init;
    memset(slot, 0, sizeof(*slot));
    slot->lp.name = (char *)PLUGIN;
    slot->lp.desc = desc;
    slot->cfg = cfg;
}

static void test_init_plugin(void **state)
{
    struct mxp_node *root = parse("good:\n"
                                  "  flag: yes\n"
                                  "  count: 3\n"
                                  "bad:\n"
                                  "  flag: on\n"
                                  "  count: 9\n");
    struct mxp_run_settings run;
    struct mxp_plugin_slot slot;
    struct mxp_plugin desc;
    char err[256];

    (void)state;
    memset(&run, 0, sizeof(run));

    init_rc = MXP_OK;
    init_slot(&slot, &desc, demo_init, mxp_node_get(root, "good"));
    err[0] = '\0';
    assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                     MXP_OK);
    assert_string_equal(err, "");

    init_slot(&slot, &desc, demo_init, mxp_node_get(root, "bad"));
    assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_prefix_suffix(err,
                         FILE_NAME ":6:10: plugins.demo: count: ", ", got '9'");

    /* A section that is not a map has no keys at all. */
    init_slot(&slot, &desc, careless_init,
              mxp_node_get(mxp_node_get(root, "good"), "count"));
    assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                     MXP_OK);
    init_slot(&slot, &desc, careless_init, root);
    assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                     MXP_OK);
    {
        struct mxp_node *r2 = parse("flag: 2\n");
        init_slot(&slot, &desc, careless_init, r2);
        assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                         MXP_ERR_CONFIG);
        assert_prefix_suffix(
            err, FILE_NAME ":1:7: plugins.demo: flag: ", ", got '2'");
        mxp_node_free(r2);
    }

    init_rc = MXP_ERR_NOMEM;
    init_slot(&slot, &desc, demo_init, NULL);
    assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                     MXP_ERR_NOMEM);
    assert_string_equal(err,
                        "plugin demo: initialisation failed: out of memory");

    init_slot(&slot, &desc, NULL, NULL);
    assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                     MXP_OK);

    init_slot(&slot, &desc, net_init, NULL);
    assert_int_equal(mxp_job_init_plugin(&run, &slot, err, sizeof(err)),
                     MXP_OK);
    assert_int_equal(init_net_rc[0], MXP_ERR_INVALID);
    assert_int_equal(init_net_rc[1], MXP_ERR_INVALID);
    mxp_node_free(root);
}

/* ---- smtp_open: who may complete a message ------------------------------ */

#define OWN "me@probe.test"
#define NO_OWN "refusing to complete a message: probe.my_email is not set"

static void put(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* One session the job opens, against a socket this process listens on
 * (the connect completes before accept; each reply is written before the
 * client reads it): MAIL FROM:<OWN>, DATA, 354, then the message.
 * Returns what smtp_send_message returned; err gets smtp_error(). */
static int job_message(struct fx *f, char *err, size_t errlen)
{
    const struct mxp_services *svc = f->job.ctx.svc;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct mxp_smtp *s = NULL;
    struct mxp_smtp_reply r;
    char got[512];
    ssize_t n;
    int ls, fd, rc;

    ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(ls, 1), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);

    assert_int_equal(
        svc->smtp_open(&f->job.ctx, "127.0.0.1", ntohs(sin.sin_port), &s),
        MXP_OK);
    fd = accept(ls, NULL, NULL);
    assert_true(fd >= 0);
    put(fd, "220 fake.test ESMTP\r\n");
    assert_int_equal(svc->smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(svc->smtp_send(s, "MAIL FROM:<" OWN ">"), MXP_OK);
    assert_int_equal(svc->smtp_send(s, "DATA"), MXP_OK);
    put(fd, "250 2.1.0 Ok\r\n354 go ahead\r\n");
    assert_int_equal(svc->smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(r.code, 250);
    assert_int_equal(svc->smtp_read_reply(s, &r), MXP_OK);
    assert_int_equal(r.code, 354);
    put(fd, "250 2.0.0 Ok: queued\r\n"); /* for the message, if it comes */
    rc = svc->smtp_send_message(s, "Subject: t\n\nhi\n", &r);
    snprintf(err, errlen, "%s", svc->smtp_error(s));
    if (rc == MXP_OK)
        assert_int_equal(r.code, 250);
    svc->smtp_close(s, 0);
    /* what reached the server: the end of data only with a message */
    n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
    got[n > 0 ? n : 0] = '\0';
    assert_int_equal(strstr(got, "\r\n.\r\n") != NULL, rc == MXP_OK);
    close(fd);
    close(ls);
    return rc;
}

/* Only a plugin whose plugins.<name>.deliver is true gets probe.my_email
 * as its sessions' own mailbox: for every other, the core refuses to
 * complete any message, even one from my_email. */
static void test_smtp_open_own_mailbox(void **state)
{
    static const struct {
        const char *yaml; /* plugins.demo; NULL: no section */
        const char *my_email;
        int rc;
    } t[] = {
        {NULL, OWN, MXP_ERR_INVALID},
        {"other: true\n", OWN, MXP_ERR_INVALID},
        {"deliver: false\n", OWN, MXP_ERR_INVALID},
        {"deliver: no\n", OWN, MXP_ERR_INVALID},
        {"deliver:\n", OWN, MXP_ERR_INVALID},
        {"deliver: \"true\"\n", OWN, MXP_ERR_INVALID},
        {"deliver: maybe\n", OWN, MXP_ERR_INVALID},
        {"deliver: 1\n", OWN, MXP_ERR_INVALID},
        {"deliver: [true]\n", OWN, MXP_ERR_INVALID},
        {"deliver: {on: true}\n", OWN, MXP_ERR_INVALID},
        {"x:\n  deliver: true\n", OWN, MXP_ERR_INVALID},
        {"deliver: true\n", OWN, MXP_OK},
        {"deliver: yes\n", OWN, MXP_OK},
        {"deliver: On\n", OWN, MXP_OK},
        {"deliver: true\n", "", MXP_ERR_INVALID},
        {"deliver: true\n", NULL, MXP_ERR_INVALID},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct mxp_node *root = t[i].yaml ? parse(t[i].yaml) : NULL;
        struct fx f;
        char err[320];
        int rc;

        fx_start(&f);
        f.run.probe.my_email = t[i].my_email;
        f.run.probe.connect_timeout = 2;
        f.run.probe.command_timeout = 2;
        f.slot.cfg = root;
        rc = job_message(&f, err, sizeof(err));
        if (rc != t[i].rc)
            fail_msg("case %zu: send_message gave %d (%s), expected %d", i, rc,
                     err, t[i].rc);
        if (rc != MXP_OK && strcmp(err, NO_OWN) != 0)
            fail_msg("case %zu: '%s', expected '%s'", i, err, NO_OWN);
        fx_end(&f);
        mxp_node_free(root);
    }
}

/* ---- dns_authenticated through the table ------------------------------ */

/* The AD bit of the job's own answers, by dns_batch and by
 * dns_start/dns_collect, kept until the job is released. */
static void test_dns_authenticated(void **state)
{
    struct fx f;
    const char *servers[1];
    struct mxp_dns_query q[2] = {{.name = "signed.test", .type = MXP_DNS_MX},
                                 {.name = "plain.test", .type = MXP_DNS_MX}};
    struct mxp_dns_query late = {.name = "plain.test", .type = MXP_DNS_MX};
    struct mxp_dns_batch *b = NULL;
    const struct mxp_services *s;

    (void)state;
    assert_true(dnss_start() != 0);
    dnss_add("signed.test", MXP_DNS_MX, 0, 0, "MX 10 mx.signed.test");
    dnss_set_ad("signed.test", MXP_DNS_MX, 1);
    dnss_add("plain.test", MXP_DNS_MX, 0, 0, "MX 10 mx.plain.test");
    fx_start(&f);
    servers[0] = dnss_server();
    f.run.dns.servers = servers;
    f.run.dns.n_servers = 1;
    f.run.dns.timeout_ms = 500;
    f.run.dns.tries = 1;
    s = f.job.ctx.svc;
    assert_int_equal(s->dns_authenticated(&f.job.ctx, &q[0]), -1);
    assert_int_equal(s->dns_batch(&f.job.ctx, q, 2), MXP_OK);
    assert_int_equal(s->dns_authenticated(&f.job.ctx, &q[0]), 1);
    assert_int_equal(s->dns_authenticated(&f.job.ctx, &q[1]), 0);
    assert_int_equal(s->dns_start(&f.job.ctx, &late, 1, &b), MXP_OK);
    assert_int_equal(s->dns_collect(&f.job.ctx, b), MXP_OK);
    assert_int_equal(late.result, MXP_DNS_ANSWER);
    assert_int_equal(s->dns_authenticated(&f.job.ctx, &late), 0);
    assert_int_equal(s->dns_authenticated(&f.job.ctx, &q[0]), 1);
    fx_end(&f);
    dnss_clear();
    dnss_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_complete),
        cmocka_unit_test(test_prepare_fills_ctx),
        cmocka_unit_test(test_remaining),
        cmocka_unit_test(test_result_detail_perf_log_records),
        cmocka_unit_test(test_result_from_details_table),
        cmocka_unit_test(test_from_details_keeps_own_result),
        cmocka_unit_test(test_from_details_formats_once),
        cmocka_unit_test(test_check_threshold_table),
        cmocka_unit_test(test_threshold_without_text_is_ignored),
        cmocka_unit_test(test_config_bool_table),
        cmocka_unit_test(test_config_long_table),
        cmocka_unit_test(test_config_nested_position),
        cmocka_unit_test(test_config_null_map),
        cmocka_unit_test(test_config_error_is_one_printable_line),
        cmocka_unit_test(test_config_error_service),
        cmocka_unit_test(test_config_node_accessors),
        cmocka_unit_test(test_config_parse),
        cmocka_unit_test(test_init_plugin),
        cmocka_unit_test(test_smtp_open_own_mailbox),
        cmocka_unit_test(test_dns_authenticated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
