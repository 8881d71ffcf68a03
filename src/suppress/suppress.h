/*-------------------------------------------------------------------------
 *
 * suppress.h
 *		Cross-channel suppression: the message being decided, the decision,
 *		and the rule engine shared by the trigger omni.suppress() and the
 *		preview omni.would_suppress().
 *
 * The engine (rules.c) decides one message at a time, inside the caller's
 * SPI connection: it resolves the recipient to a live customer, locks the
 * customer's row when asked to, and evaluates every enabled
 * rule of omni.suppression_rule.  The rules, channels and blocked values are
 * cached per backend and reloaded when those tables change.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SUPPRESS_H
#define SUPPRESS_H

#include "postgres.h"

#include "executor/spi.h"
#include "nodes/pg_list.h"
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
 * Built by trigger.c; the plan is saved and shared by every call on the same
 * trigger.
 */
typedef struct SuppressHistorySource
{
	SPIPlanPtr	plan;			/* (customers bigint[], since timestamptz) ->
								 * (channel, category, campaign, created_at) */
} SuppressHistorySource;

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

/* rules.c */
extern void suppress_decide(const SuppressMessage *msg,
							SuppressHistorySource *history,
							bool take_lock,
							SuppressDecision *decision,
							MemoryContext resultcxt);
extern const char *suppress_status_name(SuppressStatus status);
extern void suppress_check_channel(const char *channel);

/* trigger.c: the field=column arguments of an omni.suppress() trigger */
#define SUPPRESS_OUTBOX_FIELDS	12
extern void suppress_parse_trigger_args(int nargs, char **args,
										const char *tgname, const char *relname,
										const char **colname, bool *explicit);

#endif							/* SUPPRESS_H */
