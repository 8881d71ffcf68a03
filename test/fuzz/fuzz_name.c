/*-------------------------------------------------------------------------
 *
 * fuzz_name.c
 *		libFuzzer harness of the name and plain-identifier normalizers
 *		(omni.normalize_name and the "text" normalizer of identity kinds,
 *		src/identity/normalize.c): the input is the text value.
 *
 * The result of either is valid UTF-8, non-empty, and has no white space at
 * its ends; the name form has no run of two spaces.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "identity/identity.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

/* Check the shape of a normalized value. */
static void
check_output(const char *what, const char *out, bool collapsed)
{
	size_t		len = strlen(out);

	if (len == 0 || !fuzz_is_text((const uint8 *) out, len))
		fuzz_fail("%s: empty or invalid UTF-8 result", what);
	if (collapsed && (out[0] == ' ' || out[len - 1] == ' ' || strstr(out, "  ") != NULL))
		fuzz_fail("%s: white space not collapsed in \"%s\"", what, out);
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	if (!fuzz_is_text(data, size))
		return -1;
	fuzz_begin();
	PG_TRY();
	{
		OmniNormError err;
		char	   *out = omni_normalize_text_soft((const char *) data, (int) size, &err);

		if (out != NULL)
			check_output("text", out, false);
		else if (err.msg == NULL)
			fuzz_fail("text: refused without a message");
		out = omni_normalize_name_soft((const char *) data, (int) size, &err);
		if (out == NULL)
			omni_norm_raise(&err);
		check_output("name", out, true);
	}
	PG_CATCH();
	{
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
