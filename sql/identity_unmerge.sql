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

-- Bad input.
\set VERBOSITY sqlstate
SELECT omni.unmerge(:m2);
\set VERBOSITY terse
SELECT omni.unmerge(-1);
SELECT omni.unmerge(NULL) IS NULL AS strict;

SET client_min_messages = warning;
TRUNCATE omni.touchpoint, omni.identity_link, omni.merge_log, omni.identity, omni.link_staging, omni.customer CASCADE;
RESET client_min_messages;
