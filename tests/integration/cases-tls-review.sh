# tests/integration/cases-tls-review.sh - tls cases from the hostile
# review, sourced by run.sh: servers scripted by hostiletls.py.
#
# Targets: .248 allows 2 connections at once (421 beyond, the turned-away
# ones counted 0.2 s longer), .249 3; .250 answers every ClientHello with
# a suite it was not offered.  The certificate comes from a CA made here.
#
# shellcheck shell=bash disable=SC2034 # RC etc. are read by run.sh

RV_DIR=$TMP/tls-review
mkdir -p "$RV_DIR"

# rv_certs: a CA and a server certificate for tls.review.test, in RV_DIR.
rv_certs() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$RV_DIR/ca.key" \
        -out "$RV_DIR/ca.pem" -days 30 -subj "/CN=Review Test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=keyCertSign,cRLSign" 2>/dev/null &&
        openssl req -newkey rsa:2048 -nodes -keyout "$RV_DIR/srv.key" \
            -out "$RV_DIR/srv.csr" -subj "/CN=tls.review.test" 2>/dev/null &&
        printf 'subjectAltName=DNS:tls.review.test\n' >"$RV_DIR/ext.cnf" &&
        openssl x509 -req -in "$RV_DIR/srv.csr" -CA "$RV_DIR/ca.pem" \
            -CAkey "$RV_DIR/ca.key" -CAcreateserial -days 60 \
            -extfile "$RV_DIR/ext.cnf" -out "$RV_DIR/srv.crt" 2>/dev/null &&
        cat "$RV_DIR/srv.crt" "$RV_DIR/srv.key" >"$RV_DIR/srv.pem"
}

# rv_start ADDR SCENARIO ARGS...: hostiletls.py on ADDR:$PORT.
rv_start() {
    local addr=$1
    shift
    "$PY" "$HERE/hostiletls.py" --listen "$addr:$PORT" --scenario "$@" \
        >"$TMP/hostiletls-$addr.log" 2>&1 9>&- &
    PIDS+=($!)
}

rv_wait() {
    wait_for 10 tcp_listens "$1" "$PORT" ||
        { cat "$TMP/hostiletls-$1.log"; return 1; }
}

RV_OK=0
if rv_certs; then
    rv_start 127.0.0.248 limit --limit 2 --cert "$RV_DIR/srv.pem"
    rv_start 127.0.0.249 limit --limit 3 --cert "$RV_DIR/srv.pem"
    rv_start 127.0.0.250 anysuite
    RV_OK=1
    for a in 127.0.0.248 127.0.0.249 127.0.0.250; do
        rv_wait "$a" || { say "hostiletls $a did not start"; RV_OK=0; }
    done
else
    say "cases-tls-review: could not make the certificates"
fi

RV_SET=(--set "tls.ca_file=$RV_DIR/ca.pem"
    --set probe.command_timeout=5)

# A limit of 2 or 3 connections per client: every question still answered
# (none "cannot tell"), the protocols told, within the deadline.
for lim in 2:127.0.0.248 3:127.0.0.249; do
    if begin "tls-review-connection-limit-${lim%%:*}"; then
        if [ "$RV_OK" = 1 ]; then
            mx 20 -H "${lim#*:}" -C tls -v "${RV_SET[@]}"
            want_exit 0
            want_out 'protocols: TLSv1.2 TLSv1.3 accepted; SSLv3 TLSv1.0 TLSv1.1 refused'
            want_out 'weak cipher suites refused: RC4 3DES NULL EXPORT anonymous'
            want_out 'not vulnerable to STARTTLS command injection'
            want_no_out 'cannot tell'
            grep -q 'turned away' "$TMP/hostiletls-${lim#*:}.log" ||
                why "the server never turned a connection away"
            want_time 20
        else
            why "hostiletls not running"
        fi
        finish
    fi
done

# A ServerHello with a suite that was not offered is no acceptance: no
# "RC4/NULL/EXPORT accepted" alarm for it.
if begin tls-review-suite-not-offered; then
    if [ "$RV_OK" = 1 ]; then
        mx 20 -H 127.0.0.250 -C tls -v "${RV_SET[@]}"
        want_no_out 'cipher suites accepted'
        want_out 'RC4 cipher suites.*cannot tell|cannot tell.*RC4 cipher suites'
        want_time 20
    else
        why "hostiletls not running"
    fi
    finish
fi
