-- omni.funnel: ClickHouse windowFunnel semantics and modes.
-- Cases come from ClickHouse's documentation and its test
-- tests/queries/0_stateless/00632_aggregation_window_funnel.sql; the
-- "clickhouse" column is ClickHouse's answer, "same" compares.
SET TimeZone = 'UTC';

-- Events as ClickHouse's tests write them: (user, seconds, event).
CREATE TEMP TABLE ev (uid int, t int, event text);
CREATE FUNCTION pg_temp.j(u int) RETURNS omni.journey LANGUAGE sql STABLE
AS $$ SELECT omni.journey(to_timestamp(t), 'web', event) FROM ev WHERE uid = u $$;

-- funnel_test: events 1000..1008 at seconds 0..8
INSERT INTO ev SELECT 1, g, (1000 + g)::text FROM generate_series(0, 8) g;
SELECT f.window_s, f.steps, omni.funnel(pg_temp.j(1), make_interval(secs => f.window_s), f.steps) AS level,
       f.clickhouse, omni.funnel(pg_temp.j(1), make_interval(secs => f.window_s), f.steps) = f.clickhouse AS same
  FROM (VALUES (10000, '{1000}'::text[], 1),
               (10000, '{1000,1001}', 2),
               (10000, '{1000,1001,1002}', 3),
               (10000, '{1000,1001,1002,1008}', 4),
               (1, '{1000}', 1),
               (2, '{1003,1004,1005,1006,1007}', 3),
               (3, '{1003,1004,1005,1006,1007}', 4),
               (4, '{1003,1004,1005,1006,1007}', 5),
               (10000, '{1001,1008}', 2),
               (10000, '{1008,1001}', 1)) f(window_s, steps, clickhouse);

-- funnel_test_strict: 1005 happens twice; strict_deduplication stops there
INSERT INTO ev VALUES (2, 0, '1000'), (2, 10, '1001'), (2, 20, '1002'), (2, 30, '1003'), (2, 40, '1004'),
                      (2, 50, '1005'), (2, 51, '1005'), (2, 60, '1006'), (2, 70, '1007'), (2, 80, '1008');
SELECT omni.funnel(pg_temp.j(2), '10000 s', '{1000,1001,1002,1003,1004,1005,1006}', '{strict_deduplication}') AS dedup,
       6 AS clickhouse_dedup,
       omni.funnel(pg_temp.j(2), '10000 s', '{1000,1001,1002,1003,1004,1005,1006}') AS plain,
       7 AS clickhouse_plain;

-- funnel_test_strict_order: users 11..17
INSERT INTO ev VALUES
    (11, 1, 'a'), (11, 2, 'b'), (11, 3, 'c'),
    (12, 1, 'a'), (12, 2, 'd'), (12, 3, 'b'), (12, 4, 'c'),
    (13, 1, 'a'), (13, 2, 'a'), (13, 3, 'b'), (13, 4, 'b'), (13, 5, 'c'), (13, 6, 'c'),
    (14, 1, 'a'), (14, 2, 'a'), (14, 3, 'a'), (14, 4, 'a'), (14, 5, 'b'), (14, 6, 'b'), (14, 7, 'c'), (14, 8, 'c'),
    (15, 1, 'a'), (15, 2, 'a'), (15, 3, 'b'), (15, 4, 'b'), (15, 5, 'd'), (15, 6, 'c'), (15, 7, 'c'),
    (16, 1, 'c'), (16, 2, 'c'), (16, 3, 'b'), (16, 4, 'b'), (16, 5, 'a'), (16, 6, 'a'),
    (17, 1, 'a'), (17, 2, 'c'), (17, 3, 'b');
SELECT u.uid,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c}') AS plain, u.ch_plain,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c}', '{strict_order}') AS strict_order, u.ch_order,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c}', '{strict_deduplication,strict_order}') AS dedup_order, u.ch_dedup_order
  FROM (VALUES (11, 3, 3, 3), (12, 3, 1, 1), (13, 3, 3, 2), (14, 3, 3, 2), (15, 3, 2, 2), (16, 1, 1, 1))
       u(uid, ch_plain, ch_order, ch_dedup_order)
 ORDER BY u.uid;
SELECT omni.funnel(pg_temp.j(17), '10 s', '{a,b,c}', '{strict_order}') AS user_7_strict_order, 1 AS clickhouse;

-- ClickHouse issue 27469: a repeated b after c ends at c with strict_deduplication
INSERT INTO ev VALUES (20, 1, 'a'), (20, 2, 'b'), (20, 3, 'c'), (20, 4, 'b'), (20, 5, 'd');
SELECT omni.funnel(pg_temp.j(20), '1 day', '{a,b,c,d}', '{strict_deduplication}') AS level, 3 AS clickhouse,
       omni.funnel(pg_temp.j(20), '1 day', '{a,b,c,d}') AS plain;

-- funnel_test_strict_increase: 1001, 1002, 1003 at one second
INSERT INTO ev VALUES (30, 0, '1000'), (30, 1, '1001'), (30, 1, '1002'), (30, 1, '1003'), (30, 2, '1004');
SELECT omni.funnel(pg_temp.j(30), '10000 s', '{1000,1001,1002,1003,1004}') AS plain, 5 AS clickhouse_plain,
       omni.funnel(pg_temp.j(30), '10000 s', '{1000,1001,1002,1003,1004}', '{strict_increase}') AS strict_increase,
       2 AS clickhouse_strict_increase;
-- one event matching several steps: it may fill all of them, unless strict_once or strict_increase
SELECT omni.funnel(pg_temp.j(30), '10000 s', '{1004,1004,1004}') AS plain, 3 AS clickhouse_plain,
       omni.funnel(pg_temp.j(30), '10000 s', '{1004,1004,1004}', '{strict_once}') AS strict_once, 1 AS clickhouse_strict_once,
       omni.funnel(pg_temp.j(30), '10000 s', '{1004,1004,1004}', '{strict_increase}') AS strict_increase, 1 AS clickhouse_strict_increase;

-- strict_once with repeated failures (funnel_test2 of the ClickHouse test)
INSERT INTO ev VALUES (234, 100, 'failure'), (345, 200, 'success'), (345, 210, 'failure'), (345, 230, 'success'),
                      (234, 250, 'failure'), (123, 180, 'failure'), (123, 220, 'failure'), (123, 250, 'success');
SELECT u.uid,
       omni.funnel(pg_temp.j(u.uid), '200 s', '{failure,failure,success}', '{strict_once,strict_increase}') AS once_increase,
       omni.funnel(pg_temp.j(u.uid), '200 s', '{failure,failure,success}', '{strict_once}') AS once,
       omni.funnel(pg_temp.j(u.uid), '200 s', '{failure,failure,success}', '{strict_once,strict_deduplication}') AS once_dedup,
       u.clickhouse
  FROM (VALUES (123, 3), (234, 2), (345, 1)) u(uid, clickhouse)
 ORDER BY u.uid;

-- strict_order: the first step again, once the funnel went past it, is an
-- intervention; allow_reentry lets the customer re-enter.  (ClickHouse's
-- reference gives 1 for user 42 "combined", from before its PR 99003 made
-- strict_deduplication report the deepest step reached, 2.)
INSERT INTO ev VALUES
    (41, 1, 'a'), (41, 2, 'b'), (41, 3, 'a'), (41, 4, 'c'),
    (42, 1, 'a'), (42, 2, 'b'), (42, 3, 'a'), (42, 4, 'b'), (42, 5, 'c'),
    (43, 1, 'a'), (43, 2, 'b'), (43, 3, 'c'), (43, 4, 'b'), (43, 5, 'd'),
    (44, 1, 'a'), (44, 2, 'c'), (44, 3, 'b'),
    (45, 1, 'a'), (45, 2, 'b'), (45, 3, 'c'), (45, 4, 'a'), (45, 5, 'b'), (45, 6, 'c'), (45, 7, 'd');
SELECT u.uid,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c}', '{strict_order}') AS strict_order, u.c1,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c}', '{strict_order,allow_reentry}') AS reentry, u.c2,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c,d}', '{strict_order}') AS strict_order_4, u.c3,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c,d}', '{strict_order,allow_reentry}') AS reentry_4, u.c4,
       omni.funnel(pg_temp.j(u.uid), '1 day', '{a,b,c}', '{strict_order,allow_reentry,strict_deduplication}') AS combined, u.c5
  FROM (VALUES (41, 2, 3, 2, 3, 3), (42, 2, 3, 2, 3, 2), (43, 3, 3, 4, 4, 3), (44, 1, 1, 1, 1, 1), (45, 3, 3, 3, 4, 3))
       u(uid, c1, c2, c3, c4, c5)
 ORDER BY u.uid;

-- an e-commerce funnel with re-entry; a step pattern used twice in one funnel
INSERT INTO ev VALUES
    (51, 100, 'begin_checkout'), (51, 200, 'view_product_detail'), (51, 300, 'begin_checkout'), (51, 400, 'complete_payment'),
    (52, 100, 'begin_checkout'), (52, 200, 'view_product_detail'), (52, 250, 'view_product_detail'),
    (52, 300, 'begin_checkout'), (52, 400, 'complete_payment'),
    (53, 100, 'begin_checkout'), (53, 200, 'view_product_detail'), (53, 300, 'complete_payment');
SELECT u.uid,
       omni.funnel(pg_temp.j(u.uid), '600 s', '{begin_checkout,view_product_detail,complete_payment}', '{strict_order}') AS normal, u.c1,
       omni.funnel(pg_temp.j(u.uid), '600 s', '{begin_checkout,view_product_detail,complete_payment}', '{strict_order,allow_reentry}') AS reentry, u.c2,
       omni.funnel(pg_temp.j(u.uid), '600 s', '{begin_checkout,view_product_detail,begin_checkout,complete_payment}', '{strict_order}') AS normal_4, u.c3,
       omni.funnel(pg_temp.j(u.uid), '600 s', '{begin_checkout,view_product_detail,begin_checkout,complete_payment}', '{strict_order,allow_reentry}') AS reentry_4, u.c4
  FROM (VALUES (51, 2, 3, 1, 1), (52, 2, 3, 1, 1), (53, 3, 3, 1, 1)) u(uid, c1, c2, c3, c4)
 ORDER BY u.uid;

-- ClickHouse test 01646 (fix_window_funnel_inconsistency): two events at one
-- second in either insertion order give the same level.
INSERT INTO ev VALUES (61, 86400, '1004'), (61, 86400, '1003'), (61, 0, '1002'),
                      (62, 86400, '1003'), (62, 86400, '1004'), (62, 0, '1002');
SELECT u.uid, omni.funnel(pg_temp.j(u.uid), '70000 days', '{1004,1003,1002}') AS level, 2 AS clickhouse
  FROM (VALUES (61), (62)) u(uid) ORDER BY u.uid;

-- ClickHouse issue 34986: the same condition twice; one event matches both
-- (plain), unless strict_once counts each event once.
INSERT INTO ev VALUES (71, 100, 'e1'), (72, 200, 'e1');
SELECT u.uid, omni.funnel(pg_temp.j(u.uid), '50 s', '{e1,e1}') AS plain,
       omni.funnel(pg_temp.j(u.uid), '50 s', '{e1,e1}', '{strict_once}') AS strict_once
  FROM (VALUES (71), (72)) u(uid) ORDER BY u.uid;

-- ClickHouse issue 37177 (fixed by PR 99003): strict_deduplication reports
-- the deepest step reached when a repeat ends the search.
INSERT INTO ev VALUES (81, 0, 'install'), (81, 5, 'start'), (81, 10, 'login'), (81, 15, 'install'),
                      (81, 20, 'start'), (81, 25, 'install'), (81, 30, 'start'), (81, 35, 'login'), (81, 40, 'end');
SELECT omni.funnel(pg_temp.j(81), '60 s', '{install,start,login,end}', '{strict_deduplication}') AS dedup,
       omni.funnel(pg_temp.j(81), '60 s', '{install,start,login,end}') AS plain;

-- The documented example: log in, order, search, order again, in January-February 2019.
CREATE TEMP TABLE trend (user_id int, ts timestamptz, event_id int);
INSERT INTO trend VALUES (1, '2019-01-29 10:00:00', 1003), (1, '2019-01-31 09:00:00', 1007),
                         (1, '2019-01-30 08:00:00', 1009), (1, '2019-02-01 08:00:00', 1010);
SELECT level, count(*) AS c
  FROM (SELECT user_id,
               omni.funnel(omni.journey(ts, 'web', event_id::text), '70000 days', '{1003,1009,1007,1010}') AS level
          FROM trend GROUP BY user_id) s
 GROUP BY level ORDER BY level;

-- Ties at one timestamp: the order the rows arrive in does not matter; at
-- one time, entries go in funnel-step order.
SELECT omni.funnel(omni.journey(ts, channel, event), '1 hour', '{view,cart,buy}') AS level
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'buy'), ('2026-03-01 10:00+00', 'web', 'cart'),
               ('2026-03-01 10:00+00', 'web', 'view')) v(ts, channel, event);
SELECT omni.funnel(omni.journey(ts, channel, event), '1 hour', '{view,cart,buy}') AS level
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'view'), ('2026-03-01 10:00+00', 'web', 'cart'),
               ('2026-03-01 10:00+00', 'web', 'buy')) v(ts, channel, event);
SELECT omni.funnel(omni.journey(ts, channel, event), '1 hour', '{view,cart,buy}', '{strict_increase}') AS strict_increase
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'view'), ('2026-03-01 10:00+00', 'web', 'cart'),
               ('2026-03-01 10:00+00', 'web', 'buy')) v(ts, channel, event);
-- strict_order: a step matching nothing at the same time as a funnel step comes first, so it does not break the chain
SELECT omni.funnel(omni.journey(ts, channel, event), '1 hour', '{view,cart}', '{strict_order}') AS strict_order_tie
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'view'), ('2026-03-01 10:05+00', 'web', 'cart'),
               ('2026-03-01 10:05+00', 'web', 'scroll')) v(ts, channel, event);

-- Channels in step patterns, and the window bound (inclusive).
CREATE TEMP TABLE cj AS
SELECT omni.journey(ts, channel, event) AS j
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'email', 'email_click'),
               ('2026-03-01 10:01+00', 'web', 'product_view'),
               ('2026-03-01 11:00+00', 'app', 'product_view'),
               ('2026-03-01 12:00+00', 'store', 'purchase')) v(ts, channel, event);
SELECT omni.funnel(j, '2 hours', '{email:*,product_view,store:purchase}') AS in_window,
       omni.funnel(j, '1 hour 59 minutes', '{email:*,product_view,store:purchase}') AS outside_window,
       omni.funnel(j, '2 hours', '{email:*,app:product_view,*:purchase}') AS app_path,
       omni.funnel(j, '2 hours', '{sms:*,product_view}') AS never_started,
       omni.funnel(j, '0', '{product_view}') AS one_step,
       omni.funnel(j, '2 hours', '{web:*,email:*}') AS wrong_order
  FROM cj;

-- Up to 64 steps.
SELECT omni.funnel(j, '1 day', array_fill('*'::text, ARRAY[64])) AS sixty_four_any_steps
  FROM (SELECT omni.journey('2026-03-01'::timestamptz + g * interval '1 minute', 'web', 'e') AS j
          FROM generate_series(1, 100) g) s;
SELECT omni.funnel(j, '1 day', array_fill('*'::text, ARRAY[65])) FROM cj;

-- A long journey: strict_once stays linear with distinct timestamps.
SELECT omni.funnel(j, '1 day', '{e0,e1,e2,e3}', '{strict_once}') AS once,
       omni.funnel(j, '1 day', '{e0,e1,e2,e3}', '{strict_order}') AS strict_order
  FROM (SELECT omni.journey('2026-03-01'::timestamptz + g * interval '1 second', 'web', 'e' || (g % 4)) AS j
          FROM generate_series(1, 100000) g) s;
-- many steps at one timestamp each matching every funnel step: strict_once refuses instead of exploding
SELECT omni.funnel(j, '1 day', '{e,e,e,e,e,e,e,e}', '{strict_once}')
  FROM (SELECT omni.journey('2026-03-01'::timestamptz, 'web' || g, 'e') AS j FROM generate_series(1, 200) g) s;

-- Bad arguments.
SELECT omni.funnel(j, '-1 hour', '{email:*}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{a,NULL}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{{a},{b}}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{web:}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{:purchase}') FROM cj;
SELECT omni.funnel(j, '1 hour', ARRAY['web\']) FROM cj;
SELECT omni.funnel(j, '1 hour', '{a}', '{strict}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{a}', '{fast}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{a}', '{allow_reentry}') FROM cj;
SELECT omni.funnel(j, '1 hour', '{a}', '{NULL}') FROM cj;
SELECT omni.funnel(j, '1 hour', NULL) FROM cj;
-- escaped colons and stars are literal
SELECT omni.funnel(omni.journey(now(), 'web', 'a:b'), '1 hour', ARRAY['a\:b']) AS escaped_colon,
       omni.funnel(omni.journey(now(), 'web', '*'), '1 hour', ARRAY['\*']) AS literal_star,
       omni.funnel(omni.journey(now(), 'web', 'x'), '1 hour', ARRAY['\*']) AS literal_star_no_match;


-- The aggregate omni.funnel(ts, channel, event, window, steps [, mode]) over
-- rows gives what the function gives over the journey of the same rows.
-- Every case above, for every user: window, steps and mode come from a
-- table here, so they are not constants (each row's arguments are checked).
CREATE TEMP TABLE fcase (window_s int, steps text[], mode text[]);
INSERT INTO fcase
SELECT w, s::text[], m::text[]
  FROM unnest(ARRAY[1, 2, 3, 4, 10, 50, 200, 600, 10000, 86400, 604800000]) w,
       unnest(ARRAY['{1000}', '{1000,1001}', '{1000,1001,1002}', '{1000,1001,1002,1008}', '{1003,1004,1005,1006,1007}',
                    '{1001,1008}', '{1008,1001}', '{1000,1001,1002,1003,1004,1005,1006}', '{a,b,c}', '{a,b,c,d}',
                    '{1000,1001,1002,1003,1004}', '{1004,1004,1004}', '{failure,failure,success}',
                    '{begin_checkout,view_product_detail,complete_payment}',
                    '{begin_checkout,view_product_detail,begin_checkout,complete_payment}', '{1004,1003,1002}',
                    '{e1,e1}', '{install,start,login,end}', '{web:*,*:a,b}', '{*,*,*}']) s,
       unnest(ARRAY['{}', '{strict_deduplication}', '{strict_order}', '{strict_deduplication,strict_order}',
                    '{strict_increase}', '{strict_once}', '{strict_once,strict_increase}', '{strict_once,strict_deduplication}',
                    '{strict_order,allow_reentry}', '{strict_order,allow_reentry,strict_deduplication}',
                    '{strict_once,strict_order}', '{strict_increase,strict_deduplication,strict_order}']) m;
SELECT count(*) AS compared,
       count(*) FILTER (WHERE f.by_journey = f.by_rows) AS same,
       count(DISTINCT f.by_journey) AS distinct_levels,
       count(*) FILTER (WHERE f.by_journey > 0) AS nonzero
  FROM (SELECT u.uid, c.*, omni.funnel(pg_temp.j(u.uid), make_interval(secs => c.window_s), c.steps, c.mode) AS by_journey,
               (SELECT omni.funnel(to_timestamp(e.t), 'web', e.event, make_interval(secs => c.window_s), c.steps, c.mode)
                  FROM ev e WHERE e.uid = u.uid) AS by_rows
          FROM (SELECT DISTINCT uid FROM ev) u, fcase c) f;
-- omni.event_funnel(ts, event, window, steps [, mode]), the form without a
-- channel: the same as the function over journeys for every case whose
-- steps name events only (all rows here are on "web").
SELECT count(*) AS compared,
       count(*) FILTER (WHERE f.by_journey = f.by_events) AS same,
       count(DISTINCT f.by_journey) AS distinct_levels
  FROM (SELECT u.uid, c.*, omni.funnel(pg_temp.j(u.uid), make_interval(secs => c.window_s), c.steps, c.mode) AS by_journey,
               (SELECT omni.event_funnel(to_timestamp(e.t), e.event, make_interval(secs => c.window_s), c.steps, c.mode)
                  FROM ev e WHERE e.uid = u.uid) AS by_events
          FROM (SELECT DISTINCT uid FROM ev) u, fcase c
         WHERE NOT EXISTS (SELECT FROM unnest(c.steps) p WHERE p LIKE 'web:%')) f;
-- constant arguments (compiled once): the ClickHouse cases again, with ClickHouse's answers
SELECT e.uid,
       omni.funnel(to_timestamp(t), 'web', event, '1 day', '{a,b,c}') AS plain, u.ch_plain,
       omni.funnel(to_timestamp(t), 'web', event, '1 day', '{a,b,c}', '{strict_order}') AS strict_order, u.ch_order,
       omni.funnel(to_timestamp(t), 'web', event, '1 day', '{a,b,c}', '{strict_deduplication,strict_order}') AS dedup_order, u.ch_dedup_order
  FROM ev e JOIN (VALUES (11, 3, 3, 3), (12, 3, 1, 1), (13, 3, 3, 2), (14, 3, 3, 2), (15, 3, 2, 2), (16, 1, 1, 1))
       u(uid, ch_plain, ch_order, ch_dedup_order) ON u.uid = e.uid
 GROUP BY e.uid, u.ch_plain, u.ch_order, u.ch_dedup_order
 ORDER BY e.uid;
SELECT omni.funnel(to_timestamp(t), 'web', event, '10000 s', '{1000,1001,1002,1003,1004}') AS plain, 5 AS clickhouse_plain,
       omni.funnel(to_timestamp(t), 'web', event, '10000 s', '{1000,1001,1002,1003,1004}', '{strict_increase}') AS strict_increase,
       2 AS clickhouse_strict_increase,
       omni.funnel(to_timestamp(t), 'web', event, '10000 s', '{1004,1004,1004}', '{strict_once}') AS strict_once, 1 AS clickhouse_strict_once
  FROM ev WHERE uid = 30;
SELECT uid, omni.funnel(to_timestamp(t), 'web', event, '200 s', '{failure,failure,success}', '{strict_once,strict_increase}') AS once_increase,
       omni.funnel(to_timestamp(t), 'web', event, '200 s', '{failure,failure,success}', '{strict_once,strict_deduplication}') AS once_dedup
  FROM ev WHERE uid IN (123, 234, 345) GROUP BY uid ORDER BY uid;
SELECT omni.funnel(to_timestamp(t), 'web', event, '60 s', '{install,start,login,end}', '{strict_deduplication}') AS dedup_37177
  FROM ev WHERE uid = 81;
SELECT level, count(*) AS c
  FROM (SELECT user_id, omni.funnel(ts, 'web', event_id::text, '70000 days', '{1003,1009,1007,1010}') AS level
          FROM trend GROUP BY user_id) s
 GROUP BY level ORDER BY level;
-- ties at one timestamp, in any arrival order; strict_increase; a step matching nothing at a tie (strict_order)
SELECT omni.funnel(ts, channel, event, '1 hour', '{view,cart,buy}') AS level,
       omni.funnel(ts, channel, event, '1 hour', '{view,cart,buy}', '{strict_increase}') AS strict_increase
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'buy'), ('2026-03-01 10:00+00', 'web', 'cart'),
               ('2026-03-01 10:00+00', 'web', 'view')) v(ts, channel, event);
SELECT omni.funnel(ts, channel, event, '1 hour', '{view,cart}', '{strict_order}') AS strict_order_tie
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'view'), ('2026-03-01 10:05+00', 'web', 'scroll'),
               ('2026-03-01 10:05+00', 'web', 'cart')) v(ts, channel, event);
-- channels in step patterns, the inclusive window bound, and a NULL event (a step without event)
SELECT omni.funnel(ts, channel, event, '2 hours', '{email:*,product_view,store:purchase}') AS in_window,
       omni.funnel(ts, channel, event, '1 hour 59 minutes', '{email:*,product_view,store:purchase}') AS outside_window,
       omni.funnel(ts, channel, event, '2 hours', '{email:*,app:product_view,*:purchase}') AS app_path,
       omni.funnel(ts, channel, event, '2 hours', '{sms:*,product_view}') AS never_started,
       omni.funnel(ts, channel, event, '2 hours', '{web:*,email:*}') AS wrong_order,
       omni.funnel(ts, channel, event, '2 hours', '{email:*,store:*}') AS channel_only_null_event,
       omni.funnel(ts, channel, event, '2 hours', '{email:email_click,web:*}') AS null_event_no_match
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'email', NULL),
               ('2026-03-01 10:01+00', 'web', 'product_view'),
               ('2026-03-01 11:00+00', 'app', 'product_view'),
               ('2026-03-01 12:00+00', 'store', NULL),
               ('2026-03-01 12:00+00', 'store', 'purchase')) v(ts, channel, event);

-- Heavy ties on random data (few distinct times, several channels, events
-- matching several steps): the aggregate and the function agree in every mode.
CREATE TEMP TABLE tie_ev AS
SELECT g % 150 AS uid, '2026-03-01'::timestamptz + ((hashint4(g) & 7) * interval '10 minutes') AS ts,
       (ARRAY['web', 'app', 'email'])[1 + (hashint4(g * 3) & 65535) % 3] AS channel,
       (ARRAY['a', 'b', 'c', 'd'])[1 + (hashint4(g * 5) & 65535) % 4] AS event
  FROM generate_series(1, 3000) g;
SELECT count(*) AS compared, count(*) FILTER (WHERE f.by_journey = f.by_rows) AS same,
       count(DISTINCT f.by_journey) AS distinct_levels
  FROM (SELECT r.uid, m.mode, s.steps, w.w,
               omni.funnel(omni.journey(r.ts, r.channel, r.event), w.w, s.steps::text[], m.mode::text[]) AS by_journey,
               omni.funnel(r.ts, r.channel, r.event, w.w, s.steps::text[], m.mode::text[]) AS by_rows
          FROM tie_ev r,
               unnest(ARRAY['0'::interval, '10 minutes', '30 minutes', '1 day']) w(w),
               unnest(ARRAY['{a,b,c}', '{a,b,a,c}', '{web:*,b,app:c,d}', '{a,*,web:*,a,*}', '{d,d,d,d}']) s(steps),
               unnest(ARRAY['{}', '{strict_deduplication}', '{strict_order}', '{strict_increase}', '{strict_once}',
                            '{strict_once,strict_increase}', '{strict_once,strict_deduplication}',
                            '{strict_order,allow_reentry}', '{strict_once,strict_order,allow_reentry}']) m(mode)
         GROUP BY r.uid, m.mode, s.steps, w.w) f;
-- omni.event_funnel on the same rows, with steps naming events only: the
-- channel is not read, so it agrees with the channel form whatever the channels
SELECT count(*) AS compared, count(*) FILTER (WHERE f.by_rows = f.by_events) AS same,
       count(DISTINCT f.by_rows) AS distinct_levels
  FROM (SELECT r.uid, m.mode, s.steps, w.w,
               omni.funnel(r.ts, r.channel, r.event, w.w, s.steps::text[], m.mode::text[]) AS by_rows,
               omni.event_funnel(r.ts, r.event, w.w, s.steps::text[], m.mode::text[]) AS by_events
          FROM tie_ev r,
               unnest(ARRAY['0'::interval, '10 minutes', '30 minutes', '1 day']) w(w),
               unnest(ARRAY['{a,b,c}', '{a,b,a,c}', '{a,*,*:b,a,*}', '{d,d,d,d}']) s(steps),
               unnest(ARRAY['{}', '{strict_deduplication}', '{strict_order}', '{strict_increase}', '{strict_once}',
                            '{strict_once,strict_increase}', '{strict_order,allow_reentry}']) m(mode)
         GROUP BY r.uid, m.mode, s.steps, w.w) f;
-- the five-argument form is the empty mode
SELECT count(*) FILTER (WHERE a = b) AS same_default_mode, count(*) AS compared
  FROM (SELECT uid, omni.funnel(ts, channel, event, '30 minutes', '{a,b,c}') AS a,
               omni.funnel(ts, channel, event, '30 minutes', '{a,b,c}', '{}') AS b
          FROM tie_ev GROUP BY uid) s;

-- NULLs: rows with a NULL time or channel are skipped; no row left gives
-- NULL, as omni.journey does; a NULL window, steps or mode gives NULL, as
-- the (strict) function does; no matching row gives 0.
SELECT omni.funnel(ts, channel, event, '1 hour', '{a,b}') AS skipped_rows,
       omni.funnel(ts, channel, event, '1 hour', '{a,b}') FILTER (WHERE ts IS NULL) AS no_row,
       omni.funnel(ts, channel, event, NULL, '{a,b}') AS null_window,
       omni.funnel(ts, channel, event, '1 hour', NULL) AS null_steps,
       omni.funnel(ts, channel, event, '1 hour', '{a,b}', NULL) AS null_mode,
       omni.funnel(ts, channel, event, '1 hour', '{x,y}') AS no_match
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'web', 'a'), (NULL, 'web', 'b'),
               ('2026-03-01 10:10+00', NULL, 'b'), ('2026-03-01 10:20+00', 'web', 'b')) v(ts, channel, event);
SELECT omni.funnel(ts, 'web', 'a', '1 hour', '{a}') IS NULL AS no_rows_is_null
  FROM (SELECT now() AS ts WHERE false) s;
-- omni.event_funnel skips rows with a NULL time or event (a row is nothing else)
SELECT omni.event_funnel(ts, event, '1 hour', '{a,b}') AS skipped_rows,
       omni.event_funnel(ts, event, '1 hour', '{*,*}') AS any_step_skips_null_events,
       omni.event_funnel(ts, event, '1 hour', '{a,b}') FILTER (WHERE ts IS NULL) AS no_row,
       omni.event_funnel(ts, event, NULL, '{a,b}') AS null_window,
       omni.event_funnel(ts, event, '1 hour', NULL) AS null_steps,
       omni.event_funnel(ts, event, '1 hour', '{a,b}', NULL) AS null_mode,
       omni.event_funnel(ts, event, '1 hour', '{x,y}') AS no_match
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'a'), (NULL, 'b'),
               ('2026-03-01 10:10+00', NULL), ('2026-03-01 10:20+00', 'b')) v(ts, event);
-- different arguments in different groups are fine; equal values spelled differently too
SELECT g, omni.funnel(ts, 'web', e, w, s) AS level
  FROM (VALUES (1, '2026-03-01 10:00+00'::timestamptz, 'a', '1 day'::interval, '{a,b}'::text[]),
               (1, '2026-03-01 10:30+00', 'b', '24 hours', '{a,b}'),
               (2, '2026-03-01 10:00+00', 'a', '10 minutes', '{a,b}'),
               (2, '2026-03-01 10:30+00', 'b', '10 minutes', '{a,b}'),
               (3, '2026-03-01 10:00+00', 'b', '1 hour', '{b}')) v(g, ts, e, w, s)
 GROUP BY g ORDER BY g;

-- Bad input to the aggregate: the same errors as the function.
SELECT omni.funnel(now(), 'web', 'a', '-1 hour', '{email:*}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{a,NULL}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{{a},{b}}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{web:}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{:purchase}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', ARRAY['web\']);
SELECT omni.funnel(now(), 'web', 'a', '1 hour', array_fill('*'::text, ARRAY[65]));
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{a}', '{strict}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{a}', '{fast}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{a}', '{allow_reentry}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{a}', '{NULL}');
SELECT omni.funnel(now(), 'web', 'a', '1 hour', '{a}', '{{strict_order}}');
-- and the rows: times finite, names not empty, as for a journey
SELECT omni.funnel('infinity', 'web', 'a', '1 hour', '{a}');
SELECT omni.funnel(now(), '', 'a', '1 hour', '{a}');
SELECT omni.funnel(now(), 'web', '', '1 hour', '{a}');
-- rows of one group with different arguments
SELECT omni.funnel(ts, 'web', 'a', w, '{a}')
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, '1 hour'::interval), ('2026-03-01 10:00+00', '2 hours')) v(ts, w);
SELECT omni.funnel(ts, 'web', 'a', '1 hour', s)
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, '{a}'::text[]), ('2026-03-01 10:00+00', '{a,b}')) v(ts, s);
SELECT omni.funnel(ts, 'web', 'a', '1 hour', '{a,b}', m)
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, '{}'::text[]), ('2026-03-01 10:00+00', '{strict_order}')) v(ts, m);
-- omni.event_funnel: a step naming a channel can match no row; the other errors are the same
SELECT omni.event_funnel(now(), 'a', '1 hour', '{web:a}');
SELECT omni.event_funnel(now(), 'a', '1 hour', '{a,web:*}', '{strict_order}');
SELECT omni.event_funnel(now(), 'a', '-1 hour', '{a}');
SELECT omni.event_funnel(now(), 'a', '1 hour', '{a}', '{fast}');
SELECT omni.event_funnel('-infinity', 'a', '1 hour', '{a}');
SELECT omni.event_funnel(now(), '', '1 hour', '{a}');
SELECT omni.event_funnel(ts, 'a', w, '{a}')
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, '1 hour'::interval), ('2026-03-01 10:00+00', '2 hours')) v(ts, w);
SELECT omni.event_funnel(ts, e, '1 hour', s) AS non_constant_steps
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'a', '{a,*:b}'::text[]), ('2026-03-01 10:10+00', 'b', '{a,*:b}')) v(ts, e, s);
SELECT omni.event_funnel(ts, e, '1 hour', s)
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'a', '{a,app:b}'::text[])) v(ts, e, s);
DROP TABLE fcase, tie_ev;

DROP TABLE ev, trend, cj;
DROP FUNCTION pg_temp.j(int);
RESET TimeZone;
