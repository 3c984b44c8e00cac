#!/usr/bin/env bash
# tests/demo/check.sh - make check-demo: make demo and make demo-stop do
# what they say.
#
#   MAKE=make MXPROBE_BUILD=build bash tests/demo/check.sh
#
# Runs make demo on addresses and a state dir of its own (127.0.4.x,
# /tmp/mxprobe-demo-check; a demo of the user's on 127.0.3.x is not
# touched) and asserts: it ends within its deadline, each server's report
# has the state the demo promises (and the reason), a second make demo
# finds the demo up and reports again; make demo-stop ends every process
# and Postfix instance recorded, and no other (a live process given a
# false record stays), leaves nothing listening and removes the state
# dir; make demo as another user than root refuses with a reason; a
# state dir or lock another user left (with a root process's true record,
# a link to a file) is not touched.  One
# line per assertion ("ok ..." / "FAIL ..."), "demo: N passed, M failed",
# exit 1 on failure.  Needs root.
set -u

MAKE=${MAKE:-make}
# A make of its own, not a sub-make of the one that runs this (make -n
# check would otherwise run this script too, its makes dry).
unset MAKEFLAGS MFLAGS MAKELEVEL
BUILD=${MXPROBE_BUILD:-build}
export MXPROBE_DEMO_DIR=/tmp/mxprobe-demo-check
export MXPROBE_DEMO_NET=127.0.4
DIR=$MXPROBE_DEMO_DIR
NET=$MXPROBE_DEMO_NET
START_LIMIT=60 # seconds make demo may take from scratch (about 10 here)
AGAIN_LIMIT=20 # ... with the demo up (the report only)
STOP_LIMIT=20  # seconds make demo-stop may take (about 5)

PASSED=0
FAILED=0
say() { printf '%s\n' "$*"; }
ok() {
    PASSED=$((PASSED + 1))
    say "ok demo_$1"
}
fail() {
    FAILED=$((FAILED + 1))
    say "FAIL demo_$1: $2"
}
check() { # check NAME WHY CMD...
    local name=$1 why=$2
    shift 2
    if "$@"; then ok "$name"; else fail "$name" "$why"; fi
}
now_ms() { date +%s%3N; }

[ "$(id -u)" = 0 ] || {
    say "demo: must run as root (Postfix)"
    exit 1
}
# One check at a time on this machine (fixed addresses).
# (fd 8: demo.sh takes fd 9 for its own lock.)
exec 8>/tmp/mxprobe-demo-test.lock
flock -w 300 8 || {
    say "demo: another check-demo holds /tmp/mxprobe-demo-test.lock"
    exit 1
}
OUT=$(mktemp -d /tmp/mxprobe-demo-check-out.XXXXXX) || exit 1
DECOY=
cleanup() {
    [ -n "$DECOY" ] && kill "$DECOY" 2>/dev/null
    # A demo left up by a failed check: stopped by its own record.
    [ -d "$DIR" ] && "$MAKE" -s --no-print-directory demo-stop >/dev/null 2>&1 8>&-
    rm -rf "$OUT"
}
trap cleanup EXIT
# A check killed earlier may have left its demo up.
[ -d "$DIR" ] && "$MAKE" -s --no-print-directory demo-stop >/dev/null 2>&1 8>&-

mk() { # mk TARGET: make TARGET into $OUT/TARGET.out; sets RC and MS
    local t0
    t0=$(now_ms)
    timeout -k 5 120 "$MAKE" -s --no-print-directory "$1" O="$BUILD" \
        >"$OUT/$1.out" 2>&1 </dev/null 8>&-
    RC=$?
    MS=$(($(now_ms) - t0))
}

# block HOST FILE: the report of HOST in FILE (its header to a blank line).
block() {
    awk -v h="$1 [" 'index($0, h) == 1 { on = 1 } on && /^$/ { exit } on' "$2"
}

# want_report NAME FILE: every server with its state and its reason.
want_report() {
    local f=$2 name=$1 bad=
    local -a want=(
        "mail OK"         "^  OK +relay +no open relay"
        "mail OK"         "^  OK +backscatter +rejects unknown users"
        "mail OK"         "^  OK +tls +TLSv1\\.[23] "
        "lax WARNING"     "^  WARNING +backscatter +accepts mail for unknown users"
        "lax WARNING"     "^  OK +relay "
        "open CRITICAL"   "^  CRITICAL +relay +open relay"
        "open CRITICAL"   "listed on bl\\.demo\\.test"
        "greylist UNKNOWN" "^  UNKNOWN +relay +inconclusive"
        "greylist UNKNOWN" "^  UNKNOWN +backscatter +inconclusive"
        "silent CRITICAL" "^  CRITICAL +banner +no greeting"
    )
    local i host state re addr
    for ((i = 0; i < ${#want[@]}; i += 2)); do
        read -r host state <<<"${want[i]}"
        re=${want[i + 1]}
        case $host in
        mail) addr=21 ;; lax) addr=22 ;; open) addr=27 ;;
        greylist) addr=64 ;; silent) addr=41 ;;
        esac
        block "$host.demo.test" "$f" >"$OUT/block"
        grep -qx "$host\\.demo\\.test \\[$NET\\.$addr\\] port 2525: $state" \
            "$OUT/block" || bad="$bad; $host.demo.test is not $state"
        grep -Eq -- "$re" "$OUT/block" || bad="$bad; $host.demo.test lacks /$re/"
    done
    grep -q '^5 targets: CRITICAL - 2 critical, 1 warning, 1 unknown, 1 ok$' "$f" ||
        bad="$bad; no run summary of 5 targets"
    grep -q "demo: mxprobe exited 2 " "$f" || bad="$bad; mxprobe's exit is not 2"
    grep -q "make demo-stop" "$f" || bad="$bad; does not say how to stop it"
    grep -Eq -- "-f $DIR/demo\\.yaml --dns-server $NET\\.53:5353 -p 2525" "$f" ||
        bad="$bad; no command line to run it by hand"
    if [ -z "$bad" ]; then
        ok "$name"
    else
        fail "$name" "${bad#; }"
        sed 's/^/  | /' "$f"
    fi
}

# ---------------------------------------------------------------- make demo

mk demo
check start_exit "exit $RC, want 0" [ "$RC" = 0 ]
check start_time "took $MS ms, limit $START_LIMIT s" \
    [ "$MS" -le $((START_LIMIT * 1000)) ]
want_report start_report "$OUT/demo.out"
say "# make demo took $MS ms"
secs=$(sed -n 's/^demo: mxprobe exited .* after \([0-9.]*\) s$/\1/p' "$OUT/demo.out")
check mxprobe_deadline "mxprobe took ${secs:-?} s, its deadline (-t) is 10 s" \
    awk -v s="${secs:-99}" 'BEGIN { exit !(s <= 11) }'
# No message was ever completed: none reached a queue manager.
queued=$(cat "$DIR"/postfix-*/postfix.log 2>/dev/null | grep -c 'qmgr.*: from=<')
check no_mail "$queued messages queued by the demo's Postfix instances" \
    [ "$queued" = 0 ]
check postfix_logs "no Postfix logs in $DIR (the no_mail check would pass blindly)" \
    grep -qs 'lost connection after DATA' "$DIR/postfix-open/postfix.log"
STARTED=$(cat "$DIR/pids" 2>/dev/null)
check pid_record "no $DIR/pids of 3 processes" \
    [ "$(printf '%s\n' "$STARTED" | grep -c .)" = 3 ]
MASTERS=
while read -r d; do
    MASTERS="$MASTERS $(tr -d ' ' <"$d/../queue/pid/master.pid" 2>/dev/null)"
done <"$DIR/postfixes" 2>/dev/null
# shellcheck disable=SC2086 # a list of PIDs
check postfix_record "not 3 Postfix masters: $MASTERS" \
    [ "$(printf '%s\n' $MASTERS | grep -c .)" = 3 ]

mk demo
check again_exit "exit $RC, want 0" [ "$RC" = 0 ]
check again_says "does not say the demo is up" \
    grep -q '^demo: already up' "$OUT/demo.out"
check again_time "took $MS ms, limit $AGAIN_LIMIT s" \
    [ "$MS" -le $((AGAIN_LIMIT * 1000)) ]
want_report again_report "$OUT/demo.out"
check again_same "the second run started other processes" \
    [ "$(cat "$DIR/pids" 2>/dev/null)" = "$STARTED" ]

# ---------------------------------------------------------------- demo-stop

# A live process recorded with another start time (the PID reused since):
# demo-stop must leave it alone.
sleep 300 &
DECOY=$!
printf '%s 1 sleep\n' "$DECOY" >>"$DIR/pids"

mk demo-stop
check stop_exit "exit $RC, want 0" [ "$RC" = 0 ]
check stop_time "took $MS ms, limit $STOP_LIMIT s" \
    [ "$MS" -le $((STOP_LIMIT * 1000)) ]
say "# make demo-stop took $MS ms"
check stop_says "does not say what it stopped" \
    [ "$(grep -Ec '^demo: stopped (knotd|fakesmtp\.py|Postfix)' "$OUT/demo-stop.out")" = 6 ]
left=
for pid in $(printf '%s\n' "$STARTED" | awk '{print $1}') $MASTERS; do
    kill -0 "$pid" 2>/dev/null && left="$left $pid"
done
check stop_processes "still running:$left" [ -z "$left" ]
# Every Postfix process of the demo has MAIL_CONFIG in its environment.
left=$(grep -l "MAIL_CONFIG=$DIR/" /proc/[0-9]*/environ 2>/dev/null | tr '\n' ' ')
check stop_postfix "Postfix processes of the demo left: $left" [ -z "$left" ]
left=$(ss -H -lntu | awk '{print $5}' | grep -F "$NET." | tr '\n' ' ')
check stop_listeners "still listening: $left" [ -z "$left" ]
check stop_state "$DIR is still there" [ ! -e "$DIR" ]
check stop_decoy "killed PID $DECOY, which it had not started" \
    kill -0 "$DECOY"
kill "$DECOY" 2>/dev/null
wait "$DECOY" 2>/dev/null
DECOY=

mk demo-stop
check stop_again "a second demo-stop: exit $RC, want 0 and 'not running'" \
    grep -q '^demo: not running' "$OUT/demo-stop.out"

# ---------------------------------------------------------------- not root

if command -v setpriv >/dev/null; then
    chmod 755 "$OUT"
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        bash tests/demo/demo.sh start >"$OUT/nonroot.out" 2>&1 </dev/null 8>&-
    RC=$?
    check not_root_exit "as nobody: exit $RC, want 1" [ "$RC" = 1 ]
    check not_root_says "as nobody: does not say it needs root" \
        grep -q "needs root" "$OUT/nonroot.out"
    check not_root_state "as nobody it made $DIR" [ ! -e "$DIR" ]
fi

# ---------------------------------------------------------------- no demo

# A folder that holds no demo is never taken for its state (nor removed).
mkdir "$OUT/other" && echo keep >"$OUT/other/file"
kept() { [ "$RC" = 1 ] && [ -f "$OUT/other/file" ]; }
for cmd in stop start; do
    MXPROBE_DEMO_DIR=$OUT/other bash tests/demo/demo.sh "$cmd" \
        >"$OUT/other.out" 2>&1 </dev/null 8>&-
    RC=$?
    check "foreign_dir_$cmd" "demo.sh $cmd on a folder of another: exit $RC, want 1, folder kept" \
        kept
done
rm -f "$OUT/other.lock"

# A state dir (or lock) another user made: /tmp is everyone's, so a user
# could leave a demo's marks in the default /tmp/mxprobe-demo with the
# true start time of a process of root's, or a lock that links to a file
# of root's.  demo-stop (as root) must touch neither.
sleep 300 &
DECOY=$!
mkdir "$OUT/forged" && : >"$OUT/forged/.mxprobe-demo" &&
    printf '%s %s sleep\n' "$DECOY" "$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$DECOY/stat")" \
        >"$OUT/forged/pids" && : >"$OUT/forged/postfixes" &&
    chown -R 65534:65534 "$OUT/forged"
MXPROBE_DEMO_DIR=$OUT/forged bash tests/demo/demo.sh stop \
    >"$OUT/forged.out" 2>&1 </dev/null 8>&-
RC=$?
check forged_dir_exit "demo-stop on a state dir of another user: exit $RC, want 1" [ "$RC" = 1 ]
check forged_dir_decoy "demo-stop on a state dir of another user killed PID $DECOY" \
    kill -0 "$DECOY"
check forged_dir_kept "demo-stop removed a state dir of another user" [ -d "$OUT/forged" ]
kill "$DECOY" 2>/dev/null
wait "$DECOY" 2>/dev/null
DECOY=
echo precious >"$OUT/precious"
mkdir "$OUT/lk" && ln -s "$OUT/precious" "$OUT/lk/demo.lock" && chown -h 65534:65534 "$OUT/lk/demo.lock"
MXPROBE_DEMO_DIR=$OUT/lk/demo bash tests/demo/demo.sh stop \
    >"$OUT/lk.out" 2>&1 </dev/null 8>&-
RC=$?
lock_kept() { [ "$RC" = 1 ] && [ "$(cat "$OUT/precious")" = precious ]; }
check forged_lock "demo-stop with its lock a link of another user's: exit $RC (want 1), the file it names: '$(cat "$OUT/precious")'" \
    lock_kept

say "demo: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
