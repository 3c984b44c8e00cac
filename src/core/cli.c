/*
 * cli.c - parse the command line (cli.h).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "mxprobe/plugin.h"
#include "names.h"

const char mxp_cli_help[] =
    "Usage: mxprobe [options] -H HOST     check one mail server (each of\n"
    "                                     its addresses)\n"
    "       mxprobe [options] -D DOMAIN   check every MX of a mail domain\n"
    "       mxprobe [options] -H CIDR     check the SMTP servers of a netblock\n"
    "       mxprobe [options] --all       check every target in the config\n"
    "\n"
    "Audits a mail server: SMTP banner vs reverse DNS, open relay,\n"
    "backscatter, DNS blocklists, MX/SPF/DMARC of its domain, STARTTLS and\n"
    "the certificate, and answers like a Nagios plugin (exit 0 OK,\n"
    "1 WARNING, 2 CRITICAL, 3 UNKNOWN; status line, long output,\n"
    "perfdata).  Messages are never completed\n"
    "unless plugins.relay/backscatter.deliver and probe.my_email are set.\n"
    "netbios (exposed NetBIOS/SMB ports) is a port scan, which some\n"
    "networks forbid: it runs only when asked for, with -C +netbios.\n"
    "\n"
    "Options:\n"
    " -H, --host HOST        hostname, IPv4 or IPv6 address to check, or a\n"
    "                        netblock (192.0.2.0/28: a connect scan of the\n"
    "                        port, then every address that answers)\n"
    " -p, --port PORT        SMTP port (default 25; 465: implicit TLS, 587:\n"
    "                        submission, where tls is strict)\n"
    " -D, --domain DOMAIN    the server's mail domain (else guessed); without\n"
    "                        -H: every address of every MX of the domain,\n"
    "                        the domain-wide checks (zone) once\n"
    " -4, -6                 only IPv4 or only IPv6 addresses of names\n"
    " -C, --checks LIST      checks to run, e.g. banner,dnsbl; +x adds to\n"
    "                        and -x removes from the configured list\n"
    " -w, --warning RANGE    warning range for the main metric (one check)\n"
    " -c, --critical RANGE   critical range for the main metric (one check)\n"
    " -t, --timeout SEC      hard deadline (default 30): for the whole run\n"
    "                        with -H HOST, else for each target from its\n"
    "                        own start\n"
    " -j, --jobs N           targets checked at once (default 16, 1-4096)\n"
    " -q, --quiet            no progress line on the terminal\n"
    "     --all              check every entry of the config's targets:\n"
    "     --submit DEST      also send each result as a passive check:\n"
    "                        nagios:/path/to/nagios.cmd or\n"
    "                        icinga2:https://host:5665 (see submit: in\n"
    "                        the config)\n"
    " -f, --config FILE      YAML config (default: $MXPROBE_CONFIG, else\n"
    "                        " MXP_CONFIG_FILE "\n"
    "                        if it exists, else the built-in one)\n"
    "     --dns-server A[:P] DNS server to use instead of /etc/resolv.conf\n"
    "                        (repeatable; IPv6 as [addr]:port)\n"
    "     --set SECTION.KEY=VALUE\n"
    "                        override one config value, e.g.\n"
    "                        --set probe.helo_name=probe.example.org\n"
    "                        --set 'dnsbl.zones=[zen.spamhaus.org]'\n"
    " -o, --format FMT       nagios, text, json or openmetrics (default:\n"
    "                        text on a terminal, else nagios); json is one\n"
    "                        line per target (JSON Lines)\n"
    " -v, --verbose          -v all details, -vv SMTP transcripts,\n"
    "                        -vvv plugin debugging\n"
    "     --list-plugins     list the available checks and exit (with -v:\n"
    "                        the config keys and default thresholds of each)\n"
    " -V, --version          print the version and exit\n"
    " -h, --help             print this help and exit\n"
    "\n"
    "Ranges follow the Monitoring Plugins guidelines: 10 (alert outside\n"
    "0..10), 10: (below 10), ~:10 (above 10), 10:20 (outside), @10:20\n"
    "(inside).  See mxprobe(1) and the README for the checks and the\n"
    "config file.\n";

enum {
    OPT_DNS_SERVER = 256,
    OPT_SET,
    OPT_ALL,
    OPT_LIST_PLUGINS,
    OPT_SUBMIT,
};

static int push(const char ***v, size_t *n, const char *s)
{
    const char **p = realloc(*v, (*n + 1) * sizeof(char *));

    if (p == NULL)
        return MXP_ERR_NOMEM;
    p[*n] = s;
    *v = p;
    (*n)++;
    return MXP_OK;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The option getopt just stumbled on: optopt names a short one even inside
 * a cluster (-vH); a long one is only in argv. */
static const char *option_name(char **argv, char *buf, size_t len)
{
    if (optopt > 0 && optopt < 256) {
        snprintf(buf, len, "-%c", optopt);
        return buf;
    }
    return argv[optind - 1];
}

int mxp_cli_parse(int argc, char **argv, struct mxp_cli *cli, char *err,
                  size_t errlen)
{
    char opt[8];
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"domain", required_argument, NULL, 'D'},
        {"checks", required_argument, NULL, 'C'},
        {"warning", required_argument, NULL, 'w'},
        {"critical", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'f'},
        {"dns-server", required_argument, NULL, OPT_DNS_SERVER},
        {"set", required_argument, NULL, OPT_SET},
        {"format", required_argument, NULL, 'o'},
        {"verbose", no_argument, NULL, 'v'},
        {"all", no_argument, NULL, OPT_ALL},
        {"list-plugins", no_argument, NULL, OPT_LIST_PLUGINS},
        {"jobs", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"submit", required_argument, NULL, OPT_SUBMIT},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long ul;
    char *end;
    int c;

    memset(cli, 0, sizeof(*cli));
    cli->timeout = 30;
    cli->jobs = MXP_JOBS_DEFAULT;
    opterr = 0;
    optopt = 0;
    optind = 0; /* glibc: 0 also resets the state of a half-read cluster */
    while ((c = getopt_long(argc, argv, ":H:p:D:C:w:c:t:f:o:j:46qvVh", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'H':
            cli->host = optarg;
            break;
        case 'p':
            if (parse_uint(optarg, 65535, &ul) != 0 || ul == 0) {
                snprintf(err, errlen, "-p: '%s' is not a port (1-65535)",
                         optarg);
                return MXP_ERR_INVALID;
            }
            cli->port = (unsigned)ul;
            break;
        case 'D':
            if (!mxp_is_domain_name(optarg)) {
                char *shown = mxp_printable_dup(optarg, strlen(optarg));

                snprintf(err, errlen, "-D: '%.100s' is not a domain name",
                         shown != NULL ? shown : "?");
                free(shown);
                return MXP_ERR_INVALID;
            }
            cli->domain = optarg;
            break;
        case 'C':
            cli->checks = optarg;
            break;
        case 'w':
            cli->warning = optarg;
            break;
        case 'c':
            cli->critical = optarg;
            break;
        case 't':
            errno = 0;
            cli->timeout = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' ||
                !isfinite(cli->timeout) || cli->timeout <= 0 ||
                cli->timeout > 86400) {
                snprintf(err, errlen,
                         "-t: '%s' is not a number of seconds (> 0, at "
                         "most 86400)",
                         optarg);
                return MXP_ERR_INVALID;
            }
            break;
        case 'f':
            /* -f "" (an unset variable in a command definition) would read
             * as the error of a file without a name. */
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "-f: empty file name");
                return MXP_ERR_INVALID;
            }
            cli->config = optarg;
            break;
        case OPT_DNS_SERVER:
            if (push(&cli->dns_servers, &cli->n_dns_servers, optarg))
                return MXP_ERR_NOMEM;
            break;
        case OPT_SET:
            if (push(&cli->sets, &cli->n_sets, optarg))
                return MXP_ERR_NOMEM;
            break;
        case 'o':
            if (strcmp(optarg, "nagios") == 0)
                cli->format = MXP_FORMAT_NAGIOS;
            else if (strcmp(optarg, "text") == 0)
                cli->format = MXP_FORMAT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                cli->format = MXP_FORMAT_JSON;
            else if (strcmp(optarg, "openmetrics") == 0)
                cli->format = MXP_FORMAT_OPENMETRICS;
            else {
                snprintf(err, errlen,
                         "-o: '%s': choose nagios, text, json or openmetrics",
                         optarg);
                return MXP_ERR_INVALID;
            }
            break;
        case 'v':
            cli->verbosity++;
            break;
        case '4':
        case '6':
            if (cli->family != 0 &&
                cli->family != (c == '4' ? AF_INET : AF_INET6)) {
                snprintf(err, errlen, "-4 and -6 exclude each other");
                return MXP_ERR_INVALID;
            }
            cli->family = c == '4' ? AF_INET : AF_INET6;
            break;
        case 'j':
            if (parse_uint(optarg, MXP_JOBS_MAX, &ul) != 0 || ul == 0) {
                snprintf(err, errlen,
                         "-j: '%s' is not a number of targets at once "
                         "(1-%d)",
                         optarg, MXP_JOBS_MAX);
                return MXP_ERR_INVALID;
            }
            cli->jobs = (unsigned)ul;
            break;
        case 'q':
            cli->quiet = 1;
            break;
        case OPT_SUBMIT:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--submit: empty destination");
                return MXP_ERR_INVALID;
            }
            cli->submit = optarg;
            break;
        case OPT_ALL:
            cli->all = 1;
            break;
        case OPT_LIST_PLUGINS:
            cli->list_plugins = 1;
            break;
        case 'V':
            cli->version = 1;
            break;
        case 'h':
            cli->help = 1;
            break;
        case ':':
            snprintf(err, errlen, "option '%s' needs a value (see -h)",
                     option_name(argv, opt, sizeof(opt)));
            return MXP_ERR_INVALID;
        default:
            snprintf(err, errlen, "unknown option '%s' (see -h)",
                     option_name(argv, opt, sizeof(opt)));
            return MXP_ERR_INVALID;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (see -h)",
                 argv[optind]);
        return MXP_ERR_INVALID;
    }
    if (cli->help || cli->version || cli->list_plugins)
        return MXP_OK;
    if (cli->host == NULL && cli->domain == NULL && !cli->all) {
        snprintf(err, errlen,
                 "no target: give -H HOST, -D DOMAIN or --all (see -h)");
        return MXP_ERR_INVALID;
    }
    if (cli->host != NULL && cli->host[0] == '\0') {
        snprintf(err, errlen, "-H: empty host name");
        return MXP_ERR_INVALID;
    }
    if (cli->host != NULL && cli->all) {
        snprintf(err, errlen, "-H and --all exclude each other");
        return MXP_ERR_INVALID;
    }
    if (cli->domain != NULL && cli->all) {
        snprintf(err, errlen,
                 "-D and --all exclude each other (give each target its "
                 "domain: in the config)");
        return MXP_ERR_INVALID;
    }
    return MXP_OK;
}

void mxp_cli_free(struct mxp_cli *cli)
{
    free(cli->dns_servers);
    free(cli->sets);
    cli->dns_servers = NULL;
    cli->sets = NULL;
}

void mxp_strv_free(char **v, size_t n)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int strv_find(char *const *v, size_t n, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strlen(v[i]) == len && strncmp(v[i], s, len) == 0)
            return (int)i;
    return -1;
}

static int strv_add(char ***v, size_t *n, const char *s, size_t len)
{
    char **p;

    if (strv_find(*v, *n, s, len) >= 0)
        return MXP_OK;
    p = realloc(*v, (*n + 1) * sizeof(char *));
    if (p == NULL)
        return MXP_ERR_NOMEM;
    *v = p;
    p[*n] = strndup(s, len);
    if (p[*n] == NULL)
        return MXP_ERR_NOMEM;
    (*n)++;
    return MXP_OK;
}

int mxp_checks_apply(const char *spec, char *const *base, size_t n_base,
                     char ***out, size_t *n_out, char *err, size_t errlen)
{
    char **v = NULL;
    size_t n = 0, i;
    const char *p;
    int relative = 1, rc = MXP_OK;

    if (*spec == '\0') {
        snprintf(err, errlen, "-C: empty list of checks");
        return MXP_ERR_INVALID;
    }
    /* Relative when every item starts with + or -. */
    for (p = spec; *p != '\0';) {
        size_t l = strcspn(p, ",");
        if (l > 0 && p[0] != '+' && p[0] != '-')
            relative = 0;
        p += l;
        if (*p == ',')
            p++;
    }
    if (relative)
        for (i = 0; i < n_base && rc == MXP_OK; i++)
            rc = strv_add(&v, &n, base[i], strlen(base[i]));
    for (p = spec; *p != '\0' && rc == MXP_OK;) {
        size_t l = strcspn(p, ",");
        const char *name = p;
        int remove = 0;
        if (l > 0 && (p[0] == '+' || p[0] == '-')) {
            remove = p[0] == '-';
            name++;
            l--;
        }
        if (l == 0) {
            snprintf(err, errlen, "-C '%s': empty check name", spec);
            rc = MXP_ERR_INVALID;
            break;
        }
        if (remove) {
            int k = strv_find(v, n, name, l);
            if (k >= 0) {
                free(v[k]);
                memmove(&v[k], &v[k + 1], (n - (size_t)k - 1) * sizeof(*v));
                n--;
            }
        } else {
            rc = strv_add(&v, &n, name, l);
        }
        p = name + l;
        if (*p == ',')
            p++;
    }
    if (rc == MXP_OK && n == 0) {
        snprintf(err, errlen, "-C '%s' leaves no check to run", spec);
        rc = MXP_ERR_INVALID;
    }
    if (rc != MXP_OK) {
        mxp_strv_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return MXP_OK;
}
