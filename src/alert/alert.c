#include "notify/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/post.h"
#include "notify/site.h"
#include "notify/buf.h"
#include "notify/text.h"

/* Bytes a value may take in the view: far above real posts, far below
 * what a message may hold (Slack sections: 3000 characters). */
#define VIEW_MAX_ITEM 600
#define VIEW_MAX_SUMMARY 1200
#define VIEW_MAX_TITLE 400
#define VIEW_MAX_LIST 20 /* vulnerabilities, recommendations, CVEs */

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

/* A plain string of the model as inline Markdown, cut to 'max' bytes. */
static json_object *S_plain(json_object *v, size_t max)
{
	char *cut, *md;
	json_object *out;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	cut = text_ellipsize(json_object_get_string(v), max);
	md = text_md_escape(cut);
	out = json_object_new_string(md);
	free(cut);
	free(md);
	return out;
}

/* A Markdown string of the model, cut to 'max' bytes. */
static json_object *S_md(json_object *v, size_t max)
{
	char *cut;
	json_object *out;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	cut = text_ellipsize(json_object_get_string(v), max);
	out = json_object_new_string(cut);
	free(cut);
	return out;
}

/* At most 'limit' items of list 'v', each through 'conv'. */
static json_object *S_items(json_object *v, size_t limit,
			    json_object *(*conv)(json_object *, size_t))
{
	size_t n = json_object_array_length(v);
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < n && i < limit; i++)
		json_object_array_add(a, conv(json_object_array_get_idx(v, i),
					      VIEW_MAX_ITEM));
	return a;
}

static json_object *S_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static void S_date_display(json_object *view, json_object *date,
			   const char *locale)
{
	const char *d = json_object_get_string(date);
	char buf[16];

	if (d == NULL || strlen(d) != 10)
		return;
	if (locale && strncmp(locale, "fr", 2) == 0)
		snprintf(buf, sizeof(buf), "%.2s/%.2s/%.4s", d + 8, d + 5, d);
	else
		snprintf(buf, sizeof(buf), "%.10s", d);
	json_object_object_add(view, "date_display",
			       json_object_new_string(buf));
}

static void S_cves(json_object *view, json_object *cves)
{
	size_t n = json_object_array_length(cves);
	struct nt_buf b = NT_BUF_INIT;

	for (size_t i = 0; i < n && i < VIEW_MAX_LIST; i++)
		nt_buf_addf(&b, "%s%s", i ? ", " : "",
			    json_object_get_string(
				    json_object_array_get_idx(cves, i)));
	if (n > VIEW_MAX_LIST)
		nt_buf_addf(&b, ", … (+%zu)", n - VIEW_MAX_LIST);
	json_object_object_add(view, "has_cves", json_object_new_boolean(n));
	json_object_object_add(view, "cves_text",
			       json_object_new_string(nt_buf_str(&b)));
	json_object_object_add(view, "cves",
			       S_items(cves, VIEW_MAX_LIST, S_plain));
	nt_buf_release(&b);
}

static void S_key_points(json_object *view, json_object *kp, int max)
{
	size_t n = json_object_array_length(kp);
	size_t keep = max < 0 || (size_t)max > n ? n : (size_t)max;

	json_object_object_add(view, "key_points", S_items(kp, keep, S_md));
	json_object_object_add(view, "has_key_points",
			       json_object_new_boolean(keep > 0));
	json_object_object_add(view, "has_more_key_points",
			       json_object_new_boolean(n > keep));
	json_object_object_add(view, "more_key_points",
			       json_object_new_int64((int64_t)(n - keep)));
}

json_object *alert_view(json_object *alert, const struct alert_view_opts *o)
{
	static const char *const plain[] = {"id", "path", "date", "url",
					    "source"};
	json_object *view = json_object_new_object();
	json_object *tags = S_get(alert, "tags");
	size_t ntags = json_object_array_length(tags);

	for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++)
		json_object_object_add(view, plain[i],
				       S_plain(S_get(alert, plain[i]), 2048));
	json_object_object_add(view, "title",
			       S_plain(S_get(alert, "title"), VIEW_MAX_TITLE));
	json_object_object_add(view, "headline",
			       S_md(S_get(alert, "headline"), VIEW_MAX_TITLE));
	json_object_object_add(view, "summary",
			       S_md(S_get(alert, "summary"), VIEW_MAX_SUMMARY));
	json_object_object_add(view, "tags",
			       S_items(tags, VIEW_MAX_LIST, S_plain));
	json_object_object_add(
		view, "tag",
		ntags ? S_plain(json_object_array_get_idx(tags, ntags - 1),
				VIEW_MAX_ITEM)
		      : NULL);
	S_key_points(view, S_get(alert, "key_points"), o->max_key_points);
	json_object_object_add(
		view, "vulnerabilities",
		S_items(S_get(alert, "vulnerabilities"), VIEW_MAX_LIST, S_md));
	json_object_object_add(
		view, "recommendations",
		S_items(S_get(alert, "recommendations"), VIEW_MAX_LIST, S_md));
	S_cves(view, S_get(alert, "cves"));
	S_date_display(view, S_get(alert, "date"), o->locale);
	return view;
}

/* 'n' with the locale's thousands separator: "1,848"; in French a
 * narrow no-break space, "1 848". */
static json_object *S_count_text(size_t n, const char *locale)
{
	const char *sep =
		locale && strncmp(locale, "fr", 2) == 0 ? "\u202F" : ",";
	char digits[32];
	struct nt_buf b = NT_BUF_INIT;
	size_t len = (size_t)snprintf(digits, sizeof(digits), "%zu", n);
	json_object *out;

	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			nt_buf_adds(&b, sep);
		nt_buf_addc(&b, digits[i]);
	}
	out = json_object_new_string(nt_buf_str(&b));
	nt_buf_release(&b);
	return out;
}

json_object *alert_digest_view(json_object *const *views, size_t n,
			       size_t listed, const struct alert_digest_opts *o)
{
	json_object *d = json_object_new_object();
	json_object *posts;
	json_object *newest = NULL;
	/* the link is a plain value, as url is: S_plain() of a string */
	json_object *link = o->link ? json_object_new_string(o->link) : NULL;

	if (listed > n)
		listed = n;
	posts = json_object_new_array_ext((int)listed);
	for (size_t i = 0; i < n; i++) {
		json_object *date = S_get(views[i], "date");

		if (i < listed)
			json_object_array_add(posts, json_object_get(views[i]));
		if (newest == NULL ||
		    strcmp(json_object_get_string(date),
			   json_object_get_string(S_get(newest, "date"))) > 0)
			newest = views[i];
	}
	json_object_object_add(d, "count", json_object_new_int64((int64_t)n));
	json_object_object_add(d, "posts", posts);
	if (newest)
		json_object_object_add(
			d, "date_display",
			json_object_get(S_get(newest, "date_display")));
	json_object_object_add(d, "has_more",
			       json_object_new_boolean(listed < n));
	json_object_object_add(d, "more",
			       json_object_new_int64((int64_t)(n - listed)));
	json_object_object_add(d, "more_text",
			       S_count_text(n - listed, o->locale));
	json_object_object_add(d, "link", S_plain(link, 2048));
	json_object_put(link);
	return d;
}

const char *alert_id(json_object *alert)
{
	return json_object_get_string(json_object_object_get(alert, "id"));
}
