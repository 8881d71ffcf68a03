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
  FROM omni.customer WHERE customer_id % 10 < 7;
\timing on
INSERT INTO omni.message (customer_id, recipient_kind, recipient, channel, campaign, category, topic, created_at)
SELECT person_id, recipient_kind, recipient, channel, campaign, category, topic, created_at
  FROM gen.outbound ORDER BY created_at, outbound_no;
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

\echo '== One decision explained: the next text to the customer with the most stopped messages'
SELECT w.status, w.deliver_at, w.reasons, w.details
  FROM (SELECT customer_id FROM omni.message WHERE status = 'suppressed' AND customer_id IS NOT NULL
         GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1) c,
       omni.would_suppress(NULL, NULL, 'sms', campaign => 'black_friday', customer_id => c.customer_id,
                           created_at => '2026-06-05 23:30+00') w;
