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

#endif							/* OMNICHANNEL_H */
