/*-------------------------------------------------------------------------
 *
 * check.c
 *		omni.timeline_check(index regclass): verify a timeline index against
 *		its table, in the spirit of amcheck.
 *
 * The check walks every key of the directory and every segment of its
 * chain, verifying that each segment belongs to the key, decodes exactly
 * to its counts, records its last entry correctly, and holds no time
 * above the bound its newer segments promise; that chains have no cycles
 * and every segment on a data page is reachable; and that no heap TID is
 * indexed twice.  Then it scans the table with an MVCC snapshot taken
 * before the walk, as amcheck's heapallindexed does: every row visible to
 * it (with a non-NULL key) must be in the index, under its key and time.
 * Dead rows not yet vacuumed may still be indexed; that is not an error.
 * The first problem found is reported as an ERROR with SQLSTATE XX002
 * (index_corrupted).  Memory: about 32 bytes per index entry.
 *
 * Locking: AccessShareLock on the table and the index, so concurrent
 * inserts, scans and VACUUM keep running; pages are read one at a time
 * under share locks.  Segments are never removed (VACUUM rewrites them in
 * place) but inserts add them while the check runs, so the walk must reach
 * at least the segments counted on the data pages before it and at most
 * those counted after it, and a chain is a cycle only when it is longer
 * than every segment the index holds when that is counted again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "access/genam.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "timeline/timeline.h"

typedef struct TlCheckEntry
{
	ItemPointerData tid;
	int64		key;
	int64		ts;
} TlCheckEntry;

typedef struct TlCheckState
{
	Relation	index;
	TlCheckEntry *entries;
	int64		nentries;
	int64		cap;
	int64		nkeys;
	int64		nsegments;
	int64		maxsegments;	/* segments on data pages: a chain bound */
	int64		nrows;
	TlEntry    *decoded;
	Oid			keytype;
} TlCheckState;

#define TL_CORRUPT(cs, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INDEX_CORRUPTED), \
			 errmsg("timeline index \"%s\" is corrupt", \
					RelationGetRelationName((cs)->index)), \
			 errdetail(__VA_ARGS__)))

static int
tl_check_entry_cmp(const void *a, const void *b)
{
	return ItemPointerCompare(&((TlCheckEntry *) a)->tid,
							  &((TlCheckEntry *) b)->tid);
}

/* Count the segments on all data pages. */
static int64
tl_check_count_segments(TlCheckState *cs)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(cs->index);
	BlockNumber blkno;
	int64		n = 0;

	for (blkno = TL_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf = ReadBuffer(cs->index, blkno);
		Page		page;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page))
		{
			if (TlPageGetOpaque(page)->page_id != TL_PAGE_ID)
				TL_CORRUPT(cs, "Block %u is not a timeline index page.", blkno);
			if (TlPageIsData(page))
				n += PageGetMaxOffsetNumber(page);
		}
		UnlockReleaseBuffer(buf);
	}
	return n;
}

/* Walk the chain of one key, collecting its entries. */
static void
tl_check_key(TlCheckState *cs, int64 key, ItemPointerData p)
{
	int64		limit = PG_INT64_MAX;
	int64		chain = 0;

	cs->nkeys++;
	while (ItemPointerIsValid(&p))
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&p);
		OffsetNumber off = ItemPointerGetOffsetNumber(&p);
		Buffer		buf;
		TlSegment	seg;
		Size		itemsz;
		int			n;
		int			i;

		CHECK_FOR_INTERRUPTS();
		if (++chain > cs->maxsegments)
		{
			/* segments inserted since they were counted may make it longer */
			cs->maxsegments = tl_check_count_segments(cs);
			if (chain > cs->maxsegments)
				TL_CORRUPT(cs, "The segment chain of key " INT64_FORMAT " has a cycle.", key);
		}
		if (blkno == TL_METAPAGE_BLKNO ||
			blkno >= RelationGetNumberOfBlocks(cs->index))
			TL_CORRUPT(cs, "Key " INT64_FORMAT " points to block %u, outside the index.", key, blkno);
		buf = ReadBuffer(cs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		seg = tl_get_segment(cs->index, BufferGetPage(buf), blkno, off, &itemsz);
		if (seg->key != key)
			TL_CORRUPT(cs, "Segment (%u,%u) of key " INT64_FORMAT " is in the chain of key " INT64_FORMAT ".",
					   blkno, off, seg->key, key);
		if ((int) seg->nbytes > tl_segment_capacity(itemsz))
			TL_CORRUPT(cs, "Segment (%u,%u) uses %d bytes of %d.", blkno, off,
					   seg->nbytes, tl_segment_capacity(itemsz));
		n = tl_decode_segment(cs->index, seg, itemsz, cs->decoded);
		if (n > 0 && (cs->decoded[n - 1].ts != seg->last_ts ||
					  ItemPointerGetBlockNumber(&cs->decoded[n - 1].tid) != seg->last_blk))
			TL_CORRUPT(cs, "Segment (%u,%u) records a last entry that is not its last.", blkno, off);
		for (i = 0; i < n; i++)
		{
			TlCheckEntry *e;

			if (i > 0 && (seg->flags & TL_SEG_UNSORTED) == 0 &&
				cs->decoded[i].ts < cs->decoded[i - 1].ts)
				TL_CORRUPT(cs, "Segment (%u,%u) is out of time order but not marked so.", blkno, off);

			if (cs->decoded[i].ts > limit)
				TL_CORRUPT(cs, "Segment (%u,%u) of key " INT64_FORMAT " holds a time above the bound of a newer segment.",
						   blkno, off, key);
			if (cs->nentries >= cs->cap)
			{
				cs->cap *= 2;
				cs->entries = repalloc_huge(cs->entries, sizeof(TlCheckEntry) * cs->cap);
			}
			e = &cs->entries[cs->nentries++];
			e->tid = cs->decoded[i].tid;
			e->key = key;
			e->ts = cs->decoded[i].ts;
		}
		if (ItemPointerIsValid(&seg->prev))
			limit = Min(limit, seg->prev_max);
		p = seg->prev;
		cs->nsegments++;
		UnlockReleaseBuffer(buf);
	}
}

/* Walk a directory subtree. */
static void
tl_check_dir(TlCheckState *cs, BlockNumber blkno, uint32 level, int side,
			 uint64 prefix)
{
	Buffer		buf;
	Page		page;
	int			i;
	void	   *copy = palloc(TL_DIR_FANOUT * sizeof(ItemPointerData));

	CHECK_FOR_INTERRUPTS();
	if (blkno == TL_METAPAGE_BLKNO || blkno >= RelationGetNumberOfBlocks(cs->index))
		TL_CORRUPT(cs, "A directory pointer leads to block %u, outside the index.", blkno);
	buf = ReadBuffer(cs->index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (PageIsNew(page) || !TlPageIsDir(page) || TlPageGetOpaque(page)->level != level)
		TL_CORRUPT(cs, "Block %u is not a directory page of level %u.", blkno, level);
	memcpy(copy, PageGetContents(page),
		   level == 0 ? TL_DIR_FANOUT * sizeof(ItemPointerData)
		   : TL_DIR_FANOUT * sizeof(BlockNumber));
	UnlockReleaseBuffer(buf);

	for (i = 0; i < TL_DIR_FANOUT; i++)
	{
		uint64		u = (prefix << TL_DIR_BITS) | (uint64) i;

		if (level == 0)
		{
			ItemPointerData p = ((ItemPointerData *) copy)[i];

			if (ItemPointerGetBlockNumberNoCheck(&p) != InvalidBlockNumber)
				tl_check_key(cs, side ? (int64) ~u : (int64) u, p);
		}
		else
		{
			BlockNumber child = ((BlockNumber *) copy)[i];

			if (child != InvalidBlockNumber)
				tl_check_dir(cs, child, level - 1, side, u);
		}
	}
	pfree(copy);
}

/* Heap rows: each visible one must be indexed under its key and time. */
static void
tl_check_heap_callback(Relation index, ItemPointer tid, Datum *values,
					   bool *isnull, bool tupleIsAlive, void *state)
{
	TlCheckState *cs = (TlCheckState *) state;
	TlCheckEntry probe;
	TlCheckEntry *e;
	int64		key;
	int64		ts;

	if (isnull[0])
		return;
	key = tl_key_from_datum(values[0], cs->keytype);
	ts = isnull[1] ? TL_TS_NULL : tl_ts_from_datum(values[1]);
	probe.tid = *tid;
	e = bsearch(&probe, cs->entries, cs->nentries, sizeof(TlCheckEntry),
				tl_check_entry_cmp);
	if (e == NULL)
		TL_CORRUPT(cs, "Row (%u,%u) with key " INT64_FORMAT " is not in the index.",
				   ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid), key);
	if (e->key != key || e->ts != ts)
		TL_CORRUPT(cs, "Row (%u,%u) is indexed under key " INT64_FORMAT " and another time or key than its own (key " INT64_FORMAT ").",
				   ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid), e->key, key);
	cs->nrows++;
}

PG_FUNCTION_INFO_V1(omni_timeline_check);

/*
 * omni.timeline_check(index regclass) returns (keys, segments, entries,
 * live_rows): what was verified.
 */
Datum
omni_timeline_check(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapoid;
	Relation	heap;
	Relation	index;
	TlCheckState cs;
	TlMetaCache meta;
	Snapshot	snapshot;
	int64		segments_before;
	int64		segments_after;
	TableScanDesc scan;
	IndexInfo  *indexInfo;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int64		i;
	int			side;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (get_rel_name(indexoid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", indexoid)));
	heapoid = IndexGetRelation(indexoid, true);
	if (!OidIsValid(heapoid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", get_rel_name(indexoid))));
	heap = table_open(heapoid, AccessShareLock);
	index = index_open(indexoid, AccessShareLock);
	if (index->rd_indam->ambuild != tl_build)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a timeline index",
						RelationGetRelationName(index))));
	if (!index->rd_index->indisvalid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("timeline index \"%s\" is not valid",
						RelationGetRelationName(index))));

	snapshot = RegisterSnapshot(GetTransactionSnapshot());

	memset(&cs, 0, sizeof(cs));
	cs.index = index;
	cs.cap = 1024;
	cs.entries = palloc(sizeof(TlCheckEntry) * cs.cap);
	cs.decoded = palloc(sizeof(TlEntry) * (PG_UINT16_MAX + 1));
	meta = *tl_get_meta(index, true);	/* a copy: see tl_get_meta */
	cs.keytype = meta.keytype;
	segments_before = cs.maxsegments = tl_check_count_segments(&cs);

	for (side = 0; side < 2; side++)
		if (meta.root[side] != InvalidBlockNumber)
			tl_check_dir(&cs, meta.root[side], meta.height[side], side, 0);
	segments_after = tl_check_count_segments(&cs);
	if (cs.nsegments < segments_before || cs.nsegments > segments_after)
		TL_CORRUPT(&cs, "The directory reaches " INT64_FORMAT " segments; the data pages held " INT64_FORMAT " before the walk and " INT64_FORMAT " after it.",
				   cs.nsegments, segments_before, segments_after);

	qsort(cs.entries, cs.nentries, sizeof(TlCheckEntry), tl_check_entry_cmp);
	for (i = 1; i < cs.nentries; i++)
		if (ItemPointerEquals(&cs.entries[i - 1].tid, &cs.entries[i].tid))
			TL_CORRUPT(&cs, "Row (%u,%u) is indexed twice.",
					   ItemPointerGetBlockNumber(&cs.entries[i].tid),
					   ItemPointerGetOffsetNumber(&cs.entries[i].tid));

	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = true;
	scan = table_beginscan_strat(heap, snapshot, 0, NULL, true, false);
	table_index_build_scan(heap, index, indexInfo, true, false,
						   tl_check_heap_callback, (void *) &cs, scan);
	UnregisterSnapshot(snapshot);

	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);

	values[0] = Int64GetDatum(cs.nkeys);
	values[1] = Int64GetDatum(cs.nsegments);
	values[2] = Int64GetDatum(cs.nentries);
	values[3] = Int64GetDatum(cs.nrows);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
