/*
 * The baseline of the suppression benchmark: the decision of omni.suppress()
 * written as a PL/pgSQL trigger, the way an application would write it
 * without the extension's C engine.  Same rules, same order, same reasons,
 * same lock (the customer's row, FOR NO KEY UPDATE) and the same results:
 * run.sh checks that both triggers decide every message alike.  It reuses
 * the identity capability's SQL functions (try_normalize, identifier_hash,
 * blocked) for the recipient, and reads the rules once per message.
 * Rolling windows are reckoned in UTC, as omni.suppress() does.
 * One difference, which the benchmark's rules and zones never meet: a quiet
 * window whose end, or a local day whose midnight, falls in a DST gap or
 * fold starts or ends where AT TIME ZONE puts that local time, not at the
 * first instant the local clock reaches it.
 */
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

/* The holdout draw of omni.suppress(): FNV-1a 64 + MurmurHash3's finalizer, in numeric. */
CREATE FUNCTION bench.holdout_draw(salt text, customer_id bigint) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    m constant numeric := 18446744073709551616;
    h numeric := 14695981039346656037;
    s bytea := convert_to(salt, 'UTF8') || '\x00'::bytea || convert_to(customer_id::text, 'UTF8');
    low numeric;
BEGIN
    FOR i IN 0 .. length(s) - 1 LOOP
        low := mod(h, 256);
        h := h - low + (low::int # get_byte(s, i));
        h := mod(h * 1099511628211, m);
    END LOOP;
    low := mod(h, 2147483648); h := h - low + (low::bigint # floor(h / 8589934592)::bigint);
    h := mod(h * 18397679294719823053, m);
    low := mod(h, 2147483648); h := h - low + (low::bigint # floor(h / 8589934592)::bigint);
    h := mod(h * 14181476777654086739, m);
    low := mod(h, 2147483648); h := h - low + (low::bigint # floor(h / 8589934592)::bigint);
    RETURN floor(h / 2048)::float8 / 9007199254740992.0;
END $$;

CREATE FUNCTION bench.suppress_plpgsql() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r omni.suppression_rule;
    tx boolean := NEW.category = 'transactional';
    t timestamptz := NEW.created_at;
    send timestamptz := coalesce(NEW.send_at, NEW.created_at);
    sup text[] := '{}';
    qsup text[] := '{}';
    del text[] := '{}';
    norm text;
    ident bigint;
    found_customer bigint;
    cust bigint := NEW.customer_id;
    tz text;
    merged bigint;
    family bigint[];
    zone text;
    n integer;
    lo timestamptz;
    hi timestamptz;
    local_ts timestamp;
    tod time;
    nxt timestamptz;
    day date;
    moved boolean := true;
    stopped boolean := false;
    pass integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM omni.channel c WHERE c.channel = NEW.channel) THEN
        RAISE EXCEPTION 'unknown channel "%"', NEW.channel USING ERRCODE = 'invalid_parameter_value';
    END IF;

    /* the recipient */
    IF NEW.recipient IS NOT NULL THEN
        norm := omni.try_normalize(NEW.recipient_kind, NEW.recipient);
        IF norm IS NULL THEN
            sup := sup || 'invalid_recipient'::text;
        ELSE
            IF EXISTS (SELECT 1 FROM omni.forgotten f
                        WHERE f.hash = omni.identifier_hash(NEW.recipient_kind, norm)) THEN
                sup := sup || 'forgotten'::text;
            END IF;
            IF omni.blocked(NEW.recipient_kind, norm) IS NOT NULL THEN
                sup := sup || 'blocklisted'::text;
            END IF;
            SELECT i.identity_id, i.customer_id INTO ident, found_customer
              FROM omni.identity i WHERE i.kind = NEW.recipient_kind AND i.value = norm;
            cust := coalesce(cust, found_customer);
        END IF;
    END IF;
    IF cust IS NULL THEN
        IF cardinality(sup) = 0 THEN
            sup := '{unknown_recipient}';
        END IF;
        NEW.status := 'suppressed';
        NEW.reasons := sup;
        NEW.decided_at := statement_timestamp();
        RETURN NEW;
    END IF;

    /* the customer's lock, following merges */
    LOOP
        SELECT c.time_zone, c.merged_into INTO tz, merged
          FROM omni.customer c WHERE c.customer_id = cust FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'customer % does not exist', cust USING ERRCODE = 'foreign_key_violation';
        END IF;
        EXIT WHEN merged IS NULL;
        cust := merged;
    END LOOP;
    NEW.customer_id := cust;
    family := array_append(ARRAY(SELECT a.customer_id FROM omni.customer a WHERE a.merged_into = cust), cust);
    zone := coalesce(tz, coalesce(current_setting('omni.default_time_zone', true), 'UTC'));

    /* quiet hours first: caps count the message at the time it goes out */
    WHILE moved AND pass < 16 AND NOT stopped LOOP
        moved := false;
        pass := pass + 1;
        FOR r IN SELECT * FROM omni.suppression_rule WHERE enabled AND kind = 'quiet_hours'
                  ORDER BY priority, name LOOP
            CONTINUE WHEN r.channels IS NOT NULL AND NOT NEW.channel = ANY (r.channels);
            CONTINUE WHEN tx;
            CONTINUE WHEN r.categories IS NOT NULL AND NOT NEW.category = ANY (r.categories);
            local_ts := send AT TIME ZONE zone;
            tod := local_ts::time;
            CONTINUE WHEN NOT CASE WHEN r.quiet_start < r.quiet_end
                                   THEN tod >= r.quiet_start AND tod < r.quiet_end
                                   ELSE tod >= r.quiet_start OR tod < r.quiet_end END;
            IF r.action = 'suppress' THEN
                qsup := qsup || r.name;
                stopped := true;
                EXIT;
            END IF;
            day := local_ts::date + CASE WHEN tod >= r.quiet_end THEN 1 ELSE 0 END;
            nxt := (day + r.quiet_end) AT TIME ZONE zone;
            IF nxt <= send THEN
                nxt := (day + 1 + r.quiet_end) AT TIME ZONE zone;
            END IF;
            send := nxt;
            moved := true;
            IF NOT r.name = ANY (del) THEN
                del := del || r.name;
            END IF;
        END LOOP;
    END LOOP;
    IF moved AND NOT stopped THEN
        qsup := qsup || del;
    END IF;

    FOR r IN SELECT * FROM omni.suppression_rule WHERE enabled AND kind <> 'quiet_hours'
              ORDER BY priority, name LOOP
        CONTINUE WHEN r.channels IS NOT NULL AND NOT NEW.channel = ANY (r.channels);
        /* transactional: exempt from caps and the holdout, and from the others unless they name it */
        CONTINUE WHEN tx AND (r.kind IN ('frequency_cap', 'holdout')
                              OR (r.kind <> 'consent' AND r.categories IS NULL));
        CONTINUE WHEN r.categories IS NOT NULL AND NOT NEW.category = ANY (r.categories);
        CASE r.kind
        WHEN 'consent' THEN
            IF EXISTS (SELECT 1 FROM omni.consent k
                        WHERE (k.customer_id = ANY (family) OR k.identity_id = ident)
                          AND (k.channel IS NULL OR k.channel = NEW.channel)
                          AND k.purpose = CASE WHEN tx THEN 'transactional' ELSE 'marketing' END
                          AND k.status = 'opt_out' AND k.granted_at <= t
                          AND (k.expires_at IS NULL OR k.expires_at > t)
                          AND (k.revoked_at IS NULL OR k.revoked_at > t)) THEN
                sup := sup || r.name;
            ELSIF NOT tx AND (SELECT c.requires_opt_in FROM omni.channel c WHERE c.channel = NEW.channel)
                  AND NOT EXISTS (SELECT 1 FROM omni.consent k
                        WHERE (k.customer_id = ANY (family) OR k.identity_id = ident)
                          AND (k.channel IS NULL OR k.channel = NEW.channel)
                          AND k.purpose = 'marketing'
                          AND k.status = 'opt_in' AND k.granted_at <= t
                          AND (k.expires_at IS NULL OR k.expires_at > t)
                          AND (k.revoked_at IS NULL OR k.revoked_at > t)) THEN
                sup := sup || r.name;
            END IF;
        WHEN 'holdout' THEN
            IF bench.holdout_draw(r.name, cust) < r.share THEN
                sup := sup || r.name;
            END IF;
        WHEN 'frequency_cap' THEN
            IF r.calendar_day THEN
                lo := (date_trunc('day', send AT TIME ZONE zone)
                       - (greatest(extract(day FROM coalesce(r.time_window, interval '1 day'))::int, 1) - 1)
                         * interval '1 day') AT TIME ZONE zone;
                hi := (date_trunc('day', send AT TIME ZONE zone) + interval '1 day') AT TIME ZONE zone;
                SELECT count(*) INTO n FROM omni.message m
                 WHERE m.customer_id = ANY (family) AND m.status IN ('queued', 'delayed')
                   AND coalesce(m.send_at, m.created_at) >= lo AND coalesce(m.send_at, m.created_at) < hi
                   AND (r.channels IS NULL OR m.channel = ANY (r.channels))
                   AND CASE WHEN r.categories IS NULL THEN m.category <> 'transactional'
                            ELSE m.category = ANY (r.categories) END;
            ELSE
                SELECT count(*) INTO n FROM omni.message m
                 WHERE m.customer_id = ANY (family) AND m.status IN ('queued', 'delayed')
                   AND coalesce(m.send_at, m.created_at) > ((send AT TIME ZONE 'UTC') - r.time_window) AT TIME ZONE 'UTC'
                   AND coalesce(m.send_at, m.created_at) < ((send AT TIME ZONE 'UTC') + r.time_window) AT TIME ZONE 'UTC'
                   AND (r.channels IS NULL OR m.channel = ANY (r.channels))
                   AND CASE WHEN r.categories IS NULL THEN m.category <> 'transactional'
                            ELSE m.category = ANY (r.categories) END;
                IF n >= r.max_messages THEN
                    /* the fullest window that holds send: one starting at it or at a message before it */
                    WITH h AS (
                        SELECT coalesce(m.send_at, m.created_at) AS created_at FROM omni.message m
                         WHERE m.customer_id = ANY (family) AND m.status IN ('queued', 'delayed')
                           AND coalesce(m.send_at, m.created_at) > ((send AT TIME ZONE 'UTC') - r.time_window) AT TIME ZONE 'UTC'
                   AND coalesce(m.send_at, m.created_at) < ((send AT TIME ZONE 'UTC') + r.time_window) AT TIME ZONE 'UTC'
                           AND (r.channels IS NULL OR m.channel = ANY (r.channels))
                           AND CASE WHEN r.categories IS NULL THEN m.category <> 'transactional'
                                    ELSE m.category = ANY (r.categories) END)
                    SELECT max((SELECT count(*) FROM h h2
                                 WHERE h2.created_at >= st.s AND h2.created_at < ((st.s AT TIME ZONE 'UTC') + r.time_window) AT TIME ZONE 'UTC'))
                      INTO n
                      FROM (SELECT h.created_at AS s FROM h WHERE h.created_at <= send UNION ALL SELECT send) st;
                END IF;
            END IF;
            IF n >= r.max_messages THEN
                sup := sup || r.name;
            END IF;
        WHEN 'same_campaign' THEN
            IF NEW.campaign IS NOT NULL AND EXISTS (
                SELECT 1 FROM omni.message m
                 WHERE m.customer_id = ANY (family) AND m.status IN ('queued', 'delayed')
                   AND coalesce(m.send_at, m.created_at) > ((send AT TIME ZONE 'UTC') - r.time_window) AT TIME ZONE 'UTC'
                   AND coalesce(m.send_at, m.created_at) < ((send AT TIME ZONE 'UTC') + r.time_window) AT TIME ZONE 'UTC'
                   AND m.campaign = NEW.campaign) THEN
                sup := sup || r.name;
            END IF;
        WHEN 'recent_event' THEN
            IF NOT (r.match_topic AND NEW.topic IS NULL) AND EXISTS (
                SELECT 1 FROM omni.touchpoint tp
                 WHERE tp.customer_id = cust AND tp.event = r.event
                   AND tp.ts > ((t AT TIME ZONE 'UTC') - r.time_window) AT TIME ZONE 'UTC' AND tp.ts <= t
                   AND (NOT r.match_topic OR tp.topic = NEW.topic)) THEN
                sup := sup || r.name;
            END IF;
        END CASE;
    END LOOP;

    sup := sup || qsup;

    IF cardinality(sup) > 0 THEN
        NEW.status := 'suppressed';
        NEW.reasons := sup;
    ELSIF cardinality(del) > 0 THEN
        NEW.status := 'delayed';
        NEW.send_at := send;
        NEW.reasons := del;
    ELSE
        NEW.status := 'queued';
        NEW.reasons := '{}';
    END IF;
    NEW.decided_at := statement_timestamp();
    RETURN NEW;
END $$;
