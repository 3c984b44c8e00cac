/*
 * geoip.c - the geoip check: where the target address is, and whose
 * network it is in, from MaxMind DB files (libmaxminddb).
 *
 * Databases come from plugins.geoip.databases, else from the *.mmdb files
 * of the standard places.  Each is opened in the job (mmap: cheap, and a
 * file replaced by geoipupdate between targets is read fresh), its type
 * told by the metadata's database_type (City, Country, ASN, Anonymous-IP),
 * and the target looked up once.  The first database answering a field
 * wins.  Opens no connection: nothing here talks to the target.
 *
 * Never a false OK: a database that cannot be opened or whose search tree
 * or data is corrupt makes the check UNKNOWN with libmaxminddb's words;
 * an address no database covers is "no location" (or "private address"),
 * OK, but UNKNOWN when a policy (allowed_countries, allowed_asns) needed
 * the answer.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <maxminddb.h>

#include <mxprobe/plugin.h>

#define GEOIP_MAX_DBS 16      /* configured or found; more is a mistake */
#define GEOIP_MAX_ALLOWED 256 /* entries of allowed_countries/_asns */
#define GEOIP_TEXT 256

/* The standard places, searched when no databases are configured; the
 * unit tests point this elsewhere. */
static const char *geoip_default_dirs[] = {"/var/lib/GeoIP", "/usr/share/GeoIP",
                                           NULL};

struct geoip_state {
    char *dbs[GEOIP_MAX_DBS]; /* configured paths; none: search */
    size_t n_dbs;
    long max_age_days; /* 0: no age check */
    char countries[GEOIP_MAX_ALLOWED][3];
    size_t n_countries;
    uint32_t asns[GEOIP_MAX_ALLOWED];
    size_t n_asns;
};

enum geoip_kind { KIND_OTHER, KIND_CITY, KIND_COUNTRY, KIND_ASN, KIND_ANON };

/* What the lookups found; "" / NAN / 0 for not known. */
struct geoip_found {
    char country[8], country_name[GEOIP_TEXT];
    char subdivision[GEOIP_TEXT], city[GEOIP_TEXT];
    double lat, lon;
    unsigned radius; /* km, 0 unknown */
    int have_asn;
    uint32_t asn;
    char org[GEOIP_TEXT];
    int have_anon;
    char anon[GEOIP_TEXT]; /* "VPN, Tor exit node" */
    int any;               /* some database had a record */
};

static const char *const geoip_keys[] = {
    "databases", "max_age_days", "allowed_countries", "allowed_asns", NULL};

static void geoip_free(void *state)
{
    struct geoip_state *st = state;

    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n_dbs; i++)
        free(st->dbs[i]);
    free(st);
}

/* ---- config ---------------------------------------------------------- */

/* A list key: a sequence of scalars, at most GEOIP_MAX_ALLOWED (or max)
 * of them; NULL when unset.  Reports and returns -1 when malformed. */
static int config_list(struct mxp_ctx *ctx, const struct mxp_node *cfg,
                       const char *key, size_t max, const struct mxp_node **out)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *n = cfg ? svc->node_get(cfg, key) : NULL;

    *out = NULL;
    if (svc->node_unset(n))
        return 0;
    if (svc->node_kind(n) != MXP_NODE_SEQ) {
        svc->config_error(ctx, n, "%s: expected a list", key);
        return -1;
    }
    if (svc->node_len(n) > max) {
        svc->config_error(ctx, n, "%s: more than %zu entries", key, max);
        return -1;
    }
    for (size_t i = 0; i < svc->node_len(n); i++) {
        const struct mxp_node *e = svc->node_at(n, i);

        if (svc->node_kind(e) != MXP_NODE_SCALAR || svc->node_unset(e)) {
            svc->config_error(ctx, e, "%s: entry %zu is not a value", key,
                              i + 1);
            return -1;
        }
    }
    *out = n;
    return 0;
}

static int parse_country(struct mxp_ctx *ctx, struct geoip_state *st,
                         const struct mxp_node *e)
{
    const char *s = ctx->svc->node_str(e);

    if (strlen(s) != 2 || !isalpha((unsigned char)s[0]) ||
        !isalpha((unsigned char)s[1])) {
        ctx->svc->config_error(ctx, e,
                               "allowed_countries: '%s' is not a two-letter "
                               "ISO 3166 country code",
                               s);
        return -1;
    }
    st->countries[st->n_countries][0] = (char)toupper((unsigned char)s[0]);
    st->countries[st->n_countries][1] = (char)toupper((unsigned char)s[1]);
    st->countries[st->n_countries][2] = '\0';
    st->n_countries++;
    return 0;
}

/* 15169 or AS15169. */
static int parse_asn(struct mxp_ctx *ctx, struct geoip_state *st,
                     const struct mxp_node *e)
{
    const char *s = ctx->svc->node_str(e), *p = s;
    unsigned long v = 0;

    if (strncasecmp(p, "AS", 2) == 0)
        p += 2;
    if (*p == '\0')
        goto bad;
    for (; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 4294967295UL)
            goto bad;
    }
    if (v == 0)
        goto bad;
    st->asns[st->n_asns++] = (uint32_t)v;
    return 0;
bad:
    ctx->svc->config_error(ctx, e,
                           "allowed_asns: '%s' is not an AS number "
                           "(1..4294967295, AS prefix allowed)",
                           s);
    return -1;
}

/* 1 when a standard place holds some *.mmdb file. */
static int any_in_places(void)
{
    for (size_t d = 0; geoip_default_dirs[d] != NULL; d++) {
        DIR *dir = opendir(geoip_default_dirs[d]);
        struct dirent *de;
        int found = 0;

        if (dir == NULL)
            continue;
        while (!found && (de = readdir(dir)) != NULL) {
            size_t len = strlen(de->d_name);

            found = len > 5 && strcmp(de->d_name + len - 5, ".mmdb") == 0;
        }
        closedir(dir);
        if (found)
            return 1;
    }
    return 0;
}

static int geoip_init(struct mxp_ctx *ctx, void **state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_node *cfg = svc->config(ctx), *dbs, *cc, *as;
    struct geoip_state *st;
    int bad = 0;

    *state = NULL;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return MXP_ERR_NOMEM;
    st->max_age_days = 60;
    if (svc->config_long(ctx, cfg, "max_age_days", 0, 36500,
                         &st->max_age_days) != MXP_OK)
        bad = 1;
    if (config_list(ctx, cfg, "databases", GEOIP_MAX_DBS, &dbs) < 0 ||
        config_list(ctx, cfg, "allowed_countries", GEOIP_MAX_ALLOWED, &cc) <
            0 ||
        config_list(ctx, cfg, "allowed_asns", GEOIP_MAX_ALLOWED, &as) < 0) {
        geoip_free(st);
        return MXP_ERR_CONFIG;
    }
    for (size_t i = 0; dbs != NULL && i < svc->node_len(dbs); i++) {
        st->dbs[i] = strdup(svc->node_str(svc->node_at(dbs, i)));
        if (st->dbs[i] == NULL) {
            geoip_free(st);
            return MXP_ERR_NOMEM;
        }
        st->n_dbs++;
    }
    for (size_t i = 0; cc != NULL && i < svc->node_len(cc); i++)
        bad |= parse_country(ctx, st, svc->node_at(cc, i)) < 0;
    for (size_t i = 0; as != NULL && i < svc->node_len(as); i++)
        bad |= parse_asn(ctx, st, svc->node_at(as, i)) < 0;
    if (bad) {
        geoip_free(st);
        return MXP_ERR_CONFIG;
    }
    *state = st;
    /* No database configured nor found: the core leaves geoip out of a
     * default run; named with -C, run() says what was tried. */
    return st->n_dbs > 0 || any_in_places() ? MXP_OK : MXP_ERR_UNSUPPORTED;
}

/* ---- finding the databases -------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.mmdb files of the standard places, sorted per place, into
 * paths[] (malloc'd); legacy .dat files are skipped, said in -v. */
static size_t search_dbs(struct mxp_ctx *ctx, char **paths, size_t max)
{
    size_t n = 0;

    for (size_t d = 0; geoip_default_dirs[d] != NULL; d++) {
        DIR *dir = opendir(geoip_default_dirs[d]);
        struct dirent *de;
        size_t first = n;

        if (dir == NULL)
            continue;
        while ((de = readdir(dir)) != NULL) {
            size_t len = strlen(de->d_name);

            if (len > 4 && strcmp(de->d_name + len - 4, ".dat") == 0) {
                ctx->svc->log(ctx, 1,
                              "geoip: skipping %s/%s: legacy GeoIP .dat "
                              "format, libmaxminddb reads only .mmdb",
                              geoip_default_dirs[d], de->d_name);
                continue;
            }
            if (len <= 5 || strcmp(de->d_name + len - 5, ".mmdb") != 0 ||
                n >= max)
                continue;
            if (asprintf(&paths[n], "%s/%s", geoip_default_dirs[d],
                         de->d_name) < 0)
                break;
            n++;
        }
        closedir(dir);
        qsort(paths + first, n - first, sizeof(*paths), cmp_str);
    }
    return n;
}

/* ---- reading entries -------------------------------------------------- */

/* The value at the path (NULL-terminated list) into data.  1 found, 0
 * absent, -1 error (corrupt data: the words in err). */
static int get_value(MMDB_entry_s *entry, MMDB_entry_data_s *data, char *err,
                     size_t errlen, ...)
{
    va_list ap;
    int rc;

    va_start(ap, errlen);
    rc = MMDB_vget_value(entry, data, ap);
    va_end(ap);
    if (rc == MMDB_SUCCESS)
        return data->has_data ? 1 : 0;
    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ||
        rc == MMDB_INVALID_LOOKUP_PATH_ERROR)
        return 0;
    snprintf(err, errlen, "%s", MMDB_strerror(rc));
    return -1;
}

/* A UTF-8 string of the database into out, control bytes made '?',
 * cut to fit. */
static void copy_string(const MMDB_entry_data_s *data, char *out, size_t len)
{
    size_t n = data->data_size < len - 1 ? data->data_size : len - 1;

    /* A cut falls before a character, not inside one (continuation
     * bytes are 10xxxxxx). */
    if (n < data->data_size)
        while (n > 0 && ((unsigned char)data->utf8_string[n] & 0xc0) == 0x80)
            n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data->utf8_string[i];

        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = '\0';
}

/* A string field, when out is still empty. 0 or -1 (error). */
#define GET_STRING(out, ...)                                                   \
    do {                                                                       \
        int r_ = get_value(entry, &d, err, errlen, __VA_ARGS__, NULL);         \
        if (r_ < 0)                                                            \
            return -1;                                                         \
        if (r_ > 0 && (out)[0] == '\0' &&                                      \
            d.type == MMDB_DATA_TYPE_UTF8_STRING)                              \
            copy_string(&d, (out), sizeof(out));                               \
    } while (0)

static int read_double(MMDB_entry_s *entry, double *out, char *err,
                       size_t errlen, const char *key)
{
    MMDB_entry_data_s d;
    int r = get_value(entry, &d, err, errlen, "location", key, NULL);

    if (r > 0 && isnan(*out) && d.type == MMDB_DATA_TYPE_DOUBLE)
        *out = d.double_value;
    return r < 0 ? -1 : 0;
}

static int read_location(MMDB_entry_s *entry, struct geoip_found *f, char *err,
                         size_t errlen)
{
    MMDB_entry_data_s d;
    int r;

    GET_STRING(f->country, "country", "iso_code");
    GET_STRING(f->country_name, "country", "names", "en");
    /* Some networks have a registered country only. */
    GET_STRING(f->country, "registered_country", "iso_code");
    GET_STRING(f->country_name, "registered_country", "names", "en");
    GET_STRING(f->subdivision, "subdivisions", "0", "names", "en");
    GET_STRING(f->subdivision, "subdivisions", "0", "iso_code");
    GET_STRING(f->city, "city", "names", "en");
    if (isnan(f->lat) && isnan(f->lon)) {
        double lat = NAN, lon = NAN;

        if (read_double(entry, &lat, err, errlen, "latitude") < 0 ||
            read_double(entry, &lon, err, errlen, "longitude") < 0)
            return -1;
        /* Both or none, and only on the globe: a corrupt pair would give
         * a map link and JSON lat/lon to nowhere (NaN/inf fail too). */
        if (lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
            f->lat = lat;
            f->lon = lon;
        }
    }
    r = get_value(entry, &d, err, errlen, "location", "accuracy_radius", NULL);
    if (r < 0)
        return -1;
    if (r > 0 && f->radius == 0 && d.type == MMDB_DATA_TYPE_UINT16)
        f->radius = d.uint16;
    return 0;
}

static int read_asn(MMDB_entry_s *entry, struct geoip_found *f, char *err,
                    size_t errlen)
{
    MMDB_entry_data_s d;
    int r = get_value(entry, &d, err, errlen, "autonomous_system_number", NULL);

    if (r < 0)
        return -1;
    if (r > 0 && !f->have_asn && d.type == MMDB_DATA_TYPE_UINT32) {
        f->asn = d.uint32;
        f->have_asn = 1;
    }
    GET_STRING(f->org, "autonomous_system_organization");
    return 0;
}

static int read_anon(MMDB_entry_s *entry, struct geoip_found *f, char *err,
                     size_t errlen)
{
    static const struct {
        const char *key, *words;
    } flags[] = {
        {"is_anonymous_vpn", "VPN"},
        {"is_tor_exit_node", "Tor exit node"},
        {"is_hosting_provider", "hosting provider"},
        {"is_public_proxy", "public proxy"},
        {"is_residential_proxy", "residential proxy"},
    };
    MMDB_entry_data_s d;

    if (f->have_anon)
        return 0;
    f->have_anon = 1;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        int r = get_value(entry, &d, err, errlen, flags[i].key, NULL);
        size_t len = strlen(f->anon);

        if (r < 0)
            return -1;
        if (r > 0 && d.type == MMDB_DATA_TYPE_BOOLEAN && d.boolean)
            snprintf(f->anon + len, sizeof f->anon - len, "%s%s",
                     len ? ", " : "", flags[i].words);
    }
    return 0;
}

/* ---- addresses -------------------------------------------------------- */

/* Why addr is not a public address ("loopback"...), or NULL. */
static const char *special_range(int family, const unsigned char *a)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};

    if (family == AF_INET6) {
        static const unsigned char loop[16] = {[15] = 1};

        if (memcmp(a, v4mapped, 12) == 0)
            return special_range(AF_INET, a + 12);
        if (memcmp(a, loop, 16) == 0)
            return "loopback";
        if ((a[0] & 0xfe) == 0xfc)
            return "unique local";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
            return "link-local";
        if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
            return "documentation";
        return NULL;
    }
    if (a[0] == 127)
        return "loopback";
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
        (a[0] == 192 && a[1] == 168))
        return "RFC 1918";
    if (a[0] == 100 && (a[1] & 0xc0) == 64)
        return "shared address space";
    if (a[0] == 169 && a[1] == 254)
        return "link-local";
    if ((a[0] == 192 && a[1] == 0 && a[2] == 2) ||
        (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
        (a[0] == 203 && a[1] == 0 && a[2] == 113))
        return "documentation";
    if (a[0] == 0)
        return "this network";
    return NULL;
}

/* ---- one database ----------------------------------------------------- */

static enum geoip_kind kind_of(const char *type)
{
    if (type == NULL)
        return KIND_OTHER;
    if (strstr(type, "Anonymous-IP") != NULL)
        return KIND_ANON;
    if (strstr(type, "City") != NULL || strstr(type, "Enterprise") != NULL)
        return KIND_CITY;
    if (strstr(type, "Country") != NULL)
        return KIND_COUNTRY;
    if (strstr(type, "ASN") != NULL)
        return KIND_ASN;
    return KIND_OTHER;
}

/* Opens path, says its type and age, looks the target up into f.  *used
 * is set when the database is of a kind geoip reads. */
static void one_db(struct mxp_ctx *ctx, const struct geoip_state *st,
                   const char *path, int explicit, struct geoip_found *f,
                   double *lookup_time, int *used)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_target *t = ctx->target;
    struct sockaddr_storage ss;
    struct stat sb;
    MMDB_s db;
    MMDB_lookup_result_s res;
    enum geoip_kind kind;
    char date[32], err[GEOIP_TEXT];
    time_t built;
    struct tm tm;
    double t0, age_days;
    int rc, mmerr = 0, r = 0;

    /* open() of a FIFO blocks until a writer comes (the job would hang to
     * its deadline) and a directory gives only "IO error": regular files
     * only. */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                        "cannot open %s: not a regular file (%s)", path,
                        S_ISDIR(sb.st_mode) ? "a directory"
                                            : "a device, FIFO or socket");
        *used = 1;
        return;
    }
    rc = MMDB_open(path, MMDB_MODE_MMAP, &db);
    if (rc != MMDB_SUCCESS) {
        /* libmaxminddb's words leave out the system's (its cleanup may
         * have changed errno): ask again for them. */
        FILE *fp = NULL;
        int e = 0;

        if (rc == MMDB_FILE_OPEN_ERROR || rc == MMDB_IO_ERROR) {
            fp = fopen(path, "rb");
            e = fp == NULL ? errno : 0;
            if (fp != NULL)
                fclose(fp);
        }
        if (e != 0)
            svc->add_detail(ctx, MXP_STATE_UNKNOWN, "cannot open %s: %s (%s)",
                            path, MMDB_strerror(rc), strerror(e));
        else
            svc->add_detail(ctx, MXP_STATE_UNKNOWN, "cannot open %s: %s", path,
                            MMDB_strerror(rc));
        *used = 1;
        return;
    }
    kind = kind_of(db.metadata.database_type);

    memset(&ss, 0, sizeof ss);
    /* ::ffff:a.b.c.d is looked up as a.b.c.d: an IPv4-only database
     * would not cover it as IPv6, and IPv6 ones alias the two anyway. */
    if (t->family == AF_INET6 &&
        memcmp(t->addr_bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, t->addr_bytes, 16);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr,
               t->family == AF_INET6 ? t->addr_bytes + 12 : t->addr_bytes, 4);
    }
    /* The lookup goes first, so that a corrupt search tree is said as
     * such whatever the database claims to be. */
    t0 = svc->now();
    res = MMDB_lookup_sockaddr(&db, (struct sockaddr *)&ss, &mmerr);
    *lookup_time += svc->now() - t0;
    if (mmerr != MMDB_SUCCESS &&
        mmerr != MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
        /* An IPv6 address in an IPv4 database is simply not covered. */
        svc->add_detail(ctx, MXP_STATE_UNKNOWN, "lookup of %s in %s failed: %s",
                        t->addr, path, MMDB_strerror(mmerr));
        *used = 1;
        MMDB_close(&db);
        return;
    }
    if (mmerr == MMDB_SUCCESS && res.found_entry) {
        MMDB_entry_data_s d;

        /* The record as a whole must decode, whatever the kind. */
        if (get_value(&res.entry, &d, err, sizeof err, NULL) < 0) {
            svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                            "cannot read the record of %s in %s: %s", t->addr,
                            path, err);
            *used = 1;
            MMDB_close(&db);
            return;
        }
    }
    if (kind == KIND_OTHER) {
        *used = explicit;
        if (explicit)
            svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                            "%s: database type %s is none of City, "
                            "Country, ASN, Anonymous-IP",
                            path, db.metadata.database_type);
        else
            svc->log(ctx, 1, "geoip: skipping %s: database type %s", path,
                     db.metadata.database_type);
        MMDB_close(&db);
        return;
    }
    *used = 1;
    built = (time_t)db.metadata.build_epoch;
    if (gmtime_r(&built, &tm) == NULL ||
        strftime(date, sizeof date, "%Y-%m-%d", &tm) == 0)
        snprintf(date, sizeof date, "?");
    age_days = difftime(time(NULL), built) / 86400.0;
    if (st->max_age_days > 0 && age_days > (double)st->max_age_days)
        svc->add_detail(ctx, MXP_STATE_WARNING,
                        "%s database built %s is %.0f days old (over "
                        "max_age_days %ld): stale data misplaces addresses "
                        "(%s)",
                        db.metadata.database_type, date, age_days,
                        st->max_age_days, path);
    else
        svc->add_detail(ctx, MXP_STATE_OK, "database %s (%s) built %s", path,
                        db.metadata.database_type, date);

    if (mmerr == MMDB_SUCCESS && res.found_entry) {
        err[0] = '\0';
        f->any = 1;
        t0 = svc->now();
        if (kind == KIND_CITY || kind == KIND_COUNTRY)
            r = read_location(&res.entry, f, err, sizeof err);
        else if (kind == KIND_ASN)
            r = read_asn(&res.entry, f, err, sizeof err);
        else
            r = read_anon(&res.entry, f, err, sizeof err);
        *lookup_time += svc->now() - t0;
        if (r < 0)
            svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                            "cannot read the record of %s in %s: %s", t->addr,
                            path, err);
    }
    MMDB_close(&db);
}

/* ---- run ---------------------------------------------------------------- */

static void say_found(struct mxp_ctx *ctx, const struct geoip_found *f)
{
    const struct mxp_services *svc = ctx->svc;

    if (f->country[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_OK, "country: %s %s", f->country,
                        f->country_name);
    if (f->subdivision[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_OK, "subdivision: %s", f->subdivision);
    if (f->city[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_OK, "city: %s", f->city);
    if (!isnan(f->lat) && !isnan(f->lon)) {
        if (f->radius > 0)
            svc->add_detail(ctx, MXP_STATE_OK,
                            "coordinates: %.4f, %.4f (accuracy radius %u km)",
                            f->lat, f->lon, f->radius);
        else
            svc->add_detail(ctx, MXP_STATE_OK, "coordinates: %.4f, %.4f",
                            f->lat, f->lon);
        svc->add_detail(ctx, MXP_STATE_OK,
                        "map: https://www.openstreetmap.org/?mlat=%.4f&"
                        "mlon=%.4f#map=10/%.4f/%.4f",
                        f->lat, f->lon, f->lat, f->lon);
    }
    if (f->have_asn)
        svc->add_detail(ctx, MXP_STATE_OK, "ASN: AS%u %s", (unsigned)f->asn,
                        f->org[0] ? f->org : "(no organisation)");
    if (f->anon[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_OK, "anonymous IP: %s", f->anon);
}

/* The JSON output's fields (country, city, lat, lon, asn, org), when the
 * core has the service (an ABI 1.2 core from before it does not). */
static void add_fields(struct mxp_ctx *ctx, const struct geoip_found *f)
{
    const struct mxp_services *svc = ctx->svc;

    if (svc->size < offsetof(struct mxp_services, add_field_number) +
                        sizeof(svc->add_field_number) ||
        svc->add_field == NULL || svc->add_field_number == NULL)
        return;
    if (f->country[0] != '\0')
        svc->add_field(ctx, "country", f->country);
    if (f->country_name[0] != '\0')
        svc->add_field(ctx, "country_name", f->country_name);
    if (f->subdivision[0] != '\0')
        svc->add_field(ctx, "subdivision", f->subdivision);
    if (f->city[0] != '\0')
        svc->add_field(ctx, "city", f->city);
    if (!isnan(f->lat) && !isnan(f->lon)) {
        svc->add_field_number(ctx, "lat", f->lat);
        svc->add_field_number(ctx, "lon", f->lon);
        if (f->radius > 0)
            svc->add_field_number(ctx, "accuracy_radius_km", f->radius);
    }
    if (f->have_asn) {
        svc->add_field_number(ctx, "asn", f->asn);
        if (f->org[0] != '\0')
            svc->add_field(ctx, "org", f->org);
    }
    if (f->anon[0] != '\0')
        svc->add_field(ctx, "anonymous", f->anon);
}

static void policy(struct mxp_ctx *ctx, const struct geoip_state *st,
                   const struct geoip_found *f, const char *special)
{
    const struct mxp_services *svc = ctx->svc;
    const char *addr = ctx->target->addr;
    char list[GEOIP_TEXT] = "";
    size_t len = 0;
    int ok = 0;

    if (st->n_countries > 0) {
        for (size_t i = 0; i < st->n_countries; i++) {
            ok |= strcmp(st->countries[i], f->country) == 0;
            if (len < sizeof list)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                        i ? ", " : "", st->countries[i]);
        }
        if (f->country[0] == '\0' && special == NULL)
            svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                            "no country known for %s: allowed_countries "
                            "cannot be checked",
                            addr);
        else if (f->country[0] != '\0' && !ok)
            svc->add_detail(ctx, MXP_STATE_WARNING,
                            "country %s is not in allowed_countries (%s)",
                            f->country, list);
    }
    if (st->n_asns > 0) {
        ok = 0;
        len = 0;
        list[0] = '\0';
        for (size_t i = 0; i < st->n_asns; i++) {
            ok |= f->have_asn && st->asns[i] == f->asn;
            if (len < sizeof list)
                len += (size_t)snprintf(list + len, sizeof list - len, "%sAS%u",
                                        i ? ", " : "", (unsigned)st->asns[i]);
        }
        if (!f->have_asn && special == NULL)
            svc->add_detail(ctx, MXP_STATE_UNKNOWN,
                            "no ASN known for %s: allowed_asns cannot be "
                            "checked",
                            addr);
        else if (f->have_asn && !ok)
            svc->add_detail(ctx, MXP_STATE_WARNING,
                            "AS%u is not in allowed_asns (%s)",
                            (unsigned)f->asn, list);
    }
}

static int geoip_run(struct mxp_ctx *ctx, void *state)
{
    const struct mxp_services *svc = ctx->svc;
    const struct geoip_state *st = state;
    const struct mxp_target *t = ctx->target;
    char *found[GEOIP_MAX_DBS];
    const char *const *paths;
    size_t n_paths, n_found = 0;
    struct geoip_found f;
    double lookup_time = 0;
    const char *special = special_range(t->family, t->addr_bytes);
    int n_used = 0;

    if (st->n_dbs > 0) {
        paths = (const char *const *)st->dbs;
        n_paths = st->n_dbs;
    } else {
        n_found = search_dbs(ctx, found, GEOIP_MAX_DBS);
        paths = (const char *const *)found;
        n_paths = n_found;
    }
    memset(&f, 0, sizeof f);
    f.lat = f.lon = NAN;
    for (size_t i = 0; i < n_paths; i++) {
        int used = 0;

        one_db(ctx, st, paths[i], st->n_dbs > 0, &f, &lookup_time, &used);
        n_used += used;
    }
    for (size_t i = 0; i < n_found; i++)
        free(found[i]);
    if (n_used == 0) {
        char tried[GEOIP_TEXT] = "";
        size_t len = 0;

        for (size_t d = 0; geoip_default_dirs[d] != NULL; d++)
            if (len < sizeof tried)
                len += (size_t)snprintf(tried + len, sizeof tried - len,
                                        "%s%s/*.mmdb", d ? ", " : "",
                                        geoip_default_dirs[d]);
        svc->set_result(ctx, MXP_STATE_UNKNOWN,
                        "no GeoIP database: plugins.geoip.databases is not "
                        "set and none found (tried %s)",
                        tried);
        return MXP_OK;
    }
    say_found(ctx, &f);
    add_fields(ctx, &f);
    if (f.country[0] == '\0' && !f.have_asn && isnan(f.lat)) {
        if (special != NULL)
            svc->add_detail(ctx, MXP_STATE_OK,
                            "%s is a private address (%s): no location",
                            t->addr, special);
        else
            svc->add_detail(ctx, MXP_STATE_OK, "no location for %s", t->addr);
    }
    policy(ctx, st, &f, special);
    svc->add_metric(ctx, "lookup_time", lookup_time, "s", NAN, 0);
    if (svc->set_result_from_details(ctx))
        return MXP_OK;
    if (f.country[0] == '\0' && !f.have_asn && isnan(f.lat)) {
        if (special != NULL)
            svc->set_result(ctx, MXP_STATE_OK, "private address (%s)", special);
        else
            svc->set_result(ctx, MXP_STATE_OK, "no location");
    } else {
        char where[2 * GEOIP_TEXT] = "";
        size_t len = 0;

        if (f.city[0] != '\0')
            len += (size_t)snprintf(where + len, sizeof where - len, "%s, ",
                                    f.city);
        /* The core puts the address in front of this. */
        if (f.country[0] != '\0' && len < sizeof where) {
            if (f.city[0] == '\0' && f.country_name[0] != '\0')
                len += (size_t)snprintf(where + len, sizeof where - len,
                                        "%s (%s)", f.country_name, f.country);
            else
                len += (size_t)snprintf(where + len, sizeof where - len, "%s",
                                        f.country);
        }
        if (f.have_asn && len < sizeof where)
            len +=
                (size_t)snprintf(where + len, sizeof where - len, "%sAS%u %s",
                                 len ? ", " : "", (unsigned)f.asn, f.org);
        if (where[0] == '\0')
            snprintf(where, sizeof where, "located");
        svc->set_result(ctx, MXP_STATE_OK, "%s", where);
    }
    return MXP_OK;
}

MXP_PLUGIN_DEFINE(.name = "geoip",
                  .summary = "where the target address is (country, city, "
                             "ASN) from MaxMind DB files",
                  .config_keys = geoip_keys, .init = geoip_init,
                  .run = geoip_run, .free = geoip_free);
