# tests/integration/cases-dnssec.sh - what mxprobe makes of the AD bit,
# sourced by run.sh after cases.sh.
#
# Knot ($DNS) signs dnssec.test (zones/dnssec.test.zone) but, being
# authoritative, never sets AD; unbound ($VALIDATING_DNS, start_unbound
# in servers.sh) validates it with its KSK as trust anchor and sets AD on
# its answers, and only on them (every other zone is insecure to it).
# The zone check reports the AD bit of the domain's MX answer as an OK
# detail and the JSON field mx_dnssec.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

# Through the validating resolver: signed, as a detail only.
if begin dnssec_zone_signed_validated; then
    mx 10 -C zone -H 127.0.0.101 -D dnssec.test -v \
        --dns-server "$VALIDATING_DNS" --set zone.dmarc_none=ok
    want_exit 0
    want_status '^MXPROBE OK - .*dnssec\.test: SPF pass, DMARC p=none, 2 MX'
    want_out '^\[OK\] zone: MX records of dnssec\.test are DNSSEC-signed \(validated by the resolver\)'
    want_no_out 'not DNSSEC-signed'
    want_time 10
    finish
fi

if begin dnssec_zone_signed_json; then
    mx 10 -C zone -H 127.0.0.101 -D dnssec.test -o json \
        --dns-server "$VALIDATING_DNS" --set zone.dmarc_none=ok
    want_exit 0
    want_out '"plugin":"zone".*"fields":\{[^}]*"mx_dnssec":"signed"'
    want_time 10
    finish
fi

# The same zone straight from Knot: an authoritative server sets no AD,
# so the signed zone is not reported signed (AD is the resolver's word,
# never the zone's own signatures).
if begin dnssec_zone_authoritative_not_trusted; then
    mx 10 -C zone -H 127.0.0.101 -D dnssec.test -v --set zone.dmarc_none=ok
    want_exit 0
    want_out '^\[OK\] zone: MX records of dnssec\.test are not DNSSEC-signed \(or the resolver does not validate\)'
    want_no_out 'are DNSSEC-signed'
    want_time 10
    finish
fi

# An unsigned domain through the validating resolver: not signed, OK.
if begin dnssec_zone_unsigned_validated; then
    mx 10 -C zone -H 127.0.0.21 -D mxprobe.test -v \
        --dns-server "$VALIDATING_DNS"
    want_exit 0
    want_out '^\[OK\] zone: MX records of mxprobe\.test are not DNSSEC-signed \(or the resolver does not validate\)'
    want_no_out 'are DNSSEC-signed'
    want_time 10
    finish
fi

# A record added at run time is served signed and validated (the helper
# the DANE cases use), and one added to an unsigned zone is not.
if begin dnssec_zone_add_helpers; then
    no_mx
    signed_zone_add '_25._tcp.mail 300 TLSA 3 1 1 '"$(tlsa_rdata "$TLS/mail.pem" 3 1 1 | cut -d' ' -f4)" ||
        why "signed_zone_add failed"
    zone_add mxprobe.test '_25._tcp.unsigned 300 TLSA 3 1 1 00' ||
        why "zone_add failed"
    answers_ad "${VALIDATING_DNS%:*}" "${VALIDATING_DNS#*:}" \
        _25._tcp.mail.dnssec.test TLSA || why "added TLSA not validated"
    ! answers_ad "${VALIDATING_DNS%:*}" "${VALIDATING_DNS#*:}" \
        _25._tcp.unsigned.mxprobe.test TLSA || why "unsigned TLSA with AD"
    ! answers_ad "$DNS_ADDR" "$DNS_PORT" _25._tcp.mail.dnssec.test TLSA ||
        why "Knot set AD"
    [ "$(tlsa_rdata "$TLS/mail.pem" 3 0 0 | cut -d' ' -f4)" = \
        "$(openssl x509 -in "$TLS/mail.pem" -outform DER | od -An -v -tx1 | tr -d ' \n')" ] ||
        why "tlsa_rdata 3 0 0 is not the certificate"
    finish
fi
