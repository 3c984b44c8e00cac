/*
 * config.c - load, override (--set) and validate the mxprobe config.
 *
 * Exports mxp_config_load/free and mxp_config_plugin (config.h).  The
 * tree comes from yaml.c; this file knows the schema of DESIGN.md section
 * 4: probe:, checks:, plugins: (shapes only: the core checks each
 * plugin's keys once the plugins are loaded) and targets:.  Every error is
 * one line that starts with the position of the offending node.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "config.h"
#include "dns.h"
#include "expand.h"
#include "names.h"

static const char builtin_name[] = "<built-in>";
static const char set_name[] = "--set";

/* ---- small helpers ---------------------------------------------------- */

static int pos_error(const struct mxp_pos *p, char *err, size_t errlen,
                     const char *fmt, ...) MXP_PRINTF(4, 5);
static int pos_error(const struct mxp_pos *p, char *err, size_t errlen,
                     const char *fmt, ...)
{
    va_list ap;
    int off;

    if (err == NULL || errlen == 0)
        return MXP_ERR_CONFIG;
    off = snprintf(err, errlen, "%s:%d:%d: ", p->file, p->line, p->col);
    if (off >= 0 && (size_t)off < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
        va_end(ap);
    }
    return MXP_ERR_CONFIG;
}

static int plain_error(char *err, size_t errlen, const char *fmt, ...)
    MXP_PRINTF(3, 4);
static int plain_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return MXP_ERR_CONFIG;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return MXP_ERR_CONFIG;
}

/* Text the operator wrote, safe to put in a one-line message. */
static const char *shown(const char *s, char *buf, size_t len)
{
    size_t j = 0;

    for (; *s != '\0' && j + 4 < len; s++)
        buf[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (*s != '\0' && len >= 4) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

static const char *kind_text(const struct mxp_node *n, char *buf, size_t len)
{
    char tmp[64];

    if (n->kind == MXP_NODE_SEQ)
        return "a list";
    if (n->kind == MXP_NODE_MAP)
        return "a mapping";
    if (n->is_null)
        return "nothing";
    snprintf(buf, len, "'%s'", shown(n->str, tmp, sizeof(tmp)));
    return buf;
}

/* Plugin names become file names (<dir>/<name>.so): no '/', no '.'. */
static int is_plugin_name(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 64)
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* Names and addresses end up on SMTP command lines: no blanks, no control
 * bytes (no CRLF injection), no angle brackets, bounded. */
static int is_token(const char *s, size_t max)
{
    size_t len = strlen(s);

    if (len == 0 || len > max)
        return 0;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
            *s == '<' || *s == '>')
            return 0;
    return 1;
}

static int dup_to(char **dst, const char *s)
{
    char *d = strdup(s);

    if (d == NULL)
        return MXP_ERR_NOMEM;
    free(*dst);
    *dst = d;
    return MXP_OK;
}

/* ---- --set ------------------------------------------------------------ */

static struct mxp_node *empty_map(const struct mxp_pos *at)
{
    struct mxp_node *n = calloc(1, sizeof(*n));

    if (n == NULL)
        return NULL;
    n->kind = MXP_NODE_MAP;
    n->file = at->file;
    n->line = at->line;
    n->col = at->col;
    return n;
}

/* Sets map[key] = value, replacing any value there.  Takes value on
 * success only. */
static int map_put(struct mxp_node *map, const char *key,
                   const struct mxp_pos *kpos, struct mxp_node *value)
{
    struct mxp_node **items;
    struct mxp_pos *pos;
    char **keys;
    char *k;

    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            mxp_node_free(map->items[i]);
            map->items[i] = value;
            map->key_pos[i] = *kpos;
            return MXP_OK;
        }
    }
    k = strdup(key);
    if (k == NULL)
        return MXP_ERR_NOMEM;
    items = realloc(map->items, (map->n + 1) * sizeof(*items));
    if (items != NULL)
        map->items = items;
    keys = realloc(map->keys, (map->n + 1) * sizeof(*keys));
    if (keys != NULL)
        map->keys = keys;
    pos = realloc(map->key_pos, (map->n + 1) * sizeof(*pos));
    if (pos != NULL)
        map->key_pos = pos;
    if (items == NULL || keys == NULL || pos == NULL) {
        free(k);
        return MXP_ERR_NOMEM;
    }
    map->items[map->n] = value;
    map->keys[map->n] = k;
    map->key_pos[map->n] = *kpos;
    map->n++;
    return MXP_OK;
}

/* map[key] as a mapping, made when missing (or null). */
static int map_sub(struct mxp_node *map, const char *key, const char *what,
                   const struct mxp_pos *at, struct mxp_node **out, char *err,
                   size_t errlen)
{
    char buf[80];
    struct mxp_node *sub;
    int rc;

    for (size_t i = 0; i < map->n; i++) {
        sub = map->items[i];
        if (strcmp(map->keys[i], key) != 0)
            continue;
        if (sub->kind == MXP_NODE_MAP) {
            *out = sub;
            return MXP_OK;
        }
        if (!(sub->kind == MXP_NODE_SCALAR && sub->is_null))
            return mxp_node_error(sub, err, errlen,
                                  "%s: expected a mapping, got %s", what,
                                  kind_text(sub, buf, sizeof(buf)));
        break;
    }
    sub = empty_map(at);
    if (sub == NULL)
        return MXP_ERR_NOMEM;
    rc = map_put(map, key, at, sub);
    if (rc != MXP_OK) {
        mxp_node_free(sub);
        return rc;
    }
    *out = sub;
    return MXP_OK;
}

static int apply_set(struct mxp_node *root, const char *arg, char *err,
                     size_t errlen)
{
    const char *dot = strchr(arg, '.');
    const char *eq = strchr(arg, '=');
    struct mxp_pos at = {set_name, 1, 1}, kpos;
    struct mxp_node *map, *value = NULL;
    char *section = NULL, *key = NULL, what[200], tmp[128];
    int rc;

    if (dot == NULL || eq == NULL || dot > eq || dot == arg || eq == dot + 1)
        return plain_error(err, errlen,
                           "--set '%s': expected SECTION.KEY=VALUE",
                           shown(arg, tmp, sizeof(tmp)));
    section = strndup(arg, (size_t)(dot - arg));
    key = strndup(dot + 1, (size_t)(eq - dot - 1));
    if (section == NULL || key == NULL) {
        rc = MXP_ERR_NOMEM;
        goto done;
    }
    kpos.file = set_name;
    kpos.line = 1;
    kpos.col = (int)(dot - arg) + 2;
    rc = mxp_yaml_parse_value(set_name, eq + 1, strlen(eq + 1),
                              (int)(eq - arg) + 1, &value, err, errlen);
    if (rc != MXP_OK)
        goto done;
    if (strcmp(section, "probe") == 0) {
        rc = map_sub(root, "probe", "probe", &at, &map, err, errlen);
    } else {
        if (!is_plugin_name(section)) {
            rc = plain_error(
                err, errlen, "--set '%s': '%.*s' is not a plugin name",
                shown(arg, tmp, sizeof(tmp)), (int)(dot - arg), tmp);
            goto done;
        }
        rc = map_sub(root, "plugins", "plugins", &at, &map, err, errlen);
        snprintf(what, sizeof(what), "plugins.%s", section);
        if (rc == MXP_OK)
            rc = map_sub(map, section, what, &at, &map, err, errlen);
    }
    if (rc != MXP_OK)
        goto done;
    rc = map_put(map, key, &kpos, value);
    if (rc == MXP_OK)
        value = NULL;
done:
    if (rc == MXP_ERR_NOMEM)
        plain_error(err, errlen, "--set: out of memory");
    mxp_node_free(value);
    free(section);
    free(key);
    return rc;
}

/* ---- validation ------------------------------------------------------- */

/* Seconds in (0, max]; fractions allowed. */
static int get_seconds(const struct mxp_node *n, const char *what, double max,
                       double *out, char *err, size_t errlen)
{
    char buf[80];
    double v;
    int rc;

    /* The generic reader does the parsing; the message is ours. */
    rc = mxp_node_to_double(n, what, -1e300, 1e300, &v, NULL, 0);
    if (rc != MXP_OK || v <= 0)
        return mxp_node_error(n, err, errlen,
                              "%s: expected a number of seconds > 0, got %s",
                              what, kind_text(n, buf, sizeof(buf)));
    if (v > max)
        return mxp_node_error(n, err, errlen, "%s: at most %g seconds, got %s",
                              what, max, kind_text(n, buf, sizeof(buf)));
    *out = v;
    return MXP_OK;
}

static int get_token(const struct mxp_node *n, const char *what,
                     const char *expected, size_t max, char **out, char *err,
                     size_t errlen)
{
    char buf[80];

    if (n->kind != MXP_NODE_SCALAR || !is_token(n->str, max))
        return mxp_node_error(n, err, errlen, "%s: expected %s, got %s", what,
                              expected, kind_text(n, buf, sizeof(buf)));
    return dup_to(out, n->str);
}

static int get_names(const struct mxp_node *n, const char *what, char ***out,
                     size_t *n_out, char *err, size_t errlen)
{
    char buf[80];
    int rc;

    rc = mxp_node_to_string_list(n, what, out, n_out, err, errlen);
    if (rc != MXP_OK)
        return rc;
    for (size_t i = 0; i < *n_out; i++) {
        const struct mxp_node *item = n->kind == MXP_NODE_SEQ ? n->items[i] : n;
        if (!is_plugin_name((*out)[i]))
            return mxp_node_error(item, err, errlen,
                                  "%s: expected a plugin name, got %s", what,
                                  kind_text(item, buf, sizeof(buf)));
    }
    return MXP_OK;
}

static int load_probe(struct mxp_config *cfg, const struct mxp_node *probe,
                      char *err, size_t errlen)
{
    char buf[80], msg[200];
    long tries;
    int rc = MXP_OK;

    if (probe->kind == MXP_NODE_SCALAR && probe->is_null)
        return MXP_OK;
    if (probe->kind != MXP_NODE_MAP)
        return mxp_node_error(probe, err, errlen,
                              "probe: expected a mapping, got %s",
                              kind_text(probe, buf, sizeof(buf)));
    for (size_t i = 0; i < probe->n && rc == MXP_OK; i++) {
        const char *k = probe->keys[i];
        const struct mxp_node *v = probe->items[i];

        /* "key:" with no value is the same as leaving the key out. */
        if (v->kind == MXP_NODE_SCALAR && v->is_null &&
            strcmp(k, "my_email") != 0)
            continue;
        if (strcmp(k, "helo_name") == 0) {
            rc = get_token(v, "probe.helo_name", "a host name", 255,
                           &cfg->helo_name, err, errlen);
        } else if (strcmp(k, "mail_from") == 0) {
            rc = get_token(v, "probe.mail_from", "a mail address", 254,
                           &cfg->mail_from, err, errlen);
        } else if (strcmp(k, "my_email") == 0) {
            if (v->kind == MXP_NODE_SCALAR && v->str[0] == '\0')
                rc = dup_to(&cfg->my_email, "");
            else if (v->kind == MXP_NODE_SCALAR && strchr(v->str, '@'))
                rc = get_token(v, "probe.my_email", "a mail address", 254,
                               &cfg->my_email, err, errlen);
            else
                rc = mxp_node_error(v, err, errlen,
                                    "probe.my_email: expected a mail "
                                    "address or '', got %s",
                                    kind_text(v, buf, sizeof(buf)));
        } else if (strcmp(k, "connect_timeout") == 0) {
            rc = get_seconds(v, "probe.connect_timeout", 3600,
                             &cfg->connect_timeout, err, errlen);
        } else if (strcmp(k, "command_timeout") == 0) {
            rc = get_seconds(v, "probe.command_timeout", 3600,
                             &cfg->command_timeout, err, errlen);
        } else if (strcmp(k, "dns_timeout") == 0) {
            rc = get_seconds(v, "probe.dns_timeout", 60, &cfg->dns_timeout, err,
                             errlen);
        } else if (strcmp(k, "dns_tries") == 0) {
            rc = mxp_node_to_long(v, "probe.dns_tries", 1, 10, &tries, err,
                                  errlen);
            if (rc == MXP_OK)
                cfg->dns_tries = (int)tries;
        } else if (strcmp(k, "scan_rate") == 0) {
            /* Connects started per second by a CIDR sweep: above 10000
             * a sweep is a flood, whoever's network it is. */
            rc = mxp_node_to_double(v, "probe.scan_rate", 1, 10000,
                                    &cfg->scan_rate, err, errlen);
        } else if (strcmp(k, "scan_timeout") == 0) {
            rc = get_seconds(v, "probe.scan_timeout", 60, &cfg->scan_timeout,
                             err, errlen);
        } else if (strcmp(k, "dns_servers") == 0) {
            mxp_string_list_free(cfg->dns_servers, cfg->n_dns_servers);
            cfg->dns_servers = NULL;
            cfg->n_dns_servers = 0;
            rc = mxp_node_to_string_list(v, "probe.dns_servers",
                                         &cfg->dns_servers, &cfg->n_dns_servers,
                                         err, errlen);
            for (size_t j = 0; rc == MXP_OK && j < cfg->n_dns_servers; j++) {
                const struct mxp_node *item =
                    v->kind == MXP_NODE_SEQ ? v->items[j] : v;
                msg[0] = '\0';
                if (mxp_dns_server_check(cfg->dns_servers[j], msg,
                                         sizeof(msg)) != MXP_OK)
                    rc = mxp_node_error(item, err, errlen,
                                        "probe.dns_servers: %s",
                                        msg[0] ? msg : "not an address");
            }
        } else {
            rc = pos_error(&probe->key_pos[i], err, errlen,
                           "probe: unknown key '%s'",
                           shown(k, buf, sizeof(buf)));
        }
    }
    return rc;
}

static int load_plugins(struct mxp_config *cfg, struct mxp_node *plugins,
                        char *err, size_t errlen)
{
    char buf[80], name[80];

    if (plugins->kind == MXP_NODE_SCALAR && plugins->is_null)
        return MXP_OK;
    if (plugins->kind != MXP_NODE_MAP)
        return mxp_node_error(plugins, err, errlen,
                              "plugins: expected a mapping of plugin names "
                              "to their settings, got %s",
                              kind_text(plugins, buf, sizeof(buf)));
    for (size_t i = 0; i < plugins->n; i++) {
        struct mxp_node *v = plugins->items[i];

        if (!is_plugin_name(plugins->keys[i]))
            return pos_error(&plugins->key_pos[i], err, errlen,
                             "plugins: '%s' is not a plugin name",
                             shown(plugins->keys[i], name, sizeof(name)));
        if (v->kind == MXP_NODE_SCALAR && v->is_null) {
            /* "dnsbl:" alone: the plugin sees an empty mapping. */
            free(v->str);
            v->str = NULL;
            v->kind = MXP_NODE_MAP;
            v->plain = v->is_null = 0;
        } else if (v->kind != MXP_NODE_MAP) {
            return mxp_node_error(
                v, err, errlen, "plugins.%s: expected a mapping, got %s",
                plugins->keys[i], kind_text(v, buf, sizeof(buf)));
        }
    }
    cfg->plugins = plugins;
    return MXP_OK;
}

/* A Nagios service name: it goes into an external command line, where
 * ';' separates fields and a newline ends the command. */
static int get_service(const struct mxp_node *n, const char *what, char **out,
                       char *err, size_t errlen)
{
    char buf[80];
    const char *s = n->str;
    size_t i;

    if (n->kind != MXP_NODE_SCALAR || n->is_null || s[0] == '\0')
        return mxp_node_error(n, err, errlen,
                              "%s: expected a service name, got %s", what,
                              kind_text(n, buf, sizeof(buf)));
    for (i = 0; s[i] != '\0'; i++)
        if (s[i] == ';' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return mxp_node_error(n, err, errlen,
                                  "%s: a service name cannot hold %s", what,
                                  s[i] == ';' ? "';'" : "a control character");
    if (i > 255)
        return mxp_node_error(n, err, errlen,
                              "%s: a service name has at most 255 bytes", what);
    return dup_to(out, s);
}

/* One of targets:; host: or, without it, domain: says its kind
 * (config.h), and its text is checked as the expander will read it. */
static int load_target(struct mxp_target_config *t, const struct mxp_node *m,
                       size_t idx, char *err, size_t errlen)
{
    const struct mxp_node *host_node = NULL, *domain_node = NULL;
    char what[128], buf[80], msg[256];
    struct mxp_entry e;
    long port;
    int rc = MXP_OK;

    if (m->kind != MXP_NODE_MAP)
        return mxp_node_error(m, err, errlen,
                              "targets[%zu]: expected a mapping with host: "
                              "or domain:, got %s",
                              idx, kind_text(m, buf, sizeof(buf)));
    t->pos.file = m->file;
    t->pos.line = m->line;
    t->pos.col = m->col;
    for (size_t i = 0; i < m->n && rc == MXP_OK; i++) {
        const char *k = m->keys[i];
        const struct mxp_node *v = m->items[i];

        snprintf(what, sizeof(what), "targets[%zu].%s", idx, shown(k, buf, 40));
        if (strcmp(k, "host") == 0) {
            host_node = v;
            rc = get_token(v, what, "a host name, address or CIDR block", 255,
                           &t->host, err, errlen);
        } else if (strcmp(k, "domain") == 0) {
            if (!(v->kind == MXP_NODE_SCALAR && v->is_null)) {
                domain_node = v;
                rc = get_token(v, what, "a domain name", 255, &t->domain, err,
                               errlen);
            }
            if (rc == MXP_OK && t->domain != NULL &&
                !mxp_is_domain_name(t->domain))
                rc = mxp_node_error(v, err, errlen,
                                    "%s: '%s' is not a "
                                    "domain name",
                                    what, t->domain);
        } else if (strcmp(k, "port") == 0) {
            rc = mxp_node_to_long(v, what, 1, 65535, &port, err, errlen);
            if (rc == MXP_OK)
                t->port = (unsigned)port;
        } else if (strcmp(k, "checks") == 0) {
            if (!(v->kind == MXP_NODE_SCALAR && v->is_null))
                rc = get_names(v, what, &t->checks, &t->n_checks, err, errlen);
        } else if (strcmp(k, "service") == 0) {
            rc = get_service(v, what, &t->service, err, errlen);
        } else {
            rc = pos_error(&m->key_pos[i], err, errlen,
                           "targets[%zu]: unknown key '%s'", idx,
                           shown(k, buf, sizeof(buf)));
        }
    }
    if (rc != MXP_OK)
        return rc;
    if (t->host == NULL && t->domain == NULL)
        return mxp_node_error(m, err, errlen,
                              "targets[%zu]: needs host: (a server, or a "
                              "CIDR block to sweep) or domain: (every MX "
                              "of a mail domain)",
                              idx);
    if (t->host != NULL) {
        e.kind = mxp_entry_kind_of(t->host);
        e.text = t->host;
    } else {
        e.kind = MXP_ENTRY_DOMAIN;
        e.text = t->domain;
    }
    e.port = t->port;
    t->kind = e.kind;
    msg[0] = '\0';
    if (mxp_entry_check(&e, msg, sizeof(msg)) != MXP_OK)
        return mxp_node_error(host_node != NULL ? host_node : domain_node, err,
                              errlen, "targets[%zu].%s: %s", idx,
                              host_node != NULL ? "host" : "domain", msg);
    return MXP_OK;
}

static int load_targets(struct mxp_config *cfg, const struct mxp_node *list,
                        char *err, size_t errlen)
{
    char buf[80];
    int rc;

    if (list->kind == MXP_NODE_SCALAR && list->is_null)
        return MXP_OK;
    if (list->kind != MXP_NODE_SEQ)
        return mxp_node_error(list, err, errlen,
                              "targets: expected a list of targets, got %s",
                              kind_text(list, buf, sizeof(buf)));
    if (list->n == 0)
        return MXP_OK;
    cfg->targets = calloc(list->n, sizeof(*cfg->targets));
    if (cfg->targets == NULL)
        return MXP_ERR_NOMEM;
    for (size_t i = 0; i < list->n; i++) {
        /* Counted first so mxp_config_free sees a half-filled entry. */
        cfg->n_targets = i + 1;
        rc = load_target(&cfg->targets[i], list->items[i], i, err, errlen);
        if (rc != MXP_OK)
            return rc;
    }
    return MXP_OK;
}

/* ---- submit: (passive results, submit.h) ----------------------------- */

/* A name Nagios or Icinga knows the service by: printable, no ';' (the
 * command file's separator), at most 255 bytes; spaces are fine. */
static int get_service_name(const struct mxp_node *n, const char *what,
                            char **out, char *err, size_t errlen)
{
    char buf[80];
    int ok = n->kind == MXP_NODE_SCALAR && !n->is_null && n->str[0] != '\0' &&
             strlen(n->str) <= 255;

    for (const char *p = ok ? n->str : ""; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ';')
            ok = 0;
    if (!ok)
        return mxp_node_error(n, err, errlen,
                              "%s: expected a service name (no ';', no "
                              "control characters, at most 255 bytes), "
                              "got %s",
                              what, kind_text(n, buf, sizeof(buf)));
    return dup_to(out, n->str);
}

/* A file name: a non-empty string; whether it can be read is checked
 * when --submit asks for it. */
static int get_path(const struct mxp_node *n, const char *what, char **out,
                    char *err, size_t errlen)
{
    char buf[80];

    if (n->kind != MXP_NODE_SCALAR || n->is_null || n->str[0] == '\0' ||
        strlen(n->str) > 4095)
        return mxp_node_error(n, err, errlen, "%s: expected a file name, got %s",
                              what, kind_text(n, buf, sizeof(buf)));
    return dup_to(out, n->str);
}

static int load_submit_icinga2(struct mxp_submit_config *sc,
                               const struct mxp_node *m, char *err,
                               size_t errlen)
{
    char buf[80];
    int rc = MXP_OK;

    if (m->kind == MXP_NODE_SCALAR && m->is_null)
        return MXP_OK;
    if (m->kind != MXP_NODE_MAP)
        return mxp_node_error(m, err, errlen,
                              "submit.icinga2: expected a mapping (user, "
                              "password_file, ca_file), got %s",
                              kind_text(m, buf, sizeof(buf)));
    for (size_t i = 0; i < m->n && rc == MXP_OK; i++) {
        const char *k = m->keys[i];
        const struct mxp_node *v = m->items[i];

        if (v->kind == MXP_NODE_SCALAR && v->is_null &&
            (strcmp(k, "user") == 0 || strcmp(k, "password_file") == 0 ||
             strcmp(k, "ca_file") == 0))
            continue;
        if (strcmp(k, "user") == 0)
            rc = get_token(v, "submit.icinga2.user", "an API user name", 255,
                           &sc->icinga2_user, err, errlen);
        else if (strcmp(k, "password_file") == 0)
            rc = get_path(v, "submit.icinga2.password_file",
                          &sc->icinga2_password_file, err, errlen);
        else if (strcmp(k, "ca_file") == 0)
            rc = get_path(v, "submit.icinga2.ca_file", &sc->icinga2_ca_file,
                          err, errlen);
        else
            rc = pos_error(&m->key_pos[i], err, errlen,
                           "submit.icinga2: unknown key '%s' (expected user, "
                           "password_file or ca_file)",
                           shown(k, buf, sizeof(buf)));
    }
    return rc;
}

static int load_submit(struct mxp_config *cfg, const struct mxp_node *m,
                       char *err, size_t errlen)
{
    char buf[80];
    int rc = MXP_OK;

    if (m->kind == MXP_NODE_SCALAR && m->is_null)
        return MXP_OK;
    if (m->kind != MXP_NODE_MAP)
        return mxp_node_error(m, err, errlen,
                              "submit: expected a mapping (service, icinga2), "
                              "got %s",
                              kind_text(m, buf, sizeof(buf)));
    for (size_t i = 0; i < m->n && rc == MXP_OK; i++) {
        const char *k = m->keys[i];
        const struct mxp_node *v = m->items[i];

        if (strcmp(k, "service") == 0) {
            if (!(v->kind == MXP_NODE_SCALAR && v->is_null))
                rc = get_service_name(v, "submit.service",
                                      &cfg->submit.service, err, errlen);
        } else if (strcmp(k, "icinga2") == 0) {
            rc = load_submit_icinga2(&cfg->submit, v, err, errlen);
        } else {
            rc = pos_error(&m->key_pos[i], err, errlen,
                           "submit: unknown key '%s' (expected service or "
                           "icinga2)",
                           shown(k, buf, sizeof(buf)));
        }
    }
    return rc;
}

static int submit_defaults(struct mxp_submit_config *sc)
{
    if ((sc->service == NULL && dup_to(&sc->service, "mxprobe") != MXP_OK) ||
        (sc->icinga2_user == NULL && dup_to(&sc->icinga2_user, "") != MXP_OK) ||
        (sc->icinga2_password_file == NULL &&
         dup_to(&sc->icinga2_password_file, "") != MXP_OK) ||
        (sc->icinga2_ca_file == NULL &&
         dup_to(&sc->icinga2_ca_file, "") != MXP_OK))
        return MXP_ERR_NOMEM;
    return MXP_OK;
}

static void submit_free(struct mxp_submit_config *sc)
{
    free(sc->service);
    free(sc->icinga2_user);
    free(sc->icinga2_password_file);
    free(sc->icinga2_ca_file);
}

/* checks: as the built-in default says, for files that do not say. */
static int default_checks(struct mxp_config *cfg, char *err, size_t errlen)
{
    struct mxp_node *root = NULL;
    const struct mxp_node *checks;
    int rc;

    rc = mxp_yaml_parse(builtin_name, mxp_default_config,
                        mxp_default_config_len, &root, err, errlen);
    if (rc != MXP_OK)
        return rc;
    checks = mxp_node_get(root, "checks");
    if (checks != NULL)
        rc = get_names(checks, "checks", &cfg->checks, &cfg->n_checks, err,
                       errlen);
    mxp_node_free(root);
    return rc;
}

static int fill_defaults(struct mxp_config *cfg)
{
    char host[256];

    if (cfg->helo_name == NULL) {
        /* gethostname() need not NUL-terminate a truncated name. */
        if (gethostname(host, sizeof(host) - 1) != 0)
            host[0] = '\0';
        host[sizeof(host) - 1] = '\0';
        if (dup_to(&cfg->helo_name, is_token(host, 255) ? host : "localhost") !=
            MXP_OK)
            return MXP_ERR_NOMEM;
    }
    if (cfg->mail_from == NULL) {
        size_t len = strlen("postmaster@") + strlen(cfg->helo_name) + 1;

        cfg->mail_from = malloc(len);
        if (cfg->mail_from == NULL)
            return MXP_ERR_NOMEM;
        snprintf(cfg->mail_from, len, "postmaster@%s", cfg->helo_name);
    }
    if (cfg->my_email == NULL && dup_to(&cfg->my_email, "") != MXP_OK)
        return MXP_ERR_NOMEM;
    return MXP_OK;
}

static int validate(struct mxp_config *cfg, char *err, size_t errlen)
{
    struct mxp_node *root = cfg->root;
    int rc = MXP_OK, have_checks = 0;
    char buf[80];

    for (size_t i = 0; i < root->n && rc == MXP_OK; i++) {
        const char *k = root->keys[i];
        struct mxp_node *v = root->items[i];

        if (strcmp(k, "probe") == 0) {
            rc = load_probe(cfg, v, err, errlen);
        } else if (strcmp(k, "checks") == 0) {
            if (v->kind == MXP_NODE_SCALAR && v->is_null)
                continue;
            have_checks = 1;
            rc = get_names(v, "checks", &cfg->checks, &cfg->n_checks, err,
                           errlen);
        } else if (strcmp(k, "plugins") == 0) {
            rc = load_plugins(cfg, v, err, errlen);
        } else if (strcmp(k, "targets") == 0) {
            rc = load_targets(cfg, v, err, errlen);
        } else if (strcmp(k, "submit") == 0) {
            rc = load_submit(cfg, v, err, errlen);
        } else {
            rc = pos_error(&root->key_pos[i], err, errlen,
                           "unknown top-level key '%s' (expected probe, "
                           "checks, plugins, targets or submit)",
                           shown(k, buf, sizeof(buf)));
        }
    }
    if (rc == MXP_OK && !have_checks)
        rc = default_checks(cfg, err, errlen);
    if (rc == MXP_OK)
        rc = fill_defaults(cfg);
    if (rc == MXP_OK)
        rc = submit_defaults(&cfg->submit);
    return rc;
}

/* ---- the API ---------------------------------------------------------- */

int mxp_config_load(const char *path, const char *const *sets, size_t n_sets,
                    struct mxp_config **out, char *err, size_t errlen)
{
    struct mxp_config *cfg;
    char buf[80];
    int rc;

    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        rc = MXP_ERR_NOMEM;
        goto done;
    }
    cfg->connect_timeout = 5;
    cfg->command_timeout = 20;
    cfg->dns_timeout = 2;
    cfg->dns_tries = 2;
    cfg->scan_rate = 100;
    cfg->scan_timeout = 2;
    cfg->source = strdup(path != NULL ? path : builtin_name);
    if (cfg->source == NULL) {
        rc = MXP_ERR_NOMEM;
        goto done;
    }
    if (path != NULL)
        rc = mxp_yaml_parse_file(path, &cfg->root, err, errlen);
    else
        rc = mxp_yaml_parse(builtin_name, mxp_default_config,
                            mxp_default_config_len, &cfg->root, err, errlen);
    if (rc != MXP_OK)
        goto done;
    if (cfg->root->kind != MXP_NODE_MAP) {
        rc = mxp_node_error(cfg->root, err, errlen,
                            "expected a mapping (probe:, checks:, ...) at "
                            "the top level, got %s",
                            kind_text(cfg->root, buf, sizeof(buf)));
        goto done;
    }
    for (size_t i = 0; i < n_sets && rc == MXP_OK; i++)
        rc = apply_set(cfg->root, sets[i], err, errlen);
    if (rc == MXP_OK)
        rc = validate(cfg, err, errlen);
done:
    if (rc == MXP_ERR_NOMEM)
        plain_error(err, errlen, "%s: out of memory",
                    path != NULL ? path : builtin_name);
    if (rc != MXP_OK) {
        mxp_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return MXP_OK;
}

const char *mxp_config_path(const char *given, const char *env,
                            const char *system)
{
    struct stat st;

    if (given != NULL)
        return given;
    if (env != NULL)
        return env[0] != '\0' ? env : NULL;
    /* lstat: a symlink whose target is gone (an unmounted /srv, a
     * typo in ln -s) is the admin's file, not an absent one. */
    if (lstat(system, &st) == 0 || (errno != ENOENT && errno != ENOTDIR))
        return system;
    return NULL;
}

void mxp_config_free(struct mxp_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_targets; i++) {
        free(cfg->targets[i].host);
        free(cfg->targets[i].domain);
        free(cfg->targets[i].service);
        mxp_string_list_free(cfg->targets[i].checks, cfg->targets[i].n_checks);
    }
    free(cfg->targets);
    submit_free(&cfg->submit);
    mxp_string_list_free(cfg->checks, cfg->n_checks);
    mxp_string_list_free(cfg->dns_servers, cfg->n_dns_servers);
    free(cfg->helo_name);
    free(cfg->mail_from);
    free(cfg->my_email);
    free(cfg->source);
    mxp_node_free(cfg->root);
    free(cfg);
}

const struct mxp_node *mxp_config_plugin(const struct mxp_config *cfg,
                                         const char *name)
{
    if (cfg == NULL)
        return NULL;
    return mxp_node_get(cfg->plugins, name);
}

int mxp_node_is_builtin(const struct mxp_node *n)
{
    if (n == NULL)
        return 1;
    if (n->file == NULL || strcmp(n->file, builtin_name) != 0)
        return 0;
    for (size_t i = 0; i < n->n && n->kind != MXP_NODE_SCALAR; i++)
        if (!mxp_node_is_builtin(n->items[i]))
            return 0;
    return 1;
}
