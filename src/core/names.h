/*
 * names.h - syntax of host names, and whether a name is an ISP's generic
 * one, shared by the core and (through the service table) the plugins, so
 * that all of them accept and judge the same names alike.
 */
#ifndef MXP_NAMES_H
#define MXP_NAMES_H

#include <stddef.h>

/* 1 when s is a host name of at least two labels: letters, digits, '-'
 * (not at a label's ends) and '_' (seen in real PTR and DNSBL names),
 * labels of 1..63 bytes, at most 253 bytes, an optional trailing dot. */
int mxp_is_host_name(const char *s);
/* 1 when s is a host name whose last label is not all digits: a mail
 * domain ("example.org"), never an address ("192.0.2.25"). */
int mxp_is_domain_name(const char *s);
/* svc->name_generic: 1 when name looks like the generic name of an ISP's
 * pool of customer addresses ("dsl-192-0-2-4.dyn.isp.example"): it holds
 * the address addr (family AF_INET/AF_INET6) written in one of the usual
 * ways, or a pool word ("dyn", "dsl", "pool", "host-"...) as a whole
 * token left of its registered domain.  Writes why ("contains the
 * address digits", "contains 'dsl'") into why; 0 when it does not. */
int mxp_name_generic(const char *name, int family, const unsigned char *addr,
                     char *why, size_t len);
/* svc->name_special: 1 when the DNS never delegates name, a special-use
 * or private-use suffix (plugin.h says which); .test and .example are
 * not among them. */
int mxp_name_special(const char *name);

#endif
