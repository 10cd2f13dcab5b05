/*-------------------------------------------------------------------------
 *
 * driver.h
 *	  The one interface every target kind implements.
 *
 * A driver knows nothing of the worker's loop, ticks or transactions.  It
 * validates a target's endpoint and options (in a SQL call, may ereport),
 * opens per-target state in the worker, sends one batch (outside any
 * transaction: it must not ereport, except through CHECK_FOR_INTERRUPTS,
 * and must leave nothing allocated behind but what lives in its state),
 * and classifies the result.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_DRIVER_H
#define GS_DRIVER_H

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

typedef enum GsSendStatus
{
	GS_SEND_OK,					/* the target has the batch */
	GS_SEND_RETRY,				/* try again later (transient) */
	GS_SEND_PERMANENT,			/* this batch will never be accepted */
	GS_SEND_DISABLE				/* the target is gone: stop sending to it */
} GsSendStatus;

typedef struct GsSendResult
{
	GsSendStatus status;
	int			retry_after_ms; /* > 0: the target asked for this delay */
	char		error[512];		/* what went wrong, never a secret */
} GsSendResult;

typedef struct GsBatch
{
	const char *target_id;
	const char *batch_id;		/* stable: the same on every resend */
	int			nevents;
	const char *payload;		/* NDJSON: one event per line */
	size_t		len;
	int			attempt;		/* 1 on the first send of this batch by this
								 * worker, more on a resend after a failure */

	/* polled while a send waits: true means give up (the sync was cancelled) */
	bool		(*should_stop) (void *arg);
	void	   *stop_arg;
} GsBatch;

typedef struct GsDriver
{
	const char *kind;

	/* SQL context: check endpoint and kind-specific options, ereport if bad */
	void		(*validate) (const char *endpoint, Jsonb *options);

	/*
	 * SQL context: check a secret for set_target_secret(), ereport (never
	 * showing it) if it is unusable.  NULL: the kind takes no secret.
	 */
	void		(*check_secret) (const char *secret);

	/* worker: per-target state in cxt (lives until close or target reload) */
	void	   *(*open) (const char *target_id, const char *endpoint,
						 Jsonb *options, const char *secret, MemoryContext cxt);

	/* step 6: send; must not throw but for interrupts */
	void		(*send) (void *state, const GsBatch *batch, GsSendResult *result);

	/*
	 * Optional, instead of send: start sending in the background and return
	 * true (or false with *result filled if it finished or failed at once);
	 * poll returns true with *result once the answer is there, and must not
	 * block; abort gives up a send under way.  The driver copies what it
	 * needs of the batch.  One send per target at a time.
	 */
	bool		(*begin) (void *state, const GsBatch *batch, GsSendResult *result);
	bool		(*poll) (void *state, GsSendResult *result);
	void		(*abort) (void *state);

	/* step 7: optional check that what was sent is there */
	void		(*verify) (void *state, const GsBatch *batch, GsSendResult *result);

	void		(*close) (void *state);
} GsDriver;

extern const GsDriver *GsFindDriver(const char *kind);
extern bool GsIsCommonTargetOption(const char *key);

/* the drivers */
extern const GsDriver gs_file_driver;
extern const GsDriver gs_http_driver;
extern const GsDriver gs_s3_driver;
extern const GsDriver gs_snowflake_driver;
extern const GsDriver gs_fhir_driver;

/* globalsync.allowed_hosts (http.c) */
extern char *gs_allowed_hosts;

/* the sockets of http transfers under way, for the worker's wait (httpcore.c) */
struct WaitEventSet;
extern int	GsHttpAddWaitEvents(struct WaitEventSet *set, int room, long *timeout_ms);

#endif							/* GS_DRIVER_H */
