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

/*
 * The search_path the extension's own queries run with, so that no
 * operator or function a user creates in another schema can change them.
 */
#define OMNI_PINNED_SEARCH_PATH "pg_catalog, pg_temp"
extern int	omni_pin_search_path(void);
extern void omni_unpin_search_path(int level);

/* Error messages quote at most this many bytes of a bad value. */
#define OMNI_QUOTE_MAX 100
extern char *omni_clip_value(const char *in, int len);

#endif							/* OMNICHANNEL_H */
