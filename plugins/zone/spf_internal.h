/*
 * spf_internal.h - what the SPF evaluator's three files share: the parsed
 * record (spf_parse.c), the evaluation context and the macro expander
 * (spf_macro.c), and the validated-name lookup of %{p} (spf.c).  Not for
 * users of the evaluator: they see spf.h only.
 */
#ifndef MXP_ZONE_SPF_INTERNAL_H
#define MXP_ZONE_SPF_INTERNAL_H

#include <stddef.h>

#include "spf.h"

#define SPF_NAME_MAX 253 /* a domain name, no trailing dot */
#define SPF_LABEL_MAX 63
#define SPF_RECORD_MAX 4096 /* one SPF record, strings concatenated */
#define SPF_EXPAND_MAX 8192 /* a macro expansion before truncation */
#define SPF_VALUE_MAX 512   /* a macro letter's value (%{s}, %{h}...) */
#define SPF_PTR_NAMES 10    /* RFC 7208 4.6.4: names from one PTR */
#define SPF_MX_NAMES 10     /* RFC 7208 4.6.4: names from one MX */
#define SPF_DEPTH_MAX 20    /* include/redirect nesting, whatever limits */

enum spf_kind {
    SPF_T_ALL,
    SPF_T_INCLUDE,
    SPF_T_A,
    SPF_T_MX,
    SPF_T_PTR,
    SPF_T_IP4,
    SPF_T_IP6,
    SPF_T_EXISTS,
    SPF_T_REDIRECT,
    SPF_T_EXP,
    SPF_T_UNKNOWN_MOD,
};

/* One term of a record; the pointers point into the record's text. */
struct spf_term {
    enum spf_kind kind;
    char qual;        /* '+', '-', '~', '?' (mechanisms) */
    const char *text; /* the term as written */
    size_t len;
    const char *spec; /* domain-spec, or NULL: the current domain */
    size_t spec_len;
    int cidr4, cidr6;      /* prefix lengths, 32/128 by default */
    unsigned char net[16]; /* ip4 (4 bytes) / ip6 network */
};

/* A parsed record: the text (NUL-terminated copy) and its terms. */
struct spf_record {
    char *text;
    size_t len;
    struct spf_term *terms;
    size_t n_terms;
    const struct spf_term *redirect; /* NULL when none */
    const struct spf_term *exp;      /* NULL when none */
};

/* The state of one check_host() call, shared by all nesting levels. */
struct spf_ctx {
    const struct spf_request *rq;
    struct spf_outcome *out;
    int v4;                         /* the client is IPv4 (or mapped) */
    unsigned char ip[16];           /* 4 bytes used when v4 */
    char local[SPF_VALUE_MAX];      /* %{l} */
    char sender_dom[SPF_VALUE_MAX]; /* %{o} */
    unsigned max_terms, max_void;
    int fatal; /* a lookup returned a status (MXP_ERR_NOMEM, _TIMEOUT..) */
    char fatal_problem[SPF_TEXT_MAX]; /* which lookup, for other statuses */
    /* The validated names of <ip> (%{p}, ptr), looked up once. */
    int ptr_state; /* 0 not yet, 1 done, -1 failed */
    int ptr_void;  /* the PTR answer was empty */
    size_t n_ptr;
    char ptr_names[SPF_PTR_NAMES][SPF_NAME_MAX + 1];
};

/* ---- spf_parse.c ---- */

/* Parses rec (len bytes, already known to start with "v=spf1") into r.
 * Returns MXP_OK, MXP_ERR_INVALID (a permerror; problem says why) or
 * MXP_ERR_NOMEM.  On success free r with spf_record_free(). */
int spf_parse_record(const char *rec, size_t len, struct spf_record *r,
                     char *problem, size_t problem_len);
void spf_record_free(struct spf_record *r);
/* 1 when rec is an SPF record: "v=spf1" (any case) then SP or the end. */
int spf_is_spf_record(const char *rec, size_t len);
/* 1 when s is a domain-spec of RFC 7208 7.1 (macro-string domain-end). */
int spf_domain_spec_ok(const char *s, size_t len);
/* 1 when s is a strict dotted quad (no leading zeros); fills out. */
int spf_parse_ip4(const char *s, size_t len, unsigned char out[4]);
/* 1 when name (no trailing dot) can be queried: 1..253 bytes, labels of
 * 1..63 bytes. */
int spf_query_name_ok(const char *name);
/* 1 when name (no trailing dot) is a fully qualified domain name as
 * <domain> must be (RFC 7208 4.3): queryable, 2 labels or more, visible
 * ASCII, a toplabel (not all-numeric) last. */
int spf_domain_ok(const char *name);
/* Turns an expanded domain-spec into a query name in place: drops one
 * trailing dot, then labels from the left until it fits in 253 bytes
 * (RFC 7208 7.3).  Returns 1 when the result can be queried. */
int spf_query_name_fix(char *name);

/* ---- spf_macro.c ---- */

/* 1 when s is a macro-string (explain: an explain-string, which also
 * allows SP and the letters c, r, t). */
int spf_macro_check(const char *s, size_t len, int explain);
/* Expands s with domain as %{d}.  Returns MXP_OK, MXP_ERR_INVALID
 * (syntax), MXP_ERR_TOO_BIG (does not fit in outlen), or the fatal status
 * of a %{p} lookup (MXP_ERR_NOMEM, MXP_ERR_TIMEOUT). */
int spf_macro_expand(struct spf_ctx *ctx, const char *domain, const char *s,
                     size_t len, int explain, char *out, size_t outlen);

/* ---- spf.c ---- */

/* Fills ctx from the request (client address, sender parts, limits).
 * MXP_ERR_INVALID for an unusable request. */
int spf_ctx_init(struct spf_ctx *ctx, const struct spf_request *rq,
                 struct spf_outcome *out);
/* The %{p} value for domain: a validated name of <ip>, one equal to or
 * under domain when there is one, else "unknown".  Returns MXP_OK or a
 * fatal status. */
int spf_p_value(struct spf_ctx *ctx, const char *domain, char *out,
                size_t outlen);

#endif
