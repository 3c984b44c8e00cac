#!/bin/sh
# run.sh: every benchmark of bench/, against the build in $MXPROBE_BUILD
# (default build/).  Run as root (the DNS forwarders listen on port 53 of
# loopback addresses, as check_rbl cannot use another port; the relay
# benchmark's servers on port 25, where nmap's script runs, and Postfix;
# the round-trip and tls benchmarks' Postfix and proxy on port 25 too;
# the many-target one's 1000 proxies on port 25 of 127.1.0.0/22).
# Every benchmark runs even when one misses a target; the exit status is
# non-zero when any did.
set -u
cd "$(dirname "$0")/.."
rc=0
python3 bench/dnsbl_bench.py || rc=1
python3 bench/relay_bench.py || rc=1
python3 bench/rtt_bench.py || rc=1
python3 bench/tls_bench.py || rc=1
python3 bench/many_bench.py || rc=1
exit $rc
