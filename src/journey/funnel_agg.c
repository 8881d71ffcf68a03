/*-------------------------------------------------------------------------
 *
 * funnel_agg.c
 *		The omni.funnel aggregate: ClickHouse's windowFunnel computed
 *		straight from (ts, channel, event) rows, without building journeys.
 *
 *		omni.funnel(ts, channel, event, window, steps [, mode])
 *
 * gives the same level as omni.funnel(omni.journey(ts, channel, event),
 * window, steps, mode) over the same rows, because both end in the same
 * walk, funnel_level() in funnel.c, over the same funnel events.
 *
 * The transition function keeps, per group, only what the walk needs: the
 * rows matching some funnel step, each as a (time, bit mask of the steps
 * it matches) pair of 16 bytes (with strict_order, rows matching no step
 * too, since they interrupt the funnel).  Steps are compiled once per call
 * site into the distinct names they use, as lengths and byte strings, so
 * matching a row is a handful of length comparisons and at most a few word
 * comparisons on the row's text, with no call, no copy and no allocation.
 * The final function walks the pairs in (time, mask) order, sorting them
 * first only when some row came out of that order (rows of a table filled
 * as events happen mostly come in time order).
 *
 * The window, steps and mode arguments are meant to be constants: they are
 * compiled once (detected from the Aggref) and never looked at again.  When
 * they are expressions, every row is checked against its group's compiled
 * arguments, and rows of one group giving different values are an error.
 *
 * The state is "internal", with serialization functions, so the aggregate
 * runs in parallel: the serialized form carries the arguments (so the
 * leader can check that partial states agree) and the pairs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(funnel_agg_transfn);
PG_FUNCTION_INFO_V1(funnel_agg_events_transfn);
PG_FUNCTION_INFO_V1(funnel_agg_final);
PG_FUNCTION_INFO_V1(funnel_agg_combine);
PG_FUNCTION_INFO_V1(funnel_agg_serialize);
PG_FUNCTION_INFO_V1(funnel_agg_deserialize);

/*
 * Argument numbers of the transition functions (0 is the state): of
 * omni.funnel(ts, channel, event, window, steps [, mode]), and of the form
 * without a channel, omni.event_funnel(ts, event, window, steps [, mode]), whose
 * window, steps and mode come one place earlier.  The steps and the mode
 * always follow the window.
 */
#define FA_TS		1
#define FA_CHANNEL	2
#define FA_EVENT	3
#define FA_WINDOW	4
#define FA_EVENTS_EVENT		2
#define FA_EVENTS_WINDOW	3

/* A compiled step pattern: NULL for "any", else the bytes and their length. */
typedef struct FunnelPattern
{
	const char *channel;
	const char *event;
	int			channel_len;
	int			event_len;
} FunnelPattern;

/* A distinct channel or event name of the step patterns, and their steps. */
typedef struct FunnelName
{
	const char *bytes;
	int			len;
	uint64		mask;			/* the steps naming it (and nothing else) */
} FunnelName;

/* A distinct (channel, event) pair of the step patterns, and their steps. */
typedef struct FunnelPair
{
	FunnelName	channel;
	FunnelName	event;			/* event.mask: the steps naming the pair */
} FunnelPair;

/*
 * The compiled arguments of a call site: the window, the steps and the
 * modes, and the arguments' bytes they came from (mode_arg NULL when the
 * mode argument was left out), to recognize them again cheaply.
 *
 * To match a row, the patterns are regrouped by what they name: the steps
 * matching any row ("*"), and the distinct event names, channel names and
 * (channel, event) pairs with the steps each stands for.  Names are
 * distinct, so a row matches at most one of each list: its mask is the OR
 * of the four.
 */
typedef struct FunnelSpec
{
	int64		window;
	int			ncond;
	FunnelModes modes;
	FunnelPattern patterns[JOURNEY_MAX_PATTERNS];
	uint64		any_mask;
	int			nevents;
	int			nchannels;
	int			npairs;
	FunnelName	events[JOURNEY_MAX_PATTERNS];
	FunnelName	channels[JOURNEY_MAX_PATTERNS];
	FunnelPair	pairs[JOURNEY_MAX_PATTERNS];
	Interval	window_arg;
	struct varlena *steps_arg;
	struct varlena *mode_arg;
} FunnelSpec;

/* Per call site (fn_extra): the constant spec, or the last one compiled. */
typedef struct FunnelAggCache
{
	bool		checked;		/* whether the Aggref was inspected */
	FunnelSpec *const_spec;		/* all three arguments are constants */
	FunnelSpec *last;			/* the last spec compiled */
} FunnelAggCache;

/* The transition state of one group. */
typedef struct FunnelAggState
{
	const FunnelSpec *spec;		/* NULL until a row with arguments came */
	bool		null_args;		/* a row had a NULL window, steps or mode */
	bool		unsorted;		/* events are not in (time, mask) order */
	bool		has_first;		/* an event matches the first step */
	int			nevents;
	int			maxevents;
	FunnelEvent *events;
	FunnelEvent last;			/* the last event added (nevents > 0) */
} FunnelAggState;

/* Header of the serialized state (then steps, mode, events). */
typedef struct FunnelAggSerial
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		nevents;
	Interval	window_arg;
	int32		steps_len;		/* bytes of the steps array */
	int32		mode_len;		/* bytes of the mode array, if has_mode */
	uint8		null_args;
	uint8		has_spec;
	uint8		has_mode;
	uint8		unsorted;
} FunnelAggSerial;

/*
 * Offsets in a serialized state: the steps array right after the header,
 * the mode array at the next int boundary, the events at the next MAXALIGN
 * boundary.
 */
#define FA_STEPS_OFF			MAXALIGN(sizeof(FunnelAggSerial))
#define FA_MODE_OFF(steps_len)	INTALIGN(FA_STEPS_OFF + (Size) (steps_len))
#define FA_EVENTS_OFF(steps_len, mode_len) \
	MAXALIGN(FA_MODE_OFF(steps_len) + (Size) (mode_len))

/*
 * Whether the "len" bytes at "a" and "b" are equal: words compared as
 * loads, without a call (names are short), never reading past either end.
 */
static inline bool
funnel_bytes_equal(const char *a, const char *b, int len)
{
	if (len >= 8)
	{
		uint64		x;
		uint64		y;
		int			i;

		for (i = 0; i + 8 <= len; i += 8)
		{
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		if (i == len)
			return true;
		memcpy(&x, a + len - 8, 8);
		memcpy(&y, b + len - 8, 8);
		return x == y;
	}
	if (len >= 4)
	{
		uint32		x;
		uint32		y;
		uint32		u;
		uint32		v;

		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		memcpy(&u, a + len - 4, 4);
		memcpy(&v, b + len - 4, 4);
		return x == y && u == v;
	}
	for (int i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Add step "i" to name "bytes" of list "names" (of *n), as a new name or not. */
static void
funnel_add_name(FunnelName *names, int *n, const char *bytes, int len, int i)
{
	for (int k = 0; k < *n; k++)
		if (names[k].len == len && memcmp(names[k].bytes, bytes, len) == 0)
		{
			names[k].mask |= UINT64CONST(1) << i;
			return;
		}
	names[*n].bytes = bytes;
	names[*n].len = len;
	names[*n].mask = UINT64CONST(1) << i;
	(*n)++;
}

/* Add step "i" to the pair (channel, event) of spec, as a new pair or not. */
static void
funnel_add_pair(FunnelSpec *spec, const FunnelPattern *p, int i)
{
	for (int k = 0; k < spec->npairs; k++)
	{
		FunnelPair *q = &spec->pairs[k];

		if (q->channel.len == p->channel_len && q->event.len == p->event_len &&
			memcmp(q->channel.bytes, p->channel, p->channel_len) == 0 &&
			memcmp(q->event.bytes, p->event, p->event_len) == 0)
		{
			q->event.mask |= UINT64CONST(1) << i;
			return;
		}
	}
	spec->pairs[spec->npairs].channel.bytes = p->channel;
	spec->pairs[spec->npairs].channel.len = p->channel_len;
	spec->pairs[spec->npairs].event.bytes = p->event;
	spec->pairs[spec->npairs].event.len = p->event_len;
	spec->pairs[spec->npairs].event.mask = UINT64CONST(1) << i;
	spec->npairs++;
}

/*
 * Compile window, steps and mode (mode NULL: left out) into a new spec in
 * "cxt", with the same checks and errors as the function over journeys.
 * Without "has_channel" (the form of the aggregate that has no channel
 * argument), a step naming a channel is an error: no row could match it.
 */
static FunnelSpec *
funnel_spec_compile(Interval *window, struct varlena *steps, struct varlena *mode,
					bool has_channel, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	FunnelSpec *spec = palloc0(sizeof(FunnelSpec));
	StepPattern *patterns;
	int			n;

	spec->window = journey_interval_usecs(window, "funnel window", true);
	journey_parse_pattern_array(DatumGetArrayTypeP(PointerGetDatum(steps)),
								"funnel steps", &patterns, &n);
	if (mode != NULL)
		funnel_parse_modes(DatumGetArrayTypeP(PointerGetDatum(mode)), &spec->modes);
	spec->ncond = n;
	for (int i = 0; i < n; i++)
	{
		if (!has_channel && patterns[i].channel != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("funnel step %d names the channel \"%s\", but omni.event_funnel has no channel argument",
							i + 1, patterns[i].channel),
					 errhint("Pass the channel to omni.funnel(ts, channel, event, window, steps), or name events only (\"event\" or \"*:event\").")));
		spec->patterns[i].channel = patterns[i].channel;
		spec->patterns[i].channel_len = patterns[i].channel ? strlen(patterns[i].channel) : 0;
		spec->patterns[i].event = patterns[i].event;
		spec->patterns[i].event_len = patterns[i].event ? strlen(patterns[i].event) : 0;
	}
	for (int i = 0; i < n; i++)
	{
		const FunnelPattern *p = &spec->patterns[i];

		if (p->channel == NULL && p->event == NULL)
			spec->any_mask |= UINT64CONST(1) << i;
		else if (p->channel == NULL)
			funnel_add_name(spec->events, &spec->nevents, p->event, p->event_len, i);
		else if (p->event == NULL)
			funnel_add_name(spec->channels, &spec->nchannels, p->channel, p->channel_len, i);
		else
			funnel_add_pair(spec, p, i);
	}
	spec->window_arg = *window;
	spec->steps_arg = (struct varlena *) PG_DETOAST_DATUM_COPY(PointerGetDatum(steps));
	spec->mode_arg = mode ? (struct varlena *) PG_DETOAST_DATUM_COPY(PointerGetDatum(mode)) : NULL;
	MemoryContextSwitchTo(old);
	return spec;
}

/* Whether two varlenas (either may be NULL) hold the same bytes. */
static inline bool
funnel_same_bytes(struct varlena *a, struct varlena *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/* Whether "spec" was compiled from exactly these arguments. */
static bool
funnel_spec_same_args(const FunnelSpec *spec, Interval *window,
					  struct varlena *steps, struct varlena *mode)
{
	return spec->window_arg.time == window->time &&
		spec->window_arg.day == window->day &&
		spec->window_arg.month == window->month &&
		funnel_same_bytes(spec->steps_arg, steps) &&
		funnel_same_bytes(spec->mode_arg, mode);
}

/* Whether two optional strings of known lengths are equal. */
static inline bool
funnel_same_string(const char *a, int alen, const char *b, int blen)
{
	if (a == NULL || b == NULL)
		return a == b;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/*
 * Whether two specs mean the same funnel (their arguments may still be
 * spelled differently, as '1 day' and '24 hours').
 */
static bool
funnel_spec_equal(const FunnelSpec *a, const FunnelSpec *b)
{
	if (a == b)
		return true;
	if (a->window != b->window || a->ncond != b->ncond ||
		memcmp(&a->modes, &b->modes, sizeof(FunnelModes)) != 0)
		return false;
	for (int i = 0; i < a->ncond; i++)
	{
		const FunnelPattern *p = &a->patterns[i];
		const FunnelPattern *q = &b->patterns[i];

		if (!funnel_same_string(p->channel, p->channel_len, q->channel, q->channel_len) ||
			!funnel_same_string(p->event, p->event_len, q->event, q->event_len))
			return false;
	}
	return true;
}

/* The error for rows of one group with different funnel arguments. */
static void
funnel_spec_mismatch(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("funnel arguments window, steps and mode must be the same for all rows of a group")));
}

/* Whether argument "argno" of the aggregate call is a non-NULL constant. */
static bool
funnel_arg_is_const(Aggref *aggref, int argno)
{
	TargetEntry *tle;

	if (aggref == NULL || list_length(aggref->args) < argno)
		return false;
	tle = list_nth_node(TargetEntry, aggref->args, argno - 1);
	return IsA(tle->expr, Const) && !((Const *) tle->expr)->constisnull;
}

/*
 * The spec a row's arguments give, checked against "group" (the spec of
 * the row's group, or NULL for its first row).  With constant arguments
 * this is one pointer test; otherwise the arguments are compared bytewise
 * with the group's, and compiled (once per distinct value in a row) only
 * when they differ.
 */
static const FunnelSpec *
funnel_row_spec(FunctionCallInfo fcinfo, int window_argno, bool has_channel,
				const FunnelSpec *group)
{
	FunnelAggCache *cache = (FunnelAggCache *) fcinfo->flinfo->fn_extra;
	int			steps_argno = window_argno + 1;
	int			mode_argno = window_argno + 2;
	bool		has_mode = PG_NARGS() > mode_argno;
	Interval   *window;
	struct varlena *steps;
	struct varlena *mode;
	FunnelSpec *spec;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FunnelAggCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	if (cache->const_spec != NULL)
		return cache->const_spec;

	window = PG_GETARG_INTERVAL_P(window_argno);
	steps = PG_GETARG_VARLENA_PP(steps_argno);
	mode = has_mode ? PG_GETARG_VARLENA_PP(mode_argno) : NULL;

	if (!cache->checked)
	{
		Aggref	   *aggref = AggGetAggref(fcinfo);

		cache->checked = true;
		if (funnel_arg_is_const(aggref, window_argno) && funnel_arg_is_const(aggref, steps_argno) &&
			(!has_mode || funnel_arg_is_const(aggref, mode_argno)))
		{
			cache->const_spec = funnel_spec_compile(window, steps, mode, has_channel,
													fcinfo->flinfo->fn_mcxt);
			return cache->const_spec;
		}
	}

	if (group != NULL && funnel_spec_same_args(group, window, steps, mode))
		return group;
	if (cache->last != NULL && funnel_spec_same_args(cache->last, window, steps, mode))
		spec = cache->last;
	else
	{
		spec = funnel_spec_compile(window, steps, mode, has_channel, fcinfo->flinfo->fn_mcxt);
		cache->last = spec;
	}
	if (group != NULL && !funnel_spec_equal(group, spec))
		funnel_spec_mismatch();
	return group ? group : spec;
}

/*
 * The bit mask of the funnel steps a row matches (event NULL: the row has
 * none): a few length comparisons, and the bytes of at most one name per
 * list.
 */
static inline uint64
funnel_row_mask(const FunnelSpec *spec, const char *channel, int channel_len,
				const char *event, int event_len)
{
	uint64		mask = spec->any_mask;

	if (event != NULL)
	{
		for (int k = 0; k < spec->nevents; k++)
			if (spec->events[k].len == event_len &&
				funnel_bytes_equal(spec->events[k].bytes, event, event_len))
			{
				mask |= spec->events[k].mask;
				break;
			}
		for (int k = 0; k < spec->npairs; k++)
		{
			const FunnelPair *q = &spec->pairs[k];

			if (q->event.len == event_len && q->channel.len == channel_len &&
				funnel_bytes_equal(q->event.bytes, event, event_len) &&
				funnel_bytes_equal(q->channel.bytes, channel, channel_len))
			{
				mask |= q->event.mask;
				break;
			}
		}
	}
	for (int k = 0; k < spec->nchannels; k++)
		if (spec->channels[k].len == channel_len &&
			funnel_bytes_equal(spec->channels[k].bytes, channel, channel_len))
		{
			mask |= spec->channels[k].mask;
			break;
		}
	return mask;
}

/*
 * A text argument in a form VARDATA_ANY can read: a value stored inline in
 * the row (the usual case) is used as it is, without the call
 * PG_GETARG_TEXT_PP makes; a compressed or external one is detoasted.
 */
static inline text *
funnel_text_arg(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	if (unlikely(VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v)))
		v = pg_detoast_datum_packed(v);
	return (text *) v;
}

/* Whether event "a" comes before "b" in (time, mask) order. */
static inline bool
funnel_event_before(const FunnelEvent *a, const FunnelEvent *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->mask < b->mask);
}

/* Make room for "more" events in the state, in the aggregate's context. */
static void
funnel_state_reserve(FunnelAggState *state, int64 more, MemoryContext aggcxt)
{
	int64		need = (int64) state->nevents + more;

	if (need <= state->maxevents)
		return;
	if (need > JOURNEY_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("omni.funnel exceeds the limit of %d matching rows in one group",
						JOURNEY_MAX_STEPS),
				 errhint("Split the group, for example by time range.")));
	state->maxevents = Min(Max(need, Max(8, (int64) state->maxevents * 2)), JOURNEY_MAX_STEPS);
	if (state->events == NULL)
		state->events = MemoryContextAlloc(aggcxt, sizeof(FunnelEvent) * state->maxevents);
	else
		state->events = repalloc(state->events, sizeof(FunnelEvent) * state->maxevents);
}

/*
 * Add one row to the state of its group, for both forms of the aggregate:
 * the event's argument is "event_argno", the window's "window_argno" (the
 * steps and the mode follow it), the channel's FA_CHANNEL when
 * "has_channel".  As in the journey aggregate, rows with a NULL time or
 * channel are skipped, a NULL event matches only step patterns without an
 * event, and times must be finite and names non-empty.  Without a channel,
 * a row is its time and event alone, so a row with a NULL event is skipped
 * too.  A NULL window, steps or mode makes the group's result NULL, as the
 * function over journeys, which is STRICT, gives.
 */
static pg_attribute_always_inline Datum
funnel_agg_add(FunctionCallInfo fcinfo, bool has_channel, int event_argno, int window_argno)
{
	MemoryContext aggcxt;
	FunnelAggState *state;
	TimestampTz ts;
	text	   *channel = NULL;
	text	   *event = NULL;
	FunnelAggCache *cache;
	const FunnelSpec *spec;
	uint64		mask;
	FunnelEvent ev;
	int			channel_len = 0;
	int			event_len = 0;

	/*
	 * Only the aggregate can pass a state (SQL cannot make an "internal"
	 * value), so the calling context is checked once per group, where the
	 * state is created.
	 */
	if (PG_ARGISNULL(0))
	{
		if (!AggCheckCallContext(fcinfo, &aggcxt))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("omni.funnel_agg_transfn can only be called by the omni.funnel aggregate")));
		state = NULL;
	}
	else
		state = (FunnelAggState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(FA_TS) || (has_channel && PG_ARGISNULL(FA_CHANNEL)) ||
		(!has_channel && PG_ARGISNULL(event_argno)))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}

	ts = PG_GETARG_TIMESTAMPTZ(FA_TS);
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("journey step time must be finite")));
	if (has_channel)
	{
		channel = funnel_text_arg(PG_GETARG_DATUM(FA_CHANNEL));
		channel_len = VARSIZE_ANY_EXHDR(channel);
		if (channel_len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("journey step channel must not be empty")));
	}
	if (!PG_ARGISNULL(event_argno))
	{
		event = funnel_text_arg(PG_GETARG_DATUM(event_argno));
		event_len = VARSIZE_ANY_EXHDR(event);
		if (event_len == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("journey step event must not be empty"),
					 errhint("Pass NULL for a step without an event.")));
	}

	if (state == NULL)
		state = MemoryContextAllocZero(aggcxt, sizeof(FunnelAggState));
	if (unlikely(state->null_args))
		PG_RETURN_POINTER(state);
	if (PG_ARGISNULL(window_argno) || PG_ARGISNULL(window_argno + 1) ||
		(PG_NARGS() > window_argno + 2 && PG_ARGISNULL(window_argno + 2)))
	{
		state->null_args = true;
		PG_RETURN_POINTER(state);
	}

	cache = (FunnelAggCache *) fcinfo->flinfo->fn_extra;
	if (likely(cache != NULL && cache->const_spec != NULL))
		spec = cache->const_spec;
	else
		spec = funnel_row_spec(fcinfo, window_argno, has_channel, state->spec);
	state->spec = spec;
	mask = funnel_row_mask(spec, channel ? VARDATA_ANY(channel) : NULL, channel_len,
						   event ? VARDATA_ANY(event) : NULL, event_len);
	if (mask == 0 && !spec->modes.strict_order)
		PG_RETURN_POINTER(state);

	if (unlikely(state->nevents >= state->maxevents))
		funnel_state_reserve(state, 1, GetMemoryChunkContext(state));
	ev.ts = ts;
	ev.mask = mask;

	/*
	 * Rows mostly come in time order, and then the final sort is skipped.
	 * The last event is compared from the state's own copy: reading it from
	 * the array would wait for memory the store below does not wait for.
	 */
	if (state->nevents > 0 && unlikely(funnel_event_before(&ev, &state->last)))
		state->unsorted = true;
	state->events[state->nevents++] = ev;
	state->last = ev;
	state->has_first |= (mask & 1) != 0;
	PG_RETURN_POINTER(state);
}

/* omni.funnel_agg_transfn(state, ts, channel, event, window, steps [, mode]) */
Datum
funnel_agg_transfn(PG_FUNCTION_ARGS)
{
	return funnel_agg_add(fcinfo, true, FA_EVENT, FA_WINDOW);
}

/*
 * omni.funnel_agg_events_transfn(state, ts, event, window, steps [, mode]),
 * of omni.event_funnel: the form without a channel, for funnels over events
 * alone.  It reads no
 * channel column, so a query can take its rows from an index on (customer,
 * event, ts) without visiting the table.
 */
Datum
funnel_agg_events_transfn(PG_FUNCTION_ARGS)
{
	return funnel_agg_add(fcinfo, false, FA_EVENTS_EVENT, FA_EVENTS_WINDOW);
}

/*
 * omni.funnel_agg_combine(a, b): the state holding the rows of both (from
 * parallel workers), in "a".  Both must come from the same arguments.  "b"
 * is only read: it may be a deserialized state whose events are still in
 * its input bytes.
 */
Datum
funnel_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FunnelAggState *a;
	FunnelAggState *b;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("omni.funnel_agg_combine can only be called by the omni.funnel aggregate")));
	a = PG_ARGISNULL(0) ? NULL : (FunnelAggState *) PG_GETARG_POINTER(0);
	b = PG_ARGISNULL(1) ? NULL : (FunnelAggState *) PG_GETARG_POINTER(1);
	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = MemoryContextAllocZero(aggcxt, sizeof(FunnelAggState));

	if (b->null_args)
		a->null_args = true;
	if (a->null_args)
		PG_RETURN_POINTER(a);
	if (a->spec == NULL)
		a->spec = b->spec;
	else if (b->spec != NULL && !funnel_spec_equal(a->spec, b->spec))
		funnel_spec_mismatch();
	if (b->nevents > 0)
	{
		bool		overlap = a->nevents > 0 &&
			funnel_event_before(&b->events[0], &a->last);

		funnel_state_reserve(a, b->nevents, aggcxt);
		if (overlap && !a->unsorted && !b->unsorted)
		{
			/*
			 * Two runs in order (each worker reads a group's rows in time
			 * order): merge them from the back, in place, and stay in order.
			 */
			int			i = a->nevents - 1;
			int			j = b->nevents - 1;
			int			k = a->nevents + b->nevents - 1;

			while (j >= 0)
			{
				if (i >= 0 && funnel_event_before(&b->events[j], &a->events[i]))
					a->events[k--] = a->events[i--];
				else
					a->events[k--] = b->events[j--];
			}
		}
		else
		{
			if (overlap || b->unsorted)
				a->unsorted = true;
			memcpy(a->events + a->nevents, b->events, sizeof(FunnelEvent) * b->nevents);
		}
		a->nevents += b->nevents;
		a->last = a->events[a->nevents - 1];
		a->has_first |= b->has_first;
	}
	PG_RETURN_POINTER(a);
}

/*
 * omni.funnel_agg_final(state): the deepest funnel step reached.  Sorting
 * the events in place (when they came out of order) leaves the same set of
 * events, so the state stays valid for further rows.
 */
Datum
funnel_agg_final(PG_FUNCTION_ARGS)
{
	FunnelAggState *state;
	const FunnelSpec *spec;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (FunnelAggState *) PG_GETARG_POINTER(0);
	if (state->null_args)
		PG_RETURN_NULL();
	spec = state->spec;
	if (spec == NULL)
		PG_RETURN_NULL();		/* not reached: a counted row sets the spec */
	if (!state->has_first)
		PG_RETURN_INT32(0);		/* the funnel never starts: no need to read the events */
	if (state->unsorted)
	{
		funnel_sort_events(state->events, state->nevents);
		state->unsorted = false;
		state->last = state->events[state->nevents - 1];
	}
	PG_RETURN_INT32(funnel_level(state->events, state->nevents, spec->ncond,
								 spec->window, &spec->modes));
}

/*
 * omni.funnel_agg_serialize(state): a bytea for a parallel worker to send,
 * the arguments' bytes then the events, in native byte order (partial
 * states never leave the server).
 */
Datum
funnel_agg_serialize(PG_FUNCTION_ARGS)
{
	FunnelAggState *state = (FunnelAggState *) PG_GETARG_POINTER(0);
	const FunnelSpec *spec = state->null_args ? NULL : state->spec;
	int			nevents = spec ? state->nevents : 0;
	Size		steps_len = spec ? VARSIZE_ANY(spec->steps_arg) : 0;
	Size		mode_len = spec && spec->mode_arg ? VARSIZE_ANY(spec->mode_arg) : 0;
	Size		size = FA_EVENTS_OFF(steps_len, mode_len) +
		sizeof(FunnelEvent) * (Size) nevents;
	FunnelAggSerial *out;
	char	   *p;

	if (!AggCheckCallContext(fcinfo, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("omni.funnel_agg_serialize can only be called by the omni.funnel aggregate")));
	out = palloc0(size);
	SET_VARSIZE(out, size);
	out->null_args = state->null_args;
	out->has_spec = spec != NULL;
	out->has_mode = spec && spec->mode_arg;
	out->unsorted = state->unsorted;
	out->nevents = nevents;
	if (spec)
		out->window_arg = spec->window_arg;
	out->steps_len = steps_len;
	out->mode_len = mode_len;
	p = (char *) out;
	if (steps_len > 0)
		memcpy(p + FA_STEPS_OFF, spec->steps_arg, steps_len);
	if (mode_len > 0)
		memcpy(p + FA_MODE_OFF(steps_len), spec->mode_arg, mode_len);
	p += FA_EVENTS_OFF(steps_len, mode_len);
	if (nevents > 0)
		memcpy(p, state->events, sizeof(FunnelEvent) * nevents);
	PG_RETURN_BYTEA_P(out);
}

/*
 * omni.funnel_agg_deserialize(bytes, internal): the state again, for the
 * combine function, its events read in place in "bytes".  The arguments are
 * compiled once per distinct value at the call site.
 */
Datum
funnel_agg_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_P(0);
	FunnelAggSerial *hdr;
	FunnelAggState *state;
	Size		size = VARSIZE(in);
	Size		events_off;

	/*
	 * A bytea from a tuple is only int-aligned; the header holds an Interval
	 * (int64), so read an unaligned value from a MAXALIGNed copy.
	 */
	if ((uintptr_t) in != MAXALIGN((uintptr_t) in))
	{
		bytea	   *copy = palloc(size);

		memcpy(copy, in, size);
		in = copy;
	}
	hdr = (FunnelAggSerial *) in;

	if (!AggCheckCallContext(fcinfo, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("omni.funnel_agg_deserialize can only be called by the omni.funnel aggregate")));
	if (size < FA_STEPS_OFF || hdr->steps_len < 0 || hdr->mode_len < 0 ||
		hdr->nevents < 0 || hdr->nevents > JOURNEY_MAX_STEPS ||
		hdr->steps_len > size || hdr->mode_len > size)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.funnel aggregate state")));
	events_off = FA_EVENTS_OFF(hdr->steps_len, hdr->mode_len);
	if (events_off + sizeof(FunnelEvent) * (Size) hdr->nevents != size ||
		(hdr->has_spec && hdr->steps_len < VARHDRSZ) ||
		(hdr->has_mode && hdr->mode_len < VARHDRSZ))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.funnel aggregate state")));

	state = palloc0(sizeof(FunnelAggState));
	state->null_args = hdr->null_args != 0;
	if (hdr->has_spec)
	{
		FunnelAggCache *cache = (FunnelAggCache *) fcinfo->flinfo->fn_extra;
		struct varlena *steps = (struct varlena *) ((char *) in + FA_STEPS_OFF);
		struct varlena *mode = hdr->has_mode ?
			(struct varlena *) ((char *) in + FA_MODE_OFF(hdr->steps_len)) : NULL;

		if (VARSIZE_ANY(steps) != hdr->steps_len ||
			(mode != NULL && VARSIZE_ANY(mode) != hdr->mode_len))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid omni.funnel aggregate state")));

		if (cache == NULL)
		{
			cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FunnelAggCache));
			fcinfo->flinfo->fn_extra = cache;
		}
		if (cache->last == NULL ||
			!funnel_spec_same_args(cache->last, &hdr->window_arg, steps, mode))
			cache->last = funnel_spec_compile(&hdr->window_arg, steps, mode, true,
											  fcinfo->flinfo->fn_mcxt);
		state->spec = cache->last;
	}
	state->unsorted = hdr->unsorted != 0;
	state->nevents = state->maxevents = hdr->nevents;
	if (hdr->nevents > 0)
	{
		/*
		 * The events are read in place (they are MAXALIGNed in a MAXALIGNed
		 * copy): a deserialized state only feeds the combine function, which
		 * copies them into its own state while the input is still there.
		 */
		state->events = (FunnelEvent *) ((char *) in + events_off);
		state->last = state->events[hdr->nevents - 1];
		for (int i = 0; i < hdr->nevents && !state->has_first; i++)
			state->has_first = (state->events[i].mask & 1) != 0;
	}
	PG_RETURN_POINTER(state);
}
