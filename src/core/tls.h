/*
 * tls.h - OpenSSL client connections over a non-blocking socket.
 *
 * The building block under smtp.c's STARTTLS and implicit TLS: one
 * struct mxp_tls per connection, every call non-blocking.  A call that
 * cannot go on says which poll() events it waits for; the caller polls
 * with its own limits (command_timeout, the deadline), so no wait here
 * is unbounded.  The certificate never fails a handshake: verification
 * is recorded in struct mxp_tls_info for the plugin to judge.  Failures
 * come back as an mxp_status with OpenSSL's reason in plain words.  The
 * thread's OpenSSL error queue is emptied around every call, so one
 * connection's errors never show in another's words.  Writes never raise
 * SIGPIPE (the socket is driven with MSG_NOSIGNAL).
 */
#ifndef MXP_TLS_H
#define MXP_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "mxprobe/plugin.h"

struct mxp_tls;

/* A return of the non-blocking calls: wait for *events, then call again. */
#define MXP_TLS_AGAIN (-1000)

/* Prepares a client on the connected (or connecting) fd with o's
 * settings; nothing is sent yet.  The SSL_CTX of o->ca_file (or of the
 * system store) is made once per process and kept.  MXP_OK and *out, or
 * MXP_ERR_UNSUPPORTED (a version or cipher list this OpenSSL cannot
 * offer), MXP_ERR_CONFIG (the CA file cannot be loaded), MXP_ERR_NOMEM,
 * with words in err.  fd stays the caller's. */
int mxp_tls_new(int fd, const struct mxp_tls_options *o, struct mxp_tls **out,
                char *err, size_t errlen);

/* Advances the handshake: MXP_OK when done, MXP_TLS_AGAIN (*events to
 * poll for), or a failure with words: MXP_ERR_CLOSED (the server hung
 * up), MXP_ERR_PROTOCOL ("wrong version number", "sslv3 alert handshake
 * failure", "excessive message size"), MXP_ERR_IO; MXP_ERR_UNSUPPORTED
 * when the settings leave nothing to offer ("no protocols available"),
 * found before anything is sent. */
int mxp_tls_handshake(struct mxp_tls *t, short *events, char *err,
                      size_t errlen);

/* Bytes received from the server so far (tells a silent server from one
 * that stalled halfway). */
size_t mxp_tls_bytes_in(const struct mxp_tls *t);
size_t mxp_tls_bytes_out(const struct mxp_tls *t);

/* The facts of the finished handshake, owned by t; elapsed is stored as
 * its handshake_time.  NULL when out of memory. */
const struct mxp_tls_info *mxp_tls_info(struct mxp_tls *t, double elapsed);

/* Reads or writes without blocking: bytes (> 0), MXP_TLS_AGAIN (*events
 * to poll for), or -status with words: -MXP_ERR_CLOSED at the end of the
 * stream (close_notify, EOF, reset), -MXP_ERR_PROTOCOL, -MXP_ERR_IO.  A
 * failure is final: later calls return it again. */
ssize_t mxp_tls_read(struct mxp_tls *t, void *buf, size_t len, short *events,
                     char *err, size_t errlen);
ssize_t mxp_tls_write(struct mxp_tls *t, const void *buf, size_t len,
                      short *events, char *err, size_t errlen);

/* 1 when decrypted or undecoded bytes are buffered inside OpenSSL: a
 * poll() on the socket would not see them. */
int mxp_tls_pending(struct mxp_tls *t);

/* Sends close_notify once if the socket takes it at once (a courtesy,
 * never waited for), then frees everything.  NULL is fine. */
void mxp_tls_free(struct mxp_tls *t);

#endif
