#!/usr/bin/env bash
# Run by run.sh inside pg_virtualenv: generate, measure, report.
set -eu
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== generating $TLB_ROWS rows over $TLB_IDS identities ($TLB_HEAVY heavy)"
psql -v rows="$TLB_ROWS" -v ids="$TLB_IDS" -v heavy="$TLB_HEAVY" -f "$TLB_DIR/setup.sql"

echo "== building the indexes (maintenance_work_mem = 512MB), size at $TLB_ROWS rows"
psql -v rows="$TLB_ROWS" -f "$TLB_DIR/build.sql"

echo "== inserting $TLB_INSERT rows (in time order, random identities) into each table"
psql -v n="$TLB_INSERT" -v ids="$TLB_IDS" -v heavy="$TLB_HEAVY" -f "$TLB_DIR/insert.sql"

# Latency: pgbench, one client, prepared statements, $TLB_SECONDS s each.
ids20() {  # pgbench \set lines for r1..r20 in [lo, hi]
    for i in $(seq 1 20); do echo "\\set r$i random($1, $2)"; done
}
arr20() { local s=""; for i in $(seq 1 20); do s="$s${s:+,}:r$i"; done; echo "ARRAY[$s]::bigint[]"; }
union20() {
    local s=""
    for i in $(seq 1 20); do
        s="$s${s:+ UNION ALL }(SELECT * FROM bench.tp_b WHERE identity_id = :r$i ORDER BY ts DESC LIMIT 50)"
    done
    echo "SELECT * FROM ($s) u ORDER BY ts DESC LIMIT 50;"
}
light_lo=$((TLB_HEAVY + 1))
for t in b t; do
    { echo "\\set r random(1, $TLB_IDS)"
      echo "SELECT * FROM bench.tp_$t WHERE identity_id = :r ORDER BY ts DESC LIMIT 50;"; } > "$tmp/one_$t.sql"
    { ids20 "$light_lo" "$TLB_IDS"
      echo "SELECT * FROM bench.tp_$t WHERE identity_id = ANY ($(arr20)) ORDER BY ts DESC LIMIT 50;"; } > "$tmp/light_$t.sql"
    { ids20 1 "$TLB_HEAVY"
      echo "SELECT * FROM bench.tp_$t WHERE identity_id = ANY ($(arr20)) ORDER BY ts DESC LIMIT 50;"; } > "$tmp/heavy_$t.sql"
done
{ ids20 "$light_lo" "$TLB_IDS"; union20; } > "$tmp/light_u.sql"
{ ids20 1 "$TLB_HEAVY"; union20; } > "$tmp/heavy_u.sql"

if [ "$TLB_ONE_ONLY" = 1 ]; then
    echo "== latency of the last 50 of one identity (pgbench, 1 client, prepared, ${TLB_SECONDS} s per run)"
    for f in one_b one_t; do pgbench -n -M prepared -T 1 -f "$tmp/$f.sql" >/dev/null 2>&1; done
    sb=0; st=0
    for round in 1 2 3 4 5 6; do
        # alternate which goes first, so a drift of the machine hits both
        if [ $((round % 2)) = 1 ]; then order="b t"; else order="t b"; fi
        for x in $order; do
            ms=$(pgbench -n -M prepared -T "$TLB_SECONDS" -f "$tmp/one_$x.sql" 2>&1 | awk '/latency average/ {print $4}')
            if [ "$x" = b ]; then b=$ms; sb=$(echo "$sb + $ms" | bc -l); else t=$ms; st=$(echo "$st + $ms" | bc -l); fi
        done
        echo "   round $round: B-tree $b ms, timeline $t ms"
    done
    printf '   mean: B-tree %.4f ms, timeline %.4f ms, ratio %.3f\n' \
        "$(echo "$sb / 6" | bc -l)" "$(echo "$st / 6" | bc -l)" "$(echo "$st / $sb" | bc -l)"
    exit 0
fi

echo "== plans (one sample each)"
for f in one_b one_t light_b light_t light_u heavy_b heavy_t heavy_u; do
    case "$f" in heavy_*) base=1 ;; *) base=$((light_lo + 7)) ;; esac
    q=$(grep -v '^\\set' "$tmp/$f.sql" | sed "s/:r\([0-9][0-9]*\)/($base+\1)/g; s/:r\b/$base/g")
    echo "-- $f"
    psql -c "EXPLAIN (COSTS OFF) $q" | grep -E 'Sort|Scan|Append|Limit' | sed 's/^/   /' | head -6
done

latency() {  # file -> average ms
    pgbench -n -M prepared -T "$TLB_SECONDS" -f "$tmp/$1.sql" 2>&1 | awk '/latency average/ {print $4}'
}
echo "== latency (pgbench, 1 client, prepared, ${TLB_SECONDS} s per query)"
for f in one_b one_t light_b light_t light_u heavy_b heavy_t heavy_u; do
    pgbench -n -M prepared -T 1 -f "$tmp/$f.sql" >/dev/null 2>&1   # warm up
    ms=$(latency "$f")
    psql -c "INSERT INTO bench.result VALUES ('latency_$f', $ms)"
    echo "   $f: $ms ms"
done

# The answers agree (same rows from both tables for fixed identities).
psql -c "SELECT bench.check_same()"

echo
psql -P footer=off -f "$TLB_DIR/report.sql"
