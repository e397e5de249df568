#include "notify/filter.h"

#include <stdlib.h>
#include <string.h>

#include "notify/text.h"

static bool S_has_tag(json_object *alert, const char *tag)
{
	json_object *tags = NULL;

	json_object_object_get_ex(alert, "tags", &tags);
	for (size_t i = 0; i < json_object_array_length(tags); i++)
		if (strcmp(json_object_get_string(
				   json_object_array_get_idx(tags, i)),
			   tag) == 0)
			return true;
	return false;
}

static bool S_any_tag(json_object *alert, const char *const *tags)
{
	for (; *tags; tags++)
		if (S_has_tag(alert, *tags))
			return true;
	return false;
}

static bool S_contains_folded(const char *text, const char *const *words)
{
	char *t = text_fold(text);
	bool found = false;

	for (; *words && !found; words++) {
		char *w = text_fold(*words);

		found = w[0] && strstr(t, w) != NULL;
		free(w);
	}
	free(t);
	return found;
}

static bool S_keyword(json_object *alert, const char *const *words)
{
	json_object *v = NULL;

	if (json_object_object_get_ex(alert, "title", &v) &&
	    S_contains_folded(json_object_get_string(v), words))
		return true;
	json_object_object_get_ex(alert, "key_points", &v);
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (S_contains_folded(json_object_get_string(
					      json_object_array_get_idx(v, i)),
				      words))
			return true;
	return false;
}

static size_t S_len(json_object *alert, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(alert, key, &v);
	return json_object_array_length(v);
}

static bool S_one(const struct chan_filter *f, int skip_empty,
		  json_object *alert, const char **why)
{
	if (skip_empty > 0 && S_len(alert, "key_points") == 0) {
		*why = "no key points";
		return false;
	}
	if (f == NULL)
		return true;
	if (f->tags_any[0] && !S_any_tag(alert, f->tags_any)) {
		*why = "tags_any: no tag matches";
		return false;
	}
	if (f->tags_none[0] && S_any_tag(alert, f->tags_none)) {
		*why = "tags_none: a tag matches";
		return false;
	}
	if (f->keywords[0] && !S_keyword(alert, f->keywords)) {
		*why = "keywords: none found";
		return false;
	}
	if (f->cve_only && S_len(alert, "cves") == 0) {
		*why = "cve_only: no CVE";
		return false;
	}
	return true;
}

bool filter_match(const struct chan_filter *global,
		  const struct chan_filter *chan, json_object *alert,
		  const char **why)
{
	const char *dummy;
	int skip = global ? global->skip_without_key_points : 0;

	if (why == NULL)
		why = &dummy;
	if (chan && chan->skip_without_key_points >= 0)
		skip = chan->skip_without_key_points;
	return S_one(global, skip, alert, why) && S_one(chan, 0, alert, why);
}
