/*
 * sts_cache.c - the zone plugin's MTA-STS policy cache (sts.h).
 *
 * Senders keep the last good policy of a domain until its max_age runs
 * out and go on applying it when the policy server fails (RFC 8461 5.1).
 * To judge an unfetchable policy as they do, mxprobe keeps the policies
 * it fetched in plugins.zone.mta_sts_cache: one file per domain,
 *
 *   mxprobe-mta-sts-cache 1
 *   domain example.org
 *   fetched 1733140000
 *   id 20240101
 *   (an empty line, then the policy as served)
 *
 * written to a temporary file and renamed, so a reader never sees half
 * of one.  The file is read back as untrusted input: bounded, parsed
 * again, refused when it is not a regular file of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sts.h"

#define MAGIC "mxprobe-mta-sts-cache 1\n"

int sts_cache_name_ok(const char *domain)
{
    size_t n = strlen(domain);

    if (n == 0 || n >= MTA_STS_NAME_LEN || domain[0] == '.' ||
        domain[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = domain[i];

        if (c == '.' && domain[i + 1] == '.')
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* Longest domain kept whole in a file name: with ".mta-sts.XXXXXX" it
 * stays under the 255 bytes a file name may have (a domain may have
 * 253).  A longer one is cut there and a hash of the whole added after a
 * '~', which no domain holds; the domain line inside the file tells two
 * domains with one name apart. */
#define WHOLE_NAME_MAX 200

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

static int cache_path(const char *dir, const char *domain, const char *suffix,
                      char *out, size_t len)
{
    size_t dl = strlen(domain);
    int w;

    if (dl <= WHOLE_NAME_MAX)
        w = snprintf(out, len, "%s/%s%s", dir, domain, suffix);
    else
        w = snprintf(out, len, "%s/%.*s~%016llx%s", dir, WHOLE_NAME_MAX, domain,
                     (unsigned long long)fnv1a64(domain), suffix);
    return w > 0 && (size_t)w < len;
}

void sts_cached_free(struct sts_cached *c)
{
    if (c != NULL)
        mta_sts_policy_free(&c->policy);
}

/* The header line "key value\n" at *p (within end): the value into
 * val[vlen]; 0 when the line is not that. */
static int header_line(const char **p, const char *end, const char *key,
                       char *val, size_t vlen)
{
    size_t kl = strlen(key);
    const char *lf;
    size_t n;

    if ((size_t)(end - *p) <= kl || memcmp(*p, key, kl) != 0 || (*p)[kl] != ' ')
        return 0;
    lf = memchr(*p + kl + 1, '\n', (size_t)(end - *p - (ptrdiff_t)kl - 1));
    if (lf == NULL)
        return 0;
    n = (size_t)(lf - (*p + kl + 1));
    /* printable ASCII only: a NUL would cut the value short of what
     * the file says ("example.org\0junk") */
    if (n == 0 || n >= vlen)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((*p)[kl + 1 + i] <= ' ' || (*p)[kl + 1 + i] >= 0x7f)
            return 0;
    memcpy(val, *p + kl + 1, n);
    val[n] = '\0';
    *p = lf + 1;
    return 1;
}

/* A Unix time of 1 to 12 digits. */
static int parse_time(const char *s, long long *out)
{
    size_t n = strlen(s);

    *out = 0;
    if (n == 0 || n > 12)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *out = *out * 10 + (s[i] - '0');
    }
    return 1;
}

#define BROKEN(...)                                                            \
    do {                                                                       \
        snprintf(why, wlen, __VA_ARGS__);                                      \
        goto done;                                                             \
    } while (0)

/* The file's text (whole, at most STS_CACHE_FILE_MAX bytes) into buf;
 * its length, 0 when there is no file, -1 with why when it is not one
 * to read. */
static long read_file(const char *path, char *buf, char *why, size_t wlen)
{
    struct stat st;
    long got = -1;
    size_t n = 0;
    /* O_NOFOLLOW: a symlink planted in the directory is not followed;
     * O_NONBLOCK: a FIFO does not hang the check */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        BROKEN("cannot open it: %s", strerror(errno));
    if (fstat(fd, &st) != 0)
        BROKEN("cannot stat it: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        BROKEN("not a regular file");
    if (st.st_uid != geteuid())
        BROKEN("owned by another user (uid %ld)", (long)st.st_uid);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        BROKEN("writable by others (mode %03o)", (unsigned)st.st_mode & 0777);
    if (st.st_size > STS_CACHE_FILE_MAX)
        BROKEN("%lld bytes, more than the %d of a cache file",
               (long long)st.st_size, STS_CACHE_FILE_MAX);
    for (;;) {
        ssize_t r = read(fd, buf + n, STS_CACHE_FILE_MAX + 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            BROKEN("cannot read it: %s", strerror(errno));
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > STS_CACHE_FILE_MAX)
            BROKEN("it grew past %d bytes while read", STS_CACHE_FILE_MAX);
    }
    got = n > 0 ? (long)n : -1;
    if (got < 0)
        BROKEN("the file is empty");
done:
    if (fd >= 0)
        close(fd);
    return got;
}

int sts_cache_parse(const char *buf, size_t len, const char *domain,
                    long long now, struct sts_cached *out, char *why,
                    size_t wlen)
{
    char val[MTA_STS_NAME_LEN], err[256];
    const char *p = buf, *end = buf + len;
    size_t ml = strlen(MAGIC);
    int rc = -1;

    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (len < ml || memcmp(p, MAGIC, ml) != 0)
        BROKEN("not an mxprobe MTA-STS cache file");
    p += ml;
    if (!header_line(&p, end, "domain", val, sizeof val) ||
        strcmp(val, domain) != 0)
        BROKEN("its domain line does not name %s", domain);
    if (!header_line(&p, end, "fetched", val, sizeof val) ||
        !parse_time(val, &out->fetched))
        BROKEN("no valid fetched line");
    if (out->fetched > now + 300)
        BROKEN("its fetch time lies in the future");
    if (!header_line(&p, end, "id", val, sizeof val) ||
        strlen(val) >= sizeof out->id ||
        strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789") != strlen(val))
        BROKEN("no valid id line");
    memcpy(out->id, val, strlen(val) + 1);
    if (p == end || *p != '\n')
        BROKEN("no empty line after the header");
    p++;
    if (mta_sts_policy_parse(p, (size_t)(end - p), &out->policy, err,
                             sizeof err) != MTA_STS_OK)
        BROKEN("its policy is invalid: %s", err);
    rc = 1;
done:
    if (rc != 1) {
        mta_sts_policy_free(&out->policy);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int sts_cache_read(const char *dir, const char *domain, long long now,
                   struct sts_cached *out, char *why, size_t wlen)
{
    char path[4096 + MTA_STS_NAME_LEN];
    char *buf = NULL;
    long len;
    int rc = -1;

    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (!sts_cache_name_ok(domain) ||
        !cache_path(dir, domain, ".mta-sts", path, sizeof path))
        BROKEN("no cache file name for this domain");
    buf = malloc(STS_CACHE_FILE_MAX + 1);
    if (buf == NULL)
        BROKEN("out of memory");
    len = read_file(path, buf, why, wlen);
    rc = len <= 0
             ? (int)len
             : sts_cache_parse(buf, (size_t)len, domain, now, out, why, wlen);
done:
    free(buf);
    return rc;
}

/* Writes all of buf[n] to fd; 0 or -1. */
static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

int sts_cache_write(const char *dir, const char *domain, const char *id,
                    long long fetched, const char *body, size_t len, char *why,
                    size_t wlen)
{
    char path[4096 + MTA_STS_NAME_LEN], tmp[4096 + MTA_STS_NAME_LEN + 16];
    char head[MTA_STS_NAME_LEN + 128];
    int fd = -1, rc = -1, hl, created = 0;

    why[0] = '\0';
    tmp[0] = '\0';
    if (!sts_cache_name_ok(domain) || len > MTA_STS_POLICY_MAX ||
        !cache_path(dir, domain, ".mta-sts", path, sizeof path) ||
        !cache_path(dir, domain, ".mta-sts.XXXXXX", tmp, sizeof tmp))
        BROKEN("no cache file name for this domain");
    hl = snprintf(head, sizeof head, MAGIC "domain %s\nfetched %lld\nid %s\n\n",
                  domain, fetched, id);
    if (hl < 0 || (size_t)hl >= sizeof head)
        BROKEN("header too long");
    fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        BROKEN("cannot create a file in %s: %s", dir, strerror(errno));
    created = 1;
    if (write_all(fd, head, (size_t)hl) != 0 || write_all(fd, body, len) != 0 ||
        fsync(fd) != 0)
        BROKEN("cannot write %s: %s", tmp, strerror(errno));
    if (close(fd) != 0) {
        fd = -1;
        BROKEN("cannot write %s: %s", tmp, strerror(errno));
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        BROKEN("cannot rename %s to %s: %s", tmp, path, strerror(errno));
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && created)
        unlink(tmp);
    return rc;
}
#undef BROKEN

static int has_pattern(const struct mta_sts_policy *p, const char *pat)
{
    for (size_t i = 0; i < p->n_mx; i++)
        if (strcasecmp(p->mx[i], pat) == 0)
            return 1;
    return 0;
}

int sts_policy_same(const struct mta_sts_policy *a,
                    const struct mta_sts_policy *b)
{
    if (a->mode != b->mode || a->max_age != b->max_age)
        return 0;
    for (size_t i = 0; i < a->n_mx; i++)
        if (!has_pattern(b, a->mx[i]))
            return 0;
    for (size_t i = 0; i < b->n_mx; i++)
        if (!has_pattern(a, b->mx[i]))
            return 0;
    return 1;
}
