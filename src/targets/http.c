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
 * The request itself goes through httpcore.c (the worker's one multi
 * handle, shared with the other HTTP kinds); a target's state holds its
 * request under way and lives until the target is closed.  Nothing here
 * may ereport while a transfer runs except through CHECK_FOR_INTERRUPTS().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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

#include "httpcore.h"
#include "worker/worker.h"

typedef struct HttpTarget
{
	char	   *url;
	char	   *what;			/* "POST <url>" for messages: never credentials */
	bool		ndjson;
	bool		gzip;
	GsHttpConn	conn;
	int			nheaders;
	char	  **headers;		/* "Name: value" */
	uint8	   *key;			/* decoded signing key, NULL if none */
	int			keylen;
	bool		bad_secret;		/* a secret is set but does not decode */

	GsHttpRequest req;			/* the request under way (one per target) */
} HttpTarget;


static ResourceOwner sign_owner = NULL;

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

/* set_target_secret(): base64 of at least 16 bytes, never shown */
static void
HttpCheckSecret(const char *secret)
{
	int			keylen;

	if (DecodeSecret(secret, &keylen) == NULL || keylen < 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid webhook secret"),
				 errdetail("A secret is base64 of at least 16 bytes, optionally after the prefix \"whsec_\"."),
				 errhint("Generate one with: SELECT 'whsec_' || encode(decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'), 'base64').")));
}

/* ----------------------------------------------------------------
 * validation (SQL context)
 * ---------------------------------------------------------------- */

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
	GsOptionError("http", option, detail);
}

static void
HttpValidate(const char *endpoint, Jsonb *options)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	(void) GsCheckEndpoint("http", endpoint, "https://receiver.example.org/hooks/globalsync");

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
		else if (GsConnOption("http", key, &v))
			;
		else if (strcmp(key, "max_in_flight") == 0)
		{
			if (GsIntOption("http", &v, key, 1, 64) != 1)
				OptionError("max_in_flight",
							"Only 1 is supported: a target's batches are sent one at a time, so that they arrive in commit order.");
		}
		else if (strcmp(key, "gzip") == 0)
			(void) GsBoolOption("http", &v, key);
		else
			GsUnknownOption("http", key, "format, headers, timeout_ms, connect_timeout_ms, max_in_flight, gzip and ca_file");
		key = NULL;
	}
}

/* ----------------------------------------------------------------
 * the worker side
 * ---------------------------------------------------------------- */

static void *
HttpOpen(const char *target_id, const char *endpoint, Jsonb *options,
		 const char *secret, MemoryContext cxt)
{
	HttpTarget *ht = MemoryContextAllocZero(cxt, sizeof(HttpTarget));
	JsonbValue *v;
	char	   *fmt;

	GsHttpEnsureCurl();
	ht->url = MemoryContextStrdup(cxt, endpoint);
	/* for messages: validated to hold no credentials; no query string either */
	ht->what = MemoryContextStrdup(cxt, psprintf("POST %s", GsSafeUrl(endpoint, cxt)));
	fmt = GsJsonbString(options, "format", cxt);
	ht->ndjson = fmt && strcmp(fmt, "ndjson") == 0;
	ht->gzip = GsJsonbBool(options, "gzip", false);
	GsHttpConnFromOptions(&ht->conn, options, cxt);

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
	GsHttpInit(&ht->req, cxt);
	return ht;
}

static void
HttpClose(void *state)
{
	HttpTarget *ht = (HttpTarget *) state;

	GsHttpEnd(&ht->req);
	if (ht->key)
		memset(ht->key, 0, ht->keylen);
}

/* The request body: ndjson as it comes, or a JSON envelope. */
static void
BuildBody(HttpTarget *ht, const GsBatch *batch, StringInfo body)
{
	GsLines		lines;
	const char *line;
	size_t		len;
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
	GsLinesInit(&lines, batch->payload, batch->len);
	while (GsNextLine(&lines, &line, &len))
	{
		if (!first)
			appendStringInfoString(body, ", ");
		appendBinaryStringInfo(body, line, len);
		first = false;
	}
	appendStringInfoString(body, "]}");
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
	char		sig[128];
	struct curl_slist *hdrs = NULL;
	bool		ok;
	int			i;

	GsHttpEnd(&ht->req);
	memset(result, 0, sizeof(*result));

	/* never send unsigned what should be signed */
	if (ht->bad_secret)
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error),
				 "the signing secret of this target does not decode: set it again with globalsync.set_target_secret()");
		return false;
	}

	old = MemoryContextSwitchTo(ht->req.cxt);
	initStringInfo(&body);
	BuildBody(ht, batch, &body);
	send_data = body.data;
	send_len = body.len;
	initStringInfo(&zipped);
	if (ht->gzip && GsGzip(body.data, body.len, &zipped))
	{
		send_data = zipped.data;
		send_len = zipped.len;
	}
	MemoryContextSwitchTo(old);

	snprintf(ts, sizeof(ts), "%ld", (long) time(NULL));
	/* the signature covers the body as sent (after gzip) */
	if (ht->key &&
		!Sign(ht->key, ht->keylen, batch->batch_id, ts, send_data, send_len, sig, sizeof(sig)))
	{
		GsHttpEnd(&ht->req);
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "could not compute the webhook signature");
		return false;
	}
	ok = GsHeaderAdd(&hdrs, "Content-Type: %s",
					 ht->ndjson ? "application/x-ndjson" : "application/json") &&
		(send_data != zipped.data || GsHeaderAdd(&hdrs, "Content-Encoding: gzip")) &&
		GsHeaderAdd(&hdrs, "Idempotency-Key: %s", batch->batch_id) &&
		GsHeaderAdd(&hdrs, "webhook-id: %s", batch->batch_id) &&
		GsHeaderAdd(&hdrs, "webhook-timestamp: %s", ts) &&
		(ht->key == NULL || GsHeaderAdd(&hdrs, "webhook-signature: %s", sig)) &&
		GsHeaderAdd(&hdrs, "Expect:");
	for (i = 0; ok && i < ht->nheaders; i++)
		ok = GsHeaderAdd(&hdrs, "%s", ht->headers[i]);
	if (!ok)
	{
		GsHttpEnd(&ht->req);
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "could not create an HTTP request (out of memory)");
		return false;
	}

	if (!GsHttpPrepare(&ht->req, &ht->conn, "POST", ht->url, hdrs, send_data, send_len,
					   300, result->error, sizeof(result->error)) ||
		!GsHttpGo(&ht->req, result->error, sizeof(result->error)))
	{
		GsHttpEnd(&ht->req);
		result->status = GS_SEND_RETRY;
		return false;
	}
	return true;
}

/* Has the answer come?  Never blocks. */
static bool
HttpPoll(void *state, GsSendResult *result)
{
	HttpTarget *ht = (HttpTarget *) state;

	if (!GsHttpPoll(&ht->req))
		return false;
	GsHttpClassify(&ht->req, ht->what, result);
	GsHttpEnd(&ht->req);
	return true;
}

static void
HttpAbort(void *state)
{
	GsHttpEnd(&((HttpTarget *) state)->req);
}

const GsDriver gs_http_driver = {
	.kind = "http",
	.validate = HttpValidate,
	.check_secret = HttpCheckSecret,
	.open = HttpOpen,
	.send = NULL,
	.verify = NULL,
	.close = HttpClose,
	.begin = HttpBegin,
	.poll = HttpPoll,
	.abort = HttpAbort,
};
