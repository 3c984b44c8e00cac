/*
 * nbstat.h - the NetBIOS node status query and its answer (RFC 1002
 * 4.2.17 and 4.2.18): building the request, parsing the name table.
 */
#ifndef NETBIOS_NBSTAT_H
#define NETBIOS_NBSTAT_H

#include <stddef.h>
#include <stdint.h>

#define NBSTAT_REQ_LEN 50   /* header 12 + name 34 + type 2 + class 2 */
#define NBSTAT_MAX_NAMES 32 /* kept; NUM_NAMES (a byte) may say more */
#define NBSTAT_GROUP 0x8000 /* NAME_FLAGS: G, a group name */

struct nbstat_name {
    char name[16];        /* the 15 name bytes made printable (controls and
                             bytes over 0x7e become '?'), trailing spaces
                             cut */
    unsigned char suffix; /* the 16th byte: 0x00 workstation, 0x20 server */
    uint16_t flags;
};

struct nbstat_table {
    size_t n_claimed; /* NUM_NAMES as the answer says */
    size_t n_names;   /* names kept (at most NBSTAT_MAX_NAMES) */
    struct nbstat_name names[NBSTAT_MAX_NAMES];
    int have_mac; /* the statistics held a unit ID */
    unsigned char mac[6];
};

/* Writes the request (name "*", type NBSTAT, class IN) with transaction
 * id; returns NBSTAT_REQ_LEN, or 0 when len is too small. */
size_t nbstat_request(unsigned char *out, size_t len, uint16_t id);

/* What an answer is. */
enum nbstat_verdict {
    NBSTAT_TABLE = 0, /* a node status answer, parsed into t */
    NBSTAT_BROKEN,    /* an NBNS answer to our query whose table is
                         malformed: counts or lengths that lie */
    NBSTAT_NOT_NBNS,  /* not an answer to our query at all */
};

/* Parses buf[0..len) as the answer to the request with id.  Every count
 * and length is checked against the bytes there before it is used; why
 * gets the reason when the verdict is not NBSTAT_TABLE. */
enum nbstat_verdict nbstat_parse(const unsigned char *buf, size_t len,
                                 uint16_t id, struct nbstat_table *t, char *why,
                                 size_t whylen);

/* The host name (the first unique name of suffix 0x00) and the workgroup
 * or domain (the first group name of suffix 0x00), or NULL. */
const char *nbstat_host(const struct nbstat_table *t);
const char *nbstat_workgroup(const struct nbstat_table *t);

#endif
