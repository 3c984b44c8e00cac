/*
 * sweep.h - netblocks: CIDR text, and the polite connect sweep that finds
 * which addresses of a block listen on a port (expand.h, MXP_ENTRY_CIDR).
 *
 * The sweep only connects and closes (no byte is sent), starts at most
 * rate connects a second and keeps at most MXP_SWEEP_MAX_INFLIGHT open at
 * once, so a /16 at the default 100/s takes 11 minutes and never floods
 * anybody's SYN queue.  Results come in address order.
 */
#ifndef MXP_SWEEP_H
#define MXP_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#define MXP_SWEEP_MAX_INFLIGHT 256

struct mxp_cidr {
    int family;            /* AF_INET or AF_INET6 */
    unsigned char net[16]; /* network address (4 or 16 bytes used) */
    unsigned prefix;       /* 0..32 or 0..128 */
    uint32_t count;        /* addresses in the block (<= 65536) */
    uint32_t first, last;  /* the indexes swept: no network/broadcast
                              of an IPv4 block up to /30 */
};

/* Parses "192.0.2.0/24" or "2001:db8::/120".  MXP_OK, or MXP_ERR_INVALID
 * with one sentence in err: not a CIDR, host bits set (naming the network
 * address to write instead), or more than MXP_CIDR_MAX_ADDRS addresses. */
int mxp_cidr_parse(const char *text, struct mxp_cidr *out, char *err,
                   size_t errlen);
/* The address at index i of the block (i < count), 4 or 16 bytes. */
void mxp_cidr_addr(const struct mxp_cidr *c, uint32_t i, unsigned char out[16]);

/* Called for each address that accepted a connect, in address order;
 * return nonzero to stop the sweep. */
typedef int (*mxp_sweep_cb)(void *user, int family, const unsigned char *bytes);

/* Sweeps c->first..c->last on port.  MXP_OK when it ran to the end (err
 * then still holds a sentence when some connects failed on this side,
 * e.g. no IPv6 route: for those addresses the sweep could not tell, and
 * else err is ""); MXP_ERR_INVALID when cb stopped it; MXP_ERR_IO with
 * err when sockets could not be had at all. */
int mxp_sweep(const struct mxp_cidr *c, unsigned port, double rate,
              double timeout, mxp_sweep_cb cb, void *user, char *err,
              size_t errlen);

#endif
