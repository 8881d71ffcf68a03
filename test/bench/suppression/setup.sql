/*
 * Data of the suppression benchmark (run by run.sh in a throwaway cluster):
 * :customers customers in 12 time zones, each with an e-mail address and a
 * phone number, sms opt-ins for 60% of them, a few opt-outs, 20 touchpoints
 * each over the month before the messages (5% purchases of one of 200
 * products), a realistic rule set, and :messages messages to send over one
 * week, in time order, addressed by raw e-mail or phone (so each is
 * normalized and resolved through the identity graph), with the customer
 * each one resolves to (customer_id: only the "customer given" baseline of
 * bulk.sql inserts it).
 */
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

INSERT INTO omni.customer (customer_id, time_zone)
SELECT c, (ARRAY['America/New_York', 'America/Chicago', 'America/Los_Angeles', 'America/Sao_Paulo',
                 'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'Europe/Madrid', 'Asia/Kolkata',
                 'Asia/Tokyo', 'Australia/Sydney', NULL])[1 + c % 12]
  FROM generate_series(1, :customers) c;
INSERT INTO omni.identity (kind, value, customer_id)
SELECT 'email', 'customer' || c || '@bench.test', c FROM generate_series(1, :customers) c
UNION ALL
SELECT 'phone', '+1' || (2125550000 + c)::text, c FROM generate_series(1, :customers) c;
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at)
SELECT c, 'sms', 'opt_in', 'checkout', '2026-01-01 00:00+00'
  FROM generate_series(1, :customers) c WHERE c % 10 < 6;
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at)
SELECT c, 'email', 'opt_out', 'unsubscribe link', '2026-02-01 00:00+00'
  FROM generate_series(1, :customers) c WHERE c % 50 = 7;
INSERT INTO omni.touchpoint (identity_id, ts, channel, event, topic)
SELECT i.identity_id,
       '2026-06-01 00:00+00'::timestamptz - (hashint4(i.identity_id::int * 31 + k) & 2147483647) % (30 * 86400) * interval '1 second',
       (ARRAY['web', 'app', 'email', 'store'])[1 + (hashint4(i.identity_id::int * 17 + k) & 3)],
       CASE WHEN (hashint4(i.identity_id::int * 13 + k) & 2147483647) % 100 < 5 THEN 'purchase'
            WHEN (hashint4(i.identity_id::int * 13 + k) & 2147483647) % 100 < 60 THEN 'page_view'
            ELSE 'email_open' END,
       'P' || lpad(((hashint4(i.identity_id::int * 7 + k) & 2147483647) % 200)::text, 3, '0')
  FROM omni.identity i, generate_series(1, 10) k;
ANALYZE omni.customer, omni.identity, omni.consent, omni.touchpoint;

/* A realistic rule set, next to the seeded consent and TCPA rules. */
INSERT INTO omni.suppression_rule (name, kind, channels, categories, max_messages, time_window, calendar_day, priority) VALUES
    ('three_a_day', 'frequency_cap', NULL, NULL, 3, '1 day', false, 50),
    ('ten_a_week', 'frequency_cap', NULL, NULL, 10, '7 days', false, 51),
    ('one_text_a_local_day', 'frequency_cap', '{sms,whatsapp}', NULL, 1, NULL, true, 52),
    ('one_promo_a_day', 'frequency_cap', NULL, '{promo}', 1, '1 day', false, 53);
INSERT INTO omni.suppression_rule (name, kind, event, time_window, match_topic, priority) VALUES
    ('no_discount_after_purchase', 'recent_event', 'purchase', '14 days', true, 40);
INSERT INTO omni.suppression_rule (name, kind, time_window, priority) VALUES
    ('campaign_once', 'same_campaign', '2 days', 41);
INSERT INTO omni.suppression_rule (name, kind, share, priority) VALUES
    ('holdout_2026', 'holdout', 0.05, 30);
INSERT INTO omni.suppression_rule (name, kind, channels, quiet_start, quiet_end, action, priority) VALUES
    ('no_push_at_night', 'quiet_hours', '{push,app}', '22:00', '07:00', 'delay', 60);

/* The messages to send, in time order over one week. */
CREATE TABLE bench.outbox_src AS
SELECT n,
       CASE WHEN ch IN ('sms', 'whatsapp') THEN 'phone' ELSE 'email' END AS recipient_kind,
       CASE WHEN ch IN ('sms', 'whatsapp') THEN '+1 ' || (2125550000 + c)::text
            ELSE ' Customer' || c || '@Bench.test' END AS recipient,
       ch AS channel,
       'campaign_' || (n / 2000) % 20 AS campaign,
       CASE WHEN n % 10 = 0 THEN 'transactional' WHEN n % 4 = 0 THEN 'promo' ELSE 'marketing' END AS category,
       'P' || lpad(((hashint4(n * 3) & 2147483647) % 200)::text, 3, '0') AS topic,
       '2026-06-01 00:00+00'::timestamptz + n * (interval '7 days' / :messages) AS created_at,
       c::bigint AS customer_id
  FROM (SELECT n, 1 + (hashint4(n) & 2147483647) % :customers AS c,
               (ARRAY['email', 'email', 'email', 'push', 'app', 'sms', 'whatsapp', 'email'])
                   [1 + (hashint4(n * 5) & 7)] AS ch
          FROM generate_series(1, :messages) n) s;
ANALYZE bench.outbox_src;
