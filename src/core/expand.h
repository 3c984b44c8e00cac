/*
 * expand.h - what a run checks: host names, mail domains and netblocks
 * turned into the addresses to probe (DESIGN.md section 6).
 *
 * The expansion runs in a forked child of its own (the "expander"), so it
 * overlaps the checks of the addresses it already found, and so that the
 * DNS answers and the sweep, hostile input both, are parsed outside the
 * process that prints the report.  It streams its findings to the parent
 * over a pipe, entry by entry, in the order of the entries: everything of
 * entry 0, then of entry 1...  The parent reads them without blocking
 * (mxp_expand_read) from its poll loop.
 *
 *   MXP_ENTRY_HOST    a numeric address: itself.  A name: its A and AAAA
 *                     records, every one (IPv4 first, each family in the
 *                     answer's order), as restricted by family.
 *   MXP_ENTRY_DOMAIN  the MX records by preference (equal preferences in
 *                     answer order), then each MX host's addresses as for
 *                     a host; no MX: the domain's own A/AAAA (RFC 5321
 *                     5.1, the implicit MX); a Null MX (RFC 7505): no
 *                     address and an error saying so.
 *   MXP_ENTRY_CIDR    every address of the block whose port answers a TCP
 *                     connect (connect only, then close: no SMTP), at most
 *                     rate connects started per second and 256 at once,
 *                     each bounded by connect_timeout; the network and
 *                     broadcast addresses of an IPv4 block up to /30 are
 *                     left out.  Found addresses stream as they answer,
 *                     in address order within the block.
 *
 * Every address is checked once per entry: a name listed twice in an MX
 * set, or two MX names with one address, give one address (the first
 * host name that led to it).
 */
#ifndef MXP_EXPAND_H
#define MXP_EXPAND_H

#include <stddef.h>

#include "config.h"
#include "dns.h"

/* A block may hold at most this many addresses (/16, /112). */
#define MXP_CIDR_MAX_ADDRS 65536u

/* One entry to expand (from -H/-D, or one of targets:). */
struct mxp_entry {
    enum mxp_entry_kind kind;
    const char *text; /* name, address, CIDR or domain, as written */
    unsigned port;    /* the port a CIDR sweep connects to */
};

struct mxp_expand_settings {
    struct mxp_dns_config dns;
    int family;            /* 0: both; AF_INET or AF_INET6: only that one */
    double scan_rate;      /* CIDR: connects started per second (> 0) */
    double connect_timeout; /* CIDR: seconds per connect (> 0) */
    double dns_deadline;   /* seconds one entry's DNS may take (> 0) */
};

/* One finding, valid during the callback only.
 * An address:  addr != NULL; host is the name that led to it (the MX
 *              host, the host entry's name, or the address itself).
 * The end of an entry: last = 1, addr = NULL; error is NULL, or one
 *              sentence when the entry gave no address at all ("cannot
 *              resolve 'mx.example': no such name (NXDOMAIN)", "example.org
 *              has a Null MX (RFC 7505): it accepts no mail").  A CIDR
 *              entry where nothing answered ends with error NULL.
 *              warning is NULL, or (when the entry did give addresses)
 *              one sentence on a lookup that failed, so that addresses
 *              may be missing ("the AAAA lookup of 'mx1.example.org'
 *              failed (no answer (timeout)): its IPv6 addresses are not
 *              checked"): never a false "all checked".
 * Every entry ends with exactly one last = 1 record, even when the
 * expander dies (then with an error). */
struct mxp_expansion {
    size_t entry;
    const char *host;
    const char *addr;            /* numeric text, or NULL */
    int family;                  /* AF_INET or AF_INET6 with addr */
    const unsigned char *bytes;  /* 4 or 16 bytes with addr */
    int last;
    const char *error;
    const char *warning;
};

typedef void (*mxp_expand_cb)(void *user, const struct mxp_expansion *x);

/* Checks entry text for its kind before anything starts: a CIDR that does
 * not parse, has host bits set ("192.0.2.1/24": say "192.0.2.0/24"), or
 * holds more than MXP_CIDR_MAX_ADDRS addresses; a host that is neither an
 * address nor a host name; a domain that is not a domain name.  MXP_OK,
 * or MXP_ERR_INVALID with one sentence in err. */
int mxp_entry_check(const struct mxp_entry *e, char *err, size_t errlen);

/* The kind -H TEXT means: CIDR when it holds a '/', else HOST. */
enum mxp_entry_kind mxp_entry_kind_of(const char *text);

struct mxp_expander;

/* Forks the expander over entries[0..n) (copied: the caller may free
 * them).  MXP_OK or an error status. */
int mxp_expand_start(const struct mxp_entry *entries, size_t n,
                     const struct mxp_expand_settings *set,
                     struct mxp_expander **out);
/* The pipe to poll for POLLIN; -1 once everything was read. */
int mxp_expand_fd(const struct mxp_expander *x);
/* Reads what is there without blocking and calls cb for each finding, in
 * order.  After EOF, or a corrupt stream, it reports every entry not yet
 * ended as ended with an error ("the expansion of ... failed"). */
void mxp_expand_read(struct mxp_expander *x, mxp_expand_cb cb, void *user);
/* 1 once every entry has ended. */
int mxp_expand_done(const struct mxp_expander *x);
/* Kills the child if it still runs, reaps it, frees. */
void mxp_expand_free(struct mxp_expander *x);

#endif
