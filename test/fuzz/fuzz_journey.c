/*-------------------------------------------------------------------------
 *
 * fuzz_journey.c
 *		libFuzzer harness of the text input of omni.journey (journey_in,
 *		src/journey/journey.c, with the builder of src/journey/agg.c and
 *		PostgreSQL's JSON parser): the input is the text literal.
 *
 * A literal is refused with an error, or gives a flat journey that
 * journey_open (the check every reader of a stored value runs) accepts,
 * and that is canonical: rebuilding it from its own steps gives the same
 * bytes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/expandeddatum.h"

#include "journey/journey.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

extern Datum journey_in(PG_FUNCTION_ARGS);

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	if (!fuzz_is_text(data, size))
		return -1;
	fuzz_begin();
	PG_TRY();
	{
		char	   *str = fuzz_cstring(data, size);
		JourneyData *flat;
		JourneyData *again;
		JourneyState *state;
		Journey		j;

		flat = (JourneyData *) DatumGetPointer(DirectFunctionCall1(journey_in,
																   CStringGetDatum(str)));
		journey_open(&j, flat);
		for (uint32 i = 1; i < j.nsteps; i++)
			if (j.ts[i - 1] > j.ts[i])
				fuzz_fail("steps %u and %u are not in time order", i - 1, i);

		state = journey_state_new(CurrentMemoryContext, true, NULL);
		journey_state_add_journey(state, &j);
		again = journey_state_flatten(state);
		DeleteExpandedObject(EOHPGetRWDatum(&state->hdr));
		if (VARSIZE(again) != VARSIZE(flat) || memcmp(again, flat, VARSIZE(flat)) != 0)
			fuzz_fail("the journey is not canonical: rebuilding it changes its bytes");
	}
	PG_CATCH();
	{
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
