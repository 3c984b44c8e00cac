/*
 * dane_check.c - DANE for SMTP (RFC 7672) in the tls check: the TLSA
 * records of the names senders reach the target by, asked while the
 * probes run, and what a DANE sender makes of them and of the chain the
 * server presented.
 *
 * The base names are the MX names of -D's domain that point at the
 * target, else -H's name.  Only a DNSSEC-validated (AD) TLSA RRset
 * counts: an unsigned one is ignored by senders (a WARNING, as it does
 * nothing), a signed one makes them insist on TLS and on a match.
 * Records of usages 0 and 1 are ignored by SMTP senders (RFC 7672
 * 3.1.3); with nothing else they use TLS unauthenticated.  dane.c parses
 * and matches; this file decides and words it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/x509.h>

#include "dane.h"
#include "tls.h"

#define DN_SHOWN_RR 16 /* records of one name shown besides matches */
#define DN_HEX_SHOWN 8 /* association data shown in a detail */

/* A core older than ABI 1.5 cannot say whether an answer was signed. */
static int dn_core_has_dnssec(const struct mxp_services *svc)
{
    return svc->size >= offsetof(struct mxp_services, dns_authenticated) +
                            sizeof(svc->dns_authenticated) &&
           svc->dns_authenticated != NULL;
}

static struct tls_dane_name *dn_find(struct tls_dane *d, const char *name)
{
    for (size_t i = 0; i < d->n_names; i++)
        if (strcasecmp(d->n[i].base, name) == 0)
            return &d->n[i];
    return NULL;
}

/* Starts TLSA (and the address record, which tells whether a failed
 * lookup stops DANE senders) for name unless asked already. */
static struct tls_dane_name *dn_ask(struct mxp_ctx *ctx, struct tls_dane *d,
                                    const char *name)
{
    const struct mxp_services *svc = ctx->svc;
    struct tls_dane_name *nm = dn_find(d, name);
    int len;

    if (nm != NULL || d->n_names >= TLS_DANE_ASKED ||
        strlen(name) >= TLS_NAME_LEN || !svc->is_host_name(name))
        return nm;
    nm = &d->n[d->n_names];
    memset(nm, 0, sizeof *nm);
    snprintf(nm->base, sizeof nm->base, "%s", name);
    len = snprintf(nm->qname, sizeof nm->qname, "_%u._tcp.%s",
                   ctx->target->port, name);
    if (len < 0 || (size_t)len >= sizeof nm->qname)
        return NULL;
    d->n_names++;
    nm->q[0].name = nm->qname;
    nm->q[0].type = MXP_DNS_TLSA;
    nm->q[1].name = nm->base;
    nm->q[1].type = ctx->target->family == AF_INET6 ? MXP_DNS_AAAA : MXP_DNS_A;
    if (svc->dns_start(ctx, nm->q, 2, &nm->b) != MXP_OK) {
        nm->b = NULL;
        nm->q[0].result = nm->q[1].result = MXP_DNS_FAILED;
    }
    return nm;
}

void tls_dane_start(struct mxp_ctx *ctx, const struct tls_config *cfg,
                    struct tls_dane *d)
{
    const char *host = ctx->target->host;

    memset(d, 0, sizeof *d);
    d->on = cfg->dane && dn_core_has_dnssec(ctx->svc);
    if (d->on && host != NULL && !tls_is_address(host))
        dn_ask(ctx, d, host);
}

/* The MX hosts are known (not yet which point at the target): ask the
 * first few now, so that their answers come while the probes run. */
void tls_dane_poll(struct mxp_ctx *ctx, struct tls_dane *d,
                   const struct tls_names *names)
{
    if (!d->on || d->mx_asked || names == NULL || names->n_mx == 0)
        return;
    d->mx_asked = 1;
    for (size_t i = 0; i < names->n_mx && i < TLS_DANE_NAMES; i++)
        dn_ask(ctx, d, names->mx_names[i]);
}

/* The base names: the MX names that point at the target, else -H's. */
static size_t dn_bases(struct mxp_ctx *ctx, const struct tls_names *names,
                       const char **out)
{
    const char *host = ctx->target->host;
    size_t k = 0;

    for (size_t i = 0; names != NULL && i < names->n_mx && k < TLS_DANE_NAMES;
         i++)
        out[k++] = names->mx_names[i];
    if (k == 0 && host != NULL && !tls_is_address(host) &&
        ctx->svc->is_host_name(host))
        out[k++] = host;
    return k;
}

void tls_dane_finish(struct mxp_ctx *ctx, struct tls_dane *d,
                     const struct tls_names *names)
{
    const char *bases[TLS_DANE_NAMES];
    size_t n;

    if (!d->on)
        return;
    /* A base name the early questions missed is asked now. */
    n = dn_bases(ctx, names, bases);
    for (size_t i = 0; i < n; i++)
        dn_ask(ctx, d, bases[i]);
    for (size_t i = 0; i < d->n_names; i++)
        if (d->n[i].b != NULL) {
            ctx->svc->dns_collect(ctx, d->n[i].b);
            d->n[i].b = NULL;
        }
}

/* The server's chain as X509s (leaf first); how many parsed. */
static size_t dn_chain(const struct mxp_tls_info *info, X509 **out)
{
    size_t n = 0;

    for (size_t i = 0; info->chain_der != NULL && info->chain_len != NULL &&
                       i < info->n_chain && i < MXP_TLS_MAX_CHAIN;
         i++) {
        const unsigned char *p = info->chain_der[i];
        X509 *x = d2i_X509(NULL, &p, (long)info->chain_len[i]);

        if (x == NULL)
            break;
        out[n++] = x;
    }
    return n;
}

static void dn_where(const struct dane_rr_result *r, char *buf, size_t cap)
{
    if (r->position == 0)
        snprintf(buf, cap, "the leaf certificate");
    else if (r->position == DANE_TA_ABSENT)
        snprintf(buf, cap, "the key that signed the top of the chain");
    else
        snprintf(buf, cap, "certificate %zu of the chain (an issuer)",
                 r->position + 1);
}

/* One line per record: what matched, what did not and why, what a
 * sender ignores.  Every match is shown, of the rest the first
 * DN_SHOWN_RR, then how many more. */
static void dn_records(struct mxp_ctx *ctx, const char *qname,
                       const struct dane_rr *rrs,
                       const struct dane_rr_result *res, size_t n)
{
    size_t shown = 0;

    for (size_t i = 0; i < n; i++) {
        char text[DN_HEX_SHOWN + 24], where[64];

        if (res[i].outcome != DANE_MATCH && shown++ >= DN_SHOWN_RR)
            continue;
        dane_rr_format(&rrs[i], text, sizeof text, DN_HEX_SHOWN);
        if (res[i].outcome == DANE_MATCH) {
            dn_where(&res[i], where, sizeof where);
            ctx->svc->add_detail(ctx, MXP_STATE_OK, "TLSA %s (%s) matches %s",
                                 text, dane_usage_name(rrs[i].usage), where);
        } else if (res[i].outcome == DANE_NO_MATCH) {
            ctx->svc->add_detail(ctx, MXP_STATE_OK, "TLSA %s (%s): %s", text,
                                 dane_usage_name(rrs[i].usage), res[i].why);
        } else {
            ctx->svc->add_detail(ctx, MXP_STATE_OK,
                                 "TLSA %s ignored by senders: %s", text,
                                 res[i].why);
        }
    }
    if (shown > DN_SHOWN_RR)
        ctx->svc->add_detail(ctx, MXP_STATE_OK,
                             "and %zu more TLSA records at %s that match "
                             "nothing (not shown)",
                             shown - DN_SHOWN_RR, qname);
}

/* Only usages 0/1 (or nothing usable at all): why, in words. */
static void dn_unusable(struct mxp_ctx *ctx, const struct tls_dane_name *nm,
                        const struct dane_rr *rrs, size_t n)
{
    int pkix_only = n > 0;

    for (size_t i = 0; i < n; i++)
        pkix_only &=
            rrs[i].usage == DANE_PKIX_TA || rrs[i].usage == DANE_PKIX_EE;
    if (pkix_only)
        ctx->svc->add_detail(
            ctx, MXP_STATE_WARNING,
            "TLSA records at %s are of usage 0/1 (PKIX-TA/PKIX-EE) only, "
            "which SMTP senders ignore (RFC 7672 3.1.3): DANE senders use "
            "TLS without authentication; publish usage 3 or 2",
            nm->qname);
    else
        ctx->svc->add_detail(ctx, MXP_STATE_WARNING,
                             "no usable TLSA record at %s (%s): DANE senders "
                             "use TLS without authentication",
                             nm->qname, n > 0 ? rrs[0].why : "no record");
}

/* A signed TLSA RRset held against the chain.  *applies set: DANE
 * senders insist on this name's TLSA; the mode when it matched. */
static enum tls_dane_mode dn_match_signed(struct mxp_ctx *ctx,
                                          const struct tls_dane_name *nm,
                                          const struct mxp_tls_info *info,
                                          int *applies)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_dns_query *q = &nm->q[0];
    struct dane_rr *rrs = NULL;
    struct dane_rr_result *res = NULL;
    struct dane_summary sum;
    X509 *chain[MXP_TLS_MAX_CHAIN];
    size_t n = 0, n_chain = 0;
    enum tls_dane_mode mode = TLS_DANE_NONE;
    int rc = -1;

    *applies = 1;
    if (info == NULL) {
        svc->add_detail(ctx, MXP_STATE_CRITICAL,
                        "TLSA records at %s are DNSSEC-signed but no TLS "
                        "session could be had: DANE senders defer all mail "
                        "(RFC 7672 2.2)",
                        q->name);
        return mode;
    }
    /* Every record of the RRset (the core bounds it): senders use any
     * one that matches, so none may be left out. */
    if (q->n_rr > 0) {
        rrs = calloc(q->n_rr, sizeof *rrs);
        res = calloc(q->n_rr, sizeof *res);
    }
    for (size_t i = 0; rrs != NULL && res != NULL && i < q->n_rr; i++) {
        const struct mxp_dns_rr *r = &q->rr[i];

        if (r->type != MXP_DNS_TLSA || r->text == NULL)
            continue;
        if (dane_rr_parse((const unsigned char *)r->text, r->text_len,
                          &rrs[n]) != 0)
            break;
        n++;
    }
    n_chain = dn_chain(info, chain);
    if (n_chain > 0 && (q->n_rr == 0 || (rrs != NULL && res != NULL)))
        rc = dane_match(rrs, n, chain, n_chain, res, &sum);
    if (rc != 0) {
        svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                        "TLSA records at %s could not be matched (%s)", q->name,
                        n_chain == 0 ? "the certificate could not be parsed"
                                     : "out of memory");
    } else if (sum.n_usable == 0) {
        dn_unusable(ctx, nm, rrs, n);
        dn_records(ctx, q->name, rrs, res, n);
    } else if (sum.n_matched == 0) {
        svc->add_detail(ctx, MXP_STATE_CRITICAL,
                        "no TLSA record at %s matches the certificate chain: "
                        "DANE senders defer all mail",
                        q->name);
        dn_records(ctx, q->name, rrs, res, n);
    } else {
        mode = sum.matched_ee ? TLS_DANE_EE : TLS_DANE_TA;
        dn_records(ctx, q->name, rrs, res, n);
        if (sum.single_usable)
            svc->add_detail(ctx, MXP_STATE_OK,
                            "one usable TLSA record at %s: publish a second "
                            "one (the next key, or the issuer's) before a "
                            "key rollover, or DANE senders defer mail then",
                            q->name);
    }
    for (size_t i = 0; i < n; i++)
        dane_rr_free(&rrs[i]);
    free(rrs);
    free(res);
    for (size_t i = 0; i < n_chain; i++)
        X509_free(chain[i]);
    return mode;
}

/* A failed TLSA lookup stops DANE senders only when the name's address
 * is signed: they do not ask TLSA for an unsigned one (RFC 7672 2.2). */
static void dn_failed(struct mxp_ctx *ctx, const struct tls_dane_name *nm)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_dns_query *a = &nm->q[1];
    const char *why = ctx->svc->dns_result_name(nm->q[0].result);

    if (a->result == MXP_DNS_ANSWER && svc->dns_authenticated(ctx, a) == 1)
        svc->add_detail(ctx, MXP_STATE_WARNING,
                        "TLSA lookup of %s failed (%s) while %s's address is "
                        "DNSSEC-signed: DANE senders defer mail to it "
                        "(RFC 7672 2.2)",
                        nm->qname, why, nm->base);
    else
        svc->add_detail(ctx, MXP_STATE_OK,
                        "TLSA lookup of %s failed (%s): cannot tell whether "
                        "DANE applies (%s's address is not known to be "
                        "DNSSEC-signed)",
                        nm->qname, why, nm->base);
}

/* One base name; *applies set when DANE senders insist on its TLSA. */
static enum tls_dane_mode dn_judge_name(struct mxp_ctx *ctx,
                                        const struct tls_dane_name *nm,
                                        const struct mxp_tls_info *info,
                                        int *applies)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_dns_query *q = &nm->q[0];

    *applies = 0;
    switch (q->result) {
    case MXP_DNS_NXDOMAIN:
    case MXP_DNS_NODATA:
        svc->add_detail(ctx, MXP_STATE_OK, "no TLSA at %s%s: no DANE", q->name,
                        svc->dns_authenticated(ctx, q) == 1
                            ? " (DNSSEC-signed denial)"
                            : "");
        return TLS_DANE_NONE;
    case MXP_DNS_ANSWER:
        if (svc->dns_authenticated(ctx, q) == 1)
            return dn_match_signed(ctx, nm, info, applies);
        /* Without DO the resolver's AD is all there is: when the
         * address lacks it too, the resolver may not validate at all. */
        svc->add_detail(ctx, MXP_STATE_WARNING,
                        "TLSA records at %s are not DNSSEC-signed: senders "
                        "ignore them%s",
                        q->name,
                        svc->dns_authenticated(ctx, &nm->q[1]) == 1
                            ? ""
                            : " (no AD on the address either: an unsigned "
                              "zone, or a resolver that does not validate)");
        return TLS_DANE_NONE;
    default:
        dn_failed(ctx, nm);
        return TLS_DANE_NONE;
    }
}

/* No base name: why, for -D's MX lookup may be what failed (a bogus
 * zone is SERVFAIL), and then DANE cannot be told, not absent. */
static void dn_no_bases(struct mxp_ctx *ctx, const struct tls_names *names)
{
    const struct mxp_dns_query *mx = names != NULL ? &names->mx : NULL;

    if (mx == NULL || mx->name == NULL)
        ctx->svc->add_detail(ctx, MXP_STATE_OK,
                             "DANE not checked: no host name to ask TLSA for "
                             "(-D gives the MX names, or -H a name)");
    else if (mx->result != MXP_DNS_ANSWER && mx->result != MXP_DNS_NODATA &&
             mx->result != MXP_DNS_NXDOMAIN)
        ctx->svc->add_detail(ctx, MXP_STATE_OK,
                             "DANE not checked: the MX lookup of %s failed "
                             "(%s), so the names senders ask TLSA for are "
                             "not known",
                             mx->name, ctx->svc->dns_result_name(mx->result));
    else
        ctx->svc->add_detail(ctx, MXP_STATE_OK,
                             "DANE not checked: no MX name of %s points at "
                             "the target, and -H gives no name to ask TLSA "
                             "for",
                             mx->name);
}

enum tls_dane_mode tls_dane_judge(struct mxp_ctx *ctx, struct tls_dane *d,
                                  const struct tls_names *names,
                                  const struct mxp_tls_info *info,
                                  const char **ta_names, size_t cap,
                                  size_t *n_ta)
{
    const char *bases[TLS_DANE_NAMES];
    size_t n, n_dane = 0, n_matched = 0, n_ee = 0;

    *n_ta = 0;
    if (!d->on)
        return TLS_DANE_NONE;
    n = dn_bases(ctx, names, bases);
    if (n == 0) {
        dn_no_bases(ctx, names);
        return TLS_DANE_NONE;
    }
    for (size_t i = 0; i < n; i++) {
        const struct tls_dane_name *nm = dn_find(d, bases[i]);
        enum tls_dane_mode m;
        int applies;

        if (nm == NULL)
            continue; /* not a name that can be asked */
        m = dn_judge_name(ctx, nm, info, &applies);
        n_dane += applies;
        n_matched += m != TLS_DANE_NONE;
        n_ee += m == TLS_DANE_EE;
        if (m == TLS_DANE_TA && *n_ta < cap)
            ta_names[(*n_ta)++] = nm->base;
    }
    /* The PKIX findings are read anew only when every name DANE senders
     * insist on matched: else they are what a mismatch leaves. */
    if (n_dane == 0 || n_matched < n_dane)
        return TLS_DANE_NONE;
    if (n_ee == n_matched) {
        ctx->svc->add_detail(ctx, MXP_STATE_OK,
                             "DANE-EE matches: names and expiry are not "
                             "checked by DANE senders (RFC 7672 3.1.1)");
        return TLS_DANE_EE;
    }
    ctx->svc->add_detail(ctx, MXP_STATE_OK,
                         "DANE-TA matches: the chain is trusted through the "
                         "TLSA trust anchor; DANE senders still check the "
                         "name against the MX name and the dates "
                         "(RFC 7672 3.2.2, 3.2.3)");
    return TLS_DANE_TA;
}
