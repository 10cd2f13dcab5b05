/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The sync worker of one database: ticks, runs and their state machine.
 *
 * The loop wakes on its latch (set by capturing commits, by the SQL API
 * at commit, by SIGHUP and SIGTERM) or on a deadline (next tick, a retry,
 * a schedule, the safety poll).  Each round it may take a tick, take one
 * step of log rotation, pick up queued syncs, start automatic ones, and
 * then advance every running sync by at most one batch, round-robin, so
 * one busy or failing target never holds up another.
 *
 * A sync ("run") walks the eight steps.  Fetching a batch and storing its
 * acknowledgement are each one short transaction; transforming, sending
 * and verifying happen outside any transaction.  The cursor of a target
 * (its consumer's tick and the position inside the open batch) moves only
 * in the transaction that also updates the sync_log row, so a crash at any
 * point at worst sends a batch again, under the same batch id.
 *
 * Memory: everything of a round lives in round_cxt, reset every round;
 * targets live in their own context, runs and their in-flight batch in
 * the run's context, freed when the run ends.  Errors inside a round are
 * caught per target, logged as WARNING and retried later: the worker
 * never exits on a broken row or a dropped target.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "capture/capture.h"
#include "progress/progress.h"
#include "targets/driver.h"
#include "worker.h"

/* settings */
bool		gs_enable_worker = true;
int			gs_max_concurrent_syncs = 4;
int			gs_batch_max_events = 1000;
int			gs_batch_max_bytes = 8192;	/* kB */
int			gs_tick_interval = 50;
int			gs_idle_poll_interval = 10;
int			gs_send_timeout = 30000;
int			gs_max_attempts = 5;
int			gs_retry_base_delay = 1000;
int			gs_retry_max_delay = 300000;
int			gs_breaker_threshold = 5;
int			gs_breaker_cooldown = 60;
int			gs_history_retention = 30 * 24 * 60;
char	   *gs_file_target_dir = NULL;

#define REALTIME_IDLE_MS	1000	/* a realtime run ends after this long caught up */
#define REALTIME_MAX_MS		60000	/* ... or after this long in all */
#define MAINTAIN_EVERY_MS	1000
#define PURGE_EVERY_MS		(10 * 60 * 1000)
#define MAX_SPLIT_DEPTH		64
#define PREFETCH_BATCHES	50		/* batches read per query of the log */
#define PREFETCH_MAX_EVENTS	50000
#define PREFETCH_MAX_BYTES	(64 * 1024 * 1024)

typedef enum Schedule
{
	SCHED_REALTIME,
	SCHED_MANUAL,
	SCHED_INTERVAL
} Schedule;

typedef enum ChunkKind
{
	CHUNK_CHANGES,				/* a page of a consumer batch */
	CHUNK_SNAPSHOT,				/* PK-ordered rows of one table (full sync) */
	CHUNK_REPLAY				/* the events of a dead letter */
} ChunkKind;

/* One batch in flight: events in memory, sent whole or split in ranges. */
typedef struct Chunk
{
	ChunkKind	kind;
	int			n;
	char	  **lines;			/* one JSON object per event */
	int64	   *event_ids;		/* CHUNK_CHANGES */
	char	  **facility;
	TimestampTz *captured;
	Datum	   *pks;			/* CHUNK_SNAPSHOT: text[] of each row's key */

	/* CHUNK_CHANGES */
	int64		batch_id;
	int64		prev_tick;
	int64		tick;
	bool		last_page;
	int64		last_fetched;	/* position after the whole page */

	/* CHUNK_SNAPSHOT */
	char	   *table;			/* regclass text */
	Oid			table_oid;
	int64		chunk_no;
	bool		table_done;

	char	   *read_at;		/* CHUNK_SNAPSHOT: when the rows were read (ISO) */

	/* CHUNK_REPLAY */
	char	   *replay_key;

	/* the range being sent, and those left after it (bisection) */
	int			lo;
	int			hi;
	int		   *stack_lo;		/* ranges still to send, the next one on top */
	int		   *stack_hi;
	int			depth;
	int			stack_cap;
	int			attempts;
	TimestampTz next_attempt;

	/* the range being sent */
	char		key[192];		/* its batch id */
	char	   *payload;		/* NDJSON, in the run's context */
	size_t		payload_len;
	bool		inflight;		/* a background send is under way */
} Chunk;

typedef struct Run
{
	MemoryContext cxt;
	char		sync_id[24];
	char		optype[16];
	char		facility[24];	/* "" if none */
	bool		full;			/* snapshot phase not finished yet */
	int64		until_tick;		/* 0: realtime, no end tick */
	int64		dead_letter_id; /* RETRY */
	TimestampTz started;
	TimestampTz last_delivery;
	int			slot;
	GsProgressData pd;
	Chunk	   *chunk;
	bool		begun;			/* steps 1-3 done */
} Run;

typedef struct Target
{
	MemoryContext cxt;
	char		id[24];
	char	   *name;
	char	   *kind;
	char	   *endpoint;
	char	   *secret;			/* signing secret, NULL if none; never logged */
	Jsonb	   *options;
	bool		active;
	Schedule	schedule;
	int64		schedule_ms;
	int			ntables;
	char	  **tables;
	int			nfacilities;
	char	  **facilities;
	int			max_events;
	int			max_bytes;
	char		consumer[64];
	int64		last_tick;
	int64		tick_span;		/* ticks a lagging consumer takes at once */
	int64		open_batch;		/* the consumer batch being read, and ... */
	int			batch_reads;	/* ... how many reads it took so far */
	const GsDriver *driver;
	void	   *dstate;
	int			consecutive_failures;
	TimestampTz breaker_until;	/* 0: closed */
	TimestampTz last_scheduled;
	bool		queued_waiting; /* a manual sync waits for this target */
	bool		seen;
	Run		   *run;
} Target;

static MemoryContext worker_cxt = NULL;
static MemoryContext round_cxt = NULL;
static List *targets = NIL;
static int64 latest_tick = 0;
static uint64 seen_commits = 0;
static bool commits_unticked = false;
static TimestampTz last_tick_at = 0;
static TimestampTz last_maintain_at = 0;
static TimestampTz last_purge_at = 0;
static TimestampTz last_load_at = 0;
static uint64 seen_config_gen = 0;
static bool resumed = false;
static bool pick_pending = false;	/* a run ended: a queued sync may start */
static bool reopen_targets = false; /* settings reloaded: open drivers again */
static char dbname[NAMEDATALEN];

static void EndRun(Target *t, const char *status, const char *error);

/* ----------------------------------------------------------------
 * settings
 * ---------------------------------------------------------------- */

void
GsWorkerInit(void)
{
	DefineCustomBoolVariable("globalsync.enable_worker",
							 "Runs the globalsync launcher and sync workers.",
							 "Off stops starting workers; running ones finish their round and idle.",
							 &gs_enable_worker, true, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.max_concurrent_syncs",
							"Syncs a worker runs at once in one database.",
							NULL, &gs_max_concurrent_syncs, 4, 1, 64, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.batch_max_events",
							"Events per batch sent to a target (a target's max_batch_events overrides it).",
							NULL, &gs_batch_max_events, 1000, 1, 100000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.batch_max_bytes",
							"Bytes per batch sent to a target (a target's max_batch_bytes overrides it).",
							NULL, &gs_batch_max_bytes, 8192, 64, 1024 * 1024, PGC_SIGHUP,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.tick_interval",
							"Shortest time between two ticks; ticks are taken only after captured commits.",
							NULL, &gs_tick_interval, 50, 10, 60000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.idle_poll_interval",
							"How often an idle worker looks for work it was not told about.",
							NULL, &gs_idle_poll_interval, 10, 1, 3600, PGC_SIGHUP,
							GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.send_timeout",
							"Time limit for sending one batch (targets may set a shorter one).",
							NULL, &gs_send_timeout, 30000, 100, 3600000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.max_attempts",
							"Attempts to deliver a batch before it goes to dead_letters.",
							NULL, &gs_max_attempts, 5, 1, 1000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.retry_base_delay",
							"Delay before the first retry; it doubles with each attempt, with jitter.",
							NULL, &gs_retry_base_delay, 1000, 10, 3600000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.retry_max_delay",
							"Longest delay between two attempts.",
							NULL, &gs_retry_max_delay, 300000, 10, 86400000, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.breaker_threshold",
							"Consecutive failed attempts that open a target's circuit breaker.",
							NULL, &gs_breaker_threshold, 5, 1, 1000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.breaker_cooldown",
							"How long an open breaker waits before it lets one attempt through.",
							NULL, &gs_breaker_cooldown, 60, 1, 86400, PGC_SIGHUP,
							GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("globalsync.history_retention",
							"Age after which finished syncs, delivery statistics and settled dead letters are purged.",
							NULL, &gs_history_retention, 30 * 24 * 60, 60, INT_MAX / 60, PGC_SIGHUP,
							GUC_UNIT_MIN, NULL, NULL, NULL);
	DefineCustomStringVariable("globalsync.allowed_hosts",
							   "Hosts http targets may call (comma-separated; \".example.org\" allows its subdomains); empty: any.",
							   NULL, &gs_allowed_hosts, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("globalsync.file_target_dir",
							   "Directory below which file targets write (relative: inside the data directory).",
							   NULL, &gs_file_target_dir, "globalsync", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
}

/* ----------------------------------------------------------------
 * small helpers
 * ---------------------------------------------------------------- */

static void
BeginWork(const char *what)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, what);
}

static void
EndWork(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* commit leaves TopMemoryContext current: back to the round's */
	MemoryContextSwitchTo(round_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Run a query with text parameters ("" = NULL is not used: pass NULL). */
static int
Exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "globalsync worker query failed (%d): %s", rc, sql);
	return rc;
}

static char *
GetText(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

static Datum
GetDatum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

static int64
GetInt64(int row, int col, int64 dflt)
{
	bool		isnull;
	Datum		d = GetDatum(row, col, &isnull);

	return isnull ? dflt : DatumGetInt64(d);
}

static TimestampTz
GetTimestamp(int row, int col)
{
	bool		isnull;
	Datum		d = GetDatum(row, col, &isnull);

	return isnull ? 0 : DatumGetTimestampTz(d);
}

static char **
TextArrayToC(Datum arr, int *n, MemoryContext cxt)
{
	Datum	   *elems;
	bool	   *nulls;
	int			i;
	char	  **out;

	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	out = MemoryContextAlloc(cxt, sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL : MemoryContextStrdup(cxt, TextDatumGetCString(elems[i]));
	return out;
}

static Datum
CStringArrayToText(char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
	{
		nulls[i] = items[i] == NULL;
		d[i] = items[i] ? CStringGetTextDatum(items[i]) : (Datum) 0;
	}
	if (n == 0)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

static bool
InList(char **list, int n, const char *s)
{
	int			i;

	if (s == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (list[i] && strcmp(list[i], s) == 0)
			return true;
	return false;
}

static long
MsUntil(TimestampTz when, TimestampTz now)
{
	if (when <= now)
		return 0;
	return (long) ((when - now) / 1000) + 1;
}

/* ----------------------------------------------------------------
 * progress and NOTIFY
 * ---------------------------------------------------------------- */

static int
Percent(Run *r)
{
	int			step = r->pd.step;

	if (step <= GS_STEP_CHECKING_CREDENTIALS || r->pd.found <= 0)
		return Max(0, (step - 1) * 100 / GS_TOTAL_STEPS);
	return Min(99, 37 + (int) (r->pd.acked * 62 / Max(r->pd.found, 1)));
}

static void
SendNotify(Run *r)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"sync_id\":");
	escape_json(&buf, r->pd.sync_id);
	appendStringInfoString(&buf, ",\"target_id\":");
	escape_json(&buf, r->pd.target_id);
	appendStringInfoString(&buf, ",\"operation_type\":");
	escape_json(&buf, r->pd.operation_type);
	appendStringInfoString(&buf, ",\"status\":");
	escape_json(&buf, r->pd.status);
	appendStringInfo(&buf, ",\"step\":%d,\"step_name\":", r->pd.step);
	escape_json(&buf, GsStepName(r->pd.step));
	appendStringInfo(&buf, ",\"percent\":%d,\"found\":" INT64_FORMAT ",\"sent\":" INT64_FORMAT
					 ",\"acked\":" INT64_FORMAT ",\"failed\":" INT64_FORMAT "}",
					 r->pd.percent, r->pd.found, r->pd.sent, r->pd.acked, r->pd.failed);
	Async_Notify("globalsync_progress", buf.data);
	pfree(buf.data);
}

/*
 * Step
 *		Move a run to a step: shared memory at once, NOTIFY at commit (in
 *		the current transaction, or a tiny one of its own).
 */
static void
Step(Run *r, int step, const char *fmt,...)
{
	va_list		ap;
	bool		changed = (r->pd.step != step);

	r->pd.step = step;
	va_start(ap, fmt);
	vsnprintf(r->pd.step_text, sizeof(r->pd.step_text), fmt, ap);
	va_end(ap);
	r->pd.percent = Percent(r);
	r->pd.last_updated = GetCurrentTimestamp();
	GsProgressPublish(r->slot, &r->pd);
	if (!changed)
		return;
	if (IsTransactionState())
		SendNotify(r);
	else
	{
		StartTransactionCommand();
		SendNotify(r);
		CommitTransactionCommand();
		MemoryContextSwitchTo(round_cxt);
	}
}

static void
Publish(Run *r)
{
	r->pd.percent = Percent(r);
	r->pd.last_updated = GetCurrentTimestamp();
	GsProgressPublish(r->slot, &r->pd);
}

/* ----------------------------------------------------------------
 * targets
 * ---------------------------------------------------------------- */

static Target *
FindTarget(const char *id)
{
	ListCell   *lc;

	foreach(lc, targets)
	{
		Target	   *t = lfirst(lc);

		if (strcmp(t->id, id) == 0)
			return t;
	}
	return NULL;
}

static void
FreeTarget(Target *t)
{
	if (t->run)
		EndRun(t, "cancelled", "the target was removed");
	if (t->driver && t->dstate)
		t->driver->close(t->dstate);
	MemoryContextDelete(t->cxt);
	pfree(t);
}

/*
 * LoadTargets
 *		Read the targets (and their state) again.  Exits the worker if the
 *		extension is gone.  Runs of targets that still exist continue.
 */
static void
LoadTargets(void)
{
	ListCell   *lc;
	List	   *keep = NIL;
	int			i;
	int			ntargets;

	BeginWork("globalsync: loading targets");
	if (!OidIsValid(get_extension_oid("globalsync", true)))
	{
		EndWork();
		ereport(DEBUG1,
				(errmsg("globalsync worker exiting: the extension is not installed in database \"%s\"",
						dbname)));
		GsDbWorkerSetNextStart(MyDatabaseId, GetCurrentTimestamp() +
							   (int64) gs_idle_poll_interval * USECS_PER_SEC);
		proc_exit(0);
	}
	Exec("SELECT * FROM globalsync._worker_targets()", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	ntargets = (int) SPI_processed;

	foreach(lc, targets)
		((Target *) lfirst(lc))->seen = false;

	for (i = 0; i < ntargets; i++)
	{
		char	   *id = GetText(i, 1);
		Target	   *t = FindTarget(id);
		bool		isnull;
		Datum		d;
		char	   *sched;
		bool		changed;
		char	   *endpoint = GetText(i, 4);
		char	   *secret;
		char	   *opts = GetText(i, 5);

		secret = GetText(i, 18);
		changed = (t == NULL || reopen_targets || strcmp(t->endpoint, endpoint) != 0 ||
				   (secret == NULL) != (t->secret == NULL) ||
				   (secret && strcmp(secret, t->secret) != 0) ||
				   strcmp(JsonbToCString(NULL, &t->options->root, VARSIZE(t->options)), opts) != 0);
		if (t == NULL)
		{
			MemoryContext cxt = AllocSetContextCreate(worker_cxt, "globalsync target",
													  ALLOCSET_SMALL_SIZES);

			t = MemoryContextAllocZero(worker_cxt, sizeof(Target));
			t->cxt = cxt;
			t->tick_span = 64;
			strlcpy(t->id, id, sizeof(t->id));
			/* the list outlives this transaction's SPI memory */
			{
				MemoryContext old = MemoryContextSwitchTo(worker_cxt);

				targets = lappend(targets, t);
				MemoryContextSwitchTo(old);
			}
		}
		else if (changed)
		{
			if (t->driver && t->dstate)
				t->driver->close(t->dstate);	/* gives up a send under way */
			t->dstate = NULL;
			if (t->run && t->run->chunk && t->run->chunk->inflight)
			{
				/* send the range again, with the new settings */
				t->run->chunk->inflight = false;
				if (t->run->chunk->payload)
					pfree(t->run->chunk->payload);
				t->run->chunk->payload = NULL;
			}
			MemoryContextReset(t->cxt);
		}
		t->seen = true;
		if (changed)
		{
			t->name = MemoryContextStrdup(t->cxt, GetText(i, 2));
			t->kind = MemoryContextStrdup(t->cxt, GetText(i, 3));
			t->endpoint = MemoryContextStrdup(t->cxt, endpoint);
			t->secret = secret ? MemoryContextStrdup(t->cxt, secret) : NULL;
			{
				struct varlena *opt = PG_DETOAST_DATUM(GetDatum(i, 5, &isnull));

				t->options = (Jsonb *) MemoryContextAlloc(t->cxt, VARSIZE(opt));
				memcpy(t->options, opt, VARSIZE(opt));
			}
			t->driver = GsFindDriver(t->kind);
			t->ntables = 0;
			t->nfacilities = 0;
			d = GetDatum(i, 9, &isnull);
			if (!isnull)
				t->tables = TextArrayToC(d, &t->ntables, t->cxt);
			d = GetDatum(i, 10, &isnull);
			if (!isnull)
				t->facilities = TextArrayToC(d, &t->nfacilities, t->cxt);
		}
		t->active = DatumGetBool(GetDatum(i, 6, &isnull));
		sched = GetText(i, 7);
		t->schedule = strcmp(sched, "realtime") == 0 ? SCHED_REALTIME :
			strcmp(sched, "manual") == 0 ? SCHED_MANUAL : SCHED_INTERVAL;
		t->schedule_ms = GetInt64(i, 8, 0);
		t->max_events = (int) GetInt64(i, 11, gs_batch_max_events);
		t->max_bytes = (int) GetInt64(i, 12, (int64) gs_batch_max_bytes * 1024);
		strlcpy(t->consumer, GetText(i, 13), sizeof(t->consumer));
		if (t->run == NULL || t->run->chunk == NULL)
			t->last_tick = GetInt64(i, 14, 0);
		t->consecutive_failures = (int) GetInt64(i, 15, 0);
		t->breaker_until = GetTimestamp(i, 16);
		t->last_scheduled = GetTimestamp(i, 17);
		if (t->driver && t->dstate == NULL)
			t->dstate = t->driver->open(t->id, t->endpoint, t->options, t->secret, t->cxt);
	}
	/*
	 * The newest tick; and, if there are targets, whether committed changes
	 * wait that no tick covers yet: those of a server that crashed before
	 * its worker ticked (the commit counter is in shared memory and starts
	 * again at zero) or of a COMMIT PREPARED (which nothing counts).  The
	 * safety poll finds them and the next round ticks.
	 */
	Exec("SELECT t.tick_id, t.snapshot::text FROM globalsync.ticks t ORDER BY t.tick_id DESC LIMIT 1",
		 0, NULL, NULL, NULL, SPI_OK_SELECT);
	if (SPI_processed > 0)
		latest_tick = Max(latest_tick, GetInt64(0, 1, 0));
	if (ntargets > 0)
	{
		bool		isnull;
		Oid			stypes[1] = {TEXTOID};
		Datum		svalues[1];

		if (SPI_processed == 0)
			Exec("SELECT EXISTS (SELECT FROM globalsync.change_log)", 0, NULL, NULL, NULL, SPI_OK_SELECT);
		else
		{
			/* the xid range lets the BRIN index skip what older ticks cover */
			svalues[0] = CStringGetTextDatum(GetText(0, 2));
			Exec("SELECT EXISTS (SELECT FROM globalsync.change_log l "
				 " WHERE l.xid >= pg_snapshot_xmin($1::pg_snapshot) "
				 "   AND NOT pg_visible_in_snapshot(l.xid, $1::pg_snapshot))",
				 1, stypes, svalues, NULL, SPI_OK_SELECT);
		}
		if (DatumGetBool(GetDatum(0, 1, &isnull)))
			commits_unticked = true;
	}
	EndWork();

	/* targets that are gone */
	MemoryContextSwitchTo(worker_cxt);
	foreach(lc, targets)
	{
		Target	   *t = lfirst(lc);

		if (t->seen)
			keep = lappend(keep, t);
		else
			FreeTarget(t);
	}
	list_free(targets);
	targets = keep;
	reopen_targets = false;
	MemoryContextSwitchTo(round_cxt);
	last_load_at = GetCurrentTimestamp();
}

static int
CountRuns(void)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, targets)
		if (((Target *) lfirst(lc))->run)
			n++;
	return n;
}

static bool
AnyActiveTarget(void)
{
	ListCell   *lc;

	foreach(lc, targets)
		if (((Target *) lfirst(lc))->active)
			return true;
	return false;
}

/* ----------------------------------------------------------------
 * ticks, rotation, purge
 * ---------------------------------------------------------------- */

static int64
TakeTick(void)
{
	int64		tick;

	BeginWork("globalsync: tick");
	Exec("SELECT globalsync.tick()", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	tick = GetInt64(0, 1, 0);
	EndWork();
	latest_tick = Max(latest_tick, tick);
	last_tick_at = GetCurrentTimestamp();
	return tick;
}

/* Tick if commits were captured since the last tick and the interval is up. */
static long
MaybeTick(TimestampTz now)
{
	uint64		commits;
	TimestampTz last_commit;
	TimestampTz due;

	if (GsCapturePending(MyDatabaseId, &commits, &last_commit) && commits != seen_commits)
	{
		seen_commits = commits;
		commits_unticked = true;
	}
	if (!commits_unticked)
		return -1;
	due = last_tick_at + (int64) gs_tick_interval * 1000;
	if (now < due)
		return MsUntil(due, now);
	commits_unticked = false;
	TakeTick();
	return -1;
}

/*
 * SummarizeLog
 *		Summarize the new pages of the log's BRIN index on xid, so that
 *		reading a batch skips the pages of older transactions: otherwise the
 *		newest pages are summarized only when autovacuum gets round to it,
 *		and until then every read of a batch scans them all.
 */
static void
SummarizeLog(void)
{
	BeginWork("globalsync: summarizing the log index");
	Exec("SELECT pg_catalog.brin_summarize_new_values(h.inhrelid) "
		 "FROM pg_catalog.pg_inherits h "
		 "WHERE h.inhparent = 'globalsync.change_log_xid'::pg_catalog.regclass",
		 0, NULL, NULL, NULL, SPI_OK_SELECT);
	EndWork();
}

static void
MaybeMaintain(TimestampTz now)
{
	int			i;

	if (now - last_maintain_at < (int64) MAINTAIN_EVERY_MS * 1000)
		return;
	last_maintain_at = now;
	/*
	 * One step per transaction, as maintain_log() wants.  TRUNCATE of an old
	 * slot needs its locks at once: rather than queue behind a reader of the
	 * log (and make capture queue behind us), give up and try next second.
	 */
	for (i = 0; i < 3; i++)
	{
		char	   *volatile res = NULL;
		MemoryContext cxt = CurrentMemoryContext;

		PG_TRY();
		{
			BeginWork("globalsync: maintain_log");
			Exec("SET LOCAL lock_timeout = '200ms'", 0, NULL, NULL, NULL, SPI_OK_UTILITY);
			Exec("SELECT globalsync.maintain_log()", 0, NULL, NULL, NULL, SPI_OK_SELECT);
			res = MemoryContextStrdup(round_cxt, GetText(0, 1));
			EndWork();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
				PG_RE_THROW();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			MemoryContextSwitchTo(round_cxt);
			ereport(DEBUG1, (errmsg("globalsync: log rotation waits for a lock, trying again later")));
			FreeErrorData(edata);
			pgstat_report_activity(STATE_IDLE, NULL);
			/* res stays NULL: stop below, after PG_END_TRY restored the handler */
		}
		PG_END_TRY();
		if (res == NULL)
			break;
		if (i == 0)
			SummarizeLog();
		if (
			(strcmp(res, "switch recorded") != 0 && strncmp(res, "switched", 8) != 0))
			break;
	}
}

static void
MaybePurge(TimestampTz now)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1];

	if (now - last_purge_at < (int64) PURGE_EVERY_MS * 1000)
		return;
	last_purge_at = now;
	values[0] = Int32GetDatum(gs_history_retention);
	BeginWork("globalsync: purging history");
	Exec("SELECT globalsync._purge_history(make_interval(mins => $1))", 1, types, values, NULL, SPI_OK_SELECT);
	EndWork();
}

/* ----------------------------------------------------------------
 * runs
 * ---------------------------------------------------------------- */

static Run *
NewRun(Target *t, const char *sync_id, const char *optype, const char *facility,
	   int64 dead_letter_id)
{
	MemoryContext cxt = AllocSetContextCreate(worker_cxt, "globalsync run", ALLOCSET_DEFAULT_SIZES);
	Run		   *r = MemoryContextAllocZero(cxt, sizeof(Run));

	r->cxt = cxt;
	strlcpy(r->sync_id, sync_id, sizeof(r->sync_id));
	strlcpy(r->optype, optype, sizeof(r->optype));
	strlcpy(r->facility, facility ? facility : "", sizeof(r->facility));
	r->full = strcmp(optype, "FULL_SYNC") == 0;
	r->dead_letter_id = dead_letter_id;
	r->started = GetCurrentTimestamp();
	r->last_delivery = r->started;

	r->pd.dboid = MyDatabaseId;
	r->pd.pid = MyProcPid;
	strlcpy(r->pd.sync_id, r->sync_id, sizeof(r->pd.sync_id));
	strlcpy(r->pd.target_id, t->id, sizeof(r->pd.target_id));
	strlcpy(r->pd.facility_id, r->facility, sizeof(r->pd.facility_id));
	strlcpy(r->pd.operation_type, optype, sizeof(r->pd.operation_type));
	strlcpy(r->pd.status, "running", sizeof(r->pd.status));
	r->pd.step = GS_STEP_NONE;
	r->pd.started_at = r->started;
	r->pd.last_updated = r->started;
	r->slot = GsProgressAcquire(&r->pd);
	t->run = r;
	return r;
}

/*
 * StartRun
 *		Steps 1-3 of a run: record it as running, check the configuration,
 *		check credentials (the driver's business; a file target has none).
 *		Non-realtime incremental runs end at a tick taken now, so they carry
 *		everything committed before they started.
 */
static void
StartRun(Target *t)
{
	Run		   *r = t->run;
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum		values[5];
	char		nulls[5] = "     ";

	Step(r, GS_STEP_INITIALIZING, "starting %s", r->optype);
	values[0] = CStringGetTextDatum(r->sync_id);
	values[1] = CStringGetTextDatum(t->id);
	values[2] = CStringGetTextDatum(r->optype);
	values[3] = r->facility[0] ? CStringGetTextDatum(r->facility) : (Datum) 0;
	nulls[3] = r->facility[0] ? ' ' : 'n';
	values[4] = Int64GetDatum(r->dead_letter_id);
	nulls[4] = r->dead_letter_id > 0 ? ' ' : 'n';
	BeginWork("globalsync: starting a sync");
	Exec("SELECT globalsync._run_begin($1, $2, $3, $4, $5)", 5, types, values, nulls, SPI_OK_SELECT);
	r->pd.found = GetInt64(0, 1, 0);
	EndWork();

	/* the endpoint without a query string, which may hold a token */
	Step(r, GS_STEP_CHECKING_CONFIG, "target %s (%s) to %.*s", t->name, t->kind,
		 (int) strcspn(t->endpoint, "?#"), t->endpoint);
	if (t->driver == NULL)
	{
		EndRun(t, "failed", "no driver for this kind of target");
		return;
	}
	if (strcmp(t->kind, "file") == 0)
		Step(r, GS_STEP_CHECKING_CREDENTIALS, "file target: no credentials needed");
	else if (strcmp(t->kind, "http") == 0)
		Step(r, GS_STEP_CHECKING_CREDENTIALS, "http target: %s",
			 t->secret ? "a signing secret is set" : "no signing secret set");
	else
		Step(r, GS_STEP_CHECKING_CREDENTIALS, "%s target: %s", t->kind,
			 t->secret ? "its secret is set" : "no secret set");
	if (strcmp(r->optype, "REALTIME_SYNC") != 0)
		r->until_tick = TakeTick();
	r->begun = true;
}

/*
 * EndRun
 *		Record the outcome, free the run.  The cursor stays where the last
 *		acknowledged batch left it.
 */
static void
EndRun(Target *t, const char *status, const char *error)
{
	Run		   *r = t->run;
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = "   ";

	if (r == NULL)
		return;
	if (r->chunk && r->chunk->inflight && t->driver && t->driver->abort)
	{
		t->driver->abort(t->dstate);
		r->chunk->inflight = false;
	}
	strlcpy(r->pd.status, status, sizeof(r->pd.status));
	if (error)
		strlcpy(r->pd.last_error, error, sizeof(r->pd.last_error));
	if (strcmp(status, "completed") == 0)
		r->pd.percent = 100;
	r->pd.last_updated = GetCurrentTimestamp();
	GsProgressPublish(r->slot, &r->pd);

	values[0] = CStringGetTextDatum(r->sync_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = error ? CStringGetTextDatum(error) : (Datum) 0;
	nulls[2] = error ? ' ' : 'n';
	PG_TRY();
	{
		BeginWork("globalsync: finishing a sync");
		Exec("SELECT globalsync._run_end($1, $2, $3)", 3, types, values, nulls, SPI_OK_SELECT);
		SendNotify(r);
		EndWork();
	}
	PG_FINALLY();
	{
		GsProgressRelease(r->slot);
		pick_pending = true;
		t->run = NULL;
		MemoryContextDelete(r->cxt);
	}
	PG_END_TRY();
}

/*
 * CancelMarkedRuns
 *		End the runs whose sync_log row cancel_sync() marked cancelled: the
 *		path for a run that got no progress slot (cancel_sync() then finds
 *		no flag to set and wakes the worker instead).
 */
static void
CancelMarkedRuns(void)
{
	ListCell   *lc;
	char	  **ids;
	int			n = 0;
	Oid			types[1] = {TEXTARRAYOID};
	Datum		values[1];
	int			i;
	int			found;
	char	  **gone;

	ids = palloc(sizeof(char *) * Max(list_length(targets), 1));
	foreach(lc, targets)
	{
		Target	   *t = lfirst(lc);

		if (t->run)
			ids[n++] = pstrdup(t->run->sync_id);
	}
	if (n == 0)
		return;
	values[0] = CStringArrayToText(ids, n);
	BeginWork("globalsync: looking for cancelled syncs");
	Exec("SELECT sync_id FROM globalsync.sync_log WHERE status = 'cancelled' AND sync_id = ANY ($1)",
		 1, types, values, NULL, SPI_OK_SELECT);
	found = (int) SPI_processed;
	gone = MemoryContextAlloc(round_cxt, sizeof(char *) * Max(found, 1));
	for (i = 0; i < found; i++)
		gone[i] = MemoryContextStrdup(round_cxt, GetText(i, 1));
	EndWork();
	foreach(lc, targets)
	{
		Target	   *t = lfirst(lc);

		if (t->run && InList(gone, found, t->run->sync_id))
			EndRun(t, "cancelled", NULL);
	}
}

/*
 * PickQueued
 *		Start queued syncs (and, once after a restart, the ones that were
 *		running) for targets that have no run.
 */
static void
PickQueued(void)
{
	int			i;
	Oid			types[1] = {BOOLOID};
	Datum		values[1];
	MemoryContext old;
	int			n;
	char	  **ids,
			  **tgts,
			  **ops,
			  **facs;
	int64	   *dls;

	values[0] = BoolGetDatum(!resumed);
	BeginWork("globalsync: picking up queued syncs");
	Exec("SELECT sync_id, target_id, operation_type, source_facility_id, dead_letter_id "
		 "FROM globalsync.sync_log WHERE status = 'queued' OR ($1 AND status = 'running') "
		 "ORDER BY log_id LIMIT 1000",
		 1, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	old = MemoryContextSwitchTo(round_cxt);
	ids = palloc(sizeof(char *) * Max(n, 1));
	tgts = palloc(sizeof(char *) * Max(n, 1));
	ops = palloc(sizeof(char *) * Max(n, 1));
	facs = palloc(sizeof(char *) * Max(n, 1));
	dls = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		ids[i] = pstrdup(GetText(i, 1));
		tgts[i] = pstrdup(GetText(i, 2));
		ops[i] = pstrdup(GetText(i, 3));
		facs[i] = GetText(i, 4) ? pstrdup(GetText(i, 4)) : NULL;
		dls[i] = GetInt64(i, 5, 0);
	}
	MemoryContextSwitchTo(old);
	EndWork();
	resumed = true;

	CancelMarkedRuns();

	for (i = 0; i < n; i++)
	{
		Target	   *t = FindTarget(tgts[i]);

		if (t == NULL)
		{
			/* a target row the worker could not load (see its WARNING) */
			Oid			types2[3] = {TEXTOID, TEXTOID, TEXTOID};
			Datum		values2[3];

			values2[0] = CStringGetTextDatum(ids[i]);
			values2[1] = CStringGetTextDatum("failed");
			values2[2] = CStringGetTextDatum("the worker could not load this target: its row is not valid (see the server log)");
			BeginWork("globalsync: failing a sync of a broken target");
			Exec("SELECT globalsync._run_end($1, $2, $3)", 3, types2, values2, NULL, SPI_OK_SELECT);
			EndWork();
			continue;
		}
		if (t->run != NULL)
		{
			if (strcmp(t->run->sync_id, ids[i]) != 0)
				t->queued_waiting = true;
			continue;
		}
		if (!t->active)
		{
			Run		   *r = NewRun(t, ids[i], ops[i], facs[i], dls[i]);

			(void) r;
			EndRun(t, "failed", "the target is not active");
			continue;
		}
		if (CountRuns() >= gs_max_concurrent_syncs)
			break;
		t->queued_waiting = false;
		NewRun(t, ids[i], ops[i], facs[i], dls[i]);
	}
}

/* Start realtime runs for targets with new ticks, scheduled runs when due. */
static long
StartAutoRuns(TimestampTz now)
{
	ListCell   *lc;
	long		timeout = -1;

	foreach(lc, targets)
	{
		Target	   *t = lfirst(lc);
		char		id[24];

		if (t->run || !t->active || t->queued_waiting)
			continue;
		if (CountRuns() >= gs_max_concurrent_syncs)
			break;
		if (t->schedule == SCHED_REALTIME && latest_tick > t->last_tick)
		{
			snprintf(id, sizeof(id), "SYN_%012llX", (unsigned long long) (pg_prng_uint64(&pg_global_prng_state) & UINT64CONST(0xFFFFFFFFFFFF)));
			NewRun(t, id, "REALTIME_SYNC", NULL, 0);
		}
		else if (t->schedule == SCHED_INTERVAL)
		{
			TimestampTz due = t->last_scheduled + t->schedule_ms * 1000;

			if (now >= due)
			{
				snprintf(id, sizeof(id), "SYN_%012llX", (unsigned long long) (pg_prng_uint64(&pg_global_prng_state) & UINT64CONST(0xFFFFFFFFFFFF)));
				NewRun(t, id, "SCHEDULED_SYNC", NULL, 0);
				t->last_scheduled = now;
			}
			else
			{
				long		ms = MsUntil(due, now);

				timeout = timeout < 0 ? ms : Min(timeout, ms);
			}
		}
	}
	return timeout;
}

/* ----------------------------------------------------------------
 * fetching (step 4)
 * ---------------------------------------------------------------- */

static Chunk *
NewChunk(Run *r, ChunkKind kind, int cap)
{
	Chunk	   *c = MemoryContextAllocZero(r->cxt, sizeof(Chunk));

	c->kind = kind;
	c->lines = MemoryContextAlloc(r->cxt, sizeof(char *) * Max(cap, 1));
	c->event_ids = MemoryContextAllocZero(r->cxt, sizeof(int64) * Max(cap, 1));
	c->facility = MemoryContextAllocZero(r->cxt, sizeof(char *) * Max(cap, 1));
	c->captured = MemoryContextAllocZero(r->cxt, sizeof(TimestampTz) * Max(cap, 1));
	c->pks = MemoryContextAllocZero(r->cxt, sizeof(Datum) * Max(cap, 1));
	c->stack_cap = MAX_SPLIT_DEPTH;
	c->stack_lo = MemoryContextAlloc(r->cxt, sizeof(int) * c->stack_cap);
	c->stack_hi = MemoryContextAlloc(r->cxt, sizeof(int) * c->stack_cap);
	return c;
}

static void
FreeChunk(Run *r)
{
	Chunk	   *c = r->chunk;
	int			i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
	{
		pfree(c->lines[i]);
		if (c->facility[i])
			pfree(c->facility[i]);
		if (c->pks[i])
			pfree(DatumGetPointer(c->pks[i]));
	}
	pfree(c->lines);
	pfree(c->event_ids);
	pfree(c->facility);
	pfree(c->captured);
	pfree(c->pks);
	pfree(c->stack_lo);
	pfree(c->stack_hi);
	if (c->table)
		pfree(c->table);
	if (c->replay_key)
		pfree(c->replay_key);
	if (c->read_at)
		pfree(c->read_at);
	if (c->payload)
		pfree(c->payload);
	pfree(c);
	r->chunk = NULL;
}

/* Does the target want this event? */
static bool
Wanted(Target *t, const char *table, const char *facility, const char *op)
{
	if (t->ntables > 0 && !InList(t->tables, t->ntables, table))
		return false;
	if (t->nfacilities > 0 && op[0] != 'T' && !InList(t->facilities, t->nfacilities, facility))
		return false;
	return true;
}

/*
 * FetchChanges
 *		Step 4 for a consumer batch: the next page of the open batch, without
 *		the events the target filters out.  Pages with nothing to send move
 *		the position at once (nothing was sent, nothing to acknowledge).
 *		Returns false when the run has nothing more to do.
 */
/*
 * CutRanges
 *		Cut a chunk read in one query into batches of at most max_events
 *		events and max_bytes bytes, sent one after the other.  The cuts
 *		depend only on the events and the limits, so after a restart the
 *		same batches (same ids) come again.
 */
static void
CutRanges(Chunk *c, int max_events, size_t max_bytes, MemoryContext cxt)
{
	int			nr = 0;
	int			start = 0;
	size_t		bytes = 0;
	int		   *lo = palloc(sizeof(int) * Max(c->n, 1));
	int		   *hi = palloc(sizeof(int) * Max(c->n, 1));
	int			i;

	for (i = 0; i < c->n; i++)
	{
		size_t		len = strlen(c->lines[i]) + 1;

		if (i > start && (i - start >= max_events || bytes + len > max_bytes))
		{
			lo[nr] = start;
			hi[nr++] = i;
			start = i;
			bytes = 0;
		}
		bytes += len;
	}
	lo[nr] = start;
	hi[nr++] = c->n;

	/* room for the ranges and for splitting one of them */
	c->stack_cap = nr + MAX_SPLIT_DEPTH;
	pfree(c->stack_lo);
	pfree(c->stack_hi);
	c->stack_lo = MemoryContextAlloc(cxt, sizeof(int) * c->stack_cap);
	c->stack_hi = MemoryContextAlloc(cxt, sizeof(int) * c->stack_cap);
	c->depth = 0;
	for (i = nr - 1; i >= 1; i--)
	{
		c->stack_lo[c->depth] = lo[i];
		c->stack_hi[c->depth] = hi[i];
		c->depth++;
	}
	c->lo = lo[0];
	c->hi = hi[0];
	pfree(lo);
	pfree(hi);
}

/*
 * EventLine
 *		One event as a JSON object, from row i of the page query: the keys
 *		jsonb_build_object() would give it (in a fixed order of our own),
 *		without building and re-serializing a jsonb for every event.
 */
static char *
EventLine(const char *target_id, int64 event_id, const char *table, const char *op,
		  const char *facility, int i)
{
	StringInfoData buf;
	char	   *pk = GetText(i, 6);
	char	   *row = GetText(i, 7);
	char	   *old = GetText(i, 8);
	char	   *changed = GetText(i, 9);
	char	   *xid = GetText(i, 10);
	char	   *captured = GetText(i, 11);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"target_id\": ");
	escape_json(&buf, target_id);
	appendStringInfo(&buf, ", \"event_id\": " INT64_FORMAT ", \"table\": ", event_id);
	escape_json(&buf, table);
	appendStringInfoString(&buf, ", \"op\": ");
	escape_json(&buf, op);
	appendStringInfoString(&buf, ", \"pk\": ");
	appendStringInfoString(&buf, pk ? pk : "null");
	appendStringInfoString(&buf, ", \"row\": ");
	appendStringInfoString(&buf, row ? row : "null");
	appendStringInfoString(&buf, ", \"old\": ");
	appendStringInfoString(&buf, old ? old : "null");
	appendStringInfoString(&buf, ", \"changed\": ");
	appendStringInfoString(&buf, changed ? changed : "null");
	appendStringInfoString(&buf, ", \"facility_id\": ");
	if (facility)
		escape_json(&buf, facility);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"xid\": ");
	escape_json(&buf, xid);
	appendStringInfoString(&buf, ", \"captured_at\": ");
	appendStringInfoString(&buf, captured);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * OpenBatch
 *		The consumer's current batch (opened up to max_tick if none is
 *		open) with the target's position in it, as the one row of
 *		SPI_tuptable: batch_id, prev_tick, tick, position.  Returns false if
 *		there is no batch (batch_id NULL).
 */
static bool
OpenBatch(Target *t, int64 max_tick)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT8OID};
	Datum		values[3];
	bool		isnull;

	values[0] = CStringGetTextDatum(t->consumer);
	values[1] = CStringGetTextDatum(t->id);
	values[2] = Int64GetDatum(max_tick);
	Exec("SELECT b.batch_id, b.prev_tick, b.tick, "
		 "CASE WHEN s.position_batch = b.batch_id THEN s.position ELSE 0 END "
		 "FROM globalsync.next_batch($1, $3) b, globalsync.target_state s "
		 "WHERE s.target_id = $2",
		 3, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		elog(ERROR, "target %s has no state row", t->id);
	(void) GetDatum(0, 1, &isnull);
	return !isnull;
}

typedef enum FetchResult
{
	FETCH_HAVE,					/* a chunk to send is in r->chunk */
	FETCH_MORE,					/* only skipped events so far: call again */
	FETCH_NONE					/* nothing more for this run */
} FetchResult;

static FetchResult
FetchChanges(Target *t)
{
	Run		   *r = t->run;
	Oid			types[4] = {TEXTOID, TEXTOID, INT8OID, INT4OID};
	Datum		values[4];
	int			pages;
	bool		have = false;
	bool		none = false;
	int			prefetch = (int) Min((int64) t->max_events * PREFETCH_BATCHES, PREFETCH_MAX_EVENTS);

	BeginWork("globalsync: fetching changes");
	Step(r, GS_STEP_FETCHING, "fetching changes");
	for (pages = 0; pages < 20 && !have; pages++)
	{
		int64		batch_id,
					prev_tick,
					tick,
					position;
		int			i,
					n;
		Chunk	   *c;
		size_t		bytes = 0;
		bool		cut = false;

		/*
		 * A consumer far behind takes at most tick_span ticks at once (up to
		 * the run's end tick; realtime: the newest): a batch that needs
		 * several reads is read again from its start each time, so the span
		 * halves when that happens and doubles otherwise.  Tick ids can have
		 * gaps: with no tick within the span, the next one is taken.
		 */
		{
			int64		limit = r->until_tick > 0 ? r->until_tick : PG_INT64_MAX;
			int64		max_tick = limit;

			if (t->last_tick > 0 && t->last_tick < PG_INT64_MAX - t->tick_span)
				max_tick = Min(max_tick, t->last_tick + t->tick_span);
			if (!OpenBatch(t, max_tick) &&
				(max_tick == limit || !OpenBatch(t, limit)))
			{
				none = true;	/* no tick after the consumer's */
				break;
			}
		}
		batch_id = GetInt64(0, 1, 0);
		prev_tick = GetInt64(0, 2, 0);
		tick = GetInt64(0, 3, 0);
		position = GetInt64(0, 4, 0);
		if (r->until_tick > 0 && tick > r->until_tick)
		{
			none = true;		/* beyond what this run was asked to carry */
			break;
		}

		values[0] = Int64GetDatum(batch_id);
		values[1] = CStringGetTextDatum(t->id);
		values[2] = Int64GetDatum(position);
		values[3] = Int32GetDatum(prefetch);
		types[0] = INT8OID;
		/* the JSON values come as text; EventLine puts the object together */
		Exec("SELECT e.event_id, e.table_name, e.facility_id, e.captured_at, e.op::text, "
			 "e.pk::text, e.row_data::text, e.old_values::text, "
			 "CASE WHEN e.changed_columns IS NOT NULL THEN array_to_json(e.changed_columns)::text END, "
			 "e.xid::text, to_json(e.captured_at)::text "
			 "FROM globalsync.batch_events($1, $3, $4) e",
			 4, types, values, NULL, SPI_OK_SELECT);
		types[0] = TEXTOID;
		n = (int) SPI_processed;
		c = NewChunk(r, CHUNK_CHANGES, n);
		c->batch_id = batch_id;
		c->prev_tick = prev_tick;
		c->tick = tick;
		c->last_fetched = position;
		for (i = 0; i < n; i++)
		{
			int64		event_id = GetInt64(i, 1, 0);
			char	   *table = GetText(i, 2);
			char	   *facility = GetText(i, 3);
			char	   *op = GetText(i, 5);
			char	   *line;
			size_t		len;

			if (!Wanted(t, table, facility, op))
			{
				c->last_fetched = event_id;
				continue;
			}
			line = EventLine(t->id, event_id, table, op, facility, i);
			len = strlen(line);
			if (c->n > 0 && bytes + len + 1 > (size_t) PREFETCH_MAX_BYTES)
			{
				cut = true;		/* the rest comes in the next page */
				break;
			}
			bytes += len + 1;
			c->lines[c->n] = MemoryContextStrdup(r->cxt, line);
			c->event_ids[c->n] = event_id;
			c->facility[c->n] = facility ? MemoryContextStrdup(r->cxt, facility) : NULL;
			c->captured[c->n] = GetTimestamp(i, 4);
			c->n++;
			c->last_fetched = event_id;
		}
		c->last_page = !cut && n < prefetch;
		if (batch_id == t->open_batch)
			t->batch_reads++;
		else
		{
			t->open_batch = batch_id;
			t->batch_reads = 1;
		}
		if (c->last_page)
			t->tick_span = (t->batch_reads > 1) ? Max(1, t->tick_span / 2)
				: Min(t->tick_span * 2, (int64) 1 << 20);
		r->pd.found += c->n;
		if (c->n > 0)
		{
			CutRanges(c, t->max_events, (size_t) t->max_bytes, r->cxt);
			r->chunk = c;
			have = true;
			break;
		}
		/* nothing to send in this page: move on without a delivery */
		values[0] = CStringGetTextDatum(t->id);
		values[1] = Int64GetDatum(batch_id);
		values[2] = Int64GetDatum(c->last_fetched);
		values[3] = BoolGetDatum(c->last_page);
		{
			Oid			atypes[4] = {TEXTOID, INT8OID, INT8OID, BOOLOID};

			Exec("SELECT globalsync._advance($1, $2, $3, $4)", 4, atypes, values, NULL, SPI_OK_SELECT);
		}
		if (c->last_page)
			t->last_tick = tick;
		r->chunk = c;
		FreeChunk(r);
	}
	EndWork();
	return have ? FETCH_HAVE : none ? FETCH_NONE : FETCH_MORE;
}

/*
 * FetchSnapshot
 *		Step 4 of a full sync: the next PK-ordered rows of the first table
 *		not finished yet.  Returns false once every table is done.
 */
static bool
FetchSnapshot(Target *t)
{
	Run		   *r = t->run;
	Oid			types[4] = {TEXTOID, TEXTOID, INT4OID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	int			n,
				i;
	Chunk	   *c;
	char	   *table;
	Datum		after;
	bool		after_null;
	int64		chunk_no;
	Oid			table_oid;
	size_t		bytes = 0;

	BeginWork("globalsync: reading a snapshot");
	Step(r, GS_STEP_FETCHING, "reading a snapshot");
	values[0] = CStringGetTextDatum(r->sync_id);
	Exec("SELECT table_name, after_pk, chunks, table_name::regclass::oid FROM globalsync.full_sync_state "
		 "WHERE sync_id = $1 AND NOT done ORDER BY table_name::text LIMIT 1",
		 1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
	{
		EndWork();
		return false;
	}
	table = MemoryContextStrdup(r->cxt, GetText(0, 1));
	after = GetDatum(0, 2, &after_null);
	if (!after_null)
	{
		MemoryContext old = MemoryContextSwitchTo(r->cxt);

		after = PointerGetDatum(DatumGetArrayTypePCopy(after));
		MemoryContextSwitchTo(old);
	}
	chunk_no = GetInt64(0, 3, 0);
	{
		bool		isnull;

		table_oid = DatumGetObjectId(GetDatum(0, 4, &isnull));
	}

	{
		Oid			stypes[4] = {TEXTOID, TEXTARRAYOID, INT4OID, TEXTARRAYOID};
		char	   *one[1];

		values[0] = CStringGetTextDatum(table);
		values[1] = after;
		nulls[1] = after_null ? 'n' : ' ';
		values[2] = Int32GetDatum(t->max_events);
		/* the facility asked for, else the target's facilities, else all */
		nulls[3] = ' ';
		if (r->facility[0])
		{
			one[0] = r->facility;
			values[3] = CStringArrayToText(one, 1);
		}
		else if (t->nfacilities > 0)
			values[3] = CStringArrayToText(t->facilities, t->nfacilities);
		else
		{
			values[3] = (Datum) 0;
			nulls[3] = 'n';
		}
		Exec("SELECT pk_values, line FROM globalsync.snapshot_chunk($1::regclass, $2, $3, $4)",
			 4, stypes, values, nulls, SPI_OK_SELECT);
	}
	n = (int) SPI_processed;
	c = NewChunk(r, CHUNK_SNAPSHOT, n);
	c->table = table;
	c->table_oid = table_oid;
	c->chunk_no = chunk_no;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		pk = GetDatum(i, 1, &isnull);
		char	   *line = GetText(i, 2);
		size_t		len = strlen(line);
		MemoryContext old;

		if (c->n > 0 && bytes + len + 1 > (size_t) t->max_bytes)
			break;
		bytes += len + 1;
		c->lines[c->n] = MemoryContextStrdup(r->cxt, line);
		old = MemoryContextSwitchTo(r->cxt);
		c->pks[c->n] = PointerGetDatum(DatumGetArrayTypePCopy(pk));
		MemoryContextSwitchTo(old);
		c->n++;
	}
	c->table_done = (c->n == n && n < t->max_events);
	Exec("SELECT to_json(statement_timestamp())#>>'{}'", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	c->read_at = MemoryContextStrdup(r->cxt, GetText(0, 1));
	EndWork();
	c->lo = 0;
	c->hi = c->n;
	r->chunk = c;
	if (c->n == 0)
	{
		/* an empty table (or the end of one): mark it done */
		Oid			atypes[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT4OID, BOOLOID};
		Datum		av[6];
		char		an[6] = {' ', ' ', ' ', 'n', ' ', ' '};

		av[0] = CStringGetTextDatum(t->id);
		av[1] = CStringGetTextDatum(r->sync_id);
		av[2] = CStringGetTextDatum(table);
		av[3] = (Datum) 0;
		av[4] = Int32GetDatum(0);
		av[5] = BoolGetDatum(true);
		BeginWork("globalsync: snapshot table done");
		Exec("SELECT globalsync._ack_snapshot($1, $2, $3, $4, $5, $6, 0)", 6, atypes, av, an, SPI_OK_SELECT);
		EndWork();
		FreeChunk(r);
	}
	return true;
}

/* Step 4 of a RETRY run: the events of the dead letter. */
static bool
FetchReplay(Target *t)
{
	Run		   *r = t->run;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	Chunk	   *c;
	int			i,
				n;

	BeginWork("globalsync: reading a dead letter");
	Step(r, GS_STEP_FETCHING, "reading dead letter %lld", (long long) r->dead_letter_id);
	values[0] = Int64GetDatum(r->dead_letter_id);
	Exec("SELECT d.batch_id, e.line::text, e.line->>'facility_id', (e.line->>'event_id')::bigint "
		 "FROM globalsync.dead_letters d, jsonb_array_elements(d.events) WITH ORDINALITY e(line, ord) "
		 "WHERE d.dead_letter_id = $1 AND d.status = 'queued' ORDER BY e.ord",
		 1, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	c = NewChunk(r, CHUNK_REPLAY, n);
	for (i = 0; i < n; i++)
	{
		char	   *fac = GetText(i, 3);

		if (i == 0)
			c->replay_key = MemoryContextStrdup(r->cxt, GetText(i, 1));
		c->lines[i] = MemoryContextStrdup(r->cxt, GetText(i, 2));
		c->facility[i] = fac ? MemoryContextStrdup(r->cxt, fac) : NULL;
		c->event_ids[i] = GetInt64(i, 4, 0);
		c->captured[i] = 0;
	}
	c->n = n;
	EndWork();
	r->pd.found = n;
	if (n == 0)
	{
		r->chunk = c;
		FreeChunk(r);
		return false;
	}
	c->lo = 0;
	c->hi = n;
	r->chunk = c;
	return true;
}

/* ----------------------------------------------------------------
 * sending (steps 5-7) and storing (step 8)
 * ---------------------------------------------------------------- */

static void
BatchKey(Target *t, Run *r, Chunk *c, char *buf, size_t size)
{
	switch (c->kind)
	{
		case CHUNK_CHANGES:
			snprintf(buf, size, "%s-%lld-%lld-%lld-%lld", t->id,
					 (long long) c->prev_tick, (long long) c->tick,
					 (long long) c->event_ids[c->lo], (long long) c->event_ids[c->hi - 1]);
			break;
		case CHUNK_SNAPSHOT:
			snprintf(buf, size, "%s-%s-%u-%lld-%d-%d", t->id, r->sync_id, c->table_oid,
					 (long long) c->chunk_no, c->lo, c->hi);
			break;
		case CHUNK_REPLAY:
			strlcpy(buf, c->replay_key, size);
			break;
	}
}

/* Add the batch id in front of each event object: {"batch_id":"...", ...}. */
static void
BuildPayload(Chunk *c, const char *key, const char *target_id, const char *sync_id, StringInfo buf)
{
	int			i;
	const char *read_at = c->read_at ? c->read_at : "";

	for (i = c->lo; i < c->hi; i++)
	{
		const char *line = c->lines[i];

		if (c->kind == CHUNK_REPLAY)
		{
			appendStringInfoString(buf, line);
			appendStringInfoChar(buf, '\n');
			continue;
		}
		appendStringInfoString(buf, "{\"batch_id\": ");
		escape_json(buf, key);
		if (c->kind == CHUNK_SNAPSHOT)
		{
			/* the keys of a change event, with what a snapshot row has */
			appendStringInfoString(buf, ", \"target_id\": ");
			escape_json(buf, target_id);
			appendStringInfoString(buf, ", \"snapshot\": ");
			escape_json(buf, sync_id);
			appendStringInfoString(buf, ", \"event_id\": null, \"xid\": null, \"old\": null, \"changed\": null, \"captured_at\": ");
			escape_json(buf, read_at);
		}
		if (line[0] == '{' && line[1] != '}')
		{
			appendStringInfoString(buf, ", ");
			appendStringInfoString(buf, line + 1);
		}
		else
			appendStringInfoChar(buf, '}');
		appendStringInfoChar(buf, '\n');
	}
}

/* Per-facility counts and oldest capture time of the range, for deliveries. */
static void
FacilityStats(Chunk *c, Datum *facs, Datum *counts, Datum *oldest)
{
	char	  **names = palloc(sizeof(char *) * (c->hi - c->lo + 1));
	Datum	   *cnt = palloc(sizeof(Datum) * (c->hi - c->lo + 1));
	Datum	   *old = palloc(sizeof(Datum) * (c->hi - c->lo + 1));
	int			n = 0,
				i,
				j;
	int			dims[1];
	int			lbs[1] = {1};
	bool	   *nulls;

	for (i = c->lo; i < c->hi; i++)
	{
		for (j = 0; j < n; j++)
			if ((names[j] == NULL && c->facility[i] == NULL) ||
				(names[j] && c->facility[i] && strcmp(names[j], c->facility[i]) == 0))
				break;
		if (j == n)
		{
			names[n] = c->facility[i];
			cnt[n] = Int32GetDatum(0);
			old[n] = TimestampTzGetDatum(c->captured[i] ? c->captured[i] : GetCurrentTimestamp());
			n++;
		}
		cnt[j] = Int32GetDatum(DatumGetInt32(cnt[j]) + 1);
		if (c->captured[i] && c->captured[i] < DatumGetTimestampTz(old[j]))
			old[j] = TimestampTzGetDatum(c->captured[i]);
	}
	*facs = CStringArrayToText(names, n);
	dims[0] = n;
	nulls = palloc0(sizeof(bool) * Max(n, 1));
	*counts = PointerGetDatum(construct_md_array(cnt, nulls, 1, dims, lbs, INT4OID, 4, true, TYPALIGN_INT));
	*oldest = PointerGetDatum(construct_md_array(old, nulls, 1, dims, lbs, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Is the current range the last piece of its chunk? */
static bool
LastRange(Chunk *c)
{
	return c->hi == c->n && c->depth == 0;
}

/* Move to the next range of a split chunk; false when the chunk is done. */
static bool
NextRange(Chunk *c)
{
	if (c->depth == 0)
		return false;
	c->depth--;
	c->lo = c->stack_lo[c->depth];
	c->hi = c->stack_hi[c->depth];
	c->attempts = 0;
	c->next_attempt = 0;
	return true;
}

/*
 * Acknowledge
 *		Step 8: in one transaction, move the cursor past the range and
 *		account for it in sync_log, deliveries and the target's state.
 */
static void
Acknowledge(Target *t, size_t bytes)
{
	Run		   *r = t->run;
	Chunk	   *c = r->chunk;
	int			count = c->hi - c->lo;
	bool		last = LastRange(c);

	BeginWork("globalsync: storing an acknowledgement");
	Step(r, GS_STEP_STORING, "storing the acknowledgement of %d events", count);
	if (c->kind == CHUNK_CHANGES || c->kind == CHUNK_REPLAY)
	{
		Oid			types[11] = {TEXTOID, TEXTOID, INT8OID, INT8OID, BOOLOID, INT4OID, INT8OID,
		TEXTARRAYOID, INT4ARRAYOID, TIMESTAMPTZARRAYOID, INT8OID};
		Datum		values[11];
		char		nulls[11] = "           ";
		int64		position = last ? c->last_fetched : c->event_ids[c->hi - 1];

		values[0] = CStringGetTextDatum(t->id);
		values[1] = CStringGetTextDatum(r->sync_id);
		values[2] = Int64GetDatum(c->batch_id);
		values[3] = Int64GetDatum(position);
		values[4] = BoolGetDatum(last && c->last_page);
		values[5] = Int32GetDatum(count);
		values[6] = Int64GetDatum((int64) bytes);
		FacilityStats(c, &values[7], &values[8], &values[9]);
		values[10] = Int64GetDatum(r->dead_letter_id);
		if (c->kind == CHUNK_REPLAY)
		{
			nulls[2] = 'n';
			nulls[3] = 'n';
			values[4] = BoolGetDatum(false);
		}
		else
			nulls[10] = 'n';
		Exec("SELECT globalsync._ack($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
			 11, types, values, nulls, SPI_OK_SELECT);
		if (c->kind == CHUNK_CHANGES && last && c->last_page)
			t->last_tick = c->tick;
	}
	else
	{
		Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT4OID, BOOLOID, INT8OID};
		Datum		values[7];

		values[0] = CStringGetTextDatum(t->id);
		values[1] = CStringGetTextDatum(r->sync_id);
		values[2] = CStringGetTextDatum(c->table);
		values[3] = c->pks[c->hi - 1];
		values[4] = Int32GetDatum(count);
		values[5] = BoolGetDatum(last && c->table_done);
		values[6] = Int64GetDatum((int64) bytes);
		Exec("SELECT globalsync._ack_snapshot($1, $2, $3, $4, $5, $6, $7)",
			 7, types, values, NULL, SPI_OK_SELECT);
	}
	EndWork();
	r->pd.acked += count;
	r->pd.bytes += bytes;
	r->last_delivery = GetCurrentTimestamp();
	t->consecutive_failures = 0;
	t->breaker_until = 0;
	Publish(r);
}

/*
 * DeadLetter
 *		The range failed for good: keep its events in dead_letters and move
 *		the cursor past it, so the events after it keep flowing.
 */
static void
DeadLetter(Target *t, const char *key, const char *error)
{
	Run		   *r = t->run;
	Chunk	   *c = r->chunk;
	int			count = c->hi - c->lo;
	bool		last = LastRange(c);
	Oid			types[12] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT8OID, INT8OID,
	INT4OID, TEXTOID, INT8OID, INT8OID, BOOLOID, TEXTARRAYOID};
	Datum		values[12];
	char		nulls[12] = "            ";
	StringInfoData buf;
	char	  **lines = palloc(sizeof(char *) * Max(count, 1));
	int			i;

	for (i = 0; i < count; i++)
	{
		Chunk		one = *c;

		initStringInfo(&buf);
		one.lo = c->lo + i;
		one.hi = c->lo + i + 1;
		BuildPayload(&one, key, t->id, r->sync_id, &buf);
		buf.data[--buf.len] = '\0';	/* the newline */
		lines[i] = buf.data;
	}
	values[0] = CStringGetTextDatum(t->id);
	values[1] = CStringGetTextDatum(r->sync_id);
	values[2] = CStringGetTextDatum(key);
	values[3] = CStringArrayToText(lines, count);
	values[4] = Int64GetDatum(c->kind == CHUNK_CHANGES ? c->event_ids[c->lo] : 0);
	values[5] = Int64GetDatum(c->kind == CHUNK_CHANGES ? c->event_ids[c->hi - 1] : 0);
	values[6] = Int32GetDatum(c->attempts);
	values[7] = CStringGetTextDatum(error);
	values[8] = Int64GetDatum(c->batch_id);
	values[9] = Int64GetDatum(last ? c->last_fetched : (c->kind == CHUNK_CHANGES ? c->event_ids[c->hi - 1] : 0));
	values[10] = BoolGetDatum(last && (c->kind == CHUNK_CHANGES ? c->last_page : c->table_done));
	values[11] = (Datum) 0;
	nulls[11] = 'n';
	if (c->kind != CHUNK_CHANGES)
	{
		nulls[8] = 'n';
		nulls[9] = 'n';
	}
	if (c->kind == CHUNK_SNAPSHOT)
	{
		values[8] = CStringGetTextDatum(c->table);
		nulls[8] = ' ';
		types[8] = TEXTOID;
		values[11] = c->pks[c->hi - 1];
		nulls[11] = ' ';
	}
	BeginWork("globalsync: storing a dead letter");
	Step(r, GS_STEP_STORING, "storing %d events as a dead letter", count);
	if (c->kind == CHUNK_SNAPSHOT)
		Exec("SELECT globalsync._dead_letter_snapshot($1, $2, $3, $4, $7, $8, $9, $12, $11, $5, $6, $10)",
			 12, types, values, nulls, SPI_OK_SELECT);
	else
		Exec("SELECT globalsync._dead_letter($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
			 12, types, values, nulls, SPI_OK_SELECT);
	EndWork();
	if (c->kind == CHUNK_CHANGES && last && c->last_page)
		t->last_tick = c->tick;
	r->pd.failed += count;
	Publish(r);
}

/* Record a failed attempt; open the breaker when too many came in a row. */
static void
RecordFailure(Target *t, const char *error)
{
	Run		   *r = t->run;
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	TimestampTz now = GetCurrentTimestamp();

	t->consecutive_failures++;
	if (t->consecutive_failures >= gs_breaker_threshold)
		t->breaker_until = now + (int64) gs_breaker_cooldown * USECS_PER_SEC;
	values[0] = CStringGetTextDatum(t->id);
	values[1] = CStringGetTextDatum(r->sync_id);
	values[2] = CStringGetTextDatum(error);
	values[3] = TimestampTzGetDatum(t->breaker_until);
	nulls[3] = t->breaker_until ? ' ' : 'n';
	BeginWork("globalsync: recording a failure");
	Exec("SELECT globalsync._failure($1, $2, $3, $4)", 4, types, values, nulls, SPI_OK_SELECT);
	EndWork();
	strlcpy(r->pd.last_error, error, sizeof(r->pd.last_error));
}

static TimestampTz
Backoff(int attempts, int retry_after_ms)
{
	double		delay = (double) gs_retry_base_delay * pow(2.0, Max(attempts - 1, 0));
	int64		ms;

	delay = Min(delay, (double) gs_retry_max_delay);
	/* equal jitter: half fixed, half random, so retries of many targets spread */
	ms = (int64) (delay / 2 + pg_prng_double(&pg_global_prng_state) * delay / 2);
	ms = Max(ms, (int64) retry_after_ms);
	return GetCurrentTimestamp() + ms * 1000;
}

/* Polled by drivers while a send waits: has the sync been cancelled? */
static bool
ShouldStop(void *arg)
{
	Run		   *r = (Run *) arg;

	return GsProgressCancelRequested(r->slot);
}

/*
 * FinishSend
 *		Steps 7-8 once the driver has answered for the current range: verify,
 *		then acknowledge, retry later, split, dead-letter or disable.
 *		Frees the payload.  Returns true (something was settled) unless the
 *		range waits for a retry.
 */
static bool
FinishSend(Target *t, GsSendResult *res)
{
	Run		   *r = t->run;
	Chunk	   *c = r->chunk;
	char	   *key = c->key;
	size_t		len = c->payload_len;

	c->attempts++;
	if (res->status == GS_SEND_OK)
	{
		GsBatch		batch;

		r->pd.sent += c->hi - c->lo;
		Step(r, GS_STEP_VERIFYING, "verifying %d events", c->hi - c->lo);
		if (t->driver->verify)
		{
			memset(&batch, 0, sizeof(batch));
			batch.target_id = t->id;
			batch.batch_id = key;
			batch.nevents = c->hi - c->lo;
			batch.payload = c->payload;
			batch.len = len;
			t->driver->verify(t->dstate, &batch, res);
		}
	}
	pfree(c->payload);
	c->payload = NULL;

	switch (res->status)
	{
		case GS_SEND_OK:
			Acknowledge(t, len);
			break;
		case GS_SEND_RETRY:
			RecordFailure(t, res->error);
			if (c->attempts >= gs_max_attempts)
			{
				if (c->kind == CHUNK_REPLAY)
				{
					EndRun(t, "failed", res->error);
					return true;
				}
				DeadLetter(t, key, res->error);
				break;
			}
			c->next_attempt = Backoff(c->attempts, res->retry_after_ms);
			strlcpy(r->pd.status, "waiting", sizeof(r->pd.status));
			Step(r, GS_STEP_SENDING, "attempt %d of %d failed, next in %ld ms: %s",
				 c->attempts, gs_max_attempts, MsUntil(c->next_attempt, GetCurrentTimestamp()), res->error);
			return false;
		case GS_SEND_PERMANENT:
			/*
			 * The target refused this batch, not the connection: no count
			 * towards the breaker, or isolating one bad event by bisection
			 * would pause the target.  _dead_letter records the error.
			 */
			strlcpy(r->pd.last_error, res->error, sizeof(r->pd.last_error));
			if (c->kind == CHUNK_REPLAY)
			{
				EndRun(t, "failed", res->error);
				return true;
			}
			if (c->hi - c->lo > 1 && c->depth < c->stack_cap)
			{
				/* split: the right half waits on the stack, the left goes next */
				int			mid = c->lo + (c->hi - c->lo) / 2;

				c->stack_lo[c->depth] = mid;
				c->stack_hi[c->depth] = c->hi;
				c->depth++;
				c->hi = mid;
				c->attempts = 0;
				c->next_attempt = 0;
				return true;
			}
			DeadLetter(t, key, res->error);
			break;
		case GS_SEND_DISABLE:
			{
				Oid			types[2] = {TEXTOID, TEXTOID};
				Datum		values[2];

				/* recorded like any failure, so the run has its sync_log row */
				RecordFailure(t, res->error);
				values[0] = CStringGetTextDatum(t->id);
				values[1] = CStringGetTextDatum(res->error);
				BeginWork("globalsync: disabling a target");
				Exec("SELECT globalsync._disable_target($1, $2)", 2, types, values, NULL, SPI_OK_SELECT);
				EndWork();
				t->active = false;
				EndRun(t, "failed", res->error);
				return true;
			}
	}
	if (c->kind == CHUNK_REPLAY)
	{
		FreeChunk(r);
		EndRun(t, "completed", NULL);
		return true;
	}
	if (!NextRange(c))
		FreeChunk(r);
	return true;
}

/*
 * SendRange
 *		Steps 5-8 for the current range of the in-flight chunk.  A driver
 *		with begin/poll sends in the background: the range stays in flight
 *		across rounds of the loop, so other targets go on meanwhile.
 *		Returns true if something was delivered or settled.
 */
static bool
SendRange(Target *t)
{
	Run		   *r = t->run;
	Chunk	   *c = r->chunk;
	StringInfoData payload;
	GsBatch		batch;
	GsSendResult res;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext old;

	if (c->inflight)
	{
		memset(&res, 0, sizeof(res));
		if (!t->driver->poll(t->dstate, &res))
			return false;		/* still on its way */
		c->inflight = false;
		pgstat_report_activity(STATE_IDLE, NULL);
		return FinishSend(t, &res);
	}
	if (c->next_attempt > now)
		return false;
	if (t->breaker_until > now)
	{
		strlcpy(r->pd.status, "waiting", sizeof(r->pd.status));
		Step(r, GS_STEP_SENDING, "circuit breaker open: next attempt in %ld s",
			 MsUntil(t->breaker_until, now) / 1000 + 1);
		return false;
	}
	strlcpy(r->pd.status, "running", sizeof(r->pd.status));

	BatchKey(t, r, c, c->key, sizeof(c->key));
	Step(r, GS_STEP_TRANSFORMING, "formatting %d events as NDJSON", c->hi - c->lo);
	/* the payload lives with the run: a background send outlasts this round */
	old = MemoryContextSwitchTo(r->cxt);
	initStringInfo(&payload);
	BuildPayload(c, c->key, t->id, r->sync_id, &payload);
	MemoryContextSwitchTo(old);
	c->payload = payload.data;
	c->payload_len = payload.len;

	memset(&batch, 0, sizeof(batch));
	batch.target_id = t->id;
	batch.batch_id = c->key;
	batch.nevents = c->hi - c->lo;
	batch.payload = payload.data;
	batch.len = payload.len;
	batch.attempt = c->attempts + 1;
	batch.should_stop = ShouldStop;
	batch.stop_arg = r;

	Step(r, GS_STEP_SENDING, "sending %d events (%d bytes)%s", batch.nevents, payload.len,
		 c->attempts > 0 ? ", again" : "");
	memset(&res, 0, sizeof(res));
	pgstat_report_activity(STATE_RUNNING, "globalsync: sending a batch");
	if (t->driver->begin)
	{
		if (t->driver->begin(t->dstate, &batch, &res))
		{
			c->inflight = true;
			return false;
		}
	}
	else
		t->driver->send(t->dstate, &batch, &res);
	pgstat_report_activity(STATE_IDLE, NULL);
	return FinishSend(t, &res);
}

/*
 * StepRun
 *		Advance one target's run by at most one batch.  Returns true if it
 *		did work (the loop then goes round again without sleeping), and
 *		sets *wait_ms to when it next wants to be looked at.
 */
static bool
StepRun(Target *t, long *wait_ms)
{
	Run		   *r = t->run;
	TimestampTz now = GetCurrentTimestamp();

	if (GsProgressCancelRequested(r->slot))
	{
		EndRun(t, "cancelled", NULL);
		return true;
	}
	if (!r->begun)
	{
		StartRun(t);
		return true;
	}
	if (r->chunk == NULL)
	{
		FetchResult fr;

		if (t->breaker_until > now)
		{
			*wait_ms = MsUntil(t->breaker_until, now);
			return false;
		}
		if (r->dead_letter_id > 0)
		{
			if (!FetchReplay(t))
				EndRun(t, "failed", "the dead letter is no longer waiting for a replay");
			return true;
		}
		if (r->full)
		{
			if (FetchSnapshot(t))
				return true;
			/* snapshot done: carry on with the changes up to a new tick */
			r->full = false;
			r->until_tick = TakeTick();
			Step(r, GS_STEP_FETCHING, "snapshot sent, sending changes made meanwhile");
			return true;
		}
		/*
		 * A realtime run ends at a batch boundary when a manual sync waits
		 * for the target, or after REALTIME_MAX_MS, so that sync_log gets a
		 * row at least that often under a steady load.
		 */
		if (r->until_tick == 0 &&
			(t->queued_waiting || now - r->started >= (int64) REALTIME_MAX_MS * 1000))
		{
			EndRun(t, "completed", NULL);
			return true;
		}
		fr = FetchChanges(t);
		if (fr == FETCH_MORE)
			return true;
		if (fr == FETCH_NONE)
		{
			if (r->until_tick > 0)
			{
				EndRun(t, "completed", NULL);
				return true;
			}
			/* realtime: stay a while for more, then end the run */
			if (now - r->last_delivery >= (int64) REALTIME_IDLE_MS * 1000)
			{
				EndRun(t, "completed", NULL);
				return true;
			}
			strlcpy(r->pd.status, "running", sizeof(r->pd.status));
			Step(r, GS_STEP_FETCHING, "caught up, waiting for changes");
			*wait_ms = Min(*wait_ms, REALTIME_IDLE_MS);
			return false;
		}
	}
	if (SendRange(t))
		return true;
	if (t->run && t->run->chunk && t->run->chunk->inflight)
	{
		/* a background send: WaitForWork wakes on its sockets */
		*wait_ms = Min(*wait_ms, 1000);
		return false;
	}
	if (t->run && t->run->chunk)
	{
		TimestampTz next = Max(t->run->chunk->next_attempt, t->breaker_until);

		*wait_ms = Min(*wait_ms, Max(MsUntil(next, GetCurrentTimestamp()), 1));
	}
	return false;
}

/* ----------------------------------------------------------------
 * main loop
 * ---------------------------------------------------------------- */

static bool
AnyInflight(void)
{
	ListCell   *lc;

	foreach(lc, targets)
	{
		Target	   *t = lfirst(lc);

		if (t->run && t->run->chunk && t->run->chunk->inflight)
			return true;
	}
	return false;
}

/*
 * WaitForWork
 *		Sleep until the latch is set, the timeout passes or, while a send
 *		is under way in the background, one of its sockets is ready (or
 *		libcurl's timer is due).  Exits if the postmaster dies.
 */
static void
WaitForWork(long timeout)
{
	WaitEventSet *set;
	WaitEvent	event;

	if (!AnyInflight())
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		return;
	}
	set = CreateWaitEventSet(CurrentMemoryContext, 2 + 64);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	/* with no socket to watch yet, poll the transfers soon */
	if (GsHttpAddWaitEvents(set, 64, &timeout) == 0)
		timeout = Min(timeout, 5);
	(void) WaitEventSetWait(set, timeout, &event, 1, PG_WAIT_EXTENSION);
	FreeWaitEventSet(set);
}

/* Log an error caught in the loop as a WARNING and clean up after it. */
static void
ReportCaught(const char *what, Target *t)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(round_cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortOutOfAnyTransaction();
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("globalsync worker: %s%s%s: %s", what,
					t ? " for target " : "", t ? t->id : "", edata->message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 errhint("The worker carries on and tries again in a few seconds.")));
	if (t && t->run)
	{
		strlcpy(t->run->pd.last_error, edata->message, sizeof(t->run->pd.last_error));
		if (t->run->chunk)
			t->run->chunk->next_attempt = GetCurrentTimestamp() + 5 * USECS_PER_SEC;
	}
	FreeErrorData(edata);
	pgstat_report_activity(STATE_IDLE, NULL);
}

static void
WorkerExit(int code, Datum arg)
{
	ListCell   *lc;

	/* progress slots are shared: give them back */
	foreach(lc, targets)
	{
		Target	   *t = lfirst(lc);

		if (t->run)
			GsProgressRelease(t->run->slot);
	}
}

void
GsWorkerMain(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	TimestampTz error_pause_until = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("globalsync worker");

	GsDbWorkerAttach(dboid);
	before_shmem_exit(WorkerExit, (Datum) 0);

	/* a lost acknowledgement only means a resend under the same id */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", "globalsync worker", PGC_USERSET, PGC_S_OVERRIDE);

	worker_cxt = AllocSetContextCreate(TopMemoryContext, "globalsync worker", ALLOCSET_DEFAULT_SIZES);
	round_cxt = AllocSetContextCreate(TopMemoryContext, "globalsync worker round", ALLOCSET_DEFAULT_SIZES);

	StartTransactionCommand();
	strlcpy(dbname, get_database_name(MyDatabaseId), sizeof(dbname));
	CommitTransactionCommand();

	seen_config_gen = GsDbWorkerConfigGen(MyDatabaseId);
	LoadTargets();
	ereport(LOG, (errmsg("globalsync worker started for database \"%s\"", dbname)));

	for (;;)
	{
		TimestampTz now;
		long		timeout = (long) gs_idle_poll_interval * 1000L;
		long		t_ms;
		bool		worked = false;
		ListCell   *lc;
		uint64		gen;
		bool		reload;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* drivers read settings (send_timeout) when opened */
			reopen_targets = true;
			last_load_at = 0;
		}
		MemoryContextReset(round_cxt);
		MemoryContextSwitchTo(round_cxt);
		now = GetCurrentTimestamp();

		if (now < error_pause_until)
			timeout = MsUntil(error_pause_until, now);
		else
		{
			PG_TRY();
			{
				gen = GsDbWorkerConfigGen(MyDatabaseId);
				reload = (gen != seen_config_gen) ||
					now - last_load_at >= (int64) gs_idle_poll_interval * USECS_PER_SEC;
				if (reload)
				{
					seen_config_gen = gen;
					LoadTargets();
				}
				/* queued syncs are started, or failed for inactive targets */
				if (gs_enable_worker && (reload || !resumed || pick_pending))
				{
					pick_pending = false;
					PickQueued();
				}
				/*
				 * Ticks go on while every target is switched off, so that a
				 * target switched on again reads its backlog in tick-sized
				 * ranges; a database without targets gets none.
				 */
				if (gs_enable_worker && targets != NIL)
				{
					t_ms = MaybeTick(now);
					if (t_ms >= 0)
						timeout = Min(timeout, t_ms);
					MaybeMaintain(now);
					MaybePurge(now);
				}
				if (gs_enable_worker && AnyActiveTarget())
				{
					t_ms = StartAutoRuns(now);
					if (t_ms >= 0)
						timeout = Min(timeout, t_ms);
				}
			}
			PG_CATCH();
			{
				ReportCaught("housekeeping failed", NULL);
				error_pause_until = GetCurrentTimestamp() + 5 * USECS_PER_SEC;
			}
			PG_END_TRY();

			foreach(lc, targets)
			{
				Target	   *t = lfirst(lc);
				long		w = timeout;

				if (t->run == NULL)
					continue;
				PG_TRY();
				{
					if (StepRun(t, &w))
						worked = true;
				}
				PG_CATCH();
				{
					ReportCaught("sync step failed", t);
				}
				PG_END_TRY();
				timeout = Min(timeout, w);
			}
		}

		if (worked)
			continue;

		/*
		 * Ask for the next capturing commit, unless one is already waiting
		 * for its tick (then the timeout brings us back); a commit between
		 * the last look at the counter and the arming is caught here.
		 */
		if (targets != NIL && !commits_unticked)
		{
			uint64		commits;
			TimestampTz last_commit;

			GsDbWorkerArmCommitSignal(MyDatabaseId);
			if (GsCapturePending(MyDatabaseId, &commits, &last_commit) && commits != seen_commits)
				timeout = 0;
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		WaitForWork(Max(timeout, 1L));
		ResetLatch(MyLatch);
	}
}
