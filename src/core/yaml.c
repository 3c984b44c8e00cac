/*
 * yaml.c - YAML text to a tree of struct mxp_node, on libyaml's events.
 *
 * Exports mxp_yaml_parse*, the node accessors and the typed readers of
 * config.h.  Only the plain YAML a config needs is accepted: one document,
 * no anchors, aliases or tags, scalar keys without duplicates, bounded
 * size and depth.  Every error is one line "name:line:col: message".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"

#define YAML_MAX_BYTES (1024 * 1024)
#define YAML_MAX_DEPTH 32
/* Far above any real config (the DNSBL list is a few thousand nodes), far
 * below what a hostile 1 MiB of "[1,1,1,..." would cost in memory. */
#define YAML_MAX_NODES 200000

/* ---- errors ----------------------------------------------------------- */

static void verr(char *err, size_t errlen, const char *file, int line, int col,
                 const char *fmt, va_list ap)
{
    int off;

    if (err == NULL || errlen == 0)
        return;
    if (line > 0)
        off = snprintf(err, errlen, "%s:%d:%d: ", file, line, col);
    else
        off = snprintf(err, errlen, "%s: ", file);
    if (off < 0 || (size_t)off >= errlen)
        return;
    vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
    /* One line, whatever the name or a quoted value held. */
    for (char *p = err; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static int pos_error(char *err, size_t errlen, const char *file, int line,
                     int col, const char *fmt, ...) MXP_PRINTF(6, 7);
static int pos_error(char *err, size_t errlen, const char *file, int line,
                     int col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verr(err, errlen, file, line, col, fmt, ap);
    va_end(ap);
    return MXP_ERR_CONFIG;
}

int mxp_node_error(const struct mxp_node *n, char *err, size_t errlen,
                   const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verr(err, errlen, n->file, n->line, n->col, fmt, ap);
    va_end(ap);
    return MXP_ERR_CONFIG;
}

const char *mxp_node_where(const struct mxp_node *n, char *buf, size_t len)
{
    if (len > 0)
        snprintf(buf, len, "%s:%d:%d", n->file, n->line, n->col);
    return buf;
}

const char *mxp_pos_where(const struct mxp_pos *p, char *buf, size_t len)
{
    if (len > 0)
        snprintf(buf, len, "%s:%d:%d", p->file, p->line, p->col);
    return buf;
}

/* ---- the tree --------------------------------------------------------- */

void mxp_node_free(struct mxp_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++) {
        mxp_node_free(n->items[i]);
        if (n->keys != NULL)
            free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_pos);
    free(n->str);
    free(n->own_file);
    free(n);
}

const struct mxp_node *mxp_node_get(const struct mxp_node *map, const char *key)
{
    if (map == NULL || map->kind != MXP_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

struct builder {
    const char *name; /* for error positions, owned by the root */
    int col_shift;    /* added to columns of the first line (--set) */
    size_t n_nodes;
    char *err;
    size_t errlen;
};

struct frame {
    struct mxp_node *node; /* a seq or map being filled */
    size_t cap;
    char *key; /* map: the key waiting for its value, or NULL */
    struct mxp_pos key_pos;
};

static int mark_line(const yaml_mark_t *m)
{
    return m->line >= INT_MAX ? INT_MAX : (int)m->line + 1;
}

static int mark_col(const struct builder *b, const yaml_mark_t *m)
{
    int col = m->column >= INT_MAX - 1024 ? INT_MAX - 1024 : (int)m->column + 1;
    return m->line == 0 ? col + b->col_shift : col;
}

static int mark_error(const struct builder *b, const yaml_mark_t *m,
                      const char *msg)
{
    return pos_error(b->err, b->errlen, b->name, mark_line(m), mark_col(b, m),
                     "%s", msg);
}

static int is_null_text(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 &&
            (strncmp(s, "null", 4) == 0 || strncmp(s, "Null", 4) == 0 ||
             strncmp(s, "NULL", 4) == 0));
}

static struct mxp_node *node_new(struct builder *b, enum mxp_node_kind kind,
                                 const yaml_mark_t *m)
{
    struct mxp_node *n;

    if (b->n_nodes >= YAML_MAX_NODES) {
        pos_error(b->err, b->errlen, b->name, mark_line(m), mark_col(b, m),
                  "more than %d values in one file", YAML_MAX_NODES);
        return NULL;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    b->n_nodes++;
    n->kind = kind;
    n->file = b->name;
    n->line = mark_line(m);
    n->col = mark_col(b, m);
    return n;
}

/* Appends to a seq or map; grows by doubling.  Takes ownership of child
 * (and key) only on success. */
static int frame_push_item(struct frame *f, struct mxp_node *child, char *key,
                           const struct mxp_pos *kpos)
{
    struct mxp_node *n = f->node;

    if (n->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        struct mxp_node **items = realloc(n->items, cap * sizeof(*items));

        if (items == NULL)
            return MXP_ERR_NOMEM;
        n->items = items;
        if (n->kind == MXP_NODE_MAP) {
            char **keys = realloc(n->keys, cap * sizeof(*keys));

            if (keys == NULL)
                return MXP_ERR_NOMEM;
            n->keys = keys;
            struct mxp_pos *pos = realloc(n->key_pos, cap * sizeof(*pos));
            if (pos == NULL)
                return MXP_ERR_NOMEM;
            n->key_pos = pos;
        }
        f->cap = cap;
    }
    n->items[n->n] = child;
    if (n->kind == MXP_NODE_MAP) {
        n->keys[n->n] = key;
        n->key_pos[n->n] = *kpos;
    }
    n->n++;
    return MXP_OK;
}

struct key_ref {
    const char *key;
    size_t i;
};

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    if (c != 0)
        return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Sorting keeps this O(n log n) on maps of any size.  Reports the first
 * key, in document order, that repeats an earlier one. */
static int check_duplicates(struct builder *b, const struct mxp_node *map)
{
    struct key_ref *refs;
    size_t dup = SIZE_MAX;

    if (map->n < 2)
        return MXP_OK;
    refs = malloc(map->n * sizeof(*refs));
    if (refs == NULL)
        return MXP_ERR_NOMEM;
    for (size_t i = 0; i < map->n; i++) {
        refs[i].key = map->keys[i];
        refs[i].i = i;
    }
    qsort(refs, map->n, sizeof(*refs), key_ref_cmp);
    for (size_t i = 1; i < map->n; i++)
        if (strcmp(refs[i].key, refs[i - 1].key) == 0 && refs[i].i < dup)
            dup = refs[i].i;
    free(refs);
    if (dup == SIZE_MAX)
        return MXP_OK;
    /* The value printed is the key text; keep it printable and short. */
    char shown[64];
    size_t j = 0;
    for (const char *p = map->keys[dup]; *p != '\0' && j < 60; p++)
        shown[j++] = (unsigned char)*p < 0x20 ? '?' : *p;
    shown[j] = '\0';
    return pos_error(b->err, b->errlen, map->key_pos[dup].file,
                     map->key_pos[dup].line, map->key_pos[dup].col,
                     "duplicate key '%s'", shown);
}

/* Converts libyaml's reader offset (bytes) into a line and column. */
static void offset_to_pos(const char *text, size_t len, size_t off, int *line,
                          int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            (*col)++;
        }
    }
}

static int parser_error(struct builder *b, const yaml_parser_t *p,
                        const char *text, size_t len)
{
    int line, col;

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        pos_error(b->err, b->errlen, b->name, 0, 0, "out of memory");
        return MXP_ERR_NOMEM;
    case YAML_READER_ERROR:
        offset_to_pos(text, len, p->problem_offset, &line, &col);
        if (line == 1)
            col += b->col_shift;
        return pos_error(b->err, b->errlen, b->name, line, col, "%s",
                         p->problem ? p->problem : "cannot read input");
    default:
        break;
    }
    line = mark_line(&p->problem_mark);
    col = mark_col(b, &p->problem_mark);
    if (p->context != NULL)
        return pos_error(b->err, b->errlen, b->name, line, col,
                         "%s (%s at line %d)",
                         p->problem ? p->problem : "syntax error", p->context,
                         mark_line(&p->context_mark));
    return pos_error(b->err, b->errlen, b->name, line, col, "%s",
                     p->problem ? p->problem : "syntax error");
}

/* A node was completed (a scalar) or opened (a seq or map): hang it in
 * the tree.  Ownership of n passes only on success. */
static int attach(struct builder *b, struct frame *stack, size_t depth,
                  struct mxp_node **root, struct mxp_node *n,
                  const yaml_mark_t *m)
{
    struct frame *top;
    int rc;

    /* Keys keep "~" or "null" as written (attach below); as a value a
     * null reads as "". */
    if (n->is_null &&
        (depth == 0 || stack[depth - 1].node->kind == MXP_NODE_SEQ ||
         stack[depth - 1].key != NULL))
        n->str[0] = '\0';
    if (depth == 0) {
        *root = n;
        return MXP_OK;
    }
    top = &stack[depth - 1];
    if (top->node->kind == MXP_NODE_SEQ)
        return frame_push_item(top, n, NULL, NULL);
    if (top->key == NULL) {
        if (n->kind != MXP_NODE_SCALAR)
            return mark_error(b, m, "mapping keys must be scalars");
        /* A key: keep its text (as written, nulls included) and where it
         * is; the node itself is not kept. */
        top->key = n->str;
        top->key_pos.file = n->file;
        top->key_pos.line = n->line;
        top->key_pos.col = n->col;
        n->str = NULL;
        mxp_node_free(n);
        return MXP_OK;
    }
    rc = frame_push_item(top, n, top->key, &top->key_pos);
    if (rc == MXP_OK)
        top->key = NULL;
    return rc;
}

static int scalar_node(struct builder *b, const yaml_event_t *ev,
                       struct mxp_node **out)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    struct mxp_node *n;

    if (memchr(v, '\0', len) != NULL)
        return mark_error(b, &ev->start_mark, "NUL byte in a value");
    n = node_new(b, MXP_NODE_SCALAR, &ev->start_mark);
    if (n == NULL)
        return b->n_nodes >= YAML_MAX_NODES ? MXP_ERR_CONFIG : MXP_ERR_NOMEM;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    n->is_null = n->plain && is_null_text(v, len);
    n->str = malloc(len + 1);
    if (n->str == NULL) {
        mxp_node_free(n);
        return MXP_ERR_NOMEM;
    }
    memcpy(n->str, v, len);
    n->str[len] = '\0';
    *out = n;
    return MXP_OK;
}

static int parse_events(struct builder *b, yaml_parser_t *p, const char *text,
                        size_t len, struct mxp_node **root)
{
    struct frame stack[YAML_MAX_DEPTH];
    size_t depth = 0;
    int docs = 0, done = 0, rc = MXP_OK;
    yaml_event_t ev;

    while (!done) {
        struct mxp_node *n = NULL;
        enum mxp_node_kind kind = MXP_NODE_SEQ;

        if (!yaml_parser_parse(p, &ev)) {
            rc = parser_error(b, p, text, len);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = mark_error(b, &ev.start_mark,
                                "multiple documents are not supported");
            break;
        case YAML_ALIAS_EVENT:
            rc = mark_error(b, &ev.start_mark,
                            "anchors and aliases are not supported");
            break;
        case YAML_SCALAR_EVENT:
            if (ev.data.scalar.anchor != NULL) {
                rc = mark_error(b, &ev.start_mark,
                                "anchors and aliases are not supported");
                break;
            }
            if (ev.data.scalar.tag != NULL) {
                rc = mark_error(b, &ev.start_mark, "tags are not supported");
                break;
            }
            rc = scalar_node(b, &ev, &n);
            if (rc == MXP_OK) {
                rc = attach(b, stack, depth, root, n, &ev.start_mark);
                if (rc != MXP_OK)
                    mxp_node_free(n);
            }
            break;
        case YAML_MAPPING_START_EVENT:
            kind = MXP_NODE_MAP;
            /* fall through */
        case YAML_SEQUENCE_START_EVENT: {
            /* anchor and tag sit at the same place in both union arms,
             * but read each through its own. */
            const yaml_char_t *anchor = kind == MXP_NODE_MAP
                                            ? ev.data.mapping_start.anchor
                                            : ev.data.sequence_start.anchor;
            const yaml_char_t *tag = kind == MXP_NODE_MAP
                                         ? ev.data.mapping_start.tag
                                         : ev.data.sequence_start.tag;
            if (anchor != NULL) {
                rc = mark_error(b, &ev.start_mark,
                                "anchors and aliases are not supported");
                break;
            }
            if (tag != NULL) {
                rc = mark_error(b, &ev.start_mark, "tags are not supported");
                break;
            }
            if (depth >= YAML_MAX_DEPTH) {
                rc = pos_error(b->err, b->errlen, b->name,
                               mark_line(&ev.start_mark),
                               mark_col(b, &ev.start_mark),
                               "nesting deeper than %d levels", YAML_MAX_DEPTH);
                break;
            }
            n = node_new(b, kind, &ev.start_mark);
            if (n == NULL) {
                rc = b->n_nodes >= YAML_MAX_NODES ? MXP_ERR_CONFIG
                                                  : MXP_ERR_NOMEM;
                break;
            }
            rc = attach(b, stack, depth, root, n, &ev.start_mark);
            if (rc != MXP_OK) {
                mxp_node_free(n);
                break;
            }
            stack[depth].node = n;
            stack[depth].cap = 0;
            stack[depth].key = NULL;
            depth++;
            break;
        }
        case YAML_MAPPING_END_EVENT:
            rc = check_duplicates(b, stack[depth - 1].node);
            depth--;
            break;
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        default: /* stream start, document end: nothing to keep */
            break;
        }
        yaml_event_delete(&ev);
        if (rc != MXP_OK)
            break;
    }
    /* On error a map may hold a key still waiting for its value. */
    for (size_t i = 0; i < depth; i++)
        free(stack[i].key);
    return rc;
}

static int parse(const char *name, const char *text, size_t len, int col_shift,
                 int value_mode, struct mxp_node **out, char *err,
                 size_t errlen)
{
    struct builder b = {.col_shift = col_shift, .err = err, .errlen = errlen};
    struct mxp_node *root = NULL;
    char *own;
    yaml_parser_t p;
    int rc;

    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (len > YAML_MAX_BYTES)
        return pos_error(err, errlen, name, 0, 0,
                         "larger than %d bytes, refused", YAML_MAX_BYTES);
    own = strdup(name);
    if (own == NULL)
        return MXP_ERR_NOMEM;
    b.name = own;
    if (!yaml_parser_initialize(&p)) {
        free(own);
        return MXP_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    rc = parse_events(&b, &p, text, len, &root);
    yaml_parser_delete(&p);
    if (rc != MXP_OK)
        goto done;

    if (root == NULL ||
        (!value_mode && root->kind == MXP_NODE_SCALAR && root->is_null)) {
        /* Nothing at all (or a lone "---"): an empty map for a file, a
         * null for a --set value. */
        yaml_mark_t start = {0, 0, 0};
        mxp_node_free(root);
        root =
            node_new(&b, value_mode ? MXP_NODE_SCALAR : MXP_NODE_MAP, &start);
        if (root == NULL) {
            rc = MXP_ERR_NOMEM;
            goto done;
        }
        if (value_mode) {
            root->str = strdup("");
            if (root->str == NULL) {
                rc = MXP_ERR_NOMEM;
                goto done;
            }
            root->plain = root->is_null = 1;
        }
    }
    root->own_file = own;
    own = NULL;
    *out = root;
    root = NULL;
done:
    if (rc == MXP_ERR_NOMEM)
        pos_error(err, errlen, name, 0, 0, "out of memory");
    mxp_node_free(root);
    free(own);
    return rc;
}

int mxp_yaml_parse(const char *name, const char *text, size_t len,
                   struct mxp_node **out, char *err, size_t errlen)
{
    return parse(name, text, len, 0, 0, out, err, errlen);
}

int mxp_yaml_parse_value(const char *name, const char *text, size_t len,
                         int col_shift, struct mxp_node **out, char *err,
                         size_t errlen)
{
    return parse(name, text, len, col_shift, 1, out, err, errlen);
}

int mxp_yaml_parse_file(const char *path, struct mxp_node **out, char *err,
                        size_t errlen)
{
    char *text = NULL;
    size_t len = 0, cap = 64 * 1024;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        pos_error(err, errlen, path, 0, 0, "%s", strerror(errno));
        return MXP_ERR_IO;
    }
    /* Read at most one byte over the limit: enough to know it is too big
     * without trusting st_size (pipes, /proc, a file still growing). */
    for (;;) {
        if (len == cap || text == NULL) {
            char *t;

            if (text != NULL)
                cap =
                    cap * 2 > YAML_MAX_BYTES + 1 ? YAML_MAX_BYTES + 1 : cap * 2;
            t = realloc(text, cap);
            if (t == NULL) {
                rc = MXP_ERR_NOMEM;
                pos_error(err, errlen, path, 0, 0, "out of memory");
                goto done;
            }
            text = t;
        }
        ssize_t r = read(fd, text + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = MXP_ERR_IO;
            pos_error(err, errlen, path, 0, 0, "%s", strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > YAML_MAX_BYTES) {
            rc = pos_error(err, errlen, path, 0, 0,
                           "larger than %d bytes, refused", YAML_MAX_BYTES);
            goto done;
        }
    }
    rc = mxp_yaml_parse(path, text, len, out, err, errlen);
done:
    close(fd);
    free(text);
    return rc;
}

/* ---- typed readers ---------------------------------------------------- */

/* What the operator wrote, for "got ..." in messages: quoted, printable,
 * cut short. */
static const char *describe(const struct mxp_node *n, char *buf, size_t len)
{
    size_t j = 0;

    if (n->kind == MXP_NODE_SEQ)
        return "a list";
    if (n->kind == MXP_NODE_MAP)
        return "a mapping";
    if (n->is_null)
        return "nothing";
    if (len < 8)
        return "?";
    buf[j++] = '\'';
    for (const char *p = n->str; *p != '\0'; p++) {
        if (j + 5 >= len) {
            memcpy(buf + j, "...", 3);
            j += 3;
            break;
        }
        buf[j++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    }
    buf[j++] = '\'';
    buf[j] = '\0';
    return buf;
}

int mxp_node_to_bool(const struct mxp_node *n, const char *what, int *out,
                     char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    char shown[64];

    if (n->kind == MXP_NODE_SCALAR && n->plain) {
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(n->str, yes[i]) == 0) {
                *out = 1;
                return MXP_OK;
            }
            if (strcasecmp(n->str, no[i]) == 0) {
                *out = 0;
                return MXP_OK;
            }
        }
    }
    return mxp_node_error(n, err, errlen, "%s: expected true or false, got %s",
                          what, describe(n, shown, sizeof(shown)));
}

/* Decimal numbers only: strtod alone would also take "nan", "inf", hex
 * and leading blanks. */
static int parse_number(const char *s, double *out)
{
    const char *p = s;
    char *end;
    int digits = 0;

    if (*p == '+' || *p == '-')
        p++;
    for (; isdigit((unsigned char)*p); p++)
        digits++;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            digits++;
    if (digits == 0)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p != '\0')
        return -1;
    errno = 0;
    *out = strtod(s, &end);
    if (errno == ERANGE || !isfinite(*out))
        return -1;
    return 0;
}

int mxp_node_to_double(const struct mxp_node *n, const char *what, double min,
                       double max, double *out, char *err, size_t errlen)
{
    char shown[64];
    double v;

    if (n->kind != MXP_NODE_SCALAR || n->is_null ||
        parse_number(n->str, &v) != 0 || v < min || v > max)
        return mxp_node_error(
            n, err, errlen, "%s: expected a number from %g to %g, got %s", what,
            min, max, describe(n, shown, sizeof(shown)));
    *out = v;
    return MXP_OK;
}

int mxp_node_to_long(const struct mxp_node *n, const char *what, long min,
                     long max, long *out, char *err, size_t errlen)
{
    char shown[64];
    const char *p;
    char *end;
    long v = 0;

    if (n->kind != MXP_NODE_SCALAR || n->is_null)
        goto bad;
    p = n->str;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        goto bad;
    errno = 0;
    v = strtol(n->str, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        goto bad;
    *out = v;
    return MXP_OK;
bad:
    return mxp_node_error(n, err, errlen,
                          "%s: expected an integer from %ld to %ld, got %s",
                          what, min, max, describe(n, shown, sizeof(shown)));
}

void mxp_string_list_free(char **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

int mxp_node_to_string_list(const struct mxp_node *n, const char *what,
                            char ***out, size_t *n_out, char *err,
                            size_t errlen)
{
    const struct mxp_node *const *items = (const struct mxp_node *const *)&n;
    size_t count = 1;
    char **list;
    char shown[64];

    *out = NULL;
    *n_out = 0;
    if (n->kind == MXP_NODE_MAP)
        return mxp_node_error(n, err, errlen,
                              "%s: expected a list of strings, got %s", what,
                              describe(n, shown, sizeof(shown)));
    if (n->kind == MXP_NODE_SCALAR && n->is_null)
        count = 0;
    if (n->kind == MXP_NODE_SEQ) {
        items = (const struct mxp_node *const *)n->items;
        count = n->n;
    }
    for (size_t i = 0; i < count; i++)
        if (items[i]->kind != MXP_NODE_SCALAR || items[i]->is_null)
            return mxp_node_error(items[i], err, errlen,
                                  "%s: expected a string, got %s", what,
                                  describe(items[i], shown, sizeof(shown)));
    /* One more slot than needed, so an empty list is still non-NULL. */
    list = calloc(count + 1, sizeof(*list));
    if (list == NULL)
        return MXP_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        list[i] = strdup(items[i]->str);
        if (list[i] == NULL) {
            mxp_string_list_free(list, i);
            return MXP_ERR_NOMEM;
        }
    }
    *out = list;
    *n_out = count;
    return MXP_OK;
}
