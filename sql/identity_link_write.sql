-- How omni.link writes the link of a pair it found (a pair seen again):
-- straight into omni.identity_link, with the table's defaults and CHECK
-- constraints (kept planned between calls, and read again when the table
-- changes), its privileges, and through an INSERT instead when the table
-- has a trigger of its own or row level security that applies.
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.customer CASCADE;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'signup', '2026-01-01 10:00+00') IS NOT NULL AS linked;

-- seen again: a new row with every column as an INSERT would give it
BEGIN;
SELECT omni.link('cookie', 'ck_lw', 'email', 'LW@X.org', 'login', '2026-01-02 10:00+00') AS link_id \gset
SELECT l.link_id = :link_id AS returned_its_id,
       l.link_id = (SELECT last_value FROM omni.identity_link_link_id_seq) AS drawn_from_the_sequence,
       (SELECT kind FROM omni.identity WHERE identity_id = l.identity_a) AS a,
       (SELECT kind FROM omni.identity WHERE identity_id = l.identity_b) AS b,
       l.source, l.observed_at, l.status, l.reason,
       l.created_at = now() AS created_now
  FROM omni.identity_link l WHERE l.link_id = :link_id;
COMMIT;
SELECT count(*) AS links FROM omni.identity_link;
-- inside the span already seen: first/last seen do not move
SELECT kind, first_seen, last_seen FROM omni.identity ORDER BY kind;

-- a pair with a blocked value, both identifiers known: kept, refused, with the reason
SELECT omni.link('email', 'lw@x.org', 'cookie', 'undefined', 'tag', '2026-01-03 10:00+00') IS NOT NULL AS linked;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'undefined', 'tag', '2026-01-03 11:00+00') AS link_id \gset
SELECT status, reason, source FROM omni.identity_link WHERE link_id = :link_id;

-- a CHECK constraint added later is enforced on the next link, and not after it is dropped
ALTER TABLE omni.identity_link ADD CONSTRAINT no_kiosk CHECK (source IS DISTINCT FROM 'kiosk');
\set VERBOSITY terse
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'kiosk', '2026-01-01 11:00+00');
\set VERBOSITY default
ALTER TABLE omni.identity_link DROP CONSTRAINT no_kiosk;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'kiosk', '2026-01-01 11:00+00') IS NOT NULL AS linked;
-- and so is a changed default
ALTER TABLE omni.identity_link ALTER COLUMN created_at SET DEFAULT '2001-01-01 00:00+00';
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'pos', '2026-01-01 11:00+00') AS link_id \gset
SELECT created_at FROM omni.identity_link WHERE link_id = :link_id;
ALTER TABLE omni.identity_link ALTER COLUMN created_at SET DEFAULT pg_catalog.now();
BEGIN;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'pos', '2026-01-01 11:00+00') AS link_id \gset
SELECT created_at = now() AS created_now FROM omni.identity_link WHERE link_id = :link_id;
COMMIT;

-- a trigger of the table's own fires: the link is then an INSERT
CREATE TABLE lw_audit (link_id bigint, source text);
CREATE FUNCTION lw_audit_trg() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.lw_audit VALUES (NEW.link_id, NEW.source); RETURN NEW; END $$;
CREATE TRIGGER lw_audit AFTER INSERT ON omni.identity_link FOR EACH ROW EXECUTE FUNCTION lw_audit_trg();
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'audited', '2026-01-01 11:00+00') AS link_id \gset
SELECT link_id = :link_id AS audited_its_id, source FROM lw_audit;
DROP TRIGGER lw_audit ON omni.identity_link;
DROP FUNCTION lw_audit_trg();
DROP TABLE lw_audit;

-- row level security that applies to the caller is enforced (an INSERT), and
-- a caller it does not apply to (the owner) writes straight
CREATE ROLE regress_lw_writer IN ROLE omni_writer;
ALTER TABLE omni.identity_link ENABLE ROW LEVEL SECURITY;
CREATE POLICY lw_read ON omni.identity_link FOR SELECT USING (true);
CREATE POLICY lw_write ON omni.identity_link FOR INSERT WITH CHECK (source IS DISTINCT FROM 'untrusted');
SET ROLE regress_lw_writer;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'trusted', '2026-01-01 11:00+00') IS NOT NULL AS linked;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'untrusted', '2026-01-01 11:00+00');
RESET ROLE;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'untrusted', '2026-01-01 11:00+00') IS NOT NULL AS owner_linked;
DROP POLICY lw_read ON omni.identity_link;
DROP POLICY lw_write ON omni.identity_link;
ALTER TABLE omni.identity_link DISABLE ROW LEVEL SECURITY;

-- reading the new link's id back needs SELECT, as INSERT ... RETURNING does
REVOKE omni_writer FROM regress_lw_writer;
GRANT USAGE ON SCHEMA omni TO regress_lw_writer;
GRANT SELECT ON omni.identity, omni.identity_rule, omni.blocklist TO regress_lw_writer;
GRANT UPDATE (first_seen, last_seen) ON omni.identity TO regress_lw_writer;
GRANT INSERT ON omni.identity_link TO regress_lw_writer;
GRANT USAGE ON SEQUENCE omni.identity_link_link_id_seq TO regress_lw_writer;
SET ROLE regress_lw_writer;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'no select', '2026-01-01 11:00+00');
RESET ROLE;
GRANT SELECT (link_id) ON omni.identity_link TO regress_lw_writer;
SET ROLE regress_lw_writer;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'column select', '2026-01-01 11:00+00') IS NOT NULL AS linked;
RESET ROLE;
REVOKE ALL ON omni.identity, omni.identity_rule, omni.blocklist, omni.identity_link FROM regress_lw_writer;
REVOKE ALL ON SEQUENCE omni.identity_link_link_id_seq FROM regress_lw_writer;
REVOKE USAGE ON SCHEMA omni FROM regress_lw_writer;
DROP ROLE regress_lw_writer;

-- first/last seen of the identifiers widen in place, with the table's CHECK
-- constraints and the UPDATE privilege on both columns; a trigger of the
-- table's own fires (the widening is then an UPDATE)
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'later', '2026-03-01 10:00+00') IS NOT NULL AS linked;
SELECT omni.link('cookie', 'ck_lw', 'email', 'lw@x.org', 'earlier', '2025-12-01 10:00+00') IS NOT NULL AS linked;
SELECT kind, first_seen, last_seen FROM omni.identity WHERE value IN ('lw@x.org', 'ck_lw') ORDER BY kind;
ALTER TABLE omni.identity ADD CONSTRAINT seen_before_2030 CHECK (last_seen < '2030-01-01');
\set VERBOSITY terse
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'future', '2031-01-01 10:00+00');
\set VERBOSITY default
ALTER TABLE omni.identity DROP CONSTRAINT seen_before_2030;
CREATE TABLE lw_seen (identity_id bigint, last_seen timestamptz);
CREATE FUNCTION lw_seen_trg() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.lw_seen VALUES (NEW.identity_id, NEW.last_seen); RETURN NEW; END $$;
CREATE TRIGGER lw_seen BEFORE UPDATE ON omni.identity FOR EACH ROW EXECUTE FUNCTION lw_seen_trg();
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'watched', '2026-04-01 10:00+00') IS NOT NULL AS linked;
SELECT count(*) AS updates_seen, min(last_seen) AS last_seen FROM lw_seen;
DROP TRIGGER lw_seen ON omni.identity;
DROP FUNCTION lw_seen_trg();
DROP TABLE lw_seen;
CREATE ROLE regress_lw_seen IN ROLE omni_writer;
REVOKE UPDATE (first_seen) ON omni.identity FROM omni_writer;
SET ROLE regress_lw_seen;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'no update', '2026-05-01 10:00+00');
RESET ROLE;
GRANT UPDATE (first_seen) ON omni.identity TO omni_writer;
SET ROLE regress_lw_seen;
SELECT omni.link('email', 'lw@x.org', 'cookie', 'ck_lw', 'update', '2026-05-01 10:00+00') IS NOT NULL AS linked;
RESET ROLE;
DROP ROLE regress_lw_seen;
SELECT kind, first_seen, last_seen FROM omni.identity WHERE value IN ('lw@x.org', 'ck_lw') ORDER BY kind;

-- new identifiers (a new pair, a new one joining a customer) are written
-- directly too: with the constraints of omni.identity and omni.customer, and
-- through INSERTs when one of the tables has a trigger of its own
SELECT omni.link('email', 'lw2@x.org', 'cookie', 'ck_lw2', 'new pair', '2026-01-05 10:00+00') AS link_id \gset
SELECT c.created_at, i.kind, i.first_seen, i.last_seen, i.customer_id = c.customer_id AS own_customer,
       l.link_id = :link_id AS linked
  FROM omni.identity i JOIN omni.customer c USING (customer_id)
  JOIN omni.identity_link l ON i.identity_id IN (l.identity_a, l.identity_b) AND l.link_id = :link_id
 ORDER BY i.kind;
SELECT omni.link('email', 'lw2@x.org', 'device', 'dev_lw2', 'join', '2026-01-05 11:00+00') AS link_id \gset
SELECT (SELECT kind FROM omni.identity WHERE identity_id = l.identity_a) AS a,
       (SELECT kind FROM omni.identity WHERE identity_id = l.identity_b) AS b, l.status,
       (SELECT count(DISTINCT customer_id) FROM omni.identity WHERE value IN ('lw2@x.org', 'ck_lw2', 'dev_lw2')) AS customers
  FROM omni.identity_link l WHERE l.link_id = :link_id;
ALTER TABLE omni.identity ADD CONSTRAINT no_test_domain CHECK (value NOT LIKE '%@test.invalid');
\set VERBOSITY terse
SELECT omni.link('email', 'a@test.invalid', 'cookie', 'ck_lw3', 'new pair', '2026-01-05 10:00+00');
SELECT omni.link('email', 'lw2@x.org', 'email', 'b@test.invalid', 'join', '2026-01-05 10:00+00');
\set VERBOSITY default
ALTER TABLE omni.identity DROP CONSTRAINT no_test_domain;
CREATE TABLE lw_new (tbl text, id bigint);
CREATE FUNCTION lw_new_trg() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.lw_new VALUES (TG_TABLE_NAME, (to_jsonb(NEW) ->> TG_ARGV[0])::bigint); RETURN NEW; END $$;
CREATE TRIGGER lw_new AFTER INSERT ON omni.customer FOR EACH ROW EXECUTE FUNCTION lw_new_trg('customer_id');
SELECT omni.link('email', 'lw4@x.org', 'cookie', 'ck_lw4', 'watched', '2026-01-06 10:00+00') IS NOT NULL AS linked;
DROP TRIGGER lw_new ON omni.customer;
CREATE TRIGGER lw_new AFTER INSERT ON omni.identity FOR EACH ROW EXECUTE FUNCTION lw_new_trg('identity_id');
SELECT omni.link('email', 'lw5@x.org', 'cookie', 'ck_lw5', 'watched', '2026-01-06 10:00+00') IS NOT NULL AS linked;
SELECT omni.link('email', 'lw5@x.org', 'device', 'dev_lw5', 'watched', '2026-01-06 11:00+00') IS NOT NULL AS linked;
DROP TRIGGER lw_new ON omni.identity;
SELECT tbl, count(*) AS rows_seen_by_the_trigger FROM lw_new GROUP BY tbl ORDER BY tbl;
DROP FUNCTION lw_new_trg();
DROP TABLE lw_new;

-- merges are written directly too; through SQL when a table they write has a
-- trigger of its own.  The same merges, once each way, leave the same rows:
-- customer B absorbs C, then A absorbs B (C then points at A), with
-- touchpoints following their identifiers and the linked identifiers
-- widening their first/last seen.
CREATE FUNCTION lw_merges(p text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
BEGIN
    PERFORM omni.link('email', p || 'a@x.org', 'cookie', p || 'ck_a', 'm', '2026-02-01 10:00+00');
    base := omni.customer_of('email', p || 'a@x.org');
    PERFORM omni.link('email', p || 'b@x.org', 'cookie', p || 'ck_b', 'm', '2026-02-01 11:00+00');
    PERFORM omni.link('email', p || 'c@x.org', 'device', p || 'dv_c', 'm', '2026-02-01 09:00+00');
    PERFORM omni.touch('device', p || 'dv_c', 'app', 'open', '2026-02-01 09:30+00');
    PERFORM omni.link('cookie', p || 'ck_b', 'device', p || 'dv_c', 'bc', '2026-02-02 10:00+00');
    PERFORM omni.link('email', p || 'a@x.org', 'email', p || 'b@x.org', 'ab', '2026-01-15 10:00+00');
    RETURN base;
END $$;
CREATE FUNCTION lw_merge_rows(p text, base bigint) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT format('identity %s: customer %s, seen %s to %s', replace(value, p, ''), customer_id - base,
                  first_seen AT TIME ZONE 'UTC', last_seen AT TIME ZONE 'UTC')
      FROM omni.identity WHERE value LIKE p || '%'
    UNION ALL
    SELECT format('customer %s: merged into %s, merged at now: %s', customer_id - base,
                  merged_into - base, merged_at = now())
      FROM omni.customer WHERE customer_id BETWEEN base AND base + 2
    UNION ALL
    SELECT format('merge: %s absorbed %s by link %s, identities %s', m.survivor - base, m.absorbed - base,
                  l.source, (SELECT string_agg(replace(i.value, p, ''), ',' ORDER BY i.identity_id)
                               FROM omni.identity i WHERE i.identity_id = ANY (m.identities)))
      FROM omni.merge_log m JOIN omni.identity_link l USING (link_id)
     WHERE m.survivor BETWEEN base AND base + 2
    UNION ALL
    SELECT format('touchpoint of %s: customer %s', replace(i.value, p, ''), t.customer_id - base)
      FROM omni.touchpoint t JOIN omni.identity i USING (identity_id) WHERE i.value LIKE p || '%'
$$;
BEGIN;
SELECT lw_merges('direct_') AS direct_base \gset
CREATE FUNCTION lw_noop_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER lw_noop AFTER INSERT ON omni.merge_log FOR EACH ROW EXECUTE FUNCTION lw_noop_trg();
SELECT lw_merges('sql_') AS sql_base \gset
DROP TRIGGER lw_noop ON omni.merge_log;
DROP FUNCTION lw_noop_trg();
SELECT r AS direct_merges FROM lw_merge_rows('direct_', :direct_base) r ORDER BY r;
SELECT (SELECT count(*) FROM (SELECT lw_merge_rows('direct_', :direct_base)
                              EXCEPT SELECT lw_merge_rows('sql_', :sql_base)) d) AS only_direct,
       (SELECT count(*) FROM (SELECT lw_merge_rows('sql_', :sql_base)
                              EXCEPT SELECT lw_merge_rows('direct_', :direct_base)) d) AS only_sql,
       (SELECT count(*) FROM lw_merge_rows('sql_', :sql_base)) AS rows_each;
COMMIT;
DROP FUNCTION lw_merges(text);
DROP FUNCTION lw_merge_rows(text, bigint);

SELECT source, count(*) AS links FROM omni.identity_link GROUP BY source ORDER BY source;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.customer CASCADE;
