/*
 * fuzz_dmarc.c - libFuzzer target for the DMARC record parser of the zone
 * plugin: the input is a _dmarc TXT record as a hostile server could
 * publish it (NULs, huge tag lists, junk).  Whatever it holds, the parse
 * must end with NUL-terminated, bounded fields and no crash, leak or
 * overread.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/zone/dmarc.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan sees any read past the end. */
    char *txt = malloc(size ? size : 1);
    struct dmarc_record r;
    char why[128] = "";

    if (txt == NULL)
        return 0;
    memcpy(txt, data, size);
    (void)dmarc_near_miss(txt, size, why, sizeof(why));
    assert(memchr(why, '\0', sizeof(why)) != NULL);
    if (dmarc_is_record(txt, size)) {
        dmarc_parse(txt, size, &r);
        assert(r.n_problems <= DMARC_MAX_PROBLEMS);
        assert(r.pct >= 0 && r.pct <= 100);
        assert(memchr(r.rua, '\0', sizeof(r.rua)) != NULL);
        assert(memchr(r.ruf, '\0', sizeof(r.ruf)) != NULL);
        for (size_t i = 0; i < r.n_problems; i++)
            assert(memchr(r.problems[i], '\0', DMARC_PROBLEM_LEN) != NULL);
        (void)dmarc_policy_name(r.p);
    }
    free(txt);
    return 0;
}
