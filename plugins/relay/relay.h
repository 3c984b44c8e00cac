/*
 * relay.h - what the files of the relay check share: its config, the
 * state of one run, and the verdicts a form can get.  session.c talks to
 * the server, pool.c runs batches of forms on several connections at
 * once, probe.c plans the batches and judges their replies, relay.c is
 * the plugin (config, run, report).
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
#define RELAY_MAX_GROUP 21    /* forms in one batch: MAIL, 21 RCPT, RSET
                                 and QUIT owed, within the core's 64 */
#define RELAY_MAX_CONNECTIONS 16 /* plugins.relay.connections at most: far
                                 below Postfix's default per-client limit
                                 (smtpd_client_connection_count_limit 50) */
#define RELAY_QUEUE 64        /* batches waiting for a connection */
#define RELAY_HELD_BACK 1.0   /* seconds without a greeting while later
                                 connections were greeted: held back */

struct relay_config {
    char external[RELAY_NAME_LEN];
    char sender[65];
    char recipient[65];
    int deliver;
    unsigned per_connection;
    unsigned connections; /* SMTP connections at once */
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
    V_DUPLICATE,      /* its sender refused, and with the sender the
                         server took it is another form's envelope */
};

struct form_state {
    enum relay_verdict v;
    int confirm_tried; /* its confirmation ran (found or not) */
    char refused_sender[RELAY_ADDR_LEN + RELAY_REPLY_LEN]; /* the form's
                         own sender and the server's refusal, when the
                         form was tried again with another sender */
    size_t same_as;   /* V_DUPLICATE: the form it became */
    char reply[RELAY_REPLY_LEN];      /* the deciding MAIL/RCPT reply */
    char data_reply[RELAY_REPLY_LEN]; /* DATA's reply, or why none */
};

/* A reply copied out of the session (its lines die with the next call). */
struct reply_copy {
    int code;
    char text[RELAY_REPLY_LEN];
};

/* Forms that share a sender, tried in one transaction on one connection:
 * MAIL once (a server that pauses before each MAIL pauses once), then
 * each RCPT; the survey ends it with RSET, a confirmation with DATA. */
enum batch_kind { B_SURVEY, B_CONFIRM };
struct batch {
    enum batch_kind kind;
    size_t forms[RELAY_MAX_GROUP];
    size_t n;
    int tries; /* connections it has used */
};

/* One connection of the pool and the batch it runs. */
enum conv_phase { P_GREETING, P_EHLO, P_HELO, P_WORK };
struct conv {
    struct mxp_smtp *s;
    struct batch b;
    enum conv_phase phase;
    int pipelined;
    int connected;  /* the TCP connection was made */
    size_t n_cmds;  /* MAIL, the RCPTs, RSET or DATA, QUIT (pipelined) */
    size_t sent, heard;
    int skip_rcpts; /* one at a time: MAIL refused, on to the end */
    int data_sent;  /* a confirmation's DATA went out */
    int unassigned; /* no batch yet: it takes one once greeted */
    double started; /* when its connect began */
    char greeting[RELAY_REPLY_LEN];
    struct reply_copy mail, rcpt[RELAY_MAX_GROUP], end, quit;
    int rc;         /* what ended the session early, MXP_OK if nothing */
    int retry;      /* a failure before the work that may pass (421...) */
    char failure[320];
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
    /* the pool: batches waiting, connections at once, and the phases */
    struct conv convs[RELAY_MAX_CONNECTIONS]; /* the pool's connections */
    struct batch queue[RELAY_QUEUE];
    size_t q_head, q_len;
    unsigned max_conns;   /* lowered when the server refuses more */
    unsigned stalls;      /* survey connections in a row that settled none */
    unsigned active;      /* connections open now */
    unsigned unassigned;  /* of them, waiting to take a batch */
    unsigned served;      /* connections greeted so far */
    unsigned held_back;   /* connections given up as held back */
    unsigned greeted_now, most_greeted; /* greeted and open: now, at most */
    double slowest_greeting; /* seconds from connect to greeting, at most */
    int survey_stopped;   /* the survey cannot go on (survey_reason) */
    int senders_retried, confirms_planned;
    int survey_active;    /* survey batches still running */
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

/* session.c: the greeting and EHLO of a pool connection */
void relay_learn_server_name(struct relay_run *r, const char *greeting,
                             const char *ehlo);
void relay_failed(struct relay_run *r, const char *fmt, ...) MXP_PRINTF(2, 3);

/* pool.c */
void relay_pool_run(struct relay_run *r);
int relay_enqueue(struct relay_run *r, const struct batch *b, int front);

/* probe.c */
int relay_build(struct relay_run *r);
void relay_batch_done(struct relay_run *r, struct conv *c);
void relay_next_phase(struct relay_run *r);
void relay_give_up_queue(struct relay_run *r, const char *why);
void relay_deliver(struct relay_run *r, size_t i);

#endif
