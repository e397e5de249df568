/*
 * report.h - what a pass tells the supervisor: the lines `notify-scan
 * scan --worker` writes on its stdout and notify-watchd reads, defined
 * once for both sides (as OpenSMTPD declares its imsg types once, in
 * smtpd.h).  Libc only: notify-watchd links it.
 *
 * A report is lines of tab-separated fields, the first naming the kind:
 *
 *   mode	git|dir			how the site is watched
 *   repo	PATH			the site's folder
 *   branch	NAME			git mode: the branch followed
 *   watch	git|refs|posts	PATH	REL	a folder to watch (REL: posts
 *only, its path from the site, else "") settle_ms	N
 *dir mode: quiet time after a change
 *   fetch_interval	N		seconds between fetches, 0: none
 *   scanned				the batch is committed; the lines so
 *					far are the whole of what to watch
 *   next	UNIX			when the next retry or held post is
 *					due, -1: nothing waits
 *   counts	POSTS	SENT	RETRIED	FAILED	what this pass did
 *   end				the pass went through: the report is
 *					whole (none is applied without it)
 *
 * in that order, `scanned` before the sends begin (the supervisor
 * applies what precedes it at once: a post written while the pass sends
 * is seen), the others at the end.  A field never holds a tab or a line
 * break (report_put() refuses such a value: a folder so named is not
 * watched; scans still find its files).
 *
 * The supervisor takes a report as untrusted: report_parse() checks every
 * field and refuses, rather than guesses, a line it does not know.
 */
#ifndef NOTIFY_REPORT_H
#define NOTIFY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "notify/result.h"

/* Bytes of one line, its '\n' left out: a watch line holds two paths. */
#define REPORT_LINE_MAX (2 * 4096 + 64)
#define REPORT_SETTLE_MAX 60000	     /* ms, settle_ms at most */
#define REPORT_FETCH_MAX (24 * 3600) /* s, fetch_interval at most */

enum report_kind {
	REPORT_MODE,
	REPORT_REPO,
	REPORT_BRANCH,
	REPORT_WATCH,
	REPORT_SETTLE_MS,
	REPORT_FETCH_INTERVAL,
	REPORT_SCANNED,
	REPORT_NEXT,
	REPORT_COUNTS,
	REPORT_END,
};

enum report_dir { REPORT_DIR_GIT, REPORT_DIR_REFS, REPORT_DIR_POSTS };

/* One line.  Which fields count depends on 'kind'; the strings are
 * borrowed (from the caller for report_put(), from the parsed line for
 * report_parse()). */
struct report_line {
	enum report_kind kind;
	bool git;	     /* MODE */
	const char *str;     /* REPO, BRANCH */
	enum report_dir dir; /* WATCH */
	const char *path;    /* WATCH: absolute */
	const char *rel;     /* WATCH: "" unless posts */
	int64_t num;	     /* SETTLE_MS, FETCH_INTERVAL, NEXT */
	uint64_t counts[4];  /* COUNTS: posts, sent, retried, failed */
};

/* Static name of 'k' as it begins a line ("watch"); "?" if unknown. */
const char *report_kind_name(enum report_kind k);

/* Writes 'l' to 'out' as one line.  False, and nothing written, when a
 * field cannot be carried: a string with a tab or a line break, a watch
 * path that is not absolute, a line over REPORT_LINE_MAX, a number out of
 * its range. */
bool report_put(FILE *out, const struct report_line *l);

/* Parses one line: the 'len' bytes at 'line', with a NUL after them (its
 * '\n' left out; untrusted, may hold anything).  The line is cut in place
 * (tabs become NULs), so the strings of *l point into it.  On NT_OK *l is
 * filled; NT_EPARSE when the kind is unknown, a field is missing, extra,
 * empty or out of range, a number is not plain decimal, the line holds a
 * NUL or a CR, or runs past REPORT_LINE_MAX.  On failure *l is
 * untouched. */
nt_rc report_parse(char *line, size_t len, struct report_line *l);

#endif
