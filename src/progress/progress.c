/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Live progress of running syncs, in fixed shared-memory slots.
 *
 * One slot per running sync, server-wide (GS_PROGRESS_SLOTS).  A slot is
 * claimed and released under a spinlock; its contents are written only by
 * the worker that claimed it, without a lock, as a sequence lock: the
 * writer makes the change counter odd, copies the data, makes it even
 * again.  A reader copies the data and retries while the counter was odd
 * or moved, so it never blocks the worker and never sees a torn row.  The
 * cancel flag is the one field other backends write (an atomic).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "progress.h"

typedef struct GsProgressSlot
{
	pg_atomic_uint32 changecount;	/* odd while being written */
	pg_atomic_uint32 cancel;		/* set by cancel_sync() */
	bool		in_use;			/* under the spinlock */
	GsProgressData data;
} GsProgressSlot;

typedef struct GsProgressShared
{
	slock_t		mutex;
	GsProgressSlot slots[GS_PROGRESS_SLOTS];
} GsProgressShared;

static GsProgressShared *progress_shared = NULL;

static const char *const step_names[] = {
	"queued",
	"initializing",
	"checking_config",
	"checking_credentials",
	"fetching_changes",
	"transforming",
	"sending",
	"verifying",
	"storing"
};

const char *
GsStepName(int step)
{
	if (step < 0 || step > GS_TOTAL_STEPS)
		return "unknown";
	return step_names[step];
}

void
GsProgressShmemRequest(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(GsProgressShared)));
}

/* Called from the shmem_startup_hook chain, under AddinShmemInitLock. */
void
GsProgressShmemStartup(void)
{
	bool		found;
	int			i;

	progress_shared = ShmemInitStruct("globalsync progress",
									  sizeof(GsProgressShared), &found);
	if (!found)
	{
		SpinLockInit(&progress_shared->mutex);
		for (i = 0; i < GS_PROGRESS_SLOTS; i++)
		{
			pg_atomic_init_u32(&progress_shared->slots[i].changecount, 0);
			pg_atomic_init_u32(&progress_shared->slots[i].cancel, 0);
			progress_shared->slots[i].in_use = false;
			memset(&progress_shared->slots[i].data, 0, sizeof(GsProgressData));
		}
	}
}

bool
GsProgressAvailable(void)
{
	return progress_shared != NULL;
}

/*
 * GsProgressAcquire
 *		Claim a free slot and fill it; -1 if none is free (the sync runs
 *		anyway, it just does not show in sync_progress).
 */
int
GsProgressAcquire(const GsProgressData *init)
{
	int			i;
	int			slot = -1;

	if (progress_shared == NULL)
		return -1;
	SpinLockAcquire(&progress_shared->mutex);
	for (i = 0; i < GS_PROGRESS_SLOTS; i++)
	{
		if (!progress_shared->slots[i].in_use)
		{
			progress_shared->slots[i].in_use = true;
			slot = i;
			break;
		}
	}
	SpinLockRelease(&progress_shared->mutex);
	if (slot < 0)
		return -1;
	pg_atomic_write_u32(&progress_shared->slots[slot].cancel, 0);
	GsProgressPublish(slot, init);
	return slot;
}

/* Copy new contents into the caller's slot (the caller owns it). */
void
GsProgressPublish(int slot, const GsProgressData *data)
{
	GsProgressSlot *s;

	if (progress_shared == NULL || slot < 0)
		return;
	s = &progress_shared->slots[slot];
	pg_atomic_fetch_add_u32(&s->changecount, 1);
	pg_write_barrier();
	memcpy(&s->data, data, sizeof(GsProgressData));
	pg_write_barrier();
	pg_atomic_fetch_add_u32(&s->changecount, 1);
}

void
GsProgressRelease(int slot)
{
	GsProgressSlot *s;

	if (progress_shared == NULL || slot < 0)
		return;
	s = &progress_shared->slots[slot];
	pg_atomic_fetch_add_u32(&s->changecount, 1);
	pg_write_barrier();
	s->data.dboid = InvalidOid;
	pg_write_barrier();
	pg_atomic_fetch_add_u32(&s->changecount, 1);
	SpinLockAcquire(&progress_shared->mutex);
	s->in_use = false;
	SpinLockRelease(&progress_shared->mutex);
}

bool
GsProgressCancelRequested(int slot)
{
	if (progress_shared == NULL || slot < 0)
		return false;
	return pg_atomic_read_u32(&progress_shared->slots[slot].cancel) != 0;
}

/*
 * GsProgressRead
 *		A consistent copy of a slot; false if it holds no sync.
 *
 * Retries a bounded number of times while the writer is busy; a writer
 * holds the counter odd only for a memcpy, so this ends at once.
 */
bool
GsProgressRead(int slot, GsProgressData *out)
{
	GsProgressSlot *s;
	int			tries;

	if (progress_shared == NULL || slot < 0 || slot >= GS_PROGRESS_SLOTS)
		return false;
	s = &progress_shared->slots[slot];
	for (tries = 0; tries < 1000; tries++)
	{
		uint32		before = pg_atomic_read_u32(&s->changecount);
		uint32		after;

		if (before & 1)
		{
			pg_spin_delay();
			continue;
		}
		pg_read_barrier();
		memcpy(out, &s->data, sizeof(GsProgressData));
		pg_read_barrier();
		after = pg_atomic_read_u32(&s->changecount);
		if (before == after)
			return OidIsValid(out->dboid);
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/*
 * GsProgressRequestCancel
 *		Flag the running sync sync_id of database dboid for cancellation;
 *		returns whether it was found, and the pid of the worker running it.
 */
bool
GsProgressRequestCancel(Oid dboid, const char *sync_id, int *worker_pid)
{
	int			i;
	GsProgressData d;

	for (i = 0; i < GS_PROGRESS_SLOTS; i++)
	{
		if (!GsProgressRead(i, &d))
			continue;
		if (d.dboid == dboid && strcmp(d.sync_id, sync_id) == 0)
		{
			pg_atomic_write_u32(&progress_shared->slots[i].cancel, 1);
			*worker_pid = d.pid;
			return true;
		}
	}
	return false;
}
