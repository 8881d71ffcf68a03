/*-------------------------------------------------------------------------
 *
 * rules.c
 *		The identifier kinds and their rules (omni.identity_rule), the
 *		blocklist (omni.blocklist), normalization by kind, and the keyed
 *		hash of identifiers kept by erasure (omni.forgotten).
 *
 * Rules and blocklist are read together: the SQL functions share one copy
 * per backend, read again after any change to either table (see
 * omni_rules_for_call), and the bulk path reads its own copy per run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation_d.h"
#include "commands/trigger.h"
#include "common/hmac.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "parser/parse_relation.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "identity/identity.h"

/*
 * Read the rules and the blocklist into mcxt.  Rules come sorted by
 * priority (most trusted first), then kind.
 *
 * They are read as committed now (and as this transaction changed them),
 * not with the statement's or the transaction's snapshot: the copy is kept
 * until the next change is announced, and a change committed after that
 * snapshot was taken is announced only once, so a copy read with an older
 * snapshot would stay stale.  Like the catalogs, configuration applies as
 * soon as it is committed.
 */
OmniRules *
omni_rules_load(MemoryContext mcxt)
{
	OmniRules  *rules;
	MemoryContext old;
	StringInfoData known;
	uint64		i;
	int			ret;
	int			level;

	rules = MemoryContextAllocZero(mcxt, sizeof(OmniRules));
	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	level = omni_pin_search_path();
	PushActiveSnapshot(GetLatestSnapshot());

	ret = SPI_execute("SELECT kind, priority, max_per_customer, normalizer, region "
					  "FROM omni.identity_rule ORDER BY priority, kind", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read omni.identity_rule: %s", SPI_result_code_string(ret));
	old = MemoryContextSwitchTo(mcxt);
	rules->nkinds = SPI_processed;
	rules->kinds = palloc0(sizeof(OmniKindRule) * Max(1, SPI_processed));
	initStringInfo(&known);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		OmniKindRule *r = &rules->kinds[i];
		bool		isnull;
		char	   *norm;

		r->kind = SPI_getvalue(tup, desc, 1);
		r->priority = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		r->max_per_customer = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		if (isnull)
			r->max_per_customer = 0;
		norm = SPI_getvalue(tup, desc, 4);
		if (strcmp(norm, "email") == 0)
			r->normalizer = OMNI_NORM_EMAIL;
		else if (strcmp(norm, "phone") == 0)
			r->normalizer = OMNI_NORM_PHONE;
		else if (strcmp(norm, "name") == 0)
			r->normalizer = OMNI_NORM_NAME;
		else
			r->normalizer = OMNI_NORM_TEXT;
		r->region = SPI_getvalue(tup, desc, 5);
		if (r->region == NULL)
			r->region = "US";
		appendStringInfo(&known, "%s%s", i ? ", " : "", r->kind);
	}
	/* the hint lists kinds alphabetically */
	MemoryContextSwitchTo(old);

	ret = SPI_execute("SELECT pg_catalog.string_agg(kind, ', ' ORDER BY kind) FROM omni.identity_rule",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read omni.identity_rule: %s", SPI_result_code_string(ret));
	old = MemoryContextSwitchTo(mcxt);
	rules->known_kinds = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (rules->known_kinds == NULL)
		rules->known_kinds = "(none)";
	MemoryContextSwitchTo(old);

	ret = SPI_execute("SELECT kind, value, is_pattern, reason FROM omni.blocklist "
					  "ORDER BY blocked_id", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read omni.blocklist: %s", SPI_result_code_string(ret));
	old = MemoryContextSwitchTo(mcxt);
	rules->nblocks = SPI_processed;
	rules->blocks = palloc0(sizeof(OmniBlockEntry) * Max(1, SPI_processed));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		OmniBlockEntry *b = &rules->blocks[i];
		bool		isnull;

		b->kind = SPI_getvalue(tup, desc, 1);
		b->value = cstring_to_text(SPI_getvalue(tup, desc, 2));
		b->is_pattern = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		b->reason = SPI_getvalue(tup, desc, 4);
	}
	MemoryContextSwitchTo(old);
	PopActiveSnapshot();
	omni_unpin_search_path(level);
	SPI_finish();
	return rules;
}

/*
 * The rules as this backend last read them, and whether they may be stale.
 * Triggers on omni.identity_rule and omni.blocklist (omni.rules_changed)
 * send a relcache invalidation of the changed table with every change;
 * the callback below then marks the copy stale, and the next call reads
 * the tables again.  Invalidations reach every backend at commit, and the
 * changing backend at once (and again if its transaction aborts), so a
 * change applies to the next call after its commit, everywhere, and at
 * once in the changing transaction.
 */
static MemoryContext rules_cxt = NULL;
static OmniRules *rules_cache = NULL;
static bool rules_stale = true;
static bool rules_callback_registered = false;
static Oid	rules_relids[2] = {InvalidOid, InvalidOid};

static void
rules_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == rules_relids[0] || relid == rules_relids[1])
		rules_stale = true;
}

/*
 * The current rules and blocklist, read again when they changed.  The
 * result lives until the next change: callers must not keep it across
 * statements.
 */
OmniRules *
omni_rules_for_call(FunctionCallInfo fcinfo)
{
	if (!rules_callback_registered)
	{
		CacheRegisterRelcacheCallback(rules_invalidate, (Datum) 0);
		rules_callback_registered = true;
	}
	if (rules_stale || rules_cache == NULL)
	{
		Oid			nsp = get_namespace_oid("omni", false);
		MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "omni identity rules",
												  ALLOCSET_SMALL_SIZES);
		OmniRules  *rules;

		/* stale from here on until the read below succeeds */
		rules_stale = false;
		rules_relids[0] = get_relname_relid("identity_rule", nsp);
		rules_relids[1] = get_relname_relid("blocklist", nsp);
		PG_TRY();
		{
			rules = omni_rules_load(cxt);
		}
		PG_CATCH();
		{
			rules_stale = true;
			MemoryContextDelete(cxt);
			PG_RE_THROW();
		}
		PG_END_TRY();
		/*
		 * A caller up the stack may still use the previous copy: it goes
		 * when the transaction ends.
		 */
		if (rules_cxt != NULL)
			MemoryContextSetParent(rules_cxt, TopTransactionContext);
		rules_cxt = cxt;
		rules_cache = rules;
	}

	/*
	 * The copy is the backend's, read by whoever came first: every caller
	 * must itself be allowed to read the tables it comes from, as when it
	 * reads them (a role without the privilege gets the same error whether
	 * or not another role of a pooled connection filled the cache).
	 */
	for (int i = 0; i < lengthof(rules_relids); i++)
	{
		AclResult	aclresult = pg_class_aclcheck(rules_relids[i], GetUserId(), ACL_SELECT);

		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(rules_relids[i]));
	}
	return rules_cache;
}

PG_FUNCTION_INFO_V1(omni_rules_changed);
/*
 * omni.rules_changed(): statement trigger of omni.identity_rule and
 * omni.blocklist; tells every backend to read them again.
 */
Datum
omni_rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("omni.rules_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	PG_RETURN_POINTER(NULL);
}

/* Index of a kind in rules->kinds, or -1. */
int
omni_rules_kind_index(OmniRules *rules, const char *kind)
{
	int			i;

	for (i = 0; i < rules->nkinds; i++)
		if (strcmp(rules->kinds[i].kind, kind) == 0)
			return i;
	return -1;
}

/*
 * The rule of a kind; an unknown kind is an error whose hint lists the
 * known ones.
 */
OmniKindRule *
omni_rules_kind(OmniRules *rules, const char *kind)
{
	int			i = omni_rules_kind_index(rules, kind);

	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown identifier kind \"%s\"", omni_clip_value(kind, strlen(kind))),
				 errhint("Known kinds: %s. Add a kind with INSERT INTO omni.identity_rule.",
						 rules->known_kinds)));
	return &rules->kinds[i];
}

/*
 * Normalize a value by its kind's normalizer, or return NULL with *err
 * filled when the value is not valid for the kind (or longer, normalized,
 * than OMNI_MAX_IDENTIFIER bytes).  region, when not NULL,
 * replaces the kind's region for phone numbers written without a calling
 * code (the region of the customer, when the application knows it).
 */
char *
omni_normalize_kind_soft(OmniKindRule *rule, const char *in, int len,
						 const char *region, OmniNormError *err)
{
	char	   *out = NULL;
	int			outlen;

	switch (rule->normalizer)
	{
		case OMNI_NORM_EMAIL:
			out = omni_normalize_email_soft(in, len, err);
			break;
		case OMNI_NORM_PHONE:
			out = omni_normalize_phone_soft(in, len, region ? region : rule->region, err);
			break;
		case OMNI_NORM_NAME:
			out = omni_normalize_name_soft(in, len, err);
			break;
		case OMNI_NORM_TEXT:
			out = omni_normalize_text_soft(in, len, err);
			break;
	}
	/* an identifier must fit the unique index on (kind, value) with room */
	if (out != NULL && (outlen = strlen(out)) > OMNI_MAX_IDENTIFIER)
	{
		err->msg = psprintf("invalid identifier \"%s\"", omni_clip_value(in, len));
		err->detail = psprintf("An identifier of kind \"%s\" has at most %d bytes once normalized, not %d.",
							   rule->kind, OMNI_MAX_IDENTIFIER, outlen);
		err->hint = NULL;
		return NULL;
	}
	return out;
}

/* Normalize a value by kind, raising on an unknown kind or a bad value. */
char *
omni_normalize_kind(OmniRules *rules, const char *kind, const char *in, int len)
{
	OmniNormError err;
	char	   *out;

	out = omni_normalize_kind_soft(omni_rules_kind(rules, kind), in, len, NULL, &err);
	if (out == NULL)
		omni_norm_raise(&err);
	return out;
}

/*
 * Free the patterns compiled for a copy of the rules, with the memory
 * context holding it (the regex library allocates outside of it).
 */
static void
free_block_patterns(void *arg)
{
	OmniRules  *rules = (OmniRules *) arg;
	int			i;

	for (i = 0; i < rules->nblocks; i++)
	{
		if (rules->blocks[i].re != NULL)
		{
			pg_regfree((regex_t *) rules->blocks[i].re);
			rules->blocks[i].re = NULL;
		}
	}
}

/* Tests that rule out a match of a blocklist pattern without running it. */
#define QUICK_NONE	0
#define QUICK_ALL	1			/* ^[set]*$: every character is in the set */
#define QUICK_FIRST	2			/* ^c...: the first character is c */

/* Add byte c to a set of bytes (bits), in both ASCII cases. */
static inline void
set_add_both_cases(uint64 *bits, unsigned char c)
{
	unsigned char lc = pg_ascii_tolower(c),
				uc = pg_ascii_toupper(c);

	bits[lc >> 6] |= UINT64CONST(1) << (lc & 63);
	bits[uc >> 6] |= UINT64CONST(1) << (uc & 63);
}

static void
quick_add(OmniBlockEntry *b, unsigned char c)
{
	/* matching ignores ASCII case (collation C folds nothing else) */
	set_add_both_cases(b->quickset, c);
}

/*
 * Skip the bracket expression starting at p[*i] ("["), leaving *i after its
 * closing "]": a "]" first (after an optional "^") is a member, "[:", "[."
 * and "[=" open elements closed by ":]", ".]" and "=]", and a backslash
 * escapes the next character (advanced regular expressions read escapes in
 * brackets).  False when the bracket does not end.
 */
static bool
skip_bracket(const char *p, int n, int *i)
{
	int			j = *i + 1;

	if (j < n && p[j] == '^')
		j++;
	if (j < n && p[j] == ']')
		j++;
	while (j < n && p[j] != ']')
	{
		if (p[j] == '\\')
			j += 2;
		else if (p[j] == '[' && j + 1 < n && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '='))
		{
			char		close = p[j + 1];

			for (j += 2; j + 1 < n && !(p[j] == close && p[j + 1] == ']'); j++)
				;
			if (j + 1 >= n)
				return false;
			j += 2;
		}
		else
			j++;
	}
	if (j >= n)
		return false;
	*i = j + 1;
	return true;
}

/*
 * Skip the parenthesized group starting at p[*i] ("("), with the groups,
 * brackets and escapes inside it, leaving *i after its ")".  False when it
 * does not end.
 */
static bool
skip_group(const char *p, int n, int *i)
{
	int			j = *i + 1;
	int			depth = 1;

	while (j < n && depth > 0)
	{
		if (p[j] == '\\')
			j += 2;
		else if (p[j] == '[')
		{
			if (!skip_bracket(p, n, &j))
				return false;
		}
		else
		{
			if (p[j] == '(')
				depth++;
			else if (p[j] == ')')
				depth--;
			j++;
		}
	}
	if (depth > 0)
		return false;
	*i = j;
	return true;
}

/*
 * The literal text every match of a blocklist pattern contains, and the text
 * every match starts with, read from the pattern: the longest run of plain
 * ASCII characters in its top-level sequence, and the run right after a
 * leading "^".  A pattern is a concatenation of atoms when it has no "|"
 * outside parentheses, and then every match holds each run of consecutive
 * literal atoms that no quantifier makes optional or repeatable.  Groups,
 * brackets, ".", anchors, back references and class escapes end a run; a
 * character followed by "*", "+", "?" or a bound "{...}" leaves it; an
 * escaped punctuation mark ("\.", "\+") is that character.  Patterns
 * with a director ("***") or an embedded option or special group ("(?"),
 * which may change how the rest reads, and patterns with a "|" at top
 * level, get neither.  Letters are kept in lower case: matching ignores
 * ASCII case.  The texts only ever rule out values no match could be.
 */
static void
literal_runs_of(OmniBlockEntry *b, const char *p, int n, MemoryContext cxt)
{
	char	   *run = palloc(n + 1);
	char	   *best = palloc(n + 1);
	char	   *prefix = palloc(n + 1);
	int			len = 0;
	int			best_len = 0;
	int			prefix_len = 0;
	int			i = 0;
	bool		first_run = n > 0 && p[0] == '^';	/* the run starts every match */

	b->prefix = b->literal = NULL;
	b->prefix_len = b->literal_len = 0;
	if (n >= 3 && memcmp(p, "***", 3) == 0)
		goto done;
	for (int k = 0; k + 1 < n; k++)
		if (p[k] == '(' && p[k + 1] == '?')
			goto done;
	if (first_run)
		i = 1;

	for (;;)
	{
		unsigned char c = i < n ? (unsigned char) p[i] : 0;
		unsigned char d = i + 1 < n ? (unsigned char) p[i + 1] : 0;
		bool		quantifier = c == '*' || c == '+' || c == '?' || c == '{';

		if (i < n && (c == '|' || c == ')'))
			goto done;			/* an alternative at top level, or unbalanced */
		if (i < n && c == '\\' && d >= 32 && d < 128 && !isalnum(d))
		{
			/* an escaped punctuation mark is that character */
			run[len++] = (char) d;
			i += 2;
			continue;
		}
		if (i < n && c >= 32 && c < 128 && !quantifier && c != '\\' &&
			c != '(' && c != '[' && c != '.' && c != '^' && c != '$')
		{
			run[len++] = (char) pg_ascii_tolower(c);
			i++;
			continue;
		}

		/* c ends the run, or the pattern ended */
		if (quantifier && len > 0)
			len--;				/* the character before is optional or repeated */
		if (first_run)
		{
			memcpy(prefix, run, len);
			prefix_len = len;
		}
		else if (len > best_len)
		{
			memcpy(best, run, len);
			best_len = len;
		}
		first_run = false;
		len = 0;
		if (i >= n)
			break;
		if (c == '(')
		{
			if (!skip_group(p, n, &i))
				goto done;
		}
		else if (c == '[')
		{
			if (!skip_bracket(p, n, &i))
				goto done;
		}
		else if (c == '{')
		{
			while (i < n && p[i] != '}')
				i++;
			if (i >= n)
				goto done;
			i++;
		}
		else if (c == '\\')
		{
			/*
			 * A class or constraint escape is one letter, a back reference
			 * one digit here; any other escape (character codes such as
			 * \x41, \u0041, \cA, octal) stands for characters this does not
			 * read: no literal then.
			 */
			if (d != 0 && strchr("dDsSwWmMyYAZ", d) != NULL)
				i += 2;
			else if (d >= '1' && d <= '9' && !(i + 2 < n && isdigit((unsigned char) p[i + 2])))
				i += 2;
			else
				goto done;
		}
		else
			i++;
	}
	if (prefix_len > 0)
	{
		b->prefix = MemoryContextAlloc(cxt, prefix_len + 1);
		memcpy(b->prefix, prefix, prefix_len);
		b->prefix[prefix_len] = '\0';
		b->prefix_len = prefix_len;
	}
	if (best_len > 0)
	{
		b->literal = MemoryContextAlloc(cxt, best_len + 1);
		memcpy(b->literal, best, best_len);
		b->literal[best_len] = '\0';
		b->literal_len = best_len;
	}
done:
	pfree(run);
	pfree(best);
	pfree(prefix);
}

/*
 * Whether p[from .. n) has a "|" outside parentheses: then the pattern is
 * a choice, and no test of one alternative rules out a match.
 */
static bool
bar_outside_groups(const char *p, int from, int n)
{
	int			depth = 0;

	for (int i = from; i < n; i++)
	{
		if (p[i] == '(')
			depth++;
		else if (p[i] == ')')
			depth--;
		else if (p[i] == '|' && depth <= 0)
			return true;
	}
	return false;
}

/*
 * ^(alternative|alternative|...)...: when every alternative of the leading
 * group starts with a letter or digit that no quantifier follows, and the
 * group itself is not optional or repeated, every match starts with one of
 * those characters (QUICK_FIRST with all of them).  Only patterns without
 * escapes, brackets or "(?" constructs, and without "|" outside the group,
 * are considered, so that reading the parentheses is exact.
 */
static void
quick_first_of_group(OmniBlockEntry *b, const char *p, int n)
{
	uint64		set[2] = {0, 0};
	int			depth = 0;
	int			i;
	int			close = -1;

	for (i = 0; i < n; i++)
		if (p[i] == '\\' || p[i] == '[' || (p[i] == '(' && i + 1 < n && p[i + 1] == '?'))
			return;
	/* p[1] is "(": find its ")", checking each alternative's first character */
	for (i = 1; i < n; i++)
	{
		if (p[i] == '(' || (p[i] == '|' && depth == 1))
		{
			bool		opens = p[i] == '(';
			unsigned char c = i + 1 < n ? (unsigned char) p[i + 1] : 0;

			if (opens)
				depth++;
			if (opens && depth > 1)
				continue;
			if (!(c < 128 && isalnum(c)) || (i + 2 < n && strchr("*+?{", p[i + 2]) != NULL))
				return;
			set[pg_ascii_tolower(c) >> 6] |= UINT64CONST(1) << (pg_ascii_tolower(c) & 63);
			set[pg_ascii_toupper(c) >> 6] |= UINT64CONST(1) << (pg_ascii_toupper(c) & 63);
		}
		else if (p[i] == ')')
		{
			if (--depth == 0)
			{
				close = i;
				break;
			}
		}
		else if (p[i] == '|' && depth == 0)
			return;
	}
	if (close < 0 || (close + 1 < n && strchr("*+?{", p[close + 1]) != NULL) ||
		bar_outside_groups(p, close + 1, n))
		return;
	b->quickset[0] = set[0];
	b->quickset[1] = set[1];
	b->quick = QUICK_FIRST;
}

/*
 * Recognize two shapes of pattern whose matches are easy to rule out:
 * ^[...]*$ with a bracket of plain ASCII characters (letters, digits, a
 * few punctuation marks, "-" first or last), which only matches values
 * made of those characters; and ^ followed by a letter or digit that no
 * quantifier follows, in a pattern with no escape, bracket or "(?" and no
 * "|" outside parentheses, which only matches values starting with it
 * (in either case: matching ignores ASCII case).  Anything else gets no test and is
 * always run.  The test only ever skips a pattern that cannot match.
 */
static void
quick_test_of(OmniBlockEntry *b, MemoryContext cxt)
{
	const char *p = VARDATA_ANY(b->value);
	int			n = VARSIZE_ANY_EXHDR(b->value);
	int			i;

	b->quick = QUICK_NONE;
	b->quickset[0] = b->quickset[1] = 0;
	literal_runs_of(b, p, n, cxt);
	if (n < 2 || p[0] != '^')
		return;
	if (p[1] == '[' && n >= 6 && memcmp(p + n - 3, "]*$", 3) == 0)
	{
		/* the bracket holds p[2 .. n-4] */
		for (i = 2; i <= n - 4; i++)
		{
			unsigned char c = (unsigned char) p[i];

			if (isascii(c) && isalnum(c))
				quick_add(b, c);
			else if (c == '-' && (i == 2 || i == n - 4))
				quick_add(b, c);
			else if (c == '.' || c == '_' || c == '@' || c == '+')
				quick_add(b, c);
			else
			{
				b->quickset[0] = b->quickset[1] = 0;
				return;
			}
		}
		b->quick = QUICK_ALL;
		return;
	}
	if (p[1] == '(')
	{
		quick_first_of_group(b, p, n);
		return;
	}
	if (!(isascii((unsigned char) p[1]) && isalnum((unsigned char) p[1])))
		return;
	if (n > 2 && strchr("*+?{", p[2]) != NULL)
		return;
	/*
	 * No alternation outside parentheses.  Only patterns without escapes,
	 * brackets or "(?" constructs (comments, lookarounds) are considered, so
	 * that counting parentheses is exact.
	 */
	for (i = 0; i < n; i++)
	{
		if (p[i] == '\\' || p[i] == '[' || (p[i] == '(' && i + 1 < n && p[i + 1] == '?'))
			return;
	}
	if (bar_outside_groups(p, 0, n))
		return;
	quick_add(b, (unsigned char) p[1]);
	b->quick = QUICK_FIRST;
}

/*
 * Whether "value" holds the lower-case ASCII text "lit" at "at", ignoring
 * ASCII case.
 */
static inline bool
ascii_ci_at(const char *value, int at, const char *lit, int len)
{
	for (int k = 0; k < len; k++)
		if (pg_ascii_tolower((unsigned char) value[at + k]) != (unsigned char) lit[k])
			return false;
	return true;
}

/* Whether "value" contains the lower-case ASCII text "lit", ignoring ASCII case. */
static bool
ascii_ci_contains(const char *value, int vlen, const char *lit, int len)
{
	if (len == 0)
		return true;
	if (!isalpha((unsigned char) lit[0]))
	{
		/* its first character has one case: let memchr find the candidates */
		const char *p = value;
		const char *last = value + vlen - len;

		while (p <= last && (p = memchr(p, lit[0], last - p + 1)) != NULL)
		{
			if (ascii_ci_at(p, 1, lit + 1, len - 1))
				return true;
			p++;
		}
		return false;
	}
	for (int at = 0; at + len <= vlen; at++)
		if (pg_ascii_tolower((unsigned char) value[at]) == (unsigned char) lit[0] &&
			ascii_ci_at(value, at, lit, len))
			return true;
	return false;
}

/* False when the quick tests of an entry rule out a match of the value. */
static inline bool
quick_may_match(OmniBlockEntry *b, const char *value, int vlen)
{
	int			i;

	switch (b->quick)
	{
		case QUICK_ALL:
			for (i = 0; i < vlen; i++)
			{
				unsigned char c = (unsigned char) value[i];

				if (c >= 128 || (b->quickset[c >> 6] & (UINT64CONST(1) << (c & 63))) == 0)
					return false;
			}
			break;
		case QUICK_FIRST:
			if (!(vlen > 0 && (unsigned char) value[0] < 128 &&
				  (b->quickset[(unsigned char) value[0] >> 6] &
				   (UINT64CONST(1) << ((unsigned char) value[0] & 63))) != 0))
				return false;
			break;
		default:
			break;
	}
	if (b->prefix_len > 0 &&
		(vlen < b->prefix_len || !ascii_ci_at(value, 0, b->prefix, b->prefix_len)))
		return false;
	if (b->literal_len > 0 && !ascii_ci_contains(value, vlen, b->literal, b->literal_len))
		return false;
	return true;
}

/*
 * The compiled form of a blocklist pattern, compiled on first use and kept
 * with the rules: a run checks every identifier against every pattern, and
 * looking each one up in the backend's regex cache, converting the value
 * again for each, cost more than the matching.  Compiled as
 * RE_compile_and_execute would (advanced, case-insensitive, collation C),
 * without submatch reporting, which matching alone does not need: a value
 * matches exactly when it did.  A pattern that does not compile raises the
 * usual error.
 */
static regex_t *
block_pattern(OmniRules *rules, OmniBlockEntry *b)
{
	MemoryContext cxt = GetMemoryChunkContext(rules);

	if (b->re == NULL)
	{
		MemoryContext old;
		regex_t    *re;
		pg_wchar   *wpat;
		int			wlen;
		int			ret;
		int			i;

		/* the first pattern compiled arranges for all of them to be freed */
		for (i = 0; i < rules->nblocks && rules->blocks[i].re == NULL; i++)
			;
		if (i == rules->nblocks)
		{
			MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));

			cb->func = free_block_patterns;
			cb->arg = rules;
			MemoryContextRegisterResetCallback(cxt, cb);
		}
		old = MemoryContextSwitchTo(cxt);
		re = palloc0(sizeof(regex_t));
		wpat = palloc(sizeof(pg_wchar) * (VARSIZE_ANY_EXHDR(b->value) + 1));
		wlen = pg_mb2wchar_with_len(VARDATA_ANY(b->value), wpat, VARSIZE_ANY_EXHDR(b->value));
		ret = pg_regcomp(re, wpat, wlen, REG_ADVANCED | REG_ICASE | REG_NOSUB, C_COLLATION_OID);
		pfree(wpat);
		MemoryContextSwitchTo(old);
		if (ret != REG_OKAY)
		{
			/* raises the error a query matching the pattern would raise */
			(void) RE_compile_and_cache(b->value, REG_ADVANCED | REG_ICASE, C_COLLATION_OID);
			elog(ERROR, "could not compile blocklist pattern \"%s\"", text_to_cstring(b->value));
		}
		b->re = re;
		quick_test_of(b, cxt);
	}
	return (regex_t *) b->re;
}

/* Allow the values starting with bytes c and d, in either ASCII case. */
static void
pairs_add_both_cases(uint64 *pairs, unsigned char c, unsigned char d)
{
	unsigned char cs[2] = {pg_ascii_tolower(c), pg_ascii_toupper(c)};
	unsigned char ds[2] = {pg_ascii_tolower(d), pg_ascii_toupper(d)};

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
		{
			uint32		bit = ((uint32) cs[i] << 8) | ds[j];

			pairs[bit >> 6] |= UINT64CONST(1) << (bit & 63);
		}
}

/* Allow the values starting with byte c (either case), whatever follows. */
static void
pairs_add_first(uint64 *pairs, unsigned char c)
{
	unsigned char cs[2] = {pg_ascii_tolower(c), pg_ascii_toupper(c)};

	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 4; k++)
			pairs[((uint32) cs[i] << 2) + k] = ~UINT64CONST(0);
}

/*
 * The filter of each kind, from the quick tests of its entries: an entry
 * allows the first bytes its own tests (or its value) allow, and every byte
 * when its tests say nothing of the first one; the same for the first two
 * bytes of values of two bytes or more (an exact value of one byte blocks
 * no longer value).  A byte above ASCII in the first two of an exact value
 * gives up the pairs of the kind: a locale may fold such bytes.  Patterns
 * are compiled here, since their tests are read when they are compiled.
 */
static OmniKindFilter *
kind_filters_of(OmniRules *rules, int **lists, const int *counts, MemoryContext cxt)
{
	OmniKindFilter *filters = MemoryContextAllocZero(cxt, sizeof(OmniKindFilter) * Max(rules->nkinds, 1));

	for (int k = 0; k < rules->nkinds; k++)
	{
		OmniKindFilter *f = &filters[k];
		bool		all_pairs = false;

		f->pairs = MemoryContextAllocZero(cxt, sizeof(uint64) * 1024);
		f->patterns = MemoryContextAlloc(cxt, sizeof(OmniBlockEntry *) * Max(counts[k], 1));
		for (int e = 0; e < counts[k]; e++)
		{
			OmniBlockEntry *b = &rules->blocks[lists[k][e]];

			if (!b->is_pattern)
			{
				const unsigned char *v = (const unsigned char *) VARDATA_ANY(b->value);
				int			len = VARSIZE_ANY_EXHDR(b->value);

				f->exact_lengths |= UINT64CONST(1) << Min(len, 63);
				if (len == 0)
					f->empty = true;
				else if (IS_HIGHBIT_SET(v[0]))
				{
					/* a locale may fold bytes above ASCII: allow them all */
					f->first[2] = f->first[3] = ~UINT64CONST(0);
					all_pairs = true;
				}
				else
					set_add_both_cases(f->first, v[0]);
				if (len >= 2 && !all_pairs)
				{
					if (IS_HIGHBIT_SET(v[1]))
						all_pairs = true;
					else
						pairs_add_both_cases(f->pairs, v[0], v[1]);
				}
				continue;
			}
			(void) block_pattern(rules, b);
			f->patterns[f->npatterns++] = b;
			if (b->prefix_len > 0)
			{
				set_add_both_cases(f->first, (unsigned char) b->prefix[0]);
				if (b->prefix_len >= 2)
					pairs_add_both_cases(f->pairs, (unsigned char) b->prefix[0],
										 (unsigned char) b->prefix[1]);
				else
					pairs_add_first(f->pairs, (unsigned char) b->prefix[0]);
			}
			else if (b->quick == QUICK_FIRST || b->quick == QUICK_ALL)
			{
				/* the sets hold both cases of their letters already */
				f->first[0] |= b->quickset[0];
				f->first[1] |= b->quickset[1];
				for (int c = 0; c < 128; c++)
					if (b->quickset[c >> 6] & (UINT64CONST(1) << (c & 63)))
						pairs_add_first(f->pairs, (unsigned char) c);
				if (b->quick == QUICK_ALL)
					f->empty = true;
			}
			else
			{
				f->first[0] = f->first[1] = f->first[2] = f->first[3] = ~UINT64CONST(0);
				f->empty = true;
				all_pairs = true;
			}
		}
		if (all_pairs)
		{
			pfree(f->pairs);
			f->pairs = NULL;
		}
	}
	return filters;
}

/*
 * The blocklist entries that apply to kind number "kidx" of the rules (the
 * entries of that kind and those of every kind), in blocklist order: listed
 * for every kind at the first use of this copy of the rules, so that a check
 * compares no kind names.
 */
static const int *
kind_blocks(OmniRules *rules, int kidx, int *n)
{
	if (rules->kind_blocks == NULL)
	{
		MemoryContext cxt = GetMemoryChunkContext(rules);
		int		  **lists = MemoryContextAllocZero(cxt, sizeof(int *) * Max(rules->nkinds, 1));
		int		   *counts = MemoryContextAllocZero(cxt, sizeof(int) * Max(rules->nkinds, 1));

		for (int k = 0; k < rules->nkinds; k++)
		{
			lists[k] = MemoryContextAlloc(cxt, sizeof(int) * Max(rules->nblocks, 1));
			for (int i = 0; i < rules->nblocks; i++)
				if (rules->blocks[i].kind == NULL ||
					strcmp(rules->blocks[i].kind, rules->kinds[k].kind) == 0)
					lists[k][counts[k]++] = i;
		}
		rules->kind_nblocks = counts;
		rules->kind_filters = kind_filters_of(rules, lists, counts, cxt);
		rules->kind_blocks = lists;
	}
	*n = rules->kind_nblocks[kidx];
	return rules->kind_blocks[kidx];
}

/* A value in the regex library's form, made once for all the patterns. */
typedef struct WideValue
{
	pg_wchar	buf[128];
	pg_wchar   *data;			/* NULL until made; buf or palloc'd */
	int			len;
} WideValue;

/*
 * Why entry "b" blocks the normalized value, or NULL.  Values compare
 * without regard to ASCII case ("NULL", "Undefined"), patterns are POSIX
 * regular expressions matched the same way.
 */
static const char *
entry_blocks(OmniRules *rules, OmniBlockEntry *b, const char *kind,
			 const char *value, int vlen, WideValue *w)
{
	regex_t    *re;
	int			ret;

	if (!b->is_pattern)
	{
		if (VARSIZE_ANY_EXHDR(b->value) == vlen &&
			pg_strncasecmp(VARDATA_ANY(b->value), value, vlen) == 0)
			return psprintf("blocked value: %s \"%s\" (%s)", kind, value, b->reason);
		return NULL;
	}
	re = block_pattern(rules, b);
	if (!quick_may_match(b, value, vlen))
		return NULL;
	if (w->data == NULL)
	{
		w->data = (vlen < lengthof(w->buf)) ? w->buf : palloc(sizeof(pg_wchar) * (vlen + 1));
		w->len = pg_mb2wchar_with_len(value, w->data, vlen);
	}
	ret = pg_regexec(re, w->data, w->len, 0, NULL, 0, NULL, 0);
	if (ret == REG_OKAY)
		return psprintf("blocked value: %s \"%s\" matches %s (%s)", kind, value,
						text_to_cstring(b->value), b->reason);
	if (ret != REG_NOMATCH)
	{
		char		errMsg[100];

		CHECK_FOR_INTERRUPTS();
		pg_regerror(ret, re, errMsg, sizeof(errMsg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("regular expression failed: %s", errMsg)));
	}
	return NULL;
}

/*
 * Whether any blocklist entry of kind number "kidx" could block a value of
 * that kind, judged by its first two bytes, its length and the quick tests
 * of the patterns ("value" need not be terminated).  False means
 * omni_blocked_reason_kind would return NULL.
 */
bool
omni_blocklist_may_block(OmniRules *rules, int kidx, const char *value, int vlen)
{
	int			n;
	const OmniKindFilter *f;

	(void) kind_blocks(rules, kidx, &n);
	f = &rules->kind_filters[kidx];
	if (vlen == 0)
		return f->empty;
	if ((f->first[(unsigned char) value[0] >> 6] &
		 (UINT64CONST(1) << ((unsigned char) value[0] & 63))) == 0)
		return false;
	if (vlen >= 2 && f->pairs != NULL)
	{
		uint32		bit = ((uint32) (unsigned char) value[0] << 8) | (unsigned char) value[1];

		if ((f->pairs[bit >> 6] & (UINT64CONST(1) << (bit & 63))) == 0)
			return false;
	}
	/* an exact entry of the value's length, or a pattern its quick tests allow */
	if (f->exact_lengths & (UINT64CONST(1) << Min(vlen, 63)))
		return true;
	for (int i = 0; i < f->npatterns; i++)
		if (quick_may_match(f->patterns[i], value, vlen))
			return true;
	return false;
}

/*
 * Why a normalized identifier of kind number "kidx" is blocked, or NULL
 * when it is not: the first entry that blocks it, in blocklist order.
 */
const char *
omni_blocked_reason_kind(OmniRules *rules, int kidx, const char *value, int vlen)
{
	int			n;
	const int  *list = kind_blocks(rules, kidx, &n);
	WideValue	w;
	const char *reason = NULL;

	if (!omni_blocklist_may_block(rules, kidx, value, vlen))
		return NULL;
	w.data = NULL;
	for (int e = 0; e < n && reason == NULL; e++)
	{
		OmniBlockEntry *b = &rules->blocks[list[e]];

		/* most entries are ruled out here, without a call */
		if (b->is_pattern ? (b->re != NULL && !quick_may_match(b, value, vlen)) :
			VARSIZE_ANY_EXHDR(b->value) != vlen)
			continue;
		reason = entry_blocks(rules, b, rules->kinds[kidx].kind, value, vlen, &w);
	}
	if (w.data != NULL && w.data != w.buf)
		pfree(w.data);
	return reason;
}

/*
 * Why a normalized identifier is blocked, or NULL when it is not.  An
 * identifier of a kind the rules do not know is checked against the
 * entries naming that kind and those of every kind.
 */
const char *
omni_blocked_reason(OmniRules *rules, const char *kind, const char *value)
{
	int			kidx = omni_rules_kind_index(rules, kind);
	int			vlen = strlen(value);
	WideValue	w;
	const char *reason = NULL;

	if (kidx >= 0)
		return omni_blocked_reason_kind(rules, kidx, value, vlen);
	w.data = NULL;
	for (int i = 0; i < rules->nblocks && reason == NULL; i++)
	{
		OmniBlockEntry *b = &rules->blocks[i];

		if (b->kind == NULL || strcmp(b->kind, kind) == 0)
			reason = entry_blocks(rules, b, kind, value, vlen, &w);
	}
	if (w.data != NULL && w.data != w.buf)
		pfree(w.data);
	return reason;
}

/*
 * Read the per-database key of identifier hashes from omni.secret.  The
 * table is readable by its owner only; the key is read here without an
 * ACL check on purpose, so that any role may compute hashes (to check a
 * recipient against omni.forgotten) without being able to read the key.
 */
static bytea *
read_secret_key(void)
{
	Oid			nsp = get_namespace_oid("omni", false);
	Oid			relid = get_relname_relid("secret", nsp);
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bytea	   *key = NULL;

	if (!OidIsValid(relid))
		elog(ERROR, "relation \"omni.secret\" does not exist");
	rel = table_open(relid, AccessShareLock);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		int			attno = attnameAttNum(rel, "hmac_key", false);
		Datum		d = heap_getattr(tup, attno, RelationGetDescr(rel), &isnull);

		if (!isnull)
			key = DatumGetByteaPCopy(d);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the identifier hash key is missing from omni.secret"),
				 errhint("Restore omni.secret from a backup: hashes made with another key do not match.")));
	return key;
}

/*
 * HMAC-SHA256, under the database's key, of the kind, a zero byte and the
 * normalized value: the form identifiers are kept in after erasure.
 */
static void
identifier_hash_with_key(bytea *key, const char *kind, const char *value, uint8 *dest)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		zero = 0;

	if (ctx == NULL)
		elog(ERROR, "out of memory creating an HMAC context");
	if (pg_hmac_init(ctx, (uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) kind, strlen(kind)) < 0 ||
		pg_hmac_update(ctx, &zero, 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) value, strlen(value)) < 0 ||
		pg_hmac_final(ctx, dest, OMNI_HASH_LEN) < 0)
	{
		const char *msg = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "could not compute HMAC-SHA256: %s", msg);
	}
	pg_hmac_free(ctx);
}

/* The keyed hash of one identifier, reading the key. */
void
omni_identifier_hash(const char *kind, const char *value, uint8 *dest)
{
	identifier_hash_with_key(read_secret_key(), kind, value, dest);
}

/*
 * The database's hash key, copied into mcxt, and the keyed hash under a key
 * read before: for callers that hash many identifiers in one statement
 * (the suppression trigger) and keep the key for the statement, as
 * omni.identifier_hash does in fn_extra.
 */
bytea *
omni_identifier_hash_key(MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	bytea	   *key = read_secret_key();

	MemoryContextSwitchTo(old);
	return key;
}

void
omni_identifier_hash_keyed(bytea *key, const char *kind, const char *value, uint8 *dest)
{
	identifier_hash_with_key(key, kind, value, dest);
}

PG_FUNCTION_INFO_V1(omni_identifier_hash_sql);
/*
 * omni.identifier_hash(kind, value): the keyed hash of an already-normalized
 * identifier, as kept in omni.forgotten.hash.  The key is read once per
 * statement (fn_extra).
 */
Datum
omni_identifier_hash_sql(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *value = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bytea	   *result = palloc(VARHDRSZ + OMNI_HASH_LEN);

	if (fcinfo->flinfo->fn_extra == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		fcinfo->flinfo->fn_extra = read_secret_key();
		MemoryContextSwitchTo(old);
	}
	identifier_hash_with_key((bytea *) fcinfo->flinfo->fn_extra, kind, value,
							 (uint8 *) VARDATA(result));
	SET_VARSIZE(result, VARHDRSZ + OMNI_HASH_LEN);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(omni_normalize);
/*
 * omni.normalize(kind, value [, region]): normalize by the kind's rule; the
 * optional region reads phone numbers written without a calling code.
 */
Datum
omni_normalize(PG_FUNCTION_ARGS)
{
	OmniRules  *rules = omni_rules_for_call(fcinfo);
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	text	   *value = PG_GETARG_TEXT_PP(1);
	char	   *region = (PG_NARGS() > 2) ? text_to_cstring(PG_GETARG_TEXT_PP(2)) : NULL;
	OmniNormError err;
	char	   *out;

	out = omni_normalize_kind_soft(omni_rules_kind(rules, kind), VARDATA_ANY(value),
								   VARSIZE_ANY_EXHDR(value), region, &err);
	if (out == NULL)
		omni_norm_raise(&err);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(omni_try_normalize);
/*
 * omni.try_normalize(kind, value, region DEFAULT NULL): like omni.normalize,
 * but NULL instead of an error when the value is not valid for its kind (an
 * unknown kind or region is still an error), for loaders that set bad
 * values aside.
 */
Datum
omni_try_normalize(PG_FUNCTION_ARGS)
{
	OmniRules  *rules;
	char	   *kind;
	text	   *value;
	char	   *region = NULL;
	OmniNormError err;
	char	   *out;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	rules = omni_rules_for_call(fcinfo);
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	value = PG_GETARG_TEXT_PP(1);
	if (!PG_ARGISNULL(2))
		region = text_to_cstring(PG_GETARG_TEXT_PP(2));
	out = omni_normalize_kind_soft(omni_rules_kind(rules, kind), VARDATA_ANY(value),
								   VARSIZE_ANY_EXHDR(value), region, &err);
	if (out == NULL)
	{
		if (region != NULL && strncmp(err.msg, "unknown phone region", 20) == 0)
			omni_norm_raise(&err);
		PG_RETURN_NULL();
	}
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(omni_blocked);
/*
 * omni.blocked(kind, value): why an identifier is blocked (the value is
 * normalized first), or NULL when it may link.
 */
Datum
omni_blocked(PG_FUNCTION_ARGS)
{
	OmniRules  *rules = omni_rules_for_call(fcinfo);
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	text	   *value = PG_GETARG_TEXT_PP(1);
	char	   *norm = omni_normalize_kind(rules, kind, VARDATA_ANY(value),
										   VARSIZE_ANY_EXHDR(value));
	const char *reason = omni_blocked_reason(rules, kind, norm);

	if (reason == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(reason));
}
