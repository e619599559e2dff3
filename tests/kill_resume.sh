#!/bin/sh
# kill_resume.sh: SIGKILL `mutau train` at random moments, KILLS times in a
# row, with `--resume` after each, and check that the run ends exactly as an
# uninterrupted one: log.csv without its timing columns and final.json
# without its timings and memory figures are the same bytes. Every other kill
# (the first, third, ...) waits for a checkpoint write to begin
# (checkpoint.bin.tmp appears) and kills inside it. Done for the single-process trainer and for delay mode (two
# workers, a fixed delay), which are both deterministic.
#
# usage: MUTAU=build/mutau tests/kill_resume.sh [-n KILLS] [-s SEED] [-m single|delay|both]
# The test suite (test_kill_resume) runs it with few kills; by hand, e.g.
# -n 50. Prints one line per mode; exits 1 on any difference or failure.
set -u
kills=5
seed=1
modes="single delay"
while getopts n:s:m: opt; do
    case $opt in
    n) kills=$OPTARG ;;
    s) seed=$OPTARG ;;
    m) [ "$OPTARG" = both ] && modes="single delay" || modes=$OPTARG ;;
    *) echo "usage: $0 [-n KILLS] [-s SEED] [-m single|delay|both]" >&2; exit 2 ;;
    esac
done
mutau=${MUTAU:?set MUTAU to the mutau binary}
work=$(mktemp -d "${TMPDIR:-/tmp}/mutau-kill-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() {
    echo "kill_resume: $*" >&2
    exit 1
}

"$mutau" data synth "$work/data" --format idx --train 192 --test 64 --classes 4 --size 8x8 \
    --plain >/dev/null || fail "cannot write the dataset"
# 6 steps an epoch, 20 epochs, a checkpoint after each: about 2 s on 2 cores.
common="--data $work/data --model resnet8 --width 16 --batch 32 --epochs 20 --lr 0.05 --schedule cosine
        --progress quiet --threads 1 --eval-batch 32 --limit-test 32"

# log.csv without the columns that time the run.
untimed_log() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) drop[i] = ($i == "images_per_s" || $i == "seconds" || $i == "server_share") }
             { out = ""; for (i = 1; i <= NF; i++) if (!drop[i]) out = out $i ","; print out }' "$1"
}

# final.json (one key a line) without timings and memory figures.
untimed_final() {
    grep -v -E '"(seconds|peak_rss_bytes|server_share|gradients|pull|push|wait|network_bytes|estimate_bytes|available_bytes)":' "$1"
}

for mode in $modes; do
    case $mode in
    single) flags=$common ;;
    delay) flags="$common --workers 2 --mode delay --delay 1" ;;
    *) fail "unknown mode '$mode'" ;;
    esac
    ref=$work/ref-$mode
    run=$work/run-$mode
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$mutau" train $flags --out "$ref" >"$work/ref-$mode.out" 2>&1 ||
        fail "$mode: the uninterrupted run failed: $(tail -n 1 "$work/ref-$mode.out")"
    # KILLS pauses from the seed, uniform over the first 60% of the
    # uninterrupted run's time (a resumed run has less left to do).
    pauses=$(awk -v n="$kills" -v s="$seed" -v t0="$t0" -v t1="$(date +%s.%N)" \
        'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%.3f ", 0.05 + 0.6 * (t1 - t0) * rand() }')
    k=0
    in_write=0
    landed=0
    for pause in $pauses; do
        k=$((k + 1))
        # A kill inside a write leaves checkpoint.bin.tmp behind: the random
        # kills run with it there (mutau must write over it), a waiting kill
        # without it, so that it waits for the new one.
        [ $((k % 2)) -eq 1 ] && rm -f "$run/checkpoint.bin.tmp"
        if [ -f "$run/checkpoint.bin" ]; then
            "$mutau" train --resume "$run" --progress quiet >"$work/run.out" 2>&1 &
        else # killed before its first checkpoint: start again
            # shellcheck disable=SC2086
            "$mutau" train $flags --out "$run" --force >"$work/run.out" 2>&1 &
        fi
        pid=$!
        if [ $((k % 2)) -eq 1 ]; then
            # Inside a checkpoint write: as soon as the temporary file exists.
            while [ ! -e "$run/checkpoint.bin.tmp" ] && kill -0 "$pid" 2>/dev/null; do
                :
            done
        else
            sleep "$pause"
        fi
        kill -9 "$pid" 2>/dev/null
        { wait "$pid"; } 2>/dev/null # no "Killed" from the shell
        rc=$?
        [ $rc -eq 137 ] && landed=$((landed + 1))
        [ $rc -eq 137 ] && [ $((k % 2)) -eq 1 ] && [ -e "$run/checkpoint.bin.tmp" ] && in_write=$((in_write + 1))
        # Ended before the kill: only a finished run may do that.
        if [ $rc -ne 137 ] && [ $rc -ne 0 ]; then
            fail "$mode: kill $k: mutau train exited $rc: $(tail -n 1 "$work/run.out")"
        fi
    done
    if [ -f "$run/checkpoint.bin" ]; then
        "$mutau" train --resume "$run" --progress quiet >"$work/run.out" 2>&1
    else
        # shellcheck disable=SC2086
        "$mutau" train $flags --out "$run" --force >"$work/run.out" 2>&1
    fi
    rc=$?
    [ $rc -eq 0 ] || fail "$mode: the last resume exited $rc: $(tail -n 1 "$work/run.out")"
    untimed_log "$ref/log.csv" >"$work/a" && untimed_log "$run/log.csv" >"$work/b"
    diff "$work/a" "$work/b" >"$work/diff" || fail "$mode: log.csv differs after $kills kills:
$(cat "$work/diff")"
    untimed_final "$ref/final.json" >"$work/a" && untimed_final "$run/final.json" >"$work/b"
    diff "$work/a" "$work/b" >"$work/diff" || fail "$mode: final.json differs after $kills kills:
$(cat "$work/diff")"
    [ $landed -gt 0 ] || fail "$mode: no kill landed before the run ended"
    echo "kill_resume: $mode: $landed kills before the end ($in_write inside a checkpoint write), then the same log.csv and final.json as the uninterrupted run"
done
