/*
 * submit_icinga2.c - passive results to the Icinga 2 REST API
 * (--submit icinga2:https://host:5665).
 *
 * One POST /v1/actions/process-check-result per result, through http.c:
 *   {"type":"Service",
 *    "filter":"host.name==mxp_host && service.name==mxp_service",
 *    "filter_vars":{"mxp_host":"...","mxp_service":"..."},
 *    "exit_status":N,"plugin_output":"status\nlong output",
 *    "performance_data":["item",...],"check_source":"<this host>"}
 * The names go in as filter variables, never pasted into the filter
 * expression, so no name can change what the filter means.  Success is
 * HTTP 2xx with results[0].code 200; anything else (no connection, TLS,
 * HTTP >= 300, another API code) is tried once more and then reported
 * with the API's own status text.  The password is read once from
 * submit.icinga2.password_file, which must not be readable by everyone.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "report.h"
#include "submit_dest.h"

#define PASSWORD_MAX 1024

struct mxp_icinga2 {
    char *endpoint; /* https://host:port/v1/actions/process-check-result */
    char *user, *password, *ca_file;
    char source[256]; /* check_source: this machine's name */
    double connect_timeout, request_timeout;
};

/* ---- JSON ------------------------------------------------------------- */

/* The characters of a JSON string, escaped; invalid UTF-8 becomes
 * U+FFFD (Icinga's parser refuses it, and a mail server's banner may
 * hold anything).  At most 6 bytes out per byte in. */
static void json_chars(struct mxp_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    while (n > 0) {
        uint32_t cp;
        size_t k = mxp_utf8_next(s, n, &cp);

        if (cp == MXP_UTF8_INVALID) {
            mxp_buf_puts(b, "\\ufffd");
        } else if (cp == '"' || cp == '\\') {
            char e[2] = {'\\', (char)cp};
            mxp_buf_append(b, e, 2);
        } else if (cp == '\n') {
            mxp_buf_puts(b, "\\n");
        } else if (cp < 0x20 || cp == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 0xf]};
            mxp_buf_append(b, e, 6);
        } else {
            mxp_buf_append(b, s, k);
        }
        s += k;
        n -= k;
    }
}

static void json_string(struct mxp_buf *b, const char *s, size_t n)
{
    mxp_buf_append(b, "\"", 1);
    json_chars(b, s, n);
    mxp_buf_append(b, "\"", 1);
}

char *mxp_icinga2_body(const struct mxp_icinga2 *c,
                       const struct mxp_submit_result *r)
{
    struct mxp_plugin_text t;
    struct mxp_buf b;
    size_t need;
    int code = r->code >= 0 && r->code <= 3 ? r->code : 3;

    if (mxp_plugin_text_split(r->output, &t) != 0)
        return NULL;
    /* Room for the worst case first, so that no append below can fail
     * and leave a body cut short: 6 bytes per escaped byte, 3 per
     * perfdata item, 512 for the rest. */
    need = 6 * (strlen(r->host) + strlen(r->service) + strlen(r->output) +
                strlen(c->source)) +
           3 * t.n_perf + 512;
    mxp_buf_init(&b);
    if (mxp_buf_reserve(&b, need) != MXP_OK) {
        mxp_plugin_text_free(&t);
        return NULL;
    }
    mxp_buf_puts(&b, "{\"type\":\"Service\",\"filter\":\"host.name==mxp_host "
                     "&& service.name==mxp_service\",\"filter_vars\":"
                     "{\"mxp_host\":");
    json_string(&b, r->host, strlen(r->host));
    mxp_buf_puts(&b, ",\"mxp_service\":");
    json_string(&b, r->service, strlen(r->service));
    mxp_buf_printf(&b, "},\"exit_status\":%d,\"plugin_output\":\"", code);
    /* The status line and the long output, as one text with newlines:
     * Icinga keeps them together and shows the first line as status. */
    json_chars(&b, t.status.p, t.status.n);
    if (t.long_text.n > 0) {
        mxp_buf_puts(&b, "\\n");
        json_chars(&b, t.long_text.p, t.long_text.n);
    }
    mxp_buf_puts(&b, "\",\"performance_data\":[");
    for (size_t i = 0; i < t.n_perf; i++) {
        if (i > 0)
            mxp_buf_append(&b, ",", 1);
        json_string(&b, t.perf[i].p, t.perf[i].n);
    }
    mxp_buf_puts(&b, "],\"check_source\":");
    json_string(&b, c->source, strlen(c->source));
    mxp_buf_puts(&b, "}");
    mxp_plugin_text_free(&t);
    return b.data;
}

/* What the API said, from a hostile-tolerant scan of its JSON: the first
 * "code" (results[].code) or "error" number and the first "status"
 * string, printable ASCII only.  Not a JSON parser: enough to report. */
struct api_answer {
    double code;  /* -1: none */
    double error; /* -1: none */
    char status[160];
};

static const char *skip_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;

    for (p++; *p && *p != '"'; p++) {
        char ch = *p;

        if (ch == '\\') {
            p++;
            if (*p == '\0')
                break;
            if (*p == 'u') {
                ch = '?'; /* not decoded: the report is ASCII */
                for (int i = 0; i < 4 && isxdigit((unsigned char)p[1]); i++)
                    p++;
            } else {
                ch = *p == 'n' || *p == 't' || *p == 'r' ? ' ' : *p;
            }
        }
        if (out != NULL && n + 1 < cap)
            out[n++] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    }
    if (out != NULL)
        out[n] = '\0';
    return *p == '"' ? p + 1 : p;
}

static void scan_answer(const char *body, struct api_answer *a)
{
    const char *p = body;
    char key[16];
    int have_status = 0;

    a->code = a->error = -1;
    a->status[0] = '\0';
    while (p != NULL && *p) {
        if (*p != '"') {
            p++;
            continue;
        }
        p = skip_string(p, key, sizeof(key));
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != ':')
            continue;
        p++;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if ((strcmp(key, "code") == 0 || strcmp(key, "error") == 0) &&
            (*p == '-' || (*p >= '0' && *p <= '9'))) {
            char *end;
            double v = strtod(p, &end);
            double *slot = key[0] == 'c' ? &a->code : &a->error;

            if (*slot < 0)
                *slot = v;
            p = end;
        } else if (strcmp(key, "status") == 0 && *p == '"' && !have_status) {
            p = skip_string(p, a->status, sizeof(a->status));
            have_status = 1;
        }
    }
}

/* ---- set-up ----------------------------------------------------------- */

static int url_ok(const char *url)
{
    const char *hp = url + 8;
    size_t n;

    if (strncmp(url, "https://", 8) != 0)
        return 0;
    n = strlen(hp);
    if (n > 0 && hp[n - 1] == '/')
        n--;
    if (n == 0 || n > 300)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)hp[i];

        if (ch <= 0x20 || ch >= 0x7f || strchr("/?#@\\\"", ch) != NULL)
            return 0;
    }
    return 1;
}

static int read_password(const char *path, char **out, char *err, size_t errlen)
{
    char buf[PASSWORD_MAX + 2];
    struct stat st;
    ssize_t n;
    size_t len;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "submit.icinga2.password_file %s: %s", path,
                 strerror(errno));
        return MXP_ERR_CONFIG;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen,
                 "submit.icinga2.password_file %s: not a regular file", path);
        return MXP_ERR_CONFIG;
    }
    /* A password everyone on the machine may read is no secret: refuse
     * it, as ssh does a private key (chmod 600 or 640 with a group). */
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        close(fd);
        snprintf(err, errlen,
                 "submit.icinga2.password_file %s: readable or writable by "
                 "everyone (chmod o-rw)",
                 path);
        return MXP_ERR_CONFIG;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "submit.icinga2.password_file %s: %s", path,
                 strerror(errno));
        return MXP_ERR_CONFIG;
    }
    buf[n] = '\0';
    len = strcspn(buf, "\r\n");
    if (len > PASSWORD_MAX) {
        snprintf(err, errlen,
                 "submit.icinga2.password_file %s: longer than %d bytes", path,
                 PASSWORD_MAX);
        return MXP_ERR_CONFIG;
    }
    buf[len] = '\0';
    if (len == 0) {
        snprintf(err, errlen,
                 "submit.icinga2.password_file %s: empty (the password is its "
                 "first line)",
                 path);
        return MXP_ERR_CONFIG;
    }
    *out = strdup(buf);
    explicit_bzero(buf, sizeof(buf));
    return *out != NULL ? MXP_OK : MXP_ERR_NOMEM;
}

int mxp_icinga2_new(const char *url, const struct mxp_submit_config *cfg,
                    struct mxp_icinga2 **out, char *err, size_t errlen)
{
    struct mxp_icinga2 *c;
    size_t n;
    int rc;

    *out = NULL;
    if (!url_ok(url)) {
        snprintf(err, errlen,
                 "--submit icinga2: expected https://HOST[:PORT] (the API's "
                 "address), got '%.100s'",
                 url);
        return MXP_ERR_INVALID;
    }
    if (cfg->icinga2_user == NULL || cfg->icinga2_user[0] == '\0') {
        snprintf(err, errlen,
                 "--submit icinga2: submit.icinga2.user is not "
                 "set in the config");
        return MXP_ERR_CONFIG;
    }
    if (strchr(cfg->icinga2_user, ':') != NULL) {
        snprintf(err, errlen,
                 "submit.icinga2.user: a ':' cannot be sent in "
                 "HTTP basic authentication");
        return MXP_ERR_CONFIG;
    }
    if (cfg->icinga2_password_file == NULL ||
        cfg->icinga2_password_file[0] == '\0') {
        snprintf(err, errlen,
                 "--submit icinga2: submit.icinga2.password_file "
                 "is not set in the config");
        return MXP_ERR_CONFIG;
    }
    if (cfg->icinga2_ca_file != NULL && cfg->icinga2_ca_file[0] != '\0' &&
        access(cfg->icinga2_ca_file, R_OK) != 0) {
        snprintf(err, errlen, "submit.icinga2.ca_file %s: %s",
                 cfg->icinga2_ca_file, strerror(errno));
        return MXP_ERR_CONFIG;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MXP_ERR_NOMEM;
    c->connect_timeout = 5;
    c->request_timeout = 10;
    rc = read_password(cfg->icinga2_password_file, &c->password, err, errlen);
    if (rc != MXP_OK)
        goto fail;
    n = strlen(url);
    if (url[n - 1] == '/')
        n--;
    c->endpoint =
        mxp_strdup_printf("%.*s/v1/actions/process-check-result", (int)n, url);
    c->user = strdup(cfg->icinga2_user);
    c->ca_file = strdup(cfg->icinga2_ca_file ? cfg->icinga2_ca_file : "");
    if (c->endpoint == NULL || c->user == NULL || c->ca_file == NULL) {
        rc = MXP_ERR_NOMEM;
        goto fail;
    }
    if (gethostname(c->source, sizeof(c->source) - 1) != 0)
        c->source[0] = '\0';
    c->source[sizeof(c->source) - 1] = '\0';
    if (c->source[0] == '\0')
        snprintf(c->source, sizeof(c->source), "mxprobe");
    *out = c;
    return MXP_OK;
fail:
    if (rc == MXP_ERR_NOMEM)
        snprintf(err, errlen, "--submit icinga2: out of memory");
    mxp_icinga2_free(c);
    return rc;
}

void mxp_icinga2_set_timeouts(struct mxp_icinga2 *c, double connect_s,
                              double request_s)
{
    c->connect_timeout = connect_s;
    c->request_timeout = request_s;
}

void mxp_icinga2_free(struct mxp_icinga2 *c)
{
    if (c == NULL)
        return;
    if (c->password != NULL)
        explicit_bzero(c->password, strlen(c->password));
    free(c->password);
    free(c->endpoint);
    free(c->user);
    free(c->ca_file);
    free(c);
}

/* ---- one result ------------------------------------------------------- */

static int try_once(struct mxp_icinga2 *c, const char *body, char *why,
                    size_t whylen)
{
    struct mxp_http_request rq = {
        .method = "POST",
        .url = c->endpoint,
        .body = body,
        .body_len = strlen(body),
        .content_type = "application/json",
        .accept = "application/json",
        .ca_file = c->ca_file,
        .user = c->user,
        .password = c->password,
        .connect_timeout = c->connect_timeout,
        .timeout = c->request_timeout,
        .max_response = 64 * 1024,
    };
    struct mxp_http_response rs;
    struct api_answer a;
    int rc;

    rc = mxp_http_request(&rq, &rs);
    if (rc != MXP_OK) {
        snprintf(why, whylen, "%s", rs.error);
        return rc;
    }
    scan_answer(rs.body ? rs.body : "", &a);
    mxp_http_response_free(&rs);
    if (rs.status < 200 || rs.status >= 300) {
        snprintf(why, whylen, "HTTP %ld: %s", rs.status,
                 a.status[0] ? a.status : "(no status text)");
        return MXP_ERR_PROTOCOL;
    }
    if (a.code != 200) {
        if (a.code < 0)
            snprintf(why, whylen, "HTTP %ld without a result code: %s",
                     rs.status, a.status[0] ? a.status : "(no status text)");
        else
            snprintf(why, whylen, "API code %.0f: %s", a.code,
                     a.status[0] ? a.status : "(no status text)");
        return MXP_ERR_PROTOCOL;
    }
    return MXP_OK;
}

int mxp_icinga2_send(struct mxp_icinga2 *c, const struct mxp_submit_result *r,
                     char *why, size_t whylen)
{
    char *body;
    int rc;

    if (!mxp_submit_name_ok(r->host) || !mxp_submit_name_ok(r->service)) {
        snprintf(why, whylen,
                 "refused: host or service name unusable (empty, "
                 "longer than 255 bytes, ';' or a control "
                 "character)");
        return MXP_ERR_INVALID;
    }
    body = mxp_icinga2_body(c, r);
    if (body == NULL) {
        snprintf(why, whylen, "out of memory");
        return MXP_ERR_NOMEM;
    }
    /* One more try for a passing failure (a restart of Icinga, a lost
     * connection); a second failure is the answer. */
    rc = try_once(c, body, why, whylen);
    if (rc != MXP_OK)
        rc = try_once(c, body, why, whylen);
    free(body);
    return rc;
}
