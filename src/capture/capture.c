/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  The capture trigger: one C function for every tracked table.
 *
 * AFTER ROW INSERT/UPDATE/DELETE writes one row to globalsync.change_log;
 * AFTER STATEMENT TRUNCATE writes one 'T' event.  What to exclude and mask
 * comes from the trigger's arguments (globalsync.track() writes them), and
 * the table's layout is cached per backend and dropped by a relcache
 * callback on ALTER TABLE, so steady state does no catalog lookups.  The
 * event is written by a direct heap insert into the current partition plus
 * its (plain column) indexes: no SQL, no executor, no permission check (the
 * user changing the tracked table has no rights on the log, and needs none).
 *
 * Which partition (slot) an event goes to is read once per transaction,
 * after the transaction has its xid, with the latest snapshot: that is
 * what makes rotation safe (see globalsync.maintain_log()).
 *
 * Memory: table cache entries live in their own contexts under
 * CacheMemoryContext; everything per row is allocated in the trigger's
 * (per-tuple) context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/transam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hmac.h"
#include "common/jsonapi.h"
#include "catalog/index.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "capture.h"

bool		gs_capture_enabled = true;

/* how a column's value becomes JSON, decided once per column */
typedef enum GsJsonKind
{
	GS_JSON_STRING,				/* output function, as a JSON string */
	GS_JSON_BOOL,
	GS_JSON_INT,				/* int2/int4/int8: a JSON number */
	GS_JSON_NUMERIC,
	GS_JSON_FLOAT,				/* number unless NaN/Infinity, as to_jsonb */
	GS_JSON_DATETIME,			/* date/timestamp/timestamptz, ISO 8601 */
	GS_JSON_JSONB,
	GS_JSON_GENERIC				/* arrays, composites, json...: to_jsonb() */
} GsJsonKind;

typedef struct GsColumn
{
	char	   *name;
	int			namelen;
	Oid			typid;			/* base type */
	GsJsonKind	kind;
	bool		excluded;
	bool		masked;
	bool		typbyval;
	int16		typlen;
	FmgrInfo	out;			/* output function */
	FmgrInfo	tojsonb;		/* to_jsonb(), for GS_JSON_GENERIC */
} GsColumn;

typedef struct GsTableCache
{
	Oid			relid;			/* hash key */
	bool		valid;
	MemoryContext cxt;
	char	   *qualname;
	int			natts;
	GsColumn   *cols;			/* natts entries; dropped columns excluded */
	int			npk;
	AttrNumber *pk;
	AttrNumber	facility_att;	/* 0 if none */
	bool		any_masked;
} GsTableCache;

static HTAB *table_cache = NULL;
static bool callbacks_registered = false;

/* bumped by every relcache invalidation, to detect one during a rebuild */
static uint64 inval_count = 0;

/* the log itself, resolved once per backend */
static Oid	state_relid = InvalidOid;
static Oid	secrets_relid = InvalidOid;
static Oid	log_relid = InvalidOid;
static Oid	seq_relid = InvalidOid;
static Oid	part_relid[3] = {InvalidOid, InvalidOid, InvalidOid};

/* columns of a change_log partition, by attribute number (1-based) */
enum
{
	LOG_EVENT_ID,
	LOG_SLOT,
	LOG_XID,
	LOG_TABLE_OID,
	LOG_TABLE_NAME,
	LOG_OP,
	LOG_PK,
	LOG_ROW_DATA,
	LOG_CHANGED_COLUMNS,
	LOG_OLD_VALUES,
	LOG_FACILITY_ID,
	LOG_CAPTURED_AT,
	LOG_NCOLS
};
static const char *const log_colnames[LOG_NCOLS] = {
	"event_id", "slot", "xid", "table_oid", "table_name", "op", "pk",
	"row_data", "changed_columns", "old_values", "facility_id", "captured_at"
};
static AttrNumber log_attnum[LOG_NCOLS];

/* per-transaction state */
static FullTransactionId slot_xid = {0};
static int16 slot_cached = -1;
static bool captured_in_xact = false;

static bool mask_key_loaded = false;
static uint8 mask_key[1024];
static int	mask_key_len = 0;

static void GsCaptureRelcacheCallback(Datum arg, Oid relid);
static void GsCaptureXactCallback(XactEvent event, void *arg);

static bool
check_capture(bool *newval, void **extra, GucSource source)
{
	/* anyone may turn capture on; turning it off loses changes */
	if (*newval || !IsTransactionState() || !OidIsValid(GetUserId()))
		return true;
	if (superuser() || has_rolreplication(GetUserId()))
		return true;
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("permission denied to set globalsync.capture to off");
	GUC_check_errdetail("Only superusers and replication roles can skip change capture.");
	return false;
}

void
GsCaptureInit(void)
{
	DefineCustomBoolVariable("globalsync.capture",
							 "Log changes of tracked tables to globalsync.change_log.",
							 "Set to off (superusers and replication roles only) in a session that "
							 "writes back into a tracked table, so a sync cannot loop.",
							 &gs_capture_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 check_capture, NULL, NULL);
}

static void
RegisterCallbacks(void)
{
	HASHCTL		ctl;

	if (callbacks_registered)
		return;
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(GsTableCache);
	ctl.hcxt = CacheMemoryContext;
	table_cache = hash_create("globalsync capture tables", 32, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(GsCaptureRelcacheCallback, (Datum) 0);
	RegisterXactCallback(GsCaptureXactCallback, NULL);
	callbacks_registered = true;
}

/*
 * Relcache invalidation: a tracked table changed (ALTER TABLE, track()
 * re-creating the trigger), or the log's own relations went away (DROP
 * EXTENSION).  Only flag things here; rebuilding happens on next use.
 */
static void
GsCaptureRelcacheCallback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	GsTableCache *entry;

	inval_count++;
	if (table_cache != NULL)
	{
		if (OidIsValid(relid))
		{
			entry = hash_search(table_cache, &relid, HASH_FIND, NULL);
			if (entry)
				entry->valid = false;
		}
		else
		{
			hash_seq_init(&status, table_cache);
			while ((entry = hash_seq_search(&status)) != NULL)
				entry->valid = false;
		}
	}
	if (!OidIsValid(relid) || relid == state_relid || relid == secrets_relid ||
		relid == log_relid || relid == seq_relid || relid == part_relid[0] ||
		relid == part_relid[1] || relid == part_relid[2])
	{
		/* resolved again on next use (DROP EXTENSION, ALTER of the log) */
		state_relid = InvalidOid;
		mask_key_loaded = false;
		slot_cached = -1;
	}
}

static void
GsCaptureXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (captured_in_xact)
				GsCaptureNoteCommit(MyDatabaseId);
			captured_in_xact = false;
			slot_cached = -1;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction's changes are counted by nobody: the
			 * worker's safety poll finds them after COMMIT PREPARED */
			captured_in_xact = false;
			slot_cached = -1;
			break;
		default:
			break;
	}
}

static GsJsonKind
ClassifyType(Oid typid)
{
	switch (typid)
	{
		case BOOLOID:
			return GS_JSON_BOOL;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return GS_JSON_INT;
		case NUMERICOID:
			return GS_JSON_NUMERIC;
		case FLOAT4OID:
		case FLOAT8OID:
			return GS_JSON_FLOAT;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return GS_JSON_DATETIME;
		case JSONBOID:
			return GS_JSON_JSONB;
		case JSONOID:
			return GS_JSON_GENERIC;
		default:
			break;
	}
	if (OidIsValid(get_element_type(typid)) || type_is_rowtype(typid) ||
		type_is_range(typid) || type_is_multirange(typid))
		return GS_JSON_GENERIC;
	return GS_JSON_STRING;
}

/* Split "key=a,b,c" from a trigger argument into a list of strings. */
static List *
ParseNameList(const char *arg, const char *key)
{
	size_t		klen = strlen(key);
	List	   *names = NIL;
	char	   *copy;
	char	   *tok;
	char	   *save;

	if (arg == NULL || strncmp(arg, key, klen) != 0 || arg[klen] != '=')
		return NIL;
	copy = pstrdup(arg + klen + 1);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		names = lappend(names, tok);
	return names;
}

static bool
NameInList(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * BuildTableCache
 *		(Re)build what the trigger needs to know about a table.
 */
static void
BuildTableCache(GsTableCache *entry, Relation rel, Trigger *trigger)
{
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext old;
	List	   *exclude = NIL;
	List	   *mask = NIL;
	Oid			pkoid;
	int			i;
	uint64		inval_at_start = inval_count;

	entry->valid = false;
	if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(CacheMemoryContext, "globalsync capture table",
									   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(entry->cxt);

	for (i = 0; i < trigger->tgnargs; i++)
	{
		exclude = list_concat(exclude, ParseNameList(trigger->tgargs[i], "exclude"));
		mask = list_concat(mask, ParseNameList(trigger->tgargs[i], "mask"));
	}

	entry->qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												 RelationGetRelationName(rel));
	entry->natts = desc->natts;
	entry->cols = palloc0(sizeof(GsColumn) * desc->natts);
	entry->facility_att = 0;
	entry->any_masked = false;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		GsColumn   *col = &entry->cols[i];
		Oid			outfn;
		bool		isvarlena;

		if (att->attisdropped)
		{
			col->excluded = true;
			continue;
		}
		col->name = pstrdup(NameStr(att->attname));
		col->namelen = strlen(col->name);
		col->typid = getBaseType(att->atttypid);
		col->kind = ClassifyType(col->typid);
		{
			/* track() names columns by attribute number: renames keep them */
			char		attnum[16];

			snprintf(attnum, sizeof(attnum), "%d", (int) att->attnum);
			col->excluded = NameInList(exclude, attnum);
			col->masked = NameInList(mask, attnum);
		}
		col->typbyval = att->attbyval;
		col->typlen = att->attlen;
		entry->any_masked |= col->masked;
		getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &col->out, entry->cxt);
		if (col->kind == GS_JSON_GENERIC)
		{
			/* to_jsonb() reads its argument type from fn_expr */
			fmgr_info_cxt(F_TO_JSONB, &col->tojsonb, entry->cxt);
			col->tojsonb.fn_expr = (Node *)
				makeFuncExpr(F_TO_JSONB, JSONBOID,
							 list_make1(makeNullConst(att->atttypid, att->atttypmod,
													  att->attcollation)),
							 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		}
		if (strcmp(col->name, "facility_id") == 0 && !col->excluded)
			entry->facility_att = i + 1;
	}

	pkoid = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(pkoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tracked table \"%s\" has no primary key", entry->qualname),
				 errhint("Add a primary key, or stop tracking it with globalsync.untrack('%s').",
						 entry->qualname)));
	{
		Relation	idx = index_open(pkoid, AccessShareLock);

		entry->npk = idx->rd_index->indnkeyatts;
		entry->pk = palloc(sizeof(AttrNumber) * entry->npk);
		for (i = 0; i < entry->npk; i++)
			entry->pk[i] = idx->rd_index->indkey.values[i];
		index_close(idx, AccessShareLock);
	}
	MemoryContextSwitchTo(old);
	/* an invalidation that arrived while building means: build again next time */
	entry->valid = (inval_count == inval_at_start);
}

static GsTableCache *
GetTableCache(Relation rel, Trigger *trigger)
{
	Oid			relid = RelationGetRelid(rel);
	GsTableCache *entry;
	bool		found;

	entry = hash_search(table_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->cxt = NULL;
	}
	if (!entry->valid)
		BuildTableCache(entry, rel, trigger);
	return entry;
}

/*
 * ResolveLog
 *		Find the log's relations and the layout of its partitions, once per
 *		backend (and again after a relcache invalidation of any of them).
 */
static void
ResolveLog(void)
{
	Oid			nsp;
	int			i,
				c;
	TupleDesc	desc = NULL;

	if (OidIsValid(state_relid))
		return;
	nsp = get_namespace_oid("globalsync", false);
	secrets_relid = get_relname_relid("capture_secrets", nsp);
	log_relid = get_relname_relid("change_log", nsp);
	seq_relid = get_relname_relid("change_log_event_id_seq", nsp);
	for (i = 0; i < 3; i++)
	{
		char		name[NAMEDATALEN];

		snprintf(name, sizeof(name), "change_log_%d", i);
		part_relid[i] = get_relname_relid(name, nsp);
		if (!OidIsValid(part_relid[i]))
			break;
	}
	if (!OidIsValid(secrets_relid) || !OidIsValid(log_relid) ||
		!OidIsValid(seq_relid) || i < 3)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("globalsync change log not found in this database"),
				 errhint("Run CREATE EXTENSION globalsync, or untrack the table.")));

	/* partitions share the parent's layout; map our columns once */
	{
		Relation	rel = table_open(part_relid[0], AccessShareLock);

		desc = RelationGetDescr(rel);
		for (c = 0; c < LOG_NCOLS; c++)
		{
			log_attnum[c] = InvalidAttrNumber;
			for (i = 0; i < desc->natts; i++)
			{
				Form_pg_attribute att = TupleDescAttr(desc, i);

				if (!att->attisdropped && strcmp(NameStr(att->attname), log_colnames[c]) == 0)
					log_attnum[c] = att->attnum;
			}
			if (log_attnum[c] == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("globalsync change log has no column \"%s\"", log_colnames[c]),
						 errhint("The extension's tables were altered; recreate the extension.")));
		}
		table_close(rel, AccessShareLock);
	}
	/* last, so a failure above leaves us unresolved */
	state_relid = get_relname_relid("capture_state", nsp);
	if (!OidIsValid(state_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("globalsync change log not found in this database"),
				 errhint("Run CREATE EXTENSION globalsync, or untrack the table.")));
}

/*
 * CurrentSlot
 *		The log partition this transaction writes to.
 *
 * Read once per transaction, after it has an xid, with the latest snapshot:
 * so a transaction that still writes to the old slot after a switch has an
 * xid below maintain_log()'s switch_done_xid.  The one row of capture_state
 * is read in place (no copy: this is on every capturing transaction's path)
 * and without a permission check: only this trusted code reads it.
 */
static int16
CurrentSlot(void)
{
	FullTransactionId xid = GetTopFullTransactionId();
	Relation	rel;
	Snapshot	snap;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		isnull = true;
	int64		generation = 0;

	if (slot_cached >= 0 && FullTransactionIdEquals(xid, slot_xid))
		return slot_cached;
	rel = table_open(state_relid, AccessShareLock);
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snap, 0, NULL);
	tup = heap_getnext(scan, ForwardScanDirection);
	if (tup != NULL)
		generation = DatumGetInt64(heap_getattr(tup, 2, RelationGetDescr(rel), &isnull));
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("globalsync table \"capture_state\" is empty"),
				 errhint("Recreate the extension's state: DROP EXTENSION globalsync CASCADE; CREATE EXTENSION globalsync.")));
	slot_cached = (int16) (generation % 3);
	slot_xid = xid;
	return slot_cached;
}

/*
 * LoadMaskKey
 *		The oldest key in capture_secrets (see the install script), cached
 *		for the backend's life.
 */
static void
LoadMaskKey(void)
{
	Relation	rel;
	Snapshot	snap;
	TableScanDesc scan;
	HeapTuple	tup;
	TimestampTz best = 0;
	bool		found = false;

	if (mask_key_loaded)
		return;
	rel = table_open(secrets_relid, AccessShareLock);
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snap, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		TimestampTz created = DatumGetTimestampTz(heap_getattr(tup, 1, RelationGetDescr(rel), &isnull));
		bytea	   *key;

		if (found && created >= best)
			continue;
		key = DatumGetByteaPP(heap_getattr(tup, 2, RelationGetDescr(rel), &isnull));
		if (isnull || VARSIZE_ANY_EXHDR(key) > sizeof(mask_key))
			continue;
		mask_key_len = VARSIZE_ANY_EXHDR(key);
		memcpy(mask_key, VARDATA_ANY(key), mask_key_len);
		best = created;
		found = true;
	}
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no key to mask columns with in globalsync.capture_secrets"),
				 errhint("As the extension's owner: INSERT INTO globalsync.capture_secrets (mask_key) VALUES (a random bytea of 32 bytes).")));
	mask_key_loaded = true;
}

/* HMAC-SHA256 of the value's text, as lower-case hex. */
static char *
MaskValue(GsColumn *col, Datum value)
{
	char	   *text = OutputFunctionCall(&col->out, value);
	pg_hmac_ctx *ctx;
	uint8		digest[32];
	char	   *hex = palloc(65);
	int			i;

	LoadMaskKey();
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL ||
		pg_hmac_init(ctx, mask_key, mask_key_len) < 0 ||
		pg_hmac_update(ctx, (uint8 *) text, strlen(text)) < 0 ||
		pg_hmac_final(ctx, digest, sizeof(digest)) < 0)
	{
		const char *err = ctx ? pg_hmac_error(ctx) : "out of memory";

		if (ctx)
			pg_hmac_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not mask column \"%s\": %s", col->name, err)));
	}
	pg_hmac_free(ctx);
	for (i = 0; i < 32; i++)
		sprintf(hex + i * 2, "%02x", digest[i]);
	return hex;
}

static void
PushString(JsonbParseState **state, const char *s, int len, JsonbIteratorToken tok)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	pushJsonbValue(state, tok, &v);
}

static void
PushJsonb(JsonbParseState **state, Jsonb *jb)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(jb))
	{
		JsonbExtractScalar(&jb->root, &v);
		pushJsonbValue(state, WJB_VALUE, &v);
	}
	else
	{
		v.type = jbvBinary;
		v.val.binary.data = &jb->root;
		v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		pushJsonbValue(state, WJB_VALUE, &v);
	}
}

/*
 * PushColumnValue
 *		Push one value as a JSON object member value, as to_jsonb() would
 *		render it (masked columns: their keyed hash).
 */
static void
PushColumnValue(JsonbParseState **state, GsColumn *col, Datum value, bool isnull)
{
	JsonbValue	v;

	if (isnull)
	{
		v.type = jbvNull;
		pushJsonbValue(state, WJB_VALUE, &v);
		return;
	}
	if (col->masked)
	{
		char	   *h = MaskValue(col, value);

		PushString(state, h, 64, WJB_VALUE);
		return;
	}
	switch (col->kind)
	{
		case GS_JSON_BOOL:
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(value);
			pushJsonbValue(state, WJB_VALUE, &v);
			return;
		case GS_JSON_INT:
			{
				int64		i = col->typid == INT8OID ? DatumGetInt64(value) :
				col->typid == INT4OID ? DatumGetInt32(value) : DatumGetInt16(value);

				v.type = jbvNumeric;
				v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(i)));
				pushJsonbValue(state, WJB_VALUE, &v);
				return;
			}
		case GS_JSON_NUMERIC:
			{
				Numeric		n = DatumGetNumeric(value);

				if (numeric_is_nan(n) || numeric_is_inf(n))
					break;		/* a string, as to_jsonb */
				v.type = jbvNumeric;
				v.val.numeric = n;
				pushJsonbValue(state, WJB_VALUE, &v);
				return;
			}
		case GS_JSON_FLOAT:
			{
				char	   *s = OutputFunctionCall(&col->out, value);

				if (IsValidJsonNumber(s, strlen(s)))
				{
					v.type = jbvNumeric;
					v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																		CStringGetDatum(s),
																		ObjectIdGetDatum(InvalidOid),
																		Int32GetDatum(-1)));
					pushJsonbValue(state, WJB_VALUE, &v);
				}
				else
					PushString(state, s, strlen(s), WJB_VALUE);
				return;
			}
		case GS_JSON_DATETIME:
			{
				char		buf[MAXDATELEN + 1];

				JsonEncodeDateTime(buf, value, col->typid, NULL);
				/* the value is referenced until the object is built */
				PushString(state, pstrdup(buf), strlen(buf), WJB_VALUE);
				return;
			}
		case GS_JSON_JSONB:
			PushJsonb(state, DatumGetJsonbP(value));
			return;
		case GS_JSON_GENERIC:
			PushJsonb(state, DatumGetJsonbP(FunctionCall1(&col->tojsonb, value)));
			return;
		case GS_JSON_STRING:
			break;
	}
	{
		char	   *s = OutputFunctionCall(&col->out, value);

		PushString(state, s, strlen(s), WJB_VALUE);
	}
}

/* Object of the given columns of a tuple. */
static Jsonb *
TupleToJsonb(GsTableCache *tc, HeapTuple tuple, TupleDesc desc,
			 const AttrNumber *atts, int natts, bool skip_excluded)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	int			i;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < natts; i++)
	{
		int			a = atts ? atts[i] : i + 1;
		GsColumn   *col = &tc->cols[a - 1];
		bool		isnull;
		Datum		value;

		if (skip_excluded && col->excluded)
			continue;
		if (col->name == NULL)
			continue;			/* dropped */
		value = heap_getattr(tuple, a, desc, &isnull);
		PushString(&state, col->name, col->namelen, WJB_KEY);
		PushColumnValue(&state, col, value, isnull);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * FacilityOf
 *		The row's facility_id as text (a masked facility_id masked here too),
 *		or NULL if the table has none or the value is NULL.
 */
static char *
FacilityOf(GsTableCache *tc, HeapTuple tuple, TupleDesc desc)
{
	GsColumn   *fcol;
	bool		isnull;
	Datum		f;

	if (tc->facility_att <= 0)
		return NULL;
	f = heap_getattr(tuple, tc->facility_att, desc, &isnull);
	if (isnull)
		return NULL;
	fcol = &tc->cols[tc->facility_att - 1];
	return fcol->masked ? MaskValue(fcol, f) : OutputFunctionCall(&fcol->out, f);
}

/* Do two values of a column differ?  Detoasts only when bytes differ. */
static bool
ValuesDiffer(GsColumn *col, Datum a, bool anull, Datum b, bool bnull)
{
	if (anull || bnull)
		return anull != bnull;
	if (datumIsEqual(a, b, col->typbyval, col->typlen))
		return false;
	if (col->typlen == -1)
	{
		struct varlena *va = PG_DETOAST_DATUM_PACKED(a);
		struct varlena *vb = PG_DETOAST_DATUM_PACKED(b);

		return VARSIZE_ANY_EXHDR(va) != VARSIZE_ANY_EXHDR(vb) ||
			memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) != 0;
	}
	return true;
}

/*
 * InsertEvent
 *		Write one event straight into the current partition and its indexes.
 *
 * The partition's constraint (slot) holds by construction and the op is
 * one of I/U/D/T, so nothing the executor would check can fail.  Only
 * plain column indexes are maintained; the extension creates no other.
 */
static void
InsertEvent(GsTableCache *tc, Oid relid, char op, Jsonb *pk, Jsonb *row,
			ArrayType *changed, Jsonb *old_values, text *facility)
{
	int16		slot = CurrentSlot();
	Relation	rel;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	tup;
	List	   *indexes;
	ListCell   *lc;

	rel = table_open(part_relid[slot], RowExclusiveLock);
	desc = RelationGetDescr(rel);
	values = palloc0(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	memset(nulls, true, sizeof(bool) * desc->natts);

#define SETCOL(c, v) \
	do { values[log_attnum[c] - 1] = (v); nulls[log_attnum[c] - 1] = false; } while (0)

	SETCOL(LOG_EVENT_ID, Int64GetDatum(nextval_internal(seq_relid, false)));
	SETCOL(LOG_SLOT, Int16GetDatum(slot));
	SETCOL(LOG_XID, FullTransactionIdGetDatum(GetTopFullTransactionId()));
	SETCOL(LOG_TABLE_OID, ObjectIdGetDatum(relid));
	SETCOL(LOG_TABLE_NAME, CStringGetTextDatum(tc->qualname));
	SETCOL(LOG_OP, CharGetDatum(op));
	if (pk)
		SETCOL(LOG_PK, JsonbPGetDatum(pk));
	if (row)
		SETCOL(LOG_ROW_DATA, JsonbPGetDatum(row));
	if (changed)
		SETCOL(LOG_CHANGED_COLUMNS, PointerGetDatum(changed));
	if (old_values)
		SETCOL(LOG_OLD_VALUES, JsonbPGetDatum(old_values));
	if (facility)
		SETCOL(LOG_FACILITY_ID, PointerGetDatum(facility));
	SETCOL(LOG_CAPTURED_AT, TimestampTzGetDatum(GetCurrentTimestamp()));
#undef SETCOL

	tup = heap_form_tuple(desc, values, nulls);
	heap_insert(rel, tup, GetCurrentCommandId(true), 0, NULL);

	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *ii = BuildIndexInfo(idx);
		Datum		ivalues[INDEX_MAX_KEYS];
		bool		inulls[INDEX_MAX_KEYS];
		int			k;

		if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("index \"%s\" on the globalsync change log is not a plain column index",
							RelationGetRelationName(idx)),
					 errhint("Drop it: the capture trigger maintains only plain column indexes.")));
		for (k = 0; k < ii->ii_NumIndexAttrs; k++)
		{
			AttrNumber	a = ii->ii_IndexAttrNumbers[k];

			ivalues[k] = values[a - 1];
			inulls[k] = nulls[a - 1];
		}
		index_insert(idx, ivalues, inulls, &tup->t_self, rel,
					 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, ii);
		index_close(idx, NoLock);
	}
	list_free(indexes);
	heap_freetuple(tup);
	/* keep the lock to commit: maintain_log() waits on it before truncating */
	table_close(rel, NoLock);
	captured_in_xact = true;
}

/*
 * capture_trigger() -> trigger
 */
PG_FUNCTION_INFO_V1(gs_capture_trigger);
Datum
gs_capture_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	Relation	rel;
	TupleDesc	desc;
	GsTableCache *tc;
	HeapTuple	newtup = NULL;
	HeapTuple	oldtup = NULL;
	HeapTuple	keytup;
	char		op;
	Jsonb	   *pk;
	Jsonb	   *row = NULL;
	Jsonb	   *old_values = NULL;
	ArrayType  *changed = NULL;
	text	   *facility = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("globalsync.capture_trigger() was not called by the trigger manager"),
				 errhint("Attach it with globalsync.track(table).")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("globalsync.capture_trigger() must be fired AFTER"),
				 errhint("Attach it with globalsync.track(table).")));
	rel = td->tg_relation;

	if (!gs_capture_enabled)
		return PointerGetDatum(NULL);

	RegisterCallbacks();
	ResolveLog();

	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		tc = GetTableCache(rel, td->tg_trigger);
		InsertEvent(tc, RelationGetRelid(rel), 'T', NULL, NULL, NULL, NULL, NULL);
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("globalsync.capture_trigger() must be fired FOR EACH ROW for INSERT, UPDATE and DELETE"),
				 errhint("Attach it with globalsync.track(table).")));

	tc = GetTableCache(rel, td->tg_trigger);
	desc = RelationGetDescr(rel);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		op = 'I';
		newtup = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		Datum	   *names;
		int			nchanged = 0;
		JsonbParseState *state = NULL;
		JsonbValue *res;
		int			i;

		op = 'U';
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
		names = palloc(sizeof(Datum) * tc->natts);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		for (i = 0; i < tc->natts; i++)
		{
			GsColumn   *col = &tc->cols[i];
			bool		onull,
						nnull;
			Datum		o,
						n;

			if (col->excluded || col->name == NULL)
				continue;
			o = heap_getattr(oldtup, i + 1, desc, &onull);
			n = heap_getattr(newtup, i + 1, desc, &nnull);
			if (!ValuesDiffer(col, o, onull, n, nnull))
				continue;
			names[nchanged++] = CStringGetTextDatum(col->name);
			PushString(&state, col->name, col->namelen, WJB_KEY);
			PushColumnValue(&state, col, o, onull);
		}
		res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
		if (nchanged == 0)
		{
			/* nothing a target can see has changed */
			return PointerGetDatum(NULL);
		}
		old_values = JsonbValueToJsonb(res);
		changed = construct_array(names, nchanged, TEXTOID, -1, false, TYPALIGN_INT);
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		op = 'D';
		oldtup = td->tg_trigtuple;
	}
	else
		elog(ERROR, "unexpected trigger event %u", td->tg_event);

	keytup = newtup ? newtup : oldtup;
	pk = TupleToJsonb(tc, keytup, desc, tc->pk, tc->npk, false);
	if (newtup)
		row = TupleToJsonb(tc, newtup, desc, NULL, tc->natts, true);
	{
		char	   *fac = FacilityOf(tc, keytup, desc);

		if (fac)
			facility = cstring_to_text(fac);
	}
	InsertEvent(tc, RelationGetRelid(rel), op, pk, row, changed, old_values, facility);
	return PointerGetDatum(NULL);
}

/*
 * capture_pending() -> (pending_commits, last_commit_at)
 */
PG_FUNCTION_INFO_V1(gs_capture_pending);
Datum
gs_capture_pending(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	uint64		commits;
	TimestampTz last;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (!GsCapturePending(MyDatabaseId, &commits, &last))
	{
		nulls[0] = nulls[1] = true;
	}
	else
	{
		values[0] = Int64GetDatum((int64) commits);
		values[1] = TimestampTzGetDatum(last);
		nulls[1] = (last == 0);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * snapshot_row(tbl regclass, r record) -> jsonb
 *		A row of a tracked table as the capture trigger would log it:
 *		{"pk": ..., "row": ..., "facility_id": ...}, with excluded columns
 *		left out and masked ones hashed.  Used by full syncs, so snapshot
 *		rows and captured changes look the same at the target.
 *
 * r must be a whole row of tbl (SELECT snapshot_row('t', t) FROM t): its
 * attributes, dropped ones included, line up with the table's.
 */
PG_FUNCTION_INFO_V1(gs_snapshot_row);
Datum
gs_snapshot_row(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(1);
	Relation	rel;
	TupleDesc	desc;
	Trigger    *trigger = NULL;
	GsTableCache *tc;
	HeapTupleData tuple;
	JsonbParseState *state = NULL;
	JsonbValue *res;
	Jsonb	   *pk;
	Jsonb	   *row;
	char	   *facility = NULL;
	int			i;

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	if (rel->trigdesc)
	{
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			if (strcmp(rel->trigdesc->triggers[i].tgname, "globalsync_capture") == 0)
			{
				trigger = &rel->trigdesc->triggers[i];
				break;
			}
		}
	}
	if (trigger == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not tracked", RelationGetRelationName(rel)),
				 errhint("Track it with globalsync.track().")));
	if (HeapTupleHeaderGetTypeId(rec) != rel->rd_rel->reltype ||
		HeapTupleHeaderGetNatts(rec) > desc->natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the row passed to snapshot_row() is not a row of \"%s\"",
						RelationGetRelationName(rel)),
				 errhint("Pass the whole row: SELECT globalsync.snapshot_row('t', t) FROM t.")));

	RegisterCallbacks();
	ResolveLog();				/* the masking key's table, for MaskValue */
	tc = GetTableCache(rel, trigger);

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = relid;
	tuple.t_data = rec;

	pk = TupleToJsonb(tc, &tuple, desc, tc->pk, tc->npk, false);
	row = TupleToJsonb(tc, &tuple, desc, NULL, tc->natts, true);
	facility = FacilityOf(tc, &tuple, desc);
	table_close(rel, AccessShareLock);

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	PushString(&state, "pk", 2, WJB_KEY);
	PushJsonb(&state, pk);
	PushString(&state, "row", 3, WJB_KEY);
	PushJsonb(&state, row);
	PushString(&state, "facility_id", 11, WJB_KEY);
	if (facility)
		PushString(&state, facility, strlen(facility), WJB_VALUE);
	else
	{
		JsonbValue	jnull;

		jnull.type = jbvNull;
		pushJsonbValue(&state, WJB_VALUE, &jnull);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
