#!/usr/bin/env bash
#
# Identity resolution benchmark, as root (it installs the extension):
#
#   bash test/bench/identity/run.sh [--links N]      (default 1000000)
#
# In one throwaway cluster (pg_virtualenv, fsync off), on the same generated
# links, it measures and prints:
#   1. bulk ingest: COPY of raw pairs into omni.link_staging, then
#      omni.resolve_all() (normalization, identities, links, customers);
#   2. re-resolution of every customer by omni.resolve_all() against the
#      classic recursive-CTE connected-components query on the same links
#      (checked to find the same number of components), both on tables
#      already in shared buffers, and their ratio (resolve_all(): median of
#      five runs);
#   1 and 2 run on two graph shapes (see bench.sql): uniform small
#   customers, and a heavy tail of customers with many cookies;
#   3. omni.link() single-session throughput (pgbench, one client, one link
#      per transaction) for each kind of link: two new identifiers, a new
#      identifier joining a customer, a merge of two existing customers, and
#      a pair seen again; then a mix of them (weights below).
set -u
cd "$(dirname "$0")/../../.." || exit 2
. test/lib.sh

links=1000000
while [ $# -gt 0 ]; do
    case "$1" in
        --links) [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1000 ] && [ "$2" -le 20000000 ] \
                     || { echo "error: --links needs an integer between 1000 and 20000000" >&2; exit 2; }
                 links=$2; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "error: unknown argument \"$1\"" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root (it installs the extension)" >&2
    exit 2
fi
omni_require_packages || exit 1
omni_build_install || exit 1

export BENCH_LINKS=$links BENCH_DIR=$(pwd)/test/bench/identity
pg_virtualenv -o fsync=off -o shared_buffers=1GB -o max_wal_size=8GB -o work_mem=256MB \
    -o maintenance_work_mem=1GB bash -c '
    set -e
    work=$(mktemp -d); chmod 777 "$work"; trap "rm -rf $work" EXIT
    for shape in uniform tail; do
        createdb "bench_$shape"
        psql -X -q -v ON_ERROR_STOP=1 -v links="$BENCH_LINKS" -v shape=$shape -v work="$work" \
            -d "bench_$shape" -f "$BENCH_DIR/bench.sql"
        echo
    done
    export PGDATABASE=bench_uniform
    echo "== omni.link() throughput: pgbench, 1 client, one link per transaction, 20000 transactions each"
    printf "%-6s %18s %18s\n" case "simple protocol" "prepared"
    # the mix: pairs seen again 60%, new identifiers joining a customer 20%,
    # two new identifiers 15%, merges 5%
    mix="-f $BENCH_DIR/link_repeat.pgbench@60 -f $BENCH_DIR/link_join.pgbench@20 -f $BENCH_DIR/link_new.pgbench@15 -f $BENCH_DIR/link_merge.pgbench@5"
    for s in new join merge repeat mix; do
        if [ $s = mix ]; then files=$mix; else files="-f $BENCH_DIR/link_$s.pgbench"; fi
        simple=$(pgbench -n -c 1 -t 20000 $files 2>&1 | sed -n "s/^tps = \([0-9.]*\).*/\1/p")
        prepared=$(pgbench -n -M prepared -c 1 -t 20000 $files 2>&1 | sed -n "s/^tps = \([0-9.]*\).*/\1/p")
        printf "%-6s %11.0f links/s %11.0f links/s\n" "$s" "$simple" "$prepared"
    done
' 2>&1 | grep -v '^\*\*\*\|^20[0-9][0-9]-.* LOG: \|^Creating new PostgreSQL\|^Dropping cluster'
exit "${PIPESTATUS[0]}"
