/* The ratios: timeline / B-tree (lower is better for all of them). */
CREATE FUNCTION bench.r(m text) RETURNS float8 LANGUAGE sql AS
    $$ SELECT value FROM bench.result WHERE metric = m $$;
\echo '== timeline index vs B-tree on (identity_id, ts)'
SELECT * FROM (VALUES
  ('index size (MB)', round((bench.r('size_b') / 1048576)::numeric, 1), round((bench.r('size_t') / 1048576)::numeric, 1),
       round((bench.r('size_t') / bench.r('size_b'))::numeric, 3), '<= 0.4'),
  ('index bytes per row at build', round((bench.r('size_b') / bench.r('rows_built'))::numeric, 1),
       round((bench.r('size_t') / bench.r('rows_built'))::numeric, 1),
       round((bench.r('size_t') / bench.r('size_b'))::numeric, 3), ''),
  ('build time (ms)', round(bench.r('build_ms_b')::numeric), round(bench.r('build_ms_t')::numeric),
       round((bench.r('build_ms_t') / bench.r('build_ms_b'))::numeric, 3), '<= 1.5'),
  ('insert: index cost per row (us)',
       round(((bench.r('insert_ms_b') - bench.r('insert_ms_n')) * 1000 / bench.r('insert_rows'))::numeric, 2),
       round(((bench.r('insert_ms_t') - bench.r('insert_ms_n')) * 1000 / bench.r('insert_rows'))::numeric, 2),
       round(((bench.r('insert_ms_t') - bench.r('insert_ms_n')) / nullif(bench.r('insert_ms_b') - bench.r('insert_ms_n'), 0))::numeric, 3), '<= 1.5'),
  ('insert: total time per row (us)',
       round((bench.r('insert_ms_b') * 1000 / bench.r('insert_rows'))::numeric, 2),
       round((bench.r('insert_ms_t') * 1000 / bench.r('insert_rows'))::numeric, 2),
       round((bench.r('insert_ms_t') / bench.r('insert_ms_b'))::numeric, 3), ''),
  ('insert: index WAL bytes per row',
       round(((bench.r('insert_wal_b') - bench.r('insert_wal_n')) / bench.r('insert_rows'))::numeric, 1),
       round(((bench.r('insert_wal_t') - bench.r('insert_wal_n')) / bench.r('insert_rows'))::numeric, 1),
       round(((bench.r('insert_wal_t') - bench.r('insert_wal_n')) / nullif(bench.r('insert_wal_b') - bench.r('insert_wal_n'), 0))::numeric, 3), '<= 1.0'),
  ('last 50 of one identity (ms)', round(bench.r('latency_one_b')::numeric, 3), round(bench.r('latency_one_t')::numeric, 3),
       round((bench.r('latency_one_t') / bench.r('latency_one_b'))::numeric, 3), '~ 1 (parity)'),
  ('20 light identities, = ANY (ms)', round(bench.r('latency_light_b')::numeric, 3), round(bench.r('latency_light_t')::numeric, 3),
       round((bench.r('latency_light_t') / bench.r('latency_light_b'))::numeric, 3), '<= 0.25 (4x)'),
  ('20 light, vs UNION ALL rewrite (ms)', round(bench.r('latency_light_u')::numeric, 3), round(bench.r('latency_light_t')::numeric, 3),
       round((bench.r('latency_light_t') / bench.r('latency_light_u'))::numeric, 3), '<= 1'),
  ('20 heavy identities, = ANY (ms)', round(bench.r('latency_heavy_b')::numeric, 3), round(bench.r('latency_heavy_t')::numeric, 3),
       round((bench.r('latency_heavy_t') / bench.r('latency_heavy_b'))::numeric, 3), '<= 0.02 (50x)'),
  ('20 heavy, vs UNION ALL rewrite (ms)', round(bench.r('latency_heavy_u')::numeric, 3), round(bench.r('latency_heavy_t')::numeric, 3),
       round((bench.r('latency_heavy_t') / bench.r('latency_heavy_u'))::numeric, 3), '<= 1')
) AS r(measure, btree, timeline, ratio, target);
