/*-------------------------------------------------------------------------
 *
 * sessions.c
 *		Sessionization of a journey: a new session starts when more than
 *		"gap" passed since the previous step (on any channel), as web
 *		analytics count a visit after 30 minutes of inactivity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(journey_sessions);
PG_FUNCTION_INFO_V1(journey_sessionize);

/*
 * An interval argument as microseconds, counting a day as 24 hours and a
 * month as 30 days (as interval comparison does), so results do not depend
 * on the time zone.  "what" names the argument in errors; it must be
 * positive, or zero when allowed.
 */
int64
journey_interval_usecs(Interval *iv, const char *what, bool allow_zero)
{
	int128		usecs;

	usecs = (int128) iv->time +
		((int128) iv->month * DAYS_PER_MONTH + iv->day) * USECS_PER_DAY;
	if (usecs < 0 || (usecs == 0 && !allow_zero))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %s", what, allow_zero ? "zero or positive" : "positive"),
				 errdetail("The value is %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(iv))))));
	if (usecs > PG_INT64_MAX)
		return PG_INT64_MAX;
	return (int64) usecs;
}

/* Whether step i starts a new session (step 0 always does). */
static inline bool
journey_new_session(const Journey *j, uint32 i, int64 gap)
{
	return i == 0 || ((int128) j->ts[i] - j->ts[i - 1]) > gap;
}

/* omni.sessions(j, gap): the number of sessions. */
Datum
journey_sessions(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	int64		gap = journey_interval_usecs(PG_GETARG_INTERVAL_P(1), "session gap", true);
	int32		n = 0;

	for (uint32 i = 0; i < j->nsteps; i++)
		if (journey_new_session(j, i, gap))
			n++;
	PG_RETURN_INT32(n);
}

/*
 * omni.sessionize(j, gap): one row per session: its number from 1, start
 * and end times, number of steps, and distinct channels in order of first
 * appearance.
 */
Datum
journey_sessionize(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	int64		gap = journey_interval_usecs(PG_GETARG_INTERVAL_P(1), "session gap", true);
	int32	   *seen = palloc0(sizeof(int32) * Max(j->nchannels, 1));
	Datum	   *elems = palloc(sizeof(Datum) * Max(j->nchannels, 1));
	int32		session = 0;
	uint32		start = 0;

	InitMaterializedSRF(fcinfo, 0);
	for (uint32 i = 0; i <= j->nsteps; i++)
	{
		if (i < j->nsteps && !journey_new_session(j, i, gap))
			continue;
		if (i > 0)
		{
			/* emit the session [start, i) */
			Datum		values[5];
			bool		nulls[5] = {false, false, false, false, false};
			int			n = 0;

			for (uint32 s = start; s < i; s++)
			{
				uint32		c = journey_step_channel(j, s);

				if (seen[c] == session)
					continue;
				seen[c] = session;
				elems[n++] = CStringGetTextDatum(journey_channel_name(j, c));
			}
			values[0] = Int32GetDatum(session);
			values[1] = TimestampTzGetDatum(j->ts[start]);
			values[2] = TimestampTzGetDatum(j->ts[i - 1]);
			values[3] = Int32GetDatum((int32) (i - start));
			values[4] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
														TYPALIGN_INT));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			CHECK_FOR_INTERRUPTS();
		}
		session++;
		start = i;
	}
	return (Datum) 0;
}
