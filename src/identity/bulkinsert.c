/*-------------------------------------------------------------------------
 *
 * bulkinsert.c
 *		Direct insertion into the identity tables: many rows for the bulk
 *		path (omni.resolve_all), one for omni.link.
 *
 * Rows are inserted the way COPY FROM does it: table_multi_insert in
 * batches (a single row for omni_insert_row), index entries, NOT NULL and CHECK constraints, column defaults
 * for the columns the caller does not set, privileges checked.  What is
 * skipped is the per-row foreign key check triggers: those run one query
 * per row and cost more than everything else of a bulk run together.  The
 * caller guarantees the references by construction (it inserts customers
 * before the identities that name them and identities before their links,
 * or has just found the rows named) and holds locks that keep the
 * referenced rows from going away meanwhile.
 *
 * A table with any other trigger (one a DBA added) is never written here:
 * omni_bulk_usable says so and the caller goes through SQL instead, so no
 * trigger is ever skipped silently.
 *
 * A large first load (at least BULK_DEFER_MIN rows into a table that has
 * never held any: no pages) leaves the indexes alone while the rows go in
 * and rebuilds them at the end, the way CREATE INDEX builds one: sorting
 * the keys once and writing the leaves in order costs a fraction of
 * inserting a million entries one by one.  The rebuild takes the indexes'
 * ACCESS EXCLUSIVE lock until commit: readers of that table then wait for
 * the load to commit instead of seeing the table empty.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_relation.h"
#include "rewrite/rewriteHandler.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "identity/identity.h"

#define BULK_BATCH 1000
#define BULK_DEFER_MIN 10000

struct OmniBulkInsert
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	CommandId	cid;
	int			ncols;
	AttrNumber *attnums;		/* attribute of each caller column */
	int			ndefaults;
	AttrNumber *default_attnums;
	ExprState **default_exprs;
	bool		defer_indexes;	/* rebuild them at the end */
	TupleTableSlot **slots;		/* room for maxslots rows between flushes */
	int			maxslots;
	int			nslots;
	MemoryContext batchcxt;
};

/*
 * The OIDs omni_relid found, by name, kept until a relation or a schema is
 * created, renamed or dropped: every link looks several of them up.
 */
#define RELID_CACHE_SIZE 32

typedef struct RelidCacheEntry
{
	char		name[NAMEDATALEN];
	Oid			relid;
} RelidCacheEntry;

static RelidCacheEntry relid_cache[RELID_CACHE_SIZE];
static int	relid_cache_n = 0;

static void
relid_cache_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	relid_cache_n = 0;
}

/* The OID of omni.<relname>; an error when there is none. */
Oid
omni_relid(const char *relname)
{
	static bool registered = false;
	Oid			relid;

	for (int i = 0; i < relid_cache_n; i++)
		if (strcmp(relid_cache[i].name, relname) == 0)
			return relid_cache[i].relid;
	if (!registered)
	{
		CacheRegisterSyscacheCallback(RELNAMENSP, relid_cache_reset, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACENAME, relid_cache_reset, (Datum) 0);
		registered = true;
	}
	relid = get_relname_relid(relname, get_namespace_oid("omni", false));
	if (!OidIsValid(relid))
		elog(ERROR, "relation \"omni.%s\" does not exist", relname);
	if (relid_cache_n < RELID_CACHE_SIZE && strlen(relname) < NAMEDATALEN)
	{
		strlcpy(relid_cache[relid_cache_n].name, relname, NAMEDATALEN);
		relid_cache[relid_cache_n++].relid = relid;
	}
	return relid;
}

/*
 * Whether omni.<relname> may be written directly: its only triggers are the
 * internal ones of foreign keys, and no row level security policy applies
 * to the current user.
 */
bool
omni_bulk_usable(const char *relname)
{
	/*
	 * The lock a write takes, kept: no trigger can be added between this
	 * answer and the write it allows (CREATE TRIGGER waits for it).
	 */
	Relation	rel = table_open(omni_relid(relname), RowExclusiveLock);
	bool		usable = true;
	int			i;

	if (rel->trigdesc != NULL)
	{
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *t = &rel->trigdesc->triggers[i];

			if (!t->tgisinternal || !OidIsValid(t->tgconstraint))
				usable = false;
		}
	}
	/* row level security that applies here: only a query enforces it */
	if (check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_ENABLED)
		usable = false;
	table_close(rel, NoLock);
	return usable;
}

/*
 * Whether the indexes of a table can be rebuilt at the end of a load: the
 * table has never held a row, and neither it nor its indexes are in use
 * elsewhere in this session (REINDEX would refuse).
 */
static bool
can_defer_indexes(Relation rel)
{
	List	   *indexes;
	ListCell   *lc;
	bool		ok = true;

	if (RelationGetNumberOfBlocks(rel) != 0 || rel->rd_refcnt != 1 ||
		AfterTriggerPendingOnRel(RelationGetRelid(rel)))
		return false;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	irel = index_open(lfirst_oid(lc), AccessShareLock);

		if (irel->rd_refcnt != 1)
			ok = false;
		index_close(irel, AccessShareLock);
	}
	list_free(indexes);
	return ok;
}

/*
 * The planned column defaults and CHECK constraints of a table, kept for
 * the backend's life until the table's relcache entry is invalidated.  The
 * executor reads them from their catalog text form at every statement
 * (stringToNode, then planning), which costs more than inserting the row
 * when a statement inserts one (omni.link).  The executor only reads them
 * (as it reads a cached plan), but an invalidation may arrive at any
 * catalog access while a user still evaluates them: each user pins the
 * entry until its executor state goes, and an entry invalidated meanwhile
 * is freed when its last pin goes.
 */
typedef struct PlannedRel
{
	Oid			relid;
	MemoryContext cxt;			/* holds this struct and the expressions */
	int			pins;
	bool		dropped;		/* out of the cache: freed at the last unpin */
	int			natts;
	Expr	  **defaults;		/* by attribute number - 1; NULL: none */
	int			ncheck;
	Expr	  **checks;			/* in the order of the relcache's */
} PlannedRel;

typedef struct PlannedRelEntry
{
	Oid			relid;			/* hash key */
	PlannedRel *rel;
} PlannedRelEntry;

static HTAB *planned_rels = NULL;
static uint64 planned_invalidations = 0;

static void
planned_rel_drop(PlannedRel *p)
{
	p->dropped = true;
	if (p->pins == 0)
		MemoryContextDelete(p->cxt);
}

/* Relcache invalidation: forget the table (every table: relid invalid). */
static void
planned_rels_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	PlannedRelEntry *e;

	planned_invalidations++;
	if (planned_rels == NULL)
		return;
	hash_seq_init(&status, planned_rels);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		if (OidIsValid(relid) && e->relid != relid)
			continue;
		planned_rel_drop(e->rel);
		(void) hash_search(planned_rels, &e->relid, HASH_REMOVE, NULL);
	}
}

/* The end of a pin: its executor state's memory goes. */
static void
planned_rel_unpin(void *arg)
{
	PlannedRel *p = (PlannedRel *) arg;

	if (--p->pins == 0 && p->dropped)
		MemoryContextDelete(p->cxt);
}

/*
 * The planned defaults and checks of rel (open and locked), pinned until
 * owner (an executor state's memory) is reset or deleted: the cached ones,
 * or read now, and cached unless an invalidation arrived meanwhile (then
 * they serve this caller only).
 */
static PlannedRel *
planned_rel(Relation rel, MemoryContext owner)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	PlannedRelEntry *e;
	PlannedRel *p;
	MemoryContextCallback *cb;
	uint64		before = planned_invalidations;
	MemoryContext cxt,
				old;

	if (planned_rels == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(PlannedRelEntry);
		ctl.hcxt = CacheMemoryContext;
		planned_rels = hash_create("omnichannel planned relations", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(planned_rels_invalidate, (Datum) 0);
	}
	e = hash_search(planned_rels, &relid, HASH_FIND, NULL);
	if (e != NULL)
		p = e->rel;
	else
	{
		/* under this call's memory until built: an error frees it */
		cxt = AllocSetContextCreate(CurrentMemoryContext, "omnichannel planned relation",
									ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(cxt);
		p = palloc0(sizeof(PlannedRel));
		p->relid = relid;
		p->cxt = cxt;
		p->natts = desc->natts;
		p->defaults = palloc0(sizeof(Expr *) * Max(1, desc->natts));
		for (int i = 1; i <= desc->natts; i++)
		{
			Node	   *def;

			if (TupleDescAttr(desc, i - 1)->attisdropped)
				continue;
			def = build_column_default(rel, i);
			if (def != NULL)
				p->defaults[i - 1] = expression_planner((Expr *) def);
		}
		p->ncheck = desc->constr ? desc->constr->num_check : 0;
		p->checks = palloc0(sizeof(Expr *) * Max(1, p->ncheck));
		for (int i = 0; i < p->ncheck; i++)
			p->checks[i] = expression_planner((Expr *) stringToNode(desc->constr->check[i].ccbin));
		MemoryContextSwitchTo(old);
		MemoryContextSetParent(cxt, CacheMemoryContext);
		if (planned_invalidations != before)
			p->dropped = true;	/* possibly stale: for this caller only */
		else
		{
			e = hash_search(planned_rels, &relid, HASH_ENTER, NULL);
			e->rel = p;
		}
	}
	cb = MemoryContextAlloc(owner, sizeof(MemoryContextCallback));
	cb->func = planned_rel_unpin;
	cb->arg = p;
	p->pins++;
	MemoryContextRegisterResetCallback(owner, cb);
	return p;
}

static OmniBulkInsert *bulk_begin(const char *relname, int ncols, const char *const *cols,
								  int64 nrows, bool speculative);

/*
 * Start inserting about nrows rows into omni.<relname>, the caller setting
 * the named columns and the others taking their defaults.
 */
OmniBulkInsert *
omni_bulk_begin(const char *relname, int ncols, const char *const *cols, int64 nrows)
{
	return bulk_begin(relname, ncols, cols, nrows, false);
}

/*
 * omni_bulk_begin, with the unique indexes ready for speculative insertion
 * (INSERT ... ON CONFLICT) when speculative.
 */
static OmniBulkInsert *
bulk_begin(const char *relname, int ncols, const char *const *cols, int64 nrows,
		   bool speculative)
{
	OmniBulkInsert *b = palloc0(sizeof(OmniBulkInsert));
	Oid			relid = omni_relid(relname);
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	TupleDesc	desc;
	int			i;
	bool	   *set;

	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = get_rel_relkind(relid);
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_INSERT;
	ExecCheckRTPerms(list_make1(rte), true);

	b->estate = CreateExecutorState();
	ExecInitRangeTable(b->estate, list_make1(rte));
	b->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(b->estate, b->rri, 1);
	b->rel = b->rri->ri_RelationDesc;
	b->defer_indexes = (nrows >= BULK_DEFER_MIN && can_defer_indexes(b->rel));
	if (!b->defer_indexes)
		ExecOpenIndices(b->rri, speculative);
	b->bistate = nrows > 1 ? GetBulkInsertState() : NULL;
	b->cid = GetCurrentCommandId(true);
	desc = RelationGetDescr(b->rel);

	b->ncols = ncols;
	b->attnums = palloc(sizeof(AttrNumber) * ncols);
	set = palloc0(sizeof(bool) * (desc->natts + 1));
	for (i = 0; i < ncols; i++)
	{
		b->attnums[i] = attnameAttNum(b->rel, cols[i], false);
		if (b->attnums[i] <= 0)
			elog(ERROR, "column \"%s\" of omni.%s does not exist", cols[i], relname);
		set[b->attnums[i]] = true;
	}
	b->default_attnums = palloc(sizeof(AttrNumber) * desc->natts);
	b->default_exprs = palloc(sizeof(ExprState *) * desc->natts);

	/*
	 * The defaults of the columns not set, and the CHECK constraints, which
	 * ExecConstraints would otherwise read from the catalog's text form;
	 * their states in the executor state's memory, as ExecPrepareExpr would
	 * make them, the planned expressions pinned as long (see PlannedRel).
	 */
	{
		PlannedRel *pr = planned_rel(b->rel, b->estate->es_query_cxt);
		int			ncheck = desc->constr ? desc->constr->num_check : 0;
		MemoryContext old;

		if (pr->natts != desc->natts || pr->ncheck != ncheck)
			elog(ERROR, "cached form of omni.%s is out of date", relname);
		old = MemoryContextSwitchTo(b->estate->es_query_cxt);
		for (i = 1; i <= desc->natts; i++)
		{
			if (set[i] || pr->defaults[i - 1] == NULL)
				continue;		/* set by the caller, or NULL */
			b->default_attnums[b->ndefaults] = i;
			b->default_exprs[b->ndefaults++] = ExecInitExpr(pr->defaults[i - 1], NULL);
		}
		if (ncheck > 0)
		{
			b->rri->ri_ConstraintExprs = palloc(sizeof(ExprState *) * ncheck);
			for (i = 0; i < ncheck; i++)
				b->rri->ri_ConstraintExprs[i] = ExecInitExpr(pr->checks[i], NULL);
		}
		MemoryContextSwitchTo(old);
	}
	/* a single row (most callers) needs one slot and little memory */
	b->maxslots = (int) Min(Max(nrows, 1), BULK_BATCH);
	b->slots = palloc0(sizeof(TupleTableSlot *) * b->maxslots);
	b->batchcxt = nrows > 1 ?
		AllocSetContextCreate(CurrentMemoryContext, "omni bulk insert", ALLOCSET_DEFAULT_SIZES) :
		AllocSetContextCreate(CurrentMemoryContext, "omni bulk insert", ALLOCSET_SMALL_SIZES);
	return b;
}

/* Write the buffered rows and their index entries. */
static void
bulk_flush(OmniBulkInsert *b)
{
	int			i;

	if (b->nslots == 0)
		return;
	table_multi_insert(b->rel, b->slots, b->nslots, b->cid, 0, b->bistate);
	for (i = 0; i < b->nslots; i++)
	{
		if (b->rri->ri_NumIndices > 0)
		{
			List	   *recheck;

			ResetPerTupleExprContext(b->estate);
			recheck = ExecInsertIndexTuples(b->rri, b->slots[i], b->estate,
											false, false, NULL, NIL);
			list_free(recheck);
		}
		ExecClearTuple(b->slots[i]);
	}
	b->nslots = 0;
	MemoryContextReset(b->batchcxt);
}

/*
 * Add one row: values and nulls in the order of the columns given to
 * omni_bulk_begin.  By-reference values are copied.
 */
void
omni_bulk_row(OmniBulkInsert *b, Datum *values, bool *nulls)
{
	TupleTableSlot *slot;
	TupleDesc	desc = RelationGetDescr(b->rel);
	MemoryContext old;
	int			i;

	/*
	 * A full batch is written when the next row comes (or at the end), so
	 * the row just added stays in its slot until then: the single-row
	 * callers below read it back.  The slots are made as they are first
	 * needed.
	 */
	if (b->nslots == b->maxslots)
		bulk_flush(b);
	if (b->slots[b->nslots] == NULL)
		b->slots[b->nslots] = table_slot_create(b->rel, &b->estate->es_tupleTable);
	slot = b->slots[b->nslots];
	old = MemoryContextSwitchTo(b->batchcxt);
	ExecClearTuple(slot);
	for (i = 0; i < desc->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
	}
	for (i = 0; i < b->ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, b->attnums[i] - 1);

		slot->tts_isnull[b->attnums[i] - 1] = nulls[i];
		slot->tts_values[b->attnums[i] - 1] =
			nulls[i] ? (Datum) 0 : datumCopy(values[i], att->attbyval, att->attlen);
	}
	if (b->ndefaults > 0)
	{
		ExprContext *econtext = GetPerTupleExprContext(b->estate);

		for (i = 0; i < b->ndefaults; i++)
		{
			AttrNumber	a = b->default_attnums[i];
			Form_pg_attribute att = TupleDescAttr(desc, a - 1);
			Datum		d = ExecEvalExpr(b->default_exprs[i], econtext, &slot->tts_isnull[a - 1]);

			slot->tts_values[a - 1] = slot->tts_isnull[a - 1] ? (Datum) 0 :
				datumCopy(d, att->attbyval, att->attlen);
		}
		ResetPerTupleExprContext(b->estate);
	}
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);
	if (b->rel->rd_att->constr)
		ExecConstraints(b->rri, slot, b->estate);
	b->nslots++;
}

/* Finish: write what is buffered, close everything, make the rows visible. */
void
omni_bulk_end(OmniBulkInsert *b)
{
	Oid			relid = RelationGetRelid(b->rel);
	bool		rebuild = b->defer_indexes;

	bulk_flush(b);
	if (b->bistate != NULL)
		FreeBulkInsertState(b->bistate);
	table_finish_bulk_insert(b->rel, 0);
	ExecResetTupleTable(b->estate->es_tupleTable, false);
	ExecCloseResultRelations(b->estate);	/* and their indexes */
	ExecCloseRangeTableRelations(b->estate);
	FreeExecutorState(b->estate);
	MemoryContextDelete(b->batchcxt);
	CommandCounterIncrement();
	if (rebuild)
	{
		ReindexParams params = {0};

		/* with the unique indexes checked, as CREATE UNIQUE INDEX does */
		reindex_relation(relid, REINDEX_REL_CHECK_CONSTRAINTS, &params);
		CommandCounterIncrement();
	}
}

/*
 * The attribute of column "ret" of the table being written, a by-value
 * column the caller reads back: which needs what INSERT ... RETURNING it
 * needs, SELECT on the table or on the column.
 */
static AttrNumber
returned_column(OmniBulkInsert *b, const char *ret)
{
	AttrNumber	att = attnameAttNum(b->rel, ret, false);
	Oid			relid = RelationGetRelid(b->rel);

	if (att <= 0 || !TupleDescAttr(RelationGetDescr(b->rel), att - 1)->attbyval)
		elog(ERROR, "column \"%s\" of omni.%s is not a by-value column", ret,
			 RelationGetRelationName(b->rel));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck(relid, att, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(b->rel));
	return att;
}

/*
 * Insert one row into omni.<relname> the way omni_bulk_row does (defaults,
 * NOT NULL and CHECK constraints, index entries, INSERT privilege) and
 * without its foreign key checks: the caller holds the locks those checks
 * would take.  Returns the value the row got in column "ret", of a type
 * passed by value (the id its default drew).  Only for a table
 * omni_bulk_usable() accepts.
 */
Datum
omni_insert_row(const char *relname, int ncols, const char *const *cols,
				Datum *values, bool *nulls, const char *ret)
{
	OmniBulkInsert *b = omni_bulk_begin(relname, ncols, cols, 1);
	AttrNumber	ret_att = returned_column(b, ret);
	Datum		result;

	omni_bulk_row(b, values, nulls);
	if (b->slots[0]->tts_isnull[ret_att - 1])
		elog(ERROR, "column \"%s\" of omni.%s got no value", ret, relname);
	result = b->slots[0]->tts_values[ret_att - 1];
	omni_bulk_end(b);
	return result;
}

/*
 * Insert one row as INSERT ... ON CONFLICT ON CONSTRAINT arbiter DO NOTHING
 * would, below the executor: a speculative insertion (see nodeModifyTable.c)
 * with the table's defaults, constraints, index entries and privileges, and
 * without its foreign key checks (the caller holds the locks they would
 * take).  Returns false, writing nothing, when a row with the same arbiter
 * key exists (committed, or by a transaction this waits for and that
 * commits); otherwise true, with the value the row got in column "ret" (by
 * value) and its tid.  Under REPEATABLE READ, a conflicting row this
 * transaction cannot see is a serialization failure, as for ON CONFLICT.
 */
bool
omni_insert_row_unless_exists(const char *relname, const char *arbiter, int ncols,
							  const char *const *cols, Datum *values, bool *nulls,
							  const char *ret, Datum *retval, ItemPointer tid)
{
	OmniBulkInsert *b = bulk_begin(relname, ncols, cols, 1, true);
	Oid			arbiter_oid = get_relname_relid(arbiter, RelationGetNamespace(b->rel));
	List	   *arbiters;
	AttrNumber	ret_att = returned_column(b, ret);
	TupleTableSlot *slot;
	bool		inserted = false;

	if (!OidIsValid(arbiter_oid))
		elog(ERROR, "index \"omni.%s\" does not exist", arbiter);
	arbiters = list_make1_oid(arbiter_oid);

	/* the row, with its defaults and constraints checked, out of the batch */
	omni_bulk_row(b, values, nulls);
	slot = b->slots[0];
	b->nslots = 0;

	for (;;)
	{
		ItemPointerData conflict;
		uint32		token;
		bool		spec_conflict = false;
		List	   *recheck;

		CHECK_FOR_INTERRUPTS();
		/* waits for a transaction inserting the same key */
		if (!ExecCheckIndexConstraints(b->rri, slot, b->estate, &conflict, arbiters))
		{
			if (IsolationUsesXactSnapshot())
			{
				TupleTableSlot *other = table_slot_create(b->rel, NULL);
				Snapshot	snap = GetTransactionSnapshot();

				if (!table_tuple_fetch_row_version(b->rel, &conflict, SnapshotAny, other))
					elog(ERROR, "could not fetch the conflicting row of omni.%s", relname);
				if (!table_tuple_satisfies_snapshot(b->rel, other, snap))
				{
					bool		isnull;
					TransactionId xmin = DatumGetTransactionId(slot_getsysattr(other, MinTransactionIdAttributeNumber,
																			   &isnull));

					if (!TransactionIdIsCurrentTransactionId(xmin))
						ereport(ERROR,
								(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
								 errmsg("could not serialize access due to concurrent update")));
				}
				ExecDropSingleTupleTableSlot(other);
			}
			break;
		}
		token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
		table_tuple_insert_speculative(b->rel, slot, b->cid, 0, NULL, token);
		recheck = ExecInsertIndexTuples(b->rri, slot, b->estate, false, true,
										&spec_conflict, arbiters);
		table_tuple_complete_speculative(b->rel, slot, token, !spec_conflict);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		list_free(recheck);
		if (!spec_conflict)
		{
			inserted = true;
			*retval = slot->tts_values[ret_att - 1];
			*tid = slot->tts_tid;
			break;
		}
		/* another transaction inserted the key meanwhile: check again */
	}
	ExecClearTuple(slot);
	omni_bulk_end(b);
	return inserted;
}

/*
 * Lock a row found with snap, the way SELECT ... FOR <mode> does: waiting
 * for a transaction changing it, and, under READ COMMITTED, following an
 * update to the row's last version (in the slot, with its tid); under
 * REPEATABLE READ an update meanwhile is a serialization failure.  Returns
 * the lock's result: TM_Ok when locked.
 */
TM_Result
omni_lock_row(Relation heap, ItemPointer tid, Snapshot snap, TupleTableSlot *slot,
			  LockTupleMode mode)
{
	TM_FailureData tmfd;
	TM_Result	res;
	int			flags = TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS;

	if (!IsolationUsesXactSnapshot())
		flags |= TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
	ExecClearTuple(slot);
	res = table_tuple_lock(heap, tid, snap, slot, GetCurrentCommandId(false), mode,
						   LockWaitBlock, flags, &tmfd);
	if (res == TM_Updated && IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
	return res;
}

/*
 * Direct updates: rows of one table changed below the executor, for the
 * merges of omni.link.  Each row is locked first (FOR NO KEY UPDATE, an
 * updated row followed to its last version under READ COMMITTED, as
 * UPDATE's re-check does), then rewritten with the table's CHECK
 * constraints and, when the update is not HOT, its index entries.  The
 * privileges are those of the UPDATE it replaces: UPDATE on the columns
 * set, SELECT on those and on the other columns the caller reads (those
 * the rows are found by among them).  Foreign
 * key triggers are skipped: the caller holds the locks their checks would
 * take.  Only for a table omni_bulk_usable() accepts.
 */
struct OmniUpdate
{
	EState	   *estate;
	ResultRelInfo *rri;
	Relation	rel;
	TupleTableSlot *cur;
	TupleTableSlot *upd;
	Snapshot	snap;
	bool		indexes_open;	/* opened by the first update that is not HOT */
};

OmniUpdate *
omni_update_begin(const char *relname, int nread, const char *const *read, int ncols,
				  const char *const *cols)
{
	OmniUpdate *u = palloc0(sizeof(OmniUpdate));
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	TupleDesc	desc;
	AttrNumber	att;

	rte->rtekind = RTE_RELATION;
	rte->relid = omni_relid(relname);
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	rte->requiredPerms = ACL_SELECT | ACL_UPDATE;
	u->estate = CreateExecutorState();
	ExecInitRangeTable(u->estate, list_make1(rte));
	u->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(u->estate, u->rri, 1);
	u->rel = u->rri->ri_RelationDesc;
	for (int i = 0; i < nread; i++)
	{
		att = attnameAttNum(u->rel, read[i], false);
		if (att <= 0)
			elog(ERROR, "column \"%s\" of omni.%s does not exist", read[i], relname);
		rte->selectedCols = bms_add_member(rte->selectedCols, att - FirstLowInvalidHeapAttributeNumber);
	}
	for (int i = 0; i < ncols; i++)
	{
		att = attnameAttNum(u->rel, cols[i], false);
		if (att <= 0)
			elog(ERROR, "column \"%s\" of omni.%s does not exist", cols[i], relname);
		rte->selectedCols = bms_add_member(rte->selectedCols, att - FirstLowInvalidHeapAttributeNumber);
		rte->updatedCols = bms_add_member(rte->updatedCols, att - FirstLowInvalidHeapAttributeNumber);
	}
	ExecCheckRTPerms(list_make1(rte), true);
	desc = RelationGetDescr(u->rel);
	if (desc->constr != NULL && desc->constr->num_check > 0)
	{
		PlannedRel *pr = planned_rel(u->rel, u->estate->es_query_cxt);
		int			ncheck = desc->constr->num_check;
		MemoryContext old;

		if (pr->ncheck != ncheck)
			elog(ERROR, "cached form of omni.%s is out of date", relname);
		old = MemoryContextSwitchTo(u->estate->es_query_cxt);
		u->rri->ri_ConstraintExprs = palloc(sizeof(ExprState *) * ncheck);
		for (int i = 0; i < ncheck; i++)
			u->rri->ri_ConstraintExprs[i] = ExecInitExpr(pr->checks[i], NULL);
		MemoryContextSwitchTo(old);
	}
	u->cur = table_slot_create(u->rel, &u->estate->es_tupleTable);
	u->upd = ExecInitExtraTupleSlot(u->estate, desc, &TTSOpsVirtual);
	CommandCounterIncrement();
	u->snap = RegisterSnapshot(GetTransactionSnapshot());
	return u;
}

/* The table being updated. */
Relation
omni_update_relation(OmniUpdate *u)
{
	return u->rel;
}

/*
 * The rows whose int8 column (the first of index indexname, of the table)
 * equals key, as the statement's snapshot sees them (READ COMMITTED; see
 * below for REPEATABLE READ): their tids, appended to *tids (*n of them,
 * room for *size).
 */
void
omni_update_find(OmniUpdate *u, const char *indexname, int64 key,
				 ItemPointerData **tids, int *n, int *size)
{
	Relation	index = index_open(get_relname_relid(indexname, RelationGetNamespace(u->rel)),
								   AccessShareLock);
	bool		xact_snapshot = IsolationUsesXactSnapshot();
	Snapshot	snap = xact_snapshot ? RegisterSnapshot(GetLatestSnapshot()) : u->snap;
	IndexScanDesc scan = index_beginscan(u->rel, index, snap, 1, 0);
	ScanKeyData key_data;

	ScanKeyEntryInitialize(&key_data, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_INT8EQ, Int64GetDatum(key));
	index_rescan(scan, &key_data, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, u->cur))
	{
		CHECK_FOR_INTERRUPTS();
		/*
		 * Under REPEATABLE READ the rows are found as they are now, so that
		 * none written meanwhile (an identifier a concurrent link gave the
		 * customer) is left behind; one this transaction cannot see is a
		 * serialization failure, as an UPDATE meeting it would be.
		 */
		if (xact_snapshot && !table_tuple_satisfies_snapshot(u->rel, u->cur, u->snap))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
		if (*n == *size)
		{
			*size = *size * 2 + 8;
			*tids = *tids == NULL ? palloc(sizeof(ItemPointerData) * *size)
				: repalloc(*tids, sizeof(ItemPointerData) * *size);
		}
		(*tids)[(*n)++] = u->cur->tts_tid;
	}
	ExecClearTuple(u->cur);
	index_endscan(scan);
	if (xact_snapshot)
		UnregisterSnapshot(snap);
	index_close(index, NoLock);
}

/*
 * Lock the row at tid (its last version): its columns are then in the
 * returned slot, for the caller to read before omni_update_row.  NULL when
 * the row is gone.
 */
TupleTableSlot *
omni_update_lock(OmniUpdate *u, ItemPointer tid)
{
	if (omni_lock_row(u->rel, tid, u->snap, u->cur, LockTupleNoKeyExclusive) != TM_Ok)
		return NULL;
	slot_getallattrs(u->cur);
	return u->cur;
}

/*
 * Does the update of the row in u->cur to u->upd change the key of index i
 * (its columns set[] and given other values)?  An expression, or a
 * predicate (the old version may have had no entry), counts as changed.
 */
static bool
index_key_changed(OmniUpdate *u, int i, const bool *set)
{
	IndexInfo  *ii = u->rri->ri_IndexRelationInfo[i];
	TupleDesc	desc = RelationGetDescr(u->rel);

	if (ii->ii_Predicate != NIL)
		return true;
	for (int k = 0; k < ii->ii_NumIndexKeyAttrs; k++)
	{
		AttrNumber	att = ii->ii_IndexAttrNumbers[k];
		Form_pg_attribute a;

		if (att <= 0)
			return true;
		if (!set[att - 1])
			continue;
		a = TupleDescAttr(desc, att - 1);
		if (u->cur->tts_isnull[att - 1] != u->upd->tts_isnull[att - 1] ||
			(!u->upd->tts_isnull[att - 1] &&
			 !datumIsEqual(u->cur->tts_values[att - 1], u->upd->tts_values[att - 1],
						   a->attbyval, a->attlen)))
			return true;
	}
	return false;
}

/*
 * The index entries of the new version u->upd of the row in u->cur, which
 * was not updated HOT: ExecInsertIndexTuples, except that a unique index
 * whose key the update leaves as it was is not checked for a duplicate.
 * The old version held that key and is locked by this transaction (the
 * update deletes it): no other row can hold it, and an insertion of it
 * elsewhere finds the old version and waits for this transaction, as it
 * would for the new one.  Exclusion constraints and deferrable unique
 * indexes go through ExecInsertIndexTuples.
 */
static void
update_index_entries(OmniUpdate *u, const bool *set)
{
	ResultRelInfo *rri = u->rri;
	ExprContext *econtext;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];

	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Relation	irel = rri->ri_IndexRelationDescs[i];

		if (irel != NULL && (rri->ri_IndexRelationInfo[i]->ii_ExclusionOps != NULL ||
							 !irel->rd_index->indimmediate))
		{
			list_free(ExecInsertIndexTuples(rri, u->upd, u->estate, true, false, NULL, NIL));
			return;
		}
	}
	econtext = GetPerTupleExprContext(u->estate);
	econtext->ecxt_scantuple = u->upd;
	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Relation	irel = rri->ri_IndexRelationDescs[i];
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];
		bool		changed;

		if (irel == NULL || !ii->ii_ReadyForInserts)
			continue;
		if (ii->ii_Predicate != NIL)
		{
			if (ii->ii_PredicateState == NULL)
				ii->ii_PredicateState = ExecPrepareQual(ii->ii_Predicate, u->estate);
			if (!ExecQual(ii->ii_PredicateState, econtext))
				continue;
		}
		changed = index_key_changed(u, i, set);
		FormIndexDatum(ii, u->upd, u->estate, values, isnull);
		(void) index_insert(irel, values, isnull, &u->upd->tts_tid, u->rel,
							(ii->ii_Unique && changed) ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
							!changed, ii);
	}
	ResetPerTupleExprContext(u->estate);
}

/*
 * Write the new version of the row at tid: the version in u->cur with the
 * columns set[i] (attribute i + 1) taken from values/nulls, its CHECK
 * constraints checked first (on the row as computed, as UPDATE does) and
 * its index entries added when the update is not HOT.  Returns the
 * result of the update; nothing is written unless it is TM_Ok.
 */
static TM_Result
update_row(OmniUpdate *u, ItemPointer tid, const bool *set, const Datum *values,
		   const bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(u->rel);
	TM_FailureData tmfd;
	TM_Result	res;
	LockTupleMode lockmode;
	bool		update_indexes;

	ExecClearTuple(u->upd);
	for (int i = 0; i < desc->natts; i++)
	{
		u->upd->tts_values[i] = set[i] ? values[i] : u->cur->tts_values[i];
		u->upd->tts_isnull[i] = set[i] ? nulls[i] : u->cur->tts_isnull[i];
	}
	ExecStoreVirtualTuple(u->upd);
	if (desc->constr != NULL)
		ExecConstraints(u->rri, u->upd, u->estate);
	res = table_tuple_update(u->rel, tid, u->upd, GetCurrentCommandId(true), u->snap,
							 InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
	if (res == TM_Ok && update_indexes)
	{
		/* most updates here are HOT, and some callers only read */
		if (!u->indexes_open)
		{
			ExecOpenIndices(u->rri, false);
			u->indexes_open = true;
		}
		if (u->rri->ri_NumIndices > 0)
			update_index_entries(u, set);
	}
	ExecClearTuple(u->upd);
	return res;
}

/*
 * Rewrite the row omni_update_lock locked at tid with the values of its
 * locked version changed where set[i] (attribute i + 1) is true.
 */
void
omni_update_row(OmniUpdate *u, ItemPointer tid, const bool *set, const Datum *values,
				const bool *nulls)
{
	TM_Result	res = update_row(u, tid, set, values, nulls);

	if (res != TM_Ok)
		elog(ERROR, "could not update a row of omni.%s locked by this transaction: %d",
			 RelationGetRelationName(u->rel), (int) res);
	ExecClearTuple(u->cur);
}

/*
 * omni_update_row on the version omni_update_fetch returned, without
 * locking it first (the update takes the same lock): true when that was
 * the row's last version, now rewritten.  False, with nothing written,
 * when it is not (another transaction updated or deleted the row and
 * committed, waited for if it was still running, or this transaction
 * changed it since): the caller then locks the row, which finds its last
 * version, and decides again, as UPDATE re-checks a row updated
 * concurrently.
 */
bool
omni_update_fetched(OmniUpdate *u, ItemPointer tid, const bool *set, const Datum *values,
					const bool *nulls)
{
	TM_Result	res = update_row(u, tid, set, values, nulls);

	ExecClearTuple(u->cur);
	return res == TM_Ok;
}

/* Finish: close everything, make the changes visible. */
void
omni_update_end(OmniUpdate *u)
{
	UnregisterSnapshot(u->snap);
	ExecResetTupleTable(u->estate->es_tupleTable, false);
	ExecCloseResultRelations(u->estate);
	ExecCloseRangeTableRelations(u->estate);
	FreeExecutorState(u->estate);
	CommandCounterIncrement();
}

/* The version of the row at tid the statement's snapshot sees, or NULL. */
TupleTableSlot *
omni_update_fetch(OmniUpdate *u, ItemPointer tid)
{
	ExecClearTuple(u->cur);
	if (!table_tuple_fetch_row_version(u->rel, tid, u->snap, u->cur))
		return NULL;
	slot_getallattrs(u->cur);
	return u->cur;
}
