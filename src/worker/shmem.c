/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  What the launcher, the workers and ordinary backends share: one entry
 *	  per database (worker pid and latch, when to start it next, a config
 *	  generation) and the launcher's latch.  Also the wake-ups sent at
 *	  commit and the utility hook that stops a database's worker before
 *	  DROP DATABASE or a rename, which would otherwise wait for it.
 *
 * Locking: every field is read and written under the spinlock, except
 * the latch pointers, which are read without it to wake a process (a
 * stale pointer points into the PGPROC array and wakes, harmlessly, the
 * process that took the slot over) and the config generation (atomic).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

#include "worker.h"

#define GS_MAX_DATABASES 64

typedef struct GsDbWorker
{
	Oid			dboid;			/* InvalidOid: free */
	int			pid;			/* worker pid, 0 if none */
	Latch	   *latch;
	TimestampTz next_start;		/* launcher: not before */
	TimestampTz stop_until;		/* a DROP/RENAME DATABASE is in progress */
	pg_atomic_uint64 config_gen;	/* bumped by target changes */
	pg_atomic_uint32 commit_armed;	/* 1: the next capturing commit wakes the worker */
} GsDbWorker;

typedef struct GsWorkerShared
{
	slock_t		mutex;
	int			launcher_pid;
	Latch	   *launcher_latch;
	GsDbWorker	dbs[GS_MAX_DATABASES];
} GsWorkerShared;

static GsWorkerShared *worker_shared = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* wake-up requested by this transaction, sent at commit */
static bool wake_pending = false;
static bool wake_callback_registered = false;

void
GsWorkerShmemRequest(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(GsWorkerShared)));
}

/* Called from the shmem_startup_hook chain, under AddinShmemInitLock. */
void
GsWorkerShmemStartup(void)
{
	bool		found;
	int			i;

	worker_shared = ShmemInitStruct("globalsync workers",
									sizeof(GsWorkerShared), &found);
	if (!found)
	{
		SpinLockInit(&worker_shared->mutex);
		worker_shared->launcher_pid = 0;
		worker_shared->launcher_latch = NULL;
		for (i = 0; i < GS_MAX_DATABASES; i++)
		{
			GsDbWorker *w = &worker_shared->dbs[i];

			w->dboid = InvalidOid;
			w->pid = 0;
			w->latch = NULL;
			w->next_start = 0;
			w->stop_until = 0;
			pg_atomic_init_u64(&w->config_gen, 0);
			pg_atomic_init_u32(&w->commit_armed, 0);
		}
	}
}

/*
 * Entry of dboid, or NULL.  The caller holds the spinlock, or is one of the
 * wake-up paths below that read without it: an entry being taken or given
 * up at that moment only costs a missed or a spurious wake-up.
 */
static GsDbWorker *
FindDb(Oid dboid)
{
	int			i;

	for (i = 0; i < GS_MAX_DATABASES; i++)
		if (worker_shared->dbs[i].dboid == dboid)
			return &worker_shared->dbs[i];
	return NULL;
}

int
GsLauncherPid(void)
{
	int			pid;

	if (worker_shared == NULL)
		return 0;
	SpinLockAcquire(&worker_shared->mutex);
	pid = worker_shared->launcher_pid;
	SpinLockRelease(&worker_shared->mutex);
	return pid;
}

void
GsLauncherAttach(void)
{
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->launcher_pid = MyProcPid;
	worker_shared->launcher_latch = &MyProc->procLatch;
	SpinLockRelease(&worker_shared->mutex);
}

void
GsLauncherDetach(int code, Datum arg)
{
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->launcher_pid = 0;
	worker_shared->launcher_latch = NULL;
	SpinLockRelease(&worker_shared->mutex);
}

bool
GsDbWorkerGet(Oid dboid, GsDbWorkerInfo *info)
{
	GsDbWorker *w;

	if (worker_shared == NULL)
		return false;
	SpinLockAcquire(&worker_shared->mutex);
	w = FindDb(dboid);
	if (w)
	{
		info->dboid = w->dboid;
		info->pid = w->pid;
		info->next_start = w->next_start;
		info->stop_until = w->stop_until;
		info->config_gen = pg_atomic_read_u64(&w->config_gen);
	}
	SpinLockRelease(&worker_shared->mutex);
	return w != NULL;
}

/* Make sure dboid has an entry; false if the table is full. */
bool
GsDbWorkerEnsure(Oid dboid)
{
	GsDbWorker *w;
	int			i;

	SpinLockAcquire(&worker_shared->mutex);
	w = FindDb(dboid);
	if (w == NULL)
	{
		for (i = 0; i < GS_MAX_DATABASES; i++)
		{
			if (worker_shared->dbs[i].dboid == InvalidOid)
			{
				w = &worker_shared->dbs[i];
				w->dboid = dboid;
				w->pid = 0;
				w->latch = NULL;
				w->next_start = 0;
				w->stop_until = 0;
				break;
			}
		}
	}
	SpinLockRelease(&worker_shared->mutex);
	return w != NULL;
}

void
GsDbWorkerSetNextStart(Oid dboid, TimestampTz when)
{
	GsDbWorker *w;

	if (worker_shared == NULL)
		return;
	SpinLockAcquire(&worker_shared->mutex);
	w = FindDb(dboid);
	if (w)
		w->next_start = when;
	SpinLockRelease(&worker_shared->mutex);
}

/* Free the entries of databases that no longer exist (launcher only). */
void
GsDbWorkerForgetExcept(Oid *keep, int nkeep)
{
	int			i,
				j;

	SpinLockAcquire(&worker_shared->mutex);
	for (i = 0; i < GS_MAX_DATABASES; i++)
	{
		GsDbWorker *w = &worker_shared->dbs[i];
		bool		found = false;

		if (w->dboid == InvalidOid || w->pid != 0)
			continue;
		for (j = 0; j < nkeep && !found; j++)
			found = (keep[j] == w->dboid);
		if (!found)
			w->dboid = InvalidOid;
	}
	SpinLockRelease(&worker_shared->mutex);
}

static void
DbWorkerDetach(int code, Datum arg)
{
	GsDbWorker *w;

	SpinLockAcquire(&worker_shared->mutex);
	w = FindDb(MyDatabaseId);
	if (w && w->pid == MyProcPid)
	{
		w->pid = 0;
		w->latch = NULL;
	}
	SpinLockRelease(&worker_shared->mutex);
}

/*
 * GsDbWorkerAttach
 *		Record the calling worker as dboid's; exits if another one already
 *		runs there (two launchers' requests crossing a restart).
 */
void
GsDbWorkerAttach(Oid dboid)
{
	GsDbWorker *w;
	int			other = 0;

	SpinLockAcquire(&worker_shared->mutex);
	w = FindDb(dboid);
	if (w && w->pid != 0 && w->pid != MyProcPid)
		other = w->pid;
	else if (w)
	{
		w->pid = MyProcPid;
		w->latch = &MyProc->procLatch;
	}
	SpinLockRelease(&worker_shared->mutex);
	if (w == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("globalsync cannot run a worker in more than %d databases", GS_MAX_DATABASES)));
	if (other != 0)
	{
		ereport(LOG,
				(errmsg("globalsync worker for this database already runs as pid %d; exiting", other)));
		proc_exit(0);
	}
	before_shmem_exit(DbWorkerDetach, (Datum) 0);
}

uint64
GsDbWorkerConfigGen(Oid dboid)
{
	GsDbWorker *w;
	uint64		gen = 0;

	if (worker_shared == NULL)
		return 0;
	SpinLockAcquire(&worker_shared->mutex);
	w = FindDb(dboid);
	if (w)
		gen = pg_atomic_read_u64(&w->config_gen);
	SpinLockRelease(&worker_shared->mutex);
	return gen;
}

/*
 * GsWorkerWakeDb
 *		Set the latch of dboid's worker (cancel_sync).  No lock.
 */
void
GsWorkerWakeDb(Oid dboid)
{
	GsDbWorker *w;
	Latch	   *latch;

	if (worker_shared == NULL || (w = FindDb(dboid)) == NULL)
		return;
	latch = w->latch;
	if (latch)
		SetLatch(latch);
}

/*
 * GsWorkerSignalCommit
 *		A transaction that captured changes in dboid has committed: wake
 *		the worker if it asked for it (GsDbWorkerArmCommitSignal).  One
 *		wake-up per arming, so a busy database does not wake its worker on
 *		every commit, and none at all while it has no targets.  No lock:
 *		runs in a commit callback.
 */
void
GsWorkerSignalCommit(Oid dboid)
{
	GsDbWorker *w;
	Latch	   *latch;

	if (worker_shared == NULL || (w = FindDb(dboid)) == NULL)
		return;
	latch = w->latch;
	if (pg_atomic_read_u32(&w->commit_armed) != 0 &&
		pg_atomic_exchange_u32(&w->commit_armed, 0) != 0 && latch)
		SetLatch(latch);
}

/* The worker of dboid wants to be woken by the next capturing commit. */
void
GsDbWorkerArmCommitSignal(Oid dboid)
{
	GsDbWorker *w;

	if (worker_shared == NULL || (w = FindDb(dboid)) == NULL)
		return;
	pg_atomic_write_u32(&w->commit_armed, 1);
}

static void
WakeXactCallback(XactEvent event, void *arg)
{
	GsDbWorker *w;
	Latch	   *latch = NULL;

	if (!wake_pending)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			wake_pending = false;
			if (worker_shared == NULL)
				return;
			SpinLockAcquire(&worker_shared->mutex);
			w = FindDb(MyDatabaseId);
			if (w)
			{
				pg_atomic_fetch_add_u64(&w->config_gen, 1);
				w->next_start = 0;
				latch = w->pid != 0 ? w->latch : NULL;
			}
			if (latch == NULL)
				latch = worker_shared->launcher_latch;
			SpinLockRelease(&worker_shared->mutex);
			if (latch)
				SetLatch(latch);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_pending = false;
			break;
		default:
			break;
	}
}

/*
 * GsWorkerWakeAtCommit
 *		When the current transaction commits, tell this database's worker
 *		that its configuration or work changed (start it if none runs).
 */
void
GsWorkerWakeAtCommit(void)
{
	if (!wake_callback_registered)
	{
		RegisterXactCallback(WakeXactCallback, NULL);
		wake_callback_registered = true;
	}
	/* the commit callback needs this database's entry to wake anyone */
	if (worker_shared != NULL)
		(void) GsDbWorkerEnsure(MyDatabaseId);
	wake_pending = true;
}

/*
 * StopDbWorker
 *		Stop the worker of dboid and keep the launcher from restarting it
 *		for a while, so that DROP DATABASE (which refuses while anyone is
 *		connected) can proceed.  Waits up to 10 s for it to exit.
 */
static void
StopDbWorker(Oid dboid)
{
	GsDbWorker *w;
	int			pid = 0;
	int			i;

	if (worker_shared == NULL || !OidIsValid(dboid))
		return;
	SpinLockAcquire(&worker_shared->mutex);
	w = FindDb(dboid);
	if (w)
	{
		w->stop_until = GetCurrentTimestamp() + 30 * USECS_PER_SEC;
		pid = w->pid;
	}
	SpinLockRelease(&worker_shared->mutex);
	if (pid == 0)
		return;
	(void) kill(pid, SIGTERM);
	for (i = 0; i < 1000; i++)
	{
		bool		gone;

		SpinLockAcquire(&worker_shared->mutex);
		gone = (w->dboid != dboid || w->pid != pid);
		SpinLockRelease(&worker_shared->mutex);
		if (gone)
			return;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}
}

static void
GsProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				 ProcessUtilityContext context, ParamListInfo params,
				 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, DropdbStmt))
		StopDbWorker(get_database_oid(((DropdbStmt *) parsetree)->dbname, true));
	else if (IsA(parsetree, RenameStmt) &&
			 ((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
		StopDbWorker(get_database_oid(((RenameStmt *) parsetree)->subname, true));
	else if (IsA(parsetree, CreatedbStmt))
	{
		ListCell   *lc;

		/* CREATE DATABASE ... TEMPLATE x needs x to have no connections */
		foreach(lc, ((CreatedbStmt *) parsetree)->options)
		{
			DefElem    *def = lfirst_node(DefElem, lc);

			if (strcmp(def->defname, "template") == 0 && def->arg)
				StopDbWorker(get_database_oid(defGetString(def), true));
		}
	}
	else if (IsA(parsetree, AlterDatabaseStmt))
	{
		ListCell   *lc;

		/* only SET TABLESPACE needs the database to itself */
		foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
		{
			DefElem    *def = lfirst_node(DefElem, lc);

			if (strcmp(def->defname, "tablespace") == 0)
				StopDbWorker(get_database_oid(((AlterDatabaseStmt *) parsetree)->dbname, true));
		}
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

void
GsWorkerInstallHooks(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = GsProcessUtility;
}
