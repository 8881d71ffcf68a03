/*-------------------------------------------------------------------------
 *
 * quote.c
 *		How error messages of every capability quote a bad value.
 *
 * Kept apart from omnichannel.c (the module's entry point and settings) so
 * that the fuzzing harnesses can link it with the parsers that use it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "omnichannel.h"

/*
 * A value as error messages quote it: whole when short, otherwise its first
 * OMNI_QUOTE_MAX bytes (cut at a character boundary) followed by "...", so
 * that a huge bad value does not make a huge message (and server log line).
 */
char *
omni_clip_value(const char *in, int len)
{
	if (len <= OMNI_QUOTE_MAX)
		return pnstrdup(in, len);
	return psprintf("%s...", pnstrdup(in, pg_mbcliplen(in, len, OMNI_QUOTE_MAX)));
}
