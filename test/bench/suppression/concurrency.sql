/*
 * Rules of the concurrent run: short rolling windows, so that messages keep
 * being queued and suppressed for the whole run, and a calendar-day cap.
 */
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
TRUNCATE omni.message;
UPDATE omni.suppression_rule SET enabled = false WHERE kind = 'frequency_cap';
INSERT INTO omni.suppression_rule (name, kind, channels, max_messages, time_window, calendar_day) VALUES
    ('two_per_10_seconds', 'frequency_cap', NULL, 2, '10 seconds', false),
    ('one_text_per_minute', 'frequency_cap', '{sms,whatsapp}', 1, '1 minute', false),
    ('one_push_per_30_seconds', 'frequency_cap', '{push,app}', 1, '30 seconds', false),
    ('sixty_a_local_day', 'frequency_cap', NULL, 60, NULL, true);
