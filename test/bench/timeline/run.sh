#!/usr/bin/env bash
#
# Benchmark of the timeline index against a B-tree on (identity_id, ts), in
# one run on the same generated data, printing the ratios:
#   index size and build time; insert cost and WAL bytes per row, into
#   the built index and into an index grown by inserts from empty;
#   latency of the last 50 rows of one identity, and of 20 light and of 20
#   heavy identities merged (ORDER BY ts DESC LIMIT 50), the B-tree
#   answering with its "= ANY" plan (reads every row, top-N sort) and with
#   the best hand-written rewrite (a UNION ALL of per-identity LIMIT scans
#   under a Merge Append).
# As root (it builds and installs the extension and uses pg_virtualenv):
#
#   bash test/bench/timeline/run.sh [--rows N] [--identities N] [--heavy N]
#                                   [--insert-rows N] [--seconds N] [--one-only]
#
# --one-only measures only the latency of the last 50 of one identity
# (after the same data, build and inserts), six rounds of both queries
# (alternating which goes first), and prints the ratio of the sums.
#
# Defaults: 5,000,000 rows, 100,000 identities of which 200 heavy (2/5 of
# the rows, 10,000 each), 250,000 inserted rows, 5 s per latency run.
set -u
cd "$(dirname "$0")/../../.." || exit 2
. test/lib.sh

rows=5000000
identities=100000
heavy=200
insert_rows=250000
seconds=5
one_only=0
usage() { sed -n '2,21p' "$0"; }
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || [ "$1" = --one-only ] || { [ "$1" = -h ] || [ "$1" = --help ] || { echo "error: $1 needs a value" >&2; exit 2; }; }
    case "$1" in
        --rows) need_int --rows "$2" 10000 100000000; rows=$2; shift 2 ;;
        --identities) need_int --identities "$2" 1000 10000000; identities=$2; shift 2 ;;
        --heavy) need_int --heavy "$2" 20 100000; heavy=$2; shift 2 ;;
        --insert-rows) need_int --insert-rows "$2" 1000 10000000; insert_rows=$2; shift 2 ;;
        --seconds) need_int --seconds "$2" 1 600; seconds=$2; shift 2 ;;
        --one-only) one_only=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "error: unknown argument \"$1\"" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$heavy" -ge "$identities" ]; then
    echo "error: --heavy must be less than --identities" >&2; exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: the benchmark runs as root (it installs the extension)" >&2; exit 2
fi

omni_require_packages || exit 1
command -v pgbench >/dev/null || { echo "error: pgbench is missing (postgresql-client-15)" >&2; exit 1; }
echo "== building and installing omnichannel"
omni_build_install || exit 1

export TLB_ROWS=$rows TLB_IDS=$identities TLB_HEAVY=$heavy TLB_INSERT=$insert_rows TLB_SECONDS=$seconds TLB_ONE_ONLY=$one_only
export TLB_DIR=$(pwd)/test/bench/timeline
pg_virtualenv -o fsync=off -o shared_buffers=1GB -o max_wal_size=8GB -o checkpoint_timeout=30min \
    -o maintenance_work_mem=512MB -o work_mem=64MB -o autovacuum=off -o jit=off \
    bash "$TLB_DIR/inner.sh" 2>&1 | grep -v '^\*\*\*\|^20[0-9][0-9]-.* LOG: \|^Creating new PostgreSQL\|^Dropping cluster'
exit "${PIPESTATUS[0]}"
