/*
 * script_server.h - a scripted TCP server forked on 127.0.0.1 for unit
 * tests of the core's network code (test_smtp_session, test_tls).
 *
 * start_server listens on an ephemeral loopback port and forks a child
 * that accepts one connection and runs the script on it; the child's
 * exit code says whether the client did what the script expected (0),
 * and an alarm kills a stuck script.  The srv_ helpers run in the child:
 * they record every byte received in srv_rx, so a test can tell what
 * the client must never have sent.
 */
#ifndef SCRIPT_SERVER_H
#define SCRIPT_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "smtp.h"

struct server {
    pid_t pid;
    unsigned port;
};

typedef void (*script_fn)(int fd);

/* Everything the script received, in order (child side). */
extern char srv_rx[1 << 16];
extern size_t srv_rx_len;

void srv_send(int fd, const char *s, size_t n); /* _exit(3) on failure */
void srv_puts(int fd, const char *s);
/* One byte from the client, recorded; -1 at EOF, -2 on an error. */
int srv_getc(int fd);
/* Reads one line (without CRLF) and exits with 2 unless it equals want. */
void srv_expect(int fd, const char *want);
/* Waits for the client to hang up, so the script's exit is orderly. */
void srv_drain(int fd);
void sleep_ms(long ms);

void start_server(struct server *sv, script_fn fn);
/* The same for n_conns connections one after the other (srv_conn counts
 * them from 0); one that does not come within 5 s exits 7. */
void start_server_n(struct server *sv, script_fn fn, int n_conns);
extern int srv_conn;
/* The script's exit code (0: the client did what was expected); with
 * kill_it the child is killed first and 0 returned. */
int finish_server(struct server *sv, int kill_it);

/* The client side: a transcript callback for struct mxp_smtp_options
 * that keeps the lines (clear with n_notes = 0), and whether a line of
 * that direction starting with prefix was noted. */
#define MAX_NOTES 512
struct note {
    char dir;
    char line[96];
};
extern struct note notes[MAX_NOTES];
extern size_t n_notes;
void record(void *user, char dir, double t, const char *line);
int noted(char dir, const char *prefix);
/* Options of a test session: connect within 2 s, command_timeout and a
 * deadline deadline_in from now, the transcript kept (notes cleared). */
struct mxp_smtp_options session_opts(double cmd_timeout, double deadline_in);

#endif
