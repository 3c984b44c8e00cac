/*
 * zone.c - the zone check: the target's mail domain in the DNS.
 *
 * Guesses the mail domain (domain.c), asks every domain's MX, A, AAAA,
 * TXT, _dmarc, _mta-sts and _smtp._tls together, then the MX hosts and
 * the SPF lookups together (lookup.c, plan.c), and hands the answers to
 * the MX analysis (mx.c) and the policy checks (spf_verdict.c: SPF
 * check_host() of each address judged; policy.c: DMARC; sts_judge.c:
 * MTA-STS, TLS-RPT).  In a run over a whole mail domain it runs once, for all
 * the domain's MX addresses (the target and its peers, ABI 1.4).  State: the
 * worst finding; one set of perfdata whatever the number of addresses;
 * main metric: the SPF DNS lookups of the worst domain and address,
 * because a record close to RFC 7208's limit of 10 breaks with the next
 * include.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lookup.h"
#include "mx.h"
#include "policy.h"
#include "spf.h"
#include "sts.h"
#include "zone.h"

/* ---- shared helpers (zone.h) ----------------------------------------- */

size_t zone_n_addrs(const struct zone_run *R)
{
    return R->t->peers != NULL ? 1 + R->t->n_peers : 1;
}

const struct mxp_target *zone_addr(const struct zone_run *R, size_t i)
{
    return i == 0 ? R->t : &R->t->peers[i - 1];
}

void zone_finding(struct zone_run *R, enum mxp_state st, const char *fmt, ...)
{
    char text[ZONE_TEXT_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    R->svc->add_detail(R->ctx, st, "%s", text);
}

int zone_names_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

int zone_name_copy(const char *name, char *out, size_t len)
{
    size_t n = strlen(name);

    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= len) {
        if (len > 0)
            out[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        out[i] = c > ' ' && c < 0x7f ? (char)tolower(c) : '?';
    }
    out[n] = '\0';
    return 1;
}

void zone_printable(const char *text, size_t n, char *out, size_t len)
{
    size_t k = 0;

    if (len == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];

        if (k + 4 >= len && i + 1 < n) {
            if (len > 4) {
                memcpy(out + k, "...", 3);
                k += 3;
            }
            break;
        }
        if (k + 1 >= len)
            break;
        out[k++] = c >= ' ' && c < 0x7f ? (char)c : '?';
    }
    out[k] = '\0';
}

int zone_host_name_ok(const struct mxp_services *svc, const char *name)
{
    size_t n = strlen(name), i;

    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || !svc->is_host_name(name))
        return 0;
    for (i = n; i > 0 && name[i - 1] != '.'; i--)
        if (!isdigit((unsigned char)name[i - 1]))
            return 1;
    return 0;
}

int zone_dns_definite(enum mxp_dns_result res)
{
    return res == MXP_DNS_ANSWER || res == MXP_DNS_NODATA ||
           res == MXP_DNS_NXDOMAIN;
}

/* ---- one domain ------------------------------------------------------ */

enum { Q_MX, Q_A, Q_AAAA, Q_DMARC, Q_STS, Q_RPT, Q_N };

/* The names of a domain's own questions. */
struct domain_names {
    char dmarc[ZONE_NAME_LEN + 8], sts[ZONE_NAME_LEN + 12],
        rpt[ZONE_NAME_LEN + 16], org[ZONE_NAME_LEN + 8];
};

static void domain_names(struct zone_run *R, const char *domain,
                         struct domain_names *dn)
{
    const char *org = R->svc->registered_domain(R->ctx, domain);

    snprintf(dn->dmarc, sizeof dn->dmarc, "_dmarc.%s", domain);
    snprintf(dn->sts, sizeof dn->sts, "_mta-sts.%s", domain);
    snprintf(dn->rpt, sizeof dn->rpt, "_smtp._tls.%s", domain);
    dn->org[0] = '\0';
    if (org != NULL && !zone_names_equal(org, domain))
        snprintf(dn->org, sizeof dn->org, "_dmarc.%s", org);
}

void zone_domain_want(struct zone_run *R, const char *domain)
{
    struct domain_names dn;

    domain_names(R, domain, &dn);
    zone_dns_want(R, domain, MXP_DNS_MX);
    zone_dns_want(R, domain, MXP_DNS_A);
    zone_dns_want(R, domain, MXP_DNS_AAAA);
    zone_dns_want(R, domain, MXP_DNS_TXT); /* the SPF record */
    zone_dns_want(R, dn.dmarc, MXP_DNS_TXT);
    zone_dns_want(R, dn.sts, MXP_DNS_TXT);
    zone_dns_want(R, dn.rpt, MXP_DNS_TXT);
    /* asked only when _dmarc.<domain> has no record, but cheap at once */
    if (dn.org[0] != '\0')
        zone_dns_want(R, dn.org, MXP_DNS_TXT);
}

/* The domain's own answers; 0 (reported) when they could not be had, or
 * when the guess names no domain in the DNS (then d->dropped). */
static int domain_answers(struct zone_run *R, struct zone_domain *d,
                          struct mxp_dns_query *q, struct domain_names *dn)
{
    int rc;

    domain_names(R, d->name, dn);
    memset(q, 0, Q_N * sizeof *q);
    q[Q_MX] = (struct mxp_dns_query){.name = d->name, .type = MXP_DNS_MX};
    q[Q_A] = (struct mxp_dns_query){.name = d->name, .type = MXP_DNS_A};
    q[Q_AAAA] = (struct mxp_dns_query){.name = d->name, .type = MXP_DNS_AAAA};
    q[Q_DMARC] = (struct mxp_dns_query){.name = dn->dmarc, .type = MXP_DNS_TXT};
    q[Q_STS] = (struct mxp_dns_query){.name = dn->sts, .type = MXP_DNS_TXT};
    q[Q_RPT] = (struct mxp_dns_query){.name = dn->rpt, .type = MXP_DNS_TXT};
    rc = zone_dns_get(R, q, Q_N);
    if (rc != MXP_OK) {
        zone_finding(R, MXP_STATE_UNKNOWN, "DNS lookups of %s failed: %s",
                     d->name, R->svc->strerror(rc));
        return 0;
    }
    /* A guess that names no domain in the DNS (a default install's
     * greeting, a stale PTR) says nothing about the server's mail. */
    if (!d->configured && q[Q_MX].result == MXP_DNS_NXDOMAIN) {
        d->dropped = 1;
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "the %s name's domain %s does not exist: not "
                           "checked",
                           d->first_what != NULL ? d->first_what : "guessed",
                           d->name);
        return 0;
    }
    return 1;
}

/* Whether the resolver validated d's MX answer (its AD bit): a detail,
 * never a problem, as senders that do not use DANE do not care.  AD is
 * only as good as the resolver and the path to it (README, DNSSEC). */
static void mx_dnssec(struct zone_run *R, const struct zone_domain *d,
                      const struct mxp_dns_query *mx)
{
    int ad;

    if (mx->result != MXP_DNS_ANSWER)
        return;
    ad = zone_dns_authenticated(R, mx);
    if (ad < 0)
        return;
    R->svc->add_detail(R->ctx, MXP_STATE_OK,
                       ad ? "MX records of %s are DNSSEC-signed (validated "
                            "by the resolver)"
                          : "MX records of %s are not DNSSEC-signed (or the "
                            "resolver does not validate)",
                       d->name);
    /* The first domain's (the -D domain when given) */
    if (d == &R->dom[0])
        R->svc->add_field(R->ctx, "mx_dnssec", ad ? "signed" : "unsigned");
}

static void check_domain(struct zone_run *R, struct zone_domain *d)
{
    struct mxp_dns_query q[Q_N];
    struct domain_names dn;

    if (d->dropped || !domain_answers(R, d, q, &dn))
        return;
    zone_mx_check(R, d, &q[Q_MX], &q[Q_A], &q[Q_AAAA]);
    mx_dnssec(R, d, &q[Q_MX]);
    zone_spf_check(R, d);
    zone_dmarc_check(R, d, &q[Q_DMARC]);
    zone_sts_check(R, d, &q[Q_STS], &q[Q_RPT]);
}

/* Every question the checks will ask, in as few waves as their
 * dependencies allow: the domains' own records (mostly asked while the
 * domain was guessed), then the MX hosts' addresses with the SPF terms'
 * lookups, then one more wave per include/redirect level.  The SMTP
 * session of the guess ends while the first of these is in flight. */
static void prefetch(struct zone_run *R)
{
    for (size_t i = 0; i < R->n_dom; i++)
        zone_domain_want(R, R->dom[i].name);
    zone_dns_send(R);
    zone_dns_wait(R);
    for (size_t i = 0; i < R->n_dom; i++) {
        struct zone_domain *d = &R->dom[i];
        const struct mxp_dns_query *mx = zone_dns_peek(R, d->name, MXP_DNS_MX);

        if (mx != NULL && !(mx->result == MXP_DNS_NXDOMAIN && !d->configured))
            zone_mx_want(R, mx);
    }
    /* waves bounded by the SPF limits (10 terms, 20 levels) and time */
    for (int wave = 0; wave < 24; wave++) {
        size_t wanted = zone_spf_plan(R);

        zone_dns_send(R);
        if (R->smtp != NULL) {
            R->svc->smtp_close(R->smtp, 1);
            R->smtp = NULL;
        }
        zone_dns_wait(R);
        if (wanted == 0 || R->svc->remaining(R->ctx) <= 0)
            break;
    }
}

/* ---- result ---------------------------------------------------------- */

/* The SPF verdicts of d in a few words: "pass", or with several
 * addresses judged "pass for all 3 MX addresses". */
static void spf_words(const struct zone_domain *d, char *out, size_t len)
{
    if (d->spf == NULL)
        snprintf(out, len, "not checked");
    else if (d->spf_judged < 2)
        snprintf(out, len, "%s", d->spf);
    else if (!d->spf_mixed)
        snprintf(out, len, "%s for all %zu MX addresses", d->spf,
                 d->spf_judged);
    else
        snprintf(out, len, "%s and other verdicts for %zu MX addresses", d->spf,
                 d->spf_judged);
}

static void ok_summary(struct zone_run *R)
{
    char text[ZONE_TEXT_LEN], spf[64];
    size_t off = 0;

    text[0] = '\0';
    for (size_t i = 0; i < R->n_dom; i++) {
        const struct zone_domain *d = &R->dom[i];
        int w;

        if (d->dropped)
            continue;
        spf_words(d, spf, sizeof spf);
        w = snprintf(text + off, sizeof text - off,
                     "%s%s: SPF %s, DMARC p=%s, %zu MX", off ? "; " : "",
                     d->name, spf, d->dmarc_p[0] != '\0' ? d->dmarc_p : "?",
                     d->n_mx);

        if (w < 0 || (size_t)w >= sizeof text - off)
            break;
        off += (size_t)w;
    }
    R->svc->set_result(R->ctx, MXP_STATE_OK, "%s", text);
}

static void finish(struct zone_run *R, double started)
{
    unsigned lookups = 0, voids = 0;
    size_t n_mx = 0, n_live = 0;

    for (size_t i = 0; i < R->n_dom; i++) {
        const struct zone_domain *d = &R->dom[i];

        if (d->dropped)
            continue;
        n_live++;
        if (d->spf != NULL && d->spf_lookups > lookups)
            lookups = d->spf_lookups;
        if (d->spf_void > voids)
            voids = d->spf_void;
        n_mx += d->n_mx;
        /* each domain against the range; a permerror already said what
         * is wrong with the record */
        if (d->spf != NULL && !d->spf_broken) {
            enum mxp_state st = R->svc->check_threshold(R->ctx, d->spf_lookups);

            if (st != MXP_STATE_OK)
                zone_finding(R, st, "SPF of %s uses %u of 10 DNS lookups",
                             d->name, d->spf_lookups);
        }
    }
    if (R->n_dom > 0 && n_live == 0)
        zone_finding(R, MXP_STATE_UNKNOWN,
                     "cannot guess the mail domain of %s: the domains of "
                     "its names do not exist%s (give it with -D)",
                     R->t->addr,
                     R->n_ptr_skipped > 0
                         ? ", and its PTR's is the access provider's"
                         : "");
    R->svc->add_metric(R->ctx, "spf_lookups", lookups, "", 10, 1);
    R->svc->add_metric(R->ctx, "spf_void", voids, "", 2, 0);
    R->svc->add_metric(R->ctx, "mx", (double)n_mx, "", NAN, 0);
    R->svc->add_metric(R->ctx, "time", R->svc->now() - started, "s", NAN, 0);

    if (!R->svc->set_result_from_details(R->ctx))
        ok_summary(R);
}

static int zone_run(struct mxp_ctx *ctx, void *state)
{
    struct zone_run *R;
    double started;

    if (ctx->target == NULL)
        return MXP_ERR_INVALID;
    R = calloc(1, sizeof *R);
    if (R == NULL)
        return MXP_ERR_NOMEM;
    R->ctx = ctx;
    R->svc = ctx->svc;
    R->t = ctx->target;
    R->set = state;
    started = R->svc->now();
    if (zone_dns_init(R) != MXP_OK) {
        free(R);
        return MXP_ERR_NOMEM;
    }

    zone_guess_domains(R);
    prefetch(R);
    for (size_t i = 0; i < R->n_dom; i++)
        check_domain(R, &R->dom[i]);
    finish(R, started);
    if (R->smtp != NULL)
        R->svc->smtp_close(R->smtp, 1);
    zone_dns_free(R);
    free(R);
    return MXP_OK;
}

static int zone_init(struct mxp_ctx *ctx, void **state)
{
    struct zone_settings *set = calloc(1, sizeof *set);
    int rc;

    *state = NULL;
    if (set == NULL)
        return MXP_ERR_NOMEM;
    rc = zone_settings_load(ctx, set);
    if (rc == MXP_OK)
        rc = zone_sts_settings_load(ctx, set);
    if (rc != MXP_OK) {
        free(set);
        return rc;
    }
    *state = set;
    return MXP_OK;
}

static void zone_free(void *state)
{
    free(state);
}

static const char *const zone_keys[] = {"dmarc_none", "ca_file",
                                        "mta_sts_cache", NULL};

MXP_PLUGIN_DEFINE(.name = "zone",
                  .summary = "the mail domain in the DNS: MX, SPF "
                             "check_host() of the target (of every MX "
                             "address in a run over a domain), DMARC, "
                             "MTA-STS (the policy fetched and held against "
                             "the MX hosts) and TLS-RPT",
                  .config_keys = zone_keys, .default_warning = "8",
                  .default_critical = NULL, .init = zone_init, .run = zone_run,
                  .free = zone_free, .flags = MXP_PLUGIN_DOMAIN_WIDE);
