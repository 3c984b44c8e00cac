#!/bin/sh
# tests/integration/run.sh - mxprobe against real servers on loopback.
#
# Starts, in a fresh temp dir, Knot DNS on 127.0.0.53:5353 (zones from
# tests/integration/zones), Postfix on 127.0.0.21:2525 (and .22, the open
# relay .27, .28 accepting unknown users, .71 an open relay that pauses
# 1 s before every MAIL, .72 a closed one that pauses 1 s at every RCPT;
# each offers STARTTLS with a certificate of the test CA that
# tls-setup.sh makes at start), the tls plugin's Postfix instances
# (.101-.108, also on real ports 465 and 587) and TLS fakes (.111-.122,
# see cases-tls.sh), the fake SMTP servers of
# fakesmtp.py and a dropping DNS forwarder, then runs every case in
# cases.sh and cases-*.sh: one line per case ("ok NAME" / "FAIL NAME: why"
# plus the output), a final "integration: N passed, M failed", exit 1 on
# failure.
# Every server started here is stopped on exit.  Needs root (Postfix).
#
#   MXPROBE_BUILD=build/asan sh tests/integration/run.sh [NAME-REGEX]
#   MXPROBE_KEEP_TMP=1 keeps the temp dir (server logs, case outputs);
#   MXPROBE_IT_TIMES=1 adds each case's run time to its "ok" line;
#   MXPROBE_IT_PAUSE=SECONDS keeps the servers up that long before the
#   cases, to look at them by hand.

# The harness uses bash arrays and local variables.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${MXPROBE_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
MXPROBE=$BUILD/mxprobe
FILTER=${1:-}

DNS_ADDR=127.0.0.53
DNS_PORT=5353
DNS=$DNS_ADDR:$DNS_PORT
DROP_DNS=127.0.0.54:$DNS_PORT # forwards to $DNS, drops *.slow.mxprobe.test
HOLE_DNS=127.0.0.55:$DNS_PORT # never answers reverse (in-addr.arpa) lookups
PORT=2525

# The built-in config, whatever config file this machine has (an installed
# mxprobe's /etc/mxprobe/mxprobe.yaml); a case may name its own.
export MXPROBE_CONFIG=

# The system interpreter: a pyenv shim costs half a second a call.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

PASSED=0
FAILED=0
FAILED_NAMES=
PIDS=()      # background servers, killed at exit
MX_PID=      # session of the mxprobe run under way
POSTFIXES=() # config dirs of the Postfix instances we started

say() { printf '%s\n' "$*"; }
die() {
    say "integration: setup failed: $*"
    exit 1
}

# ---------------------------------------------------------------- cleanup

cleanup() {
    local rc=$? dir pid
    trap - EXIT INT TERM
    # An mxprobe run cut short by a signal: its whole session.
    [ -n "$MX_PID" ] && kill -KILL $(pgrep -s "$MX_PID") 2>/dev/null
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        kill -0 "${PIDS[@]}" 2>/dev/null || break
        sleep 0.2
    done
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    wait # also for a "postfix start" still running
    for dir in "${POSTFIXES[@]}"; do
        postfix -c "$dir" stop >/dev/null 2>&1
        pid=$(tr -d ' ' <"$dir/../queue/pid/master.pid" 2>/dev/null)
        [ -n "$pid" ] || continue
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null
    done
    if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
        if [ "${MXPROBE_KEEP_TMP:-0}" = 1 ]; then
            say "integration: kept $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers

now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
    local end=$(($(now_ms) + $1 * 1000))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -ge "$end" ] && return 1
        sleep 0.1
    done
}

# tcp_greets ADDR PORT [REGEX]: the server at ADDR:PORT sends a first line
# matching REGEX (default: anything) within 2 s.
tcp_greets() {
    "$PY" - "$1" "$2" "${3:-}" <<'EOF'
import re, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
line = s.makefile("rb").readline(512).decode("latin-1")
sys.exit(0 if re.search(sys.argv[3], line) else 1)
EOF
}

tcp_listens() {
    "$PY" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()' "$1" "$2"
}

dns_answers() {
    kdig @"$DNS_ADDR" -p "$DNS_PORT" +time=1 +retry=0 +short "$@" |
        grep -q .
}

# ---------------------------------------------------------------- servers

start_knot() {
    local d=$TMP/knot zone list=
    mkdir -p "$d/run" "$d/db" "$d/zones" || return 1
    cp "$HERE"/zones/*.zone "$d/zones/" || return 1
    for zone in "$d"/zones/*.zone; do
        zone=$(basename "$zone" .zone)
        list="$list  - domain: $zone
"
    done
    cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d/run"
    listen: $DNS_ADDR@$DNS_PORT
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$d/db"
control:
    listen: "$d/run/knot.sock"
template:
  - id: default
    storage: "$d/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
$list
EOF
    knotc -c "$d/knot.conf" conf-check >"$d/check.log" 2>&1 ||
        { cat "$d/check.log"; return 1; }
    knotd -c "$d/knot.conf" >"$d/knotd.log" 2>&1 9>&- &
    PIDS+=($!)
    wait_for 10 dns_answers -x 127.0.0.21 ||
        { cat "$d/knotd.log"; return 1; }
}

# start_postfix NAME ADDR MYHOSTNAME [MAIN_CF] [SERVICES]: a private
# Postfix instance with one smtpd on ADDR:$PORT.  Nothing can leave it:
# every transport is discard, no relayhost, no DNS; by default it relays
# for nobody but its own address.  MAIN_CF (main.cf lines) replaces the
# base settings of the same names (an open relay still only ever hands
# mail to discard).  SERVICES (master.cf lines) replaces the one smtpd.
# Every instance offers STARTTLS, TLS 1.2 and up, with a certificate of
# the test CA ($TLS/mail.pem), as a well-run server does.
# $config_directory/header_checks logs every Subject (INFO), for an
# instance whose MAIN_CF turns it on.
start_postfix() {
    local d=$TMP/postfix-$1 addr=$2 host=$3 extra=${4:-} keys
    local services=${5:-"$2:$PORT inet n - n - - smtpd"}
    mkdir -p "$d/conf" "$d/queue" "$d/data" || return 1
    chown postfix "$d/data" || return 1
    printf '%s\n' '/^Subject:/ INFO' >"$d/conf/header_checks"
    cat >"$d/conf/main.cf" <<EOF
# Generated by tests/integration/run.sh
compatibility_level = 3.6
config_directory = $d/conf
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $host
mydomain = ${host#*.}
myorigin = \$myhostname
mydestination = \$myhostname
smtpd_banner = \$myhostname ESMTP
# Only used for services without an explicit address; ours has one.
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = $addr/32
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
local_recipient_maps = inline:{postmaster=ok, root=ok}
maillog_file_prefixes = $TMP
maillog_file = $d/postfix.log
biff = no
smtpd_tls_security_level = may
smtpd_tls_chain_files = $TLS/mail.pem
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
EOF
    if [ -n "$extra" ]; then
        # Postfix would take the last of two settings, with a warning.
        keys=$(printf '%s\n' "$extra" |
            sed -n 's/^ *\([a-z0-9_]*\) *=.*/\1/p' | tr '\n' ' ')
        awk -v keys=" $keys" '
            /^[a-z0-9_]+ *=/ { k = $1; sub(/ *=.*/, "", k)
                               if (index(keys, " " k " ")) next }
            { print }' "$d/conf/main.cf" >"$d/conf/main.cf.new" &&
            mv "$d/conf/main.cf.new" "$d/conf/main.cf" || return 1
        printf '# This instance:\n%s\n' "$extra" >>"$d/conf/main.cf"
    fi
    cat >"$d/conf/master.cf" <<EOF
# Generated by tests/integration/run.sh: smtpd, internal services only.
$services
tlsmgr    unix  - - n 1000? 1 tlsmgr
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
postlog   unix-dgram n - n - 1 postlogd
EOF
    POSTFIXES+=("$d/conf")
    # "postfix start" takes seconds on fresh dirs: both start at once.
    postfix -c "$d/conf" start >"$d/start.log" 2>&1 9>&- &
}

# wait_postfix NAME ADDR MYHOSTNAME: it greets as it should.
wait_postfix() {
    local d=$TMP/postfix-$1
    wait_for 10 tcp_greets "$2" "$PORT" "^220 $3 ESMTP" ||
        { cat "$d/start.log" "$d/postfix.log" 2>/dev/null; return 1; }
}

# start_fake ADDR SCENARIO [NAME [CERT]]; wait_fake ADDR: it listens.
# CERT: a PEM of $TLS (default fake.pem) for the TLS scenarios.
start_fake() {
    "$PY" "$HERE/fakesmtp.py" --listen "$1:$PORT" --scenario "$2" \
        ${3:+--name "$3"} --tls-cert "$TLS/${4:-fake.pem}" \
        >"$TMP/fakesmtp-$1.log" 2>&1 9>&- &
    PIDS+=($!)
}

# pf_service LISTEN HOST [NAME=VALUE...]: a master.cf smtpd on LISTEN
# greeting as HOST, with -o overrides of main.cf.
pf_service() {
    local listen=$1 host=$2 o
    shift 2
    printf '%s inet n - n - - smtpd -o myhostname=%s' "$listen" "$host"
    for o in "$@"; do printf ' -o %s' "$o"; done
    printf '\n'
}

wait_fake() {
    wait_for 10 tcp_listens "$1" "$PORT" ||
        { cat "$TMP/fakesmtp-$1.log"; return 1; }
}

# start_dnsdrop LISTEN SUFFIX: a forwarder to $DNS that drops every query
# for a name under SUFFIX (a zone, or a server, that never answers).
start_dnsdrop() {
    local listen=$1 suffix=$2 tool=$BUILD/tools/dnsdelay
    local log=$TMP/dnsdrop-${1%%:*}.log
    if [ -x "$tool" ] && [ -z "${MXPROBE_NO_DNSDELAY:-}" ]; then
        "$tool" --listen "$listen" --upstream "$DNS" --delay-ms 0 \
            --drop-suffix "$suffix" >"$log" 2>&1 9>&- &
    else
        "$PY" "$HERE/dnsdrop.py" --listen "$listen" --upstream "$DNS" \
            --drop "$suffix" >"$log" 2>&1 9>&- &
    fi
    PIDS+=($!)
    wait_for 10 kdig @"${listen%:*}" -p "${listen#*:}" +time=1 \
        +retry=0 mail.mxprobe.test A || { cat "$log"; return 1; }
}

# ---------------------------------------------------------------- cases

CASE=
REASONS=
OUT=
ERR=
RC=
ELAPSED_MS=
ALLOW_SANITIZER=0
MX_ENV=()

# begin NAME: start a case; false when NAME does not match the filter.
begin() {
    CASE=$1
    REASONS=
    ALLOW_SANITIZER=0
    MX_ENV=()
    [ -z "$FILTER" ] || [[ $CASE =~ $FILTER ]]
}

why() { REASONS="${REASONS:+$REASONS; }$*"; }

# mx TIMEOUT ARGS...: run mxprobe with -t TIMEOUT -o nagios -p 2525 and
# (unless ARGS name one) --dns-server $DNS.  Sets OUT, ERR (files), RC and
# ELAPSED_MS.  A watchdog kills it long after TIMEOUT so a hang fails the
# case instead of the suite.
mx() {
    local t=$1 a start pid left
    local dns=(--dns-server "$DNS") fmt=(-o nagios) port=(-p "$PORT")
    local ca=()
    shift
    # The test CA for the tls check, first so that a case's own --set
    # wins (--set on a plugin not built is an error: none without it).
    [ -f "$BUILD/plugins/tls.so" ] && ca=(--set "tls.ca_file=$TLS/ca.pem")
    for a in "$@"; do
        case $a in
        --dns-server) dns=() ;;
        -o | --format) fmt=() ;;
        -p | --port) port=() ;;
        esac
    done
    local argv=("$MXPROBE" -t "$t" "${fmt[@]}" "${port[@]}" "${dns[@]}"
        "${ca[@]}" "$@")
    OUT=$TMP/cases/$CASE.out
    ERR=$TMP/cases/$CASE.err
    printf '%q ' "${MX_ENV[@]}" "${argv[@]}" >"$TMP/cases/$CASE.cmd"
    start=$(now_ms)
    # setsid starts a new session whose id is $! (a background job of a
    # shell without job control is no group leader, so setsid does not
    # fork).  mxprobe puts its plugin children into process groups of
    # their own, but they stay in the session: leftovers can be found.
    env "${MX_ENV[@]}" setsid timeout -k 2 $((t + 15)) "${argv[@]}" \
        >"$OUT" 2>"$ERR" </dev/null 9>&- &
    pid=$!
    MX_PID=$pid
    wait "$pid"
    RC=$?
    MX_PID=
    ELAPSED_MS=$(($(now_ms) - start))
    if pgrep -s "$pid" >/dev/null; then
        sleep 0.5
        left=$(pgrep -s "$pid" | tr '\n' ' ')
        if [ -n "$left" ]; then
            why "processes left behind: $left"
            # shellcheck disable=SC2086 # a list of pids
            kill -KILL $left 2>/dev/null
        fi
    fi
}

want_exit() {
    [ "$RC" = "$1" ] || why "exit $RC, want $1"
}

# want_out REGEX: extended regex somewhere in stdout+stderr.
want_out() {
    cat "$OUT" "$ERR" | grep -Eq -- "$1" || why "no match for /$1/"
}

want_no_out() {
    ! cat "$OUT" "$ERR" | grep -Eq -- "$1" || why "unexpected /$1/"
}

# want_status REGEX: the first stdout line (the Nagios status line).
want_status() {
    head -n 1 "$OUT" | grep -Eq -- "$1" || why "status line lacks /$1/"
}

# want_time SECONDS: finished within SECONDS + 1.
want_time() {
    [ "$ELAPSED_MS" -le $((($1 + 1) * 1000)) ] ||
        why "took ${ELAPSED_MS} ms, limit $1 s + 1 s"
}

finish() {
    if [ "$ALLOW_SANITIZER" = 0 ] &&
        grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$ERR"; then
        why "sanitizer report"
    fi
    if [ -z "$REASONS" ]; then
        PASSED=$((PASSED + 1))
        say "ok $CASE${MXPROBE_IT_TIMES:+ ($ELAPSED_MS ms)}"
    else
        FAILED=$((FAILED + 1))
        FAILED_NAMES="$FAILED_NAMES $CASE"
        say "FAIL $CASE: $REASONS"
        say "  \$ $(cat "$TMP/cases/$CASE.cmd")"
        say "  exit $RC after $ELAPSED_MS ms; stdout:"
        sed -e 's/^/  | /' "$OUT" | head -n 60 | cat -v
        if [ -s "$ERR" ]; then
            say "  stderr:"
            sed -e 's/^/  ! /' "$ERR" | head -n 60 | cat -v
        fi
    fi
}

# expect_run NAME EXIT REGEX TIMEOUT -- ARGS...: the common case: run with
# -t TIMEOUT, want exit EXIT, REGEX in the output, done within TIMEOUT+1 s.
expect_run() {
    local name=$1 want=$2 re=$3 t=$4
    shift 4
    [ "${1:-}" = -- ] && shift
    begin "$name" || return 0
    mx "$t" "$@"
    want_exit "$want"
    want_out "$re"
    want_time "$t"
    finish
}

# ---------------------------------------------------------------- main

[ "$(id -u)" = 0 ] || die "must run as root (Postfix)"
[ -x "$MXPROBE" ] || die "$MXPROBE not built (make asan?)"
for tool in knotd knotc kdig postfix python3 timeout flock ss pgrep setsid; do
    command -v "$tool" >/dev/null || die "$tool not installed"
done
[ -f "$HERE/fakesmtp.py" ] || die "$HERE/fakesmtp.py missing"

# The servers use fixed addresses: a second run at the same time (another
# make check) waits for this one instead of colliding with it.
exec 9>/tmp/mxprobe-integration.lock || die "lock file"
flock -w 600 9 || die "another integration run holds the lock"

# Servers left behind by a run that was killed would answer in place of
# ours (a second Postfix cannot bind, the old one still greets).
busy=$(ss -H -lntu | awk '{print $5}' |
    grep -E '^(127\.0\.0\.(2[1-8]|4[1-9]|50|6[1-9]|7[12]|10[1-8]|11[1-9]|12[0-2])|0\.0\.0\.0|\*):2525$|^(127\.0\.0\.5[34]|0\.0\.0\.0|\*):5353$|^(127\.0\.0\.10[2-7]|0\.0\.0\.0|\*):(465|587)$')
[ -z "$busy" ] || die "in use, by an earlier run's leftovers? ${busy//$'\n'/ }"

TMP=$(mktemp -d /tmp/mxprobe-it.XXXXXX) || die "mktemp"
chmod 755 "$TMP" # Postfix daemons drop to the postfix user
mkdir -p "$TMP/cases"
# The test PKI takes seconds: made while the other servers start.
TLS=$TMP/tls
mkdir -p "$TLS"
sh "$HERE/tls-setup.sh" "$TLS" >"$TMP/tls-setup.log" 2>&1 9>&- &
TLS_SETUP=$!

# Everything starts at once, then each is waited for.
FAKES=(
    "127.0.0.23 normal dsl-127-0-0-23.pool.isp.test"
    "127.0.0.24 normal noptr.mxprobe.test"
    "127.0.0.25 normal listed.mxprobe.test"
    "127.0.0.26 normal nofcrdns.mxprobe.test"
    "127.0.0.41 silent"
    "127.0.0.42 slow-greeting"
    "127.0.0.43 endless-ehlo"
    "127.0.0.44 huge-line"
    "127.0.0.45 garbage"
    "127.0.0.46 nul-greeting"
    "127.0.0.47 helo-only"
    "127.0.0.48 refuse-554"
    "127.0.0.50 close-after-greeting"
    # The relay and backscatter scenarios (cases-relay.sh).
    "127.0.0.61 relay-percent percent.mxprobe.test"
    "127.0.0.62 data-554 data554.mxprobe.test"
    "127.0.0.63 auth-530 auth530.mxprobe.test"
    "127.0.0.64 greylist-450 greylist.mxprobe.test"
    "127.0.0.65 drop-after-5 drop.mxprobe.test"
    "127.0.0.66 relay-percent-nopipe nopipe.mxprobe.test"
    "127.0.0.67 normal localhost"
) # 127.0.0.49: nothing listens there (connection refused).
for f in "${FAKES[@]}"; do
    read -r -a fake <<<"$f"
    start_fake "${fake[@]}"
done
# The IPv6 test server, on the loopback address ::1.
"$PY" "$HERE/fakesmtp.py" --listen "[::1]:$PORT" --scenario normal \
    --name mail6.mxprobe.test >"$TMP/fakesmtp-ipv6.log" 2>&1 9>&- &
PIDS+=($!)
start_knot || die "knotd did not start"
wait "$TLS_SETUP" || { cat "$TMP/tls-setup.log"; die "test PKI (tls-setup.sh)"; }
# The TLS scenarios of fakesmtp.py (cases-tls.sh).
TLS_FAKES=(
    "127.0.0.111 starttls-junk junk.mxprobe.test"
    "127.0.0.112 starttls-silent silence.mxprobe.test"
    "127.0.0.113 starttls-454 refuse454.mxprobe.test"
    "127.0.0.114 tls-stall stall.mxprobe.test"
    "127.0.0.115 starttls-inject inject.mxprobe.test"
    "127.0.0.116 starttls chain50.mxprobe.test chain50.pem"
    "127.0.0.117 starttls chainlong.mxprobe.test chainlong.pem"
    "127.0.0.118 weak-sslv3 sslv3.mxprobe.test"
    "127.0.0.119 weak-rc4 rc4.mxprobe.test"
    "127.0.0.120 weak-3des des3.mxprobe.test"
    "127.0.0.121 weak-export export.mxprobe.test"
    "127.0.0.122 starttls fakeok.mxprobe.test"
)
for f in "${TLS_FAKES[@]}"; do
    read -r -a fake <<<"$f"
    start_fake "${fake[@]}"
done
# Correctly closed: relaying denied (5xx: the default of Postfix 3.x,
# defer_unauth_destination, would tempfail), unknown users rejected.
# shellcheck disable=SC2016 # $names are Postfix's, expanded by Postfix
CLOSED_CF='smtpd_relay_restrictions =
    permit_mynetworks, reject_unauth_destination
mydestination = $myhostname, $mydomain'
# shellcheck disable=SC2016
SUBJECTS_CF='header_checks = regexp:$config_directory/header_checks'
start_postfix clean 127.0.0.21 mail.mxprobe.test "$CLOSED_CF"
start_postfix mismatch 127.0.0.22 mail.elsewhere.test
# An open relay (to discard: it trusts every loopback client, Postfix
# refuses a plain "permit") and one that accepts any local part.
start_postfix open 127.0.0.27 open.mxprobe.test "mynetworks = 127.0.0.0/8
$CLOSED_CF
$SUBJECTS_CF"
start_postfix lax 127.0.0.28 lax.mxprobe.test "$CLOSED_CF
local_recipient_maps =
$SUBJECTS_CF"
# Flow control made repeatable: Postfix's in_flow_delay pauses before
# MAIL when no mail reached the queue lately; this one pauses 1 s before
# every MAIL (the sender restrictions run at MAIL with delay_reject off).
start_postfix slowmail 127.0.0.71 slowmail.mxprobe.test "mynetworks = 127.0.0.0/8
$CLOSED_CF
smtpd_delay_reject = no
smtpd_sender_restrictions = sleep 1, permit"
# A closed tarpit: 1 s at every RCPT before relaying is refused.
# shellcheck disable=SC2016
start_postfix tarpit 127.0.0.72 tarpit.mxprobe.test 'smtpd_relay_restrictions =
smtpd_recipient_restrictions = sleep 1, permit_mynetworks,
    reject_unauth_destination
mydestination = $myhostname, $mydomain'
# The tls plugin's Postfix servers (see zones/mxprobe.test.zone): one
# instance at OpenSSL's default security level...
mkdir -p "$TMP/sasl"
# AUTH PLAIN LOGIN offered (before TLS too): Cyrus SASL lists the
# mechanisms without a daemon; no login can succeed (no sasldb).  Debian's
# Cyrus offers every mechanism it has whatever mech_list says: Postfix's
# own filter keeps PLAIN and LOGIN.
printf '%s\n' 'pwcheck_method: auxprop' 'auxprop_plugin: sasldb' \
    "sasldb_path: $TMP/sasl/sasldb2" 'mech_list: PLAIN LOGIN' \
    >"$TMP/sasl/smtpd.conf"
start_postfix tls 127.0.0.101 tls.mxprobe.test "$CLOSED_CF" "$(
    T="smtpd_tls_chain_files=$TLS/tls.pem"
    pf_service 127.0.0.101:$PORT tls.mxprobe.test "$T"
    pf_service 127.0.0.102:$PORT notls.mxprobe.test smtpd_tls_security_level=none
    pf_service 127.0.0.102:587 notls.mxprobe.test smtpd_tls_security_level=none
    # Implicit TLS is mandatory TLS: a well-run one offers no aNULL.
    W="smtpd_tls_wrappermode=yes smtpd_tls_mandatory_exclude_ciphers=aNULL"
    # shellcheck disable=SC2086 # $W: two settings
    pf_service 127.0.0.103:465 smtps.mxprobe.test "$T" $W
    # shellcheck disable=SC2086
    pf_service 127.0.0.103:$PORT smtps.mxprobe.test "$T" $W
    pf_service 127.0.0.104:587 submit.mxprobe.test "$T" \
        smtpd_sasl_auth_enable=yes smtpd_tls_auth_only=no \
        smtpd_sasl_type=cyrus smtpd_sasl_path=smtpd \
        "cyrus_sasl_config_path=$TMP/sasl" \
        smtpd_sasl_mechanism_filter=plain,login
    pf_service 127.0.0.105:$PORT wrong.mxprobe.test "smtpd_tls_chain_files=$TLS/wrong.pem"
    pf_service 127.0.0.105:587 wrong.mxprobe.test "smtpd_tls_chain_files=$TLS/wrong.pem"
    pf_service 127.0.0.106:$PORT future.mxprobe.test "smtpd_tls_chain_files=$TLS/future.pem"
)"
# ...and a legacy one at security level 0 (its OpenSSL config comes
# through the environment: TLS 1.0, RSA 1024 and SHA-1 certificates,
# DH 1024 and NULL/aNULL suites are refused at the default level).
start_postfix tlsold 127.0.0.107 tlsold.mxprobe.test "$CLOSED_CF
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
    POSTLOG_SERVICE POSTLOG_HOSTNAME OPENSSL_CONF=$TLS/openssl-seclevel0.cnf
smtpd_tls_chain_files = $TLS/expired.pem
smtpd_tls_protocols = >=TLSv1
smtpd_tls_mandatory_protocols = >=TLSv1
tls_medium_cipherlist = ALL:eNULL:@SECLEVEL=0
smtpd_tls_dh1024_param_file = $TLS/dh1024.pem" "$(
    pf_service 127.0.0.107:$PORT tlsold.mxprobe.test
    pf_service 127.0.0.107:465 tlsold.mxprobe.test smtpd_tls_wrappermode=yes
    # Only its certificate is weak: Postfix's own ciphers and DH group.
    pf_service 127.0.0.108:$PORT weak.mxprobe.test \
        "smtpd_tls_chain_files=$TLS/weak.pem" "smtpd_tls_protocols=>=TLSv1.2" \
        "tls_medium_cipherlist=aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH" \
        smtpd_tls_dh1024_param_file=
)"
start_dnsdrop "$DROP_DNS" slow.mxprobe.test || die "DNS forwarder did not start"
start_dnsdrop "$HOLE_DNS" in-addr.arpa || die "DNS forwarder did not start"
for f in "${FAKES[@]}"; do
    wait_fake "${f%% *}" || die "fakesmtp ${f#* } did not start"
done
for f in "${TLS_FAKES[@]}"; do
    wait_fake "${f%% *}" || die "fakesmtp ${f#* } did not start"
done
wait_for 10 tcp_listens ::1 "$PORT" || die "fakesmtp on [::1] did not start"
wait_postfix clean 127.0.0.21 mail.mxprobe.test || die "postfix (.21)"
wait_postfix open 127.0.0.27 open.mxprobe.test || die "postfix (.27)"
wait_postfix lax 127.0.0.28 lax.mxprobe.test || die "postfix (.28)"
wait_postfix slowmail 127.0.0.71 slowmail.mxprobe.test || die "postfix (.71)"
wait_postfix tarpit 127.0.0.72 tarpit.mxprobe.test || die "postfix (.72)"
wait_postfix tls 127.0.0.101 tls.mxprobe.test || die "postfix tls (.101)"
wait_postfix tlsold 127.0.0.107 tlsold.mxprobe.test || die "postfix tlsold (.107)"
if ! wait_postfix mismatch 127.0.0.22 mail.elsewhere.test; then
    say "integration: note: second Postfix failed, fakesmtp on 127.0.0.22"
    start_fake 127.0.0.22 normal mail.elsewhere.test
    wait_fake 127.0.0.22 || die "fakesmtp 127.0.0.22"
fi

# MXPROBE_IT_PAUSE=SECONDS: the servers stay up that long before the
# cases, to be looked at by hand (openssl s_client -starttls smtp ...).
if [ -n "${MXPROBE_IT_PAUSE:-}" ]; then
    say "integration: servers up, test CA $TLS/ca.pem; pausing ${MXPROBE_IT_PAUSE} s"
    sleep "$MXPROBE_IT_PAUSE"
fi

. "$HERE/cases.sh"
# Each plugin's cases may live in a file of their own.
for f in "$HERE"/cases-*.sh; do
    [ -f "$f" ] && . "$f"
done

[ -z "$FAILED_NAMES" ] || say "integration: failed:$FAILED_NAMES"
say "integration: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
