/*-------------------------------------------------------------------------
 *
 * capture.h
 *	  Change capture: the C trigger, its per-backend table cache and the
 *	  commit signal for the worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_CAPTURE_H
#define GS_CAPTURE_H

#include "datatype/timestamp.h"

extern bool gs_capture_enabled;

extern void GsCaptureInit(void);

/* shared memory (only when preloaded) */
extern void GsCaptureShmemRequest(void);
extern void GsCaptureShmemStartup(void);
extern void GsCaptureNoteCommit(Oid dboid);
extern bool GsCapturePending(Oid dboid, uint64 *commits, TimestampTz *last_commit);

#endif							/* GS_CAPTURE_H */
