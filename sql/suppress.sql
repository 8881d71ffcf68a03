-- Cross-channel suppression: every rule kind, their combination, the
-- exemptions of transactional messages, merged customers and the preview.
-- Times are given explicitly: a message is decided for its created_at, and
-- counted by the caps at the time it goes out.  Messages carry a label in
-- their priority column (the rules do not read it).
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET omni.default_time_zone = 'UTC';

INSERT INTO omni.customer (customer_id, time_zone) VALUES
    (900001, 'Europe/Paris'), (900002, NULL), (900003, 'America/New_York');
INSERT INTO omni.identity (kind, value, customer_id) VALUES
    ('email', 'ann@shop.test', 900001), ('phone', '+33612345678', 900001),
    ('email', 'bob@shop.test', 900002), ('email', 'cy@shop.test', 900003);

CREATE TEMP VIEW m AS
SELECT priority AS n, customer_id, channel, category, campaign, topic, created_at,
       send_at, status, reasons
  FROM omni.message WHERE priority >= 1000 ORDER BY priority;

-- The seeded rules: consent everywhere, TCPA hours for texts and calls.
SELECT name, kind, channels, quiet_start, quiet_end, action, priority, enabled, builtin
  FROM omni.suppression_rule ORDER BY priority, name;

--
-- Consent
--
-- e-mail needs no opt-in; sms does (omni.channel.requires_opt_in).
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at) VALUES
    (1001, 'email', 'ann@shop.test', 'email', '2026-04-01 10:00+00'),
    (1002, 'phone', '+33612345678', 'sms', '2026-04-01 10:00+00');
-- an opt-in of the phone number for sms
INSERT INTO omni.consent (identity_id, channel, status, source, granted_at)
SELECT identity_id, 'sms', 'opt_in', 'checkout', '2026-03-01 00:00+00'
  FROM omni.identity WHERE kind = 'phone' AND value = '+33612345678';
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at) VALUES
    (1003, 'phone', '+33612345678', 'sms', '2026-04-01 10:05+00');
-- an opt-out of the customer from e-mail marketing: transactional mail still goes
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at, revoked_at)
VALUES (900001, 'email', 'opt_out', 'unsubscribe link', '2026-04-01 11:00+00', '2026-04-03 00:00+00');
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at) VALUES
    (1004, 'email', 'ann@shop.test', 'email', 'marketing', '2026-04-01 12:00+00'),
    (1005, 'email', 'ann@shop.test', 'email', 'transactional', '2026-04-01 12:00+00'),
    (1006, 'email', 'ann@shop.test', 'email', 'newsletter', '2026-04-01 12:00+00'),
    -- the opt-out was revoked on April 3rd
    (1007, 'email', 'ann@shop.test', 'email', 'marketing', '2026-04-03 12:00+00');
-- an opt-out always wins over an opt-in; one for every channel (channel NULL)
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at)
VALUES (900001, NULL, 'opt_out', 'call centre', '2026-04-04 00:00+00');
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at) VALUES
    (1008, 'phone', '+33612345678', 'sms', '2026-04-04 10:00+00'),
    (1009, 'email', 'ann@shop.test', 'push', '2026-04-04 10:00+00');
-- an expired opt-in no longer counts; a transactional opt-out stops transactional mail
UPDATE omni.consent SET status = 'opt_in', expires_at = '2026-04-05 00:00+00'
 WHERE customer_id = 900001 AND channel IS NULL;
INSERT INTO omni.consent (customer_id, channel, purpose, status, granted_at)
VALUES (900001, 'push', 'transactional', 'opt_out', '2026-04-04 00:00+00');
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at) VALUES
    (1010, 'email', 'ann@shop.test', 'whatsapp', 'marketing', '2026-04-04 12:00+00'),
    (1011, 'email', 'ann@shop.test', 'whatsapp', 'marketing', '2026-04-06 12:00+00'),
    (1012, 'email', 'ann@shop.test', 'push', 'transactional', '2026-04-06 12:00+00'),
    (1013, 'email', 'ann@shop.test', 'email', 'transactional', '2026-04-06 12:00+00');
SELECT * FROM m;
-- a disabled rule does nothing
UPDATE omni.suppression_rule SET enabled = false WHERE name = 'consent';
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at) VALUES
    (1014, 'email', 'ann@shop.test', 'push', 'transactional', '2026-04-06 12:00+00');
UPDATE omni.suppression_rule SET enabled = true WHERE name = 'consent';
SELECT n, status, reasons FROM m WHERE n = 1014;
SELECT name, builtin FROM omni.suppression_rule WHERE name = 'consent';
DELETE FROM omni.message WHERE priority >= 1000;
DELETE FROM omni.consent WHERE customer_id = 900001 OR identity_id IN
    (SELECT identity_id FROM omni.identity WHERE customer_id = 900001);

--
-- Frequency caps: rolling windows, channel sets, category tags, several rules
--
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES
    ('three_a_day', 'frequency_cap', 3, '1 day');
INSERT INTO omni.suppression_rule (name, kind, channels, max_messages, time_window) VALUES
    ('one_push_an_hour', 'frequency_cap', '{push,app}', 1, '1 hour');
INSERT INTO omni.suppression_rule (name, kind, categories, max_messages, time_window) VALUES
    ('one_promo_a_week', 'frequency_cap', '{promo}', 1, '7 days');
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, category, created_at) VALUES
    (1101, NULL, 'email', 'bob@shop.test', 'email', 'marketing', '2026-04-01 08:00+00'),
    (1102, NULL, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-01 09:00+00'),
    -- second push within the hour: one_push_an_hour
    (1103, NULL, 'email', 'bob@shop.test', 'app', 'marketing', '2026-04-01 09:30+00'),
    (1104, NULL, 'email', 'bob@shop.test', 'email', 'promo', '2026-04-01 10:00+00'),
    -- the day's fourth: three_a_day; a second promo too (the push of 09:00 is
    -- 90 minutes before, the app message of 09:30 was suppressed: neither counts)
    (1105, NULL, 'email', 'bob@shop.test', 'push', 'promo', '2026-04-01 10:30+00'),
    -- transactional messages are exempt, and count only where a rule names them
    (1106, NULL, 'email', 'bob@shop.test', 'email', 'transactional', '2026-04-01 11:00+00'),
    (1107, NULL, 'email', 'bob@shop.test', 'push', 'transactional', '2026-04-01 11:00+00'),
    -- suppressed messages do not count: the window is still full at 23:59
    (1108, NULL, 'email', 'bob@shop.test', 'email', 'marketing', '2026-04-01 23:59+00'),
    -- the rolling window has moved past the first message (08:00 the day before)
    (1109, NULL, 'email', 'bob@shop.test', 'email', 'marketing', '2026-04-02 08:00:01+00'),
    -- ... but not past the second
    (1110, NULL, 'email', 'bob@shop.test', 'email', 'marketing', '2026-04-02 08:30+00');
SELECT n, channel, category, created_at, status, reasons FROM m;
-- a rule that names transactional counts transactional messages toward its cap,
-- but does not stop them
INSERT INTO omni.suppression_rule (name, kind, categories, max_messages, time_window) VALUES
    ('two_mails_a_day', 'frequency_cap', '{marketing,transactional}', 2, '1 day');
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, category, created_at) VALUES
    (1111, 900002, 'email', 'bob@shop.test', 'email', 'transactional', '2026-04-05 08:00+00'),
    (1112, 900002, 'email', 'bob@shop.test', 'email', 'transactional', '2026-04-05 08:01+00'),
    (1113, 900002, 'email', 'bob@shop.test', 'email', 'transactional', '2026-04-05 08:02+00'),
    (1114, 900002, 'email', 'bob@shop.test', 'email', 'marketing', '2026-04-05 08:03+00');
-- a rolling window reaches both ways: a message inserted after a later one
-- (scheduled, or out of time order) still counts it
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, category, created_at) VALUES
    (1115, 900002, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-10 12:00+00'),
    (1116, 900002, 'email', 'bob@shop.test', 'app', 'marketing', '2026-04-10 11:30+00'),
    (1117, 900002, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-10 10:59+00');
SELECT n, category, status, reasons FROM m WHERE n > 1110;
-- messages on both sides need not fit in one window with the new one: at two
-- pushes an hour, 09:00 and 10:30 leave room at 09:45 (no hour holds all
-- three) and at 10:10, but not at 10:00 (10:00 to 11:00 would hold three)
DELETE FROM omni.suppression_rule WHERE kind = 'frequency_cap' AND name <> 'one_push_an_hour';
UPDATE omni.suppression_rule SET max_messages = 2 WHERE name = 'one_push_an_hour';
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, category, created_at) VALUES
    (1118, 900002, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-12 09:00+00'),
    (1119, 900002, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-12 10:30+00');
SELECT status, details FROM omni.would_suppress('email', 'bob@shop.test', 'push',
    created_at => '2026-04-12 09:45+00');
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, category, created_at) VALUES
    (1120, 900002, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-12 10:10+00'),
    (1121, 900002, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-12 10:00+00');
SELECT n, created_at, status, reasons FROM m WHERE n > 1117;
SELECT details FROM omni.would_suppress('email', 'bob@shop.test', 'push',
    created_at => '2026-04-12 10:00+00');
-- the trigger counts through the outbox's index on (customer, created_at)
SELECT coalesce(idx_scan, 0) AS scans_before FROM pg_stat_user_indexes
 WHERE indexrelname = 'message_customer_counted_idx' \gset
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, category, created_at) VALUES
    (1122, 900002, 'email', 'bob@shop.test', 'push', 'marketing', '2026-04-13 09:00+00');
SELECT pg_stat_force_next_flush();
SELECT idx_scan > :scans_before AS counted_through_the_index FROM pg_stat_user_indexes
 WHERE indexrelname = 'message_customer_counted_idx';
-- a cap of 0 stops every message it applies to
UPDATE omni.suppression_rule SET max_messages = 0 WHERE name = 'one_push_an_hour';
SELECT status, reasons, details FROM omni.would_suppress('email', 'bob@shop.test', 'app',
    created_at => '2026-05-01 00:00+00');
DELETE FROM omni.suppression_rule WHERE kind = 'frequency_cap';
DELETE FROM omni.message WHERE priority >= 1000;

--
-- Recent events: no discount for the hat just bought
--
INSERT INTO omni.touchpoint (identity_id, ts, channel, event, topic)
SELECT identity_id, '2026-04-10 10:00+00', 'store', 'purchase', 'hat'
  FROM omni.identity WHERE value = '+33612345678';
INSERT INTO omni.suppression_rule (name, kind, event, time_window, match_topic) VALUES
    ('just_bought_it', 'recent_event', 'purchase', '14 days', true),
    ('quiet_after_purchase', 'recent_event', 'purchase', '1 hour', false);
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, topic, category, created_at) VALUES
    -- the purchase was made with the phone; the mail goes to the same customer
    (1201, 'email', 'ann@shop.test', 'email', 'hat', 'marketing', '2026-04-10 10:30+00'),
    (1202, 'email', 'ann@shop.test', 'email', 'hat', 'marketing', '2026-04-12 10:00+00'),
    (1203, 'email', 'ann@shop.test', 'email', 'scarf', 'marketing', '2026-04-12 10:00+00'),
    (1204, 'email', 'ann@shop.test', 'email', NULL, 'marketing', '2026-04-12 10:00+00'),
    (1205, 'email', 'ann@shop.test', 'email', 'hat', 'marketing', '2026-04-25 10:00+00'),
    -- the receipt is transactional
    (1206, 'email', 'ann@shop.test', 'email', 'hat', 'transactional', '2026-04-10 10:01+00'),
    -- an event after the message's time does not count
    (1207, 'email', 'ann@shop.test', 'email', 'hat', 'marketing', '2026-04-10 09:59+00');
SELECT n, topic, category, created_at, status, reasons FROM m;
SELECT status, details FROM omni.would_suppress('email', 'ann@shop.test', 'push', topic => 'hat',
    created_at => '2026-04-10 10:30+00');
-- a rule that names the transactional category applies to it
UPDATE omni.suppression_rule SET categories = '{transactional}' WHERE name = 'quiet_after_purchase';
SELECT status, reasons FROM omni.would_suppress('email', 'ann@shop.test', 'email', 'transactional',
    topic => 'hat', created_at => '2026-04-10 10:01+00');
SELECT status, reasons FROM omni.would_suppress('email', 'ann@shop.test', 'email', 'marketing',
    topic => 'scarf', created_at => '2026-04-10 10:01+00');
DELETE FROM omni.suppression_rule WHERE kind = 'recent_event';
DELETE FROM omni.touchpoint WHERE identity_id IN (SELECT identity_id FROM omni.identity WHERE customer_id = 900001);
DELETE FROM omni.message WHERE priority >= 1000;

--
-- Same campaign on another channel
--
INSERT INTO omni.suppression_rule (name, kind, time_window) VALUES
    ('campaign_once', 'same_campaign', '2 days');
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, campaign, created_at) VALUES
    (1301, 'email', 'cy@shop.test', 'email', 'spring', '2026-04-01 15:00+00'),
    (1302, 'email', 'cy@shop.test', 'push', 'spring', '2026-04-01 16:00+00'),
    (1303, 'email', 'cy@shop.test', 'push', 'summer', '2026-04-01 16:00+00'),
    (1304, 'email', 'cy@shop.test', 'push', NULL, '2026-04-01 16:00+00'),
    -- exactly two days after the first: out of the window
    (1305, 'email', 'cy@shop.test', 'push', 'spring', '2026-04-03 15:00+00'),
    (1306, 'email', 'cy@shop.test', 'email', 'spring', '2026-04-05 14:59+00'),
    (1307, 'email', 'cy@shop.test', 'email', 'spring', '2026-04-05 15:00:01+00');
SELECT n, channel, campaign, created_at, status, reasons FROM m;
-- transactional messages only where the rule names them
SELECT status FROM omni.would_suppress('email', 'cy@shop.test', 'push', 'transactional',
    campaign => 'spring', created_at => '2026-04-01 17:00+00');
UPDATE omni.suppression_rule SET categories = '{transactional}' WHERE name = 'campaign_once';
SELECT status, reasons FROM omni.would_suppress('email', 'cy@shop.test', 'push', 'transactional',
    campaign => 'spring', created_at => '2026-04-01 17:00+00');
DELETE FROM omni.suppression_rule WHERE kind = 'same_campaign';
DELETE FROM omni.message WHERE priority >= 1000;

--
-- Global holdout: a deterministic, salted share of customers gets no marketing
--
INSERT INTO omni.customer (customer_id) SELECT 900100 + i FROM generate_series(1, 40) i;
INSERT INTO omni.suppression_rule (name, kind, share) VALUES ('holdout_2026', 'holdout', 0.25);
CREATE TEMP TABLE held AS
SELECT c.customer_id, (omni.would_suppress(NULL, NULL, 'email', customer_id => c.customer_id,
                                           created_at => '2026-04-01 12:00+00')).status
  FROM omni.customer c WHERE c.customer_id BETWEEN 900101 AND 900140;
SELECT status, count(*) FROM held GROUP BY status ORDER BY status;
-- the same customers every time
SELECT count(*) AS changed FROM held h
 WHERE h.status <> (omni.would_suppress(NULL, NULL, 'push', customer_id => h.customer_id,
                                        created_at => '2026-09-01 12:00+00')).status;
-- transactional messages are exempt
SELECT count(*) FILTER (WHERE w.status = 'queued') AS transactional_queued
  FROM held h, omni.would_suppress(NULL, NULL, 'email', 'transactional', customer_id => h.customer_id,
                                   created_at => '2026-04-01 12:00+00') w;
-- renaming the rule (the salt) draws another group of about the same size
UPDATE omni.suppression_rule SET name = 'holdout_2027' WHERE name = 'holdout_2026';
SELECT count(*) FILTER (WHERE w.status = 'suppressed') AS held_out,
       count(*) FILTER (WHERE w.status = 'suppressed' AND h.status = 'suppressed') AS held_out_both_years
  FROM held h, omni.would_suppress(NULL, NULL, 'email', customer_id => h.customer_id,
                                   created_at => '2026-04-01 12:00+00') w;
DELETE FROM omni.suppression_rule WHERE kind = 'holdout';
DELETE FROM omni.customer WHERE customer_id BETWEEN 900101 AND 900140;

--
-- Recipients: blocklisted, unknown, no recipient at all, merged customers
--
INSERT INTO omni.customer (customer_id, merged_into, merged_at) VALUES (900004, 900002, '2026-03-01 00:00+00');
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (1401, 'email', 'test@test.com', 900002, 'email', '2026-04-01 12:00+00'),
    (1402, 'email', 'noreply@shop.test', 900002, 'email', '2026-04-01 12:00+00'),
    (1403, 'email', 'nobody@shop.test', NULL, 'email', '2026-04-01 12:00+00'),
    -- an absorbed customer: the message is for its survivor
    (1404, 'email', 'bob@shop.test', 900004, 'email', '2026-04-01 12:00+00');
SELECT n, customer_id, status, reasons FROM m;
SELECT * FROM omni.would_suppress('email', 'test@test.com', 'email', customer_id => 900002,
    created_at => '2026-04-01 12:00+00');
SELECT * FROM omni.would_suppress('email', 'nobody@shop.test', 'email', created_at => '2026-04-01 12:00+00');
SELECT * FROM omni.would_suppress(NULL, NULL, 'email', created_at => '2026-04-01 12:00+00');
DELETE FROM omni.message WHERE priority >= 1000;
-- after a merge, the absorbed customer's messages count toward the survivor's
-- caps, and its opt-outs hold for the survivor
INSERT INTO omni.customer (customer_id) VALUES (900005);
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES ('one_a_day', 'frequency_cap', 1, '1 day');
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, created_at)
    VALUES (1405, 900005, 'email', 'bob.old@shop.test', 'email', '2026-04-01 09:00+00');
INSERT INTO omni.consent (customer_id, channel, status, granted_at) VALUES (900005, 'push', 'opt_out', '2026-01-01 00:00+00');
UPDATE omni.customer SET merged_into = 900002, merged_at = '2026-04-01 10:00+00' WHERE customer_id = 900005;
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at)
    VALUES (1406, 'email', 'bob@shop.test', 'email', '2026-04-01 12:00+00');
SELECT n, customer_id, status, reasons FROM m WHERE n >= 1405;
SELECT reasons FROM omni.would_suppress('email', 'bob@shop.test', 'push', created_at => '2026-04-03 12:00+00');
DELETE FROM omni.suppression_rule WHERE name = 'one_a_day';
DELETE FROM omni.consent WHERE customer_id = 900005;
DELETE FROM omni.message WHERE priority >= 1000;
DELETE FROM omni.customer WHERE customer_id = 900005;

--
-- Combinations: every rule that stops a message is named, in priority order
--
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window, priority) VALUES
    ('one_a_day', 'frequency_cap', 1, '1 day', 50);
INSERT INTO omni.suppression_rule (name, kind, time_window, priority) VALUES
    ('campaign_once', 'same_campaign', '1 day', 40);
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, campaign, created_at) VALUES
    (1501, 'phone', '+33612345678', 'sms', 'spring', '2026-04-01 12:00+00'),
    (1502, 'email', 'ann@shop.test', 'email', 'spring', '2026-04-01 12:00+00'),
    (1503, 'phone', '+33612345678', 'sms', 'spring', '2026-04-01 13:00+00');
SELECT n, channel, status, reasons FROM m;
SELECT reasons, details FROM omni.would_suppress('phone', '+33612345678', 'sms', campaign => 'spring',
    created_at => '2026-04-01 23:30+00');
-- the preview inserted nothing
SELECT count(*) AS messages FROM m;
DELETE FROM omni.suppression_rule WHERE name IN ('one_a_day', 'campaign_once');
DELETE FROM omni.message WHERE priority >= 1000;

--
-- The configuration is cached per session and reloaded when it changes
--
SELECT status FROM omni.would_suppress('email', 'bob@shop.test', 'email', created_at => '2026-04-01 12:00+00');
BEGIN;
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES ('nothing', 'frequency_cap', 0, '1 day');
SELECT status, reasons FROM omni.would_suppress('email', 'bob@shop.test', 'email', created_at => '2026-04-01 12:00+00');
ROLLBACK;
SELECT status, reasons FROM omni.would_suppress('email', 'bob@shop.test', 'email', created_at => '2026-04-01 12:00+00');
INSERT INTO omni.channel (channel, requires_opt_in) VALUES ('pager', true);
SELECT status, reasons FROM omni.would_suppress('email', 'bob@shop.test', 'pager', created_at => '2026-04-01 12:00+00');
DELETE FROM omni.channel WHERE channel = 'pager';
SELECT status, reasons FROM omni.would_suppress('email', 'bob@shop.test', 'pager', created_at => '2026-04-01 12:00+00');

--
-- Rules and consents that do not mean anything are refused, each with its
-- SQLSTATE: a CHECK per kind (23514) and the rule trigger (22023)
--
CREATE FUNCTION pg_temp.refused(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    msg text;
BEGIN
    EXECUTE stmt;
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN state || ': ' || msg;
END $$;
SELECT case_, pg_temp.refused(stmt) AS outcome FROM (VALUES
    ('recent_event without event', $$INSERT INTO omni.suppression_rule (name, kind, time_window) VALUES ('r1', 'recent_event', '1 day')$$),
    ('recent_event without window', $$INSERT INTO omni.suppression_rule (name, kind, event) VALUES ('r2', 'recent_event', 'purchase')$$),
    ('same_campaign without window', $$INSERT INTO omni.suppression_rule (name, kind) VALUES ('r3', 'same_campaign')$$),
    ('holdout without share', $$INSERT INTO omni.suppression_rule (name, kind) VALUES ('r4', 'holdout')$$),
    ('holdout of everyone', $$INSERT INTO omni.suppression_rule (name, kind, share) VALUES ('r5', 'holdout', 1)$$),
    ('negative cap', $$INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES ('r6', 'frequency_cap', -1, '1 day')$$),
    ('unknown kind', $$INSERT INTO omni.suppression_rule (name, kind) VALUES ('r7', 'throttle')$$),
    ('empty name', $$INSERT INTO omni.suppression_rule (name, kind, share) VALUES ('', 'holdout', 0.1)$$),
    ('delay outside quiet hours', $$INSERT INTO omni.suppression_rule (name, kind, share, action) VALUES ('r8', 'holdout', 0.1, 'delay')$$),
    ('unknown channel', $$INSERT INTO omni.suppression_rule (name, kind, channels, share) VALUES ('r9', 'holdout', '{email,fax}', 0.1)$$),
    ('empty channel list', $$INSERT INTO omni.suppression_rule (name, kind, channels, share) VALUES ('r10', 'holdout', '{}', 0.1)$$),
    ('NULL in channel list', $$INSERT INTO omni.suppression_rule (name, kind, channels, share) VALUES ('r11', 'holdout', '{email,NULL}', 0.1)$$),
    ('empty category list', $$INSERT INTO omni.suppression_rule (name, kind, categories, share) VALUES ('r12', 'holdout', '{}', 0.1)$$),
    ('empty category', $$INSERT INTO omni.suppression_rule (name, kind, categories, share) VALUES ('r13', 'holdout', '{promo,""}', 0.1)$$),
    ('column the kind ignores', $$INSERT INTO omni.suppression_rule (name, kind, share, max_messages) VALUES ('r14', 'holdout', 0.1, 3)$$),
    ('window the kind ignores', $$INSERT INTO omni.suppression_rule (name, kind, quiet_start, quiet_end, time_window) VALUES ('r15', 'quiet_hours', '22:00', '07:00', '1 day')$$),
    ('topic matching of a cap', $$INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window, match_topic) VALUES ('r16', 'frequency_cap', 1, '1 day', true)$$),
    ('empty event', $$INSERT INTO omni.suppression_rule (name, kind, event, time_window) VALUES ('r17', 'recent_event', '', '1 day')$$),
    ('zero window', $$INSERT INTO omni.suppression_rule (name, kind, time_window) VALUES ('r18', 'same_campaign', '0')$$),
    ('rule made bad by an update', $$UPDATE omni.suppression_rule SET channels = '{telex}' WHERE name = 'tcpa_quiet_hours'$$),
    ('consent for nobody', $$INSERT INTO omni.consent (channel, status) VALUES ('email', 'opt_out')$$),
    ('consent expiring before it is given', $$INSERT INTO omni.consent (customer_id, channel, status, granted_at, expires_at) VALUES (900002, 'sms', 'opt_in', '2026-04-01', '2026-03-01')$$),
    ('consent revoked before it is given', $$INSERT INTO omni.consent (customer_id, channel, status, granted_at, revoked_at) VALUES (900002, 'sms', 'opt_in', '2026-04-01', '2026-03-01')$$),
    ('consent of another purpose', $$INSERT INTO omni.consent (customer_id, channel, status, purpose) VALUES (900002, 'sms', 'opt_in', 'sales')$$),
    ('consent of an unknown status', $$INSERT INTO omni.consent (customer_id, channel, status) VALUES (900002, 'sms', 'maybe')$$),
    ('consent on an unknown channel', $$INSERT INTO omni.consent (customer_id, channel, status) VALUES (900002, 'fax', 'opt_in')$$)
) AS c (case_, stmt);
SELECT count(*) AS rules_left_behind FROM omni.suppression_rule WHERE name ~ '^r[0-9]+$' OR name = '';

DELETE FROM omni.identity WHERE customer_id BETWEEN 900001 AND 900004;
DELETE FROM omni.customer WHERE customer_id = 900004;
DELETE FROM omni.customer WHERE customer_id BETWEEN 900001 AND 900003;
SELECT name FROM omni.suppression_rule ORDER BY name;

