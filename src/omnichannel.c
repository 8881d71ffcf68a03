/*-------------------------------------------------------------------------
 *
 * omnichannel.c
 *		Module entry point of the omnichannel extension: the module magic,
 *		_PG_init with the extension's settings, and module-wide functions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include <unicode/uversion.h>

#include "omnichannel.h"
#include "journey/journey.h"
#include "timeline/timeline.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* omni.default_time_zone: the zone of customers whose own is not known. */
char	   *omni_default_time_zone = NULL;

/*
 * Check hook of omni.default_time_zone: the value must be a time zone
 * PostgreSQL knows (and not a leap-second zone, as for TimeZone).
 */
static bool
check_default_time_zone(char **newval, void **extra, GucSource source)
{
	pg_tz	   *tz = pg_tzset(*newval);

	if (tz == NULL)
	{
		GUC_check_errmsg("time zone \"%s\" is not recognized",
						 omni_clip_value(*newval, strlen(*newval)));
		GUC_check_errhint("Use an IANA time zone name such as \"America/New_York\".");
		return false;
	}
	if (!pg_tz_acceptable(tz))
	{
		GUC_check_errmsg("time zone \"%s\" appears to use leap seconds", *newval);
		return false;
	}
	return true;
}

/*
 * omni.touchpoint_layout: how CREATE EXTENSION creates omni.touchpoint,
 * 'table' (a plain table) or 'partitioned' (hash-partitioned by
 * customer_id, partitions attached by the DBA).  Read by the install
 * script only: changing it later changes nothing of an installed extension.
 */
char	   *omni_touchpoint_layout = NULL;

/* Check hook of omni.touchpoint_layout: one of the two layouts. */
static bool
check_touchpoint_layout(char **newval, void **extra, GucSource source)
{
	if (strcmp(*newval, "table") == 0 || strcmp(*newval, "partitioned") == 0)
		return true;
	GUC_check_errmsg("invalid value for parameter \"omni.touchpoint_layout\": \"%s\"",
					 omni_clip_value(*newval, strlen(*newval)));
	GUC_check_errdetail("omni.touchpoint is created either as a plain table or partitioned by customer_id.");
	GUC_check_errhint("Use \"table\" or \"partitioned\".");
	return false;
}

/*
 * Define the extension's settings and reserve the "omni." prefix, so that a
 * misspelled omni.* setting is an error instead of a silently ignored
 * placeholder.
 */
void
_PG_init(void)
{
	DefineCustomStringVariable("omni.default_time_zone",
							   "Time zone of customers whose omni.customer.time_zone is NULL.",
							   "Quiet hours and calendar-day frequency caps are evaluated in the customer's local time.",
							   &omni_default_time_zone,
							   "UTC",
							   PGC_USERSET,
							   0,
							   check_default_time_zone, NULL, NULL);

	DefineCustomStringVariable("omni.touchpoint_layout",
							   "Layout of omni.touchpoint created by CREATE EXTENSION: table or partitioned.",
							   "\"partitioned\" creates omni.touchpoint partitioned by hash of customer_id, without partitions; "
							   "an installed extension keeps the layout it was created with.",
							   &omni_touchpoint_layout,
							   "table",
							   PGC_USERSET,
							   0,
							   check_touchpoint_layout, NULL, NULL);

	journey_define_settings();
	tl_init();

	MarkGUCPrefixReserved(OMNI_GUC_PREFIX);
}

/*
 * omni.icu_version(): the ICU version the library was compiled against.
 *
 * Normalization results depend on ICU's data, so an operator who upgrades ICU
 * can compare this value with the one recorded when identities were written.
 */
PG_FUNCTION_INFO_V1(omni_icu_version);
Datum
omni_icu_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(U_ICU_VERSION));
}

/*
 * Pin search_path to OMNI_PINNED_SEARCH_PATH for the queries that follow,
 * unless it is that already (a function's SET clause pinned it); returns
 * what omni_unpin_search_path needs to put it back.  An error in between
 * puts it back with the abort of the (sub)transaction.  Functions that run
 * no query in their common case (omni.link, omni.suppress()) pin the path
 * only around the queries they do run: a SET clause would set and restore
 * it on every call.
 */
int
omni_pin_search_path(void)
{
	int			level;

	if (namespace_search_path != NULL &&
		strcmp(namespace_search_path, OMNI_PINNED_SEARCH_PATH) == 0)
		return 0;
	level = NewGUCNestLevel();
	(void) set_config_option("search_path", OMNI_PINNED_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* Undo omni_pin_search_path. */
void
omni_unpin_search_path(int level)
{
	if (level > 0)
		AtEOXact_GUC(true, level);
}
