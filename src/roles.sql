\echo Use "CREATE EXTENSION omnichannel" to load this file. \quit

/*
 * Roles: who may do what.
 *
 *   omni_admin   rules, consent, erasure and identity administration
 *                (omni.forget, omni.unmerge, omni.resolve_all, the
 *                configuration tables); a member of both roles below
 *   omni_writer  ingestion (omni.touch, omni.identify, omni.link,
 *                omni.link_staging) and the outbox (inserting omni.message
 *                and reading back its decision, omni.would_suppress)
 *   omni_reader  the BI views only
 *
 * Roles belong to the cluster, not to a database: they are made here only
 * when missing (NOLOGIN: grant them to login roles), so CREATE EXTENSION
 * works in a second database and after DROP EXTENSION.  The privileges
 * below are those of the extension's objects, recorded in pg_init_privs, so
 * pg_dump does not repeat them and CREATE EXTENSION gives them again.
 *
 * The C code runs its SQL (SPI) as the calling user, so each role holds the
 * privileges of everything its functions read and write: the suppression
 * trigger reads the rules, consents, erasure register, identifiers,
 * customers, messages and touchpoints, and locks the customer's row FOR NO
 * KEY UPDATE, which needs UPDATE on a column of omni.customer.  The one
 * exception is the hash key in omni.secret: it stays readable by its owner
 * only, and the library reads it without a privilege check to compute
 * identifier hashes (erased recipients are recognised) without ever
 * returning it.
 */
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['omni_reader', 'omni_writer', 'omni_admin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    FOREACH r IN ARRAY ARRAY['omni_reader', 'omni_writer']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                        WHERE m.roleid = pg_catalog.to_regrole(r)
                          AND m.member = pg_catalog.to_regrole('omni_admin')) THEN
            EXECUTE pg_catalog.format('GRANT %I TO omni_admin', r);
        END IF;
    END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA omni TO omni_reader, omni_writer;

/* omni_reader: the views (they read the tables with their owner's rights). */
GRANT SELECT ON omni.customer_journey, omni.channel_transition, omni.channel_attribution
    TO omni_reader;

/*
 * omni_writer: ingestion.  omni.touch and omni.identify create customers and
 * identifiers; omni.link also records links, moves identifiers and absorbs
 * customers (only the columns a merge changes) and logs the merge.
 */
GRANT SELECT ON omni.channel, omni.identity_rule, omni.blocklist TO omni_writer;
GRANT SELECT, INSERT ON omni.customer, omni.identity, omni.identity_link, omni.merge_log,
    omni.touchpoint TO omni_writer;
GRANT UPDATE (merged_into, merged_at, attributes, time_zone) ON omni.customer TO omni_writer;
GRANT UPDATE (customer_id, first_seen, last_seen) ON omni.identity TO omni_writer;
-- a merge re-points the absorbed customer's touchpoints
GRANT UPDATE (customer_id) ON omni.touchpoint TO omni_writer;
-- partitioned, it moves them: deletes them and inserts them under the survivor
DO $writer$
BEGIN
    IF (SELECT c.relkind FROM pg_catalog.pg_class c
         WHERE c.oid OPERATOR(pg_catalog.=) 'omni.touchpoint'::pg_catalog.regclass) OPERATOR(pg_catalog.=) 'p' THEN
        GRANT DELETE ON omni.touchpoint TO omni_writer;
    END IF;
END
$writer$;
-- a new identifier that lost a race drops the customer made for it
GRANT DELETE ON omni.customer TO omni_writer;
GRANT SELECT, INSERT ON omni.link_staging TO omni_writer;
GRANT USAGE ON SEQUENCE omni.customer_customer_id_seq, omni.identity_identity_id_seq,
    omni.identity_link_link_id_seq, omni.merge_log_merge_id_seq,
    omni.touchpoint_touchpoint_id_seq, omni.link_staging_staging_id_seq TO omni_writer;

/*
 * omni_writer: the outbox.  The suppression trigger reads the rules, the
 * consents and the erasure register (hashes only), besides the tables
 * above; omni.message is read back for the decision.
 */
GRANT SELECT ON omni.suppression_rule, omni.consent, omni.forgotten TO omni_writer;
GRANT SELECT ON omni.message TO omni_writer;
/*
 * Not decided_at: a row inserted with it set is kept undecided (that is how
 * a restore keeps its decisions), so a writer setting it would bypass the
 * rules; nor the columns the decision writes (status, reasons) or the id.
 */
GRANT INSERT (recipient_kind, recipient, customer_id, channel, campaign, category, topic,
              priority, created_at, send_at) ON omni.message TO omni_writer;
GRANT USAGE ON SEQUENCE omni.message_message_id_seq TO omni_writer;

/*
 * omni_admin: everything of the writer and the reader (membership), and
 * the configuration: channels, identifier rules, blocked values,
 * suppression rules and consents.
 */
GRANT SELECT, INSERT, UPDATE, DELETE ON omni.channel, omni.identity_rule, omni.blocklist,
    omni.suppression_rule, omni.consent TO omni_admin;
GRANT USAGE ON SEQUENCE omni.blocklist_blocked_id_seq, omni.suppression_rule_rule_id_seq,
    omni.consent_consent_id_seq TO omni_admin;

/*
 * omni_admin: erasure and identity administration.  omni.forget deletes a
 * customer's rows everywhere and records hashes; omni.unmerge updates
 * identifiers, links, merges and customers; omni.resolve_all locks the
 * identity tables, reserves ids (setval), updates and truncates the
 * staging table, and rewrites identifiers and links.
 */
GRANT UPDATE, DELETE ON omni.customer, omni.identity, omni.identity_link, omni.merge_log,
    omni.touchpoint, omni.message, omni.link_staging TO omni_admin;
GRANT TRUNCATE ON omni.link_staging TO omni_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON omni.forgotten TO omni_admin;
GRANT UPDATE ON SEQUENCE omni.customer_customer_id_seq, omni.identity_identity_id_seq,
    omni.identity_link_link_id_seq TO omni_admin;

/* Administrative functions: not for PUBLIC. */
REVOKE ALL ON FUNCTION omni.forget(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION omni.unmerge(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION omni.resolve_all() FROM PUBLIC;
REVOKE ALL ON FUNCTION omni.timeline_check(regclass) FROM PUBLIC;
-- an oracle of the keyed hashes of erased identifiers: only erasure needs it
REVOKE ALL ON FUNCTION omni.identifier_hash(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION omni.forget(bigint), omni.unmerge(bigint), omni.resolve_all(),
    omni.timeline_check(regclass), omni.identifier_hash(text, text) TO omni_admin;
