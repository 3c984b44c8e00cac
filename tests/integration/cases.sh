# tests/integration/cases.sh - the integration cases, sourced by run.sh.
#
# Each case runs mxprobe against the loopback servers run.sh started and
# asserts exit code, output and run time.  Expected wordings are the
# plugins' documented contract (DESIGN.md, the plugin contract): when
# mxprobe words it differently, fix one of them, do not loosen the test.
# Add a case with expect_run for the plain shape, or begin/mx/want_*/
# finish when a case needs more than one assertion.
#
# Targets (see run.sh and zones/): .21 Postfix mail.mxprobe.test (clean),
# .22 Postfix greeting mail.elsewhere.test (PTR smtp.mxprobe.test), .23
# generic PTR, .24 no PTR, .25 listed on the test DNSBLs, .26 PTR without
# FCrDNS, .41-.50 fakesmtp scenarios, .49 nothing listening.
#
# shellcheck shell=bash disable=SC2034 # MX_ENV etc. are read by run.sh

# bl2 weighs critical (its listing alone makes the check CRITICAL), the
# others the default, warning.
ZONES3='dnsbl.zones=[ip-dnsxl.test, {zone: bl2.mxprobe.test, severity: critical}, clean.mxprobe.test]'
ZONES2='dnsbl.zones=[ip-dnsxl.test, bl2.mxprobe.test]'
ZONES_BAD='dnsbl.zones=[clean.mxprobe.test, errcode.mxprobe.test, '\
'wildcard.mxprobe.test, notest.mxprobe.test, outside.mxprobe.test]'
ZONES_ALL_BAD='dnsbl.zones=[errcode.mxprobe.test, wildcard.mxprobe.test, '\
'notest.mxprobe.test]'

# want_exit_in CODES...: the exit code is one of CODES.
want_exit_in() {
    local c
    for c in "$@"; do [ "$RC" = "$c" ] && return 0; done
    why "exit $RC, want one of $*"
}

# want_clean_bytes: no raw NUL or ESC (or other C0 control besides \t \n)
# in anything mxprobe printed: network text must be escaped.
want_clean_bytes() {
    "$PY" - "$OUT" "$ERR" <<'EOF' || why "raw control bytes in output"
import re, sys
data = open(sys.argv[1], "rb").read() + open(sys.argv[2], "rb").read()
sys.exit(1 if re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", data) else 0)
EOF
}

# ------------------------------------------------------------ setup

if begin servers_on_loopback_only; then
    # Safety of the harness itself: every socket our servers listen on is
    # in 127.0.0.0/8 or ::1.  (No mxprobe run: OUT/ERR hold the ss
    # listing.)
    OUT=$TMP/cases/$CASE.out ERR=$TMP/cases/$CASE.err RC=0 ELAPSED_MS=0
    : >"$ERR"
    echo "(ss -lntup)" >"$TMP/cases/$CASE.cmd"
    ours=" ${PIDS[*]} "
    for d in "${POSTFIXES[@]}"; do
        ours="$ours$(tr -d ' ' <"$d/../queue/pid/master.pid" 2>/dev/null) "
    done
    ss -H -lntup >"$OUT"
    while read -r _ _ _ _ local _ users; do
        for p in $(printf '%s\n' "$users" | grep -o 'pid=[0-9]*'); do
            p=${p#pid=}
            case $ours in *" $p "*)
                case $local in
                127.* | "[::1]:"*) ;;
                *) why "pid $p listens on $local" ;;
                esac
                ;;
            esac
        done
    done <"$OUT"
    grep -q '127\.0\.0\.53:5353' "$OUT" || why "knotd not seen listening"
    grep -q '127\.0\.0\.21:2525.*master' "$OUT" || why "postfix not seen"
    finish
fi

# ------------------------------------------------------------ banner

expect_run banner_clean_postfix 0 '^MXPROBE OK - .*matches PTR' 10 -- \
    -C banner -H 127.0.0.21

expect_run banner_mismatch 1 \
    'greeting names mail\.elsewhere\.test, PTR is smtp\.mxprobe\.test' 10 -- \
    -C banner -H 127.0.0.22

expect_run banner_generic_ptr 1 \
    'PTR dsl-127-0-0-23\.pool\.isp\.test looks generic \(' 10 -- \
    -C banner -H 127.0.0.23

expect_run banner_no_ptr 1 'no PTR record for 127\.0\.0\.24' 10 -- \
    -C banner -H 127.0.0.24

expect_run banner_fcrdns 1 'PTR nofcrdns\.mxprobe\.test .*FCrDNS' 10 -- \
    -C banner -H 127.0.0.26

if begin banner_hostname_target; then
    # -H as a name: resolved through --dns-server, not the system resolver.
    mx 10 -C banner -H mail.mxprobe.test
    want_exit 0
    want_status '^MXPROBE OK - mail\.mxprobe\.test \[127\.0\.0\.21\]'
    finish
fi

if begin banner_silent; then
    mx 3 -C banner -H 127.0.0.41
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*no greeting'
    want_time 3
    [ "$ELAPSED_MS" -ge 2500 ] || why "gave up after $ELAPSED_MS ms, before -t"
    finish
fi

if begin banner_slow_greeting; then
    # 1 byte/s never completes a line: the per-command timeout (2 s), not
    # the idle time between bytes, must end the wait.
    mx 10 -C banner -H 127.0.0.42 --set probe.command_timeout=2
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*no greeting'
    want_time 3
    finish
fi

expect_run banner_endless_ehlo 2 'more than 128 reply lines' 10 -- \
    -C banner -H 127.0.0.43

expect_run banner_huge_line 2 'longer than' 10 -- \
    -C banner -H 127.0.0.44

if begin banner_garbage; then
    # Random bytes with NUL and ESC: quoted in the report, never raw.
    mx 10 -vv -C banner -H 127.0.0.45
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*malformed reply'
    want_clean_bytes
    finish
fi

if begin banner_nul_greeting; then
    # -vv: the transcript carries the greeting with its NUL and ESC.
    mx 10 -vv -C banner -H 127.0.0.46
    want_exit_in 0 1 2
    want_status '^MXPROBE (OK|WARNING|CRITICAL) - '
    want_out 'fa.*ke .*red'
    want_clean_bytes
    want_time 10
    finish
fi

expect_run banner_helo_only 1 'EHLO refused, HELO accepted' 10 -- \
    -C banner -H 127.0.0.47

expect_run banner_refuse_554 2 'greeting refuses service: 554' 10 -- \
    -C banner -H 127.0.0.48

if begin banner_close_after_greeting; then
    # Not in the contract's wording list: only "a problem, found quickly".
    mx 10 -C banner -H 127.0.0.50
    want_exit_in 1 2
    want_time 4
    finish
fi

expect_run banner_connection_refused 2 \
    'no SMTP service: connection refused' 10 -- -C banner -H 127.0.0.49

if begin banner_perfdata; then
    mx 10 -C banner -H 127.0.0.21
    want_exit 0
    # The main metric on the status line; all of them, in the contract's
    # order, once the perfdata of the status line and of the long output
    # (after its "|") are put together.
    want_status '\| *banner_greeting=[0-9.]+s'
    sed -n 's/^[^|]*| *//p' "$OUT" | tr '\n' ' ' >"$OUT.perf"
    grep -Eq '^banner_greeting=[0-9.]+s[^ ]* +banner_connect=[0-9.]+s[^ ]* +banner_ehlo=[0-9.]+s' \
        "$OUT.perf" || why "perfdata not in order: $(cat "$OUT.perf")"
    finish
fi

if begin banner_verbose_extensions; then
    mx 10 -v -C banner -H 127.0.0.21
    want_exit 0
    want_out '^\[OK\] banner: .*matches PTR'
    want_out 'EHLO extensions: .*PIPELINING.*SIZE 10240000'
    finish
fi

# ------------------------------------------------------------ dnsbl

expect_run dnsbl_clean 0 '^MXPROBE OK - .*not listed on 3 DNSBLs' 10 -- \
    -C dnsbl -H 127.0.0.21 --set "$ZONES3"

if begin dnsbl_listed; then
    mx 10 -C dnsbl -H 127.0.0.25 --set "$ZONES3"
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*on 2/3 DNSBLs \((ip-dnsxl\.test, bl2\.mxprobe\.test|bl2\.mxprobe\.test, ip-dnsxl\.test)\)'
    want_out 'listed on bl2\.mxprobe\.test \(127\.0\.0\.4[^)]*\): 127\.0\.0\.25 listed on bl2, see https://bl2\.mxprobe\.test/'
    want_out 'listed on ip-dnsxl\.test \(127\.0\.0\.2[^)]*\): 127\.0\.0\.25 listed on ip-dnsxl for testing'
    want_out 'dnsbl_listed=2;0;2;0;3( |$)'
    want_out 'dnsbl_info=0;;;0;3( |$)'
    want_out 'dnsbl_errors=0;;;0;3( |$)'
    want_out 'dnsbl_zones=3( |$)'
    want_out 'dnsbl_time=[0-9.]+s'
    want_no_out 'list error'
    finish
fi

expect_run dnsbl_one_listing_warns 1 '^MXPROBE WARNING - .*on 1/2 DNSBLs \(ip-dnsxl\.test\)' 10 -- \
    -C dnsbl -H 127.0.0.25 \
    --set 'dnsbl.zones=[ip-dnsxl.test, clean.mxprobe.test]'

# ------------------------------------------------------------ severities
# A listing's state is its severity; the ranges on the count of non-info
# listings (default 0 and 2) are an extra bound.

if begin dnsbl_severity_info; then
    # A policy listing (like Spamhaus PBL): shown, not counted, OK.
    mx 10 -v -C dnsbl -H 127.0.0.25 \
        --set 'dnsbl.zones=[{zone: bl2.mxprobe.test, severity: critical, codes: {127.0.0.4: {name: PBL, severity: info}}}, clean.mxprobe.test]'
    want_exit 0
    want_status '^MXPROBE OK - .*on 1/2 DNSBLs \(info: bl2\.mxprobe\.test\)'
    want_out '^\[OK\] dnsbl: listed on bl2\.mxprobe\.test \(127\.0\.0\.4 PBL\), info only: 127\.0\.0\.25 listed on bl2'
    want_status 'dnsbl_listed=0;0;2;0;2$'
    want_out 'dnsbl_info=1;;;0;2( |$)'
    finish
fi

if begin dnsbl_severity_critical; then
    # One listing on a list that weighs critical is enough.
    mx 10 -v -C dnsbl -H 127.0.0.25 \
        --set 'dnsbl.zones=[{zone: bl2.mxprobe.test, severity: critical}, clean.mxprobe.test]'
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*on 1/2 DNSBLs \(bl2\.mxprobe\.test\)'
    want_out '^\[CRITICAL\] dnsbl: listed on bl2\.mxprobe\.test \(127\.0\.0\.4\)'
    want_status 'dnsbl_listed=1;0;2;0;2$'
    finish
fi

if begin dnsbl_severity_warning; then
    # A code's own severity wins over its zone's.
    mx 10 -v -C dnsbl -H 127.0.0.25 \
        --set 'dnsbl.zones=[{zone: bl2.mxprobe.test, severity: info, codes: {127.0.0.4: {name: L1, severity: warning}}}, clean.mxprobe.test]'
    want_exit 1
    want_status '^MXPROBE WARNING - .*on 1/2 DNSBLs \(bl2\.mxprobe\.test\)'
    want_out '^\[WARNING\] dnsbl: listed on bl2\.mxprobe\.test \(127\.0\.0\.4 L1\)'
    finish
fi

# Two lists of the default weight agree: still a warning by default...
expect_run dnsbl_two_warnings 1 '^MXPROBE WARNING - .*on 2/2 DNSBLs.*dnsbl_listed=2;0;2;0;2' 10 -- \
    -C dnsbl -H 127.0.0.25 --set "$ZONES2"
# ...unless a range on the count says two are critical.
expect_run dnsbl_count_bound 2 '^MXPROBE CRITICAL - .*on 2/2 DNSBLs.*dnsbl_listed=2;0;1;0;2' 10 -- \
    -C dnsbl -H 127.0.0.25 --set "$ZONES2" -w 0 -c 1

if begin dnsbl_severity_config_error; then
    cat >"$TMP/badsev.yaml" <<'EOF'
checks: [dnsbl]
plugins:
  dnsbl:
    zones:
      - { zone: bl2.mxprobe.test, severity: high }
EOF
    mx 10 -f "$TMP/badsev.yaml" -H 127.0.0.25
    want_exit 3
    want_out 'badsev\.yaml:5:45: plugins\.dnsbl: zones: severity of bl2\.mxprobe\.test: .high. is not critical, warning or info'
    finish
fi

if begin dnsbl_code_config_error; then
    cat >"$TMP/badcode.yaml" <<'EOF'
checks: [dnsbl]
plugins:
  dnsbl:
    zones:
      - zone: bl2.mxprobe.test
        codes:
          127.0.0.4: { name: XBL, severity: loud }
EOF
    mx 10 -f "$TMP/badcode.yaml" -H 127.0.0.25
    want_exit 3
    want_out 'badcode\.yaml:7:45: plugins\.dnsbl: zones: severity of bl2\.mxprobe\.test code 127\.0\.0\.4: .loud. is not critical'
    finish
fi

expect_run dnsbl_zone_codes 1 \
    'listed on bl2\.mxprobe\.test \(127\.0\.0\.4 XBL\)' 10 -- \
    -C dnsbl -H 127.0.0.25 \
    --set 'dnsbl.zones=[{zone: bl2.mxprobe.test, codes: {127.0.0.4: XBL}}]'

if begin dnsbl_list_errors; then
    # Every broken list answers "listed" for 127.0.0.25 in its own way;
    # none of them may count.
    mx 10 -v -C dnsbl -H 127.0.0.25 --set "$ZONES_BAD"
    want_exit_in 0 3
    want_out 'dnsbl_listed=0;'
    want_out 'dnsbl_errors=4;'
    want_status 'not listed on 1/5 DNSBLs, 4 list errors'
    want_out 'list error on errcode\.mxprobe\.test: '
    want_out 'list error on wildcard\.mxprobe\.test: .*self-test failed: 127\.0\.0\.1 is listed'
    want_out 'list error on notest\.mxprobe\.test: .*self-test failed: 127\.0\.0\.2 not listed'
    want_out 'list error on outside\.mxprobe\.test: '
    want_out 'not listed on clean\.mxprobe\.test'
    want_no_out 'listed on (errcode|wildcard|notest|outside)\.mxprobe\.test \('
    finish
fi

expect_run dnsbl_all_failed 3 '^MXPROBE UNKNOWN - .*all 3 DNSBLs failed' 10 -- \
    -C dnsbl -H 127.0.0.25 --set "$ZONES_ALL_BAD"

if begin dnsbl_zone_timeout; then
    # slow.mxprobe.test never answers (the forwarder drops it): the other
    # lists are still reported and the run ends within -t, which is
    # shorter than c-ares' and the config's own DNS timeouts.
    mx 4 -C dnsbl -H 127.0.0.25 --dns-server "$DROP_DNS" \
        --set 'dnsbl.zones=[ip-dnsxl.test, bl2.mxprobe.test, slow.mxprobe.test]'
    want_exit 1
    want_status 'on 2/3 DNSBLs'
    want_status 'on 2/3 DNSBLs \(ip-dnsxl\.test, bl2\.mxprobe\.test\), 1 list error( |$)'
    want_out 'list error on slow\.mxprobe\.test'
    want_time 4
    finish
fi

# Ranges that tolerate listings do not hide a listing's own severity.
expect_run dnsbl_thresholds 1 'dnsbl_listed=2;5;5;0;2( |$)' 10 -- \
    -C dnsbl -H 127.0.0.25 --set "$ZONES2" -w 5 -c 5

if begin dnsbl_zones_file; then
    cat >"$TMP/zones.yaml" <<'EOF'
zones:
  - ip-dnsxl.test
  - { zone: bl2.mxprobe.test, severity: critical, codes: { 127.0.0.4: XBL } }
  - clean.mxprobe.test
EOF
    cat >"$TMP/zonesfile.yaml" <<EOF
checks: [dnsbl]
plugins:
  dnsbl:
    zones_file: $TMP/zones.yaml
EOF
    mx 10 -f "$TMP/zonesfile.yaml" -H 127.0.0.25
    want_exit 2
    want_status 'on 2/3 DNSBLs'
    want_out 'listed on bl2\.mxprobe\.test \(127\.0\.0\.4 XBL\)'
    finish
fi

# ------------------------------------------------------------ core

if begin banner_dns_black_hole; then
    # A DNS server that never answers the PTR lookup must not make a
    # working SMTP server look dead: SMTP is tested first and the PTR
    # failure is UNKNOWN, never "no SMTP service".
    mx 5 -C banner -H 127.0.0.21 --dns-server "$HOLE_DNS"
    want_exit 3
    want_status 'PTR lookup for 127\.0\.0\.21 failed: timeout'
    want_no_out 'no SMTP service'
    want_out 'banner_greeting=0\.[0-9]+s'
    want_time 5
    finish
fi

# IPv6 end to end: the PTR from ip6.arpa, forward-confirmed by AAAA.
expect_run banner_ipv6 0 '^MXPROBE OK - ::1: greeting mail6\.mxprobe\.test matches PTR' 10 -- \
    -C banner -H ::1

# An IPv6 address on a DNSBL: nibble names, and the list's IPv6
# self-test entries (::FFFF:7F00:2 listed, ::FFFF:7F00:1 not).
if begin dnsbl_ipv6_listed; then
    mx 10 -C dnsbl -H 2001:db8::1 --set 'dnsbl.zones=[ip-dnsxl.test]'
    want_exit 1
    want_status 'on 1/1 DNSBLs \(ip-dnsxl\.test\)'
    want_out 'listed on ip-dnsxl\.test \(127\.0\.0\.2\): 2001:db8::1 listed for testing'
    finish
fi

# bl2.mxprobe.test has no IPv6 test entry: an IPv4-only list, skipped for
# an IPv6 address rather than counted as an error or as "not listed".
if begin dnsbl_ipv6_ipv4_only_list; then
    mx 10 -v -C dnsbl -H 2001:db8::1 \
        --set 'dnsbl.zones=[ip-dnsxl.test, bl2.mxprobe.test]'
    want_exit 1
    want_status 'on 1/1 DNSBLs \(ip-dnsxl\.test\), 1 IPv4-only skipped'
    want_out 'skipped bl2\.mxprobe\.test: no IPv6 test entry'
    want_out 'dnsbl_errors=0;'
    finish
fi

if begin core_two_checks; then
    mx 10 -C banner,dnsbl -H 127.0.0.25 --set "$ZONES3"
    want_exit 2
    want_status '^MXPROBE CRITICAL - listed\.mxprobe\.test \[127\.0\.0\.25\]|^MXPROBE CRITICAL - 127\.0\.0\.25'
    want_status 'on 2/3 DNSBLs'
    want_status 'banner_greeting=.*dnsbl_listed=|dnsbl_listed=.*banner_greeting='
    want_out '^\[OK\] banner: .*matches PTR'
    want_out '^\[CRITICAL\] dnsbl: on 2/3 DNSBLs'
    finish
fi

if begin core_crash_and_hang; then
    MX_ENV=(MXPROBE_PLUGIN_PATH="$BUILD/test-plugins")
    ALLOW_SANITIZER=1 # crash.so crashes on purpose
    mx 5 -C banner,crash,hang -H 127.0.0.21
    want_exit 3
    want_status '^MXPROBE UNKNOWN - '
    want_out '^\[OK\] banner: .*matches PTR'
    want_out '^\[UNKNOWN\] crash: .*crashed'
    want_out '^\[UNKNOWN\] hang: .*did not finish'
    want_time 5
    finish
fi

if begin core_plugin_bad_abi; then
    # Refused before any of its code runs (its run() would abort).
    MX_ENV=(MXPROBE_PLUGIN_PATH="$BUILD/test-plugins")
    mx 5 -C banner,badabi -H 127.0.0.21
    want_exit 3
    want_out 'badabi.*ABI'
    want_no_out 'crashed|Abort|abort'
    finish
fi

if begin core_plugin_path; then
    # MXPROBE_PLUGIN_PATH is a colon list; a missing dir does no harm.
    mkdir -p "$TMP/plugins-ok"
    cp "$BUILD/test-plugins/noop.so" "$TMP/plugins-ok/"
    chmod 644 "$TMP/plugins-ok/noop.so"
    MX_ENV=(MXPROBE_PLUGIN_PATH="$TMP/no-such-dir:$TMP/plugins-ok")
    mx 5 -C noop,dnsbl -H 127.0.0.21 --set "$ZONES3"
    want_exit 0
    want_out '^\[OK\] noop: nothing checked'
    want_out '^\[OK\] dnsbl: not listed on 3 DNSBLs'
    finish
fi

if begin core_config_from_environment; then
    # Without -f, $MXPROBE_CONFIG names the config file (as the system
    # file would): its error is said with its file:line:col.
    printf 'probe:\n  connect_timeout: 5\n  no_such_key: 1\n' >"$TMP/env.yaml"
    MX_ENV=(MXPROBE_CONFIG="$TMP/env.yaml")
    mx 5 -C banner -H 127.0.0.21
    want_exit 3
    want_out "env\.yaml:3:3: .*no_such_key"
    finish
fi

if begin core_config_f_beats_environment; then
    printf 'probe:\n  no_such_key: 1\n' >"$TMP/env-bad.yaml"
    printf 'probe:\n  connect_timeout: 4\n' >"$TMP/env-good.yaml"
    MX_ENV=(MXPROBE_CONFIG="$TMP/env-bad.yaml")
    mx 5 -C banner -H 127.0.0.21 -f "$TMP/env-good.yaml"
    want_exit 0
    want_out '^\[OK\] banner: '
    finish
fi

if begin core_plugin_writable_refused; then
    mkdir -p "$TMP/plugins-rw"
    cp "$BUILD/test-plugins/noop.so" "$TMP/plugins-rw/"
    chmod 666 "$TMP/plugins-rw/noop.so"
    MX_ENV=(MXPROBE_PLUGIN_PATH="$TMP/plugins-rw")
    mx 5 -C noop -H 127.0.0.21
    want_exit 3
    want_out 'noop\.so.*writable'
    want_no_out 'nothing checked'
    finish
fi

if begin core_json; then
    mx 10 -o json -C banner,dnsbl -H 127.0.0.25 --set "$ZONES3"
    want_exit 2
    "$PY" - "$OUT" >"$TMP/cases/$CASE.json-check" 2>&1 <<'EOF' ||
import json, sys
# The schema of the README: one object per target (a list of them is
# accepted too), each with state, exit_code and checks[] of
# {plugin, state, summary, details[], perfdata[{label, value, ...}]}.
doc = json.load(open(sys.argv[1]))
target = doc[0] if isinstance(doc, list) else doc
assert target["state"] == "CRITICAL", target["state"]
assert target["exit_code"] == 2, target["exit_code"]
checks = {c["plugin"]: c for c in target["checks"]}
assert set(checks) == {"banner", "dnsbl"}, sorted(checks)
assert checks["banner"]["state"] == "OK", checks["banner"]
assert "matches PTR" in checks["banner"]["summary"], checks["banner"]
assert checks["dnsbl"]["state"] == "CRITICAL", checks["dnsbl"]
assert "on 2/3 DNSBLs" in checks["dnsbl"]["summary"], checks["dnsbl"]
perf = {p["label"]: p for c in checks.values() for p in c["perfdata"]}
assert perf["dnsbl_listed"]["value"] == 2, perf["dnsbl_listed"]
assert "banner_greeting" in perf, sorted(perf)
assert any("bl2.mxprobe.test" in d["text"] for d in checks["dnsbl"]["details"])
EOF
        why "JSON check: $(cat "$TMP/cases/$CASE.json-check")"
    finish
fi

# promtool (Prometheus; make deps puts it in /opt/mxprobe-test/bin) checks
# an exposition where it is installed; the parsers of the cases always do.
PROMTOOL=$(command -v promtool || echo /opt/mxprobe-test/bin/promtool)
want_promtool() {
    [ -x "$PROMTOOL" ] || return 0
    "$PROMTOOL" check metrics <"$1" >"$1.promtool" 2>&1 ||
        why "promtool check metrics: $(head -c 400 "$1.promtool")"
}

if begin core_openmetrics; then
    mx 10 -o openmetrics -C banner,dnsbl -H 127.0.0.25 --set "$ZONES3"
    want_exit 2
    want_promtool "$OUT"
    "$PY" - "$OUT" >"$TMP/cases/$CASE.om-check" 2>&1 <<'EOF' ||
import re, sys
# The exposition grammar (Prometheus text format 0.0.4 / OpenMetrics):
# TYPE then HELP per family, its samples together, '# EOF' last.
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and lines[-2] == "# EOF", lines[-3:]
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(%s(?:,%s)*)\} '
                    r'(-?[0-9]+(?:\.[0-9]+)?|NaN|[+-]Inf)$' % (label, label))
families, seen, values = [], set(), {}
for line in lines[:-2]:
    m = re.match(r'^# (TYPE|HELP) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$', line)
    if m:
        if m.group(1) == "TYPE":
            assert m.group(2) not in seen, "family twice: " + line
            assert m.group(3) == "gauge", line
            seen.add(m.group(2))
            families.append(m.group(2))
        continue
    m = sample.match(line)
    assert m, "not a sample: " + line
    assert m.group(1) == families[-1], "sample outside its family: " + line
    labels = dict(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(2)))
    values[(m.group(1), labels.get("check"), labels.get("metric"))] = m.group(3)
    assert labels["address"] == "127.0.0.25" and labels["port"] == "2525", line
assert families == ["mxprobe_target_state", "mxprobe_check_state",
                    "mxprobe_check_duration_seconds",
                    "mxprobe_perfdata"], families
assert values[("mxprobe_target_state", None, None)] == "2", values
assert values[("mxprobe_check_state", "banner", None)] == "0", values
assert values[("mxprobe_check_state", "dnsbl", None)] == "2", values
assert values[("mxprobe_perfdata", "dnsbl", "dnsbl_listed")] == "2", values
EOF
        why "OpenMetrics check: $(cat "$TMP/cases/$CASE.om-check")"
    finish
fi

if begin core_bad_config; then
    printf 'probe:\n  helo_name: probe.mxprobe.test\n  no_such_key: 1\n' \
        >"$TMP/bad.yaml"
    mx 10 -f "$TMP/bad.yaml" -C banner -H 127.0.0.21
    want_exit 3
    want_out 'bad\.yaml:3:3'
    want_out 'no_such_key'
    finish
fi

if begin core_bad_config_syntax; then
    printf 'probe:\n  helo_name: [unclosed\n' >"$TMP/syntax.yaml"
    mx 10 -f "$TMP/syntax.yaml" -C banner -H 127.0.0.21
    want_exit 3
    want_out 'syntax\.yaml:[0-9]+:[0-9]+'
    finish
fi

expect_run core_unknown_check 3 'nosuchcheck' 10 -- \
    -C banner,nosuchcheck -H 127.0.0.21

expect_run core_warning_range 1 '^MXPROBE WARNING - .*banner_greeting=[0-9.]+s;0\.000001' 10 -- \
    -C banner -H 127.0.0.21 -w 0.000001

expect_run core_critical_range 2 '^MXPROBE CRITICAL - .*banner_greeting=[0-9.]+s;;0\.000001' 10 -- \
    -C banner -H 127.0.0.21 -c 0.000001

expect_run core_ranges_ok 0 '^MXPROBE OK - .*banner_greeting=[0-9.]+s;60;120' 10 -- \
    -C banner -H 127.0.0.21 -w 60 -c 120

expect_run core_bad_range 3 '^MXPROBE UNKNOWN' 10 -- \
    -C banner -H 127.0.0.21 -w abc

# ------------------------------------------------------------ harness

if begin postfix_safety; then
    # smtpd_peername_lookup = no: our Postfix never asked the system
    # resolver about its clients (they show up as "unknown"), and no
    # message was ever delivered (no "status=" line).
    OUT=$TMP/postfix-clean/postfix.log ERR=/dev/null RC=0 ELAPSED_MS=0
    echo "(grep $OUT)" >"$TMP/cases/$CASE.cmd"
    want_out 'connect from unknown\[127\.0\.0\.1\]'
    want_no_out 'connect from [^u][^ ]*\[127'
    want_no_out 'status='
    finish
fi
