/*-------------------------------------------------------------------------
 *
 * journey.h
 *		The omni.journey type: a time-ordered sequence of steps (ts, channel,
 *		event) of one customer, and what the journey functions share.
 *
 * Flat (on-disk) layout of a journey, all integers in native byte order:
 *
 *		JourneyData header (24 bytes)
 *		int64	ts[nsteps]					step times, ascending
 *		uintN	kind[nsteps]				index of the step's (channel, event)
 *											pair; N = 8 * kind_width
 *		(padding to 4 bytes)
 *		uint32	kind_channel[nkinds]		channel of each pair
 *		uint32	kind_event[nkinds]			event of each pair, or JOURNEY_NO_EVENT
 *		uint32	channel_off[nchannels + 1]	offsets of the channel names
 *		uint32	event_off[nevents + 1]		offsets of the event names
 *		char	names[]						NUL-terminated channel names, then
 *											event names
 *
 * Every channel and event string is stored once per journey.  The form is
 * canonical: names are sorted (bytewise), pairs are sorted by (channel,
 * event), and steps by (ts, pair), so the same set of steps always gives the
 * same bytes, whatever order the rows arrived in.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OMNI_JOURNEY_H
#define OMNI_JOURNEY_H

#include "postgres.h"

#include "fmgr.h"
#include "omnichannel.h"
#include "utils/array.h"
#include "utils/expandeddatum.h"
#include "utils/timestamp.h"

/* Most steps one journey may hold (documented in README, Journeys). */
#define JOURNEY_MAX_STEPS			10000000

/* Most steps (funnel) or conditions (sequences) a pattern list may name. */
#define JOURNEY_MAX_PATTERNS		64

/* kind_event value of a pair without an event (two-argument aggregate). */
#define JOURNEY_NO_EVENT			PG_UINT32_MAX

#define JOURNEY_VERSION				1

typedef struct JourneyData
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	uint32		nsteps;
	uint32		nkinds;
	uint32		nchannels;
	uint32		nevents;
	uint8		version;
	uint8		kind_width;		/* 1, 2 or 4 bytes per step kind */
	uint16		flags;			/* reserved, zero */
} JourneyData;

/* A decoded view of a flat journey: pointers into its arrays. */
typedef struct Journey
{
	uint32		nsteps;
	uint32		nkinds;
	uint32		nchannels;
	uint32		nevents;
	int			kind_width;
	const int64 *ts;
	const uint8 *kind;
	const uint32 *kind_channel;
	const uint32 *kind_event;
	const uint32 *channel_off;
	const uint32 *event_off;
	const char *names;
} Journey;

/* One step as the builder holds it. */
typedef struct JourneyStep
{
	int64		ts;
	uint32		kind;
	uint32		pad;
} JourneyStep;

/* A distinct (channel, event) pair of a builder's dictionary. */
typedef struct JourneyKind
{
	char	   *channel;
	char	   *event;			/* NULL: no event */
	int			channel_len;
	int			event_len;
	uint32		hash;
	uint32		stamp;			/* flattening pass that last saw the pair */
	uint32		local;			/* its number in the journey being flattened */
	uint32		rank;			/* its place among the first nranked pairs */
	uint32		channel_rank;	/* and its channel's among their channels */
	uint32		event_rank;		/* and its event's among their events */
} JourneyKind;

/*
 * The dictionary of (channel, event) pairs of one or many builders.  The
 * aggregate shares one dictionary between all the groups of a call site
 * (it lives in the function's per-query memory), so a group's state holds
 * only (time, pair) steps and each string is copied once per query, not
 * once per customer.  Standalone builders (input, receive) own theirs.
 */
typedef struct JourneyDict
{
	MemoryContext cxt;
	JourneyKind *kinds;
	uint32		nkinds;
	uint32		maxkinds;
	uint32	   *htab;			/* open addressing, kind + 1, 0 = empty */
	uint32		hsize;			/* power of two */
	uint32		stamp;			/* current flattening pass */
	uint32		nranked;		/* pairs ranked in canonical order, see agg.c */
	uint32	   *scratch;		/* flattening: the pairs of one journey */
	uint32		maxscratch;
} JourneyDict;

/*
 * The builder: an expanded object holding an unsorted set of steps, each a
 * time and a pair of the dictionary.  It is the aggregate's transition
 * state (flattened, it is an ordinary omni.journey) and also builds the
 * journeys read by the input and receive functions.
 */
typedef struct JourneyState
{
	ExpandedObjectHeader hdr;
	int			magic;
	MemoryContext cxt;
	JourneyDict *dict;
	JourneyStep *steps;			/* kind: dictionary pair; pad: scratch */
	uint32		nsteps;
	uint32		maxsteps;
	Size		flat_size;		/* cached, 0 when unknown */
	struct JourneyLayout *layout;	/* computed for the flat size, kept for
									 * flattening; NULL when none */
} JourneyState;

#define JOURNEY_STATE_MAGIC		0x4a524e59	/* "JRNY" */

/* A parsed step pattern: event, channel:event, channel:*, *:event, *. */
typedef struct StepPattern
{
	char	   *channel;		/* NULL: any channel */
	char	   *event;			/* NULL: any event */
} StepPattern;

/* Funnel modes (ClickHouse windowFunnel), parsed from a text[]. */
typedef struct FunnelModes
{
	bool		strict_deduplication;
	bool		strict_order;
	bool		strict_increase;
	bool		strict_once;
	bool		allow_reentry;
} FunnelModes;

/* A funnel event: a row's time and the funnel steps it matches (bit i: step i + 1). */
typedef struct FunnelEvent
{
	int64		ts;
	uint64		mask;
} FunnelEvent;

/* journey.c */
extern void journey_open(Journey *j, JourneyData *data);
extern Journey *journey_from_datum(Datum d);

static inline uint32
journey_kind(const Journey *j, uint32 i)
{
	switch (j->kind_width)
	{
		case 1:
			return j->kind[i];
		case 2:
			return ((const uint16 *) j->kind)[i];
		default:
			return ((const uint32 *) j->kind)[i];
	}
}

static inline const char *
journey_channel_name(const Journey *j, uint32 channel)
{
	return j->names + j->channel_off[channel];
}

static inline const char *
journey_kind_channel(const Journey *j, uint32 kind)
{
	return journey_channel_name(j, j->kind_channel[kind]);
}

static inline const char *
journey_kind_event(const Journey *j, uint32 kind)
{
	if (j->kind_event[kind] == JOURNEY_NO_EVENT)
		return NULL;
	return j->names + j->event_off[j->kind_event[kind]];
}

static inline uint32
journey_step_channel(const Journey *j, uint32 i)
{
	return j->kind_channel[journey_kind(j, i)];
}

/* agg.c: the builder */
extern JourneyState *journey_state_new(MemoryContext cxt, bool own_context,
									   JourneyDict *dict);
extern JourneyDict *journey_dict_for(FunctionCallInfo fcinfo);
extern MemoryContext journey_agg_states_context(FunctionCallInfo fcinfo,
												MemoryContext aggcxt);
extern void journey_state_add(JourneyState *state, TimestampTz ts,
							  const char *channel, int channel_len,
							  const char *event, int event_len);
extern void journey_state_add_journey(JourneyState *state, const Journey *j);
extern JourneyData *journey_state_flatten(JourneyState *state);

/* pattern.c */
extern void journey_parse_step_pattern(const char *text, StepPattern *pattern);
extern void journey_parse_pattern_array(ArrayType *arr, const char *what,
										StepPattern **patterns, int *npatterns);
extern uint64 *journey_match_kinds(const Journey *j, const StepPattern *patterns,
								   int npatterns);
extern bool journey_step_pattern_valid(const char *text, char **message);
extern void *journey_arg_cache_get(FunctionCallInfo fcinfo, int argno,
								   struct varlena *value, int *n);
extern void journey_arg_cache_put(FunctionCallInfo fcinfo, int argno,
								  struct varlena *value, void *parsed, int n);
extern void journey_cached_pattern_array(FunctionCallInfo fcinfo, int argno,
										 const char *what, StepPattern **patterns,
										 int *npatterns);
extern StepPattern *journey_cached_pattern(FunctionCallInfo fcinfo, int argno);
extern void journey_define_settings(void);

/* sequence.c: a parsed sequence pattern and the steps it runs over */
#define SEQUENCE_MAX_ELEMENTS	256 /* most (?N) or . elements in a pattern */

/* One step element and the gap leading to it from the previous element. */
typedef struct SeqElement
{
	int			cond;			/* 0-based condition, or -1 for "." */
	bool		skip;			/* other steps may come in between */
	int64		lo;				/* min time since previous element, usecs */
	int64		hi;				/* max time since previous element, usecs */
} SeqElement;

typedef struct SeqPattern
{
	int			nelems;
	int			maxcond;		/* highest condition referenced, 1-based */
	SeqElement	elems[FLEXIBLE_ARRAY_MEMBER];
} SeqPattern;

/* The relevant steps of a journey (ascending times) and their condition masks. */
typedef struct SeqInput
{
	int			n;
	int64	   *ts;
	uint64	   *mask;
} SeqInput;

extern SeqPattern *journey_sequence_parse(const char *pattern);
extern int32 journey_sequence_run(const SeqPattern *sp, const SeqInput *in,
								  bool count);

/* funnel.c: the funnel walk shared by omni.funnel's function and aggregate */
extern void funnel_parse_modes(ArrayType *arr, FunnelModes *modes);
extern void funnel_sort_events(FunnelEvent *events, int n);
extern int	funnel_level(const FunnelEvent *events, int nevents, int ncond,
						 int64 window, const FunnelModes *modes);

/* path.c, sessions.c: shared helpers */
extern Interval *journey_time_between(TimestampTz from, TimestampTz to);
extern int64 journey_interval_usecs(Interval *iv, const char *what, bool allow_zero);

#endif							/* OMNI_JOURNEY_H */
