/*
 * Data for the SQLsmith run (test/sqlsmith.sh): after test/data/generate.sql
 * and test/data/load.sql have filled the identity tables and touchpoints,
 * give every other table of the extension rows too, so that random queries
 * over any of them reach our code with real values: suppression rules of
 * every kind, consents, an outbox decided by the trigger, a blocked value,
 * merges, an erased customer and a rejected staging row.  Then the generator's
 * schema goes (its functions are not ours to test), the statistics are
 * gathered, and the login role SQLsmith runs as is made.
 */
\set ON_ERROR_STOP on
SET client_min_messages = warning;

INSERT INTO omni.suppression_rule (name, kind, channels, categories, max_messages, time_window, calendar_day) VALUES
    ('two_a_day', 'frequency_cap', NULL, NULL, 2, '1 day', false),
    ('one_text_a_local_day', 'frequency_cap', '{sms}', NULL, 1, NULL, true);
INSERT INTO omni.suppression_rule (name, kind, event, time_window, match_topic) VALUES
    ('no_discount_after_purchase', 'recent_event', 'purchase', '30 days', true);
INSERT INTO omni.suppression_rule (name, kind, time_window) VALUES ('campaign_once', 'same_campaign', '3 days');
INSERT INTO omni.suppression_rule (name, kind, share) VALUES ('holdout_2026', 'holdout', 0.05);

-- opt-ins for most customers on sms, an opt-out on e-mail for some,
-- and one per identifier for a few phone numbers
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at)
SELECT customer_id, 'sms', 'opt_in', 'checkout', '2025-11-01 00:00+00'
  FROM omni.customer WHERE merged_into IS NULL AND customer_id % 10 < 7;
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at, revoked_at)
SELECT customer_id, 'email', 'opt_out', 'unsubscribe link', '2025-11-02 00:00+00',
       CASE WHEN customer_id % 2 = 0 THEN timestamptz '2025-11-20 00:00+00' END
  FROM omni.customer WHERE merged_into IS NULL AND customer_id % 10 = 9;
INSERT INTO omni.consent (identity_id, channel, purpose, status, granted_at, expires_at)
SELECT identity_id, 'whatsapp', 'transactional', 'opt_in', '2025-11-01 00:00+00', '2026-11-01 00:00+00'
  FROM omni.identity WHERE kind = 'phone' AND identity_id % 5 = 0;

-- the outbox, decided by the suppression trigger as it is inserted
INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, category, topic, created_at)
SELECT o.recipient_kind,
       CASE WHEN o.recipient_kind = 'phone'
            THEN coalesce(omni.try_normalize('phone', o.recipient, p.country), o.recipient)
            ELSE o.recipient END,
       o.channel, o.campaign, o.category, o.topic, o.created_at
  FROM gen.outbound o JOIN gen.person p USING (person_id)
 ORDER BY o.created_at, o.outbound_no;

-- merges: a cookie of one customer seen with a device of another
SELECT count(omni.link('cookie', a.value, 'device', b.value, 'web_login', '2025-12-01 00:00+00'))
  FROM (SELECT value, row_number() OVER (ORDER BY identity_id) n FROM omni.identity WHERE kind = 'cookie') a
  JOIN (SELECT value, row_number() OVER (ORDER BY identity_id DESC) n FROM omni.identity WHERE kind = 'device') b
 USING (n)
 WHERE n <= 10;

-- a blocked shared value, an erased customer, a refused staging row
INSERT INTO omni.blocklist (kind, value, reason) VALUES ('email', 'info@example.com', 'shared mailbox');
SELECT omni.forget(customer_id) FROM omni.customer WHERE merged_into IS NULL ORDER BY customer_id LIMIT 1;
INSERT INTO omni.link_staging (kind_a, value_a, source) VALUES ('phone', '000-000-0000', 'import');
SELECT count(*) FROM omni.resolve_all();

DROP SCHEMA gen CASCADE;
ANALYZE;

-- SQLsmith runs as a member of omni_admin, not as a superuser: a crash a
-- non-superuser can cause is the one that matters, and random calls of the
-- superuser-only administration functions (pg_terminate_backend, ...) are
-- not what is being tested.
CREATE ROLE omni_smith LOGIN IN ROLE omni_admin;
GRANT CREATE, TEMPORARY ON DATABASE omni_smith TO omni_smith;

-- SQLsmith draws the functions it calls from "pg_proc", unqualified, where
-- omni's few dozen are lost among PostgreSQL's three thousand.  The role it
-- runs as finds a view of the same name first on its search_path: every
-- function and aggregate of omni, and a fixed sample of one in sixteen of
-- pg_catalog's (enough for the casts and comparisons queries need), less
-- those with polymorphic arguments or results (anyelement, anyrange, ...),
-- which SQLsmith takes for concrete types and calls only with errors.
CREATE SCHEMA smith;
CREATE VIEW smith.pg_proc AS
SELECT * FROM pg_catalog.pg_proc p
 WHERE (p.pronamespace = 'omni'::regnamespace
        OR (p.pronamespace = 'pg_catalog'::regnamespace AND pg_catalog.hashtext(p.proname) % 16 = 0))
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_type t
                    WHERE t.oid = ANY (p.proargtypes::oid[] || p.prorettype)
                      AND t.typtype = 'p' AND t.typname LIKE 'any%');
GRANT USAGE ON SCHEMA smith TO omni_smith;
GRANT SELECT ON smith.pg_proc TO omni_smith;
ALTER ROLE omni_smith SET search_path = smith, pg_catalog, public;

-- every table of the extension has rows
SELECT c.relname AS empty_table
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind = 'r'
   AND (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM omni.%I', c.relname), false, true, '')))[1]::text::bigint = 0
 ORDER BY 1;
