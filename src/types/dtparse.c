/*-------------------------------------------------------------------------
 *
 * dtparse.c
 *	  Parse "<local date-time> [offset] [zone]" and format wall times.
 *
 * The common ISO 8601 shapes (2025-10-10 09:30:00, 2025-10-10T09:30:00.5Z,
 * 2025-10-10 09:30:00+05:45) are parsed by a small hand-written scanner;
 * that is what makes input faster than timestamptz_in.  Anything else
 * (month names, BC, ...) falls back to PostgreSQL's own ParseDateTime and
 * DecodeDateTime, but never lets them interpret a zone: the zone token is
 * split off first and resolved by our registry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "dtparse.h"

static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Words that end a date-time literal but are not zones. */
static bool
is_datetime_word(const char *s, int len)
{
	static const char *const words[] = {"am", "pm", "bc", "ad", "ago"};
	int			i;

	for (i = 0; i < lengthof(words); i++)
		if ((int) strlen(words[i]) == len && pg_strncasecmp(s, words[i], len) == 0)
			return true;
	return false;
}

static GsSpecial
match_special(const char *s, int len)
{
	static const struct
	{
		const char *word;
		GsSpecial	special;
	}			specials[] = {
		{"infinity", GS_SPECIAL_INFINITY},
		{"+infinity", GS_SPECIAL_INFINITY},
		{"-infinity", GS_SPECIAL_NEG_INFINITY},
		{"now", GS_SPECIAL_NOW},
		{"epoch", GS_SPECIAL_EPOCH},
		{"today", GS_SPECIAL_TODAY},
		{"tomorrow", GS_SPECIAL_TOMORROW},
		{"yesterday", GS_SPECIAL_YESTERDAY},
	};
	int			i;

	for (i = 0; i < lengthof(specials); i++)
		if ((int) strlen(specials[i].word) == len &&
			pg_strncasecmp(s, specials[i].word, len) == 0)
			return specials[i].special;
	return GS_SPECIAL_NONE;
}

/* Read 1..maxd digits; returns count read, value in *v. */
static inline int
read_digits(const char *s, const char *e, int maxd, int *v)
{
	int			n = 0;
	int			acc = 0;

	while (s + n < e && n < maxd && is_digit(s[n]))
	{
		acc = acc * 10 + (s[n] - '0');
		n++;
	}
	*v = acc;
	return n;
}

/*
 * ParseIso
 *		The fast path: YYYY-MM-DD[(T| )HH:MI[:SS[.f]]][ ][offset]
 *
 * Returns GS_PARSE_BAD_FORMAT when the text is not of this shape (the caller
 * then tries the general parser) and GS_PARSE_FIELD_OVERFLOW when it is but
 * a field is out of range.
 */
static GsParseStatus
ParseIso(const char *s, const char *e, GsDateTimeInput *out)
{
	int			year,
				mon,
				mday,
				hour = 0,
				min = 0,
				sec = 0;
	int64		frac = 0;
	int			n;
	const char *p = s;
	int64		date;

	n = read_digits(p, e, 7, &year);
	if (n < 4 || p + n >= e || p[n] != '-')
		return GS_PARSE_BAD_FORMAT;
	p += n + 1;
	n = read_digits(p, e, 2, &mon);
	if (n < 1 || p + n >= e || p[n] != '-')
		return GS_PARSE_BAD_FORMAT;
	p += n + 1;
	n = read_digits(p, e, 2, &mday);
	if (n < 1)
		return GS_PARSE_BAD_FORMAT;
	p += n;

	if (p < e && (*p == 'T' || *p == 't' || is_space(*p)))
	{
		const char *q = p + 1;

		while (q < e && is_space(*q))
			q++;
		n = read_digits(q, e, 2, &hour);
		if (n >= 1 && q + n < e && q[n] == ':')
		{
			q += n + 1;
			n = read_digits(q, e, 2, &min);
			if (n != 2)
				return GS_PARSE_BAD_FORMAT;
			q += n;
			if (q < e && *q == ':')
			{
				q++;
				n = read_digits(q, e, 2, &sec);
				if (n != 2)
					return GS_PARSE_BAD_FORMAT;
				q += n;
				if (q < e && *q == '.')
				{
					const char *fstart = q;
					int			ndig = 0;

					q++;
					if (q >= e || !is_digit(*q))
						return GS_PARSE_BAD_FORMAT;
					while (q < e && is_digit(*q))
					{
						if (ndig < 6)
							frac = frac * 10 + (*q - '0');
						ndig++;
						q++;
					}
					if (ndig > 6)
					{
						/* more than microseconds: round as PostgreSQL does */
						char		fbuf[64];
						int			flen = Min((int) (q - fstart), (int) sizeof(fbuf) - 1);

						memcpy(fbuf, fstart, flen);
						fbuf[flen] = '\0';
						frac = (int64) rint(strtod(fbuf, NULL) * 1000000);
					}
					else
						while (ndig < 6)
						{
							frac *= 10;
							ndig++;
						}
				}
			}
			p = q;
		}
		else if (is_space(*p))
		{
			/* date followed by something that is not a time */
			while (p < e && is_space(*p))
				p++;
		}
		else
			return GS_PARSE_BAD_FORMAT;
	}

	/* optional offset, possibly after spaces */
	while (p < e && is_space(*p))
		p++;
	if (p < e)
	{
		if (!GsZoneParseOffset(p, (int) (e - p), &out->offset))
			return GS_PARSE_BAD_FORMAT;
		out->has_offset = true;
	}

	if (year == 0 || mon < 1 || mon > 12 || mday < 1 ||
		mday > day_tab[isleap(year)][mon - 1] ||
		hour > 24 || min > 59 || sec > 60 ||
		(hour == 24 && (min > 0 || sec > 0 || frac > 0)))
		return GS_PARSE_FIELD_OVERFLOW;
	if (!IS_VALID_JULIAN(year, mon, mday))
		return GS_PARSE_OUT_OF_RANGE;

	date = date2j(year, mon, mday) - POSTGRES_EPOCH_JDATE;
	out->local = date * USECS_PER_DAY +
		((int64) ((hour * MINS_PER_HOUR + min) * SECS_PER_MINUTE + sec)) * USECS_PER_SEC +
		frac;
	return GS_PARSE_OK;
}

/*
 * ParseGeneral
 *		Fall back to PostgreSQL's date/time parser for other shapes.
 *
 * Zone abbreviations are refused here (tzp is NULL unless a numeric offset
 * field is present), so the server's timezone_abbreviations never decides.
 */
static GsParseStatus
ParseGeneral(const char *s, const char *e, GsDateTimeInput *out)
{
	char	   *str = pnstrdup(s, e - s);
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tt,
			   *tm = &tt;
	fsec_t		fsec;
	int			tz = 0;
	bool		has_tz = false;
	int			dterr;
	int			i;

	dterr = ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype,
						  MAXDATEFIELDS, &nf);
	if (dterr != 0)
		return dterr == DTERR_FIELD_OVERFLOW ? GS_PARSE_FIELD_OVERFLOW : GS_PARSE_BAD_FORMAT;
	for (i = 0; i < nf; i++)
		if (ftype[i] == DTK_TZ)
			has_tz = true;
	dterr = DecodeDateTime(field, ftype, nf, &dtype, tm, &fsec,
						   has_tz ? &tz : NULL);
	if (dterr != 0)
	{
		if (dterr == DTERR_FIELD_OVERFLOW || dterr == DTERR_MD_FIELD_OVERFLOW)
			return GS_PARSE_FIELD_OVERFLOW;
		if (dterr == DTERR_TZDISP_OVERFLOW)
			return GS_PARSE_FIELD_OVERFLOW;
		return GS_PARSE_BAD_FORMAT;
	}
	if (dtype != DTK_DATE)
		return GS_PARSE_BAD_FORMAT;	/* specials are matched before */
	if (tm2timestamp(tm, fsec, NULL, &out->local) != 0)
		return GS_PARSE_OUT_OF_RANGE;
	if (has_tz)
	{
		out->has_offset = true;
		out->offset = -tz;
	}
	pfree(str);
	return GS_PARSE_OK;
}

/*
 * GsParseDateTime
 *		Split str into local time, optional offset and optional zone token.
 *
 * The zone token is the last blank-separated word when it starts with a
 * letter, or the text in a trailing "[...]" (RFC 9557).  It is not resolved
 * here; out->zone points into str.
 */
GsParseStatus
GsParseDateTime(const char *str, GsDateTimeInput *out)
{
	const char *s = str;
	const char *e = str + strlen(str);
	GsParseStatus st;

	memset(out, 0, sizeof(*out));
	while (s < e && is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		e--;
	if (s == e)
		return GS_PARSE_BAD_FORMAT;

	/* trailing [Zone] */
	if (e[-1] == ']')
	{
		const char *b = e - 1;

		while (b > s && *b != '[')
			b--;
		if (*b != '[' || b + 1 >= e - 1)
			return GS_PARSE_BAD_FORMAT;
		out->zone = b + 1;
		out->zonelen = (int) (e - 1 - (b + 1));
		e = b;
		while (e > s && is_space(e[-1]))
			e--;
	}
	else
	{
		const char *w = e;

		while (w > s && !is_space(w[-1]))
			w--;
		if (w > s && is_alpha(*w) && !is_datetime_word(w, (int) (e - w)))
		{
			out->zone = w;
			out->zonelen = (int) (e - w);
			e = w;
			while (e > s && is_space(e[-1]))
				e--;
		}
	}
	if (s == e)
		return GS_PARSE_BAD_FORMAT;

	out->special = match_special(s, (int) (e - s));
	if (out->special != GS_SPECIAL_NONE)
		return GS_PARSE_OK;

	st = ParseIso(s, e, out);
	if (st != GS_PARSE_BAD_FORMAT)
		return st;
	out->has_offset = false;
	out->offset = 0;
	return ParseGeneral(s, e, out);
}

/*
 * GsReportParseError
 *		ERROR for a parse status, quoting the whole input.
 */
void
GsReportParseError(GsParseStatus status, const char *str, const char *typname)
{
	switch (status)
	{
		case GS_PARSE_FIELD_OVERFLOW:
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
					 errmsg("date/time field value out of range: \"%s\"", str),
					 errhint("Check the month, day, hour, minute and second fields.")));
			break;
		case GS_PARSE_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
					 errmsg("%s out of range: \"%s\"", typname, str),
					 errhint("Values must lie between 4714-11-24 BC and 294276 AD in UTC.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("invalid input syntax for type %s: \"%s\"", typname, str),
					 errhint("Write a date and time followed by a zone, for example "
							 "2025-10-10 09:30:00 America/New_York, 2025-10-10 09:30:00 EST "
							 "or 2025-10-10T09:30:00-04:00.")));
	}
	pg_unreachable();
}

static TimestampTz
ZoneMidnight(const GsZone *zone, int days, const char *str, const char *typname)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int32		off = GsZoneOffsetAt(zone, now, NULL);
	Timestamp	wall = now + (int64) off * USECS_PER_SEC;
	Timestamp	day;

	day = wall / USECS_PER_DAY;
	if (wall < 0 && day * USECS_PER_DAY != wall)
		day--;
	return GsLocalToInstant(zone, (day + days) * USECS_PER_DAY, str, typname);
}

/*
 * GsResolveInput
 *		The instant a parsed literal names, read in zone.
 *
 * zone is the zone to read a bare wall time in (the literal's own zone, or
 * the type's default); it may be NULL only when the literal has an offset.
 * When the literal has both an offset and a zone, the offset picks the
 * instant and must be one the zone uses at that time.
 */
TimestampTz
GsResolveInput(const GsDateTimeInput *in, const GsZone *zone,
			   const char *str, const char *typname)
{
	TimestampTz result;

	switch (in->special)
	{
		case GS_SPECIAL_INFINITY:
			TIMESTAMP_NOEND(result);
			return result;
		case GS_SPECIAL_NEG_INFINITY:
			TIMESTAMP_NOBEGIN(result);
			return result;
		case GS_SPECIAL_NOW:
			return GetCurrentTransactionStartTimestamp();
		case GS_SPECIAL_EPOCH:
			return -(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
		case GS_SPECIAL_TODAY:
			return ZoneMidnight(zone, 0, str, typname);
		case GS_SPECIAL_TOMORROW:
			return ZoneMidnight(zone, 1, str, typname);
		case GS_SPECIAL_YESTERDAY:
			return ZoneMidnight(zone, -1, str, typname);
		case GS_SPECIAL_NONE:
			break;
	}

	if (in->has_offset)
	{
		result = in->local - (int64) in->offset * USECS_PER_SEC;
		if (!IS_VALID_TIMESTAMP(result))
			GsReportParseError(GS_PARSE_OUT_OF_RANGE, str, typname);
		if (in->zone != NULL && GsZoneOffsetAt(zone, result, NULL) != in->offset)
		{
			char		buf[10];

			GsZoneFormatOffset(in->offset, buf);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("UTC offset %s does not match time zone \"%s\" in \"%s\"",
							buf, zone->name, str),
					 errdetail("Time zone \"%s\" does not use offset %s at that local time.",
							   zone->name, buf),
					 errhint("Omit the offset, or give the offset the zone uses at that time.")));
		}
		return result;
	}
	return GsLocalToInstant(zone, in->local, str, typname);
}

static inline char *
put2(char *p, int v)
{
	p[0] = '0' + v / 10;
	p[1] = '0' + v % 10;
	return p + 2;
}

/*
 * GsFormatWallTime
 *		Write a wall time as DateStyle ISO does, optionally followed by a
 *		numeric offset (+05:30), into buf (GS_WALLTIME_BUFLEN bytes).
 *
 * Returns a pointer to the terminating NUL.  Years 1..9999 take a fast
 * path; others (BC, five-digit years) go through EncodeDateTime so the
 * text is exactly PostgreSQL's.
 */
char *
GsFormatWallTime(Timestamp wall, int32 print_offset, bool with_offset, char *buf)
{
	int64		days = wall / USECS_PER_DAY;
	int64		time = wall - days * USECS_PER_DAY;
	int			year,
				mon,
				mday;
	char	   *p = buf;
	int			hour,
				min,
				sec;
	int			usec;

	if (time < 0)
	{
		time += USECS_PER_DAY;
		days--;
	}
	j2date((int) (days + POSTGRES_EPOCH_JDATE), &year, &mon, &mday);

	if (year < 1 || year > 9999)
	{
		struct pg_tm tt;
		fsec_t		fsec;

		if (timestamp2tm(wall, NULL, &tt, &fsec, NULL, NULL) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		tt.tm_isdst = 0;		/* else EncodeDateTime omits the offset */
		EncodeDateTime(&tt, fsec, with_offset, -print_offset, NULL, USE_ISO_DATES, buf);
		return buf + strlen(buf);
	}

	usec = (int) (time % USECS_PER_SEC);
	time /= USECS_PER_SEC;
	sec = (int) (time % 60);
	time /= 60;
	min = (int) (time % 60);
	hour = (int) (time / 60);

	p = put2(p, year / 100);
	p = put2(p, year % 100);
	*p++ = '-';
	p = put2(p, mon);
	*p++ = '-';
	p = put2(p, mday);
	*p++ = ' ';
	p = put2(p, hour);
	*p++ = ':';
	p = put2(p, min);
	*p++ = ':';
	p = put2(p, sec);
	if (usec != 0)
	{
		int			div = 100000;

		*p++ = '.';
		while (usec != 0)
		{
			*p++ = '0' + usec / div;
			usec %= div;
			div /= 10;
		}
	}
	if (with_offset)
	{
		int			a = print_offset < 0 ? -print_offset : print_offset;

		*p++ = print_offset < 0 ? '-' : '+';
		p = put2(p, a / SECS_PER_HOUR);
		if (a % SECS_PER_HOUR != 0)
		{
			*p++ = ':';
			p = put2(p, (a / SECS_PER_MINUTE) % 60);
			if (a % SECS_PER_MINUTE != 0)
			{
				*p++ = ':';
				p = put2(p, a % 60);
			}
		}
	}
	*p = '\0';
	return p;
}
