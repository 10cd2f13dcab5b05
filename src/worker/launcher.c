/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The globalsync launcher: one static background worker that keeps a
 *	  sync worker running in every database that has the extension.
 *
 * It connects to no database and reads pg_database (a shared catalog).
 * For each database that accepts connections and is not a template it
 * starts a dynamic worker carrying the database OID, unless one runs or
 * the entry says "not before" (set by a worker that found no extension,
 * or after a worker error, as a back-off).  The worker decides whether
 * the extension is installed; CREATE EXTENSION wakes the launcher at
 * commit, so a new installation is picked up at once, and otherwise a
 * database is looked at again every idle_poll_interval.  On a standby it
 * starts nothing and waits for promotion.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "worker.h"

#define MAX_HANDLES 64

typedef struct LaunchedWorker
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} LaunchedWorker;

static LaunchedWorker launched[MAX_HANDLES];
static int	nlaunched = 0;

void
GsWorkerRegisterLauncher(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 10;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "globalsync");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "GsLauncherMain");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "globalsync launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "globalsync launcher");
	RegisterBackgroundWorker(&bgw);
}

/* Databases a worker may run in: OIDs into dbs, count returned. */
static int
ListDatabases(Oid *dbs, int max)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			n = 0;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL && n < max)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn || db->datistemplate)
			continue;
		if (db->datconnlimit == -2)
			continue;			/* invalid: an interrupted DROP DATABASE */
		dbs[n++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	return n;
}

static void
StartWorker(Oid dboid)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	bool		ok;

	if (nlaunched >= MAX_HANDLES)
		return;
	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "globalsync");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "GsWorkerMain");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "globalsync worker for database %u", dboid);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "globalsync worker");
	bgw.bgw_main_arg = ObjectIdGetDatum(dboid);
	bgw.bgw_notify_pid = MyProcPid;
	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&bgw, &handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("globalsync launcher could not start a worker for database %u", dboid),
				 errhint("Raise max_worker_processes.")));
		GsDbWorkerSetNextStart(dboid, GetCurrentTimestamp() +
							   (int64) gs_idle_poll_interval * USECS_PER_SEC);
		return;
	}
	launched[nlaunched].dboid = dboid;
	launched[nlaunched].handle = handle;
	nlaunched++;
}

/* Forget workers that have exited; back off those that did not say why. */
static void
ReapWorkers(void)
{
	int			i = 0;

	while (i < nlaunched)
	{
		pid_t		pid;
		BgwHandleStatus st = GetBackgroundWorkerPid(launched[i].handle, &pid);

		if (st == BGWH_STOPPED || st == BGWH_POSTMASTER_DIED)
		{
			GsDbWorkerInfo info;
			TimestampTz now = GetCurrentTimestamp();

			/*
			 * A worker that exits normally sets its own next start; one that
			 * died on an error leaves it in the past: wait 5 s, no tight loop.
			 */
			if (GsDbWorkerGet(launched[i].dboid, &info) && info.next_start <= now)
				GsDbWorkerSetNextStart(launched[i].dboid, now + 5 * USECS_PER_SEC);
			pfree(launched[i].handle);
			launched[i] = launched[--nlaunched];
			continue;
		}
		i++;
	}
}

static bool
IsLaunched(Oid dboid)
{
	int			i;

	for (i = 0; i < nlaunched; i++)
		if (launched[i].dboid == dboid)
			return true;
	return false;
}

void
GsLauncherMain(Datum arg)
{
	MemoryContext cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("globalsync launcher");

	GsLauncherAttach();
	before_shmem_exit(GsLauncherDetach, (Datum) 0);

	cxt = AllocSetContextCreate(TopMemoryContext, "globalsync launcher",
								ALLOCSET_DEFAULT_SIZES);
	ereport(LOG, (errmsg("globalsync launcher started")));

	for (;;)
	{
		Oid			dbs[MAX_HANDLES];
		int			ndbs;
		int			i;
		TimestampTz now;
		long		timeout = (long) gs_idle_poll_interval * 1000L;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		ReapWorkers();
		if (gs_enable_worker && !RecoveryInProgress())
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			ndbs = ListDatabases(dbs, MAX_HANDLES);
			now = GetCurrentTimestamp();
			for (i = 0; i < ndbs; i++)
			{
				GsDbWorkerInfo info;

				if (IsLaunched(dbs[i]))
					continue;
				if (!GsDbWorkerEnsure(dbs[i]))
					continue;
				if (!GsDbWorkerGet(dbs[i], &info))
					continue;
				if (info.pid != 0 || info.stop_until > now)
					continue;
				if (info.next_start > now)
				{
					long		wait_ms = (long) ((info.next_start - now) / 1000) + 1;

					timeout = Min(timeout, wait_ms);
					continue;
				}
				StartWorker(dbs[i]);
			}
			GsDbWorkerForgetExcept(dbs, ndbs);
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(timeout, 10L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
