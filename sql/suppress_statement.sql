-- What omni.suppress() carries from one message to the next of a
-- statement (a recipient's normalized value, hash and blocklist verdict;
-- where its identifier and its customer's row were found) never outlives
-- a change made in between: each message is decided on what holds when it
-- is inserted.  The rows of an INSERT ... SELECT are decided one after the
-- other; pg_temp.between() runs a statement just before the second row.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET omni.default_time_zone = 'UTC';

INSERT INTO omni.customer (customer_id, time_zone) VALUES
    (930001, 'Europe/Paris'), (930002, 'America/New_York');
INSERT INTO omni.identity (kind, value, customer_id) VALUES
    ('email', 'mia@stmt.test', 930001), ('phone', '+33611223344', 930001),
    ('email', 'noa@stmt.test', 930002);

CREATE FUNCTION pg_temp.between(n int, stmt text) RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
    IF n = 2 THEN
        EXECUTE stmt;
    END IF;
    RETURN n;
END
$$;

CREATE TEMP VIEW m AS
SELECT priority AS n, recipient, customer_id, channel, send_at, status, reasons
  FROM omni.message WHERE priority BETWEEN 9300 AND 9399 ORDER BY priority;

-- the rules, channels and blocked values are configuration, read as they
-- are when a message is decided (committed, or changed by this
-- transaction), not as the statement's snapshot saw them: a value the
-- statement itself blocklists between two messages to it applies to the
-- second one already, and the next statement remembers no verdict of the
-- one before
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at)
SELECT 9300 + pg_temp.between(n, 'INSERT INTO omni.blocklist (kind, value, reason) '
                                 'VALUES (''email'', ''mia@stmt.test'', ''test'')'),
       'email', ' Mia@Stmt.test', 'email', 'transactional', '2026-07-01 12:00+00'
  FROM generate_series(1, 2) n;
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at)
VALUES (9303, 'email', ' Mia@Stmt.test', 'email', 'transactional', '2026-07-01 12:00+00');
SELECT * FROM m;
DELETE FROM omni.blocklist WHERE value = 'mia@stmt.test';

-- the identifier moves to another customer between two messages: the
-- second goes to that customer (the identifier's tuple is read again)
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at)
SELECT 9310 + pg_temp.between(n, 'UPDATE omni.identity SET customer_id = 930002 '
                                 'WHERE value = ''mia@stmt.test'''),
       'email', 'MIA@stmt.test', 'email', 'transactional', '2026-07-01 12:00+00'
  FROM generate_series(1, 2) n;
SELECT * FROM m WHERE n > 9310;

-- the identifier is deleted between two messages: the second has no
-- customer
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, category, created_at)
SELECT 9320 + pg_temp.between(n, 'DELETE FROM omni.identity WHERE value = ''noa@stmt.test'''),
       'email', 'noa@stmt.test', 'email', 'transactional', '2026-07-01 12:00+00'
  FROM generate_series(1, 2) n;
SELECT * FROM m WHERE n > 9320;

-- the customer's time zone changes between two calls at 20:30 UTC: 22:30
-- in Paris is inside the TCPA quiet hours (delayed to 08:00 Paris), 16:30
-- in New York is not (the customer's locked row is read again)
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at)
SELECT 9330 + pg_temp.between(n, 'UPDATE omni.customer SET time_zone = ''America/New_York'' '
                                 'WHERE customer_id = 930001'),
       'phone', '+33 6 11 22 33 44', 'call_center', '2026-07-01 20:30+00'
  FROM generate_series(1, 2) n;
SELECT * FROM m WHERE n > 9330;

-- the same recipient many times in one statement, and the preview, agree
-- with a message decided alone
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at)
SELECT 9340 + n, 'phone', '+33 6 11 22 33 44', 'call_center', '2026-07-02 01:00+00'
  FROM generate_series(1, 3) n;
SELECT * FROM m WHERE n > 9340;
SELECT status, customer, deliver_at, reasons
  FROM omni.would_suppress('phone', '+33 6 11 22 33 44', 'call_center',
                           created_at => '2026-07-02 01:00+00');

DELETE FROM omni.message WHERE priority BETWEEN 9300 AND 9399;
DELETE FROM omni.identity WHERE customer_id IN (930001, 930002);
DELETE FROM omni.customer WHERE customer_id IN (930001, 930002);
