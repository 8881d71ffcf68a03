-- The timeline index access method: every scan kind compared row for row
-- with the same query answered by a sequential scan, on data with
-- duplicates, equal times, NULLs, negative and huge keys, rows inserted
-- after the build (in and out of time order), deletes and VACUUM.
CREATE SCHEMA tl_test;

-- compare(q): run q by sequential scan, then by the timeline index only
-- (plain index scan, or bitmap scan with bitmap => true), and report the
-- row count, whether the plan used the timeline index, which sort it needed
-- on top (none, an incremental sort of ties, or a full sort), and whether
-- both runs gave the same rows in the same order.
CREATE FUNCTION tl_test.compare(q text, bitmap boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    seq text[];
    idx text[];
    plan text := '';
    line text;
BEGIN
    PERFORM set_config('enable_seqscan', 'on', true);
    PERFORM set_config('enable_indexscan', 'off', true);
    PERFORM set_config('enable_bitmapscan', 'off', true);
    EXECUTE 'SELECT array_agg(r::text) FROM (' || q || ') r' INTO seq;
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_indexscan', CASE WHEN bitmap THEN 'off' ELSE 'on' END, true);
    PERFORM set_config('enable_bitmapscan', CASE WHEN bitmap THEN 'on' ELSE 'off' END, true);
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        plan := plan || line || E'\n';
    END LOOP;
    EXECUTE 'SELECT array_agg(r::text) FROM (' || q || ') r' INTO idx;
    RETURN format('rows=%s timeline=%s sort=%s same=%s',
                  coalesce(cardinality(seq), 0),
                  plan ~ 'using ev_tl|on ev_tl',
                  CASE WHEN plan ~ '(^|\n)\s*(->\s+)?Sort\s*(\n|$)' THEN 'full'
                       WHEN plan ~ 'Incremental Sort' THEN 'incremental'
                       ELSE 'none' END,
                  seq IS NOT DISTINCT FROM idx);
END
$$;

CREATE TABLE tl_test.ev (id bigint, ts timestamptz, v int);
-- 200 keys, three rows per minute (equal times across keys)
INSERT INTO tl_test.ev
SELECT (g * 7919) % 200, timestamptz '2026-01-01 00:00+00' + (g / 3) * interval '1 minute', g
  FROM generate_series(1, 30000) g;
-- a heavy key, with runs of equal times, and exact duplicates of (key, time)
INSERT INTO tl_test.ev
SELECT 1000, timestamptz '2026-01-01 00:00+00' + (g / 4) * interval '1 second', 100000 + g
  FROM generate_series(1, 6000) g;
INSERT INTO tl_test.ev SELECT id, ts, v + 500000 FROM tl_test.ev WHERE id = 7 AND (v / 200) % 2 = 0;
-- NULL times and NULL keys, negative and large keys
INSERT INTO tl_test.ev VALUES
    (7, NULL, -1), (7, NULL, -2), (1000, NULL, -3),
    (NULL, '2026-01-02 00:00+00', -4), (NULL, NULL, -5),
    (-5, '2026-01-03 00:00+00', -6), (-5, '2026-01-01 00:00+00', -7),
    (-9223372036854775808, '2026-01-01 00:00+00', -8),
    (9223372036854775807, 'infinity', -9), (9223372036854775807, '-infinity', -10);

CREATE INDEX ev_tl ON tl_test.ev USING timeline (id, ts);
SELECT * FROM omni.timeline_check('tl_test.ev_tl');

-- Rows arriving after the build: in time order, late (older than what the
-- key holds), for new keys that grow the directory, and a long run into
-- one key that chains many segments.
INSERT INTO tl_test.ev
SELECT (g * 7919) % 200, timestamptz '2026-02-01 00:00+00' + (g / 3) * interval '1 minute', 200000 + g
  FROM generate_series(1, 6000) g;
INSERT INTO tl_test.ev
SELECT (g * 13) % 200, timestamptz '2025-12-01 00:00+00' + g * interval '1 hour', 300000 + g
  FROM generate_series(1, 400) g;
INSERT INTO tl_test.ev VALUES
    (35184372088832, '2026-01-05 00:00+00', -11), (-35184372088832, '2026-01-05 00:00+00', -12),
    (4611686018427387904, '2026-01-05 00:00+00', -13), (7, NULL, -14);
INSERT INTO tl_test.ev
SELECT 1000, timestamptz '2026-03-01 00:00+00' + (g % 1500) * interval '1 second', 400000 + g
  FROM generate_series(1, 4000) g;
SELECT * FROM omni.timeline_check('tl_test.ev_tl');
ANALYZE tl_test.ev;

-- The merged newest-first scan: no Sort, and it stops at the LIMIT.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT * FROM tl_test.ev WHERE id = ANY ('{3,7,1000}') ORDER BY ts DESC LIMIT 50;
EXPLAIN (COSTS OFF)
SELECT * FROM tl_test.ev WHERE id IN (3, 7, 1000) AND ts < '2026-01-10 00:00+00' ORDER BY ts LIMIT 50;
SELECT * FROM tl_test.ev WHERE id = ANY ('{3,7,1000}') ORDER BY ts DESC LIMIT 8;
SELECT * FROM tl_test.ev WHERE id = ANY ('{3,-5,1000}') AND ts < '2026-01-03 00:00+00' ORDER BY ts DESC LIMIT 4;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- Row for row against a sequential scan (ties in time ordered by v, which
-- runs as an Incremental Sort above the index order, so a wrong index
-- order would show as a difference).
SELECT q, tl_test.compare(q) FROM (VALUES
    ('SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY ts DESC, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY ts, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = 1000 ORDER BY ts DESC, v LIMIT 500'),
    ('SELECT * FROM tl_test.ev WHERE id = 1000 ORDER BY ts, v LIMIT 500'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') ORDER BY ts DESC, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') ORDER BY ts, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{7,7,3,3,3,7}'') ORDER BY ts DESC, v LIMIT 100'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{7,424242,-77}'') ORDER BY ts DESC, v LIMIT 100'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{NULL,7}'') ORDER BY ts DESC, v LIMIT 20'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{}'') ORDER BY ts DESC, v LIMIT 20'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{NULL}'') ORDER BY ts DESC, v LIMIT 20'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{424242}'') ORDER BY ts DESC, v LIMIT 20'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}'') ORDER BY ts DESC, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}'') ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{-5,-9223372036854775808,9223372036854775807,35184372088832,-35184372088832,4611686018427387904}'') ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{-5,-9223372036854775808,9223372036854775807,35184372088832,-35184372088832,4611686018427387904}'') ORDER BY ts, v'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') AND ts < ''2026-01-10 00:00+00'' ORDER BY ts DESC, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') AND ts <= ''2026-01-01 06:00+00'' ORDER BY ts DESC, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') AND ts > ''2026-02-01 00:00+00'' ORDER BY ts, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') AND ts >= ''2026-01-01 00:10+00'' ORDER BY ts, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') AND ts BETWEEN ''2026-01-01 00:05+00'' AND ''2026-01-01 02:00+00'' ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') AND ts = ''2026-01-01 00:10:00+00'' ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = 1000 AND ts > ''2026-01-01 00:10+00'' AND ts < ''2026-01-01 00:20+00'' ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = 1000 AND ts > ''2026-03-01 00:00+00'' AND ts < ''2026-01-01 00:00+00'' ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = 7 AND ts < ''infinity'' ORDER BY ts DESC, v LIMIT 5'),
    ('SELECT * FROM tl_test.ev WHERE id = 9223372036854775807 AND ts <= ''infinity'' ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = 9223372036854775807 AND ts > ''-infinity'' ORDER BY ts DESC, v'),
    ('SELECT * FROM tl_test.ev WHERE id = 7 AND id = ANY (''{3,7}'') ORDER BY ts DESC, v LIMIT 10'),
    ('SELECT * FROM tl_test.ev WHERE 7 = id AND ''2026-01-10 00:00+00'' > ts ORDER BY ts DESC, v LIMIT 10'),
    ('SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY v'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') AND ts = ANY (''{2026-01-01 00:10:00+00,2026-01-01 00:11:00+00}'') ORDER BY v')
) AS t(q);

-- The index order alone, with no sort above it: the sequence of times.
SELECT q, tl_test.compare(q) FROM (VALUES
    ('SELECT ts FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') ORDER BY ts DESC LIMIT 300'),
    ('SELECT ts FROM tl_test.ev WHERE id = ANY (''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}'') ORDER BY ts DESC'),
    ('SELECT ts FROM tl_test.ev WHERE id = ANY (''{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}'') ORDER BY ts'),
    ('SELECT ts FROM tl_test.ev WHERE id = 1000 AND ts < ''2026-03-01 00:10+00'' ORDER BY ts DESC LIMIT 1000')
) AS t(q);

-- The bitmap scan, against a sequential scan.
SELECT q, tl_test.compare(q, bitmap => true) FROM (VALUES
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000,7,NULL,424242}'') ORDER BY v'),
    ('SELECT * FROM tl_test.ev WHERE id = 1000 AND ts >= ''2026-01-01 00:10+00'' ORDER BY v'),
    ('SELECT count(*) FROM tl_test.ev WHERE id = ANY (''{1,2,3,4,5}'')')
) AS t(q);

-- NULL times: first when newest first (ORDER BY ts DESC puts NULLs first),
-- last when oldest first; NULLS LAST on a descending order needs a sort.
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY ts DESC LIMIT 4;
SELECT * FROM tl_test.ev WHERE id = 7 AND ts > '2026-01-31 00:00+00' ORDER BY ts DESC LIMIT 2;
SELECT v, ts FROM (SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY ts LIMIT 100000) s ORDER BY ts DESC NULLS FIRST, v LIMIT 4;
EXPLAIN (COSTS OFF) SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY ts DESC NULLS LAST LIMIT 4;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT tl_test.compare('SELECT * FROM tl_test.ev WHERE id = 7 ORDER BY ts DESC NULLS LAST, v LIMIT 4');

-- Parameters: a generic plan with the array as a parameter, a sub-select
-- array (as omni.timeline uses), and an index scan rescanned per outer row.
SET plan_cache_mode = force_generic_plan;
PREPARE last_of(bigint[], int) AS
    SELECT v FROM tl_test.ev WHERE id = ANY ($1) ORDER BY ts DESC, v LIMIT $2;
EXPLAIN (COSTS OFF) EXECUTE last_of('{3,7}', 3);
EXECUTE last_of('{3,7}', 3);
EXECUTE last_of('{1000}', 2);
EXECUTE last_of('{}', 2);
DEALLOCATE last_of;
RESET plan_cache_mode;
SELECT tl_test.compare('SELECT * FROM tl_test.ev WHERE id = ANY (ARRAY(SELECT g FROM generate_series(1, 40) g WHERE g % 3 = 0)) ORDER BY ts DESC, v LIMIT 30');
SELECT tl_test.compare('SELECT k, e.v FROM unnest(''{3,7,1000,424242}''::bigint[]) k, LATERAL (SELECT v FROM tl_test.ev WHERE id = k ORDER BY ts DESC, v LIMIT 3) e');

-- A scrollable cursor: the index cannot go backward, so the plan
-- materializes, and fetching back and forth gives the same rows.
BEGIN;
SET LOCAL enable_seqscan = off;
DECLARE c SCROLL CURSOR FOR SELECT v FROM tl_test.ev WHERE id = ANY ('{3,1000}') ORDER BY ts DESC LIMIT 5;
FETCH 3 FROM c;
FETCH BACKWARD 2 FROM c;
FETCH ALL FROM c;
COMMIT;

-- Deletes and VACUUM: the dead entries go, the rest still answer the same,
-- and the freed space is reused by later inserts.
DELETE FROM tl_test.ev WHERE v % 3 = 0 OR id = 1000;
VACUUM tl_test.ev;
SELECT * FROM omni.timeline_check('tl_test.ev_tl');
SELECT q, tl_test.compare(q) FROM (VALUES
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,1000}'') ORDER BY ts DESC, v LIMIT 50'),
    ('SELECT * FROM tl_test.ev WHERE id = ANY (''{1,2,3,4,5,6,7,8,9,10}'') ORDER BY ts, v'),
    ('SELECT * FROM tl_test.ev WHERE id = 1000 ORDER BY ts DESC, v')
) AS t(q);
SELECT pg_relation_size('tl_test.ev_tl') AS size_after_vacuum \gset
INSERT INTO tl_test.ev
SELECT (g * 7919) % 200, timestamptz '2026-04-01 00:00+00' + (g / 3) * interval '1 minute', 600000 + g
  FROM generate_series(1, 3000) g;
SELECT pg_relation_size('tl_test.ev_tl') <= :size_after_vacuum AS freed_space_reused;
SELECT * FROM omni.timeline_check('tl_test.ev_tl');
SELECT tl_test.compare('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,11}'') ORDER BY ts DESC, v LIMIT 50');
-- VACUUM with nothing to remove, and a REINDEX give the same answers (the
-- REINDEX with too little memory to sort in memory: through a tuplesort).
VACUUM tl_test.ev;
SET maintenance_work_mem = '1MB';
REINDEX INDEX tl_test.ev_tl;
RESET maintenance_work_mem;
SELECT * FROM omni.timeline_check('tl_test.ev_tl');
SELECT tl_test.compare('SELECT * FROM tl_test.ev WHERE id = ANY (''{3,7,11}'') ORDER BY ts DESC, v LIMIT 50');

-- integer keys and timestamp times, and an unlogged table (init fork).
CREATE UNLOGGED TABLE tl_test.small (k int, at timestamp, n int);
CREATE INDEX small_tl ON tl_test.small USING timeline (k, at);
INSERT INTO tl_test.small SELECT g % 5, timestamp '2026-01-01' + g * interval '1 hour', g FROM generate_series(1, 100) g;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT n FROM tl_test.small WHERE k IN (1, 2) ORDER BY at DESC LIMIT 3;
SELECT n FROM tl_test.small WHERE k IN (1, 2) ORDER BY at DESC LIMIT 3;
SELECT n FROM tl_test.small WHERE k = 4 AND at < '2026-01-02' ORDER BY at LIMIT 3;
RESET enable_seqscan;
SELECT * FROM omni.timeline_check('tl_test.small_tl');

-- A partitioned table: each partition's index offers the time order, and
-- an ordered Append of the partitions uses them.
CREATE TABLE tl_test.parted (id bigint, ts timestamptz, v int) PARTITION BY RANGE (ts);
CREATE TABLE tl_test.parted_1 PARTITION OF tl_test.parted FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2026-02-01 00:00+00');
CREATE TABLE tl_test.parted_2 PARTITION OF tl_test.parted FOR VALUES FROM ('2026-02-01 00:00+00') TO ('2026-03-01 00:00+00');
INSERT INTO tl_test.parted SELECT g % 10, timestamptz '2026-01-01 00:00+00' + g * interval '10 minutes', g
  FROM generate_series(1, 8000) g;
CREATE INDEX parted_tl ON tl_test.parted USING timeline (id, ts);
ANALYZE tl_test.parted;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT v FROM tl_test.parted WHERE id IN (3, 4) ORDER BY ts DESC LIMIT 5;
SELECT v FROM tl_test.parted WHERE id IN (3, 4) ORDER BY ts DESC LIMIT 5;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT v FROM tl_test.parted WHERE id IN (3, 4) ORDER BY ts DESC LIMIT 5;

-- The planner chooses by cost between the timeline index and a B-tree on
-- the same columns: the timeline index to merge several keys, the B-tree
-- for one key (it is in time order already), neither without a key.
CREATE TABLE tl_test.twoidx (id bigint, ts timestamptz, v int);
INSERT INTO tl_test.twoidx SELECT g % 500, timestamptz '2026-01-01 00:00+00' + g * interval '1 minute', g
  FROM generate_series(1, 25000) g;
CREATE INDEX twoidx_btree ON tl_test.twoidx (id, ts);
CREATE INDEX twoidx_tl ON tl_test.twoidx USING timeline (id, ts);
ANALYZE tl_test.twoidx;
EXPLAIN (COSTS OFF) SELECT * FROM tl_test.twoidx WHERE id = ANY ('{1,2,3,4,5,6,7,8,9,10}') ORDER BY ts DESC LIMIT 10;
EXPLAIN (COSTS OFF) SELECT * FROM tl_test.twoidx WHERE id = 7 ORDER BY ts DESC LIMIT 10;
EXPLAIN (COSTS OFF) SELECT count(*) FROM tl_test.twoidx WHERE ts > '2026-01-10 00:00+00';

-- Operator classes pass the validator.
SELECT opcname, amvalidate(oid) FROM pg_opclass
 WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'timeline') ORDER BY opcname;

-- Bad definitions and bad calls.
CREATE TABLE tl_test.bad (a text, b timestamptz, c bigint, d date);
CREATE INDEX ON tl_test.bad USING timeline (a, b);
CREATE INDEX ON tl_test.bad USING timeline (b, c);
CREATE INDEX ON tl_test.bad USING timeline (c, c);
CREATE INDEX ON tl_test.bad USING timeline (c);
CREATE INDEX ON tl_test.bad USING timeline (c, b, b);
CREATE INDEX ON tl_test.bad USING timeline (c, b) WITH (fillfactor = 50);
CREATE INDEX ON tl_test.bad USING timeline (c, b) INCLUDE (a);
CREATE UNIQUE INDEX ON tl_test.bad USING timeline (c, b);
SELECT * FROM omni.timeline_check('tl_test.bad');
CREATE INDEX bad_btree ON tl_test.bad (c, b);
SELECT * FROM omni.timeline_check('tl_test.bad_btree');

-- The index of the touchpoints and omni.timeline(): one merged scan over
-- all identities of the customer, no Sort, stopping after n rows.
INSERT INTO omni.customer (customer_id, created_at) VALUES (-501, '2026-01-01 00:00+00'), (-502, '2026-01-01 00:00+00');
INSERT INTO omni.identity (identity_id, kind, value, customer_id) VALUES
    (-601, 'email', 'tl-a@example.test', -501), (-602, 'cookie', 'tl-ck-1', -501),
    (-603, 'device', 'tl-dev-1', -501), (-604, 'cookie', 'tl-ck-2', -502);
INSERT INTO omni.touchpoint (identity_id, ts, channel, event)
SELECT -601 - (g % 4), timestamptz '2026-05-01 00:00+00' + g * interval '7 minutes',
       (ARRAY['web', 'email', 'app', 'store'])[1 + g % 4], 'event_' || g
  FROM generate_series(1, 400) g;
-- (with statistics; and 400 rows are too few for any index to beat a
-- sequential scan)
ANALYZE omni.touchpoint;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM omni.timeline(-501, 5);
RESET enable_seqscan;
SELECT identity_id, ts, channel, event FROM omni.timeline(-501, 5);
SELECT identity_id, ts, channel, event FROM omni.timeline(-501, 3, '2026-05-01 01:00+00');
SELECT count(*) FROM omni.timeline(-501);
SELECT count(*) FROM omni.timeline(-999999);
-- NULL arguments: no customer or no time bound match nothing; a NULL n
-- means no limit; a negative n is refused.
SELECT count(*) FROM omni.timeline(NULL);
SELECT count(*) FROM omni.timeline(-501, 10, NULL);
SELECT count(*) FROM omni.timeline(-501, NULL);
SELECT count(*) FROM omni.timeline(-501, -1);
SELECT (SELECT array_agg(touchpoint_id) FROM omni.timeline(-501, 60)) =
       (SELECT array_agg(touchpoint_id) FROM (SELECT t.touchpoint_id FROM omni.touchpoint t
          JOIN omni.identity i USING (identity_id) WHERE i.customer_id = -501
         ORDER BY t.ts DESC LIMIT 60) s) AS timeline_matches_join;
SELECT keys >= 4, entries >= 400, live_rows >= 400 FROM omni.timeline_check('omni.touchpoint_timeline_idx');
DELETE FROM omni.touchpoint WHERE identity_id IN (-601, -602, -603, -604);
DELETE FROM omni.identity WHERE identity_id IN (-601, -602, -603, -604);
DELETE FROM omni.customer WHERE customer_id IN (-501, -502);

DROP SCHEMA tl_test CASCADE;
