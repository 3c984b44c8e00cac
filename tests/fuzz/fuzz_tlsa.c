/*
 * fuzz_tlsa.c - libFuzzer target: any bytes as TLSA rdata, or as the
 * presentation form "U S M HEX", must parse (or be refused) without a
 * crash, an over-read or a leak; a parsed record must print within its
 * bounds, read back to the same record, and match against a chain (the
 * leaf of a CA that is not sent, so that a 2 1 0 record's key is decoded
 * from the fuzzed bytes) with a sane result.  The first byte picks the
 * parser and the print width.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/tls/dane.c"
#include "../unit/tls_testcert.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tls_testcert fz_ca, fz_leaf;
static X509 *fz_chain[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct tls_testcert_spec s = {0};

    (void)argc;
    (void)argv;
    s.cn = "Fuzz CA";
    s.is_ca = 1;
    s.not_after_days = 30;
    tls_testcert_make(&s, &fz_ca);
    s.cn = "mx.example.org";
    s.is_ca = 0;
    s.issuer_cert = fz_ca.cert;
    s.issuer_key = fz_ca.key;
    tls_testcert_make(&s, &fz_leaf);
    fz_chain[0] = fz_leaf.cert;
    fz_chain[1] = fz_ca.cert;
    return 0;
}

static void fz_check_why(const char *why)
{
    size_t n = strnlen(why, DANE_WHY_MAX);

    if (n == 0 || n >= DANE_WHY_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (why[i] < 0x20 || why[i] > 0x7e)
            abort();
}

static void fz_check_record(const struct dane_rr *rr)
{
    static const size_t widths[] = {0, 1, 8, 64};
    static char text[2 * DANE_DATA_MAX + 32];
    char small[24], err[128];
    struct dane_rr back;
    struct dane_rr_result res;
    struct dane_summary sum;
    size_t need, n;

    fz_check_why(rr->why);
    if (rr->usable && (rr->usage < 2 || rr->usage > 3 || rr->selector > 1 ||
                       rr->mtype > 2 || rr->len == 0))
        abort();
    if ((rr->len == 0) != (rr->data == NULL) || rr->len > DANE_DATA_MAX)
        abort();
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        need = dane_rr_format(rr, small, sizeof small, widths[w]);
        n = strlen(small);
        if (n != (need < sizeof small ? need : sizeof small - 1))
            abort();
    }
    need = dane_rr_format(rr, text, sizeof text, 0);
    if (need != strlen(text))
        abort();
    /* what prints reads back the same (records with data only: the text
     * form has no way to write empty data) */
    if (rr->len > 0) {
        if (dane_rr_parse_text(text, &back, err, sizeof err) != 0)
            abort();
        if (back.usage != rr->usage || back.selector != rr->selector ||
            back.mtype != rr->mtype || back.len != rr->len ||
            memcmp(back.data, rr->data, rr->len) != 0 ||
            back.usable != rr->usable || strcmp(back.why, rr->why) != 0)
            abort();
        dane_rr_free(&back);
    }
    if (dane_match(rr, 1, fz_chain, 1, &res, &sum) != 0)
        return;
    fz_check_why(res.why);
    if ((res.outcome == DANE_UNUSABLE) != !rr->usable ||
        sum.n_usable != (size_t)(rr->usable != 0) ||
        sum.n_matched != (res.outcome == DANE_MATCH) ||
        (res.outcome == DANE_MATCH && res.position != 0 &&
         res.position != DANE_TA_ABSENT))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dane_rr rr;
    char err[128];

    if (size < 1)
        return 0;
    if (data[0] & 1) {
        char *text = malloc(size);

        if (text == NULL)
            return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        err[0] = '\0';
        if (dane_rr_parse_text(text, &rr, err, sizeof err) == 0) {
            fz_check_record(&rr);
            dane_rr_free(&rr);
        } else if (err[0] == '\0' || rr.data != NULL) {
            abort();
        }
        free(text);
    } else if (dane_rr_parse(data + 1, size - 1, &rr) == 0) {
        fz_check_record(&rr);
        dane_rr_free(&rr);
    }
    return 0;
}
