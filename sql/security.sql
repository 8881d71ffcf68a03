-- search_path safety (CVE-2018-1058 style): a hostile user's operators and
-- functions in public, put before pg_catalog on the search_path, change
-- nothing the extension does: every function that runs queries of its own
-- runs them with search_path = pg_catalog, pg_temp.
CREATE TEMP TABLE seq_before AS
SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value FROM pg_sequences WHERE schemaname = 'omni';
BEGIN;
CREATE TABLE public.hijacked (what text);
CREATE FUNCTION public.evil_text_eq(text, text) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('text ='); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_text_eq);
CREATE FUNCTION public.evil_int8_eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('bigint ='); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.evil_int8_eq);
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('lower()'); RETURN pg_catalog.lower($1); END $$;
-- what omni.resolve_all's own statements use (it keeps the caller's search_path)
CREATE FUNCTION public.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('unnest()'); RETURN QUERY SELECT * FROM pg_catalog.unnest($1); END $$;
CREATE FUNCTION public.evil_jsonb_cat(jsonb, jsonb) RETURNS jsonb LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('jsonb ||'); RETURN $1 OPERATOR(pg_catalog.||) $2; END $$;
CREATE OPERATOR public.|| (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = public.evil_jsonb_cat);
CREATE FUNCTION public.evil_int8_int4_pl(bigint, integer) RETURNS bigint LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('bigint + integer'); RETURN $1 OPERATOR(pg_catalog.+) $2; END $$;
CREATE OPERATOR public.+ (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = public.evil_int8_int4_pl);
CREATE FUNCTION public.evil_count_sfunc(bigint) RETURNS bigint LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('count(*)'); RETURN $1 OPERATOR(pg_catalog.+) 1; END $$;
CREATE AGGREGATE public.count(*) (SFUNC = public.evil_count_sfunc, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.evil_string_agg_sfunc(text, text, text) RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO public.hijacked VALUES ('string_agg()'); RETURN $1 OPERATOR(pg_catalog.||) $2; END $$;
CREATE AGGREGATE public.string_agg(text, text) (SFUNC = public.evil_string_agg_sfunc, STYPE = text);
SET LOCAL search_path = public, pg_catalog;
SET LOCAL client_min_messages = warning;
-- the hostile operator is live for the user's own queries
SELECT 'x'::text = 'x'::text AS users_own_query_is_hijacked, (SELECT pg_catalog.count(*) FROM public.hijacked) AS hijacks;
TRUNCATE public.hijacked;
SELECT omni.touch('email', 'Sec.Test@Acme-Mail.com', 'web', 'page_view', '2026-01-01 10:00+00') > 0 AS touched;
SELECT omni.link('email', 'sec.test@acme-mail.com', 'cookie', 'ck_sec_1', 'login') IS NOT NULL AS linked;
SELECT omni.link('email', 'sec.other@acme-mail.com', 'cookie', 'ck_sec_2', 'login') IS NOT NULL AS linked;
SELECT omni.link('cookie', 'ck_sec_1', 'cookie', 'ck_sec_2', 'merge') IS NOT NULL AS merged;
SELECT omni.customer_of('cookie', 'ck_sec_2') OPERATOR(pg_catalog.=) omni.customer_of('email', 'SEC.TEST@acme-mail.com') AS one_customer;
SELECT pg_catalog.count(*) AS identities FROM omni.identities(omni.customer_of('cookie', 'ck_sec_1'));
SELECT omni.identify('device', 'dev_sec') > 0 AS identified;
SELECT omni.normalize('email', ' A@B.ORG ') AS normalized, omni.blocked('email', 'test@test.com') IS NOT NULL AS blocked;
INSERT INTO omni.message (recipient_kind, recipient, channel, created_at)
VALUES ('email', 'sec.test@acme-mail.com', 'email', '2026-01-01 12:00+00') RETURNING status;
SELECT status FROM omni.would_suppress('email', 'sec.test@acme-mail.com', 'email');
SELECT pg_catalog.count(*) > 0 AS journeys FROM omni.customer_journey;
SELECT pg_catalog.count(*) AS timeline_rows FROM omni.timeline(omni.customer_of('cookie', 'ck_sec_1'));
SELECT omni.unmerge((SELECT max(merge_id) FROM omni.merge_log)) > 0 AS unmerged;
-- the bulk path: two customers (one with attributes) merged by a staged pair,
-- new identifiers, a staged row that cannot be read
SELECT omni.link('email', 'sec.bulk.a@acme-mail.com', 'cookie', 'ck_sec_a', 'login', '2026-01-01 09:00+00') IS NOT NULL AS linked,
       omni.link('email', 'sec.bulk.b@acme-mail.com', 'cookie', 'ck_sec_b', 'login', '2026-01-01 09:00+00') IS NOT NULL AS linked;
UPDATE omni.customer SET attributes = '{"tier": "gold"}'
 WHERE customer_id OPERATOR(pg_catalog.=) omni.customer_of('cookie', 'ck_sec_b');
INSERT INTO omni.link_staging (kind_a, value_a, kind_b, value_b, source, observed_at) VALUES
    ('email', 'Sec.Bulk.A@acme-mail.com', 'email', 'sec.bulk.b@acme-mail.com', 'import', '2026-01-02 09:00+00'),
    ('cookie', 'ck_sec_new', 'device', 'dev_sec_new', 'import', '2026-01-02 09:00+00'),
    ('email', 'not an address', 'cookie', 'ck_sec_new', 'import', '2026-01-02 09:00+00');
SELECT merges > 0 AS merged, new_identities >= 2 AS new_identities, moved_identities > 0 AS moved,
       invalid_rows > 0 AS kept_invalid
  FROM omni.resolve_all();
SELECT omni.customer_of('cookie', 'ck_sec_a') OPERATOR(pg_catalog.=) omni.customer_of('cookie', 'ck_sec_b') AS one_customer,
       c.attributes OPERATOR(pg_catalog.->>) 'tier' AS tier
  FROM omni.customer c WHERE c.customer_id OPERATOR(pg_catalog.=) omni.customer_of('cookie', 'ck_sec_a');
SELECT error FROM omni.link_staging WHERE value_a OPERATOR(pg_catalog.=) 'not an address';
SELECT omni.forget(omni.customer_of('email', 'sec.test@acme-mail.com')) > 0 AS forgotten;
-- with triggers of the user's own on the identity tables, omni.link,
-- omni.identify and omni.customer_of write through their statements, which
-- use plain operators: those pin the path themselves (the functions have
-- no SET clause)
CREATE FUNCTION public.pass_row() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog
    AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER user_row BEFORE INSERT OR UPDATE ON omni.identity FOR EACH ROW EXECUTE FUNCTION public.pass_row();
CREATE TRIGGER user_row BEFORE INSERT OR UPDATE ON omni.identity_link FOR EACH ROW EXECUTE FUNCTION public.pass_row();
CREATE TRIGGER user_row BEFORE INSERT OR UPDATE ON omni.customer FOR EACH ROW EXECUTE FUNCTION public.pass_row();
SELECT omni.link('email', 'sec.sql.a@acme-mail.com', 'cookie', 'ck_sql_a', 'login') IS NOT NULL AS linked,
       omni.link('email', 'sec.sql.a@acme-mail.com', 'device', 'dev_sql_a', 'login') IS NOT NULL AS joined,
       omni.link('email', 'sec.sql.b@acme-mail.com', 'cookie', 'ck_sql_b', 'login') IS NOT NULL AS linked;
SELECT omni.link('cookie', 'ck_sql_a', 'cookie', 'ck_sql_b', 'merge') IS NOT NULL AS merged,
       omni.link('cookie', 'ck_sql_a', 'cookie', 'ck_sql_b', 'again') IS NOT NULL AS seen_again,
       omni.identify('device', 'dev_sql_c') > 0 AS identified;
SELECT omni.customer_of('cookie', 'ck_sql_b') OPERATOR(pg_catalog.=) omni.customer_of('device', 'dev_sql_a') AS one_customer;
DROP TRIGGER user_row ON omni.identity;
DROP TRIGGER user_row ON omni.identity_link;
DROP TRIGGER user_row ON omni.customer;
-- none of it ran the hostile operators or functions
SELECT what, pg_catalog.count(*) FROM public.hijacked GROUP BY what ORDER BY what;
ROLLBACK;
SELECT pg_catalog.setval(seq, COALESCE(last_value, 1), last_value IS NOT NULL) IS NOT NULL AS sequences_restored
  FROM seq_before ORDER BY seq LIMIT 1;
SELECT bool_and(pg_catalog.setval(seq, COALESCE(last_value, 1), last_value IS NOT NULL) IS NOT NULL) AS all_sequences_restored
  FROM seq_before;
