--
-- omni.resolve_all() on a graph large enough for its parallel worker, which
-- normalizes the staged rows of a large bulk load, and reads
-- omni.identity_link while the identities are read; and for the helper
-- that faults its memory in.  The same bulk load, and the same rule change
-- re-resolved, with and without the worker must give the same identifiers,
-- customers, link statuses and reasons, rejected rows, and counts.
--
-- in a database of its own: the suites after this one must not see its
-- tables grown nor their statistics changed
SELECT current_database() AS regress_db \gset
CREATE DATABASE regress_omni_parallel;
\c regress_omni_parallel
SET client_min_messages = warning;
CREATE EXTENSION omnichannel;
BEGIN;

-- 40,000 people: an email, a crm id and three cookies each; every 100th
-- person has one more email from a shared mailbox that joins it to the
-- next person; every 500th has a placeholder cookie (blocked); every 250th
-- has five more emails (the email limit of 5 refuses some of them).
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at)
SELECT 'crm', 'P' || p, 'email', 'p' || p || '@par.test', 'par signup',
       '2026-01-01 00:00+00'::timestamptz + p * interval '1 second'
  FROM generate_series(1, 40000) p
UNION ALL
SELECT 'email', 'p' || p || '@par.test', 'cookie', 'ck-' || p || '-' || k, 'par web',
       '2026-02-01 00:00+00'::timestamptz + (p * 3 + k) * interval '1 second'
  FROM generate_series(1, 40000) p, generate_series(1, 3) k
UNION ALL
SELECT 'crm', 'P' || p, 'email', 'shared' || (p / 100) || '@par.test', 'par crm',
       '2026-03-01 00:00+00'::timestamptz + p * interval '1 second'
  FROM generate_series(100, 40000, 100) p
UNION ALL
SELECT 'crm', 'P' || (p + 1), 'email', 'shared' || (p / 100) || '@par.test', 'par crm',
       '2026-03-02 00:00+00'::timestamptz + p * interval '1 second'
  FROM generate_series(100, 40000, 100) p
UNION ALL
SELECT 'crm', 'P' || p, 'cookie', 'null', 'par web',
       '2026-04-01 00:00+00'::timestamptz + p * interval '1 second'
  FROM generate_series(500, 40000, 500) p
UNION ALL
SELECT 'crm', 'P' || p, 'email', 'extra' || k || '.' || p || '@par.test', 'par crm',
       '2026-05-01 00:00+00'::timestamptz + (p * 5 + k) * interval '1 second'
  FROM generate_series(250, 40000, 250) p, generate_series(1, 5) k;
-- rows that do not resolve, or resolve to no link, among them
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at, region) VALUES
    ('email', 'not an address', 'cookie', 'ck-bad-1', 'par bad', '2026-06-01 00:00+00', NULL),
    ('fax', '+1 212 555 0100', NULL, NULL, 'par bad', '2026-06-01 00:00+00', NULL),
    ('crm', 'P9', 'email', 'late@par.test', 'par bad', 'infinity', NULL),
    ('email', 'Same@Par.test', 'email', ' same@par.test', 'par same', '2026-06-01 00:00+00', NULL),
    ('phone', '020 7946 0000', 'crm', 'P11', NULL, '2026-06-02 00:00+00', 'GB'),
    ('phone', '12', 'crm', 'P12', 'par bad', '2026-06-02 00:00+00', 'GB'),
    -- a source larger than the worker's message queue (4 MB)
    ('crm', 'P13', 'cookie', 'ck-13-9', repeat('long source ', 500000), '2026-06-03 00:00+00', NULL);

-- what a bulk load leaves, without the ids it drew (sequences do not roll
-- back): each identifier with its first and last seen and the first
-- identifier of its customer; each link by its identifiers; the rows left
-- in staging with their errors
CREATE TEMP VIEW bulk_identities AS
SELECT md5(string_agg(s, ',' ORDER BY s)) AS fp, count(*) AS n
  FROM (SELECT kind || ':' || value || '|' || first_seen || '|' || last_seen || '|'
               || min(kind || ':' || value) OVER (PARTITION BY customer_id) AS s
          FROM omni.identity) x;
CREATE TEMP VIEW bulk_links AS
SELECT md5(string_agg(s, ',' ORDER BY s)) AS fp, count(*) AS n
  FROM (SELECT a.kind || ':' || a.value || '-' || b.kind || ':' || b.value || '|' || l.status || '|'
               || coalesce(l.reason, '') || '|' || coalesce(l.source, '') || '|' || l.observed_at AS s
          FROM omni.identity_link l
          JOIN omni.identity a ON a.identity_id = l.identity_a
          JOIN omni.identity b ON b.identity_id = l.identity_b) x;
CREATE TEMP VIEW bulk_staging AS
SELECT md5(string_agg(staging_id || '|' || coalesce(error, ''), ',' ORDER BY staging_id)) AS fp,
       count(*) AS n
  FROM omni.link_staging;
\set staging_scans 'SELECT seq_scan AS scans FROM pg_stat_xact_user_tables WHERE relid = ''omni.link_staging''::regclass \\gset'

-- the bulk load without the worker, then with it
SAVEPOINT bulk;
SET max_parallel_maintenance_workers = 0;
:staging_scans
\set scans_before :scans
-- every count of the run, as one value
SELECT r::text AS bserial_counts FROM omni.resolve_all() r \gset
:staging_scans
SELECT :scans - :scans_before AS bserial_scans \gset
SELECT fp AS bserial_identities_fp FROM bulk_identities \gset
SELECT fp AS bserial_links_fp FROM bulk_links \gset
SELECT fp AS bserial_staging_fp FROM bulk_staging \gset
ROLLBACK TO SAVEPOINT bulk;

SET max_parallel_maintenance_workers = 2;
:staging_scans
\set scans_before :scans
SELECT r::text AS bpar_counts, r.new_links AS bpar_new_links, r.invalid_rows AS bpar_invalid_rows
  FROM omni.resolve_all() r \gset
:staging_scans
-- the run with the worker left the staging table to it: one scan less here
SELECT :bserial_scans - (:scans - :scans_before) AS staging_scans_left_to_the_worker;
SELECT :bpar_new_links AS new_links, :bpar_invalid_rows AS invalid_rows,
       :'bserial_counts' = :'bpar_counts' AS same_counts;
SELECT fp = :'bserial_identities_fp' AS same_identifiers_and_customers, n AS identifiers
  FROM bulk_identities;
SELECT fp = :'bserial_links_fp' AS same_links_and_statuses, n AS links FROM bulk_links;
SELECT fp = :'bserial_staging_fp' AS same_rows_left, n AS rows_left FROM bulk_staging;
-- what the worker made of the odd rows
SELECT kind_a, value_a, kind_b, value_b, error FROM omni.link_staging ORDER BY staging_id;
SELECT kind, value FROM omni.identity
 WHERE value IN ('same@par.test', '+442079460000') ORDER BY kind, value;
SELECT a.value AS a, b.value AS b, l.source
  FROM omni.identity_link l
  JOIN omni.identity a ON a.identity_id = l.identity_a
  JOIN omni.identity b ON b.identity_id = l.identity_b
 WHERE a.value = '+442079460000' OR b.value = '+442079460000';
SELECT length(l.source) AS long_source FROM omni.identity_link l
  JOIN omni.identity b ON b.identity_id = l.identity_b WHERE b.value = 'ck-13-9';
SELECT count(*) AS links_of_same FROM omni.identity_link l JOIN omni.identity i
    ON i.identity_id IN (l.identity_a, l.identity_b) WHERE i.value = 'same@par.test';
DELETE FROM omni.link_staging;

-- a device seen alone, then with a person's cookie: a merge, undone; its
-- link stays unmerged through every re-resolution
SELECT omni.identify('device', 'dev-par-1') IS NOT NULL AS identified;
SELECT omni.link('device', 'dev-par-1', 'cookie', 'ck-7-1', 'par test') IS NOT NULL AS merged;
SELECT omni.unmerge(max(merge_id)) IS NOT NULL AS unmerged FROM omni.merge_log;
ANALYZE omni.identity, omni.identity_link, omni.customer;
SELECT count(*) > 100000 AS over_threshold FROM omni.identity_link;

-- what a run leaves: each identity with the oldest identity of its customer,
-- and each link with its status and reason; counts without new ids
\set fingerprint 'SELECT md5(string_agg(identity_id || ''>'' || anchor, '','' ORDER BY identity_id)) AS customers_fp FROM (SELECT identity_id, min(identity_id) OVER (PARTITION BY customer_id) AS anchor FROM omni.identity) s \\gset'
\set link_fingerprint 'SELECT md5(string_agg(link_id || status || coalesce(reason, ''''), '','' ORDER BY link_id)) AS links_fp FROM omni.identity_link \\gset'

-- the same rule change, re-resolved without the worker, then with it;
-- whether this process scanned omni.identity_link itself shows in its own
-- scan count (that of the worker is not counted here)
\set link_scans 'SELECT seq_scan AS scans FROM pg_stat_xact_user_tables WHERE relid = ''omni.identity_link''::regclass \\gset'
SAVEPOINT rule_change;
UPDATE omni.identity_rule SET max_per_customer = 3 WHERE kind = 'email';
SET max_parallel_maintenance_workers = 0;
:link_scans
\set scans_before :scans
SELECT customers, identities, links, rejected, merges, changed_links, moved_identities, split_customers
  FROM omni.resolve_all() \gset serial_
:link_scans
SELECT :scans - :scans_before AS serial_scans \gset
:fingerprint
\set serial_customers_fp :customers_fp
:link_fingerprint
\set serial_links_fp :links_fp
ROLLBACK TO SAVEPOINT rule_change;

SAVEPOINT rule_change;
UPDATE omni.identity_rule SET max_per_customer = 3 WHERE kind = 'email';
SET max_parallel_maintenance_workers = 2;
:link_scans
\set scans_before :scans
SELECT customers, identities, links, rejected, merges, changed_links, moved_identities, split_customers
  FROM omni.resolve_all() \gset parallel_
:link_scans
-- the run with the worker scanned the links table once less
SELECT :serial_scans - (:scans - :scans_before) AS scans_left_to_the_worker;
:fingerprint
:link_fingerprint
SELECT :serial_customers = :parallel_customers AS same_customers,
       :serial_rejected = :parallel_rejected AS same_rejected,
       :serial_changed_links = :parallel_changed_links AS same_changed_links,
       :serial_moved_identities = :parallel_moved_identities AS same_moved,
       :serial_split_customers = :parallel_split_customers AS same_splits,
       :'serial_customers_fp' = :'customers_fp' AS same_partition,
       :'serial_links_fp' = :'links_fp' AS same_links;
-- the change did something: links refused, customers split, ...
SELECT :parallel_changed_links > 0 AS links_changed, :parallel_split_customers > 0 AS customers_split,
       :parallel_rejected > 0 AS some_rejected;
SELECT status, count(*) AS links, count(DISTINCT reason) AS reasons
  FROM omni.identity_link WHERE source LIKE 'par %' GROUP BY status ORDER BY status;
SELECT count(*) AS blocked_links FROM omni.identity_link
 WHERE source LIKE 'par %' AND reason LIKE 'blocked value: %';
ROLLBACK TO SAVEPOINT rule_change;

-- nothing to change: the run with the worker leaves every row as it was
SELECT new_links, merges, changed_links, moved_identities, split_customers FROM omni.resolve_all();
ROLLBACK;
\c :regress_db
DROP DATABASE regress_omni_parallel;
