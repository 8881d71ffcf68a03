-- The omni.journey type and aggregate, and reading journeys back.
SET TimeZone = 'UTC';

-- Text form: a JSON array of steps; input in any order and any timestamptz
-- spelling, output sorted, in UTC ISO 8601, with "event" only when present.
SELECT '[]'::omni.journey;
SELECT '[{"ts": "2026-03-01 10:00:00+01", "channel": "web", "event": "page_view"},
         {"ts": "2026-03-01T08:30:00.250Z", "channel": "email", "event": null},
         {"channel": "store", "event": "purchase", "ts": "2026-03-01 12:00:00.000001+00"}]'::omni.journey;
-- strings are JSON-escaped and round-trip
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "social", "event": "said \"hi\" \\ \u00e9"}]'::omni.journey;
SELECT j::text::omni.journey::text = j::text AS text_round_trip
  FROM (SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": "a:b"},
                 {"ts": "1999-12-31T23:59:59.999999Z", "channel": "web"}]'::omni.journey AS j) s;
-- a client that knows nothing of the type reads it as JSON
SELECT s->>'channel' AS channel, s->>'event' AS event
  FROM jsonb_array_elements('[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": "page_view"},
                              {"ts": "2026-03-01T09:05:00Z", "channel": "email"}]'::omni.journey::jsonb) s;
-- years outside 1..9999 use PostgreSQL's ISO style, which input reads back
SELECT '[{"ts": "0044-03-15 12:00:00+00 BC", "channel": "forum"}]'::omni.journey;
SET TimeZone = 'America/New_York';
SELECT '[{"ts": "0044-03-15 12:00:00+00 BC", "channel": "forum"}]'::omni.journey::text::omni.journey;
SET TimeZone = 'UTC';

-- Bad text input: each with a clear error.
SELECT 'not json'::omni.journey;
SELECT '{"ts": "2026-03-01T09:00:00Z", "channel": "web"}'::omni.journey;
SELECT '[1]'::omni.journey;
SELECT '[[]]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z"}]'::omni.journey;
SELECT '[{"channel": "web"}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "page": "/"}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "channel": "app"}]'::omni.journey;
SELECT '[{"ts": 1772355600, "channel": "web"}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": 7}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": ["a"]}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": {"name": "web"}}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "web"}] x'::omni.journey;
SELECT '[{"ts": "yesterday-ish", "channel": "web"}]'::omni.journey;
SELECT '[{"ts": "infinity", "channel": "web"}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": ""}]'::omni.journey;
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": ""}]'::omni.journey;

-- Binary form: send/receive round trip (COPY BINARY), and bad messages refused.
CREATE TEMP TABLE bin_src AS
SELECT '[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": "page_view"},
         {"ts": "2026-03-01T09:01:00Z", "channel": "web"},
         {"ts": "2026-03-01T09:02:00Z", "channel": "email", "event": "email_open"}]'::omni.journey AS j;
\copy bin_src TO '/tmp/omni_journey_bin.copy' WITH (FORMAT binary)
CREATE TEMP TABLE bin_dst (j omni.journey);
\copy bin_dst FROM '/tmp/omni_journey_bin.copy' WITH (FORMAT binary)
SELECT d.j::text = s.j::text AS binary_round_trip, omni.journey_send(d.j) = omni.journey_send(s.j) AS same_bytes
  FROM bin_src s, bin_dst d;
SELECT encode(omni.journey_send(j), 'hex') FROM bin_src;
-- raw messages: a step naming a missing pair, an unknown version, a short message
CREATE TEMP TABLE bin_bad (b bytea);
CREATE TEMP TABLE bin_raw (j omni.journey);
INSERT INTO bin_bad VALUES (decode('01' || '00000001' || '00000003' || '776562' || '00000000'
                                   || '00000001' || '00000000' || 'ffffffff'
                                   || '00000001' || '0000000000000000' || '00000005', 'hex'));
\copy bin_bad TO '/tmp/omni_journey_bad.copy' WITH (FORMAT binary)
\copy bin_raw FROM '/tmp/omni_journey_bad.copy' WITH (FORMAT binary)
TRUNCATE bin_bad;
INSERT INTO bin_bad VALUES (decode('02' || '00000000' || '00000000' || '00000000' || '00000000', 'hex'));
\copy bin_bad TO '/tmp/omni_journey_bad.copy' WITH (FORMAT binary)
\copy bin_raw FROM '/tmp/omni_journey_bad.copy' WITH (FORMAT binary)
TRUNCATE bin_bad;
INSERT INTO bin_bad VALUES (decode('01' || '7fffffff', 'hex'));
\copy bin_bad TO '/tmp/omni_journey_bad.copy' WITH (FORMAT binary)
\copy bin_raw FROM '/tmp/omni_journey_bad.copy' WITH (FORMAT binary)
SELECT count(*) AS bad_rows_loaded FROM bin_raw;

-- The aggregate: rows in any order, one journey; ties broken by channel, then event.
CREATE TEMP TABLE tp (customer int, ts timestamptz, channel text, event text);
INSERT INTO tp VALUES
    (1, '2026-03-01 09:00+00', 'web', 'page_view'),
    (1, '2026-03-01 09:05+00', 'web', 'product_view'),
    (1, '2026-03-01 09:05+00', 'app', 'app_open'),        -- tie: app before web
    (1, '2026-03-02 18:00+00', 'email', 'email_open'),
    (1, '2026-03-02 18:01+00', 'email', 'email_click'),
    (1, '2026-03-02 18:03+00', 'web', 'page_view'),
    (1, '2026-03-05 11:00+00', 'store', 'purchase'),
    (1, '2026-03-05 11:00+00', 'store', 'purchase'),      -- duplicates are kept
    (2, '2026-03-03 10:00+00', 'sms', 'sms_click'),
    (2, '2026-03-03 10:02+00', 'web', NULL),              -- a step without event
    (2, NULL, 'web', 'page_view'),                        -- skipped: no time
    (2, '2026-03-03 10:04+00', NULL, 'page_view'),        -- skipped: no channel
    (3, NULL, 'web', 'page_view');                        -- only skipped rows: NULL journey
SELECT customer, omni.journey(ts, channel, event) FROM tp GROUP BY customer ORDER BY customer;
SELECT customer, omni.journey(ts, channel) FROM tp GROUP BY customer ORDER BY customer;
SELECT omni.journey(ts, channel, event) IS NULL AS no_rows_no_journey FROM tp WHERE false;
-- the same set of rows in every order gives the same bytes
SELECT count(DISTINCT omni.journey_send(j)) AS distinct_journeys
  FROM (SELECT (SELECT omni.journey(ts, channel, event)
                  FROM (SELECT * FROM tp WHERE customer = 1 ORDER BY md5(seed::text || channel || coalesce(event, '') || ts::text)) o) AS j
          FROM generate_series(1, 20) seed) s;
-- grouping sets: one state per set, each set's journeys as if computed alone
SELECT customer, omni.length(omni.journey(ts, channel, event)) AS steps, omni.path(omni.journey(ts, channel, event)) AS path
  FROM tp GROUP BY GROUPING SETS ((customer), ()) ORDER BY customer NULLS LAST;
SELECT customer, channel, omni.length(omni.journey(ts, channel, event)) AS steps
  FROM tp WHERE customer = 1 GROUP BY ROLLUP (customer, channel) ORDER BY customer NULLS LAST, channel NULLS LAST;
-- an aggregate ORDER BY is not needed and does not change the result
SELECT (SELECT omni.journey(ts, channel, event ORDER BY ts DESC) FROM tp WHERE customer = 1)::text
     = (SELECT omni.journey(ts, channel, event) FROM tp WHERE customer = 1)::text AS order_by_irrelevant;
-- as a window aggregate: the journey so far
SELECT ts, omni.length(omni.journey(ts, channel, event) OVER (ORDER BY ts, channel ROWS UNBOUNDED PRECEDING)) AS steps_so_far,
       omni.path(omni.journey(ts, channel, event) OVER (ORDER BY ts, channel ROWS UNBOUNDED PRECEDING)) AS path_so_far
  FROM tp WHERE customer = 1 ORDER BY ts, channel;
-- a moving frame restarts the aggregate for every row
SELECT ts, omni.path(omni.journey(ts, channel, event) OVER (ORDER BY ts, channel ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), false) AS last_three
  FROM tp WHERE customer = 1 ORDER BY ts, channel;
-- bad rows are errors, not silently dropped
SELECT omni.journey(ts, channel, event) FROM (VALUES ('infinity'::timestamptz, 'web', 'x')) v(ts, channel, event);
SELECT omni.journey(ts, channel, event) FROM (VALUES (now(), '', 'x')) v(ts, channel, event);
SELECT omni.journey(ts, channel, event) FROM (VALUES (now(), 'web', '')) v(ts, channel, event);
-- the support functions are not for direct calls, except combine (merge two journeys)
SELECT omni.journey_agg_transfn(NULL, now(), 'web', 'x');
SELECT omni.journey_combine('[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": "b"}]',
                            '[{"ts": "2026-03-01T08:00:00Z", "channel": "app", "event": "a"},
                              {"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": "b"}]');
SELECT omni.journey_combine(NULL, '[{"ts": "2026-03-01T09:00:00Z", "channel": "web"}]'),
       omni.journey_combine('[{"ts": "2026-03-01T09:00:00Z", "channel": "web"}]', NULL),
       omni.journey_combine(NULL, NULL);

-- Reading a journey back.
CREATE TEMP TABLE j AS
SELECT customer, omni.journey(ts, channel, event) AS j FROM tp GROUP BY customer;
SELECT customer, omni.path(j), omni.path(j, false), omni.length(j), omni.channels(j),
       omni.first_touch(j), omni.last_touch(j), omni.duration(j)
  FROM j ORDER BY customer;
SELECT * FROM omni.steps((SELECT j FROM j WHERE customer = 1));
SELECT * FROM omni.steps((SELECT j FROM j WHERE customer = 2));
SELECT * FROM omni.transitions((SELECT j FROM j WHERE customer = 1));
SELECT * FROM omni.transitions('[{"ts": "2026-03-01T09:00:00Z", "channel": "web"}]');
-- many channels: memory follows the steps, not channels squared
SELECT count(*) AS moves, sum(n) AS total
  FROM omni.transitions((SELECT omni.journey('2026-01-01'::timestamptz + g * interval '1 second', 'c' || g % 50000)
                           FROM generate_series(1, 100000) g));
-- an empty journey
SELECT omni.path('[]'), omni.length('[]'), omni.channels('[]'), omni.first_touch('[]'),
       omni.last_touch('[]'), omni.duration('[]'), omni.sessions('[]');
SELECT count(*) FROM omni.steps('[]');

-- Sessions: a new one after more than the gap without a step.
SELECT omni.sessions(j) AS sessions_30min, omni.sessions(j, '1 day') AS sessions_1day,
       omni.sessions(j, '0') AS sessions_no_gap, omni.sessions(j, '2 minutes') AS sessions_2min
  FROM j WHERE customer = 1;
SELECT * FROM omni.sessionize((SELECT j FROM j WHERE customer = 1));
SELECT * FROM omni.sessionize((SELECT j FROM j WHERE customer = 1), '1 day');
-- exactly the gap apart: the same session
SELECT omni.sessions('[{"ts": "2026-03-01T09:00:00Z", "channel": "web"}, {"ts": "2026-03-01T09:30:00Z", "channel": "web"}]') AS at_gap,
       omni.sessions('[{"ts": "2026-03-01T09:00:00Z", "channel": "web"}, {"ts": "2026-03-01T09:30:00.000001Z", "channel": "web"}]') AS past_gap;
SELECT omni.sessions(j, '-1 minute') FROM j WHERE customer = 1;
SELECT * FROM omni.sessionize((SELECT j FROM j WHERE customer = 1), '-1 day');

-- Many steps: 100k steps in one journey work; memory follows the data.
SELECT omni.length(j) AS steps, omni.sessions(j) AS sessions, length(omni.path(j)) AS path_length,
       pg_column_size(j) AS stored_bytes, octet_length(j::text) AS text_bytes
  FROM (SELECT omni.journey('2026-01-01'::timestamptz + g * interval '1 minute',
                            CASE WHEN g % 1000 < 500 THEN 'web' ELSE 'app' END,
                            'e' || (g % 7)) AS j
          FROM generate_series(1, 100000) g) s;
SELECT omni.length(j::text::omni.journey) = 100000 AS big_text_round_trip
  FROM (SELECT omni.journey('2026-01-01'::timestamptz + g * interval '1 second', 'web', 'e' || g % 300) AS j
          FROM generate_series(1, 100000) g) s;
-- more than 255 and 65535 distinct (channel, event) pairs use wider step codes
SELECT omni.length(j) AS steps, (SELECT count(DISTINCT event) FROM omni.steps(j)) AS events,
       j::text::omni.journey::text = j::text AS round_trip
  FROM (SELECT omni.journey('2026-01-01'::timestamptz + g * interval '1 second', 'web', 'e' || g) AS j
          FROM generate_series(1, 70000) g) s;

-- The step limit (10,000,000 per journey) is a clear error, not a crash.
SELECT omni.length(omni.journey('2026-01-01'::timestamptz + g * interval '1 second', 'web'))
  FROM generate_series(1, 10000001) g;

-- Stored in a table, compressed and toasted like any varlena.
CREATE TEMP TABLE stored (customer int, j omni.journey);
INSERT INTO stored
SELECT customer, omni.journey(ts, channel, event) FROM tp GROUP BY customer;
INSERT INTO stored
SELECT 100, omni.journey('2026-01-01'::timestamptz + g * interval '1 minute', 'web', 'e' || (g % 5))
  FROM generate_series(1, 20000) g;
SELECT customer, omni.length(j), pg_column_size(j) < 20000 * 9 AS compact FROM stored ORDER BY customer;

-- Rows arriving as a few runs, each in time order (as partial journeys of
-- parallel workers do), are merged (here one run per event, up to 16);
-- more runs are sorted: both give the
-- journey of the rows in time order, ties at one time included.
CREATE TEMP TABLE runs_src AS
SELECT '2026-03-01'::timestamptz + (g / 3) * interval '1 minute' AS ts,
       (ARRAY['web', 'app', 'email'])[1 + g % 3] AS channel, 'e' || (g % k.k) AS event, k.k
  FROM generate_series(1, 3000) g, (VALUES (2), (5), (16), (17), (40)) k(k);
SELECT k, (SELECT omni.journey(ts, channel, event) FROM (SELECT * FROM runs_src r WHERE r.k = o.k ORDER BY event, ts, channel) s)::text
        = (SELECT omni.journey(ts, channel, event) FROM (SELECT * FROM runs_src r WHERE r.k = o.k ORDER BY ts, channel DESC) s)::text
          AS merged_or_sorted_same,
       (SELECT omni.length(omni.journey(ts, channel, event)) FROM runs_src r WHERE r.k = o.k) AS steps
  FROM (SELECT DISTINCT k FROM runs_src) o ORDER BY k;
-- and the combine function's merge of two journeys with ties
SELECT omni.journey_combine(omni.journey(ts, channel, event) FILTER (WHERE channel = 'web'),
                            omni.journey(ts, channel, event) FILTER (WHERE channel <> 'web'))::text
       = omni.journey(ts, channel, event)::text AS combine_same
  FROM runs_src WHERE k = 5;
DROP TABLE runs_src;
-- Pairs are put in canonical order by ranking a query's pairs once; with
-- more distinct pairs than are ranked (4096) by their strings.  Either way,
-- steps at one time follow (channel, event) in bytewise order, and the
-- journeys are byte for byte what reading their text form gives.
CREATE TEMP TABLE many_pairs AS
SELECT g % 50 AS customer, '2026-03-01'::timestamptz + (g % 7) * interval '1 minute' AS ts,
       (ARRAY['web', 'app'])[1 + g % 2] AS channel,
       CASE WHEN g % 11 <> 0 THEN 'e' || (g * 7919 % n.n) END AS event, n.n
  FROM generate_series(1, 6000) g, (VALUES (40), (6000)) n(n);
CREATE FUNCTION pg_temp.in_order(j omni.journey) RETURNS boolean LANGUAGE sql IMMUTABLE
AS $$ SELECT NOT EXISTS (
        SELECT FROM (SELECT ts, channel, event, lag(ts) OVER w AS pts, lag(channel) OVER w AS pch,
                            lag(event) OVER w AS pev
                       FROM omni.steps(j) WINDOW w AS (ORDER BY step)) x
         WHERE (pts, pch COLLATE "C", pev COLLATE "C") > (ts, channel COLLATE "C", event COLLATE "C")) $$;
SELECT 40 AS pairs, count(*) AS customers, count(DISTINCT omni.length(j)) AS lengths,
       count(*) FILTER (WHERE pg_temp.in_order(j)) AS in_order,
       count(*) FILTER (WHERE omni.journey_send(j) = omni.journey_send(j::text::omni.journey)) AS canonical
  FROM (SELECT customer, omni.journey(ts, channel, event) AS j FROM many_pairs WHERE n = 40 GROUP BY customer) a
UNION ALL
SELECT 6000, count(*), count(DISTINCT omni.length(j)), count(*) FILTER (WHERE pg_temp.in_order(j)),
       count(*) FILTER (WHERE omni.journey_send(j) = omni.journey_send(j::text::omni.journey))
  FROM (SELECT customer, omni.journey(ts, channel, event) AS j FROM many_pairs WHERE n = 6000 GROUP BY customer) a;
DROP TABLE many_pairs;
DROP FUNCTION pg_temp.in_order(omni.journey);

DROP TABLE tp, j, stored, bin_src, bin_dst, bin_bad, bin_raw;
RESET TimeZone;
