#!/bin/sh
# install-deps.sh: installs every Debian package that building, testing
# and benchmarking mxprobe needs.  Idempotent and non-interactive: when
# all packages are present it does nothing (no apt-get update).
set -eu

PACKAGES="
build-essential pkg-config clang libclang-rt-14-dev
libc-ares-dev libyaml-dev libmaxminddb-dev libssl-dev libpsl-dev publicsuffix
libcmocka-dev libcurl4-openssl-dev
knot knot-dnsutils unbound nginx-light
icinga2
nagios4-core
postfix
python3 iproute2 procps time
python3-yaml groff-base mandoc
nmap
openssl testssl.sh libsasl2-modules libsasl2-modules-db
nagios-plugins-contrib monitoring-plugins-basic libnet-dns-perl libmonitoring-plugin-perl
libreadonly-perl libdata-validate-ip-perl libdata-validate-domain-perl
libcapture-tiny-perl libnet-ip-perl
libmaxmind-db-writer-perl
debhelper dpkg-dev lintian
"

# promtool checks the openmetrics output in the integration tests.  Debian
# has it only in the prometheus package, whose install starts a server:
# only the one binary is taken out of the .deb (apt-get download, no
# install), into $PROMTOOL.  Without it the tests fall back to their own
# parser: a failed download is a warning, not an error.
PROMTOOL=/opt/mxprobe-test/bin/promtool
install_promtool() {
    [ -x "$PROMTOOL" ] && return 0
    dir=$(mktemp -d)
    chmod 755 "$dir" # apt-get download runs as _apt where it can
    if (cd "$dir" && apt-get download -qq prometheus) &&
        dpkg-deb --fsys-tarfile "$dir"/prometheus_*.deb |
        tar -x -C "$dir" ./usr/bin/promtool &&
        $SUDO install -D -m 755 "$dir/usr/bin/promtool" "$PROMTOOL"; then
        echo "make deps: promtool in $PROMTOOL"
    else
        echo "make deps: warning: no promtool (openmetrics tested without it)"
    fi
    rm -rf "$dir"
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "make deps: all packages present"
    install_promtool
    exit 0
fi

echo "make deps: installing$missing"
# Postfix asks how to configure itself; the tests write their own config.
echo "postfix postfix/main_mailer_type select No configuration" |
    $SUDO debconf-set-selections
$SUDO apt-get update -qq
# The services must not start on install: the tests start their own
# instances on loopback (a policy-rc.d may already forbid it).
# nagios4-core's postinst starts the system's Nagios (invoke-rc.d nagios4
# start, with Debian's sample objects) unless a policy-rc.d says no: where
# none is there, one that forbids every start stands for the install and
# goes after it.
POLICY=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# mxprobe make deps: no service starts on install\nexit 101\n' |
        $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    own_policy=1
    trap '$SUDO rm -f "$POLICY"' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $missing
if [ -n "$own_policy" ]; then
    $SUDO rm -f "$POLICY"
    trap - EXIT
fi
install_promtool
