#!/bin/sh
# tests/configs/nagios4.sh - every nagios/*.cfg loads into a real Nagios 4
# (`nagios4 -v`, Debian's nagios4-core) beside Debian's stock objects,
# with no error and no warning.  Run by `make check-configs`.
#
# Two set-ups, both from Debian's own nagios.cfg (its illegal name
# characters and the rest; tests/integration/nagios4-setup.sh moves its
# paths to a temp dir): the stock objects/{commands,contacts,timeperiods,
# templates}.cfg alone beside ours, and everything the stock nagios.cfg
# loads (localhost.cfg, /etc/nagios-plugins/config: no name clashes)
# beside ours copied to a conf.d folder, as an admin copies them to
# /etc/nagios4/conf.d.  Then the same check must reject two broken copies
# (a template without max_check_attempts: an error; notifications more
# often than checks: a warning), so it cannot pass by checking nothing.
# Writes only to a temp dir; never touches the system's Nagios.  Exit 0
# when all holds, else 1 with Nagios' words.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SETUP=$ROOT/tests/integration/nagios4-setup.sh
NAGIOS=${NAGIOS4:-nagios4}

say() { printf 'configs: nagios4: %s\n' "$*"; }

if ! command -v "$NAGIOS" >/dev/null 2>&1; then
    say "FAIL: $NAGIOS not installed (make deps: nagios4-core)"
    exit 1
fi
FILES=$(ls "$ROOT"/nagios/*.cfg 2>/dev/null)
if [ -z "$FILES" ]; then
    say "FAIL: no nagios/*.cfg"
    exit 1
fi
TMP=$(mktemp -d /tmp/mxprobe-nagios4-cfg.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT
FAILED=0

# verify NAME [-a] FILE...: nagios4 -v on a fresh set-up of FILEs; sets
# OUT (Nagios' output), RC, ERRORS and WARNINGS (its totals, or "?").
verify() {
    name=$1
    shift
    a=
    if [ "$1" = -a ]; then
        a=-a
        shift
    fi
    d=$TMP/$name
    mkdir -p "$d"
    # shellcheck disable=SC2086 # $a: empty or -a
    if ! sh "$SETUP" $a "$d" /usr/lib/nagios/plugins "$@" </dev/null \
        >"$d/setup.log" 2>&1; then
        OUT=$(cat "$d/setup.log")
        RC=setup
        ERRORS='?'
        WARNINGS='?'
        return
    fi
    OUT=$("$NAGIOS" -v "$d/nagios.cfg" 2>&1)
    RC=$?
    ERRORS=$(printf '%s\n' "$OUT" | sed -n 's/^Total Errors: *\([0-9]*\)$/\1/p')
    WARNINGS=$(printf '%s\n' "$OUT" | sed -n 's/^Total Warnings: *\([0-9]*\)$/\1/p')
    : "${ERRORS:=?}" "${WARNINGS:=?}"
}

show() {
    printf '%s\n' "$OUT" | sed -n '/^Reading configuration/,$p' |
        grep -v '^$' | sed 's/^/  | /'
}

# The shipped files, in both set-ups: accepted, no warning, and really
# holding objects (the example host and its services).
# shellcheck disable=SC2086 # $FILES: one path a word (no spaces in ours)
for setup in stock all; do
    if [ $setup = all ]; then
        # Copied into a conf.d of its own, as an admin does.
        mkdir -p "$TMP/conf.d"
        cp $FILES "$TMP/conf.d/"
        verify $setup -a "$TMP/conf.d"
    else
        verify $setup $FILES
    fi
    services=$(printf '%s\n' "$OUT" | sed -n 's/^[[:space:]]*Checked \([0-9]*\) services\.$/\1/p')
    if [ "$RC" != 0 ] || [ "$ERRORS" != 0 ] || [ "$WARNINGS" != 0 ]; then
        say "FAIL: $setup objects + nagios/*.cfg: exit $RC, $ERRORS errors, $WARNINGS warnings"
        show
        FAILED=1
    elif [ "${services:-0}" -lt 1 ]; then
        say "FAIL: $setup objects + nagios/*.cfg: no service checked"
        show
        FAILED=1
    fi
done
if [ "$FAILED" = 0 ]; then
    version=$(printf '%s\n' "$OUT" | sed -n 's/^Nagios Core \([0-9.]*\).*/\1/p')
    say "ok: $(cd "$ROOT" && echo nagios/*.cfg) load in Nagios ${version:-4} ($services services with all of Debian's objects), 0 errors, 0 warnings"
fi

# break_cfg TEMPLATE DIRECTIVE [VALUE]: a copy of nagios/mxprobe.cfg in
# $TMP/broken.cfg whose TEMPLATE definition lacks DIRECTIVE (or has it set
# to VALUE); false when nothing changed (the template did: this test must
# follow).  A definition ends at the next "define".
break_cfg() {
    awk -v t="$1" -v key="$2" -v value="${3:-}" '
        /^define / { inside = 0 }
        $1 == "name" && $2 == t { inside = 1 }
        inside && $1 == key {
            if (value != "") print "    " key " " value
            next
        }
        { print }' "$ROOT/nagios/mxprobe.cfg" >"$TMP/broken.cfg"
    ! cmp -s "$ROOT/nagios/mxprobe.cfg" "$TMP/broken.cfg"
}

# The other shipped files with the broken copy in place of mxprobe.cfg.
others() {
    for f in $FILES; do
        [ "$f" = "$ROOT/nagios/mxprobe.cfg" ] || printf '%s\n' "$f"
    done
}

# A host template without max_check_attempts (the bug of issue 12): an
# error.
if ! break_cfg mxprobe-mail-server max_check_attempts; then
    say "FAIL: self-test: no max_check_attempts in mxprobe-mail-server to remove"
    FAILED=1
else
    # shellcheck disable=SC2046 # one path a line, no spaces
    verify broken-error $(others) "$TMP/broken.cfg"
    if [ "$RC" = 0 ] || [ "$ERRORS" = 0 ] ||
        ! printf '%s\n' "$OUT" | grep -q 'Invalid max_check_attempts value for host'; then
        say "FAIL: self-test: a template without max_check_attempts was not rejected (exit $RC, $ERRORS errors)"
        show
        FAILED=1
    fi
fi

# Notifications every minute of a service checked every 15: a warning,
# which fails this test as an error would.
if ! break_cfg mxprobe-service notification_interval 1; then
    say "FAIL: self-test: no notification_interval in mxprobe-service to change"
    FAILED=1
else
    # shellcheck disable=SC2046
    verify broken-warning $(others) "$TMP/broken.cfg"
    if [ "$WARNINGS" = 0 ] || [ "$WARNINGS" = "?" ] ||
        ! printf '%s\n' "$OUT" | grep -q 'notification interval less than its check interval'; then
        say "FAIL: self-test: notification_interval 1 gave no warning (exit $RC, $WARNINGS warnings)"
        show
        FAILED=1
    fi
fi
[ "$FAILED" = 0 ] && say "ok: broken copies rejected (no max_check_attempts: an error; notification_interval below check_interval: a warning)"
exit "$FAILED"
