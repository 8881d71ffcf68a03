-- Bad input: for every public function of the extension, what NULL, empty,
-- huge (1 MB), malformed and out-of-range arguments get.  Each case runs as
-- its own statement under a statement_timeout (a guard: none may hang) and
-- prints one line: function | input | outcome, the outcome being the result
-- (cut at 100 characters, with its length) or "ERROR <SQLSTATE>: <message>".
-- The README's "Bad input" table is this file's expected output.
-- Everything runs in one transaction, rolled back at the end.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET omni.default_time_zone = 'UTC';
SET statement_timeout = '5min';   -- a guard against hangs, generous for valgrind runs
SET client_min_messages = warning;   -- omni.resolve_all's progress NOTICEs
CREATE TEMP TABLE seq_before AS
SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value FROM pg_sequences WHERE schemaname = 'omni';


CREATE FUNCTION pg_temp.outcome(call text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
    state text;
    msg text;
BEGIN
    IF call ~* '^\s*(select|insert|with|set)\M' THEN
        EXECUTE call INTO r;
        IF call ~* '^\s*set\M' THEN
            RETURN 'accepted';
        END IF;
    ELSE
        EXECUTE 'SELECT (' || call || ')::text' INTO r;
    END IF;
    IF r IS NULL THEN
        RETURN 'NULL';
    ELSIF length(r) > 100 THEN
        RETURN left(r, 100) || '... (' || length(r) || ' characters)';
    END IF;
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN 'ERROR ' || state || ': ' || CASE WHEN length(msg) > 150 THEN left(msg, 150) || '...' ELSE msg END;
END
$$;

BEGIN;
-- data the calls use: a customer, a merge, a journey of three steps, one of
-- 30,000 steps (about 1.5 MB as text)
SELECT omni.touch('email', 'bad.input@shop.test', 'web', 'page_view', '2026-02-01 10:00+00') > 0 AS touched;
SELECT omni.link('email', 'bad.input@shop.test', 'cookie', 'ck-bad-input', 'login', '2026-02-01 10:01+00') > 0 AS linked;
CREATE TEMP TABLE j AS
SELECT omni.journey(ts, ch, ev) AS small FROM (VALUES
    ('2026-01-01 10:00+00'::timestamptz, 'web', 'view'), ('2026-01-01 10:05+00', 'email', 'open'),
    ('2026-01-01 11:00+00', 'store', 'purchase')) v(ts, ch, ev);
ALTER TABLE j ADD COLUMN big omni.journey;
UPDATE j SET big = (SELECT omni.journey('2026-01-01'::timestamptz + g * interval '1 minute',
                                        (ARRAY['web', 'email', 'app', 'store'])[g % 4 + 1],
                                        CASE WHEN g % 100 = 0 THEN 'purchase' ELSE 'view' END)
                      FROM generate_series(1, 30000) g);
SELECT omni.length(small) AS small_steps, omni.length(big) AS big_steps, length(big::text) > 1000000 AS big_over_1mb FROM j;

CREATE TEMP TABLE bad (ord serial, fn text, input text, call text);
INSERT INTO bad (fn, input, call) VALUES
-- Normalization
('normalize_email', 'NULL', $$omni.normalize_email(NULL)$$),
('normalize_email', 'empty', $$omni.normalize_email('')$$),
('normalize_email', 'huge', $$omni.normalize_email(repeat('a', 1048576) || '@shop.test')$$),
('normalize_email', 'malformed', $$omni.normalize_email('anna@@shop')$$),
('normalize_email', 'out of range: 65-byte mailbox', $$omni.normalize_email(repeat('a', 65) || '@shop.test')$$),
('normalize_phone', 'NULL', $$omni.normalize_phone(NULL)$$),
('normalize_phone', 'NULL region', $$omni.normalize_phone('4155550123', NULL)$$),
('normalize_phone', 'empty', $$omni.normalize_phone('')$$),
('normalize_phone', 'huge', $$omni.normalize_phone(repeat('1', 1048576))$$),
('normalize_phone', 'malformed', $$omni.normalize_phone('call me')$$),
('normalize_phone', 'out of range: 11 digits', $$omni.normalize_phone('+1 415 555 01234')$$),
('normalize_phone', 'out of range: region', $$omni.normalize_phone('4155550123', 'XX')$$),
('normalize_phone', 'empty region', $$omni.normalize_phone('4155550123', '')$$),
('normalize_name', 'NULL', $$omni.normalize_name(NULL)$$),
('normalize_name', 'empty', $$omni.normalize_name('')$$),
('normalize_name', 'huge', $$omni.normalize_name(repeat('José ', 209716))$$),
('normalize_name', 'malformed: white space only', $$omni.normalize_name('   ')$$),
('skeleton', 'NULL', $$omni.skeleton(NULL)$$),
('skeleton', 'empty', $$omni.skeleton('')$$),
('skeleton', 'huge', $$omni.skeleton(repeat('paypal ', 149797))$$),
('skeleton', 'malformed: mixed scripts', $$omni.skeleton(E'p\u0430yp\u0430l')$$),
('jaro_winkler', 'NULL', $$omni.jaro_winkler(NULL, 'a')$$),
('jaro_winkler', 'empty', $$omni.jaro_winkler('', '')$$),
('jaro_winkler', 'one empty', $$omni.jaro_winkler('', 'a')$$),
('jaro_winkler', 'huge', $$omni.jaro_winkler(repeat('ab', 524288), 'ab')$$),
('jaro_winkler', 'out of range: 10,000 characters', $$round(omni.jaro_winkler(repeat('ab', 5000), repeat('ba', 5000))::numeric, 3)$$),
('normalize', 'NULL', $$omni.normalize(NULL, 'x')$$),
('normalize', 'empty kind', $$omni.normalize('', 'x')$$),
('normalize', 'empty value', $$omni.normalize('cookie', '')$$),
('normalize', 'huge value', $$omni.normalize('cookie', repeat('c', 1048576))$$),
('normalize', 'huge kind', $$omni.normalize(repeat('k', 1048576), 'x')$$),
('normalize', 'malformed', $$omni.normalize('email', 'anna@@shop')$$),
('normalize', 'out of range: 1,025-byte identifier', $$omni.normalize('crm', repeat('C', 1025))$$),
('normalize', 'out of range: unknown kind', $$omni.normalize('fax', 'x')$$),
('normalize', 'NULL region', $$omni.normalize('phone', '4155550123', NULL)$$),
('normalize', 'out of range: region', $$omni.normalize('phone', '4155550123', 'XX')$$),
('try_normalize', 'NULL kind', $$omni.try_normalize(NULL, 'x')$$),
('try_normalize', 'NULL value', $$omni.try_normalize('email', NULL)$$),
('try_normalize', 'empty', $$omni.try_normalize('email', '')$$),
('try_normalize', 'huge', $$omni.try_normalize('cookie', repeat('c', 1048576))$$),
('try_normalize', 'malformed', $$omni.try_normalize('email', 'anna@@shop')$$),
('try_normalize', 'out of range: unknown kind', $$omni.try_normalize('fax', 'x')$$),
('try_normalize', 'out of range: region', $$omni.try_normalize('phone', '4155550123', 'XX')$$),
('blocked', 'NULL', $$omni.blocked('email', NULL)$$),
('blocked', 'empty', $$omni.blocked('email', '')$$),
('blocked', 'huge', $$omni.blocked('cookie', repeat('c', 1048576))$$),
('blocked', 'malformed', $$omni.blocked('email', 'anna@@shop')$$),
('blocked', 'out of range: unknown kind', $$omni.blocked('fax', 'x')$$),
('identifier_hash', 'NULL', $$omni.identifier_hash(NULL, 'x')$$),
('identifier_hash', 'empty', $$length(omni.identifier_hash('email', ''))$$),
('identifier_hash', 'huge', $$length(omni.identifier_hash('cookie', repeat('c', 1048576)))$$),
('identifier_hash', 'malformed: unnormalized', $$omni.identifier_hash('email', 'Bad.Input@Shop.test') = omni.identifier_hash('email', 'bad.input@shop.test')$$),
('identifier_hash', 'out of range: unknown kind', $$length(omni.identifier_hash('fax', 'x'))$$),
-- The graph
('identify', 'NULL', $$omni.identify(NULL, 'x')$$),
('identify', 'empty', $$omni.identify('cookie', '')$$),
('identify', 'huge', $$omni.identify('cookie', repeat('c', 1048576))$$),
('identify', 'malformed', $$omni.identify('email', 'anna@@shop')$$),
('identify', 'out of range: unknown kind', $$omni.identify('fax', 'x')$$),
('customer_of', 'NULL', $$omni.customer_of('email', NULL)$$),
('customer_of', 'empty', $$omni.customer_of('email', '')$$),
('customer_of', 'huge', $$omni.customer_of('cookie', repeat('c', 1048576))$$),
('customer_of', 'malformed', $$omni.customer_of('email', 'anna@@shop')$$),
('customer_of', 'out of range: unknown kind', $$omni.customer_of('fax', 'x')$$),
('customer_of', 'unknown identifier', $$omni.customer_of('cookie', 'ck-never-seen')$$),
('identities', 'NULL', $$(SELECT count(*) FROM omni.identities(NULL))$$),
('identities', 'out of range: -1', $$(SELECT count(*) FROM omni.identities(-1))$$),
('link', 'NULL', $$omni.link(NULL, 'x', 'cookie', 'y')$$),
('link', 'empty', $$omni.link('cookie', '', 'cookie', 'y')$$),
('link', 'huge', $$omni.link('cookie', repeat('c', 1048576), 'cookie', 'y')$$),
('link', 'malformed', $$omni.link('email', 'anna@@shop', 'cookie', 'y')$$),
('link', 'out of range: unknown kind', $$omni.link('fax', 'x', 'cookie', 'y')$$),
('link', 'NULL observed_at', $$omni.link('cookie', 'ck-bad-1', 'cookie', 'ck-bad-2', 'x', NULL) > 0$$),
('link', 'out of range: observed_at infinity', $$omni.link('cookie', 'ck-bad-3', 'cookie', 'ck-bad-4', 'x', 'infinity') > 0$$),
('link', 'one identifier twice', $$omni.link('email', 'Bad.Input@Shop.test', 'email', 'bad.input@shop.test')$$),
('touch', 'NULL', $$omni.touch('email', 'bad.input@shop.test', NULL, 'view')$$),
('touch', 'NULL ts', $$omni.touch('email', 'bad.input@shop.test', 'web', 'view', NULL)$$),
('touch', 'NULL properties', $$omni.touch('email', 'bad.input@shop.test', 'web', 'view', properties => NULL) > 0$$),
('touch', 'empty event', $$omni.touch('email', 'bad.input@shop.test', 'web', '')$$),
('touch', 'empty value', $$omni.touch('email', '', 'web', 'view')$$),
('touch', 'huge value', $$omni.touch('cookie', repeat('c', 1048576), 'web', 'view')$$),
('touch', 'huge campaign', $$omni.touch('email', 'bad.input@shop.test', 'web', 'view', campaign => repeat('c', 1048576)) > 0$$),
('touch', 'huge properties', $$omni.touch('email', 'bad.input@shop.test', 'web', 'view', properties => jsonb_build_object('p', repeat('p', 1048576))) > 0$$),
('touch', 'malformed', $$omni.touch('email', 'anna@@shop', 'web', 'view')$$),
('touch', 'out of range: unknown channel', $$omni.touch('email', 'bad.input@shop.test', 'fax', 'view')$$),
('touch', 'out of range: huge channel', $$omni.touch('email', 'bad.input@shop.test', repeat('f', 1048576), 'view')$$),
('touch', 'out of range: ts infinity', $$omni.touch('email', 'bad.input@shop.test', 'web', 'view', 'infinity') > 0$$),
('unmerge', 'NULL', $$omni.unmerge(NULL)$$),
('unmerge', 'out of range: 0', $$omni.unmerge(0)$$),
('unmerge', 'out of range: -1', $$omni.unmerge(-1)$$),
('forget', 'NULL', $$omni.forget(NULL)$$),
('forget', 'out of range: 0', $$omni.forget(0)$$),
('forget', 'out of range: max bigint', $$omni.forget(9223372036854775807)$$),
-- resolve_all's input is omni.link_staging: what it does with bad rows
('link_staging', 'NULL', $$INSERT INTO omni.link_staging (kind_a, value_a) VALUES ('cookie', NULL)$$),
('link_staging', 'out of range: region', $$INSERT INTO omni.link_staging (kind_a, value_a, region) VALUES ('phone', '4155550123', 'usa')$$),
('resolve_all', 'staged: empty, huge, malformed, unknown kind, unknown region', $$WITH s AS (INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, region) VALUES
      ('cookie', '', NULL, NULL, NULL), ('cookie', repeat('c', 1048576), NULL, NULL, NULL),
      ('email', 'anna@@shop', NULL, NULL, NULL), ('fax', 'x', NULL, NULL, NULL), ('phone', '4155550123', NULL, NULL, 'XX') RETURNING 1)
  SELECT count(*) || ' rows staged' FROM s$$),
('resolve_all', '(the run)', $$(SELECT 'invalid_rows ' || invalid_rows FROM omni.resolve_all())$$),
('resolve_all', 'staged empty value: error kept', $$(SELECT error FROM omni.link_staging WHERE kind_a = 'cookie' AND value_a = '')$$),
('resolve_all', 'staged huge value: error kept', $$(SELECT error FROM omni.link_staging WHERE kind_a = 'cookie' AND length(value_a) = 1048576)$$),
('resolve_all', 'staged malformed value: error kept', $$(SELECT error FROM omni.link_staging WHERE value_a = 'anna@@shop')$$),
('resolve_all', 'staged unknown kind: error kept', $$(SELECT error FROM omni.link_staging WHERE kind_a = 'fax')$$),
('resolve_all', 'staged unknown region: error kept', $$(SELECT error FROM omni.link_staging WHERE region = 'XX')$$),
-- Journeys: the type
('journey_in', 'NULL', $$NULL::omni.journey$$),
('journey_in', 'empty', $$''::omni.journey$$),
('journey_in', 'empty array', $$'[]'::omni.journey$$),
('journey_in', 'huge', $$omni.length((SELECT big FROM j)::text::omni.journey)$$),
('journey_in', 'malformed', $$'garbage'::omni.journey$$),
('journey_in', 'malformed: no channel', $$'[{"ts": "2026-01-01T00:00:00Z"}]'::omni.journey$$),
('journey_in', 'out of range: ts infinity', $$'[{"ts": "infinity", "channel": "web"}]'::omni.journey$$),
('journey_in', 'out of range: ts', $$'[{"ts": "2026-13-01", "channel": "web"}]'::omni.journey$$),
-- the aggregate and its support
('journey (aggregate)', 'NULL ts or channel', $$(SELECT omni.journey(ts, ch) FROM (VALUES (NULL::timestamptz, 'web'), ('2026-01-01', NULL)) v(ts, ch))$$),
('journey (aggregate)', 'empty channel', $$(SELECT omni.journey(now(), ''))$$),
('journey (aggregate)', 'huge channel', $$omni.length((SELECT omni.journey(now(), repeat('w', 1048576))))$$),
('journey (aggregate)', 'out of range: ts infinity', $$(SELECT omni.journey('infinity'::timestamptz, 'web'))$$),
('journey_combine', 'NULL', $$omni.journey_combine(NULL, NULL)$$),
('journey_combine', 'empty', $$omni.journey_combine('[]', '[]')$$),
('journey_combine', 'huge', $$omni.length(omni.journey_combine((SELECT big FROM j), (SELECT big FROM j)))$$),
('journey_agg_transfn', 'direct call', $$omni.journey_agg_transfn(NULL, now(), 'web')$$),
('journey_agg_final', 'NULL', $$omni.journey_agg_final(NULL)$$),
('funnel (aggregate)', 'NULL ts', $$(SELECT omni.funnel(NULL::timestamptz, 'web', 'page_view', '1 day', '{page_view}'))$$),
('funnel (aggregate)', 'NULL steps', $$(SELECT omni.funnel(now(), 'web', 'page_view', '1 day', NULL))$$),
('funnel (aggregate)', 'empty channel', $$(SELECT omni.funnel(now(), '', 'page_view', '1 day', '{page_view}'))$$),
('funnel (aggregate)', 'huge channel', $$(SELECT omni.funnel(now(), repeat('w', 1048576), 'page_view', '1 day', '{page_view}'))$$),
('funnel (aggregate)', 'malformed step', $$(SELECT omni.funnel(now(), 'web', 'page_view', '1 day', '{web:}'))$$),
('funnel (aggregate)', 'malformed mode', $$(SELECT omni.funnel(now(), 'web', 'page_view', '1 day', '{page_view}', '{bogus}'))$$),
('funnel (aggregate)', 'out of range: negative window', $$(SELECT omni.funnel(now(), 'web', 'page_view', '-1 day', '{page_view}'))$$),
('funnel (aggregate)', 'out of range: ts infinity', $$(SELECT omni.funnel('infinity'::timestamptz, 'web', 'page_view', '1 day', '{page_view}'))$$),
('event_funnel', 'NULL event', $$(SELECT omni.event_funnel(now(), NULL, '1 day', '{page_view}'))$$),
('event_funnel', 'NULL steps', $$(SELECT omni.event_funnel(now(), 'page_view', '1 day', NULL))$$),
('event_funnel', 'empty event', $$(SELECT omni.event_funnel(now(), '', '1 day', '{page_view}'))$$),
('event_funnel', 'huge event', $$(SELECT omni.event_funnel(now(), repeat('e', 1048576), '1 day', '{page_view}'))$$),
('event_funnel', 'step naming a channel', $$(SELECT omni.event_funnel(now(), 'page_view', '1 day', '{web:page_view}'))$$),
('event_funnel', 'malformed step', $$(SELECT omni.event_funnel(now(), 'page_view', '1 day', '{:page_view}'))$$),
('event_funnel', 'malformed mode', $$(SELECT omni.event_funnel(now(), 'page_view', '1 day', '{page_view}', '{bogus}'))$$),
('event_funnel', 'out of range: negative window', $$(SELECT omni.event_funnel(now(), 'page_view', '-1 day', '{page_view}'))$$),
('event_funnel', 'out of range: ts infinity', $$(SELECT omni.event_funnel('infinity'::timestamptz, 'page_view', '1 day', '{page_view}'))$$),
('funnel_agg_events_transfn', 'direct call', $$omni.funnel_agg_events_transfn(NULL, now(), 'page_view', '1 day', '{page_view}')$$),
('funnel_agg_transfn', 'direct call', $$omni.funnel_agg_transfn(NULL, now(), 'web', 'page_view', '1 day', '{page_view}')$$),
('funnel_agg_transfn', 'direct call with modes', $$omni.funnel_agg_transfn(NULL, now(), 'web', 'page_view', '1 day', '{page_view}', '{}')$$),
('funnel_agg_final', 'NULL', $$omni.funnel_agg_final(NULL)$$),
('funnel_agg_combine', 'NULL', $$omni.funnel_agg_combine(NULL, NULL)$$),
('funnel_agg_serialize', 'NULL', $$omni.funnel_agg_serialize(NULL)$$),
('funnel_agg_deserialize', 'NULL', $$omni.funnel_agg_deserialize(NULL, NULL)$$),
-- reading a journey
('path', 'NULL', $$omni.path(NULL)$$),
('path', 'empty', $$omni.path('[]')$$),
('path', 'huge', $$omni.path((SELECT big FROM j), false)$$),
('steps', 'NULL', $$(SELECT count(*) FROM omni.steps(NULL))$$),
('steps', 'empty', $$(SELECT count(*) FROM omni.steps('[]'))$$),
('steps', 'huge', $$(SELECT count(*) FROM omni.steps((SELECT big FROM j)))$$),
('transitions', 'NULL', $$(SELECT count(*) FROM omni.transitions(NULL))$$),
('transitions', 'empty', $$(SELECT count(*) FROM omni.transitions('[]'))$$),
('transitions', 'huge', $$(SELECT sum(n) FROM omni.transitions((SELECT big FROM j)))$$),
('length', 'NULL', $$omni.length(NULL)$$),
('length', 'empty', $$omni.length('[]')$$),
('channels', 'NULL', $$omni.channels(NULL)$$),
('channels', 'empty', $$omni.channels('[]')$$),
('channels', 'huge', $$omni.channels((SELECT big FROM j))$$),
('first_touch', 'NULL', $$omni.first_touch(NULL)$$),
('first_touch', 'empty', $$omni.first_touch('[]')$$),
('last_touch', 'NULL', $$omni.last_touch(NULL)$$),
('last_touch', 'empty', $$omni.last_touch('[]')$$),
('duration', 'NULL', $$omni.duration(NULL)$$),
('duration', 'empty', $$omni.duration('[]')$$),
('duration', 'huge', $$omni.duration((SELECT big FROM j))$$),
('sessions', 'NULL', $$omni.sessions((SELECT small FROM j), NULL)$$),
('sessions', 'empty', $$omni.sessions('[]')$$),
('sessions', 'huge', $$omni.sessions((SELECT big FROM j))$$),
('sessions', 'out of range: negative gap', $$omni.sessions((SELECT small FROM j), '-1 hour')$$),
('sessionize', 'NULL', $$(SELECT count(*) FROM omni.sessionize(NULL))$$),
('sessionize', 'empty', $$(SELECT count(*) FROM omni.sessionize('[]'))$$),
('sessionize', 'huge', $$(SELECT count(*) FROM omni.sessionize((SELECT big FROM j), '0'))$$),
('sessionize', 'out of range: negative gap', $$(SELECT count(*) FROM omni.sessionize((SELECT small FROM j), '-1 hour'))$$),
('funnel', 'NULL', $$omni.funnel((SELECT small FROM j), '1 hour', NULL)$$),
('funnel', 'NULL step', $$omni.funnel((SELECT small FROM j), '1 hour', '{web,NULL}')$$),
('funnel', 'empty steps', $$omni.funnel((SELECT small FROM j), '1 hour', '{}')$$),
('funnel', 'empty step', $$omni.funnel((SELECT small FROM j), '1 hour', '{web,""}')$$),
('funnel', 'empty journey', $$omni.funnel('[]', '1 hour', '{web,email}')$$),
('funnel', 'huge journey', $$omni.funnel((SELECT big FROM j), '1 day', '{web:*,email:*,app:*,store:*}')$$),
('funnel', 'huge steps', $$omni.funnel((SELECT small FROM j), '1 hour', array_fill('web'::text, ARRAY[262144]))$$),
('funnel', 'malformed step', $$omni.funnel((SELECT small FROM j), '1 hour', '{web:}')$$),
('funnel', 'huge malformed step', $$omni.funnel((SELECT small FROM j), '1 hour', ARRAY[repeat('w', 1048576) || ':'])$$),
('funnel', 'huge mode', $$omni.funnel((SELECT small FROM j), '1 hour', '{web:*}', ARRAY[repeat('m', 1048576)])$$),
('funnel', 'malformed mode', $$omni.funnel((SELECT small FROM j), '1 hour', '{web,email}', '{bogus}')$$),
('funnel', 'out of range: negative window', $$omni.funnel((SELECT small FROM j), '-1 hour', '{web,email}')$$),
('sequence_match', 'NULL', $$omni.sequence_match((SELECT small FROM j), NULL, '{web}')$$),
('sequence_match', 'NULL condition', $$omni.sequence_match((SELECT small FROM j), '(?1)', '{NULL}')$$),
('sequence_match', 'empty pattern', $$omni.sequence_match((SELECT small FROM j), '', '{web}')$$),
('sequence_match', 'empty conditions', $$omni.sequence_match((SELECT small FROM j), '(?1)', '{}')$$),
('sequence_match', 'empty journey', $$omni.sequence_match('[]', '(?1)', '{web}')$$),
('sequence_match', 'huge pattern', $$omni.sequence_match((SELECT small FROM j), repeat('(?1)', 262144), '{web}')$$),
('sequence_match', 'huge journey', $$omni.sequence_match((SELECT big FROM j), '(?1).*(?2)(?t<=60)(?3)', '{web:purchase,email:*,app:*}')$$),
('sequence_match', 'malformed pattern', $$omni.sequence_match((SELECT small FROM j), '(?1', '{web}')$$),
('sequence_match', 'out of range: (?9) of 1', $$omni.sequence_match((SELECT small FROM j), '(?9)', '{web}')$$),
('sequence_match', 'out of range: (?t<=-1)', $$omni.sequence_match((SELECT small FROM j), '(?1)(?t<=-1)(?1)', '{web}')$$),
('sequence_count', 'NULL', $$omni.sequence_count(NULL, '(?1)', '{web}')$$),
('sequence_count', 'empty pattern', $$omni.sequence_count((SELECT small FROM j), '', '{web}')$$),
('sequence_count', 'huge journey', $$omni.sequence_count((SELECT big FROM j), '(?1).*(?2)', '{store:*,web:purchase}')$$),
('sequence_count', 'malformed pattern', $$omni.sequence_count((SELECT small FROM j), '(?1)(', '{web}')$$),
('sequence_count', 'out of range: (?0)', $$omni.sequence_count((SELECT small FROM j), '(?0)', '{web}')$$),
('attribution', 'NULL', $$(SELECT count(*) FROM omni.attribution((SELECT small FROM j), NULL))$$),
('attribution', 'empty conversion', $$(SELECT count(*) FROM omni.attribution((SELECT small FROM j), ''))$$),
('attribution', 'empty journey', $$(SELECT count(*) FROM omni.attribution('[]', 'purchase'))$$),
('attribution', 'huge journey', $$(SELECT round(sum(credit)) FROM omni.attribution((SELECT big FROM j), 'purchase', 'time_decay'))$$),
('attribution', 'huge model', $$(SELECT count(*) FROM omni.attribution((SELECT small FROM j), 'purchase', repeat('m', 1048576)))$$),
('attribution', 'malformed model', $$(SELECT count(*) FROM omni.attribution((SELECT small FROM j), 'purchase', 'bogus'))$$),
('attribution', 'out of range: half_life 0', $$(SELECT count(*) FROM omni.attribution((SELECT small FROM j), 'purchase', 'time_decay', '0'))$$),
('markov_attribution', 'NULL', $$(SELECT omni.markov_attribution(NULL, 'purchase'))$$),
('markov_attribution', 'empty conversion', $$(SELECT omni.markov_attribution(small, '') FROM j)$$),
('markov_attribution', 'empty journey', $$(SELECT omni.markov_attribution('[]', 'purchase'))$$),
('markov_attribution', 'huge journey', $$(SELECT cardinality(omni.markov_attribution(big, 'purchase')) FROM j)$$),
('markov_attribution', 'malformed conversion', $$(SELECT omni.markov_attribution(small, 'web:') FROM j)$$),
('markov_attribution_transfn', 'direct call', $$omni.markov_attribution_transfn(NULL, NULL, 'purchase')$$),
('markov_attribution_combine', 'NULL', $$omni.markov_attribution_combine(NULL, NULL)$$),
('markov_attribution_combine', 'malformed', $$omni.markov_attribution_combine('\x00', '\x01')$$),
('markov_attribution_final', 'malformed', $$omni.markov_attribution_final('\xdeadbeef')$$),
('omni.conversion (setting)', 'empty', $$SET omni.conversion = ''$$),
('omni.conversion (setting)', 'huge', $$SELECT set_config('omni.conversion', repeat('p', 1048576), true) IS NOT NULL$$),
('omni.conversion (setting)', 'malformed', $$SET omni.conversion = 'web:'$$),
('conversion', '(no arguments)', $$omni.conversion()$$),
-- Timeline
('timeline', 'NULL customer', $$(SELECT count(*) FROM omni.timeline(NULL))$$),
('timeline', 'NULL n', $$(SELECT count(*) FROM omni.timeline(omni.customer_of('cookie', 'ck-bad-input'), NULL))$$),
('timeline', 'NULL before', $$(SELECT count(*) FROM omni.timeline(omni.customer_of('cookie', 'ck-bad-input'), 10, NULL))$$),
('timeline', 'out of range: n 0', $$(SELECT count(*) FROM omni.timeline(omni.customer_of('cookie', 'ck-bad-input'), 0))$$),
('timeline', 'out of range: n -1', $$(SELECT count(*) FROM omni.timeline(omni.customer_of('cookie', 'ck-bad-input'), -1))$$),
('timeline', 'out of range: unknown customer', $$(SELECT count(*) FROM omni.timeline(-1))$$),
('timeline_check', 'NULL', $$(SELECT keys FROM omni.timeline_check(NULL))$$),
('timeline_check', 'malformed: not a timeline index', $$(SELECT count(*) FROM omni.timeline_check('omni.identity_pkey'))$$),
('timeline_check', 'malformed: a table', $$(SELECT count(*) FROM omni.timeline_check('omni.identity'))$$),
('timeline_check', 'out of range: OID 0', $$(SELECT count(*) FROM omni.timeline_check(0))$$),
-- Suppression
('would_suppress', 'NULL recipient', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('email', NULL, 'email'))$$),
('would_suppress', 'NULL channel', $$(SELECT status FROM omni.would_suppress('email', 'bad.input@shop.test', NULL))$$),
('would_suppress', 'empty recipient', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('email', '', 'email'))$$),
('would_suppress', 'empty category', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('email', 'bad.input@shop.test', 'email', ''))$$),
('would_suppress', 'huge recipient', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('cookie', repeat('c', 1048576), 'web'))$$),
('would_suppress', 'huge campaign', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('email', 'bad.input@shop.test', 'email', campaign => repeat('c', 1048576)))$$),
('would_suppress', 'huge channel', $$(SELECT status FROM omni.would_suppress('email', 'bad.input@shop.test', repeat('c', 1048576)))$$),
('would_suppress', 'malformed recipient', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('email', 'anna@@shop', 'email'))$$),
('would_suppress', 'out of range: unknown channel', $$(SELECT status FROM omni.would_suppress('email', 'bad.input@shop.test', 'fax'))$$),
('would_suppress', 'out of range: unknown kind', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('fax', 'x', 'email'))$$),
('would_suppress', 'out of range: send_at infinity', $$(SELECT status || ' ' || reasons::text FROM omni.would_suppress('email', 'bad.input@shop.test', 'email', send_at => 'infinity'))$$),
('suppress (INSERT INTO omni.message)', 'NULL recipient', $$INSERT INTO omni.message (recipient_kind, recipient, channel) VALUES ('email', NULL, 'email') RETURNING status$$),
('suppress (INSERT INTO omni.message)', 'empty recipient', $$INSERT INTO omni.message (recipient_kind, recipient, channel) VALUES ('email', '', 'email') RETURNING status || ' ' || reasons::text$$),
('suppress (INSERT INTO omni.message)', 'huge recipient', $$INSERT INTO omni.message (recipient_kind, recipient, channel) VALUES ('cookie', repeat('c', 1048576), 'web') RETURNING status || ' ' || reasons::text$$),
('suppress (INSERT INTO omni.message)', 'malformed recipient', $$INSERT INTO omni.message (recipient_kind, recipient, channel) VALUES ('email', 'anna@@shop', 'email') RETURNING status || ' ' || reasons::text$$),
('suppress (INSERT INTO omni.message)', 'out of range: unknown channel', $$INSERT INTO omni.message (recipient_kind, recipient, channel) VALUES ('email', 'bad.input@shop.test', 'fax') RETURNING status$$),
('suppress (INSERT INTO omni.message)', 'out of range: created_at infinity', $$INSERT INTO omni.message (recipient_kind, recipient, channel, created_at) VALUES ('email', 'bad.input@shop.test', 'email', 'infinity') RETURNING status || ' ' || reasons::text$$),
('omni.default_time_zone (setting)', 'empty', $$SET omni.default_time_zone = ''$$),
('omni.default_time_zone (setting)', 'huge', $$SELECT set_config('omni.default_time_zone', repeat('z', 1048576), true) IS NOT NULL$$),
('omni.default_time_zone (setting)', 'malformed', $$SET omni.default_time_zone = 'Mars/Base'$$),
-- Trigger functions, the index handler and the other type support
-- functions are not called with arguments of one's own
('suppress', 'direct call', $$omni.suppress()$$),
('rules_changed', 'direct call', $$omni.rules_changed()$$),
('seed_override', 'direct call', $$omni.seed_override()$$),
('suppress_trigger_check', 'direct call', $$omni.suppress_trigger_check()$$),
('timeline_handler', 'direct call', $$omni.timeline_handler(NULL)$$),
('journey_send', 'NULL', $$omni.journey_send(NULL)$$),
('icu_version', '(no arguments)', $$omni.icu_version() ~ '^[0-9]+\.[0-9]+$'$$);

-- One statement per case (each under the statement_timeout), not echoed.
\pset format unaligned
\pset tuples_only on
\set ECHO none
SELECT format('SELECT %L || '' | '' || %L || '' | '' || pg_temp.outcome(%L)', fn, input, call)
  FROM bad ORDER BY ord \gexec
\set ECHO all
\pset format aligned
\pset tuples_only off

-- Every function of the extension has a row above, or is one of those only
-- the server calls (the other trigger functions, type I/O).
SELECT p.proname AS function_without_a_case
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'omnichannel'
 WHERE NOT EXISTS (SELECT 1 FROM bad b WHERE split_part(b.fn, ' ', 1) = p.proname)
   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
   AND p.proname NOT IN ('journey_out', 'journey_recv')
 GROUP BY p.proname ORDER BY 1;
ROLLBACK;
-- the sequences the calls advanced are set back
SELECT bool_and(setval(seq, COALESCE(last_value, 1), last_value IS NOT NULL) IS NOT NULL) AS sequences_restored
  FROM seq_before;
