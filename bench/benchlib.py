"""benchlib.py - what the benchmarks of bench/ share: timing a command,
a series of runs, and stopping the servers a benchmark started."""
import signal
import subprocess
import time


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
