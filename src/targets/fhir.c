/*-------------------------------------------------------------------------
 *
 * fhir.c
 *	  The FHIR R4 target: each batch becomes one transaction Bundle of
 *	  conditional updates and deletes, POSTed to the server's base URL; and
 *	  the converters from rows to Patient and Organization resources that
 *	  the target and the SQL functions to_fhir_patient(),
 *	  to_fhir_organization() and to_fhir_bundle() share.
 *
 * The conversion is written once, with jansson, and never ereports: it
 * returns NULL and an error text instead.  (The loop over a bundle's lines
 * does CHECK_FOR_INTERRUPTS, freeing jansson's values before it throws.)
 * The SQL functions parse their
 * jsonb's text with jansson, convert, and return the result through
 * jsonb_in; they ereport what the conversion refused.  The worker side
 * builds the Bundle from the batch's NDJSON lines.
 *
 * Idempotency: every entry is a conditional update or delete by business
 * identifier ("PUT Patient?identifier=<system>|<patient_id>"), so a resent
 * batch leaves the server where the first send left it.  Events of one
 * resource in one batch collapse to the last one (a transaction may touch
 * a resource once); Organizations come before Patients.  Truncates and
 * events of other tables are skipped.
 *
 * Answers: 200 with a transaction-response Bundle whose entries all have
 * a 2xx status is success; a failed entry, 412 (several resources match a
 * conditional update) and other 4xx are permanent for the batch (with the
 * OperationOutcome's text); 401, 403 and 404 (credentials, endpoint) and
 * 408, 429, 5xx and transport errors are retried; 410 disables the target.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "gsjson.h"
#include "httpcore.h"

#define FHIR_PATIENT_SYSTEM		"urn:globalsync:patient-id"
#define FHIR_FACILITY_SYSTEM	"urn:globalsync:facility-id"
#define FHIR_EXT_REGISTRATION	"https://globalsync.dev/fhir/StructureDefinition/registration"
#define FHIR_EXT_TIMEZONE		"https://globalsync.dev/fhir/StructureDefinition/timezone"
#define FHIR_V2_0203			"http://terminology.hl7.org/CodeSystem/v2-0203"
#define FHIR_BATCH_SYSTEM		"urn:globalsync:batch-id"

#define PATIENT_TABLE	"globalsync.patient_registrations"
#define FACILITY_TABLE	"globalsync.facilities"

/* at most this much of a transaction-response is read */
#define FHIR_RESPONSE_MAX	(64 * 1024 * 1024)

typedef struct FhirEntryInfo
{
	char	   *method;			/* "PUT" or "DELETE" */
	char	   *url;			/* "Patient?identifier=..." */
} FhirEntryInfo;

typedef struct FhirTarget
{
	char	   *url;
	char	   *what;			/* "POST <url>" for messages: never credentials */
	char	   *patient_system;
	char	   *organization_system;
	GsHttpConn	conn;
	char	   *token;			/* bearer token, NULL if none */
	bool		bad_secret;		/* a secret is set but is not a usable token */

	GsHttpRequest req;			/* the request under way */
	int			nentries;		/* entries of the bundle under way */
	FhirEntryInfo *entries;		/* in req.cxt */
} FhirTarget;

/* ----------------------------------------------------------------
 * small helpers (no ereport)
 * ---------------------------------------------------------------- */

/*
 * ValidSystem
 *		An identifier system globalsync writes: an absolute URI (a scheme,
 *		a colon, something after it), printable ASCII without blanks, and
 *		no "|" (it separates system and value in a token search).
 */
static const char *
ValidSystem(const char *s)
{
	const char *p;

	if (s == NULL || s[0] == '\0')
		return "it is empty";
	if (strlen(s) > 1024)
		return "it is longer than 1024 bytes";
	if (!isalpha((unsigned char) s[0]))
		return "it does not start with a URI scheme (such as \"urn:\" or \"https:\")";
	for (p = s; *p && *p != ':'; p++)
		if (!(isalnum((unsigned char) *p) || *p == '+' || *p == '-' || *p == '.'))
			return "it does not start with a URI scheme (such as \"urn:\" or \"https:\")";
	if (*p != ':' || p[1] == '\0')
		return "it has nothing after its scheme";
	for (p = s; *p; p++)
	{
		if (*p <= 0x20 || *p >= 0x7f)
			return "it contains a blank or a character that is not printable ASCII";
		if (*p == '|')
			return "it contains \"|\"";
	}
	return NULL;
}

/*
 * AppendQueryValue
 *		A system or value in a token search parameter: FHIR's escapes for
 *		"\", "|", "," and "$" first, then percent-encoding of everything but
 *		RFC 3986's unreserved characters, ":" and "/".
 */
static void
AppendQueryValue(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\\' || *s == '|' || *s == ',' || *s == '$')
			appendStringInfoString(buf, "%5C");
		GsAppendPercentEncoded(buf, s, 1, ":/");
	}
}

/* "Patient?identifier=<system>|<value>", palloc'd */
static char *
ConditionalUrl(const char *type, const char *system, const char *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s?identifier=", type);
	AppendQueryValue(&buf, system);
	appendStringInfoChar(&buf, '|');
	AppendQueryValue(&buf, value);
	return buf.data;
}

/*
 * FullUrl
 *		"urn:uuid:" and a name-based (version 5, SHA-1) UUID of the resource
 *		type, system and value: the same resource has the same fullUrl in
 *		every bundle, so a resent bundle is the same bundle.
 */
static bool
FullUrl(const char *type, const char *system, const char *value, char *out, size_t outlen)
{
	/* the namespace of these UUIDs (a random UUID chosen once) */
	static const unsigned char ns[16] = {
		0x3c, 0x8e, 0x5b, 0x1a, 0x7d, 0x42, 0x4f, 0x0e,
		0x9a, 0x61, 0x2b, 0xd4, 0x90, 0x17, 0xc6, 0x5f
	};
	EVP_MD_CTX *ctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char		uuid[37];
	bool		ok;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return false;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
		EVP_DigestUpdate(ctx, ns, sizeof(ns)) == 1 &&
		EVP_DigestUpdate(ctx, type, strlen(type)) == 1 &&
		EVP_DigestUpdate(ctx, "|", 1) == 1 &&
		EVP_DigestUpdate(ctx, system, strlen(system)) == 1 &&
		EVP_DigestUpdate(ctx, "|", 1) == 1 &&
		EVP_DigestUpdate(ctx, value, strlen(value)) == 1 &&
		EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return false;
	GsUuidFromHash(md, 5, uuid);
	snprintf(out, outlen, "urn:uuid:%s", uuid);
	return true;
}

/* a string member of an object, NULL if absent, null or not a string */
static const char *
Str(json_t *obj, const char *key)
{
	json_t	   *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* a string member that is there and not blank */
static const char *
NonBlank(json_t *obj, const char *key)
{
	const char *s = Str(obj, key);
	const char *p;

	if (s == NULL)
		return NULL;
	for (p = s; *p; p++)
		if (!isspace((unsigned char) *p))
			return s;
	return NULL;
}

/* json_object_set_new that remembers a failure (out of memory) */
static void
Set(json_t *obj, const char *key, json_t *value, bool *ok)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		*ok = false;
}

static void
Append(json_t *arr, json_t *value, bool *ok)
{
	if (value == NULL || json_array_append_new(arr, value) != 0)
		*ok = false;
}

/* ----------------------------------------------------------------
 * names
 * ---------------------------------------------------------------- */

/*
 * SplitWords
 *		The words of s (split at ASCII blanks), palloc'd; returns how many.
 */
static int
SplitWords(const char *s, char ***words)
{
	int			n = 0;
	int			cap = 8;
	const char *p = s;

	*words = palloc(sizeof(char *) * cap);
	while (*p)
	{
		const char *start;

		while (*p && isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p && !isspace((unsigned char) *p))
			p++;
		if (n == cap)
		{
			cap *= 2;
			*words = repalloc(*words, sizeof(char *) * cap);
		}
		(*words)[n++] = pnstrdup(start, p - start);
	}
	return n;
}

static char *
JoinWords(char **words, int n)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ' ');
		appendStringInfoString(&buf, words[i]);
	}
	return buf.data;
}

/* remove the commas of words; drop words left empty; returns how many remain */
static int
StripCommas(char **words, int n)
{
	int			i;
	int			k = 0;

	for (i = 0; i < n; i++)
	{
		char	   *c;

		while ((c = strchr(words[i], ',')) != NULL)
			memmove(c, c + 1, strlen(c));
		if (words[i][0] != '\0')
			words[k++] = words[i];
	}
	return k;
}

/*
 * HumanName
 *		The official HumanName of a patient_name.  Blanks are collapsed.
 *		"Family, Given Middle": the words before the first comma are the
 *		family name, those after it given names.  Otherwise the last word is
 *		the family name and the words before it are given names; one word is
 *		a family name alone.  Commas are not part of any name part.  text is
 *		the name as written, with its blanks collapsed.
 */
static json_t *
HumanName(const char *name, bool *ok)
{
	json_t	   *hn = GsJsonObject();
	json_t	   *given = json_array();
	const char *comma = strchr(name, ',');
	char	  **words;
	int			n;
	char	   *text;
	char	   *family = NULL;
	int			i;

	n = SplitWords(name, &words);
	text = JoinWords(words, n);
	if (comma)
	{
		char	  **fw;
		int			nf = SplitWords(pnstrdup(name, comma - name), &fw);

		if (nf > 0)
		{
			char	  **gw;
			int			ng = SplitWords(comma + 1, &gw);

			family = JoinWords(fw, nf);
			ng = StripCommas(gw, ng);
			for (i = 0; i < ng; i++)
				Append(given, json_string(gw[i]), ok);
		}
	}
	if (family == NULL)
	{
		/* no comma, or nothing before it ("', Asha'"): the last word rule */
		n = StripCommas(words, n);
		if (n > 0)
		{
			family = words[n - 1];
			for (i = 0; i < n - 1; i++)
				Append(given, json_string(words[i]), ok);
		}
	}

	Set(hn, "use", json_string("official"), ok);
	if (text[0] != '\0')
		Set(hn, "text", json_string(text), ok);
	if (family)
		Set(hn, "family", json_string(family), ok);
	if (json_array_size(given) > 0)
		Set(hn, "given", given, ok);
	else
		json_decref(given);
	return hn;
}

/* ----------------------------------------------------------------
 * times
 * ---------------------------------------------------------------- */

/*
 * ParseWall
 *		"YYYY-MM-DD HH:MM:SS[.ffffff]" at the start of s: the wall time in
 *		microseconds since 1970-01-01 (as if UTC); *end after it; the text of
 *		date, time and fraction into out as "YYYY-MM-DDTHH:MM:SS[.ffffff]".
 */
static bool
ParseWall(const char *s, int64 *usec, const char **end, char *out, size_t outlen)
{
	int			y,
				mo,
				d,
				h,
				mi,
				se;
	int			n = 0;
	int64		frac = 0;
	int			fdigits = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
		return false;
	if (!isdigit((unsigned char) s[0]) || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h > 23 || mi > 59 || se > 60 || h < 0 || mi < 0 || se < 0)
		return false;
	p = s + 19;
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p) && fdigits < 6)
		{
			frac = frac * 10 + (*p - '0');
			fdigits++;
			p++;
		}
		if (fdigits == 0 || isdigit((unsigned char) *p))
			return false;
		for (n = fdigits; n < 6; n++)
			frac *= 10;
	}
	*usec = (((int64) (date2j(y, mo, d) - UNIX_EPOCH_JDATE) * 24 + h) * 60 + mi) * INT64CONST(60000000) +
		se * INT64CONST(1000000) + frac;
	*end = p;
	snprintf(out, outlen, "%.10sT%.*s", s, (int) (p - s - 11), s + 11);
	return true;
}

/*
 * RegisteredAt
 *		The FHIR dateTime of a registration: the local wall time of
 *		registered_at with its UTC offset.  The offset is the wall time
 *		minus the instant, the instant being registered_at_ist's wall time
 *		minus 05:30.  NULL if either does not read.
 */
static char *
RegisteredAt(const char *zoned, const char *ist)
{
	int64		local,
				istwall;
	const char *end;
	char		localtxt[40];
	char		isttxt[40];
	int64		off_min;
	int64		diff;

	if (zoned == NULL || ist == NULL ||
		!ParseWall(zoned, &local, &end, localtxt, sizeof(localtxt)))
		return NULL;
	if (!ParseWall(ist, &istwall, &end, isttxt, sizeof(isttxt)) ||
		strcmp(end, "+05:30") != 0)
		return NULL;
	diff = local - (istwall - INT64CONST(330) * 60000000);
	if (diff % 60000000 != 0)
		return NULL;
	off_min = diff / 60000000;
	if (off_min <= -24 * 60 || off_min >= 24 * 60)
		return NULL;
	return psprintf("%s%c%02d:%02d", localtxt, off_min < 0 ? '-' : '+',
					(int) (Abs(off_min) / 60), (int) (Abs(off_min) % 60));
}

/* a FHIR date: YYYY-MM-DD */
static bool
IsDate(const char *s)
{
	int			i;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char) s[i]))
			return false;
	return true;
}

/* ----------------------------------------------------------------
 * resources
 * ---------------------------------------------------------------- */

static json_t *
Identifier(const char *system, const char *value, bool mr, bool *ok)
{
	json_t	   *id = GsJsonObject();

	if (mr)
	{
		json_t	   *coding = GsJsonObject();
		json_t	   *codings = json_array();
		json_t	   *type = GsJsonObject();

		Set(id, "use", json_string("usual"), ok);
		Set(coding, "system", json_string(FHIR_V2_0203), ok);
		Set(coding, "code", json_string("MR"), ok);
		Append(codings, coding, ok);
		Set(type, "coding", codings, ok);
		Set(id, "type", type, ok);
	}
	Set(id, "system", json_string(system), ok);
	Set(id, "value", json_string(value), ok);
	return id;
}

static json_t *
StringExtension(const char *url, const char *key, const char *value, bool *ok)
{
	json_t	   *ext = GsJsonObject();

	Set(ext, "url", json_string(url), ok);
	Set(ext, key, json_string(value), ok);
	return ext;
}

/*
 * FhirPatient
 *		The Patient of a patient_registrations row (as a JSON object).
 *		NULL with err filled if the row has no patient_id.
 */
static json_t *
FhirPatient(json_t *row, const char *system, const char *orgsystem, char *err, size_t errlen)
{
	const char *pid = NonBlank(row, "patient_id");
	const char *name = NonBlank(row, "patient_name");
	const char *phone = NonBlank(row, "contact_number");
	const char *email = NonBlank(row, "email");
	const char *dob = Str(row, "date_of_birth");
	const char *fac = NonBlank(row, "facility_id");
	const char *tz = NonBlank(row, "registration_timezone");
	const char *regid = NonBlank(row, "registration_id");
	char	   *when = RegisteredAt(Str(row, "registered_at"), Str(row, "registered_at_ist"));
	json_t	   *p;
	json_t	   *arr;
	bool		ok = true;

	if (pid == NULL)
	{
		snprintf(err, errlen, "the row has no patient_id (a non-empty string)");
		return NULL;
	}
	p = GsJsonObject();
	Set(p, "resourceType", json_string("Patient"), &ok);
	arr = json_array();
	Append(arr, Identifier(system, pid, true, &ok), &ok);
	Set(p, "identifier", arr, &ok);
	Set(p, "active", json_true(), &ok);
	if (name)
	{
		arr = json_array();
		Append(arr, HumanName(name, &ok), &ok);
		Set(p, "name", arr, &ok);
	}
	if (phone || email)
	{
		arr = json_array();
		if (phone)
		{
			json_t	   *t = GsJsonObject();

			Set(t, "system", json_string("phone"), &ok);
			Set(t, "value", json_string(phone), &ok);
			Set(t, "use", json_string("mobile"), &ok);
			Append(arr, t, &ok);
		}
		if (email)
		{
			json_t	   *t = GsJsonObject();

			Set(t, "system", json_string("email"), &ok);
			Set(t, "value", json_string(email), &ok);
			Append(arr, t, &ok);
		}
		Set(p, "telecom", arr, &ok);
	}
	if (IsDate(dob))
		Set(p, "birthDate", json_string(dob), &ok);
	if (fac)
	{
		json_t	   *ref = GsJsonObject();

		Set(ref, "reference", json_string(ConditionalUrl("Organization", orgsystem, fac)), &ok);
		Set(ref, "identifier", Identifier(orgsystem, fac, false, &ok), &ok);
		Set(p, "managingOrganization", ref, &ok);
	}
	if (when || tz || regid)
	{
		json_t	   *ext = GsJsonObject();
		json_t	   *sub = json_array();

		Set(ext, "url", json_string(FHIR_EXT_REGISTRATION), &ok);
		if (when)
			Append(sub, StringExtension("registeredAt", "valueDateTime", when, &ok), &ok);
		if (tz)
			Append(sub, StringExtension("timezone", "valueString", tz, &ok), &ok);
		if (regid)
			Append(sub, StringExtension("registrationId", "valueString", regid, &ok), &ok);
		Set(ext, "extension", sub, &ok);
		arr = json_array();
		Append(arr, ext, &ok);
		Set(p, "extension", arr, &ok);
	}
	if (!ok)
	{
		json_decref(p);
		snprintf(err, errlen, "out of memory building a Patient");
		return NULL;
	}
	return p;
}

/* The Organization of a facilities row; NULL with err if no facility_id. */
static json_t *
FhirOrganization(json_t *row, const char *system, char *err, size_t errlen)
{
	const char *fid = NonBlank(row, "facility_id");
	const char *name = NonBlank(row, "name");
	const char *loc = NonBlank(row, "location");
	const char *tz = NonBlank(row, "timezone");
	json_t	   *active = json_object_get(row, "is_active");
	json_t	   *o;
	json_t	   *arr;
	bool		ok = true;

	if (fid == NULL)
	{
		snprintf(err, errlen, "the row has no facility_id (a non-empty string)");
		return NULL;
	}
	o = GsJsonObject();
	Set(o, "resourceType", json_string("Organization"), &ok);
	if (tz)
	{
		arr = json_array();
		Append(arr, StringExtension(FHIR_EXT_TIMEZONE, "valueString", tz, &ok), &ok);
		Set(o, "extension", arr, &ok);
	}
	arr = json_array();
	Append(arr, Identifier(system, fid, false, &ok), &ok);
	Set(o, "identifier", arr, &ok);
	Set(o, "active", json_boolean(json_is_boolean(active) ? json_is_true(active) : true), &ok);
	if (name)
		Set(o, "name", json_string(name), &ok);
	if (loc)
	{
		json_t	   *a = GsJsonObject();

		Set(a, "text", json_string(loc), &ok);
		arr = json_array();
		Append(arr, a, &ok);
		Set(o, "address", arr, &ok);
	}
	if (!ok)
	{
		json_decref(o);
		snprintf(err, errlen, "out of memory building an Organization");
		return NULL;
	}
	return o;
}

/* ----------------------------------------------------------------
 * the transaction Bundle of a batch
 * ---------------------------------------------------------------- */

typedef struct BundleEntry
{
	json_t	   *entry;			/* NULL: replaced by a later event */
	bool		organization;
	char	   *method;
	char	   *url;
} BundleEntry;

/* free the entries of a bundle being built, and its index */
static void
FreeEntries(BundleEntry *ents, int n, json_t *index)
{
	int			i;

	for (i = 0; i < n; i++)
		json_decref(ents[i].entry);
	json_decref(index);
}

/*
 * FhirBundle
 *		The transaction Bundle of events given as NDJSON lines.  Returns
 *		the bundle (its entries in *info, *nentries of them, palloc'd), or
 *		NULL with err filled if a line is not an event it can read.  A
 *		bundle without entries has no "entry" member: nothing to send.
 */
static json_t *
FhirBundle(const char *payload, size_t len, const char *system, const char *orgsystem,
		   FhirEntryInfo **info, int *nentries, char *err, size_t errlen)
{
	GsLines		lines;
	const char *p;
	size_t		ll;
	json_t	   *index = GsJsonObject();	/* resource key -> position */
	BundleEntry *ents;
	int			n = 0;
	int			cap = 64;
	const char *batch_id = NULL;
	char	   *batch_copy = NULL;
	json_t	   *bundle = NULL;
	json_t	   *arr = NULL;
	bool		ok = true;
	int			i;
	int			pass;

	*nentries = 0;
	*info = NULL;
	ents = palloc(sizeof(BundleEntry) * cap);
	if (index == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	GsLinesInit(&lines, payload, len);
	while (GsNextLine(&lines, &p, &ll))
	{
		json_t	   *ev;
		json_error_t jerr;
		const char *table;
		const char *op;
		bool		isorg;
		json_t	   *row;
		json_t	   *pk;
		const char *value;
		const char *type;
		const char *sys;
		char	   *key;
		json_t	   *entry;
		json_t	   *req;
		json_t	   *pos;
		char	   *url;
		char		fullurl[64];

		/* a cancel or shutdown throws: jansson's values are not palloc'd */
		if (INTERRUPTS_PENDING_CONDITION())
		{
			PG_TRY();
			{
				CHECK_FOR_INTERRUPTS();
			}
			PG_CATCH();
			{
				FreeEntries(ents, n, index);
				PG_RE_THROW();
			}
			PG_END_TRY();
		}
		ev = json_loadb(p, ll, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(ev))
		{
			snprintf(err, errlen, "line %d is not a JSON object%s%s", lines.lineno,
					 ev ? "" : ": ", ev ? "" : jerr.text);
			json_decref(ev);
			goto fail;
		}
		if (batch_copy == NULL && (batch_id = Str(ev, "batch_id")) != NULL)
			batch_copy = pstrdup(batch_id);
		table = Str(ev, "table");
		op = Str(ev, "op");
		if (table == NULL || op == NULL || strlen(op) != 1 || strchr("IUDTR", op[0]) == NULL)
		{
			snprintf(err, errlen, "line %d is not an event: it needs \"table\" and \"op\" (one of I, U, D, T, R)",
					 lines.lineno);
			json_decref(ev);
			goto fail;
		}
		isorg = strcmp(table, FACILITY_TABLE) == 0;
		if ((!isorg && strcmp(table, PATIENT_TABLE) != 0) || op[0] == 'T')
		{
			/* another table, or a truncate: not sent */
			json_decref(ev);
			continue;
		}
		type = isorg ? "Organization" : "Patient";
		sys = isorg ? orgsystem : system;
		row = json_object_get(ev, "row");
		pk = json_object_get(ev, "pk");
		value = NULL;
		if (op[0] != 'D' && json_is_object(row))
			value = NonBlank(row, isorg ? "facility_id" : "patient_id");
		if (value == NULL && json_is_object(pk))
			value = NonBlank(pk, isorg ? "facility_id" : "patient_id");
		if (value == NULL)
		{
			snprintf(err, errlen, "line %d (op %s of %s) has no %s in its %s", lines.lineno, op, table,
					 isorg ? "facility_id" : "patient_id", op[0] == 'D' ? "pk" : "row or pk");
			json_decref(ev);
			goto fail;
		}
		if (op[0] != 'D' && !json_is_object(row))
		{
			snprintf(err, errlen, "line %d (op %s of %s) has no row", lines.lineno, op, table);
			json_decref(ev);
			goto fail;
		}

		url = ConditionalUrl(type, sys, value);
		entry = GsJsonObject();
		req = GsJsonObject();
		if (op[0] == 'D')
		{
			Set(req, "method", json_string("DELETE"), &ok);
			Set(req, "url", json_string(url), &ok);
			Set(entry, "request", req, &ok);
		}
		else
		{
			json_t	   *res;

			/* the identifier is the one of the URL, whatever the row says */
			res = isorg ? FhirOrganization(row, sys, err, errlen)
				: FhirPatient(row, sys, orgsystem, err, errlen);
			if (res == NULL)
			{
				json_decref(entry);
				json_decref(req);
				json_decref(ev);
				goto fail;
			}
			if (!FullUrl(type, sys, value, fullurl, sizeof(fullurl)))
			{
				snprintf(err, errlen, "could not compute a SHA-1 (OpenSSL)");
				json_decref(res);
				json_decref(entry);
				json_decref(req);
				json_decref(ev);
				goto fail;
			}
			Set(entry, "fullUrl", json_string(fullurl), &ok);
			Set(entry, "resource", res, &ok);
			Set(req, "method", json_string("PUT"), &ok);
			Set(req, "url", json_string(url), &ok);
			Set(entry, "request", req, &ok);
		}

		/* the last event of a resource wins, at its own place */
		key = psprintf("%s|%s", type, value);
		pos = json_object_get(index, key);
		if (pos)
		{
			i = (int) json_integer_value(pos);
			json_decref(ents[i].entry);
			ents[i].entry = NULL;
		}
		if (n == cap)
		{
			cap *= 2;
			ents = repalloc(ents, sizeof(BundleEntry) * cap);
		}
		ents[n].entry = entry;
		ents[n].organization = isorg;
		ents[n].method = op[0] == 'D' ? "DELETE" : "PUT";
		ents[n].url = url;
		Set(index, key, json_integer(n), &ok);
		n++;
		json_decref(ev);
		if (!ok)
		{
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}

	bundle = GsJsonObject();
	Set(bundle, "resourceType", json_string("Bundle"), &ok);
	if (batch_copy)
	{
		json_t	   *id = GsJsonObject();

		Set(id, "system", json_string(FHIR_BATCH_SYSTEM), &ok);
		Set(id, "value", json_string(batch_copy), &ok);
		Set(bundle, "identifier", id, &ok);
	}
	Set(bundle, "type", json_string("transaction"), &ok);
	arr = json_array();
	*info = palloc(sizeof(FhirEntryInfo) * Max(n, 1));
	/* Organizations first: Patients refer to them */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++)
		{
			if (ents[i].entry == NULL || ents[i].organization != (pass == 0))
				continue;
			Append(arr, ents[i].entry, &ok);
			ents[i].entry = NULL;
			(*info)[*nentries].method = ents[i].method;
			(*info)[*nentries].url = ents[i].url;
			(*nentries)++;
		}
	if (*nentries > 0)
		Set(bundle, "entry", arr, &ok);
	else
		json_decref(arr);
	json_decref(index);
	pfree(ents);
	if (!ok)
	{
		json_decref(bundle);
		snprintf(err, errlen, "out of memory building the bundle");
		return NULL;
	}
	return bundle;

fail:
	FreeEntries(ents, n, index);
	pfree(ents);
	*nentries = 0;
	return NULL;
}

/* ----------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------- */

static void
CheckSystemArg(const char *what, const char *system)
{
	const char *why = ValidSystem(system);

	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", what, system),
				 errdetail("An identifier system is an absolute URI, but %s.", why),
				 errhint("Use for example '%s' or 'https://hospital.example.org/ids/patient'.",
						 FHIR_PATIENT_SYSTEM)));
}

/* a jansson value as jsonb (freed here) */
static Datum
JanssonToJsonb(json_t *v)
{
	char	   *s = json_dumps(v, JSON_COMPACT);
	char	   *copy;

	json_decref(v);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory writing a FHIR resource")));
	copy = pstrdup(s);
	free(s);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(copy));
}

/*
 * _fhir_resource(resource_type text, row_data jsonb, identifier_system text,
 *				  organization_system text) -> jsonb
 *		The Patient ('Patient') or Organization ('Organization') of a row.
 */
PG_FUNCTION_INFO_V1(gs_fhir_resource);
Datum
gs_fhir_resource(PG_FUNCTION_ARGS)
{
	char	   *type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *rowj = PG_GETARG_JSONB_P(1);
	char	   *system = text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *orgsystem = text_to_cstring(PG_GETARG_TEXT_PP(3));
	bool		patient = strcmp(type, "Patient") == 0;
	char	   *text;
	json_t	   *row;
	json_t	   *res;
	json_error_t jerr;
	char		err[256];

	if (!patient && strcmp(type, "Organization") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported FHIR resource type \"%s\"", type),
				 errdetail("globalsync makes Patient and Organization resources."),
				 errhint("Use globalsync.to_fhir_patient() or globalsync.to_fhir_organization().")));
	if (!JB_ROOT_IS_OBJECT(rowj) || JB_ROOT_IS_SCALAR(rowj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the row of a FHIR %s must be a JSON object", type),
				 errhint("Pass to_jsonb() of a %s row.", patient ? "patient_registrations" : "facilities")));
	CheckSystemArg("identifier system", system);
	CheckSystemArg("organization identifier system", orgsystem);

	text = JsonbToCString(NULL, &rowj->root, VARSIZE(rowj));
	row = json_loads(text, 0, &jerr);
	if (row == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not read the row: %s", jerr.text)));
	res = patient ? FhirPatient(row, system, orgsystem, err, sizeof(err))
		: FhirOrganization(row, system, err, sizeof(err));
	json_decref(row);
	if (res == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot make a FHIR %s of this row", type),
				 errdetail("%c%s.", pg_toupper((unsigned char) err[0]), err + 1),
				 errhint("Pass to_jsonb() of a %s row.", patient ? "patient_registrations" : "facilities")));
	PG_RETURN_DATUM(JanssonToJsonb(res));
}

/*
 * to_fhir_bundle(events text, identifier_system text, organization_system
 *				  text) -> jsonb
 *		The transaction Bundle a fhir target sends for these NDJSON events.
 */
PG_FUNCTION_INFO_V1(gs_to_fhir_bundle);
Datum
gs_to_fhir_bundle(PG_FUNCTION_ARGS)
{
	text	   *events = PG_GETARG_TEXT_PP(0);
	char	   *system = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *orgsystem = text_to_cstring(PG_GETARG_TEXT_PP(2));
	FhirEntryInfo *info;
	int			n;
	json_t	   *bundle;
	char		err[256];

	CheckSystemArg("identifier system", system);
	CheckSystemArg("organization identifier system", orgsystem);
	bundle = FhirBundle(VARDATA_ANY(events), VARSIZE_ANY_EXHDR(events), system, orgsystem,
						&info, &n, err, sizeof(err));
	if (bundle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot make a FHIR transaction bundle of these events"),
				 errdetail("%c%s.", pg_toupper((unsigned char) err[0]), err + 1),
				 errhint("Pass events as NDJSON lines, as a file target writes them.")));
	PG_RETURN_DATUM(JanssonToJsonb(bundle));
}

/* ----------------------------------------------------------------
 * validation (SQL context)
 * ---------------------------------------------------------------- */

static const char *
TokenProblem(const char *secret)
{
	size_t		len = strlen(secret);
	const char *p;

	if (len < 8 || len > 4096)
		return "A bearer token is 8 to 4096 bytes long.";
	for (p = secret; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return "A bearer token is printable ASCII without blanks.";
	return NULL;
}

/* set_target_secret(): a bearer token, never shown */
static void
FhirCheckSecret(const char *secret)
{
	const char *why = TokenProblem(secret);

	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid bearer token for a fhir target"),
				 errdetail("%s", why),
				 errhint("Set the access token the FHIR server issued, without \"Bearer \" in front.")));
}

static void
FhirOption(const char *key, JsonbValue *v, void *arg)
{
	if (strcmp(key, "identifier_system") == 0 || strcmp(key, "organization_system") == 0)
	{
		char	   *s = GsStringOption("fhir", v, key, 1024);
		const char *why = ValidSystem(s);

		if (why)
			GsOptionError("fhir", key, psprintf("An identifier system is an absolute URI, but %s.", why));
	}
	else if (!GsConnOption("fhir", key, v))
		GsUnknownOption("fhir", key, "identifier_system, organization_system, " GS_CONN_OPTIONS);
}

static void
FhirValidate(const char *endpoint, Jsonb *options)
{
	JsonbValue *tables;

	(void) GsCheckEndpoint("fhir", endpoint, "https://fhir.example.org/r4");
	/* Bundles are POSTed to the base itself: a query or fragment has no place */
	if (strpbrk(endpoint, "?#") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint for a fhir target"),
				 errdetail("The endpoint of a fhir target is the server's base URL, without a query or fragment: transaction Bundles are POSTed to the base itself."),
				 errhint("Use for example 'https://fhir.example.org/r4'; a bearer token goes in the secret store with globalsync.set_target_secret().")));
	GsForEachOption(options, FhirOption, NULL);

	/* the common option tables (normalised as schema.table): what we convert */
	tables = getKeyJsonValueFromContainer(&options->root, "tables", 6, NULL);
	if (tables && tables->type == jbvBinary)
	{
		JsonbIterator *it = JsonbIteratorInit(tables->val.binary.data);
		JsonbValue	tv;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &tv, true)) != WJB_DONE)
		{
			char	   *name;

			if (tok != WJB_ELEM)
				continue;
			if (tv.type != jbvString)
				GsOptionError("fhir", "tables", "It is an array of table names.");
			name = pnstrdup(tv.val.string.val, tv.val.string.len);
			if (strcmp(name, PATIENT_TABLE) != 0 && strcmp(name, FACILITY_TABLE) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid option \"tables\" for a fhir target"),
						 errdetail("A fhir target sends %s (as Patient) and %s (as Organization); \"%s\" has no FHIR resource.",
								   PATIENT_TABLE, FACILITY_TABLE, name),
						 errhint("Leave the table out, or send it to another kind of target.")));
		}
	}
}

/* ----------------------------------------------------------------
 * the worker side
 * ---------------------------------------------------------------- */

static void *
FhirOpen(const char *target_id, const char *endpoint, Jsonb *options,
		 const char *secret, MemoryContext cxt)
{
	FhirTarget *ft = MemoryContextAllocZero(cxt, sizeof(FhirTarget));
	char	   *s;

	GsHttpEnsureCurl();
	ft->url = MemoryContextStrdup(cxt, endpoint);
	ft->what = MemoryContextStrdup(cxt, psprintf("POST %s", GsSafeUrl(endpoint, cxt)));
	s = GsJsonbString(options, "identifier_system", cxt);
	ft->patient_system = s ? s : MemoryContextStrdup(cxt, FHIR_PATIENT_SYSTEM);
	s = GsJsonbString(options, "organization_system", cxt);
	ft->organization_system = s ? s : MemoryContextStrdup(cxt, FHIR_FACILITY_SYSTEM);
	GsHttpConnFromOptions(&ft->conn, options, cxt);
	if (secret)
	{
		if (TokenProblem(secret) == NULL)
			ft->token = MemoryContextStrdup(cxt, secret);
		else
			ft->bad_secret = true;
	}
	GsHttpInit(&ft->req, cxt);
	return ft;
}

static void
FhirClose(void *state)
{
	FhirTarget *ft = (FhirTarget *) state;

	GsHttpEnd(&ft->req);
	if (ft->token)
		explicit_bzero(ft->token, strlen(ft->token));
}

/*
 * FhirBegin
 *		Build the bundle of a batch and POST it in the background.  A batch
 *		with nothing to send (truncates, other tables) is done at once.
 */
static bool
FhirBegin(void *state, const GsBatch *batch, GsSendResult *result)
{
	FhirTarget *ft = (FhirTarget *) state;
	MemoryContext old;
	json_t	   *bundle;
	char	   *body;
	char	   *copy;
	size_t		len;
	struct curl_slist *hdrs = NULL;

	GsHttpEnd(&ft->req);
	memset(result, 0, sizeof(*result));
	ft->nentries = 0;
	ft->entries = NULL;

	if (ft->bad_secret)
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error),
				 "the secret of this fhir target is not a usable bearer token: set it again with globalsync.set_target_secret()");
		return false;
	}

	old = MemoryContextSwitchTo(ft->req.cxt);
	bundle = FhirBundle(batch->payload, batch->len, ft->patient_system, ft->organization_system,
						&ft->entries, &ft->nentries, result->error, sizeof(result->error));
	MemoryContextSwitchTo(old);
	if (bundle == NULL)
	{
		char		why[400];

		strlcpy(why, result->error, sizeof(why));
		snprintf(result->error, sizeof(result->error), "cannot make a FHIR bundle of batch %s: %s",
				 batch->batch_id, why);
		result->status = GS_SEND_PERMANENT;
		GsHttpEnd(&ft->req);
		return false;
	}
	if (ft->nentries == 0)
	{
		json_decref(bundle);
		GsHttpEnd(&ft->req);
		result->status = GS_SEND_OK;
		return false;
	}
	body = json_dumps(bundle, JSON_COMPACT);
	json_decref(bundle);
	if (body == NULL)
	{
		GsHttpEnd(&ft->req);
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "out of memory writing a FHIR bundle");
		return false;
	}
	len = strlen(body);
	copy = MemoryContextAlloc(ft->req.cxt, len + 1);
	memcpy(copy, body, len + 1);
	free(body);

	if (!(GsHeaderAdd(&hdrs, "Content-Type: application/fhir+json; charset=utf-8") &&
		  GsHeaderAdd(&hdrs, "Accept: application/fhir+json") &&
		  GsHeaderAdd(&hdrs, "Prefer: return=minimal") &&
		  GsHeaderAdd(&hdrs, "Expect:") &&
		  (ft->token == NULL || GsHeaderAdd(&hdrs, "Authorization: Bearer %s", ft->token))))
	{
		GsHttpEnd(&ft->req);
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "could not create an HTTP request (out of memory)");
		return false;
	}
	if (!GsHttpPrepare(&ft->req, &ft->conn, "POST", ft->url, hdrs, copy, len,
					   FHIR_RESPONSE_MAX, result->error, sizeof(result->error)) ||
		!GsHttpGo(&ft->req, result->error, sizeof(result->error)))
	{
		GsHttpEnd(&ft->req);
		result->status = GS_SEND_RETRY;
		return false;
	}
	return true;
}

/*
 * OutcomeText
 *		"severity/code: diagnostics" of the first issues of an
 *		OperationOutcome (or of the first line of a body that is none).
 */
static void
OutcomeText(json_t *oo, const char *raw, size_t rawlen, char *out, size_t outlen)
{
	json_t	   *issues = json_object_get(oo, "issue");
	size_t		i;
	StringInfoData buf;

	initStringInfo(&buf);
	if (json_is_object(oo) && json_is_array(issues))
	{
		for (i = 0; i < json_array_size(issues) && i < 3; i++)
		{
			json_t	   *is = json_array_get(issues, i);
			const char *d = Str(is, "diagnostics");

			if (d == NULL)
				d = Str(json_object_get(is, "details"), "text");
			appendStringInfo(&buf, "%sissue %s/%s%s%s", i > 0 ? "; " : "",
							 Str(is, "severity") ? Str(is, "severity") : "?",
							 Str(is, "code") ? Str(is, "code") : "?",
							 d ? ": " : "", d ? d : "");
		}
	}
	else if (raw)
		appendBinaryStringInfo(&buf, raw, Min(rawlen, 300));
	GsPrintable(buf.data, buf.len, out, outlen);
	pfree(buf.data);
}

/* the OperationOutcome of a response body, or NULL */
static json_t *
Outcome(const GsHttpRequest *req)
{
	json_t	   *oo;

	if (req->body == NULL || req->body_truncated)
		return NULL;
	oo = json_loadb(req->body, req->body_len, 0, NULL);
	if (!json_is_object(oo) || Str(oo, "resourceType") == NULL ||
		strcmp(Str(oo, "resourceType"), "OperationOutcome") != 0)
	{
		json_decref(oo);
		return NULL;
	}
	return oo;
}

/*
 * ReadResponse
 *		A 2xx answer: the transaction-response must have one entry per
 *		entry sent, each with a 2xx response.status.
 */
static void
ReadResponse(FhirTarget *ft, GsSendResult *result)
{
	GsHttpRequest *req = &ft->req;
	json_t	   *b = NULL;
	json_t	   *entries;
	const char *rt;
	const char *type;
	size_t		i;

	if (req->body && !req->body_truncated)
		b = json_loadb(req->body, req->body_len, 0, NULL);
	rt = Str(b, "resourceType");
	type = Str(b, "type");
	entries = json_object_get(b, "entry");
	if (!json_is_object(b) || rt == NULL || strcmp(rt, "Bundle") != 0 ||
		type == NULL || strcmp(type, "transaction-response") != 0)
	{
		char		text[200];

		GsPrintable(req->body ? req->body : "", Min(req->body_len, 150), text, sizeof(text));
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error),
				 "%s answered %ld without a transaction-response Bundle%s: %s",
				 ft->what, req->status, req->body_truncated ? " (the answer is too long)" : "", text);
		json_decref(b);
		return;
	}
	if (json_array_size(entries) != (size_t) ft->nentries ||
		(!json_is_array(entries) && ft->nentries > 0))
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error),
				 "%s answered %ld with a transaction-response of %zu entries for %d sent",
				 ft->what, req->status, json_array_size(entries), ft->nentries);
		json_decref(b);
		return;
	}
	for (i = 0; i < json_array_size(entries); i++)
	{
		json_t	   *resp = json_object_get(json_array_get(entries, i), "response");
		const char *st = Str(resp, "status");

		if (st == NULL || st[0] != '2')
		{
			char		oo[300];
			char		status[40];

			OutcomeText(json_object_get(resp, "outcome"), NULL, 0, oo, sizeof(oo));
			GsPrintable(st ? st : "no status", st ? strlen(st) : 9, status, sizeof(status));
			result->status = GS_SEND_PERMANENT;
			snprintf(result->error, sizeof(result->error),
					 "%s: entry %zu of %d (%s %s) failed with %s%s%s",
					 ft->what, i, ft->nentries, ft->entries[i].method, ft->entries[i].url,
					 status, oo[0] ? ": " : "", oo);
			json_decref(b);
			return;
		}
	}
	json_decref(b);
	result->status = GS_SEND_OK;
}

/* Has the answer come?  Never blocks. */
static bool
FhirPoll(void *state, GsSendResult *result)
{
	FhirTarget *ft = (FhirTarget *) state;
	GsHttpRequest *req = &ft->req;

	if (!GsHttpPoll(req))
		return false;
	GsHttpClassify(req, ft->what, result);
	if (req->easy != NULL && req->cc == CURLE_OK)
	{
		long		s = req->status;

		if (s >= 200 && s < 300)
			ReadResponse(ft, result);
		else if (s >= 400 && s < 500 && s != 408 && s != 410 && s != 425 && s != 429)
		{
			json_t	   *oo = Outcome(req);
			char		text[400];

			OutcomeText(oo, req->body, req->body_len, text, sizeof(text));
			json_decref(oo);
			/* credentials or endpoint: the target's problem, not the batch's */
			if (s == 401 || s == 403 || s == 404)
				result->status = GS_SEND_RETRY;
			else
				result->status = GS_SEND_PERMANENT;
			snprintf(result->error, sizeof(result->error), "%s answered %ld%s%s%s",
					 ft->what, s,
					 s == 412 ? " (a conditional update matches several resources)" :
					 s == 401 || s == 403 ? " (check the bearer token)" : "",
					 text[0] ? ": " : "", text);
		}
	}
	GsHttpEnd(req);
	ft->nentries = 0;
	ft->entries = NULL;
	return true;
}

static void
FhirAbort(void *state)
{
	FhirTarget *ft = (FhirTarget *) state;

	GsHttpEnd(&ft->req);
	ft->nentries = 0;
	ft->entries = NULL;
}

const GsDriver gs_fhir_driver = {
	.kind = "fhir",
	.validate = FhirValidate,
	.check_secret = FhirCheckSecret,
	.open = FhirOpen,
	.send = NULL,
	.verify = NULL,
	.close = FhirClose,
	.begin = FhirBegin,
	.poll = FhirPoll,
	.abort = FhirAbort,
};
