/*
 * dmarc.h - RFC 7489 DMARC record parser of the zone plugin.
 *
 * Pure functions over one TXT record: no DNS, no plugin state, so the
 * tests feed it tables of records.  The record is hostile input: bounded,
 * any byte.  Problems are worded precisely ("pct=150: not 0..100") and
 * say whether receivers still apply the record.
 */
#ifndef MXP_ZONE_DMARC_H
#define MXP_ZONE_DMARC_H

#include <stddef.h>

#define DMARC_MAX_PROBLEMS 8
#define DMARC_PROBLEM_LEN 160
#define DMARC_URIS_LEN 400

enum dmarc_policy {
    DMARC_P_UNSET = 0,
    DMARC_P_NONE,
    DMARC_P_QUARANTINE,
    DMARC_P_REJECT,
};

struct dmarc_record {
    /* 1: receivers apply the record (v first, a valid p=, or p=none
     * implied by a valid rua= per RFC 7489 6.6.3); 0: they ignore it. */
    int usable;
    enum dmarc_policy p;      /* DMARC_P_NONE when implied */
    int p_implied;            /* p= missing or invalid, treated as none */
    enum dmarc_policy sp;     /* DMARC_P_UNSET: as p */
    char adkim, aspf;         /* 'r' or 's' */
    int pct;                  /* 0..100, default 100 */
    unsigned long ri;         /* default 86400 */
    char rua[DMARC_URIS_LEN]; /* as written, "" when absent */
    char ruf[DMARC_URIS_LEN];
    char fo[32];        /* default "0" */
    char rf[32];        /* default "afrf" */
    size_t n_rua_valid; /* syntactically valid rua URIs */
    char problems[DMARC_MAX_PROBLEMS][DMARC_PROBLEM_LEN];
    size_t n_problems;
};

/* 1 when the TXT text is a DMARC record per RFC 7489 6.6.3: it starts
 * with "v=DMARC1" (spaces allowed around '=', DMARC1 exact case) followed
 * by ';', space or its end.  Receivers discard every other TXT record. */
int dmarc_is_record(const char *txt, size_t len);

/* 1 when the text looks meant as a DMARC record but is not one (e.g.
 * "v=dmarc1", or v= not first), writing why into why. */
int dmarc_near_miss(const char *txt, size_t len, char *why, size_t wlen);

/* Parses a record for which dmarc_is_record() holds.  Always fills out
 * (defaults, then what the record says); problems go to out->problems. */
void dmarc_parse(const char *txt, size_t len, struct dmarc_record *out);

/* "none", "quarantine", "reject", or "" for DMARC_P_UNSET. */
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
