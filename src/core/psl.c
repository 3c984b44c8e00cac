/*
 * psl.c - registered domains via libpsl (psl.h).  The list is loaded on
 * first use: most runs of most checks never need it.
 */
#include "psl.h"

#include <libpsl.h>
#include <stddef.h>

static psl_ctx_t *latest;
static const psl_ctx_t *ctx;

static const psl_ctx_t *list(void)
{
    if (ctx == NULL) {
        latest = psl_latest(NULL);
        ctx = latest != NULL ? latest : psl_builtin();
    }
    return ctx;
}

const char *mxp_registered_domain(const char *name)
{
    const psl_ctx_t *p = list();

    if (p == NULL || name == NULL || *name == '\0')
        return NULL;
    return psl_registrable_domain(p, name);
}

void mxp_psl_cleanup(void)
{
    psl_free(latest);
    latest = NULL;
    ctx = NULL;
}
