/*-------------------------------------------------------------------------
 *
 * insert.c
 *		Insertion into a timeline index.
 *
 * An insert appends the entry to its key's newest segment, in place at the
 * segment's tail, when the segment has room.  That change is logged as a
 * generic WAL record (resource manager "Generic", replayed by PostgreSQL's
 * generic_redo) whose page delta is written directly: two fragments, the
 * segment's counters and the entry, in the format generic_xlog.c defines.
 * GenericXLogFinish would compute the same delta by comparing the whole
 * 8 kB page before and after, which costs more than the rest of the
 * insert; wal_consistency_checking = 'generic' verifies these records.
 * Otherwise it
 * starts a new segment, twice as large as the previous one up to a limit,
 * on a data page with free space (this backend's target page, else one the
 * free space map knows, else a new page), linked to the older segment, and
 * points the directory at it: one WAL record with the data page and the
 * directory leaf.  Page data is never shifted.
 *
 * Locking: the directory leaf of the key is held exclusively for the whole
 * insert, which serializes inserts of one key; under it, at most one data
 * page is locked at a time (the old segment's page is released before the
 * target page is locked).  See timeline.h for the global rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/rmgr.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/freespace.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "timeline/timeline.h"

/*
 * A data page with at least minfree bytes free for a new item (as
 * PageGetFreeSpace counts them), pinned and exclusively locked.  Tries this backend's target
 * page, then the free space map, then extends the relation.  *isnew says
 * the page must be initialized (in the caller's WAL record).
 */
static Buffer
tl_get_insert_page(Relation index, Size minfree, bool *isnew)
{
	BlockNumber blkno = RelationGetTargetBlock(index);

	*isnew = false;
	for (;;)
	{
		Buffer		buf;
		Page		page;
		Size		freespace = 0;

		if (blkno == InvalidBlockNumber)
			blkno = GetPageWithFreeSpace(index, minfree);
		if (blkno == InvalidBlockNumber || blkno == TL_METAPAGE_BLKNO)
		{
			buf = tl_new_buffer(index);
			*isnew = true;
			RelationSetTargetBlock(index, BufferGetBlockNumber(buf));
			return buf;
		}

		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		/*
		 * An all-zero page (extended by a backend that failed before its WAL
		 * record) is left alone: its extender may still be about to
		 * initialize it.
		 */
		if (!PageIsNew(page) && TlPageIsData(page))
		{
			freespace = PageGetFreeSpace(page);
			if (freespace >= minfree)
			{
				RelationSetTargetBlock(index, blkno);
				return buf;
			}
		}
		UnlockReleaseBuffer(buf);
		CHECK_FOR_INTERRUPTS();
		blkno = RecordAndGetPageWithFreeSpace(index, blkno, freespace, minfree);
	}
}

/*
 * Largest time among a segment's entries: the last one appended, unless
 * some arrived out of order, when the segment must be decoded.
 */
static int64
tl_segment_max(Relation index, TlSegment seg, Size itemsz)
{
	TlEntry    *entries;
	int			n;
	int64		max = PG_INT64_MIN;
	int			i;

	if (seg->nentries == 0)
		return max;
	if ((seg->flags & TL_SEG_UNSORTED) == 0)
		return seg->last_ts;
	entries = palloc(sizeof(TlEntry) * seg->nentries);
	n = tl_decode_segment(index, seg, itemsz, entries);

	for (i = 0; i < n; i++)
		if (entries[i].ts > max)
			max = entries[i].ts;
	pfree(entries);
	return max;
}

/* A fragment of a generic WAL page delta: offset, length, bytes. */
static char *
tl_put_fragment(char *out, uint16 offset, uint16 length, const char *data)
{
	memcpy(out, &offset, sizeof(uint16));
	memcpy(out + sizeof(uint16), &length, sizeof(uint16));
	memcpy(out + 2 * sizeof(uint16), data, length);
	return out + 2 * sizeof(uint16) + length;
}

/*
 * Append an encoded entry in place to the segment at segoff of the
 * exclusively locked data page, and log it (see the file header).  The new
 * header fields and the delta are prepared first, so that the critical
 * section only copies bytes.
 */
static void
tl_append_in_place(Relation index, Buffer buf, OffsetNumber segoff,
				   const char *enc, int len, int64 ts, BlockNumber heapblk)
{
	Page		page = BufferGetPage(buf);
	ItemId		iid = PageGetItemId(page, segoff);
	TlSegment	seg = (TlSegment) PageGetItem(page, iid);
	TlSegmentData newhdr;
	uint16		hdroff = ItemIdGetOffset(iid) + offsetof(TlSegmentData, flags);
	uint16		hdrlen = TL_SEG_HEADER - offsetof(TlSegmentData, flags);
	uint16		dataoff = ItemIdGetOffset(iid) + TL_SEG_HEADER + seg->nbytes;
	char		delta[4 * sizeof(uint16) + TL_SEG_HEADER + TL_MAX_ENTRY_BYTES];
	char	   *end;

	memcpy(&newhdr, seg, TL_SEG_HEADER);
	if (newhdr.nentries > 0 && ts < newhdr.last_ts)
		newhdr.flags |= TL_SEG_UNSORTED;
	newhdr.last_ts = ts;
	newhdr.last_blk = heapblk;
	newhdr.nentries++;
	newhdr.nbytes += len;
	end = tl_put_fragment(delta, hdroff, hdrlen,
						  (char *) &newhdr + offsetof(TlSegmentData, flags));
	end = tl_put_fragment(end, dataoff, len, enc);

	START_CRIT_SECTION();
	memcpy((char *) page + dataoff, enc, len);
	memcpy((char *) page + hdroff, (char *) &newhdr + offsetof(TlSegmentData, flags), hdrlen);
	MarkBufferDirty(buf);
	if (RelationNeedsWAL(index))
	{
		XLogRecPtr	recptr;

		XLogBeginInsert();
		XLogRegisterBuffer(0, buf, REGBUF_STANDARD);
		XLogRegisterBufData(0, delta, end - delta);
		recptr = XLogInsert(RM_GENERIC_ID, 0);
		PageSetLSN(page, recptr);
	}
	END_CRIT_SECTION();
}

/* A new segment holding one encoded entry, in palloc'd memory. */
static TlSegment
tl_new_segment(int64 key, ItemPointer prev, int64 prev_max, int64 ts,
			   ItemPointer tid, const char *enc, int len, Size itemsz)
{
	TlSegment	seg = (TlSegment) palloc0(itemsz);

	seg->key = key;
	seg->prev = *prev;
	seg->prev_max = prev_max;
	seg->last_ts = ts;
	seg->last_blk = ItemPointerGetBlockNumber(tid);
	seg->nentries = 1;
	seg->nbytes = len;
	memcpy(seg->data, enc, len);
	return seg;
}

/*
 * Add a new segment at the end of the exclusively locked data page buf and
 * point the key's directory entry (slot of the exclusively locked leaf) at
 * it, logged as one generic WAL record written directly, like appends: for
 * the data page, the header's pd_lower and pd_upper, the new line pointer
 * and the used part of the item (its slack lies in what was the page's
 * hole, which is zero on every copy of the page: generic redo zeroes it,
 * full-page images omit it, and every change here keeps it so); for the
 * leaf, the 6-byte entry.  The item is placed where PageAddItem would put
 * it, computed and checked before the critical section.
 */
static void
tl_add_segment_in_place(Relation index, Buffer buf, Buffer leafbuf, int slot,
						TlSegment seg, Size itemsz)
{
	Page		page = BufferGetPage(buf);
	PageHeader	phdr = (PageHeader) page;
	Page		leaf = BufferGetPage(leafbuf);
	OffsetNumber off = PageGetMaxOffsetNumber(page) + 1;
	uint16		oldlower = phdr->pd_lower;
	uint16		newlower = oldlower + sizeof(ItemIdData);
	uint16		newupper;
	uint16		bounds[2];
	ItemIdData	lp;
	ItemPointerData ptr;
	uint16		entryoff = (char *) &TlDirLeafEntries(leaf)[slot] - (char *) leaf;
	char	   *delta0 = palloc(6 * sizeof(uint16) + sizeof(bounds) + sizeof(ItemIdData) + itemsz);
	char		delta1[2 * sizeof(uint16) + sizeof(ItemPointerData)];
	char	   *end0;
	char	   *end1;

	if (itemsz != MAXALIGN(itemsz) ||
		oldlower != SizeOfPageHeaderData + (off - 1) * sizeof(ItemIdData) ||
		phdr->pd_upper > phdr->pd_special || phdr->pd_special > BLCKSZ ||
		phdr->pd_upper < phdr->pd_lower ||
		(Size) (phdr->pd_upper - phdr->pd_lower) < itemsz + sizeof(ItemIdData) ||
		off > MaxOffsetNumber)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("timeline index \"%s\" has no room for a segment on page %u",
						RelationGetRelationName(index), BufferGetBlockNumber(buf))));
	newupper = phdr->pd_upper - itemsz;
	ItemIdSetNormal(&lp, newupper, itemsz);
	ItemPointerSet(&ptr, BufferGetBlockNumber(buf), off);

	bounds[0] = newlower;
	bounds[1] = newupper;
	end0 = tl_put_fragment(delta0, offsetof(PageHeaderData, pd_lower),
						   sizeof(bounds), (char *) bounds);
	end0 = tl_put_fragment(end0, oldlower, sizeof(ItemIdData), (char *) &lp);
	end0 = tl_put_fragment(end0, newupper, TL_SEG_HEADER + seg->nbytes, (char *) seg);
	end1 = tl_put_fragment(delta1, entryoff, sizeof(ItemPointerData), (char *) &ptr);

	START_CRIT_SECTION();
	memcpy((char *) page + newupper, seg, itemsz);
	memcpy((char *) page + oldlower, &lp, sizeof(ItemIdData));
	phdr->pd_lower = newlower;
	phdr->pd_upper = newupper;
	TlDirLeafEntries(leaf)[slot] = ptr;
	MarkBufferDirty(buf);
	MarkBufferDirty(leafbuf);
	if (RelationNeedsWAL(index))
	{
		XLogRecPtr	recptr;

		XLogBeginInsert();
		XLogRegisterBuffer(0, buf, REGBUF_STANDARD);
		XLogRegisterBufData(0, delta0, end0 - delta0);
		XLogRegisterBuffer(1, leafbuf, REGBUF_STANDARD);
		XLogRegisterBufData(1, delta1, end1 - delta1);
		recptr = XLogInsert(RM_GENERIC_ID, 0);
		PageSetLSN(page, recptr);
		PageSetLSN(leaf, recptr);
	}
	END_CRIT_SECTION();
	pfree(delta0);
}

/*
 * Add (key, ts, tid) to the index.
 */
static void
tl_insert_entry(Relation index, int64 key, int64 ts, ItemPointer tid)
{
	Buffer		leafbuf;
	int			slot;
	ItemPointerData newest;
	ItemPointerData prev;
	int64		prev_max = PG_INT64_MIN;
	int			capacity = TL_SEG_MIN_CAPACITY;
	char		enc[TL_MAX_ENTRY_BYTES];
	int			len;
	Buffer		buf;
	bool		isnew;
	Size		minfree;
	Size		wanted;
	Size		itemsz;
	TlSegment	seg;
	GenericXLogState *state;
	Page		page;
	Page		leaf;
	OffsetNumber off;

	leafbuf = tl_dir_find_leaf(index, key, true, &slot);
	newest = TlDirLeafEntries(BufferGetPage(leafbuf))[slot];
	ItemPointerSetInvalid(&prev);

	if (ItemPointerGetBlockNumberNoCheck(&newest) != InvalidBlockNumber)
	{
		BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(&newest);
		OffsetNumber segoff = ItemPointerGetOffsetNumberNoCheck(&newest);

		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		seg = tl_get_segment(index, BufferGetPage(buf), blkno, segoff, &itemsz);
		if (seg->key != key)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("timeline index \"%s\" directs key " INT64_FORMAT " to a segment of key " INT64_FORMAT,
							RelationGetRelationName(index), key, seg->key)));

		len = tl_encode_entry(enc, ts, seg->last_ts, tid, seg->last_blk);
		if ((int) seg->nbytes + len <= tl_segment_capacity(itemsz) &&
			seg->nentries < PG_UINT16_MAX)
		{
			/* Room at the tail: append in place. */
			tl_append_in_place(index, buf, segoff, enc, len, ts,
							   ItemPointerGetBlockNumber(tid));
			UnlockReleaseBuffer(buf);
			UnlockReleaseBuffer(leafbuf);
			return;
		}

		/* Full: the new segment follows this one. */
		prev = newest;
		prev_max = tl_segment_max(index, seg, itemsz);
		if (ItemPointerIsValid(&seg->prev) && seg->prev_max > prev_max)
			prev_max = seg->prev_max;
		capacity = Min(Max(tl_segment_capacity(itemsz) * 2, TL_SEG_MIN_CAPACITY),
					   TL_SEG_MAX_CAPACITY);
		UnlockReleaseBuffer(buf);
	}

	/* A new segment; its first entry is encoded from zero. */
	len = tl_encode_entry(enc, ts, 0, tid, 0);
	minfree = MAXALIGN(TL_SEG_HEADER + TL_MAX_ENTRY_BYTES);
	wanted = MAXALIGN(TL_SEG_HEADER + capacity);
	buf = tl_get_insert_page(index, minfree, &isnew);

	if (isnew)
	{
		/* A new page: one generic record with its full image. */
		state = GenericXLogStart(index);
		page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
		leaf = GenericXLogRegisterBuffer(state, leafbuf, 0);
		tl_init_page(page, TL_PAGE_DATA, 0);
		if (PageGetFreeSpace(page) < wanted)
			wanted = PageGetFreeSpace(page);
		itemsz = wanted & ~(Size) (MAXIMUM_ALIGNOF - 1);
		seg = tl_new_segment(key, &prev, prev_max, ts, tid, enc, len, itemsz);
		off = PageAddItem(page, (Item) seg, itemsz, InvalidOffsetNumber, false, false);
		if (off == InvalidOffsetNumber)
		{
			GenericXLogAbort(state);
			elog(ERROR, "could not add a segment to page %u of timeline index \"%s\"",
				 BufferGetBlockNumber(buf), RelationGetRelationName(index));
		}
		ItemPointerSet(&TlDirLeafEntries(leaf)[slot], BufferGetBlockNumber(buf), off);
		GenericXLogFinish(state);
	}
	else
	{
		page = BufferGetPage(buf);
		if (PageGetFreeSpace(page) < wanted)
			wanted = PageGetFreeSpace(page);
		itemsz = wanted & ~(Size) (MAXIMUM_ALIGNOF - 1);
		seg = tl_new_segment(key, &prev, prev_max, ts, tid, enc, len, itemsz);
		tl_add_segment_in_place(index, buf, leafbuf, slot, seg, itemsz);
	}
	pfree(seg);

	UnlockReleaseBuffer(buf);
	UnlockReleaseBuffer(leafbuf);
}

/*
 * aminsert: index one heap tuple.  Rows with a NULL key are not indexed
 * (see timeline.h); a NULL time is stored and sorts after every time.
 */
bool
tl_insert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid,
		  Relation heapRel, IndexUniqueCheck checkUnique, bool indexUnchanged,
		  struct IndexInfo *indexInfo)
{
	TlMetaCache *meta;
	int64		key;
	int64		ts;

	if (isnull[0])
		return false;

	meta = tl_get_meta(index, false);
	key = tl_key_from_datum(values[0], meta->keytype);
	ts = isnull[1] ? TL_TS_NULL : tl_ts_from_datum(values[1]);
	tl_insert_entry(index, key, ts, ht_ctid);
	return false;
}
