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
SET LOCAL search_path = public, pg_catalog;
SET LOCAL client_min_messages = warning;
-- the hostile operator is live for the user's own queries
SELECT 'x'::text = 'x'::text AS users_own_query_is_hijacked, (SELECT count(*) FROM public.hijacked) AS hijacks;
TRUNCATE public.hijacked;
SELECT omni.touch('email', 'Sec.Test@Acme-Mail.com', 'web', 'page_view', '2026-01-01 10:00+00') > 0 AS touched;
SELECT omni.link('email', 'sec.test@acme-mail.com', 'cookie', 'ck_sec_1', 'login') IS NOT NULL AS linked;
SELECT omni.link('email', 'sec.other@acme-mail.com', 'cookie', 'ck_sec_2', 'login') IS NOT NULL AS linked;
SELECT omni.link('cookie', 'ck_sec_1', 'cookie', 'ck_sec_2', 'merge') IS NOT NULL AS merged;
SELECT omni.customer_of('cookie', 'ck_sec_2') OPERATOR(pg_catalog.=) omni.customer_of('email', 'SEC.TEST@acme-mail.com') AS one_customer;
SELECT count(*) AS identities FROM omni.identities(omni.customer_of('cookie', 'ck_sec_1'));
SELECT omni.identify('device', 'dev_sec') > 0 AS identified;
SELECT omni.normalize('email', ' A@B.ORG ') AS normalized, omni.blocked('email', 'test@test.com') IS NOT NULL AS blocked;
INSERT INTO omni.message (recipient_kind, recipient, channel, created_at)
VALUES ('email', 'sec.test@acme-mail.com', 'email', '2026-01-01 12:00+00') RETURNING status;
SELECT status FROM omni.would_suppress('email', 'sec.test@acme-mail.com', 'email');
SELECT count(*) > 0 AS journeys FROM omni.customer_journey;
SELECT count(*) AS timeline_rows FROM omni.timeline(omni.customer_of('cookie', 'ck_sec_1'));
SELECT omni.unmerge((SELECT max(merge_id) FROM omni.merge_log)) > 0 AS unmerged;
SELECT (SELECT customers FROM omni.resolve_all()) > 0 AS resolved;
SELECT omni.forget(omni.customer_of('email', 'sec.test@acme-mail.com')) > 0 AS forgotten;
-- none of it ran the hostile operators or functions
SELECT what, count(*) FROM public.hijacked GROUP BY what ORDER BY what;
ROLLBACK;
SELECT pg_catalog.setval(seq, COALESCE(last_value, 1), last_value IS NOT NULL) IS NOT NULL AS sequences_restored
  FROM seq_before ORDER BY seq LIMIT 1;
SELECT bool_and(pg_catalog.setval(seq, COALESCE(last_value, 1), last_value IS NOT NULL) IS NOT NULL) AS all_sequences_restored
  FROM seq_before;
