-- The journey views for BI tools: standard SQL types only, customers by
-- omni.touchpoint.customer_id, which a merge re-points at once.
SET TimeZone = 'UTC';

-- Column types: nothing custom.
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relname IN ('customer_journey', 'channel_transition', 'channel_attribution')
   AND c.relnamespace = 'omni'::regnamespace AND a.attnum > 0
 ORDER BY c.relname, a.attnum;

-- Two customers, three identifiers.
INSERT INTO omni.customer (customer_id, created_at) VALUES (-201, '2026-01-01 00:00+00'), (-202, '2026-01-01 00:00+00');
INSERT INTO omni.identity (identity_id, kind, value, customer_id) VALUES
    (-201, 'email', 'ana@shop.test', -201),
    (-202, 'cookie', 'ck_ana_laptop', -201),
    (-203, 'phone', '+33600000001', -202);
INSERT INTO omni.touchpoint (identity_id, ts, channel, event) VALUES
    (-202, '2026-03-01 09:00+00', 'web', 'page_view'),
    (-202, '2026-03-01 09:10+00', 'web', 'product_view'),
    (-201, '2026-03-02 18:00+00', 'email', 'email_click'),
    (-202, '2026-03-02 18:02+00', 'web', 'add_to_cart'),
    (-202, '2026-03-02 18:05+00', 'web', 'purchase'),
    (-203, '2026-03-03 12:00+00', 'sms', 'sms_click'),
    (-203, '2026-03-03 12:30+00', 'store', 'store_visit');

SELECT * FROM omni.customer_journey WHERE customer_id < 0 ORDER BY customer_id;
SELECT * FROM omni.channel_transition ORDER BY from_channel, to_channel;
SELECT model, channel, round(credit::numeric, 6) AS credit FROM omni.channel_attribution ORDER BY model, channel;

-- The conversion pattern is a setting.
SET omni.conversion = 'store:*';
SELECT customer_id, converted FROM omni.customer_journey WHERE customer_id < 0 ORDER BY customer_id;
SELECT model, channel, round(credit::numeric, 6) AS credit FROM omni.channel_attribution
 WHERE model IN ('first_touch', 'markov') ORDER BY model, channel;
SET omni.conversion = 'web:';
SET omni.conversion = '';
SHOW omni.conversion;
RESET omni.conversion;
SELECT omni.conversion();

-- Ana's e-mail and the phone turn out to be one person: once omni.link merges
-- the two customers, the views show one journey (the merge re-points the
-- absorbed customer's touchpoints in its own transaction).
SELECT omni.link('email', 'ana@shop.test', 'phone', '+33600000001', 'journey_views',
                 '2026-03-04 10:00+00') IS NOT NULL AS linked;
SELECT count(DISTINCT customer_id) AS customers FROM omni.touchpoint WHERE identity_id IN (-201, -202, -203);
SELECT * FROM omni.customer_journey WHERE customer_id < 0 ORDER BY customer_id;
SELECT from_channel, to_channel, transitions, customers FROM omni.channel_transition
 WHERE from_channel = 'web' OR to_channel = 'store' ORDER BY from_channel, to_channel;
-- the same rows as grouping through the identity graph
CREATE TEMP VIEW cj_through_identity AS
SELECT i.customer_id, count(*) AS steps, omni.path(omni.journey(t.ts, t.channel, t.event)) AS path
  FROM omni.touchpoint t JOIN omni.identity i USING (identity_id) GROUP BY i.customer_id;
SELECT (SELECT count(*) FROM (SELECT customer_id, steps, path FROM omni.customer_journey
                              EXCEPT SELECT * FROM cj_through_identity) d) AS only_in_view,
       (SELECT count(*) FROM (SELECT * FROM cj_through_identity
                              EXCEPT SELECT customer_id, steps, path FROM omni.customer_journey) d) AS only_through_identity;
DROP VIEW cj_through_identity;

DELETE FROM omni.touchpoint WHERE identity_id IN (-201, -202, -203);
DELETE FROM omni.merge_log WHERE survivor IN (-201, -202);
DELETE FROM omni.identity_link WHERE source = 'journey_views';
DELETE FROM omni.identity WHERE identity_id IN (-201, -202, -203);
UPDATE omni.customer SET merged_into = NULL, merged_at = NULL WHERE customer_id IN (-201, -202);
DELETE FROM omni.customer WHERE customer_id IN (-201, -202);
RESET TimeZone;
