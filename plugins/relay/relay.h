/*
 * relay.h - what the files of the relay check share: its config, the
 * state of one run, and the verdicts a form can get.  session.c talks to
 * the server, probe.c runs the forms over sessions, relay.c is the
 * plugin (config, run, report).
 */
#ifndef MXP_RELAY_H
#define MXP_RELAY_H

#include <stddef.h>

#include <mxprobe/plugin.h>

#include "forms.h"

#define RELAY_REPLY_LEN 256 /* a reply as shown: "554 5.7.1 <...>: Relay..." */
#define RELAY_NAME_LEN 256
#define RELAY_MIN_LEFT 0.3  /* seconds: do not start a connection with less */
#define RELAY_MAX_STALLS 2  /* connections in a row that settled no form */
#define RELAY_CONFIRM_TRIES 3 /* connections to confirm one form at DATA */
#define RELAY_MAX_GROUP 21    /* forms in one pipelined group: 3 x 21 + 1
                                 replies owed, within the core's 64 */

struct relay_config {
    char external[RELAY_NAME_LEN];
    char sender[65];
    char recipient[65];
    int deliver;
    unsigned per_connection;
};

enum relay_verdict {
    V_UNTESTED = 0,
    V_REFUSED,        /* 5xx at RCPT (or a 4xx that says "relay denied") */
    V_AUTH,           /* 530: authentication required */
    V_TEMP,           /* 4xx at MAIL or RCPT */
    V_SENDER_REFUSED, /* 5xx at MAIL even with a sender the server took */
    V_ACCEPTED,       /* 2xx at RCPT, not (yet) confirmed */
    V_RELAYS,         /* 354 at DATA */
    V_DATA_REFUSED,   /* 5xx at DATA */
    V_DATA_TEMP,      /* 4xx (or nonsense) at DATA */
    V_INCONSISTENT,   /* accepted at RCPT once, refused on another try */
};

struct form_state {
    enum relay_verdict v;
    int confirm_tried; /* its confirmation ran (found or not) */
    char refused_sender[RELAY_ADDR_LEN + RELAY_REPLY_LEN]; /* the form's
                         own sender and the server's refusal, when the
                         form was tried again with another sender */
    char reply[RELAY_REPLY_LEN];      /* the deciding MAIL/RCPT reply */
    char data_reply[RELAY_REPLY_LEN]; /* DATA's reply, or why none */
};

/* A reply copied out of the session (its lines die with the next call). */
struct reply_copy {
    int code;
    char text[RELAY_REPLY_LEN];
};

struct relay_run {
    struct mxp_ctx *ctx;
    const struct mxp_services *svc;
    const struct relay_config *cfg;
    char literal[80];
    char server[RELAY_NAME_LEN];
    char own[RELAY_NAME_LEN];
    struct relay_form forms[RELAY_MAX_FORMS];
    struct form_state st[RELAY_MAX_FORMS];
    size_t n_forms;
    char good_sender[RELAY_ADDR_LEN]; /* a MAIL FROM the server took */
    unsigned connections;
    int pipelining;    /* the last session offered PIPELINING */
    int no_pipelining; /* its replies got out of step: never again */
    int confirmed_early; /* the first form accepted at RCPT is confirmed */
    int confirm_failed;  /* a confirmation used all its tries */
    char failure[320];       /* why the last connect/read/send failed */
    char survey_reason[320]; /* why the survey ended early, "" if not */
};

/* session.c */
struct mxp_smtp *relay_open_session(struct relay_run *r, int *retry);
int relay_say(struct relay_run *r, struct mxp_smtp *s, const char *fmt, ...)
    MXP_PRINTF(3, 4);
int relay_hear(struct relay_run *r, struct mxp_smtp *s,
               struct reply_copy *out);
void relay_copy_reply(struct reply_copy *out,
                      const struct mxp_smtp_reply *rep);

/* probe.c */
void relay_survey_all(struct relay_run *r);
void relay_confirm(struct relay_run *r, size_t i);
void relay_deliver(struct relay_run *r, size_t i);

#endif
