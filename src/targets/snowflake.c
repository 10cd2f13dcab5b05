/*-------------------------------------------------------------------------
 *
 * snowflake.c
 *	  The Snowflake target: the events of a batch are loaded into one table
 *	  through the Snowflake SQL API v2, authenticated by a key-pair JWT.
 *
 * A batch becomes one or more MERGE statements (rows_per_statement events
 * each), sent one after another from poll():
 *
 *	  POST <account URL>/api/v2/statements?requestId=<uuid>[&retry=true]
 *
 * with the events as bound values.  The MERGE inserts the rows whose
 * event_key the table does not hold yet (WHEN NOT MATCHED only), so a
 * resend of a batch, after a crash or a lost answer, cannot duplicate a
 * row.  The requestId is derived from the batch id, the statement's index
 * and its body: the same statement of the same batch always carries the
 * same requestId, and a resend (a second attempt, or after a 401) says
 * retry=true so that Snowflake answers with the result of the first run
 * instead of running the statement again.  A 202 answer means "still
 * running": the statement is polled with GET /api/v2/statements/<handle>
 * after poll_interval_ms, doubling up to 5 s, on a timer of our own
 * (GsHttpWakeAt).
 *
 * Authentication: an RS256 JWT signed with the target's RSA private key
 * (the secret, PEM), iss = ACCOUNT.USER.SHA256:<fingerprint of the public
 * key>, sub = ACCOUNT.USER, valid for one hour.  The token is cached in the
 * target's state, renewed when less than 5 minutes remain, and once when
 * Snowflake answers 401.
 *
 * The event lines are parsed with jansson; the pk, row and old objects are
 * bound as the very text of the line (PARSE_JSON at Snowflake), so that
 * numbers keep every digit jsonb gave them.
 *
 * Nothing on the worker side ereports (except CHECK_FOR_INTERRUPTS);
 * OpenSSL and jansson objects are freed on every path.  The private key is
 * held as an EVP_PKEY only (freed, and so cleared, at close).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/base64.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "gsjson.h"
#include "httpcore.h"

#define SF_KIND "snowflake"
#define SF_TAKES "account, user, table, database, schema, warehouse, role, " \
	"statement_timeout_s, rows_per_statement, poll_interval_ms, " GS_CONN_OPTIONS
#define SF_EXAMPLE "https://xy12345.eu-west-1.snowflakecomputing.com"

#define SF_BINDS_PER_ROW	9	/* event_key ... captured_at */
#define SF_BINDS_FIXED		2	/* batch_id, target_id: once per statement */
#define SF_MAX_ROWS			1500	/* 2 + 1500 * 9 = 13,502 < 16,384 bindings */
#define SF_MAX_POLL_MS		5000
#define SF_JWT_LIFETIME_S	3600
#define SF_JWT_RENEW_S		300
#define SF_ANSWER_MAX		(256 * 1024)
#define SF_NO_KEY_ERROR "no private key: set it with globalsync.set_target_secret()"

/* the columns of the target table, in the order of the INSERT */
static const char *const sf_columns[] = {
	"event_key", "batch_id", "target_id", "event_id", "table_name", "op",
	"pk", "row_data", "old_data", "facility_id", "captured_at"
};

/* one event of a batch, as bound; NULL is SQL NULL */
typedef struct SfEvent
{
	char	   *key;			/* event_key */
	char	   *event_id;		/* digits */
	char	   *table;
	char	   *op;
	char	   *pk;				/* JSON text */
	char	   *row;
	char	   *old;
	char	   *facility;
	char	   *captured;
} SfEvent;

typedef enum SfPhase
{
	SF_IDLE,					/* no batch under way */
	SF_POST,					/* a statement is being sent */
	SF_WAIT,					/* it runs (202): waiting to poll it */
	SF_GET						/* polling it */
} SfPhase;

typedef struct SfTarget
{
	MemoryContext cxt;
	char	   *base;			/* the account URL, without a trailing slash */
	char	   *safe_base;		/* the same for messages */
	char	   *iss_prefix;		/* "ACCOUNT.USER" */
	char	   *table;
	char	   *database;
	char	   *schema;
	char	   *warehouse;
	char	   *role;
	int			timeout_s;
	int			rows_per_statement;
	int			poll_interval_ms;
	GsHttpConn	conn;

	EVP_PKEY   *pkey;			/* NULL: no usable key */
	const char *key_error;		/* why not, if a secret is set */
	char		fingerprint[64];	/* base64 SHA-256 of the public key */
	char	   *jwt;			/* cached token (in cxt), or NULL */
	time_t		jwt_exp;

	/* the batch under way */
	MemoryContext bcxt;			/* reset at the end of every batch */
	SfPhase		phase;
	char	   *batch_id;
	char	   *target_id;
	int			attempt;
	SfEvent    *events;
	int			nevents;
	int			nstmts;
	int			stmt;			/* the statement under way */
	bool		resend;			/* send it with retry=true */
	bool		renewed;		/* the token was renewed after a 401 */
	char		request_id[37];
	char	   *handle;			/* statement handle while it runs */
	int			interval_ms;
	TimestampTz wake;
	TimestampTz give_up;		/* stop polling a statement then */
	char		what[256];		/* "POST <url>" of the request, for messages */

	GsHttpRequest req;
} SfTarget;


/* ----------------------------------------------------------------
 * identifiers and names (SQL side)
 * ---------------------------------------------------------------- */

/*
 * ScanIdentifier
 *		Length of the identifier at s (at most len bytes): an unquoted one,
 *		[A-Za-z_][A-Za-z0-9_$]*, or a double-quoted one ("" inside for a
 *		quote; printable ASCII only).  0 if there is none.
 */
static int
ScanIdentifier(const char *s, int len)
{
	int			i;

	if (len <= 0)
		return 0;
	if (s[0] == '"')
	{
		for (i = 1; i < len; i++)
		{
			unsigned char c = s[i];

			if (c < 0x20 || c > 0x7e)
				return 0;
			if (c == '"')
			{
				if (i + 1 < len && s[i + 1] == '"')
				{
					i++;
					continue;
				}
				return i > 1 ? i + 1 : 0;
			}
		}
		return 0;
	}
	if (!(isalpha((unsigned char) s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++)
		if (!(isalnum((unsigned char) s[i]) || s[i] == '_' || s[i] == '$'))
			break;
	return i;
}

/* a name of up to parts identifiers separated by dots, and nothing else */
static bool
ValidName(const char *s, int parts)
{
	int			len = strlen(s);
	int			n = 0;

	while (n < parts)
	{
		int			k = ScanIdentifier(s, len);

		if (k == 0)
			return false;
		s += k;
		len -= k;
		n++;
		if (len == 0)
			return true;
		if (*s != '.')
			return false;
		s++;
		len--;
	}
	return false;
}

static bool
ValidAccount(const char *s)
{
	const char *p;

	if (*s == '.' || *s == '-')
		return false;
	for (p = s; *p; p++)
		if (!(isalnum((unsigned char) *p) || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static bool
ValidUser(const char *s)
{
	const char *p;
	size_t		len = strlen(s);

	if (len == 0 || s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (p = s; *p; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
			return false;
	return true;
}

/* ----------------------------------------------------------------
 * validation (SQL context)
 * ---------------------------------------------------------------- */

typedef struct SfSeen
{
	bool		account;
	bool		user;
	bool		table;
} SfSeen;

static void
SfOption(const char *key, JsonbValue *v, void *arg)
{
	SfSeen	   *seen = (SfSeen *) arg;
	char	   *s;

	if (strcmp(key, "account") == 0)
	{
		s = GsStringOption(SF_KIND, v, key, 255);
		if (!ValidAccount(s))
			GsOptionError(SF_KIND, key,
						  "It is the account identifier, letters, digits, \".\", \"_\" and \"-\": an account locator such as \"xy12345.eu-west-1\" or \"MYORG-MYACCOUNT\".");
		seen->account = true;
	}
	else if (strcmp(key, "user") == 0)
	{
		s = GsStringOption(SF_KIND, v, key, 255);
		if (!ValidUser(s))
			GsOptionError(SF_KIND, key,
						  "It is the name of the Snowflake user that holds the public key: printable ASCII, without leading or trailing blanks.");
		seen->user = true;
	}
	else if (strcmp(key, "table") == 0)
	{
		s = GsStringOption(SF_KIND, v, key, 767);
		if (!ValidName(s, 3))
			GsOptionError(SF_KIND, key,
						  "It is the target table, optionally qualified (database.schema.table), each part an unquoted identifier (a letter or \"_\", then letters, digits, \"_\" or \"$\") or a double-quoted one.");
		seen->table = true;
	}
	else if (strcmp(key, "database") == 0 || strcmp(key, "schema") == 0 ||
			 strcmp(key, "warehouse") == 0 || strcmp(key, "role") == 0)
	{
		s = GsStringOption(SF_KIND, v, key, 255);
		if (!ValidName(s, 1))
			GsOptionError(SF_KIND, key,
						  "It is one identifier: unquoted (a letter or \"_\", then letters, digits, \"_\" or \"$\") or double-quoted.");
	}
	else if (strcmp(key, "statement_timeout_s") == 0)
		(void) GsIntOption(SF_KIND, v, key, 1, 86400);
	else if (strcmp(key, "rows_per_statement") == 0)
		(void) GsIntOption(SF_KIND, v, key, 1, SF_MAX_ROWS);
	else if (strcmp(key, "poll_interval_ms") == 0)
		(void) GsIntOption(SF_KIND, v, key, 50, 10000);
	else if (!GsConnOption(SF_KIND, key, v))
		GsUnknownOption(SF_KIND, key, SF_TAKES);
}

static void
SfValidate(const char *endpoint, Jsonb *options)
{
	SfSeen		seen = {0};
	const char *p;

	(void) GsCheckEndpoint(SF_KIND, endpoint, SF_EXAMPLE);
	/* the account URL itself: the driver adds /api/v2/statements */
	p = strstr(endpoint, "://") + 3;
	p += strcspn(p, "/?#");
	if (*p != '\0' && strcmp(p, "/") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint for a snowflake target"),
				 errdetail("The endpoint of a snowflake target is the account URL, without a path or query: the driver sends to /api/v2/statements below it."),
				 errhint("Use for example '%s'.", SF_EXAMPLE)));

	GsForEachOption(options, SfOption, &seen);
	if (!seen.account || !seen.user || !seen.table)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("missing option \"%s\" for a snowflake target",
						!seen.account ? "account" : !seen.user ? "user" : "table"),
				 errdetail("A snowflake target needs the options account, user and table."),
				 errhint("For example: '{\"account\": \"xy12345.eu-west-1\", \"user\": \"GLOBALSYNC\", \"table\": \"RAW.GLOBALSYNC.EVENTS\"}'.")));
}

/* ----------------------------------------------------------------
 * the private key
 * ---------------------------------------------------------------- */

/* never prompt for a passphrase: an encrypted key is refused */
static int
NoPassphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/*
 * LoadKey
 *		The RSA private key of a PEM text, or NULL with *why set (a
 *		sentence, never showing the key).  The caller frees the key with
 *		EVP_PKEY_free.  Does not ereport.
 */
static EVP_PKEY *
LoadKey(const char *pem, const char **why)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;

	*why = NULL;
	if (strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
		strstr(pem, "Proc-Type: 4,ENCRYPTED") != NULL)
	{
		*why = "The key is encrypted; globalsync needs it unencrypted (the secret store is its protection).";
		return NULL;
	}
	if (strstr(pem, "-----BEGIN PRIVATE KEY-----") == NULL &&
		strstr(pem, "-----BEGIN RSA PRIVATE KEY-----") == NULL)
	{
		*why = "The secret is the PEM text of the private key: \"-----BEGIN PRIVATE KEY-----\" (PKCS#8) or \"-----BEGIN RSA PRIVATE KEY-----\" (PKCS#1).";
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
	{
		*why = "OpenSSL could not allocate memory to read it.";
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NoPassphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
		*why = "OpenSSL could not read a private key from the PEM text.";
	else if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		*why = "The key is not an RSA key; Snowflake key-pair authentication takes RSA keys.";
	else if (EVP_PKEY_get_bits(pkey) < 2048)
		*why = "The RSA key has fewer than 2048 bits.";
	if (*why != NULL && pkey != NULL)
	{
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

static void
SfCheckSecret(const char *secret)
{
	const char *why;
	EVP_PKEY   *pkey = LoadKey(secret, &why);

	if (pkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid private key for a snowflake target"),
				 errdetail("%s", why),
				 errhint("Create a key with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa_key.p8, and pass its PEM text.")));
	EVP_PKEY_free(pkey);
}

/*
 * Fingerprint
 *		Standard base64 of the SHA-256 of the DER public key
 *		(SubjectPublicKeyInfo), as Snowflake shows it in RSA_PUBLIC_KEY_FP.
 */
static bool
Fingerprint(EVP_PKEY *pkey, char *out, size_t outlen)
{
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int			len;
	int			n;
	bool		ok;

	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0)
		return false;
	ok = EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) == 1;
	OPENSSL_free(der);
	if (!ok || (size_t) pg_b64_enc_len(mdlen) + 1 > outlen)
		return false;
	n = pg_b64_encode((const char *) md, mdlen, out, outlen - 1);
	if (n < 0)
		return false;
	out[n] = '\0';
	return true;
}

/* base64url without padding (the JWT encoding) of len bytes */
static void
AppendB64Url(StringInfo out, const unsigned char *in, size_t len)
{
	int			cap = pg_b64_enc_len(len) + 1;
	char	   *tmp = palloc(cap);
	int			n = pg_b64_encode((const char *) in, len, tmp, cap);
	int			i;

	for (i = 0; i < n; i++)
	{
		char		c = tmp[i];

		if (c == '=')
			break;
		appendStringInfoChar(out, c == '+' ? '-' : c == '/' ? '_' : c);
	}
	pfree(tmp);
}

/* clear and free the cached token */
static void
ForgetJwt(SfTarget *st)
{
	if (st->jwt != NULL)
	{
		explicit_bzero(st->jwt, strlen(st->jwt));
		pfree(st->jwt);
		st->jwt = NULL;
	}
}

/*
 * MakeJwt
 *		Sign a new token valid for an hour and cache it.  False with err
 *		filled if OpenSSL or jansson fails.
 */
static bool
MakeJwt(SfTarget *st, char *err, size_t errlen)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	time_t		now = time(NULL);
	char	   *iss = psprintf("%s.SHA256:%s", st->iss_prefix, st->fingerprint);
	json_t	   *claims;
	char	   *cj = NULL;
	StringInfoData tok;
	EVP_MD_CTX *md;
	unsigned char *sig = NULL;
	size_t		siglen = 0;
	bool		ok = false;

	claims = json_pack("{s:s, s:s, s:I, s:I}", "iss", iss, "sub", st->iss_prefix,
					   "iat", (json_int_t) now,
					   "exp", (json_int_t) (now + SF_JWT_LIFETIME_S));
	if (claims)
		cj = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	pfree(iss);
	if (cj == NULL)
	{
		snprintf(err, errlen, "could not build the JWT claims (out of memory)");
		return false;
	}
	initStringInfo(&tok);
	AppendB64Url(&tok, (const unsigned char *) header, strlen(header));
	appendStringInfoChar(&tok, '.');
	AppendB64Url(&tok, (const unsigned char *) cj, strlen(cj));
	free(cj);

	md = EVP_MD_CTX_new();
	if (md != NULL &&
		EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, st->pkey) == 1 &&
		EVP_DigestSign(md, NULL, &siglen, (unsigned char *) tok.data, tok.len) == 1 &&
		(sig = OPENSSL_malloc(siglen)) != NULL &&
		EVP_DigestSign(md, sig, &siglen, (unsigned char *) tok.data, tok.len) == 1)
		ok = true;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok)
	{
		OPENSSL_free(sig);
		pfree(tok.data);
		snprintf(err, errlen, "could not sign the JWT with the private key (OpenSSL failed)");
		return false;
	}
	appendStringInfoChar(&tok, '.');
	AppendB64Url(&tok, sig, siglen);
	OPENSSL_free(sig);

	/* the token is a credential for an hour: no copy of it is left behind */
	ForgetJwt(st);
	st->jwt = MemoryContextStrdup(st->cxt, tok.data);
	st->jwt_exp = now + SF_JWT_LIFETIME_S;
	explicit_bzero(tok.data, tok.len);
	pfree(tok.data);
	return true;
}

/* the cached token, renewed when less than 5 minutes remain */
static bool
EnsureJwt(SfTarget *st, char *err, size_t errlen)
{
	if (st->jwt != NULL && time(NULL) < st->jwt_exp - SF_JWT_RENEW_S)
		return true;
	return MakeJwt(st, err, errlen);
}

/* ----------------------------------------------------------------
 * the events of a batch
 * ---------------------------------------------------------------- */

/* the members of an event line bound as their raw JSON text */
enum
{
	RAW_EVENT_ID,
	RAW_PK,
	RAW_ROW,
	RAW_OLD,
	NUM_RAW
};
static const char *const raw_keys[NUM_RAW] = {"event_id", "pk", "row", "old"};

typedef struct RawSpans
{
	const char *v[NUM_RAW];
	const char *vend[NUM_RAW];
} RawSpans;

/* GsJsonForEachMember's callback: note the first span of each raw key */
static bool
NoteRawSpan(const char *key, size_t keylen, const char *v, const char *vend, void *arg)
{
	RawSpans   *rs = (RawSpans *) arg;
	int			i;

	for (i = 0; i < NUM_RAW; i++)
		if (rs->v[i] == NULL && strlen(raw_keys[i]) == keylen &&
			strncmp(key, raw_keys[i], keylen) == 0)
		{
			rs->v[i] = v;
			rs->vend[i] = vend;
		}
	return true;
}

/*
 * RawText
 *		The text of a value span of a line jansson has already accepted:
 *		palloc'd, NULL if absent or null.  With compact, blanks outside
 *		strings are left out.
 */
static char *
RawText(const char *v, const char *vend, bool compact)
{
	StringInfoData out;
	const char *q;

	if (v == NULL || (vend - v == 4 && strncmp(v, "null", 4) == 0))
		return NULL;
	if (!compact)
		return pnstrdup(v, vend - v);
	initStringInfo(&out);
	for (q = v; q < vend;)
	{
		if (*q == '"')
		{
			const char *e = GsJsonSkipValue(q, vend);

			if (e == NULL)
				e = vend;
			appendBinaryStringInfo(&out, q, e - q);
			q = e;
		}
		else
		{
			if (!strchr(" \t\r\n", *q))
				appendStringInfoChar(&out, *q);
			q++;
		}
	}
	return out.data;
}

/* a string member of a jansson object: palloc'd copy, NULL if absent or null */
static char *
StringMember(json_t *obj, const char *key, bool *bad)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
	{
		*bad = true;
		return NULL;
	}
	return pnstrdup(json_string_value(v), json_string_length(v));
}

/*
 * ParseEvents
 *		The events of a batch's NDJSON payload, in st->bcxt.  False with
 *		err filled if a line is not an event we can load.
 */
static bool
ParseEvents(SfTarget *st, const GsBatch *batch, char *err, size_t errlen)
{
	GsLines		lines;
	const char *p;
	size_t		len;
	int			cap = Max(batch->nevents, 1);

	st->events = palloc0(sizeof(SfEvent) * cap);
	st->nevents = 0;
	GsLinesInit(&lines, batch->payload, batch->len);
	while (GsNextLine(&lines, &p, &len))
	{
		json_error_t jerr;
		json_t	   *obj;
		SfEvent    *ev;
		bool		bad = false;
		char	   *snapshot;
		RawSpans	raw;

		CHECK_FOR_INTERRUPTS();
		/* integers as reals: a big number must not make the line unreadable */
		obj = json_loadb(p, len, JSON_DECODE_INT_AS_REAL, &jerr);
		if (obj == NULL || !json_is_object(obj))
		{
			snprintf(err, errlen, "event line %d of batch %s is not a JSON object: %s",
					 lines.lineno, batch->batch_id, obj ? "another JSON value" : jerr.text);
			json_decref(obj);
			return false;
		}
		if (st->nevents == cap)
		{
			cap *= 2;
			st->events = repalloc(st->events, sizeof(SfEvent) * cap);
		}
		ev = &st->events[st->nevents];
		memset(ev, 0, sizeof(*ev));
		ev->table = StringMember(obj, "table", &bad);
		ev->op = StringMember(obj, "op", &bad);
		ev->facility = StringMember(obj, "facility_id", &bad);
		ev->captured = StringMember(obj, "captured_at", &bad);
		snapshot = StringMember(obj, "snapshot", &bad);
		json_decref(obj);
		memset(&raw, 0, sizeof(raw));
		(void) GsJsonForEachMember(p, p + len, NoteRawSpan, &raw);
		ev->event_id = RawText(raw.v[RAW_EVENT_ID], raw.vend[RAW_EVENT_ID], true);
		ev->pk = RawText(raw.v[RAW_PK], raw.vend[RAW_PK], false);
		ev->row = RawText(raw.v[RAW_ROW], raw.vend[RAW_ROW], false);
		ev->old = RawText(raw.v[RAW_OLD], raw.vend[RAW_OLD], false);
		if (ev->event_id && strspn(ev->event_id, "0123456789") != strlen(ev->event_id))
			bad = true;
		if (bad || ev->table == NULL || ev->op == NULL)
		{
			snprintf(err, errlen, "event line %d of batch %s lacks its table or op, or has a value of the wrong type",
					 lines.lineno, batch->batch_id);
			return false;
		}
		if (strcmp(ev->op, "R") == 0)
		{
			char	   *pk = RawText(raw.v[RAW_PK], raw.vend[RAW_PK], true);

			if (snapshot == NULL || pk == NULL)
			{
				snprintf(err, errlen, "snapshot row %d of batch %s lacks its snapshot id or primary key",
						 lines.lineno, batch->batch_id);
				return false;
			}
			ev->key = psprintf("%s:%s:%s", snapshot, ev->table, pk);
		}
		else
		{
			if (ev->event_id == NULL)
			{
				snprintf(err, errlen, "event line %d of batch %s has no event_id", lines.lineno, batch->batch_id);
				return false;
			}
			ev->key = psprintf("%s:%s", batch->target_id, ev->event_id);
		}
		st->nevents++;
	}
	return true;
}

/* ----------------------------------------------------------------
 * the statements
 * ---------------------------------------------------------------- */

/* add a binding {"type": type, "value": value or null}; false if jansson fails */
static bool
Bind(json_t *bindings, int *n, const char *type, const char *value)
{
	char		num[16];
	json_t	   *b;

	b = GsJsonObject();
	if (b == NULL ||
		json_object_set_new(b, "type", json_string(type)) != 0 ||
		json_object_set_new(b, "value", value ? json_string(value) : json_null()) != 0)
	{
		json_decref(b);
		return false;
	}
	snprintf(num, sizeof(num), "%d", ++(*n));
	return json_object_set_new(bindings, num, b) == 0;
}

/*
 * BuildStatement
 *		The body of statement i of the batch: palloc'd in the current
 *		context.  NULL with err filled if jansson fails.  Every value comes
 *		from a line jansson has read (valid UTF-8, no NUL), so that can only
 *		be for want of memory: the caller retries.
 */
static char *
BuildStatement(SfTarget *st, int i, size_t *len, char *err, size_t errlen)
{
	int			lo = i * st->rows_per_statement;
	int			hi = Min(st->nevents, lo + st->rows_per_statement);
	StringInfoData sql;
	json_t	   *body;
	json_t	   *bindings;
	int			nb = 0;
	int			r;
	int			c;
	bool		ok;
	char	   *text;
	char	   *out;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "MERGE INTO %s t USING (SELECT $1 AS event_key, ? AS batch_id, ? AS target_id, "
					 "$2::NUMBER(38,0) AS event_id, $3 AS table_name, $4 AS op, "
					 "PARSE_JSON($5) AS pk, PARSE_JSON($6) AS row_data, PARSE_JSON($7) AS old_data, "
					 "$8 AS facility_id, TO_TIMESTAMP_TZ($9) AS captured_at FROM VALUES ",
					 st->table);
	for (r = lo; r < hi; r++)
		appendStringInfoString(&sql, r > lo ? ", (?, ?, ?, ?, ?, ?, ?, ?, ?)" : "(?, ?, ?, ?, ?, ?, ?, ?, ?)");
	appendStringInfoString(&sql, ") s ON t.event_key = s.event_key WHEN NOT MATCHED THEN INSERT (");
	for (c = 0; c < lengthof(sf_columns); c++)
		appendStringInfo(&sql, "%s%s", c ? ", " : "", sf_columns[c]);
	appendStringInfoString(&sql, ") VALUES (");
	for (c = 0; c < lengthof(sf_columns); c++)
		appendStringInfo(&sql, "%ss.%s", c ? ", " : "", sf_columns[c]);
	appendStringInfoChar(&sql, ')');

	body = GsJsonObject();
	bindings = GsJsonObject();
	ok = body != NULL && bindings != NULL &&
		Bind(bindings, &nb, "TEXT", st->batch_id) &&
		Bind(bindings, &nb, "TEXT", st->target_id);
	for (r = lo; ok && r < hi; r++)
	{
		SfEvent    *ev = &st->events[r];

		ok = Bind(bindings, &nb, "TEXT", ev->key) &&
			Bind(bindings, &nb, "FIXED", ev->event_id) &&
			Bind(bindings, &nb, "TEXT", ev->table) &&
			Bind(bindings, &nb, "TEXT", ev->op) &&
			Bind(bindings, &nb, "TEXT", ev->pk) &&
			Bind(bindings, &nb, "TEXT", ev->row) &&
			Bind(bindings, &nb, "TEXT", ev->old) &&
			Bind(bindings, &nb, "TEXT", ev->facility) &&
			Bind(bindings, &nb, "TEXT", ev->captured);
	}
	ok = ok &&
		json_object_set_new(body, "statement", json_stringn(sql.data, sql.len)) == 0 &&
		json_object_set(body, "bindings", bindings) == 0 &&
		json_object_set_new(body, "timeout", json_integer(st->timeout_s)) == 0 &&
		(st->database == NULL || json_object_set_new(body, "database", json_string(st->database)) == 0) &&
		(st->schema == NULL || json_object_set_new(body, "schema", json_string(st->schema)) == 0) &&
		(st->warehouse == NULL || json_object_set_new(body, "warehouse", json_string(st->warehouse)) == 0) &&
		(st->role == NULL || json_object_set_new(body, "role", json_string(st->role)) == 0);
	text = ok ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(bindings);
	json_decref(body);
	pfree(sql.data);
	if (text == NULL)
	{
		snprintf(err, errlen, "could not build statement %d of batch %s (out of memory)",
				 i + 1, st->batch_id);
		return NULL;
	}
	*len = strlen(text);
	out = pnstrdup(text, *len);
	free(text);
	return out;
}

/*
 * RequestId
 *		A UUID (version-4 shaped) from the SHA-256 of the batch id, the
 *		statement's index and its body: the same on every resend of that
 *		statement, another one if the statement differs (after an option
 *		changed), so that retry=true never fetches the result of another
 *		statement.
 */
static bool
RequestId(const char *batch_id, int index, const char *body, size_t len, char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char		idx[16];
	bool		ok;

	snprintf(idx, sizeof(idx), ":%d:", index);
	ok = md != NULL &&
		EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(md, batch_id, strlen(batch_id)) == 1 &&
		EVP_DigestUpdate(md, idx, strlen(idx)) == 1 &&
		EVP_DigestUpdate(md, body, len) == 1 &&
		EVP_DigestFinal_ex(md, d, &dlen) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return false;
	GsUuidFromHash(d, 4, out);
	return true;
}

/* the headers of every request; NULL if out of memory */
static struct curl_slist *
Headers(SfTarget *st, bool post)
{
	struct curl_slist *h = NULL;

	if (GsHeaderAdd(&h, "Authorization: Bearer %s", st->jwt) &&
		GsHeaderAdd(&h, "X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT") &&
		GsHeaderAdd(&h, "Accept: application/json") &&
		(!post || GsHeaderAdd(&h, "Content-Type: application/json")) &&
		GsHeaderAdd(&h, "Expect:"))
		return h;
	return NULL;
}

static void
Fail(GsSendResult *res, GsSendStatus status, const char *fmt,...) pg_attribute_printf(3, 4);

static void
Fail(GsSendResult *res, GsSendStatus status, const char *fmt,...)
{
	va_list		ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

/*
 * StartRequest
 *		Send the current statement (POST) or poll it (GET).  False with
 *		*res filled if it could not be started.
 */
static bool
StartRequest(SfTarget *st, bool post, GsSendResult *res)
{
	char		err[256];
	char	   *url;
	char	   *body = NULL;
	size_t		len = 0;
	struct curl_slist *hdrs;
	MemoryContext old;

	GsHttpEnd(&st->req);
	if (!EnsureJwt(st, err, sizeof(err)))
	{
		Fail(res, GS_SEND_RETRY, "%s", err);
		return false;
	}
	old = MemoryContextSwitchTo(st->req.cxt);
	if (post)
	{
		body = BuildStatement(st, st->stmt, &len, err, sizeof(err));
		if (body == NULL)
		{
			MemoryContextSwitchTo(old);
			Fail(res, GS_SEND_RETRY, "%s", err);
			return false;
		}
		if (!RequestId(st->batch_id, st->stmt, body, len, st->request_id))
		{
			MemoryContextSwitchTo(old);
			Fail(res, GS_SEND_RETRY, "could not compute the requestId (OpenSSL failed)");
			return false;
		}
		url = psprintf("%s/api/v2/statements?requestId=%s%s", st->base, st->request_id,
					   st->attempt > 1 || st->resend ? "&retry=true" : "");
		snprintf(st->what, sizeof(st->what), "POST %s/api/v2/statements (statement %d of %d, requestId %s)",
				 st->safe_base, st->stmt + 1, st->nstmts, st->request_id);
	}
	else
	{
		url = psprintf("%s/api/v2/statements/%s", st->base, st->handle);
		snprintf(st->what, sizeof(st->what), "GET %s/api/v2/statements/%s (statement %d of %d)",
				 st->safe_base, st->handle, st->stmt + 1, st->nstmts);
	}
	MemoryContextSwitchTo(old);

	hdrs = Headers(st, post);
	if (hdrs == NULL)
	{
		GsHttpEnd(&st->req);
		Fail(res, GS_SEND_RETRY, "could not create an HTTP request (out of memory)");
		return false;
	}
	if (!GsHttpPrepare(&st->req, &st->conn, post ? "POST" : "GET", url, hdrs, body, len,
					   SF_ANSWER_MAX, res->error, sizeof(res->error)) ||
		!GsHttpGo(&st->req, res->error, sizeof(res->error)))
	{
		GsHttpEnd(&st->req);
		res->status = GS_SEND_RETRY;
		return false;
	}
	st->phase = post ? SF_POST : SF_GET;
	return true;
}

/* ----------------------------------------------------------------
 * answers
 * ---------------------------------------------------------------- */

/* Snowflake's code, sqlState and message of an error answer, as text */
static void
SnowflakeError(const GsHttpRequest *req, char *out, size_t outlen)
{
	json_t	   *obj = NULL;
	json_error_t jerr;

	if (req->body != NULL)
		obj = json_loadb(req->body, req->body_len, 0, &jerr);
	if (obj != NULL && json_is_object(obj) && json_is_string(json_object_get(obj, "message")))
	{
		const char *code = json_string_value(json_object_get(obj, "code"));
		const char *state = json_string_value(json_object_get(obj, "sqlState"));
		char		msg[300];
		const char *m = json_string_value(json_object_get(obj, "message"));

		GsPrintable(m, strlen(m), msg, sizeof(msg));
		if (state)
			snprintf(out, outlen, "Snowflake error %s (SQLSTATE %s): %s",
					 code ? code : "?", state, msg);
		else
			snprintf(out, outlen, "Snowflake error %s: %s", code ? code : "?", msg);
	}
	else
		GsPrintable(req->body ? req->body : "", req->body_len, out, Min(outlen, 301));
	json_decref(obj);
}

/* the sqlState of an error answer, "" if none */
static void
SqlState(const GsHttpRequest *req, char *out, size_t outlen)
{
	json_t	   *obj = NULL;
	json_error_t jerr;
	const char *s = NULL;

	if (req->body != NULL)
		obj = json_loadb(req->body, req->body_len, 0, &jerr);
	if (obj != NULL && json_is_object(obj))
		s = json_string_value(json_object_get(obj, "sqlState"));
	strlcpy(out, s ? s : "", outlen);
	json_decref(obj);
}

/*
 * RowsInserted
 *		The "number of rows inserted" of a 200 answer to the MERGE, -1 if
 *		the answer does not hold it.
 */
static long
RowsInserted(const GsHttpRequest *req)
{
	json_t	   *obj;
	json_t	   *row;
	json_t	   *cell;
	json_t	   *types;
	json_error_t jerr;
	size_t		col = 0;
	size_t		i;
	long		n = -1;

	if (req->body == NULL)
		return -1;
	obj = json_loadb(req->body, req->body_len, 0, &jerr);
	if (obj == NULL)
		return -1;
	types = json_object_get(json_object_get(obj, "resultSetMetaData"), "rowType");
	for (i = 0; i < json_array_size(types); i++)
	{
		const char *name = json_string_value(json_object_get(json_array_get(types, i), "name"));

		if (name && pg_strcasecmp(name, "number of rows inserted") == 0)
			col = i;
	}
	row = json_array_get(json_object_get(obj, "data"), 0);
	cell = json_array_get(row, col);
	if (json_is_string(cell))
	{
		const char *s = json_string_value(cell);
		char	   *end;

		errno = 0;
		n = strtol(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0')
			n = -1;
	}
	else if (json_is_integer(cell))
		n = (long) json_integer_value(cell);
	json_decref(obj);
	return n;
}

/* the statementHandle of a 202 answer (palloc'd in bcxt), NULL if none */
static char *
Handle(SfTarget *st)
{
	json_t	   *obj = NULL;
	json_error_t jerr;
	const char *h = NULL;
	char	   *out = NULL;

	if (st->req.body != NULL)
		obj = json_loadb(st->req.body, st->req.body_len, 0, &jerr);
	if (obj != NULL)
		h = json_string_value(json_object_get(obj, "statementHandle"));
	/* it goes into a URL path: a UUID's characters only */
	if (h != NULL && h[0] != '\0' && strlen(h) < 100 &&
		strspn(h, "0123456789abcdefABCDEF-") == strlen(h))
		out = MemoryContextStrdup(st->bcxt, h);
	json_decref(obj);
	return out;
}

/* SQLSTATE classes of a 422 that are the target's, not the batch's */
static bool
TargetWideState(const char *state)
{
	return strncmp(state, "42", 2) == 0 ||	/* no such table, no privilege */
		strncmp(state, "57", 2) == 0 || /* cancelled, timed out */
		strncmp(state, "08", 2) == 0 || /* connection */
		strncmp(state, "53", 2) == 0;	/* resources */
}

typedef enum SfNext
{
	SF_CONTINUE,				/* another request or a wait is under way */
	SF_FINISHED					/* *res holds the batch's result */
} SfNext;

/*
 * Answer
 *		Read the answer of the request that just finished and decide what
 *		comes next: the next statement, a poll, a resend, or the result.
 */
static SfNext
Answer(SfTarget *st, GsSendResult *res)
{
	GsHttpRequest *req = &st->req;
	bool		was_post = (st->phase == SF_POST);
	long		status = req->status;
	char		detail[400];
	TimestampTz now;

	if (req->cc != CURLE_OK || status == 0)
	{
		/* lost: the batch is resent (with retry=true) by the worker */
		GsHttpClassify(req, st->what, res);
		if (res->status == GS_SEND_OK)
			Fail(res, GS_SEND_RETRY, "%s: no answer", st->what);
		return SF_FINISHED;
	}

	if (status == 200)
	{
		long		inserted = RowsInserted(req);
		int			lo = st->stmt * st->rows_per_statement;
		int			rows = Min(st->nevents, lo + st->rows_per_statement) - lo;

		if (inserted < 0 || inserted > rows)
		{
			GsPrintable(req->body ? req->body : "", req->body_len, detail, 200);
			Fail(res, GS_SEND_PERMANENT,
				 "%s answered 200 without a number of rows inserted between 0 and %d: %s",
				 st->what, rows, detail);
			return SF_FINISHED;
		}
		GsHttpEnd(req);
		st->stmt++;
		st->resend = false;
		st->renewed = false;
		st->handle = NULL;
		if (st->stmt == st->nstmts)
		{
			res->status = GS_SEND_OK;
			return SF_FINISHED;
		}
		return StartRequest(st, true, res) ? SF_CONTINUE : SF_FINISHED;
	}

	if (status == 202)
	{
		now = GetCurrentTimestamp();
		if (was_post)
		{
			st->handle = Handle(st);
			if (st->handle == NULL)
			{
				Fail(res, GS_SEND_RETRY, "%s answered 202 without a statement handle", st->what);
				return SF_FINISHED;
			}
			st->interval_ms = st->poll_interval_ms;
			st->give_up = now + ((int64) st->timeout_s + 60) * USECS_PER_SEC;
		}
		else
			st->interval_ms = Min(st->interval_ms * 2, SF_MAX_POLL_MS);
		if (now >= st->give_up)
		{
			Fail(res, GS_SEND_RETRY, "%s: the statement is still running a minute after its timeout (%d s)",
				 st->what, st->timeout_s);
			return SF_FINISHED;
		}
		GsHttpEnd(req);
		st->wake = now + (int64) st->interval_ms * 1000;
		GsHttpWakeAt(st->wake);
		st->phase = SF_WAIT;
		return SF_CONTINUE;
	}

	SnowflakeError(req, detail, sizeof(detail));
	if (status == 401 && !st->renewed)
	{
		char		err[256];

		/* a token Snowflake no longer takes: a new one, and the same request again */
		st->renewed = true;
		st->resend = true;
		if (!MakeJwt(st, err, sizeof(err)))
		{
			Fail(res, GS_SEND_RETRY, "%s", err);
			return SF_FINISHED;
		}
		return StartRequest(st, was_post, res) ? SF_CONTINUE : SF_FINISHED;
	}
	res->retry_after_ms = req->retry_after_s > 0 ? (int) req->retry_after_s * 1000 : 0;
	if (status == 401 || status == 403)
		Fail(res, GS_SEND_RETRY,
			 "%s answered %ld (check the user, its RSA_PUBLIC_KEY and the private key set with globalsync.set_target_secret()): %s",
			 st->what, status, detail);
	else if (status == 422)
	{
		char		state[16];

		SqlState(req, state, sizeof(state));
		Fail(res, TargetWideState(state) ? GS_SEND_RETRY : GS_SEND_PERMANENT,
			 "%s answered 422: %s", st->what, detail);
	}
	else if (status == 404 || status == 408 || status == 429 || status >= 500 || status < 400)
		Fail(res, GS_SEND_RETRY, "%s answered %ld: %s", st->what, status, detail);
	else
		Fail(res, GS_SEND_PERMANENT, "%s answered %ld: %s", st->what, status, detail);
	return SF_FINISHED;
}

/* ----------------------------------------------------------------
 * the driver
 * ---------------------------------------------------------------- */

static void *
SfOpen(const char *target_id, const char *endpoint, Jsonb *options,
	   const char *secret, MemoryContext cxt)
{
	SfTarget   *st = MemoryContextAllocZero(cxt, sizeof(SfTarget));
	MemoryContext old = MemoryContextSwitchTo(cxt);
	char	   *account;
	char	   *user;
	char	   *p;
	size_t		n;

	GsHttpEnsureCurl();
	st->cxt = cxt;
	st->base = pstrdup(endpoint);
	n = strlen(st->base);
	while (n > 0 && st->base[n - 1] == '/')
		st->base[--n] = '\0';
	st->safe_base = GsSafeUrl(st->base, cxt);

	/* ACCOUNT.USER, upper-cased; a locator keeps the part before its first dot */
	account = GsJsonbString(options, "account", cxt);
	user = GsJsonbString(options, "user", cxt);
	if (account == NULL)
		account = pstrdup("");
	if (user == NULL)
		user = pstrdup("");
	account[strcspn(account, ".")] = '\0';
	st->iss_prefix = psprintf("%s.%s", account, user);
	for (p = st->iss_prefix; *p; p++)
		*p = pg_toupper((unsigned char) *p);

	st->table = GsJsonbString(options, "table", cxt);
	st->database = GsJsonbString(options, "database", cxt);
	st->schema = GsJsonbString(options, "schema", cxt);
	st->warehouse = GsJsonbString(options, "warehouse", cxt);
	st->role = GsJsonbString(options, "role", cxt);
	st->timeout_s = (int) GsJsonbLong(options, "statement_timeout_s", 60);
	st->rows_per_statement = (int) GsJsonbLong(options, "rows_per_statement", 1000);
	st->poll_interval_ms = (int) GsJsonbLong(options, "poll_interval_ms", 200);
	GsHttpConnFromOptions(&st->conn, options, cxt);

	if (secret != NULL)
	{
		st->pkey = LoadKey(secret, &st->key_error);
		if (st->pkey != NULL && !Fingerprint(st->pkey, st->fingerprint, sizeof(st->fingerprint)))
		{
			EVP_PKEY_free(st->pkey);
			st->pkey = NULL;
			st->key_error = "its public key could not be fingerprinted";
		}
	}
	st->bcxt = AllocSetContextCreate(cxt, "globalsync snowflake batch", ALLOCSET_DEFAULT_SIZES);
	GsHttpInit(&st->req, cxt);
	MemoryContextSwitchTo(old);
	return st;
}

/* give up the batch under way, if any */
static void
EndBatch(SfTarget *st)
{
	GsHttpEnd(&st->req);
	MemoryContextReset(st->bcxt);
	st->phase = SF_IDLE;
	st->events = NULL;
	st->nevents = 0;
	st->handle = NULL;
	st->batch_id = NULL;
	st->target_id = NULL;
}

static bool
SfBegin(void *state, const GsBatch *batch, GsSendResult *res)
{
	SfTarget   *st = (SfTarget *) state;
	MemoryContext old;
	bool		ok;

	EndBatch(st);
	memset(res, 0, sizeof(*res));
	if (st->pkey == NULL)
	{
		if (st->key_error != NULL)
			Fail(res, GS_SEND_RETRY,
				 "the private key of this target is not usable (%s): set it again with globalsync.set_target_secret()",
				 st->key_error);
		else
			Fail(res, GS_SEND_RETRY, SF_NO_KEY_ERROR);
		return false;
	}
	if (st->table == NULL)
	{
		Fail(res, GS_SEND_RETRY, "the target has no option \"table\"");
		return false;
	}

	old = MemoryContextSwitchTo(st->bcxt);
	st->batch_id = pstrdup(batch->batch_id);
	st->target_id = pstrdup(batch->target_id);
	st->attempt = batch->attempt;
	ok = ParseEvents(st, batch, res->error, sizeof(res->error));
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		res->status = GS_SEND_PERMANENT;
		EndBatch(st);
		return false;
	}
	if (st->nevents == 0)
	{
		res->status = GS_SEND_OK;
		EndBatch(st);
		return false;
	}
	st->nstmts = (st->nevents + st->rows_per_statement - 1) / st->rows_per_statement;
	st->stmt = 0;
	st->resend = false;
	st->renewed = false;
	if (!StartRequest(st, true, res))
	{
		EndBatch(st);
		return false;
	}
	return true;
}

static bool
SfPoll(void *state, GsSendResult *res)
{
	SfTarget   *st = (SfTarget *) state;

	switch (st->phase)
	{
		case SF_IDLE:
			Fail(res, GS_SEND_RETRY, "no statement was under way");
			return true;
		case SF_WAIT:
			if (GetCurrentTimestamp() < st->wake)
			{
				GsHttpWakeAt(st->wake);
				return false;
			}
			if (StartRequest(st, false, res))
				return false;
			EndBatch(st);
			return true;
		case SF_POST:
		case SF_GET:
			if (!GsHttpPoll(&st->req))
				return false;
			if (Answer(st, res) == SF_CONTINUE)
				return false;
			EndBatch(st);
			return true;
	}
	return true;
}

static void
SfAbort(void *state)
{
	EndBatch((SfTarget *) state);
}

static void
SfClose(void *state)
{
	SfTarget   *st = (SfTarget *) state;

	EndBatch(st);
	if (st->pkey != NULL)
		EVP_PKEY_free(st->pkey);
	st->pkey = NULL;
	ForgetJwt(st);
}

const GsDriver gs_snowflake_driver = {
	.kind = SF_KIND,
	.validate = SfValidate,
	.check_secret = SfCheckSecret,
	.open = SfOpen,
	.send = NULL,
	.verify = NULL,
	.close = SfClose,
	.begin = SfBegin,
	.poll = SfPoll,
	.abort = SfAbort,
};
