/*-------------------------------------------------------------------------
 *
 * omnichannel.h
 *		Declarations shared by the capabilities of the omnichannel extension.
 *
 * Each capability (identity, journey, suppress, timeline) keeps its own
 * private header beside its sources; only what crosses capabilities and the
 * module's settings live here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OMNICHANNEL_H
#define OMNICHANNEL_H

#include "postgres.h"

/* Prefix of every setting the extension defines (see _PG_init). */
#define OMNI_GUC_PREFIX "omni"

/* omni.default_time_zone: time zone of customers with none of their own. */
extern char *omni_default_time_zone;

/* omni.touchpoint_layout: 'table' or 'partitioned', read by CREATE EXTENSION. */
extern char *omni_touchpoint_layout;

/* Error messages quote at most this many bytes of a bad value. */
#define OMNI_QUOTE_MAX 100
extern char *omni_clip_value(const char *in, int len);

#endif							/* OMNICHANNEL_H */
