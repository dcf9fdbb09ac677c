#!/usr/bin/env bash
# Builds the fuzz targets (Fuzz/Targets/*, libFuzzer + AddressSanitizer/LeakSanitizer) and runs
# each for a while; prints per target: executions, executions per second, crashes, leaks,
# timeouts, out-of-memory. Exit status 1 when any target found something, 2 on a build error.
#
#   Fuzz/run.sh [--seconds N | --total-seconds N] [--no-build] [--build-only] [Target ...]
#
# Default: every target, 600 s each; --total-seconds shares N seconds out among the targets
# (at least 3 s each), as make fuzz-smoke does.
#
# Environment: SCRATCH (default .build-fuzz), SWIFT (swift), FUZZ_CONFIGURATION (release:
# optimised with debug info; debug), FUZZ_JOBS (swift build -j), FUZZ_ARGS (more libFuzzer flags).
# A target's source may carry `// fuzz-options: <libFuzzer flags>` (a dictionary, -max_len) and
# `// fuzz-seeds: <dirs>` (more read-only seed folders, relative to the package; missing ones are
# skipped). Each target's corpus grows in $SCRATCH/fuzz/corpus/<Target>; its committed seeds are
# Fuzz/corpus/<Target> and Fuzz/regressions/<Target> (inputs of fixed findings); an input that fails is saved as Fuzz/crashes/<Target>/<kind>-<sha1>,
# and the log is $SCRATCH/fuzz/<Target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
SCRATCH=${SCRATCH:-.build-fuzz}
SWIFT=${SWIFT:-swift}
CONFIGURATION=${FUZZ_CONFIGURATION:-release}
SECONDS_PER_TARGET=600
TOTAL_SECONDS=
BUILD=1
RUN=1
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_PER_TARGET=$2; shift 2 ;;
        --total-seconds) TOTAL_SECONDS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --build-only) RUN=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
if [ ${#TARGETS[@]} -eq 0 ]; then
    for d in Fuzz/Targets/*/; do TARGETS+=("$(basename "$d")"); done
fi
if [ -n "$TOTAL_SECONDS" ]; then
    SECONDS_PER_TARGET=$(( TOTAL_SECONDS / ${#TARGETS[@]} ))
    [ "$SECONDS_PER_TARGET" -ge 3 ] || SECONDS_PER_TARGET=3
fi

# The manifest lists Fuzz/Targets/* when it is evaluated: a cached evaluation (SwiftPM keys it on
# the manifest, not on that folder) would miss a target added since. Evaluate it every time.
FLAGS=(--manifest-cache none -c "$CONFIGURATION" -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld)
[ "$CONFIGURATION" = release ] && FLAGS+=(-Xswiftc -g)
[ -n "${FUZZ_JOBS:-}" ] && FLAGS+=(-j "$FUZZ_JOBS")
BIN="$SCRATCH/$CONFIGURATION"

mkdir -p "$SCRATCH/fuzz"
if [ $BUILD = 1 ]; then
    for target in "${TARGETS[@]}"; do
        start=$(date +%s)
        # ld's "Cannot export local symbol __asan_…" warnings are noise: ASan's own symbols.
        if ! CORSCOPE_FUZZ=1 "$SWIFT" build --scratch-path "$SCRATCH" "${FLAGS[@]}" --product "$target" \
                >"$SCRATCH/fuzz/build-$target.log" 2>&1; then
            grep -v "Cannot export local symbol" "$SCRATCH/fuzz/build-$target.log" | tail -40 >&2
            echo "fuzz: building $target failed (log: $SCRATCH/fuzz/build-$target.log)" >&2
            exit 2
        fi
        echo "built $target ($(( $(date +%s) - start )) s)"
        rm -f "$SCRATCH/fuzz/build-$target.log"
    done
fi
[ $RUN = 1 ] || exit 0

# Swift's backtracer would catch the abort of a failed check before ASan reports it.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:handle_abort=1:symbolize=1}
failed=0
printf '%-20s %12s %9s %8s %6s %9s %5s  %s\n' target executions exec/s crashes leaks timeouts ooms result
for target in "${TARGETS[@]}"; do
    source=$(ls Fuzz/Targets/"$target"/*.swift | head -1)
    options=$(sed -n 's|^// fuzz-options: *||p' Fuzz/Targets/"$target"/*.swift | tr '\n' ' ')
    seeds=()
    # Committed seeds, and the inputs of fixed findings (replayed on every run).
    for dir in "Fuzz/corpus/$target" "Fuzz/regressions/$target"; do [ -d "$dir" ] && seeds+=("$dir"); done
    for dir in $(sed -n 's|^// fuzz-seeds: *||p' Fuzz/Targets/"$target"/*.swift); do
        [ -d "$dir" ] && seeds+=("$dir")
    done
    corpus="$SCRATCH/fuzz/corpus/$target"
    crashes="Fuzz/crashes/$target"
    mkdir -p "$corpus" "$crashes"
    log="$SCRATCH/fuzz/$target.log"
    # shellcheck disable=SC2086
    "$BIN/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/" -close_fd_mask=1 $options ${FUZZ_ARGS:-} \
        "$corpus" "${seeds[@]}" >"$log" 2>&1
    status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ -z "$executions" ]; then   # stopped by a finding: the last status line
        executions=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
        rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    fi
    # Each finding is one saved input, named by its kind.
    crashes_found=$(grep -c 'Test unit written to .*/crash-' "$log")
    leaks=$(grep -c 'Test unit written to .*/leak-' "$log")
    timeouts=$(grep -c 'Test unit written to .*/timeout-' "$log")
    ooms=$(grep -c 'Test unit written to .*/oom-' "$log")
    result=ok
    if [ "$status" -ne 0 ] || [ $((leaks + timeouts + ooms + crashes_found)) -gt 0 ]; then
        failed=1
        artifact=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
        result="FAILED (exit $status) ${artifact:-} log: $log"
    fi
    printf '%-20s %12s %9s %8s %6s %9s %5s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "$crashes_found" "$leaks" "$timeouts" "$ooms" "$result"
    if [ "$result" != ok ]; then
        grep -m1 -A12 'fuzz check failed\|ERROR: \|Fatal error' "$log" | sed 's/^/    /' >&2
    fi
done
exit $failed
