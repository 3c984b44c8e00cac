#!/bin/sh
# check-install.sh: `make install` as an admin runs it after a plain
# `make` (make check-package runs this after check-deb.sh):
#   - PREFIX=T/p: check_mxprobe in T/p/lib/nagios/plugins links to
#     T/p/bin/mxprobe, the binary names and reads
#     T/p/etc/mxprobe/mxprobe.yaml without -f (an unknown key in it is
#     reported at its line) and loads every check from
#     T/p/lib/mxprobe/plugins, whatever paths the earlier make compiled in;
#   - the same install again keeps the admin's edited config;
#   - DESTDIR=T/d: nothing of T/d in the link or the binary.
# Then `make` again, so build/ holds the default paths as before.  Talks
# to nothing: -h, --list-plugins and a config error only.
set -u

TMP=$(mktemp -d /tmp/mxprobe-install.XXXXXX)
P=$TMP/p
failures=0
fail() {
    echo "check-install: FAIL: $*"
    failures=$((failures + 1))
}
ok() {
    echo "check-install: ok: $*"
}
trap 'rm -rf "$TMP"' EXIT
unset MXPROBE_CONFIG MXPROBE_PLUGIN_PATH
MAKE=${MAKE:-make}

$MAKE -s install PREFIX="$P" >"$TMP/make.log" 2>&1 || {
    cat "$TMP/make.log"
    fail "make install PREFIX=$P"
}
link=$P/lib/nagios/plugins/check_mxprobe
if [ "$(readlink "$link")" = "$P/bin/mxprobe" ]; then
    ok "check_mxprobe -> $P/bin/mxprobe"
else
    fail "check_mxprobe -> '$(readlink "$link")', want $P/bin/mxprobe"
fi
conf=$P/etc/mxprobe/mxprobe.yaml
if "$link" -h 2>&1 | grep -qF "$conf"; then
    ok "check_mxprobe -h names $conf"
else
    fail "check_mxprobe -h does not name $conf: $("$link" -h 2>&1 | grep -F mxprobe.yaml)"
fi
lines=$(wc -l <"$conf")
printf 'no_such_key: 1\n' >>"$conf"
# (a closed port and DNS server on loopback, should it run the check)
out=$("$link" -H 127.0.0.1 -p 1 -C banner --dns-server 127.0.0.1:1 -t 5 2>&1)
rc=$?
case "$out" in
"MXPROBE UNKNOWN - $conf:$((lines + 1)):1: unknown top-level key 'no_such_key'"*)
    if [ "$rc" -eq 3 ]; then
        ok "the installed binary reads $conf"
    else
        fail "a bad $conf: exit $rc, want 3"
    fi
    ;;
*) fail "the installed binary does not read $conf (exit $rc): $(echo "$out" | head -n 1)" ;;
esac
"$link" --list-plugins >"$TMP/plugins" 2>&1 || fail "--list-plugins exited $?"
for d in plugins/*/; do
    p=$(basename "$d")
    path=$(awk -v p="$p" '$1 == p' "$TMP/plugins" |
        sed -n 's/.*(\(\/[^,]*\.so\), ABI.*/\1/p')
    [ -n "$path" ] && [ "$(readlink -f "$path")" = "$P/lib/mxprobe/plugins/$p.so" ] && continue
    fail "--list-plugins: $p not from $P/lib/mxprobe/plugins: $(awk -v p="$p" '$1 == p' "$TMP/plugins")"
done

# Again over it: the admin's config stays (the shipped one is not put
# over it), the other files are replaced.
cp "$conf" "$TMP/edited"
$MAKE -s install PREFIX="$P" >"$TMP/make.log" 2>&1 || {
    cat "$TMP/make.log"
    fail "make install PREFIX=$P over an install"
}
if cmp -s "$conf" "$TMP/edited"; then
    ok "a second make install keeps the edited $conf"
else
    fail "a second make install replaced the edited $conf"
fi

D=$TMP/d
$MAKE -s install PREFIX="$P" DESTDIR="$D" >"$TMP/make.log" 2>&1 || {
    cat "$TMP/make.log"
    fail "make install DESTDIR=$D"
}
if [ "$(readlink "$D$link")" = "$P/bin/mxprobe" ]; then
    ok "DESTDIR: check_mxprobe -> $P/bin/mxprobe"
else
    fail "DESTDIR: check_mxprobe -> '$(readlink "$D$link")', want $P/bin/mxprobe"
fi
if grep -qaF "$D" "$D$P/bin/mxprobe"; then
    fail "DESTDIR $D compiled into the binary"
fi
cmp -s "$D$conf" conf/mxprobe.yaml || fail "DESTDIR: $D$conf is not conf/mxprobe.yaml"

$MAKE -s >"$TMP/make.log" 2>&1 || {
    cat "$TMP/make.log"
    fail "make (back to the default paths)"
}
if [ "$failures" -ne 0 ]; then
    echo "check-install: $failures failure(s)"
    exit 1
fi
echo "check-install: all passed"
