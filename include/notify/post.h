/*
 * post.h - one Jekyll post, parsed: front matter and the sections of its
 * body that alerts carry.
 *
 * A post file is untrusted: post_create() refuses what is not a regular
 * file, anything over the size cap, NUL bytes, invalid UTF-8, a missing or
 * malformed front matter, a missing title or a malformed date, each with one
 * line in 'err' that names the file (and the line where known).  CRLF line
 * endings and a UTF-8 BOM are accepted.
 *
 * Sections are found by meaning, not exact text (DESIGN.md, step 3): a
 * heading is an ATX or setext heading, or a top-level paragraph whose first
 * line is one strong span; its text is folded (case, accents) and matched
 * against the alias lists of struct post_aliases.
 */
#ifndef NOTIFY_POST_H
#define NOTIFY_POST_H

#include <stdbool.h>
#include <stddef.h>

#include "notify/result.h"

struct post;

enum post_section {
	POST_SEC_NONE = -1,
	POST_SEC_KEY_POINTS = 0,
	POST_SEC_VULNERABILITIES,
	POST_SEC_RECOMMENDATIONS,
	POST_SEC_COUNT
};

/* Default cap on a post file: far above any real post (a few KiB).  It
 * also bounds Debian 12's cmark 0.30.2, quadratic on some bracket runs
 * (CVE-2023-22486): a hostile 256 KiB post costs it about 3 s, 1 MiB
 * minutes. */
#define POST_MAX_BYTES_DEFAULT (256 * 1024)

/* Alias lists, one NULL-terminated array per section class.  Headings and
 * aliases are folded (case, accents); an alias matches where a word of the
 * heading starts with it ("vulnérabilit" matches "Autres vulnérabilités"),
 * or, written "^mesures", only at the start of the heading.  A heading
 * belongs to the first class, in enum order, with a matching alias.  A
 * NULL array means the built-in list of that class. */
struct post_aliases {
	const char *const *cls[POST_SEC_COUNT];
};

struct post_opts {
	size_t max_bytes;		    /* 0: POST_MAX_BYTES_DEFAULT */
	const struct post_aliases *aliases; /* NULL: built-in lists */
};

/* Built-in alias list of 'sec' (NULL-terminated, static). */
const char *const *post_default_aliases(enum post_section sec);

/* Reads and parses the post at 'path' (symbolic links are refused).  On
 * NT_OK, *out is owned: free it with post_free().  On failure *out is
 * untouched and 'err' names the file.  Results: NT_ENOENT (no such file),
 * NT_EIO (unreadable, a directory or other non-regular file, a symbolic
 * link), NT_ETOOBIG (over opts->max_bytes), NT_EPARSE (everything else).
 * 'opts' may be NULL. */
nt_rc post_create(const char *path, const struct post_opts *opts,
		  struct post **out, struct nt_err *err);

/* Same as post_create() for a post already in memory: 'name' is the file
 * name used for the id, the slug and messages; buf[0..len) is untrusted
 * and need not be NUL-terminated. */
nt_rc post_parse_buffer(const char *name, const char *buf, size_t len,
			const struct post_opts *opts, struct post **out,
			struct nt_err *err);

/* Frees 'p' and everything it owns; post_free(NULL) does nothing. */
void post_free(struct post *p);

/* Getters.  Strings are borrowed, valid until post_free(); NULL means the
 * post has no such value. */
const char *post_path(const struct post *p);  /* as given */
const char *post_id(const struct post *p);    /* file name less extension */
const char *post_slug(const struct post *p);  /* id less its date prefix */
const char *post_title(const struct post *p); /* entities decoded */
const char *post_date(const struct post *p);  /* YYYY-MM-DD, never NULL */
/* Date and time as written (time 00:00:00 when absent). */
void post_datetime(const struct post *p, int *year, int *month, int *day,
		   int *hour, int *min, int *sec);
/* Whether the date named its offset from UTC ("Z", "+02:00"), and that
 * offset in minutes east of UTC (0 when it did not). */
bool post_zone(const struct post *p, int *minutes_east);
const char *post_permalink(const struct post *p);
bool post_published(const struct post *p);
const char *post_headline(const struct post *p);
const char *post_summary(const struct post *p); /* inline Markdown */
const char *post_source(const struct post *p);	/* last [Source](url) */

enum post_list {
	POST_LIST_TAGS,
	POST_LIST_CATEGORIES,
	POST_LIST_KEY_POINTS, /* items keep their inline Markdown */
	POST_LIST_VULNERABILITIES,
	POST_LIST_RECOMMENDATIONS,
	POST_LIST_CVES, /* upper case, unique, in first-seen order */
};

/* Borrowed array of *n borrowed strings (n may be 0), valid until
 * post_free(). */
const char *const *post_list(const struct post *p, enum post_list which,
			     size_t *n);

#endif
