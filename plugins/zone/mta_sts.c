/*
 * mta_sts.c - RFC 8461 MTA-STS (the _mta-sts TXT record, the policy
 * file, MX patterns) and RFC 8460 TLS-RPT (the _smtp._tls TXT record)
 * parsers; see mta_sts.h.  The grammar followed is the RFCs' ABNF: %s""
 * strings (version, keys, modes) are case-sensitive, URI schemes and
 * domain names are not.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mta_sts.h"

/* ---- shared helpers --------------------------------------------------- */

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static int is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* s[n] for a message: printable ASCII as is, other bytes as \xHH, at
 * most about 60 characters of it (then "..."). */
static const char *shown(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 8 < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (o >= 60) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

/* RFC 8461/8460 ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-"
 * / "."). */
static int ext_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 32 || !is_alnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' &&
            s[i] != '.')
            return 0;
    return 1;
}

/* TXT ext-value: 1*(%x21-3A / %x3C / %x3E-7E). */
static int ext_value_ok(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x21 || c > 0x7e || c == ';' || c == '=')
            return 0;
    }
    return 1;
}

/* A domain name as RFC 5321's Domain: labels of letters, digits and
 * inner hyphens, 1..63 each, 253 in all, no final dot. */
static int domain_ok(const char *s, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
        } else if (is_alnum(c) || (c == '-' && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

/* The fields of a TXT record after its version tag: *WSP ";" *WSP
 * field, repeated, an optional final ";".  field(arg, name, value) is
 * called for each (value up to ';' with outer white space trimmed) and
 * returns MTA_STS_OK to go on, or MTA_STS_NONE for a field it does not
 * know: an extension, whose value is then checked here for both kinds of
 * record. */
typedef enum mta_sts_rc (*field_fn)(void *arg, const char *name, size_t nl,
                                    const char *value, size_t vl, char *err,
                                    size_t errlen);

static enum mta_sts_rc txt_fields(const char *txt, size_t len,
                                  const char *version, field_fn field,
                                  void *arg, char *err, size_t errlen)
{
    size_t vlen = strlen(version), i = vlen, n_fields = 0;
    char a[80], b[80];

    if (len < vlen || memcmp(txt, version, vlen) != 0) {
        say(err, errlen, "the record does not begin with %s (exact case)",
            version);
        return MTA_STS_BAD;
    }
    for (;;) {
        size_t name, nl, val, end, ve;
        enum mta_sts_rc rc;

        while (i < len && is_wsp((unsigned char)txt[i]))
            i++;
        if (i == len)
            break;
        if (txt[i] != ';') {
            say(err, errlen, "'%s' follows %s where ';' belongs",
                shown(txt + i, len - i, a, sizeof a),
                n_fields ? "a field" : version);
            return MTA_STS_BAD;
        }
        i++;
        while (i < len && is_wsp((unsigned char)txt[i]))
            i++;
        if (i == len)
            break; /* the optional final ';' */
        name = i;
        while (i < len && txt[i] != '=' && txt[i] != ';')
            i++;
        nl = i - name;
        if (i == len || txt[i] != '=') {
            say(err, errlen, "field '%s' has no '=' (expected name=value)",
                shown(txt + name, nl, a, sizeof a));
            return MTA_STS_BAD;
        }
        if (!ext_name_ok(txt + name, nl)) {
            say(err, errlen,
                "'%s' is no field name (a letter or digit, then up to 31 "
                "letters, digits, '_', '-', '.')",
                shown(txt + name, nl, a, sizeof a));
            return MTA_STS_BAD;
        }
        val = ++i;
        while (i < len && txt[i] != ';')
            i++;
        end = i;
        ve = end;
        while (ve > val && is_wsp((unsigned char)txt[ve - 1]))
            ve--;
        rc = field(arg, txt + name, nl, txt + val, ve - val, err, errlen);
        if (rc == MTA_STS_NONE && !ext_value_ok(txt + val, ve - val)) {
            say(err, errlen,
                "field %s has the value '%s' (one or more printable "
                "characters, no space, '=' or ';')",
                shown(txt + name, nl, a, sizeof a),
                shown(txt + val, ve - val, b, sizeof b));
            return MTA_STS_BAD;
        }
        if (rc != MTA_STS_OK && rc != MTA_STS_NONE)
            return rc;
        n_fields++;
        i = end;
    }
    if (n_fields == 0) {
        say(err, errlen, "the record has no field after %s", version);
        return MTA_STS_BAD;
    }
    return MTA_STS_OK;
}

static int begins_record(const char *txt, size_t len, const char *version)
{
    size_t vl = strlen(version);

    return txt != NULL && len >= vl && memcmp(txt, version, vl) == 0 &&
           (len == vl || txt[vl] == ';' || is_wsp((unsigned char)txt[vl]));
}

/* ---- _mta-sts TXT ----------------------------------------------------- */

struct sts_txt_state {
    struct mta_sts_txt *out;
    int have_id;
};

static enum mta_sts_rc sts_txt_field(void *arg, const char *name, size_t nl,
                                     const char *value, size_t vl, char *err,
                                     size_t errlen)
{
    struct sts_txt_state *st = arg;
    char a[80];

    if (nl == 2 && memcmp(name, "id", 2) == 0) {
        int ok = vl >= 1 && vl <= 32;

        /* RFC 8461 3.2: of a repeated field the first counts */
        if (st->have_id) {
            st->out->dup_id = 1;
            return MTA_STS_OK;
        }
        for (size_t i = 0; ok && i < vl; i++)
            ok = is_alnum((unsigned char)value[i]);
        if (!ok) {
            say(err, errlen, "id '%s' is not 1 to 32 letters and digits",
                shown(value, vl, a, sizeof a));
            return MTA_STS_BAD;
        }
        memcpy(st->out->id, value, vl);
        st->out->id[vl] = '\0';
        st->have_id = 1;
        return MTA_STS_OK;
    }
    return MTA_STS_NONE; /* an extension: txt_fields checks it */
}

int mta_sts_txt_is_record(const char *txt, size_t len)
{
    return begins_record(txt, len, "v=STSv1");
}

enum mta_sts_rc mta_sts_txt_parse(const char *txt, size_t len,
                                  struct mta_sts_txt *out, char *err,
                                  size_t errlen)
{
    struct sts_txt_state st = {out, 0};
    enum mta_sts_rc rc;

    memset(out, 0, sizeof *out);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!mta_sts_txt_is_record(txt, len)) {
        say(err, errlen, "the record does not begin with v=STSv1");
        return MTA_STS_BAD;
    }
    rc = txt_fields(txt, len, "v=STSv1", sts_txt_field, &st, err, errlen);
    if (rc == MTA_STS_OK && !st.have_id) {
        say(err, errlen, "the record has no id field");
        rc = MTA_STS_BAD;
    }
    if (rc != MTA_STS_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

/* The one TXT record among texts that begins with version (its index in
 * *which): MTA_STS_OK, or MTA_STS_NONE / MTA_STS_SEVERAL with the reason
 * (senders ignore several, per rfc). */
static enum mta_sts_rc select_record(const char *const *texts,
                                     const size_t *lens, size_t n,
                                     const char *version, const char *rfc,
                                     size_t *which, char *err, size_t errlen)
{
    size_t found = 0;

    for (size_t i = 0; i < n; i++)
        if (begins_record(texts[i], lens[i], version) && found++ == 0)
            *which = i;
    if (found == 0) {
        say(err, errlen, "no TXT record begins with %s", version);
        return MTA_STS_NONE;
    }
    if (found > 1) {
        say(err, errlen,
            "%zu TXT records begin with %s: senders ignore them all (%s)",
            found, version, rfc);
        return MTA_STS_SEVERAL;
    }
    return MTA_STS_OK;
}

enum mta_sts_rc mta_sts_txt_select(const char *const *texts, const size_t *lens,
                                   size_t n, size_t *which,
                                   struct mta_sts_txt *out, char *err,
                                   size_t errlen)
{
    enum mta_sts_rc rc = select_record(texts, lens, n, "v=STSv1",
                                       "RFC 8461 3.1", which, err, errlen);

    memset(out, 0, sizeof *out);
    if (rc != MTA_STS_OK)
        return rc;
    return mta_sts_txt_parse(texts[*which], lens[*which], out, err, errlen);
}

/* ---- the policy file -------------------------------------------------- */

const char *mta_sts_mode_name(enum mta_sts_mode m)
{
    switch (m) {
    case MTA_STS_MODE_ENFORCE:
        return "enforce";
    case MTA_STS_MODE_TESTING:
        return "testing";
    case MTA_STS_MODE_NONE:
        return "none";
    default:
        return "unset";
    }
}

void mta_sts_policy_free(struct mta_sts_policy *p)
{
    if (p == NULL)
        return;
    free(p->mx);
    p->mx = NULL;
    p->n_mx = 0;
}

/* The length of the UTF-8 sequence at s[0..n) (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t need;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        need = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        need = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        need = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need;
}

/* Where each known key was first seen (line number, 0: not yet). */
struct policy_state {
    struct mta_sts_policy *p;
    size_t cap_mx;
    unsigned version, mode, max_age, mx, fields;
};

static enum mta_sts_rc add_mx(struct policy_state *st, const char *v, size_t vl)
{
    struct mta_sts_policy *p = st->p;

    if (p->n_mx == st->cap_mx) {
        size_t cap = st->cap_mx ? st->cap_mx * 2 : 4;
        char(*mx)[MTA_STS_NAME_LEN] = realloc(p->mx, cap * sizeof *mx);

        if (mx == NULL)
            return MTA_STS_NOMEM;
        p->mx = mx;
        st->cap_mx = cap;
    }
    memcpy(p->mx[p->n_mx], v, vl);
    p->mx[p->n_mx][vl] = '\0';
    p->n_mx++;
    return MTA_STS_OK;
}

static const char *const known_keys[] = {"version", "mode", "mx", "max_age"};

static enum mta_sts_rc policy_field(struct policy_state *st, unsigned ln,
                                    const char *k, size_t kl, const char *v,
                                    size_t vl, char *err, size_t errlen)
{
    struct mta_sts_policy *p = st->p;
    char a[80], b[80];
    unsigned *seen = NULL;

#define KEY(s) (kl == sizeof(s) - 1 && memcmp(k, s, kl) == 0)
    if (KEY("version"))
        seen = &st->version;
    else if (KEY("mode"))
        seen = &st->mode;
    else if (KEY("max_age"))
        seen = &st->max_age;
    else if (KEY("mx"))
        seen = &st->mx;
    /* RFC 8461 3.2: sts-policy-field is any of the fields, in any
     * order; version is required, not first */
    st->fields++;
    if (seen == NULL) {
        for (size_t i = 0; i < sizeof known_keys / sizeof *known_keys; i++)
            /* %s"mode": to senders "Mode" is an extension, ignored
             * (a policy without the real one fails below, saying so) */
            if (strlen(known_keys[i]) == kl &&
                strncasecmp(known_keys[i], k, kl) == 0 && p->case_line == 0) {
                p->case_line = ln;
                p->case_key = known_keys[i];
            }
        return MTA_STS_OK; /* an extension: ignored */
    }
    /* RFC 8461 3.2: "If any non-repeated field -- i.e., all fields
     * excepting "mx" -- is duplicated, all entries except for the first
     * SHOULD be ignored": senders go by the first, and so does this */
    if (*seen != 0 && seen != &st->mx) {
        if (p->dup_line == 0) {
            p->dup_line = ln;
            p->dup_key = seen == &st->version ? "version"
                         : seen == &st->mode  ? "mode"
                                              : "max_age";
        }
        return MTA_STS_OK;
    }
    if (*seen == 0)
        *seen = ln;
    if (seen == &st->version) {
        if (!(vl == 5 && memcmp(v, "STSv1", 5) == 0)) {
            say(err, errlen, "line %u: version is '%s', not STSv1", ln,
                shown(v, vl, a, sizeof a));
            return MTA_STS_BAD;
        }
    } else if (seen == &st->mode) {
        if (vl == 7 && memcmp(v, "enforce", 7) == 0)
            p->mode = MTA_STS_MODE_ENFORCE;
        else if (vl == 7 && memcmp(v, "testing", 7) == 0)
            p->mode = MTA_STS_MODE_TESTING;
        else if (vl == 4 && memcmp(v, "none", 4) == 0)
            p->mode = MTA_STS_MODE_NONE;
        else {
            say(err, errlen,
                "line %u: mode '%s' is not enforce, testing or none", ln,
                shown(v, vl, a, sizeof a));
            return MTA_STS_BAD;
        }
    } else if (seen == &st->max_age) {
        long age = 0;
        int ok = vl >= 1 && vl <= 10;

        for (size_t i = 0; ok && i < vl; i++) {
            ok = v[i] >= '0' && v[i] <= '9';
            if (ok && age <= MTA_STS_MAX_AGE_MAX)
                age = age * 10 + (v[i] - '0');
        }
        if (!ok) {
            say(err, errlen,
                "line %u: max_age '%s' is not a number of seconds (1 to 10 "
                "digits)",
                ln, shown(v, vl, a, sizeof a));
            return MTA_STS_BAD;
        }
        if (age > MTA_STS_MAX_AGE_MAX) {
            say(err, errlen,
                "line %u: max_age %s is more than %ld seconds, the RFC 8461 "
                "maximum (about a year)",
                ln, shown(v, vl, a, sizeof a), MTA_STS_MAX_AGE_MAX);
            return MTA_STS_BAD;
        }
        p->max_age = age;
    } else {
        size_t skip = vl >= 2 && v[0] == '*' && v[1] == '.' ? 2 : 0;

        if (vl > skip + 1 && v[vl - 1] == '.' &&
            domain_ok(v + skip, vl - skip - 1)) {
            say(err, errlen,
                "line %u: mx '%s' ends in a dot (the policy's names have "
                "none)",
                ln, shown(v, vl, a, sizeof a));
            return MTA_STS_BAD;
        }
        if (!domain_ok(v + skip, vl - skip)) {
            say(err, errlen,
                "line %u: mx '%s' is not a domain name or '*.' and a domain "
                "name",
                ln, shown(v, vl, b, sizeof b));
            return MTA_STS_BAD;
        }
        return add_mx(st, v, vl);
    }
#undef KEY
    return MTA_STS_OK;
}

/* One line (its terminator removed), ln 1-based. */
static enum mta_sts_rc policy_line(struct policy_state *st, unsigned ln,
                                   const char *s, size_t n, char *err,
                                   size_t errlen)
{
    const char *colon;
    size_t kl, v, ve;
    char a[80];

    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t u;

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            say(err, errlen,
                "line %u: control byte 0x%02x at column %zu (not a text "
                "policy)",
                ln, c, i + 1);
            return MTA_STS_BAD;
        }
        u = utf8_len((const unsigned char *)s + i, n - i);
        if (u == 0) {
            say(err, errlen, "line %u: byte 0x%02x at column %zu is not UTF-8",
                ln, c, i + 1);
            return MTA_STS_BAD;
        }
        i += u;
    }
    {
        size_t w = 0;

        while (w < n && is_wsp((unsigned char)s[w]))
            w++;
        if (w == n) {
            if (st->p->blank_line == 0)
                st->p->blank_line = ln;
            return MTA_STS_OK;
        }
    }
    colon = memchr(s, ':', n);
    if (colon == NULL) {
        say(err, errlen, "line %u has no ':' (expected key: value): '%s'", ln,
            shown(s, n, a, sizeof a));
        return MTA_STS_BAD;
    }
    kl = (size_t)(colon - s);
    /* what an editor saving "UTF-8 with BOM" leaves: say so, since the
     * bytes of an invisible mark are no help to the admin */
    if (ln == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        say(err, errlen,
            "line 1 begins with a UTF-8 byte order mark (EF BB BF), which "
            "makes its key no key to senders: save the policy without it");
        return MTA_STS_BAD;
    }
    if (!ext_name_ok(s, kl)) {
        say(err, errlen,
            "line %u: '%s' is no key (a letter or digit, then up to 31 "
            "letters, digits, '_', '-', '.'; no white space before ':')",
            ln, shown(s, kl, a, sizeof a));
        return MTA_STS_BAD;
    }
    v = kl + 1;
    while (v < n && is_wsp((unsigned char)s[v]))
        v++;
    ve = n;
    while (ve > v && is_wsp((unsigned char)s[ve - 1]))
        ve--;
    return policy_field(st, ln, s, kl, s + v, ve - v, err, errlen);
}

enum mta_sts_rc mta_sts_policy_parse(const char *body, size_t len,
                                     struct mta_sts_policy *out, char *err,
                                     size_t errlen)
{
    struct policy_state st;
    enum mta_sts_rc rc = MTA_STS_OK;
    size_t i = 0;
    unsigned ln = 0;

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    st.p = out;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (len > MTA_STS_POLICY_MAX) {
        say(err, errlen, "the policy is %zu bytes, more than the %d accepted",
            len, MTA_STS_POLICY_MAX);
        return MTA_STS_OVERSIZED;
    }
    while (i < len && rc == MTA_STS_OK) {
        const char *lf = memchr(body + i, '\n', len - i);
        size_t end = lf != NULL ? (size_t)(lf - body) : len, n = end - i;

        ln++;
        if (lf != NULL && n > 0 && body[end - 1] == '\r')
            n--;
        rc = policy_line(&st, ln, body + i, n, err, errlen);
        i = lf != NULL ? end + 1 : len;
    }
    if (rc == MTA_STS_OK) {
        if (st.fields == 0) {
            say(err, errlen, "the policy is empty (no version: STSv1 line)");
            rc = MTA_STS_BAD;
        } else {
            const char *missing = NULL;
            char hint[96] = "";

            if (st.version == 0)
                missing = "version";
            else if (st.mode == 0)
                missing = "mode";
            else if (st.max_age == 0)
                missing = "max_age";
            else if (out->mode != MTA_STS_MODE_NONE && out->n_mx == 0)
                missing = "mx";
            if (missing != NULL && out->case_key != NULL &&
                strcmp(missing, out->case_key) == 0)
                snprintf(hint, sizeof hint,
                         " (line %u writes it in another case, which senders "
                         "ignore: keys are case-sensitive)",
                         out->case_line);
            if (missing != NULL && strcmp(missing, "mx") == 0)
                say(err, errlen, "the policy has mode %s but no mx field%s",
                    mta_sts_mode_name(out->mode), hint);
            else if (missing != NULL)
                say(err, errlen, "the policy has no %s field%s", missing, hint);
            if (missing != NULL)
                rc = MTA_STS_BAD;
        }
    }
    if (rc == MTA_STS_NOMEM)
        say(err, errlen, "out of memory reading the policy");
    if (rc != MTA_STS_OK) {
        mta_sts_policy_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int mta_sts_pattern_matches(const char *pattern, const char *mx_name)
{
    size_t pl = strlen(pattern), ml = strlen(mx_name);
    const char *dot;

    if (pl > 0 && pattern[pl - 1] == '.')
        pl--;
    if (ml > 0 && mx_name[ml - 1] == '.')
        ml--;
    if (pl == 0 || ml == 0)
        return 0;
    if (pl >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* exactly one label more: "x." then the rest equal */
        dot = memchr(mx_name, '.', ml);
        if (dot == NULL || dot == mx_name)
            return 0;
        pattern += 2;
        pl -= 2;
        ml -= (size_t)(dot + 1 - mx_name);
        mx_name = dot + 1;
    }
    return pl == ml && strncasecmp(pattern, mx_name, pl) == 0;
}

int mta_sts_mx_matches(const struct mta_sts_policy *p, const char *mx_name)
{
    for (size_t i = 0; p != NULL && i < p->n_mx; i++)
        if (mta_sts_pattern_matches(p->mx[i], mx_name))
            return 1;
    return 0;
}

/* ---- _smtp._tls TXT ---------------------------------------------------
 */

struct rpt_state {
    struct tlsrpt_record *out;
    int have_rua;
};

static int hexdig(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* One rua URI: mailto:addr or https://host..., RFC 3986 characters,
 * ',' and '!' percent-encoded (RFC 8460 3). */
static enum mta_sts_rc rua_uri(struct rpt_state *st, const char *u, size_t n,
                               char *err, size_t errlen)
{
    struct tlsrpt_record *r = st->out;
    size_t rest;
    char a[80], b[16];

    if (n == 0) {
        say(err, errlen, "rua has an empty URI");
        return MTA_STS_BAD;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];

        if (c == '!') {
            say(err, errlen,
                "rua URI '%s' has a '!' (RFC 8460 3: '!' and ',' in a URI "
                "are percent-encoded; there is no size limit suffix)",
                shown(u, n, a, sizeof a));
            return MTA_STS_BAD;
        }
        if (c == '%' && !(i + 2 < n && hexdig((unsigned char)u[i + 1]) &&
                          hexdig((unsigned char)u[i + 2]))) {
            say(err, errlen, "rua URI '%s' has a bad %%-escape",
                shown(u, n, a, sizeof a));
            return MTA_STS_BAD;
        }
        if (!(is_alnum(c) || strchr("-._~:/?#[]@$&'()*+=%", c) != NULL) ||
            c == '\0') {
            say(err, errlen,
                "rua URI '%s' has the character '%s', not allowed in a URI",
                shown(u, n, a, sizeof a), shown(u + i, 1, b, sizeof b));
            return MTA_STS_BAD;
        }
    }
    if (n >= 7 && strncasecmp(u, "mailto:", 7) == 0) {
        rest = n - 7;
        if (rest == 0 || memchr(u + 7, '@', rest) == NULL || u[7] == '@') {
            say(err, errlen, "rua URI '%s' has no mail address after mailto:",
                shown(u, n, a, sizeof a));
            return MTA_STS_BAD;
        }
    } else if (n >= 6 && strncasecmp(u, "https:", 6) == 0) {
        if (n < 9 || memcmp(u + 6, "//", 2) != 0 || u[8] == '/' ||
            u[8] == '?' || u[8] == '#') {
            say(err, errlen, "rua URI '%s' has no host after https://",
                shown(u, n, a, sizeof a));
            return MTA_STS_BAD;
        }
    } else {
        say(err, errlen, "rua URI '%s' is neither mailto: nor https:",
            shown(u, n, a, sizeof a));
        return MTA_STS_BAD;
    }
    if (n >= TLSRPT_URI_LEN) {
        say(err, errlen, "rua URI '%s' is longer than %d characters",
            shown(u, n, a, sizeof a), TLSRPT_URI_LEN - 1);
        return MTA_STS_BAD;
    }
    if (r->n_rua == TLSRPT_MAX_RUA) {
        r->n_rua_more++;
        return MTA_STS_OK;
    }
    memcpy(r->rua[r->n_rua], u, n);
    r->rua[r->n_rua][n] = '\0';
    r->n_rua++;
    return MTA_STS_OK;
}

static enum mta_sts_rc rpt_field(void *arg, const char *name, size_t nl,
                                 const char *value, size_t vl, char *err,
                                 size_t errlen)
{
    struct rpt_state *st = arg;

    if (nl == 3 && memcmp(name, "rua", 3) == 0) {
        size_t i = 0;

        if (st->have_rua) {
            say(err, errlen, "the record has a second rua field");
            return MTA_STS_BAD;
        }
        st->have_rua = 1;
        /* tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri) */
        for (;;) {
            size_t s = i, e;
            enum mta_sts_rc rc;

            while (i < vl && value[i] != ',')
                i++;
            e = i;
            while (e > s && is_wsp((unsigned char)value[e - 1]))
                e--;
            while (s < e && is_wsp((unsigned char)value[s]))
                s++;
            rc = rua_uri(st, value + s, e - s, err, errlen);
            if (rc != MTA_STS_OK)
                return rc;
            if (i == vl)
                return MTA_STS_OK;
            i++;
        }
    }
    return MTA_STS_NONE; /* an extension: txt_fields checks it */
}

int tlsrpt_is_record(const char *txt, size_t len)
{
    return begins_record(txt, len, "v=TLSRPTv1");
}

enum mta_sts_rc tlsrpt_parse(const char *txt, size_t len,
                             struct tlsrpt_record *out, char *err,
                             size_t errlen)
{
    struct rpt_state st = {out, 0};
    enum mta_sts_rc rc;

    memset(out, 0, sizeof *out);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (!tlsrpt_is_record(txt, len)) {
        say(err, errlen, "the record does not begin with v=TLSRPTv1");
        return MTA_STS_BAD;
    }
    rc = txt_fields(txt, len, "v=TLSRPTv1", rpt_field, &st, err, errlen);
    if (rc == MTA_STS_OK && !st.have_rua) {
        say(err, errlen, "the record has no rua field");
        rc = MTA_STS_BAD;
    }
    if (rc != MTA_STS_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

enum mta_sts_rc tlsrpt_select(const char *const *texts, const size_t *lens,
                              size_t n, size_t *which,
                              struct tlsrpt_record *out, char *err,
                              size_t errlen)
{
    enum mta_sts_rc rc = select_record(texts, lens, n, "v=TLSRPTv1",
                                       "RFC 8460 3", which, err, errlen);

    memset(out, 0, sizeof *out);
    if (rc != MTA_STS_OK)
        return rc;
    return tlsrpt_parse(texts[*which], lens[*which], out, err, errlen);
}
