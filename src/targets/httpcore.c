/*-------------------------------------------------------------------------
 *
 * httpcore.c
 *	  What the HTTP-speaking drivers share: endpoint and option checks,
 *	  the worker's one libcurl multi handle with the sockets it waits on,
 *	  requests in the background and the reading of answers.
 *
 * One multi handle serves every request of the worker for its whole life:
 * connections are reused between batches, HTTP/2 is used where the peer
 * offers it, and one call drives every transfer.  Redirects are never
 * followed, only http and https are spoken, TLS peers and host names are
 * always verified.
 *
 * Memory: libcurl objects are created and freed here, on every path; the
 * response is collected with malloc by callbacks that never ereport, and
 * freed by GsHttpEnd.  Nothing on the worker side ereports except
 * CHECK_FOR_INTERRUPTS().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <zlib.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "httpcore.h"
#include "worker/worker.h"

char	   *gs_allowed_hosts = NULL;

/* libcurl's global initialisation, once per process; false if it failed */
static bool
CurlReady(void)
{
	static bool curl_ready = false;

	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		curl_ready = true;
	return curl_ready;
}

void
GsHttpEnsureCurl(void)
{
	if (!CurlReady())
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialize libcurl")));
}

/* ----------------------------------------------------------------
 * validation (SQL context)
 * ---------------------------------------------------------------- */

/* "an http", "an s3", "a fhir", "a snowflake": as the kind is spoken */
static const char *
Article(const char *kind)
{
	return (strcmp(kind, "http") == 0 || strcmp(kind, "s3") == 0) ? "an" : "a";
}

bool
GsHostAllowed(const char *host)
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

const char *
GsCheckUrl(const char *url, char **host_out)
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

char *
GsCheckEndpoint(const char *kind, const char *endpoint, const char *example)
{
	const char *why;
	char	   *host = NULL;

	GsHttpEnsureCurl();
	why = GsCheckUrl(endpoint, &host);
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint for %s %s target", Article(kind), kind),
				 errdetail("The endpoint of %s %s target is an http or https URL, but %s.",
						   Article(kind), kind, why),
				 strcmp(kind, "http") == 0 ?
				 errhint("Use for example '%s'; put credentials in option \"headers\" or use globalsync.set_target_secret().",
						 example) :
				 errhint("Use for example '%s'; put credentials in the secret store with globalsync.set_target_secret().",
						 example)));
	if (!GsHostAllowed(host))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("host \"%s\" is not in globalsync.allowed_hosts", host),
				 errhint("A superuser can add it to globalsync.allowed_hosts.")));
	return host;
}

/* the kind at the start of a sentence */
static const char *
KindTitle(const char *kind)
{
	if (strcmp(kind, "http") == 0)
		return "Http";
	if (strcmp(kind, "s3") == 0)
		return "S3";
	if (strcmp(kind, "snowflake") == 0)
		return "Snowflake";
	if (strcmp(kind, "fhir") == 0)
		return "FHIR";
	return kind;
}

void
GsOptionError(const char *kind, const char *option, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid option \"%s\" for %s %s target", option, Article(kind), kind),
			 errdetail("%s", detail),
			 strcmp(kind, "http") == 0 ?
			 errhint("See the http target in docs/targets.md.") :
			 errhint("See docs/target-%s.md.", kind)));
}

void
GsUnknownOption(const char *kind, const char *option, const char *takes)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown option \"%s\" for %s %s target", option, Article(kind), kind),
			 errdetail("%s targets take %s, besides schedule, tables, facilities, max_batch_events and max_batch_bytes.",
					   KindTitle(kind), takes),
			 errhint("Remove the option.")));
}

int64
GsIntOption(const char *kind, JsonbValue *v, const char *name, int64 lo, int64 hi)
{
	int64		n;
	char	   *text;
	char	   *end;

	if (v->type != jbvNumeric)
		GsOptionError(kind, name, "It must be a number.");
	/* whole numbers in range only: no rounding, no overflow error */
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	n = strtoi64(text, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		GsOptionError(kind, name, psprintf("It must be between " INT64_FORMAT " and " INT64_FORMAT ".", lo, hi));
	return n;
}

char *
GsStringOption(const char *kind, JsonbValue *v, const char *name, int maxlen)
{
	if (v->type != jbvString || v->val.string.len == 0)
		GsOptionError(kind, name, "It must be a non-empty string.");
	if (v->val.string.len > maxlen)
		GsOptionError(kind, name, psprintf("It must be at most %d bytes long.", maxlen));
	if (memchr(v->val.string.val, '\0', v->val.string.len) ||
		memchr(v->val.string.val, '\r', v->val.string.len) ||
		memchr(v->val.string.val, '\n', v->val.string.len))
		GsOptionError(kind, name, "It must not contain line breaks.");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

bool
GsBoolOption(const char *kind, JsonbValue *v, const char *name)
{
	if (v->type != jbvBool)
		GsOptionError(kind, name, "It must be true or false.");
	return v->val.boolean;
}

bool
GsConnOption(const char *kind, const char *key, JsonbValue *v)
{
	if (strcmp(key, "timeout_ms") == 0)
		(void) GsIntOption(kind, v, key, 100, 3600000);
	else if (strcmp(key, "connect_timeout_ms") == 0)
		(void) GsIntOption(kind, v, key, 100, 600000);
	else if (strcmp(key, "ca_file") == 0)
	{
		if (v->type != jbvString || v->val.string.len == 0 || v->val.string.val[0] != '/')
			GsOptionError(kind, "ca_file", "It must be the absolute path of a PEM file of trusted CA certificates.");
	}
	else
		return false;
	return true;
}

void
GsForEachOption(Jsonb *options, GsOptionFn fn, void *arg)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (options == NULL)
		return;
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && key != NULL)
		{
			if (!GsIsCommonTargetOption(key))
				fn(key, &v, arg);
			key = NULL;
		}
	}
}

/* ----------------------------------------------------------------
 * worker side: options
 * ---------------------------------------------------------------- */

char *
GsJsonbString(Jsonb *options, const char *key, MemoryContext cxt)
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

long
GsJsonbLong(Jsonb *options, const char *key, long dflt)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&options->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvNumeric)
		return dflt;
	return (long) DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

bool
GsJsonbBool(Jsonb *options, const char *key, bool dflt)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&options->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvBool)
		return dflt;
	return v->val.boolean;
}

void
GsHttpConnFromOptions(GsHttpConn *conn, Jsonb *options, MemoryContext cxt)
{
	conn->timeout_ms = GsJsonbLong(options, "timeout_ms", gs_send_timeout);
	conn->connect_timeout_ms = GsJsonbLong(options, "connect_timeout_ms",
										   Min(gs_send_timeout, 10000));
	conn->ca_file = GsJsonbString(options, "ca_file", cxt);
}

char *
GsSafeUrl(const char *url, MemoryContext cxt)
{
	char	   *out = MemoryContextStrdup(cxt, url);

	out[strcspn(out, "?#")] = '\0';
	return out;
}

bool
GsGzip(const char *in, size_t len, StringInfo out)
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

void
GsPrintable(const char *in, size_t len, char *out, size_t outsize)
{
	size_t		i;
	size_t		n = Min(len, outsize - 1);

	for (i = 0; i < n; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : ' ';
	out[n] = '\0';
}

void
GsLinesInit(GsLines *lines, const char *payload, size_t len)
{
	lines->p = payload;
	lines->end = payload + len;
	lines->lineno = 0;
}

bool
GsNextLine(GsLines *lines, const char **line, size_t *len)
{
	while (lines->p < lines->end)
	{
		const char *start = lines->p;
		const char *nl = memchr(start, '\n', lines->end - start);
		size_t		n = (nl ? nl : lines->end) - start;

		lines->p = nl ? nl + 1 : lines->end;
		lines->lineno++;
		while (n > 0 && isspace((unsigned char) start[n - 1]))
			n--;
		if (n > 0)
		{
			*line = start;
			*len = n;
			return true;
		}
	}
	return false;
}

void
GsAppendPercentEncoded(StringInfo buf, const char *s, size_t len, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c != '\0' && strchr(keep, c)))
			appendStringInfoChar(buf, (char) c);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[c >> 4]);
			appendStringInfoChar(buf, hex[c & 15]);
		}
	}
}

void
GsUuidFromHash(unsigned char *d, int version, char *out)
{
	d[6] = (d[6] & 0x0f) | (version << 4);
	d[8] = (d[8] & 0x3f) | 0x80;
	snprintf(out, 37,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
			 d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
}

/* ----------------------------------------------------------------
 * worker side: the shared multi handle and the sockets it waits on
 * ---------------------------------------------------------------- */

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
static TimestampTz wake_at = 0; /* a driver's own timer (GsHttpWakeAt) */

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

void
GsHttpWakeAt(TimestampTz when)
{
	if (wake_at == 0 || when < wake_at)
		wake_at = when;
}

/*
 * GsHttpAddWaitEvents
 *		Add the sockets of the transfers under way to the worker's wait
 *		set; lower *timeout_ms to libcurl's timer and to the drivers' own.
 *		Returns how many sockets.
 */
int
GsHttpAddWaitEvents(WaitEventSet *set, int room, long *timeout_ms)
{
	int			i;
	int			n = 0;

	if (wake_at != 0)
	{
		TimestampTz now = GetCurrentTimestamp();

		if (wake_at <= now)
		{
			wake_at = 0;
			*timeout_ms = Min(*timeout_ms, 1);
		}
		else
			*timeout_ms = Min(*timeout_ms, (wake_at - now) / 1000 + 1);
	}
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

/*
 * DriveTransfers
 *		Let libcurl move every transfer of the worker forward, without
 *		blocking, and mark those that have finished.
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
		GsHttpRequest *owner = NULL;

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

/* ----------------------------------------------------------------
 * worker side: requests
 * ---------------------------------------------------------------- */

static size_t
WriteBody(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	GsHttpRequest *req = (GsHttpRequest *) userdata;
	size_t		n = size * nmemb;
	size_t		take = n;

	if (req->body_len + take > req->body_max)
	{
		take = req->body_max - req->body_len;
		req->body_truncated = true;
	}
	if (take == 0)
		return n;				/* the rest is read and dropped */
	if (req->body_len + take + 1 > req->body_cap)
	{
		size_t		cap = Max(req->body_cap * 2, req->body_len + take + 1);
		char	   *p;

		cap = Max(cap, 1024);
		p = realloc(req->body, cap);
		if (p == NULL)
		{
			req->body_truncated = true;
			return n;
		}
		req->body = p;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, ptr, take);
	req->body_len += take;
	req->body[req->body_len] = '\0';
	return n;
}

/* the value of a header line "Name: value\r\n" if its name is name, else NULL */
static bool
HeaderValue(const char *line, size_t n, const char *name, char *out, size_t outsize)
{
	size_t		nl = strlen(name);
	size_t		len;
	const char *v;

	if (n <= nl + 1 || pg_strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	v = line + nl + 1;
	len = n - nl - 1;
	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	len = Min(len, outsize - 1);
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

static size_t
ReadHeader(char *buffer, size_t size, size_t nitems, void *userdata)
{
	GsHttpRequest *req = (GsHttpRequest *) userdata;
	size_t		n = size * nitems;
	char		tmp[64];

	if (HeaderValue(buffer, n, "retry-after", tmp, sizeof(tmp)))
	{
		char	   *end;
		long		s = strtol(tmp, &end, 10);

		/* seconds only; an HTTP date falls back to the backoff */
		if (end != tmp && s >= 0)
			req->retry_after_s = Min(s, 3600);
	}
	else
		(void) HeaderValue(buffer, n, "etag", req->etag, sizeof(req->etag));
	return n;
}

/* free a header list, clearing its lines first (they may hold a token) */
static void
FreeHeaders(struct curl_slist *list)
{
	struct curl_slist *h;

	for (h = list; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(list);
}

bool
GsHeaderAdd(struct curl_slist **list, const char *fmt,...)
{
	char		stackbuf[256];
	char	   *line = stackbuf;
	struct curl_slist *l = NULL;
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
	va_end(ap);
	if (n >= (int) sizeof(stackbuf))
	{
		/* malloc, not palloc: this must not ereport */
		line = malloc(n + 1);
		if (line != NULL)
		{
			va_start(ap, fmt);
			vsnprintf(line, n + 1, fmt, ap);
			va_end(ap);
		}
	}
	if (n >= 0 && line != NULL)
		l = curl_slist_append(*list, line);
	explicit_bzero(stackbuf, sizeof(stackbuf));
	if (line != stackbuf && line != NULL)
	{
		explicit_bzero(line, n);
		free(line);
	}
	if (l == NULL)
	{
		FreeHeaders(*list);
		*list = NULL;
		return false;
	}
	*list = l;
	return true;
}

void
GsHttpInit(GsHttpRequest *req, MemoryContext parent)
{
	memset(req, 0, sizeof(*req));
	req->cxt = AllocSetContextCreate(parent, "globalsync http request", ALLOCSET_DEFAULT_SIZES);
	req->retry_after_s = -1;
}

/*
 * DropRequest
 *		Give up the transfer, if any, free its headers and the answer, and
 *		forget its outcome; req->cxt (the body being sent) is left alone.
 */
static void
DropRequest(GsHttpRequest *req)
{
	if (req->easy)
	{
		if (shared_multi)
			curl_multi_remove_handle(shared_multi, req->easy);
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	FreeHeaders(req->headers);
	req->headers = NULL;
	free(req->body);
	req->body = NULL;
	req->body_len = req->body_cap = 0;
	req->body_truncated = false;
	req->done = false;
	req->status = 0;
	req->cc = CURLE_OK;
	req->errbuf[0] = '\0';
	req->etag[0] = '\0';
	req->retry_after_s = -1;
}

void
GsHttpEnd(GsHttpRequest *req)
{
	DropRequest(req);
	if (req->cxt)
		MemoryContextReset(req->cxt);
}

bool
GsHttpPrepare(GsHttpRequest *req, const GsHttpConn *conn,
			  const char *method, const char *url,
			  struct curl_slist *headers,
			  const char *body, size_t len, size_t body_max,
			  char *err, size_t errlen)
{
	CURL	   *easy;

	/* a request left over is given up; keep the new one's headers and body */
	DropRequest(req);
	req->headers = headers;
	req->body_max = body_max;

	easy = CurlReady() ? curl_easy_init() : NULL;
	if (easy == NULL || SharedMulti() == NULL)
	{
		if (easy)
			curl_easy_cleanup(easy);
		snprintf(err, errlen, "could not create an HTTP request (out of memory)");
		return false;
	}
	req->easy = easy;
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	else
	{
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
		if (body != NULL || strcmp(method, "DELETE") != 0)
		{
			curl_easy_setopt(easy, CURLOPT_POST, 1L);
			curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (body ? len : 0));
		}
	}
	if (headers)
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, conn->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, conn->connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (conn->ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, conn->ca_file);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, WriteBody);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, ReadHeader);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "globalsync/0.1.0");
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *) req);
	curl_easy_setopt(easy, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
	return true;
}

bool
GsHttpGo(GsHttpRequest *req, char *err, size_t errlen)
{
	if (req->easy == NULL || curl_multi_add_handle(SharedMulti(), req->easy) != CURLM_OK)
	{
		GsHttpEnd(req);
		snprintf(err, errlen, "could not start an HTTP request");
		return false;
	}
	req->done = false;
	DriveTransfers();
	return true;
}

bool
GsHttpPoll(GsHttpRequest *req)
{
	if (req->easy == NULL)
		return true;			/* nothing under way: GsHttpClassify says so */
	if (!req->done)
		DriveTransfers();
	if (req->done && req->status == 0)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
	return req->done;
}

void
GsHttpClassify(const GsHttpRequest *req, const char *what, GsSendResult *result)
{
	char		body[301];

	result->retry_after_ms = req->retry_after_s > 0 ? (int) req->retry_after_s * 1000 : 0;
	if (req->easy == NULL && !req->done)
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error), "%s: the request was lost", what);
		return;
	}
	if (req->cc != CURLE_OK)
	{
		const char *msg = req->errbuf[0] ? req->errbuf : curl_easy_strerror(req->cc);
		const char *url = strchr(what, ' ');

		result->status = GS_SEND_RETRY;
		if (req->cc == CURLE_PEER_FAILED_VERIFICATION || req->cc == CURLE_SSL_CACERT_BADFILE ||
			req->cc == CURLE_SSL_CERTPROBLEM)
			snprintf(result->error, sizeof(result->error),
					 "TLS verification of %s failed: %s (pass the CA of a private receiver in option ca_file)",
					 url ? url + 1 : what, msg);
		else
			snprintf(result->error, sizeof(result->error), "%s failed: %s", what, msg);
		return;
	}
	if (req->status >= 200 && req->status < 300)
	{
		result->status = GS_SEND_OK;
		return;
	}
	if (req->status == 408 || req->status == 425 || req->status == 429 || req->status >= 500)
		result->status = GS_SEND_RETRY;
	else if (req->status == 410)
		result->status = GS_SEND_DISABLE;
	else
		result->status = GS_SEND_PERMANENT;
	GsPrintable(req->body ? req->body : "", req->body_len, body, sizeof(body));
	snprintf(result->error, sizeof(result->error), "%s answered %ld%s%s",
			 what, req->status, body[0] ? ": " : "", body);
}
