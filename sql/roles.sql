-- Roles: omni_admin, omni_writer and omni_reader, what each may do and what
-- each is refused (SQLSTATE 42501), run as login-less members of each role.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET omni.default_time_zone = 'UTC';

-- The roles exist, cannot log in, and omni_admin is a member of the others.
SELECT rolname, rolcanlogin, rolinherit FROM pg_roles WHERE rolname LIKE 'omni\_%' ORDER BY 1;
SELECT r.rolname AS role, m.rolname AS member_of
  FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.member JOIN pg_roles m ON m.oid = a.roleid
 WHERE r.rolname LIKE 'omni\_%' ORDER BY 1, 2;

-- What is granted, directly, on the extension's relations and columns.
SELECT c.relname, a.grantee::regrole AS grantee,
       string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type) AS privileges
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'omni'::regnamespace AND a.grantee <> c.relowner
 GROUP BY c.relkind, c.relname, a.grantee ORDER BY c.relkind, c.relname, 2::text;
SELECT c.relname, a.grantee::regrole AS grantee, a.privilege_type,
       string_agg(t.attname, ', ' ORDER BY t.attnum) AS columns
  FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a
 WHERE c.relnamespace = 'omni'::regnamespace
 GROUP BY c.relname, a.grantee, a.privilege_type ORDER BY 1, 2::text, 3;
-- Functions PUBLIC may not execute, and who may.
SELECT p.oid::regprocedure AS function,
       (SELECT string_agg(a.grantee::regrole::text, ', ' ORDER BY a.grantee::regrole::text)
          FROM aclexplode(p.proacl) a WHERE a.grantee <> p.proowner) AS granted_to
  FROM pg_proc p
 WHERE p.pronamespace = 'omni'::regnamespace
   AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;
SELECT has_schema_privilege('public', 'omni', 'USAGE') AS public_usage,
       has_table_privilege('omni_admin', 'omni.secret', 'SELECT') AS admin_reads_key;

-- Members of each role, for the test (NOLOGIN: SET ROLE only).
CREATE ROLE regress_omni_reader IN ROLE omni_reader;
CREATE ROLE regress_omni_writer IN ROLE omni_writer;
CREATE ROLE regress_omni_admin IN ROLE omni_admin;

--
-- omni_writer: ingestion and the outbox.
--
SET ROLE regress_omni_writer;
SELECT omni.touch('email', 'Ann.Roles@Shop.test', 'web', 'page_view', '2026-05-01 10:00+00') > 0 AS touched;
SELECT omni.identify('phone', '+1 (415) 555-0101') > 0 AS identified;
SELECT omni.link('email', 'ann.roles@shop.test', 'phone', '+14155550101', 'checkout',
                 '2026-05-01 10:05+00') > 0 AS linked;
SELECT omni.customer_of('email', 'ann.roles@shop.test')
       = omni.customer_of('phone', '4155550101') AS one_customer;
-- two identifiers never seen before: a customer is made for them
SELECT omni.link('device', 'dev-roles-1', 'cookie', 'ck-roles-1', 'app_login', '2026-05-01 08:00+00') > 0 AS linked_new,
       omni.customer_of('device', 'dev-roles-1') = omni.customer_of('cookie', 'ck-roles-1') AS one_customer;
SELECT omni.touch('phone', '+14155550101', 'email', 'email_open', '2026-05-01 11:00+00') > 0 AS touched,
       omni.touch('phone', '+14155550101', 'store', 'purchase', '2026-05-02 15:00+00') > 0 AS touched;
-- a merge the writer's link made is logged
SELECT count(*) AS merges FROM omni.merge_log m JOIN omni.identity i ON i.customer_id = m.survivor
 WHERE i.kind = 'email' AND i.value = 'ann.roles@shop.test';
-- the bulk path: staging rows (resolved by omni_admin)
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at)
VALUES ('email', 'Cy.Roles@Shop.test', 'crm', 'ROLES-3', 'import', '2026-05-01 09:00+00');
SELECT kind_a, value_a, error FROM omni.link_staging WHERE source = 'import' AND value_b = 'ROLES-3';
-- messages: decisions and reasons come back (sms needs an opt-in)
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at) VALUES
    (2001, 'email', 'ann.roles@shop.test', 'email', '2026-05-03 12:00+00'),
    (2002, 'phone', '+14155550101', 'sms', '2026-05-03 12:00+00'),
    (2003, 'email', 'nobody.roles@shop.test', 'email', '2026-05-03 12:00+00')
RETURNING priority, status, reasons, customer_id IS NOT NULL AS has_customer;
SELECT priority, status, reasons FROM omni.message WHERE priority BETWEEN 2001 AND 2099 ORDER BY priority;
SELECT status, reasons, details FROM omni.would_suppress('phone', '+14155550101', 'sms',
                                                        created_at => '2026-05-03 12:00+00');
-- refused: the key, administration, rules, consent, other people's views
SELECT hmac_key FROM omni.secret;
\echo :LAST_ERROR_SQLSTATE
SELECT omni.identifier_hash('email', 'ann.roles@shop.test');
\echo :LAST_ERROR_SQLSTATE
SELECT omni.forget(omni.customer_of('email', 'ann.roles@shop.test'));
\echo :LAST_ERROR_SQLSTATE
SELECT omni.unmerge(1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM omni.resolve_all();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM omni.timeline_check('omni.touchpoint_timeline_idx');
\echo :LAST_ERROR_SQLSTATE
UPDATE omni.suppression_rule SET enabled = false WHERE name = 'consent';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO omni.suppression_rule (name, kind, max_messages, time_window)
VALUES ('regress cap', 'frequency_cap', 0, '1 day');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO omni.consent (customer_id, channel, status)
VALUES (omni.customer_of('email', 'ann.roles@shop.test'), 'sms', 'opt_in');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO omni.blocklist (value, reason) VALUES ('regress', 'test');
\echo :LAST_ERROR_SQLSTATE
UPDATE omni.identity_rule SET max_per_customer = 1 WHERE kind = 'email';
\echo :LAST_ERROR_SQLSTATE
-- a message the writer marks as decided would bypass the rules
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at, status, decided_at)
VALUES (2090, 'phone', '+14155550101', 'sms', '2026-05-03 12:00+00', 'queued', now());
\echo :LAST_ERROR_SQLSTATE
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, status)
VALUES (2091, 'phone', '+14155550101', 'sms', 'queued');
\echo :LAST_ERROR_SQLSTATE
UPDATE omni.message SET status = 'queued' WHERE priority = 2002;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM omni.message WHERE priority = 2002;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM omni.touchpoint;
\echo :LAST_ERROR_SQLSTATE
UPDATE omni.identity SET value = 'x' WHERE kind = 'phone' AND value = '+14155550101';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM omni.customer_journey;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

--
-- omni_reader: the BI views, nothing else.
--
SELECT omni.customer_of('email', 'ann.roles@shop.test') AS ann \gset
SET ROLE regress_omni_reader;
SELECT steps, channels, path, converted FROM omni.customer_journey WHERE customer_id = :ann;
SELECT transitions >= 1 AS web_to_email FROM omni.channel_transition
 WHERE from_channel = 'web' AND to_channel = 'email';
SELECT array_agg(DISTINCT model ORDER BY model) AS models FROM omni.channel_attribution;
-- refused: the tables behind the views, ingestion, the outbox, administration
SELECT kind, value FROM omni.identity LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM omni.touchpoint;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM omni.customer;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM omni.message;
\echo :LAST_ERROR_SQLSTATE
SELECT omni.touch('email', 'ann.roles@shop.test', 'web', 'page_view');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO omni.message (recipient_kind, recipient, channel) VALUES ('email', 'ann.roles@shop.test', 'email');
\echo :LAST_ERROR_SQLSTATE
SELECT omni.forget(:ann);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

--
-- omni_admin: everything the others do, and rules, consent, erasure.
--
SET ROLE regress_omni_admin;
-- the views (omni_reader) and ingestion (omni_writer)
SELECT steps, path FROM omni.customer_journey WHERE customer_id = :ann;
SELECT omni.touch('email', 'ann.roles@shop.test', 'app', 'app_open', '2026-05-02 16:00+00') > 0 AS touched;
-- rules
INSERT INTO omni.suppression_rule (name, kind, channels, max_messages, time_window)
VALUES ('regress one email a day', 'frequency_cap', '{email}', 1, '1 day');
UPDATE omni.suppression_rule SET enabled = false WHERE name = 'regress one email a day';
UPDATE omni.suppression_rule SET enabled = true WHERE name = 'regress one email a day';
INSERT INTO omni.channel (channel, requires_opt_in, description) VALUES ('regress_fax', true, 'test');
DELETE FROM omni.channel WHERE channel = 'regress_fax';
INSERT INTO omni.blocklist (kind, value, reason) VALUES ('email', 'regress@roles.test', 'test');
DELETE FROM omni.blocklist WHERE value = 'regress@roles.test';
INSERT INTO omni.identity_rule (kind, priority, max_per_customer) VALUES ('regress_badge', 4, 1);
DELETE FROM omni.identity_rule WHERE kind = 'regress_badge';
-- consent: an sms opt-in lets texts go
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at)
VALUES (:ann, 'sms', 'opt_in', 'regress', '2026-05-01 00:00+00');
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at) VALUES
    (2004, 'phone', '+14155550101', 'sms', '2026-05-03 12:00+00'),
    (2005, 'email', 'ann.roles@shop.test', 'email', '2026-05-03 13:00+00')
RETURNING priority, status, reasons;
DELETE FROM omni.suppression_rule WHERE name = 'regress one email a day';
-- identity administration: unmerge, the bulk resolution, the index check
SELECT merge_id AS m FROM omni.merge_log WHERE survivor = :ann AND unmerged_at IS NULL \gset
SELECT omni.unmerge(:m) AS identifiers_given_back;
SELECT omni.customer_of('phone', '+14155550101') <> :ann AS phone_split_off;
SET client_min_messages = warning;   -- the progress NOTICEs quote row estimates
SELECT invalid_rows FROM omni.resolve_all();
RESET client_min_messages;
SELECT count(*) AS staged_left FROM omni.link_staging WHERE value_b = 'ROLES-3';
SELECT omni.customer_of('crm', 'ROLES-3') = omni.customer_of('email', 'cy.roles@shop.test') AS resolved;
SELECT live_rows >= 4 AS checked FROM omni.timeline_check('omni.touchpoint_timeline_idx');
SELECT length(omni.identifier_hash('email', 'ann.roles@shop.test')) AS hash_bytes;
-- erasure
SELECT omni.forget(:ann) AS erased;
SELECT count(*) AS left_of_ann FROM omni.identity WHERE value = 'ann.roles@shop.test';
SELECT count(*) AS forgotten FROM omni.forgotten
 WHERE hash = omni.identifier_hash('email', 'ann.roles@shop.test');
-- the key stays with the extension's owner
SELECT hmac_key FROM omni.secret;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The writer's messages to the erased address are suppressed: the trigger
-- computes the keyed hash without the writer being able to read the key.
SET ROLE regress_omni_writer;
INSERT INTO omni.message (priority, recipient_kind, recipient, channel, created_at)
VALUES (2006, 'email', 'Ann.Roles@Shop.test', 'email', '2026-05-04 12:00+00')
RETURNING priority, status, reasons;
SELECT status, reasons FROM omni.would_suppress('email', 'ann.roles@shop.test', 'email');
RESET ROLE;

--
-- CREATE EXTENSION in a second database, and again after DROP EXTENSION:
-- the roles are kept, and the privileges are given again.
--
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_omni_roles;
\c regress_omni_roles
CREATE EXTENSION omnichannel;
DROP EXTENSION omnichannel;
CREATE EXTENSION omnichannel;
SELECT has_column_privilege('omni_writer', 'omni.message', 'recipient', 'INSERT') AS writer_inserts,
       has_column_privilege('omni_writer', 'omni.message', 'decided_at', 'INSERT') AS writer_decides,
       has_table_privilege('omni_reader', 'omni.identity', 'SELECT') AS reader_reads_identity,
       has_function_privilege('omni_admin', 'omni.forget(bigint)', 'EXECUTE') AS admin_forgets,
       has_function_privilege('omni_writer', 'omni.forget(bigint)', 'EXECUTE') AS writer_forgets;
SELECT count(*) AS omni_roles FROM pg_roles WHERE rolname LIKE 'omni\_%';
\c :regress_db
DROP DATABASE regress_omni_roles;

-- Clean up.
SET TimeZone = 'UTC';
DELETE FROM omni.message WHERE priority BETWEEN 2001 AND 2099;
SELECT omni.forget(omni.customer_of('phone', '+14155550101')) AS erased_phone,
       omni.forget(omni.customer_of('crm', 'ROLES-3')) AS erased_cy,
       omni.forget(omni.customer_of('device', 'dev-roles-1')) AS erased_device;
DELETE FROM omni.forgotten
 WHERE hash IN (omni.identifier_hash('email', 'ann.roles@shop.test'),
                omni.identifier_hash('phone', '+14155550101'),
                omni.identifier_hash('email', 'cy.roles@shop.test'),
                omni.identifier_hash('crm', 'ROLES-3'),
                omni.identifier_hash('device', 'dev-roles-1'),
                omni.identifier_hash('cookie', 'ck-roles-1'));
DROP OWNED BY regress_omni_reader, regress_omni_writer, regress_omni_admin;
DROP ROLE regress_omni_reader, regress_omni_writer, regress_omni_admin;
SELECT count(*) AS identities_left FROM omni.identity WHERE value ILIKE '%roles%' OR value = '+14155550101';
SELECT count(*) AS hashes_left FROM omni.forgotten f
 WHERE f.hash IN (omni.identifier_hash('email', 'ann.roles@shop.test'), omni.identifier_hash('cookie', 'ck-roles-1'));
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname LIKE 'regress\_omni\_%';

-- A role with no omni membership creates triggers of its own as before: the
-- extension's event trigger finds omni.suppress() without a name lookup in
-- schema omni, which that role may not use.
CREATE ROLE regress_plain;
CREATE SCHEMA regress_plain AUTHORIZATION regress_plain;
SET ROLE regress_plain;
CREATE TABLE regress_plain.t (a int);
CREATE FUNCTION regress_plain.f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.a := NEW.a + 1; RETURN NEW; END $$;
CREATE TRIGGER t_f BEFORE INSERT ON regress_plain.t FOR EACH ROW EXECUTE FUNCTION regress_plain.f();
INSERT INTO regress_plain.t VALUES (1) RETURNING a;
RESET ROLE;
DROP SCHEMA regress_plain CASCADE;
DROP ROLE regress_plain;
