/*
 * fuzz_nbstat.c - libFuzzer target: any bytes on UDP 137 must parse into
 * a bounded name table or be refused with a reason, never a crash, an
 * over-read or a name that is not printable.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/netbios/nbstat.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nbstat_table t;
    char why[160];
    uint16_t id;
    const char *h, *w;

    /* The id the answer must carry: its own (else nothing gets past the
     * header check), or a fixed one when the input is too short. */
    id = size >= 2 ? (uint16_t)((data[0] << 8) | data[1]) : 0x1234;
    if (nbstat_parse(data, size, id, &t, why, sizeof(why)) != NBSTAT_TABLE) {
        if (strlen(why) == 0)
            abort(); /* a refusal always says why */
        return 0;
    }
    if (t.n_names > NBSTAT_MAX_NAMES || t.n_names > t.n_claimed ||
        t.n_claimed * 18 > size)
        abort();
    for (size_t i = 0; i < t.n_names; i++)
        for (const char *p = t.names[i].name; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                abort();
    h = nbstat_host(&t);
    w = nbstat_workgroup(&t);
    if ((h && strlen(h) > 15) || (w && strlen(w) > 15))
        abort();
    return 0;
}
