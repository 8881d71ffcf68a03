/*-------------------------------------------------------------------------
 *
 * attribution.c
 *		Channel attribution: rule-based models per journey
 *		(omni.attribution) and the Markov-chain removal effect across
 *		journeys (the omni.markov_attribution aggregate).
 *
 * A conversion is a step matching the conversion step pattern.  The touches
 * of a conversion are the steps after the previous conversion and before
 * it; a conversion with no such step is its own single touch, so every
 * conversion hands out exactly one credit:
 *
 *	first_touch		all to the first touch
 *	last_touch		all to the last touch
 *	last_non_direct	all to the last touch not on channel "direct" (the last
 *					touch when all are direct)
 *	linear			equal shares
 *	time_decay		shares proportional to 2^(-(t_conversion - t_touch) /
 *					half_life)
 *	position_based	40% first, 40% last, 20% shared by the touches between;
 *					50/50 for two touches, all for one
 *
 * The Markov model turns each journey into paths (start > channel > ... >
 * conversion, and a last path ending in "null" when touches follow the last
 * conversion), collapsing consecutive steps on one channel, and counts the
 * transitions across all journeys.  The removal effect of a channel is the
 * share of the conversion probability from "start" lost when the channel is
 * removed (its incoming transitions going to "null"); credits are the
 * removal effects normalized to the number of conversions, so they compare
 * with the rule-based models.  The state of the aggregate is a varlena
 * (bytea) holding the transition counts, expanded in memory while the
 * aggregate runs, so it is parallel safe with a combine function.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(journey_attribution);
PG_FUNCTION_INFO_V1(markov_attribution_transfn);
PG_FUNCTION_INFO_V1(markov_attribution_combine);
PG_FUNCTION_INFO_V1(markov_attribution_final);

typedef enum AttributionModel
{
	ATTR_FIRST_TOUCH,
	ATTR_LAST_TOUCH,
	ATTR_LAST_NON_DIRECT,
	ATTR_LINEAR,
	ATTR_TIME_DECAY,
	ATTR_POSITION_BASED
} AttributionModel;

static AttributionModel
attribution_parse_model(const char *model)
{
	if (strcmp(model, "first_touch") == 0)
		return ATTR_FIRST_TOUCH;
	if (strcmp(model, "last_touch") == 0)
		return ATTR_LAST_TOUCH;
	if (strcmp(model, "last_non_direct") == 0)
		return ATTR_LAST_NON_DIRECT;
	if (strcmp(model, "linear") == 0)
		return ATTR_LINEAR;
	if (strcmp(model, "time_decay") == 0)
		return ATTR_TIME_DECAY;
	if (strcmp(model, "position_based") == 0)
		return ATTR_POSITION_BASED;
	if (strcmp(model, "markov") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("attribution model \"markov\" needs many journeys"),
				 errhint("Use the aggregate omni.markov_attribution(journey, conversion).")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown attribution model \"%s\"", omni_clip_value(model, strlen(model))),
			 errhint("Known models: first_touch, last_touch, last_non_direct, linear, time_decay, position_based.")));
	pg_unreachable();
}

/*
 * Credit the touches [from, to) of the conversion at step "conv" into
 * credit[channel].
 */
static void
attribution_credit(const Journey *j, AttributionModel model, double half_life,
				   uint32 from, uint32 to, uint32 conv, int32 direct,
				   double *credit)
{
	uint32		k = to - from;

	if (k == 0)
	{
		/* no touch before it: the conversion is its own touch */
		from = conv;
		to = conv + 1;
		k = 1;
	}
	switch (model)
	{
		case ATTR_FIRST_TOUCH:
			credit[journey_step_channel(j, from)] += 1.0;
			break;
		case ATTR_LAST_TOUCH:
			credit[journey_step_channel(j, to - 1)] += 1.0;
			break;
		case ATTR_LAST_NON_DIRECT:
			{
				uint32		pick = to - 1;

				for (uint32 i = to; i > from; i--)
					if ((int32) journey_step_channel(j, i - 1) != direct)
					{
						pick = i - 1;
						break;
					}
				credit[journey_step_channel(j, pick)] += 1.0;
				break;
			}
		case ATTR_LINEAR:
			for (uint32 i = from; i < to; i++)
				credit[journey_step_channel(j, i)] += 1.0 / k;
			break;
		case ATTR_TIME_DECAY:
			{
				/*
				 * Weights relative to the latest touch: the same shares, but
				 * no underflow when every touch is long before.
				 */
				double		sum = 0.0;
				int64		latest = j->ts[to - 1];

				for (uint32 i = from; i < to; i++)
					sum += pow(2.0, -((double) (latest - j->ts[i])) / half_life);
				for (uint32 i = from; i < to; i++)
					credit[journey_step_channel(j, i)] +=
						pow(2.0, -((double) (latest - j->ts[i])) / half_life) / sum;
				break;
			}
		case ATTR_POSITION_BASED:
			if (k == 1)
				credit[journey_step_channel(j, from)] += 1.0;
			else if (k == 2)
			{
				credit[journey_step_channel(j, from)] += 0.5;
				credit[journey_step_channel(j, from + 1)] += 0.5;
			}
			else
			{
				credit[journey_step_channel(j, from)] += 0.4;
				credit[journey_step_channel(j, to - 1)] += 0.4;
				for (uint32 i = from + 1; i < to - 1; i++)
					credit[journey_step_channel(j, i)] += 0.2 / (k - 2);
			}
			break;
	}
}

/* The number of channel "direct" in a journey, or -1. */
static int32
attribution_direct_channel(const Journey *j)
{
	for (uint32 c = 0; c < j->nchannels; c++)
		if (strcmp(journey_channel_name(j, c), "direct") == 0)
			return (int32) c;
	return -1;
}

/* Bit mask per step kind: whether it is a conversion. */
static bool *
attribution_conversions(const Journey *j, const StepPattern *conversion)
{
	uint64	   *masks = journey_match_kinds(j, conversion, 1);
	bool	   *conv = palloc(sizeof(bool) * Max(j->nkinds, 1));

	for (uint32 k = 0; k < j->nkinds; k++)
		conv[k] = masks[k] != 0;
	pfree(masks);
	return conv;
}

/*
 * omni.attribution(j, conversion, model, half_life): the credit each
 * channel earns for the journey's conversions, in channel name order.
 */
Datum
journey_attribution(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	StepPattern *conversion = journey_cached_pattern(fcinfo, 1);
	AttributionModel model = attribution_parse_model(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	double		half_life = (double) journey_interval_usecs(PG_GETARG_INTERVAL_P(3),
															"half_life", false);
	bool	   *conv = attribution_conversions(j, conversion);
	double	   *credit = palloc0(sizeof(double) * Max(j->nchannels, 1));
	int32		direct = attribution_direct_channel(j);
	uint32		from = 0;

	InitMaterializedSRF(fcinfo, 0);
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		if (!conv[journey_kind(j, i)])
			continue;
		attribution_credit(j, model, half_life, from, i, i, direct, credit);
		from = i + 1;
		CHECK_FOR_INTERRUPTS();
	}
	for (uint32 c = 0; c < j->nchannels; c++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (credit[c] <= 0.0)
			continue;
		values[0] = CStringGetTextDatum(journey_channel_name(j, c));
		values[1] = Float8GetDatum(credit[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The Markov aggregate's state.  States of the chain: 0 start,
 * 1 conversion, 2 null, 3 + c channel c.
 */
#define MARKOV_MAGIC		0x4d524b56	/* "MRKV" */
#define MARKOV_VERSION		1
#define MARKOV_MAX_CHANNELS	256
#define MARKOV_START		0
#define MARKOV_CONVERSION	1
#define MARKOV_NULL			2
#define MARKOV_FIRST_CHANNEL 3

typedef struct MarkovState
{
	ExpandedObjectHeader hdr;
	int			magic;
	MemoryContext cxt;
	char	   *conversion;		/* the conversion pattern, NULL until known */
	StepPattern pattern;
	int			nchannels;
	char	  **channels;
	int			dim;			/* allocated states per row of counts */
	int64	   *counts;			/* dim * dim transition counts */
	int64		conversions;
} MarkovState;

static Size markov_get_flat_size(ExpandedObjectHeader *eohptr);
static void markov_flatten_into(ExpandedObjectHeader *eohptr, void *result,
								Size allocated_size);

static const ExpandedObjectMethods markov_methods =
{
	markov_get_flat_size,
	markov_flatten_into
};

/*
 * A new, empty state.  With own_context, its memory is a new child context
 * of "cxt"; otherwise it lives in "cxt", shared with the other states of
 * the call site (see journey_agg_states_context).
 */
static MarkovState *
markov_new(MemoryContext cxt, bool own_context)
{
	MarkovState *state;

	if (own_context)
		cxt = AllocSetContextCreate(cxt, "omni markov", ALLOCSET_SMALL_SIZES);
	state = MemoryContextAllocZero(cxt, sizeof(MarkovState));

	EOH_init_header(&state->hdr, &markov_methods, cxt);
	state->magic = MARKOV_MAGIC;
	state->cxt = cxt;
	state->dim = MARKOV_FIRST_CHANNEL + 8;
	state->counts = MemoryContextAllocZero(cxt, sizeof(int64) * state->dim * state->dim);
	state->channels = MemoryContextAlloc(cxt, sizeof(char *) * (state->dim - MARKOV_FIRST_CHANNEL));
	return state;
}

/* Set (or check) the conversion pattern of the state. */
static void
markov_set_conversion(MarkovState *state, const char *conversion)
{
	if (state->conversion != NULL)
	{
		if (strcmp(state->conversion, conversion) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("omni.markov_attribution needs one conversion pattern, got \"%s\" and \"%s\"",
							state->conversion, conversion)));
		return;
	}
	state->conversion = MemoryContextStrdup(state->cxt, conversion);
	{
		MemoryContext old = MemoryContextSwitchTo(state->cxt);

		journey_parse_step_pattern(state->conversion, &state->pattern);
		MemoryContextSwitchTo(old);
	}
}

/* The chain state of a channel name, added when new. */
static int
markov_channel(MarkovState *state, const char *name)
{
	int			c;

	for (c = 0; c < state->nchannels; c++)
		if (strcmp(state->channels[c], name) == 0)
			return MARKOV_FIRST_CHANNEL + c;
	if (state->nchannels >= MARKOV_MAX_CHANNELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("omni.markov_attribution supports at most %d channels",
						MARKOV_MAX_CHANNELS)));
	if (MARKOV_FIRST_CHANNEL + state->nchannels >= state->dim)
	{
		int			newdim = Min(state->dim * 2, MARKOV_FIRST_CHANNEL + MARKOV_MAX_CHANNELS);
		int64	   *counts = MemoryContextAllocZero(state->cxt, sizeof(int64) * newdim * newdim);

		for (int r = 0; r < state->dim; r++)
			memcpy(counts + (Size) r * newdim, state->counts + (Size) r * state->dim,
				   sizeof(int64) * state->dim);
		pfree(state->counts);
		state->counts = counts;
		state->channels = repalloc(state->channels, sizeof(char *) * (newdim - MARKOV_FIRST_CHANNEL));
		state->dim = newdim;
	}
	state->channels[state->nchannels] = MemoryContextStrdup(state->cxt, name);
	return MARKOV_FIRST_CHANNEL + state->nchannels++;
}

static inline void
markov_count(MarkovState *state, int from, int to, int64 n)
{
	state->counts[(Size) from * state->dim + to] += n;
}

/* Add the paths of one journey. */
static void
markov_add_journey(MarkovState *state, const Journey *j)
{
	bool	   *conv = attribution_conversions(j, &state->pattern);
	int		   *chan = palloc(sizeof(int) * Max(j->nchannels, 1));
	int			prev = MARKOV_START;

	for (uint32 c = 0; c < j->nchannels; c++)
		chan[c] = markov_channel(state, journey_channel_name(j, c));
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		uint32		k = journey_kind(j, i);
		int			s = chan[j->kind_channel[k]];

		if (conv[k])
		{
			/* a conversion with no touch before it is its own touch */
			if (prev == MARKOV_START)
			{
				markov_count(state, MARKOV_START, s, 1);
				prev = s;
			}
			markov_count(state, prev, MARKOV_CONVERSION, 1);
			state->conversions++;
			prev = MARKOV_START;
			continue;
		}
		if (s != prev)
			markov_count(state, prev, s, 1);
		prev = s;
	}
	if (prev != MARKOV_START)
		markov_count(state, prev, MARKOV_NULL, 1);
	pfree(conv);
	pfree(chan);
}

/*
 * Flat form (a bytea):
 *	int32 magic, int32 version, int64 conversions,
 *	int32 length + conversion pattern (length -1: none),
 *	int32 nchannels, then each: int32 length + name,
 *	int32 ncounts, then each: int32 from, int32 to, int64 count.
 */
static Size
markov_get_flat_size(ExpandedObjectHeader *eohptr)
{
	MarkovState *state = (MarkovState *) eohptr;
	Size		size = VARHDRSZ + 4 + 4 + 8 + 4 + 4 + 4;
	int			nstates = MARKOV_FIRST_CHANNEL + state->nchannels;

	if (state->conversion)
		size += strlen(state->conversion);
	for (int c = 0; c < state->nchannels; c++)
		size += 4 + strlen(state->channels[c]);
	for (int a = 0; a < nstates; a++)
		for (int b = 0; b < nstates; b++)
			if (state->counts[(Size) a * state->dim + b] != 0)
				size += 16;
	return size;
}

static char *
markov_put(char *p, const void *src, Size len)
{
	memcpy(p, src, len);
	return p + len;
}

static void
markov_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	MarkovState *state = (MarkovState *) eohptr;
	char	   *p = (char *) result + VARHDRSZ;
	int32		i32;
	int			nstates = MARKOV_FIRST_CHANNEL + state->nchannels;
	char	   *ncounts_at;
	int32		ncounts = 0;

	memset(result, 0, allocated_size);
	SET_VARSIZE(result, allocated_size);
	i32 = MARKOV_MAGIC;
	p = markov_put(p, &i32, 4);
	i32 = MARKOV_VERSION;
	p = markov_put(p, &i32, 4);
	p = markov_put(p, &state->conversions, 8);
	i32 = state->conversion ? (int32) strlen(state->conversion) : -1;
	p = markov_put(p, &i32, 4);
	if (state->conversion)
		p = markov_put(p, state->conversion, i32);
	i32 = state->nchannels;
	p = markov_put(p, &i32, 4);
	for (int c = 0; c < state->nchannels; c++)
	{
		i32 = strlen(state->channels[c]);
		p = markov_put(p, &i32, 4);
		p = markov_put(p, state->channels[c], i32);
	}
	ncounts_at = p;
	p += 4;
	for (int a = 0; a < nstates; a++)
		for (int b = 0; b < nstates; b++)
		{
			int64		n = state->counts[(Size) a * state->dim + b];

			if (n == 0)
				continue;
			i32 = a;
			p = markov_put(p, &i32, 4);
			i32 = b;
			p = markov_put(p, &i32, 4);
			p = markov_put(p, &n, 8);
			ncounts++;
		}
	memcpy(ncounts_at, &ncounts, 4);
	Assert(p == (char *) result + allocated_size);
}

/* Bounds-checked reader of the flat form. */
typedef struct MarkovReader
{
	const char *p;
	const char *end;
} MarkovReader;

static void
markov_read(MarkovReader *r, void *dst, Size len)
{
	if (len > (Size) (r->end - r->p))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.markov_attribution state")));
	memcpy(dst, r->p, len);
	r->p += len;
}

static char *
markov_read_string(MarkovReader *r, int32 len)
{
	char	   *s;

	if (len < 0 || len > r->end - r->p)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.markov_attribution state")));
	s = pnstrdup(r->p, len);
	r->p += len;
	return s;
}

/* Add the counts of a flat state into "state". */
static void
markov_add_flat(MarkovState *state, bytea *flat)
{
	MarkovReader r;
	int32		magic,
				version,
				len,
				nchannels,
				ncounts;
	int64		conversions;
	int		   *map;

	r.p = VARDATA_ANY(flat);
	r.end = r.p + VARSIZE_ANY_EXHDR(flat);
	markov_read(&r, &magic, 4);
	markov_read(&r, &version, 4);
	if (magic != MARKOV_MAGIC || version != MARKOV_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.markov_attribution state")));
	markov_read(&r, &conversions, 8);
	markov_read(&r, &len, 4);
	if (len >= 0)
		markov_set_conversion(state, markov_read_string(&r, len));
	markov_read(&r, &nchannels, 4);
	if (nchannels < 0 || nchannels > MARKOV_MAX_CHANNELS)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.markov_attribution state")));
	map = palloc(sizeof(int) * (MARKOV_FIRST_CHANNEL + nchannels));
	map[MARKOV_START] = MARKOV_START;
	map[MARKOV_CONVERSION] = MARKOV_CONVERSION;
	map[MARKOV_NULL] = MARKOV_NULL;
	for (int c = 0; c < nchannels; c++)
	{
		markov_read(&r, &len, 4);
		map[MARKOV_FIRST_CHANNEL + c] = markov_channel(state, markov_read_string(&r, len));
	}
	markov_read(&r, &ncounts, 4);
	for (int i = 0; i < ncounts; i++)
	{
		int32		a,
					b;
		int64		n;

		markov_read(&r, &a, 4);
		markov_read(&r, &b, 4);
		markov_read(&r, &n, 8);
		if (a < 0 || b < 0 || a >= MARKOV_FIRST_CHANNEL + nchannels ||
			b >= MARKOV_FIRST_CHANNEL + nchannels || n < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid omni.markov_attribution state")));
		markov_count(state, map[a], map[b], n);
	}
	state->conversions += conversions;
	pfree(map);
}

/* The state behind a transition value (see journey_state_get). */
static MarkovState *
markov_get(Datum d, FunctionCallInfo fcinfo, MemoryContext aggcxt)
{
	MarkovState *state;

	if (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)))
	{
		state = (MarkovState *) DatumGetEOHP(d);
		if (state->magic == MARKOV_MAGIC)
			return state;
	}
	state = markov_new(journey_agg_states_context(fcinfo, aggcxt), false);
	markov_add_flat(state, DatumGetByteaPP(d));
	return state;
}

/* omni.markov_attribution_transfn(state, journey, conversion) */
Datum
markov_attribution_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MarkovState *state;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("omni.markov_attribution_transfn can only be called by the omni.markov_attribution aggregate")));
	state = PG_ARGISNULL(0) ?
		markov_new(journey_agg_states_context(fcinfo, aggcxt), false) :
		markov_get(PG_GETARG_DATUM(0), fcinfo, aggcxt);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("omni.markov_attribution conversion pattern must not be NULL")));
	markov_set_conversion(state, text_to_cstring(PG_GETARG_TEXT_PP(2)));
	if (!PG_ARGISNULL(1))
		markov_add_journey(state, journey_from_datum(PG_GETARG_DATUM(1)));
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->hdr));
}

/* omni.markov_attribution_combine(a, b): the sum of two states. */
Datum
markov_attribution_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MarkovState *state;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("omni.markov_attribution_combine can only be called by the omni.markov_attribution aggregate")));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	state = PG_ARGISNULL(0) ?
		markov_new(journey_agg_states_context(fcinfo, aggcxt), false) :
		markov_get(PG_GETARG_DATUM(0), fcinfo, aggcxt);
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(1))))
	{
		MarkovState *other = (MarkovState *) DatumGetEOHP(PG_GETARG_DATUM(1));
		Size		size = markov_get_flat_size(&other->hdr);
		bytea	   *flat = palloc(size);

		markov_flatten_into(&other->hdr, flat, size);
		markov_add_flat(state, flat);
	}
	else
		markov_add_flat(state, PG_GETARG_BYTEA_PP(1));
	PG_RETURN_DATUM(EOHPGetRWDatum(&state->hdr));
}

/*
 * Solve A x = b (n unknowns, A row-major, both overwritten) by Gaussian
 * elimination with partial pivoting.  A = I - Q of an absorbing chain is
 * non-singular; a zero pivot leaves that unknown at zero.
 */
static void
markov_solve(double *A, double *b, double *x, int n)
{
	for (int col = 0; col < n; col++)
	{
		int			piv = col;

		CHECK_FOR_INTERRUPTS();
		for (int r = col + 1; r < n; r++)
			if (fabs(A[r * n + col]) > fabs(A[piv * n + col]))
				piv = r;
		if (fabs(A[piv * n + col]) < 1e-300)
			continue;
		if (piv != col)
		{
			for (int c = 0; c < n; c++)
			{
				double		t = A[col * n + c];

				A[col * n + c] = A[piv * n + c];
				A[piv * n + c] = t;
			}
			{
				double		t = b[col];

				b[col] = b[piv];
				b[piv] = t;
			}
		}
		for (int r = col + 1; r < n; r++)
		{
			double		f = A[r * n + col] / A[col * n + col];

			if (f == 0.0)
				continue;
			for (int c = col; c < n; c++)
				A[r * n + c] -= f * A[col * n + c];
			b[r] -= f * b[col];
		}
	}
	for (int r = n - 1; r >= 0; r--)
	{
		double		s = b[r];

		if (fabs(A[r * n + r]) < 1e-300)
		{
			x[r] = 0.0;
			continue;
		}
		for (int c = r + 1; c < n; c++)
			s -= A[r * n + c] * x[c];
		x[r] = s / A[r * n + r];
	}
}

/*
 * The probability of reaching "conversion" from "start", with channel
 * "removed" (a chain state, or -1 for none) sending everything to null.
 * Unknowns: start and the channels in name order (0 = start, 1 + i =
 * channel order[i]), so that the arithmetic, and thus the last bits of the
 * result, do not depend on the order journeys were added in.
 */
static double
markov_conversion_probability(const MarkovState *state, const int *order, int removed)
{
	int			n = 1 + state->nchannels;
	double	   *A = palloc0(sizeof(double) * n * n);
	double	   *b = palloc0(sizeof(double) * n);
	double	   *x = palloc0(sizeof(double) * n);
	double		p;

	for (int u = 0; u < n; u++)
	{
		int			s = u == 0 ? MARKOV_START : MARKOV_FIRST_CHANNEL + order[u - 1];
		const int64 *row = state->counts + (Size) s * state->dim;
		double		out = 0.0;

		A[u * n + u] = 1.0;
		if (s == removed)
			continue;
		for (int t = 0; t < MARKOV_FIRST_CHANNEL + state->nchannels; t++)
			out += (double) row[t];
		if (out == 0.0)
			continue;
		b[u] = (double) row[MARKOV_CONVERSION] / out;
		for (int v = 0; v < n; v++)
		{
			int			t = v == 0 ? MARKOV_START : MARKOV_FIRST_CHANNEL + order[v - 1];

			if (t == removed)
				continue;
			A[u * n + v] -= (double) row[t] / out;
		}
	}
	markov_solve(A, b, x, n);
	p = x[0];
	pfree(A);
	pfree(b);
	pfree(x);
	return p;
}

static int
markov_name_cmp(const void *a, const void *b, void *arg)
{
	char	  **names = (char **) arg;

	return strcmp(names[*(const int *) a], names[*(const int *) b]);
}

/*
 * omni.markov_attribution final function: an array of
 * omni.markov_credit (channel, removal_effect, credit), by channel name.
 */
Datum
markov_attribution_final(PG_FUNCTION_ARGS)
{
	Datum		d = PG_GETARG_DATUM(0);
	MarkovState *state;
	Oid			rettype = get_fn_expr_rettype(fcinfo->flinfo);
	Oid			elemtype = get_element_type(rettype);
	TupleDesc	tupdesc;
	double		p;
	double	   *effect;
	double		total = 0.0;
	int		   *order;
	Datum	   *elems;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (!OidIsValid(elemtype))
		elog(ERROR, "omni.markov_attribution must return an array of a composite type");
	tupdesc = lookup_rowtype_tupdesc_copy(elemtype, -1);

	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)) &&
		((MarkovState *) DatumGetEOHP(d))->magic == MARKOV_MAGIC)
		state = (MarkovState *) DatumGetEOHP(d);
	else
	{
		state = markov_new(CurrentMemoryContext, true);
		markov_add_flat(state, DatumGetByteaPP(d));
	}

	order = palloc(sizeof(int) * Max(state->nchannels, 1));
	for (int c = 0; c < state->nchannels; c++)
		order[c] = c;
	qsort_arg(order, state->nchannels, sizeof(int), markov_name_cmp, state->channels);

	effect = palloc0(sizeof(double) * Max(state->nchannels, 1));
	p = markov_conversion_probability(state, order, -1);
	for (int c = 0; c < state->nchannels; c++)
	{
		if (p > 0.0)
		{
			effect[c] = 1.0 - markov_conversion_probability(state, order, MARKOV_FIRST_CHANNEL + c) / p;
			if (effect[c] < 0.0)
				effect[c] = 0.0;
		}
	}
	/* sum in name order too */
	for (int i = 0; i < state->nchannels; i++)
		total += effect[order[i]];

	elems = palloc(sizeof(Datum) * Max(state->nchannels, 1));
	for (int i = 0; i < state->nchannels; i++)
	{
		int			c = order[i];
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(state->channels[c]);
		values[1] = Float8GetDatum(effect[c]);
		values[2] = Float8GetDatum(total > 0.0 ? effect[c] / total * (double) state->conversions : 0.0);
		elems[i] = HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, state->nchannels, elemtype,
										  typlen, typbyval, typalign));
}
