/*
 * fuzz_server_hello.c - libFuzzer target: whatever a server answers to a
 * bare ClientHello parses to "more", a ServerHello (version, suite), an
 * alert, or a refusal in words, never a crash or an over-read; and the
 * parser only looks at the start: a verdict on a prefix stands for the
 * whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(enum mxp_tls_parse r, const struct mxp_tls_hello *h)
{
    size_t n = strnlen(h->words, sizeof(h->words));

    if (n == sizeof(h->words))
        abort(); /* not terminated */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h->words[i] < 0x20 ||
            (unsigned char)h->words[i] > 0x7e)
            abort();
    switch (r) {
    case MXP_TLS_PARSE_MORE:
        if (h->accepted || h->alert != -1)
            abort();
        break;
    case MXP_TLS_PARSE_DONE:
        if (n == 0 || (h->accepted != 0) == (h->alert != -1))
            abort();
        if (h->accepted && (h->version >> 8) != 3)
            abort();
        if (h->alert < -1 || h->alert > 255)
            abort();
        break;
    case MXP_TLS_PARSE_BAD:
        if (n == 0 || h->accepted)
            abort();
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mxp_tls_hello whole, half;
    enum mxp_tls_parse rw, rh;
    /* A copy of exactly size bytes, so ASan sees any read past them. */
    unsigned char *buf = malloc(size ? size : 1);

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    rw = mxp_tls_parse_server_hello(buf, size, &whole);
    check(rw, &whole);
    rh = mxp_tls_parse_server_hello(buf, size / 2, &half);
    check(rh, &half);
    if (rh != MXP_TLS_PARSE_MORE &&
        (rh != rw || half.accepted != whole.accepted ||
         half.version != whole.version || half.cipher != whole.cipher ||
         half.alert != whole.alert))
        abort();
    free(buf);
    return 0;
}
