# tests/integration/cases-dane-review.sh - DANE cases from the review of
# the tls check's DANE, sourced by run.sh like cases-dane.sh (the same
# tls Postfix on 127.0.0.101:2525, Knot's signed dnssec.test and the
# validating unbound $VALIDATING_DNS).  Own names (dr*), so that the
# records do not meet cases-dane.sh's.
#
#   drc.dnssec.test  _2525._tcp CNAME to _2525._tcp.drt (signed), whose
#                    TLSA 3 1 1 of tls.pem matches
#   dru.dnssec.test  _2525._tcp CNAME (signed) into the unsigned zone
#                    mxprobe.test, a non-matching TLSA there: the RRset
#                    is not validated, senders ignore it
#   drd.dnssec.test  signed A and TLSA, but the TLSA query is dropped on
#                    the way ($DROP_TLSA_DNS, dnsdrop.py before the
#                    validating unbound): DANE senders defer, a WARNING
#   $BOGUS_DNS       unbound with a wrong trust anchor: all of
#                    dnssec.test is SERVFAIL (bogus), never a verdict
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

DANE_REVIEW_UP=

dane_review_up() {
    [ -n "$DANE_REVIEW_UP" ] && return "$DANE_REVIEW_UP"
    local ee wrong
    DANE_REVIEW_UP=1
    ee=$(tlsa_rdata "$TLS/tls.pem" 3 1 1) &&
        wrong=$(tlsa_rdata "$TLS/wrong.pem" 3 1 1) || return 1
    zone_add mxprobe.test "_2525._tcp.dane-review-u 300 TLSA $wrong" ||
        return 1
    signed_zone_add \
        "drc 300 A 127.0.0.101" "dru 300 A 127.0.0.101" \
        "drd 300 A 127.0.0.101" "_2525._tcp.drd 300 TLSA $ee" \
        "_2525._tcp.drc 300 CNAME _2525._tcp.drt" \
        "_2525._tcp.drt 300 TLSA $ee" \
        "_2525._tcp.dru 300 CNAME _2525._tcp.dane-review-u.mxprobe.test." ||
        return 1
    sleep 1.1 # unbound's 1 s caches of names asked before
    DANE_REVIEW_UP=0
}

dane_review_run() {
    local name=$1
    shift
    begin "$name" || return 1
    if ! dane_review_up; then
        why "the TLSA records could not be added to the zones"
        no_mx
        return 0
    fi
    mx 10 -v -C tls --dns-server "${DR_DNS:-$VALIDATING_DNS}" "$@"
    want_status '^MXPROBE (OK|WARNING|CRITICAL|UNKNOWN) - '
    want_time 10
}

if dane_review_run dane_review_cname_signed -H drc.dnssec.test; then
    # RFC 7672 2.2.3: a signed CNAME to a signed TLSA RRset is DANE.
    want_exit 0
    want_out '^\[OK\] tls: TLSA 3 1 1 [0-9A-F]{8}\.\.\. \(DANE-EE\) matches the leaf certificate'
    want_out '^\[OK\] tls: DANE-EE matches'
    finish
fi

if dane_review_run dane_review_cname_into_unsigned -H dru.dnssec.test; then
    # The CNAME is signed, the TLSA it leads to is not: no AD, senders
    # ignore the (non-matching) record: a WARNING, never CRITICAL.
    want_exit 1
    want_out '^\[WARNING\] tls: TLSA records at _2525\._tcp\.dru\.dnssec\.test are not DNSSEC-signed: senders ignore them$'
    want_no_out 'matches the certificate chain'
    finish
fi

if dane_review_run dane_review_upper_case_name -H DRC.DNSSEC.TEST; then
    # Names are case-blind: the same TLSA, the same match.
    want_exit 0
    want_out '^\[OK\] tls: TLSA 3 1 1 [0-9A-F]{8}\.\.\. \(DANE-EE\) matches the leaf certificate'
    finish
fi

# bogus_run NAME ARGS...: the records, mxprobe -v against the resolver
# whose trust anchor is wrong ($BOGUS_DNS): dnssec.test is SERVFAIL.
bogus_run() {
    local name=$1
    shift
    begin "$name" || return 1
    dane_review_up || why "the TLSA records could not be added"
    mx 10 -v --dns-server "$BOGUS_DNS" "$@"
    want_status '^MXPROBE (OK|WARNING|CRITICAL|UNKNOWN) - '
    want_time 15
}

if bogus_run dane_review_bogus_mx -H 127.0.0.101 -D dnssec.test -C tls,zone; then
    # Everything of dnssec.test is SERVFAIL: the zone check cannot tell
    # (UNKNOWN), the tls check says why DANE was not checked, no TLSA
    # match, nothing called signed.
    want_exit 3
    want_out '^\[OK\] tls: DANE not checked: the MX lookup of dnssec\.test failed \(SERVFAIL\)'
    want_out '^\[UNKNOWN\] zone: MX lookup of dnssec\.test failed: SERVFAIL'
    want_no_out 'TLSA .*matches'
    want_no_out 'DNSSEC-signed'
    finish
fi

if bogus_run dane_review_bogus_name -H drc.dnssec.test -C tls; then
    # The target's own name does not resolve: UNKNOWN, not a verdict.
    want_exit 3
    want_status "cannot resolve 'drc\.dnssec\.test': SERVFAIL"
    finish
fi

# A forwarder to the validating unbound that swallows the TLSA query of
# drd.dnssec.test (its address still comes, with AD).
DROP_TLSA_DNS=127.0.0.59:${VALIDATING_DNS#*:}
"$PY" "$HERE/dnsdrop.py" --listen "$DROP_TLSA_DNS" \
    --upstream "$VALIDATING_DNS" --drop _tcp.drd.dnssec.test \
    >"$TMP/dnsdrop-tlsa.log" 2>&1 9>&- &
PIDS+=($!)
wait_for 10 kdig @"${DROP_TLSA_DNS%:*}" -p "${DROP_TLSA_DNS#*:}" +time=1 \
    +retry=0 dnssec.test SOA ||
    echo "dnsdrop on $DROP_TLSA_DNS did not answer" >&2

if DR_DNS=$DROP_TLSA_DNS dane_review_run dane_review_tlsa_timeout \
    -H drd.dnssec.test; then
    want_exit 1
    want_out "^\\[WARNING\\] tls: TLSA lookup of _2525\\._tcp\\.drd\\.dnssec\\.test failed \\(timeout\\) while drd\\.dnssec\\.test's address is DNSSEC-signed: DANE senders defer mail to it"
    want_no_out 'TLSA .*matches'
    finish
fi
