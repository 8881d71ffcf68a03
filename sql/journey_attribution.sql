-- Attribution: rule-based models per journey and the Markov removal effect.
SET TimeZone = 'UTC';

-- One journey, two conversions: touches since the previous conversion count.
--   conversion 1 (day 5): social (day 1), direct (day 2), email (day 3), web (day 4)
--   conversion 2 (day 9): email (day 8)
CREATE TEMP TABLE aj AS
SELECT omni.journey(ts, channel, event) AS j
  FROM (VALUES ('2026-03-01 10:00+00'::timestamptz, 'social', 'ad_click'),
               ('2026-03-02 10:00+00', 'direct', 'page_view'),
               ('2026-03-03 10:00+00', 'email', 'email_click'),
               ('2026-03-04 10:00+00', 'web', 'page_view'),
               ('2026-03-05 10:00+00', 'web', 'purchase'),
               ('2026-03-08 10:00+00', 'email', 'email_click'),
               ('2026-03-09 10:00+00', 'store', 'purchase')) v(ts, channel, event);
SELECT m.model, a.channel, round(a.credit::numeric, 6) AS credit
  FROM aj,
       (VALUES ('first_touch'), ('last_touch'), ('last_non_direct'), ('linear'), ('position_based')) m(model),
       LATERAL omni.attribution(aj.j, 'purchase', m.model) a
 ORDER BY m.model, a.channel;
-- every model hands out one credit per conversion
SELECT m.model, round(sum(a.credit)::numeric, 9) AS total
  FROM aj, (VALUES ('first_touch'), ('last_touch'), ('last_non_direct'), ('linear'), ('time_decay'), ('position_based')) m(model),
       LATERAL omni.attribution(aj.j, 'purchase', m.model) a
 GROUP BY m.model ORDER BY m.model;
-- time decay with a 1-day half-life: weights 1/8, 1/4, 1/2, 1 for conversion 1
SELECT a.channel, round(a.credit::numeric, 6) AS credit,
       round(CASE a.channel WHEN 'social' THEN 0.125 WHEN 'direct' THEN 0.25 WHEN 'email' THEN 0.5 + 1.875 WHEN 'web' THEN 1 END
             / 1.875, 6) AS expected
  FROM aj, LATERAL omni.attribution(aj.j, 'purchase', 'time_decay', '1 day') a ORDER BY a.channel;
-- last_non_direct skips direct; when all touches are direct, direct keeps the credit
SELECT a.* FROM omni.attribution('[{"ts": "2026-03-01T10:00:00Z", "channel": "email", "event": "email_click"},
                                   {"ts": "2026-03-02T10:00:00Z", "channel": "direct", "event": "page_view"},
                                   {"ts": "2026-03-02T10:05:00Z", "channel": "web", "event": "purchase"}]',
                                 'purchase', 'last_non_direct') a;
SELECT a.* FROM omni.attribution('[{"ts": "2026-03-02T10:00:00Z", "channel": "direct", "event": "page_view"},
                                   {"ts": "2026-03-02T10:05:00Z", "channel": "web", "event": "purchase"}]',
                                 'purchase', 'last_non_direct') a;
-- position_based with two touches: 50/50
SELECT a.* FROM omni.attribution('[{"ts": "2026-03-01T10:00:00Z", "channel": "email"},
                                   {"ts": "2026-03-02T10:00:00Z", "channel": "sms"},
                                   {"ts": "2026-03-02T10:05:00Z", "channel": "web", "event": "purchase"}]',
                                 'purchase', 'position_based') a;
-- a conversion with no touch before it is its own touch; a conversion pattern with a channel
SELECT a.* FROM omni.attribution('[{"ts": "2026-03-02T10:05:00Z", "channel": "store", "event": "purchase"}]', 'purchase') a;
SELECT a.channel, round(a.credit::numeric, 6) AS credit FROM aj, omni.attribution(aj.j, 'store:purchase', 'linear') a;
-- no conversion, no credit
SELECT count(*) FROM aj, omni.attribution(aj.j, 'refund') a;
-- bad arguments
SELECT * FROM omni.attribution((SELECT j FROM aj), 'purchase', 'u_shaped');
SELECT * FROM omni.attribution((SELECT j FROM aj), 'purchase', 'markov');
SELECT * FROM omni.attribution((SELECT j FROM aj), 'purchase', 'time_decay', '0');
SELECT * FROM omni.attribution((SELECT j FROM aj), 'web:', 'linear');

-- Markov removal effect across journeys.
--   A: web > email > purchase;  B: web (no conversion);  C: email > purchase
-- P(conversion) = 2/3; without web 1/3 (effect 0.5); without email 0 (effect 1);
-- credits = effects normalized to the 2 conversions: web 2/3, email 4/3.
CREATE TEMP TABLE mj (customer int, j omni.journey);
INSERT INTO mj VALUES
    (1, '[{"ts": "2026-03-01T10:00:00Z", "channel": "web", "event": "page_view"},
          {"ts": "2026-03-01T11:00:00Z", "channel": "email", "event": "email_click"},
          {"ts": "2026-03-01T11:05:00Z", "channel": "email", "event": "purchase"}]'),
    (2, '[{"ts": "2026-03-01T10:00:00Z", "channel": "web", "event": "page_view"}]'),
    (3, '[{"ts": "2026-03-01T10:00:00Z", "channel": "email", "event": "email_click"},
          {"ts": "2026-03-01T10:30:00Z", "channel": "email", "event": "purchase"}]');
SELECT m.channel, round(m.removal_effect::numeric, 6) AS removal_effect, round(m.credit::numeric, 6) AS credit
  FROM unnest((SELECT omni.markov_attribution(j, 'purchase') FROM mj)) m;
-- NULL journeys are skipped
SELECT m.channel, round(m.credit::numeric, 6) AS credit
  FROM unnest((SELECT omni.markov_attribution(j, 'purchase') FROM (SELECT j FROM mj UNION ALL SELECT NULL) s)) m;
-- one result per group
SELECT customer % 2 AS odd, (SELECT array_agg(m.channel || '=' || round(m.credit::numeric, 3) ORDER BY m.channel)
                              FROM unnest(omni.markov_attribution(j, 'purchase')) m) AS credits
  FROM mj GROUP BY customer % 2 ORDER BY 1;
-- no conversions: no credit; no journeys: NULL
SELECT m.* FROM unnest((SELECT omni.markov_attribution(j, 'refund') FROM mj)) m;
SELECT omni.markov_attribution(j, 'purchase') IS NULL AS no_rows FROM mj WHERE false;
-- one conversion pattern per aggregate
SELECT omni.markov_attribution(j, CASE WHEN customer = 1 THEN 'purchase' ELSE 'store:purchase' END) FROM mj;
SELECT omni.markov_attribution(j, NULL) FROM mj;
SELECT omni.markov_attribution(j, 'web:') FROM mj;
-- the support functions are for the aggregate; a forged state is refused
SELECT omni.markov_attribution_transfn(NULL, NULL, 'purchase');
SELECT omni.markov_attribution_final('\x00010203');
SELECT omni.markov_attribution_final('\x564b524d010000000000000000000000ffffffffffffff7f');

DROP TABLE aj, mj;
RESET TimeZone;
