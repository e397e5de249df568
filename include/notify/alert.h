/*
 * alert.h - the alert model: one JSON object per post (DESIGN.md, "Alert
 * model"), the only thing templates and channels see.
 *
 * Keys, always present in this order: id, path, title, date, url, tags,
 * headline, summary, key_points, vulnerabilities, recommendations, cves,
 * source.  A missing value is null (strings) or [] (lists).
 */
#ifndef NOTIFY_ALERT_H
#define NOTIFY_ALERT_H

#include <json-c/json.h>

struct post;
struct site;

/* Builds the model of 'p'.  'site' gives the url and the path relative to
 * the site root; it may be NULL (url null, path as the post was opened).
 * Returns a new json-c object owned by the caller (json_object_put());
 * never NULL. */
json_object *alert_create(const struct post *p, const struct site *site);

/* One line of compact JSON for 'alert', borrowed from 'alert' and valid
 * until it is next serialised or freed.  Slashes are not escaped. */
const char *alert_to_json(json_object *alert);

/* The post id of an alert made by alert_create() (borrowed from it). */
const char *alert_id(json_object *alert);

/*
 * The view: what templates see.  Every string value of it is inline
 * Markdown (plain model values such as title, url and date are escaped
 * so that they read as themselves), so that one escaping rule per output
 * format serves every {{value}}.  Long values are cut (an item to 600
 * bytes, the summary to 1200, the title to 400, with "…") and lists are
 * bounded, so that no post can make a message exceed a channel's limit.
 * Added keys: key_points holds at most max_key_points items, then
 * has_more_key_points / more_key_points; tag (the last tag, the source),
 * date_display (in the locale's form), has_key_points, has_cves,
 * cves_text ("CVE-1, CVE-2").
 */
struct alert_view_opts {
	const char *locale; /* "fr" or "en"; others read as "en" */
	int max_key_points; /* negative: all */
};

/* Returns a new object (json_object_put()); never NULL.  'alert' is
 * borrowed. */
json_object *alert_view(json_object *alert, const struct alert_view_opts *o);

/* What a digest lists besides its posts. */
struct alert_digest_opts {
	const char *locale; /* "fr" or "en"; others read as "en" */
	const char *link;   /* the site's home page, or NULL */
};

/* The view of a digest of the n posts of views[0..n) that lists the
 * first 'listed' of them (at most n): {count (n), posts: [the listed
 * views], date_display of the newest of the n, has_more, more (n -
 * listed), more_text (more in the locale's digits: "1,848", "1 848"),
 * link (o->link as a view value, or null)}.  A channel that cannot carry
 * every post lists fewer and says how many more there are.  Takes a
 * reference to each listed view; returns a new object, never NULL. */
json_object *alert_digest_view(json_object *const *views, size_t n,
			       size_t listed,
			       const struct alert_digest_opts *o);

#endif
