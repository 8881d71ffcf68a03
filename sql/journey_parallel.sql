-- Parallel aggregation gives the same journeys as a serial plan: partial
-- states from the workers are merged by the combine function, and the
-- journey is canonical whatever the order rows arrive in.
SET TimeZone = 'UTC';

-- 40k touchpoints of 300 customers, stored in an order unrelated to time.
CREATE TABLE jp_touch (customer int, ts timestamptz, channel text, event text);
INSERT INTO jp_touch
SELECT g % 300,
       '2026-01-01'::timestamptz + ((hashint4(g) & 65535) * interval '1 minute'),
       (ARRAY['web', 'app', 'email', 'sms', 'store', 'direct'])[1 + (hashint4(g * 7) & 65535) % 6],
       (ARRAY['page_view', 'product_view', 'add_to_cart', 'purchase'])[1 + (hashint4(g * 13) & 65535) % 4]
  FROM generate_series(1, 40000) g
 ORDER BY hashint4(g * 31);
ANALYZE jp_touch;

-- Serial.
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial AS
SELECT customer, omni.journey(ts, channel, event) AS j FROM jp_touch GROUP BY customer;
CREATE TEMP TABLE serial_total AS
SELECT omni.journey(ts, channel, event) AS j FROM jp_touch;
SELECT omni.markov_attribution(j, 'purchase')::text AS markov FROM serial \gset serial_
SELECT count(*) AS customers, sum(omni.length(j)) AS steps FROM serial;

-- Parallel: forced, with partial aggregation in two workers.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT customer, omni.journey(ts, channel, event) AS j FROM jp_touch GROUP BY customer;
EXPLAIN (COSTS OFF)
SELECT omni.journey(ts, channel, event) AS j FROM jp_touch;
CREATE TEMP TABLE par AS
SELECT customer, omni.journey(ts, channel, event) AS j FROM jp_touch GROUP BY customer;
RESET enable_hashagg;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT customer, omni.journey(ts, channel, event) AS j FROM jp_touch GROUP BY customer;
CREATE TEMP TABLE par_hash AS
SELECT customer, omni.journey(ts, channel, event) AS j FROM jp_touch GROUP BY customer;
RESET enable_sort;
CREATE TEMP TABLE par_total AS
SELECT omni.journey(ts, channel, event) AS j FROM jp_touch;

-- The same journeys, byte for byte.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE omni.journey_send(s.j) = omni.journey_send(p.j)) AS same_sorted_plan,
       count(*) FILTER (WHERE omni.journey_send(s.j) = omni.journey_send(h.j)) AS same_hashed_plan
  FROM serial s JOIN par p USING (customer) JOIN par_hash h USING (customer);
SELECT omni.journey_send(s.j) = omni.journey_send(p.j) AS whole_table_same, omni.length(p.j) AS steps
  FROM serial_total s, par_total p;

-- Markov attribution in parallel equals the serial result.
CREATE TABLE jp_journeys AS SELECT * FROM serial;
ANALYZE jp_journeys;
EXPLAIN (COSTS OFF)
SELECT omni.markov_attribution(j, 'purchase') FROM jp_journeys;
SELECT omni.markov_attribution(j, 'purchase')::text = :'serial_markov' AS markov_same FROM jp_journeys;

-- Funnels over parallel-built journeys equal those over serial ones.
SELECT count(*) FILTER (WHERE omni.funnel(s.j, '1 day', '{product_view,add_to_cart,purchase}')
                           = omni.funnel(p.j, '1 day', '{product_view,add_to_cart,purchase}')) AS same_funnels
  FROM serial s JOIN par p USING (customer);

-- The funnel aggregate over rows: partial states from the workers are
-- serialized, combined, and give the same levels as a serial plan and as
-- the function over the journeys.
EXPLAIN (COSTS OFF)
SELECT customer, omni.funnel(ts, channel, event, '1 hour', '{product_view,add_to_cart,purchase}') FROM jp_touch GROUP BY customer;
CREATE TEMP TABLE par_funnel AS
SELECT customer, omni.funnel(ts, channel, event, '1 hour', '{product_view,add_to_cart,purchase}') AS plain,
       omni.funnel(ts, channel, event, '30 minutes', '{page_view,web:*,add_to_cart,purchase}', '{strict_once,strict_increase}') AS once,
       omni.funnel(ts, channel, event, '3 hours', '{product_view,add_to_cart,purchase}', '{strict_order,allow_reentry}') AS strict_order
  FROM jp_touch GROUP BY customer;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT omni.funnel(ts, channel, event, '1 hour', '{product_view,add_to_cart,purchase}') FROM jp_touch;
SELECT omni.funnel(ts, channel, event, '1 hour', '{product_view,add_to_cart,purchase}') AS whole_table_parallel FROM jp_touch \gset
CREATE TEMP TABLE par_funnel_sorted AS
SELECT customer, omni.funnel(ts, channel, event, '1 hour', '{product_view,add_to_cart,purchase}') AS plain
  FROM jp_touch GROUP BY customer;
RESET enable_hashagg;
SET max_parallel_workers_per_gather = 0;
SELECT omni.funnel(ts, channel, event, '1 hour', '{product_view,add_to_cart,purchase}') = :whole_table_parallel AS whole_table_same
  FROM jp_touch;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE p.plain = omni.funnel(s.j, '1 hour', '{product_view,add_to_cart,purchase}')) AS same_plain,
       count(*) FILTER (WHERE p.once = omni.funnel(s.j, '30 minutes', '{page_view,web:*,add_to_cart,purchase}', '{strict_once,strict_increase}')) AS same_once,
       count(*) FILTER (WHERE p.strict_order = omni.funnel(s.j, '3 hours', '{product_view,add_to_cart,purchase}', '{strict_order,allow_reentry}')) AS same_strict_order,
       count(*) FILTER (WHERE p.plain = q.plain) AS same_sorted_plan,
       count(DISTINCT p.plain) AS distinct_levels
  FROM serial s JOIN par_funnel p USING (customer) JOIN par_funnel_sorted q USING (customer);
SELECT count(*) FILTER (WHERE p.plain = r.plain AND p.once = r.once AND p.strict_order = r.strict_order) AS same_as_serial_aggregate
  FROM par_funnel p
  JOIN (SELECT customer, omni.funnel(ts, channel, event, '1 hour', '{product_view,add_to_cart,purchase}') AS plain,
               omni.funnel(ts, channel, event, '30 minutes', '{page_view,web:*,add_to_cart,purchase}', '{strict_once,strict_increase}') AS once,
               omni.funnel(ts, channel, event, '3 hours', '{product_view,add_to_cart,purchase}', '{strict_order,allow_reentry}') AS strict_order
          FROM jp_touch GROUP BY customer) r USING (customer);

-- omni.event_funnel fed by an index on (customer, event, ts), in parallel:
-- a customer's rows come by event, then by time, and may be split between
-- the workers; the combined states give the levels of the channel form.
CREATE INDEX jp_touch_customer_event_ts ON jp_touch (customer, event, ts);
VACUUM ANALYZE jp_touch;
SET enable_hashagg = off;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET min_parallel_index_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT customer, omni.event_funnel(ts, event, '1 hour', '{product_view,add_to_cart,purchase}') FROM jp_touch GROUP BY customer;
CREATE TEMP TABLE par_event_funnel AS
SELECT customer, omni.event_funnel(ts, event, '1 hour', '{product_view,add_to_cart,purchase}') AS plain,
       omni.event_funnel(ts, event, '3 hours', '{product_view,add_to_cart,purchase}', '{strict_order,allow_reentry}') AS strict_order
  FROM jp_touch GROUP BY customer;
RESET enable_hashagg;
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET min_parallel_index_scan_size;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE e.plain = p.plain AND e.strict_order = p.strict_order) AS same_as_channel_form,
       count(DISTINCT e.plain) AS distinct_levels
  FROM par_event_funnel e JOIN par_funnel p USING (customer);
DROP TABLE par_funnel, par_funnel_sorted, par_event_funnel;

RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE jp_touch, jp_journeys, serial, serial_total, par, par_hash, par_total;
RESET TimeZone;
