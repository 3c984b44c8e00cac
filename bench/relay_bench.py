#!/usr/bin/env python3
"""relay_bench.py - time `mxprobe -C relay` against nmap's smtp-open-relay.

Everything runs on loopback port 25 (nmap's script only runs on SMTP ports)
and is started here:
  - 127.0.0.171: a closed Postfix (reject_unauth_destination) with the
    default error limits: smtpd_soft_error_limit 10, smtpd_hard_error_limit
    20, smtpd_error_sleep_time 1s (Postfix sleeps before each reply once a
    session has had 10 errors);
  - 127.0.0.172: an open relay Postfix (mynetworks 127.0.0.0/8, so every
    loopback client may relay);
  - 127.0.0.173: build/tools/tcpdelay (bench/tcpdelay.c) forwarding to
    .171 with 25 ms each way (no netem here);
  - 127.0.0.174: tests/integration/fakesmtp.py, scenario data-554: 250 to
    every MAIL and RCPT, 554 at DATA (a built-in stand-in when fakesmtp.py
    has no such scenario);
  - 127.0.0.175: an open relay Postfix that pauses 1 s before every MAIL
    (smtpd_delay_reject = no, smtpd_sender_restrictions = sleep 1,
    permit): Postfix's in_flow_delay made repeatable (issue 8);
  - 127.0.0.176: a closed Postfix tarpit that pauses 1 s at every RCPT
    (smtpd_recipient_restrictions = sleep 1, permit_mynetworks,
    reject_unauth_destination).
Both Postfix instances deliver through discard transports, use no DNS and
log to their temp dir; nothing leaves 127.0.0.0/8.  mxprobe gets a DNS
server address where nothing listens (the relay check needs no DNS).

Measured, in the same run: wall time of each tool on each server (median of
BENCH_RUNS mxprobe runs and BENCH_NMAP_RUNS nmap runs; BENCH_SLOW_RUNS
and BENCH_SLOW_NMAP_RUNS on the two pausing servers), forms tried
(relay_forms perfdata; nmap always has 16), the verdicts, the speed ratio
on the closed Postfix and the proxy's measured added delay.  Afterwards no
message may have been completed (Postfix's qmgr logs none, fakesmtp's
--completed-file stays empty).  Prints a table; exits non-zero when a
target of issue 3 or 8 is missed (8: on the MAIL-pausing open relay the
verdict and all 17 forms classified within SLOW_MAX_S at -t 30; the
tarpit well below its 17 s of one form after another).
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import series, stop_all, timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MXPROBE_BUILD", os.path.join(ROOT, "build"))
MXPROBE = os.path.join(BUILD, "mxprobe")
RELAY_SO = os.path.join(BUILD, "plugins", "relay.so")
TCPDELAY = os.path.join(BUILD, "tools", "tcpdelay")
FAKESMTP = os.path.join(ROOT, "tests", "integration", "fakesmtp.py")
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) \
    else sys.executable

PORT = 25
CLOSED, OPEN, PROXY, DATA554 = ("127.0.0.171", "127.0.0.172",
                                "127.0.0.173", "127.0.0.174")
SLOWMAIL, TARPIT = "127.0.0.175", "127.0.0.176"
NO_DNS = "127.0.0.179"  # nothing listens: the relay check needs no DNS
DELAY_MS = int(os.environ.get("BENCH_DELAY_MS", "25"))
RUNS = int(os.environ.get("BENCH_RUNS", "9"))
NMAP_RUNS = int(os.environ.get("BENCH_NMAP_RUNS", "3"))
EXT_DOMAIN, FROM, TO = "example.net", "relaytest", "relaytest"
SLOW_RUNS = int(os.environ.get("BENCH_SLOW_RUNS", "3"))
SLOW_NMAP_RUNS = int(os.environ.get("BENCH_SLOW_NMAP_RUNS", "1"))
MAX_S, MIN_SPEEDUP = 1.0, 10.0
SLOW_MAX_S, TARPIT_MAX_S = 3.0, 8.0  # issue 8

# (label, address, is a relay: the truth both tools are judged by)
SERVERS = [
    ("closed Postfix", CLOSED, False),
    ("closed Postfix + 25 ms proxy", PROXY, False),
    ("open relay Postfix", OPEN, True),
    ("accept RCPT, 554 at DATA", DATA554, False),
    ("open relay Postfix, 1 s before each MAIL", SLOWMAIL, True),
    ("closed Postfix tarpit, 1 s at each RCPT", TARPIT, False),
]
SLOW = (SLOWMAIL, TARPIT)

procs = []
postfixes = []  # config dirs of the instances started here


class Stop(Exception):
    pass


def on_signal(sig, _frame):
    raise Stop("signal %d" % sig)


# ---- the stand-in data-554 server -------------------------------------

def serve_data554(listen):
    """A minimal data-554 server (used only when fakesmtp.py has none):
    PIPELINING offered, 250 to MAIL and RCPT, 554 at DATA."""
    host, port = listen.rsplit(":", 1)
    if not host.startswith("127."):
        sys.exit("data-554: loopback only")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(64)
    name = "data554.bench.test"

    def session(c):
        f = c.makefile("rb")
        c.settimeout(30)

        def say(s):
            c.sendall(s.encode() + b"\r\n")
        try:
            say("220 %s ESMTP" % name)
            while True:
                line = f.readline(1024)
                if not line:
                    return
                cmd = line.decode("latin-1").strip().upper()
                if cmd.startswith("EHLO"):
                    say("250-%s\r\n250-PIPELINING\r\n250 8BITMIME" % name)
                elif cmd.startswith("HELO"):
                    say("250 %s" % name)
                elif cmd.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                    say("250 2.0.0 Ok")
                elif cmd == "DATA":
                    say("554 5.7.1 <%s>: Relay access denied" % name)
                elif cmd == "QUIT":
                    say("221 2.0.0 Bye")
                    return
                else:
                    say("502 5.5.2 Error: command not recognized")
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=session, args=(c,), daemon=True).start()


# ---- servers ----------------------------------------------------------

def busy_addresses():
    """Listening sockets that would collide with ours (leftovers of a
    killed run, a system MTA on *:25)."""
    out = subprocess.run(["ss", "-H", "-lnt"], capture_output=True,
                         text=True, check=True).stdout
    mine = {CLOSED, OPEN, PROXY, DATA554, SLOWMAIL, TARPIT}
    busy = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        addr, _, port = f[3].rpartition(":")
        if port == str(PORT) and (addr in mine or
                                  addr in ("0.0.0.0", "*", "[::]")):
            busy.append(f[3])
    out = subprocess.run(["ss", "-H", "-lnu"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[3] in (NO_DNS + ":53", "0.0.0.0:53", "*:53"):
            busy.append(f[3] + "/udp")
    return busy


RELAY_RESTRICTIONS = """smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,
    reject_unauth_destination"""


def start_postfix(tmp, name, addr, host, networks,
                  restrictions=RELAY_RESTRICTIONS, extra=""):
    """A private Postfix on addr:25 greeting as host, delivering only to
    discard; extra: main.cf lines appended (they win: Postfix takes the
    last of two settings)."""
    d = os.path.join(tmp, "postfix-" + name)
    for sub in ("conf", "queue", "data"):
        os.makedirs(os.path.join(d, sub))
    shutil.chown(os.path.join(d, "data"), "postfix")
    conf = os.path.join(d, "conf")
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write("""# Generated by bench/relay_bench.py
compatibility_level = 3.6
config_directory = {conf}
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {host}
mydomain = {domain}
myorigin = $myhostname
mydestination = $myhostname
smtpd_banner = $myhostname ESMTP
inet_interfaces = loopback-only
inet_protocols = ipv4
# The relay decision: clients come from 127.0.0.1, inside mynetworks
# or not.  (Postfix refuses to start with a plain "permit".)
mynetworks = {networks}
{restrictions}
relayhost =
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps = inline:{{postmaster=ok, root=ok}}
maillog_file_prefixes = {tmp}
maillog_file = {d}/postfix.log
biff = no
# Never delivering anything, an instance gets no flow-control tokens back
# from its qmgr: each new queue file (at the first accepted RCPT) would
# wait in_flow_delay (1 s) once the first few are used up.
in_flow_delay = 0
""".format(conf=conf, d=d, host=host, domain=host.split(".", 1)[1],
           networks=networks, tmp=tmp, restrictions=restrictions) + extra)
    with open(os.path.join(conf, "master.cf"), "w") as f:
        f.write("""# Generated by bench/relay_bench.py: one smtpd.
{addr}:{port} inet n - n - - smtpd
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -   - trivial-rewrite
bounce    unix  - - n -   0 bounce
defer     unix  - - n -   0 bounce
trace     unix  - - n -   0 bounce
verify    unix  - - n -   1 verify
proxymap  unix  - - n -   - proxymap
error     unix  - - n -   - error
retry     unix  - - n -   - error
discard   unix  - - n -   - discard
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
""".format(addr=addr, port=PORT))
    postfixes.append(conf)
    # "postfix start" takes seconds on fresh dirs: both start at once.
    log = open(os.path.join(d, "start.log"), "w")
    procs.append(subprocess.Popen(["postfix", "-c", conf, "start"],
                                  stdout=log, stderr=subprocess.STDOUT))
    return d


def postconf(conf, *names):
    out = subprocess.run(["postconf", "-c", conf, "-x"] + list(names),
                         capture_output=True, text=True, check=True).stdout
    return dict(l.split(" = ", 1) for l in out.splitlines())


def stop_postfix(conf):
    subprocess.run(["postfix", "-c", conf, "stop"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with open(os.path.join(conf, "..", "queue", "pid",
                               "master.pid")) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return
    for _ in range(25):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def greeting(addr, timeout=2.0):
    with socket.create_connection((addr, PORT), timeout=timeout) as s:
        return s.makefile("rb").readline(512).decode("latin-1").strip()


def wait_greeting(addr, pattern, logs):
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            if re.match(pattern, greeting(addr)):
                return
        except OSError:
            pass
        time.sleep(0.1)
    for path in logs:
        try:
            with open(path) as f:
                sys.stderr.write(f.read())
        except OSError:
            pass
    raise Stop("no greeting matching %r from %s:%d" % (pattern, addr, PORT))


def noop_rtt(addr, n=10):
    """Median NOOP round trip (s) on one session, and the greeting's delay
    after connect()."""
    t0 = time.monotonic()
    with socket.create_connection((addr, PORT), timeout=5) as s:
        f = s.makefile("rb")
        f.readline(512)
        t_greet = time.monotonic() - t0
        rtts = []
        for _ in range(n):
            t = time.monotonic()
            s.sendall(b"NOOP\r\n")
            f.readline(512)
            rtts.append(time.monotonic() - t)
        s.sendall(b"QUIT\r\n")
        f.readline(512)
    return statistics.median(rtts), t_greet


# ---- the tools --------------------------------------------------------

def mx_cmd(addr, verbose="-v"):
    return [MXPROBE, "-H", addr, "-p", str(PORT), "-C", "relay", "-o",
            "nagios", "--dns-server", NO_DNS, "-t", "30", verbose,
            "--set", "relay.external_domain=" + EXT_DOMAIN,
            "--set", "relay.sender=" + FROM,
            "--set", "relay.recipient=" + TO]


def nmap_cmd(addr):
    args = ("smtp-open-relay.domain=%s,smtp-open-relay.ip=%s,"
            "smtp-open-relay.from=%s,smtp-open-relay.to=%s"
            % (EXT_DOMAIN, addr, FROM, TO))
    return ["nmap", "-n", "-Pn", "-sT", "-p%d" % PORT, "-vv",
            "--script", "smtp-open-relay", "--script-args", args, addr]


def perf(out, name):
    m = re.search(r"\b%s=([0-9.]+)" % name, out)
    return m.group(1) if m else "?"


def mx_verdict(rc, out):
    """(relay?, text): True relay, False not, None no verdict."""
    line = out.splitlines()[0] if out else "(no output)"
    status = line.split(" - ", 1)[-1].split(" | ")[0]
    if rc == 2 and "open relay (" in line:
        return True, status
    if rc == 0 and "no open relay" in line:
        return False, status
    return None, status


def nmap_verdict(out):
    lines = [l for l in out.splitlines() if l.startswith("|")]
    text = " / ".join(l.lstrip("|_ ").strip() for l in lines) or \
        "(no script output)"
    m = re.search(r"Server is an open relay \((\d+)/16 tests\)", out)
    if m:
        return True, text, 16
    if "doesn't seem to be an open relay, all tests failed" in out:
        return False, text, 16
    return None, text, "?"


def fmt_v(v):
    return {True: "RELAY", False: "not a relay", None: "NO VERDICT"}[v]


def completed_messages(pf_dirs, completed_file):
    """Messages that were completed: a qmgr "nrcpt=" line is logged only
    for a message ended with "." and queued."""
    n = 0
    for d in pf_dirs:
        try:
            with open(os.path.join(d, "postfix.log")) as f:
                n += sum(1 for l in f if "nrcpt=" in l)
        except OSError:
            pass
    try:
        with open(completed_file) as f:
            n += sum(1 for l in f if l.strip())
    except OSError:
        pass
    return n


def fakesmtp_has_data554():
    try:
        with open(FAKESMTP) as f:
            return '"data-554"' in f.read()
    except OSError:
        return False


def main():
    if os.geteuid() != 0:
        sys.exit("relay bench: must run as root (Postfix, port 25)")
    for tool in (MXPROBE, TCPDELAY):
        if not os.access(tool, os.X_OK):
            sys.exit("relay bench: %s missing: run make first" % tool)
    if not os.path.exists(RELAY_SO):
        sys.exit("relay bench: %s missing: the relay plugin is not built"
                 % RELAY_SO)
    for tool in ("postfix", "postconf", "nmap", "ss"):
        if shutil.which(tool) is None:
            sys.exit("relay bench: %s not installed: run make deps" % tool)
    busy = busy_addresses()
    if busy:
        sys.exit("relay bench: in use (a system MTA, or leftovers of an "
                 "earlier run?): %s" % " ".join(busy))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tmp = tempfile.mkdtemp(prefix="mxprobe-relay-bench-")
    os.chmod(tmp, 0o755)  # Postfix daemons drop to the postfix user
    completed_file = os.path.join(tmp, "fakesmtp-completed")
    ok = True
    try:
        pf_closed = start_postfix(tmp, "closed", CLOSED,
                                  "mail.closed.bench.test", CLOSED + "/32")
        # The classic open relay: mynetworks far too wide.
        pf_open = start_postfix(tmp, "open", OPEN, "mail.open.bench.test",
                                "127.0.0.0/8")
        # Issue 8: an open relay pausing before every MAIL (the sender
        # restrictions run at MAIL with smtpd_delay_reject off), and a
        # closed tarpit pausing at every RCPT.
        pf_slow = start_postfix(
            tmp, "slowmail", SLOWMAIL, "mail.slowmail.bench.test",
            "127.0.0.0/8", RELAY_RESTRICTIONS + """
smtpd_delay_reject = no
smtpd_sender_restrictions = sleep 1, permit""")
        pf_tarpit = start_postfix(
            tmp, "tarpit", TARPIT, "mail.tarpit.bench.test", TARPIT + "/32",
            """smtpd_relay_restrictions =
smtpd_recipient_restrictions = sleep 1, permit_mynetworks,
    reject_unauth_destination""")
        procs.append(subprocess.Popen(
            [TCPDELAY, "--listen", "%s:%d" % (PROXY, PORT), "--upstream",
             "%s:%d" % (CLOSED, PORT), "--delay-ms", str(DELAY_MS)],
            stderr=open(os.path.join(tmp, "tcpdelay.log"), "w")))
        fake_log = os.path.join(tmp, "data554.log")
        if fakesmtp_has_data554():
            fake = [PY, FAKESMTP, "--listen", "%s:%d" % (DATA554, PORT),
                    "--scenario", "data-554", "--name",
                    "data554.bench.test", "--completed-file",
                    completed_file]
            fake_src = "tests/integration/fakesmtp.py --scenario data-554"
        else:
            fake = [PY, os.path.abspath(__file__), "--serve-data-554",
                    "%s:%d" % (DATA554, PORT)]
            fake_src = "bench/relay_bench.py's stand-in (no data-554 " \
                       "scenario in fakesmtp.py)"
        procs.append(subprocess.Popen(fake, stdout=open(fake_log, "w"),
                                      stderr=subprocess.STDOUT))

        wait_greeting(CLOSED, r"220 mail\.closed\.bench\.test ESMTP",
                      [pf_closed + "/start.log", pf_closed + "/postfix.log"])
        wait_greeting(OPEN, r"220 mail\.open\.bench\.test ESMTP",
                      [pf_open + "/start.log", pf_open + "/postfix.log"])
        wait_greeting(PROXY, r"220 mail\.closed\.bench\.test ESMTP",
                      [os.path.join(tmp, "tcpdelay.log")])
        wait_greeting(DATA554, r"220 ", [fake_log])
        wait_greeting(SLOWMAIL, r"220 mail\.slowmail\.bench\.test ESMTP",
                      [pf_slow + "/start.log", pf_slow + "/postfix.log"])
        wait_greeting(TARPIT, r"220 mail\.tarpit\.bench\.test ESMTP",
                      [pf_tarpit + "/start.log", pf_tarpit + "/postfix.log"])

        limits = postconf(pf_closed + "/conf", "smtpd_soft_error_limit",
                          "smtpd_hard_error_limit", "smtpd_error_sleep_time")
        direct_rtt, direct_greet = noop_rtt(CLOSED)
        proxy_rtt, proxy_greet = noop_rtt(PROXY)

        # Warm caches (page cache, Postfix's smtpd processes) once.
        for _, addr, _ in SERVERS:
            timed(mx_cmd(addr), merge_stderr=True)

        rows = []
        for label, addr, truth in SERVERS:
            slow = addr in SLOW
            mt, (mrc, mout) = series(mx_cmd(addr), SLOW_RUNS if slow
                                     else RUNS, merge_stderr=True)
            nt, (_, nout) = series(nmap_cmd(addr), SLOW_NMAP_RUNS if slow
                                   else NMAP_RUNS, merge_stderr=True)
            mv, mtext = mx_verdict(mrc, mout)
            nv, ntext, nforms = nmap_verdict(nout)
            rows.append(dict(label=label, addr=addr, truth=truth,
                             mt=mt, mv=mv, mtext=mtext, mout=mout,
                             mforms=perf(mout, "relay_forms"),
                             mconn=perf(mout, "relay_connections"),
                             macc=perf(mout, "relay_accepted"),
                             unconfirmed=len(re.findall(
                                 r"not confirmed|inconclusive", mout)),
                             nt=nt, nv=nv, ntext=ntext, nforms=nforms,
                             nout=nout))
        # One transcript of the closed Postfix, for where the time goes.
        _, _, vv_out = timed(mx_cmd(CLOSED, "-vv"), merge_stderr=True)
        vv_path = os.path.join(BUILD, "relay-bench-closed.vv.txt")
        with open(vv_path, "w") as f:
            f.write(vv_out)

        print("relay benchmark: port %d, external domain %s, %d mxprobe "
              "runs, %d nmap runs per server" % (PORT, EXT_DOMAIN, RUNS,
                                                  NMAP_RUNS))
        print("  closed Postfix limits: " + ", ".join(
            "%s %s" % kv for kv in sorted(limits.items())))
        print("  proxy %s -> %s: NOOP round trip %.1f ms (direct %.2f ms, "
              "target 2 x %d ms); greeting %.1f ms after connect "
              "(direct %.1f ms)" % (PROXY, CLOSED, proxy_rtt * 1e3,
                                    direct_rtt * 1e3, DELAY_MS,
                                    proxy_greet * 1e3, direct_greet * 1e3))
        print("  data-554 server: " + fake_src)
        for r in rows:
            print("  %s (%s), truth: %s" % (r["label"], r["addr"],
                                           fmt_v(r["truth"])))
            print("    mxprobe  median %7.3f s (min %.3f, max %.3f)  "
                  "forms %s, connections %s, relaying %s: %s"
                  % (statistics.median(r["mt"]), min(r["mt"]), max(r["mt"]),
                     r["mforms"], r["mconn"], r["macc"], fmt_v(r["mv"])))
            print("             " + r["mtext"])
            print("    nmap     median %7.3f s (min %.3f, max %.3f)  "
                  "forms %s: %s" % (statistics.median(r["nt"]), min(r["nt"]),
                                    max(r["nt"]), r["nforms"],
                                    fmt_v(r["nv"])))
            print("             " + r["ntext"][:300])

        closed = rows[0]
        mx_med = statistics.median(closed["mt"])
        nm_med = statistics.median(closed["nt"])
        ratio = nm_med / mx_med
        print("  closed Postfix: mxprobe %.3f s (target <= %.1f s), "
              "nmap %.3f s, speed-up %.1fx (target >= %.0fx)"
              % (mx_med, MAX_S, nm_med, ratio, MIN_SPEEDUP))

        for r in rows:
            if r["mv"] != r["truth"]:
                print("FAIL: %s: mxprobe says %s" % (r["label"],
                                                     fmt_v(r["mv"])))
                ok = False
            if r["nv"] == r["truth"] and r["mv"] != r["nv"]:
                print("FAIL: %s: nmap right, mxprobe not" % r["label"])
                ok = False
            if not r["mforms"].isdigit() or int(r["mforms"]) < 16:
                print("FAIL: %s: mxprobe tried %s forms (nmap's 16 at "
                      "least)" % (r["label"], r["mforms"]))
                ok = False
        if rows[3]["mv"] is False and \
                "refused at DATA" not in rows[3]["mtext"]:
            print("FAIL: data-554: the summary does not say accepted at "
                  "RCPT but refused at DATA")
            ok = False
        for r in rows:
            if r["addr"] not in SLOW:
                continue
            med = statistics.median(r["mt"])
            limit = SLOW_MAX_S if r["addr"] == SLOWMAIL else TARPIT_MAX_S
            print("  %s: mxprobe %.3f s (target <= %.1f s), nmap %.3f s, "
                  "forms %s, unconfirmed %d"
                  % (r["label"], med, limit, statistics.median(r["nt"]),
                     r["mforms"], r["unconfirmed"]))
            if med > limit:
                print("FAIL: %s: mxprobe %.3f s, over %.1f s"
                      % (r["label"], med, limit))
                ok = False
            if r["mforms"] != "17" or r["unconfirmed"]:
                print("FAIL: %s: not every form classified (forms %s, %d "
                      "unconfirmed)" % (r["label"], r["mforms"],
                                        r["unconfirmed"]))
                ok = False
        if mx_med > MAX_S:
            print("FAIL: mxprobe %.3f s on the closed Postfix, over %.1f s "
                  "(transcript: %s)" % (mx_med, MAX_S, vv_path))
            ok = False
        if ratio < MIN_SPEEDUP:
            print("FAIL: less than %.0fx faster than nmap on the closed "
                  "Postfix" % MIN_SPEEDUP)
            ok = False
        n = completed_messages([pf_closed, pf_open, pf_slow, pf_tarpit],
                               completed_file)
        print("  messages completed: %d (must be 0)" % n)
        if n != 0:
            print("FAIL: a message was completed")
            ok = False
    except Stop as e:
        print("relay bench: stopped: %s" % e)
        ok = False
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(procs)
        for conf in postfixes:
            stop_postfix(conf)
        if os.environ.get("MXPROBE_KEEP_TMP") == "1":
            print("relay bench: kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("relay bench: %s" % ("all targets met" if ok else "targets missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-data-554":
        serve_data554(sys.argv[2])
    else:
        sys.exit(main())
