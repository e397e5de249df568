#include "notify/site.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/buf.h"
#include "notify/post.h"
#include "yaml_int.h"

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
	char *dir = strchr(post_path, '/') ? nt_xstrdup(post_path)
					   : nt_xstrdup(".");
	char *slash = strrchr(dir, '/');
	char real[PATH_MAX];

	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
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

static void S_set(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? nt_xstrdup(v) : NULL;
}

/* Only http(s) addresses make links: a site's url is untrusted. */
static bool S_is_web_url(const char *v)
{
	return v && (strncmp(v, "https://", 8) == 0 ||
		     strncmp(v, "http://", 7) == 0);
}

static void S_apply_config(struct site *s, yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	if (root == NULL || root->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		const char *k = nt_yaml_scalar(doc, pr->key, NULL);
		const char *v = nt_yaml_scalar(doc, pr->value, NULL);

		if (k == NULL)
			continue;
		if (strcmp(k, "url") == 0)
			S_set(&s->url, S_is_web_url(v) ? v : NULL);
		else if (strcmp(k, "baseurl") == 0)
			S_set(&s->baseurl, v);
		else if (strcmp(k, "permalink") == 0)
			S_set(&s->permalink, v);
		else if (strcmp(k, "locale") == 0 || strcmp(k, "lang") == 0)
			S_set(&s->locale, v);
		else if (strcmp(k, "timezone") == 0)
			S_set(&s->timezone, v);
		else if (strcmp(k, "future") == 0)
			s->future = nt_yaml_is_true(v);
	}
}

static nt_rc S_read_config(struct site *s, const char *path, struct nt_err *err)
{
	yaml_document_t doc;
	const char *problem;
	char *buf = NULL;
	size_t len = 0;
	int line;
	nt_rc rc = nt_read_file(path, SITE_CONFIG_MAX, &buf, &len, err);

	if (rc == NT_ENOENT)
		return NT_OK; /* Jekyll's defaults */
	if (rc)
		return rc;
	if (!nt_yaml_load(buf, len, &doc, &line, &problem)) {
		rc = nt_fail(err, NT_EPARSE, "%s:%d: invalid YAML: %s", path,
			     line + 1, problem);
	} else {
		S_apply_config(s, &doc);
		yaml_document_delete(&doc);
	}
	free(buf);
	return rc;
}

nt_rc site_open(const char *root, struct site **out, struct nt_err *err)
{
	struct site *s = nt_xcalloc(1, sizeof(*s));
	char *cfg = nt_xasprintf("%s/_config.yml", root);
	char real[PATH_MAX];
	struct stat st;
	nt_rc rc;

	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = nt_fail(err, NT_EIO, "%s: not a readable folder", root);
		free(cfg);
		free(s);
		return rc;
	}
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
