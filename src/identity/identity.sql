\echo Use "CREATE EXTENSION omnichannel" to load this file. \quit

/*
 * Identity resolution: identifiers, the links between them, the rules that
 * stop over-merging, the merge history and the erasure register; and the
 * touchpoints recorded against identifiers.
 */

/* Rules per identifier kind. */
CREATE TABLE omni.identity_rule (
    kind              text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    priority          integer NOT NULL CHECK (priority > 0),
    max_per_customer  integer CHECK (max_per_customer > 0),
    normalizer        text NOT NULL DEFAULT 'text'
                      CHECK (normalizer IN ('email', 'phone', 'name', 'text')),
    region            text CHECK (region ~ '^[A-Z]{2}$'),
    description       text,
    builtin           boolean NOT NULL DEFAULT false,
    CHECK (region IS NULL OR normalizer = 'phone')
);
CREATE TRIGGER identity_rule_seed_override BEFORE INSERT OR UPDATE ON omni.identity_rule
    FOR EACH ROW EXECUTE FUNCTION omni.seed_override('kind');
COMMENT ON TRIGGER identity_rule_seed_override ON omni.identity_rule IS 'Keeps a DBA''s changes to seeded rules through pg_dump';
COMMENT ON TABLE omni.identity_rule IS
    'Identifier kinds and the rules that stop over-merging: priority (1 = most trusted) and the most identifiers of the kind one customer may hold';
COMMENT ON COLUMN omni.identity_rule.kind IS 'Identifier kind (email, phone, cookie, ...)';
COMMENT ON COLUMN omni.identity_rule.priority IS 'Trust of the kind, 1 = most trusted; merges protect the identifiers of the most trusted kinds first';
COMMENT ON COLUMN omni.identity_rule.max_per_customer IS 'Most identifiers of this kind one customer may hold (NULL: unlimited); a link exceeding it is rejected';
COMMENT ON COLUMN omni.identity_rule.normalizer IS 'How values of the kind are normalized: email, phone, name, or text (trim + NFKC)';
COMMENT ON COLUMN omni.identity_rule.region IS 'phone normalizer: region (ISO 3166 code) of numbers written without a calling code; NULL means US';
COMMENT ON COLUMN omni.identity_rule.description IS 'Free text for people';
COMMENT ON COLUMN omni.identity_rule.builtin IS 'Seeded by CREATE EXTENSION and unchanged since (not dumped)';

INSERT INTO omni.identity_rule (kind, priority, max_per_customer, normalizer, region, description, builtin) VALUES
    ('crm',     1, 1,    'text',  NULL, 'Customer id of the CRM or shop back office: one per customer', true),
    ('email',   5, 5,    'email', NULL, 'E-mail address', true),
    ('phone',   5, 5,    'phone', 'US', 'Phone number, stored in E.164', true),
    ('loyalty', 3, 3,    'text',  NULL, 'Loyalty card number', true),
    ('device',  7, 20,   'text',  NULL, 'Mobile device or app installation id', true),
    ('social',  8, 10,   'text',  NULL, 'Social network handle', true),
    ('cookie',  9, NULL, 'text',  NULL, 'Web cookie id: they churn, so a customer may hold any number', true);

/*
 * Backends keep the rules and the blocklist in memory; this trigger tells
 * them all to read them again after a change.
 */
CREATE FUNCTION omni.rules_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'omni_rules_changed'
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.rules_changed() IS
    'Trigger of omni.identity_rule and omni.blocklist: every backend reads the rules again after a change';
CREATE TRIGGER identity_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON omni.identity_rule
    FOR EACH STATEMENT EXECUTE FUNCTION omni.rules_changed();
COMMENT ON TRIGGER identity_rule_changed ON omni.identity_rule IS 'Backends read the rules again after a change';

/* Identifiers. */
CREATE SEQUENCE omni.identity_identity_id_seq;
CREATE TABLE omni.identity (
    identity_id  bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.identity_identity_id_seq'),
    kind         text COLLATE "C" NOT NULL REFERENCES omni.identity_rule (kind),
    value        text COLLATE "C" NOT NULL,
    customer_id  bigint NOT NULL REFERENCES omni.customer (customer_id),
    first_seen   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_seen    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (kind, value),
    CHECK (first_seen <= last_seen)
)
/*
 * Every sighting moves last_seen: a tenth of each page is left free so that
 * those updates stay on the page (HOT) instead of adding three index
 * entries each.
 */
WITH (fillfactor = 90);
ALTER SEQUENCE omni.identity_identity_id_seq OWNED BY omni.identity.identity_id;
CREATE INDEX identity_customer_id_idx ON omni.identity (customer_id);
COMMENT ON TABLE omni.identity IS 'Identifiers (normalized) and the customer each belongs to';
COMMENT ON COLUMN omni.identity.identity_id IS 'Identifier id';
COMMENT ON COLUMN omni.identity.kind IS 'Identifier kind, a row of omni.identity_rule';
COMMENT ON COLUMN omni.identity.value IS 'Normalized value (collation C: identifiers compare by bytes)';
COMMENT ON COLUMN omni.identity.customer_id IS 'Customer the identifier belongs to';
COMMENT ON COLUMN omni.identity.first_seen IS 'When the identifier was first seen';
COMMENT ON COLUMN omni.identity.last_seen IS 'When the identifier was last seen';
COMMENT ON INDEX omni.identity_customer_id_idx IS 'All identifiers of one customer';

/* Links: two identifiers seen together. */
CREATE SEQUENCE omni.identity_link_link_id_seq;
CREATE TABLE omni.identity_link (
    link_id      bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.identity_link_link_id_seq'),
    identity_a   bigint NOT NULL REFERENCES omni.identity (identity_id) ON DELETE CASCADE,
    identity_b   bigint NOT NULL REFERENCES omni.identity (identity_id) ON DELETE CASCADE,
    source       text,
    observed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    status       text NOT NULL DEFAULT 'accepted'
                 CHECK (status IN ('accepted', 'rejected', 'unmerged')),
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK (identity_a <> identity_b),
    CHECK ((status = 'accepted') = (reason IS NULL))
);
ALTER SEQUENCE omni.identity_link_link_id_seq OWNED BY omni.identity_link.link_id;
CREATE INDEX identity_link_a_idx ON omni.identity_link (identity_a);
CREATE INDEX identity_link_b_idx ON omni.identity_link (identity_b);
CREATE INDEX identity_link_unmerged_idx ON omni.identity_link
    (LEAST(identity_a, identity_b), GREATEST(identity_a, identity_b)) WHERE status = 'unmerged';
COMMENT ON TABLE omni.identity_link IS
    'Observations of two identifiers together; a link a rule refuses is kept with status rejected and its reason';
COMMENT ON COLUMN omni.identity_link.link_id IS 'Link id';
COMMENT ON COLUMN omni.identity_link.identity_a IS 'First identifier';
COMMENT ON COLUMN omni.identity_link.identity_b IS 'Second identifier';
COMMENT ON COLUMN omni.identity_link.source IS 'Where the observation came from (login, checkout, import, ...)';
COMMENT ON COLUMN omni.identity_link.observed_at IS 'When the two identifiers were seen together';
COMMENT ON COLUMN omni.identity_link.status IS 'accepted (merges), rejected (a rule refused it) or unmerged (undone, never re-merges)';
COMMENT ON COLUMN omni.identity_link.reason IS 'Why the link is not accepted';
COMMENT ON COLUMN omni.identity_link.created_at IS 'When the link was recorded';
COMMENT ON INDEX omni.identity_link_a_idx IS 'Links of an identifier (first side)';
COMMENT ON INDEX omni.identity_link_b_idx IS 'Links of an identifier (second side)';
COMMENT ON INDEX omni.identity_link_unmerged_idx IS
    'Pairs of identifiers split by omni.unmerge: a later observation of such a pair merges nothing';

/* Blocked values: placeholders and shared identifiers that must never link. */
CREATE SEQUENCE omni.blocklist_blocked_id_seq;
CREATE TABLE omni.blocklist (
    blocked_id  bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.blocklist_blocked_id_seq'),
    kind        text REFERENCES omni.identity_rule (kind) ON DELETE CASCADE,
    value       text NOT NULL CHECK (value <> ''),
    is_pattern  boolean NOT NULL DEFAULT false,
    reason      text NOT NULL,
    builtin     boolean NOT NULL DEFAULT false
);
CREATE TRIGGER blocklist_seed_override BEFORE INSERT OR UPDATE ON omni.blocklist
    FOR EACH ROW EXECUTE FUNCTION omni.seed_override('kind', 'value', 'is_pattern');
COMMENT ON TRIGGER blocklist_seed_override ON omni.blocklist IS 'Keeps a DBA''s changes to seeded entries through pg_dump';
CREATE FUNCTION omni.blocklist_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.is_pattern THEN
        BEGIN
            -- compiled as the blocklist check compiles it: advanced, ignoring case, collation C
            PERFORM '' COLLATE "C" ~* NEW.value;
        EXCEPTION WHEN invalid_regular_expression THEN
            RAISE EXCEPTION 'blocklist pattern "%" is not a valid regular expression', NEW.value
                USING ERRCODE = 'invalid_regular_expression', DETAIL = SQLERRM,
                      HINT = 'A pattern is a POSIX regular expression matched against the normalized value, ignoring case.';
        END;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION omni.blocklist_check() IS
    'Trigger of omni.blocklist: a pattern must compile, so that one bad entry cannot stop every link';
CREATE TRIGGER blocklist_check BEFORE INSERT OR UPDATE ON omni.blocklist
    FOR EACH ROW EXECUTE FUNCTION omni.blocklist_check();
COMMENT ON TRIGGER blocklist_check ON omni.blocklist IS 'Refuses a pattern that is not a valid regular expression';
CREATE TRIGGER blocklist_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON omni.blocklist
    FOR EACH STATEMENT EXECUTE FUNCTION omni.rules_changed();
COMMENT ON TRIGGER blocklist_changed ON omni.blocklist IS 'Backends read the blocklist again after a change';
ALTER SEQUENCE omni.blocklist_blocked_id_seq OWNED BY omni.blocklist.blocked_id;
CREATE UNIQUE INDEX blocklist_entry_idx ON omni.blocklist (COALESCE(kind, ''), value, is_pattern);
COMMENT ON TABLE omni.blocklist IS
    'Identifier values that never link anything: placeholders, test addresses, shared identifiers';
COMMENT ON COLUMN omni.blocklist.blocked_id IS 'Entry id';
COMMENT ON COLUMN omni.blocklist.kind IS 'Kind the entry applies to (NULL: every kind)';
COMMENT ON COLUMN omni.blocklist.value IS 'Normalized value, or a POSIX regular expression when is_pattern';
COMMENT ON COLUMN omni.blocklist.is_pattern IS 'value is a regular expression matched against the normalized value';
COMMENT ON COLUMN omni.blocklist.reason IS 'Why the value is blocked';
COMMENT ON COLUMN omni.blocklist.builtin IS 'Seeded by CREATE EXTENSION and unchanged since (not dumped)';
COMMENT ON INDEX omni.blocklist_entry_idx IS 'One entry per kind, value and form';

INSERT INTO omni.blocklist (kind, value, is_pattern, reason, builtin) VALUES
    (NULL,    'null',                 false, 'placeholder', true),
    (NULL,    'undefined',            false, 'placeholder', true),
    (NULL,    'none',                 false, 'placeholder', true),
    (NULL,    'nan',                  false, 'placeholder', true),
    (NULL,    'n/a',                  false, 'placeholder', true),
    (NULL,    '0',                    false, 'placeholder', true),
    (NULL,    '-1',                   false, 'placeholder', true),
    (NULL,    'anonymous',            false, 'placeholder', true),
    (NULL,    'unknown',              false, 'placeholder', true),
    (NULL,    'guest',                false, 'placeholder', true),
    (NULL,    '^[0-]*$',              true,  'placeholder: only zeros and dashes', true),
    ('email', 'test@test.com',        false, 'test address', true),
    ('email', 'test@example.com',     false, 'test address', true),
    ('email', '^[^@]*@example\.(com|org|net)$', true, 'reserved example domain', true),
    ('email', '^no-?reply@',          true,  'no-reply mailbox', true),
    ('email', '^(donotreply|do-not-reply|mailer-daemon|postmaster)@', true, 'system mailbox', true),
    ('phone', '^\+1(\d)\1{9}$',       true,  'placeholder phone: one digit repeated', true),
    ('phone', '^\+1\d{3}5550100$',    true,  'fictional 555-0100 number', true);

/* Merge history: every merge, so it can be explained and undone. */
CREATE SEQUENCE omni.merge_log_merge_id_seq;
CREATE TABLE omni.merge_log (
    merge_id     bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.merge_log_merge_id_seq'),
    survivor     bigint NOT NULL REFERENCES omni.customer (customer_id),
    absorbed     bigint NOT NULL REFERENCES omni.customer (customer_id),
    link_id      bigint REFERENCES omni.identity_link (link_id) ON DELETE SET NULL,
    identities   bigint[] NOT NULL DEFAULT '{}',
    merged_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    unmerged_at  timestamptz,
    carried      jsonb,
    CHECK (survivor <> absorbed)
);
ALTER SEQUENCE omni.merge_log_merge_id_seq OWNED BY omni.merge_log.merge_id;
CREATE INDEX merge_log_survivor_idx ON omni.merge_log (survivor);
CREATE INDEX merge_log_absorbed_idx ON omni.merge_log (absorbed);
COMMENT ON TABLE omni.merge_log IS 'Every merge of two customers: who absorbed whom, by which link, when';
COMMENT ON COLUMN omni.merge_log.merge_id IS 'Merge id (the argument of omni.unmerge)';
COMMENT ON COLUMN omni.merge_log.survivor IS 'Customer that kept its id';
COMMENT ON COLUMN omni.merge_log.absorbed IS 'Customer merged into the survivor';
COMMENT ON COLUMN omni.merge_log.link_id IS 'Link that caused the merge';
COMMENT ON COLUMN omni.merge_log.identities IS 'Identifiers that moved from the absorbed customer to the survivor';
COMMENT ON COLUMN omni.merge_log.merged_at IS 'When the merge happened';
COMMENT ON COLUMN omni.merge_log.unmerged_at IS 'When the merge was undone (NULL: still in effect)';
COMMENT ON COLUMN omni.merge_log.carried IS
    'What the survivor took from the absorbed customer: {"attributes": the ones it lacked, "time_zone": when it had none}; omni.unmerge takes back what is unchanged (NULL: nothing)';
COMMENT ON INDEX omni.merge_log_survivor_idx IS 'Merges into a customer';
COMMENT ON INDEX omni.merge_log_absorbed_idx IS 'Merges of a customer into another';

/* Erasure register: keyed hashes of erased identifiers, never plaintext. */
CREATE TABLE omni.forgotten (
    hash          bytea PRIMARY KEY,
    kind          text NOT NULL,
    forgotten_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE omni.forgotten IS
    'Keyed hashes of erased identifiers, so messages to them stay suppressed; holds no plaintext';
COMMENT ON COLUMN omni.forgotten.hash IS 'Keyed hash of the kind and normalized value';
COMMENT ON COLUMN omni.forgotten.kind IS 'Identifier kind';
COMMENT ON COLUMN omni.forgotten.forgotten_at IS 'When the identifier was erased';

/*
 * The key of identifier hashes: one random 256-bit key per database, made by
 * CREATE EXTENSION, readable by the owner only (omni.identifier_hash reads it
 * for any caller without disclosing it).  pg_dump keeps it, so that erased
 * identifiers stay recognizable after a restore; an INSERT replaces the
 * current key, which is what a restore does.
 */
CREATE TABLE omni.secret (
    secret_id   integer PRIMARY KEY DEFAULT 1 CHECK (secret_id = 1),
    hmac_key    bytea NOT NULL CHECK (pg_catalog.length(hmac_key) >= 32),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
REVOKE ALL ON omni.secret FROM PUBLIC;
COMMENT ON TABLE omni.secret IS 'Per-database key of the identifier hashes kept in omni.forgotten; owner only';
COMMENT ON COLUMN omni.secret.secret_id IS 'Always 1: there is one key';
COMMENT ON COLUMN omni.secret.hmac_key IS 'HMAC-SHA256 key (at least 32 random bytes)';
COMMENT ON COLUMN omni.secret.created_at IS 'When the key was made';

CREATE FUNCTION omni.secret_replace() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM omni.secret WHERE secret_id = NEW.secret_id;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION omni.secret_replace() IS
    'Trigger of omni.secret: an inserted key replaces the current one (a restore brings the original key back)';
CREATE TRIGGER secret_replace BEFORE INSERT ON omni.secret
    FOR EACH ROW EXECUTE FUNCTION omni.secret_replace();
COMMENT ON TRIGGER secret_replace ON omni.secret IS 'An inserted key replaces the current one';
-- gen_random_uuid() draws from pg_strong_random(): two of them give 244 random bits
INSERT INTO omni.secret (hmac_key)
VALUES (pg_catalog.decode(pg_catalog.replace(pg_catalog.gen_random_uuid()::text
                                             || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'));

/*
 * The bulk path: raw pairs are COPYed here, then omni.resolve_all()
 * normalizes them into identities and links.  Resolved rows are deleted;
 * a row that could not be resolved stays, with the reason in error.
 */
CREATE SEQUENCE omni.link_staging_staging_id_seq;
CREATE TABLE omni.link_staging (
    staging_id   bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.link_staging_staging_id_seq'),
    kind_a       text NOT NULL,
    value_a      text NOT NULL,
    kind_b       text,
    value_b      text,
    source       text,
    observed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    region       text CHECK (region ~ '^[A-Z]{2}$'),
    error        text,
    CHECK ((kind_b IS NULL) = (value_b IS NULL))
);
ALTER SEQUENCE omni.link_staging_staging_id_seq OWNED BY omni.link_staging.staging_id;
COMMENT ON TABLE omni.link_staging IS
    'Raw identifier pairs waiting for omni.resolve_all(); rows it could not resolve stay with their error';
COMMENT ON COLUMN omni.link_staging.staging_id IS 'Row id (resolution order among rows observed at the same time)';
COMMENT ON COLUMN omni.link_staging.kind_a IS 'Kind of the first identifier';
COMMENT ON COLUMN omni.link_staging.value_a IS 'First identifier, raw (normalized by resolve_all)';
COMMENT ON COLUMN omni.link_staging.kind_b IS 'Kind of the second identifier (NULL: the first identifier alone, no link)';
COMMENT ON COLUMN omni.link_staging.value_b IS 'Second identifier, raw';
COMMENT ON COLUMN omni.link_staging.source IS 'Where the observation came from';
COMMENT ON COLUMN omni.link_staging.observed_at IS 'When the identifiers were seen together';
COMMENT ON COLUMN omni.link_staging.region IS 'Region (ISO 3166 code) of phone numbers written without a calling code (NULL: the kind''s region)';
COMMENT ON COLUMN omni.link_staging.error IS 'Why omni.resolve_all() could not resolve the row (NULL: not tried yet)';

/*
 * Touchpoints: everything a customer did or received, on any channel.
 *
 * omni.touchpoint_layout chooses the layout.  'table': a plain table with a
 * primary key and foreign keys to omni.identity and omni.channel.
 * 'partitioned': the same columns partitioned by hash of customer_id,
 * created without partitions; the DBA attaches local tables or
 * postgres_fdw foreign tables (one per shard).  PostgreSQL refuses a
 * foreign partition of a table with a unique index or a foreign key, so
 * that layout has neither: touchpoint_id stays unique through its
 * sequence, and the touchpoint_customer trigger checks on the coordinator
 * what the foreign keys checked (the identifier and the channel exist).
 */
CREATE SEQUENCE omni.touchpoint_touchpoint_id_seq;
DO $touchpoint$
BEGIN
    IF COALESCE(pg_catalog.current_setting('omni.touchpoint_layout', true), 'table') = 'partitioned' THEN
        CREATE TABLE omni.touchpoint (
            touchpoint_id  bigint NOT NULL DEFAULT pg_catalog.nextval('omni.touchpoint_touchpoint_id_seq'),
            identity_id    bigint NOT NULL,
            customer_id    bigint NOT NULL,
            ts             timestamptz NOT NULL,
            channel        text NOT NULL,
            event          text NOT NULL CHECK (event OPERATOR(pg_catalog.<>) ''),
            campaign       text,
            topic          text,
            properties     jsonb NOT NULL DEFAULT '{}'
        ) PARTITION BY HASH (customer_id);
    ELSE
        CREATE TABLE omni.touchpoint (
            touchpoint_id  bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.touchpoint_touchpoint_id_seq'),
            identity_id    bigint NOT NULL REFERENCES omni.identity (identity_id) ON DELETE CASCADE,
            customer_id    bigint NOT NULL,
            ts             timestamptz NOT NULL,
            channel        text NOT NULL REFERENCES omni.channel (channel),
            event          text NOT NULL CHECK (event <> ''),
            campaign       text,
            topic          text,
            properties     jsonb NOT NULL DEFAULT '{}'
        );
    END IF;
END
$touchpoint$;
ALTER SEQUENCE omni.touchpoint_touchpoint_id_seq OWNED BY omni.touchpoint.touchpoint_id;
CREATE INDEX touchpoint_identity_ts_idx ON omni.touchpoint (identity_id, ts);
COMMENT ON TABLE omni.touchpoint IS 'Touchpoints: one event of an identifier on a channel';
COMMENT ON COLUMN omni.touchpoint.touchpoint_id IS 'Touchpoint id';
COMMENT ON COLUMN omni.touchpoint.identity_id IS 'Identifier the event was seen with';
COMMENT ON COLUMN omni.touchpoint.customer_id IS
    'Customer of the identifier, kept up to date through merges and unmerges (set by the touchpoint_customer trigger; the key to group or partition by)';
COMMENT ON COLUMN omni.touchpoint.ts IS 'When the event happened';
COMMENT ON COLUMN omni.touchpoint.channel IS 'Channel, a row of omni.channel';
COMMENT ON COLUMN omni.touchpoint.event IS 'Event name (page_view, purchase, email_open, ...)';
COMMENT ON COLUMN omni.touchpoint.campaign IS 'Campaign the touchpoint belongs to, if any';
COMMENT ON COLUMN omni.touchpoint.topic IS 'What the event was about (a product, a category), matched by recent-event suppression';
COMMENT ON COLUMN omni.touchpoint.properties IS 'Free-form event properties';
COMMENT ON INDEX omni.touchpoint_identity_ts_idx IS 'Touchpoints of an identifier in time order';
CREATE INDEX touchpoint_customer_event_ts_idx ON omni.touchpoint (customer_id, event, ts);
COMMENT ON INDEX omni.touchpoint_customer_event_ts_idx IS
    'Touchpoints of a customer by event and time (recent-event suppression, merges re-pointing a customer''s touchpoints)';

CREATE FUNCTION omni.touchpoint_customer() RETURNS trigger
    AS 'MODULE_PATHNAME', 'omni_touchpoint_customer'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION omni.touchpoint_customer() IS
    'Trigger of omni.touchpoint: sets customer_id to the customer of the row''s identifier, locking that customer FOR KEY SHARE so that no merge moves the identifier before the transaction ends';
/* partitioned: the trigger also checks the channel, in place of the foreign key */
DO $trigger$
BEGIN
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER touchpoint_customer BEFORE INSERT OR UPDATE OF %s ON omni.touchpoint '
        'FOR EACH ROW EXECUTE FUNCTION omni.touchpoint_customer()',
        CASE WHEN COALESCE(pg_catalog.current_setting('omni.touchpoint_layout', true), 'table') = 'partitioned'
             THEN 'identity_id, customer_id, channel' ELSE 'identity_id, customer_id' END);
END
$trigger$;
COMMENT ON TRIGGER touchpoint_customer ON omni.touchpoint IS
    'Keeps omni.touchpoint.customer_id the customer of the touchpoint''s identifier';

SELECT pg_catalog.pg_extension_config_dump('omni.identity_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('omni.identity', '');
SELECT pg_catalog.pg_extension_config_dump('omni.identity_identity_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.identity_link', '');
SELECT pg_catalog.pg_extension_config_dump('omni.identity_link_link_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.blocklist', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('omni.blocklist_blocked_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.merge_log', '');
SELECT pg_catalog.pg_extension_config_dump('omni.merge_log_merge_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.forgotten', '');
SELECT pg_catalog.pg_extension_config_dump('omni.touchpoint', '');
SELECT pg_catalog.pg_extension_config_dump('omni.touchpoint_touchpoint_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.secret', '');
SELECT pg_catalog.pg_extension_config_dump('omni.link_staging', '');
SELECT pg_catalog.pg_extension_config_dump('omni.link_staging_staging_id_seq', '');

/*
 * Normalization.  The results depend on ICU's data: IMMUTABLE holds for one
 * ICU version (omni.icu_version()); re-normalize after an ICU upgrade.
 */
CREATE FUNCTION omni.normalize_email(value text) RETURNS text
    AS 'MODULE_PATHNAME', 'omni_normalize_email'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.normalize_email(text) IS
    'E-mail address normalized: trimmed, lower case, domain to ASCII (UTS #46), provider rules (gmail dots and +tags, ...); 22023 when not an address';

CREATE FUNCTION omni.normalize_phone(value text, region text DEFAULT 'US') RETURNS text
    AS 'MODULE_PATHNAME', 'omni_normalize_phone'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.normalize_phone(text, text) IS
    'Phone number in E.164; region reads numbers without a calling code; 22023 for an unknown region or an impossible number';

CREATE FUNCTION omni.normalize_name(value text) RETURNS text
    AS 'MODULE_PATHNAME', 'omni_normalize_name'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.normalize_name(text) IS
    'Person name transliterated to Latin ASCII, case-folded, NFKC, white space collapsed';

CREATE FUNCTION omni.skeleton(value text) RETURNS text
    AS 'MODULE_PATHNAME', 'omni_skeleton'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.skeleton(text) IS
    'ICU confusable skeleton (UTS #39): look-alike strings in different scripts get the same skeleton';

CREATE FUNCTION omni.jaro_winkler(a text, b text) RETURNS float8
    AS 'MODULE_PATHNAME', 'omni_jaro_winkler'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.jaro_winkler(text, text) IS
    'Jaro-Winkler similarity in [0, 1] by character (prefix scale 0.1, up to 4 characters)';

CREATE FUNCTION omni.normalize(kind text, value text) RETURNS text
    AS 'MODULE_PATHNAME', 'omni_normalize'
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.normalize(text, text) IS
    'Value normalized by the normalizer of its kind (omni.identity_rule); 22023 for an unknown kind or an invalid value';

CREATE FUNCTION omni.normalize(kind text, value text, region text) RETURNS text
    AS 'MODULE_PATHNAME', 'omni_normalize'
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.normalize(text, text, text) IS
    'Value normalized by its kind, reading phone numbers without a calling code as numbers of region';

CREATE FUNCTION omni.try_normalize(kind text, value text, region text DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'omni_try_normalize'
    LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.try_normalize(text, text, text) IS
    'Like omni.normalize, but NULL when the value is not valid for its kind (an unknown kind or region is still an error)';

CREATE FUNCTION omni.blocked(kind text, value text) RETURNS text
    AS 'MODULE_PATHNAME', 'omni_blocked'
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.blocked(text, text) IS
    'Why an identifier is blocked by omni.blocklist (the value is normalized first), NULL when it may link';

CREATE FUNCTION omni.identifier_hash(kind text, value text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'omni_identifier_hash_sql'
    LANGUAGE C STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.identifier_hash(text, text) IS
    'Keyed hash (HMAC-SHA256, per-database key) of a normalized identifier, as kept in omni.forgotten.hash';

/*
 * The graph.  omni.identify, omni.customer_of and omni.link have no SET
 * search_path clause: in their common case they run no query (they read
 * and write the tables through their indexes, src/identity/link.c), and
 * the queries they do run pin the path themselves (omni_pin_search_path).
 * A SET clause would set and restore the path on every call.
 */
CREATE FUNCTION omni.identify(kind text, value text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'omni_identify'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION omni.identify(text, text) IS
    'Identifier id of a value (normalized), created with a customer of its own when new';

CREATE FUNCTION omni.customer_of(kind text, value text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'omni_customer_of'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.customer_of(text, text) IS
    'Live customer of an identifier (the value is normalized), NULL when the identifier is unknown';

-- returns NULL when both values are spellings of one identifier (nothing to link)
CREATE FUNCTION omni.link(kind_a text, value_a text, kind_b text, value_b text,
                          source text DEFAULT NULL,
                          observed_at timestamptz DEFAULT pg_catalog.now()) RETURNS bigint
    AS 'MODULE_PATHNAME', 'omni_link'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION omni.link(text, text, text, text, text, timestamptz) IS
    'Two identifiers seen together: merges their customers unless a rule refuses (then the link is kept as rejected, with the reason); returns the link id';

CREATE FUNCTION omni.touch(kind text, value text, channel text, event text,
                           ts timestamptz DEFAULT pg_catalog.now(), campaign text DEFAULT NULL,
                           topic text DEFAULT NULL, properties jsonb DEFAULT '{}') RETURNS bigint
    AS 'MODULE_PATHNAME', 'omni_touch'
    LANGUAGE C VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.touch(text, text, text, text, timestamptz, text, text, jsonb) IS
    'Ingestion entry point: records a touchpoint of an identifier (created when new) and returns the touchpoint id';

CREATE FUNCTION omni.forget(customer_id bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'omni_forget'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.forget(bigint) IS
    'Erases a customer (identifiers, links, touchpoints, consents, messages, merges), keeping only keyed hashes of its identifiers in omni.forgotten; returns the number of identifiers erased';

CREATE FUNCTION omni.identities(customer_id bigint)
    RETURNS TABLE (identity_id bigint, kind text, value text, first_seen timestamptz, last_seen timestamptz)
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    AS $$
        SELECT i.identity_id, i.kind, i.value, i.first_seen, i.last_seen
          FROM omni.identity i
         WHERE i.customer_id OPERATOR(pg_catalog.=)
               (SELECT COALESCE(c.merged_into, c.customer_id)
                  FROM omni.customer c WHERE c.customer_id OPERATOR(pg_catalog.=) $1)
         ORDER BY i.kind, i.value
    $$;
COMMENT ON FUNCTION omni.identities(bigint) IS
    'Identifiers of a customer (of its survivor when it was merged), by kind and value';

CREATE FUNCTION omni.resolve_all(
    OUT customers bigint, OUT identities bigint, OUT links bigint, OUT rejected bigint,
    OUT merges bigint, OUT new_identities bigint, OUT new_links bigint, OUT changed_links bigint,
    OUT moved_identities bigint, OUT split_customers bigint, OUT invalid_rows bigint)
    AS 'MODULE_PATHNAME', 'omni_resolve_all'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION omni.resolve_all() IS
    'Bulk resolution: normalizes omni.link_staging into identities and links, then recomputes every customer with an in-memory union-find under the current rules; returns counts';

CREATE FUNCTION omni.unmerge(merge_id bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'omni_unmerge'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.unmerge(bigint) IS
    'Splits a customer back along one merge of omni.merge_log; the links that caused it are marked unmerged and never merge again; returns the number of identifiers given back';
