/*
 * https.c - svc->https_get (https.h): strict URL, the job's DNS, then
 * one request through http.c with the addresses pinned.
 *
 * Why the URL is rebuilt: libcurl must connect to the very host we
 * resolved.  A URL it reads differently from us (user info, odd bytes,
 * percent-encoded host) would make it resolve a name on its own, through
 * the system's resolver.  Only LDH names and numeric addresses pass.
 */
#include "https.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "http.h"
#include "net.h"
#include "status.h"

static int bad(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return MXP_ERR_INVALID;
}

/* A DNS name of letters, digits, hyphens and dots, labels 1..63 bytes. */
static int ldh_name(const char *s, size_t n)
{
    size_t label = 0, i;

    if (n == 0 || n > 253)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* Port digits s[0..n): 1..65535. */
static int parse_port(const char *s, size_t n, unsigned *port)
{
    unsigned long v = 0;
    size_t i;

    if (n == 0 || n > 5)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

int mxp_https_url_parse(const char *url, struct mxp_https_url *u, char *err,
                        size_t errlen)
{
    const char *auth, *end, *hp, *he, *path, *p;
    unsigned char bytes[16];
    int family = 0, v6, n;
    size_t hl, i;

    memset(u, 0, sizeof(*u));
    u->port = 443;
    if (url == NULL || strncmp(url, "https://", 8) != 0)
        return bad(err, errlen, "not an https:// URL");
    auth = url + 8;
    end = auth + strcspn(auth, "/?#");
    for (p = url; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return bad(err, errlen, "space, control or non-ASCII byte in URL");
    if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
        return bad(err, errlen, "user information in URL");
    if (strchr(auth, '#') != NULL)
        return bad(err, errlen, "fragment in URL");
    hp = auth;
    if (*hp == '[') {
        he = memchr(hp, ']', (size_t)(end - hp));
        if (he == NULL)
            return bad(err, errlen, "unclosed [ in URL host");
        hp++;
        p = he + 1;
    } else {
        he = memchr(hp, ':', (size_t)(end - hp));
        if (he == NULL)
            he = end;
        p = he;
    }
    if (p < end) {
        if (*p != ':' || parse_port(p + 1, (size_t)(end - p - 1), &u->port))
            return bad(err, errlen, "bad port in URL");
    }
    hl = (size_t)(he - hp);
    if (hl > 0 && hp[hl - 1] == '.' && auth[0] != '[')
        hl--; /* "mta-sts.example.org.": the same name */
    if (hl == 0 || hl >= sizeof(u->host))
        return bad(err, errlen, "no host in URL");
    for (i = 0; i < hl; i++) {
        char c = hp[i];

        u->host[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    u->host[hl] = '\0';
    if (mxp_parse_addr(u->host, &family, bytes) == 0) {
        u->literal = 1;
        if ((family == AF_INET6) != (auth[0] == '['))
            return bad(err, errlen, "bad address in URL host");
    } else if (auth[0] == '[' || !ldh_name(u->host, hl)) {
        return bad(err, errlen, "URL host is not a DNS name");
    }
    path = *end == '\0' ? "/" : end;
    v6 = u->literal && family == AF_INET6;
    n = snprintf(u->url, sizeof(u->url), "https://%s%s%s:%u%s%s", v6 ? "[" : "",
                 u->host, v6 ? "]" : "", u->port, *path == '?' ? "/" : "",
                 path);
    if (n < 0 || (size_t)n >= sizeof(u->url))
        return bad(err, errlen, "URL too long");
    return MXP_OK;
}

size_t mxp_https_body_cap(size_t max_body)
{
    if (max_body == 0)
        return MXP_HTTPS_DEFAULT_BODY;
    return max_body > MXP_HTTPS_MAX_BODY ? MXP_HTTPS_MAX_BODY : max_body;
}

size_t mxp_https_resolve_entry(const char *host, unsigned port,
                               const char *const *addrs, size_t n, char *out,
                               size_t outlen)
{
    size_t len, i;
    int w = snprintf(out, outlen, "%s:%u:", host, port);

    if (w < 0 || (size_t)w >= outlen || n == 0)
        return 0;
    len = (size_t)w;
    for (i = 0; i < n; i++) {
        int v6 = strchr(addrs[i], ':') != NULL;

        w = snprintf(out + len, outlen - len, "%s%s%s%s", i ? "," : "",
                     v6 ? "[" : "", addrs[i], v6 ? "]" : "");
        if (w < 0 || (size_t)w >= outlen - len)
            return 0;
        len += (size_t)w;
    }
    return len;
}

/* A and AAAA of u->host through the job's resolver into addrs (arena
 * strings): the count, or 0 with g->words and *rc set. */
static size_t resolve(const struct mxp_https_env *env,
                      const struct mxp_https_url *u, struct mxp_https_get *g,
                      const char **addrs, int *rc)
{
    struct mxp_dns_query q[2] = {{.name = u->host, .type = MXP_DNS_A},
                                 {.name = u->host, .type = MXP_DNS_AAAA}};
    size_t nq = env->family == AF_INET ? 1 : 2, n = 0, i, j;

    *rc = mxp_dns_batch(env->resolver, env->arena, q, nq, env->dns_deadline);
    if (*rc != MXP_OK) {
        snprintf(g->words, sizeof(g->words), "%.200s: DNS failed: %s", u->host,
                 mxp_strerror(*rc));
        *rc = MXP_ERR_DNS;
        return 0;
    }
    for (i = 0; i < nq; i++)
        for (j = 0; j < q[i].n_rr && n < MXP_HTTPS_MAX_ADDRS; j++)
            if (q[i].rr[j].type == q[i].type && q[i].rr[j].text != NULL)
                addrs[n++] = q[i].rr[j].text;
    if (n > 0)
        return n;
    *rc = MXP_ERR_DNS;
    if (q[0].result == MXP_DNS_NXDOMAIN)
        snprintf(g->words, sizeof(g->words), "%.200s: NXDOMAIN", u->host);
    else if (q[0].result != MXP_DNS_NODATA && q[0].result != MXP_DNS_ANSWER)
        snprintf(g->words, sizeof(g->words), "%.200s: A lookup: %s", u->host,
                 mxp_dns_result_name(q[0].result));
    else if (nq == 2 && q[1].result != MXP_DNS_NODATA &&
             q[1].result != MXP_DNS_ANSWER && q[1].result != MXP_DNS_NXDOMAIN)
        snprintf(g->words, sizeof(g->words), "%.200s: AAAA lookup: %s", u->host,
                 mxp_dns_result_name(q[1].result));
    else
        snprintf(g->words, sizeof(g->words), "%.200s has no address", u->host);
    return 0;
}

static void note(const struct mxp_https_env *env, const char *url,
                 const struct mxp_https_get *g, int rc)
{
    char line[800];

    if (env->transcript == NULL)
        return;
    if (rc == MXP_OK)
        snprintf(line, sizeof(line),
                 "HTTPS GET %.300s %ld, %zu bytes, %.0f ms%s%s", url, g->status,
                 g->body_len, g->elapsed * 1000, g->addr[0] ? " from " : "",
                 g->addr);
    else
        snprintf(line, sizeof(line), "HTTPS GET %.300s failed: %s (%.0f ms)",
                 url, g->words, g->elapsed * 1000);
    env->transcript(env->transcript_user, rc == MXP_OK ? 'H' : '!', line);
}

/* The request's time: g->timeout or the command timeout, never past the
 * deadline; 0 when nothing is left. */
static double request_time(const struct mxp_https_env *env,
                           const struct mxp_https_get *g)
{
    double t = g->timeout > 0 ? g->timeout : env->command_timeout;
    double left = env->deadline - mxp_now();

    if (t > left)
        t = left;
    return t >= 0.001 ? t : 0;
}

static int fetch(const struct mxp_https_env *env, const struct mxp_https_url *u,
                 const char *entry, struct mxp_https_get *g)
{
    struct mxp_http_request rq = {
        .method = "GET",
        .url = u->url,
        .ca_file = g->ca_file,
        .max_response = mxp_https_body_cap(g->max_body),
        .resolve = entry,
    };
    struct mxp_http_response rs;
    char *body;
    int rc;

    rq.timeout = request_time(env, g);
    if (rq.timeout <= 0) {
        snprintf(g->words, sizeof(g->words),
                 "no time left before the deadline");
        return MXP_ERR_TIMEOUT;
    }
    rq.connect_timeout =
        env->connect_timeout > 0 && env->connect_timeout < rq.timeout
            ? env->connect_timeout
            : rq.timeout;
    if (mxp_http_init() != MXP_OK) {
        snprintf(g->words, sizeof(g->words), "libcurl did not start");
        return MXP_ERR_NOMEM;
    }
    rc = mxp_http_request(&rq, &rs);
    snprintf(g->content_type, sizeof(g->content_type), "%s", rs.content_type);
    snprintf(g->location, sizeof(g->location), "%s", rs.location);
    snprintf(g->addr, sizeof(g->addr), "%s", rs.primary_ip);
    if (rc != MXP_OK) {
        snprintf(g->words, sizeof(g->words), "%s", rs.error);
        return rc;
    }
    g->status = rs.status;
    body = mxp_arena_alloc(env->arena, rs.body_len + 1);
    if (body == NULL) {
        mxp_http_response_free(&rs);
        snprintf(g->words, sizeof(g->words), "out of memory");
        return MXP_ERR_NOMEM;
    }
    if (rs.body_len > 0)
        memcpy(body, rs.body, rs.body_len);
    body[rs.body_len] = '\0';
    g->body = body;
    g->body_len = rs.body_len;
    mxp_http_response_free(&rs);
    return MXP_OK;
}

int mxp_https_get(const struct mxp_https_env *env, struct mxp_https_get *g)
{
    const char *addrs[MXP_HTTPS_MAX_ADDRS];
    char entry[600];
    struct mxp_https_url u;
    double t0 = mxp_now();
    size_t n;
    int rc;

    g->status = 0;
    g->body = NULL;
    g->body_len = 0;
    g->content_type[0] = g->location[0] = g->addr[0] = g->words[0] = '\0';
    g->elapsed = 0;
    rc = mxp_https_url_parse(g->url, &u, g->words, sizeof(g->words));
    if (rc != MXP_OK) {
        note(env, g->url ? g->url : "(no URL)", g, rc);
        return rc;
    }
    if (u.literal) {
        addrs[0] = u.host;
        n = 1;
    } else {
        n = resolve(env, &u, g, addrs, &rc);
    }
    if (n > 0) {
        if (mxp_https_resolve_entry(u.host, u.port, addrs, n, entry,
                                    sizeof(entry)) == 0)
            rc = bad(g->words, sizeof(g->words), "URL host too long");
        else
            rc = fetch(env, &u, u.literal ? NULL : entry, g);
    }
    g->elapsed = mxp_now() - t0;
    note(env, u.url, g, rc);
    return rc;
}
