-- The extension itself: its objects, their documentation and markings,
-- pg_dump registration, and a drop/create cycle in one database.
SELECT extname, extversion, extrelocatable, extnamespace::regnamespace AS schema
  FROM pg_extension WHERE extname = 'omnichannel';
SELECT omni.icu_version() ~ '^[0-9]+\.[0-9]+' AS icu_version_ok;

-- The managed data model.
SELECT c.relname, c.relkind
  FROM pg_class c
 WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
 ORDER BY c.relkind, c.relname;

-- Every object of the extension has a comment.
SELECT pg_describe_object(d.classid, d.objid, 0) AS undocumented
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'omnichannel')
   AND d.deptype = 'e'
   AND d.classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass,
                     'pg_am'::regclass, 'pg_opclass'::regclass, 'pg_opfamily'::regclass)
   AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
   AND NOT (d.classid = 'pg_type'::regclass
            AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = d.objid AND (t.typrelid <> 0 OR t.typelem <> 0)))
   AND NOT (d.classid = 'pg_class'::regclass
            AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.objid AND c.relkind = 'S'))
 ORDER BY 1;
-- Every column of every table and view has a comment.
SELECT c.relname, a.attname AS undocumented_column
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind IN ('r', 'v', 'p')
   AND col_description(c.oid, a.attnum) IS NULL
 ORDER BY 1, 2;
-- Every index has a comment.
SELECT i.relname AS undocumented_index
  FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid
 WHERE i.relnamespace = 'omni'::regnamespace
   AND obj_description(i.oid, 'pg_class') IS NULL
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid)
 ORDER BY 1;

-- Every table and sequence is registered for pg_dump.
SELECT c.relname AS not_dumped
  FROM pg_class c
 WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind IN ('r', 'S')
   AND c.oid NOT IN (SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'omnichannel')
 ORDER BY 1;

-- Every function says how parallel query may use it.
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.proisstrict
  FROM pg_proc p
 WHERE p.pronamespace = 'omni'::regnamespace AND p.proparallel = 'u'
 ORDER BY p.oid::regprocedure::text;

-- Bad rows are refused by the data model with a clear error.
INSERT INTO omni.channel (channel) VALUES ('Bad Channel');
INSERT INTO omni.customer (customer_id, created_at, merged_into, merged_at) VALUES (-1, '2026-01-01 00:00+00', -1, '2026-01-01 00:00+00');
INSERT INTO omni.identity_rule (kind, priority) VALUES ('fax', 0);
INSERT INTO omni.identity_rule (kind, priority, max_per_customer) VALUES ('fax', 5, 0);
INSERT INTO omni.identity_rule (kind, priority, normalizer) VALUES ('fax', 5, 'soundex');
INSERT INTO omni.customer (customer_id, created_at) VALUES (-100, '2026-01-01 00:00+00');
INSERT INTO omni.identity (kind, value, customer_id) VALUES ('fax', '+1 555', -100);
INSERT INTO omni.identity (identity_id, kind, value, customer_id) VALUES (-100, 'crm', 'X-1', -100);
INSERT INTO omni.touchpoint (identity_id, ts, channel, event) VALUES (-100, '2026-01-01 00:00+00', 'telegraph', 'ping');
INSERT INTO omni.touchpoint (identity_id, ts, channel, event) VALUES (-100, '2026-01-01 00:00+00', 'web', '');
INSERT INTO omni.suppression_rule (name, kind) VALUES ('no limit', 'frequency_cap');
INSERT INTO omni.suppression_rule (name, kind, quiet_start, quiet_end) VALUES ('empty', 'quiet_hours', '08:00', '08:00');
INSERT INTO omni.suppression_rule (name, kind, share) VALUES ('everyone', 'holdout', 1);
INSERT INTO omni.suppression_rule (name, kind, time_window, max_messages, action)
    VALUES ('delay cap', 'frequency_cap', '1 day', 3, 'delay');
INSERT INTO omni.consent (channel, status, granted_at) VALUES ('sms', 'opt_in', '2026-01-01 00:00+00');
INSERT INTO omni.message (recipient_kind, recipient, channel, created_at)
    VALUES ('email', 'a@b.example', 'telegraph', '2026-01-01 00:00+00');
DELETE FROM omni.identity WHERE identity_id = -100;
DELETE FROM omni.customer WHERE customer_id = -100;

-- Seeded configuration.
SELECT kind, priority, max_per_customer, normalizer FROM omni.identity_rule ORDER BY priority, kind;
SELECT count(*) AS blocklist_entries, count(*) FILTER (WHERE is_pattern) AS patterns FROM omni.blocklist;
SELECT channel, requires_opt_in FROM omni.channel ORDER BY channel;

-- Seeded rows: a change makes the row the DBA's (pg_dump keeps it), a
-- re-insert of a seeded key replaces the seeded row (what a restore does),
-- and a duplicate of a DBA's own row is still an error.
UPDATE omni.identity_rule SET max_per_customer = 2 WHERE kind = 'phone';
INSERT INTO omni.identity_rule (kind, priority, max_per_customer, normalizer) VALUES ('email', 4, 3, 'email');
INSERT INTO omni.identity_rule (kind, priority) VALUES ('passport', 2);
INSERT INTO omni.identity_rule (kind, priority) VALUES ('passport', 3);
SELECT kind, priority, max_per_customer, builtin FROM omni.identity_rule
 WHERE kind IN ('phone', 'email', 'passport', 'crm') ORDER BY kind;
INSERT INTO omni.blocklist (kind, value, is_pattern, reason) VALUES (NULL, 'guest', false, 'seen in our forms');
SELECT value, reason, builtin FROM omni.blocklist WHERE value = 'guest';
SELECT count(*) AS dumped_channels FROM omni.channel WHERE NOT builtin;

-- Drop and create again in the same database.
DROP EXTENSION omnichannel;
SELECT count(*) AS objects_left FROM pg_class WHERE relnamespace = 'omni'::regnamespace;
CREATE EXTENSION omnichannel;
SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'omni';
SELECT count(*) AS rules FROM omni.identity_rule;
