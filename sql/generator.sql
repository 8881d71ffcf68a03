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
\i test/data/load.sql
\set ECHO all
SELECT (SELECT count(*) FROM omni.customer) = (SELECT count(*) FROM gen.person) AS one_customer_per_person,
       (SELECT count(*) FROM omni.touchpoint) = (SELECT count(*) FROM gen.touch) AS every_touch_loaded;
TRUNCATE omni.touchpoint, omni.identity, omni.customer CASCADE;
DROP SCHEMA gen CASCADE;
