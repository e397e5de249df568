/*
 * filter.h - which posts a channel announces (DESIGN.md step 5): tags
 * any/none, keywords, cve_only, skip_without_key_points, from the global
 * 'filters' group and the channel's own keys, both of which must pass.
 */
#ifndef NOTIFY_FILTER_H
#define NOTIFY_FILTER_H

#include <json-c/json.h>
#include <stdbool.h>

#include "notify/config.h"

/* True when the alert model 'alert' (borrowed) passes 'global' and then
 * 'chan' (either may be NULL).  On false, *why (if not NULL) is a static
 * text naming the rule that refused it.  Keywords match the title and
 * key points without regard to case or accents. */
bool filter_match(const struct chan_filter *global,
		  const struct chan_filter *chan, json_object *alert,
		  const char **why);

#endif
