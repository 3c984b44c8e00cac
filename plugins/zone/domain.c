/*
 * domain.c - the zone plugin's guess of the target's mail domain.
 *
 * The configured domain (-D or the target's domain:) wins.  Otherwise an
 * expert's guess: the registered domain (Public Suffix List) of the PTR
 * names and of the names the server gives in its greeting and EHLO reply,
 * read over a short SMTP session of our own while the PTR is looked up.
 * When PTR and banner point at different domains both are checked, except
 * that a PTR name that is generic or not forward-confirmed names the
 * access provider's domain, not the mail domain, when the banner names
 * another: then only the banner's is (the PTR's is named in a detail).
 * Each guess says where it came from.  The candidates' records are asked
 * as soon as each candidate is known (lookup.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "lookup.h"
#include "zone.h"

/* The first word of a reply line, when it is a host name, into out
 * (lowercase, no trailing dot); "" otherwise (address literals name no
 * domain). */
static void first_word_name(const struct mxp_services *svc, const char *line,
                            char *out, size_t len)
{
    char word[ZONE_NAME_LEN];
    size_t n = strcspn(line, " \t");

    out[0] = '\0';
    if (n == 0 || n >= sizeof word)
        return;
    memcpy(word, line, n);
    word[n] = '\0';
    if (zone_host_name_ok(svc, word))
        zone_name_copy(word, out, len);
}

/* The registered domain of a name, when the DNS may know it: into out
 * (lowercase); 0 for special-use names and public suffixes. */
static int domain_of(struct zone_run *R, const char *name, char *out,
                     size_t len)
{
    const char *reg;

    if (name[0] == '\0' || R->svc->name_special(name))
        return 0;
    reg = R->svc->registered_domain(R->ctx, name);
    return reg != NULL && reg[0] != '\0' && zone_name_copy(reg, out, len);
}

/* A candidate domain's records go out with the next wave, before it is
 * known whether the domain is taken: the answers are there when it is. */
static void want_domain_of(struct zone_run *R, const char *name)
{
    char dom[ZONE_NAME_LEN];

    if (domain_of(R, name, dom, sizeof dom))
        zone_domain_want(R, dom);
}

/* Reads the PTR answer when it came: the names into R->ptr, their
 * addresses (forward confirmation) and the first one's domain wanted.
 * Returns 0 when it has not come yet. */
static int ptr_read(struct zone_run *R, const char *rev)
{
    const struct mxp_dns_query *q = zone_dns_peek(R, rev, MXP_DNS_PTR);

    if (q == NULL)
        return 0;
    if (zone_dns_definite(q->result) && q->result != MXP_DNS_ANSWER) {
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "no PTR name for %s (%s)",
                           R->t->addr, R->svc->dns_result_name(q->result));
        return 1;
    }
    if (q->result != MXP_DNS_ANSWER) {
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "PTR lookup of %s failed: %s",
                           R->t->addr, R->svc->dns_result_name(q->result));
        return 1;
    }
    for (size_t i = 0; i < q->n_rr && R->n_ptr < ZONE_MAX_PTR; i++) {
        const char *t = q->rr[i].text;

        if (t == NULL || !zone_host_name_ok(R->svc, t))
            continue;
        if (!zone_name_copy(t, R->ptr[R->n_ptr], ZONE_NAME_LEN))
            continue;
        zone_dns_want(R, R->ptr[R->n_ptr], MXP_DNS_A);
        zone_dns_want(R, R->ptr[R->n_ptr], MXP_DNS_AAAA);
        R->n_ptr++;
    }
    if (R->n_ptr > 0)
        want_domain_of(R, R->ptr[0]);
    return 1;
}

/* Between SMTP steps: reads the PTR if it came, and sends what is
 * wanted by now. */
static void dns_step(struct zone_run *R, const char *rev, int *ptr_done)
{
    /* the PTR's own batch only: the candidates' may still be out */
    if (!*ptr_done && zone_dns_fetched(R, rev, MXP_DNS_PTR))
        *ptr_done = ptr_read(R, rev);
    zone_dns_send(R);
}

/* Greeting and EHLO, with the DNS going on alongside: only the names are
 * wanted here (the banner check judges the session itself).  The session
 * is left open in R->smtp: its QUIT goes out with a later wave. */
static void smtp_names(struct zone_run *R, const char *rev, int *ptr_done)
{
    const struct mxp_services *svc = R->svc;
    const char *helo = R->ctx->probe != NULL ? R->ctx->probe->helo_name : NULL;
    struct mxp_smtp *s = NULL;
    struct mxp_smtp_reply r;
    int rc, used_helo = 0;

    rc = svc->smtp_open(R->ctx, R->t->addr, R->t->port, &s);
    if (rc != MXP_OK)
        goto fail;
    memset(&r, 0, sizeof r);
    rc = svc->smtp_read_reply(s, &r);
    if (rc != MXP_OK)
        goto fail;
    if (r.code != 220) {
        svc->add_detail(R->ctx, MXP_STATE_OK,
                        "no greeting name from %s (greeting %d): guessing "
                        "from the PTR only",
                        R->t->addr, r.code);
        svc->smtp_close(s, 1);
        return;
    }
    if (r.n_lines > 0)
        first_word_name(svc, r.lines[0], R->greeting, sizeof R->greeting);
    want_domain_of(R, R->greeting);
    dns_step(R, rev, ptr_done);
    if (helo == NULL || helo[0] == '\0')
        helo = "localhost";
    memset(&r, 0, sizeof r);
    rc = svc->smtp_ehlo(s, helo, &r, &used_helo);
    if (rc == MXP_OK && r.code / 100 == 2 && r.n_lines > 0)
        first_word_name(svc, r.lines[0], R->ehlo, sizeof R->ehlo);
    want_domain_of(R, R->ehlo);
    dns_step(R, rev, ptr_done);
    if (rc == MXP_OK)
        R->smtp = s;
    else
        svc->smtp_close(s, 0);
    return;
fail:
    svc->add_detail(R->ctx, MXP_STATE_OK,
                    "no greeting name from %s (%s): guessing from the PTR "
                    "only",
                    R->t->addr,
                    s != NULL ? svc->smtp_error(s) : svc->strerror(rc));
    svc->smtp_close(s, 0);
}

/* Why the domain of PTR name ptr is not taken for the server's mail
 * domain: the name is generic (the core's rule, as banner's) or not
 * forward-confirmed, and the banner names another registered domain,
 * banner_dom.  Into why; 0 when the PTR's domain is taken. */
static int ptr_doubtful(struct zone_run *R, const char *ptr,
                        const char *banner_dom, char *why, size_t len)
{
    const struct mxp_dns_query *fq = zone_dns_peek(
        R, ptr, R->t->family == AF_INET ? MXP_DNS_A : MXP_DNS_AAAA);
    char dom[ZONE_NAME_LEN], generic[96];

    if (banner_dom[0] == '\0' || !domain_of(R, ptr, dom, sizeof dom) ||
        zone_names_equal(dom, banner_dom))
        return 0;
    if (R->svc->name_generic(ptr, R->t->family, R->t->addr_bytes, generic,
                             sizeof generic)) {
        snprintf(why, len, "looks generic (%s)", generic);
        return 1;
    }
    /* only a definite "no": a failed lookup proves nothing */
    if (fq != NULL && zone_dns_definite(fq->result) &&
        !R->svc->dns_has_addr(fq, R->t->family, R->t->addr_bytes)) {
        snprintf(why, len, "does not resolve back to %s", R->t->addr);
        return 1;
    }
    return 0;
}

/* 1 when dom is one of the candidate domains. */
static int domain_taken(const struct zone_run *R, const char *dom)
{
    for (size_t i = 0; i < R->n_dom; i++)
        if (zone_names_equal(R->dom[i].name, dom))
            return 1;
    return 0;
}

/* Adds "<what> <name>" to the source of the domain that name belongs to,
 * creating the domain when there is room. */
static void add_candidate(struct zone_run *R, const char *what,
                          const char *name, size_t *dropped)
{
    const char *reg;
    struct zone_domain *d = NULL;
    size_t off;

    if (name[0] == '\0')
        return;
    /* never in the DNS: "localhost.localdomain" of a default install */
    if (R->svc->name_special(name)) {
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "the %s name %s is a special-use or private name: "
                           "not looked up",
                           what, name);
        return;
    }
    reg = R->svc->registered_domain(R->ctx, name);
    if (reg == NULL || reg[0] == '\0')
        return;
    for (size_t i = 0; i < R->n_dom; i++)
        if (zone_names_equal(R->dom[i].name, reg))
            d = &R->dom[i];
    if (d == NULL) {
        if (R->n_dom == ZONE_MAX_DOMAINS) {
            (*dropped)++;
            return;
        }
        d = &R->dom[R->n_dom];
        memset(d, 0, sizeof *d);
        if (!zone_name_copy(reg, d->name, sizeof d->name))
            return;
        snprintf(d->source, sizeof d->source, "from ");
        d->first_what = what;
        R->n_dom++;
    } else if (strcmp(what, "PTR") == 0 &&
               (strncmp(d->source, "from PTR ", 9) == 0 ||
                strstr(d->source, ", PTR ") != NULL)) {
        /* one PTR name tells the domain; the others only repeat it */
        d->more_ptr++;
        return;
    }
    off = strlen(d->source);
    snprintf(d->source + off, sizeof d->source - off, "%s%s %s",
             off > 5 ? ", " : "", what, name);
}

void zone_guess_domains(struct zone_run *R)
{
    const char *conf = R->t->domain;
    char rev[128], banner_dom[ZONE_NAME_LEN], why[ZONE_MAX_PTR][160];
    const char *banner_what = "greeting";
    int doubtful[ZONE_MAX_PTR] = {0}, ptr_done = 0;
    size_t dropped = 0;

    if (conf != NULL && conf[0] != '\0') {
        struct zone_domain *d = &R->dom[0];

        memset(d, 0, sizeof *d);
        if (!zone_name_copy(conf, d->name, sizeof d->name) ||
            !zone_host_name_ok(R->svc, d->name)) {
            char shown[ZONE_NAME_LEN];

            zone_printable(conf, strlen(conf), shown, sizeof shown);
            d->name[0] = '\0';
            zone_finding(R, MXP_STATE_UNKNOWN,
                         "configured domain '%s' is not a domain name", shown);
            return;
        }
        snprintf(d->source, sizeof d->source, "configured");
        d->configured = 1;
        R->n_dom = 1;
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "domain %s (configured)",
                           d->name);
        return;
    }

    /* The PTR first, SMTP meanwhile; then the PTR names' addresses and
     * each candidate domain's records, all in one wave. */
    if (R->svc->reverse_name(R->t->family, R->t->addr_bytes, NULL, rev,
                             sizeof rev) != 0) {
        zone_dns_want(R, rev, MXP_DNS_PTR);
        zone_dns_send(R);
    } else {
        ptr_done = 1;
    }
    smtp_names(R, rev, &ptr_done);
    if (!ptr_done) {
        zone_dns_wait(R);
        ptr_read(R, rev);
        zone_dns_send(R);
    }
    zone_dns_wait(R);

    /* A generic or unconfirmed PTR names the access provider's domain
     * when the banner names another: the banner's is the mail domain. */
    if (domain_of(R, R->greeting, banner_dom, sizeof banner_dom))
        banner_what = "greeting";
    else if (domain_of(R, R->ehlo, banner_dom, sizeof banner_dom))
        banner_what = "EHLO"; /* no greeting name, or a special-use one */
    else
        banner_dom[0] = '\0';
    for (size_t i = 0; i < R->n_ptr; i++)
        doubtful[i] =
            ptr_doubtful(R, R->ptr[i], banner_dom, why[i], sizeof why[i]);
    /* The first PTR name and the banner's names first: with at most two
     * domains, more PTR names must not crowd out the greeting's. */
    if (R->n_ptr > 0 && !doubtful[0])
        add_candidate(R, "PTR", R->ptr[0], &dropped);
    add_candidate(R, "greeting", R->greeting, &dropped);
    /* EHLO usually repeats the greeting's name: say it once. */
    if (!zone_names_equal(R->ehlo, R->greeting))
        add_candidate(R, "EHLO", R->ehlo, &dropped);
    for (size_t i = 1; i < R->n_ptr; i++)
        if (!doubtful[i])
            add_candidate(R, "PTR", R->ptr[i], &dropped);
    for (size_t i = 0; i < R->n_ptr; i++) {
        char dom[ZONE_NAME_LEN];

        /* said only when true: another PTR name (confirmed, not generic)
         * or the EHLO name may have brought the same domain in */
        if (!doubtful[i] || !domain_of(R, R->ptr[i], dom, sizeof dom) ||
            domain_taken(R, dom))
            continue;
        R->n_ptr_skipped++;
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "PTR %s %s: its domain %s is taken for the "
                           "access provider's, not audited (the %s "
                           "names %s)",
                           R->ptr[i], why[i], dom, banner_what, banner_dom);
    }
    if (R->n_dom == 0) {
        zone_finding(R, MXP_STATE_UNKNOWN,
                     "cannot guess the mail domain of %s: %s (give it with "
                     "-D)",
                     R->t->addr,
                     R->n_ptr == 0 && R->greeting[0] == '\0' &&
                             R->ehlo[0] == '\0'
                         ? "no PTR name, no greeting name"
                         : "no registered domain in its names");
        return;
    }
    for (size_t i = 0; i < R->n_dom; i++) {
        char more[48] = "";

        if (R->dom[i].more_ptr > 0)
            snprintf(more, sizeof more, ", +%zu more PTR name%s",
                     R->dom[i].more_ptr, R->dom[i].more_ptr == 1 ? "" : "s");
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "domain %s (%s%s)",
                           R->dom[i].name, R->dom[i].source, more);
    }
    if (dropped > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%zu more name%s of other domains not checked "
                           "(at most %d domains are)",
                           dropped, dropped == 1 ? "" : "s", ZONE_MAX_DOMAINS);
}
