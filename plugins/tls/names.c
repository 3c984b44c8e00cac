/*
 * names.c - the MX names a certificate should carry.  Senders reach a
 * mail server by the name of its domain's MX record, so with -D the
 * certificate is also held against the MX hosts that point at the
 * target.  The lookups run while the probes talk to the server: the MX
 * query at the start, the hosts' addresses when it is answered.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "tls.h"

#define MAX_MX (sizeof(((struct tls_names *)0)->mx_names) / TLS_NAME_LEN)

void tls_names_start(struct mxp_ctx *ctx, struct tls_names *n)
{
    const char *domain = ctx->target->domain;

    memset(n, 0, sizeof(*n));
    if (domain == NULL || domain[0] == '\0' || !ctx->svc->is_host_name(domain))
        return;
    n->mx.name = domain;
    n->mx.type = MXP_DNS_MX;
    if (ctx->svc->dns_start(ctx, &n->mx, 1, &n->b_mx) != MXP_OK)
        n->b_mx = NULL;
}

/* The MX answer is in: ask for each host's addresses. */
static void ask_addresses(struct mxp_ctx *ctx, struct tls_names *n)
{
    const struct mxp_services *svc = ctx->svc;
    size_t i;

    for (i = 0; i < n->mx.n_rr && n->n_mx < MAX_MX; i++) {
        const char *host = n->mx.rr[i].text;

        if (host == NULL || !svc->is_host_name(host) ||
            strlen(host) >= TLS_NAME_LEN)
            continue;
        snprintf(n->mx_names[n->n_mx], TLS_NAME_LEN, "%s", host);
        /* One query a host: the target's family is the one that matters. */
        n->addr[n->n_mx].name = n->mx_names[n->n_mx];
        n->addr[n->n_mx].type =
            ctx->target->family == AF_INET6 ? MXP_DNS_AAAA : MXP_DNS_A;
        n->n_mx++;
    }
    n->n_addr = n->n_mx;
    if (n->n_addr > 0 &&
        svc->dns_start(ctx, n->addr, n->n_addr, &n->b_addr) != MXP_OK)
        n->b_addr = NULL;
}

void tls_names_poll(struct mxp_ctx *ctx, struct tls_names *n)
{
    if (n->b_mx == NULL || !ctx->svc->dns_done(ctx, n->b_mx))
        return;
    ctx->svc->dns_collect(ctx, n->b_mx);
    n->b_mx = NULL;
    if (n->mx.result == MXP_DNS_ANSWER)
        ask_addresses(ctx, n);
}

void tls_names_finish(struct mxp_ctx *ctx, struct tls_names *n)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_target *t = ctx->target;
    size_t i, kept = 0;

    if (n->b_mx != NULL) {
        svc->dns_collect(ctx, n->b_mx);
        n->b_mx = NULL;
        if (n->mx.result == MXP_DNS_ANSWER)
            ask_addresses(ctx, n);
    }
    if (n->b_addr == NULL) {
        n->n_mx = 0;
        return;
    }
    svc->dns_collect(ctx, n->b_addr);
    n->b_addr = NULL;
    for (i = 0; i < n->n_addr; i++) {
        if (!svc->dns_has_addr(&n->addr[i], t->family, t->addr_bytes))
            continue;
        if (kept != i)
            memcpy(n->mx_names[kept], n->mx_names[i], TLS_NAME_LEN);
        kept++;
    }
    n->n_mx = kept;
}
