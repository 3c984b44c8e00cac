/*
 * tls.c - OpenSSL client connections over a non-blocking socket (tls.h).
 *
 * One SSL_CTX per CA file (or the system store), made lazily and kept for
 * the process: loading the system store takes longer than a handshake on
 * loopback, and a job makes several handshakes.  Everything that differs
 * between handshakes (versions, ciphers, security level, SNI) is set on
 * the SSL object.  The socket is driven through a small BIO of our own
 * that sends with MSG_NOSIGNAL (a server that hangs up must not kill the
 * job with SIGPIPE) and counts the bytes received.
 */
#include "tls.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "net.h"
#include "tls_hello.h"

#define MAX_CTX 8                  /* CA files a process may use */
#define MAX_CERT_LIST (100 * 1024) /* bytes of a peer's certificate chain */
#define VERIFY_DEPTH 20            /* deeper chains: a verify error, no more */

struct mxp_tls {
    SSL *ssl;
    BIO *bio;
    int fd;
    int eof;          /* the socket gave EOF */
    size_t bytes_in;  /* bytes the server sent */
    size_t bytes_out; /* bytes we sent */
    int dead;         /* a read or write failed for good: its status */
    char dead_words[160];
    long first_error; /* first verify error seen, X509_V_OK when none */
    int first_depth;
    struct mxp_tls_info info;
    unsigned char *der[MXP_TLS_MAX_CHAIN];
    size_t der_len[MXP_TLS_MAX_CHAIN];
    int have_info;
};

/* ---- the socket BIO ---------------------------------------------------- */

static BIO_METHOD *bio_method;
static int ex_index = -1;

static int bio_write(BIO *b, const char *data, int len)
{
    struct mxp_tls *t = BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    do
        n = send(t->fd, data, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        t->bytes_out += (size_t)n;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *data, int len)
{
    struct mxp_tls *t = BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    do
        n = recv(t->fd, data, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        t->bytes_in += (size_t)n;
    else if (n == 0)
        t->eof = 1;
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
        BIO_set_retry_read(b);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct mxp_tls *t = BIO_get_data(b);

    (void)num;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_EOF:
        return t != NULL && t->eof;
    case BIO_C_GET_FD:
        if (t == NULL)
            return -1;
        if (ptr != NULL)
            *(int *)ptr = t->fd;
        return t->fd;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* The BIO method and the SSL ex_data slot, made once per process. */
static int tls_once(void)
{
    if (bio_method == NULL) {
        BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                     "mxprobe socket");

        if (m == NULL || !BIO_meth_set_write(m, bio_write) ||
            !BIO_meth_set_read(m, bio_read) ||
            !BIO_meth_set_ctrl(m, bio_ctrl) ||
            !BIO_meth_set_create(m, bio_create)) {
            BIO_meth_free(m);
            return MXP_ERR_NOMEM;
        }
        bio_method = m;
    }
    if (ex_index < 0)
        ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return ex_index < 0 ? MXP_ERR_NOMEM : MXP_OK;
}

/* ---- errors in words ---------------------------------------------------- */

/* The first error of OpenSSL's queue in words ("wrong version number"),
 * or fallback; the queue is emptied. */
static void queue_words(const char *fallback, char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (why != NULL)
        snprintf(err, errlen, "%s", why);
    else if (e != 0)
        ERR_error_string_n(e, err, errlen);
    else
        snprintf(err, errlen, "%s", fallback);
    ERR_clear_error();
}

/* 1 when the error queue's first entry says the peer hung up. */
static int queue_says_eof(void)
{
    unsigned long e = ERR_peek_error();

    return e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
           ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* 1 when the queue's first error says this side had nothing to offer
 * (versions or ciphers all excluded by the settings or the level). */
static int queue_says_this_side(void)
{
    unsigned long e = ERR_peek_error();
    int r = ERR_GET_REASON(e);

    return e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
           (r == SSL_R_NO_PROTOCOLS_AVAILABLE ||
            r == SSL_R_NO_CIPHERS_AVAILABLE ||
            r == SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM);
}

/* An SSL call's return rc as MXP_TLS_AGAIN with *events, or a status with
 * words. */
static int ssl_outcome(struct mxp_tls *t, int rc, short *events, char *err,
                       size_t errlen)
{
    int saved = errno;

    switch (SSL_get_error(t->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        ERR_clear_error();
        *events = POLLIN;
        return MXP_TLS_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        ERR_clear_error();
        *events = POLLOUT;
        return MXP_TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        snprintf(err, errlen, "closed by the server (close_notify)");
        return MXP_ERR_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (t->eof || queue_says_eof() || saved == 0 || saved == ECONNRESET ||
            saved == EPIPE) {
            ERR_clear_error();
            snprintf(err, errlen, "connection closed by server");
            return MXP_ERR_CLOSED;
        }
        ERR_clear_error();
        snprintf(err, errlen, "%s", strerror(saved));
        return MXP_ERR_IO;
    default:
        if (queue_says_this_side()) {
            /* Refused here before a byte went out: not the server's. */
            queue_words("nothing to offer", err, errlen);
            return MXP_ERR_UNSUPPORTED;
        }
        if (queue_says_eof()) {
            ERR_clear_error();
            snprintf(err, errlen, "connection closed by server");
            return MXP_ERR_CLOSED;
        }
        queue_words("TLS error", err, errlen);
        return MXP_ERR_PROTOCOL;
    }
}

/* ---- contexts ------------------------------------------------------------ */

/* Records the first verification error and goes on: the certificate is
 * the plugin's to judge, the handshake must finish to show it. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct mxp_tls *t = ssl != NULL ? SSL_get_ex_data(ssl, ex_index) : NULL;

    if (!ok && t != NULL && t->first_error == X509_V_OK) {
        t->first_error = X509_STORE_CTX_get_error(x);
        t->first_depth = X509_STORE_CTX_get_error_depth(x);
    }
    return 1;
}

/* NULL when path names a regular file (after symlinks), else why not. */
static const char *not_regular(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return strerror(errno);
    return S_ISREG(st.st_mode) ? NULL : "not a regular file";
}

static struct {
    char *ca_file; /* "" for the system store */
    SSL_CTX *ctx;
} ctxs[MAX_CTX];

static SSL_CTX *ctx_for(const char *ca_file, int *status, char *err,
                        size_t errlen)
{
    SSL_CTX *ctx;
    const char *why_not;
    size_t i;

    if (ca_file == NULL)
        ca_file = "";
    for (i = 0; i < MAX_CTX && ctxs[i].ctx != NULL; i++)
        if (strcmp(ctxs[i].ca_file, ca_file) == 0)
            return ctxs[i].ctx;
    *status = MXP_ERR_NOMEM;
    if (i == MAX_CTX) {
        *status = MXP_ERR_CONFIG;
        snprintf(err, errlen, "more than %d CA files", MAX_CTX);
        return NULL;
    }
    if (ca_file[0] != '\0' && (why_not = not_regular(ca_file)) != NULL) {
        /* A FIFO would block the open until the job's deadline. */
        snprintf(err, errlen, "cannot load the CA file %s: %s", ca_file,
                 why_not);
        *status = MXP_ERR_CONFIG;
        return NULL;
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        queue_words("out of memory", err, errlen);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
    SSL_CTX_set_verify_depth(ctx, VERIFY_DEPTH);
    SSL_CTX_set_max_cert_list(ctx, MAX_CERT_LIST);
    /* Each handshake stands alone (a protocol probe must not resume an
     * earlier session); a server's renegotiation request is refused
     * rather than followed; servers without RFC 5746 are still talked to,
     * as an auditor must see them. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_LEGACY_SERVER_CONNECT);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (ca_file[0] != '\0' ? SSL_CTX_load_verify_file(ctx, ca_file) != 1
                           : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        char why[128];

        queue_words("cannot be read", why, sizeof(why));
        snprintf(err, errlen, "cannot load the CA %s%s: %s",
                 ca_file[0] != '\0' ? "file " : "system store", ca_file, why);
        SSL_CTX_free(ctx);
        *status = MXP_ERR_CONFIG;
        return NULL;
    }
    ctxs[i].ca_file = strdup(ca_file);
    if (ctxs[i].ca_file == NULL) {
        SSL_CTX_free(ctx);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ctxs[i].ctx = ctx;
    return ctx;
}

/* ---- connections ------------------------------------------------------- */

/* OpenSSL's version constant of an mxp_tls_version, -1 when it has none. */
static int ossl_version(int v)
{
    switch (v) {
    case MXP_TLS_ANY:
        return 0;
    case MXP_SSL_3_0:
        return SSL3_VERSION;
    case MXP_TLS_1_0:
        return TLS1_VERSION;
    case MXP_TLS_1_1:
        return TLS1_1_VERSION;
    case MXP_TLS_1_2:
        return TLS1_2_VERSION;
    case MXP_TLS_1_3:
        return TLS1_3_VERSION;
    default:
        return -1;
    }
}

static int apply_options(struct mxp_tls *t, const struct mxp_tls_options *o,
                         char *err, size_t errlen)
{
    int lo = ossl_version(o->min_version), hi = ossl_version(o->max_version);

    if (lo < 0 || hi < 0) {
        snprintf(err, errlen, "unknown TLS version 0x%04x",
                 (unsigned)(lo < 0 ? o->min_version : o->max_version));
        return MXP_ERR_INVALID;
    }
#ifdef OPENSSL_NO_SSL3
    /* Asked for here, OpenSSL would fail the handshake with an alert
     * already on the wire. */
    if (hi == SSL3_VERSION) {
        snprintf(err, errlen, "this OpenSSL has no SSL 3.0");
        return MXP_ERR_UNSUPPORTED;
    }
#endif
    /* Before the versions and ciphers: the level decides what they may
     * enable (TLS 1.0/1.1 and NULL/aNULL need level 0 in OpenSSL 3). */
    if (o->ciphers != NULL && SSL_set_cipher_list(t->ssl, o->ciphers) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "no cipher of this OpenSSL matches '%.60s'",
                 o->ciphers);
        return MXP_ERR_UNSUPPORTED;
    }
    if (o->legacy)
        SSL_set_security_level(t->ssl, 0);
    if ((lo != 0 && SSL_set_min_proto_version(t->ssl, lo) != 1) ||
        (hi != 0 && SSL_set_max_proto_version(t->ssl, hi) != 1)) {
        ERR_clear_error();
        snprintf(err, errlen, "this OpenSSL cannot offer that protocol range");
        return MXP_ERR_UNSUPPORTED;
    }
    if (o->ciphersuites != NULL &&
        SSL_set_ciphersuites(t->ssl, o->ciphersuites) != 1) {
        ERR_clear_error();
        snprintf(err, errlen,
                 "no TLS 1.3 suite of this OpenSSL matches "
                 "'%.60s'",
                 o->ciphersuites);
        return MXP_ERR_UNSUPPORTED;
    }
    if (mxp_tls_sni_ok(o->sni) &&
        SSL_set_tlsext_host_name(t->ssl, o->sni) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "bad server name for SNI");
        return MXP_ERR_INVALID;
    }
    return MXP_OK;
}

int mxp_tls_new(int fd, const struct mxp_tls_options *o, struct mxp_tls **out,
                char *err, size_t errlen)
{
    static const struct mxp_tls_options defaults;
    struct mxp_tls *t;
    SSL_CTX *ctx;
    int rc = MXP_ERR_NOMEM;

    *out = NULL;
    if (o == NULL)
        o = &defaults;
    ERR_clear_error();
    snprintf(err, errlen, "out of memory");
    if (tls_once() != MXP_OK)
        return MXP_ERR_NOMEM;
    if ((ctx = ctx_for(o->ca_file, &rc, err, errlen)) == NULL)
        return rc;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MXP_ERR_NOMEM;
    t->fd = fd;
    t->first_error = X509_V_OK;
    t->first_depth = -1;
    t->ssl = SSL_new(ctx);
    t->bio = BIO_new(bio_method);
    if (t->ssl == NULL || t->bio == NULL)
        goto fail;
    BIO_set_data(t->bio, t);
    SSL_set_bio(t->ssl, t->bio, t->bio); /* the SSL owns the BIO now */
    if (!SSL_set_ex_data(t->ssl, ex_index, t))
        goto fail;
    if ((rc = apply_options(t, o, err, errlen)) != MXP_OK)
        goto fail;
    SSL_set_connect_state(t->ssl);
    *out = t;
    return MXP_OK;

fail:
    ERR_clear_error();
    if (t->ssl != NULL)
        SSL_free(t->ssl);
    else
        BIO_free(t->bio);
    free(t);
    return rc;
}

int mxp_tls_handshake(struct mxp_tls *t, short *events, char *err,
                      size_t errlen)
{
    int rc;

    ERR_clear_error();
    rc = SSL_do_handshake(t->ssl);
    if (rc == 1)
        return MXP_OK;
    return ssl_outcome(t, rc, events, err, errlen);
}

size_t mxp_tls_bytes_in(const struct mxp_tls *t)
{
    return t != NULL ? t->bytes_in : 0;
}

size_t mxp_tls_bytes_out(const struct mxp_tls *t)
{
    return t != NULL ? t->bytes_out : 0;
}

/* The server's temporary key: "X25519", "ECDH P-256", "DH" and bits. */
static void kx_words(struct mxp_tls *t)
{
    EVP_PKEY *k = NULL;
    char group[64] = "";
    size_t glen = 0;

    if (!SSL_get_peer_tmp_key(t->ssl, &k) || k == NULL) {
        ERR_clear_error();
        return;
    }
    t->info.kx_bits = EVP_PKEY_get_bits(k);
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_X25519:
        snprintf(t->info.kx, sizeof(t->info.kx), "X25519");
        break;
    case EVP_PKEY_X448:
        snprintf(t->info.kx, sizeof(t->info.kx), "X448");
        break;
    case EVP_PKEY_DH:
        snprintf(t->info.kx, sizeof(t->info.kx), "DH");
        break;
    case EVP_PKEY_EC: {
        const char *nist = NULL;

        if (EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) == 1)
            nist = EC_curve_nid2nist(OBJ_sn2nid(group));
        snprintf(t->info.kx, sizeof(t->info.kx), "ECDH %s",
                 nist != NULL       ? nist
                 : group[0] != '\0' ? group
                                    : "?");
        break;
    }
    default:
        snprintf(t->info.kx, sizeof(t->info.kx), "%s",
                 OBJ_nid2sn(EVP_PKEY_get_base_id(k)));
        break;
    }
    EVP_PKEY_free(k);
    ERR_clear_error();
}

/* The peer's chain as DER copies, leaf first. */
static int keep_chain(struct mxp_tls *t)
{
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(t->ssl);
    int i, n = chain != NULL ? sk_X509_num(chain) : 0;

    t->info.chain_total = n > 0 ? (size_t)n : 0;
    for (i = 0; i < n && i < MXP_TLS_MAX_CHAIN; i++) {
        unsigned char *der = NULL, *p;
        int len = i2d_X509(sk_X509_value(chain, i), NULL);

        if (len <= 0 || (der = malloc((size_t)len)) == NULL)
            return MXP_ERR_NOMEM;
        p = der;
        (void)i2d_X509(sk_X509_value(chain, i), &p);
        t->der[i] = der;
        t->der_len[i] = (size_t)len;
        t->info.n_chain = (size_t)i + 1;
    }
    t->info.chain_der = (const unsigned char *const *)t->der;
    t->info.chain_len = t->der_len;
    return MXP_OK;
}

const struct mxp_tls_info *mxp_tls_info(struct mxp_tls *t, double elapsed)
{
    struct mxp_tls_info *in = &t->info;
    const SSL_CIPHER *c;

    if (t->have_info)
        return in;
    in->version = SSL_version(t->ssl);
    snprintf(in->protocol, sizeof(in->protocol), "%s", SSL_get_version(t->ssl));
    if ((c = SSL_get_current_cipher(t->ssl)) != NULL) {
        snprintf(in->cipher, sizeof(in->cipher), "%s", SSL_CIPHER_get_name(c));
        in->cipher_id = SSL_CIPHER_get_protocol_id(c);
        in->cipher_bits = SSL_CIPHER_get_bits(c, NULL);
    }
    kx_words(t);
    if (keep_chain(t) != MXP_OK) {
        ERR_clear_error();
        return NULL;
    }
    /* The first error the chain showed (a later one may only be its
     * echo); a server that sent no certificate at all (anonymous
     * suites) has nothing verified, which must not read as "valid". */
    in->verify_result = t->first_error != X509_V_OK
                            ? t->first_error
                            : SSL_get_verify_result(t->ssl);
    in->verify_depth = t->first_error != X509_V_OK ? t->first_depth : -1;
    if (in->chain_total == 0) {
        in->verify_result = X509_V_ERR_UNSPECIFIED;
        snprintf(in->verify_words, sizeof(in->verify_words),
                 "the server sent no certificate");
    } else {
        snprintf(in->verify_words, sizeof(in->verify_words), "%s",
                 X509_verify_cert_error_string(in->verify_result));
    }
    in->handshake_time = elapsed;
    t->have_info = 1;
    ERR_clear_error();
    return in;
}

/* The end of a read or write that moved no bytes: MXP_TLS_AGAIN, or a
 * failure kept for every later call.  rc is the SSL call's return, or 0
 * with dead set for a failure seen before. */
static ssize_t io_outcome(struct mxp_tls *t, int rc, short *events, char *err,
                          size_t errlen)
{
    if (!t->dead) {
        rc = ssl_outcome(t, rc, events, err, errlen);
        if (rc == MXP_TLS_AGAIN)
            return MXP_TLS_AGAIN;
        t->dead = rc;
        snprintf(t->dead_words, sizeof(t->dead_words), "%s", err);
    }
    snprintf(err, errlen, "%s", t->dead_words);
    return -t->dead;
}

ssize_t mxp_tls_read(struct mxp_tls *t, void *buf, size_t len, short *events,
                     char *err, size_t errlen)
{
    int rc = 0;

    if (!t->dead) {
        ERR_clear_error();
        rc = SSL_read(t->ssl, buf, len > 65536 ? 65536 : (int)len);
        if (rc > 0)
            return rc;
    }
    return io_outcome(t, rc, events, err, errlen);
}

ssize_t mxp_tls_write(struct mxp_tls *t, const void *buf, size_t len,
                      short *events, char *err, size_t errlen)
{
    int rc = 0;

    if (len == 0 && !t->dead)
        return 0;
    if (!t->dead) {
        ERR_clear_error();
        rc = SSL_write(t->ssl, buf, len > 65536 ? 65536 : (int)len);
        if (rc > 0)
            return rc;
    }
    return io_outcome(t, rc, events, err, errlen);
}

int mxp_tls_pending(struct mxp_tls *t)
{
    return t != NULL && !t->dead && SSL_has_pending(t->ssl);
}

void mxp_tls_free(struct mxp_tls *t)
{
    size_t i;

    if (t == NULL)
        return;
    if (!t->dead && SSL_is_init_finished(t->ssl)) {
        /* Once, never waited for: the socket closes right after. */
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl);
    }
    ERR_clear_error();
    SSL_free(t->ssl);
    for (i = 0; i < MXP_TLS_MAX_CHAIN; i++)
        free(t->der[i]);
    free(t);
}
