--
-- omni.touchpoint_layout: the layout CREATE EXTENSION gives omni.touchpoint.
-- This database has the default, a plain table; the partitioned layout is
-- tested by test/t/021_partitioned.pl (one server) and
-- test/t/020_scaleout.pl (postgres_fdw shards).
--
-- Until the library is loaded in a session the setting is an unchecked
-- placeholder (CREATE EXTENSION checks it itself, see 021_partitioned.pl).
LOAD 'omnichannel';
SHOW omni.touchpoint_layout;
SELECT relkind FROM pg_class WHERE oid = 'omni.touchpoint'::regclass;
-- only the two layouts
SET omni.touchpoint_layout = 'sharded';
SET omni.touchpoint_layout = '';
SET omni.touchpoint_layout = 'Partitioned';
SELECT set_config('omni.touchpoint_layout', repeat('x', 300), false);
SET omni.touchpoint_layout = 'partitioned';
SHOW omni.touchpoint_layout;
-- read by CREATE EXTENSION only: the installed table stays as it is
SELECT relkind FROM pg_class WHERE oid = 'omni.touchpoint'::regclass;
RESET omni.touchpoint_layout;

--
-- The trigger on a partition, as in the partitioned layout: a partition was
-- chosen by the customer_id given, so a missing or wrong one is an error
-- instead of being corrected, and the channel (which has no foreign key
-- there) must exist.  Ids vary between runs: the messages show them as N.
--
CREATE TABLE tl_part (LIKE omni.touchpoint INCLUDING DEFAULTS) PARTITION BY HASH (customer_id);
CREATE TABLE tl_part0 PARTITION OF tl_part FOR VALUES WITH (MODULUS 1, REMAINDER 0);
CREATE TRIGGER tl_customer BEFORE INSERT OR UPDATE OF identity_id, customer_id, channel ON tl_part
    FOR EACH ROW EXECUTE FUNCTION omni.touchpoint_customer();
SELECT omni.touch('email', 'layout.a@test.example', 'web', 'page_view', '2026-02-01') > 0 AS touched;
SELECT omni.touch('email', 'layout.b@test.example', 'web', 'page_view', '2026-02-01') > 0 AS touched;
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END
$$;
SELECT pg_temp.try(format(
    'INSERT INTO tl_part (identity_id, ts, channel, event) SELECT identity_id, %L, %L, %L FROM omni.identity WHERE value = %L',
    '2026-02-02', 'web', 'x', 'layout.a@test.example')) AS missing_customer;
SELECT pg_temp.try(format(
    'INSERT INTO tl_part (identity_id, customer_id, ts, channel, event) SELECT a.identity_id, b.customer_id, %L, %L, %L '
    'FROM omni.identity a, omni.identity b WHERE a.value = %L AND b.value = %L',
    '2026-02-02', 'web', 'x', 'layout.a@test.example', 'layout.b@test.example')) AS wrong_customer;
INSERT INTO tl_part (identity_id, customer_id, ts, channel, event)
SELECT identity_id, customer_id, '2026-02-02', 'fax', 'x' FROM omni.identity WHERE value = 'layout.a@test.example';
INSERT INTO tl_part (identity_id, customer_id, ts, channel, event)
SELECT identity_id, customer_id, '2026-02-02', 'email', 'x' FROM omni.identity WHERE value = 'layout.a@test.example';
UPDATE tl_part SET channel = 'fax';
UPDATE tl_part SET channel = 'sms';
-- the row kept its customer, the identifier's
SELECT t.channel, t.customer_id = i.customer_id AS same_customer
  FROM tl_part t JOIN omni.identity i USING (identity_id);
DROP TABLE tl_part;

SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
