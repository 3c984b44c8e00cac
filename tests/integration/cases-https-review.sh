# tests/integration/cases-https-review.sh - svc->https_get against the
# replies of hostilehttps.py (what nginx never sends), from the hostile
# review; sourced by run.sh.
#
# hostilehttps.py on 127.0.0.236:443 with the test CA's mta-sts.pem picks
# its reply by the Host header's first label (zones/https.test.zone names
# them).  The test plugin httpsget fetches through the real binary, as in
# cases-https.sh.  The server starts with the first case that runs.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

HR_ADDR=127.0.0.236
HR_UP=

# hr_up: the server, once; false (the case fails) when it did not start.
hr_up() {
    [ -n "$HR_UP" ] && return "$HR_UP"
    "$PY" "$HERE/hostilehttps.py" --listen "$HR_ADDR:443" \
        --cert "$TLS/mta-sts.pem" >"$TMP/hostilehttps.log" 2>&1 9>&- &
    PIDS+=($!)
    if wait_for 10 tcp_listens "$HR_ADDR" 443; then HR_UP=0; else HR_UP=1; fi
    return "$HR_UP"
}

# hr_case NAME EXIT REGEX HOST: one fetch of https://HOST/... with -t 10.
hr_case() {
    local name=$1 want=$2 re=$3 host=$4
    begin "$name" || return 0
    hr_up || why "hostilehttps.py did not start: $(tr '\n' ' ' <"$TMP/hostilehttps.log")"
    MX_ENV=(MXPROBE_PLUGIN_PATH="$BUILD/test-plugins")
    mx 10 -C httpsget -H 127.0.0.21 -vv \
        --set "httpsget.url=https://$host/.well-known/mta-sts.txt" \
        --set "httpsget.ca_file=$TLS/ca.pem"
    want_exit "$want"
    want_out "$re"
    want_time 10
    finish
}

hr_case https_review_server_up 0 'status=200 len=64 .*first=version: STSv1' \
    hostile.https.test
# A reply that is no HTTP is the server's failure (PROTOCOL), not a bad
# request of the plugin's (INVALID): libcurl says CURLE_UNSUPPORTED_PROTOCOL.
hr_case https_review_http09 3 \
    'https_get PROTOCOL: .*HTTP/0\.9' http09.https.test
hr_case https_review_bad_version 3 \
    'https_get PROTOCOL: .*Unsupported HTTP version' badver.https.test
# A header line over libcurl's 100 KB is refused with CURLE_OUT_OF_MEMORY:
# the server's doing, not ours.
hr_case https_review_long_header_line 3 \
    'https_get PROTOCOL: response header line longer than' longline.https.test
# A 404 page over the cap: too big, and still a 404 (what a plugin and its
# operator need: the policy is missing, not oversized).
hr_case https_review_big_404 3 \
    'https_get TOO_BIG: response larger than 65536 bytes \(HTTP 404\)' \
    big404.https.test
