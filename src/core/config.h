/*
 * config.h - the YAML configuration (DESIGN.md section 4).
 *
 * The file is parsed with libyaml into a tree of nodes that remember their
 * file, line and column, so every error can say "file:line:col: message".
 * The core validates probe:, checks: and targets: itself; each plugin's
 * plugins.<name> mapping is checked against the keys the plugin declares
 * and then handed to the plugin's init().  Without -f, the built-in
 * default (conf/mxprobe.yaml compiled in) serves.
 */
#ifndef MXP_CONFIG_H
#define MXP_CONFIG_H

#include <stddef.h>

#include "mxprobe/plugin.h"

/* Where something was written: file, 1-based line and column. */
struct mxp_pos {
    const char *file;
    int line, col;
};

struct mxp_node {
    enum mxp_node_kind kind;
    char *str;               /* scalar text (NUL-terminated), else NULL */
    size_t n;                /* items in a seq or map */
    struct mxp_node **items; /* seq items, or map values */
    char **keys;             /* map keys (parallel to items) */
    const char *file;        /* shared, owned by the tree's root */
    int line, col;           /* 1-based, where the node starts */
    /* Added for validation: */
    int plain;               /* scalar written unquoted (bools need it) */
    int is_null;             /* plain "", "~", "null": str is then "" */
    struct mxp_pos *key_pos; /* map keys' positions (parallel to keys) */
    char *own_file;          /* the name this node owns (a tree's root);
                                --set values grafted into a tree keep
                                theirs, so file always stays valid */
};

/* Parses YAML text into a tree.  An empty document gives an empty map.
 * Errors (syntax, anchors/aliases, non-scalar keys, duplicate keys) go to
 * err as "name:line:col: message". */
int mxp_yaml_parse(const char *name, const char *text, size_t len,
                   struct mxp_node **out, char *err, size_t errlen);
int mxp_yaml_parse_file(const char *path, struct mxp_node **out, char *err,
                        size_t errlen);
void mxp_node_free(struct mxp_node *n);
/* Like mxp_yaml_parse for one value (a --set VALUE): an empty document
 * gives a null scalar, not a map, and col_shift is added to columns on the
 * first line so positions point into the whole argument. */
int mxp_yaml_parse_value(const char *name, const char *text, size_t len,
                         int col_shift, struct mxp_node **out, char *err,
                         size_t errlen);

const struct mxp_node *mxp_node_get(const struct mxp_node *map,
                                    const char *key);
/* 1 when n and everything under it come from the built-in default
 * config (which the shipped plugins are known to accept). */
int mxp_node_is_builtin(const struct mxp_node *n);
/* "file:line:col" into buf. */
const char *mxp_node_where(const struct mxp_node *n, char *buf, size_t len);
/* The same for a map key's position (struct mxp_node's key_pos). */
const char *mxp_pos_where(const struct mxp_pos *p, char *buf, size_t len);

/* Typed scalar readers: MXP_OK, or MXP_ERR_CONFIG with
 * "file:line:col: KEY: expected ..." in err.  Booleans are plain
 * true/false/yes/no/on/off (any case); numeric bounds are inclusive. */
int mxp_node_to_bool(const struct mxp_node *n, const char *what, int *out,
                     char *err, size_t errlen);
int mxp_node_to_double(const struct mxp_node *n, const char *what,
                       double min, double max, double *out, char *err,
                       size_t errlen);
/* A single scalar or a seq of scalars; a null gives an empty list.  The
 * strings are copies: release with mxp_string_list_free(). */
int mxp_node_to_string_list(const struct mxp_node *n, const char *what,
                            char ***out, size_t *n_out, char *err,
                            size_t errlen);
void mxp_string_list_free(char **list, size_t n);
/* An integer in min..max (inclusive), e.g. a port or a count of tries. */
int mxp_node_to_long(const struct mxp_node *n, const char *what, long min,
                     long max, long *out, char *err, size_t errlen);
/* "file:line:col: " + message into err (one line); returns
 * MXP_ERR_CONFIG so callers can `return mxp_node_error(...)`. */
int mxp_node_error(const struct mxp_node *n, char *err, size_t errlen,
                   const char *fmt, ...) MXP_PRINTF(4, 5);

/* One entry of targets:.  Exactly one of three kinds (issue 11):
 *   host: NAME or ADDRESS       one server, every address of the name
 *   host: CIDR                  the SMTP servers of a netblock (a sweep)
 *   domain: DOMAIN, no host:    every address of every MX of the domain
 * With host:, domain: is the server's mail domain (else guessed). */
enum mxp_entry_kind { MXP_ENTRY_HOST, MXP_ENTRY_CIDR, MXP_ENTRY_DOMAIN };

struct mxp_target_config {
    enum mxp_entry_kind kind;
    char *host;      /* NULL for a domain entry */
    char *domain;    /* NULL when unset; the domain of a domain entry */
    unsigned port;   /* 0 when unset */
    char **checks;   /* NULL when unset */
    size_t n_checks;
    char *service;   /* submit service of its results; NULL: submit.service */
    struct mxp_pos pos; /* where the entry starts, for messages */
};

/* submit: passive results (--submit).  Strings are "" when unset. */
struct mxp_submit_config {
    char *service;          /* default "mxprobe" */
    char *icinga2_user;
    char *icinga2_password_file;
    char *icinga2_ca_file;  /* "": the system's CAs */
};

struct mxp_config {
    struct mxp_node *root;   /* owns the tree */
    char *source;            /* file name, or "<built-in>" */
    char *helo_name, *mail_from, *my_email;
    double connect_timeout, command_timeout;
    char **dns_servers;
    size_t n_dns_servers;
    double dns_timeout; /* seconds per try */
    int dns_tries;
    char **checks;
    size_t n_checks;
    const struct mxp_node *plugins; /* the plugins: map, or NULL */
    struct mxp_target_config *targets;
    size_t n_targets;
    struct mxp_submit_config submit;
    /* probe.scan_*: the connect sweep of a CIDR block */
    double scan_rate;    /* connects started per second, default 100 */
    double scan_timeout; /* seconds per connect, default 2 */
};

/* The built-in default text (conf/mxprobe.yaml). */
extern const char mxp_default_config[];
extern const size_t mxp_default_config_len;

/* The config file of a run: given (-f FILE); else env ($MXPROBE_CONFIG)
 * when it is set (empty: the built-in default, which the tests use so
 * that a system file cannot change what they check); else system (the
 * SYSCONFDIR file, /etc/mxprobe/mxprobe.yaml in the Debian package) when
 * it exists, so that editing the shipped copy takes effect; else NULL, the
 * built-in default.  A system file that exists but cannot be read (a
 * folder, no permission, a symlink to nothing) is returned all the same,
 * so that loading it says the error instead of ignoring the file. */
const char *mxp_config_path(const char *given, const char *env,
                            const char *system);

/* Load and validate.  path NULL means the built-in default.  sets are
 * "SECTION.KEY=VALUE" overrides (--set) applied before validation; SECTION
 * is "probe" or a plugin name (then plugins.SECTION.KEY); VALUE is parsed
 * as YAML (so "[a, b]" is a list).  Errors: one line in err. */
int mxp_config_load(const char *path, const char *const *sets, size_t n_sets,
                    struct mxp_config **out, char *err, size_t errlen);
void mxp_config_free(struct mxp_config *cfg);

/* plugins.<name>, or NULL. */
const struct mxp_node *mxp_config_plugin(const struct mxp_config *cfg,
                                         const char *name);

#endif
