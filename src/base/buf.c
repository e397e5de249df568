#include "notify/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/result.h"

static void S_grow(struct nt_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : 64;

	if (need <= b->cap)
		return;
	while (cap < need)
		cap *= 2;
	b->buf = nt_xrealloc(b->buf, cap);
	b->cap = cap;
}

void nt_buf_add(struct nt_buf *b, const char *s, size_t n)
{
	S_grow(b, n);
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void nt_buf_adds(struct nt_buf *b, const char *s)
{
	nt_buf_add(b, s, strlen(s));
}

void nt_buf_addc(struct nt_buf *b, char c)
{
	nt_buf_add(b, &c, 1);
}

void nt_buf_addf(struct nt_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n < sizeof(small)) {
		nt_buf_add(b, small, (size_t)n);
		return;
	}
	S_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *nt_buf_str(const struct nt_buf *b)
{
	return b->buf ? b->buf : "";
}

char *nt_buf_detach(struct nt_buf *b)
{
	char *s = b->buf ? b->buf : nt_xstrdup("");

	b->buf = NULL;
	b->len = b->cap = 0;
	return s;
}

void nt_buf_release(struct nt_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void nt_strv_push(struct nt_strv *sv, char *s)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = nt_xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = s;
}

void nt_strv_pushdup(struct nt_strv *sv, const char *s)
{
	nt_strv_push(sv, nt_xstrdup(s));
}

bool nt_strv_contains(const struct nt_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void nt_strv_clear(struct nt_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* Reads a regular file of at most 'max' bytes.  O_NOFOLLOW refuses a
 * symbolic link, O_NONBLOCK keeps a FIFO from hanging us. */
nt_rc nt_read_file(const char *path, size_t max, char **buf, size_t *len,
		   struct nt_err *err)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0, cap;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	nt_rc rc;

	if (fd < 0) {
		if (errno == ENOENT)
			return nt_fail(err, NT_ENOENT, "%s: no such file",
				       path);
		if (errno == ELOOP)
			return nt_fail(err, NT_EIO, "%s: is a symbolic link",
				       path);
		return nt_fail(err, NT_EIO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		rc = nt_fail(err, NT_EIO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = nt_fail(err, NT_EIO, "%s: %s", path,
			     S_ISDIR(st.st_mode) ? "is a directory"
						 : "is not a regular file");
		goto fail;
	}
	if ((uintmax_t)st.st_size > max) {
		rc = nt_fail(err, NT_ETOOBIG,
			     "%s: %jd bytes, over the %zu byte cap", path,
			     (intmax_t)st.st_size, max);
		goto fail;
	}
	/* sized from fstat, but the file may grow while we read: read until
	 * EOF and stop one byte past the cap */
	cap = (size_t)st.st_size + 1;
	data = nt_xmalloc(cap + 1);
	for (;;) {
		ssize_t r;

		if (got == cap) {
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			data = nt_xrealloc(data, cap + 1);
		}
		r = read(fd, data + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = nt_fail(err, NT_EIO, "%s: %s", path,
				     strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > max) {
			rc = nt_fail(err, NT_ETOOBIG,
				     "%s: over the %zu byte cap", path, max);
			goto fail;
		}
	}
	close(fd);
	data[got] = '\0';
	*buf = data;
	*len = got;
	return NT_OK;
fail:
	free(data);
	close(fd);
	return rc;
}
