/*-------------------------------------------------------------------------
 *
 * zone.c
 *	  The zone registry: abbreviations, numeric offsets and IANA zones.
 *
 * Every function of globalsync that takes a zone name comes through here,
 * so "EST" or "IST" mean the same thing everywhere, whatever the server's
 * timezone_abbreviations setting says (its IST is Israel's, ours India's).
 *
 * IANA zones come from the server's tz database through pg_tzset(), which
 * keeps its own cache of loaded zones; on top of that we keep a small
 * per-backend hash from the spelling a caller used to the resolved zone, so
 * that type input pays for the case-folding and validation once per name.
 * The cache lives in TopMemoryContext and is never invalidated: a tz
 * database update needs a backend restart, as for PostgreSQL itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "zone.h"

int			gs_dst_policy = GS_DST_COMPATIBLE;

/*
 * globalsync's own abbreviations.  They are fixed offsets: "EST" is -05:00
 * in July too.  Keep the list short and unambiguous; anything else is an
 * IANA name or a numeric offset.
 */
static const GsAbbrev gs_abbrevs[] = {
	{"EST", -5 * 3600, false, "Eastern Standard Time (North America)"},
	{"EDT", -4 * 3600, true, "Eastern Daylight Time (North America)"},
	{"CST", -6 * 3600, false, "Central Standard Time (North America)"},
	{"CDT", -5 * 3600, true, "Central Daylight Time (North America)"},
	{"MST", -7 * 3600, false, "Mountain Standard Time (North America)"},
	{"MDT", -6 * 3600, true, "Mountain Daylight Time (North America)"},
	{"PST", -8 * 3600, false, "Pacific Standard Time (North America)"},
	{"PDT", -7 * 3600, true, "Pacific Daylight Time (North America)"},
	{"ART", -3 * 3600, false, "Argentina Time"},
	{"GMT", 0, false, "Greenwich Mean Time"},
	{"UTC", 0, false, "Coordinated Universal Time"},
	{"CET", 1 * 3600, false, "Central European Time"},
	{"CEST", 2 * 3600, true, "Central European Summer Time"},
	{"EET", 2 * 3600, false, "Eastern European Time"},
	{"EEST", 3 * 3600, true, "Eastern European Summer Time"},
	{"MSK", 3 * 3600, false, "Moscow Standard Time"},
	{"GST", 4 * 3600, false, "Gulf Standard Time"},
	{"IST", 5 * 3600 + 30 * 60, false, "India Standard Time"},
	{"SGT", 8 * 3600, false, "Singapore Time"},
	{"JST", 9 * 3600, false, "Japan Standard Time"},
	{"AEST", 10 * 3600, false, "Australian Eastern Standard Time"},
	{"AEDT", 11 * 3600, true, "Australian Eastern Daylight Time"},
	{"NZST", 12 * 3600, false, "New Zealand Standard Time"},
	{"NZDT", 13 * 3600, true, "New Zealand Daylight Time"},
};

#define GS_NUM_ABBREVS lengthof(gs_abbrevs)

/* Largest numeric offset accepted, as PostgreSQL's own limit. */
#define GS_MAX_OFFSET (15 * SECS_PER_HOUR + 59 * SECS_PER_MINUTE + 59)

typedef struct GsZoneCacheEntry
{
	char		key[GS_ZONE_NAMELEN];	/* spelling as given */
	GsZone		zone;
} GsZoneCacheEntry;

static HTAB *zone_cache = NULL;

static bool LookupAbbrev(const char *name, int len, GsZone *zone);

/* Upper-case names of every tz database file, built only when needed. */
static HTAB *tzfile_names = NULL;

static const struct config_enum_entry dst_policy_options[] = {
	{"compatible", GS_DST_COMPATIBLE, false},
	{"reject", GS_DST_REJECT, false},
	{NULL, 0, false}
};

/*
 * GsZoneInit
 *		Define the settings this module owns; called from _PG_init.
 */
void
GsZoneInit(void)
{
	DefineCustomEnumVariable("globalsync.dst_policy",
							 "How a local time skipped or repeated by a DST transition is resolved.",
							 "compatible: a skipped time moves forward by the gap and a repeated "
							 "time takes the earlier instant (RFC 9557); reject: both are errors.",
							 &gs_dst_policy,
							 GS_DST_COMPATIBLE,
							 dst_policy_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

const GsAbbrev *
GsZoneAbbrevs(int *count)
{
	*count = GS_NUM_ABBREVS;
	return gs_abbrevs;
}

/*
 * GsZoneParseOffset
 *		Parse a numeric UTC offset: Z, +HH, +HHMM, +HH:MM, +HH:MM:SS (or -).
 *
 * The whole of str[0..len) must be the offset.  Returns false on anything
 * else; *offset is seconds east of UTC.
 */
bool
GsZoneParseOffset(const char *str, int len, int32 *offset)
{
	int			sign;
	int			parts[3] = {0, 0, 0};
	int			npart = 0;
	int			i = 1;

	if (len == 1 && (str[0] == 'Z' || str[0] == 'z'))
	{
		*offset = 0;
		return true;
	}
	if (len < 2 || (str[0] != '+' && str[0] != '-'))
		return false;
	sign = (str[0] == '-') ? -1 : 1;

	while (i < len && npart < 3)
	{
		int			ndig = 0;
		int			v = 0;

		while (i < len && ndig < 2 && str[i] >= '0' && str[i] <= '9')
		{
			v = v * 10 + (str[i] - '0');
			i++;
			ndig++;
		}
		/* hours may be one digit (+5); minutes and seconds are two */
		if (ndig == 0 || (ndig == 1 && npart > 0))
			return false;
		parts[npart++] = v;
		if (i < len && str[i] == ':')
		{
			i++;
			if (i >= len)
				return false;
		}
	}
	if (i != len)
		return false;
	if (parts[1] > 59 || parts[2] > 59)
		return false;
	*offset = sign * (parts[0] * SECS_PER_HOUR + parts[1] * SECS_PER_MINUTE + parts[2]);
	if (*offset > GS_MAX_OFFSET || *offset < -GS_MAX_OFFSET)
		return false;
	return true;
}

/*
 * GsZoneFormatOffset
 *		Canonical text of a fixed offset: +05:45, -04:00, +05:53:28.
 *		buf must hold at least 10 bytes.
 */
void
GsZoneFormatOffset(int32 offset, char *buf)
{
	int			a = offset < 0 ? -offset : offset;
	int			h = a / SECS_PER_HOUR;
	int			m = (a / SECS_PER_MINUTE) % 60;
	int			s = a % 60;

	if (s != 0)
		snprintf(buf, 10, "%c%02d:%02d:%02d", offset < 0 ? '-' : '+', h, m, s);
	else
		snprintf(buf, 10, "%c%02d:%02d", offset < 0 ? '-' : '+', h, m);
}

/*
 * GsZoneFromOffset
 *		A zone for a fixed numeric offset.
 */
void
GsZoneFromOffset(int32 offset, GsZone *zone)
{
	/* Z, +00, +00:00 and UTC are one zone */
	if (offset == 0 && LookupAbbrev("UTC", 3, zone))
		return;
	zone->kind = GS_ZONE_OFFSET;
	zone->fixed_offset = offset;
	zone->fixed_is_dst = false;
	zone->tz = NULL;
	GsZoneFormatOffset(offset, zone->name);
}

static bool
LookupAbbrev(const char *name, int len, GsZone *zone)
{
	int			i;

	if (len < 3 || len > 4)
		return false;
	for (i = 0; i < GS_NUM_ABBREVS; i++)
	{
		if ((int) strlen(gs_abbrevs[i].abbrev) == len &&
			pg_strncasecmp(name, gs_abbrevs[i].abbrev, len) == 0)
		{
			zone->kind = GS_ZONE_ABBREV;
			zone->fixed_offset = gs_abbrevs[i].offset;
			zone->fixed_is_dst = gs_abbrevs[i].is_dst;
			zone->tz = NULL;
			strlcpy(zone->name, gs_abbrevs[i].abbrev, GS_ZONE_NAMELEN);
			return true;
		}
	}
	return false;
}

/*
 * IsTzFileName
 *		Is this upper-case canonical name one of the tz database's files?
 *
 * pg_tzset() also accepts POSIX TZ strings such as "XYZ5"; those are not
 * IANA zones and we refuse them.  A name the tz database spells with a
 * lower-case letter is certainly a file, so this is only asked for names
 * that are all upper case and contain a digit, '<' or ',' (EST5EDT, GMT0 are
 * files; "ABC3" is not).  The first call enumerates the tz database once.
 */
static bool
IsTzFileName(const char *canon)
{
	bool		found;

	if (tzfile_names == NULL)
	{
		HASHCTL		ctl;
		HTAB	   *names;
		pg_tzenum  *tzenum;
		pg_tz	   *tz;

		ctl.keysize = GS_ZONE_NAMELEN;
		ctl.entrysize = GS_ZONE_NAMELEN;
		names = hash_create("globalsync tz file names", 1024, &ctl,
							HASH_ELEM | HASH_STRINGS);
		tzenum = pg_tzenumerate_start();
		while ((tz = pg_tzenumerate_next(tzenum)) != NULL)
		{
			char		upper[GS_ZONE_NAMELEN];
			const char *n = pg_get_timezone_name(tz);
			int			i;

			if (strlen(n) >= GS_ZONE_NAMELEN)
				continue;
			for (i = 0; n[i]; i++)
				upper[i] = pg_toupper((unsigned char) n[i]);
			upper[i] = '\0';
			(void) hash_search(names, upper, HASH_ENTER, NULL);
		}
		pg_tzenumerate_end(tzenum);
		tzfile_names = names;
	}
	(void) hash_search(tzfile_names, canon, HASH_FIND, &found);
	return found;
}

static bool
LookupIana(const char *name, int len, GsZone *zone)
{
	char		buf[GS_ZONE_NAMELEN];
	pg_tz	   *tz;
	const char *canon;
	int			i;
	bool		has_lower = false;
	bool		posix_like = false;

	if (len <= 0 || len >= GS_ZONE_NAMELEN)
		return false;
	/* IANA names: letters, digits, '/', '_', '-', '+'; no "..", no leading / */
	for (i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-' ||
			  c == '+'))
			return false;
	}
	if (name[0] == '/' || name[0] == '-' || name[0] == '+' ||
		(name[0] >= '0' && name[0] <= '9'))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (strstr(buf, "//") != NULL)
		return false;
	/* files of the tz database that are not zones, or mean the host's zone */
	if (pg_strcasecmp(buf, "localtime") == 0 || pg_strcasecmp(buf, "posixrules") == 0 ||
		pg_strcasecmp(buf, "Factory") == 0)
		return false;

	tz = pg_tzset(buf);
	if (tz == NULL)
		return false;
	canon = pg_get_timezone_name(tz);
	if (strlen(canon) >= GS_ZONE_NAMELEN)
		return false;
	for (i = 0; canon[i]; i++)
	{
		if (canon[i] >= 'a' && canon[i] <= 'z')
			has_lower = true;
		else if ((canon[i] >= '0' && canon[i] <= '9') || canon[i] == '<' ||
				 canon[i] == ',')
			posix_like = true;
	}
	if (!has_lower && posix_like && !IsTzFileName(canon))
		return false;

	zone->kind = GS_ZONE_IANA;
	zone->fixed_offset = 0;
	zone->fixed_is_dst = false;
	zone->tz = tz;
	strlcpy(zone->name, canon, GS_ZONE_NAMELEN);
	return true;
}

/*
 * GsZoneLookup
 *		Resolve a zone name: abbreviation, numeric offset or IANA name.
 *
 * name need not be NUL-terminated.  Returns false if it is none of these.
 */
bool
GsZoneLookup(const char *name, int len, GsZone *zone)
{
	char		key[GS_ZONE_NAMELEN];
	GsZoneCacheEntry *entry;
	bool		found;
	int32		offset;

	if (len <= 0 || len >= GS_ZONE_NAMELEN)
		return false;

	if (LookupAbbrev(name, len, zone))
		return true;

	if (name[0] == '+' || name[0] == '-' ||
		(len == 1 && (name[0] == 'Z' || name[0] == 'z')))
	{
		if (!GsZoneParseOffset(name, len, &offset))
			return false;
		GsZoneFromOffset(offset, zone);
		return true;
	}

	if (zone_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = GS_ZONE_NAMELEN;
		ctl.entrysize = sizeof(GsZoneCacheEntry);
		zone_cache = hash_create("globalsync zone cache", 64, &ctl,
								 HASH_ELEM | HASH_STRINGS);
	}

	memcpy(key, name, len);
	memset(key + len, 0, GS_ZONE_NAMELEN - len);
	entry = (GsZoneCacheEntry *) hash_search(zone_cache, key, HASH_FIND, &found);
	if (found)
	{
		*zone = entry->zone;
		return true;
	}
	if (!LookupIana(name, len, zone))
		return false;
	/* cache only successes: failures are errors and need no speed */
	if (hash_get_num_entries(zone_cache) < 4096)
	{
		entry = (GsZoneCacheEntry *) hash_search(zone_cache, key, HASH_ENTER, &found);
		entry->zone = *zone;
	}
	return true;
}

/* Seconds since the Unix epoch of a finite TimestampTz, rounded down. */
static inline pg_time_t
TimestampToUnixSeconds(TimestampTz t)
{
	int64		secs = t / USECS_PER_SEC;

	if (t < 0 && secs * USECS_PER_SEC != t)
		secs--;
	return (pg_time_t) secs +
		(pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/*
 * GsZoneOffsetAt
 *		UTC offset (seconds east) of zone at instant t.
 */
int32
GsZoneOffsetAt(const GsZone *zone, TimestampTz t, bool *is_dst)
{
	pg_time_t	ut;
	struct pg_tm *tm;

	if (zone->kind != GS_ZONE_IANA)
	{
		if (is_dst)
			*is_dst = zone->fixed_is_dst;
		return zone->fixed_offset;
	}
	if (TIMESTAMP_NOT_FINITE(t))
	{
		long		gmtoff;

		if (is_dst)
			*is_dst = false;
		if (pg_get_timezone_offset(zone->tz, &gmtoff))
			return (int32) gmtoff;
		return 0;
	}
	ut = TimestampToUnixSeconds(t);
	tm = pg_localtime(&ut, zone->tz);
	if (tm == NULL)
	{
		if (is_dst)
			*is_dst = false;
		return 0;
	}
	if (is_dst)
		*is_dst = tm->tm_isdst > 0;
	return (int32) tm->tm_gmtoff;
}

/*
 * GsZoneOffsetRepeated
 *		Offset of zone at finite instant t, and whether the wall time it
 *		shows there is one that a fall-back transition repeats.
 *
 * One tz database lookup instead of two (GsZoneOffsetAt then
 * GsZoneLocalToUtc): with the same assumption as PostgreSQL's
 * DetermineTimeZoneOffset, transitions are more than a day apart, so the
 * first boundary after "a day before" tells both.
 */
int32
GsZoneOffsetRepeated(const GsZone *zone, TimestampTz t, bool *repeated)
{
	pg_time_t	ut,
				prev,
				boundary,
				wall;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	int			res;
	long		off;

	*repeated = false;
	if (zone->kind != GS_ZONE_IANA)
		return zone->fixed_offset;
	ut = TimestampToUnixSeconds(t);
	prev = ut - SECS_PER_DAY;
	res = pg_next_dst_boundary(&prev, &before_gmtoff, &before_isdst, &boundary,
							   &after_gmtoff, &after_isdst, zone->tz);
	if (res < 0)
		return GsZoneOffsetAt(zone, t, NULL);
	if (res == 0)
		return (int32) before_gmtoff;
	off = ut < boundary ? before_gmtoff : after_gmtoff;
	wall = ut + off;
	*repeated = after_gmtoff < before_gmtoff &&
		wall >= boundary + after_gmtoff && wall < boundary + before_gmtoff;
	return (int32) off;
}

/*
 * GsZoneHasDst
 *		Does the zone change its offset within a year of now?
 */
bool
GsZoneHasDst(const GsZone *zone)
{
	pg_time_t	now;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	pg_time_t	boundary;
	int			res;

	if (zone->kind != GS_ZONE_IANA)
		return false;
	now = TimestampToUnixSeconds(GetCurrentTimestamp());
	res = pg_next_dst_boundary(&now, &before_gmtoff, &before_isdst, &boundary,
							   &after_gmtoff, &after_isdst, zone->tz);
	return res == 1 && boundary - now < 366 * (pg_time_t) SECS_PER_DAY &&
		(before_isdst || after_isdst);
}

/*
 * GsZoneLocalToUtc
 *		Turn a local wall time in zone into an instant.
 *
 * For a time in a gap or an overlap both candidate offsets are returned
 * (*offset_earlier is the offset in force before the transition) and
 * *result is the RFC 9557 "compatible" choice: the offset before the
 * transition, which moves a skipped time forward by the gap and picks the
 * earlier of two repeated instants.  The caller applies the DST policy.
 */
GsLocalStatus
GsZoneLocalToUtc(const GsZone *zone, Timestamp local, TimestampTz *result,
				 int32 *offset_earlier, int32 *offset_later)
{
	pg_time_t	mytime,
				prevtime,
				boundary,
				beforetime,
				aftertime;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	int			res;
	int32		off;

	if (zone->kind != GS_ZONE_IANA)
	{
		off = zone->fixed_offset;
		*offset_earlier = *offset_later = off;
		*result = local - (int64) off * USECS_PER_SEC;
		if (!IS_VALID_TIMESTAMP(*result))
			return GS_LOCAL_OUT_OF_RANGE;
		return GS_LOCAL_OK;
	}

	mytime = TimestampToUnixSeconds(local);

	/*
	 * As PostgreSQL's DetermineTimeZoneOffset: offsets are under a day and
	 * transitions at least two days apart, so the first boundary after
	 * "a day before" tells all.
	 */
	prevtime = mytime - SECS_PER_DAY;
	res = pg_next_dst_boundary(&prevtime, &before_gmtoff, &before_isdst,
							   &boundary, &after_gmtoff, &after_isdst,
							   zone->tz);
	if (res < 0)
		return GS_LOCAL_OUT_OF_RANGE;
	if (res == 0)
	{
		off = (int32) before_gmtoff;
		*offset_earlier = *offset_later = off;
		*result = local - (int64) off * USECS_PER_SEC;
		return IS_VALID_TIMESTAMP(*result) ? GS_LOCAL_OK : GS_LOCAL_OUT_OF_RANGE;
	}
	beforetime = mytime - before_gmtoff;
	aftertime = mytime - after_gmtoff;
	if (beforetime < boundary && aftertime < boundary)
	{
		off = (int32) before_gmtoff;
		*offset_earlier = *offset_later = off;
	}
	else if (beforetime >= boundary && aftertime >= boundary)
	{
		off = (int32) after_gmtoff;
		*offset_earlier = *offset_later = off;
	}
	else
	{
		*offset_earlier = (int32) before_gmtoff;
		*offset_later = (int32) after_gmtoff;
		*result = local - (int64) before_gmtoff * USECS_PER_SEC;
		if (!IS_VALID_TIMESTAMP(*result))
			return GS_LOCAL_OUT_OF_RANGE;
		/* spring forward: the "before" reading lands after the boundary */
		return beforetime > aftertime ? GS_LOCAL_GAP : GS_LOCAL_OVERLAP;
	}
	*result = local - (int64) off * USECS_PER_SEC;
	return IS_VALID_TIMESTAMP(*result) ? GS_LOCAL_OK : GS_LOCAL_OUT_OF_RANGE;
}

/*
 * GsLocalToInstant
 *		GsZoneLocalToUtc plus the DST policy, reporting errors.
 *
 * input and typname are only used for error messages.
 */
TimestampTz
GsLocalToInstant(const GsZone *zone, Timestamp local, const char *input,
				 const char *typname)
{
	TimestampTz result;
	int32		off_a,
				off_b;
	char		a[10],
				b[10];

	switch (GsZoneLocalToUtc(zone, local, &result, &off_a, &off_b))
	{
		case GS_LOCAL_OK:
			break;
		case GS_LOCAL_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("%s out of range: \"%s\"", typname, input),
					 errhint("Values must lie between 4714-11-24 BC and 294276 AD in UTC.")));
			break;
		case GS_LOCAL_GAP:
			if (gs_dst_policy == GS_DST_REJECT)
			{
				GsZoneFormatOffset(off_a, a);
				GsZoneFormatOffset(off_b, b);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
						 errmsg("local time \"%s\" does not exist in time zone \"%s\"",
								input, zone->name),
						 errdetail("The clocks moved from UTC%s to UTC%s and skipped this time.", a, b),
						 errhint("Set globalsync.dst_policy to 'compatible' to move such times forward by the gap, or give an explicit UTC offset.")));
			}
			break;
		case GS_LOCAL_OVERLAP:
			if (gs_dst_policy == GS_DST_REJECT)
			{
				GsZoneFormatOffset(off_a, a);
				GsZoneFormatOffset(off_b, b);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
						 errmsg("local time \"%s\" is ambiguous in time zone \"%s\"",
								input, zone->name),
						 errdetail("The clocks moved back from UTC%s to UTC%s and this time occurred twice.", a, b),
						 errhint("Give an explicit UTC offset (%s or %s) before the zone name, or set globalsync.dst_policy to 'compatible' to take the earlier instant.", a, b)));
			}
			break;
	}
	return result;
}

/*
 * GsZoneReportUnknown
 *		Raise the error for a zone name the registry does not know.
 */
void
GsZoneReportUnknown(const char *zonename, int len, const char *input)
{
	char	   *z = pnstrdup(zonename, len);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("time zone \"%s\" not recognized", z),
			 input ? errdetail("In input \"%s\".", input) : 0,
			 errhint("Use an IANA zone name from the server's tz database (listed in pg_timezone_names), "
					 "a numeric offset such as +05:30, or an abbreviation from globalsync.time_zones.")));
	pg_unreachable();
}

/*
 * GsZoneLookupText
 *		GsZoneLookup for a text argument of a SQL function; unknown zones
 *		are an error.
 */
void
GsZoneLookupText(text *zonetext, GsZone *zone)
{
	if (!GsZoneLookup(VARDATA_ANY(zonetext), VARSIZE_ANY_EXHDR(zonetext), zone))
		GsZoneReportUnknown(VARDATA_ANY(zonetext), VARSIZE_ANY_EXHDR(zonetext), NULL);
}
