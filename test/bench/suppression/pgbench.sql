\set c random(1, :customers)
\set k random(0, 7)
INSERT INTO omni.message (recipient_kind, recipient, channel, campaign, category, topic)
VALUES ('email', 'customer' || :c || '@bench.test',
        (ARRAY['email', 'email', 'push', 'app', 'sms', 'whatsapp', 'email', 'push'])[:k + 1],
        'flash_' || (:k % 3), CASE WHEN :k = 0 THEN 'transactional' ELSE 'marketing' END, 'P00' || :k);
