/*
 * fake_core.c - the fake service table of fake_core.h.
 *
 * All state is static and reset by fake_reset(); storage handed to the
 * plugin (DNS records, replies, nodes) lives until then.  Failing to get
 * memory here aborts: this is test scaffolding, not the product.
 */
#include "fake_core.h"
#include "dns.h"
#include "names.h"
#include "psl.h"
#include "report.h"
#include "result.h"
#include "smtp_reply.h"
#include "status.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <strings.h>
#include <sys/socket.h>

#include <yaml.h>

/* The core's node struct is private to it; the fake has its own. */
struct mxp_node {
    enum mxp_node_kind kind;
    char *str;
    size_t n;
    struct mxp_node **items;
    char **keys;
    size_t n_keys;
    const char *file;
    int line, col;
    int plain, is_null; /* scalars: written unquoted; "", "~" or "null" */
};

/* One session per open, so that several can be open at once: each reads
 * the replies queued for it (fake_smtp_current() while the responder
 * answered it). */
struct mxp_smtp {
    char error[256];
    unsigned id;    /* 1, 2, ... in the order opened */
    int open;       /* not closed yet */
    int ehlo_owed;  /* an EHLO went out with smtp_send: its reply sets the
                       extensions, as in the core */
    size_t cursor;  /* script items before this one are not its own */
};

#define FAKE_MAX_SESSIONS 1024

struct fake_dns_entry {
    char *name;
    uint16_t type;
    enum mxp_dns_result result;
    struct mxp_dns_rr *rr;
    size_t n_rr;
    int ad; /* ABI 1.5: dns_authenticated's answer, when ad_set */
    int ad_set;
};

/* ABI 1.5: one scripted HTTPS answer. */
struct fake_https_entry {
    char *url;
    int status; /* MXP_OK: a response; else the failure */
    long http_status;
    char *body;
    size_t len;
    int has_body;
    char *content_type;
    char *location;
    char *words;
};

struct fake_script_item {
    unsigned sid; /* the session it is for; 0: whichever reads next */
    int taken;
    int status; /* MXP_OK: a reply */
    char *error;
    int code;
    double elapsed;
    char **lines;
    size_t n_lines;
};

struct fake_detail {
    enum mxp_state st;
    char *text;
};

#define FAKE_MAX_BATCHES 64
#define FAKE_MAX_PEERS 16

/* ABI 1.4: the other addresses of a run over a whole domain. */
struct fake_peer {
    char addr[64];
    char host[256];
};

static struct {
    struct mxp_ctx ctx, init_ctx;
    struct mxp_target target;
    struct mxp_probe_settings probe;
    char addr[64];
    char plugin_name[64];
    char helo[256];
    char my_email[256];
    char domain[256]; /* the target's domain; "" means NULL */
    char host[256];   /* -H as written; "" means the address */
    int have_target;
    struct fake_peer peer[FAKE_MAX_PEERS];
    struct mxp_target peers[FAKE_MAX_PEERS];
    size_t n_peers;
    double now, remaining;

    struct fake_dns_entry *dns;
    size_t n_dns;
    enum mxp_dns_result dns_default;
    int dns_ad_default; /* ABI 1.5 */
    struct fake_https_entry *https; /* ABI 1.5 */
    size_t n_https;
    char **https_urls; /* asked, in order */
    char **https_cas;
    size_t n_https_asked;
    double https_delay;
    int dns_batch_status;
    double dns_delay;
    size_t dns_open;       /* started batches not collected yet */
    size_t dns_done_calls; /* calls of dns_done */
    int dns_slow;          /* dns_done says "not yet" */
    struct mxp_dns_batch **open_b; /* the started ones, freed at reset */
    size_t n_open_b;
    size_t n_batches;
    size_t batch_size[FAKE_MAX_BATCHES];
    char **asked_names; /* every query name, in order */
    uint16_t *asked_types;
    size_t n_asked;

    int open_status;
    char *open_error;
    double connect_time;
    struct fake_script_item *script;
    size_t n_script, next_script;
    size_t opens, closes;
    int quit_sent;
    char **sent;
    size_t n_sent;
    char **ext;
    size_t n_ext;
    struct mxp_smtp sessions[FAKE_MAX_SESSIONS];
    unsigned n_sessions, open_now, open_peak, cur_sid;
    size_t waits;
    void (*responder)(void *user, const char *line);
    void *responder_user;
    char **messages; /* texts of completed messages */
    size_t n_messages;

    int result_calls;
    enum mxp_state state;
    char *summary;
    struct fake_detail *details;
    size_t n_details;
    struct mxp_perf *perf;
    size_t n_perf;

    char *warn, *crit;

    struct mxp_node *config;
    struct mxp_node **trees; /* everything config_parse made */
    size_t n_trees;
    char **errors;
    size_t n_errors;
} F;

/* ---- small helpers ---------------------------------------------------- */

static void *fake_xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);

    if (p == NULL)
        abort();
    return p;
}

static void *fake_xgrow(void *p, size_t n, size_t size)
{
    p = realloc(p, (n ? n : 1) * size);
    if (p == NULL)
        abort();
    return p;
}

static char *fake_xstrdup(const char *s)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static char *fake_vformat(const char *fmt, va_list ap)
{
    char *s = NULL;

    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    return s;
}

static void fake_push_str(char ***list, size_t *n, char *s)
{
    *list = fake_xgrow(*list, *n + 1, sizeof(**list));
    (*list)[(*n)++] = s;
}

/* Case-insensitive, a trailing dot on either side ignored. */
static int fake_name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

static void fake_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void fake_node_free(struct mxp_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++)
        fake_node_free(n->items[i]);
    free(n->items);
    fake_free_list(n->keys, n->n_keys);
    free(n->str);
    free((char *)n->file);
    free(n);
}

/* ---- clock, log, strerror -------------------------------------------- */

static double fake_now_fn(void)
{
    return F.now;
}

static double fake_remaining_fn(struct mxp_ctx *ctx)
{
    (void)ctx;
    return F.remaining;
}

static void fake_log_fn(struct mxp_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    if (getenv("FAKE_CORE_LOG") == NULL)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "[log %d] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *fake_strerror_fn(int status)
{
    static const char *const words[] = {
        "success",
        "out of memory",
        "invalid argument",
        "timed out",
        "connection failed",
        "connection closed",
        "protocol error",
        "too big",
        "I/O error",
        "DNS error",
        "configuration error",
        "unsupported",
        "plugin error",
    };

    if (status < 0 || (size_t)status >= sizeof words / sizeof words[0])
        return "unknown error";
    return words[status];
}

/* ---- results ---------------------------------------------------------- */

static void fake_set_result_fn(struct mxp_ctx *ctx, enum mxp_state st,
                               const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    va_start(ap, fmt);
    free(F.summary);
    F.summary = fake_vformat(fmt, ap);
    va_end(ap);
    F.state = st;
    F.result_calls++;
}

static void fake_add_detail_fn(struct mxp_ctx *ctx, enum mxp_state st,
                               const char *fmt, ...)
{
    va_list ap;

    (void)ctx;
    F.details = fake_xgrow(F.details, F.n_details + 1, sizeof(*F.details));
    va_start(ap, fmt);
    F.details[F.n_details].text = fake_vformat(fmt, ap);
    va_end(ap);
    F.details[F.n_details++].st = st;
}

static void fake_add_perfdata_fn(struct mxp_ctx *ctx, const struct mxp_perf *p)
{
    struct mxp_perf *d;

    (void)ctx;
    F.perf = fake_xgrow(F.perf, F.n_perf + 1, sizeof(*F.perf));
    d = &F.perf[F.n_perf++];
    *d = *p;
    d->metric = fake_xstrdup(p->metric);
    d->uom = fake_xstrdup(p->uom ? p->uom : "");
    d->warn = fake_xstrdup(p->warn);
    d->crit = fake_xstrdup(p->crit);
}

/* Simplified Monitoring Plugins range: "[@][start:][end]" with "~" for
 * -infinity.  Enough for the tests' ranges; the core has the real one
 * (result.c), tested on its own. */
static int fake_range_alert(const char *range, double v)
{
    double start = 0, end = INFINITY;
    int inside = 0, alert;
    const char *colon;

    if (*range == '@') {
        inside = 1;
        range++;
    }
    colon = strchr(range, ':');
    if (colon != NULL) {
        if (range[0] == '~')
            start = -INFINITY;
        else if (colon != range)
            start = strtod(range, NULL);
        if (colon[1] != '\0')
            end = strtod(colon + 1, NULL);
    } else {
        end = strtod(range, NULL);
    }
    alert = v < start || v > end;
    return inside ? !alert : alert;
}

static enum mxp_state fake_check_threshold_fn(struct mxp_ctx *ctx, double value)
{
    (void)ctx;
    if (F.crit != NULL && fake_range_alert(F.crit, value))
        return MXP_STATE_CRITICAL;
    if (F.warn != NULL && fake_range_alert(F.warn, value))
        return MXP_STATE_WARNING;
    return MXP_STATE_OK;
}

static const char *fake_threshold_text_fn(struct mxp_ctx *ctx, int which)
{
    (void)ctx;
    return which ? F.crit : F.warn;
}

/* ---- config nodes ----------------------------------------------------- */

static const struct mxp_node *fake_config_fn(struct mxp_ctx *ctx)
{
    (void)ctx;
    return F.config;
}

static const struct mxp_node *fake_node_get_fn(const struct mxp_node *map,
                                               const char *key)
{
    if (map == NULL || map->kind != MXP_NODE_MAP || key == NULL)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

static enum mxp_node_kind fake_node_kind_fn(const struct mxp_node *n)
{
    return n != NULL ? n->kind : MXP_NODE_SCALAR;
}

static const char *fake_node_str_fn(const struct mxp_node *n)
{
    return n != NULL && n->kind == MXP_NODE_SCALAR ? n->str : NULL;
}

static int fake_node_unset_fn(const struct mxp_node *n)
{
    return n == NULL || (n->kind == MXP_NODE_SCALAR && n->str[0] == '\0');
}

static size_t fake_node_len_fn(const struct mxp_node *n)
{
    return n != NULL && n->kind != MXP_NODE_SCALAR ? n->n : 0;
}

static const struct mxp_node *fake_node_at_fn(const struct mxp_node *n,
                                              size_t i)
{
    if (n == NULL || n->kind == MXP_NODE_SCALAR || i >= n->n)
        return NULL;
    return n->items[i];
}

static const char *fake_node_key_fn(const struct mxp_node *n, size_t i)
{
    if (n == NULL || n->kind != MXP_NODE_MAP || i >= n->n)
        return NULL;
    return n->keys[i];
}

static void fake_config_error_fn(struct mxp_ctx *ctx, const struct mxp_node *at,
                                 const char *fmt, ...)
{
    va_list ap;
    char *msg, *full = NULL;
    int rc;

    va_start(ap, fmt);
    msg = fake_vformat(fmt, ap);
    va_end(ap);
    if (at != NULL)
        rc = asprintf(&full, "%s:%d:%d: plugins.%s: %s", at->file, at->line,
                      at->col, ctx->plugin_name, msg);
    else
        rc = asprintf(&full, "plugins.%s: %s", ctx->plugin_name, msg);
    if (rc < 0)
        abort();
    free(msg);
    fake_push_str(&F.errors, &F.n_errors, full);
}

/* Attaches child to the open collection on top of the stack: a map takes
 * a scalar key first, then the value. */
static int fake_attach(struct mxp_node *parent, struct mxp_node *child,
                       char *err, size_t errlen)
{
    if (parent->kind == MXP_NODE_MAP && parent->n_keys == parent->n) {
        if (child->kind != MXP_NODE_SCALAR) {
            snprintf(err, errlen, "%d:%d: non-scalar key", child->line,
                     child->col);
            fake_node_free(child);
            return -1;
        }
        fake_push_str(&parent->keys, &parent->n_keys, child->str);
        child->str = NULL;
        fake_node_free(child);
        return 0;
    }
    parent->items =
        fake_xgrow(parent->items, parent->n + 1, sizeof(*parent->items));
    parent->items[parent->n++] = child;
    return 0;
}

static struct mxp_node *fake_new_node(enum mxp_node_kind kind, const char *file,
                                      yaml_mark_t mark)
{
    struct mxp_node *n = fake_xalloc(sizeof(*n));

    n->kind = kind;
    n->file = fake_xstrdup(file);
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

/* As the core: the worst non-OK detail (first of equals) + " (+N more)". */
static int fake_set_result_from_details_fn(struct mxp_ctx *ctx)
{
    size_t worst = 0, n = 0;

    for (size_t i = 0; i < F.n_details; i++) {
        if (F.details[i].st == MXP_STATE_OK)
            continue;
        if (n++ == 0 ||
            mxp_state_worst(F.details[worst].st, F.details[i].st) !=
                F.details[worst].st)
            worst = i;
    }
    if (n == 0)
        return 0;
    if (n > 1)
        fake_services.set_result(ctx, F.details[worst].st, "%s (+%zu more)",
                                 F.details[worst].text, n - 1);
    else
        fake_services.set_result(ctx, F.details[worst].st, "%s",
                                 F.details[worst].text);
    return 1;
}

/* The typed readers, with the core's rules and words (see plugin.h). */
static const char *fake_shown(const struct mxp_node *n, char *buf, size_t len)
{
    if (n->kind != MXP_NODE_SCALAR)
        return n->kind == MXP_NODE_SEQ ? "a list" : "a mapping";
    snprintf(buf, len, "'%.60s'", n->str);
    return buf;
}

static const struct mxp_node *fake_given(const struct mxp_node *map,
                                         const char *key)
{
    const struct mxp_node *n =
        map != NULL ? fake_services.node_get(map, key) : NULL;

    return n != NULL && n->kind == MXP_NODE_SCALAR && n->is_null ? NULL : n;
}

static int fake_config_bool_fn(struct mxp_ctx *ctx, const struct mxp_node *map,
                               const char *key, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    const struct mxp_node *n = fake_given(map, key);
    char buf[80];

    if (n == NULL)
        return MXP_OK;
    for (size_t i = 0; i < 3 && n->kind == MXP_NODE_SCALAR && n->plain; i++) {
        if (strcasecmp(n->str, yes[i]) == 0 || strcasecmp(n->str, no[i]) == 0) {
            *out = strcasecmp(n->str, yes[i]) == 0;
            return MXP_OK;
        }
    }
    fake_config_error_fn(ctx, n, "%s: expected true or false, got %s", key,
                         fake_shown(n, buf, sizeof buf));
    return MXP_ERR_CONFIG;
}

static int fake_config_long_fn(struct mxp_ctx *ctx, const struct mxp_node *map,
                               const char *key, long min, long max, long *out)
{
    const struct mxp_node *n = fake_given(map, key);
    char *end, buf[80];
    long v;

    if (n == NULL)
        return MXP_OK;
    if (n->kind == MXP_NODE_SCALAR && n->str[0] != '\0') {
        errno = 0;
        v = strtol(n->str, &end, 10);
        if (errno == 0 && *end == '\0' && v >= min && v <= max &&
            n->str[0] != ' ') {
            *out = v;
            return MXP_OK;
        }
    }
    fake_config_error_fn(ctx, n,
                         "%s: expected a whole number from %ld to %ld, got %s",
                         key, min, max, fake_shown(n, buf, sizeof buf));
    return MXP_ERR_CONFIG;
}

/* YAML text to a fake node tree on libyaml's events.  An empty document
 * gives an empty map; plain "~"/"null" scalars become "". */
static int fake_yaml_parse(const char *file, const char *text, size_t len,
                           struct mxp_node **out, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct mxp_node *stack[64], *root = NULL;
    size_t depth = 0;
    int done = 0, rc = -1;

    *out = NULL;
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done) {
        struct mxp_node *n = NULL;

        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "%d:%d: %s",
                     (int)parser.problem_mark.line + 1,
                     (int)parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "syntax error");
            goto done;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            int null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                       (strcmp(v, "~") == 0 || strcmp(v, "null") == 0);

            n = fake_new_node(MXP_NODE_SCALAR, file, ev.start_mark);
            n->str = fake_xstrdup(null ? "" : v);
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            n->is_null = n->plain && n->str[0] == '\0';
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
            n = fake_new_node(MXP_NODE_SEQ, file, ev.start_mark);
            break;
        case YAML_MAPPING_START_EVENT:
            n = fake_new_node(MXP_NODE_MAP, file, ev.start_mark);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_ALIAS_EVENT:
            snprintf(err, errlen, "%d:%d: aliases not supported",
                     (int)ev.start_mark.line + 1,
                     (int)ev.start_mark.column + 1);
            yaml_event_delete(&ev);
            goto done;
        default:
            break;
        }
        if (n != NULL) {
            /* fake_attach() frees a map key's node: remember the kind. */
            enum mxp_node_kind kind = n->kind;

            if (depth == 0) {
                if (root != NULL) {
                    fake_node_free(n);
                    snprintf(err, errlen, "more than one document");
                    yaml_event_delete(&ev);
                    goto done;
                }
                root = n;
            } else if (fake_attach(stack[depth - 1], n, err, errlen) != 0) {
                yaml_event_delete(&ev);
                goto done;
            }
            if (kind != MXP_NODE_SCALAR) {
                if (depth == sizeof stack / sizeof stack[0]) {
                    snprintf(err, errlen, "nested too deep");
                    yaml_event_delete(&ev);
                    goto done;
                }
                stack[depth++] = n;
            }
        }
        yaml_event_delete(&ev);
    }
    if (root == NULL) {
        yaml_mark_t m = {0, 0, 0};

        root = fake_new_node(MXP_NODE_MAP, file, m);
    }
    *out = root;
    root = NULL;
    rc = 0;
done:
    fake_node_free(root);
    yaml_parser_delete(&parser);
    return rc;
}

static void fake_keep_tree(struct mxp_node *t)
{
    F.trees = fake_xgrow(F.trees, F.n_trees + 1, sizeof(*F.trees));
    F.trees[F.n_trees++] = t;
}

static int fake_config_parse_fn(struct mxp_ctx *ctx, const char *name,
                                const char *text, size_t len,
                                const struct mxp_node **out)
{
    struct mxp_node *tree;
    char err[256], *msg = NULL;

    (void)ctx;
    *out = NULL;
    if (fake_yaml_parse(name, text, len, &tree, err, sizeof(err)) != 0) {
        if (asprintf(&msg, "%s:%s", name, err) < 0)
            abort();
        fake_push_str(&F.errors, &F.n_errors, msg);
        return MXP_ERR_CONFIG;
    }
    fake_keep_tree(tree);
    *out = tree;
    return MXP_OK;
}

int fake_config_set(const char *yaml)
{
    const struct mxp_node *t;
    int rc;

    F.config = NULL;
    if (yaml == NULL)
        return MXP_OK;
    rc = fake_config_parse_fn(&F.init_ctx, "test.yaml", yaml, strlen(yaml), &t);
    if (rc == MXP_OK)
        F.config = (struct mxp_node *)t;
    return rc;
}

size_t fake_n_config_errors(void)
{
    return F.n_errors;
}

const char *fake_config_error(size_t i)
{
    return i < F.n_errors ? F.errors[i] : NULL;
}

/* ---- DNS -------------------------------------------------------------- */

static struct fake_dns_entry *fake_dns_find(const char *name, uint16_t type)
{
    for (size_t i = 0; i < F.n_dns; i++)
        if (F.dns[i].type == type && fake_name_eq(F.dns[i].name, name))
            return &F.dns[i];
    return NULL;
}

static void fake_dns_entry_clear(struct fake_dns_entry *e)
{
    for (size_t i = 0; i < e->n_rr; i++)
        free((char *)e->rr[i].text);
    free(e->rr);
    free(e->name);
    memset(e, 0, sizeof(*e));
}

static struct fake_dns_entry *fake_dns_slot(const char *name, uint16_t type)
{
    struct fake_dns_entry *e = fake_dns_find(name, type);

    if (e != NULL) {
        fake_dns_entry_clear(e);
    } else {
        F.dns = fake_xgrow(F.dns, F.n_dns + 1, sizeof(*F.dns));
        e = &F.dns[F.n_dns++];
        memset(e, 0, sizeof(*e));
    }
    e->name = fake_xstrdup(name);
    e->type = type;
    return e;
}

static void fake_dns_push_rr(struct fake_dns_entry *e, const char *text,
                             size_t len)
{
    struct mxp_dns_rr *rr;
    char *copy = fake_xalloc(len + 1);

    memcpy(copy, text, len);
    e->rr = fake_xgrow(e->rr, e->n_rr + 1, sizeof(*e->rr));
    rr = &e->rr[e->n_rr++];
    memset(rr, 0, sizeof(*rr));
    rr->type = e->type;
    rr->ttl = 300;
    rr->text = copy;
    rr->text_len = len;
    if (e->type == MXP_DNS_A && inet_pton(AF_INET, copy, rr->addr) != 1)
        abort();
    if (e->type == MXP_DNS_AAAA && inet_pton(AF_INET6, copy, rr->addr) != 1)
        abort();
}

void fake_dns_add(const char *name, uint16_t type, enum mxp_dns_result result,
                  ...)
{
    struct fake_dns_entry *e = fake_dns_slot(name, type);
    const char *text;
    va_list ap;

    e->result = result;
    va_start(ap, result);
    while ((text = va_arg(ap, const char *)) != NULL)
        fake_dns_push_rr(e, text, strlen(text));
    va_end(ap);
}

void fake_dns_add_txt_bytes(const char *name, const char *bytes, size_t len)
{
    struct fake_dns_entry *e = fake_dns_slot(name, MXP_DNS_TXT);

    e->result = MXP_DNS_ANSWER;
    fake_dns_push_rr(e, bytes, len);
}

void fake_dns_default(enum mxp_dns_result result)
{
    F.dns_default = result;
}

void fake_dns_fail_batches(int status)
{
    F.dns_batch_status = status;
}

void fake_set_dns_delay(double seconds)
{
    F.dns_delay = seconds;
}

/* Counts a batch and its questions as asked. */
static void fake_dns_note(const struct mxp_dns_query *q, size_t n)
{
    if (F.n_batches < FAKE_MAX_BATCHES)
        F.batch_size[F.n_batches] = n;
    F.n_batches++;
    for (size_t i = 0; i < n; i++) {
        F.asked_names =
            fake_xgrow(F.asked_names, F.n_asked + 1, sizeof(*F.asked_names));
        F.asked_types =
            fake_xgrow(F.asked_types, F.n_asked + 1, sizeof(*F.asked_types));
        F.asked_names[F.n_asked] = fake_xstrdup(q[i].name);
        F.asked_types[F.n_asked++] = q[i].type;
    }
}

/* Answers q from the table, or fails the batch as told. */
static int fake_dns_answer(struct mxp_dns_query *q, size_t n)
{
    F.now += F.dns_delay;
    if (F.dns_batch_status != MXP_OK)
        return F.dns_batch_status;
    for (size_t i = 0; i < n; i++) {
        struct fake_dns_entry *e = fake_dns_find(q[i].name, q[i].type);

        q[i].elapsed = F.dns_delay;
        if (e == NULL) {
            q[i].result = F.dns_default;
            q[i].rr = NULL;
            q[i].n_rr = 0;
            continue;
        }
        q[i].result = e->result;
        q[i].rr = e->result == MXP_DNS_ANSWER ? e->rr : NULL;
        q[i].n_rr = e->result == MXP_DNS_ANSWER ? e->n_rr : 0;
    }
    return MXP_OK;
}

static int fake_dns_batch_fn(struct mxp_ctx *ctx, struct mxp_dns_query *q,
                             size_t n)
{
    if (ctx->target == NULL)
        return MXP_ERR_INVALID; /* the core refuses network in init() */
    fake_dns_note(q, n);
    return fake_dns_answer(q, n);
}

/* ---- ABI 1.2: asynchronous DNS, generic names ---- */

/* A started batch: answered when collected, so that a plugin reading q
 * before dns_collect sees no answer, as with the real core. */
struct mxp_dns_batch {
    struct mxp_dns_query *q;
    size_t n;
};

static int fake_dns_start_fn(struct mxp_ctx *ctx, struct mxp_dns_query *q,
                             size_t n, struct mxp_dns_batch **out)
{
    struct mxp_dns_batch *b;

    *out = NULL;
    if (ctx->target == NULL)
        return MXP_ERR_INVALID;
    fake_dns_note(q, n);
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        q[i].result = MXP_DNS_FAILED;
        q[i].rr = NULL;
        q[i].n_rr = 0;
    }
    b->q = q;
    b->n = n;
    F.dns_open++;
    F.open_b = fake_xgrow(F.open_b, F.n_open_b + 1, sizeof(*F.open_b));
    F.open_b[F.n_open_b++] = b;
    *out = b;
    return MXP_OK;
}

static int fake_dns_done_fn(struct mxp_ctx *ctx, struct mxp_dns_batch *b)
{
    (void)ctx;
    (void)b;
    F.dns_done_calls++;
    return !F.dns_slow;
}

static int fake_dns_collect_fn(struct mxp_ctx *ctx, struct mxp_dns_batch *b)
{
    int rc;

    (void)ctx;
    if (b == NULL)
        return MXP_OK;
    rc = fake_dns_answer(b->q, b->n);
    F.dns_open--;
    for (size_t i = 0; i < F.n_open_b; i++)
        if (F.open_b[i] == b)
            F.open_b[i] = F.open_b[--F.n_open_b];
    free(b);
    return rc;
}

void fake_dns_set_slow(int slow)
{
    F.dns_slow = slow;
}

size_t fake_dns_open_batches(void)
{
    return F.dns_open;
}

size_t fake_dns_batches(void)
{
    return F.n_batches;
}

size_t fake_dns_queries(void)
{
    return F.n_asked;
}

size_t fake_dns_batch_size(size_t i)
{
    return i < F.n_batches && i < FAKE_MAX_BATCHES ? F.batch_size[i] : 0;
}

size_t fake_dns_asked(const char *name, uint16_t type)
{
    size_t count = 0;

    for (size_t i = 0; i < F.n_asked; i++)
        if ((type == 0 || F.asked_types[i] == type) &&
            fake_name_eq(F.asked_names[i], name))
            count++;
    return count;
}

const char *fake_dns_query_name(size_t batch, size_t j)
{
    size_t start = 0;

    if (batch >= F.n_batches || batch >= FAKE_MAX_BATCHES)
        return NULL;
    for (size_t b = 0; b < batch; b++)
        start += F.batch_size[b];
    return j < F.batch_size[batch] ? F.asked_names[start + j] : NULL;
}

/* ---- SMTP ------------------------------------------------------------- */

void fake_smtp_fail_open(int status, const char *error)
{
    F.open_status = status;
    free(F.open_error);
    F.open_error = fake_xstrdup(error);
}

void fake_smtp_set_connect_time(double seconds)
{
    F.connect_time = seconds;
}

static struct fake_script_item *fake_script_push(void)
{
    struct fake_script_item *it;

    F.script = fake_xgrow(F.script, F.n_script + 1, sizeof(*F.script));
    it = &F.script[F.n_script++];
    memset(it, 0, sizeof(*it));
    it->sid = F.responder != NULL ? F.cur_sid : 0;
    return it;
}

void fake_smtp_reply(int code, double elapsed, const char *text)
{
    struct fake_script_item *it = fake_script_push();
    const char *p = text;

    it->code = code;
    it->elapsed = elapsed;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = fake_xalloc(len + 1);

        memcpy(line, p, len);
        fake_push_str(&it->lines, &it->n_lines, line);
        if (nl == NULL)
            break;
        p = nl + 1;
    }
}

void fake_smtp_fail(int status, const char *error)
{
    struct fake_script_item *it = fake_script_push();

    it->status = status;
    it->error = fake_xstrdup(error);
}

static int fake_smtp_open_fn(struct mxp_ctx *ctx, const char *addr,
                             unsigned port, struct mxp_smtp **out)
{
    struct mxp_smtp *s;

    (void)addr;
    (void)port;
    *out = NULL;
    if (ctx->target == NULL)
        return MXP_ERR_INVALID;
    if (F.n_sessions == FAKE_MAX_SESSIONS)
        abort();
    F.opens++;
    s = &F.sessions[F.n_sessions++];
    memset(s, 0, sizeof(*s));
    s->id = F.n_sessions;
    s->open = 1;
    s->cursor = F.n_script; /* nothing queued before it is its own */
    if (F.responder == NULL)
        s->cursor = F.next_script;
    F.open_now++;
    if (F.open_now > F.open_peak)
        F.open_peak = F.open_now;
    snprintf(s->error, sizeof(s->error), "%s",
             F.open_error ? F.open_error : "");
    *out = s;
    if (F.responder != NULL && F.open_status == MXP_OK) {
        F.cur_sid = s->id;
        F.responder(F.responder_user, NULL);
    }
    return F.open_status;
}

/* The first item s may read, or NULL. */
static struct fake_script_item *fake_item_for(struct mxp_smtp *s)
{
    for (size_t i = s->cursor; i < F.n_script; i++) {
        struct fake_script_item *it = &F.script[i];

        if (!it->taken && (it->sid == 0 || it->sid == s->id))
            return it;
    }
    return NULL;
}

static void fake_set_ext(const struct mxp_smtp_reply *r)
{
    fake_free_list(F.ext, F.n_ext);
    F.ext = NULL;
    F.n_ext = 0;
    if (r->code / 100 == 2)
        for (size_t i = 1; i < r->n_lines; i++)
            fake_push_str(&F.ext, &F.n_ext, fake_xstrdup(r->lines[i]));
}

/* ABI 1.3: TLS hooks (defined in that block below). */
static int fake_tls_refuses(struct mxp_smtp *s);
static int fake_tls_ready(struct mxp_smtp *const *ss, size_t n, size_t *ready);

static int fake_smtp_next(struct mxp_smtp *s, struct mxp_smtp_reply *r)
{
    struct fake_script_item *it = fake_item_for(s);
    int ehlo = s->ehlo_owed;
    int broken;

    memset(r, 0, sizeof(*r));
    if ((broken = fake_tls_refuses(s)) != MXP_OK)
        return broken;
    s->ehlo_owed = 0;
    if (it == NULL) {
        snprintf(s->error, sizeof(s->error),
                 "no reply within 20.0 s (fake script ended)");
        return MXP_ERR_TIMEOUT;
    }
    it->taken = 1;
    while (F.next_script < F.n_script && F.script[F.next_script].taken)
        F.next_script++;
    if (it->status != MXP_OK) {
        snprintf(s->error, sizeof(s->error), "%s", it->error);
        return it->status;
    }
    r->code = it->code;
    r->n_lines = it->n_lines;
    r->lines = (const char *const *)it->lines;
    r->elapsed = it->elapsed;
    if (ehlo)
        fake_set_ext(r);
    return MXP_OK;
}

/* The session whose next reply was queued first (the one a real server
 * would have answered first); one with nothing queued times out when
 * read, as in the core. */
static int fake_smtp_wait_fn(struct mxp_smtp *const *ss, size_t n,
                             size_t *ready)
{
    size_t best = n, best_at = (size_t)-1;

    F.waits++;
    if (ready == NULL || ss == NULL || n == 0)
        return MXP_ERR_INVALID;
    if (fake_tls_ready(ss, n, ready))
        return MXP_OK;
    for (size_t i = 0; i < n; i++) {
        struct fake_script_item *it;

        if (ss[i] == NULL)
            continue;
        if (best == n)
            best = i;
        it = fake_item_for(ss[i]);
        if (it != NULL && (size_t)(it - F.script) < best_at) {
            best = i;
            best_at = (size_t)(it - F.script);
        }
    }
    *ready = best;
    return best == n ? MXP_ERR_INVALID : MXP_OK;
}

/* As smtp_wait; when no session has a reply queued and until is set,
 * the clock goes to until and the wait times out (a real wait would). */
static int fake_smtp_wait_until_fn(struct mxp_smtp *const *ss, size_t n,
                                   size_t *ready, double until)
{
    int any = 0;

    for (size_t i = 0; ss != NULL && i < n; i++)
        any |= ss[i] != NULL && fake_item_for(ss[i]) != NULL;
    for (size_t i = 0; ss != NULL && i < n; i++)
        any |= fake_tls_ready(ss + i, 1, NULL) == -1; /* a peek */
    if (!any && until > 0 && ss != NULL && ready != NULL && n > 0) {
        F.waits++;
        if (F.now < until)
            F.now = until;
        *ready = n;
        return MXP_ERR_TIMEOUT;
    }
    return fake_smtp_wait_fn(ss, n, ready);
}

unsigned fake_smtp_current(void)
{
    return F.cur_sid;
}

unsigned fake_smtp_session_id(const struct mxp_smtp *s)
{
    return s != NULL ? s->id : 0;
}

unsigned fake_smtp_open_peak(void)
{
    return F.open_peak;
}

unsigned fake_smtp_open_now(void)
{
    return F.open_now;
}

size_t fake_smtp_waits(void)
{
    return F.waits;
}

static int fake_smtp_read_reply_fn(struct mxp_smtp *s, struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply dummy;

    return fake_smtp_next(s, r ? r : &dummy);
}

static void fake_sent(struct mxp_smtp *s, const char *verb, const char *arg)
{
    char *line = NULL;

    if (s != NULL)
        F.cur_sid = s->id;

    if (asprintf(&line, "%s%s%s", verb, arg ? " " : "", arg ? arg : "") < 0)
        abort();
    fake_push_str(&F.sent, &F.n_sent, line);
    if (F.responder != NULL)
        F.responder(F.responder_user, line);
}

static int fake_smtp_send_fn(struct mxp_smtp *s, const char *line)
{
    if (strncasecmp(line, "EHLO ", 5) == 0)
        s->ehlo_owed = 1;
    fake_sent(s, line, NULL);
    return MXP_OK;
}

/* Like the core, only the operator's own mail may complete; the fake
 * checks the mailbox is set (the transaction rule is the core's, tested
 * in test_smtp_session). */
static int fake_smtp_send_message_fn(struct mxp_smtp *s, const char *text,
                                     struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply dummy;

    if (r == NULL)
        r = &dummy;
    memset(r, 0, sizeof(*r));
    if (F.my_email[0] == '\0') {
        snprintf(s->error, sizeof(s->error),
                 "refusing to complete a message: probe.my_email is not set");
        return MXP_ERR_INVALID;
    }
    fake_push_str(&F.messages, &F.n_messages, fake_xstrdup(text));
    fake_sent(s, ".", NULL);
    return fake_smtp_next(s, r);
}

void fake_smtp_set_responder(void (*fn)(void *user, const char *line),
                             void *user)
{
    F.responder = fn;
    F.responder_user = user;
}

size_t fake_smtp_n_messages(void)
{
    return F.n_messages;
}

const char *fake_smtp_message(size_t i)
{
    return i < F.n_messages ? F.messages[i] : NULL;
}

void fake_set_domain(const char *domain)
{
    snprintf(F.domain, sizeof(F.domain), "%s", domain ? domain : "");
}

void fake_set_host(const char *host)
{
    snprintf(F.host, sizeof(F.host), "%s", host ? host : "");
}

static void fake_fix_ctx(void);

void fake_add_peer(const char *host, const char *addr, unsigned port)
{
    struct mxp_target *t;
    unsigned char bytes[16] = {0};

    if (F.n_peers == FAKE_MAX_PEERS)
        abort();
    t = &F.peers[F.n_peers];
    memset(t, 0, sizeof(*t));
    if (inet_pton(AF_INET, addr, bytes) == 1)
        t->family = AF_INET;
    else if (inet_pton(AF_INET6, addr, bytes) == 1)
        t->family = AF_INET6;
    else
        abort();
    memcpy(t->addr_bytes, bytes, sizeof(bytes));
    t->port = port;
    snprintf(F.peer[F.n_peers].addr, sizeof(F.peer[0].addr), "%s", addr);
    snprintf(F.peer[F.n_peers].host, sizeof(F.peer[0].host), "%s", host);
    F.n_peers++;
    fake_fix_ctx();
}

void fake_set_my_email(const char *addr)
{
    snprintf(F.my_email, sizeof(F.my_email), "%s", addr);
}

static int fake_smtp_command_fn(struct mxp_smtp *s, const char *line,
                                struct mxp_smtp_reply *r)
{
    struct mxp_smtp_reply dummy;

    fake_sent(s, line, NULL);
    return fake_smtp_next(s, r ? r : &dummy);
}

static int fake_smtp_ehlo_fn(struct mxp_smtp *s, const char *name,
                             struct mxp_smtp_reply *r, int *used_helo)
{
    struct mxp_smtp_reply dummy;
    int rc;

    if (r == NULL)
        r = &dummy;
    if (used_helo != NULL)
        *used_helo = 0;
    fake_free_list(F.ext, F.n_ext);
    F.ext = NULL;
    F.n_ext = 0;
    fake_sent(s, "EHLO", name);
    rc = fake_smtp_next(s, r);
    if (rc != MXP_OK)
        return rc;
    if (r->code >= 500) {
        if (used_helo != NULL)
            *used_helo = 1;
        fake_sent(s, "HELO", name);
        return fake_smtp_next(s, r);
    }
    if (r->code / 100 == 2)
        for (size_t i = 1; i < r->n_lines; i++)
            fake_push_str(&F.ext, &F.n_ext, fake_xstrdup(r->lines[i]));
    return MXP_OK;
}

static int fake_smtp_has_extension_fn(struct mxp_smtp *s, const char *kw)
{
    size_t klen = strlen(kw);

    (void)s;
    for (size_t i = 0; i < F.n_ext; i++)
        if (strncasecmp(F.ext[i], kw, klen) == 0 &&
            (F.ext[i][klen] == '\0' || F.ext[i][klen] == ' '))
            return 1;
    return 0;
}

static size_t fake_smtp_extensions_fn(struct mxp_smtp *s,
                                      const char *const **list)
{
    (void)s;
    if (list != NULL)
        *list = (const char *const *)F.ext;
    return F.n_ext;
}

static double fake_smtp_connect_time_fn(struct mxp_smtp *s)
{
    (void)s;
    return F.connect_time;
}

static const char *fake_smtp_error_fn(struct mxp_smtp *s)
{
    return s != NULL ? s->error : "no session";
}

static void fake_smtp_close_fn(struct mxp_smtp *s, int send_quit)
{
    if (s == NULL)
        return;
    F.closes++;
    F.quit_sent = send_quit;
    if (s->open && F.open_now > 0)
        F.open_now--;
    s->open = 0;
}

size_t fake_smtp_opens(void)
{
    return F.opens;
}

size_t fake_smtp_closes(void)
{
    return F.closes;
}

int fake_smtp_quit_sent(void)
{
    return F.quit_sent;
}

size_t fake_smtp_n_sent(void)
{
    return F.n_sent;
}

const char *fake_smtp_sent(size_t i)
{
    return i < F.n_sent ? F.sent[i] : NULL;
}

/* ---- ABI 1.2: port probes and UDP ---- */

#define FAKE_MAX_PORTS 32

static struct {
    struct {
        unsigned port;
        enum mxp_port_state st;
        char words[128];
    } ports[FAKE_MAX_PORTS];
    size_t n_ports, probes, probed, exchanges;
    int udp_set, udp_status, echo_id;
    unsigned char udp_bytes[2048], req[2048];
    size_t udp_len, req_len;
    unsigned req_port;
    char udp_words[128];
} FP;

static void fake_probe_reset(void)
{
    memset(&FP, 0, sizeof(FP));
}

void fake_port_set(unsigned port, enum mxp_port_state st, const char *words)
{
    if (FP.n_ports >= FAKE_MAX_PORTS)
        abort();
    FP.ports[FP.n_ports].port = port;
    FP.ports[FP.n_ports].st = st;
    snprintf(FP.ports[FP.n_ports].words, sizeof(FP.ports[0].words), "%s",
             words);
    FP.n_ports++;
}

void fake_udp_answer(int status, const void *bytes, size_t len,
                     const char *words)
{
    if (len > sizeof(FP.udp_bytes))
        abort();
    FP.udp_set = 1;
    FP.udp_status = status;
    if (len > 0)
        memcpy(FP.udp_bytes, bytes, len);
    FP.udp_len = len;
    snprintf(FP.udp_words, sizeof(FP.udp_words), "%s", words ? words : "");
}

size_t fake_tcp_probes(void)
{
    return FP.probes;
}

size_t fake_tcp_probed(void)
{
    return FP.probed;
}

void fake_udp_echo_id(int on)
{
    FP.echo_id = on;
}

size_t fake_udp_exchanges(void)
{
    return FP.exchanges;
}

const unsigned char *fake_udp_request(size_t *len, unsigned *port)
{
    *len = FP.req_len;
    *port = FP.req_port;
    return FP.req;
}

static int fake_tcp_probe_fn(struct mxp_ctx *ctx, const char *addr,
                             struct mxp_port_probe *p, size_t n)
{
    (void)ctx;
    if (addr == NULL || n == 0 || n > 64)
        return MXP_ERR_INVALID;
    FP.probes++;
    for (size_t i = 0; i < n; i++) {
        size_t j;

        FP.probed++;
        p[i].state = MXP_PORT_CLOSED;
        p[i].elapsed = 0.001;
        snprintf(p[i].words, sizeof(p[i].words), "connection refused");
        for (j = 0; j < FP.n_ports; j++)
            if (FP.ports[j].port == p[i].port) {
                p[i].state = FP.ports[j].st;
                snprintf(p[i].words, sizeof(p[i].words), "%s",
                         FP.ports[j].words);
            }
    }
    return MXP_OK;
}

static int fake_udp_exchange_fn(struct mxp_ctx *ctx, struct mxp_udp_exchange *x)
{
    (void)ctx;
    FP.exchanges++;
    x->resp_len = 0;
    x->words[0] = '\0';
    FP.req_len = x->req_len < sizeof(FP.req) ? x->req_len : sizeof(FP.req);
    memcpy(FP.req, x->req, FP.req_len);
    FP.req_port = x->port;
    if (!FP.udp_set) {
        snprintf(x->words, sizeof(x->words), "no answer within 5.0 s");
        return MXP_ERR_TIMEOUT;
    }
    snprintf(x->words, sizeof(x->words), "%s", FP.udp_words);
    if (FP.udp_status != MXP_OK && FP.udp_status != MXP_ERR_TOO_BIG)
        return FP.udp_status;
    x->resp_len = FP.udp_len < x->cap ? FP.udp_len : x->cap;
    memcpy(x->resp, FP.udp_bytes, x->resp_len);
    if (FP.echo_id && x->resp_len >= 2 && x->req_len >= 2)
        memcpy(x->resp, x->req, 2);
    x->elapsed = 0.002;
    return FP.udp_len > x->cap ? MXP_ERR_TOO_BIG : FP.udp_status;
}

/* ---- the table -------------------------------------------------------- */

/* The real Public Suffix List: the core's psl.c, linked from the core
 * library, is plain libpsl with no core state. */
static const char *fake_registered_domain(struct mxp_ctx *ctx, const char *name)
{
    (void)ctx;
    return mxp_registered_domain(name);
}

/* ---- ABI 1.2: structured fields ---- */

/* The fields set, as the core's rule: a later value for a key replaces. */
static struct {
    char *key[MXP_MAX_FIELDS], *text[MXP_MAX_FIELDS];
    double number[MXP_MAX_FIELDS];
    size_t n;
} FF;

static void fake_fields_reset(void)
{
    for (size_t i = 0; i < FF.n; i++) {
        free(FF.key[i]);
        free(FF.text[i]);
    }
    memset(&FF, 0, sizeof FF);
}

static int fake_field_set(const char *key, const char *text, double number)
{
    size_t i;

    if (key == NULL || !mxp_field_key_ok(key, strlen(key)))
        return MXP_ERR_INVALID;
    for (i = 0; i < FF.n && strcmp(FF.key[i], key) != 0; i++)
        ;
    if (i == FF.n) {
        if (FF.n >= MXP_MAX_FIELDS)
            return MXP_OK;
        FF.key[FF.n++] = fake_xstrdup(key);
    }
    free(FF.text[i]);
    FF.text[i] = fake_xstrdup(text);
    FF.number[i] = number;
    return MXP_OK;
}

static int fake_add_field_fn(struct mxp_ctx *ctx, const char *key,
                             const char *text)
{
    (void)ctx;
    return text == NULL ? MXP_ERR_INVALID : fake_field_set(key, text, NAN);
}

static int fake_add_field_number_fn(struct mxp_ctx *ctx, const char *key,
                                    double value)
{
    (void)ctx;
    return isfinite(value) ? fake_field_set(key, NULL, value) : MXP_ERR_INVALID;
}

size_t fake_n_fields(void)
{
    return FF.n;
}

const char *fake_field_text(const char *key)
{
    for (size_t i = 0; i < FF.n; i++)
        if (strcmp(FF.key[i], key) == 0)
            return FF.text[i];
    return NULL;
}

int fake_field_number(const char *key, double *out)
{
    for (size_t i = 0; i < FF.n; i++)
        if (strcmp(FF.key[i], key) == 0 && FF.text[i] == NULL) {
            *out = FF.number[i];
            return 1;
        }
    return 0;
}

/* ---- ABI 1.5: DNSSEC, HTTPS ------------------------------------------ */

void fake_dns_push_raw(const char *name, uint16_t type, const void *rdata,
                       size_t len)
{
    struct fake_dns_entry *e = fake_dns_find(name, type);

    if (e == NULL) {
        e = fake_dns_slot(name, type);
        e->result = MXP_DNS_ANSWER;
    }
    fake_dns_push_rr(e, rdata, len);
}

void fake_dns_set_ad(const char *name, uint16_t type, int ad)
{
    struct fake_dns_entry *e = fake_dns_find(name, type);

    if (e == NULL)
        abort(); /* a test that sets AD of an answer it never added */
    e->ad = ad;
    e->ad_set = 1;
}

void fake_dns_ad_default(int ad)
{
    F.dns_ad_default = ad;
}

static int fake_dns_authenticated_fn(struct mxp_ctx *ctx,
                                     const struct mxp_dns_query *q)
{
    struct fake_dns_entry *e;

    (void)ctx;
    if (q == NULL || q->name == NULL || q->result == MXP_DNS_TIMEOUT ||
        q->result == MXP_DNS_FAILED)
        return -1;
    e = fake_dns_find(q->name, q->type);
    return e != NULL && e->ad_set ? e->ad : F.dns_ad_default;
}

static struct fake_https_entry *fake_https_slot(const char *url)
{
    struct fake_https_entry *e = NULL;

    for (size_t i = 0; i < F.n_https && e == NULL; i++)
        if (strcmp(F.https[i].url, url) == 0)
            e = &F.https[i];
    if (e != NULL) {
        free(e->url);
        free(e->body);
        free(e->content_type);
        free(e->location);
        free(e->words);
    } else {
        F.https = fake_xgrow(F.https, F.n_https + 1, sizeof(*F.https));
        e = &F.https[F.n_https++];
    }
    memset(e, 0, sizeof(*e));
    e->url = fake_xstrdup(url);
    return e;
}

void fake_https_add(const char *url, long status, const char *body,
                    size_t len, const char *content_type,
                    const char *location)
{
    struct fake_https_entry *e = fake_https_slot(url);

    e->status = MXP_OK;
    e->http_status = status;
    if (body != NULL) {
        e->body = fake_xalloc(len + 1);
        memcpy(e->body, body, len);
        e->len = len;
        e->has_body = 1;
    }
    e->content_type = fake_xstrdup(content_type != NULL ? content_type : "");
    e->location = fake_xstrdup(location != NULL ? location : "");
}

void fake_https_fail(const char *url, int status, const char *words)
{
    struct fake_https_entry *e = fake_https_slot(url);

    e->status = status;
    e->words = fake_xstrdup(words);
}

void fake_https_set_delay(double seconds)
{
    F.https_delay = seconds;
}

size_t fake_https_gets(void)
{
    return F.n_https_asked;
}

const char *fake_https_url(size_t i)
{
    return i < F.n_https_asked ? F.https_urls[i] : NULL;
}

const char *fake_https_ca_file(size_t i)
{
    return i < F.n_https_asked ? F.https_cas[i] : NULL;
}

static int fake_https_get_fn(struct mxp_ctx *ctx, struct mxp_https_get *g)
{
    const struct fake_https_entry *e = NULL;
    size_t cap = g->max_body != 0 ? g->max_body : 64 * 1024;

    (void)ctx;
    g->status = 0;
    g->body = NULL;
    g->body_len = 0;
    g->content_type[0] = g->location[0] = g->addr[0] = g->words[0] = '\0';
    g->elapsed = F.https_delay;
    F.now += F.https_delay;
    if (g->url == NULL)
        return MXP_ERR_INVALID;
    F.https_urls =
        fake_xgrow(F.https_urls, F.n_https_asked + 1, sizeof(*F.https_urls));
    F.https_cas =
        fake_xgrow(F.https_cas, F.n_https_asked + 1, sizeof(*F.https_cas));
    F.https_urls[F.n_https_asked] = fake_xstrdup(g->url);
    F.https_cas[F.n_https_asked++] =
        fake_xstrdup(g->ca_file != NULL ? g->ca_file : "");
    for (size_t i = 0; i < F.n_https && e == NULL; i++)
        if (strcmp(F.https[i].url, g->url) == 0)
            e = &F.https[i];
    if (e == NULL) {
        snprintf(g->words, sizeof(g->words), "connection refused");
        return MXP_ERR_CONNECT;
    }
    if (e->status != MXP_OK) {
        snprintf(g->words, sizeof(g->words), "%s", e->words);
        return e->status;
    }
    if (e->has_body && e->len > cap) {
        snprintf(g->words, sizeof(g->words),
                 "the body is longer than %zu bytes", cap);
        return MXP_ERR_TOO_BIG;
    }
    g->status = e->http_status;
    if (e->has_body) {
        g->body = e->body;
        g->body_len = e->len;
    }
    snprintf(g->content_type, sizeof(g->content_type), "%s", e->content_type);
    snprintf(g->location, sizeof(g->location), "%s", e->location);
    snprintf(g->addr, sizeof(g->addr), "127.0.0.1");
    return MXP_OK;
}

/* ---- ABI 1.3: TLS ---- */

/* Per session (by id): where its TLS stands and what the responder said.
 * The responders decide every handshake and ClientHello. */
enum fake_tls_state { FAKE_TLS_NONE, FAKE_TLS_UP, FAKE_TLS_FAILED };

static struct {
    struct {
        enum fake_tls_state state;
        int status; /* of a failed handshake */
        int notify; /* smtp_wait reports it ready once */
        int spent;  /* a bare ClientHello used it up */
        int hello_rc; /* tls_hello_start: the responder's answer, kept */
        struct mxp_tls_hello hello;
        struct mxp_tls_info info;
    } sess[FAKE_MAX_SESSIONS + 1];
    int (*tls_fn)(void *user, unsigned session, const struct mxp_tls_options *o,
                  struct mxp_tls_info *info, char *err, size_t errlen);
    void *tls_user;
    int (*hello_fn)(void *user, unsigned session, int version,
                    const uint16_t *ciphers, size_t n,
                    struct mxp_tls_hello *out);
    void *hello_user;
    int (*unsol_fn)(void *user, unsigned session, char *text, size_t len);
    void *unsol_user;
    size_t handshakes, hellos;
} FT;

static void fake_tls_reset(void)
{
    memset(&FT, 0, sizeof FT);
}

void fake_tls_set_responder(int (*fn)(void *user, unsigned session,
                                      const struct mxp_tls_options *o,
                                      struct mxp_tls_info *info, char *err,
                                      size_t errlen),
                            void *user)
{
    FT.tls_fn = fn;
    FT.tls_user = user;
}

void fake_tls_hello_set_responder(int (*fn)(void *user, unsigned session,
                                            int version,
                                            const uint16_t *ciphers, size_t n,
                                            struct mxp_tls_hello *out),
                                  void *user)
{
    FT.hello_fn = fn;
    FT.hello_user = user;
}

void fake_smtp_unsolicited_set(int (*fn)(void *user, unsigned session,
                                         char *text, size_t len),
                               void *user)
{
    FT.unsol_fn = fn;
    FT.unsol_user = user;
}

size_t fake_tls_handshakes(void)
{
    return FT.handshakes;
}

size_t fake_tls_hellos(void)
{
    return FT.hellos;
}

/* A session a failed handshake or a ClientHello broke: its status (the
 * words are in its error already), else MXP_OK. */
static int fake_tls_refuses(struct mxp_smtp *s)
{
    if (s == NULL || s->id > FAKE_MAX_SESSIONS)
        return MXP_OK;
    if (FT.sess[s->id].state == FAKE_TLS_FAILED)
        return FT.sess[s->id].status;
    if (FT.sess[s->id].spent)
        return MXP_ERR_INVALID;
    return MXP_OK;
}

/* 1 and *ready: a session of ss whose handshake ended and was not
 * reported yet (reported now); -1 for such a session when ready is a
 * peek (n 1, nothing reported); 0 none. */
static int fake_tls_ready(struct mxp_smtp *const *ss, size_t n, size_t *ready)
{
    for (size_t i = 0; i < n; i++) {
        struct mxp_smtp *s = ss[i];

        if (s == NULL || s->id > FAKE_MAX_SESSIONS || !FT.sess[s->id].notify)
            continue;
        if (ready == NULL)
            return -1;
        FT.sess[s->id].notify = 0;
        *ready = i;
        return 1;
    }
    return 0;
}

static int fake_smtp_tls_start_fn(struct mxp_smtp *s,
                                  const struct mxp_tls_options *o)
{
    static const struct mxp_tls_options defaults;
    int rc;

    if (s == NULL || s->id > FAKE_MAX_SESSIONS)
        return MXP_ERR_INVALID;
    if ((rc = fake_tls_refuses(s)) != MXP_OK)
        return rc;
    if (FT.sess[s->id].state != FAKE_TLS_NONE) {
        snprintf(s->error, sizeof(s->error),
                 "refusing to start TLS: the session is TLS already");
        return MXP_ERR_INVALID;
    }
    FT.handshakes++;
    if (FT.tls_fn == NULL) {
        snprintf(s->error, sizeof(s->error), "no TLS in the fake");
        return MXP_ERR_UNSUPPORTED;
    }
    memset(&FT.sess[s->id].info, 0, sizeof(FT.sess[s->id].info));
    FT.sess[s->id].info.verify_depth = -1;
    s->error[0] = '\0';
    F.cur_sid = s->id;
    rc = FT.tls_fn(FT.tls_user, s->id, o != NULL ? o : &defaults,
                   &FT.sess[s->id].info, s->error, sizeof(s->error));
    if (rc == MXP_ERR_UNSUPPORTED || rc == MXP_ERR_INVALID)
        return rc; /* nothing sent: the session stays usable, as the core */
    FT.sess[s->id].notify = 1;
    FT.sess[s->id].state = rc == MXP_OK ? FAKE_TLS_UP : FAKE_TLS_FAILED;
    FT.sess[s->id].status = rc;
    return rc;
}

static int fake_smtp_tls_info_fn(struct mxp_smtp *s,
                                 const struct mxp_tls_info **info)
{
    if (info != NULL)
        *info = NULL;
    if (s == NULL || s->id > FAKE_MAX_SESSIONS)
        return MXP_ERR_INVALID;
    if (FT.sess[s->id].state == FAKE_TLS_FAILED)
        return FT.sess[s->id].status;
    if (FT.sess[s->id].state != FAKE_TLS_UP)
        return MXP_ERR_INVALID;
    if (info != NULL)
        *info = &FT.sess[s->id].info;
    return MXP_OK;
}

static int fake_smtp_tls_handshake_fn(struct mxp_smtp *s,
                                      const struct mxp_tls_options *o,
                                      const struct mxp_tls_info **info)
{
    int rc = fake_smtp_tls_start_fn(s, o);

    if (info != NULL)
        *info = NULL;
    if (rc != MXP_OK)
        return rc;
    FT.sess[s->id].notify = 0; /* waited for here */
    return fake_smtp_tls_info_fn(s, info);
}

static int fake_smtp_unsolicited_fn(struct mxp_smtp *s, double wait, char *text,
                                    size_t len)
{
    int rc;

    if (text != NULL && len > 0)
        text[0] = '\0';
    if (s == NULL)
        return -MXP_ERR_INVALID;
    if ((rc = fake_tls_refuses(s)) != MXP_OK)
        return -rc;
    rc = FT.unsol_fn != NULL
             ? FT.unsol_fn(FT.unsol_user, s->id, text, text != NULL ? len : 0)
             : 0;
    if (rc == 0 && wait > 0)
        F.now += wait; /* a real wait for nothing takes its time */
    return rc;
}

static int fake_tls_hello_fn(struct mxp_smtp *s, int version,
                             const uint16_t *ciphers, size_t n, const char *sni,
                             struct mxp_tls_hello *out)
{
    int rc;

    (void)sni;
    if (out == NULL)
        return MXP_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->alert = -1;
    if (s == NULL || s->id > FAKE_MAX_SESSIONS || ciphers == NULL || n == 0 ||
        n > 128 || version < MXP_SSL_3_0 || version > MXP_TLS_1_2) {
        snprintf(out->words, sizeof(out->words), "bad arguments");
        return MXP_ERR_INVALID;
    }
    if ((rc = fake_tls_refuses(s)) != MXP_OK) {
        snprintf(out->words, sizeof(out->words), "%.127s", s->error);
        return rc;
    }
    FT.hellos++;
    if (FT.hello_fn == NULL) {
        snprintf(out->words, sizeof(out->words), "no TLS in the fake");
        return MXP_ERR_UNSUPPORTED;
    }
    F.cur_sid = s->id;
    rc = FT.hello_fn(FT.hello_user, s->id, version, ciphers, n, out);
    FT.sess[s->id].spent = 1;
    snprintf(s->error, sizeof(s->error), "%s",
             rc == MXP_OK ? "the session is spent by a bare ClientHello"
                          : out->words);
    return rc;
}

/* The responder answers at once; smtp_wait reports the session ready
 * once, and tls_hello_result hands the answer over. */
static int fake_tls_hello_start_fn(struct mxp_smtp *s, int version,
                                   const uint16_t *ciphers, size_t n,
                                   const char *sni)
{
    int rc;

    if (s == NULL || s->id > FAKE_MAX_SESSIONS)
        return MXP_ERR_INVALID;
    rc = fake_tls_hello_fn(s, version, ciphers, n, sni, &FT.sess[s->id].hello);
    if (rc == MXP_ERR_INVALID || rc == MXP_ERR_UNSUPPORTED)
        return rc;
    FT.sess[s->id].hello_rc = rc;
    FT.sess[s->id].notify = 1;
    return MXP_OK;
}

static int fake_tls_hello_result_fn(struct mxp_smtp *s,
                                    struct mxp_tls_hello *out)
{
    if (s == NULL || s->id > FAKE_MAX_SESSIONS || out == NULL)
        return MXP_ERR_INVALID;
    FT.sess[s->id].notify = 0;
    *out = FT.sess[s->id].hello;
    return FT.sess[s->id].hello_rc;
}

const struct mxp_services fake_services = {
    .size = sizeof(struct mxp_services),
    .now = fake_now_fn,
    .remaining = fake_remaining_fn,
    .log = fake_log_fn,
    .strerror = fake_strerror_fn,
    .set_result = fake_set_result_fn,
    .add_detail = fake_add_detail_fn,
    .add_perfdata = fake_add_perfdata_fn,
    .check_threshold = fake_check_threshold_fn,
    .threshold_text = fake_threshold_text_fn,
    .config = fake_config_fn,
    .node_get = fake_node_get_fn,
    .node_kind = fake_node_kind_fn,
    .node_str = fake_node_str_fn,
    .node_len = fake_node_len_fn,
    .node_at = fake_node_at_fn,
    .node_key = fake_node_key_fn,
    .config_error = fake_config_error_fn,
    .config_parse = fake_config_parse_fn,
    .dns_batch = fake_dns_batch_fn,
    .smtp_open = fake_smtp_open_fn,
    .smtp_read_reply = fake_smtp_read_reply_fn,
    .smtp_command = fake_smtp_command_fn,
    .smtp_ehlo = fake_smtp_ehlo_fn,
    .smtp_has_extension = fake_smtp_has_extension_fn,
    .smtp_extensions = fake_smtp_extensions_fn,
    .smtp_connect_time = fake_smtp_connect_time_fn,
    .smtp_error = fake_smtp_error_fn,
    .smtp_close = fake_smtp_close_fn,
    .registered_domain = fake_registered_domain,
    .dns_result_name = mxp_dns_result_name,
    .state_worst = mxp_state_worst,
    .reverse_name = mxp_dns_reverse_name,
    .is_host_name = mxp_is_host_name,
    .smtp_send = fake_smtp_send_fn,
    .smtp_send_message = fake_smtp_send_message_fn,
    .config_bool = fake_config_bool_fn,
    .config_long = fake_config_long_fn,
    .set_result_from_details = fake_set_result_from_details_fn,
    .reply_about = mxp_reply_about,
    .add_metric = mxp_add_metric,
    .dns_has_addr = mxp_dns_has_addr,
    .node_unset = fake_node_unset_fn,
    /* ---- ABI 1.2: asynchronous DNS, generic names ---- */
    .dns_start = fake_dns_start_fn,
    .dns_done = fake_dns_done_fn,
    .dns_collect = fake_dns_collect_fn,
    .name_generic = mxp_name_generic,
    /* ---- ABI 1.2: concurrent SMTP sessions ---- */
    .smtp_open_start = fake_smtp_open_fn,
    .smtp_wait = fake_smtp_wait_fn,
    .smtp_wait_until = fake_smtp_wait_until_fn,
    /* ---- ABI 1.2: special-use names ---- */
    .name_special = mxp_name_special,
    /* ---- ABI 1.2: structured fields ---- */
    .add_field = fake_add_field_fn,
    .add_field_number = fake_add_field_number_fn,
    /* ---- ABI 1.2: port probes and UDP ---- */
    .tcp_probe = fake_tcp_probe_fn,
    .udp_exchange = fake_udp_exchange_fn,
    /* ---- ABI 1.3: TLS ---- */
    .smtp_tls_start = fake_smtp_tls_start_fn,
    .smtp_tls_handshake = fake_smtp_tls_handshake_fn,
    .smtp_tls_info = fake_smtp_tls_info_fn,
    .smtp_unsolicited = fake_smtp_unsolicited_fn,
    .tls_hello = fake_tls_hello_fn,
    .tls_hello_start = fake_tls_hello_start_fn,
    .tls_hello_result = fake_tls_hello_result_fn,
    /* ---- ABI 1.5: DNSSEC, HTTPS ---- */
    .dns_authenticated = fake_dns_authenticated_fn,
    .https_get = fake_https_get_fn,
};

/* ---- lifecycle ------------------------------------------------------- */

static void fake_fix_ctx(void)
{
    F.probe.helo_name = F.helo;
    F.probe.mail_from = "postmaster@mxprobe.test";
    F.probe.my_email = F.my_email;
    F.probe.connect_timeout = 5;
    F.probe.command_timeout = 20;
    F.target.addr = F.addr;
    F.target.host = F.host[0] != '\0' ? F.host : F.addr;
    F.target.domain = F.domain[0] != '\0' ? F.domain : NULL;
    for (size_t i = 0; i < F.n_peers; i++) {
        F.peers[i].addr = F.peer[i].addr;
        F.peers[i].host = F.peer[i].host;
        F.peers[i].domain = F.target.domain;
    }
    F.target.peers = F.n_peers > 0 ? F.peers : NULL;
    F.target.n_peers = F.n_peers;

    F.ctx.svc = &fake_services;
    F.ctx.target = F.have_target ? &F.target : NULL;
    F.ctx.probe = &F.probe;
    F.ctx.plugin_name = F.plugin_name;
    F.init_ctx = F.ctx;
    F.init_ctx.target = NULL;
}

void fake_reset(void)
{
    fake_fields_reset(); /* ABI 1.2: structured fields */
    for (size_t i = 0; i < F.n_dns; i++)
        fake_dns_entry_clear(&F.dns[i]);
    free(F.dns);
    for (size_t i = 0; i < F.n_https; i++) { /* ABI 1.5 */
        free(F.https[i].url);
        free(F.https[i].body);
        free(F.https[i].content_type);
        free(F.https[i].location);
        free(F.https[i].words);
    }
    free(F.https);
    fake_free_list(F.https_urls, F.n_https_asked);
    fake_free_list(F.https_cas, F.n_https_asked);
    fake_free_list(F.asked_names, F.n_asked);
    free(F.asked_types);
    free(F.open_error);
    for (size_t i = 0; i < F.n_script; i++) {
        fake_free_list(F.script[i].lines, F.script[i].n_lines);
        free(F.script[i].error);
    }
    free(F.script);
    fake_free_list(F.sent, F.n_sent);
    fake_free_list(F.ext, F.n_ext);
    fake_free_list(F.messages, F.n_messages);
    free(F.summary);
    for (size_t i = 0; i < F.n_details; i++)
        free(F.details[i].text);
    free(F.details);
    for (size_t i = 0; i < F.n_perf; i++) {
        free((char *)F.perf[i].metric);
        free((char *)F.perf[i].uom);
        free((char *)F.perf[i].warn);
        free((char *)F.perf[i].crit);
    }
    free(F.perf);
    free(F.warn);
    free(F.crit);
    for (size_t i = 0; i < F.n_trees; i++)
        fake_node_free(F.trees[i]);
    free(F.trees);
    fake_free_list(F.errors, F.n_errors);

    /* what a plugin left uncollected, as the core does after run() */
    for (size_t i = 0; i < F.n_open_b; i++)
        free(F.open_b[i]);
    free(F.open_b);

    memset(&F, 0, sizeof(F));
    fake_probe_reset(); /* ABI 1.2: port probes and UDP */
    fake_tls_reset();   /* ABI 1.3: TLS */
    F.dns_default = MXP_DNS_NXDOMAIN;
    F.now = 1000.0;
    F.remaining = 30.0;
    F.connect_time = 0.001;
    F.state = MXP_STATE_UNKNOWN;
    snprintf(F.plugin_name, sizeof(F.plugin_name), "test");
    snprintf(F.helo, sizeof(F.helo), "probe.mxprobe.test");
    fake_fix_ctx();
}

struct mxp_ctx *fake_ctx(void)
{
    fake_fix_ctx();
    return &F.ctx;
}

struct mxp_ctx *fake_init_ctx(void)
{
    fake_fix_ctx();
    return &F.init_ctx;
}

void fake_set_target(const char *addr, unsigned port)
{
    unsigned char bytes[16] = {0};

    if (inet_pton(AF_INET, addr, bytes) == 1)
        F.target.family = AF_INET;
    else if (inet_pton(AF_INET6, addr, bytes) == 1)
        F.target.family = AF_INET6;
    else
        abort();
    memcpy(F.target.addr_bytes, bytes, sizeof(bytes));
    snprintf(F.addr, sizeof(F.addr), "%s", addr);
    F.target.port = port;
    F.have_target = 1;
    fake_fix_ctx();
}

void fake_set_plugin_name(const char *name)
{
    snprintf(F.plugin_name, sizeof(F.plugin_name), "%s", name);
}

void fake_set_helo(const char *name)
{
    snprintf(F.helo, sizeof(F.helo), "%s", name);
}

void fake_set_verbosity(int v)
{
    F.ctx.verbosity = v;
    F.init_ctx.verbosity = v;
}

void fake_set_remaining(double seconds)
{
    F.remaining = seconds;
}

void fake_set_now(double t)
{
    F.now = t;
}

void fake_set_thresholds(const char *warn, const char *crit)
{
    free(F.warn);
    free(F.crit);
    F.warn = fake_xstrdup(warn);
    F.crit = fake_xstrdup(crit);
}

/* ---- result accessors -------------------------------------------------- */

int fake_result_calls(void)
{
    return F.result_calls;
}

enum mxp_state fake_state(void)
{
    return F.state;
}

const char *fake_summary(void)
{
    return F.summary ? F.summary : "";
}

size_t fake_n_details(void)
{
    return F.n_details;
}

const char *fake_detail(size_t i, enum mxp_state *st)
{
    if (i >= F.n_details)
        return NULL;
    if (st != NULL)
        *st = F.details[i].st;
    return F.details[i].text;
}

int fake_detail_find(const char *substr, enum mxp_state *st)
{
    for (size_t i = 0; i < F.n_details; i++)
        if (strstr(F.details[i].text, substr) != NULL) {
            if (st != NULL)
                *st = F.details[i].st;
            return (int)i;
        }
    return -1;
}

size_t fake_n_perf(void)
{
    return F.n_perf;
}

const struct mxp_perf *fake_perf(size_t i)
{
    return i < F.n_perf ? &F.perf[i] : NULL;
}

const struct mxp_perf *fake_perf_find(const char *metric)
{
    for (size_t i = 0; i < F.n_perf; i++)
        if (strcmp(F.perf[i].metric, metric) == 0)
            return &F.perf[i];
    return NULL;
}
