/*
 * test_cli.c - command line parsing and the -C list rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "cli.h"
#include "mxprobe/plugin.h"

static void test_checks_apply_table(void **state)
{
    char *base[] = {"banner", "relay", "dnsbl"};
    struct {
        const char *spec;
        const char *want; /* joined with ',' or NULL for an error */
    } cases[] = {
        {"dnsbl", "dnsbl"},
        {"relay,dnsbl", "relay,dnsbl"},
        {"+netbios", "banner,relay,dnsbl,netbios"},
        {"-relay", "banner,dnsbl"},
        {"-relay,+netbios", "banner,dnsbl,netbios"},
        {"dnsbl,+netbios", "dnsbl,netbios"},
        {"dnsbl,dnsbl", "dnsbl"},
        {"+banner", "banner,relay,dnsbl"},
        {"-banner,-relay,-dnsbl", NULL},
        {"dnsbl,,relay", NULL},
        {"", NULL},
    };
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **out = NULL;
        size_t n = 0;
        char err[256], got[256] = "";
        int rc = mxp_checks_apply(cases[i].spec, base, 3, &out, &n, err,
                                  sizeof(err));
        if (cases[i].want == NULL) {
            if (rc == MXP_OK)
                fail_msg("'%s' should be refused", cases[i].spec);
            continue;
        }
        assert_int_equal(rc, MXP_OK);
        for (j = 0; j < n; j++) {
            size_t used = strlen(got);
            snprintf(got + used, sizeof(got) - used, "%s%s", j ? "," : "",
                     out[j]);
        }
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("'%s': got '%s', want '%s'", cases[i].spec, got,
                     cases[i].want);
        mxp_strv_free(out, n);
    }
}

static int parse(const char *const *args, struct mxp_cli *cli, char *err)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = "mxprobe";
    while (*args != NULL && argc < 31)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return mxp_cli_parse(argc, argv, cli, err, 256);
}

static void test_parse_good(void **state)
{
    const char *args[] = {"-H", "mx.example.org", "-p", "2525", "-C",
                          "banner", "-t", "7.5", "--dns-server",
                          "127.0.0.1:5353", "--dns-server", "::1",
                          "--set", "probe.helo_name=x.example", "-o",
                          "json", "-vv", "-w", "1", "-c", "2", NULL};
    struct mxp_cli cli;
    char err[256];

    (void)state;
    assert_int_equal(parse(args, &cli, err), MXP_OK);
    assert_string_equal(cli.host, "mx.example.org");
    assert_int_equal(cli.port, 2525);
    assert_string_equal(cli.checks, "banner");
    assert_true(cli.timeout > 7.49 && cli.timeout < 7.51);
    assert_int_equal(cli.n_dns_servers, 2);
    assert_string_equal(cli.dns_servers[1], "::1");
    assert_int_equal(cli.n_sets, 1);
    assert_int_equal(cli.format, MXP_FORMAT_JSON);
    assert_int_equal(cli.verbosity, 2);
    assert_string_equal(cli.warning, "1");
    assert_string_equal(cli.critical, "2");
    mxp_cli_free(&cli);
}

/* The options of many-target runs (issue 11). */
static void test_parse_many(void **state)
{
    const char *dom[] = {"-D", "example.org", "-6", "-j", "256", "-q",
                         "--submit", "nagios:/tmp/x.cmd", NULL};
    const char *all[] = {"--all", "--jobs", "4096", "-4", "--quiet", NULL};
    const char *def[] = {"-H", "192.0.2.0/28", NULL};
    struct mxp_cli cli;
    char err[256];

    (void)state;
    assert_int_equal(parse(dom, &cli, err), MXP_OK);
    assert_null(cli.host);
    assert_string_equal(cli.domain, "example.org");
    assert_int_equal(cli.family, AF_INET6);
    assert_int_equal(cli.jobs, 256);
    assert_int_equal(cli.quiet, 1);
    assert_string_equal(cli.submit, "nagios:/tmp/x.cmd");
    mxp_cli_free(&cli);
    assert_int_equal(parse(all, &cli, err), MXP_OK);
    assert_int_equal(cli.all, 1);
    assert_int_equal(cli.jobs, MXP_JOBS_MAX);
    assert_int_equal(cli.family, AF_INET);
    assert_int_equal(cli.quiet, 1);
    mxp_cli_free(&cli);
    assert_int_equal(parse(def, &cli, err), MXP_OK);
    assert_int_equal(cli.jobs, MXP_JOBS_DEFAULT);
    assert_int_equal(cli.family, 0);
    assert_int_equal(cli.quiet, 0);
    assert_null(cli.submit);
    mxp_cli_free(&cli);
}

static void test_parse_errors(void **state)
{
    struct {
        const char *args[6];
        const char *words;
    } cases[] = {
        {{"-H", "x", "-p", "0", NULL}, "not a port"},
        {{"-H", "x", "-p", "65536", NULL}, "not a port"},
        {{"-H", "x", "-p", "25x", NULL}, "not a port"},
        {{"-H", "x", "-t", "0", NULL}, "not a number of seconds"},
        {{"-H", "x", "-t", "abc", NULL}, "not a number of seconds"},
        {{"-H", "x", "-o", "xml", NULL}, "choose nagios, text, json or openmetrics"},
        {{"-H", "x", "--bogus", NULL}, "unknown option"},
        {{"-H", NULL}, "needs a value"},
        {{"-p", "25", NULL}, "no target"},
        {{"-H", "x", "--all", NULL}, "exclude each other"},
        {{"-H", "x", "extra", NULL}, "unexpected argument"},
        {{"-xv", "-H", "a", NULL}, "unknown option '-x'"},
        {{"-vH", NULL}, "option '-H' needs a value"},
        {{"-H", "a", "--dns-server", NULL}, "option '--dns-server' needs"},
        {{"-H", "", NULL}, "empty host name"},
        {{"-H", "x", "-D", ".", NULL}, "-D: '.' is not a domain name"},
        {{"-H", "x", "-D", "192.0.2.1", NULL}, "is not a domain name"},
        {{"-H", "x", "-D", "a b.example", NULL}, "is not a domain name"},
        {{"-H", "x", "-D", "x>y.example", NULL}, "is not a domain name"},
        {{"-H", "x", "-D", "localhost", NULL}, "is not a domain name"},
        {{"-H", "x", "-j", "0", NULL}, "-j: '0' is not a number of targets"},
        {{"-H", "x", "-j", "4097", NULL}, "(1-4096)"},
        {{"-H", "x", "-j", "-3", NULL}, "-j: '-3' is not"},
        {{"-H", "x", "-j", "8x", NULL}, "is not a number of targets"},
        {{"-H", "x", "-4", "-6", NULL}, "-4 and -6 exclude each other"},
        {{"-H", "x", "--submit", "", NULL}, "--submit: empty destination"},
        {{"-H", "x", "-f", "", NULL}, "-f: empty file name"},
        {{"-D", "example.org", "--all", NULL}, "-D and --all exclude"},
        {{"-q", NULL}, "give -H HOST, -D DOMAIN or --all"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mxp_cli cli;
        char err[256] = "";
        int rc = parse(cases[i].args, &cli, err);
        if (rc == MXP_OK || strstr(err, cases[i].words) == NULL)
            fail_msg("case %zu: rc %d err '%s', want '%s'", i, rc, err,
                     cases[i].words);
        mxp_cli_free(&cli);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks_apply_table),
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
