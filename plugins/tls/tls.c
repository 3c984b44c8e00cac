/*
 * tls.c - the tls check: how a server protects mail in transit.
 *
 * STARTTLS on port 25 and 587 (RFC 3207), implicit TLS on 465 (RFC 8314,
 * or plugins.tls.implicit).  The probes (probes.c) ask every question at
 * once, each on its own connection; verdict.c and cert.c judge the
 * answers, dane_check.c the TLSA records of the MX names (DANE, RFC
 * 7672), whose match changes how cert.c ranks PKIX problems.  The status
 * line is the worst finding, or when all is well the session a sender
 * gets: "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate valid 81 days".
 * Perfdata: tls_cert_days (warning and critical in days:
 * plugins.tls.cert_warning / cert_critical, or -w/-c when tls runs
 * alone), tls_handshake (seconds).
 */
#include <arpa/inet.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cert.h"
#include "tls.h"

static const char *const tls_keys[] = {
    "implicit",      "strict",      "ca_file", "cert_warning",
    "cert_critical", "connections", "dane",    NULL};

static void tls_free(void *state)
{
    struct tls_config *cfg = state;

    if (cfg == NULL)
        return;
    free(cfg->ca_file);
    free(cfg);
}

static int tls_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *map = svc->config(ctx), *ca;
    struct tls_config *cfg = calloc(1, sizeof(*cfg));
    int bad = 0;

    *state = NULL;
    if (cfg == NULL)
        return MXP_ERR_NOMEM;
    cfg->implicit = -1;
    cfg->cert_warning = 21;
    cfg->cert_critical = 7;
    cfg->connections = 12;
    cfg->dane = 1;
    bad |= svc->config_bool(ctx, map, "implicit", &cfg->implicit) != MXP_OK;
    bad |= svc->config_bool(ctx, map, "strict", &cfg->strict) != MXP_OK;
    bad |= svc->config_long(ctx, map, "cert_warning", 0, 3650,
                            &cfg->cert_warning) != MXP_OK;
    bad |= svc->config_long(ctx, map, "cert_critical", 0, 3650,
                            &cfg->cert_critical) != MXP_OK;
    bad |= svc->config_bool(ctx, map, "dane", &cfg->dane) != MXP_OK;
    bad |= svc->config_long(ctx, map, "connections", 1, TLS_MAX_CONNECTIONS,
                            &cfg->connections) != MXP_OK;
    ca = map != NULL ? svc->node_get(map, "ca_file") : NULL;
    if (!bad && !svc->node_unset(ca)) {
        const char *path = svc->node_str(ca);
        struct stat st;
        FILE *f = NULL;

        /* A regular file only: fopen of a FIFO blocks until a writer
         * comes, and a directory opens fine, then fails every
         * handshake as if the server had. */
        if (path != NULL && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
            svc->config_error(ctx, ca, "ca_file: '%s' is not a regular file",
                              path);
            bad = 1;
        } else if (path != NULL) {
            f = fopen(path, "r");
        }
        if (bad) {
            /* said above */
        } else if (f == NULL) {
            svc->config_error(ctx, ca, "ca_file: cannot read '%s'",
                              path != NULL ? path : "(not a string)");
            bad = 1;
        } else {
            fclose(f);
            if ((cfg->ca_file = strdup(path)) == NULL) {
                tls_free(cfg);
                return MXP_ERR_NOMEM;
            }
        }
    }
    if (!bad && cfg->cert_critical > cfg->cert_warning) {
        svc->config_error(ctx, map,
                          "cert_critical (%ld days) must not exceed "
                          "cert_warning (%ld days)",
                          cfg->cert_critical, cfg->cert_warning);
        bad = 1;
    }
    if (bad) {
        tls_free(cfg);
        return MXP_ERR_CONFIG;
    }
    *state = cfg;
    return MXP_OK;
}

/* Days from a threshold text: -w/-c when tls runs alone, or
 * plugins.tls.warning/critical.  "N" and "N:" both mean fewer than N
 * days left, as check_ssl_cert's -w/-c do; anything else keeps the
 * configured days. */
static int days_of(struct mxp_ctx *ctx, int which, long dflt, long *out)
{
    const char *text = ctx->svc->threshold_text(ctx, which);
    char *end;
    long v;

    *out = dflt;
    if (text == NULL || text[0] == '\0')
        return 1;
    v = strtol(text, &end, 10);
    if (end == text || v < 0 || (*end != '\0' && strcmp(end, ":") != 0))
        return 0;
    *out = v;
    return 1;
}

/* The certificate days of this run: one clear line when -w/-c say what
 * is no number of days, or less of a warning than of a critical. */
static int run_days(struct mxp_ctx *ctx, const struct tls_config *cfg,
                    long *warn, long *crit)
{
    const struct mxp_services *svc = ctx->svc;

    if (!days_of(ctx, 0, cfg->cert_warning, warn) ||
        !days_of(ctx, 1, cfg->cert_critical, crit)) {
        svc->set_result(
            ctx, MXP_STATE_UNKNOWN,
            "tls: the warning and critical thresholds are days "
            "left on the certificate ('-w 30 -c 7': fewer than "
            "30 days warn), not '%s' and '%s'",
            svc->threshold_text(ctx, 0) ? svc->threshold_text(ctx, 0) : "",
            svc->threshold_text(ctx, 1) ? svc->threshold_text(ctx, 1) : "");
        return 0;
    }
    if (*crit > *warn) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN,
                        "tls: the critical days (%ld) must not exceed the "
                        "warning days (%ld)",
                        *crit, *warn);
        return 0;
    }
    return 1;
}

int tls_is_address(const char *s)
{
    unsigned char b[16];

    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* The names the certificate must carry: -H, the greeting's, the MXs'. */
static size_t wanted_names(struct mxp_ctx *ctx, const struct tls_survey *sv,
                           const struct tls_names *n, struct tls_cert_name *out,
                           size_t cap)
{
    const struct mxp_services *svc = ctx->svc;
    const char *host = ctx->target->host;
    size_t k = 0;

    /* The names senders reach it by: -H, and the MX hosts. */
    if (host != NULL && !tls_is_address(host) && svc->is_host_name(host) &&
        k < cap)
        out[k++] = (struct tls_cert_name){host, "-H name"};
    for (size_t i = 0; i < n->n_mx && k < cap; i++)
        out[k++] = (struct tls_cert_name){n->mx_names[i], "MX name"};
    if (k > 0)
        return k;
    /* Else only what the server says of itself, and the address: a
     * certificate for its own greeting name is the best there is to
     * hold it to, but not when the operator named it otherwise (a
     * server greeting as mx2 with mx2's certificate is not mx1). */
    if (host != NULL && tls_is_address(host) && k < cap)
        out[k++] = (struct tls_cert_name){host, "-H address"}; /* IP SANs */
    if (sv->greet_name[0] != '\0' && svc->is_host_name(sv->greet_name) &&
        k < cap)
        out[k++] = (struct tls_cert_name){sv->greet_name, "greeting name"};
    return k;
}

/* After a DANE-TA match the leaf must carry the TLSA base domain (the
 * MX name) or the next-hop domain (RFC 7672 3.2.3). */
static size_t dane_names(struct mxp_ctx *ctx, const char *const *ta,
                         size_t n_ta, struct tls_cert_name *out, size_t cap)
{
    const char *domain = ctx->target->domain;
    size_t k = 0;

    for (size_t i = 0; i < n_ta && k < cap; i++)
        out[k++] = (struct tls_cert_name){ta[i], "TLSA base domain"};
    if (domain != NULL && ctx->svc->is_host_name(domain) && k < cap)
        out[k++] = (struct tls_cert_name){domain, "next-hop domain"};
    return k;
}

/* When everything is fine: the session a sender gets. */
static void ok_summary(struct mxp_ctx *ctx, const struct tls_survey *sv,
                       const struct tls_cert_facts *cf)
{
    const struct mxp_tls_info *in = sv->info;

    if (cf->have_leaf && cf->days_left >= 0)
        ctx->svc->set_result(ctx, MXP_STATE_OK,
                             "%s %s, certificate valid %ld days", in->protocol,
                             in->cipher, cf->days_left);
    else
        ctx->svc->set_result(ctx, MXP_STATE_OK, "%s %s", in->protocol,
                             in->cipher);
}

static int cannot_tell(struct mxp_ctx *ctx, const struct tls_survey *sv)
{
    const struct mxp_services *svc = ctx->svc;

    if (!sv->connected && sv->fail[0] != '\0') {
        svc->set_result(ctx, MXP_STATE_UNKNOWN, "%s", sv->fail);
        return 1;
    }
    if (sv->implicit && sv->info == NULL &&
        strncmp(sv->handshake_error, "cannot connect", 14) == 0) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN, "%s", sv->handshake_error);
        return 1;
    }
    /* Lost before STARTTLS was answered: nothing is known of its TLS. */
    if (sv->fail[0] != '\0' && sv->starttls_code == 0 && sv->info == NULL &&
        (!sv->implicit || sv->handshake_error[0] == '\0') &&
        (sv->ehlo_code / 100 == 2 || sv->ehlo_code == 0) &&
        (sv->ehlo_code == 0 || sv->starttls_offered)) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN, "cannot tell: %s", sv->fail);
        return 1;
    }
    return 0;
}

/* A core older than ABI 1.3 has no TLS to lend. */
static int core_has_tls(const struct mxp_services *svc)
{
    return svc->size >= offsetof(struct mxp_services, tls_hello_result) +
                            sizeof(svc->tls_hello_result) &&
           svc->smtp_tls_start != NULL && svc->smtp_tls_info != NULL &&
           svc->smtp_unsolicited != NULL && svc->tls_hello_start != NULL &&
           svc->tls_hello_result != NULL;
}

static int tls_run(struct mxp_ctx *ctx, void *state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct tls_config *cfg = state;
    const struct mxp_target *t = ctx->target;
    struct tls_run r;
    struct tls_names names;
    struct tls_dane dane;
    struct tls_cert_facts cf;
    enum tls_dane_mode mode;
    const char *ta[TLS_DANE_NAMES];
    size_t n_ta = 0;
    long warn_days, crit_days;
    int up;

    if (!core_has_tls(svc)) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN,
                        "this mxprobe core offers no TLS (plugin ABI 1.3)");
        return MXP_OK;
    }
    if (!run_days(ctx, cfg, &warn_days, &crit_days))
        return MXP_OK;
    memset(&r, 0, sizeof(r));
    memset(&cf, 0, sizeof(cf));
    r.ctx = ctx;
    r.svc = svc;
    r.cfg = cfg;
    r.sv.implicit = cfg->implicit >= 0 ? cfg->implicit : t->port == 465;
    r.sv.submission = t->port == 587 || r.sv.implicit;
    tls_names_start(ctx, &names);
    tls_dane_start(ctx, cfg, &dane);
    r.names = &names;
    r.dane = &dane;
    tls_probe_all(&r);
    tls_names_finish(ctx, &names);
    tls_dane_finish(ctx, &dane, &names);
    if (cannot_tell(ctx, &r.sv)) {
        tls_run_end(&r);
        return MXP_OK;
    }
    up = tls_judge(ctx, &r.sv);
    mode = tls_dane_judge(ctx, &dane, &names, up ? r.sv.info : NULL, ta,
                          TLS_DANE_NAMES, &n_ta);
    if (up) {
        struct tls_cert_name list[TLS_MAX_NAMES];
        struct tls_cert_policy pol = {
            .strict = r.sv.submission || cfg->strict,
            .warn_days = warn_days,
            .crit_days = crit_days,
            .dane = mode,
        };
        size_t n = mode == TLS_DANE_TA
                       ? dane_names(ctx, ta, n_ta, list, TLS_MAX_NAMES)
                       : wanted_names(ctx, &r.sv, &names, list, TLS_MAX_NAMES);

        tls_cert_judge(ctx, r.sv.info, list, n, &pol, time(NULL), &cf);
        svc->add_metric(ctx, "handshake", r.sv.info->handshake_time, "s", NAN,
                        0);
        svc->add_field(ctx, "protocol", r.sv.info->protocol);
        svc->add_field(ctx, "cipher", r.sv.info->cipher);
        if (cf.have_leaf)
            svc->add_field_number(ctx, "cert_days", (double)cf.days_left);
    }
    if (!svc->set_result_from_details(ctx) && up)
        ok_summary(ctx, &r.sv, &cf);
    tls_run_end(&r);
    return MXP_OK;
}

MXP_PLUGIN_DEFINE(.name = "tls",
                  .summary = "STARTTLS or implicit TLS: protocols, weak "
                             "ciphers, certificate, AUTH in clear, "
                             "command injection, DANE",
                  .config_keys = tls_keys, .init = tls_init, .run = tls_run,
                  .free = tls_free);
