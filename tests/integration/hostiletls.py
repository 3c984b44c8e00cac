#!/usr/bin/env python3
"""hostiletls.py - TLS servers that misbehave in ways fakesmtp.py does not
script, for cases-tls-review.sh.

  --scenario limit     STARTTLS server that allows --limit connections at
                       once: more get "421 too many connections", and a
                       turned-away connection is still counted for 0.2 s
                       after the 421 (as a server that closes it only then)
  --scenario anysuite  says 220 to STARTTLS and answers any ClientHello with
                       one ServerHello choosing ECDHE-RSA-AES128-GCM-SHA256
                       (0xC02F), offered or not, then hangs up
Lines read and written go to stdout (the case's log).  No mail is taken:
there is no DATA.
"""
import argparse
import socket
import ssl
import sys
import threading
import time

A = argparse.ArgumentParser()
A.add_argument("--listen", required=True)
A.add_argument("--scenario", required=True, choices=["limit", "anysuite"])
A.add_argument("--limit", type=int, default=2)
A.add_argument("--cert")
A.add_argument("--name", default="tls.review.test")
ARGS = A.parse_args()

LOCK = threading.Lock()
OPEN = [0]


def log(*what):
    with LOCK:
        print(*what, flush=True)


def readline(s, buf):
    while b"\n" not in buf[0]:
        d = s.recv(4096)
        if not d:
            raise EOFError
        buf[0] += d
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.rstrip(b"\r").decode("latin1")


def smtp(s, tls_ctx):
    """Greeting, EHLO, STARTTLS; then the same over TLS, QUIT."""
    buf = [b""]
    s.sendall(b"220 %s ESMTP hostile\r\n" % ARGS.name.encode())
    while True:
        line = readline(s, buf).upper()
        log("<", line)
        if line.startswith("EHLO"):
            s.sendall(b"250-%s\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                      % ARGS.name.encode())
        elif line.startswith("STARTTLS"):
            break
        elif line.startswith("QUIT"):
            s.sendall(b"221 bye\r\n")
            return
        else:
            s.sendall(b"250 ok\r\n")
    s.sendall(b"220 go ahead\r\n")
    if ARGS.scenario == "anysuite":
        s.recv(4096)
        hello = bytes([2, 0, 0, 38, 3, 3]) + b"\x11" * 32 + b"\x00\xc0\x2f\x00"
        s.sendall(bytes([0x16, 3, 3, 0, len(hello)]) + hello)
        return
    t = tls_ctx.wrap_socket(s, server_side=True)
    buf = [b""]
    while True:
        line = readline(t, buf).upper()
        log("< (tls)", line)
        if line.startswith("EHLO"):
            t.sendall(b"250-%s\r\n250 PIPELINING\r\n" % ARGS.name.encode())
        elif line.startswith("QUIT"):
            t.sendall(b"221 bye\r\n")
            return
        elif line.startswith("HELP"):
            t.sendall(b"214 help\r\n")
        else:
            t.sendall(b"250 ok\r\n")


def serve(s, tls_ctx):
    with LOCK:
        OPEN[0] += 1
        n = OPEN[0]
    try:
        if ARGS.scenario == "limit" and n > ARGS.limit:
            log("turned away, %d open" % n)
            s.sendall(b"421 4.7.0 too many connections\r\n")
            time.sleep(0.2)
            return
        smtp(s, tls_ctx)
    except (OSError, EOFError, ssl.SSLError):
        pass
    finally:
        with LOCK:
            OPEN[0] -= 1
        s.close()


def main():
    host, port = ARGS.listen.rsplit(":", 1)
    tls_ctx = None
    if ARGS.cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        tls_ctx.load_cert_chain(ARGS.cert)
    ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host.strip("[]"), int(port)))
    ls.listen(64)
    log("listening", ARGS.listen, ARGS.scenario)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s, tls_ctx), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
