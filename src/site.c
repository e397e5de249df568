#include "notify/site.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "notify/buf.h"
#include "notify/post.h"

/* A site root deeper than this above its post is not worth the walk. */
#define SITE_MAX_DEPTH 64
/* A _config.yml past this size is not a Jekyll config (the blog's: 10 KB). */
#define SITE_CONFIG_MAX (1024 * 1024)

struct site {
	char *root;
	char *url;
	char *baseurl;
	char *permalink;
	char *locale;
	char *timezone;
	bool future;
};

nt_rc site_find_root(const char *post_path, char **root, struct nt_err *err)
{
	char *dir = nt_xstrdup(post_path);
	char *slash = strrchr(dir, '/');
	char real[PATH_MAX];

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (realpath(dir, real) == NULL) {
		nt_rc rc = nt_fail(err, NT_EIO, "%s: %s", dir, strerror(errno));

		free(dir);
		return rc;
	}
	free(dir);
	for (int depth = 0; depth < SITE_MAX_DEPTH; depth++) {
		char *cfg = nt_xasprintf("%s/_config.yml", real);
		struct stat st;
		bool found = stat(cfg, &st) == 0 && S_ISREG(st.st_mode);
		char *up;

		free(cfg);
		if (found) {
			*root = nt_xstrdup(real);
			return NT_OK;
		}
		if (strcmp(real, "/") == 0)
			break;
		up = strrchr(real, '/');
		if (up == real)
			up[1] = '\0';
		else
			*up = '\0';
	}
	return nt_fail(err, NT_ENOENT, "%s: no _config.yml above the post",
		       post_path);
}

static char *S_strip_trailing_slashes(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static const char *S_yscalar(yaml_document_t *doc, int id)
{
	yaml_node_t *n = yaml_document_get_node(doc, id);

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static void S_set(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? nt_xstrdup(v) : NULL;
}

static void S_apply_config(struct site *s, yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	if (root == NULL || root->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		const char *k = S_yscalar(doc, pr->key);
		const char *v = S_yscalar(doc, pr->value);

		if (k == NULL)
			continue;
		if (v && v[0] == '\0')
			v = NULL;
		if (strcmp(k, "url") == 0)
			S_set(&s->url, v);
		else if (strcmp(k, "baseurl") == 0)
			S_set(&s->baseurl, v);
		else if (strcmp(k, "permalink") == 0)
			S_set(&s->permalink, v);
		else if (strcmp(k, "locale") == 0 || strcmp(k, "lang") == 0)
			S_set(&s->locale, v);
		else if (strcmp(k, "timezone") == 0)
			S_set(&s->timezone, v);
		else if (strcmp(k, "future") == 0)
			s->future = v && strcasecmp(v, "true") == 0;
	}
}

static nt_rc S_read_config(struct site *s, const char *path, struct nt_err *err)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_document_t doc;
	struct stat st;
	nt_rc rc = NT_OK;

	if (f == NULL)
		return errno == ENOENT ? NT_OK
				       : nt_fail(err, NT_EIO, "%s: %s", path,
						 strerror(errno));
	if (fstat(fileno(f), &st) != 0 || st.st_size > SITE_CONFIG_MAX) {
		fclose(f);
		return nt_fail(err, NT_EPARSE,
			       "%s: not a Jekyll config (over "
			       "%d bytes)",
			       path, SITE_CONFIG_MAX);
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = nt_fail(err, NT_EPARSE, "%s:%d: invalid YAML: %s", path,
			     (int)parser.problem_mark.line + 1,
			     parser.problem ? parser.problem : "error");
	} else {
		S_apply_config(s, &doc);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

nt_rc site_open(const char *root, struct site **out, struct nt_err *err)
{
	struct site *s = nt_xcalloc(1, sizeof(*s));
	char *cfg = nt_xasprintf("%s/_config.yml", root);
	char real[PATH_MAX];
	nt_rc rc;

	/* canonical, so that site_relpath() can compare real paths */
	s->root = S_strip_trailing_slashes(
		nt_xstrdup(realpath(root, real) ? real : root));
	if (s->root[0] == '\0')
		strcpy(s->root, "/");
	rc = S_read_config(s, cfg, err);
	free(cfg);
	if (rc) {
		site_free(s);
		return rc;
	}
	site_set_url(s, s->url);
	if (s->baseurl) {
		char *b = S_strip_trailing_slashes(s->baseurl);

		s->baseurl = b[0] == '/' || b[0] == '\0'
				     ? b
				     : nt_xasprintf("/%s", b);
		if (s->baseurl != b)
			free(b);
	}
	*out = s;
	return NT_OK;
}

void site_free(struct site *s)
{
	if (s == NULL)
		return;
	free(s->root);
	free(s->url);
	free(s->baseurl);
	free(s->permalink);
	free(s->locale);
	free(s->timezone);
	free(s);
}

const char *site_root(const struct site *s)
{
	return s->root;
}

const char *site_url(const struct site *s)
{
	return s->url;
}

const char *site_baseurl(const struct site *s)
{
	return s->baseurl ? s->baseurl : "";
}

const char *site_permalink(const struct site *s)
{
	return s->permalink ? s->permalink : "date";
}

const char *site_locale(const struct site *s)
{
	return s->locale;
}

const char *site_timezone(const struct site *s)
{
	return s->timezone;
}

bool site_future(const struct site *s)
{
	return s->future;
}

void site_set_url(struct site *s, const char *url)
{
	char *copy;

	if (url == NULL)
		return;
	copy = S_strip_trailing_slashes(nt_xstrdup(url));
	free(s->url);
	s->url = copy[0] ? copy : NULL;
	if (s->url == NULL)
		free(copy);
}

char *site_relpath(const struct site *s, const char *path)
{
	char real[PATH_MAX];
	size_t n = strlen(s->root);

	if (realpath(path, real) == NULL)
		return nt_xstrdup(path);
	if (strcmp(s->root, "/") == 0)
		return nt_xstrdup(real + 1);
	if (strncmp(real, s->root, n) == 0 && real[n] == '/')
		return nt_xstrdup(real + n + 1);
	return nt_xstrdup(path);
}
