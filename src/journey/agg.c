/*-------------------------------------------------------------------------
 *
 * agg.c
 *		The journey builder and the omni.journey aggregate: transition,
 *		combine and final functions.
 *
 * The transition state is an omni.journey held as an expanded object
 * (utils/expandeddatum.h), as arrays do: while the aggregate runs, the state
 * is an unsorted, growable set of steps plus a hash table of the distinct
 * (channel, event) pairs, updated in place; whenever PostgreSQL needs the
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

static Size journey_state_get_flat_size(ExpandedObjectHeader *eohptr);
static void journey_state_flatten_into(ExpandedObjectHeader *eohptr,
									   void *result, Size allocated_size);

static const ExpandedObjectMethods journey_state_methods =
{
	journey_state_get_flat_size,
	journey_state_flatten_into
};

/* Canonical step order: time, then the rank of the (channel, event) pair. */
static inline int
journey_step_cmp(const JourneyStep *a, const JourneyStep *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
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
 * Create an empty builder whose memory is a child context of "parent", so
 * that deleting the parent (the aggregate's context) frees it.
 */
JourneyState *
journey_state_new(MemoryContext parent)
{
	MemoryContext cxt;
	JourneyState *state;

	cxt = AllocSetContextCreate(parent, "omni journey",
								ALLOCSET_SMALL_SIZES);
	state = MemoryContextAllocZero(cxt, sizeof(JourneyState));
	EOH_init_header(&state->hdr, &journey_state_methods, cxt);
	state->magic = JOURNEY_STATE_MAGIC;
	state->cxt = cxt;
	state->maxsteps = 16;
	state->steps = MemoryContextAlloc(cxt, sizeof(JourneyStep) * state->maxsteps);
	state->maxkinds = 8;
	state->kinds = MemoryContextAlloc(cxt, sizeof(JourneyKind) * state->maxkinds);
	state->hsize = 16;
	state->htab = MemoryContextAllocZero(cxt, sizeof(uint32) * state->hsize);
	state->canonical = true;
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

/* Insert kind number k (already in state->kinds) into a hash table. */
static void
journey_htab_insert(uint32 *htab, uint32 hsize, uint32 hash, uint32 k)
{
	uint32		pos = hash & (hsize - 1);

	while (htab[pos] != 0)
		pos = (pos + 1) & (hsize - 1);
	htab[pos] = k + 1;
}

/* Rebuild the hash table, at twice the size when "grow". */
static void
journey_htab_rebuild(JourneyState *state, bool grow)
{
	uint32		newsize = grow ? state->hsize * 2 : state->hsize;
	uint32	   *newtab;

	newtab = MemoryContextAllocZero(state->cxt, sizeof(uint32) * newsize);
	for (uint32 k = 0; k < state->nkinds; k++)
		journey_htab_insert(newtab, newsize, state->kinds[k].hash, k);
	pfree(state->htab);
	state->htab = newtab;
	state->hsize = newsize;
}

/*
 * The kind number of a (channel, event) pair, added to the dictionary when
 * new.  The strings are copied into the builder's memory.
 */
static uint32
journey_state_kind(JourneyState *state, const char *channel, int channel_len,
				   const char *event, int event_len)
{
	uint32		hash = journey_pair_hash(channel, channel_len, event, event_len);
	uint32		pos = hash & (state->hsize - 1);
	JourneyKind *kind;
	uint32		k;

	for (;;)
	{
		uint32		slot = state->htab[pos];

		if (slot == 0)
			break;
		kind = &state->kinds[slot - 1];
		if (kind->hash == hash &&
			kind->channel_len == channel_len &&
			memcmp(kind->channel, channel, channel_len) == 0 &&
			(event == NULL ? kind->event == NULL :
			 (kind->event != NULL && kind->event_len == event_len &&
			  memcmp(kind->event, event, event_len) == 0)))
			return slot - 1;
		pos = (pos + 1) & (state->hsize - 1);
	}

	/* a new pair */
	if (state->nkinds >= (uint32) JOURNEY_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("journey exceeds the limit of %d distinct (channel, event) pairs",
						JOURNEY_MAX_STEPS)));
	if (state->nkinds >= state->maxkinds)
	{
		state->maxkinds *= 2;
		state->kinds = repalloc(state->kinds, sizeof(JourneyKind) * state->maxkinds);
	}
	k = state->nkinds++;
	kind = &state->kinds[k];
	kind->channel = MemoryContextAlloc(state->cxt, channel_len + 1);
	memcpy(kind->channel, channel, channel_len);
	kind->channel[channel_len] = '\0';
	kind->channel_len = channel_len;
	if (event != NULL)
	{
		kind->event = MemoryContextAlloc(state->cxt, event_len + 1);
		memcpy(kind->event, event, event_len);
		kind->event[event_len] = '\0';
	}
	else
		kind->event = NULL;
	kind->event_len = event_len;
	kind->hash = hash;
	kind->rank = k;
	state->htab[pos] = k + 1;
	if (state->nkinds * 2 > state->hsize)
		journey_htab_rebuild(state, true);
	return k;
}

/* Append one step of kind k. */
static inline void
journey_state_append(JourneyState *state, TimestampTz ts, uint32 k)
{
	JourneyStep *step;

	if (state->nsteps >= state->maxsteps)
	{
		if (state->nsteps >= JOURNEY_MAX_STEPS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("journey exceeds the limit of %d steps",
							JOURNEY_MAX_STEPS),
					 errhint("Split the journey, for example by time range.")));
		state->maxsteps = Min((uint32) JOURNEY_MAX_STEPS, state->maxsteps * 2);
		state->steps = repalloc(state->steps, sizeof(JourneyStep) * state->maxsteps);
	}
	step = &state->steps[state->nsteps++];
	step->ts = ts;
	step->kind = k;
	step->pad = 0;
	state->canonical = false;
	state->flat_size = 0;
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
	journey_state_append(state, ts,
						 journey_state_kind(state, channel, channel_len,
											event, event_len));
}

/* Add every step of a flat journey. */
void
journey_state_add_journey(JourneyState *state, const Journey *j)
{
	uint32	   *map;
	bool		was_empty = (state->nsteps == 0 && state->nkinds == 0);

	if (j->nsteps == 0)
		return;
	map = palloc(sizeof(uint32) * j->nkinds);
	for (uint32 k = 0; k < j->nkinds; k++)
	{
		const char *channel = journey_kind_channel(j, k);
		const char *event = journey_kind_event(j, k);

		map[k] = journey_state_kind(state, channel, strlen(channel),
									event, event ? strlen(event) : 0);
	}
	if ((uint64) state->nsteps + j->nsteps > JOURNEY_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("journey exceeds the limit of %d steps",
						JOURNEY_MAX_STEPS),
				 errhint("Split the journey, for example by time range.")));
	if (state->nsteps + j->nsteps > state->maxsteps)
	{
		state->maxsteps = state->nsteps + j->nsteps;
		state->steps = repalloc(state->steps, sizeof(JourneyStep) * state->maxsteps);
	}
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		JourneyStep *step = &state->steps[state->nsteps++];

		step->ts = j->ts[i];
		step->kind = map[journey_kind(j, i)];
		step->pad = 0;
	}
	pfree(map);
	/* a flat journey is canonical: copied into an empty builder, still so */
	state->canonical = was_empty;
	state->flat_size = 0;
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
 * Put the builder in canonical form: kinds numbered in (channel, event)
 * order and steps sorted by (ts, kind).  The set of steps is unchanged.
 */
static void
journey_state_canonicalize(JourneyState *state)
{
	uint32	   *order;
	JourneyKind *kinds;
	bool		sorted = true;

	if (state->canonical)
		return;

	/* rank the pairs */
	order = palloc(sizeof(uint32) * Max(state->nkinds, 1));
	for (uint32 k = 0; k < state->nkinds; k++)
		order[k] = k;
	qsort_arg(order, state->nkinds, sizeof(uint32), journey_kind_cmp, state->kinds);
	for (uint32 r = 0; r < state->nkinds; r++)
		state->kinds[order[r]].rank = r;

	/* renumber the steps and check whether they are already in order */
	for (uint32 i = 0; i < state->nsteps; i++)
	{
		JourneyStep *step = &state->steps[i];

		step->kind = state->kinds[step->kind].rank;
		if (sorted && i > 0 && journey_step_cmp(step - 1, step) > 0)
			sorted = false;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (!sorted)
		journey_sort_steps(state->steps, state->nsteps);

	/* reorder the dictionary by rank and rebuild its hash table */
	kinds = MemoryContextAlloc(state->cxt, sizeof(JourneyKind) * state->maxkinds);
	for (uint32 k = 0; k < state->nkinds; k++)
		kinds[state->kinds[k].rank] = state->kinds[k];
	pfree(state->kinds);
	state->kinds = kinds;
	for (uint32 k = 0; k < state->nkinds; k++)
		state->kinds[k].rank = k;
	journey_htab_rebuild(state, false);
	pfree(order);
	state->canonical = true;
	state->flat_size = 0;
}

/*
 * The distinct channel and event names of a canonical builder, sorted, and
 * each pair's indexes into them.  Allocated in the current context.
 */
typedef struct JourneyDict
{
	uint32		nchannels;
	uint32		nevents;
	char	  **channels;
	char	  **events;
	uint32	   *kind_channel;
	uint32	   *kind_event;
	Size		names_size;
} JourneyDict;

static void
journey_state_dict(JourneyState *state, JourneyDict *dict)
{
	uint32		n = Max(state->nkinds, 1);
	uint32		nev = 0;
	char	  **evs;

	dict->channels = palloc(sizeof(char *) * n);
	dict->events = palloc(sizeof(char *) * n);
	dict->kind_channel = palloc(sizeof(uint32) * n);
	dict->kind_event = palloc(sizeof(uint32) * n);
	dict->nchannels = 0;
	dict->names_size = 0;

	/* pairs are sorted by channel: distinct channels come in order */
	for (uint32 k = 0; k < state->nkinds; k++)
	{
		JourneyKind *kind = &state->kinds[k];

		if (dict->nchannels == 0 ||
			strcmp(dict->channels[dict->nchannels - 1], kind->channel) != 0)
		{
			dict->channels[dict->nchannels++] = kind->channel;
			dict->names_size += kind->channel_len + 1;
		}
		dict->kind_channel[k] = dict->nchannels - 1;
	}

	/* events: sort and deduplicate */
	evs = palloc(sizeof(char *) * n);
	for (uint32 k = 0; k < state->nkinds; k++)
		if (state->kinds[k].event != NULL)
			evs[nev++] = state->kinds[k].event;
	qsort(evs, nev, sizeof(char *), journey_cstring_cmp);
	dict->nevents = 0;
	for (uint32 e = 0; e < nev; e++)
	{
		if (dict->nevents == 0 || strcmp(dict->events[dict->nevents - 1], evs[e]) != 0)
		{
			dict->events[dict->nevents++] = evs[e];
			dict->names_size += strlen(evs[e]) + 1;
		}
	}
	pfree(evs);
	for (uint32 k = 0; k < state->nkinds; k++)
	{
		const char *ev = state->kinds[k].event;
		uint32		lo = 0,
					hi = dict->nevents;

		if (ev == NULL)
		{
			dict->kind_event[k] = JOURNEY_NO_EVENT;
			continue;
		}
		while (lo < hi)
		{
			uint32		mid = (lo + hi) / 2;

			if (strcmp(dict->events[mid], ev) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		dict->kind_event[k] = lo;
	}
}

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

static Size
journey_state_get_flat_size(ExpandedObjectHeader *eohptr)
{
	JourneyState *state = (JourneyState *) eohptr;
	JourneyDict dict;
	Size		size;

	Assert(state->magic == JOURNEY_STATE_MAGIC);
	journey_state_canonicalize(state);
	if (state->flat_size != 0)
		return state->flat_size;
	journey_state_dict(state, &dict);
	size = journey_flat_size(state->nsteps, state->nkinds, dict.nchannels,
							 dict.nevents, dict.names_size);
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("journey would take %zu bytes, more than the %zu bytes a value may take",
						size, (Size) MaxAllocSize)));
	state->flat_size = size;
	return size;
}

/* Write the canonical flat journey into "result" (allocated_size bytes). */
static void
journey_state_flatten_into(ExpandedObjectHeader *eohptr,
						   void *result, Size allocated_size)
{
	JourneyState *state = (JourneyState *) eohptr;
	JourneyData *data = (JourneyData *) result;
	JourneyDict dict;
	char	   *p;
	int			width;
	uint32	   *kch,
			   *kev,
			   *choff,
			   *evoff;
	char	   *names;
	uint32		off;

	Assert(state->magic == JOURNEY_STATE_MAGIC);
	journey_state_canonicalize(state);
	journey_state_dict(state, &dict);
	Assert(allocated_size == journey_flat_size(state->nsteps, state->nkinds,
											   dict.nchannels, dict.nevents,
											   dict.names_size));

	memset(result, 0, allocated_size);
	SET_VARSIZE(data, allocated_size);
	data->nsteps = state->nsteps;
	data->nkinds = state->nkinds;
	data->nchannels = dict.nchannels;
	data->nevents = dict.nevents;
	data->version = JOURNEY_VERSION;
	width = journey_kind_width(state->nkinds);
	data->kind_width = width;

	p = (char *) data + sizeof(JourneyData);
	for (uint32 i = 0; i < state->nsteps; i++)
		((int64 *) p)[i] = state->steps[i].ts;
	p += sizeof(int64) * (Size) state->nsteps;
	for (uint32 i = 0; i < state->nsteps; i++)
	{
		uint32		k = state->steps[i].kind;

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
	kev = kch + state->nkinds;
	choff = kev + state->nkinds;
	evoff = choff + dict.nchannels + 1;
	names = (char *) (evoff + dict.nevents + 1);
	memcpy(kch, dict.kind_channel, sizeof(uint32) * state->nkinds);
	memcpy(kev, dict.kind_event, sizeof(uint32) * state->nkinds);
	off = 0;
	for (uint32 c = 0; c < dict.nchannels; c++)
	{
		Size		len = strlen(dict.channels[c]) + 1;

		choff[c] = off;
		memcpy(names + off, dict.channels[c], len);
		off += len;
	}
	choff[dict.nchannels] = off;
	for (uint32 e = 0; e < dict.nevents; e++)
	{
		Size		len = strlen(dict.events[e]) + 1;

		evoff[e] = off;
		memcpy(names + off, dict.events[e], len);
		off += len;
	}
	evoff[dict.nevents] = off;
	Assert(names + off == (char *) result + allocated_size);
}

/* A flat, canonical copy of the builder, palloc'd in the current context. */
JourneyData *
journey_state_flatten(JourneyState *state)
{
	Size		size = journey_state_get_flat_size(&state->hdr);
	void	   *result = palloc(size);

	journey_state_flatten_into(&state->hdr, result, size);
	return (JourneyData *) result;
}

/*
 * The builder behind a transition value: the value itself when it is our
 * read-write expanded object, else a new builder (in "cxt") holding a copy.
 */
static JourneyState *
journey_state_get(Datum d, MemoryContext cxt)
{
	JourneyState *state;

	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
	{
		state = (JourneyState *) DatumGetEOHP(d);
		if (state->magic == JOURNEY_STATE_MAGIC)
			return state;
	}
	state = journey_state_new(cxt);
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

	state = PG_ARGISNULL(0) ? NULL : journey_state_get(PG_GETARG_DATUM(0), aggcxt);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_DATUM(EOHPGetRWDatum(&state->hdr));
	}
	if (state == NULL)
		state = journey_state_new(aggcxt);

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
		state = journey_state_new(CurrentMemoryContext);
		journey_state_add_journey(state, journey_from_datum(PG_GETARG_DATUM(0)));
		journey_state_add_journey(state, journey_from_datum(PG_GETARG_DATUM(1)));
		result = journey_state_flatten(state);
		DeleteExpandedObject(EOHPGetRWDatum(&state->hdr));
		PG_RETURN_POINTER(result);
	}

	if (PG_ARGISNULL(0))
		state = journey_state_new(aggcxt);
	else
		state = journey_state_get(PG_GETARG_DATUM(0), aggcxt);
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
