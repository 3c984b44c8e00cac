/*
 * net.h - TCP with deadlines.
 *
 * Non-blocking sockets, every wait a poll() bounded by an absolute
 * monotonic deadline.  Addresses are numeric (resolution is dns.c's job),
 * so nothing here ever asks the system resolver.
 */
#ifndef MXP_NET_H
#define MXP_NET_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Parses a numeric IPv4/IPv6 address into family and 16 bytes.  Returns 0
 * on success, -1 when it is not an address. */
int mxp_parse_addr(const char *text, int *family, unsigned char bytes[16]);

/* addr:port as a socket address for connect()/sendto(): MXP_OK, or
 * MXP_ERR_INVALID with the words in err (not numeric, bad port). */
int mxp_net_sockaddr(const char *addr, unsigned port,
                     struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                     size_t errlen);

/* Connects to addr:port before deadline.  On success *fd is a
 * non-blocking connected socket.  On failure returns MXP_ERR_TIMEOUT,
 * MXP_ERR_CONNECT or MXP_ERR_IO (MXP_ERR_INVALID for a non-numeric
 * address or a bad port) and writes the reason (e.g. "connection
 * refused", "timed out after 5.0 s") into err. */
int mxp_tcp_connect(const char *addr, unsigned port, double deadline,
                    int *fd, char *err, size_t errlen);
/* The same in two steps, for many connects at once: start returns MXP_OK
 * with *fd connected, or still connecting when *pending (poll it for
 * POLLOUT, then ask finish for the outcome), or a failure as above (no
 * fd then).  On port 25 a timeout, "no route" or "network unreachable"
 * carries the hint that outbound port 25 is often blocked on the
 * prober's own network; timeout_words words a timeout the same way.
 * When start or finish fail, errno holds the cause (ECONNREFUSED...). */
int mxp_tcp_connect_start(const char *addr, unsigned port, int *fd,
                          int *pending, char *err, size_t errlen);
int mxp_tcp_connect_finish(int fd, unsigned port, char *err, size_t errlen);
void mxp_tcp_connect_timeout_words(unsigned port, double waited, char *err,
                                   size_t errlen);

/* Polls fd for events until deadline (EINTR and early wake-ups
 * retried).  1 ready, 0 timed out, -1 error (errno set). */
int mxp_net_wait_fd(int fd, short events, double deadline);

/* Reads what is available (at most len bytes), waiting until deadline.
 * Returns bytes read (> 0), or a negative mxp_status: -MXP_ERR_CLOSED on
 * EOF or reset, -MXP_ERR_TIMEOUT, -MXP_ERR_IO (errno says why).  Bytes
 * already received are returned even when the deadline has passed. */
ssize_t mxp_net_read(int fd, void *buf, size_t len, double deadline);

/* Writes all bytes before deadline.  MXP_OK or an mxp_status:
 * MXP_ERR_CLOSED when the peer hung up (never SIGPIPE), MXP_ERR_TIMEOUT,
 * MXP_ERR_IO (errno says why). */
int mxp_net_write_all(int fd, const void *buf, size_t len, double deadline);

#endif
