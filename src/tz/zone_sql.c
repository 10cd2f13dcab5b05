/*-------------------------------------------------------------------------
 *
 * zone_sql.c
 *	  SQL functions over the zone registry: validation, canonical names,
 *	  the abbreviation table and per-zone offsets.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "zone.h"
#include "../types/ist_timestamp.h"

static const char *
ZoneKindName(GsZoneKind kind)
{
	switch (kind)
	{
		case GS_ZONE_ABBREV:
			return "abbreviation";
		case GS_ZONE_OFFSET:
			return "offset";
		case GS_ZONE_IANA:
			return "iana";
	}
	return "unknown";
}

/* is_valid_zone(text) -> bool */
PG_FUNCTION_INFO_V1(gs_is_valid_zone);
Datum
gs_is_valid_zone(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	GsZone		zone;

	PG_RETURN_BOOL(GsZoneLookup(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &zone));
}

/* canonical_zone(text) -> text, error if unknown */
PG_FUNCTION_INFO_V1(gs_canonical_zone);
Datum
gs_canonical_zone(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	GsZone		zone;

	GsZoneLookupText(t, &zone);
	PG_RETURN_TEXT_P(cstring_to_text(zone.name));
}

/*
 * zone_abbreviations() -> setof (abbrev, utc_offset, ist_offset, is_dst,
 * description): globalsync's own fixed-offset abbreviations.
 */
PG_FUNCTION_INFO_V1(gs_zone_abbreviations);
Datum
gs_zone_abbreviations(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const GsAbbrev *abbrevs;
	int			n,
				i;

	InitMaterializedSRF(fcinfo, 0);
	abbrevs = GsZoneAbbrevs(&n);
	for (i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(abbrevs[i].abbrev);
		values[1] = IntervalPGetDatum(GsOffsetInterval(abbrevs[i].offset));
		values[2] = IntervalPGetDatum(GsOffsetInterval(abbrevs[i].offset - GS_IST_OFFSET_SECS));
		values[3] = BoolGetDatum(abbrevs[i].is_dst);
		values[4] = CStringGetTextDatum(abbrevs[i].description);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * zone_info(zone text, at timestamptz) -> (zone, kind, utc_offset,
 * ist_offset, is_dst, observes_dst)
 */
PG_FUNCTION_INFO_V1(gs_zone_info);
Datum
gs_zone_info(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	GsZone		zone;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	int32		off;
	bool		is_dst;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	GsZoneLookupText(t, &zone);
	off = GsZoneOffsetAt(&zone, at, &is_dst);
	values[0] = CStringGetTextDatum(zone.name);
	values[1] = CStringGetTextDatum(ZoneKindName(zone.kind));
	values[2] = IntervalPGetDatum(GsOffsetInterval(off));
	values[3] = IntervalPGetDatum(GsOffsetInterval(off - GsIstOffset(at)));
	values[4] = BoolGetDatum(is_dst);
	values[5] = BoolGetDatum(zone.kind == GS_ZONE_IANA && GsZoneHasDst(&zone));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
