# tests/integration/cases-dane.sh - DANE (RFC 7672) in the tls check,
# sourced by run.sh: TLSA records in Knot's signed zone dnssec.test,
# validated by the tests' unbound ($VALIDATING_DNS, the resolver whose AD
# bit mxprobe trusts), held against the tls Postfix (127.0.0.101:2525,
# $TLS/tls.pem: a leaf for tls.mxprobe.test signed by the test CA, the CA
# not sent).  The TLSA data is computed at the first case from the
# certificates tls-setup.sh made for this run (tlsa_rdata, servers.sh).
# The port is 2525, so the records sit at _2525._tcp.<name>.
#
#   mx.dnssec.test (MX 10, .101)  3 1 1 of tls.pem: matches (via -D)
#   dn.dnssec.test  (.101)         3 1 1 of wrong.pem: no match
#   du.dnssec.test  (.101)         1 1 1 of tls.pem: usage 1 only
#   ds.dnssec.test  (.101)         3 1 1 wrong, 2 0 1 CA, 3 0 1 tls: one
#                                  matches
#   dt.dnssec.test  (.101)         2 1 0 of the CA's key: DANE-TA, the
#                                  leaf's names lack dt.dnssec.test
#   dx.dnssec.test  (.102)         3 1 1 of tls.pem, no STARTTLS there
#   dane-unsigned.mxprobe.test (.101, unsigned zone): 3 1 1 of tls.pem
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

DANE_UP=

# dane_up: the records, once; false (the case fails) when they could not
# be added.
dane_up() {
    [ -n "$DANE_UP" ] && return "$DANE_UP"
    local ee wrong ca_d ee0 u1 ta
    DANE_UP=1
    ee=$(tlsa_rdata "$TLS/tls.pem" 3 1 1) &&
        wrong=$(tlsa_rdata "$TLS/wrong.pem" 3 1 1) &&
        ca_d=$(tlsa_rdata "$TLS/ca.pem" 2 0 1) &&
        ee0=$(tlsa_rdata "$TLS/tls.pem" 3 0 1) &&
        u1=$(tlsa_rdata "$TLS/tls.pem" 1 1 1) &&
        ta=$(tlsa_rdata "$TLS/ca.pem" 2 1 0) || return 1
    signed_zone_add \
        "dn 300 A 127.0.0.101" "du 300 A 127.0.0.101" \
        "ds 300 A 127.0.0.101" "dt 300 A 127.0.0.101" \
        "dx 300 A 127.0.0.102" \
        "_2525._tcp.mx 300 TLSA $ee" \
        "_2525._tcp.dn 300 TLSA $wrong" \
        "_2525._tcp.du 300 TLSA $u1" \
        "_2525._tcp.ds 300 TLSA $wrong" \
        "_2525._tcp.ds 300 TLSA $ca_d" \
        "_2525._tcp.ds 300 TLSA $ee0" \
        "_2525._tcp.dt 300 TLSA $ta" \
        "_2525._tcp.dx 300 TLSA $ee" || return 1
    zone_add mxprobe.test "dane-unsigned 300 A 127.0.0.101" \
        "_2525._tcp.dane-unsigned 300 TLSA $ee" || return 1
    # Names asked before (the suite's other cases) leave unbound's 1 s
    # caches behind.
    sleep 1.1
    DANE_UP=0
}

# dane_run NAME ARGS...: begin NAME, the records, mxprobe -v -C tls with
# the validating resolver.
dane_run() {
    local name=$1
    shift
    begin "$name" || return 1
    if ! dane_up; then
        why "the TLSA records could not be added to the zones"
        no_mx
        return 0
    fi
    mx 10 -v -C tls --dns-server "$VALIDATING_DNS" "$@"
    want_status '^MXPROBE (OK|WARNING|CRITICAL|UNKNOWN) - '
    want_time 10
}

if dane_run dane_tlsa_matches -H 127.0.0.101 -D dnssec.test; then
    # The MX pointing here is the base name; DANE-EE: the certificate's
    # names (tls.mxprobe.test) are no matter to DANE senders.
    want_exit 0
    want_out '^\[OK\] tls: TLSA 3 1 1 [0-9A-F]{8}\.\.\. \(DANE-EE\) matches the leaf certificate'
    want_out '^\[OK\] tls: one usable TLSA record at _2525\._tcp\.mx\.dnssec\.test'
    want_out '^\[OK\] tls: DANE-EE matches: names and expiry are not checked'
    want_out '^\[OK\] tls: for senders without DANE: certificate name does not match mx\.dnssec\.test \(MX name\)'
    want_no_out '_2525\._tcp\.mx2\.dnssec\.test'
    want_no_out '^\[(WARNING|CRITICAL|UNKNOWN)\]'
    finish
fi

if dane_run dane_tlsa_no_match -H dn.dnssec.test; then
    want_exit 2
    want_status 'no TLSA record at _2525\._tcp\.dn\.dnssec\.test matches the certificate chain: DANE senders defer all mail'
    want_out '^\[OK\] tls: TLSA 3 1 1 [0-9A-F]{8}\.\.\. \(DANE-EE\): does not match the server certificate'
    finish
fi

if dane_run dane_tlsa_unsigned -H dane-unsigned.mxprobe.test; then
    want_exit 1
    want_out '^\[WARNING\] tls: TLSA records at _2525\._tcp\.dane-unsigned\.mxprobe\.test are not DNSSEC-signed: senders ignore them'
    want_no_out 'matches the leaf'
    finish
fi

if dane_run dane_tlsa_usage1_only -H du.dnssec.test; then
    want_exit 1
    want_out '^\[WARNING\] tls: TLSA records at _2525\._tcp\.du\.dnssec\.test are of usage 0/1 \(PKIX-TA/PKIX-EE\) only, which SMTP senders ignore \(RFC 7672 3\.1\.3\): DANE senders use TLS without authentication'
    want_no_out '^\[CRITICAL\]'
    finish
fi

if dane_run dane_tlsa_several_one_matches -H ds.dnssec.test; then
    # DANE-EE matched: the name mismatch is a note, not a WARNING.
    want_exit 0
    want_out '^\[OK\] tls: TLSA 3 0 1 [0-9A-F]{8}\.\.\. \(DANE-EE\) matches the leaf certificate'
    want_out '^\[OK\] tls: TLSA 3 1 1 [0-9A-F]{8}\.\.\. \(DANE-EE\): does not match'
    want_out '^\[OK\] tls: TLSA 2 0 1 [0-9A-F]{8}\.\.\. \(DANE-TA\): '
    want_no_out 'one usable TLSA record'
    want_no_out '^\[(WARNING|CRITICAL|UNKNOWN)\]'
    finish
fi

if dane_run dane_ta_checks_the_name -H dt.dnssec.test; then
    # The CA's key (not sent) signed the leaf: trusted through the TA, but
    # the leaf must carry the TLSA base domain: DANE senders defer.
    want_exit 2
    want_out '^\[OK\] tls: TLSA 2 1 0 [0-9A-F]{8}\.\.\. \(DANE-TA\) matches the key that signed the top of the chain'
    want_out '^\[CRITICAL\] tls: certificate name does not match dt\.dnssec\.test \(TLSA base domain\)'
    finish
fi

if dane_run dane_signed_no_starttls -H dx.dnssec.test; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: TLSA records at _2525\._tcp\.dx\.dnssec\.test are DNSSEC-signed but no TLS session could be had'
    finish
fi

if dane_run dane_no_tlsa -H mail.dnssec.test; then
    # mail.dnssec.test is the clean Postfix (.21) and has no TLSA.
    want_out '^\[OK\] tls: no TLSA at _2525\._tcp\.mail\.dnssec\.test \(DNSSEC-signed denial\): no DANE'
    finish
fi
