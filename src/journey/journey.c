/*-------------------------------------------------------------------------
 *
 * journey.c
 *		Input, output, send and receive of the omni.journey type.
 *
 * The text form is a JSON array of steps, readable by any client that knows
 * nothing of the type:
 *
 *		[{"ts": "2026-03-01T09:00:00Z", "channel": "web", "event": "page_view"},
 *		 {"ts": "2026-03-01T09:04:12.5Z", "channel": "email"}]
 *
 * Times are written in UTC, ISO 8601, with a fraction only when needed; a
 * step without an event has no "event" key.  Input accepts any time a
 * timestamptz accepts, steps in any order, "event": null, and white space;
 * it sorts the steps, so text round-trips to the same bytes.
 *
 * The binary form is the journey's dictionary and steps:
 *		uint8 version (1)
 *		int32 nchannels, then each channel: int32 length, bytes
 *		int32 nevents, then each event: int32 length, bytes
 *		int32 npairs, then each pair: int32 channel, int32 event (-1: none)
 *		int32 nsteps, then each step: int64 ts (microseconds since
 *			2000-01-01 UTC), int32 pair
 * Received values are checked and rebuilt, so a bad message is an error,
 * never a bad value.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"

#include "journey/journey.h"

PG_FUNCTION_INFO_V1(journey_in);
PG_FUNCTION_INFO_V1(journey_out);
PG_FUNCTION_INFO_V1(journey_recv);
PG_FUNCTION_INFO_V1(journey_send);

/*
 * Decode a flat journey into a Journey view, checking that its counts and
 * dictionary agree with its size, so that a damaged value is an error
 * rather than a read outside it.
 */
void
journey_open(Journey *j, JourneyData *data)
{
	Size		size = VARSIZE(data);
	Size		need;
	char	   *p;
	Size		names_size;

	if (size < sizeof(JourneyData) || data->version != JOURNEY_VERSION ||
		(data->kind_width != 1 && data->kind_width != 2 && data->kind_width != 4))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.journey value")));
	j->nsteps = data->nsteps;
	j->nkinds = data->nkinds;
	j->nchannels = data->nchannels;
	j->nevents = data->nevents;
	j->kind_width = data->kind_width;

	need = sizeof(JourneyData) + (sizeof(int64) + j->kind_width) * (Size) j->nsteps;
	need = TYPEALIGN(4, need);
	need += sizeof(uint32) * (2 * (Size) j->nkinds + j->nchannels + 1 + j->nevents + 1);
	if (j->nsteps > JOURNEY_MAX_STEPS || j->nkinds > JOURNEY_MAX_STEPS ||
		j->nchannels > j->nkinds || j->nevents > j->nkinds || need > size)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.journey value")));

	p = (char *) data + sizeof(JourneyData);
	j->ts = (const int64 *) p;
	p += sizeof(int64) * (Size) j->nsteps;
	j->kind = (const uint8 *) p;
	p += (Size) j->kind_width * j->nsteps;
	p = (char *) TYPEALIGN(4, p);
	j->kind_channel = (const uint32 *) p;
	j->kind_event = j->kind_channel + j->nkinds;
	j->channel_off = j->kind_event + j->nkinds;
	j->event_off = j->channel_off + j->nchannels + 1;
	j->names = (const char *) (j->event_off + j->nevents + 1);

	/* the names must lie inside the value and be NUL-terminated */
	names_size = size - need;
	if (j->event_off[j->nevents] != names_size ||
		(names_size > 0 && j->names[names_size - 1] != '\0'))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid omni.journey value")));
	for (uint32 c = 0; c <= j->nchannels; c++)
		if (j->channel_off[c] > names_size)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid omni.journey value")));
	for (uint32 e = 0; e <= j->nevents; e++)
		if (j->event_off[e] > names_size)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid omni.journey value")));
	for (uint32 k = 0; k < j->nkinds; k++)
		if (j->kind_channel[k] >= j->nchannels ||
			(j->kind_event[k] != JOURNEY_NO_EVENT && j->kind_event[k] >= j->nevents))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("invalid omni.journey value")));
}

/* A decoded journey from a datum (detoasted, or flattened if expanded). */
Journey *
journey_from_datum(Datum d)
{
	Journey    *j = palloc(sizeof(Journey));

	journey_open(j, (JourneyData *) PG_DETOAST_DATUM(d));
	return j;
}

/*
 * Write a step time as ISO 8601 in UTC ("2026-03-01T09:00:00.25Z"); years
 * outside 1..9999 fall back to PostgreSQL's ISO style, which input also
 * reads.
 */
static void
journey_append_ts(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	if (tm.tm_year >= 1 && tm.tm_year <= 9999)
	{
		appendStringInfo(buf, "%04d-%02d-%02dT%02d:%02d:%02d",
						 tm.tm_year, tm.tm_mon, tm.tm_mday,
						 tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (fsec != 0)
		{
			char		frac[8];
			int			len;

			snprintf(frac, sizeof(frac), "%06d", (int) fsec);
			len = 6;
			while (len > 0 && frac[len - 1] == '0')
				len--;
			frac[len] = '\0';
			appendStringInfo(buf, ".%s", frac);
		}
		appendStringInfoChar(buf, 'Z');
	}
	else
	{
		char		tmp[MAXDATELEN + 1];

		tm.tm_isdst = 0;		/* print the zone (+00) */
		EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, tmp);
		appendStringInfoString(buf, tmp);
	}
}

/* omni.journey_out: the JSON text form. */
Datum
journey_out(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		uint32		k = journey_kind(j, i);
		const char *event = journey_kind_event(j, k);

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"ts\": \"");
		journey_append_ts(&buf, j->ts[i]);
		appendStringInfoString(&buf, "\", \"channel\": ");
		escape_json(&buf, journey_kind_channel(j, k));
		if (event != NULL)
		{
			appendStringInfoString(&buf, ", \"event\": ");
			escape_json(&buf, event);
		}
		appendStringInfoChar(&buf, '}');
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_CSTRING(buf.data);
}

/* Parser state of journey_in. */
typedef enum JourneyField
{
	JF_NONE,
	JF_TS,
	JF_CHANNEL,
	JF_EVENT
} JourneyField;

typedef struct JourneyParse
{
	const char *input;
	JourneyState *state;
	int			depth;
	JourneyField field;
	bool		has_ts;
	bool		has_channel;
	bool		has_event;
	TimestampTz ts;
	char	   *channel;
	char	   *event;
	uint32		nsteps;
} JourneyParse;

static void
journey_syntax_error(JourneyParse *p, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type omni.journey: \"%s\"", p->input),
			 errdetail("%s", detail),
			 errhint("A journey is a JSON array of steps such as [{\"ts\": \"2026-03-01T09:00:00Z\", \"channel\": \"web\", \"event\": \"page_view\"}].")));
}

static void
journey_parse_array_start(void *arg)
{
	JourneyParse *p = arg;

	if (p->depth == 1)
		journey_syntax_error(p, "A step must be a JSON object.");
	if (p->depth > 1)
		journey_syntax_error(p, "Step fields must be strings (\"event\" may be null).");
	p->depth++;
}

static void
journey_parse_array_end(void *arg)
{
	((JourneyParse *) arg)->depth--;
}

static void
journey_parse_object_start(void *arg)
{
	JourneyParse *p = arg;

	if (p->depth == 0)
		journey_syntax_error(p, "A journey must be a JSON array.");
	if (p->depth != 1)
		journey_syntax_error(p, "Step fields must be strings (\"event\" may be null).");
	p->depth++;
	p->has_ts = p->has_channel = p->has_event = false;
	p->channel = p->event = NULL;
}

static void
journey_parse_object_end(void *arg)
{
	JourneyParse *p = arg;
	char		detail[64];

	p->depth--;
	p->nsteps++;
	if (!p->has_ts || !p->has_channel)
	{
		snprintf(detail, sizeof(detail), "Step %u lacks \"%s\".",
				 p->nsteps, p->has_ts ? "channel" : "ts");
		journey_syntax_error(p, detail);
	}
	journey_state_add(p->state, p->ts, p->channel, strlen(p->channel),
					  p->event, p->event ? strlen(p->event) : 0);
}

static void
journey_parse_field_start(void *arg, char *fname, bool isnull)
{
	JourneyParse *p = arg;
	bool		dup = false;

	if (strcmp(fname, "ts") == 0)
	{
		p->field = JF_TS;
		dup = p->has_ts;
	}
	else if (strcmp(fname, "channel") == 0)
	{
		p->field = JF_CHANNEL;
		dup = p->has_channel;
	}
	else if (strcmp(fname, "event") == 0)
	{
		p->field = JF_EVENT;
		dup = p->has_event;
	}
	else
		journey_syntax_error(p, psprintf("Unknown step field \"%s\" (known: ts, channel, event).", fname));
	if (dup)
		journey_syntax_error(p, psprintf("Step field \"%s\" appears twice.", fname));
}

static void
journey_parse_scalar(void *arg, char *token, JsonTokenType tokentype)
{
	JourneyParse *p = arg;

	if (p->depth == 0)
		journey_syntax_error(p, "A journey must be a JSON array.");
	if (p->depth == 1)
		journey_syntax_error(p, "A step must be a JSON object.");
	switch (p->field)
	{
		case JF_TS:
			if (tokentype != JSON_TOKEN_STRING)
				journey_syntax_error(p, "Step field \"ts\" must be a string.");
			p->ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
															CStringGetDatum(token),
															ObjectIdGetDatum(InvalidOid),
															Int32GetDatum(-1)));
			p->has_ts = true;
			break;
		case JF_CHANNEL:
			if (tokentype != JSON_TOKEN_STRING)
				journey_syntax_error(p, "Step field \"channel\" must be a string.");
			p->channel = token;
			p->has_channel = true;
			break;
		case JF_EVENT:
			if (tokentype == JSON_TOKEN_NULL)
				p->event = NULL;
			else if (tokentype == JSON_TOKEN_STRING)
				p->event = token;
			else
				journey_syntax_error(p, "Step field \"event\" must be a string or null.");
			p->has_event = true;
			break;
		case JF_NONE:
			journey_syntax_error(p, "Unexpected value.");
	}
	p->field = JF_NONE;
}

/* omni.journey_in: parse the JSON text form. */
Datum
journey_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	JourneyParse parse;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType err;
	JourneyData *result;

	memset(&parse, 0, sizeof(parse));
	parse.input = str;
	parse.state = journey_state_new(CurrentMemoryContext, true, NULL);
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &parse;
	sem.array_start = journey_parse_array_start;
	sem.array_end = journey_parse_array_end;
	sem.object_start = journey_parse_object_start;
	sem.object_end = journey_parse_object_end;
	sem.object_field_start = journey_parse_field_start;
	sem.scalar = journey_parse_scalar;

	lex = makeJsonLexContextCstringLen(str, strlen(str), GetDatabaseEncoding(), true);
	err = pg_parse_json(lex, &sem);
	if (err != JSON_SUCCESS)
		journey_syntax_error(&parse, json_errdetail(err, lex));

	result = journey_state_flatten(parse.state);
	DeleteExpandedObject(EOHPGetRWDatum(&parse.state->hdr));
	PG_RETURN_POINTER(result);
}

/* omni.journey_send: the binary form (see the file header). */
Datum
journey_send(PG_FUNCTION_ARGS)
{
	Journey    *j = journey_from_datum(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, JOURNEY_VERSION);
	pq_sendint32(&buf, j->nchannels);
	for (uint32 c = 0; c < j->nchannels; c++)
	{
		const char *name = journey_channel_name(j, c);
		int			len = strlen(name);

		pq_sendint32(&buf, len);
		pq_sendbytes(&buf, name, len);
	}
	pq_sendint32(&buf, j->nevents);
	for (uint32 e = 0; e < j->nevents; e++)
	{
		const char *name = j->names + j->event_off[e];
		int			len = strlen(name);

		pq_sendint32(&buf, len);
		pq_sendbytes(&buf, name, len);
	}
	pq_sendint32(&buf, j->nkinds);
	for (uint32 k = 0; k < j->nkinds; k++)
	{
		pq_sendint32(&buf, j->kind_channel[k]);
		pq_sendint32(&buf, j->kind_event[k] == JOURNEY_NO_EVENT ? -1 : (int32) j->kind_event[k]);
	}
	pq_sendint32(&buf, j->nsteps);
	for (uint32 i = 0; i < j->nsteps; i++)
	{
		pq_sendint64(&buf, j->ts[i]);
		pq_sendint32(&buf, journey_kind(j, i));
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Read a count of the binary form, checking it against the bytes left. */
static uint32
journey_recv_count(StringInfo buf, int min_bytes_each, const char *what)
{
	int32		n = pq_getmsgint(buf, 4);

	if (n < 0 || (int64) n * min_bytes_each > buf->len - buf->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary omni.journey: bad %s count %d", what, n)));
	return (uint32) n;
}

/* Read the names of the binary form into NUL-terminated strings. */
static char **
journey_recv_names(StringInfo buf, uint32 n, const char *what)
{
	char	  **names = palloc(sizeof(char *) * Max(n, 1));

	for (uint32 i = 0; i < n; i++)
	{
		int32		len = pq_getmsgint(buf, 4);

		if (len <= 0 || len > buf->len - buf->cursor)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary omni.journey: bad %s name length %d", what, len)));
		names[i] = pnstrdup(pq_getmsgbytes(buf, len), len);
		if ((int32) strlen(names[i]) != len)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary omni.journey: %s name contains a zero byte", what)));
		pg_verifymbstr(names[i], len, false);
	}
	return names;
}

/* omni.journey_recv: read and check the binary form, rebuild the journey. */
Datum
journey_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	JourneyState *state;
	JourneyData *result;
	uint32		nchannels,
				nevents,
				nkinds,
				nsteps;
	char	  **channels;
	char	  **events;
	int32	   *kch;
	int32	   *kev;
	int			version = pq_getmsgbyte(buf);

	if (version != JOURNEY_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary omni.journey: unknown version %d", version)));
	nchannels = journey_recv_count(buf, 5, "channel");
	channels = journey_recv_names(buf, nchannels, "channel");
	nevents = journey_recv_count(buf, 5, "event");
	events = journey_recv_names(buf, nevents, "event");
	nkinds = journey_recv_count(buf, 8, "pair");
	kch = palloc(sizeof(int32) * Max(nkinds, 1));
	kev = palloc(sizeof(int32) * Max(nkinds, 1));
	for (uint32 k = 0; k < nkinds; k++)
	{
		kch[k] = pq_getmsgint(buf, 4);
		kev[k] = pq_getmsgint(buf, 4);
		if (kch[k] < 0 || (uint32) kch[k] >= nchannels ||
			kev[k] < -1 || (kev[k] >= 0 && (uint32) kev[k] >= nevents))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary omni.journey: pair %u names a missing channel or event", k)));
	}
	nsteps = journey_recv_count(buf, 12, "step");
	if (nsteps > JOURNEY_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("journey exceeds the limit of %d steps", JOURNEY_MAX_STEPS)));

	state = journey_state_new(CurrentMemoryContext, true, NULL);
	for (uint32 i = 0; i < nsteps; i++)
	{
		int64		ts = pq_getmsgint64(buf);
		int32		k = pq_getmsgint(buf, 4);
		const char *ev;

		if (k < 0 || (uint32) k >= nkinds)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary omni.journey: step %u names missing pair %d", i, k)));
		if (!IS_VALID_TIMESTAMP(ts))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		ev = kev[k] < 0 ? NULL : events[kev[k]];
		journey_state_add(state, ts, channels[kch[k]], strlen(channels[kch[k]]),
						  ev, ev ? strlen(ev) : 0);
	}
	pq_getmsgend(buf);
	result = journey_state_flatten(state);
	DeleteExpandedObject(EOHPGetRWDatum(&state->hdr));
	PG_RETURN_POINTER(result);
}
