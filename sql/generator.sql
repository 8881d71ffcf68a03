-- The test data generator: deterministic, scalable, and strict about its parameters.
\set ECHO none
\i test/data/generate.sql
\set ECHO all
SELECT * FROM gen.generate(seed => 7, customers => 200, touchpoints_per_customer => 20) ORDER BY 1;
SELECT md5(string_agg(t::text, '|' ORDER BY touch_no)) AS touches_digest FROM gen.touch t \gset first_
SELECT * FROM gen.generate(seed => 7, customers => 200, touchpoints_per_customer => 20) ORDER BY 1;
SELECT md5(string_agg(t::text, '|' ORDER BY touch_no)) = :'first_touches_digest' AS same_seed_same_data FROM gen.touch t;
SELECT count(*) > 0 AS other_seed_differs FROM gen.generate(seed => 8, customers => 200, touchpoints_per_customer => 20);
SELECT md5(string_agg(t::text, '|' ORDER BY touch_no)) <> :'first_touches_digest' AS other_seed_other_data FROM gen.touch t;

-- What the data must contain to exercise the extension.
SELECT * FROM gen.generate(seed => 7, customers => 300, touchpoints_per_customer => 30) WHERE false;
SELECT count(DISTINCT channel) >= 9 AS nine_channels,
       bool_or(event = 'purchase') AS purchases,
       bool_or(campaign IS NOT NULL) AS campaigns,
       bool_or(topic IS NOT NULL) AS products
  FROM gen.touch;
SELECT kind, count(DISTINCT person_id) > 0 AS present
  FROM gen.identifier GROUP BY kind ORDER BY kind;
SELECT bool_or(value <> lower(btrim(value))) AS emails_in_mixed_case,
       bool_or(value ~ '\+[a-z]+@') AS plus_tags,
       bool_or(value LIKE '%.family%@gmail.com') AS shared_family_address,
       bool_or(value = 'test@test.com') AS placeholder_address
  FROM gen.identifier WHERE kind = 'email';
SELECT bool_or(value LIKE '+%') AS international_phones, bool_or(value LIKE '0%' OR value LIKE '(%') AS national_phones
  FROM gen.identifier WHERE kind = 'phone';
-- cookies churn: most people hold several
SELECT avg(n) > 2 AS cookies_churn FROM (SELECT count(*) AS n FROM gen.identifier WHERE kind = 'cookie' GROUP BY person_id) c;
-- sessions with gaps: within a person, steps minutes apart and sessions days apart
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) < interval '10 minutes' AS short_gaps_within_sessions,
       max(gap) > interval '1 day' AS long_gaps_between_sessions
  FROM (SELECT ts - lag(ts) OVER (PARTITION BY person_id ORDER BY ts) AS gap FROM gen.touch) g;
SELECT count(*) > 0 AS outbound_messages, count(DISTINCT channel) AS outbound_channels FROM gen.outbound;

-- Bad parameters.
SELECT * FROM gen.generate(seed => 1, customers => 0);
SELECT * FROM gen.generate(seed => 1, customers => 20000000);
SELECT * FROM gen.generate(seed => 1, customers => 10, touchpoints_per_customer => 0);
SELECT * FROM gen.generate(seed => NULL, customers => 10);

-- The loader puts the data into the extension's tables.
SELECT * FROM gen.generate(seed => 7, customers => 100, touchpoints_per_customer => 10) WHERE false;
\set ECHO none
SET client_min_messages = warning;
\i test/data/load.sql
RESET client_min_messages;
\set ECHO all
-- (through identity resolution: pairs staged, omni.resolve_all(), touchpoints on the normalized identities)
SELECT (SELECT count(*) FROM omni.customer WHERE merged_into IS NULL) AS live_customers,
       (SELECT count(*) FROM omni.identity) AS identities,
       (SELECT count(*) FROM omni.identity_link) AS links,
       (SELECT count(*) FROM omni.link_staging) AS refused_staged_rows,
       (SELECT count(*) FROM omni.touchpoint) = (SELECT count(*) FROM gen.touch t JOIN gen.person p USING (person_id)
                                                 WHERE omni.try_normalize(t.kind, t.value, p.country) IS NOT NULL)
           AS every_valid_touch_loaded,
       (SELECT count(*) FROM omni.customer WHERE merged_into IS NULL AND time_zone IS NULL) AS customers_without_time_zone;
-- a person's own identifiers (those seen in links) end up with one customer, but for refused links
SELECT count(*) AS persons, count(*) FILTER (WHERE customers = 1) AS resolved_to_one_customer
  FROM (SELECT g.person_id, count(DISTINCT i.customer_id) AS customers
          FROM gen.identifier g JOIN gen.person p USING (person_id)
          JOIN omni.identity i ON i.kind = g.kind AND i.value = omni.try_normalize(g.kind, g.value, p.country)
         WHERE NOT g.shared AND (g.kind <> 'cookie' OR EXISTS (SELECT 1 FROM gen.link l WHERE l.value_b = g.value))
         GROUP BY g.person_id) x;
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
DROP SCHEMA gen CASCADE;
