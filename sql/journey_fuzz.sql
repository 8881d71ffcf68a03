-- Robustness of every parser of user input: random sequence patterns, step
-- patterns, mutated journey text and random binary messages.  Each input
-- must either work or raise an ordinary data error (class 22, or 54 for a
-- limit, 08P01 for a short message): no crash, no hang, no internal error.
-- The counts below are deterministic for the seed.
SET TimeZone = 'UTC';
SELECT setseed(0.42);

CREATE TEMP TABLE fz (j omni.journey);
INSERT INTO fz
SELECT omni.journey('2026-03-01'::timestamptz + (g * 37 % 500) * interval '1 minute',
                    (ARRAY['web', 'app', 'email'])[1 + g % 3], (ARRAY['a', 'b', 'c', 'd'])[1 + g * 7 % 4])
  FROM generate_series(1, 300) g;

-- Sequence patterns made of random tokens, valid and not.
CREATE FUNCTION pg_temp.fuzz_sequences(n int) RETURNS TABLE (outcome text, count bigint)
LANGUAGE plpgsql AS $$
DECLARE
    tokens text[] := ARRAY['(?1)', '(?2)', '(?3)', '.', '.*', '(?t<=60)', '(?t>5)', '(?t==0)', '(?t<1)',
                           '(?', ')', '(?t', '<=', '9', '(?0)', '(?99)', 'x', '(?t>=99999999999999)'];
    p text;
    r text;
    results text[] := '{}';
BEGIN
    FOR i IN 1..n LOOP
        p := '';
        FOR k IN 1..(1 + floor(random() * 6))::int LOOP
            p := p || tokens[1 + floor(random() * array_length(tokens, 1))::int];
        END LOOP;
        BEGIN
            PERFORM omni.sequence_match(j, p, '{a,b,c}'), omni.sequence_count(j, p, '{a,web:b,*:c}') FROM fz;
            r := 'ok';
        EXCEPTION WHEN invalid_parameter_value OR program_limit_exceeded THEN
            r := 'error ' || SQLSTATE;
        END;
        results := results || r;
    END LOOP;
    RETURN QUERY SELECT x, count(*) FROM unnest(results) x GROUP BY x ORDER BY x;
END $$;
SELECT * FROM pg_temp.fuzz_sequences(2000);

-- Step patterns of random characters.
CREATE FUNCTION pg_temp.fuzz_steps(n int) RETURNS TABLE (outcome text, count bigint)
LANGUAGE plpgsql AS $$
DECLARE
    chars text[] := ARRAY['a', 'b', ':', '*', '\', 'web', 'c'];
    p text;
    r text;
    results text[] := '{}';
BEGIN
    FOR i IN 1..n LOOP
        p := '';
        FOR k IN 1..(1 + floor(random() * 5))::int LOOP
            p := p || chars[1 + floor(random() * array_length(chars, 1))::int];
        END LOOP;
        BEGIN
            PERFORM omni.funnel(j, '1 hour', ARRAY[p, 'b'], '{strict_once}'),
                    omni.sequence_count(j, '(?1)', ARRAY[p]),
                    (SELECT count(*) FROM omni.attribution(j, p, 'position_based'))
               FROM fz;
            r := 'ok';
        EXCEPTION WHEN invalid_parameter_value THEN
            r := 'error ' || SQLSTATE;
        END;
        results := results || r;
    END LOOP;
    RETURN QUERY SELECT x, count(*) FROM unnest(results) x GROUP BY x ORDER BY x;
END $$;
SELECT * FROM pg_temp.fuzz_steps(2000);

-- Journey text: a valid value with characters dropped, duplicated or replaced.
CREATE FUNCTION pg_temp.fuzz_text(n int) RETURNS TABLE (outcome text, count bigint)
LANGUAGE plpgsql AS $$
DECLARE
    base text := (SELECT omni.journey(s.ts, s.channel, s.event)::text
                    FROM fz, LATERAL omni.steps(fz.j) s WHERE s.step <= 6);
    noise text[] := ARRAY['"', '{', '}', '[', ']', ',', ':', '\', 'null', '1', ' ', 'Z', '-'];
    s text;
    pos int;
    r text;
    results text[] := '{}';
    j omni.journey;
BEGIN
    FOR i IN 1..n LOOP
        s := base;
        FOR k IN 1..(1 + floor(random() * 3))::int LOOP
            pos := 1 + floor(random() * length(s))::int;
            CASE floor(random() * 3)::int
                WHEN 0 THEN s := overlay(s PLACING '' FROM pos FOR 1);
                WHEN 1 THEN s := overlay(s PLACING substr(s, pos, 1) || substr(s, pos, 1) FROM pos FOR 1);
                ELSE s := overlay(s PLACING noise[1 + floor(random() * array_length(noise, 1))::int] FROM pos FOR 1);
            END CASE;
        END LOOP;
        BEGIN
            j := s::omni.journey;
            r := CASE WHEN j::text::omni.journey::text = j::text THEN 'ok, round-trips' ELSE 'ok, DIFFERS' END;
        EXCEPTION WHEN data_exception THEN
            r := 'error ' || SQLSTATE;
        END;
        results := results || r;
    END LOOP;
    RETURN QUERY SELECT x, count(*) FROM unnest(results) x GROUP BY x ORDER BY x;
END $$;
SELECT * FROM pg_temp.fuzz_text(2000);

-- Binary messages: the valid one with random bytes changed, read by COPY BINARY.
CREATE TEMP TABLE fz_bin (b bytea);
INSERT INTO fz_bin
SELECT (SELECT string_agg(CASE WHEN random() < 0.03 THEN set_byte('\x00'::bytea, 0, floor(random() * 256)::int)
                               ELSE substring(m FROM k FOR 1) END, ''::bytea ORDER BY k)
          FROM generate_series(1, length(m)) k)
  FROM (SELECT omni.journey_send(omni.journey(ts, channel, event)) AS m
          FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'page_view'),
                       ('2026-03-01 10:05+00', 'email', NULL),
                       ('2026-03-01 10:09+00', 'store', 'purchase')) v(ts, channel, event)) s,
       generate_series(1, 300) g;
CREATE TEMP TABLE fz_recv (j omni.journey);
CREATE FUNCTION pg_temp.fuzz_recv() RETURNS TABLE (outcome text, count bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r text;
    results text[] := '{}';
    msg bytea;
    file text := '/tmp/omni_journey_fuzz.copy';
BEGIN
    FOR msg IN SELECT b FROM fz_bin LOOP
        -- a COPY BINARY file whose one field is the message, read as a journey
        EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', msg, file);
        BEGIN
            EXECUTE format('COPY fz_recv FROM %L WITH (FORMAT binary)', file);
            r := 'ok';
        EXCEPTION WHEN data_exception OR program_limit_exceeded OR protocol_violation THEN
            r := 'error ' || SQLSTATE;
        END;
        results := results || r;
    END LOOP;
    RETURN QUERY SELECT x, count(*) FROM unnest(results) x GROUP BY x ORDER BY x;
END $$;
SELECT * FROM pg_temp.fuzz_recv();
-- every value that got in is a valid journey
SELECT count(*) FILTER (WHERE j::text::omni.journey::text = j::text) = count(*) AS all_valid FROM fz_recv;

DROP TABLE fz, fz_bin, fz_recv;
RESET TimeZone;
