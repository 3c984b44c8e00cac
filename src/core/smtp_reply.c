/*
 * smtp_reply.c - incremental SMTP reply parser (see smtp_reply.h).
 *
 * Bytes are fed as they arrive; complete lines are checked and stored as
 * printable copies.  Every cap is checked before memory is spent, so a
 * hostile server can make the parser fail but never grow without bound.
 */
#include "smtp_reply.h"

#include <stdlib.h>
#include <string.h>

#define EXCERPT_MAX 60

void mxp_reply_parser_init(struct mxp_reply_parser *p)
{
    memset(p, 0, sizeof(*p));
    mxp_buf_init(&p->partial);
    p->state = MXP_REPLY_MORE;
}

static void free_lines(struct mxp_reply_parser *p)
{
    size_t i;

    for (i = 0; i < p->n_lines; i++)
        free(p->lines[i]);
    p->n_lines = 0;
}

void mxp_reply_parser_reset(struct mxp_reply_parser *p)
{
    free_lines(p);
    p->code = 0;
    p->enhanced[0] = '\0';
    p->reply_bytes = 0;
    mxp_buf_reset(&p->partial);
    free(p->error_line);
    p->error_line = NULL;
    p->state = MXP_REPLY_MORE;
}

void mxp_reply_parser_free(struct mxp_reply_parser *p)
{
    free_lines(p);
    free(p->lines);
    mxp_buf_free(&p->partial);
    free(p->error_line);
    mxp_reply_parser_init(p);
}

const char *mxp_reply_step_name(enum mxp_reply_step s)
{
    switch (s) {
    case MXP_REPLY_MORE:
        return "more";
    case MXP_REPLY_DONE:
        return "done";
    case MXP_REPLY_MALFORMED:
        return "malformed";
    case MXP_REPLY_LINE_TOO_LONG:
        return "line too long";
    case MXP_REPLY_TOO_MANY_LINES:
        return "too many lines";
    case MXP_REPLY_TOO_BIG:
        return "reply too big";
    }
    return "unknown";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1 to 3 digits at s; returns how many, 0 when none or more than 3. */
static size_t digits_1_3(const char *s)
{
    size_t n = 0;

    while (n < 4 && is_digit(s[n]))
        n++;
    return n >= 1 && n <= 3 ? n : 0;
}

size_t mxp_parse_enhanced_code(const char *text, char out[16])
{
    size_t i = 0, n;

    out[0] = '\0';
    if (text[0] != '2' && text[0] != '4' && text[0] != '5')
        return 0;
    if (text[1] != '.')
        return 0;
    i = 2;
    if ((n = digits_1_3(text + i)) == 0)
        return 0;
    i += n;
    if (text[i] != '.')
        return 0;
    i++;
    if ((n = digits_1_3(text + i)) == 0)
        return 0;
    i += n;
    /* "5.1.1" must stand alone: "5.1.10.3" or "2.0.0ok" is not a code. */
    if (text[i] != '\0' && text[i] != ' ')
        return 0;
    memcpy(out, text, i); /* at most 9 bytes: "5.999.999" */
    out[i] = '\0';
    return i;
}

/* Records a printable excerpt of raw line bytes for error messages. */
static void set_error_line(struct mxp_reply_parser *p, const char *raw,
                           size_t n)
{
    char *s;

    free(p->error_line);
    s = mxp_printable_dup(raw, n > EXCERPT_MAX ? EXCERPT_MAX : n);
    if (s != NULL && n > EXCERPT_MAX)
        memcpy(s + EXCERPT_MAX - 3, "...", 3);
    p->error_line = s; /* NULL on out of memory: messages cope */
}

static enum mxp_reply_step fail(struct mxp_reply_parser *p,
                                enum mxp_reply_step why, const char *raw,
                                size_t n)
{
    set_error_line(p, raw, n);
    p->state = why;
    return why;
}

/* Checks and stores one complete line (raw bytes without the LF).
 * Returns MORE, DONE or an error step; -1 on out of memory. */
static int take_line(struct mxp_reply_parser *p, const char *raw, size_t n,
                     size_t raw_total)
{
    const char *text;
    size_t text_len;
    int code, last;
    char *copy;

    if (n > 0 && raw[n - 1] == '\r')
        n--;
    if (n < 3 || raw[0] < '2' || raw[0] > '5' || !is_digit(raw[1]) ||
        !is_digit(raw[2]) || (n > 3 && raw[3] != ' ' && raw[3] != '-'))
        return fail(p, MXP_REPLY_MALFORMED, raw, n);
    code = (raw[0] - '0') * 100 + (raw[1] - '0') * 10 + (raw[2] - '0');
    if (p->n_lines > 0 && code != p->code)
        return fail(p, MXP_REPLY_MALFORMED, raw, n);
    if (raw_total > MXP_SMTP_MAX_REPLY - p->reply_bytes)
        return fail(p, MXP_REPLY_TOO_BIG, raw, n);
    if (p->n_lines >= MXP_SMTP_MAX_LINES)
        return fail(p, MXP_REPLY_TOO_MANY_LINES, raw, n);
    p->reply_bytes += raw_total;
    last = n == 3 || raw[3] == ' ';
    text = n > 3 ? raw + 4 : raw + n;
    text_len = n > 3 ? n - 4 : 0;

    if (p->n_lines == p->cap_lines) {
        size_t cap = p->cap_lines ? p->cap_lines * 2 : 8;
        char **lines;

        if (cap > MXP_SMTP_MAX_LINES)
            cap = MXP_SMTP_MAX_LINES;
        lines = realloc(p->lines, cap * sizeof(*lines));
        if (lines == NULL)
            return -1;
        p->lines = lines;
        p->cap_lines = cap;
    }
    copy = mxp_printable_dup(text, text_len);
    if (copy == NULL)
        return -1;
    p->lines[p->n_lines++] = copy;
    if (p->n_lines == 1) {
        p->code = code;
        mxp_parse_enhanced_code(copy, p->enhanced);
    }
    if (last) {
        p->state = MXP_REPLY_DONE;
        return MXP_REPLY_DONE;
    }
    return MXP_REPLY_MORE;
}

/* Out of memory is reported as TOO_BIG: the reply could not be held,
 * which is the same outcome for the caller as one over the caps. */
enum mxp_reply_step mxp_reply_parser_feed(struct mxp_reply_parser *p,
                                          const char *data, size_t len,
                                          size_t *consumed)
{
    size_t pos = 0;

    *consumed = 0;
    if (p->state != MXP_REPLY_MORE)
        return p->state;
    while (pos < len) {
        /* Content bytes this line may still take; the +1 leaves room to
         * see its LF.  Searching no further bounds the work per line. */
        size_t room = MXP_SMTP_MAX_LINE - 1 - p->partial.len;
        size_t left = len - pos;
        size_t window = left < room + 1 ? left : room + 1;
        const char *lf = memchr(data + pos, '\n', window);
        size_t take;
        int step;

        if (lf == NULL) {
            if (left > room) {
                /* Show the start of the line, not what is past the cap. */
                size_t more = EXCERPT_MAX + 1 > p->partial.len
                                  ? EXCERPT_MAX + 1 - p->partial.len
                                  : 0;
                if (more > window)
                    more = window;
                (void)mxp_buf_append(&p->partial, data + pos, more);
                *consumed = pos + window;
                return fail(p, MXP_REPLY_LINE_TOO_LONG, p->partial.data,
                            p->partial.len);
            }
            if (mxp_buf_append(&p->partial, data + pos, left) != MXP_OK)
                return fail(p, MXP_REPLY_TOO_BIG, "", 0);
            pos = len;
            break;
        }
        take = (size_t)(lf - (data + pos));
        if (mxp_buf_append(&p->partial, data + pos, take) != MXP_OK)
            return fail(p, MXP_REPLY_TOO_BIG, "", 0);
        pos += take + 1;
        step =
            take_line(p, p->partial.data, p->partial.len, p->partial.len + 1);
        mxp_buf_reset(&p->partial);
        if (step < 0)
            step = fail(p, MXP_REPLY_TOO_BIG, "", 0);
        if (step != MXP_REPLY_MORE) {
            *consumed = pos;
            return (enum mxp_reply_step)step;
        }
    }
    *consumed = pos;
    return MXP_REPLY_MORE;
}

/* Servers say in words what they refuse; the enhanced code, when there
 * is one, says it for the sender only (RFC 3463 X.1.7, X.1.8). */
unsigned mxp_reply_about(int code, const char *text)
{
    /* Postfix's words, and the usual ones of other MTAs, for relaying. */
    static const char *const relaying[] = {
        "relay access denied",    "relaying denied",
        "relay denied",           "relay not permitted",
        "relaying not permitted", "not permitted to relay",
        "relaying not allowed",   "relay not allowed",
        "unable to relay",        "relaying disallowed",
        NULL};
    unsigned about = 0;
    char enh[16];

    if (text == NULL)
        return 0;
    for (size_t i = 0; relaying[i] != NULL; i++)
        if (strcasestr(text, relaying[i]) != NULL)
            about |= MXP_ABOUT_RELAYING;
    if (strcasestr(text, "recipient address rejected") != NULL)
        about |= MXP_ABOUT_RECIPIENT;
    if (strcasestr(text, "sender address rejected") != NULL ||
        (code == 504 && strcasestr(text, "fully-qualified") != NULL))
        about |= MXP_ABOUT_SENDER;
    if (text[0] >= '0' && text[0] <= '9' && strlen(text) >= 3 &&
        (text[3] == ' ' || text[3] == '\0'))
        text += text[3] == ' ' ? 4 : 3; /* the code in front */
    if (mxp_parse_enhanced_code(text, enh) > 0 && enh[0] != '2' &&
        (strcmp(enh + 1, ".1.7") == 0 || strcmp(enh + 1, ".1.8") == 0))
        about |= MXP_ABOUT_SENDER;
    return about;
}
