/*-------------------------------------------------------------------------
 *
 * gsjson.c
 *	  Spans of JSON text that jansson has already accepted: where a value
 *	  ends, and the members of an object with their raw value text.
 *
 * The s3 driver (csv columns) and the snowflake driver (bindings) pass
 * values on exactly as the event line spells them: re-serialising them
 * through jansson would change numbers (0.1, big integers).  This scanner
 * only finds spans; it trusts that the text is valid JSON, and never reads
 * past end.  It never allocates and never ereports (worker side).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "gsjson.h"

const char *
GsJsonSkipWs(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

const char *
GsJsonSkipValue(const char *p, const char *end)
{
	int			depth = 0;

	if (p >= end)
		return NULL;
	do
	{
		if (p >= end)
			return NULL;
		if (*p == '"')
		{
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return NULL;
			p++;
		}
		else if (*p == '{' || *p == '[')
			depth++, p++;
		else if (*p == '}' || *p == ']')
			depth--, p++;
		else if (depth > 0)
			p++;
		else
		{
			while (p < end && !strchr(",}] \t\r\n", *p))
				p++;
		}
	} while (depth > 0);
	return p;
}

bool
GsJsonForEachMember(const char *p, const char *end, GsJsonMemberFn fn, void *arg)
{
	p = GsJsonSkipWs(p, end);
	if (p >= end || *p != '{')
		return false;
	p = GsJsonSkipWs(p + 1, end);
	if (p < end && *p == '}')
		return true;
	while (p < end)
	{
		const char *kend = GsJsonSkipValue(p, end);
		const char *v;
		const char *vend;

		if (kend == NULL || *p != '"')
			return false;
		v = GsJsonSkipWs(kend, end);
		if (v >= end || *v != ':')
			return false;
		v = GsJsonSkipWs(v + 1, end);
		vend = GsJsonSkipValue(v, end);
		if (vend == NULL)
			return false;
		if (!fn(p + 1, kend - p - 2, v, vend, arg))
			return true;
		p = GsJsonSkipWs(vend, end);
		if (p < end && *p == ',')
			p = GsJsonSkipWs(p + 1, end);
		else
			return p < end && *p == '}';
	}
	return false;
}
