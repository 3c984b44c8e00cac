#!/bin/sh
# run.sh: every benchmark of bench/, against the build in $MXPROBE_BUILD
# (default build/).  Run as root (the DNS forwarders listen on port 53 of
# loopback addresses, as check_rbl cannot use another port).
set -eu
cd "$(dirname "$0")/.."
python3 bench/dnsbl_bench.py
