/*
 * backscatter.h - what the files of the backscatter check share: its
 * config, the state of one run and the verdicts a domain can get.
 * session.c talks to the server, verdict.c reads its replies, probe.c
 * tests the domains, deliver.c sends the test message, backscatter.c is
 * the plugin (config, run, report).
 */
#ifndef MXP_BACKSCATTER_H
#define MXP_BACKSCATTER_H

#include <stddef.h>

#include <mxprobe/plugin.h>

/*
 * The check: does the server accept mail for users that do not exist
 * (and so bounce it later, to forged senders)?  Per mail domain of the
 * server (-D, else the registered domains of the greeting name and the
 * PTR names), on one connection: MAIL, RCPT for a random local part,
 * RSET (pipelined when offered).  With deliver: true and
 * probe.my_email, one message from my_email goes to each accepting
 * domain's unknown user, so a bounce lands in the operator's mailbox.
 */

#define BS_MAX_PTR 8                    /* PTR names looked at */
#define BS_MAX_DOMAINS (BS_MAX_PTR + 2) /* + greeting and EHLO */
#define BS_NAME_LEN 256                 /* a DNS name (253) plus room */
#define BS_TEXT_LEN 512
#define BS_REPLY_SHOWN 200                /* reply text kept for the output */
#define BS_REPLY_MAX (BS_REPLY_SHOWN + 8) /* a bs_reply's text: code too */
#define BS_TOKEN_DIGITS 16
#define BS_LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */
#define BS_PREFIX_MAX (BS_LOCAL_MAX - BS_TOKEN_DIGITS)
#define BS_MIN_TIME 0.05 /* seconds left below which nothing starts */
/* Seconds left below which a domain whose pipelined replies timed out is
 * not tried again one command at a time: connect, greeting, EHLO and
 * three commands need a moment even on a fast server. */
#define BS_RETRY_TIME 1.0

#define BS_DEFAULT_PREFIX "mxprobe-nonexistent-"

/* init's result: the validated config. */
struct bs_config {
    int deliver;
    char prefix[BS_PREFIX_MAX + 1];
};

enum bs_verdict {
    BS_UNTESTED = 0,
    BS_ACCEPTS,      /* 2xx at RCPT */
    BS_REJECTS_USER, /* 5.1.x, or 550/551/553 without an enhanced code */
    BS_NO_MAIL,      /* another 5xx: not a domain of this server */
    BS_AUTH,         /* 530 */
    BS_INCONCLUSIVE, /* 4xx, a refused MAIL, a lost session */
};

/* A reply copied out of the session (its lines die with the next call). */
struct bs_reply {
    int code;
    char enhanced[16];
    char text[BS_TEXT_LEN]; /* "550 5.1.1 <x@dom>: Recipient ..." */
};

struct bs_domain {
    char name[BS_NAME_LEN];
    enum bs_verdict verdict;
    char why[BS_TEXT_LEN]; /* the reply or error that decided it */
    /* What became of the test message (deliver), shown after the verdict;
     * "" when none was tried.  sent: it went out (shown in the state of
     * the accepting domains), else it is UNKNOWN why not. */
    int sent;
    char note[BS_TEXT_LEN];
};

/* What one run found; lives on the heap for the run. */
struct bs_run {
    struct mxp_ctx *ctx;
    const struct mxp_services *svc;
    const struct mxp_target *t;
    const struct bs_config *cfg;
    int can_pipeline; /* the core has smtp_send (ABI 1.1) */
    int can_deliver;  /* the core has smtp_send_message (ABI 1.1) */
    char token[BS_TOKEN_DIGITS + 1];
    char local[BS_LOCAL_MAX + 1];
    struct mxp_smtp *s;
    int pipelining; /* this session offers PIPELINING */
    /* A pipelined group timed out: the server (or a "fixup" firewall in
     * front of it) loses commands sent together, so every later session
     * sends one command at a time.  Set once; it also allows one more
     * new connection, to go on without pipelining. */
    int no_pipelining;
    int reconnects; /* used of the one allowed (two after no_pipelining) */
    char lost[BS_TEXT_LEN]; /* why the session was lost, for what is left */
    char greeting_name[BS_NAME_LEN];
    char ehlo_name[BS_NAME_LEN]; /* the first word of the EHLO reply */
    /* The PTR and its names' addresses, asked alongside the session. */
    char rev[128];
    struct mxp_dns_query ptr_q;
    struct mxp_dns_batch *ptr_b, *fwd_b;
    int ptr_rc, ptr_started, ptr_read, fwd_started, fwd_rc;
    char ptr[BS_MAX_PTR][BS_NAME_LEN]; /* lowercase, no trailing dot */
    size_t n_ptr;
    struct mxp_dns_query fwd_q[2 * BS_MAX_PTR]; /* A, AAAA of each */
    struct bs_domain dom[BS_MAX_DOMAINS];
    size_t n_dom;
};

/* The replies to one MAIL, RCPT, RSET; code 0: not read. */
struct bs_group {
    struct bs_reply mail, rcpt, rset;
};

/* session.c */
void bs_copy_reply(struct bs_reply *out, const struct mxp_smtp_reply *r);
int bs_session_open(struct bs_run *R);
void bs_session_drop(struct bs_run *R, const char *why);
int bs_transaction(struct bs_run *R, const char *from, const char *to,
                   struct bs_group *g);
int bs_out_of_step(const struct bs_group *g, char *out, size_t len);

/* verdict.c */
void bs_set_verdict(struct bs_domain *d, enum bs_verdict v, const char *fmt,
                    ...) MXP_PRINTF(3, 4);
void bs_classify(struct bs_run *R, struct bs_domain *d,
                 const struct bs_reply *mail, const struct bs_reply *rcpt);

/* deliver.c */
void bs_note(struct bs_domain *d, int sent, const char *fmt, ...)
    MXP_PRINTF(3, 4);
int bs_send_test(struct bs_run *R, struct bs_domain *d, const char *to);

/* probe.c */
void bs_dns_start(struct bs_run *R);
void bs_dns_step(struct bs_run *R);
void bs_find_domains(struct bs_run *R);
int bs_dropped(int rc);
void bs_test_domains(struct bs_run *R);

#endif
