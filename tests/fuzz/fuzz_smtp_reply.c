/*
 * fuzz_smtp_reply.c - libFuzzer target: any bytes from an SMTP server,
 * fed in pieces, must give a reply or an error, never a crash, and never
 * more than the caps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mxp_reply_parser p;
    size_t off = 0, step;

    if (size == 0)
        return 0;
    /* The first byte picks the chunk size, as reads split replies
     * anywhere. */
    step = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    mxp_reply_parser_init(&p);
    while (off < size) {
        size_t n = size - off < step ? size - off : step, used = 0;
        enum mxp_reply_step st =
            mxp_reply_parser_feed(&p, (const char *)data + off, n, &used);
        if (used > n)
            abort();
        if (st == MXP_REPLY_DONE) {
            if (p.code < 200 || p.code > 599 ||
                p.n_lines > MXP_SMTP_MAX_LINES)
                abort();
            mxp_reply_parser_reset(&p);
        } else if (st != MXP_REPLY_MORE) {
            mxp_reply_parser_reset(&p);
            used = n; /* a real session gives up here; go on anyway */
        }
        off += used ? used : n;
    }
    mxp_reply_parser_free(&p);
    return 0;
}
