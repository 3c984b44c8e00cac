# tests/integration/cases-sts-review.sh - MTA-STS policies read as
# senders read them (RFC 8461 3.2), through the real binary, the test
# DNS (zones/rv.test.zone) and nginx (start_https on 127.0.0.157:443):
# fields in any order with CRLF and trailing white space, a repeated
# mode (the first counts), a known key in another case (an extension,
# ignored), and the 64 KiB cap at its edge.  Sourced by run.sh.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

RV_ADDR=127.0.0.157
RV_UP=
RV_DIR=$TMP/sts-review

rv_up() {
    [ -n "$RV_UP" ] && return 0
    RV_UP=failed
    mkdir -p "$RV_DIR" || return 1
    printf 'version: STSv1\nmode: enforce\nmx: *.other.test\nmode: testing\nmax_age: 604800\n' \
        >"$RV_DIR/dupmode.txt"
    printf 'mx: MAIL.mxprobe.test \r\nmax_age: 604800\t\r\nmode: enforce\r\nversion: STSv1\r\n' \
        >"$RV_DIR/order.txt"
    printf 'version: STSv1\nmode: enforce\nMX: mail.mxprobe.test\nmx: *.other.test\nmax_age: 604800\n' \
        >"$RV_DIR/keycase.txt"
    # exactly 65536 bytes: the valid policy, then an extension line
    # filling the rest (its "x: ", its value, its LF)
    local n
    printf 'version: STSv1\nmode: enforce\nmx: mail.mxprobe.test\nmax_age: 604800\n' \
        >"$RV_DIR/head.txt"
    n=$(wc -c <"$RV_DIR/head.txt")
    { cat "$RV_DIR/head.txt"; printf 'x: '; head -c $((65536 - n - 4)) /dev/zero | tr '\0' a; printf '\n'; } \
        >"$RV_DIR/exact.txt"
    { cat "$RV_DIR/exact.txt"; printf '\n'; } >"$RV_DIR/over.txt"
    cat >"$RV_DIR/sites" <<EOT
mta-sts.dupmode.rv.test file $RV_DIR/dupmode.txt
mta-sts.order.rv.test file $RV_DIR/order.txt
mta-sts.keycase.rv.test file $RV_DIR/keycase.txt
mta-sts.exact.rv.test big $RV_DIR/exact.txt
mta-sts.over.rv.test big $RV_DIR/over.txt
EOT
    start_https "$RV_ADDR" "$RV_DIR/sites" || return 1
    RV_UP=1
}

# rv_case NAME EXIT STATUS-REGEX OUT-REGEX DOMAIN
rv_case() {
    local name=$1 want=$2 status=$3 re=$4 domain=$5
    begin "$name" || return 0
    if ! rv_up; then
        why "the test HTTPS server on $RV_ADDR:443 did not start"
        no_mx
        finish
        return 0
    fi
    mx 10 -C zone -H 127.0.0.21 -D "$domain" -v \
        --set "zone.ca_file=$TLS/ca.pem"
    want_exit "$want"
    want_status "$status"
    want_out "$re"
    want_no_out 'invalid policy'
    want_time 10
    finish
}

rv_case sts_review_repeated_mode 2 \
    '^MXPROBE CRITICAL - 127\.0\.0\.21: MTA-STS policy of dupmode\.rv\.test: mail to MX mail\.mxprobe\.test is refused by MTA-STS senders \(mode enforce, no mx pattern matches\); it is the target' \
    'MTA-STS policy of dupmode\.rv\.test repeats its mode field \(line 4\): senders go by the first' \
    dupmode.rv.test

rv_case sts_review_any_order_crlf 0 \
    '^MXPROBE OK - 127\.0\.0\.21: order\.rv\.test: ' \
    'MX hosts of order\.rv\.test matching the MTA-STS policy: mail\.mxprobe\.test \(the target\) \(MAIL\.mxprobe\.test\)' \
    order.rv.test

rv_case sts_review_key_case 2 \
    '^MXPROBE CRITICAL - 127\.0\.0\.21: MTA-STS policy of keycase\.rv\.test: mail to MX mail\.mxprobe\.test is refused by MTA-STS senders' \
    'writes the key mx in another case on line 3: senders ignore that line' \
    keycase.rv.test

rv_case sts_review_exactly_64k 0 \
    '^MXPROBE OK - 127\.0\.0\.21: exact\.rv\.test: ' \
    'MTA-STS policy of exact\.rv\.test \(id 1\): mode enforce' \
    exact.rv.test

rv_case sts_review_64k_and_1 1 \
    '^MXPROBE WARNING - 127\.0\.0\.21: MTA-STS policy of over\.rv\.test cannot be fetched from .*: it is larger than 64 KiB' \
    'senders refuse it, RFC 8461 3\.3' \
    over.rv.test
