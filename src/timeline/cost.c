/*-------------------------------------------------------------------------
 *
 * cost.c
 *		Cost estimation of timeline index scans.
 *
 * genericcostestimate already models the index well: each key of an
 * "= ANY" is one descent (num_sa_scans) reading the pages of its list,
 * and the pages per key come from the index's real size, so compression
 * shows.  On top of it we charge the directory descent per key, and set
 * the startup cost from how the scan works: newest first (a backward
 * scan, as the planner hook offers for ORDER BY ts DESC) the merge must
 * read the newest segment of every key before the first row, and the rest
 * is paid as rows are fetched, so a LIMIT pays a fraction of the total;
 * oldest first, or unordered, every list is read before the first row,
 * so all of the index cost is startup cost.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/selfuncs.h"

#include "timeline/timeline.h"

/* Directory levels charged per key descent (they are usually cached). */
#define TL_DESCENT_LEVELS	3

/*
 * amcostestimate
 */
void
tl_costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				Cost *indexStartupCost, Cost *indexTotalCost,
				Selectivity *indexSelectivity, double *indexCorrelation,
				double *indexPages)
{
	GenericCosts costs;
	double		nkeys;
	double		pages_per_key;
	Cost		descent;
	Cost		first_pages;

	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);

	nkeys = Max(costs.num_sa_scans, 1.0);
	descent = nkeys * TL_DESCENT_LEVELS * 50.0 * cpu_operator_cost;
	costs.indexTotalCost += descent;

	if (ScanDirectionIsBackward(path->indexscandir))
	{
		/* the newest page of every key, and the heap of cursors */
		pages_per_key = Max(costs.numIndexPages, 1.0);
		first_pages = nkeys * Min(pages_per_key, 1.0) * costs.spc_random_page_cost;
		costs.indexStartupCost += descent + first_pages +
			nkeys * cpu_operator_cost * 2.0;
		costs.indexStartupCost = Min(costs.indexStartupCost, costs.indexTotalCost);
	}
	else
		costs.indexStartupCost = costs.indexTotalCost;

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0.0;
	*indexPages = costs.numIndexPages;
}
