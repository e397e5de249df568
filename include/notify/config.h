/*
 * config.h - the configuration file (libconfig), conf/notify.conf being
 * the commented example.
 *
 * The file is read whole and checked strictly: an unknown key, a value of
 * the wrong type or out of range is an error naming the file and line, so
 * that a typo never silently falls back to a default.  Relative paths in
 * it are relative to the file's own folder.
 */
#ifndef NOTIFY_CONFIG_H
#define NOTIFY_CONFIG_H

#include "notify/post.h"
#include "notify/result.h"

struct config;

/* Reads 'path'.  On NT_OK *out is owned (config_free()); on failure *out
 * is untouched.  Results: NT_ENOENT (no such file), NT_EIO (unreadable or
 * not a regular file), NT_ECONFIG (syntax, unknown key, wrong type; 'err'
 * reads "FILE:LINE: what"). */
nt_rc config_load(const char *path, struct config **out, struct nt_err *err);

/* Frees 'c'; config_free(NULL) does nothing. */
void config_free(struct config *c);

/* Borrowed, valid until config_free(); NULL when not set. */
/* site.repo, a relative one prefixed with the config file's folder. */
const char *config_site_repo(const struct config *c);
const char *config_site_url(const struct config *c);
const char *config_site_locale(const struct config *c);
const char *config_posts_dir(const struct config *c); /* "_posts" */

/* Parser options (size cap, alias lists), borrowed like the strings. */
const struct post_opts *config_post_opts(const struct config *c);

#endif
