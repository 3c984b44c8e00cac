/*
 * delay_common.h - what the benchmark's delaying forwarders share
 * (dnsdelay.c for UDP DNS, tcpdelay.c for TCP): the monotonic clock in
 * nanoseconds, the stop flag set by SIGINT/SIGTERM, and the parser of
 * their "a.b.c.d:port" / "[v6]:port" arguments.  Header-only: each
 * forwarder is a program of one .c file.
 */
#ifndef MXP_BENCH_DELAY_COMMON_H
#define MXP_BENCH_DELAY_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static volatile sig_atomic_t quit;

static inline void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

static inline int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* SIGTERM and SIGINT set quit; they stay blocked except inside the
 * ppoll() of the main loop, which waits with *waitmask (no lost wake-up
 * between the check of quit and the wait). */
static inline void catch_stop_signals(sigset_t *waitmask)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, waitmask);
    sigdelset(waitmask, SIGTERM);
    sigdelset(waitmask, SIGINT);
}

/* Our pid into path (for the harness to stop us); 0, or -1 with errno. */
static inline int write_pidfile(const char *path)
{
    FILE *pf = fopen(path, "w");

    if (pf == NULL)
        return -1;
    if (fprintf(pf, "%ld\n", (long)getpid()) < 0) {
        fclose(pf);
        return -1;
    }
    return fclose(pf) == 0 ? 0 : -1;
}

/* "a.b.c.d:port" or "[v6]:port" into ss. */
static inline int parse_addr(const char *s, struct sockaddr_storage *ss,
                             socklen_t *len)
{
    char host[64];
    const char *colon, *p;
    char *end;
    long port;
    size_t n;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        p = strchr(s, ']');
        if (p == NULL || p[1] != ':')
            return -1;
        n = (size_t)(p - s - 1);
        colon = p + 1;
        s++;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        n = (size_t)(colon - s);
    }
    if (n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 ||
        port > 65535)
        return -1;
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return -1;
        *len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return -1;
        *len = sizeof(*a);
    }
    return 0;
}

#endif
