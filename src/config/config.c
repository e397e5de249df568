#include "notify/config.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/buf.h"
#include "notify/net.h"
#include "notify/post.h"

/* Far above any post, far below what a batch could not hold in memory. */
#define CONFIG_MAX_POST_BYTES (64 * 1024 * 1024)
/* A secret is a URL or a token: a few hundred bytes. */
#define CONFIG_MAX_SECRET 4096
#define DEFAULT_MAX_AGE (24 * 3600) /* s: alerts go stale after a day */
#define DEFAULT_INLINE_RETRY 10	    /* s a --post waits for a retry */
#define DEFAULT_LEASE 120	   /* s a claimed delivery stays its sender's */
#define DEFAULT_DIGEST_THRESHOLD 6 /* posts in one batch */
#define DEFAULT_MAX_KEY_POINTS 5
#define DEFAULT_FETCH_INTERVAL 300 /* s between fetches of watch.remote */
#define DEFAULT_SETTLE_MS 1500	   /* ms a new file must stay unchanged */

struct config {
	char *path;   /* as the user named it: messages, relative paths */
	char *source; /* what is read: 'path', or a snapshot of it */
	char *dir;    /* folder of the file, for relative paths */
	const char *repo, *url, *locale, *posts_dir, *state, *templates;
	int max_key_points, digest_threshold;
	long max_age, inline_retry, lease;
	struct watch_conf watch;
	struct chan_filter filter;
	struct chan_conf *chans;
	size_t n_chans;

	struct post_aliases post_aliases;
	struct post_opts post_opts;

	/* everything the getters lend: freed with the config */
	struct nt_strv strings;
	struct nt_strv arrays; /* NULL-terminated char* arrays, as char* */
};

/* What reading one file needs besides the result. */
struct rd {
	struct config *c;
	struct nt_err *err;
	bool check_secrets;
};

static const char *const S_section_keys[POST_SEC_COUNT] = {
	"key_points", "vulnerabilities", "recommendations"};
static const char *const S_empty_list[] = {NULL};

static nt_rc S_bad(struct rd *r, const config_setting_t *s, const char *what)
{
	const char *name = config_setting_name(s);

	return nt_fail(r->err, NT_ECONFIG, "%s:%d: '%s' %s", r->c->path,
		       config_setting_source_line(s), name ? name : "value",
		       what);
}

static const char *S_keep(struct config *c, char *s)
{
	nt_strv_push(&c->strings, s);
	return s;
}

/* Every member of group 's' must be one of 'known' (NULL-terminated). */
static nt_rc S_known_keys(struct rd *r, const config_setting_t *s,
			  const char *const *known)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		const char *const *k = known;

		while (*k && strcmp(*k, name) != 0)
			k++;
		if (*k == NULL)
			return nt_fail(r->err, NT_ECONFIG,
				       "%s:%d: unknown key '%s'", r->c->path,
				       config_setting_source_line(m), name);
	}
	return NT_OK;
}

/* Optional string member 'key' of 'g' into *dst (kept by the config). */
static nt_rc S_str(struct rd *r, const config_setting_t *g, const char *key,
		   const char **dst)
{
	config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return NT_OK;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return S_bad(r, s, "must be a string");
	if (config_setting_get_string(s)[0] == '\0')
		return S_bad(r, s, "must not be empty");
	*dst = S_keep(r->c, nt_xstrdup(config_setting_get_string(s)));
	return NT_OK;
}

static nt_rc S_required(struct rd *r, const config_setting_t *g,
			const char *key, const char *what)
{
	if (config_setting_get_member(g, key))
		return NT_OK;
	return nt_fail(r->err, NT_ECONFIG, "%s:%d: %s needs '%s'", r->c->path,
		       config_setting_source_line(g), what, key);
}

static nt_rc S_int(struct rd *r, const config_setting_t *g, const char *key,
		   long min, long max, int *dst)
{
	config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (s == NULL)
		return NT_OK;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return S_bad(r, s, "must be an integer");
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return nt_fail(r->err, NT_ECONFIG,
			       "%s:%d: '%s' must be between %ld and %ld",
			       r->c->path, config_setting_source_line(s), key,
			       min, max);
	*dst = (int)v;
	return NT_OK;
}

static nt_rc S_bool(struct rd *r, const config_setting_t *g, const char *key,
		    bool *dst)
{
	config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return NT_OK;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return S_bad(r, s, "must be true or false");
	*dst = config_setting_get_bool(s);
	return NT_OK;
}

/* "90", "90s", "30m", "24h", "2d" → seconds, at most 30 days. */
static nt_rc S_duration(struct rd *r, const config_setting_t *g,
			const char *key, long *dst)
{
	config_setting_t *s = config_setting_get_member(g, key);
	const char *v;
	char *end;
	long n, mult = 1;

	if (s == NULL)
		return NT_OK;
	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		n = config_setting_get_int(s);
		goto check;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return S_bad(r, s,
			     "must be a duration such as \"30s\", "
			     "\"15m\", \"24h\" or \"2d\"");
	v = config_setting_get_string(s);
	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || errno)
		return S_bad(r, s, "must be a duration such as \"24h\"");
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return S_bad(r, s, "has an unknown unit (s, m, h or d)");
	}
	if (*end && end[1] != '\0')
		return S_bad(r, s, "has an unknown unit (s, m, h or d)");
	if (n > 30L * 86400)
		return S_bad(r, s, "is longer than 30 days");
	n *= mult;
check:
	if (n < 0 || n > 30L * 86400)
		return S_bad(r, s, "must be between 0 and 30 days");
	*dst = n;
	return NT_OK;
}

/* Optional list of non-empty strings into a NULL-terminated array. */
static nt_rc S_strlist(struct rd *r, const config_setting_t *g, const char *key,
		       const char *const **dst)
{
	config_setting_t *s = config_setting_get_member(g, key);
	const char **arr;
	int n;

	if (s == NULL)
		return NT_OK;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return S_bad(r, s, "must be a list of strings [\"...\"]");
	n = config_setting_length(s);
	arr = nt_xcalloc((size_t)n + 1, sizeof(*arr));
	nt_strv_push(&r->c->arrays, (char *)arr);
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    config_setting_get_string(e)[0] == '\0')
			return nt_fail(r->err, NT_ECONFIG,
				       "%s:%d: '%s' items must be non-empty "
				       "strings",
				       r->c->path,
				       config_setting_source_line(e), key);
		arr[i] = S_keep(r->c, nt_xstrdup(config_setting_get_string(e)));
	}
	*dst = arr;
	return NT_OK;
}

static nt_rc S_enum(struct rd *r, const config_setting_t *g, const char *key,
		    const char *const *values, int *dst)
{
	const char *v = NULL;
	nt_rc rc = S_str(r, g, key, &v);

	if (rc || v == NULL)
		return rc;
	for (int i = 0; values[i]; i++) {
		if (strcmp(values[i], v) == 0) {
			*dst = i;
			return NT_OK;
		}
	}
	return S_bad(r, config_setting_get_member(g, key),
		     "has an unknown value");
}

/* A path of the file made absolute against the file's folder. */
static const char *S_path(struct config *c, const char *p)
{
	if (p == NULL || p[0] == '/')
		return p;
	return S_keep(c, nt_xasprintf("%s/%s", c->dir, p));
}

static bool S_is_web_url(const char *u)
{
	return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0;
}

static config_setting_t *S_group(struct rd *r, const config_setting_t *root,
				 const char *key, nt_rc *rc)
{
	config_setting_t *g = config_setting_get_member(root, key);

	*rc = NT_OK;
	if (g && !config_setting_is_group(g)) {
		*rc = S_bad(r, g, "must be a group { ... }");
		return NULL;
	}
	return g;
}

static nt_rc S_site(struct rd *r, const config_setting_t *root)
{
	static const char *const keys[] = {"repo", "posts_dir", "url", "locale",
					   NULL};
	struct config *c = r->c;
	nt_rc rc;
	config_setting_t *g = S_group(r, root, "site", &rc);

	if (g == NULL)
		return rc;
	rc = S_known_keys(r, g, keys);
	if (rc == NT_OK)
		rc = S_str(r, g, "repo", &c->repo);
	if (rc == NT_OK)
		rc = S_str(r, g, "posts_dir", &c->posts_dir);
	if (rc == NT_OK)
		rc = S_str(r, g, "url", &c->url);
	if (rc == NT_OK)
		rc = S_str(r, g, "locale", &c->locale);
	if (rc)
		return rc;
	c->repo = S_path(c, c->repo);
	if (c->url && !S_is_web_url(c->url))
		return S_bad(r, config_setting_get_member(g, "url"),
			     "must start with https:// or http://");
	return NT_OK;
}

static nt_rc S_alias_lists(struct rd *r, const config_setting_t *g)
{
	for (int sec = 0; sec < POST_SEC_COUNT; sec++) {
		const char *const *list = NULL;
		nt_rc rc = S_strlist(r, g, S_section_keys[sec], &list);

		if (rc)
			return rc;
		if (list == NULL)
			continue;
		/* an empty list means "this class never matches" */
		r->c->post_aliases.cls[sec] = list;
		r->c->post_opts.aliases = &r->c->post_aliases;
	}
	return NT_OK;
}

static nt_rc S_parser(struct rd *r, const config_setting_t *root)
{
	static const char *const keys[] = {"max_post_bytes", "key_points",
					   "vulnerabilities", "recommendations",
					   NULL};
	int max = 0;
	nt_rc rc;
	config_setting_t *g = S_group(r, root, "parser", &rc);

	if (g == NULL)
		return rc;
	rc = S_known_keys(r, g, keys);
	if (rc == NT_OK)
		rc = S_int(r, g, "max_post_bytes", 1024, CONFIG_MAX_POST_BYTES,
			   &max);
	if (rc == NT_OK)
		rc = S_alias_lists(r, g);
	r->c->post_opts.max_bytes = (size_t)max;
	return rc;
}

static nt_rc S_watch(struct rd *r, const config_setting_t *root)
{
	static const char *const keys[] = {"mode",	"fetch_interval",
					   "settle_ms", "remote",
					   "branch",	NULL};
	/* in the order of enum watch_mode */
	static const char *const modes[] = {"auto", "git", "dir", NULL};
	struct watch_conf *w = &r->c->watch;
	int mode = (int)w->mode;
	nt_rc rc;
	config_setting_t *g = S_group(r, root, "watch", &rc);

	if (g == NULL)
		return rc;
	rc = S_known_keys(r, g, keys);
	if (rc == NT_OK)
		rc = S_enum(r, g, "mode", modes, &mode);
	if (rc == NT_OK)
		rc = S_int(r, g, "fetch_interval", 0, 86400,
			   &w->fetch_interval);
	if (rc == NT_OK)
		rc = S_int(r, g, "settle_ms", 0, 60000, &w->settle_ms);
	if (rc == NT_OK)
		rc = S_str(r, g, "remote", &w->remote);
	if (rc == NT_OK)
		rc = S_str(r, g, "branch", &w->branch);
	w->mode = (enum watch_mode)mode;
	return rc;
}

static nt_rc S_delivery(struct rd *r, const config_setting_t *root)
{
	static const char *const keys[] = {"max_age", "digest_threshold",
					   "inline_retry", "lease", NULL};
	struct config *c = r->c;
	nt_rc rc;
	config_setting_t *g = S_group(r, root, "delivery", &rc);

	if (g == NULL)
		return rc;
	rc = S_known_keys(r, g, keys);
	if (rc == NT_OK)
		rc = S_duration(r, g, "max_age", &c->max_age);
	if (rc == NT_OK)
		rc = S_int(r, g, "digest_threshold", 1, 1000,
			   &c->digest_threshold);
	if (rc == NT_OK)
		rc = S_duration(r, g, "inline_retry", &c->inline_retry);
	if (rc == NT_OK)
		rc = S_duration(r, g, "lease", &c->lease);
	if (rc == NT_OK && c->lease < 1)
		return S_bad(r, config_setting_get_member(g, "lease"),
			     "must be at least 1s");
	return rc;
}

/* A configured templates folder must be one: else every render fails. */
static nt_rc S_templates_dir(struct rd *r, const config_setting_t *s)
{
	struct stat st;

	if (stat(r->c->templates, &st) != 0)
		return nt_fail(r->err, NT_ECONFIG,
			       "%s:%d: templates folder %s: %s", r->c->path,
			       config_setting_source_line(s), r->c->templates,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return nt_fail(r->err, NT_ECONFIG,
			       "%s:%d: templates folder %s: not a folder",
			       r->c->path, config_setting_source_line(s),
			       r->c->templates);
	return NT_OK;
}

static nt_rc S_alerts(struct rd *r, const config_setting_t *root)
{
	static const char *const keys[] = {"templates", "max_key_points", NULL};
	struct config *c = r->c;
	nt_rc rc;
	config_setting_t *g = S_group(r, root, "alerts", &rc);

	if (g == NULL)
		return rc;
	rc = S_known_keys(r, g, keys);
	if (rc == NT_OK)
		rc = S_str(r, g, "templates", &c->templates);
	if (rc == NT_OK)
		rc = S_int(r, g, "max_key_points", 0, 50, &c->max_key_points);
	c->templates = S_path(c, c->templates);
	if (rc == NT_OK && c->templates && r->check_secrets)
		rc = S_templates_dir(r,
				     config_setting_get_member(g, "templates"));
	return rc;
}

/* Filter keys shared by the global 'filters' group and each channel. */
static nt_rc S_filter(struct rd *r, const config_setting_t *g,
		      struct chan_filter *f)
{
	bool skip = false;
	nt_rc rc = S_strlist(r, g, "tags_any", &f->tags_any);

	if (rc == NT_OK)
		rc = S_strlist(r, g, "tags_none", &f->tags_none);
	if (rc == NT_OK)
		rc = S_strlist(r, g, "keywords", &f->keywords);
	if (rc == NT_OK)
		rc = S_bool(r, g, "cve_only", &f->cve_only);
	if (rc == NT_OK &&
	    config_setting_get_member(g, "skip_without_key_points")) {
		rc = S_bool(r, g, "skip_without_key_points", &skip);
		f->skip_without_key_points = skip;
	}
	return rc;
}

static nt_rc S_filters(struct rd *r, const config_setting_t *root)
{
	static const char *const keys[] = {"tags_any",
					   "tags_none",
					   "keywords",
					   "cve_only",
					   "skip_without_key_points",
					   NULL};
	nt_rc rc;
	config_setting_t *g = S_group(r, root, "filters", &rc);

	if (g == NULL)
		return rc;
	rc = S_known_keys(r, g, keys);
	return rc ? rc : S_filter(r, g, &r->c->filter);
}

/* An http(s) URL with a host, no user info, nothing but URL characters. */
static bool S_web_url_ok(const char *url)
{
	const char *h = strstr(url, "://");
	size_t host;

	if (!S_is_web_url(url) || h == NULL)
		return false;
	h += 3;
	host = strcspn(h, "/?#");
	if (host == 0 || memchr(h, '@', host) != NULL)
		return false;
	return url[strspn(url,
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789-._~:/?#[]@!$&'()*+,;=%")] == '\0';
}

/* Resolves a *_file secret path: $CREDENTIALS_DIRECTORY first. */
static const char *S_secret_path(struct config *c, const char *p)
{
	const char *cred = getenv("CREDENTIALS_DIRECTORY");

	if (p == NULL || p[0] == '/')
		return p;
	if (cred && cred[0])
		return S_keep(c, nt_xasprintf("%s/%s", cred, p));
	return S_path(c, p);
}

/* Checks a secret file without reading it: regular, ours alone. */
static nt_rc S_check_secret_file(const char *path, struct nt_err *err)
{
	struct stat st;

	/* lstat: the secret is read with O_NOFOLLOW (nt_read_file()) */
	if (lstat(path, &st) != 0)
		return nt_fail(err, NT_ECONFIG, "secret file %s: %s", path,
			       strerror(errno));
	if (S_ISLNK(st.st_mode))
		return nt_fail(err, NT_ECONFIG,
			       "secret file %s: a symbolic link (name the "
			       "file itself)",
			       path);
	if (!S_ISREG(st.st_mode))
		return nt_fail(err, NT_ECONFIG,
			       "secret file %s: not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return nt_fail(err, NT_ECONFIG,
			       "secret file %s: readable by others "
			       "(chmod 600 it)",
			       path);
	return NT_OK;
}

static nt_rc S_secret(struct rd *r, const config_setting_t *g, const char *key,
		      const char **dst)
{
	nt_rc rc = S_str(r, g, key, dst);
	struct nt_err inner;

	if (rc || *dst == NULL)
		return rc;
	*dst = S_secret_path(r->c, *dst);
	if (!r->check_secrets)
		return NT_OK;
	rc = S_check_secret_file(*dst, &inner);
	if (rc)
		return nt_fail(r->err, rc, "%s:%d: %s", r->c->path,
			       config_setting_source_line(
				       config_setting_get_member(g, key)),
			       inner.msg);
	return NT_OK;
}

/* "#name:server" or "!opaque" (room ids of v12 have no server part). */
static bool S_valid_room(const char *r)
{
	const char *colon = strchr(r, ':');

	if (r[strcspn(r, " \t\r\n/")] != '\0')
		return false;
	if (r[0] == '!')
		return r[1] != '\0';
	return r[0] == '#' && colon && colon > r + 1 && colon[1] != '\0';
}

static nt_rc S_chan_matrix(struct rd *r, const config_setting_t *g,
			   struct chan_conf *ch)
{
	nt_rc rc = S_required(r, g, "homeserver", "a matrix channel");

	if (rc == NT_OK)
		rc = S_required(r, g, "room", "a matrix channel");
	if (rc == NT_OK)
		rc = S_required(r, g, "access_token_file", "a matrix channel");
	if (rc == NT_OK)
		rc = S_str(r, g, "homeserver", &ch->homeserver);
	if (rc == NT_OK)
		rc = S_str(r, g, "room", &ch->room);
	if (rc == NT_OK)
		rc = S_secret(r, g, "access_token_file",
			      &ch->access_token_file);
	if (rc == NT_OK)
		rc = S_bool(r, g, "autojoin", &ch->autojoin);
	if (rc)
		return rc;
	if (!S_web_url_ok(ch->homeserver) ||
	    (strncmp(ch->homeserver, "https://", 8) != 0 && !ch->allow_http &&
	     !net_url_is_loopback(ch->homeserver)))
		return S_bad(r, config_setting_get_member(g, "homeserver"),
			     "must be an https:// URL (http:// only to "
			     "loopback or with allow_http = true)");
	if (!S_valid_room(ch->room))
		return S_bad(r, config_setting_get_member(g, "room"),
			     "must be a room alias (#name:server) or id (!id)");
	return NT_OK;
}

static bool S_is_address(const char *a)
{
	const char *at = strchr(a, '@');

	return at && at != a && at[1] && strpbrk(a, "\r\n") == NULL;
}

/* A dotted DNS name of letters, digits and hyphens: what a relay with
 * reject_non_fqdn_helo_hostname takes. */
static bool S_is_helo_name(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 253 || strchr(h, '.') == NULL || h[0] == '.' ||
	    h[n - 1] == '.' || strstr(h, "..") != NULL)
		return false;
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '-' || *h == '.'))
			return false;
	return true;
}

static nt_rc S_chan_smtp(struct rd *r, const config_setting_t *g,
			 struct chan_conf *ch)
{
	static const char *const tls[] = {"none", "opportunistic", "required",
					  NULL};
	int starttls = STARTTLS_REQUIRED;
	nt_rc rc = S_required(r, g, "host", "an smtp channel");

	if (rc == NT_OK)
		rc = S_required(r, g, "from", "an smtp channel");
	if (rc == NT_OK)
		rc = S_str(r, g, "host", &ch->host);
	if (rc == NT_OK)
		rc = S_int(r, g, "port", 1, 65535, &ch->port);
	if (rc == NT_OK)
		rc = S_enum(r, g, "starttls", tls, &starttls);
	if (rc == NT_OK)
		rc = S_str(r, g, "from", &ch->from);
	if (rc == NT_OK)
		rc = S_strlist(r, g, "to", &ch->to);
	if (rc == NT_OK)
		rc = S_str(r, g, "list_id", &ch->list_id);
	if (rc == NT_OK)
		rc = S_str(r, g, "list_unsubscribe", &ch->list_unsubscribe);
	if (rc == NT_OK)
		rc = S_bool(r, g, "subscribers", &ch->subscribers);
	if (rc == NT_OK)
		rc = S_str(r, g, "username", &ch->username);
	if (rc == NT_OK)
		rc = S_secret(r, g, "password_file", &ch->password_file);
	if (rc == NT_OK)
		rc = S_str(r, g, "ca_file", &ch->ca_file);
	if (rc == NT_OK)
		rc = S_int(r, g, "sessions", 1, CONFIG_SMTP_SESSIONS_MAX,
			   &ch->sessions);
	if (rc == NT_OK)
		rc = S_str(r, g, "helo_name", &ch->helo_name);
	if (rc)
		return rc;
	if (ch->helo_name && !S_is_helo_name(ch->helo_name))
		return S_bad(r, config_setting_get_member(g, "helo_name"),
			     "must be a fully-qualified host name");
	ch->starttls = (enum chan_starttls)starttls;
	ch->ca_file = S_path(r->c, ch->ca_file);
	if (!S_is_address(ch->from))
		return S_bad(r, config_setting_get_member(g, "from"),
			     "must be an address (Name <user@domain>)");
	for (const char *const *t = ch->to; *t; t++)
		if (!S_is_address(*t))
			return S_bad(r, config_setting_get_member(g, "to"),
				     "must hold addresses (user@domain)");
	if (ch->to[0] == NULL && !ch->subscribers)
		return nt_fail(r->err, NT_ECONFIG,
			       "%s:%d: an smtp channel needs 'to' or "
			       "'subscribers = true'",
			       r->c->path, ch->line);
	if ((ch->username == NULL) != (ch->password_file == NULL))
		return nt_fail(r->err, NT_ECONFIG,
			       "%s:%d: 'username' and 'password_file' go "
			       "together",
			       r->c->path, ch->line);
	if (ch->username && ch->starttls != STARTTLS_REQUIRED &&
	    !net_host_is_loopback(ch->host, strlen(ch->host)))
		return nt_fail(r->err, NT_ECONFIG,
			       "%s:%d: AUTH needs starttls = \"required\" "
			       "unless the host is loopback",
			       r->c->path, ch->line);
	if (ch->list_unsubscribe &&
	    strncmp(ch->list_unsubscribe, "https://", 8) != 0 &&
	    strncmp(ch->list_unsubscribe, "mailto:", 7) != 0)
		return S_bad(r,
			     config_setting_get_member(g, "list_unsubscribe"),
			     "must be an https:// or mailto: URI");
	return NT_OK;
}

/* The URL in a webhook's secret file, by the rule of http.c, which
 * would refuse it at every send: https://, or http:// to the loopback
 * or with allow_http.  Messages name the file, never its content. */
static nt_rc S_webhook_url(struct rd *r, const config_setting_t *g,
			   const struct chan_conf *ch)
{
	int line = config_setting_source_line(
		config_setting_get_member(g, "webhook_url_file"));
	char *url = NULL;
	struct nt_err inner;
	bool ok;

	if (config_read_secret(ch->webhook_url_file, &url, &inner) != NT_OK)
		return nt_fail(r->err, NT_ECONFIG, "%s:%d: %s", r->c->path,
			       line, inner.msg);
	ok = strncmp(url, "https://", 8) == 0 ||
	     (strncmp(url, "http://", 7) == 0 &&
	      (ch->allow_http || net_url_is_loopback(url)));
	config_secret_free(url);
	if (ok)
		return NT_OK;
	return nt_fail(r->err, NT_ECONFIG,
		       "%s:%d: secret file %s: must hold an https:// URL "
		       "(http:// only to loopback or with allow_http = true)",
		       r->c->path, line, ch->webhook_url_file);
}

static nt_rc S_chan_webhook(struct rd *r, const config_setting_t *g,
			    struct chan_conf *ch)
{
	static const char *const flavors[] = {"slack", "compat", NULL};
	int flavor = 0;
	nt_rc rc = S_required(r, g, "webhook_url_file",
			      ch->type == CHAN_SLACK ? "a slack channel"
						     : "a hookshot channel");

	if (rc == NT_OK)
		rc = S_secret(r, g, "webhook_url_file", &ch->webhook_url_file);
	if (rc == NT_OK && r->check_secrets)
		rc = S_webhook_url(r, g, ch);
	if (rc == NT_OK && ch->type == CHAN_SLACK)
		rc = S_enum(r, g, "flavor", flavors, &flavor);
	ch->flavor = flavors[flavor];
	return rc;
}

static const char *const S_common_keys[] = {"name",
					    "type",
					    "enabled",
					    "allow_http",
					    "tags_any",
					    "tags_none",
					    "keywords",
					    "cve_only",
					    "locale",
					    "digest_threshold",
					    "skip_without_key_points",
					    NULL};

static const char *const *S_type_keys(enum chan_type t)
{
	static const char *const webhook[] = {"webhook_url_file", "flavor",
					      NULL};
	static const char *const hookshot[] = {"webhook_url_file", NULL};
	static const char *const matrix[] = {
		"homeserver", "room", "access_token_file", "autojoin", NULL};
	static const char *const smtp[] = {"host",
					   "port",
					   "starttls",
					   "from",
					   "to",
					   "list_id",
					   "list_unsubscribe",
					   "subscribers",
					   "username",
					   "password_file",
					   "ca_file",
					   "sessions",
					   "helo_name",
					   NULL};

	switch (t) {
	case CHAN_SLACK:
		return webhook;
	case CHAN_HOOKSHOT:
		return hookshot;
	case CHAN_MATRIX:
		return matrix;
	case CHAN_SMTP:
	default:
		return smtp;
	}
}

/* The keys a channel of type 't' may have: common ones and its own. */
static nt_rc S_chan_keys(struct rd *r, const config_setting_t *g,
			 enum chan_type t)
{
	const char *keys[32];
	size_t n = 0;

	for (const char *const *k = S_common_keys; *k; k++)
		keys[n++] = *k;
	for (const char *const *k = S_type_keys(t); *k; k++)
		keys[n++] = *k;
	keys[n] = NULL;
	return S_known_keys(r, g, keys);
}

static bool S_valid_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n <= 64 && s[n] == '\0';
}

/* The keys of the channel's type.  A disabled channel's secret files
 * are not checked: a service (LoadCredential=) is given only those of
 * the channels it uses; they are read if the channel is named. */
static nt_rc S_chan_typed(struct rd *r, const config_setting_t *g,
			  struct chan_conf *ch)
{
	bool check = r->check_secrets;
	nt_rc rc = NT_OK;

	r->check_secrets = check && ch->enabled;
	switch (ch->type) {
	case CHAN_SLACK:
	case CHAN_HOOKSHOT:
		rc = S_chan_webhook(r, g, ch);
		break;
	case CHAN_MATRIX:
		rc = S_chan_matrix(r, g, ch);
		break;
	case CHAN_SMTP:
		rc = S_chan_smtp(r, g, ch);
		break;
	}
	r->check_secrets = check;
	return rc;
}

static nt_rc S_channel(struct rd *r, const config_setting_t *g,
		       struct chan_conf *ch)
{
	static const char *const types[] = {"slack", "matrix", "hookshot",
					    "smtp", NULL};
	int type = 0;
	nt_rc rc;

	ch->line = config_setting_source_line(g);
	ch->enabled = true;
	ch->digest_threshold = -1;
	ch->port = 587;
	ch->sessions = 1;
	ch->filter = (struct chan_filter){S_empty_list, S_empty_list,
					  S_empty_list, false, -1};
	ch->to = S_empty_list;
	if (!config_setting_is_group(g))
		return S_bad(r, g, "channels must be groups { ... }");
	rc = S_required(r, g, "name", "a channel");
	if (rc == NT_OK)
		rc = S_required(r, g, "type", "a channel");
	if (rc == NT_OK)
		rc = S_str(r, g, "name", &ch->name);
	if (rc == NT_OK)
		rc = S_enum(r, g, "type", types, &type);
	if (rc)
		return rc;
	ch->type = (enum chan_type)type;
	if (!S_valid_name(ch->name))
		return S_bad(r, config_setting_get_member(g, "name"),
			     "must be 1 to 64 letters, digits, '-' or '_'");
	rc = S_chan_keys(r, g, ch->type);
	if (rc == NT_OK)
		rc = S_bool(r, g, "enabled", &ch->enabled);
	if (rc == NT_OK)
		rc = S_bool(r, g, "allow_http", &ch->allow_http);
	if (rc == NT_OK)
		rc = S_filter(r, g, &ch->filter);
	if (rc == NT_OK)
		rc = S_int(r, g, "digest_threshold", 1, 1000,
			   &ch->digest_threshold);
	if (rc == NT_OK)
		rc = S_str(r, g, "locale", &ch->locale);
	if (rc)
		return rc;
	return S_chan_typed(r, g, ch);
}

static nt_rc S_channels(struct rd *r, const config_setting_t *root)
{
	config_setting_t *l = config_setting_get_member(root, "channels");
	struct config *c = r->c;
	int n;

	if (l == NULL)
		return NT_OK;
	if (!config_setting_is_list(l))
		return S_bad(r, l, "must be a list ( { ... }, { ... } )");
	n = config_setting_length(l);
	c->chans = nt_xcalloc((size_t)n + 1, sizeof(*c->chans));
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		nt_rc rc = S_channel(r, g, &c->chans[i]);

		if (rc)
			return rc;
		c->n_chans++;
		if (config_channel_by_name(c, c->chans[i].name) != &c->chans[i])
			return nt_fail(r->err, NT_ECONFIG,
				       "%s:%d: a channel named '%s' exists "
				       "already",
				       c->path, c->chans[i].line,
				       c->chans[i].name);
	}
	return NT_OK;
}

static nt_rc S_read(struct rd *r, config_t *cf, const char *text)
{
	static const char *const keys[] = {"site",    "parser",	  "state",
					   "watch",   "delivery", "alerts",
					   "filters", "channels", NULL};
	struct config *c = r->c;
	config_setting_t *root;
	nt_rc rc;

	if (!config_read_string(cf, text)) {
		const char *file = config_error_file(cf);

		if (file && strcmp(file, c->source) == 0)
			file = c->path;

		if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
			return nt_fail(r->err, NT_EIO, "%s: cannot read: %s",
				       c->path, strerror(errno));
		return nt_fail(r->err, NT_ECONFIG, "%s:%d: %s",
			       file ? file : c->path, config_error_line(cf),
			       config_error_text(cf));
	}
	root = config_root_setting(cf);
	rc = S_known_keys(r, root, keys);
	if (rc == NT_OK)
		rc = S_site(r, root);
	if (rc == NT_OK)
		rc = S_parser(r, root);
	if (rc == NT_OK)
		rc = S_str(r, root, "state", &c->state);
	if (rc == NT_OK)
		rc = S_watch(r, root);
	if (rc == NT_OK)
		rc = S_delivery(r, root);
	if (rc == NT_OK)
		rc = S_alerts(r, root);
	if (rc == NT_OK)
		rc = S_filters(r, root);
	if (rc == NT_OK)
		rc = S_channels(r, root);
	c->state = S_path(c, c->state);
	return rc;
}

/* Reads what fd holds into *text, at most CONFIG_MAX_BYTES. */
static nt_rc S_read_fd(const struct config *c, int fd, size_t hint, char **text,
		       size_t *n_text, struct nt_err *err)
{
	size_t len = 0, cap = hint < CONFIG_MAX_BYTES ? hint : CONFIG_MAX_BYTES;
	char *buf = nt_xmalloc(cap + 2);

	for (;;) {
		ssize_t n;

		if (len == cap + 1) { /* grew while read, or /proc */
			if (cap == CONFIG_MAX_BYTES)
				break;
			cap = cap * 2 + 4096 < CONFIG_MAX_BYTES
				      ? cap * 2 + 4096
				      : CONFIG_MAX_BYTES;
			buf = nt_xrealloc(buf, cap + 2);
		}
		n = read(fd, buf + len, cap + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return nt_fail(err, NT_EIO, "%s: cannot read: %s",
				       c->path, strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_MAX_BYTES) {
		free(buf);
		return nt_fail(err, NT_ECONFIG,
			       "%s: over the %d byte cap of a configuration",
			       c->path, CONFIG_MAX_BYTES);
	}
	buf[len] = '\0';
	*text = buf;
	*n_text = len;
	return NT_OK;
}

/* The text of the file, for config_read_string(): at most
 * CONFIG_MAX_BYTES, refused before libconfig sees it (it spends minutes
 * on a 10 MB string), and no NUL byte (libconfig would stop there
 * silently).  Links are followed: the file may be one, and notify watch
 * hands its workers /proc/self/fd/N. */
static nt_rc S_slurp(const struct config *c, char **text, struct nt_err *err)
{
	int fd = open(c->source, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	const char *nul;
	size_t len = 0;
	int line = 1;
	nt_rc rc;

	if (fd < 0)
		return nt_fail(err, errno == ENOENT ? NT_ENOENT : NT_EIO,
			       "%s: %s", c->path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = nt_fail(err, NT_EIO, "%s: not a regular file", c->path);
	else if (st.st_size > CONFIG_MAX_BYTES)
		rc = nt_fail(err, NT_ECONFIG,
			     "%s: %jd bytes, over the %d byte cap of a "
			     "configuration",
			     c->path, (intmax_t)st.st_size, CONFIG_MAX_BYTES);
	else
		rc = S_read_fd(c, fd, (size_t)st.st_size, text, &len, err);
	close(fd);
	if (rc)
		return rc;
	nul = memchr(*text, '\0', len);
	if (nul == NULL)
		return NT_OK;
	for (const char *p = *text; p < nul; p++)
		line += *p == '\n';
	free(*text);
	*text = NULL;
	return nt_fail(err, NT_ECONFIG, "%s:%d: a NUL byte", c->path, line);
}

/* The absolute folder of 'path', so that every path we lend is absolute
 * whatever the working directory later is. */
static char *S_abs_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? nt_xstrndup(path, (size_t)(slash - path) +
						      (slash == path))
			  : nt_xstrdup(".");
	char *real = realpath(dir, NULL);

	if (real == NULL)
		return dir;
	free(dir);
	return real;
}

nt_rc config_load(const char *path, bool check_secrets, struct config **out,
		  struct nt_err *err)
{
	return config_load_as(path, NULL, check_secrets, out, err);
}

nt_rc config_load_as(const char *path, const char *origin, bool check_secrets,
		     struct config **out, struct nt_err *err)
{
	struct config *c = nt_xcalloc(1, sizeof(*c));
	struct rd r = {.c = c, .err = err, .check_secrets = check_secrets};
	char *text = NULL;
	config_t cf;
	nt_rc rc;

	c->source = nt_xstrdup(path);
	c->path = nt_xstrdup(origin ? origin : path);
	c->dir = S_abs_dir(c->path);
	c->max_age = DEFAULT_MAX_AGE;
	c->inline_retry = DEFAULT_INLINE_RETRY;
	c->lease = DEFAULT_LEASE;
	c->digest_threshold = DEFAULT_DIGEST_THRESHOLD;
	c->max_key_points = DEFAULT_MAX_KEY_POINTS;
	c->watch = (struct watch_conf){WATCH_AUTO, DEFAULT_FETCH_INTERVAL,
				       DEFAULT_SETTLE_MS, NULL, NULL};
	c->filter = (struct chan_filter){S_empty_list, S_empty_list,
					 S_empty_list, false, 1};
	rc = S_slurp(c, &text, err);
	if (rc)
		goto fail;
	config_init(&cf);
	/* @include is relative to this file, as every path in it */
	config_set_include_dir(&cf, c->dir);
	rc = S_read(&r, &cf, text);
	config_destroy(&cf);
	free(text);
	if (rc)
		goto fail;
	*out = c;
	return NT_OK;
fail:
	config_free(c);
	return rc;
}

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->source);
	free(c->dir);
	free(c->chans);
	nt_strv_clear(&c->strings);
	nt_strv_clear(&c->arrays);
	free(c);
}

const char *config_path(const struct config *c)
{
	return c->path;
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

const char *config_state(const struct config *c)
{
	return c->state;
}

const char *config_templates_dir(const struct config *c)
{
	return c->templates;
}

const struct watch_conf *config_watch(const struct config *c)
{
	return &c->watch;
}

int config_max_key_points(const struct config *c)
{
	return c->max_key_points;
}

int config_digest_threshold(const struct config *c)
{
	return c->digest_threshold;
}

long config_max_age(const struct config *c)
{
	return c->max_age;
}

long config_inline_retry(const struct config *c)
{
	return c->inline_retry;
}

long config_lease(const struct config *c)
{
	return c->lease;
}

const struct chan_filter *config_filter(const struct config *c)
{
	return &c->filter;
}

const struct post_opts *config_post_opts(const struct config *c)
{
	return &c->post_opts;
}

size_t config_n_channels(const struct config *c)
{
	return c->n_chans;
}

const struct chan_conf *config_channel(const struct config *c, size_t i)
{
	return i < c->n_chans ? &c->chans[i] : NULL;
}

const struct chan_conf *config_channel_by_name(const struct config *c,
					       const char *name)
{
	for (size_t i = 0; i < c->n_chans; i++)
		if (strcmp(c->chans[i].name, name) == 0)
			return &c->chans[i];
	return NULL;
}

const char *config_chan_type_name(enum chan_type t)
{
	switch (t) {
	case CHAN_SLACK:
		return "slack";
	case CHAN_MATRIX:
		return "matrix";
	case CHAN_HOOKSHOT:
		return "hookshot";
	case CHAN_SMTP:
		return "smtp";
	}
	return "?";
}

nt_rc config_read_secret(const char *path, char **secret, struct nt_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	nt_rc rc = S_check_secret_file(path, err);

	if (rc)
		return rc;
	rc = nt_read_file(path, CONFIG_MAX_SECRET, &buf, &len, err);
	if (rc)
		return nt_fail(err, NT_ECONFIG,
			       "secret file %s: unreadable or "
			       "over %d bytes",
			       path, CONFIG_MAX_SECRET);
	{
		size_t total = len;

		len = strcspn(buf, "\r\n");
		/* config_secret_free() wipes up to the first NUL: the
		 * lines after the first go now */
		memset(buf + len, 0, total - len);
	}
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	if (len == 0) {
		config_secret_free(buf);
		return nt_fail(err, NT_ECONFIG, "secret file %s: empty", path);
	}
	*secret = buf;
	return NT_OK;
}

void config_secret_free(char *secret)
{
	if (secret == NULL)
		return;
	/* volatile so the wipe is not optimised away */
	for (volatile char *p = secret; *p; p++)
		*p = '\0';
	free(secret);
}
