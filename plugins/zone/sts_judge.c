/*
 * sts_judge.c - what a mail domain's MTA-STS (RFC 8461) and TLS-RPT
 * (RFC 8460) publication does to mail sent to it (zone_sts_check,
 * declared in policy.h), and the settings it needs (sts.h).
 *
 * The _mta-sts TXT record says a policy exists; the policy is fetched
 * as senders fetch it (https://mta-sts.<domain>/.well-known/mta-sts.txt,
 * certificate verified, no redirect, text/plain, 64 KiB) and held
 * against the domain's MX hosts: in mode enforce an MX that no pattern
 * matches gets no mail from MTA-STS senders.  A policy that cannot be
 * fetched leaves senders without one (a WARNING), unless they cached an
 * enforce policy that is still fresh: they go on applying it, which the
 * cache of plugins.zone.mta_sts_cache stands for (sts_cache.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lookup.h"
#include "mx.h"
#include "policy.h"
#include "sts.h"

/* A fetch given less than this that timed out says more about the
 * run's time than about the server: UNKNOWN, not a finding. */
#define STS_MIN_FETCH_TIME 5.0
#define STS_DAY 86400L

/* ---- settings --------------------------------------------------------- */

/* key's path into out: a readable regular file (dir 0), or a directory
 * we may write to (dir 1).  Absent or "": out stays "". */
static int path_setting(struct mxp_ctx *ctx, const struct mxp_node *cfg,
                        const char *key, int dir, char *out, size_t len)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *n = cfg != NULL ? svc->node_get(cfg, key) : NULL;
    const char *path = svc->node_str(n);
    struct stat st;
    const char *why = NULL;

    out[0] = '\0';
    if (svc->node_unset(n))
        return MXP_OK;
    if (svc->node_kind(n) != MXP_NODE_SCALAR || path == NULL)
        why = dir ? "is not a directory name" : "is not a file name";
    else if (strlen(path) >= len)
        why = "is too long a path";
    else if (stat(path, &st) != 0)
        why = dir ? "names no directory" : "names no file";
    else if (dir && !S_ISDIR(st.st_mode))
        why = "is not a directory";
    else if (dir && access(path, W_OK | X_OK) != 0)
        why = "is a directory we may not write to";
    /* a FIFO would block the open, a directory would fail every fetch
     * as if the server had: a regular file only, as tls's ca_file */
    else if (!dir && !S_ISREG(st.st_mode))
        why = "is not a regular file";
    else if (!dir && access(path, R_OK) != 0)
        why = "cannot be read";
    if (why != NULL) {
        svc->config_error(ctx, n, "%s: '%s' %s", key, path != NULL ? path : "",
                          why);
        return MXP_ERR_CONFIG;
    }
    memcpy(out, path, strlen(path) + 1);
    return MXP_OK;
}

int zone_sts_settings_load(struct mxp_ctx *ctx, struct zone_settings *out)
{
    const struct mxp_node *cfg = ctx->svc->config(ctx);
    int rc =
        path_setting(ctx, cfg, "ca_file", 0, out->ca_file, sizeof out->ca_file);

    if (rc == MXP_OK)
        rc = path_setting(ctx, cfg, "mta_sts_cache", 1, out->sts_cache,
                          sizeof out->sts_cache);
    return rc;
}

/* ---- words ------------------------------------------------------------ */

static void utc_time(long long t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        snprintf(out, len, "@%lld", t);
}

static void age_words(long s, char *out, size_t len)
{
    if (s >= STS_DAY && s % STS_DAY == 0)
        snprintf(out, len, "%ld s, %ld day%s", s, s / STS_DAY,
                 s == STS_DAY ? "" : "s");
    else if (s >= 3600)
        snprintf(out, len, "%ld s, %.1f hours", s, s / 3600.0);
    else
        snprintf(out, len, "%ld s", s);
}

/* "mode enforce, max_age 604800 s (7 days), mx mx1.example.org,
 * *.example.org" */
static void policy_words(const struct mta_sts_policy *p, char *out, size_t len)
{
    char age[64];
    size_t off;
    int w;

    age_words(p->max_age, age, sizeof age);
    w = snprintf(out, len, "mode %s, max_age %s, mx ",
                 mta_sts_mode_name(p->mode), age);
    off = w > 0 && (size_t)w < len ? (size_t)w : 0;
    if (p->n_mx == 0)
        snprintf(out + off, len - off, "(none)");
    for (size_t i = 0; i < p->n_mx; i++) {
        w = snprintf(out + off, len - off, "%s%s", i ? ", " : "", p->mx[i]);
        if (w < 0 || (size_t)w >= len - off) {
            if (len - off > 4)
                snprintf(out + off, len - off, "...");
            break;
        }
        off += (size_t)w;
    }
}

/* ---- holding a policy against the MX hosts ---------------------------- */

/* 1 when MX host name is where this run's target is: its -H name, or a
 * host holding its address.  In a run over a whole domain every MX is. */
static int is_target_mx(struct zone_run *R, const char *name)
{
    const struct mxp_target *t = R->t;
    const struct mxp_dns_query *q;

    if (zone_n_addrs(R) != 1)
        return 0;
    if (t->host != NULL && zone_names_equal(t->host, name))
        return 1;
    q = zone_dns_peek(R, name, t->family == AF_INET ? MXP_DNS_A : MXP_DNS_AAAA);
    return q != NULL && R->svc->dns_has_addr(q, t->family, t->addr_bytes);
}

/* The first pattern of p matching name, or NULL. */
static const char *matching_pattern(const struct mta_sts_policy *p,
                                    const char *name)
{
    for (size_t i = 0; i < p->n_mx; i++)
        if (mta_sts_pattern_matches(p->mx[i], name))
            return p->mx[i];
    return NULL;
}

/* Holds the MX hosts of d against p's patterns; which: "MTA-STS policy"
 * or "cached MTA-STS policy" for the words. */
static void judge_mx(struct zone_run *R, const struct zone_domain *d,
                     const struct mta_sts_policy *p, const char *which)
{
    const struct mxp_dns_query *mx = zone_dns_peek(R, d->name, MXP_DNS_MX);
    char ok[ZONE_TEXT_LEN], name[ZONE_NAME_LEN];
    size_t off = 0, n = 0, more = 0;
    int target_seen = 0;

    ok[0] = '\0';
    if (mx == NULL || mx->result != MXP_DNS_ANSWER) {
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s of %s: no MX hosts to hold against it", which,
                           d->name);
        return;
    }
    for (size_t i = 0; i < mx->n_rr; i++) {
        const char *host = mx->rr[i].text != NULL ? mx->rr[i].text : "";
        const char *pat;
        int dup = 0, target;

        /* a Null MX, IP literals and bad names: mx.c said so */
        if (!zone_host_name_ok(R->svc, host) ||
            !zone_name_copy(host, name, sizeof name))
            continue;
        for (size_t k = 0; k < i && !dup; k++)
            dup = mx->rr[k].text != NULL &&
                  zone_names_equal(mx->rr[k].text, host);
        if (dup)
            continue;
        if (n == ZONE_MAX_MX) {
            more++;
            continue;
        }
        n++;
        target = is_target_mx(R, name);
        target_seen |= target;
        pat = matching_pattern(p, name);
        if (pat != NULL) {
            int w = snprintf(ok + off, sizeof ok - off, "%s%s%s (%s)",
                             off ? ", " : "", name,
                             target ? " (the target)" : "", pat);

            if (w > 0 && (size_t)w < sizeof ok - off)
                off += (size_t)w;
        } else if (p->mode == MTA_STS_MODE_ENFORCE) {
            zone_finding(R, MXP_STATE_CRITICAL,
                         "%s of %s: mail to MX %s is refused by MTA-STS "
                         "senders (mode enforce, no mx pattern matches)%s",
                         which, d->name, name,
                         target ? "; it is the target" : "");
        } else {
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "MX %s%s matches no mx pattern of the %s of "
                               "%s: in mode testing senders report it "
                               "(TLS-RPT) but deliver",
                               name, target ? " (the target)" : "", which,
                               d->name);
        }
    }
    if (off > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "MX hosts of %s matching the %s: %s", d->name, which,
                           ok);
    if (more > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%zu more MX hosts of %s not held against the %s",
                           more, d->name, which);
    if (zone_n_addrs(R) == 1 && !target_seen && n > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "the target %s is not an MX host of %s: the %s "
                           "does not apply to it",
                           R->t->host != NULL && R->t->host[0] != '\0'
                               ? R->t->host
                               : R->t->addr,
                           d->name, which);
}

/* What a policy (fetched, or cached: which says) tells senders. */
static void judge_policy(struct zone_run *R, const struct zone_domain *d,
                         const struct mta_sts_policy *p, const char *which)
{
    char age[64];

    age_words(p->max_age, age, sizeof age);
    if (p->blank_line > 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s of %s has an empty line (line %u), which "
                           "RFC 8461 3.2 does not allow; senders commonly "
                           "skip it",
                           which, d->name, p->blank_line);
    if (p->dup_line > 0 && p->dup_key != NULL)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s of %s repeats its %s field (line %u): senders "
                           "go by the first and ignore the others (RFC 8461 "
                           "3.2)",
                           which, d->name, p->dup_key, p->dup_line);
    if (p->case_line > 0 && p->case_key != NULL)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s of %s writes the key %s in another case on "
                           "line %u: senders ignore that line (keys are "
                           "case-sensitive, RFC 8461 3.2)",
                           which, d->name, p->case_key, p->case_line);
    if (p->mode == MTA_STS_MODE_NONE) {
        /* a policy being withdrawn: a short max_age is what RFC 8461
         * 8.3 asks for then, so no warning about it */
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s of %s is in mode none: senders do not apply "
                           "MTA-STS (a policy being withdrawn)",
                           which, d->name);
        return;
    }
    if (p->max_age < STS_DAY)
        zone_finding(R, MXP_STATE_WARNING,
                     "max_age of the %s of %s is %s, under a day: senders "
                     "forget it quickly, so an attacker who blocks the "
                     "policy server soon strips TLS (RFC 8461 3.2 "
                     "recommends weeks)",
                     which, d->name, age);
    if (p->mode == MTA_STS_MODE_TESTING)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "%s of %s is in mode testing: senders report TLS "
                           "failures (TLS-RPT) but deliver",
                           which, d->name);
    judge_mx(R, d, p, which);
}

/* ---- fetching --------------------------------------------------------- */

struct sts_fetch {
    char url[ZONE_NAME_LEN + 48];
    char reason[ZONE_TEXT_LEN / 2]; /* why there is no policy */
    /* mxprobe cannot tell: "" when it can, else why not (the run's time
     * too short, no HTTPS in this core) */
    const char *unknown;
    int ok; /* pol holds the policy */
    struct mta_sts_policy pol;
    const char *body;
    size_t body_len;
};

/* 1 when the Content-Type names text/plain, parameters allowed. */
static int text_plain(const char *ct)
{
    size_t n = strlen("text/plain");

    ct += strspn(ct, " \t");
    return strncasecmp(ct, "text/plain", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* After https_get found no address for host (up to the URL's '/'): 1
 * when the DNS says so for certain (NXDOMAIN or NODATA for A and AAAA),
 * which senders see too; 0 when a lookup failed (SERVFAIL, timeout),
 * which may be this resolver's trouble. */
static int host_surely_missing(struct zone_run *R, const char *host)
{
    char name[ZONE_NAME_LEN + 16];
    size_t n = strcspn(host, "/");
    struct mxp_dns_query q[2];

    if (n >= sizeof name)
        return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    memset(q, 0, sizeof q);
    q[0].name = q[1].name = name;
    q[0].type = MXP_DNS_A;
    q[1].type = MXP_DNS_AAAA;
    if (zone_dns_get(R, q, 2) != MXP_OK)
        return 0;
    return zone_dns_definite(q[0].result) && zone_dns_definite(q[1].result);
}

static void fetch_policy(struct zone_run *R, const struct zone_domain *d,
                         struct sts_fetch *f)
{
    const struct mxp_services *svc = R->svc;
    struct mxp_https_get g;
    double left = svc->remaining(R->ctx);
    char err[256], ct[160];
    int rc;

    snprintf(f->url, sizeof f->url,
             "https://mta-sts.%s/.well-known/mta-sts.txt", d->name);
    memset(&g, 0, sizeof g);
    g.url = f->url;
    g.ca_file = R->set != NULL ? R->set->ca_file : "";
    g.max_body = MTA_STS_POLICY_MAX;
    /* the run's time, less a second to report in */
    g.timeout = left > 4 ? left - 1 : left * 0.75;
    f->unknown = "";
    if (g.timeout <= 0.05) {
        f->unknown = ", with too little of the run's time left to tell "
                     "(raise -t)";
        snprintf(f->reason, sizeof f->reason, "no time left in the run");
        return;
    }
    /* a core older than ABI 1.5 has no https_get */
    rc = svc->size >= offsetof(struct mxp_services, https_get) +
                          sizeof svc->https_get
             ? svc->https_get(R->ctx, &g)
             : MXP_ERR_UNSUPPORTED;
    if (rc == MXP_ERR_TOO_BIG) {
        snprintf(f->reason, sizeof f->reason,
                 "it is larger than %d KiB (senders refuse it, RFC 8461 3.3)",
                 MTA_STS_POLICY_MAX / 1024);
    } else if (rc != MXP_OK) {
        /* our own failures, and a timeout the run cut short, say
         * nothing about the server */
        if (rc == MXP_ERR_TIMEOUT && g.timeout < STS_MIN_FETCH_TIME)
            f->unknown = ", with too little of the run's time left to tell "
                         "(raise -t)";
        else if (rc == MXP_ERR_UNSUPPORTED || rc == MXP_ERR_INVALID ||
                 rc == MXP_ERR_NOMEM || rc == MXP_ERR_CONFIG)
            f->unknown = ": mxprobe cannot tell";
        else if (rc == MXP_ERR_DNS && !host_surely_missing(R, f->url + 8))
            f->unknown = ": the DNS gave no definite answer, so mxprobe "
                         "cannot tell";
        snprintf(f->reason, sizeof f->reason, "%s",
                 g.words[0] != '\0' ? g.words : svc->strerror(rc));
    } else if (g.status >= 300 && g.status < 400) {
        zone_printable(g.location, strnlen(g.location, sizeof g.location), ct,
                       sizeof ct);
        snprintf(f->reason, sizeof f->reason,
                 "HTTP %ld redirect to %s: redirects are not followed by "
                 "senders (RFC 8461 3.3)",
                 g.status, ct[0] != '\0' ? ct : "(no Location)");
    } else if (g.status != 200) {
        snprintf(f->reason, sizeof f->reason, "HTTP status %ld", g.status);
    } else if (!text_plain(g.content_type)) {
        zone_printable(g.content_type,
                       strnlen(g.content_type, sizeof g.content_type), ct,
                       sizeof ct);
        snprintf(f->reason, sizeof f->reason,
                 "its Content-Type is %s%s%s, not text/plain (RFC 8461 3.2)",
                 ct[0] != '\0' ? "'" : "", ct[0] != '\0' ? ct : "missing",
                 ct[0] != '\0' ? "'" : "");
    } else if (mta_sts_policy_parse(g.body != NULL ? g.body : "", g.body_len,
                                    &f->pol, err, sizeof err) != MTA_STS_OK) {
        snprintf(f->reason, sizeof f->reason, "invalid policy: %s", err);
    } else {
        f->ok = 1;
        f->body = g.body;
        f->body_len = g.body_len;
    }
}

/* ---- the _mta-sts record ---------------------------------------------- */

/* The TXT texts of q into arrays for the selectors (at most 64). */
#define STS_MAX_TXT 64
static size_t txt_texts(const struct mxp_dns_query *q, const char **texts,
                        size_t *lens)
{
    size_t n = 0;

    for (size_t i = 0; q->result == MXP_DNS_ANSWER && i < q->n_rr; i++) {
        if (n == STS_MAX_TXT)
            break;
        texts[n] = q->rr[i].text != NULL ? q->rr[i].text : "";
        lens[n++] = q->rr[i].text != NULL ? q->rr[i].text_len : 0;
    }
    return n;
}

/* Unfetchable, or no usable TXT record: senders that cached an enforce
 * policy still in its max_age keep applying it (RFC 8461 5.1, 8.3).
 * Returns 1 (said, the MX hosts judged against it) when there is one. */
static int cached_enforce(struct zone_run *R, const struct zone_domain *d,
                          const struct sts_cached *c, long long now,
                          enum mxp_state st, const char *why)
{
    char fetched[40], until[40], which[96];

    if (c->policy.mode != MTA_STS_MODE_ENFORCE ||
        c->fetched + c->policy.max_age <= now)
        return 0;
    utc_time(c->fetched, fetched, sizeof fetched);
    utc_time(c->fetched + c->policy.max_age, until, sizeof until);
    zone_finding(R, st,
                 "%s; senders keep applying the enforce policy they cached "
                 "(id %s, fetched %s) until %s",
                 why, c->id, fetched, until);
    snprintf(which, sizeof which, "cached MTA-STS policy (fetched %s)",
             fetched);
    judge_mx(R, d, &c->policy, which);
    return 1;
}

/* The cache's file for d: 1 with *c, else 0 (a broken one noted). */
static int cache_get(struct zone_run *R, const struct zone_domain *d,
                     long long now, struct sts_cached *c)
{
    char why[256];
    int rc;

    if (R->set == NULL || R->set->sts_cache[0] == '\0')
        return 0;
    rc = sts_cache_read(R->set->sts_cache, d->name, now, c, why, sizeof why);
    if (rc < 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "MTA-STS cache file of %s in %s ignored: %s",
                           d->name, R->set->sts_cache, why);
    return rc == 1;
}

/* A good fetch: said, compared with the cached one, cached, judged. */
static void policy_fetched(struct zone_run *R, const struct zone_domain *d,
                           const struct mta_sts_txt *txt,
                           const struct sts_fetch *f,
                           const struct sts_cached *c, int have_c,
                           long long now)
{
    char words[ZONE_TEXT_LEN / 2 + 64], why[256], fetched[40], until[40];
    int keep = 0;

    policy_words(&f->pol, words, sizeof words);
    R->svc->add_detail(R->ctx, MXP_STATE_OK, "MTA-STS policy of %s (id %s): %s",
                       d->name, txt->id, words);
    /* Senders holding the old one under this id keep it until its
     * max_age runs out: so does the cache, or the warning would go with
     * the next run while they still apply the old policy; once it ran
     * out they fetch the new one, and nothing is wrong. */
    if (have_c && strcmp(c->id, txt->id) == 0 &&
        c->fetched + c->policy.max_age > now &&
        !sts_policy_same(&c->policy, &f->pol)) {
        keep = 1;
        utc_time(c->fetched, fetched, sizeof fetched);
        utc_time(c->fetched + c->policy.max_age, until, sizeof until);
        zone_finding(R, MXP_STATE_WARNING,
                     "MTA-STS policy of %s changed since %s but its id %s "
                     "did not: senders that cached it do not fetch the new "
                     "one until it expires (RFC 8461 3.1), %s at the latest",
                     d->name, fetched, txt->id, until);
    }
    if (!keep && R->set != NULL && R->set->sts_cache[0] != '\0' &&
        sts_cache_write(R->set->sts_cache, d->name, txt->id, now, f->body,
                        f->body_len, why, sizeof why) != 0)
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "MTA-STS policy of %s not cached: %s", d->name, why);
    judge_policy(R, d, &f->pol, "MTA-STS policy");
}

static void policy_check(struct zone_run *R, const struct zone_domain *d,
                         const struct mta_sts_txt *txt)
{
    struct sts_fetch f;
    struct sts_cached c;
    long long now = (long long)time(NULL);
    char why[1024];
    int have_c;

    memset(&f, 0, sizeof f);
    memset(&c, 0, sizeof c);
    have_c = cache_get(R, d, now, &c);
    fetch_policy(R, d, &f);
    if (f.ok) {
        policy_fetched(R, d, txt, &f, &c, have_c, now);
    } else if (f.unknown[0] != '\0') {
        zone_finding(R, MXP_STATE_UNKNOWN,
                     "MTA-STS policy of %s not fetched from %s: %s%s", d->name,
                     f.url, f.reason, f.unknown);
    } else {
        snprintf(why, sizeof why,
                 "MTA-STS policy of %s cannot be fetched from %s: %s", d->name,
                 f.url, f.reason);
        if (!have_c || !cached_enforce(R, d, &c, now, MXP_STATE_CRITICAL, why))
            zone_finding(R, MXP_STATE_WARNING,
                         "%s; senders without a cached policy deliver as if "
                         "%s had no MTA-STS",
                         why, d->name);
    }
    mta_sts_policy_free(&f.pol);
    sts_cached_free(&c);
}

/* No usable _mta-sts record (missing, several, invalid: said already):
 * nothing to fetch, but a cached enforce policy still binds senders. */
static void txt_unusable(struct zone_run *R, const struct zone_domain *d,
                         const char *what)
{
    struct sts_cached c;
    long long now = (long long)time(NULL);
    char why[ZONE_TEXT_LEN];

    memset(&c, 0, sizeof c);
    if (!cache_get(R, d, now, &c))
        return;
    /* a warning: RFC 8461 8.3 asks for a policy in mode none before the
     * record goes, so that the senders' caches let go */
    snprintf(why, sizeof why, "%s for %s", what, d->name);
    (void)cached_enforce(R, d, &c, now, MXP_STATE_WARNING, why);
    sts_cached_free(&c);
}

/* The _mta-sts answer: 1 and *txt when one valid record is there. */
static int sts_record(struct zone_run *R, const struct zone_domain *d,
                      const struct mxp_dns_query *q, struct mta_sts_txt *txt)
{
    const char *texts[STS_MAX_TXT];
    size_t lens[STS_MAX_TXT], n, which = 0;
    char err[256], text[ZONE_TEXT_LEN / 2];
    enum mta_sts_rc rc;

    if (!zone_dns_definite(q->result)) {
        zone_finding(R, MXP_STATE_UNKNOWN, "MTA-STS lookup of %s failed: %s",
                     d->name, R->svc->dns_result_name(q->result));
        return 0;
    }
    n = txt_texts(q, texts, lens);
    rc = mta_sts_txt_select(texts, lens, n, &which, txt, err, sizeof err);
    switch (rc) {
    case MTA_STS_OK:
        return 1;
    case MTA_STS_NONE:
        R->svc->add_detail(R->ctx, MXP_STATE_OK, "no MTA-STS record for %s",
                           d->name);
        txt_unusable(R, d, "no MTA-STS record");
        return 0;
    case MTA_STS_SEVERAL:
        zone_finding(R, MXP_STATE_WARNING,
                     "_mta-sts.%s has several MTA-STS records: %s, so they "
                     "assume no policy",
                     d->name, err);
        for (size_t i = 0; i < n; i++)
            if (mta_sts_txt_is_record(texts[i], lens[i])) {
                zone_printable(texts[i], lens[i], text, sizeof text);
                R->svc->add_detail(R->ctx, MXP_STATE_OK,
                                   "MTA-STS record of %s: %s", d->name, text);
            }
        txt_unusable(R, d, "several MTA-STS records");
        return 0;
    default:
        zone_printable(texts[which], lens[which], text, sizeof text);
        zone_finding(R, MXP_STATE_WARNING,
                     "MTA-STS record of %s is invalid: %s (RFC 8461 3.1: "
                     "senders then assume no policy): %s",
                     d->name, err, text);
        txt_unusable(R, d, "an invalid MTA-STS record");
        return 0;
    }
}

/* ---- TLS-RPT ---------------------------------------------------------- */

static void tlsrpt_check(struct zone_run *R, const struct zone_domain *d,
                         const struct mxp_dns_query *q, int sts)
{
    const char *texts[STS_MAX_TXT];
    size_t lens[STS_MAX_TXT], n, which = 0, off = 0;
    char err[256], text[ZONE_TEXT_LEN];
    struct tlsrpt_record *r;
    enum mta_sts_rc rc;

    if (!zone_dns_definite(q->result)) {
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "TLS-RPT lookup of %s failed: %s", d->name,
                           R->svc->dns_result_name(q->result));
        return;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        zone_finding(R, MXP_STATE_UNKNOWN, "TLS-RPT check of %s: out of memory",
                     d->name);
        return;
    }
    n = txt_texts(q, texts, lens);
    rc = tlsrpt_select(texts, lens, n, &which, r, err, sizeof err);
    if (rc == MTA_STS_NONE) {
        /* RFC 8460 exists for MTA-STS and DANE senders: suggested
         * with MTA-STS (DANE is the tls check's) */
        R->svc->add_detail(
            R->ctx, MXP_STATE_OK, "no TLS-RPT record for %s%s", d->name,
            sts ? ": senders cannot report the MTA-STS failures they meet "
                  "(publish one at _smtp._tls, RFC 8460)"
                : " (with MTA-STS or DANE, one lets senders report TLS "
                  "failures, RFC 8460)");
    } else if (rc == MTA_STS_SEVERAL) {
        zone_finding(R, MXP_STATE_WARNING,
                     "_smtp._tls.%s has several TLS-RPT records: %s", d->name,
                     err);
    } else if (rc != MTA_STS_OK) {
        zone_printable(texts[which], lens[which], text, sizeof text / 2);
        zone_finding(R, MXP_STATE_WARNING,
                     "TLS-RPT record of %s is invalid: %s: %s", d->name, err,
                     text);
    } else {
        text[0] = '\0';
        for (size_t i = 0; i < r->n_rua; i++) {
            int w = snprintf(text + off, sizeof text - off, "%s%s",
                             i ? ", " : "", r->rua[i]);

            if (w < 0 || (size_t)w >= sizeof text - off)
                break;
            off += (size_t)w;
        }
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "TLS-RPT of %s: reports go to %s%s", d->name, text,
                           r->n_rua_more > 0 ? " and more" : "");
    }
    free(r);
}

void zone_sts_check(struct zone_run *R, struct zone_domain *d,
                    const struct mxp_dns_query *sts,
                    const struct mxp_dns_query *rpt)
{
    struct mta_sts_txt txt;
    int have = sts_record(R, d, sts, &txt);

    if (have) {
        R->svc->add_detail(R->ctx, MXP_STATE_OK,
                           "MTA-STS record of %s: id %s (_mta-sts.%s)", d->name,
                           txt.id, d->name);
        if (txt.dup_id)
            R->svc->add_detail(R->ctx, MXP_STATE_OK,
                               "MTA-STS record of %s has a second id field: "
                               "senders go by the first (RFC 8461 3.2), some "
                               "by the last; keep one",
                               d->name);
        policy_check(R, d, &txt);
    }
    tlsrpt_check(R, d, rpt, have);
}
