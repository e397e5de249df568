/*
 * config.h - the configuration file (libconfig), conf/notify.conf being
 * the commented example.
 *
 * The file is read whole and checked strictly: an unknown key, a value of
 * the wrong type or out of range, a missing required key, a duplicate
 * channel name is an error naming the file and line, so that a typo never
 * silently falls back to a default.  Relative paths in it are relative to
 * the file's own folder.  Secrets are never inline: channels name files
 * (*_file keys), read relative to $CREDENTIALS_DIRECTORY when it is set
 * (systemd LoadCredential=), else to the file's folder.
 */
#ifndef NOTIFY_CONFIG_H
#define NOTIFY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "notify/result.h"

struct config;
struct post_opts;

/* Bytes of a configuration file at most: far above any real one (the
 * commented example is 6 kB), and refused before libconfig parses it,
 * which takes minutes of CPU over a 10 MB string.  notify-watchd's
 * snapshot of the file has the same cap. */
#define CONFIG_MAX_BYTES (1024 * 1024)

enum chan_type { CHAN_SLACK, CHAN_MATRIX, CHAN_HOOKSHOT, CHAN_SMTP };

enum chan_starttls { STARTTLS_NONE, STARTTLS_OPPORTUNISTIC, STARTTLS_REQUIRED };

/* Which posts a channel (or the whole configuration) takes.  Lists are
 * NULL-terminated, never NULL; skip_without_key_points is -1 when the
 * channel inherits the global filter. */
struct chan_filter {
	const char *const *tags_any;  /* at least one of these tags */
	const char *const *tags_none; /* none of these tags */
	const char *const *keywords;  /* title or key points contain one */
	bool cve_only;		      /* only posts naming a CVE */
	int skip_without_key_points;
};

enum watch_mode { WATCH_AUTO, WATCH_GIT, WATCH_DIR };

/* The `watch` group: how new posts are found.  Strings are borrowed
 * from the config like the rest. */
struct watch_conf {
	enum watch_mode mode; /* auto: git when site.repo is a work tree */
	int fetch_interval;   /* s between fetches; 0: never */
	int settle_ms;	      /* dir mode: quiet time before a file is read */
	const char *remote;   /* NULL: no fetch */
	const char *branch;   /* NULL: the branch HEAD points to */
};

/* One channel, as configured.  Every string is borrowed from the config
 * (valid until config_free()); a key that is not set is NULL (strings),
 * false or its documented default.  *_file paths are absolute. */
struct chan_conf {
	const char *name;
	enum chan_type type;
	int line; /* where it is defined, for messages */
	bool enabled;
	bool allow_http; /* http:// to a non-loopback host */
	struct chan_filter filter;
	int digest_threshold; /* -1: delivery.digest_threshold */
	const char *locale;   /* NULL: the site's */

	/* slack, hookshot */
	const char *webhook_url_file;
	const char *flavor; /* slack: "slack" (Block Kit) or "compat" */

	/* matrix */
	const char *homeserver;
	const char *room;
	const char *access_token_file;
	bool autojoin;

	/* smtp */
	const char *host;
	int port;
	enum chan_starttls starttls;
	const char *from;
	const char *const *to;
	const char *list_id;
	const char *list_unsubscribe;
	bool subscribers;
	const char *username;
	const char *password_file;
	const char *ca_file;
	int sessions;	       /* SMTP sessions a lane opens at once, >= 1 */
	const char *helo_name; /* NULL: the host's FQDN, else from's domain */
};

/* Parallel SMTP sessions of one channel, at most: a relay throttles a
 * client that opens more (Postfix's smtpd_client_connection_count_limit
 * defaults to 50, shared by every client of the host). */
#define CONFIG_SMTP_SESSIONS_MAX 16

/* Reads and checks 'path', at most CONFIG_MAX_BYTES and no NUL byte.
 * With 'check_secrets', what delivery will need is checked too (what
 * delivery and check-config ask; --dry-run and parse need no secret):
 * every *_file secret of an enabled channel must be a regular file, not
 * a symbolic link, unreadable by group and others; a webhook URL in one
 * must be https:// (http:// only to the loopback or with allow_http),
 * as sending requires; a configured templates folder must exist.  On
 * NT_OK *out is owned (config_free()); on failure *out is untouched.
 * Results: NT_ENOENT (no such file), NT_EIO (unreadable or not a regular
 * file), NT_ECONFIG (over the cap, a NUL byte, syntax, unknown key, wrong
 * type, missing or duplicate value, bad secret file, no templates
 * folder; 'err' reads "FILE:LINE: what" and never holds a secret). */
nt_rc config_load(const char *path, bool check_secrets, struct config **out,
		  struct nt_err *err);

/* As config_load(), reading 'path' as if it were the file 'origin'
 * (NULL: 'path' itself): messages name 'origin', and relative paths in
 * it are taken from its folder.  For `notify watch`, whose workers read
 * the snapshot of the configuration in force, not the file on disk. */
nt_rc config_load_as(const char *path, const char *origin, bool check_secrets,
		     struct config **out, struct nt_err *err);

/* Frees 'c'; config_free(NULL) does nothing. */
void config_free(struct config *c);

/* Borrowed, valid until config_free(); NULL when not set. */
const char *config_path(const struct config *c);
/* site.repo, absolute (a relative one is taken from the file's folder). */
const char *config_site_repo(const struct config *c);
const char *config_site_url(const struct config *c);
const char *config_site_locale(const struct config *c);
const char *config_posts_dir(const struct config *c); /* "_posts" */
const char *config_state(const struct config *c);
/* alerts.templates, absolute; NULL: the built-in templates alone. */
const char *config_templates_dir(const struct config *c);
const struct watch_conf *config_watch(const struct config *c); /* never NULL */
int config_max_key_points(const struct config *c);	       /* default 5 */
int config_digest_threshold(const struct config *c);	       /* default 6 */
long config_max_age(const struct config *c);	  /* seconds, default 24h */
long config_inline_retry(const struct config *c); /* seconds, default 10 */
/* Seconds a claimed delivery stays its sender's (default 120): after a
 * crash, another sender takes it over once this has passed. */
long config_lease(const struct config *c);
const struct chan_filter *config_filter(const struct config *c);

/* Parser options (size cap, alias lists), borrowed like the strings. */
const struct post_opts *config_post_opts(const struct config *c);

/* The channels in file order; config_channel() returns NULL past the
 * end.  Borrowed. */
size_t config_n_channels(const struct config *c);
const struct chan_conf *config_channel(const struct config *c, size_t i);
const struct chan_conf *config_channel_by_name(const struct config *c,
					       const char *name);

const char *config_chan_type_name(enum chan_type t);

/* Reads secret file 'path' (a *_file value): its first line, trailing
 * white space dropped.  The same file checks as check_secrets.  On NT_OK
 * *secret is owned: wipe and free it with config_secret_free().
 * NT_ECONFIG otherwise, 'err' naming the file but never its content. */
nt_rc config_read_secret(const char *path, char **secret, struct nt_err *err);
void config_secret_free(char *secret);

#endif
