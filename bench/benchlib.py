"""benchlib.py - what the benchmarks of bench/ share: the checks before
a run, timing a command, a series of runs, a Knot DNS server for their
zones, and stopping the servers a benchmark started."""
import os
import shutil
import signal
import subprocess
import sys
import time

# Where the benchmarks find what they measure and their forwarders.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MXPROBE_BUILD", os.path.join(ROOT, "build"))
MXPROBE = os.path.join(BUILD, "mxprobe")
# The built-in config, whatever config file this machine has installed.
os.environ["MXPROBE_CONFIG"] = ""
DNSDELAY = os.path.join(BUILD, "tools", "dnsdelay")
TCPDELAY = os.path.join(BUILD, "tools", "tcpdelay")


def preflight(name, built, tools, taken):
    """Exits with one line unless every file of built (our binaries and
    plugins) is there, every command of tools is installed, and taken (the
    addresses in use already) is empty."""
    for path in built:
        if not os.access(path, os.R_OK):
            sys.exit("%s: %s missing: run make first" % (name, path))
    for tool in tools:
        if shutil.which(tool) is None:
            sys.exit("%s: %s not installed: run make deps" % (name, tool))
    if taken:
        sys.exit("%s: in use (leftovers of an earlier run?): %s"
                 % (name, " ".join(taken)))


def timed(cmd, env=None, merge_stderr=False):
    """Runs cmd; returns (seconds, exit code, stdout).  stderr is dropped,
    or with merge_stderr part of stdout."""
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT if merge_stderr
                       else subprocess.DEVNULL, env=env)
    return time.monotonic() - t0, p.returncode, \
        p.stdout.decode(errors="replace")


def series(cmd, n, env=None, merge_stderr=False):
    """n runs of cmd: their times, and (exit code, stdout) of the last."""
    times, last = [], None
    for _ in range(n):
        t, rc, out = timed(cmd, env, merge_stderr)
        times.append(t)
        last = (rc, out)
    return times, last


def stop_all(procs):
    """SIGTERM to every process still running, then wait (kill after 5 s)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def start_knot(d, addr, port, zones, udp_workers=2):
    """Knot DNS on addr@port serving zones ({name: zone file text}) from
    directory d; returns the process.  Each UDP worker has a socket (and a
    receive buffer) of its own: more of them take bigger bursts."""
    for sub in ("run", "db", "zones"):
        os.makedirs(os.path.join(d, sub))
    for z, text in zones.items():
        with open(os.path.join(d, "zones", z + ".zone"), "w") as f:
            f.write(text)
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(
            "server:\n"
            '    rundir: "%s/run"\n'
            "    listen: %s@%d\n"
            "    udp-workers: %d\n"
            "    background-workers: 1\n"
            "log:\n"
            "  - target: stderr\n"
            "    any: warning\n"
            "database:\n"
            '    storage: "%s/db"\n'
            "control:\n"
            '    listen: "%s/run/knot.sock"\n'
            "template:\n"
            "  - id: default\n"
            '    storage: "%s/zones"\n'
            '    file: "%%s.zone"\n'
            "    zonefile-sync: -1\n"
            "    journal-content: none\n"
            "zone:\n" % (d, addr, port, udp_workers, d, d, d)
        )
        for z in zones:
            f.write("  - domain: %s\n" % z)
    log = open(os.path.join(d, "knotd.log"), "w")
    return subprocess.Popen(["knotd", "-c", conf], stdout=log,
                            stderr=subprocess.STDOUT)
