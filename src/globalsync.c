/*-------------------------------------------------------------------------
 *
 * globalsync.c
 *	  Module entry point: PG_MODULE_MAGIC, _PG_init and library-level SQL
 *	  functions.
 *
 * _PG_init only calls each room's *Init(); it works both when the library
 * is preloaded (shared_preload_libraries: later the background worker and
 * shared memory hang off it) and when it is loaded on first use by a
 * backend, in which case the types and functions work and whatever needs
 * preloading says so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "utils/guc.h"

#include "capture/capture.h"
#include "progress/progress.h"
#include "worker/worker.h"
#include "globalsync.h"
#include "tz/zone.h"

PG_MODULE_MAGIC;

bool		gs_loaded_at_startup = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

static void
GsShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	GsCaptureShmemRequest();
	GsWorkerShmemRequest();
	GsProgressShmemRequest();
}

static void
GsShmemStartup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	GsCaptureShmemStartup();
	GsWorkerShmemStartup();
	GsProgressShmemStartup();
	LWLockRelease(AddinShmemInitLock);
}

void
_PG_init(void)
{
	gs_loaded_at_startup = process_shared_preload_libraries_in_progress;

	GsZoneInit();
	GsCaptureInit();
	GsWorkerInit();

	MarkGUCPrefixReserved("globalsync");

	if (!gs_loaded_at_startup)
		return;

	/* what needs shared memory exists only when preloaded */
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = GsShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = GsShmemStartup;

	GsWorkerInstallHooks();
	GsWorkerRegisterLauncher();
}

/*
 * library_preloaded() -> bool
 *		Whether this server loaded globalsync through shared_preload_libraries.
 */
PG_FUNCTION_INFO_V1(gs_library_preloaded);
Datum
gs_library_preloaded(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(gs_loaded_at_startup);
}
