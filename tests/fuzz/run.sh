#!/bin/sh
# run.sh [SECONDS]: builds the libFuzzer targets of tests/fuzz with clang
# (ASan + UBSan) and runs each for SECONDS (default 30, or $FUZZ_SECONDS).
# Corpora live in build/fuzz/corpus-<target>/ and grow across runs.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-30}}
out=build/fuzz
mkdir -p "$out"
flags="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 -Iinclude -Isrc/core -DMXP_VERSION=\"fuzz\" -DMXP_PLUGIN_DIR=\"/nonexistent\" \
 -DMXP_CONFIG_FILE=\"/nonexistent/mxprobe.yaml\""
core=$(ls src/core/*.c | grep -v '/main.c$')
libs=$(pkg-config --libs libcares yaml-0.1 libpsl libssl libcrypto libcurl)
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    echo "fuzz: building $name"
    # shellcheck disable=SC2086
    clang $flags -o "$out/$name" "$src" $core build/gen/default_config.c \
        $libs -ldl -lm
    mkdir -p "$out/corpus-$name"
    echo "fuzz: running $name for $secs s"
    "$out/$name" -max_total_time="$secs" -max_len=4096 \
        "$out/corpus-$name" 2>"$out/$name.log" ||
        { tail -n 40 "$out/$name.log"; exit 1; }
    tail -n 1 "$out/$name.log"
done
echo "fuzz: no crash"
