/*-------------------------------------------------------------------------
 *
 * zoned_timestamp.c
 *	  The zoned_timestamp type: an instant plus the zone it was recorded in.
 *
 * Text form is the local wall time then the zone, as written on input but
 * canonical: "2025-10-10 09:30:00 America/New_York".  Where the wall time
 * is repeated by a fall-back transition the UTC offset is printed too
 * ("2025-11-02 01:30:00-05 America/New_York"), so text output reads back to
 * the same instant under any DST policy.
 *
 * Ordering and equality are by instant first, then zone name (byte order),
 * so two values are equal only if they are the same instant recorded in
 * the same zone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/datetime.h"
#include "utils/builtins.h"
#include "utils/sortsupport.h"
#include "utils/timestamp.h"

#include "dtparse.h"
#include "ist_timestamp.h"

typedef struct ZonedParts
{
	TimestampTz instant;
	const char *zone;
	int			zonelen;
} ZonedParts;

static inline void
ZonedUnpack(Datum d, ZonedParts *parts)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
	const char *data = VARDATA_ANY(v);

	memcpy(&parts->instant, data, sizeof(TimestampTz));
	parts->zone = data + sizeof(TimestampTz);
	parts->zonelen = (int) VARSIZE_ANY_EXHDR(v) - (int) sizeof(TimestampTz);
}

static Datum
ZonedMake(TimestampTz instant, const char *zone, int zonelen)
{
	Size		sz = VARHDRSZ + sizeof(TimestampTz) + zonelen;
	struct varlena *v = (struct varlena *) palloc(sz);

	SET_VARSIZE(v, sz);
	memcpy(VARDATA(v), &instant, sizeof(TimestampTz));
	memcpy(VARDATA(v) + sizeof(TimestampTz), zone, zonelen);
	return PointerGetDatum(v);
}

static void
ZonedZone(const ZonedParts *p, GsZone *zone)
{
	if (!GsZoneLookup(p->zone, p->zonelen, zone))
	{
		/*
		 * Only possible if the tz database lost a zone that was valid when
		 * the value was stored.  Say so rather than guessing.
		 */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%.*s\" of a stored zoned_timestamp is no longer recognized",
						p->zonelen, p->zone),
				 errhint("The server's tz database no longer has this zone; cast the value to ist_timestamp to read its instant.")));
	}
}

static void
ZonedRejectInfinite(TimestampTz t, const char *str)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("zoned_timestamp cannot be infinite: \"%s\"", str),
				 errhint("Use ist_timestamp or timestamptz for infinite values.")));
}

PG_FUNCTION_INFO_V1(zoned_timestamp_in);
Datum
zoned_timestamp_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	GsDateTimeInput in;
	GsParseStatus st;
	GsZone		zone;
	TimestampTz t;

	st = GsParseDateTime(str, &in);
	if (st != GS_PARSE_OK)
		GsReportParseError(st, str, "zoned_timestamp");
	if (in.zone != NULL)
	{
		if (!GsZoneLookup(in.zone, in.zonelen, &zone))
			GsZoneReportUnknown(in.zone, in.zonelen, str);
	}
	else if (in.has_offset)
		GsZoneFromOffset(in.offset, &zone);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("invalid input syntax for type zoned_timestamp: \"%s\"", str),
				 errdetail("A zoned_timestamp needs the zone its local time was recorded in."),
				 errhint("Add a zone after the time, for example \"%s America/New_York\", \"%s EST\" or \"%s+05:45\".",
						 str, str, str)));
	t = GsResolveInput(&in, &zone, str, "zoned_timestamp");
	ZonedRejectInfinite(t, str);
	PG_RETURN_DATUM(ZonedMake(t, zone.name, (int) strlen(zone.name)));
}

/* The last zone an output call resolved, kept in fn_extra. */
typedef struct ZonedOutCache
{
	int			len;
	char		name[GS_ZONE_NAMELEN];
	GsZone		zone;
} ZonedOutCache;

/*
 * GsZonedFormat
 *		Text of a zoned_timestamp into a palloc'd string.  cache, if not
 *		NULL, remembers the last zone resolved (values of a column tend to
 *		share a zone).
 */
static char *
GsZonedFormat(const ZonedParts *p, ZonedOutCache *cache)
{
	GsZone		zone;
	const GsZone *zp;
	char		buf[GS_WALLTIME_BUFLEN];
	int32		off;
	bool		repeated;
	char	   *end;
	char	   *result;
	int			len;

	if (cache && cache->len == p->zonelen && memcmp(cache->name, p->zone, p->zonelen) == 0)
		zp = &cache->zone;
	else
	{
		ZonedZone(p, &zone);
		if (cache && p->zonelen < GS_ZONE_NAMELEN)
		{
			cache->len = p->zonelen;
			memcpy(cache->name, p->zone, p->zonelen);
			cache->zone = zone;
		}
		zp = &zone;
	}
	/* the offset is printed only where the wall time occurs twice */
	off = GsZoneOffsetRepeated(zp, p->instant, &repeated);
	end = GsFormatWallTime(p->instant + (int64) off * USECS_PER_SEC, off, repeated, buf);
	len = (int) (end - buf);
	result = palloc(len + 1 + p->zonelen + 1);
	memcpy(result, buf, len);
	result[len] = ' ';
	memcpy(result + len + 1, p->zone, p->zonelen);
	result[len + 1 + p->zonelen] = '\0';
	return result;
}

PG_FUNCTION_INFO_V1(zoned_timestamp_out);
Datum
zoned_timestamp_out(PG_FUNCTION_ARGS)
{
	ZonedParts	p;

	if (fcinfo->flinfo->fn_extra == NULL)
	{
		ZonedOutCache *c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ZonedOutCache));

		c->len = -1;
		fcinfo->flinfo->fn_extra = c;
	}
	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	PG_RETURN_CSTRING(GsZonedFormat(&p, (ZonedOutCache *) fcinfo->flinfo->fn_extra));
}

/*
 * Binary form: int64 instant (microseconds since 2000-01-01 UTC) followed
 * by the zone name as text.
 */
PG_FUNCTION_INFO_V1(zoned_timestamp_recv);
Datum
zoned_timestamp_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	TimestampTz t = (TimestampTz) pq_getmsgint64(buf);
	int			nbytes = buf->len - buf->cursor;
	char	   *name;
	GsZone		zone;

	name = pq_getmsgtext(buf, nbytes, &nbytes);
	if (TIMESTAMP_NOT_FINITE(t) || !IS_VALID_TIMESTAMP(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("zoned_timestamp out of range in binary input: " INT64_FORMAT, t)));
	if (!GsZoneLookup(name, nbytes, &zone))
		GsZoneReportUnknown(name, nbytes, NULL);
	PG_RETURN_DATUM(ZonedMake(t, zone.name, (int) strlen(zone.name)));
}

PG_FUNCTION_INFO_V1(zoned_timestamp_send);
Datum
zoned_timestamp_send(PG_FUNCTION_ARGS)
{
	ZonedParts	p;
	StringInfoData buf;

	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	pq_begintypsend(&buf);
	pq_sendint64(&buf, p.instant);
	pq_sendtext(&buf, p.zone, p.zonelen);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static int
ZonedCmp(Datum a, Datum b)
{
	ZonedParts	pa,
				pb;
	int			c;

	ZonedUnpack(a, &pa);
	ZonedUnpack(b, &pb);
	if (pa.instant != pb.instant)
		return pa.instant < pb.instant ? -1 : 1;
	c = memcmp(pa.zone, pb.zone, Min(pa.zonelen, pb.zonelen));
	if (c != 0)
		return c < 0 ? -1 : 1;
	return (pa.zonelen > pb.zonelen) - (pa.zonelen < pb.zonelen);
}

#define ZONED_CMP_FN(fname, expr) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	int			c = ZonedCmp(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)); \
	PG_RETURN_BOOL(expr); \
}

ZONED_CMP_FN(zoned_timestamp_eq, c == 0)
ZONED_CMP_FN(zoned_timestamp_ne, c != 0)
ZONED_CMP_FN(zoned_timestamp_lt, c < 0)
ZONED_CMP_FN(zoned_timestamp_le, c <= 0)
ZONED_CMP_FN(zoned_timestamp_gt, c > 0)
ZONED_CMP_FN(zoned_timestamp_ge, c >= 0)

PG_FUNCTION_INFO_V1(zoned_timestamp_cmp);
Datum
zoned_timestamp_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ZonedCmp(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)));
}

static int
ZonedSortCmp(Datum a, Datum b, SortSupport ssup)
{
	return ZonedCmp(a, b);
}

/* the instant, an order-preserving abbreviation: ties go to ZonedCmp */
static Datum
ZonedAbbrevConvert(Datum original, SortSupport ssup)
{
	ZonedParts	p;

	ZonedUnpack(original, &p);
	return Int64GetDatum(p.instant);
}

static bool
ZonedAbbrevAbort(int memtupcount, SortSupport ssup)
{
	return false;				/* instants are nearly always distinct */
}

PG_FUNCTION_INFO_V1(zoned_timestamp_sortsupport);
Datum
zoned_timestamp_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = ZonedSortCmp;
#if SIZEOF_DATUM >= 8
	if (ssup->abbreviate)
	{
		ssup->abbrev_converter = ZonedAbbrevConvert;
		ssup->abbrev_abort = ZonedAbbrevAbort;
		ssup->abbrev_full_comparator = ZonedSortCmp;
		ssup->comparator = ssup_datum_signed_cmp;
	}
#endif
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(zoned_timestamp_hash);
Datum
zoned_timestamp_hash(PG_FUNCTION_ARGS)
{
	ZonedParts	p;
	uint32		h;

	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	h = DatumGetUInt32(hash_any((const unsigned char *) &p.instant, sizeof(TimestampTz)));
	h = hash_combine(h, DatumGetUInt32(hash_any((const unsigned char *) p.zone, p.zonelen)));
	PG_RETURN_UINT32(h);
}

PG_FUNCTION_INFO_V1(zoned_timestamp_hash_extended);
Datum
zoned_timestamp_hash_extended(PG_FUNCTION_ARGS)
{
	ZonedParts	p;
	uint64		seed = PG_GETARG_INT64(1);
	uint64		h;

	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	h = DatumGetUInt64(hash_any_extended((const unsigned char *) &p.instant,
										 sizeof(TimestampTz), seed));
	h = hash_combine64(h, DatumGetUInt64(hash_any_extended((const unsigned char *) p.zone,
														   p.zonelen, seed)));
	PG_RETURN_UINT64(h);
}

/* zoned_timestamp -> ist_timestamp / timestamptz: the instant */
PG_FUNCTION_INFO_V1(zoned_timestamp_instant);
Datum
zoned_timestamp_instant(PG_FUNCTION_ARGS)
{
	ZonedParts	p;

	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	PG_RETURN_TIMESTAMPTZ(p.instant);
}

/* local_time(zoned_timestamp) -> timestamp: the wall time in its zone */
PG_FUNCTION_INFO_V1(zoned_timestamp_local_time);
Datum
zoned_timestamp_local_time(PG_FUNCTION_ARGS)
{
	ZonedParts	p;
	GsZone		zone;

	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	ZonedZone(&p, &zone);
	PG_RETURN_TIMESTAMP(p.instant + (int64) GsZoneOffsetAt(&zone, p.instant, NULL) * USECS_PER_SEC);
}

/* zone_name(zoned_timestamp) -> text */
PG_FUNCTION_INFO_V1(zoned_timestamp_zone_name);
Datum
zoned_timestamp_zone_name(PG_FUNCTION_ARGS)
{
	ZonedParts	p;

	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(p.zone, p.zonelen));
}

/* utc_offset(zoned_timestamp) -> interval: the zone's offset at the instant */
PG_FUNCTION_INFO_V1(zoned_timestamp_utc_offset);
Datum
zoned_timestamp_utc_offset(PG_FUNCTION_ARGS)
{
	ZonedParts	p;
	GsZone		zone;

	ZonedUnpack(PG_GETARG_DATUM(0), &p);
	ZonedZone(&p, &zone);
	PG_RETURN_INTERVAL_P(GsOffsetInterval(GsZoneOffsetAt(&zone, p.instant, NULL)));
}

/* make_zoned(local timestamp, zone text): read a wall time in a zone */
PG_FUNCTION_INFO_V1(zoned_timestamp_make);
Datum
zoned_timestamp_make(PG_FUNCTION_ARGS)
{
	Timestamp	local = PG_GETARG_TIMESTAMP(0);
	GsZone		zone;
	char	   *lstr;
	TimestampTz t;

	GsZoneLookupText(PG_GETARG_TEXT_PP(1), &zone);
	lstr = DatumGetCString(DirectFunctionCall1(timestamp_out, TimestampGetDatum(local)));
	ZonedRejectInfinite(local, lstr);
	t = GsLocalToInstant(&zone, local, lstr, "zoned_timestamp");
	PG_RETURN_DATUM(ZonedMake(t, zone.name, (int) strlen(zone.name)));
}

/* to_zoned(instant timestamptz, zone text): an instant as seen in a zone */
PG_FUNCTION_INFO_V1(zoned_timestamp_at_zone);
Datum
zoned_timestamp_at_zone(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	GsZone		zone;

	GsZoneLookupText(PG_GETARG_TEXT_PP(1), &zone);
	if (TIMESTAMP_NOT_FINITE(t))
		ZonedRejectInfinite(t, TIMESTAMP_IS_NOBEGIN(t) ? EARLY : LATE);
	PG_RETURN_DATUM(ZonedMake(t, zone.name, (int) strlen(zone.name)));
}
