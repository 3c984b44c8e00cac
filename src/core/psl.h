/*
 * psl.h - registered domains from the Public Suffix List (libpsl).
 *
 * "mail.example.co.uk" -> "example.co.uk".  The system's list
 * (/usr/share/publicsuffix, Debian's publicsuffix package) is preferred
 * when present as it is kept current; libpsl's built-in copy otherwise.
 */
#ifndef MXP_PSL_H
#define MXP_PSL_H

/* A pointer into name at its registered domain, or NULL when name is a
 * public suffix itself, has no registered domain or no list is usable.
 * Case matters to libpsl: pass lowercase names. */
const char *mxp_registered_domain(const char *name);

/* Frees the loaded list (at exit, for leak checkers). */
void mxp_psl_cleanup(void);

#endif
