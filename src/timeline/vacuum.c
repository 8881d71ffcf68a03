/*-------------------------------------------------------------------------
 *
 * vacuum.c
 *		VACUUM of a timeline index: bulk delete and cleanup.
 *
 * Bulk delete reads the data pages in physical order.  A segment holding
 * dead entries is re-encoded without them and shrunk to its new size in
 * place (PageIndexTupleOverwrite keeps its line pointer number, so the
 * pointers to it stay valid); the freed space is recorded in the free
 * space map, where inserts find it for new segments.  Segments are never
 * removed, even when empty, so a scan or an insert that read a pointer
 * before the vacuum still finds a segment of the same key there.  One
 * generic WAL record per changed page.
 *
 * Locking: one data page at a time, exclusively; directory pages are not
 * touched.  Scans copy segments out under a share lock, so they see a
 * page either before or after its vacuum.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "utils/rel.h"

#include "timeline/timeline.h"

/*
 * Rewrite one segment without the entries the callback calls dead.
 * Returns the number removed (0: the segment is left untouched) and adds
 * the kept ones to *kept.
 */
static int
tl_vacuum_segment(Relation index, Page page, BlockNumber blkno, OffsetNumber off,
				  IndexBulkDeleteCallback callback, void *callback_state,
				  TlEntry *entries, bool *dead, char *newbuf, double *kept)
{
	TlSegment	seg;
	TlSegment	newseg = (TlSegment) newbuf;
	Size		itemsz;
	int			n;
	int			i;
	int			removed = 0;
	int64		lastts = 0;
	BlockNumber lastblk = 0;

	seg = tl_get_segment(index, page, blkno, off, &itemsz);
	n = tl_decode_segment(index, seg, itemsz, entries);
	for (i = 0; i < n; i++)
	{
		dead[i] = callback(&entries[i].tid, callback_state);
		if (dead[i])
			removed++;
	}
	*kept += n - removed;
	if (removed == 0)
		return 0;

	memcpy(newseg, seg, TL_SEG_HEADER);
	newseg->nentries = 0;
	newseg->nbytes = 0;
	newseg->flags &= ~TL_SEG_UNSORTED;
	for (i = 0; i < n; i++)
	{
		if (dead[i])
			continue;
		if (newseg->nentries > 0 && entries[i].ts < lastts)
			newseg->flags |= TL_SEG_UNSORTED;
		newseg->nbytes += tl_encode_entry(newseg->data + newseg->nbytes,
										  entries[i].ts, lastts,
										  &entries[i].tid, lastblk);
		newseg->nentries++;
		lastts = entries[i].ts;
		lastblk = ItemPointerGetBlockNumber(&entries[i].tid);
	}
	newseg->last_ts = lastts;
	newseg->last_blk = lastblk;
	itemsz = MAXALIGN(TL_SEG_HEADER + newseg->nbytes);
	memset(newseg->data + newseg->nbytes, 0,
		   itemsz - TL_SEG_HEADER - newseg->nbytes);
	if (!PageIndexTupleOverwrite(page, off, (Item) newseg, itemsz))
		elog(ERROR, "could not rewrite a segment of timeline index \"%s\"",
			 RelationGetRelationName(index));
	return removed;
}

/*
 * ambulkdelete
 */
IndexBulkDeleteResult *
tl_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	BlockNumber blkno;
	TlEntry    *entries = palloc(sizeof(TlEntry) * (PG_UINT16_MAX + 1));
	bool	   *dead = palloc(sizeof(bool) * (PG_UINT16_MAX + 1));
	char	   *newbuf = palloc(BLCKSZ);
	double		kept = 0;

	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));

	for (blkno = TL_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;
		bool		dirty = false;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 info->strategy);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !TlPageIsData(page))
		{
			UnlockReleaseBuffer(buf);
			continue;
		}

		/* First a read-only pass: most pages have nothing to remove. */
		maxoff = PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff && !dirty; off++)
		{
			TlSegment	seg;
			Size		itemsz;
			int			n;
			int			i;

			seg = tl_get_segment(index, page, blkno, off, &itemsz);
			n = tl_decode_segment(index, seg, itemsz, entries);
			for (i = 0; i < n && !dirty; i++)
				if (callback(&entries[i].tid, callback_state))
					dirty = true;
		}

		if (dirty)
		{
			GenericXLogState *state = GenericXLogStart(index);
			Page		copy = GenericXLogRegisterBuffer(state, buf, 0);
			double		keptpage = 0;

			for (off = FirstOffsetNumber; off <= maxoff; off++)
				stats->tuples_removed +=
					tl_vacuum_segment(index, copy, blkno, off, callback,
									  callback_state, entries, dead, newbuf,
									  &keptpage);
			kept += keptpage;
			GenericXLogFinish(state);
		}
		else
		{
			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				Size		itemsz;

				kept += tl_get_segment(index, page, blkno, off, &itemsz)->nentries;
			}
		}
		RecordPageWithFreeSpace(index, blkno, PageGetFreeSpace(page));
		UnlockReleaseBuffer(buf);
	}

	IndexFreeSpaceMapVacuum(index);
	stats->num_pages = nblocks;
	stats->num_index_tuples = kept;
	stats->estimated_count = false;
	pfree(entries);
	pfree(dead);
	pfree(newbuf);
	return stats;
}

/*
 * amvacuumcleanup: when no bulk delete ran, count the entries and record
 * the pages' free space, so the statistics and the free space map are
 * right after a VACUUM with nothing to remove.
 */
IndexBulkDeleteResult *
tl_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	BlockNumber nblocks;
	BlockNumber blkno;

	if (info->analyze_only)
		return stats;
	if (stats != NULL)
		return stats;

	stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
	nblocks = RelationGetNumberOfBlocks(index);
	for (blkno = TL_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		vacuum_delay_point();
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL,
								 info->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) && TlPageIsData(page))
		{
			OffsetNumber off;
			OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

			for (off = FirstOffsetNumber; off <= maxoff; off++)
			{
				Size		itemsz;

				stats->num_index_tuples +=
					tl_get_segment(index, page, blkno, off, &itemsz)->nentries;
			}
			RecordPageWithFreeSpace(index, blkno, PageGetFreeSpace(page));
		}
		UnlockReleaseBuffer(buf);
	}
	IndexFreeSpaceMapVacuum(index);
	stats->num_pages = nblocks;
	stats->estimated_count = false;
	return stats;
}
