/*-------------------------------------------------------------------------
 *
 * fuzz_sequence.c
 *		libFuzzer harness of sequence patterns (omni.sequence_match and
 *		omni.sequence_count, src/journey/sequence.c).  The input is the
 *		pattern text, then optionally a NUL byte and the steps to run it
 *		over, two bytes each: the time since the previous step (0-199
 *		seconds, or 200-255 for 1 to 56 hours) and the conditions the step
 *		matches (bit b: conditions b+1, b+9, b+17, ...).
 *
 * A pattern is refused with an error, or parsed and run over the steps by
 * the dynamic program of sequence.c, whose results must agree with a
 * plain, quadratic evaluation of the same semantics (reference_run below)
 * for journeys of up to 64 steps; and match must be "count > 0".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"

#include "journey/journey.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

#define REFERENCE_MAX_STEPS 64

static bool
elem_matches(const SeqElement *e, uint64 mask)
{
	return e->cond < 0 || (mask & (UINT64CONST(1) << e->cond)) != 0;
}

/* Whether step j may follow step i as element e (the gap of e). */
static bool
may_follow(const SeqInput *in, const SeqElement *e, int i, int j)
{
	int64		dt;

	if (j <= i || j >= in->n || (!e->skip && j != i + 1))
		return false;
	dt = in->ts[j] - in->ts[i];
	return dt >= e->lo && dt <= e->hi;
}

/*
 * The reference: feasible[m][i] says whether step i can match element m
 * and the rest of the pattern after it; a count takes, from the left, the
 * earliest feasible step for each element.
 */
static int32
reference_run(const SeqPattern *sp, const SeqInput *in, bool count)
{
	bool		feasible[SEQUENCE_MAX_ELEMENTS][REFERENCE_MAX_STEPS];
	int32		found = 0;
	int			pos = 0;

	for (int m = sp->nelems - 1; m >= 0; m--)
		for (int i = 0; i < in->n; i++)
		{
			bool		ok = elem_matches(&sp->elems[m], in->mask[i]);

			if (ok && m + 1 < sp->nelems)
			{
				ok = false;
				for (int j = i + 1; j < in->n && !ok; j++)
					ok = may_follow(in, &sp->elems[m + 1], i, j) && feasible[m + 1][j];
			}
			feasible[m][i] = ok;
		}
	for (;;)
	{
		int			cur = pos;

		while (cur < in->n && !feasible[0][cur])
			cur++;
		if (cur >= in->n)
			break;
		if (!count)
			return 1;
		for (int m = 1; m < sp->nelems; m++)
		{
			int			j = cur + 1;

			while (!(may_follow(in, &sp->elems[m], cur, j) && feasible[m][j]))
			{
				if (++j >= in->n)
					fuzz_fail("reference: no successor of a feasible step");
			}
			cur = j;
		}
		found++;
		pos = cur + 1;
	}
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	const uint8 *nul = memchr(data, '\0', size);
	size_t		plen = nul ? (size_t) (nul - data) : size;

	if (!fuzz_is_text(data, plen))
		return -1;
	fuzz_begin();
	PG_TRY();
	{
		SeqPattern *sp = journey_sequence_parse(fuzz_cstring(data, plen));
		const uint8 *steps = nul ? nul + 1 : data + size;
		int			nsteps = (data + size - steps) / 2;
		SeqInput	in;
		int64		ts = INT64CONST(826000000) * USECS_PER_SEC;
		int32		match,
					count;

		if (sp->nelems < 1 || sp->nelems > SEQUENCE_MAX_ELEMENTS ||
			sp->maxcond < 0 || sp->maxcond > JOURNEY_MAX_PATTERNS)
			fuzz_fail("parsed pattern has %d elements, highest condition %d",
					  sp->nelems, sp->maxcond);
		in.n = 0;
		in.ts = palloc(sizeof(int64) * Max(nsteps, 1));
		in.mask = palloc(sizeof(uint64) * Max(nsteps, 1));
		for (int i = 0; i < nsteps; i++)
		{
			int			dt = steps[2 * i];
			uint64		mask = steps[2 * i + 1] * UINT64CONST(0x0101010101010101);

			ts += (dt < 200 ? dt : (int64) (dt - 199) * 3600) * USECS_PER_SEC;
			if (mask == 0)
				continue;		/* as seq_prepare: only relevant steps */
			in.ts[in.n] = ts;
			in.mask[in.n] = mask;
			in.n++;
		}
		match = journey_sequence_run(sp, &in, false);
		count = journey_sequence_run(sp, &in, true);
		if (match != (count > 0) || count < 0 || (int64) count * sp->nelems > in.n)
			fuzz_fail("match %d and count %d disagree over %d steps", match, count, in.n);
		if (in.n <= REFERENCE_MAX_STEPS)
		{
			int32		ref = reference_run(sp, &in, true);

			if (ref != count || reference_run(sp, &in, false) != match)
				fuzz_fail("count %d, reference count %d", count, ref);
		}
	}
	PG_CATCH();
	{
		fuzz_check_error();
	}
	PG_END_TRY();
	fuzz_end();
	return 0;
}
