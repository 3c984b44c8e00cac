/*
 * names.h - syntax of host names, shared by the core and (through the
 * service table) the plugins, so that all of them accept the same names.
 */
#ifndef MXP_NAMES_H
#define MXP_NAMES_H

/* 1 when s is a host name of at least two labels: letters, digits, '-'
 * (not at a label's ends) and '_' (seen in real PTR and DNSBL names),
 * labels of 1..63 bytes, at most 253 bytes, an optional trailing dot. */
int mxp_is_host_name(const char *s);
/* 1 when s is a host name whose last label is not all digits: a mail
 * domain ("example.org"), never an address ("192.0.2.25"). */
int mxp_is_domain_name(const char *s);

#endif
