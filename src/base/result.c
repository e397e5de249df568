#include "notify/result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *nt_strerror(nt_rc rc)
{
	switch (rc) {
	case NT_OK:
		return "success";
	case NT_EINVAL:
		return "invalid argument";
	case NT_ENOENT:
		return "no such file";
	case NT_EIO:
		return "input/output error";
	case NT_EPARSE:
		return "parse error";
	case NT_ETOOBIG:
		return "too big";
	case NT_ECONFIG:
		return "configuration error";
	case NT_ETEMP:
		return "temporary failure";
	case NT_EPERM:
		return "permanent failure";
	case NT_ESTATE:
		return "outbox error";
	}
	return "unknown error";
}

nt_rc nt_fail(struct nt_err *err, nt_rc rc, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

static void S_oom(size_t n) __attribute__((noreturn));

static void S_oom(size_t n)
{
	fprintf(stderr, "notify: out of memory (%zu bytes)\n", n);
	abort();
}

void *nt_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		S_oom(n);
	return p;
}

void *nt_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		S_oom(nmemb * size);
	return p;
}

void *nt_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		S_oom(n);
	return q;
}

char *nt_xstrdup(const char *s)
{
	return nt_xstrndup(s, strlen(s));
}

char *nt_xstrndup(const char *s, size_t n)
{
	char *p = nt_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *nt_xasprintf(const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;
	char *p;

	/* most strings fit: format once into the stack, copy out */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		S_oom(0);
	if ((size_t)n < sizeof(small))
		return nt_xstrndup(small, (size_t)n);
	p = nt_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
