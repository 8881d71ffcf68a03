/*-------------------------------------------------------------------------
 *
 * fuzz_trigger_args.c
 *		libFuzzer harness of the arguments of an omni.suppress() trigger
 *		(suppress_parse_trigger_args, src/suppress/trigger.c).  The input is
 *		the arguments separated by NUL bytes (at most 32).
 *
 * The arguments are refused with an error, or map each message field to
 * a non-empty column name: the one an argument gives, or the field's own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "suppress/suppress.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

#define MAX_ARGS 32

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	char	   *args[MAX_ARGS];
	int			nargs = 0;
	const uint8 *p = data;
	const uint8 *end = data + size;

	fuzz_begin();
	while (p <= end && nargs < MAX_ARGS)
	{
		const uint8 *nul = memchr(p, '\0', end - p);
		const uint8 *stop = nul ? nul : end;

		if (!fuzz_is_text(p, stop - p))
		{
			fuzz_end();
			return -1;
		}
		args[nargs++] = fuzz_cstring(p, stop - p);
		p = stop + 1;
	}
	if (size == 0)
		nargs = 0;
	PG_TRY();
	{
		const char *colname[SUPPRESS_OUTBOX_FIELDS];
		bool		explicit[SUPPRESS_OUTBOX_FIELDS];
		int			nexplicit = 0;

		suppress_parse_trigger_args(nargs, args, "fuzz_trigger", "outbox",
									colname, explicit);
		for (int f = 0; f < SUPPRESS_OUTBOX_FIELDS; f++)
		{
			if (colname[f] == NULL || colname[f][0] == '\0')
				fuzz_fail("field %d maps to an empty column name", f);
			nexplicit += explicit[f];
		}
		if (nexplicit != nargs)
			fuzz_fail("%d arguments but %d fields mapped", nargs, nexplicit);
	}
	PG_CATCH();
	{
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
