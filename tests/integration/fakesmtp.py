#!/usr/bin/env python3
"""fakesmtp.py - a scripted fake SMTP server for mxprobe's integration tests.

Usage:
    fakesmtp.py --listen 127.0.0.41:2525 --scenario NAME
                [--name mail.example.test] [--pidfile FILE]
                [--external-domain example.net] [--drop-after 5]
                [--completed-file FILE] [--tls-cert PEM]

It listens on a loopback address only (IPv4 127.0.0.0/8 or [::1]), serves
many connections at once (one thread each), and only ever writes to the
sockets it accepted.  The scenarios of issue 2 never accept a message
(DATA is always refused); the relay scenarios of issue 3 (below) may answer
354, and then record whether the client ever COMPLETED the message.
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
    command-inject        a greeting written to break a monitoring core's
                          input: 100 "220-" lines holding '|', ';', a
                          literal backslash-n and a non-UTF-8 byte, then
                          one whose bare LF, CR and NUL are each followed
                          by "[1234567890] SHUTDOWN_PROGRAM" (an external
                          command of Nagios); then reads until the client
                          goes.

Relay scenarios (issue 3): a stateful session (MAIL before RCPT before
DATA, RSET, NOOP, QUIT, 503 when out of order) that logs, on stdout, every
line received ("N< ..."), every reply ("N> ...") and every message line
after a 354 ("N. ..."), N being the connection number.  A message the
client ends with "." is answered "250 2.0.0 Ok: queued as FAKEn" and
logged as a line "COMPLETED-MESSAGE conn=N" (also appended to
--completed-file): the tests assert it never appears unless delivery is
on.  A 354 the client leaves without "." is logged "ABORTED-DATA conn=N".
A client that sends a line before the reply it must wait for (any command
when PIPELINING is not offered; with it, anything after EHLO, HELO or
DATA; message text before the 354) is logged "PIPELINING-VIOLATION".
D is --external-domain.
    relay-percent         PIPELINING offered; RCPT is accepted only for an
                          unquoted local part holding "%D" followed by "@"
                          (e.g. relaytest%D@[127.0.0.61]), else "554 5.7.1
                          Relay access denied"; DATA after an accepted RCPT
                          gets 354.
    relay-percent-nopipe  the same without PIPELINING.
    data-554              PIPELINING offered; every MAIL and RCPT gets 250,
                          DATA gets "554 5.7.1 ... Relay access denied".
    auth-530              AUTH PLAIN LOGIN offered, no PIPELINING; MAIL,
                          RCPT and DATA get "530 5.7.0 Authentication
                          required", AUTH gets 535.
    greylist-450          no PIPELINING; MAIL 250, RCPT "450 4.7.1 ...
                          Greylisted".
    drop-after-5          PIPELINING offered; MAIL 250, RCPT 554 relay
                          denied; the connection is closed, unanswered,
                          when a session's command number --drop-after + 1
                          (default 6) arrives.

TLS scenarios (issue 10; --tls-cert PEM: the key, then the chain, leaf
first).  EHLO offers STARTTLS before TLS (not after); after a handshake the
normal dialogue goes on over TLS.
    starttls              a correct STARTTLS server: 220, handshake, and
                          what the client sent after STARTTLS before the
                          handshake is thrown away (RFC 3207 4.2).
    starttls-junk         220 to STARTTLS, then 512 random bytes (no TLS
                          record), then reads until the client goes.
    starttls-silent       220 to STARTTLS, then nothing.
    starttls-454          "454 4.7.0 TLS not available due to local
                          problem"; the session goes on in plain text.
    tls-stall             220 to STARTTLS, reads the ClientHello, answers
                          with the first 20 bytes of a ServerHello record
                          (its header says 90), then nothing.
    starttls-inject       vulnerable to STARTTLS command injection
                          (CVE-2011-0411): the plaintext read after
                          "STARTTLS\r\n" is kept and answered after the
                          handshake, over TLS.
    weak-sslv3, weak-rc4, weak-3des, weak-export
                          a correct STARTTLS server for OpenSSL clients,
                          but a ClientHello offering SSL 3.0 (weak-sslv3)
                          or a suite of the class (RC4, 3DES, EXPORT) is
                          answered by a crafted ServerHello choosing it
                          (SSL 3.0 with the first suite offered; else the
                          first suite of the class, at the offered version
                          from TLS 1.0 up to TLS 1.2; SSL 3.0 is refused),
                          then nothing: this OpenSSL speaks
                          none of them, as a raw probe finds out.
"""

import argparse
import ipaddress
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time

MAX_LINE = 4096      # bytes of one client line before we hang up
IDLE_TIMEOUT = 120   # seconds a silent client may hold its thread

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789.-")

TLS_SCENARIOS = (
    "starttls", "starttls-junk", "starttls-silent", "starttls-454",
    "tls-stall", "starttls-inject", "weak-sslv3", "weak-rc4", "weak-3des",
    "weak-export",
)

SCENARIOS = (
    "normal", "silent", "slow-greeting", "endless-ehlo", "huge-line",
    "garbage", "nul-greeting", "helo-only", "close-after-greeting",
    "refuse-554", "command-inject",
) + ("relay-percent", "relay-percent-nopipe", "data-554", "auth-530",
     "greylist-450", "drop-after-5") + TLS_SCENARIOS


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


def plain_command(c, name, verb):
    """Answers one command of the normal dialogue but EHLO; False ends
    the session."""
    if verb == "HELO":
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
        return False
    else:
        c.reply("502 5.5.2 Error: command not recognized")
    return True


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
        elif not plain_command(c, name, verb):
            return


def endless_ehlo(c, _arg):
    lines = b"250-AND-ONE-MORE-EXTENSION\r\n" * 4
    while True:  # ends when the client goes: send raises
        c.send(lines)
        time.sleep(0.001)


def helo_only_ehlo(c, _arg):
    c.reply("502 5.5.2 Error: command not recognized")
    return True


# ------------------------------------------------------------ relay scenarios

LOG_LOCK = threading.Lock()


def log(text):
    """One line of the log on stdout; threads never interleave."""
    with LOG_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def printable(line):
    """A received line as it may be logged: control bytes escaped."""
    return "".join(ch if " " <= ch < "\x7f" else "\\x%02x" % ord(ch)
                   for ch in line)


def angle_addr(arg):
    """'TO:<a@b> SIZE=1' -> 'a@b' (what is between the first < and the
    last >), or the text after the colon when there are no brackets."""
    _, _, rest = arg.partition(":")
    rest = rest.strip()
    lo, hi = rest.find("<"), rest.rfind(">")
    if lo >= 0 and hi > lo:
        return rest[lo + 1:hi]
    return rest.split(" ", 1)[0] if rest else ""


class Policy:
    """What a relay scenario answers; the session keeps the SMTP state."""
    pipelining = True
    auth = False
    drop = False

    def mail(self, session, addr):
        return "250 2.1.0 Ok"

    def rcpt(self, session, addr):
        return "250 2.1.5 Ok"

    def data(self, session):
        return "354 End data with <CR><LF>.<CR><LF>"


def relay_denied(addr):
    return "554 5.7.1 <%s>: Relay access denied" % addr


class PercentPolicy(Policy):
    def rcpt(self, session, addr):
        hack = re.compile(r'^[^"@%%]+%%%s@' % re.escape(session.ext_domain),
                          re.IGNORECASE)
        if hack.match(addr):
            return "250 2.1.5 Ok"
        return relay_denied(addr)


class PercentNoPipePolicy(PercentPolicy):
    pipelining = False


class Data554Policy(Policy):
    def data(self, session):
        return "554 5.7.1 <%s>: Relay access denied" % session.rcpts[0]


class Auth530Policy(Policy):
    pipelining = False
    auth = True
    NEED = "530 5.7.0 Authentication required"

    def mail(self, session, addr):
        return self.NEED

    def rcpt(self, session, addr):
        return self.NEED

    def data(self, session):
        return self.NEED


class Greylist450Policy(Policy):
    pipelining = False

    def rcpt(self, session, addr):
        return ("450 4.7.1 <%s>: Recipient address rejected: Greylisted, "
                "try again later" % addr)


class DropPolicy(Policy):
    drop = True

    def rcpt(self, session, addr):
        return relay_denied(addr)


POLICIES = {
    "relay-percent": PercentPolicy(),
    "relay-percent-nopipe": PercentNoPipePolicy(),
    "data-554": Data554Policy(),
    "auth-530": Auth530Policy(),
    "greylist-450": Greylist450Policy(),
    "drop-after-5": DropPolicy(),
}

# RFC 2920 section 3.1: these end a group of pipelined commands.
LAST_IN_GROUP = ("EHLO", "HELO", "DATA", "QUIT", "NOOP", "VRFY", "EXPN",
                 "TURN")


class RelaySession:
    """One connection of a relay scenario: SMTP state, log, DATA record."""

    def __init__(self, c, policy, name, server):
        self.c = c
        self.policy = policy
        self.name = name
        self.server = server
        self.ext_domain = getattr(server, "ext_domain", "example.net")
        self.drop_after = getattr(server, "drop_after", 5)
        self.conn = server.next_conn() if server is not None else 0
        self.commands = 0
        self.mail_from = None
        self.rcpts = []

    def say(self, text):
        for line in text.split("\r\n"):
            log("%d> %s" % (self.conn, line))
        self.c.reply(text)

    def reset(self):
        self.mail_from = None
        self.rcpts = []

    def ehlo(self, arg):
        lines = ["250-%s hello %s" % (self.name, arg or "there")]
        if self.policy.pipelining:
            lines.append("250-PIPELINING")
        if self.policy.auth:
            lines.append("250-AUTH PLAIN LOGIN")
        lines += ["250-SIZE 10240000", "250-8BITMIME",
                  "250 ENHANCEDSTATUSCODES"]
        return "\r\n".join(lines)

    def check_pipelining(self, verb):
        """Bytes already buffered were sent before our reply to verb."""
        if not self.c.buf:
            return
        if not self.policy.pipelining or verb in LAST_IN_GROUP:
            log("PIPELINING-VIOLATION conn=%d after %s" % (self.conn, verb))

    def run(self):
        log("%d open" % self.conn)
        try:
            self.say("220 %s ESMTP fake" % self.name)
            self.loop()
        finally:
            log("%d closed" % self.conn)

    def loop(self):
        while True:
            line = self.c.readline()
            if line is None:
                return
            log("%d< %s" % (self.conn, printable(line)))
            self.commands += 1
            if self.policy.drop and self.commands > self.drop_after:
                log("%d dropped after %d commands"
                    % (self.conn, self.drop_after))
                return
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            self.check_pipelining(verb)
            if not self.command(verb, arg):
                return

    def command(self, verb, arg):
        """Answers one command; False ends the session."""
        if verb == "EHLO":
            self.reset()
            self.say(self.ehlo(arg))
        elif verb == "HELO":
            self.reset()
            self.say("250 %s" % self.name)
        elif verb == "MAIL":
            if self.mail_from is not None:
                self.say("503 5.5.1 Error: nested MAIL command")
                return True
            reply = self.policy.mail(self, angle_addr(arg))
            if reply.startswith("2"):
                self.mail_from = angle_addr(arg)
            self.say(reply)
        elif verb == "RCPT":
            if self.mail_from is None:
                self.say("503 5.5.1 Error: need MAIL command")
                return True
            addr = angle_addr(arg)
            reply = self.policy.rcpt(self, addr)
            if reply.startswith("2"):
                self.rcpts.append(addr)
            self.say(reply)
        elif verb == "DATA":
            if self.mail_from is None or not self.rcpts:
                self.say("554 5.5.1 Error: no valid recipients")
                return True
            reply = self.policy.data(self)
            self.say(reply)
            if reply.startswith("354"):
                return self.message()
            self.reset()
        elif verb == "AUTH":
            self.say("535 5.7.8 Error: authentication failed")
        elif verb in ("RSET", "NOOP"):
            if verb == "RSET":
                self.reset()
            self.say("250 2.0.0 Ok")
        elif verb == "QUIT":
            self.say("221 2.0.0 Bye")
            return False
        else:
            self.say("502 5.5.2 Error: command not recognized")
        return True

    def message(self):
        """After a 354: message lines up to ".", which completes it."""
        lines = 0
        while True:
            line = self.c.readline()
            if line is None:
                log("ABORTED-DATA conn=%d after %d lines" % (self.conn, lines))
                return False
            if line == ".":
                break
            lines += 1
            log("%d. %s" % (self.conn, printable(line)))
        log("COMPLETED-MESSAGE conn=%d from=<%s> to=<%s> lines=%d"
            % (self.conn, self.mail_from, ">,<".join(self.rcpts), lines))
        path = getattr(self.server, "completed_file", None)
        if path:
            with LOG_LOCK, open(path, "a") as f:
                f.write("COMPLETED-MESSAGE conn=%d\n" % self.conn)
        self.reset()
        self.say("250 2.0.0 Ok: queued as FAKE%d" % self.conn)
        return True


# ------------------------------------------------------------ TLS scenarios

# Cipher suites (IANA numbers) of each weak class the weak-* scenarios
# pick from.  EXPORT ones are not in the RC4 or 3DES sets.
WEAK_SUITES = {
    "weak-rc4": (0x0004, 0x0005, 0x0018, 0x0020, 0x0024, 0x008A, 0x008E,
                 0x0092, 0xC002, 0xC007, 0xC00C, 0xC011, 0xC016, 0xC033),
    "weak-3des": (0x000A, 0x000D, 0x0010, 0x0013, 0x0016, 0x001B, 0x001F,
                  0x0023, 0x008B, 0x008F, 0x0093, 0xC003, 0xC008, 0xC00D,
                  0xC012, 0xC017, 0xC01A, 0xC01B, 0xC01C, 0xC034),
    "weak-export": (0x0003, 0x0006, 0x0008, 0x000B, 0x000E, 0x0011, 0x0014,
                    0x0017, 0x0019, 0x0026, 0x0027, 0x0028, 0x0029, 0x002A,
                    0x002B, 0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065),
}
SCSV = (0x00FF, 0x5600)  # signalling values, never chosen
MAX_HELLO = 16384 + 5    # one record: a ClientHello must fit


def tls_context(path):
    """A server context with the key and chain of path (PEM)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(path)
    return ctx


def starttls_ehlo(name, arg):
    return ehlo_reply(name, arg).replace(
        "250 ENHANCEDSTATUSCODES", "250-ENHANCEDSTATUSCODES\r\n250 STARTTLS")


def peek_hello(sock):
    """The first TLS record the client sent (peeked, not consumed), or
    what came of it when it is not a whole handshake record in time."""
    deadline = time.monotonic() + 10
    data = b""
    while time.monotonic() < deadline:
        data = sock.recv(MAX_HELLO, socket.MSG_PEEK)
        if not data:
            return data
        if len(data) >= 5:
            if data[0] != 0x16:
                return data
            need = 5 + struct.unpack("!H", data[3:5])[0]
            if len(data) >= need or len(data) >= MAX_HELLO:
                return data
        time.sleep(0.01)
    return data


def parse_hello(rec):
    """(client_version, [suites]) of a ClientHello record, or None."""
    try:
        if rec[0] != 0x16 or rec[5] != 0x01:
            return None
        p = 9
        version = struct.unpack("!H", rec[p:p + 2])[0]
        p += 2 + 32
        p += 1 + rec[p]
        n = struct.unpack("!H", rec[p:p + 2])[0]
        p += 2
        if p + n > len(rec) or n % 2:
            return None
        suites = [struct.unpack("!H", rec[i:i + 2])[0]
                  for i in range(p, p + n, 2)]
        return version, suites
    except (IndexError, struct.error):
        return None


def server_hello(version, suite):
    """A whole ServerHello record choosing version and suite, with a new
    session id and no extensions."""
    body = (struct.pack("!H", version) + os.urandom(32) + b"\x20" +
            os.urandom(32) + struct.pack("!H", suite) + b"\x00")
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return b"\x16" + struct.pack("!HH", min(version, 0x0303), len(hs)) + hs


def weak_choice(scenario, hello):
    """(version, suite) a weak-* scenario answers hello with, or None when
    a real handshake should follow."""
    parsed = parse_hello(hello)
    if parsed is None:
        return None
    version, suites = parsed
    offered = [s for s in suites if s not in SCSV]
    if not offered:
        return None
    if scenario == "weak-sslv3":
        return (0x0300, offered[0]) if version == 0x0300 else None
    weak = [s for s in offered if s in WEAK_SUITES[scenario]]
    if not weak or version < 0x0301:
        return None  # SSL 3.0 is weak-sslv3's: refused here
    return min(version, 0x0303), weak[0]


def tls_session(c, name, server, scenario):
    """The dialogue of a TLS scenario, from the greeting on."""
    c.reply(greeting(name))
    tls = False
    while True:
        line = c.readline()
        if line is None:
            return
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        if verb == "EHLO":
            c.reply(ehlo_reply(name, arg) if tls else
                    starttls_ehlo(name, arg))
        elif verb == "STARTTLS" and not tls:
            if scenario == "starttls-454":
                c.reply("454 4.7.0 TLS not available due to local problem")
                continue
            smuggled, c.buf = c.buf, b""
            c.reply("220 2.0.0 Ready to start TLS")
            if scenario == "starttls-junk":
                c.send(b"\x00garbage " + os.urandom(502))
                c.drain()
                return
            if scenario == "starttls-silent":
                c.drain()
                return
            if scenario == "tls-stall":
                hello = peek_hello(c.sock)
                if hello:
                    c.sock.recv(len(hello))
                c.send(server_hello(0x0303, 0xC02F)[:20])
                c.drain()
                return
            if scenario.startswith("weak-"):
                choice = weak_choice(scenario, peek_hello(c.sock))
                if choice is not None:
                    c.send(server_hello(*choice))
                    c.drain()
                    return
            c.sock = server.tls.wrap_socket(c.sock, server_side=True)
            tls = True
            if scenario == "starttls-inject":
                c.buf = smuggled  # the bug: plaintext read before TLS
        elif not plain_command(c, name, verb):
            return


def run_scenario(c, scenario, name, server=None):
    if scenario in TLS_SCENARIOS:
        tls_session(c, name, server, scenario)
    elif scenario == "normal":
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
    elif scenario == "command-inject":
        inject = b"[1234567890] SHUTDOWN_PROGRAM"
        c.send(b"".join(b"220-%s |evil_%d=1;2;3 a\\nb ;x; \xff|\r\n"
                        % (name.encode("ascii"), i) for i in range(100)) +
               b"220 " + name.encode("ascii") + b" |x=1\n" + inject +
               b"\r" + inject + b"\x00" + inject + b"\r\n")
        c.drain()
    elif scenario == "nul-greeting":
        c.send(("220 %s ESMTP " % name).encode("ascii") +
               b"fa\x00ke \x1b[31mred\x1b[0m\r\n")
        dialogue(c, name)
    elif scenario == "helo-only":
        c.reply(greeting(name))
        dialogue(c, name, on_ehlo=helo_only_ehlo)
    elif scenario == "close-after-greeting":
        c.reply(greeting(name))
    elif scenario in POLICIES:
        RelaySession(c, POLICIES[scenario], name, server).run()
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
                         self.server.name, self.server)
        except OSError:
            pass  # the client went away or idled out: that is its right


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    conns = 0
    ext_domain = "example.net"
    drop_after = 5
    completed_file = None
    tls = None  # the ssl.SSLContext of the TLS scenarios

    def next_conn(self):
        """The number of a new connection (1, 2, ...), for the log."""
        with LOG_LOCK:
            self.conns += 1
            return self.conns


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
    ap.add_argument("--external-domain", default="example.net",
                    help="the foreign domain of the relay scenarios")
    ap.add_argument("--drop-after", type=int, default=5,
                    help="drop-after-5: commands answered per session")
    ap.add_argument("--completed-file",
                    help="append a line here for every completed message")
    ap.add_argument("--tls-cert",
                    help="TLS scenarios: PEM file, the key then the chain "
                    "(read only by them)")
    args = ap.parse_args()

    try:
        addr, port = parse_listen(args.listen)
    except ValueError as e:
        ap.error(str(e))
    if not args.name or any(ch not in NAME_CHARS for ch in args.name):
        ap.error("--name: letters, digits, '.' and '-' only")
    if (not args.external_domain or
            any(ch not in NAME_CHARS for ch in args.external_domain)):
        ap.error("--external-domain: letters, digits, '.' and '-' only")
    if args.drop_after < 1:
        ap.error("--drop-after: at least 1")
    if args.scenario in TLS_SCENARIOS and not args.tls_cert:
        ap.error("--scenario %s needs --tls-cert" % args.scenario)
    tls = (tls_context(args.tls_cert) if args.scenario in TLS_SCENARIOS
           else None)
    cls = Server6 if addr.version == 6 else Server
    server = cls((str(addr), port), Handler)
    server.scenario = args.scenario
    server.name = args.name
    server.ext_domain = args.external_domain
    server.drop_after = args.drop_after
    server.completed_file = args.completed_file
    server.tls = tls

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
