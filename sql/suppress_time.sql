-- Quiet hours and calendar-day caps in the customer's time zone: delays
-- across midnight and across daylight-saving changes, the default zone,
-- delays that push into other quiet windows, and windows covering the day.
-- America/New_York springs forward on 2026-03-08 and falls back on
-- 2026-11-01; Europe/London springs forward on 2026-03-29.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET omni.default_time_zone = 'Asia/Tokyo';

INSERT INTO omni.customer (customer_id, time_zone) VALUES
    (900201, 'America/New_York'), (900202, 'Europe/London'), (900203, NULL), (900204, 'Asia/Kolkata'),
    (900205, 'America/Havana');
INSERT INTO omni.consent (customer_id, channel, status, granted_at)
SELECT customer_id, 'sms', 'opt_in', '2026-01-01 00:00+00' FROM omni.customer
 WHERE customer_id BETWEEN 900201 AND 900204;

CREATE TEMP VIEW m AS
SELECT x.priority AS n, x.customer_id, x.channel, x.created_at, x.send_at, x.status, x.reasons,
       (coalesce(x.send_at, x.created_at) AT TIME ZONE coalesce(c.time_zone, 'Asia/Tokyo')) AS local_send
  FROM omni.message x JOIN omni.customer c USING (customer_id)
 WHERE x.priority >= 2000 ORDER BY x.priority;

--
-- The seeded TCPA rule: texts and calls only from 08:00 to 21:00 local time,
-- later ones delayed to 08:00
--
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    -- 22:30 EST on March 7th: delayed over midnight and over the change to EDT
    (2001, 'phone', '+12125550001', 900201, 'sms', '2026-03-08 03:30+00'),
    -- 07:59 EDT: one minute
    (2002, 'phone', '+12125550001', 900201, 'sms', '2026-03-09 11:59+00'),
    -- 08:00 and 20:59 EDT go at once; 21:00 waits for tomorrow
    (2003, 'phone', '+12125550001', 900201, 'sms', '2026-03-09 12:00+00'),
    (2004, 'phone', '+12125550001', 900201, 'sms', '2026-03-10 00:59+00'),
    (2005, 'phone', '+12125550001', 900201, 'sms', '2026-03-10 01:00+00'),
    -- calls too; e-mail is not covered by the rule
    (2006, 'phone', '+12125550001', 900201, 'call_center', '2026-03-10 03:00+00'),
    (2007, 'email', 'dee@shop.test', 900201, 'email', '2026-03-10 03:00+00'),
    -- 22:00 EDT on October 31st: delayed to 08:00 EST, after the change back
    (2008, 'phone', '+12125550001', 900201, 'sms', '2026-11-01 02:00+00'),
    -- 01:30 on November 1st, the hour that happens twice
    (2009, 'phone', '+12125550001', 900201, 'sms', '2026-11-01 05:30+00'),
    (2010, 'phone', '+12125550001', 900201, 'sms', '2026-11-01 06:30+00');
-- a message scheduled for 23:00 local is delayed from its send_at; one
-- scheduled for 10:00 keeps it
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at, send_at) VALUES
    (2012, 'phone', '+12125550001', 900201, 'sms', '2026-03-12 16:00+00', '2026-03-13 03:00+00'),
    (2013, 'phone', '+12125550001', 900201, 'sms', '2026-03-12 16:00+00', '2026-03-13 14:00+00');
-- a customer with no zone of their own is in omni.default_time_zone (Tokyo)
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (2014, 'phone', '+819012345678', 900203, 'sms', '2026-04-01 13:00+00'),
    -- a zone half an hour off UTC
    (2015, 'phone', '+919812345678', 900204, 'sms', '2026-04-01 15:29+00'),
    (2016, 'phone', '+919812345678', 900204, 'sms', '2026-04-01 15:30+00');
-- transactional texts are exempt
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, category, created_at) VALUES
    (2017, 'phone', '+12125550001', 900201, 'sms', 'transactional', '2026-03-10 03:00+00');
SELECT n, channel, created_at, send_at, status, reasons, local_send FROM m;
-- the preview explains the delay
SELECT status, deliver_at, reasons, details FROM omni.would_suppress('phone', '+12125550001', 'sms',
    customer_id => 900201, created_at => '2026-03-08 03:30+00');
-- the setting follows the session
SET omni.default_time_zone = 'America/Los_Angeles';
SELECT status, deliver_at, details FROM omni.would_suppress(NULL, NULL, 'sms', customer_id => 900203,
    created_at => '2026-04-01 13:00+00');
RESET omni.default_time_zone;
SHOW omni.default_time_zone;
SET omni.default_time_zone = 'Asia/Tokyo';
DELETE FROM omni.message WHERE priority >= 2000;

--
-- Rules of one's own: a window inside the day, suppress instead of delay,
-- delays that push into another window, and windows that leave no time
--
INSERT INTO omni.suppression_rule (name, kind, channels, quiet_start, quiet_end, action) VALUES
    ('no_push_at_lunch', 'quiet_hours', '{push}', '12:00', '13:30', 'suppress'),
    ('no_push_at_night', 'quiet_hours', '{push}', '22:00', '07:00', 'delay'),
    ('no_push_before_10', 'quiet_hours', '{push}', '06:00', '10:00', 'delay');
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (2101, 'email', 'eve@shop.test', 900202, 'push', '2026-03-02 12:15+00'),
    (2102, 'email', 'eve@shop.test', 900202, 'push', '2026-03-02 13:30+00'),
    -- 23:00: to 07:00 by the night rule, then to 10:00 by the morning rule
    (2103, 'email', 'eve@shop.test', 900202, 'push', '2026-03-02 23:00+00'),
    -- 07:30: only the morning rule
    (2104, 'email', 'eve@shop.test', 900202, 'push', '2026-03-03 07:30+00');
SELECT n, created_at, send_at, status, reasons, local_send FROM m;
-- a delay that lands at lunch time is suppressed by the lunch rule
UPDATE omni.suppression_rule SET quiet_end = '12:30' WHERE name = 'no_push_before_10';
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (2105, 'email', 'eve@shop.test', 900202, 'push', '2026-03-03 09:00+00');
SELECT n, created_at, send_at, status, reasons FROM m WHERE n = 2105;
-- a chain of delays over midnight: 09:00 -> 23:00 -> 07:00 the next day
UPDATE omni.suppression_rule SET quiet_start = '09:00', quiet_end = '23:00' WHERE name = 'no_push_before_10';
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (2106, 'email', 'eve@shop.test', 900202, 'push', '2026-03-03 09:00+00');
SELECT n, send_at, status, reasons FROM m WHERE n = 2106;
SELECT details FROM omni.would_suppress('email', 'eve@shop.test', 'push', customer_id => 900202,
    created_at => '2026-03-03 09:00+00');
-- windows that together cover the whole day: no time is allowed
UPDATE omni.suppression_rule SET quiet_start = '07:00' WHERE name = 'no_push_before_10';
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (2107, 'email', 'eve@shop.test', 900202, 'push', '2026-03-03 09:00+00');
SELECT n, send_at, status, reasons FROM m WHERE n = 2107;
SELECT details FROM omni.would_suppress('email', 'eve@shop.test', 'push', customer_id => 900202,
    created_at => '2026-03-03 09:00+00');
DELETE FROM omni.suppression_rule WHERE kind = 'quiet_hours' AND NOT builtin;
DELETE FROM omni.message WHERE priority >= 2000;

--
-- Quiet windows that end inside a DST change (New York).  02:30 is skipped
-- on March 8th: the window ends when the clocks jump to 03:00 EDT.  01:30
-- happens twice on November 1st: the first one after the message ends it.
--
INSERT INTO omni.suppression_rule (name, kind, channels, quiet_start, quiet_end, action) VALUES
    ('no_push_until_0230', 'quiet_hours', '{push}', '00:00', '02:30', 'delay');
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    -- 00:30 EST on March 8th
    (2111, 'email', 'dee@shop.test', 900201, 'push', '2026-03-08 05:30+00');
UPDATE omni.suppression_rule SET quiet_end = '01:30' WHERE name = 'no_push_until_0230';
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    -- 00:30 EDT on November 1st: to the first 01:30 (EDT)
    (2112, 'email', 'dee@shop.test', 900201, 'push', '2026-11-01 04:30+00'),
    -- 01:10 EST, the second time round: to the second 01:30 (EST)
    (2113, 'email', 'dee@shop.test', 900201, 'push', '2026-11-01 06:10+00'),
    -- 01:40 EDT, between the two: outside the window, at once
    (2114, 'email', 'dee@shop.test', 900201, 'push', '2026-11-01 05:40+00');
SELECT n, created_at, send_at, status, local_send FROM m;
DELETE FROM omni.suppression_rule WHERE name = 'no_push_until_0230';
DELETE FROM omni.message WHERE priority >= 2000;

--
-- Calendar-day caps count per local day
--
INSERT INTO omni.suppression_rule (name, kind, channels, max_messages, calendar_day) VALUES
    ('two_mails_a_local_day', 'frequency_cap', '{email}', 2, true);
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    -- London, March 28th (GMT): two, then the third is stopped
    (2201, 'email', 'eve@shop.test', 900202, 'email', '2026-03-28 08:00+00'),
    (2202, 'email', 'eve@shop.test', 900202, 'email', '2026-03-28 23:30+00'),
    (2203, 'email', 'eve@shop.test', 900202, 'email', '2026-03-28 23:59:59+00'),
    -- March 29th starts at 00:00 GMT and is 23 hours long (BST from 01:00 GMT)
    (2204, 'email', 'eve@shop.test', 900202, 'email', '2026-03-29 00:00+00'),
    (2205, 'email', 'eve@shop.test', 900202, 'email', '2026-03-29 22:30+00'),
    (2206, 'email', 'eve@shop.test', 900202, 'email', '2026-03-29 22:59:59+00'),
    -- 00:00 BST on March 30th is 23:00 GMT on the 29th: a new local day
    (2207, 'email', 'eve@shop.test', 900202, 'email', '2026-03-29 23:00+00'),
    -- Kolkata: local midnight is 18:30 UTC
    (2208, 'email', 'raj@shop.test', 900204, 'email', '2026-04-01 10:00+00'),
    (2209, 'email', 'raj@shop.test', 900204, 'email', '2026-04-01 18:00+00'),
    (2210, 'email', 'raj@shop.test', 900204, 'email', '2026-04-01 18:29+00'),
    (2211, 'email', 'raj@shop.test', 900204, 'email', '2026-04-01 18:30+00'),
    -- Havana falls back from 01:00 CDT to 00:00 CST on November 1st: the
    -- day starts at the first of its two midnights
    (2212, 'email', 'ana@shop.test', 900205, 'email', '2026-10-31 22:00+00'),
    (2213, 'email', 'ana@shop.test', 900205, 'email', '2026-11-01 03:30+00'),
    -- 00:30 CDT, the first time round: November 1st
    (2214, 'email', 'ana@shop.test', 900205, 'email', '2026-11-01 04:30+00'),
    -- 00:30 CST, the second time round: the same day's second
    (2215, 'email', 'ana@shop.test', 900205, 'email', '2026-11-01 05:30+00'),
    (2216, 'email', 'ana@shop.test', 900205, 'email', '2026-11-01 06:00+00');
SELECT n, customer_id, created_at, status, reasons, local_send FROM m;
-- a window of several calendar days: today and the six days before
UPDATE omni.suppression_rule SET max_messages = 4, time_window = '7 days' WHERE name = 'two_mails_a_local_day';
SELECT status, details FROM omni.would_suppress('email', 'eve@shop.test', 'email', customer_id => 900202,
    created_at => '2026-04-03 22:59+00');
SELECT status, details FROM omni.would_suppress('email', 'eve@shop.test', 'email', customer_id => 900202,
    created_at => '2026-04-03 23:00+00');
DELETE FROM omni.suppression_rule WHERE name = 'two_mails_a_local_day';
DELETE FROM omni.message WHERE priority >= 2000;

--
-- A message counts toward caps when it goes out: a text delayed overnight
-- by the TCPA rule counts for the morning it is sent, a scheduled one for
-- its day
--
INSERT INTO omni.suppression_rule (name, kind, channels, max_messages, calendar_day) VALUES
    ('one_text_a_local_day', 'frequency_cap', '{sms}', 1, true);
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at, send_at) VALUES
    -- 22:00 EDT on May 4th: delayed to 08:00 on May 5th
    (2221, 'phone', '+12125550001', 900201, 'sms', '2026-05-05 02:00+00', NULL),
    -- 09:00 on May 5th: the day already has the delayed text
    (2222, 'phone', '+12125550001', 900201, 'sms', '2026-05-05 13:00+00', NULL),
    -- made on May 5th for 10:00 on May 7th, then a text at 09:00 on May 7th
    (2223, 'phone', '+12125550001', 900201, 'sms', '2026-05-05 14:00+00', '2026-05-07 14:00+00'),
    (2224, 'phone', '+12125550001', 900201, 'sms', '2026-05-07 13:00+00', NULL),
    -- May 6th has none
    (2225, 'phone', '+12125550001', 900201, 'sms', '2026-05-06 13:00+00', NULL);
SELECT n, created_at, send_at, status, reasons, local_send FROM m;
SELECT details FROM omni.would_suppress('phone', '+12125550001', 'sms', customer_id => 900201,
    created_at => '2026-05-06 23:00+00');
DELETE FROM omni.suppression_rule WHERE name = 'one_text_a_local_day';
DELETE FROM omni.message WHERE priority >= 2000;

--
-- Bad time zones and windows
--
SET omni.default_time_zone = 'Nowhere/Never';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET omni.default_time_zone = '';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SHOW omni.default_time_zone;
UPDATE omni.customer SET time_zone = 'Mars/Olympus_Mons' WHERE customer_id = 900202;
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (2301, 'phone', '+447700900123', 900202, 'sms', '2026-03-02 12:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM omni.would_suppress(NULL, NULL, 'sms', customer_id => 900202);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a customer's zone is not read when no rule needs it
SELECT status FROM omni.would_suppress(NULL, NULL, 'email', customer_id => 900202,
    created_at => '2026-03-02 12:00+00');
\set VERBOSITY terse
INSERT INTO omni.suppression_rule (name, kind, quiet_start, quiet_end) VALUES ('empty', 'quiet_hours', '08:00', '08:00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO omni.suppression_rule (name, kind, quiet_start) VALUES ('half', 'quiet_hours', '08:00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO omni.suppression_rule (name, kind, max_messages, calendar_day, time_window)
    VALUES ('day and a half', 'frequency_cap', 3, true, '36 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO omni.suppression_rule (name, kind, max_messages, calendar_day, time_window)
    VALUES ('a month', 'frequency_cap', 3, true, '1 month');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES ('backwards', 'frequency_cap', 3, '-1 day');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set VERBOSITY default
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at) VALUES
    (2302, 'phone', '+447700900123', 900201, 'sms', 'infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at, send_at) VALUES
    (2303, 'phone', '+447700900123', 900201, 'sms', '2026-03-02 12:00+00', '-infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS messages FROM m;

-- rolling windows are reckoned in UTC whatever the session's TimeZone: a
-- "1 day" cap around New York's spring-forward night is 24 hours from every
-- session, and the same message gets the same decision
INSERT INTO omni.customer (customer_id, time_zone) VALUES (900206, 'America/New_York');
INSERT INTO omni.suppression_rule (name, kind, channels, max_messages, time_window)
    VALUES ('one_push_a_day_900206', 'frequency_cap', '{push}', 1, '1 day');
INSERT INTO omni.message (priority, customer_id, recipient_kind, recipient, channel, created_at)
    VALUES (2401, 900206, 'email', 'ny@shop.test', 'push', '2024-03-09 12:00 America/New_York');
SET TimeZone = 'America/New_York';
SELECT status, reasons FROM omni.would_suppress(NULL, NULL, 'push', customer_id => 900206,
    created_at => '2024-03-10 12:30 America/New_York');
SET TimeZone = 'UTC';
SELECT status, reasons FROM omni.would_suppress(NULL, NULL, 'push', customer_id => 900206,
    created_at => '2024-03-10 12:30 America/New_York');
-- 24 hours and a minute after it, from either session: it goes
SET TimeZone = 'America/New_York';
SELECT status, reasons FROM omni.would_suppress(NULL, NULL, 'push', customer_id => 900206,
    created_at => '2024-03-10 13:01 America/New_York');
SET TimeZone = 'UTC';
SELECT status, reasons FROM omni.would_suppress(NULL, NULL, 'push', customer_id => 900206,
    created_at => '2024-03-10 13:01 America/New_York');
DELETE FROM omni.suppression_rule WHERE name = 'one_push_a_day_900206';

-- a window longer than all of history reaches all of it (and is no error)
INSERT INTO omni.suppression_rule (name, kind, channels, max_messages, time_window) VALUES
    ('once_ever_900206', 'frequency_cap', '{push}', 1, '200000 years'),
    ('once_in_ten_thousand_years_900206', 'frequency_cap', '{push}', 1, '10000 years 5 months');
SELECT status, reasons FROM omni.would_suppress(NULL, NULL, 'push', customer_id => 900206,
    created_at => '2026-01-01 00:00+00');
SELECT status, reasons FROM omni.would_suppress(NULL, NULL, 'push', customer_id => 900206,
    created_at => '1900-01-01 00:00+00');
DELETE FROM omni.suppression_rule WHERE name LIKE '%\_900206';
DELETE FROM omni.message WHERE priority = 2401;

DELETE FROM omni.consent WHERE customer_id BETWEEN 900201 AND 900205;
DELETE FROM omni.customer WHERE customer_id BETWEEN 900201 AND 900206;
