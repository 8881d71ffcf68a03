/*
 * Insert :n new rows, later than every existing one, for random
 * identities, into the table without an index, the one with the B-tree
 * and the one with the timeline index, after a checkpoint each (so each
 * pays its full-page images); record time and WAL bytes.  Per row, the
 * index's share is (with index) - (no index).
 */
CREATE FUNCTION bench.insert_into(tab text, n int, ids int, heavy int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    l0 pg_lsn;
BEGIN
    PERFORM setseed(0.7);
    l0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    EXECUTE format($q$
        INSERT INTO %s
        SELECT CASE WHEN g %% 5 < 2 THEN 1 + (random() * (%s - 1))::bigint
                    ELSE %s + 1 + (random() * (%s - %s - 1))::bigint END,
               timestamptz '2026-06-01 00:00+00' + g * interval '1 second', 'web', 'page_view'
          FROM generate_series(1, %s) g$q$, tab, heavy, heavy, ids, heavy, n);
    INSERT INTO bench.result VALUES
        ('insert_ms_' || right(tab, 1), extract(epoch FROM clock_timestamp() - t0) * 1000),
        ('insert_wal_' || right(tab, 1), pg_current_wal_insert_lsn() - l0);
END
$$;
CHECKPOINT;
SELECT bench.insert_into('bench.tp_n', :n, :ids, :heavy);
CHECKPOINT;
SELECT bench.insert_into('bench.tp_b', :n, :ids, :heavy);
CHECKPOINT;
SELECT bench.insert_into('bench.tp_t', :n, :ids, :heavy);
INSERT INTO bench.result VALUES ('insert_rows', :n);

/*
 * Steady state: an index grown by inserts alone, from an empty table (every
 * key's list made of segments started by inserts), 4 x :n rows each.
 */
CREATE TABLE bench.grow_n (LIKE bench.tp_b);
CREATE TABLE bench.grow_b (LIKE bench.tp_b);
CREATE INDEX grow_b_idx ON bench.grow_b (identity_id, ts);
CREATE TABLE bench.grow_t (LIKE bench.tp_b);
CREATE INDEX grow_t_idx ON bench.grow_t USING timeline (identity_id, ts);
CREATE FUNCTION bench.grow(tab text, n int, ids int, heavy int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    l0 pg_lsn;
BEGIN
    PERFORM setseed(0.3);
    l0 := pg_current_wal_insert_lsn();
    t0 := clock_timestamp();
    EXECUTE format($q$
        INSERT INTO %s
        SELECT CASE WHEN g %% 5 < 2 THEN 1 + (random() * (%s - 1))::bigint
                    ELSE %s + 1 + (random() * (%s - %s - 1))::bigint END,
               timestamptz '2025-01-01 00:00+00' + g * interval '6 seconds', 'web', 'page_view'
          FROM generate_series(1, %s) g$q$, tab, heavy, heavy, ids, heavy, n);
    INSERT INTO bench.result VALUES
        ('grow_ms_' || right(tab, 1), extract(epoch FROM clock_timestamp() - t0) * 1000),
        ('grow_wal_' || right(tab, 1), pg_current_wal_insert_lsn() - l0);
END
$$;
CHECKPOINT;
SELECT bench.grow('bench.grow_n', 4 * :n, :ids, :heavy);
CHECKPOINT;
SELECT bench.grow('bench.grow_b', 4 * :n, :ids, :heavy);
CHECKPOINT;
SELECT bench.grow('bench.grow_t', 4 * :n, :ids, :heavy);
INSERT INTO bench.result VALUES
    ('grow_rows', 4 * :n),
    ('grow_size_b', pg_relation_size('bench.grow_b_idx')),
    ('grow_size_t', pg_relation_size('bench.grow_t_idx'));
ANALYZE bench.tp_b;
ANALYZE bench.tp_t;
SELECT metric, round(value::numeric, 1) AS value FROM bench.result WHERE metric LIKE 'insert%' OR metric LIKE 'grow%' ORDER BY metric;
