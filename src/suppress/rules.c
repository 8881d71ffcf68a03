/*-------------------------------------------------------------------------
 *
 * rules.c
 *		The suppression rule engine: the per-backend cache of rules,
 *		channels, identifier kinds and blocked values, the customer's
 *		suppression lock (its row), and the evaluation of every rule kind
 *		for one message.
 *
 * A message is decided in this order: its recipient is normalized and
 * resolved to a live customer (an unknown or invalid recipient is kept as
 * suppressed); erased and blocklisted recipients are suppressed; then, under
 * the customer's lock, every enabled rule is evaluated and each one that
 * suppresses or delays the message is named in its reasons.
 *
 * Race freedom: the counts behind frequency caps and same-campaign rules are
 * read after the customer's row is locked, with the latest snapshot (as the
 * referential integrity triggers do), so a message committed by a concurrent
 * transaction that held the lock before us is always counted, whatever the
 * isolation level.  One lock per customer cannot deadlock transactions that
 * each insert messages for one customer; transactions inserting for several
 * customers lock them in insertion order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "identity/identity.h"
#include "omnichannel.h"
#include "suppress/suppress.h"

/* The rule kinds of omni.suppression_rule.kind. */
typedef enum SuppressRuleKind
{
	RULE_CONSENT,
	RULE_FREQUENCY_CAP,
	RULE_QUIET_HOURS,
	RULE_RECENT_EVENT,
	RULE_SAME_CAMPAIGN,
	RULE_HOLDOUT
} SuppressRuleKind;

/* One enabled row of omni.suppression_rule. */
typedef struct SuppressRule
{
	char	   *name;
	SuppressRuleKind kind;
	int			nchannels;		/* -1: every channel */
	char	  **channels;
	int			ncategories;	/* -1: every category */
	char	  **categories;
	int32		max_messages;
	bool		has_window;
	Interval	window;
	bool		calendar_day;
	TimeADT		quiet_start;
	TimeADT		quiet_end;
	bool		delay;
	char	   *event;
	bool		match_topic;
	double		share;
} SuppressRule;

/* One row of omni.channel. */
typedef struct SuppressChannel
{
	char	   *name;
	bool		requires_opt_in;
} SuppressChannel;

/* The cached configuration, rebuilt when one of its tables changes. */
typedef struct SuppressConfig
{
	MemoryContext cxt;
	int			nrules;
	SuppressRule *rules;		/* in evaluation order */
	int			nchannels;
	SuppressChannel *channels;
	OmniRules  *identity;		/* identifier kinds and blocklist */
} SuppressConfig;

static SuppressConfig config;
static bool config_valid = false;
static uint64 config_generation = 0;	/* bumped at each load */
static bool callback_registered = false;
static Oid	config_relids[4];

/* Saved plans of the engine's queries. */
static SPIPlanPtr plan_rules;
static SPIPlanPtr plan_channels;

/* Most merges followed from an absorbed customer to its survivor. */
#define MAX_MERGE_HOPS		64
/* Most passes over the quiet-hours rules when delays push into each other. */
#define MAX_QUIET_PASSES	16

/*
 * Relcache invalidation callback: forget the cached configuration when one
 * of the tables it was read from changes (their statement triggers call
 * omni.suppression_config_changed(), which sends the invalidation), or when
 * every relcache entry is flushed.
 */
static void
suppress_config_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid ||
		relid == config_relids[0] || relid == config_relids[1] ||
		relid == config_relids[2] || relid == config_relids[3])
		config_valid = false;
}

/*
 * Prepare a query once per backend and keep its plan.  The plan cache
 * revalidates saved plans when the tables they read change, so they survive
 * DROP and CREATE EXTENSION in the same session.  The plans are generic:
 * every query is an index lookup whose best plan does not depend on the
 * parameters, and planning it again for each message would cost more than
 * running it.
 */
static SPIPlanPtr
suppress_prepare(SPIPlanPtr *cache, const char *query, int nargs, Oid *argtypes)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(query, nargs, argtypes,
												  CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 query, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*cache = plan;
	}
	return *cache;
}

/* Copy a text[] datum into a palloc'd array of C strings; returns its length. */
static int
text_array_to_cstrings(Datum d, char ***out)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			k = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*out = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			(*out)[k++] = TextDatumGetCString(elems[i]);
	return k;
}

/*
 * Load the enabled rules, the channels, and identity's identifier kinds and
 * blocked values into a fresh memory context.  config_valid is set first,
 * so an invalidation arriving while the tables are read marks the new copy
 * stale at once.  The tables are read as committed now, not with the
 * statement's snapshot (see omni_rules_load): a rule committed while a
 * statement runs is announced once, and must be in the copy read then.
 */
static void
suppress_load_config(void)
{
	MemoryContext cxt;
	MemoryContext old;
	Oid			nsp;
	uint64		n;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(suppress_config_invalidate, (Datum) 0);
		callback_registered = true;
	}
	nsp = get_namespace_oid("omni", false);
	config_relids[0] = get_relname_relid("suppression_rule", nsp);
	config_relids[1] = get_relname_relid("channel", nsp);
	config_relids[2] = get_relname_relid("blocklist", nsp);
	config_relids[3] = get_relname_relid("identity_rule", nsp);
	config_valid = true;
	config_generation++;

	cxt = AllocSetContextCreate(CacheMemoryContext, "omnichannel suppression rules",
								ALLOCSET_SMALL_SIZES);

	PG_TRY();
	{
		int			nestlevel;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		nestlevel = omni_pin_search_path();
		PushActiveSnapshot(GetLatestSnapshot());
		suppress_prepare(&plan_rules,
						 "SELECT name, kind, channels, categories, max_messages, time_window,"
						 " calendar_day, quiet_start, quiet_end, action, event, match_topic,"
						 " share::pg_catalog.float8"
						 " FROM omni.suppression_rule WHERE enabled"
						 " ORDER BY priority, name", 0, NULL);
		suppress_prepare(&plan_channels,
						 "SELECT channel, requires_opt_in FROM omni.channel", 0, NULL);

		if (SPI_execute_plan(plan_rules, NULL, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read omni.suppression_rule");
		n = SPI_processed;
		old = MemoryContextSwitchTo(cxt);
		config.nrules = (int) n;
		config.rules = palloc0(sizeof(SuppressRule) * Max(n, 1));
		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			SuppressRule *r = &config.rules[i];
			bool		isnull;
			Datum		d;
			char	   *kind;

			r->name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
			kind = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
			if (strcmp(kind, "consent") == 0)
				r->kind = RULE_CONSENT;
			else if (strcmp(kind, "frequency_cap") == 0)
				r->kind = RULE_FREQUENCY_CAP;
			else if (strcmp(kind, "quiet_hours") == 0)
				r->kind = RULE_QUIET_HOURS;
			else if (strcmp(kind, "recent_event") == 0)
				r->kind = RULE_RECENT_EVENT;
			else if (strcmp(kind, "same_campaign") == 0)
				r->kind = RULE_SAME_CAMPAIGN;
			else if (strcmp(kind, "holdout") == 0)
				r->kind = RULE_HOLDOUT;
			else
				elog(ERROR, "unexpected suppression rule kind \"%s\"", kind);

			d = SPI_getbinval(tup, desc, 3, &isnull);
			r->nchannels = isnull ? -1 : text_array_to_cstrings(d, &r->channels);
			d = SPI_getbinval(tup, desc, 4, &isnull);
			r->ncategories = isnull ? -1 : text_array_to_cstrings(d, &r->categories);
			d = SPI_getbinval(tup, desc, 5, &isnull);
			r->max_messages = isnull ? 0 : DatumGetInt32(d);
			d = SPI_getbinval(tup, desc, 6, &isnull);
			r->has_window = !isnull;
			if (!isnull)
				r->window = *DatumGetIntervalP(d);
			r->calendar_day = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
			d = SPI_getbinval(tup, desc, 8, &isnull);
			r->quiet_start = isnull ? 0 : DatumGetTimeADT(d);
			d = SPI_getbinval(tup, desc, 9, &isnull);
			r->quiet_end = isnull ? 0 : DatumGetTimeADT(d);
			r->delay = strcmp(TextDatumGetCString(SPI_getbinval(tup, desc, 10, &isnull)),
							  "delay") == 0;
			d = SPI_getbinval(tup, desc, 11, &isnull);
			r->event = isnull ? NULL : TextDatumGetCString(d);
			r->match_topic = DatumGetBool(SPI_getbinval(tup, desc, 12, &isnull));
			d = SPI_getbinval(tup, desc, 13, &isnull);
			r->share = isnull ? 0.0 : DatumGetFloat8(d);
		}
		MemoryContextSwitchTo(old);

		if (SPI_execute_plan(plan_channels, NULL, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read omni.channel");
		n = SPI_processed;
		old = MemoryContextSwitchTo(cxt);
		config.nchannels = (int) n;
		config.channels = palloc0(sizeof(SuppressChannel) * Max(n, 1));
		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;

			config.channels[i].name = SPI_getvalue(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1);
			config.channels[i].requires_opt_in =
				DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
										   SPI_tuptable->tupdesc, 2, &isnull));
		}
		MemoryContextSwitchTo(old);

		config.identity = omni_rules_load(cxt);
		PopActiveSnapshot();
		omni_unpin_search_path(nestlevel);
		SPI_finish();
	}
	PG_CATCH();
	{
		config_valid = false;
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (config.cxt != NULL)
		MemoryContextDelete(config.cxt);
	config.cxt = cxt;
}

/* The cached configuration, loaded first if it is stale. */
static SuppressConfig *
suppress_config(void)
{
	if (!config_valid)
		suppress_load_config();
	return &config;
}

/* The status as stored in the outbox's status column. */
const char *
suppress_status_name(SuppressStatus status)
{
	switch (status)
	{
		case SUPPRESS_QUEUED:
			return "queued";
		case SUPPRESS_DELAYED:
			return "delayed";
		case SUPPRESS_SUPPRESSED:
			return "suppressed";
	}
	return "suppressed";		/* keep the compiler quiet */
}

/* The cached row of a channel, or NULL when it is unknown. */
static SuppressChannel *
suppress_find_channel(SuppressConfig *cfg, const char *channel)
{
	for (int i = 0; i < cfg->nchannels; i++)
		if (strcmp(cfg->channels[i].name, channel) == 0)
			return &cfg->channels[i];
	return NULL;
}

/*
 * Fail unless the channel is a row of omni.channel.  A user's outbox has no
 * foreign key to omni.channel, so the trigger checks every message.
 */
void
suppress_check_channel(const char *channel)
{
	SuppressConfig *cfg = suppress_config();

	if (channel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("the channel of a message must not be null")));
	if (suppress_find_channel(cfg, channel) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown channel \"%s\"", omni_clip_value(channel, strlen(channel))),
				 errhint("Channels are the rows of omni.channel.")));
}

/* Whether a name is in a rule's list (n < 0: the list is "every name"). */
static bool
name_in_list(const char *name, int n, char **list)
{
	if (n < 0)
		return true;
	if (name == NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Render a rule's channel list for an explanation. */
static char *
channels_text(const SuppressRule *r)
{
	StringInfoData buf;

	if (r->nchannels < 0)
		return pstrdup("all channels");
	initStringInfo(&buf);
	for (int i = 0; i < r->nchannels; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", r->channels[i]);
	return buf.data;
}

static bool
is_transactional(const char *category)
{
	return strcmp(category, "transactional") == 0;
}

/*
 * Whether a rule may suppress or delay the message.  Transactional messages
 * are exempt from frequency caps, quiet hours and the holdout always (they
 * count toward a cap that names their category, see rule_counts), and from
 * recent-event and same-campaign rules unless the rule names their category
 * (a receipt must not be stopped by the purchase it confirms); consent (of
 * their own purpose) and erasure apply to them.
 */
static bool
rule_applies(const SuppressRule *r, const SuppressMessage *msg)
{
	if (!name_in_list(msg->channel, r->nchannels, r->channels))
		return false;
	if (is_transactional(msg->category))
	{
		switch (r->kind)
		{
			case RULE_CONSENT:
				break;
			case RULE_RECENT_EVENT:
			case RULE_SAME_CAMPAIGN:
				if (r->ncategories < 0)
					return false;
				break;
			default:
				return false;
		}
	}
	return name_in_list(msg->category, r->ncategories, r->categories);
}

/*
 * Whether a past message counts toward a frequency cap: its channel is one
 * of the rule's, and its category is one of the rule's (no list: every
 * category but transactional, which counts only where a rule names it).
 * A message of an outbox whose category is NULL was decided as marketing,
 * and counts as marketing.
 */
static bool
rule_counts(const SuppressRule *r, const char *channel, const char *category)
{
	if (!name_in_list(channel, r->nchannels, r->channels))
		return false;
	if (category == NULL)
		category = "marketing";
	if (r->ncategories < 0)
		return !is_transactional(category);
	return name_in_list(category, r->ncategories, r->categories);
}

/* Add a reason and its explanation to the decision, in the result context. */
static void
add_reason(SuppressDecision *d, List **reasons, List **details,
		   MemoryContext cxt, const char *reason, const char *detail)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	*reasons = lappend(*reasons, pstrdup(reason));
	*details = lappend(*details, pstrdup(detail));
	MemoryContextSwitchTo(old);
}

/*
 * The time zone of a customer: its own, else omni.default_time_zone.  An
 * unknown zone is an error, not a silent fallback to UTC.
 */
static pg_tz *
customer_time_zone(const char *zone, int64 customer_id, const char **name)
{
	pg_tz	   *tz;

	if (zone == NULL)
	{
		zone = omni_default_time_zone;
		tz = pg_tzset(zone);
		if (tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" of setting \"omni.default_time_zone\" is not recognized",
							zone)));
	}
	else
	{
		tz = pg_tzset(zone);
		if (tz == NULL || !pg_tz_acceptable(tz))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" of customer " INT64_FORMAT " is not recognized",
							zone, customer_id),
					 errhint("Set omni.customer.time_zone to an IANA zone name such as \"Europe/Paris\", or to NULL for omni.default_time_zone.")));
	}
	*name = zone;
	return tz;
}

/* Local calendar fields and time of day of an instant in a zone. */
static void
local_time(TimestampTz t, pg_tz *tz, struct pg_tm *tm, TimeADT *tod)
{
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(t, &tzoff, tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	*tod = ((((int64) tm->tm_hour * MINS_PER_HOUR) + tm->tm_min) * SECS_PER_MINUTE
			+ tm->tm_sec) * USECS_PER_SEC + fsec;
}

/* The UTC offset of a zone at an instant, in seconds west (as timestamp2tm gives it). */
static int
zone_offset_at(TimestampTz t, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return tzoff;
}

/*
 * The first instant after "after" at which the local time in a zone is the
 * local date (Julian day) and time of day given; DT_NOEND when there is
 * none.  A DST change that repeats that local time gives it twice: the
 * earlier one after "after" is taken.  One that skips it gives the instant
 * of the change, the first one whose local time is past it.
 *
 * The offsets a day before and a day after are the candidates (a zone's
 * offset changes at most once in two days); a candidate holds when the
 * zone has that offset at the instant it gives.
 */
static TimestampTz
local_instant_after(int julian, TimeADT tod, pg_tz *tz, TimestampTz after)
{
	Timestamp	wall;
	int			offs[2];
	TimestampTz best = DT_NOEND;
	bool		exists = false;

	if (julian < 1 || julian > TIMESTAMP_END_JULIAN)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	wall = (Timestamp) (julian - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + tod;
	offs[0] = zone_offset_at(wall - USECS_PER_DAY, tz);
	offs[1] = zone_offset_at(wall + USECS_PER_DAY, tz);
	for (int k = 0; k < 2; k++)
	{
		TimestampTz u = wall + (int64) offs[k] * USECS_PER_SEC;

		if (zone_offset_at(u, tz) != offs[k])
			continue;
		exists = true;
		if (u > after && u < best)
			best = u;
	}
	if (!exists && offs[0] != offs[1])
	{
		/*
		 * Skipped: the change lies between the two candidates.  Find its
		 * second (changes fall on whole seconds) by bisection.
		 */
		int64		lo = (wall + (int64) Min(offs[0], offs[1]) * USECS_PER_SEC) / USECS_PER_SEC;
		int64		hi = (wall + (int64) Max(offs[0], offs[1]) * USECS_PER_SEC) / USECS_PER_SEC;

		while (hi - lo > 1)
		{
			int64		mid = lo + (hi - lo) / 2;

			if (zone_offset_at(mid * USECS_PER_SEC, tz) == offs[1])
				hi = mid;
			else
				lo = mid;
		}
		if (hi * USECS_PER_SEC > after)
			best = hi * USECS_PER_SEC;
	}
	else if (!exists)
	{
		/* two changes within two days: read it as PostgreSQL does */
		struct pg_tm tm;
		int			tzoff;
		Timestamp	result;
		int64		rem = tod;

		memset(&tm, 0, sizeof(tm));
		j2date(julian, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		tm.tm_hour = rem / USECS_PER_HOUR;
		rem -= (int64) tm.tm_hour * USECS_PER_HOUR;
		tm.tm_min = rem / USECS_PER_MINUTE;
		rem -= (int64) tm.tm_min * USECS_PER_MINUTE;
		tm.tm_sec = rem / USECS_PER_SEC;
		rem -= (int64) tm.tm_sec * USECS_PER_SEC;
		tzoff = DetermineTimeZoneOffset(&tm, tz);
		if (tm2timestamp(&tm, (fsec_t) rem, &tzoff, &result) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		if (result > after)
			best = result;
	}
	return best;
}

/* The first instant of a local date in a zone. */
static TimestampTz
local_day_start(int julian, pg_tz *tz)
{
	return local_instant_after(julian, 0, tz, DT_NOBEGIN);
}

/* Render a time of day as HH:MM (seconds when not zero). */
static char *
tod_text(TimeADT t)
{
	int			h = t / USECS_PER_HOUR;
	int			m = (t / USECS_PER_MINUTE) % MINS_PER_HOUR;
	int			s = (t / USECS_PER_SEC) % SECS_PER_MINUTE;

	if (s != 0)
		return psprintf("%02d:%02d:%02d", h, m, s);
	return psprintf("%02d:%02d", h, m);
}

/* Whether a local time of day is inside a rule's quiet window. */
static bool
in_quiet_window(const SuppressRule *r, TimeADT tod)
{
	if (r->quiet_start < r->quiet_end)
		return tod >= r->quiet_start && tod < r->quiet_end;
	return tod >= r->quiet_start || tod < r->quiet_end;
}

/* The first instant after t, at the end of the rule's quiet window, local time. */
static TimestampTz
quiet_window_end(const SuppressRule *r, TimestampTz t, pg_tz *tz)
{
	struct pg_tm tm;
	TimeADT		tod;
	int			day;
	TimestampTz next;

	local_time(t, tz, &tm, &tod);
	day = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	/* today's end when it is still ahead, else tomorrow's */
	next = local_instant_after(day, r->quiet_end, tz, t);
	if (next == DT_NOEND)
		next = local_instant_after(day + 1, r->quiet_end, tz, t);
	if (next == DT_NOEND)
		next = local_instant_after(day + 2, r->quiet_end, tz, t);
	return next;
}

/* The start of the local calendar day of t, days - 1 days back. */
static TimestampTz
calendar_window_start(TimestampTz t, pg_tz *tz, int days, TimestampTz *end)
{
	struct pg_tm tm;
	TimeADT		tod;
	int			day;

	local_time(t, tz, &tm, &tod);
	day = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	*end = local_day_start(day + 1, tz);
	return local_day_start(day - (days - 1), tz);
}

/* Whole days of a calendar-day cap's window (validated by the table's checks). */
static int
calendar_days(const SuppressRule *r)
{
	if (!r->has_window)
		return 1;
	return Max(r->window.day, 1);
}

/*
 * The deterministic holdout draw of a customer for a rule, in [0, 1): a
 * 64-bit FNV-1a hash of the rule's name (the salt) and the customer id,
 * mixed by MurmurHash3's finalizer.  It
 * is the same on every platform and in every release, so a customer stays
 * in or out of the holdout group until the rule is renamed.
 */
static double
holdout_draw(const char *salt, int64 customer_id)
{
	char		buf[32];
	uint64		h = UINT64CONST(14695981039346656037);
	const unsigned char *p;

	for (p = (const unsigned char *) salt; *p; p++)
	{
		h ^= *p;
		h *= UINT64CONST(1099511628211);
	}
	/* a NUL byte separates the salt from the id */
	h *= UINT64CONST(1099511628211);
	snprintf(buf, sizeof(buf), INT64_FORMAT, customer_id);
	for (p = (const unsigned char *) buf; *p; p++)
	{
		h ^= *p;
		h *= UINT64CONST(1099511628211);
	}
	/* MurmurHash3's finalizer: FNV alone barely moves the high bits */
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (double) (h >> 11) / 9007199254740992.0;
}

/* The hash key read for the statement, forgotten when its memory goes. */
static bytea *hash_key = NULL;

static void
forget_hash_key(void *arg)
{
	hash_key = NULL;
}

/* The database's identifier hash key, read once per statement. */
static bytea *
statement_hash_key(MemoryContext stmtcxt)
{
	if (hash_key == NULL)
	{
		MemoryContextCallback *cb = MemoryContextAlloc(stmtcxt, sizeof(MemoryContextCallback));

		hash_key = omni_identifier_hash_key(stmtcxt);
		cb->func = forget_hash_key;
		cb->arg = NULL;
		MemoryContextRegisterResetCallback(stmtcxt, cb);
	}
	return hash_key;
}

/*
 * Normalize the recipient by its kind (identity's normalizers) and compute
 * its keyed hash, as kept in omni.forgotten.  Returns the normalized value,
 * or NULL with *why set when the value is not valid for its kind; an
 * unknown kind is an error.
 */
static char *
normalize_recipient(SuppressConfig *cfg, const SuppressMessage *msg, char **why,
					bytea **hash, MemoryContext stmtcxt)
{
	OmniKindRule *rule = omni_rules_kind(cfg->identity, msg->recipient_kind);
	OmniNormError err;
	char	   *normalized;

	normalized = omni_normalize_kind_soft(rule, msg->recipient, strlen(msg->recipient), NULL,
										  &err);
	if (normalized == NULL)
	{
		*why = err.detail != NULL ? psprintf("%s: %s", err.msg, err.detail) : err.msg;
		return NULL;
	}
	*hash = palloc(VARHDRSZ + OMNI_HASH_LEN);
	SET_VARSIZE(*hash, VARHDRSZ + OMNI_HASH_LEN);
	omni_identifier_hash_keyed(statement_hash_key(stmtcxt), rule->kind, normalized,
							   (uint8 *) VARDATA(*hash));
	return normalized;
}

/*
 * What a recipient came to, remembered for the rest of the statement: a
 * bulk insert addresses the same recipients again and again.  Its
 * normalized value, keyed hash and blocklist verdict depend only on the
 * raw value, the identifier kinds and blocked values (the configuration,
 * whose generation is kept with them) and the statement's hash key; where
 * its identifier was found is only a hint, checked at each use (see
 * suppress_find_identity).
 */
typedef struct RecipientKey
{
	const char *kind;
	const char *value;			/* as given, before normalization */
} RecipientKey;

typedef struct RecipientEntry
{
	RecipientKey key;			/* hash key: must be first */
	uint64		generation;		/* config_generation it was computed with */
	char	   *normalized;		/* NULL: not valid for its kind */
	char	   *why;			/* why not */
	bytea	   *hash;
	char	   *blocked;		/* the blocklist's reason, or NULL */
	SuppressIdentityHint hint;
} RecipientEntry;

/* Most recipients remembered in one statement (about 200 bytes each). */
#define MAX_RECIPIENTS		65536

static HTAB *recipients = NULL;

/* Hash of a recipient: its kind and raw value. */
static uint32
recipient_hash(const void *key, Size keysize)
{
	const RecipientKey *k = (const RecipientKey *) key;

	return hash_combine(hash_bytes((const unsigned char *) k->kind, strlen(k->kind)),
						hash_bytes((const unsigned char *) k->value, strlen(k->value)));
}

/* Key comparison of recipients, 0 when equal (dynahash's convention). */
static int
recipient_match(const void *key1, const void *key2, Size keysize)
{
	const RecipientKey *a = (const RecipientKey *) key1;
	const RecipientKey *b = (const RecipientKey *) key2;

	return strcmp(a->kind, b->kind) != 0 || strcmp(a->value, b->value) != 0;
}

/* The statement's memory goes: so do the recipients it remembered. */
static void
forget_recipients(void *arg)
{
	recipients = NULL;
}

/*
 * The recipient of a message, normalized, hashed and checked against the
 * blocklist, from the statement's memory of recipients when it was seen
 * before with the same configuration, else computed and remembered.
 */
static RecipientEntry *
statement_recipient(SuppressConfig *cfg, const SuppressMessage *msg, MemoryContext stmtcxt)
{
	RecipientKey key;
	RecipientEntry *e;
	RecipientEntry fresh;
	MemoryContext old;
	bool		found;

	if (recipients == NULL)
	{
		HASHCTL		ctl;
		MemoryContextCallback *cb;

		ctl.keysize = sizeof(RecipientKey);
		ctl.entrysize = sizeof(RecipientEntry);
		ctl.hash = recipient_hash;
		ctl.match = recipient_match;
		ctl.hcxt = stmtcxt;
		recipients = hash_create("omnichannel recipients", 256, &ctl,
								 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
		cb = MemoryContextAlloc(stmtcxt, sizeof(MemoryContextCallback));
		cb->func = forget_recipients;
		cb->arg = NULL;
		MemoryContextRegisterResetCallback(stmtcxt, cb);
	}
	key.kind = msg->recipient_kind;
	key.value = msg->recipient;
	e = hash_search(recipients, &key, HASH_FIND, NULL);
	if (e != NULL && e->generation == config_generation)
		return e;

	/*
	 * Compute it in the caller's memory (the row's), then copy what is kept
	 * into the statement's: what normalizing leaves behind must not pile up
	 * there row after row.
	 */
	memset(&fresh, 0, sizeof(fresh));
	fresh.generation = config_generation;
	fresh.normalized = normalize_recipient(cfg, msg, &fresh.why, &fresh.hash, stmtcxt);
	if (fresh.normalized != NULL)
		fresh.blocked = (char *) omni_blocked_reason(cfg->identity, msg->recipient_kind,
													 fresh.normalized);
	ItemPointerSetInvalid(&fresh.hint.tid);
	if (e == NULL && hash_get_num_entries(recipients) >= MAX_RECIPIENTS)
	{
		/* not remembered: the statement has seen too many recipients */
		e = palloc(sizeof(RecipientEntry));
		fresh.key = key;
		memcpy(e, &fresh, sizeof(RecipientEntry));
		return e;
	}
	old = MemoryContextSwitchTo(stmtcxt);
	if (e == NULL)
	{
		RecipientKey copy;

		copy.kind = pstrdup(msg->recipient_kind);
		copy.value = pstrdup(msg->recipient);
		e = hash_search(recipients, &copy, HASH_ENTER, &found);
		fresh.key = copy;
	}
	else
		fresh.key = e->key;
	if (fresh.normalized != NULL)
		fresh.normalized = pstrdup(fresh.normalized);
	if (fresh.why != NULL)
		fresh.why = pstrdup(fresh.why);
	if (fresh.blocked != NULL)
		fresh.blocked = pstrdup(fresh.blocked);
	if (fresh.hash != NULL)
	{
		bytea	   *h = palloc(VARSIZE(fresh.hash));

		memcpy(h, fresh.hash, VARSIZE(fresh.hash));
		fresh.hash = h;
	}
	MemoryContextSwitchTo(old);
	memcpy(e, &fresh, sizeof(RecipientEntry));
	return e;
}

/* What the engine knows about the message's customer and recipient. */
typedef struct SuppressContext
{
	int64		customer_id;	/* live customer */
	char	   *time_zone;		/* NULL: omni.default_time_zone */
	int64	   *family;			/* it and the customers it absorbed, ascending */
	int			nfamily;
	bool		has_identity;
	int64		identity_id;	/* the recipient's identifier */
	bool		forgotten;		/* the recipient was erased */
	SuppressConsent consent;	/* when a consent rule applies */
	Snapshot	snap;			/* registered: what the rules read besides the history */
} SuppressContext;

/*
 * Everything the rules need to know about the message's customer: the
 * customer (given, or the recipient's identifier's), followed through
 * merges to its live survivor; its time zone; the customers it absorbed
 * (whose messages count toward its caps and whose consents hold); the
 * recipient's identifier and whether it was erased; and, when a consent
 * rule applies, whether an opt-out or an opt-in is in force for the
 * customer or the recipient, on the channel (or every channel), for the
 * message's purpose, at the message's time.
 *
 * With lock = true the customer's row is locked FOR NO KEY UPDATE until the
 * end of the transaction: that is the customer's suppression lock.  Every
 * message of one customer is decided under it, so two transactions can
 * never both pass a cap.  A row lock lives in the tuple, not in the shared
 * lock table, so one transaction may decide messages for any number of
 * customers; and NO KEY UPDATE does not conflict with the KEY SHARE locks of
 * foreign key checks.  A merge committed while we waited is seen (at READ
 * COMMITTED the latest version of the locked row is read) and followed.
 * Like a locking query, the reads take a new snapshot after a command
 * counter increment, so the messages this statement inserted before are
 * seen; the preview (lock = false) reads with the active snapshot.  At READ
 * COMMITTED the lock may have waited for a merge or an erasure that
 * committed after that snapshot was taken, so what is read after it
 * (erasure, the absorbed customers, consent, and the touchpoints later)
 * is read with a snapshot taken once the lock is held, as the re-check of
 * a row a locking query waited for sees the committed change.  At
 * REPEATABLE READ and above such a change is a serialization failure.
 * The snapshot is left registered in ctx->snap for the caller, who
 * unregisters it.
 *
 * Whether the recipient was erased is set in ctx->forgotten whatever the
 * result.  Returns false when the recipient resolves to no customer; a
 * customer id that is not a customer is an error.
 */
static bool
load_context(const SuppressMessage *msg, const char *normalized, bytea *hash,
			 SuppressIdentityHint *hint, bool need_consent, bool lock,
			 MemoryContext stmtcxt, SuppressContext *ctx)
{
	bool		has_customer = msg->has_customer;
	int64		id = msg->customer_id;
	int64		identity_customer = 0;
	Snapshot	snap;
	bool		found = false;
	int			hop;

	if (lock)
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		CommandCounterIncrement();
		UpdateActiveSnapshotCommandId();
	}
	snap = GetActiveSnapshot();

	if (normalized != NULL)
		ctx->has_identity = suppress_find_identity(stmtcxt, snap, msg->recipient_kind,
												   normalized, hint, &ctx->identity_id,
												   &identity_customer);
	/* the live customer, locked: the given one or the identifier's, through merges */
	if (has_customer || ctx->has_identity)
	{
		if (!has_customer)
			id = identity_customer;
		for (hop = 0; hop <= MAX_MERGE_HOPS; hop++)
		{
			bool		merged;
			int64		merged_into;

			if (!suppress_read_customer(stmtcxt, snap, id, lock, &ctx->time_zone,
										&merged, &merged_into))
			{
				if (!has_customer)
					break;
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("customer " INT64_FORMAT " does not exist", id),
						 errdetail("The message names customer " INT64_FORMAT ".", msg->customer_id)));
			}
			if (merged)
			{
				/* absorbed: decide for its survivor */
				has_customer = true;
				id = merged_into;
				continue;
			}
			found = true;
			break;
		}
		if (hop > MAX_MERGE_HOPS)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("customer " INT64_FORMAT " was merged more than %d times in a row",
							msg->customer_id, MAX_MERGE_HOPS)));
	}
	if (lock && !IsolationUsesXactSnapshot())
	{
		PopActiveSnapshot();
		PushActiveSnapshot(GetTransactionSnapshot());
		snap = GetActiveSnapshot();
	}
	ctx->forgotten = hash != NULL && suppress_is_forgotten(stmtcxt, snap, hash);
	if (found && msg->has_customer && ctx->has_identity)
	{
		/*
		 * A message naming both its customer and a recipient of another
		 * customer would be decided against the wrong customer's consent,
		 * caps and holdout: they must agree once both are followed to the
		 * live customer (the identifier is read again, after the lock).
		 */
		int64		again_identity;
		int64		again_customer = 0;

		if (suppress_find_identity(stmtcxt, snap, msg->recipient_kind, normalized, NULL,
								   &again_identity, &again_customer) &&
			again_customer != id)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s \"%s\" belongs to customer " INT64_FORMAT ", not to customer " INT64_FORMAT,
							msg->recipient_kind, normalized, again_customer, id),
					 errdetail("The message names customer " INT64_FORMAT " and a recipient of another customer.",
							   msg->customer_id),
					 errhint("Leave customer_id NULL to decide the message for its recipient's customer.")));
	}
	if (found)
	{
		ctx->customer_id = id;
		ctx->nfamily = suppress_read_family(stmtcxt, snap, id, &ctx->family);
		if (need_consent)
			suppress_read_consent(stmtcxt, snap, ctx->family, ctx->nfamily,
								  ctx->has_identity, ctx->identity_id, msg->channel,
								  is_transactional(msg->category) ? "transactional" : "marketing",
								  msg->created_at, &ctx->consent);
	}
	ctx->snap = RegisterSnapshot(snap);
	if (lock)
		PopActiveSnapshot();
	return found;
}

/*
 * The consent rule's verdict on the message: an opt-out in force always
 * wins; marketing on a channel that requires opt-in needs an opt-in in
 * force.  Returns the explanation when the message must not go, else NULL.
 */
static char *
consent_refusal(const SuppressMessage *msg, SuppressChannel *ch, SuppressContext *ctx)
{
	const char *purpose = is_transactional(msg->category) ? "transactional" : "marketing";

	if (ctx->consent.opted_out)
		return psprintf("opted out of %s %s (consent " INT64_FORMAT ")", msg->channel, purpose,
						ctx->consent.opt_out_id);
	if (ch->requires_opt_in && !is_transactional(msg->category) && !ctx->consent.opted_in)
		return psprintf("no opt-in in force for %s marketing, which requires one",
						msg->channel);
	return NULL;
}

/*
 * Read the messages that went or will go out (queued or delayed) created
 * after "since" for the customer and the customers it absorbed, from the
 * outbox the trigger fires on: through its index when it has one, else with
 * its saved query.  With latest = true (the trigger, under the customer's
 * lock) the latest snapshot is used, so that messages committed since our
 * snapshot was taken, and those this statement inserted before (made
 * visible by load_context's command counter increment), are counted too.
 */
static SuppressHistoryRow *
read_history(SuppressHistorySource *history, SuppressContext *ctx, TimestampTz since,
			 bool latest, MemoryContext stmtcxt, int *nrows)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Datum	   *elems;
	Datum		values[2];
	int			rc;
	int			nestlevel;
	SuppressHistoryRow *rows;

	if (OidIsValid(history->indexoid))
	{
		Snapshot	snap;

		if (!latest)
			return suppress_read_history_index(stmtcxt, history, GetActiveSnapshot(),
											   ctx->family, ctx->nfamily, since, nrows);
		/* load_context() made this statement's rows visible already */
		snap = RegisterSnapshot(GetLatestSnapshot());
		rows = suppress_read_history_index(stmtcxt, history, snap, ctx->family,
										   ctx->nfamily, since, nrows);
		UnregisterSnapshot(snap);
		return rows;
	}

	elems = palloc(sizeof(Datum) * ctx->nfamily);
	for (int i = 0; i < ctx->nfamily; i++)
		elems[i] = Int64GetDatum(ctx->family[i]);
	values[0] = PointerGetDatum(construct_array(elems, ctx->nfamily, INT8OID, sizeof(int64),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = TimestampTzGetDatum(since);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = omni_pin_search_path();
	if (latest)
		rc = SPI_execute_snapshot(history->plan, values, NULL, GetLatestSnapshot(),
								  InvalidSnapshot, false, false, 0);
	else
		rc = SPI_execute_plan(history->plan, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not count the messages of customer " INT64_FORMAT, ctx->customer_id);

	MemoryContextSwitchTo(callercxt);
	*nrows = (int) SPI_processed;
	rows = palloc(sizeof(SuppressHistoryRow) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		rows[i].channel = SPI_getvalue(tup, desc, 1);
		rows[i].category = SPI_getvalue(tup, desc, 2);
		rows[i].campaign = SPI_getvalue(tup, desc, 3);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		rows[i].out_at = isnull ? DT_NOBEGIN : DatumGetTimestampTz(d);
	}
	omni_unpin_search_path(nestlevel);
	SPI_finish();
	return rows;
}

/*
 * Read the customer's touchpoints of the given events in (since, until],
 * one event at a time, through touchpoint_customer_event_ts_idx: one index
 * range per event, not every touchpoint of the window.
 */
static SuppressEventRow *
read_events(Snapshot snap, int64 customer_id, List *events, TimestampTz since,
			TimestampTz until, MemoryContext stmtcxt, int *nrows)
{
	ListCell   *lc;
	SuppressEventRow *rows = NULL;
	int			n = 0;
	int			size = 0;

	foreach(lc, events)
		suppress_read_events(stmtcxt, snap, customer_id, (char *) lfirst(lc),
							 since, until, &rows, &n, &size);
	*nrows = n;
	return rows;
}

/*
 * t moved back (back = true) or forward by a window.  The arithmetic is
 * that of UTC whatever the session's TimeZone: a day of a window is 24
 * hours and a month a calendar month of UTC, so a decision never depends
 * on the session that makes it (a rolling "1 day" across a daylight-saving
 * change of the session's zone would otherwise be 23 or 25 hours).  A
 * result beyond the range of timestamptz is -infinity or +infinity: a
 * window longer than all of history reaches all of it.
 */
static TimestampTz
shift_by_window(TimestampTz t, const Interval *window, bool back)
{
	int64		span;
	int64		result;
	Interval	neg;

	/* the direction the window points in, for the ends of the range */
	double		total = (double) window->month * DAYS_PER_MONTH * USECS_PER_DAY +
		(double) window->day * USECS_PER_DAY + (double) window->time;
	TimestampTz beyond = (back == (total >= 0)) ? DT_NOBEGIN : DT_NOEND;

	if (TIMESTAMP_NOT_FINITE(t))
		return t;
	if (window->month == 0)
	{
		/* days and time: exact in microseconds */
		if (pg_mul_s64_overflow((int64) window->day, USECS_PER_DAY, &span) ||
			pg_add_s64_overflow(span, window->time, &span) ||
			(back ? pg_sub_s64_overflow(t, span, &result)
			 : pg_add_s64_overflow(t, span, &result)) ||
			!IS_VALID_TIMESTAMP(result))
			return beyond;
		return result;
	}

	/*
	 * Months: when even 31-day months keep every component's reach inside
	 * the range, the calendar arithmetic cannot overflow.
	 */
	{
		double		reach = fabs((double) window->month) * 31.0 * USECS_PER_DAY +
			fabs((double) window->day) * USECS_PER_DAY + fabs((double) window->time);

		if (back ? (double) t - reach < (double) MIN_TIMESTAMP + USECS_PER_DAY
			: (double) t + reach > (double) END_TIMESTAMP - USECS_PER_DAY)
			return beyond;
	}
	if (!back)
		return DatumGetTimestamp(DirectFunctionCall2(timestamp_pl_interval,
													 TimestampGetDatum(t),
													 IntervalPGetDatum(window)));
	neg.month = -window->month;
	neg.day = -window->day;
	neg.time = -window->time;
	return DatumGetTimestamp(DirectFunctionCall2(timestamp_pl_interval,
												 TimestampGetDatum(t),
												 IntervalPGetDatum(&neg)));
}

/* t - window */
static TimestampTz
minus_interval(TimestampTz t, const Interval *window)
{
	return shift_by_window(t, window, true);
}

/* t + window */
static TimestampTz
plus_interval(TimestampTz t, const Interval *window)
{
	return shift_by_window(t, window, false);
}

/*
 * The windows of a rule around one message's time, each computed once per
 * message: interval arithmetic and local calendar days cost more than
 * anything else the rules do in memory.
 */
typedef struct RuleWindow
{
	bool		has_back;
	bool		has_fwd;
	bool		has_cal;
	TimestampTz back;			/* t - window */
	TimestampTz fwd;			/* t + window */
	TimestampTz cal_lo;			/* calendar-day window: [cal_lo, cal_hi) */
	TimestampTz cal_hi;
} RuleWindow;

/* t - the rule's window, memoized */
static TimestampTz
window_back(RuleWindow *w, const SuppressRule *r, TimestampTz t)
{
	if (!w->has_back)
	{
		w->back = minus_interval(t, &r->window);
		w->has_back = true;
	}
	return w->back;
}

/* t + the rule's window, memoized */
static TimestampTz
window_fwd(RuleWindow *w, const SuppressRule *r, TimestampTz t)
{
	if (!w->has_fwd)
	{
		w->fwd = plus_interval(t, &r->window);
		w->has_fwd = true;
	}
	return w->fwd;
}

/* The start of a calendar-day cap's window (and its end in *end), memoized */
static TimestampTz
window_calendar(RuleWindow *w, const SuppressRule *r, TimestampTz t, pg_tz *tz,
				TimestampTz *end)
{
	if (!w->has_cal)
	{
		w->cal_lo = calendar_window_start(t, tz, calendar_days(r), &w->cal_hi);
		w->has_cal = true;
	}
	*end = w->cal_hi;
	return w->cal_lo;
}

static int
timestamptz_cmp_qsort(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The most messages a rolling window of a cap that holds time t also holds
 * (the message at t not counted), over the messages of hist that count
 * toward the cap and were created in [lo, hi), lo and hi being t less and
 * plus the window.  A window [s, s + window) holds t when s is in (t -
 * window, t]; the fullest starts at t or at a message before t, so those
 * starts are tried.  Only asked when the messages in [lo, hi) together
 * reach the cap: they need not all fit in one window.
 */
static int
busiest_window(const SuppressRule *r, const SuppressHistoryRow *hist, int nhist,
			   TimestampTz t, TimestampTz lo, TimestampTz hi)
{
	TimestampTz *x = palloc(sizeof(TimestampTz) * Max(nhist, 1));
	int			n = 0;
	int			best = 0;
	int			end = 0;

	for (int k = 0; k < nhist; k++)
		if (hist[k].out_at >= lo && hist[k].out_at < hi &&
			rule_counts(r, hist[k].channel, hist[k].category))
			x[n++] = hist[k].out_at;
	qsort(x, n, sizeof(TimestampTz), timestamptz_cmp_qsort);
	/* the windows that start at a message before t, in time order */
	for (int first = 0; first < n && x[first] <= t; first++)
	{
		TimestampTz until;

		if (first > 0 && x[first] == x[first - 1])
			continue;			/* the same window as the one before */
		until = plus_interval(x[first], &r->window);
		end = Max(end, first);
		while (end < n && x[end] < until)
			end++;
		best = Max(best, end - first);
	}
	/* the window that starts at t */
	{
		TimestampTz until = plus_interval(t, &r->window);
		int			held = 0;

		for (int k = 0; k < n; k++)
			if (x[k] >= t && x[k] < until)
				held++;
		best = Max(best, held);
	}
	pfree(x);
	return best;
}

/* Render an interval for an explanation. */
static char *
interval_text(const Interval *i)
{
	return DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(i)));
}

/*
 * Decide one message: its status, its live customer, its send time when
 * delayed, and every reason.  The decision is allocated in resultcxt; the
 * relations read stay open until stmtcxt, the statement's memory, is
 * freed.  take_lock = true (the trigger) takes the customer's suppression
 * lock and counts with the latest snapshot; false (the preview) takes no
 * lock.
 */
void
suppress_decide(const SuppressMessage *msg, SuppressHistorySource *history,
				bool take_lock, SuppressDecision *d, MemoryContext resultcxt,
				MemoryContext stmtcxt)
{
	SuppressConfig *cfg = suppress_config();
	SuppressChannel *ch;
	List	   *sup_reasons = NIL,
			   *sup_details = NIL,
			   *delay_reasons = NIL,
			   *delay_details = NIL,
			   *quiet_reasons = NIL,
			   *quiet_details = NIL;
	RecipientEntry *recipient = NULL;
	char	   *normalized = NULL;
	bytea	   *hash = NULL;
	SuppressContext ctx;
	bool		need_consent = false;
	pg_tz	   *tz = NULL;
	const char *zone_name = NULL;
	TimestampTz t = msg->created_at;
	TimestampTz send = msg->has_send_at ? msg->send_at : msg->created_at;
	bool		need_history = false;
	bool		need_events = false;
	bool		need_zone = false;
	TimestampTz history_since = DT_NOEND;
	TimestampTz events_since = DT_NOEND;
	List	   *events = NIL;
	int64		customer_id;
	RuleWindow *win;

	memset(d, 0, sizeof(SuppressDecision));
	memset(&ctx, 0, sizeof(ctx));
	d->has_send_at = msg->has_send_at;
	d->send_at = msg->send_at;

	ch = suppress_find_channel(cfg, msg->channel);
	if (ch == NULL)
		suppress_check_channel(msg->channel);	/* reports the error */

	/* The recipient: normalized, and blocked or not. */
	if (msg->recipient != NULL && msg->recipient_kind != NULL)
	{
		recipient = statement_recipient(cfg, msg, stmtcxt);
		normalized = recipient->normalized;
		hash = recipient->hash;
		if (normalized == NULL)
			add_reason(d, &sup_reasons, &sup_details, resultcxt, SUPPRESS_REASON_INVALID,
					   recipient->why);
		else if (recipient->blocked != NULL)
			add_reason(d, &sup_reasons, &sup_details, resultcxt,
					   SUPPRESS_REASON_BLOCKLISTED, recipient->blocked);
	}
	for (int i = 0; i < cfg->nrules; i++)
		if (cfg->rules[i].kind == RULE_CONSENT && rule_applies(&cfg->rules[i], msg))
			need_consent = true;

	/* The customer, locked; the recipient's identifier; erasure; consent. */
	if ((!msg->has_customer && normalized == NULL) ||
		!load_context(msg, normalized, hash, recipient != NULL ? &recipient->hint : NULL,
					  need_consent, take_lock, stmtcxt, &ctx))
	{
		MemoryContext old;

		if (ctx.snap != NULL)
			UnregisterSnapshot(ctx.snap);
		if (normalized != NULL && ctx.forgotten)
			add_reason(d, &sup_reasons, &sup_details, resultcxt, SUPPRESS_REASON_FORGOTTEN,
					   psprintf("the %s was erased", msg->recipient_kind));
		if (sup_reasons == NIL)
			add_reason(d, &sup_reasons, &sup_details, resultcxt, SUPPRESS_REASON_UNKNOWN,
					   msg->recipient == NULL ? "the message names no recipient and no customer"
					   : psprintf("%s \"%s\" belongs to no customer", msg->recipient_kind,
								  normalized));
		d->status = SUPPRESS_SUPPRESSED;
		/* erasure first, as when the customer is known */
		old = MemoryContextSwitchTo(resultcxt);
		if (list_length(sup_reasons) == 2 &&
			strcmp((char *) llast(sup_reasons), SUPPRESS_REASON_FORGOTTEN) == 0)
		{
			sup_reasons = list_make2(llast(sup_reasons), linitial(sup_reasons));
			sup_details = list_make2(llast(sup_details), linitial(sup_details));
		}
		MemoryContextSwitchTo(old);
		d->reasons = sup_reasons;
		d->details = sup_details;
		return;
	}
	if (ctx.forgotten)
	{
		MemoryContext old = MemoryContextSwitchTo(resultcxt);

		/* erasure first */
		sup_reasons = lcons(pstrdup(SUPPRESS_REASON_FORGOTTEN), sup_reasons);
		sup_details = lcons(psprintf("the %s was erased", msg->recipient_kind), sup_details);
		MemoryContextSwitchTo(old);
	}
	customer_id = ctx.customer_id;
	d->has_customer = true;
	d->customer_id = customer_id;

	/* What the applicable rules need to read. */
	win = palloc0(sizeof(RuleWindow) * Max(cfg->nrules, 1));
	for (int i = 0; i < cfg->nrules; i++)
	{
		SuppressRule *r = &cfg->rules[i];

		if (!rule_applies(r, msg))
			continue;
		switch (r->kind)
		{
			case RULE_FREQUENCY_CAP:
			case RULE_SAME_CAMPAIGN:
				if (r->kind == RULE_SAME_CAMPAIGN && msg->campaign == NULL)
					break;
				need_history = true;
				if (r->calendar_day)
					need_zone = true;
				break;
			case RULE_RECENT_EVENT:
				if (r->match_topic && msg->topic == NULL)
					break;
				need_events = true;
				events_since = Min(events_since, window_back(&win[i], r, t));
				if (!list_member(events, makeString(r->event)))
					events = lappend(events, makeString(r->event));
				break;
			case RULE_QUIET_HOURS:
				need_zone = true;
				break;
			default:
				break;
		}
	}
	if (need_zone)
		tz = customer_time_zone(ctx.time_zone, customer_id, &zone_name);

	/*
	 * Quiet hours first, at the time the message would go out: the caps
	 * count it at the time it goes out.  A delay can land in another rule's
	 * window, so pass over the rules until the time stays put; a "suppress"
	 * rule whose window the (delayed) time is in wins.
	 */
	{
		bool		moved = true;
		int			pass;
		SuppressRule *stopped_by = NULL;
		List	   *delayers = NIL;

		for (pass = 0; moved && pass < MAX_QUIET_PASSES && stopped_by == NULL; pass++)
		{
			moved = false;
			for (int i = 0; i < cfg->nrules && stopped_by == NULL; i++)
			{
				SuppressRule *r = &cfg->rules[i];
				struct pg_tm tm;
				TimeADT		tod;

				if (r->kind != RULE_QUIET_HOURS || !rule_applies(r, msg))
					continue;
				local_time(send, tz, &tm, &tod);
				if (!in_quiet_window(r, tod))
					continue;
				if (!r->delay)
				{
					stopped_by = r;
					add_reason(d, &quiet_reasons, &quiet_details, resultcxt, r->name,
							   psprintf("%s local time (%s) is inside quiet hours %s-%s",
										tod_text(tod), zone_name,
										tod_text(r->quiet_start), tod_text(r->quiet_end)));
					break;
				}
				send = quiet_window_end(r, send, tz);
				moved = true;
				if (!list_member_ptr(delayers, r))
				{
					delayers = lappend(delayers, r);
					add_reason(d, &delay_reasons, &delay_details, resultcxt, r->name,
							   psprintf("%s local time (%s) is inside quiet hours %s-%s",
										tod_text(tod), zone_name,
										tod_text(r->quiet_start), tod_text(r->quiet_end)));
				}
			}
		}
		if (moved && stopped_by == NULL)
		{
			/* the quiet windows cover the whole day: no time is allowed */
			ListCell   *lc;

			foreach(lc, delayers)
				add_reason(d, &quiet_reasons, &quiet_details, resultcxt,
						   ((SuppressRule *) lfirst(lc))->name,
						   "the quiet hours of the rules together leave no time to send");
		}
	}

	/*
	 * The history the caps and the campaign rule read: around the time the
	 * message goes out (calendar-day windows start at a local midnight).
	 */
	for (int i = 0; i < cfg->nrules; i++)
	{
		SuppressRule *r = &cfg->rules[i];
		TimestampTz end;

		if ((r->kind != RULE_FREQUENCY_CAP && r->kind != RULE_SAME_CAMPAIGN) ||
			!rule_applies(r, msg) ||
			(r->kind == RULE_SAME_CAMPAIGN && msg->campaign == NULL))
			continue;
		if (r->kind == RULE_FREQUENCY_CAP && r->calendar_day)
			history_since = Min(history_since,
								window_calendar(&win[i], r, send, tz, &end) - 1);
		else
			history_since = Min(history_since, window_back(&win[i], r, send));
	}

	{
		SuppressHistoryRow *hist = NULL;
		int			nhist = 0;
		SuppressEventRow *evs = NULL;
		int			nevs = 0;

		if (need_history)
			hist = read_history(history, &ctx, history_since, take_lock, stmtcxt, &nhist);
		if (need_events)
		{
			List	   *names = NIL;
			ListCell   *lc;

			foreach(lc, events)
				names = lappend(names, strVal(lfirst(lc)));
			evs = read_events(ctx.snap, customer_id, names, events_since, t, stmtcxt, &nevs);
		}

		for (int i = 0; i < cfg->nrules; i++)
		{
			SuppressRule *r = &cfg->rules[i];

			CHECK_FOR_INTERRUPTS();
			if (!rule_applies(r, msg))
				continue;
			switch (r->kind)
			{
				case RULE_CONSENT:
					{
						char	   *why = consent_refusal(msg, ch, &ctx);

						if (why != NULL)
							add_reason(d, &sup_reasons, &sup_details, resultcxt, r->name, why);
						break;
					}
				case RULE_HOLDOUT:
					if (holdout_draw(r->name, customer_id) < r->share)
						add_reason(d, &sup_reasons, &sup_details, resultcxt, r->name,
								   psprintf("customer " INT64_FORMAT " is in the %g%% holdout group",
											customer_id, r->share * 100.0));
					break;
				case RULE_FREQUENCY_CAP:
					{
						TimestampTz lo;
						TimestampTz hi = DT_NOEND;
						int			count = 0;
						bool		before = false,
									after = false;

						/*
						 * A rolling window reaches both ways: every window
						 * of the rule's length that holds this message must
						 * stay within the cap with it.  The last message of
						 * a window to be decided sees all the others, so no
						 * window holds more than the cap even when messages
						 * are scheduled or inserted out of time order.
						 */
						if (r->calendar_day)
							lo = window_calendar(&win[i], r, send, tz, &hi);
						else
						{
							lo = window_back(&win[i], r, send) + 1;
							hi = window_fwd(&win[i], r, send);
						}
						for (int k = 0; k < nhist; k++)
							if (hist[k].out_at >= lo && hist[k].out_at < hi &&
								rule_counts(r, hist[k].channel, hist[k].category))
							{
								count++;
								if (hist[k].out_at > send)
									after = true;
								else
									before = true;
							}

						/*
						 * Messages on both sides of this one need not fit
						 * in one window with it: count the fullest window.
						 * (Those on one side all fit in one.)
						 */
						if (!r->calendar_day && count >= r->max_messages && before && after)
							count = busiest_window(r, hist, nhist, send, lo, hi);
						if (count >= r->max_messages)
						{
							char	   *span = r->calendar_day
							? psprintf("in %d calendar day%s in %s", calendar_days(r),
									   calendar_days(r) > 1 ? "s" : "", zone_name)
							: psprintf("within %s of this one", interval_text(&r->window));

							add_reason(d, &sup_reasons, &sup_details, resultcxt, r->name,
									   psprintf("%d message%s %s on %s; the cap is %d",
												count, count == 1 ? "" : "s", span,
												channels_text(r), r->max_messages));
						}
						break;
					}
				case RULE_SAME_CAMPAIGN:
					{
						TimestampTz lo;
						TimestampTz hi;

						if (msg->campaign == NULL)
							break;
						lo = window_back(&win[i], r, send) + 1;
						hi = window_fwd(&win[i], r, send);
						for (int k = 0; k < nhist; k++)
							if (hist[k].out_at >= lo && hist[k].out_at < hi &&
								hist[k].campaign != NULL &&
								strcmp(hist[k].campaign, msg->campaign) == 0)
							{
								add_reason(d, &sup_reasons, &sup_details, resultcxt, r->name,
										   psprintf("campaign \"%s\" reaches the customer by %s within %s of this message",
													msg->campaign, hist[k].channel,
													interval_text(&r->window)));
								break;
							}
						break;
					}
				case RULE_RECENT_EVENT:
					{
						TimestampTz lo;

						if (r->match_topic && msg->topic == NULL)
							break;
						lo = window_back(&win[i], r, t);
						for (int k = 0; k < nevs; k++)
						{
							if (evs[k].ts <= lo || strcmp(evs[k].event, r->event) != 0)
								continue;
							if (r->match_topic &&
								(evs[k].topic == NULL || strcmp(evs[k].topic, msg->topic) != 0))
								continue;
							add_reason(d, &sup_reasons, &sup_details, resultcxt, r->name,
									   r->match_topic
									   ? psprintf("%s of \"%s\" at %s, within %s", r->event,
												  msg->topic, timestamptz_to_str(evs[k].ts),
												  interval_text(&r->window))
									   : psprintf("%s at %s, within %s", r->event,
												  timestamptz_to_str(evs[k].ts),
												  interval_text(&r->window)));
							break;
						}
						break;
					}
				case RULE_QUIET_HOURS:
					break;		/* below, once the other rules are known */
			}
		}
	}

	/* quiet hours' suppressions come after the other rules' */
	sup_reasons = list_concat(sup_reasons, quiet_reasons);
	sup_details = list_concat(sup_details, quiet_details);

	if (sup_reasons != NIL)
	{
		d->status = SUPPRESS_SUPPRESSED;
		d->reasons = sup_reasons;
		d->details = sup_details;
	}
	else if (delay_reasons != NIL)
	{
		MemoryContext old = MemoryContextSwitchTo(resultcxt);
		ListCell   *lc;

		d->status = SUPPRESS_DELAYED;
		d->has_send_at = true;
		d->send_at = send;
		d->reasons = delay_reasons;
		d->details = NIL;
		foreach(lc, delay_details)
			d->details = lappend(d->details,
								 psprintf("%s; delayed to %s", (char *) lfirst(lc),
										  timestamptz_to_str(send)));
		MemoryContextSwitchTo(old);
	}
	else
		d->status = SUPPRESS_QUEUED;
	UnregisterSnapshot(ctx.snap);
}
