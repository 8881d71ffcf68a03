#!/usr/bin/env bash
#
# Benchmark of cross-channel suppression, as root, in a throwaway cluster
# (pg_virtualenv, fsync off: CPU cost, not disk, is measured):
#   1. bulk: the same messages inserted into omni.message with no trigger,
#      with omni.suppress() and with an equivalent PL/pgSQL trigger
#      (plpgsql.sql), a realistic rule set, rounds interleaved; prints the
#      medians, the ratios and whether the two triggers decided alike;
#   2. concurrent: pgbench, N clients inserting single messages for random
#      customers for S seconds under short rolling caps; prints the
#      throughput, the failed transactions and every cap violation.
#
#   bash test/bench/suppression/run.sh [--customers N] [--messages N] [--rounds N]
#                                      [--clients N] [--seconds N] [--pgbench-customers N]
#
# Defaults: 10000 customers, 50000 messages, 3 rounds; 8 clients, 60 s,
# 1000 customers.
set -u
cd "$(dirname "$0")/../../.." || exit 2
. test/lib.sh

customers=10000
messages=50000
rounds=3
clients=8
seconds=60
pg_customers=1000
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || { [ "$1" = -h ] || [ "$1" = --help ] || { echo "error: $1 needs a value" >&2; exit 2; }; }
    case "$1" in
        --customers) need_int "$1" "$2" 100 10000000; customers=$2; shift 2 ;;
        --messages) need_int "$1" "$2" 100 100000000; messages=$2; shift 2 ;;
        --rounds) need_int "$1" "$2" 1 20; rounds=$2; shift 2 ;;
        --clients) need_int "$1" "$2" 1 64; clients=$2; shift 2 ;;
        --seconds) need_int "$1" "$2" 1 3600; seconds=$2; shift 2 ;;
        --pgbench-customers) need_int "$1" "$2" 1 10000000; pg_customers=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "error: unknown argument \"$1\"" >&2; exit 2 ;;
    esac
done
if [ "$pg_customers" -gt "$customers" ]; then
    echo "error: --pgbench-customers ($pg_customers) must not exceed --customers ($customers)" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "error: the benchmark runs as root (it installs packages and the extension)" >&2
    exit 2
fi

omni_require_packages || exit 1
echo "== building and installing omnichannel"
omni_build_install || exit 1

export BENCH_CUSTOMERS=$customers BENCH_MESSAGES=$messages BENCH_ROUNDS=$rounds \
       BENCH_CLIENTS=$clients BENCH_SECONDS=$seconds BENCH_PG_CUSTOMERS=$pg_customers
echo "== $customers customers, $messages messages, $rounds rounds; pgbench: $clients clients, ${seconds}s, $pg_customers customers"
pg_virtualenv -o fsync=off -o shared_buffers=512MB -o max_wal_size=4GB bash -c '
    set -e
    d=test/bench/suppression
    q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
    q -c "CREATE EXTENSION omnichannel" >/dev/null
    start=$(date +%s)
    q -v customers=$BENCH_CUSTOMERS -v messages=$BENCH_MESSAGES -f $d/setup.sql >/dev/null
    q -f $d/plpgsql.sql >/dev/null
    echo "data made in $(( $(date +%s) - start )) s"
    q -P footer=off -v rounds=$BENCH_ROUNDS -f $d/bulk.sql
    q -f $d/concurrency.sql >/dev/null
    echo
    echo "== pgbench: $BENCH_CLIENTS clients, ${BENCH_SECONDS}s, one INSERT per transaction, $BENCH_PG_CUSTOMERS customers"
    pgbench -n -c "$BENCH_CLIENTS" -j 2 -T "$BENCH_SECONDS" -D customers="$BENCH_PG_CUSTOMERS" \
        -f $d/pgbench.sql 2>&1 | grep -E "^(number of (transactions actually processed|failed transactions)|latency average|tps)" \
        | sed "s/^/  /"
    q -P footer=off -f $d/violations.sql
' 2>&1 | grep -v '^\*\*\*\|^20[0-9][0-9]-.* LOG: \|^Creating new PostgreSQL\|^Dropping cluster'
exit "${PIPESTATUS[0]}"
