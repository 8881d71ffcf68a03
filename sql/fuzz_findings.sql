-- Bugs found by the libFuzzer harnesses of test/fuzz, reproduced through SQL.
-- Every error message must be valid in the database encoding, whatever the
-- input: a long sequence pattern is quoted by its first 50 bytes, and that
-- cut must not split a multibyte character.  (The pattern below has "é" at
-- bytes 50-51; the cut used to keep only its first byte.)
SELECT omni.sequence_match('[{"ts": "2026-03-01T09:00:00Z", "channel": "web"}]'::omni.journey,
                           repeat('(?1)', 12) || '.é' || repeat('x', 20), '{web:*}');
-- A phone number with a character that is not allowed: the message quotes
-- the character, which was read from a stack buffer after its function
-- returned (in a UTF-8 database, where there is nothing to convert).
SELECT omni.normalize_phone('+1 212 555 O123');
SELECT omni.normalize_phone('212 555 01€3');
