/*
 * Benchmark data: :rows touchpoint-like rows in time order (one every
 * 6 seconds), over :ids identities; the first :heavy identities are heavy
 * and get 2/5 of the rows, the others share the rest (about 30 each).
 * Two identical tables: bench.tp_b gets the B-tree, bench.tp_t the
 * timeline index; bench.tp_n (empty) measures inserts with no index.
 */
CREATE EXTENSION IF NOT EXISTS omnichannel;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE TABLE bench.result (metric text PRIMARY KEY, value float8);
CREATE TABLE bench.tp_b (identity_id bigint NOT NULL, ts timestamptz NOT NULL,
                         channel text NOT NULL, event text NOT NULL);
SELECT setseed(0.42);
INSERT INTO bench.tp_b
SELECT CASE WHEN g % 5 < 2 THEN 1 + (random() * (:heavy - 1))::bigint
            ELSE :heavy + 1 + (random() * (:ids - :heavy - 1))::bigint END,
       timestamptz '2025-01-01 00:00+00' + g * interval '6 seconds',
       (ARRAY['web','app','email','sms','push','store','call_center','chat','social'])[1 + g % 9],
       (ARRAY['page_view','product_view','add_to_cart','purchase','email_open','click'])[1 + (g / 9) % 6]
  FROM generate_series(1, :rows) g;
CREATE TABLE bench.tp_t AS SELECT * FROM bench.tp_b;
CREATE TABLE bench.tp_n (LIKE bench.tp_b);
VACUUM ANALYZE bench.tp_b;
VACUUM ANALYZE bench.tp_t;
SELECT count(*) AS rows, count(DISTINCT identity_id) AS identities,
       pg_size_pretty(pg_relation_size('bench.tp_b')) AS table_size
  FROM bench.tp_b;

-- Same rows from both tables for a few fixed identity sets?
CREATE FUNCTION bench.check_same() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    q text;
    a text;
    b text;
BEGIN
    FOREACH q IN ARRAY ARRAY[
        'identity_id = ANY (ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]::bigint[])',
        'identity_id = ANY (ARRAY[1001,2002,3003,4004,5005,6006,7007,8008,9009,10010]::bigint[])',
        'identity_id = 5']
    LOOP
        EXECUTE format('SELECT string_agg(x::text, '','') FROM (SELECT * FROM bench.tp_b WHERE %s ORDER BY ts DESC LIMIT 50) x', q) INTO a;
        EXECUTE format('SELECT string_agg(x::text, '','') FROM (SELECT * FROM bench.tp_t WHERE %s ORDER BY ts DESC LIMIT 50) x', q) INTO b;
        IF a IS DISTINCT FROM b THEN
            RAISE EXCEPTION 'the timeline index and the B-tree disagree on %', q;
        END IF;
    END LOOP;
    RETURN 'the timeline index and the B-tree give the same answers';
END
$$;
