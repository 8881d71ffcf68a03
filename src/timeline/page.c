/*-------------------------------------------------------------------------
 *
 * page.c
 *		Pages, values, the radix directory and the segment encoding of the
 *		timeline index access method.
 *
 * Everything here is shared by build, insert, scan, vacuum and check.
 * The directory functions document their locking: the metapage is only
 * ever locked alone (readers) or while holding nothing but the new root
 * page (height growth); directory nodes are locked one at a time on the
 * way down, because a child pointer never changes once set.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "timeline/timeline.h"

/*
 * Initialize a page of the given kind.  Directory pages get pd_lower past
 * their array, so full-page images and WAL diffs leave the rest out.
 */
void
tl_init_page(Page page, uint16 flags, uint16 level)
{
	TlPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(TlPageOpaqueData));
	opaque = TlPageGetOpaque(page);
	opaque->flags = flags;
	opaque->level = level;
	opaque->unused = 0;
	opaque->page_id = TL_PAGE_ID;

	if (flags & TL_PAGE_DIR)
	{
		Size		size = (level == 0) ? TL_DIR_FANOUT * sizeof(ItemPointerData)
			: TL_DIR_FANOUT * sizeof(BlockNumber);

		memset(PageGetContents(page), 0xFF, size);
		((PageHeader) page)->pd_lower = (PageGetContents(page) - (char *) page) + size;
	}
}

/*
 * Initialize the metapage: both directories empty.
 */
void
tl_init_metapage(Page page, Oid keytype, Oid tstype)
{
	TlMetaPageData *meta;

	tl_init_page(page, TL_PAGE_META, 0);
	meta = TlPageGetMeta(page);
	memset(meta, 0, sizeof(TlMetaPageData));
	meta->magic = TL_MAGIC;
	meta->version = TL_VERSION;
	meta->keytype = keytype;
	meta->tstype = tstype;
	meta->root[0] = meta->root[1] = InvalidBlockNumber;
	meta->height[0] = meta->height[1] = 0;
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(TlMetaPageData)) - (char *) page;
}

/*
 * Check that the index is on (integer key, timestamp): the only shape the
 * access method knows how to store.  Reports the two column types.
 */
void
tl_check_columns(Relation index, Oid *keytype, Oid *tstype)
{
	TupleDesc	desc = RelationGetDescr(index);
	Oid			k,
				t;

	if (IndexRelationGetNumberOfKeyAttributes(index) != 2)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a timeline index must have exactly two columns"),
				 errhint("Index a key and a time: CREATE INDEX ... USING timeline (identity_id, ts).")));
	k = TupleDescAttr(desc, 0)->atttypid;
	t = TupleDescAttr(desc, 1)->atttypid;
	if (k != INT8OID && k != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the first column of a timeline index must be of type bigint or integer, not %s",
						format_type_be(k))));
	if (t != TIMESTAMPTZOID && t != TIMESTAMPOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the second column of a timeline index must be of type timestamp with time zone or timestamp, not %s",
						format_type_be(t))));
	*keytype = k;
	*tstype = t;
}

/*
 * A key datum as int64, from any integer type an operator may compare the
 * key column with.
 */
int64
tl_key_from_datum(Datum value, Oid type)
{
	switch (type)
	{
		case INT8OID:
			return DatumGetInt64(value);
		case INT4OID:
			return (int64) DatumGetInt32(value);
		case INT2OID:
			return (int64) DatumGetInt16(value);
		default:
			elog(ERROR, "unexpected key type %u in a timeline index", type);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * A time datum (timestamp or timestamptz) in the internal representation:
 * 'infinity' moves down by one so that NULL can sort after it.
 */
int64
tl_ts_from_datum(Datum value)
{
	int64		ts = DatumGetInt64(value);

	return (ts == DT_NOEND) ? TL_TS_INFINITY : ts;
}

/*
 * The metapage's directory roots, cached in rd_amcache.  A cached (root,
 * height) pair stays correct for every key it can address even after the
 * tree grew, because growth only puts a new root above the old one; a
 * caller needing a key beyond the cached height asks again with refresh.
 * The cache lives in the relcache entry, which an invalidation may rebuild:
 * callers copy what they need before doing anything that can take a lock.
 */
TlMetaCache *
tl_get_meta(Relation index, bool refresh)
{
	TlMetaCache *cache = (TlMetaCache *) index->rd_amcache;

	if (cache == NULL || refresh)
	{
		Buffer		buf;
		Page		page;
		TlMetaPageData *meta;
		TlMetaCache local;

		buf = ReadBuffer(index, TL_METAPAGE_BLKNO);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		meta = TlPageGetMeta(page);
		if (PageIsNew(page) || !TlPageIsMeta(page) ||
			meta->magic != TL_MAGIC)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("index \"%s\" is not a timeline index",
							RelationGetRelationName(index))));
		if (meta->version != TL_VERSION)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("timeline index \"%s\" has version %u, expected %u",
							RelationGetRelationName(index), meta->version,
							TL_VERSION),
					 errhint("REINDEX the index.")));
		local.root[0] = meta->root[0];
		local.root[1] = meta->root[1];
		local.height[0] = meta->height[0];
		local.height[1] = meta->height[1];
		local.keytype = meta->keytype;
		local.tstype = meta->tstype;
		UnlockReleaseBuffer(buf);

		if (cache == NULL)
			cache = MemoryContextAlloc(index->rd_indexcxt, sizeof(TlMetaCache));
		memcpy(cache, &local, sizeof(TlMetaCache));
		index->rd_amcache = cache;
	}
	return cache;
}

/*
 * Extend the index by one page and return it pinned and exclusively
 * locked.  The caller initializes it inside its generic WAL record
 * (GENERIC_XLOG_FULL_IMAGE).  A crash before that record leaves an
 * all-zero page, which insert and vacuum treat as free.
 */
Buffer
tl_new_buffer(Relation index)
{
	Buffer		buf;

	LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBuffer(index, P_NEW);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}

/* Levels of internal nodes needed above the leaves to address u. */
static uint32
tl_height_for(uint64 u)
{
	uint32		h = 0;

	while (h < TL_DIR_MAX_HEIGHT && (u >> (TL_DIR_BITS * (h + 1))) != 0)
		h++;
	return h;
}

/*
 * Make the directory of one side tall enough for u: create the root if
 * there is none, then put new roots above it.  Each step is one WAL record
 * (the metapage and the new root), so a crash leaves a valid, perhaps
 * shorter, tree.  Locks: the metapage exclusively, then a new page nobody
 * else can see.
 */
static void
tl_dir_grow(Relation index, int side, uint32 need)
{
	Buffer		metabuf;

	metabuf = ReadBuffer(index, TL_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	for (;;)
	{
		TlMetaPageData *meta = TlPageGetMeta(BufferGetPage(metabuf));
		GenericXLogState *state;
		Buffer		newbuf;
		Page		newpage;
		Page		metapage;
		uint32		level;

		if (meta->root[side] != InvalidBlockNumber && meta->height[side] >= need)
			break;

		newbuf = tl_new_buffer(index);
		state = GenericXLogStart(index);
		metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
		newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
		meta = TlPageGetMeta(metapage);
		if (meta->root[side] == InvalidBlockNumber)
		{
			level = 0;
			tl_init_page(newpage, TL_PAGE_DIR, 0);
		}
		else
		{
			level = meta->height[side] + 1;
			tl_init_page(newpage, TL_PAGE_DIR, level);
			TlDirChildren(newpage)[0] = meta->root[side];
		}
		meta->root[side] = BufferGetBlockNumber(newbuf);
		meta->height[side] = level;
		GenericXLogFinish(state);
		UnlockReleaseBuffer(newbuf);
	}
	UnlockReleaseBuffer(metabuf);
}

/*
 * Find the directory leaf holding key.  Returns the leaf pinned and locked
 * (exclusively when create, else shared) with *slot set, or InvalidBuffer
 * when the key has no leaf and create is false.  With create, missing
 * nodes are made on the way down, each with one WAL record holding the
 * parent and the new node.
 *
 * Locking: one directory node at a time; a child pointer never changes
 * once set, so releasing the parent before locking the child is safe.
 */
Buffer
tl_dir_find_leaf(Relation index, int64 key, bool create, int *slot)
{
	int			side = (key < 0) ? 1 : 0;
	uint64		u = (key < 0) ? (uint64) ~key : (uint64) key;
	uint32		need = tl_height_for(u);
	TlMetaCache *meta = tl_get_meta(index, false);
	BlockNumber blkno = meta->root[side];
	uint32		height = meta->height[side];
	uint32		level;

	if (blkno == InvalidBlockNumber || height < need)
	{
		meta = tl_get_meta(index, true);
		blkno = meta->root[side];
		height = meta->height[side];
		if (blkno == InvalidBlockNumber || height < need)
		{
			if (!create)
				return InvalidBuffer;
			tl_dir_grow(index, side, need);
			meta = tl_get_meta(index, true);
			blkno = meta->root[side];
			height = meta->height[side];
		}
	}

	for (level = height; level > 0; level--)
	{
		int			idx = (int) ((u >> (TL_DIR_BITS * level)) & TL_DIR_MASK);
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		BlockNumber child;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !TlPageIsDir(page) ||
			TlPageGetOpaque(page)->level != level)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("timeline index \"%s\" has a bad directory page %u",
							RelationGetRelationName(index), blkno)));
		child = TlDirChildren(page)[idx];
		if (child == InvalidBlockNumber)
		{
			GenericXLogState *state;
			Buffer		newbuf;
			Page		parent;
			Page		newpage;

			if (!create)
			{
				UnlockReleaseBuffer(buf);
				return InvalidBuffer;
			}
			/* Upgrade to an exclusive lock and look again. */
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
			child = TlDirChildren(BufferGetPage(buf))[idx];
			if (child == InvalidBlockNumber)
			{
				newbuf = tl_new_buffer(index);
				state = GenericXLogStart(index);
				parent = GenericXLogRegisterBuffer(state, buf, 0);
				newpage = GenericXLogRegisterBuffer(state, newbuf,
													GENERIC_XLOG_FULL_IMAGE);
				tl_init_page(newpage, TL_PAGE_DIR, level - 1);
				child = BufferGetBlockNumber(newbuf);
				TlDirChildren(parent)[idx] = child;
				GenericXLogFinish(state);
				UnlockReleaseBuffer(newbuf);
			}
		}
		UnlockReleaseBuffer(buf);
		blkno = child;
	}

	{
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;

		LockBuffer(buf, create ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || !TlPageIsDir(page) ||
			TlPageGetOpaque(page)->level != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("timeline index \"%s\" has a bad directory leaf %u",
							RelationGetRelationName(index), blkno)));
		*slot = (int) (u & TL_DIR_MASK);
		return buf;
	}
}

/* Varint (LEB128) of an unsigned value; returns the bytes written. */
static inline int
tl_put_varint(char *out, uint64 v)
{
	int			n = 0;

	while (v >= 0x80)
	{
		out[n++] = (char) ((v & 0x7F) | 0x80);
		v >>= 7;
	}
	out[n++] = (char) v;
	return n;
}

static inline uint64
tl_zigzag(int64 v)
{
	return ((uint64) v << 1) ^ (uint64) (v >> 63);
}

static inline int64
tl_unzigzag(uint64 v)
{
	return (int64) (v >> 1) ^ -(int64) (v & 1);
}

/*
 * Encode one entry after (prevts, prevblk): zigzag varints of the time and
 * block deltas (computed modulo 2^64 and 2^32, so any value round-trips),
 * then the line pointer number.  At most TL_MAX_ENTRY_BYTES.
 */
int
tl_encode_entry(char *out, int64 ts, int64 prevts, ItemPointer tid,
				BlockNumber prevblk)
{
	int			n;
	uint64		dts = (uint64) ts - (uint64) prevts;
	uint32		dblk = ItemPointerGetBlockNumberNoCheck(tid) - prevblk;

	n = tl_put_varint(out, tl_zigzag((int64) dts));
	n += tl_put_varint(out + n, tl_zigzag((int64) (int32) dblk));
	n += tl_put_varint(out + n, ItemPointerGetOffsetNumberNoCheck(tid));
	return n;
}

/* Read a varint of at most maxbytes bytes; false when malformed. */
static inline bool
tl_get_varint(const unsigned char **p, const unsigned char *end, int maxbytes,
			  uint64 *v)
{
	uint64		r = 0;
	int			shift = 0;
	int			i;

	for (i = 0; i < maxbytes; i++)
	{
		unsigned char c;

		if (*p >= end)
			return false;
		c = *(*p)++;
		r |= (uint64) (c & 0x7F) << shift;
		if ((c & 0x80) == 0)
		{
			*v = r;
			return true;
		}
		shift += 7;
	}
	return false;
}

/*
 * Decode all entries of a segment into out (room for seg->nentries), in
 * arrival order.  Every length is checked against the item, so a damaged
 * segment is reported as corruption instead of read out of bounds.
 */
int
tl_decode_segment(Relation index, TlSegment seg, Size itemsz, TlEntry *out)
{
	const unsigned char *p = (const unsigned char *) seg->data;
	const unsigned char *end = p + seg->nbytes;
	int64		ts = 0;
	BlockNumber blk = 0;
	int			i;

	if (TL_SEG_HEADER + (Size) seg->nbytes > itemsz)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("timeline index \"%s\" has a segment longer than its item",
						RelationGetRelationName(index))));
	for (i = 0; i < seg->nentries; i++)
	{
		uint64		dts,
					dblk,
					off;

		if (!tl_get_varint(&p, end, 10, &dts) ||
			!tl_get_varint(&p, end, 5, &dblk) ||
			!tl_get_varint(&p, end, 3, &off) ||
			off == 0 || off > MaxOffsetNumber)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("timeline index \"%s\" has a malformed segment of key " INT64_FORMAT,
							RelationGetRelationName(index), seg->key)));
		ts = (int64) ((uint64) ts + (uint64) tl_unzigzag(dts));
		blk = blk + (uint32) (int32) tl_unzigzag(dblk);
		out[i].ts = ts;
		ItemPointerSet(&out[i].tid, blk, (OffsetNumber) off);
	}
	if (p != end)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("timeline index \"%s\" has trailing bytes in a segment of key " INT64_FORMAT,
						RelationGetRelationName(index), seg->key)));
	return seg->nentries;
}

/*
 * The segment at (blkno, off) of a locked data page, checked to be one:
 * a pointer that leads anywhere else means the index is corrupt.
 */
TlSegment
tl_get_segment(Relation index, Page page, BlockNumber blkno, OffsetNumber off,
			   Size *itemsz)
{
	ItemId		iid;

	if (PageIsNew(page) || !TlPageIsData(page) ||
		off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("timeline index \"%s\" points to a missing segment (%u,%u)",
						RelationGetRelationName(index), blkno, off)));
	iid = PageGetItemId(page, off);
	if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < TL_SEG_HEADER)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("timeline index \"%s\" has a bad segment item (%u,%u)",
						RelationGetRelationName(index), blkno, off)));
	*itemsz = ItemIdGetLength(iid);
	return (TlSegment) PageGetItem(page, iid);
}

/* Bytes of entry data a segment item of this size can hold. */
int
tl_segment_capacity(Size itemsz)
{
	return (int) itemsz - (int) TL_SEG_HEADER;
}
