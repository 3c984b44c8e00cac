/*
 * fuzz_sts_cache.c - libFuzzer target for the zone plugin's MTA-STS
 * cache file parser (sts_cache.c): the input is a cache file as anyone
 * who could write to plugins.zone.mta_sts_cache might leave it.  Whatever
 * it holds, the parse must accept only a file for the domain asked, with
 * a fetch time not in the future, a valid id and a valid policy, say why
 * otherwise, leave nothing allocated on failure, and never crash, leak or
 * read past the end.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/zone/mta_sts.c"
#include "../../plugins/zone/sts_cache.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1), why[256];
    struct sts_cached c;
    const long long now = 1764676800; /* 2025-12-02 */
    int rc;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    rc = sts_cache_parse(buf, size, "example.org", now, &c, why, sizeof why);
    assert(rc == 1 || rc == -1);
    assert(memchr(why, '\0', sizeof why) != NULL);
    if (rc == 1) {
        assert(c.fetched <= now + 300);
        assert(c.id[0] != '\0' && memchr(c.id, '\0', sizeof c.id) != NULL);
        assert(c.policy.mode != MTA_STS_MODE_UNSET);
        sts_cached_free(&c);
    } else {
        assert(why[0] != '\0');
        assert(c.policy.mx == NULL && c.policy.n_mx == 0);
    }
    free(buf);
    return 0;
}
