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
    description       text,
    builtin           boolean NOT NULL DEFAULT false
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
COMMENT ON COLUMN omni.identity_rule.description IS 'Free text for people';
COMMENT ON COLUMN omni.identity_rule.builtin IS 'Seeded by CREATE EXTENSION and unchanged since (not dumped)';

INSERT INTO omni.identity_rule (kind, priority, max_per_customer, normalizer, description, builtin) VALUES
    ('crm',     1, 1,    'text',  'Customer id of the CRM or shop back office: one per customer', true),
    ('email',   5, 5,    'email', 'E-mail address', true),
    ('phone',   5, 5,    'phone', 'Phone number, stored in E.164', true),
    ('loyalty', 3, 3,    'text',  'Loyalty card number', true),
    ('device',  7, 20,   'text',  'Mobile device or app installation id', true),
    ('social',  8, 10,   'text',  'Social network handle', true),
    ('cookie',  9, NULL, 'text',  'Web cookie id: they churn, so a customer may hold any number', true);

/* Identifiers. */
CREATE SEQUENCE omni.identity_identity_id_seq;
CREATE TABLE omni.identity (
    identity_id  bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.identity_identity_id_seq'),
    kind         text NOT NULL REFERENCES omni.identity_rule (kind),
    value        text NOT NULL,
    customer_id  bigint NOT NULL REFERENCES omni.customer (customer_id),
    first_seen   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_seen    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (kind, value),
    CHECK (first_seen <= last_seen)
);
ALTER SEQUENCE omni.identity_identity_id_seq OWNED BY omni.identity.identity_id;
CREATE INDEX identity_customer_id_idx ON omni.identity (customer_id);
COMMENT ON TABLE omni.identity IS 'Identifiers (normalized) and the customer each belongs to';
COMMENT ON COLUMN omni.identity.identity_id IS 'Identifier id';
COMMENT ON COLUMN omni.identity.kind IS 'Identifier kind, a row of omni.identity_rule';
COMMENT ON COLUMN omni.identity.value IS 'Normalized value';
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

/* Touchpoints: everything a customer did or received, on any channel. */
CREATE SEQUENCE omni.touchpoint_touchpoint_id_seq;
CREATE TABLE omni.touchpoint (
    touchpoint_id  bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.touchpoint_touchpoint_id_seq'),
    identity_id    bigint NOT NULL REFERENCES omni.identity (identity_id) ON DELETE CASCADE,
    ts             timestamptz NOT NULL,
    channel        text NOT NULL REFERENCES omni.channel (channel),
    event          text NOT NULL CHECK (event <> ''),
    campaign       text,
    topic          text,
    properties     jsonb NOT NULL DEFAULT '{}'
);
ALTER SEQUENCE omni.touchpoint_touchpoint_id_seq OWNED BY omni.touchpoint.touchpoint_id;
CREATE INDEX touchpoint_identity_ts_idx ON omni.touchpoint (identity_id, ts);
COMMENT ON TABLE omni.touchpoint IS 'Touchpoints: one event of an identifier on a channel';
COMMENT ON COLUMN omni.touchpoint.touchpoint_id IS 'Touchpoint id';
COMMENT ON COLUMN omni.touchpoint.identity_id IS 'Identifier the event was seen with';
COMMENT ON COLUMN omni.touchpoint.ts IS 'When the event happened';
COMMENT ON COLUMN omni.touchpoint.channel IS 'Channel, a row of omni.channel';
COMMENT ON COLUMN omni.touchpoint.event IS 'Event name (page_view, purchase, email_open, ...)';
COMMENT ON COLUMN omni.touchpoint.campaign IS 'Campaign the touchpoint belongs to, if any';
COMMENT ON COLUMN omni.touchpoint.topic IS 'What the event was about (a product, a category), matched by recent-event suppression';
COMMENT ON COLUMN omni.touchpoint.properties IS 'Free-form event properties';
COMMENT ON INDEX omni.touchpoint_identity_ts_idx IS 'Touchpoints of an identifier in time order';

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
