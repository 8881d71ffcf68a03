/*-------------------------------------------------------------------------
 *
 * funnel.c
 *		omni.funnel: the deepest step of an ordered funnel a journey reached
 *		within a sliding time window, with the semantics and modes of
 *		ClickHouse's windowFunnel.
 *
 * Every step of the journey that matches funnel step patterns becomes one
 * entry per matched pattern (a step matching several patterns gives several
 * entries); entries are ordered by (time, pattern number, journey order), so
 * ties at one timestamp are resolved the same way every time, and then
 * walked once.  The window runs from the time of the entry that matched the
 * first pattern: timestamp of step 1 <= ... <= timestamp of step N <=
 * timestamp of step 1 + window.
 *
 * Modes, as in ClickHouse (several may be combined):
 *	strict_deduplication	a repeat of an already reached step (other than
 *							the first) ends the search at the deepest step
 *							reached (as fixed in ClickHouse PR 99003)
 *	strict_order			no other event may come between the steps: a
 *							journey step matching no pattern, a step ahead
 *							of the next one, or the first step again once
 *							the funnel went past it, ends the search
 *	strict_increase			steps must have strictly increasing times
 *	strict_once				one journey step counts for at most one funnel
 *							step in a chain, even if it matches several
 *	allow_reentry			with strict_order, the first step may happen
 *							again (it restarts the chain) without ending
 *							the search
 *
 * The usual walk keeps, per funnel step, the latest chain start that reached
 * it (the later the start, the more room the window leaves), which is O(n).
 * strict_once must remember which journey steps a chain used; it keeps
 * chains the way ClickHouse does, but since a journey step's entries all
 * share one timestamp, the chains of earlier timestamps are collapsed to the
 * one with the latest start at each new timestamp, which keeps the work
 * linear in the journey for all but pathological ties.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(journey_funnel);

/* Most chains strict_once may keep at once before giving up. */
#define FUNNEL_MAX_CHAINS	1000000

/* One entry of the walk: a funnel event matched by funnel step "cond". */
typedef struct FunnelEntry
{
	int64		ts;
	int			cond;			/* 1..n, or 0: matches none (strict_order) */
	int			row;			/* index of the event in its tie group */
} FunnelEntry;

/* Order of funnel events: by time, then by mask. */
static inline int
funnel_event_cmp(const FunnelEvent *a, const FunnelEvent *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->mask != b->mask)
		return a->mask < b->mask ? -1 : 1;
	return 0;
}

#define ST_SORT funnel_qsort_events
#define ST_ELEMENT_TYPE FunnelEvent
#define ST_COMPARE(a, b) funnel_event_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Sort funnel events by (time, mask), as funnel_level() wants them.  Rows
 * mostly arrive in time order (a table loaded as events happen), and the
 * sort first checks whether the input is already sorted.
 */
void
funnel_sort_events(FunnelEvent *events, int n)
{
	if (n < 2)
		return;					/* nothing to sort; events may be NULL */
	funnel_qsort_events(events, n);
}

/*
 * Parse the mode array into *modes; an unknown mode, a NULL or a
 * multidimensional array is an error.
 */
void
funnel_parse_modes(ArrayType *arr, FunnelModes *modes)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	memset(modes, 0, sizeof(FunnelModes));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("funnel modes must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *mode;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("funnel modes must not contain NULL")));
		mode = TextDatumGetCString(elems[i]);
		if (strcmp(mode, "strict_deduplication") == 0)
			modes->strict_deduplication = true;
		else if (strcmp(mode, "strict_order") == 0)
			modes->strict_order = true;
		else if (strcmp(mode, "strict_increase") == 0)
			modes->strict_increase = true;
		else if (strcmp(mode, "strict_once") == 0)
			modes->strict_once = true;
		else if (strcmp(mode, "allow_reentry") == 0)
			modes->allow_reentry = true;
		else if (strcmp(mode, "strict") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown funnel mode \"strict\""),
					 errhint("The mode \"strict\" is called \"strict_deduplication\".")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown funnel mode \"%s\"", omni_clip_value(mode, strlen(mode))),
					 errhint("Known modes: strict_deduplication, strict_order, strict_increase, strict_once, allow_reentry.")));
	}
	if (modes->allow_reentry && !modes->strict_order)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("funnel mode \"allow_reentry\" requires \"strict_order\"")));
}

/* Whether time "ts" is within "window" of chain start "first". */
static inline bool
funnel_in_window(int64 first, int64 ts, int64 window)
{
	return (int128) ts - first <= window;
}

/*
 * The entries of one tie group of events [start, end) (all at one
 * timestamp), in (step, mask) order, into "entries"; with "with_none", the
 * events matching no step first (strict_order).
 */
static int
funnel_group_entries(const FunnelEvent *events, int ncond, bool with_none,
					 int start, int end, FunnelEntry *entries)
{
	int			n = 0;

	for (int c = with_none ? 0 : 1; c <= ncond; c++)
	{
		for (int i = start; i < end; i++)
		{
			uint64		m = events[i].mask;

			if (c == 0 ? m == 0 : (m & (UINT64CONST(1) << (c - 1))) != 0)
			{
				entries[n].ts = events[i].ts;
				entries[n].cond = c;
				entries[n].row = i - start;
				n++;
			}
		}
	}
	return n;
}

/* The usual walk: the latest chain start per funnel step. */
typedef struct FunnelWalk
{
	int			n;
	bool	   *has;
	int64	   *first;
	int64	   *last;
	bool		first_event;
} FunnelWalk;

static int
funnel_walk_level(FunnelWalk *w)
{
	for (int l = w->n; l > 0; l--)
		if (w->has[l - 1])
			return l;
	return 0;
}

/*
 * Feed one entry to the usual walk.  Returns -1 to go on, -2 to stop and
 * report the deepest step so far, or the final level.
 */
static int
funnel_walk_entry(FunnelWalk *w, const FunnelModes *modes, int64 window,
				  const FunnelEntry *e)
{
	int			idx = e->cond - 1;

	if (modes->strict_order && idx == -1)
		return w->first_event ? -2 : -1;
	if (idx == 0)
	{
		/* strict_order: re-entering the funnel interrupts it */
		if (modes->strict_order && !modes->allow_reentry && w->n > 1 && w->has[1])
			return funnel_walk_level(w);
		w->has[0] = true;
		w->first[0] = w->last[0] = e->ts;
		w->first_event = true;
	}
	else if (modes->strict_deduplication && w->has[idx])
		return funnel_walk_level(w);
	else if (modes->strict_order && w->first_event && !w->has[idx - 1])
	{
		for (int l = 0; l < w->n; l++)
			if (!w->has[l])
				return l;
	}
	else if (w->has[idx - 1])
	{
		int64		first = w->first[idx - 1];
		bool		ok = funnel_in_window(first, e->ts, window);

		if (modes->strict_increase)
			ok = ok && w->last[idx - 1] < e->ts;
		if (ok)
		{
			w->has[idx] = true;
			w->first[idx] = first;
			w->last[idx] = e->ts;
			if (idx + 1 == w->n)
				return w->n;
		}
	}
	return -1;
}

/* strict_once: chains remember the journey steps of the current tie group. */
typedef struct FunnelChain
{
	int64		first;
	int64		last;
	int			nrows;
	int		   *rows;			/* tie-group rows the chain used */
} FunnelChain;

typedef struct FunnelLevel
{
	FunnelChain *chains;
	int			n;
	int			max;
} FunnelLevel;

typedef struct FunnelOnce
{
	int			n;
	FunnelLevel *levels;
	bool		has_first;
	int64		nchains;
	MemoryContext group_cxt;	/* rows of the current tie group */
} FunnelOnce;

static int
funnel_once_level(FunnelOnce *o)
{
	for (int l = o->n; l > 0; l--)
		if (o->levels[l - 1].n > 0)
			return l;
	return 0;
}

static void
funnel_once_push(FunnelOnce *o, int level, int64 first, int64 last,
				 const int *rows, int nrows, int row)
{
	FunnelLevel *lv = &o->levels[level];
	FunnelChain *c;

	if (++o->nchains > FUNNEL_MAX_CHAINS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("funnel with mode \"strict_once\" is too complex"),
				 errdetail("More than %d partial chains at one timestamp.", FUNNEL_MAX_CHAINS),
				 errhint("Many journey steps share one timestamp and match several funnel steps.")));
	if (lv->n >= lv->max)
	{
		lv->max = Max(8, lv->max * 2);
		lv->chains = lv->chains ? repalloc(lv->chains, sizeof(FunnelChain) * lv->max)
			: palloc(sizeof(FunnelChain) * lv->max);
	}
	c = &lv->chains[lv->n++];
	c->first = first;
	c->last = last;
	c->nrows = nrows + 1;
	c->rows = MemoryContextAlloc(o->group_cxt, sizeof(int) * c->nrows);
	if (nrows > 0)
		memcpy(c->rows, rows, sizeof(int) * nrows);
	c->rows[nrows] = row;
}

/* At a new timestamp, keep per level the chain with the latest start. */
static void
funnel_once_collapse(FunnelOnce *o)
{
	for (int l = 0; l < o->n; l++)
	{
		FunnelLevel *lv = &o->levels[l];
		int			best = 0;

		if (lv->n == 0)
			continue;
		for (int i = 1; i < lv->n; i++)
			if (lv->chains[i].first > lv->chains[best].first)
				best = i;
		lv->chains[0] = lv->chains[best];
		lv->chains[0].nrows = 0;
		lv->chains[0].rows = NULL;
		lv->n = 1;
	}
	o->nchains = 0;
	for (int l = 0; l < o->n; l++)
		o->nchains += o->levels[l].n;
	MemoryContextReset(o->group_cxt);
}

static bool
funnel_chain_uses(const FunnelChain *c, int row)
{
	for (int i = 0; i < c->nrows; i++)
		if (c->rows[i] == row)
			return true;
	return false;
}

/* Feed one entry to the strict_once walk; return codes as funnel_walk_entry. */
static int
funnel_once_entry(FunnelOnce *o, const FunnelModes *modes, int64 window,
				  const FunnelEntry *e)
{
	int			idx = e->cond - 1;

	if (modes->strict_order && idx == -1)
		return o->has_first ? -2 : -1;
	if (idx == 0)
	{
		/* strict_order: re-entering the funnel interrupts it */
		if (modes->strict_order && !modes->allow_reentry && o->n > 1 && o->levels[1].n > 0)
			return funnel_once_level(o);
		funnel_once_push(o, 0, e->ts, e->ts, NULL, 0, e->row);
		o->has_first = true;
	}
	else if (modes->strict_deduplication && o->levels[idx].n > 0)
	{
		/* a repeat, unless every chain there already used this journey step */
		for (int i = 0; i < o->levels[idx].n; i++)
			if (!funnel_chain_uses(&o->levels[idx].chains[i], e->row))
				return funnel_once_level(o);
	}
	else if (modes->strict_order && o->has_first && o->levels[idx - 1].n == 0)
	{
		for (int l = 0; l < o->n; l++)
			if (o->levels[l].n == 0)
				return l;
	}
	else if (o->levels[idx - 1].n > 0)
	{
		FunnelLevel *prev = &o->levels[idx - 1];
		int			total = prev->n;
		int			kept = 0;

		for (int i = 0; i < total; i++)
		{
			FunnelChain c = prev->chains[i];
			bool		ok = funnel_in_window(c.first, e->ts, window);

			/* a chain out of the window is dropped, but one is always kept */
			if (!ok && kept + (total - i) > 1)
			{
				o->nchains--;
				continue;
			}
			prev->chains[kept++] = c;
			if (ok)
				ok = !funnel_chain_uses(&c, e->row);
			if (ok && modes->strict_increase)
				ok = c.last < e->ts;
			if (ok)
			{
				funnel_once_push(o, idx, c.first, e->ts, c.rows, c.nrows, e->row);
				if (idx + 1 == o->n)
					return o->n;
			}
		}
		prev->n = kept;
	}
	return -1;
}

/*
 * One entry (funnel step "idx", 0-based, at time "ts") of the usual walk
 * without strict_order or strict_once, over a bit set of the steps reached
 * and arrays on the caller's stack: the same rules as funnel_walk_entry().
 * Returns -1 to go on, or the final level.
 */
static inline int
funnel_plain_entry(uint64 *has, int64 *first, int64 *last, int ncond,
				   bool dedup, bool increase, int64 window, int idx, int64 ts)
{
	if (idx == 0)
	{
		*has |= 1;
		first[0] = last[0] = ts;
	}
	else if (dedup && (*has & (UINT64CONST(1) << idx)) != 0)
		return pg_leftmost_one_pos64(*has) + 1;
	else if ((*has & (UINT64CONST(1) << (idx - 1))) != 0 &&
			 funnel_in_window(first[idx - 1], ts, window) &&
			 (!increase || last[idx - 1] < ts))
	{
		*has |= UINT64CONST(1) << idx;
		first[idx] = first[idx - 1];
		last[idx] = ts;
		if (idx + 1 == ncond)
			return ncond;
	}
	return -1;
}

/*
 * funnel_level() without strict_order or strict_once, the common case: the
 * same walk, without building entries.  An event alone at its time gives
 * its entries in step order, which are the bits of its mask from the
 * lowest; events sharing a time are taken step by step, then in mask
 * order, as funnel_group_entries() orders them.
 */
static int
funnel_level_plain(const FunnelEvent *events, int nevents, int ncond,
				   int64 window, const FunnelModes *modes)
{
	uint64		has = 0;
	int64		first[JOURNEY_MAX_PATTERNS];
	int64		last[JOURNEY_MAX_PATTERNS];
	bool		dedup = modes->strict_deduplication;
	bool		increase = modes->strict_increase;
	int			result = -1;

	for (int start = 0, groups = 0; start < nevents; groups++)
	{
		int64		ts = events[start].ts;
		int			end = start + 1;

		while (end < nevents && events[end].ts == ts)
			end++;
		if (end - start == 1)
		{
			uint64		m = events[start].mask;

			while (m != 0 && result == -1)
			{
				result = funnel_plain_entry(&has, first, last, ncond, dedup, increase,
											window, pg_rightmost_one_pos64(m), ts);
				m &= m - 1;
			}
		}
		else
		{
			for (int c = 0; c < ncond && result == -1; c++)
				for (int i = start; i < end && result == -1; i++)
					if ((events[i].mask & (UINT64CONST(1) << c)) != 0)
						result = funnel_plain_entry(&has, first, last, ncond, dedup,
													increase, window, c, ts);
		}
		if (result != -1)
			return result;
		start = end;
		if ((groups & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return has == 0 ? 0 : pg_leftmost_one_pos64(has) + 1;
}

/*
 * The deepest of "ncond" funnel steps reached by "events" (sorted by
 * funnel_sort_events) within "window" microseconds: 0 when the first step
 * never happens.  Events with mask 0 matter only to strict_order; other
 * callers may leave them out.  This is the one implementation of the walk,
 * shared by the function over journeys and the aggregate over rows.
 */
int
funnel_level(const FunnelEvent *events, int nevents, int ncond, int64 window,
			 const FunnelModes *modes)
{
	FunnelEntry *entries = NULL;
	int			maxentries = 0;
	FunnelWalk	walk;
	FunnelOnce	once;
	int			result = -1;
	bool		any_first = false;

	for (int i = 0; i < nevents; i++)
		if (events[i].mask & 1)
		{
			any_first = true;
			break;
		}
	if (!any_first)
		return 0;
	if (!modes->strict_order && ncond == 1)
		return 1;
	if (!modes->strict_order && !modes->strict_once)
		return funnel_level_plain(events, nevents, ncond, window, modes);

	memset(&walk, 0, sizeof(walk));
	memset(&once, 0, sizeof(once));
	if (modes->strict_once)
	{
		once.n = ncond;
		once.levels = palloc0(sizeof(FunnelLevel) * ncond);
		once.group_cxt = AllocSetContextCreate(CurrentMemoryContext, "omni funnel",
											   ALLOCSET_SMALL_SIZES);
	}
	else
	{
		walk.n = ncond;
		walk.has = palloc0(sizeof(bool) * ncond);
		walk.first = palloc0(sizeof(int64) * ncond);
		walk.last = palloc0(sizeof(int64) * ncond);
	}

	for (int start = 0, groups = 0; start < nevents && result == -1; groups++)
	{
		int			end = start + 1;
		int			nentries;

		while (end < nevents && events[end].ts == events[start].ts)
			end++;
		if ((int64) (end - start) * (ncond + 1) > maxentries)
		{
			maxentries = (end - start) * (ncond + 1);
			entries = entries ? repalloc(entries, sizeof(FunnelEntry) * maxentries)
				: palloc(sizeof(FunnelEntry) * maxentries);
		}
		nentries = funnel_group_entries(events, ncond, modes->strict_order,
										start, end, entries);
		if (modes->strict_once && start > 0)
			funnel_once_collapse(&once);
		for (int e = 0; e < nentries && result == -1; e++)
			result = modes->strict_once ?
				funnel_once_entry(&once, modes, window, &entries[e]) :
				funnel_walk_entry(&walk, modes, window, &entries[e]);
		start = end;
		if ((groups & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (result < 0)
		result = modes->strict_once ? funnel_once_level(&once) : funnel_walk_level(&walk);
	if (modes->strict_once)
	{
		MemoryContextDelete(once.group_cxt);
		for (int l = 0; l < ncond; l++)
			if (once.levels[l].chains)
				pfree(once.levels[l].chains);
		pfree(once.levels);
	}
	else
	{
		pfree(walk.has);
		pfree(walk.first);
		pfree(walk.last);
	}
	if (entries)
		pfree(entries);
	return result;
}

/*
 * omni.funnel(j, window, steps, mode): the deepest funnel step reached, 0
 * when the first step never happens.  The journey's steps matching a
 * funnel step (and, for strict_order, all of them) become funnel events;
 * they are already in time order, so only ties need sorting by mask, which
 * an insertion sort does in one pass.
 */
Datum
journey_funnel(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	int64		window = journey_interval_usecs(PG_GETARG_INTERVAL_P(1), "funnel window", true);
	StepPattern *patterns;
	int			ncond;
	FunnelModes modes;
	uint64	   *masks;
	FunnelEvent *events;
	int			nevents = 0;
	bool		any_first = false;
	int			result;

	journey_cached_pattern_array(fcinfo, 2, "funnel steps", &patterns, &ncond);
	funnel_parse_modes(PG_GETARG_ARRAYTYPE_P(3), &modes);
	masks = journey_match_kinds(j, patterns, ncond);

	for (uint32 k = 0; k < j->nkinds; k++)
		if (masks[k] & 1)
			any_first = true;
	if (!any_first)
		PG_RETURN_INT32(0);
	if (!modes.strict_order && ncond == 1)
		PG_RETURN_INT32(1);

	events = palloc(sizeof(FunnelEvent) * Max(j->nsteps, 1));
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		uint64		m = masks[journey_kind(j, i)];
		int			k;

		if (m == 0 && !modes.strict_order)
			continue;
		/* insertion: only steps at one time can be out of (time, mask) order */
		for (k = nevents; k > 0 && events[k - 1].ts == j->ts[i] && events[k - 1].mask > m; k--)
			events[k] = events[k - 1];
		events[k].ts = j->ts[i];
		events[k].mask = m;
		nevents++;
	}
	result = funnel_level(events, nevents, ncond, window, &modes);
	pfree(events);
	pfree(masks);
	PG_RETURN_INT32(result);
}
