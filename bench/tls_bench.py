#!/usr/bin/env python3
"""tls_bench.py - the tls check against check_ssl_cert and testssl.sh on the
same servers in the same run (issue 10).

Servers, all on port 25 of loopback, started and stopped here (the test PKI
of tests/integration/tls-setup.sh, the fakes of fakesmtp.py):
  127.0.0.191  Postfix tls.mxprobe.test: STARTTLS, test-CA certificate,
               TLS 1.2+ (the well-run server)
  127.0.0.192  Postfix tlsold.mxprobe.test at OpenSSL security level 0:
               expired self-signed certificate, TLS 1.0+, NULL and aNULL
               suites, a 1024-bit DH group
  127.0.0.193  Postfix notls.mxprobe.test: no STARTTLS
  127.0.0.194  fakesmtp starttls-silent: 220 to STARTTLS, then nothing
  127.0.0.195  fakesmtp starttls-inject: STARTTLS command injection
  127.0.0.196  fakesmtp weak-rc4: RC4 suites accepted (a crafted ServerHello)
  127.0.0.197  build/tools/tcpdelay in front of .191, 25 ms each way
               (BENCH_TCP_DELAY_MS): 50 ms of round trip
  127.0.0.198:5353  Knot DNS: the names and PTRs of these servers

mxprobe runs `-C tls -p 25 -t 30 -o nagios` with the test CA as
plugins.tls.ca_file, median of BENCH_RUNS (5) after one untimed run;
check_ssl_cert `-H ADDR -p 25 -P smtp --rootcert-file CA -m NAME`, median
of BENCH_SSLCERT_RUNS (3); once each on the silent server; testssl.sh `--starttls smtp --add-ca CA
--nodns none`, once (BENCH_TESTSSL=0 leaves it out; it takes minutes a
server).  Each tool's run is cut at BENCH_TOOL_TIMEOUT (150 s).  Its
verdict: mxprobe's and check_ssl_cert's Nagios state; testssl.sh's worst
severity over its JSON findings, and the ids rated HIGH or CRITICAL.
"Round trips used" = wall time / round trip, on the delayed server.

Targets (issue 10): mxprobe gives the expected state everywhere; at least
10x faster than check_ssl_cert on every server but the silent one (where
each tool waits for its own timeout: shown, not a target); the
whole check, protocol matrix included, within 2 handshakes' worth of round
trips of a plain STARTTLS session (greeting, EHLO, STARTTLS, handshake,
EHLO: 6 round trips, the proxy's connect included), i.e. 12 round trips.
"""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import relay_bench as rb  # noqa: E402  (Postfix set-up)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MXPROBE_BUILD", os.path.join(ROOT, "build"))
MXPROBE = os.path.join(BUILD, "mxprobe")
TLS_SO = os.path.join(BUILD, "plugins", "tls.so")
TCPDELAY = os.path.join(BUILD, "tools", "tcpdelay")
TLS_SETUP = os.path.join(ROOT, "tests", "integration", "tls-setup.sh")
CHECK_SSL_CERT = "/usr/lib/nagios/plugins/check_ssl_cert"
TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh") or "testssl"

DNS = "127.0.0.198"
DNS_PORT = 5353
DELAYED = "127.0.0.197"
TCP_DELAY_MS = int(os.environ.get("BENCH_TCP_DELAY_MS", "25"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SSLCERT_RUNS = int(os.environ.get("BENCH_SSLCERT_RUNS", "3"))
USE_TESTSSL = os.environ.get("BENCH_TESTSSL", "1") != "0"
TOOL_TIMEOUT = int(os.environ.get("BENCH_TOOL_TIMEOUT", "150"))

# (address, name, what, the state mxprobe must give)
SERVERS = [
    ("127.0.0.191", "tls.mxprobe.test", "Postfix, good", "OK"),
    ("127.0.0.192", "tlsold.mxprobe.test",
     "Postfix, legacy (expired, TLS 1.0, NULL)", "CRITICAL"),
    ("127.0.0.193", "notls.mxprobe.test", "Postfix, no STARTTLS", "WARNING"),
    ("127.0.0.194", "silence.mxprobe.test", "fake, silent after 220",
     "CRITICAL"),  # bound by each tool's timeout, not by its speed
    ("127.0.0.195", "inject.mxprobe.test", "fake, STARTTLS injection",
     "CRITICAL"),
    ("127.0.0.196", "rc4.mxprobe.test", "fake, RC4 accepted", "WARNING"),
    (DELAYED, "tls.mxprobe.test", "Postfix, good, +50 ms RTT", "OK"),
]
TIMEOUT_BOUND = ("127.0.0.194",)
FAKES = {"127.0.0.194": "starttls-silent", "127.0.0.195": "starttls-inject",
         "127.0.0.196": "weak-rc4"}
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

procs = []


def zones():
    fwd = "".join("%s IN A %s\n" % (name.split(".")[0], addr)
                  for addr, name, _, _ in SERVERS if addr != DELAYED)
    rev = "".join("%s IN PTR %s.\n" % (addr.rsplit(".", 1)[1], name)
                  for addr, name, _, _ in SERVERS)
    soa = "@ IN SOA ns.mxprobe.test. hostmaster.mxprobe.test. 1 3600 600 86400 300\n" \
          "@ IN NS ns.mxprobe.test.\n"
    return {
        "mxprobe.test": "$ORIGIN mxprobe.test.\n$TTL 300\n" + soa +
                        "ns IN A %s\n" % DNS + fwd,
        "0.0.127.in-addr.arpa": "$ORIGIN 0.0.127.in-addr.arpa.\n$TTL 300\n"
                                + soa + rev,
    }


def busy():
    out = subprocess.run(["ss", "-H", "-lntu"], capture_output=True,
                         text=True, check=True).stdout
    mine = {"%s:25" % a for a, _, _, _ in SERVERS}
    mine |= {"%s:%d" % (DNS, DNS_PORT), "0.0.0.0:25", "*:25"}
    return [f.split()[4] for f in out.splitlines()
            if len(f.split()) > 4 and f.split()[4] in mine]


def start_servers(tmp, pki):
    tls = ("smtpd_tls_security_level = may\n"
           "smtpd_tls_chain_files = {pki}/{pem}\n"
           "smtpd_tls_protocols = >=TLSv1.2\n"
           "smtpd_tls_mandatory_protocols = >=TLSv1.2\n")
    dirs = [
        rb.start_postfix(tmp, "good", "127.0.0.191", "tls.mxprobe.test",
                         "127.0.0.191/32",
                         extra=tls.format(pki=pki, pem="tls.pem")),
        rb.start_postfix(
            tmp, "legacy", "127.0.0.192", "tlsold.mxprobe.test",
            "127.0.0.192/32", extra=tls.format(pki=pki, pem="expired.pem") +
            "import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ "
            "LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME "
            "OPENSSL_CONF=%s/openssl-seclevel0.cnf\n"
            "smtpd_tls_protocols = >=TLSv1\n"
            "tls_medium_cipherlist = ALL:eNULL:@SECLEVEL=0\n"
            "smtpd_tls_dh1024_param_file = %s/dh1024.pem\n" % (pki, pki)),
        rb.start_postfix(tmp, "notls", "127.0.0.193", "notls.mxprobe.test",
                         "127.0.0.193/32"),
    ]
    for addr, scenario in FAKES.items():
        name = [n for a, n, _, _ in SERVERS if a == addr][0]
        procs.append(subprocess.Popen(
            [rb.PY, rb.FAKESMTP, "--listen", addr + ":25", "--scenario",
             scenario, "--name", name, "--tls-cert", pki + "/fake.pem"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    procs.append(subprocess.Popen(
        [TCPDELAY, "--listen", DELAYED + ":25", "--upstream",
         "127.0.0.191:25", "--delay-ms", str(TCP_DELAY_MS)],
        stderr=open(os.path.join(tmp, "tcpdelay.log"), "w")))
    for (addr, name, _, _), d in zip(SERVERS[:3], dirs):
        rb.wait_greeting(addr, r"220 %s ESMTP" % re.escape(name),
                         [d + "/start.log", d + "/postfix.log"])
    for addr in FAKES:
        rb.wait_greeting(addr, r"220 ", [])
    rb.wait_greeting(DELAYED, r"220 tls\.mxprobe\.test ESMTP", [])


def run_cut(cmd, env=None):
    """(seconds, exit code, output) of cmd, killed at TOOL_TIMEOUT (exit
    code None then)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=TOOL_TIMEOUT)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        rc = None
    return time.monotonic() - t0, rc, out.decode(errors="replace")


def timed_series(cmd, n):
    times, last = [], None
    for _ in range(n):
        t, rc, out = run_cut(cmd)
        times.append(t)
        last = (rc, out)
        if rc is None:
            break  # cut: once is enough to know
    return statistics.median(times), last


def mx_cmd(addr, ca):
    return [MXPROBE, "-H", addr, "-p", "25", "-C", "tls", "-o", "nagios",
            "-t", "30", "--dns-server", "%s:%d" % (DNS, DNS_PORT),
            "--set", "tls.ca_file=" + ca]


def sslcert_cmd(addr, name, ca):
    return [CHECK_SSL_CERT, "-H", addr, "-p", "25", "-P", "smtp",
            "--rootcert-file", ca, "-m", name]


def testssl_cmd(addr, ca, jsonfile):
    return [TESTSSL, "--starttls", "smtp", "--add-ca", ca, "--nodns",
            "none", "--quiet", "--color", "0", "--warnings", "off",
            "--jsonfile", jsonfile, addr + ":25"]


def nagios_verdict(rc, out):
    if rc is None:
        return "(killed after %d s)" % TOOL_TIMEOUT
    first = out.splitlines()[0] if out.strip() else "(no output)"
    state = STATES[rc] if 0 <= rc <= 3 else "exit %d" % rc
    return "%s: %s" % (state, first[:90])


SEVERITY = ("OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def testssl_verdict(rc, jsonfile):
    if rc is None:
        return "(killed after %d s)" % TOOL_TIMEOUT
    try:
        with open(jsonfile) as f:
            findings = json.load(f)
    except (OSError, ValueError):
        return "exit %d, no JSON" % rc
    worst, bad, problems = "OK", [], []
    for f in findings:
        sev = f.get("severity", "")
        if sev in SEVERITY:
            if SEVERITY.index(sev) > SEVERITY.index(worst):
                worst = sev
            if sev in ("HIGH", "CRITICAL"):
                bad.append(f.get("id", "?"))
        elif sev in ("WARN", "FATAL"):
            problems.append(f.get("id", "?"))
    text = "worst %s" % worst
    if bad:
        text += " (%s%s)" % (", ".join(bad[:4]),
                             ", +%d" % (len(bad) - 4) if len(bad) > 4 else "")
    if problems:
        text += "; scan problems: %s" % ", ".join(problems[:3])
    return text


def main():
    if os.geteuid() != 0:
        sys.exit("tls bench: must run as root (Postfix, port 25)")
    benchlib.preflight("tls bench", (MXPROBE, TLS_SO, TCPDELAY),
                       ("postfix", "knotd", "kdig", "ss", "openssl",
                        CHECK_SSL_CERT) + ((TESTSSL,) if USE_TESTSSL else ()),
                       busy())
    signal.signal(signal.SIGTERM, rb.on_signal)
    signal.signal(signal.SIGINT, rb.on_signal)
    tmp = tempfile.mkdtemp(prefix="mxprobe-tls-bench-")
    os.chmod(tmp, 0o755)
    pki = os.path.join(tmp, "pki")
    os.makedirs(pki)
    ca = os.path.join(pki, "ca.pem")
    ok = True
    try:
        subprocess.run(["sh", TLS_SETUP, pki], check=True)
        procs.append(benchlib.start_knot(os.path.join(tmp, "knot"), DNS,
                                         DNS_PORT, zones()))
        start_servers(tmp, pki)
        rtt, greet = rb.noop_rtt(DELAYED)
        rows = []
        for addr, name, what, want in SERVERS:
            # A server that costs every tool its timeout: once each.
            once = addr in TIMEOUT_BOUND
            if not once:
                benchlib.timed(mx_cmd(addr, ca))  # warm up
            t_mx, (rc, out) = timed_series(mx_cmd(addr, ca),
                                           1 if once else RUNS)
            t_sc, (rc_sc, out_sc) = timed_series(
                sslcert_cmd(addr, name, ca), 1 if once else SSLCERT_RUNS)
            t_ts, v_ts = None, "(not run)"
            if USE_TESTSSL:
                jf = os.path.join(tmp, "testssl-%s.json" % addr)
                t_ts, rc_ts, _ = run_cut(testssl_cmd(addr, ca, jf))
                v_ts = testssl_verdict(rc_ts, jf)
            state = STATES[rc] if rc is not None and 0 <= rc <= 3 else "?"
            rows.append(dict(addr=addr, what=what, want=want, state=state,
                             t_mx=t_mx, v_mx=nagios_verdict(rc, out),
                             t_sc=t_sc, sc_cut=rc_sc is None,
                             v_sc=nagios_verdict(rc_sc, out_sc),
                             t_ts=t_ts, v_ts=v_ts))
            sys.stdout.write("  measured %s\n" % addr)
            sys.stdout.flush()

        print("tls benchmark: mxprobe -C tls (median of %d), check_ssl_cert "
              "(median of %d), testssl.sh (once); delayed server: %d ms "
              "round trip (measured: NOOP %.1f ms, greeting %.1f ms after "
              "connect)" % (RUNS, SSLCERT_RUNS, 2 * TCP_DELAY_MS,
                            rtt * 1e3, greet * 1e3))
        print("| server | want | mxprobe | check_ssl_cert | testssl.sh |")
        print("|---|---|---|---|---|")
        for r in rows:
            ts = "%.1f s, %s" % (r["t_ts"], r["v_ts"]) if r["t_ts"] \
                is not None else r["v_ts"]
            print("| %s %s | %s | %.3f s, %s | %.2f s, %s | %s |" % (
                r["addr"], r["what"], r["want"], r["t_mx"], r["v_mx"],
                r["t_sc"], r["v_sc"], ts))
        delayed = [r for r in rows if r["addr"] == DELAYED][0]
        fast = [r for r in rows if r["addr"] not in TIMEOUT_BOUND]
        slow = [r for r in rows if r["addr"] in TIMEOUT_BOUND]
        rt = 2 * TCP_DELAY_MS / 1000.0
        print("round trips used on the delayed server: mxprobe %.1f, "
              "check_ssl_cert %.1f%s" % (
                  delayed["t_mx"] / rt, delayed["t_sc"] / rt,
                  ", testssl.sh %s%.0f" % (
                      ">" if delayed["v_ts"].startswith("(killed") else "",
                      delayed["t_ts"] / rt)
                  if delayed["t_ts"] is not None else ""))
        targets = [("mxprobe gives the expected state on every server",
                    all(r["state"] == r["want"] for r in rows),
                    ", ".join("%s %s" % (r["addr"], r["state"])
                              for r in rows if r["state"] != r["want"])
                    or "all"),
                   ("at least 10x faster than check_ssl_cert",
                    all(r["t_sc"] >= 10 * r["t_mx"] for r in fast),
                    "worst ratio %.1f; silent server: %.1f s vs %.1f s" % (
                        min(r["t_sc"] / r["t_mx"] for r in fast),
                        slow[0]["t_mx"], slow[0]["t_sc"])),
                   ("whole check within 12 round trips (delayed server)",
                    delayed["t_mx"] <= 12 * rt,
                    "%.1f round trips" % (delayed["t_mx"] / rt))]
        for name, met, text in targets:
            print("  target %-52s %s (%s)" % (name, "met" if met else
                                                "MISSED", text))
            ok = ok and met
    except (rb.Stop, subprocess.CalledProcessError) as e:
        print("tls bench: %s" % e)
        ok = False
    finally:
        for c in rb.postfixes:
            rb.stop_postfix(c)
        benchlib.stop_all(procs + rb.procs)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
