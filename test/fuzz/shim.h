/*-------------------------------------------------------------------------
 *
 * shim.h
 *		What the fuzzing harnesses of test/fuzz use from shim.c: a fresh
 *		memory context per input, and the check of an error raised by the
 *		code under test.
 *
 * Each harness runs one input as
 *
 *		fuzz_begin();
 *		PG_TRY();
 *		{
 *			... call the parser ...
 *		}
 *		PG_CATCH();
 *		{
 *			fuzz_check_error();
 *		}
 *		PG_END_TRY();
 *		fuzz_end();
 *
 * An ereport(ERROR) is an expected outcome of bad input; fuzz_check_error()
 * aborts (a finding) only when the error is one a user must never see: an
 * internal error (elog, SQLSTATE XX000), data corruption (XX001), or a
 * message that is empty or not valid UTF-8.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_SHIM_H
#define FUZZ_SHIM_H

#include "postgres.h"

/* The error caught by the harness's PG_CATCH. */
typedef struct FuzzError
{
	int			elevel;
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
	char	   *hint;
	const char *filename;
	int			lineno;
	const char *funcname;
} FuzzError;

extern void fuzz_begin(void);
extern void fuzz_end(void);
extern const FuzzError *fuzz_error(void);
extern void fuzz_check_error(void);
extern void fuzz_fail(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();
extern bool fuzz_is_text(const uint8 *data, size_t size);
extern char *fuzz_cstring(const uint8 *data, size_t size);

#endif							/* FUZZ_SHIM_H */
