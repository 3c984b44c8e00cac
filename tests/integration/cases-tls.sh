# tests/integration/cases-tls.sh - the tls plugin's cases, sourced by run.sh.
#
# Servers (run.sh; names and PTRs in zones/, certificates from
# tls-setup.sh, the test CA given to every run as plugins.tls.ca_file):
#   Postfix "tls" (OpenSSL's default security level):
#     .101:2525  tls.mxprobe.test: STARTTLS, test-CA certificate, TLS 1.2+
#     .102:2525, .102:587  notls.mxprobe.test: no STARTTLS
#     .103:465, .103:2525  smtps.mxprobe.test: implicit TLS (wrapper mode)
#     .104:587   submit.mxprobe.test: STARTTLS, AUTH PLAIN LOGIN before it
#     .105:2525, .105:587  wrong.mxprobe.test: certificate for www.other.test
#     .106:2525  future.mxprobe.test: certificate valid from 30 days on
#   Postfix "tlsold" (security level 0):
#     .107:2525, .107:465  tlsold.mxprobe.test: expired self-signed
#                certificate, TLS 1.0+, DH 1024, NULL and aNULL suites
#     .108:2525  weak.mxprobe.test: RSA 1024 certificate signed with SHA-1
#   fakesmtp.py: .111 junk after 220, .112 silence after 220, .113 454,
#     .114 a handshake stalled after 20 bytes of ServerHello, .115 STARTTLS
#     command injection (CVE-2011-0411), .116 a chain of 50 certificates,
#     .117 a chain over OpenSSL's 100 KiB, .118 SSL 3.0, .119 RC4,
#     .120 3DES, .121 EXPORT (crafted ServerHellos), .122 a correct one.
# Certificates are valid 90 days from the start of the run: 89 or 90 days
# left, depending on the hour.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

DAYS='(89|90)'

# tls_run NAME TIMEOUT ARGS...: begin NAME (false when filtered out), run
# mxprobe -v -C tls with ARGS, and assert what holds for every server,
# however hostile: an exit code 0..3, a Nagios status line, done within
# TIMEOUT (+1 s).
tls_run() {
    local name=$1 t=$2
    shift 2
    begin "$name" || return 1
    mx "$t" -v -C tls "$@"
    want_exit_in 0 1 2 3
    want_status '^MXPROBE (OK|WARNING|CRITICAL|UNKNOWN) - '
    want_time "$t"
}

if begin tls_plugin_built; then
    # Not a silent skip: without the plugin every case below fails.
    OUT=$TMP/cases/$CASE.out ERR=$TMP/cases/$CASE.err RC=0 ELAPSED_MS=0
    : >"$OUT"
    : >"$ERR"
    echo "(test -f $BUILD/plugins/tls.so)" >"$TMP/cases/$CASE.cmd"
    [ -f "$BUILD/plugins/tls.so" ] || why "$BUILD/plugins/tls.so not built"
    finish
fi

# ------------------------------------------------------------ good servers

if tls_run tls_ok_postfix 10 -H 127.0.0.101; then
    want_exit 0
    want_status "^MXPROBE OK - .*: TLSv1\.3 TLS_AES_256_GCM_SHA384, certificate valid $DAYS days"
    want_status "tls_cert_days=$DAYS;21:;7:"
    want_out '^\[OK\] tls: protocols: TLSv1\.2 TLSv1\.3 accepted; SSLv3 TLSv1\.0 TLSv1\.1 refused'
    want_out '^\[OK\] tls: not vulnerable to STARTTLS command injection'
    want_out '^\[OK\] tls: chain trusted, up to CN=mxprobe test CA'
    want_out '^\[OK\] tls: certificate matches tls\.mxprobe\.test'
    # Postfix offers aNULL by default: fine on port 25 (RFC 7435).
    want_out '^\[OK\] tls: anonymous cipher suites accepted'
    want_no_out '^\[(WARNING|CRITICAL|UNKNOWN)\]'
    finish
fi

if tls_run tls_ok_by_name 10 -H tls.mxprobe.test; then
    want_exit 0
    want_status '^MXPROBE OK - tls\.mxprobe\.test \[127\.0\.0\.101\]'
    want_out 'certificate matches tls\.mxprobe\.test'
    finish
fi

if tls_run tls_fake_not_vulnerable 10 -H 127.0.0.122; then
    # A correct fake (Python's ssl): what it read after STARTTLS is gone.
    want_exit 0
    want_out '^\[OK\] tls: not vulnerable to STARTTLS command injection'
    finish
fi

if tls_run tls_implicit_465 10 -H 127.0.0.103 -p 465; then
    want_exit 0
    want_status "TLSv1\.3 TLS_AES_256_GCM_SHA384, certificate valid $DAYS days"
    want_out 'implicit TLS'
    want_no_out 'STARTTLS not offered'
    finish
fi

if tls_run tls_implicit_config 10 -H 127.0.0.103 --set tls.implicit=true; then
    # Wrapper mode on a port that is not 465: plugins.tls.implicit.
    want_exit 0
    want_out 'implicit TLS'
    finish
fi

if tls_run tls_wrapper_port_without_implicit 8 -H 127.0.0.103 \
    --set probe.command_timeout=3; then
    # The server waits for a ClientHello, we for a greeting: no SMTP.
    want_exit_in 2 3
    finish
fi

# ------------------------------------------------------------ STARTTLS

if tls_run tls_no_starttls_25 10 -H 127.0.0.102; then
    want_exit 1
    want_out '^\[WARNING\] tls: STARTTLS not offered'
    finish
fi

if tls_run tls_no_starttls_587 10 -H 127.0.0.102 -p 587; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: STARTTLS not offered'
    finish
fi

if tls_run tls_auth_before_starttls 10 -H 127.0.0.104 -p 587; then
    want_exit 1
    want_out '^\[WARNING\] tls: AUTH PLAIN LOGIN offered before STARTTLS'
    # Postfix's default aNULL suites: a warning on submission.
    want_out '^\[WARNING\] tls: anonymous cipher suites accepted'
    want_out 'certificate matches submit\.mxprobe\.test'
    want_no_out '^\[CRITICAL\]'
    finish
fi

if tls_run tls_starttls_454 10 -H 127.0.0.113; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: STARTTLS refused: 454'
    finish
fi

if tls_run tls_starttls_junk 10 -H 127.0.0.111; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: TLS handshake failed: [a-z]'
    finish
fi

if tls_run tls_starttls_silent 10 -H 127.0.0.112 \
    --set probe.command_timeout=3; then
    # check_ssl_cert waits 110 s here; the handshake wait is bounded by
    # the command timeout.
    want_exit 2
    want_out '^\[CRITICAL\] tls: TLS handshake failed: '
    want_time 5
    finish
fi

if tls_run tls_starttls_silent_deadline 6 -H 127.0.0.112; then
    # The command timeout (20 s) is longer than -t: still a verdict.
    want_exit_in 2 3
    finish
fi

if tls_run tls_handshake_stall 10 -H 127.0.0.114 \
    --set probe.command_timeout=3; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: TLS handshake failed: '
    want_time 5
    finish
fi

if tls_run tls_injection 10 -H 127.0.0.115; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: STARTTLS command injection'
    want_no_out 'not vulnerable to STARTTLS command injection'
    finish
fi

# ------------------------------------------------------------ protocols, suites

if tls_run tls_legacy_postfix 10 -H 127.0.0.107; then
    want_exit 2
    want_out '^\[WARNING\] tls: TLSv1\.0 accepted'
    want_out '^\[WARNING\] tls: TLSv1\.1 accepted'
    want_out 'protocols: TLSv1\.0 TLSv1\.1 TLSv1\.2 TLSv1\.3 accepted; SSLv3 refused'
    want_out '^\[CRITICAL\] tls: NULL cipher suites accepted'
    want_out '^\[OK\] tls: anonymous cipher suites accepted.*port 25'
    want_out '^\[WARNING\] tls: DH group of 1024 bits'
    # Port 25, not strict: certificate problems warn, and say why.
    want_out '^\[WARNING\] tls: certificate expired'
    want_out '^\[WARNING\] tls: self-signed'
    want_out 'plugins\.tls\.strict: true makes this critical'
    want_status 'tls_cert_days=-[0-9]+;21:;7:'
    finish
fi

if tls_run tls_legacy_465 10 -H 127.0.0.107 -p 465; then
    # Submission: the certificate must be right, aNULL is a warning.
    want_exit 2
    want_out '^\[CRITICAL\] tls: certificate expired'
    want_out '^\[CRITICAL\] tls: self-signed'
    want_out '^\[WARNING\] tls: anonymous cipher suites accepted'
    finish
fi

if tls_run tls_legacy_strict 10 -H 127.0.0.107 --set tls.strict=true; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: certificate expired'
    finish
fi

if tls_run tls_legacy_one_connection 15 -H 127.0.0.107 \
    --set tls.connections=1; then
    # One probe after another: the same verdicts.
    want_exit 2
    want_out '^\[WARNING\] tls: TLSv1\.0 accepted'
    want_out '^\[CRITICAL\] tls: NULL cipher suites accepted'
    finish
fi

if tls_run tls_sslv3 10 -H 127.0.0.118; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: SSLv3 accepted'
    finish
fi

if tls_run tls_rc4 10 -H 127.0.0.119; then
    want_exit 1
    want_out '^\[WARNING\] tls: RC4 cipher suites accepted'
    want_no_out '^\[CRITICAL\]'
    finish
fi

if tls_run tls_3des 10 -H 127.0.0.120; then
    want_exit 1
    want_out '^\[WARNING\] tls: 3DES cipher suites accepted'
    want_no_out '^\[CRITICAL\]'
    finish
fi

if tls_run tls_export 10 -H 127.0.0.121; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: EXPORT cipher suites accepted'
    finish
fi

# ------------------------------------------------------------ certificates

if tls_run tls_untrusted_25 10 -H 127.0.0.101 --set tls.ca_file=; then
    # The system store does not know the test CA.
    want_exit 1
    want_out '^\[WARNING\] tls: .*not trusted'
    finish
fi

if tls_run tls_untrusted_strict 10 -H 127.0.0.101 --set tls.ca_file= \
    --set tls.strict=true; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: .*not trusted'
    finish
fi

if tls_run tls_wrong_name_25 10 -H 127.0.0.105; then
    want_exit 1
    want_out '^\[WARNING\] tls: certificate name does not match'
    finish
fi

if tls_run tls_wrong_name_587 10 -H 127.0.0.105 -p 587; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: certificate name does not match'
    finish
fi

if tls_run tls_not_yet_valid 10 -H 127.0.0.106; then
    want_exit 1
    want_out '^\[WARNING\] tls: certificate not yet valid'
    finish
fi

if tls_run tls_weak_key 10 -H 127.0.0.108; then
    want_exit 1
    want_out '^\[WARNING\] tls: RSA key of 1024 bits'
    want_out '^\[WARNING\] tls: .*SHA-1 signature'
    want_no_out '^\[CRITICAL\]'
    finish
fi

if tls_run tls_chain50 10 -H 127.0.0.116; then
    # Up to the test CA, but deeper than verifiers go (Postfix's
    # smtp_tls_scert_verifydepth is 9): not trusted, a warning on 25.
    want_exit 1
    want_out '^\[WARNING\] tls: certificate not trusted: certificate chain too long'
    want_out 'chain: 50 certificates sent'
    finish
fi

if tls_run tls_chain_too_long 10 -H 127.0.0.117; then
    # More than OpenSSL takes of a peer (100 KiB): no TLS with anyone.
    want_exit 2
    want_out '^\[CRITICAL\] tls: TLS handshake failed: '
    finish
fi

# ------------------------------------------------------------ thresholds, config

if tls_run tls_cert_warning_days 10 -H 127.0.0.101 --set tls.cert_warning=100; then
    want_exit 1
    want_status "tls_cert_days=$DAYS;100:;7:"
    finish
fi

# Fewer days than cert_critical: at most a WARNING on port 25 (the
# README's policy), CRITICAL when strict and on submission ports.
if tls_run tls_cert_critical_days_25 10 -H 127.0.0.101 \
    --set tls.cert_warning=120 --set tls.cert_critical=100; then
    want_exit 1
    want_out '^\[WARNING\] tls: certificate expires in [0-9]+ days .*fewer than 100'
    want_status "tls_cert_days=$DAYS;120:;100:"
    finish
fi

if tls_run tls_cert_critical_days_strict 10 -H 127.0.0.101 \
    --set tls.cert_warning=120 --set tls.cert_critical=100 \
    --set tls.strict=true; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: certificate expires in [0-9]+ days'
    finish
fi

if tls_run tls_cert_critical_days_465 10 -H 127.0.0.103 -p 465 \
    --set tls.cert_warning=120 --set tls.cert_critical=100; then
    want_exit 2
    want_out '^\[CRITICAL\] tls: certificate expires in [0-9]+ days'
    finish
fi

if tls_run tls_cert_ranges_cli 10 -H 127.0.0.101 -w 100: -c 7:; then
    # -w/-c when tls runs alone: ranges on the days left.
    want_exit 1
    want_status "tls_cert_days=$DAYS;100:;7:"
    finish
fi

if tls_run tls_config_critical_over_warning 10 -H 127.0.0.101 \
    --set tls.cert_warning=7 --set tls.cert_critical=21; then
    want_exit 3
    want_out 'cert_critical'
    finish
fi

if tls_run tls_config_ca_file_missing 10 -H 127.0.0.101 \
    --set tls.ca_file="$TMP/no-such-ca.pem"; then
    want_exit 3
    want_out "ca_file: cannot read"
    finish
fi

if begin tls_in_default_run; then
    # tls is one of the default checks; the other Postfix instances offer
    # STARTTLS with test-CA certificates too.
    mx 20 -v -H 127.0.0.21
    want_exit_in 0 1 2 3
    want_out "^\[OK\] tls: TLSv1\.3 TLS_AES_256_GCM_SHA384, certificate valid $DAYS days"
    want_out 'certificate matches mail\.mxprobe\.test'
    want_time 20
    finish
fi

if begin tls_json; then
    mx 10 -o json -C tls -H 127.0.0.101
    want_exit 0
    "$PY" - "$OUT" >"$TMP/cases/$CASE.json-check" 2>&1 <<'EOF' ||
import json, sys
doc = json.load(open(sys.argv[1]))
target = doc[0] if isinstance(doc, list) else doc
checks = {c["plugin"]: c for c in target["checks"]}
tls = checks["tls"]
assert tls["state"] == "OK", tls["state"]
assert "certificate valid" in tls["summary"], tls["summary"]
perf = {p["label"]: p for p in tls["perfdata"]}
assert perf["tls_cert_days"]["value"] in (89, 90), perf["tls_cert_days"]
assert any("not vulnerable to STARTTLS command injection" in d["text"]
           for d in tls["details"])
EOF
        why "JSON check: $(cat "$TMP/cases/$CASE.json-check")"
    finish
fi
