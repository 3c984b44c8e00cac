/*
 * smtp_reply.h - incremental parser for SMTP replies (RFC 5321 4.2).
 *
 * Bytes from the network are fed in as they arrive; the parser says when a
 * complete reply has been read.  It enforces hard caps on line length,
 * number of lines and total reply size, so an endless "250-" stream or a
 * 1 MiB line ends in an error instead of eating memory.  Lines end in
 * CRLF; a bare LF is accepted (lenient, as real MTAs are).  NUL and other
 * control bytes are kept out of the parsed text (replaced by '?').
 */
#ifndef MXP_SMTP_REPLY_H
#define MXP_SMTP_REPLY_H

#include <stddef.h>

#include "buf.h"
#include "mxprobe/plugin.h"

#define MXP_SMTP_MAX_LINE 2048        /* bytes, incl. CRLF (RFC says 512) */
#define MXP_SMTP_MAX_LINES 128
#define MXP_SMTP_MAX_REPLY (64 * 1024) /* bytes of one reply */

enum mxp_reply_step {
    MXP_REPLY_MORE = 0,   /* need more bytes */
    MXP_REPLY_DONE,       /* a complete reply is in the parser */
    MXP_REPLY_MALFORMED,  /* line without a valid 3-digit code, or codes of
                             a multi-line reply differ */
    MXP_REPLY_LINE_TOO_LONG,
    MXP_REPLY_TOO_MANY_LINES,
    MXP_REPLY_TOO_BIG,
};

struct mxp_reply_parser {
    int code;
    char enhanced[16];
    char **lines; /* printable copies, owned */
    size_t n_lines;
    size_t cap_lines;
    size_t reply_bytes;
    struct mxp_buf partial; /* the current incomplete line */
    char *error_line;       /* printable excerpt of an offending line */
    /* MORE while a reply is being read; once DONE or an error, feed()
     * keeps returning it (consuming nothing) until reset(). */
    enum mxp_reply_step state;
};

void mxp_reply_parser_init(struct mxp_reply_parser *p);
/* Forget the current reply (after DONE or an error) to parse the next. */
void mxp_reply_parser_reset(struct mxp_reply_parser *p);
void mxp_reply_parser_free(struct mxp_reply_parser *p);

/* Feeds len bytes; *consumed says how many were used (a reply may end in
 * the middle of the data: the rest belongs to the next reply).  On
 * MXP_REPLY_DONE the reply is in p (code, enhanced, lines).  Codes are
 * three digits, the first 2..5; the last line is "NNN text", "NNN " or a
 * bare "NNN".  On an error, error_line holds at most 60 printable chars
 * of the offending line ("..." marks a cut).  A line over the cap is
 * detected without buffering more than MXP_SMTP_MAX_LINE bytes of it. */
enum mxp_reply_step mxp_reply_parser_feed(struct mxp_reply_parser *p,
                                          const char *data, size_t len,
                                          size_t *consumed);

const char *mxp_reply_step_name(enum mxp_reply_step s);

/* RFC 3463 enhanced status code at the start of text ("5.1.1 ..."):
 * copies it into out (16 bytes) and returns its length, or 0. */
size_t mxp_parse_enhanced_code(const char *text, char out[16]);
/* What a refusal speaks of (bits of enum mxp_reply_about, plugin.h):
 * text is its first line, with or without the "NNN " code in front. */
unsigned mxp_reply_about(int code, const char *text);

#endif
