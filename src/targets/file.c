/*-------------------------------------------------------------------------
 *
 * file.c
 *	  The embedded target: one NDJSON file per batch in a folder below
 *	  globalsync.file_target_dir.
 *
 * A batch is written to ".<batch id>.tmp", fsynced, renamed to
 * "<batch id>.ndjson" and the folder fsynced: a reader never sees a partial
 * file, and a resent batch (same id) replaces the same file.  The endpoint
 * is a relative folder name checked segment by segment and batch ids are
 * made of [A-Za-z0-9_-], so no path can leave the configured directory;
 * the file itself is opened with O_NOFOLLOW.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "miscadmin.h"
#include "port.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "driver.h"
#include "worker/worker.h"

typedef struct FileTarget
{
	char	   *endpoint;
} FileTarget;

#define WRITE_CHUNK (1024 * 1024)

/* Is c allowed in a folder name segment? */
static bool
SegmentChar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* NULL if endpoint is a safe relative folder name, else why not. */
static const char *
CheckEndpoint(const char *endpoint)
{
	const char *p = endpoint;
	size_t		len = strlen(endpoint);

	if (len == 0)
		return "it is empty";
	if (len > 200)
		return "it is longer than 200 characters";
	if (endpoint[0] == '/')
		return "it is an absolute path";
	while (*p)
	{
		const char *start = p;

		while (*p && *p != '/')
		{
			if (!SegmentChar(*p))
				return "it contains a character other than letters, digits, '_', '-', '.' and '/'";
			p++;
		}
		if (p == start)
			return "it contains an empty path segment";
		if ((p - start == 1 && start[0] == '.') ||
			(p - start == 2 && start[0] == '.' && start[1] == '.'))
			return "it contains a \".\" or \"..\" segment";
		if (*p == '/')
			p++;
	}
	return NULL;
}

static void
FileTargetValidate(const char *endpoint, Jsonb *options)
{
	const char *why = CheckEndpoint(endpoint);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid endpoint for a file target: \"%s\"", endpoint),
				 errdetail("The endpoint of a file target is a folder below globalsync.file_target_dir, but %s.", why),
				 errhint("Use a relative folder name such as 'exports/warehouse'.")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		if (!GsIsCommonTargetOption(key))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\" for a file target", key),
					 errdetail("File targets take only schedule, tables, facilities, max_batch_events and max_batch_bytes."),
					 errhint("Remove the option.")));
	}
}

static void *
FileTargetOpen(const char *target_id, const char *endpoint, Jsonb *options,
			   const char *secret, MemoryContext cxt)
{
	FileTarget *ft = MemoryContextAllocZero(cxt, sizeof(FileTarget));

	ft->endpoint = MemoryContextStrdup(cxt, endpoint);
	return ft;
}

/* The folder of a target: file_target_dir (relative to the data directory) / endpoint. */
static void
TargetDir(FileTarget *ft, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", gs_file_target_dir, ft->endpoint);
}

static void
SetError(GsSendResult *r, GsSendStatus st, const char *what, const char *path, int err)
{
	r->status = st;
	snprintf(r->error, sizeof(r->error), "could not %s \"%s\": %s", what, path, strerror(err));
}

/* Transient conditions an operator can fix; the rest would never pass. */
static GsSendStatus
ClassifyErrno(int err)
{
	switch (err)
	{
		case ENAMETOOLONG:
		case ELOOP:
		case EINVAL:
			return GS_SEND_PERMANENT;
		default:
			return GS_SEND_RETRY;
	}
}

static void
FileTargetSend(void *state, const GsBatch *batch, GsSendResult *result)
{
	FileTarget *ft = (FileTarget *) state;
	char		dir[MAXPGPATH];
	char		mk[MAXPGPATH];
	char		tmp[MAXPGPATH];
	char		final[MAXPGPATH];
	int			fd;
	size_t		done = 0;

	result->status = GS_SEND_OK;
	result->retry_after_ms = 0;
	result->error[0] = '\0';

	/* checked when the target was made; again here, whatever wrote the row */
	if (CheckEndpoint(ft->endpoint) != NULL)
	{
		result->status = GS_SEND_PERMANENT;
		snprintf(result->error, sizeof(result->error),
				 "refusing to write outside globalsync.file_target_dir: invalid endpoint \"%s\"",
				 ft->endpoint);
		return;
	}

	TargetDir(ft, dir, sizeof(dir));
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, batch->batch_id);
	snprintf(final, sizeof(final), "%s/%s.ndjson", dir, batch->batch_id);

	strlcpy(mk, dir, sizeof(mk));
	if (pg_mkdir_p(mk, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		SetError(result, ClassifyErrno(errno), "create directory", dir, errno);
		return;
	}

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | PG_BINARY, pg_file_create_mode);
	if (fd < 0)
	{
		SetError(result, ClassifyErrno(errno), "create file", tmp, errno);
		return;
	}
	while (done < batch->len)
	{
		size_t		n = Min(batch->len - done, WRITE_CHUNK);
		ssize_t		w;

		CHECK_FOR_INTERRUPTS();
		errno = 0;
		w = write(fd, batch->payload + done, n);
		if (w <= 0)
		{
			int			save = errno ? errno : ENOSPC;

			close(fd);
			unlink(tmp);
			SetError(result, ClassifyErrno(save), "write file", tmp, save);
			return;
		}
		done += w;
	}
	if (pg_fsync(fd) != 0)
	{
		int			save = errno;

		close(fd);
		unlink(tmp);
		SetError(result, GS_SEND_RETRY, "fsync file", tmp, save);
		return;
	}
	if (close(fd) != 0)
	{
		int			save = errno;

		unlink(tmp);
		SetError(result, GS_SEND_RETRY, "close file", tmp, save);
		return;
	}
	if (rename(tmp, final) != 0)
	{
		int			save = errno;

		unlink(tmp);
		SetError(result, ClassifyErrno(save), "rename file to", final, save);
		return;
	}
	fd = open(dir, O_RDONLY | PG_BINARY, 0);
	if (fd < 0 || pg_fsync(fd) != 0)
	{
		int			save = errno;

		if (fd >= 0)
			close(fd);
		SetError(result, GS_SEND_RETRY, "fsync directory", dir, save);
		return;
	}
	close(fd);
}

/* Step 7: the file is there, regular, with every byte. */
static void
FileTargetVerify(void *state, const GsBatch *batch, GsSendResult *result)
{
	FileTarget *ft = (FileTarget *) state;
	char		dir[MAXPGPATH];
	char		final[MAXPGPATH];
	struct stat st;

	TargetDir(ft, dir, sizeof(dir));
	snprintf(final, sizeof(final), "%s/%s.ndjson", dir, batch->batch_id);
	if (lstat(final, &st) != 0)
	{
		SetError(result, GS_SEND_RETRY, "stat file", final, errno);
		return;
	}
	if (!S_ISREG(st.st_mode) || (size_t) st.st_size != batch->len)
	{
		result->status = GS_SEND_RETRY;
		snprintf(result->error, sizeof(result->error),
				 "file \"%s\" holds %lld bytes, expected %zu",
				 final, (long long) st.st_size, batch->len);
	}
}

static void
FileTargetClose(void *state)
{
}

const GsDriver gs_file_driver = {
	.kind = "file",
	.validate = FileTargetValidate,
	.open = FileTargetOpen,
	.send = FileTargetSend,
	.verify = FileTargetVerify,
	.close = FileTargetClose,
};
