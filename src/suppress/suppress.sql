\echo Use "CREATE EXTENSION omnichannel" to load this file. \quit

/*
 * Cross-channel suppression: consent, the suppression rules, and the outbox
 * of messages the rules are applied to.  The trigger omni.suppress() decides
 * each message in the inserting transaction, under a per-customer lock, and
 * keeps suppressed messages with the names of the rules that stopped them.
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
    CONSTRAINT consent_needs_subject CHECK (customer_id IS NOT NULL OR identity_id IS NOT NULL),
    CONSTRAINT consent_expires_after_granted CHECK (expires_at IS NULL OR expires_at > granted_at),
    CONSTRAINT consent_revoked_after_granted CHECK (revoked_at IS NULL OR revoked_at >= granted_at)
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
    builtin       boolean NOT NULL DEFAULT false,
    CONSTRAINT frequency_cap_needs_limit CHECK (kind <> 'frequency_cap'
        OR (max_messages IS NOT NULL AND (time_window IS NOT NULL OR calendar_day))),
    CONSTRAINT quiet_hours_needs_window CHECK (kind <> 'quiet_hours'
        OR (quiet_start IS NOT NULL AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)),
    CONSTRAINT recent_event_needs_event CHECK (kind <> 'recent_event'
        OR (event IS NOT NULL AND time_window IS NOT NULL)),
    CONSTRAINT same_campaign_needs_window CHECK (kind <> 'same_campaign' OR time_window IS NOT NULL),
    CONSTRAINT holdout_needs_share CHECK (kind <> 'holdout' OR share IS NOT NULL),
    CONSTRAINT delay_only_for_quiet_hours CHECK (action = 'suppress' OR kind = 'quiet_hours'),
    CONSTRAINT name_not_empty CHECK (name <> '')
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
COMMENT ON COLUMN omni.suppression_rule.builtin IS 'Seeded by CREATE EXTENSION and unchanged since (not dumped)';

/*
 * What a CHECK cannot say about a rule: its channels exist, its lists are
 * not empty, a calendar-day window is a whole number of days, and no column
 * is set that the rule's kind ignores (so a rule means what it reads).
 */
CREATE FUNCTION omni.suppression_rule_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad text;
BEGIN
    IF NEW.channels IS NOT NULL THEN
        IF cardinality(NEW.channels) = 0 OR array_position(NEW.channels, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'channels of suppression rule "%" must be NULL (all channels) or a list of channels', NEW.name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT c INTO bad FROM unnest(NEW.channels) c
         WHERE NOT EXISTS (SELECT 1 FROM omni.channel ch WHERE ch.channel = c) LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'unknown channel "%" in suppression rule "%"', bad, NEW.name
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Channels are the rows of omni.channel.';
        END IF;
    END IF;
    IF NEW.categories IS NOT NULL AND (cardinality(NEW.categories) = 0
        OR array_position(NEW.categories, NULL) IS NOT NULL OR '' = ANY (NEW.categories)) THEN
        RAISE EXCEPTION 'categories of suppression rule "%" must be NULL (all categories) or a list of non-empty categories', NEW.name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.calendar_day AND NEW.time_window IS NOT NULL
       AND (extract(year FROM NEW.time_window) <> 0 OR extract(month FROM NEW.time_window) <> 0
            OR extract(hour FROM NEW.time_window) <> 0 OR extract(minute FROM NEW.time_window) <> 0
            OR extract(second FROM NEW.time_window) <> 0 OR extract(day FROM NEW.time_window) > 366) THEN
        RAISE EXCEPTION 'calendar-day window of suppression rule "%" must be a whole number of days up to 366, not "%"', NEW.name, NEW.time_window
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use time_window NULL or ''1 day'' for today, ''7 days'' for today and the six days before.';
    END IF;
    bad := CASE
        WHEN NEW.max_messages IS NOT NULL AND NEW.kind <> 'frequency_cap' THEN 'max_messages'
        WHEN NEW.calendar_day AND NEW.kind <> 'frequency_cap' THEN 'calendar_day'
        WHEN NEW.time_window IS NOT NULL AND NEW.kind NOT IN ('frequency_cap', 'recent_event', 'same_campaign') THEN 'time_window'
        WHEN (NEW.quiet_start IS NOT NULL OR NEW.quiet_end IS NOT NULL) AND NEW.kind <> 'quiet_hours' THEN 'quiet_start, quiet_end'
        WHEN NEW.event IS NOT NULL AND NEW.kind <> 'recent_event' THEN 'event'
        WHEN NEW.match_topic AND NEW.kind <> 'recent_event' THEN 'match_topic'
        WHEN NEW.share IS NOT NULL AND NEW.kind <> 'holdout' THEN 'share'
    END;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'suppression rule "%" of kind % sets %, which that kind does not use', NEW.name, NEW.kind, bad
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.event = '' THEN
        RAISE EXCEPTION 'event of suppression rule "%" must not be empty', NEW.name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION omni.suppression_rule_check() IS
    'Trigger of omni.suppression_rule: rejects unknown channels, empty lists, partial-day calendar windows and columns the rule''s kind ignores';
CREATE TRIGGER suppression_rule_check BEFORE INSERT OR UPDATE ON omni.suppression_rule
    FOR EACH ROW EXECUTE FUNCTION omni.suppression_rule_check();
COMMENT ON TRIGGER suppression_rule_check ON omni.suppression_rule IS 'Checks each rule means what it reads';
CREATE TRIGGER suppression_rule_seed_override BEFORE INSERT OR UPDATE ON omni.suppression_rule
    FOR EACH ROW EXECUTE FUNCTION omni.seed_override('name');
COMMENT ON TRIGGER suppression_rule_seed_override ON omni.suppression_rule IS 'Keeps a DBA''s changes to seeded rules through pg_dump';

/*
 * Seeded rules: consent (opt-outs, and opt-in where the channel requires
 * it) on every channel, and the TCPA calling window: marketing by text or
 * call only from 08:00 to 21:00 in the customer's time zone, later messages
 * being delayed to 08:00.
 */
INSERT INTO omni.suppression_rule (name, kind, channels, quiet_start, quiet_end, action, priority, builtin) VALUES
    ('consent', 'consent', NULL, NULL, NULL, 'suppress', 10, true),
    ('tcpa_quiet_hours', 'quiet_hours', '{sms,call_center}', '21:00', '08:00', 'delay', 20, true);

/* The outbox. */
CREATE SEQUENCE omni.message_message_id_seq;
CREATE TABLE omni.message (
    message_id      bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.message_message_id_seq'),
    recipient_kind  text NOT NULL REFERENCES omni.identity_rule (kind),
    recipient       text NOT NULL,
    customer_id     bigint REFERENCES omni.customer (customer_id),
    channel         text NOT NULL REFERENCES omni.channel (channel),
    campaign        text,
    category        text NOT NULL DEFAULT 'marketing' CHECK (category <> ''),
    topic           text,
    priority        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    send_at         timestamptz,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'delayed', 'suppressed')),
    reasons         text[] NOT NULL DEFAULT '{}',
    decided_at      timestamptz
);
ALTER SEQUENCE omni.message_message_id_seq OWNED BY omni.message.message_id;
CREATE INDEX message_customer_created_idx ON omni.message (customer_id, created_at);
CREATE INDEX message_customer_counted_idx ON omni.message (customer_id, (COALESCE(send_at, created_at)))
    WHERE status IN ('queued', 'delayed');
COMMENT ON TABLE omni.message IS
    'Outbound messages; omni.suppress() decides in the inserting transaction whether each may go, and keeps suppressed ones with their reasons';
COMMENT ON COLUMN omni.message.message_id IS 'Message id';
COMMENT ON COLUMN omni.message.recipient_kind IS 'Kind of the recipient identifier (email, phone, device, ...)';
COMMENT ON COLUMN omni.message.recipient IS 'Recipient identifier';
COMMENT ON COLUMN omni.message.customer_id IS 'Live customer of the recipient, resolved through the identity graph (NULL: unknown recipient, suppressed)';
COMMENT ON COLUMN omni.message.channel IS 'Channel the message goes out on';
COMMENT ON COLUMN omni.message.campaign IS 'Campaign the message belongs to';
COMMENT ON COLUMN omni.message.category IS 'marketing, transactional, or a tag matched by rule categories';
COMMENT ON COLUMN omni.message.topic IS 'What the message is about (a product), matched by recent-event rules';
COMMENT ON COLUMN omni.message.priority IS 'Priority of the message, for the sender (the rules do not read it)';
COMMENT ON COLUMN omni.message.created_at IS 'When the message was queued; consent, holdouts and recent events are judged at this time';
COMMENT ON COLUMN omni.message.send_at IS 'When it may go out (NULL: at created_at); a delayed message gets the next allowed time. Caps and same-campaign rules count a message at this time';
COMMENT ON COLUMN omni.message.status IS 'queued, delayed or suppressed';
COMMENT ON COLUMN omni.message.reasons IS 'Every rule that suppressed or delayed the message, by name, or forgotten, blocklisted, unknown_recipient, invalid_recipient';
COMMENT ON COLUMN omni.message.decided_at IS
    'When omni.suppress() decided the message; a row inserted with it already set (a restore) is kept as it is';
COMMENT ON INDEX omni.message_customer_created_idx IS 'Messages of a customer in time order';
COMMENT ON INDEX omni.message_customer_counted_idx IS 'Queued and delayed messages of a customer in the order they go out: what frequency caps and same-campaign rules count';

/*
 * Recent-event rules read a customer's touchpoints of one event in a window
 * through omni.touchpoint_customer_event_ts_idx (src/identity/identity.sql).
 */

/* The decision. */
/*
 * No SET search_path here, unlike the other functions that read tables: the
 * trigger reads its tables through their indexes, with no query per message,
 * and the rare queries it runs (loading the rules) pin the path themselves.
 * A SET clause would cost a GUC save and restore on every inserted row.
 */
CREATE FUNCTION omni.suppress() RETURNS trigger
    AS 'MODULE_PATHNAME', 'omni_suppress'
    LANGUAGE C;
COMMENT ON FUNCTION omni.suppress() IS
    'BEFORE INSERT FOR EACH ROW trigger of an outbox: decides under the customer''s lock whether each message may go, and sets status, reasons, customer_id and send_at; arguments field=column map an application''s own outbox';

CREATE FUNCTION omni.suppress_trigger_check() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'omni_suppress_trigger_check'
    LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.suppress_trigger_check() IS
    'Event trigger at the end of CREATE TRIGGER: a trigger executing omni.suppress() must be BEFORE INSERT FOR EACH ROW and map its fields to columns of the right types';
CREATE EVENT TRIGGER omni_suppress_trigger_check ON ddl_command_end
    WHEN TAG IN ('CREATE TRIGGER')
    EXECUTE FUNCTION omni.suppress_trigger_check();
COMMENT ON EVENT TRIGGER omni_suppress_trigger_check IS
    'Checks the mapping of every omni.suppress() trigger when it is created';

CREATE TRIGGER message_suppress BEFORE INSERT ON omni.message
    FOR EACH ROW EXECUTE FUNCTION omni.suppress();
COMMENT ON TRIGGER message_suppress ON omni.message IS 'Decides every message in the inserting transaction';

CREATE FUNCTION omni.would_suppress(
    recipient_kind text,
    recipient text,
    channel text,
    category text DEFAULT 'marketing',
    campaign text DEFAULT NULL,
    topic text DEFAULT NULL,
    customer_id bigint DEFAULT NULL,
    created_at timestamptz DEFAULT NULL,
    send_at timestamptz DEFAULT NULL,
    OUT status text,
    OUT customer bigint,
    OUT deliver_at timestamptz,
    OUT reasons text[],
    OUT details text[])
RETURNS record
    AS 'MODULE_PATHNAME', 'omni_would_suppress'
    LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.would_suppress(text, text, text, text, text, text, bigint, timestamptz, timestamptz) IS
    'Preview: the decision omni.suppress() would make for a message on omni.message (status, customer, when it would go out, reasons and their explanations), without inserting it';

/* Every backend reloads its cached rules when the tables they come from change. */
CREATE FUNCTION omni.suppression_config_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'omni_suppression_config_changed'
    LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION omni.suppression_config_changed() IS
    'Statement trigger of omni.suppression_rule, omni.channel, omni.blocklist and omni.identity_rule: makes every backend reload the rules it caches';
CREATE TRIGGER suppression_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON omni.suppression_rule
    FOR EACH STATEMENT EXECUTE FUNCTION omni.suppression_config_changed();
COMMENT ON TRIGGER suppression_rule_changed ON omni.suppression_rule IS 'Reloads the cached rules';
CREATE TRIGGER channel_suppression_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON omni.channel
    FOR EACH STATEMENT EXECUTE FUNCTION omni.suppression_config_changed();
COMMENT ON TRIGGER channel_suppression_changed ON omni.channel IS 'Reloads the channels cached by the suppression rules';
CREATE TRIGGER blocklist_suppression_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON omni.blocklist
    FOR EACH STATEMENT EXECUTE FUNCTION omni.suppression_config_changed();
COMMENT ON TRIGGER blocklist_suppression_changed ON omni.blocklist IS 'Reloads the blocked values cached by the suppression rules';
CREATE TRIGGER identity_rule_suppression_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON omni.identity_rule
    FOR EACH STATEMENT EXECUTE FUNCTION omni.suppression_config_changed();
COMMENT ON TRIGGER identity_rule_suppression_changed ON omni.identity_rule IS 'Reloads the identifier kinds cached by the suppression rules';

SELECT pg_catalog.pg_extension_config_dump('omni.consent', '');
SELECT pg_catalog.pg_extension_config_dump('omni.consent_consent_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.suppression_rule', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('omni.suppression_rule_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('omni.message', '');
SELECT pg_catalog.pg_extension_config_dump('omni.message_message_id_seq', '');
