#!/usr/bin/env bash
#
# The omnichannel demo, as root on a Debian bookworm machine with PostgreSQL 15:
# installs what is missing, builds and installs the extension, starts a
# throwaway cluster (pg_virtualenv), creates the extension, loads generated
# data and prints a report of what the extension makes of it.
#
#   bash test/demo.sh [--customers N] [--touchpoints-per-customer N] [--seed N]
#
# Defaults: 10000 customers, 50 touchpoints each (about 500k), seed 42.
set -u
cd "$(dirname "$0")/.." || exit 2
. test/lib.sh

customers=10000
per_customer=50
seed=42
usage() { sed -n '2,11p' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --customers) [ $# -ge 2 ] || { echo "error: --customers needs a value" >&2; exit 2; }
                     need_int --customers "$2" 1 10000000; customers=$2; shift 2 ;;
        --touchpoints-per-customer)
                     [ $# -ge 2 ] || { echo "error: --touchpoints-per-customer needs a value" >&2; exit 2; }
                     need_int --touchpoints-per-customer "$2" 1 100000; per_customer=$2; shift 2 ;;
        --seed)      [ $# -ge 2 ] || { echo "error: --seed needs a value" >&2; exit 2; }
                     need_int --seed "$2" 0 2147483647; seed=$2; shift 2 ;;
        -h|--help)   usage; exit 0 ;;
        *)           echo "error: unknown argument \"$1\"" >&2; usage >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "error: test/demo.sh runs as root (it installs packages and the extension)" >&2
    exit 2
fi

omni_require_packages || exit 1
echo "== building and installing omnichannel"
omni_build_install || exit 1

echo "== generating $customers customers (~$((customers * per_customer)) touchpoints, seed $seed) in a throwaway cluster"
export OMNI_DEMO_CUSTOMERS=$customers OMNI_DEMO_PER_CUSTOMER=$per_customer OMNI_DEMO_SEED=$seed
pg_virtualenv -o fsync=off -o shared_buffers=512MB -o max_wal_size=4GB bash -c '
    set -e
    psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION omnichannel" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -f test/data/generate.sql >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -c "SELECT * FROM gen.generate(seed => $OMNI_DEMO_SEED, customers => $OMNI_DEMO_CUSTOMERS, touchpoints_per_customer => $OMNI_DEMO_PER_CUSTOMER)" >/dev/null
    start=$(date +%s%N)
    psql -X -q -v ON_ERROR_STOP=1 -f test/data/load.sql >/dev/null
    echo "loaded into omnichannel in $(( ($(date +%s%N) - start) / 1000000 )) ms"; echo
    psql -X -q -v ON_ERROR_STOP=1 -P footer=off -f test/demo.sql
' 2>&1 | grep -v '^\*\*\*\|^20[0-9][0-9]-.* LOG: \|^Creating new PostgreSQL\|^Dropping cluster'
exit "${PIPESTATUS[0]}"
