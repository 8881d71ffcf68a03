/*-------------------------------------------------------------------------
 *
 * scan.c
 *		Index scans of a timeline index: amgettuple with a k-way merge of
 *		the keys' posting lists in time order, and amgetbitmap.
 *
 * The scan keys are reduced once per rescan to a sorted, duplicate-free
 * set of keys (from "key = c" and "key = ANY(array)", NULL elements
 * ignored), an inclusive time range (from <, <=, =, >=, > on the time) and
 * optionally a set of allowed times ("ts = ANY(array)").
 *
 * Each key gets a cursor that reads its segments from the newest to the
 * oldest.  Newest first (a backward scan), a cursor reads an older segment
 * only while that segment could hold something newer than the best entry
 * it already has (the segment chain's prev_max bound), so a LIMIT stops
 * after a few pages per key however long its list is.  Oldest first (a
 * forward scan) a cursor reads every segment down to the lower time bound
 * before returning anything, since the list is chained from the newest.
 * The cursors are merged with a binary heap; ties in time are broken by
 * heap TID, so the order is total and the same each time.
 *
 * Locking: a segment is copied out of its page under a share lock, which
 * is released before the next page is read; generic WAL installs page
 * changes atomically, so the copy is consistent.  Segments are never
 * removed, so the prev pointers and directory entries a scan holds stay
 * valid; entries added after the scan read a segment are not returned,
 * which is right since they belong to transactions the scan's snapshot
 * cannot see.  Heap TIDs are returned for MVCC snapshots only, like GiST's
 * and SP-GiST's scans, so no buffer pin is kept between calls.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "timeline/timeline.h"

/* One key's position in its posting list. */
typedef struct TlCursor
{
	int64		key;
	ItemPointerData next;		/* next (older) segment to read */
	bool		more;			/* next may hold matching entries */
	int64		bound;			/* every unread entry has ts <= bound */
	TlEntry    *buf;			/* read, matching, in scan order */
	int			n;
	int			pos;
	int			cap;
	bool		needsort;		/* forward: buf must be sorted once read */
} TlCursor;

typedef struct TlScanOpaqueData
{
	MemoryContext ctx;			/* everything below; reset by rescan */
	bool		started;
	bool		empty;			/* the quals cannot match */
	bool		backward;		/* newest first */
	int64	   *keys;			/* sorted, unique */
	int			nkeys;
	int64		lo;				/* inclusive time bounds */
	int64		hi;
	int64	   *tsset;			/* sorted allowed times, or NULL */
	int			ntsset;
	TlCursor   *cursors;
	int		   *heap;			/* cursor numbers, best first */
	int			nheap;
	TlEntry    *segbuf;			/* decoding buffer */
	int			segcap;
} TlScanOpaqueData;

typedef TlScanOpaqueData *TlScanOpaque;

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/* Order of entries: time, then heap TID. */
static inline int
tl_entry_cmp(const TlEntry *a, const TlEntry *b)
{
	if (a->ts != b->ts)
		return (a->ts > b->ts) ? 1 : -1;
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid);
}

static int
tl_entry_cmp_asc(const void *a, const void *b)
{
	return tl_entry_cmp((const TlEntry *) a, (const TlEntry *) b);
}

static int
tl_entry_cmp_desc(const void *a, const void *b)
{
	return tl_entry_cmp((const TlEntry *) b, (const TlEntry *) a);
}

/* Sort, remove duplicates; returns the new count. */
static int
tl_sort_unique(int64 *v, int n)
{
	int			i,
				j;

	if (n <= 1)
		return n;
	qsort(v, n, sizeof(int64), cmp_int64);
	for (i = 1, j = 1; i < n; i++)
		if (v[i] != v[j - 1])
			v[j++] = v[i];
	return j;
}

/* Keep in a the values also in b (both sorted, unique). */
static int
tl_intersect(int64 *a, int na, const int64 *b, int nb)
{
	int			i = 0,
				j = 0,
				k = 0;

	while (i < na && j < nb)
	{
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else
		{
			a[k++] = a[i];
			i++;
			j++;
		}
	}
	return k;
}

/*
 * The values of a scan key: the array's non-NULL elements for an
 * "= ANY(array)" key, else the one argument.  Keys convert with the type
 * of the element or argument, times with tl_ts_from_datum.
 */
static int64 *
tl_scankey_values(ScanKey sk, bool iskey, Oid keytype, int *n)
{
	int64	   *out;

	if (sk->sk_flags & SK_SEARCHARRAY)
	{
		ArrayType  *arr = DatumGetArrayTypeP(sk->sk_argument);
		Oid			elemtype = ARR_ELEMTYPE(arr);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;
		int			i;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		deconstruct_array(arr, elemtype, typlen, typbyval, typalign,
						  &elems, &nulls, &nelems);
		out = palloc(sizeof(int64) * Max(nelems, 1));
		*n = 0;
		for (i = 0; i < nelems; i++)
		{
			if (nulls[i])
				continue;
			out[(*n)++] = iskey ? tl_key_from_datum(elems[i], elemtype)
				: tl_ts_from_datum(elems[i]);
		}
	}
	else
	{
		Oid			type = OidIsValid(sk->sk_subtype) ? sk->sk_subtype : keytype;

		out = palloc(sizeof(int64));
		out[0] = iskey ? tl_key_from_datum(sk->sk_argument, type)
			: tl_ts_from_datum(sk->sk_argument);
		*n = 1;
	}
	return out;
}

/*
 * Reduce the scan keys to a key set, a time range and an optional set of
 * times.  Sets so->empty when nothing can match.
 */
static void
tl_preprocess(IndexScanDesc scan)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;

	/*
	 * A local copy: the catalog lookups below may accept invalidations that
	 * free the relcache entry's rd_amcache.
	 */
	Oid			keytype = tl_get_meta(scan->indexRelation, false)->keytype;
	bool		havekeys = false;
	int			i;

	so->empty = false;
	so->keys = NULL;
	so->nkeys = 0;
	so->lo = PG_INT64_MIN;
	so->hi = PG_INT64_MAX;
	so->tsset = NULL;
	so->ntsset = 0;

	for (i = 0; i < scan->numberOfKeys; i++)
	{
		ScanKey		sk = &scan->keyData[i];
		int64	   *vals;
		int			n;

		if (sk->sk_flags & SK_ISNULL)
		{
			so->empty = true;
			return;
		}
		if (sk->sk_attno == 1)
		{
			if (sk->sk_strategy != TL_EQ_STRATEGY)
				elog(ERROR, "unexpected strategy %d for the key of a timeline index",
					 sk->sk_strategy);
			vals = tl_scankey_values(sk, true, keytype, &n);
			n = tl_sort_unique(vals, n);
			if (!havekeys)
			{
				so->keys = vals;
				so->nkeys = n;
				havekeys = true;
			}
			else
				so->nkeys = tl_intersect(so->keys, so->nkeys, vals, n);
		}
		else if (sk->sk_attno == 2)
		{
			int64		v;

			vals = tl_scankey_values(sk, false, keytype, &n);
			if (n == 0)
			{
				so->empty = true;
				return;
			}
			n = tl_sort_unique(vals, n);
			switch (sk->sk_strategy)
			{
				case TL_LT_STRATEGY:
					/* ts < ANY(a) is ts < max(a) */
					v = vals[n - 1];
					if (v == PG_INT64_MIN)
						so->empty = true;
					else
						so->hi = Min(so->hi, v - 1);
					break;
				case TL_LE_STRATEGY:
					so->hi = Min(so->hi, vals[n - 1]);
					break;
				case TL_EQ_STRATEGY:
					so->lo = Max(so->lo, vals[0]);
					so->hi = Min(so->hi, vals[n - 1]);
					if (n > 1)
					{
						if (so->tsset == NULL)
						{
							so->tsset = vals;
							so->ntsset = n;
						}
						else
							so->ntsset = tl_intersect(so->tsset, so->ntsset, vals, n);
					}
					else if (so->tsset != NULL)
						so->ntsset = tl_intersect(so->tsset, so->ntsset, vals, n);
					break;
				case TL_GE_STRATEGY:
					so->lo = Max(so->lo, vals[0]);
					break;
				case TL_GT_STRATEGY:
					v = vals[0];
					if (v == PG_INT64_MAX)
						so->empty = true;
					else
						so->lo = Max(so->lo, v + 1);
					break;
				default:
					elog(ERROR, "unexpected strategy %d for the time of a timeline index",
						 sk->sk_strategy);
			}
			/* a qual on the time never matches a NULL time */
			so->hi = Min(so->hi, TL_TS_INFINITY);
		}
		else
			elog(ERROR, "unexpected column %d in a timeline index scan key",
				 sk->sk_attno);
	}

	if (!havekeys)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a timeline index scan needs a condition on its first column")));
	if (so->nkeys == 0 || so->lo > so->hi ||
		(so->tsset != NULL && so->ntsset == 0))
		so->empty = true;
}

/* Does a time pass the scan's time conditions? */
static inline bool
tl_ts_matches(TlScanOpaque so, int64 ts)
{
	if (ts < so->lo || ts > so->hi)
		return false;
	if (so->tsset != NULL)
		return bsearch(&ts, so->tsset, so->ntsset, sizeof(int64), cmp_int64) != NULL;
	return true;
}

/* Position a cursor at the key's newest segment. */
static void
tl_cursor_init(Relation index, TlCursor *c, int64 key)
{
	Buffer		leafbuf;
	int			slot;

	c->key = key;
	c->more = false;
	c->bound = PG_INT64_MAX;
	c->n = c->pos = 0;
	c->needsort = false;
	ItemPointerSetInvalid(&c->next);
	leafbuf = tl_dir_find_leaf(index, key, false, &slot);
	if (BufferIsValid(leafbuf))
	{
		ItemPointerData p = TlDirLeafEntries(BufferGetPage(leafbuf))[slot];

		if (ItemPointerGetBlockNumberNoCheck(&p) != InvalidBlockNumber)
		{
			c->next = p;
			c->more = true;
		}
		UnlockReleaseBuffer(leafbuf);
	}
}

/*
 * Read the cursor's next segment: keep its matching entries, in scan order
 * after the ones not yet returned, and move to the older segment.
 */
static void
tl_cursor_read(IndexScanDesc scan, TlCursor *c)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	BlockNumber blkno = ItemPointerGetBlockNumber(&c->next);
	OffsetNumber off = ItemPointerGetOffsetNumber(&c->next);
	Buffer		buf;
	TlSegment	seg;
	Size		itemsz;
	int			n;
	int			i;
	bool		sorted = true;
	MemoryContext old = MemoryContextSwitchTo(so->ctx);

	CHECK_FOR_INTERRUPTS();
	buf = ReadBuffer(index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	seg = tl_get_segment(index, BufferGetPage(buf), blkno, off, &itemsz);
	if (seg->key != c->key)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("timeline index \"%s\" chains a segment of key " INT64_FORMAT " into key " INT64_FORMAT,
						RelationGetRelationName(index), seg->key, c->key)));
	if (seg->nentries > so->segcap)
	{
		so->segcap = Max(seg->nentries, 256);
		so->segbuf = (so->segbuf == NULL)
			? palloc(sizeof(TlEntry) * so->segcap)
			: repalloc(so->segbuf, sizeof(TlEntry) * so->segcap);
	}
	n = tl_decode_segment(index, seg, itemsz, so->segbuf);
	c->next = seg->prev;
	c->bound = seg->prev_max;
	UnlockReleaseBuffer(buf);

	c->more = ItemPointerIsValid(&c->next) && c->bound >= so->lo;

	/* Drop what was returned, then append the matching new entries. */
	if (c->pos > 0)
	{
		memmove(c->buf, c->buf + c->pos, sizeof(TlEntry) * (c->n - c->pos));
		c->n -= c->pos;
		c->pos = 0;
	}
	if (c->n + n > c->cap)
	{
		c->cap = Max(c->n + n, c->cap * 2);
		c->buf = (c->buf == NULL) ? palloc(sizeof(TlEntry) * c->cap)
			: repalloc(c->buf, sizeof(TlEntry) * c->cap);
	}
	/*
	 * Segments are appended newest-first and a segment's entries are
	 * normally in time order, so a backward scan walks the new entries from
	 * the last and normally finds them in scan order after the old ones,
	 * with no reversal pass; anything else is sorted.
	 */
	if (so->backward)
	{
		for (i = n - 1; i >= 0; i--)
		{
			if (!tl_ts_matches(so, so->segbuf[i].ts))
				continue;
			c->buf[c->n] = so->segbuf[i];
			if (c->n > 0 && sorted &&
				tl_entry_cmp(&c->buf[c->n - 1], &c->buf[c->n]) < 0)
				sorted = false;
			c->n++;
		}
	}
	else
	{
		for (i = 0; i < n; i++)
		{
			if (!tl_ts_matches(so, so->segbuf[i].ts))
				continue;
			c->buf[c->n] = so->segbuf[i];
			if (c->n > 0 && sorted &&
				tl_entry_cmp(&c->buf[c->n - 1], &c->buf[c->n]) > 0)
				sorted = false;
			c->n++;
		}
	}
	if (!sorted)
	{
		/* forward scans sort once, when every segment has been read */
		if (so->backward)
			qsort(c->buf, c->n, sizeof(TlEntry), tl_entry_cmp_desc);
		else
			c->needsort = true;
	}
	MemoryContextSwitchTo(old);
}

/*
 * Read segments until the cursor's next entry is final: newest first,
 * until no unread segment can hold a newer time; oldest first, all of
 * them.
 */
static void
tl_cursor_fill(IndexScanDesc scan, TlCursor *c)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;

	while (c->more)
	{
		if (so->backward && c->pos < c->n && c->bound < c->buf[c->pos].ts)
			break;
		tl_cursor_read(scan, c);
	}
	if (c->needsort)
	{
		qsort(c->buf, c->n, sizeof(TlEntry), tl_entry_cmp_asc);
		c->needsort = false;
	}
}

/* Is cursor a's next entry before cursor b's in scan order? */
static inline bool
tl_cursor_before(TlScanOpaque so, TlCursor *a, TlCursor *b)
{
	int			cmp = tl_entry_cmp(&a->buf[a->pos], &b->buf[b->pos]);

	return so->backward ? cmp > 0 : cmp < 0;
}

static void
tl_heap_sift_down(TlScanOpaque so, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			best = i;
		int			t;

		if (l < so->nheap &&
			tl_cursor_before(so, &so->cursors[so->heap[l]], &so->cursors[so->heap[best]]))
			best = l;
		if (r < so->nheap &&
			tl_cursor_before(so, &so->cursors[so->heap[r]], &so->cursors[so->heap[best]]))
			best = r;
		if (best == i)
			return;
		t = so->heap[i];
		so->heap[i] = so->heap[best];
		so->heap[best] = t;
		i = best;
	}
}

/* Start the merge in the given direction. */
static void
tl_start(IndexScanDesc scan, ScanDirection dir)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;
	MemoryContext old = MemoryContextSwitchTo(so->ctx);
	int			i;

	so->started = true;
	so->backward = ScanDirectionIsBackward(dir);
	tl_preprocess(scan);
	so->nheap = 0;
	if (!so->empty)
	{
		so->cursors = palloc0(sizeof(TlCursor) * so->nkeys);
		so->heap = palloc(sizeof(int) * so->nkeys);
		for (i = 0; i < so->nkeys; i++)
		{
			TlCursor   *c = &so->cursors[i];

			tl_cursor_init(scan->indexRelation, c, so->keys[i]);
			tl_cursor_fill(scan, c);
			if (c->pos < c->n)
				so->heap[so->nheap++] = i;
		}
		for (i = so->nheap / 2 - 1; i >= 0; i--)
			tl_heap_sift_down(so, i);
	}
	MemoryContextSwitchTo(old);
}

/*
 * ambeginscan
 */
IndexScanDesc
tl_beginscan(Relation r, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(r, nkeys, norderbys);
	TlScanOpaque so = palloc0(sizeof(TlScanOpaqueData));

	so->ctx = AllocSetContextCreate(CurrentMemoryContext, "timeline scan",
									ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

/*
 * amrescan: take the new keys; the work starts at the first fetch, which
 * tells the direction.
 */
void
tl_rescan(IndexScanDesc scan, ScanKey scankey, int nscankeys,
		  ScanKey orderbys, int norderbys)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;

	if (scankey && scan->numberOfKeys > 0)
		memmove(scan->keyData, scankey, scan->numberOfKeys * sizeof(ScanKeyData));
	MemoryContextReset(so->ctx);
	so->started = false;
	so->cursors = NULL;
	so->heap = NULL;
	so->nheap = 0;
	so->segbuf = NULL;
	so->segcap = 0;
}

/*
 * amgettuple: the next heap TID in time order, oldest first for a forward
 * scan and newest first for a backward one.
 */
bool
tl_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;
	TlCursor   *c;

	if (!so->started)
		tl_start(scan, dir);
	else if (ScanDirectionIsBackward(dir) != so->backward)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a timeline index scan cannot change direction")));

	if (so->nheap == 0)
		return false;

	c = &so->cursors[so->heap[0]];
	scan->xs_heaptid = c->buf[c->pos].tid;
	scan->xs_recheck = false;
	c->pos++;
	tl_cursor_fill(scan, c);
	if (c->pos >= c->n)
		so->heap[0] = so->heap[--so->nheap];
	if (so->nheap > 1)
		tl_heap_sift_down(so, 0);
	return true;
}

/*
 * amgetbitmap: every matching TID, key by key, with no ordering work.
 */
int64
tl_getbitmap(IndexScanDesc scan, TIDBitmap *tbm)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;
	MemoryContext old = MemoryContextSwitchTo(so->ctx);
	int64		ntids = 0;
	int			i;

	so->started = true;
	so->backward = false;
	tl_preprocess(scan);
	if (!so->empty)
	{
		for (i = 0; i < so->nkeys; i++)
		{
			TlCursor	c;
			int			j;

			memset(&c, 0, sizeof(c));
			tl_cursor_init(scan->indexRelation, &c, so->keys[i]);
			while (c.more)
			{
				ItemPointerData *tids;

				c.n = c.pos = 0;
				tl_cursor_read(scan, &c);
				if (c.n == 0)
					continue;
				tids = palloc(sizeof(ItemPointerData) * c.n);
				for (j = 0; j < c.n; j++)
					tids[j] = c.buf[j].tid;
				tbm_add_tuples(tbm, tids, c.n, false);
				ntids += c.n;
				pfree(tids);
			}
			if (c.buf)
				pfree(c.buf);
		}
	}
	MemoryContextSwitchTo(old);
	return ntids;
}

/*
 * amendscan
 */
void
tl_endscan(IndexScanDesc scan)
{
	TlScanOpaque so = (TlScanOpaque) scan->opaque;

	MemoryContextDelete(so->ctx);
	pfree(so);
}
