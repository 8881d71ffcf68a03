-- Statements found by SQLsmith (test/sqlsmith.sh), reduced: each once ended
-- in an internal error (SQLSTATE XX000) and now gets a clear one.
SET client_min_messages = warning;   -- no progress notices of omni.resolve_all
INSERT INTO omni.identity_rule (kind, priority, normalizer) VALUES ('rs_ticket', 50, 'text');
INSERT INTO omni.customer (customer_id) VALUES (990001);
INSERT INTO omni.identity (identity_id, kind, value, customer_id) VALUES
    (990001, 'rs_ticket', 'T-1', 990001), (990002, 'email', 'rs@shop.test', 990001);
INSERT INTO omni.identity_link (link_id, identity_a, identity_b, source) VALUES (990001, 990001, 990002, 'import');

-- omni.resolve_all() in the RETURNING list of a statement that deletes an
-- identifier kind still in use: the rows are gone from omni.identity_rule
-- before the foreign key from omni.identity is checked at the statement's end
DELETE FROM omni.identity_rule WHERE kind = 'rs_ticket'
RETURNING kind, (SELECT count(*) FROM omni.resolve_all()) AS resolved;
-- the same with a link whose identifier changes its id in the statement
UPDATE omni.identity SET identity_id = -identity_id WHERE identity_id = 990002
RETURNING (SELECT count(*) FROM omni.resolve_all()) AS resolved;
-- in a statement of its own, the delete is refused by the foreign key, and
-- omni.resolve_all() runs
DELETE FROM omni.identity_rule WHERE kind = 'rs_ticket';
SELECT count(*) > 0 AS resolved FROM omni.resolve_all();
SELECT kind, value, customer_id FROM omni.identity WHERE identity_id IN (990001, 990002) ORDER BY identity_id;

DELETE FROM omni.identity_link WHERE link_id = 990001;
DELETE FROM omni.identity WHERE identity_id IN (990001, 990002);
DELETE FROM omni.customer WHERE customer_id = 990001;
DELETE FROM omni.identity_rule WHERE kind = 'rs_ticket';
RESET client_min_messages;
