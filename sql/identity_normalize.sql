-- Identity resolution: normalization of identifiers (ICU).
\pset null '<null>'

-- E-mail: trim, lower case, UTS #46 domains, provider rules.
SELECT v, omni.normalize_email(v) FROM (VALUES
    ('  Anna.Smith@Example.NET '),
    ('info@Bücher.de'),
    ('Anna.Smith+news@GoogleMail.com'),
    ('a.n.n.a+x+y@gmail.com'),
    ('A.B+orders@Outlook.com'),
    ('first.last+tag@hotmail.com'),
    ('first.last+tag@icloud.com'),
    ('first.last+tag@me.com'),
    ('first.last+tag@live.com'),
    ('john-doe-shop@yahoo.com'),
    ('john+x@yahoo.com'),
    -- the providers' country domains follow their rules; Yahoo Japan is another company
    ('First.Last+tag@Hotmail.co.uk'),
    ('first.last+tag@outlook.de'),
    ('first.last+tag@live.com.mx'),
    ('john-doe-shop@yahoo.co.uk'),
    ('john-doe-shop@yahoo.co.jp'),
    ('a.b_c-d+x@proton.me'),
    ('a.b_c-d+x@protonmail.com'),
    ('a.b+x@company.example'),
    ('straße@straße.de'),
    ('user@例え.jp'),
    ('user@domain.com.')
) t(v);
-- a normalized address normalizes to itself, so a stored identifier looked
-- up by its own value finds itself (a Yahoo tag starts at the first dash)
SELECT v, omni.normalize_email(v) AS once,
       omni.normalize_email(omni.normalize_email(v)) = omni.normalize_email(v) AS idempotent
  FROM (VALUES ('ann-b-news@yahoo.com'), ('a-b-c@ymail.com'), ('a+b-c@yahoo.com'),
               ('x.y+z-w@gmail.com'), ('a-b+c@proton.me'), ('a.b-c+d@outlook.com'),
               ('a_b-c@yahoo.com')) t(v);

-- Not addresses: 22023 naming the value.
\set VERBOSITY default
SELECT omni.normalize_email('foo');
SELECT omni.normalize_email('   ');
SELECT omni.normalize_email('a@b@c.com');
SELECT omni.normalize_email('@example.com');
SELECT omni.normalize_email('anna@');
SELECT omni.normalize_email('anna smith@example.com');
SELECT omni.normalize_email('.anna@example.com');
SELECT omni.normalize_email('an..na@example.com');
SELECT omni.normalize_email('anna@localhost');
SELECT omni.normalize_email('anna@[192.0.2.1]');
SELECT omni.normalize_email('anna@exa_mple.com');
SELECT omni.normalize_email('anna@192.0.2.1');
SELECT omni.normalize_email('+news@gmail.com');
SELECT omni.normalize_email(repeat('a', 65) || '@example.com');
\set VERBOSITY terse
DO $$ BEGIN PERFORM omni.normalize_email('nope'); EXCEPTION WHEN invalid_parameter_value THEN RAISE NOTICE 'SQLSTATE 22023'; END $$;
\set VERBOSITY default

-- Phones to E.164: NANP, Europe, international prefixes, trunk prefixes, extensions.
SELECT v, r, omni.normalize_phone(v, r) FROM (VALUES
    ('(212) 555-1234', 'US'),
    ('212.555.1234', 'US'),
    ('1-212-555-1234', 'US'),
    ('+1 (212) 555-1234', 'US'),
    ('001 212 555 1234', 'US'),
    ('011 44 7911 123456', 'US'),
    ('212-555-1234 ext. 55', 'US'),
    ('212-555-1234 x55', 'US'),
    ('212 555 1234#55', 'US'),
    ('tel:+1-212-555-1234;ext=55', 'US'),
    ('(416) 555-0199', 'CA'),
    ('07911 123456', 'GB'),
    ('+44 (0)7911 123456', 'GB'),
    ('+44 07911 123456', 'FR'),
    ('0044 7911 123456', 'DE'),
    ('0151 12345678', 'DE'),
    ('06 12 34 56 78', 'FR'),
    ('+33 6 12 34 56 78', 'US'),
    ('06 1234 5678', 'IT'),
    ('+39 06 1234 5678', 'US'),
    ('333 123 4567', 'IT'),
    ('612 345 678', 'ES'),
    ('06-30 123 4567', 'HU'),
    ('8 (912) 345-67-89', 'RU'),
    ('+7 912 345-67-89', 'US'),
    ('090-1234-5678', 'JP'),
    ('98765 43210', 'IN'),
    ('+91 98765 43210', 'US'),
    ('(11) 98765-4321', 'BR'),
    ('+52 1 55 1234 5678', 'US'),
    ('55 1234 5678', 'MX'),
    ('138 0013 8000', 'CN'),
    ('079 123 45 67', 'CH'),
    ('412 34 567', 'NO'),
    ('０３-１２３４-５６７８', 'JP'),
    ('+86 138 0013 8000', 'us')
) t(v, r);
SELECT omni.normalize_phone('(212) 555-1234');  -- region defaults to US
-- One number of every other region of the plan, written nationally (with the
-- trunk prefix where the country has one) and from abroad (00 prefix), next
-- to the E.164 form it must give; Argentina's 011 is Buenos Aires, not an
-- international prefix (011 is one in the NANP only).
SELECT r, v, e, omni.normalize_phone(v, r) = e AS national,
       omni.normalize_phone('00 ' || substr(e, 2), CASE WHEN r = 'DE' THEN 'FR' ELSE 'DE' END) = e AS from_abroad
  FROM (VALUES
    ('AT', '0664 1234567', '+436641234567'),
    ('BE', '0470 12 34 56', '+32470123456'),
    ('BG', '0887 123 456', '+359887123456'),
    ('HR', '091 234 5678', '+385912345678'),
    ('CY', '96 123456', '+35796123456'),
    ('CZ', '601 123 456', '+420601123456'),
    ('DK', '20 12 34 56', '+4520123456'),
    ('EE', '5123 4567', '+37251234567'),
    ('FI', '041 2345678', '+358412345678'),
    ('DE', '030 123456', '+4930123456'),
    ('GR', '691 234 5678', '+306912345678'),
    ('IE', '085 123 4567', '+353851234567'),
    ('LV', '21 234 567', '+37121234567'),
    ('LT', '8 612 34567', '+37061234567'),
    ('LU', '621 123 456', '+352621123456'),
    ('MT', '9912 3456', '+35699123456'),
    ('NL', '06 12345678', '+31612345678'),
    ('PL', '512 345 678', '+48512345678'),
    ('PT', '912 345 678', '+351912345678'),
    ('RO', '0712 345 678', '+40712345678'),
    ('SK', '0912 123 456', '+421912123456'),
    ('SI', '031 234 567', '+38631234567'),
    ('SE', '070 123 45 67', '+46701234567'),
    ('ID', '0812 3456 7890', '+6281234567890'),
    ('PK', '0301 2345678', '+923012345678'),
    ('NG', '0803 123 4567', '+2348031234567'),
    ('BD', '01712 345678', '+8801712345678'),
    ('ET', '091 123 4567', '+251911234567'),
    ('EG', '010 1234 5678', '+201012345678'),
    ('PH', '0917 123 4567', '+639171234567'),
    ('CD', '081 234 5678', '+243812345678'),
    ('VN', '091 234 5678', '+84912345678'),
    ('IR', '0912 345 6789', '+989123456789'),
    ('TR', '0532 123 45 67', '+905321234567'),
    ('TH', '081 234 5678', '+66812345678'),
    ('TZ', '0712 345 678', '+255712345678'),
    ('ZA', '082 123 4567', '+27821234567'),
    ('KE', '0712 345678', '+254712345678'),
    ('MM', '09 123 456 789', '+959123456789'),
    ('CO', '321 1234567', '+573211234567'),
    ('KR', '010-1234-5678', '+821012345678'),
    ('SD', '091 123 4567', '+249911234567'),
    ('UG', '0772 123456', '+256772123456'),
    ('DZ', '0551 23 45 67', '+213551234567'),
    ('IQ', '0790 123 4567', '+9647901234567'),
    ('AR', '011 2345-6789', '+541123456789'),
    ('UA', '050 123 4567', '+380501234567'),
    ('KZ', '8 701 123 4567', '+77011234567'),
    ('PR', '(787) 555-0123', '+17875550123')
) t(r, v, e) ORDER BY r;

-- Impossible numbers and unknown regions: 22023 with the value.
SELECT omni.normalize_phone('000-000-0000');
SELECT omni.normalize_phone('555-1234');
SELECT omni.normalize_phone('(012) 555-1234');
SELECT omni.normalize_phone('12', 'FR');
SELECT omni.normalize_phone('+999 1234 5678');
SELECT omni.normalize_phone('+0 1234 5678');
SELECT omni.normalize_phone('call me maybe');
SELECT omni.normalize_phone('---');
SELECT omni.normalize_phone('+33 0 6 12 34 56', 'FR');
\set VERBOSITY terse
SELECT omni.normalize_phone('612 345 678', 'XX');
\set VERBOSITY default

-- Names: transliteration to Latin ASCII, case folding, NFKC, white space collapsed.
SELECT v, omni.normalize_name(v) FROM (VALUES
    ('José Ñúñez'), ('JOSE  NUNEZ'), ('  jose   nunez  '), ('Иван Петров'), ('Søren Müller'),
    ('Straße'), ('Ｆｕｌｌｗｉｄｔｈ'), ('Zoë O''Brien'), ('Ελένη Παπαδοπούλου')
) t(v);
SELECT omni.normalize_name('José Ñúñez') = omni.normalize_name('JOSE  NUNEZ') AS same_person;
SELECT omni.normalize_name('   ');

-- Confusable skeletons: Latin "paypal" and one with a Cyrillic "а" (U+0430) agree.
SELECT omni.skeleton('paypal') = omni.skeleton('p' || chr(1072) || 'ypal') AS confusable,
       omni.skeleton('paypal') = omni.skeleton('paypa1') AS digit_one_confusable,
       omni.skeleton('paypal') = omni.skeleton('ebay') AS different;

-- Jaro-Winkler, standard definition.
SELECT a, b, round(omni.jaro_winkler(a, b)::numeric, 3) AS jw FROM (VALUES
    ('MARTHA', 'MARHTA'), ('DWAYNE', 'DUANE'), ('DIXON', 'DICKSONX'), ('same', 'same'),
    ('abc', 'xyz'), ('', ''), ('a', ''), ('Zoë', 'Zoe')
) t(a, b);

-- Dispatch by kind.
SELECT omni.normalize('email', ' X.Y+z@GMAIL.com') AS email,
       omni.normalize('phone', '(212) 555-1234') AS phone,
       omni.normalize('cookie', '  ck_AbC ') AS cookie_keeps_case,
       omni.normalize('crm', 'ＣＲＭ-0001') AS crm_nfkc;
SELECT omni.normalize('fax', '555');
SELECT omni.normalize('email', 'not an address');
SELECT omni.try_normalize('email', 'not an address') AS invalid_is_null,
       omni.try_normalize('phone', '212 555 1234') AS valid;
SELECT omni.try_normalize('fax', '555');
SELECT omni.normalize('cookie', '   ');
-- the phone kind reads numbers of its region
BEGIN;
UPDATE omni.identity_rule SET region = 'FR' WHERE kind = 'phone';
SELECT omni.normalize('phone', '06 12 34 56 78') AS french_phone;
ROLLBACK;
-- the rules are cached per backend: the rolled-back change is gone
SELECT omni.try_normalize('phone', '06 12 34 56 78') AS not_american, omni.normalize('phone', '(212) 555-1234') AS american;
-- a region per call
SELECT omni.normalize('phone', '06 12 34 56 78', 'FR') AS french, omni.try_normalize('phone', '06 12 34 56 78', 'FR') AS also_french;
SELECT omni.normalize('phone', '06 12 34 56 78', 'XX');
SELECT omni.try_normalize('phone', '06 12 34 56 78', 'XX');
SELECT omni.normalize('email', 'A@B.org', 'FR') AS region_ignored_for_email;
-- a kind with the name normalizer
BEGIN;
INSERT INTO omni.identity_rule (kind, priority, normalizer) VALUES ('full_name', 10, 'name');
SELECT omni.normalize('full_name', 'José  Ñúñez');
ROLLBACK;
-- strictness
SELECT omni.normalize(NULL, 'x') IS NULL AS strict_kind, omni.normalize_email(NULL) IS NULL AS strict_email;

-- Blocklist checks (normalized first).
SELECT kind, v, omni.blocked(kind, v) FROM (VALUES
    ('email', 'Test@Test.com'), ('email', 'no-reply@shop.org'), ('email', 'NoReply@shop.org'),
    ('email', 'anna@example.com'), ('email', 'anna@shop.org'), ('cookie', 'undefined'),
    ('cookie', 'NULL'), ('loyalty', '0000-000'), ('device', 'abc'), ('phone', '(212) 555-0100')
) t(kind, v);
-- Patterns are compiled once per copy of the blocklist; the first entry that matches is the
-- one reported (back references work).
BEGIN;
INSERT INTO omni.blocklist (kind, value, is_pattern, reason) VALUES
    ('email', '^(.)\1\1@', true, 'one letter three times'),
    ('email', '^aaa', true, 'starts with aaa'),
    (NULL, 'x{3}@', true, 'three x');
SELECT v, omni.blocked('email', v) FROM (VALUES
    ('aaa@shop.org'), ('aab@shop.org'), ('bxxx@shop.org'), ('Xxx@shop.org'), ('abc@shop.org')
) t(v);
-- patterns of a shape that rules most values out at once (a bracket repeated from start to end,
-- a first letter), matched ignoring case like the others; a "|" takes the general path
INSERT INTO omni.blocklist (kind, value, is_pattern, reason) VALUES
    (NULL, '^[ab-]*$', true, 'only a, b and dashes'),
    ('cookie', '^zz(y|x)', true, 'zz then x or y'),
    ('cookie', '^q|w', true, 'q first or a w');
SELECT v, omni.blocked('cookie', v) FROM (VALUES
    ('AB-ba'), ('abc'), ('ZZx1'), ('azzx'), ('zzz'), ('Qa'), ('aw'), ('a-b-')
) t(v);
ROLLBACK;

-- What is read from a pattern to skip it without running it (a first
-- character, a set of characters, the text every match starts with, the
-- text every match contains) only ever skips values the pattern cannot
-- match: with each pattern alone on the blocklist, omni.blocked agrees with
-- the pattern matched by ~* on every value, random ones and ones built to
-- match.
BEGIN;
CREATE TEMP TABLE qpat (pat text);
INSERT INTO qpat VALUES
    ('^no-?reply@'), ('^(donotreply|do-not-reply|mailer-daemon|postmaster)@'),
    ('^[^@]*@example\.(com|org|net)$'), ('^\+1(\d)\1{9}$'), ('^\+1\d{3}5550100$'), ('^[0-]*$'),
    ('ab+c'), ('ab*c'), ('ab?c'), ('a{2}b'), ('ba{0}c'), ('ab{1,}c'), ('a\.b'), ('^a\.?b'), ('x(y|z)w'),
    ('^(ab|cd)?e'), ('^(ab|cd)+e'), ('^(ab|cd)e'), ('^(a|b|c)d'), ('^(a|bb*)c'), ('^((a)|b)c'), ('^(ab|)c'),
    ('a|b'), ('ab|^c'), ('(a|b)c'), ('a[.]b'), ('a[]b]c'), ('[[:digit:]]x'), ('\d\d@'), ('a\x41'),
    ('a\u0062c'), ('a\0142c'), ('(?i)ab'), ('(?x)a b'), ('***=a.b'), ('***:ab'), ('^AB'), ('^a.*@x'), ('@x$'),
    ('^(a)\1b'), ('a$|^b'), ('a\-b'), ('\(ab\)'), ('^ab*'), ('c\y'), ('\mab'), ('a\Bb'), ('a\\b'),
    ('a b'), ('^Zz.'), ('[a-c]{2}x'), ('(ab)*x'), ('x(ab)?y'), ('^(?:ab|cd)e'), ('a(?=b)'), ('a\fb'), ('a\tb');
CREATE TEMP TABLE qval AS
SELECT DISTINCT v FROM (
    SELECT string_agg(substr('abcdexyzwnorpl@.-+015AB(\ ', 1 + (hashint4(g * 31 + k) & 65535) % 26, 1), '')
           AS v
      FROM generate_series(1, 6000) g, generate_series(1, 1 + (g % 10)) k
     GROUP BY g
    UNION ALL
    SELECT unnest(ARRAY['noreply@x.com', 'no-reply@shop.org', 'NoReply@a', 'donotreply@a.b', 'postmaster@z',
                        'mailer-daemon@q', 'anna@example.com', 'anna@EXAMPLE.org', '+12222222222', '+12125550100',
                        '000-0', '0', 'abbc', 'ac', 'abc', 'aab', 'bc', 'a.b', 'ab', 'xyw', 'xzw', 'abe', 'cde', 'e',
                        'ababe', 'ae', 'cd', 'd', 'bd', 'bbbc', 'bc', 'a]c', 'abc', '1x', '12@', 'aA', 'AB', 'ab',
                        'a@x', 'z@x', 'aab', 'a-b', '(ab)', 'abbbb', 'c', 'ab c', 'a b', 'zzz', 'zZ1', 'acx',
                        'ababx', 'x', 'xy', 'xaby', 'abe', 'cde', 'a\b', 'ba', 'bc', 'bac'])) s
 WHERE v <> '' AND v = btrim(v);
CREATE FUNCTION pg_temp.quick_disagreements() RETURNS TABLE (pat text, v text, blocked boolean, matches boolean)
LANGUAGE plpgsql AS $$
DECLARE
    p text;
BEGIN
    FOR p IN SELECT q.pat FROM qpat q ORDER BY q.pat LOOP
        DELETE FROM omni.blocklist;
        INSERT INTO omni.blocklist (kind, value, is_pattern, reason) VALUES (NULL, p, true, 'test');
        RETURN QUERY
            SELECT p, x.v, b, m
              FROM (SELECT x.v, omni.blocked('cookie', x.v) IS NOT NULL AS b, x.v ~* p AS m FROM qval x) x
             WHERE b IS DISTINCT FROM m;
    END LOOP;
END $$;
SELECT * FROM pg_temp.quick_disagreements();
-- the values do reach both sides: of every pattern, some match and some do not
SELECT count(*) AS patterns, count(*) FILTER (WHERE m > 0 AND m < n) AS matched_and_unmatched
  FROM (SELECT q.pat, count(*) FILTER (WHERE x.v ~* q.pat) AS m, count(*) AS n FROM qpat q, qval x GROUP BY q.pat) s;
ROLLBACK;

-- The ICU objects are reused: many calls in one statement are fine.
SELECT count(DISTINCT omni.normalize_name('Name ' || g)) FROM generate_series(1, 2000) g;
