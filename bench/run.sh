#!/bin/sh
# Runs every benchmark program built from bench/*.c, one after another (they
# measure speed, so never two at once). Each prints human-readable lines and one
# machine-readable line per measurement starting with "bench ".
# Usage: bench/run.sh BUILD_DIR
set -u
build=${1:-build}
status=0
for b in "$build"/bench/*; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || status=1
done
exit $status
