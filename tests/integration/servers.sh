# shellcheck shell=bash
# tests/integration/servers.sh - start and stop the test servers on
# loopback: Knot DNS, private Postfix instances, the fake SMTP servers of
# fakesmtp.py, the dropping DNS forwarder and nginx as an HTTPS (MTA-STS
# policy) server (start_https).  Sourced (bash) by
# tests/integration/run.sh and tests/demo/demo.sh, which set first:
#   TMP        the folder of the servers' state and logs (mode 755: the
#              Postfix daemons drop to the postfix user)
#   PORT       the SMTP port of the Postfix instances and the fakes
#   DNS_ADDR, DNS_PORT, DNS (= DNS_ADDR:DNS_PORT)  where Knot listens
#   TLS        the folder of the certificates (mail.pem for Postfix, the
#              fakes' fake.pem)
#   BUILD      the build folder (the dnsdelay tool, when built)
# Knot signs the zone $SIGNED_ZONE (dnssec.test) when its file is there;
# start_unbound validates it; zone_add/signed_zone_add add records at run
# time, tlsa_rdata computes TLSA data from a certificate.
#   PIDS=() POSTFIXES=()  the arrays the servers started are added to
# and optionally PY (the Python interpreter) and SPAWN (a command put
# before each server process started here, e.g. setsid to detach them
# from the terminal: it must exec the server, so that $! and PIDS hold
# the server's own PID).  stop_servers stops everything in PIDS and
# POSTFIXES.

if [ -z "${PY:-}" ]; then
    # The system interpreter: a pyenv shim costs half a second a call.
    PY=python3
    [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
fi
SERVERS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# stop_servers: TERM every process of PIDS, KILL those still there after
# 3 s, wait for the shell's own children, then stop every Postfix instance
# of POSTFIXES (postfix -c DIR stop, all of them, then their masters are
# given 2 s together before those still there are killed).
stop_servers() {
    local dir pid masters=()
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        kill -0 "${PIDS[@]}" 2>/dev/null || break
        sleep 0.2
    done
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    wait # also for a "postfix start" still running
    for dir in "${POSTFIXES[@]}"; do
        postfix -c "$dir" stop >/dev/null 2>&1
        pid=$(tr -d ' ' <"$dir/../queue/pid/master.pid" 2>/dev/null)
        [ -n "$pid" ] && masters+=("$pid")
    done
    [ ${#masters[@]} -gt 0 ] || return 0
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "${masters[@]}" 2>/dev/null || break
        sleep 0.2
    done
    for pid in "${masters[@]}"; do
        # Only a Postfix master: a stale pid file may name another process.
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ] &&
            kill -KILL "$pid" 2>/dev/null
    done
}

# ---------------------------------------------------------------- helpers

now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
    local end=$(($(now_ms) + $1 * 1000))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -ge "$end" ] && return 1
        sleep 0.1
    done
}

# tcp_greets ADDR PORT [REGEX]: the server at ADDR:PORT sends a first line
# matching REGEX (default: anything) within 2 s.
tcp_greets() {
    "$PY" - "$1" "$2" "${3:-}" <<'EOF'
import re, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
line = s.makefile("rb").readline(512).decode("latin-1")
sys.exit(0 if re.search(sys.argv[3], line) else 1)
EOF
}

tcp_listens() {
    "$PY" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()' "$1" "$2"
}

dns_answers() {
    kdig @"$DNS_ADDR" -p "$DNS_PORT" +time=1 +retry=0 +short "$@" |
        grep -q .
}

# ---------------------------------------------------------------- servers

# start_knot [ZONEDIR [QUERY...]]: Knot DNS on $DNS_ADDR@$DNS_PORT with
# every ZONEDIR/*.zone (default: tests/integration/zones); up when kdig
# QUERY (default -x 127.0.0.21) gets an answer.
start_knot() {
    local d=$TMP/knot zone list='' zonedir=${1:-$SERVERS_HERE/zones}
    [ $# -gt 0 ] && shift
    [ $# -gt 0 ] || set -- -x 127.0.0.21
    mkdir -p "$d/run" "$d/db" "$d/zones" || return 1
    cp "$zonedir"/*.zone "$d/zones/" || return 1
    for zone in "$d"/zones/*.zone; do
        zone=$(basename "$zone" .zone)
        list="$list  - domain: $zone
"
        # The one signed zone (start_unbound validates it): Knot's own
        # automatic signing, keys made at first load.
        [ "$zone" = "$SIGNED_ZONE" ] && list="$list    dnssec-signing: on
    dnssec-policy: mxprobe-test
"
    done
    cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d/run"
    listen: $DNS_ADDR@$DNS_PORT
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$d/db"
policy:
  - id: mxprobe-test
    algorithm: ecdsap256sha256
    nsec3: off
control:
    listen: "$d/run/knot.sock"
template:
  - id: default
    storage: "$d/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
$list
EOF
    knotc -c "$d/knot.conf" conf-check >"$d/check.log" 2>&1 ||
        { cat "$d/check.log"; return 1; }
    ${SPAWN:-} knotd -c "$d/knot.conf" >"$d/knotd.log" 2>&1 9>&- </dev/null &
    PIDS+=($!)
    wait_for 10 dns_answers "$@" ||
        { cat "$d/knotd.log"; return 1; }
}

# ---------------------------------------------------------------- DNSSEC

SIGNED_ZONE=dnssec.test

knotc_() { knotc -c "$TMP/knot/knot.conf" "$@"; }

# start_unbound ADDR@PORT: Debian's unbound, validating, on ADDR@PORT,
# forwarding everything to Knot ($DNS) with the KSK of the zone Knot
# signs ($SIGNED_ZONE) as its only trust anchor (no root key: every other
# zone is insecure, answered without AD).  Caches are short (1 s), so
# that records added at run time are seen at once.  Up when it answers
# $SIGNED_ZONE SOA with AD.  Log (val-log-level 2): $TMP/unbound/unbound.log
# start_unbound ADDR@PORT [bogus]: with "bogus" the trust anchor is a
# key Knot never signed with (its key data altered), so every answer of
# the signed zone fails validation: SERVFAIL (BOGUS_DNS, the review's
# cases); the unsigned zones are still answered.
start_unbound() {
    local d=$TMP/unbound addr=${1%@*} port=${1#*@} bogus=${2:-}
    [ -n "$bogus" ] && d=$TMP/unbound-bogus
    mkdir -p "$d" || return 1
    # The zone is signed at load: wait for its KSK.
    wait_for 10 has_ksk || { echo "no DNSKEY for $SIGNED_ZONE"; return 1; }
    kdig @"$DNS_ADDR" -p "$DNS_PORT" +time=1 +retry=0 +short \
        "$SIGNED_ZONE" DNSKEY | awk -v z="$SIGNED_ZONE." -v bogus="$bogus" \
        '$1 == 257 {
            if (bogus != "") { # one base64 digit of the key changed
                k = $4; c = substr(k, 10, 1)
                $4 = substr(k, 1, 9) (c == "A" ? "B" : "A") substr(k, 11)
            }
            print z, "IN DNSKEY", $0 }' >"$d/anchor.key" || return 1
    [ -s "$d/anchor.key" ] || return 1
    cat >"$d/unbound.conf" <<EOF
server:
    verbosity: 1
    interface: $addr
    port: $port
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    use-syslog: no
    logfile: "$d/unbound.log"
    log-servfail: yes
    val-log-level: 2
    num-threads: 1
    so-reuseport: no
    do-not-query-localhost: no
    trust-anchor-file: "$d/anchor.key"
    # Short caches: records added at run time (zone_add) are seen.
    cache-max-ttl: 1
    cache-max-negative-ttl: 1
    msg-cache-size: 1m
    rrset-cache-size: 1m
    key-cache-size: 1m
    neg-cache-size: 1m
    prefetch: no
    aggressive-nsec: no
    qname-minimisation: no
    # The tests' zones are under test. and 127.in-addr.arpa., which
    # unbound answers itself by default (RFC 6761, localhost).
    local-zone: "test." nodefault
    local-zone: "127.in-addr.arpa." nodefault
    local-zone: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa." nodefault
    unblock-lan-zones: yes
    insecure-lan-zones: yes
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: $DNS_ADDR@$DNS_PORT
EOF
    unbound-checkconf "$d/unbound.conf" >"$d/check.log" 2>&1 ||
        { cat "$d/check.log"; return 1; }
    ${SPAWN:-} unbound -d -c "$d/unbound.conf" >"$d/stderr.log" 2>&1 9>&- </dev/null &
    PIDS+=($!)
    if [ -n "$bogus" ]; then
        wait_for 10 answers_servfail "$addr" "$port" "$SIGNED_ZONE" SOA ||
            { cat "$d/stderr.log" "$d/unbound.log"; return 1; }
    else
        wait_for 10 answers_ad "$addr" "$port" "$SIGNED_ZONE" SOA ||
            { cat "$d/stderr.log" "$d/unbound.log"; return 1; }
    fi
}

answers_servfail() {
    kdig @"$1" -p "$2" +time=1 +retry=0 "$3" "$4" |
        grep -q 'status: SERVFAIL'
}

has_ksk() {
    kdig @"$DNS_ADDR" -p "$DNS_PORT" +time=1 +retry=0 +short \
        "$SIGNED_ZONE" DNSKEY | grep -q '^257 '
}

# answers_ad ADDR PORT NAME TYPE: the server at ADDR:PORT answers NAME
# TYPE with the AD bit (kdig +adflag asks for it, RFC 6840 5.7).
answers_ad() {
    kdig @"$1" -p "$2" +time=1 +retry=0 +adflag "$3" "$4" |
        grep -q '^;; Flags:.* ad[ ;]'
}

# zone_add ZONE 'NAME TTL TYPE RDATA'...: adds records to a zone Knot
# serves (NAME relative to ZONE, @, or absolute with a final dot) in one
# transaction; Knot signs a signed zone ($SIGNED_ZONE) again.  Returns
# when Knot serves the last record (with its RRSIG in a signed zone);
# unbound's caches (1 s) then follow.
zone_add() {
    local zone=$1 rec name ttl type rdata fq
    shift
    knotc_ zone-begin "$zone" >/dev/null || return 1
    for rec in "$@"; do
        read -r name ttl type rdata <<<"$rec"
        # shellcheck disable=SC2086 # rdata: its fields
        knotc_ zone-set "$zone" "$name" "$ttl" "$type" $rdata >/dev/null ||
            { knotc_ zone-abort "$zone" >/dev/null; return 1; }
    done
    knotc_ zone-commit "$zone" >/dev/null || return 1
    case $name in
    *.) fq=${name%.} ;;
    @) fq=$zone ;;
    *) fq=$name.$zone ;;
    esac
    if [ "$zone" = "$SIGNED_ZONE" ]; then
        wait_for 10 served_signed "$fq" "$type"
    else
        wait_for 10 dns_answers "$fq" "$type"
    fi
}

# signed_zone_add 'NAME TTL TYPE RDATA'...: zone_add to $SIGNED_ZONE.
signed_zone_add() { zone_add "$SIGNED_ZONE" "$@"; }

served_signed() {
    kdig @"$DNS_ADDR" -p "$DNS_PORT" +time=1 +retry=0 +dnssec "$1" "$2" |
        grep -Eq "[[:space:]]RRSIG[[:space:]]+$2[[:space:]]"
}

# tlsa_rdata PEM USAGE SELECTOR MTYPE [INDEX]: the TLSA presentation data
# ("3 1 1 <hex>") of certificate INDEX of PEM (0, the default: the first,
# the leaf of a chain file): selector 0 the whole certificate, 1 its
# SubjectPublicKeyInfo; matching type 0 the data, 1 SHA-256, 2 SHA-512.
tlsa_rdata() {
    local pem=$1 usage=$2 sel=$3 mtype=$4 idx=${5:-0} hex
    hex=$(awk -v want="$idx" '
            /-----BEGIN CERTIFICATE-----/ { n++; on = (n - 1 == want) }
            on { print }
            /-----END CERTIFICATE-----/ { on = 0 }' "$pem" |
        if [ "$sel" = 0 ]; then
            openssl x509 -outform DER
        else
            openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER
        fi |
        case $mtype in
        0) cat ;;
        1) openssl dgst -sha256 -binary ;;
        2) openssl dgst -sha512 -binary ;;
        esac | od -An -v -tx1 | tr -d ' \n')
    [ -n "$hex" ] || return 1
    printf '%s %s %s %s\n' "$usage" "$sel" "$mtype" "$hex"
}

# start_postfix NAME ADDR MYHOSTNAME [MAIN_CF] [SERVICES]: a private
# Postfix instance with one smtpd on ADDR:$PORT.  Nothing can leave it:
# every transport is discard, no relayhost, no DNS; by default it relays
# for nobody but its own address.  MAIN_CF (main.cf lines) replaces the
# base settings of the same names (an open relay still only ever hands
# mail to discard).  SERVICES (master.cf lines) replaces the one smtpd.
# Every instance offers STARTTLS, TLS 1.2 and up, with a certificate of
# the test CA ($TLS/mail.pem), as a well-run server does.
# $config_directory/header_checks logs every Subject (INFO), for an
# instance whose MAIN_CF turns it on.
start_postfix() {
    local d=$TMP/postfix-$1 addr=$2 host=$3 extra=${4:-} keys
    local services=${5:-"$2:$PORT inet n - n - - smtpd"}
    mkdir -p "$d/conf" "$d/queue" "$d/data" || return 1
    chown postfix "$d/data" || return 1
    printf '%s\n' '/^Subject:/ INFO' >"$d/conf/header_checks"
    cat >"$d/conf/main.cf" <<EOF
# Generated by tests/integration/servers.sh
compatibility_level = 3.6
config_directory = $d/conf
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $host
mydomain = ${host#*.}
myorigin = \$myhostname
mydestination = \$myhostname
smtpd_banner = \$myhostname ESMTP
# Only used for services without an explicit address; ours has one.
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = $addr/32
relayhost =
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps = inline:{postmaster=ok, root=ok}
maillog_file_prefixes = $TMP
maillog_file = $d/postfix.log
biff = no
smtpd_tls_security_level = may
smtpd_tls_chain_files = $TLS/mail.pem
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
EOF
    if [ -n "$extra" ]; then
        # Postfix would take the last of two settings, with a warning.
        keys=$(printf '%s\n' "$extra" |
            sed -n 's/^ *\([a-z0-9_]*\) *=.*/\1/p' | tr '\n' ' ')
        awk -v keys=" $keys" '
            /^[a-z0-9_]+ *=/ { k = $1; sub(/ *=.*/, "", k)
                               if (index(keys, " " k " ")) next }
            { print }' "$d/conf/main.cf" >"$d/conf/main.cf.new" &&
            mv "$d/conf/main.cf.new" "$d/conf/main.cf" || return 1
        printf '# This instance:\n%s\n' "$extra" >>"$d/conf/main.cf"
    fi
    cat >"$d/conf/master.cf" <<EOF
# Generated by tests/integration/servers.sh: smtpd, internal services only.
$services
tlsmgr    unix  - - n 1000? 1 tlsmgr
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -   - trivial-rewrite
bounce    unix  - - n -   0 bounce
defer     unix  - - n -   0 bounce
trace     unix  - - n -   0 bounce
verify    unix  - - n -   1 verify
proxymap  unix  - - n -   - proxymap
error     unix  - - n -   - error
retry     unix  - - n -   - error
discard   unix  - - n -   - discard
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
    POSTFIXES+=("$d/conf")
    # "postfix start" takes seconds on fresh dirs: both start at once.
    ${SPAWN:-} postfix -c "$d/conf" start >"$d/start.log" 2>&1 9>&- </dev/null &
}

# wait_postfix NAME ADDR MYHOSTNAME: it greets as it should.
wait_postfix() {
    local d=$TMP/postfix-$1
    wait_for 10 tcp_greets "$2" "$PORT" "^220 $3 ESMTP" ||
        { cat "$d/start.log" "$d/postfix.log" 2>/dev/null; return 1; }
}

# start_fake ADDR SCENARIO [NAME [CERT]]; wait_fake ADDR: it listens.
# CERT: a PEM of $TLS (default fake.pem) for the TLS scenarios.
start_fake() {
    ${SPAWN:-} "$PY" "$SERVERS_HERE/fakesmtp.py" --listen "$1:$PORT" \
        --scenario "$2" ${3:+--name "$3"} --tls-cert "$TLS/${4:-fake.pem}" \
        >"$TMP/fakesmtp-$1.log" 2>&1 9>&- </dev/null &
    PIDS+=($!)
}

# pf_service LISTEN HOST [NAME=VALUE...]: a master.cf smtpd on LISTEN
# greeting as HOST, with -o overrides of main.cf.
pf_service() {
    local listen=$1 host=$2 o
    shift 2
    printf '%s inet n - n - - smtpd -o myhostname=%s' "$listen" "$host"
    for o in "$@"; do printf ' -o %s' "$o"; done
    printf '\n'
}

wait_fake() {
    wait_for 10 tcp_listens "$1" "$PORT" ||
        { cat "$TMP/fakesmtp-$1.log"; return 1; }
}

# start_dnsdrop LISTEN SUFFIX: a forwarder to $DNS that drops every query
# for a name under SUFFIX (a zone, or a server, that never answers).
start_dnsdrop() {
    local listen=$1 suffix=$2 tool=$BUILD/tools/dnsdelay
    local log=$TMP/dnsdrop-${1%%:*}.log
    if [ -x "$tool" ] && [ -z "${MXPROBE_NO_DNSDELAY:-}" ]; then
        ${SPAWN:-} "$tool" --listen "$listen" --upstream "$DNS" --delay-ms 0 \
            --drop-suffix "$suffix" >"$log" 2>&1 9>&- &
    else
        ${SPAWN:-} "$PY" "$SERVERS_HERE/dnsdrop.py" --listen "$listen" --upstream "$DNS" \
            --drop "$suffix" >"$log" 2>&1 9>&- &
    fi
    PIDS+=($!)
    wait_for 10 kdig @"${listen%:*}" -p "${listen#*:}" +time=1 \
        +retry=0 mail.mxprobe.test A || { cat "$log"; return 1; }
}

# start_https ADDR SITES [CERT]: Debian's nginx(-light) in the foreground
# on ADDR:443 (the port RFC 8461 fixes: ADDR must be one no other test
# uses), its config, pid, logs and temp files in $TMP/nginx-ADDR, added
# to PIDS; waits until it listens.  SITES is a file of lines
#   HOSTNAME MODE [FILE] [CERT]
# (# comments and blank lines skipped), one server block (server_name)
# per line, with /.well-known/mta-sts.txt answered by MODE:
#   file       FILE, Content-Type text/plain
#   type:TYPE  FILE, Content-Type TYPE (no spaces)
#   missing    404
#   redirect   301 to FILE when it is a URL, else to https://elsewhere.test/
#   slow       FILE at a rate that makes its body last about 60 s
#   big        FILE (meant to be over 64 KiB), text/plain
# Every other path is a 404.  CERT (key + chain PEM, default
# $TLS/mta-sts.pem: *.https.test, *.sts.test...) is the server's
# certificate; a line's own CERT (e.g. $TLS/mta-sts-wrong.pem, another
# name) replaces it for that name.  The first line is the default server
# (a client without SNI, or an unknown name, gets it).
start_https() {
    local addr=$1 sites=$2 cert=${3:-$TLS/mta-sts.pem}
    local d=$TMP/nginx-$1
    mkdir -p "$d/tmp" || return 1
    https_conf "$addr" "$sites" "$cert" "$d" >"$d/nginx.conf" || return 1
    nginx -t -q -c "$d/nginx.conf" -g 'daemon off;' >"$d/check.log" 2>&1 ||
        { cat "$d/check.log"; return 1; }
    ${SPAWN:-} nginx -c "$d/nginx.conf" -g 'daemon off;' \
        >"$d/nginx.log" 2>&1 9>&- </dev/null &
    PIDS+=($!)
    wait_for 10 tcp_listens "$addr" 443 ||
        { cat "$d/nginx.log" "$d/error.log"; return 1; }
}

# https_conf ADDR SITES CERT DIR: start_https's nginx.conf on stdout.
https_conf() {
    local addr=$1 sites=$2 cert=$3 d=$4 host mode file c size rate
    local first=default_server
    # As root nginx would switch its worker to nobody, who may not read
    # the test's files: the worker stays root (it serves loopback only).
    [ "$(id -u)" = 0 ] && echo "user root;"
    cat <<EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
    access_log $d/access.log;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    types { }
    default_type text/plain;
    server_tokens off;
EOF
    while read -r host mode file c; do
        case $host in '' | '#'*) continue ;; esac
        printf '    server {\n        listen %s:443 ssl %s;\n' "$addr" "$first"
        first=
        printf '        server_name %s;\n' "$host"
        printf '        ssl_certificate %s;\n        ssl_certificate_key %s;\n' \
            "${c:-$cert}" "${c:-$cert}"
        printf '        location / { return 404; }\n'
        printf '        location = /.well-known/mta-sts.txt {\n'
        case $mode in
        file | big) printf '            alias %s;\n' "$file" ;;
        type:*)
            printf '            default_type "%s";\n            alias %s;\n' \
                "${mode#type:}" "$file"
            ;;
        missing) printf '            return 404;\n' ;;
        redirect)
            case $file in https://* | http://*) ;; *) file=https://elsewhere.test/ ;; esac
            printf '            return 301 %s;\n' "$file"
            ;;
        slow)
            size=$(wc -c <"$file")
            rate=$((size / 60))
            [ "$rate" -ge 1 ] || rate=1
            printf '            alias %s;\n            sendfile off;\n' "$file"
            printf '            limit_rate %s;\n            limit_rate_after 0;\n' "$rate"
            ;;
        *)
            echo "start_https: $host: unknown mode $mode" >&2
            return 1
            ;;
        esac
        printf '        }\n    }\n'
    done <"$sites"
    echo "}"
}
