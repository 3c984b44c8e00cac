# tests/integration/cases-nagios4.sh - mxprobe run by a real Nagios 4
# daemon, with the shipped nagios/mxprobe.cfg (commands and templates as
# they are), sourced by run.sh.
#
# The daemon (Debian's nagios4, started here on first use, stopped by PID
# at the end of this file and by run.sh's cleanup) runs as root (Nagios 4
# drops to nagios_user only when that is another user) on a
# config of nagios4-setup.sh below $TMP/nagios4: Debian's nagios.cfg and
# stock objects, every path it writes in that folder, $USER1$ a folder
# holding check_mxprobe (a link to $MXPROBE), check_dummy and
# check_ping, and this file's hosts:
#   mail.mxprobe.test  127.0.0.21, the closed Postfix: its host check
#                      (ping), mxprobe-banner (active), mxprobe-passive
#                      services "mxprobe" and "mail check", and "mxprobe
#                      stale" (freshness 2 s)
#   open.mxprobe.test  127.0.0.27, the open relay: mxprobe-relay (active)
#   smtp.mxprobe.test  127.0.0.22 (greets as mail.elsewhere.test):
#                      mxprobe-passive "smtp banner"
# each with _MXPROBE_OPTIONS "-p 2525 --dns-server $DNS".  Nagios runs no
# check on its own schedule (execute_*_checks=0): only the forced checks
# of the cases and the freshness checks.  What Nagios recorded is read
# from its status.dat (written every second) and compared with what
# mxprobe prints for the same arguments.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

NAGIOS_T0=$(now_ms)
NAGIOS_DIR=$TMP/nagios4
NAGIOS_CMD=$NAGIOS_DIR/nagios.cmd
NAGIOS_STATUS=$NAGIOS_DIR/status.dat
NAGIOS_PID=
NAGIOS_BROKEN=
NAGIOS_OPTS="-p $PORT --dns-server $DNS"

# nagios_up: the daemon of these cases, started once; false (with the
# reason as the case's) when it cannot be.
nagios_up() {
    local root
    no_mx
    [ -n "$NAGIOS_PID" ] && kill -0 "$NAGIOS_PID" 2>/dev/null && return 0
    if [ -n "$NAGIOS_PID" ]; then
        NAGIOS_BROKEN="the Nagios daemon died: $(tail -n 3 "$NAGIOS_DIR/nagios.log" 2>/dev/null)"
    fi
    [ -n "$NAGIOS_BROKEN" ] && { why "$NAGIOS_BROKEN"; return 1; }
    if ! command -v nagios4 >/dev/null; then
        NAGIOS_BROKEN="nagios4 not installed (make deps)"
        why "$NAGIOS_BROKEN"
        return 1
    fi
    root=$(cd "$HERE/../.." && pwd)
    mkdir -p "$NAGIOS_DIR/plugins"
    ln -sf "$MXPROBE" "$NAGIOS_DIR/plugins/check_mxprobe"
    ln -sf /usr/lib/nagios/plugins/check_dummy "$NAGIOS_DIR/plugins/check_dummy"
    ln -sf /usr/lib/nagios/plugins/check_ping "$NAGIOS_DIR/plugins/check_ping"
    cat >"$NAGIOS_DIR/hosts.cfg" <<EOF
define host {
    use                     mxprobe-mail-server
    host_name               mail.mxprobe.test
    address                 127.0.0.21
    _MXPROBE_OPTIONS        $NAGIOS_OPTS
}
define service {
    use                     mxprobe-banner
    host_name               mail.mxprobe.test
    service_description     SMTP banner and reverse DNS
}
define service {
    use                     mxprobe-passive
    host_name               mail.mxprobe.test
    service_description     mxprobe
}
define service {
    use                     mxprobe-passive
    host_name               mail.mxprobe.test
    service_description     mail check
}
define service {
    use                     mxprobe-passive
    host_name               mail.mxprobe.test
    service_description     mxprobe stale
    freshness_threshold     2
    check_command           check_mxprobe_stale!2
}
define host {
    use                     mxprobe-mail-server
    host_name               open.mxprobe.test
    address                 127.0.0.27
    _MXPROBE_OPTIONS        $NAGIOS_OPTS
}
define service {
    use                     mxprobe-relay
    host_name               open.mxprobe.test
    service_description     SMTP open relay and backscatter
}
define host {
    use                     mxprobe-mail-server
    host_name               smtp.mxprobe.test
    address                 127.0.0.22
    _MXPROBE_OPTIONS        $NAGIOS_OPTS
}
define service {
    use                     mxprobe-passive
    host_name               smtp.mxprobe.test
    service_description     smtp banner
}
EOF
    # Results within a second: the reaper and status.dat every second,
    # freshness checked every second with no extra latency; no retained
    # state, no check on a schedule.
    if ! sh "$HERE/nagios4-setup.sh" "$NAGIOS_DIR" "$NAGIOS_DIR/plugins" \
        "$root/nagios/mxprobe.cfg" "$NAGIOS_DIR/hosts.cfg" \
        >"$NAGIOS_DIR/setup.log" 2>&1 <<'EOF'; then
execute_service_checks=0
execute_host_checks=0
check_result_reaper_frequency=1
max_check_result_reaper_time=1
status_update_interval=1
service_freshness_check_interval=1
additional_freshness_latency=0
retain_state_information=0
use_retained_program_state=0
use_retained_scheduling_info=0
enable_event_handlers=0
enable_flap_detection=0
EOF
        NAGIOS_BROKEN="nagios4-setup.sh failed: $(tail -n 3 "$NAGIOS_DIR/setup.log")"
        why "$NAGIOS_BROKEN"
        return 1
    fi
    if ! nagios4 -v "$NAGIOS_DIR/nagios.cfg" >"$NAGIOS_DIR/verify.log" 2>&1; then
        NAGIOS_BROKEN="nagios4 -v rejects the test config: $(grep -E '^(Error|Warning)' "$NAGIOS_DIR/verify.log" | head -n 3)"
        why "$NAGIOS_BROKEN"
        return 1
    fi
    nagios4 "$NAGIOS_DIR/nagios.cfg" >"$NAGIOS_DIR/daemon.log" 2>&1 </dev/null 9>&- &
    NAGIOS_PID=$!
    PIDS+=("$NAGIOS_PID")
    if ! wait_for 10 grep -q 'Successfully launched command file worker' \
        "$NAGIOS_DIR/nagios.log" || ! [ -p "$NAGIOS_CMD" ]; then
        NAGIOS_BROKEN="Nagios did not come up: $(tail -n 3 "$NAGIOS_DIR/nagios.log" "$NAGIOS_DIR/daemon.log" 2>/dev/null)"
        why "$NAGIOS_BROKEN"
        return 1
    fi
}

# nagios_stop: the daemon of these cases, by its PID, which then leaves
# run.sh's list (its cleanup waits for the PIDs only while all live).
nagios_stop() {
    local p keep=()
    [ -n "$NAGIOS_PID" ] || return 0
    kill "$NAGIOS_PID" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        kill -0 "$NAGIOS_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$NAGIOS_PID" 2>/dev/null
    wait "$NAGIOS_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do
        [ "$p" = "$NAGIOS_PID" ] || keep+=("$p")
    done
    PIDS=("${keep[@]}")
    NAGIOS_PID=
}

# nagios_cmd COMMAND;ARGS: one external command through the FIFO (not
# waiting for ever when nobody reads it).
nagios_cmd() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 5 bash -c 'printf "[%s] %s\n" "$(date +%s)" "$1" >"$2"' _ \
        "$1" "$NAGIOS_CMD" || why "could not write '$1' to $NAGIOS_CMD"
}

# nagios_field HOST SERVICE FIELD: the FIELD of the service's block in
# status.dat (status.dat escapes the long output's newlines as \n); of
# the host's block when SERVICE is empty.
nagios_field() {
    awk -v h="$1" -v s="$2" -v f="$3" '
        BEGIN { block = s == "" ? "hoststatus" : "servicestatus" }
        $1 == block && $2 == "{" { on = 1; split("", v); next }
        on && /^[ \t]*\}/ {
            if (v["host_name"] == h && (s == "" || v["service_description"] == s)) {
                print v[f]
                found = 1
                exit
            }
            on = 0
            next
        }
        on {
            line = $0
            sub(/^[ \t]+/, "", line)
            k = line
            sub(/=.*/, "", k)
            sub(/^[^=]*=/, "", line)
            v[k] = line
        }
        END { exit !found }' "$NAGIOS_STATUS"
}

# nagios_checked HOST SERVICE SINCE TYPE: status.dat holds a result of
# the service from SINCE (epoch seconds) on, of check_type TYPE (0
# active, 1 passive).
nagios_checked() {
    local last type
    last=$(nagios_field "$1" "$2" last_check) || return 1
    type=$(nagios_field "$1" "$2" check_type) || return 1
    [ "$(nagios_field "$1" "$2" has_been_checked)" = 1 ] &&
        [ "${last:-0}" -ge "$3" ] && [ "$type" = "$4" ]
}

# nagios_wait HOST SERVICE SINCE TYPE [SECONDS]: waits (default 15 s) for
# nagios_checked; a reason of the case if it does not come.
nagios_wait() {
    wait_for "${5:-15}" nagios_checked "$1" "$2" "$3" "$4" && return 0
    why "no $([ "$4" = 0 ] && echo active || echo passive) result of $1!$2 in status.dat since $3 (last_check $(nagios_field "$1" "$2" last_check))"
    return 1
}

# Perfdata items one a word, numbers replaced by N when $2 is "values"
# (another run of the same check measures other times).
perf_norm() {
    if [ "${2:-}" = values ]; then
        tr -s ' \t' '\n' <<<"$1" | grep . | sed -E 's/=-?[0-9.]+/=N/; s/;-?[0-9.]+/;N/g'
    else
        tr -s ' \t' '\n' <<<"$1" | grep .
    fi
}

# clip TEXT: at most 200 characters of it, for a reason.
clip() {
    if [ "${#1}" -le 200 ]; then
        printf '%s' "$1"
    else
        printf '%s...' "${1:0:200}"
    fi
}

# want_nagios_like HOST SERVICE [values]: what Nagios recorded for the
# service is what mxprobe printed in $OUT with exit $RC: state, status
# line (plugin_output), long output (long_plugin_output, lines joined
# by \n) and every perfdata item (of the status line and of the last
# line); with "values", perfdata values are not compared.
want_nagios_like() {
    local state out long perf want_out want_long want_perf
    state=$(nagios_field "$1" "$2" current_state)
    out=$(nagios_field "$1" "$2" plugin_output)
    long=$(nagios_field "$1" "$2" long_plugin_output)
    perf=$(nagios_field "$1" "$2" performance_data)
    [ "$state" = "$RC" ] || why "Nagios state $state, mxprobe exit $RC"
    want_out=$(head -n 1 "$OUT" | sed 's/ *|.*//')
    [ "$out" = "$want_out" ] ||
        why "Nagios plugin_output '$(clip "$out")', mxprobe printed '$(clip "$want_out")'"
    # The long output: the lines after the status line up to the perfdata
    # line, as status.dat writes them.
    want_long=$(sed -n '2,${/^|/q;p}' "$OUT" | awk '{ printf "%s\\n", $0 }')
    [ "${long%\\n}" = "${want_long%\\n}" ] ||
        why "Nagios long_plugin_output '$(clip "$long")', mxprobe printed '$(clip "$want_long")'"
    [ -n "$want_long" ] || why "mxprobe printed no long output to compare"
    want_perf="$(head -n 1 "$OUT" | sed -n 's/^[^|]*|//p') $(sed -n 's/^|//p' "$OUT")"
    [ "$(perf_norm "$perf" "${3:-}")" = "$(perf_norm "$want_perf" "${3:-}")" ] ||
        why "Nagios performance_data '$(clip "$perf")', mxprobe printed '$(clip "$want_perf")'"
    [ -n "$(perf_norm "$want_perf")" ] || why "mxprobe printed no perfdata"
}

# nagios_force_case NAME HOST ADDRESS SERVICE CHECKS WANT_RC: a forced
# active check of the service (a shipped template), then mxprobe by hand
# with the arguments of the shipped check_mxprobe command.
nagios_force_case() {
    local name=$1 host=$2 addr=$3 svc=$4 checks=$5 want=$6 t0
    begin "$name" || return 0
    if nagios_up; then
        t0=$(date +%s)
        nagios_cmd "SCHEDULE_FORCED_SVC_CHECK;$host;$svc;$t0"
        if nagios_wait "$host" "$svc" "$t0" 0 30; then
            # shellcheck disable=SC2086 # the host's options, split as sh does
            mx 50 -H "$addr" -C "$checks" $NAGIOS_OPTS
            want_exit "$want"
            want_nagios_like "$host" "$svc" values
        fi
    fi
    finish
}

# a) Active checks through the shipped command and templates.
nagios_force_case nagios4_active_banner mail.mxprobe.test 127.0.0.21 \
    'SMTP banner and reverse DNS' banner 0
nagios_force_case nagios4_active_relay_critical open.mxprobe.test 127.0.0.27 \
    'SMTP open relay and backscatter' relay,backscatter 2

if begin nagios4_host_check; then
    # The host check of the shipped mxprobe-mail-server template.
    if nagios_up; then
        t0=$(date +%s)
        nagios_cmd "SCHEDULE_FORCED_HOST_CHECK;mail.mxprobe.test;$t0"
        if nagios_wait mail.mxprobe.test '' "$t0" 0; then
            [ "$(nagios_field mail.mxprobe.test '' current_state)" = 0 ] ||
                why "mail.mxprobe.test is not UP"
            out=$(nagios_field mail.mxprobe.test '' plugin_output)
            [[ $out == 'PING OK - '* ]] || why "host check output '$out'"
        fi
    fi
    finish
fi

# b) Passive results sent by mxprobe --submit.
if begin nagios4_passive_submit; then
    if nagios_up; then
        t0=$(date +%s)
        mx 15 -C banner -H mail.mxprobe.test --submit "nagios:$NAGIOS_CMD"
        want_no_out 'mxprobe: submit:'
        if nagios_wait mail.mxprobe.test mxprobe "$t0" 1; then
            want_nagios_like mail.mxprobe.test mxprobe
        fi
        want_time 15
    fi
    finish
fi

if begin nagios4_passive_submit_all; then
    # --all: each target's result under submit.service or its own
    # service:, each the report mxprobe -H gives for that target alone.
    if nagios_up; then
        cat >"$NAGIOS_DIR/all.yaml" <<EOF
submit:
  service: mail check
targets:
  - host: mail.mxprobe.test
  - host: smtp.mxprobe.test
    service: smtp banner
EOF
        t0=$(date +%s)
        mx 30 -C banner --all -f "$NAGIOS_DIR/all.yaml" --submit "nagios:$NAGIOS_CMD"
        want_no_out 'mxprobe: submit:'
        # The second target greets as mail.elsewhere.test: a WARNING.
        want_out '^== mail\.mxprobe\.test \[127\.0\.0\.21\]: OK - '
        want_out '^== smtp\.mxprobe\.test \[127\.0\.0\.22\]: WARNING - '
        all_out=$OUT all_err=$ERR all_rc=$RC all_ms=$ELAPSED_MS
        for hs in 'mail.mxprobe.test;mail check' 'smtp.mxprobe.test;smtp banner'; do
            IFS=';' read -r h s <<<"$hs"
            nagios_wait "$h" "$s" "$t0" 1 || continue
            mx 15 -C banner -H "$h"
            want_nagios_like "$h" "$s" values
        done
        # finish shows the --all run.
        OUT=$all_out ERR=$all_err RC=$all_rc ELAPSED_MS=$all_ms
        want_time 30
    fi
    finish
fi

# c) Freshness: a passive service whose results stop is UNKNOWN, saying
# so; a result makes it fresh again, for its freshness_threshold only.
if begin nagios4_passive_freshness; then
    if nagios_up; then
        svc='mxprobe stale'
        stale='UNKNOWN: no result from mxprobe --submit for 2 s'
        # Nothing came since the start: stale within 2 s + 1 s checks.
        if nagios_wait mail.mxprobe.test "$svc" 0 0 10; then
            [ "$(nagios_field mail.mxprobe.test "$svc" current_state)" = 3 ] ||
                why "a stale '$svc' is not UNKNOWN"
            out=$(nagios_field mail.mxprobe.test "$svc" plugin_output)
            [ "$out" = "$stale" ] || why "stale output '$out', want '$stale'"
        fi
        printf 'submit:\n  service: %s\n' "$svc" >"$NAGIOS_DIR/stale.yaml"
        t0=$(date +%s)
        mx 15 -C banner -H mail.mxprobe.test -f "$NAGIOS_DIR/stale.yaml" \
            --submit "nagios:$NAGIOS_CMD"
        if nagios_wait mail.mxprobe.test "$svc" "$t0" 1; then
            want_nagios_like mail.mxprobe.test "$svc"
            fresh=$(nagios_field mail.mxprobe.test "$svc" last_check)
            # Stale again 2 s after that result (and not before).
            if nagios_wait mail.mxprobe.test "$svc" $((fresh + 1)) 0 10; then
                last=$(nagios_field mail.mxprobe.test "$svc" last_check)
                [ $((last - fresh)) -ge 2 ] ||
                    why "stale after $((last - fresh)) s, threshold 2 s"
                out=$(nagios_field mail.mxprobe.test "$svc" plugin_output)
                [ "$out" = "$stale" ] || why "stale output '$out', want '$stale'"
                [ "$(nagios_field mail.mxprobe.test "$svc" current_state)" = 3 ] ||
                    why "stale again, but not UNKNOWN"
            fi
        fi
    fi
    finish
fi

# d) A hostile server's text through --submit into the real daemon: the
# fake "command-inject" on 127.0.0.21:$INJECT_PORT (mail.mxprobe.test, as
# DNS says) greets with '|', ';', literal "\n" and non-UTF-8 bytes, and
# with a bare LF, CR and NUL each before "[1234567890] SHUTDOWN_PROGRAM".
# Nagios must run one command per result (and stay up), and hold the
# texts as mxprobe printed them: the status line with its one '|' (a
# server's '|' would start perfdata), the perfdata items, the long output.
# -v fits one write of PIPE_BUF; -vv (the 100-line transcript, 7 KiB)
# does not: its line is cut as documented (status line and perfdata
# whole, whole long-output lines, then the note).
INJECT_PORT=2601
if begin nagios4_passive_hostile_text; then
    if nagios_up; then
        "$PY" "$HERE/fakesmtp.py" --listen "127.0.0.21:$INJECT_PORT" \
            --scenario command-inject --name mail.mxprobe.test \
            >"$NAGIOS_DIR/inject.log" 2>&1 9>&- </dev/null &
        inject_pid=$!
        PIDS+=("$inject_pid")
        printf 'submit:\n  service: mail check\n' >"$NAGIOS_DIR/inject.yaml"
        if wait_for 10 tcp_listens 127.0.0.21 "$INJECT_PORT"; then
            for v in -v -vv; do
                log_lines=$(wc -l <"$NAGIOS_DIR/nagios.log")
                t0=$(date +%s)
                mx 15 -C banner -H mail.mxprobe.test -p "$INJECT_PORT" "$v" \
                    -f "$NAGIOS_DIR/inject.yaml" --submit "nagios:$NAGIOS_CMD"
                want_no_out 'mxprobe: submit:'
                [ "$(head -n 1 "$OUT" | tr -cd '|')" = '|' ] ||
                    why "$v: the status line holds more than one '|'"
                grep -q 'SHUTDOWN_PROGRAM' "$OUT" ||
                    why "$v: the server's text is not in the output (the case tests nothing)"
                nagios_wait mail.mxprobe.test 'mail check' "$t0" 1 || continue
                sleep 1 # a second command, had there been one, is read too
                kill -0 "$NAGIOS_PID" 2>/dev/null || why "$v: Nagios is down"
                new=$(tail -n +$((log_lines + 1)) "$NAGIOS_DIR/nagios.log")
                [ "$(grep -c 'EXTERNAL COMMAND: ' <<<"$new")" = 1 ] ||
                    why "$v: not one external command: $(clip "$(grep 'EXTERNAL COMMAND: ' <<<"$new" | cut -c1-80)")"
                ! grep -Eq 'EXTERNAL COMMAND: SHUTDOWN|shutdown|Caught SIG' <<<"$new" ||
                    why "$v: Nagios was told to shut down"
                if [ "$v" = -v ]; then
                    want_nagios_like mail.mxprobe.test 'mail check'
                    continue
                fi
                out=$(nagios_field mail.mxprobe.test 'mail check' plugin_output)
                long=$(nagios_field mail.mxprobe.test 'mail check' long_plugin_output)
                perf=$(nagios_field mail.mxprobe.test 'mail check' performance_data)
                [ "$(wc -c <"$OUT")" -gt 4096 ] || why "-vv: output within PIPE_BUF"
                [ "$out" = "$(head -n 1 "$OUT" | sed 's/ *|.*//')" ] ||
                    why "-vv: Nagios plugin_output '$(clip "$out")'"
                [ "$(perf_norm "$perf")" = "$(perf_norm "$(head -n 1 "$OUT" | sed -n 's/^[^|]*|//p') $(sed -n 's/^|//p' "$OUT")")" ] ||
                    why "-vv: Nagios performance_data '$(clip "$perf")'"
                [[ $long == *'\n[output cut to fit the command file]' ]] ||
                    why "-vv: the long output does not end in the cut note: '$(clip "${long: -120}")'"
                # Whole lines of mxprobe's long output, from the first on,
                # as status.dat writes them (\\ for a backslash).
                want_long=$(sed -n '2,${/^|/q;p}' "$OUT" |
                    awk '{ gsub(/\\/, "&&"); printf "%s\\n", $0 }')
                kept=${long%%\[output cut*}
                if [ -z "$kept" ] || [[ $want_long != "$kept"* ]]; then
                    why "-vv: the long output kept is not the first lines of mxprobe's: '$(clip "$kept")'"
                fi
            done
        else
            why "fakesmtp command-inject did not start: $(cat "$NAGIOS_DIR/inject.log")"
        fi
        kill "$inject_pid" 2>/dev/null
    fi
    finish
fi

nagios_stop
# MXPROBE_IT_TIMES=1: what this file's cases took in all, daemon included.
[ -z "${MXPROBE_IT_TIMES:-}" ] || say "nagios4 cases: $(($(now_ms) - NAGIOS_T0)) ms"
