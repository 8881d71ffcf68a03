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
