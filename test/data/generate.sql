/*
 * Realistic, deterministic test data for omnichannel.
 *
 *   \i test/data/generate.sql
 *   SELECT * FROM gen.generate(seed => 42, customers => 10000, touchpoints_per_customer => 50);
 *
 * Creates schema "gen" holding raw data as applications would send it, before
 * any normalization or resolution:
 *
 *   gen.person      the ground truth: one row per real person
 *   gen.identifier  every raw identifier of every person, with the ground-truth
 *                   key it stands for (several raw spellings share one truth)
 *   gen.link        pairs of raw identifiers seen together (logins, sign-ups, ...)
 *   gen.touch       touchpoints: sessions on 10 channels with realistic gaps
 *   gen.outbound    outbound messages the marketing side would like to send
 *
 * Every value is a hash of (seed, row, purpose), so the same seed and size
 * give byte-identical data whatever the plan or the number of workers.
 * Load the result into the extension with test/data/load.sql.
 */
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS gen CASCADE;
CREATE SCHEMA gen;
COMMENT ON SCHEMA gen IS 'omnichannel test data generator (test/data/generate.sql)';

/*
 * A uniform draw in [0, 1) from (seed, key, salt): pure, so order-independent.
 * hashint8 folds the high half of a key onto the low half, so the high half
 * also goes into the hash seed to keep wide keys from colliding.
 */
CREATE FUNCTION gen.r(seed int, k bigint, salt int) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ((pg_catalog.hashint8extended(k, seed::bigint * 1000003 + salt + ((k >> 31) << 20)) >> 11)
              & 9007199254740991)::float8 / 9007199254740992.0 $$;

/* An integer draw in [lo, hi]. */
CREATE FUNCTION gen.ri(seed int, k bigint, salt int, lo int, hi int) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT lo + pg_catalog.floor(gen.r(seed, k, salt) * (hi - lo + 1))::int $$;

/* Pick one element of an array. */
CREATE FUNCTION gen.pick(seed int, k bigint, salt int, choices anyarray) RETURNS anyelement
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT choices[gen.ri(seed, k, salt, 1, pg_catalog.cardinality(choices))] $$;

/* Digits: a zero-padded decimal string of a draw. */
CREATE FUNCTION gen.digits(seed int, k bigint, salt int, n int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT pg_catalog.lpad((pg_catalog.floor(gen.r(seed, k, salt) * (10::numeric ^ n)))::bigint::text, n, '0') $$;

CREATE TABLE gen.person (
    person_id   int PRIMARY KEY,
    first_name  text NOT NULL,
    last_name   text NOT NULL,
    country     text NOT NULL,
    time_zone   text NOT NULL,
    family_id   int,
    email       text NOT NULL,      -- canonical address (ground truth)
    emails      text[] NOT NULL,    -- raw spellings the person uses
    phone       text,               -- E.164 (ground truth)
    phones      text[] NOT NULL,    -- raw spellings
    crm         text,
    loyalty     text,
    social      text,
    devices     text[] NOT NULL,
    cookies     text[] NOT NULL
);
CREATE TABLE gen.identifier (
    person_id  int NOT NULL,
    kind       text NOT NULL,
    value      text NOT NULL,       -- raw, as sent by an application
    truth      text NOT NULL,       -- what it stands for (kind:canonical)
    shared     boolean NOT NULL DEFAULT false
);
CREATE TABLE gen.link (
    kind_a       text NOT NULL,
    value_a      text NOT NULL,
    kind_b       text NOT NULL,
    value_b      text NOT NULL,
    source       text NOT NULL,
    observed_at  timestamptz NOT NULL
);
CREATE TABLE gen.touch (
    touch_no    bigint PRIMARY KEY,
    person_id   int NOT NULL,
    kind        text NOT NULL,
    value       text NOT NULL,
    ts          timestamptz NOT NULL,
    channel     text NOT NULL,
    event       text NOT NULL,
    campaign    text,
    topic       text,
    properties  jsonb NOT NULL
);
CREATE TABLE gen.outbound (
    outbound_no     bigint PRIMARY KEY,
    person_id       int NOT NULL,
    recipient_kind  text NOT NULL,
    recipient       text NOT NULL,
    channel         text NOT NULL,
    campaign        text,
    category        text NOT NULL,
    topic           text,
    created_at      timestamptz NOT NULL
);

CREATE FUNCTION gen.generate(seed int DEFAULT 42,
                             customers int DEFAULT 10000,
                             touchpoints_per_customer int DEFAULT 50,
                             anchor timestamptz DEFAULT '2026-06-01 00:00:00+00')
RETURNS TABLE (item text, row_count bigint)
LANGUAGE plpgsql VOLATILE
AS $gen$
DECLARE
    s int := seed;
    avg_sessions float8;
BEGIN
    IF seed IS NULL OR customers IS NULL OR touchpoints_per_customer IS NULL OR anchor IS NULL THEN
        RAISE EXCEPTION 'gen.generate: parameters must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Call gen.generate(seed => 42, customers => 10000, touchpoints_per_customer => 50).';
    END IF;
    IF customers < 1 OR customers > 10000000 THEN
        RAISE EXCEPTION 'gen.generate: customers must be between 1 and 10000000, not %', customers
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF touchpoints_per_customer < 1 OR touchpoints_per_customer > 100000 THEN
        RAISE EXCEPTION 'gen.generate: touchpoints_per_customer must be between 1 and 100000, not %',
                        touchpoints_per_customer
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    avg_sessions := touchpoints_per_customer / 3.8;   -- about 4.1 steps a session, less the clamping

    TRUNCATE gen.person, gen.identifier, gen.link, gen.touch, gen.outbound;

    /* People, with their canonical identifiers and the raw spellings they use. */
    INSERT INTO gen.person
    SELECT p, fn, ln, c.country, c.tz,
           CASE WHEN gen.r(s, p, 3) < 0.06 THEN (p - 1) / 3 END,
           local || '@' || dom,
           ARRAY[
               -- as typed at sign-up, then as other systems send it
               pg_catalog.initcap(local) || '@' || pg_catalog.initcap(dom),
               CASE WHEN dom = 'gmail.com' THEN pg_catalog.replace(local, '.', '') || '+' ||
                         gen.pick(s, p, 5, ARRAY['news','shop','promo']) || '@googlemail.com'
                    WHEN dom IN ('outlook.com', 'hotmail.com', 'proton.me') THEN local || '+orders@' || dom
                    WHEN dom = 'yahoo.com' THEN local || '-shop@' || dom
                    ELSE '  ' || pg_catalog.upper(local || '@' || dom) || ' ' END],
           c.e164,
           ARRAY[c.national, c.international],
           CASE WHEN gen.r(s, p, 6) < 0.85 THEN 'CRM-' || pg_catalog.lpad(p::text, 8, '0') END,
           CASE WHEN gen.r(s, p, 7) < 0.40 THEN 'LC' || gen.digits(s, p, 8, 10) END,
           CASE WHEN gen.r(s, p, 9) < 0.25 THEN '@' || pg_catalog.lower(pg_catalog.left(fn, 3) || ln) || p END,
           ARRAY(SELECT pg_catalog.md5(s || ':dev:' || p || ':' || d)
                 FROM pg_catalog.generate_series(1, gen.ri(s, p, 10, 0, 2)) d),
           ARRAY(SELECT 'ck_' || pg_catalog.left(pg_catalog.md5(s || ':ck:' || p || ':' || k), 20)
                 FROM pg_catalog.generate_series(1, gen.ri(s, p, 11, 1, 7)) k)
    FROM pg_catalog.generate_series(1, customers) p,
    LATERAL (SELECT gen.pick(s, p, 1, ARRAY['James','Mary','José','Zoë','Wei','Aisha','Lukas','Chloé',
                                            'Giulia','Olivia','Noah','Søren','Иван','Ana','Mohammed',
                                            'Emma','Liam','Sofía','Hiroshi','Fatima']) AS fn,
                    gen.pick(s, p, 2, ARRAY['Smith','Núñez','Müller','Martin','Rossi','García','Johnson',
                                            'Brown','Dubois','Schmidt','Петров','Williams','Jones',
                                            'Bianchi','López','Nguyen','Kim','Silva','Cohen','Taylor']) AS ln) nm,
    LATERAL (SELECT pg_catalog.lower(pg_catalog.translate(fn || '.' || ln,
                 'éëøíñúüçóáИванПетров', 'eeoinuucoaivanpetrov'))
                 || CASE WHEN gen.r(s, p, 4) < 0.7 THEN (p % 997)::text ELSE '' END AS local,
             gen.pick(s, p, 12, ARRAY['gmail.com','gmail.com','gmail.com','gmail.com','outlook.com',
                                      'hotmail.com','yahoo.com','icloud.com','proton.me','web.de',
                                      'orange.fr','libero.it','example.org','bücher.de']) AS dom) em,
    LATERAL (
        SELECT v.country, v.tz, v.e164, v.national, v.international
        FROM (SELECT gen.r(s, p, 13) AS u, gen.digits(s, p, 14, 10) AS d) x,
        LATERAL (VALUES
            -- country, zone, E.164, national spelling, international spelling
            ('US', 'America/New_York',
             '+1' || (200 + (pg_catalog.left(d, 3)::int % 800)) || (200 + (pg_catalog.substr(d, 4, 3)::int % 800)) || pg_catalog.right(d, 4),
             '(' || (200 + (pg_catalog.left(d, 3)::int % 800)) || ') ' || (200 + (pg_catalog.substr(d, 4, 3)::int % 800)) || '-' || pg_catalog.right(d, 4),
             '001 ' || (200 + (pg_catalog.left(d, 3)::int % 800)) || '.' || (200 + (pg_catalog.substr(d, 4, 3)::int % 800)) || '.' || pg_catalog.right(d, 4), 0.45),
            ('US', 'America/Los_Angeles',
             '+1' || (200 + (pg_catalog.left(d, 3)::int % 800)) || (200 + (pg_catalog.substr(d, 4, 3)::int % 800)) || pg_catalog.right(d, 4),
             (200 + (pg_catalog.left(d, 3)::int % 800)) || '-' || (200 + (pg_catalog.substr(d, 4, 3)::int % 800)) || '-' || pg_catalog.right(d, 4),
             '+1 (' || (200 + (pg_catalog.left(d, 3)::int % 800)) || ') ' || (200 + (pg_catalog.substr(d, 4, 3)::int % 800)) || ' ' || pg_catalog.right(d, 4), 0.60),
            ('GB', 'Europe/London', '+447' || pg_catalog.left(d, 9),
             '07' || pg_catalog.left(d, 3) || ' ' || pg_catalog.substr(d, 4, 6),
             '+44 (0)7' || pg_catalog.left(d, 3) || ' ' || pg_catalog.substr(d, 4, 6), 0.70),
            ('DE', 'Europe/Berlin', '+49151' || pg_catalog.left(d, 8),
             '0151 ' || pg_catalog.left(d, 8), '0049 151 ' || pg_catalog.left(d, 8), 0.80),
            ('FR', 'Europe/Paris', '+336' || pg_catalog.left(d, 8),
             '06 ' || pg_catalog.substr(d, 1, 2) || ' ' || pg_catalog.substr(d, 3, 2) || ' ' || pg_catalog.substr(d, 5, 2) || ' ' || pg_catalog.substr(d, 7, 2),
             '+33 6 ' || pg_catalog.substr(d, 1, 2) || ' ' || pg_catalog.substr(d, 3, 2) || ' ' || pg_catalog.substr(d, 5, 2) || ' ' || pg_catalog.substr(d, 7, 2), 0.88),
            ('IT', 'Europe/Rome', '+3906' || pg_catalog.left(d, 8),
             '06 ' || pg_catalog.left(d, 4) || ' ' || pg_catalog.substr(d, 5, 4),
             '+39 06 ' || pg_catalog.left(d, 4) || ' ' || pg_catalog.substr(d, 5, 4), 0.94),
            ('ES', 'Europe/Madrid', '+346' || pg_catalog.left(d, 8),
             '6' || pg_catalog.left(d, 2) || ' ' || pg_catalog.substr(d, 3, 3) || ' ' || pg_catalog.substr(d, 6, 3),
             '+34 6' || pg_catalog.left(d, 2) || ' ' || pg_catalog.substr(d, 3, 3) || ' ' || pg_catalog.substr(d, 6, 3), 1.01)
        ) AS v(country, tz, e164, national, international, upto)
        WHERE v.upto > x.u
        ORDER BY v.upto
        LIMIT 1) c;

    /* Shared identifiers: a family address, and placeholders typed into forms. */
    UPDATE gen.person
       SET emails = emails || ('the.' || pg_catalog.lower(pg_catalog.translate(last_name,
                               'éëøíñúüçóáИванПетров', 'eeoinuucoaivanpetrov')) || '.family' || family_id || '@gmail.com')
     WHERE family_id IS NOT NULL;
    UPDATE gen.person SET emails = emails || 'test@test.com'::text WHERE person_id % 150 = 17;  -- about 0.7%
    UPDATE gen.person SET phones = phones || '000-000-0000'::text WHERE person_id % 250 = 42;  -- 0.4%

    /* Every raw identifier with what it stands for. */
    INSERT INTO gen.identifier
    SELECT person_id, 'email', e,
           CASE WHEN e LIKE '%.family%' OR e = 'test@test.com' THEN 'email:' || e ELSE 'email:' || email END,
           e LIKE '%.family%' OR e = 'test@test.com'
      FROM gen.person, pg_catalog.unnest(emails) e
    UNION ALL
    SELECT person_id, 'phone', ph, CASE WHEN ph = '000-000-0000' THEN 'phone:' || ph ELSE 'phone:' || phone END,
           ph = '000-000-0000'
      FROM gen.person, pg_catalog.unnest(phones) ph
    UNION ALL SELECT person_id, 'crm', crm, 'crm:' || crm, false FROM gen.person WHERE crm IS NOT NULL
    UNION ALL SELECT person_id, 'loyalty', loyalty, 'loyalty:' || loyalty, false FROM gen.person WHERE loyalty IS NOT NULL
    UNION ALL SELECT person_id, 'social', social, 'social:' || social, false FROM gen.person WHERE social IS NOT NULL
    UNION ALL SELECT person_id, 'device', d, 'device:' || d, false FROM gen.person, pg_catalog.unnest(devices) d
    UNION ALL SELECT person_id, 'cookie', c, 'cookie:' || c, false FROM gen.person, pg_catalog.unnest(cookies) c;

    /*
     * Observations of two identifiers together.  The anchor of each person is
     * its first raw email; most cookies get logged in once, some never do.
     */
    INSERT INTO gen.link
    SELECT 'email', p.emails[1], i.kind, i.value,
           CASE i.kind WHEN 'crm' THEN 'signup' WHEN 'phone' THEN 'crm_import'
                       WHEN 'cookie' THEN 'web_login' WHEN 'device' THEN 'app_login'
                       WHEN 'social' THEN 'social_login' WHEN 'loyalty' THEN 'store_enrolment'
                       ELSE 'profile_update' END,
           anchor - pg_catalog.make_interval(secs => gen.r(s, p.person_id * 31 + pg_catalog.length(i.value), 17) * 200 * 86400)
      FROM gen.person p
      JOIN gen.identifier i ON i.person_id = p.person_id AND i.value <> p.emails[1]
     WHERE i.kind <> 'cookie' OR gen.r(s, pg_catalog.hashtext(i.value), 18) < 0.7;
    -- loyalty cards are enrolled with the phone at the till
    INSERT INTO gen.link
    SELECT 'loyalty', loyalty, 'phone', phones[1], 'store_enrolment',
           anchor - pg_catalog.make_interval(secs => gen.r(s, person_id, 19) * 150 * 86400)
      FROM gen.person WHERE loyalty IS NOT NULL;

    /* Sessions, then their steps. */
    CREATE TEMP TABLE gen_session ON COMMIT DROP AS
    SELECT p.person_id, k AS session_no,
           (p.person_id::bigint << 20) + k AS skey,
           ch.channel,
           anchor - pg_catalog.make_interval(secs => gen.r(s, (p.person_id::bigint << 20) + k, 21) * 180 * 86400) AS start_ts
      FROM gen.person p,
           LATERAL pg_catalog.generate_series(1, LEAST(2000, GREATEST(1,
                   pg_catalog.round(avg_sessions * 0.4 / pg_catalog.power(GREATEST(gen.r(s, p.person_id, 20), 1e-6), 0.6)))::int)) k,
           LATERAL (SELECT gen.pick(s, (p.person_id::bigint << 20) + k, 22,
                    ARRAY['web','web','web','web','app','app','app','email','email','email','sms',
                          'push','push','store','store','call_center','chat','social','social','direct']) AS channel) ch;

    INSERT INTO gen.touch
    SELECT pg_catalog.row_number() OVER (ORDER BY st.ts, st.skey, st.step),
           st.person_id, idn.kind, idn.value, st.ts, st.channel, st.event,
           CASE WHEN st.channel IN ('email', 'sms', 'push', 'social')
                THEN gen.pick(s, st.skey, 23, ARRAY['spring_sale','summer_launch','back_to_school',
                                                    'black_friday','newsletter','win_back']) END,
           CASE WHEN st.event IN ('product_view', 'add_to_cart', 'checkout', 'purchase', 'email_click')
                THEN 'P' || pg_catalog.lpad(pg_catalog.floor(500 * pg_catalog.power(gen.r(s, st.skey, 24), 2))::int::text, 3, '0') END,
           CASE WHEN st.event = 'purchase'
                THEN pg_catalog.jsonb_build_object('amount', pg_catalog.round((5 + 195 * gen.r(s, st.skey, 25))::numeric, 2), 'currency', 'EUR')
                ELSE '{}'::jsonb END
      FROM (
        SELECT ss.person_id, ss.skey, ss.channel, step.n AS step,
               ss.start_ts + pg_catalog.make_interval(secs => step.n * (5 + 295 * gen.r(s, ss.skey, 26))) AS ts,
               CASE WHEN step.n = 1 THEN
                        CASE ss.channel WHEN 'web' THEN 'page_view' WHEN 'direct' THEN 'page_view'
                             WHEN 'app' THEN 'app_open' WHEN 'email' THEN 'email_open'
                             WHEN 'sms' THEN 'sms_click' WHEN 'push' THEN 'push_open'
                             WHEN 'store' THEN 'store_visit' WHEN 'call_center' THEN 'call'
                             WHEN 'chat' THEN 'chat_message' ELSE 'ad_click' END
                    WHEN step.n = step.len AND gen.r(s, ss.skey, 27) <
                         CASE ss.channel WHEN 'store' THEN 0.5 WHEN 'app' THEN 0.15 ELSE 0.08 END THEN 'purchase'
                    WHEN step.n = step.len - 1 AND gen.r(s, ss.skey, 27) < 0.25 THEN 'checkout'
                    WHEN step.n = step.len - 2 AND gen.r(s, ss.skey, 27) < 0.35 THEN 'add_to_cart'
                    WHEN ss.channel = 'email' THEN 'email_click'
                    ELSE 'product_view' END AS event,
               CASE ss.channel
                    WHEN 'web' THEN CASE WHEN gen.r(s, ss.skey, 28) < 0.8 THEN 'cookie' ELSE 'email' END
                    WHEN 'direct' THEN 'cookie'
                    WHEN 'app' THEN 'device' WHEN 'push' THEN 'device'
                    WHEN 'email' THEN 'email' WHEN 'sms' THEN 'phone'
                    WHEN 'store' THEN CASE WHEN gen.r(s, ss.skey, 28) < 0.6 THEN 'loyalty' ELSE 'phone' END
                    WHEN 'call_center' THEN CASE WHEN gen.r(s, ss.skey, 28) < 0.5 THEN 'crm' ELSE 'phone' END
                    WHEN 'chat' THEN 'email'
                    ELSE 'social' END AS want_kind,
               ss.start_ts
          FROM gen_session ss,
               LATERAL (SELECT CASE WHEN ss.channel IN ('web', 'app', 'direct') THEN gen.ri(s, ss.skey, 29, 1, 12)
                                    WHEN ss.channel IN ('store', 'chat') THEN gen.ri(s, ss.skey, 29, 1, 4)
                                    ELSE gen.ri(s, ss.skey, 29, 1, 3) END AS len) step0,
               LATERAL (SELECT g.i AS n, step0.len FROM pg_catalog.generate_series(1, step0.len) g(i)) step
      ) st
      JOIN gen.person p ON p.person_id = st.person_id,
      LATERAL (
        -- the identifier the channel sees; a person lacking that kind falls back to a cookie
        SELECT CASE WHEN x.v IS NULL THEN 'cookie' ELSE st.want_kind END AS kind,
               COALESCE(x.v, p.cookies[1 + pg_catalog.floor(pg_catalog.cardinality(p.cookies) *
                        EXTRACT(epoch FROM anchor - st.start_ts) / (181 * 86400))::int]) AS value
          FROM (SELECT CASE st.want_kind
                    WHEN 'cookie' THEN p.cookies[1 + pg_catalog.floor(pg_catalog.cardinality(p.cookies) *
                                       EXTRACT(epoch FROM anchor - st.start_ts) / (181 * 86400))::int]
                    WHEN 'email' THEN p.emails[gen.ri(s, st.skey, 30, 1, pg_catalog.cardinality(p.emails))]
                    WHEN 'phone' THEN p.phones[gen.ri(s, st.skey, 30, 1, pg_catalog.cardinality(p.phones))]
                    WHEN 'device' THEN p.devices[gen.ri(s, st.skey, 30, 1, GREATEST(1, pg_catalog.cardinality(p.devices)))]
                    WHEN 'loyalty' THEN p.loyalty WHEN 'crm' THEN p.crm ELSE p.social END AS v) x
      ) idn;

    /* Outbound messages marketing would like to send, about three per person. */
    INSERT INTO gen.outbound
    SELECT pg_catalog.row_number() OVER (ORDER BY created_at, person_id, m),
           person_id, recipient_kind, recipient, channel, campaign, category, topic, created_at
      FROM (
        SELECT p.person_id, m.m,
               ch.channel,
               CASE ch.channel WHEN 'email' THEN 'email' WHEN 'sms' THEN 'phone' ELSE 'device' END AS recipient_kind,
               CASE ch.channel WHEN 'email' THEN p.emails[1] WHEN 'sms' THEN p.phones[1]
                               ELSE p.devices[1] END AS recipient,
               gen.pick(s, p.person_id * 7 + m.m, 32, ARRAY['spring_sale','summer_launch','back_to_school',
                                                            'black_friday','newsletter','win_back']) AS campaign,
               CASE WHEN gen.r(s, p.person_id * 7 + m.m, 33) < 0.15 THEN 'transactional' ELSE 'marketing' END AS category,
               'P' || pg_catalog.lpad(pg_catalog.floor(500 * pg_catalog.power(gen.r(s, p.person_id * 7 + m.m, 34), 2))::int::text, 3, '0') AS topic,
               anchor + pg_catalog.make_interval(secs => gen.r(s, p.person_id * 7 + m.m, 35) * 7 * 86400) AS created_at
          FROM gen.person p,
               LATERAL pg_catalog.generate_series(1, gen.ri(s, p.person_id, 31, 1, 5)) m(m),
               LATERAL (SELECT gen.pick(s, p.person_id * 7 + m.m, 36, ARRAY['email','email','email','sms','push']) AS channel) ch
      ) o
     WHERE recipient IS NOT NULL;

    RETURN QUERY
        SELECT 'persons', pg_catalog.count(*) FROM gen.person
        UNION ALL SELECT 'identifiers', pg_catalog.count(*) FROM gen.identifier
        UNION ALL SELECT 'links', pg_catalog.count(*) FROM gen.link
        UNION ALL SELECT 'touchpoints', pg_catalog.count(*) FROM gen.touch
        UNION ALL SELECT 'outbound', pg_catalog.count(*) FROM gen.outbound;
END
$gen$;
COMMENT ON FUNCTION gen.generate(int, int, int, timestamptz) IS
    'Fill the gen schema with deterministic data: seed, number of customers, average touchpoints per customer';
RESET client_min_messages;
