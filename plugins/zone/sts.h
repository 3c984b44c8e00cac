/*
 * sts.h - the zone plugin's MTA-STS (RFC 8461) and TLS-RPT (RFC 8460)
 * judging: its settings (plugins.zone.ca_file, mta_sts_cache), the
 * policy cache that stands for what senders remember (sts_cache.c) and
 * the verdicts (sts_judge.c, whose zone_sts_check policy.h declares).
 * mta_sts.c holds the parsers.
 */
#ifndef MXP_ZONE_STS_H
#define MXP_ZONE_STS_H

#include "mta_sts.h"
#include "zone.h"

/* Reads plugins.zone.ca_file and mta_sts_cache into out (which
 * zone_settings_load filled first); MXP_ERR_CONFIG after a config_error
 * at the bad node. */
int zone_sts_settings_load(struct mxp_ctx *ctx, struct zone_settings *out);

/* ---- the cache (sts_cache.c) ------------------------------------------ */

/* A cache file: a header and the policy as it was served.  The header
 * and the 64 KiB policy fit in this; bigger files are broken ones. */
#define STS_CACHE_FILE_MAX (MTA_STS_POLICY_MAX + 1024)

/* The last good policy of a domain, as read back from the cache. */
struct sts_cached {
    char id[MTA_STS_ID_LEN]; /* the TXT id it was fetched under */
    long long fetched;       /* Unix time of the fetch */
    struct mta_sts_policy policy;
};

/* 1 when domain (lowercase, no trailing dot) is safe as a file name in
 * the cache: letters, digits, '-', '_' and inner single dots only. */
int sts_cache_name_ok(const char *domain);

/* Reads dir's file of domain into *out, checking everything again (the
 * header, the domain, a fetch time not in the future of now, the policy
 * by mta_sts_policy_parse; the file a regular one of ours, not writable
 * by others, not bigger than STS_CACHE_FILE_MAX).  1: *out filled (free
 * it with sts_cached_free); 0: no file; -1: a broken file, why says what
 * (nothing to free). */
int sts_cache_read(const char *dir, const char *domain, long long now,
                   struct sts_cached *out, char *why, size_t wlen);
void sts_cached_free(struct sts_cached *c);
/* The checks of sts_cache_read over a file's bytes buf[len] (any bytes). */
int sts_cache_parse(const char *buf, size_t len, const char *domain,
                    long long now, struct sts_cached *out, char *why,
                    size_t wlen);

/* Writes the policy body[len] fetched at fetched under id for domain to
 * dir, atomically (a temporary file renamed over the old one, mode
 * 0600).  0 on success, -1 with why. */
int sts_cache_write(const char *dir, const char *domain, const char *id,
                    long long fetched, const char *body, size_t len, char *why,
                    size_t wlen);

/* 1 when a and b say the same thing: mode, max_age and the same set of
 * mx patterns (any order, any case). */
int sts_policy_same(const struct mta_sts_policy *a,
                    const struct mta_sts_policy *b);

#endif
