/*-------------------------------------------------------------------------
 *
 * path.c
 *		Reading a journey back: its path, steps, channel transitions,
 *		length, channels, first and last touch, and duration.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(journey_path);
PG_FUNCTION_INFO_V1(journey_steps);
PG_FUNCTION_INFO_V1(journey_transitions);
PG_FUNCTION_INFO_V1(journey_length);
PG_FUNCTION_INFO_V1(journey_channels);
PG_FUNCTION_INFO_V1(journey_first_touch);
PG_FUNCTION_INFO_V1(journey_last_touch);
PG_FUNCTION_INFO_V1(journey_duration);

/*
 * The interval from one step time to a later one, in microseconds only (no
 * days or months), so that it is exact whatever the time zone.
 */
Interval *
journey_time_between(TimestampTz from, TimestampTz to)
{
	Interval   *iv = palloc0(sizeof(Interval));

	if (pg_sub_s64_overflow(to, from, &iv->time))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interval out of range")));
	return iv;
}

/*
 * omni.path(j, collapse_repeats): the channels in time order joined by
 * " > "; consecutive steps on one channel count once when collapsing.
 */
Datum
journey_path(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	bool		collapse = PG_GETARG_BOOL(1);
	StringInfoData buf;
	uint32		prev = PG_UINT32_MAX;

	initStringInfo(&buf);
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		uint32		c = journey_step_channel(j, i);

		if (collapse && c == prev)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, " > ");
		appendStringInfoString(&buf, journey_channel_name(j, c));
		prev = c;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/*
 * omni.steps(j): one row per step (step number from 1, time, channel,
 * event, time since the previous step).
 */
Datum
journey_steps(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));

	InitMaterializedSRF(fcinfo, 0);
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		uint32		k = journey_kind(j, i);
		const char *event = journey_kind_event(j, k);

		values[0] = Int32GetDatum((int32) i + 1);
		values[1] = TimestampTzGetDatum(j->ts[i]);
		values[2] = CStringGetTextDatum(journey_kind_channel(j, k));
		if (event != NULL)
			values[3] = CStringGetTextDatum(event);
		else
			nulls[3] = true;
		if (i == 0)
			nulls[4] = true;
		else
		{
			values[4] = IntervalPGetDatum(journey_time_between(j->ts[i - 1], j->ts[i]));
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if ((i & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return (Datum) 0;
}

static int
journey_uint64_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * omni.transitions(j): how often the journey moved from one channel to
 * another, between consecutive steps on different channels, ordered by
 * (from_channel, to_channel).  The moves are sorted and counted, so memory
 * follows the number of steps, not the square of the number of channels.
 */
Datum
journey_transitions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	uint64	   *moves;
	uint32		n = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (j->nsteps < 2)
		return (Datum) 0;
	moves = palloc(sizeof(uint64) * (j->nsteps - 1));
	for (uint32 i = 1; i < j->nsteps; i++)
	{
		uint32		from = journey_step_channel(j, i - 1);
		uint32		to = journey_step_channel(j, i);

		if (from != to)
			moves[n++] = ((uint64) from << 32) | to;
	}
	/* channels are numbered in name order, so this is the output order */
	qsort(moves, n, sizeof(uint64), journey_uint64_cmp);
	for (uint32 i = 0; i < n;)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		uint32		next = i + 1;

		while (next < n && moves[next] == moves[i])
			next++;
		values[0] = CStringGetTextDatum(journey_channel_name(j, (uint32) (moves[i] >> 32)));
		values[1] = CStringGetTextDatum(journey_channel_name(j, (uint32) moves[i]));
		values[2] = Int32GetDatum((int32) (next - i));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		i = next;
		CHECK_FOR_INTERRUPTS();
	}
	return (Datum) 0;
}

/* omni.length(j): the number of steps. */
Datum
journey_length(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));

	PG_RETURN_INT32((int32) j->nsteps);
}

/* omni.channels(j): the distinct channels in order of first appearance. */
Datum
journey_channels(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	bool	   *seen = palloc0(sizeof(bool) * Max(j->nchannels, 1));
	Datum	   *elems = palloc(sizeof(Datum) * Max(j->nchannels, 1));
	int			n = 0;

	for (uint32 i = 0; i < j->nsteps && (uint32) n < j->nchannels; i++)
	{
		uint32		c = journey_step_channel(j, i);

		if (seen[c])
			continue;
		seen[c] = true;
		elems[n++] = CStringGetTextDatum(journey_channel_name(j, c));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* omni.first_touch(j): the channel of the first step (NULL when empty). */
Datum
journey_first_touch(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));

	if (j->nsteps == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(journey_channel_name(j, journey_step_channel(j, 0))));
}

/* omni.last_touch(j): the channel of the last step (NULL when empty). */
Datum
journey_last_touch(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));

	if (j->nsteps == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(journey_channel_name(j, journey_step_channel(j, j->nsteps - 1))));
}

/* omni.duration(j): last step time minus first (NULL when empty). */
Datum
journey_duration(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));

	if (j->nsteps == 0)
		PG_RETURN_NULL();
	PG_RETURN_INTERVAL_P(journey_time_between(j->ts[0], j->ts[j->nsteps - 1]));
}
