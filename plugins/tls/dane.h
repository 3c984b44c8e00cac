/*
 * dane.h - DANE TLSA records (RFC 6698, 7671, 7672) for the tls check:
 * the wire rdata and the presentation form ("3 1 1 <hex>") parsed into a
 * record that says whether an SMTP sender would use it and why not, a
 * record printed back, and the server's chain (leaf first) matched
 * against a TLSA RRset with a summary for the verdicts.  Nothing here
 * looks up DNS or judges AD: the caller hands over a validated RRset.
 */
#ifndef TLS_DANE_H
#define TLS_DANE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define DANE_DATA_MAX 16384 /* association data kept (a full cert or SPKI) */
#define DANE_WHY_MAX 160

enum dane_usage {
    DANE_PKIX_TA = 0,
    DANE_PKIX_EE = 1,
    DANE_DANE_TA = 2,
    DANE_DANE_EE = 3,
};
enum dane_selector { DANE_SEL_CERT = 0, DANE_SEL_SPKI = 1 };
enum dane_mtype { DANE_FULL = 0, DANE_SHA256 = 1, DANE_SHA512 = 2 };

/* One TLSA record.  usable 0: a sender ignores it (RFC 7671 4.1:
 * unusable records are skipped, they are no error), why says so. */
struct dane_rr {
    uint8_t usage;
    uint8_t selector;
    uint8_t mtype;
    unsigned char *data; /* malloc()ed, len bytes (NULL when len is 0) */
    size_t len;
    int usable;
    char why[DANE_WHY_MAX];
};

/* Parses wire rdata (usage, selector, matching type, data) into *out,
 * classified (usable or why not; rdata under 3 bytes is unusable too).
 * Returns 0, or -1 when out of memory (*out then holds nothing to free).
 * Free with dane_rr_free. */
int dane_rr_parse(const unsigned char *rdata, size_t len, struct dane_rr *out);

/* Parses the presentation form "U S M HEX" (decimal fields 0..255, hex
 * digits that may be split by blanks) into *out, classified as above.
 * Returns 0, or -1 with a reason in err (bad syntax, bad hex, odd number
 * of hex digits, no data, out of memory); nothing to free then. */
int dane_rr_parse_text(const char *text, struct dane_rr *out, char *err,
                       size_t err_cap);

void dane_rr_free(struct dane_rr *rr);

/* Writes "U S M HEX" (upper-case hex) into buf (always terminated, cut
 * to cap).  max_hex > 0 shortens the hex to that many digits followed by
 * "..." (for messages); 0 writes all of it.  Returns the length the whole
 * text needs (as snprintf). */
size_t dane_rr_format(const struct dane_rr *rr, char *buf, size_t cap,
                      size_t max_hex);

/* "DANE-EE", "DANE-TA", "PKIX-EE", "PKIX-TA" or "usage N" (static). */
const char *dane_usage_name(unsigned usage);

enum dane_outcome { DANE_UNUSABLE = 0, DANE_NO_MATCH, DANE_MATCH };

#define DANE_TA_ABSENT ((size_t)-1) /* matched TA key not in the chain */

struct dane_rr_result {
    enum dane_outcome outcome;
    /* DANE_MATCH: the chain index of the certificate matched (0 the
     * leaf), or DANE_TA_ABSENT for a 2 1 0 key that signed the top of
     * the chain the server sent. */
    size_t position;
    char why[DANE_WHY_MAX]; /* for each outcome, in words */
};

struct dane_summary {
    size_t n_records;
    size_t n_usable;
    size_t n_matched;
    int single_usable;  /* one usable record: no second key for a rollover */
    int matched_ee;     /* a DANE-EE record matched: names and dates do not
                           apply (RFC 7672 3.1.1) */
    int matched_ta;     /* a DANE-TA record matched: names are checked
                           against the MX name (RFC 7672 3.2.3) */
    size_t first_match; /* index into the records, (size_t)-1 for none */
};

/* Matches chain[0..n_chain) (leaf first, as the server sent it) against
 * rrs[0..n), one result per record into res[0..n), the summary into
 * *sum.  DANE-EE (3) records match the leaf only.  DANE-TA (2) records
 * match an issuer certificate (chain position 1 or above) that is on the
 * signed path from the leaf: each link must be issued by (names, key
 * identifiers) and signed with the key of the next one, or the record
 * does not match.  A 2 1 0 record (the TA's full public key) also
 * matches when no sent certificate does but that key signed the top of
 * the path (RFC 7671 5.2.3: such a TA need not be sent); a digest of an
 * unsent TA cannot be checked and does not match (RFC 7671 5.2.2, RFC
 * 7672 3.1.2: the server must send its TA then).  The leaf is never its
 * own DANE-TA (as in OpenSSL's DANE: a record for the leaf is usage 3).
 * No names and no dates are checked here: after a DANE-TA match the
 * caller still checks the leaf's names against the MX name (RFC 7672
 * 3.2.3) and the dates; after a DANE-EE match neither applies (RFC 7672
 * 3.1.1).  Returns 0, -1 when out of memory (the results are then
 * unreliable). */
int dane_match(const struct dane_rr *rrs, size_t n, X509 *const *chain,
               size_t n_chain, struct dane_rr_result *res,
               struct dane_summary *sum);

#endif
