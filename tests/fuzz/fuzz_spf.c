/*
 * fuzz_spf.c - libFuzzer target for the SPF evaluator of the zone plugin:
 * the input is the client address, the record of fuzz.example and the
 * answers of a fake DNS (every other question is answered from one of
 * the input's lines, chosen by a hash of the question), so the parser,
 * the macro expander and check_host() all see hostile text.  The outcome
 * must be well formed; nothing may crash, leak or overread.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../plugins/zone/spf.c"
#include "../../plugins/zone/spf_macro.c"
#include "../../plugins/zone/spf_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 32
#define MAX_ALLOCS 4096

struct fuzz_dns {
    const char *line[MAX_LINES];
    size_t len[MAX_LINES];
    size_t n;
    void *allocs[MAX_ALLOCS];
    size_t n_allocs;
};

static uint32_t hash(const char *s, uint16_t type)
{
    uint32_t h = 2166136261u ^ type;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)(*s | 0x20)) * 16777619u;
    return h;
}

/* Records of the line's text, split on ',' (up to 12). */
static void fill(struct fuzz_dns *d, const char *text, size_t len,
                 uint16_t type, struct spf_dns_answer *out)
{
    struct mxp_dns_rr *rr;
    size_t n = 0, start = 0;

    if (d->n_allocs == MAX_ALLOCS)
        return;
    rr = calloc(12, sizeof *rr);
    if (rr == NULL)
        return;
    d->allocs[d->n_allocs++] = rr;
    for (size_t i = 0; i <= len && n < 12; i++) {
        if (i < len && text[i] != ',')
            continue;
        rr[n].type = type;
        rr[n].text = text + start;
        rr[n].text_len = i - start;
        memcpy(rr[n].addr, text + start, i - start < 16 ? i - start : 16);
        n++;
        start = i + 1;
    }
    out->rr = rr;
    out->n_rr = n;
}

static int fuzz_lookup(void *user, const char *name, uint16_t type,
                       struct spf_dns_answer *out)
{
    struct fuzz_dns *d = user;
    size_t k;
    unsigned char kind;

    if (strcmp(name, "fuzz.example") == 0 && type == MXP_DNS_TXT) {
        out->result = MXP_DNS_ANSWER;
        fill(d, d->line[0], d->len[0], type, out);
        out->n_rr = out->n_rr > 0 ? 1 : 0;
        return MXP_OK;
    }
    if (d->n < 2) {
        out->result = MXP_DNS_NXDOMAIN;
        return MXP_OK;
    }
    k = 1 + hash(name, type) % (d->n - 1);
    kind = d->len[k] > 0 ? (unsigned char)d->line[k][0] : 0;
    if (kind == '!')
        return MXP_ERR_TIMEOUT;
    out->result = (enum mxp_dns_result)(kind % 8);
    if (out->result == MXP_DNS_ANSWER && d->len[k] > 0)
        fill(d, d->line[k] + 1, d->len[k] - 1, type, out);
    return MXP_OK;
}

static void split_lines(struct fuzz_dns *d, const char *text, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i <= len && d->n < MAX_LINES; i++) {
        if (i < len && text[i] != '\n')
            continue;
        d->line[d->n] = text + start;
        d->len[d->n++] = i - start;
        start = i + 1;
    }
}

static void check_outcome(const struct spf_outcome *o)
{
    if ((unsigned)o->result > SPF_PERMERROR ||
        strlen(o->mechanism) >= SPF_TEXT_MAX ||
        strlen(o->problem) >= SPF_TEXT_MAX ||
        strlen(o->explanation) >= SPF_TEXT_MAX ||
        strlen(o->record) >= SPF_TEXT_MAX || o->dns_lookups > 11 ||
        o->void_lookups > 3)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_dns d;
    struct spf_request rq = {0};
    struct spf_outcome out;
    char *text, first[512], expanded[1024];

    if (size < 17)
        return 0;
    memset(&d, 0, sizeof d);
    rq.family = (data[0] & 1) ? AF_INET6 : AF_INET;
    memcpy(rq.addr, data + 1, 16);
    text = malloc(size - 17 + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data + 17, size - 17);
    text[size - 17] = '\0';
    split_lines(&d, text, size - 17);
    rq.domain = "fuzz.example";
    rq.sender = (data[0] & 2) ? "user@sender.example" : "";
    rq.helo = (data[0] & 4) ? "helo.example" : NULL;
    rq.lookup = fuzz_lookup;
    rq.lookup_user = &d;
    if (spf_check_host(&rq, &out) == MXP_OK)
        check_outcome(&out);
    /* the first line, up to a NUL, as a macro-string */
    memcpy(first, d.line[0], d.len[0] < 511 ? d.len[0] : 511);
    first[d.len[0] < 511 ? d.len[0] : 511] = '\0';
    spf_expand(&rq, "fuzz.example", first, (data[0] & 8) != 0, expanded,
               sizeof expanded);
    for (size_t i = 0; i < d.n_allocs; i++)
        free(d.allocs[i]);
    free(text);
    return 0;
}
