/*
 * netbios.c - the netbios check: does the server expose NetBIOS or SMB?
 *
 * A port scan, so it is off unless asked for (-C +netbios): TCP connect
 * probes to plugins.netbios.ports (135, 139, 445 by default) at once, and
 * a NetBIOS node status query on UDP 137 (RFC 1002 4.2.17).  The core
 * does the talking (svc->tcp_probe, svc->udp_exchange); this file judges.
 * An open port is CRITICAL: Windows networking has no business on a mail
 * server's Internet address.  Refused is closed and no answer filtered,
 * both OK and said as such.  A node status answer is CRITICAL and its
 * name table is shown, since that is what anyone learns: host name,
 * workgroup, MAC address.  An answer that is a NetBIOS answer to our
 * query but whose table does not parse (counts that lie) is CRITICAL as
 * well: the name service answered, which is the exposure, whatever it
 * said.  Bytes that are not a NetBIOS answer at all are only a WARNING:
 * something listens on 137/udp, but it may not be NetBIOS, and claiming
 * so would be a false alarm.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mxprobe/plugin.h>

#include "nbstat.h"

#define NETBIOS_MAX_PORTS 16
#define NETBIOS_UDP_PORT 137
#define NETBIOS_UDP_CAP 4096 /* 255 names of 18 bytes and the statistics */

struct netbios_config {
    unsigned ports[NETBIOS_MAX_PORTS];
    size_t n_ports;
    int udp_137;
};

static const unsigned default_ports[] = {135, 139, 445};

/* What usually listens there, for the reader of the report. */
static const char *port_service(unsigned port)
{
    switch (port) {
    case 135:
        return " (MS RPC)";
    case 137:
        return " (NetBIOS name service)";
    case 139:
        return " (NetBIOS session, SMB)";
    case 445:
        return " (SMB)";
    default:
        return "";
    }
}

/* ---- config ---------------------------------------------------------- */

static int parse_port(const char *v, unsigned *out)
{
    char *end;
    unsigned long n;

    if (v == NULL || *v < '0' || *v > '9')
        return -1;
    n = strtoul(v, &end, 10);
    if (*end != '\0' || n == 0 || n > 65535)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int read_ports(struct mxp_ctx *ctx, const struct mxp_node *cfg,
                      struct netbios_config *c)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *n = cfg ? svc->node_get(cfg, "ports") : NULL;
    size_t len;

    if (n == NULL || svc->node_unset(n))
        return MXP_OK;
    if (svc->node_kind(n) != MXP_NODE_SEQ) {
        svc->config_error(ctx, n,
                          "ports: expected a list of port numbers, "
                          "e.g. [135, 139, 445]");
        return MXP_ERR_CONFIG;
    }
    len = svc->node_len(n);
    if (len == 0 || len > NETBIOS_MAX_PORTS) {
        svc->config_error(ctx, n, "ports: between 1 and %d ports",
                          NETBIOS_MAX_PORTS);
        return MXP_ERR_CONFIG;
    }
    c->n_ports = 0;
    for (size_t i = 0; i < len; i++) {
        const struct mxp_node *e = svc->node_at(n, i);
        const char *v =
            svc->node_kind(e) == MXP_NODE_SCALAR ? svc->node_str(e) : NULL;
        unsigned port;

        if (parse_port(v, &port) != 0) {
            svc->config_error(ctx, e, "ports: '%s' is not a port (1..65535)",
                              v ? v : "");
            return MXP_ERR_CONFIG;
        }
        for (size_t j = 0; j < c->n_ports; j++)
            if (c->ports[j] == port) {
                svc->config_error(ctx, e, "ports: %u is listed twice", port);
                return MXP_ERR_CONFIG;
            }
        c->ports[c->n_ports++] = port;
    }
    return MXP_OK;
}

static int netbios_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_node *cfg = ctx->svc->config(ctx);
    struct netbios_config *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL)
        return MXP_ERR_NOMEM;
    memcpy(c->ports, default_ports, sizeof(default_ports));
    c->n_ports = sizeof(default_ports) / sizeof(default_ports[0]);
    c->udp_137 = 1;
    rc = read_ports(ctx, cfg, c);
    if (rc == MXP_OK)
        rc = ctx->svc->config_bool(ctx, cfg, "udp_137", &c->udp_137);
    if (rc != MXP_OK) {
        free(c);
        return rc;
    }
    *state = c;
    return MXP_OK;
}

static void netbios_free(void *state)
{
    free(state);
}

/* ---- judging ---------------------------------------------------------- */

/* One detail per port; returns how many are open. */
static size_t judge_ports(struct mxp_ctx *ctx, const struct mxp_port_probe *p,
                          size_t n)
{
    const struct mxp_services *svc = ctx->svc;
    size_t open = 0;

    for (size_t i = 0; i < n; i++) {
        const char *what = port_service(p[i].port);

        switch (p[i].state) {
        case MXP_PORT_OPEN:
            open++;
            svc->add_detail(ctx, MXP_STATE_CRITICAL,
                            "port %u/tcp%s open: reachable from here",
                            p[i].port, what);
            break;
        case MXP_PORT_CLOSED:
            svc->add_detail(ctx, MXP_STATE_OK, "port %u/tcp%s closed (%s)",
                            p[i].port, what, p[i].words);
            break;
        case MXP_PORT_FILTERED:
            svc->add_detail(ctx, MXP_STATE_OK,
                            "port %u/tcp%s filtered (no answer: %s)", p[i].port,
                            what, p[i].words);
            break;
        default:
            svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                            "port %u/tcp%s: cannot tell: %s", p[i].port, what,
                            p[i].words);
            break;
        }
    }
    return open;
}

/* The name table, as an attacker sees it. */
static void show_table(struct mxp_ctx *ctx, const struct nbstat_table *t)
{
    const struct mxp_services *svc = ctx->svc;
    const char *host = nbstat_host(t), *wg = nbstat_workgroup(t);
    char mac[32] = "not given";

    if (t->have_mac)
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", t->mac[0],
                 t->mac[1], t->mac[2], t->mac[3], t->mac[4], t->mac[5]);
    svc->add_detail(ctx, MXP_STATE_CRITICAL,
                    "port 137/udp (NetBIOS name service) answers a node "
                    "status: host %s, workgroup %s, MAC %s",
                    host ? host : "(none)", wg ? wg : "(none)", mac);
    for (size_t i = 0; i < t->n_names; i++)
        svc->add_detail(ctx, MXP_STATE_OK, "  name %s<%02x> %s",
                        t->names[i].name, t->names[i].suffix,
                        t->names[i].flags & NBSTAT_GROUP ? "group" : "unique");
    if (t->n_claimed > t->n_names)
        svc->add_detail(ctx, MXP_STATE_OK, "  (%zu more names not shown)",
                        t->n_claimed - t->n_names);
}

static void judge_answer(struct mxp_ctx *ctx, int rc,
                         const struct mxp_udp_exchange *x, uint16_t id)
{
    const struct mxp_services *svc = ctx->svc;
    struct nbstat_table t;
    enum nbstat_verdict v;
    char why[160];

    if (rc == MXP_ERR_TIMEOUT) {
        svc->add_detail(ctx, MXP_STATE_OK,
                        "port 137/udp (NetBIOS name service) filtered or "
                        "silent (no answer: %s)",
                        x->words);
        return;
    }
    if (rc == MXP_ERR_CONNECT) {
        svc->add_detail(ctx, MXP_STATE_OK,
                        "port 137/udp (NetBIOS name service) closed (%s)",
                        x->words);
        return;
    }
    if (rc != MXP_OK && rc != MXP_ERR_TOO_BIG) {
        svc->add_detail(ctx, MXP_STATE_UNKNOWN, "port 137/udp: cannot tell: %s",
                        x->words);
        return;
    }
    v = nbstat_parse(x->resp, x->resp_len, id, &t, why, sizeof(why));
    if (v == NBSTAT_NOT_NBNS) {
        svc->add_detail(ctx, MXP_STATE_WARNING,
                        "port 137/udp answered %zu bytes that are not a "
                        "NetBIOS answer (%s): something listens there",
                        x->resp_len, why);
    } else if (rc == MXP_ERR_TOO_BIG) {
        svc->add_detail(ctx, MXP_STATE_CRITICAL,
                        "port 137/udp (NetBIOS name service) answered, "
                        "unparsable: %s",
                        x->words);
    } else if (v == NBSTAT_BROKEN) {
        svc->add_detail(ctx, MXP_STATE_CRITICAL,
                        "port 137/udp (NetBIOS name service) answered, "
                        "unparsable: %s",
                        why);
    } else {
        show_table(ctx, &t);
    }
}

static int netbios_run(struct mxp_ctx *ctx, void *state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct netbios_config *c = state;
    struct mxp_port_probe p[NETBIOS_MAX_PORTS];
    unsigned char req[NBSTAT_REQ_LEN], resp[NETBIOS_UDP_CAP];
    struct mxp_udp_exchange x;
    uint16_t id;
    size_t open = 0;
    int rc;

    if (c == NULL || ctx->target == NULL)
        return MXP_ERR_INVALID;
    if (svc->size < offsetof(struct mxp_services, udp_exchange) +
                        sizeof(svc->udp_exchange)) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN,
                        "this mxprobe core has no port probes (too old)");
        return MXP_OK;
    }
    memset(p, 0, sizeof(p));
    for (size_t i = 0; i < c->n_ports; i++)
        p[i].port = c->ports[i];
    rc = svc->tcp_probe(ctx, ctx->target->addr, p, c->n_ports);
    if (rc != MXP_OK) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN, "port probes failed: %s",
                        svc->strerror(rc));
        return MXP_OK;
    }
    open = judge_ports(ctx, p, c->n_ports);

    if (c->udp_137) {
        /* Any id will do: the core takes answers from the target's port
         * 137 only; the id tells an answer to us from stray bytes. */
        id = (uint16_t)((unsigned long)(svc->now() * 1e6) & 0xffff);
        nbstat_request(req, sizeof(req), id);
        memset(&x, 0, sizeof(x));
        x.addr = ctx->target->addr;
        x.port = NETBIOS_UDP_PORT;
        x.req = req;
        x.req_len = sizeof(req);
        x.resp = resp;
        x.cap = sizeof(resp);
        rc = svc->udp_exchange(ctx, &x);
        judge_answer(ctx, rc, &x, id);
    }
    svc->add_metric(ctx, "open_ports", (double)open, "", NAN, 0);
    if (!svc->set_result_from_details(ctx))
        svc->set_result(ctx, MXP_STATE_OK,
                        "no NetBIOS or SMB exposed (%zu TCP ports closed or "
                        "filtered%s)",
                        c->n_ports, c->udp_137 ? ", 137/udp silent" : "");
    return MXP_OK;
}

static const char *const netbios_keys[] = {"ports", "udp_137", NULL};

MXP_PLUGIN_DEFINE(.name = "netbios",
                  .summary = "port scan (off by default): NetBIOS/SMB ports "
                             "open, node status name table on 137/udp",
                  .config_keys = netbios_keys, .default_warning = NULL,
                  .default_critical = NULL, .init = netbios_init,
                  .run = netbios_run, .free = netbios_free);
