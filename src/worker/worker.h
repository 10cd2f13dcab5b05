/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The launcher and the per-database sync workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_WORKER_H
#define GS_WORKER_H

#include "datatype/timestamp.h"
#include "postmaster/bgworker.h"

/* settings (globalsync.*) */
extern bool gs_enable_worker;
extern int	gs_max_concurrent_syncs;
extern int	gs_batch_max_events;
extern int	gs_batch_max_bytes;		/* kB */
extern int	gs_tick_interval;		/* ms */
extern int	gs_idle_poll_interval;	/* s */
extern int	gs_send_timeout;		/* ms */
extern int	gs_max_attempts;
extern int	gs_retry_base_delay;	/* ms */
extern int	gs_retry_max_delay;		/* ms */
extern int	gs_breaker_threshold;
extern int	gs_breaker_cooldown;	/* s */
extern int	gs_history_retention;	/* min */
extern char *gs_file_target_dir;

extern void GsWorkerInit(void);
extern void GsWorkerRegisterLauncher(void);

/* shared memory: one entry per database, the launcher's latch */
extern void GsWorkerShmemRequest(void);
extern void GsWorkerShmemStartup(void);
extern void GsWorkerWakeDb(Oid dboid);
extern void GsWorkerSignalCommit(Oid dboid);
extern void GsDbWorkerArmCommitSignal(Oid dboid);
extern void GsWorkerWakeAtCommit(void);
extern void GsWorkerInstallHooks(void);

/* used by the launcher and the workers (shmem.c) */
typedef struct GsDbWorkerInfo
{
	Oid			dboid;
	int			pid;
	TimestampTz next_start;
	TimestampTz stop_until;
	uint64		config_gen;
} GsDbWorkerInfo;

extern int	GsLauncherPid(void);
extern void GsLauncherAttach(void);
extern void GsLauncherDetach(int code, Datum arg);
extern bool GsDbWorkerGet(Oid dboid, GsDbWorkerInfo *info);
extern bool GsDbWorkerEnsure(Oid dboid);
extern void GsDbWorkerSetNextStart(Oid dboid, TimestampTz when);
extern void GsDbWorkerForgetExcept(Oid *keep, int nkeep);
extern void GsDbWorkerAttach(Oid dboid);
extern uint64 GsDbWorkerConfigGen(Oid dboid);

PGDLLEXPORT void GsLauncherMain(Datum arg);
PGDLLEXPORT void GsWorkerMain(Datum arg);

#endif							/* GS_WORKER_H */
