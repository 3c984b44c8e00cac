/*
 * nbstat.c - the NetBIOS node status query and its answer (see nbstat.h).
 *
 * The answer comes from whoever holds the target's UDP port 137 and is
 * hostile input: every count and length is checked against the bytes
 * received before it is used, and names are made printable before they
 * reach a report.
 */
#include "nbstat.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NB_TYPE_NBSTAT 0x0021
#define NB_CLASS_IN 0x0001
#define NB_HDR_LEN 12
#define NB_NAME_ENTRY 18 /* 16 name bytes, 2 flag bytes */
#define NB_FLAG_RESPONSE 0x8000
#define NB_OPCODE_MASK 0x7800

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)(v & 0xff);
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

size_t nbstat_request(unsigned char *out, size_t len, uint16_t id)
{
    unsigned char name[16];
    size_t o = 0;

    if (out == NULL || len < NBSTAT_REQ_LEN)
        return 0;
    memset(out, 0, NBSTAT_REQ_LEN);
    put16(out, id);
    /* flags 0: a query, opcode 0, unicast, no recursion */
    put16(out + 4, 1); /* QDCOUNT */
    o = NB_HDR_LEN;
    /* "*" padded with NULs, first-level encoded (RFC 1001 14.1): each
     * half-byte as 'A' + its value. */
    memset(name, 0, sizeof(name));
    name[0] = '*';
    out[o++] = 32;
    for (size_t i = 0; i < 16; i++) {
        out[o++] = (unsigned char)('A' + (name[i] >> 4));
        out[o++] = (unsigned char)('A' + (name[i] & 0x0f));
    }
    out[o++] = 0;
    put16(out + o, NB_TYPE_NBSTAT);
    put16(out + o + 2, NB_CLASS_IN);
    return o + 4;
}

static void set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* Skips a domain-style name at buf[*off]: labels, or a compression
 * pointer (2 bytes) ending it.  0 when it runs past len or is absurd. */
static int skip_name(const unsigned char *buf, size_t len, size_t *off)
{
    size_t o = *off, labels = 0;

    for (;;) {
        if (o >= len)
            return 0;
        if ((buf[o] & 0xc0) == 0xc0) {
            if (o + 2 > len)
                return 0;
            *off = o + 2;
            return 1;
        }
        if ((buf[o] & 0xc0) != 0)
            return 0;
        if (buf[o] == 0) {
            *off = o + 1;
            return 1;
        }
        if (++labels > 64)
            return 0;
        o += 1 + (size_t)buf[o];
    }
}

static void printable_name(const unsigned char *raw, char out[16])
{
    size_t n = 15;

    for (size_t i = 0; i < 15; i++)
        out[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? (char)raw[i] : '?';
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

enum nbstat_verdict nbstat_parse(const unsigned char *buf, size_t len,
                                 uint16_t id, struct nbstat_table *t, char *why,
                                 size_t whylen)
{
    size_t off, rdlen, rdend, need, nkeep;
    uint16_t flags;

    memset(t, 0, sizeof(*t));
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (buf == NULL || len < NB_HDR_LEN) {
        set_why(why, whylen, "%zu bytes, shorter than a header (%d)", len,
                NB_HDR_LEN);
        return NBSTAT_NOT_NBNS;
    }
    flags = get16(buf + 2);
    if (get16(buf) != id || !(flags & NB_FLAG_RESPONSE) ||
        (flags & NB_OPCODE_MASK) != 0) {
        set_why(why, whylen,
                "not a name service answer to our query (id %04x, flags "
                "%04x)",
                (unsigned)get16(buf), (unsigned)flags);
        return NBSTAT_NOT_NBNS;
    }
    if ((flags & 0x000f) != 0) {
        set_why(why, whylen, "the answer is an error (RCODE %u)",
                (unsigned)(flags & 0x000f));
        return NBSTAT_BROKEN;
    }
    if (get16(buf + 6) == 0) {
        set_why(why, whylen, "the answer holds no record (ANCOUNT 0)");
        return NBSTAT_BROKEN;
    }
    /* Questions are not echoed in an NBSTAT answer, but skip any that
     * a server sends (each bounded by the bytes there). */
    off = NB_HDR_LEN;
    for (size_t q = 0, nq = get16(buf + 4); q < nq; q++)
        if (!skip_name(buf, len, &off) || (off += 4) > len) {
            set_why(why, whylen,
                    "question %zu of %zu runs past the end of the answer",
                    q + 1, nq);
            return NBSTAT_BROKEN;
        }
    if (!skip_name(buf, len, &off) || off + 10 > len) {
        set_why(why, whylen, "the record runs past the end (%zu bytes)", len);
        return NBSTAT_BROKEN;
    }
    if (get16(buf + off) != NB_TYPE_NBSTAT) {
        set_why(why, whylen, "the record is of type 0x%04x, not NBSTAT",
                (unsigned)get16(buf + off));
        return NBSTAT_BROKEN;
    }
    rdlen = get16(buf + off + 8);
    off += 10;
    if (rdlen > len - off) {
        set_why(why, whylen,
                "RDLENGTH says %zu bytes, %zu are there: a count that lies",
                rdlen, len - off);
        return NBSTAT_BROKEN;
    }
    rdend = off + rdlen;
    if (rdlen < 1) {
        set_why(why, whylen, "the record is empty");
        return NBSTAT_BROKEN;
    }
    t->n_claimed = buf[off++];
    need = t->n_claimed * NB_NAME_ENTRY;
    if (need > rdend - off) {
        set_why(why, whylen,
                "NUM_NAMES says %zu names, the record holds bytes for %zu: "
                "a count that lies",
                t->n_claimed, (rdend - off) / NB_NAME_ENTRY);
        return NBSTAT_BROKEN;
    }
    nkeep = t->n_claimed < NBSTAT_MAX_NAMES ? t->n_claimed : NBSTAT_MAX_NAMES;
    for (size_t i = 0; i < t->n_claimed; i++, off += NB_NAME_ENTRY) {
        struct nbstat_name *nm;

        if (i >= nkeep)
            continue;
        nm = &t->names[t->n_names++];
        printable_name(buf + off, nm->name);
        nm->suffix = buf[off + 15];
        nm->flags = get16(buf + off + 16);
    }
    /* STATISTICS: the unit ID (the MAC address) first.  Some stacks
     * send less than the 46 bytes of RFC 1002: then there is no MAC. */
    if (rdend - off >= 6) {
        t->have_mac = 1;
        memcpy(t->mac, buf + off, 6);
    }
    return NBSTAT_TABLE;
}

static const char *find_name(const struct nbstat_table *t, int group)
{
    for (size_t i = 0; i < t->n_names; i++)
        if (t->names[i].suffix == 0x00 &&
            !!(t->names[i].flags & NBSTAT_GROUP) == group &&
            t->names[i].name[0] != '\0')
            return t->names[i].name;
    return NULL;
}

const char *nbstat_host(const struct nbstat_table *t)
{
    return find_name(t, 0);
}

const char *nbstat_workgroup(const struct nbstat_table *t)
{
    return find_name(t, 1);
}
