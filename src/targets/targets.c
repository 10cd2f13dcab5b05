/*-------------------------------------------------------------------------
 *
 * targets.c
 *	  The registry of target drivers, and the SQL entry point that
 *	  validates a target's kind-specific endpoint and options.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "driver.h"

static const GsDriver *const drivers[] = {
	&gs_file_driver,
	&gs_http_driver,
	&gs_s3_driver,
	&gs_snowflake_driver,
	&gs_fhir_driver,
};

/* options every kind takes; the worker reads them, drivers ignore them */
static const char *const common_options[] = {
	"schedule", "tables", "facilities", "max_batch_events", "max_batch_bytes"
};

const GsDriver *
GsFindDriver(const char *kind)
{
	int			i;

	for (i = 0; i < lengthof(drivers); i++)
		if (strcmp(drivers[i]->kind, kind) == 0)
			return drivers[i];
	return NULL;
}

bool
GsIsCommonTargetOption(const char *key)
{
	int			i;

	for (i = 0; i < lengthof(common_options); i++)
		if (strcmp(common_options[i], key) == 0)
			return true;
	return false;
}

/*
 * validate_target_kind(kind text, endpoint text, options jsonb) -> void
 *		Kind-specific checks; the common options are checked by the
 *		calling SQL function.
 */
PG_FUNCTION_INFO_V1(gs_validate_target_kind);
Datum
gs_validate_target_kind(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *endpoint = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *options = PG_GETARG_JSONB_P(2);
	const GsDriver *driver = GsFindDriver(kind);

	if (driver == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("targets of kind \"%s\" are not supported yet", kind),
				 errdetail("This version of globalsync delivers to targets of kind file, http, s3, snowflake and fhir."),
				 errhint("Use one of those kinds.")));
	driver->validate(endpoint, options);
	PG_RETURN_VOID();
}

/*
 * _check_target_secret(kind text, secret text) -> void
 *		Raise an error, never showing the secret, if it is not usable by
 *		targets of this kind.
 */
PG_FUNCTION_INFO_V1(gs_check_target_secret);
Datum
gs_check_target_secret(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *secret = text_to_cstring(PG_GETARG_TEXT_PP(1));
	const GsDriver *driver = GsFindDriver(kind);

	if (driver == NULL || driver->check_secret == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("targets of kind \"%s\" take no secret", kind),
				 errhint("Secrets are for http (signing), s3 (access keys), snowflake (private key) and fhir (bearer token) targets.")));
	driver->check_secret(secret);
	PG_RETURN_VOID();
}
