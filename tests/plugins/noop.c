/*
 * noop.c - test and benchmark plugin that checks nothing and reports OK
 * at once: it measures what the core itself costs per run (start-up,
 * plugin loading, fork, output).
 */
#include <mxprobe/plugin.h>

static int noop_run(struct mxp_ctx *ctx, void *state)
{
    (void)state;
    ctx->svc->set_result(ctx, MXP_STATE_OK, "nothing checked");
    return MXP_OK;
}

MXP_PLUGIN_DEFINE(.name = "noop", .summary = "test only: checks nothing",
                  .run = noop_run);
