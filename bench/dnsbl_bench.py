#!/usr/bin/env python3
"""dnsbl_bench.py - time `mxprobe -C dnsbl` against check_rbl.

Everything runs on loopback and is started here:
  - knotd (authoritative) on 127.0.0.153:5353 serving 40 test DNSBL zones
    z01.bench.test .. z40.bench.test (RFC 5782 self-test entries; the
    target 127.0.0.25 listed on three of them);
  - build/tools/dnsdelay on 127.0.0.160:53, forwarding to knotd and
    answering each query DELAY ms after it arrived (no netem here);
  - a second dnsdelay on 127.0.0.161:53 that also drops every query under
    z40.bench.test (a zone that never answers).
check_rbl (Debian nagios-plugins-contrib) can only talk to port 53, hence
the forwarders listen there; mxprobe is pointed at the same forwarder with
--dns-server, so both resolve through the same path in the same run.

Measured: wall time (median of N runs) of mxprobe and check_rbl over the
40 zones; mxprobe with the dead zone; mxprobe start-up cost (the test-only
noop plugin); peak RSS of the largest mxprobe process (GNU time).  Prints a table and
exits non-zero when a target of issue 2 is missed.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import series, stop_all, timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MXPROBE_BUILD", os.path.join(ROOT, "build"))
MXPROBE = os.path.join(BUILD, "mxprobe")
DNSDELAY = os.path.join(BUILD, "tools", "dnsdelay")
CHECK_RBL = "/usr/lib/nagios/plugins/check_rbl"
KNOT_ADDR, KNOT_PORT = "127.0.0.153", 5353
DELAY_ADDR = "127.0.0.160"
DROP_ADDR = "127.0.0.161"
TARGET = "127.0.0.25"
ZONES = ["z%02d.bench.test" % i for i in range(1, 41)]
LISTED_ON = set(ZONES[:3])
DELAY_MS = int(os.environ.get("BENCH_DELAY_MS", "50"))
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
RBL_RUNS = int(os.environ.get("BENCH_RBL_RUNS", "3"))

procs = []


def zone_text(zone):
    rev = ".".join(reversed(TARGET.split(".")))
    lines = [
        "$ORIGIN %s." % zone,
        "$TTL 300",
        "@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300" % (zone, zone),
        "@ IN NS ns.%s." % zone,
        "ns IN A 127.0.0.153",
        "2.0.0.127 IN A 127.0.0.2",
        '2.0.0.127 IN TXT "RFC 5782 test entry"',
    ]
    if zone in LISTED_ON:
        lines.append("%s IN A 127.0.0.2" % rev)
        lines.append('%s IN TXT "listed for the benchmark"' % rev)
    return "\n".join(lines) + "\n"


def start_knot(tmp):
    procs.append(benchlib.start_knot(os.path.join(tmp, "knot"), KNOT_ADDR,
                                     KNOT_PORT,
                                     {z: zone_text(z) for z in ZONES}))


def start_delay(listen, extra):
    procs.append(subprocess.Popen(
        [DNSDELAY, "--listen", listen + ":53", "--upstream",
         "%s:%d" % (KNOT_ADDR, KNOT_PORT), "--delay-ms", str(DELAY_MS)]
        + extra, stderr=subprocess.DEVNULL))


def wait_dns(addr, port, name):
    for _ in range(100):
        r = subprocess.run(["kdig", "@" + addr, "-p", str(port), "+short",
                            "+time=1", "+retry=0", name, "A"],
                           capture_output=True, text=True)
        if r.stdout.strip():
            return
        time.sleep(0.1)
    sys.exit("bench: no DNS answer from %s:%d" % (addr, port))


def peak_rss(cmd, env=None):
    """Peak resident size in KiB of the largest process of a run, from
    GNU time (a small parent: the figure is mxprobe's, not Python's,
    whose high-water mark a child forked from it would inherit)."""
    with tempfile.NamedTemporaryFile(mode="r") as f:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f.name] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        return int(f.read().split()[-1])


def first_line(out):
    return out.splitlines()[0] if out else "(no output)"


def main():
    for tool in (MXPROBE, DNSDELAY):
        if not os.access(tool, os.X_OK):
            sys.exit("bench: %s missing: run make first" % tool)
    tmp = tempfile.mkdtemp(prefix="mxprobe-bench-")
    ok = True
    try:
        start_knot(tmp)
        wait_dns(KNOT_ADDR, KNOT_PORT, "2.0.0.127." + ZONES[0])
        start_delay(DELAY_ADDR, [])
        start_delay(DROP_ADDR, ["--drop-suffix", ZONES[-1]])
        wait_dns(DELAY_ADDR, 53, "2.0.0.127." + ZONES[0])
        wait_dns(DROP_ADDR, 53, "2.0.0.127." + ZONES[0])

        cfg = os.path.join(tmp, "bench.yaml")
        with open(cfg, "w") as f:
            f.write("probe:\n  dns_timeout: 1\n  dns_tries: 1\n"
                    "checks: [dnsbl]\nplugins:\n  dnsbl:\n    zones:\n")
            for z in ZONES:
                f.write("      - %s\n" % z)
        mx = [MXPROBE, "-f", cfg, "-H", TARGET, "-C", "dnsbl", "-o",
              "nagios", "-t", "20"]

        # Warm caches (page cache, knot) once, untimed.
        timed(mx + ["--dns-server", DELAY_ADDR + ":53"])

        mx_times, (mx_rc, mx_out) = series(
            mx + ["--dns-server", DELAY_ADDR + ":53"], RUNS)
        mx_rss = peak_rss(mx + ["--dns-server", DELAY_ADDR + ":53"])
        rbl = [CHECK_RBL, "-H", TARGET, "-n", DELAY_ADDR, "-t", "60",
               "-w", "1", "-c", "2"]
        for z in ZONES:
            rbl += ["-s", z]
        rbl_times, (rbl_rc, rbl_out) = series(rbl, RBL_RUNS)
        drop_times, (drop_rc, drop_out) = series(
            mx + ["--dns-server", DROP_ADDR + ":53"], 3)
        env = dict(os.environ,
                   MXPROBE_PLUGIN_PATH=os.path.join(BUILD, "test-plugins"))
        noop = [MXPROBE, "-f", cfg, "-H", "127.0.0.1", "-C", "noop", "-o",
                "nagios"]
        noop_times, (noop_rc, _) = series(noop, 50, env)
        noop_rss = peak_rss(noop, env)

        mx_med = statistics.median(mx_times)
        rbl_med = statistics.median(rbl_times)
        drop_med = statistics.median(drop_times)
        bound = 1.3 * DELAY_MS / 1000 + 0.005
        print("dnsbl benchmark: %d zones, %d ms per query, target %s"
              % (len(ZONES), DELAY_MS, TARGET))
        print("  mxprobe -C dnsbl   median %.1f ms (min %.1f, max %.1f, "
              "%d runs)  bound %.1f ms"
              % (mx_med * 1e3, min(mx_times) * 1e3, max(mx_times) * 1e3,
                 RUNS, bound * 1e3))
        print("    " + first_line(mx_out))
        print("  check_rbl          median %.1f ms (%d runs)  exit %d"
              % (rbl_med * 1e3, RBL_RUNS, rbl_rc))
        print("    " + first_line(rbl_out))
        print("  speed-up           %.1fx (target >= 5x)"
              % (rbl_med / mx_med))
        print("  one zone dropped   median %.1f ms (zone timeout 1000 ms, "
              "1 try)" % (drop_med * 1e3))
        print("    " + first_line(drop_out))
        print("  start-up (noop)    median %.2f ms, mean %.2f ms (50 runs)"
              % (statistics.median(noop_times) * 1e3,
                 statistics.mean(noop_times) * 1e3))
        print("  peak RSS           dnsbl run %d KiB, noop run %d KiB"
              % (mx_rss, noop_rss))

        if mx_rc != 2 or "on 3/40 DNSBLs" not in mx_out:
            print("FAIL: mxprobe verdict: expected CRITICAL on 3/40")
            ok = False
        if mx_med > bound:
            print("FAIL: mxprobe %.1f ms over the bound %.1f ms"
                  % (mx_med * 1e3, bound * 1e3))
            ok = False
        if rbl_med < 5 * mx_med:
            print("FAIL: less than 5x faster than check_rbl")
            ok = False
        if "3/40" not in drop_out or drop_med > 1.0 + bound + 0.1:
            print("FAIL: with a dead zone: others not reported or too slow")
            ok = False
        if noop_rc != 0:
            print("FAIL: noop run exited %d" % noop_rc)
            ok = False
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)
    print("bench: %s" % ("all targets met" if ok else "targets missed"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
