# tests/integration/icinga2-lib.sh - the private Icinga 2 of the
# integration tests, sourced by cases-icinga2-check.sh and
# cases-submit.sh: whichever comes first starts it, on first use, and
# run.sh's cleanup stops it (its pid is in PIDS).  icinga2-setup.sh makes
# its config: the API on 127.0.0.1:$ICINGA_PORT with a certificate of the
# test CA, a checker, the shipped nagios/mxprobe.conf and
# mxprobe-services.conf, and the test hosts.  Sourcing it twice changes
# nothing.
#
# shellcheck shell=bash disable=SC2034 # read by the cases files

if [ -z "${ICINGA_DIR:-}" ]; then
    ICINGA_PORT=15665
    ICINGA_DIR=$TMP/icinga2
    ICINGA_URL=https://127.0.0.1:$ICINGA_PORT
    ICINGA_STARTED=
fi

# icinga_api [-X METHOD JSON] PATH [USER PASSWORD_FILE]: a request to the
# test's Icinga (default user: mxprobe); the body on stdout, exit 1
# unless HTTP 200.
icinga_api() {
    local method=GET data=
    if [ "$1" = -X ]; then
        method=$2
        data=$3
        shift 3
    fi
    "$PY" - "$ICINGA_URL$1" "$TLS/ca.pem" "${2:-mxprobe}" \
        "${3:-$ICINGA_DIR/password}" "$method" "$data" <<'EOF'
import base64, ssl, sys, urllib.request
url, ca, user, pwfile, method, data = sys.argv[1:7]
pw = open(pwfile).read().strip()
req = urllib.request.Request(url, method=method,
    data=data.encode() if data else None, headers={
    "Accept": "application/json",
    "Content-Type": "application/json",
    "Authorization": "Basic " + base64.b64encode(
        (user + ":" + pw).encode()).decode()})
ctx = ssl.create_default_context(cafile=ca)
try:
    with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
        sys.stdout.write(r.read().decode())
except Exception as e:
    sys.stderr.write(str(e) + "\n")
    sys.exit(1)
EOF
}

# icinga_up: the Icinga of these cases, started once; false (with the
# reason as the case's) when it cannot be.
icinga_up() {
    [ -n "$ICINGA_STARTED" ] && return 0
    # Without a run, finish still shows this case's (empty) files.
    OUT=$TMP/cases/$CASE.out
    ERR=$TMP/cases/$CASE.err
    : >"$OUT"
    : >"$ERR"
    : >"$TMP/cases/$CASE.cmd"
    if ! command -v icinga2 >/dev/null; then
        why "icinga2 not installed (make deps)"
        return 1
    fi
    if tcp_listens 127.0.0.1 "$ICINGA_PORT" 2>/dev/null; then
        why "127.0.0.1:$ICINGA_PORT in use, by an earlier run's leftovers?"
        return 1
    fi
    mkdir -p "$ICINGA_DIR"
    if ! sh "$HERE/icinga2-setup.sh" "$ICINGA_DIR" "$TLS/ca.pem" \
        "$TLS/ca.key" "$ICINGA_PORT" "$MXPROBE" "$DNS" "$PORT" >"$ICINGA_DIR/setup.log" 2>&1; then
        why "icinga2-setup.sh failed: $(tail -n 3 "$ICINGA_DIR/setup.log")"
        return 1
    fi
    # The checks Icinga runs inherit its environment: MXPROBE_CONFIG
    # (empty, run.sh: the built-in config) among it.
    # shellcheck disable=SC2046 # one option a line
    icinga2 daemon -c "$ICINGA_DIR/icinga2.conf" $(cat "$ICINGA_DIR/defines") \
        >"$ICINGA_DIR/daemon.log" 2>&1 </dev/null 9>&- &
    PIDS+=($!)
    ICINGA_STARTED=1
    # The ApiUser may query services and nothing else: ask for one.
    if ! wait_for 30 icinga_api \
        "/v1/objects/services?service=mail.mxprobe.test!mxprobe"; then
        why "Icinga 2 API did not come up: $(tail -n 3 "$ICINGA_DIR/daemon.log")"
        return 1
    fi
}

# icinga_result HOST SERVICE: the service's last check result as three
# lines: state, output (its newlines as \n), perfdata items joined by ' '.
icinga_result() {
    icinga_api "/v1/objects/services?service=$1!${2// /%20}&attrs=last_check_result" |
        "$PY" -c '
import json, sys
cr = json.load(sys.stdin)["results"][0]["attrs"]["last_check_result"]
if cr is None:
    sys.exit(1)
print(int(cr["state"]))
print(cr["output"].replace("\n", "\\n"))
print(" ".join(cr["performance_data"]))'
}

# want_icinga_fresh HOST SERVICE: the passive result just received moved
# the service's next check (its freshness check: the shipped passive
# service runs the ITL's "passive" then) to check_interval from now.
want_icinga_fresh() {
    local got
    got=$(icinga_api "/v1/objects/services?service=$1!${2// /%20}&attrs=next_check&attrs=check_interval&attrs=last_check_result" |
        "$PY" -c '
import json, sys, time
a = json.load(sys.stdin)["results"][0]["attrs"]
cr = a["last_check_result"]
if cr is None:
    sys.exit("no check result")
due = a["next_check"] - cr["execution_end"]
if cr["active"]:
    print("the last result is an active one, not the submitted")
elif abs(due - a["check_interval"]) > 5:
    print("next check %.0f s after the result, want check_interval %.0f s"
          % (due, a["check_interval"]))') || got="cannot read $1!$2"
    [ -z "$got" ] || why "freshness: $got"
}
