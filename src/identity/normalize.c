/*-------------------------------------------------------------------------
 *
 * normalize.c
 *		ICU-based normalization of identifiers: e-mail addresses (UTS #46
 *		domains and the rules of the big mailbox providers), person names
 *		(transliteration to Latin ASCII, case folding, NFKC), plain text
 *		identifiers (trim and NFKC), confusable skeletons, and the
 *		Jaro-Winkler similarity.
 *
 * Every normalizer works on UTF-8: a database in another encoding has its
 * values converted on the way in and out.  The ICU objects (IDNA, the
 * transliterator, the spoof checker) are opened on first use and kept for
 * the life of the backend; ICU allocates them with malloc, outside any
 * memory context, so they survive transaction ends by design.
 *
 * The results depend on ICU's data, so the SQL functions are IMMUTABLE only
 * for a given ICU version (omni.icu_version()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include <unicode/uchar.h>
#include <unicode/uidna.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

#include "identity/identity.h"

/* Per-backend ICU objects, opened on first use. */
static UIDNA *omni_idna = NULL;
static UTransliterator *omni_latin_ascii = NULL;
static USpoofChecker *omni_spoof = NULL;

/* Provider rules applied to the mailbox name (local part) of an address. */
#define MAILBOX_DROP_PLUS_TAG	0x01	/* "anna+news" -> "anna" */
#define MAILBOX_DROP_DOTS		0x02	/* "a.n.na" -> "anna" */
#define MAILBOX_DROP_DASH_TAG	0x04	/* "anna-shop" -> "anna" (from the first dash) */
#define MAILBOX_DROP_SEPARATORS	0x08	/* drop '_' and '-' too */

typedef struct MailProvider
{
	const char *domain;			/* ASCII (A-label) domain as normalized */
	const char *canonical;		/* domain the address is stored under */
	int			rules;
} MailProvider;

/*
 * Mailbox providers whose addressing rules are known.  Gmail ignores dots
 * and "+tags" and treats googlemail.com as gmail.com; Microsoft (Outlook.com,
 * with its country domains) and Apple honour "+tags" but keep dots; Yahoo's
 * disposable addresses are "name-keyword", on its country domains too
 * (Yahoo Japan, yahoo.co.jp, is another company and not listed): a Yahoo
 * name has no dash, so everything from the first dash is the keyword, which
 * may hold dashes itself (cutting at the last dash would leave a name that
 * normalizes again to another one, and a stored address would then not
 * find its own identifier); Proton
 * ignores "+tags", dots, underscores and dashes.  A domain not listed keeps
 * its local part as written (lower-cased): merging two mailboxes of a
 * provider whose rules are not known would be worse than keeping one
 * person's two spellings apart.
 */
#define MS_RULES MAILBOX_DROP_PLUS_TAG
#define YAHOO_RULES MAILBOX_DROP_DASH_TAG
static const MailProvider mail_providers[] = {
	{"gmail.com", "gmail.com", MAILBOX_DROP_PLUS_TAG | MAILBOX_DROP_DOTS},
	{"googlemail.com", "gmail.com", MAILBOX_DROP_PLUS_TAG | MAILBOX_DROP_DOTS},
	{"outlook.com", NULL, MS_RULES},
	{"hotmail.com", NULL, MS_RULES},
	{"live.com", NULL, MS_RULES},
	{"msn.com", NULL, MS_RULES},
	{"passport.com", NULL, MS_RULES},
	{"windowslive.com", NULL, MS_RULES},
	{"hotmail.co.uk", NULL, MS_RULES},
	{"hotmail.fr", NULL, MS_RULES},
	{"hotmail.de", NULL, MS_RULES},
	{"hotmail.it", NULL, MS_RULES},
	{"hotmail.es", NULL, MS_RULES},
	{"hotmail.be", NULL, MS_RULES},
	{"hotmail.nl", NULL, MS_RULES},
	{"hotmail.se", NULL, MS_RULES},
	{"hotmail.ca", NULL, MS_RULES},
	{"hotmail.com.br", NULL, MS_RULES},
	{"hotmail.com.ar", NULL, MS_RULES},
	{"hotmail.com.au", NULL, MS_RULES},
	{"hotmail.co.jp", NULL, MS_RULES},
	{"live.co.uk", NULL, MS_RULES},
	{"live.fr", NULL, MS_RULES},
	{"live.de", NULL, MS_RULES},
	{"live.it", NULL, MS_RULES},
	{"live.nl", NULL, MS_RULES},
	{"live.be", NULL, MS_RULES},
	{"live.ca", NULL, MS_RULES},
	{"live.se", NULL, MS_RULES},
	{"live.dk", NULL, MS_RULES},
	{"live.no", NULL, MS_RULES},
	{"live.ie", NULL, MS_RULES},
	{"live.at", NULL, MS_RULES},
	{"live.jp", NULL, MS_RULES},
	{"live.cl", NULL, MS_RULES},
	{"live.com.au", NULL, MS_RULES},
	{"live.com.mx", NULL, MS_RULES},
	{"live.com.ar", NULL, MS_RULES},
	{"outlook.fr", NULL, MS_RULES},
	{"outlook.de", NULL, MS_RULES},
	{"outlook.it", NULL, MS_RULES},
	{"outlook.es", NULL, MS_RULES},
	{"outlook.ie", NULL, MS_RULES},
	{"outlook.at", NULL, MS_RULES},
	{"outlook.be", NULL, MS_RULES},
	{"outlook.dk", NULL, MS_RULES},
	{"outlook.pt", NULL, MS_RULES},
	{"outlook.jp", NULL, MS_RULES},
	{"outlook.kr", NULL, MS_RULES},
	{"outlook.in", NULL, MS_RULES},
	{"outlook.sa", NULL, MS_RULES},
	{"outlook.cl", NULL, MS_RULES},
	{"outlook.com.br", NULL, MS_RULES},
	{"outlook.com.ar", NULL, MS_RULES},
	{"outlook.com.au", NULL, MS_RULES},
	{"outlook.co.nz", NULL, MS_RULES},
	{"icloud.com", NULL, MAILBOX_DROP_PLUS_TAG},
	{"me.com", NULL, MAILBOX_DROP_PLUS_TAG},
	{"mac.com", NULL, MAILBOX_DROP_PLUS_TAG},
	{"yahoo.com", NULL, YAHOO_RULES},
	{"ymail.com", NULL, YAHOO_RULES},
	{"rocketmail.com", NULL, YAHOO_RULES},
	{"yahoo.co.uk", NULL, YAHOO_RULES},
	{"yahoo.fr", NULL, YAHOO_RULES},
	{"yahoo.de", NULL, YAHOO_RULES},
	{"yahoo.it", NULL, YAHOO_RULES},
	{"yahoo.es", NULL, YAHOO_RULES},
	{"yahoo.ie", NULL, YAHOO_RULES},
	{"yahoo.se", NULL, YAHOO_RULES},
	{"yahoo.dk", NULL, YAHOO_RULES},
	{"yahoo.no", NULL, YAHOO_RULES},
	{"yahoo.gr", NULL, YAHOO_RULES},
	{"yahoo.pl", NULL, YAHOO_RULES},
	{"yahoo.ro", NULL, YAHOO_RULES},
	{"yahoo.ca", NULL, YAHOO_RULES},
	{"yahoo.in", NULL, YAHOO_RULES},
	{"yahoo.co.in", NULL, YAHOO_RULES},
	{"yahoo.co.id", NULL, YAHOO_RULES},
	{"yahoo.co.nz", NULL, YAHOO_RULES},
	{"yahoo.com.au", NULL, YAHOO_RULES},
	{"yahoo.com.br", NULL, YAHOO_RULES},
	{"yahoo.com.ar", NULL, YAHOO_RULES},
	{"yahoo.com.mx", NULL, YAHOO_RULES},
	{"yahoo.com.sg", NULL, YAHOO_RULES},
	{"yahoo.com.ph", NULL, YAHOO_RULES},
	{"yahoo.com.hk", NULL, YAHOO_RULES},
	{"yahoo.com.tw", NULL, YAHOO_RULES},
	{"proton.me", NULL, MAILBOX_DROP_PLUS_TAG | MAILBOX_DROP_DOTS | MAILBOX_DROP_SEPARATORS},
	{"protonmail.com", NULL, MAILBOX_DROP_PLUS_TAG | MAILBOX_DROP_DOTS | MAILBOX_DROP_SEPARATORS},
	{"protonmail.ch", NULL, MAILBOX_DROP_PLUS_TAG | MAILBOX_DROP_DOTS | MAILBOX_DROP_SEPARATORS},
	{"pm.me", NULL, MAILBOX_DROP_PLUS_TAG | MAILBOX_DROP_DOTS | MAILBOX_DROP_SEPARATORS},
};

/*
 * Fill *err with a message naming the raw value and a detail, and return
 * NULL so that callers can "return norm_fail(...)".
 */
static char *
norm_fail(OmniNormError *err, const char *what, const char *in, int len,
		  const char *detail)
{
	err->msg = psprintf("invalid %s \"%s\"", what, omni_clip_value(in, len));
	err->detail = pstrdup(detail);
	err->hint = NULL;
	return NULL;
}

/*
 * Raise a normalization error with SQLSTATE 22023 (invalid_parameter_value).
 */
void
omni_norm_raise(OmniNormError *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg_internal("%s", err->msg),
			 err->detail ? errdetail_internal("%s", err->detail) : 0,
			 err->hint ? errhint("%s", err->hint) : 0));
	pg_unreachable();
}

/*
 * Convert a value in the server encoding to UTF-8 (a no-op in a UTF-8
 * database), and back.
 */
static char *
to_utf8(const char *in, int len, int *outlen)
{
	char	   *s = pnstrdup(in, len);
	char	   *u = (char *) pg_server_to_any(s, len, PG_UTF8);

	*outlen = (u == s) ? len : strlen(u);
	return u;
}

static char *
from_utf8(const char *in)
{
	return (char *) pg_any_to_server(in, strlen(in), PG_UTF8);
}

/*
 * UTF-8 to a palloc'd UTF-16 buffer with room to spare; invalid UTF-8 cannot
 * reach here in a UTF-8 database, and is replaced by U+FFFD otherwise.
 */
static UChar *
utf8_to_uchars(const char *in, int len, int32_t *ulen, int32_t *ucap)
{
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		cap = len * 2 + 16;
	UChar	   *buf = palloc(cap * sizeof(UChar));

	u_strFromUTF8WithSub(buf, cap, ulen, in, len, 0xFFFD, NULL, &status);
	if (U_FAILURE(status))
		elog(ERROR, "could not convert to UTF-16: %s", u_errorName(status));
	*ucap = cap;
	return buf;
}

/* A UTF-16 buffer back to palloc'd UTF-8. */
static char *
uchars_to_utf8(const UChar *in, int32_t len)
{
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		need;
	char	   *out;

	u_strToUTF8(NULL, 0, &need, in, len, &status);
	if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status))
		elog(ERROR, "could not convert from UTF-16: %s", u_errorName(status));
	status = U_ZERO_ERROR;
	out = palloc(need + 1);
	u_strToUTF8(out, need + 1, NULL, in, len, &status);
	if (U_FAILURE(status))
		elog(ERROR, "could not convert from UTF-16: %s", u_errorName(status));
	return out;
}

/* Trim Unicode white space (and control characters) at both ends, in place. */
static void
utrim(UChar *buf, int32_t *len)
{
	int32_t		start = 0;
	int32_t		end = *len;

	while (start < end && (u_isUWhiteSpace(buf[start]) || u_iscntrl(buf[start])))
		start++;
	while (end > start && (u_isUWhiteSpace(buf[end - 1]) || u_iscntrl(buf[end - 1])))
		end--;
	if (start > 0)
		memmove(buf, buf + start, (end - start) * sizeof(UChar));
	*len = end - start;
}

/*
 * Apply one of ICU's Normalizer2 instances (NFKC, NFKC_Casefold) to a UTF-16
 * string, returning a new palloc'd buffer.
 */
static UChar *
unorm_apply(const UNormalizer2 *norm, const UChar *in, int32_t len, int32_t *outlen)
{
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		cap = len * 3 + 16;
	UChar	   *out = palloc(cap * sizeof(UChar));

	*outlen = unorm2_normalize(norm, in, len, out, cap, &status);
	if (status == U_BUFFER_OVERFLOW_ERROR)
	{
		cap = *outlen + 1;
		out = repalloc(out, cap * sizeof(UChar));
		status = U_ZERO_ERROR;
		*outlen = unorm2_normalize(norm, in, len, out, cap, &status);
	}
	if (U_FAILURE(status))
		elog(ERROR, "ICU normalization failed: %s", u_errorName(status));
	return out;
}

static const UNormalizer2 *
nfkc(void)
{
	UErrorCode	status = U_ZERO_ERROR;
	const UNormalizer2 *n = unorm2_getNFKCInstance(&status);

	if (U_FAILURE(status))
		elog(ERROR, "could not open the ICU NFKC normalizer: %s", u_errorName(status));
	return n;
}

static const UNormalizer2 *
nfkc_casefold(void)
{
	UErrorCode	status = U_ZERO_ERROR;
	const UNormalizer2 *n = unorm2_getNFKCCasefoldInstance(&status);

	if (U_FAILURE(status))
		elog(ERROR, "could not open the ICU NFKC_Casefold normalizer: %s", u_errorName(status));
	return n;
}

/*
 * The UTS #46 processor for domains: non-transitional (so "ß" stays "ß" and
 * becomes "xn--" form instead of "ss"), STD3 host name rules, and the
 * bidi and CONTEXTJ checks of IDNA2008.
 */
static UIDNA *
get_idna(void)
{
	if (omni_idna == NULL)
	{
		UErrorCode	status = U_ZERO_ERROR;

		omni_idna = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_ASCII |
									UIDNA_NONTRANSITIONAL_TO_UNICODE |
									UIDNA_USE_STD3_RULES |
									UIDNA_CHECK_BIDI |
									UIDNA_CHECK_CONTEXTJ, &status);
		if (U_FAILURE(status))
			elog(ERROR, "could not open the ICU IDNA processor: %s", u_errorName(status));
	}
	return omni_idna;
}

/*
 * Normalize an e-mail address, or return NULL with *err filled when the
 * value is not an address.
 *
 * Only the common "mailbox@domain" form is accepted: quoted mailbox names
 * and address literals ("[192.0.2.1]") are refused, as no marketing system
 * can use them.
 */
char *
omni_normalize_email_soft(const char *in, int len, OmniNormError *err)
{
	const char *what = "e-mail address";
	int			ulen8;
	char	   *u8 = to_utf8(in, len, &ulen8);
	int32_t		ulen,
				ucap,
				llen;
	UChar	   *ubuf = utf8_to_uchars(u8, ulen8, &ulen, &ucap);
	UChar	   *lower;
	UErrorCode	status = U_ZERO_ERROR;
	char	   *addr;
	char	   *at;
	char	   *local;
	char	   *domain;
	char		ascii[512];
	int32_t		alen;
	UIDNAInfo	info = UIDNA_INFO_INITIALIZER;
	const MailProvider *provider = NULL;
	StringInfoData mbox;
	int			i;

	utrim(ubuf, &ulen);
	if (ulen == 0)
		return norm_fail(err, what, in, len, "The value is empty.");

	/* Lower case with the root locale: no Turkish dotless i surprises. */
	lower = palloc((ulen * 3 + 16) * sizeof(UChar));
	llen = u_strToLower(lower, ulen * 3 + 16, ubuf, ulen, "", &status);
	if (U_FAILURE(status))
		elog(ERROR, "ICU lower-casing failed: %s", u_errorName(status));
	addr = uchars_to_utf8(lower, llen);

	at = strchr(addr, '@');
	if (at == NULL)
		return norm_fail(err, what, in, len, "An address has the form mailbox@domain.");
	if (strchr(at + 1, '@') != NULL)
		return norm_fail(err, what, in, len, "The value holds more than one \"@\".");
	*at = '\0';
	local = addr;
	domain = at + 1;

	/* The mailbox name: printable, no spaces or specials, dots inside only. */
	if (*local == '\0')
		return norm_fail(err, what, in, len, "The mailbox name before \"@\" is empty.");
	if (strlen(local) > 64)
		return norm_fail(err, what, in, len, "The mailbox name is longer than 64 bytes.");
	for (i = 0; local[i]; i++)
	{
		unsigned char c = (unsigned char) local[i];

		if (c <= 0x20 || c == 0x7f || strchr("()<>,;:\\\"[]", c) != NULL)
			return norm_fail(err, what, in, len,
							 "The mailbox name holds a space, a control character or one of ()<>,;:\\\"[].");
	}
	if (local[0] == '.' || local[strlen(local) - 1] == '.' || strstr(local, "..") != NULL)
		return norm_fail(err, what, in, len,
						 "The mailbox name starts or ends with a dot, or holds two dots in a row.");

	/* The domain, to ASCII by UTS #46; one trailing root dot is allowed. */
	if (*domain != '\0' && domain[strlen(domain) - 1] == '.')
		domain[strlen(domain) - 1] = '\0';
	if (*domain == '\0')
		return norm_fail(err, what, in, len, "The domain after \"@\" is empty.");
	if (*domain == '[')
		return norm_fail(err, what, in, len, "Address literals are not supported.");
	alen = uidna_nameToASCII_UTF8(get_idna(), domain, -1, ascii, sizeof(ascii) - 1,
								  &info, &status);
	if (status == U_BUFFER_OVERFLOW_ERROR || alen > 253)
		return norm_fail(err, what, in, len, "The domain is longer than 253 characters.");
	if (U_FAILURE(status))
		elog(ERROR, "ICU IDNA failed: %s", u_errorName(status));
	if (info.errors != 0)
		return norm_fail(err, what, in, len,
						 psprintf("The domain \"%s\" is not a valid host name (UTS #46 errors 0x%x).",
								  domain, (unsigned) info.errors));
	ascii[alen] = '\0';
	if (strchr(ascii, '.') == NULL)
		return norm_fail(err, what, in, len,
						 psprintf("The domain \"%s\" has no dot.", domain));
	if (strspn(strrchr(ascii, '.') + 1, "0123456789") == strlen(strrchr(ascii, '.') + 1))
		return norm_fail(err, what, in, len,
						 psprintf("The domain \"%s\" does not end with a top-level domain.", domain));

	/* The provider's rules. */
	for (i = 0; i < lengthof(mail_providers); i++)
	{
		if (strcmp(ascii, mail_providers[i].domain) == 0)
		{
			provider = &mail_providers[i];
			break;
		}
	}
	initStringInfo(&mbox);
	if (provider == NULL)
		appendStringInfoString(&mbox, local);
	else
	{
		int			end = strlen(local);

		if (provider->rules & MAILBOX_DROP_PLUS_TAG)
		{
			char	   *plus = strchr(local, '+');

			if (plus)
				end = plus - local;
		}
		if (provider->rules & MAILBOX_DROP_DASH_TAG)
		{
			char	   *dash = strchr(local, '-');

			if (dash && dash - local < end)
				end = dash - local;
		}
		for (i = 0; i < end; i++)
		{
			char		c = local[i];

			if (c == '.' && (provider->rules & MAILBOX_DROP_DOTS))
				continue;
			if ((c == '_' || c == '-') && (provider->rules & MAILBOX_DROP_SEPARATORS))
				continue;
			appendStringInfoChar(&mbox, c);
		}
		if (mbox.len == 0)
			return norm_fail(err, what, in, len,
							 psprintf("The mailbox name is empty once the rules of %s are applied.",
									  provider->domain));
		if (provider->canonical)
			strlcpy(ascii, provider->canonical, sizeof(ascii));
	}
	appendStringInfoChar(&mbox, '@');
	appendStringInfoString(&mbox, ascii);
	return from_utf8(mbox.data);
}

/*
 * Collapse runs of white space into one space and trim, in place.
 */
static void
collapse_space(UChar *buf, int32_t *len)
{
	int32_t		o = 0;
	bool		pending = false;
	int32_t		i;

	for (i = 0; i < *len; i++)
	{
		if (u_isUWhiteSpace(buf[i]) || u_iscntrl(buf[i]))
		{
			pending = (o > 0);
			continue;
		}
		if (pending)
			buf[o++] = ' ';
		pending = false;
		buf[o++] = buf[i];
	}
	*len = o;
}

/*
 * The transliterator of names: any script to Latin, then Latin to ASCII
 * ("Иван" -> "Ivan", "Ñúñez" -> "Nunez", "ß" -> "ss").
 */
static UTransliterator *
get_latin_ascii(void)
{
	if (omni_latin_ascii == NULL)
	{
		UErrorCode	status = U_ZERO_ERROR;
		UChar		id[64];
		UParseError perr;

		u_uastrcpy(id, "Any-Latin; Latin-ASCII");
		omni_latin_ascii = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, &perr, &status);
		if (U_FAILURE(status))
			elog(ERROR, "could not open the ICU transliterator \"Any-Latin; Latin-ASCII\": %s",
				 u_errorName(status));
	}
	return omni_latin_ascii;
}

/*
 * Normalize a person's name: transliterate to Latin ASCII, case-fold with
 * NFKC, collapse white space.  Characters that have no Latin form (emoji,
 * symbols) are kept, NFKC-normalized.
 */
char *
omni_normalize_name_soft(const char *in, int len, OmniNormError *err)
{
	int			ulen8;
	char	   *u8 = to_utf8(in, len, &ulen8);
	int32_t		ulen,
				ucap,
				limit,
				flen;
	UChar	   *ubuf = utf8_to_uchars(u8, ulen8, &ulen, &ucap);
	UChar	   *work;
	int32_t		wcap;
	UChar	   *folded;
	UErrorCode	status = U_ZERO_ERROR;

	/* Transliteration can grow the text (one ideograph is a syllable). */
	wcap = ulen * 8 + 64;
	for (;;)
	{
		int32_t		wlen = ulen;

		work = palloc(wcap * sizeof(UChar));
		memcpy(work, ubuf, ulen * sizeof(UChar));
		limit = ulen;
		status = U_ZERO_ERROR;
		utrans_transUChars(get_latin_ascii(), work, &wlen, wcap, 0, &limit, &status);
		if (status == U_BUFFER_OVERFLOW_ERROR)
		{
			pfree(work);
			wcap *= 4;
			continue;
		}
		if (U_FAILURE(status))
			elog(ERROR, "ICU transliteration failed: %s", u_errorName(status));
		ulen = wlen;
		break;
	}
	folded = unorm_apply(nfkc_casefold(), work, ulen, &flen);
	collapse_space(folded, &flen);
	if (flen == 0)
		return norm_fail(err, "name", in, len, "The name is empty.");
	return from_utf8(uchars_to_utf8(folded, flen));
}

/*
 * Normalize an identifier of a kind with no specific rule (cookie, device,
 * crm, ...): trim and NFKC.  Case is kept: such identifiers are often
 * case-sensitive.
 */
char *
omni_normalize_text_soft(const char *in, int len, OmniNormError *err)
{
	int			ulen8;
	char	   *u8 = to_utf8(in, len, &ulen8);
	int32_t		ulen,
				ucap,
				nlen;
	UChar	   *ubuf = utf8_to_uchars(u8, ulen8, &ulen, &ucap);
	UChar	   *n;

	n = unorm_apply(nfkc(), ubuf, ulen, &nlen);
	utrim(n, &nlen);
	if (nlen == 0)
		return norm_fail(err, "identifier", in, len, "The value is empty.");
	return from_utf8(uchars_to_utf8(n, nlen));
}

PG_FUNCTION_INFO_V1(omni_normalize_email);
/*
 * omni.normalize_email(text): the SQL face of the e-mail normalizer.
 */
Datum
omni_normalize_email(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	OmniNormError err;
	char	   *out;

	out = omni_normalize_email_soft(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &err);
	if (out == NULL)
		omni_norm_raise(&err);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(omni_normalize_name);
/*
 * omni.normalize_name(text): the SQL face of the name normalizer.
 */
Datum
omni_normalize_name(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	OmniNormError err;
	char	   *out;

	out = omni_normalize_name_soft(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &err);
	if (out == NULL)
		omni_norm_raise(&err);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * The spoof checker used for skeletons.
 */
static USpoofChecker *
get_spoof(void)
{
	if (omni_spoof == NULL)
	{
		UErrorCode	status = U_ZERO_ERROR;

		omni_spoof = uspoof_open(&status);
		if (U_FAILURE(status))
			elog(ERROR, "could not open the ICU spoof checker: %s", u_errorName(status));
	}
	return omni_spoof;
}

PG_FUNCTION_INFO_V1(omni_skeleton);
/*
 * omni.skeleton(text): the UTS #39 confusable skeleton, so that look-alike
 * strings in different scripts ("paypal" with a Cyrillic "а") compare equal.
 */
Datum
omni_skeleton(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int			ulen8;
	char	   *u8 = to_utf8(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &ulen8);
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		need;
	char	   *out;

	need = uspoof_getSkeletonUTF8(get_spoof(), 0, u8, ulen8, NULL, 0, &status);
	if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status))
		elog(ERROR, "ICU skeleton failed: %s", u_errorName(status));
	status = U_ZERO_ERROR;
	out = palloc(need + 1);
	uspoof_getSkeletonUTF8(get_spoof(), 0, u8, ulen8, out, need + 1, &status);
	if (U_FAILURE(status))
		elog(ERROR, "ICU skeleton failed: %s", u_errorName(status));
	PG_RETURN_TEXT_P(cstring_to_text(from_utf8(out)));
}

PG_FUNCTION_INFO_V1(omni_jaro_winkler);
/*
 * omni.jaro_winkler(text, text): the Jaro-Winkler similarity of two strings,
 * compared by character (code point), with Winkler's prefix scale 0.1 over
 * at most four characters and no boost threshold: the standard definition
 * (MARTHA/MARHTA = 0.961).  Two empty strings are identical (1).
 *
 * The comparison costs up to the product of the lengths, so strings are
 * limited to JW_MAX_CHARS characters (names, addresses and identifiers are
 * far shorter): a longer one is an error, not a backend busy for minutes.
 */
#define JW_MAX_CHARS 10000

Datum
omni_jaro_winkler(PG_FUNCTION_ARGS)
{
	text	   *a = PG_GETARG_TEXT_PP(0);
	text	   *b = PG_GETARG_TEXT_PP(1);
	int			blen_a = VARSIZE_ANY_EXHDR(a);
	int			blen_b = VARSIZE_ANY_EXHDR(b);
	pg_wchar   *s = palloc((blen_a + 1) * sizeof(pg_wchar));
	pg_wchar   *t = palloc((blen_b + 1) * sizeof(pg_wchar));
	int			ls = pg_mb2wchar_with_len(VARDATA_ANY(a), s, blen_a);
	int			lt = pg_mb2wchar_with_len(VARDATA_ANY(b), t, blen_b);
	bool	   *ms,
			   *mt;
	int			window,
				m = 0,
				trans = 0,
				prefix = 0,
				i,
				j,
				k;
	float8		jaro;

	if (ls > JW_MAX_CHARS || lt > JW_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("omni.jaro_winkler compares strings of at most %d characters",
						JW_MAX_CHARS),
				 errdetail("The %s string has %d characters.",
						   ls > JW_MAX_CHARS ? "first" : "second",
						   ls > JW_MAX_CHARS ? ls : lt)));
	if (ls == 0 && lt == 0)
		PG_RETURN_FLOAT8(1.0);
	if (ls == 0 || lt == 0)
		PG_RETURN_FLOAT8(0.0);

	window = Max(ls, lt) / 2 - 1;
	if (window < 0)
		window = 0;
	ms = palloc0(ls * sizeof(bool));
	mt = palloc0(lt * sizeof(bool));
	for (i = 0; i < ls; i++)
	{
		int			lo = Max(0, i - window);
		int			hi = Min(lt - 1, i + window);

		CHECK_FOR_INTERRUPTS();
		for (j = lo; j <= hi; j++)
		{
			if (!mt[j] && s[i] == t[j])
			{
				ms[i] = mt[j] = true;
				m++;
				break;
			}
		}
	}
	if (m == 0)
		PG_RETURN_FLOAT8(0.0);
	k = 0;
	for (i = 0; i < ls; i++)
	{
		if (!ms[i])
			continue;
		while (!mt[k])
			k++;
		if (s[i] != t[k])
			trans++;
		k++;
	}
	jaro = ((float8) m / ls + (float8) m / lt + (float8) (m - trans / 2.0) / m) / 3.0;
	while (prefix < 4 && prefix < ls && prefix < lt && s[prefix] == t[prefix])
		prefix++;
	PG_RETURN_FLOAT8(jaro + prefix * 0.1 * (1.0 - jaro));
}
