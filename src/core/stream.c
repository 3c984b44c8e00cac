/*
 * stream.c - the output of many targets as they finish (stream.h).
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "status.h"

/* A text report that finished before one ahead of it. */
struct held {
    size_t seq;
    char *text;
};

struct mxp_stream {
    struct mxp_stream_settings set;
    int status;
    size_t added;
    size_t count[4];
    enum mxp_state state;
    /* text */
    size_t next; /* the seq to print next */
    struct held *held;
    size_t n_held, cap_held;
    int shown;    /* the progress line is on the screen */
    double drawn; /* when it was drawn */
    size_t known, running;
    /* nagios: items by seq */
    struct mxp_nagios_item **items;
    size_t cap_items;
    /* openmetrics */
    struct mxp_out fam[MXP_OM_FAMILIES];
};

struct mxp_stream *mxp_stream_new(const struct mxp_stream_settings *set)
{
    struct mxp_stream *s = calloc(1, sizeof(*s));
    size_t i;

    if (s == NULL)
        return NULL;
    s->set = *set;
    s->state = MXP_STATE_OK;
    for (i = 0; i < MXP_OM_FAMILIES; i++)
        mxp_out_init(&s->fam[i]);
    return s;
}

static void keep_error(struct mxp_stream *s, int rc)
{
    if (rc != MXP_OK && s->status == MXP_OK)
        s->status = rc;
}

static void clear_progress(struct mxp_stream *s)
{
    if (s->shown) {
        fputs("\r\033[K", s->set.err);
        fflush(s->set.err);
        s->shown = 0;
    }
}

static void draw_progress(struct mxp_stream *s)
{
    size_t known = s->known > s->added ? s->known : s->added;
    /* Redrawn after a report went out, the count of runs may be stale. */
    size_t running =
        s->running < known - s->added ? s->running : known - s->added;

    fprintf(s->set.err, "\rmxprobe: %zu of %zu targets done, %zu running\033[K",
            s->added, known, running);
    fflush(s->set.err);
    s->shown = 1;
    s->drawn = mxp_now();
}

void mxp_stream_progress(struct mxp_stream *s, size_t known, size_t running)
{
    s->known = known;
    s->running = running;
    /* One target needs no progress line: its report says it all. */
    if (s->set.progress && known > 1 && mxp_now() - s->drawn >= 0.1)
        draw_progress(s);
}

/* Writes text out now, the progress line moved out of its way. */
static void emit(struct mxp_stream *s, const char *text, size_t len)
{
    int had = s->shown;

    clear_progress(s);
    if (len > 0 && fwrite(text, 1, len, s->set.out) != len)
        keep_error(s, MXP_ERR_IO);
    if (fflush(s->set.out) != 0)
        keep_error(s, MXP_ERR_IO);
    if (had)
        draw_progress(s);
}

static void text_add(struct mxp_stream *s, size_t seq,
                     const struct mxp_target_report *t)
{
    struct mxp_out o;
    size_t i;

    mxp_out_init(&o);
    /* A blank line between targets, as mxp_output_text does. */
    if (seq > 0)
        mxp_out_puts(&o, "\n");
    mxp_text_target(&o, t, s->set.verbosity, s->set.color, s->set.plugin_col);
    if (o.status != MXP_OK || o.buf.data == NULL) {
        keep_error(s, o.status != MXP_OK ? o.status : MXP_ERR_NOMEM);
        mxp_buf_free(&o.buf);
        return;
    }
    if (seq == s->next) {
        emit(s, o.buf.data, o.buf.len);
        mxp_buf_free(&o.buf);
        s->next++;
    } else {
        if (s->n_held == s->cap_held) {
            size_t cap = s->cap_held ? 2 * s->cap_held : 16;
            struct held *h = realloc(s->held, cap * sizeof(*h));

            if (h == NULL) {
                keep_error(s, MXP_ERR_NOMEM);
                mxp_buf_free(&o.buf);
                return;
            }
            s->held = h;
            s->cap_held = cap;
        }
        s->held[s->n_held].seq = seq;
        s->held[s->n_held++].text = o.buf.data;
    }
    /* What waited for this one.  Few wait (those that finished while an
     * earlier one still ran), so a linear search does. */
    for (i = 0; i < s->n_held;) {
        if (s->held[i].seq != s->next) {
            i++;
            continue;
        }
        emit(s, s->held[i].text, strlen(s->held[i].text));
        free(s->held[i].text);
        s->held[i] = s->held[--s->n_held];
        s->next++;
        i = 0;
    }
}

static void nagios_add(struct mxp_stream *s, size_t seq,
                       const struct mxp_target_report *t)
{
    struct mxp_nagios_item *it;

    if (seq >= s->cap_items) {
        size_t cap = s->cap_items ? 2 * s->cap_items : 64;
        struct mxp_nagios_item **p;

        while (cap <= seq)
            cap *= 2;
        p = realloc(s->items, cap * sizeof(*p));
        if (p == NULL) {
            keep_error(s, MXP_ERR_NOMEM);
            return;
        }
        memset(p + s->cap_items, 0, (cap - s->cap_items) * sizeof(*p));
        s->items = p;
        s->cap_items = cap;
    }
    it = calloc(1, sizeof(*it));
    if (it == NULL || mxp_nagios_item_make(t, s->set.verbosity, it) != MXP_OK) {
        free(it);
        keep_error(s, MXP_ERR_NOMEM);
        return;
    }
    if (s->items[seq] != NULL) { /* added twice: keep the first */
        mxp_nagios_item_free(it);
        free(it);
        return;
    }
    s->items[seq] = it;
}

int mxp_stream_add(struct mxp_stream *s, size_t seq,
                   const struct mxp_target_report *t)
{
    struct mxp_report one = {(struct mxp_target_report *)t, 1, t->state};

    s->added++;
    s->count[mxp_state_index(t->state)]++;
    s->state = mxp_state_worst(s->state, t->state);
    switch (s->set.format) {
    case MXP_FORMAT_JSON:
        /* One target's output is one line already. */
        clear_progress(s);
        keep_error(s, mxp_output_json(s->set.out, &one, s->set.verbosity));
        if (fflush(s->set.out) != 0)
            keep_error(s, MXP_ERR_IO);
        break;
    case MXP_FORMAT_TEXT:
        text_add(s, seq, t);
        break;
    case MXP_FORMAT_OPENMETRICS:
        mxp_openmetrics_add(s->fam, t);
        break;
    default:
        nagios_add(s, seq, t);
        break;
    }
    return s->status;
}

enum mxp_state mxp_stream_state(const struct mxp_stream *s)
{
    return s->state;
}

static void nagios_finish(struct mxp_stream *s)
{
    const struct mxp_nagios_item **ptrs;
    struct mxp_out o;
    size_t i, n = 0;

    ptrs = calloc(s->cap_items ? s->cap_items : 1, sizeof(*ptrs));
    if (ptrs == NULL) {
        keep_error(s, MXP_ERR_NOMEM);
        return;
    }
    for (i = 0; i < s->cap_items; i++)
        if (s->items[i] != NULL)
            ptrs[n++] = s->items[i];
    mxp_out_init(&o);
    mxp_nagios_render(&o, ptrs, n, s->set.nagios_form, s->state);
    keep_error(s, mxp_out_finish(&o, s->set.out));
    free(ptrs);
}

int mxp_stream_finish(struct mxp_stream *s)
{
    struct mxp_out o;
    size_t i;
    int rc;

    clear_progress(s);
    switch (s->set.format) {
    case MXP_FORMAT_JSON:
        break;
    case MXP_FORMAT_TEXT:
        /* Whatever still waits (a seq never added) goes out in order. */
        while (s->n_held > 0) {
            size_t best = 0;

            for (i = 1; i < s->n_held; i++)
                if (s->held[i].seq < s->held[best].seq)
                    best = i;
            emit(s, s->held[best].text, strlen(s->held[best].text));
            free(s->held[best].text);
            s->held[best] = s->held[--s->n_held];
        }
        if (s->added != 1) {
            mxp_out_init(&o);
            mxp_out_puts(&o, "\n");
            mxp_text_summary(&o, s->added, s->state, s->count, s->set.color);
            keep_error(s, mxp_out_finish(&o, s->set.out));
        }
        break;
    case MXP_FORMAT_OPENMETRICS:
        keep_error(s, mxp_openmetrics_write(s->fam, s->set.out));
        break;
    default:
        nagios_finish(s);
        break;
    }
    if (fflush(s->set.out) != 0)
        keep_error(s, MXP_ERR_IO);
    rc = s->status;
    for (i = 0; i < s->n_held; i++)
        free(s->held[i].text);
    free(s->held);
    for (i = 0; i < s->cap_items; i++) {
        mxp_nagios_item_free(s->items[i]);
        free(s->items[i]);
    }
    free(s->items);
    for (i = 0; i < MXP_OM_FAMILIES; i++)
        mxp_buf_free(&s->fam[i].buf);
    free(s);
    return rc;
}
