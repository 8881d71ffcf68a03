/*-------------------------------------------------------------------------
 *
 * suppress.h
 *		Cross-channel suppression: the message being decided, the decision,
 *		and the rule engine shared by the trigger omni.suppress() and the
 *		preview omni.would_suppress().
 *
 * The engine (rules.c) decides one message at a time: it resolves the
 * recipient to a live customer, locks the customer's row when asked to, and
 * evaluates every enabled rule of omni.suppression_rule.  It reads the
 * tables through their indexes (scan.c), without queries.  The rules,
 * channels and blocked values are cached per backend and reloaded when
 * those tables change.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SUPPRESS_H
#define SUPPRESS_H

#include "postgres.h"

#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

/* Reasons that are not rule names. */
#define SUPPRESS_REASON_FORGOTTEN	"forgotten"
#define SUPPRESS_REASON_BLOCKLISTED	"blocklisted"
#define SUPPRESS_REASON_UNKNOWN		"unknown_recipient"
#define SUPPRESS_REASON_INVALID		"invalid_recipient"

/* Status of a decided message, as stored in the status column. */
typedef enum SuppressStatus
{
	SUPPRESS_QUEUED,
	SUPPRESS_DELAYED,
	SUPPRESS_SUPPRESSED
} SuppressStatus;

/*
 * Where the counting of past messages (frequency caps, same campaign) reads
 * from: the outbox table the trigger fires on, through its column mapping.
 * Built by trigger.c for each statement.  A message counts at the time it
 * goes out: its send_at, else its created_at.  With an index on (customer
 * column, that time) the engine reads it directly (scan.c); without one, it
 * runs a query, prepared once per backend and trigger.
 */
typedef struct SuppressHistorySource
{
	Relation	heap;			/* the outbox, open for the statement */
	Oid			indexoid;		/* its btree index on (customer, time out) */
	bool		customer_is_int4;
	AttrNumber	channel_att;
	AttrNumber	category_att;	/* 0: not mapped ('marketing') */
	AttrNumber	campaign_att;	/* 0: not mapped (NULL) */
	AttrNumber	created_at_att;
	AttrNumber	send_at_att;
	AttrNumber	status_att;
	SPIPlanPtr	plan;			/* no such index: (customers bigint[], since
								 * timestamptz) -> (channel, category,
								 * campaign, time out) */
} SuppressHistorySource;

/* A past message of the customer, as counted by caps and campaign rules. */
typedef struct SuppressHistoryRow
{
	char	   *channel;
	char	   *category;
	char	   *campaign;
	TimestampTz out_at;			/* when it goes out: send_at, else created_at */
} SuppressHistoryRow;

/* A recent touchpoint of the customer, as matched by recent-event rules. */
typedef struct SuppressEventRow
{
	char	   *event;
	char	   *topic;
	TimestampTz ts;
} SuppressEventRow;

/* The consents in force for a message. */
typedef struct SuppressConsent
{
	bool		opted_out;
	bool		opted_in;
	int64		opt_out_id;		/* lowest opt-out in force */
} SuppressConsent;

/* One message to decide; strings may be NULL where the column is NULL. */
typedef struct SuppressMessage
{
	const char *recipient_kind;
	const char *recipient;
	bool		has_customer;
	int64		customer_id;
	const char *channel;
	const char *campaign;
	const char *category;		/* never NULL: 'marketing' when not given */
	const char *topic;
	TimestampTz created_at;
	bool		has_send_at;
	TimestampTz send_at;
} SuppressMessage;

/* The decision, allocated in the caller's memory context. */
typedef struct SuppressDecision
{
	SuppressStatus status;
	bool		has_customer;
	int64		customer_id;	/* live customer of the recipient */
	bool		has_send_at;
	TimestampTz send_at;		/* when delayed: the next allowed time */
	List	   *reasons;		/* char *: rule names and fixed reasons */
	List	   *details;		/* char *: one explanation per reason */
} SuppressDecision;

/*
 * Where the recipient's identifier was found in the statement's set of
 * open relations (scan.c): a later message to the same recipient fetches
 * that tuple again, checking it is still the visible one, instead of
 * descending the index.
 */
typedef struct SuppressIdentityHint
{
	uint64		generation;		/* opening of the relations it belongs to */
	ItemPointerData tid;		/* invalid: none */
} SuppressIdentityHint;

/* rules.c */
extern void suppress_decide(const SuppressMessage *msg,
							SuppressHistorySource *history,
							bool take_lock,
							SuppressDecision *decision,
							MemoryContext resultcxt,
							MemoryContext stmtcxt);
extern const char *suppress_status_name(SuppressStatus status);
extern void suppress_check_channel(const char *channel);

/* trigger.c: the field=column arguments of an omni.suppress() trigger */
#define SUPPRESS_OUTBOX_FIELDS	12
extern void suppress_parse_trigger_args(int nargs, char **args,
										const char *tgname, const char *relname,
										const char **colname, bool *explicit);

/* scan.c: direct index reads, relations kept open for the statement */
extern Relation suppress_message_relation(MemoryContext stmtcxt);
extern bool suppress_find_identity(MemoryContext stmtcxt, Snapshot snap,
								   const char *kind, const char *value,
								   SuppressIdentityHint *hint,
								   int64 *identity_id, int64 *customer_id);
extern bool suppress_read_customer(MemoryContext stmtcxt, Snapshot snap,
								   int64 customer_id, bool lock, char **time_zone,
								   bool *merged, int64 *merged_into);
extern int	suppress_read_family(MemoryContext stmtcxt, Snapshot snap,
								 int64 customer_id, int64 **ids);
extern bool suppress_is_forgotten(MemoryContext stmtcxt, Snapshot snap, bytea *hash);
extern void suppress_read_consent(MemoryContext stmtcxt, Snapshot snap,
								  const int64 *family, int nfamily,
								  bool has_identity, int64 identity_id,
								  const char *channel, const char *purpose,
								  TimestampTz at, SuppressConsent *c);
extern void suppress_read_events(MemoryContext stmtcxt, Snapshot snap,
								 int64 customer_id, const char *event,
								 TimestampTz since, TimestampTz until,
								 SuppressEventRow **rows, int *nrows, int *size);
extern SuppressHistoryRow *suppress_read_history_index(MemoryContext stmtcxt,
													   SuppressHistorySource *h,
													   Snapshot snap,
													   const int64 *family,
													   int nfamily,
													   TimestampTz since,
													   int *nrows);

#endif							/* SUPPRESS_H */
