/* Build both indexes on identical tables; record time and size. */
SET maintenance_work_mem = '512MB';
SELECT count(*) FROM bench.tp_b \g /dev/null
SELECT count(*) FROM bench.tp_t \g /dev/null
DO $$
DECLARE
    t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    CREATE INDEX tp_b_idx ON bench.tp_b (identity_id, ts);
    INSERT INTO bench.result VALUES ('build_ms_b', extract(epoch FROM clock_timestamp() - t0) * 1000);
    t0 := clock_timestamp();
    CREATE INDEX tp_t_idx ON bench.tp_t USING timeline (identity_id, ts);
    INSERT INTO bench.result VALUES ('build_ms_t', extract(epoch FROM clock_timestamp() - t0) * 1000);
    INSERT INTO bench.result VALUES
        ('size_b', pg_relation_size('bench.tp_b_idx')),
        ('size_t', pg_relation_size('bench.tp_t_idx')),
        ('rows_built', (SELECT count(*) FROM bench.tp_b));
END
$$;
SELECT metric, round(value::numeric, 1) AS value FROM bench.result ORDER BY metric;
ANALYZE bench.tp_b;
ANALYZE bench.tp_t;
SELECT * FROM omni.timeline_check('bench.tp_t_idx');
