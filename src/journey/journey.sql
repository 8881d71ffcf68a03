\echo Use "CREATE EXTENSION omnichannel" to load this file. \quit

/*
 * Journeys: every touchpoint of a customer, on every channel, as one
 * time-ordered value; the functions marketers ask of it (paths, sessions,
 * funnels, sequences, attribution); and views for BI tools.
 */

/* The journey type. */
CREATE TYPE omni.journey;

CREATE FUNCTION omni.journey_in(cstring) RETURNS omni.journey
    AS 'MODULE_PATHNAME', 'journey_in'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_in(cstring) IS
    'Input of omni.journey: a JSON array of {"ts", "channel", "event"} steps in any order (times read as timestamptz)';

CREATE FUNCTION omni.journey_out(omni.journey) RETURNS cstring
    AS 'MODULE_PATHNAME', 'journey_out'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_out(omni.journey) IS
    'Output of omni.journey: a JSON array of steps in time order, times in UTC ISO 8601';

CREATE FUNCTION omni.journey_recv(internal) RETURNS omni.journey
    AS 'MODULE_PATHNAME', 'journey_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_recv(internal) IS
    'Binary input of omni.journey (checked and rebuilt)';

CREATE FUNCTION omni.journey_send(omni.journey) RETURNS bytea
    AS 'MODULE_PATHNAME', 'journey_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_send(omni.journey) IS
    'Binary output of omni.journey: dictionary of channels, events and pairs, then (time, pair) per step';

CREATE TYPE omni.journey (
    INPUT = omni.journey_in,
    OUTPUT = omni.journey_out,
    RECEIVE = omni.journey_recv,
    SEND = omni.journey_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE omni.journey IS
    'A customer journey: time-ordered steps (ts, channel, event), each channel and event name stored once';

CREATE CAST (omni.journey AS jsonb) WITH INOUT;
COMMENT ON CAST (omni.journey AS jsonb) IS 'A journey as a JSON array of steps';

/* The journey aggregate. */
CREATE FUNCTION omni.journey_agg_transfn(omni.journey, timestamptz, text, text) RETURNS omni.journey
    AS 'MODULE_PATHNAME', 'journey_agg_transfn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_agg_transfn(omni.journey, timestamptz, text, text) IS
    'Transition function of omni.journey(ts, channel, event): adds a step to the state';

CREATE FUNCTION omni.journey_agg_transfn(omni.journey, timestamptz, text) RETURNS omni.journey
    AS 'MODULE_PATHNAME', 'journey_agg_transfn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_agg_transfn(omni.journey, timestamptz, text) IS
    'Transition function of omni.journey(ts, channel): adds a step without event to the state';

CREATE FUNCTION omni.journey_combine(omni.journey, omni.journey) RETURNS omni.journey
    AS 'MODULE_PATHNAME', 'journey_agg_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_combine(omni.journey, omni.journey) IS
    'The journey holding the steps of both journeys; the combine function of omni.journey';

CREATE FUNCTION omni.journey_agg_final(omni.journey) RETURNS omni.journey
    AS 'MODULE_PATHNAME', 'journey_agg_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.journey_agg_final(omni.journey) IS
    'Final function of omni.journey: sorts the steps and returns the flat journey';

CREATE AGGREGATE omni.journey(timestamptz, text, text) (
    SFUNC = omni.journey_agg_transfn,
    STYPE = omni.journey,
    SSPACE = 2048,
    FINALFUNC = omni.journey_agg_final,
    COMBINEFUNC = omni.journey_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE omni.journey(timestamptz, text, text) IS
    'Journey of (ts, channel, event) rows in any order; NULL ts or channel rows are skipped, a NULL event gives a step without event';

CREATE AGGREGATE omni.journey(timestamptz, text) (
    SFUNC = omni.journey_agg_transfn,
    STYPE = omni.journey,
    SSPACE = 2048,
    FINALFUNC = omni.journey_agg_final,
    COMBINEFUNC = omni.journey_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE omni.journey(timestamptz, text) IS
    'Journey of (ts, channel) rows in any order, steps without events';

/* Reading a journey back. */
CREATE FUNCTION omni.path(j omni.journey, collapse_repeats boolean DEFAULT true) RETURNS text
    AS 'MODULE_PATHNAME', 'journey_path'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.path(omni.journey, boolean) IS
    'Channels in time order joined by " > "; consecutive steps on one channel count once unless collapse_repeats is false';

CREATE FUNCTION omni.steps(j omni.journey)
    RETURNS TABLE (step integer, ts timestamptz, channel text, event text, since_previous interval)
    AS 'MODULE_PATHNAME', 'journey_steps'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 50;
COMMENT ON FUNCTION omni.steps(omni.journey) IS
    'One row per step: number from 1, time, channel, event (NULL if none), time since the previous step';

CREATE FUNCTION omni.transitions(j omni.journey)
    RETURNS TABLE (from_channel text, to_channel text, n integer)
    AS 'MODULE_PATHNAME', 'journey_transitions'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION omni.transitions(omni.journey) IS
    'How often the journey moved from one channel to another (consecutive steps on different channels)';

CREATE FUNCTION omni.length(j omni.journey) RETURNS integer
    AS 'MODULE_PATHNAME', 'journey_length'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.length(omni.journey) IS 'Number of steps of the journey';

CREATE FUNCTION omni.channels(j omni.journey) RETURNS text[]
    AS 'MODULE_PATHNAME', 'journey_channels'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.channels(omni.journey) IS 'Distinct channels of the journey in order of first appearance';

CREATE FUNCTION omni.first_touch(j omni.journey) RETURNS text
    AS 'MODULE_PATHNAME', 'journey_first_touch'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.first_touch(omni.journey) IS 'Channel of the first step (NULL for an empty journey)';

CREATE FUNCTION omni.last_touch(j omni.journey) RETURNS text
    AS 'MODULE_PATHNAME', 'journey_last_touch'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.last_touch(omni.journey) IS 'Channel of the last step (NULL for an empty journey)';

CREATE FUNCTION omni.duration(j omni.journey) RETURNS interval
    AS 'MODULE_PATHNAME', 'journey_duration'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.duration(omni.journey) IS
    'Time from the first to the last step, in hours, minutes and seconds (NULL for an empty journey)';

/* Sessions. */
CREATE FUNCTION omni.sessions(j omni.journey, gap interval DEFAULT '30 minutes') RETURNS integer
    AS 'MODULE_PATHNAME', 'journey_sessions'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.sessions(omni.journey, interval) IS
    'Number of sessions: a new one starts after more than gap without a step (days count 24 hours, months 30 days)';

CREATE FUNCTION omni.sessionize(j omni.journey, gap interval DEFAULT '30 minutes')
    RETURNS TABLE (session integer, start_ts timestamptz, end_ts timestamptz, steps integer, channels text[])
    AS 'MODULE_PATHNAME', 'journey_sessionize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION omni.sessionize(omni.journey, interval) IS
    'One row per session: number from 1, first and last step time, steps, channels in order of first appearance';

/* Funnels and sequences. */
CREATE FUNCTION omni.funnel(j omni.journey, "window" interval, steps text[], mode text[] DEFAULT '{}') RETURNS integer
    AS 'MODULE_PATHNAME', 'journey_funnel'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel(omni.journey, interval, text[], text[]) IS
    'Deepest funnel step reached within the window (ClickHouse windowFunnel); modes strict_order, strict_deduplication, strict_increase, strict_once, allow_reentry';

/*
 * The funnel as an aggregate over rows (ClickHouse's windowFunnel is one):
 * the same answer as omni.funnel(omni.journey(ts, channel, event), ...),
 * without building journeys.  Aggregates take no defaults: two arities.
 * SSPACE is the planner's guess of a group's state (about 60 matching
 * rows); without it, the planner assumes 8 kB per internal state and plans
 * a hash aggregate that spills to disk for no reason.
 */
CREATE FUNCTION omni.funnel_agg_transfn(internal, timestamptz, text, text, interval, text[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'funnel_agg_transfn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_transfn(internal, timestamptz, text, text, interval, text[]) IS
    'Transition function of the omni.funnel aggregate: keeps the rows matching a funnel step as (time, steps matched)';
CREATE FUNCTION omni.funnel_agg_transfn(internal, timestamptz, text, text, interval, text[], text[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'funnel_agg_transfn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_transfn(internal, timestamptz, text, text, interval, text[], text[]) IS
    'Transition function of the omni.funnel aggregate with modes';
CREATE FUNCTION omni.funnel_agg_events_transfn(internal, timestamptz, text, interval, text[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'funnel_agg_events_transfn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_events_transfn(internal, timestamptz, text, interval, text[]) IS
    'Transition function of the omni.event_funnel aggregate';
CREATE FUNCTION omni.funnel_agg_events_transfn(internal, timestamptz, text, interval, text[], text[]) RETURNS internal
    AS 'MODULE_PATHNAME', 'funnel_agg_events_transfn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_events_transfn(internal, timestamptz, text, interval, text[], text[]) IS
    'Transition function of the omni.event_funnel aggregate with modes';
CREATE FUNCTION omni.funnel_agg_final(internal) RETURNS integer
    AS 'MODULE_PATHNAME', 'funnel_agg_final'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_final(internal) IS
    'Final function of the omni.funnel aggregate: the deepest funnel step reached';
CREATE FUNCTION omni.funnel_agg_combine(internal, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'funnel_agg_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_combine(internal, internal) IS
    'Combine function of the omni.funnel aggregate (parallel partial states)';
CREATE FUNCTION omni.funnel_agg_serialize(internal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'funnel_agg_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_serialize(internal) IS
    'Serialization function of the omni.funnel aggregate state';
CREATE FUNCTION omni.funnel_agg_deserialize(bytea, internal) RETURNS internal
    AS 'MODULE_PATHNAME', 'funnel_agg_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.funnel_agg_deserialize(bytea, internal) IS
    'Deserialization function of the omni.funnel aggregate state';

CREATE AGGREGATE omni.funnel(ts timestamptz, channel text, event text, "window" interval, steps text[]) (
    SFUNC = omni.funnel_agg_transfn,
    STYPE = internal,
    SSPACE = 1024,
    FINALFUNC = omni.funnel_agg_final,
    COMBINEFUNC = omni.funnel_agg_combine,
    SERIALFUNC = omni.funnel_agg_serialize,
    DESERIALFUNC = omni.funnel_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE omni.funnel(timestamptz, text, text, interval, text[]) IS
    'Deepest funnel step reached within the window, from (ts, channel, event) rows in any order (ClickHouse windowFunnel); same as omni.funnel(omni.journey(ts, channel, event), window, steps)';
CREATE AGGREGATE omni.funnel(ts timestamptz, channel text, event text, "window" interval, steps text[], mode text[]) (
    SFUNC = omni.funnel_agg_transfn,
    STYPE = internal,
    SSPACE = 1024,
    FINALFUNC = omni.funnel_agg_final,
    COMBINEFUNC = omni.funnel_agg_combine,
    SERIALFUNC = omni.funnel_agg_serialize,
    DESERIALFUNC = omni.funnel_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE omni.funnel(timestamptz, text, text, interval, text[], text[]) IS
    'Deepest funnel step reached within the window, from (ts, channel, event) rows, with modes strict_order, strict_deduplication, strict_increase, strict_once, allow_reentry';

/*
 * The same aggregate over (ts, event) rows, for funnels whose steps name
 * events only: with no channel to read, a query grouped by customer can
 * take its rows from touchpoint_customer_event_ts_idx (customer_id, event,
 * ts) alone, in customer order, without a hash table or the table's pages.
 * It has a name of its own: as a second omni.funnel(ts, event, window,
 * steps, mode) it would make omni.funnel(ts, channel, event, window, steps)
 * called with literals ambiguous.
 */
CREATE AGGREGATE omni.event_funnel(ts timestamptz, event text, "window" interval, steps text[]) (
    SFUNC = omni.funnel_agg_events_transfn,
    STYPE = internal,
    SSPACE = 1024,
    FINALFUNC = omni.funnel_agg_final,
    COMBINEFUNC = omni.funnel_agg_combine,
    SERIALFUNC = omni.funnel_agg_serialize,
    DESERIALFUNC = omni.funnel_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE omni.event_funnel(timestamptz, text, interval, text[]) IS
    'Deepest funnel step reached within the window, from (ts, event) rows in any order; steps name events only; same as omni.funnel(ts, channel, event, window, steps)';
CREATE AGGREGATE omni.event_funnel(ts timestamptz, event text, "window" interval, steps text[], mode text[]) (
    SFUNC = omni.funnel_agg_events_transfn,
    STYPE = internal,
    SSPACE = 1024,
    FINALFUNC = omni.funnel_agg_final,
    COMBINEFUNC = omni.funnel_agg_combine,
    SERIALFUNC = omni.funnel_agg_serialize,
    DESERIALFUNC = omni.funnel_agg_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE omni.event_funnel(timestamptz, text, interval, text[], text[]) IS
    'Deepest funnel step reached within the window, from (ts, event) rows, with modes strict_order, strict_deduplication, strict_increase, strict_once, allow_reentry';

CREATE FUNCTION omni.sequence_match(j omni.journey, pattern text, conditions text[]) RETURNS boolean
    AS 'MODULE_PATHNAME', 'journey_sequence_match'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.sequence_match(omni.journey, text, text[]) IS
    'Whether the journey contains the pattern (ClickHouse sequenceMatch syntax: (?N), ., .*, (?t<=seconds)); (?N) is conditions[N]';

CREATE FUNCTION omni.sequence_count(j omni.journey, pattern text, conditions text[]) RETURNS integer
    AS 'MODULE_PATHNAME', 'journey_sequence_count'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.sequence_count(omni.journey, text, text[]) IS
    'Number of non-overlapping occurrences of the pattern (ClickHouse sequenceCount)';

/* Attribution. */
CREATE FUNCTION omni.attribution(j omni.journey, conversion text, model text DEFAULT 'linear',
                                 half_life interval DEFAULT '7 days')
    RETURNS TABLE (channel text, credit double precision)
    AS 'MODULE_PATHNAME', 'journey_attribution'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION omni.attribution(omni.journey, text, text, interval) IS
    'Credit per channel for the conversions of the journey: first_touch, last_touch, last_non_direct, linear, time_decay or position_based; one credit per conversion';

CREATE TYPE omni.markov_credit AS (channel text, removal_effect double precision, credit double precision);
COMMENT ON TYPE omni.markov_credit IS
    'A channel''s Markov removal effect and its credit (removal effects normalized to the number of conversions)';

CREATE FUNCTION omni.markov_attribution_transfn(bytea, omni.journey, text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'markov_attribution_transfn'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.markov_attribution_transfn(bytea, omni.journey, text) IS
    'Transition function of omni.markov_attribution: counts the channel transitions of a journey';

CREATE FUNCTION omni.markov_attribution_combine(bytea, bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'markov_attribution_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.markov_attribution_combine(bytea, bytea) IS
    'Combine function of omni.markov_attribution: adds two transition counts';

CREATE FUNCTION omni.markov_attribution_final(bytea) RETURNS omni.markov_credit[]
    AS 'MODULE_PATHNAME', 'markov_attribution_final'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.markov_attribution_final(bytea) IS
    'Final function of omni.markov_attribution: removal effects and credits per channel';

CREATE AGGREGATE omni.markov_attribution(omni.journey, text) (
    SFUNC = omni.markov_attribution_transfn,
    STYPE = bytea,
    FINALFUNC = omni.markov_attribution_final,
    COMBINEFUNC = omni.markov_attribution_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE omni.markov_attribution(omni.journey, text) IS
    'Markov-chain removal-effect attribution across journeys; read the result with unnest(...)';

CREATE FUNCTION omni.conversion() RETURNS text
    AS 'MODULE_PATHNAME', 'journey_conversion'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION omni.conversion() IS
    'The step pattern of a conversion used by the journey views (setting omni.conversion, default purchase)';

/*
 * Views for BI tools: standard SQL types only, customers by
 * omni.touchpoint.customer_id, which merges, unmerges and re-resolution
 * re-point in their own transaction (no join through omni.identity).
 */
CREATE VIEW omni.customer_journey AS
SELECT cj.customer_id,
       cj.first_ts,
       cj.last_ts,
       omni.length(cj.journey)::bigint AS steps,
       omni.channels(cj.journey) AS channels,
       omni.path(cj.journey) AS path,
       omni.sessions(cj.journey)::bigint AS sessions,
       omni.sequence_match(cj.journey, '(?1)', ARRAY[omni.conversion()]) AS converted
  FROM (SELECT t.customer_id,
               omni.journey(t.ts, t.channel, t.event) AS journey,
               pg_catalog.min(t.ts) AS first_ts,
               pg_catalog.max(t.ts) AS last_ts
          FROM omni.touchpoint t
         GROUP BY t.customer_id) cj;
COMMENT ON VIEW omni.customer_journey IS
    'One row per customer: the journey over all of the customer''s identifiers and channels';
COMMENT ON COLUMN omni.customer_journey.customer_id IS 'Customer (omni.touchpoint.customer_id, re-pointed by a merge in its own transaction, so a merge shows at once)';
COMMENT ON COLUMN omni.customer_journey.first_ts IS 'Time of the first touchpoint';
COMMENT ON COLUMN omni.customer_journey.last_ts IS 'Time of the last touchpoint';
COMMENT ON COLUMN omni.customer_journey.steps IS 'Number of touchpoints';
COMMENT ON COLUMN omni.customer_journey.channels IS 'Channels used, in order of first use';
COMMENT ON COLUMN omni.customer_journey.path IS 'Channel path, e.g. web > email > store (repeats collapsed)';
COMMENT ON COLUMN omni.customer_journey.sessions IS 'Number of sessions (30 minutes of inactivity start a new one)';
COMMENT ON COLUMN omni.customer_journey.converted IS 'Whether a step matches the conversion pattern (setting omni.conversion)';

CREATE VIEW omni.channel_transition AS
SELECT tr.from_channel,
       tr.to_channel,
       pg_catalog.sum(tr.n)::bigint AS transitions,
       pg_catalog.count(*) AS customers
  FROM (SELECT t.customer_id, omni.journey(t.ts, t.channel, t.event) AS journey
          FROM omni.touchpoint t
         GROUP BY t.customer_id) cj,
       LATERAL omni.transitions(cj.journey) tr
 GROUP BY tr.from_channel, tr.to_channel;
COMMENT ON VIEW omni.channel_transition IS
    'Moves of customers from one channel to the next, over all customer journeys';
COMMENT ON COLUMN omni.channel_transition.from_channel IS 'Channel of the step before';
COMMENT ON COLUMN omni.channel_transition.to_channel IS 'Channel of the step after';
COMMENT ON COLUMN omni.channel_transition.transitions IS 'Number of moves';
COMMENT ON COLUMN omni.channel_transition.customers IS 'Number of customers who made the move at least once';

CREATE VIEW omni.channel_attribution AS
WITH cj AS (
    SELECT t.customer_id, omni.journey(t.ts, t.channel, t.event) AS journey
      FROM omni.touchpoint t
     GROUP BY t.customer_id)
SELECT m.model, a.channel, pg_catalog.sum(a.credit) AS credit
  FROM cj
 CROSS JOIN (VALUES ('first_touch'::text), ('last_touch'), ('last_non_direct'), ('linear'),
                    ('time_decay'), ('position_based')) m(model)
 CROSS JOIN LATERAL omni.attribution(cj.journey, omni.conversion(), m.model) a
 GROUP BY m.model, a.channel
UNION ALL
SELECT 'markov'::text, (mc.c).channel, (mc.c).credit
  FROM (SELECT pg_catalog.unnest(omni.markov_attribution(cj.journey, omni.conversion())) AS c FROM cj) mc;
COMMENT ON VIEW omni.channel_attribution IS
    'Conversions credited to channels by each attribution model (first_touch, last_touch, last_non_direct, linear, time_decay with a 7-day half-life, position_based, markov)';
COMMENT ON COLUMN omni.channel_attribution.model IS 'Attribution model';
COMMENT ON COLUMN omni.channel_attribution.channel IS 'Channel';
COMMENT ON COLUMN omni.channel_attribution.credit IS 'Conversions credited to the channel (each model hands out one credit per conversion)';
