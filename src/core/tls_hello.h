/*
 * tls_hello.h - a bare TLS ClientHello and the server's first answer.
 *
 * What this OpenSSL cannot offer (SSL 3.0, RC4, 3DES, EXPORT) can still
 * be asked of a server by writing the ClientHello ourselves: these two
 * pure functions build one (SSL 3.0 .. TLS 1.2, exactly the given
 * suites) and read the server's bytes up to its ServerHello or Alert.
 * The parser takes hostile input: records split anywhere, handshake
 * messages across records, lying lengths, SSLv2 answers, plain junk;
 * it looks at no more than len bytes and never needs more than the
 * start of the first handshake message.
 */
#ifndef MXP_TLS_HELLO_H
#define MXP_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "mxprobe/plugin.h"

#define MXP_TLS_HELLO_SUITES 128 /* suites one ClientHello may offer */
#define MXP_TLS_HELLO_MAX 1024   /* bytes of the largest ClientHello */
#define MXP_TLS_REPLY_MAX 8192   /* bytes read for a ServerHello at most */

/* The ClientHello record offering version (MXP_SSL_3_0 .. MXP_TLS_1_2)
 * and ciphers[0..n) (n 1..MXP_TLS_HELLO_SUITES), into out (cap at least
 * MXP_TLS_HELLO_MAX): its length, 0 for bad arguments.  From TLS 1.0 on
 * it carries server_name (sni, when a host name), supported_groups
 * (x25519, secp256r1, secp384r1), ec_point_formats and
 * signature_algorithms; SSL 3.0 none. */
size_t mxp_tls_client_hello(int version, const uint16_t *ciphers, size_t n,
                            const char *sni, unsigned char *out, size_t cap);

enum mxp_tls_parse {
    MXP_TLS_PARSE_MORE, /* not enough bytes yet */
    MXP_TLS_PARSE_DONE, /* out says accepted (version, cipher) or the
                           alert that refused us */
    MXP_TLS_PARSE_BAD,  /* not a TLS answer: out->words says what came */
};

/* Reads buf[0..len), everything the server sent so far, into out. */
enum mxp_tls_parse mxp_tls_parse_server_hello(const unsigned char *buf,
                                              size_t len,
                                              struct mxp_tls_hello *out);

/* 1 when sni may go out as a server name: a name of 1..253 bytes, never
 * an address (RFC 6066 3). */
int mxp_tls_sni_ok(const char *sni);

/* "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" (OpenSSL's words),
 * "0x0305" for others (a static buffer then). */
const char *mxp_tls_version_name(int version);
/* "handshake failure", "protocol version"...; "unknown" for others. */
const char *mxp_tls_alert_name(int description);

#endif
