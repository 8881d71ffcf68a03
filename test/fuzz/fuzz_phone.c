/*-------------------------------------------------------------------------
 *
 * fuzz_phone.c
 *		libFuzzer harness of the phone normalizer (omni.normalize_phone,
 *		src/identity/phone.c).  The input is "RR|number" (a region of up
 *		to 8 bytes before the first "|") or just the number, read as in
 *		region US.
 *
 * A number is refused with a message, or normalized to E.164: "+" and 6 to
 * 15 digits.  E.164 is a fixed point: normalizing the result again, from
 * any region, gives it back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "identity/identity.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	const char *region = "US";
	const uint8 *bar;

	if (!fuzz_is_text(data, size))
		return -1;
	fuzz_begin();
	bar = memchr(data, '|', Min(size, 9));
	if (bar != NULL)
	{
		region = fuzz_cstring(data, bar - data);
		size -= bar + 1 - data;
		data = bar + 1;
	}
	PG_TRY();
	{
		OmniNormError err;
		char	   *out = omni_normalize_phone_soft((const char *) data, (int) size, region, &err);
		char	   *again;
		size_t		len;

		if (out == NULL)
			omni_norm_raise(&err);
		len = strlen(out);
		if (out[0] != '+' || len < 7 || len > 16 || strspn(out + 1, "0123456789") != len - 1)
			fuzz_fail("\"%s\" is not E.164", out);
		again = omni_normalize_phone_soft(out, len, "GB", &err);
		if (again == NULL || strcmp(again, out) != 0)
			fuzz_fail("E.164 \"%s\" normalizes to \"%s\"", out, again ? again : err.msg);
	}
	PG_CATCH();
	{
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
