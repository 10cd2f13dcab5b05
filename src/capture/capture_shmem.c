/*-------------------------------------------------------------------------
 *
 * capture_shmem.c
 *	  The "new work exists" signal from capturing backends to the worker.
 *
 * When the library is preloaded, a small array in shared memory holds,
 * per database, a count of commits that captured changes and the time of
 * the last one.  A capturing backend bumps it from its commit callback;
 * the sync worker compares it with what it saw last, so it wakes without
 * polling the log.  Locking: a slot is claimed once under the spinlock;
 * after that the counters are atomics and need no lock.  Without
 * preloading there is no array and capture still works.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "capture.h"
#include "worker/worker.h"

#define GS_CAPTURE_DB_SLOTS 64

typedef struct GsCaptureDbSlot
{
	Oid			dboid;			/* InvalidOid if free; set once under lock */
	pg_atomic_uint64 commits;
	pg_atomic_uint64 last_commit;	/* TimestampTz */
} GsCaptureDbSlot;

typedef struct GsCaptureShared
{
	slock_t		mutex;
	GsCaptureDbSlot slots[GS_CAPTURE_DB_SLOTS];
} GsCaptureShared;

static GsCaptureShared *capture_shared = NULL;

void
GsCaptureShmemRequest(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(GsCaptureShared)));
}

/* Called from the shmem_startup_hook chain, under AddinShmemInitLock. */
void
GsCaptureShmemStartup(void)
{
	bool		found;
	int			i;

	capture_shared = ShmemInitStruct("globalsync capture",
									 sizeof(GsCaptureShared), &found);
	if (!found)
	{
		SpinLockInit(&capture_shared->mutex);
		for (i = 0; i < GS_CAPTURE_DB_SLOTS; i++)
		{
			capture_shared->slots[i].dboid = InvalidOid;
			pg_atomic_init_u64(&capture_shared->slots[i].commits, 0);
			pg_atomic_init_u64(&capture_shared->slots[i].last_commit, 0);
		}
	}
}

static GsCaptureDbSlot *
FindSlot(Oid dboid, bool create)
{
	int			i;
	GsCaptureDbSlot *slot = NULL;

	if (capture_shared == NULL)
		return NULL;
	/* slots are claimed once and never released: a plain read is safe */
	for (i = 0; i < GS_CAPTURE_DB_SLOTS; i++)
		if (capture_shared->slots[i].dboid == dboid)
			return &capture_shared->slots[i];
	if (!create)
		return NULL;
	SpinLockAcquire(&capture_shared->mutex);
	for (i = 0; i < GS_CAPTURE_DB_SLOTS; i++)
	{
		if (capture_shared->slots[i].dboid == dboid)
		{
			slot = &capture_shared->slots[i];
			break;
		}
		if (capture_shared->slots[i].dboid == InvalidOid)
		{
			slot = &capture_shared->slots[i];
			slot->dboid = dboid;
			break;
		}
	}
	SpinLockRelease(&capture_shared->mutex);
	return slot;					/* NULL if all slots are taken */
}

/*
 * GsCaptureNoteCommit
 *		A transaction that captured changes in dboid has committed.
 *
 * Runs in a commit callback: must not throw.
 */
void
GsCaptureNoteCommit(Oid dboid)
{
	GsCaptureDbSlot *slot = FindSlot(dboid, true);

	if (slot == NULL)
		return;
	pg_atomic_fetch_add_u64(&slot->commits, 1);
	pg_atomic_write_u64(&slot->last_commit, (uint64) GetCurrentTimestamp());
	GsWorkerSignalCommit(dboid);
}

bool
GsCapturePending(Oid dboid, uint64 *commits, TimestampTz *last_commit)
{
	GsCaptureDbSlot *slot;

	if (capture_shared == NULL)
		return false;
	slot = FindSlot(dboid, false);
	*commits = slot ? pg_atomic_read_u64(&slot->commits) : 0;
	*last_commit = slot ? (TimestampTz) pg_atomic_read_u64(&slot->last_commit) : 0;
	return true;
}
