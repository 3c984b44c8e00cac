/*
 * mta_sts.h - RFC 8461 MTA-STS and RFC 8460 TLS-RPT parsers of the zone
 * plugin: the _mta-sts TXT record, the policy file served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, MX pattern matching,
 * and the _smtp._tls TXT record.
 *
 * Pure functions over bytes (no DNS, no HTTP, no plugin state), so that
 * tests and the fuzzer feed them tables.  The input is hostile: any byte,
 * any length.  Each parser returns an enum mta_sts_rc and, on failure,
 * writes one sentence into the caller's err[errlen] saying where (the
 * line, the field) and what is wrong.  Only mta_sts_policy_parse
 * allocates; mta_sts_policy_free releases it.
 */
#ifndef MXP_ZONE_MTA_STS_H
#define MXP_ZONE_MTA_STS_H

#include <stddef.h>

/* The biggest policy file accepted (RFC 8461 3.3 lets senders cap it;
 * 64 KiB is what the issue fixes). */
#define MTA_STS_POLICY_MAX 65536
/* RFC 8461 3.2: max_age is at most 31557600 s (about a year). */
#define MTA_STS_MAX_AGE_MAX 31557600L
#define MTA_STS_NAME_LEN 256 /* a domain name, NUL included */
#define MTA_STS_ID_LEN 33    /* 1..32 alphanumerics, NUL included */
#define TLSRPT_MAX_RUA 8
#define TLSRPT_URI_LEN 512

enum mta_sts_rc {
    MTA_STS_OK = 0,
    MTA_STS_BAD,       /* syntax or content error, err says which */
    MTA_STS_NONE,      /* no record of the kind among the TXT strings */
    MTA_STS_SEVERAL,   /* more than one record: senders ignore them */
    MTA_STS_OVERSIZED, /* policy bigger than MTA_STS_POLICY_MAX */
    MTA_STS_NOMEM,
};

enum mta_sts_mode {
    MTA_STS_MODE_UNSET = 0,
    MTA_STS_MODE_ENFORCE,
    MTA_STS_MODE_TESTING,
    MTA_STS_MODE_NONE,
};

/* ---- _mta-sts TXT (RFC 8461 3.1) ---------------------------------- */

struct mta_sts_txt {
    char id[MTA_STS_ID_LEN];
    /* A second id= was there: RFC 8461 3.2 has parsers keep the first
     * of a field and ignore the others (TXT records and policies
     * alike), so it only makes a note. */
    int dup_id;
};

/* 1 when txt[len] begins like an MTA-STS record ("v=STSv1" then the end,
 * ";" or white space): the records senders keep among the TXT answers. */
int mta_sts_txt_is_record(const char *txt, size_t len);

/* Parses one record (its strings already concatenated): "v=STSv1" first
 * (exact case), then ';'-separated fields, an id= of 1..32 letters and
 * digits (the first one; others only set dup_id), extensions name=value
 * allowed. */
enum mta_sts_rc mta_sts_txt_parse(const char *txt, size_t len,
                                  struct mta_sts_txt *out, char *err,
                                  size_t errlen);

/* Over all TXT answers of _mta-sts.<domain> (texts[i], lens[i]): picks
 * the one MTA-STS record (index into *which) and parses it.
 * MTA_STS_NONE when there is none, MTA_STS_SEVERAL when there are more
 * than one (RFC 8461 3.1: then the domain has no usable policy). */
enum mta_sts_rc mta_sts_txt_select(const char *const *texts, const size_t *lens,
                                   size_t n, size_t *which,
                                   struct mta_sts_txt *out, char *err,
                                   size_t errlen);

/* ---- the policy file (RFC 8461 3.2) -------------------------------- */

struct mta_sts_policy {
    enum mta_sts_mode mode;
    long max_age;
    size_t n_mx;
    char (*mx)[MTA_STS_NAME_LEN]; /* n_mx patterns, as written */
    /* The first empty line (1-based; 0: none).  The RFC's ABNF has no
     * empty lines, but senders commonly skip them, so this is only kept
     * for a note. */
    unsigned blank_line;
    /* The first repeat of a field other than mx (1-based line; 0: none)
     * and its key: RFC 8461 3.2 has senders keep the first and ignore
     * the others, so this too is only kept for a note. */
    unsigned dup_line;
    const char *dup_key; /* "version", "mode", "max_age" (static) */
    /* The first line whose key is a known one in another case ("Mode",
     * "MX"; 0: none) and that known key: keys are case-sensitive, so
     * senders take it for an extension and ignore it. */
    unsigned case_line;
    const char *case_key; /* static */
};

/* Parses body[len] into *out (zeroed first).  On MTA_STS_OK the caller
 * owns out->mx and releases it with mta_sts_policy_free; on any other
 * result nothing is left allocated.  Lines end in LF or CRLF. */
enum mta_sts_rc mta_sts_policy_parse(const char *body, size_t len,
                                     struct mta_sts_policy *out, char *err,
                                     size_t errlen);
void mta_sts_policy_free(struct mta_sts_policy *p);

/* 1 when mx_name matches one of p's mx patterns: case-insensitive, a
 * trailing dot on either side ignored, "*.example.com" matching exactly
 * one more leftmost label ("mx1.example.com", not "example.com", not
 * "a.b.example.com"). */
int mta_sts_mx_matches(const struct mta_sts_policy *p, const char *mx_name);
/* The same test against one pattern. */
int mta_sts_pattern_matches(const char *pattern, const char *mx_name);

const char *mta_sts_mode_name(enum mta_sts_mode m);

/* ---- _smtp._tls TXT (RFC 8460 3) ----------------------------------- */

struct tlsrpt_record {
    size_t n_rua;      /* URIs kept, at most TLSRPT_MAX_RUA */
    size_t n_rua_more; /* valid URIs beyond those, checked but not kept */
    char rua[TLSRPT_MAX_RUA][TLSRPT_URI_LEN];
};

/* 1 when txt begins like a TLS-RPT record ("v=TLSRPTv1" then the end,
 * ";" or white space). */
int tlsrpt_is_record(const char *txt, size_t len);

/* "v=TLSRPTv1" first, then fields; exactly one rua= with one or more
 * ','-separated mailto: or https: URIs (commas and '!' inside a URI
 * percent-encoded, RFC 8460 3), extensions allowed. */
enum mta_sts_rc tlsrpt_parse(const char *txt, size_t len,
                             struct tlsrpt_record *out, char *err,
                             size_t errlen);

/* As mta_sts_txt_select, for the TXT answers of _smtp._tls.<domain>. */
enum mta_sts_rc tlsrpt_select(const char *const *texts, const size_t *lens,
                              size_t n, size_t *which,
                              struct tlsrpt_record *out, char *err,
                              size_t errlen);

#endif
