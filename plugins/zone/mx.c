/*
 * mx.c - the zone plugin's MX analysis of one mail domain.
 *
 * Null MX (RFC 7505), MX hosts that are IP literals (mail to them fails)
 * or CNAMEs (RFC 2181 10.3 forbids it; most MTAs cope, hence a warning),
 * hosts without addresses, no MX at all (implicit MX, RFC 5321 5.1), and
 * whether each address judged is one of the MX hosts', said either way:
 * a server that only sends is fine.  (In a run over a whole domain the
 * addresses came from its MX hosts; saying where each is found costs
 * nothing and shows an MX set that changed meanwhile.)  The hosts are
 * looked up in one batch, which zone_mx_want lets go out with the SPF
 * lookups.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lookup.h"
#include "mx.h"

struct mx_host {
    const char *name;          /* as in the answer, for queries */
    char shown[ZONE_NAME_LEN]; /* printable, lowercase */
    unsigned pref;
    int literal;                /* an IP address instead of a name */
    int bad_name;               /* not a host name at all */
    int has_addr;               /* some A/AAAA */
    int lit_family;             /* of the literal: AF_INET, AF_INET6 */
    unsigned char lit_addr[16]; /* the literal's address */
    char addrs[160];
};

/* The root name as the MX host. */
static int is_root(const char *name)
{
    return name == NULL || name[0] == '\0' || strcmp(name, ".") == 0;
}

/* 1 when name is an IP address (bare or [..]); its bytes into bin. */
static int is_ip_literal(const char *name, unsigned char *bin)
{
    char buf[ZONE_NAME_LEN];
    size_t n = strlen(name);

    if (n >= sizeof buf)
        return 0;
    memcpy(buf, name, n + 1);
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    if (n > 2 && buf[0] == '[' && buf[n - 1] == ']') {
        buf[n - 1] = '\0';
        memmove(buf, buf + 1, n - 1);
        if (strncmp(buf, "IPv6:", 5) == 0)
            memmove(buf, buf + 5, strlen(buf + 5) + 1);
    }
    memset(bin, 0, 16);
    if (inet_pton(AF_INET, buf, bin) == 1)
        return AF_INET;
    return inet_pton(AF_INET6, buf, bin) == 1 ? AF_INET6 : 0;
}

static void append_addrs(char *out, size_t len, const struct mxp_dns_query *q)
{
    size_t off = strlen(out);

    if (q->result != MXP_DNS_ANSWER)
        return;
    for (size_t i = 0; i < q->n_rr && off + 1 < len; i++) {
        int w = snprintf(out + off, len - off, "%s%s", off ? ", " : "",
                         q->rr[i].text != NULL ? q->rr[i].text : "?");

        if (w < 0 || (size_t)w >= len - off) {
            out[off] = '\0';
            break;
        }
        off += (size_t)w;
    }
}

/* An MX record's place in the answer, sorted by preference with the
 * answer order kept among equals. */
struct mx_ord {
    unsigned pref;
    size_t idx;
};

static int cmp_pref(const void *a, const void *b)
{
    const struct mx_ord *x = a, *y = b;

    if (x->pref != y->pref)
        return x->pref < y->pref ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The hosts of the MX answer to look at, into h (ZONE_MAX_MX of them):
 * the most preferred, wherever they are in the answer (its order kept
 * among equals).  Counts the Null MX records and the hosts beyond the
 * cap.  MXP_OK or MXP_ERR_NOMEM. */
static int pick_hosts(struct zone_run *R, const struct mxp_dns_query *mx,
                      struct mx_host *h, size_t *n_out, size_t *n_null,
                      size_t *extra)
{
    struct mx_ord *order = calloc(mx->n_rr ? mx->n_rr : 1, sizeof *order);
    size_t n = 0;

    *n_out = *n_null = *extra = 0;
    if (order == NULL)
        return MXP_ERR_NOMEM;
    for (size_t i = 0; i < mx->n_rr; i++)
        order[i] = (struct mx_ord){.pref = mx->rr[i].pref, .idx = i};
    qsort(order, mx->n_rr, sizeof *order, cmp_pref);
    for (size_t k = 0; k < mx->n_rr; k++) {
        const struct mxp_dns_rr *rr = &mx->rr[order[k].idx];
        const char *name = rr->text;

        if (is_root(name) && rr->pref == 0) {
            (*n_null)++; /* RFC 7505: "0 ." and nothing else */
            continue;
        }
        if (n == ZONE_MAX_MX) {
            (*extra)++;
            continue;
        }
        h[n].name = name != NULL ? name : "";
        h[n].pref = rr->pref;
        if (is_root(name))
            snprintf(h[n].shown, sizeof h[n].shown, ".");
        else if (!zone_name_copy(name, h[n].shown, sizeof h[n].shown))
            snprintf(h[n].shown, sizeof h[n].shown, "?");
        h[n].lit_family =
            is_root(name) ? 0 : is_ip_literal(name, h[n].lit_addr);
        h[n].literal = h[n].lit_family != 0;
        h[n].bad_name =
            !h[n].literal && (is_root(name) || !R->svc->is_host_name(name));
        n++;
    }
    free(order);
    *n_out = n;
    return MXP_OK;
}

void zone_mx_want(struct zone_run *R, const struct mxp_dns_query *mx)
{
    struct mx_host *h;
    size_t n, n_null, extra;

    if (mx->result != MXP_DNS_ANSWER)
        return;
    h = calloc(ZONE_MAX_MX, sizeof *h);
    if (h == NULL || pick_hosts(R, mx, h, &n, &n_null, &extra) != MXP_OK) {
        free(h);
        return; /* zone_mx_check says it */
    }
    for (size_t i = 0; i < n; i++) {
        if (h[i].literal || h[i].bad_name)
            continue;
        zone_dns_want(R, h[i].name, MXP_DNS_A);
        zone_dns_want(R, h[i].name, MXP_DNS_AAAA);
        zone_dns_want(R, h[i].name, MXP_DNS_CNAME);
    }
    free(h);
}

/* No MX: mail goes to the domain's own address (RFC 5321 5.1). */
static void implicit_mx(struct zone_run *R, struct zone_domain *d,
                        const struct mxp_dns_query *a,
                        const struct mxp_dns_query *aaaa)
{
    if (a->result == MXP_DNS_ANSWER || aaaa->result == MXP_DNS_ANSWER) {
        zone_finding(R, MXP_STATE_WARNING,
                     "no MX for %s: mail goes to its address record "
                     "(implicit MX)",
                     d->name);
        for (size_t i = 0; i < zone_n_addrs(R); i++) {
            const struct mxp_target *t = zone_addr(R, i);
            const struct mxp_dns_query *own = t->family == AF_INET ? a : aaaa;
            int is = R->svc->dns_has_addr(own, t->family, t->addr_bytes);

            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "%s is %sthe implicit MX of %s", t->addr,
                               is ? "" : "not ", d->name);
        }
        return;
    }
    if (zone_dns_definite(a->result) && zone_dns_definite(aaaa->result)) {
        zone_finding(R, MXP_STATE_CRITICAL,
                     "%s has no MX and no address record: it cannot receive "
                     "mail",
                     d->name);
        return;
    }
    zone_finding(R, MXP_STATE_UNKNOWN,
                 "no MX for %s, and its address lookup failed: %s", d->name,
                 R->svc->dns_result_name(
                     zone_dns_definite(a->result) ? aaaa->result : a->result));
}

static void list_hosts(struct zone_run *R, struct zone_domain *d,
                       const struct mx_host *h, size_t n)
{
    char text[ZONE_TEXT_LEN];
    size_t off = 0;

    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(text + off, sizeof text - off, "%s%u %s (%s)",
                         i ? ", " : "", h[i].pref, h[i].shown,
                         h[i].addrs[0] != '\0' ? h[i].addrs : "no address");

        if (w < 0 || (size_t)w >= sizeof text - off) {
            snprintf(text + off, sizeof text - off, "...");
            break;
        }
        off += (size_t)w;
    }
    R->svc->add_detail(R->ctx, MXP_STATE_OK, "MX of %s: %s", d->name, text);
}

/* Whether address t is one of the n MX hosts h (their A, AAAA, CNAME
 * answers in q, three a host), said either way; n_failed of the hosts'
 * address lookups failed. */
static void membership(struct zone_run *R, const struct zone_domain *d,
                       const struct mxp_target *t, const struct mx_host *h,
                       size_t n, const struct mxp_dns_query *q, size_t extra,
                       size_t n_failed)
{
    size_t alen = t->family == AF_INET ? 4 : 16;
    int literal = 0;

    for (size_t i = 0; i < n; i++) {
        const struct mxp_dns_query *own =
            &q[3 * i + (t->family == AF_INET ? 0 : 1)];

        if (h[i].literal) {
            literal |= h[i].lit_family == t->family &&
                       memcmp(h[i].lit_addr, t->addr_bytes, alen) == 0;
            continue;
        }
        if (h[i].bad_name ||
            !R->svc->dns_has_addr(own, t->family, t->addr_bytes))
            continue;
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "%s is an MX of %s (%s)",
                           t->addr, d->name, h[i].shown);
        return;
    }
    if (literal)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s is named as an MX of %s only as an IP literal",
                           t->addr, d->name);
    else if (extra > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s is not among the %zu MX hosts of %s looked at",
                           t->addr, n, d->name);
    else if (zone_n_addrs(R) > 1 && n_failed > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s is not among the addresses of the MX hosts of "
                           "%s that answered",
                           t->addr, d->name);
    else if (zone_n_addrs(R) > 1)
        /* the run's addresses are the domain's MX addresses: its MX set
         * changed since they were looked up */
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s is no longer among the MX hosts' addresses "
                           "of %s",
                           t->addr, d->name);
    else
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s is not an MX of %s (fine for an outbound-only "
                           "server)",
                           t->addr, d->name);
}

void zone_mx_check(struct zone_run *R, struct zone_domain *d,
                   const struct mxp_dns_query *mx,
                   const struct mxp_dns_query *a,
                   const struct mxp_dns_query *aaaa)
{
    struct mx_host *h = NULL;
    struct mxp_dns_query *q = NULL;
    size_t n = 0, n_null = 0, n_usable = 0, n_failed = 0, extra = 0;
    int rc;

    d->n_mx = 0;
    if (mx->result == MXP_DNS_NXDOMAIN) {
        zone_finding(R, MXP_STATE_CRITICAL,
                     "domain %s does not exist (NXDOMAIN)", d->name);
        return;
    }
    if (mx->result == MXP_DNS_NODATA ||
        (mx->result == MXP_DNS_ANSWER && mx->n_rr == 0)) {
        implicit_mx(R, d, a, aaaa);
        return;
    }
    if (mx->result != MXP_DNS_ANSWER) {
        zone_finding(R, MXP_STATE_UNKNOWN, "MX lookup of %s failed: %s",
                     d->name, R->svc->dns_result_name(mx->result));
        return;
    }

    h = calloc(ZONE_MAX_MX, sizeof *h);
    q = calloc(3 * ZONE_MAX_MX, sizeof *q);
    if (h == NULL || q == NULL ||
        pick_hosts(R, mx, h, &n, &n_null, &extra) != MXP_OK) {
        zone_finding(R, MXP_STATE_UNKNOWN, "MX check of %s: out of memory",
                     d->name);
        goto done;
    }
    if (n_null > 0 && n == 0 && extra == 0) {
        zone_finding(R, MXP_STATE_WARNING,
                     "Null MX: %s accepts no mail (RFC 7505); receivers may "
                     "refuse mail from it",
                     d->name);
        goto done;
    }
    if (n_null > 0)
        zone_finding(R, MXP_STATE_WARNING,
                     "%s mixes a Null MX with other MX records (RFC 7505)",
                     d->name);
    d->n_mx = n + extra;

    for (size_t i = 0; i < n; i++) {
        q[3 * i].name = q[3 * i + 1].name = q[3 * i + 2].name = h[i].name;
        q[3 * i].type = MXP_DNS_A;
        q[3 * i + 1].type = MXP_DNS_AAAA;
        q[3 * i + 2].type = MXP_DNS_CNAME;
        if (h[i].literal || h[i].bad_name)
            q[3 * i].type = q[3 * i + 1].type = q[3 * i + 2].type = 0;
    }
    {
        /* Only the real host names are asked; their slots are packed. */
        struct mxp_dns_query *ask = calloc(3 * ZONE_MAX_MX, sizeof *ask);
        size_t k = 0;

        if (ask == NULL) {
            zone_finding(R, MXP_STATE_UNKNOWN, "MX check of %s: out of memory",
                         d->name);
            goto done;
        }
        for (size_t i = 0; i < 3 * n; i++)
            if (q[i].type != 0)
                ask[k++] = q[i];
        rc = k > 0 ? zone_dns_get(R, ask, k) : MXP_OK;
        k = 0;
        for (size_t i = 0; i < 3 * n; i++) {
            if (q[i].type == 0)
                continue;
            q[i] = ask[k++];
            if (rc != MXP_OK) {
                q[i].result = MXP_DNS_FAILED;
                q[i].n_rr = 0;
            }
        }
        free(ask);
    }

    for (size_t i = 0; i < n; i++) {
        const struct mxp_dns_query *qa = &q[3 * i], *q6 = &q[3 * i + 1],
                                   *qc = &q[3 * i + 2];

        if (h[i].literal) {
            zone_finding(R, MXP_STATE_CRITICAL,
                         "MX host %s of %s is an IP address, not a host name",
                         h[i].shown, d->name);
            continue;
        }
        if (h[i].bad_name && strcmp(h[i].shown, ".") == 0) {
            zone_finding(R, MXP_STATE_WARNING,
                         "MX host '.' of %s has preference %u: a Null MX "
                         "has preference 0 (RFC 7505)",
                         d->name, h[i].pref);
            continue;
        }
        if (h[i].bad_name) {
            zone_finding(R, MXP_STATE_WARNING,
                         "MX host '%s' of %s is not a valid host name",
                         h[i].shown, d->name);
            continue;
        }
        if (qc->result == MXP_DNS_ANSWER && qc->n_rr > 0) {
            char to[ZONE_NAME_LEN];

            if (!zone_name_copy(qc->rr[0].text != NULL ? qc->rr[0].text : "",
                                to, sizeof to))
                snprintf(to, sizeof to, "?");
            zone_finding(R, MXP_STATE_WARNING,
                         "MX host %s of %s is a CNAME (to %s; RFC 2181 10.3)",
                         h[i].shown, d->name, to);
        }
        append_addrs(h[i].addrs, sizeof h[i].addrs, qa);
        append_addrs(h[i].addrs, sizeof h[i].addrs, q6);
        h[i].has_addr = (qa->result == MXP_DNS_ANSWER && qa->n_rr > 0) ||
                        (q6->result == MXP_DNS_ANSWER && q6->n_rr > 0);
        if (h[i].has_addr) {
            n_usable++;
        } else if (zone_dns_definite(qa->result) &&
                   zone_dns_definite(q6->result)) {
            zone_finding(
                R, MXP_STATE_WARNING, "MX host %s of %s has no address (%s)",
                h[i].shown, d->name,
                qa->result == MXP_DNS_NXDOMAIN ? "NXDOMAIN" : "no A/AAAA");
        } else {
            n_failed++;
            zone_finding(R, MXP_STATE_UNKNOWN,
                         "address lookup of MX host %s of %s failed: %s",
                         h[i].shown, d->name,
                         R->svc->dns_result_name(zone_dns_definite(qa->result)
                                                     ? q6->result
                                                     : qa->result));
        }
    }
    list_hosts(R, d, h, n);
    if (extra > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%zu more MX records of %s not looked at", extra,
                           d->name);
    if (n_usable == 0 && n_failed == 0 && extra == 0)
        zone_finding(R, MXP_STATE_CRITICAL, "no usable MX host for %s",
                     d->name);
    for (size_t i = 0; i < zone_n_addrs(R); i++)
        membership(R, d, zone_addr(R, i), h, n, q, extra, n_failed);
done:
    free(h);
    free(q);
}
