/*
 * test_plugin_loader.c - the loader refuses plugins before running them:
 * ABI mismatches, bad descriptors, unsafe file permissions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin_loader.h"

static int dummy_run(struct mxp_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    return MXP_OK;
}

static struct mxp_plugin good(void)
{
    struct mxp_plugin d;

    memset(&d, 0, sizeof(d));
    d.abi_major = MXP_ABI_MAJOR;
    d.abi_minor = MXP_ABI_MINOR;
    d.struct_size = sizeof(d);
    d.name = "demo";
    d.run = dummy_run;
    return d;
}

static void test_descriptor_table(void **state)
{
    struct {
        const char *what;
        int major_delta, minor_delta, size_delta;
        const char *name;
        int null_run;
        int ok;
        const char *words;
    } cases[] = {
        {"matching ABI", 0, 0, 0, "demo", 0, 1, NULL},
        {"major too new", 1, 0, 0, "demo", 0, 0, "rebuild"},
        {"major too old", -1, 0, 0, "demo", 0, 0, "rebuild"},
        {"minor too new", 0, 1, 0, "demo", 0, 0, "newer"},
        {"struct too small", 0, 0, -8, "demo", 0, 0, "bytes"},
        {"name differs from file", 0, 0, 0, "other", 0, 0, "calls itself"},
        {"no run()", 0, 0, 0, "demo", 1, 0, "run()"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mxp_plugin d = good();
        char err[256] = "";
        int rc;

        d.abi_major = (uint16_t)(d.abi_major + cases[i].major_delta);
        d.abi_minor = (uint16_t)(d.abi_minor + cases[i].minor_delta);
        d.struct_size = (uint32_t)((int)d.struct_size + cases[i].size_delta);
        d.name = cases[i].name;
        if (cases[i].null_run)
            d.run = NULL;
        rc = mxp_plugin_check_descriptor(&d, "demo", err, sizeof(err));
        if (cases[i].ok) {
            assert_int_equal(rc, MXP_OK);
        } else {
            assert_int_equal(rc, MXP_ERR_PLUGIN);
            if (strstr(err, cases[i].words) == NULL)
                fail_msg("%s: '%s' lacks '%s'", cases[i].what, err,
                         cases[i].words);
        }
    }
}

static void test_file_permissions(void **state)
{
    char path[] = "/tmp/mxp-plugin-XXXXXX";
    char err[512];
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(mxp_plugin_check_file(path, err, sizeof(err)), MXP_OK);
    assert_int_equal(chmod(path, 0664), 0);
    assert_int_equal(mxp_plugin_check_file(path, err, sizeof(err)),
                     MXP_ERR_PLUGIN);
    assert_non_null(strstr(err, "writable"));
    assert_int_equal(chmod(path, 0646), 0);
    assert_int_equal(mxp_plugin_check_file(path, err, sizeof(err)),
                     MXP_ERR_PLUGIN);
    if (geteuid() == 0) {
        /* Owned by someone else than root or us. */
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(chown(path, 12345, 12345), 0);
        assert_int_equal(mxp_plugin_check_file(path, err, sizeof(err)),
                         MXP_ERR_PLUGIN);
        assert_non_null(strstr(err, "owned by uid 12345"));
    }
    unlink(path);
    assert_int_equal(mxp_plugin_check_file(path, err, sizeof(err)),
                     MXP_ERR_PLUGIN);
}

/* A safe file in a folder others can write to is refused: they could put
 * another file in its place.  A sticky folder is fine. */
static void test_folder_permissions(void **state)
{
    char dir[] = "/tmp/mxp-plugdir-XXXXXX";
    char path[64], err[512];
    char *dirs[] = {dir, NULL};
    struct mxp_loaded_plugin lp;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/demo.so", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not an ELF object", f);
    fclose(f);
    assert_int_equal(chmod(path, 0644), 0);

    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(mxp_plugin_load(dirs, "demo", &lp, err, sizeof(err)),
                     MXP_ERR_PLUGIN);
    if (strstr(err, "writable by group or others") == NULL ||
        strstr(err, "demo.so") != NULL)
        fail_msg("folder not blamed: %s", err);

    /* Sticky: the folder passes, and loading fails later, on the file. */
    assert_int_equal(chmod(dir, 01777), 0);
    assert_int_equal(mxp_plugin_load(dirs, "demo", &lp, err, sizeof(err)),
                     MXP_ERR_PLUGIN);
    assert_non_null(strstr(err, "cannot load"));

    unlink(path);
    rmdir(dir);
}

static void test_unknown_and_bad_names(void **state)
{
    char *dirs[] = {"/nonexistent-mxp", NULL};
    struct mxp_loaded_plugin lp;
    char err[512];

    (void)state;
    assert_int_equal(mxp_plugin_load(dirs, "banner", &lp, err, sizeof(err)),
                     MXP_ERR_PLUGIN);
    assert_non_null(strstr(err, "unknown check 'banner'"));
    /* Path tricks never reach the file system. */
    assert_int_equal(
        mxp_plugin_load(dirs, "../../etc/x", &lp, err, sizeof(err)),
        MXP_ERR_PLUGIN);
    assert_non_null(strstr(err, "unknown check"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_table),
        cmocka_unit_test(test_file_permissions),
        cmocka_unit_test(test_folder_permissions),
        cmocka_unit_test(test_unknown_and_bad_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
