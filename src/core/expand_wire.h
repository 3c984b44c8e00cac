/*
 * expand_wire.h - the records the expander child sends to the parent
 * (internal to expand.c and expand_child.c; public for tests).
 *
 * A record is a 4-byte body length (host order: both ends are this
 * process image), then the body:
 *   'A' u32 entry, u8 family (4 or 6), 4 or 16 address bytes, host name
 *       (the rest: 1..MXP_EXPAND_MAX_HOST printable bytes, no NUL)
 *   'E' u32 entry, error (0..MXP_EXPAND_MAX_ERROR printable bytes;
 *       none: no error), then optionally a NUL and the warning
 *       (1..MXP_EXPAND_MAX_ERROR printable bytes)
 * Entries come in order: every record names the first entry not ended
 * yet, and an 'E' ends it.  The parent trusts none of it: a record that
 * breaks a rule, or a body over MXP_EXPAND_MAX_RECORD, ends the stream as
 * corrupt.  The address text the parent hands on is its own inet_ntop of
 * the bytes.
 */
#ifndef MXP_EXPAND_WIRE_H
#define MXP_EXPAND_WIRE_H

#include <stddef.h>
#include <sys/types.h>

#include "expand.h"

#define MXP_EXPAND_MAX_HOST 255
#define MXP_EXPAND_MAX_ERROR 512
#define MXP_EXPAND_MAX_RECORD (1 + 4 + 2 * MXP_EXPAND_MAX_ERROR + 1)
/* Addresses one entry may yield: a whole CIDR block. */
#define MXP_EXPAND_MAX_PER_ENTRY MXP_CIDR_MAX_ADDRS

/* Child side: encodes one record into buf (at least 4 +
 * MXP_EXPAND_MAX_RECORD bytes); returns its length.  Texts too long are
 * cut, bytes outside 0x20..0x7e become '?'. */
size_t mxp_expand_encode_addr(unsigned char *buf, size_t entry, int family,
                              const unsigned char *bytes, const char *host);
size_t mxp_expand_encode_end(unsigned char *buf, size_t entry,
                             const char *error, const char *warning);

/* A parent side over fd (read end, made non-blocking here) written by
 * pid (-1: nobody to kill or reap, as in tests).  Takes fd. */
int mxp_expand_attach(const struct mxp_entry *entries, size_t n, int fd,
                      pid_t pid, struct mxp_expander **out);

/* The child's pid (-1 once reaped or for an attached pipe), for tests. */
pid_t mxp_expand_pid(const struct mxp_expander *x);

/* The child's work: expands entries[0..n) and writes the records to fd.
 * Returns when done (or when the parent went away). */
void mxp_expand_child(const struct mxp_entry *entries, size_t n,
                      const struct mxp_expand_settings *set, int fd);

#endif
