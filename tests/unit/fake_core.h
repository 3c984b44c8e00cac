/*
 * fake_core.h - a fake mxprobe core for unit testing check plugins.
 *
 * Like collectd's plugin_mock.c: fake_services fills the whole struct
 * mxp_services with in-memory fakes, so a plugin's init()/run() can run in
 * a test without network, fork or the real core.  DNS answers come from a
 * table, SMTP replies from a script, results are captured for assertions,
 * config nodes are parsed from YAML text.  Every symbol starts with fake_
 * because this file is linked into every unit test binary.
 */
#ifndef FAKE_CORE_H
#define FAKE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "mxprobe/plugin.h"

extern const struct mxp_services fake_services;

/* ---- lifecycle and context ------------------------------------------- */

/* Frees everything the fake holds and restores the defaults: no target,
 * plugin name "test", helo_name "probe.mxprobe.test", no thresholds,
 * unknown DNS names NXDOMAIN, empty SMTP script, clock at 1000.0 with
 * 30 s remaining.  Call it in each test's setup and teardown. */
void fake_reset(void);

/* The context to hand to run(): its target is the one set below. */
struct mxp_ctx *fake_ctx(void);
/* The context to hand to init(): target NULL, as the core does. */
struct mxp_ctx *fake_init_ctx(void);

/* Numeric IPv4/IPv6 address; fails the process (abort) when not one. */
void fake_set_target(const char *addr, unsigned port);
void fake_set_plugin_name(const char *name);
void fake_set_helo(const char *name);
void fake_set_verbosity(int v);
void fake_set_remaining(double seconds);
/* now() returns this; each DNS batch advances it by fake_set_dns_delay. */
void fake_set_now(double t);

/* ---- DNS ------------------------------------------------------------- */

/* Adds an answer for (name, type): result plus record texts, NULL
 * terminated.  A and AAAA texts are addresses (parsed into addr); PTR,
 * CNAME, NS, MX texts are names; TXT texts are the record text.  Names
 * match case-insensitively, a trailing dot ignored.  A later entry for the
 * same (name, type) replaces the earlier one. */
void fake_dns_add(const char *name, uint16_t type, enum mxp_dns_result result,
                  ...) __attribute__((sentinel));
/* A TXT record holding arbitrary bytes (NUL included). */
void fake_dns_add_txt_bytes(const char *name, const char *bytes, size_t len);
/* Result for names not in the table (default MXP_DNS_NXDOMAIN). */
void fake_dns_default(enum mxp_dns_result result);
/* Make every following batch fail as a whole with status. */
void fake_dns_fail_batches(int status);
void fake_set_dns_delay(double seconds);

size_t fake_dns_batches(void);        /* calls of dns_batch */
size_t fake_dns_queries(void);        /* queries over all batches */
size_t fake_dns_batch_size(size_t i); /* queries in batch i */
/* How often (name, type) was asked; type 0 counts any type. */
size_t fake_dns_asked(const char *name, uint16_t type);
/* The name of query j of batch i, or NULL. */
const char *fake_dns_query_name(size_t batch, size_t j);
/* dns_start counts as a batch when called; its queries are answered (and
 * the clock advanced) when collected.  Batches started, not collected: */
size_t fake_dns_open_batches(void);
/* slow: dns_done says a batch is not answered yet (a slow resolver: the
 * plugin must collect it later); default: answered. */
void fake_dns_set_slow(int slow);

/* ---- SMTP ------------------------------------------------------------ */

/* smtp_open fails with status; smtp_error then says error (the real core
 * returns the session even on failure, so does the fake). */
void fake_smtp_fail_open(int status, const char *error);
void fake_smtp_set_connect_time(double seconds);
/* Queue a reply for the next read (greeting, EHLO, command...).  text
 * holds the lines separated by '\n'; elapsed is the reply's elapsed. */
void fake_smtp_reply(int code, double elapsed, const char *text);
/* Queue a failure for the next read: status and smtp_error() text. */
void fake_smtp_fail(int status, const char *error);
/* The fake's EHLO takes one queued reply; a 5xx makes it take another one
 * as the HELO reply, like the core.  Extensions are the EHLO reply lines
 * after the first. */

size_t fake_smtp_opens(void);
size_t fake_smtp_closes(void);
int fake_smtp_quit_sent(void); /* 1 if the last close asked for QUIT */
size_t fake_smtp_n_sent(void); /* lines "sent": "EHLO x", "HELO x"... */
const char *fake_smtp_sent(size_t i);

/* A scripted server: fn is called with NULL when a connection opens (queue
 * its greeting) and with every line sent (commands, EHLO/HELO, "." for a
 * completed message); it answers by queueing fake_smtp_reply/_fail.  A
 * new connection drops the replies the old one still owed.  The default
 * (NULL) is the plain queue above. */
void fake_smtp_set_responder(void (*fn)(void *user, const char *line),
                             void *user);
/* ---- ABI 1.2: concurrent SMTP sessions ---- */
/* Each open (smtp_open or smtp_open_start, the same in the fake) is a
 * session of its own, numbered 1, 2, ... in order; with a responder, the
 * replies it queues are for the connection it was called for, which
 * fake_smtp_current() names.  smtp_wait picks the session whose next
 * reply was queued first.  open_peak: the most sessions open at once. */
unsigned fake_smtp_current(void);
unsigned fake_smtp_session_id(const struct mxp_smtp *s);
unsigned fake_smtp_open_peak(void);
unsigned fake_smtp_open_now(void); /* sessions open now */
size_t fake_smtp_waits(void);
/* Messages completed through smtp_send_message, and their texts. */
size_t fake_smtp_n_messages(void);
const char *fake_smtp_message(size_t i);
/* The target's configured domain (-D); NULL or "" for none (default). */
void fake_set_domain(const char *domain);
/* The target's host as the operator wrote it (-H); NULL or "" (the
 * default): the address. */
void fake_set_host(const char *host);
/* ABI 1.4: a peer of the target (a run over a whole domain: another MX
 * address, host its MX host name, domain the target's): numeric address,
 * aborts when not one; at most 16.  fake_reset drops them. */
void fake_add_peer(const char *host, const char *addr, unsigned port);
/* probe.my_email (default ""). */
void fake_set_my_email(const char *addr);

/* ---- ABI 1.2: port probes and UDP ---- */
/* tcp_probe gives each port the state set here (unset ports: closed,
 * "connection refused"); udp_exchange answers with status and the bytes
 * of fake_udp_answer (default: MXP_ERR_TIMEOUT, "no answer within 5.0 s"),
 * as the core would, cap included.  The counters count calls; the last
 * request sent by udp_exchange is kept. */
void fake_port_set(unsigned port, enum mxp_port_state st, const char *words);
void fake_udp_answer(int status, const void *bytes, size_t len,
                     const char *words);
size_t fake_tcp_probes(void);
size_t fake_tcp_probed(void); /* ports over all tcp_probe calls */
/* With echo on, the answer's first two bytes are the request's (a DNS or
 * NBNS transaction id), as a server answering that request would. */
void fake_udp_echo_id(int on);
size_t fake_udp_exchanges(void);
const unsigned char *fake_udp_request(size_t *len, unsigned *port);

/* ---- ABI 1.3: TLS ---- */
/* The responder decides each smtp_tls_start (and smtp_tls_handshake) of
 * session (fake_smtp_session_id numbering): it returns the status; on
 * MXP_OK it fills info (zeroed, verify_depth -1; chain pointers it sets
 * must live until fake_reset) and the session is TLS; whatever it writes
 * to err becomes smtp_error.  MXP_ERR_UNSUPPORTED and MXP_ERR_INVALID
 * leave the session usable (nothing was sent, as in the core); any other
 * failure breaks it: every later read, command and tls call returns that
 * status, and smtp_tls_info returns it too.  After a tls_start that
 * handshook or failed, smtp_wait/smtp_wait_until report that session
 * ready once, before any queued reply.  No responder: MXP_ERR_UNSUPPORTED,
 * "no TLS in the fake".  The responder may queue replies (fake_smtp_reply)
 * for the session, e.g. an implicit-TLS greeting. */
void fake_tls_set_responder(int (*fn)(void *user, unsigned session,
                                      const struct mxp_tls_options *o,
                                      struct mxp_tls_info *info, char *err,
                                      size_t errlen),
                            void *user);
/* tls_hello's answer: fn fills out (zeroed, alert -1) and returns the
 * status; the session is spent afterwards (later calls MXP_ERR_INVALID).
 * No responder: MXP_ERR_UNSUPPORTED, out->words "no TLS in the fake". */
void fake_tls_hello_set_responder(int (*fn)(void *user, unsigned session,
                                            int version,
                                            const uint16_t *ciphers, size_t n,
                                            struct mxp_tls_hello *out),
                                  void *user);
/* smtp_unsolicited's answer: fn returns 1 (text filled, at most len
 * bytes with the NUL), 0 or a negative status.  No fn: 0 (nothing came);
 * a 0 advances the clock by the wait, as a real wait would. */
void fake_smtp_unsolicited_set(int (*fn)(void *user, unsigned session,
                                         char *text, size_t len),
                               void *user);
size_t fake_tls_handshakes(void); /* smtp_tls_start/handshake calls */
size_t fake_tls_hellos(void);     /* tls_hello (and _start) calls */
/* tls_hello_start asks the same responder at once; smtp_wait then
 * reports the session ready once, and tls_hello_result gives what the
 * responder said. */

/* ---- ABI 1.5: DNSSEC, HTTPS ------------------------------------------ */

/* Appends one record of raw RDATA (TLSA...) to (name, type), creating
 * the entry as an ANSWER when it is not there. */
void fake_dns_push_raw(const char *name, uint16_t type, const void *rdata,
                       size_t len);
/* dns_authenticated's answer for (name, type), which must have been
 * added; fake_dns_ad_default for every other query (default 0).  A query
 * whose result is TIMEOUT or FAILED gets -1 whatever was set. */
void fake_dns_set_ad(const char *name, uint16_t type, int ad);
void fake_dns_ad_default(int ad);

/* https_get's answer for url (exact match): a response with status,
 * body (len bytes; NULL: none), content type and Location (NULL: "").
 * A body over the request's max_body is MXP_ERR_TOO_BIG, as the core
 * does.  fake_https_fail: the request fails with status and words.  An
 * url not added fails with MXP_ERR_CONNECT, "connection refused".  Each
 * call advances the clock by delay seconds (fake_https_set_delay). */
void fake_https_add(const char *url, long status, const char *body,
                    size_t len, const char *content_type,
                    const char *location);
void fake_https_fail(const char *url, int status, const char *words);
void fake_https_set_delay(double seconds);
size_t fake_https_gets(void);              /* https_get calls */
const char *fake_https_url(size_t i);      /* the url of call i */
const char *fake_https_ca_file(size_t i);  /* its ca_file, "" for none */

/* ---- results --------------------------------------------------------- */

int fake_result_calls(void);
enum mxp_state fake_state(void); /* of the last set_result */
const char *fake_summary(void);  /* "" before any set_result */
size_t fake_n_details(void);
const char *fake_detail(size_t i, enum mxp_state *st);
/* Index of the first detail containing substr, or -1; *st its state. */
int fake_detail_find(const char *substr, enum mxp_state *st);
size_t fake_n_perf(void);
/* Perfdata as added (strings copied; warn/crit NULL when absent). */
const struct mxp_perf *fake_perf(size_t i);
const struct mxp_perf *fake_perf_find(const char *metric);

/* ---- ABI 1.2: structured fields ---- */
/* Keys set with add_field/add_field_number; the text of a key (NULL when
 * absent or a number); 1 and *out when key holds a number. */
size_t fake_n_fields(void);
const char *fake_field_text(const char *key);
int fake_field_number(const char *key, double *out);

/* ---- thresholds ------------------------------------------------------ */

/* The ranges check_threshold() applies and threshold_text() returns;
 * NULL for none. */
void fake_set_thresholds(const char *warn, const char *crit);

/* ---- config ---------------------------------------------------------- */

/* Parses YAML text (libyaml) as this plugin's plugins.<name> mapping,
 * the file name being "test.yaml".  Returns MXP_OK or MXP_ERR_CONFIG (the
 * message is then among the config errors).  NULL text: no config. */
int fake_config_set(const char *yaml);
size_t fake_n_config_errors(void);
/* "file:line:col: plugins.NAME: message", as the core words it. */
const char *fake_config_error(size_t i);

#endif
