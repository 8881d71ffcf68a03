--
-- omni.resolve_all() on a graph large enough for its parallel worker (which
-- reads omni.identity_link while the identities are read) and for the
-- helper that faults its memory in: the same rule change re-resolved with
-- and without the worker must give the same customers, link statuses and
-- reasons, and the same counts.
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
SELECT new_links, invalid_rows FROM omni.resolve_all();

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
