/*
 * target.c - resolve the host to probe (target.h).
 */
#include "target.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"

static int set_addr(struct mxp_target_store *out, int family,
                    const unsigned char *bytes)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};
    char text[INET6_ADDRSTRLEN];

    /* ::ffff:192.0.2.1 is an IPv4 host: its PTR lives in in-addr.arpa
     * and DNSBLs know it by its IPv4 name. */
    if (family == AF_INET6 && memcmp(bytes, v4mapped, 12) == 0) {
        family = AF_INET;
        bytes += 12;
    }

    memset(out->t.addr_bytes, 0, sizeof(out->t.addr_bytes));
    memcpy(out->t.addr_bytes, bytes, family == AF_INET ? 4 : 16);
    out->t.family = family;
    if (inet_ntop(family, bytes, text, sizeof(text)) == NULL)
        return MXP_ERR_INVALID;
    out->addr = strdup(text);
    if (out->addr == NULL)
        return MXP_ERR_NOMEM;
    out->t.addr = out->addr;
    return MXP_OK;
}

int mxp_target_resolve(const struct mxp_dns_config *dns, const char *host,
                       unsigned port, const char *domain, double deadline,
                       struct mxp_target_store *out, char *err,
                       size_t errlen)
{
    struct mxp_resolver *r = NULL;
    struct mxp_arena *arena = NULL;
    struct mxp_dns_query q[2];
    unsigned char bytes[16];
    int family, rc, i;

    memset(out, 0, sizeof(*out));
    out->host = strdup(host);
    out->domain = domain ? strdup(domain) : NULL;
    if (out->host == NULL || (domain && out->domain == NULL))
        return MXP_ERR_NOMEM;
    out->t.host = out->host;
    out->t.domain = out->domain;
    out->t.port = port;
    if (mxp_parse_addr(host, &family, bytes) == 0)
        return set_addr(out, family, bytes);

    rc = mxp_resolver_new(dns, &r);
    if (rc != MXP_OK) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host,
                 "DNS resolver could not be set up");
        goto done;
    }
    arena = mxp_arena_new();
    if (arena == NULL) {
        rc = MXP_ERR_NOMEM;
        goto done;
    }
    memset(q, 0, sizeof(q));
    q[0].name = host;
    q[0].type = MXP_DNS_A;
    q[1].name = host;
    q[1].type = MXP_DNS_AAAA;
    rc = mxp_dns_batch(r, arena, q, 2, deadline);
    if (rc != MXP_OK) {
        snprintf(err, errlen, "cannot resolve '%s': DNS failure", host);
        goto done;
    }
    for (i = 0; i < 2; i++) {
        if (q[i].result == MXP_DNS_ANSWER && q[i].n_rr > 0) {
            rc = set_addr(out, i == 0 ? AF_INET : AF_INET6, q[i].rr[0].addr);
            goto done;
        }
    }
    /* Say why: the IPv4 answer's reason unless it was merely empty. */
    i = (q[0].result == MXP_DNS_NODATA) ? 1 : 0;
    snprintf(err, errlen, "cannot resolve '%s': %s", host,
             mxp_dns_result_name(q[i].result));
    rc = MXP_ERR_DNS;
done:
    mxp_arena_free(arena);
    mxp_resolver_free(r);
    return rc;
}

void mxp_target_store_free(struct mxp_target_store *s)
{
    free(s->host);
    free(s->addr);
    free(s->domain);
    memset(s, 0, sizeof(*s));
}
