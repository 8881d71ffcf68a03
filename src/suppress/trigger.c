/*-------------------------------------------------------------------------
 *
 * trigger.c
 *		The trigger function omni.suppress(), the preview
 *		omni.would_suppress(), and the statement trigger that tells every
 *		backend to reload its cached rules.
 *
 * omni.suppress() fires BEFORE INSERT FOR EACH ROW on omni.message, or on an
 * application's own outbox table.  Its arguments map the fields of a
 * message to the table's columns, as field=column; a field with no argument
 * is read from the column of the same name, if the table has one.  The
 * mapping is checked when the trigger is created (by the event trigger
 * omni.suppress_trigger_check()) and again once per statement, since the
 * table may have changed since.  The customer's past messages are counted
 * at the time they go out, through the table's index on (customer,
 * coalesce(send_at, created_at)); a table without one is queried instead,
 * with a query prepared once per backend and trigger.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/partition.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_proc.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_index.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "omnichannel.h"
#include "suppress/suppress.h"

/* The fields of a message an outbox maps to its columns. */
typedef enum OutboxField
{
	FIELD_RECIPIENT_KIND,
	FIELD_RECIPIENT,
	FIELD_CUSTOMER_ID,
	FIELD_CHANNEL,
	FIELD_CAMPAIGN,
	FIELD_CATEGORY,
	FIELD_TOPIC,
	FIELD_CREATED_AT,
	FIELD_SEND_AT,
	FIELD_STATUS,
	FIELD_REASONS,
	FIELD_DECIDED_AT,
	NUM_OUTBOX_FIELDS
} OutboxField;

/* The column types a field accepts. */
typedef enum FieldType
{
	FT_TEXT,					/* text or varchar */
	FT_ID,						/* bigint or integer */
	FT_TIMESTAMPTZ,
	FT_TEXT_ARRAY
} FieldType;

/*
 * The fields of a message.  The trigger writes the decision into the
 * "written" ones; what a BEFORE trigger writes is not checked against a
 * column's length limit or precision nor a domain's constraints, so their
 * columns must be of the plain type (the table's own constraints are
 * checked after the trigger).
 */
static const struct
{
	const char *name;
	FieldType	type;
	bool		required;
	bool		written;
}			outbox_fields[NUM_OUTBOX_FIELDS] =
{
	{"recipient_kind", FT_TEXT, false, false},
	{"recipient", FT_TEXT, false, false},
	{"customer_id", FT_ID, true, true},
	{"channel", FT_TEXT, true, false},
	{"campaign", FT_TEXT, false, false},
	{"category", FT_TEXT, false, false},
	{"topic", FT_TEXT, false, false},
	{"created_at", FT_TIMESTAMPTZ, true, true},
	{"send_at", FT_TIMESTAMPTZ, true, true},
	{"status", FT_TEXT, true, true},
	{"reasons", FT_TEXT_ARRAY, true, true},
	{"decided_at", FT_TIMESTAMPTZ, false, true},
};

/* The checked mapping of one trigger, kept for the statement in fn_extra. */
typedef struct OutboxMap
{
	Oid			tgoid;
	Oid			relid;
	int			attnum[NUM_OUTBOX_FIELDS];	/* 0: not mapped */
	Oid			atttype[NUM_OUTBOX_FIELDS];
	bool		history_ready;
	SuppressHistorySource history;
} OutboxMap;

/* History queries by trigger, kept for the life of the backend. */
typedef struct HistoryPlan
{
	Oid			tgoid;
	char	   *query;
	SuppressHistorySource source;
	struct HistoryPlan *next;
} HistoryPlan;

static HistoryPlan *history_plans = NULL;

StaticAssertDecl(NUM_OUTBOX_FIELDS == SUPPRESS_OUTBOX_FIELDS,
				 "SUPPRESS_OUTBOX_FIELDS must count the fields of OutboxField");

PG_FUNCTION_INFO_V1(omni_suppress);
PG_FUNCTION_INFO_V1(omni_would_suppress);
PG_FUNCTION_INFO_V1(omni_suppression_config_changed);
PG_FUNCTION_INFO_V1(omni_suppress_trigger_check);

/* The SQL name of a field type, for error messages. */
static const char *
field_type_name(FieldType t)
{
	switch (t)
	{
		case FT_TEXT:
			return "text";
		case FT_ID:
			return "bigint";
		case FT_TIMESTAMPTZ:
			return "timestamp with time zone";
		case FT_TEXT_ARRAY:
			return "text[]";
	}
	return "text";				/* keep the compiler quiet */
}

/* Whether a column type is acceptable for a field. */
static bool
field_type_ok(FieldType t, Oid typid)
{
	typid = getBaseType(typid);
	switch (t)
	{
		case FT_TEXT:
			return typid == TEXTOID || typid == VARCHAROID;
		case FT_ID:
			return typid == INT8OID || typid == INT4OID;
		case FT_TIMESTAMPTZ:
			return typid == TIMESTAMPTZOID;
		case FT_TEXT_ARRAY:
			return typid == TEXTARRAYOID;
	}
	return false;
}

/*
 * Whether a partial index holds every queued and delayed message: its
 * predicate follows from status IN ('queued', 'delayed') (a text status
 * column; the engine still checks each row's status).
 */
static bool
predicate_holds_counted(OutboxMap *map, Oid indexoid)
{
	Relation	index;
	List	   *pred;
	Var		   *var;
	Datum		elems[2];
	Const	   *arr;
	ScalarArrayOpExpr *saop;
	bool		result;

	if (map->atttype[FIELD_STATUS] != TEXTOID)
		return false;
	index = index_open(indexoid, AccessShareLock);
	pred = RelationGetIndexPredicate(index);
	var = makeVar(1, map->attnum[FIELD_STATUS], TEXTOID, -1, DEFAULT_COLLATION_OID, 0);
	elems[0] = CStringGetTextDatum("queued");
	elems[1] = CStringGetTextDatum("delayed");
	arr = makeConst(TEXTARRAYOID, -1, DEFAULT_COLLATION_OID, -1,
					PointerGetDatum(construct_array(elems, 2, TEXTOID, -1, false, TYPALIGN_INT)),
					false, false);
	saop = makeNode(ScalarArrayOpExpr);
	saop->opno = TextEqualOperator;
	saop->opfuncid = F_TEXTEQ;
	saop->useOr = true;
	saop->inputcollid = DEFAULT_COLLATION_OID;
	saop->args = list_make2(var, arr);
	saop->location = -1;
	result = pred != NIL && predicate_implied_by(pred, list_make1(saop), false);
	index_close(index, AccessShareLock);
	return result;
}

/*
 * Whether the index's first expression is coalesce(send_at column,
 * created_at column): the time a message goes out.
 */
static bool
first_expression_is_out_at(OutboxMap *map, Oid indexoid)
{
	Relation	index = index_open(indexoid, AccessShareLock);
	List	   *exprs = RelationGetIndexExpressions(index);
	CoalesceExpr *c = makeNode(CoalesceExpr);
	bool		result;

	c->coalescetype = TIMESTAMPTZOID;
	c->coalescecollid = InvalidOid;
	c->args = list_make2(makeVar(1, map->attnum[FIELD_SEND_AT], TIMESTAMPTZOID, -1, InvalidOid, 0),
						 makeVar(1, map->attnum[FIELD_CREATED_AT], TIMESTAMPTZOID, -1, InvalidOid, 0));
	c->location = -1;
	result = exprs != NIL && equal(linitial(exprs), c);
	index_close(index, AccessShareLock);
	return result;
}

/*
 * The outbox's btree index whose first two columns are the customer column
 * and the time a message goes out, coalesce(send_at column, created_at
 * column) (default operator classes, no predicate but one every counted
 * message meets), or InvalidOid.  A partial index of the counted messages is
 * preferred: it skips the suppressed ones.  On omni.message it is
 * message_customer_counted_idx.
 */
static Oid
history_index(OutboxMap *map, Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			result = InvalidOid;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		Form_pg_index index;
		bool		ok;
		bool		partial = false;

		if (!HeapTupleIsValid(tup))
			continue;
		index = (Form_pg_index) GETSTRUCT(tup);
		ok = index->indisvalid && index->indisready && index->indnkeyatts >= 2 &&
			index->indkey.values[0] == map->attnum[FIELD_CUSTOMER_ID] &&
			index->indkey.values[1] == 0;
		/* a btree default operator class makes it a btree index */
		if (ok)
		{
			bool		isnull;
			oidvector  *indclass = (oidvector *) DatumGetPointer(
																 SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull));

			ok = !isnull &&
				indclass->values[0] == GetDefaultOpClass(map->atttype[FIELD_CUSTOMER_ID],
														 BTREE_AM_OID) &&
				indclass->values[1] == GetDefaultOpClass(TIMESTAMPTZOID, BTREE_AM_OID);
			partial = !heap_attisnull(tup, Anum_pg_index_indpred, NULL);
		}
		ReleaseSysCache(tup);
		if (ok)
			ok = first_expression_is_out_at(map, indexoid);
		if (ok && partial)
		{
			if (predicate_holds_counted(map, indexoid))
			{
				result = indexoid;
				break;
			}
		}
		else if (ok && !OidIsValid(result))
			result = indexoid;
	}
	list_free(indexes);
	return result;
}

/* The quoted name of the column a field of the message is mapped to. */
static const char *
mapped_column(OutboxMap *map, TupleDesc desc, int field)
{
	return quote_identifier(NameStr(TupleDescAttr(desc, map->attnum[field] - 1)->attname));
}

/*
 * Where the engine counts the customer's queued and delayed messages, for
 * this statement: the trigger's own table, through its index on (customer
 * column, time out) when it has one (omni.message does).  Without
 * such an index, a query is prepared once per backend and trigger, and
 * every message costs a scan of the table: the CREATE TRIGGER
 * documentation asks for the index.  A partition counts the messages of
 * the whole partitioned table (its root), with the query: a cap over all
 * channels must see the messages of the other partitions, and the query
 * reaches each partition through its own index.
 */
static void
history_source(OutboxMap *map, Relation rel)
{
	SuppressHistorySource *h = &map->history;
	StringInfoData q;
	StringInfoData out_at;
	TupleDesc	desc = RelationGetDescr(rel);
	HistoryPlan *hp;
	Oid			types[2] = {INT8ARRAYOID, TIMESTAMPTZOID};
	int			nestlevel;
	Oid			counted = RelationGetRelid(rel);

	h->heap = rel;
	h->customer_is_int4 = map->atttype[FIELD_CUSTOMER_ID] == INT4OID;
	h->channel_att = map->attnum[FIELD_CHANNEL];
	h->category_att = map->attnum[FIELD_CATEGORY];
	h->campaign_att = map->attnum[FIELD_CAMPAIGN];
	h->created_at_att = map->attnum[FIELD_CREATED_AT];
	h->send_at_att = map->attnum[FIELD_SEND_AT];
	h->status_att = map->attnum[FIELD_STATUS];
	h->plan = NULL;
	map->history_ready = true;
	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));

		counted = llast_oid(ancestors);
		list_free(ancestors);
		h->indexoid = InvalidOid;
	}
	else
	{
		h->indexoid = history_index(map, rel);
		if (OidIsValid(h->indexoid))
			return;
	}

#define COL(f) mapped_column(map, desc, f)

	initStringInfo(&q);
	initStringInfo(&out_at);
	appendStringInfo(&q, "SELECT %s::pg_catalog.text, ", COL(FIELD_CHANNEL));
	if (map->attnum[FIELD_CATEGORY])
		appendStringInfo(&q, "%s::pg_catalog.text, ", COL(FIELD_CATEGORY));
	else
		appendStringInfoString(&q, "'marketing'::pg_catalog.text, ");
	if (map->attnum[FIELD_CAMPAIGN])
		appendStringInfo(&q, "%s::pg_catalog.text, ", COL(FIELD_CAMPAIGN));
	else
		appendStringInfoString(&q, "NULL::pg_catalog.text, ");
	/* the time a message goes out */
	appendStringInfo(&out_at, "COALESCE(%s, %s)", COL(FIELD_SEND_AT), COL(FIELD_CREATED_AT));
	appendStringInfo(&q, "%s FROM %s WHERE %s = ANY ($1) AND %s > $2"
					 " AND %s IN ('queued', 'delayed')",
					 out_at.data,
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(counted)),
												get_rel_name(counted)),
					 COL(FIELD_CUSTOMER_ID), out_at.data, COL(FIELD_STATUS));
#undef COL

	for (hp = history_plans; hp != NULL; hp = hp->next)
		if (hp->tgoid == map->tgoid)
			break;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = omni_pin_search_path();
	if (hp != NULL && strcmp(hp->query, q.data) != 0)
	{
		SPI_freeplan(hp->source.plan);
		hp->source.plan = NULL;
		pfree(hp->query);
		hp->query = MemoryContextStrdup(TopMemoryContext, q.data);
	}
	if (hp == NULL)
	{
		hp = MemoryContextAllocZero(TopMemoryContext, sizeof(HistoryPlan));
		hp->tgoid = map->tgoid;
		hp->query = MemoryContextStrdup(TopMemoryContext, q.data);
		hp->next = history_plans;
		history_plans = hp;
	}
	if (hp->source.plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(hp->query, 2, types,
												  CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 hp->query, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		hp->source.plan = plan;
	}
	omni_unpin_search_path(nestlevel);
	SPI_finish();
	h->plan = hp->source.plan;
	pfree(q.data);
}

/*
 * Parse the arguments of an omni.suppress() trigger, each field=column:
 * colname[f] gets the column that message field f is read from (the
 * field's own name when no argument maps it) and explicit[f] whether an
 * argument mapped it.  Both arrays have SUPPRESS_OUTBOX_FIELDS entries.
 * Only the text is checked here; build_outbox_map checks the columns
 * against the table.  Apart so that test/fuzz can feed it any text.
 */
void
suppress_parse_trigger_args(int nargs, char **args, const char *tgname,
							const char *relname, const char **colname,
							bool *explicit)
{
	for (int f = 0; f < NUM_OUTBOX_FIELDS; f++)
	{
		colname[f] = outbox_fields[f].name;
		explicit[f] = false;
	}

	for (int i = 0; i < nargs; i++)
	{
		const char *arg = args[i];
		const char *eq = strchr(arg, '=');
		int			f;

		if (eq == NULL || eq == arg || eq[1] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid argument \"%s\" of trigger \"%s\" on table \"%s\"",
							arg, tgname, relname),
					 errdetail("Each argument of omni.suppress() maps a message field to a column, as field=column.")));
		for (f = 0; f < NUM_OUTBOX_FIELDS; f++)
			if (strlen(outbox_fields[f].name) == (size_t) (eq - arg) &&
				strncmp(outbox_fields[f].name, arg, eq - arg) == 0)
				break;
		if (f == NUM_OUTBOX_FIELDS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown message field \"%.*s\" in argument \"%s\" of trigger \"%s\"",
							(int) (eq - arg), arg, arg, tgname),
					 errhint("The fields are recipient_kind, recipient, customer_id, channel, campaign, category, topic, created_at, send_at, status, reasons and decided_at.")));
		if (explicit[f])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("message field \"%s\" is mapped twice by trigger \"%s\"",
							outbox_fields[f].name, tgname)));
		explicit[f] = true;
		colname[f] = eq + 1;
	}
}

/*
 * Check the trigger's arguments against its table and build the mapping.
 * Every problem is reported with the trigger and table named.
 */
static OutboxMap *
build_outbox_map(Trigger *trigger, Relation rel, MemoryContext cxt)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const char *relname = RelationGetRelationName(rel);
	OutboxMap  *map = MemoryContextAllocZero(cxt, sizeof(OutboxMap));
	const char *colname[NUM_OUTBOX_FIELDS];
	bool		explicit[NUM_OUTBOX_FIELDS];

	map->tgoid = trigger->tgoid;
	map->relid = RelationGetRelid(rel);
	suppress_parse_trigger_args(trigger->tgnargs, trigger->tgargs,
								trigger->tgname, relname, colname, explicit);

	for (int f = 0; f < NUM_OUTBOX_FIELDS; f++)
	{
		int			attnum = SPI_fnumber(desc, colname[f]);
		Form_pg_attribute att;

		if (attnum <= 0)
		{
			if (explicit[f])
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of relation \"%s\" does not exist",
								colname[f], relname),
						 errdetail("Trigger \"%s\" maps message field \"%s\" to it.",
								   trigger->tgname, outbox_fields[f].name)));
			if (outbox_fields[f].required)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("table \"%s\" has no column for message field \"%s\"",
								relname, outbox_fields[f].name),
						 errhint("Add a column \"%s\" of type %s, or map the field with a trigger argument such as '%s=column'.",
								 outbox_fields[f].name,
								 field_type_name(outbox_fields[f].type),
								 outbox_fields[f].name)));
			continue;
		}
		att = TupleDescAttr(desc, attnum - 1);
		if (!field_type_ok(outbox_fields[f].type, att->atttypid))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation \"%s\" is of type %s, but message field \"%s\" needs %s",
							colname[f], relname, format_type_be(att->atttypid),
							outbox_fields[f].name, field_type_name(outbox_fields[f].type))));
		if (outbox_fields[f].written &&
			(att->atttypid != getBaseType(att->atttypid) || att->atttypmod >= 0))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation \"%s\" is of type %s, but trigger \"%s\" writes message field \"%s\" into it",
							colname[f], relname,
							format_type_with_typemod(att->atttypid, att->atttypmod),
							trigger->tgname, outbox_fields[f].name),
					 errdetail("What a BEFORE trigger writes is not checked against a length limit, a precision or the constraints of a domain."),
					 errhint("Make the column of type %s itself; a CHECK constraint of the table is checked after the trigger.",
							 outbox_fields[f].type == FT_ID ? "bigint or integer"
							 : field_type_name(outbox_fields[f].type))));
		for (int g = 0; g < f; g++)
			if (map->attnum[g] == attnum)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" of relation \"%s\" is mapped to both message fields \"%s\" and \"%s\"",
								colname[f], relname, outbox_fields[g].name,
								outbox_fields[f].name)));
		map->attnum[f] = attnum;
		map->atttype[f] = getBaseType(att->atttypid);
	}

	if ((map->attnum[FIELD_RECIPIENT] == 0) != (map->attnum[FIELD_RECIPIENT_KIND] == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("table \"%s\" maps only one of the message fields \"recipient\" and \"recipient_kind\"",
						relname),
				 errhint("Map both, so the recipient can be normalized and resolved, or neither.")));
	return map;
}

/* A text field of the new row, or NULL (unmapped or null). */
static char *
get_text_field(OutboxMap *map, OutboxField f, HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	Datum		d;

	if (map->attnum[f] == 0)
		return NULL;
	d = heap_getattr(tuple, map->attnum[f], desc, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

/* A timestamptz field of the new row; false when unmapped or null. */
static bool
get_time_field(OutboxMap *map, OutboxField f, HeapTuple tuple, TupleDesc desc,
			   TimestampTz *result)
{
	bool		isnull;
	Datum		d;

	if (map->attnum[f] == 0)
		return false;
	d = heap_getattr(tuple, map->attnum[f], desc, &isnull);
	if (isnull)
		return false;
	*result = DatumGetTimestampTz(d);
	return true;
}

/* Build a text[] of the decision's reasons. */
static Datum
reasons_array(List *reasons)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(reasons), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, reasons)
		elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Reject a non-finite or NULL message time, which no rule can place. */
static void
check_finite(TimestampTz t, const char *field)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s of a message must be finite", field)));
}

/*
 * omni.suppress(): BEFORE INSERT FOR EACH ROW trigger on an outbox.
 *
 * Decides the new message under its customer's row lock and returns the row
 * with status, reasons, the live customer id and, for a delayed message,
 * send_at filled in.  Nothing is dropped: a suppressed message is stored
 * with its reasons.
 */
Datum
omni_suppress(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	OutboxMap  *map;
	SuppressMessage msg;
	SuppressDecision decision;
	MemoryContext callercxt = CurrentMemoryContext;
	int			cols[6];
	Datum		values[6];
	bool		nulls[6];
	int			ncols = 0;
	bool		isnull;
	Datum		d;
	TimestampTz decided_at;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("omni.suppress() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("omni.suppress() must be fired BEFORE INSERT FOR EACH ROW"),
				 errdetail("Trigger \"%s\" on table \"%s\" fired otherwise.",
						   trigdata->tg_trigger->tgname,
						   RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Messages are decided once, when they are inserted.")));

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	tuple = trigdata->tg_trigtuple;

	map = (OutboxMap *) fcinfo->flinfo->fn_extra;
	if (map == NULL || map->tgoid != trigdata->tg_trigger->tgoid)
	{
		map = build_outbox_map(trigdata->tg_trigger, rel, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = map;
	}

	/*
	 * A row that arrives already decided is a restored one (pg_restore, a
	 * copy between databases): deciding it again, against a partly restored
	 * history, would change what was recorded, so it is kept as it is.
	 */
	if (get_time_field(map, FIELD_DECIDED_AT, tuple, desc, &decided_at))
		return PointerGetDatum(tuple);

	memset(&msg, 0, sizeof(msg));
	msg.recipient_kind = get_text_field(map, FIELD_RECIPIENT_KIND, tuple, desc);
	msg.recipient = get_text_field(map, FIELD_RECIPIENT, tuple, desc);
	if (msg.recipient_kind == NULL)
		msg.recipient = NULL;
	d = heap_getattr(tuple, map->attnum[FIELD_CUSTOMER_ID], desc, &isnull);
	if (!isnull)
	{
		msg.has_customer = true;
		msg.customer_id = map->atttype[FIELD_CUSTOMER_ID] == INT4OID
			? (int64) DatumGetInt32(d) : DatumGetInt64(d);
	}
	msg.channel = get_text_field(map, FIELD_CHANNEL, tuple, desc);
	msg.campaign = get_text_field(map, FIELD_CAMPAIGN, tuple, desc);
	msg.category = get_text_field(map, FIELD_CATEGORY, tuple, desc);
	if (msg.category == NULL)
		msg.category = "marketing";
	msg.topic = get_text_field(map, FIELD_TOPIC, tuple, desc);
	if (!get_time_field(map, FIELD_CREATED_AT, tuple, desc, &msg.created_at))
	{
		msg.created_at = GetCurrentTransactionStartTimestamp();
		cols[ncols] = map->attnum[FIELD_CREATED_AT];
		values[ncols] = TimestampTzGetDatum(msg.created_at);
		nulls[ncols++] = false;
	}
	check_finite(msg.created_at, "created_at");
	msg.has_send_at = get_time_field(map, FIELD_SEND_AT, tuple, desc, &msg.send_at);
	if (msg.has_send_at)
		check_finite(msg.send_at, "send_at");

	suppress_check_channel(msg.channel);
	if (!map->history_ready)
		history_source(map, rel);
	map->history.heap = rel;
	suppress_decide(&msg, &map->history, true, &decision, callercxt,
					fcinfo->flinfo->fn_mcxt);

	if (decision.has_customer)
	{
		if (map->atttype[FIELD_CUSTOMER_ID] == INT4OID &&
			(decision.customer_id > PG_INT32_MAX || decision.customer_id < PG_INT32_MIN))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("customer id " INT64_FORMAT " does not fit the integer column \"%s\"",
							decision.customer_id,
							NameStr(TupleDescAttr(desc, map->attnum[FIELD_CUSTOMER_ID] - 1)->attname))));
		cols[ncols] = map->attnum[FIELD_CUSTOMER_ID];
		values[ncols] = map->atttype[FIELD_CUSTOMER_ID] == INT4OID
			? Int32GetDatum((int32) decision.customer_id)
			: Int64GetDatum(decision.customer_id);
		nulls[ncols++] = false;
	}
	cols[ncols] = map->attnum[FIELD_SEND_AT];
	values[ncols] = TimestampTzGetDatum(decision.send_at);
	nulls[ncols++] = !decision.has_send_at;
	cols[ncols] = map->attnum[FIELD_STATUS];
	values[ncols] = CStringGetTextDatum(suppress_status_name(decision.status));
	nulls[ncols++] = false;
	cols[ncols] = map->attnum[FIELD_REASONS];
	values[ncols] = reasons_array(decision.reasons);
	nulls[ncols++] = false;
	if (map->attnum[FIELD_DECIDED_AT])
	{
		cols[ncols] = map->attnum[FIELD_DECIDED_AT];
		values[ncols] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
		nulls[ncols++] = false;
	}

	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, ncols, cols, values, nulls));
}

/*
 * omni.would_suppress(): the decision the trigger on omni.message would
 * make for a message, with every reason explained, without inserting it
 * and without locking the customer.
 */
Datum
omni_would_suppress(PG_FUNCTION_ARGS)
{
	SuppressMessage msg;
	SuppressDecision decision;
	MemoryContext callercxt = CurrentMemoryContext;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	Relation	rel;
	OutboxMap  *map;
	Trigger		fake;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	memset(&msg, 0, sizeof(msg));
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
	{
		msg.recipient_kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
		msg.recipient = text_to_cstring(PG_GETARG_TEXT_PP(1));
	}
	else if (PG_ARGISNULL(0) != PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("recipient_kind and recipient must be both given or both null")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the channel of a message must not be null")));
	msg.channel = text_to_cstring(PG_GETARG_TEXT_PP(2));
	msg.category = PG_ARGISNULL(3) ? "marketing" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (msg.category[0] == '\0')	/* as omni.message's CHECK refuses it */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the category of a message must not be empty"),
				 errhint("Use \"marketing\", \"transactional\" or a tag that rules name in their categories.")));
	msg.campaign = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	msg.topic = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	if (!PG_ARGISNULL(6))
	{
		msg.has_customer = true;
		msg.customer_id = PG_GETARG_INT64(6);
	}
	msg.created_at = PG_ARGISNULL(7) ? GetCurrentTransactionStartTimestamp()
		: PG_GETARG_TIMESTAMPTZ(7);
	check_finite(msg.created_at, "created_at");
	if (!PG_ARGISNULL(8))
	{
		msg.has_send_at = true;
		msg.send_at = PG_GETARG_TIMESTAMPTZ(8);
		check_finite(msg.send_at, "send_at");
	}

	suppress_check_channel(msg.channel);

	/* count in omni.message, as its trigger does */
	rel = suppress_message_relation(fcinfo->flinfo->fn_mcxt);
	memset(&fake, 0, sizeof(fake));
	fake.tgoid = InvalidOid;
	fake.tgname = "omni.would_suppress";
	map = build_outbox_map(&fake, rel, CurrentMemoryContext);
	history_source(map, rel);
	suppress_decide(&msg, &map->history, false, &decision, callercxt,
					fcinfo->flinfo->fn_mcxt);

	values[0] = CStringGetTextDatum(suppress_status_name(decision.status));
	values[1] = Int64GetDatum(decision.customer_id);
	nulls[1] = !decision.has_customer;
	values[2] = TimestampTzGetDatum(decision.has_send_at ? decision.send_at : msg.created_at);
	values[3] = reasons_array(decision.reasons);
	values[4] = reasons_array(decision.details);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * omni.suppression_config_changed(): AFTER statement trigger on the tables
 * the rule engine caches (omni.suppression_rule, omni.channel,
 * omni.blocklist, omni.identity_rule).  It sends a relcache invalidation for the table, which
 * every backend receives when the transaction commits (and this one at
 * once), so each reloads its cached rules before deciding its next message.
 */
Datum
omni_suppression_config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("omni.suppression_config_changed() was not called by the trigger manager")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * omni.suppress_trigger_check(): event trigger at the end of CREATE
 * TRIGGER.  A trigger that executes omni.suppress() must be BEFORE INSERT
 * FOR EACH ROW and map every field it needs to a column of the right type;
 * checking that now reports a bad trigger when it is created rather than at
 * the first message.  A table without the index the counting reads gets a
 * NOTICE with the statement that creates it.
 */
Datum
omni_suppress_trigger_check(PG_FUNCTION_ARGS)
{
	uint64		n;
	Oid		   *trigoids;
	Oid		   *relids;
	Oid			suppress_oid;
	Oid			argtypes[1];
	Datum		args[1];

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("omni.suppress_trigger_check() was not called by the event trigger manager")));

	/*
	 * omni.suppress() is found next to this function by the catalog, not by
	 * its name: a name lookup would need USAGE on schema omni, which the
	 * roles creating unrelated triggers elsewhere in the database lack.
	 */
	suppress_oid = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
								   CStringGetDatum("suppress"),
								   PointerGetDatum(buildoidvector(NULL, 0)),
								   ObjectIdGetDatum(get_func_namespace(fcinfo->flinfo->fn_oid)));
	if (!OidIsValid(suppress_oid))
		elog(ERROR, "function omni.suppress() was not found");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* not read-only: a fresh snapshot sees the pg_trigger rows just made */
	argtypes[0] = OIDOID;
	args[0] = ObjectIdGetDatum(suppress_oid);
	if (SPI_execute_with_args("SELECT t.oid, t.tgrelid"
							  " FROM pg_catalog.pg_event_trigger_ddl_commands() c"
							  " JOIN pg_catalog.pg_trigger t ON t.oid OPERATOR(pg_catalog.=) c.objid"
							  " WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass"
							  "   AND t.tgfoid OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the triggers just created");
	n = SPI_processed;
	trigoids = palloc(sizeof(Oid) * Max(n, 1));
	relids = palloc(sizeof(Oid) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		trigoids[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		relids[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 2, &isnull));
	}

	for (uint64 i = 0; i < n; i++)
	{
		Relation	rel = relation_open(relids[i], AccessShareLock);
		TriggerDesc *td = rel->trigdesc;
		Trigger    *trigger = NULL;
		OutboxMap  *map;

		for (int k = 0; td != NULL && k < td->numtriggers; k++)
			if (td->triggers[k].tgoid == trigoids[i])
				trigger = &td->triggers[k];
		if (trigger == NULL)
			elog(ERROR, "trigger %u of relation \"%s\" was not found",
				 trigoids[i], RelationGetRelationName(rel));
		if (!TRIGGER_FOR_BEFORE(trigger->tgtype) || !TRIGGER_FOR_ROW(trigger->tgtype) ||
			!TRIGGER_FOR_INSERT(trigger->tgtype) || TRIGGER_FOR_UPDATE(trigger->tgtype) ||
			TRIGGER_FOR_DELETE(trigger->tgtype) || TRIGGER_FOR_TRUNCATE(trigger->tgtype))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("omni.suppress() must be fired BEFORE INSERT FOR EACH ROW"),
					 errdetail("Trigger \"%s\" on table \"%s\" is not.",
							   trigger->tgname, RelationGetRelationName(rel)),
					 errhint("Messages are decided once, when they are inserted.")));
		map = build_outbox_map(trigger, rel, CurrentMemoryContext);
		if (!OidIsValid(history_index(map, rel)))
		{
			TupleDesc	desc = RelationGetDescr(rel);

#define COL(f) mapped_column(map, desc, f)
			ereport(NOTICE,
					(errmsg("table \"%s\" has no index that omni.suppress() can count its messages with",
							RelationGetRelationName(rel)),
					 errdetail("Frequency caps and same-campaign rules will read the table with a query for every message inserted."),
					 errhint("CREATE INDEX ON %s (%s, (coalesce(%s, %s))) WHERE %s IN ('queued', 'delayed');",
							 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
														RelationGetRelationName(rel)),
							 COL(FIELD_CUSTOMER_ID), COL(FIELD_SEND_AT), COL(FIELD_CREATED_AT),
							 COL(FIELD_STATUS))));
#undef COL
		}
		relation_close(rel, AccessShareLock);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
