/*
 * http.h - the core's small HTTPS client (libcurl): the Icinga 2 API
 * now, MTA-STS policies later.
 *
 * One request per call, HTTPS only, no redirect followed, no proxy from
 * the environment unless asked, the peer verified against ca_file or the
 * system's CAs, both a connect and a whole-request timeout, and a cap on
 * the response body (a larger one is an error, not a truncation).
 * mxp_http_init may run any number of times (once per process is
 * enough): a forked job calls it whether or not its parent did.
 * Returns MXP_OK when an HTTP response came, whatever its status; else a
 * status and one sentence in rs->error.
 */
#ifndef MXP_HTTP_H
#define MXP_HTTP_H

#include <stddef.h>

struct mxp_http_request {
    const char *method; /* "GET" or "POST" */
    const char *url;    /* https://... */
    const char *body;   /* POST: sent as is, body_len bytes */
    size_t body_len;
    const char *content_type; /* of the body, e.g. "application/json" */
    const char *accept;       /* NULL: no Accept header */
    const char *ca_file;      /* NULL or "": the system's CAs */
    const char *user;         /* NULL: no authentication; else Basic */
    const char *password;
    double connect_timeout; /* seconds, > 0 */
    double timeout;         /* seconds for the whole request, > 0 */
    size_t max_response;    /* body bytes; 0: 64 KiB */
    int use_env_proxy;      /* 1: honour https_proxy and the like */
    /* CURLOPT_RESOLVE entry "host:port:addr[,addr...]": libcurl connects
     * to these addresses and never resolves the host itself; NULL: it
     * resolves as it would (the Icinga API endpoint). */
    const char *resolve;
};

struct mxp_http_response {
    long status; /* HTTP status, 0 when no response */
    char *body;  /* malloc()ed, NUL-terminated, may be NULL */
    size_t body_len;
    char error[256]; /* the failure, when not MXP_OK */
    /* Filled whenever a response (or part of one) came: */
    char content_type[128]; /* Content-Type as sent, or "" */
    char location[256];     /* a redirect's target (never followed), or "" */
    char primary_ip[48];    /* the address connected to, or "" */
    double elapsed;         /* seconds of the whole request */
};

/* Once per process before the first request (curl_global_init). */
int mxp_http_init(void);

int mxp_http_request(const struct mxp_http_request *rq,
                     struct mxp_http_response *rs);
void mxp_http_response_free(struct mxp_http_response *rs);

/* The mxp_status of a libcurl failure (a CURLcode) and its words:
 * TLS and certificate failures are MXP_ERR_PROTOCOL ("certificate verify
 * failed: ..." for a peer that does not verify), a bad local CA file
 * MXP_ERR_CONFIG.  curl_words is curl's error buffer, may be "" or NULL.
 * Public for tests. */
int mxp_http_failure(int curl_code, const char *curl_words, char *out,
                     size_t outlen);

#endif
