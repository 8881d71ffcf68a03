/*-------------------------------------------------------------------------
 *
 * planner.c
 *		The planner hook that lets "ORDER BY ts" use a timeline index.
 *
 * PostgreSQL 15 can only learn an index's output order from amcanorder
 * (the order of the index columns, which for "key = ANY(...)" is key
 * first) or from amcanorderbyop (ORDER BY a distance operator).  Neither
 * describes what a timeline scan gives: every matching row of all the
 * keys, merged in time order.  So a set_rel_pathlist_hook offers, for each
 * timeline index of a table whose query is ordered by the index's time
 * column, an index path carrying those pathkeys: ORDER BY ts DESC (NULLs
 * first, the default) as a backward scan, newest first, and ORDER BY ts
 * ASC (NULLs last) as a forward scan.  The path competes on cost with the
 * others: with a LIMIT, its low startup cost (cost.c) wins over reading
 * and sorting every row of every key.  The path's quals are the table's
 * restriction clauses the index can use: equality or "= ANY" on the key
 * (required) and comparisons of the time.  Partitions get such paths too,
 * so an ordered Append/Merge Append of them can use them.
 *
 * The hook is installed by _PG_init; the library is loaded at the latest
 * when the planner first opens a timeline index, which get_relation_info
 * does before any path is built, so the hook is in place whenever it can
 * matter, even in a new backend that has not used the extension before.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "timeline/timeline.h"

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

/*
 * The IndexClause for rinfo on column indexcol of a timeline index, or
 * NULL when the index cannot use it.  Mirrors what indxpath.c accepts for
 * plain operators and "= ANY(array)": the indexed column on one side (it
 * is commuted to the left if need be), on the other anything that does
 * not reference the table and is not volatile.
 */
static IndexClause *
tl_match_clause(RelOptInfo *rel, IndexOptInfo *index, int indexcol,
				RestrictInfo *rinfo)
{
	Oid			opfamily = index->opfamily[indexcol];
	Expr	   *clause = rinfo->clause;
	IndexClause *iclause;
	RestrictInfo *qual = NULL;
	Oid			opno;
	int			strategy;

	if (rinfo->pseudoconstant || !restriction_is_securely_promotable(rinfo, rel))
		return NULL;

	if (IsA(clause, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) clause;
		Node	   *left;
		Node	   *right;

		if (list_length(op->args) != 2)
			return NULL;
		left = linitial(op->args);
		right = lsecond(op->args);
		opno = op->opno;
		if (match_index_to_operand(left, indexcol, index) &&
			!bms_is_member(rel->relid, rinfo->right_relids) &&
			!contain_volatile_functions(right))
			qual = rinfo;
		else if (match_index_to_operand(right, indexcol, index) &&
				 !bms_is_member(rel->relid, rinfo->left_relids) &&
				 !contain_volatile_functions(left))
		{
			opno = get_commutator(opno);
			if (!OidIsValid(opno) || !op_in_opfamily(opno, opfamily))
				return NULL;
			qual = commute_restrictinfo(rinfo, opno);
		}
		else
			return NULL;
	}
	else if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) clause;

		if (!saop->useOr || list_length(saop->args) != 2)
			return NULL;
		opno = saop->opno;
		if (!match_index_to_operand(linitial(saop->args), indexcol, index) ||
			bms_is_member(rel->relid, rinfo->right_relids) ||
			contain_volatile_functions(lsecond(saop->args)))
			return NULL;
		qual = rinfo;
	}
	else
		return NULL;

	if (!op_in_opfamily(opno, opfamily))
		return NULL;
	strategy = get_op_opfamily_strategy(opno, opfamily);
	if (indexcol == 0 && strategy != TL_EQ_STRATEGY)
		return NULL;

	iclause = makeNode(IndexClause);
	iclause->rinfo = rinfo;
	iclause->indexquals = list_make1(qual);
	iclause->lossy = false;
	iclause->indexcol = indexcol;
	iclause->indexcols = NIL;
	return iclause;
}

/*
 * Offer ordered paths of one timeline index, when the query's first sort
 * key is the index's time column.
 */
static void
tl_add_ordered_paths(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte,
					 IndexOptInfo *index)
{
	AttrNumber	tsattno = index->indexkeys[1];
	Oid			atttype;
	int32		atttypmod;
	Oid			attcollation;
	Var		   *var;
	TypeCacheEntry *tce;
	List	   *keyclauses = NIL;
	List	   *tsclauses = NIL;
	ListCell   *lc;
	int			dir;

	if (tsattno <= 0)
		return;					/* an expression: not handled */

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		IndexClause *ic;

		if ((ic = tl_match_clause(rel, index, 0, rinfo)) != NULL)
			keyclauses = lappend(keyclauses, ic);
		else if ((ic = tl_match_clause(rel, index, 1, rinfo)) != NULL)
			tsclauses = lappend(tsclauses, ic);
	}
	if (keyclauses == NIL)
		return;					/* the key must be constrained */

	get_atttypetypmodcoll(rte->relid, tsattno, &atttype, &atttypmod, &attcollation);
	var = makeVar(rel->relid, tsattno, atttype, atttypmod, attcollation, 0);
	tce = lookup_type_cache(atttype, TYPECACHE_LT_OPR | TYPECACHE_GT_OPR);

	for (dir = 0; dir < 2; dir++)
	{
		bool		desc = (dir == 0);
		Oid			opno = desc ? tce->gt_opr : tce->lt_opr;
		List	   *pathkeys;
		int			ncommon;
		IndexPath  *ipath;

		if (!OidIsValid(opno))
			continue;
		pathkeys = build_expression_pathkey(root, (Expr *) var, NULL, opno,
											rel->relids, false);
		if (pathkeys == NIL)
			continue;
		pathkeys_count_contained_in(root->query_pathkeys, pathkeys, &ncommon);
		if (ncommon < 1)
			continue;

		ipath = create_index_path(root, index,
								  list_concat_copy(keyclauses, tsclauses),
								  NIL, NIL, pathkeys,
								  desc ? BackwardScanDirection : ForwardScanDirection,
								  false, NULL, 1.0, false);
		add_path(rel, (Path *) ipath);
	}
}

/*
 * set_rel_pathlist_hook: add ordered timeline paths to plain tables and
 * partitions whose query has an ORDER BY.
 */
static void
tl_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
					RangeTblEntry *rte)
{
	ListCell   *lc;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (rte->rtekind != RTE_RELATION || rel->rtekind != RTE_RELATION ||
		root->query_pathkeys == NIL || IS_DUMMY_REL(rel))
		return;

	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);

		if (index->amcostestimate != tl_costestimate ||
			index->nkeycolumns != 2 ||
			(index->indpred != NIL && !index->predOK))
			continue;
		tl_add_ordered_paths(root, rel, rte, index);
	}
}

/*
 * Install the hook (from _PG_init).
 */
void
tl_planner_init(void)
{
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = tl_set_rel_pathlist;
}
