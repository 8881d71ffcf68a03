-- omni.suppress() on an application's own outbox: trigger arguments map the
-- fields of a message to the table's columns (field=column); fields with no
-- argument are read from the column of the same name.  Caps count in the
-- table the trigger fires on.  Every bad mapping is a clear error.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET omni.default_time_zone = 'UTC';

INSERT INTO omni.customer (customer_id, time_zone) VALUES (900301, 'Europe/Berlin');
INSERT INTO omni.identity (kind, value, customer_id) VALUES ('email', 'lea@shop.test', 900301);
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window) VALUES
    ('one_a_day', 'frequency_cap', 1, '1 day');

CREATE TABLE outbox (
    id          serial PRIMARY KEY,
    cust        bigint,
    addr_kind   text,
    addr        varchar(200),
    chan        text NOT NULL,
    tag         text NOT NULL DEFAULT 'marketing',
    camp        text,
    queued_at   timestamptz NOT NULL DEFAULT now(),
    go_at       timestamptz,
    state       text,
    why         text[],
    body        text
);
CREATE INDEX ON outbox (cust, queued_at);
CREATE TRIGGER outbox_suppress BEFORE INSERT ON outbox FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'recipient_kind=addr_kind', 'recipient=addr',
                                   'channel=chan', 'category=tag', 'campaign=camp',
                                   'created_at=queued_at', 'send_at=go_at', 'status=state', 'reasons=why');
INSERT INTO outbox (addr_kind, addr, chan, queued_at, body) VALUES
    ('email', 'LEA@shop.test', 'email', '2026-04-01 10:00+00', 'hello'),
    ('email', 'lea@shop.test', 'push', '2026-04-01 11:00+00', 'hello again'),
    ('email', 'lea@shop.test', 'email', '2026-04-02 10:00:01+00', 'next day'),
    ('email', 'who@shop.test', 'email', '2026-04-02 10:00:01+00', 'to nobody');
INSERT INTO outbox (cust, chan, tag, queued_at, body) VALUES
    (900301, 'sms', 'transactional', '2026-04-02 22:00+00', 'your parcel');
SELECT id, cust, chan, tag, queued_at, go_at, state, why, body FROM outbox ORDER BY id;
-- caps count in the table the trigger fires on: omni.message is another outbox
INSERT INTO omni.message (recipient_kind, recipient, channel, created_at, priority)
    VALUES ('email', 'lea@shop.test', 'email', '2026-04-02 12:00+00', 4001);
SELECT status, reasons FROM omni.message WHERE priority = 4001;
DELETE FROM omni.message WHERE priority = 4001;

-- with no arguments, every field is read from the column of its name; an
-- integer customer column and no recipient columns are fine
CREATE TABLE outbox_plain (
    customer_id integer,
    channel     varchar(20),
    created_at  timestamptz DEFAULT now(),
    send_at     timestamptz,
    status      text,
    reasons     text[],
    decided_at  timestamptz
);
CREATE TRIGGER outbox_plain_suppress BEFORE INSERT ON outbox_plain FOR EACH ROW
    EXECUTE FUNCTION omni.suppress();
INSERT INTO outbox_plain (customer_id, channel, created_at) VALUES
    (900301, 'email', '2026-04-01 10:00+00'),
    (900301, 'email', '2026-04-01 10:30+00'),
    (NULL, 'email', '2026-04-01 10:30+00');
SELECT customer_id, channel, created_at, status, reasons, decided_at IS NOT NULL AS decided
  FROM outbox_plain ORDER BY created_at, customer_id;
-- a row that arrives already decided (a restore) is kept as it is
INSERT INTO outbox_plain (customer_id, channel, created_at, status, reasons, decided_at) VALUES
    (900301, 'email', '2026-04-01 11:00+00', 'queued', '{}', '2026-04-01 11:00+00');
SELECT count(*) FILTER (WHERE status = 'queued') AS queued FROM outbox_plain;
-- a customer id too wide for an integer column
INSERT INTO omni.customer (customer_id) VALUES (3000000001);
INSERT INTO omni.identity (kind, value, customer_id) VALUES ('email', 'wide@shop.test', 3000000001);
CREATE TABLE outbox_narrow (customer_id integer, recipient_kind text, recipient text, channel text,
                            created_at timestamptz, send_at timestamptz, status text, reasons text[]);
CREATE TRIGGER outbox_narrow_suppress BEFORE INSERT ON outbox_narrow FOR EACH ROW
    EXECUTE FUNCTION omni.suppress();
INSERT INTO outbox_narrow (recipient_kind, recipient, channel, created_at)
    VALUES ('email', 'wide@shop.test', 'email', '2026-04-01 10:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO outbox_narrow (recipient_kind, recipient, channel, created_at)
    VALUES ('email', 'lea@shop.test', NULL, '2026-04-01 10:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO outbox_narrow (recipient_kind, recipient, channel, created_at)
    VALUES ('email', 'lea@shop.test', 'telegraph', '2026-04-01 10:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

--
-- Bad mappings and bad firings are reported by CREATE TRIGGER (the event
-- trigger omni_suppress_trigger_check), and again at insert if the table
-- changed since
--
CREATE TABLE bad (cust bigint, chan text, at timestamptz, later timestamptz, state text, why text[],
                  note text, n integer);
CREATE FUNCTION try_mapping(VARIADIC args text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'DROP TRIGGER IF EXISTS bad_suppress ON bad';
    EXECUTE format('CREATE TRIGGER bad_suppress BEFORE INSERT ON bad FOR EACH ROW EXECUTE FUNCTION omni.suppress(%s)',
                   (SELECT string_agg(quote_literal(a), ', ') FROM unnest(args) a));
END $$;
SET client_min_messages = warning;
\set VERBOSITY default
SELECT try_mapping('customer_id=cust', 'channel', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', '=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'colour=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=chan', 'channel=note', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=nosuch', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=chan', 'created_at=note', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=note');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=chan', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=n', 'channel=chan', 'created_at=at', 'send_at=at', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why', 'recipient=note');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT try_mapping('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why', 'customer_id=n');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- system columns are not columns of the mapping
SELECT try_mapping('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why', 'topic=ctid');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a good mapping
SELECT try_mapping('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why', 'topic=note');
INSERT INTO bad (cust, chan, at) VALUES (900301, 'email', '2026-04-01 10:00+00');
SELECT cust, chan, state, why FROM bad;
-- a column renamed after the trigger was created: the insert says so
ALTER TABLE bad RENAME COLUMN state TO stage;
INSERT INTO bad (cust, chan, at) VALUES (900301, 'email', '2026-04-01 11:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE bad RENAME COLUMN stage TO state;
DROP TRIGGER bad_suppress ON bad;
-- fired other than BEFORE INSERT FOR EACH ROW
CREATE TRIGGER bad_after AFTER INSERT ON bad FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TRIGGER bad_statement BEFORE INSERT ON bad FOR EACH STATEMENT
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TRIGGER bad_update BEFORE INSERT OR UPDATE ON bad FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- with the event trigger disabled, the trigger itself refuses to run
ALTER EVENT TRIGGER omni_suppress_trigger_check DISABLE;
CREATE TRIGGER bad_after AFTER INSERT ON bad FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
CREATE TRIGGER bad_update BEFORE INSERT OR UPDATE ON bad FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
ALTER EVENT TRIGGER omni_suppress_trigger_check ENABLE;
INSERT INTO bad (cust, chan, at) VALUES (900301, 'email', '2026-04-01 10:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TRIGGER bad_after ON bad;
UPDATE bad SET note = 'changed';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TRIGGER bad_update ON bad;
SELECT omni.suppress();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET client_min_messages;

-- with an index on (customer, the time a message goes out), an integer
-- customer column is counted through the index (one on created_at alone
-- does not do: the table has a send_at); a message refused inside a
-- subtransaction leaves the next one decided as usual
CREATE INDEX ON outbox_plain (customer_id, created_at);
CREATE INDEX outbox_plain_out_idx ON outbox_plain (customer_id, (coalesce(send_at, created_at)));
SELECT pg_stat_force_next_flush();
SELECT coalesce(idx_scan, 0) AS scans_before FROM pg_stat_user_indexes
 WHERE indexrelname = 'outbox_plain_out_idx' \gset
INSERT INTO outbox_plain (customer_id, channel, created_at) VALUES (900301, 'email', '2026-04-01 12:00+00');
SELECT pg_stat_force_next_flush();
SELECT idx_scan > :scans_before AS counted_through_the_index FROM pg_stat_user_indexes
 WHERE indexrelname = 'outbox_plain_out_idx';
DO $$
BEGIN
    BEGIN
        INSERT INTO outbox_plain (customer_id, channel, created_at) VALUES (900999, 'email', '2026-04-02 12:00+00');
    EXCEPTION WHEN foreign_key_violation THEN
        RAISE NOTICE 'refused: %', SQLERRM;
    END;
    INSERT INTO outbox_plain (customer_id, channel, created_at) VALUES (900301, 'email', '2026-04-02 12:00+00');
END $$;
SELECT customer_id, channel, created_at, status, reasons FROM outbox_plain
 WHERE created_at >= '2026-04-01 12:00+00' ORDER BY created_at;

-- the columns the trigger writes must be of the plain type: a length limit,
-- a precision or a domain's constraint would not be checked
CREATE DOMAIN outbox_state AS text CHECK (VALUE IN ('new', 'sent'));
CREATE DOMAIN outbox_id AS bigint;
CREATE TABLE typed (cust bigint, chan text, at timestamptz, later timestamptz, state varchar(6),
                    why text[], state2 outbox_state, later0 timestamptz(0), cust2 outbox_id);
CREATE TRIGGER typed_suppress BEFORE INSERT ON typed FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TRIGGER typed_suppress BEFORE INSERT ON typed FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state2', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TRIGGER typed_suppress BEFORE INSERT ON typed FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later0', 'status=state2', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TRIGGER typed_suppress BEFORE INSERT ON typed FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust2', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a read field may be of any text type
ALTER TABLE typed ALTER COLUMN chan TYPE varchar(10), ALTER COLUMN state TYPE text;
CREATE TRIGGER typed_suppress BEFORE INSERT ON typed FOR EACH ROW
    EXECUTE FUNCTION omni.suppress('customer_id=cust', 'channel=chan', 'created_at=at', 'send_at=later', 'status=state', 'reasons=why');
INSERT INTO typed (cust, chan, at) VALUES (900301, 'email', '2026-04-05 10:00+00');
SELECT chan, state, why FROM typed;

-- a NULL category is decided, and counted, as marketing
INSERT INTO omni.suppression_rule (name, kind, categories, max_messages, time_window) VALUES
    ('one_marketing_a_week', 'frequency_cap', '{marketing}', 1, '7 days');
CREATE TABLE outbox_nullcat (customer_id bigint, channel text, category text, created_at timestamptz,
                             send_at timestamptz, status text, reasons text[]);
CREATE INDEX ON outbox_nullcat (customer_id, (coalesce(send_at, created_at)));
CREATE TRIGGER outbox_nullcat_suppress BEFORE INSERT ON outbox_nullcat FOR EACH ROW
    EXECUTE FUNCTION omni.suppress();
INSERT INTO outbox_nullcat (customer_id, channel, category, created_at) VALUES
    (900301, 'email', NULL, '2026-05-01 10:00+00'),
    (900301, 'email', NULL, '2026-05-02 10:00+00'),
    (900301, 'email', 'marketing', '2026-05-03 10:00+00');
SELECT category, created_at, status, reasons FROM outbox_nullcat ORDER BY created_at;
DELETE FROM omni.suppression_rule WHERE name = 'one_marketing_a_week';

-- a partitioned outbox: a cap over all channels counts every partition,
-- inserted through the partitioned table or straight into a partition
CREATE TABLE outbox_parted (customer_id bigint, channel text, created_at timestamptz,
                            send_at timestamptz, status text, reasons text[]) PARTITION BY LIST (channel);
CREATE TABLE outbox_parted_email PARTITION OF outbox_parted FOR VALUES IN ('email');
CREATE TABLE outbox_parted_other PARTITION OF outbox_parted DEFAULT;
CREATE INDEX ON outbox_parted (customer_id, (coalesce(send_at, created_at)));
CREATE TRIGGER outbox_parted_suppress BEFORE INSERT ON outbox_parted FOR EACH ROW
    EXECUTE FUNCTION omni.suppress();
INSERT INTO outbox_parted (customer_id, channel, created_at) VALUES
    (900301, 'email', '2026-06-01 10:00+00'),
    (900301, 'push', '2026-06-01 11:00+00');
INSERT INTO outbox_parted_other (customer_id, channel, created_at) VALUES
    (900301, 'push', '2026-06-02 11:00+00');
INSERT INTO outbox_parted_email (customer_id, channel, created_at) VALUES
    (900301, 'email', '2026-06-03 10:00+00');
SELECT tableoid::regclass AS part, channel, created_at, status, reasons FROM outbox_parted ORDER BY created_at;

DROP TABLE outbox, outbox_plain, outbox_narrow, bad, typed, outbox_nullcat, outbox_parted;
DROP DOMAIN outbox_state, outbox_id;
DROP FUNCTION try_mapping(text[]);
DELETE FROM omni.suppression_rule WHERE name = 'one_a_day';
DELETE FROM omni.identity WHERE customer_id IN (900301, 3000000001);
DELETE FROM omni.customer WHERE customer_id IN (900301, 3000000001);
