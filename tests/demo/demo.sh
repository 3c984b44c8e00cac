#!/usr/bin/env bash
# tests/demo/demo.sh - make demo and make demo-stop.
#
#   bash tests/demo/demo.sh start   (make demo)
#   bash tests/demo/demo.sh stop    (make demo-stop)
#
# start: starts, on loopback addresses of its own (127.0.3.x, so that the
# integration suite on 127.0.0.x can run meanwhile), the test servers of
# the integration suite (tests/integration/servers.sh): Knot DNS with a
# small demo zone (forward, reverse and a DNS blocklist), three private
# Postfix instances (closed, accepting unknown users, open relay: every
# transport is discard, no mail leaves) and two fake SMTP servers
# (tests/integration/fakesmtp.py: one that greylists, one that never
# says a word); then runs mxprobe against all of them (-o text --all) and
# prints the report.  The servers stay up, their state (logs, config,
# the PIDs started) in MXPROBE_DEMO_DIR, default /tmp/mxprobe-demo.  A
# second start finds them up and runs the report again.
# stop: stops exactly what start started: the recorded PIDs (each only
# while it is still the process that was started: same start time) and
# the Postfix instances (postfix -c DIR stop), then removes the state.
# A state dir or lock that is a link, another user's or writable by
# others is refused, never trusted.
#
# Needs root (Postfix).  MXPROBE_BUILD (default build) is the build
# folder; MXPROBE_DEMO_NET (default 127.0.3) the first three bytes of the
# addresses, for a second demo beside the first (the test, check.sh).

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
IT=$(cd "$HERE/../integration" && pwd)
BUILD=${MXPROBE_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
MXPROBE=$BUILD/mxprobe
SHOWN=${MXPROBE#"$PWD"/} # as the user would type it, from here
DIR=${MXPROBE_DEMO_DIR:-/tmp/mxprobe-demo}
NET=${MXPROBE_DEMO_NET:-127.0.3}

DNS_ADDR=$NET.53
DNS_PORT=5353
DNS=$DNS_ADDR:$DNS_PORT
PORT=2525
DOMAIN=demo.test
DEADLINE=10 # mxprobe -t: each target's deadline

# mxprobe reads only the demo's config (-f), whatever this machine has.
export MXPROBE_CONFIG=

# The servers: ADDRESS NAME KIND, in the report's order.
SERVERS=(
    "$NET.21 mail.$DOMAIN closed Postfix: relays for nobody, rejects unknown users"
    "$NET.22 lax.$DOMAIN Postfix that accepts mail for any user (bounces later: backscatter)"
    "$NET.27 open.$DOMAIN Postfix open relay (to discard only), listed on the demo blocklist"
    "$NET.64 greylist.$DOMAIN fake server that greylists every recipient (450)"
    "$NET.41 silent.$DOMAIN fake hostile server: accepts the connection, never says a word"
)

say() { printf '%s\n' "$*"; }
die() {
    say "demo: $*" >&2
    exit 1
}

PIDS=()
POSTFIXES=()
# shellcheck source=../integration/servers.sh source-path=SCRIPTDIR
. "$IT/servers.sh"
# shellcheck disable=SC2034 # read by servers.sh
SPAWN=setsid # the servers outlive this script and the terminal's signals

case $DIR in
/?*) ;;
*) die "MXPROBE_DEMO_DIR=$DIR: want an absolute path" ;;
esac
case $NET in
127.[0-9]*.[0-9]*)
    IFS=. read -r _ n2 n3 extra <<<"$NET"
    { [ -z "$extra" ] && [ "$n2" -le 255 ] && [ "$n3" -le 255 ]; } 2>/dev/null ||
        die "MXPROBE_DEMO_NET=$NET: want 127.X.Y"
    ;;
*) die "MXPROBE_DEMO_NET=$NET: want 127.X.Y (loopback)" ;;
esac
REV=$n3.$n2.127.in-addr.arpa

# ---------------------------------------------------------------- state

# The state dir holds pids ("PID STARTTIME NAME" per process started)
# and postfixes (the config dir of each Postfix instance); MARK says it
# is one, so that no other folder is ever taken for it (and removed).
MARK=.mxprobe-demo

# start_time PID: the process's start time in clock ticks since boot
# (field 22 of /proc/PID/stat, after the parenthesised name).
start_time() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086 # the fields, split
    set -- $stat
    printf '%s\n' "${20}"
}

# ours PID STARTTIME: PID is still the process the demo started.
ours() {
    [ -n "$1" ] && [ "$(start_time "$1")" = "$2" ]
}

# demo_whole: every recorded process and Postfix instance is running.
demo_whole() {
    local pid st name dir
    [ -s "$DIR/pids" ] && [ -s "$DIR/postfixes" ] || return 1
    while read -r pid st name; do
        ours "$pid" "$st" || return 1
    done <"$DIR/pids"
    while read -r dir; do
        postfix -c "$dir" status >/dev/null 2>&1 || return 1
    done <"$DIR/postfixes"
}

# stop_demo: stop what the state dir records, say what, remove it.
stop_demo() {
    local pid st name dir mpid left
    local -a names=()
    PIDS=()
    POSTFIXES=()
    if [ -f "$DIR/pids" ]; then
        while read -r pid st name; do
            if ours "$pid" "$st"; then
                PIDS+=("$pid")
                names+=("$name (PID $pid)")
            fi
        done <"$DIR/pids"
    fi
    if [ -f "$DIR/postfixes" ]; then
        while read -r dir; do
            [ -f "$dir/main.cf" ] || continue
            POSTFIXES+=("$dir")
            if postfix -c "$dir" status >/dev/null 2>&1; then
                mpid=$(tr -d ' ' <"$dir/../queue/pid/master.pid" 2>/dev/null)
                names+=("Postfix $(postconf -c "$dir" -h myhostname 2>/dev/null) (master PID ${mpid:-?}, postfix -c $dir stop)")
            fi
        done <"$DIR/postfixes"
    fi
    stop_servers
    left=
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && left="$left $pid"
    done
    for dir in "${POSTFIXES[@]}"; do
        postfix -c "$dir" status >/dev/null 2>&1 && left="$left postfix:$dir"
    done
    [ -z "$left" ] || die "still running:$left (state kept in $DIR)"
    for name in "${names[@]}"; do
        say "demo: stopped $name"
    done
    [ ${#names[@]} -gt 0 ] || say "demo: nothing of it was still running"
    rm -rf "$DIR"
    say "demo: removed $DIR"
}

# ---------------------------------------------------------------- setup

# The demo's certificates: a CA of its own and one certificate for the
# Postfix instances (their names as SANs), key first (smtpd_tls_chain_files).
make_pki() {
    local t=$TLS
    mkdir -p "$t" || return 1
    (
        cd "$t" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
            -nodes -keyout ca.key -out ca.pem -days 3650 \
            -subj "/CN=mxprobe demo CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout mail.key -out mail.csr -subj "/CN=mail.$DOMAIN" &&
            printf '%s\n' \
                "subjectAltName=DNS:mail.$DOMAIN,DNS:lax.$DOMAIN,DNS:open.$DOMAIN" \
                "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature" \
                "extendedKeyUsage=serverAuth" >leaf.ext &&
            openssl x509 -req -in mail.csr -CA ca.pem -CAkey ca.key \
                -CAcreateserial -days 365 -extfile leaf.ext -out mail.crt &&
            cat mail.key mail.crt >mail.pem
    ) >"$TMP/pki.log" 2>&1 || { cat "$TMP/pki.log"; return 1; }
    chmod 644 "$t/mail.pem" # read by Postfix's smtpd (as root, then dropped)
}

make_zones() {
    local z=$TMP/zones
    mkdir -p "$z" || return 1
    cat >"$z/$DOMAIN.zone" <<EOF
; make demo: the demo servers' names (tests/demo/demo.sh)
\$ORIGIN $DOMAIN.
\$TTL 300
@         IN SOA ns.$DOMAIN. hostmaster.$DOMAIN. ( 1 3600 600 86400 300 )
@         IN NS  ns.$DOMAIN.
ns        IN A   $DNS_ADDR
@         IN MX  10 mail.$DOMAIN.
@         IN MX  20 lax.$DOMAIN.
@         IN MX  30 open.$DOMAIN.
@         IN MX  40 greylist.$DOMAIN.
@         IN MX  50 silent.$DOMAIN.
@         IN TXT "v=spf1 ip4:$NET.21 ip4:$NET.22 ip4:$NET.27 ip4:$NET.64 ip4:$NET.41 -all"
_dmarc    IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@$DOMAIN"
mail      IN A   $NET.21
lax       IN A   $NET.22
open      IN A   $NET.27
greylist  IN A   $NET.64
silent    IN A   $NET.41
EOF
    cat >"$z/$REV.zone" <<EOF
; make demo: PTR records of the demo servers, each forward-confirmed
\$ORIGIN $REV.
\$TTL 300
@         IN SOA ns.$DOMAIN. hostmaster.$DOMAIN. ( 1 3600 600 86400 300 )
@         IN NS  ns.$DOMAIN.
21        IN PTR mail.$DOMAIN.
22        IN PTR lax.$DOMAIN.
27        IN PTR open.$DOMAIN.
41        IN PTR silent.$DOMAIN.
53        IN PTR ns.$DOMAIN.
64        IN PTR greylist.$DOMAIN.
EOF
    cat >"$z/bl.$DOMAIN.zone" <<EOF
; make demo: a DNS blocklist (RFC 5782) that lists the open relay
\$ORIGIN bl.$DOMAIN.
\$TTL 300
@         IN SOA ns.$DOMAIN. hostmaster.$DOMAIN. ( 1 3600 600 86400 300 )
@         IN NS  ns.$DOMAIN.
; the RFC 5782 test entry: 127.0.0.2 listed, 127.0.0.1 not
2.0.0.127 IN A   127.0.0.2
2.0.0.127 IN TXT "RFC 5782 test entry"
27.$n3.$n2.127 IN A   127.0.0.2
27.$n3.$n2.127 IN TXT "$NET.27 is an open relay, see https://bl.$DOMAIN/"
EOF
}

make_config() {
    cat >"$CONF" <<EOF
# mxprobe config of make demo (tests/demo/demo.sh): the demo servers.
# The demo DNS server and SMTP port are given on the command line:
#   $MXPROBE -f $CONF --dns-server $DNS -p $PORT --all
probe:
  helo_name: probe.$DOMAIN
  connect_timeout: 2
  command_timeout: 4    # the silent server is given up on after 4 s
checks: [banner, relay, backscatter, dnsbl, zone, tls]
plugins:
  dnsbl:
    zones: [bl.$DOMAIN]   # the demo's own blocklist
  tls:
    ca_file: $TLS/ca.pem  # the demo's own CA
targets:
  - host: mail.$DOMAIN
  - host: lax.$DOMAIN
  - host: open.$DOMAIN
  - host: greylist.$DOMAIN
    checks: [banner, relay, backscatter, dnsbl, zone]  # no STARTTLS
  - host: silent.$DOMAIN
EOF
}

# busy: the demo's addresses that something listens on already.
busy() {
    local re=${NET//./\\.}
    ss -H -lntu | awk '{print $5}' |
        grep -E "^($re\\.(21|22|27|41|64)|0\\.0\\.0\\.0|\\*):$PORT\$|^($re\\.53):$DNS_PORT\$" |
        tr '\n' ' '
}

start_demo() {
    local pid st name inuse
    inuse=$(busy)
    [ -z "$inuse" ] || die "in use already: $inuse"
    mkdir -p "$(dirname "$DIR")" || die "cannot make $(dirname "$DIR")"
    mkdir "$DIR" || die "cannot make $DIR"
    : >"$DIR/$MARK"
    chmod 755 "$DIR" # the Postfix daemons drop to the postfix user
    TMP=$DIR
    TLS=$DIR/tls
    CONF=$DIR/demo.yaml
    # Whatever fails from here on: stop what was started, remove the state.
    trap 'say "demo: failed, stopping what it started" >&2
          stop_servers; rm -rf "$DIR"' EXIT
    make_pki || die "certificates (openssl) failed"
    make_zones || die "zone files"
    make_config || die "config"
    start_knot "$TMP/zones" -x "$NET.21" || die "knotd did not start"
    # Correctly closed: relaying denied, unknown users rejected.
    # shellcheck disable=SC2016 # $names are Postfix's
    local closed='smtpd_relay_restrictions =
    permit_mynetworks, reject_unauth_destination
mydestination = $myhostname, $mydomain'
    start_postfix mail "$NET.21" "mail.$DOMAIN" "$closed"
    start_postfix lax "$NET.22" "lax.$DOMAIN" "$closed
local_recipient_maps ="
    # Trusts every loopback client: an open relay, to discard.
    start_postfix open "$NET.27" "open.$DOMAIN" "mynetworks = 127.0.0.0/8
$closed"
    start_fake "$NET.64" greylist-450 "greylist.$DOMAIN"
    start_fake "$NET.41" silent "silent.$DOMAIN"
    printf '%s\n' "${POSTFIXES[@]}" >"$DIR/postfixes"
    wait_fake "$NET.64" || die "fakesmtp (greylist) did not start"
    wait_fake "$NET.41" || die "fakesmtp (silent) did not start"
    wait_postfix mail "$NET.21" "mail.$DOMAIN" || die "postfix mail did not start"
    wait_postfix lax "$NET.22" "lax.$DOMAIN" || die "postfix lax did not start"
    wait_postfix open "$NET.27" "open.$DOMAIN" || die "postfix open did not start"
    : >"$DIR/pids"
    for pid in "${PIDS[@]}"; do
        st=$(start_time "$pid") || die "PID $pid ended early"
        name=$(cat "/proc/$pid/comm")
        case $name in
        python*) name="fakesmtp.py $(tr '\0' ' ' <"/proc/$pid/cmdline" |
            sed -n 's/.*--scenario \([^ ]*\).*/\1/p')" ;;
        esac
        printf '%s %s %s\n' "$pid" "$st" "$name" >>"$DIR/pids"
    done
    trap - EXIT
}

# ---------------------------------------------------------------- report

explain() {
    local s
    say "demo: servers up on loopback (state and logs in $DIR):"
    say "  $DNS  Knot DNS: zones $DOMAIN, $REV and the blocklist bl.$DOMAIN"
    for s in "${SERVERS[@]}"; do
        read -r addr name kind <<<"$s"
        printf '  %-16s %-20s %s\n' "$addr:$PORT" "$name" "$kind"
    done
}

CMD=
run_report() {
    local t0 t1 rc
    CMD="$SHOWN -f $CONF --dns-server $DNS -p $PORT"
    say ""
    say "demo: \$ $CMD -t $DEADLINE --all -o text"
    say ""
    t0=$(now_ms)
    # shellcheck disable=SC2086 # CMD: words
    $CMD -t "$DEADLINE" --all -o text </dev/null
    rc=$?
    t1=$(now_ms)
    say ""
    say "demo: mxprobe exited $rc (the worst state of the run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) after $(((t1 - t0) / 1000)).$((((t1 - t0) % 1000) / 100)) s"
    [ "$rc" -le 3 ] || return 1
}

outro() {
    cat <<EOF

What you saw: mail.$DOMAIN is how it should be (OK); lax.$DOMAIN takes
mail for users it does not have and will bounce it to forged senders
(WARNING: backscatter); open.$DOMAIN relays for anyone and is listed on a
blocklist (CRITICAL); greylist.$DOMAIN answers every recipient with a
temporary error, so relaying and backscatter cannot be told (UNKNOWN:
not a pass); silent.$DOMAIN never greets (CRITICAL, given up on after
4 s).  No mail left this machine: every Postfix delivers to discard.

The servers stay up.  Try one by hand, with the SMTP transcripts (-vv):
  $CMD -H open.$DOMAIN -C relay -vv
  $CMD -H mail.$DOMAIN -o json
or talk to one yourself (then type EHLO me, QUIT):
  openssl s_client -quiet -starttls smtp -connect $NET.21:$PORT -CAfile $TLS/ca.pem
A real server: $SHOWN -H your.mail.server
'make demo-stop' stops the demo's servers (and only them).
EOF
}

# ---------------------------------------------------------------- main

[ "$(id -u)" = 0 ] || die "needs root, to start its private Postfix instances (sudo make demo)"
for tool in knotd knotc kdig postfix postconf python3 openssl ss flock setsid; do
    command -v "$tool" >/dev/null || die "$tool not installed (make deps)"
done

# One start or stop at a time for this state dir.
# fd 9: the servers.sh functions close it for the servers they start.
# The default state dir is in /tmp, where every user may leave a folder
# or a link first: only a lock and a state dir of this user's own (no
# link, nobody else may write) are trusted, so that a forged record never
# makes root stop a process or truncate a file of another's.  (>>: an
# existing lock is never truncated.)
if [ -L "$DIR.lock" ] || { [ -e "$DIR.lock" ] && [ ! -O "$DIR.lock" ]; }; then
    die "$DIR.lock is a link or another user's: not touched"
fi
exec 9>>"$DIR.lock" || die "lock file $DIR.lock"
flock -w 120 9 || die "another make demo (or demo-stop) holds $DIR.lock"
if [ -L "$DIR" ] || { [ -e "$DIR" ] && { [ ! -O "$DIR" ] ||
    [ -n "$(find "$DIR" -maxdepth 0 -perm /022)" ]; }; }; then
    die "$DIR is a link, another user's or writable by others: not touched (remove it, or set MXPROBE_DEMO_DIR)"
fi

TMP=$DIR
TLS=$DIR/tls
CONF=$DIR/demo.yaml
if [ -e "$DIR" ] && [ ! -f "$DIR/$MARK" ]; then
    die "$DIR is there but holds no demo: not touched (remove it, or set MXPROBE_DEMO_DIR)"
fi
case ${1:-} in
start)
    [ -x "$MXPROBE" ] || die "$MXPROBE not built (make)"
    if [ -d "$DIR" ]; then
        if demo_whole; then
            say "demo: already up (since $(date -r "$DIR/pids" '+%F %T')); 'make demo-stop' stops it"
            explain
            run_report || exit 1
            outro
            exit 0
        fi
        say "demo: $DIR holds a demo that is not whole: stopping what is left, then starting afresh"
        stop_demo
    fi
    t0=$(now_ms)
    say "demo: starting the servers (Knot DNS, 3 Postfix, 2 fakes)..."
    start_demo
    say "demo: up in $((($(now_ms) - t0) / 1000)) s"
    explain
    run_report || exit 1
    outro
    ;;
stop)
    if [ ! -d "$DIR" ]; then
        say "demo: not running (no $DIR)"
        exit 0
    fi
    stop_demo
    ;;
*)
    die "usage: demo.sh start|stop"
    ;;
esac
