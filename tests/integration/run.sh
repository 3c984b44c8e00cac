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
# fakesmtp.py, a dropping DNS forwarder and unbound on 127.0.0.56:5353
# validating the zone Knot signs (dnssec.test, cases-dnssec.sh)
# (cases-https.sh starts nginx on 127.0.0.57:443 itself), then runs
# every case in
# cases.sh and cases-*.sh: one line per case ("ok NAME" / "FAIL NAME: why"
# plus the output), a final "integration: N passed, M failed", exit 1 on
# failure.
# Every server started here is stopped on exit.  Needs root (Postfix).
# The servers' start-up functions are in servers.sh (make demo uses them
# too).
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
# unbound validating Knot's signed zone dnssec.test (start_unbound): the
# resolver whose AD bit mxprobe trusts (cases-dnssec.sh, DANE cases).
VALIDATING_DNS=127.0.0.56:$DNS_PORT
export VALIDATING_DNS
# The same with a wrong trust anchor: dnssec.test is bogus, SERVFAIL
# (cases-dane-review.sh).
BOGUS_DNS=127.0.0.60:$DNS_PORT
export BOGUS_DNS
PORT=2525

# The built-in config, whatever config file this machine has (an installed
# mxprobe's /etc/mxprobe/mxprobe.yaml); a case may name its own.
export MXPROBE_CONFIG=

PASSED=0
FAILED=0
FAILED_NAMES=
PIDS=()      # background servers, killed at exit
MX_PID=      # session of the mxprobe run under way
POSTFIXES=() # config dirs of the Postfix instances we started

# The servers' start and stop functions (start_knot, start_postfix,
# start_fake, stop_servers...; also PY, the Python interpreter).
# shellcheck source=servers.sh source-path=SCRIPTDIR
. "$HERE/servers.sh"

say() { printf '%s\n' "$*"; }
die() {
    say "integration: setup failed: $*"
    exit 1
}

# ---------------------------------------------------------------- cleanup

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # An mxprobe run cut short by a signal: its whole session.
    [ -n "$MX_PID" ] && kill -KILL $(pgrep -s "$MX_PID") 2>/dev/null
    stop_servers
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

# no_mx: this case has no mxprobe run of its own (yet; a monitoring
# core runs it): finish shows its own empty files, not the last case's.
no_mx() {
    OUT=$TMP/cases/$CASE.out
    ERR=$TMP/cases/$CASE.err
    : >"$OUT"
    : >"$ERR"
    : >"$TMP/cases/$CASE.cmd"
    RC=
    ELAPSED_MS=0
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
for tool in knotd knotc kdig unbound unbound-checkconf openssl postfix python3 timeout flock ss pgrep setsid; do
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
    grep -E '^(127\.0\.0\.(2[1-8]|4[1-9]|50|6[1-9]|7[12]|10[1-8]|11[1-9]|12[0-2])|0\.0\.0\.0|\*):2525$|^(127\.0\.0\.(5[3-6]|59|60)|0\.0\.0\.0|\*):5353$|^(127\.0\.0\.10[2-7]|0\.0\.0\.0|\*):(465|587)$|^(127\.0\.0\.5[78]|0\.0\.0\.0|\*):443$')
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
start_unbound "${VALIDATING_DNS%:*}@${VALIDATING_DNS#*:}" ||
    die "unbound (validating, $VALIDATING_DNS) did not start"
start_unbound "${BOGUS_DNS%:*}@${BOGUS_DNS#*:}" bogus ||
    die "unbound (wrong trust anchor, $BOGUS_DNS) did not start"
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
