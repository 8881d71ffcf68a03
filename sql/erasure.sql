-- Erasure: after omni.forget(customer), no plaintext of the customer's
-- identifiers is left in any table or view of schema omni.  The customer's
-- identifiers are used everywhere first (identities, links and their
-- sources, staged rows read and unreadable, touchpoints with campaign, topic
-- and properties holding them, messages, consents, merges, customer
-- attributes, a blocked value); then every column of every relation of the
-- schema, found in the catalog (so columns added later are searched too),
-- is searched for the raw spellings, the normalized values and their case
-- variants.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET omni.default_time_zone = 'UTC';
CREATE TEMP TABLE seq_before AS
SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value FROM pg_sequences WHERE schemaname = 'omni';

-- The search: every column of every table, view and materialized view of
-- omni whose type can hold text (anything but numbers, times, intervals and
-- booleans: text, jsonb, arrays, bytea, composite and custom types), as
-- text, compared without regard to case.
CREATE FUNCTION pg_temp.plaintext_hits(markers text[])
RETURNS TABLE (relname name, attname name, marker text, hits bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT r.oid, r.relname, a.attname
               FROM pg_class r
               JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
               JOIN pg_type t ON t.oid = a.atttypid
              WHERE r.relnamespace = 'omni'::regnamespace AND r.relkind IN ('r', 'p', 'v', 'm')
                AND t.typcategory NOT IN ('N', 'D', 'T', 'B')
              ORDER BY r.relname, a.attnum
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::name, %L::name, m, count(*) FROM %s t, unnest($1) m
              WHERE strpos(lower(t.%I::text), lower(m)) > 0 GROUP BY m',
            c.relname, c.attname, c.oid::regclass, c.attname) USING markers;
    END LOOP;
END
$$;
-- which columns it searches
SELECT r.relname, string_agg(a.attname, ', ' ORDER BY a.attnum) AS searched_columns
  FROM pg_class r
  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
 WHERE r.relnamespace = 'omni'::regnamespace AND r.relkind IN ('r', 'p', 'v', 'm')
   AND t.typcategory NOT IN ('N', 'D', 'T', 'B')
 GROUP BY r.relname ORDER BY r.relname;

-- Erin's identifiers, raw and normalized.
CREATE TEMP TABLE erin (marker text);
INSERT INTO erin VALUES
    ('Erin.Erase+Promo@GoogleMail.com'), ('erinerase@gmail.com'),
    ('erin.work@erase-corp.test'),
    ('+1 (415) 555-0199'), ('+14155550199'), ('4155550199'),
    ('CK-Erase-77'), ('ERASE-CRM-1'), ('dev-erase-1'), ('LOY-ERASE-9');

-- A message to her address before anyone knew it (kept, suppressed).
INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, created_at, priority)
VALUES ('email', 'ERIN.ERASE+promo@googlemail.com', 'email', 'early bird', '2026-03-01 09:00+00', 4001)
RETURNING status, reasons;

-- Her identifiers, touchpoints holding them in every free-form field.
SELECT omni.touch('email', 'Erin.Erase+Promo@GoogleMail.com', 'web', 'page_view', '2026-03-02 10:00+00',
                  campaign => 'promo for erinerase@gmail.com', topic => 'CK-Erase-77',
                  properties => '{"email": "Erin.Erase+Promo@GoogleMail.com", "phone": "+1 (415) 555-0199",
                                  "tags": ["ck-erase-77"], "nested": {"crm": "erase-crm-1"}}') > 0 AS touched;
SELECT omni.link('email', 'erinerase@gmail.com', 'cookie', 'CK-Erase-77', 'login of erinerase@gmail.com',
                 '2026-03-02 10:01+00') > 0 AS linked;
SELECT omni.touch('cookie', 'CK-Erase-77', 'app', 'add_to_cart', '2026-03-02 10:05+00',
                  properties => '{"device": "dev-erase-1"}') > 0 AS touched;
-- a second customer of hers, with attributes naming her, then merged
SELECT omni.link('email', 'erin.work@erase-corp.test', 'crm', 'ERASE-CRM-1', 'crm sync ERASE-CRM-1',
                 '2026-03-03 09:00+00') > 0 AS linked;
SELECT omni.link('phone', '+1 (415) 555-0199', 'crm', 'ERASE-CRM-1', 'call centre',
                 '2026-03-03 09:05+00') > 0 AS linked;
UPDATE omni.customer SET attributes = '{"work_email": "erin.work@erase-corp.test", "mobile": "4155550199"}',
       time_zone = 'America/Los_Angeles'
 WHERE customer_id = omni.customer_of('crm', 'ERASE-CRM-1');
SELECT omni.link('device', 'dev-erase-1', 'crm', 'ERASE-CRM-1', 'app login', '2026-03-03 09:10+00') > 0 AS linked;
SELECT omni.link('email', 'erinerase@gmail.com', 'phone', '4155550199', 'checkout', '2026-03-04 12:00+00') > 0 AS merged;
SELECT omni.customer_of('email', 'erinerase@gmail.com') = omni.customer_of('crm', 'ERASE-CRM-1') AS one_customer;
SELECT count(*) AS merges FROM omni.merge_log
 WHERE survivor = omni.customer_of('crm', 'ERASE-CRM-1') AND unmerged_at IS NULL;
-- refused links: a blocked value, a second crm id (its own customer)
SELECT omni.link('email', 'erinerase@gmail.com', 'email', 'test@test.com', 'form', '2026-03-04 12:01+00') AS l1,
       omni.link('crm', 'ERASE-CRM-1', 'crm', 'OTHER-CRM-2', 'dedupe', '2026-03-04 12:02+00') AS l2 \gset
SELECT status, regexp_replace(reason, '\d+', 'N', 'g') AS reason FROM omni.identity_link
 WHERE link_id IN (:l1, :l2) ORDER BY link_id;
-- staged rows: one resolved (a loyalty card), three it cannot read (a
-- misspelled kind, an unknown region, a bad partner), one not yet resolved
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at, region) VALUES
    ('email', 'ERINERASE@gmail.com', 'loyalty', 'LOY-ERASE-9', 'pos', '2026-03-05 08:00+00', NULL),
    ('EMAIL', 'Erin.Erase+Promo@GoogleMail.com', NULL, NULL, 'typo', '2026-03-05 08:00+00', NULL),
    ('phone', '+1 (415) 555-0199', NULL, NULL, 'bad region', '2026-03-05 08:00+00', 'XX'),
    ('email', 'Erin.Erase+Promo@GoogleMail.com', 'email', 'not an address', 'form', '2026-03-05 08:00+00', NULL);
SET client_min_messages = warning;
SELECT invalid_rows >= 3 AS kept_unreadable FROM omni.resolve_all();
RESET client_min_messages;
SELECT source, error FROM omni.link_staging WHERE source IN ('typo', 'bad region', 'form') ORDER BY source;
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at)
VALUES ('cookie', 'CK-Erase-77', 'device', 'dev-other-1', 'pending', '2026-03-05 09:00+00');
SELECT omni.customer_of('loyalty', 'LOY-ERASE-9') = omni.customer_of('crm', 'ERASE-CRM-1') AS loyalty_joined;
-- consents, by customer and by identifier
INSERT INTO omni.consent (customer_id, channel, status, source, granted_at)
VALUES (omni.customer_of('email', 'erinerase@gmail.com'), 'email', 'opt_in', 'signup form erinerase@gmail.com', '2026-03-01');
INSERT INTO omni.consent (identity_id, channel, status, source, granted_at)
SELECT identity_id, 'sms', 'opt_out', 'STOP from +14155550199', '2026-03-01'
  FROM omni.identity WHERE kind = 'phone' AND value = '+14155550199';
-- messages: decided, with reasons (the sms opt-out)
INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, topic, created_at, priority) VALUES
    ('email', 'Erin.Erase+Promo@GoogleMail.com', 'email', 'receipt for erinerase@gmail.com', 'ERASE-CRM-1', '2026-03-06 12:00+00', 4002),
    ('phone', '(415) 555-0199', 'sms', 'spring', NULL, '2026-03-06 12:00+00', 4003)
RETURNING priority, status, reasons;

-- Where her identifiers are now: the search finds them.
SELECT relname, attname, count(*) AS markers
  FROM pg_temp.plaintext_hits(ARRAY(SELECT marker FROM erin))
 GROUP BY relname, attname ORDER BY relname, attname;
SELECT relname, count(*) AS rows_in FROM (
    SELECT 'customer_journey' AS relname FROM omni.customer_journey WHERE customer_id = omni.customer_of('crm', 'ERASE-CRM-1')
    UNION ALL SELECT 'timeline' FROM omni.timeline(omni.customer_of('crm', 'ERASE-CRM-1'))) s
 GROUP BY relname ORDER BY relname;

-- Erasure.
SELECT omni.customer_of('crm', 'ERASE-CRM-1') AS erin \gset
SELECT omni.forget(:erin) AS identifiers_erased;

-- Nothing of her is left, in any column of any relation.
SELECT * FROM pg_temp.plaintext_hits(ARRAY(SELECT marker FROM erin)) ORDER BY 1, 2, 3;
SELECT count(*) AS journey_rows FROM omni.customer_journey WHERE customer_id = :erin;
SELECT count(*) AS customer_rows FROM omni.customer WHERE customer_id = :erin OR merged_into = :erin;
-- what is kept: the keyed hashes, one per identifier, and the other people
-- her identifiers met (their own identifiers)
SELECT f.kind, count(*) AS hashes FROM omni.forgotten f
  JOIN (VALUES ('email', 'erinerase@gmail.com'), ('email', 'erin.work@erase-corp.test'),
               ('phone', '+14155550199'), ('cookie', 'CK-Erase-77'), ('crm', 'ERASE-CRM-1'),
               ('device', 'dev-erase-1'), ('loyalty', 'LOY-ERASE-9')) e(kind, value)
    ON f.hash = omni.identifier_hash(e.kind, e.value) AND f.kind = e.kind
 GROUP BY f.kind ORDER BY f.kind;
SELECT kind, value FROM omni.identity WHERE value IN ('test@test.com', 'OTHER-CRM-2', 'dev-other-1') ORDER BY kind;
SELECT count(*) AS staged_rows_left FROM omni.link_staging
 WHERE source IN ('pos', 'typo', 'bad region', 'form', 'pending');
-- and a message to her address now is suppressed
INSERT INTO omni.message (recipient_kind, recipient, channel, created_at, priority)
VALUES ('email', 'erin.erase@gmail.com', 'email', '2026-03-07 12:00+00', 4004)
RETURNING status, reasons;
SELECT * FROM pg_temp.plaintext_hits(ARRAY['erin.erase@gmail.com']);
DELETE FROM omni.message WHERE priority = 4004;

-- What forget does not reach: other customers' own rows.  Erasure works by
-- customer; a value of hers that someone else's touchpoint carries in its
-- free-form fields stays (the README shows how to find such rows).
SELECT omni.touch('email', 'Frank.Friend@erase-corp.test', 'web', 'referral', '2026-03-08 10:00+00',
                  properties => '{"referred": "gina.guest@erase-corp.test"}') > 0 AS touched;
SELECT omni.touch('email', 'gina.guest@erase-corp.test', 'web', 'signup', '2026-03-08 11:00+00') > 0 AS touched;
SELECT omni.forget(omni.customer_of('email', 'gina.guest@erase-corp.test')) AS erased;
SELECT * FROM pg_temp.plaintext_hits(ARRAY['gina.guest@erase-corp.test']) ORDER BY 1, 2;

-- Clean up.
SELECT omni.forget(omni.customer_of('email', 'frank.friend@erase-corp.test')) AS erased,
       omni.forget(omni.customer_of('email', 'test@test.com')) AS erased,
       omni.forget(omni.customer_of('crm', 'OTHER-CRM-2')) AS erased;
DELETE FROM omni.link_staging WHERE value_b = 'dev-other-1';
DELETE FROM omni.message WHERE priority BETWEEN 4001 AND 4099;
DELETE FROM omni.forgotten f USING (VALUES ('email', 'erinerase@gmail.com'), ('email', 'erin.work@erase-corp.test'),
               ('phone', '+14155550199'), ('cookie', 'CK-Erase-77'), ('crm', 'ERASE-CRM-1'),
               ('device', 'dev-erase-1'), ('loyalty', 'LOY-ERASE-9'), ('email', 'gina.guest@erase-corp.test'),
               ('email', 'frank.friend@erase-corp.test'), ('email', 'test@test.com'),
               ('crm', 'OTHER-CRM-2')) e(kind, value)
 WHERE f.hash = omni.identifier_hash(e.kind, e.value);
SELECT count(*) AS left_behind FROM pg_temp.plaintext_hits(ARRAY['erase', 'frank.friend', 'OTHER-CRM-2']);
-- the sequences are set back (no row of this test is left)
SELECT bool_and(setval(seq, COALESCE(last_value, 1), last_value IS NOT NULL) IS NOT NULL) AS sequences_restored
  FROM seq_before;
