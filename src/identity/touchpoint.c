/*-------------------------------------------------------------------------
 *
 * touchpoint.c
 *		The customer key of touchpoints: omni.touchpoint.customer_id is the
 *		customer of the touchpoint's identifier, kept so by a trigger on
 *		insert and by the merges, unmerges and re-resolutions that move
 *		identifiers between customers.
 *
 * The key lets a customer's touchpoints be read, grouped and partitioned
 * (hash-partitioned across servers with postgres_fdw) without a join
 * through omni.identity.
 *
 * Consistency: every operation that moves an identifier to another
 * customer locks the customers involved FOR UPDATE first (omni.link,
 * omni.unmerge) or locks omni.touchpoint against writers (omni.resolve_all).
 * The trigger reads the identifier's customer with the latest snapshot,
 * locks that customer's row FOR KEY SHARE (as a foreign key check would)
 * and reads the identifier again: when it still belongs to that customer,
 * no merge can move it until the inserting transaction ends, and a merge
 * that waited for the lock re-points the new touchpoint with the others.
 * At REPEATABLE READ and above, a merge whose snapshot cannot see a
 * touchpoint committed meanwhile fails with a serialization error instead
 * of missing it (the re-pointing runs with a cross-check snapshot, as
 * PostgreSQL's own referential actions do).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "omnichannel.h"
#include "identity/identity.h"

PG_FUNCTION_INFO_V1(omni_touchpoint_customer);

/* Set while the extension itself re-points touchpoints: the trigger stands aside. */
static bool repointing = false;

/*
 * The customers found (and locked) by the current command: identity id to
 * customer id.  Once this transaction holds a customer's row FOR KEY SHARE
 * and has seen the identifier belong to it, no other transaction can move
 * the identifier before it ends; only this transaction could, through a
 * command of its own, so the cache lives for one command of one
 * (sub)transaction.  A bulk load of many touchpoints per identifier then
 * looks each identifier up once.
 */
typedef struct CustomerCacheEntry
{
	int64		identity_id;	/* hash key */
	int64		customer_id;
} CustomerCacheEntry;

static HTAB *customer_cache = NULL;
static LocalTransactionId cache_lxid = InvalidLocalTransactionId;
static SubTransactionId cache_subxid = InvalidSubTransactionId;
static CommandId cache_cid = InvalidCommandId;

/* The cache of the current command, emptied when the command changed. */
static HTAB *
command_cache(void)
{
	LocalTransactionId lxid = MyProc->lxid;
	SubTransactionId subxid = GetCurrentSubTransactionId();
	CommandId	cid = GetCurrentCommandId(false);

	if (customer_cache != NULL && cache_lxid == lxid && cache_subxid == subxid && cache_cid == cid)
		return customer_cache;
	/* the previous table went with its transaction's memory, or is dropped here */
	if (customer_cache != NULL && cache_lxid == lxid)
		hash_destroy(customer_cache);
	customer_cache = NULL;
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(CustomerCacheEntry);
		ctl.hcxt = TopTransactionContext;
		customer_cache = hash_create("omni touchpoint customers", 256, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	cache_lxid = lxid;
	cache_subxid = subxid;
	cache_cid = cid;
	return customer_cache;
}

/* The number of a column of rel. */
static AttrNumber
attnum_of(Relation rel, const char *name)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), name);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" of relation \"%s\" does not exist",
			 name, RelationGetRelationName(rel));
	return attnum;
}

/*
 * Find the row whose one-column primary key equals key (compared with
 * procedure eqproc) in heap, visible to snap.  The slot holds the row when
 * found.
 */
bool
omni_fetch_by_key(Relation heap, Snapshot snap, RegProcedure eqproc, Datum key,
				  TupleTableSlot *slot)
{
	Oid			indexoid = RelationGetPrimaryKeyIndex(heap);
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData skey;
	bool		found;

	if (!OidIsValid(indexoid))
		elog(ERROR, "relation \"%s\" has no primary key", RelationGetRelationName(heap));
	index = index_open(indexoid, AccessShareLock);
	ScanKeyEntryInitialize(&skey, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], eqproc, key);
	scan = index_beginscan(heap, index, snap, 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	index_close(index, AccessShareLock);
	return found;
}

/* omni_fetch_by_key() for a bigint key. */
bool
omni_fetch_by_pkey(Relation heap, Snapshot snap, int64 key, TupleTableSlot *slot)
{
	return omni_fetch_by_key(heap, snap, F_INT8EQ, Int64GetDatum(key), slot);
}

/*
 * omni.touchpoint is partitioned (the layout chosen by
 * omni.touchpoint_layout when the extension was created).
 */
bool
omni_touchpoint_partitioned(void)
{
	return get_rel_relkind(omni_relid("touchpoint")) == RELKIND_PARTITIONED_TABLE;
}

/*
 * On a partition of a partitioned omni.touchpoint, which has no foreign key
 * to omni.channel: the channel of a new row, or of an updated one when it
 * changed, must be a row of omni.channel (as last committed).
 */
static void
check_channel(TriggerData *trigdata, HeapTuple tuple)
{
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	AttrNumber	attnum = attnum_of(trigdata->tg_relation, "channel");
	bool		isnull;
	Datum		channel = heap_getattr(tuple, attnum, tupdesc, &isnull);
	Relation	rel;
	TupleTableSlot *slot;
	Snapshot	snap;
	bool		found;

	if (isnull)
		return;					/* the NOT NULL constraint reports it */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		old_null;
		Datum		old = heap_getattr(trigdata->tg_trigtuple, attnum, tupdesc, &old_null);

		if (!old_null && DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID,
															  old, channel)))
			return;
	}
	rel = table_open(omni_relid("channel"), AccessShareLock);
	slot = table_slot_create(rel, NULL);
	snap = RegisterSnapshot(GetLatestSnapshot());
	found = omni_fetch_by_key(rel, snap, F_TEXTEQ, channel, slot);
	UnregisterSnapshot(snap);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, NoLock);
	if (!found)
	{
		char	   *name = TextDatumGetCString(channel);

		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("channel \"%s\" does not exist", omni_clip_value(name, strlen(name))),
				 errdetail("A touchpoint's channel must be a row of omni.channel."),
				 errhint("Add the channel to omni.channel first.")));
	}
}

/* The customer of an identifier as last committed; false when there is none. */
static bool
identity_customer(Relation identity, AttrNumber attnum, TupleTableSlot *slot,
				  int64 identity_id, int64 *customer_id)
{
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	bool		found;
	bool		isnull = true;
	Datum		d = (Datum) 0;

	found = omni_fetch_by_pkey(identity, snap, identity_id, slot);
	if (found)
		d = slot_getattr(slot, attnum, &isnull);
	ExecClearTuple(slot);
	UnregisterSnapshot(snap);
	if (found && !isnull)
		*customer_id = DatumGetInt64(d);
	return found && !isnull;
}

/*
 * Lock a customer's latest row FOR KEY SHARE.  Returns false when the
 * customer is gone or has been absorbed by another one meanwhile (the
 * caller reads the identifier again).
 */
static bool
lock_live_customer(Relation customer, TupleTableSlot *slot, int64 customer_id)
{
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	bool		live = false;

	if (omni_fetch_by_pkey(customer, snap, customer_id, slot))
	{
		ItemPointerData tid = slot->tts_tid;
		TM_FailureData tmfd;
		TM_Result	res;

		res = table_tuple_lock(customer, &tid, snap, slot, GetCurrentCommandId(true),
							   LockTupleKeyShare, LockWaitBlock,
							   TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		switch (res)
		{
			case TM_Ok:
			case TM_SelfModified:
				{
					bool		isnull;

					slot_getattr(slot, attnum_of(customer, "merged_into"), &isnull);
					live = isnull;
				}
				break;
			case TM_Updated:
			case TM_Deleted:
				live = false;
				break;
			default:
				elog(ERROR, "unexpected table_tuple_lock status: %u", res);
				break;
		}
	}
	ExecClearTuple(slot);
	UnregisterSnapshot(snap);
	return live;
}

/*
 * The customer an identifier belongs to, with that customer's row locked
 * FOR KEY SHARE so that the identifier cannot move before the caller's
 * transaction ends.
 */
int64
omni_touchpoint_customer_of(int64 identity_id)
{
	Relation	identity = table_open(omni_relid("identity"), AccessShareLock);
	Relation	customer = table_open(omni_relid("customer"), RowShareLock);
	TupleTableSlot *islot = table_slot_create(identity, NULL);
	TupleTableSlot *cslot = table_slot_create(customer, NULL);
	AttrNumber	attnum = attnum_of(identity, "customer_id");
	int64		customer_id;

	for (;;)
	{
		int64		again;
		bool		live;

		if (!identity_customer(identity, attnum, islot, identity_id, &customer_id))
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("identity %lld does not exist", (long long) identity_id),
					 errhint("Record touchpoints with omni.touch(kind, value, channel, event, ...), which creates the identifier.")));
		live = lock_live_customer(customer, cslot, customer_id);
		if (identity_customer(identity, attnum, islot, identity_id, &again) &&
			again == customer_id)
		{
			if (live)
				break;

			/*
			 * Not moved by a merge or an unmerge that committed meanwhile:
			 * the identity was pointed at an absorbed or missing customer
			 * by hand, and waiting would not change that.
			 */
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("identity %lld belongs to customer %lld, which is not a live customer",
							(long long) identity_id, (long long) customer_id),
					 errdetail("The customer was merged into another one (omni.customer.merged_into) or erased."),
					 errhint("Point the identity at the live customer its customer was merged into.")));
		}
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(islot);
	ExecDropSingleTupleTableSlot(cslot);
	table_close(customer, NoLock);
	table_close(identity, NoLock);
	return customer_id;
}

/*
 * omni.touchpoint_customer(): BEFORE INSERT OR UPDATE OF identity_id,
 * customer_id trigger of omni.touchpoint (and of its partitions).  Sets
 * customer_id to the customer of the row's identifier.  A partition has
 * already been chosen by the customer_id given, so there a missing or wrong
 * one is an error rather than corrected.
 */
Datum
omni_touchpoint_customer(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	AttrNumber	identity_att;
	AttrNumber	customer_att;
	Datum		d;
	bool		isnull;
	int64		identity_id;
	int64		customer_id;
	bool		given_null;
	int64		given = 0;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("omni.touchpoint_customer() must be called as a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("omni.touchpoint_customer() must be a BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger")));

	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	if (repointing)
		return PointerGetDatum(tuple);

	if (rel->rd_rel->relispartition)
		check_channel(trigdata, tuple);

	identity_att = attnum_of(rel, "identity_id");
	customer_att = attnum_of(rel, "customer_id");
	d = heap_getattr(tuple, identity_att, tupdesc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);	/* the NOT NULL constraint reports it */
	identity_id = DatumGetInt64(d);
	d = heap_getattr(tuple, customer_att, tupdesc, &given_null);
	if (!given_null)
		given = DatumGetInt64(d);

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		old_null;
		Datum		old_identity = heap_getattr(trigdata->tg_trigtuple, identity_att, tupdesc, &old_null);
		Datum		old_customer;

		if (!old_null && DatumGetInt64(old_identity) == identity_id)
		{
			old_customer = heap_getattr(trigdata->tg_trigtuple, customer_att, tupdesc, &old_null);
			if (!old_null && !given_null && DatumGetInt64(old_customer) == given)
				return PointerGetDatum(tuple);	/* neither key changed */
		}
	}

	{
		HTAB	   *cache = command_cache();
		bool		found;
		CustomerCacheEntry *e = hash_search(cache, &identity_id, HASH_FIND, NULL);

		if (e != NULL)
			customer_id = e->customer_id;
		else
		{
			customer_id = omni_touchpoint_customer_of(identity_id);
			e = hash_search(cache, &identity_id, HASH_ENTER, &found);
			e->customer_id = customer_id;
		}
	}

	/*
	 * PostgreSQL does not move a row out of a foreign partition whose key an
	 * UPDATE changes: postgres_fdw updates it in place, on the shard of its
	 * old key.  Refuse, rather than leave it where pruning no longer finds it.
	 */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		rel->rd_rel->relkind == RELKIND_FOREIGN_TABLE && rel->rd_rel->relispartition)
	{
		bool		old_null;
		Datum		old_customer = heap_getattr(trigdata->tg_trigtuple, customer_att, tupdesc, &old_null);

		if (old_null || DatumGetInt64(old_customer) != customer_id)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot move a touchpoint of identity %lld to customer %lld by an UPDATE of foreign partition \"%s\"",
							(long long) identity_id, (long long) customer_id,
							RelationGetRelationName(rel)),
					 errdetail("PostgreSQL updates a row of a foreign partition in place: it would stay on the server of its old customer."),
					 errhint("Delete the touchpoint and insert it again through omni.touchpoint (DELETE ... RETURNING, then INSERT).")));
	}

	if (!given_null && given == customer_id)
		return PointerGetDatum(tuple);

	if (rel->rd_rel->relispartition)
	{
		if (given_null)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("touchpoint of identity %lld has no customer_id", (long long) identity_id),
					 errdetail("omni.touchpoint is partitioned by customer_id: a row is routed by the customer given."),
					 errhint("Give customer_id (customer %lld), or record touchpoints with omni.touch().",
							 (long long) customer_id)));
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("touchpoint customer %lld is not the customer of identity %lld",
						(long long) given, (long long) identity_id),
				 errdetail("Identity %lld belongs to customer %lld.",
						   (long long) identity_id, (long long) customer_id),
				 errhint("omni.touchpoint is partitioned by customer_id: give the identifier's customer, or record touchpoints with omni.touch().")));
	}

	{
		Datum		value = Int64GetDatum(customer_id);
		bool		null = false;
		int			col = customer_att;

		return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, &col, &value, &null));
	}
}

/*
 * Run an UPDATE of omni.touchpoint that re-points touchpoints to the
 * customers their identifiers now belong to, or, when omni.touchpoint is
 * partitioned, a DELETE ... RETURNING feeding an INSERT that moves them to
 * the partitions of their new customers; returns the rows changed.
 * The trigger stands aside (the statement sets customer_id from the graph
 * the caller has just written and locked).  The statement sees every
 * committed touchpoint; at REPEATABLE READ and above, one the transaction's
 * snapshot cannot see is a serialization failure rather than left behind.
 */
uint64
omni_touchpoint_repoint(SPIPlanPtr plan, Datum *values)
{
	bool		save = repointing;
	int			ret;

	CommandCounterIncrement();
	repointing = true;
	PG_TRY();
	{
		if (IsolationUsesXactSnapshot())
			ret = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(),
									   GetTransactionSnapshot(), false, true, 0);
		else
			ret = SPI_execute_plan(plan, values, NULL, false, 0);
	}
	PG_FINALLY();
	{
		repointing = save;
	}
	PG_END_TRY();
	if (ret != SPI_OK_UPDATE && ret != SPI_OK_INSERT)
		elog(ERROR, "could not re-point touchpoints: %s", SPI_result_code_string(ret));
	return SPI_processed;
}
