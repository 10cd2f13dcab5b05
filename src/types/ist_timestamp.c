/*-------------------------------------------------------------------------
 *
 * ist_timestamp.c
 *	  The ist_timestamp type: an instant, always shown in India Standard
 *	  Time (+05:30).
 *
 * The value is an int64 count of microseconds since 2000-01-01 00:00 UTC,
 * exactly as timestamptz, so comparison, hashing, sorting and the casts to
 * and from timestamptz reuse PostgreSQL's own functions (see the install
 * script).  Only text I/O and calendar arithmetic live here: they read the
 * value as IST wall time, which has no DST, whatever TimeZone says.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "dtparse.h"
#include "ist_timestamp.h"

/*
 * IST is Asia/Kolkata.  Since 1945-10-15 that zone is a constant +05:30,
 * which is the fast path for everything here; for older instants the tz
 * database's history applies (LMT +05:53:28, Madras time, the +06:30 of
 * 1942-45), so the text is exactly timestamptz's under TimeZone
 * Asia/Kolkata.  ist_fixed_since is the instant of the zone's last
 * transition, found once per backend.
 */
static bool ist_ready = false;
static GsZone ist_zone;
static TimestampTz ist_fixed_since;

static void
IstInit(void)
{
	pg_time_t	t = -((pg_time_t) 300 * 365 * SECS_PER_DAY);	/* 1670 */
	pg_time_t	last = t;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	pg_time_t	boundary;
	int			i;

	if (!GsZoneLookup("Asia/Kolkata", 12, &ist_zone))
	{
		/* no tz database entry: IST is simply +05:30 */
		ist_zone.kind = GS_ZONE_ABBREV;
		ist_zone.fixed_offset = GS_IST_OFFSET_SECS;
		ist_zone.fixed_is_dst = false;
		ist_zone.tz = NULL;
		strlcpy(ist_zone.name, "IST", GS_ZONE_NAMELEN);
		TIMESTAMP_NOBEGIN(ist_fixed_since);
		ist_ready = true;
		return;
	}
	for (i = 0; i < 100; i++)
	{
		if (pg_next_dst_boundary(&t, &before_gmtoff, &before_isdst, &boundary,
								 &after_gmtoff, &after_isdst, ist_zone.tz) != 1)
			break;
		last = boundary;
		t = boundary;
	}
	ist_fixed_since = ((TimestampTz) last -
					   (TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY) *
		USECS_PER_SEC;
	ist_ready = true;
}

/*
 * GsIstOffsetAt
 *		UTC offset of IST (Asia/Kolkata) at a finite instant, in seconds.
 */
static inline int32
GsIstOffsetAt(TimestampTz t)
{
	if (unlikely(!ist_ready))
		IstInit();
	if (likely(t >= ist_fixed_since))
		return GS_IST_OFFSET_SECS;
	return GsZoneOffsetAt(&ist_zone, t, NULL);
}

/* GsIstOffsetAt for other files; infinite instants get +05:30 */
int32
GsIstOffset(TimestampTz t)
{
	if (TIMESTAMP_NOT_FINITE(t))
		return GS_IST_OFFSET_SECS;
	return GsIstOffsetAt(t);
}

/*
 * IstWall
 *		IST wall time of an instant, as a timestamp without time zone.
 */
static inline Timestamp
IstWall(TimestampTz t)
{
	if (TIMESTAMP_NOT_FINITE(t))
		return t;
	return t + (int64) GsIstOffsetAt(t) * USECS_PER_SEC;
}

/*
 * IstFromWallChecked
 *		Instant of an IST wall time; str names the input for errors.
 */
static TimestampTz
IstFromWallChecked(Timestamp w, const char *str)
{
	TimestampTz t;

	if (TIMESTAMP_NOT_FINITE(w))
		return w;
	if (unlikely(!ist_ready))
		IstInit();
	t = w - GS_IST_OFFSET_USECS;
	if (likely(t >= ist_fixed_since && IS_VALID_TIMESTAMP(t)))
		return t;
	return GsLocalToInstant(&ist_zone, w, str, "ist_timestamp");
}

static TimestampTz
IstFromWall(Timestamp w)
{
	if (TIMESTAMP_NOT_FINITE(w))
		return w;
	return IstFromWallChecked(w, DatumGetCString(DirectFunctionCall1(timestamp_out,
																	 TimestampGetDatum(w))));
}

/*
 * GsIstFormat
 *		Text of an ist_timestamp, as timestamptz_out under DateStyle ISO and
 *		TimeZone Asia/Kolkata.  buf holds GS_WALLTIME_BUFLEN bytes.
 */
char *
GsIstFormat(TimestampTz t, char *buf)
{
	if (TIMESTAMP_IS_NOBEGIN(t))
		strcpy(buf, EARLY);
	else if (TIMESTAMP_IS_NOEND(t))
		strcpy(buf, LATE);
	else
	{
		int32		off = GsIstOffsetAt(t);

		GsFormatWallTime(t + (int64) off * USECS_PER_SEC, off, true, buf);
	}
	return buf;
}

/*
 * GsIstParse
 *		Instant named by an ist_timestamp literal; a bare wall time is IST.
 */
TimestampTz
GsIstParse(const char *str)
{
	GsDateTimeInput in;
	GsParseStatus st;
	GsZone		zone;
	const GsZone *zp;

	st = GsParseDateTime(str, &in);
	if (st != GS_PARSE_OK)
		GsReportParseError(st, str, "ist_timestamp");
	if (unlikely(!ist_ready))
		IstInit();
	zp = &ist_zone;
	if (in.zone == NULL && !in.has_offset && in.special == GS_SPECIAL_NONE)
		return IstFromWallChecked(in.local, str);
	if (in.zone != NULL)
	{
		if (!GsZoneLookup(in.zone, in.zonelen, &zone))
			GsZoneReportUnknown(in.zone, in.zonelen, str);
		zp = &zone;
	}
	return GsResolveInput(&in, zp, str, "ist_timestamp");
}

PG_FUNCTION_INFO_V1(ist_timestamp_in);
Datum
ist_timestamp_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_TIMESTAMPTZ(GsIstParse(str));
}

PG_FUNCTION_INFO_V1(ist_timestamp_out);
Datum
ist_timestamp_out(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	char		buf[GS_WALLTIME_BUFLEN];

	PG_RETURN_CSTRING(pstrdup(GsIstFormat(t, buf)));
}

PG_FUNCTION_INFO_V1(ist_timestamp_recv);
Datum
ist_timestamp_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	TimestampTz t = (TimestampTz) pq_getmsgint64(buf);

	if (!TIMESTAMP_NOT_FINITE(t) && !IS_VALID_TIMESTAMP(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("ist_timestamp out of range in binary input: " INT64_FORMAT, t),
				 errhint("The binary form is microseconds since 2000-01-01 00:00:00 UTC, as for timestamptz.")));
	PG_RETURN_TIMESTAMPTZ(t);
}

PG_FUNCTION_INFO_V1(ist_timestamp_send);
Datum
ist_timestamp_send(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, t);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * IstArith
 *		Calendar arithmetic on IST wall time: '1 month' after 2025-01-31
 *		20:00 IST is 2025-02-28 20:00 IST, whatever TimeZone is.  op is
 *		timestamp_pl_interval or timestamp_mi_interval.
 */
static TimestampTz
IstArith(PGFunction op, TimestampTz t, Datum span)
{
	Timestamp	w;

	w = DatumGetTimestamp(DirectFunctionCall2(op, TimestampGetDatum(IstWall(t)), span));
	return IstFromWall(w);
}

PG_FUNCTION_INFO_V1(ist_timestamp_pl_interval);
Datum
ist_timestamp_pl_interval(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(IstArith(timestamp_pl_interval, PG_GETARG_TIMESTAMPTZ(0),
								   PG_GETARG_DATUM(1)));
}

PG_FUNCTION_INFO_V1(interval_pl_ist_timestamp);
Datum
interval_pl_ist_timestamp(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(IstArith(timestamp_pl_interval, PG_GETARG_TIMESTAMPTZ(1),
								   PG_GETARG_DATUM(0)));
}

PG_FUNCTION_INFO_V1(ist_timestamp_mi_interval);
Datum
ist_timestamp_mi_interval(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(IstArith(timestamp_mi_interval, PG_GETARG_TIMESTAMPTZ(0),
								   PG_GETARG_DATUM(1)));
}

/* timestamp (IST wall time) -> ist_timestamp */
PG_FUNCTION_INFO_V1(ist_timestamp_from_timestamp);
Datum
ist_timestamp_from_timestamp(PG_FUNCTION_ARGS)
{
	Timestamp	w = PG_GETARG_TIMESTAMP(0);

	PG_RETURN_TIMESTAMPTZ(IstFromWall(w));
}

/* ist_timestamp -> timestamp (IST wall time) */
PG_FUNCTION_INFO_V1(ist_timestamp_to_timestamp);
Datum
ist_timestamp_to_timestamp(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	Timestamp	w = IstWall(t);

	if (!TIMESTAMP_NOT_FINITE(w) && !IS_VALID_TIMESTAMP(w))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("The IST wall time of this instant is past the end of type timestamp.")));
	PG_RETURN_TIMESTAMP(w);
}

/*
 * ist_date(ist_timestamp) -> date: the IST calendar day.
 */
PG_FUNCTION_INFO_V1(ist_timestamp_date);
Datum
ist_timestamp_date(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	Timestamp	w;
	int64		days;
	DateADT		result;

	if (TIMESTAMP_IS_NOBEGIN(t))
		DATE_NOBEGIN(result);
	else if (TIMESTAMP_IS_NOEND(t))
		DATE_NOEND(result);
	else
	{
		w = IstWall(t);
		days = w / USECS_PER_DAY;
		if (w < 0 && days * USECS_PER_DAY != w)
			days--;
		if (!IS_VALID_DATE(days))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("date out of range")));
		result = (DateADT) days;
	}
	PG_RETURN_DATEADT(result);
}

/*
 * to_ist(timestamp, zone text) -> ist_timestamp
 *		Read a wall time in a zone (DST policy applies).
 */
PG_FUNCTION_INFO_V1(ist_timestamp_to_ist);
Datum
ist_timestamp_to_ist(PG_FUNCTION_ARGS)
{
	Timestamp	local = PG_GETARG_TIMESTAMP(0);
	text	   *zonetext = PG_GETARG_TEXT_PP(1);
	GsZone		zone;

	GsZoneLookupText(zonetext, &zone);
	if (TIMESTAMP_NOT_FINITE(local))
		PG_RETURN_TIMESTAMPTZ(local);
	PG_RETURN_TIMESTAMPTZ(GsLocalToInstant(&zone, local,
										   DatumGetCString(DirectFunctionCall1(timestamp_out,
																			   TimestampGetDatum(local))),
										   "ist_timestamp"));
}

/*
 * GsOffsetInterval
 *		An offset in seconds as an interval ('-10:30:00').
 */
Interval *
GsOffsetInterval(int32 secs)
{
	Interval   *iv = (Interval *) palloc0(sizeof(Interval));

	iv->time = (int64) secs * USECS_PER_SEC;
	return iv;
}

/*
 * ist_offset(zone text, at timestamptz) -> interval
 *		The zone's offset relative to IST at that instant (EST: -10:30).
 */
PG_FUNCTION_INFO_V1(ist_timestamp_ist_offset);
Datum
ist_timestamp_ist_offset(PG_FUNCTION_ARGS)
{
	text	   *zonetext = PG_GETARG_TEXT_PP(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	GsZone		zone;

	GsZoneLookupText(zonetext, &zone);
	PG_RETURN_INTERVAL_P(GsOffsetInterval(GsZoneOffsetAt(&zone, at, NULL) - GsIstOffset(at)));
}
