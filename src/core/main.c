/*
 * main.c - mxprobe's entry point: command line and config in, plugins
 * loaded and vetted, the target run, the report printed.
 *
 * Anything wrong with arguments, config or plugins is one line on stdout
 * ("MXPROBE UNKNOWN - ...", where Nagios shows it) and exit 3.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "dns.h"
#include "job.h"
#include "plugin_loader.h"
#include "psl.h"
#include "report.h"
#include "result.h"
#include "runner.h"
#include "status.h"
#include "target.h"

#define EXIT_UNKNOWN 3

struct app {
    struct mxp_cli cli;
    struct mxp_config *cfg;
    char **dirs;
    struct mxp_run_settings run;
    struct mxp_plugin_slot *slots;
    size_t n_slots;
    char **checks;
    size_t n_checks;
    struct mxp_report report;
    struct mxp_target_store target;
};

static int fail(const char *msg)
{
    printf("MXPROBE UNKNOWN - %s\n", msg);
    return EXIT_UNKNOWN;
}

static void list_one(const char *name, const char *path,
                     const struct mxp_plugin *desc, const char *error,
                     void *user)
{
    (*(size_t *)user)++;
    if (desc != NULL)
        printf("%-12s %s  (%s, ABI %u.%u)\n", name, desc->summary, path,
               (unsigned)desc->abi_major, (unsigned)desc->abi_minor);
    else
        printf("%-12s refused: %s\n", name, error);
}

/* The config entry of -H, when the config lists it as a target. */
static const struct mxp_target_config *find_target(const struct mxp_config *cfg,
                                                   const char *host)
{
    size_t i;

    for (i = 0; i < cfg->n_targets; i++)
        if (strcasecmp(cfg->targets[i].host, host) == 0)
            return &cfg->targets[i];
    return NULL;
}

static int key_allowed(const struct mxp_plugin *d, const char *key)
{
    size_t i;

    if (strcmp(key, "warning") == 0 || strcmp(key, "critical") == 0)
        return 1;
    for (i = 0; d->config_keys != NULL && d->config_keys[i] != NULL; i++)
        if (strcmp(d->config_keys[i], key) == 0)
            return 1;
    return 0;
}

/* Every plugin named under plugins: must exist and know its keys, even
 * when it does not run now: a typo should not wait for the day the check
 * is enabled. */
/* The descriptor of a plugin this run has loaded already, or NULL. */
static const struct mxp_plugin *loaded_desc(const struct app *a,
                                            const char *name)
{
    size_t i;

    for (i = 0; i < a->n_slots; i++)
        if (strcmp(a->slots[i].lp.name, name) == 0)
            return a->slots[i].lp.desc;
    return NULL;
}

static int check_plugin_sections(struct app *a, char *err, size_t errlen)
{
    const struct mxp_node *plugins = a->cfg->plugins;
    char where[256];
    size_t i, k;

    if (plugins == NULL)
        return MXP_OK;
    for (i = 0; i < plugins->n; i++) {
        struct mxp_loaded_plugin lp;
        const struct mxp_node *sec = plugins->items[i];
        const struct mxp_plugin *desc = loaded_desc(a, plugins->keys[i]);
        char why[400];

        memset(&lp, 0, sizeof(lp));
        /* The built-in sections are the shipped plugins' own: loading a
         * plugin that does not run only to check them costs start-up. */
        if (desc == NULL && mxp_node_is_builtin(sec))
            continue;
        if (desc == NULL && mxp_plugin_load(a->dirs, plugins->keys[i], &lp, why,
                                            sizeof(why)) != MXP_OK) {
            snprintf(err, errlen, "%s: plugins: %s",
                     mxp_pos_where(&plugins->key_pos[i], where, sizeof(where)),
                     why);
            return MXP_ERR_CONFIG;
        }
        for (k = 0; sec->kind == MXP_NODE_MAP && k < sec->n; k++) {
            if (!key_allowed(desc ? desc : lp.desc, sec->keys[k])) {
                char *key =
                    mxp_printable_dup(sec->keys[k], strlen(sec->keys[k]));
                snprintf(err, errlen, "%s: plugins.%s: unknown key '%s'",
                         mxp_pos_where(&sec->key_pos[k], where, sizeof(where)),
                         plugins->keys[i], key ? key : "?");
                free(key);
                if (desc == NULL)
                    mxp_plugin_unload(&lp);
                return MXP_ERR_CONFIG;
            }
        }
        if (desc == NULL)
            mxp_plugin_unload(&lp);
    }
    return MXP_OK;
}

static int set_range(const char *text, const struct mxp_node *at,
                     const char *what, struct mxp_range *r, const char **out,
                     char *err, size_t errlen)
{
    char where[512];

    if (mxp_range_parse(text, r) != MXP_OK) {
        if (at != NULL)
            snprintf(err, errlen,
                     "%s: %s: '%s' is not a range (e.g. 10, "
                     "10:, ~:10, 10:20, @10:20)",
                     mxp_node_where(at, where, sizeof(where)), what, text);
        else
            snprintf(err, errlen,
                     "%s: '%s' is not a range (e.g. 10, 10:, "
                     "~:10, 10:20, @10:20)",
                     what, text);
        return MXP_ERR_CONFIG;
    }
    *out = text;
    return MXP_OK;
}

/* -w/-c when this is the only check, else plugins.<name>.warning and
 * .critical, else the plugin's own defaults. */
static int slot_thresholds(struct app *a, struct mxp_plugin_slot *s, char *err,
                           size_t errlen)
{
    const char *keys[2] = {"warning", "critical"};
    const char *cli[2] = {a->cli.warning, a->cli.critical};
    const char *defs[2] = {s->lp.desc->default_warning,
                           s->lp.desc->default_critical};
    struct mxp_range *ranges[2] = {&s->warn, &s->crit};
    const char **outs[2] = {&s->warn_text, &s->crit_text};
    int i, rc;

    for (i = 0; i < 2; i++) {
        const struct mxp_node *n =
            s->cfg ? mxp_node_get(s->cfg, keys[i]) : NULL;
        char what[128];

        *outs[i] = NULL;
        if (cli[i] != NULL) {
            rc = set_range(cli[i], NULL, i ? "-c" : "-w", ranges[i], outs[i],
                           err, errlen);
        } else if (n != NULL) {
            snprintf(what, sizeof(what), "plugins.%s.%s", s->lp.name, keys[i]);
            if (n->kind != MXP_NODE_SCALAR) {
                char where[512];
                snprintf(err, errlen, "%s: %s: expected a range",
                         mxp_node_where(n, where, sizeof(where)), what);
                return MXP_ERR_CONFIG;
            }
            rc = set_range(n->str, n, what, ranges[i], outs[i], err, errlen);
        } else if (defs[i] != NULL) {
            rc = set_range(defs[i], NULL, "plugin default", ranges[i], outs[i],
                           err, errlen);
        } else {
            rc = MXP_OK;
        }
        if (rc != MXP_OK)
            return rc;
    }
    return MXP_OK;
}

static int load_slots(struct app *a, char *err, size_t errlen)
{
    size_t i;
    int rc;

    a->slots = calloc(a->n_checks, sizeof(*a->slots));
    if (a->slots == NULL)
        return MXP_ERR_NOMEM;
    for (i = 0; i < a->n_checks; i++) {
        struct mxp_plugin_slot *s = &a->slots[i];
        rc = mxp_plugin_load(a->dirs, a->checks[i], &s->lp, err, errlen);
        if (rc != MXP_OK)
            return rc;
        a->n_slots++;
        s->cfg = mxp_config_plugin(a->cfg, a->checks[i]);
    }
    return MXP_OK;
}

/* 1 when -C names the check itself ("geoip", "+geoip"), not only the
 * configured list. */
static int named_on_cli(const struct app *a, const char *name)
{
    const char *p = a->cli.checks;
    size_t len = strlen(name);

    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, ","), wn = n;
        const char *w = p;

        if (wn > 0 && *w == '+') {
            w++;
            wn--;
        }
        if (wn == len && strncmp(w, name, len) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Thresholds and init(), once every plugins: section is known good.  An
 * init() answering MXP_ERR_UNSUPPORTED has nothing to work with here (no
 * GeoIP database): a check of the configured list is then left out, said
 * with -v; one named on -C runs and says why itself. */
static int init_slots(struct app *a, char *err, size_t errlen)
{
    size_t i;
    int rc;

    for (i = 0; i < a->n_slots;) {
        struct mxp_plugin_slot *s = &a->slots[i];

        rc = slot_thresholds(a, s, err, errlen);
        if (rc == MXP_OK)
            rc = mxp_job_init_plugin(&a->run, s, err, errlen);
        if (rc == MXP_ERR_UNSUPPORTED && named_on_cli(a, s->lp.name))
            rc = MXP_OK;
        if (rc == MXP_ERR_UNSUPPORTED) {
            if (a->cli.verbosity >= 1)
                fprintf(stderr,
                        "mxprobe: note: %s left out of the checks: nothing "
                        "to check with here (-C %s says why)\n",
                        s->lp.name, s->lp.name);
            mxp_plugin_unload(&s->lp);
            memmove(s, s + 1, (a->n_slots - i - 1) * sizeof(*s));
            a->n_slots--;
            continue;
        }
        if (rc != MXP_OK)
            return rc;
        i++;
    }
    return MXP_OK;
}

static int choose_checks(struct app *a, const struct mxp_target_config *tc,
                         char *err, size_t errlen)
{
    char *const *base = a->cfg->checks;
    size_t n_base = a->cfg->n_checks;

    if (tc != NULL && tc->checks != NULL) {
        base = tc->checks;
        n_base = tc->n_checks;
    }
    if (a->cli.checks != NULL)
        return mxp_checks_apply(a->cli.checks, base, n_base, &a->checks,
                                &a->n_checks, err, errlen);
    /* No -C: the configured list as it is. */
    a->checks = calloc(n_base ? n_base : 1, sizeof(char *));
    if (a->checks == NULL)
        return MXP_ERR_NOMEM;
    for (; a->n_checks < n_base; a->n_checks++) {
        a->checks[a->n_checks] = strdup(base[a->n_checks]);
        if (a->checks[a->n_checks] == NULL)
            return MXP_ERR_NOMEM;
    }
    if (n_base == 0) {
        snprintf(err, errlen,
                 "the config enables no checks: add some "
                 "to checks: or use -C");
        return MXP_ERR_CONFIG;
    }
    return MXP_OK;
}

static int print_report(struct app *a)
{
    enum mxp_format fmt = a->cli.format;
    const char *nc = getenv("NO_COLOR");
    int tty = isatty(STDOUT_FILENO);

    if (fmt == MXP_FORMAT_AUTO)
        fmt = tty ? MXP_FORMAT_TEXT : MXP_FORMAT_NAGIOS;
    switch (fmt) {
    case MXP_FORMAT_JSON:
        return mxp_output_json(stdout, &a->report, a->cli.verbosity);
    case MXP_FORMAT_OPENMETRICS:
        return mxp_output_openmetrics(stdout, &a->report);
    case MXP_FORMAT_TEXT:
        return mxp_output_text(stdout, &a->report, a->cli.verbosity,
                               tty && (nc == NULL || nc[0] == '\0'));
    default:
        return mxp_output_nagios(stdout, &a->report, a->cli.verbosity);
    }
}

static void cleanup(struct app *a)
{
    size_t i;

    for (i = 0; i < a->n_slots; i++)
        mxp_plugin_unload(&a->slots[i].lp);
    free(a->slots);
    mxp_strv_free(a->checks, a->n_checks);
    mxp_report_free(&a->report);
    mxp_target_store_free(&a->target);
    mxp_plugin_dirs_free(a->dirs);
    mxp_config_free(a->cfg);
    mxp_cli_free(&a->cli);
    mxp_dns_global_cleanup();
    mxp_psl_cleanup();
}

static int run(struct app *a, int argc, char **argv)
{
    char err[1024];
    const struct mxp_target_config *tc;
    struct mxp_target_report *tr;
    double start = mxp_now(), deadline;
    size_t i;
    int rc;

    if (mxp_cli_parse(argc, argv, &a->cli, err, sizeof(err)) != MXP_OK)
        return fail(err);
    if (a->cli.help) {
        fputs(mxp_cli_help, stdout);
        return 0;
    }
    if (a->cli.version) {
        printf("mxprobe %s (plugin ABI %d.%d)\n", MXP_VERSION, MXP_ABI_MAJOR,
               MXP_ABI_MINOR);
        return 0;
    }
    /* Output after the hard deadline must still make it within -t. */
    deadline = start + a->cli.timeout - fmin(0.1, a->cli.timeout * 0.05);
    if (mxp_dns_global_init() != MXP_OK)
        return fail("cannot initialise the DNS library");
    a->dirs = mxp_plugin_dirs();
    if (a->dirs == NULL)
        return fail("out of memory");
    if (a->cli.list_plugins) {
        size_t found = 0;
        mxp_plugin_list(a->dirs, list_one, &found);
        if (found == 0) {
            printf("no plugins found in:");
            for (i = 0; a->dirs[i] != NULL; i++)
                printf(" %s", a->dirs[i]);
            printf("\n");
            return EXIT_UNKNOWN;
        }
        return 0;
    }
    if (mxp_config_load(a->cli.config, a->cli.sets, a->cli.n_sets, &a->cfg, err,
                        sizeof(err)) != MXP_OK)
        return fail(err);
    for (i = 0; i < a->cli.n_dns_servers; i++)
        if (mxp_dns_server_check(a->cli.dns_servers[i], err, sizeof(err)) !=
            MXP_OK)
            return fail(err);
    if (a->cli.all) {
        if (check_plugin_sections(a, err, sizeof(err)) != MXP_OK)
            return fail(err);
        return fail("--all is not implemented yet; check one server with "
                    "-H HOST");
    }

    a->run.cfg = a->cfg;
    a->run.verbosity = a->cli.verbosity;
    a->run.probe.helo_name = a->cfg->helo_name;
    a->run.probe.mail_from = a->cfg->mail_from;
    a->run.probe.my_email = a->cfg->my_email;
    a->run.probe.connect_timeout = a->cfg->connect_timeout;
    a->run.probe.command_timeout = a->cfg->command_timeout;
    if (a->cli.n_dns_servers > 0) {
        a->run.dns.servers = a->cli.dns_servers;
        a->run.dns.n_servers = a->cli.n_dns_servers;
    } else {
        a->run.dns.servers = (const char *const *)a->cfg->dns_servers;
        a->run.dns.n_servers = a->cfg->n_dns_servers;
    }
    a->run.dns.timeout_ms = (int)lround(a->cfg->dns_timeout * 1000);
    if (a->run.dns.timeout_ms < 1)
        a->run.dns.timeout_ms = 1; /* 0 would mean c-ares' default */
    a->run.dns.tries = a->cfg->dns_tries;

    tc = find_target(a->cfg, a->cli.host);
    if (choose_checks(a, tc, err, sizeof(err)) != MXP_OK)
        return fail(err);
    if ((a->cli.warning || a->cli.critical) && a->n_checks != 1)
        return fail("-w/-c apply to a single check: add -C NAME, or set "
                    "plugins.NAME.warning/critical in the config");
    /* The plugins that run are loaded once, and serve the check of every
     * plugins: section too; the others are loaded for that check only. */
    if (load_slots(a, err, sizeof(err)) != MXP_OK ||
        check_plugin_sections(a, err, sizeof(err)) != MXP_OK ||
        init_slots(a, err, sizeof(err)) != MXP_OK)
        return fail(err);

    a->report.targets = calloc(1, sizeof(*a->report.targets));
    if (a->report.targets == NULL)
        return fail("out of memory");
    a->report.n_targets = 1;
    tr = &a->report.targets[0];
    rc = mxp_target_resolve(
        &a->run.dns, a->cli.host,
        a->cli.port ? a->cli.port : (tc && tc->port ? tc->port : 25),
        a->cli.domain ? a->cli.domain : (tc ? tc->domain : NULL), deadline,
        &a->target, err, sizeof(err));
    tr->host = strdup(a->cli.host);
    tr->port = a->target.t.port;
    if (rc != MXP_OK) {
        tr->error = strdup(err);
        tr->state = MXP_STATE_UNKNOWN;
    } else {
        struct mxp_plugin_slot **ptr = calloc(a->n_slots + 1, sizeof(*ptr));

        if (ptr == NULL)
            return fail("out of memory");
        for (i = 0; i < a->n_slots; i++)
            ptr[i] = &a->slots[i];
        tr->addr = strdup(a->target.addr);
        mxp_run_target(&a->run, ptr, a->n_slots, &a->target.t, deadline, tr);
        free(ptr);
    }
    a->report.state = tr->state;
    if (print_report(a) != MXP_OK || fflush(stdout) != 0) {
        /* The report is built in memory and written at once, so nothing
         * of it went out (out of memory) or stdout is broken. */
        printf("MXPROBE UNKNOWN - could not write the report\n");
        return EXIT_UNKNOWN;
    }
    return (int)a->report.state;
}

int main(int argc, char **argv)
{
    struct app a;
    int code;

    memset(&a, 0, sizeof(a));
    code = run(&a, argc, argv);
    cleanup(&a);
    return code;
}
