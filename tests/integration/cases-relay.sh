# tests/integration/cases-relay.sh - the relay and backscatter cases,
# sourced by run.sh after cases.sh.
#
# Targets (run.sh): Postfix .21 correctly closed (relaying denied, unknown
# users rejected), .27 an open relay, .28 accepting unknown users, .71 an
# open relay pausing 1 s before every MAIL, .72 a closed one pausing 1 s
# at every RCPT (all to discard transports); fakesmtp .61 relays through the % hack only (.66
# the same without PIPELINING), .62 554 at DATA, .63 530 AUTH required,
# .64 greylists (450), .65 drops the connection after 5 commands, .67
# greets as "localhost" (no domain), ::1 accepts every RCPT and refuses
# DATA; .49 nothing listens.
# Besides states and wordings (the relay contract, notes/relay-contract.md)
# every case reads the servers' logs: no message is ever completed unless
# delivery is on (a fake's COMPLETED-MESSAGE, a Postfix "message-id=").
#
# shellcheck shell=bash disable=SC2034 # RC etc. are read by run.sh

PF_CLEAN=$TMP/postfix-clean/postfix.log
PF_OPEN=$TMP/postfix-open/postfix.log
PF_LAX=$TMP/postfix-lax/postfix.log
fake_log() { printf '%s\n' "$TMP/fakesmtp-$1.log"; }

# What the delivery cases may have sent, for relay_nothing_completed.
SENT_OPEN=0
SENT_LAX=0

SLICE=
MARK=
RT=

# rbegin NAME: begin, with no server log read yet.
rbegin() {
    SLICE=
    RT=
    begin "$1"
}

# rmx TIMEOUT ARGS...: mx, and rfinish checks the run ended within -t.
rmx() {
    RT=$1
    mx "$@"
}

# mark FILE: remember where FILE ends before the run.
mark() {
    MARK=$(stat -c %s "$1" 2>/dev/null || echo 0)
}

# settled FILE: every connection in FILE has ended, and there was one.
settled() {
    local opened closed
    opened=$(grep -Ec ' connect from |^[0-9]+ open$' "$1")
    closed=$(grep -Ec ' disconnect from |^[0-9]+ closed$' "$1")
    [ "$opened" -gt 0 ] && [ "$opened" = "$closed" ]
}

# slice FILE [REGEX]: what FILE gained since mark, once every connection in
# it has ended (and REGEX is in it), into $SLICE.  Postfix logs through
# postlogd, a moment after the fact.
slice() {
    local f=$1 re=${2:-} end
    end=$(($(now_ms) + 5000))
    SLICE=$TMP/cases/$CASE.log
    while :; do
        tail -c +$((MARK + 1)) "$f" >"$SLICE" 2>/dev/null
        if settled "$SLICE" &&
            { [ -z "$re" ] || grep -Eq -- "$re" "$SLICE"; }; then
            return 0
        fi
        if [ "$(now_ms)" -ge "$end" ]; then
            why "server log $f did not settle${re:+ (no /$re/)}"
            return 1
        fi
        sleep 0.1
    done
}

want_log() {
    grep -Eq -- "$1" "$SLICE" || why "server log lacks /$1/"
}

want_no_log() {
    ! grep -Eq -- "$1" "$SLICE" ||
        why "server log has /$1/: $(grep -Em1 -- "$1" "$SLICE")"
}

# want_log_count N REGEX / want_out_count N REGEX: exactly N lines match.
want_log_count() {
    local n
    n=$(grep -Ec -- "$2" "$SLICE")
    [ "$n" = "$1" ] || why "server log has $n lines /$2/, want $1"
}

# want_log_between MIN MAX REGEX: MIN..MAX lines of the server log match.
want_log_between() {
    local n
    n=$(grep -Ec -- "$3" "$SLICE")
    [ "$n" -ge "$1" ] && [ "$n" -le "$2" ] ||
        why "server log has $n lines /$3/, want $1..$2"
}

want_out_count() {
    local n
    n=$(cat "$OUT" "$ERR" | grep -Ec -- "$2")
    [ "$n" = "$1" ] || why "$n output lines /$2/, want $1"
}

# perf LABEL: the value of a perfdata label in the output (empty if none).
perf() {
    grep -Eo -- "(^|[ |])$1=[0-9.]+" "$OUT" | head -n 1 |
        sed 's/.*=//'
}

# want_no_message: nothing in $SLICE was taken for delivery (Postfix) or
# completed (fake).
want_no_message() {
    want_no_log 'message-id=|status=sent|COMPLETED-MESSAGE'
}

# rfinish: finish, and show the server log of a failed case.
rfinish() {
    local failed
    [ -z "$RT" ] || want_time "$RT"
    failed=$REASONS
    finish
    if [ -n "$failed" ] && [ -n "$SLICE" ] && [ -s "$SLICE" ]; then
        say "  server log:"
        sed -e 's/^/  > /' "$SLICE" | tail -n 40 | cat -v
    fi
}

# want_open_relay_17: "open relay (K/17 forms)", K in the perfdata, all
# 17 forms tried; sets k to K.
want_open_relay_17() {
    want_status '^MXPROBE CRITICAL - .*open relay \([0-9]+/17 forms\)'
    k=$(sed -n '1s/.*open relay (\([0-9]*\)\/17 forms).*/\1/p' "$OUT")
    want_out "relay_accepted=${k:-X};;0;0;17( |$)"
    want_out 'relay_forms=17;;;0;17( |$)'
}

# The forms of the contract, as shown: MAIL FROM:<..> RCPT TO:<..>.
HACK_I='MAIL FROM:<relaytest@\[127\.0\.0\.61\]> RCPT TO:<relaytest%example\.net@\[127\.0\.0\.61\]>'
HACK_S='MAIL FROM:<relaytest@\[127\.0\.0\.61\]> RCPT TO:<relaytest%example\.net@percent\.mxprobe\.test>'

# ------------------------------------------------------------ relay

if rbegin relay_closed_postfix; then
    mark "$PF_CLEAN"
    rmx 20 -v -C relay -H 127.0.0.21
    want_exit 0
    # S mail.mxprobe.test, R mxprobe.test: 17 forms.
    want_status '^MXPROBE OK - .*no open relay: 17/17 forms refused'
    want_out 'relay_accepted=0;;0;0;17( |$)'
    want_out 'relay_forms=17;;;0;17( |$)'
    # the 17 forms in 8 batches, one sender each, on 8 connections at once
    want_out 'relay_connections=8;;;0( |$)'
    want_out 'relay_time=[0-9.]+s'
    want_out_count 17 'refused MAIL FROM:<[^>]*> RCPT TO:<.*> \(5[0-9][0-9] '
    want_out 'refused MAIL FROM:<> RCPT TO:<relaytest@example\.net> \(554 5\.7\.1 <relaytest@example\.net>: Relay access denied\)'
    want_out 'refused MAIL FROM:<relaytest@mxprobe\.test> RCPT TO:<relaytest@example\.net> \(554 5\.7\.1 '
    want_no_out 'relays MAIL'
    slice "$PF_CLEAN"
    # Every form reached Postfix, and was refused at RCPT.
    want_log_count 17 'NOQUEUE: reject: RCPT from '
    want_no_log 'after DATA'
    want_no_message
    rfinish
fi

if rbegin relay_domain_option; then
    # -D: S is the given domain, R is S: no 17th form.
    rmx 20 -C relay -H 127.0.0.21 -D mxprobe.test
    want_exit 0
    want_status '^MXPROBE OK - .*no open relay: 16/16 forms refused'
    want_out 'relay_forms=16;;;0;16( |$)'
    rfinish
fi

if rbegin relay_open_postfix; then
    mark "$PF_OPEN"
    rmx 20 -v -C relay -H 127.0.0.27
    want_exit 2
    want_open_relay_17
    # Each relaying form named, with both replies.
    want_out_count "${k:-X}" 'relays MAIL FROM:<[^>]*> RCPT TO:<.*> \(RCPT 250 [^,]*, DATA 354 '
    want_out 'relays MAIL FROM:<> RCPT TO:<relaytest@example\.net> \(RCPT 250 2\.1\.5 Ok, DATA 354 '
    want_out 'relays MAIL FROM:<relaytest@\[127\.0\.0\.27\]> RCPT TO:<relaytest%example\.net@\[127\.0\.0\.27\]> \(RCPT 250 2\.1\.5 Ok, DATA 354 '
    want_out 'relays MAIL FROM:<relaytest@\[127\.0\.0\.27\]> RCPT TO:<example\.net!relaytest> \(RCPT 250 '
    want_no_out 'sent test message'
    slice "$PF_OPEN"
    # The relaying forms were confirmed up to DATA, those of one sender in
    # one transaction, on connections that were then dropped: Postfix
    # threw every one away.
    want_log_between 1 "${k:-0}" 'lost connection after DATA \(0 bytes\)'
    want_no_message
    rfinish
fi

# Servers that pause (issue 8): every form classified, well within -t.
PF_SLOWMAIL=$TMP/postfix-slowmail/postfix.log
PF_TARPIT=$TMP/postfix-tarpit/postfix.log

if rbegin relay_open_postfix_pausing_at_mail; then
    # 1 s before every MAIL: the forms share MAILs and connections.
    mark "$PF_SLOWMAIL"
    rmx 30 -v -C relay -H 127.0.0.71
    want_exit 2
    want_open_relay_17
    want_out_count "${k:-X}" 'relays MAIL FROM:<[^>]*> RCPT TO:<.*> \(RCPT 250 [^,]*, DATA 354 '
    # every form classified: none left unconfirmed or untested
    want_no_out 'not confirmed|inconclusive'
    want_out_count 17 '(relays|refused) MAIL FROM:<'
    c=$(perf relay_connections)
    [ "${c:-99}" -le 16 ] || why "relay_connections=${c:-none}, want <= 16"
    slice "$PF_SLOWMAIL"
    want_log 'lost connection after DATA \(0 bytes\)'
    want_no_message
    rfinish
fi

if rbegin relay_closed_tarpit; then
    # 1 s at every RCPT, then "Relay access denied".
    mark "$PF_TARPIT"
    rmx 30 -v -C relay -H 127.0.0.72
    want_exit 0
    want_status '^MXPROBE OK - .*no open relay: 17/17 forms refused'
    want_out 'relay_forms=17;;;0;17( |$)'
    want_out_count 17 'refused MAIL FROM:<[^>]*> RCPT TO:<.*> \(554 5\.7\.1 '
    slice "$PF_TARPIT"
    want_log_count 17 'NOQUEUE: reject: RCPT from '
    want_no_log 'after DATA'
    want_no_message
    rfinish
fi

if rbegin relay_percent_hack; then
    f=$(fake_log 127.0.0.61)
    mark "$f"
    rmx 20 -v -C relay -H 127.0.0.61
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*open relay \(2/17 forms\)'
    want_out 'relay_accepted=2;;0;0;17( |$)'
    # The two % forms, and nothing else.
    want_out_count 2 'relays MAIL FROM'
    want_out "relays $HACK_I \\(RCPT 250 2\\.1\\.5 Ok, DATA 354 "
    want_out "relays $HACK_S \\(RCPT 250 2\\.1\\.5 Ok, DATA 354 "
    want_out_count 15 'refused MAIL FROM:<[^>]*> RCPT TO:<.*> \(554 5\.7\.1 '
    slice "$f"
    # both forms have the same sender: one transaction confirms them
    want_log_count 1 '^ABORTED-DATA '
    want_no_log 'PIPELINING-VIOLATION'
    want_no_message
    rfinish
fi

if rbegin relay_percent_no_pipelining; then
    # The same server without PIPELINING: one command at a time.
    f=$(fake_log 127.0.0.66)
    mark "$f"
    rmx 20 -v -C relay -H 127.0.0.66
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*open relay \(2/17 forms\)'
    want_out_count 2 'relays MAIL FROM:<relaytest@\[127\.0\.0\.66\]> RCPT TO:<relaytest%example\.net@'
    slice "$f"
    want_log '< RSET'
    want_no_log 'PIPELINING-VIOLATION'
    want_no_message
    rfinish
fi

if rbegin relay_refused_at_data; then
    f=$(fake_log 127.0.0.62)
    mark "$f"
    rmx 20 -v -C relay -H 127.0.0.62
    want_exit 0
    want_status '^MXPROBE OK - .*no open relay: 17/17 forms refused, 17 accepted at RCPT but refused at DATA'
    want_out 'relay_accepted=0;;0;0;17( |$)'
    want_out_count 17 'accepted at RCPT, refused at DATA: MAIL FROM:<[^>]*> RCPT TO:<.*> \(554 5\.7\.1 '
    want_out 'accepted at RCPT, refused at DATA: MAIL FROM:<> RCPT TO:<relaytest@example\.net> \(554 5\.7\.1 '
    want_no_out 'relays MAIL'
    slice "$f"
    # the 13 forms of one sender refused together, then each alone; the
    # other 4 have a sender of their own.  The first survey batch to end
    # is confirmed at once: one more group DATA when that is a batch of
    # the literal sender (which one ends first is the servers' timing)
    want_log_between 18 19 '< DATA$'
    want_no_log 'PIPELINING-VIOLATION'
    want_no_message
    rfinish
fi

if rbegin relay_auth_required; then
    f=$(fake_log 127.0.0.63)
    mark "$f"
    rmx 20 -v -C relay -H 127.0.0.63
    want_exit 0
    want_status '^MXPROBE OK - .*no open relay: authentication required \(530 5\.7\.0 Authentication required\)'
    want_out 'relay_accepted=0;'
    slice "$f"
    want_no_log '< (AUTH|DATA)'
    want_no_log 'PIPELINING-VIOLATION'
    want_no_message
    rfinish
fi

if rbegin relay_greylisted; then
    f=$(fake_log 127.0.0.64)
    mark "$f"
    rmx 20 -v -C relay -H 127.0.0.64
    want_exit 3
    want_status '^MXPROBE UNKNOWN - .*inconclusive: 17/17 forms temporarily refused \(450 4\.7\.1 '
    want_out 'relay_accepted=0;'
    want_no_out 'relays MAIL'
    slice "$f"
    want_no_log '< DATA'
    want_no_log 'PIPELINING-VIOLATION'
    want_no_message
    rfinish
fi

if rbegin relay_connection_dropped; then
    # The server hangs up at its 6th command: every form is still tried,
    # on as many connections as it takes.
    f=$(fake_log 127.0.0.65)
    mark "$f"
    rmx 20 -v -C relay -H 127.0.0.65
    want_exit 0
    want_status '^MXPROBE OK - .*no open relay: 17/17 forms refused'
    want_out 'relay_forms=17;;;0;17( |$)'
    c=$(perf relay_connections)
    [ "${c:-0}" -ge 9 ] 2>/dev/null || why "relay_connections=${c:-none}, want 9 or more"
    slice "$f"
    # Every distinct form's RCPT was refused at least once.
    n=$(grep -E '^[0-9]+> 554 5\.7\.1 ' "$SLICE" | sed 's/^[0-9]*> //' | sort -u | wc -l)
    [ "$n" -ge 12 ] || why "only $n distinct refused RCPTs in the server log"
    want_log 'dropped after 5 commands'
    want_no_message
    rfinish
fi

if rbegin relay_ipv6; then
    # ::1 accepts every RCPT and refuses DATA; I is [IPv6:::1].
    rmx 20 -v -C relay -H ::1
    want_exit 0
    want_status 'no open relay: 17/17 forms refused, 17 accepted at RCPT but refused at DATA'
    want_out 'RCPT TO:<relaytest%example\.net@\[IPv6:::1\]>'
    rfinish
fi

if rbegin relay_one_form_per_connection; then
    mark "$PF_CLEAN"
    rmx 20 -C relay -H 127.0.0.21 --set relay.forms_per_connection=1
    want_exit 0
    want_status 'no open relay: 17/17 forms refused'
    want_out 'relay_connections=17;;;0( |$)'
    slice "$PF_CLEAN"
    want_log_count 17 ' disconnect from '
    want_no_message
    rfinish
fi

if rbegin relay_config_file; then
    # Every relay setting from a file: the forms use them.
    cat >"$TMP/relay.yaml" <<'EOF'
checks: [relay]
plugins:
  relay:
    external_domain: example.com
    sender: probe
    recipient: victim
    forms_per_connection: 4
    connections: 2
EOF
    f=$(fake_log 127.0.0.61)
    mark "$f"
    rmx 20 -v -f "$TMP/relay.yaml" -H 127.0.0.61
    # The fake relays %example.net only.
    want_exit 0
    want_status 'no open relay: 17/17 forms refused'
    want_out 'refused MAIL FROM:<probe@\[127\.0\.0\.61\]> RCPT TO:<victim%example\.com@\[127\.0\.0\.61\]> \(554 '
    want_out 'refused MAIL FROM:<probe@example\.com> RCPT TO:<victim@example\.com> \(554 '
    # 4 senders of 1 form, 13 forms of one sender in 4 batches: 8
    # connections, 2 at a time
    want_out 'relay_connections=8;;;0( |$)'
    slice "$f"
    want_log '< RCPT TO:<example\.com!victim@percent\.mxprobe\.test>'
    want_no_log 'example\.net|relaytest'
    want_no_message
    rfinish
fi

expect_run relay_unreachable 3 '^MXPROBE UNKNOWN - .*cannot test relaying: ' 10 -- \
    -C relay -H 127.0.0.49

if rbegin relay_deliver_without_my_email; then
    # deliver: true, but no mailbox of ours: nothing may be sent.
    mark "$PF_OPEN"
    rmx 20 -v -C relay -H 127.0.0.27 --set relay.deliver=true
    want_exit 2
    want_status 'open relay \([0-9]+/17 forms\)'
    want_no_out 'sent test message'
    slice "$PF_OPEN"
    want_log 'lost connection after DATA'
    want_no_message
    rfinish
fi

if rbegin relay_deliver; then
    # The one case that sends: one message, through the open relay, to
    # discard.
    mark "$PF_OPEN"
    rmx 20 -v -C relay -H 127.0.0.27 --set relay.deliver=true \
        --set probe.my_email=me@mail.mxprobe.test
    SENT_OPEN=$((SENT_OPEN + 1))
    want_exit 2
    want_status 'open relay \([0-9]+/17 forms\)'
    want_out_count 1 'sent test message [^ ]+ to <?me@mail\.mxprobe\.test>? via MAIL FROM:<[^>]*> RCPT TO:<[^>]*> \(250 '
    token=$(sed -n 's/.*sent test message \([^ ]*\) to .*/\1/p' "$OUT" | head -n 1)
    [ -n "$token" ] || token=NO-TOKEN-SHOWN
    slice "$PF_OPEN" ' removed$'
    want_log_count 1 'message-id='
    want_log_count 1 'status=sent'
    want_log_count 1 "info: header Subject: mxprobe relay test $token from "
    want_log "to=<me@mail\\.mxprobe\\.test>.*status=sent"
    rfinish
fi

# ------------------------------------------------------------ backscatter

if rbegin backscatter_closed_postfix; then
    # No -D: the registered domain of the greeting and of the PTR name.
    mark "$PF_CLEAN"
    rmx 20 -v -C backscatter -H 127.0.0.21
    want_exit 0
    want_status '^MXPROBE OK - .*rejects unknown users \(mxprobe\.test\)'
    want_out 'rejects unknown user <?mxprobe-nonexistent-[0-9a-f]{16}@mxprobe\.test>? \(550 5\.1\.1 '
    want_out 'backscatter_accepted=0;0;;0;1( |$)'
    want_out 'backscatter_domains=1;;;0( |$)'
    want_out 'backscatter_time=[0-9.]+s'
    slice "$PF_CLEAN"
    want_log_count 1 'reject: RCPT from .*: 550 5\.1\.1 <mxprobe-nonexistent-[0-9a-f]{16}@mxprobe\.test>'
    want_no_message
    rfinish
fi

expect_run backscatter_domain_option 0 \
    '^MXPROBE OK - .*rejects unknown users \(mail\.mxprobe\.test\)' 20 -- \
    -C backscatter -H 127.0.0.21 -D mail.mxprobe.test

if rbegin backscatter_foreign_domain; then
    rmx 20 -v -C backscatter -H 127.0.0.21 -D example.org
    want_exit 0
    want_status '^MXPROBE OK - .*no domain of this server accepts mail \(example\.org\)'
    want_out 'does not accept mail for <?example\.org>? \(554 5\.7\.1 '
    rfinish
fi

if rbegin backscatter_accepts_unknown; then
    # .28 has no PTR: the greeting's domain alone.
    mark "$PF_LAX"
    rmx 20 -v -C backscatter -H 127.0.0.28
    want_exit 1
    want_status '^MXPROBE WARNING - .*accepts mail for unknown users \(mxprobe\.test\)'
    want_out 'accepts RCPT for unknown user <?mxprobe-nonexistent-[0-9a-f]{16}@mxprobe\.test>? \(250 2\.1\.5 Ok\): it will bounce later \(backscatter\)'
    want_out 'backscatter_accepted=1;0;;0;1( |$)'
    want_no_out 'sent test message'
    slice "$PF_LAX"
    want_no_log '< DATA|after DATA'
    want_no_message
    rfinish
fi

if rbegin backscatter_any_rcpt_fake; then
    f=$(fake_log 127.0.0.62)
    mark "$f"
    rmx 20 -v -C backscatter -H 127.0.0.62 -D mxprobe.test
    want_exit 1
    want_status 'accepts mail for unknown users \(mxprobe\.test\)'
    slice "$f"
    want_log '< RCPT TO:<mxprobe-nonexistent-[0-9a-f]{16}@mxprobe\.test>'
    want_no_log '< DATA'
    want_no_log 'PIPELINING-VIOLATION'
    want_no_message
    rfinish
fi

if rbegin backscatter_auth_required; then
    rmx 20 -v -C backscatter -H 127.0.0.63 -D mxprobe.test
    want_exit 0
    want_out 'authentication required \(530 5\.7\.0 '
    want_out 'backscatter_accepted=0;'
    rfinish
fi

if rbegin backscatter_greylisted; then
    rmx 20 -v -C backscatter -H 127.0.0.64 -D mxprobe.test
    want_exit 3
    want_status '^MXPROBE UNKNOWN - .*inconclusive'
    want_out 'inconclusive for <?mxprobe\.test>?: 450 4\.7\.1 '
    rfinish
fi

# .67 greets as "localhost" and has no PTR: no domain to test.
expect_run backscatter_no_domain 3 \
    '^MXPROBE UNKNOWN - .*no mail domain to test: set the target.s domain \(-D\)' \
    20 -- -C backscatter -H 127.0.0.67

expect_run backscatter_unreachable 3 '^MXPROBE UNKNOWN - ' 10 -- \
    -C backscatter -H 127.0.0.49 -D mxprobe.test

# .50 hangs up after every greeting: both checks try again a bounded
# number of times, then say why they could not test.
expect_run relay_backscatter_close_after_greeting 3 \
    '^MXPROBE UNKNOWN - .*cannot test backscatter: .*connection closed.*cannot test relaying: connection closed' \
    10 -- -C backscatter,relay -H 127.0.0.50 -D mxprobe.test

if rbegin backscatter_deliver_without_my_email; then
    mark "$PF_LAX"
    rmx 20 -v -C backscatter -H 127.0.0.28 --set backscatter.deliver=true
    want_exit 1
    want_no_out 'sent test message'
    slice "$PF_LAX"
    want_no_message
    rfinish
fi

if rbegin backscatter_deliver; then
    mark "$PF_LAX"
    rmx 20 -v -C backscatter -H 127.0.0.28 --set backscatter.deliver=true \
        --set probe.my_email=me@mail.mxprobe.test
    SENT_LAX=$((SENT_LAX + 1))
    want_exit 1
    want_out_count 1 'sent test message [^ ]+ from <?me@mail\.mxprobe\.test>? to <?mxprobe-nonexistent-[0-9a-f]{16}@mxprobe\.test>? \(250 .*\): a bounce in your mailbox means backscatter'
    token=$(sed -n 's/.*sent test message \([^ ]*\) from .*/\1/p' "$OUT" | head -n 1)
    [ -n "$token" ] || token=NO-TOKEN-SHOWN
    slice "$PF_LAX" ' removed$'
    want_log_count 1 'message-id='
    want_log_count 1 'status=sent'
    want_log_count 1 "info: header Subject: mxprobe backscatter test $token from .*from=<me@mail\\.mxprobe\\.test> to=<mxprobe-nonexistent-"
    rfinish
fi

# ------------------------------------------------------------ both

if rbegin relay_backscatter_closed; then
    mark "$PF_CLEAN"
    rmx 20 -C relay,backscatter -H 127.0.0.21
    want_exit 0
    want_status '^MXPROBE OK - '
    want_out '^\[OK\] relay: no open relay: 17/17 forms refused'
    want_out '^\[OK\] backscatter: rejects unknown users \(mxprobe\.test\)'
    slice "$PF_CLEAN"
    want_no_message
    rfinish
fi

if rbegin relay_backscatter_open; then
    rmx 20 -C relay,backscatter -H 127.0.0.27 -D open.mxprobe.test
    want_exit 2
    want_status '^MXPROBE CRITICAL - .*open relay'
    want_out '^\[CRITICAL\] relay: open relay'
    want_out '^\[OK\] backscatter: rejects unknown users \(open\.mxprobe\.test\)'
    rfinish
fi

# ------------------------------------------------------------ safety

if rbegin relay_nothing_completed; then
    # Over every case run so far: no server ever took a message but those
    # the delivery cases sent.
    OUT=$TMP/cases/$CASE.out ERR=/dev/null RC=0 ELAPSED_MS=0
    echo "(grep the server logs)" >"$TMP/cases/$CASE.cmd"
    : >"$OUT"
    for f in "$TMP"/fakesmtp-*.log; do
        grep -H 'COMPLETED-MESSAGE' "$f" >>"$OUT"
    done
    for d in clean mismatch open lax slowmail tarpit; do
        grep -H 'message-id=' "$TMP/postfix-$d/postfix.log" >>"$OUT"
    done
    want_no_out 'fakesmtp-.*COMPLETED-MESSAGE'
    want_no_out 'postfix-(clean|mismatch|slowmail|tarpit)/'
    want_out_count "$SENT_OPEN" 'postfix-open/'
    want_out_count "$SENT_LAX" 'postfix-lax/'
    rfinish
fi
