/*
 * test_geoip.c - the geoip plugin against the fake core and MaxMind's
 * test databases (tests/data/geoip, README there): the known answers of
 * expected-lookups.tsv for City, Country, ASN and Anonymous-IP, IPv4 and
 * IPv6; the map link; uncovered and private addresses; the policies; the
 * build-date age; the search of the standard places; a corrupt search
 * tree, a missing and a non-MMDB file; config validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../plugins/geoip/geoip.c"
#include "fake_core.h"

#define DATA "tests/data/geoip/"
#define CITY DATA "GeoIP2-City-Test.mmdb"
#define COUNTRY DATA "GeoIP2-Country-Test.mmdb"
#define ASN DATA "GeoLite2-ASN-Test.mmdb"
#define ANON DATA "GeoIP2-Anonymous-IP-Test.mmdb"
#define BROKEN DATA "MaxMind-DB-test-broken-search-tree-24.mmdb"

static int setup(void **state)
{
    (void)state;
    fake_reset();
    fake_set_plugin_name("geoip");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

static void print_details(void)
{
    for (size_t i = 0; i < fake_n_details(); i++)
        print_message("  detail: %s\n", fake_detail(i, NULL));
}

static int last_init; /* what run_with's init() returned */

/* init with yaml, run against addr; the run's state. */
static enum mxp_state run_with(const char *yaml, const char *addr)
{
    void *st = NULL;

    fake_reset();
    fake_set_plugin_name("geoip");
    assert_int_equal(fake_config_set(yaml), MXP_OK);
    last_init = geoip_init(fake_init_ctx(), &st);
    /* UNSUPPORTED: no database configured nor found (still a state). */
    if (last_init != MXP_ERR_UNSUPPORTED)
        assert_int_equal(last_init, MXP_OK);
    assert_non_null(st);
    fake_set_target(addr, 25);
    assert_int_equal(geoip_run(fake_ctx(), st), MXP_OK);
    geoip_free(st);
    return fake_state();
}

/* A detail containing text exists, of state want. */
static void want_detail(const char *text, enum mxp_state want)
{
    enum mxp_state st;

    if (fake_detail_find(text, &st) < 0) {
        print_message("no detail with '%s'\n", text);
        print_details();
        fail();
    }
    assert_int_equal(st, want);
}

static void want_no_detail(const char *text)
{
    if (fake_detail_find(text, NULL) >= 0) {
        print_message("unexpected detail with '%s'\n", text);
        print_details();
        fail();
    }
}

/* ---- expected-lookups.tsv --------------------------------------------- */

struct tsv_row {
    char db[64], addr[64], path[64], type[32], value[128];
};

/* Every row of the file for db, into rows (at most max). */
static size_t read_tsv(const char *db, struct tsv_row *rows, size_t max)
{
    FILE *fp = fopen(DATA "expected-lookups.tsv", "r");
    char line[512];
    size_t n = 0;

    assert_non_null(fp);
    while (n < max && fgets(line, sizeof line, fp) != NULL) {
        struct tsv_row *r = &rows[n];
        char *f[5], *save = NULL, *p = line;
        size_t k = 0;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        /* strsep keeps empty fields (the corrupt row has an empty path). */
        while (k < 5 && (f[k] = strsep(&p, "\t")) != NULL)
            k++;
        (void)save;
        if (k != 5 || strcmp(f[0], db) != 0)
            continue;
        snprintf(r->db, sizeof r->db, "%s", f[0]);
        snprintf(r->addr, sizeof r->addr, "%s", f[1]);
        snprintf(r->path, sizeof r->path, "%s", f[2]);
        snprintf(r->type, sizeof r->type, "%s", f[3]);
        snprintf(r->value, sizeof r->value, "%s", f[4]);
        n++;
    }
    fclose(fp);
    return n;
}

#define YAML_ONE(db) "databases: [" db "]\nmax_age_days: 0\n"

/* City: country, city, and not found; IPv4 and IPv6 rows alike. */
static void test_city_known_answers(void **state)
{
    static struct tsv_row rows[512];
    size_t n = read_tsv("GeoIP2-City-Test.mmdb", rows, 512), checked = 0;
    char want[256];

    (void)state;
    assert_true(n > 50);
    for (size_t i = 0; i < n; i++) {
        const struct tsv_row *r = &rows[i];

        if (strcmp(r->path, "country/iso_code") != 0 &&
            strcmp(r->path, "city/names/en") != 0)
            continue;
        print_message("%s %s = %s\n", r->addr, r->path, r->value);
        assert_int_equal(run_with(YAML_ONE(CITY), r->addr), MXP_STATE_OK);
        if (strcmp(r->type, "utf8_string") == 0) {
            snprintf(want, sizeof want, "%s: %s",
                     r->path[0] == 'c' && r->path[1] == 'o' ? "country"
                                                            : "city",
                     r->value);
            want_detail(want, MXP_STATE_OK);
        } else if (strcmp(r->value, "NO_SUCH_PATH") == 0) {
            want_no_detail(r->path[1] == 'o' ? "country:" : "city:");
        } else {
            assert_string_equal(r->value, "NOT_FOUND");
            want_no_detail("country:");
            want_no_detail("city:");
            assert_true(fake_detail_find("no location", NULL) >= 0);
        }
        checked++;
    }
    assert_true(checked > 20);
}

static void test_country_known_answers(void **state)
{
    static struct tsv_row rows[64];
    size_t n = read_tsv("GeoIP2-Country-Test.mmdb", rows, 64);
    char want[64];

    (void)state;
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        run_with(YAML_ONE(COUNTRY), rows[i].addr);
        if (strcmp(rows[i].type, "utf8_string") == 0) {
            snprintf(want, sizeof want, "country: %s ", rows[i].value);
            want_detail(want, MXP_STATE_OK);
        } else {
            want_no_detail("country:");
        }
        want_no_detail("city:");
    }
}

static void test_asn_known_answers(void **state)
{
    static struct tsv_row rows[128];
    size_t n = read_tsv("GeoLite2-ASN-Test.mmdb", rows, 128);
    char want[256];

    (void)state;
    assert_true(n > 30);
    for (size_t i = 0; i + 1 < n; i += 2) {
        const struct tsv_row *num = &rows[i], *org = &rows[i + 1];

        assert_string_equal(num->path, "autonomous_system_number");
        assert_string_equal(org->path, "autonomous_system_organization");
        assert_string_equal(num->addr, org->addr);
        assert_int_equal(run_with(YAML_ONE(ASN), num->addr), MXP_STATE_OK);
        if (strcmp(num->type, "uint32") != 0) {
            want_no_detail("ASN:");
            continue;
        }
        if (strcmp(org->type, "utf8_string") == 0)
            snprintf(want, sizeof want, "ASN: AS%s %s", num->value, org->value);
        else
            snprintf(want, sizeof want, "ASN: AS%s (no organisation)",
                     num->value);
        want_detail(want, MXP_STATE_OK);
    }
}

static void test_anonymous_known_answers(void **state)
{
    static const struct {
        const char *key, *words;
    } map[] = {{"is_anonymous_vpn", "VPN"},
               {"is_tor_exit_node", "Tor exit node"},
               {"is_hosting_provider", "hosting provider"},
               {"is_public_proxy", "public proxy"},
               {"is_residential_proxy", "residential proxy"}};
    static struct tsv_row rows[128];
    size_t n = read_tsv("GeoIP2-Anonymous-IP-Test.mmdb", rows, 128), seen = 0;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        const struct tsv_row *r = &rows[i];
        const char *words = NULL;
        int idx;

        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (strcmp(r->path, map[k].key) == 0)
                words = map[k].words;
        if (words == NULL)
            continue;
        run_with(YAML_ONE(ANON), r->addr);
        idx = fake_detail_find("anonymous IP: ", NULL);
        if (strcmp(r->value, "true") == 0) {
            assert_true(idx >= 0);
            assert_non_null(strstr(fake_detail((size_t)idx, NULL), words));
            seen++;
        } else if (idx >= 0) {
            /* "VPN" is not a substring of another flag's words. */
            assert_null(strstr(fake_detail((size_t)idx, NULL), words));
        }
    }
    assert_true(seen >= 8);
}

/* ---- the whole picture ------------------------------------------------ */

static void test_city_asn_map_link(void **state)
{
    const struct mxp_perf *p;

    (void)state;
    assert_int_equal(run_with("databases: [" CITY ", " ASN "]\n"
                              "max_age_days: 0\n",
                              "89.160.20.128"),
                     MXP_STATE_OK);
    want_detail("country: SE Sweden", MXP_STATE_OK);
    want_detail("city: Linköping", MXP_STATE_OK);
    want_detail("subdivision: Östergötland County", MXP_STATE_OK);
    want_detail("coordinates: 58.4167, 15.6167 (accuracy radius 76 km)",
                MXP_STATE_OK);
    want_detail("map: https://www.openstreetmap.org/?mlat=58.4167&"
                "mlon=15.6167#map=10/58.4167/15.6167",
                MXP_STATE_OK);
    want_detail("ASN: AS29518 Bredband2 AB", MXP_STATE_OK);
    want_detail("GeoIP2-City) built 2026-02-04", MXP_STATE_OK);
    /* The same for the JSON output. */
    {
        double v;

        assert_string_equal(fake_field_text("country"), "SE");
        assert_string_equal(fake_field_text("country_name"), "Sweden");
        assert_string_equal(fake_field_text("city"), "Linköping");
        assert_string_equal(fake_field_text("org"), "Bredband2 AB");
        assert_true(fake_field_number("asn", &v) && v == 29518);
        assert_true(fake_field_number("lat", &v) && fabs(v - 58.4167) < 1e-3);
        assert_true(fake_field_number("lon", &v) && fabs(v - 15.6167) < 1e-3);
        assert_true(fake_field_number("accuracy_radius_km", &v) && v == 76);
    }
    assert_string_equal(fake_summary(), "Linköping, SE, AS29518 Bredband2 AB");
    p = fake_perf_find("lookup_time");
    assert_non_null(p);
    assert_string_equal(p->uom, "s");
    assert_true(p->value >= 0);
}

static void test_ipv6(void **state)
{
    (void)state;
    assert_int_equal(run_with(YAML_ONE(CITY), "2001:218::1"), MXP_STATE_OK);
    want_detail("country: JP Japan", MXP_STATE_OK);
    assert_string_equal(fake_summary(), "Japan (JP)");
    want_detail("coordinates: 35.6854, 139.7531", MXP_STATE_OK);
    assert_int_equal(run_with(YAML_ONE(ASN), "2a02:1800::1"), MXP_STATE_OK);
    want_detail("ASN: AS6848 Telenet N.V.", MXP_STATE_OK);
    /* IPv4-mapped: the IPv4 answer. */
    run_with(YAML_ONE(CITY), "::ffff:81.2.69.160");
    want_detail("city: London", MXP_STATE_OK);
}

/* An IPv6 address in an IPv4-only database is not covered, not an error
 * (the only IPv4-only test database is of type Test: said as such). */
static void test_ipv6_in_ipv4_database(void **state)
{
    (void)state;
    assert_int_equal(run_with("databases: [" DATA "MaxMind-DB-test-ipv4-"
                              "24.mmdb, " CITY "]\nmax_age_days: 0\n",
                              "2001:218::1"),
                     MXP_STATE_UNKNOWN);
    want_detail("country: JP", MXP_STATE_OK);
    want_detail("database type Test is none of", MXP_STATE_UNKNOWN);
    want_no_detail("failed");
    /* ...but an IPv4-mapped one is its IPv4 address, which it covers. */
    assert_int_equal(run_with("databases: [" DATA "mxprobe-ipv4-city.mmdb]\n"
                              "max_age_days: 0\n",
                              "::ffff:198.51.100.1"),
                     MXP_STATE_OK);
    assert_string_equal(fake_field_text("country"), "AT");
}

static void test_not_covered_and_private(void **state)
{
    (void)state;
    assert_int_equal(run_with(YAML_ONE(CITY), "1.1.1.1"), MXP_STATE_OK);
    assert_string_equal(fake_summary(), "no location");
    assert_int_equal(fake_n_fields(), 0);
    assert_int_equal(run_with(YAML_ONE(CITY), "10.0.0.1"), MXP_STATE_OK);
    assert_string_equal(fake_summary(), "private address (RFC 1918)");
    run_with(YAML_ONE(CITY), "127.0.0.1");
    assert_string_equal(fake_summary(), "private address (loopback)");
    run_with(YAML_ONE(CITY), "203.0.113.1");
    assert_string_equal(fake_summary(), "private address (documentation)");
    run_with(YAML_ONE(CITY), "2001:db8::1");
    assert_string_equal(fake_summary(), "private address (documentation)");
    /* A policy cannot be checked for a public address nobody covers... */
    assert_int_equal(
        run_with(YAML_ONE(CITY) "allowed_countries: [DE]\n", "1.1.1.1"),
        MXP_STATE_UNKNOWN);
    want_detail("no country known for 1.1.1.1", MXP_STATE_UNKNOWN);
    /* ...but a private one is fine either way. */
    assert_int_equal(run_with(YAML_ONE(CITY) "allowed_countries: [DE]\n"
                                             "allowed_asns: [1]\n",
                              "192.168.1.1"),
                     MXP_STATE_OK);
}

static void test_special_ranges(void **state)
{
    static const struct {
        const char *addr, *want;
    } t[] = {
        {"127.1.2.3", "loopback"},
        {"10.1.1.1", "RFC 1918"},
        {"172.16.0.1", "RFC 1918"},
        {"172.31.255.255", "RFC 1918"},
        {"172.32.0.1", NULL},
        {"192.168.0.1", "RFC 1918"},
        {"100.64.0.1", "shared address space"},
        {"100.128.0.1", NULL},
        {"169.254.1.1", "link-local"},
        {"192.0.2.1", "documentation"},
        {"198.51.100.7", "documentation"},
        {"203.0.113.9", "documentation"},
        {"8.8.8.8", NULL},
        {"::1", "loopback"},
        {"fd00::1", "unique local"},
        {"fe80::1", "link-local"},
        {"2001:db8:1::1", "documentation"},
        {"2001:218::1", NULL},
        {"::ffff:10.0.0.1", "RFC 1918"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        unsigned char a[16];
        int fam = strchr(t[i].addr, ':') ? AF_INET6 : AF_INET;
        const char *got;

        assert_int_equal(inet_pton(fam, t[i].addr, a), 1);
        got = special_range(fam, a);
        print_message("%s -> %s\n", t[i].addr, got ? got : "public");
        if (t[i].want == NULL)
            assert_null(got);
        else
            assert_string_equal(got, t[i].want);
    }
}

/* ---- policy ----------------------------------------------------------- */

static void test_allowed_countries(void **state)
{
    (void)state;
    assert_int_equal(
        run_with(YAML_ONE(CITY) "allowed_countries: [DE, at]\n", "81.2.69.160"),
        MXP_STATE_WARNING);
    assert_string_equal(fake_summary(),
                        "country GB is not in allowed_countries (DE, AT)");
    assert_int_equal(
        run_with(YAML_ONE(CITY) "allowed_countries: [DE, gb]\n", "81.2.69.160"),
        MXP_STATE_OK);
    want_no_detail("allowed_countries");
}

static void test_allowed_asns(void **state)
{
    (void)state;
    assert_int_equal(
        run_with(YAML_ONE(ASN) "allowed_asns: [AS15169, 3]\n", "1.0.0.1"),
        MXP_STATE_OK);
    assert_int_equal(run_with(YAML_ONE(ASN) "allowed_asns: [3]\n", "1.0.0.1"),
                     MXP_STATE_WARNING);
    assert_string_equal(fake_summary(), "AS15169 is not in allowed_asns (AS3)");
}

/* ---- the databases ---------------------------------------------------- */

static void test_stale_database(void **state)
{
    (void)state;
    /* The test databases are older than 60 days from 2026-04-05 on. */
    if (difftime(time(NULL), (time_t)1770245369) / 86400.0 <= 61)
        skip();
    assert_int_equal(run_with("databases: [" CITY "]\n", "81.2.69.160"),
                     MXP_STATE_WARNING);
    want_detail("GeoIP2-City database built 2026-02-04 is ", MXP_STATE_WARNING);
    want_detail("over max_age_days 60", MXP_STATE_WARNING);
    /* Still says where. */
    want_detail("city: London", MXP_STATE_OK);
    assert_int_equal(
        run_with("databases: [" CITY "]\nmax_age_days: 36500\n", "81.2.69.160"),
        MXP_STATE_OK);
}

static void test_corrupt_search_tree(void **state)
{
    char want[256];

    (void)state;
    assert_int_equal(run_with(YAML_ONE(BROKEN), "128.128.128.128"),
                     MXP_STATE_UNKNOWN);
    snprintf(want, sizeof want,
             "cannot read the record of 128.128.128.128 "
             "in %s: %s",
             BROKEN, MMDB_strerror(MMDB_INVALID_DATA_ERROR));
    assert_string_equal(fake_summary(), want);
    /* Alongside a good database: still UNKNOWN, never a clean OK. */
    assert_int_equal(run_with("databases: [" CITY ", " BROKEN "]\n"
                              "max_age_days: 0\n",
                              "128.128.128.128"),
                     MXP_STATE_UNKNOWN);
}

static void test_unreadable_databases(void **state)
{
    char want[256];

    (void)state;
    assert_int_equal(run_with(YAML_ONE(DATA "no-such.mmdb"), "81.2.69.160"),
                     MXP_STATE_UNKNOWN);
    snprintf(want, sizeof want,
             "cannot open %s: %s (No such file or directory)",
             DATA "no-such.mmdb", MMDB_strerror(MMDB_FILE_OPEN_ERROR));
    assert_string_equal(fake_summary(), want);
    /* Not an MMDB file at all: the licence text. */
    assert_int_equal(run_with(YAML_ONE(DATA "LICENSE-MIT"), "81.2.69.160"),
                     MXP_STATE_UNKNOWN);
    snprintf(want, sizeof want, "cannot open %s: %s", DATA "LICENSE-MIT",
             MMDB_strerror(MMDB_INVALID_METADATA_ERROR));
    assert_string_equal(fake_summary(), want);
    /* A database of another kind, named explicitly. */
    assert_int_equal(
        run_with(YAML_ONE(DATA "MaxMind-DB-test-ipv4-24.mmdb"), "1.1.1.3"),
        MXP_STATE_UNKNOWN);
    want_detail("database type Test is none of City, Country, ASN",
                MXP_STATE_UNKNOWN);
}

/* A FIFO would block open() until a writer came; a directory is no file. */
static void test_not_regular_files(void **state)
{
    char dir[] = "/tmp/geoip-test-XXXXXX", fifo[256], yaml[512];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/x.mmdb", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(10); /* the bug was a hang: fail, not wait forever */
    snprintf(yaml, sizeof yaml, "databases: [%s]\n", fifo);
    assert_int_equal(run_with(yaml, "81.2.69.160"), MXP_STATE_UNKNOWN);
    want_detail("not a regular file (a device, FIFO or socket)",
                MXP_STATE_UNKNOWN);
    snprintf(yaml, sizeof yaml, "databases: [%s]\n", dir);
    assert_int_equal(run_with(yaml, "81.2.69.160"), MXP_STATE_UNKNOWN);
    want_detail("not a regular file (a directory)", MXP_STATE_UNKNOWN);
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}

/* Coordinates off the globe are not shown, mapped nor exported. */
static void test_bad_coordinates(void **state)
{
    double v;

    (void)state;
    assert_int_equal(
        run_with(YAML_ONE(DATA "mxprobe-bad-coordinates.mmdb"), "127.0.0.1"),
        MXP_STATE_OK);
    assert_string_equal(fake_field_text("country"), "DE");
    assert_false(fake_field_number("lat", &v));
    assert_false(fake_field_number("lon", &v));
    want_no_detail("coordinates:");
    want_no_detail("map:");
    /* A long name is cut on a character boundary, never inside one. */
    assert_int_equal(strlen(fake_field_text("city")), 254);
    assert_int_equal((unsigned char)fake_field_text("city")[253], 0xa9);
}

/* ---- the standard places ---------------------------------------------- */

static void test_search_places(void **state)
{
    char dir[] = "/tmp/geoip-test-XXXXXX", path[256], cwd[256];
    const char *saved0 = geoip_default_dirs[0], *saved1 = geoip_default_dirs[1];
    FILE *fp;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    geoip_default_dirs[0] = dir;
    geoip_default_dirs[1] = "/nonexistent/GeoIP";

    /* Only a legacy .dat: no database; UNKNOWN naming the places. */
    snprintf(path, sizeof path, "%s/GeoIP.dat", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(run_with(NULL, "81.2.69.160"), MXP_STATE_UNKNOWN);
    /* The core leaves geoip out of a default run then. */
    assert_int_equal(last_init, MXP_ERR_UNSUPPORTED);
    assert_non_null(strstr(fake_summary(), "no GeoIP database"));
    assert_non_null(strstr(fake_summary(), dir));
    assert_non_null(strstr(fake_summary(), "/nonexistent/GeoIP/*.mmdb"));

    /* An .mmdb there is found and used. */
    snprintf(path, sizeof path, "%s/City.mmdb", dir);
    {
        char target[512];

        snprintf(target, sizeof target, "%s/" CITY, cwd);
        assert_int_equal(symlink(target, path), 0);
    }
    assert_int_equal(run_with("max_age_days: 0\n", "81.2.69.160"),
                     MXP_STATE_OK);
    want_detail("city: London", MXP_STATE_OK);
    assert_int_equal(last_init, MXP_OK);

    unlink(path);
    snprintf(path, sizeof path, "%s/GeoIP.dat", dir);
    unlink(path);
    rmdir(dir);
    geoip_default_dirs[0] = saved0;
    geoip_default_dirs[1] = saved1;
}

/* ---- config ----------------------------------------------------------- */

static void test_config_errors(void **state)
{
    static const struct {
        const char *yaml, *want;
    } t[] = {
        {"databases: " CITY "\n", "test.yaml:1:12: plugins.geoip: databases: "
                                  "expected a list"},
        {"databases: [[a]]\n", "databases: entry 1 is not a value"},
        {"max_age_days: -1\n", "max_age_days"},
        {"max_age_days: soon\n", "max_age_days"},
        {"allowed_countries: [DE, DEU]\n",
         "test.yaml:1:25: plugins.geoip: allowed_countries: 'DEU' is not a "
         "two-letter ISO 3166 country code"},
        {"allowed_countries: [D1]\n", "'D1' is not a two-letter"},
        {"allowed_asns: [AS]\n", "allowed_asns: 'AS' is not an AS number"},
        {"allowed_asns: [0]\n", "'0' is not an AS number"},
        {"allowed_asns: [4294967296]\n", "'4294967296' is not an AS number"},
        {"allowed_asns: 15169\n", "allowed_asns: expected a list"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        void *st = NULL;

        fake_reset();
        fake_set_plugin_name("geoip");
        assert_int_equal(fake_config_set(t[i].yaml), MXP_OK);
        assert_int_equal(geoip_init(fake_init_ctx(), &st), MXP_ERR_CONFIG);
        assert_null(st);
        assert_int_equal(fake_n_config_errors(), 1);
        print_message("%s", t[i].yaml);
        print_message("  -> %s\n", fake_config_error(0));
        assert_non_null(strstr(fake_config_error(0), t[i].want));
    }
    /* Good ones. */
    {
        void *st = NULL;
        struct geoip_state *g;

        fake_reset();
        fake_set_plugin_name("geoip");
        assert_int_equal(fake_config_set("databases: [a.mmdb, b.mmdb]\n"
                                         "max_age_days: 30\n"
                                         "allowed_countries: [de, AT]\n"
                                         "allowed_asns: [AS3, 4294967295]\n"),
                         MXP_OK);
        assert_int_equal(geoip_init(fake_init_ctx(), &st), MXP_OK);
        g = st;
        assert_int_equal(g->n_dbs, 2);
        assert_int_equal(g->max_age_days, 30);
        assert_string_equal(g->countries[0], "DE");
        assert_string_equal(g->countries[1], "AT");
        assert_int_equal(g->asns[0], 3);
        assert_int_equal(g->asns[1], 4294967295U);
        geoip_free(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_city_known_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_country_known_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asn_known_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_anonymous_known_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_city_asn_map_link, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_in_ipv4_database, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_covered_and_private, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_special_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowed_countries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_allowed_asns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_search_tree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_databases, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_regular_files, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_coordinates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_places, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
