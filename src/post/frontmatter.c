#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify/text.h"
#include "post_int.h"
#include "yaml_int.h"

/* The front matter starts on line 2, after the opening fence. */
#define FM_FIRST_LINE 2
/* Tags and categories kept at most: an alert shows a few, and the
 * de-duplication is quadratic. */
#define FM_MAX_LIST 256

struct fm {
	yaml_document_t doc;
	const char *name;
	struct nt_err *err;
};

static int S_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + FM_FIRST_LINE;
}

/* Scalar text of 'n', or NULL when it is not a scalar or is YAML null. */
static const char *S_scalar(struct fm *fm, const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return nt_yaml_scalar(&fm->doc, (int)(n - fm->doc.nodes.start) + 1,
			      NULL);
}

static bool S_days_ok(int y, int m, int d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	int max;

	if (m < 1 || m > 12 || d < 1)
		return false;
	max = mdays[m - 1] + (m == 2 && leap);
	return d <= max;
}

/* Reads 'n' digits at *s into *v and advances *s. */
static bool S_digits(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*s)[i];

		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (c - '0');
	}
	*s += n;
	return true;
}

/* YYYY-MM-DD, optionally followed by [ T]HH:MM[:SS[.frac]] and a zone
 * ( Z, +HH:MM, +HHMM, -HH): the forms Jekyll accepts. */
static bool S_parse_date(struct post *p, const char *s)
{
	int hh = 0, mi = 0, ss = 0, zh = 0, zm = 0, sign = 1;
	bool zone = false;

	if (!S_digits(&s, 4, &p->year) || *s++ != '-' ||
	    !S_digits(&s, 2, &p->month) || *s++ != '-' ||
	    !S_digits(&s, 2, &p->day) || !S_days_ok(p->year, p->month, p->day))
		return false;
	if (*s == ' ' || *s == 'T' || *s == 't') {
		s++;
		while (*s == ' ')
			s++;
		if (!S_digits(&s, 2, &hh) || *s++ != ':' ||
		    !S_digits(&s, 2, &mi))
			return false;
		if (*s == ':' && (s++, !S_digits(&s, 2, &ss)))
			return false;
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
		while (*s == ' ')
			s++;
		if (*s == 'Z' || *s == 'z') {
			s++;
			zone = true;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '-' ? -1 : 1;
			zone = true;
			if (!S_digits(&s, 2, &zh) || zh > 14)
				return false;
			if (*s == ':')
				s++;
			if (*s && (!S_digits(&s, 2, &zm) || zm > 59))
				return false;
		}
	}
	if (*s != '\0' || hh > 23 || mi > 59 || ss > 60)
		return false;
	p->hour = hh;
	p->min = mi;
	p->sec = ss;
	p->has_zone = zone;
	p->zone_min = sign * (zh * 60 + zm);
	snprintf(p->date, sizeof(p->date), "%04d-%02d-%02d", p->year, p->month,
		 p->day);
	return true;
}

/* Splits a space-separated scalar into words, as Jekyll does for a
 * "tags: a b" or "categories: a b" string. */
static void S_push_words(struct nt_strv *sv, const char *s)
{
	while (*s) {
		size_t n;
		char *word;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		n = strcspn(s, " \t\n");
		if (n == 0)
			break;
		word = nt_xstrndup(s, n);
		if (sv->n < FM_MAX_LIST && !nt_strv_contains(sv, word))
			nt_strv_push(sv, word);
		else
			free(word);
		s += n;
	}
}

static nt_rc S_list(struct fm *fm, const char *key, yaml_node_t *v,
		    struct nt_strv *sv)
{
	const char *s = S_scalar(fm, v);

	if (v->type == YAML_SCALAR_NODE) {
		if (s)
			S_push_words(sv, s);
		return NT_OK;
	}
	if (v->type != YAML_SEQUENCE_NODE)
		return nt_fail(fm->err, NT_EPARSE,
			       "%s:%d: '%s' must be a list or a string",
			       fm->name, S_line(v), key);
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&fm->doc, *it);

		s = S_scalar(fm, item);
		if (item == NULL || item->type != YAML_SCALAR_NODE)
			return nt_fail(fm->err, NT_EPARSE,
				       "%s:%d: '%s' items must be strings",
				       fm->name, S_line(item ? item : v), key);
		if (s && sv->n < FM_MAX_LIST && !nt_strv_contains(sv, s))
			nt_strv_pushdup(sv, s);
	}
	return NT_OK;
}

static nt_rc S_scalar_key(struct fm *fm, struct post *p, const char *key,
			  yaml_node_t *v)
{
	const char *s = S_scalar(fm, v);

	if (v->type != YAML_SCALAR_NODE)
		return nt_fail(fm->err, NT_EPARSE,
			       "%s:%d: '%s' must be a string", fm->name,
			       S_line(v), key);
	if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
		return nt_fail(fm->err, NT_EPARSE, "%s:%d: NUL byte in '%s'",
			       fm->name, S_line(v), key);
	if (strcmp(key, "title") == 0) {
		free(p->title);
		p->title = s ? text_decode_entities(s) : NULL;
	} else if (strcmp(key, "date") == 0) {
		if (s && !S_parse_date(p, s))
			return nt_fail(fm->err, NT_EPARSE,
				       "%s:%d: date '%.40s' is not a valid "
				       "YYYY-MM-DD [HH:MM[:SS]] [+ZZZZ]",
				       fm->name, S_line(v), s);
	} else if (strcmp(key, "permalink") == 0) {
		free(p->permalink);
		p->permalink = s ? nt_xstrdup(s) : NULL;
	} else if (strcmp(key, "published") == 0) {
		p->published = !nt_yaml_is_false(s);
	}
	return NT_OK;
}

static nt_rc S_mapping(struct fm *fm, struct post *p, yaml_node_t *root)
{
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&fm->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&fm->doc, pr->value);
		const char *key = S_scalar(fm, k);
		nt_rc rc = NT_OK;

		if (key == NULL || v == NULL)
			continue;
		if (strcmp(key, "tags") == 0)
			rc = S_list(fm, key, v, &p->tags);
		else if (strcmp(key, "categories") == 0 ||
			 strcmp(key, "category") == 0)
			rc = S_list(fm, key, v, &p->categories);
		else if (strcmp(key, "title") == 0 ||
			 strcmp(key, "date") == 0 ||
			 strcmp(key, "permalink") == 0 ||
			 strcmp(key, "published") == 0)
			rc = S_scalar_key(fm, p, key, v);
		if (rc)
			return rc;
	}
	return NT_OK;
}

/* Date from a "YYYY-MM-DD-" file name, Jekyll's fallback. */
static bool S_date_from_id(struct post *p)
{
	char d[11];

	if (strlen(p->id) < 11 || p->id[10] != '-')
		return false;
	memcpy(d, p->id, 10);
	d[10] = '\0';
	return S_parse_date(p, d);
}

nt_rc fm_parse(struct post *p, const char *name, const char *yaml, size_t len,
	       struct nt_err *err)
{
	struct fm fm = {.name = name, .err = err};
	const char *problem;
	yaml_node_t *root;
	int line;
	nt_rc rc;

	if (!nt_yaml_load(yaml, len, &fm.doc, &line, &problem))
		return nt_fail(err, NT_EPARSE, "%s:%d: invalid YAML: %s", name,
			       line + FM_FIRST_LINE, problem);
	root = yaml_document_get_root_node(&fm.doc);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		rc = nt_fail(err, NT_EPARSE,
			     "%s:%d: front matter is not a mapping of keys",
			     name, FM_FIRST_LINE);
		goto out;
	}
	rc = S_mapping(&fm, p, root);
	if (rc)
		goto out;
	if (p->title == NULL || p->title[0] == '\0') {
		rc = nt_fail(err, NT_EPARSE, "%s: front matter has no title",
			     name);
		goto out;
	}
	if (p->date[0] == '\0' && !S_date_from_id(p))
		rc = nt_fail(err, NT_EPARSE,
			     "%s: no date in front matter or file name", name);
out:
	yaml_document_delete(&fm.doc);
	return rc;
}
