/*
 * tls_hello.c - a bare ClientHello and its answer (tls_hello.h).
 *
 * Written by hand from RFC 5246 (and RFC 6101 for SSL 3.0) rather than
 * with OpenSSL, which refuses to offer what it no longer speaks.  The
 * parser gathers the start of the handshake stream (at most the 73 bytes
 * a ServerHello needs up to its cipher suite) from as many records as it
 * takes, so a ServerHello split into one-byte records reads the same as
 * one packed with the Certificate into a 16 KiB record.
 */
#include "tls_hello.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "net.h"

#define REC_ALERT 21
#define REC_HANDSHAKE 22
#define HS_SERVER_HELLO 2
#define REC_MAX (16384 + 2048) /* largest TLSCiphertext (RFC 5246 6.2.3) */
#define HS_NEED 73 /* type, length, version, random, sid (<= 32), suite */

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void put24(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)(v >> 16);
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)v;
}

int mxp_tls_sni_ok(const char *sni)
{
    int family;
    unsigned char b[16];
    size_t n = sni != NULL ? strlen(sni) : 0;

    return n > 0 && n <= 253 && mxp_parse_addr(sni, &family, b) != 0;
}

/* The TLS >= 1.0 extensions at p (room for them assured): their length. */
static size_t extensions(const char *sni, unsigned char *p)
{
    static const uint16_t groups[] = {0x001d, 0x0017, 0x0018};
    static const uint16_t sigalgs[] = {0x0403, 0x0503, 0x0603, 0x0804,
                                       0x0805, 0x0806, 0x0401, 0x0501,
                                       0x0601, 0x0203, 0x0201};
    size_t n = 0, i;

    if (mxp_tls_sni_ok(sni)) {
        size_t len = strlen(sni);

        put16(p + n, 0x0000); /* server_name */
        put16(p + n + 2, (unsigned)(len + 5));
        put16(p + n + 4, (unsigned)(len + 3));
        p[n + 6] = 0; /* host_name */
        put16(p + n + 7, (unsigned)len);
        memcpy(p + n + 9, sni, len);
        n += 9 + len;
    }
    put16(p + n, 0x000a); /* supported_groups */
    put16(p + n + 2, 2 + 2 * 3);
    put16(p + n + 4, 2 * 3);
    for (i = 0; i < 3; i++)
        put16(p + n + 6 + 2 * i, groups[i]);
    n += 6 + 2 * 3;
    put16(p + n, 0x000b); /* ec_point_formats: uncompressed */
    put16(p + n + 2, 2);
    p[n + 4] = 1;
    p[n + 5] = 0;
    n += 6;
    put16(p + n, 0x000d); /* signature_algorithms */
    put16(p + n + 2, (unsigned)(2 + 2 * (sizeof(sigalgs) / 2)));
    put16(p + n + 4, (unsigned)(2 * (sizeof(sigalgs) / 2)));
    for (i = 0; i < sizeof(sigalgs) / 2; i++)
        put16(p + n + 6 + 2 * i, sigalgs[i]);
    n += 6 + sizeof(sigalgs);
    return n;
}

size_t mxp_tls_client_hello(int version, const uint16_t *ciphers, size_t n,
                            const char *sni, unsigned char *out, size_t cap)
{
    unsigned char *body = out + 9; /* after record and handshake headers */
    size_t len = 0, i, ext;

    if (ciphers == NULL || n == 0 || n > MXP_TLS_HELLO_SUITES ||
        version < MXP_SSL_3_0 || version > MXP_TLS_1_2 ||
        cap < MXP_TLS_HELLO_MAX)
        return 0;
    put16(body, (unsigned)version);
    if (RAND_bytes(body + 2, 32) != 1)
        memset(body + 2, 0x5a, 32); /* the random need not be secret here */
    body[34] = 0;                   /* no session id */
    put16(body + 35, (unsigned)(2 * n));
    for (i = 0; i < n; i++)
        put16(body + 37 + 2 * i, ciphers[i]);
    len = 37 + 2 * n;
    body[len++] = 1; /* compression methods: null only */
    body[len++] = 0;
    if (version >= MXP_TLS_1_0) {
        ext = extensions(sni, body + len + 2);
        put16(body + len, (unsigned)ext);
        len += 2 + ext;
    }
    out[0] = REC_HANDSHAKE;
    /* The record layer says TLS 1.0 for any TLS hello, as browsers do:
     * some servers drop a record version newer than they know. */
    put16(out + 1, version == MXP_SSL_3_0 ? 0x0300 : 0x0301);
    put16(out + 3, (unsigned)(len + 4));
    out[5] = 1; /* client_hello */
    put24(out + 6, len);
    return len + 9;
}

const char *mxp_tls_version_name(int version)
{
    static char other[8];

    switch (version) {
    case MXP_SSL_3_0:
        return "SSLv3";
    case MXP_TLS_1_0:
        return "TLSv1";
    case MXP_TLS_1_1:
        return "TLSv1.1";
    case MXP_TLS_1_2:
        return "TLSv1.2";
    case MXP_TLS_1_3:
        return "TLSv1.3";
    default:
        snprintf(other, sizeof(other), "0x%04x", (unsigned)version & 0xffff);
        return other;
    }
}

const char *mxp_tls_alert_name(int d)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {0, "close notify"},
        {10, "unexpected message"},
        {20, "bad record mac"},
        {21, "decryption failed"},
        {22, "record overflow"},
        {30, "decompression failure"},
        {40, "handshake failure"},
        {41, "no certificate"},
        {42, "bad certificate"},
        {43, "unsupported certificate"},
        {44, "certificate revoked"},
        {45, "certificate expired"},
        {46, "certificate unknown"},
        {47, "illegal parameter"},
        {48, "unknown CA"},
        {49, "access denied"},
        {50, "decode error"},
        {51, "decrypt error"},
        {60, "export restriction"},
        {70, "protocol version"},
        {71, "insufficient security"},
        {80, "internal error"},
        {86, "inappropriate fallback"},
        {90, "user canceled"},
        {100, "no renegotiation"},
        {109, "missing extension"},
        {110, "unsupported extension"},
        {112, "unrecognized name"},
        {120, "no application protocol"},
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == d)
            return names[i].name;
    return "unknown";
}

/* "what came: '...'" with the printable start of buf in out->words. */
static enum mxp_tls_parse bad(struct mxp_tls_hello *out, const char *what,
                              const unsigned char *buf, size_t len)
{
    char shown[41];
    size_t i, n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;

    for (i = 0; i < n; i++)
        shown[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '?';
    shown[n] = '\0';
    snprintf(out->words, sizeof(out->words), "%s: '%s'", what, shown);
    out->accepted = 0;
    return MXP_TLS_PARSE_BAD;
}

/* The gathered start of the handshake stream: MORE until the ServerHello
 * shows its suite. */
static enum mxp_tls_parse server_hello(const unsigned char *hs, size_t n,
                                       const unsigned char *buf, size_t len,
                                       struct mxp_tls_hello *out)
{
    size_t mlen, sid;

    if (n >= 1 && hs[0] != HS_SERVER_HELLO)
        return bad(out, "not a ServerHello", buf, len);
    if (n < 4)
        return MXP_TLS_PARSE_MORE;
    mlen = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
    if (mlen < 2 + 32 + 1 + 2 + 1)
        return bad(out, "a ServerHello too short", buf, len);
    if (n < 4 + 2 + 32 + 1)
        return MXP_TLS_PARSE_MORE;
    if (hs[4] != 3)
        return bad(out, "a ServerHello of an unknown version", buf, len);
    sid = hs[38];
    if (sid > 32 || mlen < 2 + 32 + 1 + sid + 2 + 1)
        return bad(out, "a malformed ServerHello", buf, len);
    if (n < 39 + sid + 2)
        return MXP_TLS_PARSE_MORE;
    out->accepted = 1;
    out->version = hs[4] << 8 | hs[5];
    out->cipher = (uint16_t)(hs[39 + sid] << 8 | hs[40 + sid]);
    snprintf(out->words, sizeof(out->words), "accepted: %s, suite 0x%04X",
             mxp_tls_version_name(out->version), out->cipher);
    return MXP_TLS_PARSE_DONE;
}

enum mxp_tls_parse mxp_tls_parse_server_hello(const unsigned char *buf,
                                              size_t len,
                                              struct mxp_tls_hello *out)
{
    unsigned char hs[HS_NEED];
    size_t pos = 0, n_hs = 0;

    memset(out, 0, sizeof(*out));
    out->alert = -1;
    if (len >= 3 && (buf[0] & 0x80) && buf[2] == 4)
        return bad(out, "an SSLv2 ServerHello", buf, len);
    while (pos < len) {
        const unsigned char *r = buf + pos;
        size_t left = len - pos, rlen, avail;

        if (r[0] != REC_HANDSHAKE && r[0] != REC_ALERT)
            return bad(
                out, pos == 0 ? "not a TLS answer" : "an unexpected TLS record",
                r, left);
        if (left >= 2 && r[1] != 3)
            return bad(out, "not a TLS record", r, left);
        if (left < 5)
            return MXP_TLS_PARSE_MORE;
        rlen = (size_t)r[3] << 8 | r[4];
        if (rlen == 0 || rlen > REC_MAX)
            return bad(out, "a TLS record of a bad length", r, left);
        avail = left - 5 < rlen ? left - 5 : rlen;
        if (r[0] == REC_ALERT) {
            if (rlen < 2)
                return bad(out, "a truncated TLS alert", r, left);
            if (avail < 2)
                return MXP_TLS_PARSE_MORE;
            out->alert = r[6];
            snprintf(out->words, sizeof(out->words), "%s (alert %d)",
                     mxp_tls_alert_name(r[6]), r[6]);
            return MXP_TLS_PARSE_DONE;
        }
        if (n_hs < sizeof(hs)) {
            size_t take = sizeof(hs) - n_hs < avail ? sizeof(hs) - n_hs : avail;
            enum mxp_tls_parse st;

            memcpy(hs + n_hs, r + 5, take);
            n_hs += take;
            st = server_hello(hs, n_hs, buf, len, out);
            if (st != MXP_TLS_PARSE_MORE)
                return st;
        }
        if (avail < rlen)
            return MXP_TLS_PARSE_MORE;
        pos += 5 + rlen;
    }
    return MXP_TLS_PARSE_MORE;
}
