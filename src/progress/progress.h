/*-------------------------------------------------------------------------
 *
 * progress.h
 *	  Live progress of running syncs: fixed slots in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_PROGRESS_H
#define GS_PROGRESS_H

#include "datatype/timestamp.h"
#include "port/atomics.h"

#define GS_PROGRESS_SLOTS 128
#define GS_TOTAL_STEPS 8

typedef enum GsStep
{
	GS_STEP_NONE = 0,
	GS_STEP_INITIALIZING = 1,
	GS_STEP_CHECKING_CONFIG = 2,
	GS_STEP_CHECKING_CREDENTIALS = 3,
	GS_STEP_FETCHING = 4,
	GS_STEP_TRANSFORMING = 5,
	GS_STEP_SENDING = 6,
	GS_STEP_VERIFYING = 7,
	GS_STEP_STORING = 8
} GsStep;

/* What a slot holds; readers get a consistent copy of it. */
typedef struct GsProgressData
{
	Oid			dboid;
	int			pid;
	char		sync_id[24];
	char		target_id[24];
	char		facility_id[24];
	char		operation_type[16];
	char		status[16];		/* running, waiting, completed, failed, cancelled */
	int			step;			/* GsStep */
	int			percent;
	char		step_text[128];
	int64		found;
	int64		sent;
	int64		acked;
	int64		failed;
	int64		bytes;
	TimestampTz started_at;
	TimestampTz last_updated;
	char		last_error[256];
} GsProgressData;

extern void GsProgressShmemRequest(void);
extern void GsProgressShmemStartup(void);
extern bool GsProgressAvailable(void);

/* writer side (the worker owning the slot) */
extern int	GsProgressAcquire(const GsProgressData *init);
extern void GsProgressPublish(int slot, const GsProgressData *data);
extern void GsProgressRelease(int slot);
extern bool GsProgressCancelRequested(int slot);

/* any backend */
extern bool GsProgressRead(int slot, GsProgressData *out);
extern bool GsProgressRequestCancel(Oid dboid, const char *sync_id, int *worker_pid);
extern const char *GsStepName(int step);

#endif							/* GS_PROGRESS_H */
