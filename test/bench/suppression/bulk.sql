/*
 * Bulk inserts of the benchmark: the same :messages messages inserted into
 * omni.message with no trigger, with omni.suppress() (C) and with the
 * PL/pgSQL trigger of plpgsql.sql, :rounds rounds each (interleaved), then
 * the medians, the ratios, and whether both triggers decided alike.
 *
 * Four more modes, interleaved with those, show where the C trigger's cost
 * comes from (they do not change the ratios above): "customer" inserts the
 * same rows with no trigger but with the customer each message resolves to,
 * as the trigger stores it (the foreign key to omni.customer is then
 * checked and the customer_id indexes get entries at random places); the
 * c_* modes run omni.suppress() with only some of the rules enabled.
 */
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TABLE bench.timing (mode text, round int, messages bigint, seconds float8);
CREATE TABLE bench.decision (mode text, n bigint, customer_id bigint, status text, send_at timestamptz,
                             reasons text[], PRIMARY KEY (mode, n));

CREATE FUNCTION bench.run(mode text, round int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    t1 timestamptz;
    rows bigint;
BEGIN
    TRUNCATE omni.message;
    ALTER TABLE omni.message DISABLE TRIGGER message_suppress;
    DROP TRIGGER IF EXISTS bench_plpgsql ON omni.message;
    IF mode = 'c' OR mode LIKE 'c\_%' THEN
        ALTER TABLE omni.message ENABLE TRIGGER message_suppress;
    ELSIF mode = 'plpgsql' THEN
        CREATE TRIGGER bench_plpgsql BEFORE INSERT ON omni.message
            FOR EACH ROW EXECUTE FUNCTION bench.suppress_plpgsql();
    END IF;
    -- the rules of a c_* mode; every other mode runs with all of them
    UPDATE omni.suppression_rule r
       SET enabled = CASE mode WHEN 'c_no_rule' THEN false
                               WHEN 'c_consent_quiet' THEN r.kind IN ('consent', 'quiet_hours')
                               WHEN 'c_and_caps' THEN r.kind IN ('consent', 'quiet_hours', 'frequency_cap')
                               ELSE true END;
    t0 := clock_timestamp();
    IF mode = 'customer' THEN
        INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, category, topic, created_at,
                                  priority, customer_id)
        SELECT recipient_kind, recipient, channel, campaign, category, topic, created_at, n, customer_id
          FROM bench.outbox_src ORDER BY n;
    ELSE
        INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, category, topic, created_at, priority)
        SELECT recipient_kind, recipient, channel, campaign, category, topic, created_at, n
          FROM bench.outbox_src ORDER BY n;
    END IF;
    GET DIAGNOSTICS rows = ROW_COUNT;
    t1 := clock_timestamp();
    UPDATE omni.suppression_rule SET enabled = true WHERE NOT enabled;
    INSERT INTO bench.timing VALUES (mode, round, rows, extract(epoch FROM t1 - t0));
    IF mode IN ('c', 'plpgsql') THEN
        DELETE FROM bench.decision d WHERE d.mode = run.mode;
        INSERT INTO bench.decision
        SELECT run.mode, priority, customer_id, status, send_at, reasons FROM omni.message;
    END IF;
END $$;

SELECT count(bench.run(m, r)) AS runs FROM generate_series(1, :rounds) r, unnest(ARRAY['none', 'customer', 'c_no_rule', 'c_consent_quiet', 'c_and_caps', 'c', 'plpgsql']) m;
-- leave the extension's own trigger in place
DROP TRIGGER IF EXISTS bench_plpgsql ON omni.message;
ALTER TABLE omni.message ENABLE TRIGGER message_suppress;

\echo '== bulk INSERT ... SELECT into omni.message (median of the rounds)'
CREATE TEMP VIEW med AS
SELECT mode, max(messages) AS messages,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS seconds
  FROM bench.timing GROUP BY mode;
SELECT mode, messages, round(seconds::numeric, 2) AS seconds,
       round((messages / seconds)::numeric) AS messages_per_s,
       round((seconds / messages * 1e6)::numeric, 1) AS us_per_message
  FROM med WHERE mode IN ('none', 'c', 'plpgsql') ORDER BY seconds;
SELECT round(((SELECT seconds FROM med WHERE mode = 'c') / (SELECT seconds FROM med WHERE mode = 'none'))::numeric, 2)
           AS c_trigger_overhead_x,
       round(((SELECT seconds FROM med WHERE mode = 'plpgsql') / (SELECT seconds FROM med WHERE mode = 'c'))::numeric, 2)
           AS c_faster_than_plpgsql_x;

\echo '== where the cost of omni.suppress() comes from (median of the rounds; not the target)'
SELECT m.mode,
       CASE m.mode WHEN 'none' THEN 'no trigger, rows stored undecided (the baseline)'
                   WHEN 'customer' THEN 'no trigger, rows stored with their customer'
                   WHEN 'c_no_rule' THEN 'omni.suppress(), no rule enabled'
                   WHEN 'c_consent_quiet' THEN 'omni.suppress(), consent and quiet hours'
                   WHEN 'c_and_caps' THEN 'omni.suppress(), and the frequency caps'
                   WHEN 'c' THEN 'omni.suppress(), every rule'
       END AS what,
       round((m.seconds / m.messages * 1e6)::numeric, 1) AS us_per_message,
       round((m.seconds / b.seconds)::numeric, 2) AS x_baseline
  FROM med m, med b
 WHERE b.mode = 'none' AND m.mode <> 'plpgsql'
 ORDER BY array_position(ARRAY['none', 'customer', 'c_no_rule', 'c_consent_quiet', 'c_and_caps', 'c'], m.mode);

\echo '== the decisions (C trigger)'
SELECT status, count(*) AS messages FROM bench.decision WHERE mode = 'c' GROUP BY status ORDER BY status;
SELECT reason, count(*) AS messages FROM bench.decision, unnest(reasons) reason
 WHERE mode = 'c' GROUP BY reason ORDER BY count(*) DESC, reason;
\echo '== messages the two triggers decided differently (expected 0)'
SELECT count(*) AS different_decisions
  FROM bench.decision c JOIN bench.decision p ON p.n = c.n AND p.mode = 'plpgsql'
 WHERE c.mode = 'c'
   AND (c.customer_id, c.status, c.send_at, c.reasons) IS DISTINCT FROM (p.customer_id, p.status, p.send_at, p.reasons);
