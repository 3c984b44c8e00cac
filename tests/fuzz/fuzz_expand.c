/*
 * fuzz_expand.c - libFuzzer target for what the expander's parent side
 * and the entry checks read: any bytes on the expander's pipe must end
 * every entry exactly once, in order, with addresses only of the entry
 * being read; any text must parse as a CIDR block within the limits or
 * be refused with a sentence.  The first byte picks which, and the
 * pipe's chunk size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expand.h"
#include "expand_wire.h"
#include "sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
    size_t next; /* the entry that must come */
    size_t ends;
};

static void on_x(void *user, const struct mxp_expansion *x)
{
    struct check *c = user;

    if (x->entry != c->next)
        abort();
    if (x->last) {
        if (x->addr != NULL)
            abort();
        c->next++;
        c->ends++;
    } else if (x->addr == NULL || x->host == NULL ||
               strlen(x->host) > MXP_EXPAND_MAX_HOST) {
        abort();
    }
}

static void stream(const uint8_t *data, size_t size, size_t step)
{
    const struct mxp_entry e[3] = {{MXP_ENTRY_HOST, "a.test", 25},
                                   {MXP_ENTRY_DOMAIN, "b.test", 25},
                                   {MXP_ENTRY_CIDR, "127.0.0.0/30", 25}};
    struct mxp_expander *x;
    struct check c = {0, 0};
    size_t off = 0;
    int p[2];

    if (pipe(p) != 0)
        return;
    if (mxp_expand_attach(e, 3, p[0], -1, &x) != MXP_OK) {
        close(p[0]);
        close(p[1]);
        return;
    }
    while (off < size && mxp_expand_fd(x) >= 0) {
        size_t n = size - off < step ? size - off : step;

        if (write(p[1], data + off, n) != (ssize_t)n)
            abort();
        off += n;
        mxp_expand_read(x, on_x, &c);
    }
    close(p[1]);
    while (!mxp_expand_done(x))
        mxp_expand_read(x, on_x, &c);
    if (c.ends != 3 || mxp_expand_fd(x) != -1)
        abort();
    mxp_expand_free(x);
}

static void cidr(const uint8_t *data, size_t size)
{
    char text[128], err[512];
    struct mxp_cidr c;
    unsigned char b[16];

    if (size >= sizeof(text))
        size = sizeof(text) - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    if (mxp_cidr_parse(text, &c, err, sizeof(err)) != MXP_OK) {
        if (err[0] == '\0')
            abort();
        return;
    }
    if (c.count == 0 || c.count > MXP_CIDR_MAX_ADDRS || c.first > c.last ||
        c.last >= c.count)
        abort();
    /* The last address is still in the block. */
    mxp_cidr_addr(&c, c.last, b);
    if (memcmp(b, c.net, c.prefix / 8) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 0x80)
        cidr(data + 1, size - 1);
    else
        stream(data + 1, size - 1, (size_t)(data[0] % 31) + 1);
    return 0;
}
