/*
 * main.c - mxprobe's entry point: command line and config in, plugins
 * loaded and vetted, the targets run (schedule.h), the reports printed
 * as they finish (stream.h).
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
#include "schedule.h"
#include "status.h"
#include "stream.h"
#include "submit.h"

#define EXIT_UNKNOWN 3

struct app {
    struct mxp_cli cli;
    struct mxp_config *cfg;
    char **dirs;
    struct mxp_run_settings run;
    struct mxp_plugin_slot *slots;
    size_t n_slots;
    char **checks; /* the union of every entry's checks */
    size_t n_checks;
    struct plan *plan; /* what to check: one per entry */
    size_t n_plan;
    struct mxp_submitter *submit;
};

/* One entry (-H, -D, or one of targets:) and its checks by name. */
struct plan {
    struct mxp_sched_entry se;
    const struct mxp_target_config *tc;
    char **checks;
    size_t n_checks;
};

static int fail(const char *msg)
{
    printf("MXPROBE UNKNOWN - %s\n", msg);
    return EXIT_UNKNOWN;
}

struct list_state {
    size_t found;
    int verbose;
};

/* One line a plugin; with -v also the keys its plugins: section takes
 * (warning and critical first: the core's, every plugin has them) and
 * its default thresholds, which the docs test reads (tests/configs). */
static void list_one(const char *name, const char *path,
                     const struct mxp_plugin *desc, const char *error,
                     void *user)
{
    struct list_state *ls = user;
    size_t i;

    ls->found++;
    if (desc == NULL) {
        printf("%-12s refused: %s\n", name, error);
        return;
    }
    printf("%-12s %s  (%s, ABI %u.%u)\n", name, desc->summary, path,
           (unsigned)desc->abi_major, (unsigned)desc->abi_minor);
    if (!ls->verbose)
        return;
    printf("%-12s config keys: warning, critical", "");
    for (i = 0; desc->config_keys != NULL && desc->config_keys[i] != NULL; i++)
        printf(", %s", desc->config_keys[i]);
    printf("\n%-12s default thresholds: warning %s, critical %s\n", "",
           desc->default_warning ? desc->default_warning : "none",
           desc->default_critical ? desc->default_critical : "none");
}

/* The config entry of -H, when the config lists it as a target. */
static const struct mxp_target_config *find_target(const struct mxp_config *cfg,
                                                   const char *host)
{
    size_t i;

    for (i = 0; i < cfg->n_targets; i++)
        if (cfg->targets[i].host != NULL &&
            strcasecmp(cfg->targets[i].host, host) == 0)
            return &cfg->targets[i];
    return NULL;
}

/* The config entry of -D DOMAIN without -H: a domain entry of targets:. */
static const struct mxp_target_config *
find_domain_target(const struct mxp_config *cfg, const char *domain)
{
    size_t i;

    for (i = 0; i < cfg->n_targets; i++)
        if (cfg->targets[i].kind == MXP_ENTRY_DOMAIN &&
            cfg->targets[i].domain != NULL &&
            strcasecmp(cfg->targets[i].domain, domain) == 0)
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
                         char ***out, size_t *n_out, char *err, size_t errlen)
{
    char *const *base = a->cfg->checks;
    size_t n_base = a->cfg->n_checks;

    if (tc != NULL && tc->checks != NULL) {
        base = tc->checks;
        n_base = tc->n_checks;
    }
    if (a->cli.checks != NULL)
        return mxp_checks_apply(a->cli.checks, base, n_base, out, n_out, err,
                                errlen);
    /* No -C: the configured list as it is. */
    *out = calloc(n_base ? n_base : 1, sizeof(char *));
    if (*out == NULL)
        return MXP_ERR_NOMEM;
    for (; *n_out < n_base; (*n_out)++) {
        (*out)[*n_out] = strdup(base[*n_out]);
        if ((*out)[*n_out] == NULL)
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

static void cleanup(struct app *a)
{
    size_t i;

    for (i = 0; i < a->n_slots; i++)
        mxp_plugin_unload(&a->slots[i].lp);
    free(a->slots);
    mxp_strv_free(a->checks, a->n_checks);
    for (i = 0; i < a->n_plan; i++) {
        mxp_strv_free(a->plan[i].checks, a->plan[i].n_checks);
        free(a->plan[i].se.slots);
    }
    free(a->plan);
    if (a->submit != NULL)
        mxp_submit_finish(a->submit, mxp_now());
    mxp_plugin_dirs_free(a->dirs);
    mxp_config_free(a->cfg);
    mxp_cli_free(&a->cli);
    mxp_dns_global_cleanup();
    mxp_psl_cleanup();
}

/* The entries of this run: -H (a host or a netblock), -D without -H (a
 * domain), or every entry of targets: (--all). */
static int plan_entries(struct app *a, char *err, size_t errlen)
{
    size_t i, n = a->cli.all ? a->cfg->n_targets : 1;

    if (a->cli.all && n == 0) {
        snprintf(err, errlen, "--all: the config lists no targets");
        return MXP_ERR_CONFIG;
    }
    a->plan = calloc(n, sizeof(*a->plan));
    if (a->plan == NULL)
        return MXP_ERR_NOMEM;
    a->n_plan = n;
    for (i = 0; i < n; i++) {
        struct plan *p = &a->plan[i];
        struct mxp_sched_entry *e = &p->se;
        const struct mxp_target_config *tc;

        if (a->cli.all) {
            tc = &a->cfg->targets[i];
            e->entry.kind = tc->kind;
            e->entry.text = tc->kind == MXP_ENTRY_DOMAIN ? tc->domain : tc->host;
            e->domain = tc->domain;
        } else if (a->cli.host != NULL) {
            tc = find_target(a->cfg, a->cli.host);
            e->entry.kind = mxp_entry_kind_of(a->cli.host);
            e->entry.text = a->cli.host;
            e->domain = a->cli.domain ? a->cli.domain : (tc ? tc->domain : NULL);
        } else {
            tc = find_domain_target(a->cfg, a->cli.domain);
            e->entry.kind = MXP_ENTRY_DOMAIN;
            e->entry.text = a->cli.domain;
            e->domain = a->cli.domain;
        }
        p->tc = tc;
        e->port = a->cli.port ? a->cli.port : (tc && tc->port ? tc->port : 25);
        e->entry.port = e->port;
        e->service = tc ? tc->service : NULL;
        /* A name is left to the expander, whose error says what is wrong
         * with it as today's single-host run did; blocks and domains are
         * refused before anything runs. */
        if (e->entry.kind != MXP_ENTRY_HOST &&
            mxp_entry_check(&e->entry, err, errlen) != MXP_OK)
            return MXP_ERR_INVALID;
        if (choose_checks(a, tc, &p->checks, &p->n_checks, err, errlen) !=
            MXP_OK)
            return MXP_ERR_CONFIG;
    }
    return MXP_OK;
}

/* Every entry's checks, each name once, in order of first mention: these
 * are loaded and init()ed once and serve every entry. */
static int union_checks(struct app *a)
{
    size_t i, j, k;

    for (i = 0; i < a->n_plan; i++) {
        for (j = 0; j < a->plan[i].n_checks; j++) {
            const char *name = a->plan[i].checks[j];
            char **v;

            for (k = 0; k < a->n_checks; k++)
                if (strcmp(a->checks[k], name) == 0)
                    break;
            if (k < a->n_checks)
                continue;
            v = realloc(a->checks, (a->n_checks + 1) * sizeof(*v));
            if (v == NULL)
                return MXP_ERR_NOMEM;
            a->checks = v;
            if ((v[a->n_checks] = strdup(name)) == NULL)
                return MXP_ERR_NOMEM;
            a->n_checks++;
        }
    }
    return MXP_OK;
}

/* Each entry's checks as slots, out of the loaded ones (a check left out
 * by init() is left out of every entry). */
static int entry_slots(struct app *a, size_t *max_slots)
{
    size_t i, j, k;

    *max_slots = 0;
    for (i = 0; i < a->n_plan; i++) {
        struct plan *p = &a->plan[i];

        p->se.slots = calloc(p->n_checks + 1, sizeof(*p->se.slots));
        if (p->se.slots == NULL)
            return MXP_ERR_NOMEM;
        for (j = 0; j < p->n_checks; j++)
            for (k = 0; k < a->n_slots; k++)
                if (strcmp(a->slots[k].lp.name, p->checks[j]) == 0) {
                    p->se.slots[p->se.n_slots++] = &a->slots[k];
                    break;
                }
        if (p->se.n_slots > *max_slots)
            *max_slots = p->se.n_slots;
    }
    return MXP_OK;
}

static void stream_settings(const struct app *a, struct mxp_stream_settings *ss)
{
    const char *nc = getenv("NO_COLOR");
    int tty = isatty(STDOUT_FILENO);
    size_t i;

    memset(ss, 0, sizeof(*ss));
    ss->format = a->cli.format;
    if (ss->format == MXP_FORMAT_AUTO)
        ss->format = tty ? MXP_FORMAT_TEXT : MXP_FORMAT_NAGIOS;
    ss->verbosity = a->cli.verbosity;
    ss->color = tty && (nc == NULL || nc[0] == '\0');
    /* One plugin column for all targets, so that the lines align. */
    for (i = 0; i < a->n_slots; i++)
        if (strlen(a->slots[i].lp.name) + 2 > ss->plugin_col)
            ss->plugin_col = strlen(a->slots[i].lp.name) + 2;
    /* -H HOST is one service: one status line for the host, whatever
     * the number of its addresses; everything else is a run of many. */
    ss->nagios_form = (!a->cli.all && a->cli.host != NULL &&
                       a->plan[0].se.entry.kind == MXP_ENTRY_HOST)
                          ? MXP_NAGIOS_HOST
                          : MXP_NAGIOS_MULTI;
    ss->progress = ss->format == MXP_FORMAT_TEXT && !a->cli.quiet &&
                   isatty(STDERR_FILENO);
    ss->out = stdout;
    ss->err = stderr;
}

static int run(struct app *a, int argc, char **argv)
{
    char err[1024];
    const char *path;
    struct mxp_stream_settings ss;
    struct mxp_sched_settings sch;
    struct mxp_expand_settings xs;
    struct mxp_stream *stream;
    struct mxp_sched_entry *ents;
    double start = mxp_now();
    size_t i, max_slots, jobs;
    enum mxp_state worst;
    int rc, floor;

    err[0] = '\0';
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
    if (mxp_dns_global_init() != MXP_OK)
        return fail("cannot initialise the DNS library");
    a->dirs = mxp_plugin_dirs();
    if (a->dirs == NULL)
        return fail("out of memory");
    if (a->cli.list_plugins) {
        struct list_state ls = {0, a->cli.verbosity > 0};
        mxp_plugin_list(a->dirs, list_one, &ls);
        if (ls.found == 0) {
            printf("no plugins found in:");
            for (i = 0; a->dirs[i] != NULL; i++)
                printf(" %s", a->dirs[i]);
            printf("\n");
            return EXIT_UNKNOWN;
        }
        return 0;
    }
    path = mxp_config_path(a->cli.config, getenv("MXPROBE_CONFIG"),
                           MXP_CONFIG_FILE);
    if (mxp_config_load(path, a->cli.sets, a->cli.n_sets, &a->cfg, err,
                        sizeof(err)) != MXP_OK)
        return fail(err);
    for (i = 0; i < a->cli.n_dns_servers; i++)
        if (mxp_dns_server_check(a->cli.dns_servers[i], err, sizeof(err)) !=
            MXP_OK)
            return fail(err);

    a->run.cfg = a->cfg;
    a->run.verbosity = a->cli.verbosity;
    a->run.family = a->cli.family;
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

    if (plan_entries(a, err, sizeof(err)) != MXP_OK ||
        union_checks(a) != MXP_OK)
        return fail(err[0] ? err : "out of memory");
    if ((a->cli.warning || a->cli.critical) && a->n_checks != 1)
        return fail("-w/-c apply to a single check: add -C NAME, or set "
                    "plugins.NAME.warning/critical in the config");
    /* The plugins that run are loaded once, and serve the check of every
     * plugins: section too; the others are loaded for that check only. */
    if (load_slots(a, err, sizeof(err)) != MXP_OK ||
        check_plugin_sections(a, err, sizeof(err)) != MXP_OK ||
        init_slots(a, err, sizeof(err)) != MXP_OK)
        return fail(err);
    if (entry_slots(a, &max_slots) != MXP_OK)
        return fail("out of memory");

    /* What the plugins opened in init() stays below; the pipes of the
     * runs, the expander's and the submitter's come above and are closed
     * in every plugin child. */
    floor = mxp_runner_fd_watermark();
    mxp_runner_set_fd_floor(floor);
    if (a->cli.submit != NULL &&
        mxp_submit_start(a->cli.submit, &a->cfg->submit, &a->submit, err,
                         sizeof(err)) != MXP_OK)
        return fail(err);
    jobs = mxp_sched_fit_jobs(a->cli.jobs, max_slots, floor);
    if (jobs < a->cli.jobs)
        fprintf(stderr,
                "mxprobe: note: the open-file limit allows %zu targets at "
                "once, not %u (-j): raise it with ulimit -n\n",
                jobs, a->cli.jobs);

    memset(&xs, 0, sizeof(xs));
    xs.dns = a->run.dns;
    xs.family = a->cli.family;
    xs.scan_rate = a->cfg->scan_rate;
    xs.connect_timeout = a->cfg->scan_timeout;
    xs.dns_deadline = a->cli.timeout;
    stream_settings(a, &ss);
    stream = mxp_stream_new(&ss);
    if (stream == NULL)
        return fail("out of memory");
    memset(&sch, 0, sizeof(sch));
    sch.run = &a->run;
    sch.expand = &xs;
    sch.jobs = jobs;
    sch.timeout = a->cli.timeout;
    /* -H HOST answers Nagios within -t, every address included. */
    if (ss.nagios_form == MXP_NAGIOS_HOST)
        sch.run_deadline =
            start + a->cli.timeout - fmin(0.1, a->cli.timeout * 0.05);
    sch.submit = a->submit;
    sch.service = a->cfg->submit.service;
    sch.verbosity = a->cli.verbosity;
    sch.out = stream;
    /* The entries side by side: a plan holds more than its entry. */
    ents = calloc(a->n_plan ? a->n_plan : 1, sizeof(*ents));
    if (ents == NULL)
        return fail("out of memory");
    for (i = 0; i < a->n_plan; i++)
        ents[i] = a->plan[i].se;
    rc = mxp_schedule(ents, a->n_plan, &sch);
    free(ents);
    (void)rc; /* whatever failed is in the reports already */
    worst = mxp_stream_state(stream);
    if (mxp_stream_finish(stream) != MXP_OK) {
        /* The nagios report is written at once at the end, so nothing of
         * it went out (out of memory) or stdout is broken. */
        printf("MXPROBE UNKNOWN - could not write the report\n");
        worst = MXP_STATE_UNKNOWN;
    }
    if (a->submit != NULL) {
        /* The submitter gets 30 s to hand over what is left; -H HOST
         * stays within -t, which Nagios enforces on the whole process. */
        double wait = ss.nagios_form == MXP_NAGIOS_HOST
                          ? fmax(1, start + a->cli.timeout - mxp_now())
                          : 30;
        size_t failed = mxp_submit_finish(a->submit, mxp_now() + wait);

        a->submit = NULL;
        if (failed > 0)
            fprintf(stderr,
                    "mxprobe: submit: %zu result%s did not reach %s\n",
                    failed, failed == 1 ? "" : "s", a->cli.submit);
    }
    return (int)worst;
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
