#include "notify/buf.h"

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
