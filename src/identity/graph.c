/*-------------------------------------------------------------------------
 *
 * graph.c
 *		omni.resolve_all(): the bulk path of identity resolution.
 *
 * Raw pairs COPYed into omni.link_staging are normalized and become
 * identities and links; then every customer is recomputed from scratch by
 * an in-memory union-find (path halving, union by size) over all links,
 * taken in observed_at order, applying the current rules and blocklist to
 * each link as omni.link would have.  Only what changed is written back:
 * new customers, identities and links, identities whose customer changed,
 * links whose status changed, merges and their log.
 *
 * Customer ids stay stable: a component keeps the oldest (lowest) customer
 * id its identifiers already had.  When a rule change splits a customer,
 * the part holding its oldest identifier keeps the id and the other parts
 * get new customers.  Customers that end up inside another's component are
 * merged into it and logged in omni.merge_log with the link that joined
 * them, exactly like omni.link merges.
 *
 * The run locks the identity tables against writers (SHARE ROW EXCLUSIVE:
 * readers go on; the rules and the blocklist in SHARE mode), so it sees and
 * writes one consistent graph.  Links with status unmerged are kept as they
 * are and join nothing.
 *
 * Speed: existing identities and links are read by direct heap scans; new
 * customers, identities and links are written COPY-style (bulkinsert.c),
 * with ids from ranges reserved under the lock and new identities numbered
 * in key order so that index entries go in in order (on a first load into
 * empty tables, bulkinsert.c builds the indexes after the rows); updates and
 * deletes go through SQL with array parameters, in batches.  In memory, ids
 * map to array positions through dense arrays, each union-find root keeps
 * its counters in one record, and each identifier is checked against the
 * blocklist once, in memory order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/heapam.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "parser/parse_relation.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "identity/identity.h"

/* Rows fetched from a cursor at a time, and rows written per statement. */
#define WRITE_BATCH 50000

/* One identifier (a node of the graph). */
typedef struct GNode
{
	int64		id;				/* identity_id, 0 for a new identifier */
	int64		customer;		/* current customer, 0 for a new one */
	const char *key;			/* "kind:value"; NULL when not needed */
	int32		kind;			/* index in rules->kinds */
	int8		blocked;		/* 0 unknown, 1 no, 2 yes */
	bool		seen_changed;	/* first/last seen widened by staged rows */
} GNode;						/* 32 bytes: first/last seen are kept aside */

/*
 * One link, existing or staged: 32 bytes, since a run holds every link and
 * sorts them.  Text is rare (sources of staged links, reasons of refused
 * ones) and kept aside in a LinkText.
 */
typedef struct Link
{
	int64		id;				/* link_id; for a staged link its staging_id
								 * until a link_id is drawn for it */
	TimestampTz observed_at;
	int32		a;				/* node indexes */
	int32		b;
	int32		text;			/* its LinkText, or -1: no text */
	char		old_status;		/* 'a', 'r', 'u'; 0 for a staged link */
	char		new_status;
} Link;

typedef struct LinkText
{
	const char *old_reason;
	const char *new_reason;
	const char *source;
} LinkText;

/* The hash table of identifiers by "kind:value". */
typedef struct KeyEntry
{
	const char *key;
	uint32		hash;
	int32		node;
	char		status;
} KeyEntry;

#define SH_PREFIX keymap
#define SH_ELEMENT_TYPE KeyEntry
#define SH_KEY_TYPE const char *
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k), strlen(k))
#define SH_EQUAL(tb, x, y) (strcmp((x), (y)) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, e) (e)->hash
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * Dense maps from ids to array positions.  Ids drawn from a sequence are
 * nearly consecutive, so an array indexed by id - min is usually small and
 * answers with one memory access, where a binary search over a million
 * entries takes twenty scattered ones.  When the ids are too sparse for
 * that (more than four slots per entry), the map is not built and callers
 * fall back to a binary search.
 */
typedef struct DenseMap
{
	int64		min;
	int64		n;				/* slots; 0: no map */
	int32	   *pos;			/* -1: no entry */
} DenseMap;

/* The state of one run. */
typedef struct Resolver
{
	MemoryContext cxt;
	OmniRules  *rules;
	GNode	   *nodes;
	int32		nnodes;
	int32		nexisting;		/* nodes[0..nexisting) are sorted by id */
	int32		maxnodes;
	keymap_hash *keys;
	bool		need_keys;		/* staged rows: existing nodes need their keys */
	DenseMap	idmap;		/* existing nodes by identity id */
	TimestampTz *seen;			/* first and last seen of each node, kept
								 * only with staged rows: NULL otherwise */
	Link	   *links;
	int64		nlinks;
	int64		maxlinks;
	LinkText   *texts;
	int32		ntexts;
	int32		maxtexts;
	/* existing links read by a parallel worker, or NULL */
	struct LinkReader *reader;
	/* the union-find's arrays, reserved with the nodes */
	int32	   *uf_parent;
	char	   *uf_roots;
	Size		uf_stride;
	int32		uf_max;
	/* staged rows */
	int64	   *ok_rows;
	int64		nok;
	int64		maxok;
	int64	   *bad_rows;
	char	  **bad_reasons;
	int64		nbad;
	int64		maxbad;
	/* progress */
	instr_time	start;
	instr_time	last_notice;
	int			last_decile;
	int64		step;			/* rows between progress checks */
} Resolver;

/*
 * Large arrays of the run (nodes, links, the union-find) are read at random
 * and first written all at once.  With 4 kB pages that means one page fault
 * per 4 kB written and a TLB miss on nearly every random read; where the
 * kernel offers transparent huge pages on request (Linux, "madvise" mode,
 * Debian's default), ask for them on the 2 MB-aligned interior of each such
 * array.  Only a hint: without it, or when the kernel has no huge page at
 * hand, the memory is ordinary memory.
 */
/* A hint that memory at "p" will be read soon. */
#if defined(__GNUC__) || defined(__clang__)
#define prefetch_mem(p) __builtin_prefetch(p)
#else
#define prefetch_mem(p) ((void) 0)
#endif

#define HUGE_PAGE_SIZE ((Size) 2 * 1024 * 1024)

static void
advise_huge_pages(void *p, Size size)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	start = TYPEALIGN(HUGE_PAGE_SIZE, (uintptr_t) p);
	uintptr_t	end = TYPEALIGN_DOWN(HUGE_PAGE_SIZE, (uintptr_t) p + size);

	if (size >= 2 * HUGE_PAGE_SIZE && end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
}

static void *
alloc_large(MemoryContext cxt, Size size)
{
	void	   *p = MemoryContextAllocHuge(cxt, size);

	advise_huge_pages(p, size);
	return p;
}

static void *
realloc_large(void *p, Size size)
{
	p = repalloc_huge(p, size);
	advise_huge_pages(p, size);
	return p;
}

/* Results. */
typedef struct ResolveCounts
{
	int64		customers;
	int64		identities;
	int64		links;
	int64		rejected;
	int64		merges;
	int64		new_identities;
	int64		new_links;
	int64		changed_links;
	int64		moved_identities;
	int64		split_customers;
	int64		invalid_rows;
} ResolveCounts;

/*
 * Progress: a NOTICE when a phase starts, then at least every 10% of it or
 * every 5 seconds, whichever comes first.
 */
static void
progress_start(Resolver *r, const char *phase, int64 total, bool estimated)
{
	INSTR_TIME_SET_CURRENT(r->last_notice);
	r->last_decile = 0;
	/* small runs report their phases only */
	r->step = (total < 10000) ? PG_INT64_MAX : Max(1, Min(8192, total / 20));
	ereport(NOTICE,
			(errmsg("resolve_all: %s (%s%lld rows)", phase, estimated ? "about " : "",
					(long long) total)));
	if (message_level_is_interesting(DEBUG2))
	{
		instr_time	t = r->last_notice;

		INSTR_TIME_SUBTRACT(t, r->start);
		elog(DEBUG2, "resolve_all: %s starts at %.1f ms", phase, INSTR_TIME_GET_MILLISEC(t));
	}
}

static void
progress(Resolver *r, const char *phase, int64 done, int64 total)
{
	instr_time	now;
	int			decile;

	if (done % r->step != 0 || total <= 0)
		return;
	CHECK_FOR_INTERRUPTS();
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, r->last_notice);
	decile = (int) Min(10, done * 10 / total);
	if (decile > r->last_decile || INSTR_TIME_GET_DOUBLE(now) >= 5.0)
	{
		ereport(NOTICE,
				(errmsg("resolve_all: %s: %d%% (%lld of %lld)", phase,
						(int) Min(100, done * 100 / total), (long long) done, (long long) total)));
		INSTR_TIME_SET_CURRENT(r->last_notice);
		r->last_decile = decile;
	}
}

/*
 * The planner's estimate of a table's rows, for progress reports and first
 * allocations: counting would cost a scan of its own.
 */
static int64
estimated_rows(const char *relname)
{
	Relation	rel = table_open(omni_relid(relname), AccessShareLock);
	float4		reltuples = rel->rd_rel->reltuples;
	int32		relpages = rel->rd_rel->relpages;
	BlockNumber pages = RelationGetNumberOfBlocks(rel);

	table_close(rel, AccessShareLock);
	if (reltuples >= 0 && relpages > 0)
		return (int64) (reltuples / relpages * pages);
	return (int64) pages * 60;
}

/* Run a query that returns one int8. */
static int64
query_int8(const char *sql)
{
	bool		isnull;
	int			ret = SPI_execute(sql, true, 1);

	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "unexpected result of \"%s\"", sql);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Append a node, growing the array. */
static int32
add_node(Resolver *r, int64 id, int64 customer, int32 kind, const char *key,
		 TimestampTz first_seen, TimestampTz last_seen)
{
	GNode	   *n;

	if (r->nnodes == r->maxnodes)
	{
		r->maxnodes *= 2;
		r->nodes = realloc_large(r->nodes, sizeof(GNode) * r->maxnodes);
		if (r->seen)
			r->seen = realloc_large(r->seen, sizeof(TimestampTz) * 2 * r->maxnodes);
	}
	n = &r->nodes[r->nnodes];
	n->id = id;
	n->customer = customer;
	n->key = key;
	n->kind = kind;
	n->blocked = 0;
	n->seen_changed = false;
	if (r->seen)
	{
		r->seen[2 * r->nnodes] = first_seen;
		r->seen[2 * r->nnodes + 1] = last_seen;
	}
	return r->nnodes++;
}

/* The text of link l, made empty on first use. */
static LinkText *
link_text(Resolver *r, Link *l)
{
	if (l->text < 0)
	{
		if (r->ntexts == r->maxtexts)
		{
			if (r->maxtexts >= PG_INT32_MAX / 2)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("omni.resolve_all supports at most %d links with a source or reason",
								PG_INT32_MAX / 2)));
			r->maxtexts = Max(1024, r->maxtexts * 2);
			r->texts = r->texts ? realloc_large(r->texts, sizeof(LinkText) * r->maxtexts) :
				alloc_large(r->cxt, sizeof(LinkText) * r->maxtexts);
		}
		l->text = r->ntexts++;
		r->texts[l->text].old_reason = NULL;
		r->texts[l->text].new_reason = NULL;
		r->texts[l->text].source = NULL;
	}
	return &r->texts[l->text];
}

static inline const char *
link_old_reason(const Resolver *r, const Link *l)
{
	return l->text >= 0 ? r->texts[l->text].old_reason : NULL;
}

static inline const char *
link_new_reason(const Resolver *r, const Link *l)
{
	return l->text >= 0 ? r->texts[l->text].new_reason : NULL;
}

static inline const char *
link_source(const Resolver *r, const Link *l)
{
	return l->text >= 0 ? r->texts[l->text].source : NULL;
}

static inline void
set_new_reason(Resolver *r, Link *l, const char *reason)
{
	if (reason != NULL || l->text >= 0)
		link_text(r, l)->new_reason = reason;
}

static Link *
add_link(Resolver *r)
{
	if (r->nlinks == r->maxlinks)
	{
		r->maxlinks *= 2;
		r->links = realloc_large(r->links, sizeof(Link) * r->maxlinks);
	}
	return &r->links[r->nlinks++];
}

/* "kind:value" in the run's context, and its length. */
static char *
make_key(Resolver *r, const char *kind, const char *value, size_t *len)
{
	size_t		kl = strlen(kind),
				vl = strlen(value);
	char	   *k = MemoryContextAlloc(r->cxt, kl + vl + 2);

	memcpy(k, kind, kl);
	k[kl] = ':';
	memcpy(k + kl + 1, value, vl + 1);
	*len = kl + vl + 1;
	return k;
}

static int
node_pos_id_cmp(const void *x, const void *y, void *arg)
{
	const GNode *nodes = (const GNode *) arg;
	int64		a = nodes[*(const int32 *) x].id;
	int64		b = nodes[*(const int32 *) y].id;

	return (a > b) - (a < b);
}

/* An empty map for ids in [min, max], or none when they are too sparse. */
static void
dense_map_init(DenseMap *m, MemoryContext cxt, int64 min, int64 max, int64 entries)
{
	int64		k;

	m->n = 0;
	m->pos = NULL;
	if (entries == 0 || max < min || (max - min) / 4 > entries + 1024)
		return;
	m->min = min;
	m->n = max - min + 1;
	m->pos = alloc_large(cxt, sizeof(int32) * m->n);
	for (k = 0; k < m->n; k++)
		m->pos[k] = -1;
}

static inline int32
dense_map_get(const DenseMap *m, int64 id)
{
	if (id < m->min || id - m->min >= m->n)
		return -1;
	return m->pos[id - m->min];
}

/*
 * Put the nodes (and their first and last seen) in the order idx gives
 * (idx[k]: the node to go to position k), gathered into new arrays: the
 * reads are at random but independent of each other, so with the next ones
 * asked for ahead their cache misses overlap (a permutation in place
 * follows a chain of dependent misses, several times slower).
 */
#define GATHER_AHEAD 16

static void
gather_nodes(Resolver *r, const int32 *idx, int32 n)
{
	GNode	   *nodes = alloc_large(r->cxt, sizeof(GNode) * r->maxnodes);

	for (int32 k = 0; k < n; k++)
	{
		if (k + GATHER_AHEAD < n)
			prefetch_mem(&r->nodes[idx[k + GATHER_AHEAD]]);
		nodes[k] = r->nodes[idx[k]];
	}
	pfree(r->nodes);
	r->nodes = nodes;
	if (r->seen)
	{
		TimestampTz *seen = alloc_large(r->cxt, sizeof(TimestampTz) * 2 * r->maxnodes);

		for (int32 k = 0; k < n; k++)
		{
			if (k + GATHER_AHEAD < n)
				prefetch_mem(&r->seen[2 * idx[k + GATHER_AHEAD]]);
			seen[2 * k] = r->seen[2 * idx[k]];
			seen[2 * k + 1] = r->seen[2 * idx[k] + 1];
		}
		pfree(r->seen);
		r->seen = seen;
	}
}

/*
 * Existing nodes in identity id order, and the dense map from their ids to
 * their positions when the ids are dense enough for one.  A heap is read in
 * that order after a bulk load, which one pass tells; a heap whose rows
 * were updated is not.  Ids drawn from a sequence are dense: the map is
 * then filled by id and read in id order, which sorts the nodes in linear
 * time; otherwise they are sorted by comparison.
 */
static void
sort_nodes_by_id(Resolver *r)
{
	int32		n = r->nnodes;
	int32	   *idx;
	int32		k;
	int64		min,
				max;
	bool		sorted = true;
	DenseMap   *m = &r->idmap;

	if (n == 0)
		return;
	min = max = r->nodes[0].id;
	for (k = 1; k < n; k++)
	{
		int64		id = r->nodes[k].id;

		if (id < r->nodes[k - 1].id)
			sorted = false;
		min = Min(min, id);
		max = Max(max, id);
	}
	dense_map_init(m, r->cxt, min, max, n);
	if (sorted)
	{
		if (m->n > 0)
			for (k = 0; k < n; k++)
				m->pos[r->nodes[k].id - m->min] = k;
		return;
	}
	idx = alloc_large(r->cxt, sizeof(int32) * n);
	if (m->n > 0)
	{
		int32		j = 0;

		for (k = 0; k < n; k++)
			m->pos[r->nodes[k].id - m->min] = k;
		for (int64 slot = 0; slot < m->n; slot++)
		{
			if (m->pos[slot] < 0)
				continue;
			idx[j] = m->pos[slot];
			m->pos[slot] = j++;
		}
		if (j != n)
			elog(ERROR, "omni.identity holds an identity id more than once");
	}
	else
	{
		for (k = 0; k < n; k++)
			idx[k] = k;
		qsort_arg(idx, n, sizeof(int32), node_pos_id_cmp, r->nodes);
	}
	gather_nodes(r, idx, n);
	pfree(idx);
}

/* The node of an existing identity_id, or -1. */
static int32
node_of_id(Resolver *r, int64 id)
{
	int32		lo = 0,
				hi = r->nexisting - 1;

	if (r->idmap.n > 0)
		return dense_map_get(&r->idmap, id);
	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (r->nodes[mid].id == id)
			return mid;
		if (r->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * One staged row, normalized: what the bulk path keeps of it.  Made by
 * stage_row, in this process or in the worker; taken in by
 * take_staged_row.
 */
typedef struct StagedRow
{
	int64		staging_id;
	TimestampTz observed_at;
	int32		ka;				/* kind of the first identifier */
	int32		kb;				/* of the second one; -1: nothing to link */
	const char *va;				/* normalized values */
	const char *vb;
	const char *source;			/* NULL: none */
	const char *error;			/* NULL: the row resolves */
} StagedRow;

/* Attribute numbers of omni.link_staging. */
typedef struct StagingAtts
{
	AttrNumber	id,
				kind_a,
				value_a,
				kind_b,
				value_b,
				source,
				observed_at,
				region,
				last;
} StagingAtts;

/* A scan of omni.link_staging that normalizes each row it returns. */
typedef struct StagingScan
{
	Relation	rel;
	TupleTableSlot *slot;
	TableScanDesc scan;
	MemoryContext rowcxt;		/* the row returned last; reset for the next */
	OmniRules  *rules;
	StagingAtts att;
} StagingScan;

static void staging_scan_begin(StagingScan *ss, Oid relid, OmniRules *rules);
static bool staging_scan_next(StagingScan *ss, StagedRow *row);
static void staging_scan_end(StagingScan *ss);
static void take_staged_row(Resolver *r, const StagedRow *row);

/*
 * A parallel worker reads the tables this process would otherwise read
 * after its own, while this process reads omni.identity:
 *
 * - the existing links (ids, time, status, reason), on a large graph: the
 *   two table scans are most of a re-resolution's time, and they need not
 *   wait for each other;
 * - then the staged rows of a large bulk load, normalized: normalizing is
 *   most of the time a bulk load spends reading them, and needs nothing
 *   of this process but the identifier kinds, which are handed over.
 *
 * Everything comes through one message queue: the links, a message of just
 * their count, the staged rows, a message of just their count.  This
 * process takes the links that have arrived every few thousand identities
 * and the rest once the identities are read; it takes the staged rows in
 * load_staging, as they come, and gives them their identifiers as it would
 * have given rows it read itself (the worker reads the table with this
 * process's snapshot, and the result does not depend on the order of the
 * rows).  No worker (max_parallel_maintenance_workers = 0, none free,
 * small tables, or already in parallel mode): the tables are read here.
 */
#define READER_KEY_SHARED	UINT64CONST(0x4F4D4E4931000001)
#define READER_KEY_QUEUE	UINT64CONST(0x4F4D4E4931000002)
#define READER_QUEUE_SIZE	((Size) 4 * 1024 * 1024)
#define READER_MESSAGE_SIZE (64 * 1024)
#define READER_MIN_LINKS	100000
#define READER_MIN_STAGED	100000

/* What the worker is told; the kinds follow it (see reader_start). */
typedef struct ReaderShared
{
	Oid			link_relid;		/* InvalidOid: links not wanted */
	Oid			staging_relid;	/* InvalidOid: staged rows not wanted */
	int32		nkinds;
	Size		kinds_len;
	char		kinds[FLEXIBLE_ARRAY_MEMBER];	/* per kind: normalizer (int32),
												 * kind, region ("": none),
												 * then the list of kinds */
} ReaderShared;

typedef struct LinkReader
{
	ParallelContext *pcxt;
	shm_mq_handle *mqh;
	bool		links;			/* the worker reads the links */
	bool		staging;		/* the worker normalizes the staged rows */
	bool		links_ended;	/* their count arrived */
	bool		staging_ended;
	int64		sent;			/* links the worker said it sent */
	int64		staged_sent;	/* staged rows it said it sent */
	int64		staged_read;
	int64	   *ids;			/* identity ids of the links read: a, b */
	int64		nread;			/* links read: r->links[0 .. nread) */
	int64		maxids;
} LinkReader;

PGDLLEXPORT void omni_resolve_links_worker(dsm_segment *seg, shm_toc *toc);

/* Send what buf holds; false when the leader went away. */
static bool
worker_send(shm_mq_handle *mqh, StringInfo buf)
{
	bool		ok = (shm_mq_send(mqh, buf->len, buf->data, false, true) == SHM_MQ_SUCCESS);

	resetStringInfo(buf);
	return ok;
}

/* After a row was appended to buf: send the batch once it is large enough. */
static bool
worker_batch(shm_mq_handle *mqh, StringInfo buf)
{
	if (buf->len < READER_MESSAGE_SIZE)
		return true;
	CHECK_FOR_INTERRUPTS();
	return worker_send(mqh, buf);
}

/* The rows left in buf, then their end: a message of just their count. */
static bool
worker_end(shm_mq_handle *mqh, StringInfo buf, int64 count)
{
	if (buf->len > 0 && !worker_send(mqh, buf))
		return false;
	return shm_mq_send(mqh, sizeof(count), &count, false, true) == SHM_MQ_SUCCESS;
}

/* Append a string as its length (-1: NULL) and its bytes with their NUL. */
static void
append_string(StringInfo buf, const char *s)
{
	int32		len = s ? (int32) strlen(s) : -1;

	appendBinaryStringInfo(buf, (char *) &len, sizeof(len));
	if (s)
		appendBinaryStringInfo(buf, s, len + 1);
}

/* The worker's identifier kinds: what normalizing needs of the rules. */
static OmniRules *
worker_rules(ReaderShared *sh)
{
	OmniRules  *rules = palloc0(sizeof(OmniRules));
	const char *p = sh->kinds;

	rules->nkinds = sh->nkinds;
	rules->kinds = palloc0(sizeof(OmniKindRule) * Max(1, sh->nkinds));
	for (int i = 0; i < sh->nkinds; i++)
	{
		int32		normalizer;

		memcpy(&normalizer, p, sizeof(int32));
		p += sizeof(int32);
		rules->kinds[i].normalizer = (OmniNormalizer) normalizer;
		rules->kinds[i].kind = pstrdup(p);
		p += strlen(p) + 1;
		rules->kinds[i].region = *p ? pstrdup(p) : NULL;
		p += strlen(p) + 1;
	}
	rules->known_kinds = pstrdup(p);
	return rules;
}

/* The worker: the links, then the staged rows, as the leader asked. */
void
omni_resolve_links_worker(dsm_segment *seg, shm_toc *toc)
{
	ReaderShared *sh = shm_toc_lookup(toc, READER_KEY_SHARED, false);
	shm_mq	   *mq = shm_toc_lookup(toc, READER_KEY_QUEUE, false);
	shm_mq_handle *mqh;
	StringInfoData buf;
	bool		ok = true;

	shm_mq_set_sender(mq, MyProc);
	mqh = shm_mq_attach(mq, seg, NULL);
	initStringInfo(&buf);

	if (OidIsValid(sh->link_relid))
	{
		Relation	rel = table_open(sh->link_relid, AccessShareLock);
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
		AttrNumber	att[6];
		AttrNumber	last = 0;
		int64		sent = 0;
		static const char *const names[6] = {"link_id", "identity_a", "identity_b",
		"observed_at", "status", "reason"};

		for (int k = 0; k < 6; k++)
		{
			att[k] = attnameAttNum(rel, names[k], false);
			last = Max(last, att[k]);
		}
		while (ok && table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			int64		v[4];
			char		status;
			int32		rlen = -1;
			text	   *reason = NULL;

			slot_getsomeattrs(slot, last);
			for (int k = 0; k < 4; k++)
				v[k] = DatumGetInt64(slot->tts_values[att[k] - 1]);
			status = *VARDATA_ANY(DatumGetTextPP(slot->tts_values[att[4] - 1]));
			if (!slot->tts_isnull[att[5] - 1])
			{
				reason = DatumGetTextPP(slot->tts_values[att[5] - 1]);
				rlen = VARSIZE_ANY_EXHDR(reason);
			}
			appendBinaryStringInfo(&buf, (char *) v, sizeof(v));
			appendBinaryStringInfo(&buf, &status, 1);
			appendBinaryStringInfo(&buf, (char *) &rlen, sizeof(rlen));
			if (reason)
				appendBinaryStringInfo(&buf, VARDATA_ANY(reason), rlen);
			sent++;
			ok = worker_batch(mqh, &buf);
		}
		ok = ok && worker_end(mqh, &buf, sent);
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
	}

	if (ok && OidIsValid(sh->staging_relid))
	{
		StagingScan ss;
		StagedRow	row;
		int64		sent = 0;

		staging_scan_begin(&ss, sh->staging_relid, worker_rules(sh));
		while (ok && staging_scan_next(&ss, &row))
		{
			appendBinaryStringInfo(&buf, (char *) &row.staging_id, sizeof(int64));
			appendBinaryStringInfo(&buf, (char *) &row.observed_at, sizeof(int64));
			appendBinaryStringInfo(&buf, (char *) &row.ka, sizeof(int32));
			appendBinaryStringInfo(&buf, (char *) &row.kb, sizeof(int32));
			append_string(&buf, row.va);
			append_string(&buf, row.vb);
			append_string(&buf, row.source);
			append_string(&buf, row.error);
			sent++;
			ok = worker_batch(mqh, &buf);
		}
		if (ok)
			(void) worker_end(mqh, &buf, sent);
		staging_scan_end(&ss);
	}
	/* a failed send: the leader went away, and so does this worker */
	shm_mq_detach(mqh);
}

/* The identifier kinds as reader_start hands them to the worker. */
static void
serialize_kinds(OmniRules *rules, StringInfo out)
{
	for (int i = 0; i < rules->nkinds; i++)
	{
		int32		normalizer = (int32) rules->kinds[i].normalizer;
		const char *region = rules->kinds[i].region ? rules->kinds[i].region : "";

		appendBinaryStringInfo(out, (char *) &normalizer, sizeof(int32));
		appendBinaryStringInfo(out, rules->kinds[i].kind, strlen(rules->kinds[i].kind) + 1);
		appendBinaryStringInfo(out, region, strlen(region) + 1);
	}
	appendBinaryStringInfo(out, rules->known_kinds, strlen(rules->known_kinds) + 1);
}

/* Start the worker, when one is worth it and can be had. */
static void
reader_start(Resolver *r, int64 links, int64 staged)
{
	LinkReader *lr;
	ParallelContext *pcxt;
	ReaderShared *sh;
	shm_mq	   *mq;
	bool		want_links = links >= READER_MIN_LINKS;
	bool		want_staging = staged >= READER_MIN_STAGED;
	StringInfoData kinds;

	if ((!want_links && !want_staging) || max_parallel_maintenance_workers <= 0 ||
		IsInParallelMode())
		return;
	initStringInfo(&kinds);
	serialize_kinds(r->rules, &kinds);
	EnterParallelMode();
	pcxt = CreateParallelContext("omnichannel", "omni_resolve_links_worker", 1);
	shm_toc_estimate_chunk(&pcxt->estimator, offsetof(ReaderShared, kinds) + kinds.len);
	shm_toc_estimate_chunk(&pcxt->estimator, READER_QUEUE_SIZE);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no shared memory to be had */
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return;
	}
	sh = shm_toc_allocate(pcxt->toc, offsetof(ReaderShared, kinds) + kinds.len);
	sh->link_relid = want_links ? omni_relid("identity_link") : InvalidOid;
	sh->staging_relid = want_staging ? omni_relid("link_staging") : InvalidOid;
	sh->nkinds = r->rules->nkinds;
	sh->kinds_len = kinds.len;
	memcpy(sh->kinds, kinds.data, kinds.len);
	shm_toc_insert(pcxt->toc, READER_KEY_SHARED, sh);
	mq = shm_mq_create(shm_toc_allocate(pcxt->toc, READER_QUEUE_SIZE), READER_QUEUE_SIZE);
	shm_toc_insert(pcxt->toc, READER_KEY_QUEUE, mq);
	shm_mq_set_receiver(mq, MyProc);
	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return;
	}
	elog(DEBUG1, "resolve_all: a parallel worker %s",
		 want_links && want_staging ? "reads omni.identity_link and normalizes omni.link_staging"
		 : want_links ? "reads omni.identity_link" : "normalizes omni.link_staging");
	lr = MemoryContextAllocZero(r->cxt, sizeof(LinkReader));
	lr->pcxt = pcxt;
	lr->mqh = shm_mq_attach(mq, pcxt->seg, pcxt->worker[0].bgwhandle);
	lr->links = want_links;
	lr->staging = want_staging;
	if (want_links)
	{
		lr->maxids = 2 * (links + links / 8 + 1024);
		lr->ids = alloc_large(r->cxt, sizeof(int64) * lr->maxids);
	}
	r->reader = lr;
}

/* The next message of the worker; NULL when it stopped (its error is raised). */
static void *
reader_receive(LinkReader *lr, bool wait, Size *nbytes)
{
	void	   *data;
	shm_mq_result res = shm_mq_receive(lr->mqh, nbytes, &data, !wait);

	if (res == SHM_MQ_WOULD_BLOCK)
		return NULL;
	if (res == SHM_MQ_DETACHED)
	{
		/* the worker failed: its error, if it reported one, is raised here */
		WaitForParallelWorkersToFinish(lr->pcxt);
		elog(ERROR, "the parallel worker of resolve_all stopped before its end");
	}
	return data;
}

/* Take the links that have arrived; with "wait", all of them. */
static void
reader_take(Resolver *r, bool wait)
{
	LinkReader *lr = r->reader;

	while (lr != NULL && lr->links && !lr->links_ended)
	{
		Size		nbytes;
		const char *p = reader_receive(lr, wait, &nbytes);
		const char *end;

		if (p == NULL)
			return;
		if (nbytes == sizeof(int64))
		{
			memcpy(&lr->sent, p, sizeof(int64));
			lr->links_ended = true;
			break;
		}
		end = p + nbytes;
		while (p < end)
		{
			Link	   *l = add_link(r);
			int64		v[4];
			int32		rlen;

			Assert(l == &r->links[lr->nread]);
			memcpy(v, p, sizeof(v));
			p += sizeof(v);
			l->id = v[0];
			l->observed_at = (TimestampTz) v[3];
			l->old_status = *p++;
			l->text = -1;
			memcpy(&rlen, p, sizeof(rlen));
			p += sizeof(rlen);
			if (rlen >= 0)
			{
				char	   *reason = MemoryContextAlloc(r->cxt, rlen + 1);

				memcpy(reason, p, rlen);
				reason[rlen] = '\0';
				link_text(r, l)->old_reason = reason;
				p += rlen;
			}
			if (2 * lr->nread + 2 > lr->maxids)
			{
				lr->maxids *= 2;
				lr->ids = realloc_large(lr->ids, sizeof(int64) * lr->maxids);
			}
			lr->ids[2 * lr->nread] = v[1];
			lr->ids[2 * lr->nread + 1] = v[2];
			lr->nread++;
		}
	}
}

/* A string as append_string wrote it; advances *p. */
static const char *
take_string(const char **p)
{
	int32		len;
	const char *s;

	memcpy(&len, *p, sizeof(len));
	*p += sizeof(len);
	if (len < 0)
		return NULL;
	s = *p;
	*p += len + 1;
	return s;
}

/* Take in every staged row the worker normalized (all links came first). */
static void
reader_take_staged(Resolver *r, int64 total)
{
	LinkReader *lr = r->reader;

	Assert(lr->staging && (!lr->links || lr->links_ended));
	while (!lr->staging_ended)
	{
		Size		nbytes;
		const char *p = reader_receive(lr, true, &nbytes);
		const char *end;

		if (nbytes == sizeof(int64))
		{
			memcpy(&lr->staged_sent, p, sizeof(int64));
			lr->staging_ended = true;
			break;
		}
		end = p + nbytes;
		while (p < end)
		{
			StagedRow	row;

			memcpy(&row.staging_id, p, sizeof(int64));
			p += sizeof(int64);
			memcpy(&row.observed_at, p, sizeof(int64));
			p += sizeof(int64);
			memcpy(&row.ka, p, sizeof(int32));
			p += sizeof(int32);
			memcpy(&row.kb, p, sizeof(int32));
			p += sizeof(int32);
			row.va = take_string(&p);
			row.vb = take_string(&p);
			row.source = take_string(&p);
			row.error = take_string(&p);
			take_staged_row(r, &row);
			progress(r, "normalizing staged rows", ++lr->staged_read, total);
		}
	}
	if (lr->staged_sent != lr->staged_read)
		elog(ERROR, "the worker normalizing omni.link_staging sent %lld rows, %lld arrived",
			 (long long) lr->staged_sent, (long long) lr->staged_read);
}

/* Everything is in: let the worker go and leave parallel mode. */
static void
reader_finish(Resolver *r)
{
	LinkReader *lr = r->reader;

	reader_take(r, true);
	Assert(!lr->staging || lr->staging_ended);
	WaitForParallelWorkersToFinish(lr->pcxt);
	if (lr->links && lr->sent != lr->nread)
		elog(ERROR, "the worker reading omni.identity_link sent %lld links, %lld arrived",
			 (long long) lr->sent, (long long) lr->nread);
	DestroyParallelContext(lr->pcxt);
	lr->pcxt = NULL;
	ExitParallelMode();
}

/*
 * Most of a run's time on a large graph used to go to the kernel zeroing
 * the pages of its arrays as they were first written.  The arrays are
 * therefore reserved up front, at the sizes the planner's estimates give,
 * and a helper thread asks the kernel to fault them in (MADV_POPULATE_WRITE,
 * Linux 5.14 and later) while this process reads the tables.  The thread
 * calls nothing of PostgreSQL, allocates nothing and runs with every signal
 * blocked; populating never changes the contents of memory, so it can run
 * alongside writes to the same pages.  It is joined before the memory goes
 * (a reset callback of the run's context), also on error.  Where threads or
 * the call are unavailable, pages fault in as they are written, as before.
 */
#define PREFAULT_RANGES 5

typedef struct Prefault
{
	pthread_t	thread;
	bool		running;
	int			n;
	char	   *start[PREFAULT_RANGES];
	Size		len[PREFAULT_RANGES];
	MemoryContextCallback cb;
} Prefault;

static void *
prefault_main(void *arg)
{
#ifdef MADV_POPULATE_WRITE
	Prefault   *pf = (Prefault *) arg;

	for (int i = 0; i < pf->n; i++)
		if (madvise(pf->start[i], pf->len[i], MADV_POPULATE_WRITE) != 0)
			break;				/* an older kernel: leave it to faults */
#endif
	return NULL;
}

static void
prefault_join(void *arg)
{
	Prefault   *pf = (Prefault *) arg;

	if (pf->running)
	{
		(void) pthread_join(pf->thread, NULL);
		pf->running = false;
	}
}

/*
 * Add the whole pages of [p, p + size) to what the thread will fault in,
 * within a budget: the sizes come from estimates, which can be far above
 * what a run needs (a table whose rows were mostly deleted and not yet
 * vacuumed), and memory faulted in is memory taken.
 */
#define PREFAULT_BUDGET ((Size) 1024 * 1024 * 1024)

static void
prefault_add(Prefault *pf, void *p, Size size)
{
	Size		used = 0;
	uintptr_t	start;
	uintptr_t	end;

	for (int i = 0; i < pf->n; i++)
		used += pf->len[i];
	size = Min(size, PREFAULT_BUDGET - used);
	start = TYPEALIGN(4096, (uintptr_t) p);
	end = TYPEALIGN_DOWN(4096, (uintptr_t) p + size);

	if (pf->n < PREFAULT_RANGES && end > start)
	{
		pf->start[pf->n] = (char *) start;
		pf->len[pf->n++] = end - start;
	}
}

static void
prefault_start(Resolver *r, Prefault *pf)
{
#ifdef MADV_POPULATE_WRITE
	sigset_t	all,
				old;

	if (pf->n == 0)
		return;
	pf->cb.func = prefault_join;
	pf->cb.arg = pf;
	MemoryContextRegisterResetCallback(r->cxt, &pf->cb);
	/* the thread starts with every signal blocked: they are this process's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pf->running = (pthread_create(&pf->thread, NULL, prefault_main, pf) == 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
#endif
}

/*
 * Whether a CPU is left for the thread that faults the memory in: one
 * beyond this process and its worker.  Where there is none, the thread
 * only takes turns with them: on 2 CPUs with the worker, the median
 * re-resolution of 1.2 million identities took 0.141 to 0.144 s with it
 * and 0.136 to 0.142 s without (the faults then cost this process less
 * than the turns did), and varied more.  sysconf() failing (-1) leaves
 * the thread on.
 */
static bool
prefault_has_cpu(const Resolver *r)
{
	long		cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus <= 0 || cpus > (r->reader != NULL ? 2 : 1);
}

/*
 * Reserve the nodes, the links and the union-find at the estimated sizes
 * (they still grow if the estimates were short) and have them faulted in
 * by a thread of this process, on a CPU of its own.  Only worth it on
 * large graphs.
 */
#define PREFAULT_MIN_NODES 100000

static void
reserve_memory(Resolver *r, int64 staged)
{
	int64		nodes = estimated_rows("identity");
	int64		links = estimated_rows("identity_link");
	Prefault   *pf = MemoryContextAllocZero(r->cxt, sizeof(Prefault));

	r->maxnodes = (int32) Min(Max(1024, nodes + nodes / 4), PG_INT32_MAX / 2);
	r->nodes = alloc_large(r->cxt, sizeof(GNode) * r->maxnodes);
	/* first and last seen only change, and are only written, with staged rows */
	if (r->need_keys)
		r->seen = alloc_large(r->cxt, sizeof(TimestampTz) * 2 * r->maxnodes);
	r->maxlinks = Max(1024, links + links / 8 + staged);
	r->links = alloc_large(r->cxt, sizeof(Link) * r->maxlinks);
	r->uf_max = r->maxnodes;
	r->uf_parent = alloc_large(r->cxt, sizeof(int32) * r->uf_max);
	r->uf_roots = alloc_large(r->cxt, r->uf_stride * r->uf_max);
	reader_start(r, links, staged);
	if (nodes < PREFAULT_MIN_NODES || !prefault_has_cpu(r))
		return;
	/* in the order they are first written */
	prefault_add(pf, r->nodes, sizeof(GNode) * Min(r->maxnodes, nodes + nodes / 16));
	prefault_add(pf, r->links, sizeof(Link) * Min(r->maxlinks, links + links / 16 + staged));
	if (r->reader && r->reader->ids)
		prefault_add(pf, r->reader->ids, sizeof(int64) * r->reader->maxids);
	prefault_add(pf, r->uf_parent, sizeof(int32) * Min(r->uf_max, nodes + nodes / 16));
	prefault_add(pf, r->uf_roots, r->uf_stride * Min(r->uf_max, nodes + nodes / 16));
	prefault_start(r, pf);
}

/*
 * Load every identity: id, customer, kind and value.  The "kind:value" key
 * of a node is only looked up to match staged rows; without any, only the
 * blocklist needs the value, so it is checked here, from a buffer, and
 * only blocked identifiers keep a key (their reason is worked out from it
 * later).  That saves a copy of every value.
 */
static void
load_identities(Resolver *r)
{
	int64		total = estimated_rows("identity");
	int64		done = 0;
	int32		j;

	progress_start(r, "loading identities", total, true);
	{
		Relation	rel = table_open(omni_relid("identity"), AccessShareLock);
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
		AttrNumber	a_id = attnameAttNum(rel, "identity_id", false),
					a_cust = attnameAttNum(rel, "customer_id", false),
					a_kind = attnameAttNum(rel, "kind", false),
					a_value = attnameAttNum(rel, "value", false),
					a_first = attnameAttNum(rel, "first_seen", false),
					a_last = attnameAttNum(rel, "last_seen", false);
		AttrNumber	last_att = Max(Max(a_id, a_cust), Max(a_kind, a_value));
		int32		last_kidx = -1;
		int			last_klen = 0;
		MemoryContext old = MemoryContextSwitchTo(r->cxt);
		StringInfoData valbuf;

		initStringInfo(&valbuf);

		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			text	   *kind,
					   *value;
			int32		kidx = -1;
			int			klen,
						vlen;
			char	   *key;
			bool		passed;
			int32		n;

			slot_getsomeattrs(slot, last_att);
			kind = DatumGetTextPP(slot->tts_values[a_kind - 1]);
			value = DatumGetTextPP(slot->tts_values[a_value - 1]);
			klen = VARSIZE_ANY_EXHDR(kind);
			vlen = VARSIZE_ANY_EXHDR(value);
			/* runs of one kind are common: try the last one first */
			if (last_kidx >= 0 && last_klen == klen &&
				memcmp(r->rules->kinds[last_kidx].kind, VARDATA_ANY(kind), klen) == 0)
				kidx = last_kidx;
			else
			{
				for (j = 0; j < r->rules->nkinds; j++)
					if (strlen(r->rules->kinds[j].kind) == klen &&
						memcmp(r->rules->kinds[j].kind, VARDATA_ANY(kind), klen) == 0)
						kidx = j;
				if (kidx < 0)
					ereport(ERROR,
							(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
							 errmsg("identifier %lld is of kind \"%s\", which omni.identity_rule does not define",
									(long long) DatumGetInt64(slot->tts_values[a_id - 1]),
									text_to_cstring(kind)),
							 errdetail("The identity tables are inconsistent, as they can be only inside a statement that changes them, before its foreign keys are checked."),
							 errhint("Call omni.resolve_all() in a statement of its own.")));
				last_kidx = kidx;
				last_klen = klen;
			}
			key = NULL;
			if (!r->need_keys)
			{
				/* most values are cleared by their first byte, without a copy */
				passed = !omni_blocklist_may_block(r->rules, kidx, VARDATA_ANY(value), vlen);
				if (!passed)
				{
					resetStringInfo(&valbuf);
					appendBinaryStringInfo(&valbuf, VARDATA_ANY(value), vlen);
					passed = (omni_blocked_reason_kind(r->rules, kidx, valbuf.data, vlen) == NULL);
				}
			}
			else
				passed = false;
			if (!passed)
			{
				key = palloc(klen + vlen + 2);
				memcpy(key, VARDATA_ANY(kind), klen);
				key[klen] = ':';
				memcpy(key + klen + 1, VARDATA_ANY(value), vlen);
				key[klen + vlen + 1] = '\0';
			}
			if (r->seen)
				slot_getsomeattrs(slot, Max(a_first, a_last));
			n = add_node(r,
						 DatumGetInt64(slot->tts_values[a_id - 1]),
						 DatumGetInt64(slot->tts_values[a_cust - 1]),
						 kidx, key,
						 r->seen ? DatumGetTimestampTz(slot->tts_values[a_first - 1]) : 0,
						 r->seen ? DatumGetTimestampTz(slot->tts_values[a_last - 1]) : 0);
			if (passed)
				r->nodes[n].blocked = 1;	/* not blocked */
			if ((Pointer) kind != DatumGetPointer(slot->tts_values[a_kind - 1]))
				pfree(kind);
			if ((Pointer) value != DatumGetPointer(slot->tts_values[a_value - 1]))
				pfree(value);
			progress(r, "loading identities", ++done, total);
			if ((done & 4095) == 0)
				reader_take(r, false);
		}
		pfree(valbuf.data);
		MemoryContextSwitchTo(old);
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
	}

	sort_nodes_by_id(r);
	r->nexisting = r->nnodes;
}

/* The hash table of the identifiers by key, needed to resolve staged rows only. */
static void
build_keymap(Resolver *r, int64 staged)
{
	int32		i;

	r->keys = keymap_create(r->cxt, Max(1024, r->nnodes + 2 * staged), NULL);
	for (i = 0; i < r->nnodes; i++)
	{
		bool		found;
		KeyEntry   *e = keymap_insert(r->keys, r->nodes[i].key, &found);

		e->node = i;
	}
}

/* The node of a normalized identifier, created when new. */
static int32
node_for(Resolver *r, int32 kind, const char *value, TimestampTz seen)
{
	size_t		len;
	char	   *key = make_key(r, r->rules->kinds[kind].kind, value, &len);
	bool		found;
	KeyEntry   *e = keymap_insert_hash(r->keys, key,
									   hash_bytes((const unsigned char *) key, len), &found);
	GNode	   *n;

	if (!found)
	{
		e->node = add_node(r, 0, 0, kind, key, seen, seen);
		return e->node;
	}
	pfree(key);
	n = &r->nodes[e->node];
	/* staged rows: first and last seen are kept */
	if (seen < r->seen[2 * e->node])
	{
		r->seen[2 * e->node] = seen;
		n->seen_changed = true;
	}
	if (seen > r->seen[2 * e->node + 1])
	{
		r->seen[2 * e->node + 1] = seen;
		n->seen_changed = true;
	}
	return e->node;
}

/*
 * Normalize one staged identifier; NULL with *error set when it is not
 * valid.
 */
static char *
stage_value(OmniRules *rules, const char *kind, const char *value, const char *region,
			int32 *kidx, const char **error)
{
	OmniNormError err;
	char	   *out;

	*kidx = omni_rules_kind_index(rules, kind);
	if (*kidx < 0)
	{
		*error = psprintf("unknown identifier kind \"%s\" (known kinds: %s)",
						  omni_clip_value(kind, strlen(kind)), rules->known_kinds);
		return NULL;
	}
	out = omni_normalize_kind_soft(&rules->kinds[*kidx], value, strlen(value), region, &err);
	if (out == NULL)
		*error = err.detail ? psprintf("%s: %s", err.msg, err.detail) : err.msg;
	return out;
}

static void
staging_atts(Relation rel, StagingAtts *att)
{
	att->id = attnameAttNum(rel, "staging_id", false);
	att->kind_a = attnameAttNum(rel, "kind_a", false);
	att->value_a = attnameAttNum(rel, "value_a", false);
	att->kind_b = attnameAttNum(rel, "kind_b", false);
	att->value_b = attnameAttNum(rel, "value_b", false);
	att->source = attnameAttNum(rel, "source", false);
	att->observed_at = attnameAttNum(rel, "observed_at", false);
	att->region = attnameAttNum(rel, "region", false);
	att->last = Max(Max(Max(att->id, att->kind_a), Max(att->value_a, att->kind_b)),
					Max(Max(att->value_b, att->source), Max(att->observed_at, att->region)));
}

/* A text column of the slot as a C string, NULL when null. */
static char *
slot_cstring(TupleTableSlot *slot, AttrNumber att)
{
	return slot->tts_isnull[att - 1] ? NULL : TextDatumGetCString(slot->tts_values[att - 1]);
}

/*
 * Normalize one row of omni.link_staging into *row, in the current memory
 * context.  A row with an identifier that is not valid gets its error; a
 * pair of two spellings of one identifier has nothing to link.
 */
static void
stage_row(OmniRules *rules, TupleTableSlot *slot, const StagingAtts *att, StagedRow *row)
{
	const char *region;
	const char *kind_b;
	const char *value_b;

	slot_getsomeattrs(slot, att->last);
	memset(row, 0, sizeof(StagedRow));
	row->staging_id = DatumGetInt64(slot->tts_values[att->id - 1]);
	row->observed_at = DatumGetTimestampTz(slot->tts_values[att->observed_at - 1]);
	row->kb = -1;
	region = slot_cstring(slot, att->region);
	row->va = stage_value(rules, slot_cstring(slot, att->kind_a),
						  slot_cstring(slot, att->value_a), region, &row->ka, &row->error);
	kind_b = slot_cstring(slot, att->kind_b);
	value_b = slot_cstring(slot, att->value_b);
	if (row->va != NULL && kind_b != NULL && value_b != NULL)
	{
		int32		kb;
		const char *vb = stage_value(rules, kind_b, value_b, region, &kb, &row->error);

		/* two spellings of one identifier: nothing to link */
		if (vb != NULL && !(kb == row->ka && strcmp(row->va, vb) == 0))
		{
			row->kb = kb;
			row->vb = vb;
		}
	}
	if (TIMESTAMP_NOT_FINITE(row->observed_at) && row->error == NULL)
		row->error = "observed_at must be finite";
	row->source = slot_cstring(slot, att->source);
}

static void
staging_scan_begin(StagingScan *ss, Oid relid, OmniRules *rules)
{
	ss->rel = table_open(relid, AccessShareLock);
	ss->slot = table_slot_create(ss->rel, NULL);
	ss->scan = table_beginscan(ss->rel, GetActiveSnapshot(), 0, NULL);
	ss->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "resolve_all staged row",
									   ALLOCSET_DEFAULT_SIZES);
	ss->rules = rules;
	staging_atts(ss->rel, &ss->att);
}

/* The next staged row, normalized, valid until the next call; false at the end. */
static bool
staging_scan_next(StagingScan *ss, StagedRow *row)
{
	MemoryContext old;

	MemoryContextReset(ss->rowcxt);
	if (!table_scan_getnextslot(ss->scan, ForwardScanDirection, ss->slot))
		return false;
	old = MemoryContextSwitchTo(ss->rowcxt);
	stage_row(ss->rules, ss->slot, &ss->att, row);
	MemoryContextSwitchTo(old);
	return true;
}

static void
staging_scan_end(StagingScan *ss)
{
	MemoryContextDelete(ss->rowcxt);
	table_endscan(ss->scan);
	ExecDropSingleTupleTableSlot(ss->slot);
	table_close(ss->rel, AccessShareLock);
}

/*
 * Take in one normalized staged row: kept aside with its error, or its
 * identifiers found or created and its link added.
 */
static void
take_staged_row(Resolver *r, const StagedRow *row)
{
	MemoryContext old = MemoryContextSwitchTo(r->cxt);

	if (row->error != NULL)
	{
		if (r->nbad == r->maxbad)
		{
			r->maxbad *= 2;
			r->bad_rows = realloc_large(r->bad_rows, sizeof(int64) * r->maxbad);
			r->bad_reasons = realloc_large(r->bad_reasons, sizeof(char *) * r->maxbad);
		}
		r->bad_rows[r->nbad] = row->staging_id;
		r->bad_reasons[r->nbad++] = pstrdup(row->error);
	}
	else
	{
		int32		na = node_for(r, row->ka, row->va, row->observed_at);

		if (row->kb >= 0)
		{
			int32		nb = node_for(r, row->kb, row->vb, row->observed_at);
			Link	   *l = add_link(r);

			l->id = row->staging_id;
			l->a = na;
			l->b = nb;
			l->observed_at = row->observed_at;
			l->old_status = 0;
			l->text = -1;
			if (row->source)
				link_text(r, l)->source = pstrdup(row->source);
		}
		if (r->nok == r->maxok)
		{
			r->maxok *= 2;
			r->ok_rows = realloc_large(r->ok_rows, sizeof(int64) * r->maxok);
		}
		r->ok_rows[r->nok++] = row->staging_id;
	}
	MemoryContextSwitchTo(old);
}

/*
 * Read the staging table: normalize, find or create the identifiers, and
 * add a staged link per pair.  Rows that cannot be resolved are kept aside
 * with their error.  On a large load the worker normalizes the rows.
 */
static void
load_staging(Resolver *r, int64 total)
{
	bool		by_worker = (r->reader != NULL && r->reader->staging);

	progress_start(r, "normalizing staged rows", total, false);
	/* the worker sends the rows it sees, which may differ from the count's */
	if (total == 0 && !by_worker)
		return;
	build_keymap(r, total);
	r->maxok = Max(1024, total);
	r->ok_rows = alloc_large(r->cxt, sizeof(int64) * r->maxok);
	r->maxbad = 1024;
	r->bad_rows = MemoryContextAlloc(r->cxt, sizeof(int64) * r->maxbad);
	r->bad_reasons = MemoryContextAlloc(r->cxt, sizeof(char *) * r->maxbad);
	if (by_worker)
		reader_take_staged(r, total);
	else
	{
		StagingScan ss;
		StagedRow	row;
		int64		done = 0;

		staging_scan_begin(&ss, omni_relid("link_staging"), r->rules);
		while (staging_scan_next(&ss, &row))
		{
			take_staged_row(r, &row);
			progress(r, "normalizing staged rows", ++done, total);
		}
		staging_scan_end(&ss);
	}
}

/*
 * Map the identity ids of n links just loaded (ids[2i], ids[2i + 1]) to
 * nodes.  The ids are random, so each lookup misses the cache: asking for
 * all the map entries of a batch first lets those misses overlap.
 */
#define MAP_BATCH 64

static void
map_link_batch(Resolver *r, Link *links, const int64 *ids, int n)
{
	if (r->idmap.n > 0)
		for (int k = 0; k < 2 * n; k++)
			if (ids[k] >= r->idmap.min && ids[k] - r->idmap.min < r->idmap.n)
				prefetch_mem(&r->idmap.pos[ids[k] - r->idmap.min]);
	for (int k = 0; k < n; k++)
	{
		Link	   *l = &links[k];

		l->a = node_of_id(r, ids[2 * k]);
		l->b = node_of_id(r, ids[2 * k + 1]);
		if (l->a < 0 || l->b < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("link %lld names identifier %lld, which omni.identity does not hold",
							(long long) l->id, (long long) ids[2 * k + (l->a < 0 ? 0 : 1)]),
					 errdetail("The identity tables are inconsistent, as they can be only inside a statement that changes them, before its foreign keys are checked."),
					 errhint("Call omni.resolve_all() in a statement of its own.")));
	}
}

/* Load every existing link. */
static void
load_links(Resolver *r)
{
	int64		total = estimated_rows("identity_link");
	int64		done = 0;

	progress_start(r, "loading links", total, true);
	if (r->reader && r->reader->links)
	{
		/* read by the worker: give them their nodes */
		LinkReader *lr = r->reader;

		for (int64 k = 0; k < lr->nread; k += MAP_BATCH)
		{
			int			n = (int) Min(MAP_BATCH, lr->nread - k);

			map_link_batch(r, r->links + k, lr->ids + 2 * k, n);
			progress(r, "loading links", k + n, total);
		}
		return;
	}
	{
		Relation	rel = table_open(omni_relid("identity_link"), AccessShareLock);
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
		AttrNumber	a_id = attnameAttNum(rel, "link_id", false),
					a_a = attnameAttNum(rel, "identity_a", false),
					a_b = attnameAttNum(rel, "identity_b", false),
					a_at = attnameAttNum(rel, "observed_at", false),
					a_status = attnameAttNum(rel, "status", false),
					a_reason = attnameAttNum(rel, "reason", false);
		AttrNumber	last_att = Max(Max(Max(a_id, a_a), Max(a_b, a_at)), Max(a_status, a_reason));

		int64		pending_ids[2 * MAP_BATCH];
		int			npending = 0;

		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			Link	   *l = add_link(r);
			text	   *status;

			slot_getsomeattrs(slot, last_att);
			l->id = DatumGetInt64(slot->tts_values[a_id - 1]);
			l->observed_at = DatumGetTimestampTz(slot->tts_values[a_at - 1]);
			status = DatumGetTextPP(slot->tts_values[a_status - 1]);
			l->old_status = *VARDATA_ANY(status);
			l->text = -1;
			if (!slot->tts_isnull[a_reason - 1])
				link_text(r, l)->old_reason =
					MemoryContextStrdup(r->cxt, TextDatumGetCString(slot->tts_values[a_reason - 1]));
			/* the identifiers are mapped to nodes a batch at a time */
			pending_ids[2 * npending] = DatumGetInt64(slot->tts_values[a_a - 1]);
			pending_ids[2 * npending + 1] = DatumGetInt64(slot->tts_values[a_b - 1]);
			if (++npending == MAP_BATCH)
			{
				map_link_batch(r, r->links + r->nlinks - npending, pending_ids, npending);
				npending = 0;
			}
			progress(r, "loading links", ++done, total);
		}
		map_link_batch(r, r->links + r->nlinks - npending, pending_ids, npending);
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
	}
}

/* Links in the order they were observed; staged ones after existing ones. */
static inline int
link_cmp(const Link *a, const Link *b)
{
	if (a->observed_at != b->observed_at)
		return (a->observed_at > b->observed_at) - (a->observed_at < b->observed_at);
	if ((a->old_status == 0) != (b->old_status == 0))
		return (a->old_status == 0) ? 1 : -1;
	/* link ids, or staging ids of staged links */
	return (a->id > b->id) - (a->id < b->id);
}

/* sort_links(): the sort with link_cmp inlined (a million links: a third of qsort's time) */
#define ST_SORT sort_links
#define ST_ELEMENT_TYPE Link
#define ST_COMPARE(a, b) link_cmp(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* Union-find: the root of x, halving the path on the way. */
static inline int32
uf_find(int32 *parent, int32 x)
{
	while (parent[x] != x)
	{
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/*
 * What the union-find keeps per root, in one record so that a union reads
 * one cache line per side: size, the lowest existing customer of the
 * component (0: none) and its identifiers of each limited kind.
 */
typedef struct UfRoot
{
	int64		rep;
	int32		size;
	int32		kcount[FLEXIBLE_ARRAY_MEMBER];
} UfRoot;

#define UF_ROOT(x)	((UfRoot *) (roots + (Size) (x) * stride))

/*
 * How many links ahead the union-find loop asks for the parents of a link's
 * identifiers, and for the records of those parents.
 */
#define UF_PREFETCH_FAR		16
#define UF_PREFETCH_NEAR	8

/* Why node i is blocked, or NULL: worked out once per node. */
static const char *
node_blocked(Resolver *r, int32 i)
{
	GNode	   *n = &r->nodes[i];
	const char *kind;
	const char *value;
	const char *reason;

	if (n->blocked == 1)
		return NULL;			/* cleared when it was loaded */
	kind = r->rules->kinds[n->kind].kind;
	value = n->key + strlen(kind) + 1;
	reason = omni_blocked_reason_kind(r->rules, n->kind, value, strlen(value));
	n->blocked = reason ? 2 : 1;
	return reason ? MemoryContextStrdup(r->cxt, reason) : NULL;
}

/*
 * An identity names a customer that omni.customer does not hold.  Between the
 * rows a statement changes and the end of that statement, where its foreign
 * keys are checked, the tables can disagree: say so, as a foreign key would.
 */
static void customer_missing(int64 id) pg_attribute_noreturn();

static void
customer_missing(int64 id)
{
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("an identifier belongs to customer %lld, which omni.customer does not hold",
					(long long) id),
			 errdetail("The identity tables are inconsistent, as they can be only inside a statement that changes them, before its foreign keys are checked."),
			 errhint("Call omni.resolve_all() in a statement of its own.")));
}
/* Customer ids as a sorted array, for the merge bookkeeping. */
typedef struct CustomerTable
{
	int64	   *ids;
	int32		n;
	int32	   *absorbed_by;	/* link index whose union absorbed it, or -1 */
	bool	   *claimed;
	DenseMap	map;			/* positions in ids by id, when dense */
} CustomerTable;

static int
int64_cmp(const void *x, const void *y)
{
	int64		a = *(const int64 *) x;
	int64		b = *(const int64 *) y;

	return (a > b) - (a < b);
}

static int32
customer_index(CustomerTable *ct, int64 id)
{
	int64	   *p;

	if (ct->map.n > 0)
	{
		int32		pos = dense_map_get(&ct->map, id);

		if (pos < 0)
			customer_missing(id);
		return pos;
	}
	p = bsearch(&id, ct->ids, ct->n, sizeof(int64), int64_cmp);
	if (p == NULL)
		customer_missing(id);
	return (int32) (p - ct->ids);
}

/* Existing nodes by customer, then identity id. */
static int
node_customer_cmp(const void *x, const void *y, void *arg)
{
	const GNode *nodes = (const GNode *) arg;
	const GNode *a = &nodes[*(const int32 *) x];
	const GNode *b = &nodes[*(const int32 *) y];

	if (a->customer != b->customer)
		return (a->customer > b->customer) - (a->customer < b->customer);
	return (a->id > b->id) - (a->id < b->id);
}

/*
 * Build a one-dimensional array of int8, timestamptz or text.  int8 and
 * timestamptz are both 8-byte integers passed by value, so one builder
 * serves both.
 */
static Datum
int64_array(const int64 *v, int n, Oid elemtype)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, elemtype, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

#define int8_array(v, n)	int64_array((v), (n), INT8OID)
#define ts_array(v, n)		int64_array((v), (n), TIMESTAMPTZOID)

static Datum
text_array(const char **v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
	{
		nulls[i] = (v[i] == NULL);
		d[i] = v[i] ? CStringGetTextDatum(v[i]) : (Datum) 0;
	}
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Run a statement with array arguments.
 *
 * omni.resolve_all runs under the caller's search_path (so that triggers
 * a user put on the identity tables fire as they would for the user's own
 * statements), hence every statement of this file names its functions and
 * operators with their schema (pg_catalog.unnest, OPERATOR(pg_catalog.=)):
 * objects a user creates in another schema on the path are never picked.
 * Several arrays are read in step with ROWS FROM, as unnest(a, b) would.
 */
static void
exec_arrays(const char *sql, int nargs, Oid *types, Datum *values, int expect)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);

	if (ret != expect)
		elog(ERROR, "unexpected result %s of \"%s\"", SPI_result_code_string(ret), sql);
}

/*
 * Reserve n consecutive values of a sequence of one of the identity tables
 * and return the first.  Only inserts into that table draw from it, and the
 * run holds a lock that keeps every other insert out, so moving the
 * sequence past the range reserves it.
 */
static int64
reserve_ids(const char *seq, int64 n)
{
	char	   *sql;
	int			ret;
	bool		isnull;

	if (n == 0)
		return 0;
	sql = psprintf("SELECT pg_catalog.setval('%s', pg_catalog.nextval('%s') OPERATOR(pg_catalog.+) %lld, true)",
				   seq, seq, (long long) (n - 1));
	ret = SPI_execute(sql, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not reserve %lld values of %s", (long long) n, seq);
	/* the sequence now stands at the last value of the range */
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) - (n - 1);
}

/* Node indexes by the key of their node. */
/*
 * A new node to sort by key: the key's first 16 bytes as two big-endian
 * numbers (zeros after its end), which order most pairs of keys without
 * reading them again, and the node.
 */
typedef struct KeySortItem
{
	uint64		p0;
	uint64		p1;
	const char *key;
	int32		node;
} KeySortItem;

static inline int
key_item_cmp(const KeySortItem *a, const KeySortItem *b)
{
	if (a->p0 != b->p0)
		return a->p0 < b->p0 ? -1 : 1;
	if (a->p1 != b->p1)
		return a->p1 < b->p1 ? -1 : 1;
	/* equal first 16 bytes: both keys are at least that long, or equal */
	if ((a->p1 & 0xFF) == 0)
		return 0;
	return strcmp(a->key + 16, b->key + 16);
}

#define ST_SORT sort_key_items
#define ST_ELEMENT_TYPE KeySortItem
#define ST_COMPARE(a, b) key_item_cmp(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* The first 16 bytes of a string, as two big-endian numbers. */
static inline void
key_prefix(const char *key, uint64 *p0, uint64 *p1)
{
	unsigned char b[16];
	size_t		len = strnlen(key, 16);

	memset(b, 0, sizeof(b));
	memcpy(b, key, len);
	*p0 = 0;
	*p1 = 0;
	for (int i = 0; i < 8; i++)
	{
		*p0 = (*p0 << 8) | b[i];
		*p1 = (*p1 << 8) | b[8 + i];
	}
}

/*
 * Put the new identifiers in (kind, value) order, which is the order their
 * ids are given in: the index entries of a large load then go in in order,
 * at the right end of each index, instead of all over it.  Staged links
 * follow their nodes.
 */
static void
sort_new_nodes(Resolver *r)
{
	int32		nnew = r->nnodes - r->nexisting;
	int32	   *idx,
			   *newpos;
	GNode	   *sorted;
	int32		k;
	int64		i;

	if (nnew < 2)
		return;
	idx = alloc_large(r->cxt, sizeof(int32) * nnew);
	newpos = alloc_large(r->cxt, sizeof(int32) * nnew);
	sorted = alloc_large(r->cxt, sizeof(GNode) * nnew);
	{
		KeySortItem *items = alloc_large(r->cxt, sizeof(KeySortItem) * nnew);

		for (k = 0; k < nnew; k++)
		{
			items[k].node = r->nexisting + k;
			items[k].key = r->nodes[items[k].node].key;
			key_prefix(items[k].key, &items[k].p0, &items[k].p1);
		}
		sort_key_items(items, nnew);
		for (k = 0; k < nnew; k++)
			idx[k] = items[k].node;
		pfree(items);
	}
	for (k = 0; k < nnew; k++)
	{
		sorted[k] = r->nodes[idx[k]];
		newpos[idx[k] - r->nexisting] = r->nexisting + k;
	}
	memcpy(&r->nodes[r->nexisting], sorted, sizeof(GNode) * nnew);
	{
		/* new nodes come from staged rows only, which keep first/last seen */
		TimestampTz *seen = alloc_large(r->cxt, sizeof(TimestampTz) * 2 * nnew);

		for (k = 0; k < nnew; k++)
		{
			seen[2 * k] = r->seen[2 * idx[k]];
			seen[2 * k + 1] = r->seen[2 * idx[k] + 1];
		}
		memcpy(&r->seen[2 * r->nexisting], seen, sizeof(TimestampTz) * 2 * nnew);
		pfree(seen);
	}
	for (i = 0; i < r->nlinks; i++)
	{
		if (r->links[i].a >= r->nexisting)
			r->links[i].a = newpos[r->links[i].a - r->nexisting];
		if (r->links[i].b >= r->nexisting)
			r->links[i].b = newpos[r->links[i].b - r->nexisting];
	}
	pfree(idx);
	pfree(newpos);
	pfree(sorted);
}

/*
 * Without staged rows, first and last seen are not kept (nothing changes
 * them); a customer split off by a rule change is created as of the first
 * time its identifiers were seen, read here for those identifiers only.
 * created[x] is the creation time of new customer first_new + x.
 */
static void
first_seen_of_split(Resolver *r, int32 *parent, char *roots, Size stride,
					int64 first_new, int64 nnew, TimestampTz *created)
{
	int64	   *ids = alloc_large(r->cxt, sizeof(int64) * Max(1, r->nexisting));
	int32		n = 0;
	int32		j;
	Oid			types[1] = {INT8ARRAYOID};
	Datum		v[1];
	uint64		k;

	for (j = 0; j < r->nexisting; j++)
	{
		int64		x = UF_ROOT(uf_find(parent, j))->rep - first_new;

		if (x >= 0 && x < nnew)
			ids[n++] = r->nodes[j].id;
	}
	if (n == 0)
		return;
	v[0] = int8_array(ids, n);
	if (SPI_execute_with_args("SELECT i.identity_id, i.first_seen FROM omni.identity i "
							  "WHERE i.identity_id OPERATOR(pg_catalog.=) ANY ($1)",
							  1, types, v, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the first seen of split identities");
	for (k = 0; k < SPI_processed; k++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull));
		TimestampTz fs = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull));
		int32		node = node_of_id(r, id);
		int64		x = UF_ROOT(uf_find(parent, node))->rep - first_new;

		if (fs < created[x])
			created[x] = fs;
	}
	SPI_freetuptable(SPI_tuptable);
	pfree(DatumGetPointer(v[0]));
	pfree(ids);
}

/* A pair of identifiers split by omni.unmerge, and its first unmerged link. */
typedef struct UnmergedPair
{
	uint64		key;			/* pair_key() of the two nodes */
	int32		link;
} UnmergedPair;

/* The two nodes of a link, in either order, as one hash key. */
static inline uint64
pair_key(int32 a, int32 b)
{
	return ((uint64) (uint32) Min(a, b) << 32) | (uint32) Max(a, b);
}

/*
 * The run: load, resolve, write back.
 */
static void
resolve(Resolver *r, ResolveCounts *counts)
{
	HTAB	   *unmerged = NULL;	/* of UnmergedPair, when there are any */
	int32	   *parent;
	char	   *roots;			/* UfRoot of each node, stride apart */
	Size		stride;
	const char **blocked_reasons;	/* of the blocked identifiers */
	int32		nblocked = 0;
	int32		maxblocked;
	int			nlimited = 0;
	int32		kind_of_slot[256];
	int64		i;
	int32		j;
	CustomerTable ct;
	int32	   *by_customer = NULL; /* existing nodes by (customer, id) */
	int32	   *start = NULL;	/* per customer: its first position in by_customer */
	int32	   *first_node;		/* per customer: its oldest identifier */
	int64		new_customers = 0;
	int64	   *new_customer_ids;
	int64		nc;
	int64		staged;
	MemoryContext batch;

	/* Rules and limits. */
	if (r->rules->nkinds > 256)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("omni.resolve_all supports at most 256 identifier kinds")));
	for (j = 0; j < r->rules->nkinds; j++)
	{
		if (r->rules->kinds[j].max_per_customer > 0)
			kind_of_slot[nlimited++] = j;
	}

	staged = query_int8("SELECT pg_catalog.count(*) FROM omni.link_staging");
	r->need_keys = (staged > 0);
	r->uf_stride = MAXALIGN(offsetof(UfRoot, kcount) + sizeof(int32) * nlimited);
	reserve_memory(r, staged);
	load_identities(r);
	/* every link is in before the staged rows come */
	reader_take(r, true);
	load_staging(r, staged);
	if (r->reader)
		reader_finish(r);
	sort_new_nodes(r);
	load_links(r);

	progress_start(r, "sorting links", r->nlinks, false);
	sort_links(r->links, r->nlinks);

	/*
	 * Union-find with the rules, set up in one pass over the nodes, in node
	 * order (their keys were allocated in that order): every node its own
	 * root, the range of the existing customers, and which identifiers are
	 * blocked.  A blocked identifier joins nothing, so it stays a root for
	 * the whole loop: its parent is -1 - k there, k the number of its reason,
	 * which lets the loop tell blocked identifiers from the parent array it
	 * reads anyway, without touching the much larger node array at random.
	 */
	if (r->nnodes > r->uf_max)
	{
		r->uf_max = r->nnodes;
		r->uf_parent = realloc_large(r->uf_parent, sizeof(int32) * r->uf_max);
		r->uf_roots = realloc_large(r->uf_roots, r->uf_stride * r->uf_max);
	}
	parent = r->uf_parent;
	stride = r->uf_stride;
	roots = r->uf_roots;
	maxblocked = 64;
	blocked_reasons = MemoryContextAlloc(r->cxt, sizeof(char *) * maxblocked);
	{
		int64		cmin = PG_INT64_MAX,
					cmax = PG_INT64_MIN;

		for (j = 0; j < r->nnodes; j++)
		{
			int			s;
			UfRoot	   *u = UF_ROOT(j);
			GNode	   *n = &r->nodes[j];
			const char *why = node_blocked(r, j);

			if (why != NULL)
			{
				if (nblocked == maxblocked)
				{
					maxblocked *= 2;
					blocked_reasons = repalloc_huge(blocked_reasons, sizeof(char *) * maxblocked);
				}
				blocked_reasons[nblocked] = why;
				parent[j] = -1 - nblocked++;
			}
			else
				parent[j] = j;
			u->size = 1;
			u->rep = n->customer;
			for (s = 0; s < nlimited; s++)
				u->kcount[s] = (kind_of_slot[s] == n->kind) ? 1 : 0;
			if (j < r->nexisting)
			{
				cmin = Min(cmin, n->customer);
				cmax = Max(cmax, n->customer);
			}
			if ((j & 8191) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		/* the existing customers, for merge bookkeeping */
		ct.ids = alloc_large(r->cxt, sizeof(int64) * Max(1, r->nexisting));
		ct.n = 0;
		dense_map_init(&ct.map, r->cxt, cmin, cmax, r->nexisting);
	}
	if (ct.map.n > 0)
	{
		/* mark the customers present, then list them in id order */
		int64		k;

		for (j = 0; j < r->nexisting; j++)
			ct.map.pos[r->nodes[j].customer - ct.map.min] = 0;
		for (k = 0; k < ct.map.n; k++)
			if (ct.map.pos[k] == 0)
			{
				ct.map.pos[k] = ct.n;
				ct.ids[ct.n++] = ct.map.min + k;
			}
	}
	else
	{
		for (j = 0; j < r->nexisting; j++)
			ct.ids[j] = r->nodes[j].customer;
		qsort(ct.ids, r->nexisting, sizeof(int64), int64_cmp);
		for (j = 0; j < r->nexisting; j++)
			if (ct.n == 0 || ct.ids[ct.n - 1] != ct.ids[j])
				ct.ids[ct.n++] = ct.ids[j];
	}
	ct.absorbed_by = alloc_large(r->cxt, sizeof(int32) * Max(1, ct.n));
	ct.claimed = MemoryContextAllocZero(r->cxt, Max(1, ct.n));
	for (j = 0; j < ct.n; j++)
		ct.absorbed_by[j] = -1;

	/*
	 * The pairs of identifiers omni.unmerge split: another link of such a
	 * pair joins nothing either (as omni.link records it), only other
	 * evidence does.  Their first unmerged link gives the reason.
	 */
	for (i = 0; i < r->nlinks; i++)
	{
		Link	   *l = &r->links[i];
		uint64		key;
		UnmergedPair *p;
		bool		found;

		if (l->old_status != 'u')
			continue;
		if (unmerged == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(uint64);
			ctl.entrysize = sizeof(UnmergedPair);
			ctl.hcxt = r->cxt;
			unmerged = hash_create("unmerged pairs", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		key = pair_key(l->a, l->b);
		p = hash_search(unmerged, &key, HASH_ENTER, &found);
		if (!found)
			p->link = (int32) i;
	}

	progress_start(r, "resolving links", r->nlinks, false);
	for (i = 0; i < r->nlinks; i++)
	{
		Link	   *l = &r->links[i];
		int32		ra,
					rb;
		UfRoot	   *ua,
				   *ub;
		int			s;

		/*
		 * The links come in time order and name identifiers at random: ask
		 * for the parents of a link some way ahead, and for the records of
		 * those parents (mostly roots) of a link closer ahead, so that the
		 * memory reads of several links overlap.
		 */
		if (i + UF_PREFETCH_FAR < r->nlinks)
		{
			Link	   *f = &r->links[i + UF_PREFETCH_FAR];

			prefetch_mem(&parent[f->a]);
			prefetch_mem(&parent[f->b]);
		}
		if (i + UF_PREFETCH_NEAR < r->nlinks)
		{
			Link	   *f = &r->links[i + UF_PREFETCH_NEAR];
			int32		pa = parent[f->a],
						pb = parent[f->b];

			if (pa >= 0)
				prefetch_mem(UF_ROOT(pa));
			if (pb >= 0)
				prefetch_mem(UF_ROOT(pb));
		}

		progress(r, "resolving links", i + 1, r->nlinks);
		if (l->text >= 0)
			r->texts[l->text].new_reason = NULL;
		if (l->old_status == 'u')
		{
			l->new_status = 'u';	/* undone by omni.unmerge: joins nothing */
			set_new_reason(r, l, link_old_reason(r, l));
			continue;
		}
		if (parent[l->a] < 0 || parent[l->b] < 0)
		{
			l->new_status = 'r';
			set_new_reason(r, l, blocked_reasons[-1 - (parent[l->a] < 0 ? parent[l->a] : parent[l->b])]);
			continue;
		}
		ra = uf_find(parent, l->a);
		rb = uf_find(parent, l->b);
		l->new_status = 'a';
		if (ra == rb)
			continue;
		if (unmerged != NULL)
		{
			uint64		key = pair_key(l->a, l->b);
			UnmergedPair *p = hash_search(unmerged, &key, HASH_FIND, NULL);

			if (p != NULL)
			{
				l->new_status = 'u';
				set_new_reason(r, l, link_old_reason(r, &r->links[p->link]));
				continue;
			}
		}
		ua = UF_ROOT(ra);
		ub = UF_ROOT(rb);
		for (s = 0; s < nlimited; s++)
		{
			int32		sum = ua->kcount[s] + ub->kcount[s];
			OmniKindRule *kr = &r->rules->kinds[kind_of_slot[s]];

			if (sum > kr->max_per_customer)
			{
				l->new_status = 'r';
				set_new_reason(r, l, psprintf("max_per_customer exceeded: the merge would give one customer %d %s identifiers (max %d)",
											  sum, kr->kind, kr->max_per_customer));
				break;
			}
		}
		if (l->new_status == 'r')
			continue;
		/* a merge of two existing customers is recorded against its link */
		if (ua->rep != 0 && ub->rep != 0 && ua->rep != ub->rep)
			ct.absorbed_by[customer_index(&ct, Max(ua->rep, ub->rep))] = (int32) i;
		if (ua->size < ub->size)
		{
			UfRoot	   *t = ua;
			int32		tr = ra;

			ua = ub;
			ub = t;
			ra = rb;
			rb = tr;
		}
		parent[rb] = ra;
		ua->size += ub->size;
		if (ua->rep == 0 || (ub->rep != 0 && ub->rep < ua->rep))
			ua->rep = ub->rep;
		for (s = 0; s < nlimited; s++)
			ua->kcount[s] += ub->kcount[s];
	}

	/* blocked identifiers are roots of their own */
	for (j = 0; j < r->nnodes; j++)
		if (parent[j] < 0)
			parent[j] = j;

	/*
	 * Customer of each component.  Every existing customer has a home: the
	 * component holding its oldest identifier.  A component takes the lowest
	 * customer id whose home it is; a component that is no customer's home
	 * gets a new customer (new identifiers only, or the part of a customer a
	 * rule change split off).
	 */
	/* the oldest identifier of each customer: nodes are in identity id order */
	first_node = alloc_large(r->cxt, sizeof(int32) * Max(1, ct.n));
	for (j = 0; j < ct.n; j++)
		first_node[j] = -1;
	for (j = 0; j < r->nexisting; j++)
	{
		int32		ci = customer_index(&ct, r->nodes[j].customer);

		if (first_node[ci] == -1)
			first_node[ci] = j;
	}
	/*
	 * The final customer of each component is kept in its root's record,
	 * whose representative the loop above no longer needs.
	 */
#define final_customer_of(root) (UF_ROOT(root)->rep)
	/* passes in node order read the parents in order, their records at random */
#define prefetch_root_of(x) \
	do { \
		if ((x) < r->nnodes) \
			prefetch_mem(UF_ROOT(parent[(x)])); \
	} while (0)
	for (j = 0; j < r->nnodes; j++)
		if (parent[j] == j)
			final_customer_of(j) = -1;
	for (j = 0; j < ct.n; j++)
	{
		int32		root = uf_find(parent, first_node[j]);

		if (final_customer_of(root) == -1)
		{
			final_customer_of(root) = ct.ids[j];
			ct.claimed[j] = true;
			counts->customers++;
		}
	}
	for (j = 0; j < r->nnodes; j++)
	{
		int32		root;

		prefetch_root_of(j + UF_PREFETCH_FAR);
		root = uf_find(parent, j);
		if (final_customer_of(root) != -1)
			continue;
		final_customer_of(root) = -2 - new_customers;	/* placeholder */
		new_customers++;
		if (j < r->nexisting)
			counts->split_customers++;
		counts->customers++;
	}
	{
		int64		first = reserve_ids("omni.customer_customer_id_seq", new_customers);

		new_customer_ids = alloc_large(r->cxt, sizeof(int64) * Max(1, new_customers));
		for (i = 0; i < new_customers; i++)
			new_customer_ids[i] = first + i;
	}
	for (j = 0; j < r->nnodes; j++)
		if (parent[j] == j && final_customer_of(j) <= -2)
			final_customer_of(j) = new_customer_ids[-2 - final_customer_of(j)];

	counts->identities = r->nnodes;
	counts->links = r->nlinks;
	counts->new_identities = r->nnodes - r->nexisting;
	counts->invalid_rows = r->nbad;

	/* Write back, in batches. */
	batch = AllocSetContextCreate(CurrentMemoryContext, "resolve_all batch", ALLOCSET_DEFAULT_SIZES);

	/* new customers: created when first seen */
	if (new_customers > 0)
	{
		int64	   *ids = palloc_extended(sizeof(int64) * new_customers, MCXT_ALLOC_HUGE);
		TimestampTz *created = palloc_extended(sizeof(TimestampTz) * new_customers, MCXT_ALLOC_HUGE);
		int64		k = 0;
		Oid			types[2] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID};

		for (j = 0; j < new_customers; j++)
			created[j] = DT_NOEND;
		for (j = 0; j < r->nnodes; j++)
		{
			/* new customer ids are consecutive: see reserve_ids above */
			int64		x = final_customer_of(uf_find(parent, j)) - new_customer_ids[0];

			if (x >= 0 && x < new_customers && r->seen && r->seen[2 * j] < created[x])
				created[x] = r->seen[2 * j];
		}
		if (r->seen == NULL)
			first_seen_of_split(r, parent, roots, stride, new_customer_ids[0], new_customers, created);
		progress_start(r, "creating customers", new_customers, false);
		if (omni_bulk_usable("customer"))
		{
			static const char *const cols[] = {"customer_id", "created_at"};
			OmniBulkInsert *b = omni_bulk_begin("customer", 2, cols, new_customers);

			for (k = 0; k < new_customers; k++)
			{
				Datum		v[2] = {Int64GetDatum(new_customer_ids[k]), TimestampTzGetDatum(created[k])};
				bool		n[2] = {false, false};

				omni_bulk_row(b, v, n);
				progress(r, "creating customers", k + 1, new_customers);
			}
			omni_bulk_end(b);
		}
		else
		{
			for (k = 0; k < new_customers; k += WRITE_BATCH)
			{
				int			n = (int) Min(WRITE_BATCH, new_customers - k);
				Datum		v[2];
				MemoryContext old = MemoryContextSwitchTo(batch);

				for (j = 0; j < n; j++)
					ids[j] = new_customer_ids[k + j];
				v[0] = int8_array(ids, n);
				v[1] = ts_array(created + k, n);
				exec_arrays("INSERT INTO omni.customer (customer_id, created_at) "
							"SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2))", 2, types, v, SPI_OK_INSERT);
				MemoryContextSwitchTo(old);
				MemoryContextReset(batch);
			}
		}
	}

	/* new identities, with ids drawn now so that links can name them */
	nc = r->nnodes - r->nexisting;
	if (nc > 0)
	{
		int64		first_id = reserve_ids("omni.identity_identity_id_seq", nc);
		Oid			types[6] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
		TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};
		int64		k;

		progress_start(r, "writing new identities", nc, false);
		for (j = 0; j < nc; j++)
			r->nodes[r->nexisting + j].id = first_id + j;
		if (omni_bulk_usable("identity"))
		{
			static const char *const cols[] = {"identity_id", "kind", "value", "customer_id",
			"first_seen", "last_seen"};
			OmniBulkInsert *b = omni_bulk_begin("identity", 6, cols, nc);
			Datum	   *kinds = palloc(sizeof(Datum) * r->rules->nkinds);

			for (j = 0; j < r->rules->nkinds; j++)
				kinds[j] = CStringGetTextDatum(r->rules->kinds[j].kind);
			for (k = 0; k < nc; k++)
			{
				GNode	   *nd = &r->nodes[r->nexisting + k];
				const char *kind = r->rules->kinds[nd->kind].kind;
				Datum		v[6];
				bool		n[6] = {false, false, false, false, false, false};
				MemoryContext old = MemoryContextSwitchTo(batch);

				v[0] = Int64GetDatum(nd->id);
				v[1] = kinds[nd->kind];
				v[2] = CStringGetTextDatum(nd->key + strlen(kind) + 1);
				v[3] = Int64GetDatum(final_customer_of(uf_find(parent, r->nexisting + k)));
				v[4] = TimestampTzGetDatum(r->seen[2 * (r->nexisting + k)]);
				v[5] = TimestampTzGetDatum(r->seen[2 * (r->nexisting + k) + 1]);
				MemoryContextSwitchTo(old);
				omni_bulk_row(b, v, n);
				MemoryContextReset(batch);
				progress(r, "writing new identities", k + 1, nc);
			}
			omni_bulk_end(b);
		}
		else
		{
			for (k = 0; k < nc; k += WRITE_BATCH)
			{
				int			n = (int) Min(WRITE_BATCH, nc - k);
				MemoryContext old = MemoryContextSwitchTo(batch);
				int64	   *bid = palloc(sizeof(int64) * n);
				int64	   *bcust = palloc(sizeof(int64) * n);
				const char **bkind = palloc(sizeof(char *) * n);
				const char **bval = palloc(sizeof(char *) * n);
				TimestampTz *bfs = palloc(sizeof(TimestampTz) * n);
				TimestampTz *bls = palloc(sizeof(TimestampTz) * n);
				Datum		v[6];
				int			m;

				for (m = 0; m < n; m++)
				{
					GNode	   *nd = &r->nodes[r->nexisting + k + m];
					const char *kind = r->rules->kinds[nd->kind].kind;

					bid[m] = nd->id;
					bcust[m] = final_customer_of(uf_find(parent, r->nexisting + k + m));
					bkind[m] = kind;
					bval[m] = nd->key + strlen(kind) + 1;
					bfs[m] = r->seen[2 * (r->nexisting + k + m)];
					bls[m] = r->seen[2 * (r->nexisting + k + m) + 1];
				}
				v[0] = int8_array(bid, n);
				v[1] = text_array(bkind, n);
				v[2] = text_array(bval, n);
				v[3] = int8_array(bcust, n);
				v[4] = ts_array(bfs, n);
				v[5] = ts_array(bls, n);
				exec_arrays("INSERT INTO omni.identity (identity_id, kind, value, customer_id, first_seen, last_seen) "
							"SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6))", 6, types, v, SPI_OK_INSERT);
				MemoryContextSwitchTo(old);
				MemoryContextReset(batch);
				progress(r, "writing new identities", k + n, nc);
			}
		}
	}

	/* existing identities whose customer or first/last seen changed */
	{
		Oid			types[4] = {INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};
		int64	   *bid = MemoryContextAlloc(r->cxt, sizeof(int64) * WRITE_BATCH);
		int64	   *bcust = MemoryContextAlloc(r->cxt, sizeof(int64) * WRITE_BATCH);
		TimestampTz *bfs = MemoryContextAlloc(r->cxt, sizeof(TimestampTz) * WRITE_BATCH);
		TimestampTz *bls = MemoryContextAlloc(r->cxt, sizeof(TimestampTz) * WRITE_BATCH);
		int64	   *mid = MemoryContextAlloc(r->cxt, sizeof(int64) * WRITE_BATCH);
		int64	   *mcust = MemoryContextAlloc(r->cxt, sizeof(int64) * WRITE_BATCH);
		int			n = 0;
		int			nm = 0;
		SPIPlanPtr	repoint = NULL;

		for (j = 0; j <= r->nexisting; j++)
		{
			if (j < r->nexisting)
			{
				GNode	   *nd = &r->nodes[j];
				int64		c;

				prefetch_root_of(j + UF_PREFETCH_FAR);
				c = final_customer_of(uf_find(parent, j));

				if (c == nd->customer && !nd->seen_changed)
					continue;
				if (c != nd->customer)
				{
					counts->moved_identities++;
					mid[nm] = nd->id;
					mcust[nm] = c;
					nm++;
				}
				bid[n] = nd->id;
				bcust[n] = c;
				/* without staged rows, these leave first/last seen as they are */
				bfs[n] = r->seen ? r->seen[2 * j] : DT_NOEND;
				bls[n] = r->seen ? r->seen[2 * j + 1] : DT_NOBEGIN;
				n++;
			}
			if (n > 0 && (n == WRITE_BATCH || j == r->nexisting))
			{
				Datum		v[4];
				MemoryContext old = MemoryContextSwitchTo(batch);

				v[0] = int8_array(bid, n);
				v[1] = int8_array(bcust, n);
				v[2] = ts_array(bfs, n);
				v[3] = ts_array(bls, n);
				exec_arrays("UPDATE omni.identity i SET customer_id = u.c, "
							"first_seen = LEAST(i.first_seen, u.fs), last_seen = GREATEST(i.last_seen, u.ls) "
							"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) u(id, c, fs, ls) WHERE i.identity_id OPERATOR(pg_catalog.=) u.id",
							4, types, v, SPI_OK_UPDATE);
				/* the touchpoints of the identities that moved follow them */
				if (nm > 0)
				{
					Datum		mv[2];

					if (repoint == NULL)
					{
						/*
						 * Partitioned, the rows are deleted and inserted
						 * again, each into the partition of its new key.
						 */
						if (omni_touchpoint_partitioned())
							repoint = SPI_prepare("WITH moved AS (DELETE FROM omni.touchpoint t "
												  "USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) u(id, c) "
												  "WHERE t.identity_id OPERATOR(pg_catalog.=) u.id "
												  "AND t.customer_id OPERATOR(pg_catalog.<>) u.c "
												  "RETURNING t.touchpoint_id, t.identity_id, u.c, t.ts, t.channel, t.event, "
												  "t.campaign, t.topic, t.properties) "
												  "INSERT INTO omni.touchpoint (touchpoint_id, identity_id, customer_id, ts, "
												  "channel, event, campaign, topic, properties) SELECT * FROM moved",
												  2, types);
						else
							repoint = SPI_prepare("UPDATE omni.touchpoint t SET customer_id = u.c "
												  "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) u(id, c) "
												  "WHERE t.identity_id OPERATOR(pg_catalog.=) u.id "
												  "AND t.customer_id OPERATOR(pg_catalog.<>) u.c",
												  2, types);
						if (repoint == NULL)
							elog(ERROR, "could not prepare the touchpoint update: %s",
								 SPI_result_code_string(SPI_result));
					}
					mv[0] = int8_array(mid, nm);
					mv[1] = int8_array(mcust, nm);
					omni_touchpoint_repoint(repoint, mv);
					nm = 0;
				}
				MemoryContextSwitchTo(old);
				MemoryContextReset(batch);
				n = 0;
			}
		}
	}

	/* new links, ids drawn now for the merge log; changed existing links */
	{
		int64		nnew = 0;
		int64		first_link;
		bool		direct_links = false;
		int64		k = 0;

		for (i = 0; i < r->nlinks; i++)
		{
			if (r->links[i].old_status == 0)
				nnew++;
			if (r->links[i].new_status == 'r')
				counts->rejected++;
		}
		counts->new_links = nnew;
		first_link = reserve_ids("omni.identity_link_link_id_seq", nnew);
		for (i = 0; i < r->nlinks && k < nnew; i++)
			if (r->links[i].old_status == 0)
				r->links[i].id = first_link + k++;
		progress_start(r, "writing links", r->nlinks, false);
		if (nnew > 0 && omni_bulk_usable("identity_link"))
		{
			static const char *const cols[] = {"link_id", "identity_a", "identity_b", "source",
			"observed_at", "status", "reason"};
			OmniBulkInsert *b = omni_bulk_begin("identity_link", 7, cols, nnew);
			Datum		status[3] = {CStringGetTextDatum("accepted"), CStringGetTextDatum("rejected"),
			CStringGetTextDatum("unmerged")};

			for (i = 0; i < r->nlinks; i++)
			{
				Link	   *l = &r->links[i];
				Datum		v[7];
				const char *source = link_source(r, l);
				const char *reason = link_new_reason(r, l);
				bool		n[7] = {false, false, false, source == NULL, false, false, reason == NULL};
				MemoryContext old;

				if (l->old_status != 0)
					continue;
				old = MemoryContextSwitchTo(batch);
				v[0] = Int64GetDatum(l->id);
				v[1] = Int64GetDatum(r->nodes[l->a].id);
				v[2] = Int64GetDatum(r->nodes[l->b].id);
				v[3] = source ? CStringGetTextDatum(source) : (Datum) 0;
				v[4] = TimestampTzGetDatum(l->observed_at);
				v[5] = status[l->new_status == 'a' ? 0 : l->new_status == 'r' ? 1 : 2];
				v[6] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
				MemoryContextSwitchTo(old);
				omni_bulk_row(b, v, n);
				MemoryContextReset(batch);
				progress(r, "writing links", i + 1, r->nlinks);
			}
			omni_bulk_end(b);
			direct_links = true;
		}
		for (k = (direct_links || nnew == 0) ? 1 : 0; k < 2; k++)
		{
			/* k = 0: new links; k = 1: existing links whose status changed */
			int64	   *bid = alloc_large(r->cxt, sizeof(int64) * WRITE_BATCH);
			int64	   *ba = alloc_large(r->cxt, sizeof(int64) * WRITE_BATCH);
			int64	   *bb = alloc_large(r->cxt, sizeof(int64) * WRITE_BATCH);
			const char **bsrc = alloc_large(r->cxt, sizeof(char *) * WRITE_BATCH);
			TimestampTz *bat = alloc_large(r->cxt, sizeof(TimestampTz) * WRITE_BATCH);
			const char **bstatus = alloc_large(r->cxt, sizeof(char *) * WRITE_BATCH);
			const char **breason = alloc_large(r->cxt, sizeof(char *) * WRITE_BATCH);
			int			n = 0;

			for (i = 0; i <= r->nlinks; i++)
			{
				if (i < r->nlinks)
				{
					Link	   *l = &r->links[i];
					bool		is_new = (l->old_status == 0);
					const char *old_reason = link_old_reason(r, l);
					const char *new_reason = link_new_reason(r, l);

					if (k == 0 && !is_new)
						continue;
					if (k == 1)
					{
						if (is_new)
							continue;
						if (l->new_status == l->old_status &&
							((new_reason == NULL && old_reason == NULL) ||
							 (new_reason && old_reason && strcmp(new_reason, old_reason) == 0)))
							continue;
						counts->changed_links++;
					}
					bid[n] = l->id;
					ba[n] = r->nodes[l->a].id;
					bb[n] = r->nodes[l->b].id;
					bsrc[n] = link_source(r, l);
					bat[n] = l->observed_at;
					bstatus[n] = l->new_status == 'a' ? "accepted" : l->new_status == 'r' ? "rejected" : "unmerged";
					breason[n] = new_reason;
					n++;
					progress(r, "writing links", i + 1, r->nlinks);
				}
				if (n > 0 && (n == WRITE_BATCH || i == r->nlinks))
				{
					MemoryContext old = MemoryContextSwitchTo(batch);

					if (k == 0)
					{
						Oid			types[7] = {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
						TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
						Datum		v[7];

						v[0] = int8_array(bid, n);
						v[1] = int8_array(ba, n);
						v[2] = int8_array(bb, n);
						v[3] = text_array(bsrc, n);
						v[4] = ts_array(bat, n);
						v[5] = text_array(bstatus, n);
						v[6] = text_array(breason, n);
						exec_arrays("INSERT INTO omni.identity_link "
									"(link_id, identity_a, identity_b, source, observed_at, status, reason) "
									"SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7))",
									7, types, v, SPI_OK_INSERT);
					}
					else
					{
						Oid			types[3] = {INT8ARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
						Datum		v[3];

						v[0] = int8_array(bid, n);
						v[1] = text_array(bstatus, n);
						v[2] = text_array(breason, n);
						exec_arrays("UPDATE omni.identity_link l SET status = u.s, reason = u.r "
									"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) u(id, s, r) WHERE l.link_id OPERATOR(pg_catalog.=) u.id",
									3, types, v, SPI_OK_UPDATE);
					}
					MemoryContextSwitchTo(old);
					MemoryContextReset(batch);
					n = 0;
				}
			}
		}
	}

	/*
	 * Merges: every existing customer that is not the customer of a
	 * component any more was absorbed by its home component.
	 */
	{
		Oid			mtypes[4] = {INT8OID, INT8OID, INT8OID, INT8ARRAYOID};
		SPIPlanPtr	plan;
		int64	   *moved = alloc_large(r->cxt, sizeof(int64) * Max(1, r->nexisting));

		plan = SPI_prepare("WITH m AS (INSERT INTO omni.merge_log (survivor, absorbed, link_id, identities, carried) "
						   "SELECT $1, $2, $3, $4, " OMNI_CARRIED_SQL("s", "x") " "
						   "FROM omni.customer s, omni.customer x "
						   "WHERE s.customer_id OPERATOR(pg_catalog.=) $1 AND x.customer_id OPERATOR(pg_catalog.=) $2 "
						   "RETURNING survivor, absorbed), "
						   "a AS (UPDATE omni.customer s SET attributes = x.attributes OPERATOR(pg_catalog.||) s.attributes, "
						   "time_zone = COALESCE(s.time_zone, x.time_zone) FROM omni.customer x "
						   "WHERE s.customer_id OPERATOR(pg_catalog.=) $1 AND x.customer_id OPERATOR(pg_catalog.=) $2) "
						   "UPDATE omni.customer c SET merged_into = $1, "
						   "merged_at = CASE WHEN c.customer_id OPERATOR(pg_catalog.=) $2 THEN pg_catalog.now() ELSE c.merged_at END "
						   "WHERE c.customer_id OPERATOR(pg_catalog.=) $2 OR c.merged_into OPERATOR(pg_catalog.=) $2",
						   4, mtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare the merge statement: %s", SPI_result_code_string(SPI_result));
		progress_start(r, "recording merges", ct.n, false);
		/* the identifiers of each customer, only when some customer was absorbed */
		for (j = 0; j < ct.n && ct.claimed[j]; j++)
			;
		if (j < ct.n)
		{
			by_customer = alloc_large(r->cxt, sizeof(int32) * Max(1, r->nexisting));
			start = alloc_large(r->cxt, sizeof(int32) * Max(1, ct.n));
			for (j = 0; j < r->nexisting; j++)
				by_customer[j] = j;
			qsort_arg(by_customer, r->nexisting, sizeof(int32), node_customer_cmp, r->nodes);
			for (j = 0; j < r->nexisting; j++)
				if (j == 0 || r->nodes[by_customer[j - 1]].customer != r->nodes[by_customer[j]].customer)
					start[customer_index(&ct, r->nodes[by_customer[j]].customer)] = j;
		}
		for (j = 0; j < ct.n; j++)
		{
			int64		survivor;
			int64		absorbed = ct.ids[j];
			int64		link_id = 0;
			int32		nmoved = 0;
			int32		m;
			Datum		v[4];
			char		nulls[4] = {' ', ' ', ' ', ' '};

			progress(r, "recording merges", j + 1, ct.n);
			if (ct.claimed[j])
				continue;
			survivor = final_customer_of(uf_find(parent, first_node[j]));
			if (ct.absorbed_by[j] >= 0)
			{
				Link	   *l = &r->links[ct.absorbed_by[j]];

				link_id = l->id;
			}
			else
				nulls[2] = 'n';
			for (m = start[j]; m < r->nexisting && r->nodes[by_customer[m]].customer == absorbed; m++)
				if (final_customer_of(uf_find(parent, by_customer[m])) == survivor)
					moved[nmoved++] = r->nodes[by_customer[m]].id;
			v[0] = Int64GetDatum(survivor);
			v[1] = Int64GetDatum(absorbed);
			v[2] = Int64GetDatum(link_id);
			v[3] = int8_array(moved, nmoved);
			if (SPI_execute_plan(plan, v, nulls, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not record the merge of customer %lld", (long long) absorbed);
			pfree(DatumGetPointer(v[3]));
			counts->merges++;
		}
		SPI_freeplan(plan);
	}

	/* The staging table: resolved rows go, refused rows stay with their error. */
	if (r->nok > 0 && r->nbad == 0)
	{
		/* every row read was resolved, and the lock kept others from adding any */
		if (SPI_execute("TRUNCATE omni.link_staging", false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not empty omni.link_staging");
	}
	else if (r->nok > 0)
	{
		Oid			types[1] = {INT8ARRAYOID};
		int64		k;

		for (k = 0; k < r->nok; k += WRITE_BATCH)
		{
			int			n = (int) Min(WRITE_BATCH, r->nok - k);
			Datum		v[1];
			MemoryContext old = MemoryContextSwitchTo(batch);

			v[0] = int8_array(r->ok_rows + k, n);
			exec_arrays("DELETE FROM omni.link_staging s USING pg_catalog.unnest($1) u(id) WHERE s.staging_id OPERATOR(pg_catalog.=) u.id",
						1, types, v, SPI_OK_DELETE);
			MemoryContextSwitchTo(old);
			MemoryContextReset(batch);
		}
	}
	if (r->nbad > 0)
	{
		Oid			types[2] = {INT8ARRAYOID, TEXTARRAYOID};
		int64		k;

		for (k = 0; k < r->nbad; k += WRITE_BATCH)
		{
			int			n = (int) Min(WRITE_BATCH, r->nbad - k);
			Datum		v[2];
			MemoryContext old = MemoryContextSwitchTo(batch);

			v[0] = int8_array(r->bad_rows + k, n);
			v[1] = text_array((const char **) r->bad_reasons + k, n);
			exec_arrays("UPDATE omni.link_staging s SET error = u.e "
						"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) u(id, e) WHERE s.staging_id OPERATOR(pg_catalog.=) u.id",
						2, types, v, SPI_OK_UPDATE);
			MemoryContextSwitchTo(old);
			MemoryContextReset(batch);
		}
	}
	MemoryContextDelete(batch);
}

/*
 * After a rule change split customers: every absorbed customer points at
 * the live customer now holding most of the identifiers its merge moved
 * (a tie keeps its pointer), so that omni.identities, omni.forget and its
 * messages and consents follow its own identifiers to the part they went
 * to, as omni.unmerge does.  Only runs when something was split.
 */
static void
repoint_absorbed(void)
{
	if (SPI_execute("WITH x AS ("
					"  SELECT c.customer_id AS c, c.merged_into AS cur,"
					"         (SELECT m.identities FROM omni.merge_log m"
					"           WHERE m.absorbed OPERATOR(pg_catalog.=) c.customer_id AND m.unmerged_at IS NULL"
					"           ORDER BY m.merge_id DESC LIMIT 1) AS moved"
					"    FROM omni.customer c WHERE c.merged_into IS NOT NULL),"
					"votes AS ("
					"  SELECT x.c, x.cur, i.customer_id AS live, pg_catalog.count(*) AS n"
					"    FROM x CROSS JOIN LATERAL pg_catalog.unnest(x.moved) AS mv(id)"
					"    JOIN omni.identity i ON i.identity_id OPERATOR(pg_catalog.=) mv.id"
					"   GROUP BY x.c, x.cur, i.customer_id),"
					"best AS ("
					"  SELECT DISTINCT ON (v.c) v.c, v.cur, v.live FROM votes v"
					"   ORDER BY v.c, v.n DESC, (v.live OPERATOR(pg_catalog.=) v.cur) DESC, v.live)"
					"UPDATE omni.customer SET merged_into = best.live FROM best"
					" WHERE customer_id OPERATOR(pg_catalog.=) best.c"
					"   AND best.live OPERATOR(pg_catalog.<>) best.cur"
					"   AND best.live OPERATOR(pg_catalog.<>) best.c",
					false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not point absorbed customers at their identifiers");
}

PG_FUNCTION_INFO_V1(omni_resolve_all);
/*
 * omni.resolve_all(): resolve the staged pairs and recompute every customer.
 * Returns one row of counts.
 */
Datum
omni_resolve_all(PG_FUNCTION_ARGS)
{
	Resolver	r;
	ResolveCounts counts;
	TupleDesc	tupdesc;
	Datum		values[11];
	bool		nulls[11];
	int			ret;
	MemoryContext callcxt = CurrentMemoryContext;
	instr_time	elapsed;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	memset(&r, 0, sizeof(r));
	memset(&counts, 0, sizeof(counts));
	INSTR_TIME_SET_CURRENT(r.start);
	r.cxt = AllocSetContextCreate(callcxt, "resolve_all", ALLOCSET_DEFAULT_SIZES);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	/* writers wait until the run commits; readers go on */
	if (SPI_execute("LOCK TABLE omni.link_staging, omni.customer, omni.identity, omni.identity_link, "
					"omni.merge_log, omni.touchpoint IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY ||
		SPI_execute("LOCK TABLE omni.identity_rule, omni.blocklist IN SHARE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock the identity tables");
	/* read what was committed up to the lock (the statement's snapshot is older) */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	r.rules = omni_rules_load(r.cxt);

	resolve(&r, &counts);
	if (counts.split_customers > 0)
		repoint_absorbed();
	PopActiveSnapshot();
	SPI_finish();
	MemoryContextDelete(r.cxt);

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, r.start);
	ereport(NOTICE,
			(errmsg("resolve_all: done: %lld customers, %lld identities (%lld new), %lld links (%lld new, %lld changed status), %lld rejected, %lld merges, %lld identities moved, %lld invalid staged rows",
					(long long) counts.customers, (long long) counts.identities,
					(long long) counts.new_identities, (long long) counts.links,
					(long long) counts.new_links, (long long) counts.changed_links,
					(long long) counts.rejected, (long long) counts.merges,
					(long long) counts.moved_identities, (long long) counts.invalid_rows)));
	elog(DEBUG2, "resolve_all: %.3f s", INSTR_TIME_GET_DOUBLE(elapsed));

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum(counts.customers);
	values[1] = Int64GetDatum(counts.identities);
	values[2] = Int64GetDatum(counts.links);
	values[3] = Int64GetDatum(counts.rejected);
	values[4] = Int64GetDatum(counts.merges);
	values[5] = Int64GetDatum(counts.new_identities);
	values[6] = Int64GetDatum(counts.new_links);
	values[7] = Int64GetDatum(counts.changed_links);
	values[8] = Int64GetDatum(counts.moved_identities);
	values[9] = Int64GetDatum(counts.split_customers);
	values[10] = Int64GetDatum(counts.invalid_rows);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
