/*
 * Load the generated data (schema gen, see generate.sql) into the extension's
 * tables.  Customers are the generator's ground truth here: each person
 * becomes one customer and each distinct raw identifier (trimmed, lower case)
 * one identity of the first person who used it.  Touchpoints and outbound
 * messages follow their identifiers.
 */
BEGIN;
INSERT INTO omni.customer (customer_id, time_zone, created_at)
SELECT person_id, time_zone, '2025-11-01 00:00:00+00' FROM gen.person ORDER BY person_id;
DO $$ BEGIN PERFORM pg_catalog.setval('omni.customer_customer_id_seq', (SELECT pg_catalog.max(customer_id) FROM omni.customer)); END $$;

INSERT INTO omni.identity (kind, value, customer_id, first_seen, last_seen)
SELECT kind, value, pg_catalog.min(person_id), '2025-11-01 00:00:00+00', '2025-11-01 00:00:00+00'
  FROM (SELECT kind, pg_catalog.lower(pg_catalog.btrim(value)) AS value, person_id FROM gen.identifier) i
 GROUP BY kind, value;

INSERT INTO omni.touchpoint (identity_id, ts, channel, event, campaign, topic, properties)
SELECT i.identity_id, t.ts, t.channel, t.event, t.campaign, t.topic, t.properties
  FROM gen.touch t
  JOIN omni.identity i ON i.kind = t.kind AND i.value = pg_catalog.lower(pg_catalog.btrim(t.value))
 ORDER BY t.touch_no;

UPDATE omni.identity i SET first_seen = s.first_ts, last_seen = s.last_ts
  FROM (SELECT identity_id, pg_catalog.min(ts) AS first_ts, pg_catalog.max(ts) AS last_ts
          FROM omni.touchpoint GROUP BY identity_id) s
 WHERE s.identity_id = i.identity_id;
COMMIT;
ANALYZE omni.customer, omni.identity, omni.touchpoint;
