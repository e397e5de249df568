/*
 * buf.h - growable byte strings and string vectors.
 *
 * Invariants: a struct nt_buf is either NT_BUF_INIT (buf NULL, len 0) or
 * owns a NUL-terminated allocation of cap bytes holding len bytes of text.
 * Appending never fails (allocation aborts on OOM, see result.h).  A
 * struct nt_strv owns its strings and its array.
 */
#ifndef NOTIFY_BUF_H
#define NOTIFY_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "notify/result.h"

struct nt_buf {
	char *buf;
	size_t len;
	size_t cap;
};
#define NT_BUF_INIT                                                            \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

void nt_buf_add(struct nt_buf *b, const char *s, size_t n);
void nt_buf_adds(struct nt_buf *b, const char *s);
void nt_buf_addc(struct nt_buf *b, char c);
void nt_buf_addf(struct nt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Borrowed view; "" for an empty buffer, valid until the next append. */
const char *nt_buf_str(const struct nt_buf *b);
/* Hands the text to the caller, who frees it with free(3); never NULL.
 * The buffer is reset to NT_BUF_INIT. */
char *nt_buf_detach(struct nt_buf *b);
/* Frees the text and resets to NT_BUF_INIT. */
void nt_buf_release(struct nt_buf *b);

struct nt_strv {
	char **v;
	size_t n;
	size_t cap;
};
#define NT_STRV_INIT                                                           \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Appends 's'; takes ownership of it. */
void nt_strv_push(struct nt_strv *sv, char *s);
/* Appends a copy of 's'. */
void nt_strv_pushdup(struct nt_strv *sv, const char *s);
bool nt_strv_contains(const struct nt_strv *sv, const char *s);
/* Frees every string and the array; resets to NT_STRV_INIT. */
void nt_strv_clear(struct nt_strv *sv);

/* Reads the regular file 'path', at most 'max' bytes.  A symbolic link is
 * refused (O_NOFOLLOW) and a FIFO cannot block the caller (O_NONBLOCK), so
 * an untrusted path is safe to give.  On NT_OK *buf is owned (free(3)),
 * NUL-terminated after *len bytes; on failure both are untouched.
 * Results: NT_ENOENT, NT_EIO (unreadable, a link, not a regular file),
 * NT_ETOOBIG (over 'max'); 'err' names the file. */
nt_rc nt_read_file(const char *path, size_t max, char **buf, size_t *len,
		   struct nt_err *err);

#endif
