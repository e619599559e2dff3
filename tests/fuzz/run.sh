#!/bin/sh
# Runs each fuzz target given for SECONDS seconds: first over its seed corpus
# (tests/fuzz/NAME/, which holds every past crash as a regression input), then
# mutating. New inputs go to build/fuzz/corpus/NAME, a crash to
# build/fuzz/crash/NAME-*. Prints one line per target (time, executions,
# coverage) and fails on any crash, leak, timeout or sanitizer report.
#
# usage: tests/fuzz/run.sh SECONDS build/fuzz/fuzz_NAME...
# Extra libFuzzer flags may be given in FUZZ_FLAGS (e.g. -jobs, -max_len).
set -u
here=$(cd "$(dirname "$0")" && pwd)
seconds=$1
shift
export ASAN_OPTIONS="detect_leaks=1 allocator_may_return_null=1 ${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$here/../lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
export OMP_NUM_THREADS=1
# Targets that build networks keep their convolution choices in memory
# (nn/conv_choice.h) instead of the user's record.
export MUTAU_CONV_CACHE=off
# The targets' scratch files (report, cifar) in memory when the machine has
# a tmpfs: the report target writes and syncs results.csv every input.
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
failed=""
for bin in "$@"; do
    name=$(basename "$bin" | sed 's/^fuzz_//')
    out=$(dirname "$bin")
    mkdir -p "$out/corpus/$name" "$out/crash" "$out/logs"
    log="$out/logs/$name.log"
    # A genuine checkpoint is too large to keep in the repository: the
    # target writes one of its model into the working corpus.
    if [ "$name" = checkpoint ] && [ ! -f "$out/corpus/$name/genuine.bin" ]; then
        FUZZ_WRITE_SEED="$out/corpus/$name/genuine.bin" "$bin" >"$log" 2>&1 ||
            { echo "fuzz $name: cannot write its seed; log $log"; failed="$failed $name"; continue; }
    fi
    "$bin" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crash/$name-" ${FUZZ_FLAGS:-} \
        "$out/corpus/$name" "$here/$name" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} executions; log $log:"
        grep -E 'ERROR|SUMMARY|Test unit written|runtime error|leak' "$log" | head -n 20
        failed="$failed $name"
    else
        echo "fuzz $name: ${seconds} s, ${runs:-?} executions, ${cov:-cov ?}, no finding"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz targets with findings:$failed"
    exit 1
fi
