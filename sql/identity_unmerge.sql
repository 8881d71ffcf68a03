-- Identity resolution: undoing a merge.
\pset null '<null>'
SET timezone = 'UTC';

-- Anna (email, cookie) and Bob (email, phone) merge through a shared cookie.
SELECT omni.link('email', 'anna@shop.org', 'cookie', 'ck_1', 'web_login', '2026-01-01 10:00+00') > 0;
SELECT omni.link('email', 'bob@shop.org', 'phone', '(212) 555-0101', 'signup', '2026-01-02 10:00+00') > 0;
SELECT omni.customer_of('email', 'anna@shop.org') AS anna, omni.customer_of('email', 'bob@shop.org') AS bob \gset
SELECT omni.link('phone', '212 555 0101', 'cookie', 'ck_1', 'web_login', '2026-01-03 10:00+00') AS merging_link \gset
-- after the merge Bob's side gains a device, and a second observation joins the sides again
SELECT omni.link('phone', '212 555 0101', 'device', 'dev_bob', 'app_login', '2026-01-04 10:00+00') > 0;
SELECT omni.link('device', 'dev_bob', 'email', 'anna@shop.org', 'app_login', '2026-01-05 10:00+00') AS second_link \gset
SELECT merge_id AS m FROM omni.merge_log \gset
SELECT count(DISTINCT customer_id) AS one_customer FROM omni.identity;

-- Undo it.
SELECT omni.unmerge(:m) AS identifiers_given_back;
SELECT kind, value, customer_id = :anna AS anna, customer_id = :bob AS bob FROM omni.identity ORDER BY kind, value;
SELECT merged_into, merged_at FROM omni.customer WHERE customer_id = :bob;
SELECT unmerged_at IS NOT NULL AS undone FROM omni.merge_log WHERE merge_id = :m;
-- the merging link and the later one that rejoined the sides are marked and kept
SELECT link_id = :merging_link AS merging, link_id = :second_link AS second, status,
       reason = 'undone by omni.unmerge(' || :m || ')' AS reason_names_the_merge
  FROM omni.identity_link WHERE status <> 'accepted' ORDER BY link_id;
-- they do not merge again, not even in bulk
SET client_min_messages = warning;
SELECT customers, merges FROM omni.resolve_all();
RESET client_min_messages;
SELECT omni.customer_of('email', 'anna@shop.org') <> omni.customer_of('email', 'bob@shop.org') AS still_apart;
-- the split pair seen again is recorded, names the unmerge and merges nothing, by omni.link
SELECT omni.link('cookie', 'ck_1', 'phone', '+12125550101', 'web_login', '2026-01-05 12:00+00') AS seen_again \gset
SELECT status, reason = 'undone by omni.unmerge(' || :m || ')' AS reason_names_the_merge
  FROM omni.identity_link WHERE link_id = :seen_again;
SELECT omni.customer_of('phone', '+12125550101') = :bob AS phone_stays_with_bob,
       omni.customer_of('cookie', 'ck_1') = :anna AS cookie_stays_with_anna;
-- nor in bulk, and re-resolution agrees with what omni.link recorded
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at)
VALUES ('phone', '(212) 555-0101', 'cookie', 'ck_1', 'import', '2026-01-05 13:00+00');
SET client_min_messages = warning;
SELECT customers, links, rejected, merges, changed_links FROM omni.resolve_all();
RESET client_min_messages;
SELECT source, status, reason = 'undone by omni.unmerge(' || :m || ')' AS reason_names_the_merge
  FROM omni.identity_link WHERE observed_at >= '2026-01-05 12:00+00' ORDER BY observed_at;
SELECT omni.customer_of('email', 'anna@shop.org') <> omni.customer_of('email', 'bob@shop.org') AS still_apart;
-- a new observation of another pair is new evidence and merges them again
SELECT omni.link('email', 'bob@shop.org', 'email', 'anna@shop.org', 'crm_import', '2026-01-06 10:00+00') > 0;
SELECT omni.customer_of('email', 'bob@shop.org') = :anna AS merged_again;

-- Chains: C was merged into Bob before Bob was merged into Anna; undoing Bob's merge brings C back under Bob.
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
SELECT omni.link('email', 'anna@shop.org', 'cookie', 'ck_a', 'x', '2026-01-01') > 0;
SELECT omni.link('email', 'bob@shop.org', 'cookie', 'ck_b', 'x', '2026-01-01') > 0;
SELECT omni.link('email', 'carl@shop.org', 'cookie', 'ck_c', 'x', '2026-01-01') > 0;
SELECT omni.customer_of('email', 'anna@shop.org') AS a, omni.customer_of('email', 'bob@shop.org') AS b,
       omni.customer_of('email', 'carl@shop.org') AS c \gset
SELECT omni.link('cookie', 'ck_b', 'cookie', 'ck_c', 'x', '2026-01-02') > 0;   -- Bob absorbs Carl
SELECT omni.link('cookie', 'ck_a', 'cookie', 'ck_b', 'x', '2026-01-03') > 0;   -- Anna absorbs Bob (and Carl)
SELECT customer_id = :b AS bob, customer_id = :c AS carl, merged_into = :a AS into_anna FROM omni.customer
 WHERE customer_id IN (:b, :c) ORDER BY customer_id;
SELECT merge_id AS m2 FROM omni.merge_log WHERE absorbed = :b \gset
SELECT omni.unmerge(:m2) AS given_back;
SELECT customer_id = :b AS bob, merged_into = :b AS into_bob, merged_into IS NULL AS live FROM omni.customer
 WHERE customer_id IN (:b, :c) ORDER BY customer_id;
SELECT omni.customer_of('email', 'carl@shop.org') = :b AS carl_with_bob, omni.customer_of('email', 'anna@shop.org') = :a AS anna_alone;
SELECT count(*) AS identities FROM omni.identities(:c);

-- A customer merged later, through an identifier that goes back with the
-- absorbed side, follows its identifiers: undoing the first merge of a
-- chain a-b, b-c points c's customer at b's, and the second merge can then
-- be undone too; erasing c's customer erases c, not a.
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
SELECT omni.identify('cookie', 'ck_1') AS c1, omni.identify('cookie', 'ck_2') AS c2, omni.identify('cookie', 'ck_3') AS c3 \gset
SELECT omni.customer_of('cookie', 'ck_1') AS k1, omni.customer_of('cookie', 'ck_2') AS k2, omni.customer_of('cookie', 'ck_3') AS k3 \gset
SELECT omni.link('cookie', 'ck_1', 'cookie', 'ck_2', 'x', '2026-02-01') > 0;   -- k1 absorbs k2
SELECT omni.link('cookie', 'ck_2', 'cookie', 'ck_3', 'x', '2026-02-02') > 0;   -- k1 absorbs k3, through ck_2
SELECT omni.touch('cookie', 'ck_3', 'web', 'page_view', '2026-02-03') > 0;
SELECT merge_id AS first FROM omni.merge_log WHERE absorbed = :k2 \gset
SELECT merge_id AS second FROM omni.merge_log WHERE absorbed = :k3 \gset
SELECT omni.unmerge(:first) AS given_back;
SELECT customer_id = :k3 AS k3, merged_into = :k2 AS into_k2 FROM omni.customer WHERE customer_id = :k3;
SELECT array_agg(value ORDER BY value) AS identities_of_k3 FROM omni.identities(:k3);
SELECT omni.unmerge(:second) AS given_back;
SELECT value, customer_id = :k1 AS k1, customer_id = :k2 AS k2, customer_id = :k3 AS k3
  FROM omni.identity ORDER BY value;
SELECT count(*) FILTER (WHERE merged_into IS NOT NULL) AS absorbed FROM omni.customer;
SELECT t.customer_id = :k3 AS touchpoint_with_k3 FROM omni.touchpoint t;

-- What the merge gave the survivor (attributes it lacked, a time zone when
-- it had none) is taken back by the unmerge where it is unchanged, so
-- erasing the absorbed customer afterwards leaves nothing of it behind.
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
SELECT omni.identify('cookie', 'ck_old') > 0, omni.identify('cookie', 'ck_new') > 0;
SELECT omni.customer_of('cookie', 'ck_old') AS old, omni.customer_of('cookie', 'ck_new') AS new \gset
UPDATE omni.customer SET attributes = '{"tier": "gold", "name": "Old"}' WHERE customer_id = :old;
UPDATE omni.customer SET attributes = '{"name": "Bob Secret", "phone_type": "ios", "tier": "silver"}',
                         time_zone = 'Europe/Paris' WHERE customer_id = :new;
SELECT omni.link('cookie', 'ck_old', 'cookie', 'ck_new', 'x', '2026-03-01') > 0;
SELECT attributes, time_zone FROM omni.customer WHERE customer_id = :old;
SELECT carried FROM omni.merge_log;
-- a value changed since the merge is the survivor's own now, and stays
UPDATE omni.customer SET attributes = attributes || '{"phone_type": "android"}' WHERE customer_id = :old;
SELECT merge_id AS m FROM omni.merge_log \gset
SELECT omni.unmerge(:m) AS given_back;
SELECT attributes, time_zone FROM omni.customer WHERE customer_id = :old;
SELECT omni.forget(:new) AS erased;
SELECT count(*) AS rows_with_its_data FROM omni.customer
 WHERE attributes::text LIKE '%Bob%' OR attributes ->> 'phone_type' = 'ios' OR time_zone = 'Europe/Paris';

-- What was carried on by a later merge (the survivor was absorbed since) is
-- taken back from the customer it went on to as well, and from that merge's
-- log: erasing the customer it came from leaves it nowhere.
SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
SELECT omni.identify('email', 'sam@chain.org') > 0, omni.identify('email', 'al@chain.org') > 0,
       omni.identify('email', 'erin@chain.org') > 0;
SELECT omni.customer_of('email', 'sam@chain.org') AS sam, omni.customer_of('email', 'al@chain.org') AS al,
       omni.customer_of('email', 'erin@chain.org') AS erin \gset
UPDATE omni.customer SET attributes = '{"work": "erin.work@chain.org"}', time_zone = 'Europe/Paris'
 WHERE customer_id = :erin;
SELECT omni.link('email', 'al@chain.org', 'email', 'erin@chain.org', 'x', '2026-04-01') > 0;   -- al absorbs erin
SELECT omni.link('email', 'sam@chain.org', 'email', 'al@chain.org', 'x', '2026-04-02') > 0;    -- sam absorbs al
SELECT attributes, time_zone FROM omni.customer WHERE customer_id = :sam;
SELECT merge_id AS m1 FROM omni.merge_log WHERE absorbed = :erin \gset
SELECT omni.unmerge(:m1) AS given_back;
SELECT customer_id = :sam AS sam, attributes, time_zone FROM omni.customer WHERE customer_id IN (:sam, :al) ORDER BY customer_id;
SELECT carried FROM omni.merge_log WHERE absorbed = :al;
SELECT omni.forget(:erin) AS erased;
SELECT count(*) AS rows_with_erins_data FROM omni.customer
 WHERE attributes::text LIKE '%erin%' OR time_zone = 'Europe/Paris';
SELECT count(*) AS log_rows_with_erins_data FROM omni.merge_log WHERE carried::text LIKE '%erin%';

-- Bad input.
\set VERBOSITY sqlstate
SELECT omni.unmerge(:m2);
\set VERBOSITY terse
SELECT omni.unmerge(-1);
SELECT omni.unmerge(NULL) IS NULL AS strict;

SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
