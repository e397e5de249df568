/* Unit tests of alert_digest_view(): what a digest that cannot list
 * every post says about the others (issue 11.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/alert.h"

/* A post's view, reduced to what a digest reads of it. */
static json_object *S_view(const char *date)
{
	json_object *v = json_object_new_object();

	json_object_object_add(v, "date", json_object_new_string(date));
	json_object_object_add(v, "date_display", json_object_new_string(date));
	return v;
}

static const char *S_str(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static json_object *S_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static void digest_lists_the_first_posts_and_counts_the_others(void **state)
{
	json_object *views[3] = {S_view("2026-11-01"), S_view("2026-11-20"),
				 S_view("2026-11-05")};
	struct alert_digest_opts o = {"en", "https://veille.example.org/blog/"};
	json_object *d = alert_digest_view(views, 3, 1, &o);

	(void)state;
	assert_int_equal(json_object_get_int(S_get(d, "count")), 3);
	assert_int_equal(json_object_array_length(S_get(d, "posts")), 1);
	assert_ptr_equal(json_object_array_get_idx(S_get(d, "posts"), 0),
			 views[0]);
	assert_true(json_object_get_boolean(S_get(d, "has_more")));
	assert_int_equal(json_object_get_int(S_get(d, "more")), 2);
	assert_string_equal(S_str(d, "more_text"), "2");
	/* the batch's newest post, listed or not */
	assert_string_equal(S_str(d, "date_display"), "2026-11-20");
	assert_non_null(S_str(d, "link")); /* as Markdown, escaped */
	json_object_put(d);
	for (int i = 0; i < 3; i++)
		json_object_put(views[i]);
}

static void digest_listing_all_has_no_more(void **state)
{
	json_object *views[2] = {S_view("2026-11-01"), S_view("2026-11-02")};
	struct alert_digest_opts o = {"fr", NULL};
	json_object *d = alert_digest_view(views, 2, 5, &o);

	(void)state;
	assert_int_equal(json_object_array_length(S_get(d, "posts")), 2);
	assert_false(json_object_get_boolean(S_get(d, "has_more")));
	assert_int_equal(json_object_get_int(S_get(d, "more")), 0);
	assert_null(S_str(d, "link")); /* no site url: no link */
	json_object_put(d);
	json_object_put(views[0]);
	json_object_put(views[1]);
}

/* more_text of a digest of 'n' posts that lists none, in 'locale' */
static char *S_more_text(size_t n, const char *locale, char *buf, size_t len)
{
	json_object *v = S_view("2026-11-01");
	json_object **many = calloc(n, sizeof(*many));
	struct alert_digest_opts o = {locale, NULL};
	json_object *d;

	for (size_t i = 0; i < n; i++)
		many[i] = v; /* listed none: no reference taken */
	d = alert_digest_view(many, n, 0, &o);
	snprintf(buf, len, "%s", S_str(d, "more_text"));
	json_object_put(d);
	json_object_put(v);
	free(many);
	return buf;
}

static void more_is_written_in_the_locale_digits(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(S_more_text(1848, "en", b, sizeof(b)), "1,848");
	assert_string_equal(S_more_text(1848, "fr", b, sizeof(b)),
			    "1\u202F848");
	assert_string_equal(S_more_text(999, "en", b, sizeof(b)), "999");
	assert_string_equal(S_more_text(1000, "en", b, sizeof(b)), "1,000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			digest_lists_the_first_posts_and_counts_the_others),
		cmocka_unit_test(digest_listing_all_has_no_more),
		cmocka_unit_test(more_is_written_in_the_locale_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
