/*-------------------------------------------------------------------------
 *
 * http.c
 *	  The HTTP webhook target: one POST per batch through libcurl, signed
 *	  as Standard Webhooks prescribes, idempotent by batch id.
 *
 * Every request carries Idempotency-Key and webhook-id (the batch id, the
 * same on every resend), webhook-timestamp and, when the target has a
 * secret, webhook-signature = "v1," base64(HMAC-SHA256(key, id "." ts "."
 * body)), the key being the base64-decoded secret after an optional
 * "whsec_" prefix.  2xx is success; 408, 425, 429, 5xx and transport errors
 * are retryable (Retry-After honoured); 410 means the target is gone; any
 * other status is permanent for the batch.  Redirects are not followed,
 * only http and https are spoken, TLS peers and host names are verified.
 *
 * Memory: libcurl objects are created and freed by this file, on every
 * path.  One multi handle serves every http target of the worker for its
 * whole life (connections are reused between batches); a target's state
 * holds its request under way and lives until the target is closed.  Nothing here may
 * ereport while a transfer runs except through CHECK_FOR_INTERRUPTS(),
 * and no curl callback ever calls ereport.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <zlib.h>

#include "common/base64.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "driver.h"
#include "worker/worker.h"

#define ERROR_BODY_MAX	300		/* bytes of a response body kept in an error */

/* what the callbacks collect; plain C, no palloc */
typedef struct HttpResponse
{
	char		body[ERROR_BODY_MAX + 1];
	size_t		body_len;
	long		retry_after_s;
} HttpResponse;

typedef struct HttpTarget
{
	char	   *url;
	char	   *safe_url;		/* for messages: never with credentials */
	bool		ndjson;
	bool		gzip;
	long		timeout_ms;
	long		connect_timeout_ms;
	char	   *ca_file;
	int			nheaders;
	char	  **headers;		/* "Name: value" */
	uint8	   *key;			/* decoded signing key, NULL if none */
	int			keylen;
	bool		bad_secret;		/* a secret is set but does not decode */

	/* the request under way (one per target) */
	MemoryContext reqcxt;		/* its body */
	CURL	   *easy;
	struct curl_slist *hdrs;
	bool		done;
	CURLcode	cc;
	char		errbuf[CURL_ERROR_SIZE];
	struct HttpResponse resp;
} HttpTarget;


static bool curl_ready = false;
static void EndRequest(struct HttpTarget *ht);
static ResourceOwner sign_owner = NULL;

char	   *gs_allowed_hosts = NULL;

static void
EnsureCurl(void)
{
	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("could not initialize libcurl")));
		curl_ready = true;
	}
}

/* ----------------------------------------------------------------
 * signing (Standard Webhooks)
 * ---------------------------------------------------------------- */

/*
 * DecodeSecret
 *		The signing key of a secret ("whsec_" + base64, or base64); NULL if
 *		it does not decode.  Result palloc'd in the current context.
 */
static uint8 *
DecodeSecret(const char *secret, int *keylen)
{
	const char *b64 = secret;
	int			len;
	uint8	   *key;

	if (strncmp(b64, "whsec_", 6) == 0)
		b64 += 6;
	len = strlen(b64);
	if (len == 0)
		return NULL;
	key = palloc(pg_b64_dec_len(len) + 1);
	*keylen = pg_b64_decode(b64, len, (char *) key, pg_b64_dec_len(len));
	if (*keylen <= 0)
	{
		pfree(key);
		return NULL;
	}
	return key;
}

/* "v1," + base64 HMAC-SHA256 of id.ts.body into out (at least 64 bytes). */
static bool
Sign(const uint8 *key, int keylen, const char *id, const char *ts,
	 const char *body, size_t bodylen, char *out, size_t outlen)
{
	pg_hmac_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	int			n;
	bool		ok;
	ResourceOwner save = CurrentResourceOwner;

	/*
	 * With OpenSSL, the HMAC context is remembered by the current resource
	 * owner; the worker sends outside any transaction, where there is none.
	 */
	if (CurrentResourceOwner == NULL)
	{
		if (sign_owner == NULL)
			sign_owner = ResourceOwnerCreate(NULL, "globalsync webhook signing");
		CurrentResourceOwner = sign_owner;
	}
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
	{
		CurrentResourceOwner = save;
		return false;
	}
	ok = pg_hmac_init(ctx, key, keylen) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) id, strlen(id)) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) ".", 1) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) ts, strlen(ts)) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) ".", 1) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) body, bodylen) == 0 &&
		pg_hmac_final(ctx, digest, sizeof(digest)) == 0;
	pg_hmac_free(ctx);
	CurrentResourceOwner = save;
	if (!ok || outlen < 4 + (size_t) pg_b64_enc_len(sizeof(digest)))
		return false;
	memcpy(out, "v1,", 3);
	n = pg_b64_encode((const char *) digest, sizeof(digest), out + 3, outlen - 4);
	if (n < 0)
		return false;
	out[3 + n] = '\0';
	return true;
}

/*
 * webhook_signature(secret text, msg_id text, msg_timestamp bigint, body text) -> text
 *		The webhook-signature header globalsync sends, for receivers and
 *		tests to check against.
 */
PG_FUNCTION_INFO_V1(gs_webhook_signature);
Datum
gs_webhook_signature(PG_FUNCTION_ARGS)
{
	char	   *secret = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *id = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		ts = PG_GETARG_INT64(2);
	text	   *body = PG_GETARG_TEXT_PP(3);
	char		tsbuf[32];
	char		sig[128];
	uint8	   *key;
	int			keylen;

	key = DecodeSecret(secret, &keylen);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid webhook secret"),
				 errdetail("A secret is base64, optionally after the prefix \"whsec_\"."),
				 errhint("Generate one with: SELECT 'whsec_' || encode(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'), 'base64').")));
	snprintf(tsbuf, sizeof(tsbuf), INT64_FORMAT, ts);
	if (!Sign(key, keylen, id, tsbuf, VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), sig, sizeof(sig)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the webhook signature")));
	PG_RETURN_TEXT_P(cstring_to_text(sig));
}

/*
 * check_secret(secret text) -> void
 *		Raise an error (never showing the secret) if it is not usable.
 */
PG_FUNCTION_INFO_V1(gs_check_webhook_secret);
Datum
gs_check_webhook_secret(PG_FUNCTION_ARGS)
{
	char	   *secret = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			keylen;

	if (DecodeSecret(secret, &keylen) == NULL || keylen < 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid webhook secret"),
				 errdetail("A secret is base64 of at least 16 bytes, optionally after the prefix \"whsec_\"."),
				 errhint("Generate one with: SELECT 'whsec_' || encode(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'), 'base64').")));
	PG_RETURN_VOID();
}

/* ----------------------------------------------------------------
 * validation (SQL context)
 * ---------------------------------------------------------------- */

static bool
HostAllowed(const char *host)
{
	char	   *list;
	char	   *tok;
	char	   *save;
	bool		ok = false;

	if (gs_allowed_hosts == NULL || gs_allowed_hosts[0] == '\0')
		return true;
	list = pstrdup(gs_allowed_hosts);
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
	{
		if (pg_strcasecmp(tok, host) == 0)
		{
			ok = true;
			break;
		}
		/* ".example.org" allows every host below example.org */
		if (tok[0] == '.')
		{
			size_t		hl = strlen(host),
						tl = strlen(tok);

			if (hl > tl && pg_strcasecmp(host + hl - tl, tok) == 0)
			{
				ok = true;
				break;
			}
		}
	}
	pfree(list);
	return ok;
}

/* libcurl reads "http:///x" as host "x": insist on a written authority */
static bool
HasAuthority(const char *url)
{
	const char *p = strstr(url, "://");

	return p != NULL && p[3] != '\0' && p[3] != '/' && p[3] != '?' && p[3] != '#';
}

/*
 * CheckUrl
 *		NULL if url is an http(s) URL without credentials whose host is
 *		allowed; else why not.  *host gets the host name.
 */
static const char *
CheckUrl(const char *url, char **host_out)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *user = NULL;
	char	   *password = NULL;
	const char *why = NULL;

	if (u == NULL)
		return "libcurl could not parse it";

	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		why = "it is not a valid URL";
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			 (pg_strcasecmp(scheme, "http") != 0 && pg_strcasecmp(scheme, "https") != 0))
		why = "only http and https URLs are allowed";
	else if (!HasAuthority(url))
		why = "it has no host";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		why = "it has no host";
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
			 curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK)
		why = "it contains a user name or password";
	if (why == NULL && host_out)
		*host_out = pstrdup(host);
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return why;
}

static bool
ValidHeaderName(const char *s, int len)
{
	int			i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = s[i];

		if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

/* Headers the driver sets itself and that options may not override. */
static bool
ReservedHeader(const char *s, int len)
{
	static const char *const reserved[] = {
		"content-type", "content-length", "content-encoding", "host",
		"idempotency-key", "webhook-id", "webhook-timestamp", "webhook-signature",
		"transfer-encoding"
	};
	int			i;

	for (i = 0; i < lengthof(reserved); i++)
		if ((int) strlen(reserved[i]) == len && pg_strncasecmp(reserved[i], s, len) == 0)
			return true;
	return false;
}

static void
OptionError(const char *option, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid option \"%s\" for an http target", option),
			 errdetail("%s", detail),
			 errhint("See the http target in docs/targets.md.")));
}

static int64
IntOption(JsonbValue *v, const char *name, int64 lo, int64 hi)
{
	int64		n;

	char	   *text;
	char	   *end;

	if (v->type != jbvNumeric)
		OptionError(name, "It must be a number.");
	/* whole numbers in range only: no rounding, no overflow error */
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	n = strtoi64(text, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		OptionError(name, psprintf("It must be between " INT64_FORMAT " and " INT64_FORMAT ".", lo, hi));
	return n;
}

static void
HttpValidate(const char *endpoint, Jsonb *options)
{
	const char *why;
	char	   *host = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	EnsureCurl();
	why = CheckUrl(endpoint, &host);
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint for an http target"),
				 errdetail("The endpoint of an http target is an http or https URL, but %s.", why),
				 errhint("Use for example 'https://receiver.example.org/hooks/globalsync'; put credentials in option \"headers\" or use globalsync.set_target_secret().")));
	if (!HostAllowed(host))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("host \"%s\" is not in globalsync.allowed_hosts", host),
				 errhint("A superuser can add it to globalsync.allowed_hosts.")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			if (strcmp(key, "headers") == 0)
			{
				/* read the nested object here */
				JsonbValue	hv;
				JsonbIteratorToken htok = JsonbIteratorNext(&it, &hv, false);
				int			nheaders = 0;

				if (htok != WJB_BEGIN_OBJECT)
					OptionError("headers", "It must be an object of header names and string values.");

				while ((htok = JsonbIteratorNext(&it, &hv, true)) != WJB_END_OBJECT)
				{
					if (htok == WJB_KEY)
					{
						if (++nheaders > 64)
							OptionError("headers", "At most 64 headers can be set.");
						if (!ValidHeaderName(hv.val.string.val, hv.val.string.len))
							OptionError("headers", psprintf("\"%.*s\" is not a valid header name.",
															hv.val.string.len, hv.val.string.val));
						if (ReservedHeader(hv.val.string.val, hv.val.string.len))
							OptionError("headers", psprintf("Header \"%.*s\" is set by globalsync itself.",
															hv.val.string.len, hv.val.string.val));
					}
					else if (htok == WJB_VALUE)
					{
						if (hv.type != jbvString ||
							memchr(hv.val.string.val, '\r', hv.val.string.len) ||
							memchr(hv.val.string.val, '\n', hv.val.string.len))
							OptionError("headers", "Header values must be strings without line breaks.");
					}
					else
						OptionError("headers", "Header values must be strings.");
				}
				key = NULL;
			}
			continue;
		}
		if (tok != WJB_VALUE || key == NULL)
			continue;
		if (GsIsCommonTargetOption(key))
			continue;
		if (strcmp(key, "format") == 0)
		{
			if (v.type != jbvString ||
				!((v.val.string.len == 4 && strncmp(v.val.string.val, "json", 4) == 0) ||
				  (v.val.string.len == 6 && strncmp(v.val.string.val, "ndjson", 6) == 0)))
				OptionError("format", "It is \"json\" (one envelope with an events array) or \"ndjson\" (one event per line).");
		}
		else if (strcmp(key, "timeout_ms") == 0)
			(void) IntOption(&v, key, 100, 3600000);
		else if (strcmp(key, "connect_timeout_ms") == 0)
			(void) IntOption(&v, key, 100, 600000);
		else if (strcmp(key, "max_in_flight") == 0)
		{
			if (IntOption(&v, key, 1, 64) != 1)
				OptionError("max_in_flight",
							"Only 1 is supported: a target's batches are sent one at a time, so that they arrive in commit order.");
		}
		else if (strcmp(key, "gzip") == 0)
		{
			if (v.type != jbvBool)
				OptionError("gzip", "It must be true or false.");
		}
		else if (strcmp(key, "ca_file") == 0)
		{
			if (v.type != jbvString || v.val.string.len == 0 || v.val.string.val[0] != '/')
				OptionError("ca_file", "It must be the absolute path of a PEM file of trusted CA certificates.");
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for an http target", key),
					 errdetail("Http targets take format, headers, timeout_ms, connect_timeout_ms, max_in_flight, gzip and ca_file, besides schedule, tables, facilities, max_batch_events and max_batch_bytes."),
					 errhint("Remove the option.")));
		key = NULL;
	}
}

/* ----------------------------------------------------------------
 * the worker side
 * ---------------------------------------------------------------- */

static char *
JsonbString(Jsonb *options, const char *key, MemoryContext cxt)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&options->root, key, strlen(key), NULL);
	char	   *out;

	if (v == NULL || v->type != jbvString)
		return NULL;
	out = MemoryContextAlloc(cxt, v->val.string.len + 1);
	memcpy(out, v->val.string.val, v->val.string.len);
	out[v->val.string.len] = '\0';
	return out;
}

static long
JsonbLong(Jsonb *options, const char *key, long dflt)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&options->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvNumeric)
		return dflt;
	return (long) DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

static void *
HttpOpen(const char *target_id, const char *endpoint, Jsonb *options,
		 const char *secret, MemoryContext cxt)
{
	HttpTarget *ht = MemoryContextAllocZero(cxt, sizeof(HttpTarget));
	JsonbValue *v;
	char	   *fmt;

	EnsureCurl();
	ht->url = MemoryContextStrdup(cxt, endpoint);
	/* for messages: validated to hold no credentials; no query string either */
	ht->safe_url = MemoryContextStrdup(cxt, endpoint);
	ht->safe_url[strcspn(ht->safe_url, "?#")] = '\0';
	fmt = JsonbString(options, "format", cxt);
	ht->ndjson = fmt && strcmp(fmt, "ndjson") == 0;
	v = getKeyJsonValueFromContainer(&options->root, "gzip", 4, NULL);
	ht->gzip = v && v->type == jbvBool && v->val.boolean;
	ht->timeout_ms = JsonbLong(options, "timeout_ms", gs_send_timeout);
	ht->connect_timeout_ms = JsonbLong(options, "connect_timeout_ms", Min(gs_send_timeout, 10000));
	ht->ca_file = JsonbString(options, "ca_file", cxt);

	v = getKeyJsonValueFromContainer(&options->root, "headers", 7, NULL);
	if (v && v->type == jbvBinary)
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	hv;
		JsonbIteratorToken tok;
		char	   *name = NULL;

		ht->headers = MemoryContextAllocZero(cxt, sizeof(char *) * 64);
		while ((tok = JsonbIteratorNext(&it, &hv, true)) != WJB_DONE && ht->nheaders < 64)
		{
			if (tok == WJB_KEY)
				name = pnstrdup(hv.val.string.val, hv.val.string.len);
			else if (tok == WJB_VALUE && name && hv.type == jbvString)
			{
				ht->headers[ht->nheaders++] =
					MemoryContextStrdup(cxt, psprintf("%s: %.*s", name, hv.val.string.len, hv.val.string.val));
				name = NULL;
			}
		}
	}
	if (secret)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		ht->key = DecodeSecret(secret, &ht->keylen);
		MemoryContextSwitchTo(old);
		ht->bad_secret = (ht->key == NULL);
	}
	ht->reqcxt = AllocSetContextCreate(cxt, "globalsync http request", ALLOCSET_DEFAULT_SIZES);
	return ht;
}

static void
HttpClose(void *state)
{
	HttpTarget *ht = (HttpTarget *) state;

	EndRequest(ht);
	if (ht->key)
		memset(ht->key, 0, ht->keylen);
}

static size_t
WriteBody(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	HttpResponse *resp = (HttpResponse *) userdata;
	size_t		n = size * nmemb;
	size_t		room = ERROR_BODY_MAX - resp->body_len;
	size_t		take = Min(n, room);

	if (take > 0)
	{
		memcpy(resp->body + resp->body_len, ptr, take);
		resp->body_len += take;
		resp->body[resp->body_len] = '\0';
	}
	return n;					/* the rest is read and dropped */
}

static size_t
ReadHeader(char *buffer, size_t size, size_t nitems, void *userdata)
{
	HttpResponse *resp = (HttpResponse *) userdata;
	size_t		n = size * nitems;

	if (n > 12 && pg_strncasecmp(buffer, "retry-after:", 12) == 0)
	{
		char		tmp[64];
		size_t		len = Min(n - 12, sizeof(tmp) - 1);
		char	   *end;
		long		s;

		memcpy(tmp, buffer + 12, len);
		tmp[len] = '\0';
		s = strtol(tmp, &end, 10);
		/* seconds only; an HTTP date falls back to the backoff */
		if (end != tmp && s >= 0)
			resp->retry_after_s = Min(s, 3600);
	}
	return n;
}

/* gzip a payload (Content-Encoding: gzip); false if zlib fails */
static bool
Gzip(const char *in, size_t len, StringInfo out)
{
	z_stream	zs;
	int			rc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	enlargeStringInfo(out, deflateBound(&zs, len) + 32);
	zs.next_in = (Bytef *) in;
	zs.avail_in = len;
	zs.next_out = (Bytef *) out->data;
	zs.avail_out = out->maxlen - 1;
	rc = deflate(&zs, Z_FINISH);
	out->len = zs.total_out;
	deflateEnd(&zs);
	return rc == Z_STREAM_END;
}

/* The request body: ndjson as it comes, or a JSON envelope. */
static void
BuildBody(HttpTarget *ht, const GsBatch *batch, StringInfo body)
{
	const char *p = batch->payload;
	const char *end = batch->payload + batch->len;
	bool		first = true;

	if (ht->ndjson)
	{
		appendBinaryStringInfo(body, batch->payload, batch->len);
		return;
	}
	appendStringInfoString(body, "{\"batch_id\": ");
	escape_json(body, batch->batch_id);
	appendStringInfoString(body, ", \"target_id\": ");
	escape_json(body, batch->target_id);
	appendStringInfoString(body, ", \"events\": [");
	while (p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		size_t		len = nl ? (size_t) (nl - p) : (size_t) (end - p);

		if (len > 0)
		{
			if (!first)
				appendStringInfoString(body, ", ");
			appendBinaryStringInfo(body, p, len);
			first = false;
		}
		p += len + 1;
	}
	appendStringInfoString(body, "]}");
}

static void
Classify(long status, CURLcode cc, const char *curl_error, HttpResponse *resp,
		 HttpTarget *ht, GsSendResult *result)
{
	char		body[ERROR_BODY_MAX + 1];
	int			i;

	/* a response body goes into an error message: printable ASCII only */
	for (i = 0; i < (int) resp->body_len; i++)
		body[i] = (resp->body[i] >= 0x20 && resp->body[i] < 0x7f) ? resp->body[i] : ' ';
	body[resp->body_len] = '\0';

	result->retry_after_ms = (int) resp->retry_after_s * 1000;
	if (cc != CURLE_OK)
	{
		result->status = GS_SEND_RETRY;
		if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
			cc == CURLE_SSL_CERTPROBLEM)
			snprintf(result->error, sizeof(result->error),
					 "TLS verification of %s failed: %s (pass the CA of a private receiver in option ca_file)",
					 ht->safe_url, curl_error);
		else
			snprintf(result->error, sizeof(result->error), "POST %s failed: %s",
					 ht->safe_url, curl_error);
		return;
	}
	if (status >= 200 && status < 300)
	{
		result->status = GS_SEND_OK;
		return;
	}
	if (status == 408 || status == 425 || status == 429 || status >= 500)
		result->status = GS_SEND_RETRY;
	else if (status == 410)
		result->status = GS_SEND_DISABLE;
	else
		result->status = GS_SEND_PERMANENT;
	snprintf(result->error, sizeof(result->error), "POST %s answered %ld%s%s",
			 ht->safe_url, status, body[0] ? ": " : "", body);
}

/*
 * One multi handle for the worker's life, shared by every http target of
 * the database: connections are reused between batches, HTTP/2 is used
 * where the receiver offers it, and one call drives every transfer.
 */
static CURLM *shared_multi = NULL;

/*
 * The sockets libcurl wants watched, and when it next wants to be called
 * (its timer), as its callbacks report them: the worker waits on these
 * together with its latch and postmaster death (GsHttpAddWaitEvents).
 */
#define MAX_WATCHED_SOCKETS 64

typedef struct WatchedSocket
{
	curl_socket_t fd;
	int			what;			/* CURL_POLL_IN / OUT / INOUT */
} WatchedSocket;

static WatchedSocket watched[MAX_WATCHED_SOCKETS];
static int	nwatched = 0;
static long curl_timer_ms = -1;	/* -1: no timer */
static bool unwatched = false;	/* a socket did not fit in watched[] */

static int
SocketCallback(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	int			i;

	for (i = 0; i < nwatched; i++)
		if (watched[i].fd == fd)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < nwatched)
			watched[i] = watched[--nwatched];
		return 0;
	}
	if (i == nwatched)
	{
		if (nwatched == MAX_WATCHED_SOCKETS)
		{
			unwatched = true;	/* the worker then polls every 5 ms */
			return 0;
		}
		nwatched++;
	}
	watched[i].fd = fd;
	watched[i].what = what;
	return 0;
}

static int
TimerCallback(CURLM *multi, long timeout_ms, void *userp)
{
	curl_timer_ms = timeout_ms;
	return 0;
}

static CURLM *
SharedMulti(void)
{
	if (shared_multi == NULL)
	{
		shared_multi = curl_multi_init();
		if (shared_multi)
		{
			curl_multi_setopt(shared_multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
			curl_multi_setopt(shared_multi, CURLMOPT_SOCKETFUNCTION, SocketCallback);
			curl_multi_setopt(shared_multi, CURLMOPT_TIMERFUNCTION, TimerCallback);
		}
	}
	return shared_multi;
}

/*
 * GsHttpAddWaitEvents
 *		Add the sockets of the transfers under way to the worker's wait
 *		set; lower *timeout_ms to libcurl's timer.  Returns how many.
 */
int
GsHttpAddWaitEvents(WaitEventSet *set, int room, long *timeout_ms)
{
	int			i;
	int			n = 0;

	if (shared_multi == NULL)
		return 0;
	for (i = 0; i < nwatched && n < room; i++)
	{
		uint32		events = 0;

		if (watched[i].what & CURL_POLL_IN)
			events |= WL_SOCKET_READABLE;
		if (watched[i].what & CURL_POLL_OUT)
			events |= WL_SOCKET_WRITEABLE;
		if (events == 0)
			continue;
		AddWaitEventToSet(set, events, watched[i].fd, NULL, NULL);
		n++;
	}
	if (curl_timer_ms >= 0)
		*timeout_ms = Min(*timeout_ms, Max(curl_timer_ms, 1));
	if (unwatched || n < nwatched)
		*timeout_ms = Min(*timeout_ms, 5);
	return n;
}

/* Give up the target's request under way, if any, and free what it holds. */
static void
EndRequest(HttpTarget *ht)
{
	if (ht->easy)
	{
		curl_multi_remove_handle(SharedMulti(), ht->easy);
		curl_easy_cleanup(ht->easy);
		ht->easy = NULL;
	}
	if (ht->hdrs)
	{
		curl_slist_free_all(ht->hdrs);
		ht->hdrs = NULL;
	}
	ht->done = false;
	MemoryContextReset(ht->reqcxt);
}

/*
 * DriveTransfers
 *		Let libcurl move every transfer of the worker forward, without
 *		blocking, and note which have finished (in their target's state).
 */
static void
DriveTransfers(void)
{
	CURLM	   *multi = SharedMulti();
	CURLMsg    *msg;
	int			running;
	int			left;

	if (multi == NULL)
		return;
	(void) curl_multi_perform(multi, &running);
	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		HttpTarget *owner = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &owner);
		if (owner && owner->easy == msg->easy_handle)
		{
			owner->done = true;
			owner->cc = msg->data.result;
		}
	}
}

/*
 * HttpBegin
 *		Build the request for a batch (body, signature, headers) and start
 *		it in the background.
 */
static bool
HttpBegin(void *state, const GsBatch *batch, GsSendResult *result)
{
	HttpTarget *ht = (HttpTarget *) state;
	MemoryContext old;
	StringInfoData body;
	StringInfoData zipped;
	const char *send_data;
	size_t		send_len;
	char		ts[32];
	char		line[512];
	char		sig[128];
	int			i;
	CURLM	   *multi = SharedMulti();

	EndRequest(ht);
	memset(result, 0, sizeof(*result));
	memset(&ht->resp, 0, sizeof(ht->resp));
	ht->errbuf[0] = '\0';

	/* never send unsigned what should be signed */
	if (ht->bad_secret)
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error),
				 "the signing secret of this target does not decode: set it again with globalsync.set_target_secret()");
		return false;
	}

	old = MemoryContextSwitchTo(ht->reqcxt);
	initStringInfo(&body);
	BuildBody(ht, batch, &body);
	send_data = body.data;
	send_len = body.len;
	initStringInfo(&zipped);
	if (ht->gzip && Gzip(body.data, body.len, &zipped))
	{
		send_data = zipped.data;
		send_len = zipped.len;
	}
	MemoryContextSwitchTo(old);

	snprintf(ts, sizeof(ts), "%ld", (long) time(NULL));
	ht->hdrs = curl_slist_append(NULL, ht->ndjson ? "Content-Type: application/x-ndjson"
								 : "Content-Type: application/json");
	if (send_data == zipped.data)
		ht->hdrs = curl_slist_append(ht->hdrs, "Content-Encoding: gzip");
	snprintf(line, sizeof(line), "Idempotency-Key: %s", batch->batch_id);
	ht->hdrs = curl_slist_append(ht->hdrs, line);
	snprintf(line, sizeof(line), "webhook-id: %s", batch->batch_id);
	ht->hdrs = curl_slist_append(ht->hdrs, line);
	snprintf(line, sizeof(line), "webhook-timestamp: %s", ts);
	ht->hdrs = curl_slist_append(ht->hdrs, line);
	/* the signature covers the body as sent (after gzip) */
	if (ht->key)
	{
		if (!Sign(ht->key, ht->keylen, batch->batch_id, ts, send_data, send_len, sig, sizeof(sig)))
		{
			curl_slist_free_all(ht->hdrs);
			ht->hdrs = NULL;
			MemoryContextReset(ht->reqcxt);
			result->status = GS_SEND_RETRY;
			snprintf(result->error, sizeof(result->error), "could not compute the webhook signature");
			return false;
		}
		snprintf(line, sizeof(line), "webhook-signature: %s", sig);
		ht->hdrs = curl_slist_append(ht->hdrs, line);
	}
	ht->hdrs = curl_slist_append(ht->hdrs, "Expect:");
	for (i = 0; i < ht->nheaders; i++)
		ht->hdrs = curl_slist_append(ht->hdrs, ht->headers[i]);

	ht->easy = curl_easy_init();
	if (multi == NULL || ht->easy == NULL || ht->hdrs == NULL)
	{
		EndRequest(ht);
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "could not create an HTTP request (out of memory)");
		return false;
	}
	curl_easy_setopt(ht->easy, CURLOPT_URL, ht->url);
	curl_easy_setopt(ht->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(ht->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(ht->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ht->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(ht->easy, CURLOPT_POSTFIELDS, send_data);
	curl_easy_setopt(ht->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) send_len);
	curl_easy_setopt(ht->easy, CURLOPT_HTTPHEADER, ht->hdrs);
	curl_easy_setopt(ht->easy, CURLOPT_TIMEOUT_MS, ht->timeout_ms);
	curl_easy_setopt(ht->easy, CURLOPT_CONNECTTIMEOUT_MS, ht->connect_timeout_ms);
	curl_easy_setopt(ht->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(ht->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ht->ca_file)
		curl_easy_setopt(ht->easy, CURLOPT_CAINFO, ht->ca_file);
	curl_easy_setopt(ht->easy, CURLOPT_WRITEFUNCTION, WriteBody);
	curl_easy_setopt(ht->easy, CURLOPT_WRITEDATA, &ht->resp);
	curl_easy_setopt(ht->easy, CURLOPT_HEADERFUNCTION, ReadHeader);
	curl_easy_setopt(ht->easy, CURLOPT_HEADERDATA, &ht->resp);
	curl_easy_setopt(ht->easy, CURLOPT_ERRORBUFFER, ht->errbuf);
	curl_easy_setopt(ht->easy, CURLOPT_USERAGENT, "globalsync/0.1.0");
	curl_easy_setopt(ht->easy, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(ht->easy, CURLOPT_PRIVATE, (char *) ht);
	curl_easy_setopt(ht->easy, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);

	if (curl_multi_add_handle(multi, ht->easy) != CURLM_OK)
	{
		curl_easy_cleanup(ht->easy);
		ht->easy = NULL;
		EndRequest(ht);
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "could not start an HTTP request");
		return false;
	}
	ht->done = false;
	DriveTransfers();
	return true;
}

/* Has the answer come?  Never blocks. */
static bool
HttpPoll(void *state, GsSendResult *result)
{
	HttpTarget *ht = (HttpTarget *) state;
	long		status = 0;

	if (ht->easy == NULL)
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "the HTTP request was lost");
		return true;
	}
	if (!ht->done)
		DriveTransfers();
	if (!ht->done)
		return false;
	curl_easy_getinfo(ht->easy, CURLINFO_RESPONSE_CODE, &status);
	Classify(status, ht->cc, ht->errbuf[0] ? ht->errbuf : curl_easy_strerror(ht->cc),
			 &ht->resp, ht, result);
	EndRequest(ht);
	return true;
}

static void
HttpAbort(void *state)
{
	EndRequest((HttpTarget *) state);
}

const GsDriver gs_http_driver = {
	.kind = "http",
	.validate = HttpValidate,
	.open = HttpOpen,
	.send = NULL,
	.verify = NULL,
	.close = HttpClose,
	.begin = HttpBegin,
	.poll = HttpPoll,
	.abort = HttpAbort,
};
