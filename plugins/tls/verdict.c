/*
 * verdict.c - judges what the tls check's probes found, the certificate
 * aside (cert.c): STARTTLS offered and working, the session a sender
 * gets, the protocols and weak cipher classes accepted, the DH group,
 * AUTH in clear, and STARTTLS command injection.
 *
 * The policy: port 25 is opportunistic TLS (RFC 7435): no STARTTLS is a
 * WARNING there, anonymous suites are fine (a sender that does not
 * verify gains nothing from a certificate).  On 587 and 465 clients
 * send passwords and must be able to verify: no TLS is CRITICAL,
 * anonymous suites a WARNING.  Legacy protocols and weak ciphers are a
 * WARNING anywhere, CRITICAL when they are broken outright (SSL 3.0,
 * NULL encryption, EXPORT keys).  A question the server did not answer
 * is UNKNOWN with the reason: never a refusal it did not give.
 */
#include <stdio.h>
#include <string.h>

#include "tls.h"

struct proto {
    enum tls_probe p; /* TP_COUNT: TLS 1.3, told by the main session */
    int version;
    const char *name;
    enum mxp_state if_accepted;
    const char *why;
};

static const struct proto protos[] = {
    {TP_SSL3, MXP_SSL_3_0, "SSLv3", MXP_STATE_CRITICAL,
     "broken: POODLE, RFC 7568"},
    {TP_TLS10, MXP_TLS_1_0, "TLSv1.0", MXP_STATE_WARNING,
     "deprecated by RFC 8996"},
    {TP_TLS11, MXP_TLS_1_1, "TLSv1.1", MXP_STATE_WARNING,
     "deprecated by RFC 8996"},
    {TP_TLS12, MXP_TLS_1_2, "TLSv1.2", MXP_STATE_OK, NULL},
    {TP_COUNT, MXP_TLS_1_3, "TLSv1.3", MXP_STATE_OK, NULL},
};

struct weak {
    enum tls_probe p;
    const char *name;
    enum mxp_state state;
    const char *why;
};

static const struct weak weaks[] = {
    {TP_RC4, "RC4", MXP_STATE_WARNING, "RFC 7465 forbids them"},
    {TP_3DES, "3DES", MXP_STATE_WARNING, "64-bit blocks: Sweet32"},
    {TP_NULL, "NULL", MXP_STATE_CRITICAL, "no encryption at all"},
    {TP_EXPORT, "EXPORT", MXP_STATE_CRITICAL, "40- and 56-bit keys"},
    {TP_ANON, "anonymous", MXP_STATE_OK, NULL}, /* by port, below */
};

/* Questions left unanswered.  When the main handshake failed too, the
 * others mostly failed alike: one line for them, not one each. */
struct unknowns {
    const struct tls_survey *sv;
    size_t n;
    char names[400];
    char first[TLS_TEXT];
};

static void unknown_one(struct mxp_ctx *ctx, struct unknowns *u,
                        const char *name, const char *words)
{
    if (u->sv->info != NULL) {
        ctx->svc->add_detail(ctx, MXP_STATE_UNKNOWN, "%s: cannot tell (%s)",
                             name, words);
        return;
    }
    if (u->n++ == 0)
        snprintf(u->first, sizeof(u->first), "%s", words);
    snprintf(u->names + strlen(u->names), sizeof(u->names) - strlen(u->names),
             "%s%s", u->names[0] != '\0' ? ", " : "", name);
}

static void unknowns_flush(struct mxp_ctx *ctx, const struct unknowns *u)
{
    if (u->n > 0)
        ctx->svc->add_detail(ctx, MXP_STATE_UNKNOWN, "%s: cannot tell (%s%s)",
                             u->names, u->first,
                             u->n > 1 ? ", and the like" : "");
}

/* A failed handshake is a refusal when the server says so (an alert,
 * or a protocol we did not offer) or handshakes fine otherwise: then
 * hanging up is its way to refuse.  Junk or silence tells nothing. */
static int says_refused(const char *words)
{
    return strstr(words, "alert") != NULL ||
           strstr(words, "unsupported protocol") != NULL ||
           strstr(words, "no shared cipher") != NULL;
}

/* Some handshake of ours worked: the server speaks TLS. */
static int speaks_tls(const struct tls_survey *sv)
{
    static const enum tls_probe full[] = {TP_TLS10, TP_TLS11, TP_TLS12, TP_DHE};

    if (sv->info != NULL)
        return 1;
    for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++)
        if (sv->r[full[i]].outcome == TO_ACCEPTED)
            return 1;
    return 0;
}

static enum tls_outcome outcome_of(const struct tls_survey *sv,
                                   const struct tls_probe_result *res)
{
    if (res->outcome != TO_FAILED)
        return res->outcome;
    return speaks_tls(sv) || says_refused(res->words) ? TO_REFUSED : TO_UNKNOWN;
}

static void append_word(char *buf, size_t len, const char *word)
{
    size_t used = strlen(buf);

    snprintf(buf + used, len - used, "%s%s", used > 0 ? " " : "", word);
}

/* TLS 1.3 from the main session, which offers it: negotiated, or not
 * when the server picked an older one; a failed handshake refuses it
 * too, unless it failed for silence. */
static void tls13_of(const struct tls_survey *sv, struct tls_probe_result *out)
{
    memset(out, 0, sizeof(*out));
    if (sv->info != NULL)
        out->outcome =
            sv->info->version == MXP_TLS_1_3 ? TO_ACCEPTED : TO_REFUSED;
    else if (sv->handshake_rc != MXP_OK && sv->handshake_error[0] != '\0')
        /* It would have chosen TLS 1.3 had it spoken it, whatever made
         * this handshake fail; but a timeout tells nothing. */
        out->outcome =
            sv->handshake_rc != MXP_ERR_TIMEOUT &&
                    (speaks_tls(sv) || says_refused(sv->handshake_error))
                ? TO_REFUSED
                : TO_UNKNOWN;
    if (out->outcome == TO_UNKNOWN)
        snprintf(out->words, sizeof(out->words), "%s", sv->handshake_error);
}

/* A bare ClientHello answered with this protocol: the server speaks it,
 * though OpenSSL's handshake of it found nothing in common (a TLS 1.0
 * server with RC4 suites alone, which OpenSSL 3 no longer has). */
static const struct tls_probe_result *raw_accepted(const struct tls_survey *sv,
                                                   int version)
{
    for (int p = TP_SSL3; p <= TP_ANON; p++)
        if (p != TP_SSL3 && sv->r[p].outcome == TO_ACCEPTED &&
            sv->r[p].version == version)
            return &sv->r[p];
    return NULL;
}

static void judge_protocols(struct mxp_ctx *ctx, const struct tls_survey *sv,
                            struct unknowns *u)
{
    const struct mxp_services *svc = ctx->svc;
    char accepted[128] = "", refused[128] = "";
    size_t i;

    for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        const struct proto *pr = &protos[i];
        struct tls_probe_result r13;
        const struct tls_probe_result *res =
            &sv->r[pr->p < TP_COUNT ? pr->p : 0];

        const struct tls_probe_result *raw;
        enum tls_outcome o;

        if (pr->p == TP_COUNT) {
            tls13_of(sv, &r13);
            res = &r13;
        }
        o = outcome_of(sv, res);
        raw = o != TO_ACCEPTED && pr->p != TP_COUNT
                  ? raw_accepted(sv, pr->version)
                  : NULL;
        if (raw != NULL)
            o = TO_ACCEPTED;
        switch (o) {
        case TO_ACCEPTED:
            append_word(accepted, sizeof(accepted), pr->name);
            if (pr->if_accepted != MXP_STATE_OK && raw != NULL)
                svc->add_detail(ctx, pr->if_accepted,
                                "%s accepted (%s; with %s, which this "
                                "OpenSSL cannot offer)",
                                pr->name, pr->why, raw->cipher_name);
            else if (pr->if_accepted != MXP_STATE_OK)
                svc->add_detail(ctx, pr->if_accepted, "%s accepted (%s)",
                                pr->name, pr->why);
            break;
        case TO_REFUSED:
            append_word(refused, sizeof(refused), pr->name);
            break;
        case TO_UNKNOWN:
            unknown_one(ctx, u, pr->name, res->words);
            break;
        case TO_FAILED:
        case TO_NOT_RUN:
            break;
        }
    }
    if (accepted[0] != '\0' || refused[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_OK, "protocols: %s%s%s%s%s",
                        accepted[0] != '\0' ? accepted : "",
                        accepted[0] != '\0' ? " accepted" : "",
                        accepted[0] != '\0' && refused[0] != '\0' ? "; " : "",
                        refused, refused[0] != '\0' ? " refused" : "");
}

static void judge_ciphers(struct mxp_ctx *ctx, const struct tls_survey *sv,
                          struct unknowns *u)
{
    const struct mxp_services *svc = ctx->svc;
    char refused[128] = "";
    size_t i;

    for (i = 0; i < sizeof(weaks) / sizeof(weaks[0]); i++) {
        const struct weak *w = &weaks[i];
        const struct tls_probe_result *res = &sv->r[w->p];
        enum tls_outcome o = outcome_of(sv, res);

        if (o == TO_REFUSED)
            append_word(refused, sizeof(refused), w->name);
        else if (o == TO_UNKNOWN) {
            char name[40];

            snprintf(name, sizeof(name), "%s cipher suites", w->name);
            unknown_one(ctx, u, name, res->words);
        } else if (o == TO_ACCEPTED && w->p != TP_ANON)
            svc->add_detail(ctx, w->state, "%s cipher suites accepted (%s: %s)",
                            w->name, res->cipher_name, w->why);
        else if (o == TO_ACCEPTED && sv->submission)
            svc->add_detail(ctx, MXP_STATE_WARNING,
                            "anonymous cipher suites accepted (%s): clients "
                            "of a submission port cannot tell this server "
                            "from an impostor",
                            res->cipher_name);
        else if (o == TO_ACCEPTED)
            svc->add_detail(ctx, MXP_STATE_OK,
                            "anonymous cipher suites accepted (%s): fine for "
                            "opportunistic TLS on port 25 (RFC 7435)",
                            res->cipher_name);
    }
    if (refused[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_OK, "weak cipher suites refused: %s",
                        refused);
}

/* A finite-field DH group under 2048 bits, on the main session or when
 * DHE suites alone are offered (Logjam, RFC 7919). */
static void judge_dh(struct mxp_ctx *ctx, const struct tls_survey *sv)
{
    const struct tls_probe_result *dhe = &sv->r[TP_DHE];
    int bits = 0;

    if (sv->info != NULL && strcmp(sv->info->kx, "DH") == 0)
        bits = sv->info->kx_bits;
    if (dhe->outcome == TO_ACCEPTED && strcmp(dhe->kx, "DH") == 0 &&
        (bits == 0 || dhe->kx_bits < bits))
        bits = dhe->kx_bits;
    if (bits > 0 && bits < 2048)
        ctx->svc->add_detail(ctx, MXP_STATE_WARNING,
                             "DH group of %d bits (under 2048: Logjam)", bits);
    else if (bits > 0)
        ctx->svc->add_detail(ctx, MXP_STATE_OK, "DHE suites use a %d-bit group",
                             bits);
}

/* The core's words without the "TLS handshake: " we say already. */
static const char *without_prefix(const char *words)
{
    static const char *const prefixes[] = {
        "TLS handshake failed: ", "TLS handshake: ", "TLS: "};

    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(words, prefixes[i], strlen(prefixes[i])) == 0)
            return words + strlen(prefixes[i]);
    return words;
}

static void judge_injection(struct mxp_ctx *ctx, const struct tls_survey *sv,
                            struct unknowns *u)
{
    const struct mxp_services *svc = ctx->svc;

    enum tls_inject inject = sv->inject;

    /* No handshake behind the smuggled command: nothing smuggled into
     * one, if the server speaks TLS at all. */
    if (inject == TI_FAILED && sv->info == NULL &&
        says_refused(sv->inject_words)) {
        /* Every handshake refused, the main one too: not a refusal of
         * the command behind STARTTLS, which the reason below says. */
        svc->add_detail(ctx, MXP_STATE_OK,
                        "not vulnerable to STARTTLS command injection (no "
                        "TLS session to smuggle a command into: %s)",
                        without_prefix(sv->inject_words));
        return;
    }
    if (inject == TI_FAILED)
        inject = speaks_tls(sv) ? TI_REFUSED : TI_UNKNOWN;
    switch (inject) {
    case TI_VULNERABLE:
        svc->add_detail(ctx, MXP_STATE_CRITICAL,
                        "STARTTLS command injection: a command sent in clear "
                        "before the handshake was answered inside TLS "
                        "(CVE-2011-0411): %s",
                        sv->inject_words);
        break;
    case TI_SAFE:
        svc->add_detail(ctx, MXP_STATE_OK,
                        "not vulnerable to STARTTLS command injection");
        break;
    case TI_CLEAR:
        svc->add_detail(ctx, MXP_STATE_OK,
                        "not vulnerable to STARTTLS command injection (it "
                        "answered the command behind STARTTLS in clear, "
                        "before TLS)");
        break;
    case TI_REFUSED:
        svc->add_detail(ctx, MXP_STATE_OK,
                        "not vulnerable to STARTTLS command injection (it "
                        "would not go on with a command behind STARTTLS: %s)",
                        sv->inject_words);
        break;
    case TI_UNKNOWN:
        unknown_one(ctx, u, "STARTTLS command injection", sv->inject_words);
        break;
    case TI_FAILED:
    case TI_NOT_RUN:
        break;
    }
}

/* The session a sender gets: "TLSv1.3 TLS_AES_256_GCM_SHA384 ...". */
static void judge_session(struct mxp_ctx *ctx, const struct tls_survey *sv)
{
    const struct mxp_services *svc = ctx->svc;
    const struct mxp_tls_info *in = sv->info;
    char kx[64] = "";

    if (in->kx[0] != '\0')
        snprintf(kx, sizeof(kx), ", key exchange %s (%d bits)", in->kx,
                 in->kx_bits);
    svc->add_detail(
        ctx, MXP_STATE_OK, "%s%s %s (%d-bit)%s, handshake %.0f ms",
        sv->implicit ? "implicit TLS: " : "STARTTLS: ", in->protocol,
        in->cipher, in->cipher_bits, kx, in->handshake_time * 1000);
    if (sv->after_fail[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_CRITICAL,
                        "the session failed after the TLS handshake: %s",
                        sv->after_fail);
    else if (sv->after_ext[0] != '\0')
        svc->add_detail(ctx, MXP_STATE_OK, "over TLS the server offers: %s",
                        sv->after_ext);
}

int tls_judge(struct mxp_ctx *ctx, const struct tls_survey *sv)
{
    const struct mxp_services *svc = ctx->svc;
    enum mxp_state missing =
        sv->submission ? MXP_STATE_CRITICAL : MXP_STATE_WARNING;

    if (sv->auth_clear[0] != '\0' && !sv->implicit)
        svc->add_detail(ctx, MXP_STATE_WARNING,
                        "AUTH %s offered before STARTTLS (passwords would "
                        "cross in clear)",
                        sv->auth_clear);
    if (!sv->implicit && sv->ehlo_code / 100 != 2) {
        svc->add_detail(
            ctx, missing, "STARTTLS not offered (EHLO refused: %d)%s",
            sv->ehlo_code, sv->submission ? "" : "; opportunistic on port 25");
        return 0;
    }
    if (!sv->implicit && !sv->starttls_offered) {
        svc->add_detail(ctx, missing, "STARTTLS not offered%s",
                        sv->submission
                            ? ": clients of a submission port must not send "
                              "passwords in clear"
                            : " (TLS is optional on port 25, but most "
                              "senders use it when offered)");
        return 0;
    }
    if (!sv->implicit && sv->starttls_code != 220) {
        svc->add_detail(ctx, MXP_STATE_CRITICAL, "STARTTLS refused: %s",
                        sv->starttls_reply[0] != '\0' ? sv->starttls_reply
                                                      : sv->fail);
        return 0;
    }
    if (sv->info == NULL)
        svc->add_detail(ctx, MXP_STATE_CRITICAL, "TLS handshake failed: %s",
                        sv->handshake_error[0] != '\0'
                            ? without_prefix(sv->handshake_error)
                            : sv->fail);
    else
        judge_session(ctx, sv);
    {
        struct unknowns u = {.sv = sv};

        judge_protocols(ctx, sv, &u);
        judge_ciphers(ctx, sv, &u);
        judge_dh(ctx, sv);
        judge_injection(ctx, sv, &u);
        unknowns_flush(ctx, &u);
    }
    return sv->info != NULL;
}
