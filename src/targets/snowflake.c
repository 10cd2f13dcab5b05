/*
 * snowflake.c: placeholder until the snowflake driver lands (issue 6); validate refuses.
 */
#include "postgres.h"

#include "fmgr.h"

#include "driver.h"

static void
Validate(const char *endpoint, Jsonb *options)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("targets of kind \"snowflake\" are not supported yet")));
}

const GsDriver gs_snowflake_driver = {
	.kind = "snowflake",
	.validate = Validate,
};
