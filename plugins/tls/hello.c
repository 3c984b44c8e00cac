/*
 * hello.c - the tls check's bare ClientHellos: SSL 3.0 and the weak
 * cipher classes (suites.c), which OpenSSL 3 can no longer offer.  The
 * server's choice tells: a ServerHello picking a suite of the class
 * accepts it, an alert refuses it, and a suite we never offered tells
 * nothing.
 */
#include <stdio.h>
#include <string.h>

#include "probes.h"

/* The raw ClientHello of probe c, at the point TLS would start; its
 * answer is read when smtp_wait says it is in (tls_hello_done). */
void tls_hello_send(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct mxp_tls_options o;
    const uint16_t *suites;
    size_t n = tls_suites_of(c->p, &suites);

    tls_probe_options(l->r, c->p, &o);
    if (svc->tls_hello_start(c->s, c->p == TP_SSL3 ? MXP_SSL_3_0 : MXP_TLS_1_2,
                             suites, n, o.sni) == MXP_OK) {
        c->ph = PH_HELLO;
        return;
    }
    tls_probe_words(&l->r->sv.r[c->p], TO_UNKNOWN, "%s", svc->smtp_error(c->s));
    tls_probe_finish(l, c, 0);
}

/* Whether suite id is among those probe p's ClientHello offers. */
static int offered(enum tls_probe p, uint16_t id)
{
    const uint16_t *suites;
    size_t n = tls_suites_of(p, &suites);

    for (size_t i = 0; i < n; i++)
        if (suites[i] == id)
            return 1;
    return 0;
}

void tls_hello_done(struct loop *l, struct conn *c)
{
    const struct mxp_services *svc = l->r->svc;
    struct tls_probe_result *res = &l->r->sv.r[c->p];
    struct mxp_tls_hello h;
    int rc = svc->tls_hello_result(c->s, &h);

    if (rc != MXP_OK)
        tls_probe_words(res, TO_UNKNOWN, "%s",
                        h.words[0] != '\0' ? h.words : svc->strerror(rc));
    else if (!h.accepted)
        tls_probe_words(res, TO_REFUSED, "%s", h.words);
    else if (c->p == TP_SSL3 && h.version != MXP_SSL_3_0)
        /* It answered with a later protocol: SSL 3.0 itself refused. */
        tls_probe_words(res, TO_REFUSED, "answered with a later protocol");
    else if (!offered(c->p, h.cipher))
        /* A suite we never offered is no sign that it takes the class:
         * a broken server or a box in the way (RFC 5246 7.4.1.3). */
        tls_probe_words(res, TO_UNKNOWN,
                        "it chose suite 0x%04x, which was not offered",
                        h.cipher);
    else {
        const char *name = tls_suite_name(h.cipher);

        res->outcome = TO_ACCEPTED;
        res->version = h.version;
        res->cipher = h.cipher;
        if (name[0] != '\0')
            snprintf(res->cipher_name, sizeof(res->cipher_name), "%s", name);
        else
            snprintf(res->cipher_name, sizeof(res->cipher_name), "suite 0x%04x",
                     h.cipher);
        snprintf(res->words, sizeof(res->words), "%s", h.words);
    }
    tls_probe_finish(l, c, 0);
}
