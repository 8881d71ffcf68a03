-- Security rules asserted over the catalog, so that every function, table,
-- view and column the extension gains later is held to them too:
--   1. no SECURITY DEFINER function without a pinned search_path;
--   2. every function that runs SQL pins search_path to pg_catalog, pg_temp,
--      or names every object it uses with its schema;
--   3. PUBLIC and the roles hold exactly the privileges the Roles section of
--      the README gives them, and omni_reader reads no identifier, touchpoint
--      or message through anything it may read.
SET TimeZone = 'UTC';

-- The extension's functions (aggregates included), with what the rules read.
CREATE TEMP VIEW ext_function AS
SELECT p.oid, p.oid::regprocedure::text COLLATE "C" AS fn, p.prokind, p.prosecdef, p.proconfig,
       l.lanname, p.prosrc, p.provolatile,
       COALESCE('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false) AS pinned
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
  JOIN pg_language l ON l.oid = p.prolang
 WHERE e.extname = 'omnichannel';
SELECT count(*) > 50 AS many_functions FROM ext_function;

--
-- 1. SECURITY DEFINER: none, and none without a pinned search_path.  A
--    search_path setting other than exactly "pg_catalog, pg_temp" (pg_temp
--    last, so that a temporary object never shadows a catalog one) counts as
--    not pinned.
--
CREATE TEMP VIEW definer_unpinned AS
SELECT fn, proconfig FROM ext_function WHERE prosecdef AND NOT pinned;
SELECT fn AS security_definer FROM ext_function WHERE prosecdef ORDER BY fn;
SELECT * FROM definer_unpinned ORDER BY fn;
-- no function is LEAKPROOF (the planner would run it before security
-- barrier quals, on rows the caller may not see)
SELECT p.oid::regprocedure AS leakproof FROM pg_proc p JOIN ext_function f ON f.oid = p.oid
 WHERE p.proleakproof ORDER BY 1;
-- any search_path setting of the extension is the pinned one
SELECT fn, c AS other_search_path
  FROM ext_function, unnest(proconfig) c
 WHERE c LIKE 'search\_path=%' AND c <> 'search_path=pg_catalog, pg_temp' ORDER BY fn;
-- the check sees a function added to the extension later
BEGIN;
CREATE FUNCTION omni.regress_definer() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
ALTER EXTENSION omnichannel ADD FUNCTION omni.regress_definer();
SELECT * FROM definer_unpinned ORDER BY fn;
ROLLBACK;

--
-- 2. Functions that run SQL.
--
-- SQL and PL/pgSQL functions without the pinned search_path (those the
-- planner inlines cannot have one) must name the schema of every function,
-- operator, type and relation they use.  qualified_lint() reads a body with
-- its comments and string literals removed and returns what is not
-- qualified: a call "name(" of a name that is not a reserved or column-name
-- keyword (COALESCE, EXISTS, ARRAY, ANY ... are syntax, not looked up), an
-- operator outside OPERATOR(schema.op), a cast "::type" without a schema,
-- and a relation after FROM, JOIN, INTO, UPDATE or TABLE without a schema.
CREATE FUNCTION pg_temp.qualified_lint(body text) RETURNS SETOF text
LANGUAGE plpgsql AS $lint$
DECLARE
    b text := lower(body);
    m text[];
BEGIN
    b := regexp_replace(b, '--[^\n]*', ' ', 'g');
    b := regexp_replace(b, '/\*.*?\*/', ' ', 'g');
    b := regexp_replace(b, '''([^'']|'''')*''', ' ''s'' ', 'g');
    b := regexp_replace(b, 'operator\s*\(\s*[a-z_]+\.[^)]+\)', ' , ', 'g');
    b := regexp_replace(b, '\(\s*\*\s*\)', '()', 'g');
    b := regexp_replace(b, '\.\*', ' ', 'g');
    FOR m IN SELECT regexp_matches(b, '(^|[^a-z0-9_$."])([a-z_][a-z0-9_$]*)\s*\(', 'g') LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_get_keywords() k
                        WHERE k.word = m[2] AND k.catcode IN ('R', 'C')) THEN
            RETURN NEXT 'call ' || m[2];
        END IF;
    END LOOP;
    FOR m IN SELECT regexp_matches(b, '[-+*/<>=~!@#%^&|`?]+', 'g') LOOP
        RETURN NEXT 'operator ' || m[1];
    END LOOP;
    FOR m IN SELECT regexp_matches(b, '::\s*("?[a-z_][a-z0-9_$]*"?)(?![a-z0-9_$"])(?!\s*\.)', 'g') LOOP
        RETURN NEXT 'cast ' || m[1];
    END LOOP;
    FOR m IN SELECT regexp_matches(b, '\m(from|join|into|update|table)\s+("?[a-z_][a-z0-9_$]*"?)(?![a-z0-9_$"])(?!\s*[.(])', 'g') LOOP
        IF m[2] NOT IN ('lateral', 'only', 'rows') THEN
            RETURN NEXT m[1] || ' ' || m[2];
        END IF;
    END LOOP;
END
$lint$;
-- the lint finds what it should
SELECT pg_temp.qualified_lint($q$SELECT lower(x) FROM identity i JOIN omni.customer c ON i.a = c.b
    WHERE x::text <> 'a=b' AND pg_catalog.upper(y) OPERATOR(pg_catalog.=) 'Y' -- count(
    AND COALESCE(a, b) IS NOT NULL AND EXISTS (SELECT 1 FROM omni.t) AND z = ANY (ARRAY[1])$q$) AS finding;
-- which functions it applies to: SQL and PL/pgSQL without the pinned path
SELECT fn, lanname FROM ext_function
 WHERE lanname IN ('sql', 'plpgsql') AND NOT pinned ORDER BY fn;
-- and what it finds in them: nothing
SELECT fn, pg_temp.qualified_lint(prosrc) AS unqualified
  FROM ext_function WHERE lanname IN ('sql', 'plpgsql') AND NOT pinned ORDER BY fn;
-- a function added later without the pinned path is checked too
BEGIN;
CREATE FUNCTION omni.regress_unqualified(bigint) RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT count(*) FROM omni.identity WHERE customer_id = $1';
ALTER EXTENSION omnichannel ADD FUNCTION omni.regress_unqualified(bigint);
SELECT fn, pg_temp.qualified_lint(prosrc) AS unqualified
  FROM ext_function WHERE lanname IN ('sql', 'plpgsql') AND NOT pinned ORDER BY fn, 2;
ROLLBACK;

-- C functions cannot be read from the catalog.  The ones that run SQL
-- (src/identity/{link,rules}.c, src/suppress/{rules,trigger}.c: touch,
-- normalize, try_normalize, blocked, identifier_hash, forget, unmerge,
-- would_suppress and the extension's triggers) pin search_path; identify,
-- customer_of and link run no query in their common case (they read and
-- write through the indexes, src/identity/link.c) and omni.suppress() none
-- per message (src/suppress/scan.c): the queries they do run pin the path
-- themselves (omni_pin_search_path, sql/security.sql runs them under
-- hostile public operators); omni.resolve_all
-- (src/identity/graph.c) keeps the caller's path so that users' triggers on
-- the identity tables fire as usual, and names the schema of everything it
-- uses (sql/security.sql runs it under hostile public operators).  Every
-- other C function is IMMUTABLE or runs no SQL.  This list, of the C
-- functions that are neither IMMUTABLE nor pinned, is what a new one must
-- be checked against.
SELECT fn, provolatile FROM ext_function
 WHERE lanname = 'c' AND provolatile <> 'i' AND NOT pinned ORDER BY fn;

--
-- 3. Privileges.
--
-- PUBLIC: nothing in the schema.
SELECT has_schema_privilege('public', 'omni', 'USAGE') AS public_usage,
       has_schema_privilege('public', 'omni', 'CREATE') AS public_create,
       has_schema_privilege('omni_writer', 'omni', 'CREATE') AS writer_create,
       has_schema_privilege('omni_admin', 'omni', 'CREATE') AS admin_create;
SELECT c.relname, a.privilege_type AS public_privilege
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'omni'::regnamespace AND a.grantee = 0 ORDER BY 1, 2;
SELECT c.relname, t.attname, a.privilege_type AS public_column_privilege
  FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a
 WHERE c.relnamespace = 'omni'::regnamespace AND a.grantee = 0 ORDER BY 1, 2, 3;

-- Every relation of the schema, and what each role may do with it,
-- membership included (a: SELECT, i: INSERT, u: UPDATE, d: DELETE,
-- t: TRUNCATE; c: some columns only, U: USAGE of a sequence).
CREATE TEMP VIEW rel_privileges AS
SELECT c.relname, c.relkind, r.rolname,
       CASE WHEN c.relkind = 'S' THEN
           CASE WHEN has_sequence_privilege(r.rolname, c.oid, 'USAGE') THEN 'U' ELSE '' END ||
           CASE WHEN has_sequence_privilege(r.rolname, c.oid, 'UPDATE') THEN 'u' ELSE '' END
       ELSE
           (SELECT string_agg(CASE WHEN has_table_privilege(r.rolname, c.oid, p.priv) THEN p.code
                                   WHEN p.priv IN ('SELECT', 'INSERT', 'UPDATE')
                                        AND has_any_column_privilege(r.rolname, c.oid, p.priv)
                                   THEN p.code || 'c' ELSE '' END, '' ORDER BY p.n)
              FROM (VALUES (1, 'SELECT', 'a'), (2, 'INSERT', 'i'), (3, 'UPDATE', 'u'),
                           (4, 'DELETE', 'd'), (5, 'TRUNCATE', 't')) p(n, priv, code))
       END AS privileges
  FROM pg_class c
  CROSS JOIN (VALUES ('omni_reader'), ('omni_writer'), ('omni_admin')) r(rolname)
 WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f');
SELECT relname, relkind,
       max(privileges) FILTER (WHERE rolname = 'omni_reader') AS reader,
       max(privileges) FILTER (WHERE rolname = 'omni_writer') AS writer,
       max(privileges) FILTER (WHERE rolname = 'omni_admin') AS admin
  FROM rel_privileges GROUP BY relname, relkind ORDER BY relkind, relname;

-- The rules behind that table, which a new relation must follow:
-- omni_reader reads views only, and nothing else;
SELECT relname, privileges AS reader_beyond_views FROM rel_privileges
 WHERE rolname = 'omni_reader' AND privileges <> '' AND NOT (relkind = 'v' AND privileges = 'a')
 ORDER BY 1;
-- nobody but the owner has any privilege on omni.secret, or on its columns;
SELECT a.grantee::regrole AS secret_grantee, a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.oid = 'omni.secret'::regclass AND a.grantee <> c.relowner
UNION ALL
SELECT a.grantee::regrole, a.privilege_type
  FROM pg_attribute t, aclexplode(t.attacl) a WHERE t.attrelid = 'omni.secret'::regclass;
-- omni_writer changes no configuration: rules, channels, kinds, blocked
-- values, consents, the erasure register;
SELECT relname, privileges AS writer_changes_configuration FROM rel_privileges
 WHERE rolname = 'omni_writer' AND relname IN ('channel', 'identity_rule', 'blocklist',
       'suppression_rule', 'consent', 'forgotten', 'secret') AND privileges !~ '^a?$'
 ORDER BY 1;
-- and sets no decision of a message (status, reasons, decided_at, message_id).
SELECT attname AS writer_sets_decision FROM pg_attribute
 WHERE attrelid = 'omni.message'::regclass AND attnum > 0 AND NOT attisdropped
   AND (has_column_privilege('omni_writer', attrelid, attnum, 'INSERT')
        OR has_column_privilege('omni_writer', attrelid, attnum, 'UPDATE'))
   AND attname IN ('status', 'reasons', 'decided_at', 'message_id') ORDER BY 1;

-- Functions: who may execute what.  Every function PUBLIC may not execute
-- is an administrative one, granted to omni_admin alone; the others are
-- listed with their volatility, so that a new VOLATILE function open to
-- PUBLIC shows up here (none of them lends a role more than its table
-- privileges: they run as the caller).
SELECT fn, has_function_privilege('omni_reader', oid, 'EXECUTE') AS reader,
       has_function_privilege('omni_writer', oid, 'EXECUTE') AS writer,
       has_function_privilege('omni_admin', oid, 'EXECUTE') AS admin
  FROM ext_function WHERE NOT has_function_privilege('public', oid, 'EXECUTE') ORDER BY fn;
SELECT fn AS public_volatile_function FROM ext_function
 WHERE has_function_privilege('public', oid, 'EXECUTE') AND provolatile = 'v' ORDER BY fn;

--
-- What omni_reader can read, looked through: a customer with identifiers,
-- touchpoints (campaign, topic, properties), a message and a consent, all
-- carrying marker strings; then every column of every relation the reader
-- may SELECT, found in the catalog, is searched for the markers.
--
SELECT omni.touch('email', 'Reader.Probe@Shop.test', 'web', 'page_view', '2026-06-01 10:00+00',
                  campaign => 'camp-reader-probe', topic => 'topic-reader-probe',
                  properties => '{"note": "prop-reader-probe"}') > 0 AS touched;
SELECT omni.link('email', 'reader.probe@shop.test', 'crm', 'CRM-READER-PROBE', 'src-reader-probe',
                 '2026-06-01 10:01+00') > 0 AS linked;
INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, topic, created_at, priority)
VALUES ('email', 'reader.probe@shop.test', 'email', 'camp-reader-probe', 'topic-reader-probe',
        '2026-06-01 12:00+00', 3001)
RETURNING status;
INSERT INTO omni.consent (customer_id, channel, status, source)
VALUES (omni.customer_of('crm', 'CRM-READER-PROBE'), 'email', 'opt_in', 'src-reader-probe');
CREATE ROLE regress_sec_reader IN ROLE omni_reader;
CREATE FUNCTION pg_temp.marker_hits(role text, marker text) RETURNS TABLE (relname text, hits bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n bigint;
BEGIN
    FOR r IN SELECT c.oid, c.relname FROM pg_class c
              WHERE c.relnamespace = 'omni'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND has_table_privilege(role, c.oid, 'SELECT') ORDER BY c.relname
    LOOP
        EXECUTE format('SET LOCAL ROLE %I', role);
        EXECUTE format('SELECT count(*) FROM %s t WHERE lower(t::text) LIKE %L',
                       r.oid::regclass, '%' || lower(marker) || '%') INTO n;
        RESET ROLE;
        relname := r.relname;
        hits := n;
        RETURN NEXT;
    END LOOP;
END
$$;
BEGIN;
SELECT m.marker, h.relname, h.hits
  FROM (VALUES ('reader.probe@shop.test'), ('CRM-READER-PROBE'), ('camp-reader-probe'),
               ('topic-reader-probe'), ('prop-reader-probe'), ('src-reader-probe')) m(marker),
       pg_temp.marker_hits('regress_sec_reader', m.marker) h
 ORDER BY m.marker COLLATE "C", h.relname;
-- the same search as omni_writer finds them (the search does look)
SELECT count(*) FILTER (WHERE h.hits > 0) AS writer_relations_with_marker
  FROM pg_temp.marker_hits('omni_writer', 'reader.probe@shop.test') h;
ROLLBACK;
-- the reader is refused the tables themselves
\set VERBOSITY terse
SET ROLE regress_sec_reader;
SELECT recipient FROM omni.message LIMIT 1;
SELECT value FROM omni.identity LIMIT 1;
SELECT properties FROM omni.touchpoint LIMIT 1;
SELECT hmac_key FROM omni.secret;
SELECT omni.customer_of('crm', 'CRM-READER-PROBE');
SELECT omni.identifier_hash('crm', 'CRM-READER-PROBE');
SELECT omni.forget(1);
-- the identifier rules and blocked values this backend already holds (read
-- for the superuser's calls above) are not the reader's either
SELECT omni.blocked('email', 'test@test.com');
SELECT omni.normalize('email', 'Reader.Probe@Shop.test');
RESET ROLE;

-- omni_writer: no rules, consents, erasure or administration.
CREATE ROLE regress_sec_writer IN ROLE omni_writer;
SET ROLE regress_sec_writer;
UPDATE omni.consent SET status = 'opt_out' WHERE source = 'src-reader-probe';
DELETE FROM omni.consent WHERE source = 'src-reader-probe';
DELETE FROM omni.forgotten;
INSERT INTO omni.forgotten (hash, kind) VALUES ('\x00', 'email');
UPDATE omni.identity_rule SET max_per_customer = NULL WHERE kind = 'crm';
DELETE FROM omni.blocklist;
UPDATE omni.channel SET requires_opt_in = false WHERE channel = 'sms';
TRUNCATE omni.link_staging;
UPDATE omni.message SET status = 'queued' WHERE priority = 3001;
UPDATE omni.identity SET value = 'x' WHERE value = 'reader.probe@shop.test';
UPDATE omni.touchpoint SET properties = '{}' WHERE campaign = 'camp-reader-probe';
DELETE FROM omni.merge_log;
SELECT omni.unmerge(1);
SELECT * FROM omni.resolve_all();
SELECT omni.forget(omni.customer_of('crm', 'CRM-READER-PROBE'));
SELECT * FROM omni.timeline_check('omni.touchpoint_timeline_idx');
SELECT setval('omni.customer_customer_id_seq', 1);
-- the DELETE on omni.customer it holds (a customer made for a new identifier
-- that lost a race is dropped) cannot remove a customer with identifiers
DELETE FROM omni.customer WHERE customer_id = omni.customer_of('crm', 'CRM-READER-PROBE');
RESET ROLE;
\set VERBOSITY default
SELECT status FROM omni.message WHERE priority = 3001;
SELECT count(*) AS probe_identifiers FROM omni.identities(omni.customer_of('crm', 'CRM-READER-PROBE'));

-- Clean up.
DELETE FROM omni.message WHERE priority = 3001;
SELECT omni.forget(omni.customer_of('crm', 'CRM-READER-PROBE')) AS erased;
DELETE FROM omni.forgotten
 WHERE hash IN (omni.identifier_hash('email', 'reader.probe@shop.test'),
                omni.identifier_hash('crm', 'CRM-READER-PROBE'));
DROP ROLE regress_sec_reader, regress_sec_writer;
