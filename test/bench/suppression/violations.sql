/*
 * After the concurrent run: messages per status, and every cap violation.
 * Messages count at the time they go out (send_at, else created_at).  A
 * rolling cap of N in window w holds when no window [t, t + w) starting at
 * a queued or delayed message holds more than N of them; a calendar-day cap
 * when no local day does.
 */
\set ON_ERROR_STOP 1
\echo '== concurrent run: messages by status'
SELECT status, count(*) AS messages FROM omni.message GROUP BY status ORDER BY status;
\echo '== cap violations (expected 0)'
SELECT r.name AS rule, r.max_messages,
       coalesce(r.time_window::text, 'calendar day') AS window,
       CASE WHEN r.calendar_day THEN
           (SELECT count(*) FROM (
                SELECT 1 FROM omni.message m JOIN omni.customer c USING (customer_id)
                 WHERE m.status IN ('queued', 'delayed') AND m.category <> 'transactional'
                   AND (r.channels IS NULL OR m.channel = ANY (r.channels))
                 GROUP BY m.customer_id,
                          (coalesce(m.send_at, m.created_at) AT TIME ZONE coalesce(c.time_zone, coalesce(current_setting('omni.default_time_zone', true), 'UTC')))::date
                HAVING count(*) > r.max_messages) v)
       ELSE
           (SELECT count(*) FROM omni.message a
             WHERE a.status IN ('queued', 'delayed') AND a.category <> 'transactional'
               AND (r.channels IS NULL OR a.channel = ANY (r.channels))
               AND (SELECT count(*) FROM omni.message b
                     WHERE b.customer_id = a.customer_id AND b.status IN ('queued', 'delayed')
                       AND b.category <> 'transactional'
                       AND (r.channels IS NULL OR b.channel = ANY (r.channels))
                       AND coalesce(b.send_at, b.created_at) >= coalesce(a.send_at, a.created_at)
                       AND coalesce(b.send_at, b.created_at) < ((coalesce(a.send_at, a.created_at) AT TIME ZONE 'UTC') + r.time_window) AT TIME ZONE 'UTC')
                   > r.max_messages)
       END AS violations
  FROM omni.suppression_rule r
 WHERE r.kind = 'frequency_cap' AND r.enabled
 ORDER BY r.name;
