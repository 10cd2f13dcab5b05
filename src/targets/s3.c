/*-------------------------------------------------------------------------
 *
 * s3.c
 *	  The s3 target: every batch becomes one object per (table, IST date)
 *	  in an S3 bucket (AWS or any S3-compatible service), written with one
 *	  signed PUT each, idempotent by batch id.
 *
 * The object key is <prefix><table>/<YYYY>/<MM>/<DD>/<batch id>.<ext>, the
 * date being that of the event's captured_at in India Standard Time
 * (UTC+05:30): a resend of a batch writes the same keys again, so it
 * overwrites instead of duplicating.  Requests are signed by libcurl
 * (CURLOPT_AWS_SIGV4).  libcurl 7.88 signs the path as it is given and does
 * not send x-amz-content-sha256, so each key segment is percent-encoded
 * here and the header (hex SHA-256 of the body, then signed with the other
 * headers) is added here, with Content-MD5; a returned ETag that is a plain
 * MD5 must match the body's.
 *
 * The objects of a batch are built in begin() (in the target's batch
 * context) and PUT one after another from poll(); the batch succeeds once
 * all of them are there.  Nothing on the worker side ereports except
 * CHECK_FOR_INTERRUPTS (and palloc running out of memory); jansson values
 * are released right after each line is read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "common/base64.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"

#include "gsjson.h"
#include "httpcore.h"

#define S3_KIND "s3"
#define S3_OPTIONS "bucket, region, prefix, addressing, format, gzip, " GS_CONN_OPTIONS
#define S3_NO_CREDENTIALS "no credentials: set them with globalsync.set_target_secret()"

/* one object of a batch */
typedef struct S3Object
{
	char	   *key;			/* the object key, not encoded (messages) */
	char	   *url;			/* where it is PUT, the key percent-encoded */
	char	   *body;
	size_t		len;
	char		md5_hex[33];
	char		md5_b64[25];
	char		sha256_hex[65];
} S3Object;

/* the events of a batch that go to one object */
typedef struct S3Group
{
	char	   *table;
	int			year,
				month,
				day;
	int			nlines;
	int			cap;
	int		   *lines;			/* indexes into S3Target.line / line_len */
} S3Group;

typedef struct S3Target
{
	char	   *base;			/* "https://host[:port]" or "https://bucket.host[:port]" */
	char	   *bucket;
	bool		path_style;
	char	   *region;
	char	   *prefix;			/* "" or ending with "/" */
	bool		csv;
	bool		gzip;
	char	   *sigv4;			/* "aws:amz:<region>:s3" */
	GsHttpConn	conn;

	/* credentials (NULL key id: none usable) */
	char	   *key_id;
	char	   *secret_key;
	char	   *token;
	bool		bad_secret;		/* a secret is set but cannot be used */

	/* the batch under way, in batch_cxt */
	MemoryContext batch_cxt;
	const char *batch_id;
	S3Object   *objects;
	int			nobjects;
	int			current;		/* index of the object being PUT */
	char	   *what;			/* "PUT <url>" of the current object */

	GsHttpRequest req;
} S3Target;

/* ----------------------------------------------------------------
 * helpers shared by both sides
 * ---------------------------------------------------------------- */

/* S3 bucket naming rules (the general purpose bucket ones) */
static bool
ValidBucket(const char *b, int len)
{
	int			i;

	if (len < 3 || len > 63)
		return false;
	for (i = 0; i < len; i++)
	{
		char		c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
		if (c == '.' && i > 0 && (b[i - 1] == '.' || b[i - 1] == '-'))
			return false;
		if (c == '-' && i > 0 && b[i - 1] == '.')
			return false;
	}
	return isalnum((unsigned char) b[0]) && isalnum((unsigned char) b[len - 1]);
}

/* a dotted-quad or bracketed IPv6 host */
static bool
IsIpHost(const char *host)
{
	const char *p;

	if (host[0] == '[' || strchr(host, ':'))
		return true;
	for (p = host; *p; p++)
		if (!(isdigit((unsigned char) *p) || *p == '.'))
			return false;
	return true;
}

/* no control character (C0, DEL) */
static bool
Printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool
ValidKeyId(const char *s)
{
	size_t		n = strlen(s);
	size_t		i;

	if (n < 3 || n > 128)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char) s[i]))
			return false;
	return true;
}

/*
 * ParseSecret
 *		Read {"access_key_id", "secret_access_key", "session_token"} into
 *		palloc'd strings, or only check them if key_id is NULL.  Returns
 *		NULL if usable, else why not, in words that never quote the secret.
 */
static const char *
ParseSecret(const char *secret, char **key_id, char **secret_key, char **token)
{
	json_t	   *root;
	json_error_t jerr;
	const char *key;
	json_t	   *value;
	const char *why = NULL;
	const char *id = NULL,
			   *sk = NULL,
			   *tok = NULL;

	if (key_id)
		*key_id = *secret_key = *token = NULL;
	root = json_loads(secret, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return "It is not valid JSON.";
	if (!json_is_object(root))
	{
		json_decref(root);
		return "It is not a JSON object.";
	}
	json_object_foreach(root, key, value)
	{
		if (strcmp(key, "access_key_id") == 0 && json_is_string(value))
			id = json_string_value(value);
		else if (strcmp(key, "secret_access_key") == 0 && json_is_string(value))
			sk = json_string_value(value);
		else if (strcmp(key, "session_token") == 0 && json_is_string(value))
			tok = json_string_value(value);
		else if (strcmp(key, "access_key_id") == 0 || strcmp(key, "secret_access_key") == 0 ||
				 strcmp(key, "session_token") == 0)
			why = "Its values must be strings.";
		else
			why = "It has a key other than access_key_id, secret_access_key and session_token.";
		if (why)
			break;
	}
	if (why == NULL)
	{
		if (id == NULL)
			why = "It has no access_key_id.";
		else if (sk == NULL)
			why = "It has no secret_access_key.";
		else if (!ValidKeyId(id))
			why = "The access_key_id must be 3 to 128 letters and digits.";
		else if (sk[0] == '\0' || strlen(sk) > 256 || !Printable(sk))
			why = "The secret_access_key must be 1 to 256 bytes without control characters.";
		else if (tok && (tok[0] == '\0' || strlen(tok) > 8192 || !Printable(tok)))
			why = "The session_token, when given, must be 1 to 8192 bytes without control characters.";
	}
	if (why == NULL && key_id)
	{
		*key_id = pstrdup(id);
		*secret_key = pstrdup(sk);
		*token = tok ? pstrdup(tok) : NULL;
	}
	json_decref(root);
	return why;
}

/* ----------------------------------------------------------------
 * validation (SQL context)
 * ---------------------------------------------------------------- */

typedef struct S3Options
{
	char	   *bucket;
	bool		is_virtual;
	bool		addressing_set;
} S3Options;

static void
S3Option(const char *key, JsonbValue *v, void *arg)
{
	S3Options  *o = (S3Options *) arg;

	if (strcmp(key, "bucket") == 0)
	{
		if (v->type != jbvString || !ValidBucket(v->val.string.val, v->val.string.len))
			GsOptionError(S3_KIND, key,
						  "A bucket name is 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, without \"..\", \".-\" or \"-.\".");
		o->bucket = pnstrdup(v->val.string.val, v->val.string.len);
	}
	else if (strcmp(key, "region") == 0)
	{
		int			i;

		if (v->type != jbvString || v->val.string.len == 0 || v->val.string.len > 32)
			GsOptionError(S3_KIND, key, "It must be a region name such as \"eu-west-1\" (1 to 32 lower-case letters, digits and hyphens).");
		for (i = 0; i < v->val.string.len; i++)
		{
			char		c = v->val.string.val[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				GsOptionError(S3_KIND, key, "It must be a region name such as \"eu-west-1\" (1 to 32 lower-case letters, digits and hyphens).");
		}
	}
	else if (strcmp(key, "prefix") == 0)
	{
		const char *p;
		int			len;
		char	   *s;

		if (v->type != jbvString)
			GsOptionError(S3_KIND, key, "It must be a string.");
		p = v->val.string.val;
		len = v->val.string.len;
		if (len > 512)
			GsOptionError(S3_KIND, key, "It must be at most 512 bytes long.");
		s = pnstrdup(p, len);
		if (strlen(s) != (size_t) len || !Printable(s))
			GsOptionError(S3_KIND, key, "It must not contain control characters.");
		if (len > 0 && s[0] == '/')
			GsOptionError(S3_KIND, key, "It must not start with \"/\".");
		if (strstr(s, "//"))
			GsOptionError(S3_KIND, key, "It must not contain \"//\".");
		if (strstr(s, ".."))
			GsOptionError(S3_KIND, key, "It must not contain \"..\".");
	}
	else if (strcmp(key, "addressing") == 0)
	{
		if (v->type != jbvString ||
			!((v->val.string.len == 7 && strncmp(v->val.string.val, "virtual", 7) == 0) ||
			  (v->val.string.len == 4 && strncmp(v->val.string.val, "path", 4) == 0)))
			GsOptionError(S3_KIND, key, "It is \"virtual\" (https://BUCKET.host/KEY, the default) or \"path\" (https://host/BUCKET/KEY).");
		o->is_virtual = v->val.string.len == 7;
		o->addressing_set = true;
	}
	else if (strcmp(key, "format") == 0)
	{
		if (v->type != jbvString ||
			!((v->val.string.len == 6 && strncmp(v->val.string.val, "ndjson", 6) == 0) ||
			  (v->val.string.len == 3 && strncmp(v->val.string.val, "csv", 3) == 0)))
			GsOptionError(S3_KIND, key, "It is \"ndjson\" (one event per line, the default) or \"csv\" (a header row, then one row per event).");
	}
	else if (strcmp(key, "gzip") == 0)
		(void) GsBoolOption(S3_KIND, v, key);
	else if (!GsConnOption(S3_KIND, key, v))
		GsUnknownOption(S3_KIND, key, S3_OPTIONS);
}

static void
S3Validate(const char *endpoint, Jsonb *options)
{
	S3Options	o = {NULL, true, false};
	char	   *host;
	CURLU	   *u;
	char	   *path = NULL;
	char	   *query = NULL;
	char	   *fragment = NULL;
	char	   *scheme = NULL;
	bool		extra;
	bool		https;

	host = GsCheckEndpoint(S3_KIND, endpoint, "https://s3.eu-west-1.amazonaws.com");
	u = curl_url();
	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	(void) curl_url_set(u, CURLUPART_URL, endpoint, CURLU_NON_SUPPORT_SCHEME);
	(void) curl_url_get(u, CURLUPART_PATH, &path, 0);
	extra = (path != NULL && strcmp(path, "/") != 0 && path[0] != '\0') ||
		curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
		curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK ||
		strchr(endpoint, '?') != NULL || strchr(endpoint, '#') != NULL;
	https = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		pg_strcasecmp(scheme, "https") == 0;
	curl_free(path);
	curl_free(query);
	curl_free(fragment);
	curl_free(scheme);
	curl_url_cleanup(u);
	if (extra)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint for an s3 target"),
				 errdetail("The endpoint of an s3 target is the URL of the S3 service, without a path, query or fragment."),
				 errhint("Use for example 'https://s3.eu-west-1.amazonaws.com', and give the bucket and key prefix in the options bucket and prefix.")));

	GsForEachOption(options, S3Option, &o);
	if (o.bucket == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"bucket\" is required for an s3 target"),
				 errdetail("An s3 target writes its objects into one bucket."),
				 errhint("Add for example '{\"bucket\": \"my-exports\"}' to the options.")));
	if (o.is_virtual)
	{
		if (IsIpHost(host))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("virtual-hosted addressing needs a host name, not the IP address \"%s\"", host),
					 errdetail("With addressing \"virtual\"%s, the bucket is put in front of the endpoint's host name.",
							   o.addressing_set ? "" : " (the default)"),
					 errhint("Add '{\"addressing\": \"path\"}' to the options.")));
		if (https && strchr(o.bucket, '.'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("virtual-hosted addressing cannot be used over https with the bucket \"%s\"", o.bucket),
					 errdetail("The name has dots: BUCKET.host would not match the service's wildcard TLS certificate."),
					 errhint("Add '{\"addressing\": \"path\"}' to the options.")));
		if (!GsHostAllowed(psprintf("%s.%s", o.bucket, host)))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("host \"%s.%s\" is not in globalsync.allowed_hosts", o.bucket, host),
					 errdetail("With addressing \"virtual\", requests go to the bucket's own host name."),
					 errhint("A superuser can add it (or \".%s\") to globalsync.allowed_hosts, or use addressing \"path\".", host)));
	}
}

/* set_target_secret(): the JSON object of the credentials, never shown */
static void
S3CheckSecret(const char *secret)
{
	const char *why = ParseSecret(secret, NULL, NULL, NULL);

	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid s3 secret"),
				 errdetail("The secret of an s3 target is a JSON object with access_key_id, secret_access_key and optionally session_token. %s", why),
				 errhint("Pass it as a bind parameter, for example: SELECT globalsync.set_target_secret($1, $2) with $2 = '{\"access_key_id\": \"AKIA...\", \"secret_access_key\": \"...\"}'.")));
}

/* ----------------------------------------------------------------
 * the worker side
 * ---------------------------------------------------------------- */

static void *
S3Open(const char *target_id, const char *endpoint, Jsonb *options,
	   const char *secret, MemoryContext cxt)
{
	S3Target   *st = MemoryContextAllocZero(cxt, sizeof(S3Target));
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CURLU	   *u;
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *port = NULL;
	char	   *addressing;
	char	   *format;
	char	   *prefix;
	StringInfoData buf;

	GsHttpEnsureCurl();
	st->bucket = GsJsonbString(options, "bucket", cxt);
	if (st->bucket == NULL)
		st->bucket = pstrdup("");	/* validated: cannot happen */
	st->region = GsJsonbString(options, "region", cxt);
	if (st->region == NULL)
		st->region = pstrdup("us-east-1");
	addressing = GsJsonbString(options, "addressing", cxt);
	st->path_style = addressing && strcmp(addressing, "path") == 0;
	format = GsJsonbString(options, "format", cxt);
	st->csv = format && strcmp(format, "csv") == 0;
	st->gzip = GsJsonbBool(options, "gzip", false);
	prefix = GsJsonbString(options, "prefix", cxt);
	if (prefix == NULL || prefix[0] == '\0')
		st->prefix = pstrdup("");
	else if (prefix[strlen(prefix) - 1] == '/')
		st->prefix = prefix;
	else
		st->prefix = psprintf("%s/", prefix);
	st->sigv4 = psprintf("aws:amz:%s:s3", st->region);
	GsHttpConnFromOptions(&st->conn, options, cxt);

	/* scheme://[bucket.]host[:port], from the validated endpoint */
	initStringInfo(&buf);
	u = curl_url();
	if (u && curl_url_set(u, CURLUPART_URL, endpoint, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
	{
		(void) curl_url_get(u, CURLUPART_PORT, &port, 0);
		appendStringInfo(&buf, "%s://", scheme);
		if (!st->path_style)
			appendStringInfo(&buf, "%s.", st->bucket);
		appendStringInfoString(&buf, host);
		if (port)
			appendStringInfo(&buf, ":%s", port);
	}
	else
		appendStringInfoString(&buf, endpoint); /* fails on send, says where */
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	if (u)
		curl_url_cleanup(u);
	st->base = buf.data;

	if (secret)
		st->bad_secret = ParseSecret(secret, &st->key_id, &st->secret_key, &st->token) != NULL;
	MemoryContextSwitchTo(old);

	st->batch_cxt = AllocSetContextCreate(cxt, "globalsync s3 batch", ALLOCSET_DEFAULT_SIZES);
	GsHttpInit(&st->req, cxt);
	return st;
}

static void
S3Close(void *state)
{
	S3Target   *st = (S3Target *) state;

	GsHttpEnd(&st->req);
	MemoryContextReset(st->batch_cxt);
	if (st->secret_key)
		explicit_bzero(st->secret_key, strlen(st->secret_key));
	if (st->token)
		explicit_bzero(st->token, strlen(st->token));
}

static bool
Digits(const char *s, int n, int *out)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * IstDate
 *		The date in India Standard Time (UTC+05:30) of an ISO 8601 time with
 *		a UTC offset ("2024-05-01T23:10:00.123+00:00", "...Z", "...+05",
 *		"...-04:56:02").  False if s does not have that shape.
 */
static bool
IstDate(const char *s, int *year, int *month, int *day)
{
	int			y,
				mo,
				d,
				h,
				mi,
				sec;
	int			oh = 0,
				om = 0,
				os = 0;
	int			sign;
	const char *p;
	int64		t;

	if (strlen(s) < 20 ||
		!Digits(s, 4, &y) || s[4] != '-' || !Digits(s + 5, 2, &mo) || s[7] != '-' ||
		!Digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
		!Digits(s + 11, 2, &h) || s[13] != ':' || !Digits(s + 14, 2, &mi) || s[16] != ':' ||
		!Digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
		return false;
	p = s + 19;
	if (*p == '.')
		for (p++; isdigit((unsigned char) *p); p++)
			;
	if (*p == 'Z' && p[1] == '\0')
		sign = 0;
	else if (*p == '+' || *p == '-')
	{
		sign = *p == '+' ? 1 : -1;
		p++;
		if (!Digits(p, 2, &oh))
			return false;
		p += 2;
		if (*p == ':' && Digits(p + 1, 2, &om))
		{
			p += 3;
			if (*p == ':' && Digits(p + 1, 2, &os))
				p += 3;
		}
		if (*p != '\0')
			return false;
	}
	else
		return false;
	/* seconds since 1970-01-01 00:00 IST; then its (Julian) day */
	t = (int64) (date2j(y, mo, d) - UNIX_EPOCH_JDATE) * SECS_PER_DAY + h * 3600 + mi * 60 + sec;
	t -= (int64) sign * (oh * 3600 + om * 60 + os);
	t += 5 * 3600 + 30 * 60;
	j2date((int) ((t >= 0 ? t / SECS_PER_DAY : -((-t + SECS_PER_DAY - 1) / SECS_PER_DAY)) + UNIX_EPOCH_JDATE),
		   year, month, day);
	return true;
}

/* ----------------------------------------------------------------
 * members of an event line with decoded keys (the spans: gsjson.c)
 * ---------------------------------------------------------------- */

typedef void (*MemberFn) (const char *key, const char *v, const char *vend, void *arg);

typedef struct DecodedMembers
{
	MemberFn	fn;
	void	   *arg;
	bool		bad;			/* a key jansson could not decode */
} DecodedMembers;

static bool
DecodeKey(const char *raw, size_t rawlen, const char *v, const char *vend, void *arg)
{
	DecodedMembers *dm = (DecodedMembers *) arg;
	json_t	   *k = NULL;
	char		plain[128];
	const char *key;

	if (rawlen < sizeof(plain) && memchr(raw, '\\', rawlen) == NULL)
	{
		/* the common case: no escapes, the text is the key */
		memcpy(plain, raw, rawlen);
		plain[rawlen] = '\0';
		key = plain;
	}
	else
	{
		/* the key with its quotes, decoded by jansson */
		k = json_loadb(raw - 1, rawlen + 2, JSON_DECODE_ANY, NULL);
		if (k == NULL || !json_is_string(k))
		{
			json_decref(k);
			dm->bad = true;
			return false;
		}
		key = json_string_value(k);
	}
	dm->fn(key, v, vend, dm->arg);
	json_decref(k);
	return true;
}

/*
 * ForEachMember
 *		Call fn for every member of the JSON object starting at p: its key
 *		decoded (jansson), its value as the raw span [v, vend).
 */
static bool
ForEachMember(const char *p, const char *end, MemberFn fn, void *arg)
{
	DecodedMembers dm = {fn, arg, false};

	return GsJsonForEachMember(p, end, DecodeKey, &dm) && !dm.bad;
}

/* ----------------------------------------------------------------
 * building the objects of a batch
 * ---------------------------------------------------------------- */

typedef struct CsvColumns
{
	int			n;
	int			cap;
	char	  **names;
	const char **v;				/* value spans of the current event */
	const char **vend;
} CsvColumns;

static int
ColumnIndex(CsvColumns *cols, const char *name)
{
	int			i;

	for (i = 0; i < cols->n; i++)
		if (strcmp(cols->names[i], name) == 0)
			return i;
	return -1;
}

static void
CollectColumn(const char *key, const char *v, const char *vend, void *arg)
{
	CsvColumns *cols = (CsvColumns *) arg;

	if (ColumnIndex(cols, key) >= 0)
		return;
	if (cols->n == cols->cap)
	{
		cols->cap *= 2;
		cols->names = repalloc(cols->names, sizeof(char *) * cols->cap);
	}
	cols->names[cols->n++] = pstrdup(key);
}

static void
FillColumn(const char *key, const char *v, const char *vend, void *arg)
{
	CsvColumns *cols = (CsvColumns *) arg;
	int			i = ColumnIndex(cols, key);

	if (i >= 0)
	{
		cols->v[i] = v;
		cols->vend[i] = vend;
	}
}

/* the event's "row" (or "pk" when row is null) and other top-level spans */
typedef struct EventSpans
{
	const char *row,
			   *row_end;
	const char *pk,
			   *pk_end;
	const char *fixed[5],
			   *fixed_end[5];	/* event_id, op, captured_at, facility_id,
								 * batch_id */
} EventSpans;

static const char *const fixed_columns[5] = {"event_id", "op", "captured_at", "facility_id", "batch_id"};

static void
TopMember(const char *key, const char *v, const char *vend, void *arg)
{
	EventSpans *es = (EventSpans *) arg;
	int			i;

	if (strcmp(key, "row") == 0)
		es->row = v, es->row_end = vend;
	else if (strcmp(key, "pk") == 0)
		es->pk = v, es->pk_end = vend;
	else
		for (i = 0; i < 5; i++)
			if (strcmp(key, fixed_columns[i]) == 0)
				es->fixed[i] = v, es->fixed_end[i] = vend;
}

/* the columns of an event: its row, or its primary key when it has no row */
static void
EventColumns(const char *line, size_t len, EventSpans *es)
{
	memset(es, 0, sizeof(*es));
	(void) ForEachMember(line, line + len, TopMember, es);
	if (es->row && *es->row != '{')
		es->row = NULL;
	if (es->pk && *es->pk != '{')
		es->pk = NULL;
}

static void
CsvField(StringInfo out, const char *s, size_t len)
{
	bool		quote = false;
	size_t		i;

	for (i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote)
	{
		appendBinaryStringInfo(out, s, len);
		return;
	}
	appendStringInfoChar(out, '"');
	for (i = 0; i < len; i++)
	{
		if (s[i] == '"')
			appendStringInfoChar(out, '"');
		appendStringInfoChar(out, s[i]);
	}
	appendStringInfoChar(out, '"');
}

/* one JSON value as a CSV field: strings decoded, null empty, the rest raw */
static void
CsvValue(StringInfo out, const char *v, const char *vend)
{
	if (v == NULL || v >= vend || (vend - v == 4 && strncmp(v, "null", 4) == 0))
		return;
	if (*v == '"' && memchr(v, '\\', vend - v) == NULL)
		CsvField(out, v + 1, vend - v - 2); /* no escapes: the text is the string */
	else if (*v == '"')
	{
		json_t	   *s = json_loadb(v, vend - v, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		if (s && json_is_string(s))
			CsvField(out, json_string_value(s), json_string_length(s));
		json_decref(s);
	}
	else
		CsvField(out, v, vend - v);
}

/* RFC 4180, CRLF line ends, a header row first */
static void
BuildCsv(S3Target *st, const S3Group *g, const char *const *line, const size_t *line_len,
		 StringInfo out)
{
	CsvColumns	cols;
	EventSpans	es;
	int			i,
				j;

	cols.n = 0;
	cols.cap = 16;
	cols.names = palloc(sizeof(char *) * cols.cap);
	for (i = 0; i < g->nlines; i++)
	{
		EventColumns(line[g->lines[i]], line_len[g->lines[i]], &es);
		if (es.row)
			(void) ForEachMember(es.row, es.row_end, CollectColumn, &cols);
		else if (es.pk)
			(void) ForEachMember(es.pk, es.pk_end, CollectColumn, &cols);
	}
	cols.v = palloc(sizeof(char *) * Max(cols.n, 1));
	cols.vend = palloc(sizeof(char *) * Max(cols.n, 1));

	for (j = 0; j < 5; j++)
	{
		if (j > 0)
			appendStringInfoChar(out, ',');
		CsvField(out, fixed_columns[j], strlen(fixed_columns[j]));
	}
	for (j = 0; j < cols.n; j++)
	{
		appendStringInfoChar(out, ',');
		CsvField(out, cols.names[j], strlen(cols.names[j]));
	}
	appendStringInfoString(out, "\r\n");

	for (i = 0; i < g->nlines; i++)
	{
		CHECK_FOR_INTERRUPTS();
		EventColumns(line[g->lines[i]], line_len[g->lines[i]], &es);
		memset(cols.v, 0, sizeof(char *) * Max(cols.n, 1));
		memset(cols.vend, 0, sizeof(char *) * Max(cols.n, 1));
		if (es.row)
			(void) ForEachMember(es.row, es.row_end, FillColumn, &cols);
		else if (es.pk)
			(void) ForEachMember(es.pk, es.pk_end, FillColumn, &cols);
		for (j = 0; j < 5; j++)
		{
			if (j > 0)
				appendStringInfoChar(out, ',');
			CsvValue(out, es.fixed[j], es.fixed_end[j]);
		}
		for (j = 0; j < cols.n; j++)
		{
			appendStringInfoChar(out, ',');
			CsvValue(out, cols.v[j], cols.vend[j]);
		}
		appendStringInfoString(out, "\r\n");
	}
}

static void
Digest(const char *name, const char *data, size_t len, unsigned char *md, unsigned int *mdlen)
{
	const EVP_MD *type = EVP_get_digestbyname(name);

	if (type == NULL || !EVP_Digest(data, len, md, mdlen, type, NULL))
		*mdlen = 0;
}

/*
 * MakeObject
 *		The key, URL, body and digests of one group's object.  False with
 *		error filled if a digest cannot be computed.
 */
static bool
MakeObject(S3Target *st, const S3Group *g, const char *const *line, const size_t *line_len,
		   S3Object *obj, char *error, size_t errlen)
{
	StringInfoData key;
	StringInfoData url;
	StringInfoData body;
	char		date[16];
	const char *ext = st->csv ? "csv" : "ndjson";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int			i,
				n;

	snprintf(date, sizeof(date), "%04d/%02d/%02d", g->year, g->month, g->day);
	initStringInfo(&key);
	appendStringInfo(&key, "%s%s/%s/%s.%s%s", st->prefix, g->table, date, st->batch_id, ext,
					 st->gzip ? ".gz" : "");
	obj->key = key.data;

	initStringInfo(&url);
	appendStringInfoString(&url, st->base);
	appendStringInfoChar(&url, '/');
	if (st->path_style)
		appendStringInfo(&url, "%s/", st->bucket);
	GsAppendPercentEncoded(&url, st->prefix, strlen(st->prefix), "/");
	GsAppendPercentEncoded(&url, g->table, strlen(g->table), "");
	appendStringInfo(&url, "/%s/", date);
	GsAppendPercentEncoded(&url, st->batch_id, strlen(st->batch_id), "");
	appendStringInfo(&url, ".%s%s", ext, st->gzip ? ".gz" : "");
	obj->url = url.data;

	initStringInfo(&body);
	if (st->csv)
		BuildCsv(st, g, line, line_len, &body);
	else
		for (i = 0; i < g->nlines; i++)
		{
			appendBinaryStringInfo(&body, line[g->lines[i]], line_len[g->lines[i]]);
			appendStringInfoChar(&body, '\n');
		}
	if (st->gzip)
	{
		StringInfoData zipped;

		initStringInfo(&zipped);
		if (!GsGzip(body.data, body.len, &zipped))
		{
			snprintf(error, errlen, "could not gzip the object %s", obj->key);
			return false;
		}
		pfree(body.data);
		body = zipped;
	}
	obj->body = body.data;
	obj->len = body.len;

	Digest("MD5", obj->body, obj->len, md, &mdlen);
	if (mdlen != 16)
	{
		snprintf(error, errlen, "could not compute the MD5 of the object %s", obj->key);
		return false;
	}
	obj->md5_hex[hex_encode((const char *) md, mdlen, obj->md5_hex)] = '\0';
	n = pg_b64_encode((const char *) md, mdlen, obj->md5_b64, sizeof(obj->md5_b64) - 1);
	if (n < 0)
	{
		snprintf(error, errlen, "could not encode the MD5 of the object %s", obj->key);
		return false;
	}
	obj->md5_b64[n] = '\0';
	Digest("SHA256", obj->body, obj->len, md, &mdlen);
	if (mdlen != 32)
	{
		snprintf(error, errlen, "could not compute the SHA-256 of the object %s", obj->key);
		return false;
	}
	obj->sha256_hex[hex_encode((const char *) md, mdlen, obj->sha256_hex)] = '\0';
	return true;
}

/*
 * BuildObjects
 *		Group the batch's events by (table, IST date of captured_at), in the
 *		order of first appearance, and make one object of each group.  False
 *		with error filled if a line cannot be read (the batch is then
 *		refused for good) or an object cannot be made.
 */
static bool
BuildObjects(S3Target *st, const GsBatch *batch, GsSendResult *result)
{
	GsLines		lines;
	const char *p;
	size_t		len;
	int			nlines = 0;
	int			cap = 64;
	const char **line = palloc(sizeof(char *) * cap);
	size_t	   *line_len = palloc(sizeof(size_t) * cap);
	S3Group    *groups = NULL;
	int			ngroups = 0;
	int			gcap = 0;
	int			last = -1;
	int			i;

	GsLinesInit(&lines, batch->payload, batch->len);
	while (GsNextLine(&lines, &p, &len))
	{
		json_t	   *ev;
		json_error_t jerr;
		json_t	   *table;
		json_t	   *captured;
		int			y,
					m,
					d;
		bool		dated;
		int			g;

		CHECK_FOR_INTERRUPTS();
		ev = json_loadb(p, len, 0, &jerr);
		if (ev == NULL && json_error_code(&jerr) == json_error_numeric_overflow)
			ev = json_loadb(p, len, JSON_DECODE_INT_AS_REAL, &jerr);
		if (ev == NULL || !json_is_object(ev))
		{
			result->status = GS_SEND_PERMANENT;
			snprintf(result->error, sizeof(result->error),
					 "event %d of batch %s is not a JSON object (%s column %d): not sent",
					 lines.lineno, batch->batch_id, ev ? "not an object," : "invalid JSON at",
					 ev ? 1 : jerr.column);
			json_decref(ev);
			return false;
		}
		table = json_object_get(ev, "table");
		captured = json_object_get(ev, "captured_at");
		if (!json_is_string(table) || json_string_length(table) == 0 ||
			strlen(json_string_value(table)) != json_string_length(table))
		{
			json_decref(ev);
			result->status = GS_SEND_PERMANENT;
			snprintf(result->error, sizeof(result->error),
					 "event %d of batch %s has no table: not sent", lines.lineno, batch->batch_id);
			return false;
		}
		dated = json_is_string(captured) && IstDate(json_string_value(captured), &y, &m, &d);
		if (!dated)
		{
			json_decref(ev);
			result->status = GS_SEND_PERMANENT;
			snprintf(result->error, sizeof(result->error),
					 "event %d of batch %s has no captured_at in ISO 8601 with a UTC offset: not sent",
					 lines.lineno, batch->batch_id);
			return false;
		}

		/* its group: usually the one of the previous event */
		g = -1;
		if (last >= 0 && groups[last].year == y && groups[last].month == m && groups[last].day == d &&
			strcmp(groups[last].table, json_string_value(table)) == 0)
			g = last;
		for (i = 0; g < 0 && i < ngroups; i++)
			if (groups[i].year == y && groups[i].month == m && groups[i].day == d &&
				strcmp(groups[i].table, json_string_value(table)) == 0)
				g = i;
		if (g < 0)
		{
			if (ngroups == gcap)
			{
				gcap = gcap ? gcap * 2 : 8;
				groups = groups ? repalloc(groups, sizeof(S3Group) * gcap)
					: palloc(sizeof(S3Group) * gcap);
			}
			g = ngroups++;
			groups[g].table = pstrdup(json_string_value(table));
			groups[g].year = y;
			groups[g].month = m;
			groups[g].day = d;
			groups[g].nlines = 0;
			groups[g].cap = 16;
			groups[g].lines = palloc(sizeof(int) * 16);
		}
		json_decref(ev);
		last = g;

		if (nlines == cap)
		{
			cap *= 2;
			line = repalloc(line, sizeof(char *) * cap);
			line_len = repalloc(line_len, sizeof(size_t) * cap);
		}
		line[nlines] = p;
		line_len[nlines] = len;
		if (groups[g].nlines == groups[g].cap)
		{
			groups[g].cap *= 2;
			groups[g].lines = repalloc(groups[g].lines, sizeof(int) * groups[g].cap);
		}
		groups[g].lines[groups[g].nlines++] = nlines;
		nlines++;
	}

	st->objects = palloc0(sizeof(S3Object) * Max(ngroups, 1));
	st->nobjects = ngroups;
	for (i = 0; i < ngroups; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!MakeObject(st, &groups[i], line, line_len, &st->objects[i],
						result->error, sizeof(result->error)))
		{
			result->status = GS_SEND_RETRY;
			return false;
		}
	}
	return true;
}

/* ----------------------------------------------------------------
 * requests
 * ---------------------------------------------------------------- */

/* Start the PUT of st->objects[st->current].  False with result filled. */
static bool
StartPut(S3Target *st, GsSendResult *result)
{
	S3Object   *obj = &st->objects[st->current];
	struct curl_slist *hdrs = NULL;
	MemoryContext old = MemoryContextSwitchTo(st->batch_cxt);

	st->what = psprintf("PUT %s", GsSafeUrl(obj->url, st->batch_cxt));
	MemoryContextSwitchTo(old);
	if (!(GsHeaderAdd(&hdrs, "Content-Type: %s",
					  st->gzip ? "application/gzip" :
					  st->csv ? "text/csv; charset=utf-8" : "application/x-ndjson") &&
		  GsHeaderAdd(&hdrs, "Content-MD5: %s", obj->md5_b64) &&
		  GsHeaderAdd(&hdrs, "x-amz-content-sha256: %s", obj->sha256_hex) &&
		  (st->token == NULL || GsHeaderAdd(&hdrs, "x-amz-security-token: %s", st->token))))
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "could not create an HTTP request (out of memory)");
		return false;
	}
	/* never an empty "Expect:": libcurl 7.88 would sign it */
	if (!GsHttpPrepare(&st->req, &st->conn, "PUT", obj->url, hdrs, obj->body, obj->len,
					   4096, result->error, sizeof(result->error)))
	{
		GsHttpEnd(&st->req);
		result->status = GS_SEND_RETRY;
		return false;
	}
	curl_easy_setopt(st->req.easy, CURLOPT_AWS_SIGV4, st->sigv4);
	/*
	 * What CURLOPT_USERPWD "id:secret" would set, in two options: a secret
	 * of an S3-compatible service may itself contain ':'.
	 */
	curl_easy_setopt(st->req.easy, CURLOPT_USERNAME, st->key_id);
	curl_easy_setopt(st->req.easy, CURLOPT_PASSWORD, st->secret_key);
	if (!GsHttpGo(&st->req, result->error, sizeof(result->error)))
	{
		GsHttpEnd(&st->req);
		result->status = GS_SEND_RETRY;
		return false;
	}
	return true;
}

/* the text between <tag> and </tag> in an S3 error document, or "" */
static void
XmlElement(const char *xml, const char *tag, char *out, size_t outsize)
{
	char		open[32];
	char		close[32];
	const char *s;
	const char *e;

	out[0] = '\0';
	if (xml == NULL)
		return;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	s = strstr(xml, open);
	if (s == NULL)
		return;
	s += strlen(open);
	e = strstr(s, close);
	if (e == NULL)
		return;
	GsPrintable(s, e - s, out, outsize);
}

/* 400 error codes that say nothing about the data: retry them */
static bool
TransientCode(const char *code)
{
	static const char *const codes[] = {
		"BadDigest", "RequestTimeTooSkewed", "ExpiredToken", "InvalidToken",
		"AuthorizationHeaderMalformed", "XAmzContentSHA256Mismatch",
		"RequestTimeout", "IncompleteBody", "TokenRefreshRequired"
	};
	int			i;

	for (i = 0; i < lengthof(codes); i++)
		if (strcmp(code, codes[i]) == 0)
			return true;
	return false;
}

/*
 * Classify
 *		Read the answer to the PUT of the current object.
 */
static void
Classify(S3Target *st, GsSendResult *result)
{
	GsHttpRequest *req = &st->req;
	S3Object   *obj = &st->objects[st->current];
	long		status = req->status;
	char		code[64];
	char		message[256];

	/* transport errors, Retry-After, the generic texts */
	GsHttpClassify(req, st->what, result);
	if (req->cc != CURLE_OK || (req->easy == NULL && !req->done))
		return;
	if (status >= 200 && status < 300)
	{
		const char *e = req->etag;
		size_t		n = strlen(e);

		/* a plain MD5 ETag ("<32 hex>") must be the body's; others (SSE-KMS, multipart) are opaque */
		if (n == 34 && e[0] == '"' && e[33] == '"' && strspn(e + 1, "0123456789abcdefABCDEF") == 32 &&
			pg_strncasecmp(e + 1, obj->md5_hex, 32) != 0)
		{
			result->status = GS_SEND_RETRY;
			snprintf(result->error, sizeof(result->error),
					 "%s answered %ld with ETag %s but the MD5 of the body is %s: ETag mismatch: the object may be corrupted",
					 st->what, status, e, obj->md5_hex);
			return;
		}
		result->status = GS_SEND_OK;
		return;
	}

	XmlElement(req->body, "Code", code, sizeof(code));
	XmlElement(req->body, "Message", message, sizeof(message));
	if (status == 401 || status == 403 || status == 404 || status == 408 || status == 429 ||
		status >= 500 || (status >= 300 && status < 400) ||
		(status == 400 && TransientCode(code)))
		result->status = GS_SEND_RETRY;
	else
		result->status = GS_SEND_PERMANENT;
	if (code[0])
		snprintf(result->error, sizeof(result->error), "%s answered %ld %s%s%s",
				 st->what, status, code, message[0] ? ": " : "", message);
	/* else GsHttpClassify's text, with the start of the body */
}

/* the objects of a batch, then the first PUT */
static bool
S3Begin(void *state, const GsBatch *batch, GsSendResult *result)
{
	S3Target   *st = (S3Target *) state;
	MemoryContext old;
	bool		ok;

	GsHttpEnd(&st->req);
	MemoryContextReset(st->batch_cxt);
	st->objects = NULL;
	st->nobjects = 0;
	st->current = 0;
	memset(result, 0, sizeof(*result));

	if (st->key_id == NULL)
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "%s",
				 st->bad_secret
				 ? "the secret of this target is not usable: set it again with globalsync.set_target_secret()"
				 : S3_NO_CREDENTIALS);
		return false;
	}

	old = MemoryContextSwitchTo(st->batch_cxt);
	st->batch_id = pstrdup(batch->batch_id);
	ok = BuildObjects(st, batch, result);
	MemoryContextSwitchTo(old);
	if (!ok)
		return false;
	if (st->nobjects == 0)
	{
		result->status = GS_SEND_OK;
		return false;
	}
	return StartPut(st, result);
}

/* the answer to the current PUT; the next PUT if it went well */
static bool
S3Poll(void *state, GsSendResult *result)
{
	S3Target   *st = (S3Target *) state;

	if (!GsHttpPoll(&st->req))
		return false;
	Classify(st, result);
	GsHttpEnd(&st->req);
	if (result->status != GS_SEND_OK)
		return true;
	if (++st->current >= st->nobjects)
		return true;
	memset(result, 0, sizeof(*result));
	if (!StartPut(st, result))
		return true;
	return false;
}

static void
S3Abort(void *state)
{
	S3Target   *st = (S3Target *) state;

	GsHttpEnd(&st->req);
	MemoryContextReset(st->batch_cxt);
	st->objects = NULL;
	st->nobjects = 0;
}

const GsDriver gs_s3_driver = {
	.kind = S3_KIND,
	.validate = S3Validate,
	.check_secret = S3CheckSecret,
	.open = S3Open,
	.send = NULL,
	.begin = S3Begin,
	.poll = S3Poll,
	.abort = S3Abort,
	.verify = NULL,
	.close = S3Close,
};
