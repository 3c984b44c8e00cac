/*
 * fuzz_mta_sts.c - libFuzzer target for the zone plugin's MTA-STS and
 * TLS-RPT parsers: the input is an MTA-STS policy file as a hostile web
 * server could serve it, and the same bytes as _mta-sts and _smtp._tls
 * TXT records (whole, and split at NULs into several records).  Whatever
 * it holds, each parse must end with a NUL-terminated error sentence on
 * failure, bounded fields, nothing allocated on failure, and no crash,
 * leak or overread.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/zone/mta_sts.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(enum mta_sts_rc rc, const char *err, size_t len)
{
    assert(memchr(err, '\0', len) != NULL);
    assert(rc == MTA_STS_OK || err[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan sees any read past the end. */
    char *txt = malloc(size ? size : 1), err[160];
    const char *texts[8];
    size_t lens[8], n = 0, start = 0, which = 0;
    struct mta_sts_policy p;
    struct mta_sts_txt sts;
    struct tlsrpt_record rpt;
    enum mta_sts_rc rc;

    if (txt == NULL)
        return 0;
    memcpy(txt, data, size);

    rc = mta_sts_policy_parse(txt, size, &p, err, sizeof err);
    check_err(rc, err, sizeof err);
    if (rc == MTA_STS_OK) {
        assert(p.mode != MTA_STS_MODE_UNSET);
        assert(p.max_age >= 0 && p.max_age <= MTA_STS_MAX_AGE_MAX);
        assert(p.mode == MTA_STS_MODE_NONE || p.n_mx > 0);
        for (size_t i = 0; i < p.n_mx; i++) {
            assert(memchr(p.mx[i], '\0', MTA_STS_NAME_LEN) != NULL);
            /* a plain pattern matches itself, a wildcard one label */
            if (p.mx[i][0] != '*') {
                assert(mta_sts_mx_matches(&p, p.mx[i]));
            } else {
                char name[MTA_STS_NAME_LEN + 2] = "x";

                memcpy(name + 1, p.mx[i] + 1, strlen(p.mx[i]));
                assert(mta_sts_mx_matches(&p, name));
                assert(!mta_sts_pattern_matches(p.mx[i], p.mx[i] + 2));
            }
        }
        (void)mta_sts_mode_name(p.mode);
        mta_sts_policy_free(&p);
    } else {
        assert(p.mx == NULL && p.n_mx == 0);
    }

    rc = mta_sts_txt_parse(txt, size, &sts, err, sizeof err);
    check_err(rc, err, sizeof err);
    assert(memchr(sts.id, '\0', sizeof sts.id) != NULL);
    assert(rc != MTA_STS_OK || sts.id[0] != '\0');

    rc = tlsrpt_parse(txt, size, &rpt, err, sizeof err);
    check_err(rc, err, sizeof err);
    assert(rpt.n_rua <= TLSRPT_MAX_RUA);
    assert(rc != MTA_STS_OK || rpt.n_rua > 0);
    for (size_t i = 0; i < rpt.n_rua; i++)
        assert(memchr(rpt.rua[i], '\0', TLSRPT_URI_LEN) != NULL);

    /* The bytes split at NULs: an RRset of up to 8 TXT records. */
    for (size_t i = 0; i <= size && n < 8; i++)
        if (i == size || txt[i] == '\0') {
            texts[n] = txt + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    rc = mta_sts_txt_select(texts, lens, n, &which, &sts, err, sizeof err);
    check_err(rc, err, sizeof err);
    assert(rc == MTA_STS_NONE || which < n);
    rc = tlsrpt_select(texts, lens, n, &which, &rpt, err, sizeof err);
    check_err(rc, err, sizeof err);
    assert(rc == MTA_STS_NONE || which < n);
    free(txt);
    return 0;
}
