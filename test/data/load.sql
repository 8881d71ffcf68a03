/*
 * Load the generated data (schema gen, see generate.sql) into the extension
 * through real identity resolution: every raw pair of identifiers seen
 * together, and every raw identifier on its own, goes into
 * omni.link_staging as an application would COPY it (with the region of the
 * person's country, which reads phone numbers written the national way);
 * omni.resolve_all() normalizes them, applies the rules and the blocklist
 * and builds the customers.  Rows it refuses (an impossible phone number)
 * stay in omni.link_staging with their error.  Touchpoints are then attached
 * to the normalized identities, and each customer gets the time zone of the
 * person most of its identifiers belong to.
 */
BEGIN;
-- the country of the (first) person using each raw identifier
CREATE TEMP TABLE load_region ON COMMIT DROP AS
SELECT DISTINCT ON (i.kind, i.value) i.kind, i.value, p.country
  FROM gen.identifier i JOIN gen.person p ON p.person_id = i.person_id
 ORDER BY i.kind, i.value, i.person_id;
CREATE INDEX ON load_region (kind, value);
ANALYZE load_region;

-- a phone number is read in the country of its owner
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at, region)
SELECT l.kind_a, l.value_a, l.kind_b, l.value_b, l.source, l.observed_at, COALESCE(rb.country, ra.country)
  FROM gen.link l
  LEFT JOIN load_region ra ON ra.kind = l.kind_a AND ra.value = l.value_a
  LEFT JOIN load_region rb ON rb.kind = l.kind_b AND rb.value = l.value_b AND l.kind_b = 'phone';
INSERT INTO omni.link_staging (kind_a, value_a, source, observed_at, region)
SELECT kind, value, 'import', '2025-11-01 00:00:00+00', country FROM load_region;
SET LOCAL client_min_messages = warning;   -- no progress NOTICEs (until COMMIT)
SELECT * FROM omni.resolve_all();

-- every raw spelling of an identifier in a country, with its normalized form (NULL: invalid)
CREATE TEMP TABLE load_spelling ON COMMIT DROP AS
SELECT kind, value, country, omni.try_normalize(kind, value, country) AS norm
  FROM (SELECT i.kind, i.value, p.country FROM gen.identifier i JOIN gen.person p USING (person_id)
        UNION
        SELECT t.kind, t.value, p.country FROM gen.touch t JOIN gen.person p USING (person_id)) s;
CREATE INDEX ON load_spelling (kind, value, country);
ANALYZE load_spelling;

-- customer_id: the trigger would set it, but a partitioned omni.touchpoint routes rows by it
INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event, campaign, topic, properties)
SELECT i.identity_id, i.customer_id, t.ts, t.channel, t.event, t.campaign, t.topic, t.properties
  FROM gen.touch t
  JOIN gen.person p ON p.person_id = t.person_id
  JOIN load_spelling s ON s.kind = t.kind AND s.value = t.value AND s.country = p.country
  JOIN omni.identity i ON i.kind = t.kind AND i.value = s.norm
 ORDER BY t.touch_no;

UPDATE omni.identity i SET first_seen = LEAST(i.first_seen, s.first_ts), last_seen = GREATEST(i.last_seen, s.last_ts)
  FROM (SELECT identity_id, pg_catalog.min(ts) AS first_ts, pg_catalog.max(ts) AS last_ts
          FROM omni.touchpoint GROUP BY identity_id) s
 WHERE s.identity_id = i.identity_id;

UPDATE omni.customer c SET time_zone = z.time_zone
  FROM (SELECT DISTINCT ON (i.customer_id) i.customer_id, p.time_zone
          FROM gen.identifier g
          JOIN gen.person p ON p.person_id = g.person_id
          JOIN load_spelling s ON s.kind = g.kind AND s.value = g.value AND s.country = p.country
          JOIN omni.identity i ON i.kind = g.kind AND i.value = s.norm
         WHERE NOT g.shared
         GROUP BY i.customer_id, p.time_zone
         ORDER BY i.customer_id, pg_catalog.count(*) DESC, p.time_zone) z
 WHERE z.customer_id = c.customer_id;
COMMIT;
ANALYZE omni.customer, omni.identity, omni.identity_link, omni.touchpoint;
