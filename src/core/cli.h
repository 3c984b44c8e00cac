/*
 * cli.h - the command line of DESIGN.md section 2.
 *
 * Parsing only: main.c decides what the options mean together with the
 * config.  Errors are one sentence in err; main prints it and exits 3.
 */
#ifndef MXP_CLI_H
#define MXP_CLI_H

#include <stddef.h>

enum mxp_format { MXP_FORMAT_AUTO, MXP_FORMAT_NAGIOS, MXP_FORMAT_TEXT,
                  MXP_FORMAT_JSON, MXP_FORMAT_OPENMETRICS };

struct mxp_cli {
    const char *host;
    unsigned port; /* 0: not given */
    const char *domain;
    const char *checks;
    const char *warning, *critical;
    double timeout;
    const char *config;
    const char **dns_servers;
    size_t n_dns_servers;
    const char **sets;
    size_t n_sets;
    enum mxp_format format;
    int verbosity;
    int family;         /* 0, or AF_INET (-4) / AF_INET6 (-6) */
    unsigned jobs;      /* -j: targets at once */
    int quiet;          /* -q: no progress line */
    const char *submit; /* --submit DEST, or NULL */
    int all, list_plugins, version, help;
};

#define MXP_JOBS_DEFAULT 16
#define MXP_JOBS_MAX 4096

/* Fills cli from argv (argv strings are borrowed).  MXP_OK or
 * MXP_ERR_INVALID with err set. */
int mxp_cli_parse(int argc, char **argv, struct mxp_cli *cli, char *err,
                  size_t errlen);
void mxp_cli_free(struct mxp_cli *cli);

/* The -h text. */
extern const char mxp_cli_help[];

/* Applies a -C spec to a base list: "a,b" replaces it; "+x" adds and
 * "-x" removes, starting from base when every item is +/-.  Result is a
 * new array of new strings, duplicates dropped. */
int mxp_checks_apply(const char *spec, char *const *base, size_t n_base,
                     char ***out, size_t *n_out, char *err, size_t errlen);
void mxp_strv_free(char **v, size_t n);

#endif
