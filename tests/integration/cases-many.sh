# tests/integration/cases-many.sh - runs over many targets (issue 11,
# DESIGN.md section 6), sourced by run.sh after cases.sh.
#
# Targets: the Postfix instances of run.sh (.21 closed, .27 an open
# relay), fakesmtp .41 (silent) and .42 (drips its greeting, 1 byte/s),
# and servers of this file's own, started once the first case needing them
# runs:
#   127.0.0.131, .132   fakesmtp "normal", mx1.many.test (zones/many.test.zone:
#                       mx1 has A .131 and .132 and AAAA ::1, the fake of
#                       run.sh; .131 has a PTR, .132 none and fails SPF)
#   127.0.0.144/29      fakesmtp "normal" on .145, .146 and .149, and on
#                       the block's network (.144) and broadcast (.151)
#                       addresses, which a sweep leaves out; nothing on
#                       .147, .148, .150
# Each output is read by many_check.py, by its format's grammar, into
# target records (host, address, state, checks) that the cases assert on.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

MANY_FAKES=(
    "127.0.0.131 normal mx1.many.test"
    "127.0.0.132 normal mx1.many.test"
    "127.0.0.144 normal net.sweep.many.test"
    "127.0.0.145 normal a.sweep.many.test"
    "127.0.0.146 normal b.sweep.many.test"
    "127.0.0.149 normal c.sweep.many.test"
    "127.0.0.151 normal bcast.sweep.many.test"
)
MANY_UP=
MANY_BROKEN=

# many_servers: starts this file's fakes (once); false when they cannot
# run (an address taken: the case then fails with the reason).
many_servers() {
    local f taken
    [ -n "$MANY_UP" ] && return 0
    [ -n "$MANY_BROKEN" ] && { why "$MANY_BROKEN"; return 1; }
    taken=$(ss -H -lnt | awk '{print $4}' |
        grep -E '^127\.0\.0\.(13[1-5]|14[4-9]|15[01]):2525$' | tr '\n' ' ')
    if [ -n "$taken" ]; then
        MANY_BROKEN="in use before the fakes started: $taken"
        why "$MANY_BROKEN"
        return 1
    fi
    for f in "${MANY_FAKES[@]}"; do
        read -r -a fake <<<"$f"
        start_fake "${fake[@]}"
    done
    for f in "${MANY_FAKES[@]}"; do
        if ! wait_fake "${f%% *}" >/dev/null; then
            MANY_BROKEN="fakesmtp ${f%% *} did not start"
            why "$MANY_BROKEN"
            return 1
        fi
    done
    MANY_UP=1
}

# many_check FORMAT ARGS...: many_check.py over $OUT, its complaint a
# reason of the case.
many_check() {
    local fmt=$1 msg
    shift
    msg=$("$PY" "$HERE/many_check.py" "$fmt" "$OUT" "$@" 2>&1) ||
        why "$fmt: ${msg:-many_check.py failed}"
}

# The --all config: a closed server, an open relay, a hostile one and a
# silent one, each with checks of its own.
MANY_ALL=$TMP/many-all.yaml
cat >"$MANY_ALL" <<'EOF'
probe:
  helo_name: probe.mxprobe.test
  mail_from: postmaster@mxprobe.test
checks: [banner]
targets:
  - host: 127.0.0.21          # closed Postfix, mail.mxprobe.test
    port: 2525
    checks: [banner, relay]
  - host: 127.0.0.27          # open relay Postfix
    port: 2525
    domain: open.mxprobe.test
    checks: [relay]
  - host: 127.0.0.42          # drips its greeting, one byte a second
    port: 2525
  - host: 127.0.0.41          # silent
    port: 2525
EOF

# many_all_case FORMAT CHECKER-ARGS...: the --all run in one format.
# Each target has its own -t 2: the hostile and the silent one end there,
# in parallel, so the whole run takes 2 s.
many_all_case() {
    local fmt=$1
    shift
    begin "many_all_$fmt" || return 0
    mx 2 -o "$fmt" -f "$MANY_ALL" --all
    want_exit 2
    want_time 2
    many_check "$fmt" --count 4 --want 127.0.0.21=OK \
        --want 127.0.0.27=CRITICAL --want 127.0.0.42=CRITICAL \
        --want 127.0.0.41=CRITICAL --checks 127.0.0.21=banner+relay \
        --checks 127.0.0.27=relay --checks 127.0.0.42=banner \
        --checks 127.0.0.41=banner "$@"
    finish
}

many_all_case nagios --order 127.0.0.21,127.0.0.27,127.0.0.42,127.0.0.41
many_all_case text --order 127.0.0.21,127.0.0.27,127.0.0.42,127.0.0.41
# JSON Lines as the targets finish: the two quick ones first, each hostile
# one cut at its own deadline.
many_all_case json --port 2525 --first 127.0.0.21,127.0.0.27 \
    --max-elapsed 127.0.0.42=2.5 --max-elapsed 127.0.0.41=2.5
many_all_case openmetrics --port 2525

if begin many_all_nagios_details; then
    # The blocks in the single-target wording: the open relay named, the
    # silent one's missing greeting.
    mx 2 -f "$MANY_ALL" --all
    want_exit 2
    want_status '^MXPROBE CRITICAL - 4 targets: 3 critical, 1 ok$'
    want_out '^== 127\.0\.0\.27: CRITICAL - .*open relay'
    want_out '^\[CRITICAL\] relay: open relay'
    want_out '^== 127\.0\.0\.41: CRITICAL - .*no greeting'
    want_out '^\[OK\] relay: no open relay'
    want_time 2
    finish
fi

if begin many_all_openmetrics_promtool; then
    mx 2 -o openmetrics -f "$MANY_ALL" --all
    want_exit 2
    want_promtool "$OUT"
    [ "$(grep -c '^# TYPE mxprobe_target_state ' "$OUT")" = 1 ] ||
        why "mxprobe_target_state declared other than once"
    finish
fi

# ------------------------------------------------------------ -D DOMAIN

# many.test: MX mx1 (127.0.0.131, .132, ::1) and mx2 (.131 again).  Every
# address once, each checked per address; zone once for the domain, its
# SPF verdict naming the address that fails.
if begin many_domain_nagios; then
    if many_servers; then
        mx 5 -D many.test -C banner,zone -v
        want_exit_in 1 2
        many_check nagios --count 4 --zone-results 1 \
            --want mx1.many.test@127.0.0.131=OK \
            --want mx1.many.test@127.0.0.132=WARNING \
            --want mx1.many.test@::1=OK \
            --checks mx1.many.test@127.0.0.131=banner \
            --checks mx1.many.test@127.0.0.132=banner \
            --checks mx1.many.test@::1=banner \
            --checks many.test=zone
        want_out 'SPF fail: 127\.0\.0\.132 not permitted by many\.test'
        want_no_out '127\.0\.0\.131 not permitted|::1 not permitted'
        want_out 'no PTR record for 127\.0\.0\.132'
        want_time 5
    fi
    finish
fi

if begin many_domain_json; then
    if many_servers; then
        mx 5 -o json -D many.test -C banner,zone
        want_exit_in 1 2
        many_check json --count 4 --zone-results 1 --port 2525 \
            --want mx1.many.test@127.0.0.132=WARNING \
            --checks many.test=zone
        want_out '127\.0\.0\.132 not permitted by many\.test'
    fi
    finish
fi

if begin many_domain_ipv4_only; then
    # -4: the AAAA of mx1 is left out.
    if many_servers; then
        mx 5 -4 -D many.test -C banner
        want_exit 1
        many_check nagios --count 2 --want 127.0.0.131=OK \
            --want 127.0.0.132=WARNING
        want_no_out '::1'
    fi
    finish
fi

# A domain with no address to check is no OK: the reason, in one run.
if begin many_domain_null_mx; then
    mx 5 -D nullmx.spf.test -C banner
    want_exit_in 2 3
    want_out 'nullmx\.spf\.test has a Null MX \(RFC 7505\)'
    want_time 5
    finish
fi

if begin many_domain_nxdomain; then
    mx 5 -D no-such-domain.many.test -C banner
    want_exit_in 2 3
    want_out 'no-such-domain\.many\.test.*(NXDOMAIN|no such)'
    want_time 5
    finish
fi

# ------------------------------------------------------------ -H NAME

if begin many_host_name; then
    # One host, three addresses: one status line for the host, its worst
    # state and the address it comes from, then every address.
    if many_servers; then
        mx 5 -C banner -H mx1.many.test
        want_exit 1
        want_status '^MXPROBE WARNING - mx1\.many\.test \[127\.0\.0\.132\]'
        [ "$(grep -c '^MXPROBE ' "$OUT")" = 1 ] ||
            why "not one status line"
        want_out '127\.0\.0\.131'
        want_out '::1'
        want_out 'no PTR record for 127\.0\.0\.132'
        want_time 5
    fi
    finish
fi

if begin many_host_name_json; then
    if many_servers; then
        mx 5 -o json -C banner -H mx1.many.test
        want_exit 1
        many_check json --count 3 --want 127.0.0.131=OK \
            --want 127.0.0.132=WARNING --want ::1=OK
    fi
    finish
fi

if begin many_host_name_ipv6_only; then
    # -6: only ::1 (mail6.mxprobe.test, PTR forward-confirmed).
    if many_servers; then
        mx 5 -6 -C banner -H mx1.many.test
        want_exit 0
        want_status '^MXPROBE OK - mx1\.many\.test \[::1\]'
        want_no_out '127\.0\.0\.13[12]'
    fi
    finish
fi

if begin many_host_ipv6_only_none; then
    # -6 and a name with no AAAA: nothing checked, and not OK.
    mx 5 -6 -C banner -H mail.mxprobe.test
    want_exit_in 2 3
    want_out 'mail\.mxprobe\.test'
    want_no_out '127\.0\.0\.21'
    finish
fi

# ------------------------------------------------------------ -H CIDR

if begin many_cidr_sweep; then
    # .145, .146, .149 answer on the port; .144 and .151 too, but are the
    # block's network and broadcast addresses.  In address order.
    if many_servers; then
        mx 5 -C banner -H 127.0.0.144/29 --set probe.scan_timeout=1
        want_exit_in 0 1
        many_check nagios --count 3 \
            --order 127.0.0.145,127.0.0.146,127.0.0.149
        want_no_out '127\.0\.0\.(144|147|148|150|151)([^0-9/]|$)'
        want_time 5
    fi
    finish
fi

if begin many_cidr_sweep_json; then
    if many_servers; then
        mx 5 -o json -C banner -H 127.0.0.144/29
        want_exit_in 0 1
        many_check json --count 3 --port 2525 --want 127.0.0.145=OK\|WARNING \
            --want 127.0.0.146=OK\|WARNING --want 127.0.0.149=OK\|WARNING
    fi
    finish
fi

if begin many_cidr_nothing_answers; then
    # Nobody on the port in the block: no server checked, and said so.
    mx 5 -C banner -H 127.0.0.144/29 -p 2526
    want_exit_in 0 3
    want_out 'no SMTP server answered on port 2526 in 127\.0\.0\.144/29'
    want_no_out 'banner'
    want_time 5
    finish
fi

# many_refused NAME BLOCK REGEX: -H BLOCK is refused before anything
# runs, exit 3 with one line matching REGEX (no lookup of it as a name).
many_refused() {
    begin "$1" || return 0
    mx 5 -C banner -H "$2"
    want_exit 3
    [ "$(cat "$OUT" "$ERR" | wc -l)" = 1 ] || why "not one line"
    want_out "$3"
    want_no_out 'resolve'
    want_time 1
    finish
}

many_refused many_cidr_too_large 127.0.0.0/8 \
    '127\.0\.0\.0/8.*(too|at most|more than)'
many_refused many_cidr_too_large_ipv6 ::/64 '::/64.*(too|at most|more than)'
many_refused many_cidr_host_bits 127.0.0.145/29 '127\.0\.0\.144/29'

# ------------------------------------------------------------ -j

# The same targets checked one at a time and eight at a time: the same
# results in the same order (the configured one) in nagios and text.
MANY_ORDER=$TMP/many-order.yaml
cat >"$MANY_ORDER" <<'EOF'
probe:
  helo_name: probe.mxprobe.test
checks: [banner]
targets:
  - host: 127.0.0.26
  - host: mx1.many.test
  - host: 127.0.0.21
  - host: 127.0.0.49          # nothing listens
  - host: 127.0.0.24
  - host: 127.0.0.22
  - host: 127.0.0.23
  - host: 127.0.0.25
EOF

# many_normalised: $OUT without what differs between two runs (times).
many_normalised() {
    sed -E -e 's/[0-9]+(\.[0-9]+)?(s|ms)\b/T/g' \
        -e 's/=[0-9.]+s;/=T;/g' "$OUT"
}

for fmt in nagios text; do
    if begin "many_jobs_order_$fmt"; then
        if many_servers; then
            mx 5 -o "$fmt" -f "$MANY_ORDER" --all -j 1
            one=$(many_normalised)
            many_check "$fmt" --count 10 --order 127.0.0.26,127.0.0.131,127.0.0.132,::1,127.0.0.21,127.0.0.49,127.0.0.24,127.0.0.22,127.0.0.23,127.0.0.25
            mx 5 -o "$fmt" -f "$MANY_ORDER" --all -j 8
            want_exit 2
            [ "$one" = "$(many_normalised)" ] ||
                why "-j 1 and -j 8 differ: $(diff <(printf '%s\n' "$one") <(many_normalised) | head -n 10)"
            many_check "$fmt" --count 10 --want 127.0.0.49=CRITICAL
        fi
        finish
    fi
done

if begin many_jobs_bad; then
    mx 5 -f "$MANY_ORDER" --all -j 0
    want_exit 3
    want_out '-j|jobs'
    want_no_out 'unknown option'
    [ "$(cat "$OUT" "$ERR" | wc -l)" = 1 ] || why "not one line"
    finish
fi
