/*-------------------------------------------------------------------------
 *
 * fuzz_step_pattern.c
 *		libFuzzer harness of step patterns (src/journey/pattern.c: the
 *		steps of omni.funnel, the conditions of the sequence functions, the
 *		omni.conversion setting): the input is the pattern text.
 *
 * journey_parse_step_pattern raises for exactly the patterns that
 * journey_step_pattern_valid (the check hook of omni.conversion) refuses.
 * A parsed pattern has non-empty sides, and escaping them again gives a
 * pattern that parses to the same sides.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "journey/journey.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* Write one side of a pattern with its specials escaped. */
static void
append_escaped(StringInfo buf, const char *side)
{
	if (side == NULL)
	{
		appendStringInfoChar(buf, '*');
		return;
	}
	if (strcmp(side, "*") == 0)
	{
		appendStringInfoString(buf, "\\*");
		return;
	}
	for (const char *p = side; *p; p++)
	{
		if (*p == '\\' || *p == ':')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
}

static bool
same_side(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	volatile bool expect_error = false;

	if (!fuzz_is_text(data, size))
		return -1;
	fuzz_begin();
	PG_TRY();
	{
		char	   *text = fuzz_cstring(data, size);
		char	   *message = NULL;
		bool		valid = journey_step_pattern_valid(text, &message);
		StepPattern pattern;
		StepPattern reparsed;
		StringInfoData buf;

		if (!valid && (message == NULL || !fuzz_is_text((const uint8 *) message, strlen(message))))
			fuzz_fail("invalid pattern without a valid message");
		expect_error = !valid;
		journey_parse_step_pattern(text, &pattern);
		if (!valid)
			fuzz_fail("pattern \"%s\" parsed but was found invalid", text);
		if ((pattern.channel != NULL && pattern.channel[0] == '\0') ||
			(pattern.event != NULL && pattern.event[0] == '\0'))
			fuzz_fail("pattern \"%s\" has an empty side", text);

		initStringInfo(&buf);
		append_escaped(&buf, pattern.channel);
		appendStringInfoChar(&buf, ':');
		append_escaped(&buf, pattern.event);
		journey_parse_step_pattern(buf.data, &reparsed);
		if (!same_side(pattern.channel, reparsed.channel) ||
			!same_side(pattern.event, reparsed.event))
			fuzz_fail("pattern \"%s\" escaped as \"%s\" parses differently", text, buf.data);
	}
	PG_CATCH();
	{
		if (!expect_error)
			fuzz_fail("a valid pattern raised: %s", fuzz_error()->message);
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
