/*
 * dnsbl.c - the dnsbl check: is the target's address on DNS blocklists?
 *
 * init() builds the zone table from plugins.dnsbl.zones, from zones_file,
 * or from the built-in conf/dnsbl.yaml.  run() asks every zone at once in
 * one DNS batch: A and TXT of the target's reversed name and the RFC 5782
 * self-tests (127.0.0.2 must be listed, 127.0.0.1 must not).  Answers that
 * are list errors (Spamhaus 127.255.255.x codes, 127.0.0.1, anything
 * outside 127.0.0.0/8, failed self-tests, SERVFAIL, timeouts) are never
 * counted as listings.  A listing weighs what its list (or its return
 * code) is configured to weigh: critical, warning or info (shown, state
 * OK).  The state is the worst listing's severity, raised further by the
 * warning/critical ranges on the count of non-info listings.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <mxprobe/plugin.h>

/* conf/dnsbl.yaml, compiled in by the Makefile (src/tools/embed.sh). */
extern const char mxp_default_dnsbl[];
extern const size_t mxp_default_dnsbl_len;

#define DNSBL_MAX_ZONES 512
#define DNSBL_MAX_CODES 64    /* per zone */
#define DNSBL_MAX_MEANING 100 /* bytes of a code's meaning */
#define DNSBL_MAX_FILE (1024 * 1024)
/* The IPv6 prefix of a query name is 64 bytes ("x." * 32), and a name
 * holds at most 253. */
#define DNSBL_MAX_ZONE_LEN (253 - 64)
#define DNSBL_NAME_LEN 256
#define DNSBL_TEXT_LEN 512

/* What one listing weighs.  UNSET (a code without severity:) means the
 * zone's; a zone without severity: is WARNING, as one listing on an
 * unknown list always was. */
enum dnsbl_severity { SEV_UNSET = 0, SEV_INFO, SEV_WARNING, SEV_CRITICAL };

struct dnsbl_code {
    unsigned char addr[4];
    char *meaning;
    enum dnsbl_severity sev;
};

struct dnsbl_zone {
    char *name; /* without trailing dot */
    struct dnsbl_code *codes;
    size_t n_codes;
    enum dnsbl_severity sev;
};

struct dnsbl_state {
    struct dnsbl_zone *zones;
    size_t n;
};

/* ZONE_NO_IPV6: an IPv6 target and a list without the IPv6 test entry of
 * RFC 5782: an IPv4-only list, which has nothing to say about it. */
enum dnsbl_verdict { ZONE_CLEAN, ZONE_LISTED, ZONE_ERROR, ZONE_NO_IPV6 };

/* ---- state ----------------------------------------------------------- */

static void dnsbl_free(void *state)
{
    struct dnsbl_state *st = state;

    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++) {
        for (size_t j = 0; j < st->zones[i].n_codes; j++)
            free(st->zones[i].codes[j].meaning);
        free(st->zones[i].codes);
        free(st->zones[i].name);
    }
    free(st->zones);
    free(st);
}

/* ---- names ----------------------------------------------------------- */

/* A DNS name we can query under: LDH labels (underscore tolerated) of
 * 1..63, at least two labels, an optional trailing dot. */
static int valid_zone_name(const struct mxp_services *svc, const char *s)
{
    size_t len = strlen(s);

    if (len > 0 && s[len - 1] == '.')
        len--;
    return len <= DNSBL_MAX_ZONE_LEN && svc->is_host_name(s);
}

/* RFC 5782 section 5 test addresses: 127.0.0.2 must be listed, 127.0.0.1
 * must not; an IPv6 list uses ::FFFF:7F00:2 and ::FFFF:7F00:1. */
static void selftest_addr(int family, int positive, unsigned char out[16])
{
    memset(out, 0, 16);
    if (family == AF_INET) {
        out[0] = 127;
        out[3] = positive ? 2 : 1;
        return;
    }
    out[10] = 0xff;
    out[11] = 0xff;
    out[12] = 0x7f;
    out[15] = positive ? 2 : 1;
}

/* ---- config ---------------------------------------------------------- */

static int parse_code(const char *text, unsigned char out[4])
{
    return inet_pton(AF_INET, text, out) == 1 && out[0] == 127;
}

static const char *severity_name(enum dnsbl_severity s)
{
    return s == SEV_CRITICAL ? "critical" : s == SEV_INFO ? "info" : "warning";
}

/* severity: critical|warning|info of what (a zone, or "ZONE code C"). */
static int load_severity(struct mxp_ctx *ctx, const struct mxp_node *n,
                         const char *what, enum dnsbl_severity *out)
{
    const struct mxp_services *svc = ctx->svc;
    static const enum dnsbl_severity all[] = {SEV_CRITICAL, SEV_WARNING,
                                              SEV_INFO};
    const char *v = svc->node_str(n);

    if (svc->node_kind(n) == MXP_NODE_SCALAR && v != NULL)
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            if (strcmp(v, severity_name(all[i])) == 0) {
                *out = all[i];
                return MXP_OK;
            }
    svc->config_error(ctx, n,
                      "zones: severity of %s: '%s' is not critical, warning "
                      "or info",
                      what, svc->node_kind(n) == MXP_NODE_SCALAR && v ? v : "");
    return MXP_ERR_CONFIG;
}

/* A code's value: its meaning, or { name: MEANING, severity: S }. */
static int load_code_value(struct mxp_ctx *ctx, const struct dnsbl_zone *z,
                           const char *key, const struct mxp_node *v,
                           struct dnsbl_code *c)
{
    const struct mxp_services *svc = ctx->svc;
    const char *meaning = svc->node_str(v);
    char what[DNSBL_NAME_LEN + 32];

    if (svc->node_kind(v) == MXP_NODE_MAP) {
        meaning = "";
        for (size_t i = 0; i < svc->node_len(v); i++) {
            const char *k = svc->node_key(v, i);
            const struct mxp_node *e = svc->node_at(v, i);

            if (k != NULL && strcmp(k, "name") == 0 &&
                svc->node_kind(e) == MXP_NODE_SCALAR &&
                svc->node_str(e) != NULL) {
                meaning = svc->node_str(e);
            } else if (k != NULL && strcmp(k, "severity") == 0) {
                /* written without a value: the default (the zone's), as
                 * for a zone's own severity: */
                if (svc->node_unset(e))
                    continue;
                snprintf(what, sizeof what, "%s code %s", z->name, key);
                if (load_severity(ctx, e, what, &c->sev) != MXP_OK)
                    return MXP_ERR_CONFIG;
            } else {
                svc->config_error(ctx, e,
                                  k != NULL && strcmp(k, "name") == 0
                                      ? "zones: codes of %s: the name of %s "
                                        "must be a string"
                                      : "zones: codes of %s: %s: unknown key "
                                        "(expected name, severity)",
                                  z->name, key);
                return MXP_ERR_CONFIG;
            }
        }
    } else if (svc->node_kind(v) != MXP_NODE_SCALAR || meaning == NULL) {
        svc->config_error(ctx, v,
                          "zones: codes of %s: the meaning of %s must be "
                          "a string or { name: MEANING, severity: S }",
                          z->name, key);
        return MXP_ERR_CONFIG;
    } else if (strcasecmp(meaning, "critical") == 0 ||
               strcasecmp(meaning, "warning") == 0 ||
               strcasecmp(meaning, "info") == 0) {
        /* "127.0.0.10: info" reads as a severity but would be a meaning,
         * the code keeping the zone's weight: say how to write either. */
        char word[16];
        size_t i;

        for (i = 0; meaning[i] != '\0' && i + 1 < sizeof word; i++)
            word[i] = (char)tolower((unsigned char)meaning[i]);
        word[i] = '\0';
        svc->config_error(ctx, v,
                          "zones: codes of %s: %s: '%s' is a meaning; write "
                          "{ severity: %s } for a severity, { name: %s } "
                          "for a meaning",
                          z->name, key, meaning, word, meaning);
        return MXP_ERR_CONFIG;
    }
    c->meaning = strndup(meaning, DNSBL_MAX_MEANING);
    return c->meaning == NULL ? MXP_ERR_NOMEM : MXP_OK;
}

static int load_codes(struct mxp_ctx *ctx, struct dnsbl_zone *z,
                      const struct mxp_node *codes)
{
    const struct mxp_services *svc = ctx->svc;
    size_t n;

    if (svc->node_unset(codes))
        return MXP_OK;
    if (svc->node_kind(codes) != MXP_NODE_MAP) {
        svc->config_error(ctx, codes,
                          "zones: codes of %s: expected a mapping like "
                          "{ 127.0.0.2: MEANING }",
                          z->name);
        return MXP_ERR_CONFIG;
    }
    n = svc->node_len(codes);
    if (n > DNSBL_MAX_CODES) {
        svc->config_error(ctx, codes, "zones: %s has more than %d codes",
                          z->name, DNSBL_MAX_CODES);
        return MXP_ERR_CONFIG;
    }
    z->codes = calloc(n ? n : 1, sizeof(*z->codes));
    if (z->codes == NULL)
        return MXP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *key = svc->node_key(codes, i);
        const struct mxp_node *v = svc->node_at(codes, i);
        struct dnsbl_code *c = &z->codes[z->n_codes];
        int rc;

        if (key == NULL || !parse_code(key, c->addr)) {
            svc->config_error(ctx, v,
                              "zones: codes of %s: '%s' is not an IPv4 "
                              "address in 127.0.0.0/8",
                              z->name, key ? key : "");
            return MXP_ERR_CONFIG;
        }
        rc = load_code_value(ctx, z, key, v, c);
        if (c->meaning != NULL)
            z->n_codes++; /* dnsbl_free() frees it */
        if (rc != MXP_OK)
            return rc;
    }
    return MXP_OK;
}

/* Adds zone name (checked) to the table; at is where errors point. */
static int add_zone(struct mxp_ctx *ctx, struct dnsbl_state *st,
                    const char *name, const struct mxp_node *at,
                    struct dnsbl_zone **out)
{
    const struct mxp_services *svc = ctx->svc;
    struct dnsbl_zone *z;
    size_t len;

    if (name == NULL || !valid_zone_name(ctx->svc, name)) {
        svc->config_error(ctx, at, "zones: '%s' is not a valid DNS zone name",
                          name ? name : "");
        return MXP_ERR_CONFIG;
    }
    len = strlen(name);
    if (name[len - 1] == '.')
        len--;
    for (size_t i = 0; i < st->n; i++)
        if (strlen(st->zones[i].name) == len &&
            strncasecmp(st->zones[i].name, name, len) == 0) {
            svc->config_error(ctx, at, "zones: %.*s is listed twice", (int)len,
                              name);
            return MXP_ERR_CONFIG;
        }
    if (st->n == DNSBL_MAX_ZONES) {
        svc->config_error(ctx, at, "zones: more than %d zones",
                          DNSBL_MAX_ZONES);
        return MXP_ERR_CONFIG;
    }
    z = &st->zones[st->n];
    memset(z, 0, sizeof(*z));
    z->name = strndup(name, len);
    if (z->name == NULL)
        return MXP_ERR_NOMEM;
    z->sev = SEV_WARNING;
    st->n++;
    *out = z;
    return MXP_OK;
}

static int load_item(struct mxp_ctx *ctx, struct dnsbl_state *st,
                     const struct mxp_node *item)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *zone = NULL, *codes = NULL, *sev = NULL;
    struct dnsbl_zone *z;
    int rc;

    if (svc->node_kind(item) == MXP_NODE_SCALAR)
        return add_zone(ctx, st, svc->node_str(item), item, &z);
    if (svc->node_kind(item) != MXP_NODE_MAP) {
        svc->config_error(ctx, item,
                          "zones: an entry is a zone name or a mapping "
                          "{ zone: NAME, severity: S, codes: {...} }");
        return MXP_ERR_CONFIG;
    }
    for (size_t i = 0; i < svc->node_len(item); i++) {
        const char *key = svc->node_key(item, i);

        if (key != NULL && strcmp(key, "zone") == 0) {
            zone = svc->node_at(item, i);
        } else if (key != NULL && strcmp(key, "codes") == 0) {
            codes = svc->node_at(item, i);
        } else if (key != NULL && strcmp(key, "severity") == 0) {
            sev = svc->node_at(item, i);
        } else {
            svc->config_error(ctx, svc->node_at(item, i),
                              "zones: unknown key '%s' (expected zone, "
                              "severity, codes)",
                              key ? key : "");
            return MXP_ERR_CONFIG;
        }
    }
    if (zone == NULL || svc->node_kind(zone) != MXP_NODE_SCALAR) {
        svc->config_error(ctx, zone ? zone : item,
                          "zones: an entry needs zone: NAME");
        return MXP_ERR_CONFIG;
    }
    rc = add_zone(ctx, st, svc->node_str(zone), zone, &z);
    if (rc != MXP_OK)
        return rc;
    if (!svc->node_unset(sev)) {
        rc = load_severity(ctx, sev, z->name, &z->sev);
        if (rc != MXP_OK)
            return rc;
    }
    return load_codes(ctx, z, codes);
}

/* A zones: list (a single scalar is a list of one). */
static int load_list(struct mxp_ctx *ctx, struct dnsbl_state *st,
                     const struct mxp_node *list)
{
    const struct mxp_services *svc = ctx->svc;
    size_t n;
    int rc;

    if (svc->node_kind(list) == MXP_NODE_SCALAR) {
        st->zones = calloc(1, sizeof(*st->zones));
        if (st->zones == NULL)
            return MXP_ERR_NOMEM;
        return load_item(ctx, st, list);
    }
    if (svc->node_kind(list) != MXP_NODE_SEQ) {
        svc->config_error(ctx, list, "zones: expected a list of zones");
        return MXP_ERR_CONFIG;
    }
    n = svc->node_len(list);
    if (n == 0) {
        svc->config_error(ctx, list,
                          "zones: empty list (leave zones unset "
                          "for the built-in list)");
        return MXP_ERR_CONFIG;
    }
    if (n > DNSBL_MAX_ZONES) {
        svc->config_error(ctx, list, "zones: more than %d zones",
                          DNSBL_MAX_ZONES);
        return MXP_ERR_CONFIG;
    }
    st->zones = calloc(n, sizeof(*st->zones));
    if (st->zones == NULL)
        return MXP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        rc = load_item(ctx, st, svc->node_at(list, i));
        if (rc != MXP_OK)
            return rc;
    }
    return MXP_OK;
}

/* A YAML document with a top-level zones: list (conf/dnsbl.yaml or a
 * zones_file). */
static int load_text(struct mxp_ctx *ctx, struct dnsbl_state *st,
                     const char *name, const char *text, size_t len)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *root = NULL, *zones = NULL;
    int rc;

    rc = svc->config_parse(ctx, name, text, len, &root);
    if (rc != MXP_OK)
        return rc == MXP_ERR_NOMEM ? rc : MXP_ERR_CONFIG;
    if (svc->node_kind(root) != MXP_NODE_MAP) {
        svc->config_error(ctx, root,
                          "%s: expected a mapping with zones:", name);
        return MXP_ERR_CONFIG;
    }
    for (size_t i = 0; i < svc->node_len(root); i++) {
        const char *key = svc->node_key(root, i);

        if (key != NULL && strcmp(key, "zones") == 0) {
            zones = svc->node_at(root, i);
        } else {
            svc->config_error(ctx, svc->node_at(root, i),
                              "%s: unknown key '%s' (expected zones)", name,
                              key ? key : "");
            return MXP_ERR_CONFIG;
        }
    }
    if (zones == NULL) {
        svc->config_error(ctx, root, "%s: no zones: list", name);
        return MXP_ERR_CONFIG;
    }
    return load_list(ctx, st, zones);
}

static int load_file(struct mxp_ctx *ctx, struct dnsbl_state *st,
                     const struct mxp_node *file)
{
    const struct mxp_services *svc = ctx->svc;
    const char *path = svc->node_str(file);
    char *text = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc;

    if (svc->node_kind(file) != MXP_NODE_SCALAR || path == NULL) {
        svc->config_error(ctx, file, "zones_file: expected a file name");
        return MXP_ERR_CONFIG;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        svc->config_error(ctx, file, "zones_file: cannot open %s: %s", path,
                          strerror(errno));
        rc = MXP_ERR_CONFIG;
        goto done;
    }
    text = malloc(DNSBL_MAX_FILE + 1);
    if (text == NULL) {
        rc = MXP_ERR_NOMEM;
        goto done;
    }
    len = fread(text, 1, DNSBL_MAX_FILE + 1, f);
    if (ferror(f)) {
        svc->config_error(ctx, file, "zones_file: cannot read %s: %s", path,
                          strerror(errno));
        rc = MXP_ERR_CONFIG;
        goto done;
    }
    if (len > DNSBL_MAX_FILE) {
        svc->config_error(ctx, file, "zones_file: %s is larger than %d bytes",
                          path, DNSBL_MAX_FILE);
        rc = MXP_ERR_CONFIG;
        goto done;
    }
    rc = load_text(ctx, st, path, text, len);
done:
    free(text);
    if (f != NULL)
        fclose(f);
    return rc;
}

static int dnsbl_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *cfg = svc->config(ctx);
    const struct mxp_node *zones = NULL, *file = NULL;
    struct dnsbl_state *st;
    int rc;

    *state = NULL;
    if (cfg != NULL) {
        zones = svc->node_get(cfg, "zones");
        file = svc->node_get(cfg, "zones_file");
    }
    if (svc->node_unset(zones))
        zones = NULL;
    if (svc->node_unset(file))
        file = NULL;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return MXP_ERR_NOMEM;
    if (zones != NULL && file != NULL) {
        svc->config_error(ctx, file,
                          "zones_file: give either zones or zones_file");
        rc = MXP_ERR_CONFIG;
    } else if (zones != NULL) {
        rc = load_list(ctx, st, zones);
    } else if (file != NULL) {
        rc = load_file(ctx, st, file);
    } else {
        rc = load_text(ctx, st, "<built-in dnsbl.yaml>", mxp_default_dnsbl,
                       mxp_default_dnsbl_len);
    }
    if (rc != MXP_OK) {
        dnsbl_free(st);
        return rc;
    }
    *state = st;
    return MXP_OK;
}

/* ---- classification -------------------------------------------------- */

/* NOERROR with records, or a definite "not there". */
static int answered(const struct mxp_dns_query *q)
{
    return q->result == MXP_DNS_ANSWER || q->result == MXP_DNS_NODATA ||
           q->result == MXP_DNS_NXDOMAIN;
}

static int has_records(const struct mxp_dns_query *q)
{
    return q->result == MXP_DNS_ANSWER && q->n_rr > 0;
}

/* Why an A answer is not a listing code, or NULL when every record is
 * one.  target: 127.0.0.1 is then an error too (it is the negative
 * self-test address, a list answering it for a target is broken). */
static const char *answer_error(const struct mxp_dns_query *q, int target,
                                char *buf, size_t len)
{
    for (size_t i = 0; i < q->n_rr; i++) {
        const unsigned char *a = q->rr[i].addr;
        char ip[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, a, ip, sizeof ip);
        if (a[0] != 127) {
            snprintf(buf, len, "answer %s is outside 127.0.0.0/8", ip);
            return buf;
        }
        if (a[1] == 255 && a[2] == 255 && a[3] == 252) {
            snprintf(buf, len, "%s: typing error in the zone name", ip);
            return buf;
        }
        if (a[1] == 255 && a[2] == 255 && a[3] == 254) {
            snprintf(buf, len,
                     "%s: queries through a public resolver are refused", ip);
            return buf;
        }
        if (a[1] == 255 && a[2] == 255 && a[3] == 255) {
            snprintf(buf, len, "%s: excessive number of queries", ip);
            return buf;
        }
        /* The rest of 127.255.255.0/24 is Spamhaus' too (DQS key and
         * access errors); no list lists addresses there. */
        if (a[1] == 255 && a[2] == 255) {
            snprintf(buf, len, "%s: error code of the list operator", ip);
            return buf;
        }
        if (target && a[1] == 0 && a[2] == 0 && a[3] == 1) {
            snprintf(buf, len, "answer 127.0.0.1 for the target");
            return buf;
        }
    }
    return NULL;
}

/* "127.0.0.2 SBL, 127.0.0.4 XBL" for the target's A records, the first
 * eight, then "+N more": the codes left out still weigh (a listing weighs
 * its worst code), so the text must not look like the whole answer. */
static void codes_text(const struct dnsbl_zone *z,
                       const struct mxp_dns_query *q, char *out, size_t len)
{
    size_t off = 0, i;

    out[0] = '\0';
    for (i = 0; i < q->n_rr && i < 8; i++) {
        const char *meaning = NULL;
        char ip[INET_ADDRSTRLEN];
        int w;

        inet_ntop(AF_INET, q->rr[i].addr, ip, sizeof ip);
        for (size_t j = 0; j < z->n_codes; j++)
            if (memcmp(z->codes[j].addr, q->rr[i].addr, 4) == 0)
                meaning = z->codes[j].meaning;
        w = snprintf(out + off, len - off, "%s%s%s%s", i ? ", " : "", ip,
                     meaning && meaning[0] ? " " : "", meaning ? meaning : "");
        if (w < 0 || (size_t)w >= len - off)
            return;
        off += (size_t)w;
    }
    if (i < q->n_rr)
        snprintf(out + off, len - off, ", +%zu more", q->n_rr - i);
}

/* What a listing weighs: the worst of its codes, each weighing its own
 * severity: when configured, else the zone's (so an unnamed code weighs
 * what the zone does). */
static enum dnsbl_severity listing_severity(const struct dnsbl_zone *z,
                                            const struct mxp_dns_query *q)
{
    enum dnsbl_severity worst = SEV_UNSET;

    for (size_t i = 0; i < q->n_rr; i++) {
        enum dnsbl_severity s = z->sev;

        for (size_t j = 0; j < z->n_codes; j++)
            if (memcmp(z->codes[j].addr, q->rr[i].addr, 4) == 0 &&
                z->codes[j].sev != SEV_UNSET)
                s = z->codes[j].sev;
        if (s > worst)
            worst = s;
    }
    return worst == SEV_UNSET ? z->sev : worst;
}

static enum mxp_state severity_state(enum dnsbl_severity s)
{
    return s == SEV_CRITICAL  ? MXP_STATE_CRITICAL
           : s == SEV_WARNING ? MXP_STATE_WARNING
                              : MXP_STATE_OK;
}

/* Classifies one zone from its four answers (target A, target TXT,
 * self-test 127.0.0.2, self-test 127.0.0.1).  text gets the codes of a
 * listing or the reason of a list error. */
static enum dnsbl_verdict classify(const struct mxp_services *svc, int t_v6,
                                   const struct dnsbl_zone *z,
                                   const struct mxp_dns_query q[4], char *text,
                                   size_t len)
{
    const struct mxp_dns_query *a = &q[0], *pos = &q[2], *neg = &q[3];
    char why[160];
    /* An IPv6 target is self-tested with the IPv6 test entries, and many
     * lists only know IPv4: say which entry failed. */
    const char *pos_name = t_v6 ? "::FFFF:7F00:2" : "127.0.0.2";
    const char *neg_name = t_v6 ? "::FFFF:7F00:1" : "127.0.0.1";

    text[0] = '\0';
    if (!answered(a)) {
        snprintf(text, len, "query failed (%s)",
                 svc->dns_result_name(a->result));
        return ZONE_ERROR;
    }
    if (has_records(a) && answer_error(a, 1, why, sizeof why) != NULL) {
        snprintf(text, len, "%s", why);
        return ZONE_ERROR;
    }
    if (!answered(pos)) {
        snprintf(text, len, "self-test query failed (%s)",
                 svc->dns_result_name(pos->result));
        return ZONE_ERROR;
    }
    if (!has_records(pos) && t_v6) {
        snprintf(text, len, "no IPv6 test entry (%s): an IPv4-only list",
                 pos_name);
        return ZONE_NO_IPV6;
    }
    if (!has_records(pos)) {
        snprintf(text, len, "self-test failed: %s not listed", pos_name);
        return ZONE_ERROR;
    }
    if (answer_error(pos, 1, why, sizeof why) != NULL) {
        snprintf(text, len, "self-test failed: %s gave %s", pos_name, why);
        return ZONE_ERROR;
    }
    if (!answered(neg)) {
        snprintf(text, len, "self-test query failed (%s)",
                 svc->dns_result_name(neg->result));
        return ZONE_ERROR;
    }
    if (has_records(neg)) {
        snprintf(text, len, "self-test failed: %s is listed", neg_name);
        return ZONE_ERROR;
    }
    if (!has_records(a))
        return ZONE_CLEAN;
    codes_text(z, a, text, len);
    return ZONE_LISTED;
}

/* The first TXT record, printable and bounded, or "". */
static void txt_text(const struct mxp_dns_query *t, char *out, size_t len)
{
    size_t n = 0;

    out[0] = '\0';
    if (!has_records(t) || t->rr[0].text == NULL || len == 0)
        return;
    for (size_t i = 0; i < t->rr[0].text_len && n + 1 < len && n < 200; i++) {
        unsigned char c = (unsigned char)t->rr[0].text[i];

        out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[n] = '\0';
}

/* ---- run ------------------------------------------------------------- */

static void add_perf(struct mxp_ctx *ctx, const char *metric, double v,
                     const char *uom, const char *warn, const char *crit,
                     double min, double max)
{
    struct mxp_perf p;

    p.metric = metric;
    p.value = v;
    p.uom = uom;
    p.warn = warn;
    p.crit = crit;
    p.min = min;
    p.max = max;
    ctx->svc->add_perfdata(ctx, &p);
}

static void append(char *out, size_t len, size_t *off, const char *fmt, ...)
    MXP_PRINTF(4, 5);

/* snprintf at *off; a cut output stays NUL-terminated and stops there. */
static void append(char *out, size_t len, size_t *off, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (*off >= len)
        return;
    va_start(ap, fmt);
    w = vsnprintf(out + *off, len - *off, fmt, ap);
    va_end(ap);
    *off = w < 0 ? len : *off + (size_t)w;
}

/* "not listed on 18 DNSBLs" or "on 3/18 DNSBLs (a, b; info: c)", at most
 * five zone names, the info listings last, then ", E list errors" when
 * there are some.  A zone with a list error said nothing about the
 * target, so "not listed" counts only the zones that answered: "not
 * listed on 14/18 DNSBLs, 4 list errors". */
static void summary_text(const struct dnsbl_state *st,
                         const enum dnsbl_verdict *v,
                         const enum dnsbl_severity *sev, size_t listed,
                         size_t info, size_t errors, size_t skipped, char *out,
                         size_t len)
{
    size_t off = 0, shown = 0, total = st->n - skipped;

    out[0] = '\0';
    if (listed + info == 0 && errors == 0) {
        append(out, len, &off, "not listed on %zu DNSBLs", total);
    } else if (listed + info == 0) {
        append(out, len, &off, "not listed on %zu/%zu DNSBLs", total - errors,
               total);
    } else {
        append(out, len, &off, "on %zu/%zu DNSBLs (", listed + info, total);
        /* pass 0: the listings that count, pass 1: the info ones */
        for (int pass = 0; pass < 2 && shown <= 5; pass++) {
            size_t here = 0;

            for (size_t i = 0; i < st->n && shown <= 5; i++) {
                if (v[i] != ZONE_LISTED || (sev[i] == SEV_INFO) != pass)
                    continue;
                if (shown++ == 5) {
                    append(out, len, &off, ", ...");
                    break;
                }
                append(out, len, &off, "%s%s%s",
                       here == 0 && pass && listed ? "; "
                       : here                      ? ", "
                                                   : "",
                       here == 0 && pass ? "info: " : "", st->zones[i].name);
                here++;
            }
        }
        append(out, len, &off, ")");
    }
    if (errors > 0)
        append(out, len, &off, ", %zu list error%s", errors,
               errors == 1 ? "" : "s");
    if (skipped > 0)
        append(out, len, &off, ", %zu IPv4-only skipped", skipped);
}

static int dnsbl_run(struct mxp_ctx *ctx, void *state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct dnsbl_state *st = state;
    const struct mxp_target *t = ctx->target;
    struct mxp_dns_query *q = NULL;
    enum dnsbl_verdict *verdict = NULL;
    enum dnsbl_severity *sev = NULL;
    char *names = NULL, text[DNSBL_TEXT_LEN], txt[256], summary[1024];
    unsigned char pos[16], neg[16];
    size_t listed = 0, info = 0, errors = 0, skipped = 0, n, used;
    enum mxp_state check = MXP_STATE_OK;
    double t0, elapsed;
    int rc = MXP_OK, batch;

    if (st == NULL || t == NULL || st->n == 0)
        return MXP_ERR_INVALID;
    n = st->n;
    q = calloc(4 * n, sizeof(*q));
    verdict = calloc(n, sizeof(*verdict));
    sev = calloc(n, sizeof(*sev));
    names = calloc(3 * n, DNSBL_NAME_LEN);
    if (q == NULL || verdict == NULL || sev == NULL || names == NULL) {
        rc = MXP_ERR_NOMEM;
        goto done;
    }
    selftest_addr(t->family, 1, pos);
    selftest_addr(t->family, 0, neg);
    for (size_t i = 0; i < n; i++) {
        char *tn = names + (3 * i) * DNSBL_NAME_LEN;
        char *pn = tn + DNSBL_NAME_LEN, *nn = pn + DNSBL_NAME_LEN;
        const char *zone = st->zones[i].name;

        /* Zone names are bounded in init(), so these always fit. */
        ctx->svc->reverse_name(t->family, t->addr_bytes, zone, tn,
                               DNSBL_NAME_LEN);
        ctx->svc->reverse_name(t->family, pos, zone, pn, DNSBL_NAME_LEN);
        ctx->svc->reverse_name(t->family, neg, zone, nn, DNSBL_NAME_LEN);
        q[4 * i] = (struct mxp_dns_query){.name = tn, .type = MXP_DNS_A};
        q[4 * i + 1] = (struct mxp_dns_query){.name = tn, .type = MXP_DNS_TXT};
        q[4 * i + 2] = (struct mxp_dns_query){.name = pn, .type = MXP_DNS_A};
        q[4 * i + 3] = (struct mxp_dns_query){.name = nn, .type = MXP_DNS_A};
    }

    t0 = svc->now();
    batch = svc->dns_batch(ctx, q, 4 * n);
    elapsed = svc->now() - t0;

    for (size_t i = 0; i < n; i++) {
        if (batch != MXP_OK) {
            verdict[i] = ZONE_ERROR;
            errors++;
            continue;
        }
        verdict[i] = classify(ctx->svc, t->family == AF_INET6, &st->zones[i],
                              &q[4 * i], text, sizeof text);
        if (verdict[i] == ZONE_LISTED) {
            sev[i] = listing_severity(&st->zones[i], &q[4 * i]);
            check = svc->state_worst(check, severity_state(sev[i]));
            if (sev[i] == SEV_INFO)
                info++;
            else
                listed++;
        } else if (verdict[i] == ZONE_ERROR)
            errors++;
        else if (verdict[i] == ZONE_NO_IPV6)
            skipped++;
    }
    used = n - skipped; /* the lists that can judge this address */
    /* The ranges on the count are an extra bound (many lists agreeing
     * weigh more than each alone), never a way down. */
    check = svc->state_worst(check, svc->check_threshold(ctx, (double)listed));
    /* "Not listed" from a minority of the lists is no verdict: when most
     * lists failed, UNKNOWN, unless a listing already says more. */
    if (errors * 2 > used)
        check = svc->state_worst(check, MXP_STATE_UNKNOWN);

    for (size_t i = 0; i < n; i++) {
        const char *zone = st->zones[i].name;

        if (batch != MXP_OK) {
            svc->add_detail(ctx, MXP_STATE_UNKNOWN, "list error on %s: %s",
                            zone, svc->strerror(batch));
            continue;
        }
        /* classify() again: cheaper than keeping n texts around. */
        classify(ctx->svc, t->family == AF_INET6, &st->zones[i], &q[4 * i],
                 text, sizeof text);
        if (verdict[i] == ZONE_LISTED) {
            txt_text(&q[4 * i + 1], txt, sizeof txt);
            svc->add_detail(ctx, severity_state(sev[i]),
                            "listed on %s (%s)%s%s%s", zone, text,
                            sev[i] == SEV_INFO ? ", info only" : "",
                            txt[0] ? ": " : "", txt);
        } else if (verdict[i] == ZONE_ERROR) {
            svc->add_detail(ctx, MXP_STATE_UNKNOWN, "list error on %s: %s",
                            zone, text);
        } else if (verdict[i] == ZONE_NO_IPV6) {
            svc->add_detail(ctx, MXP_STATE_OK, "skipped %s: %s", zone, text);
        } else {
            svc->add_detail(ctx, MXP_STATE_OK, "not listed on %s", zone);
        }
    }

    if (used == 0) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN,
                        "none of the %zu DNSBLs lists IPv6 addresses", n);
    } else if (errors == used) {
        svc->set_result(ctx, MXP_STATE_UNKNOWN, "all %zu DNSBLs failed", used);
    } else {
        summary_text(st, verdict, sev, listed, info, errors, skipped, summary,
                     sizeof summary);
        svc->set_result(ctx, check, "%s", summary);
    }
    add_perf(ctx, "listed", (double)listed, "", svc->threshold_text(ctx, 0),
             svc->threshold_text(ctx, 1), 0, (double)used);
    add_perf(ctx, "info", (double)info, "", NULL, NULL, 0, (double)used);
    add_perf(ctx, "errors", (double)errors, "", NULL, NULL, 0, (double)used);
    add_perf(ctx, "zones", (double)used, "", NULL, NULL, NAN, NAN);
    add_perf(ctx, "time", elapsed, "s", NULL, NULL, NAN, NAN);
done:
    free(names);
    free(sev);
    free(verdict);
    free(q);
    return rc;
}

static const char *const dnsbl_keys[] = {"zones", "zones_file", NULL};

MXP_PLUGIN_DEFINE(.name = "dnsbl",
                  .summary = "listings of the target's address on DNS "
                             "blocklists (RFC 5782 self-tested)",
                  .config_keys = dnsbl_keys, .default_warning = "0",
                  .default_critical = "2", .init = dnsbl_init, .run = dnsbl_run,
                  .free = dnsbl_free);
