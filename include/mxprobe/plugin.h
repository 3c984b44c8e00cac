/*
 * mxprobe/plugin.h - the one header a check plugin includes.
 *
 * A plugin is a shared object that exports one const descriptor named
 * MXP_PLUGIN_SYMBOL ("mxp_plugin").  The core dlopen()s it, checks the ABI
 * version and struct size before calling any plugin code, then hands the
 * plugin a context whose service table gives it DNS, SMTP, the clock, the
 * result sink, config lookup and logging.  Plugins never link against core
 * symbols: everything goes through ctx->svc, so a plugin can be unit tested
 * against a fake core that fills in the same table.
 *
 * Versioning: MXP_ABI_MAJOR must match exactly.  A minor bump only appends
 * members to the end of struct mxp_services (check svc->size before using a
 * member newer than the minor you were built against) and never changes
 * existing ones.
 */
#ifndef MXPROBE_PLUGIN_H
#define MXPROBE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define MXP_ABI_MAJOR 1
#define MXP_ABI_MINOR 5
#define MXP_PLUGIN_SYMBOL "mxp_plugin"

#if defined(__GNUC__)
#define MXP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MXP_PRINTF(f, a)
#endif

/* Nagios states; the numeric values are the exit codes. */
enum mxp_state {
    MXP_STATE_OK = 0,
    MXP_STATE_WARNING = 1,
    MXP_STATE_CRITICAL = 2,
    MXP_STATE_UNKNOWN = 3,
};

/* One status type for every fallible call; svc->strerror() names them. */
enum mxp_status {
    MXP_OK = 0,
    MXP_ERR_NOMEM,       /* out of memory */
    MXP_ERR_INVALID,     /* bad argument or input */
    MXP_ERR_TIMEOUT,     /* deadline or per-operation timeout reached */
    MXP_ERR_CONNECT,     /* TCP connect failed (refused, unreachable) */
    MXP_ERR_CLOSED,      /* peer closed the connection */
    MXP_ERR_PROTOCOL,    /* peer sent something malformed */
    MXP_ERR_TOO_BIG,     /* peer sent a line or reply over our hard caps */
    MXP_ERR_IO,          /* read/write/socket error */
    MXP_ERR_DNS,         /* resolver could not be set up or used */
    MXP_ERR_CONFIG,      /* bad configuration */
    MXP_ERR_UNSUPPORTED, /* not available in this build */
    MXP_ERR_PLUGIN,      /* plugin could not be loaded or refused */
    MXP_STATUS_COUNT
};

struct mxp_ctx;  /* defined below */
struct mxp_node; /* opaque: a node of the YAML config */
struct mxp_smtp; /* opaque: one SMTP session */
struct mxp_dns_batch; /* opaque: a DNS batch in flight (ABI 1.2) */

/* ---- the target ------------------------------------------------------ */

struct mxp_target {
    const char *host;            /* as the operator wrote it */
    const char *addr;            /* numeric form: "192.0.2.25", "2001:db8::1" */
    int family;                  /* AF_INET or AF_INET6 */
    unsigned char addr_bytes[16]; /* network order; AF_INET uses the first 4 */
    unsigned port;               /* SMTP port (-p), default 25 */
    const char *domain;          /* -D / config domain, or NULL to guess */
    /* ---- ABI 1.4: many targets ---- */
    /* A check of a whole mail domain (-D DOMAIN without -H, or a domain:
     * entry of targets:) runs a domain-wide plugin (MXP_PLUGIN_DOMAIN_WIDE)
     * once, against the domain's first MX address (host is then the domain
     * itself), with every other MX address of the domain here, so that it
     * judges them as well (zone: SPF check_host() and MX membership of
     * each).  NULL and 0 in every other run: one target, one address. */
    const struct mxp_target *peers;
    size_t n_peers;
};

/* probe: section of the config, already validated by the core. */
struct mxp_probe_settings {
    const char *helo_name;
    const char *mail_from;
    const char *my_email;   /* "" when unset: no delivery tests */
    double connect_timeout; /* seconds */
    double command_timeout; /* seconds */
};

/* ---- DNS ------------------------------------------------------------- */

enum mxp_dns_type {
    MXP_DNS_A = 1,
    MXP_DNS_NS = 2,
    MXP_DNS_CNAME = 5,
    MXP_DNS_SOA = 6,
    MXP_DNS_PTR = 12,
    MXP_DNS_MX = 15,
    MXP_DNS_TXT = 16,
    MXP_DNS_AAAA = 28,
    MXP_DNS_TLSA = 52, /* ABI 1.5: text/text_len hold the raw RDATA */
};

enum mxp_dns_result {
    MXP_DNS_ANSWER = 0, /* NOERROR with at least one record of the type */
    MXP_DNS_NODATA,     /* NOERROR, name exists, no record of the type */
    MXP_DNS_NXDOMAIN,   /* name does not exist */
    MXP_DNS_SERVFAIL,
    MXP_DNS_REFUSED,
    MXP_DNS_TIMEOUT,    /* no answer within the timeouts and tries */
    MXP_DNS_BADRESP,    /* malformed or unparsable answer, FORMERR */
    MXP_DNS_FAILED,     /* anything else (not queried, resolver error) */
};

struct mxp_dns_rr {
    uint16_t type;
    uint16_t pref;            /* MX preference */
    uint32_t ttl;
    unsigned char addr[16];   /* A: 4 bytes, AAAA: 16 bytes, network order */
    const char *text;         /* A/AAAA: printable address; PTR, CNAME, NS,
                                 MX: the target name; TXT: the character
                                 strings of one record concatenated */
    size_t text_len;          /* TXT may contain NUL bytes */
};

/* One query of a batch.  name and type are inputs, the rest outputs.  The
 * answers are owned by the job and live until the plugin's run() returns. */
struct mxp_dns_query {
    const char *name;
    uint16_t type;
    enum mxp_dns_result result;
    const struct mxp_dns_rr *rr; /* records of the queried type only */
    size_t n_rr;
    double elapsed;              /* seconds from send to answer */
};

/* ---- SMTP ------------------------------------------------------------ */

/* A parsed reply.  Owned by the session; valid until the next call on it. */
struct mxp_smtp_reply {
    int code;                 /* 100..599, or 0 when no complete reply */
    char enhanced[16];        /* RFC 3463 code of the first line, or "" */
    size_t n_lines;
    const char *const *lines; /* text after "NNN-"/"NNN ", made printable:
                                 NUL and control bytes become '?' */
    double elapsed;           /* seconds waited for this reply */
};

/* ---- config nodes ---------------------------------------------------- */

enum mxp_node_kind { MXP_NODE_SCALAR, MXP_NODE_SEQ, MXP_NODE_MAP };

/* ---- perfdata -------------------------------------------------------- */

/* Label becomes "<plugin>_<metric>".  warn/crit may be NULL; min/max NAN
 * when absent.  uom is "", "s", "%", "B", "c"... per the guidelines. */
struct mxp_perf {
    const char *metric;
    double value;
    const char *uom;
    const char *warn;
    const char *crit;
    double min;
    double max;
};

/* ---- what a refusal speaks of (svc->reply_about) ---------------------- */

enum mxp_reply_about {
    MXP_ABOUT_SENDER = 1,    /* our MAIL FROM address */
    MXP_ABOUT_RECIPIENT = 2, /* the RCPT TO address */
    MXP_ABOUT_RELAYING = 4,  /* relaying for a foreign domain */
};

/* ---- port probes and UDP (ABI 1.2) ----------------------------------- */

/* The outcome of one TCP connect probe (svc->tcp_probe). */
enum mxp_port_state {
    MXP_PORT_OPEN = 0, /* the connect completed: something listens */
    MXP_PORT_CLOSED,   /* refused (RST): reachable, nothing listens */
    MXP_PORT_FILTERED, /* no answer within the connect timeout: dropped */
    MXP_PORT_ERROR,    /* anything else (no route, cut by the deadline) */
};

/* One port of a tcp_probe call: port is the input, the rest outputs. */
struct mxp_port_probe {
    unsigned port;
    enum mxp_port_state state;
    double elapsed;  /* seconds from the connect to its outcome */
    char words[128]; /* "connection refused", "no answer within 5.0 s" */
};

/* One UDP request/response (svc->udp_exchange).  addr, port, req,
 * req_len, resp, cap and timeout are inputs, the rest outputs. */
struct mxp_udp_exchange {
    const char *addr; /* numeric */
    unsigned port;
    const void *req;
    size_t req_len;  /* 1..65507 */
    void *resp;      /* cap bytes */
    size_t cap;      /* 1..65535: longer datagrams are MXP_ERR_TOO_BIG */
    double timeout;  /* seconds; <= 0: probe.connect_timeout */
    size_t resp_len; /* bytes of the answer kept in resp */
    double elapsed;  /* seconds from the send to the answer */
    char words[128]; /* why there is no answer, in words */
};

/* ---- TLS (ABI 1.3) --------------------------------------------------- */

/* Protocol versions as on the wire. */
enum mxp_tls_version {
    MXP_TLS_ANY = 0, /* in options: OpenSSL's own floor or ceiling */
    MXP_SSL_3_0 = 0x0300,
    MXP_TLS_1_0 = 0x0301,
    MXP_TLS_1_1 = 0x0302,
    MXP_TLS_1_2 = 0x0303,
    MXP_TLS_1_3 = 0x0304,
};

/* How one handshake is offered (svc->smtp_tls_start).  Zeroed options
 * ({0}) are OpenSSL's defaults. */
struct mxp_tls_options {
    int min_version;          /* enum mxp_tls_version, 0: default */
    int max_version;          /* 0: the highest this OpenSSL speaks */
    const char *ciphers;      /* OpenSSL cipher list for TLS <= 1.2, or
                                 NULL for the default */
    const char *ciphersuites; /* TLS 1.3 suites, NULL for the default */
    int legacy;               /* 1: OpenSSL security level 0 for this
                                 handshake only, which lets TLS 1.0/1.1,
                                 small keys and DH groups, SHA-1, NULL and
                                 aNULL through; 0: the library's level */
    const char *sni;          /* server name to send; NULL or "": none */
    const char *ca_file;      /* PEM file of trusted CAs; NULL or "": the
                                 system store */
};

#define MXP_TLS_MAX_CHAIN 16 /* certificates kept of a peer's chain */

/* What a finished handshake showed.  The handshake never fails for the
 * certificate: verification is done and reported here, judged by the
 * plugin.  Owned by the session, valid until it is closed. */
struct mxp_tls_info {
    int version;             /* negotiated, enum mxp_tls_version */
    char protocol[16];       /* "TLSv1.3" */
    char cipher[64];         /* OpenSSL's name: "TLS_AES_256_GCM_SHA384" */
    uint16_t cipher_id;      /* IANA number: 0x1302 */
    int cipher_bits;         /* symmetric key bits (0 for NULL) */
    char kx[32];             /* the server's temporary key: "X25519",
                                "ECDH P-256", "DH"; "" when none (RSA key
                                exchange) */
    int kx_bits;             /* its size in bits (DH: the group's) */
    long verify_result;      /* OpenSSL X509_V_OK or X509_V_ERR_*, of the
                                chain against the trusted CAs (names are
                                not checked: the plugin does that) */
    char verify_words[128];  /* X509_verify_cert_error_string */
    int verify_depth;        /* depth of the first error, -1 when none */
    size_t n_chain;          /* certificates below, leaf first */
    size_t chain_total;      /* how many the peer sent (> n_chain when
                                more than MXP_TLS_MAX_CHAIN) */
    const unsigned char *const *chain_der; /* each certificate's DER */
    const size_t *chain_len;
    double handshake_time;   /* seconds from start to finish */
};

/* ---- HTTPS (ABI 1.5) ------------------------------------------------ */

/* One HTTPS GET (svc->https_get).  url, ca_file, max_body and timeout are
 * inputs, the rest outputs. */
struct mxp_https_get {
    const char *url;     /* "https://host[:port]/path": https only */
    const char *ca_file; /* PEM file of trusted CAs; NULL or "": the
                            system store */
    size_t max_body;     /* body bytes kept; 0: 64 KiB; at most 1 MiB */
    double timeout;      /* seconds for the whole request; <= 0:
                            probe.command_timeout; never past the
                            deadline */
    long status;         /* HTTP status of the response, 0 when none;
                            also with MXP_ERR_TOO_BIG (a 404 page over
                            the cap is a 404) */
    const char *body;    /* the body, NUL-terminated (it may hold NULs:
                            body_len says), owned by the job until run()
                            returns; NULL when there is none */
    size_t body_len;
    char content_type[128]; /* the Content-Type header as sent, or "" */
    char location[256];     /* a redirect's Location (never followed), cut
                               to fit, or "" */
    char addr[48];          /* the address connected to, or "" */
    double elapsed;         /* seconds from the start to the end */
    char words[256];        /* why there is no response, in words */
};

/* The outcome of a bare ClientHello (svc->tls_hello). */
struct mxp_tls_hello {
    int accepted;       /* 1: a ServerHello came */
    int version;        /* the ServerHello's version (0x0300...), 0 none */
    uint16_t cipher;    /* the suite it chose */
    int alert;          /* the alert description that refused us, or -1 */
    char words[128];    /* what happened, in words */
};

/* ---- the service table ----------------------------------------------- */

struct mxp_services {
    uint32_t size; /* sizeof(struct mxp_services) of the core */

    /* Clock: monotonic seconds, and seconds left before this job's
     * deadline (never negative).  Plugins must finish by then. */
    double (*now)(void);
    double (*remaining)(struct mxp_ctx *ctx);

    /* Logging, shown from -vvv (level 3) or -vv (2). */
    void (*log)(struct mxp_ctx *ctx, int level, const char *fmt, ...)
        MXP_PRINTF(3, 4);
    const char *(*strerror)(int status);

    /* Results.  set_result sets the check's state and the short summary
     * used on the status line (the last call wins).  add_detail adds one
     * long-output line.  check_threshold evaluates the main metric against
     * the -w/-c ranges (when this is the only check) or the plugin's
     * warning/critical config, and threshold_text gives those ranges
     * (which: 0 warning, 1 critical) or NULL. */
    void (*set_result)(struct mxp_ctx *ctx, enum mxp_state st,
                       const char *fmt, ...) MXP_PRINTF(3, 4);
    void (*add_detail)(struct mxp_ctx *ctx, enum mxp_state st,
                       const char *fmt, ...) MXP_PRINTF(3, 4);
    void (*add_perfdata)(struct mxp_ctx *ctx, const struct mxp_perf *p);
    enum mxp_state (*check_threshold)(struct mxp_ctx *ctx, double value);
    const char *(*threshold_text)(struct mxp_ctx *ctx, int which);

    /* Config: this plugin's "plugins.<name>" mapping, or NULL. */
    const struct mxp_node *(*config)(struct mxp_ctx *ctx);
    const struct mxp_node *(*node_get)(const struct mxp_node *map,
                                       const char *key);
    enum mxp_node_kind (*node_kind)(const struct mxp_node *n);
    const char *(*node_str)(const struct mxp_node *n); /* scalars */
    size_t (*node_len)(const struct mxp_node *n);      /* seq, map */
    const struct mxp_node *(*node_at)(const struct mxp_node *n, size_t i);
    const char *(*node_key)(const struct mxp_node *map, size_t i);
    /* Report a config error at a node ("file:line:col: message"); for
     * init() only, which then returns MXP_ERR_CONFIG. */
    void (*config_error)(struct mxp_ctx *ctx, const struct mxp_node *at,
                         const char *fmt, ...) MXP_PRINTF(3, 4);
    /* Parse YAML text (e.g. a built-in default list) into a node tree
     * that lives as long as the plugin's state; name is used in error
     * positions.  Errors go through config_error. */
    int (*config_parse)(struct mxp_ctx *ctx, const char *name,
                        const char *text, size_t len,
                        const struct mxp_node **out);

    /* DNS: send every query of the batch at once and wait for all, at
     * most until the job's deadline.  Returns MXP_OK when the batch ran;
     * per-query outcomes are in each query's result. */
    int (*dns_batch)(struct mxp_ctx *ctx, struct mxp_dns_query *q, size_t n);

    /* SMTP.  smtp_open connects (probe.connect_timeout), nothing more;
     * read the greeting with smtp_read_reply.  When the connect fails,
     * *out is still set (NULL only when out of memory): a broken session
     * whose smtp_error says why; smtp_close it like any other.  A call
     * returns MXP_OK whenever a well-formed reply came, whatever its code.  Each command is bounded by
     * probe.command_timeout and the deadline; lines get CRLF appended.
     * smtp_ehlo falls back to HELO when EHLO is refused (5xx) and sets
     * *used_helo.  smtp_error describes the last failure in words. */
    int (*smtp_open)(struct mxp_ctx *ctx, const char *addr, unsigned port,
                     struct mxp_smtp **out);
    int (*smtp_read_reply)(struct mxp_smtp *s, struct mxp_smtp_reply *r);
    int (*smtp_command)(struct mxp_smtp *s, const char *line,
                        struct mxp_smtp_reply *r);
    int (*smtp_ehlo)(struct mxp_smtp *s, const char *name,
                     struct mxp_smtp_reply *r, int *used_helo);
    int (*smtp_has_extension)(struct mxp_smtp *s, const char *keyword);
    size_t (*smtp_extensions)(struct mxp_smtp *s, const char *const **list);
    double (*smtp_connect_time)(struct mxp_smtp *s);
    const char *(*smtp_error)(struct mxp_smtp *s);
    /* Sends QUIT (when send_quit and the session is healthy), closes and
     * frees.  NULL is fine. */
    void (*smtp_close)(struct mxp_smtp *s, int send_quit);

    /* The registered domain of a lowercase host name per the Public
     * Suffix List: a pointer into name ("mail.example.co.uk" gives
     * "example.co.uk"), or NULL when name is itself a public suffix or
     * has none. */
    const char *(*registered_domain)(struct mxp_ctx *ctx, const char *name);

    /* Small shared helpers, so that every plugin words and ranks things
     * the same way: the words for a DNS result ("NXDOMAIN", "timeout");
     * the worse of two states (OK < UNKNOWN < WARNING < CRITICAL, a when
     * equal); the reversed-address name of addr under suffix, or under
     * in-addr.arpa / ip6.arpa when suffix is NULL ("25.2.0.192.zone"),
     * returning its length, 0 when out is too small. */
    const char *(*dns_result_name)(enum mxp_dns_result res);
    enum mxp_state (*state_worst)(enum mxp_state a, enum mxp_state b);
    size_t (*reverse_name)(int family, const unsigned char *addr,
                           const char *suffix, char *out, size_t outlen);
    /* 1 when s is a host name of two or more labels (letters, digits,
     * inner '-', '_'; labels 1..63 bytes; at most 253; a trailing dot
     * allowed). */
    int (*is_host_name)(const char *s);

    /* ---- ABI 1.1 ---- */

    /* PIPELINING (RFC 2920): sends one command without waiting for its
     * reply; read the replies later, in order, with smtp_read_reply (each
     * times from its own command).  At most 64 replies may be owed. */
    int (*smtp_send)(struct mxp_smtp *s, const char *line);
    /* After a 354 to DATA the session is in the message: every other
     * command is refused (MXP_ERR_INVALID) and smtp_close drops the
     * connection without a final dot, so no message exists.  This is the
     * only call that completes a message: it sends text (lines dot-
     * stuffed, CRLF line ends), then "." and reads the reply.  It is
     * refused unless plugins.<name>.deliver is true, probe.my_email is
     * set and is the MAIL FROM or an accepted RCPT of this transaction,
     * and no reply is owed. */
    int (*smtp_send_message)(struct mxp_smtp *s, const char *text,
                             struct mxp_smtp_reply *r);
    /* Typed config readers for init(): key of map (a plugins.<name>
     * mapping, may be NULL) into *out.  Absent or written with no value:
     * MXP_OK, *out untouched.  Wrong type or out of min..max: reported
     * at the node like config_error, MXP_ERR_CONFIG.  Booleans are
     * true/false/yes/no/on/off, unquoted, as everywhere in the config. */
    int (*config_bool)(struct mxp_ctx *ctx, const struct mxp_node *map,
                       const char *key, int *out);
    int (*config_long)(struct mxp_ctx *ctx, const struct mxp_node *map,
                       const char *key, long min, long max, long *out);
    /* The usual summary, from the details added so far: when some are
     * not OK, sets the result to the worst one's state and text (the
     * first of equals) plus " (+N more)" for the other non-OK ones, and
     * returns 1; when all were OK, sets nothing and returns 0, so the
     * plugin says what was fine. */
    int (*set_result_from_details)(struct mxp_ctx *ctx);
    /* What an SMTP refusal speaks of, so that every plugin reads servers
     * alike: bits of enum mxp_reply_about from the words servers use
     * ("Relay access denied", "Recipient address rejected", "Sender
     * address rejected") and the RFC 3463 code (X.1.7, X.1.8: the
     * sender).  text is the reply's first line, its "NNN " code in front
     * or not.  0 when it says none of these. */
    unsigned (*reply_about)(int code, const char *text);
    /* The usual perfdata in one call: min 0, max (NAN for none), and for
     * the main metric (is_main) the check's warning and critical ranges
     * as threshold_text gives them. */
    void (*add_metric)(struct mxp_ctx *ctx, const char *metric, double value,
                       const char *uom, double max, int is_main);
    /* 1 when q was answered with an A/AAAA record holding addr (family
     * AF_INET: 4 bytes, AF_INET6: 16), e.g. forward-confirming a PTR. */
    int (*dns_has_addr)(const struct mxp_dns_query *q, int family,
                        const unsigned char *addr);
    /* 1 when a config value means "the default": absent (NULL), or a
     * scalar written with no value or as "". */
    int (*node_unset)(const struct mxp_node *n);

    /* ---- ABI 1.2: asynchronous DNS, generic names ---- */

    /* Asynchronous DNS, so that independent work overlaps: dns_start
     * sends every query of q at once and returns at once with a handle in
     * *out; the plugin does other work (SMTP, more batches) and then
     * dns_collect waits until each query has an outcome or the batch's
     * time is up (as dns_batch: the job's deadline, and the resolver's
     * timeout times tries counted from the start; collected later than
     * that, one more try's time, never past the deadline), fills q as
     * dns_batch does and frees the handle.  q (and the names it points
     * to) must stay valid and untouched until then.  Several batches may
     * be in flight; collect each once (NULL is fine; the core frees what
     * is not collected when run() returns, without touching q).  Queries
     * move on only inside DNS calls (answers that come meanwhile are
     * kept): dns_done lets every batch in flight progress without
     * waiting (reads what came, retries what timed out) and returns 1
     * when b's queries all have an outcome.  dns_start returns MXP_OK, or an error
     * with *out NULL and nothing sent. */
    int (*dns_start)(struct mxp_ctx *ctx, struct mxp_dns_query *q, size_t n,
                     struct mxp_dns_batch **out);
    int (*dns_done)(struct mxp_ctx *ctx, struct mxp_dns_batch *b);
    int (*dns_collect)(struct mxp_ctx *ctx, struct mxp_dns_batch *b);
    /* 1 when name looks like the generic name of an ISP's pool of
     * customer addresses: it holds addr (family AF_INET/AF_INET6, network
     * order) written in one of the usual ways, or a pool word ("dyn",
     * "dsl", "pool", "host-"...) as a whole token left of its registered
     * domain; why gets the reason ("contains the address digits",
     * "contains 'dsl'").  0 when it does not.  One rule for banner, zone
     * and backscatter, so that they judge a PTR name alike. */
    int (*name_generic)(const char *name, int family,
                        const unsigned char *addr, char *why, size_t len);

    /* ---- ABI 1.2: concurrent SMTP sessions ---- */

    /* Several SMTP sessions at once, without threads.  smtp_open_start is
     * smtp_open without waiting for the connect (the session is returned
     * as smtp_open returns it; a connect that fails at once gives a
     * broken session).  smtp_wait waits until one of s[0..n) has its next
     * reply complete or is broken (connect failed, closed, timed out) and
     * sets *ready to its index; smtp_read_reply on it then returns at
     * once.  NULL entries and sessions owing no reply are skipped; held
     * pipelined commands (smtp_send) are written first.  Each session's
     * wait is bounded as its read would be: probe.command_timeout from
     * when waiting for that reply began (probe.connect_timeout for the
     * connect), and the deadline.  MXP_ERR_INVALID when nothing is owed
     * or n is 0 or over 64.  An EHLO sent with smtp_send sets the
     * extensions when its reply is read, as smtp_ehlo does.  The -vv
     * transcript lines of a session of smtp_open_start start with "#n ",
     * n numbering those sessions. */
    int (*smtp_open_start)(struct mxp_ctx *ctx, const char *addr,
                           unsigned port, struct mxp_smtp **out);
    int (*smtp_wait)(struct mxp_smtp *const *s, size_t n, size_t *ready);
    /* smtp_wait, but no later than until (a now() time; <= 0: no limit):
     * MXP_ERR_TIMEOUT, *ready untouched, when no session is ready by
     * then.  A plugin's own timer, e.g. to give up connections a server
     * never greets while it serves others. */
    int (*smtp_wait_until)(struct mxp_smtp *const *s, size_t n,
                           size_t *ready, double until);

    /* ---- ABI 1.2: special-use names ---- */

    /* 1 when the DNS never delegates name (any case, optional trailing
     * dot), so it names no mail domain: the special-use and private-use
     * suffixes of RFC 6761, 6762, 7686, 8375, 9476 and default installs
     * (localhost, localdomain, local, invalid, internal, lan, corp, home,
     * intranet, private, onion, alt, home.arpa).  .test and .example are
     * not special: test setups use them.  One rule for zone and
     * backscatter, so that they guess a server's domains alike. */
    int (*name_special)(const char *name);

    /* ---- ABI 1.2: structured fields ---- */

    /* Named values of the check for machines: the JSON output's
     * "fields" object of the check (geoip's country, city, lat, lon,
     * asn, org), not shown by the text formats (say it in a detail too).
     * key: 1..32 bytes of [a-z0-9_]; text is cut at 1 KiB; a later value
     * for the same key replaces the earlier; at most 64 keys a check.
     * add_field_number's value must be finite (a JSON number).
     * MXP_ERR_INVALID for a bad key or number, else MXP_OK. */
    int (*add_field)(struct mxp_ctx *ctx, const char *key, const char *text);
    int (*add_field_number)(struct mxp_ctx *ctx, const char *key, double value);

    /* ---- ABI 1.2: port probes and UDP ---- */

    /* The core talks to the network, the plugin judges.  tcp_probe
     * connects to every port of p[0..n) of addr at once (n 1..64), each
     * bounded by probe.connect_timeout and the deadline, sends nothing
     * and closes each connection as soon as its outcome is known; it
     * fills each p[i]'s state, elapsed and words.  MXP_OK when the
     * probes ran; MXP_ERR_INVALID (nothing sent) for a bad n, port or a
     * non-numeric address.  udp_exchange sends x->req to addr:port once
     * and waits, bounded by x->timeout and the deadline, for the first
     * datagram from exactly that address and port (others are ignored):
     * MXP_OK with resp_len bytes in resp; MXP_ERR_TIMEOUT no answer
     * within the timeout (a wait the deadline cut short is MXP_ERR_IO:
     * too short to tell; a TCP probe cut so is MXP_PORT_ERROR);
     * MXP_ERR_CONNECT an ICMP port unreachable came back; MXP_ERR_TOO_BIG
     * the datagram was longer than cap (its first cap bytes kept);
     * MXP_ERR_IO, MXP_ERR_INVALID otherwise; x->words says why in words
     * whenever there is no answer. */
    int (*tcp_probe)(struct mxp_ctx *ctx, const char *addr,
                     struct mxp_port_probe *p, size_t n);
    int (*udp_exchange)(struct mxp_ctx *ctx, struct mxp_udp_exchange *x);
    /* ---- ABI 1.3: TLS ---- */

    /* Upgrades session s to TLS: after a 220 to STARTTLS (RFC 3207), or
     * right after smtp_open / smtp_open_start for implicit TLS (port 465,
     * RFC 8314), before the greeting, which stays owed and is then read
     * over TLS.  smtp_tls_start begins the handshake and returns at once;
     * smtp_wait reports s ready once when it has finished or failed (its
     * wait bounded by probe.command_timeout from the start, and the
     * deadline), and smtp_tls_info then gives the facts.  Replies owed
     * to commands sent after STARTTLS are forgotten (a server must
     * discard them, RFC 3207 4.2); bytes the server sent after its 220,
     * before the handshake, fail the handshake (MXP_ERR_PROTOCOL, their
     * start in smtp_error).  A failed handshake breaks the session, with
     * OpenSSL's reason in words in smtp_error ("no protocols in common",
     * "handshake timed out after 8.0 s").  Afterwards every read and
     * write of the session goes through TLS with today's deadlines, caps
     * and transcript; -vv shows "TLS handshake ... 12 ms, TLSv1.3 ...".
     * MXP_ERR_INVALID (session usable) when s is in a message, owes a
     * greeting it has read, or is TLS already.  smtp_tls_handshake is
     * start plus the wait, *info set on success (info may be NULL). */
    int (*smtp_tls_start)(struct mxp_smtp *s, const struct mxp_tls_options *o);
    int (*smtp_tls_handshake)(struct mxp_smtp *s,
                              const struct mxp_tls_options *o,
                              const struct mxp_tls_info **info);
    /* The finished handshake's facts: MXP_OK and *info; the failure's
     * status when it failed; MXP_ERR_INVALID when none was started or it
     * is still running. */
    int (*smtp_tls_info)(struct mxp_smtp *s, const struct mxp_tls_info **info);
    /* Waits up to wait seconds (and the deadline) for bytes that no
     * command asked for (no reply may be owed): 1 when some came (their
     * printable start, cut to len, in text), 0 when none, a negative
     * mxp_status when the session failed (closed: -MXP_ERR_CLOSED).  The
     * bytes stay for the next read.  A server that answers commands
     * smuggled in before TLS shows here (CVE-2011-0411). */
    int (*smtp_unsolicited)(struct mxp_smtp *s, double wait, char *text,
                            size_t len);
    /* Sends a bare ClientHello offering version (MXP_SSL_3_0 ..
     * MXP_TLS_1_2) and exactly the n (1..128) cipher suites given, at the
     * point smtp_tls_start could start, with SNI sni (NULL: none) and the
     * usual extensions, reads the server's answer up to its ServerHello
     * or alert (bounded by probe.command_timeout and the deadline) and
     * fills out.  Nothing more is sent: the session is spent (close it).
     * It tells what this OpenSSL cannot offer: SSL 3.0, RC4, 3DES,
     * EXPORT.  MXP_OK when the server answered (accepted or refused: see
     * out), else the failure's status with out->words. */
    int (*tls_hello)(struct mxp_smtp *s, int version, const uint16_t *ciphers,
                     size_t n, const char *sni, struct mxp_tls_hello *out);
    /* tls_hello in two steps, so that several run side by side:
     * tls_hello_start sends the ClientHello (MXP_OK, or the failure with
     * smtp_error's words); smtp_wait reports s ready when the answer is
     * whole or has failed (bounded by probe.command_timeout from the
     * send, and the deadline); tls_hello_result then fills out as
     * tls_hello does (called earlier, it waits for the answer itself). */
    int (*tls_hello_start)(struct mxp_smtp *s, int version,
                           const uint16_t *ciphers, size_t n, const char *sni);
    int (*tls_hello_result)(struct mxp_smtp *s, struct mxp_tls_hello *out);

    /* ---- ABI 1.5: DNSSEC, HTTPS ---- */

    /* Whether the response that gave q its outcome (by dns_batch or
     * dns_collect in this run) carried the AD bit: its resolver says it
     * validated the answer, or the denial (NXDOMAIN, NODATA), with
     * DNSSEC.  1 AD set; 0 a response without AD (unsigned, or a
     * resolver that does not validate: an authoritative server never
     * sets it); -1 no response (timeout, SERVFAIL from no server, never
     * asked) or q unknown.  The core asks with the AD bit set (RFC 6840
     * 5.7) and no DO bit, so answers stay small.  mxprobe trusts AD as
     * Postfix does: the resolver must validate and be local or reached
     * over a trusted path. */
    int (*dns_authenticated)(struct mxp_ctx *ctx,
                             const struct mxp_dns_query *q);
    /* One HTTPS GET, bounded by g->timeout and the deadline: the URL's
     * host is resolved through this run's DNS (--dns-server, never the
     * system's resolver; A, and AAAA when the run may use IPv6), the
     * certificate verified against g->ca_file or the system store and
     * the host name, no redirect followed, no proxy, no cookies, at most
     * g->max_body bytes of body.  MXP_OK when a response came, whatever
     * its status (a 3xx fills location); else, with g->words:
     * MXP_ERR_DNS the host has no address (words: "mta-sts.example.org:
     * NXDOMAIN"), MXP_ERR_CONNECT, MXP_ERR_TIMEOUT, MXP_ERR_PROTOCOL TLS
     * or HTTP failed (a certificate that does not verify: "certificate
     * verify failed: ..."), MXP_ERR_TOO_BIG the body was longer than
     * max_body (body NULL), MXP_ERR_INVALID a bad g (not https, no
     * host). */
    int (*https_get)(struct mxp_ctx *ctx, struct mxp_https_get *g);
};


/* What a plugin sees.  Fields are read-only for plugins. */
struct mxp_ctx {
    const struct mxp_services *svc;
    const struct mxp_target *target;        /* NULL during init() */
    const struct mxp_probe_settings *probe;
    const char *plugin_name;
    int verbosity;                          /* count of -v */
    void *core;                             /* private to the core */
};

/* ---- the descriptor -------------------------------------------------- */

struct mxp_plugin {
    uint16_t abi_major;   /* MXP_ABI_MAJOR */
    uint16_t abi_minor;   /* MXP_ABI_MINOR */
    uint32_t struct_size; /* sizeof(struct mxp_plugin) */
    const char *name;     /* must equal the file name without ".so" */
    const char *summary;  /* one line for --list-plugins */
    /* Keys accepted under plugins.<name>, NULL-terminated; "warning" and
     * "critical" are always accepted and handled by the core. */
    const char *const *config_keys;
    const char *default_warning;  /* ranges when config and -w/-c say none */
    const char *default_critical;
    /* init: in the parent, once, before any job: validate config and build
     * *state (may stay NULL).  MXP_ERR_UNSUPPORTED (with *state set, or
     * NULL): nothing to check with here (geoip without a database): the
     * core leaves the check out of a run from the configured list (a note
     * with -v) and runs it, state and all, when -C names it.  run: in a forked child per target; must
     * finish before svc->remaining() reaches 0.  free: releases state. */
    int (*init)(struct mxp_ctx *ctx, void **state);
    int (*run)(struct mxp_ctx *ctx, void *state);
    void (*free)(void *state);
    /* ---- ABI 1.4 ---- */
    /* MXP_PLUGIN_* bits.  A descriptor of ABI 1.3 or older ends before
     * this member (struct_size says so): its flags are 0. */
    uint32_t flags;
};

/* The plugin judges a mail domain, not one server: in a run over a whole
 * domain it runs once, with the other addresses in target->peers (ABI
 * 1.4), rather than once per MX address. */
#define MXP_PLUGIN_DOMAIN_WIDE 0x1u

#define MXP_PLUGIN_DEFINE(...)                                           \
    __attribute__((visibility("default"))) const struct mxp_plugin       \
        mxp_plugin = {.abi_major = MXP_ABI_MAJOR,                        \
                      .abi_minor = MXP_ABI_MINOR,                        \
                      .struct_size = sizeof(struct mxp_plugin),          \
                      __VA_ARGS__}

#endif /* MXPROBE_PLUGIN_H */
