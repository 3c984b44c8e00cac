/*
 * httpsget.c - test plugin for svc->https_get: fetches plugins.httpsget.url
 * (with ca_file, max_body, timeout from the same section) and reports
 * what came back, for tests/integration/cases-https.sh.  OK with the
 * status, length, Content-Type, Location, address and the body's first
 * line; UNKNOWN with the status name and words when no response came.
 */
#include <mxprobe/plugin.h>
#include <stdlib.h>
#include <string.h>

static const char *str(struct mxp_ctx *ctx, const char *key)
{
    const struct mxp_node *cfg = ctx->svc->config(ctx);
    const struct mxp_node *n = cfg ? ctx->svc->node_get(cfg, key) : NULL;

    return n ? ctx->svc->node_str(n) : NULL;
}

static const char *status_name(int rc)
{
    static const char *const names[] = {
        [MXP_ERR_NOMEM] = "NOMEM",
        [MXP_ERR_INVALID] = "INVALID",
        [MXP_ERR_TIMEOUT] = "TIMEOUT",
        [MXP_ERR_CONNECT] = "CONNECT",
        [MXP_ERR_CLOSED] = "CLOSED",
        [MXP_ERR_PROTOCOL] = "PROTOCOL",
        [MXP_ERR_TOO_BIG] = "TOO_BIG",
        [MXP_ERR_IO] = "IO",
        [MXP_ERR_DNS] = "DNS",
        [MXP_ERR_CONFIG] = "CONFIG",
        [MXP_ERR_UNSUPPORTED] = "UNSUPPORTED",
    };

    if (rc > 0 && (size_t)rc < sizeof(names) / sizeof(names[0]) && names[rc])
        return names[rc];
    return "OTHER";
}

static int httpsget_run(struct mxp_ctx *ctx, void *state)
{
    struct mxp_https_get g;
    const char *v;
    size_t line;
    int rc;
    (void)state;

    memset(&g, 0, sizeof(g));
    g.url = str(ctx, "url");
    g.ca_file = str(ctx, "ca_file");
    if ((v = str(ctx, "max_body")) != NULL)
        g.max_body = strtoul(v, NULL, 10);
    if ((v = str(ctx, "timeout")) != NULL)
        g.timeout = strtod(v, NULL);
    rc = ctx->svc->https_get(ctx, &g);
    if (rc != MXP_OK) {
        ctx->svc->set_result(ctx, MXP_STATE_UNKNOWN,
                             "https_get %s: %s (addr=%s elapsed=%.1f)",
                             status_name(rc), g.words, g.addr, g.elapsed);
        return MXP_OK;
    }
    line = g.body ? strcspn(g.body, "\r\n") : 0;
    ctx->svc->set_result(ctx, MXP_STATE_OK,
                         "status=%ld len=%zu type=%s location=%s addr=%s "
                         "first=%.*s",
                         g.status, g.body_len, g.content_type, g.location,
                         g.addr, (int)(line > 80 ? 80 : line),
                         g.body ? g.body : "");
    return MXP_OK;
}

static const char *const keys[] = {"url", "ca_file", "max_body", "timeout",
                                   NULL};

MXP_PLUGIN_DEFINE(.name = "httpsget", .summary = "test only: one HTTPS GET",
                  .config_keys = keys, .run = httpsget_run);
