/*-------------------------------------------------------------------------
 *
 * phone.c
 *		Phone numbers to E.164: the numbering plans of the countries the
 *		extension knows, and the parser of numbers as people type them.
 *
 * Each country has its calling code, its national trunk prefix (dialled
 * before a national number and dropped in E.164), whether that leading
 * zero is in fact part of the number (Italy), and the lengths of its
 * national significant numbers (NSN), simplified from the national numbering
 * plans published through the ITU.  NANP numbers are also checked for their
 * NXX-NXX-XXXX shape.
 *
 * Covered: NANP (US, Canada and the Caribbean), the 27 EU countries, the
 * UK, Switzerland, Norway, and the 35 most populous countries.  A number
 * with any other calling code is refused rather than stored unchecked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "identity/identity.h"

typedef struct PhonePlan
{
	const char *region;			/* ISO 3166-1 alpha-2 */
	const char *cc;				/* country calling code */
	const char *trunk;			/* national trunk prefix, "" for none */
	const char *trunk2;			/* an alternative trunk prefix, "" for none */
	bool		keep_zero;		/* the leading 0 is part of the number (Italy) */
	int			min_len;		/* NSN length range */
	int			max_len;
} PhonePlan;

/*
 * Numbering plans.  Several regions may share a calling code (the NANP, +7);
 * the first row of a calling code is the one used to parse international
 * numbers, and those rows agree on everything but the region.
 */
static const PhonePlan phone_plans[] = {
	/* North American Numbering Plan */
	{"US", "1", "1", "", false, 10, 10},
	{"CA", "1", "1", "", false, 10, 10},
	{"PR", "1", "1", "", false, 10, 10},
	{"VI", "1", "1", "", false, 10, 10},
	{"GU", "1", "1", "", false, 10, 10},
	{"AS", "1", "1", "", false, 10, 10},
	{"MP", "1", "1", "", false, 10, 10},
	{"DO", "1", "1", "", false, 10, 10},
	{"JM", "1", "1", "", false, 10, 10},
	{"TT", "1", "1", "", false, 10, 10},
	{"BS", "1", "1", "", false, 10, 10},
	{"BB", "1", "1", "", false, 10, 10},
	{"BM", "1", "1", "", false, 10, 10},
	{"AG", "1", "1", "", false, 10, 10},
	{"AI", "1", "1", "", false, 10, 10},
	{"DM", "1", "1", "", false, 10, 10},
	{"GD", "1", "1", "", false, 10, 10},
	{"KN", "1", "1", "", false, 10, 10},
	{"KY", "1", "1", "", false, 10, 10},
	{"LC", "1", "1", "", false, 10, 10},
	{"MS", "1", "1", "", false, 10, 10},
	{"SX", "1", "1", "", false, 10, 10},
	{"TC", "1", "1", "", false, 10, 10},
	{"VC", "1", "1", "", false, 10, 10},
	{"VG", "1", "1", "", false, 10, 10},
	/* European Union */
	{"AT", "43", "0", "", false, 4, 13},
	{"BE", "32", "0", "", false, 8, 9},
	{"BG", "359", "0", "", false, 6, 9},
	{"HR", "385", "0", "", false, 6, 9},
	{"CY", "357", "", "", false, 8, 8},
	{"CZ", "420", "", "", false, 9, 9},
	{"DK", "45", "", "", false, 8, 8},
	{"EE", "372", "", "", false, 7, 8},
	{"FI", "358", "0", "", false, 5, 12},
	{"FR", "33", "0", "", false, 9, 9},
	{"DE", "49", "0", "", false, 6, 13},
	{"GR", "30", "", "", false, 10, 10},
	{"HU", "36", "06", "", false, 8, 9},
	{"IE", "353", "0", "", false, 7, 10},
	{"IT", "39", "", "", true, 6, 12},
	{"LV", "371", "", "", false, 8, 8},
	{"LT", "370", "8", "0", false, 8, 8},
	{"LU", "352", "", "", false, 4, 11},
	{"MT", "356", "", "", false, 8, 8},
	{"NL", "31", "0", "", false, 9, 9},
	{"PL", "48", "", "", false, 9, 9},
	{"PT", "351", "", "", false, 9, 9},
	{"RO", "40", "0", "", false, 9, 9},
	{"SK", "421", "0", "", false, 9, 9},
	{"SI", "386", "0", "", false, 8, 8},
	{"ES", "34", "", "", false, 9, 9},
	{"SE", "46", "0", "", false, 6, 12},
	/* the rest of Europe the issue names */
	{"GB", "44", "0", "", false, 7, 10},
	{"CH", "41", "0", "", false, 9, 9},
	{"NO", "47", "", "", false, 8, 8},
	/* the most populous countries not listed above */
	{"IN", "91", "0", "", false, 10, 10},
	{"CN", "86", "0", "", false, 7, 12},
	{"ID", "62", "0", "", false, 8, 12},
	{"PK", "92", "0", "", false, 8, 11},
	{"NG", "234", "0", "", false, 8, 10},
	{"BR", "55", "0", "", false, 10, 11},
	{"BD", "880", "0", "", false, 8, 10},
	{"RU", "7", "8", "", false, 10, 10},
	{"KZ", "7", "8", "", false, 10, 10},
	{"ET", "251", "0", "", false, 9, 9},
	{"MX", "52", "", "", false, 10, 10},
	{"JP", "81", "0", "", false, 9, 10},
	{"EG", "20", "0", "", false, 8, 10},
	{"PH", "63", "0", "", false, 8, 10},
	{"CD", "243", "0", "", false, 9, 9},
	{"VN", "84", "0", "", false, 9, 10},
	{"IR", "98", "0", "", false, 10, 10},
	{"TR", "90", "0", "", false, 10, 10},
	{"TH", "66", "0", "", false, 8, 9},
	{"TZ", "255", "0", "", false, 9, 9},
	{"ZA", "27", "0", "", false, 9, 9},
	{"KE", "254", "0", "", false, 9, 10},
	{"MM", "95", "0", "", false, 7, 10},
	{"CO", "57", "", "", false, 10, 10},
	{"KR", "82", "0", "", false, 8, 10},
	{"SD", "249", "0", "", false, 9, 9},
	{"UG", "256", "0", "", false, 9, 9},
	{"DZ", "213", "0", "", false, 8, 9},
	{"IQ", "964", "0", "", false, 8, 10},
	{"AR", "54", "0", "", false, 10, 11},
	{"UA", "380", "0", "", false, 9, 9},
};

/* The plan of a region code (case-insensitive), or NULL. */
static const PhonePlan *
plan_by_region(const char *region)
{
	int			i;

	for (i = 0; i < lengthof(phone_plans); i++)
		if (pg_strcasecmp(phone_plans[i].region, region) == 0)
			return &phone_plans[i];
	return NULL;
}

/*
 * The plan of the calling code that starts digits, or NULL.  Calling codes
 * are a prefix code, so at most one of them matches.
 */
static const PhonePlan *
plan_by_calling_code(const char *digits)
{
	int			i;

	for (i = 0; i < lengthof(phone_plans); i++)
	{
		size_t		n = strlen(phone_plans[i].cc);

		if (strncmp(digits, phone_plans[i].cc, n) == 0)
			return &phone_plans[i];
	}
	return NULL;
}

/*
 * One character as a palloc'd string in the server encoding, for messages.
 * pg_any_to_server returns its argument when there is nothing to convert
 * (a UTF-8 database), so the local buffer must be copied then.
 */
static char *
uchars_char(UChar32 c)
{
	char		buf[8];
	int32_t		n = 0;
	UBool		bad = false;
	char	   *conv;

	U8_APPEND(buf, n, (int32_t) sizeof(buf), c, bad);
	if (bad)
		return pstrdup("?");
	buf[n] = '\0';
	conv = (char *) pg_any_to_server(buf, n, PG_UTF8);
	return conv == buf ? pstrdup(buf) : conv;
}

/* The comma-separated list of known regions, for hints. */
static char *
known_regions(void)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < lengthof(phone_plans); i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", phone_plans[i].region);
	return s.data;
}

static bool
nsn_length_ok(const PhonePlan *plan, int len)
{
	return len >= plan->min_len && len <= plan->max_len;
}

/*
 * Drop a national trunk prefix from the NSN when what remains has a valid
 * length; a number that is valid as it stands keeps its digits.
 */
static char *
strip_trunk(const PhonePlan *plan, char *nsn)
{
	const char *trunks[2] = {plan->trunk, plan->trunk2};
	int			i;

	for (i = 0; i < 2; i++)
	{
		size_t		n = strlen(trunks[i]);

		if (n > 0 && strncmp(nsn, trunks[i], n) == 0 &&
			nsn_length_ok(plan, strlen(nsn) - n))
			return nsn + n;
	}
	return nsn;
}

/*
 * Normalize a phone number to E.164, or return NULL with *err filled.
 *
 * Accepted: an optional "tel:" scheme; "+", "00" or (in NANP regions)
 * "011" before an international number; digits of any script; spaces, dots,
 * dashes, slashes and brackets between them; "(0)" after a calling code,
 * which is the trunk prefix written for national callers; and an extension
 * ("x", "ext", "ext.", "extension", "#", ";ext="), which is dropped.
 * The region says how to read a number without a calling code.
 */
char *
omni_normalize_phone_soft(const char *in, int len, const char *region,
						  OmniNormError *err)
{
	const PhonePlan *home = plan_by_region(region);
	const PhonePlan *plan;
	char	   *src = pnstrdup(in, len);
	char	   *u8 = (char *) pg_server_to_any(src, len, PG_UTF8);
	int32_t		ulen;
	UChar	   *ubuf;
	UErrorCode	status = U_ZERO_ERROR;
	StringInfoData digits;
	bool		plus = false;
	bool		seen_digit = false;
	int32_t		i;
	char	   *d;
	char	   *nsn;
	bool		international = false;
	int			u8len = strlen(u8);

	err->msg = err->detail = err->hint = NULL;
	if (home == NULL)
	{
		err->msg = psprintf("unknown phone region \"%s\"", omni_clip_value(region, strlen(region)));
		err->detail = NULL;
		err->hint = psprintf("Known regions: %s.", known_regions());
		return NULL;
	}

	ubuf = palloc((u8len + 1) * sizeof(UChar));
	u_strFromUTF8WithSub(ubuf, u8len + 1, &ulen, u8, u8len, 0xFFFD, NULL, &status);
	if (U_FAILURE(status))
		elog(ERROR, "could not convert to UTF-16: %s", u_errorName(status));

	initStringInfo(&digits);
	i = 0;
	/* skip leading space and an optional tel: scheme */
	while (i < ulen && u_isUWhiteSpace(ubuf[i]))
		i++;
	if (ulen - i >= 4 && u_tolower(ubuf[i]) == 't' && u_tolower(ubuf[i + 1]) == 'e' &&
		u_tolower(ubuf[i + 2]) == 'l' && ubuf[i + 3] == ':')
		i += 4;
	while (i < ulen)
	{
		UChar32		c;
		int32_t		next = i;
		int32_t		dv;

		U16_NEXT(ubuf, next, ulen, c);
		dv = u_charDigitValue(c);
		i = next;

		if (u_isdigit(c) && dv >= 0 && dv <= 9)
		{
			appendStringInfoChar(&digits, '0' + dv);
			seen_digit = true;
			continue;
		}
		if ((c == '+' || c == 0xFF0B) && !seen_digit && !plus)
		{
			plus = true;
			continue;
		}
		/* "(0)" after an international calling code: a trunk prefix */
		if (c == '(' && i + 1 < ulen && ubuf[i] == '0' && ubuf[i + 1] == ')' &&
			seen_digit && (plus || digits.len > 2))
		{
			i += 2;
			continue;
		}
		if (u_isUWhiteSpace(c) || c == '-' || c == '.' || c == '/' || c == '(' ||
			c == ')' || c == '[' || c == ']' || c == 0x2010 || c == 0x2011 ||
			c == 0x2012 || c == 0x2013 || c == 0x2014 || c == 0x2212 || c == 0x00A0)
			continue;
		/* an extension ends the number */
		if (seen_digit && (c == '#' || c == ';' || c == ',' || u_tolower(c) == 'x' ||
						   (u_tolower(c) == 'e' && i + 1 < ulen &&
							u_tolower(ubuf[i]) == 'x' && u_tolower(ubuf[i + 1]) == 't')))
			break;
		err->msg = psprintf("invalid phone number \"%s\"", omni_clip_value(src, strlen(src)));
		err->detail = psprintf("A phone number holds digits, an optional leading \"+\", spaces, dots, dashes, slashes, brackets and an extension; the value holds \"%s\".",
							   uchars_char(c));
		return NULL;
	}
	d = digits.data;
	if (digits.len == 0)
	{
		err->msg = psprintf("invalid phone number \"%s\"", omni_clip_value(src, strlen(src)));
		err->detail = pstrdup("The value holds no digits.");
		return NULL;
	}

	/* International prefix: +, 00, or 011 where the NANP is home. */
	if (plus)
		international = true;
	else if (strncmp(d, "00", 2) == 0)
	{
		international = true;
		d += 2;
	}
	else if (strcmp(home->cc, "1") == 0 && strncmp(d, "011", 3) == 0)
	{
		international = true;
		d += 3;
	}

	if (international)
	{
		plan = plan_by_calling_code(d);
		if (plan == NULL)
		{
			err->msg = psprintf("invalid phone number \"%s\"", omni_clip_value(src, strlen(src)));
			if (d[0] == '0' || d[0] == '\0')
				err->detail = pstrdup("No country calling code follows the international prefix.");
			else
				err->detail = psprintf("The calling code of \"+%s\" is not that of a supported country.", d);
			err->hint = psprintf("Supported regions: %s.", known_regions());
			return NULL;
		}
		nsn = d + strlen(plan->cc);
		if (!plan->keep_zero)
			nsn = strip_trunk(plan, nsn);
	}
	else
	{
		plan = home;
		nsn = plan->keep_zero ? d : strip_trunk(plan, d);
	}

	/* Mexico's former mobile prefix: +52 1 and ten digits. */
	if (strcmp(plan->cc, "52") == 0 && strlen(nsn) == 11 && nsn[0] == '1')
		nsn++;

	if (!nsn_length_ok(plan, strlen(nsn)))
	{
		err->msg = psprintf("invalid phone number \"%s\"", omni_clip_value(src, strlen(src)));
		if (plan->min_len == plan->max_len)
			err->detail = psprintf("A number of %s (+%s) has %d digits after the calling code, not %d.",
								   plan->region, plan->cc, plan->min_len, (int) strlen(nsn));
		else
			err->detail = psprintf("A number of %s (+%s) has %d to %d digits after the calling code, not %d.",
								   plan->region, plan->cc, plan->min_len, plan->max_len,
								   (int) strlen(nsn));
		return NULL;
	}
	if (nsn[0] == '0' && !plan->keep_zero)
	{
		err->msg = psprintf("invalid phone number \"%s\"", omni_clip_value(src, strlen(src)));
		err->detail = psprintf("A number of %s (+%s) does not start with 0 after the calling code.",
							   plan->region, plan->cc);
		return NULL;
	}
	if (strcmp(plan->cc, "1") == 0 && (nsn[0] < '2' || nsn[3] < '2'))
	{
		err->msg = psprintf("invalid phone number \"%s\"", omni_clip_value(src, strlen(src)));
		err->detail = pstrdup("A NANP number is NXX-NXX-XXXX: its area code and exchange start with 2 to 9.");
		return NULL;
	}
	return psprintf("+%s%s", plan->cc, nsn);
}

PG_FUNCTION_INFO_V1(omni_normalize_phone);
/*
 * omni.normalize_phone(text, region text DEFAULT 'US'): the SQL face of the
 * phone normalizer.
 */
Datum
omni_normalize_phone(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	char	   *region = text_to_cstring(PG_GETARG_TEXT_PP(1));
	OmniNormError err;
	char	   *out;

	out = omni_normalize_phone_soft(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), region, &err);
	if (out == NULL)
		omni_norm_raise(&err);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
