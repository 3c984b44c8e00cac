/*
 * http.c - one HTTPS request with libcurl (http.h).
 *
 * Everything that could make a request go elsewhere or take longer than
 * its caller allows is switched off or bounded here, once for every
 * user of the core: only https, no redirects, no environment proxy by
 * default, no signals (CURLOPT_NOSIGNAL: the core's poll loops own the
 * time), TLS verification on, connect and total timeouts, and a cap on
 * what the server may send back.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mxprobe/plugin.h"

#define DEFAULT_MAX_RESPONSE (64 * 1024)

struct sink {
    char *p;
    size_t len, cap, max;
    int too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t n = size * nmemb;

    if (n > s->max - s->len) {
        s->too_big = 1;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        char *p;

        while (cap < s->len + n + 1)
            cap *= 2;
        p = realloc(s->p, cap);
        if (p == NULL)
            return 0;
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    s->p[s->len] = '\0';
    return n;
}

/* curl_slist_append returns NULL on failure and keeps the list: keep it
 * too (to be freed) and remember the failure. */
static void add_header(struct curl_slist **l, const char *h, CURLcode *c)
{
    struct curl_slist *n = curl_slist_append(*l, h);

    if (n == NULL)
        *c = CURLE_OUT_OF_MEMORY;
    else
        *l = n;
}

int mxp_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? MXP_OK
                                                             : MXP_ERR_NOMEM;
}

/* Peer verification failures: the server's certificate or chain. */
static int is_verify_failure(int c)
{
    return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_ISSUER_ERROR ||
           c == CURLE_SSL_INVALIDCERTSTATUS ||
           c == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

int mxp_http_failure(int c, const char *curl_words, char *out, size_t outlen)
{
    const char *w = curl_words != NULL && curl_words[0] != '\0'
                        ? curl_words
                        : curl_easy_strerror((CURLcode)c);

    snprintf(out, outlen, "%s%s",
             is_verify_failure(c) ? "certificate verify failed: " : "", w);
    if (is_verify_failure(c))
        return MXP_ERR_PROTOCOL;
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return MXP_ERR_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return MXP_ERR_CONNECT;
    case CURLE_OUT_OF_MEMORY:
        return MXP_ERR_NOMEM;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return MXP_ERR_INVALID;
    /* Ours, not the peer's: the CA file could not be read. */
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return MXP_ERR_CONFIG;
    /* The peer spoke no TLS or HTTP that we understand. */
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_PARTIAL_FILE:
        return MXP_ERR_PROTOCOL;
    default:
        return MXP_ERR_IO;
    }
}

/* A string info of h into out, cut to fit; "" when curl has none. */
static void info_str(CURL *h, CURLINFO what, char *out, size_t outlen)
{
    char *v = NULL;

    out[0] = '\0';
    if (curl_easy_getinfo(h, what, &v) == CURLE_OK && v != NULL)
        snprintf(out, outlen, "%s", v);
}

int mxp_http_request(const struct mxp_http_request *rq,
                     struct mxp_http_response *rs)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    struct sink sink = {0};
    struct curl_slist *hdrs = NULL, *resolve = NULL;
    char hdr[160];
    CURL *h;
    CURLcode c = CURLE_OK;
    int rc = MXP_OK, is_post = strcmp(rq->method, "POST") == 0;

    memset(rs, 0, sizeof(*rs));
    if (!is_post && strcmp(rq->method, "GET") != 0) {
        snprintf(rs->error, sizeof(rs->error), "method %s not supported",
                 rq->method);
        return MXP_ERR_INVALID;
    }
    if (strncmp(rq->url, "https://", 8) != 0) {
        snprintf(rs->error, sizeof(rs->error), "not an https:// URL");
        return MXP_ERR_INVALID;
    }
    sink.max = rq->max_response ? rq->max_response : DEFAULT_MAX_RESPONSE;
    h = curl_easy_init();
    if (h == NULL) {
        snprintf(rs->error, sizeof(rs->error), "out of memory");
        return MXP_ERR_NOMEM;
    }
    /* Each setopt can only fail on a bad option or out of memory; the
     * first failure is kept and reported. */
#define SET(opt, val)                                                          \
    do {                                                                       \
        if (c == CURLE_OK)                                                     \
            c = curl_easy_setopt(h, opt, val);                                 \
    } while (0)
    SET(CURLOPT_URL, rq->url);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, curl_err);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (rq->ca_file != NULL && rq->ca_file[0] != '\0')
        SET(CURLOPT_CAINFO, rq->ca_file);
    if (!rq->use_env_proxy) {
        SET(CURLOPT_PROXY, "");
        SET(CURLOPT_NOPROXY, "*");
    }
    if (rq->resolve != NULL) {
        CURLcode rc2 = CURLE_OK;

        add_header(&resolve, rq->resolve, &rc2);
        if (c == CURLE_OK)
            c = rc2;
        SET(CURLOPT_RESOLVE, resolve);
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(rq->connect_timeout * 1000));
    SET(CURLOPT_TIMEOUT_MS, (long)(rq->timeout * 1000));
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, &sink);
    SET(CURLOPT_USERAGENT, "mxprobe/" MXP_VERSION);
    if (rq->user != NULL) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, rq->user);
        SET(CURLOPT_PASSWORD, rq->password ? rq->password : "");
    }
    if (rq->accept != NULL) {
        snprintf(hdr, sizeof(hdr), "Accept: %s", rq->accept);
        add_header(&hdrs, hdr, &c);
    }
    if (is_post) {
        snprintf(hdr, sizeof(hdr), "Content-Type: %s",
                 rq->content_type ? rq->content_type : "application/json");
        add_header(&hdrs, hdr, &c);
        /* No "Expect: 100-continue" round trip for a large body. */
        add_header(&hdrs, "Expect:", &c);
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE,
            (curl_off_t)(rq->body ? rq->body_len : 0));
    }
    SET(CURLOPT_HTTPHEADER, hdrs);
#undef SET
    if (c == CURLE_OK)
        c = curl_easy_perform(h);
    /* What came, even from a failed request (the address it reached). */
    {
        double t = 0;

        if (curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &t) == CURLE_OK)
            rs->elapsed = t;
    }
    info_str(h, CURLINFO_PRIMARY_IP, rs->primary_ip, sizeof(rs->primary_ip));
    info_str(h, CURLINFO_CONTENT_TYPE, rs->content_type,
             sizeof(rs->content_type));
    info_str(h, CURLINFO_REDIRECT_URL, rs->location, sizeof(rs->location));
    if (c == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
    } else if (sink.too_big) {
        snprintf(rs->error, sizeof(rs->error), "response larger than %zu bytes",
                 sink.max);
        rc = MXP_ERR_TOO_BIG;
    } else {
        long os_errno = 0;

        rc = mxp_http_failure(c, curl_err, rs->error, sizeof(rs->error));
        /* "Couldn't connect to server" says not why: the system's words
         * do ("Connection refused", "No route to host"). */
        if (c == CURLE_COULDNT_CONNECT &&
            curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
            os_errno > 0) {
            size_t l = strlen(rs->error);

            snprintf(rs->error + l, sizeof(rs->error) - l, " (%s)",
                     strerror((int)os_errno));
        }
    }
    if (rc == MXP_OK) {
        rs->body = sink.p;
        rs->body_len = sink.len;
        sink.p = NULL;
    }
    free(sink.p);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    curl_slist_free_all(resolve);
    return rc;
}

void mxp_http_response_free(struct mxp_http_response *rs)
{
    free(rs->body);
    rs->body = NULL;
    rs->body_len = 0;
}
