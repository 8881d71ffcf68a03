/*
 * The demo report: what omnichannel makes of the generated data.
 * Run by test/demo.sh after generate.sql and load.sql.
 */
\pset null '-'
\echo '== The unified customer model'
SELECT (SELECT count(*) FROM omni.customer WHERE merged_into IS NULL) AS customers,
       (SELECT count(*) FROM omni.identity) AS identifiers,
       (SELECT count(*) FROM omni.touchpoint) AS touchpoints,
       (SELECT count(DISTINCT channel) FROM omni.touchpoint) AS channels,
       (SELECT count(*) FROM gen.outbound) AS messages_to_send;

\echo '== Identifiers per kind (a customer is many identifiers)'
SELECT i.kind, count(*) AS identifiers,
       round(count(*)::numeric / nullif(count(DISTINCT i.customer_id), 0), 2) AS per_customer,
       r.max_per_customer AS rule_max
  FROM omni.identity i JOIN omni.identity_rule r USING (kind)
 GROUP BY i.kind, r.max_per_customer, r.priority ORDER BY r.priority, i.kind;

\echo '== Touchpoints per channel'
SELECT channel, count(*) AS touchpoints, count(DISTINCT i.customer_id) AS customers,
       count(*) FILTER (WHERE event = 'purchase') AS purchases
  FROM omni.touchpoint t JOIN omni.identity i USING (identity_id)
 GROUP BY channel ORDER BY touchpoints DESC;

\echo '== How many channels each customer uses'
SELECT channels_used, count(*) AS customers
  FROM (SELECT i.customer_id, count(DISTINCT t.channel) AS channels_used
          FROM omni.touchpoint t JOIN omni.identity i USING (identity_id) GROUP BY i.customer_id) c
 GROUP BY channels_used ORDER BY channels_used;

\echo '== One customer across channels: the last 12 touchpoints of the busiest customer'
SELECT t.ts, t.channel, t.event, i.kind AS seen_as, t.topic, t.campaign
  FROM omni.touchpoint t JOIN omni.identity i USING (identity_id)
 WHERE i.customer_id = (SELECT i2.customer_id FROM omni.touchpoint t2 JOIN omni.identity i2 USING (identity_id)
                         GROUP BY i2.customer_id ORDER BY count(DISTINCT t2.channel) DESC, count(*) DESC, i2.customer_id LIMIT 1)
 ORDER BY t.ts DESC LIMIT 12;

\echo '== Journeys: one value per customer across every channel (omni.journey)'
CREATE TEMP TABLE demo_journey AS
SELECT i.customer_id, omni.journey(t.ts, t.channel, t.event) AS j
  FROM omni.touchpoint t JOIN omni.identity i USING (identity_id)
 GROUP BY i.customer_id;
SELECT count(*) AS journeys, sum(omni.length(j)) AS steps,
       round(avg(omni.sessions(j)), 1) AS avg_sessions,
       pg_size_pretty(sum(pg_column_size(j))) AS stored
  FROM demo_journey;

\echo '== How journeys start: the first three channels of the path (repeats collapsed)'
SELECT array_to_string((string_to_array(omni.path(j), ' > '))[1:3], ' > ') AS path_start, count(*) AS customers
  FROM demo_journey
 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 8;

\echo '== Web purchase funnel within one day (ClickHouse windowFunnel semantics)'
SELECT level, count(*) AS customers,
       (ARRAY['-', 'page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase'])[level + 1] AS reached
  FROM (SELECT omni.funnel(j, '1 day', ARRAY['web:page_view', 'web:product_view', 'web:add_to_cart',
                                             'web:checkout', 'web:purchase']) AS level
          FROM demo_journey) f
 GROUP BY level ORDER BY level;

\echo '== E-mail opened, clicked, then a purchase within an hour of the click (sequence_match); repeat buyers (sequence_count)'
SELECT count(*) FILTER (WHERE omni.sequence_match(j, '(?1).*(?2)(?t<=3600)(?3)',
                                                  ARRAY['email:email_open', 'email:email_click', 'purchase'])) AS email_then_purchase,
       count(*) FILTER (WHERE omni.sequence_count(j, '(?1)', ARRAY['purchase']) >= 2) AS repeat_buyers
  FROM demo_journey;

\echo '== Channel attribution of purchases, by model (omni.channel_attribution)'
SELECT channel,
       round(sum(credit) FILTER (WHERE model = 'first_touch'))::int AS first_touch,
       round(sum(credit) FILTER (WHERE model = 'last_touch'))::int AS last_touch,
       round(sum(credit) FILTER (WHERE model = 'linear'))::int AS linear,
       round(sum(credit) FILTER (WHERE model = 'time_decay'))::int AS time_decay,
       round(sum(credit) FILTER (WHERE model = 'position_based'))::int AS position_based,
       round(sum(credit) FILTER (WHERE model = 'markov'))::int AS markov
  FROM omni.channel_attribution
 GROUP BY channel ORDER BY linear DESC NULLS LAST, channel;

\echo '== The timeline index: the same customer through omni.timeline(), one merged scan of all their identities'
SELECT i2.customer_id AS busiest_customer FROM omni.touchpoint t2 JOIN omni.identity i2 USING (identity_id)
 GROUP BY i2.customer_id ORDER BY count(DISTINCT t2.channel) DESC, count(*) DESC, i2.customer_id LIMIT 1 \gset
SELECT t.ts, t.channel, t.event, i.kind AS seen_as
  FROM omni.timeline(:busiest_customer, 6) t JOIN omni.identity i USING (identity_id) ORDER BY t.ts DESC;
\echo '   its plan: no Sort, the index returns the rows newest first and stops after n'
EXPLAIN (COSTS OFF) SELECT * FROM omni.timeline(:busiest_customer, 6);
\echo '   the index against the B-tree on (identity_id, ts), and its check'
SELECT pg_size_pretty(pg_relation_size('omni.touchpoint_timeline_idx')) AS timeline_index,
       pg_size_pretty(pg_relation_size('omni.touchpoint_identity_ts_idx')) AS btree_index,
       c.entries, c.live_rows
  FROM omni.timeline_check('omni.touchpoint_timeline_idx') c;
