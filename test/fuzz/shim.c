/*-------------------------------------------------------------------------
 *
 * shim.c
 *		The few pieces of the PostgreSQL backend that the parsers under test
 *		call, for running them in a libFuzzer process instead of a server.
 *
 * The harnesses link the project's own object code (src/, compiled with
 * the sanitizers) with this file, PostgreSQL's libpgcommon and libpgport
 * (the JSON parser, StringInfo, psprintf, hash_bytes, qsort, snprintf, as
 * shipped by postgresql-server-dev-15) and ICU.  What this file replaces,
 * and how faithfully:
 *
 *	memory contexts		palloc and friends allocate each chunk with malloc
 *						(so AddressSanitizer sees every chunk's bounds),
 *						preceded by the owning context as in PostgreSQL
 *						(GetMemoryChunkContext works); deleting a context
 *						frees its chunks and children and runs its reset
 *						callbacks.  fuzz_end() deletes the per-input context,
 *						as the executor resets a per-tuple context; requests
 *						over MaxAllocSize fail as in PostgreSQL.
 *	ereport / elog		errstart..errfinish record the error; ERROR and
 *						above longjmp to the innermost PG_TRY, as in the
 *						backend; FATAL and PANIC abort.  Lower levels are
 *						dropped.  No translation.
 *	encodings			the database encoding is UTF-8: conversions to and
 *						from the server encoding are the identity, as in a
 *						UTF-8 database; pg_mbcliplen as mbutils.c computes it
 *						for UTF-8.  Harnesses only pass valid UTF-8 text
 *						without NUL bytes (fuzz_is_text), as the text type
 *						guarantees.
 *	interrupts			CHECK_FOR_INTERRUPTS never finds one pending.
 *	expanded objects	EOH_init_header, DatumGetEOHP and DeleteExpandedObject,
 *						as in PostgreSQL's expandeddatum.c.
 *	fmgr				DirectFunctionCall1Coll/3Coll call the function with
 *						a zeroed FunctionCallInfo, as fmgr.c does.
 *	pq_getmsg*			reading a binary value (libpq/pqformat.c), and
 *	pg_verifymbstr		its check of text, as PostgreSQL does them.
 *	json_errdetail		the backend half of PostgreSQL's JSON parser (the
 *						frontend libpgcommon lacks it): PostgreSQL 15's
 *						messages, quoting the offending token as it does.
 *	timestamptz_in		PostgreSQL's date/time parser is not linked: this one
 *						reads ISO 8601 ("2026-03-01T09:00:00.25Z", a date
 *						alone, a "+02", "-0530" or "Z" zone, UTC otherwise)
 *						and "infinity"/"-infinity", with PostgreSQL's error
 *						messages and SQLSTATEs.  The journey parser only sees
 *						the resulting int64, so what it exercises is the
 *						same; the full date/time grammar is PostgreSQL's and
 *						not under test here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "port/pg_bswap.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "common/jsonapi.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "shim.h"

/* ---------- memory contexts ---------- */

/*
 * A chunk: its links in the owning context's list, its size, and the owning
 * context immediately before the data, where GetMemoryChunkContext looks.
 */
typedef struct ShimChunk
{
	struct ShimChunk *prev;
	struct ShimChunk *next;
	Size		size;
	MemoryContext context;
} ShimChunk;

typedef struct ShimContext
{
	MemoryContextData hdr;
	ShimChunk	chunks;			/* circular list head */
} ShimContext;

StaticAssertDecl(sizeof(ShimChunk) % MAXIMUM_ALIGNOF == 0,
				 "chunk headers must keep the data MAXALIGNed");

MemoryContext CurrentMemoryContext = NULL;
MemoryContext TopMemoryContext = NULL;
MemoryContext ErrorContext = NULL;

static MemoryContext fuzz_context = NULL;

static MemoryContext
shim_context_create(MemoryContext parent, const char *name)
{
	ShimContext *c = calloc(1, sizeof(ShimContext));

	if (c == NULL)
		abort();
	c->hdr.type = T_AllocSetContext;
	c->hdr.isReset = true;
	c->hdr.parent = parent;
	c->hdr.name = name;
	c->chunks.prev = c->chunks.next = &c->chunks;
	if (parent != NULL)
	{
		c->hdr.nextchild = parent->firstchild;
		if (parent->firstchild != NULL)
			parent->firstchild->prevchild = &c->hdr;
		parent->firstchild = &c->hdr;
	}
	return &c->hdr;
}

MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name,
							  Size minContextSize, Size initBlockSize,
							  Size maxBlockSize)
{
	return shim_context_create(parent, name);
}

static void
shim_context_free_chunks(MemoryContext context)
{
	ShimContext *c = (ShimContext *) context;
	ShimChunk  *ch = c->chunks.next;

	while (ch != &c->chunks)
	{
		ShimChunk  *next = ch->next;

		free(ch);
		ch = next;
	}
	c->chunks.prev = c->chunks.next = &c->chunks;
	context->isReset = true;
}

static void
shim_context_callbacks(MemoryContext context)
{
	MemoryContextCallback *cb;

	while ((cb = context->reset_cbs) != NULL)
	{
		context->reset_cbs = cb->next;
		cb->func(cb->arg);
	}
}

void
MemoryContextDelete(MemoryContext context)
{
	while (context->firstchild != NULL)
		MemoryContextDelete(context->firstchild);
	shim_context_callbacks(context);
	shim_context_free_chunks(context);
	if (context->parent != NULL)
	{
		if (context->prevchild != NULL)
			context->prevchild->nextchild = context->nextchild;
		else
			context->parent->firstchild = context->nextchild;
		if (context->nextchild != NULL)
			context->nextchild->prevchild = context->prevchild;
	}
	if (CurrentMemoryContext == context)
		CurrentMemoryContext = context->parent;
	free(context);
}

void
MemoryContextReset(MemoryContext context)
{
	while (context->firstchild != NULL)
		MemoryContextDelete(context->firstchild);
	shim_context_callbacks(context);
	shim_context_free_chunks(context);
}

void
MemoryContextRegisterResetCallback(MemoryContext context,
								   MemoryContextCallback *cb)
{
	cb->next = context->reset_cbs;
	context->reset_cbs = cb;
	context->isReset = false;
}

static void *
shim_alloc(MemoryContext context, Size size, bool zero, bool huge)
{
	ShimContext *c = (ShimContext *) context;
	ShimChunk  *ch;

	if (!(huge ? AllocHugeSizeIsValid(size) : AllocSizeIsValid(size)))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	ch = malloc(sizeof(ShimChunk) + size);
	if (ch == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (zero)
		memset(ch + 1, 0, size);
	ch->size = size;
	ch->context = context;
	ch->next = c->chunks.next;
	ch->prev = &c->chunks;
	c->chunks.next->prev = ch;
	c->chunks.next = ch;
	context->isReset = false;
	return ch + 1;
}

static ShimChunk *
shim_chunk(void *pointer)
{
	return ((ShimChunk *) pointer) - 1;
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return shim_alloc(context, size, false, false);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return shim_alloc(context, size, true, false);
}

void *
MemoryContextAllocHuge(MemoryContext context, Size size)
{
	return shim_alloc(context, size, false, true);
}

void *
palloc(Size size)
{
	return shim_alloc(CurrentMemoryContext, size, false, false);
}

void *
palloc0(Size size)
{
	return shim_alloc(CurrentMemoryContext, size, true, false);
}

void *
palloc_extended(Size size, int flags)
{
	return shim_alloc(CurrentMemoryContext, size, (flags & MCXT_ALLOC_ZERO) != 0,
					  (flags & MCXT_ALLOC_HUGE) != 0);
}

void
pfree(void *pointer)
{
	ShimChunk  *ch = shim_chunk(pointer);

	ch->prev->next = ch->next;
	ch->next->prev = ch->prev;
	free(ch);
}

static void *
shim_realloc(void *pointer, Size size, bool huge)
{
	ShimChunk  *old = shim_chunk(pointer);
	void	   *p = shim_alloc(old->context, size, false, huge);

	memcpy(p, pointer, Min(size, old->size));
	pfree(pointer);
	return p;
}

void *
repalloc(void *pointer, Size size)
{
	return shim_realloc(pointer, size, false);
}

void *
repalloc_huge(void *pointer, Size size)
{
	return shim_realloc(pointer, size, true);
}

char *
MemoryContextStrdup(MemoryContext context, const char *string)
{
	Size		len = strlen(string) + 1;
	char	   *p = MemoryContextAlloc(context, len);

	memcpy(p, string, len);
	return p;
}

char *
pstrdup(const char *in)
{
	return MemoryContextStrdup(CurrentMemoryContext, in);
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

/* ---------- errors ---------- */

sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;

static FuzzError cur_error;
static bool in_error = false;

/*
 * Format a message the way elog.c's EVALUATE_MESSAGE does, untranslated,
 * into the per-input context (it lives until fuzz_end).
 */
#define SHIM_FORMAT(dest, fmt) \
	do { \
		StringInfoData buf; \
		MemoryContext old = MemoryContextSwitchTo(fuzz_context ? fuzz_context : TopMemoryContext); \
		initStringInfo(&buf); \
		for (;;) \
		{ \
			va_list		args; \
			int			needed; \
			va_start(args, fmt); \
			needed = appendStringInfoVA(&buf, fmt, args); \
			va_end(args); \
			if (needed == 0) \
				break; \
			enlargeStringInfo(&buf, needed); \
		} \
		(dest) = buf.data; \
		MemoryContextSwitchTo(old); \
	} while (0)

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;
	if (in_error)
		fuzz_fail("error raised while reporting an error");
	in_error = true;
	memset(&cur_error, 0, sizeof(cur_error));
	cur_error.elevel = elevel;
	cur_error.sqlerrcode = ERRCODE_INTERNAL_ERROR;
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	cur_error.filename = filename;
	cur_error.lineno = lineno;
	cur_error.funcname = funcname;
	in_error = false;
	if (cur_error.elevel >= FATAL)
		fuzz_fail("FATAL or PANIC raised");
	if (PG_exception_stack == NULL)
		fuzz_fail("ERROR raised outside PG_TRY");
	siglongjmp(*PG_exception_stack, 1);
}

int
errcode(int sqlerrcode)
{
	cur_error.sqlerrcode = sqlerrcode;
	return 0;
}

int
errmsg(const char *fmt,...)
{
	SHIM_FORMAT(cur_error.message, fmt);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	SHIM_FORMAT(cur_error.message, fmt);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	SHIM_FORMAT(cur_error.detail, fmt);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	SHIM_FORMAT(cur_error.detail, fmt);
	return 0;
}

int
errhint(const char *fmt,...)
{
	SHIM_FORMAT(cur_error.hint, fmt);
	return 0;
}

const FuzzError *
fuzz_error(void)
{
	return &cur_error;
}

/* Report a finding and abort, so that libFuzzer saves the input. */
void
fuzz_fail(const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	fprintf(stderr, "fuzz finding: ");
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
	va_end(args);
	abort();
}

static bool
shim_valid_utf8(const char *s)
{
	return s == NULL || pg_encoding_verifymbstr(PG_UTF8, s, strlen(s)) == (int) strlen(s);
}

/*
 * Called in PG_CATCH: the error must be one a user may see for bad input.
 */
void
fuzz_check_error(void)
{
	const FuzzError *e = &cur_error;
	char		state[6];
	int			code = e->sqlerrcode;

	for (int i = 0; i < 5; i++)
	{
		state[i] = PGUNSIXBIT(code);
		code >>= 6;
	}
	state[5] = '\0';
	if (e->sqlerrcode == ERRCODE_INTERNAL_ERROR ||
		e->sqlerrcode == ERRCODE_DATA_CORRUPTED ||
		e->message == NULL || e->message[0] == '\0' ||
		!shim_valid_utf8(e->message) || !shim_valid_utf8(e->detail) ||
		!shim_valid_utf8(e->hint))
		fuzz_fail("unexpected error %s at %s:%d (%s): %s",
				  state, e->filename ? e->filename : "?", e->lineno,
				  e->funcname ? e->funcname : "?",
				  e->message ? e->message : "(no message)");
}

/* ---------- per-input setup ---------- */

void
fuzz_begin(void)
{
	if (TopMemoryContext == NULL)
	{
		TopMemoryContext = shim_context_create(NULL, "TopMemoryContext");
		ErrorContext = shim_context_create(TopMemoryContext, "ErrorContext");
	}
	fuzz_context = shim_context_create(TopMemoryContext, "fuzz input");
	CurrentMemoryContext = fuzz_context;
	in_error = false;
	memset(&cur_error, 0, sizeof(cur_error));
}

void
fuzz_end(void)
{
	MemoryContextDelete(fuzz_context);
	fuzz_context = NULL;
	CurrentMemoryContext = TopMemoryContext;
}

/* Whether the bytes could be the value of a text datum: UTF-8, no NUL. */
bool
fuzz_is_text(const uint8 *data, size_t size)
{
	return size < MaxAllocSize &&
		pg_encoding_verifymbstr(PG_UTF8, (const char *) data, (int) size) == (int) size;
}

/* A NUL-terminated, palloc'd copy. */
char *
fuzz_cstring(const uint8 *data, size_t size)
{
	char	   *s = palloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* ---------- encodings: a UTF-8 database ---------- */

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

char *
pg_server_to_any(const char *s, int len, int encoding)
{
	return unconstify(char *, s);
}

char *
pg_any_to_server(const char *s, int len, int encoding)
{
	return unconstify(char *, s);
}

/* As mbutils.c for UTF-8: the longest prefix of at most limit bytes. */
int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			clen = 0;

	while (len > 0 && *mbstr)
	{
		int			l = pg_utf_mblen((const unsigned char *) mbstr);

		if (clen + l > limit)
			break;
		clen += l;
		if (clen == limit)
			break;
		len -= l;
		mbstr += l;
	}
	return clen;
}

/* ---------- interrupts ---------- */

volatile sig_atomic_t InterruptPending = false;

void
ProcessInterrupts(void)
{
}

/* ---------- expanded objects (as expandeddatum.c) ---------- */

void
EOH_init_header(ExpandedObjectHeader *eohptr,
				const ExpandedObjectMethods *methods,
				MemoryContext obj_context)
{
	varatt_expanded ptr;

	eohptr->vl_len_ = EOH_HEADER_MAGIC;
	eohptr->eoh_methods = methods;
	eohptr->eoh_context = obj_context;
	ptr.eohptr = eohptr;
	SET_VARTAG_EXTERNAL(eohptr->eoh_rw_ptr, VARTAG_EXPANDED_RW);
	memcpy(VARDATA_EXTERNAL(eohptr->eoh_rw_ptr), &ptr, sizeof(ptr));
	SET_VARTAG_EXTERNAL(eohptr->eoh_ro_ptr, VARTAG_EXPANDED_RO);
	memcpy(VARDATA_EXTERNAL(eohptr->eoh_ro_ptr), &ptr, sizeof(ptr));
}

ExpandedObjectHeader *
DatumGetEOHP(Datum d)
{
	varattrib_1b_e *datum = (varattrib_1b_e *) DatumGetPointer(d);
	varatt_expanded ptr;

	if (!VARATT_IS_EXTERNAL_EXPANDED(datum))
		fuzz_fail("DatumGetEOHP of a datum that is not an expanded object");
	memcpy(&ptr, VARDATA_EXTERNAL(datum), sizeof(ptr));
	return ptr.eohptr;
}

void
DeleteExpandedObject(Datum d)
{
	ExpandedObjectHeader *eohptr = DatumGetEOHP(d);

	MemoryContextDelete(eohptr->eoh_context);
}

/* ---------- fmgr ---------- */

Datum
DirectFunctionCall1Coll(PGFunction func, Oid collation, Datum arg1)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "function %p returned NULL", (void *) func);
	return result;
}

Datum
DirectFunctionCall3Coll(PGFunction func, Oid collation, Datum arg1,
						Datum arg2, Datum arg3)
{
	LOCAL_FCINFO(fcinfo, 3);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 3, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg2;
	fcinfo->args[1].isnull = false;
	fcinfo->args[2].value = arg3;
	fcinfo->args[2].isnull = false;
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "function %p returned NULL", (void *) func);
	return result;
}

/* ---------- timestamptz_in: ISO 8601 only (see the file header) ---------- */

static void
shim_ts_syntax(const char *str)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
			 errmsg("invalid input syntax for type %s: \"%s\"",
					"timestamp with time zone", str)));
}

/* Read exactly n digits. */
static bool
shim_digits(const char **p, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* Days from 2000-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64
shim_days(int64 y, int m, int d)
{
	int64		era;
	int64		yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

Datum
timestamptz_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	const char *p = str;
	int			year,
				mon,
				mday,
				hour = 0,
				min = 0,
				sec = 0,
				tzh = 0,
				tzm = 0;
	int64		usec = 0;
	int			tzsign = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int128		result;

	while (*p == ' ')
		p++;
	if (pg_strcasecmp(p, "infinity") == 0)
		PG_RETURN_TIMESTAMPTZ(DT_NOEND);
	if (pg_strcasecmp(p, "-infinity") == 0)
		PG_RETURN_TIMESTAMPTZ(DT_NOBEGIN);
	if (!shim_digits(&p, 4, &year) || *p++ != '-' ||
		!shim_digits(&p, 2, &mon) || *p++ != '-' ||
		!shim_digits(&p, 2, &mday))
		shim_ts_syntax(str);
	if (*p == 'T' || *p == ' ')
	{
		p++;
		if (!shim_digits(&p, 2, &hour) || *p++ != ':' || !shim_digits(&p, 2, &min))
			shim_ts_syntax(str);
		if (*p == ':')
		{
			p++;
			if (!shim_digits(&p, 2, &sec))
				shim_ts_syntax(str);
			if (*p == '.')
			{
				int			scale = 100000;

				p++;
				if (*p < '0' || *p > '9')
					shim_ts_syntax(str);
				while (*p >= '0' && *p <= '9')
				{
					usec += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		tzsign = (*p == '-') ? -1 : 1;
		p++;
		if (!shim_digits(&p, 2, &tzh))
			shim_ts_syntax(str);
		if (*p == ':')
			p++;
		if (*p >= '0' && *p <= '9' && !shim_digits(&p, 2, &tzm))
			shim_ts_syntax(str);
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		shim_ts_syntax(str);
	if (year == 0 || mon < 1 || mon > 12 || mday < 1 || mday > mdays[mon - 1] ||
		(mon == 2 && mday == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))) ||
		hour > 24 || min > 59 || sec > 60 || tzh > 15 || tzm > 59 ||
		(hour == 24 && (min > 0 || sec > 0 || usec > 0)))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("date/time field value out of range: \"%s\"", str)));
	result = (int128) shim_days(year, mon, mday) * USECS_PER_DAY +
		((int64) hour * 3600 + min * 60 + sec) * USECS_PER_SEC + usec -
		(int64) tzsign * (tzh * 3600 + tzm * 60) * USECS_PER_SEC;
	if (result < MIN_TIMESTAMP || result >= END_TIMESTAMP)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range: \"%s\"", str)));
	PG_RETURN_TIMESTAMPTZ((TimestampTz) result);
}

/* ---------- json_errdetail (PostgreSQL 15's messages) ---------- */

static char *
shim_json_token(JsonLexContext *lex)
{
	return pnstrdup(lex->token_start, lex->token_terminator - lex->token_start);
}

char *
json_errdetail(JsonParseErrorType error, JsonLexContext *lex)
{
	switch (error)
	{
		case JSON_SUCCESS:
			break;
		case JSON_ESCAPING_INVALID:
			return psprintf("Escape sequence \"\\%s\" is invalid.", shim_json_token(lex));
		case JSON_ESCAPING_REQUIRED:
			return psprintf("Character with value 0x%02x must be escaped.",
							(unsigned char) *(lex->token_terminator));
		case JSON_EXPECTED_END:
			return psprintf("Expected end of input, but found \"%s\".", shim_json_token(lex));
		case JSON_EXPECTED_ARRAY_FIRST:
			return psprintf("Expected array element or \"]\", but found \"%s\".", shim_json_token(lex));
		case JSON_EXPECTED_ARRAY_NEXT:
			return psprintf("Expected \",\" or \"]\", but found \"%s\".", shim_json_token(lex));
		case JSON_EXPECTED_COLON:
			return psprintf("Expected \":\", but found \"%s\".", shim_json_token(lex));
		case JSON_EXPECTED_JSON:
			return psprintf("Expected JSON value, but found \"%s\".", shim_json_token(lex));
		case JSON_EXPECTED_MORE:
			return "The input string ended unexpectedly.";
		case JSON_EXPECTED_OBJECT_FIRST:
			return psprintf("Expected string or \"}\", but found \"%s\".", shim_json_token(lex));
		case JSON_EXPECTED_OBJECT_NEXT:
			return psprintf("Expected \",\" or \"}\", but found \"%s\".", shim_json_token(lex));
		case JSON_EXPECTED_STRING:
			return psprintf("Expected string, but found \"%s\".", shim_json_token(lex));
		case JSON_INVALID_TOKEN:
			return psprintf("Token \"%s\" is invalid.", shim_json_token(lex));
		case JSON_UNICODE_CODE_POINT_ZERO:
			return "\\u0000 cannot be converted to text.";
		case JSON_UNICODE_ESCAPE_FORMAT:
			return "\"\\u\" must be followed by four hexadecimal digits.";
		case JSON_UNICODE_HIGH_ESCAPE:
			return "Unicode escape values cannot be used for code point values above 007F when the encoding is not UTF8.";
		case JSON_UNICODE_HIGH_SURROGATE:
			return "Unicode high surrogate must not follow a high surrogate.";
		case JSON_UNICODE_LOW_SURROGATE:
			return "Unicode low surrogate must follow a high surrogate.";
	}
	elog(ERROR, "unexpected json parse error type: %d", (int) error);
	return NULL;
}

/* ---------- binary input (as pqformat.c) and pg_verifymbstr ---------- */

static void
shim_insufficient(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("insufficient data left in message")));
}

int
pq_getmsgbyte(StringInfo msg)
{
	if (msg->cursor >= msg->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("no data left in message")));
	return (unsigned char) msg->data[msg->cursor++];
}

const char *
pq_getmsgbytes(StringInfo msg, int datalen)
{
	const char *result;

	if (datalen < 0 || datalen > (msg->len - msg->cursor))
		shim_insufficient();
	result = &msg->data[msg->cursor];
	msg->cursor += datalen;
	return result;
}

unsigned int
pq_getmsgint(StringInfo msg, int b)
{
	uint8		n8;
	uint16		n16;
	uint32		n32;

	switch (b)
	{
		case 1:
			memcpy(&n8, pq_getmsgbytes(msg, 1), 1);
			return n8;
		case 2:
			memcpy(&n16, pq_getmsgbytes(msg, 2), 2);
			return pg_ntoh16(n16);
		case 4:
			memcpy(&n32, pq_getmsgbytes(msg, 4), 4);
			return pg_ntoh32(n32);
	}
	elog(ERROR, "unsupported integer size %d", b);
	return 0;
}

int64
pq_getmsgint64(StringInfo msg)
{
	uint64		n64;

	memcpy(&n64, pq_getmsgbytes(msg, 8), 8);
	return pg_ntoh64(n64);
}

void
pq_getmsgend(StringInfo msg)
{
	if (msg->cursor != msg->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid message format")));
}

bool
pg_verifymbstr(const char *mbstr, int len, bool noError)
{
	if (pg_encoding_verifymbstr(PG_UTF8, mbstr, len) == len)
		return true;
	if (noError)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			 errmsg("invalid byte sequence for encoding \"%s\"", "UTF8")));
	return false;
}
