/*-------------------------------------------------------------------------
 *
 * build.c
 *		Building a timeline index: CREATE INDEX and the init fork.
 *
 * The table is scanned into a tuplesort on (key, time); the sorted stream
 * is then written key by key into segments packed back to back into data
 * pages, each key's list split across pages where it must, then the radix
 * directory is written from the newest segment of every key, then the
 * metapage.  Pages go through shared buffers without WAL and are logged
 * once at the end with log_newpage_range, as pgvector does; an index
 * build that crashes leaves nothing behind, as the relation is new.
 *
 * The sort runs in memory, on a plain array with an inlined comparator,
 * while the entries fit in maintenance_work_mem (24 bytes each), and
 * spills to a tuplesort otherwise.  Segments are packed exactly, except
 * the newest of each key, which keeps TL_BUILD_SLACK bytes of room so that
 * the next inserts of the key append in place.  Build progress is reported
 * in pg_stat_progress_create_index with the phases named in handler.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplesort.h"

#include "timeline/timeline.h"

/* Smallest segment worth starting at the end of a page. */
#define TL_BUILD_MIN_SEG	64

/* One entry to sort. */
typedef struct TlBuildItem
{
	int64		key;
	int64		ts;
	ItemPointerData tid;
} TlBuildItem;

static inline int
tl_build_item_cmp(const TlBuildItem *a, const TlBuildItem *b)
{
	if (a->key != b->key)
		return (a->key < b->key) ? -1 : 1;
	if (a->ts != b->ts)
		return (a->ts < b->ts) ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid);
}

#define ST_SORT tl_sort_items
#define ST_ELEMENT_TYPE TlBuildItem
#define ST_COMPARE(a, b) tl_build_item_cmp(a, b)
#define ST_SCOPE static
#define ST_DEFINE
#define ST_CHECK_FOR_INTERRUPTS
#include "lib/sort_template.h"

typedef struct TlBuildState
{
	Relation	index;
	Oid			keytype;
	double		indtuples;

	/* the sort: an array while it fits, then a tuplesort */
	TlBuildItem *items;
	Size		nitems;
	Size		maxitems;
	Size		memlimit;		/* items that fit in maintenance_work_mem */
	Tuplesortstate *sort;		/* NULL while in memory */
	TupleDesc	sortdesc;
	TupleTableSlot *slot;

	/* the data page being filled */
	Page		page;
	BlockNumber blkno;
	bool		havepage;
	BlockNumber nblocks;		/* blocks written so far */

	/* the segment being filled */
	bool		havekey;
	int64		curkey;
	bool		inseg;
	TlSegment	seg;
	int			capacity;
	ItemPointerData prev;
	int64		prev_max;
	ItemPointerData newest;

	/* newest segment of every key, in key order */
	int64	   *dkeys;
	ItemPointerData *dptrs;
	int			ndir;
	int			dircap;
} TlBuildState;

/*
 * Append a finished page to the relation through shared buffers; returns
 * its block number, which must be the next one.
 */
static BlockNumber
tl_build_write_page(TlBuildState *bs, Page page)
{
	Buffer		buf;
	BlockNumber blkno;

	buf = ReadBufferExtended(bs->index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	blkno = BufferGetBlockNumber(buf);
	if (blkno != bs->nblocks)
		elog(ERROR, "unexpected block %u while building timeline index \"%s\" (expected %u)",
			 blkno, RelationGetRelationName(bs->index), bs->nblocks);
	memcpy(BufferGetPage(buf), page, BLCKSZ);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
	bs->nblocks++;
	return blkno;
}

/* Write the current data page, if any. */
static void
tl_build_flush_page(TlBuildState *bs)
{
	if (bs->havepage)
	{
		tl_build_write_page(bs, bs->page);
		bs->havepage = false;
	}
}

/* Start a segment of the current key, on a new page if this one is full. */
static void
tl_build_start_segment(TlBuildState *bs)
{
	Size		freespace;

	if (bs->havepage &&
		PageGetFreeSpace(bs->page) < MAXALIGN(TL_SEG_HEADER + TL_BUILD_MIN_SEG))
		tl_build_flush_page(bs);
	if (!bs->havepage)
	{
		tl_init_page(bs->page, TL_PAGE_DATA, 0);
		bs->blkno = bs->nblocks;
		bs->havepage = true;
	}
	freespace = PageGetFreeSpace(bs->page) & ~(Size) (MAXIMUM_ALIGNOF - 1);
	bs->capacity = Min((int) (freespace - TL_SEG_HEADER), PG_UINT16_MAX);

	memset(bs->seg, 0, TL_SEG_HEADER);
	bs->seg->key = bs->curkey;
	bs->seg->prev = bs->prev;
	bs->seg->prev_max = bs->prev_max;
	bs->inseg = true;
}

/*
 * Put the current segment on the page and make it the key's newest; with
 * room for slack more bytes if the page has it.
 */
static void
tl_build_finish_segment(TlBuildState *bs, int slack)
{
	Size		itemsz;
	OffsetNumber off;

	if (!bs->inseg)
		return;
	bs->inseg = false;
	if (bs->seg->nentries == 0)
		return;
	itemsz = MAXALIGN(TL_SEG_HEADER + Min(bs->seg->nbytes + slack, bs->capacity));
	memset(bs->seg->data + bs->seg->nbytes, 0, itemsz - TL_SEG_HEADER - bs->seg->nbytes);
	off = PageAddItem(bs->page, (Item) bs->seg, itemsz, InvalidOffsetNumber,
					  false, false);
	if (off == InvalidOffsetNumber)
		elog(ERROR, "could not add a segment while building timeline index \"%s\"",
			 RelationGetRelationName(bs->index));
	ItemPointerSet(&bs->newest, bs->blkno, off);
	bs->prev = bs->newest;
	/* entries arrive sorted by time, so the last one is the largest */
	bs->prev_max = bs->seg->last_ts;
}

/* Remember the newest segment of the key just finished. */
static void
tl_build_finish_key(TlBuildState *bs)
{
	tl_build_finish_segment(bs, TL_BUILD_SLACK);
	if (!bs->havekey)
		return;
	if (bs->ndir >= bs->dircap)
	{
		bs->dircap = Max(1024, bs->dircap * 2);
		bs->dkeys = repalloc_huge(bs->dkeys, sizeof(int64) * bs->dircap);
		bs->dptrs = repalloc_huge(bs->dptrs, sizeof(ItemPointerData) * bs->dircap);
	}
	bs->dkeys[bs->ndir] = bs->curkey;
	bs->dptrs[bs->ndir] = bs->newest;
	bs->ndir++;
}

/* Add one sorted entry. */
static void
tl_build_add(TlBuildState *bs, int64 key, int64 ts, ItemPointer tid)
{
	char		enc[TL_MAX_ENTRY_BYTES];
	int			len;
	TlSegment	seg = bs->seg;

	if (!bs->havekey || key != bs->curkey)
	{
		tl_build_finish_key(bs);
		bs->havekey = true;
		bs->curkey = key;
		ItemPointerSetInvalid(&bs->prev);
		bs->prev_max = PG_INT64_MIN;
		tl_build_start_segment(bs);
	}
	len = tl_encode_entry(enc, ts, seg->last_ts, tid, seg->last_blk);
	if ((int) seg->nbytes + len > bs->capacity || seg->nentries == PG_UINT16_MAX)
	{
		tl_build_finish_segment(bs, 0);
		tl_build_start_segment(bs);
		len = tl_encode_entry(enc, ts, 0, tid, 0);
	}
	memcpy(seg->data + seg->nbytes, enc, len);
	seg->nbytes += len;
	seg->nentries++;
	seg->last_ts = ts;
	seg->last_blk = ItemPointerGetBlockNumber(tid);
}

/* Move the in-memory entries to a tuplesort: they outgrew memory. */
static void
tl_build_spill(TlBuildState *bs)
{
	AttrNumber	attnums[2] = {1, 2};
	Oid			sortops[2] = {Int8LessOperator, Int8LessOperator};
	Oid			collations[2] = {InvalidOid, InvalidOid};
	bool		nullsfirst[2] = {false, false};
	Size		i;

	bs->sortdesc = CreateTemplateTupleDesc(3);
	TupleDescInitEntry(bs->sortdesc, 1, "key", INT8OID, -1, 0);
	TupleDescInitEntry(bs->sortdesc, 2, "ts", INT8OID, -1, 0);
	TupleDescInitEntry(bs->sortdesc, 3, "tid", INT8OID, -1, 0);
	bs->slot = MakeSingleTupleTableSlot(bs->sortdesc, &TTSOpsMinimalTuple);
	bs->sort = tuplesort_begin_heap(bs->sortdesc, 2, attnums, sortops, collations,
									nullsfirst, maintenance_work_mem, NULL,
									TUPLESORT_NONE);
	for (i = 0; i < bs->nitems; i++)
	{
		TupleTableSlot *slot = bs->slot;
		TlBuildItem *it = &bs->items[i];

		ExecClearTuple(slot);
		slot->tts_values[0] = Int64GetDatum(it->key);
		slot->tts_values[1] = Int64GetDatum(it->ts);
		slot->tts_values[2] = Int64GetDatum(((int64) ItemPointerGetBlockNumber(&it->tid) << 16) |
											ItemPointerGetOffsetNumber(&it->tid));
		slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
		ExecStoreVirtualTuple(slot);
		tuplesort_puttupleslot(bs->sort, slot);
	}
	pfree(bs->items);
	bs->items = NULL;
	bs->nitems = 0;
}

/* table_index_build_scan callback: feed the sort. */
static void
tl_build_callback(Relation index, ItemPointer tid, Datum *values,
				  bool *isnull, bool tupleIsAlive, void *state)
{
	TlBuildState *bs = (TlBuildState *) state;
	int64		key;
	int64		ts;

	if (isnull[0])
		return;
	key = tl_key_from_datum(values[0], bs->keytype);
	ts = isnull[1] ? TL_TS_NULL : tl_ts_from_datum(values[1]);
	bs->indtuples += 1;

	if (bs->sort == NULL)
	{
		if (bs->nitems >= bs->maxitems)
		{
			if (bs->maxitems >= bs->memlimit)
				tl_build_spill(bs);
			else
			{
				bs->maxitems = Min(bs->maxitems * 2, bs->memlimit);
				bs->items = repalloc_huge(bs->items, sizeof(TlBuildItem) * bs->maxitems);
			}
		}
		if (bs->sort == NULL)
		{
			TlBuildItem *it = &bs->items[bs->nitems++];

			it->key = key;
			it->ts = ts;
			it->tid = *tid;
			return;
		}
	}

	{
		TupleTableSlot *slot = bs->slot;

		ExecClearTuple(slot);
		slot->tts_values[0] = Int64GetDatum(key);
		slot->tts_values[1] = Int64GetDatum(ts);
		slot->tts_values[2] = Int64GetDatum(((int64) ItemPointerGetBlockNumber(tid) << 16) |
											ItemPointerGetOffsetNumber(tid));
		slot->tts_isnull[0] = slot->tts_isnull[1] = slot->tts_isnull[2] = false;
		ExecStoreVirtualTuple(slot);
		tuplesort_puttupleslot(bs->sort, slot);
	}
}

/*
 * Write the radix directory of one side from (u, newest segment) pairs
 * sorted by u: leaves first, then each level of internal nodes; returns
 * the root and sets *height.
 */
static BlockNumber
tl_build_directory(TlBuildState *bs, uint64 *us, ItemPointerData *ptrs, int n,
				   uint32 *height)
{
	PGAlignedBlock pagebuf;
	Page		page = pagebuf.data;
	uint64	   *ids = palloc(sizeof(uint64) * n);
	BlockNumber *blks = palloc(sizeof(BlockNumber) * n);
	int			nnodes = 0;
	uint32		level;
	uint32		h = 0;
	int			i;

	while (h < TL_DIR_MAX_HEIGHT && (us[n - 1] >> (TL_DIR_BITS * (h + 1))) != 0)
		h++;

	/* leaves */
	for (i = 0; i < n;)
	{
		uint64		id = us[i] >> TL_DIR_BITS;

		CHECK_FOR_INTERRUPTS();
		tl_init_page(page, TL_PAGE_DIR, 0);
		for (; i < n && (us[i] >> TL_DIR_BITS) == id; i++)
			TlDirLeafEntries(page)[us[i] & TL_DIR_MASK] = ptrs[i];
		ids[nnodes] = id;
		blks[nnodes] = tl_build_write_page(bs, page);
		nnodes++;
	}

	/* internal levels: node ids shift by TL_DIR_BITS per level */
	for (level = 1; level <= h; level++)
	{
		int			m = 0;

		for (i = 0; i < nnodes;)
		{
			uint64		id = ids[i] >> TL_DIR_BITS;

			CHECK_FOR_INTERRUPTS();
			tl_init_page(page, TL_PAGE_DIR, level);
			for (; i < nnodes && (ids[i] >> TL_DIR_BITS) == id; i++)
				TlDirChildren(page)[ids[i] & TL_DIR_MASK] = blks[i];
			ids[m] = id;
			blks[m] = tl_build_write_page(bs, page);
			m++;
		}
		nnodes = m;
	}
	Assert(nnodes == 1);
	*height = h;
	return blks[0];
}

/*
 * ambuild
 */
IndexBuildResult *
tl_build(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	TlBuildState bs;
	Oid			keytype;
	Oid			tstype;
	double		reltuples;
	PGAlignedBlock metabuf;
	int64		done = 0;
	int			nneg;
	int			i;
	BlockNumber root[2] = {InvalidBlockNumber, InvalidBlockNumber};
	uint32		height[2] = {0, 0};

	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));
	tl_check_columns(index, &keytype, &tstype);

	memset(&bs, 0, sizeof(bs));
	bs.index = index;
	bs.keytype = keytype;
	bs.page = palloc(BLCKSZ);
	bs.seg = palloc(BLCKSZ);
	bs.dircap = 1024;
	bs.dkeys = palloc(sizeof(int64) * bs.dircap);
	bs.dptrs = palloc(sizeof(ItemPointerData) * bs.dircap);

	/* Block 0: the metapage, filled in at the end. */
	tl_init_metapage(metabuf.data, keytype, tstype);
	tl_build_write_page(&bs, metabuf.data);

	/* Load. */
	bs.memlimit = Max((Size) maintenance_work_mem * 1024 / sizeof(TlBuildItem), 1024);
	bs.maxitems = Min(bs.memlimit, 65536);
	bs.items = palloc(sizeof(TlBuildItem) * bs.maxitems);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, TL_PHASE_LOAD);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   tl_build_callback, (void *) &bs, NULL);

	/* Sort. */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, TL_PHASE_SORT);
	if (bs.sort != NULL)
		tuplesort_performsort(bs.sort);
	else
		tl_sort_items(bs.items, bs.nitems);

	/* Write the posting lists. */
	{
		const int	cols[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_TOTAL};
		const int64 vals[] = {TL_PHASE_WRITE, (int64) bs.indtuples};

		pgstat_progress_update_multi_param(2, cols, vals);
	}
	if (bs.sort == NULL)
	{
		Size		i;

		for (i = 0; i < bs.nitems; i++)
		{
			tl_build_add(&bs, bs.items[i].key, bs.items[i].ts, &bs.items[i].tid);
			if (++done % 10000 == 0)
			{
				CHECK_FOR_INTERRUPTS();
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, done);
			}
		}
		pfree(bs.items);
	}
	else
	{
		while (tuplesort_gettupleslot(bs.sort, true, false, bs.slot, NULL))
		{
			bool		isnull;
			int64		key = DatumGetInt64(slot_getattr(bs.slot, 1, &isnull));
			int64		ts = DatumGetInt64(slot_getattr(bs.slot, 2, &isnull));
			int64		packed = DatumGetInt64(slot_getattr(bs.slot, 3, &isnull));
			ItemPointerData tid;

			ItemPointerSet(&tid, (BlockNumber) (packed >> 16), (OffsetNumber) (packed & 0xFFFF));
			tl_build_add(&bs, key, ts, &tid);
			if (++done % 10000 == 0)
			{
				CHECK_FOR_INTERRUPTS();
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, done);
			}
		}
		tuplesort_end(bs.sort);
		ExecDropSingleTupleTableSlot(bs.slot);
	}
	tl_build_finish_key(&bs);
	tl_build_flush_page(&bs);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, done);

	/*
	 * The directory: keys arrive in ascending order, so the negative ones
	 * come first and their stored form ~k descends; reverse them.
	 */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, TL_PHASE_DIRECTORY);
	for (nneg = 0; nneg < bs.ndir && bs.dkeys[nneg] < 0; nneg++)
		;
	if (nneg > 0)
	{
		uint64	   *us = palloc(sizeof(uint64) * nneg);
		ItemPointerData *ptrs = palloc(sizeof(ItemPointerData) * nneg);

		for (i = 0; i < nneg; i++)
		{
			us[nneg - 1 - i] = (uint64) ~bs.dkeys[i];
			ptrs[nneg - 1 - i] = bs.dptrs[i];
		}
		root[1] = tl_build_directory(&bs, us, ptrs, nneg, &height[1]);
		pfree(us);
		pfree(ptrs);
	}
	if (bs.ndir > nneg)
	{
		int			npos = bs.ndir - nneg;
		uint64	   *us = palloc(sizeof(uint64) * npos);

		for (i = 0; i < npos; i++)
			us[i] = (uint64) bs.dkeys[nneg + i];
		root[0] = tl_build_directory(&bs, us, bs.dptrs + nneg, npos, &height[0]);
		pfree(us);
	}

	/* The metapage. */
	{
		Buffer		buf = ReadBuffer(index, TL_METAPAGE_BLKNO);
		TlMetaPageData *meta;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		meta = TlPageGetMeta(BufferGetPage(buf));
		meta->root[0] = root[0];
		meta->root[1] = root[1];
		meta->height[0] = height[0];
		meta->height[1] = height[1];
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}

	/* Log every page once. */
	if (RelationNeedsWAL(index))
	{
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, TL_PHASE_WAL);
		log_newpage_range(index, MAIN_FORKNUM, 0, bs.nblocks, true);
	}

	result = (IndexBuildResult *) palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/*
 * ambuildempty: the init fork of an unlogged index, a metapage alone,
 * written and logged directly as contrib/bloom does.
 */
void
tl_buildempty(Relation index)
{
	PGAlignedBlock page;
	Oid			keytype;
	Oid			tstype;

	tl_check_columns(index, &keytype, &tstype);
	tl_init_metapage(page.data, keytype, tstype);
	PageSetChecksumInplace(page.data, TL_METAPAGE_BLKNO);
	smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, TL_METAPAGE_BLKNO,
			  page.data, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM,
				TL_METAPAGE_BLKNO, page.data, true);
	smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
}
