/*-------------------------------------------------------------------------
 *
 * link.c
 *		The identity graph one observation at a time: identify (get or
 *		create an identifier and its customer), link (two identifiers seen
 *		together, merging their customers unless a rule refuses), touch (a
 *		touchpoint of an identifier), unmerge (undo one merge) and forget
 *		(erase a customer).
 *
 * Concurrency.  Every change to which customer an identifier belongs to is
 * made with the customers involved locked (SELECT ... FOR UPDATE on their
 * omni.customer rows), always in ascending customer id order, and with the
 * identifiers' customers read again once the locks are held: a link that
 * lost a race to another merge sees the customers as they now are and
 * starts over from them.  Two links touching the same customers are
 * therefore serialized and give the result of some serial order.  Starting
 * over from a survivor can take a lock out of order and meet a deadlock; the
 * merging step runs in a subtransaction, and a deadlock victim rolls it back
 * (releasing the locks it took) and starts over, so callers never see it.
 * Locks a transaction took in earlier statements are not released that
 * way: two transactions that each hold customers locked by earlier links
 * can deadlock for good, and after a few attempts the error is raised.
 *
 * Identifiers are looked up through omni.identity's (kind, value) index
 * directly, and the link of a pair found that way (a pair seen again, the
 * most frequent call) is written below the executor (bulkinsert.c), its
 * identifiers' rows locked as its foreign key checks would lock them.  All
 * other SQL goes through generic plans prepared once per backend
 * (SPI_keepplan), and each step is one statement where it can be: a merge
 * is the lock of both customers, the link (recorded in the statement that
 * reads the identifiers' customers again and checks the limits), and the
 * merge itself, which also widens the identifiers' first/last seen; the
 * survivor's attributes are only rewritten when the absorbed customer has
 * any to give (the lock reads that).  Each statement costs an executor
 * start-up and each row written its index entries and foreign-key checks,
 * which is what a merge's time goes to.
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
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "identity/identity.h"

/*
 * How often a merge that was chosen as a deadlock victim starts over; each
 * attempt may wait deadlock_timeout before the deadlock is found.
 */
#define LINK_MAX_RETRIES 3

/* The prepared statements of this file. */
typedef enum LinkQuery
{
	Q_CREATE_ONE,
	Q_DROP_CUSTOMER,
	Q_LOCK_CUSTOMERS,
	Q_KIND_COUNT,
	Q_INSERT_LINK,
	Q_INSERT_LINK_CHECKED,
	Q_ADD_AND_LINK,
	Q_MERGE,
	Q_CARRY,
	Q_CARRIED,
	Q_SEEN,
	Q_REPOINT_MERGE,
	Q_REPOINT_UNMERGE,
	Q_MOVE_MERGE,
	Q_MOVE_UNMERGE,
	Q_CHANNEL,
	Q_TOUCH,
	Q_TOUCH_KEYED,
	NUM_LINK_QUERIES
} LinkQuery;

typedef struct LinkQueryDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[8];
} LinkQueryDef;

static const LinkQueryDef link_queries[NUM_LINK_QUERIES] = {
	/* a new identifier and a customer for it; no identifier when it exists */
	[Q_CREATE_ONE] = {
		"WITH c AS (INSERT INTO omni.customer (created_at) VALUES ($3) RETURNING customer_id), "
		"i AS (INSERT INTO omni.identity (kind, value, customer_id, first_seen, last_seen) "
		"SELECT $1, $2, c.customer_id, $3, $3 FROM c ON CONFLICT (kind, value) DO NOTHING "
		"RETURNING identity_id) "
		"SELECT c.customer_id, i.identity_id FROM c LEFT JOIN i ON true",
		3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}
	},
	[Q_DROP_CUSTOMER] = {
		"DELETE FROM omni.customer c WHERE c.customer_id = $1 "
		"AND NOT EXISTS (SELECT 1 FROM omni.identity i WHERE i.customer_id = $1)",
		1, {INT8OID}
	},
	/*
	 * Locked in id order; the rows returned are the current versions, which
	 * stay so until the end of the transaction: what a merge needs to know of
	 * the customers' attributes and time zones.
	 */
	[Q_LOCK_CUSTOMERS] = {
		"SELECT customer_id, attributes <> '{}', time_zone IS NOT NULL FROM omni.customer "
		"WHERE customer_id = ANY ($1) ORDER BY customer_id FOR UPDATE",
		1, {INT8ARRAYOID}
	},
	[Q_KIND_COUNT] = {
		"SELECT count(*) FROM omni.identity WHERE customer_id = $1 AND kind = $2",
		2, {INT8OID, TEXTOID}
	},
	[Q_INSERT_LINK] = {
		"INSERT INTO omni.identity_link (identity_a, identity_b, source, observed_at, reason, status) "
		"VALUES ($1, $2, $3, $4, $5, $6) RETURNING link_id",
		6, {INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID}
	},

	/*
	 * The link of identifiers $1 and $2 of two locked customers ($5, $6),
	 * refused when the merge would exceed a kind's limit: the most trusted
	 * such kind is named in the reason.  The identifiers' customers are read
	 * again in the same statement, after the locks were taken (the statement
	 * has a snapshot of its own): when one of them moved meanwhile, nothing
	 * is inserted (link_id and reason NULL) and the caller starts over from
	 * the customers returned; a NULL customer is an identifier erased
	 * meanwhile.
	 */
	[Q_INSERT_LINK_CHECKED] = {
		"WITH cur AS (SELECT max(customer_id) FILTER (WHERE identity_id = $1) AS ca, "
		"max(customer_id) FILTER (WHERE identity_id = $2) AS cb "
		"FROM omni.identity WHERE identity_id IN ($1, $2)), "
		"v AS (SELECT i.kind, count(*) AS n, r.max_per_customer AS m FROM omni.identity i "
		"JOIN omni.identity_rule r ON r.kind = i.kind "
		"WHERE i.customer_id IN ($5, $6) AND r.max_per_customer IS NOT NULL "
		"GROUP BY i.kind, r.max_per_customer, r.priority "
		"HAVING count(*) > r.max_per_customer ORDER BY r.priority, i.kind LIMIT 1), "
		"w AS (SELECT CASE WHEN v.kind IS NULL THEN NULL ELSE "
		"format('max_per_customer exceeded: customers %s and %s together would hold %s %s identifiers (max %s)', "
		"LEAST($5, $6), GREATEST($5, $6), v.n, v.kind, v.m) END AS reason "
		"FROM cur LEFT JOIN v ON true WHERE cur.ca = $5 AND cur.cb = $6), "
		"l AS (INSERT INTO omni.identity_link (identity_a, identity_b, source, observed_at, status, reason) "
		"SELECT $1, $2, $3, $4, CASE WHEN w.reason IS NULL THEN 'accepted' ELSE 'rejected' END, w.reason "
		"FROM w RETURNING link_id, reason) "
		"SELECT cur.ca, cur.cb, l.link_id, l.reason FROM cur LEFT JOIN l ON true",
		6, {INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, INT8OID, INT8OID}
	},

	/*
	 * A new identifier ($1, $2) joins customer $3 and is linked to the known
	 * identifier $5 ($6: the new one is identity_a); nothing when it exists
	 * meanwhile.
	 */
	[Q_ADD_AND_LINK] = {
		"WITH i AS (INSERT INTO omni.identity (kind, value, customer_id, first_seen, last_seen) "
		"VALUES ($1, $2, $3, $4, $4) ON CONFLICT (kind, value) DO NOTHING "
		"RETURNING identity_id), "
		"l AS (INSERT INTO omni.identity_link (identity_a, identity_b, source, observed_at, status) "
		"SELECT CASE WHEN $6 THEN i.identity_id ELSE $5 END, CASE WHEN $6 THEN $5 ELSE i.identity_id END, "
		"$7, $4, 'accepted' FROM i RETURNING link_id) "
		"SELECT i.identity_id, l.link_id FROM i, l",
		7, {TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, INT8OID, BOOLOID, TEXTOID}
	},

	/*
	 * Customer $2 is absorbed by $1 (both locked) because of link $3 between
	 * identifiers $4 (of $1) and $5 (of $2), observed at $6: its identifiers
	 * move, it and the customers it had absorbed point at the survivor, the
	 * survivor keeps its own attributes and time zone where it has them, and
	 * the merge is logged (Q_CARRY, run before when there is anything to
	 * carry, keeps the absorbed customer's attributes and time zone).  The
	 * two identifiers widen their first/last seen in the same UPDATE (what
	 * Q_SEEN does otherwise): a second UPDATE of a row moved here would write
	 * it once more and, as the row is now this transaction's, check its
	 * foreign keys once more.
	 */
	[Q_MERGE] = {
		"WITH m AS (UPDATE omni.identity SET customer_id = $1, "
		"first_seen = CASE WHEN identity_id IN ($4, $5) THEN LEAST(first_seen, $6) ELSE first_seen END, "
		"last_seen = CASE WHEN identity_id IN ($4, $5) THEN GREATEST(last_seen, $6) ELSE last_seen END "
		"WHERE customer_id = $2 OR (identity_id = $4 AND (first_seen > $6 OR last_seen < $6)) "
		"RETURNING identity_id), "
		"c AS (UPDATE omni.customer SET merged_into = $1, "
		"merged_at = CASE WHEN customer_id = $2 THEN now() ELSE merged_at END "
		"WHERE customer_id = $2 OR merged_into = $2) "
		"INSERT INTO omni.merge_log (survivor, absorbed, link_id, identities) "
		"SELECT $1, $2, $3, COALESCE(array_agg(identity_id ORDER BY identity_id) "
		"FILTER (WHERE identity_id <> $4), '{}') FROM m "
		"RETURNING merge_id",
		6, {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID}
	},
	/*
	 * Survivor $1 keeps its own attributes and time zone and gets those of
	 * customer $2 it has not; returns what it took (NULL: nothing), which
	 * the merge's log row keeps for omni.unmerge.
	 */
	[Q_CARRY] = {
		"UPDATE omni.customer s SET attributes = x.attributes || s.attributes, "
		"time_zone = COALESCE(s.time_zone, x.time_zone) "
		"FROM omni.customer x, (SELECT attributes, time_zone FROM omni.customer "
		"WHERE customer_id = $1) o "
		"WHERE s.customer_id = $1 AND x.customer_id = $2 "
		"RETURNING " OMNI_CARRIED_SQL("o", "x"),
		2, {INT8OID, INT8OID}
	},
	/* the log row of the merge just made keeps what Q_CARRY carried */
	[Q_CARRIED] = {
		"UPDATE omni.merge_log SET carried = $3 "
		"WHERE merge_id = (SELECT max(merge_id) FROM omni.merge_log "
		"WHERE absorbed = $2 AND survivor = $1 AND unmerged_at IS NULL)",
		3, {INT8OID, INT8OID, JSONBOID}
	},
	/* both identifiers of a link (or one, twice) widen their first/last seen */
	[Q_SEEN] = {
		"UPDATE omni.identity SET first_seen = LEAST(first_seen, $3), "
		"last_seen = GREATEST(last_seen, $3) "
		"WHERE identity_id IN ($1, $2) AND (first_seen > $3 OR last_seen < $3)",
		3, {INT8OID, INT8OID, TIMESTAMPTZOID}
	},
	[Q_CHANNEL] = {
		"SELECT EXISTS (SELECT 1 FROM omni.channel WHERE channel = $1)",
		1, {TEXTOID}
	},
	/* the absorbed customer's touchpoints follow its identifiers */
	[Q_REPOINT_MERGE] = {
		"UPDATE omni.touchpoint SET customer_id = $1 WHERE customer_id = $2",
		2, {INT8OID, INT8OID}
	},
	/* touchpoints of identifiers an unmerge gave back ($1) to customer $2 from $3 */
	[Q_REPOINT_UNMERGE] = {
		"UPDATE omni.touchpoint SET customer_id = $2 WHERE customer_id = $3 AND identity_id = ANY ($1)",
		3, {INT8ARRAYOID, INT8OID, INT8OID}
	},
	/*
	 * The same two, when omni.touchpoint is partitioned: the rows are deleted
	 * and inserted again, so that each goes to the partition of its new key
	 * (PostgreSQL does not move rows out of a foreign partition).
	 */
	[Q_MOVE_MERGE] = {
		"WITH moved AS (DELETE FROM omni.touchpoint WHERE customer_id = $2 RETURNING *) "
		"INSERT INTO omni.touchpoint (touchpoint_id, identity_id, customer_id, ts, channel, event, "
		"campaign, topic, properties) SELECT touchpoint_id, identity_id, $1, ts, channel, event, "
		"campaign, topic, properties FROM moved",
		2, {INT8OID, INT8OID}
	},
	[Q_MOVE_UNMERGE] = {
		"WITH moved AS (DELETE FROM omni.touchpoint WHERE customer_id = $3 AND identity_id = ANY ($1) "
		"RETURNING *) "
		"INSERT INTO omni.touchpoint (touchpoint_id, identity_id, customer_id, ts, channel, event, "
		"campaign, topic, properties) SELECT touchpoint_id, identity_id, $2, ts, channel, event, "
		"campaign, topic, properties FROM moved",
		3, {INT8ARRAYOID, INT8OID, INT8OID}
	},
	/*
	 * The customer is read here so that a partition of a partitioned
	 * omni.touchpoint can be chosen; the trigger checks it under a lock.
	 */
	[Q_TOUCH] = {
		"INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event, campaign, topic, properties) "
		"SELECT $1, i.customer_id, $2, $3, $4, $5, $6, $7 FROM omni.identity i WHERE i.identity_id = $1 "
		"RETURNING touchpoint_id",
		7, {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID}
	},
	/*
	 * The same when omni.touchpoint is partitioned: the customer ($8) has
	 * been read and locked first (omni_touchpoint_customer_of), so that a
	 * merge committed meanwhile cannot route the row by a stale customer.
	 */
	[Q_TOUCH_KEYED] = {
		"INSERT INTO omni.touchpoint (identity_id, customer_id, ts, channel, event, campaign, topic, properties) "
		"SELECT $1, $8, $2, $3, $4, $5, $6, $7 FROM omni.identity i WHERE i.identity_id = $1 "
		"RETURNING touchpoint_id",
		8, {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, INT8OID}
	},
};

static SPIPlanPtr link_plans[NUM_LINK_QUERIES];

/* One of the statements, prepared and kept on first use. */
static SPIPlanPtr
plan_of(LinkQuery q)
{
	if (link_plans[q] == NULL)
	{
		Oid			argtypes[lengthof(link_queries[q].argtypes)];
		SPIPlanPtr	plan;

		memcpy(argtypes, link_queries[q].argtypes, sizeof(argtypes));
		/*
		 * Generic plans: every statement here finds its rows by index from
		 * its parameters, so planning each call anew for its values would
		 * only add the planner's time to every link.
		 */
		plan = SPI_prepare_cursor(link_queries[q].sql, link_queries[q].nargs, argtypes,
								  CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", link_queries[q].sql,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		link_plans[q] = plan;
	}
	return link_plans[q];
}

/*
 * Run one of the prepared statements (preparing it on first use), expecting
 * ret; returns the number of rows processed.
 */
static uint64
run(LinkQuery q, Datum *values, const char *nulls, int expect)
{
	int			level = omni_pin_search_path();
	int			ret;

	ret = SPI_execute_plan(plan_of(q), values, nulls, false, 0);
	omni_unpin_search_path(level);
	if (ret != expect)
		elog(ERROR, "unexpected result %s of \"%s\"", SPI_result_code_string(ret),
			 link_queries[q].sql);
	return SPI_processed;
}

/* Column n (1-based) of row r of the last result as an int8. */
static int64
result_int8(int r, int n, bool *isnull)
{
	bool		dummy;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, n,
								  isnull ? isnull : &dummy);

	return (isnull && *isnull) ? 0 : DatumGetInt64(d);
}

/* An identifier: its id and its customer when it exists. */
typedef struct Ident
{
	const char *kind;
	const char *value;			/* normalized */
	int64		id;				/* 0: not in the graph */
	int64		customer;
	ItemPointerData tid;		/* its row as this call found it, or invalid */
} Ident;

static bool direct_new_identity(const char *kind, bool with_customer, bool with_link);
static bool insert_identity(Ident *x, int64 customer, TimestampTz seen);

/*
 * Look identifiers up by kind and normalized value, with one descent each
 * of omni.identity's (kind, value) index and no query: sets each one's id
 * and customer (0 when unknown) and found[i].  This is the first thing
 * every link, identify and customer_of does, and a query's executor
 * start-up cost several times the two index reads.  The snapshot is the
 * one a query would take at this point (a new one per call under READ
 * COMMITTED, after this transaction's own earlier changes); SELECT on
 * omni.identity is required, as the query it replaces did.
 */
static void
lookup_identities(Ident **idents, int n, bool *found)
{
	Oid			nsp = get_namespace_oid("omni", false);
	Oid			relid = get_relname_relid("identity", nsp);
	Oid			indexid = get_relname_relid("identity_kind_value_key", nsp);
	Relation	heap;
	Relation	index;
	AttrNumber	id_att,
				customer_att;
	Snapshot	snap;
	TupleTableSlot *slot;
	IndexScanDesc scan;

	if (!OidIsValid(relid) || !OidIsValid(indexid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"omni.identity\" or its index \"identity_kind_value_key\" does not exist"),
				 errhint("The omnichannel extension may be damaged: drop and create it again.")));
	heap = table_open(relid, AccessShareLock);
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(heap));
	index = index_open(indexid, AccessShareLock);
	id_att = attnameAttNum(heap, "identity_id", false);
	customer_att = attnameAttNum(heap, "customer_id", false);
	if (id_att == InvalidAttrNumber || customer_att == InvalidAttrNumber)
		elog(ERROR, "omni.identity lacks identity_id or customer_id");

	CommandCounterIncrement();
	snap = RegisterSnapshot(GetTransactionSnapshot());
	slot = table_slot_create(heap, NULL);
	scan = index_beginscan(heap, index, snap, 2, 0);
	for (int i = 0; i < n; i++)
	{
		Ident	   *x = idents[i];
		ScanKeyData keys[2];

		ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[0], F_TEXTEQ,
							   CStringGetTextDatum(x->kind));
		ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[1], F_TEXTEQ,
							   CStringGetTextDatum(x->value));
		index_rescan(scan, keys, 2, NULL, 0);
		found[i] = index_getnext_slot(scan, ForwardScanDirection, slot);
		if (found[i])
		{
			bool		isnull;

			x->id = DatumGetInt64(slot_getattr(slot, id_att, &isnull));
			x->customer = DatumGetInt64(slot_getattr(slot, customer_att, &isnull));
			x->tid = slot->tts_tid;
		}
		else
		{
			x->id = x->customer = 0;
			ItemPointerSetInvalid(&x->tid);
		}
		ExecClearTuple(slot);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	index_close(index, NoLock);
	table_close(heap, NoLock);
}

/* Look an identifier up; false when unknown. */
static bool
find_identity(Ident *ident)
{
	bool		found;

	lookup_identities(&ident, 1, &found);
	return found;
}

/* Look two identifiers up at once; sets *found_a and *found_b. */
static void
find_pair(Ident *a, Ident *b, bool *found_a, bool *found_b)
{
	Ident	   *idents[2] = {a, b};
	bool		found[2];

	lookup_identities(idents, 2, found);
	*found_a = found[0];
	*found_b = found[1];
}

/*
 * Create an identifier not found a moment ago, with a customer of its own.
 * A concurrent creation of the same identifier wins: our customer is
 * dropped and theirs is read.  Returns true when the identifier was
 * created here.
 */
static bool
create_identity(Ident *ident, TimestampTz seen)
{
	Datum		v[3];
	bool		isnull;
	int64		customer;
	bool		direct = direct_new_identity(ident->kind, true, false);

	for (;;)
	{
		if (direct)
		{
			/* the customer, then its identifier: both written directly */
			static const char *const cols[1] = {"created_at"};
			Datum		created = TimestampTzGetDatum(seen);
			bool		created_null = false;

			customer = DatumGetInt64(omni_insert_row("customer", 1, cols, &created, &created_null,
													 "customer_id"));
			if (insert_identity(ident, customer, seen))
				return true;
		}
		else
		{
			v[0] = CStringGetTextDatum(ident->kind);
			v[1] = CStringGetTextDatum(ident->value);
			v[2] = TimestampTzGetDatum(seen);
			run(Q_CREATE_ONE, v, NULL, SPI_OK_SELECT);
			customer = result_int8(0, 1, NULL);
			ident->id = result_int8(0, 2, &isnull);
			if (!isnull)
			{
				ident->customer = customer;
				ItemPointerSetInvalid(&ident->tid);
				return true;
			}
		}
		/* lost the race: drop the customer made for it, read theirs */
		v[0] = Int64GetDatum(customer);
		run(Q_DROP_CUSTOMER, v, NULL, SPI_OK_DELETE);
		if (find_identity(ident))
			return false;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Get or create an identifier, a new one with a customer of its own.
 * Returns true when the identifier was created.
 */
static bool
get_or_create(Ident *ident, TimestampTz seen)
{
	if (find_identity(ident))
		return false;
	return create_identity(ident, seen);
}

/*
 * Lock customers (one or two) in ascending id order.  When carry is not
 * NULL, *carry says whether merging the newer into the older would give the
 * older anything: attributes, or a time zone it has not.
 */
static bool lock_customers_direct(int64 c1, int64 c2, bool *carry);

static void
lock_customers(int64 c1, int64 c2, bool *carry)
{
	Datum		ids[2] = {Int64GetDatum(Min(c1, c2)), Int64GetDatum(Max(c1, c2))};
	ArrayType  *arr = construct_array(ids, c1 == c2 ? 1 : 2, INT8OID, 8, FLOAT8PASSBYVAL, 'd');
	Datum		v[1] = {PointerGetDatum(arr)};
	uint64		n;

	if (lock_customers_direct(c1, c2, carry))
		return;
	n = run(Q_LOCK_CUSTOMERS, v, NULL, SPI_OK_SELECT);

	if (carry)
	{
		bool		isnull;
		bool		older_tz = false,
					newer_attrs = false,
					newer_tz = false;
		uint64		i;

		for (i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		newer = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) == Max(c1, c2);
			bool		attrs = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
			bool		tz = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));

			if (newer)
			{
				newer_attrs = attrs;
				newer_tz = tz;
			}
			else
				older_tz = tz;
		}
		*carry = newer_attrs || (newer_tz && !older_tz);
	}
}

/*
 * lock_customers below the executor, as SELECT ... FOR UPDATE would: each
 * row found by omni.customer's primary key and locked, in ascending id
 * order, a row updated meanwhile followed to its last version (READ
 * COMMITTED; a serialization failure under REPEATABLE READ), a row deleted
 * meanwhile left out.  Needs what the query needs: SELECT on the columns
 * read and UPDATE on the table or one of its columns.  False when the table
 * is not one this can read directly (a partitioned or foreign one).
 */
static bool
lock_customers_direct(int64 c1, int64 c2, bool *carry)
{
	Oid			relid = omni_relid("customer");
	Oid			userid = GetUserId();
	Relation	heap;
	AttrNumber	attrs_att,
				tz_att;
	Snapshot	snap;
	TupleTableSlot *slot;
	int64		ids[2] = {Min(c1, c2), Max(c1, c2)};
	bool		attrs[2] = {false, false},
				tz[2] = {false, false};

	if (get_rel_relkind(relid) != RELKIND_RELATION)
		return false;
	heap = table_open(relid, RowShareLock);
	if (pg_class_aclcheck(relid, userid, ACL_SELECT) != ACLCHECK_OK ||
		(pg_class_aclcheck(relid, userid, ACL_UPDATE) != ACLCHECK_OK &&
		 pg_attribute_aclcheck_all(relid, userid, ACL_UPDATE, ACLMASK_ANY) != ACLCHECK_OK))
	{
		/* column privileges, or none: the query checks them and says what is missing */
		table_close(heap, RowShareLock);
		return false;
	}
	attrs_att = attnameAttNum(heap, "attributes", false);
	tz_att = attnameAttNum(heap, "time_zone", false);
	if (attrs_att <= 0 || tz_att <= 0)
		elog(ERROR, "omni.customer lacks attributes or time_zone");
	CommandCounterIncrement();
	snap = RegisterSnapshot(GetTransactionSnapshot());
	slot = table_slot_create(heap, NULL);
	for (int i = 0; i < (c1 == c2 ? 1 : 2); i++)
	{
		ItemPointerData tid;
		bool		isnull;
		Datum		d;

		if (!omni_fetch_by_pkey(heap, snap, ids[i], slot))
			continue;
		tid = slot->tts_tid;
		if (omni_lock_row(heap, &tid, snap, slot, LockTupleExclusive) != TM_Ok)
			continue;
		d = slot_getattr(slot, attrs_att, &isnull);
		if (!isnull)
		{
			Jsonb	   *jb = DatumGetJsonbP(d);

			/* attributes <> '{}' */
			attrs[i] = !(JB_ROOT_IS_OBJECT(jb) && JB_ROOT_COUNT(jb) == 0);
		}
		(void) slot_getattr(slot, tz_att, &isnull);
		tz[i] = !isnull;
		ExecClearTuple(slot);
	}
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(heap, NoLock);
	/* the newer is absorbed by the older: does it give anything? */
	if (carry)
		*carry = c1 != c2 && (attrs[1] || (tz[1] && !tz[0]));
	return true;
}

/*
 * Lock the rows of identifiers FOR KEY SHARE, as the foreign key checks of
 * a link naming them would: none of them can be erased before this
 * transaction ends.  Their rows are the ones lookup_identities found in
 * this call; a row updated since is followed to its last version under
 * READ COMMITTED, and is a serialization failure under REPEATABLE READ,
 * the way SELECT ... FOR KEY SHARE behaves.  An identifier erased
 * meanwhile is a serialization failure, as elsewhere in this file.
 */
static void
lock_identity_rows(Ident **idents, int n)
{
	Relation	heap = table_open(omni_relid("identity"), RowShareLock);
	AttrNumber	id_att = attnameAttNum(heap, "identity_id", false);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	Snapshot	snap = RegisterSnapshot(GetTransactionSnapshot());

	for (int i = 0; i < n; i++)
	{
		ItemPointerData tid = idents[i]->tid;
		bool		isnull;

		/* the version locked must still be this identifier */
		if (omni_lock_row(heap, &tid, snap, slot, LockTupleKeyShare) != TM_Ok ||
			DatumGetInt64(slot_getattr(slot, id_att, &isnull)) != idents[i]->id)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("identifier %lld was erased by a concurrent transaction",
							(long long) idents[i]->id)));
		ExecClearTuple(slot);
	}
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(heap, NoLock);
}

/*
 * Lock the omni.identity_rule row of a kind FOR KEY SHARE, as the foreign
 * key check of a new identifier of that kind would.  False when there is
 * no such row (any more): the caller then goes through SQL, whose check
 * reports it.
 */
static bool
lock_rule_row(const char *kind)
{
	Relation	heap = table_open(omni_relid("identity_rule"), RowShareLock);
	Snapshot	snap;
	TupleTableSlot *slot;
	bool		locked = false;

	snap = RegisterSnapshot(GetTransactionSnapshot());
	slot = table_slot_create(heap, NULL);
	if (omni_fetch_by_key(heap, snap, F_TEXTEQ, CStringGetTextDatum(kind), slot))
	{
		ItemPointerData tid = slot->tts_tid;

		locked = (omni_lock_row(heap, &tid, snap, slot, LockTupleKeyShare) == TM_Ok);
	}
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(heap, NoLock);
	return locked;
}

/*
 * Whether a new identifier of this kind (and its link, with link) can be
 * written below the executor: no table involved has a trigger of its own or
 * row level security that applies, and the kind's rule row is locked as the
 * foreign key check would lock it.
 */
static bool
direct_new_identity(const char *kind, bool with_customer, bool with_link)
{
	return omni_bulk_usable("identity") &&
		(!with_customer || omni_bulk_usable("customer")) &&
		(!with_link || omni_bulk_usable("identity_link")) &&
		lock_rule_row(kind);
}

/*
 * Insert a new identifier of a customer, unless it exists meanwhile (as
 * INSERT ... ON CONFLICT (kind, value) DO NOTHING): true with its id and
 * row set when inserted.  The customer's row is this transaction's, or
 * locked by it.
 */
static bool
insert_identity(Ident *x, int64 customer, TimestampTz seen)
{
	static const char *const cols[5] = {"kind", "value", "customer_id", "first_seen", "last_seen"};
	Datum		v[5];
	bool		nulls[5] = {false, false, false, false, false};
	Datum		id;
	ItemPointerData tid;

	v[0] = CStringGetTextDatum(x->kind);
	v[1] = CStringGetTextDatum(x->value);
	v[2] = Int64GetDatum(customer);
	v[3] = TimestampTzGetDatum(seen);
	v[4] = TimestampTzGetDatum(seen);
	if (!omni_insert_row_unless_exists("identity", "identity_kind_value_key", 5, cols, v, nulls,
									   "identity_id", &id, &tid))
		return false;
	x->id = DatumGetInt64(id);
	x->customer = customer;
	x->tid = tid;
	return true;
}

/* A link's status: accepted without a reason, else status (rejected when NULL). */
static const char *
link_status(const char *reason, const char *status)
{
	return reason == NULL ? "accepted" : status ? status : "rejected";
}

/*
 * Record the link of two identifiers whose rows are locked, directly, with
 * link_status(reason, status).
 */
static int64
insert_link_row_as(int64 a, int64 b, text *source, TimestampTz observed_at, const char *reason,
				   const char *status)
{
	static const char *const cols[6] = {"identity_a", "identity_b", "source",
	"observed_at", "reason", "status"};
	Datum		v[6];
	bool		nulls[6] = {false, false, source == NULL, false, reason == NULL, false};

	v[0] = Int64GetDatum(a);
	v[1] = Int64GetDatum(b);
	v[2] = source ? PointerGetDatum(source) : (Datum) 0;
	v[3] = TimestampTzGetDatum(observed_at);
	v[4] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	v[5] = CStringGetTextDatum(link_status(reason, status));
	return DatumGetInt64(omni_insert_row("identity_link", 6, cols, v, nulls, "link_id"));
}

/* insert_link_row_as for an accepted or a rejected link. */
static int64
insert_link_row(int64 a, int64 b, text *source, TimestampTz observed_at, const char *reason)
{
	return insert_link_row_as(a, b, source, observed_at, reason, NULL);
}

/*
 * Record a link; reason NULL for an accepted one.  Returns its id.
 *
 * When this call found both identifiers' rows (a pair seen again, the most
 * frequent link), the row is written below the executor: both identifiers
 * are locked as the link's foreign key checks would lock them, and the row
 * goes in with its defaults, constraints and index entries but without
 * those checks, which would each run a query.  Otherwise (an identifier
 * made by this call, or omni.identity_link has a trigger of its own or row
 * level security that applies) it is an INSERT.
 */
static int64
insert_link_as(Ident *a, Ident *b, text *source, TimestampTz observed_at, const char *reason,
			   const char *status)
{
	Datum		v[6];
	char		nulls[6] = {' ', ' ', source ? ' ' : 'n', ' ', reason ? ' ' : 'n', ' '};

	v[0] = Int64GetDatum(a->id);
	v[1] = Int64GetDatum(b->id);
	v[2] = source ? PointerGetDatum(source) : (Datum) 0;
	v[3] = TimestampTzGetDatum(observed_at);
	v[4] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	v[5] = CStringGetTextDatum(link_status(reason, status));
	if (ItemPointerIsValid(&a->tid) && ItemPointerIsValid(&b->tid) &&
		omni_bulk_usable("identity_link"))
	{
		Ident	   *both[2] = {a, b};

		lock_identity_rows(both, 2);
		return insert_link_row_as(a->id, b->id, source, observed_at, reason, status);
	}
	run(Q_INSERT_LINK, v, nulls, SPI_OK_INSERT_RETURNING);
	return result_int8(0, 1, NULL);
}

/* insert_link_as for an accepted or a rejected link. */
static int64
insert_link(Ident *a, Ident *b, text *source, TimestampTz observed_at, const char *reason)
{
	return insert_link_as(a, b, source, observed_at, reason, NULL);
}

/*
 * The reason of the latest link of identifiers a and b that omni.unmerge
 * marked unmerged, or NULL when it split no link of theirs: one probe of
 * the partial index of such pairs, which is empty until an unmerge.
 */
static char *
unmerged_pair_reason(int64 a, int64 b)
{
	Relation	heap = table_open(omni_relid("identity_link"), AccessShareLock);
	Relation	index = index_open(omni_relid("identity_link_unmerged_idx"), AccessShareLock);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	AttrNumber	id_att = attnameAttNum(heap, "link_id", false);
	AttrNumber	reason_att = attnameAttNum(heap, "reason", false);
	AttrNumber	status_att = attnameAttNum(heap, "status", false);
	ScanKeyData keys[2];
	IndexScanDesc scan;
	int64		latest = 0;
	char	   *reason = NULL;

	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_INT8EQ, Int64GetDatum(Min(a, b)));
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   InvalidOid, F_INT8EQ, Int64GetDatum(Max(a, b)));
	scan = index_beginscan(heap, index, GetLatestSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		int64		id;
		char	   *status;

		slot_getallattrs(slot);
		if (slot->tts_isnull[status_att - 1] || slot->tts_isnull[reason_att - 1])
			continue;
		status = TextDatumGetCString(slot->tts_values[status_att - 1]);
		id = DatumGetInt64(slot->tts_values[id_att - 1]);
		if (strcmp(status, "unmerged") == 0 && id > latest)
		{
			latest = id;
			reason = TextDatumGetCString(slot->tts_values[reason_att - 1]);
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return reason;
}

/* Arrays for the new values of a row of rel, as omni_update_row takes them. */
static void
row_buffers(Relation rel, bool **set, Datum **values, bool **nulls)
{
	int			natts = RelationGetDescr(rel)->natts;

	*set = palloc0(sizeof(bool) * natts);
	*values = palloc0(sizeof(Datum) * natts);
	*nulls = palloc0(sizeof(bool) * natts);
}

/* Widen first/last seen of a row locked or seen by u, into values/set. */
static bool
widen(TupleTableSlot *slot, AttrNumber first_att, AttrNumber last_att, TimestampTz ts,
	  bool *set, Datum *values)
{
	TimestampTz first = DatumGetTimestampTz(slot->tts_values[first_att - 1]);
	TimestampTz last = DatumGetTimestampTz(slot->tts_values[last_att - 1]);

	if (first <= ts && ts <= last)
		return false;
	set[first_att - 1] = set[last_att - 1] = true;
	values[first_att - 1] = TimestampTzGetDatum(Min(first, ts));
	values[last_att - 1] = TimestampTzGetDatum(Max(last, ts));
	return true;
}

/*
 * Widen first_seen/last_seen of identifiers to include ts, below the
 * executor: the UPDATE this replaces costs an executor start-up and the
 * reading of the table's CHECK constraint, several times the update
 * itself.  The rows are those this call found (tids); each is locked and
 * updated only when ts is outside its span, as the UPDATE's WHERE clause
 * would, a row updated since being followed to its last version.  Returns
 * false when it did not finish (an identifier erased meanwhile, a row this
 * transaction changed since it was found, a trigger of the table's own, row
 * level security): the caller then runs the UPDATE, which widens whatever
 * is left and reports what is wrong.
 */
static bool
widen_seen(int n, const int64 *ids, const ItemPointerData *tids, TimestampTz ts)
{
	static const char *const read[1] = {"identity_id"};
	static const char *const cols[2] = {"first_seen", "last_seen"};
	OmniUpdate *u;
	Relation	rel;
	AttrNumber	id_att,
				first_att,
				last_att;
	bool	   *set;
	Datum	   *values;
	bool	   *nulls;
	bool		done = true;

	if (!omni_bulk_usable("identity"))
		return false;
	u = omni_update_begin("identity", 1, read, 2, cols);
	rel = omni_update_relation(u);
	id_att = attnameAttNum(rel, "identity_id", false);
	first_att = attnameAttNum(rel, "first_seen", false);
	last_att = attnameAttNum(rel, "last_seen", false);
	row_buffers(rel, &set, &values, &nulls);
	for (int i = 0; i < n && done; i++)
	{
		ItemPointerData tid = tids[i];
		TupleTableSlot *slot;

		if (i > 0 && ids[i] == ids[0])
			break;				/* one identifier, given twice */
		/* nothing to widen in the version this call found: nothing to lock */
		slot = omni_update_fetch(u, &tid);
		memset(set, 0, sizeof(bool) * RelationGetDescr(rel)->natts);
		if (slot == NULL)
			done = false;
		else if (widen(slot, first_att, last_att, ts, set, values) &&
				 !omni_update_fetched(u, &tid, set, values, nulls))
		{
			/* changed since: the version locked (its last one) decides */
			slot = omni_update_lock(u, &tid);
			memset(set, 0, sizeof(bool) * RelationGetDescr(rel)->natts);
			if (slot == NULL || DatumGetInt64(slot->tts_values[id_att - 1]) != ids[i])
				done = false;
			else if (widen(slot, first_att, last_att, ts, set, values))
				omni_update_row(u, &tid, set, values, nulls);
		}
	}
	omni_update_end(u);
	return done;
}

/*
 * Widen the first_seen/last_seen of two identifiers (or one, given twice)
 * to include ts: below the executor when this call found both rows
 * (widen_seen), otherwise, or when that did not finish, by the UPDATE.
 */
static void
mark_seen(Ident *x, Ident *y, TimestampTz ts)
{
	Datum		v[3] = {Int64GetDatum(x->id), Int64GetDatum(y->id), TimestampTzGetDatum(ts)};

	if (ItemPointerIsValid(&x->tid) && ItemPointerIsValid(&y->tid))
	{
		int64		ids[2] = {x->id, y->id};
		ItemPointerData tids[2] = {x->tid, y->tid};

		if (widen_seen(2, ids, tids, ts))
			return;
	}
	run(Q_SEEN, v, NULL, SPI_OK_UPDATE);
}

/* qsort comparator of int8 Datums */
static int
int64_datum_cmp(const void *a, const void *b)
{
	int64		x = DatumGetInt64(*(const Datum *) a);
	int64		y = DatumGetInt64(*(const Datum *) b);

	return (x > y) - (x < y);
}

/*
 * Whether a merge can write every table it changes below the executor: none
 * has a trigger of its own or row level security that applies.
 */
static bool
direct_merge_usable(void)
{
	return omni_bulk_usable("identity") && omni_bulk_usable("identity_link") &&
		omni_bulk_usable("customer") && omni_bulk_usable("merge_log");
}

/*
 * The current customers and rows of two identifiers (or of one, given
 * twice), as a new snapshot sees them: the version this call found first
 * when the snapshot still sees it (a snapshot sees one version of a row at
 * most), else the one omni.identity's primary key finds.  An identifier
 * erased meanwhile is a serialization failure.
 */
static void
reread_identities(Ident *x, Ident *y, int64 *cx, int64 *cy)
{
	Relation	heap = table_open(omni_relid("identity"), AccessShareLock);
	AttrNumber	customer_att = attnameAttNum(heap, "customer_id", false);
	AttrNumber	id_att = attnameAttNum(heap, "identity_id", false);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	Snapshot	snap;
	Ident	   *both[2] = {x, y};
	int64	   *out[2] = {cx, cy};

	if (pg_class_aclcheck(RelationGetRelid(heap), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(heap));
	CommandCounterIncrement();
	snap = RegisterSnapshot(GetTransactionSnapshot());
	for (int i = 0; i < 2; i++)
	{
		bool		isnull;

		if (ItemPointerIsValid(&both[i]->tid) &&
			table_tuple_fetch_row_version(heap, &both[i]->tid, snap, slot) &&
			DatumGetInt64(slot_getattr(slot, id_att, &isnull)) == both[i]->id)
		{
			/* still the row's visible version */
		}
		else if (!omni_fetch_by_pkey(heap, snap, both[i]->id, slot))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("identifier %lld was erased by a concurrent transaction",
							(long long) both[i]->id)));
		*out[i] = DatumGetInt64(slot_getattr(slot, customer_att, &isnull));
		both[i]->tid = slot->tts_tid;
		ExecClearTuple(slot);
	}
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(heap, NoLock);
}

/*
 * The identifier rows of the customer a merge absorbs, as the limit check
 * found them (with the customers locked), and the direct update of
 * omni.identity that found them, still open: the merge that follows moves
 * those rows without looking them up again.
 */
typedef struct AbsorbedRows
{
	OmniUpdate *u;				/* NULL: none kept */
	int64		customer;
	ItemPointerData *tids;
	int			n;
} AbsorbedRows;

/* what a merge reads of omni.identity and what it sets */
static const char *const merge_identity_read[2] = {"identity_id", "kind"};
static const char *const merge_identity_cols[3] = {"customer_id", "first_seen", "last_seen"};

/*
 * Why merging customers c1 and c2 (both locked) would break a rule: the
 * most trusted kind whose limit their identifiers together exceed, or
 * NULL.  The wording is that of the SQL path's.  When the merge may go on,
 * the rows of the newer customer's identifiers (the one a merge absorbs)
 * are kept in *kept for it.
 */
static char *
limit_reason(OmniRules *rules, int64 c1, int64 c2, AbsorbedRows *kept)
{
	int64	   *counts;
	bool		limited = false;
	OmniUpdate *u;
	Relation	rel;
	AttrNumber	kind_att;
	ItemPointerData *tids = NULL;
	int			n = 0,
				size = 0,
				nolder;
	char	   *reason = NULL;

	kept->u = NULL;
	for (int k = 0; k < rules->nkinds; k++)
		limited |= rules->kinds[k].max_per_customer > 0;
	if (!limited)
		return NULL;
	counts = palloc0(sizeof(int64) * rules->nkinds);
	/* the privileges checked are the merge's */
	u = omni_update_begin("identity", lengthof(merge_identity_read), merge_identity_read,
						  lengthof(merge_identity_cols), merge_identity_cols);
	rel = omni_update_relation(u);
	kind_att = attnameAttNum(rel, "kind", false);
	omni_update_find(u, "identity_customer_id_idx", Min(c1, c2), &tids, &n, &size);
	nolder = n;
	if (c2 != c1)
		omni_update_find(u, "identity_customer_id_idx", Max(c1, c2), &tids, &n, &size);
	for (int i = 0; i < n; i++)
	{
		TupleTableSlot *slot = omni_update_fetch(u, &tids[i]);
		int			k;

		if (slot == NULL || slot->tts_isnull[kind_att - 1])
			continue;
		k = omni_rules_kind_index(rules, TextDatumGetCString(slot->tts_values[kind_att - 1]));
		if (k >= 0)
			counts[k]++;
	}
	for (int k = 0; k < rules->nkinds && reason == NULL; k++)
	{
		OmniKindRule *kr = &rules->kinds[k];

		if (kr->max_per_customer > 0 && counts[k] > kr->max_per_customer)
			reason = psprintf("max_per_customer exceeded: customers %lld and %lld together would hold %lld %s identifiers (max %d)",
							  (long long) Min(c1, c2), (long long) Max(c1, c2),
							  (long long) counts[k], kr->kind, kr->max_per_customer);
	}
	if (reason != NULL || c1 == c2)
		omni_update_end(u);
	else
	{
		kept->u = u;
		kept->customer = Max(c1, c2);
		kept->tids = tids + nolder;
		kept->n = n - nolder;
	}
	return reason;
}

/*
 * insert_link_checked below the executor: the same checks and outcome, the
 * link's identifiers locked as its foreign key checks would lock them.
 */
static bool
insert_link_checked_direct(OmniRules *rules, Ident *a, Ident *b, text *source,
						   TimestampTz observed_at, int64 *link_id, bool *refused,
						   AbsorbedRows *kept)
{
	int64		ca,
				cb;
	char	   *reason;
	Ident	   *both[2] = {a, b};

	reread_identities(a, b, &ca, &cb);
	if (ca != a->customer || cb != b->customer)
	{
		/* another transaction moved one of them: the caller starts over */
		a->customer = ca;
		b->customer = cb;
		return false;
	}
	reason = limit_reason(rules, ca, cb, kept);
	lock_identity_rows(both, 2);
	*link_id = insert_link_row(a->id, b->id, source, observed_at, reason);
	*refused = (reason != NULL);
	return true;
}

/*
 * The merge of Q_MERGE below the executor, with the same outcome: the
 * absorbed customer's identifiers move to the survivor (the two linked
 * identifiers widen their first/last seen to include ts), the absorbed
 * customer and those it had absorbed point at the survivor, and the merge
 * is logged.  Both customers are locked (FOR UPDATE) by this transaction:
 * what the foreign key checks of the rows written would verify holds.  The
 * absorbed customer's identifier rows are those the limit check kept, when
 * it kept them.
 */
static void
merge_direct(Ident *survivor, Ident *absorbed, int64 link_id, TimestampTz ts,
			 AbsorbedRows *kept)
{
	static const char *const cread[1] = {"customer_id"};
	static const char *const ccols[2] = {"merged_into", "merged_at"};
	static const char *const mcols[4] = {"survivor", "absorbed", "link_id", "identities"};
	int64		s = survivor->customer,
				x = absorbed->customer;
	OmniUpdate *u;
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	id_att,
				cust_att,
				first_att,
				last_att,
				merged_att,
				at_att,
				cid_att;
	ItemPointerData *tids = NULL;
	int			n = 0,
				size = 0,
				nmoved = 0;
	Datum	   *moved;
	bool	   *set;
	Datum	   *values;
	bool	   *nulls;
	TupleTableSlot *slot;
	Datum		mv[4];
	bool		mnulls[4] = {false, false, false, false};

	/* the identifiers */
	if (kept->u != NULL && kept->customer == x)
	{
		u = kept->u;
		tids = kept->tids;
		n = kept->n;
		size = n;
		kept->u = NULL;
	}
	else
	{
		u = omni_update_begin("identity", lengthof(merge_identity_read), merge_identity_read,
							  lengthof(merge_identity_cols), merge_identity_cols);
		omni_update_find(u, "identity_customer_id_idx", x, &tids, &n, &size);
	}
	rel = omni_update_relation(u);
	desc = RelationGetDescr(rel);
	id_att = attnameAttNum(rel, "identity_id", false);
	cust_att = attnameAttNum(rel, "customer_id", false);
	first_att = attnameAttNum(rel, "first_seen", false);
	last_att = attnameAttNum(rel, "last_seen", false);
	row_buffers(rel, &set, &values, &nulls);
	moved = palloc(sizeof(Datum) * Max(1, n));
	for (int i = 0; i < n; i++)
	{
		int64		id;
		bool		locked = false;

		CHECK_FOR_INTERRUPTS();

		/*
		 * The version found is rewritten; when it is not the row's last one
		 * any more, the row is locked, which finds that one, and decided
		 * again.
		 */
		slot = omni_update_fetch(u, &tids[i]);
		for (;;)
		{
			if (slot == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("an identifier of customer %lld was erased by a concurrent transaction",
								(long long) x)));
			/* a version that no longer belongs to the absorbed customer stays */
			if (DatumGetInt64(slot->tts_values[cust_att - 1]) != x)
				break;
			id = DatumGetInt64(slot->tts_values[id_att - 1]);
			memset(set, 0, sizeof(bool) * desc->natts);
			set[cust_att - 1] = true;
			values[cust_att - 1] = Int64GetDatum(s);
			if (id == absorbed->id)
				(void) widen(slot, first_att, last_att, ts, set, values);
			if (locked)
				omni_update_row(u, &tids[i], set, values, nulls);
			else if (!omni_update_fetched(u, &tids[i], set, values, nulls))
			{
				slot = omni_update_lock(u, &tids[i]);
				locked = true;
				continue;
			}
			if (id != survivor->id)
				moved[nmoved++] = Int64GetDatum(id);
			break;
		}
	}
	/* the survivor's identifier of the link widens when it must */
	if (ItemPointerIsValid(&survivor->tid) &&
		(slot = omni_update_fetch(u, &survivor->tid)) != NULL)
	{
		memset(set, 0, sizeof(bool) * desc->natts);
		if (widen(slot, first_att, last_att, ts, set, values) &&
			!omni_update_fetched(u, &survivor->tid, set, values, nulls))
		{
			/* changed since: the version locked (its last one) decides */
			slot = omni_update_lock(u, &survivor->tid);
			memset(set, 0, sizeof(bool) * desc->natts);
			if (slot != NULL && DatumGetInt64(slot->tts_values[id_att - 1]) == survivor->id &&
				widen(slot, first_att, last_att, ts, set, values))
				omni_update_row(u, &survivor->tid, set, values, nulls);
		}
	}
	omni_update_end(u);

	/* the absorbed customer, and those it had absorbed */
	u = omni_update_begin("customer", 1, cread, 2, ccols);
	rel = omni_update_relation(u);
	desc = RelationGetDescr(rel);
	cid_att = attnameAttNum(rel, "customer_id", false);
	merged_att = attnameAttNum(rel, "merged_into", false);
	at_att = attnameAttNum(rel, "merged_at", false);
	row_buffers(rel, &set, &values, &nulls);
	tids = NULL;
	n = size = 0;
	omni_update_find(u, "customer_pkey", x, &tids, &n, &size);
	omni_update_find(u, "customer_merged_into_idx", x, &tids, &n, &size);
	for (int i = 0; i < n; i++)
	{
		int64		c;

		CHECK_FOR_INTERRUPTS();
		slot = omni_update_lock(u, &tids[i]);
		if (slot == NULL)
			continue;
		c = DatumGetInt64(slot->tts_values[cid_att - 1]);
		if (c != x && (slot->tts_isnull[merged_att - 1] ||
					   DatumGetInt64(slot->tts_values[merged_att - 1]) != x))
			continue;
		memset(set, 0, sizeof(bool) * desc->natts);
		set[merged_att - 1] = true;
		values[merged_att - 1] = Int64GetDatum(s);
		if (c == x)
		{
			set[at_att - 1] = true;
			values[at_att - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		}
		omni_update_row(u, &tids[i], set, values, nulls);
	}
	omni_update_end(u);

	/* the log, its identifiers in id order */
	qsort(moved, nmoved, sizeof(Datum), int64_datum_cmp);
	mv[0] = Int64GetDatum(s);
	mv[1] = Int64GetDatum(x);
	mv[2] = Int64GetDatum(link_id);
	mv[3] = PointerGetDatum(construct_array(moved, nmoved, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	(void) omni_insert_row("merge_log", 4, mcols, mv, mnulls, "merge_id");
}

/*
 * Merge the customers of two linked identifiers (both customers locked)
 * because of link_id: the newer customer is absorbed by the older one.  Its
 * identifiers move, it (and the customers it had absorbed) point at the
 * survivor, the merge is logged, and both identifiers widen their
 * first/last seen to include ts; one statement, after a second one that
 * gives the survivor the absorbed customer's attributes and time zone when
 * carry says it has any to give.  Then its touchpoints follow its
 * identifiers.
 */
static void
merge_customers(Ident *a, Ident *b, int64 link_id, bool carry, bool direct, TimestampTz ts,
				AbsorbedRows *kept)
{
	Ident	   *survivor = a->customer < b->customer ? a : b;
	Ident	   *absorbed = survivor == a ? b : a;
	Datum		v[6];
	Datum		carried = (Datum) 0;
	bool		carried_null = true;

	v[0] = Int64GetDatum(survivor->customer);
	v[1] = Int64GetDatum(absorbed->customer);
	if (carry)
	{
		run(Q_CARRY, v, NULL, SPI_OK_UPDATE_RETURNING);
		if (SPI_processed == 1)
		{
			carried = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
									&carried_null);
			if (!carried_null)
				carried = datumCopy(carried, false, -1);
		}
	}
	v[2] = Int64GetDatum(link_id);
	v[3] = Int64GetDatum(survivor->id);
	v[4] = Int64GetDatum(absorbed->id);
	v[5] = TimestampTzGetDatum(ts);
	if (direct)
		merge_direct(survivor, absorbed, link_id, ts, kept);
	else if (!IsolationUsesXactSnapshot())
		run(Q_MERGE, v, NULL, SPI_OK_INSERT_RETURNING);
	else
	{
		/*
		 * REPEATABLE READ: the rows to move are found as they are now (an
		 * identifier a concurrent link gave the absorbed customer
		 * included), and one the transaction's snapshot cannot see is a
		 * serialization failure (the cross-check), as the direct path does.
		 */
		int			ret;
		int			level = omni_pin_search_path();

		CommandCounterIncrement();
		ret = SPI_execute_snapshot(plan_of(Q_MERGE), v, NULL, GetLatestSnapshot(),
								   GetTransactionSnapshot(), false, true, 0);
		omni_unpin_search_path(level);
		if (ret != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "unexpected result %s of the merge", SPI_result_code_string(ret));
	}
	{
		int			level = omni_pin_search_path();

		omni_touchpoint_repoint(plan_of(omni_touchpoint_partitioned() ? Q_MOVE_MERGE : Q_REPOINT_MERGE), v);
		omni_unpin_search_path(level);
	}
	if (!carried_null)
	{
		Datum		cv[3];

		cv[0] = v[0];
		cv[1] = v[1];
		cv[2] = carried;
		run(Q_CARRIED, cv, NULL, SPI_OK_UPDATE);
	}
}

/*
 * Record the link of identifiers of two customers this transaction locked,
 * refused (with the reason) when merging them would exceed the limit of a
 * kind: the most trusted such kind.  The identifiers' customers are read
 * again in the same statement; when one of them moved since a and b were
 * read, nothing is recorded, a and b get their current customers and false
 * is returned.  Otherwise returns true with the link's id in *link_id and
 * whether it was refused in *refused.
 */
static bool
insert_link_checked(Ident *a, Ident *b, text *source, TimestampTz observed_at,
					int64 *link_id, bool *refused)
{
	Datum		v[6];
	char		nulls[6] = {' ', ' ', source ? ' ' : 'n', ' ', ' ', ' '};
	bool		a_null,
				b_null,
				isnull;
	int64		ca,
				cb;

	v[0] = Int64GetDatum(a->id);
	v[1] = Int64GetDatum(b->id);
	v[2] = source ? PointerGetDatum(source) : (Datum) 0;
	v[3] = TimestampTzGetDatum(observed_at);
	v[4] = Int64GetDatum(a->customer);
	v[5] = Int64GetDatum(b->customer);
	run(Q_INSERT_LINK_CHECKED, v, nulls, SPI_OK_SELECT);
	ca = result_int8(0, 1, &a_null);
	cb = result_int8(0, 2, &b_null);
	if (a_null || b_null)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("identifier %lld was erased by a concurrent transaction",
						(long long) (a_null ? a->id : b->id))));
	*link_id = result_int8(0, 3, &isnull);
	if (isnull)
	{
		/* another transaction moved one of them: the caller starts over */
		Assert(ca != a->customer || cb != b->customer);
		a->customer = ca;
		b->customer = cb;
		return false;
	}
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, refused);
	*refused = !*refused;
	return true;
}

/*
 * Attach a new identifier b to the customer of a, when b's kind has room
 * in it, and record their link (b is identity_a of the link when b_first);
 * false (nothing done) when it has not, with *reason set, or when b
 * appeared meanwhile.  The customer stays locked until the end of the
 * transaction.
 */
static bool
attach_new(Ident *a, bool a_created, Ident *b, OmniKindRule *rule_b, TimestampTz seen,
		   bool b_first, text *source, int64 *link_id, char **reason)
{
	Datum		v[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', source ? ' ' : 'n'};

	*reason = NULL;
	/* a customer this call just made is invisible to others: no lock needed */
	while (!a_created)
	{
		int64		c;

		lock_customers(a->customer, a->customer, NULL);
		reread_identities(a, a, &c, &c);
		if (c == a->customer)
			break;
		a->customer = c;		/* merged meanwhile: lock the survivor */
	}
	if (rule_b->max_per_customer > 0)
	{
		int64		n;

		if (a_created)
			n = (strcmp(a->kind, b->kind) == 0) ? 1 : 0;
		else
		{
			v[0] = Int64GetDatum(a->customer);
			v[1] = CStringGetTextDatum(b->kind);
			run(Q_KIND_COUNT, v, NULL, SPI_OK_SELECT);
			n = result_int8(0, 1, NULL);
		}
		if (n + 1 > rule_b->max_per_customer)
		{
			*reason = psprintf("max_per_customer exceeded: customer %lld already holds %lld %s identifiers (max %d)",
							   (long long) a->customer, (long long) n, b->kind,
							   rule_b->max_per_customer);
			return false;
		}
	}
	/*
	 * Directly when a is this call's own or its row was found by this call
	 * (locked then as the link's foreign key check would lock it); the
	 * customer is this call's or locked above.
	 */
	if ((a_created || ItemPointerIsValid(&a->tid)) &&
		direct_new_identity(b->kind, false, true))
	{
		if (!a_created)
			lock_identity_rows(&a, 1);
		if (!insert_identity(b, a->customer, seen))
			return false;
		*link_id = b_first ? insert_link_row(b->id, a->id, source, seen, NULL)
			: insert_link_row(a->id, b->id, source, seen, NULL);
		return true;
	}
	v[0] = CStringGetTextDatum(b->kind);
	v[1] = CStringGetTextDatum(b->value);
	v[2] = Int64GetDatum(a->customer);
	v[3] = TimestampTzGetDatum(seen);
	v[4] = Int64GetDatum(a->id);
	v[5] = BoolGetDatum(b_first);
	v[6] = source ? PointerGetDatum(source) : (Datum) 0;
	if (run(Q_ADD_AND_LINK, v, nulls, SPI_OK_SELECT) != 1)
		return false;
	b->id = result_int8(0, 1, NULL);
	b->customer = a->customer;
	ItemPointerSetInvalid(&b->tid);
	*link_id = result_int8(0, 2, NULL);
	return true;
}

/*
 * Link two existing identifiers of different customers: lock both
 * customers, check that the identifiers still belong to them and the rules,
 * merge.  Returns the link id; *seen_done says whether their first/last
 * seen were widened to observed_at already (by the merge).
 */
static int64
link_existing(OmniRules *rules, Ident *a, Ident *b, text *source, TimestampTz observed_at,
			  bool *seen_done)
{
	bool		refused;
	bool		carry = false;
	int			direct = -1;	/* not known yet */
	int64		link_id;
	AbsorbedRows kept = {NULL};

	*seen_done = false;
	for (;;)
	{
		char	   *unmerged;

		if (a->customer == b->customer)
			return insert_link(a, b, source, observed_at, NULL);

		/*
		 * A pair that omni.unmerge split is recorded when seen again, with
		 * the unmerge named, and merges nothing: only other evidence joins
		 * the two customers again.
		 */
		if ((unmerged = unmerged_pair_reason(a->id, b->id)) != NULL)
			return insert_link_as(a, b, source, observed_at, unmerged, "unmerged");
		if (direct < 0)
			direct = direct_merge_usable();
		lock_customers(a->customer, b->customer, &carry);
		if (direct ? insert_link_checked_direct(rules, a, b, source, observed_at, &link_id, &refused,
												&kept)
			: insert_link_checked(a, b, source, observed_at, &link_id, &refused))
			break;
		/* another transaction moved one of them: start from what is now */
		CHECK_FOR_INTERRUPTS();
	}
	if (!refused)
	{
		merge_customers(a, b, link_id, carry, direct > 0, observed_at, &kept);
		*seen_done = true;
	}
	if (kept.u != NULL)
		omni_update_end(kept.u);
	return link_id;
}

/*
 * Run link_existing in a subtransaction, starting over when it is chosen
 * as a deadlock victim.  *seen_done as link_existing's.
 */
static int64
link_existing_retrying(OmniRules *rules, Ident *a, Ident *b, text *source, TimestampTz observed_at,
					   bool *seen_done)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Ident		a0 = *a,
				b0 = *b;
	volatile int attempt;

	*seen_done = false;

	/*
	 * Two identifiers of one customer (the common case: a pair seen again)
	 * take no customer lock and cannot deadlock here: no subtransaction.
	 */
	if (a->customer == b->customer)
		return insert_link(a, b, source, observed_at, NULL);

	for (attempt = 0;; attempt++)
	{
		int64		link_id = 0;
		bool		retry = false;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcontext);
		PG_TRY();
		{
			link_id = link_existing(rules, a, b, source, observed_at, seen_done);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcontext);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcontext);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcontext);
			CurrentResourceOwner = oldowner;
			if (edata->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED ||
				attempt >= LINK_MAX_RETRIES)
				ReThrowError(edata);
			FreeErrorData(edata);
			retry = true;
		}
		PG_END_TRY();
		if (!retry)
			return link_id;
		*a = a0;
		*b = b0;
		find_identity(a);
		find_identity(b);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Connect to SPI, failing loudly. */
static void
connect_spi(void)
{
	int			ret = SPI_connect();

	if (ret != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
}

PG_FUNCTION_INFO_V1(omni_identify);
/*
 * omni.identify(kind, value): the identifier's id, created (with a new
 * customer of its own) when it is new.
 */
Datum
omni_identify(PG_FUNCTION_ARGS)
{
	OmniRules  *rules = omni_rules_for_call(fcinfo);
	Ident		ident;
	text	   *value = PG_GETARG_TEXT_PP(1);

	ident.kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ident.value = omni_normalize_kind(rules, ident.kind, VARDATA_ANY(value),
									  VARSIZE_ANY_EXHDR(value));
	connect_spi();
	get_or_create(&ident, GetCurrentTransactionStartTimestamp());
	SPI_finish();
	PG_RETURN_INT64(ident.id);
}

PG_FUNCTION_INFO_V1(omni_customer_of);
/*
 * omni.customer_of(kind, value): the live customer of an identifier, NULL
 * when the identifier is unknown.
 */
Datum
omni_customer_of(PG_FUNCTION_ARGS)
{
	OmniRules  *rules = omni_rules_for_call(fcinfo);
	Ident		ident;
	text	   *value = PG_GETARG_TEXT_PP(1);
	bool		found;

	ident.kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ident.value = omni_normalize_kind(rules, ident.kind, VARDATA_ANY(value),
									  VARSIZE_ANY_EXHDR(value));
	connect_spi();
	found = find_identity(&ident);
	SPI_finish();
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_INT64(ident.customer);
}

PG_FUNCTION_INFO_V1(omni_link);
/*
 * omni.link(kind_a, value_a, kind_b, value_b, source, observed_at): two
 * identifiers seen together.  Creates them as needed and merges their
 * customers unless a rule refuses; a refused link is kept with status
 * rejected and its reason.  Returns the link id.
 */
Datum
omni_link(PG_FUNCTION_ARGS)
{
	OmniRules  *rules;
	Ident		a,
				b;
	OmniKindRule *rule_a,
			   *rule_b;
	text	   *value_a,
			   *value_b;
	text	   *source;
	TimestampTz observed_at;
	const char *blocked;
	int64		link_id;
	bool		a_found,
				b_found,
				a_created = false,
				b_created = false,
				seen_done = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("omni.link needs two identifiers: kinds and values must not be NULL")));
	rules = omni_rules_for_call(fcinfo);
	source = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	observed_at = PG_ARGISNULL(5) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(5);
	if (TIMESTAMP_NOT_FINITE(observed_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("observed_at must be finite")));

	a.kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	b.kind = text_to_cstring(PG_GETARG_TEXT_PP(2));
	rule_a = omni_rules_kind(rules, a.kind);
	rule_b = omni_rules_kind(rules, b.kind);
	value_a = PG_GETARG_TEXT_PP(1);
	value_b = PG_GETARG_TEXT_PP(3);
	a.value = omni_normalize_kind(rules, a.kind, VARDATA_ANY(value_a), VARSIZE_ANY_EXHDR(value_a));
	b.value = omni_normalize_kind(rules, b.kind, VARDATA_ANY(value_b), VARSIZE_ANY_EXHDR(value_b));
	/* two spellings of one identifier: it is seen, there is nothing to link */
	if (strcmp(a.kind, b.kind) == 0 && strcmp(a.value, b.value) == 0)
	{
		connect_spi();
		if (!get_or_create(&a, observed_at))
			mark_seen(&a, &a, observed_at);
		SPI_finish();
		PG_RETURN_NULL();
	}

	blocked = omni_blocked_reason(rules, a.kind, a.value);
	if (blocked == NULL)
		blocked = omni_blocked_reason(rules, b.kind, b.value);

	connect_spi();
	find_pair(&a, &b, &a_found, &b_found);
	if (blocked)
	{
		/* both identifiers exist, alone; the link is kept, refused */
		a_created = !a_found && create_identity(&a, observed_at);
		b_created = !b_found && create_identity(&b, observed_at);
		link_id = insert_link(&a, &b, source, observed_at, blocked);
	}
	else if (a_found && b_found)
		link_id = link_existing_retrying(rules, &a, &b, source, observed_at, &seen_done);
	else
	{
		/* a new identifier joins the customer of the other (made now if new too) */
		Ident	   *known = a_found ? &a : &b;
		Ident	   *fresh = a_found ? &b : &a;
		OmniKindRule *fresh_rule = a_found ? rule_b : rule_a;
		bool		known_created = false;
		bool		fresh_created = true;
		char	   *reason;

		if (!a_found && !b_found)
			known_created = create_identity(known, observed_at);
		if (!attach_new(known, known_created, fresh, fresh_rule, observed_at,
						fresh == &a, source, &link_id, &reason))
		{
			if (reason != NULL)
			{
				fresh_created = create_identity(fresh, observed_at);
				link_id = insert_link(&a, &b, source, observed_at, reason);
			}
			else
			{
				/* the new one was created meanwhile by another transaction */
				find_identity(fresh);
				fresh_created = false;
				link_id = link_existing_retrying(rules, &a, &b, source, observed_at,
												 &seen_done);
			}
		}
		a_created = (known == &a) ? known_created : fresh_created;
		b_created = (known == &b) ? known_created : fresh_created;
	}
	/* identifiers made by this call carry observed_at already; a merge widened both */
	if (!seen_done && (!a_created || !b_created))
		mark_seen(a_created ? &b : &a, b_created ? &a : &b, observed_at);
	SPI_finish();
	PG_RETURN_INT64(link_id);
}

PG_FUNCTION_INFO_V1(omni_touch);
/*
 * omni.touch(kind, value, channel, event, ts, campaign, topic, properties):
 * record a touchpoint of an identifier (created when new) and return its id.
 */
Datum
omni_touch(PG_FUNCTION_ARGS)
{
	OmniRules  *rules;
	Ident		ident;
	text	   *value;
	TimestampTz ts;
	Datum		v[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;
	bool		created;
	int			i;

	for (i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("omni.touch needs a kind, a value, a channel, an event and a time: none may be NULL")));
	rules = omni_rules_for_call(fcinfo);
	ident.kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	value = PG_GETARG_TEXT_PP(1);
	ident.value = omni_normalize_kind(rules, ident.kind, VARDATA_ANY(value),
									  VARSIZE_ANY_EXHDR(value));
	if (VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(3)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("touchpoint event must not be empty")));
	ts = PG_GETARG_TIMESTAMPTZ(4);
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("touchpoint time must be finite")));

	connect_spi();
	v[0] = PG_GETARG_DATUM(2);
	run(Q_CHANNEL, v, NULL, SPI_OK_SELECT);
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		SPI_execute("SELECT string_agg(channel, ', ' ORDER BY channel) FROM omni.channel", true, 1);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown channel \"%s\"", omni_clip_value(VARDATA_ANY(PG_GETARG_TEXT_PP(2)), VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)))),
				 errhint("Known channels: %s. Add a channel with INSERT INTO omni.channel.",
						 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1))));
	}
	created = get_or_create(&ident, ts);

	v[0] = Int64GetDatum(ident.id);
	v[1] = TimestampTzGetDatum(ts);
	v[2] = PG_GETARG_DATUM(2);
	v[3] = PG_GETARG_DATUM(3);
	for (i = 5; i <= 7; i++)
	{
		if (PG_ARGISNULL(i))
		{
			nulls[i - 1] = 'n';
			v[i - 1] = (Datum) 0;
		}
		else
			v[i - 1] = PG_GETARG_DATUM(i);
	}
	if (nulls[6] == 'n')
	{
		/* properties NULL means none */
		v[6] = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		nulls[6] = ' ';
	}
	if (omni_touchpoint_partitioned())
		v[7] = Int64GetDatum(omni_touchpoint_customer_of(ident.id));
	if (run(omni_touchpoint_partitioned() ? Q_TOUCH_KEYED : Q_TOUCH, v, nulls,
			SPI_OK_INSERT_RETURNING) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("identifier %s \"%s\" was erased by a concurrent transaction",
						ident.kind, ident.value)));
	{
		int64		id = result_int8(0, 1, NULL);

		if (!created)
			mark_seen(&ident, &ident, ts);
		SPI_finish();
		PG_RETURN_INT64(id);
	}
}

/*
 * A raw staged value normalized under the rule of an erased identifier's
 * kind, or NULL.  The staged row's own kind is not consulted (a row with a
 * misspelled kind holds the address as much as a good one), and a region
 * the row names that is not known falls back to the kind's region: no
 * staged value can make the erasure fail.
 */
static char *
staged_as(OmniKindRule *rule, const char *raw, const char *region)
{
	OmniNormError err;
	char	   *norm;

	if (raw == NULL)
		return NULL;
	norm = omni_normalize_kind_soft(rule, raw, strlen(raw), region, &err);
	if (norm == NULL && region != NULL)
		norm = omni_normalize_kind_soft(rule, raw, strlen(raw), NULL, &err);
	return norm;
}

/*
 * Delete the rows of omni.link_staging that name one of the identifiers of
 * customer "root" (about to be erased), on either side of the pair, whether
 * or not omni.resolve_all could read them.  The staged values are raw, so
 * each is normalized the way each erased identifier was; this reads the
 * whole staging table once, in batches, in a context reset per batch.
 */
static void
forget_staged(OmniRules *rules, int64 root)
{
	Oid			t[1] = {INT8OID};
	Datum		v[1];
	int			nerased;
	OmniKindRule **erased_rule;
	char	  **erased_value;
	int64	   *doomed;
	int			ndoomed = 0;
	int			maxdoomed = 64;
	Portal		portal;
	MemoryContext batch;
	MemoryContext old;
	int			i;

	v[0] = Int64GetDatum(root);
	if (SPI_execute_with_args("SELECT kind, value FROM omni.identity WHERE customer_id = $1 "
							  "ORDER BY kind", 1, t, v, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the identifiers of customer %lld", (long long) root);
	nerased = (int) SPI_processed;
	if (nerased == 0)
		return;
	erased_rule = palloc(sizeof(OmniKindRule *) * nerased);
	erased_value = palloc(sizeof(char *) * nerased);
	for (i = 0; i < nerased; i++)
	{
		erased_rule[i] = omni_rules_kind(rules, SPI_getvalue(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1));
		erased_value[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	SPI_freetuptable(SPI_tuptable);
	doomed = palloc(sizeof(int64) * maxdoomed);

	batch = AllocSetContextCreate(CurrentMemoryContext, "omni forget staged rows",
								  ALLOCSET_DEFAULT_SIZES);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT staging_id, value_a, value_b, region "
									   "FROM omni.link_staging",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		j;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (j = 0; j < SPI_processed; j++)
		{
			HeapTuple	tup = SPI_tuptable->vals[j];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			char	   *va;
			char	   *vb;
			char	   *region;

			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(batch);
			va = SPI_getvalue(tup, desc, 2);
			vb = SPI_getvalue(tup, desc, 3);
			region = SPI_getvalue(tup, desc, 4);
			/* each value is normalized once per kind erased */
			for (i = 0; i < nerased; i++)
			{
				char	   *na;
				char	   *nb;
				int			k;

				if (i > 0 && erased_rule[i] == erased_rule[i - 1])
					continue;
				na = staged_as(erased_rule[i], va, region);
				nb = staged_as(erased_rule[i], vb, region);
				for (k = i; k < nerased && erased_rule[k] == erased_rule[i]; k++)
					if ((na && strcmp(na, erased_value[k]) == 0) ||
						(nb && strcmp(nb, erased_value[k]) == 0))
						break;
				if (k < nerased && erased_rule[k] == erased_rule[i])
					break;
			}
			MemoryContextSwitchTo(old);
			if (i < nerased)
			{
				if (ndoomed == maxdoomed)
				{
					maxdoomed *= 2;
					doomed = repalloc(doomed, sizeof(int64) * maxdoomed);
				}
				doomed[ndoomed++] = id;
			}
		}
		SPI_freetuptable(SPI_tuptable);
		MemoryContextReset(batch);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(batch);

	if (ndoomed > 0)
	{
		Datum	   *d = palloc(sizeof(Datum) * ndoomed);
		Oid			at[1] = {INT8ARRAYOID};
		Datum		av[1];

		for (i = 0; i < ndoomed; i++)
			d[i] = Int64GetDatum(doomed[i]);
		av[0] = PointerGetDatum(construct_array(d, ndoomed, INT8OID, sizeof(int64),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_execute_with_args("DELETE FROM omni.link_staging WHERE staging_id = ANY ($1)",
								  1, at, av, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete staged rows of erased identifiers");
	}
}

PG_FUNCTION_INFO_V1(omni_forget);
/*
 * omni.forget(customer_id): erase a customer.  Its identifiers, their links
 * and touchpoints, its consents, messages, merges and the customer rows
 * themselves (the live customer and every customer merged into it) are
 * deleted in the calling transaction; only a keyed hash of each erased
 * identifier is kept, in omni.forgotten, so that messages to it can still
 * be suppressed.  Staged link rows that name an erased identifier are
 * deleted too.  Returns the number of identifiers erased.
 */
Datum
omni_forget(PG_FUNCTION_ARGS)
{
	int64		customer_id = PG_GETARG_INT64(0);
	int64		root;
	int64		erased;
	Datum		v[1];
	Oid			t[1] = {INT8OID};
	bool		isnull;
	int			ret;
	static const char *const steps[] = {
		/* the register of erased identifiers */
		"INSERT INTO omni.forgotten (hash, kind) "
		"SELECT omni.identifier_hash(kind, value), kind FROM omni.identity WHERE customer_id = $1 "
		"ON CONFLICT (hash) DO UPDATE SET forgotten_at = EXCLUDED.forgotten_at",
		/* messages to the customer or to one of its identifiers */
		"DELETE FROM omni.message m WHERE m.customer_id IN "
		"(SELECT customer_id FROM omni.customer WHERE customer_id = $1 OR merged_into = $1) "
		"OR EXISTS (SELECT 1 FROM omni.identity i WHERE i.customer_id = $1 "
		"AND i.kind = m.recipient_kind AND i.value = omni.try_normalize(m.recipient_kind, m.recipient))",
		"DELETE FROM omni.consent c WHERE c.customer_id IN "
		"(SELECT customer_id FROM omni.customer WHERE customer_id = $1 OR merged_into = $1) "
		"OR c.identity_id IN (SELECT identity_id FROM omni.identity WHERE customer_id = $1)",
		"DELETE FROM omni.merge_log WHERE survivor = $1 OR absorbed = $1 OR survivor IN "
		"(SELECT customer_id FROM omni.customer WHERE merged_into = $1) OR absorbed IN "
		"(SELECT customer_id FROM omni.customer WHERE merged_into = $1)",
		"DELETE FROM omni.touchpoint WHERE identity_id IN "
		"(SELECT identity_id FROM omni.identity WHERE customer_id = $1)",
		/* links go with their identifiers (ON DELETE CASCADE) */
		"DELETE FROM omni.identity WHERE customer_id = $1",
		"DELETE FROM omni.customer WHERE customer_id = $1 OR merged_into = $1",
	};
	int			i;

	connect_spi();
	v[0] = Int64GetDatum(customer_id);
	ret = SPI_execute_with_args("SELECT COALESCE(merged_into, customer_id) FROM omni.customer "
								"WHERE customer_id = $1", 1, t, v, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read omni.customer: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customer %lld does not exist", (long long) customer_id),
				 errhint("It may have been erased already.")));
	root = result_int8(0, 1, &isnull);
	for (;;)
	{
		int64		now_root;

		lock_customers(root, root, NULL);
		v[0] = Int64GetDatum(root);
		ret = SPI_execute_with_args("SELECT COALESCE(merged_into, customer_id) FROM omni.customer "
									"WHERE customer_id = $1", 1, t, v, NULL, false, 0);
		if (ret != SPI_OK_SELECT || SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("customer %lld was erased by a concurrent transaction",
							(long long) customer_id)));
		now_root = result_int8(0, 1, &isnull);
		if (now_root == root)
			break;
		root = now_root;
	}
	v[0] = Int64GetDatum(root);
	ret = SPI_execute_with_args("SELECT count(*) FROM omni.identity WHERE customer_id = $1",
								1, t, v, NULL, false, 0);
	erased = result_int8(0, 1, &isnull);
	/* raw copies of the identifiers waiting in the staging table */
	forget_staged(omni_rules_for_call(fcinfo), root);
	for (i = 0; i < lengthof(steps); i++)
	{
		ret = SPI_execute_with_args(steps[i], 1, t, v, NULL, false, 0);
		if (ret < 0)
			elog(ERROR, "erasure step failed: %s", SPI_result_code_string(ret));
	}
	SPI_finish();
	PG_RETURN_INT64(erased);
}

/* Index of an identity id in a sorted array, or -1. */
static int
id_index(int64 *ids, int n, int64 id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ids[mid] == id)
			return mid;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int
uf_root(int *parent, int x)
{
	while (parent[x] != x)
	{
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Run a statement with int8 arguments, checking its result. */
static void
exec_int8(const char *sql, int nargs, Oid *types, Datum *v, int expect)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, v, NULL, false, 0);

	if (ret != expect)
		elog(ERROR, "unexpected result %s of \"%s\"", SPI_result_code_string(ret), sql);
}

/*
 * Take back what a merge carried (omni.merge_log.carried: attributes and a
 * time zone of the absorbed customer) from the customer that took it,
 * where it is unchanged, and from every customer a later merge carried it
 * on to: a survivor absorbed since passed it on to its own survivor, whose
 * log row records it.  Those log rows forget it too, so that erasing the
 * customer it came from leaves it nowhere.
 */
/* the most merges a carried value is followed through (a bound, not a limit met) */
#define MAX_MERGE_CHAIN 100000

static void
take_back_carried(int64 holder, Datum taken)
{
	Oid			types[2] = {INT8OID, JSONBOID};
	Datum		v[2];
	int			hop;

	for (hop = 0; hop <= MAX_MERGE_CHAIN; hop++)
	{
		int64		merge_id;
		bool		isnull;
		Datum		next;

		CHECK_FOR_INTERRUPTS();
		v[0] = Int64GetDatum(holder);
		v[1] = taken;
		exec_int8("UPDATE omni.customer s SET attributes = s.attributes - "
				  "ARRAY(SELECT e.key FROM jsonb_each($2 -> 'attributes') e "
				  "WHERE s.attributes -> e.key = e.value), "
				  "time_zone = CASE WHEN s.time_zone = $2 ->> 'time_zone' THEN NULL ELSE s.time_zone END "
				  "WHERE s.customer_id = $1",
				  2, types, v, SPI_OK_UPDATE);
		/* what of it the merge that absorbed the holder since carried on */
		exec_int8("SELECT m.merge_id, m.survivor, jsonb_strip_nulls(jsonb_build_object("
				  "'attributes', (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each($2 -> 'attributes') e "
				  "               WHERE m.carried -> 'attributes' -> e.key = e.value), "
				  "'time_zone', CASE WHEN m.carried ->> 'time_zone' = $2 ->> 'time_zone' "
				  "                  THEN m.carried -> 'time_zone' END)) "
				  "FROM omni.merge_log m WHERE m.absorbed = $1 AND m.unmerged_at IS NULL "
				  "ORDER BY m.merge_id DESC LIMIT 1",
				  2, types, v, SPI_OK_SELECT);
		if (SPI_processed == 0)
			break;
		merge_id = result_int8(0, 1, NULL);
		holder = result_int8(0, 2, NULL);
		next = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		if (isnull)
			break;
		next = datumCopy(next, false, -1);
		if (DatumGetBool(DirectFunctionCall2(jsonb_eq, next,
											 DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))))
			break;
		/* that log row keeps the rest */
		v[0] = Int64GetDatum(merge_id);
		v[1] = next;
		exec_int8("UPDATE omni.merge_log m SET carried = (SELECT CASE WHEN c = '{}' THEN NULL ELSE c END "
				  "FROM (SELECT jsonb_strip_nulls(jsonb_build_object("
				  "'attributes', (SELECT CASE WHEN a = '{}' THEN NULL ELSE a END FROM "
				  "(SELECT (m.carried -> 'attributes') - ARRAY(SELECT jsonb_object_keys(COALESCE($2 -> 'attributes', '{}'))) AS a) aa), "
				  "'time_zone', CASE WHEN $2 ? 'time_zone' THEN NULL ELSE m.carried -> 'time_zone' END)) AS c) cc) "
				  "WHERE m.merge_id = $1",
				  2, types, v, SPI_OK_UPDATE);
		taken = next;
	}
}

PG_FUNCTION_INFO_V1(omni_unmerge);
/*
 * omni.unmerge(merge_id): split a customer back along one merge.
 *
 * The identifiers that merge moved seed the absorbed side, the survivor's
 * end of the merging link seeds the other.  The customer's accepted links
 * are replayed in observed order without the merging link, and any link
 * that would join the two sides again is marked unmerged too: those are
 * the links that caused the merge, and they never merge anything again
 * (omni.resolve_all keeps them out as well).  Identifiers that joined the
 * customer later follow the side they are linked to.  The absorbed customer
 * becomes live again with its side, and every other customer absorbed into
 * the live one points at the side its own identifiers went to (those merged
 * into the absorbed one before, and those merged later through one of its
 * identifiers).  Returns the number of identifiers given back to the
 * absorbed customer.
 */
Datum
omni_unmerge(PG_FUNCTION_ARGS)
{
	int64		merge_id = PG_GETARG_INT64(0);
	int64		survivor,
				absorbed,
				link_id = 0,
				root;
	Datum		carried;
	bool		carried_null;
	bool		isnull;
	Datum		v[4];
	Oid			t[4] = {INT8OID, INT8OID, INT8OID, TEXTOID};
	ArrayType  *moved_arr;
	Datum	   *moved_d;
	int			nmoved_d;
	int64	   *ids;
	int			nids,
				i;
	int		   *parent;
	bool	   *side_a,
			   *side_s;
	int64	   *back;
	int			nback = 0;
	int64	   *cut;
	int			ncut = 0;
	int			ret;
	char	   *reason;

	connect_spi();
	v[0] = Int64GetDatum(merge_id);
	ret = SPI_execute_with_args("SELECT survivor, absorbed, link_id, identities, unmerged_at, carried "
								"FROM omni.merge_log WHERE merge_id = $1",
								1, t, v, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read omni.merge_log: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("merge %lld does not exist", (long long) merge_id)));
	SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("merge %lld was already undone", (long long) merge_id),
				 errdetail("It was undone at %s.",
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5))));
	survivor = result_int8(0, 1, NULL);
	absorbed = result_int8(0, 2, NULL);
	carried = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &carried_null);
	if (!carried_null)
		carried = datumCopy(carried, false, -1);
	link_id = result_int8(0, 3, &isnull);
	if (isnull)
		link_id = 0;
	moved_arr = DatumGetArrayTypePCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	deconstruct_array(moved_arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &moved_d, NULL, &nmoved_d);

	/*
	 * Lock the live customer the absorbed one points at (where its
	 * identifiers are: the merge's survivor, or the customer that absorbed
	 * the survivor later, or the side an unmerge since gave them to), and
	 * the absorbed one; read the pointer again under the locks.
	 */
	for (;;)
	{
		int64		now_root;

		v[0] = Int64GetDatum(absorbed);
		ret = SPI_execute_with_args("SELECT merged_into FROM omni.customer WHERE customer_id = $1",
									1, t, v, NULL, false, 0);
		if (ret != SPI_OK_SELECT || SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("merge %lld cannot be undone: customer %lld was erased",
							(long long) merge_id, (long long) absorbed)));
		now_root = result_int8(0, 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("merge %lld cannot be undone: customer %lld is live again",
							(long long) merge_id, (long long) absorbed)));
		lock_customers(now_root, absorbed, NULL);
		ret = SPI_execute_with_args("SELECT merged_into FROM omni.customer WHERE customer_id = $1",
									1, t, v, NULL, false, 0);
		if (ret == SPI_OK_SELECT && SPI_processed == 1 &&
			result_int8(0, 1, &isnull) == now_root && !isnull)
		{
			root = now_root;
			break;
		}
		CHECK_FOR_INTERRUPTS();
	}

	/* the identifiers of the live customer */
	v[0] = Int64GetDatum(root);
	exec_int8("SELECT identity_id FROM omni.identity WHERE customer_id = $1 ORDER BY identity_id",
			  1, t, v, SPI_OK_SELECT);
	nids = SPI_processed;
	ids = palloc(sizeof(int64) * Max(1, nids));
	for (i = 0; i < nids; i++)
		ids[i] = result_int8(i, 1, NULL);
	parent = palloc(sizeof(int) * Max(1, nids));
	side_a = palloc0(sizeof(bool) * Max(1, nids));
	side_s = palloc0(sizeof(bool) * Max(1, nids));
	for (i = 0; i < nids; i++)
		parent[i] = i;
	for (i = 0; i < nmoved_d; i++)
	{
		int			k = id_index(ids, nids, DatumGetInt64(moved_d[i]));

		if (k >= 0)
			side_a[k] = true;
	}

	/* the survivor's end of the merging link seeds the other side */
	if (link_id != 0)
	{
		v[0] = Int64GetDatum(link_id);
		exec_int8("SELECT identity_a, identity_b FROM omni.identity_link WHERE link_id = $1",
				  1, t, v, SPI_OK_SELECT);
		if (SPI_processed == 1)
		{
			int			ka = id_index(ids, nids, result_int8(0, 1, NULL));
			int			kb = id_index(ids, nids, result_int8(0, 2, NULL));

			if (ka >= 0 && !side_a[ka])
				side_s[ka] = true;
			if (kb >= 0 && !side_a[kb])
				side_s[kb] = true;
		}
	}
	/* without the link, everything the merge did not move is the survivor's */
	{
		bool		any_s = false,
					any_a = false;

		for (i = 0; i < nids; i++)
		{
			any_s |= side_s[i];
			any_a |= side_a[i];
		}
		if (!any_a)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("merge %lld cannot be undone: none of the identifiers it moved belong to customer %lld any more",
							(long long) merge_id, (long long) root)));
		if (!any_s)
			for (i = 0; i < nids; i++)
				side_s[i] = !side_a[i];
	}

	/* replay the customer's accepted links, cutting those that rejoin the sides */
	v[0] = Int64GetDatum(root);
	v[1] = Int64GetDatum(link_id);
	exec_int8("SELECT l.link_id, l.identity_a, l.identity_b FROM omni.identity_link l "
			  "JOIN omni.identity i ON i.identity_id = l.identity_a "
			  "WHERE i.customer_id = $1 AND l.status = 'accepted' AND l.link_id <> $2 "
			  "ORDER BY l.observed_at, l.link_id",
			  2, t, v, SPI_OK_SELECT);
	cut = palloc(sizeof(int64) * (SPI_processed + 1));
	if (link_id != 0)
		cut[ncut++] = link_id;
	for (i = 0; i < (int) SPI_processed; i++)
	{
		int			ka = id_index(ids, nids, result_int8(i, 2, NULL));
		int			kb = id_index(ids, nids, result_int8(i, 3, NULL));
		int			ra,
					rb;

		if (ka < 0 || kb < 0)
			continue;			/* a link leaving the customer cannot be accepted */
		ra = uf_root(parent, ka);
		rb = uf_root(parent, kb);
		if (ra == rb)
			continue;
		if ((side_a[ra] && side_s[rb]) || (side_s[ra] && side_a[rb]))
		{
			cut[ncut++] = result_int8(i, 1, NULL);
			continue;
		}
		parent[rb] = ra;
		side_a[ra] |= side_a[rb];
		side_s[ra] |= side_s[rb];
	}
	back = palloc(sizeof(int64) * Max(1, nids));
	for (i = 0; i < nids; i++)
		if (side_a[uf_root(parent, i)])
			back[nback++] = ids[i];

	/* write */
	reason = psprintf("undone by omni.unmerge(%lld)", (long long) merge_id);
	{
		Oid			at[3] = {INT8ARRAYOID, INT8OID, TEXTOID};
		Datum		av[3];
		Datum	   *d = palloc(sizeof(Datum) * Max(1, Max(nback, ncut)));

		for (i = 0; i < nback; i++)
			d[i] = Int64GetDatum(back[i]);
		av[0] = PointerGetDatum(construct_array(d, nback, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		av[1] = Int64GetDatum(absorbed);
		exec_int8("UPDATE omni.identity SET customer_id = $2 WHERE identity_id = ANY ($1)",
				  2, at, av, SPI_OK_UPDATE);
		av[2] = Int64GetDatum(root);
		omni_touchpoint_repoint(plan_of(omni_touchpoint_partitioned() ? Q_MOVE_UNMERGE : Q_REPOINT_UNMERGE), av);
		for (i = 0; i < ncut; i++)
			d[i] = Int64GetDatum(cut[i]);
		av[0] = PointerGetDatum(construct_array(d, ncut, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		av[1] = Int64GetDatum(merge_id);
		av[2] = CStringGetTextDatum(reason);
		exec_int8("UPDATE omni.identity_link SET status = 'unmerged', reason = $3 WHERE link_id = ANY ($1)",
				  3, at, av, SPI_OK_UPDATE);
	}
	v[0] = Int64GetDatum(merge_id);
	exec_int8("UPDATE omni.merge_log SET unmerged_at = now() WHERE merge_id = $1", 1, t, v, SPI_OK_UPDATE);
	v[0] = Int64GetDatum(absorbed);
	exec_int8("UPDATE omni.customer SET merged_into = NULL, merged_at = NULL WHERE customer_id = $1",
			  1, t, v, SPI_OK_UPDATE);
	/* what the survivor took from the absorbed customer, and later merges carried on */
	if (!carried_null)
		take_back_carried(survivor, carried);
	/*
	 * The other customers absorbed into the live one: each follows the
	 * identifiers its own merge moved, to the side most of those still
	 * with the customer went (ties stay).  That covers the customers merged
	 * into the absorbed one before this merge and those merged later
	 * through an identifier that goes back with it.  A customer whose merge
	 * moved none of the customer's identifiers follows its chain of
	 * survivors: it goes back when that chain reaches the absorbed one.
	 */
	{
		Oid			rt[4] = {INT8OID, INT8OID, INT8ARRAYOID, INT8ARRAYOID};
		Datum		rv[4];
		Datum	   *d = palloc(sizeof(Datum) * Max(1, nids));

		rv[0] = Int64GetDatum(root);
		rv[1] = Int64GetDatum(absorbed);
		for (i = 0; i < nback; i++)
			d[i] = Int64GetDatum(back[i]);
		rv[2] = PointerGetDatum(construct_array(d, nback, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		for (i = 0; i < nids; i++)
			d[i] = Int64GetDatum(ids[i]);
		rv[3] = PointerGetDatum(construct_array(d, nids, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		exec_int8("WITH RECURSIVE absorbed AS ("
				  "  SELECT c.customer_id AS c,"
				  "         (SELECT m.identities FROM omni.merge_log m WHERE m.absorbed = c.customer_id"
				  "           AND m.unmerged_at IS NULL ORDER BY m.merge_id DESC LIMIT 1) AS moved"
				  "    FROM omni.customer c WHERE c.merged_into = $1),"
				  "sides AS ("
				  "  SELECT a.c, count(*) FILTER (WHERE i = ANY ($3)) AS back,"
				  "         count(*) FILTER (WHERE i = ANY ($4)) AS here"
				  "    FROM absorbed a LEFT JOIN LATERAL pg_catalog.unnest(a.moved) i ON true GROUP BY a.c),"
				  "chain (c, s) AS ("
				  "  SELECT sd.c, (SELECT m.survivor FROM omni.merge_log m WHERE m.absorbed = sd.c"
				  "         AND m.unmerged_at IS NULL ORDER BY m.merge_id DESC LIMIT 1)"
				  "    FROM sides sd WHERE sd.here = 0"
				  "  UNION ALL"
				  "  SELECT ch.c, (SELECT m.survivor FROM omni.merge_log m WHERE m.absorbed = ch.s"
				  "         AND m.unmerged_at IS NULL ORDER BY m.merge_id DESC LIMIT 1)"
				  "    FROM chain ch WHERE ch.s IS NOT NULL AND ch.s <> $1 AND ch.s <> $2)"
				  "UPDATE omni.customer SET merged_into = $2 "
				  "WHERE customer_id IN (SELECT c FROM sides WHERE here > 0 AND back * 2 > here"
				  "                      UNION SELECT c FROM chain WHERE s = $2)",
				  4, rt, rv, SPI_OK_UPDATE);
	}
	SPI_finish();
	PG_RETURN_INT64(nback);
}
