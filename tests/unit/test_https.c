/*
 * test_https.c - unit tests for https.c and http.c's failure words: the
 * URL table (what passes, how it is rebuilt, what is refused), the body
 * cap, the CURLOPT_RESOLVE entry, curl codes to statuses, and whole GETs
 * that end before any TLS: DNS from a scripted server on 127.0.0.1 (never
 * the system's), a refused port, a deadline already past.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "dns_script.h"
#include "http.h"
#include "https.h"

/* ---- URLs ------------------------------------------------------------ */

struct url_case {
    const char *in;
    int rc;
    const char *host, *url; /* when MXP_OK */
    unsigned port;
    int literal;
};

static const struct url_case url_cases[] = {
    {"https://mta-sts.example.org/.well-known/mta-sts.txt", MXP_OK,
     "mta-sts.example.org",
     "https://mta-sts.example.org:443/.well-known/mta-sts.txt", 443, 0},
    {"https://MTA-STS.Example.ORG./x", MXP_OK, "mta-sts.example.org",
     "https://mta-sts.example.org:443/x", 443, 0},
    {"https://h.test:8443/p?q=1", MXP_OK, "h.test", "https://h.test:8443/p?q=1",
     8443, 0},
    {"https://h.test", MXP_OK, "h.test", "https://h.test:443/", 443, 0},
    {"https://h.test?x", MXP_OK, "h.test", "https://h.test:443/?x", 443, 0},
    {"https://127.0.0.1:4443/", MXP_OK, "127.0.0.1", "https://127.0.0.1:4443/",
     4443, 1},
    {"https://[::1]/a", MXP_OK, "::1", "https://[::1]:443/a", 443, 1},
    {"http://h.test/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"HTTPS://h.test/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"ftp://h.test/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https:///path", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://:443/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://user@h.test/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://a@b@h.test/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test:0/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test:65536/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test:/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test:44a/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test:443:1/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h..test/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://.h.test/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h%2etest/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test /x", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test/x y", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test/\x01", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.t\xc3\xa9st/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h.test/#frag", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://[::1/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://[h.test]/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://::1/", MXP_ERR_INVALID, 0, 0, 0, 0},
    {"https://h\\x.test/", MXP_ERR_INVALID, 0, 0, 0, 0},
};

static void test_url_table(void **state)
{
    struct mxp_https_url u;
    char err[128];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
        const struct url_case *c = &url_cases[i];
        int rc = mxp_https_url_parse(c->in, &u, err, sizeof(err));

        if (rc != c->rc)
            fail_msg("%s: got %d (%s), want %d", c->in, rc, err, c->rc);
        if (rc != MXP_OK) {
            assert_true(err[0] != '\0');
            continue;
        }
        assert_string_equal(u.host, c->host);
        assert_string_equal(u.url, c->url);
        assert_int_equal(u.port, c->port);
        assert_int_equal(u.literal, c->literal);
    }
    assert_int_equal(mxp_https_url_parse(NULL, &u, err, sizeof(err)),
                     MXP_ERR_INVALID);
}

static void test_url_lengths(void **state)
{
    char url[4200], err[128];
    struct mxp_https_url u;
    size_t i;
    (void)state;

    /* A 64-byte label is no DNS label; 63 is. */
    snprintf(
        url, sizeof(url), "https://%.*s.test/", 64,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(mxp_https_url_parse(url, &u, err, sizeof(err)),
                     MXP_ERR_INVALID);
    snprintf(
        url, sizeof(url), "https://%.*s.test/", 63,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(mxp_https_url_parse(url, &u, err, sizeof(err)), MXP_OK);
    /* A path that does not fit the rebuilt URL is refused, not cut. */
    memcpy(url, "https://h.test/", 15);
    for (i = 15; i < 4100; i++)
        url[i] = 'p';
    url[i] = '\0';
    assert_int_equal(mxp_https_url_parse(url, &u, err, sizeof(err)),
                     MXP_ERR_INVALID);
    assert_non_null(strstr(err, "too long"));
}

/* ---- caps, resolve entry, curl codes -------------------------------- */

static void test_body_cap(void **state)
{
    (void)state;
    assert_int_equal(mxp_https_body_cap(0), 64 * 1024);
    assert_int_equal(mxp_https_body_cap(1), 1);
    assert_int_equal(mxp_https_body_cap(65536), 65536);
    assert_int_equal(mxp_https_body_cap(1024 * 1024), 1024 * 1024);
    assert_int_equal(mxp_https_body_cap(1024 * 1024 + 1), 1024 * 1024);
    assert_int_equal(mxp_https_body_cap((size_t)-1), 1024 * 1024);
}

static void test_resolve_entry(void **state)
{
    const char *a[] = {"192.0.2.1", "2001:db8::1", "192.0.2.2"};
    char out[128];
    (void)state;

    assert_int_equal(
        mxp_https_resolve_entry("h.test", 443, a, 1, out, sizeof(out)),
        strlen("h.test:443:192.0.2.1"));
    assert_string_equal(out, "h.test:443:192.0.2.1");
    assert_true(
        mxp_https_resolve_entry("h.test", 8443, a, 3, out, sizeof(out)) > 0);
    assert_string_equal(out, "h.test:8443:192.0.2.1,[2001:db8::1],192.0.2.2");
    /* Nothing to give, or no room: 0, never a cut entry. */
    assert_int_equal(
        mxp_https_resolve_entry("h.test", 443, a, 0, out, sizeof(out)), 0);
    assert_int_equal(mxp_https_resolve_entry("h.test", 443, a, 3, out, 30), 0);
    assert_int_equal(mxp_https_resolve_entry("h.test", 443, a, 1, out, 20), 0);
}

struct curl_case {
    int code;
    const char *words;
    int rc;
    const char *want; /* in the words */
};

static const struct curl_case curl_cases[] = {
    {CURLE_PEER_FAILED_VERIFICATION,
     "SSL certificate problem: unable to get local issuer certificate",
     MXP_ERR_PROTOCOL,
     "certificate verify failed: SSL certificate problem: unable to get"},
    {CURLE_PEER_FAILED_VERIFICATION, "", MXP_ERR_PROTOCOL,
     "certificate verify failed: "},
    {CURLE_SSL_CONNECT_ERROR, "wrong version number", MXP_ERR_PROTOCOL,
     "wrong version number"},
    {CURLE_GOT_NOTHING, NULL, MXP_ERR_PROTOCOL, ""},
    {CURLE_WEIRD_SERVER_REPLY, "bad", MXP_ERR_PROTOCOL, "bad"},
    {CURLE_OPERATION_TIMEDOUT, "Operation timed out", MXP_ERR_TIMEOUT,
     "timed out"},
    {CURLE_COULDNT_CONNECT, "Failed to connect", MXP_ERR_CONNECT, "Failed"},
    {CURLE_COULDNT_RESOLVE_HOST, "x", MXP_ERR_CONNECT, "x"},
    {CURLE_OUT_OF_MEMORY, NULL, MXP_ERR_NOMEM, ""},
    {CURLE_UNSUPPORTED_PROTOCOL, NULL, MXP_ERR_INVALID, ""},
    {CURLE_SSL_CACERT_BADFILE, "error setting certificate file: /x",
     MXP_ERR_CONFIG, "/x"},
    {CURLE_RECV_ERROR, "Connection reset by peer", MXP_ERR_IO, "reset"},
};

static void test_curl_failures(void **state)
{
    char out[256];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(curl_cases) / sizeof(curl_cases[0]); i++) {
        const struct curl_case *c = &curl_cases[i];
        int rc = mxp_http_failure(c->code, c->words, out, sizeof(out));

        if (rc != c->rc || strstr(out, c->want) == NULL)
            fail_msg("curl %d: got %d \"%s\", want %d with \"%s\"", c->code, rc,
                     out, c->rc, c->want);
        assert_true(out[0] != '\0'); /* curl's own words when none given */
        if (c->code != CURLE_PEER_FAILED_VERIFICATION)
            assert_null(strstr(out, "certificate verify failed"));
    }
}

/* ---- whole GETs that end before TLS ---------------------------------- */

static const char *servers[1];
static struct mxp_resolver *resolver;
static struct mxp_arena *arena;
static char last_line[1024];
static char last_dir;

static void keep_line(void *user, char dir, const char *line)
{
    (void)user;
    last_dir = dir;
    snprintf(last_line, sizeof(last_line), "%s", line);
}

static struct mxp_https_env env_now(int family, double budget)
{
    struct mxp_https_env env;

    memset(&env, 0, sizeof(env));
    env.resolver = resolver;
    env.arena = arena;
    env.family = family;
    env.connect_timeout = 1;
    env.command_timeout = 2;
    env.dns_deadline = mxp_now() + 2;
    env.deadline = mxp_now() + budget;
    env.transcript = keep_line;
    return env;
}

static int get(const struct mxp_https_env *env, const char *url,
               struct mxp_https_get *g)
{
    memset(g, 0, sizeof(*g));
    g->url = url;
    last_line[0] = last_dir = 0;
    return mxp_https_get(env, g);
}

/* A loopback port where nothing listens (bound, never listened to). */
static unsigned dead_port(int *fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

static void test_get_dns(void **state)
{
    struct mxp_https_env env = env_now(0, 5);
    struct mxp_https_get g;
    (void)state;

    dnss_clear();
    /* NXDOMAIN from the run's DNS, although the system resolves it. */
    dnss_add("localhost", MXP_DNS_A, 3, 0, "");
    dnss_add("localhost", MXP_DNS_AAAA, 3, 0, "");
    assert_int_equal(get(&env, "https://localhost/x", &g), MXP_ERR_DNS);
    assert_string_equal(g.words, "localhost: NXDOMAIN");
    assert_int_equal(dnss_asked("localhost", MXP_DNS_A), 1);
    assert_int_equal(dnss_asked("localhost", MXP_DNS_AAAA), 1);
    assert_null(g.body);
    assert_int_equal(last_dir, '!');
    assert_non_null(strstr(last_line, "HTTPS GET https://localhost:443/x "
                                      "failed: localhost: NXDOMAIN"));

    dnss_add("txt.test", MXP_DNS_A, 0, 0, "");
    dnss_add("txt.test", MXP_DNS_AAAA, 0, 0, "");
    assert_int_equal(get(&env, "https://txt.test/", &g), MXP_ERR_DNS);
    assert_string_equal(g.words, "txt.test has no address");

    dnss_add("fail.test", MXP_DNS_A, 2, 0, "");
    dnss_add("fail.test", MXP_DNS_AAAA, 0, 0, "");
    assert_int_equal(get(&env, "https://fail.test/", &g), MXP_ERR_DNS);
    assert_non_null(strstr(g.words, "fail.test: A lookup: "));

    /* -4: no AAAA asked. */
    env = env_now(AF_INET, 5);
    dnss_add("v4only.test", MXP_DNS_A, 3, 0, "");
    dnss_add("v4only.test", MXP_DNS_AAAA, 3, 0, "");
    assert_int_equal(get(&env, "https://v4only.test/", &g), MXP_ERR_DNS);
    assert_int_equal(dnss_asked("v4only.test", MXP_DNS_A), 1);
    assert_int_equal(dnss_asked("v4only.test", MXP_DNS_AAAA), 0);
}

static void test_get_refused(void **state)
{
    struct mxp_https_env env = env_now(0, 5);
    struct mxp_https_get g;
    char url[128];
    int fd;
    unsigned port = dead_port(&fd);
    (void)state;

    /* The address comes from the script; curl connects there only. */
    dnss_clear();
    dnss_add("dead.test", MXP_DNS_A, 0, 0, "A 127.0.0.1");
    dnss_add("dead.test", MXP_DNS_AAAA, 0, 0, "");
    snprintf(url, sizeof(url), "https://dead.test:%u/p", port);
    assert_int_equal(get(&env, url, &g), MXP_ERR_CONNECT);
    assert_non_null(strstr(g.words, "refused"));
    assert_int_equal(g.status, 0);
    assert_null(g.body);
    assert_true(g.elapsed < 1.5);
    close(fd);
}

static void test_get_invalid_and_deadline(void **state)
{
    struct mxp_https_env env = env_now(0, 5);
    struct mxp_https_get g;
    (void)state;

    dnss_clear();
    assert_int_equal(get(&env, "http://h.test/", &g), MXP_ERR_INVALID);
    assert_string_equal(g.words, "not an https:// URL");
    assert_int_equal(dnss_asked("h.test", 0), 0);
    assert_int_equal(get(&env, NULL, &g), MXP_ERR_INVALID);
    /* The deadline has passed: nothing is sent. */
    env = env_now(0, -1);
    assert_int_equal(get(&env, "https://127.0.0.1:1/", &g), MXP_ERR_TIMEOUT);
    assert_non_null(strstr(g.words, "deadline"));
}

static int group_setup(void **state)
{
    struct mxp_dns_config cfg;
    (void)state;

    if (mxp_dns_global_init() != MXP_OK || dnss_start() == 0)
        return -1;
    servers[0] = dnss_server();
    memset(&cfg, 0, sizeof(cfg));
    cfg.servers = servers;
    cfg.n_servers = 1;
    cfg.timeout_ms = 500;
    cfg.tries = 2;
    arena = mxp_arena_new();
    return arena != NULL && mxp_resolver_new(&cfg, &resolver) == MXP_OK ? 0
                                                                        : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    mxp_resolver_free(resolver);
    mxp_arena_free(arena);
    dnss_stop();
    mxp_dns_global_cleanup();
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_table),
        cmocka_unit_test(test_url_lengths),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_resolve_entry),
        cmocka_unit_test(test_curl_failures),
        cmocka_unit_test(test_get_dns),
        cmocka_unit_test(test_get_refused),
        cmocka_unit_test(test_get_invalid_and_deadline),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
