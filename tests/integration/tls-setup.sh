#!/bin/sh
# tests/integration/tls-setup.sh - the test PKI of the integration tests.
#
#   sh tls-setup.sh DIR
#
# Makes, with the openssl CLI, in DIR (which must exist):
#   ca.pem ca.key          the test CA ("mxprobe test CA"), RSA 2048
#   mail.pem               key + chain of the existing Postfix instances:
#                          every name they greet with or are known by
#   tls.pem                tls.mxprobe.test, smtps., submit. (SANs), 90 days
#   wrong.pem              CA-signed, but only for www.other.test
#   future.pem             CA-signed, valid from 30 days from now
#   expired.pem            self-signed tlsold.mxprobe.test, expired in 2021
#   weak.pem               CA-signed RSA 1024 with a SHA-1 signature
#   fake.pem               the fakes' certificate: SANs for *.mxprobe.test
#   mta-sts.pem            the test HTTPS server's (start_https):
#                          *.https.test, *.sts.test, *.<label>.sts.test
#                          for a few labels (see below)
#   mta-sts-wrong.pem      CA-signed, but only for mta-sts.other.test: a
#                          name mismatch on any https.test/sts.test name
#   chain50.pem            a leaf and 49 intermediates up to the CA (50
#                          certificates sent)
#   chainlong.pem          a leaf and 15 intermediates of 7 KB each: more
#                          than the 100 KiB OpenSSL accepts of a peer
#   dh1024.pem             a 1024-bit DH group (for DHE)
#   openssl-seclevel0.cnf  an OpenSSL config with security level 0 and
#                          TLS 1.0 as the floor, for one Postfix instance
# Every *.pem of a server holds its key first, then its chain (Postfix's
# smtpd_tls_chain_files and Python's load_cert_chain both read that).
# Prints nothing on success; exits non-zero with openssl's words if not.
set -eu

D=$1
cd "$D"

# openssl ca lets us set both ends of the validity (x509 -req cannot in
# OpenSSL 3.0), which expired and not-yet-valid certificates need.
cat >ca.cnf <<'EOF'
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = ./index.txt
serial = ./serial
new_certs_dir = ./newcerts
policy = any
copy_extensions = copyall
unique_subject = no
email_in_dn = no
[ any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ inter ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
: >index.txt
echo 1000 >serial
mkdir -p newcerts

quiet() {
    "$@" >openssl.log 2>&1 || {
        cat openssl.log >&2
        return 1
    }
}

# stamp DAYS: the openssl ca date DAYS days from now (negative: ago).
stamp() { date -u -d "$1 days" +%Y%m%d%H%M%SZ; }

quiet openssl req -x509 -new -newkey rsa:2048 -nodes -keyout ca.key \
    -out ca.pem -days 3650 -sha256 -subj "/CN=mxprobe test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"

# key NAME [BITS]: NAME.key, RSA (default 2048 bits).
key() { quiet openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2:-2048}" -out "$1.key"; }
# eckey NAME: NAME.key, P-256 (fast, for the long chains).
eckey() { quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }

# sign NAME CN SANS FROM TO ISSUER EXT [MD] [EXTRA_ADDEXT]: NAME.crt for
# NAME.key, signed by ISSUER (a NAME of ours, or "self"), valid FROM..TO
# days from now, SANS ("DNS:a,DNS:b" or ""), extension section EXT.
sign() {
    n=$1 cn=$2 sans=$3 from=$4 to=$5 issuer=$6 ext=$7 md=${8:-sha256}
    extra=${9:-}
    set -- -addext "subjectAltName=$sans"
    [ -n "$sans" ] || set --
    [ -z "$extra" ] || set -- "$@" -addext "$extra"
    quiet openssl req -new -key "$n.key" -subj "/CN=$cn" -out "$n.csr" \
        -config ca.cnf "$@"
    if [ "$issuer" = self ]; then
        set -- -selfsign -keyfile "$n.key"
    else
        set -- -cert "$issuer.crt" -keyfile "$issuer.key"
    fi
    quiet openssl ca -batch -notext -config ca.cnf -in "$n.csr" \
        -out "$n.crt" -startdate "$(stamp "$from")" \
        -enddate "$(stamp "$to")" -md "$md" -extensions "$ext" "$@"
}

# server NAME CHAIN...: NAME.pem = NAME.key + the certificates CHAIN.
server() {
    n=$1
    shift
    cat "$n.key" >"$n.pem"
    for c in "$@"; do cat "$c.crt" >>"$n.pem"; done
}

cp ca.pem ca.crt

key mail
sign mail mail.mxprobe.test "DNS:mail.mxprobe.test,DNS:smtp.mxprobe.test,\
DNS:mail.elsewhere.test,DNS:open.mxprobe.test,DNS:lax.mxprobe.test,\
DNS:slowmail.mxprobe.test,DNS:tarpit.mxprobe.test" 0 90 ca leaf
server mail mail

key tls
sign tls tls.mxprobe.test \
    "DNS:tls.mxprobe.test,DNS:smtps.mxprobe.test,DNS:submit.mxprobe.test" \
    0 90 ca leaf
server tls tls

key wrong
sign wrong www.other.test "DNS:www.other.test" 0 90 ca leaf
server wrong wrong

key future
sign future future.mxprobe.test "DNS:future.mxprobe.test" 30 120 ca leaf
server future future

key expired
sign expired tlsold.mxprobe.test "DNS:tlsold.mxprobe.test" -1800 -1700 \
    self leaf
server expired expired

key weak 1024
sign weak weak.mxprobe.test "DNS:weak.mxprobe.test" 0 90 ca leaf sha1
server weak weak

key fake
sign fake fake.mxprobe.test "DNS:*.mxprobe.test" 0 90 ca leaf
server fake fake

# The MTA-STS policy server's names (RFC 8461: mta-sts.<domain>): the
# https.test names of cases-https.sh and the sts.test policy domains of
# the zone cases, one wildcard a domain level.
key mta-sts
sign mta-sts mta-sts.https.test "DNS:*.https.test,DNS:*.sts.test,\
DNS:*.enforce.sts.test,DNS:*.testing.sts.test,DNS:*.none.sts.test,\
DNS:*.bad.sts.test,DNS:*.big.sts.test,DNS:*.missing.sts.test,\
DNS:*.redirect.sts.test,DNS:*.slow.sts.test,DNS:*.mismatch.sts.test,\
DNS:*.dupmode.rv.test,DNS:*.order.rv.test,DNS:*.keycase.rv.test,\
DNS:*.exact.rv.test,DNS:*.over.rv.test" \
    0 90 ca leaf
server mta-sts mta-sts
key mta-sts-wrong
sign mta-sts-wrong mta-sts.other.test "DNS:mta-sts.other.test" 0 90 ca leaf
server mta-sts-wrong mta-sts-wrong

# chain50: CA -> c1 -> ... -> c49 -> leaf, sent leaf first.
prev=ca
i=1
while [ $i -le 49 ]; do
    eckey "c$i"
    sign "c$i" "mxprobe test intermediate $i" "" 0 90 "$prev" inter
    prev=c$i
    i=$((i + 1))
done
eckey chain50
sign chain50 chain50.mxprobe.test "DNS:*.mxprobe.test" 0 90 "$prev" leaf
set -- chain50
i=49
while [ $i -ge 1 ]; do
    set -- "$@" "c$i"
    i=$((i - 1))
done
server chain50 "$@"

# chainlong: 15 intermediates of about 7 KB each (a long comment).
pad=$(head -c 7000 /dev/zero | tr '\0' x)
prev=ca
i=1
while [ $i -le 15 ]; do
    eckey "l$i"
    sign "l$i" "mxprobe test fat intermediate $i" "" 0 90 "$prev" inter \
        sha256 "nsComment=$pad"
    prev=l$i
    i=$((i + 1))
done
eckey chainlong
sign chainlong chainlong.mxprobe.test "DNS:*.mxprobe.test" 0 90 "$prev" leaf
set -- chainlong
i=15
while [ $i -ge 1 ]; do
    set -- "$@" "l$i"
    i=$((i - 1))
done
server chainlong "$@"

# The 1024-bit MODP group of RFC 2409 (Oakley group 2), g = 2: fixed and
# public, so no minutes of dhparam (and -dsaparam's X9.42 form is what
# Postfix cannot read).
cat >dh1024.cnf <<'EOF'
asn1 = SEQUENCE:dh
[ dh ]
p = INTEGER:0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF
g = INTEGER:2
EOF
quiet openssl asn1parse -genconf dh1024.cnf -out dh1024.der
quiet openssl dhparam -inform DER -in dh1024.der -out dh1024.pem

cat >openssl-seclevel0.cnf <<'EOF'
# Security level 0 and TLS 1.0 allowed: the legacy test server only.
openssl_conf = conf
[ conf ]
ssl_conf = ssl
[ ssl ]
system_default = sys
[ sys ]
CipherString = ALL:eNULL:@SECLEVEL=0
MinProtocol = TLSv1
EOF
chmod 644 ./*.pem ./*.crt
rm -f ./*.csr openssl.log
