/*
 * dns_script.h - a scripted DNS server for unit tests: a thread on
 * 127.0.0.1 (UDP, port picked by the kernel) that answers each query by
 * a table of (name, type) -> rcode and records, optionally after a delay
 * or never, and counts what it was asked.  A forked child (the expander)
 * reaches it as well as the test's own thread does.
 *
 * Records are written as text, one per ';': "A 127.0.0.1",
 * "AAAA ::1", "MX 10 mx1.test", "MX 0 ." (a Null MX), "CNAME x.test".
 * Names not in the table answer NXDOMAIN.
 */
#ifndef DNS_SCRIPT_H
#define DNS_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

/* Starts the server; returns its port (0 on failure). */
unsigned dnss_start(void);
void dnss_stop(void);
/* Forgets every answer and count. */
void dnss_clear(void);
/* name/type answer rcode (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN...) with
 * records after delay_ms; delay_ms < 0: never answer. */
void dnss_add(const char *name, uint16_t type, unsigned rcode, int delay_ms,
              const char *records);
/* The answers to name/type carry the AD bit (ad 1) or not (0, the
 * default), whatever their rcode. */
void dnss_set_ad(const char *name, uint16_t type, int ad);
/* Header bytes 2-3 (flags: RD 0x0100, AD 0x0020, CD 0x0010) and ARCOUNT
 * (an EDNS OPT record, where the DO bit would be) of the last query. */
void dnss_last_query(unsigned *flags, unsigned *arcount);
/* Queries seen for name/type (type 0: any). */
unsigned dnss_asked(const char *name, uint16_t type);
/* The most queries that were waiting for their answers at once. */
unsigned dnss_peak_pending(void);
/* Reads the question of a DNS query q: its name (lowercase as sent,
 * dotted, at most namecap bytes with the NUL) and type, and where the
 * question ends (qend may be NULL).  0, or -1 when malformed. */
int dnss_parse_question(const unsigned char *q, size_t len, char *name,
                        size_t namecap, unsigned *type, size_t *qend);
/* "127.0.0.1:PORT" of the running server. */
const char *dnss_server(void);

#endif
