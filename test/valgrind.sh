#!/usr/bin/env bash
#
# Run the pg_regress suites (sql/*.sql, or the named ones) against a
# PostgreSQL 15 server running under valgrind's memcheck, then read the
# valgrind logs.  As root:
#
#   bash test/valgrind.sh [--keep] [suite ...]
#
#   suite         a name of sql/<suite>.sql; all of them when none is given
#   --keep        keep the cluster and the valgrind logs (their directory is printed)
#
# The cluster is made by initdb as the user "postgres" in a temporary
# directory; its postmaster (and so every backend, which is a fork of it) runs
# under valgrind with one log file per process.  The run fails when valgrind
# reports any error whose stack (or the origin of whose uninitialised value)
# passes through omnichannel, or when a regression test fails.  Errors
# valgrind reports only in PostgreSQL or the C library are counted and shown
# but do not fail the run: see "Memory checking" in README.md.
# PG_CONFIG=/path/to/pg_config selects another PostgreSQL 15 installation.
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
. test/lib.sh

keep=0
suites=()
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        -*) echo "error: unknown option \"$arg\" (known: --keep)" >&2; exit 2 ;;
        *)
            if [ ! -f "sql/$arg.sql" ]; then
                echo "error: no regression suite \"$arg\" (expected the file sql/$arg.sql)" >&2
                exit 2
            fi
            suites+=("$arg") ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "error: test/valgrind.sh runs as root (it installs the extension and starts a server as postgres)" >&2
    exit 2
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "== installing valgrind"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null \
        || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -qq --no-install-recommends valgrind >/dev/null; } \
        || { echo "error: could not install valgrind" >&2; exit 1; }
fi
omni_require_packages || exit 1
# Build (incrementally: the objects are those of this tree) and install:
# the run must test this tree's library, whatever was installed before.
echo "== build and install"
make -s -j"$(nproc)" >/dev/null || { echo "error: the build failed" >&2; exit 1; }
make -s install >/dev/null || { echo "error: make install failed" >&2; exit 1; }
if [ ${#suites[@]} -eq 0 ]; then
    mapfile -t suites < <(make -s print-REGRESS | tr ' ' '\n' | sed '/^$/d')
fi

bindir=$("${PG_CONFIG:-pg_config}" --bindir)
work=$(mktemp -d /tmp/omni-valgrind.XXXXXX)
chown postgres: "$work"
chmod 755 "$work"
mkdir "$work/log" "$work/sock"
chown postgres: "$work/log" "$work/sock"
# The server runs as postgres, which may not be able to enter this tree (a
# clone in root's private temporary directory): it gets its suppressions and
# its working directory inside $work.
cp "$top/test/valgrind/postgres.supp" "$work/postgres.supp"
chmod 644 "$work/postgres.supp"
pgdata="$work/data"
port=$((54000 + RANDOM % 1000))
vgpid=

cleanup() {
    if [ -n "$vgpid" ] && kill -0 "$vgpid" 2>/dev/null; then
        runuser -u postgres -- "$bindir/pg_ctl" -D "$pgdata" -m immediate -w -t 120 stop >/dev/null 2>&1 \
            || kill -KILL "$vgpid" 2>/dev/null
        wait "$vgpid" 2>/dev/null
    fi
    if [ "$keep" -eq 1 ]; then
        echo "kept: cluster and logs in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

echo "== initdb in $work"
(cd "$work" && runuser -u postgres -- "$bindir/initdb" -D "$pgdata" -A trust -U postgres --no-sync) >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; exit 1; }

# The postmaster under memcheck.  Every backend is a fork of it and inherits
# the instrumentation; --trace-children follows the few exec()s there are.
# %p puts each process in its own log file.  --error-exitcode makes a backend
# in which memcheck found an error exit with a code the postmaster treats as a
# crash, so the failing test also shows it; the suppressions list PostgreSQL's
# own false positives (padding written to disk), so that code is only seen for
# real errors.  No leak check: the memory of a backend is freed by memory
# contexts and process exit, and without USE_VALGRIND memcheck sees only the
# malloc'd blocks of the contexts, not palloc's chunks.  jit=off: LLVM's
# code generation under memcheck is very slow and reports errors of its own
# (libLLVM, not PostgreSQL nor us); our functions are called through fmgr with
# or without JIT.  autovacuum=off: with every statement 30 times slower,
# autovacuum's ANALYZE would run in the middle of the suites and change the
# plans that some of them print (the suites VACUUM and ANALYZE explicitly where
# they test it).
vgopts=(
    --tool=memcheck
    --trace-children=yes
    --track-origins=yes
    --read-var-info=yes
    --leak-check=no
    --num-callers=30
    --fullpath-after=
    --error-exitcode=128
    --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END
    --suppressions="$work/postgres.supp"
    --gen-suppressions=all
    --log-file="$work/log/valgrind.%p.log"
)
echo "== starting postgres under valgrind (port $port)"
start=$(date +%s)
(cd "$work" && exec runuser -u postgres -- valgrind "${vgopts[@]}" "$bindir/postgres" -D "$pgdata" \
    -p "$port" -k "$work/sock" -c listen_addresses= -c fsync=off \
    -c max_prepared_transactions=10 -c jit=off -c autovacuum=off) \
    >"$work/server.log" 2>&1 &
vgpid=$!
ready=0
for _ in $(seq 1 240); do
    if "$bindir/pg_isready" -q -h "$work/sock" -p "$port" -U postgres -d postgres 2>/dev/null; then
        ready=1
        break
    fi
    kill -0 "$vgpid" 2>/dev/null || break
    sleep 1
done
if [ "$ready" -ne 1 ]; then
    echo "error: the server under valgrind did not start; its log:" >&2
    tail -40 "$work/server.log" >&2
    exit 1
fi
echo "server up in $(( $(date +%s) - start )) s"

echo "== pg_regress: ${suites[*]}"
rm -rf results regression.diffs regression.out
PGHOST="$work/sock" PGPORT="$port" PGUSER=postgres \
    make -s installcheck TAP_TESTS= ISOLATION= REGRESS="${suites[*]}" >"$work/installcheck.log" 2>&1
regress_rc=$?
grep -E '^(test |     [a-z]| All [0-9]| [0-9]+ of [0-9]+ tests)' "$work/installcheck.log"
if [ "$regress_rc" -ne 0 ]; then
    [ -s regression.diffs ] && { echo "== regression.diffs (first 200 lines)"; head -200 regression.diffs; }
    grep -qE '\.\.\. (ok|FAILED)' "$work/installcheck.log" || tail -40 "$work/installcheck.log"
fi

# Stop the server cleanly so that every process writes its error summary.
runuser -u postgres -- "$bindir/pg_ctl" -D "$pgdata" -m fast -w -t 600 stop >/dev/null 2>&1
wait "$vgpid" 2>/dev/null
vgpid=
elapsed=$(( $(date +%s) - start ))

# Each error is a block between the markers.  It is ours when any of its
# frames, including those of the origin of an uninitialised value, is in
# omnichannel.so or in a source file of this tree.
summary=$(awk -v top="$top/src/" '
    /VALGRINDERROR-BEGIN/ { inblk = 1; blk = ""; ours = 0; next }
    /VALGRINDERROR-END/ {
        inblk = 0
        if (ours) { nours++; if (nours <= 5) print "OURS" FILENAME "\n" blk > "/dev/stderr" }
        else { nother++; if (nother <= 3) print "OTHER" FILENAME "\n" blk > "/dev/stderr" }
        next
    }
    inblk {
        blk = blk $0 "\n"
        if (index($0, "omnichannel.so") || index($0, top)) ours = 1
    }
    END { printf "%d %d\n", nours + 0, nother + 0 }
' "$work"/log/valgrind.*.log 2>"$work/errors.txt")
read -r nours nother <<<"$summary"
nproc=$(ls "$work"/log/valgrind.*.log | wc -l)
# A child that dies of a signal or exits with a code other than 0 or 1 (128
# is valgrind's, above) makes the postmaster log one of these and restart.
crashes=$(grep -cE 'process \(PID [0-9]+\) (was terminated by|exited with exit code)' "$work/server.log")

if [ "$nours" -gt 0 ] || [ "$nother" -gt 0 ]; then
    echo "== valgrind errors (the first of each kind; all logs: $work/log)"
    cat "$work/errors.txt"
    keep=1
fi
echo "== valgrind summary: ${#suites[@]} suites, $nproc processes, ${elapsed} s"
echo "errors in omnichannel: $nours"
echo "errors elsewhere (PostgreSQL, libc): $nother"
[ "$nother" -gt 0 ] && echo "note: errors elsewhere do not fail the run; a new one deserves a look (and, if it is a PostgreSQL false positive, an entry in test/valgrind/postgres.supp)"
echo "server crashes or restarts: $crashes"
[ "$regress_rc" -ne 0 ] && { echo "error: pg_regress failed under valgrind"; keep=1; }
[ "$nours" -eq 0 ] && [ "$regress_rc" -eq 0 ] && [ "$crashes" -eq 0 ]
