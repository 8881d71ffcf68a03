/*-------------------------------------------------------------------------
 *
 * fuzz_email.c
 *		libFuzzer harness of the e-mail normalizer (omni.normalize_email,
 *		src/identity/normalize.c): the input is the text value.
 *
 * A value is either refused with a message (raised as SQLSTATE 22023, as
 * the SQL function does) or normalized to "mailbox@domain" with an ASCII
 * domain of at most 253 characters and a mailbox of at most 64 bytes.
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
	if (!fuzz_is_text(data, size))
		return -1;
	fuzz_begin();
	PG_TRY();
	{
		OmniNormError err;
		char	   *out = omni_normalize_email_soft((const char *) data, (int) size, &err);
		char	   *at;

		if (out == NULL)
			omni_norm_raise(&err);
		at = strchr(out, '@');
		if (at == NULL || at == out || strchr(at + 1, '@') != NULL ||
			at - out > 64 || strlen(at + 1) > 253 || strchr(at + 1, '.') == NULL)
			fuzz_fail("malformed normalized address \"%s\"", out);
		for (const char *p = at + 1; *p; p++)
			if ((unsigned char) *p >= 0x80 || *p <= ' ')
				fuzz_fail("domain of \"%s\" is not ASCII", out);
		if (!fuzz_is_text((const uint8 *) out, strlen(out)))
			fuzz_fail("normalized address is not valid UTF-8");
	}
	PG_CATCH();
	{
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
