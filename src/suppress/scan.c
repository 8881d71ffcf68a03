/*-------------------------------------------------------------------------
 *
 * scan.c
 *		Direct index reads of the suppression engine: the recipient's
 *		identifier, the customer's row (locked), the customers it absorbed,
 *		erased identifiers, consents, touchpoints and the outbox's history,
 *		read through the tables' btree indexes without the executor.
 *
 * A message is decided once per inserted row, so what the engine reads per
 * message must cost far less than a query: each read here is one index
 * descent and a few heap fetches.  The relations are found by name in the
 * schema omni (never by a fixed OID), opened at the first message of a
 * statement and kept open until the statement ends, under a resource owner
 * of this module; they are closed at the end of the statement (a callback
 * on the executor's memory context), or when a subtransaction aborts, or
 * at the end of the transaction, whichever comes first.  The relations' AccessShareLocks are taken under the caller's
 * resource owner, as by any query, and held until the transaction ends.
 *
 * The scan keys call the btree operators' functions directly (int8eq,
 * texteq, byteaeq, timestamptz_gt), so nothing here depends on the caller's
 * search_path.  The privileges the replaced queries needed are checked once
 * per statement and table: SELECT on each table read, and UPDATE on
 * omni.customer (some column) for the row lock, as SELECT ... FOR NO KEY
 * UPDATE requires.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/objectaddress.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "suppress/suppress.h"

/* The relations the engine reads, by name in the schema omni. */
typedef enum SuppressRelId
{
	SR_CUSTOMER,
	SR_CUSTOMER_PKEY,
	SR_CUSTOMER_MERGED,
	SR_IDENTITY,
	SR_IDENTITY_KEY,
	SR_FORGOTTEN,
	SR_FORGOTTEN_PKEY,
	SR_CONSENT,
	SR_CONSENT_CUSTOMER,
	SR_CONSENT_IDENTITY,
	SR_TOUCHPOINT,
	SR_TOUCHPOINT_EVENT,
	SR_MESSAGE,
	NUM_SUPPRESS_RELS
} SuppressRelId;

static const char *const rel_names[NUM_SUPPRESS_RELS] = {
	"customer",
	"customer_pkey",
	"customer_merged_into_idx",
	"identity",
	"identity_kind_value_key",
	"forgotten",
	"forgotten_pkey",
	"consent",
	"consent_customer_idx",
	"consent_identity_idx",
	"touchpoint",
	"touchpoint_customer_event_ts_idx",
	"message",
};

/* Columns read, by relation. */
typedef struct SuppressCols
{
	AttrNumber	customer_id;
	AttrNumber	customer_time_zone;
	AttrNumber	customer_merged_into;
	AttrNumber	identity_id;
	AttrNumber	identity_customer_id;
	AttrNumber	identity_kind;
	AttrNumber	identity_value;
	AttrNumber	consent_id;
	AttrNumber	consent_channel;
	AttrNumber	consent_purpose;
	AttrNumber	consent_status;
	AttrNumber	consent_granted_at;
	AttrNumber	consent_expires_at;
	AttrNumber	consent_revoked_at;
	AttrNumber	touchpoint_event;
	AttrNumber	touchpoint_topic;
	AttrNumber	touchpoint_ts;
} SuppressCols;

/* The open relations, one set per backend. */
typedef struct SuppressRels
{
	bool		open;
	uint64		generation;		/* which opening; closes bump it */
	MemoryContext cxt;			/* slots and descriptors */
	bool		busy;			/* a scan is under way (or failed) */
	uint32		may_select;		/* heaps whose SELECT privilege was checked */
	bool		may_lock;		/* UPDATE privilege on omni.customer checked */
	Oid			outbox_checked;	/* outbox whose SELECT privilege was checked */
	Relation	rels[NUM_SUPPRESS_RELS];
	TupleDesc	descs[NUM_SUPPRESS_RELS];	/* heaps only: unpinned copies */
	TupleTableSlot *slots[NUM_SUPPRESS_RELS];
	IndexScanDesc scans[NUM_SUPPRESS_RELS];	/* indexes only, kept for rescans */
	SuppressCols cols;
	Relation	outbox;			/* the outbox index of the history, if any */
	Oid			outbox_relid;
	TupleDesc	outbox_desc;	/* of the outbox table, for its slot */
	const TupleTableSlotOps *outbox_ops;
	Oid			outbox_heap;
	TupleTableSlot *outbox_slot;
	IndexScanDesc outbox_scan;
	HTAB	   *locked;			/* LockedCustomer by id, or NULL */
} SuppressRels;

/*
 * A customer whose row this opening locked, and the tuple locked: while
 * the lock is held (and the relations stay open) the tuple can be neither
 * updated nor deleted by another transaction, nor pruned away, so the next
 * message of that customer locks it again by its tuple id (a no-op for the
 * lock itself) instead of descending omni.customer_pkey.
 */
typedef struct LockedCustomer
{
	int64		customer_id;	/* hash key: must be first */
	ItemPointerData tid;
} LockedCustomer;

/* Most customers remembered by one opening (about 30 bytes each). */
#define MAX_LOCKED_CUSTOMERS	65536

static SuppressRels srels;
static ResourceOwner suppress_owner = NULL;
static bool callbacks_registered = false;

static void suppress_rels_close(bool abort);
static void make_slots(void);
static void suppress_rels_open(MemoryContext stmtcxt);
static void may_select(SuppressRelId heap);

/* Open a relation already locked by the caller, under our resource owner. */
static Relation
open_locked(Oid relid)
{
	ResourceOwner save = CurrentResourceOwner;
	Relation	rel;

	CurrentResourceOwner = suppress_owner;
	PG_TRY();
	{
		rel = relation_open(relid, NoLock);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = save;
	}
	PG_END_TRY();
	return rel;
}

/* Close a relation opened by open_locked(); the lock stays. */
static void
close_unlocked(Relation rel)
{
	ResourceOwner save = CurrentResourceOwner;

	CurrentResourceOwner = suppress_owner;
	relation_close(rel, NoLock);
	CurrentResourceOwner = save;
}

/* Transaction end: nothing stays open across transactions. */
static void
suppress_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (srels.open)
				suppress_rels_close(event == XACT_EVENT_ABORT ||
									event == XACT_EVENT_PARALLEL_ABORT);
			break;
		default:
			break;
	}
}

/*
 * Subtransaction end: an aborted subtransaction releases the locks it
 * took (perhaps that of the outbox's index, opened later than the rest),
 * so the set is closed, to be opened again by the next read.
 */
static void
suppress_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (srels.open && event == SUBXACT_EVENT_ABORT_SUB)
		suppress_rels_close(true);
}

/* End of the statement that opened the relations (its memory is freed). */
static void
suppress_statement_end(void *arg)
{
	uint64		generation = *(uint64 *) arg;

	if (srels.open && srels.generation == generation)
		suppress_rels_close(srels.busy);
}

/*
 * Close every relation and scan of the set.  After an error (abort), the
 * scans may name buffers whose pins went with the resource owner that took
 * them: they are not ended, our resource owner just lets go of the relcache
 * references it holds.  The slots are never dropped: they are empty between
 * scans and their descriptors are unpinned copies; freeing their memory is
 * all there is to do.
 */
static void
suppress_rels_close(bool abort)
{
	ResourceOwner save = CurrentResourceOwner;

	srels.open = false;
	srels.generation++;
	if (abort)
	{
		ResourceOwnerRelease(suppress_owner, RESOURCE_RELEASE_BEFORE_LOCKS, false, false);
		ResourceOwnerRelease(suppress_owner, RESOURCE_RELEASE_AFTER_LOCKS, false, false);
	}
	else
	{
		CurrentResourceOwner = suppress_owner;
		for (int i = 0; i < NUM_SUPPRESS_RELS; i++)
			if (srels.scans[i] != NULL)
				index_endscan(srels.scans[i]);
		if (srels.outbox_scan != NULL)
			index_endscan(srels.outbox_scan);
		for (int i = 0; i < NUM_SUPPRESS_RELS; i++)
			if (srels.rels[i] != NULL)
				relation_close(srels.rels[i], NoLock);
		if (srels.outbox != NULL)
			relation_close(srels.outbox, NoLock);
		CurrentResourceOwner = save;
	}
	for (int i = 0; i < NUM_SUPPRESS_RELS; i++)
	{
		srels.scans[i] = NULL;
		srels.slots[i] = NULL;
		srels.descs[i] = NULL;
		srels.rels[i] = NULL;
	}
	srels.outbox_scan = NULL;
	srels.outbox_slot = NULL;
	srels.outbox_desc = NULL;
	srels.outbox_heap = InvalidOid;
	srels.outbox = NULL;
	srels.outbox_relid = InvalidOid;
	srels.busy = false;
	srels.may_select = 0;
	srels.may_lock = false;
	srels.outbox_checked = InvalidOid;
	srels.locked = NULL;		/* its memory goes with srels.cxt */
	if (srels.cxt != NULL)
		MemoryContextDelete(srels.cxt);
	srels.cxt = NULL;
}

/*
 * The set's scan of an index (kept in *cache), begun at its first use in
 * the statement under our resource owner; later uses rescan it.  The
 * snapshot is the caller's for this use: a scan reads it at each fetch.
 */
static IndexScanDesc
scan_of(IndexScanDesc *cache, Relation heap, Relation index, Snapshot snap, int nkeys)
{
	if (*cache == NULL)
	{
		ResourceOwner save = CurrentResourceOwner;
		MemoryContext old = MemoryContextSwitchTo(srels.cxt);

		CurrentResourceOwner = suppress_owner;
		PG_TRY();
		{
			*cache = index_beginscan(heap, index, snap, nkeys, 0);
		}
		PG_FINALLY();
		{
			CurrentResourceOwner = save;
			MemoryContextSwitchTo(old);
		}
		PG_END_TRY();
	}
	(*cache)->xs_snapshot = snap;
	return *cache;
}

/*
 * Rescan and fetch in the set's memory: an index access method may keep
 * what it allocates lazily during a scan (btree's killed items) until the
 * scan ends, so it must not go to the caller's per-row memory.
 */
static void
scan_rescan(IndexScanDesc scan, ScanKey keys, int nkeys)
{
	MemoryContext old = MemoryContextSwitchTo(srels.cxt);

	index_rescan(scan, keys, nkeys, NULL, 0);
	MemoryContextSwitchTo(old);
}

/* The next tuple of a scan, in the slot; false at the end. */
static bool
scan_next(IndexScanDesc scan, TupleTableSlot *slot)
{
	MemoryContext old = MemoryContextSwitchTo(srels.cxt);
	bool		found = index_getnext_slot(scan, ForwardScanDirection, slot);

	MemoryContextSwitchTo(old);
	return found;
}

/* Done with a scan for now: a rescan drops its buffer pins. */
static void
scan_release(IndexScanDesc scan)
{
	scan_rescan(scan, NULL, scan->numberOfKeys);
}

/*
 * (Re)make the slots of the heaps, in the set's memory.  A scan that failed
 * left its slot naming a buffer whose pin is gone with its resource owner:
 * such slots are abandoned, never cleared.
 */
static void
make_slots(void)
{
	MemoryContext old = MemoryContextSwitchTo(srels.cxt);

	for (int i = 0; i < NUM_SUPPRESS_RELS; i++)
		if (srels.descs[i] != NULL)
			srels.slots[i] = MakeSingleTupleTableSlot(srels.descs[i],
													  table_slot_callbacks(srels.rels[i]));
	srels.outbox_slot = NULL;
	if (srels.outbox_desc != NULL)
		srels.outbox_slot = MakeSingleTupleTableSlot(srels.outbox_desc, srels.outbox_ops);
	srels.busy = false;
	MemoryContextSwitchTo(old);
}

/*
 * Start reading: open the set for the statement if it is not, and renew
 * the slots if the last scan failed half-way.
 */
static void
scan_start(MemoryContext stmtcxt)
{
	if (srels.open && srels.busy)
		suppress_rels_close(true);
	suppress_rels_open(stmtcxt);
	srels.busy = true;
}

/* Every slot is empty again: the next scan may reuse them. */
static void
scan_done(void)
{
	srels.busy = false;
}

/* The number of a column of a relation, which must exist. */
static AttrNumber
column(Relation rel, const char *name)
{
	AttrNumber	attnum = attnameAttNum(rel, name, false);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" of relation \"%s\" does not exist",
			 name, RelationGetRelationName(rel));
	return attnum;
}

/*
 * Open the engine's relations for the statement whose memory context is
 * stmtcxt, unless they are open already.  Each is looked up by name in the
 * schema omni, so a dropped and recreated extension is found again.
 */
static void
suppress_rels_open(MemoryContext stmtcxt)
{
	Oid			nsp;
	MemoryContextCallback *cb;
	uint64	   *gen;

	if (srels.open)
		return;
	if (!callbacks_registered)
	{
		RegisterXactCallback(suppress_xact_callback, NULL);
		RegisterSubXactCallback(suppress_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (suppress_owner == NULL)
		suppress_owner = ResourceOwnerCreate(NULL, "omnichannel suppression");

	nsp = get_namespace_oid("omni", false);
	srels.cxt = AllocSetContextCreate(TopTransactionContext, "omnichannel suppression scans",
									  ALLOCSET_SMALL_SIZES);
	srels.open = true;
	PG_TRY();
	{
		MemoryContext old;

		for (int i = 0; i < NUM_SUPPRESS_RELS; i++)
		{
			Oid			relid = get_relname_relid(rel_names[i], nsp);

			if (!OidIsValid(relid))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_TABLE),
						 errmsg("relation \"omni.%s\" does not exist", rel_names[i]),
						 errhint("The omnichannel extension may be damaged: drop and create it again.")));
			LockRelationOid(relid, AccessShareLock);
			srels.rels[i] = open_locked(relid);
		}
		old = MemoryContextSwitchTo(srels.cxt);
		for (int i = 0; i < NUM_SUPPRESS_RELS; i++)
			if (srels.rels[i]->rd_rel->relkind != RELKIND_INDEX &&
				srels.rels[i]->rd_rel->relkind != RELKIND_PARTITIONED_INDEX)
				srels.descs[i] = CreateTupleDescCopy(RelationGetDescr(srels.rels[i]));
		MemoryContextSwitchTo(old);
		make_slots();

		srels.cols.customer_id = column(srels.rels[SR_CUSTOMER], "customer_id");
		srels.cols.customer_time_zone = column(srels.rels[SR_CUSTOMER], "time_zone");
		srels.cols.customer_merged_into = column(srels.rels[SR_CUSTOMER], "merged_into");
		srels.cols.identity_id = column(srels.rels[SR_IDENTITY], "identity_id");
		srels.cols.identity_customer_id = column(srels.rels[SR_IDENTITY], "customer_id");
		srels.cols.identity_kind = column(srels.rels[SR_IDENTITY], "kind");
		srels.cols.identity_value = column(srels.rels[SR_IDENTITY], "value");
		srels.cols.consent_id = column(srels.rels[SR_CONSENT], "consent_id");
		srels.cols.consent_channel = column(srels.rels[SR_CONSENT], "channel");
		srels.cols.consent_purpose = column(srels.rels[SR_CONSENT], "purpose");
		srels.cols.consent_status = column(srels.rels[SR_CONSENT], "status");
		srels.cols.consent_granted_at = column(srels.rels[SR_CONSENT], "granted_at");
		srels.cols.consent_expires_at = column(srels.rels[SR_CONSENT], "expires_at");
		srels.cols.consent_revoked_at = column(srels.rels[SR_CONSENT], "revoked_at");
		srels.cols.touchpoint_event = column(srels.rels[SR_TOUCHPOINT], "event");
		srels.cols.touchpoint_topic = column(srels.rels[SR_TOUCHPOINT], "topic");
		srels.cols.touchpoint_ts = column(srels.rels[SR_TOUCHPOINT], "ts");
	}
	PG_CATCH();
	{
		suppress_rels_close(true);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* close them when the statement's memory goes */
	cb = MemoryContextAlloc(stmtcxt, sizeof(MemoryContextCallback));
	gen = MemoryContextAlloc(stmtcxt, sizeof(uint64));
	*gen = srels.generation;
	cb->func = suppress_statement_end;
	cb->arg = gen;
	MemoryContextRegisterResetCallback(stmtcxt, cb);
}

/*
 * omni.message, open until the statement ends: the outbox of the preview,
 * whose scans of the history must not outlive it.
 */
Relation
suppress_message_relation(MemoryContext stmtcxt)
{
	suppress_rels_open(stmtcxt);
	may_select(SR_MESSAGE);
	return srels.rels[SR_MESSAGE];
}

/*
 * Fail unless the user may read a table (SELECT on it, or on every column),
 * as the queries these reads replace required.
 */
static void
check_select(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			userid = GetUserId();

	if (pg_class_aclcheck(relid, userid, ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, userid, ACL_SELECT, ACLMASK_ALL) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
}

/* check_select() of one of the set's heaps, once per statement */
static void
may_select(SuppressRelId heap)
{
	if ((srels.may_select & (1U << heap)) == 0)
	{
		check_select(srels.rels[heap]);
		srels.may_select |= 1U << heap;
	}
}

/* An equality or comparison key on an index column, with its collation. */
static void
index_key(ScanKey key, Relation index, AttrNumber attno, StrategyNumber strategy,
		  RegProcedure proc, Datum arg)
{
	ScanKeyEntryInitialize(key, 0, attno, strategy, InvalidOid,
						   index->rd_indcollation[attno - 1], proc, arg);
}

/* A text column of a slot as a C string, or NULL. */
static char *
slot_text(TupleTableSlot *slot, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A timestamptz column of a slot; *isnull says whether it is NULL. */
static TimestampTz
slot_time(TupleTableSlot *slot, AttrNumber attnum, bool *isnull)
{
	Datum		d = slot_getattr(slot, attnum, isnull);

	return *isnull ? 0 : DatumGetTimestampTz(d);
}

/* Whether an identity tuple in the slot has this kind and value. */
static bool
identity_is(TupleTableSlot *slot, const char *kind, const char *value)
{
	bool		isnull;
	Datum		d;

	d = slot_getattr(slot, srels.cols.identity_kind, &isnull);
	if (isnull || strcmp(TextDatumGetCString(d), kind) != 0)
		return false;
	d = slot_getattr(slot, srels.cols.identity_value, &isnull);
	return !isnull && strcmp(TextDatumGetCString(d), value) == 0;
}

/*
 * The identifier of a kind and normalized value: its id and its customer.
 * Returns false when there is none.
 *
 * With a hint from an earlier message of the statement (hint->tid valid,
 * same opening of the relations), the tuple found then is fetched again
 * and used when it is visible to snap and still has this kind and value:
 * (kind, value) is unique, so it is then the very tuple the index would
 * lead to, and one heap fetch replaces a descent of the index.  The hint
 * is bound to the opening because only while the relations stay open is
 * omni.identity sure to keep its storage (no rewrite, truncation or
 * vacuum truncation can take the lock we hold).  Otherwise, or when the
 * tuple was updated, deleted or is no longer visible, the index is read
 * and the hint updated.
 */
bool
suppress_find_identity(MemoryContext stmtcxt, Snapshot snap, const char *kind,
					   const char *value, SuppressIdentityHint *hint,
					   int64 *identity_id, int64 *customer_id)
{
	Relation	index;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	bool		found = false;

	scan_start(stmtcxt);
	may_select(SR_IDENTITY);
	index = srels.rels[SR_IDENTITY_KEY];
	slot = srels.slots[SR_IDENTITY];
	if (hint != NULL && ItemPointerIsValid(&hint->tid) && hint->generation == srels.generation)
	{
		ItemPointerData tid = hint->tid;

		if (table_tuple_fetch_row_version(srels.rels[SR_IDENTITY], &tid, snap, slot) &&
			identity_is(slot, kind, value))
		{
			bool		isnull;

			*identity_id = DatumGetInt64(slot_getattr(slot, srels.cols.identity_id, &isnull));
			*customer_id = DatumGetInt64(slot_getattr(slot, srels.cols.identity_customer_id,
													  &isnull));
			ExecClearTuple(slot);
			scan_done();
			return true;
		}
		ExecClearTuple(slot);
		ItemPointerSetInvalid(&hint->tid);
	}
	index_key(&keys[0], index, 1, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(kind));
	index_key(&keys[1], index, 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(value));
	scan = scan_of(&srels.scans[SR_IDENTITY_KEY], srels.rels[SR_IDENTITY], index, snap, 2);
	scan_rescan(scan, keys, 2);
	if (scan_next(scan, slot))
	{
		bool		isnull;

		*identity_id = DatumGetInt64(slot_getattr(slot, srels.cols.identity_id, &isnull));
		*customer_id = DatumGetInt64(slot_getattr(slot, srels.cols.identity_customer_id,
												  &isnull));
		found = true;
		if (hint != NULL)
		{
			hint->generation = srels.generation;
			hint->tid = slot->tts_tid;
		}
	}
	ExecClearTuple(slot);
	scan_release(scan);
	scan_done();
	return found;
}

/* Remember where the row of a customer this opening locked is. */
static void
remember_locked(int64 customer_id, ItemPointer tid)
{
	LockedCustomer *lc;

	if (srels.locked == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(LockedCustomer);
		ctl.hcxt = srels.cxt;
		srels.locked = hash_create("omnichannel locked customers", 256, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	else if (hash_get_num_entries(srels.locked) >= MAX_LOCKED_CUSTOMERS)
		return;
	lc = hash_search(srels.locked, &customer_id, HASH_ENTER, NULL);
	lc->tid = *tid;
}

/*
 * Lock again, by its tuple id, the row of a customer this opening locked
 * before, into slot.  Our lock keeps other transactions from changing the
 * row, so the tuple is the row's latest version unless this transaction
 * changed the row since (a later command of the statement): then, or when
 * the customer was not locked here, returns false and the caller reads
 * the row through its index, as for a customer seen for the first time.
 * Locking a tuple we hold locked in that mode takes no new lock.
 */
static bool
relock_customer(Relation rel, TupleTableSlot *slot, Snapshot snap, int64 customer_id)
{
	LockedCustomer *lc = hash_search(srels.locked, &customer_id, HASH_FIND, NULL);
	ItemPointerData tid;
	TM_FailureData tmfd;
	TM_Result	res;
	bool		isnull;
	Datum		d;

	if (lc == NULL)
		return false;
	tid = lc->tid;
	res = table_tuple_lock(rel, &tid, snap, slot, GetCurrentCommandId(true),
						   LockTupleNoKeyExclusive, LockWaitBlock, 0, &tmfd);
	if (res == TM_Ok)
	{
		d = slot_getattr(slot, srels.cols.customer_id, &isnull);
		if (!isnull && DatumGetInt64(d) == customer_id && !tmfd.traversed)
			return true;
	}
	ExecClearTuple(slot);
	hash_search(srels.locked, &customer_id, HASH_REMOVE, NULL);
	return false;
}

/*
 * The customer's row: its time zone and, when it was absorbed, its
 * survivor.  With lock = true the row is locked FOR NO KEY UPDATE, as the
 * executor's row marks do: at READ COMMITTED the latest version is locked
 * and read (a merge committed while we waited is seen); at REPEATABLE READ
 * and above a concurrent change is a serialization failure.  Returns false
 * when there is no such customer.
 */
bool
suppress_read_customer(MemoryContext stmtcxt, Snapshot snap, int64 customer_id, bool lock,
					   char **time_zone, bool *merged, int64 *merged_into)
{
	Relation	rel;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData key;
	bool		found;
	bool		locked_now = false;
	bool		isnull;
	Datum		d;

	scan_start(stmtcxt);
	rel = srels.rels[SR_CUSTOMER];
	slot = srels.slots[SR_CUSTOMER];
	may_select(SR_CUSTOMER);
	/* a row lock needs UPDATE on the table or on some column, as FOR UPDATE does */
	if (lock && !srels.may_lock)
	{
		if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_UPDATE) != ACLCHECK_OK &&
			pg_attribute_aclcheck_all(RelationGetRelid(rel), GetUserId(), ACL_UPDATE,
									  ACLMASK_ANY) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(rel));
		srels.may_lock = true;
	}
	if (lock && srels.locked != NULL && relock_customer(rel, slot, snap, customer_id))
		found = true;
	else
	{
		index_key(&key, srels.rels[SR_CUSTOMER_PKEY], 1, BTEqualStrategyNumber, F_INT8EQ,
				  Int64GetDatum(customer_id));
		scan = scan_of(&srels.scans[SR_CUSTOMER_PKEY], rel, srels.rels[SR_CUSTOMER_PKEY],
					   snap, 1);
		scan_rescan(scan, &key, 1);
		found = scan_next(scan, slot);
		scan_release(scan);
		locked_now = found && lock;
	}

	if (locked_now)
	{
		ItemPointerData tid = slot->tts_tid;
		TM_FailureData tmfd;
		TM_Result	res;
		bool		xact_snapshot = IsolationUsesXactSnapshot();

		res = table_tuple_lock(rel, &tid, snap, slot, GetCurrentCommandId(true),
							   LockTupleNoKeyExclusive, LockWaitBlock,
							   xact_snapshot ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
							   &tmfd);
		switch (res)
		{
			case TM_Ok:
				break;
			case TM_SelfModified:
				/* changed by a later command of ours: as a row mark, skip it */
				found = false;
				break;
			case TM_Updated:
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
				break;
			case TM_Deleted:
				if (xact_snapshot)
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent delete")));
				found = false;
				break;
			case TM_Invisible:
				elog(ERROR, "attempted to lock invisible tuple");
				break;
			default:
				elog(ERROR, "unexpected table_tuple_lock status: %u", res);
				break;
		}
		if (found)
			remember_locked(customer_id, &slot->tts_tid);
	}
	if (found)
	{
		*time_zone = slot_text(slot, srels.cols.customer_time_zone);
		d = slot_getattr(slot, srels.cols.customer_merged_into, &isnull);
		*merged = !isnull;
		*merged_into = isnull ? 0 : DatumGetInt64(d);
	}
	ExecClearTuple(slot);
	scan_done();
	return found;
}

/* int64 comparison for qsort */
static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * The customer and the customers it absorbed (merged_into = it), in
 * ascending order: whose messages count toward its caps and whose consents
 * hold.  Returns the number of ids in *ids.
 */
int
suppress_read_family(MemoryContext stmtcxt, Snapshot snap, int64 customer_id, int64 **ids)
{
	IndexScanDesc scan;
	ScanKeyData key;
	TupleTableSlot *slot;
	int			n = 1;
	int			size = 4;

	scan_start(stmtcxt);
	slot = srels.slots[SR_CUSTOMER];
	may_select(SR_CUSTOMER);
	*ids = palloc(sizeof(int64) * size);
	(*ids)[0] = customer_id;
	index_key(&key, srels.rels[SR_CUSTOMER_MERGED], 1, BTEqualStrategyNumber, F_INT8EQ,
			  Int64GetDatum(customer_id));
	scan = scan_of(&srels.scans[SR_CUSTOMER_MERGED], srels.rels[SR_CUSTOMER],
				   srels.rels[SR_CUSTOMER_MERGED], snap, 1);
	scan_rescan(scan, &key, 1);
	while (scan_next(scan, slot))
	{
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (n == size)
		{
			size *= 2;
			*ids = repalloc(*ids, sizeof(int64) * size);
		}
		(*ids)[n++] = DatumGetInt64(slot_getattr(slot, srels.cols.customer_id, &isnull));
	}
	ExecClearTuple(slot);
	scan_release(scan);
	scan_done();
	if (n > 1)
		qsort(*ids, n, sizeof(int64), int64_cmp);
	return n;
}

/* Whether an erased identifier had this keyed hash (omni.forgotten). */
bool
suppress_is_forgotten(MemoryContext stmtcxt, Snapshot snap, bytea *hash)
{
	IndexScanDesc scan;
	ScanKeyData key;
	bool		found;

	scan_start(stmtcxt);
	may_select(SR_FORGOTTEN);
	index_key(&key, srels.rels[SR_FORGOTTEN_PKEY], 1, BTEqualStrategyNumber, F_BYTEAEQ,
			  PointerGetDatum(hash));
	scan = scan_of(&srels.scans[SR_FORGOTTEN_PKEY], srels.rels[SR_FORGOTTEN],
				   srels.rels[SR_FORGOTTEN_PKEY], snap, 1);
	scan_rescan(scan, &key, 1);
	found = scan_next(scan, srels.slots[SR_FORGOTTEN]);
	ExecClearTuple(srels.slots[SR_FORGOTTEN]);
	scan_release(scan);
	scan_done();
	return found;
}

/* Fold the consents of one index range into *c (see suppress_read_consent). */
static void
consent_range(Snapshot snap, SuppressRelId which, int64 id, const char *channel,
			  const char *purpose, TimestampTz at, SuppressConsent *c)
{
	IndexScanDesc scan;
	ScanKeyData key;
	TupleTableSlot *slot = srels.slots[SR_CONSENT];
	SuppressCols *cols = &srels.cols;
	Relation	index = srels.rels[which];

	index_key(&key, index, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	scan = scan_of(&srels.scans[which], srels.rels[SR_CONSENT], index, snap, 1);
	scan_rescan(scan, &key, 1);
	while (scan_next(scan, slot))
	{
		bool		isnull;
		char	   *s;
		TimestampTz t;

		CHECK_FOR_INTERRUPTS();
		s = slot_text(slot, cols->consent_channel);
		if (s != NULL && strcmp(s, channel) != 0)
			continue;
		s = slot_text(slot, cols->consent_purpose);
		if (s == NULL || strcmp(s, purpose) != 0)
			continue;
		t = slot_time(slot, cols->consent_granted_at, &isnull);
		if (isnull || t > at)
			continue;
		t = slot_time(slot, cols->consent_expires_at, &isnull);
		if (!isnull && t <= at)
			continue;
		t = slot_time(slot, cols->consent_revoked_at, &isnull);
		if (!isnull && t <= at)
			continue;
		s = slot_text(slot, cols->consent_status);
		if (s == NULL)
			continue;
		if (strcmp(s, "opt_out") == 0)
		{
			int64		cid = DatumGetInt64(slot_getattr(slot, cols->consent_id, &isnull));

			if (!c->opted_out || cid < c->opt_out_id)
				c->opt_out_id = cid;
			c->opted_out = true;
		}
		else if (strcmp(s, "opt_in") == 0)
			c->opted_in = true;
	}
	ExecClearTuple(slot);
	scan_release(scan);
}

/*
 * The consents in force at "at" for the customers of the family or the
 * recipient's identifier, on the channel (or every channel), for the
 * purpose: whether an opt-out is in force (and the lowest such consent id),
 * and whether an opt-in is.
 */
void
suppress_read_consent(MemoryContext stmtcxt, Snapshot snap, const int64 *family, int nfamily,
					  bool has_identity, int64 identity_id, const char *channel,
					  const char *purpose, TimestampTz at, SuppressConsent *c)
{
	scan_start(stmtcxt);
	may_select(SR_CONSENT);
	memset(c, 0, sizeof(SuppressConsent));
	for (int i = 0; i < nfamily; i++)
		consent_range(snap, SR_CONSENT_CUSTOMER, family[i], channel, purpose, at, c);
	if (has_identity)
		consent_range(snap, SR_CONSENT_IDENTITY, identity_id, channel, purpose, at, c);
	scan_done();
}

/*
 * suppress_read_events() when omni.touchpoint is partitioned: its indexes
 * are partitioned indexes, which cannot be scanned, and its partitions may
 * be foreign tables.  A query reads the customer's touchpoints, with the
 * caller's snapshot; the planner prunes the partitions by customer_id.
 * The rows are in time order, as from the index.
 */
static void
read_events_by_query(Snapshot snap, int64 customer_id, const char *event,
					 TimestampTz since, TimestampTz until,
					 SuppressEventRow **rows, int *nrows, int *size)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[4] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[4];
	SPIPlanPtr	plan;
	int			ret;

	values[0] = Int64GetDatum(customer_id);
	values[1] = CStringGetTextDatum(event);
	values[2] = TimestampTzGetDatum(since);
	values[3] = TimestampTzGetDatum(until);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare("SELECT t.topic, t.ts FROM omni.touchpoint t "
					   "WHERE t.customer_id OPERATOR(pg_catalog.=) $1 "
					   "AND t.event OPERATOR(pg_catalog.=) $2 "
					   "AND t.ts OPERATOR(pg_catalog.>) $3 AND t.ts OPERATOR(pg_catalog.<=) $4 "
					   "ORDER BY t.ts",
					   4, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the touchpoint query: %s",
			 SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, values, NULL, snap, InvalidSnapshot, true, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read touchpoints: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		topic = SPI_getbinval(tuple, desc, 1, &isnull);
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(caller);
		if (*nrows == *size)
		{
			*size = *size * 2 + 8;
			*rows = *rows == NULL ? palloc(sizeof(SuppressEventRow) * *size)
				: repalloc(*rows, sizeof(SuppressEventRow) * *size);
		}
		(*rows)[*nrows].event = pstrdup(event);
		(*rows)[*nrows].topic = isnull ? NULL : TextDatumGetCString(topic);
		(*rows)[*nrows].ts = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 2, &isnull));
		(*nrows)++;
		MemoryContextSwitchTo(old);
	}
	SPI_freeplan(plan);
	SPI_finish();
}

/*
 * The customer's touchpoints of one event in (since, until], in time order,
 * appended to *rows: one range of touchpoint_customer_event_ts_idx.  The
 * touchpoints carry the customer of their identifier, moved with it by
 * merges and unmerges in the same transaction, so this range holds the
 * touchpoints of every identifier the customer has in the snapshot,
 * including those it absorbed.
 */
void
suppress_read_events(MemoryContext stmtcxt, Snapshot snap, int64 customer_id,
					 const char *event, TimestampTz since, TimestampTz until,
					 SuppressEventRow **rows, int *nrows, int *size)
{
	IndexScanDesc scan;
	ScanKeyData keys[4];
	TupleTableSlot *slot;
	Relation	index;

	scan_start(stmtcxt);
	if (srels.rels[SR_TOUCHPOINT]->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		read_events_by_query(snap, customer_id, event, since, until, rows, nrows, size);
		scan_done();
		return;
	}
	may_select(SR_TOUCHPOINT);
	slot = srels.slots[SR_TOUCHPOINT];
	index = srels.rels[SR_TOUCHPOINT_EVENT];
	index_key(&keys[0], index, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(customer_id));
	index_key(&keys[1], index, 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(event));
	index_key(&keys[2], index, 3, BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT,
			  TimestampTzGetDatum(since));
	index_key(&keys[3], index, 3, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE,
			  TimestampTzGetDatum(until));
	scan = scan_of(&srels.scans[SR_TOUCHPOINT_EVENT], srels.rels[SR_TOUCHPOINT], index, snap, 4);
	scan_rescan(scan, keys, 4);
	while (scan_next(scan, slot))
	{
		bool		isnull;
		TimestampTz ts = slot_time(slot, srels.cols.touchpoint_ts, &isnull);

		CHECK_FOR_INTERRUPTS();
		if (isnull)
			continue;
		if (*nrows == *size)
		{
			*size = *size * 2 + 8;
			*rows = *rows == NULL ? palloc(sizeof(SuppressEventRow) * *size)
				: repalloc(*rows, sizeof(SuppressEventRow) * *size);
		}
		(*rows)[*nrows].event = pstrdup(event);
		(*rows)[*nrows].topic = slot_text(slot, srels.cols.touchpoint_topic);
		(*rows)[*nrows].ts = ts;
		(*nrows)++;
	}
	ExecClearTuple(slot);
	scan_release(scan);
	scan_done();
}

/*
 * The queued and delayed messages of the customers of the family that go
 * out after "since", from the outbox through its index on (customer, time
 * out) (history->indexoid), in customer and then time order.
 */
SuppressHistoryRow *
suppress_read_history_index(MemoryContext stmtcxt, SuppressHistorySource *h, Snapshot snap,
							const int64 *family, int nfamily, TimestampTz since, int *nrows)
{
	Relation	heap;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	SuppressHistoryRow *rows = NULL;
	int			n = 0;
	int			size = 0;

	scan_start(stmtcxt);
	if (srels.outbox_relid != h->indexoid)
	{
		if (srels.outbox_scan != NULL)
		{
			ResourceOwner save = CurrentResourceOwner;

			CurrentResourceOwner = suppress_owner;
			index_endscan(srels.outbox_scan);
			CurrentResourceOwner = save;
		}
		srels.outbox_scan = NULL;
		if (srels.outbox != NULL)
			close_unlocked(srels.outbox);
		srels.outbox = NULL;
		srels.outbox_relid = InvalidOid;
		LockRelationOid(h->indexoid, AccessShareLock);
		srels.outbox = open_locked(h->indexoid);
		srels.outbox_relid = h->indexoid;
	}
	heap = h->heap;
	if (srels.outbox_checked != RelationGetRelid(heap))
	{
		check_select(heap);
		srels.outbox_checked = RelationGetRelid(heap);
	}
	if (srels.outbox_slot == NULL || srels.outbox_heap != RelationGetRelid(heap))
	{
		MemoryContext old = MemoryContextSwitchTo(srels.cxt);

		srels.outbox_desc = CreateTupleDescCopy(RelationGetDescr(heap));
		srels.outbox_ops = table_slot_callbacks(heap);
		srels.outbox_slot = MakeSingleTupleTableSlot(srels.outbox_desc, srels.outbox_ops);
		srels.outbox_heap = RelationGetRelid(heap);
		MemoryContextSwitchTo(old);
	}
	slot = srels.outbox_slot;

	if (srels.outbox_scan != NULL && srels.outbox_scan->heapRelation != heap)
	{
		ResourceOwner save = CurrentResourceOwner;

		CurrentResourceOwner = suppress_owner;
		index_endscan(srels.outbox_scan);
		CurrentResourceOwner = save;
		srels.outbox_scan = NULL;
	}
	scan = scan_of(&srels.outbox_scan, heap, srels.outbox, snap, 2);
	for (int i = 0; i < nfamily; i++)
	{
		if (h->customer_is_int4)
		{
			if (family[i] > PG_INT32_MAX || family[i] < PG_INT32_MIN)
				continue;
			index_key(&keys[0], srels.outbox, 1, BTEqualStrategyNumber, F_INT4EQ,
					  Int32GetDatum((int32) family[i]));
		}
		else
			index_key(&keys[0], srels.outbox, 1, BTEqualStrategyNumber, F_INT8EQ,
					  Int64GetDatum(family[i]));
		index_key(&keys[1], srels.outbox, 2, BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT,
				  TimestampTzGetDatum(since));
		scan_rescan(scan, keys, 2);
		while (scan_next(scan, slot))
		{
			char	   *status = slot_text(slot, h->status_att);
			bool		isnull;
			TimestampTz out_at;

			CHECK_FOR_INTERRUPTS();
			if (status == NULL ||
				(strcmp(status, "queued") != 0 && strcmp(status, "delayed") != 0))
				continue;
			/* the time it goes out, the index's second column */
			out_at = slot_time(slot, h->send_at_att, &isnull);
			if (isnull)
				out_at = slot_time(slot, h->created_at_att, &isnull);
			if (isnull)
				continue;
			if (n == size)
			{
				size = size * 2 + 8;
				rows = rows == NULL ? palloc(sizeof(SuppressHistoryRow) * size)
					: repalloc(rows, sizeof(SuppressHistoryRow) * size);
			}
			rows[n].channel = slot_text(slot, h->channel_att);
			rows[n].category = h->category_att ? slot_text(slot, h->category_att)
				: pstrdup("marketing");
			rows[n].campaign = h->campaign_att ? slot_text(slot, h->campaign_att) : NULL;
			rows[n].out_at = out_at;
			n++;
		}
		ExecClearTuple(slot);
	}
	scan_release(scan);
	scan_done();
	*nrows = n;
	return rows;
}
