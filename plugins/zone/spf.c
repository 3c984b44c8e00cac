/*
 * spf.c - RFC 7208 check_host(): record lookup and selection, the
 * mechanisms, include and redirect, the processing limits (10 DNS-querying
 * terms, 2 void lookups, 10 MX and PTR names), the validated names of the
 * client (ptr, %{p}) and the exp= explanation.  DNS answers come one at a
 * time from the caller's spf_lookup_fn; spf_parse.c and spf_macro.c do
 * the syntax.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "spf_internal.h"

/* What evaluating one term gave. */
enum spf_m {
    M_NOMATCH,
    M_MATCH,
    M_TEMP,  /* temperror (problem set) */
    M_PERM,  /* permerror (problem set) */
    M_FATAL, /* ctx->fatal set: out of memory, the deadline, no lookup */
};

/* What one DNS question gave. */
enum spf_dq {
    DQ_DATA,  /* at least one record */
    DQ_EMPTY, /* NXDOMAIN or no data: a void lookup */
    DQ_ERROR, /* the lookup failed */
    DQ_FATAL,
    DQ_PENDING, /* not known yet (planning): as though nothing matched */
};

const char *spf_result_name(enum spf_result r)
{
    static const char *const names[] = {
        "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
    };

    if ((unsigned)r >= sizeof names / sizeof *names)
        return "unknown";
    return names[r];
}

static const char *dns_words(enum mxp_dns_result r)
{
    switch (r) {
    case MXP_DNS_SERVFAIL:
        return "SERVFAIL";
    case MXP_DNS_REFUSED:
        return "REFUSED";
    case MXP_DNS_TIMEOUT:
        return "timeout";
    case MXP_DNS_BADRESP:
        return "bad response";
    default:
        return "resolver failure"; /* the core's words for the rest */
    }
}

static const char *type_name(uint16_t type)
{
    switch (type) {
    case MXP_DNS_A:
        return "A";
    case MXP_DNS_AAAA:
        return "AAAA";
    case MXP_DNS_MX:
        return "MX";
    case MXP_DNS_PTR:
        return "PTR";
    default:
        return "TXT";
    }
}

/* The first problem is the one reported: it is where evaluation stopped. */
__attribute__((format(printf, 2, 3))) static void
set_problem(struct spf_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    if (ctx->out->problem[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(ctx->out->problem, sizeof ctx->out->problem, fmt, ap);
    va_end(ap);
}

/* ---- the request ---- */

static int copy_value(char *dst, const char *src, size_t len)
{
    if (len >= SPF_VALUE_MAX)
        return 0;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 1;
}

/* <sender> as local-part and domain; "postmaster" when it has no local
 * part, <domain> when it is empty (RFC 7208 4.3). */
static int split_sender(struct spf_ctx *ctx)
{
    const char *s = ctx->rq->sender != NULL ? ctx->rq->sender : "";
    const char *at = strrchr(s, '@');
    const char *dom = at != NULL ? at + 1 : (s[0] != '\0' ? s : NULL);

    if (at == NULL || at == s)
        snprintf(ctx->local, sizeof ctx->local, "postmaster");
    else if (!copy_value(ctx->local, s, (size_t)(at - s)))
        return 0;
    if (dom == NULL) /* a <domain> this long gives "none" anyway */
        dom = strlen(ctx->rq->domain) < SPF_VALUE_MAX ? ctx->rq->domain : "";
    return copy_value(ctx->sender_dom, dom, strlen(dom));
}

static void set_address(struct spf_ctx *ctx)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    const struct spf_request *rq = ctx->rq;

    ctx->v4 = rq->family == AF_INET;
    if (ctx->v4)
        memcpy(ctx->ip, rq->addr, 4);
    else if (memcmp(rq->addr, mapped, 12) == 0) {
        /* RFC 7208 5: an IPv4-mapped address is an IPv4 client */
        ctx->v4 = 1;
        memcpy(ctx->ip, rq->addr + 12, 4);
    } else
        memcpy(ctx->ip, rq->addr, 16);
}

int spf_ctx_init(struct spf_ctx *ctx, const struct spf_request *rq,
                 struct spf_outcome *out)
{
    memset(ctx, 0, sizeof *ctx);
    memset(out, 0, sizeof *out);
    ctx->rq = rq;
    ctx->out = out;
    if (rq == NULL || rq->lookup == NULL || rq->domain == NULL ||
        (rq->family != AF_INET && rq->family != AF_INET6))
        return MXP_ERR_INVALID;
    if ((rq->helo != NULL && strlen(rq->helo) >= SPF_VALUE_MAX) ||
        (rq->receiver != NULL && strlen(rq->receiver) >= SPF_VALUE_MAX))
        return MXP_ERR_INVALID;
    if (!split_sender(ctx))
        return MXP_ERR_INVALID;
    set_address(ctx);
    ctx->max_terms = rq->max_dns_mechanisms ? rq->max_dns_mechanisms : 10;
    ctx->max_void = rq->max_void_lookups ? rq->max_void_lookups : 2;
    return MXP_OK;
}

/* ---- DNS ---- */

static enum spf_dq dns_query(struct spf_ctx *ctx, const char *name,
                             uint16_t type, struct spf_dns_answer *ans)
{
    int rc;

    memset(ans, 0, sizeof *ans);
    rc = ctx->rq->lookup(ctx->rq->lookup_user, name, type, ans);
    if (rc != MXP_OK) {
        ans->result = MXP_DNS_FAILED;
        ctx->fatal = rc;
        snprintf(ctx->fatal_problem, sizeof ctx->fatal_problem,
                 "%s lookup of %s could not be made", type_name(type), name);
        return DQ_FATAL;
    }
    if (ans->pending) {
        ctx->out->pending++;
        ans->rr = NULL;
        ans->n_rr = 0;
        return DQ_PENDING;
    }
    if (ans->rr == NULL)
        ans->n_rr = 0;
    switch (ans->result) {
    case MXP_DNS_ANSWER:
        return ans->n_rr > 0 ? DQ_DATA : DQ_EMPTY;
    case MXP_DNS_NODATA:
    case MXP_DNS_NXDOMAIN:
        return DQ_EMPTY;
    default:
        return DQ_ERROR;
    }
}

/* A DNS-querying term (RFC 7208 4.6.4): counted before its lookup. */
static enum spf_m count_term(struct spf_ctx *ctx)
{
    if (++ctx->out->dns_lookups <= ctx->max_terms)
        return M_NOMATCH;
    set_problem(ctx, "more than %u DNS-querying terms", ctx->max_terms);
    return M_PERM;
}

static enum spf_m count_void(struct spf_ctx *ctx)
{
    if (++ctx->out->void_lookups <= ctx->max_void)
        return M_NOMATCH;
    set_problem(ctx, "more than %u void DNS lookups", ctx->max_void);
    return M_PERM;
}

/* The lookup of a term's own name: errors are temperror, empty answers
 * void lookups. */
static enum spf_m term_query(struct spf_ctx *ctx, const char *name,
                             uint16_t type, struct spf_dns_answer *ans,
                             int counts_void)
{
    switch (dns_query(ctx, name, type, ans)) {
    case DQ_DATA:
        return M_MATCH;
    case DQ_EMPTY:
        return counts_void ? count_void(ctx) : M_NOMATCH;
    case DQ_PENDING:
        return M_NOMATCH;
    case DQ_FATAL:
        return M_FATAL;
    default:
        set_problem(ctx, "%s lookup of %s failed: %s", type_name(type), name,
                    dns_words(ans->result));
        return M_TEMP;
    }
}

/* A returned name as a query name: no trailing dot, well formed. */
static int answer_name(const struct mxp_dns_rr *rr, char *out)
{
    size_t len = rr->text != NULL ? strnlen(rr->text, rr->text_len) : 0;

    if (len > 0 && rr->text[len - 1] == '.')
        len--;
    if (len == 0 || len > SPF_NAME_MAX)
        return 0;
    memcpy(out, rr->text, len);
    out[len] = '\0';
    return spf_query_name_ok(out);
}

/* ---- target names ---- */

static void fatal_or_problem(struct spf_ctx *ctx, int rc, const char *what,
                             size_t len)
{
    if (rc == MXP_ERR_NOMEM || rc == MXP_ERR_TIMEOUT)
        ctx->fatal = rc;
    else
        set_problem(ctx, "cannot expand '%.*s'", (int)(len > 200 ? 200 : len),
                    what);
}

/* <target-name> of a term into name: M_MATCH when it can be queried,
 * M_NOMATCH when the expansion is no usable name (RFC 7208 4.3, 4.8). */
static enum spf_m target_name(struct spf_ctx *ctx, const char *domain,
                              const struct spf_term *t, char *name)
{
    int rc;

    if (t->spec == NULL) {
        snprintf(name, SPF_EXPAND_MAX, "%s", domain);
        return M_MATCH;
    }
    rc = spf_macro_expand(ctx, domain, t->spec, t->spec_len, 0, name,
                          SPF_EXPAND_MAX);
    if (rc != MXP_OK) {
        fatal_or_problem(ctx, rc, t->spec, t->spec_len);
        return ctx->fatal ? M_FATAL : M_PERM;
    }
    return spf_query_name_fix(name) ? M_MATCH : M_NOMATCH;
}

/* ---- addresses ---- */

static int prefix_match(const unsigned char *a, const unsigned char *b,
                        int bits)
{
    int bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))) == 0;
}

/* a and mx: any address of name within the term's CIDR length. */
static enum spf_m match_addrs(struct spf_ctx *ctx, const char *name,
                              const struct spf_term *t, int counts_void)
{
    struct spf_dns_answer ans;
    uint16_t type = ctx->v4 ? MXP_DNS_A : MXP_DNS_AAAA;
    int bits = ctx->v4 ? t->cidr4 : t->cidr6;
    enum spf_m m = term_query(ctx, name, type, &ans, counts_void);

    if (m != M_MATCH)
        return m;
    for (size_t i = 0; i < ans.n_rr; i++)
        if (prefix_match(ans.rr[i].addr, ctx->ip, bits))
            return M_MATCH;
    return M_NOMATCH;
}

static enum spf_m mech_ip(const struct spf_ctx *ctx, const struct spf_term *t)
{
    if (t->kind == SPF_T_IP4 && ctx->v4)
        return prefix_match(t->net, ctx->ip, t->cidr4) ? M_MATCH : M_NOMATCH;
    if (t->kind == SPF_T_IP6 && !ctx->v4)
        return prefix_match(t->net, ctx->ip, t->cidr6) ? M_MATCH : M_NOMATCH;
    return M_NOMATCH;
}

/* ---- the validated names of <ip> (ptr, %{p}) ---- */

static void reverse_name(const struct spf_ctx *ctx, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (ctx->v4) {
        snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", ctx->ip[3],
                 ctx->ip[2], ctx->ip[1], ctx->ip[0]);
        return;
    }
    for (int i = 15; i >= 0 && n + 4 < outlen; i--) {
        out[n++] = hex[ctx->ip[i] & 15];
        out[n++] = '.';
        out[n++] = hex[ctx->ip[i] >> 4];
        out[n++] = '.';
    }
    snprintf(out + n, outlen - n, "ip6.arpa");
}

/* RFC 7208 5.5 skips failed lookups of ptr and %{p}; the first one is
 * kept so that the report can say the verdict rests on a failure, or the
 * first timeout when one came later: the report then says the verdict
 * rests on a timed-out lookup, and must name that one. */
static void note_skipped(struct spf_ctx *ctx, uint16_t type, const char *name,
                         enum mxp_dns_result res)
{
    int first_timeout = res == MXP_DNS_TIMEOUT && !ctx->out->skipped_timeout;

    if (ctx->out->skipped[0] == '\0' || first_timeout)
        snprintf(ctx->out->skipped, sizeof ctx->out->skipped,
                 "%s lookup of %s failed: %s", type_name(type), name,
                 dns_words(res));
    if (res == MXP_DNS_TIMEOUT)
        ctx->out->skipped_timeout = 1;
}

/* 1 when one of name's addresses is <ip>, 0 when not or on a DNS error
 * (the name is skipped: RFC 7208 5.5), -1 when fatal. */
static int name_validates(struct spf_ctx *ctx, const char *name)
{
    struct spf_dns_answer ans;
    uint16_t type = ctx->v4 ? MXP_DNS_A : MXP_DNS_AAAA;
    enum spf_dq dq = dns_query(ctx, name, type, &ans);

    if (dq == DQ_FATAL)
        return -1;
    if (dq == DQ_ERROR)
        note_skipped(ctx, type, name, ans.result);
    for (size_t i = 0; dq == DQ_DATA && i < ans.n_rr; i++)
        if (memcmp(ans.rr[i].addr, ctx->ip, ctx->v4 ? 4 : 16) == 0)
            return 1;
    return 0;
}

/* Looks the names up once per check: the PTR names (the first 10 only)
 * whose addresses include <ip>. */
static int load_ptr_names(struct spf_ctx *ctx)
{
    struct spf_dns_answer ans;
    char rev[80], name[SPF_NAME_MAX + 1];
    enum spf_dq dq;

    if (ctx->ptr_state != 0)
        return ctx->ptr_state > 0 ? MXP_OK : ctx->fatal;
    ctx->ptr_state = -1;
    reverse_name(ctx, rev, sizeof rev);
    dq = dns_query(ctx, rev, MXP_DNS_PTR, &ans);
    if (dq == DQ_FATAL)
        return ctx->fatal;
    if (dq == DQ_ERROR)
        note_skipped(ctx, MXP_DNS_PTR, rev, ans.result);
    ctx->ptr_void = dq == DQ_EMPTY;
    for (size_t i = 0; dq == DQ_DATA && i < ans.n_rr && i < SPF_PTR_NAMES;
         i++) {
        int v;
        if (!answer_name(&ans.rr[i], name))
            continue;
        v = name_validates(ctx, name);
        if (v < 0)
            return ctx->fatal;
        if (v > 0)
            memcpy(ctx->ptr_names[ctx->n_ptr++], name, strlen(name) + 1);
    }
    ctx->ptr_state = 1;
    return MXP_OK;
}

/* name is domain or a subdomain of it (case-insensitive). */
static int is_under(const char *name, const char *domain)
{
    size_t n = strlen(name), d = strlen(domain);

    if (n < d || strcasecmp(name + n - d, domain) != 0)
        return 0;
    return n == d || name[n - d - 1] == '.';
}

int spf_p_value(struct spf_ctx *ctx, const char *domain, char *out,
                size_t outlen)
{
    int rc = load_ptr_names(ctx);
    const char *pick = ctx->n_ptr > 0 ? ctx->ptr_names[0] : "unknown";

    if (rc != MXP_OK)
        return rc;
    for (size_t i = 0; i < ctx->n_ptr; i++)
        if (is_under(ctx->ptr_names[i], domain)) {
            pick = ctx->ptr_names[i];
            break;
        }
    snprintf(out, outlen, "%s", pick);
    return MXP_OK;
}

/* ---- mechanisms ---- */

static enum spf_result check_domain(struct spf_ctx *ctx, const char *domain,
                                    unsigned depth, int top);

static enum spf_m mech_a(struct spf_ctx *ctx, const char *domain,
                         const struct spf_term *t, char *name)
{
    enum spf_m m = target_name(ctx, domain, t, name);

    return m == M_MATCH ? match_addrs(ctx, name, t, 1) : m;
}

static enum spf_m mech_mx(struct spf_ctx *ctx, const char *domain,
                          const struct spf_term *t, char *name)
{
    struct spf_dns_answer ans;
    char host[SPF_NAME_MAX + 1];
    enum spf_m m = target_name(ctx, domain, t, name);

    if (m == M_MATCH)
        m = term_query(ctx, name, MXP_DNS_MX, &ans, 1);
    if (m != M_MATCH)
        return m;
    if (ans.n_rr > SPF_MX_NAMES) {
        set_problem(ctx, "more than %d MX names at %s", SPF_MX_NAMES, name);
        return M_PERM;
    }
    for (size_t i = 0; i < ans.n_rr; i++) {
        if (!answer_name(&ans.rr[i], host))
            continue; /* "." is a null MX (RFC 7505) */
        m = match_addrs(ctx, host, t, 0);
        if (m != M_NOMATCH)
            return m;
    }
    return M_NOMATCH;
}

static enum spf_m mech_ptr(struct spf_ctx *ctx, const char *domain,
                           const struct spf_term *t, char *name)
{
    enum spf_m m = target_name(ctx, domain, t, name);

    if (m != M_MATCH)
        return m;
    if (load_ptr_names(ctx) != MXP_OK)
        return M_FATAL;
    if (ctx->ptr_void && count_void(ctx) != M_NOMATCH)
        return M_PERM;
    for (size_t i = 0; i < ctx->n_ptr; i++)
        if (is_under(ctx->ptr_names[i], name))
            return M_MATCH;
    return M_NOMATCH;
}

static enum spf_m mech_exists(struct spf_ctx *ctx, const char *domain,
                              const struct spf_term *t, char *name)
{
    struct spf_dns_answer ans;
    enum spf_m m = target_name(ctx, domain, t, name);

    /* the lookup is of type A whatever the client's family (5.7) */
    return m == M_MATCH ? term_query(ctx, name, MXP_DNS_A, &ans, 1) : m;
}

/* include: pass matches; fail, softfail and neutral do not; none is a
 * permerror (RFC 7208 5.2). */
static enum spf_m mech_include(struct spf_ctx *ctx, const char *domain,
                               const struct spf_term *t, unsigned depth,
                               char *name)
{
    enum spf_m m = target_name(ctx, domain, t, name);
    enum spf_result r = SPF_NONE;

    if (m == M_PERM || m == M_FATAL)
        return m;
    if (m == M_MATCH)
        r = check_domain(ctx, name, depth + 1, 0);
    if (ctx->fatal)
        return M_FATAL;
    switch (r) {
    case SPF_PASS:
        return M_MATCH;
    case SPF_TEMPERROR:
        return M_TEMP;
    case SPF_PERMERROR:
        return M_PERM;
    case SPF_NONE:
        set_problem(ctx, "%.*s: no SPF record at %s", (int)t->len, t->text,
                    m == M_MATCH ? name : "an invalid name");
        return M_PERM;
    default:
        return M_NOMATCH;
    }
}

static enum spf_m eval_term(struct spf_ctx *ctx, const char *domain,
                            const struct spf_term *t, unsigned depth,
                            char *name)
{
    enum spf_m m = M_NOMATCH;

    switch (t->kind) {
    case SPF_T_ALL:
        return M_MATCH;
    case SPF_T_IP4:
    case SPF_T_IP6:
        return mech_ip(ctx, t);
    case SPF_T_INCLUDE:
    case SPF_T_A:
    case SPF_T_MX:
    case SPF_T_PTR:
    case SPF_T_EXISTS:
        m = count_term(ctx);
        break;
    default:
        return M_NOMATCH; /* modifiers act after the mechanisms */
    }
    if (m != M_NOMATCH)
        return m;
    switch (t->kind) {
    case SPF_T_INCLUDE:
        return mech_include(ctx, domain, t, depth, name);
    case SPF_T_A:
        return mech_a(ctx, domain, t, name);
    case SPF_T_MX:
        return mech_mx(ctx, domain, t, name);
    case SPF_T_PTR:
        return mech_ptr(ctx, domain, t, name);
    default:
        return mech_exists(ctx, domain, t, name);
    }
}

/* ---- explanation (RFC 7208 6.2) ---- */

static int printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* Any problem means no explanation; only out of memory is kept fatal. */
static void explain(struct spf_ctx *ctx, const char *domain,
                    const struct spf_term *exp, char *buf)
{
    struct spf_dns_answer ans;
    const struct mxp_dns_rr *rr;
    /* The verdict is reached: a %{p} failing in the explanation is no
     * skip the verdict rests on (nor may it rename the one it rests on). */
    char had_skip[sizeof ctx->out->skipped];
    int had_timeout = ctx->out->skipped_timeout;
    int rc;

    memcpy(had_skip, ctx->out->skipped, sizeof had_skip);
    rc = spf_macro_expand(ctx, domain, exp->spec, exp->spec_len, 0, buf,
                          SPF_EXPAND_MAX);
    if (rc != MXP_OK || !spf_query_name_fix(buf) ||
        dns_query(ctx, buf, MXP_DNS_TXT, &ans) != DQ_DATA || ans.n_rr != 1)
        goto done;
    rr = &ans.rr[0];
    if (rr->text == NULL || rr->text_len > SPF_RECORD_MAX ||
        !printable(rr->text, rr->text_len))
        goto done;
    rc = spf_macro_expand(ctx, domain, rr->text, rr->text_len, 1, buf,
                          SPF_EXPAND_MAX);
    if (rc == MXP_OK)
        snprintf(ctx->out->explanation, sizeof ctx->out->explanation, "%s",
                 buf);
done:
    if (ctx->fatal != MXP_ERR_NOMEM)
        ctx->fatal = 0;
    memcpy(ctx->out->skipped, had_skip, sizeof had_skip);
    ctx->out->skipped_timeout = had_timeout;
}

/* ---- records ---- */

static enum spf_result qualifier_result(char q)
{
    switch (q) {
    case '-':
        return SPF_FAIL;
    case '~':
        return SPF_SOFTFAIL;
    case '?':
        return SPF_NEUTRAL;
    default:
        return SPF_PASS;
    }
}

static enum spf_result m_error(enum spf_m m)
{
    return m == M_PERM ? SPF_PERMERROR : SPF_TEMPERROR;
}

static enum spf_result redirect(struct spf_ctx *ctx, const char *domain,
                                const struct spf_record *rec, unsigned depth,
                                int top, char *name)
{
    const struct spf_term *t = rec->redirect;
    enum spf_m m = count_term(ctx);
    enum spf_result r = SPF_NONE;

    if (m == M_NOMATCH)
        m = target_name(ctx, domain, t, name);
    if (m == M_PERM || m == M_FATAL)
        return m_error(m);
    if (m == M_MATCH)
        r = check_domain(ctx, name, depth + 1, top);
    if (r == SPF_NONE) {
        set_problem(ctx, "%.*s: no SPF record at %s", (int)t->len, t->text,
                    m == M_MATCH ? name : "an invalid name");
        return SPF_PERMERROR;
    }
    return r;
}

/* The record's terms in order, then redirect=, else neutral (4.7). */
static enum spf_result eval_record(struct spf_ctx *ctx, const char *domain,
                                   const struct spf_record *rec, unsigned depth,
                                   int top, char *name)
{
    for (size_t i = 0; i < rec->n_terms; i++) {
        const struct spf_term *t = &rec->terms[i];
        enum spf_m m = eval_term(ctx, domain, t, depth, name);
        enum spf_result r = qualifier_result(t->qual);
        if (m == M_NOMATCH)
            continue;
        if (m != M_MATCH)
            return m_error(m);
        if (top) {
            snprintf(ctx->out->mechanism, sizeof ctx->out->mechanism, "%.*s",
                     (int)t->len, t->text);
            ctx->out->by_all = t->kind == SPF_T_ALL;
            if (r == SPF_FAIL && rec->exp != NULL)
                explain(ctx, domain, rec->exp, name);
        }
        return r;
    }
    if (rec->redirect != NULL)
        return redirect(ctx, domain, rec, depth, top, name);
    return SPF_NEUTRAL;
}

static void show_record(struct spf_ctx *ctx, const char *text, size_t len)
{
    char *r = ctx->out->record;
    size_t n = len < SPF_TEXT_MAX - 1 ? len : SPF_TEXT_MAX - 1;

    for (size_t i = 0; i < n; i++)
        r[i] = (text[i] >= 0x20 && text[i] <= 0x7e) ? text[i] : '?';
    r[n] = '\0';
}

/* The one SPF record of domain (RFC 7208 4.4, 4.5): SPF_PASS when found
 * and parsed into rec, else the result to return. */
static enum spf_result fetch_record(struct spf_ctx *ctx, const char *domain,
                                    unsigned depth, struct spf_record *rec)
{
    struct spf_dns_answer ans;
    const struct mxp_dns_rr *found = NULL;
    char why[SPF_TEXT_MAX] = "";
    size_t n = 0;
    int rc;

    switch (dns_query(ctx, domain, MXP_DNS_TXT, &ans)) {
    case DQ_FATAL:
        return SPF_TEMPERROR;
    case DQ_PENDING:
        return SPF_NEUTRAL; /* an include of it matches nothing (yet) */
    case DQ_EMPTY:
        return SPF_NONE;
    case DQ_ERROR:
        set_problem(ctx, "TXT lookup of %s failed: %s", domain,
                    dns_words(ans.result));
        return SPF_TEMPERROR;
    default:
        break;
    }
    for (size_t i = 0; i < ans.n_rr; i++)
        if (spf_is_spf_record(ans.rr[i].text, ans.rr[i].text_len)) {
            found = &ans.rr[i];
            n++;
        }
    if (n > 1)
        set_problem(ctx, "%zu SPF records at %s", n, domain);
    if (n != 1)
        return n == 0 ? SPF_NONE : SPF_PERMERROR;
    if (depth == 0)
        show_record(ctx, found->text, found->text_len);
    rc = spf_parse_record(found->text, found->text_len, rec, why, sizeof why);
    if (rc == MXP_ERR_NOMEM)
        ctx->fatal = rc;
    else if (rc != MXP_OK && depth == 0)
        set_problem(ctx, "%s", why);
    else if (rc != MXP_OK)
        set_problem(ctx, "%s (SPF record of %s)", why, domain);
    return rc == MXP_OK          ? SPF_PASS
           : rc == MXP_ERR_NOMEM ? SPF_TEMPERROR
                                 : SPF_PERMERROR;
}

static char top_all(const struct spf_record *rec)
{
    for (size_t i = 0; i < rec->n_terms; i++)
        if (rec->terms[i].kind == SPF_T_ALL)
            return rec->terms[i].qual;
    return 0;
}

/* check_host() for one domain.  top: its result is the final result (the
 * first domain, or reached from it by redirect=), so it reports the
 * deciding term and the explanation. */
static enum spf_result check_domain(struct spf_ctx *ctx, const char *domain,
                                    unsigned depth, int top)
{
    struct spf_record rec;
    enum spf_result r;
    char *name;

    if (depth > SPF_DEPTH_MAX) {
        set_problem(ctx, "include/redirect nested more than %d deep",
                    SPF_DEPTH_MAX);
        return SPF_PERMERROR;
    }
    r = fetch_record(ctx, domain, depth, &rec);
    if (r != SPF_PASS)
        return r;
    if (depth == 0)
        ctx->out->top_all = top_all(&rec);
    name = malloc(SPF_EXPAND_MAX);
    if (name == NULL) {
        ctx->fatal = MXP_ERR_NOMEM;
        r = SPF_TEMPERROR;
    } else
        r = eval_record(ctx, domain, &rec, depth, top, name);
    free(name);
    spf_record_free(&rec);
    return r;
}

int spf_check_host(const struct spf_request *rq, struct spf_outcome *out)
{
    struct spf_ctx ctx;
    char domain[SPF_NAME_MAX + 2];
    size_t len;
    int rc = spf_ctx_init(&ctx, rq, out);

    if (rc != MXP_OK)
        return rc;
    len = strlen(rq->domain);
    if (len > 0 && rq->domain[len - 1] == '.')
        len--;
    /* RFC 7208 4.3: none, and the problem says it was not looked up. */
    if (len > SPF_NAME_MAX) {
        out->result = SPF_NONE;
        snprintf(out->problem, sizeof out->problem,
                 "not a fully qualified domain name (RFC 7208 4.3)");
        return MXP_OK;
    }
    memcpy(domain, rq->domain, len);
    domain[len] = '\0';
    if (!spf_domain_ok(domain)) {
        out->result = SPF_NONE;
        snprintf(out->problem, sizeof out->problem,
                 "not a fully qualified domain name (RFC 7208 4.3)");
        return MXP_OK;
    }
    out->result = check_domain(&ctx, domain, 0, 1);
    if (ctx.fatal == MXP_ERR_NOMEM)
        return MXP_ERR_NOMEM;
    if (ctx.fatal != MXP_OK) {
        /* No verdict from a check that could not make its lookups. */
        out->result = SPF_TEMPERROR;
        out->mechanism[0] = '\0';
        out->by_all = 0;
        if (ctx.fatal == MXP_ERR_TIMEOUT)
            snprintf(out->problem, sizeof out->problem,
                     "deadline reached during the SPF check");
        else
            snprintf(out->problem, sizeof out->problem, "%s",
                     ctx.fatal_problem);
    }
    if (out->result != SPF_FAIL)
        out->explanation[0] = '\0';
    return MXP_OK;
}

int spf_expand(const struct spf_request *rq, const char *domain,
               const char *spec, int explain_mode, char *out, size_t outlen)
{
    struct spf_ctx ctx;
    struct spf_outcome scratch;
    int rc = spf_ctx_init(&ctx, rq, &scratch);

    if (rc != MXP_OK)
        return rc;
    if (domain == NULL || spec == NULL || out == NULL)
        return MXP_ERR_INVALID;
    return spf_macro_expand(&ctx, domain, spec, strlen(spec), explain_mode, out,
                            outlen);
}
