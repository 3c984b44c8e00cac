/*
 * buf.c - growable byte buffers, printf helpers and the job arena
 * (see buf.h).  Every function reports out of memory by its return value.
 */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mxp_buf_init(struct mxp_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void mxp_buf_free(struct mxp_buf *b)
{
    free(b->data);
    mxp_buf_init(b);
}

void mxp_buf_reset(struct mxp_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

int mxp_buf_reserve(struct mxp_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - b->len - 1)
        return MXP_ERR_NOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return MXP_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return MXP_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return MXP_OK;
}

int mxp_buf_append(struct mxp_buf *b, const void *p, size_t n)
{
    int rc = mxp_buf_reserve(b, n);

    if (rc != MXP_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MXP_OK;
}

int mxp_buf_puts(struct mxp_buf *b, const char *s)
{
    return mxp_buf_append(b, s, strlen(s));
}

int mxp_buf_vprintf(struct mxp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n, rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return MXP_ERR_INVALID;
    rc = mxp_buf_reserve(b, (size_t)n);
    if (rc != MXP_OK)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return MXP_OK;
}

int mxp_buf_printf(struct mxp_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = mxp_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void mxp_buf_consume(struct mxp_buf *b, size_t n)
{
    if (n >= b->len) {
        mxp_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *mxp_strdup_vprintf(const char *fmt, va_list ap)
{
    struct mxp_buf b;

    mxp_buf_init(&b);
    if (mxp_buf_vprintf(&b, fmt, ap) != MXP_OK) {
        mxp_buf_free(&b);
        return NULL;
    }
    if (b.data == NULL)
        return calloc(1, 1);
    return b.data;
}

char *mxp_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = mxp_strdup_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

char *mxp_printable_dup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    size_t i;

    if (s == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        s[i] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
    }
    s[n] = '\0';
    return s;
}

/* The arena is a chain of blocks; big requests get a block of their own.
 * Nothing is freed before mxp_arena_free, which suits a job that lives a
 * few seconds and then exits. */
struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct mxp_arena {
    struct arena_block *head;
};

#define ARENA_BLOCK 16384

struct mxp_arena *mxp_arena_new(void)
{
    return calloc(1, sizeof(struct mxp_arena));
}

void *mxp_arena_alloc(struct mxp_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    struct arena_block *blk = a->head;
    size_t cap;
    char *p;

    if (n > SIZE_MAX - align - sizeof(*blk))
        return NULL;
    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    if (blk == NULL || blk->cap - blk->used < n) {
        cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        blk = calloc(1, sizeof(*blk) + cap);
        if (blk == NULL)
            return NULL;
        blk->cap = cap;
        if (a->head != NULL && n > ARENA_BLOCK) {
            /* Keep the current block as head: it still has room. */
            blk->next = a->head->next;
            a->head->next = blk;
        } else {
            blk->next = a->head;
            a->head = blk;
        }
    }
    p = (char *)blk->data + blk->used;
    blk->used += n;
    return p;
}

char *mxp_arena_strndup(struct mxp_arena *a, const char *s, size_t n)
{
    char *p = mxp_arena_alloc(a, n + 1);

    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void mxp_arena_free(struct mxp_arena *a)
{
    struct arena_block *blk, *next;

    if (a == NULL)
        return;
    for (blk = a->head; blk != NULL; blk = next) {
        next = blk->next;
        free(blk);
    }
    free(a);
}
