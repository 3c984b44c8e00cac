/*
 * probes.h - what the files of the tls check's probes share (probes.c
 * runs the connections, hello.c the bare ClientHellos, inject.c the
 * STARTTLS command injection test); not for the rest of the plugin.
 */
#ifndef MXP_TLS_PROBES_H
#define MXP_TLS_PROBES_H

#include "tls.h"

#define MIN_LEFT 0.3     /* seconds: no new connection with less left */
#define INJECT_WAIT 2.0  /* seconds at most for a second reply */
#define MAX_TRIES 4      /* greetings a probe may get turned away with */
#define RETRY_PAUSE 0.25 /* seconds, times the tries, before another go */

enum phase {
    PH_QUEUED = 0,
    PH_HELD, /* implicit TLS: a raw probe waits for main's connect */
    PH_GREETING,
    PH_EHLO,
    PH_STARTTLS,
    PH_HANDSHAKE,
    PH_HELLO,        /* a bare ClientHello is out */
    PH_TLS_GREETING, /* implicit TLS: the greeting after the handshake */
    PH_AFTER_EHLO,   /* EHLO over TLS */
    PH_QUIT,         /* main: QUIT, its reply awaited with the others */
    PH_INJECT_HELP,  /* injection test: our HELP over TLS, answered */
    PH_INJECT_WAIT,  /* HELP got a 250: does a second reply follow? */
    PH_DONE,
};

struct conn {
    enum tls_probe p;
    struct mxp_smtp *s;
    enum phase ph;
    int tries;            /* turned away with a 4xx greeting so often */
    double not_before;    /* turned away: not again before this time */
    char first[TLS_TEXT]; /* injection test: the first reply over TLS */
};

struct loop {
    struct tls_run *r;
    struct conn c[TP_COUNT];
    size_t n; /* probes asked */
    size_t queue[2 * TP_COUNT], q_head, q_len;
    size_t active;     /* connections open */
    size_t held;       /* open but not waited on (main, the injection wait):
                          they hold a place of the server's limit too */
    size_t cap;        /* at once */
    double calm_until; /* turned away: no new connection before this */
};

/* probes.c: shared by the probes' files. */
void tls_probe_words(struct tls_probe_result *res, enum tls_outcome o,
                     const char *fmt, ...) MXP_PRINTF(3, 4);
void tls_reply_words(const struct mxp_smtp_reply *rp, char *out, size_t len);
void tls_probe_options(const struct tls_run *r, enum tls_probe p,
                       struct mxp_tls_options *o);
/* Closes c's connection (not the main session's) and marks it done. */
void tls_probe_finish(struct loop *l, struct conn *c, int send_quit);

/* hello.c: the bare ClientHello of raw probe c, at the point TLS would
 * start; its answer, when smtp_wait says it is in. */
void tls_hello_send(struct loop *l, struct conn *c);
void tls_hello_done(struct loop *l, struct conn *c);

/* inject.c: the injection test once its handshake is done (HELP over
 * TLS), HELP's reply, and the last look for a second reply. */
void tls_inject_ask(struct loop *l, struct conn *c);
void tls_inject_help(struct loop *l, struct conn *c,
                     const struct mxp_smtp_reply *rp);
void tls_inject_verdict(struct loop *l, struct conn *c);

#endif
