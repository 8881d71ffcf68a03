#!/usr/bin/env bash
#
# Run every test suite of omnichannel on this machine, as root:
#   1. install missing packages (apt-get), build with warnings as errors, install;
#   2. pg_regress suites (sql/) and isolation specs (test/isolation) in a
#      throwaway cluster made by pg_virtualenv;
#   3. TAP tests (test/t) as the unprivileged user "postgres" from a copy of
#      the tree that user owns (initdb refuses root);
#   4. client tests (test/clients): Python psycopg2 and Node.js node-postgres;
#   5. the Debian package (test/package.sh): built, installed, CREATE EXTENSION
#      from it and its autopkgtest; it is removed again afterwards;
#   6. hardening: the libFuzzer harnesses, 10 s each (test/fuzz/run.sh), and
#      the pg_regress suites against an ASan+UBSan build (test/sanitize.sh),
#      and short runs of test/valgrind.sh and test/sqlsmith.sh (--no-hardening
#      skips all of them).
# Ends with one line "N passed, N failed"; the exit status is non-zero when
# anything failed, and the diffs or logs of the failures are printed.
#
#   bash test/check.sh [--no-tap] [--no-clients] [--no-package] [--no-hardening]
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
. test/lib.sh

run_tap=1
run_clients=1
run_package=1
run_hardening=1
for arg in "$@"; do
    case "$arg" in
        --no-tap) run_tap=0 ;;
        --no-clients) run_clients=0 ;;
        --no-package) run_package=0 ;;
        --no-hardening) run_hardening=0 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "error: unknown option \"$arg\" (known: --no-tap, --no-clients, --no-package, --no-hardening)" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "error: test/check.sh runs as root (it installs packages and the extension)" >&2
    exit 2
fi

omni_require_packages || exit 1
echo "== build (warnings are errors) and install"
omni_build_install strict || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# pg_regress and pg_isolation_regress print "test <name> ... ok|FAILED".
count_regress() {
    local log=$1 ok bad
    ok=$(grep -cE '^(test| ) *[^ ]+ +\.\.\. ok' "$log")
    bad=$(grep -cE '^(test| ) *[^ ]+ +\.\.\. (FAILED|failed)' "$log")
    echo "$ok $bad"
}

# One counted step: run_step NAME LOG SUMMARY -- COMMAND...  runs COMMAND with
# its output in LOG, prints the LOG lines matching the extended regex SUMMARY
# (none when empty), then "NAME ... ok" or "NAME ... FAILED" and the whole
# LOG, and counts the result.
run_step() {
    local name=$1 log=$2 summary=$3
    shift 4
    if "$@" >"$log" 2>&1; then
        [ -n "$summary" ] && grep -E "$summary" "$log"
        echo "$name ... ok"
        passed=$((passed + 1))
    else
        cat "$log"
        echo "$name ... FAILED"
        failed=$((failed + 1))
    fi
}

echo "== pg_regress and isolation suites"
rm -rf results output_iso regression.diffs regression.out
pg_virtualenv -o fsync=off -o max_prepared_transactions=10 \
    make -s installcheck TAP_TESTS= >"$logs/installcheck.log" 2>&1
rc=$?
grep -E '^(test |     [a-z]|\+\+\+| All [0-9]| [0-9]+ of [0-9]+ tests)' "$logs/installcheck.log"
read -r ok bad < <(count_regress "$logs/installcheck.log")
passed=$((passed + ok))
failed=$((failed + bad))
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
    echo "error: the installcheck run failed before its tests finished:" >&2
    tail -40 "$logs/installcheck.log"
    failed=$((failed + 1))
fi
for d in regression.diffs output_iso/regression.diffs; do
    [ -s "$d" ] && { echo "== $d"; cat "$d"; }
done

# Hardening, short forms: four suites under valgrind's memcheck, and SQLsmith
# for 5,000 random queries (test/valgrind.sh, test/sqlsmith.sh; README,
# "Hardening").  Each counts as one test.
if [ "$run_hardening" -eq 1 ]; then
    echo "== valgrind memcheck (short)"
    run_step "valgrind memcheck" "$logs/valgrind.log" '^(errors|server crashes)' -- \
        bash test/valgrind.sh identity_normalize journey_sequence suppress timeline
    echo "== sqlsmith (short)"
    run_step sqlsmith "$logs/sqlsmith.log" '^(queries run|crashes)' -- \
        bash test/sqlsmith.sh --queries 5000
fi

if [ "$run_tap" -eq 1 ] && compgen -G "test/t/*.pl" >/dev/null; then
    echo "== TAP tests (as postgres)"
    tap=$(mktemp -d)
    cp -a "$top" "$tap/omnichannel"
    chown -R postgres: "$tap"
    for t in test/t/*.pl; do
        if runuser -u postgres -- make -s -C "$tap/omnichannel" installcheck REGRESS= ISOLATION= \
                PROVE_TESTS="$t" >"$logs/tap.log" 2>&1; then
            echo "$t ... ok"
            passed=$((passed + 1))
        else
            echo "$t ... FAILED"
            failed=$((failed + 1))
            tail -30 "$logs/tap.log"
            for l in "$tap"/omnichannel/tmp_check/log/regress_log_*; do
                [ -f "$l" ] && { echo "== $(basename "$l") (last 60 lines)"; tail -60 "$l"; }
            done
        fi
    done
    rm -rf "$tap"
fi

if [ "$run_clients" -eq 1 ]; then
    echo "== client tests"
    bash test/clients/run.sh >"$logs/clients.log" 2>&1
    rc=$?
    cat "$logs/clients.log"
    ok=$(grep -c '^client .* \.\.\. ok$' "$logs/clients.log")
    bad=$(grep -c '^client .* \.\.\. FAILED$' "$logs/clients.log")
    passed=$((passed + ok))
    failed=$((failed + bad))
    [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && failed=$((failed + 1))
fi

if [ "$run_package" -eq 1 ]; then
    echo "== Debian package"
    run_step "package postgresql-15-omnichannel" "$logs/package.log" "" -- bash test/package.sh
    # the package test removes the package's files: put the build back
    make -s install >/dev/null 2>&1
fi

if [ "$run_hardening" -eq 1 ]; then
    echo "== hardening: fuzzing (10 s per harness) and the ASan+UBSan build"
    run_step "fuzz (short run)" "$logs/fuzz.log" '^fuzz ' -- bash test/fuzz/run.sh --seconds 10
    run_step "sanitize (ASan+UBSan pg_regress)" "$logs/sanitize.log" '^sanitize: ' -- bash test/sanitize.sh
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
