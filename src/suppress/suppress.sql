\echo Use "CREATE EXTENSION omnichannel" to load this file. \quit

/*
 * Cross-channel suppression: consent, the suppression rules, and the outbox
 * of messages the rules are applied to.
 */

/* Consent per identifier or customer, channel and purpose. */
CREATE SEQUENCE omni.consent_consent_id_seq;
CREATE TABLE omni.consent (
    consent_id   bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.consent_consent_id_seq'),
    customer_id  bigint REFERENCES omni.customer (customer_id),
    identity_id  bigint REFERENCES omni.identity (identity_id) ON DELETE CASCADE,
    channel      text REFERENCES omni.channel (channel),
    purpose      text NOT NULL DEFAULT 'marketing'
                 CHECK (purpose IN ('marketing', 'transactional')),
    status       text NOT NULL CHECK (status IN ('opt_in', 'opt_out')),
    source       text,
    granted_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CHECK (customer_id IS NOT NULL OR identity_id IS NOT NULL),
    CHECK (expires_at IS NULL OR expires_at > granted_at),
    CHECK (revoked_at IS NULL OR revoked_at >= granted_at)
);
ALTER SEQUENCE omni.consent_consent_id_seq OWNED BY omni.consent.consent_id;
CREATE INDEX consent_customer_idx ON omni.consent (customer_id, channel) WHERE customer_id IS NOT NULL;
CREATE INDEX consent_identity_idx ON omni.consent (identity_id, channel) WHERE identity_id IS NOT NULL;
COMMENT ON TABLE omni.consent IS
    'Consent (opt-in or opt-out) of a customer or one of its identifiers, per channel and purpose; an opt-out always wins';
COMMENT ON COLUMN omni.consent.consent_id IS 'Consent id';
COMMENT ON COLUMN omni.consent.customer_id IS 'Customer the consent applies to (all of its identifiers)';
COMMENT ON COLUMN omni.consent.identity_id IS 'Identifier the consent applies to';
COMMENT ON COLUMN omni.consent.channel IS 'Channel (NULL: every channel)';
COMMENT ON COLUMN omni.consent.purpose IS 'marketing or transactional';
COMMENT ON COLUMN omni.consent.status IS 'opt_in or opt_out';
COMMENT ON COLUMN omni.consent.source IS 'Where the consent was given (form, store, call, import, ...)';
COMMENT ON COLUMN omni.consent.granted_at IS 'When the consent was given';
COMMENT ON COLUMN omni.consent.expires_at IS 'When the consent lapses (NULL: never)';
COMMENT ON COLUMN omni.consent.revoked_at IS 'When the consent was withdrawn (NULL: in force)';
COMMENT ON INDEX omni.consent_customer_idx IS 'Consents of a customer';
COMMENT ON INDEX omni.consent_identity_idx IS 'Consents of an identifier';

/* Suppression rules. */
CREATE SEQUENCE omni.suppression_rule_rule_id_seq;
CREATE TABLE omni.suppression_rule (
    rule_id       bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.suppression_rule_rule_id_seq'),
    name          text NOT NULL UNIQUE,
    kind          text NOT NULL CHECK (kind IN ('consent', 'frequency_cap', 'quiet_hours',
                                                'recent_event', 'same_campaign', 'holdout')),
    channels      text[],
    categories    text[],
    max_messages  integer CHECK (max_messages >= 0),
    time_window   interval CHECK (time_window > interval '0'),
    calendar_day  boolean NOT NULL DEFAULT false,
    quiet_start   time,
    quiet_end     time,
    action        text NOT NULL DEFAULT 'suppress' CHECK (action IN ('suppress', 'delay')),
    event         text,
    match_topic   boolean NOT NULL DEFAULT false,
    share         numeric CHECK (share > 0 AND share < 1),
    priority      integer NOT NULL DEFAULT 100,
    enabled       boolean NOT NULL DEFAULT true,
    CONSTRAINT frequency_cap_needs_limit CHECK (kind <> 'frequency_cap'
        OR (max_messages IS NOT NULL AND (time_window IS NOT NULL OR calendar_day))),
    CONSTRAINT quiet_hours_needs_window CHECK (kind <> 'quiet_hours'
        OR (quiet_start IS NOT NULL AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)),
    CONSTRAINT recent_event_needs_event CHECK (kind <> 'recent_event'
        OR (event IS NOT NULL AND time_window IS NOT NULL)),
    CONSTRAINT same_campaign_needs_window CHECK (kind <> 'same_campaign' OR time_window IS NOT NULL),
    CONSTRAINT holdout_needs_share CHECK (kind <> 'holdout' OR share IS NOT NULL),
    CONSTRAINT delay_only_for_quiet_hours CHECK (action = 'suppress' OR kind = 'quiet_hours')
);
ALTER SEQUENCE omni.suppression_rule_rule_id_seq OWNED BY omni.suppression_rule.rule_id;
COMMENT ON TABLE omni.suppression_rule IS
    'Rules applied by omni.suppress() to every outbound message; all enabled rules apply';
COMMENT ON COLUMN omni.suppression_rule.rule_id IS 'Rule id';
COMMENT ON COLUMN omni.suppression_rule.name IS 'Rule name, quoted in the reasons of the messages it suppresses';
COMMENT ON COLUMN omni.suppression_rule.kind IS 'consent, frequency_cap, quiet_hours, recent_event, same_campaign or holdout';
COMMENT ON COLUMN omni.suppression_rule.channels IS 'Channels the rule applies to (NULL: all)';
COMMENT ON COLUMN omni.suppression_rule.categories IS 'Message categories the rule applies to (NULL: all)';
COMMENT ON COLUMN omni.suppression_rule.max_messages IS 'frequency_cap: most messages in the window';
COMMENT ON COLUMN omni.suppression_rule.time_window IS 'Rolling window of frequency_cap, recent_event and same_campaign';
COMMENT ON COLUMN omni.suppression_rule.calendar_day IS 'frequency_cap: count per calendar day in the customer''s time zone';
COMMENT ON COLUMN omni.suppression_rule.quiet_start IS 'quiet_hours: local time the quiet window starts';
COMMENT ON COLUMN omni.suppression_rule.quiet_end IS 'quiet_hours: local time the quiet window ends';
COMMENT ON COLUMN omni.suppression_rule.action IS 'suppress, or delay (quiet_hours: send at the next allowed time)';
COMMENT ON COLUMN omni.suppression_rule.event IS 'recent_event: the event that suppresses (e.g. purchase)';
COMMENT ON COLUMN omni.suppression_rule.match_topic IS 'recent_event: only when the event''s topic is the message''s topic';
COMMENT ON COLUMN omni.suppression_rule.share IS 'holdout: share of customers held out of marketing';
COMMENT ON COLUMN omni.suppression_rule.priority IS 'Evaluation order (lower first)';
COMMENT ON COLUMN omni.suppression_rule.enabled IS 'Disabled rules are ignored';

/* The outbox. */
CREATE SEQUENCE omni.message_message_id_seq;
CREATE TABLE omni.message (
    message_id      bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.message_message_id_seq'),
    recipient_kind  text NOT NULL REFERENCES omni.identity_rule (kind),
    recipient       text NOT NULL,
    customer_id     bigint REFERENCES omni.customer (customer_id),
    channel         text NOT NULL REFERENCES omni.channel (channel),
    campaign        text,
    category        text NOT NULL DEFAULT 'marketing',
    topic           text,
    priority        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    send_at         timestamptz,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'delayed', 'suppressed')),
    reasons         text[] NOT NULL DEFAULT '{}'
);
ALTER SEQUENCE omni.message_message_id_seq OWNED BY omni.message.message_id;
CREATE INDEX message_customer_created_idx ON omni.message (customer_id, created_at);
COMMENT ON TABLE omni.message IS
    'Outbound messages; omni.suppress() decides in the inserting transaction whether each may go, and keeps suppressed ones with their reasons';
COMMENT ON COLUMN omni.message.message_id IS 'Message id';
COMMENT ON COLUMN omni.message.recipient_kind IS 'Kind of the recipient identifier (email, phone, device, ...)';
COMMENT ON COLUMN omni.message.recipient IS 'Recipient identifier';
COMMENT ON COLUMN omni.message.customer_id IS 'Customer of the recipient, resolved through the identity graph';
COMMENT ON COLUMN omni.message.channel IS 'Channel the message goes out on';
COMMENT ON COLUMN omni.message.campaign IS 'Campaign the message belongs to';
COMMENT ON COLUMN omni.message.category IS 'marketing, transactional, or a tag matched by rule categories';
COMMENT ON COLUMN omni.message.topic IS 'What the message is about (a product), matched by recent-event rules';
COMMENT ON COLUMN omni.message.priority IS 'Priority of the message';
COMMENT ON COLUMN omni.message.created_at IS 'When the message was queued';
COMMENT ON COLUMN omni.message.send_at IS 'When it may go out (NULL: now)';
COMMENT ON COLUMN omni.message.status IS 'queued, delayed or suppressed';
COMMENT ON COLUMN omni.message.reasons IS 'Every rule that suppressed or delayed the message';
COMMENT ON INDEX omni.message_customer_created_idx IS 'Messages of a customer in time order (frequency caps)';

SELECT pg_catalog.pg_extension_config_dump('omni.consent', '');
SELECT pg_catalog.pg_extension_config_dump('omni.consent_consent_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.suppression_rule', '');
SELECT pg_catalog.pg_extension_config_dump('omni.suppression_rule_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.message', '');
SELECT pg_catalog.pg_extension_config_dump('omni.message_message_id_seq', '');
