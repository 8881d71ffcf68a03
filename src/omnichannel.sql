\echo Use "CREATE EXTENSION omnichannel" to load this file. \quit

/*
 * Core of the omnichannel data model: what every capability shares.
 * Tables holding user data or configuration are registered with
 * pg_extension_config_dump so pg_dump keeps their rows.
 */

/*
 * The layout of omni.touchpoint (src/identity/identity.sql) comes from the
 * setting omni.touchpoint_layout.  It is checked here, before the first C
 * function loads the library: until then a SET of it is a placeholder that
 * nothing has checked, and the library would replace a misspelled value
 * with the default with a mere warning.
 */
DO $layout$
BEGIN
    IF COALESCE(pg_catalog.current_setting('omni.touchpoint_layout', true), 'table')
       NOT IN ('table', 'partitioned') THEN
        RAISE EXCEPTION 'invalid value for parameter "omni.touchpoint_layout": "%"',
            pg_catalog."left"(pg_catalog.current_setting('omni.touchpoint_layout', true), 100)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use "table" or "partitioned".';
    END IF;
END
$layout$;

COMMENT ON SCHEMA omni IS 'omnichannel: unified customers, journeys, cross-channel suppression and the timeline index';

CREATE FUNCTION omni.icu_version() RETURNS text
    AS 'MODULE_PATHNAME', 'omni_icu_version'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.icu_version() IS
    'ICU version the omnichannel library was built with; normalization results depend on it';

/*
 * Seeded configuration rows (channels, identifier kinds, blocked values,
 * suppression rules) carry builtin = true and are left out of pg_dump,
 * because CREATE EXTENSION recreates them.  A DBA's change to one of them
 * must survive a dump and restore all the same: changing a seeded row makes
 * it the DBA's (builtin becomes false, so pg_dump keeps it), and inserting
 * a row that stands for an untouched seeded row replaces the seeded row
 * instead of failing, which is what a restore does.  A row stands for a
 * seeded row when it has its primary key (a seeded row the DBA changed,
 * its natural key included: it keeps its id) or, failing that, its natural
 * key (named by the trigger arguments).
 */
CREATE FUNCTION omni.seed_override() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text;
    vals text;
    allcols text;
    allvals text;
    cond text;
    pkcond text;
    by_id boolean;
    replaced bigint;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.builtin := false;
        RETURN NEW;
    END IF;
    IF NEW.builtin THEN
        RETURN NEW;
    END IF;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attname <> ALL (TG_ARGV)),
           string_agg('r.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) FILTER (WHERE a.attname <> ALL (TG_ARGV)),
           string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
           string_agg('r.' || quote_ident(a.attname), ', ' ORDER BY a.attnum)
      INTO cols, vals, allcols, allvals
      FROM pg_attribute a
     WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped;
    SELECT string_agg(format('t.%1$I IS NOT DISTINCT FROM r.%1$I', k), ' AND ')
      INTO cond
      FROM unnest(TG_ARGV) k;
    SELECT string_agg(format('t.%1$I = r.%1$I', a.attname), ' AND ')
      INTO pkcond
      FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = TG_RELID AND i.indisprimary;

    -- the seeded row with the same id: it takes every column, its natural key
    -- included, and a seeded row that held that natural key gives way
    EXECUTE format('SELECT EXISTS (SELECT FROM %s AS t, (SELECT ($1::%s).*) r WHERE t.builtin AND %s)',
                   TG_RELID::regclass, TG_RELID::regclass, pkcond)
       INTO by_id USING NEW;
    IF by_id THEN
        EXECUTE format('DELETE FROM %s AS t USING (SELECT ($1::%s).*) r WHERE t.builtin AND %s AND NOT (%s)',
                       TG_RELID::regclass, TG_RELID::regclass, cond, pkcond)
           USING NEW;
        EXECUTE format('UPDATE %s AS t SET (%s) = (SELECT %s) FROM (SELECT ($1::%s).*) r WHERE t.builtin AND %s',
                       TG_RELID::regclass, allcols, allvals, TG_RELID::regclass, pkcond)
           USING NEW;
        RETURN NULL;
    END IF;
    -- else the seeded row with the same natural key takes the other columns
    EXECUTE format('UPDATE %s AS t SET (%s) = (SELECT %s) FROM (SELECT ($1::%s).*) r WHERE t.builtin AND %s',
                   TG_RELID::regclass, cols, vals, TG_RELID::regclass, cond)
       USING NEW;
    GET DIAGNOSTICS replaced = ROW_COUNT;
    RETURN CASE WHEN replaced > 0 THEN NULL ELSE NEW END;
END
$$;
COMMENT ON FUNCTION omni.seed_override() IS
    'Trigger of the seeded configuration tables: a changed or re-inserted seeded row becomes the DBA''s, so pg_dump keeps it';

/* Channels: the closed set of places a customer is met or messaged. */
CREATE TABLE omni.channel (
    channel          text PRIMARY KEY
                     CHECK (channel ~ '^[a-z][a-z0-9_]{0,62}$'),
    requires_opt_in  boolean NOT NULL DEFAULT false,
    description      text,
    builtin          boolean NOT NULL DEFAULT false
);
CREATE TRIGGER channel_seed_override BEFORE INSERT OR UPDATE ON omni.channel
    FOR EACH ROW EXECUTE FUNCTION omni.seed_override('channel');
COMMENT ON TRIGGER channel_seed_override ON omni.channel IS 'Keeps a DBA''s changes to seeded channels through pg_dump';
COMMENT ON TABLE omni.channel IS
    'Known channels; touchpoints and messages must name one of them';
COMMENT ON COLUMN omni.channel.channel IS 'Channel name: lower case letters, digits and underscores';
COMMENT ON COLUMN omni.channel.requires_opt_in IS
    'Marketing on this channel needs an explicit opt-in consent (e.g. sms, whatsapp)';
COMMENT ON COLUMN omni.channel.description IS 'Free text for people';
COMMENT ON COLUMN omni.channel.builtin IS 'Seeded by CREATE EXTENSION and unchanged since (not dumped)';

INSERT INTO omni.channel (channel, requires_opt_in, description, builtin) VALUES
    ('web',         false, 'Web site visits', true),
    ('app',         false, 'Mobile application', true),
    ('email',       false, 'E-mail', true),
    ('sms',         true,  'Text messages (opt-in required)', true),
    ('whatsapp',    true,  'WhatsApp messages (opt-in required)', true),
    ('push',        false, 'Mobile push notifications', true),
    ('store',       false, 'Physical store visits and purchases', true),
    ('call_center', false, 'Phone calls with the call centre', true),
    ('chat',        false, 'Live chat and chat bots', true),
    ('social',      false, 'Social networks', true),
    ('direct',      false, 'Direct visits with no referring channel', true);

/* Customers: one row per resolved person. */
CREATE SEQUENCE omni.customer_customer_id_seq;
CREATE TABLE omni.customer (
    customer_id  bigint PRIMARY KEY DEFAULT pg_catalog.nextval('omni.customer_customer_id_seq'),
    time_zone    text,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    merged_into  bigint REFERENCES omni.customer (customer_id),
    merged_at    timestamptz,
    attributes   jsonb NOT NULL DEFAULT '{}',
    CHECK ((merged_into IS NULL) = (merged_at IS NULL)),
    CHECK (merged_into IS DISTINCT FROM customer_id)
);
ALTER SEQUENCE omni.customer_customer_id_seq OWNED BY omni.customer.customer_id;
CREATE INDEX customer_merged_into_idx ON omni.customer (merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON TABLE omni.customer IS
    'Resolved customers: a connected component of the identity graph; an absorbed customer keeps its row, pointing at its survivor';
COMMENT ON COLUMN omni.customer.customer_id IS 'Stable customer id; a merge keeps the older id';
COMMENT ON COLUMN omni.customer.time_zone IS 'IANA time zone of the customer (NULL: the default setting applies)';
COMMENT ON COLUMN omni.customer.created_at IS 'When the customer was first created';
COMMENT ON COLUMN omni.customer.merged_into IS 'Survivor this customer was merged into; NULL while it is live';
COMMENT ON COLUMN omni.customer.merged_at IS 'When this customer was absorbed';
COMMENT ON COLUMN omni.customer.attributes IS 'Free-form customer attributes';
COMMENT ON INDEX omni.customer_merged_into_idx IS 'Finds the customers absorbed by a survivor';
SELECT pg_catalog.pg_extension_config_dump('omni.channel', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('omni.customer', '');
SELECT pg_catalog.pg_extension_config_dump('omni.customer_customer_id_seq', '');
