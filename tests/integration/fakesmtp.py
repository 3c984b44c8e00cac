#!/usr/bin/env python3
"""fakesmtp.py - a scripted fake SMTP server for mxprobe's integration tests.

Usage:
    fakesmtp.py --listen 127.0.0.41:2525 --scenario NAME
                [--name mail.example.test] [--pidfile FILE]

It listens on a loopback address only (IPv4 127.0.0.0/8 or [::1]), serves
many connections at once (one thread each), and only ever writes to the
sockets it accepted.  It never accepts a message: DATA is always refused.
SIGTERM or SIGINT stops it cleanly (the pidfile, written once the socket is
listening, is removed).

Scenarios (NAME is --name):
    normal                "220 NAME ESMTP fake"; EHLO answers 250- lines with
                          PIPELINING, SIZE 10240000, 8BITMIME,
                          ENHANCEDSTATUSCODES; HELO, MAIL, RCPT, RSET, NOOP
                          get 250; DATA gets 554; QUIT gets 221 and a close;
                          anything else 502.  Pipelined commands are
                          answered in order.
    silent                accepts and says nothing, reads until the client
                          goes.
    slow-greeting         the normal greeting one byte per second, then
                          normal.
    endless-ehlo          normal greeting; EHLO is answered by "250-" lines
                          forever (a few per millisecond) until the client
                          goes.
    huge-line             the greeting is "220 " and 1 MiB of 'x' without a
                          line end, then CRLF; then reads until the client
                          goes.
    garbage               random binary bytes (with NUL and ESC), then close.
    nul-greeting          a 220 greeting whose text holds NUL and ESC bytes,
                          then normal.
    helo-only             EHLO gets "502 5.5.2", HELO works; otherwise
                          normal.
    close-after-greeting  the normal greeting, then close.
    refuse-554            greeting "554 NAME no service"; every command but
                          QUIT gets 503, QUIT gets 221.
"""

import argparse
import ipaddress
import os
import random
import signal
import socket
import socketserver
import sys
import threading
import time

MAX_LINE = 4096      # bytes of one client line before we hang up
IDLE_TIMEOUT = 120   # seconds a silent client may hold its thread

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789.-")

SCENARIOS = (
    "normal", "silent", "slow-greeting", "endless-ehlo", "huge-line",
    "garbage", "nul-greeting", "helo-only", "close-after-greeting",
    "refuse-554",
)


class Conn:
    """One client: buffered line reads with a cap, plain writes."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("ascii")
        self.sock.sendall(data)

    def reply(self, text):
        self.send(text + "\r\n")

    def readline(self):
        """The next line without its line end, or None when the client has
        gone or sent a line over MAX_LINE."""
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                return None
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        if len(line) > MAX_LINE:
            return None
        return line.rstrip(b"\r").decode("latin-1")

    def drain(self):
        while self.sock.recv(4096):
            pass


def greeting(name):
    return "220 %s ESMTP fake" % name


def ehlo_reply(name, arg):
    return "\r\n".join([
        "250-%s hello %s" % (name, arg or "there"),
        "250-PIPELINING",
        "250-SIZE 10240000",
        "250-8BITMIME",
        "250 ENHANCEDSTATUSCODES",
    ])


def dialogue(c, name, on_ehlo=None):
    """The normal command loop; on_ehlo(c, arg) may replace the EHLO
    answer and returns False to end the session."""
    while True:
        line = c.readline()
        if line is None:
            return
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        if verb == "EHLO":
            if on_ehlo is not None:
                if not on_ehlo(c, arg):
                    return
                continue
            c.reply(ehlo_reply(name, arg))
        elif verb == "HELO":
            c.reply("250 %s" % name)
        elif verb == "MAIL":
            c.reply("250 2.1.0 Ok")
        elif verb == "RCPT":
            c.reply("250 2.1.5 Ok")
        elif verb in ("RSET", "NOOP"):
            c.reply("250 2.0.0 Ok")
        elif verb == "DATA":
            c.reply("554 5.7.1 this fake server accepts no messages")
        elif verb == "QUIT":
            c.reply("221 2.0.0 Bye")
            return
        else:
            c.reply("502 5.5.2 Error: command not recognized")


def endless_ehlo(c, _arg):
    lines = b"250-AND-ONE-MORE-EXTENSION\r\n" * 4
    while True:  # ends when the client goes: send raises
        c.send(lines)
        time.sleep(0.001)


def helo_only_ehlo(c, _arg):
    c.reply("502 5.5.2 Error: command not recognized")
    return True


def run_scenario(c, scenario, name):
    if scenario == "normal":
        c.reply(greeting(name))
        dialogue(c, name)
    elif scenario == "silent":
        c.drain()
    elif scenario == "slow-greeting":
        for ch in (greeting(name) + "\r\n").encode("ascii"):
            c.send(bytes([ch]))
            time.sleep(1.0)
        dialogue(c, name)
    elif scenario == "endless-ehlo":
        c.reply(greeting(name))
        dialogue(c, name, on_ehlo=endless_ehlo)
    elif scenario == "huge-line":
        c.send(b"220 " + b"x" * (1024 * 1024))
        c.send(b"\r\n")
        c.drain()
    elif scenario == "garbage":
        data = bytearray(random.getrandbits(8) for _ in range(4096))
        data[0:2] = b"\x00\x1b"  # never a valid reply code
        c.send(bytes(data))
    elif scenario == "nul-greeting":
        c.send(("220 %s ESMTP " % name).encode("ascii") +
               b"fa\x00ke \x1b[31mred\x1b[0m\r\n")
        dialogue(c, name)
    elif scenario == "helo-only":
        c.reply(greeting(name))
        dialogue(c, name, on_ehlo=helo_only_ehlo)
    elif scenario == "close-after-greeting":
        c.reply(greeting(name))
    elif scenario == "refuse-554":
        c.reply("554 %s no service" % name)
        while True:
            line = c.readline()
            if line is None:
                return
            if line.upper().startswith("QUIT"):
                c.reply("221 2.0.0 Bye")
                return
            c.reply("503 5.5.1 no service here")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(IDLE_TIMEOUT)
        try:
            run_scenario(Conn(self.request), self.server.scenario,
                         self.server.name)
        except OSError:
            pass  # the client went away or idled out: that is its right


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Server6(Server):
    address_family = socket.AF_INET6


def parse_listen(text):
    """'127.0.0.41:2525' or '[::1]:2525' -> (host, port); loopback only."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("expected ADDRESS:PORT, got %r" % text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    addr = ipaddress.ip_address(host)
    if not addr.is_loopback:
        raise ValueError("%s is not a loopback address" % host)
    port = int(port)
    if not 0 < port < 65536:
        raise ValueError("bad port %d" % port)
    return addr, port


def main():
    ap = argparse.ArgumentParser(
        description="Scripted fake SMTP server for tests (loopback only).")
    ap.add_argument("--listen", required=True, help="ADDRESS:PORT")
    ap.add_argument("--scenario", required=True, choices=SCENARIOS)
    ap.add_argument("--name", default="mail.example.test")
    ap.add_argument("--pidfile")
    args = ap.parse_args()

    try:
        addr, port = parse_listen(args.listen)
    except ValueError as e:
        ap.error(str(e))
    if not args.name or any(ch not in NAME_CHARS for ch in args.name):
        ap.error("--name: letters, digits, '.' and '-' only")
    cls = Server6 if addr.version == 6 else Server
    server = cls((str(addr), port), Handler)
    server.scenario = args.scenario
    server.name = args.name

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, args.pidfile)  # appears whole, once we listen

    loop = threading.Thread(target=server.serve_forever, daemon=True)
    loop.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
