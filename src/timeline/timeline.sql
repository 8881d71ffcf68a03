\echo Use "CREATE EXTENSION omnichannel" to load this file. \quit

/*
 * The timeline index access method: per key, time-ordered compressed
 * posting lists, scanned newest (or oldest) first across all the keys of
 * an "= ANY" without a sort.  See src/timeline/timeline.h.
 */

CREATE FUNCTION omni.timeline_handler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME', 'tl_handler'
    LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION omni.timeline_handler(internal) IS
    'Handler of the timeline index access method';

CREATE ACCESS METHOD timeline TYPE INDEX HANDLER omni.timeline_handler;
COMMENT ON ACCESS METHOD timeline IS
    'Timeline index on (key, time): per key, time-ordered compressed posting lists; the latest rows of many keys merged in time order';

/*
 * Key classes: equality only (a scan always constrains the key by it),
 * with any integer type on the right, so that "identity_id = 42" (an
 * integer constant) can use the index.
 */
CREATE OPERATOR CLASS omni.int8_timeline_ops
    DEFAULT FOR TYPE pg_catalog.int8 USING timeline AS
        OPERATOR 3 pg_catalog.= (pg_catalog.int8, pg_catalog.int8);
ALTER OPERATOR FAMILY omni.int8_timeline_ops USING timeline ADD
    OPERATOR 3 pg_catalog.= (pg_catalog.int8, pg_catalog.int4),
    OPERATOR 3 pg_catalog.= (pg_catalog.int8, pg_catalog.int2);
COMMENT ON OPERATOR CLASS omni.int8_timeline_ops USING timeline IS
    'bigint keys of a timeline index: key = c and key = ANY(array)';
COMMENT ON OPERATOR FAMILY omni.int8_timeline_ops USING timeline IS
    'bigint keys of a timeline index';

CREATE OPERATOR CLASS omni.int4_timeline_ops
    DEFAULT FOR TYPE pg_catalog.int4 USING timeline AS
        OPERATOR 3 pg_catalog.= (pg_catalog.int4, pg_catalog.int4);
ALTER OPERATOR FAMILY omni.int4_timeline_ops USING timeline ADD
    OPERATOR 3 pg_catalog.= (pg_catalog.int4, pg_catalog.int8),
    OPERATOR 3 pg_catalog.= (pg_catalog.int4, pg_catalog.int2);
COMMENT ON OPERATOR CLASS omni.int4_timeline_ops USING timeline IS
    'integer keys of a timeline index: key = c and key = ANY(array)';
COMMENT ON OPERATOR FAMILY omni.int4_timeline_ops USING timeline IS
    'integer keys of a timeline index';

/* Time classes: the comparisons, numbered as in btree. */
CREATE OPERATOR CLASS omni.timestamptz_timeline_ops
    DEFAULT FOR TYPE pg_catalog.timestamptz USING timeline AS
        OPERATOR 1 pg_catalog.<  (pg_catalog.timestamptz, pg_catalog.timestamptz),
        OPERATOR 2 pg_catalog.<= (pg_catalog.timestamptz, pg_catalog.timestamptz),
        OPERATOR 3 pg_catalog.=  (pg_catalog.timestamptz, pg_catalog.timestamptz),
        OPERATOR 4 pg_catalog.>= (pg_catalog.timestamptz, pg_catalog.timestamptz),
        OPERATOR 5 pg_catalog.>  (pg_catalog.timestamptz, pg_catalog.timestamptz);
COMMENT ON OPERATOR CLASS omni.timestamptz_timeline_ops USING timeline IS
    'timestamptz times of a timeline index: <, <=, =, >=, > and BETWEEN';
COMMENT ON OPERATOR FAMILY omni.timestamptz_timeline_ops USING timeline IS
    'timestamptz times of a timeline index';

CREATE OPERATOR CLASS omni.timestamp_timeline_ops
    DEFAULT FOR TYPE pg_catalog.timestamp USING timeline AS
        OPERATOR 1 pg_catalog.<  (pg_catalog.timestamp, pg_catalog.timestamp),
        OPERATOR 2 pg_catalog.<= (pg_catalog.timestamp, pg_catalog.timestamp),
        OPERATOR 3 pg_catalog.=  (pg_catalog.timestamp, pg_catalog.timestamp),
        OPERATOR 4 pg_catalog.>= (pg_catalog.timestamp, pg_catalog.timestamp),
        OPERATOR 5 pg_catalog.>  (pg_catalog.timestamp, pg_catalog.timestamp);
COMMENT ON OPERATOR CLASS omni.timestamp_timeline_ops USING timeline IS
    'timestamp times of a timeline index: <, <=, =, >=, > and BETWEEN';
COMMENT ON OPERATOR FAMILY omni.timestamp_timeline_ops USING timeline IS
    'timestamp times of a timeline index';

/* The touchpoints of every identity, newest first, through the index. */
CREATE INDEX touchpoint_timeline_idx ON omni.touchpoint USING timeline (identity_id, ts);
COMMENT ON INDEX omni.touchpoint_timeline_idx IS
    'Timeline index: the latest touchpoints of any set of identities, merged in time order';

/*
 * The latest touchpoints of a customer across all of their identities.
 * A plain SQL function, STABLE and not STRICT, so that the planner inlines
 * it into the calling query and the plan is one merged, newest-first scan
 * of the timeline index that stops after n rows.
 */
CREATE FUNCTION omni.timeline(customer_id bigint, n integer DEFAULT 50,
                              before timestamptz DEFAULT 'infinity')
RETURNS SETOF omni.touchpoint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT t.*
      FROM omni.touchpoint t
     WHERE t.identity_id OPERATOR(pg_catalog.=) ANY (ARRAY(
               SELECT i.identity_id FROM omni.identity i
                WHERE i.customer_id OPERATOR(pg_catalog.=) timeline.customer_id))
       AND t.ts OPERATOR(pg_catalog.<) timeline.before
     ORDER BY t.ts DESC
     LIMIT timeline.n
$$;
COMMENT ON FUNCTION omni.timeline(bigint, integer, timestamptz) IS
    'The customer''s latest n touchpoints before a time, across all of their identities, newest first (one merged scan of the timeline index)';

CREATE FUNCTION omni.timeline_check(index regclass,
                                    OUT keys bigint, OUT segments bigint,
                                    OUT entries bigint, OUT live_rows bigint)
    AS 'MODULE_PATHNAME', 'omni_timeline_check'
    LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION omni.timeline_check(regclass) IS
    'Verifies a timeline index against its table (structure, order bounds, every live row indexed once); raises index_corrupted on the first problem';
REVOKE ALL ON FUNCTION omni.timeline_check(regclass) FROM PUBLIC;
