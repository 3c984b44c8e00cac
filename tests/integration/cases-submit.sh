# tests/integration/cases-submit.sh - passive results (--submit), sourced
# by run.sh after cases.sh.
#
# nagios: a FIFO the test reads (and one nobody reads) and a regular
# file; the lines are checked against the external command format.
# icinga2: the tests' real Icinga 2 (icinga2-lib.sh, icinga2-setup.sh),
# started on first use unless cases-icinga2-check.sh did; each result is
# read back through the API (last_check_result) and compared with what
# mxprobe printed.  The service "mxprobe" of mail.mxprobe.test is the
# shipped passive one (nagios/mxprobe-services.conf).  Every
# target is mail.mxprobe.test (127.0.0.21, the clean Postfix), -C banner.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

SUBMIT_DIR=$TMP/submit
mkdir -p "$SUBMIT_DIR"
# icinga_up, icinga_api, icinga_result, $ICINGA_DIR: the shared Icinga.
. "$HERE/icinga2-lib.sh"

# want_icinga HOST SERVICE: Icinga holds what mxprobe just printed: the
# state is its exit code, the output its status line (without perfdata)
# and the long output after it.
want_icinga() {
    local got state out status
    if ! got=$(icinga_result "$1" "$2"); then
        why "no check result in Icinga for $1!$2"
        return
    fi
    state=$(sed -n 1p <<<"$got")
    out=$(sed -n 2p <<<"$got")
    [ "$state" = "$RC" ] || why "Icinga state $state, mxprobe exit $RC"
    status=$(head -n 1 "$OUT" | sed 's/ *|.*//')
    case $out in
    "$status"*) ;;
    *) why "Icinga output '$out' does not start with '$status'" ;;
    esac
    [ "$(wc -l <"$OUT")" -le 1 ] || case $out in
    *'\n'*) ;;
    *) why "Icinga output lacks the long output" ;;
    esac
    sed -n 3p <<<"$got" | grep -q 'banner_' || why "Icinga has no perfdata"
}

if begin submit_icinga2_ok; then
    if icinga_up; then
        mx 15 -C banner -H mail.mxprobe.test -f "$ICINGA_DIR/mxprobe.yaml" \
            --submit "icinga2:$ICINGA_URL"
        want_out '^MXPROBE (OK|WARNING|CRITICAL) - '
        want_no_out 'mxprobe: submit:'
        want_icinga mail.mxprobe.test mxprobe
        want_icinga_fresh mail.mxprobe.test mxprobe
        want_time 15
    fi
    finish
fi

if begin submit_icinga2_service_name; then
    # submit.service names the service, spaces and all.
    if icinga_up; then
        sed 's/^  service: mxprobe$/  service: smtp relay/' \
            "$ICINGA_DIR/mxprobe.yaml" >"$SUBMIT_DIR/relay.yaml"
        mx 15 -C banner -H mail.mxprobe.test -f "$SUBMIT_DIR/relay.yaml" \
            --submit "icinga2:$ICINGA_URL"
        want_no_out 'mxprobe: submit:'
        want_icinga mail.mxprobe.test 'smtp relay'
        want_time 15
    fi
    finish
fi

if begin submit_icinga2_wrong_password; then
    # The API refuses: the local report is still printed, the exit code
    # is still the check's, and stderr says which result did not go.
    if icinga_up; then
        sed "s|$ICINGA_DIR/password|$ICINGA_DIR/badpassword|" \
            "$ICINGA_DIR/mxprobe.yaml" >"$SUBMIT_DIR/badpw.yaml"
        mx 15 -C banner -H mail.mxprobe.test -f "$SUBMIT_DIR/badpw.yaml" \
            --submit "icinga2:$ICINGA_URL"
        want_status '^MXPROBE (OK|WARNING|CRITICAL) - mail\.mxprobe\.test'
        [ "$RC" -le 2 ] || why "exit $RC: a failed submission is no UNKNOWN"
        want_out '^mxprobe: submit: icinga2: mail\.mxprobe\.test!mxprobe: HTTP 401: Unauthorized'
        want_out '^mxprobe: submit: 1 result did not reach'
        want_time 15
    fi
    finish
fi

if begin submit_icinga2_world_readable_password; then
    # A password file everyone may read is refused before any check.
    echo secret >"$SUBMIT_DIR/open-password"
    chmod 644 "$SUBMIT_DIR/open-password"
    cat >"$SUBMIT_DIR/open.yaml" <<EOF
submit:
  icinga2:
    user: mxprobe
    password_file: $SUBMIT_DIR/open-password
EOF
    mx 10 -C banner -H mail.mxprobe.test -f "$SUBMIT_DIR/open.yaml" \
        --submit "icinga2:$ICINGA_URL"
    want_exit 3
    want_out 'open-password: readable or writable by everyone'
    want_time 10
    finish
fi

# The command-file line of one result of a run on mail.mxprobe.test.
NAGIOS_LINE_RE='^\[([0-9]+)\] PROCESS_SERVICE_CHECK_RESULT;mail\.mxprobe\.test;mxprobe;([0-3]);(MXPROBE [A-Z]+ - mail\.mxprobe\.test.*)$'

# want_nagios_line LINE: LINE is the command for this run's result: the
# documented format, a current epoch, the state of the exit code, the
# status line of stdout, the long output as \n, one line only.
want_nagios_line() {
    local line=$1 now status
    if [[ ! $line =~ $NAGIOS_LINE_RE ]]; then
        why "not a PROCESS_SERVICE_CHECK_RESULT line: '$line'"
        return
    fi
    now=$(date +%s)
    ((now - BASH_REMATCH[1] <= 60 && BASH_REMATCH[1] <= now)) ||
        why "epoch ${BASH_REMATCH[1]} is not now ($now)"
    [ "${BASH_REMATCH[2]}" = "$RC" ] || why "code ${BASH_REMATCH[2]}, exit $RC"
    status=$(head -n 1 "$OUT")
    [ "${BASH_REMATCH[3]:0:${#status}}" = "$status" ] ||
        why "output does not start with the status line '$status'"
    [ "$(wc -l <"$OUT")" -le 1 ] || [[ ${BASH_REMATCH[3]} == *'\n'* ]] ||
        why "the long output is not in the line as \\n"
}

if begin submit_nagios_fifo; then
    fifo=$SUBMIT_DIR/nagios.cmd
    rm -f "$fifo"
    mkfifo "$fifo"
    # Read and write end held by the test: the FIFO has a reader, and
    # reading it after the run does not wait for a writer.
    exec 7<>"$fifo"
    mx 15 -C banner -H mail.mxprobe.test --submit "nagios:$fifo"
    want_no_out 'mxprobe: submit:'
    line=
    IFS= read -r -t 2 line <&7 || why "nothing read from the FIFO"
    want_nagios_line "$line"
    IFS= read -r -t 0.3 extra <&7 && why "a second line: '$extra'"
    exec 7<&-
    want_time 15
    finish
fi

if begin submit_nagios_fifo_no_reader; then
    # Nagios is not running: the local report stands, stderr says so, and
    # nothing waits for a reader.
    fifo=$SUBMIT_DIR/noreader.cmd
    rm -f "$fifo"
    mkfifo "$fifo"
    mx 15 -C banner -H mail.mxprobe.test --submit "nagios:$fifo"
    want_status '^MXPROBE (OK|WARNING|CRITICAL) - mail\.mxprobe\.test'
    want_out '^mxprobe: submit: nagios: mail\.mxprobe\.test!mxprobe: .*no process reads the FIFO'
    want_time 15
    finish
fi

if begin submit_nagios_file; then
    # A regular file: appended to, one line per result.
    file=$SUBMIT_DIR/spool.cmd
    printf 'earlier line\n' >"$file"
    mx 15 -C banner -H mail.mxprobe.test -v --submit "nagios:$file"
    want_no_out 'mxprobe: submit:'
    [ "$(wc -l <"$file")" = 2 ] || why "$(wc -l <"$file") lines in the file, want 2"
    [ "$(head -n 1 "$file")" = "earlier line" ] || why "earlier line lost"
    want_nagios_line "$(sed -n 2p "$file")"
    sed -n 2p "$file" | grep -Eq '\| *banner_' || why "no perfdata in the line"
    want_time 15
    finish
fi

if begin submit_nagios_refused_path; then
    mx 10 -C banner -H mail.mxprobe.test --submit "nagios:$SUBMIT_DIR"
    want_exit 3
    want_out 'not a FIFO or a regular file'
    want_time 10
    finish
fi

if begin submit_nagios_all_targets; then
    # --all: one line per target as each finishes, under the target's own
    # service: when it has one, else submit.service.
    file=$SUBMIT_DIR/all.cmd
    : >"$file"
    cat >"$SUBMIT_DIR/all.yaml" <<EOF2
submit:
  service: mail check
targets:
  - host: mail.mxprobe.test
  - host: 127.0.0.22
    service: smtp relay
EOF2
    mx 20 -C banner --all -f "$SUBMIT_DIR/all.yaml" --submit "nagios:$file"
    want_no_out 'mxprobe: submit:'
    [ "$(wc -l <"$file")" = 2 ] || why "$(wc -l <"$file") lines, want 2"
    grep -Eq '^\[[0-9]+\] PROCESS_SERVICE_CHECK_RESULT;mail\.mxprobe\.test;mail check;[0-3];MXPROBE [A-Z]+ - mail\.mxprobe\.test' "$file" ||
        why "no line for mail.mxprobe.test!mail check"
    grep -Eq '^\[[0-9]+\] PROCESS_SERVICE_CHECK_RESULT;127\.0\.0\.22;smtp relay;[0-3];MXPROBE [A-Z]+ - 127\.0\.0\.22' "$file" ||
        why "no line for 127.0.0.22!smtp relay"
    want_time 20
    finish
fi

if begin submit_icinga2_hostile_text; then
    # A hostile server's text through the API (the fake command-inject
    # on 127.0.0.21:2602, as mail.mxprobe.test: '|', ';', literal "\n",
    # non-UTF-8, bare LF/CR/NUL in its greeting; -vv adds its 100-line
    # transcript): Icinga records mxprobe's state, its output exactly
    # (status line and long output, no perfdata in it) and exactly the
    # perfdata items mxprobe printed, none made of server text.
    if icinga_up; then
        "$PY" "$HERE/fakesmtp.py" --listen 127.0.0.21:2602 \
            --scenario command-inject --name mail.mxprobe.test \
            >"$SUBMIT_DIR/inject.log" 2>&1 9>&- </dev/null &
        inject_pid=$!
        PIDS+=("$inject_pid")
        sed 's/^  service: mxprobe$/  service: smtp relay/' \
            "$ICINGA_DIR/mxprobe.yaml" >"$SUBMIT_DIR/inject.yaml"
        if wait_for 10 tcp_listens 127.0.0.21 2602; then
            mx 15 -C banner -H mail.mxprobe.test -p 2602 -vv \
                -f "$SUBMIT_DIR/inject.yaml" --submit "icinga2:$ICINGA_URL"
            want_no_out 'mxprobe: submit:'
            grep -q 'SHUTDOWN_PROGRAM' "$OUT" ||
                why "the server's text is not in the output (the case tests nothing)"
            got=$(icinga_api "/v1/objects/services?service=mail.mxprobe.test!smtp%20relay&attrs=last_check_result" |
                "$PY" -c '
import json, sys
cr = json.load(sys.stdin)["results"][0]["attrs"]["last_check_result"]
lines = open(sys.argv[1], encoding="utf-8", errors="surrogateescape").read().rstrip("\n").split("\n")
status, _, perf = lines[0].partition("|")
long = [l for l in lines[1:] if not l.startswith("|")]
perf = perf.split() + [w for l in lines[1:] if l.startswith("|") for w in l[1:].split()]
# As mxprobe sends it: the status line and the long output, each trimmed.
want = status.rstrip() + "".join("\n" + l for l in long).rstrip(" \t\r\n")
bad = []
if int(cr["state"]) != int(sys.argv[2]):
    bad.append("state %s, mxprobe exit %s" % (cr["state"], sys.argv[2]))
if cr["output"] != want:
    bad.append("output differs at %d" % next((i for i, (a, b) in enumerate(zip(cr["output"], want)) if a != b), min(len(cr["output"]), len(want))))
if cr["performance_data"] != perf:
    bad.append("perfdata %r, mxprobe %r" % (cr["performance_data"], perf))
if cr["active"]:
    bad.append("the last result is an active one")
print("; ".join(bad))' "$OUT" "$RC" 2>&1) || got="cannot read mail.mxprobe.test!smtp relay: $got"
            [ -z "$got" ] || why "Icinga: $got"
        else
            why "fakesmtp command-inject did not start: $(cat "$SUBMIT_DIR/inject.log")"
        fi
        kill "$inject_pid" 2>/dev/null
        want_time 15
    fi
    finish
fi
