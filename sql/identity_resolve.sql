-- Identity resolution in bulk: omni.link_staging + omni.resolve_all().
\pset null '<null>'
SET timezone = 'UTC';
SET client_min_messages = warning;   -- progress NOTICEs are shown once, below

-- Raw pairs, as an application would COPY them.
COPY omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at, region) FROM stdin (FORMAT csv);
email,Anna.Smith+news@GoogleMail.com,cookie,ck_a1,web_login,2026-01-01 10:00+00,
email,annasmith@gmail.com,phone,(212) 555-0001,crm_import,2026-01-02 10:00+00,
email,ANNASMITH@gmail.com,crm,CRM-A,signup,2026-01-03 10:00+00,
email,bob@shop.org,cookie,ck_b1,web_login,2026-01-01 11:00+00,
email,bob@shop.org,crm,CRM-B,signup,2026-01-01 12:00+00,
cookie,ck_b1,cookie,ck_a1,web_login,2026-01-04 10:00+00,
phone,06 12 34 56 78,email,claire@shop.fr,store_enrolment,2026-01-05 10:00+00,FR
email,Test@Test.com,cookie,ck_a1,web_login,2026-01-05 11:00+00,
email,dave@shop.org,email,DAVE@shop.org,signup,2026-01-06 10:00+00,
email,not an address,cookie,ck_x,web_login,2026-01-06 11:00+00,
fax,555,cookie,ck_y,web_login,2026-01-06 12:00+00,
phone,000-000-0000,email,eve@shop.org,signup,2026-01-06 13:00+00,
\.
INSERT INTO omni.link_staging (kind_a, value_a, observed_at) VALUES ('device', 'dev-lonely', '2026-01-07 10:00+00');

SET client_min_messages = notice;
SELECT * FROM omni.resolve_all();
SET client_min_messages = warning;

-- The customers it built.
SELECT c.customer_id IS NOT NULL AS has_customer, string_agg(i.kind || ':' || i.value, ', ' ORDER BY i.kind, i.value) AS identities
  FROM omni.identity i JOIN omni.customer c USING (customer_id)
 GROUP BY c.customer_id ORDER BY min(i.identity_id);
SELECT count(*) AS live_customers FROM omni.customer WHERE merged_into IS NULL;
-- first_seen and last_seen come from the observations
SELECT kind, value, first_seen, last_seen FROM omni.identity WHERE kind IN ('email', 'cookie') AND value IN ('annasmith@gmail.com', 'ck_a1') ORDER BY kind;
-- the links, with the refused ones and their reasons, in observed order
SELECT a.kind || ':' || a.value AS a, b.kind || ':' || b.value AS b, l.source, l.status, l.reason
  FROM omni.identity_link l JOIN omni.identity a ON a.identity_id = l.identity_a JOIN omni.identity b ON b.identity_id = l.identity_b
 ORDER BY l.observed_at, l.link_id;
-- rows it could not resolve stay, with the error; resolved rows are gone
SELECT kind_a, value_a, kind_b, value_b, error FROM omni.link_staging ORDER BY staging_id;

-- A second run with nothing new changes nothing, and writes no row: every
-- row keeps the version (xmin, ctid) it had.
CREATE TEMP TABLE versions AS
SELECT 'identity' AS t, identity_id AS id, xmin::text || ctid::text AS v FROM omni.identity
UNION ALL SELECT 'link', link_id, xmin::text || ctid::text FROM omni.identity_link
UNION ALL SELECT 'customer', customer_id, xmin::text || ctid::text FROM omni.customer;
SELECT customers, identities, links, rejected, merges, new_identities, new_links, changed_links, moved_identities
  FROM omni.resolve_all();
SELECT count(*) AS rows_rewritten FROM versions v
 WHERE v.v IS DISTINCT FROM
       CASE v.t WHEN 'identity' THEN (SELECT i.xmin::text || i.ctid::text FROM omni.identity i WHERE i.identity_id = v.id)
                WHEN 'link' THEN (SELECT l.xmin::text || l.ctid::text FROM omni.identity_link l WHERE l.link_id = v.id)
                ELSE (SELECT c.xmin::text || c.ctid::text FROM omni.customer c WHERE c.customer_id = v.id) END;
SELECT count(*) > 0 AS rows_compared FROM versions;
DROP TABLE versions;

-- Incremental: new pairs join the existing graph and merge existing customers, keeping the older id.
SELECT omni.customer_of('email', 'annasmith@gmail.com') AS anna, omni.customer_of('email', 'claire@shop.fr') AS claire \gset
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at)
VALUES ('cookie', 'ck_a1', 'phone', '+33 6 12 34 56 78', 'web_login', '2026-01-08 10:00+00'),
       ('cookie', 'ck_new', 'email', 'claire@shop.fr', 'web_login', '2026-01-08 11:00+00');
SELECT customers, merges, new_identities, new_links, moved_identities FROM omni.resolve_all();
SELECT omni.customer_of('email', 'claire@shop.fr') = :anna AS claire_merged_into_anna,
       omni.customer_of('cookie', 'ck_new') = :anna AS new_cookie_follows;
SELECT survivor = :anna AS survivor_ok, absorbed = :claire AS absorbed_ok, cardinality(identities) AS moved,
       (SELECT a.value || ' ' || b.value FROM omni.identity_link l JOIN omni.identity a ON a.identity_id = l.identity_a
          JOIN omni.identity b ON b.identity_id = l.identity_b WHERE l.link_id = m.link_id) AS merging_link
  FROM omni.merge_log m;
SELECT merged_into = :anna AS absorbed_points_at_survivor FROM omni.customer WHERE customer_id = :claire;

-- A rule change re-resolves existing links: with crm unlimited, Bob and Anna merge...
UPDATE omni.identity_rule SET max_per_customer = NULL WHERE kind = 'crm';
SELECT customers, rejected, merges, changed_links, moved_identities, split_customers FROM omni.resolve_all();
SELECT count(DISTINCT customer_id) AS one_customer FROM omni.identity WHERE value IN ('CRM-A', 'CRM-B');
-- ...and with the limit back, they split again: Anna keeps her id, Bob's side gets a new customer.
UPDATE omni.identity_rule SET max_per_customer = 1 WHERE kind = 'crm';
SELECT customers, rejected, merges, changed_links, moved_identities, split_customers FROM omni.resolve_all();
SELECT omni.customer_of('crm', 'CRM-A') = :anna AS anna_kept_her_id,
       omni.customer_of('crm', 'CRM-B') <> :anna AS bob_apart;
-- the customer split off is created as of the first time its identifiers were seen
SELECT c.created_at = min(i.first_seen) AS created_when_first_seen, count(*) AS identifiers
  FROM omni.customer c JOIN omni.identity i USING (customer_id)
 WHERE c.customer_id = omni.customer_of('crm', 'CRM-B')
 GROUP BY c.created_at;
-- a blocklist entry added later refuses links already accepted
INSERT INTO omni.blocklist (kind, value, reason) VALUES ('cookie', 'ck_new', 'shared kiosk');
SELECT customers, rejected, changed_links, split_customers FROM omni.resolve_all();
SELECT status, reason FROM omni.identity_link l JOIN omni.identity i ON i.identity_id IN (l.identity_a, l.identity_b)
 WHERE i.value = 'ck_new';
DELETE FROM omni.blocklist WHERE value = 'ck_new';

-- The result is the same as omni.link one observation at a time.
CREATE TEMP TABLE bulk_result AS
SELECT i.kind, i.value, dense_rank() OVER (ORDER BY i.customer_id) AS c FROM omni.identity i;
CREATE TEMP TABLE replay AS
SELECT a.kind AS kind_a, a.value AS value_a, b.kind AS kind_b, b.value AS value_b, l.source, l.observed_at
  FROM omni.identity_link l JOIN omni.identity a ON a.identity_id = l.identity_a JOIN omni.identity b ON b.identity_id = l.identity_b;
CREATE TEMP TABLE lone AS SELECT kind, value FROM omni.identity i
 WHERE NOT EXISTS (SELECT 1 FROM omni.identity_link l WHERE i.identity_id IN (l.identity_a, l.identity_b));
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
SET client_min_messages = warning;
SELECT count(omni.link(kind_a, value_a, kind_b, value_b, source, observed_at)) AS replayed
  FROM (SELECT * FROM replay ORDER BY observed_at) r;
SELECT count(omni.identify(kind, value)) AS lone FROM lone;
SELECT count(*) AS differences FROM (
    SELECT b1.kind, b1.value, b2.kind, b2.value
      FROM bulk_result b1 JOIN bulk_result b2 ON b1.c = b2.c AND (b1.kind, b1.value) < (b2.kind, b2.value)
    EXCEPT
    SELECT i1.kind, i1.value, i2.kind, i2.value
      FROM omni.identity i1 JOIN omni.identity i2 ON i1.customer_id = i2.customer_id AND (i1.kind, i1.value) < (i2.kind, i2.value)) d;

-- A larger run (its progress NOTICEs, every 10% or 5 s, are not shown: they depend on timing).
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
SET client_min_messages = warning;
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, observed_at)
SELECT 'cookie', 'ck' || g, 'device', 'dev' || (g / 3), '2026-01-01'::timestamptz + g * interval '1 second'
  FROM generate_series(1, 60000) g;
SELECT customers, identities, links, rejected, merges FROM omni.resolve_all();

-- New rows are written directly (no per-row foreign key queries), except into a table
-- with a trigger of its own: that one is written through SQL, so its trigger fires.
CREATE TABLE resolve_audit (identity_id bigint);
CREATE FUNCTION resolve_audit_trg() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO resolve_audit VALUES (NEW.identity_id); RETURN NEW; END $$;
CREATE TRIGGER audit AFTER INSERT ON omni.identity FOR EACH ROW EXECUTE FUNCTION resolve_audit_trg();
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b) VALUES ('email', 't1@x.org', 'cookie', 'ck_t1');
SELECT new_identities, new_links FROM omni.resolve_all();
SELECT count(*) AS audited FROM resolve_audit;
DROP TRIGGER audit ON omni.identity;
DROP FUNCTION resolve_audit_trg();
DROP TABLE resolve_audit;
-- the direct path checks constraints like any insert
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, observed_at) VALUES ('email', 't2@x.org', 'cookie', 'ck_t2', '2026-01-01');
ALTER TABLE omni.identity ADD CONSTRAINT no_t2 CHECK (value <> 't2@x.org');
\set VERBOSITY terse
SELECT new_identities FROM omni.resolve_all();
\set VERBOSITY default
ALTER TABLE omni.identity DROP CONSTRAINT no_t2;
SELECT new_identities, new_links FROM omni.resolve_all();

-- identities read out of id order (rows updated since they were written),
-- with dense ids and then with sparse ones: every link still finds its
-- identifiers, and a run with nothing to change changes nothing
SELECT customers AS c0, identities AS i0, links AS l0 FROM omni.resolve_all() \gset
UPDATE omni.identity SET last_seen = last_seen + interval '1 second' WHERE identity_id % 7 = 0;
SELECT count(*) FILTER (WHERE identity_id < prev) > 0 AS heap_out_of_id_order
  FROM (SELECT identity_id, lag(identity_id) OVER (ORDER BY ctid) AS prev FROM omni.identity) s;
SELECT customers = :c0 AS same_customers, identities = :i0 AS same_identities, links = :l0 AS same_links,
       merges, changed_links, moved_identities, split_customers
  FROM omni.resolve_all();
SELECT setval('omni.identity_identity_id_seq', 4000000000000) > 0 AS far_ids;
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b) VALUES ('email', 'far@x.org', 'cookie', 'ck2');
SELECT new_identities, new_links, merges FROM omni.resolve_all();
UPDATE omni.identity SET last_seen = last_seen + interval '1 second' WHERE identity_id % 5 = 0;
SELECT customers = :c0 AS same_customers, identities = :i0 + 1 AS one_more_identity,
       links = :l0 + 1 AS one_more_link, merges, changed_links, moved_identities, split_customers
  FROM omni.resolve_all();
SELECT omni.customer_of('email', 'far@x.org') = omni.customer_of('cookie', 'ck2') AS far_joined;

-- A tightened rule splits a customer that had absorbed another: the
-- absorbed one then points at the part holding its identifiers, so erasing
-- it by its old id erases its own identifiers, not the survivor's.
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
INSERT INTO omni.identity_rule (kind, priority, max_per_customer) VALUES ('acct', 2, NULL);
SELECT omni.link('email', 'sam@split.org', 'acct', 'A1', 'x', '2026-01-01') > 0 AS linked;
SELECT omni.link('email', 'xia@split.org', 'acct', 'A2', 'x', '2026-01-02') > 0 AS linked;
SELECT omni.customer_of('email', 'sam@split.org') AS s, omni.customer_of('email', 'xia@split.org') AS x \gset
SELECT omni.link('acct', 'A1', 'acct', 'A2', 'x', '2026-01-03') > 0 AS merged;
SELECT merged_into = :s AS x_into_s FROM omni.customer WHERE customer_id = :x;
UPDATE omni.identity_rule SET max_per_customer = 1 WHERE kind = 'acct';
SET client_min_messages = warning;
SELECT split_customers FROM omni.resolve_all();
RESET client_min_messages;
SELECT omni.customer_of('email', 'xia@split.org') AS n \gset
SELECT :n <> :s AS split_off, merged_into = :n AS x_into_its_part FROM omni.customer WHERE customer_id = :x;
SELECT array_agg(value ORDER BY value) AS identities_of_x FROM omni.identities(:x);
SELECT omni.forget(:x) > 0 AS erased;
SELECT value FROM omni.identity ORDER BY value;

SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
SET client_min_messages = warning;
DELETE FROM omni.identity_rule WHERE kind = 'acct';
