/*
 * fuzz_dns_answer.c - libFuzzer target: any bytes as a DNS answer to a
 * query of any type must parse to a result, never crash or overread.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t types[] = {MXP_DNS_A,   MXP_DNS_AAAA, MXP_DNS_TXT,
                                     MXP_DNS_MX,  MXP_DNS_PTR,  MXP_DNS_NS,
                                     MXP_DNS_SOA, MXP_DNS_CNAME};
    struct mxp_arena *arena;
    struct mxp_dns_query q = {0};

    if (size < 1)
        return 0;
    arena = mxp_arena_new();
    if (arena == NULL)
        return 0;
    q.name = "fuzz.example";
    q.type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
    mxp_dns_parse_answer(data + 1, size - 1, arena, &q);
    if (q.n_rr > 256)
        abort();
    mxp_arena_free(arena);
    return 0;
}
