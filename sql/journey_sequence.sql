-- omni.sequence_match and omni.sequence_count: ClickHouse's sequenceMatch
-- and sequenceCount pattern syntax; (?N) is conditions[N].
SET TimeZone = 'UTC';

-- ClickHouse's documented examples: numbers as events at seconds 1, 2, 3...
CREATE TEMP TABLE t (time int, number int);
INSERT INTO t VALUES (1, 1), (2, 3), (3, 2);
CREATE TEMP TABLE tj AS SELECT omni.journey(to_timestamp(time), 'web', number::text) AS j FROM t;
-- 2 follows 1; 3 is skipped because no condition describes it
SELECT omni.sequence_match(j, '(?1)(?2)', '{1,2}') AS match, 1 AS clickhouse FROM tj;
-- with a condition for 3, it is between 1 and 2
SELECT omni.sequence_match(j, '(?1)(?2)', '{1,2,3}') AS match, 0 AS clickhouse FROM tj;
-- a condition matching nothing changes nothing
SELECT omni.sequence_match(j, '(?1)(?2)', '{1,2,4}') AS match, 1 AS clickhouse FROM tj;

-- sequenceCount: non-overlapping chains of 1 followed by 2
TRUNCATE t;
INSERT INTO t VALUES (1, 1), (2, 3), (3, 2), (4, 1), (5, 3), (6, 2);
CREATE TEMP TABLE tj2 AS SELECT omni.journey(to_timestamp(time), 'web', number::text) AS j FROM t;
SELECT omni.sequence_count(j, '(?1).*(?2)', '{1,2}') AS count, 2 AS clickhouse FROM tj2;
SELECT omni.sequence_count(j, '(?1)(?2)', '{1,2}') AS adjacent_count FROM tj2;
SELECT omni.sequence_count(j, '(?1)(?2)', '{1,2,3}') AS adjacent_with_3 FROM tj2;
SELECT omni.sequence_count(j, '(?1).(?2)', '{1,2,3}') AS any_between FROM tj2;
SELECT omni.sequence_count(j, '(?1)', '{1,2,3}') AS ones, omni.sequence_count(j, '.', '{1,2,3}') AS relevant_steps FROM tj2;

-- Time conditions: seconds between the steps around them, any steps between.
CREATE TEMP TABLE tt AS
SELECT omni.journey(ts, channel, event) AS j
  FROM (VALUES ('2026-03-01 10:00:00+00'::timestamptz, 'web', 'product_view'),
               ('2026-03-01 10:10:00+00', 'email', 'email_open'),
               ('2026-03-01 10:30:00+00', 'web', 'add_to_cart'),
               ('2026-03-01 12:00:00+00', 'web', 'purchase'),
               ('2026-03-02 09:00:00+00', 'web', 'product_view'),
               ('2026-03-02 09:20:00+00', 'web', 'purchase')) v(ts, channel, event);
SELECT omni.sequence_match(j, '(?1)(?t<=3600)(?2)', '{product_view,purchase}') AS within_hour,
       omni.sequence_count(j, '(?1)(?t<=3600)(?2)', '{product_view,purchase}') AS count_within_hour,
       omni.sequence_count(j, '(?1)(?t>3600)(?2)', '{product_view,purchase}') AS count_over_hour,
       omni.sequence_count(j, '(?1)(?t==7200)(?2)', '{product_view,purchase}') AS exactly_two_hours,
       omni.sequence_count(j, '(?1)(?t<7200)(?2)', '{product_view,purchase}') AS under_two_hours,
       omni.sequence_count(j, '(?1)(?t>=7200)(?2)', '{product_view,purchase}') AS two_hours_or_more,
       omni.sequence_count(j, '(?1)(?t>=600)(?t<=1800)(?2)', '{product_view,add_to_cart}') AS between_10_and_30_min
  FROM tt;
-- the issue's example: (?1).*(?2)(?t<=3600)(?3)
SELECT omni.sequence_match(j, '(?1).*(?2)(?t<=3600)(?3)', '{product_view,add_to_cart,purchase}') AS cart_then_purchase_within_hour,
       omni.sequence_match(j, '(?1).*(?2)(?t<=5400)(?3)', '{product_view,add_to_cart,purchase}') AS within_90_min
  FROM tt;
-- channels in conditions; only steps matching some condition count for adjacency
SELECT omni.sequence_match(j, '(?1)(?2)', '{web:product_view,web:add_to_cart}') AS email_ignored,
       omni.sequence_match(j, '(?1)(?2)', '{web:product_view,web:add_to_cart,email:*}') AS email_in_between,
       omni.sequence_match(j, '(?1).(?2)', '{web:product_view,web:add_to_cart,email:*}') AS any_one_between,
       omni.sequence_match(j, '(?1)..(?2)', '{web:product_view,web:add_to_cart,email:*}') AS two_between
  FROM tt;
-- leftmost, earliest matches; counting restarts after the last step of a match
SELECT omni.sequence_count(j, '(?1).*(?1)', '{a}') AS pairs_of_a
  FROM (SELECT omni.journey('2026-03-01'::timestamptz + g * interval '1 minute', 'web', 'a') AS j
          FROM generate_series(1, 7) g) s;
SELECT omni.sequence_count(j, '(?1)(?2)', '{a,b}') AS ab_pairs, omni.sequence_count(j, '(?1).*(?2)', '{a,b}') AS a_then_b
  FROM (SELECT omni.journey(ts, 'web', e) AS j
          FROM (VALUES (1, 'a'), (2, 'a'), (3, 'b'), (4, 'a'), (5, 'b'), (6, 'b')) v(s, e),
               LATERAL (SELECT to_timestamp(s) AS ts) x) s;
-- a pattern with a time condition that only a later start satisfies
SELECT omni.sequence_count(j, '(?1)(?t<=60)(?2)', '{a,b}') AS quick_pairs
  FROM (SELECT omni.journey(to_timestamp(s), 'web', e) AS j
          FROM (VALUES (0, 'a'), (100, 'a'), (130, 'b'), (400, 'a'), (1000, 'b')) v(s, e)) s;
-- nothing relevant, and an empty journey
SELECT omni.sequence_match(j, '(?1)', '{nothing}'), omni.sequence_count(j, '(?1)', '{nothing}') FROM tt;
SELECT omni.sequence_match('[]', '(?1)', '{a}'), omni.sequence_count('[]', '(?1)', '{a}');

-- Patterns that make a backtracking matcher explode stay linear here: a
-- journey of 20k steps against many stars and time conditions.
SELECT omni.sequence_match(j, repeat('(?1).*', 40) || '(?2)', '{a,b}') AS many_stars_no_match,
       omni.sequence_count(j, repeat('(?1)(?t<=100000).*', 30) || '(?1)', '{a,b}') AS many_time_conditions
  FROM (SELECT omni.journey('2026-03-01'::timestamptz + g * interval '1 second', 'web', 'a') AS j
          FROM generate_series(1, 20000) g) s;
-- the limits: 256 steps per pattern, and a bounded (pattern steps x journey steps) table
SELECT omni.sequence_match(j, repeat('.', 257), '{a}') FROM tt;
SELECT omni.sequence_count(j, repeat('(?1)', 256), '{a}')
  FROM (SELECT omni.journey('2026-03-01'::timestamptz + g * interval '1 second', 'web', 'a') AS j
          FROM generate_series(1, 800000) g) s;

-- Bad patterns and conditions: a clear error each.
SELECT omni.sequence_match(j, '', '{a}') FROM tt;
SELECT omni.sequence_match(j, '.*', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?1', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?x)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?0)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?65)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?2)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?1)(?t~5)(?1)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?1)(?t<=)(?1)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?1)(?t<=99999999999999999)(?1)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?t<=5)(?1)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?1)(?t<=5)', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?1)+', '{a}') FROM tt;
SELECT omni.sequence_match(j, '(?1)', '{}') FROM tt;
SELECT omni.sequence_match(j, '(?1)', '{NULL}') FROM tt;
SELECT omni.sequence_match(j, '(?1)', '{*:}') FROM tt;

DROP TABLE t, tj, tj2, tt;
RESET TimeZone;
