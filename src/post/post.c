#include <stdlib.h>
#include <string.h>

#include "notify/text.h"
#include "post_int.h"

static const char *const S_kp[] = {"points cles", "informations cles",
				   "key points", "a retenir", NULL};
static const char *const S_vuln[] = {"vulnerabilit", NULL};
static const char *const S_rec[] = {"recommandation", "recommendation",
				    "^mesures", NULL};

const char *const *post_default_aliases(enum post_section sec)
{
	switch (sec) {
	case POST_SEC_KEY_POINTS:
		return S_kp;
	case POST_SEC_VULNERABILITIES:
		return S_vuln;
	case POST_SEC_RECOMMENDATIONS:
		return S_rec;
	default:
		return NULL;
	}
}

static const char *S_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* 1-based line of byte offset 'off' in buf. */
static int S_line_of(const char *buf, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

/* Sets id (file name less extension) and slug (id less "YYYY-MM-DD-"). */
static void S_names(struct post *p, const char *name)
{
	const char *base = S_basename(name);
	const char *dot = strrchr(base, '.');
	size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	const char *id;
	bool dated = n > 11;

	p->id = nt_xstrndup(base, n);
	id = p->id;
	for (int i = 0; dated && i < 11; i++) {
		bool dash = i == 4 || i == 7 || i == 10;

		dated = dash ? id[i] == '-' : (id[i] >= '0' && id[i] <= '9');
	}
	p->slug = nt_xstrdup(dated ? id + 11 : id);
}

/* Drops CR before LF and turns a lone CR into LF in place, so that line
 * numbers, front matter fences and cmark all see one kind of line ending;
 * returns the new length. */
static size_t S_strip_cr(char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			continue;
		/* a lone CR ends a line for cmark too: make it one */
		buf[o++] = buf[i] == '\r' ? '\n' : buf[i];
	}
	buf[o] = '\0';
	return o;
}

/* Length of a fence line ("---" or "..." plus trailing blanks and the
 * newline) at s, or 0 when the line there is not that fence. */
static size_t S_fence(const char *s, size_t n, bool open)
{
	size_t i = 3;

	if (n < 3 || (strncmp(s, "---", 3) && (open || strncmp(s, "...", 3))))
		return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == n)
		return i;
	return s[i] == '\n' ? i + 1 : 0;
}

static nt_rc S_check_bytes(const char *name, const char *buf, size_t len,
			   struct nt_err *err)
{
	const char *nul = memchr(buf, '\0', len);
	size_t bad;

	if (nul)
		return nt_fail(err, NT_EPARSE, "%s:%d: NUL byte in post", name,
			       S_line_of(buf, (size_t)(nul - buf)));
	if (!text_utf8_valid(buf, len, &bad))
		return nt_fail(err, NT_EPARSE, "%s:%d: invalid UTF-8", name,
			       S_line_of(buf, bad));
	return NT_OK;
}

static nt_rc S_parse(struct post *p, const char *name, char *buf, size_t len,
		     const struct post_opts *opts, struct nt_err *err)
{
	size_t open, off, fm_start;
	nt_rc rc;

	if (len == 0)
		return nt_fail(err, NT_EPARSE, "%s: empty file", name);
	rc = S_check_bytes(name, buf, len, err);
	if (rc)
		return rc;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		buf += 3, len -= 3;
	len = S_strip_cr(buf, len);
	open = S_fence(buf, len, true);
	if (open == 0)
		return nt_fail(err, NT_EPARSE,
			       "%s:1: no front matter (expected '---')", name);
	fm_start = off = open;
	for (;;) {
		const char *nl;
		size_t close = S_fence(buf + off, len - off, false);

		if (close) {
			rc = fm_parse(p, name, buf + fm_start, off - fm_start,
				      err);
			if (rc)
				return rc;
			off += close;
			break;
		}
		nl = memchr(buf + off, '\n', len - off);
		if (nl == NULL)
			return nt_fail(err, NT_EPARSE,
				       "%s: front matter is not closed "
				       "(no '---' line)",
				       name);
		off = (size_t)(nl - buf) + 1;
	}
	sections_parse(p, buf + off, len - off, opts ? opts->aliases : NULL);
	return NT_OK;
}

nt_rc post_parse_buffer(const char *name, const char *buf, size_t len,
			const struct post_opts *opts, struct post **out,
			struct nt_err *err)
{
	size_t max = opts && opts->max_bytes ? opts->max_bytes
					     : POST_MAX_BYTES_DEFAULT;
	struct post *p;
	char *copy;
	nt_rc rc;

	if (len > max)
		return nt_fail(err, NT_ETOOBIG,
			       "%s: post is %zu bytes, over the %zu byte cap",
			       name, len, max);
	p = nt_xcalloc(1, sizeof(*p));
	p->path = nt_xstrdup(name);
	p->published = true;
	S_names(p, name);
	copy = nt_xstrndup(buf, len); /* room for the NUL S_strip_cr writes */
	rc = S_parse(p, name, copy, len, opts, err);
	free(copy);
	if (rc) {
		post_free(p);
		return rc;
	}
	*out = p;
	return NT_OK;
}

nt_rc post_create(const char *path, const struct post_opts *opts,
		  struct post **out, struct nt_err *err)
{
	size_t max = opts && opts->max_bytes ? opts->max_bytes
					     : POST_MAX_BYTES_DEFAULT;
	char *buf = NULL;
	size_t len = 0;
	nt_rc rc = nt_read_file(path, max, &buf, &len, err);

	if (rc)
		return rc;
	rc = post_parse_buffer(path, buf, len, opts, out, err);
	free(buf);
	return rc;
}

void post_free(struct post *p)
{
	if (p == NULL)
		return;
	free(p->path);
	free(p->id);
	free(p->slug);
	free(p->title);
	free(p->permalink);
	nt_strv_clear(&p->tags);
	nt_strv_clear(&p->categories);
	free(p->headline);
	free(p->summary);
	free(p->source);
	for (int i = 0; i < POST_SEC_COUNT; i++)
		nt_strv_clear(&p->sections[i]);
	nt_strv_clear(&p->cves);
	free(p);
}

const char *post_path(const struct post *p)
{
	return p->path;
}

const char *post_id(const struct post *p)
{
	return p->id;
}

const char *post_slug(const struct post *p)
{
	return p->slug;
}

const char *post_title(const struct post *p)
{
	return p->title;
}

const char *post_date(const struct post *p)
{
	return p->date;
}

void post_datetime(const struct post *p, int *year, int *month, int *day,
		   int *hour, int *min, int *sec)
{
	*year = p->year;
	*month = p->month;
	*day = p->day;
	*hour = p->hour;
	*min = p->min;
	*sec = p->sec;
}

bool post_zone(const struct post *p, int *minutes_east)
{
	*minutes_east = p->has_zone ? p->zone_min : 0;
	return p->has_zone;
}

const char *post_permalink(const struct post *p)
{
	return p->permalink;
}

bool post_published(const struct post *p)
{
	return p->published;
}

const char *post_headline(const struct post *p)
{
	return p->headline;
}

const char *post_summary(const struct post *p)
{
	return p->summary;
}

const char *post_source(const struct post *p)
{
	return p->source;
}

const char *const *post_list(const struct post *p, enum post_list which,
			     size_t *n)
{
	const struct nt_strv *sv;

	switch (which) {
	case POST_LIST_TAGS:
		sv = &p->tags;
		break;
	case POST_LIST_CATEGORIES:
		sv = &p->categories;
		break;
	case POST_LIST_KEY_POINTS:
		sv = &p->sections[POST_SEC_KEY_POINTS];
		break;
	case POST_LIST_VULNERABILITIES:
		sv = &p->sections[POST_SEC_VULNERABILITIES];
		break;
	case POST_LIST_RECOMMENDATIONS:
		sv = &p->sections[POST_SEC_RECOMMENDATIONS];
		break;
	case POST_LIST_CVES:
	default:
		sv = &p->cves;
		break;
	}
	*n = sv->n;
	return (const char *const *)sv->v;
}
