/*-------------------------------------------------------------------------
 *
 * ist_timestamp.h
 *	  ist_timestamp and zoned_timestamp: what other rooms may use.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_IST_TIMESTAMP_H
#define GS_IST_TIMESTAMP_H

#include "datatype/timestamp.h"

extern char *GsIstFormat(TimestampTz t, char *buf);
extern TimestampTz GsIstParse(const char *str);
extern Interval *GsOffsetInterval(int32 secs);
extern int32 GsIstOffset(TimestampTz t);

/*
 * zoned_timestamp on disk: a varlena whose payload is the instant (8 bytes,
 * read with memcpy, no alignment assumed) followed by the canonical zone
 * name (no NUL).  The name, not an id, is stored so that the format is
 * stable across restarts and tz database updates; the instant is the truth,
 * and its wall time is recomputed with the tz rules of the day.
 */
#define GS_ZONED_PAYLOAD_MIN 8

#endif							/* GS_IST_TIMESTAMP_H */
