/*
 * smtp.h - SMTP client sessions with deadlines and a timed transcript.
 *
 * A session is one TCP connection.  Each reply is waited for at most the
 * command timeout in total, and never past the session's deadline.  Every
 * line sent and received goes to the transcript callback with its time
 * since the job started (shown with -vv).  The functions return an
 * mxp_status; after a failure smtp_error() says what happened in words
 * ("no reply within 20.0 s (waiting for greeting)", "reply line longer
 * than 2048 bytes", ...), and the session is marked broken: later calls
 * fail at once with the same status, and close does not attempt QUIT.
 */
#ifndef MXP_SMTP_H
#define MXP_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "mxprobe/plugin.h"

struct mxp_smtp_options {
    double connect_timeout; /* seconds */
    double command_timeout; /* seconds */
    double deadline;        /* absolute monotonic */
    double t0;              /* transcript times are relative to this */
    /* dir: 'C' connect/info, '>' sent, '<' received, '!' error. */
    void (*transcript)(void *user, char dir, double t, const char *line);
    void *transcript_user;
    /* probe.my_email: the only mailbox a message may be from or to when
     * it is completed; NULL or "": no message can ever be completed. */
    const char *own_mailbox;
};

/* Connects to the numeric addr:port within min(now + connect_timeout,
 * deadline); a timeout <= 0 means "the deadline only".  Unlike most
 * functions, *out is set even when the connect fails (only out of memory
 * or a NULL argument leave it NULL): that session is broken, and
 * mxp_smtp_error() names the failure ("cannot connect to 127.0.0.1:25:
 * connection refused").  The caller always closes a non-NULL *out. */
int mxp_smtp_open(const struct mxp_smtp_options *opt, const char *addr,
                  unsigned port, struct mxp_smtp **out);
/* The same without waiting for the connect: *out is set as by
 * mxp_smtp_open, the connect runs on.  Its transcript lines start with
 * "#n " (n counts such sessions), as several run side by side.  mxp_smtp_wait completes it (and
 * then waits for the greeting); any other call on the session first
 * waits for the connect, within connect_timeout and the deadline. */
int mxp_smtp_open_start(const struct mxp_smtp_options *opt, const char *addr,
                        unsigned port, struct mxp_smtp **out);
/* Waits until one of s[0..n) (NULL entries and sessions owing no reply
 * are skipped) has its next reply complete, or is broken (connect
 * failed, closed, timed out), and sets *ready to its index: the next
 * mxp_smtp_read_reply on it returns at once.  Held pipelined commands
 * are written first.  Each session's wait is bounded as a read's would
 * be (command_timeout from when waiting for that reply began, QUIT's
 * 2 s, connect_timeout for a connect, and the deadline); one that runs
 * out is broken with the words a read would give and reported ready.
 * MXP_ERR_INVALID when no session owes anything or n is 0 or over
 * MXP_SMTP_WAIT_MAX. */
#define MXP_SMTP_WAIT_MAX 64
int mxp_smtp_wait(struct mxp_smtp *const *s, size_t n, size_t *ready);
/* The same, returning MXP_ERR_TIMEOUT (*ready = n) when no session is
 * ready by until (an mxp_now() time; <= 0: no limit). */
int mxp_smtp_wait_until(struct mxp_smtp *const *s, size_t n, size_t *ready,
                        double until);
/* Reads one reply, waiting at most min(now + command_timeout, deadline)
 * in total (a command_timeout <= 0 means "the deadline only").  MXP_OK
 * whenever a well-formed reply arrived, whatever its code.  Bytes past
 * the reply are kept for the next call.  The reply's lines live in the
 * session until the next call on it.  r may be NULL. */
int mxp_smtp_read_reply(struct mxp_smtp *s, struct mxp_smtp_reply *r);
/* Sends line + CRLF, then reads the reply.  A line holding CR or LF is
 * refused with MXP_ERR_INVALID (the session stays usable). */
int mxp_smtp_command(struct mxp_smtp *s, const char *line,
                     struct mxp_smtp_reply *r);
/* Sends line + CRLF without reading (PIPELINING, RFC 2920): read the
 * replies in order with mxp_smtp_read_reply.  mxp_smtp_command refuses
 * to run while replies are owed.  Refused (MXP_ERR_INVALID, session
 * usable): CR/LF in line, BDAT, any command after DATA or inside a
 * message, more than 64 replies owed. */
int mxp_smtp_send(struct mxp_smtp *s, const char *line);
/* After DATA was answered 354: sends text as the message (dot-stuffed,
 * CRLF), the final ".", and reads the reply.  Refused unless opt's
 * own_mailbox is set and was this transaction's MAIL FROM or a RCPT the
 * server accepted.  Otherwise the message can only be abandoned, by
 * closing the session (which then sends no QUIT). */
int mxp_smtp_send_message(struct mxp_smtp *s, const char *text,
                          struct mxp_smtp_reply *r);
/* EHLO name; on a 5xx reply HELO name and *used_helo = 1 (used_helo may
 * be NULL).  The extensions are the EHLO reply's lines 2..n, whole, also
 * when EHLO went out with mxp_smtp_send and its reply was read
 * ("SIZE 10240000"); has_extension compares their first word without
 * regard to case. */
int mxp_smtp_ehlo(struct mxp_smtp *s, const char *name,
                  struct mxp_smtp_reply *r, int *used_helo);
int mxp_smtp_has_extension(struct mxp_smtp *s, const char *keyword);
size_t mxp_smtp_extensions(struct mxp_smtp *s, const char *const **list);
double mxp_smtp_connect_time(struct mxp_smtp *s);
/* The last failure in words ("" when none); never NULL, NULL s is fine. */
const char *mxp_smtp_error(struct mxp_smtp *s);
/* TLS (ABI 1.3; the contract is plugin.h's smtp_tls_start and its
 * siblings).  tls_start begins the handshake (after STARTTLS's 220, or
 * right after open/open_start for implicit TLS) and returns at once;
 * mxp_smtp_wait reports the session ready once when it finished or
 * failed, and any other call on it first finishes it, bounded by
 * command_timeout from its start and the deadline.  Afterwards every
 * read and write goes through TLS.  A failed handshake breaks the
 * session with OpenSSL's reason in words. */
int mxp_smtp_tls_start(struct mxp_smtp *s, const struct mxp_tls_options *o);
int mxp_smtp_tls_handshake(struct mxp_smtp *s, const struct mxp_tls_options *o,
                           const struct mxp_tls_info **info);
int mxp_smtp_tls_info(struct mxp_smtp *s, const struct mxp_tls_info **info);
/* Waits up to wait seconds (and the deadline) for bytes no command asked
 * for (no reply may be owed): 1 and their printable start in text, 0
 * none, -status when the session failed.  The bytes stay for the next
 * read (which, before a command, refuses them). */
int mxp_smtp_unsolicited(struct mxp_smtp *s, double wait, char *text,
                         size_t len);
/* A bare ClientHello (tls_hello.c builds it, parses the answer) where
 * tls_start could start; the session is spent afterwards. */
int mxp_smtp_tls_hello(struct mxp_smtp *s, int version, const uint16_t *ciphers,
                       size_t n, const char *sni, struct mxp_tls_hello *out);
/* The same in two steps, for several at once: start sends the
 * ClientHello; mxp_smtp_wait reports s ready when the answer is whole or
 * failed (bounded like a reply, by command_timeout from the send);
 * result fills out as mxp_smtp_tls_hello does, waiting for the rest of
 * the answer itself when called before. */
int mxp_smtp_tls_hello_start(struct mxp_smtp *s, int version,
                             const uint16_t *ciphers, size_t n, const char *sni);
int mxp_smtp_tls_hello_result(struct mxp_smtp *s, struct mxp_tls_hello *out);
/* QUIT (if send_quit and the session is healthy, waiting for the reply at
 * most min(2 s, time to the deadline)), then closes and frees.  NULL is
 * fine. */
void mxp_smtp_close(struct mxp_smtp *s, int send_quit);

#endif
