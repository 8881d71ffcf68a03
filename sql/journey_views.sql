-- The journey views for BI tools: standard SQL types only, customers
-- through the identity graph, so a merge shows at once.
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

-- Customer -202 turns out to be -201: once the identity moves, the views show one journey.
UPDATE omni.identity SET customer_id = -201 WHERE identity_id = -203;
SELECT * FROM omni.customer_journey WHERE customer_id < 0 ORDER BY customer_id;
SELECT from_channel, to_channel, transitions, customers FROM omni.channel_transition
 WHERE from_channel = 'web' OR to_channel = 'store' ORDER BY from_channel, to_channel;

DELETE FROM omni.touchpoint WHERE identity_id IN (-201, -202, -203);
DELETE FROM omni.identity WHERE identity_id IN (-201, -202, -203);
DELETE FROM omni.customer WHERE customer_id IN (-201, -202);
RESET TimeZone;
