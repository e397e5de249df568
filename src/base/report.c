/*
 * report.c - the lines between a pass and the supervisor (report.h).
 */
#include "notify/report.h"

#include <inttypes.h>
#include <string.h>

#define REPORT_FIELDS_MAX 6 /* the kind and five fields (counts) */

static const char *const S_kinds[] = {
	[REPORT_MODE] = "mode",
	[REPORT_REPO] = "repo",
	[REPORT_BRANCH] = "branch",
	[REPORT_WATCH] = "watch",
	[REPORT_SETTLE_MS] = "settle_ms",
	[REPORT_FETCH_INTERVAL] = "fetch_interval",
	[REPORT_SCANNED] = "scanned",
	[REPORT_NEXT] = "next",
	[REPORT_COUNTS] = "counts",
	[REPORT_END] = "end",
};
#define N_KINDS (sizeof(S_kinds) / sizeof(*S_kinds))

/* Fields after the kind, per kind. */
static const int S_nfields[] = {
	[REPORT_MODE] = 1,	[REPORT_REPO] = 1,
	[REPORT_BRANCH] = 1,	[REPORT_WATCH] = 3,
	[REPORT_SETTLE_MS] = 1, [REPORT_FETCH_INTERVAL] = 1,
	[REPORT_SCANNED] = 0,	[REPORT_NEXT] = 1,
	[REPORT_COUNTS] = 4,	[REPORT_END] = 0,
};

static const char *const S_dirs[] = {"git", "refs", "posts"};

const char *report_kind_name(enum report_kind k)
{
	return (size_t)k < N_KINDS ? S_kinds[k] : "?";
}

/* ---- writing ----------------------------------------------------------- */

static bool S_clean(const char *s)
{
	return s && s[strcspn(s, "\t\r\n")] == '\0';
}

/* Whether the fields of 'l' can be carried. */
static bool S_put_ok(const struct report_line *l)
{
	size_t k = strlen(report_kind_name(l->kind));

	switch (l->kind) {
	case REPORT_REPO:
	case REPORT_BRANCH:
		return S_clean(l->str) && l->str[0] != '\0' &&
		       k + 1 + strlen(l->str) <= REPORT_LINE_MAX;
	case REPORT_WATCH:
		return (size_t)l->dir < 3 && S_clean(l->path) &&
		       l->path[0] == '/' &&
		       (l->rel == NULL || S_clean(l->rel)) &&
		       (l->dir == REPORT_DIR_POSTS) ==
			       (l->rel != NULL && l->rel[0] != '\0') &&
		       k + strlen(S_dirs[l->dir]) + strlen(l->path) +
				       (l->rel ? strlen(l->rel) : 0) + 3 <=
			       REPORT_LINE_MAX;
	case REPORT_SETTLE_MS:
		return l->num >= 0 && l->num <= REPORT_SETTLE_MAX;
	case REPORT_FETCH_INTERVAL:
		return l->num >= 0 && l->num <= REPORT_FETCH_MAX;
	case REPORT_NEXT:
		return l->num >= -1;
	case REPORT_MODE:
	case REPORT_SCANNED:
	case REPORT_COUNTS:
	case REPORT_END:
		return true;
	}
	return false;
}

bool report_put(FILE *out, const struct report_line *l)
{
	const char *k = report_kind_name(l->kind);

	if (!S_put_ok(l))
		return false;
	switch (l->kind) {
	case REPORT_MODE:
		fprintf(out, "%s\t%s\n", k, l->git ? "git" : "dir");
		break;
	case REPORT_REPO:
	case REPORT_BRANCH:
		fprintf(out, "%s\t%s\n", k, l->str);
		break;
	case REPORT_WATCH:
		fprintf(out, "%s\t%s\t%s\t%s\n", k, S_dirs[l->dir], l->path,
			l->rel ? l->rel : "");
		break;
	case REPORT_SETTLE_MS:
	case REPORT_FETCH_INTERVAL:
	case REPORT_NEXT:
		fprintf(out, "%s\t%" PRId64 "\n", k, l->num);
		break;
	case REPORT_COUNTS:
		fprintf(out,
			"%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
			"\n",
			k, l->counts[0], l->counts[1], l->counts[2],
			l->counts[3]);
		break;
	case REPORT_SCANNED:
	case REPORT_END:
		fprintf(out, "%s\n", k);
		break;
	}
	return true;
}

/* ---- reading ----------------------------------------------------------- */

/* A plain decimal number ("-1" allowed when 'neg'), at most 18 digits, so
 * that it never overflows. */
static bool S_num(const char *s, bool neg, int64_t *out)
{
	int64_t v = 0;
	bool minus = neg && s[0] == '-';
	size_t n;

	s += minus;
	n = strlen(s);
	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return false;
	if (n > 1 && s[0] == '0')
		return false; /* one spelling a number */
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*out = minus ? -v : v;
	return true;
}

/* Splits 'line' at its tabs: *n fields (the kind first), false past
 * REPORT_FIELDS_MAX. */
static bool S_split(char *line, char **f, int *n)
{
	*n = 0;
	for (char *p = line;;) {
		char *tab = strchr(p, '\t');

		if (*n == REPORT_FIELDS_MAX)
			return false;
		f[(*n)++] = p;
		if (tab == NULL)
			return true;
		*tab = '\0';
		p = tab + 1;
	}
}

static int S_kind_of(const char *name)
{
	for (size_t i = 0; i < N_KINDS; i++)
		if (strcmp(S_kinds[i], name) == 0)
			return (int)i;
	return -1;
}

/* Fills 'l' from fields f[1..] of a line of kind l->kind. */
static bool S_fields(char **f, struct report_line *l)
{
	int64_t c;

	switch (l->kind) {
	case REPORT_MODE:
		l->git = strcmp(f[1], "git") == 0;
		return l->git || strcmp(f[1], "dir") == 0;
	case REPORT_REPO:
	case REPORT_BRANCH:
		l->str = f[1];
		return f[1][0] != '\0';
	case REPORT_WATCH:
		for (l->dir = 0; l->dir < 3; l->dir++)
			if (strcmp(f[1], S_dirs[l->dir]) == 0)
				break;
		l->path = f[2];
		l->rel = f[3];
		return l->dir < 3 && f[2][0] == '/' &&
		       (l->dir == REPORT_DIR_POSTS ? f[3][0] != '\0'
						   : f[3][0] == '\0');
	case REPORT_SETTLE_MS:
		return S_num(f[1], false, &l->num) &&
		       l->num <= REPORT_SETTLE_MAX;
	case REPORT_FETCH_INTERVAL:
		return S_num(f[1], false, &l->num) &&
		       l->num <= REPORT_FETCH_MAX;
	case REPORT_NEXT:
		return S_num(f[1], true, &l->num) && l->num >= -1;
	case REPORT_COUNTS:
		for (int i = 0; i < 4; i++) {
			if (!S_num(f[1 + i], false, &c))
				return false;
			l->counts[i] = (uint64_t)c;
		}
		return true;
	case REPORT_SCANNED:
	case REPORT_END:
		return true;
	}
	return false;
}

nt_rc report_parse(char *line, size_t len, struct report_line *l)
{
	char *f[REPORT_FIELDS_MAX];
	struct report_line out = {0};
	int n = 0, k;

	if (len > REPORT_LINE_MAX || memchr(line, '\0', len) != NULL ||
	    memchr(line, '\r', len) != NULL || line[len] != '\0')
		return NT_EPARSE;
	if (!S_split(line, f, &n))
		return NT_EPARSE;
	k = S_kind_of(f[0]);
	if (k < 0 || S_nfields[k] != n - 1)
		return NT_EPARSE;
	out.kind = (enum report_kind)k;
	if (!S_fields(f, &out))
		return NT_EPARSE;
	*l = out;
	return NT_OK;
}
