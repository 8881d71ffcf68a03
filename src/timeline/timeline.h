/*-------------------------------------------------------------------------
 *
 * timeline.h
 *		Private declarations of the "timeline" index access method.
 *
 * A timeline index on (key, ts) keeps, for every key, a time-ordered
 * posting list of (ts, heap TID) pairs, compressed, and answers
 * "the latest N rows of these keys" by merging the keys' lists inside the
 * scan.  Its layout:
 *
 *	block 0			the metapage: the roots and heights of two radix
 *					directories, one for keys >= 0 and one for keys < 0
 *					(a negative key k is stored as ~k).
 *	directory pages	a radix tree over the key, 10 bits per level.  An
 *					internal node holds 1024 child block numbers, a leaf
 *					holds 1024 pointers, one per key, to the key's newest
 *					segment.  Nodes are created on demand and never freed
 *					or moved, and a pointer, once set, only ever changes
 *					to point at a newer segment of the same key; so a
 *					reader needs no lock coupling on the way down.
 *	data pages		standard slotted pages whose items are segments.  A
 *					segment holds part of one key's posting list: a fixed
 *					header (key, the older segment of the key, an upper
 *					bound on the times stored in all older segments, the
 *					last entry appended, counts) and entries encoded as
 *					zigzag varints of the time delta and the heap block
 *					delta from the previous entry, then the line pointer
 *					number.  A segment may have slack: inserts append into
 *					it in place, at its tail, without moving other data.
 *
 * Segments of a key form a chain from the newest to the oldest.  Entries
 * within a segment are in arrival order (TL_SEG_UNSORTED says that some
 * arrived out of time order, else the last entry is the newest); the chain bound (prev_max) lets a
 * newest-first scan stop reading older segments as soon as it has enough,
 * even when some rows arrived late.
 *
 * Times are kept as int64 (timestamp and timestamptz are both int64
 * microseconds); 'infinity' is stored as PG_INT64_MAX - 1 so that NULL can
 * be PG_INT64_MAX, sorting after every time, as ORDER BY ts puts NULLs last
 * (first when descending).  Rows whose key is NULL are not indexed: no scan
 * of this index can return them (the first column is always constrained
 * by an equality).
 *
 * Locking (see also insert.c, scan.c, vacuum.c):
 *	- every page change is made under the buffer's exclusive lock and logged
 *	  as a generic WAL record: through GenericXLogStart/Finish (which works
 *	  on a copy), or, for the in-place append of an entry, by writing the
 *	  record's page delta directly (insert.c); a reader holding a share lock
 *	  sees a page either before or after a change, never half of it;
 *	- inserts of one key are serialized by the exclusive lock on the
 *	  directory leaf that holds the key; while holding it an insert locks
 *	  at most one data page at a time;
 *	- nothing ever locks a directory page while holding a data page lock,
 *	  and no one holds two data page locks at once, so there is no
 *	  deadlock; the metapage is locked last and alone (see page.c).
 *	- scans copy what they need out of a page under a share lock and
 *	  release it before reading the next page.  Segments are never removed,
 *	  so a pointer read earlier (a directory entry, a segment's prev link)
 *	  stays valid; VACUUM only rewrites segments smaller, in place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TIMELINE_H
#define TIMELINE_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/relcache.h"

/* Metapage block and identification. */
#define TL_METAPAGE_BLKNO	0
#define TL_MAGIC			0x544C4958	/* "TLIX" */
#define TL_VERSION			1
#define TL_PAGE_ID			0xFF91

/* Page kinds, in the special space. */
#define TL_PAGE_META		(1 << 0)
#define TL_PAGE_DIR			(1 << 1)
#define TL_PAGE_DATA		(1 << 2)

/* Strategy numbers: btree's. */
#define TL_LT_STRATEGY		1
#define TL_LE_STRATEGY		2
#define TL_EQ_STRATEGY		3
#define TL_GE_STRATEGY		4
#define TL_GT_STRATEGY		5
#define TL_NSTRATEGIES		5

/* Build sub-phases reported in pg_stat_progress_create_index. */
#define TL_PHASE_LOAD		2
#define TL_PHASE_SORT		3
#define TL_PHASE_WRITE		4
#define TL_PHASE_DIRECTORY	5
#define TL_PHASE_WAL		6

/* Radix directory geometry: 10 bits per level, 7 levels cover 63 bits. */
#define TL_DIR_BITS			10
#define TL_DIR_FANOUT		(1 << TL_DIR_BITS)
#define TL_DIR_MASK			(TL_DIR_FANOUT - 1)
#define TL_DIR_MAX_HEIGHT	6

/* Internal time values: NULL sorts after 'infinity'. */
#define TL_TS_NULL			PG_INT64_MAX
#define TL_TS_INFINITY		(PG_INT64_MAX - 1)

/* Longest encoded entry: ts delta (10) + block delta (5) + offset (3). */
#define TL_MAX_ENTRY_BYTES	18

/*
 * Room left at the end of each key's newest segment by a build, so that
 * the next few inserts of the key append in place (about six entries).
 */
#define TL_BUILD_SLACK		48

/* Segment flags: entries were appended out of time order. */
#define TL_SEG_UNSORTED		0x0001

/* Capacities of segments created by inserts: start small, double. */
#define TL_SEG_MIN_CAPACITY	48
#define TL_SEG_MAX_CAPACITY	2048

typedef struct TlPageOpaqueData
{
	uint16		flags;			/* TL_PAGE_* */
	uint16		level;			/* directory pages: 0 = leaf */
	uint16		unused;
	uint16		page_id;		/* TL_PAGE_ID */
} TlPageOpaqueData;

typedef TlPageOpaqueData *TlPageOpaque;

#define TlPageGetOpaque(page) ((TlPageOpaque) PageGetSpecialPointer(page))
#define TlPageIsMeta(page)	((TlPageGetOpaque(page)->flags & TL_PAGE_META) != 0)
#define TlPageIsDir(page)	((TlPageGetOpaque(page)->flags & TL_PAGE_DIR) != 0)
#define TlPageIsData(page)	((TlPageGetOpaque(page)->flags & TL_PAGE_DATA) != 0)

/* Metapage contents. */
typedef struct TlMetaPageData
{
	uint32		magic;
	uint32		version;
	Oid			keytype;		/* INT8OID or INT4OID */
	Oid			tstype;			/* TIMESTAMPTZOID or TIMESTAMPOID */
	BlockNumber root[2];		/* [0]: keys >= 0, [1]: keys < 0 */
	uint32		height[2];		/* internal levels above the leaves */
} TlMetaPageData;

#define TlPageGetMeta(page) ((TlMetaPageData *) PageGetContents(page))

/* Directory node contents. */
#define TlDirLeafEntries(page)	((ItemPointerData *) PageGetContents(page))
#define TlDirChildren(page)		((BlockNumber *) PageGetContents(page))

/*
 * A segment: one item of a data page.  The fields read by the insert path
 * (last_ts, last_blk, nentries, nbytes) are adjacent so that an append
 * changes one small run of bytes besides the appended entry (the generic
 * WAL record is a diff of the page).
 */
typedef struct TlSegmentData
{
	int64		key;
	int64		prev_max;		/* every ts in older segments is <= this */
	ItemPointerData prev;		/* older segment of the key, or invalid */
	uint16		flags;			/* TL_SEG_* */
	int64		last_ts;		/* last entry appended: its time */
	uint32		last_blk;		/* ... and its heap block */
	uint16		nentries;
	uint16		nbytes;			/* bytes of data used */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} TlSegmentData;

typedef TlSegmentData *TlSegment;

#define TL_SEG_HEADER		offsetof(TlSegmentData, data)

/* One decoded posting. */
typedef struct TlEntry
{
	int64		ts;
	ItemPointerData tid;
} TlEntry;

/* Per-relation cache of the metapage (rd_amcache). */
typedef struct TlMetaCache
{
	BlockNumber root[2];
	uint32		height[2];
	Oid			keytype;
	Oid			tstype;
} TlMetaCache;

/* handler.c */
extern void tl_init(void);
extern IndexBuildResult *tl_build(Relation heap, Relation index,
								  struct IndexInfo *indexInfo);
extern void tl_buildempty(Relation index);
extern bool tl_insert(Relation index, Datum *values, bool *isnull,
					  ItemPointer ht_ctid, Relation heapRel,
					  IndexUniqueCheck checkUnique, bool indexUnchanged,
					  struct IndexInfo *indexInfo);
extern IndexBulkDeleteResult *tl_bulkdelete(IndexVacuumInfo *info,
											IndexBulkDeleteResult *stats,
											IndexBulkDeleteCallback callback,
											void *callback_state);
extern IndexBulkDeleteResult *tl_vacuumcleanup(IndexVacuumInfo *info,
											   IndexBulkDeleteResult *stats);
extern void tl_costestimate(PlannerInfo *root, IndexPath *path,
							double loop_count, Cost *indexStartupCost,
							Cost *indexTotalCost, Selectivity *indexSelectivity,
							double *indexCorrelation, double *indexPages);
extern bool tl_validate(Oid opclassoid);
extern IndexScanDesc tl_beginscan(Relation r, int nkeys, int norderbys);
extern void tl_rescan(IndexScanDesc scan, ScanKey scankey, int nscankeys,
					  ScanKey orderbys, int norderbys);
extern bool tl_gettuple(IndexScanDesc scan, ScanDirection dir);
extern int64 tl_getbitmap(IndexScanDesc scan, TIDBitmap *tbm);
extern void tl_endscan(IndexScanDesc scan);

/* planner.c */
extern void tl_planner_init(void);

/* page.c: pages, values, the directory, segment encoding */
extern void tl_init_page(Page page, uint16 flags, uint16 level);
extern void tl_init_metapage(Page page, Oid keytype, Oid tstype);
extern void tl_check_columns(Relation index, Oid *keytype, Oid *tstype);
extern int64 tl_key_from_datum(Datum value, Oid type);
extern int64 tl_ts_from_datum(Datum value);
extern TlMetaCache *tl_get_meta(Relation index, bool refresh);
extern Buffer tl_new_buffer(Relation index);
extern Buffer tl_dir_find_leaf(Relation index, int64 key, bool create,
							   int *slot);
extern int	tl_encode_entry(char *out, int64 ts, int64 prevts,
							ItemPointer tid, BlockNumber prevblk);
extern int	tl_decode_segment(Relation index, TlSegment seg, Size itemsz,
							  TlEntry *out);
extern TlSegment tl_get_segment(Relation index, Page page, BlockNumber blkno,
								OffsetNumber off, Size *itemsz);
extern int	tl_segment_capacity(Size itemsz);

#endif							/* TIMELINE_H */
