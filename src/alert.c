#include "notify/alert.h"

#include <stdlib.h>

#include "notify/post.h"
#include "notify/site.h"

static json_object *S_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *S_list(const struct post *p, enum post_list which)
{
	size_t n;
	const char *const *v = post_list(p, which, &n);
	json_object *a = json_object_new_array_ext((int)n);

	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

json_object *alert_create(const struct post *p, const struct site *site)
{
	json_object *o = json_object_new_object();
	char *url = site ? site_post_url(site, p) : NULL;
	char *path = site ? site_relpath(site, post_path(p)) : NULL;

	json_object_object_add(o, "id", S_str(post_id(p)));
	json_object_object_add(o, "path", S_str(path ? path : post_path(p)));
	json_object_object_add(o, "title", S_str(post_title(p)));
	json_object_object_add(o, "date", S_str(post_date(p)));
	json_object_object_add(o, "url", S_str(url));
	json_object_object_add(o, "tags", S_list(p, POST_LIST_TAGS));
	json_object_object_add(o, "headline", S_str(post_headline(p)));
	json_object_object_add(o, "summary", S_str(post_summary(p)));
	json_object_object_add(o, "key_points",
			       S_list(p, POST_LIST_KEY_POINTS));
	json_object_object_add(o, "vulnerabilities",
			       S_list(p, POST_LIST_VULNERABILITIES));
	json_object_object_add(o, "recommendations",
			       S_list(p, POST_LIST_RECOMMENDATIONS));
	json_object_object_add(o, "cves", S_list(p, POST_LIST_CVES));
	json_object_object_add(o, "source", S_str(post_source(p)));
	free(url);
	free(path);
	return o;
}

const char *alert_to_json(json_object *alert)
{
	return json_object_to_json_string_ext(
		alert, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}
