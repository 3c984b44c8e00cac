/*
 * forms.h - the envelope forms the relay check tries.
 *
 * Each form is a MAIL FROM / RCPT TO pair that some mail server, somewhere,
 * has been fooled into relaying: the plain foreign recipient, the `%` hack,
 * quoted local parts, source routes, bang paths, and senders the server
 * may trust (the null sender, its own name, its own domain).  The list
 * covers every form nmap's smtp-open-relay tries, in the same spirit.
 */
#ifndef MXP_RELAY_FORMS_H
#define MXP_RELAY_FORMS_H

#include <stddef.h>

#define RELAY_MAX_FORMS 24
#define RELAY_ADDR_LEN 600 /* "<...>" of an address built from the parts */

/* The parts forms are built of (see relay-contract: F, T, D, S, I, R). */
struct relay_parts {
    const char *sender;    /* F: local part of the sender */
    const char *recipient; /* T: local part of the recipient */
    const char *external;  /* D: the foreign domain */
    const char *server;    /* S: the server's own name */
    const char *literal;   /* I: "[192.0.2.25]" or "[IPv6:2001:db8::1]" */
    const char *own;       /* R: registered domain of S, or NULL */
};

struct relay_form {
    char mail[RELAY_ADDR_LEN]; /* "<relaytest@[192.0.2.25]>" */
    char rcpt[RELAY_ADDR_LEN]; /* "<relaytest%example.net@[192.0.2.25]>" */
    int plain_rcpt;            /* rcpt is exactly <T@D> */
};

/* Fills forms[0..] (at most max) and returns how many; the own-domain
 * sender form only when R is set and differs from S, and a shape that
 * gives the envelope of an earlier form (S the same as I) not at all.
 * 0 when a part is missing or an address would not fit. */
size_t relay_build_forms(const struct relay_parts *p, struct relay_form *forms,
                         size_t max);

/* 1 when s can be the local part of our probe addresses: 1..64 bytes of
 * RFC 5322 atext or inner dots, and none of the characters the forms give
 * meaning to ('%', '!', '@', '"'). */
int relay_local_part_ok(const char *s);

/* The address literal of a numeric address into out: "[192.0.2.25]" or
 * "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). */
void relay_address_literal(int family, const char *addr, char *out,
                           size_t len);

#endif
