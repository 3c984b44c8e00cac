/*
 * https.h - svc->https_get: one HTTPS GET for a plugin (an MTA-STS
 * policy), through the job's own DNS and http.c.
 *
 * The URL is parsed strictly here and rebuilt, the host resolved with the
 * run's c-ares resolver (never the system's), and libcurl handed those
 * addresses (CURLOPT_RESOLVE), so that it connects only where mxprobe's
 * DNS says.  The pieces are public for the unit tests.
 */
#ifndef MXP_HTTPS_H
#define MXP_HTTPS_H

#include <stddef.h>

#include "buf.h"
#include "dns.h"
#include "mxprobe/plugin.h"

#define MXP_HTTPS_DEFAULT_BODY (64 * 1024)
#define MXP_HTTPS_MAX_BODY (1024 * 1024)
#define MXP_HTTPS_MAX_ADDRS 8 /* addresses given to libcurl, at most */

struct mxp_https_url {
    char host[254]; /* lower case, no trailing dot; an IPv6 literal
                       without its brackets */
    int literal;    /* host is a numeric address: no DNS */
    unsigned port;  /* 443 when not given */
    char url[2048]; /* rebuilt: https://host[:port]/path */
};

/* Parses "https://host[:port][/path]": MXP_OK, or MXP_ERR_INVALID with
 * the words in err (not https, user info, a host that is not a DNS name
 * or an address, a bad port, spaces or control bytes, too long). */
int mxp_https_url_parse(const char *url, struct mxp_https_url *u, char *err,
                        size_t errlen);

/* The body cap of a request: 0 gives 64 KiB, more than 1 MiB 1 MiB. */
size_t mxp_https_body_cap(size_t max_body);

/* The CURLOPT_RESOLVE entry "host:port:a1,a2..." of n addresses (IPv6 in
 * brackets): bytes written, 0 when it does not fit. */
size_t mxp_https_resolve_entry(const char *host, unsigned port,
                               const char *const *addrs, size_t n, char *out,
                               size_t outlen);

/* What a GET needs from its job. */
struct mxp_https_env {
    struct mxp_resolver *resolver; /* the run's DNS */
    struct mxp_arena *arena;       /* the body's home until run() ends */
    int family;                    /* AF_INET (-4): no AAAA; else 0 */
    double connect_timeout;        /* probe.connect_timeout */
    double command_timeout;        /* when g->timeout <= 0 */
    double dns_deadline;           /* absolute, for the A/AAAA batch */
    double deadline;               /* absolute: the job's */
    /* One transcript line ('H' a response, '!' a failure); may be NULL. */
    void (*transcript)(void *user, char dir, const char *line);
    void *transcript_user;
};

/* svc->https_get (plugin.h has the contract). */
int mxp_https_get(const struct mxp_https_env *env, struct mxp_https_get *g);

#endif
