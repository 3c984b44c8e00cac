/*
 * target.h - turn -H HOST into an address to probe.
 *
 * A numeric address is used as it is.  A name is resolved through the
 * configured DNS servers (dns.c), never the system resolver, so a test
 * that names its own --dns-server stays on it.  IPv4 is preferred when a
 * name has both, as most MTAs connect over IPv4 first.
 */
#ifndef MXP_TARGET_H
#define MXP_TARGET_H

#include <stddef.h>

#include "dns.h"
#include "mxprobe/plugin.h"

/* A target plus the strings it points to. */
struct mxp_target_store {
    struct mxp_target t;
    char *host;
    char *addr;
    char *domain;
};

/* Resolves host before deadline.  On failure err holds a sentence such
 * as "cannot resolve 'mx.example': no such name (NXDOMAIN)" and the
 * store still carries host/port/domain for the report. */
int mxp_target_resolve(const struct mxp_dns_config *dns, const char *host,
                       unsigned port, const char *domain, double deadline,
                       struct mxp_target_store *out, char *err,
                       size_t errlen);
void mxp_target_store_free(struct mxp_target_store *s);

#endif
