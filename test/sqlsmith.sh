#!/usr/bin/env bash
#
# Random SQL against omnichannel with SQLsmith: a throwaway cluster with the
# extension and a few hundred generated customers (every omni table has rows),
# then SQLsmith's random queries over it, as a member of omni_admin.  As root:
#
#   bash test/sqlsmith.sh [--queries N | --seconds N] [--seed N] [--keep]
#
#   --queries N   stop after N generated queries (default 2000)
#   --seconds N   stop after N seconds instead
#   --seed N      SQLsmith's random seed (default 1); the same seed and data
#                 give the same queries
#   --keep        keep the cluster's directory (server log, queries) afterwards
#
# Errors of the random queries are expected (type mismatches, division by
# zero, refused bad input...) and are counted by SQLSTATE class.  The run
# fails when the server crashed: a backend killed by a signal or exiting
# abnormally (the postmaster then logs "terminated by signal" or "exited with
# exit code" and reinitializes), or a postmaster that is not the one started.
# The query a crashed backend was running is printed from the server log.
# An internal error (SQLSTATE XX000) raised by omnichannel's code fails the
# run too: what a user can cause must get an error with its own SQLSTATE.
# PG_CONFIG=/path/to/pg_config selects another PostgreSQL 15 installation.
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
. test/lib.sh

queries=2000
seconds=
seed=1
keep=0
usage() { sed -n '2,21p' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --queries) [ $# -ge 2 ] || { echo "error: --queries needs a value" >&2; exit 2; }
                   need_int --queries "$2" 1 100000000; queries=$2; seconds=; shift 2 ;;
        --seconds) [ $# -ge 2 ] || { echo "error: --seconds needs a value" >&2; exit 2; }
                   need_int --seconds "$2" 1 864000; seconds=$2; shift 2 ;;
        --seed)    [ $# -ge 2 ] || { echo "error: --seed needs a value" >&2; exit 2; }
                   need_int --seed "$2" 0 2147483647; seed=$2; shift 2 ;;
        --keep)    keep=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *)         echo "error: unknown argument \"$1\"" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "error: test/sqlsmith.sh runs as root (it installs packages and the extension)" >&2
    exit 2
fi
if ! command -v sqlsmith >/dev/null 2>&1; then
    echo "== installing sqlsmith"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends sqlsmith >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends sqlsmith >/dev/null; }; } \
        || { echo "error: could not install the Debian package sqlsmith" >&2; exit 1; }
fi
omni_require_packages || exit 1
# This tree's build, installed under the lock (incremental: make leaves the
# objects of an earlier build of this tree).
echo "== build and install"
make -s -j"$(nproc)" >/dev/null || { echo "error: the build failed" >&2; exit 1; }
make -s install >/dev/null || { echo "error: make install failed" >&2; exit 1; }

bindir=$("${PG_CONFIG:-pg_config}" --bindir)
work=$(mktemp -d /tmp/omni-sqlsmith.XXXXXX)
mkdir "$work/sock"
chown -R postgres: "$work"
chmod 755 "$work"
pgdata="$work/data"
port=$((55000 + RANDOM % 1000))
started=0

cleanup() {
    [ "$started" -eq 1 ] && runuser -u postgres -- "$bindir/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1
    if [ "$keep" -eq 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== throwaway cluster in $work (port $port)"
runuser -u postgres -- "$bindir/initdb" -D "$pgdata" -A trust -U postgres --no-sync >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; exit 1; }
# %e: the SQLSTATE of each logged error, counted below; verbose errors give
# the function and source file that raised each, for the internal errors.  The restart after a
# crash is left on (the default) so that one crash does not end the run.
runuser -u postgres -- "$bindir/pg_ctl" -D "$pgdata" -l "$work/server.log" -w -t 120 \
    -o "-p $port -k $work/sock -c listen_addresses= -c fsync=off -c log_line_prefix='%m [%p] %e ' -c log_error_verbosity=verbose" start \
    >/dev/null || { tail -30 "$work/server.log"; exit 1; }
started=1
export PGHOST="$work/sock" PGPORT="$port" PGUSER=postgres
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "== extension and data (300 customers)"
psql_q -d postgres -c "CREATE DATABASE omni_smith" || exit 1
{
    psql_q -d omni_smith -c "CREATE EXTENSION omnichannel" &&
    psql_q -d omni_smith -f test/data/generate.sql &&
    psql_q -d omni_smith -c "SELECT * FROM gen.generate(seed => 7, customers => 300, touchpoints_per_customer => 20)" &&
    psql_q -d omni_smith -f test/data/load.sql
} >"$work/setup.log" 2>&1 || { echo "error: loading the data failed:" >&2; tail -30 "$work/setup.log" >&2; exit 1; }
empty=$(psql_q -d omni_smith -At -f test/sqlsmith/setup.sql 2>"$work/setup.err") \
    || { echo "error: test/sqlsmith/setup.sql failed:" >&2; cat "$work/setup.err" >&2; exit 1; }
empty=$(grep -v '^[0-9]*$' <<<"$empty" | tr '\n' ' ')
if [ -n "${empty// /}" ]; then
    echo "error: omni tables without rows after the setup: $empty" >&2
    exit 1
fi
psql_q -d omni_smith -At -c "SELECT string_agg(format('%s %s', c.relname, c.reltuples::bigint), ', ' ORDER BY c.relname)
    FROM pg_class c WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind = 'r'" | sed 's/^/rows: /'
pm_before=$(head -1 "$pgdata/postmaster.pid")
log_start=$(wc -l <"$work/server.log")

# SQLsmith reads the catalog (every schema it can see, omni's functions,
# types, operators and tables included) and sends random queries, each
# rolled back.  --exclude-catalog keeps the system catalogs out of FROM
# lists, so that the relations queried are omni's.  It has no time limit of
# its own: --seconds stops it with SIGINT.
if [ -n "$seconds" ]; then
    limit=(timeout --signal=INT "$seconds")
    maxq=100000000
    what="$seconds s"
else
    limit=()
    maxq=$queries
    what="$queries queries"
fi
echo "== sqlsmith: $what, seed $seed, as omni_smith (member of omni_admin)"
start=$(date +%s)
"${limit[@]}" sqlsmith --target="dbname=omni_smith host=$work/sock port=$port user=omni_smith" \
    --seed="$seed" --exclude-catalog --verbose --dump-all-queries --max-queries="$maxq" \
    >"$work/queries.sql" 2>"$work/sqlsmith.log"
smith_rc=$?
elapsed=$(( $(date +%s) - start ))

# Crashes: the postmaster's messages about a child that died, and whether the
# postmaster itself is still the one started.
pm_after=$(head -1 "$pgdata/postmaster.pid" 2>/dev/null || echo none)
tail -n +"$((log_start + 1))" "$work/server.log" >"$work/run.log"
crashes=$(grep -cE 'process \(PID [0-9]+\) (was terminated by signal|exited with exit code)' "$work/run.log")
if [ "$pm_after" != "$pm_before" ]; then
    echo "error: the postmaster (PID $pm_before) is gone (now: $pm_after)"
    crashes=$((crashes + 1))
fi
# sqlsmith's own count (its last progress line, printed on SIGINT too);
# failing that, the statements it dumped (each ends a line with ";")
ran=$(grep -oE '^queries: [0-9]+' "$work/sqlsmith.log" | tail -1 | awk '{ print $2 }')
[ -n "$ran" ] || ran=$(grep -c ';$' "$work/queries.sql")

echo "== sqlsmith summary"
echo "queries run: $ran in ${elapsed} s (sqlsmith exit status $smith_rc)"
echo "queries calling an omni function: $(awk 'BEGIN { RS = ";\n" } /omni\.[a-z_]+\(/ { n++ } END { print n + 0 }' "$work/queries.sql")"
echo "errors by SQLSTATE class (random SQL: expected):"
grep -oE '^[0-9-]+ [0-9:.]+ [A-Z]+ \[[0-9]+\] [0-9A-Z]{5} (ERROR|FATAL|PANIC):' "$work/run.log" \
    | awk '{ print substr($5, 1, 2) }' | sort | uniq -c | sort -rn \
    | awk '{ printf "  class %s: %d\n", $2, $1 }'
echo "crashes: $crashes"

# Internal errors (XX000: elog(ERROR), "cannot happen") are bugs when our
# code raised them: a user's input must get an ereport with its SQLSTATE.  The
# LOCATION line after each names the function and file; it is ours when a
# file of that name under src/ defines that function.
internal=0
while read -r func file; do
    for f in src/"$file" src/*/"$file"; do
        if [ -f "$f" ] && grep -q "^$func(" "$f"; then
            internal=$((internal + 1))
            echo "internal error raised by omnichannel ($func, $f):"
            grep -B1 -A8 -F "LOCATION:  $func, $file:" "$work/run.log" | head -12
        fi
    done
done < <(grep -A1 -E '\] XX000 ERROR:' "$work/run.log" \
         | sed -nE 's/.* LOCATION:  ([A-Za-z_0-9]+), ([A-Za-z_0-9.]+):[0-9]+$/\1 \2/p' | sort -u)
echo "internal errors (XX000) raised by omnichannel: $internal"
if [ "$crashes" -gt 0 ]; then
    keep=1
    echo "== crashes in the server log (with the query each was running)"
    grep -E -A3 'process \(PID [0-9]+\) (was terminated by signal|exited with exit code)' "$work/run.log" | head -60
    exit 1
fi
if [ "$internal" -gt 0 ]; then
    keep=1
    exit 1
fi
# sqlsmith ends with 0 after --max-queries, 124/130 after the --seconds SIGINT
case "$smith_rc" in
    0|124|130) ;;
    *) echo "error: sqlsmith failed (exit status $smith_rc):"; tail -20 "$work/sqlsmith.log"; exit 1 ;;
esac
[ "$ran" -gt 0 ] || { echo "error: no query ran"; tail -20 "$work/sqlsmith.log"; exit 1; }
