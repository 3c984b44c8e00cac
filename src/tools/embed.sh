#!/bin/sh
# embed.sh SYMBOL FILE: prints a C file that defines
#   const char SYMBOL[] (the bytes of FILE plus a NUL) and
#   const size_t SYMBOL_len (without the NUL),
# so the binary can carry conf/ files as its built-in defaults.
set -eu
sym=$1
file=$2
printf '/* generated from %s by src/tools/embed.sh; do not edit */\n' "$file"
printf '#include <stddef.h>\n'
printf 'const char %s[] = {\n' "$sym"
od -An -v -tx1 "$file" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e '/^$/d'
printf '0x00};\n'
printf 'const size_t %s_len = sizeof(%s) - 1;\n' "$sym" "$sym"
