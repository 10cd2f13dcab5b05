/*-------------------------------------------------------------------------
 *
 * httpcore.h
 *	  What every HTTP-speaking driver (http, s3, snowflake, fhir) shares:
 *	  endpoint and option checks, the worker's one libcurl multi handle,
 *	  requests in the background, and the classification of answers.
 *
 * A GsHttpRequest is one request of a target at a time.  Its lifetime:
 *
 *		GsHttpInit(&req, cxt)				once, when the target is opened
 *		GsHttpPrepare(&req, ...)			build the easy handle
 *		curl_easy_setopt(req.easy, ...)		optional: driver-specific options
 *		GsHttpGo(&req, ...)					start it in the background
 *		GsHttpPoll(&req)					true once the answer is there
 *		... read req.status, req.body, req.etag ...
 *		GsHttpEnd(&req)						free it (also gives up one under way)
 *
 * Allocations a request needs while it runs (its body, URL) go into
 * req.cxt, which GsHttpEnd resets.  The response is collected by curl
 * callbacks with malloc (they may not ereport) and freed by GsHttpEnd.
 * Nothing here ereports on the worker side, except CHECK_FOR_INTERRUPTS.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_HTTPCORE_H
#define GS_HTTPCORE_H

#include <curl/curl.h>

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "driver.h"

/* ----------------------------------------------------------------
 * SQL side: validation (may ereport)
 * ---------------------------------------------------------------- */

extern void GsHttpEnsureCurl(void);

/*
 * Check that endpoint is an http(s) URL with a written host, without user
 * name or password, whose host globalsync.allowed_hosts allows; ereport
 * otherwise, naming the kind.  example is shown in the hint.  Returns the
 * host name (palloc'd).
 */
extern char *GsCheckEndpoint(const char *kind, const char *endpoint, const char *example);

/* NULL if url is an allowed-shape http(s) URL, else why not */
extern const char *GsCheckUrl(const char *url, char **host_out);
extern bool GsHostAllowed(const char *host);

/* ereport "invalid option \"option\" for an? <kind> target" with detail */
extern void GsOptionError(const char *kind, const char *option, const char *detail) pg_attribute_noreturn();
/* ereport "unknown option" listing what the kind takes */
extern void GsUnknownOption(const char *kind, const char *option, const char *takes) pg_attribute_noreturn();

/* checked readers of one option value (a JsonbValue from the options) */
extern int64 GsIntOption(const char *kind, JsonbValue *v, const char *name, int64 lo, int64 hi);
extern char *GsStringOption(const char *kind, JsonbValue *v, const char *name, int maxlen);
extern bool GsBoolOption(const char *kind, JsonbValue *v, const char *name);

/*
 * The connection options every HTTP kind takes: timeout_ms,
 * connect_timeout_ms, ca_file.  Returns true if key is one of them (and
 * checks its value), false if it is not.
 */
extern bool GsConnOption(const char *kind, const char *key, JsonbValue *v);
#define GS_CONN_OPTIONS "timeout_ms, connect_timeout_ms, ca_file"

/*
 * Iterate over the top-level keys of a target's options, calling fn(key,
 * value, arg) for every key that is not a common option (schedule, tables,
 * ...).  Nested objects and arrays come as jbvBinary.
 */
typedef void (*GsOptionFn) (const char *key, JsonbValue *v, void *arg);
extern void GsForEachOption(Jsonb *options, GsOptionFn fn, void *arg);

/* ----------------------------------------------------------------
 * worker side: reading options that were validated
 * ---------------------------------------------------------------- */

typedef struct GsHttpConn
{
	long		timeout_ms;
	long		connect_timeout_ms;
	char	   *ca_file;		/* NULL: the system's CAs */
} GsHttpConn;

extern char *GsJsonbString(Jsonb *options, const char *key, MemoryContext cxt);
extern long GsJsonbLong(Jsonb *options, const char *key, long dflt);
extern bool GsJsonbBool(Jsonb *options, const char *key, bool dflt);
extern void GsHttpConnFromOptions(GsHttpConn *conn, Jsonb *options, MemoryContext cxt);

/* the URL for messages: no query string or fragment (it may hold a token) */
extern char *GsSafeUrl(const char *url, MemoryContext cxt);

/* gzip a payload (for Content-Encoding: gzip or .gz objects); false if zlib fails */
extern bool GsGzip(const char *in, size_t len, StringInfo out);

/* at most outsize-1 bytes of in, anything but printable ASCII as blanks */
extern void GsPrintable(const char *in, size_t len, char *out, size_t outsize);

/*
 * Append s[0..len) to buf percent-encoded, but for RFC 3986's unreserved
 * characters and the characters in keep.
 */
extern void GsAppendPercentEncoded(StringInfo buf, const char *s, size_t len, const char *keep);

/*
 * A name-based UUID of the given version (4-shaped or 5) from the first
 * 16 bytes of a hash (which it changes), into out (37 bytes at least).
 */
extern void GsUuidFromHash(unsigned char *hash, int version, char *out);

/*
 * GsHeaderAdd
 *		Append a header line, formatted, to *list.  The formatted text is
 *		cleared before it is freed (a line may carry a credential).  If
 *		libcurl cannot add it, the whole list is freed, *list set to NULL
 *		and false returned: chain the calls with && and check once.  Never
 *		ereports.  A list handed to GsHttpPrepare is cleared when freed.
 */
extern bool GsHeaderAdd(struct curl_slist **list, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * The lines of a batch's NDJSON payload, one event a line.  GsNextLine
 * gives the next line that is not blank, without its line end and trailing
 * blanks, and returns false at the end; lineno is then the number of the
 * line given (blank lines count).  Never ereports.
 */
typedef struct GsLines
{
	const char *p;
	const char *end;
	int			lineno;
} GsLines;

extern void GsLinesInit(GsLines *lines, const char *payload, size_t len);
extern bool GsNextLine(GsLines *lines, const char **line, size_t *len);

/* ----------------------------------------------------------------
 * worker side: one request in the background
 * ---------------------------------------------------------------- */

typedef struct GsHttpRequest
{
	MemoryContext cxt;			/* what the request needs while it runs */
	CURL	   *easy;
	struct curl_slist *headers;
	bool		done;
	CURLcode	cc;
	long		status;			/* HTTP status once done (0: none) */
	char		errbuf[CURL_ERROR_SIZE];

	/* the response, as the callbacks collect it (malloc'd) */
	char	   *body;			/* NUL-terminated; NULL if empty */
	size_t		body_len;
	size_t		body_cap;
	size_t		body_max;		/* keep at most this much */
	bool		body_truncated;
	long		retry_after_s;	/* -1: no Retry-After */
	char		etag[128];		/* ETag header, as sent (with its quotes) */
} GsHttpRequest;

extern void GsHttpInit(GsHttpRequest *req, MemoryContext parent);

/*
 * GsHttpPrepare
 *		Build a request: method "GET", "POST", "PUT" or "DELETE"; url;
 *		headers (taken over: freed by GsHttpEnd, also when this fails);
 *		body (may be NULL; must live until GsHttpEnd: put it in req->cxt);
 *		keep at most body_max bytes of the answer.  No "Expect:" header is
 *		added: add one to the list to suppress 100-continue where that is
 *		wanted.  Returns false with err filled if it cannot.
 */
extern bool GsHttpPrepare(GsHttpRequest *req, const GsHttpConn *conn,
						  const char *method, const char *url,
						  struct curl_slist *headers,
						  const char *body, size_t len, size_t body_max,
						  char *err, size_t errlen);

/* start a prepared request in the background; false with err if it cannot */
extern bool GsHttpGo(GsHttpRequest *req, char *err, size_t errlen);

/* drive every transfer of the worker; true once this one is done.  Never blocks. */
extern bool GsHttpPoll(GsHttpRequest *req);

/* free the request (giving up one under way); req can be prepared again */
extern void GsHttpEnd(GsHttpRequest *req);

/*
 * GsHttpClassify
 *		The generic reading of an answer: transport error, 408, 425, 429
 *		and 5xx retry (Retry-After honoured); 2xx is OK; 410 disables the
 *		target; any other status is permanent.  what, "<METHOD> <url>"
 *		("POST https://..."), starts the error message; the first bytes of
 *		the response body follow the status.
 */
extern void GsHttpClassify(const GsHttpRequest *req, const char *what, GsSendResult *result);

/*
 * GsHttpWakeAt
 *		A driver waiting on a timer of its own (a poll interval, say) asks
 *		the worker's wait to end by then; GsHttpAddWaitEvents honours it.
 */
extern void GsHttpWakeAt(TimestampTz when);

#endif							/* GS_HTTPCORE_H */
