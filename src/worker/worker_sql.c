/*-------------------------------------------------------------------------
 *
 * worker_sql.c
 *	  SQL functions that talk to the worker: wake it, ask it to cancel a
 *	  sync, read the progress slots, report whether it runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "globalsync.h"
#include "progress/progress.h"
#include "worker.h"

/*
 * _wake_worker() -> void
 *		At commit, tell this database's worker that targets or queued work
 *		changed (or have the launcher start one).
 */
PG_FUNCTION_INFO_V1(gs_wake_worker);
Datum
gs_wake_worker(PG_FUNCTION_ARGS)
{
	GsWorkerWakeAtCommit();
	PG_RETURN_VOID();
}

/*
 * _request_cancel(sync_id text) -> bool
 *		Flag a running sync of this database for cancellation; false if no
 *		worker runs it right now.
 */
PG_FUNCTION_INFO_V1(gs_request_cancel);
Datum
gs_request_cancel(PG_FUNCTION_ARGS)
{
	char	   *sync_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			pid = 0;

	if (!GsProgressAvailable())
		PG_RETURN_BOOL(false);
	if (!GsProgressRequestCancel(MyDatabaseId, sync_id, &pid))
		PG_RETURN_BOOL(false);
	GsWorkerWakeDb(MyDatabaseId);
	PG_RETURN_BOOL(true);
}

/*
 * sync_progress_raw() -> setof record
 *		The progress slots of this database's running syncs.
 */
PG_FUNCTION_INFO_V1(gs_sync_progress_raw);
Datum
gs_sync_progress_raw(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (!GsProgressAvailable())
		return (Datum) 0;
	for (i = 0; i < GS_PROGRESS_SLOTS; i++)
	{
		GsProgressData d;
		Datum		values[19];
		bool		nulls[19];

		if (!GsProgressRead(i, &d) || d.dboid != MyDatabaseId)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(d.sync_id);
		values[1] = CStringGetTextDatum(d.target_id);
		values[2] = CStringGetTextDatum(d.facility_id);
		nulls[2] = d.facility_id[0] == '\0';
		values[3] = CStringGetTextDatum(d.operation_type);
		values[4] = CStringGetTextDatum(d.status);
		values[5] = Int32GetDatum(d.step);
		values[6] = Int32GetDatum(GS_TOTAL_STEPS);
		values[7] = Int32GetDatum(d.percent);
		values[8] = CStringGetTextDatum(GsStepName(d.step));
		values[9] = CStringGetTextDatum(d.step_text);
		values[10] = Int64GetDatum(d.found);
		values[11] = Int64GetDatum(d.sent);
		values[12] = Int64GetDatum(d.acked);
		values[13] = Int64GetDatum(d.failed);
		values[14] = Int64GetDatum(d.bytes);
		values[15] = TimestampTzGetDatum(d.started_at);
		values[16] = TimestampTzGetDatum(d.last_updated);
		values[17] = Int32GetDatum(d.pid);
		values[18] = CStringGetTextDatum(d.last_error);
		nulls[18] = d.last_error[0] == '\0';
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * worker_info() -> (launcher_pid int, worker_pid int)
 *		NULLs when not preloaded; 0 when the process is not running.
 */
PG_FUNCTION_INFO_V1(gs_worker_info);
Datum
gs_worker_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	GsDbWorkerInfo info;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (!gs_loaded_at_startup)
		nulls[0] = nulls[1] = true;
	else
	{
		values[0] = Int32GetDatum(GsLauncherPid());
		values[1] = Int32GetDatum(GsDbWorkerGet(MyDatabaseId, &info) ? info.pid : 0);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
