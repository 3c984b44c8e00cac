/*
 * badabi.c - test-only plugin built for a future ABI major: the loader
 * must refuse it before running any of its code.
 */
#include <stdlib.h>

#include <mxprobe/plugin.h>

static int badabi_run(struct mxp_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    abort(); /* must never be called */
}

__attribute__((visibility("default"))) const struct mxp_plugin mxp_plugin = {
    .abi_major = MXP_ABI_MAJOR + 1,
    .abi_minor = 0,
    .struct_size = sizeof(struct mxp_plugin),
    .name = "badabi",
    .summary = "test only: wrong ABI",
    .run = badabi_run,
};
