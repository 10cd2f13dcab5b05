/*-------------------------------------------------------------------------
 *
 * dtparse.h
 *	  Parsing and formatting of "local time + offset + zone" literals,
 *	  shared by ist_timestamp and zoned_timestamp.
 *
 * Parsing never throws: it returns a status and the caller reports the
 * error quoting the whole input (see GsReportParseError).
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_DTPARSE_H
#define GS_DTPARSE_H

#include "datatype/timestamp.h"

#include "../tz/zone.h"

typedef enum GsSpecial
{
	GS_SPECIAL_NONE = 0,
	GS_SPECIAL_INFINITY,
	GS_SPECIAL_NEG_INFINITY,
	GS_SPECIAL_NOW,
	GS_SPECIAL_EPOCH,
	GS_SPECIAL_TODAY,
	GS_SPECIAL_TOMORROW,
	GS_SPECIAL_YESTERDAY
} GsSpecial;

typedef enum GsParseStatus
{
	GS_PARSE_OK = 0,
	GS_PARSE_BAD_FORMAT,		/* 22007 */
	GS_PARSE_FIELD_OVERFLOW,	/* 22008: a field out of its range */
	GS_PARSE_OUT_OF_RANGE		/* 22008: the whole value */
} GsParseStatus;

typedef struct GsDateTimeInput
{
	GsSpecial	special;
	Timestamp	local;			/* wall time, when special is NONE */
	bool		has_offset;
	int32		offset;			/* seconds east of UTC, if has_offset */
	const char *zone;			/* zone token inside the input, or NULL */
	int			zonelen;
} GsDateTimeInput;

extern GsParseStatus GsParseDateTime(const char *str, GsDateTimeInput *out);

extern void GsReportParseError(GsParseStatus status, const char *str,
							   const char *typname) pg_attribute_noreturn();

extern TimestampTz GsResolveInput(const GsDateTimeInput *in, const GsZone *zone,
								  const char *str, const char *typname);

/* Longest text GsFormatWallTime writes, with NUL. */
#define GS_WALLTIME_BUFLEN 64

extern char *GsFormatWallTime(Timestamp wall, int32 print_offset,
							  bool with_offset, char *buf);

#endif							/* GS_DTPARSE_H */
