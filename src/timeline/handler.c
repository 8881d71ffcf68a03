/*-------------------------------------------------------------------------
 *
 * handler.c
 *		The handler of the timeline index access method: its capabilities,
 *		options and build phase names, and its module initialization.
 *
 * The index is not "amcanorder": the order it gives (time, merged across
 * the keys of an "= ANY") is not the order of its columns, which is all a
 * PostgreSQL 15 ordered index can declare.  The planner learns about the
 * time order from the hook in planner.c, which offers an index path with
 * ORDER BY ts pathkeys; the executor then asks for a backward scan (newest
 * first) or a forward one (oldest first).  Calling this handler, which
 * happens whenever the planner opens a timeline index, loads the library
 * and so installs that hook before the planner builds any path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amapi.h"
#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "fmgr.h"

#include "timeline/timeline.h"

static relopt_kind tl_relopt_kind;

/*
 * Module initialization, from _PG_init: the (empty) option kind, so that
 * unknown WITH options are refused, and the planner hook.
 */
void
tl_init(void)
{
	tl_relopt_kind = add_reloption_kind();
	tl_planner_init();
}

/*
 * amoptions: the access method has no options; any given is an error.
 */
static bytea *
tl_options(Datum reloptions, bool validate)
{
	return (bytea *) build_reloptions(reloptions, validate, tl_relopt_kind,
									  sizeof(int32), NULL, 0);
}

/*
 * ambuildphasename: names of the build sub-phases, as shown in
 * pg_stat_progress_create_index.
 */
static char *
tl_buildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case TL_PHASE_LOAD:
			return "loading tuples";
		case TL_PHASE_SORT:
			return "sorting tuples";
		case TL_PHASE_WRITE:
			return "writing posting lists";
		case TL_PHASE_DIRECTORY:
			return "writing directory";
		case TL_PHASE_WAL:
			return "logging pages to WAL";
		default:
			return NULL;
	}
}

/*
 * The access method handler.
 */
PG_FUNCTION_INFO_V1(tl_handler);
Datum
tl_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = TL_NSTRATEGIES;
	amroutine->amsupport = 0;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = false;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = true;
	amroutine->amoptionalkey = false;
	amroutine->amsearcharray = true;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = tl_build;
	amroutine->ambuildempty = tl_buildempty;
	amroutine->aminsert = tl_insert;
	amroutine->ambulkdelete = tl_bulkdelete;
	amroutine->amvacuumcleanup = tl_vacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = tl_costestimate;
	amroutine->amoptions = tl_options;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = tl_buildphasename;
	amroutine->amvalidate = tl_validate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = tl_beginscan;
	amroutine->amrescan = tl_rescan;
	amroutine->amgettuple = tl_gettuple;
	amroutine->amgetbitmap = tl_getbitmap;
	amroutine->amendscan = tl_endscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
