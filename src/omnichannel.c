/*-------------------------------------------------------------------------
 *
 * omnichannel.c
 *		Module entry point of the omnichannel extension: the module magic,
 *		_PG_init with the extension's settings, and module-wide functions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include <unicode/uversion.h>

#include "omnichannel.h"
#include "journey/journey.h"
#include "timeline/timeline.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Define the extension's settings and reserve the "omni." prefix, so that a
 * misspelled omni.* setting is an error instead of a silently ignored
 * placeholder.
 */
void
_PG_init(void)
{
	journey_define_settings();
	tl_init();

	MarkGUCPrefixReserved(OMNI_GUC_PREFIX);
}

/*
 * omni.icu_version(): the ICU version the library was compiled against.
 *
 * Normalization results depend on ICU's data, so an operator who upgrades ICU
 * can compare this value with the one recorded when identities were written.
 */
PG_FUNCTION_INFO_V1(omni_icu_version);
Datum
omni_icu_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(U_ICU_VERSION));
}
