#!/usr/bin/env python3
"""many_bench.py - 1000 targets in one run (issue 11): `mxprobe --all` at
-j 16, 64 and 256 against the way Nagios users do it today, one check_smtp
and one check_rbl process per target, run with the same concurrency.

Servers, all on loopback, started and stopped here:
  127.1.0.1 .. 127.1.3.250 (1000 addresses), port 2600
                    bench/manyfake.py, one asyncio process: 90% healthy
                    (greeting, EHLO, QUIT), 10% hostile: silent, a greeting
                    dripped one byte a second, EHLO lines without end
  the same addresses, port 25
                    build/tools/tcpdelay, 25 ms each way (BENCH_TCP_DELAY_MS)
                    in front of each: the targets
  127.0.0.211:5353  Knot DNS: each target's PTR (forward-confirmed, the
                    name its server greets with) and 4 DNSBL zones
                    bl1..bl4.bench.test with the RFC 5782 test entries;
                    every 20th target is listed on bl1
  127.0.0.212:53    build/tools/dnsdelay in front of Knot, every answer
                    50 ms after its query (BENCH_DNS_DELAY_MS); port 53
                    because check_rbl can use no other

mxprobe runs `--all -j N -t T -o json -q` over a config listing the 1000
targets with checks [banner, dnsbl] (what check_smtp and check_rbl look
at); the peer runs check_smtp -t T and check_rbl -t T per target, 2000
processes, N at a time, from a small pool driver (this script, as a
session of its own) that records when each finished.  T is BENCH_TIMEOUT
(5 s): a hostile target costs its deadline.

Measured per run: wall time; healthy targets per second (the 900 healthy
targets over the time of the last healthy result: JSON Lines stream as
targets finish, the peer's driver notes each finish); CPU seconds of the
whole process tree (rusage of the waited children) per target; peak RSS
of the tree (the sum over its processes, sampled every BENCH_SAMPLE_MS,
default 100: an upper bound, forked children share pages) and of its
largest process; peak processes and descriptors of the tree; the main
process' descriptors at the start, peak and end; processes of the tree
left after it exited; and that every target was reported with the state
its server deserves.  Targets (issue 11): >= 200 healthy targets/s at
-j 256, <= 512 MB, every result reported, nothing left behind.

  BENCH_JOBS="16 64 256"  BENCH_PEER_JOBS (default: BENCH_JOBS; "" skips
  the peer)  BENCH_TARGETS=1000  BENCH_DEFAULT_CHECKS=1 also a run with
  the default checks at the largest -j
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import DNSDELAY, MXPROBE, TCPDELAY, stop_all  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK_SMTP = "/usr/lib/nagios/plugins/check_smtp"
CHECK_RBL = "/usr/lib/nagios/plugins/check_rbl"
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) \
    else sys.executable

KNOT, DNS, DNS_PORT, KNOT_PORT = "127.0.0.211", "127.0.0.212", 53, 5353
FAKE_PORT, PORT = 2600, 25
N = int(os.environ.get("BENCH_TARGETS", "1000"))
JOBS = [int(j) for j in os.environ.get("BENCH_JOBS", "16 64 256").split()]
PEER_JOBS = [int(j) for j in os.environ.get(
    "BENCH_PEER_JOBS", " ".join(map(str, JOBS))).split()]
TIMEOUT = int(os.environ.get("BENCH_TIMEOUT", "5"))
DNS_DELAY_MS = int(os.environ.get("BENCH_DNS_DELAY_MS", "50"))
TCP_DELAY_MS = int(os.environ.get("BENCH_TCP_DELAY_MS", "25"))
SAMPLE = int(os.environ.get("BENCH_SAMPLE_MS", "100")) / 1000.0
ZONES = ["bl%d.bench.test" % i for i in range(1, 5)]
HOSTILE = ["silent", "drip", "endless"]

procs = []


class Stop(Exception):
    pass


def on_signal(sig, _frame):
    raise Stop("signal %d" % sig)


# ---- the targets ------------------------------------------------------

def addr(i):
    return "127.1.%d.%d" % (i // 250, i % 250 + 1)


def name(i):
    return "h%04d.hosts.bench.test" % i


def scenario(i):
    """Every 10th target is hostile, the three kinds in turn."""
    return HOSTILE[(i // 10) % 3] if i % 10 == 9 else "normal"


def listed(i):
    return i % 20 == 3


def expected(i):
    """The state each target deserves: a hostile server is CRITICAL (no
    greeting in time, or a reply without end), a listed one WARNING."""
    if scenario(i) != "normal":
        return "CRITICAL"
    return "WARNING" if listed(i) else "OK"


def zones():
    soa = "@ IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300\n" \
          "@ IN NS ns.bench.test.\n"
    z = {}
    z["hosts.bench.test"] = soa + "".join(
        "h%04d IN A %s\n" % (i, addr(i)) for i in range(N))
    z["1.127.in-addr.arpa"] = soa + "".join(
        "%s IN PTR %s.\n" % (".".join(reversed(addr(i).split(".")[2:])),
                             name(i)) for i in range(N))
    for zname in ZONES:
        text = soa + "2.0.0.127 IN A 127.0.0.2\n" \
                     '2.0.0.127 IN TXT "RFC 5782 test entry"\n'
        if zname == ZONES[0]:
            text += "".join(
                "%s IN A 127.0.0.2\n" % ".".join(reversed(addr(i).split(".")))
                for i in range(N) if listed(i))
        z[zname] = text
    z["bench.test"] = soa + "ns IN A %s\n" % KNOT
    return {k: "$ORIGIN %s.\n$TTL 300\n%s" % (k, v) for k, v in z.items()}


def config(path, checks):
    with open(path, "w") as f:
        f.write("# Generated by bench/many_bench.py\n"
                "probe:\n  helo_name: probe.bench.test\n"
                "  mail_from: postmaster@bench.test\n"
                "  dns_timeout: 2\n  dns_tries: 2\n")
        if checks:
            f.write("checks: [%s]\n" % ", ".join(checks))
        f.write("plugins:\n  dnsbl:\n    zones: [%s]\n" % ", ".join(ZONES))
        f.write("targets:\n")
        for i in range(N):
            f.write("  - host: %s\n    port: %d\n" % (addr(i), PORT))


# ---- the process tree -------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")


def session_procs(sid):
    """pids of the processes of session sid."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[3]) == sid:
            out.append(int(p))
    return out


def proc_rss(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def proc_pss(pid):
    """Proportional set size: shared pages divided among their sharers
    (forked children share most of theirs), 0 when it cannot be read."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


class Sampler(threading.Thread):
    """Samples a session every SAMPLE s until stopped: peak RSS (sum and
    largest), processes, descriptors; the leader's descriptors."""

    def __init__(self, sid):
        super().__init__(daemon=True)
        self.sid = sid
        self.halt = threading.Event()
        self.rss = self.rss_max = self.procs = self.fds = self.pss = 0
        self.main_fds = []

    def run(self):
        n = 0
        while not self.halt.is_set():
            pids = session_procs(self.sid)
            rss = [proc_rss(p) for p in pids]
            if n % 5 == 0:  # smaps_rollup costs more: every 5th sample
                self.pss = max(self.pss, sum(proc_pss(p) for p in pids))
            n += 1
            fds = [proc_fds(p) for p in pids]
            self.rss = max(self.rss, sum(rss))
            self.rss_max = max([self.rss_max] + rss)
            self.procs = max(self.procs, len(pids))
            self.fds = max(self.fds, sum(fds))
            # 0: the leader was caught exiting (its fd table gone).
            if self.sid in pids and fds[pids.index(self.sid)] > 0:
                self.main_fds.append(fds[pids.index(self.sid)])
            self.halt.wait(SAMPLE)


def servers_cpu():
    """CPU seconds each of the benchmark's servers (forwarders, fakes,
    Knot) used so far, by name: their side of the 2 cores."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in procs:
        try:
            with open("/proc/%d/stat" % p.pid) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        out[comm] = out.get(comm, 0.0) + \
            (int(fields[11]) + int(fields[12])) / tick
    return out


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_tree(cmd, on_line):
    """Runs cmd as a session of its own, calling on_line(t, line) for each
    line of its stdout as it comes.  Returns a dict of figures."""
    cpu0, srv0 = children_cpu(), servers_cpu()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    s = Sampler(p.pid)
    s.start()
    err = []
    te = threading.Thread(target=lambda: err.append(p.stderr.read()),
                          daemon=True)
    te.start()
    for line in p.stdout:
        on_line(time.monotonic() - t0, line.decode(errors="replace"))
    rc = p.wait()
    wall = time.monotonic() - t0
    s.halt.set()
    s.join()
    te.join()
    time.sleep(0.3)
    left = session_procs(p.pid)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    srv = {k: v - srv0.get(k, 0.0) for k, v in servers_cpu().items()}
    return dict(rc=rc, wall=wall, cpu=children_cpu() - cpu0,
                servers=sum(srv.values()), servers_by=srv,
                load=os.getloadavg()[0],
                rss=s.rss,
                pss=s.pss,
                rss_max=s.rss_max, procs=s.procs, fds=s.fds,
                main_fds=s.main_fds, left=len(left),
                stderr=b"".join(err).decode(errors="replace"))


# ---- the runs ---------------------------------------------------------

def run_mxprobe(conf, jobs, checks=None, log=None):
    index = {addr(i): i for i in range(N)}
    seen, wrong, last_healthy = {}, [], 0.0
    logf = open(log, "w") if log else None

    def on_line(t, line):
        nonlocal last_healthy
        if logf:
            logf.write("%.3f %s" % (t, line))
        try:
            o = json.loads(line)
        except ValueError:
            wrong.append("not JSON: %r" % line[:100])
            return
        i = index.get(o.get("address"))
        if i is None or i in seen:
            wrong.append("unexpected or twice: %s" % o.get("address"))
            return
        seen[i] = o["state"]
        if scenario(i) == "normal":
            last_healthy = max(last_healthy, t)
        if checks is None and o["state"] != expected(i):
            wrong.append("%s (%s) %s, want %s: %s" % (
                addr(i), scenario(i), o["state"], expected(i),
                o.get("summary", "")[:120]))

    cmd = [MXPROBE, "-f", conf, "--all", "-j", str(jobs), "-t",
           str(TIMEOUT), "-o", "json", "-q", "--dns-server",
           "%s:%d" % (DNS, DNS_PORT)]
    if checks:
        cmd += ["-C", checks]
    r = run_tree(cmd, on_line)
    if logf:
        logf.close()
    r.update(results=len(seen), wrong=wrong, last_healthy=last_healthy,
             tool="mxprobe" + (" (%s)" % checks if checks else ""), jobs=jobs)
    return r


def peer_jobs_file(path):
    with open(path, "w") as f:
        for i in range(N):
            f.write(json.dumps([i, "smtp", [CHECK_SMTP, "-H", addr(i), "-p",
                                            str(PORT), "-t", str(TIMEOUT)]])
                    + "\n")
            rbl = [CHECK_RBL, "-H", addr(i), "-n", DNS, "-t", str(TIMEOUT),
                   "-w", "1", "-c", "2"]
            for z in ZONES:
                rbl += ["-s", z]
            f.write(json.dumps([i, "rbl", rbl]) + "\n")


def peer_pool(jobs_file, n):
    """The peer's scheduler (run as `many_bench.py --pool FILE N`): every
    job of FILE, n at a time; one line per finished job on stdout:
    [index, kind, exit code, first line of output]; last, its own CPU."""
    from concurrent.futures import ThreadPoolExecutor
    with open(jobs_file) as f:
        jobs = [json.loads(l) for l in f]
    lock = threading.Lock()

    def one(job):
        i, kind, argv = job
        p = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out = p.stdout.decode(errors="replace").split("\n")[0]
        with lock:
            sys.stdout.write(json.dumps([i, kind, p.returncode, out]) + "\n")
            sys.stdout.flush()

    with ThreadPoolExecutor(max_workers=n) as ex:
        list(ex.map(one, jobs))
    r = resource.getrusage(resource.RUSAGE_SELF)
    sys.stdout.write(json.dumps(["self", r.ru_utime + r.ru_stime]) + "\n")


def run_peer(jobs_file, jobs):
    done, wrong, last_healthy, own = {}, [], 0.0, [0.0]
    want_rc = {"OK": 0, "WARNING": 1, "CRITICAL": 2}

    def on_line(t, line):
        nonlocal last_healthy
        rec = json.loads(line)
        if rec[0] == "self":
            own[0] = rec[1]
            return
        i, kind, rc, out = rec
        done.setdefault(i, {})[kind] = rc
        if len(done[i]) == 2:
            if scenario(i) == "normal":
                last_healthy = max(last_healthy, t)
            worst = max(done[i].values(), key=lambda c: (c != 3, c))
            if worst != want_rc[expected(i)]:
                wrong.append("%s (%s) exit %s, want %s" % (
                    addr(i), scenario(i), done[i], expected(i)))

    r = run_tree([PY, os.path.abspath(__file__), "--pool", jobs_file,
                  str(jobs)], on_line)
    r["cpu"] -= own[0]  # the pool driver's own CPU: Nagios' part
    r.update(results=sum(1 for d in done.values() if len(d) == 2),
             wrong=wrong, last_healthy=last_healthy, jobs=jobs,
             tool="check_smtp+check_rbl")
    return r


# ---- set-up -----------------------------------------------------------

def busy():
    out = subprocess.run(["ss", "-H", "-lntu"], capture_output=True,
                         text=True, check=True).stdout
    mine = {"%s:%d" % (KNOT, KNOT_PORT), "%s:%d" % (DNS, DNS_PORT)}
    taken = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        a = f[4]
        if a in mine or (a.startswith("127.1.") and
                         a.endswith((":%d" % PORT, ":%d" % FAKE_PORT))) \
                or a in ("0.0.0.0:25", "*:25", "0.0.0.0:53", "*:53"):
            taken.append(a)
    return taken


def wait_for(what, fn, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if fn():
            return
        time.sleep(0.1)
    raise Stop("%s did not come up" % what)


def dns_ok(server, port):
    r = subprocess.run(["kdig", "@" + server, "-p", str(port), "+short",
                        "+time=1", "+retry=0", "-x", addr(N - 1)],
                       capture_output=True, text=True)
    return name(N - 1) in r.stdout


def greets(a, port):
    import socket
    try:
        with socket.create_connection((a, port), timeout=2) as s:
            return s.recv(100).startswith(b"220 ")
    except OSError:
        return False


def start_servers(tmp):
    # Bursts of thousands of queries: 8 sockets' worth of buffer.
    procs.append(benchlib.start_knot(os.path.join(tmp, "knot"), KNOT,
                                     KNOT_PORT, zones(), udp_workers=8))
    procs.append(subprocess.Popen(
        [DNSDELAY, "--listen", "%s:%d" % (DNS, DNS_PORT), "--upstream",
         "%s:%d" % (KNOT, KNOT_PORT), "--delay-ms", str(DNS_DELAY_MS)],
        stderr=open(os.path.join(tmp, "dnsdelay.log"), "w")))
    fmap = os.path.join(tmp, "fakes.map")
    with open(fmap, "w") as f:
        for i in range(N):
            f.write("%s %s %s\n" % (addr(i), scenario(i), name(i)))
    ready = os.path.join(tmp, "fakes.ready")
    procs.append(subprocess.Popen(
        [PY, os.path.join(HERE, "manyfake.py"), "--map", fmap, "--port",
         str(FAKE_PORT), "--ready", ready],
        stderr=open(os.path.join(tmp, "manyfake.log"), "w")))
    listen = []
    for i in range(N):
        listen += ["--listen", "%s:%d" % (addr(i), PORT)]
    procs.append(subprocess.Popen(
        [TCPDELAY] + listen + ["--upstream", ":%d" % FAKE_PORT,
                               "--delay-ms", str(TCP_DELAY_MS)],
        stderr=open(os.path.join(tmp, "tcpdelay.log"), "w")))
    wait_for("knot", lambda: dns_ok(KNOT, KNOT_PORT))
    wait_for("dnsdelay", lambda: dns_ok(DNS, DNS_PORT))
    wait_for("manyfake", lambda: os.path.exists(ready), 60)
    wait_for("tcpdelay", lambda: greets(addr(0), PORT))


# ---- the report -------------------------------------------------------

def row(r):
    healthy = sum(1 for i in range(N) if scenario(i) == "normal")
    rate = healthy / r["last_healthy"] if r["last_healthy"] > 0 else 0.0
    mf = r["main_fds"] or [0]
    return dict(r, rate=rate, cpu_ms=1000.0 * r["cpu"] / N,
                fds_main="%d/%d/%d" % (mf[0], max(mf), mf[-1]))


def print_table(rows):
    print("many-target benchmark: %d targets (%d healthy, %d hostile: "
          "silent, drip, endless), checks banner+dnsbl (%d zones), "
          "DNS %d ms and TCP %d ms round trip, -t %d"
          % (N, sum(1 for i in range(N) if scenario(i) == "normal"),
             sum(1 for i in range(N) if scenario(i) != "normal"),
             len(ZONES), DNS_DELAY_MS, 2 * TCP_DELAY_MS, TIMEOUT))
    hdr = ("tool", "-j", "wall", "healthy/s", "results", "wrong",
           "CPU/target", "peak PSS", "RSS sum", "largest", "procs", "fds",
           "main fds s/p/e", "left", "servers CPU", "load")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        print("| %s | %d | %.1f s | %.0f | %d/%d | %d | %.1f ms | %.0f MB | "
              "%.0f MB | %.0f MB | %d | %d | %s | %d | %.1f s | %.1f |" % (
                  r["tool"], r["jobs"], r["wall"], r["rate"], r["results"], N,
                  len(r["wrong"]), r["cpu_ms"], r["pss"] / 2**20,
                  r["rss"] / 2**20,
                  r["rss_max"] / 2**20, r["procs"], r["fds"], r["fds_main"],
                  r["left"], r["servers"], r["load"]))
    for r in rows:
        print("  %s -j %d: servers' CPU %s" % (
            r["tool"], r["jobs"], ", ".join(
                "%s %.1f s" % kv for kv in sorted(r["servers_by"].items()))))
    for r in rows:
        for w in r["wrong"][:5]:
            print("  %s -j %d: %s" % (r["tool"], r["jobs"], w))
        if r["stderr"].strip():
            print("  %s -j %d stderr: %s" % (r["tool"], r["jobs"],
                                            r["stderr"].strip()[:300]))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--pool":
        peer_pool(sys.argv[2], int(sys.argv[3]))
        return 0
    if os.geteuid() != 0:
        sys.exit("many bench: must run as root (port 53 for check_rbl)")
    tools = ["knotd", "kdig", "ss"]
    benchlib.preflight("many bench", (MXPROBE, DNSDELAY, TCPDELAY),
                       tools, busy())
    if PEER_JOBS:
        for t in (CHECK_SMTP, CHECK_RBL):
            if not os.access(t, os.X_OK):
                sys.exit("many bench: %s missing: run make deps" % t)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tmp = tempfile.mkdtemp(prefix="mxprobe-many-bench-")
    ok = True
    rows = []
    try:
        start_servers(tmp)
        conf = os.path.join(tmp, "many.yaml")
        config(conf, ["banner", "dnsbl"])
        jobs_file = os.path.join(tmp, "peer.jobs")
        peer_jobs_file(jobs_file)
        for j in JOBS:
            rows.append(row(run_mxprobe(
                conf, j, log=os.path.join(tmp, "mxprobe-j%d.jsonl" % j))))
        if os.environ.get("BENCH_DEFAULT_CHECKS") == "1":
            dconf = os.path.join(tmp, "many-default.yaml")
            config(dconf, None)
            rows.append(row(run_mxprobe(dconf, max(JOBS), "default")))
        for j in PEER_JOBS:
            rows.append(row(run_peer(jobs_file, j)))
        print_table(rows)
        for r in rows:
            if not r["tool"].startswith("mxprobe"):
                continue
            complete = r["results"] == N and (not r["wrong"] or
                                              "default" in r["tool"])
            if not complete or r["left"] or r["pss"] > 512 * 2**20:
                print("  MISSED: %s -j %d: %d results, %d wrong, %d left, "
                      "%.0f MB" % (r["tool"], r["jobs"], r["results"],
                                   len(r["wrong"]), r["left"],
                                   r["pss"] / 2**20))
                ok = False
        best = [r for r in rows if r["tool"] == "mxprobe"
                and r["jobs"] == max(JOBS)]
        if best and best[0]["rate"] < 200:
            print("  MISSED: %.0f healthy targets/s at -j %d, want >= 200"
                  % (best[0]["rate"], max(JOBS)))
            ok = False
    except Stop as e:
        print("many bench: %s" % e)
        ok = False
    finally:
        stop_all(procs)
        if os.environ.get("MXPROBE_KEEP_TMP") == "1":
            print("many bench: kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("many bench: %s" % ("all targets met" if ok else "targets missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
