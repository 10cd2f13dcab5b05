/*
 * fhir.c: placeholder until the fhir driver lands (issue 6); validate refuses.
 */
#include "postgres.h"

#include "fmgr.h"

#include "driver.h"

static void
Validate(const char *endpoint, Jsonb *options)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("targets of kind \"fhir\" are not supported yet")));
}

const GsDriver gs_fhir_driver = {
	.kind = "fhir",
	.validate = Validate,
};

PG_FUNCTION_INFO_V1(gs_fhir_resource);
Datum
gs_fhir_resource(PG_FUNCTION_ARGS)
{
	Validate(NULL, NULL);
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(gs_to_fhir_bundle);
Datum
gs_to_fhir_bundle(PG_FUNCTION_ARGS)
{
	Validate(NULL, NULL);
	PG_RETURN_NULL();
}
