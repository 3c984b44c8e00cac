# tests/integration/cases-https.sh - the core's svc->https_get against a
# real HTTPS server, sourced by run.sh after cases.sh.
#
# nginx (start_https, servers.sh) on 127.0.0.57:443 with the test CA's
# mta-sts.pem serves the sites below; the names are in
# zones/https.test.zone (127.0.0.58: nothing listens; v6.https.test only
# AAAA ::1).  The test plugin httpsget (tests/plugins/httpsget.c) fetches
# plugins.httpsget.url through the real mxprobe binary and says what
# came: "status=... len=... type=... location=... addr=... first=..." or
# "https_get STATUS: words".  The server starts with the first case that
# runs.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

HTTPS_ADDR=127.0.0.57
HTTPS_DIR=$TMP/https
HTTPS_UP=
HTTPS_URL=/.well-known/mta-sts.txt

# https_up: the server, once; false (the case fails) when it did not start.
https_up() {
    [ -n "$HTTPS_UP" ] && return "$HTTPS_UP"
    mkdir -p "$HTTPS_DIR"
    printf 'version: STSv1\nmode: enforce\nmx: mail.https.test\nmax_age: 86400\n' \
        >"$HTTPS_DIR/policy.txt"
    # 100000 bytes: over the 64 KiB default cap, under 1 MiB.
    head -c 100000 /dev/zero | tr '\0' p >"$HTTPS_DIR/big.txt"
    cat >"$HTTPS_DIR/sites" <<EOF
ok.https.test file $HTTPS_DIR/policy.txt
both.https.test file $HTTPS_DIR/policy.txt
type.https.test type:application/json $HTTPS_DIR/policy.txt
missing.https.test missing
redirect.https.test redirect
slow.https.test slow $HTTPS_DIR/policy.txt
big.https.test big $HTTPS_DIR/big.txt
wrong.https.test file $HTTPS_DIR/policy.txt $TLS/mta-sts-wrong.pem
EOF
    if start_https "$HTTPS_ADDR" "$HTTPS_DIR/sites" >"$HTTPS_DIR/start.log" 2>&1; then
        HTTPS_UP=0
    else
        HTTPS_UP=1
    fi
    return "$HTTPS_UP"
}

# https_run TIMEOUT HOST [--set KEY=VALUE...] [ARGS...]: mxprobe -C
# httpsget -vv for https://HOST/.well-known/mta-sts.txt with the test CA
# (unless ARGS set another ca_file) against 127.0.0.21.
https_run() {
    local t=$1 host=$2
    shift 2
    https_up || why "nginx did not start: $(tr '\n' ' ' <"$HTTPS_DIR/start.log")"
    MX_ENV=(MXPROBE_PLUGIN_PATH="$BUILD/test-plugins")
    mx "$t" -C httpsget -H 127.0.0.21 -vv \
        --set "httpsget.url=https://$host$HTTPS_URL" \
        --set "httpsget.ca_file=$TLS/ca.pem" "$@"
}

# https_case NAME EXIT REGEX HOST [ARGS...]: one fetch with -t 10.
https_case() {
    local name=$1 want=$2 re=$3 host=$4
    shift 4
    begin "$name" || return 0
    https_run 10 "$host" "$@"
    want_exit "$want"
    want_out "$re"
    want_time 10
    finish
}

POLICY_LEN=64 # bytes of policy.txt above

https_case https_get_ok 0 \
    "status=200 len=$POLICY_LEN type=text/plain location= addr=127\.0\.0\.57 first=version: STSv1" \
    ok.https.test
https_case https_get_transcript 0 \
    "httpsget \+[0-9.]+s H HTTPS GET https://ok\.https\.test:443/\.well-known/mta-sts\.txt 200, $POLICY_LEN bytes, [0-9]+ ms from 127\.0\.0\.57" \
    ok.https.test
https_case https_get_content_type 0 'status=200 .*type=application/json ' \
    type.https.test
https_case https_get_404 0 'status=404 .*type=text/html ' missing.https.test
https_case https_get_redirect_not_followed 0 \
    'status=301 .*location=https://elsewhere\.test/ addr=127\.0\.0\.57' \
    redirect.https.test
https_case https_get_wrong_name 3 \
    "https_get PROTOCOL: certificate verify failed: .*wrong\.https\.test" \
    wrong.https.test
# No ca_file: the system store, which does not hold the test CA.
https_case https_get_system_store 3 \
    'https_get PROTOCOL: certificate verify failed: .*(local issuer|self.signed)' \
    ok.https.test --set httpsget.ca_file=
https_case https_get_bad_ca_file 3 'https_get CONFIG: .*no-such-ca\.pem' \
    ok.https.test --set "httpsget.ca_file=$TMP/no-such-ca.pem"
https_case https_get_nxdomain 3 'https_get DNS: nx\.https\.test: NXDOMAIN' \
    nx.https.test
https_case https_get_no_address 3 \
    'https_get DNS: noaddr\.https\.test has no address' noaddr.https.test
# -4 reaches the job: the AAAA-only name then has no address.
https_case https_get_ipv4_only 3 \
    'https_get DNS: v6\.https\.test has no address' v6.https.test -4
https_case https_get_both_families 0 'status=200 ' both.https.test
https_case https_get_refused 3 'https_get CONNECT: .*refused' \
    refused.https.test
https_case https_get_too_big 3 \
    'https_get TOO_BIG: response larger than 65536 bytes' big.https.test
https_case https_get_bigger_cap 0 'status=200 len=100000 ' big.https.test \
    --set httpsget.max_body=200000
https_case https_get_not_https 3 'https_get INVALID: not an https:// URL' \
    ok.https.test --set httpsget.url=http://ok.https.test/

if begin https_get_slow_deadline; then
    # About 60 s of body: the run's -t 5 cuts it, and the run ends in time.
    https_run 5 slow.https.test
    want_exit 3
    want_out 'https_get TIMEOUT: '
    want_time 5
    finish
fi

if begin https_get_slow_own_timeout; then
    # The request's own timeout (2 s), well before the run's -t 20.
    https_run 20 slow.https.test --set httpsget.timeout=2
    want_exit 3
    want_out 'https_get TIMEOUT: .*elapsed=2\.'
    want_time 4
    finish
fi
