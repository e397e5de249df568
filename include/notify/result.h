/*
 * result.h - the one result convention of notify.
 *
 * Every fallible function returns an nt_rc; NT_OK is 0, so a result can be
 * tested as a boolean and passed up unchanged.  Details go in a caller-owned
 * struct nt_err, so failure paths never allocate.  Only main.c maps results
 * to sysexits.h codes.
 *
 * Allocation goes through nt_xmalloc() and friends, which abort on OOM: a
 * half-handled OOM is worse than a restart, and the outbox design already
 * makes a kill at any instant safe.
 */
#ifndef NOTIFY_RESULT_H
#define NOTIFY_RESULT_H

#include <stdarg.h>
#include <stddef.h>

typedef enum nt_rc {
	NT_OK = 0,
	NT_EINVAL,  /* bad argument or usage */
	NT_ENOENT,  /* a named file does not exist */
	NT_EIO,	    /* a read or write failed */
	NT_EPARSE,  /* input is malformed (bad YAML, no title, bad UTF-8) */
	NT_ETOOBIG, /* input exceeds a size cap */
	NT_ECONFIG, /* configuration is invalid */
	NT_ETEMP,   /* temporary failure: retry later */
	NT_EPERM,   /* permanent failure: never retry */
	NT_ESTATE,  /* the outbox failed: a full disk, a damaged or foreign
		     * state file (not a post's fault: exit 74, not 66) */
} nt_rc;

/* Human-readable detail of the last failure; msg is always NUL-terminated. */
struct nt_err {
	char msg[256];
};

/* Static name of 'rc' ("parse error", ...); never NULL. */
const char *nt_strerror(nt_rc rc);

/* Formats into err->msg (truncating) and returns 'rc', so callers can write
 * "return nt_fail(err, NT_EPARSE, "%s: ...", path);".  'err' may be NULL. */
nt_rc nt_fail(struct nt_err *err, nt_rc rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Allocators that never return NULL: on OOM they print one line and abort.
 * Memory is released with free(3). */
void *nt_xmalloc(size_t n);
void *nt_xcalloc(size_t nmemb, size_t size);
void *nt_xrealloc(void *p, size_t n);
char *nt_xstrdup(const char *s);
char *nt_xstrndup(const char *s, size_t n);
char *nt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
