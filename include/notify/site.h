/*
 * site.h - the Jekyll site a post belongs to: its root folder and the
 * settings of its _config.yml that alerts need (url, baseurl, permalink,
 * timezone, future, locale), so that links are right without
 * configuration.
 *
 * _config.yml is untrusted input; it is read with libyaml and only the keys
 * above are looked at.
 */
#ifndef NOTIFY_SITE_H
#define NOTIFY_SITE_H

#include <stdbool.h>

#include "notify/result.h"

struct post;
struct site;

/* Walks up from the folder of 'post_path' to the nearest folder holding a
 * _config.yml (at most 64 levels).  On NT_OK *root is an owned absolute
 * path (free(3)).  NT_ENOENT when there is none; NT_EIO when the post's
 * folder cannot be resolved. */
nt_rc site_find_root(const char *post_path, char **root, struct nt_err *err);

/* Opens the site at folder 'root' and reads root/_config.yml when it
 * exists (a site without one has no url and Jekyll's defaults).  On NT_OK
 * *out is owned: free with site_free().  On failure *out is untouched.
 * Results: NT_EIO ('root' is not a folder, _config.yml unreadable, a link
 * or over 1 MiB), NT_EPARSE (bad _config.yml; 'err' names file and
 * line).  A url in _config.yml that is not http(s) is ignored. */
nt_rc site_open(const char *root, struct site **out, struct nt_err *err);

void site_free(struct site *s);

/* Borrowed strings, valid until site_free() or the next setter call.
 * site_url() has no trailing slash and is NULL when unknown; baseurl is
 * "" or starts with '/' and has no trailing slash. */
const char *site_root(const struct site *s);
const char *site_url(const struct site *s);
const char *site_baseurl(const struct site *s);
const char *site_permalink(const struct site *s); /* Jekyll: "date" */
const char *site_locale(const struct site *s);	  /* NULL when unset */
const char *site_timezone(const struct site *s);  /* NULL when unset */
bool site_future(const struct site *s);		  /* Jekyll: false */

/* Overrides the url of _config.yml (the config file's site.url); a copy is
 * kept.  NULL keeps the site's own. */
void site_set_url(struct site *s, const char *url);

/* Absolute URL of post 'p': url + baseurl + the post's permalink, or the
 * site's permalink style (date, pretty, ordinal, weekdate, none, or a
 * pattern with :year, :month, :day, :title, :categories ...).  Owned
 * (free(3)); NULL when the site has no url. */
char *site_post_url(const struct site *s, const struct post *p);

/* Path of 'path' relative to the site root when it lies inside it, else
 * the path as given.  Owned (free(3)). */
char *site_relpath(const struct site *s, const char *path);

#endif
