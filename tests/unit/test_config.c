/*
 * test_config.c - the YAML parser (positions, refusals, bounds), the
 * typed readers, mxp_config_load's schema and defaults, --set overrides
 * and the built-in default.  Bad configs are a table of texts and the
 * exact "line:col: message" each must give after "file:".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sys/stat.h>

#include "config.h"

/* Writes text to a fresh temp file; the caller unlinks path. */
static void write_temp(const char *text, size_t len, char *path, size_t pathlen)
{
    int fd;

    snprintf(path, pathlen, "/tmp/mxp_test_config_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Loads text as a file with the given --set list. */
static int load_text(const char *text, const char *const *sets, size_t n_sets,
                     struct mxp_config **cfg, char *path, size_t pathlen,
                     char *err, size_t errlen)
{
    int rc;

    write_temp(text, strlen(text), path, pathlen);
    rc = mxp_config_load(path, sets, n_sets, cfg, err, errlen);
    unlink(path);
    return rc;
}

/* ---- bad configs ------------------------------------------------------ */

static const struct {
    const char *text;
    const char *want; /* after "<file>:"; a prefix of the message */
} bad_table[] = {
    /* syntax, as libyaml words it */
    {"probe: [\n", "2:1: did not find expected node content"},
    {"probe:\n\tconnect_timeout: 5\n",
     "2:1: found character that cannot start any token"},
    {"probe:\n  connect_timeout: 5\n command_timeout: 5\n",
     "3:2: did not find expected key"},
    {"probe: \x01\n", "1:8: control characters are not allowed"},
    {"probe: {helo_name: \"a\\0b\"}\n", "1:20: NUL byte in a value"},
    /* what the parser refuses on purpose */
    {"probe: {connect_timeout: 1, connect_timeout: 2}\n",
     "1:29: duplicate key 'connect_timeout'"},
    {"probe:\n  dns_tries: 2\n  dns_tries: 3\n",
     "3:3: duplicate key 'dns_tries'"},
    {"probe: &p {dns_tries: 2}\n",
     "1:8: anchors and aliases are not supported"},
    {"probe: {dns_tries: 2}\nchecks: *p\n",
     "2:9: anchors and aliases are not supported"},
    {"checks: !!seq [banner]\n", "1:9: tags are not supported"},
    {"? [a]\n: 1\n", "1:3: mapping keys must be scalars"},
    {"probe: {}\n---\nchecks: []\n",
     "2:1: multiple documents are not supported"},
    /* top level */
    {"- banner\n", "1:1: expected a mapping (probe:, checks:, ...) at the "
                   "top level, got a list"},
    {"probe: {}\nfoo: 1\n", "2:1: unknown top-level key 'foo'"},
    /* probe: */
    {"probe: [1]\n", "1:8: probe: expected a mapping, got a list"},
    {"probe:\n  connect_timeout: 5\n  helo: x\n",
     "3:3: probe: unknown key 'helo'"},
    {"probe:\n  connect_timeout: abc\n",
     "2:20: probe.connect_timeout: expected a number of seconds > 0, got "
     "'abc'"},
    {"probe:\n  connect_timeout: -1\n",
     "2:20: probe.connect_timeout: expected a number of seconds > 0, got "
     "'-1'"},
    {"probe:\n  command_timeout: 0\n",
     "2:20: probe.command_timeout: expected a number of seconds > 0, got "
     "'0'"},
    {"probe:\n  command_timeout: [5]\n",
     "2:20: probe.command_timeout: expected a number of seconds > 0, got a "
     "list"},
    {"probe:\n  command_timeout: nan\n",
     "2:20: probe.command_timeout: expected a number of seconds > 0"},
    {"probe:\n  command_timeout: 3600.5\n",
     "2:20: probe.command_timeout: at most 3600 seconds, got '3600.5'"},
    {"probe:\n  dns_timeout: 61\n",
     "2:16: probe.dns_timeout: at most 60 seconds, got '61'"},
    {"probe:\n  dns_tries: 0\n",
     "2:14: probe.dns_tries: expected an integer from 1 to 10, got '0'"},
    {"probe:\n  dns_tries: 2.5\n",
     "2:14: probe.dns_tries: expected an integer from 1 to 10, got '2.5'"},
    {"probe:\n  dns_servers: [127.0.0.1, nameserver]\n",
     "2:28: probe.dns_servers: 'nameserver' is not an IPv4/IPv6 address"},
    {"probe:\n  dns_servers: \"127.0.0.1:0\"\n",
     "2:16: probe.dns_servers: '127.0.0.1:0' is not"},
    {"probe:\n  dns_servers: [[127.0.0.1]]\n",
     "2:17: probe.dns_servers: expected a string, got a list"},
    {"probe:\n  helo_name: \"a b\"\n",
     "2:14: probe.helo_name: expected a host name, got 'a b'"},
    {"probe:\n  mail_from: \"x@y\\r\\nRCPT TO:<z>\"\n",
     "2:14: probe.mail_from: expected a mail address, got 'x@y??RCPT"},
    {"probe:\n  my_email: me\n",
     "2:13: probe.my_email: expected a mail address or '', got 'me'"},
    /* checks: */
    {"checks: [banner, ../x]\n",
     "1:18: checks: expected a plugin name, got '../x'"},
    {"checks: {banner: 1}\n",
     "1:9: checks: expected a list of strings, got a mapping"},
    /* plugins: */
    {"plugins: [dnsbl]\n", "1:10: plugins: expected a mapping of plugin names"},
    {"plugins:\n  dnsbl: 5\n",
     "2:10: plugins.dnsbl: expected a mapping, got '5'"},
    {"plugins:\n  dnsbl:\n  x.so: {}\n",
     "3:3: plugins: 'x.so' is not a plugin name"},
    /* submit: */
    {"submit: [x]\n", "1:9: submit: expected a mapping (service, icinga2), "
                      "got a list"},
    {"submit:\n  sevice: x\n",
     "2:3: submit: unknown key 'sevice' (expected service or icinga2)"},
    {"submit:\n  service: \"a;b\"\n",
     "2:12: submit.service: expected a service name (no ';', no control "
     "characters, at most 255 bytes), got 'a;b'"},
    {"submit:\n  service: [a]\n",
     "2:12: submit.service: expected a service name"},
    {"submit:\n  icinga2: yes\n",
     "2:12: submit.icinga2: expected a mapping (user, password_file, "
     "ca_file), got 'yes'"},
    {"submit:\n  icinga2:\n    user: x\n    password: y\n",
     "4:5: submit.icinga2: unknown key 'password' (expected user, "
     "password_file or ca_file)"},
    {"submit:\n  icinga2:\n    user: \"a b\"\n",
     "3:11: submit.icinga2.user: expected an API user name, got 'a b'"},
    {"submit:\n  icinga2:\n    password_file: [a]\n",
     "3:20: submit.icinga2.password_file: expected a file name, got a list"},
    {"submit:\n  icinga2:\n    ca_file: {}\n",
     "3:14: submit.icinga2.ca_file: expected a file name, got a mapping"},
    /* targets: */
    {"targets: {host: a}\n",
     "1:10: targets: expected a list of targets, got a mapping"},
    {"targets:\n  - mx.example.org\n",
     "2:5: targets[0]: expected a mapping with host: or domain:, got "
     "'mx.example.org'"},
    {"targets:\n  - host: a.example\n  - {port: 25}\n",
     "3:5: targets[1]: needs host: (a server, or a CIDR block to sweep) or "
     "domain: (every MX of a mail domain)"},
    {"targets:\n  - {port: 25, service: smtp}\n",
     "2:5: targets[0]: needs host: (a server, or a CIDR block to sweep) or "
     "domain: (every MX of a mail domain)"},
    {"targets:\n  - host: 192.0.2.1/24\n",
     "2:11: targets[0].host: '192.0.2.1/24' has host bits set: the block is "
     "192.0.2.0/24"},
    {"targets:\n  - host: 10.0.0.0/8\n",
     "2:11: targets[0].host: '10.0.0.0/8' is too big: a block may hold at "
     "most 65536 addresses (/16); split it or check fewer"},
    {"targets:\n  - host: \"2001:db8::/64\"\n",
     "2:11: targets[0].host: '2001:db8::/64' is too big: a block may hold "
     "at most 65536 addresses (/112); split it or check fewer"},
    {"targets:\n  - host: 192.0.2.0/40\n",
     "2:11: targets[0].host: '192.0.2.0/40' is not a CIDR block: the "
     "prefix must be 0..32"},
    {"targets:\n  - host: localhost\n",
     "2:11: targets[0].host: 'localhost' is neither an IP address nor a "
     "host name (like mx.example.org)"},
    {"targets:\n  - domain: 192.0.2.1\n",
     "2:13: targets[0].domain: '192.0.2.1' is not a domain name"},
    {"targets:\n  - domain: example.org\n    service: \"SMTP;x\"\n",
     "3:14: targets[0].service: a service name cannot hold ';'"},
    {"targets:\n  - domain: example.org\n    service: \"SMTP\\nx\"\n",
     "3:14: targets[0].service: a service name cannot hold a control "
     "character"},
    {"targets:\n  - domain: example.org\n    service: \"\"\n",
     "3:14: targets[0].service: expected a service name, got ''"},
    {"targets:\n  - domain: example.org\n    service:\n",
     "3:13: targets[0].service: expected a service name, got"},
    {"targets:\n  - domain: example.org\n    service: [a]\n",
     "3:14: targets[0].service: expected a service name, got a list"},
    /* probe.scan_* */
    {"probe:\n  scan_rate: 0\n",
     "2:14: probe.scan_rate: expected a number from 1 to 10000, got '0'"},
    {"probe:\n  scan_rate: 20000\n",
     "2:14: probe.scan_rate: expected a number from 1 to 10000, got "
     "'20000'"},
    {"probe:\n  scan_rate: fast\n",
     "2:14: probe.scan_rate: expected a number from 1 to 10000, got "
     "'fast'"},
    {"probe:\n  scan_timeout: 0\n",
     "2:17: probe.scan_timeout: expected a number of seconds > 0, got '0'"},
    {"probe:\n  scan_timeout: 61\n",
     "2:17: probe.scan_timeout: at most 60 seconds, got '61'"},
    {"targets:\n  - host: a\n    port: 0\n",
     "3:11: targets[0].port: expected an integer from 1 to 65535, got '0'"},
    {"targets:\n  - host: a\n    port: 65536\n",
     "3:11: targets[0].port: expected an integer from 1 to 65535, got "
     "'65536'"},
    {"targets:\n  - host: a\n    port: smtp\n",
     "3:11: targets[0].port: expected an integer from 1 to 65535"},
    {"targets:\n  - host: a\n    prot: 25\n",
     "3:5: targets[0]: unknown key 'prot'"},
    {"targets:\n  - host: a\n    checks: [dnsbl, 'a b']\n",
     "3:21: targets[0].checks: expected a plugin name, got 'a b'"},
    {"targets:\n  - host: [a]\n",
     "2:11: targets[0].host: expected a host name, address or CIDR block, "
     "got a list"},
};

static void test_bad_configs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_table / sizeof bad_table[0]; i++) {
        struct mxp_config *cfg = (void *)1;
        char path[64], err[512], want[600];
        int rc;

        err[0] = '\0';
        rc = load_text(bad_table[i].text, NULL, 0, &cfg, path, sizeof(path),
                       err, sizeof(err));
        snprintf(want, sizeof(want), "%s:%s", path, bad_table[i].want);
        if (rc != MXP_ERR_CONFIG || cfg != NULL ||
            strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu: rc %d\n  got  \"%s\"\n  want \"%s\"", i, rc,
                     err, want);
        if (strchr(err, '\n') != NULL)
            fail_msg("case %zu: message is not one line: %s", i, err);
    }
}

/* ---- good configs ----------------------------------------------------- */

static const char full_config[] =
    "# every key set\n"
    "probe:\n"
    "  helo_name: probe.example.org\n"
    "  mail_from: check@example.org\n"
    "  my_email: me@example.org\n"
    "  connect_timeout: 2.5\n"
    "  command_timeout: 3600\n"
    "  dns_servers: [127.0.0.1, \"127.0.0.2:5353\", \"[::1]:53\"]\n"
    "  dns_timeout: 0.25\n"
    "  dns_tries: 10\n"
    "  scan_rate: 2.5\n"
    "  scan_timeout: 0.5\n"
    "checks: [banner, dnsbl, relay]\n"
    "plugins:\n"
    "  dnsbl:\n"
    "    zones: [a.example, b.example]\n"
    "    warning: 1\n"
    "  relay:\n"
    "targets:\n"
    "  - host: mx1.example.org\n"
    "    domain: example.org\n"
    "    port: 587\n"
    "    checks: dnsbl\n"
    "  - host: 192.0.2.25\n"
    "  - domain: example.net\n"
    "    service: SMTP servers\n"
    "  -   host: 192.0.2.0/28\n"
    "      port: 2525\n";

static void test_full_config(void **state)
{
    struct mxp_config *cfg;
    const struct mxp_node *p, *zones;
    char path[64], err[512];

    (void)state;
    assert_int_equal(load_text(full_config, NULL, 0, &cfg, path, sizeof(path),
                               err, sizeof(err)),
                     MXP_OK);
    assert_string_equal(cfg->source, path);
    assert_string_equal(cfg->helo_name, "probe.example.org");
    assert_string_equal(cfg->mail_from, "check@example.org");
    assert_string_equal(cfg->my_email, "me@example.org");
    assert_true(cfg->connect_timeout == 2.5);
    assert_true(cfg->command_timeout == 3600);
    assert_true(cfg->dns_timeout == 0.25);
    assert_int_equal(cfg->dns_tries, 10);
    assert_int_equal(cfg->n_dns_servers, 3);
    assert_string_equal(cfg->dns_servers[0], "127.0.0.1");
    assert_string_equal(cfg->dns_servers[1], "127.0.0.2:5353");
    assert_string_equal(cfg->dns_servers[2], "[::1]:53");
    assert_int_equal(cfg->n_checks, 3);
    assert_string_equal(cfg->checks[2], "relay");

    p = mxp_config_plugin(cfg, "dnsbl");
    assert_non_null(p);
    zones = mxp_node_get(p, "zones");
    assert_non_null(zones);
    assert_int_equal(zones->kind, MXP_NODE_SEQ);
    assert_int_equal(zones->n, 2);
    assert_string_equal(zones->items[1]->str, "b.example");
    /* Positions point into the file. */
    assert_string_equal(zones->items[1]->file, path);
    assert_int_equal(zones->items[1]->line, 16);
    assert_int_equal(zones->items[1]->col, 24);
    /* A null plugin value reads as an empty mapping. */
    p = mxp_config_plugin(cfg, "relay");
    assert_non_null(p);
    assert_int_equal(p->kind, MXP_NODE_MAP);
    assert_int_equal(p->n, 0);
    assert_null(mxp_config_plugin(cfg, "tls"));

    assert_int_equal(cfg->n_targets, 4);
    assert_string_equal(cfg->targets[0].host, "mx1.example.org");
    assert_string_equal(cfg->targets[0].domain, "example.org");
    assert_int_equal(cfg->targets[0].port, 587);
    assert_int_equal(cfg->targets[0].n_checks, 1);
    assert_string_equal(cfg->targets[0].checks[0], "dnsbl");
    assert_string_equal(cfg->targets[1].host, "192.0.2.25");
    assert_null(cfg->targets[1].domain);
    assert_int_equal(cfg->targets[1].port, 0);
    assert_null(cfg->targets[1].checks);
    assert_null(cfg->targets[1].service);
    assert_true(cfg->scan_rate == 2.5);
    assert_true(cfg->scan_timeout == 0.5);
    /* The three kinds, and where each entry starts. */
    assert_int_equal(cfg->n_targets, 4);
    assert_int_equal(cfg->targets[0].kind, MXP_ENTRY_HOST);
    assert_int_equal(cfg->targets[1].kind, MXP_ENTRY_HOST);
    assert_int_equal(cfg->targets[2].kind, MXP_ENTRY_DOMAIN);
    assert_null(cfg->targets[2].host);
    assert_string_equal(cfg->targets[2].domain, "example.net");
    assert_string_equal(cfg->targets[2].service, "SMTP servers");
    assert_int_equal(cfg->targets[3].kind, MXP_ENTRY_CIDR);
    assert_string_equal(cfg->targets[3].host, "192.0.2.0/28");
    assert_int_equal(cfg->targets[3].port, 2525);
    assert_string_equal(cfg->targets[0].pos.file, path);
    assert_int_equal(cfg->targets[0].pos.line, 20);
    assert_int_equal(cfg->targets[0].pos.col, 5);
    assert_int_equal(cfg->targets[2].pos.line, 25);
    assert_int_equal(cfg->targets[3].pos.line, 27);
    assert_int_equal(cfg->targets[3].pos.col, 7);
    mxp_config_free(cfg);
}

/* What a file leaves out comes from the defaults; checks: from the
 * built-in config. */
/* The checks of conf/mxprobe.yaml, in its order: what a config that
 * does not say gets. */
static void assert_default_checks(const struct mxp_config *cfg)
{
    static const char *const want[] = {"banner", "relay", "backscatter",
                                       "dnsbl",  "zone",  "tls", "geoip"};

    assert_int_equal(cfg->n_checks, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal(cfg->checks[i], want[i]);
}

static void test_defaults(void **state)
{
    static const char *const texts[] = {
        "",
        "# only a comment\n",
        "---\n",
        "probe:\n",
        "probe:\n  helo_name:\n  dns_servers:\nchecks:\ntargets:\n",
    };
    char host[256], from[300], path[64], err[512];

    (void)state;
    memset(host, 0, sizeof(host));
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    snprintf(from, sizeof(from), "postmaster@%s", host);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct mxp_config *cfg;

        if (load_text(texts[i], NULL, 0, &cfg, path, sizeof(path), err,
                      sizeof(err)) != MXP_OK)
            fail_msg("case %zu: %s", i, err);
        assert_string_equal(cfg->helo_name, host);
        assert_string_equal(cfg->mail_from, from);
        assert_string_equal(cfg->my_email, "");
        assert_true(cfg->connect_timeout == 5);
        assert_true(cfg->command_timeout == 20);
        assert_true(cfg->dns_timeout == 2);
        assert_int_equal(cfg->dns_tries, 2);
        assert_true(cfg->scan_rate == 100);
        assert_true(cfg->scan_timeout == 2);
        assert_int_equal(cfg->n_dns_servers, 0);
        assert_default_checks(cfg);
        assert_int_equal(cfg->n_targets, 0);
        assert_null(cfg->plugins);
        mxp_config_free(cfg);
    }
}

static void test_submit_section(void **state)
{
    struct mxp_config *cfg;
    char path[64], err[512];

    (void)state;
    /* Unset: the service "mxprobe", every icinga2 string "". */
    assert_int_equal(
        load_text("submit:\n", NULL, 0, &cfg, path, sizeof(path), err,
                  sizeof(err)),
        MXP_OK);
    assert_string_equal(cfg->submit.service, "mxprobe");
    assert_string_equal(cfg->submit.icinga2_user, "");
    assert_string_equal(cfg->submit.icinga2_password_file, "");
    assert_string_equal(cfg->submit.icinga2_ca_file, "");
    mxp_config_free(cfg);
    if (load_text("submit:\n  service: SMTP relay\n  icinga2:\n"
                  "    user: mxprobe\n    password_file: /etc/pw\n"
                  "    ca_file: /etc/ca.crt\n",
                  NULL, 0, &cfg, path, sizeof(path), err,
                  sizeof(err)) != MXP_OK)
        fail_msg("%s", err);
    assert_string_equal(cfg->submit.service, "SMTP relay");
    assert_string_equal(cfg->submit.icinga2_user, "mxprobe");
    assert_string_equal(cfg->submit.icinga2_password_file, "/etc/pw");
    assert_string_equal(cfg->submit.icinga2_ca_file, "/etc/ca.crt");
    mxp_config_free(cfg);
    /* The built-in default has them too. */
    assert_int_equal(mxp_config_load(NULL, NULL, 0, &cfg, err, sizeof(err)),
                     MXP_OK);
    assert_string_equal(cfg->submit.service, "mxprobe");
    assert_string_equal(cfg->submit.icinga2_user, "");
    mxp_config_free(cfg);
}

static void test_mail_from_follows_helo(void **state)
{
    struct mxp_config *cfg;
    char path[64], err[512];

    (void)state;
    assert_int_equal(load_text("probe: {helo_name: p.example}\nchecks: []\n",
                               NULL, 0, &cfg, path, sizeof(path), err,
                               sizeof(err)),
                     MXP_OK);
    assert_string_equal(cfg->mail_from, "postmaster@p.example");
    /* An explicit empty list is not "unset". */
    assert_int_equal(cfg->n_checks, 0);
    mxp_config_free(cfg);
}

/* Sections of the built-in default are known to the shipped plugins;
 * one --set value makes a section the operator's, to be checked. */
static void test_builtin_sections(void **state)
{
    static const char *const sets[] = {"relay.deliver=true"};
    struct mxp_config *cfg;
    char err[512] = "";

    (void)state;
    if (mxp_config_load(NULL, sets, 1, &cfg, err, sizeof(err)) != MXP_OK)
        fail_msg("built-in default with --set: %s", err);
    assert_true(mxp_node_is_builtin(mxp_config_plugin(cfg, "dnsbl")));
    assert_true(mxp_node_is_builtin(mxp_config_plugin(cfg, "zone")));
    assert_false(mxp_node_is_builtin(mxp_config_plugin(cfg, "relay")));
    assert_false(mxp_node_is_builtin(cfg->plugins));
    mxp_config_free(cfg);
}

/* The commented targets: example of the built-in config, uncommented,
 * is a valid config of the three kinds (the comment stays true). */
static void test_builtin_targets_example(void **state)
{
    const char *at = strstr(mxp_default_config, "targets: []\n");
    char *text, path[64], err[512] = "";
    struct mxp_config *cfg;
    size_t off, j = 0;

    (void)state;
    assert_non_null(at);
    text = malloc(mxp_default_config_len + 1);
    assert_non_null(text);
    off = (size_t)(at - mxp_default_config);
    memcpy(text, mxp_default_config, off);
    j = off;
    /* Drop "targets: []", then un-comment the lines after it. */
    for (const char *p = at + strlen("targets: []\n"); *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);

        if (n >= 2 && p[0] == '#' && p[1] == ' ') {
            memcpy(text + j, p + 2, n - 2);
            j += n - 2;
        } else {
            memcpy(text + j, p, n);
            j += n;
        }
        p += n;
    }
    text[j] = '\0';
    if (load_text(text, NULL, 0, &cfg, path, sizeof(path), err, sizeof(err)) !=
        MXP_OK)
        fail_msg("the targets: example: %s", err);
    assert_int_equal(cfg->n_targets, 4);
    assert_int_equal(cfg->targets[0].kind, MXP_ENTRY_HOST);
    assert_int_equal(cfg->targets[1].kind, MXP_ENTRY_HOST);
    assert_int_equal(cfg->targets[2].kind, MXP_ENTRY_DOMAIN);
    assert_int_equal(cfg->targets[3].kind, MXP_ENTRY_CIDR);
    assert_non_null(cfg->targets[2].service);
    assert_true(cfg->scan_rate == 100);
    assert_true(cfg->scan_timeout == 2);
    mxp_config_free(cfg);
    free(text);
}

static void test_builtin_default(void **state)
{
    struct mxp_config *cfg;
    const struct mxp_node *dnsbl, *w, *c;
    char err[512] = "";

    (void)state;
    if (mxp_config_load(NULL, NULL, 0, &cfg, err, sizeof(err)) != MXP_OK)
        fail_msg("built-in default: %s", err);
    assert_string_equal(cfg->source, "<built-in>");
    assert_default_checks(cfg);
    assert_true(cfg->connect_timeout == 5);
    assert_true(cfg->command_timeout == 20);
    assert_int_equal(cfg->n_dns_servers, 0);
    assert_string_equal(cfg->my_email, "");
    assert_int_equal(cfg->n_targets, 0);
    dnsbl = mxp_config_plugin(cfg, "dnsbl");
    assert_non_null(dnsbl);
    w = mxp_node_get(dnsbl, "warning");
    c = mxp_node_get(dnsbl, "critical");
    assert_non_null(w);
    assert_non_null(c);
    assert_string_equal(w->str, "0");
    assert_string_equal(c->str, "2"); /* three lists, not two */
    assert_string_equal(w->file, "<built-in>");
    /* Delivery tests stay off unless the operator turns them on. */
    assert_string_equal(
        mxp_node_get(mxp_config_plugin(cfg, "relay"), "deliver")->str,
        "false");
    assert_string_equal(
        mxp_node_get(mxp_config_plugin(cfg, "backscatter"), "deliver")->str,
        "false");
    /* The commented-out examples must stay commented out. */
    assert_null(mxp_config_plugin(cfg, "geoip"));
    assert_null(mxp_node_get(dnsbl, "zones"));
    /* Certificate problems on port 25 stay warnings unless asked. */
    assert_string_equal(
        mxp_node_get(mxp_config_plugin(cfg, "tls"), "strict")->str, "false");
    mxp_config_free(cfg);
}

/* ---- --set ------------------------------------------------------------ */

static void test_set_overrides(void **state)
{
    static const char *const sets[] = {
        "probe.connect_timeout=7.5",
        "probe.dns_servers=[127.0.0.1, '127.0.0.2:53']",
        "dnsbl.critical=3",
        "dnsbl.zones=[a.example, b.example]",
        "relay.deliver=yes",
        "probe.helo_name=h.example",
        "probe.connect_timeout=8", /* the last one wins */
    };
    const struct mxp_node *dnsbl, *zones, *relay, *deliver;
    struct mxp_config *cfg;
    char err[512] = "";
    int b;

    (void)state;
    if (mxp_config_load(NULL, sets, sizeof sets / sizeof sets[0], &cfg, err,
                        sizeof(err)) != MXP_OK)
        fail_msg("%s", err);
    assert_true(cfg->connect_timeout == 8);
    assert_int_equal(cfg->n_dns_servers, 2);
    assert_string_equal(cfg->dns_servers[1], "127.0.0.2:53");
    assert_string_equal(cfg->helo_name, "h.example");
    assert_string_equal(cfg->mail_from, "postmaster@h.example");

    dnsbl = mxp_config_plugin(cfg, "dnsbl");
    assert_string_equal(mxp_node_get(dnsbl, "critical")->str, "3");
    assert_string_equal(mxp_node_get(dnsbl, "critical")->file, "--set");
    /* untouched keys stay */
    assert_string_equal(mxp_node_get(dnsbl, "warning")->str, "0");
    zones = mxp_node_get(dnsbl, "zones");
    assert_int_equal(zones->kind, MXP_NODE_SEQ);
    assert_int_equal(zones->n, 2);
    assert_string_equal(zones->items[0]->str, "a.example");
    /* "dnsbl.zones=[" puts the list's first item at column 14 */
    assert_int_equal(zones->items[0]->col, 14);
    relay = mxp_config_plugin(cfg, "relay");
    assert_non_null(relay);
    deliver = mxp_node_get(relay, "deliver");
    assert_int_equal(
        mxp_node_to_bool(deliver, "relay.deliver", &b, err, sizeof(err)),
        MXP_OK);
    assert_int_equal(b, 1);
    mxp_config_free(cfg);
}

/* --set on a file that has no probe: or plugins: yet; an empty VALUE
 * means the default. */
static void test_set_creates_sections(void **state)
{
    static const char *const sets[] = {
        "probe.dns_tries=3",
        "tls.min_days=14",
        "probe.helo_name=",
    };
    struct mxp_config *cfg;
    char path[64], err[512];

    (void)state;
    if (load_text("probe:\n  helo_name: x.example\nchecks: [banner]\n", sets, 3,
                  &cfg, path, sizeof(path), err, sizeof(err)) != MXP_OK)
        fail_msg("%s", err);
    assert_int_equal(cfg->dns_tries, 3);
    assert_string_not_equal(cfg->helo_name, "x.example");
    assert_non_null(mxp_config_plugin(cfg, "tls"));
    assert_string_equal(
        mxp_node_get(mxp_config_plugin(cfg, "tls"), "min_days")->str, "14");
    mxp_config_free(cfg);
}

static const struct {
    const char *set;
    const char *want; /* the whole message */
} bad_set_table[] = {
    {"xyz", "--set 'xyz': expected SECTION.KEY=VALUE"},
    {"probe.timeout", "--set 'probe.timeout': expected SECTION.KEY=VALUE"},
    {"probe=5", "--set 'probe=5': expected SECTION.KEY=VALUE"},
    {".x=5", "--set '.x=5': expected SECTION.KEY=VALUE"},
    {"probe.=5", "--set 'probe.=5': expected SECTION.KEY=VALUE"},
    {"a=b.c", "--set 'a=b.c': expected SECTION.KEY=VALUE"},
    {"a/b.y=1", "--set 'a/b.y=1': 'a/b' is not a plugin name"},
    {"probe.connect_timeout=abc",
     "--set:1:23: probe.connect_timeout: expected a number of seconds > 0, "
     "got 'abc'"},
    {"probe.helo=x", "--set:1:7: probe: unknown key 'helo'"},
    {"probe.dns_servers=[127.0.0.1, x]",
     "--set:1:31: probe.dns_servers: 'x' is not an IPv4/IPv6 address with "
     "optional :port (1..65535)"},
    {"probe.dns_tries=[1", "--set:2:1: did not find expected ',' or ']' "
                           "(while parsing a flow sequence at line 1)"},
    {"probe.dns_tries=*a", "--set:1:17: anchors and aliases are not "
                           "supported"},
};

static void test_bad_sets(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_set_table / sizeof bad_set_table[0];
         i++) {
        struct mxp_config *cfg = (void *)1;
        const char *sets[1] = {bad_set_table[i].set};
        char err[512] = "";
        int rc = mxp_config_load(NULL, sets, 1, &cfg, err, sizeof(err));

        if (rc != MXP_ERR_CONFIG || cfg != NULL ||
            strcmp(err, bad_set_table[i].want) != 0)
            fail_msg("case %zu: rc %d\n  got  \"%s\"\n  want \"%s\"", i, rc,
                     err, bad_set_table[i].want);
    }
}

/* A --set into a plugins.<name> that is not a mapping. */
static void test_set_into_scalar(void **state)
{
    static const char *const sets[] = {"dnsbl.warning=1"};
    struct mxp_config *cfg;
    char path[64], err[512], want[600];

    (void)state;
    assert_int_equal(load_text("plugins:\n  dnsbl: off\n", sets, 1, &cfg, path,
                               sizeof(path), err, sizeof(err)),
                     MXP_ERR_CONFIG);
    snprintf(want, sizeof(want),
             "%s:2:10: plugins.dnsbl: expected a mapping, got 'off'", path);
    assert_string_equal(err, want);
}

/* ---- the parser on its own -------------------------------------------- */

static void test_parse_positions(void **state)
{
    static const char text[] = "a:\n"
                               "  b: [x, {c: d}]\n"
                               "  'e': \"f\"\n"
                               "  g: ~\n"
                               "  h: null\n"
                               "  ~: 1\n";
    const struct mxp_node *a, *b, *m;
    struct mxp_node *root;
    char err[256], where[64];

    (void)state;
    assert_int_equal(
        mxp_yaml_parse("t.yaml", text, strlen(text), &root, err, sizeof(err)),
        MXP_OK);
    a = mxp_node_get(root, "a");
    assert_int_equal(a->kind, MXP_NODE_MAP);
    assert_int_equal(a->n, 5);
    assert_int_equal(a->key_pos[1].line, 3);
    assert_int_equal(a->key_pos[1].col, 3);
    b = mxp_node_get(a, "b");
    assert_int_equal(b->line, 2);
    assert_int_equal(b->col, 6);
    m = b->items[1];
    assert_int_equal(m->kind, MXP_NODE_MAP);
    assert_string_equal(
        mxp_node_where(mxp_node_get(m, "c"), where, sizeof(where)),
        "t.yaml:2:14");
    assert_false(mxp_node_get(a, "e")->plain);
    assert_string_equal(mxp_node_get(a, "e")->str, "f");
    /* Null values read as "", null keys keep their text. */
    assert_true(mxp_node_get(a, "g")->is_null);
    assert_string_equal(mxp_node_get(a, "g")->str, "");
    assert_true(mxp_node_get(a, "h")->is_null);
    assert_non_null(mxp_node_get(a, "~"));
    assert_null(mxp_node_get(a, "zz"));
    assert_null(mxp_node_get(b, "x")); /* not a map */
    mxp_node_free(root);
}

static void test_parse_empty(void **state)
{
    struct mxp_node *root;
    char err[256];

    (void)state;
    assert_int_equal(mxp_yaml_parse("e", "", 0, &root, err, sizeof(err)),
                     MXP_OK);
    assert_int_equal(root->kind, MXP_NODE_MAP);
    assert_int_equal(root->n, 0);
    assert_string_equal(root->file, "e");
    mxp_node_free(root);
    /* A --set value: an empty document is a null, not a map. */
    assert_int_equal(
        mxp_yaml_parse_value("v", "", 0, 0, &root, err, sizeof(err)), MXP_OK);
    assert_int_equal(root->kind, MXP_NODE_SCALAR);
    assert_true(root->is_null);
    mxp_node_free(root);
}

static char *nested(size_t depth)
{
    char *s = malloc(2 * depth + 8);

    assert_non_null(s);
    memcpy(s, "x: ", 3);
    memset(s + 3, '[', depth);
    memset(s + 3 + depth, ']', depth);
    s[3 + 2 * depth] = '\0';
    return s;
}

static void test_parse_bounds(void **state)
{
    struct mxp_node *root;
    char err[256], path[64];
    char *text;
    size_t big = 1024 * 1024 + 1;

    (void)state;
    /* The root map is level 1: 31 nested lists are fine, 32 are not. */
    text = nested(31);
    assert_int_equal(
        mxp_yaml_parse("d", text, strlen(text), &root, err, sizeof(err)),
        MXP_OK);
    mxp_node_free(root);
    free(text);
    text = nested(32);
    assert_int_equal(
        mxp_yaml_parse("d", text, strlen(text), &root, err, sizeof(err)),
        MXP_ERR_CONFIG);
    assert_null(root);
    assert_string_equal(err, "d:1:35: nesting deeper than 32 levels");
    free(text);

    /* Over 1 MiB, as text and as a file. */
    text = malloc(big);
    assert_non_null(text);
    memset(text, '#', big);
    assert_int_equal(mxp_yaml_parse("b", text, big, &root, err, sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_string_equal(err, "b: larger than 1048576 bytes, refused");
    write_temp(text, big, path, sizeof(path));
    assert_int_equal(mxp_yaml_parse_file(path, &root, err, sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_non_null(strstr(err, ": larger than 1048576 bytes, refused"));
    /* Exactly 1 MiB of comment is fine. */
    assert_int_equal(
        mxp_yaml_parse("b", text, big - 1, &root, err, sizeof(err)), MXP_OK);
    mxp_node_free(root);
    unlink(path);
    free(text);

    assert_int_equal(
        mxp_yaml_parse_file("/nonexistent/mxp.yaml", &root, err, sizeof(err)),
        MXP_ERR_IO);
    assert_string_equal(err,
                        "/nonexistent/mxp.yaml: No such file or directory");
}

/* A big map must not be checked for duplicates in quadratic time, and a
 * duplicate at its end is still found. */
static void test_parse_big_map(void **state)
{
    size_t n = 50000, cap = n * 16 + 32, len = 0;
    char *text = malloc(cap), err[256];
    struct mxp_node *root;

    (void)state;
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "k%zu: 1\n", i);
    len += (size_t)snprintf(text + len, cap - len, "k7: 2\n");
    assert_int_equal(mxp_yaml_parse("m", text, len, &root, err, sizeof(err)),
                     MXP_ERR_CONFIG);
    assert_string_equal(err, "m:50001:1: duplicate key 'k7'");
    free(text);
}

/* ---- typed readers ---------------------------------------------------- */

static struct mxp_node *value_of(const char *text)
{
    struct mxp_node *n;
    char err[256];

    if (mxp_yaml_parse_value("v", text, strlen(text), 0, &n, err,
                             sizeof(err)) != MXP_OK)
        fail_msg("%s: %s", text, err);
    return n;
}

static void test_bool_table(void **state)
{
    static const struct {
        const char *text;
        int rc, value;
    } table[] = {
        {"true", MXP_OK, 1},      {"True", MXP_OK, 1},
        {"YES", MXP_OK, 1},       {"on", MXP_OK, 1},
        {"false", MXP_OK, 0},     {"No", MXP_OK, 0},
        {"OFF", MXP_OK, 0},       {"'yes'", MXP_ERR_CONFIG, 0},
        {"1", MXP_ERR_CONFIG, 0}, {"maybe", MXP_ERR_CONFIG, 0},
        {"", MXP_ERR_CONFIG, 0},  {"[true]", MXP_ERR_CONFIG, 0},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct mxp_node *n = value_of(table[i].text);
        int b = -1, rc = mxp_node_to_bool(n, "k", &b, err, sizeof(err));

        if (rc != table[i].rc || (rc == MXP_OK && b != table[i].value))
            fail_msg("\"%s\": rc %d value %d", table[i].text, rc, b);
        mxp_node_free(n);
    }
    {
        struct mxp_node *n = value_of("maybe");
        int b;

        mxp_node_to_bool(n, "relay.deliver", &b, err, sizeof(err));
        assert_string_equal(
            err, "v:1:1: relay.deliver: expected true or false, got 'maybe'");
        mxp_node_free(n);
    }
}

static void test_number_readers(void **state)
{
    static const struct {
        const char *text;
        int rc;
        double value;
    } dtable[] = {
        {"1", MXP_OK, 1},
        {"0.5", MXP_OK, 0.5},
        {"-2", MXP_OK, -2},
        {"1e1", MXP_OK, 10},
        {"'3'", MXP_OK, 3},
        {".5", MXP_OK, 0.5},
        {"11", MXP_ERR_CONFIG, 0},
        {"inf", MXP_ERR_CONFIG, 0},
        {"0x10", MXP_ERR_CONFIG, 0},
        {"1e", MXP_ERR_CONFIG, 0},
        {" ", MXP_ERR_CONFIG, 0},
        {"5s", MXP_ERR_CONFIG, 0},
    };
    char err[256];
    long l;

    (void)state;
    for (size_t i = 0; i < sizeof dtable / sizeof dtable[0]; i++) {
        struct mxp_node *n = value_of(dtable[i].text);
        double d = -99;
        int rc = mxp_node_to_double(n, "k", -10, 10, &d, err, sizeof(err));

        if (rc != dtable[i].rc || (rc == MXP_OK && d != dtable[i].value))
            fail_msg("\"%s\": rc %d value %g", dtable[i].text, rc, d);
        mxp_node_free(n);
    }
    {
        struct mxp_node *n = value_of("99999999999999999999");

        assert_int_equal(mxp_node_to_long(n, "n", 1, 10, &l, err, sizeof(err)),
                         MXP_ERR_CONFIG);
        mxp_node_free(n);
        n = value_of("+7");
        assert_int_equal(mxp_node_to_long(n, "n", 1, 10, &l, err, sizeof(err)),
                         MXP_OK);
        assert_int_equal(l, 7);
        mxp_node_free(n);
    }
}

/* Which file a run reads: -f, then $MXPROBE_CONFIG (empty: the built-in
 * default), then the system file whenever something is at its path.  A
 * dangling symlink or an unreadable folder there is the admin's file
 * gone wrong: loading it must say so, not fall back to the defaults. */
static void test_config_path(void **state)
{
    char dir[] = "/tmp/mxp_test_cfgpath_XXXXXX";
    char file[64], link[64], sub[64], sub_file[96];
    const char *given = "given", *env = "env";
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/mxprobe.yaml", dir);
    snprintf(link, sizeof(link), "%s/dangling.yaml", dir);
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    snprintf(sub_file, sizeof(sub_file), "%s/mxprobe.yaml", sub);

    assert_ptr_equal(mxp_config_path(given, env, file), given);
    assert_ptr_equal(mxp_config_path(given, "", file), given);
    assert_ptr_equal(mxp_config_path(NULL, env, file), env);
    assert_null(mxp_config_path(NULL, "", file));
    /* Nothing there (or not a folder on the way): the built-in default. */
    assert_null(mxp_config_path(NULL, NULL, file));
    assert_null(mxp_config_path(NULL, NULL, "/dev/null/mxprobe.yaml"));
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_ptr_equal(mxp_config_path(NULL, NULL, file), file);
    assert_int_equal(symlink("/nonexistent/mxprobe.yaml", link), 0);
    assert_ptr_equal(mxp_config_path(NULL, NULL, link), link);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_ptr_equal(mxp_config_path(NULL, NULL, sub), sub);
    /* A folder that cannot be searched hides whether the file is there:
     * (as root, the search is allowed and the file is absent). */
    assert_int_equal(chmod(sub, 0), 0);
    if (geteuid() != 0)
        assert_ptr_equal(mxp_config_path(NULL, NULL, sub_file), sub_file);
    assert_int_equal(chmod(sub, 0700), 0);

    unlink(link);
    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

static void test_string_list(void **state)
{
    char err[256], **list;
    size_t n;
    struct mxp_node *v;

    (void)state;
    v = value_of("one");
    assert_int_equal(
        mxp_node_to_string_list(v, "k", &list, &n, err, sizeof(err)), MXP_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0], "one");
    mxp_string_list_free(list, n);
    mxp_node_free(v);

    v = value_of("[a, 'b c', \"d\"]");
    assert_int_equal(
        mxp_node_to_string_list(v, "k", &list, &n, err, sizeof(err)), MXP_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[1], "b c");
    assert_string_equal(list[2], "d");
    mxp_string_list_free(list, n);
    mxp_node_free(v);

    v = value_of("~");
    assert_int_equal(
        mxp_node_to_string_list(v, "k", &list, &n, err, sizeof(err)), MXP_OK);
    assert_int_equal(n, 0);
    mxp_string_list_free(list, n);
    mxp_node_free(v);

    v = value_of("[a, {b: c}]");
    assert_int_equal(
        mxp_node_to_string_list(v, "k", &list, &n, err, sizeof(err)),
        MXP_ERR_CONFIG);
    assert_null(list);
    assert_string_equal(err, "v:1:5: k: expected a string, got a mapping");
    mxp_node_free(v);

    v = value_of("{a: b}");
    assert_int_equal(
        mxp_node_to_string_list(v, "k", &list, &n, err, sizeof(err)),
        MXP_ERR_CONFIG);
    mxp_node_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_mail_from_follows_helo),
        cmocka_unit_test(test_submit_section),
        cmocka_unit_test(test_builtin_default),
        cmocka_unit_test(test_builtin_targets_example),
        cmocka_unit_test(test_builtin_sections),
        cmocka_unit_test(test_set_overrides),
        cmocka_unit_test(test_set_creates_sections),
        cmocka_unit_test(test_bad_sets),
        cmocka_unit_test(test_set_into_scalar),
        cmocka_unit_test(test_parse_positions),
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_parse_big_map),
        cmocka_unit_test(test_bool_table),
        cmocka_unit_test(test_number_readers),
        cmocka_unit_test(test_string_list),
        cmocka_unit_test(test_config_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
