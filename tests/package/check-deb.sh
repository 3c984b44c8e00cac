#!/bin/sh
# check-deb.sh DEB_DIR VERSION: tests the Debian package that `make deb`
# left in DEB_DIR (make check-package runs both).
#
# 1. The file list (dpkg-deb -c): the binary, check_mxprobe as a relative
#    link in /usr/lib/nagios/plugins, every check as a root-owned 644 .so
#    in /usr/lib/mxprobe/plugins, every conf/*.yaml in /etc/mxprobe (and
#    as conffiles), the man pages, the nagios/ examples exactly once and
#    uncompressed, the copyright file.
# 2. As root, when no mxprobe is installed yet: a real `apt-get install
#    ./mxprobe_*.deb`, then the installed programs: check_mxprobe -V, the
#    checks found in /usr/lib/mxprobe/plugins, a banner check of a closed
#    loopback port (CRITICAL, exit 2), a geoip lookup in the tree's
#    MaxMind test database (OK), /etc/mxprobe/mxprobe.yaml read without
#    -f (its targets: run by --all; an unknown key in it reported as
#    file:line:col), the same as the nagios user, a reinstall that keeps
#    the edited conffile, then `apt-get purge` and nothing of it left.
# Not root, or an mxprobe already there: part 2 is skipped, said so.
# mxprobe talks only to 127.0.0.1 here (closed ports; --dns-server a
# closed port, never the machine's resolver).  The trap purges the
# package and restores the config whatever fails.
set -u

DEB_DIR=${1:?usage: check-deb.sh DEB_DIR VERSION}
VERSION=${2:?usage: check-deb.sh DEB_DIR VERSION}
TOP=$(pwd)
DEB=
for f in "$DEB_DIR"/mxprobe_"$VERSION"_*.deb; do
    [ -f "$f" ] && DEB=$f
done
CONF=/etc/mxprobe/mxprobe.yaml
TMP=$(mktemp -d /tmp/mxprobe-deb.XXXXXX)
installed=0
failures=0

fail() {
    echo "check-package: FAIL: $*"
    failures=$((failures + 1))
}
ok() {
    echo "check-package: ok: $*"
}

cleanup() {
    if [ -f "$TMP/mxprobe.yaml.orig" ] && [ -d /etc/mxprobe ]; then
        cp "$TMP/mxprobe.yaml.orig" "$CONF"
    fi
    if [ "$installed" -eq 1 ]; then
        echo "check-package: cleanup: apt-get purge mxprobe"
        apt_get purge mxprobe >/dev/null 2>&1 ||
            echo "check-package: cleanup: purge failed, remove mxprobe by hand"
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -qq \
        -o DPkg::Lock::Timeout=300 --no-install-recommends "$@"
}

[ -n "$DEB" ] || {
    echo "check-package: FAIL: no $DEB_DIR/mxprobe_${VERSION}_*.deb (make deb)"
    exit 1
}
echo "check-package: $DEB"

# ---- 1. the file list ----------------------------------------------------
dpkg-deb -c "$DEB" >"$TMP/list" || fail "dpkg-deb -c $DEB"
# "mode owner/group name [-> target]", without size and date
awk '{ line = $1 " " $2; for (i = 6; i <= NF; i++) line = line " " $i;
       print line }' "$TMP/list" >"$TMP/files"

has() { # has "MODE OWNER NAME": that exact entry is in the package
    if grep -qxF -- "$1" "$TMP/files"; then
        ok "in the package: $1"
    else
        fail "not in the package: $1"
    fi
}

has "-rwxr-xr-x root/root ./usr/bin/mxprobe"
has "lrwxrwxrwx root/root ./usr/lib/nagios/plugins/check_mxprobe -> ../../../bin/mxprobe"
for p in plugins/*/; do
    p=$(basename "$p")
    has "-rw-r--r-- root/root ./usr/lib/mxprobe/plugins/$p.so"
done
n=$(grep -c '^-.* \./usr/lib/mxprobe/plugins/' "$TMP/files")
want=$(find plugins -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$n" -eq "$want" ] ||
    fail "/usr/lib/mxprobe/plugins holds $n files, plugins/ has $want checks"
dpkg-deb --info "$DEB" conffiles >"$TMP/conffiles" 2>/dev/null
for c in conf/*.yaml; do
    c=$(basename "$c")
    has "-rw-r--r-- root/root ./etc/mxprobe/$c"
    if grep -qxF "/etc/mxprobe/$c" "$TMP/conffiles"; then
        ok "conffile: /etc/mxprobe/$c"
    else
        fail "not a conffile: /etc/mxprobe/$c"
    fi
done
for m in doc/*.1 doc/*.5; do
    [ -f "$m" ] || continue
    s=${m##*.}
    has "-rw-r--r-- root/root ./usr/share/man/man$s/$(basename "$m").gz"
done
for f in $(cd nagios && find . -type f | sed 's#^\./##'); do
    mode=-rw-r--r-- # make install keeps a script executable
    [ -x "nagios/$f" ] && mode=-rwxr-xr-x
    has "$mode root/root ./usr/share/doc/mxprobe/examples/nagios/$f"
done
n=$(grep -c '^-.* \./usr/share/doc/mxprobe/examples/' "$TMP/files")
want=$(find nagios -type f | wc -l)
[ "$n" -eq "$want" ] ||
    fail "$n files under /usr/share/doc/mxprobe/examples, nagios/ has $want (twice, or compressed?)"
has "-rw-r--r-- root/root ./usr/share/doc/mxprobe/copyright"
if grep -q -e ' \./usr/local' -e "$TOP" "$TMP/files"; then
    fail "paths of the build machine in the package: $(grep -e ' \./usr/local' -e "$TOP" "$TMP/files" | head -n 1)"
fi
dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/bin/mxprobe >"$TMP/mxprobe"
if grep -qa '/usr/local/' "$TMP/mxprobe"; then
    fail "/usr/bin/mxprobe has a /usr/local path compiled in (PREFIX=/usr missing at build?)"
elif grep -qa '/etc/mxprobe/mxprobe.yaml' "$TMP/mxprobe" &&
    grep -qa '/usr/lib/mxprobe/plugins' "$TMP/mxprobe"; then
    ok "/usr/bin/mxprobe has /etc/mxprobe and /usr/lib/mxprobe/plugins compiled in"
else
    fail "/usr/bin/mxprobe does not name /etc/mxprobe/mxprobe.yaml and /usr/lib/mxprobe/plugins"
fi

# ---- 2. apt-get install, run, purge ----------------------------------------
skip() {
    echo "check-package: SKIP install test: $*"
    [ "$failures" -eq 0 ] || {
        echo "check-package: $failures failure(s)"
        exit 1
    }
    echo "check-package: file list passed"
    exit 0
}
[ "$(id -u)" -eq 0 ] || skip "not root (apt-get install needs root)"
status=$(dpkg-query -W -f='${db:Status-Status}' mxprobe 2>/dev/null)
case "$status" in
"" | not-installed) ;;
*) skip "a package mxprobe is already on this machine ($status): not touched" ;;
esac
for f in /usr/bin/mxprobe /usr/lib/nagios/plugins/check_mxprobe \
    /usr/lib/mxprobe /etc/mxprobe; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        skip "$f exists (a make install PREFIX=/usr?): not overwritten"
    fi
done

# Two loopback ports nothing listens on: TCP for SMTP, UDP as the DNS
# server (its queries are refused at once, none leaves the machine).
free_port() { # free_port t|u: a port of 127.0.0.1 with no listener
    for p in 9 7 13 37 1 2 3; do
        if ! ss -Hln"$1" "sport = :$p" | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
SMTP_PORT=$(free_port t) || skip "no closed TCP port found on 127.0.0.1"
DNS_PORT=$(free_port u) || skip "no closed UDP port found on 127.0.0.1"
DNS=127.0.0.1:$DNS_PORT

case "$DEB" in
/*) ;;
*) DEB=$TOP/$DEB ;;
esac
installed=1
if apt_get install "$DEB" >"$TMP/apt.log" 2>&1; then
    ok "apt-get install $DEB"
else
    cat "$TMP/apt.log"
    fail "apt-get install $DEB"
    exit 1
fi
[ "$(dpkg-query -W -f='${Version}' mxprobe)" = "$VERSION" ] ||
    fail "dpkg-query: mxprobe version is not $VERSION"

# The programs as a monitoring core and a user run them: no env that
# points elsewhere.
unset MXPROBE_PLUGIN_PATH MXPROBE_CONFIG

out=$(/usr/lib/nagios/plugins/check_mxprobe -V 2>&1)
rc=$?
echo "check-package: check_mxprobe -V: $out"
case "$out" in
"mxprobe $VERSION "*)
    if [ "$rc" -eq 0 ]; then
        ok "check_mxprobe -V"
    else
        fail "check_mxprobe -V exited $rc"
    fi
    ;;
*) fail "check_mxprobe -V says '$out', not mxprobe $VERSION" ;;
esac
[ "$(readlink -f /usr/lib/nagios/plugins/check_mxprobe)" = /usr/bin/mxprobe ] ||
    fail "check_mxprobe does not resolve to /usr/bin/mxprobe"

/usr/bin/mxprobe --list-plugins >"$TMP/plugins" 2>&1 ||
    fail "mxprobe --list-plugins exited $?"
for p in plugins/*/; do
    p=$(basename "$p")
    path=$(awk -v p="$p" '$1 == p { print }' "$TMP/plugins" |
        sed -n 's/.*(\(\/[^,]*\.so\), ABI.*/\1/p')
    if [ -n "$path" ] && [ "$(readlink -f "$path")" = "/usr/lib/mxprobe/plugins/$p.so" ]; then
        ok "--list-plugins: $p from $path"
    else
        fail "--list-plugins: $p not loaded from /usr/lib/mxprobe/plugins: $(cat "$TMP/plugins")"
    fi
done

expect() { # expect RC PATTERN CMD...: CMD exits RC, its output matches
    want_rc=$1 pattern=$2
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    line=$(printf '%s\n' "$out" | grep -m 1 -E -- "$pattern")
    if [ "$rc" -eq "$want_rc" ] && [ -n "$line" ]; then
        ok "$* -> $rc: $line"
    else
        fail "$* -> exit $rc (want $want_rc), output not /$pattern/:"
        printf '%s\n' "$out" | sed 's/^/    /'
    fi
}

# A real check: nothing listens on the port, so there is no SMTP service.
expect 2 "^MXPROBE CRITICAL - 127\.0\.0\.1: no SMTP service: connection refused" \
    env MXPROBE_CONFIG= /usr/bin/mxprobe -H 127.0.0.1 -p "$SMTP_PORT" \
    -C banner --dns-server "$DNS" -o nagios
# The geoip check and libmaxminddb, on MaxMind's synthetic test data.
expect 0 "^MXPROBE OK - 81\.2\.69\.160: London, GB" \
    env MXPROBE_CONFIG= /usr/lib/nagios/plugins/check_mxprobe -H 81.2.69.160 \
    -C geoip --dns-server "$DNS" -o nagios \
    --set "geoip.databases=[$TOP/tests/data/geoip/GeoIP2-City-Test.mmdb]" \
    --set geoip.max_age_days=0

# /etc/mxprobe/mxprobe.yaml is the config without -f: -h names it; the
# shipped one lists no targets; with a target written into it, --all
# checks that target; an unknown key in it is reported at its line.
if cmp -s "$CONF" conf/mxprobe.yaml; then
    ok "$CONF is conf/mxprobe.yaml"
else
    fail "$CONF differs from conf/mxprobe.yaml"
fi
expect 0 " $CONF\$" /usr/bin/mxprobe -h
expect 3 "^MXPROBE UNKNOWN - --all: the config lists no targets" \
    /usr/bin/mxprobe --all -o nagios
cp "$CONF" "$TMP/mxprobe.yaml.orig"
sed -e "s/^targets: \[\]\$/targets: [{host: 127.0.0.1, port: $SMTP_PORT, checks: [banner]}]/" \
    -e "s/^  dns_servers: \[\]\$/  dns_servers: ['$DNS']/" \
    "$TMP/mxprobe.yaml.orig" >"$CONF"
if [ "$(diff "$TMP/mxprobe.yaml.orig" "$CONF" | grep -c '^>')" -eq 2 ]; then
    expect 2 "^== 127\.0\.0\.1: CRITICAL - no SMTP service: connection refused" \
        /usr/bin/mxprobe --all -o nagios
    expect 3 "^MXPROBE UNKNOWN - --all: the config lists no targets" \
        env MXPROBE_CONFIG= /usr/bin/mxprobe --all -o nagios
else
    fail "could not write a target into $CONF (targets: [] or dns_servers: [] moved?)"
fi
cp "$TMP/mxprobe.yaml.orig" "$CONF"
lines=$(wc -l <"$CONF")
printf 'no_such_key: 1\n' >>"$CONF"
expect 3 "^MXPROBE UNKNOWN - $CONF:$((lines + 1)):1: unknown top-level key 'no_such_key'" \
    /usr/bin/mxprobe -H 127.0.0.1 -p "$SMTP_PORT" -C banner --dns-server "$DNS" \
    -o nagios
# As the user Nagios and Icinga run checks as (nagios, when there is
# one): the link, the checks and the config are theirs to use too.
if id nagios >/dev/null 2>&1 && command -v runuser >/dev/null; then
    expect 3 "^MXPROBE UNKNOWN - $CONF:$((lines + 1)):1: unknown top-level key 'no_such_key'" \
        runuser -u nagios -- /usr/lib/nagios/plugins/check_mxprobe \
        -H 127.0.0.1 -p "$SMTP_PORT" -C banner --dns-server "$DNS"
    cp "$TMP/mxprobe.yaml.orig" "$CONF"
    expect 2 "^MXPROBE CRITICAL - 127\.0\.0\.1: no SMTP service: connection refused" \
        runuser -u nagios -- /usr/lib/nagios/plugins/check_mxprobe \
        -H 127.0.0.1 -p "$SMTP_PORT" -C banner --dns-server "$DNS"
fi
cp "$TMP/mxprobe.yaml.orig" "$CONF"

# The package again over itself (an upgrade to the same version): the
# admin's edited conffile stays as it is.
printf '# edited by the admin\n' >>"$CONF"
cp "$CONF" "$TMP/mxprobe.yaml.edited"
if apt_get install --reinstall "$DEB" >"$TMP/apt.log" 2>&1; then
    if cmp -s "$CONF" "$TMP/mxprobe.yaml.edited"; then
        ok "apt-get install --reinstall keeps the edited $CONF"
    else
        fail "apt-get install --reinstall replaced the edited $CONF"
    fi
else
    cat "$TMP/apt.log"
    fail "apt-get install --reinstall $DEB"
fi
cp "$TMP/mxprobe.yaml.orig" "$CONF"

# Purge: nothing of the package is left.
if apt_get purge mxprobe >"$TMP/apt.log" 2>&1; then
    installed=0
    ok "apt-get purge mxprobe"
else
    cat "$TMP/apt.log"
    fail "apt-get purge mxprobe"
fi
status=$(dpkg-query -W -f='${db:Status-Status}' mxprobe 2>/dev/null)
case "$status" in
"" | not-installed) ok "dpkg: mxprobe not installed" ;;
*) fail "dpkg: mxprobe is $status after the purge" ;;
esac
if dpkg -L mxprobe 2>/dev/null | grep -q .; then
    fail "dpkg -L mxprobe still lists files"
fi
for f in /usr/bin/mxprobe /usr/lib/nagios/plugins/check_mxprobe \
    /usr/lib/mxprobe /etc/mxprobe /usr/share/doc/mxprobe \
    /usr/share/man/man1/mxprobe.1.gz; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        fail "$f left after the purge"
    fi
done

if [ "$failures" -ne 0 ]; then
    echo "check-package: $failures failure(s)"
    exit 1
fi
echo "check-package: all passed"
