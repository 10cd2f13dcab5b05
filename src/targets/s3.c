/*
 * s3.c: placeholder until the s3 driver lands (issue 6); validate refuses.
 */
#include "postgres.h"

#include "fmgr.h"

#include "driver.h"

static void
Validate(const char *endpoint, Jsonb *options)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("targets of kind \"s3\" are not supported yet")));
}

const GsDriver gs_s3_driver = {
	.kind = "s3",
	.validate = Validate,
};
