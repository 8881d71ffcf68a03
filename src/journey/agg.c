/*-------------------------------------------------------------------------
 *
 * agg.c
 *		The journey builder and the omni.journey aggregate: transition,
 *		combine and final functions.
 *
 * The transition state is an omni.journey held as an expanded object
 * (utils/expandeddatum.h), as arrays do: while the aggregate runs, the state
 * is an unsorted, growable array of (time, pair) steps, updated in place,
 * whose pairs are numbers in a (channel, event) dictionary shared by all
 * the groups of the call site; whenever PostgreSQL needs the
 * state as bytes (to send a partial aggregate from a parallel worker, to
 * copy it, or when another system such as Citus ships it between nodes) it
 * is flattened into an ordinary, canonical omni.journey.  The state type is
 * therefore a real varlena type, not "internal", and needs no separate
 * serialization functions: flattening is the serialization, and the
 * combine function accepts flat or expanded journeys alike.
 *
 * Rows arrive in any order.  The builder sorts once, at flattening time, by
 * (ts, channel, event) with bytewise string comparison, so the same set of
 * rows gives byte-identical journeys whatever the scan order or the number
 * of parallel workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(journey_agg_transfn);
PG_FUNCTION_INFO_V1(journey_agg_combine);
PG_FUNCTION_INFO_V1(journey_agg_final);

static inline int journey_strcmp_null(const char *a, const char *b);
static int	journey_kind_cmp(const void *a, const void *b, void *arg);
static void journey_state_drop_layout(JourneyState *state);
static Size journey_state_get_flat_size(ExpandedObjectHeader *eohptr);
static void journey_state_flatten_into(ExpandedObjectHeader *eohptr,
									   void *result, Size allocated_size);

static const ExpandedObjectMethods journey_state_methods =
{
	journey_state_get_flat_size,
	journey_state_flatten_into
};

/*
 * Canonical step order: time, then the order of the (channel, event) pair
 * in the journey (held in "pad" while flattening).
 */
static inline int
journey_step_cmp(const JourneyStep *a, const JourneyStep *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->pad != b->pad)
		return a->pad < b->pad ? -1 : 1;
	return 0;
}

#define ST_SORT journey_sort_steps
#define ST_ELEMENT_TYPE JourneyStep
#define ST_COMPARE(a, b) journey_step_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The pairs of a journey are put in canonical order (channel, then event,
 * bytewise) every time a journey is flattened.  The aggregate flattens one
 * journey per group with pairs of one dictionary, a few hundred at most in
 * usual data: the whole dictionary is ranked once in that order, and each
 * journey's pairs are then ordered by their ranks, with integer comparisons
 * instead of string ones.  A pair added to the dictionary since it was
 * ranked leads to ranking it again, as long as it holds at most
 * JOURNEY_RANKED_KINDS pairs (so it is ranked at most that many times);
 * beyond, pairs are compared by their strings.
 */
#define JOURNEY_RANKED_KINDS 4096

/* Order of two pairs by their events, NULL first. */
static int
journey_kind_event_cmp(const void *a, const void *b, void *arg)
{
	const JourneyKind *kinds = (const JourneyKind *) arg;

	return journey_strcmp_null(kinds[*(const uint32 *) a].event,
							   kinds[*(const uint32 *) b].event);
}

/*
 * Whether the dictionary's ranks are up to date, ranking it if it may: each
 * pair's rank in canonical order, and the ranks of its channel and of its
 * event among the distinct channels and events (equal names, equal ranks).
 */
static bool
journey_dict_ranked(JourneyDict *dict)
{
	JourneyKind *kinds = dict->kinds;
	uint32		n = dict->nkinds;
	uint32	   *order;
	uint32		c = 0;

	if (dict->nranked == n)
		return true;
	if (n > JOURNEY_RANKED_KINDS)
		return false;
	order = palloc(sizeof(uint32) * n);
	for (uint32 k = 0; k < n; k++)
		order[k] = k;
	qsort_arg(order, n, sizeof(uint32), journey_kind_cmp, kinds);
	for (uint32 r = 0; r < n; r++)
	{
		if (r > 0 && strcmp(kinds[order[r - 1]].channel, kinds[order[r]].channel) != 0)
			c++;
		kinds[order[r]].rank = r;
		kinds[order[r]].channel_rank = c;
	}
	qsort_arg(order, n, sizeof(uint32), journey_kind_event_cmp, kinds);
	c = 0;
	for (uint32 r = 0; r < n; r++)
	{
		if (r > 0 && journey_strcmp_null(kinds[order[r - 1]].event, kinds[order[r]].event) != 0)
			c++;
		kinds[order[r]].event_rank = c;
	}
	dict->nranked = n;
	pfree(order);
	return true;
}

/* Order of two pairs by the ranks of their events. */
static int
journey_kind_event_rank_cmp(const void *a, const void *b, void *arg)
{
	const JourneyKind *kinds = (const JourneyKind *) arg;
	uint32		ra = kinds[*(const uint32 *) a].event_rank;
	uint32		rb = kinds[*(const uint32 *) b].event_rank;

	return ra < rb ? -1 : ra > rb ? 1 : 0;
}

/* Order of two pairs by their ranks. */
static int
journey_kind_rank_cmp(const void *a, const void *b, void *arg)
{
	const JourneyKind *kinds = (const JourneyKind *) arg;
	uint32		ra = kinds[*(const uint32 *) a].rank;
	uint32		rb = kinds[*(const uint32 *) b].rank;

	return ra < rb ? -1 : ra > rb ? 1 : 0;
}

/*
 * Put the "n" pairs "ks" of the dictionary in canonical order; returns
 * whether the dictionary's ranks are up to date.
 */
static bool
journey_sort_kinds(JourneyDict *dict, uint32 *ks, uint32 n)
{
	JourneyKind *kinds = dict->kinds;

	if (!journey_dict_ranked(dict))
	{
		if (n > 1)
			qsort_arg(ks, n, sizeof(uint32), journey_kind_cmp, kinds);
		return false;
	}
	if (n > 32)
	{
		qsort_arg(ks, n, sizeof(uint32), journey_kind_rank_cmp, kinds);
		return true;
	}
	/* a journey has few pairs: insertion sort */
	for (uint32 i = 1; i < n; i++)
	{
		uint32		k = ks[i];
		uint32		r = kinds[k].rank;
		uint32		j = i;

		while (j > 0 && kinds[ks[j - 1]].rank > r)
		{
			ks[j] = ks[j - 1];
			j--;
		}
		ks[j] = k;
	}
	return true;
}

/*
 * Steps in canonical order that were appended as at most this many sorted
 * runs are merged rather than sorted (journey_state_layout).
 */
#define JOURNEY_MERGE_RUNS 16

/*
 * Sort "n" steps made of "nruns" runs, each in canonical order, starting at
 * runs[0] = 0, runs[1], ...: neighbouring runs are merged pairwise through
 * a scratch array until one is left, O(n log nruns).  Equal steps keep
 * their order (they are equal in every byte that is written out anyway).
 */
static void
journey_merge_runs(JourneyStep *steps, uint32 n, uint32 *runs, uint32 nruns)
{
	JourneyStep *src = steps;
	JourneyStep *dst = palloc_extended(sizeof(JourneyStep) * (Size) n, MCXT_ALLOC_HUGE);
	JourneyStep *scratch = dst;

	runs[nruns] = n;
	while (nruns > 1)
	{
		uint32		out = 0;

		for (uint32 r = 0; r < nruns; r += 2)
		{
			/* runs r and r + 1 (runs[nruns] is n: a last run alone is copied) */
			uint32		i = runs[r];
			uint32		mid = runs[r + 1];
			uint32		end = runs[Min(r + 2, nruns)];
			uint32		j = mid;
			uint32		k = i;

			while (i < mid && j < end)
			{
				if (journey_step_cmp(&src[j], &src[i]) < 0)
					dst[k++] = src[j++];
				else
					dst[k++] = src[i++];
			}
			if (i < mid)
				memcpy(&dst[k], &src[i], sizeof(JourneyStep) * (mid - i));
			else if (j < end)
				memcpy(&dst[k], &src[j], sizeof(JourneyStep) * (end - j));
			runs[out++] = runs[r];
		}
		nruns = out;
		runs[nruns] = n;
		{
			JourneyStep *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != steps)
		memcpy(steps, src, sizeof(JourneyStep) * (Size) n);
	pfree(scratch);
}

/* A new, empty dictionary in "cxt". */
static JourneyDict *
journey_dict_new(MemoryContext cxt)
{
	JourneyDict *dict = MemoryContextAllocZero(cxt, sizeof(JourneyDict));

	dict->cxt = cxt;
	dict->maxkinds = 16;
	dict->kinds = MemoryContextAlloc(cxt, sizeof(JourneyKind) * dict->maxkinds);
	dict->hsize = 64;
	dict->htab = MemoryContextAllocZero(cxt, sizeof(uint32) * dict->hsize);
	dict->maxscratch = 16;
	dict->scratch = MemoryContextAlloc(cxt, sizeof(uint32) * dict->maxscratch);
	return dict;
}

/*
 * What a call site of the aggregate keeps for the whole query (fn_extra):
 * the dictionary shared by all its states, and the memory context its
 * states live in, one per aggregate context.
 *
 * States of one call site share a memory context instead of having one
 * each: hash aggregation checks its memory use on every new group by
 * walking all child contexts of the aggregate context, which with a context
 * per group costs O(groups^2).  Sharing is safe because PostgreSQL frees a
 * read-write expanded state (DeleteExpandedObject) only when a transition
 * or combine function returns a different pointer than the state it was
 * given, and these functions always return the state they were given; the
 * shared context goes away with the aggregate context, and a reset callback
 * forgets it then.
 */
#define JOURNEY_AGG_CONTEXTS 8

typedef struct JourneyAggSlot
{
	MemoryContext parent;		/* the aggregate context */
	MemoryContext states;		/* its child holding the states */
} JourneyAggSlot;

/* Reset callback data, allocated in the states context it watches. */
typedef struct JourneyAggReset
{
	MemoryContextCallback callback;
	JourneyAggSlot *slot;
	MemoryContext states;
} JourneyAggReset;

typedef struct JourneyAggCache
{
	JourneyDict *dict;
	int			next;
	JourneyAggSlot slots[JOURNEY_AGG_CONTEXTS];
} JourneyAggCache;

static JourneyDict *journey_dict_new(MemoryContext cxt);

static JourneyAggCache *
journey_agg_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(JourneyAggCache));
	return (JourneyAggCache *) fcinfo->flinfo->fn_extra;
}

/*
 * The dictionary shared by every state a call site of the aggregate
 * builds, kept in the function's per-query memory, so that it outlives all
 * of them.  Each backend, parallel workers included, has its own.
 */
JourneyDict *
journey_dict_for(FunctionCallInfo fcinfo)
{
	JourneyAggCache *cache = journey_agg_cache(fcinfo);

	if (cache->dict == NULL)
		cache->dict = journey_dict_new(fcinfo->flinfo->fn_mcxt);
	return cache->dict;
}

/*
 * Reset callback of a shared states context: forget it, unless its slot
 * was given to another context since.
 */
static void
journey_agg_slot_reset(void *arg)
{
	JourneyAggReset *reset = (JourneyAggReset *) arg;

	if (reset->slot->states == reset->states)
	{
		reset->slot->parent = NULL;
		reset->slot->states = NULL;
	}
}

/*
 * The context the states of this call site live in under "aggcxt" (there
 * is one aggregate context per grouping set).
 */
MemoryContext
journey_agg_states_context(FunctionCallInfo fcinfo, MemoryContext aggcxt)
{
	JourneyAggReset *reset;
	JourneyAggCache *cache = journey_agg_cache(fcinfo);
	JourneyAggSlot *slot;

	for (int i = 0; i < JOURNEY_AGG_CONTEXTS; i++)
		if (cache->slots[i].states != NULL && cache->slots[i].parent == aggcxt)
			return cache->slots[i].states;

	/* a new one, in a free slot or replacing the oldest */
	slot = NULL;
	for (int i = 0; i < JOURNEY_AGG_CONTEXTS && slot == NULL; i++)
		if (cache->slots[i].states == NULL)
			slot = &cache->slots[i];
	if (slot == NULL)
	{
		slot = &cache->slots[cache->next];
		cache->next = (cache->next + 1) % JOURNEY_AGG_CONTEXTS;
	}
	slot->parent = aggcxt;
	slot->states = AllocSetContextCreate(aggcxt, "omni aggregate states",
										 ALLOCSET_DEFAULT_SIZES);
	reset = MemoryContextAlloc(slot->states, sizeof(JourneyAggReset));
	reset->callback.func = journey_agg_slot_reset;
	reset->callback.arg = reset;
	reset->slot = slot;
	reset->states = slot->states;
	MemoryContextRegisterResetCallback(slot->states, &reset->callback);
	return slot->states;
}

/*
 * Create an empty builder.  With own_context, its memory is a new child
 * context of "cxt" (deleted with the object); otherwise it lives in "cxt",
 * shared with other states.  With a NULL dictionary, the builder gets its
 * own.
 */
JourneyState *
journey_state_new(MemoryContext cxt, bool own_context, JourneyDict *dict)
{
	JourneyState *state;

	if (own_context)
		cxt = AllocSetContextCreate(cxt, "omni journey", ALLOCSET_SMALL_SIZES);
	state = MemoryContextAllocZero(cxt, sizeof(JourneyState));
	EOH_init_header(&state->hdr, &journey_state_methods, cxt);
	state->magic = JOURNEY_STATE_MAGIC;
	state->cxt = cxt;
	state->dict = dict ? dict : journey_dict_new(cxt);
	state->maxsteps = 8;
	state->steps = MemoryContextAlloc(cxt, sizeof(JourneyStep) * state->maxsteps);
	return state;
}

/* Hash of a (channel, event) pair. */
static inline uint32
journey_pair_hash(const char *channel, int channel_len,
				  const char *event, int event_len)
{
	uint32		h = hash_bytes((const unsigned char *) channel, channel_len);

	if (event != NULL)
		h = hash_combine(h, hash_bytes((const unsigned char *) event, event_len));
	else
		h = hash_combine(h, 0x9e3779b9);
	return h;
}

/* Insert pair number k into a hash table. */
static void
journey_htab_insert(uint32 *htab, uint32 hsize, uint32 hash, uint32 k)
{
	uint32		pos = hash & (hsize - 1);

	while (htab[pos] != 0)
		pos = (pos + 1) & (hsize - 1);
	htab[pos] = k + 1;
}

/* Double the dictionary's hash table. */
static void
journey_dict_grow_htab(JourneyDict *dict)
{
	uint32		newsize = dict->hsize * 2;
	uint32	   *newtab;

	newtab = MemoryContextAllocZero(dict->cxt, sizeof(uint32) * newsize);
	for (uint32 k = 0; k < dict->nkinds; k++)
		journey_htab_insert(newtab, newsize, dict->kinds[k].hash, k);
	pfree(dict->htab);
	dict->htab = newtab;
	dict->hsize = newsize;
}

/*
 * The number of a (channel, event) pair in the dictionary, added when new;
 * the strings are copied into the dictionary's memory.
 */
static uint32
journey_dict_kind(JourneyDict *dict, const char *channel, int channel_len,
				  const char *event, int event_len)
{
	uint32		hash = journey_pair_hash(channel, channel_len, event, event_len);
	uint32		pos = hash & (dict->hsize - 1);
	JourneyKind *kind;
	uint32		k;

	for (;;)
	{
		uint32		slot = dict->htab[pos];

		if (slot == 0)
			break;
		kind = &dict->kinds[slot - 1];
		if (kind->hash == hash &&
			kind->channel_len == channel_len &&
			memcmp(kind->channel, channel, channel_len) == 0 &&
			(event == NULL ? kind->event == NULL :
			 (kind->event != NULL && kind->event_len == event_len &&
			  memcmp(kind->event, event, event_len) == 0)))
			return slot - 1;
		pos = (pos + 1) & (dict->hsize - 1);
	}

	/* a new pair */
	if (dict->nkinds >= PG_INT32_MAX / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct (channel, event) pairs in one query")));
	if (dict->nkinds >= dict->maxkinds)
	{
		dict->maxkinds *= 2;
		dict->kinds = repalloc_huge(dict->kinds, sizeof(JourneyKind) * dict->maxkinds);
	}
	k = dict->nkinds++;
	kind = &dict->kinds[k];
	kind->channel = MemoryContextAlloc(dict->cxt, channel_len + 1);
	memcpy(kind->channel, channel, channel_len);
	kind->channel[channel_len] = '\0';
	kind->channel_len = channel_len;
	if (event != NULL)
	{
		kind->event = MemoryContextAlloc(dict->cxt, event_len + 1);
		memcpy(kind->event, event, event_len);
		kind->event[event_len] = '\0';
	}
	else
		kind->event = NULL;
	kind->event_len = event_len;
	kind->hash = hash;
	kind->stamp = 0;
	kind->local = 0;
	kind->rank = 0;
	dict->htab[pos] = k + 1;
	if (dict->nkinds * 2 > dict->hsize)
		journey_dict_grow_htab(dict);
	return k;
}

/* Make room for "more" steps. */
static void
journey_state_reserve(JourneyState *state, uint32 more)
{
	uint64		need = (uint64) state->nsteps + more;

	if (need <= state->maxsteps)
		return;
	if (need > JOURNEY_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("journey exceeds the limit of %d steps",
						JOURNEY_MAX_STEPS),
				 errhint("Split the journey, for example by time range.")));
	state->maxsteps = (uint32) Min((uint64) JOURNEY_MAX_STEPS,
								   Max(need, (uint64) state->maxsteps * 2));
	state->steps = repalloc_huge(state->steps, sizeof(JourneyStep) * state->maxsteps);
}

/*
 * Add one step.  Step times must be finite, channels and events non-empty:
 * the text form and every function reading journeys rely on it.
 */
void
journey_state_add(JourneyState *state, TimestampTz ts,
				  const char *channel, int channel_len,
				  const char *event, int event_len)
{
	JourneyStep *step;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("journey step time must be finite")));
	if (channel_len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("journey step channel must not be empty")));
	if (event != NULL && event_len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("journey step event must not be empty"),
				 errhint("Pass NULL for a step without an event.")));
	if (state->nsteps >= state->maxsteps)
		journey_state_reserve(state, 1);
	step = &state->steps[state->nsteps++];
	step->ts = ts;
	step->kind = journey_dict_kind(state->dict, channel, channel_len, event, event_len);
	step->pad = 0;
	state->flat_size = 0;
	if (unlikely(state->layout != NULL))
		journey_state_drop_layout(state);
}

/* Add every step of a flat journey. */
void
journey_state_add_journey(JourneyState *state, const Journey *j)
{
	uint32	   *map;

	if (j->nsteps == 0)
		return;
	map = palloc(sizeof(uint32) * j->nkinds);
	for (uint32 k = 0; k < j->nkinds; k++)
	{
		const char *channel = journey_kind_channel(j, k);
		const char *event = journey_kind_event(j, k);

		map[k] = journey_dict_kind(state->dict, channel, strlen(channel),
								   event, event ? strlen(event) : 0);
	}
	journey_state_reserve(state, j->nsteps);
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		JourneyStep *step = &state->steps[state->nsteps++];

		step->ts = j->ts[i];
		step->kind = map[journey_kind(j, i)];
		step->pad = 0;
	}
	pfree(map);
	state->flat_size = 0;
	if (state->layout != NULL)
		journey_state_drop_layout(state);
}

/* Bytewise order of two optional strings, NULL first. */
static inline int
journey_strcmp_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == NULL ? 0 : 1) - (b == NULL ? 0 : 1);
	return strcmp(a, b);
}

static int
journey_kind_cmp(const void *a, const void *b, void *arg)
{
	const JourneyKind *kinds = (const JourneyKind *) arg;
	const JourneyKind *ka = &kinds[*(const uint32 *) a];
	const JourneyKind *kb = &kinds[*(const uint32 *) b];
	int			c = strcmp(ka->channel, kb->channel);

	if (c != 0)
		return c;
	return journey_strcmp_null(ka->event, kb->event);
}

static int
journey_cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * What flattening needs, computed from the builder and its dictionary: the
 * journey's distinct pairs in (channel, event) order, its distinct channel
 * and event names, sorted, and each pair's indexes into them.  The steps
 * are left sorted by (ts, pair order), which does not change the set.
 */
typedef struct JourneyLayout
{
	uint32		nkinds;
	uint32	   *kinds;			/* dictionary pair numbers, in order */
	uint32		nchannels;
	uint32		nevents;
	const char **channels;
	const char **events;
	uint32	   *kind_channel;
	uint32	   *kind_event;
	Size		names_size;
	Size		size;			/* of the flat journey */
} JourneyLayout;

static inline int
journey_kind_width(uint32 nkinds)
{
	if (nkinds <= 256)
		return 1;
	if (nkinds <= 65536)
		return 2;
	return 4;
}

/* Size of the flat journey for the given counts. */
static Size
journey_flat_size(uint32 nsteps, uint32 nkinds, uint32 nchannels,
				  uint32 nevents, Size names_size)
{
	Size		size = sizeof(JourneyData);

	size += sizeof(int64) * (Size) nsteps;
	size += (Size) journey_kind_width(nkinds) * nsteps;
	size = TYPEALIGN(4, size);
	size += sizeof(uint32) * 2 * (Size) nkinds;
	size += sizeof(uint32) * ((Size) nchannels + 1);
	size += sizeof(uint32) * ((Size) nevents + 1);
	size += names_size;
	return size;
}

static void
journey_state_layout(JourneyState *state, JourneyLayout *lay)
{
	JourneyDict *dict = state->dict;
	JourneyKind *kinds = dict->kinds;
	uint32		stamp;
	uint32		n = 0;
	uint32		nev = 0;
	const char **evs;
	uint32		runs[JOURNEY_MERGE_RUNS + 1];
	uint32		nruns;
	bool		ranked;

	/* the distinct pairs of this journey */
	if (++dict->stamp == 0)
	{
		/* the pass counter wrapped: forget every old mark */
		for (uint32 k = 0; k < dict->nkinds; k++)
			kinds[k].stamp = 0;
		dict->stamp = 1;
	}
	stamp = dict->stamp;
	for (uint32 i = 0; i < state->nsteps; i++)
	{
		uint32		k = state->steps[i].kind;

		if (kinds[k].stamp == stamp)
			continue;
		kinds[k].stamp = stamp;
		if (n >= dict->maxscratch)
		{
			dict->maxscratch *= 2;
			dict->scratch = repalloc_huge(dict->scratch, sizeof(uint32) * dict->maxscratch);
		}
		dict->scratch[n++] = k;
	}
	lay->nkinds = n;
	lay->kinds = palloc(sizeof(uint32) * Max(n, 1));
	memcpy(lay->kinds, dict->scratch, sizeof(uint32) * n);
	ranked = journey_sort_kinds(dict, lay->kinds, n);
	for (uint32 r = 0; r < n; r++)
		kinds[lay->kinds[r]].local = r;

	/*
	 * Steps in (ts, pair order).  They mostly come as a few runs already in
	 * that order: one when rows arrive in time order, and one per partial
	 * journey when the combine function appended the journeys of parallel
	 * workers (each canonical, so in this order too).  Up to
	 * JOURNEY_MERGE_RUNS runs are merged; more are sorted.
	 */
	nruns = 1;
	runs[0] = 0;
	for (uint32 i = 0; i < state->nsteps; i++)
	{
		JourneyStep *step = &state->steps[i];

		step->pad = kinds[step->kind].local;
		if (i > 0 && nruns <= JOURNEY_MERGE_RUNS &&
			(step[-1].ts > step->ts ||
			 (step[-1].ts == step->ts && step[-1].pad > step->pad)))
		{
			if (nruns < JOURNEY_MERGE_RUNS)
				runs[nruns] = i;
			nruns++;
		}
	}
	if (nruns > JOURNEY_MERGE_RUNS)
		journey_sort_steps(state->steps, state->nsteps);
	else if (nruns > 1)
		journey_merge_runs(state->steps, state->nsteps, runs, nruns);

	/* channel names: pairs are in channel order, so they come sorted */
	lay->channels = palloc(sizeof(char *) * Max(n, 1));
	lay->events = palloc(sizeof(char *) * Max(n, 1));
	lay->kind_channel = palloc(sizeof(uint32) * Max(n, 1));
	lay->kind_event = palloc(sizeof(uint32) * Max(n, 1));
	lay->nchannels = 0;
	lay->names_size = 0;
	for (uint32 r = 0; r < n; r++)
	{
		JourneyKind *kind = &kinds[lay->kinds[r]];

		if (lay->nchannels == 0 ||
			(ranked ? kinds[lay->kinds[r - 1]].channel_rank != kind->channel_rank :
			 strcmp(lay->channels[lay->nchannels - 1], kind->channel) != 0))
		{
			lay->channels[lay->nchannels++] = kind->channel;
			lay->names_size += kind->channel_len + 1;
		}
		lay->kind_channel[r] = lay->nchannels - 1;
	}

	/*
	 * Event names: sorted and deduplicated, by their ranks when the
	 * dictionary is ranked, else by their strings.
	 */
	if (ranked)
	{
		uint32	   *evk = palloc(sizeof(uint32) * Max(n, 1));
		uint32	   *evrank = palloc(sizeof(uint32) * Max(n, 1));

		for (uint32 r = 0; r < n; r++)
			if (kinds[lay->kinds[r]].event != NULL)
				evk[nev++] = lay->kinds[r];
		if (nev > 32)
			qsort_arg(evk, nev, sizeof(uint32), journey_kind_event_rank_cmp, kinds);
		else
			for (uint32 i = 1; i < nev; i++)
			{
				uint32		k = evk[i];
				uint32		j = i;

				while (j > 0 && kinds[evk[j - 1]].event_rank > kinds[k].event_rank)
				{
					evk[j] = evk[j - 1];
					j--;
				}
				evk[j] = k;
			}
		lay->nevents = 0;
		for (uint32 e = 0; e < nev; e++)
		{
			JourneyKind *kind = &kinds[evk[e]];

			if (lay->nevents == 0 || evrank[lay->nevents - 1] != kind->event_rank)
			{
				evrank[lay->nevents] = kind->event_rank;
				lay->events[lay->nevents++] = kind->event;
				lay->names_size += kind->event_len + 1;
			}
		}
		for (uint32 r = 0; r < n; r++)
		{
			JourneyKind *kind = &kinds[lay->kinds[r]];
			uint32		lo = 0,
						hi = lay->nevents;

			if (kind->event == NULL)
			{
				lay->kind_event[r] = JOURNEY_NO_EVENT;
				continue;
			}
			while (lo < hi)
			{
				uint32		mid = (lo + hi) / 2;

				if (evrank[mid] < kind->event_rank)
					lo = mid + 1;
				else
					hi = mid;
			}
			lay->kind_event[r] = lo;
		}
		pfree(evk);
		pfree(evrank);
	}
	else
	{
		evs = palloc(sizeof(char *) * Max(n, 1));
		for (uint32 r = 0; r < n; r++)
			if (kinds[lay->kinds[r]].event != NULL)
				evs[nev++] = kinds[lay->kinds[r]].event;
		if (nev > 1)
			qsort(evs, nev, sizeof(char *), journey_cstring_cmp);
		lay->nevents = 0;
		for (uint32 e = 0; e < nev; e++)
		{
			if (lay->nevents == 0 || strcmp(lay->events[lay->nevents - 1], evs[e]) != 0)
			{
				lay->events[lay->nevents++] = evs[e];
				lay->names_size += strlen(evs[e]) + 1;
			}
		}
		pfree(evs);
		for (uint32 r = 0; r < n; r++)
		{
			const char *ev = kinds[lay->kinds[r]].event;
			uint32		lo = 0,
						hi = lay->nevents;

			if (ev == NULL)
			{
				lay->kind_event[r] = JOURNEY_NO_EVENT;
				continue;
			}
			while (lo < hi)
			{
				uint32		mid = (lo + hi) / 2;

				if (strcmp(lay->events[mid], ev) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			lay->kind_event[r] = lo;
		}
	}
	lay->size = journey_flat_size(state->nsteps, n, lay->nchannels,
								  lay->nevents, lay->names_size);
	if (lay->size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("journey would take %zu bytes, more than the %zu bytes a value may take",
						lay->size, (Size) MaxAllocSize)));
}

static void
journey_layout_free(JourneyLayout *lay)
{
	pfree(lay->kinds);
	pfree(lay->channels);
	pfree(lay->events);
	pfree(lay->kind_channel);
	pfree(lay->kind_event);
}

static Size
journey_state_get_flat_size(ExpandedObjectHeader *eohptr)
{
	JourneyState *state = (JourneyState *) eohptr;
	MemoryContext old;

	Assert(state->magic == JOURNEY_STATE_MAGIC);
	if (state->flat_size != 0)
		return state->flat_size;

	/*
	 * PostgreSQL asks for the size, then flattens into memory of that size
	 * (journey_state_flatten_into): the layout is kept in the state for it,
	 * instead of being computed twice.  It depends on the state alone (the
	 * dictionary's strings never move), and any change to the state drops it.
	 */
	if (state->layout != NULL)
		journey_state_drop_layout(state);
	old = MemoryContextSwitchTo(state->cxt);
	state->layout = palloc(sizeof(JourneyLayout));
	journey_state_layout(state, state->layout);
	MemoryContextSwitchTo(old);
	state->flat_size = state->layout->size;
	return state->flat_size;
}

/* Forget the layout kept for flattening. */
static void
journey_state_drop_layout(JourneyState *state)
{
	journey_layout_free(state->layout);
	pfree(state->layout);
	state->layout = NULL;
}

/* Write the flat journey of a laid-out builder into "result". */
static void
journey_state_write(JourneyState *state, JourneyLayout *layout, void *result)
{
	JourneyLayout lay = *layout;
	JourneyData *data = (JourneyData *) result;
	Size		allocated_size = lay.size;
	char	   *p;
	int			width;
	uint32	   *kch,
			   *kev,
			   *choff,
			   *evoff;
	char	   *names;
	uint32		off;

	memset(result, 0, allocated_size);
	SET_VARSIZE(data, allocated_size);
	data->nsteps = state->nsteps;
	data->nkinds = lay.nkinds;
	data->nchannels = lay.nchannels;
	data->nevents = lay.nevents;
	data->version = JOURNEY_VERSION;
	width = journey_kind_width(lay.nkinds);
	data->kind_width = width;

	p = (char *) data + sizeof(JourneyData);
	for (uint32 i = 0; i < state->nsteps; i++)
		((int64 *) p)[i] = state->steps[i].ts;
	p += sizeof(int64) * (Size) state->nsteps;
	for (uint32 i = 0; i < state->nsteps; i++)
	{
		uint32		k = state->steps[i].pad;

		if (width == 1)
			((uint8 *) p)[i] = (uint8) k;
		else if (width == 2)
			((uint16 *) p)[i] = (uint16) k;
		else
			((uint32 *) p)[i] = k;
	}
	p += (Size) width * state->nsteps;
	p = (char *) TYPEALIGN(4, p);
	kch = (uint32 *) p;
	kev = kch + lay.nkinds;
	choff = kev + lay.nkinds;
	evoff = choff + lay.nchannels + 1;
	names = (char *) (evoff + lay.nevents + 1);
	memcpy(kch, lay.kind_channel, sizeof(uint32) * lay.nkinds);
	memcpy(kev, lay.kind_event, sizeof(uint32) * lay.nkinds);
	off = 0;
	for (uint32 c = 0; c < lay.nchannels; c++)
	{
		Size		len = strlen(lay.channels[c]) + 1;

		choff[c] = off;
		memcpy(names + off, lay.channels[c], len);
		off += len;
	}
	choff[lay.nchannels] = off;
	for (uint32 e = 0; e < lay.nevents; e++)
	{
		Size		len = strlen(lay.events[e]) + 1;

		evoff[e] = off;
		memcpy(names + off, lay.events[e], len);
		off += len;
	}
	evoff[lay.nevents] = off;
	Assert(names + off == (char *) result + allocated_size);
}

/* Write the canonical flat journey into "result" (allocated_size bytes). */
static void
journey_state_flatten_into(ExpandedObjectHeader *eohptr,
						   void *result, Size allocated_size)
{
	JourneyState *state = (JourneyState *) eohptr;
	JourneyLayout lay;

	Assert(state->magic == JOURNEY_STATE_MAGIC);
	if (state->layout != NULL)
	{
		lay = *state->layout;
		pfree(state->layout);
		state->layout = NULL;
	}
	else
		journey_state_layout(state, &lay);
	if (allocated_size != lay.size)
		elog(ERROR, "journey flat size changed from %zu to %zu", allocated_size, lay.size);
	journey_state_write(state, &lay, result);
	journey_layout_free(&lay);
}

/* A flat, canonical copy of the builder, palloc'd in the current context. */
JourneyData *
journey_state_flatten(JourneyState *state)
{
	JourneyLayout lay;
	void	   *result;

	if (state->layout != NULL)
		journey_state_drop_layout(state);
	journey_state_layout(state, &lay);
	state->flat_size = lay.size;
	result = palloc(lay.size);
	journey_state_write(state, &lay, result);
	journey_layout_free(&lay);
	return (JourneyData *) result;
}

/*
 * The builder behind a transition value: the value itself when it is our
 * read-write expanded object, else a new builder (in "cxt") holding a copy.
 */
static JourneyState *
journey_state_get(Datum d, FunctionCallInfo fcinfo, MemoryContext aggcxt)
{
	JourneyState *state;

	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
	{
		state = (JourneyState *) DatumGetEOHP(d);
		if (state->magic == JOURNEY_STATE_MAGIC)
			return state;
	}
	state = journey_state_new(journey_agg_states_context(fcinfo, aggcxt), false,
							  journey_dict_for(fcinfo));
	journey_state_add_journey(state, journey_from_datum(d));
	return state;
}

/*
 * omni.journey_agg_transfn(state, ts, channel [, event]): add one row.
 * Rows with a NULL time or channel are skipped, as aggregates skip NULLs; a
 * NULL event makes a step without an event.
 */
Datum
journey_agg_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	JourneyState *state;
	text	   *channel;
	text	   *event = NULL;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("omni.journey_agg_transfn can only be called by the omni.journey aggregate")));

	state = PG_ARGISNULL(0) ? NULL :
		journey_state_get(PG_GETARG_DATUM(0), fcinfo, aggcxt);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_DATUM(EOHPGetRWDatum(&state->hdr));
	}
	if (state == NULL)
		state = journey_state_new(journey_agg_states_context(fcinfo, aggcxt), false,
								  journey_dict_for(fcinfo));

	channel = PG_GETARG_TEXT_PP(2);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		event = PG_GETARG_TEXT_PP(3);
	journey_state_add(state, PG_GETARG_TIMESTAMPTZ(1),
					  VARDATA_ANY(channel), VARSIZE_ANY_EXHDR(channel),
					  event ? VARDATA_ANY(event) : NULL,
					  event ? VARSIZE_ANY_EXHDR(event) : 0);
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->hdr));
}

/*
 * omni.journey_combine(a, b): the journey holding the steps of both.
 *
 * The aggregate's combine function (partial states from parallel workers,
 * or from the shards of a distributed table), and an ordinary function that
 * merges two journeys, for example after two customers were merged.
 */
Datum
journey_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	JourneyState *state;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		if (AggCheckCallContext(fcinfo, NULL))
			PG_RETURN_DATUM(PG_GETARG_DATUM(0));
		PG_RETURN_POINTER(PG_DETOAST_DATUM(PG_GETARG_DATUM(0)));
	}

	if (!AggCheckCallContext(fcinfo, &aggcxt))
	{
		JourneyData *result;

		if (PG_ARGISNULL(0))
			PG_RETURN_POINTER(PG_DETOAST_DATUM(PG_GETARG_DATUM(1)));
		state = journey_state_new(CurrentMemoryContext, true, NULL);
		journey_state_add_journey(state, journey_from_datum(PG_GETARG_DATUM(0)));
		journey_state_add_journey(state, journey_from_datum(PG_GETARG_DATUM(1)));
		result = journey_state_flatten(state);
		DeleteExpandedObject(EOHPGetRWDatum(&state->hdr));
		PG_RETURN_POINTER(result);
	}

	if (PG_ARGISNULL(0))
		state = journey_state_new(journey_agg_states_context(fcinfo, aggcxt), false,
								  journey_dict_for(fcinfo));
	else
		state = journey_state_get(PG_GETARG_DATUM(0), fcinfo, aggcxt);
	journey_state_add_journey(state, journey_from_datum(PG_GETARG_DATUM(1)));
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->hdr));
}

/* omni.journey_agg_final(state): the flat, canonical journey. */
Datum
journey_agg_final(PG_FUNCTION_ARGS)
{
	Datum		d = PG_GETARG_DATUM(0);

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		JourneyState *state = (JourneyState *) DatumGetEOHP(d);

		if (state->magic == JOURNEY_STATE_MAGIC)
			PG_RETURN_POINTER(journey_state_flatten(state));
	}
	PG_RETURN_POINTER(PG_DETOAST_DATUM(d));
}
