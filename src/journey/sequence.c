/*-------------------------------------------------------------------------
 *
 * sequence.c
 *		omni.sequence_match and omni.sequence_count: ClickHouse's
 *		sequenceMatch / sequenceCount pattern language over a journey.
 *
 * Pattern syntax (as ClickHouse):
 *		(?N)			a step matching conditions[N] (1-based)
 *		.				any one step
 *		.*				any number of steps
 *		(?t op S)		between the previous and the next matched step, any
 *						number of steps, and their times S seconds apart
 *						by op: <, <=, >, >=, ==
 * Only the steps matching at least one of the conditions take part; the
 * others are skipped, so "(?1)(?2)" means no step matching any condition
 * between the two.  A match may start anywhere and need not reach the end
 * of the journey.  Several time conditions in one gap all apply.
 *
 * No backtracking: the pattern is a chain of step elements with
 * constraints on consecutive matched steps only, so a dynamic program over
 * (element, step) decides in O(elements * steps * log steps) whether each
 * step can start the rest of the pattern.  sequence_count then picks,
 * from the left, the lexicographically first match (what ClickHouse's
 * backtracking search finds first), counts it, and goes on after its last
 * step, so matches do not overlap.  No pattern can make this exponential; a
 * pattern or journey whose table would exceed SEQUENCE_MAX_CELLS is refused
 * with an error instead of running long.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(journey_sequence_match);
PG_FUNCTION_INFO_V1(journey_sequence_count);

/* Most (element, step) cells one evaluation may visit. */
#define SEQUENCE_MAX_CELLS		((int64) 200000000)

/*
 * Raise a syntax error at "pos".  A long pattern is quoted by its first 50
 * bytes, cut at a character boundary so that the message stays valid in
 * the database encoding.  (Every character before "pos" is ASCII: the
 * first other one is an error.)
 */
static void
seq_syntax_error(const char *pattern, const char *pos, const char *msg)
{
	int			len = strlen(pattern);
	char	   *shown = len > 60 ?
		psprintf("%.*s...", pg_mbcliplen(pattern, len, 50), pattern) :
		pstrdup(pattern);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid sequence pattern \"%s\": %s at position %d",
					shown, msg, (int) (pos - pattern) + 1),
			 errhint("A pattern is made of (?N), ., .* and (?t<=seconds), as in \"(?1).*(?2)(?t<=3600)(?3)\".")));
}

/* Read a non-negative integer number of seconds, as microseconds. */
static int64
seq_read_seconds(const char *pattern, const char **pos)
{
	const char *p = *pos;
	int64		v = 0;

	if (!isdigit((unsigned char) *p))
		seq_syntax_error(pattern, p, "expected a number of seconds");
	while (isdigit((unsigned char) *p))
	{
		v = v * 10 + (*p - '0');
		if (v > PG_INT64_MAX / USECS_PER_SEC)
			seq_syntax_error(pattern, *pos, "number of seconds out of range");
		p++;
	}
	*pos = p;
	return v * USECS_PER_SEC;
}

/*
 * Parse a pattern into step elements (exported for the fuzzing harness of
 * test/fuzz, which feeds it arbitrary text).
 */
SeqPattern *
journey_sequence_parse(const char *pattern)
{
	SeqPattern *sp = palloc0(offsetof(SeqPattern, elems) +
							 sizeof(SeqElement) * (SEQUENCE_MAX_ELEMENTS + 1));
	const char *p = pattern;
	bool		skip = true;	/* the implicit leading .* */
	bool		timed = false;	/* the current gap has a time condition */
	int64		lo = 0,
				hi = PG_INT64_MAX;

	while (*p != '\0')
	{
		int			cond = -2;

		if (strncmp(p, "(?t", 3) == 0)
		{
			const char *start = p;
			int64		v;

			p += 3;
			if (sp->nelems == 0)
				seq_syntax_error(pattern, start, "a time condition must follow a step");
			if (strncmp(p, "<=", 2) == 0)
			{
				p += 2;
				v = seq_read_seconds(pattern, &p);
				hi = Min(hi, v);
			}
			else if (strncmp(p, ">=", 2) == 0)
			{
				p += 2;
				v = seq_read_seconds(pattern, &p);
				lo = Max(lo, v);
			}
			else if (strncmp(p, "==", 2) == 0)
			{
				p += 2;
				v = seq_read_seconds(pattern, &p);
				lo = Max(lo, v);
				hi = Min(hi, v);
			}
			else if (*p == '<')
			{
				p++;
				v = seq_read_seconds(pattern, &p);
				hi = Min(hi, v - 1);
			}
			else if (*p == '>')
			{
				p++;
				v = seq_read_seconds(pattern, &p);
				lo = Max(lo, v + 1);
			}
			else
				seq_syntax_error(pattern, p, "unknown time operator (use <, <=, >, >= or ==)");
			if (*p != ')')
				seq_syntax_error(pattern, p, "expected \")\"");
			p++;
			timed = true;
			continue;
		}
		else if (strncmp(p, "(?", 2) == 0)
		{
			const char *start = p + 2;
			int64		n = 0;

			p += 2;
			if (!isdigit((unsigned char) *p))
				seq_syntax_error(pattern, p, "expected a condition number");
			while (isdigit((unsigned char) *p))
			{
				n = n * 10 + (*p - '0');
				if (n > JOURNEY_MAX_PATTERNS)
					break;
				p++;
			}
			if (n < 1 || n > JOURNEY_MAX_PATTERNS)
				seq_syntax_error(pattern, start, "condition number out of range (1 to 64)");
			if (*p != ')')
				seq_syntax_error(pattern, p, "expected \")\"");
			p++;
			cond = (int) n - 1;
		}
		else if (strncmp(p, ".*", 2) == 0)
		{
			p += 2;
			skip = true;
			continue;
		}
		else if (*p == '.')
		{
			p++;
			cond = -1;
		}
		else if (isspace((unsigned char) *p))
		{
			p++;
			continue;
		}
		else
			seq_syntax_error(pattern, p, "unexpected character");

		/* a step element */
		if (sp->nelems >= SEQUENCE_MAX_ELEMENTS)
			seq_syntax_error(pattern, p, "too many steps (the limit is 256)");
		sp->elems[sp->nelems].cond = cond;
		sp->elems[sp->nelems].skip = skip || timed;
		sp->elems[sp->nelems].lo = lo;
		sp->elems[sp->nelems].hi = hi;
		sp->nelems++;
		if (cond + 1 > sp->maxcond)
			sp->maxcond = cond + 1;
		skip = timed = false;
		lo = 0;
		hi = PG_INT64_MAX;
	}
	if (sp->nelems == 0)
		seq_syntax_error(pattern, p, "no step to match");
	if (timed)
		seq_syntax_error(pattern, p, "a time condition must be followed by a step");
	return sp;
}

static inline bool
seq_elem_matches(const SeqElement *e, uint64 mask)
{
	return e->cond < 0 || (mask & (UINT64CONST(1) << e->cond)) != 0;
}

/* First index in [from, n) whose time is >= t (n if none). */
static int
seq_lower_bound(const SeqInput *in, int from, int128 t)
{
	int			lo = from,
				hi = in->n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if ((int128) in->ts[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The range [*a, *b] of steps that may follow step i as element "e" (the
 * gap of e); empty when *a > *b.
 */
static void
seq_successors(const SeqInput *in, const SeqElement *e, int i, int *a, int *b)
{
	if (!e->skip)
	{
		int64		dt;

		*a = *b = i + 1;
		if (i + 1 >= in->n)
		{
			*b = i;
			return;
		}
		dt = in->ts[i + 1] - in->ts[i];
		if (dt < e->lo || dt > e->hi)
			*b = i;
		return;
	}
	*a = seq_lower_bound(in, i + 1, (int128) in->ts[i] + e->lo);
	*b = seq_lower_bound(in, i + 1, (int128) in->ts[i] + e->hi + 1) - 1;
}

/*
 * next[m][i]: the first step >= i that can match element m with the rest
 * of the pattern after it (n when none).  Levels are filled from the last
 * element backwards; when "keep" is false only level 0 is kept.
 */
static int32 **
seq_table(const SeqPattern *sp, const SeqInput *in, bool keep)
{
	int			n = in->n;
	int32	  **next = palloc0(sizeof(int32 *) * sp->nelems);
	int32	   *after = NULL;

	if ((int64) sp->nelems * (n + 1) > SEQUENCE_MAX_CELLS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("sequence pattern is too complex for this journey"),
				 errdetail("%d pattern steps over %d journey steps exceed the limit of " INT64_FORMAT " cells.",
						   sp->nelems, n, SEQUENCE_MAX_CELLS)));

	for (int m = sp->nelems - 1; m >= 0; m--)
	{
		const SeqElement *e = &sp->elems[m];
		const SeqElement *following = (m + 1 < sp->nelems) ? &sp->elems[m + 1] : NULL;
		int32	   *cur = palloc(sizeof(int32) * (n + 1));

		cur[n] = n;
		for (int i = n - 1; i >= 0; i--)
		{
			bool		ok = seq_elem_matches(e, in->mask[i]);

			if (ok && following != NULL)
			{
				int			a,
							b;

				seq_successors(in, following, i, &a, &b);
				ok = a <= b && a < n && after[a] <= b;
			}
			cur[i] = ok ? i : cur[i + 1];
			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		if (!keep && after != NULL)
			pfree(after);
		next[m] = cur;
		after = cur;
	}
	return next;
}

/* Parse (or fetch from the call-site cache) the pattern and read the input. */
static SeqPattern *
seq_prepare(FunctionCallInfo fcinfo, SeqInput *in)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	struct varlena *ptext = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1));
	SeqPattern *sp;
	StepPattern *conds;
	int			nconds;
	uint64	   *masks;
	int			dummy;

	sp = journey_arg_cache_get(fcinfo, 1, ptext, &dummy);
	if (sp == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		sp = journey_sequence_parse(text_to_cstring((text *) ptext));
		MemoryContextSwitchTo(old);
		journey_arg_cache_put(fcinfo, 1, ptext, sp, sp->nelems);
	}
	journey_cached_pattern_array(fcinfo, 2, "sequence conditions", &conds, &nconds);
	if (sp->maxcond > nconds)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sequence pattern refers to condition (?%d) but only %d conditions are given",
						sp->maxcond, nconds)));

	masks = journey_match_kinds(j, conds, nconds);
	in->ts = palloc(sizeof(int64) * Max(j->nsteps, 1));
	in->mask = palloc(sizeof(uint64) * Max(j->nsteps, 1));
	in->n = 0;
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		uint64		m = masks[journey_kind(j, i)];

		if (m == 0)
			continue;
		in->ts[in->n] = j->ts[i];
		in->mask[in->n] = m;
		in->n++;
	}
	return sp;
}

/*
 * Evaluate a parsed pattern over the relevant steps of a journey.  With
 * "count" false, 1 when the pattern occurs and 0 when not (only the first
 * level of the table is kept); with "count" true, the number of
 * non-overlapping occurrences, found from the left.
 */
int32
journey_sequence_run(const SeqPattern *sp, const SeqInput *in, bool count)
{
	int32	  **next;
	int32		found = 0;
	int			pos = 0;

	if (in->n == 0)
		return 0;
	next = seq_table(sp, in, count);
	if (!count)
		return next[0][0] < in->n ? 1 : 0;
	while (pos < in->n)
	{
		int			cur = next[0][pos];

		if (cur >= in->n)
			break;
		for (int m = 1; m < sp->nelems; m++)
		{
			int			a,
						b;

			seq_successors(in, &sp->elems[m], cur, &a, &b);
			Assert(a <= b && next[m][a] <= b);
			cur = next[m][a];
		}
		found++;
		pos = cur + 1;
		CHECK_FOR_INTERRUPTS();
	}
	return found;
}

/* omni.sequence_match(j, pattern, conditions): whether the pattern occurs. */
Datum
journey_sequence_match(PG_FUNCTION_ARGS)
{
	SeqInput	in;
	SeqPattern *sp = seq_prepare(fcinfo, &in);

	PG_RETURN_BOOL(journey_sequence_run(sp, &in, false) != 0);
}

/*
 * omni.sequence_count(j, pattern, conditions): the number of
 * non-overlapping occurrences, found from the left.
 */
Datum
journey_sequence_count(PG_FUNCTION_ARGS)
{
	SeqInput	in;
	SeqPattern *sp = seq_prepare(fcinfo, &in);

	PG_RETURN_INT32(journey_sequence_run(sp, &in, true));
}
