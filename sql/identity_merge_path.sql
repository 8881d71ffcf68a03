-- Identity resolution: what one merge by omni.link writes.  The survivor
-- gets the absorbed customer's attributes and time zone where it has none
-- (and is not rewritten when there is nothing to carry), the merge log
-- lists exactly the identifiers that moved, both linked identifiers widen
-- their first/last seen, customers absorbed earlier point at the survivor.
\pset null '<null>'
SET timezone = 'UTC';

-- Anna (older customer) and Bob (newer, absorbed earlier Bob's old cookie customer).
SELECT omni.link('email', 'anna@merge.test', 'cookie', 'ck_anna', 'web', '2026-02-01 10:00+00') > 0 AS anna;
SELECT omni.link('email', 'bob@merge.test', 'phone', '(212) 555-0142', 'signup', '2026-02-02 10:00+00') > 0 AS bob;
SELECT omni.link('cookie', 'ck_bob_old', 'device', 'dev_bob_old', 'app', '2026-02-02 09:00+00') > 0 AS bob_old;
SELECT omni.customer_of('email', 'anna@merge.test') AS anna_c, omni.customer_of('email', 'bob@merge.test') AS bob_c,
       omni.customer_of('cookie', 'ck_bob_old') AS old_c \gset
SELECT omni.link('cookie', 'ck_bob_old', 'email', 'bob@merge.test', 'web', '2026-02-02 11:00+00') > 0 AS bob_merged_old;
SELECT merged_into = :bob_c AS old_points_at_bob FROM omni.customer WHERE customer_id = :old_c;
UPDATE omni.customer SET attributes = '{"tier": "gold"}' WHERE customer_id = :anna_c;
UPDATE omni.customer SET attributes = '{"tier": "silver", "city": "Oslo"}', time_zone = 'Europe/Oslo'
 WHERE customer_id = :bob_c;
SELECT array_agg(identity_id ORDER BY identity_id) AS bob_ids FROM omni.identity WHERE customer_id = :bob_c \gset

-- the merge: a link seen after everything else
SELECT omni.link('cookie', 'ck_anna', 'phone', '212 555 0142', 'web', '2026-02-10 10:00+00') AS l \gset
SELECT customer_id = :anna_c AS survivor_is_older, attributes, time_zone FROM omni.customer WHERE customer_id = :anna_c;
SELECT customer_id = :bob_c AS bob, merged_into = :anna_c AS points_at_survivor, merged_at IS NOT NULL AS merged_at_set
  FROM omni.customer WHERE customer_id IN (:bob_c, :old_c) ORDER BY customer_id;
-- the log lists exactly Bob's identifiers (not the survivor's, whose last_seen also moved)
SELECT survivor = :anna_c AS survivor, absorbed = :bob_c AS absorbed, link_id = :l AS link,
       identities = :'bob_ids'::bigint[] AS identities_are_bobs
  FROM omni.merge_log WHERE link_id = :l;
SELECT count(*) AS identities_of_anna FROM omni.identity WHERE customer_id = :anna_c;
-- both linked identifiers now end at the link's time; the others keep theirs
SELECT kind, value, first_seen, last_seen FROM omni.identity WHERE customer_id = :anna_c ORDER BY kind, value;

-- an earlier observation widens first_seen on both sides of a merge
SELECT omni.link('email', 'carl@merge.test', 'cookie', 'ck_carl', 'web', '2026-03-01 10:00+00') > 0 AS carl;
SELECT omni.customer_of('email', 'carl@merge.test') AS carl_c \gset
SELECT xmin AS anna_xmin FROM omni.customer WHERE customer_id = :anna_c \gset
SELECT omni.link('cookie', 'ck_carl', 'email', 'anna@merge.test', 'web', '2026-01-15 10:00+00') > 0 AS merged;
SELECT kind, value, first_seen, last_seen FROM omni.identity
 WHERE value IN ('ck_carl', 'anna@merge.test', 'carl@merge.test') ORDER BY kind, value;
-- Carl brought neither attributes nor a time zone: the survivor row was not rewritten
SELECT xmin = :'anna_xmin'::xid AS survivor_not_rewritten, attributes, time_zone
  FROM omni.customer WHERE customer_id = :anna_c;

-- a time zone alone is carried to a survivor without one; a survivor keeps its own
SELECT omni.link('email', 'dora@merge.test', 'cookie', 'ck_dora', 'web', '2026-03-02 10:00+00') > 0 AS dora;
SELECT omni.link('email', 'emil@merge.test', 'cookie', 'ck_emil', 'web', '2026-03-02 11:00+00') > 0 AS emil;
SELECT omni.link('email', 'fred@merge.test', 'cookie', 'ck_fred', 'web', '2026-03-02 12:00+00') > 0 AS fred;
UPDATE omni.customer SET time_zone = 'Asia/Tokyo'
 WHERE customer_id = omni.customer_of('email', 'emil@merge.test');
UPDATE omni.customer SET time_zone = 'America/Chicago'
 WHERE customer_id = omni.customer_of('email', 'fred@merge.test');
SELECT omni.link('cookie', 'ck_dora', 'cookie', 'ck_emil', 'web', '2026-03-03 10:00+00') > 0 AS dora_emil;
SELECT time_zone, attributes FROM omni.customer WHERE customer_id = omni.customer_of('email', 'dora@merge.test');
SELECT omni.link('cookie', 'ck_dora', 'cookie', 'ck_fred', 'web', '2026-03-03 11:00+00') > 0 AS dora_fred;
SELECT time_zone, attributes FROM omni.customer WHERE customer_id = omni.customer_of('email', 'dora@merge.test');
SELECT count(DISTINCT customer_id) AS one_customer FROM omni.identity WHERE value LIKE '%dora%' OR value LIKE '%emil%' OR value LIKE '%fred%';

-- a refused merge moves nothing, logs no merge, and still widens both identifiers' seen times
SELECT omni.link('crm', 'CRM-M1', 'email', 'gina@merge.test', 'crm', '2026-04-01 10:00+00') > 0 AS gina;
SELECT omni.link('crm', 'CRM-M2', 'email', 'hugo@merge.test', 'crm', '2026-04-01 11:00+00') > 0 AS hugo;
SELECT count(*) AS merges_before FROM omni.merge_log \gset
SELECT omni.link('email', 'gina@merge.test', 'email', 'hugo@merge.test', 'crm', '2026-04-05 10:00+00') AS refused \gset
SELECT status, reason LIKE 'max_per_customer exceeded: customers % and % together would hold 2 crm identifiers (max 1)' AS reason_ok
  FROM omni.identity_link WHERE link_id = :refused;
SELECT count(*) - :merges_before AS new_merges FROM omni.merge_log;
SELECT omni.customer_of('email', 'gina@merge.test') <> omni.customer_of('email', 'hugo@merge.test') AS still_apart;
SELECT value, first_seen, last_seen FROM omni.identity WHERE kind = 'email' AND value IN ('gina@merge.test', 'hugo@merge.test')
 ORDER BY value;

-- clean up
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.forgotten,
         omni.link_staging, omni.consent, omni.message, omni.customer;
