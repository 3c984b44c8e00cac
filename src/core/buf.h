/*
 * buf.h - length-carrying byte buffers and a job arena.
 *
 * Anything that came from the network lives in a struct mxp_buf, never in
 * a bare C string: a reply line may contain NUL.  The arena owns
 * allocations that must outlive a call (DNS answers handed to plugins) and
 * frees them all at once when the job ends.
 */
#ifndef MXP_BUF_H
#define MXP_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "mxprobe/plugin.h"

struct mxp_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
};

void mxp_buf_init(struct mxp_buf *b);
void mxp_buf_free(struct mxp_buf *b);
void mxp_buf_reset(struct mxp_buf *b); /* len = 0, keeps memory */
int mxp_buf_reserve(struct mxp_buf *b, size_t extra);
int mxp_buf_append(struct mxp_buf *b, const void *p, size_t n);
int mxp_buf_puts(struct mxp_buf *b, const char *s);
int mxp_buf_printf(struct mxp_buf *b, const char *fmt, ...) MXP_PRINTF(2, 3);
int mxp_buf_vprintf(struct mxp_buf *b, const char *fmt, va_list ap);
/* Drops the first n bytes. */
void mxp_buf_consume(struct mxp_buf *b, size_t n);

/* Heap strdup of printf output; NULL on out of memory. */
char *mxp_strdup_printf(const char *fmt, ...) MXP_PRINTF(1, 2);
char *mxp_strdup_vprintf(const char *fmt, va_list ap);

/* Copies n bytes into a NUL-terminated printable string: bytes outside
 * 0x20..0x7e become '?'.  Caller frees. */
char *mxp_printable_dup(const char *p, size_t n);

struct mxp_arena;
struct mxp_arena *mxp_arena_new(void);
void *mxp_arena_alloc(struct mxp_arena *a, size_t n); /* zeroed */
char *mxp_arena_strndup(struct mxp_arena *a, const char *s, size_t n);
void mxp_arena_free(struct mxp_arena *a);

#endif
