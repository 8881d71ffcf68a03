/*-------------------------------------------------------------------------
 *
 * identity.h
 *		Declarations shared by the identity-resolution sources: the
 *		normalizers (normalize.c, phone.c), the rule and blocklist cache
 *		(rules.c), the graph (graph.c) and the link operations (link.c).
 *
 * Normalizers come in a "soft" form: they return NULL and an error message
 * instead of raising, so that the bulk path can record a bad value beside
 * its staging row and go on, while the SQL functions raise the message with
 * SQLSTATE 22023.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OMNI_IDENTITY_H
#define OMNI_IDENTITY_H

#include "postgres.h"

#include "access/tableam.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "omnichannel.h"

/* How the values of a kind are normalized (omni.identity_rule.normalizer). */
typedef enum OmniNormalizer
{
	OMNI_NORM_TEXT,				/* trim and NFKC */
	OMNI_NORM_EMAIL,
	OMNI_NORM_PHONE,
	OMNI_NORM_NAME
} OmniNormalizer;

/* One row of omni.identity_rule, as the C code needs it. */
typedef struct OmniKindRule
{
	char	   *kind;
	int			priority;
	int			max_per_customer;	/* 0: unlimited */
	OmniNormalizer normalizer;
	char	   *region;			/* default region of phone numbers */
} OmniKindRule;

/* One row of omni.blocklist. */
typedef struct OmniBlockEntry
{
	char	   *kind;			/* NULL: every kind */
	text	   *value;			/* value, or regular expression */
	bool		is_pattern;
	char	   *reason;
	void	   *re;				/* compiled pattern (regex_t), on first use */
	int8		quick;			/* with re: 0, or a test that rules a match out */
	uint64		quickset[2];	/* the ASCII characters that test allows */
	char	   *prefix;			/* with re: NULL, or ASCII text (lower case)
								 * every match starts with */
	char	   *literal;		/* with re: NULL, or ASCII text (lower case)
								 * every match contains */
	int			prefix_len;
	int			literal_len;
} OmniBlockEntry;

/*
 * Per identifier kind, what a value must look like for any blocklist entry
 * of that kind to match it: the bytes it may start with, the pairs of bytes
 * a value of two bytes or more may start with, and whether it may be empty.
 * Most values are cleared by this test alone.
 */
typedef struct OmniKindFilter
{
	uint64		first[4];
	uint64	   *pairs;			/* 65536 bits, by first byte * 256 + second;
								 * NULL: every pair the first bytes allow */
	uint64		exact_lengths;	/* bit n: an exact entry of n bytes (63: of
								 * 63 bytes or more) */
	int			npatterns;		/* the pattern entries, whose quick tests */
	struct OmniBlockEntry **patterns;	/* a value passes when no exact length
										 * fits */
	bool		empty;
} OmniKindFilter;

/* The rules and the blocklist, loaded together for one statement or run. */
typedef struct OmniRules
{
	int			nkinds;
	OmniKindRule *kinds;		/* sorted by priority, then kind */
	int			nblocks;
	OmniBlockEntry *blocks;
	char	   *known_kinds;	/* "crm, email, ..." for hints */
	int		  **kind_blocks;	/* per kind: the entries that apply to it, on first use */
	int		   *kind_nblocks;
	OmniKindFilter *kind_filters;	/* per kind, made with kind_blocks */
} OmniRules;

/*
 * Why a value could not be normalized: errmsg names the value, errdetail
 * says what is wrong with it.  Raised with SQLSTATE 22023 by
 * omni_norm_raise, or kept beside a staging row by the bulk path.
 */
typedef struct OmniNormError
{
	char	   *msg;
	char	   *detail;			/* NULL: none */
	char	   *hint;			/* NULL: none */
} OmniNormError;

/* the longest identifier, in bytes once normalized (far below an index row's limit) */
#define OMNI_MAX_IDENTIFIER 1024

/* normalize.c */
extern char *omni_normalize_email_soft(const char *in, int len, OmniNormError *err);
extern char *omni_normalize_name_soft(const char *in, int len, OmniNormError *err);
extern char *omni_normalize_text_soft(const char *in, int len, OmniNormError *err);
extern void omni_norm_raise(OmniNormError *err) pg_attribute_noreturn();

/* phone.c */
extern char *omni_normalize_phone_soft(const char *in, int len,
									   const char *region, OmniNormError *err);

/* rules.c */
extern OmniRules *omni_rules_load(MemoryContext mcxt);
extern OmniRules *omni_rules_for_call(FunctionCallInfo fcinfo);
extern int	omni_rules_kind_index(OmniRules *rules, const char *kind);
extern OmniKindRule *omni_rules_kind(OmniRules *rules, const char *kind);
extern char *omni_normalize_kind_soft(OmniKindRule *rule, const char *in,
									  int len, const char *region,
									  OmniNormError *err);
extern char *omni_normalize_kind(OmniRules *rules, const char *kind,
								 const char *in, int len);
extern const char *omni_blocked_reason(OmniRules *rules, const char *kind,
									   const char *value);
extern bool omni_blocklist_may_block(OmniRules *rules, int kidx, const char *value, int vlen);
extern const char *omni_blocked_reason_kind(OmniRules *rules, int kidx, const char *value,
											int vlen);
extern void omni_identifier_hash(const char *kind, const char *value,
								 uint8 *dest);
extern bytea *omni_identifier_hash_key(MemoryContext mcxt);
extern void omni_identifier_hash_keyed(bytea *key, const char *kind,
									   const char *value, uint8 *dest);

/* bulkinsert.c */
typedef struct OmniBulkInsert OmniBulkInsert;
/* touchpoint.c */
extern int64 omni_touchpoint_customer_of(int64 identity_id);
extern uint64 omni_touchpoint_repoint(SPIPlanPtr plan, Datum *values);
extern bool omni_touchpoint_partitioned(void);

extern Oid	omni_relid(const char *relname);
extern bool omni_bulk_usable(const char *relname);
extern OmniBulkInsert *omni_bulk_begin(const char *relname, int ncols,
									   const char *const *cols, int64 nrows);
extern void omni_bulk_row(OmniBulkInsert *b, Datum *values, bool *nulls);
extern void omni_bulk_end(OmniBulkInsert *b);
extern bool omni_insert_row_unless_exists(const char *relname, const char *arbiter, int ncols,
										  const char *const *cols, Datum *values, bool *nulls,
										  const char *ret, Datum *retval, ItemPointer tid);
extern bool omni_fetch_by_key(Relation heap, Snapshot snap, RegProcedure eqproc, Datum key,
							  TupleTableSlot *slot);
extern bool omni_fetch_by_pkey(Relation heap, Snapshot snap, int64 key, TupleTableSlot *slot);
extern TM_Result omni_lock_row(Relation heap, ItemPointer tid, Snapshot snap,
							   TupleTableSlot *slot, LockTupleMode mode);
typedef struct OmniUpdate OmniUpdate;
extern OmniUpdate *omni_update_begin(const char *relname, int nread, const char *const *read,
									 int ncols, const char *const *cols);
extern Relation omni_update_relation(OmniUpdate *u);
extern void omni_update_find(OmniUpdate *u, const char *indexname, int64 key,
							 ItemPointerData **tids, int *n, int *size);
extern TupleTableSlot *omni_update_fetch(OmniUpdate *u, ItemPointer tid);
extern TupleTableSlot *omni_update_lock(OmniUpdate *u, ItemPointer tid);
extern void omni_update_row(OmniUpdate *u, ItemPointer tid, const bool *set,
							const Datum *values, const bool *nulls);
extern bool omni_update_fetched(OmniUpdate *u, ItemPointer tid, const bool *set,
								const Datum *values, const bool *nulls);
extern void omni_update_end(OmniUpdate *u);
extern Datum omni_insert_row(const char *relname, int ncols, const char *const *cols,
							 Datum *values, bool *nulls, const char *ret);

#define OMNI_HASH_LEN 32		/* HMAC-SHA256 */

/*
 * What a merge carries from the absorbed customer (alias x) to the
 * survivor as it was before (alias o): the attributes the survivor lacks
 * and the time zone when it has none, as a jsonb object with the keys
 * "attributes" and "time_zone" (only those that carry something), or NULL
 * when it carries nothing.  Kept in omni.merge_log.carried, so that
 * omni.unmerge can take it back.
 */
#define OMNI_CARRIED_SQL(o, x) \
	"(SELECT CASE WHEN c OPERATOR(pg_catalog.=) '{}'::pg_catalog.jsonb THEN NULL ELSE c END " \
	"FROM (SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('attributes', " \
	"(SELECT CASE WHEN a OPERATOR(pg_catalog.=) '{}'::pg_catalog.jsonb THEN NULL ELSE a END " \
	"FROM (SELECT " x ".attributes OPERATOR(pg_catalog.-) " \
	"ARRAY(SELECT pg_catalog.jsonb_object_keys(" o ".attributes)) AS a) aa), " \
	"'time_zone', CASE WHEN " o ".time_zone IS NULL THEN " x ".time_zone END)) AS c) cc)"

#endif							/* OMNI_IDENTITY_H */
