/*-------------------------------------------------------------------------
 *
 * pattern.c
 *		Step patterns, the one grammar shared by funnels, sequences,
 *		attribution and the omni.conversion setting.
 *
 *		event			a step with this event, on any channel
 *		channel:event	a step with this event on this channel
 *		channel:*		any step on this channel
 *		*:event			same as "event"
 *		*  or  *:*		any step
 *
 * A backslash takes the next character literally, so "a\:b" is the event
 * "a:b" and "\*" an event named "*".  Matching is exact (case-sensitive).
 *
 * Patterns are matched once per distinct (channel, event) pair of a journey,
 * not once per step: the result is a bit mask per pair.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "journey/journey.h"

/*
 * Unescape one side of a pattern: "*out" gets the literal text, or NULL
 * when the side is an unescaped "*".  Returns an error message or NULL.
 */
static const char *
journey_pattern_part(const char *start, const char *end, char **out)
{
	StringInfoData buf;

	if (end - start == 1 && *start == '*')
	{
		*out = NULL;
		return NULL;
	}
	initStringInfo(&buf);
	for (const char *p = start; p < end; p++)
	{
		if (*p == '\\')
		{
			if (p + 1 >= end)
				return "it ends with a lone backslash";
			p++;
		}
		appendStringInfoChar(&buf, *p);
	}
	if (buf.len == 0)
		return "a channel or event is empty";
	*out = buf.data;
	return NULL;
}

/* Parse a pattern; on error return a message, on success NULL. */
static const char *
journey_parse_step_pattern_msg(const char *text, StepPattern *pattern)
{
	const char *colon = NULL;
	const char *end = text + strlen(text);
	const char *msg;

	for (const char *p = text; p < end; p++)
	{
		if (*p == '\\')
		{
			p++;
			continue;
		}
		if (*p == ':')
		{
			colon = p;
			break;
		}
	}
	if (colon == NULL)
	{
		pattern->channel = NULL;
		return journey_pattern_part(text, end, &pattern->event);
	}
	msg = journey_pattern_part(text, colon, &pattern->channel);
	if (msg == NULL)
		msg = journey_pattern_part(colon + 1, end, &pattern->event);
	return msg;
}

/* Parse a step pattern, raising an error for a bad one. */
void
journey_parse_step_pattern(const char *text, StepPattern *pattern)
{
	const char *msg = journey_parse_step_pattern_msg(text, pattern);

	if (msg != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid step pattern \"%s\": %s", omni_clip_value(text, strlen(text)), msg),
				 errhint("A step pattern is event, channel:event, channel:* or *:event.")));
}

/* Whether a step pattern is valid; if not, *message says why (palloc'd). */
bool
journey_step_pattern_valid(const char *text, char **message)
{
	StepPattern pattern;
	const char *msg = journey_parse_step_pattern_msg(text, &pattern);

	if (msg != NULL && message != NULL)
		*message = psprintf("invalid step pattern \"%s\": %s", omni_clip_value(text, strlen(text)), msg);
	return msg == NULL;
}

/*
 * Parse a text[] of step patterns ("what" names the argument in errors):
 * one to JOURNEY_MAX_PATTERNS of them, none NULL.
 */
void
journey_parse_pattern_array(ArrayType *arr, const char *what,
							StepPattern **patterns, int *npatterns)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must name at least one step pattern", what)));
	if (n > JOURNEY_MAX_PATTERNS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s names %d step patterns, more than the limit of %d",
						what, n, JOURNEY_MAX_PATTERNS)));
	*patterns = palloc(sizeof(StepPattern) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
		journey_parse_step_pattern(TextDatumGetCString(elems[i]), &(*patterns)[i]);
	}
	*npatterns = n;
}

/*
 * For each (channel, event) pair of a journey, the bit mask of the patterns
 * it matches (bit i: patterns[i]).
 */
uint64 *
journey_match_kinds(const Journey *j, const StepPattern *patterns, int npatterns)
{
	uint64	   *masks = palloc0(sizeof(uint64) * Max(j->nkinds, 1));

	for (uint32 k = 0; k < j->nkinds; k++)
	{
		const char *channel = journey_kind_channel(j, k);
		const char *event = journey_kind_event(j, k);

		for (int i = 0; i < npatterns; i++)
		{
			const StepPattern *p = &patterns[i];

			if (p->channel != NULL && strcmp(p->channel, channel) != 0)
				continue;
			if (p->event != NULL && (event == NULL || strcmp(p->event, event) != 0))
				continue;
			masks[k] |= UINT64CONST(1) << i;
		}
	}
	return masks;
}

/*
 * Per-call-site cache of parsed array arguments: funnels and sequences are
 * typically called once per customer with the same constant steps, so the
 * array is parsed once per query, not once per row.  An entry is keyed by
 * the argument number and the argument's bytes.
 */
typedef struct JourneyArgCacheEntry
{
	int			argno;
	Size		len;
	char	   *bytes;
	void	   *parsed;
	int			n;
} JourneyArgCacheEntry;

#define JOURNEY_ARG_CACHE_SIZE 4

typedef struct JourneyArgCache
{
	JourneyArgCacheEntry entries[JOURNEY_ARG_CACHE_SIZE];
} JourneyArgCache;

/* The cached parse of argument "argno" with these bytes, or NULL. */
void *
journey_arg_cache_get(FunctionCallInfo fcinfo, int argno, struct varlena *value, int *n)
{
	JourneyArgCache *cache = (JourneyArgCache *) fcinfo->flinfo->fn_extra;
	Size		len = VARSIZE_ANY(value);

	if (cache == NULL)
		return NULL;
	for (int i = 0; i < JOURNEY_ARG_CACHE_SIZE; i++)
	{
		JourneyArgCacheEntry *e = &cache->entries[i];

		if (e->bytes != NULL && e->argno == argno && e->len == len &&
			memcmp(e->bytes, value, len) == 0)
		{
			*n = e->n;
			return e->parsed;
		}
	}
	return NULL;
}

/*
 * Remember the parse of argument "argno"; "parsed" must have been allocated
 * in fcinfo->flinfo->fn_mcxt.
 */
void
journey_arg_cache_put(FunctionCallInfo fcinfo, int argno, struct varlena *value,
					  void *parsed, int n)
{
	JourneyArgCache *cache = (JourneyArgCache *) fcinfo->flinfo->fn_extra;
	JourneyArgCacheEntry *e;
	Size		len = VARSIZE_ANY(value);

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(JourneyArgCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	e = &cache->entries[argno % JOURNEY_ARG_CACHE_SIZE];
	if (e->bytes != NULL)
		pfree(e->bytes);
	e->argno = argno;
	e->len = len;
	e->bytes = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len);
	memcpy(e->bytes, value, len);
	e->parsed = parsed;
	e->n = n;
}

/*
 * The step patterns of text[] argument "argno", parsed once per call site.
 */
void
journey_cached_pattern_array(FunctionCallInfo fcinfo, int argno, const char *what,
							 StepPattern **patterns, int *npatterns)
{
	struct varlena *value = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(argno));
	MemoryContext old;

	*patterns = journey_arg_cache_get(fcinfo, argno, value, npatterns);
	if (*patterns != NULL)
		return;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	journey_parse_pattern_array(PG_GETARG_ARRAYTYPE_P(argno), what, patterns, npatterns);
	MemoryContextSwitchTo(old);
	journey_arg_cache_put(fcinfo, argno, value, *patterns, *npatterns);
}

/* The step pattern of text argument "argno", parsed once per call site. */
StepPattern *
journey_cached_pattern(FunctionCallInfo fcinfo, int argno)
{
	struct varlena *value = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(argno));
	StepPattern *pattern;
	MemoryContext old;
	int			n;

	pattern = journey_arg_cache_get(fcinfo, argno, value, &n);
	if (pattern != NULL)
		return pattern;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	pattern = palloc(sizeof(StepPattern));
	journey_parse_step_pattern(text_to_cstring((text *) value), pattern);
	MemoryContextSwitchTo(old);
	journey_arg_cache_put(fcinfo, argno, value, pattern, 1);
	return pattern;
}

/* omni.conversion: the step pattern that counts as a conversion. */
static char *journey_conversion_setting = NULL;

/* GUC check hook: the setting must be a valid step pattern. */
static bool
journey_check_conversion(char **newval, void **extra, GucSource source)
{
	char	   *message = NULL;

	if (*newval == NULL || journey_step_pattern_valid(*newval, &message))
		return true;
	GUC_check_errmsg("%s", message);
	GUC_check_errhint("A step pattern is event, channel:event, channel:* or *:event.");
	return false;
}

/* Define the journey settings; called from _PG_init. */
void
journey_define_settings(void)
{
	DefineCustomStringVariable("omni.conversion",
							   "Step pattern of a conversion in the journey views.",
							   "Used by omni.customer_journey (converted) and omni.channel_attribution; "
							   "for example purchase, store:purchase or web:*.",
							   &journey_conversion_setting,
							   "purchase",
							   PGC_USERSET,
							   0,
							   journey_check_conversion,
							   NULL,
							   NULL);
}

PG_FUNCTION_INFO_V1(journey_conversion);

/* omni.conversion(): the current value of the omni.conversion setting. */
Datum
journey_conversion(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(journey_conversion_setting ? journey_conversion_setting : "purchase"));
}
