/*
 * hang.c - test-only plugin that ignores its deadline and never returns,
 * so the tests can check that the runner stops it at the deadline.
 */
#include <unistd.h>

#include <mxprobe/plugin.h>

static int hang_run(struct mxp_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    for (;;)
        pause();
    return MXP_OK;
}

MXP_PLUGIN_DEFINE(.name = "hang", .summary = "test only: never returns",
                  .run = hang_run);
