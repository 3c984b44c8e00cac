# tests/integration/cases-mta-sts.sh - the zone plugin's MTA-STS (RFC
# 8461) and TLS-RPT (RFC 8460) cases, sourced by run.sh.
#
# Each case is a mail domain of zones/sts.test.zone whose MX is Postfix
# on 127.0.0.21 (mail.mxprobe.test): -C zone -H 127.0.0.21 -D DOMAIN,
# the test DNS, and the policies served by nginx (start_https,
# servers.sh) on 127.0.0.56:443 with the test CA's certificate, trusted
# through plugins.zone.ca_file.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

STS_ADDR=127.0.0.56
STS_UP=
STS_DIR=$TMP/sts

# sts_up: the policies and their server, once, when a case needs them.
sts_up() {
    [ -n "$STS_UP" ] && return 0
    STS_UP=failed
    mkdir -p "$STS_DIR" || return 1
    printf 'version: STSv1\nmode: enforce\nmx: mail.mxprobe.test\nmax_age: 604800\n' \
        >"$STS_DIR/enforce.txt"
    printf 'version: STSv1\nmode: enforce\nmx: *.other.test\nmax_age: 604800\n' \
        >"$STS_DIR/mismatch.txt"
    printf 'version: STSv1\nmode: testing\nmx: mx.other.test\nmax_age: 604800\n' \
        >"$STS_DIR/testing.txt"
    printf 'version: STSv1\nmode: none\nmax_age: 86400\n' >"$STS_DIR/none.txt"
    printf 'version: STSv1\nmode: enforcing\nmx: mail.mxprobe.test\nmax_age: 604800\n' \
        >"$STS_DIR/bad.txt"
    # a valid policy, padded past 64 KiB with an extension field
    {
        cat "$STS_DIR/enforce.txt"
        for _ in $(seq 1 700); do
            printf 'x-pad: %0100d\n' 0
        done
    } >"$STS_DIR/big.txt"
    cat >"$STS_DIR/sites" <<EOF
mta-sts.enforce.sts.test file $STS_DIR/enforce.txt
mta-sts.mismatch.sts.test file $STS_DIR/mismatch.txt
mta-sts.testing.sts.test file $STS_DIR/testing.txt
mta-sts.none.sts.test file $STS_DIR/none.txt
mta-sts.bad.sts.test file $STS_DIR/bad.txt
mta-sts.big.sts.test big $STS_DIR/big.txt
mta-sts.missing.sts.test missing
mta-sts.redirect.sts.test redirect
mta-sts.slow.sts.test slow $STS_DIR/enforce.txt
mta-sts.sts.test type:text/html $STS_DIR/enforce.txt
mta-sts.wrongcert.sts.test file $STS_DIR/enforce.txt $TLS/mta-sts-wrong.pem
EOF
    start_https "$STS_ADDR" "$STS_DIR/sites" || return 1
    STS_UP=1
}

# sts_case NAME EXIT STATUS-REGEX OUT-REGEX DOMAIN [ARGS...]: the domain's
# zone check; exit, status line and output (details included) must match.
sts_case() {
    local name=$1 want=$2 status=$3 re=$4 domain=$5
    shift 5
    begin "$name" || return 0
    if ! sts_up; then
        why "the test HTTPS server on $STS_ADDR:443 did not start"
        no_mx
        finish
        return 0
    fi
    mx 10 -C zone -H 127.0.0.21 -D "$domain" -v \
        --set "zone.ca_file=$TLS/ca.pem" "$@"
    want_exit "$want"
    want_status "$status"
    want_out "$re"
    want_time 10
    finish
}

URL_OF() { printf 'https://mta-sts\\.%s/\\.well-known/mta-sts\\.txt' "${1//./\\.}"; }

sts_case sts_enforce_matching 0 \
    '^MXPROBE OK - 127\.0\.0\.21: enforce\.sts\.test: SPF pass, DMARC p=reject, 1 MX' \
    'MX hosts of enforce\.sts\.test matching the MTA-STS policy: mail\.mxprobe\.test \(the target\) \(mail\.mxprobe\.test\)' \
    enforce.sts.test
if begin sts_enforce_matching_details; then
    # the same run: the policy and TLS-RPT shown
    if sts_up; then
        mx 10 -C zone -H 127.0.0.21 -D enforce.sts.test -v \
            --set "zone.ca_file=$TLS/ca.pem"
        want_out 'MTA-STS record of enforce\.sts\.test: id 20261202T1'
        want_out 'MTA-STS policy of enforce\.sts\.test \(id 20261202T1\): mode enforce, max_age 604800 s, 7 days, mx mail\.mxprobe\.test'
        want_out 'TLS-RPT of enforce\.sts\.test: reports go to mailto:tlsrpt@sts\.test, https://report\.sts\.test/v1'
        want_no_out 'WARNING|CRITICAL'
    else
        why "the test HTTPS server did not start"
        no_mx
    fi
    finish
fi

sts_case sts_enforce_not_matching 2 \
    '^MXPROBE CRITICAL - 127\.0\.0\.21: MTA-STS policy of mismatch\.sts\.test: mail to MX mail\.mxprobe\.test is refused by MTA-STS senders \(mode enforce, no mx pattern matches\); it is the target' \
    'TLS-RPT record of mismatch\.sts\.test is invalid: rua URI .tlsrpt@sts\.test. is neither mailto: nor https:' \
    mismatch.sts.test

sts_case sts_testing 0 '^MXPROBE OK - 127\.0\.0\.21: ' \
    'MX mail\.mxprobe\.test \(the target\) matches no mx pattern of the MTA-STS policy of testing\.sts\.test: in mode testing senders report it \(TLS-RPT\) but deliver' \
    testing.sts.test

sts_case sts_none 0 '^MXPROBE OK - 127\.0\.0\.21: ' \
    'MTA-STS policy of none\.sts\.test is in mode none: senders do not apply MTA-STS' \
    none.sts.test

sts_case sts_malformed 1 \
    "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of bad\\.sts\\.test cannot be fetched from $(URL_OF bad.sts.test): invalid policy: line 2: mode 'enforcing' is not enforce, testing or none; senders without a cached policy deliver as if bad\\.sts\\.test had no MTA-STS" \
    'MTA-STS record of bad\.sts\.test: id 1' bad.sts.test

sts_case sts_oversized 1 \
    "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of big\\.sts\\.test cannot be fetched from $(URL_OF big.sts.test): it is larger than 64 KiB" \
    'senders refuse it, RFC 8461 3\.3' big.sts.test

sts_case sts_not_found 1 \
    "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of missing\\.sts\\.test cannot be fetched from $(URL_OF missing.sts.test): HTTP status 404;" \
    'senders without a cached policy deliver as if missing\.sts\.test had no MTA-STS' \
    missing.sts.test

sts_case sts_redirect 1 \
    "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of redirect\\.sts\\.test cannot be fetched from $(URL_OF redirect.sts.test): HTTP 301 redirect to https://elsewhere\\.test/: redirects are not followed by senders \\(RFC 8461 3\\.3\\)" \
    'MTA-STS record of redirect\.sts\.test' redirect.sts.test

sts_case sts_content_type 1 \
    "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of sts\\.test cannot be fetched from $(URL_OF sts.test): its Content-Type is 'text/html', not text/plain \\(RFC 8461 3\\.2\\)" \
    'MTA-STS record of sts\.test' sts.test

sts_case sts_wrong_certificate 1 \
    "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of wrongcert\\.sts\\.test cannot be fetched from $(URL_OF wrongcert.sts.test): " \
    'MTA-STS policy of wrongcert\.sts\.test cannot be fetched from .*(certificate|name|SSL)' \
    wrongcert.sts.test

sts_case sts_two_records 1 \
    '^MXPROBE WARNING - 127\.0\.0\.21: _mta-sts\.two\.sts\.test has several MTA-STS records: 2 TXT records begin with v=STSv1: senders ignore them all \(RFC 8461 3\.1\)' \
    'MTA-STS record of two\.sts\.test: v=STSv1; id=2' two.sts.test

sts_case sts_no_record 0 '^MXPROBE OK - 127\.0\.0\.21: ' \
    'no MTA-STS record for pass\.spf\.test' pass.spf.test

if begin sts_untrusted_ca; then
    # without the test CA the certificate does not verify: never OK
    if sts_up; then
        mx 10 -C zone -H 127.0.0.21 -D enforce.sts.test -v
        want_exit 1
        want_status "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of enforce\\.sts\\.test cannot be fetched from $(URL_OF enforce.sts.test): .*certificate"
        want_time 10
    else
        why "the test HTTPS server did not start"
        no_mx
    fi
    finish
fi

if begin sts_slow; then
    # a body that takes a minute: the fetch ends within -t, a WARNING
    if sts_up; then
        mx 8 -C zone -H 127.0.0.21 -D slow.sts.test -v \
            --set "zone.ca_file=$TLS/ca.pem"
        want_exit 1
        want_status "^MXPROBE WARNING - 127\\.0\\.0\\.21: MTA-STS policy of slow\\.sts\\.test cannot be fetched from $(URL_OF slow.sts.test): .*([Tt]imed? ?out|timeout)"
        want_time 8
    else
        why "the test HTTPS server did not start"
        no_mx
    fi
    finish
fi

if begin sts_cache; then
    # A good fetch is cached; a domain whose server fails while a fresh
    # enforce policy is cached is CRITICAL, the MX held against it.
    if sts_up; then
        mkdir -p "$TMP/sts-cache"
        mx 10 -C zone -H 127.0.0.21 -D enforce.sts.test -v \
            --set "zone.ca_file=$TLS/ca.pem" \
            --set "zone.mta_sts_cache=$TMP/sts-cache"
        want_exit 0
        f=$TMP/sts-cache/enforce.sts.test.mta-sts
        if [ -f "$f" ]; then
            [ "$(stat -c %a "$f")" = 600 ] || why "cache file mode $(stat -c %a "$f")"
            grep -q '^domain enforce\.sts\.test$' "$f" || why "cache file lacks its domain"
            # the same policy, as if fetched for missing.sts.test
            (umask 077 && sed 's/^domain enforce\.sts\.test$/domain missing.sts.test/' \
                "$f" >"$TMP/sts-cache/missing.sts.test.mta-sts")
            mx 10 -C zone -H 127.0.0.21 -D missing.sts.test -v \
                --set "zone.ca_file=$TLS/ca.pem" \
                --set "zone.mta_sts_cache=$TMP/sts-cache"
            want_exit 2
            want_status "^MXPROBE CRITICAL - 127\\.0\\.0\\.21: MTA-STS policy of missing\\.sts\\.test cannot be fetched from $(URL_OF missing.sts.test): HTTP status 404; senders keep applying the enforce policy they cached \\(id 20261202T1, fetched "
            want_out 'MX hosts of missing\.sts\.test matching the cached MTA-STS policy \(fetched [^)]*\): mail\.mxprobe\.test'
        else
            why "no cache file $f"
        fi
        want_time 10
    else
        why "the test HTTPS server did not start"
        no_mx
    fi
    finish
fi
