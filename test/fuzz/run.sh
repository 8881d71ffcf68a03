#!/usr/bin/env bash
#
# Build the libFuzzer harnesses of test/fuzz (clang, AddressSanitizer,
# UndefinedBehaviorSanitizer) and run each for a fixed time, starting from
# its seed corpus (test/fuzz/corpus/<harness>) and the inputs earlier runs
# on this machine found (test/fuzz/build/corpus/<harness>).
#
#   bash test/fuzz/run.sh [--seconds N] [harness ...]
#
# --seconds N   time per harness (default 10; the long run is 600)
# harness       email name phone journey journey_recv step_pattern sequence
#               trigger_args
#               (default: all)
#
# Prints one line per harness ("fuzz <harness> ... ok (N executions in S s,
# 0 crashes)" or FAILED with the report) and exits non-zero when any harness
# crashed, hit a sanitizer report, a leak, a timeout or a finding of its own
# checks.  The input that did so is kept in test/fuzz/build/findings/;
# reproduce with test/fuzz/build/fuzz_<harness> <file>.  Installs clang, lld
# and libclang-rt-14-dev when missing (as root).  Needs no database.
set -u
cd "$(dirname "$0")/../.." || exit 2
. test/lib.sh

all="email name phone journey journey_recv step_pattern sequence trigger_args"
seconds=10
harnesses=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) [ $# -ge 2 ] || { echo "error: --seconds needs a value" >&2; exit 2; }
            need_int --seconds "$2" 1 86400; seconds=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        -*) echo "error: unknown option \"$1\" (known: --seconds N)" >&2; exit 2 ;;
        *) [[ " $all " == *" $1 "* ]] || { echo "error: unknown harness \"$1\" (known: $all)" >&2; exit 2; }
            harnesses+=("$1"); shift ;;
    esac
done
[ ${#harnesses[@]} -gt 0 ] || read -r -a harnesses <<<"$all"

omni_require_clang || exit 1
omni_require_packages || exit 1
echo "== building the fuzzing harnesses"
make -s -C test/fuzz -j"$(nproc)" >/dev/null || { echo "error: building test/fuzz failed" >&2; exit 1; }

build=test/fuzz/build
mkdir -p "$build/findings"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for h in "${harnesses[@]}"; do
    mkdir -p "$build/corpus/$h"
    dict=()
    [ -f "test/fuzz/$h.dict" ] && dict=(-dict="test/fuzz/$h.dict")
    "$build/fuzz_$h" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$logs/$h-" "${dict[@]}" \
        "$build/corpus/$h" "test/fuzz/corpus/$h" >"$logs/$h.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$h.log" | tail -1)
    artifacts=$(find "$logs" -maxdepth 1 -name "$h-*" -type f | wc -l)
    if [ "$rc" -eq 0 ] && [ "$artifacts" -eq 0 ] && [ -n "$execs" ]; then
        echo "fuzz $h ... ok (${execs} executions in ${seconds} s, 0 crashes)"
    else
        echo "fuzz $h ... FAILED (exit status $rc, ${execs:-?} executions, $artifacts crashing inputs)"
        grep -aE -B2 -A25 'fuzz finding|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' \
            "$logs/$h.log" | head -60
        for a in "$logs/$h"-*; do
            [ -f "$a" ] || continue
            cp "$a" "$build/findings/"
            echo "input kept: $build/findings/$(basename "$a") (reproduce: $build/fuzz_$h $build/findings/$(basename "$a"))"
        done
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ]
