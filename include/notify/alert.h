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

#endif
