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

SET client_min_messages = warning;
\echo '== Identity resolution: what the raw identifiers became'
SELECT (SELECT count(*) FROM gen.identifier) AS raw_identifiers,
       (SELECT count(*) FROM gen.link) AS raw_pairs,
       (SELECT count(*) FROM omni.identity) AS identities,
       (SELECT count(*) FROM omni.identity_link WHERE status = 'accepted') AS links_accepted,
       (SELECT count(*) FROM omni.identity_link WHERE status = 'rejected') AS links_refused,
       (SELECT count(*) FROM omni.link_staging) AS staged_rows_refused;

\echo '== Refused links and rows, by reason (nothing is dropped silently)'
SELECT 'link refused' AS what,
       CASE WHEN reason LIKE 'blocked value:%' THEN 'blocked value (' || substring(reason FROM '\(([^()]*)\)$') || ')'
            ELSE 'max_per_customer of ' || substring(reason FROM '\d+ ([a-z_]+) identifiers') END AS reason,
       count(*)
  FROM omni.identity_link WHERE status = 'rejected' GROUP BY 2
UNION ALL
SELECT 'staged row refused', regexp_replace(error, '"[^"]*"', '"..."'), count(*) FROM omni.link_staging GROUP BY 2
 ORDER BY 1, 3 DESC;

\echo '== Against the ground truth: persons whose linked identifiers resolved to one customer'
\echo '   (a person stays split when a rule refused a link: blocked example.org address, a second crm id;'
\echo '    a customer holds several persons when they share an address: a family one, or one address'
\echo '    the generated data gives to two people of the same name)'
WITH own AS (
    -- a person's own identifiers that were seen in a pair (never-logged-in cookies cannot be resolved)
    SELECT DISTINCT g.person_id, i.customer_id
      FROM gen.identifier g JOIN gen.person p USING (person_id)
      JOIN omni.identity i ON i.kind = g.kind AND i.value = omni.try_normalize(g.kind, g.value, p.country)
     WHERE NOT g.shared
       AND EXISTS (SELECT 1 FROM gen.link l WHERE (l.kind_b, l.value_b) = (g.kind, g.value) OR (l.kind_a, l.value_a) = (g.kind, g.value)))
SELECT (SELECT count(DISTINCT person_id) FROM own) AS persons,
       (SELECT count(*) FROM (SELECT person_id FROM own GROUP BY 1 HAVING count(*) = 1) x) AS resolved_to_one_customer,
       (SELECT count(*) FROM (SELECT customer_id FROM own GROUP BY 1 HAVING count(*) > 1) x) AS customers_holding_several_persons;

\echo '== One customer, many spellings: the identifiers of one person, with the raw values they were seen as'
SELECT i.kind, i.value, i.first_seen::date, i.last_seen::date,
       (SELECT string_agg(DISTINCT g.value, ' | ') FROM gen.identifier g JOIN gen.person p USING (person_id)
         WHERE g.kind = i.kind AND omni.try_normalize(g.kind, g.value, p.country) = i.value) AS raw_spellings
  FROM omni.identities((SELECT omni.customer_of('email', p.emails[1]) FROM gen.person p
                         WHERE p.email LIKE '%@gmail.com' AND p.family_id IS NULL AND p.crm IS NOT NULL
                           AND p.loyalty IS NOT NULL AND cardinality(p.devices) > 0
                           AND NOT EXISTS (SELECT 1 FROM gen.person o WHERE o.email = p.email AND o.person_id <> p.person_id)
                         ORDER BY p.person_id LIMIT 1)) i
 ORDER BY i.kind, i.value;

\echo '== Re-resolving every customer after a rule change (crm limit lifted, then restored)'
BEGIN;
UPDATE omni.identity_rule SET max_per_customer = NULL WHERE kind = 'crm';
SELECT customers, links, rejected, merges, moved_identities FROM omni.resolve_all();
ROLLBACK;
RESET client_min_messages;
\echo '== Journeys: one value per customer across every channel (omni.journey)'
CREATE TEMP TABLE demo_journey AS
SELECT t.customer_id, omni.journey(t.ts, t.channel, t.event) AS j
  FROM omni.touchpoint t
 GROUP BY t.customer_id;
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

\echo '== The same funnel as an aggregate over the touchpoints, without journeys: the same level for every customer'
SELECT count(*) AS customers, count(*) FILTER (WHERE a.level = f.level) AS same_level
  FROM (SELECT t.customer_id,
               omni.funnel(t.ts, t.channel, t.event, '1 day', ARRAY['web:page_view', 'web:product_view', 'web:add_to_cart',
                                                                    'web:checkout', 'web:purchase']) AS level
          FROM omni.touchpoint t
         GROUP BY t.customer_id) a
  JOIN (SELECT customer_id, omni.funnel(j, '1 day', ARRAY['web:page_view', 'web:product_view', 'web:add_to_cart',
                                                          'web:checkout', 'web:purchase']) AS level
          FROM demo_journey) f USING (customer_id);

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

\echo '== Cross-channel suppression: the week of outbound messages, each decided as it is inserted'
-- a realistic rule set next to the seeded consent and TCPA quiet-hours rules,
-- and sms opt-ins for 70% of the customers (without one, marketing texts are refused)
INSERT INTO omni.suppression_rule (name, kind, channels, categories, max_messages, time_window, calendar_day) VALUES
    ('two_a_day', 'frequency_cap', NULL, NULL, 2, '1 day', false),
    ('one_text_a_local_day', 'frequency_cap', '{sms}', NULL, 1, NULL, true);
INSERT INTO omni.suppression_rule (name, kind, event, time_window, match_topic) VALUES
    ('no_discount_after_purchase', 'recent_event', 'purchase', '30 days', true);
INSERT INTO omni.suppression_rule (name, kind, time_window) VALUES ('campaign_once', 'same_campaign', '3 days');
INSERT INTO omni.suppression_rule (name, kind, share) VALUES ('holdout_2026', 'holdout', 0.05);
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at)
SELECT customer_id, 'sms', 'opt_in', 'checkout', '2025-11-01 00:00+00'
  FROM omni.customer WHERE merged_into IS NULL AND customer_id % 10 < 7;
-- the marketing side sends each address as its systems hold it (phones in E.164);
-- the trigger normalizes it and resolves it to its customer
\timing on
INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, category, topic, created_at)
SELECT o.recipient_kind,
       CASE WHEN o.recipient_kind = 'phone'
            THEN coalesce(omni.try_normalize('phone', o.recipient, p.country), o.recipient)
            ELSE o.recipient END,
       o.channel, o.campaign, o.category, o.topic, o.created_at
  FROM gen.outbound o JOIN gen.person p USING (person_id)
 ORDER BY o.created_at, o.outbound_no;
\timing off
SELECT status, count(*) AS messages, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
  FROM omni.message GROUP BY status ORDER BY status;

\echo '== Why messages were stopped or delayed (a message may have several reasons)'
SELECT reason, count(*) AS messages,
       count(*) FILTER (WHERE category = 'transactional') AS transactional
  FROM omni.message, unnest(reasons) reason GROUP BY reason ORDER BY count(*) DESC, reason;

\echo '== Messages a customer receives on their busiest day, before and after suppression'
SELECT max(planned) AS most_planned_in_a_day, max(sent) AS most_sent_in_a_day,
       round(avg(planned), 2) AS avg_planned, round(avg(sent), 2) AS avg_sent
  FROM (SELECT customer_id, created_at::date, count(*) AS planned,
               count(*) FILTER (WHERE status <> 'suppressed' AND category <> 'transactional') AS sent
          FROM omni.message WHERE category <> 'transactional' GROUP BY 1, 2) d;

\echo '== One decision explained: a late-night text to the customer stopped for the most different reasons'
SELECT w.status, w.deliver_at, w.reasons, w.details
  FROM (SELECT customer_id FROM omni.message, unnest(reasons) reason
         WHERE status = 'suppressed' AND customer_id IS NOT NULL
         GROUP BY customer_id ORDER BY count(DISTINCT reason) DESC, count(*) DESC, customer_id LIMIT 1) c,
       omni.would_suppress(NULL, NULL, 'sms', campaign => 'black_friday', customer_id => c.customer_id,
                           created_at => '2026-06-05 23:30+00') w;

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

\echo '== Roles: who may do what (grant them to login roles)'
SELECT r AS role,
       has_table_privilege(r, 'omni.customer_journey', 'SELECT') AS reads_bi_views,
       has_table_privilege(r, 'omni.touchpoint', 'INSERT') AS ingests,
       has_column_privilege(r, 'omni.message', 'recipient', 'INSERT') AS queues_messages,
       has_table_privilege(r, 'omni.identity', 'SELECT') AS reads_identifiers,
       has_table_privilege(r, 'omni.consent', 'INSERT') AS records_consent,
       has_table_privilege(r, 'omni.suppression_rule', 'UPDATE') AS changes_rules,
       has_function_privilege(r, 'omni.forget(bigint)', 'EXECUTE') AS erases,
       has_table_privilege(r, 'omni.secret', 'SELECT') AS reads_hash_key
  FROM unnest(ARRAY['omni_reader', 'omni_writer', 'omni_admin']) r;
\echo '   as omni_reader: the views, and nothing behind them'
SET ROLE omni_reader;
SELECT count(*) AS customers, count(*) FILTER (WHERE converted) AS converted
  FROM omni.customer_journey;
\set ON_ERROR_STOP 0
SELECT count(*) FROM omni.identity;
\set ON_ERROR_STOP 1
RESET ROLE;

\echo '== Erasure: the busiest customer forgotten (in a transaction rolled back), then every'
\echo '   text, jsonb and array column of every table of schema omni searched for its identifiers'
BEGIN;
CREATE TEMP TABLE erased AS SELECT kind, value FROM omni.identities(:busiest_customer);
SELECT count(*) AS identifiers, string_agg(DISTINCT kind, ', ') AS kinds FROM erased;
CREATE FUNCTION pg_temp.columns_holding(markers text[]) RETURNS TABLE (relname name, attname name, rows_holding bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT r.oid, r.relname, a.attname
               FROM pg_class r
               JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
               JOIN pg_type t ON t.oid = a.atttypid
              WHERE r.relnamespace = 'omni'::regnamespace AND r.relkind = 'r'
                AND t.typcategory NOT IN ('N', 'D', 'T', 'B')
    LOOP
        RETURN QUERY EXECUTE format('SELECT %L::name, %L::name, count(*) FROM %s t
                                      WHERE lower(t.%I::text) LIKE ANY ($1) HAVING count(*) > 0',
                                    c.relname, c.attname, c.oid::regclass, c.attname)
            USING ARRAY(SELECT '%' || lower(m) || '%' FROM unnest(markers) m);
    END LOOP;
END
$$;
SELECT * FROM pg_temp.columns_holding(ARRAY(SELECT value FROM erased)) ORDER BY 1, 2;
SELECT omni.forget(:busiest_customer) AS identifiers_erased;
SELECT count(*) AS columns_still_holding FROM pg_temp.columns_holding(ARRAY(SELECT value FROM erased));
ROLLBACK;
