#include "notify/config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "notify/buf.h"

/* Far above any post, far below what a batch could not hold in memory. */
#define CONFIG_MAX_POST_BYTES (64 * 1024 * 1024)

struct config {
	char *path;
	char *dir; /* folder of the file, for relative paths */
	char *repo;
	char *url;
	char *locale;
	char *posts_dir;
	struct nt_strv aliases[POST_SEC_COUNT];
	const char **alias_arrays[POST_SEC_COUNT];
	struct post_aliases post_aliases;
	struct post_opts post_opts;
};

static const char *const S_section_keys[POST_SEC_COUNT] = {
	"key_points", "vulnerabilities", "recommendations"};

static nt_rc S_bad(const struct config *c, const config_setting_t *s,
		   struct nt_err *err, const char *what)
{
	const char *name = config_setting_name(s);

	return nt_fail(err, NT_ECONFIG, "%s:%d: '%s' %s", c->path,
		       config_setting_source_line(s), name ? name : "value",
		       what);
}

/* Every member of group 's' must be one of 'known' (NULL-terminated). */
static nt_rc S_known_keys(const struct config *c, const config_setting_t *s,
			  const char *const *known, struct nt_err *err)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		const char *const *k = known;

		while (*k && strcmp(*k, name) != 0)
			k++;
		if (*k == NULL)
			return nt_fail(err, NT_ECONFIG,
				       "%s:%d: unknown key '%s'", c->path,
				       config_setting_source_line(m), name);
	}
	return NT_OK;
}

/* Optional string member 'key' of group 'g' into *dst (owned). */
static nt_rc S_string(const struct config *c, const config_setting_t *g,
		      const char *key, char **dst, struct nt_err *err)
{
	config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return NT_OK;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return S_bad(c, s, err, "must be a string");
	free(*dst);
	*dst = nt_xstrdup(config_setting_get_string(s));
	return NT_OK;
}

static nt_rc S_site(struct config *c, const config_setting_t *root,
		    struct nt_err *err)
{
	static const char *const keys[] = {"repo", "posts_dir", "url", "locale",
					   NULL};
	config_setting_t *g = config_setting_get_member(root, "site");
	nt_rc rc;

	if (g == NULL)
		return NT_OK;
	if (!config_setting_is_group(g))
		return S_bad(c, g, err, "'site' must be a group { ... }");
	rc = S_known_keys(c, g, keys, err);
	if (rc == NT_OK)
		rc = S_string(c, g, "repo", &c->repo, err);
	if (rc == NT_OK)
		rc = S_string(c, g, "posts_dir", &c->posts_dir, err);
	if (rc == NT_OK)
		rc = S_string(c, g, "url", &c->url, err);
	if (rc == NT_OK)
		rc = S_string(c, g, "locale", &c->locale, err);
	if (rc == NT_OK && c->repo && c->repo[0] != '/') {
		char *abs = nt_xasprintf("%s/%s", c->dir, c->repo);

		free(c->repo);
		c->repo = abs;
	}
	if (rc == NT_OK && c->url && strncmp(c->url, "https://", 8) != 0 &&
	    strncmp(c->url, "http://", 7) != 0)
		return S_bad(c, config_setting_get_member(g, "url"), err,
			     "must start with https:// or http://");
	return rc;
}

static nt_rc S_alias_list(struct config *c, const config_setting_t *s, int sec,
			  struct nt_err *err)
{
	struct nt_strv *sv = &c->aliases[sec];
	int n = config_setting_length(s);

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return S_bad(c, s, err, "must be a list of strings [\"...\"]");
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    config_setting_get_string(e)[0] == '\0')
			return S_bad(c, s, err,
				     "aliases must be non-empty strings");
		nt_strv_pushdup(sv, config_setting_get_string(e));
	}
	/* an empty list means "this class never matches" */
	c->alias_arrays[sec] = nt_xcalloc(sv->n + 1, sizeof(char *));
	for (size_t i = 0; i < sv->n; i++)
		c->alias_arrays[sec][i] = sv->v[i];
	c->post_aliases.cls[sec] = c->alias_arrays[sec];
	c->post_opts.aliases = &c->post_aliases;
	return NT_OK;
}

static nt_rc S_parser(struct config *c, const config_setting_t *root,
		      struct nt_err *err)
{
	static const char *const keys[] = {"max_post_bytes", "key_points",
					   "vulnerabilities", "recommendations",
					   NULL};
	config_setting_t *g = config_setting_get_member(root, "parser");
	config_setting_t *s;
	nt_rc rc;

	if (g == NULL)
		return NT_OK;
	if (!config_setting_is_group(g))
		return S_bad(c, g, err, "'parser' must be a group { ... }");
	rc = S_known_keys(c, g, keys, err);
	if (rc)
		return rc;
	s = config_setting_get_member(g, "max_post_bytes");
	if (s) {
		long long v;

		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64)
			return S_bad(c, s, err, "must be an integer");
		v = config_setting_get_int64(s);
		if (v < 1024 || v > CONFIG_MAX_POST_BYTES)
			return S_bad(c, s, err,
				     "must be between 1024 and 67108864");
		c->post_opts.max_bytes = (size_t)v;
	}
	for (int sec = 0; sec < POST_SEC_COUNT && rc == NT_OK; sec++) {
		s = config_setting_get_member(g, S_section_keys[sec]);
		if (s)
			rc = S_alias_list(c, s, sec, err);
	}
	return rc;
}

static nt_rc S_read(struct config *c, config_t *cf, struct nt_err *err)
{
	static const char *const keys[] = {"site", "parser", NULL};
	config_setting_t *root;
	nt_rc rc;

	if (!config_read_file(cf, c->path)) {
		if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
			return nt_fail(err,
				       errno == ENOENT ? NT_ENOENT : NT_EIO,
				       "%s: cannot read: %s", c->path,
				       strerror(errno));
		return nt_fail(err, NT_ECONFIG, "%s:%d: %s", c->path,
			       config_error_line(cf), config_error_text(cf));
	}
	root = config_root_setting(cf);
	rc = S_known_keys(c, root, keys, err);
	if (rc == NT_OK)
		rc = S_site(c, root, err);
	if (rc == NT_OK)
		rc = S_parser(c, root, err);
	return rc;
}

nt_rc config_load(const char *path, struct config **out, struct nt_err *err)
{
	struct config *c = nt_xcalloc(1, sizeof(*c));
	const char *slash = strrchr(path, '/');
	struct stat st;
	config_t cf;
	nt_rc rc;

	c->path = nt_xstrdup(path);
	c->dir = slash ? nt_xstrndup(path,
				     (size_t)(slash - path) + (slash == path))
		       : nt_xstrdup(".");
	if (stat(path, &st) != 0) {
		rc = nt_fail(err, errno == ENOENT ? NT_ENOENT : NT_EIO,
			     "%s: %s", path, strerror(errno));
		config_free(c);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = nt_fail(err, NT_EIO, "%s: not a regular file", path);
		config_free(c);
		return rc;
	}
	config_init(&cf);
	rc = S_read(c, &cf, err);
	config_destroy(&cf);
	if (rc) {
		config_free(c);
		return rc;
	}
	*out = c;
	return NT_OK;
}

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->dir);
	free(c->repo);
	free(c->url);
	free(c->locale);
	free(c->posts_dir);
	for (int i = 0; i < POST_SEC_COUNT; i++) {
		nt_strv_clear(&c->aliases[i]);
		free(c->alias_arrays[i]);
	}
	free(c);
}

const char *config_site_repo(const struct config *c)
{
	return c->repo;
}

const char *config_site_url(const struct config *c)
{
	return c->url;
}

const char *config_site_locale(const struct config *c)
{
	return c->locale;
}

const char *config_posts_dir(const struct config *c)
{
	return c->posts_dir ? c->posts_dir : "_posts";
}

const struct post_opts *config_post_opts(const struct config *c)
{
	return &c->post_opts;
}
