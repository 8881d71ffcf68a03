-- omni.touchpoint.customer_id: the customer of the touchpoint's identifier,
-- set on insert and kept through merges, unmerges, re-resolution and erasure.
\pset null '<null>'
SET timezone = 'UTC';
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;

-- Every touchpoint's customer is its identifier's customer.
CREATE TEMP VIEW tp_consistent AS
SELECT count(*) AS touchpoints,
       count(*) FILTER (WHERE t.customer_id IS DISTINCT FROM i.customer_id) AS wrong_customer
  FROM omni.touchpoint t JOIN omni.identity i USING (identity_id);

-- omni.touch fills it in.
SELECT omni.touch('email', 'tess@shop.org', 'web', 'page_view', '2026-02-01 10:00+00') > 0 AS touched;
SELECT omni.touch('cookie', 'ck_tess', 'web', 'page_view', '2026-02-01 10:05+00') > 0 AS touched;
SELECT omni.touch('phone', '+1 212 555 0199', 'sms', 'sms_click', '2026-02-01 11:00+00') > 0 AS touched;
SELECT omni.customer_of('email', 'tess@shop.org') AS tess, omni.customer_of('cookie', 'ck_tess') AS ck,
       omni.customer_of('phone', '+12125550199') AS ph \gset
SELECT customer_id = :tess AS tess_customer FROM omni.touchpoint
 WHERE identity_id = (SELECT identity_id FROM omni.identity WHERE value = 'tess@shop.org');
SELECT * FROM tp_consistent;

-- A plain INSERT needs no customer_id; a wrong one is replaced by the right one.
INSERT INTO omni.touchpoint (identity_id, ts, channel, event)
SELECT identity_id, '2026-02-02 09:00+00', 'email', 'email_open' FROM omni.identity WHERE value = 'tess@shop.org';
INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event)
SELECT identity_id, :ph, '2026-02-02 09:30+00', 'email', 'email_click' FROM omni.identity WHERE value = 'tess@shop.org';
SELECT event, customer_id = :tess AS tess_customer FROM omni.touchpoint
 WHERE ts >= '2026-02-02' ORDER BY ts;
-- changing a touchpoint's identifier moves it to that identifier's customer
UPDATE omni.touchpoint SET identity_id = (SELECT identity_id FROM omni.identity WHERE value = 'ck_tess')
 WHERE event = 'email_click';
SELECT customer_id = :ck AS cookie_customer FROM omni.touchpoint WHERE event = 'email_click';
-- and setting customer_id by hand does not detach it from its identifier
UPDATE omni.touchpoint SET customer_id = :ph WHERE event = 'email_click';
SELECT customer_id = :ck AS still_cookie_customer FROM omni.touchpoint WHERE event = 'email_click';
SELECT * FROM tp_consistent;

-- A merge takes the absorbed customer's touchpoints along: the cookie and
-- then the phone join Tess.
SELECT omni.link('email', 'tess@shop.org', 'cookie', 'ck_tess', 'web_login', '2026-02-03 10:00+00') > 0 AS linked;
SELECT omni.link('cookie', 'ck_tess', 'phone', '+12125550199', 'app_login', '2026-02-04 10:00+00') > 0 AS linked;
SELECT count(DISTINCT customer_id) AS customers, bool_and(customer_id = :tess) AS all_tess FROM omni.touchpoint;
SELECT * FROM tp_consistent;
-- ... a customer's touchpoints are found by the key, without the identity graph
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT ts, channel, event FROM omni.touchpoint WHERE customer_id = 1;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- Undoing the phone's merge gives its touchpoints back.
SELECT merge_id AS m FROM omni.merge_log WHERE absorbed = :ph \gset
SELECT omni.unmerge(:m) AS given_back;
SELECT i.kind, t.customer_id = :tess AS tess, t.customer_id = :ph AS phone
  FROM omni.touchpoint t JOIN omni.identity i USING (identity_id) ORDER BY t.ts;
SELECT * FROM tp_consistent;

-- Re-resolution in bulk moves touchpoints with their identifiers.  Each
-- side gets a crm id, so the pair joining them is refused (crm: at most one
-- per customer); allowing more crm ids merges them, restoring the limit
-- splits them again.
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at) VALUES
  ('crm', 'C-1', 'email', 'tess@shop.org', 'crm', '2026-02-05 10:00+00'),
  ('crm', 'C-2', 'phone', '+12125550199', 'crm', '2026-02-05 11:00+00'),
  ('phone', '+12125550199', 'email', 'tess@shop.org', 'crm', '2026-02-05 12:00+00');
SET client_min_messages = warning;
SELECT merges FROM omni.resolve_all();
SELECT count(DISTINCT customer_id) AS customers FROM omni.touchpoint;
SELECT * FROM tp_consistent;
UPDATE omni.identity_rule SET max_per_customer = NULL WHERE kind = 'crm';
SELECT rejected, moved_identities FROM omni.resolve_all();
SELECT count(DISTINCT customer_id) AS customers FROM omni.touchpoint;
SELECT * FROM tp_consistent;
UPDATE omni.identity_rule SET max_per_customer = 1 WHERE kind = 'crm';
SELECT rejected, moved_identities, split_customers FROM omni.resolve_all();
RESET client_min_messages;
SELECT count(DISTINCT customer_id) AS customers FROM omni.touchpoint;
SELECT * FROM tp_consistent;

-- Erasure removes them.
SELECT omni.forget(omni.customer_of('email', 'tess@shop.org')) > 0 AS erased;
-- (only the phone's touchpoint is left, with its own customer)
SELECT count(*) AS orphans FROM omni.touchpoint t
 WHERE NOT EXISTS (SELECT 1 FROM omni.identity i WHERE i.identity_id = t.identity_id);
SELECT * FROM tp_consistent;

-- Bad input.
\set VERBOSITY sqlstate
INSERT INTO omni.touchpoint (identity_id, ts, channel, event) VALUES (-424242, '2026-02-01', 'web', 'x');
\set VERBOSITY default
INSERT INTO omni.touchpoint (identity_id, ts, channel, event) VALUES (-424242, '2026-02-01', 'web', 'x');
\set VERBOSITY terse
INSERT INTO omni.touchpoint (identity_id, ts, channel, event) VALUES (NULL, '2026-02-01', 'web', 'x');
\set VERBOSITY default
SELECT omni.touchpoint_customer();
-- an identifier pointed by hand at an absorbed customer: an error at once
-- (not a wait for a move that will not come)
SELECT omni.link('email', 'hand.a@shop.org', 'cookie', 'ck_hand_a') > 0 AS linked;
SELECT omni.link('email', 'hand.b@shop.org', 'cookie', 'ck_hand_b') > 0 AS linked;
SELECT omni.link('cookie', 'ck_hand_a', 'cookie', 'ck_hand_b') > 0 AS merged;
SELECT absorbed FROM omni.merge_log ORDER BY merge_id DESC LIMIT 1 \gset
SELECT omni.touch('email', 'hand.c@shop.org', 'web', 'page_view') > 0 AS touched;
UPDATE omni.identity SET customer_id = :absorbed WHERE value = 'hand.c@shop.org';
SET statement_timeout = '10s';
\set VERBOSITY sqlstate
SELECT omni.touch('email', 'hand.c@shop.org', 'web', 'page_view', '2026-02-02');
\set VERBOSITY default
SELECT :'LAST_ERROR_MESSAGE' ~ '^identity \d+ belongs to customer \d+, which is not a live customer$' AS names_both;
RESET statement_timeout;
-- the trigger function on the wrong kind of trigger
CREATE TEMP TABLE tp_bad (identity_id bigint, customer_id bigint);
CREATE TRIGGER tp_bad AFTER INSERT ON tp_bad FOR EACH ROW EXECUTE FUNCTION omni.touchpoint_customer();
INSERT INTO tp_bad VALUES (1, 1);
DROP TABLE tp_bad;

SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
