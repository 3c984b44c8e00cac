# tests/integration/cases-icinga2-check.sh - a real Icinga 2 runs
# mxprobe, sourced by run.sh.
#
# The tests' Icinga (icinga2-lib.sh, started here on first use) loads the
# shipped nagios/mxprobe.conf and mxprobe-services.conf as a user does;
# PluginDir is a folder with check_mxprobe, a link to $MXPROBE.  Its
# hosts postfix-clean (127.0.0.21) and postfix-listed (127.0.0.25, on two
# test DNSBLs) get their services from the shipped apply rules.  Each
# case forces one check through the API (reschedule-check, force: the
# program-wide active checks are off, nothing else runs), waits for its
# result, reads it back (GET /v1/objects/services, last_check_result)
# and runs the very command line Icinga ran: Icinga's state, output and
# perfdata must be what mxprobe prints for it.  The passive case forces
# the shipped passive service's own check: what a missing --submit
# result turns into.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

. "$HERE/icinga2-lib.sh"

# icinga_force HOST SERVICE: force a check now, and wait (at most 20 s)
# for its result; its last_check_result (JSON) in $TMP/cases/$CASE.cr.
icinga_force() {
    local t0 svc="service=$1!$2"
    t0=$(date +%s.%N)
    if ! icinga_api -X POST '{"force": true}' \
        "/v1/actions/reschedule-check?$svc" test "$ICINGA_DIR/test-password" \
        >"$TMP/cases/$CASE.reschedule" 2>&1; then
        why "reschedule-check $1!$2: $(cat "$TMP/cases/$CASE.reschedule")"
        return 1
    fi
    if ! wait_for 20 icinga_checked_since "$svc" "$t0"; then
        why "no new check result of $1!$2 in Icinga within 20 s"
        return 1
    fi
}

# icinga_checked_since QUERY T0: the service's last check ran after T0;
# its last_check_result into $TMP/cases/$CASE.cr.
icinga_checked_since() {
    icinga_api "/v1/objects/services?$1&attrs=last_check_result" test \
        "$ICINGA_DIR/test-password" | "$PY" -c '
import json, sys
cr = json.load(sys.stdin)["results"][0]["attrs"]["last_check_result"]
if not cr or cr["schedule_start"] < float(sys.argv[1]):
    sys.exit(1)
json.dump(cr, open(sys.argv[2], "w"))' "$2" "$TMP/cases/$CASE.cr"
}

# run_as_icinga: run the command line of $CASE.cr (what Icinga ran) here,
# like mx: OUT, ERR, RC, ELAPSED_MS.
run_as_icinga() {
    local argv=() start
    mapfile -d '' argv < <("$PY" -c '
import json, sys
for a in json.load(open(sys.argv[1]))["command"]:
    sys.stdout.write(a + "\0")' "$TMP/cases/$CASE.cr")
    OUT=$TMP/cases/$CASE.out
    ERR=$TMP/cases/$CASE.err
    printf '%q ' "${argv[@]}" >"$TMP/cases/$CASE.cmd"
    start=$(now_ms)
    timeout -k 2 60 "${argv[@]}" >"$OUT" 2>"$ERR" </dev/null 9>&-
    RC=$?
    ELAPSED_MS=$(($(now_ms) - start))
}

# want_icinga_command ARG...: Icinga ran PluginDir/check_mxprobe with
# these arguments (pairs stay pairs), and with none of the other flags
# (-4, -6, -v, -vv, -vvv).
want_icinga_command() {
    local got
    got=$("$PY" - "$TMP/cases/$CASE.cr" "$ICINGA_DIR/plugins/check_mxprobe" "$@" <<'EOF'
import json, sys
cmd = json.load(open(sys.argv[1]))["command"]
want = sys.argv[3:]
bad = []
if cmd[0] != sys.argv[2]:
    bad.append("ran %s, not PluginDir/check_mxprobe" % cmd[0])
args = cmd[1:]
i = 0
while i < len(want):
    if want[i].startswith("-") and i + 1 < len(want) and not want[i + 1].startswith("-"):
        pair = want[i:i + 2]
        if not any(args[j:j + 2] == pair for j in range(len(args))):
            bad.append("no '%s %s'" % tuple(pair))
        i += 2
    else:
        if want[i] not in args:
            bad.append("no %s" % want[i])
        i += 1
for flag in ("-4", "-6", "-v", "-vv", "-vvv"):
    if flag in args and flag not in want:
        bad.append("flag %s set" % flag)
print("; ".join(bad))
EOF
)
    [ -z "$got" ] || why "Icinga's command line: $got"
}

# want_icinga_same: the result Icinga recorded is what mxprobe printed
# now for the same command line: the state its exit code, the output
# its text (Icinga's parsing: the text of every line, perfdata after a
# '|' cut off; ends trimmed) and the same perfdata items, labels and
# all (a time's value aside).
want_icinga_same() {
    local got
    got=$("$PY" - "$TMP/cases/$CASE.cr" "$OUT" "$RC" <<'EOF'
import json, re, sys
cr = json.load(open(sys.argv[1]))
out = open(sys.argv[2]).read()
rc = int(sys.argv[3])
# Icinga 2's PluginUtility::ParseCheckOutput.
text, perf = [], []
for line in re.split(r"[\r\n]", out):
    d = line.find("|")
    if d >= 0 and "=" in line[d:]:
        text.append(line[:d])
        perf.append(line[d + 1:])
    else:
        text.append(line)
text = "\n".join(text).strip()
perf = " ".join(perf).split()
def norm(items):
    return [re.sub(r"=[0-9.]+s(;|$)", r"=Ts\1", p) for p in items]
bad = []
if cr["exit_status"] != rc or int(cr["state"]) != rc:
    bad.append("Icinga exit_status %s state %s, mxprobe exit %d"
               % (cr["exit_status"], cr["state"], rc))
if cr["output"].strip() != text:
    bad.append("Icinga output %r, mxprobe %r" % (cr["output"], text))
if norm(cr["performance_data"]) != norm(perf) or not perf:
    bad.append("Icinga perfdata %r, mxprobe %r" % (cr["performance_data"], perf))
print("; ".join(bad))
EOF
)
    [ -z "$got" ] || why "$got"
}

if begin icinga2_check_banner; then
    # OK: the clean Postfix, -C banner, through the shipped apply rule.
    if icinga_up && icinga_force postfix-clean mxprobe-banner; then
        want_icinga_command -C banner -H 127.0.0.21 -p "$PORT" \
            -D mxprobe.test -t 15 --dns-server "$DNS" -o nagios
        run_as_icinga
        want_exit 0
        want_status '^MXPROBE OK - 127\.0\.0\.21: greeting mail\.mxprobe\.test'
        want_icinga_same
        want_time 15
    fi
    finish
fi

if begin icinga2_check_dnsbl_critical; then
    # CRITICAL: on 2 of 3 lists, -w 0 -c 1 of the apply rule, the lists
    # from the host's mxprobe_set (an array: --set repeated), -v from its
    # mxprobe_verbose 1, no -D (the host has no mail_domain).
    if icinga_up && icinga_force postfix-listed mxprobe-dnsbl; then
        want_icinga_command -C dnsbl -H 127.0.0.25 -w 0 -c 1 -v -p "$PORT" \
            --dns-server "$DNS" --set \
            'dnsbl.zones=[ip-dnsxl.test, {zone: bl2.mxprobe.test, severity: critical}, clean.mxprobe.test]'
        grep -q '"-D"' "$TMP/cases/$CASE.cr" && why "-D without a mail_domain"
        run_as_icinga
        want_exit 2
        want_status '^MXPROBE CRITICAL - 127\.0\.0\.25: on 2/3 DNSBLs'
        want_icinga_same
        want_time 15
    fi
    finish
fi

if begin icinga2_passive_stale; then
    # The shipped passive service's own check, which Icinga runs when no
    # result came within check_interval: UNKNOWN with the shipped text.
    no_mx
    if icinga_up && icinga_force mail.mxprobe.test mxprobe; then
        icinga_api "/v1/objects/services?service=mail.mxprobe.test!mxprobe&attrs=check_command&attrs=enable_active_checks&attrs=enable_passive_checks&attrs=check_interval&attrs=max_check_attempts" \
            test "$ICINGA_DIR/test-password" >"$TMP/cases/$CASE.attrs" ||
            why "cannot read the service's attributes"
        got=$("$PY" - "$TMP/cases/$CASE.cr" "$TMP/cases/$CASE.attrs" \
            "$HERE/../../nagios/mxprobe-services.conf" <<'EOF'
import json, re, sys
cr = json.load(open(sys.argv[1]))
attrs = json.load(open(sys.argv[2]))["results"][0]["attrs"]
conf = open(sys.argv[3]).read()
rule = conf[conf.index('apply Service "mxprobe" {'):]
text = re.search(r'vars\.dummy_text = "([^"]*)"', rule).group(1)
bad = []
if int(cr["state"]) != 3:
    bad.append("state %s, want 3 (UNKNOWN)" % cr["state"])
if cr["output"] != text:
    bad.append("output %r, want the shipped %r" % (cr["output"], text))
if cr["command"] != "passive":
    bad.append("ran %r, not the ITL's passive" % cr["command"])
want = {"check_command": "passive", "enable_active_checks": True,
        "enable_passive_checks": True, "check_interval": 1800.0,
        "max_check_attempts": 1.0}
for k, v in want.items():
    if attrs.get(k) != v:
        bad.append("%s %r, want %r" % (k, attrs.get(k), v))
print("; ".join(bad))
EOF
        )
        [ -z "$got" ] || why "$got"
    fi
    finish
fi
