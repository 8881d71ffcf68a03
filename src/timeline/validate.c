/*-------------------------------------------------------------------------
 *
 * validate.c
 *		Operator class validator of the timeline index access method.
 *
 * A timeline operator class has no support functions and only search
 * operators numbered like btree's (1 <, 2 <=, 3 =, 4 >=, 5 >) on its own
 * type; the key classes (integer types) have equality alone, since a
 * scan constrains the key by equality only, with any integer type on the
 * right.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "timeline/timeline.h"

/*
 * amvalidate: report every problem with INFO, as the core validators do,
 * and return whether there was none.
 */
bool
tl_validate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opclassname;
	HeapTuple	familytup;
	Form_pg_opfamily familyform;
	char	   *opfamilyname;
	CatCList   *proclist,
			   *oprlist;
	bool		iskey;
	bool		haseq = false;
	int			i;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opclassname = NameStr(classform->opcname);

	familytup = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamilyoid));
	if (!HeapTupleIsValid(familytup))
		elog(ERROR, "cache lookup failed for operator family %u", opfamilyoid);
	familyform = (Form_pg_opfamily) GETSTRUCT(familytup);
	opfamilyname = NameStr(familyform->opfname);

	if (opcintype != INT8OID && opcintype != INT4OID &&
		opcintype != TIMESTAMPTZOID && opcintype != TIMESTAMPOID)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("timeline operator class \"%s\" is for type %s, which the access method cannot store",
						opclassname, format_type_be(opcintype))));
		result = false;
	}
	iskey = (opcintype == INT8OID || opcintype == INT4OID);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("timeline operator family \"%s\" contains function %s with support number %d, but the access method has no support functions",
						opfamilyname, format_procedure(procform->amproc),
						procform->amprocnum)));
		result = false;
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy < 1 || oprform->amopstrategy > TL_NSTRATEGIES ||
			(iskey && oprform->amopstrategy != TL_EQ_STRATEGY))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("timeline operator family \"%s\" contains operator %s with invalid strategy number %d",
							opfamilyname, format_operator(oprform->amopopr),
							oprform->amopstrategy)));
			result = false;
		}
		if (oprform->amoppurpose != AMOP_SEARCH ||
			OidIsValid(oprform->amopsortfamily))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("timeline operator family \"%s\" contains invalid ORDER BY specification for operator %s",
							opfamilyname, format_operator(oprform->amopopr))));
			result = false;
		}
		if (!check_amop_signature(oprform->amopopr, BOOLOID,
								  oprform->amoplefttype, oprform->amoprighttype) ||
			oprform->amoplefttype != opcintype ||
			(iskey ? (oprform->amoprighttype != INT8OID &&
					  oprform->amoprighttype != INT4OID &&
					  oprform->amoprighttype != INT2OID)
			 : oprform->amoprighttype != opcintype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("timeline operator family \"%s\" contains operator %s with wrong signature",
							opfamilyname, format_operator(oprform->amopopr))));
			result = false;
		}
		if (oprform->amopstrategy == TL_EQ_STRATEGY)
			haseq = true;
	}
	if (!haseq)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("timeline operator class \"%s\" has no equality operator",
						opclassname)));
		result = false;
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(familytup);
	ReleaseSysCache(classtup);
	return result;
}
