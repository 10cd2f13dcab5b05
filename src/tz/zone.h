/*-------------------------------------------------------------------------
 *
 * zone.h
 *	  The zone registry: the one place that turns a zone name into offsets.
 *
 * A zone is one of
 *	- an abbreviation from globalsync's own table (EST, IST, NZDT, ...), a
 *	  fixed offset whatever the server's timezone_abbreviations says;
 *	- a numeric offset (+05:45, -04, Z), also fixed;
 *	- an IANA name from the server's tz database, with its DST rules.
 *
 * Lookups never throw: they return false and the caller reports the error
 * with the input quoted, so that type input functions can move to soft
 * errors later.  Resolved IANA zones are cached per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_ZONE_H
#define GS_ZONE_H

#include "datatype/timestamp.h"
#include "pgtime.h"

/* Longest canonical zone name we keep (IANA names are at most ~32). */
#define GS_ZONE_NAMELEN 64

/* India Standard Time, seconds east of UTC. */
#define GS_IST_OFFSET_SECS	(5 * SECS_PER_HOUR + 30 * SECS_PER_MINUTE)
#define GS_IST_OFFSET_USECS ((int64) GS_IST_OFFSET_SECS * USECS_PER_SEC)

typedef enum GsZoneKind
{
	GS_ZONE_ABBREV,				/* globalsync abbreviation, fixed offset */
	GS_ZONE_OFFSET,				/* numeric offset, fixed */
	GS_ZONE_IANA				/* tz database zone, with DST rules */
} GsZoneKind;

typedef struct GsZone
{
	GsZoneKind	kind;
	int32		fixed_offset;	/* seconds east of UTC; ABBREV and OFFSET */
	bool		fixed_is_dst;	/* abbreviation names a daylight time */
	pg_tz	   *tz;				/* IANA only */
	char		name[GS_ZONE_NAMELEN];	/* canonical spelling */
} GsZone;

/* How a local time that a transition skips or repeats is resolved. */
typedef enum GsDstPolicy
{
	GS_DST_COMPATIBLE,			/* gap: shift forward; overlap: earlier */
	GS_DST_REJECT				/* both are errors */
} GsDstPolicy;

extern int	gs_dst_policy;

/* Result of turning a local wall time into an instant. */
typedef enum GsLocalStatus
{
	GS_LOCAL_OK,				/* exactly one instant */
	GS_LOCAL_GAP,				/* skipped by a spring-forward transition */
	GS_LOCAL_OVERLAP,			/* repeated by a fall-back transition */
	GS_LOCAL_OUT_OF_RANGE
} GsLocalStatus;

extern void GsZoneInit(void);

extern bool GsZoneLookup(const char *name, int len, GsZone *zone);
extern void GsZoneLookupText(text *zonetext, GsZone *zone);
extern bool GsZoneParseOffset(const char *str, int len, int32 *offset);
extern void GsZoneFormatOffset(int32 offset, char *buf);
extern void GsZoneFromOffset(int32 offset, GsZone *zone);

extern int32 GsZoneOffsetAt(const GsZone *zone, TimestampTz t, bool *is_dst);
extern GsLocalStatus GsZoneLocalToUtc(const GsZone *zone, Timestamp local,
									  TimestampTz *result,
									  int32 *offset_earlier,
									  int32 *offset_later);
extern bool GsZoneHasDst(const GsZone *zone);
extern int32 GsZoneOffsetRepeated(const GsZone *zone, TimestampTz t, bool *repeated);

extern TimestampTz GsLocalToInstant(const GsZone *zone, Timestamp local,
									const char *input, const char *typname);

/* The built-in abbreviation table, for the time_zones view. */
typedef struct GsAbbrev
{
	const char *abbrev;
	int32		offset;			/* seconds east of UTC */
	bool		is_dst;
	const char *description;
} GsAbbrev;

extern const GsAbbrev *GsZoneAbbrevs(int *count);

extern void GsZoneReportUnknown(const char *zonename, int len,
								const char *input) pg_attribute_noreturn();

#endif							/* GS_ZONE_H */
