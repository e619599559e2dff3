#!/bin/sh
# Runs each Check test program given on the command line, then prints one
# closing line "N passed, N failed" over all of them. Exits non-zero when any
# check failed or any program did not finish.
#
# Check's per-test timeouts are scaled up under the sanitizers, which slow
# code 2-20x. Under ThreadSanitizer, OpenMP runs one thread per calling thread:
# GNU OpenMP's barriers are invisible to it and would be reported as races.
set -u
here=$(cd "$(dirname "$0")" && pwd)   # absolute: tools the tests start may run elsewhere

if [ -n "${MUTAU_TSAN:-}" ]; then
    export OMP_NUM_THREADS=1
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$here/tsan.supp ${TSAN_OPTIONS:-}"
    export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
fi
case "${MUTAU:-}" in
    */asan/*)
        export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
        export LSAN_OPTIONS="suppressions=$here/lsan.supp print_suppressions=0 ${LSAN_OPTIONS:-}"
        export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
        export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10} ;;
esac

# One record of the convolutions' timed direct-or-Winograd choices
# (nn/conv_choice.h) for the whole run, shared by every program it starts, so
# that runs compared bit for bit across processes make the same choices; the
# user's own record is left alone.
conv_cache=$(mktemp)
export MUTAU_CONV_CACHE="${MUTAU_CONV_CACHE:-$conv_cache}"

passed=0
failed=0
broken=""
log=$(mktemp)
trap 'rm -f "$log" "$conv_cache"' EXIT
for t in "$@"; do
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        broken="$broken $(basename "$t")(exit $rc)"
        failed=$((failed + 1))
        continue
    fi
    n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    passed=$((passed + n - f - e))
    failed=$((failed + f + e))
    [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ] && broken="$broken $(basename "$t")(exit $rc)" && failed=$((failed + 1))
done
[ -n "$broken" ] && echo "test programs that did not finish cleanly:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
