/*
 * probe.h - port probes and one-shot UDP exchanges (svc->tcp_probe,
 * svc->udp_exchange): the core talks to the network, plugins judge.
 */
#ifndef MXP_PROBE_H
#define MXP_PROBE_H

#include <stddef.h>

#include "mxprobe/plugin.h"

#define MXP_PROBE_MAX_PORTS 64

/* Connect probes to every port of p[0..n) at once, each bounded by
 * connect_timeout (seconds) and deadline (absolute, mxp_now()); see
 * plugin.h for the contract. */
int mxp_tcp_probe(const char *addr, struct mxp_port_probe *p, size_t n,
                  double connect_timeout, double deadline);

/* One request, the first answer from exactly addr:port, bounded by
 * x->timeout (default_timeout when <= 0) and deadline; see plugin.h. */
int mxp_udp_exchange(struct mxp_udp_exchange *x, double default_timeout,
                     double deadline);

#endif
