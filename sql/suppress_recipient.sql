-- Recipients: normalized and resolved through the identity graph; invalid,
-- unknown, blocklisted and erased recipients are kept as suppressed with
-- the reason.  Erasure is never exempt, not even for transactional mail.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET omni.default_time_zone = 'UTC';

SELECT omni.identify('email', 'Zoe.Martin@Shop.test') IS NOT NULL AS identified;
SELECT omni.customer_of('email', 'zoe.martin@shop.test') AS zoe \gset
SELECT omni.link('email', 'zoe.martin@shop.test', 'phone', '+1 (415) 555-0134') IS NOT NULL AS linked;
SELECT omni.customer_of('phone', '+14155550134') = :zoe AS same_customer;

CREATE TEMP VIEW m AS
SELECT priority AS n, recipient_kind, recipient, customer_id = :zoe AS is_zoe, channel, category,
       status, reasons
  FROM omni.message WHERE priority >= 3000 ORDER BY priority;

-- raw values are normalized before they are resolved; the stored
-- recipient is the value as given
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at) VALUES
    (3001, 'email', '  ZOE.MARTIN@shop.TEST ', 'email', '2026-04-01 12:00+00'),
    (3002, 'phone', '(415) 555-0134', 'call_center', '2026-04-01 18:00+00'),
    -- values that are not valid for their kind
    (3003, 'phone', 'call me maybe', 'sms', '2026-04-01 12:00+00'),
    (3004, 'email', 'zoe at shop', 'email', '2026-04-01 12:00+00'),
    -- a valid identifier nobody has
    (3005, 'email', 'stranger@shop.test', 'email', '2026-04-01 12:00+00'),
    -- blocklisted values, compared after normalization
    (3006, 'email', ' TEST@TEST.COM', 'email', '2026-04-01 12:00+00'),
    (3007, 'phone', '(212) 555-0100', 'call_center', '2026-04-01 18:00+00');
SELECT * FROM m;
SELECT reasons, details FROM omni.would_suppress('phone', 'call me maybe', 'sms');
SELECT reasons, details FROM omni.would_suppress('email', ' TEST@TEST.COM', 'email');
-- an unknown identifier kind is an error, not a suppression
INSERT INTO omni.message (priority, recipient_kind, recipient, channel) VALUES (3008, 'fax', '+1 555', 'email');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM omni.would_suppress('fax', '+1 555', 'email');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- recipient kind and value go together in the preview
SELECT * FROM omni.would_suppress('email', NULL, 'email');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM omni.would_suppress(NULL, NULL, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a customer id that is not a customer
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel) VALUES (3009, 'email', 'x@shop.test', -42, 'email');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a customer id and a recipient of another customer: refused, in the
-- preview too; the same customer, given with its recipient, is fine
SELECT omni.identify('email', 'other.person@shop.test') IS NOT NULL AS identified;
SELECT omni.customer_of('email', 'other.person@shop.test') AS other \gset
\set VERBOSITY sqlstate
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at)
    VALUES (3010, 'email', 'zoe.martin@shop.test', :other, 'email', '2026-04-01 12:00+00');
SELECT :'LAST_ERROR_MESSAGE' = format('email "zoe.martin@shop.test" belongs to customer %s, not to customer %s', :zoe, :other)
       AS names_both;
SELECT status FROM omni.would_suppress('email', 'zoe.martin@shop.test', 'email', customer_id => :other);
\set VERBOSITY default
INSERT INTO omni.message (priority, recipient_kind, recipient, customer_id, channel, created_at)
    VALUES (3011, 'email', 'zoe.martin@shop.test', :zoe, 'email', '2026-04-01 12:00+00')
    RETURNING customer_id = :zoe AS is_zoe, status;
DELETE FROM omni.message WHERE priority = 3011;
SELECT omni.forget(:other) AS other_erased;

--
-- Erasure: after omni.forget, every message to the erased identifiers is
-- suppressed, whatever its category, even if the identifier comes back
--
SELECT omni.forget(:zoe) AS identifiers_erased;
-- omni.forget erased the customer's messages too
SELECT count(*) AS messages_of_zoe_left FROM omni.message WHERE priority IN (3001, 3002);
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at) VALUES
    (3010, 'email', 'zoe.martin@shop.test', 'email', 'marketing', '2026-04-02 12:00+00'),
    (3011, 'email', ' ZOE.Martin@Shop.test', 'email', 'transactional', '2026-04-02 12:00+00'),
    (3012, 'phone', '+14155550134', 'sms', 'transactional', '2026-04-02 18:00+00');
SELECT n, recipient, is_zoe, category, status, reasons FROM m WHERE n >= 3010;
SELECT * FROM omni.would_suppress('phone', '415.555.0134', 'call_center', 'transactional',
                                  created_at => '2026-04-02 18:00+00');
-- the identifier is seen again and gets a new customer: still erased
SELECT omni.identify('email', 'zoe.martin@shop.test') IS NOT NULL AS seen_again;
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at) VALUES
    (3013, 'email', 'zoe.martin@shop.test', 'email', '2026-04-03 12:00+00');
SELECT priority AS n, customer_id IS NOT NULL AS resolved, status, reasons
  FROM omni.message WHERE priority = 3013;
-- erasure and the rules: a forgotten recipient that also breaks a rule is
-- suppressed for both reasons
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES ('none', 'frequency_cap', 0, '1 day');
SELECT reasons FROM omni.would_suppress('email', 'zoe.martin@shop.test', 'email', created_at => '2026-04-03 12:00+00');
DELETE FROM omni.suppression_rule WHERE name = 'none';

DELETE FROM omni.message WHERE priority >= 3000;
SELECT omni.forget(omni.customer_of('email', 'zoe.martin@shop.test')) AS identifiers_erased;
