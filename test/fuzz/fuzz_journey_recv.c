/*-------------------------------------------------------------------------
 *
 * fuzz_journey_recv.c
 *		libFuzzer harness of the binary input of omni.journey (journey_recv,
 *		src/journey/journey.c: COPY ... BINARY and binary parameters): the
 *		input is the message.
 *
 * A message is refused with an error, or gives a flat journey that
 * journey_open accepts, with its steps in time order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "journey/journey.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

extern Datum journey_recv(PG_FUNCTION_ARGS);

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	if (size > 1024 * 1024)
		return -1;
	fuzz_begin();
	PG_TRY();
	{
		StringInfoData buf;
		JourneyData *flat;
		Journey		j;

		/* as the backend passes a value: a StringInfo, NUL after its end */
		buf.data = fuzz_cstring(data, size);
		buf.len = (int) size;
		buf.maxlen = (int) size + 1;
		buf.cursor = 0;
		flat = (JourneyData *) DatumGetPointer(DirectFunctionCall1(journey_recv,
																   PointerGetDatum(&buf)));
		journey_open(&j, flat);
		for (uint32 i = 1; i < j.nsteps; i++)
			if (j.ts[i - 1] > j.ts[i])
				fuzz_fail("steps %u and %u are not in time order", i - 1, i);
	}
	PG_CATCH();
	{
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
