/*
 * crash.c - test-only plugin that reports a detail and then crashes, so
 * the tests can check that one crashing plugin becomes UNKNOWN while the
 * others of the run are still reported.
 */
#include <signal.h>

#include <mxprobe/plugin.h>

static int crash_run(struct mxp_ctx *ctx, void *state)
{
    (void)state;
    ctx->svc->add_detail(ctx, MXP_STATE_OK, "about to crash");
    raise(SIGSEGV);
    return MXP_OK;
}

MXP_PLUGIN_DEFINE(.name = "crash", .summary = "test only: crashes",
                  .run = crash_run);
