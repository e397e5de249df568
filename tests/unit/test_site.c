/* Unit tests of site.c and permalink.c: _config.yml and post URLs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/post.h"
#include "notify/site.h"

struct fx {
	char dir[64];
	char cfg[128];
	char posts[128];
};

static void S_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int S_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/notify-site-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->cfg, sizeof(fx->cfg), "%s/_config.yml", fx->dir);
	snprintf(fx->posts, sizeof(fx->posts), "%s/_posts", fx->dir);
	mkdir(fx->posts, 0700);
	*state = fx;
	return 0;
}

static int S_teardown(void **state)
{
	struct fx *fx = *state;
	char *cmd = malloc(256);

	snprintf(cmd, 256, "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(cmd);
	free(fx);
	return 0;
}

/* URL of a post with front matter 'fm' on a site whose _config.yml holds
 * 'config'; owned by the caller. */
static char *S_url(struct fx *fx, const char *config, const char *fm)
{
	struct site *s = NULL;
	struct post *p = NULL;
	struct nt_err err;
	char text[512];
	char *url;

	S_write(fx->cfg, config);
	assert_int_equal(site_open(fx->dir, &s, &err), NT_OK);
	snprintf(text, sizeof(text), "---\ntitle: T\n%s---\n", fm);
	assert_int_equal(post_parse_buffer("2026-03-05-Mon-Post.md", text,
					   strlen(text), NULL, &p, &err),
			 NT_OK);
	url = site_post_url(s, p);
	post_free(p);
	site_free(s);
	return url;
}

static void S_check(void **state, const char *config, const char *fm,
		    const char *want)
{
	char *url = S_url(*state, config, fm);

	if (want == NULL) {
		assert_null(url);
		return;
	}
	assert_non_null(url);
	assert_string_equal(url, want);
	free(url);
}

#define SITE "url: https://x.example/\nbaseurl: /blog/\n"
#define DATED "date: 2026-03-05 14:07:09\n"

static void default_style_is_date(void **state)
{
	S_check(state, SITE, DATED,
		"https://x.example/blog/2026/03/05/Mon-Post.html");
	S_check(state, SITE "permalink: date\n",
		DATED "categories: [Alerts, CVE]\n",
		"https://x.example/blog/alerts/cve/2026/03/05/Mon-Post.html");
}

static void builtin_styles(void **state)
{
	S_check(state, SITE "permalink: pretty\n", DATED,
		"https://x.example/blog/2026/03/05/Mon-Post/");
	S_check(state, SITE "permalink: ordinal\n", DATED,
		"https://x.example/blog/2026/064/Mon-Post.html");
	S_check(state, SITE "permalink: weekdate\n", DATED,
		"https://x.example/blog/2026/W10/Thu/Mon-Post.html");
	S_check(state, SITE "permalink: none\n", "categories: a\n",
		"https://x.example/blog/a/Mon-Post.html");
}

static void pattern_placeholders(void **state)
{
	S_check(state,
		SITE "permalink: /:year/:i_month/:i_day/:short_year/"
		     ":short_month-:long_month/:long_day/:hour:minute:second/"
		     ":slug/:title:output_ext\n",
		DATED,
		"https://x.example/blog/2026/3/5/26/Mar-March/Thursday/"
		"140709/mon-post/Mon-Post.html");
	/* unknown placeholders stay as they are */
	S_check(state, SITE "permalink: /:foo/:titles/\n", DATED,
		"https://x.example/blog/:foo/Mon-Posts/");
}

static void front_matter_permalink_wins(void **state)
{
	S_check(state, SITE "permalink: pretty\n",
		"permalink: /posts/2026/03/05/x/\n",
		"https://x.example/blog/posts/2026/03/05/x/");
	S_check(state, SITE, "permalink: custom/:year/:title\n",
		"https://x.example/blog/custom/2026/Mon-Post");
	S_check(state, "url: https://x.example\nbaseurl: \"\"\n",
		"permalink: /posts/a//b/\n", "https://x.example/posts/a/b/");
}

static void hostile_permalink_is_encoded(void **state)
{
	S_check(state, SITE,
		"permalink: \"/a|b c>\\\"<!here>/@x/%20/\\nBcc: y\"\n",
		"https://x.example/blog/a%7Cb%20c%3E%22%3C!here%3E/@x/%20/"
		"%0ABcc:%20y");
}

static void values_are_percent_encoded(void **state)
{
	S_check(state, SITE "permalink: /:categories/:title/\n",
		"categories: [\"a b\", \"é\"]\n",
		"https://x.example/blog/a%20b/%C3%A9/Mon-Post/");
}

static void site_without_url_has_no_post_url(void **state)
{
	S_check(state, "title: x\n", "", NULL);
	S_check(state, "", "", NULL);
}

static void config_keys_and_yaml_aliases(void **state)
{
	struct fx *fx = *state;
	struct site *s = NULL;
	struct nt_err err;

	S_write(fx->cfg, "name: &n \"Moi\"\nauthor: {name: *n}\n"
			 "url: https://y.example\nbaseurl: blog\n"
			 "timezone: Europe/Paris\nlocale: fr-FR\n"
			 "future: true\n");
	assert_int_equal(site_open(fx->dir, &s, &err), NT_OK);
	assert_string_equal(site_url(s), "https://y.example");
	assert_string_equal(site_baseurl(s), "/blog");
	assert_string_equal(site_timezone(s), "Europe/Paris");
	assert_string_equal(site_locale(s), "fr-FR");
	assert_true(site_future(s));
	site_set_url(s, "https://override.example/");
	assert_string_equal(site_url(s), "https://override.example");
	site_free(s);
}

static void null_and_unsafe_urls_are_no_url(void **state)
{
	S_check(state, "url: null\nbaseurl: ~\n", "", NULL);
	S_check(state, "url: \"javascript:alert(1)\"\n", "", NULL);
	S_check(state, "url: https://x.example\nbaseurl: ~\n", "",
		"https://x.example/2026/03/05/Mon-Post.html");
}

static void yes_is_true_for_future(void **state)
{
	struct fx *fx = *state;
	struct site *s = NULL;
	struct nt_err err;

	S_write(fx->cfg, "future: yes\n");
	assert_int_equal(site_open(fx->dir, &s, &err), NT_OK);
	assert_true(site_future(s));
	site_free(s);
	assert_int_equal(site_open("/nonexistent/site", &s, &err), NT_EIO);
}

static void bad_config_names_file_and_line(void **state)
{
	struct fx *fx = *state;
	struct site *s = NULL;
	struct nt_err err;

	S_write(fx->cfg, "url: x\ntitle: [oops\n");
	assert_int_equal(site_open(fx->dir, &s, &err), NT_EPARSE);
	assert_null(s);
	assert_non_null(strstr(err.msg, "_config.yml:"));
}

static void root_is_found_from_the_post(void **state)
{
	struct fx *fx = *state;
	char post[256], *root = NULL, *real;
	struct nt_err err;
	struct site *s = NULL;
	char *rel;

	S_write(fx->cfg, "url: https://z.example\n");
	snprintf(post, sizeof(post), "%s/2026-01-01-a.md", fx->posts);
	S_write(post, "---\ntitle: a\n---\n");
	assert_int_equal(site_find_root(post, &root, &err), NT_OK);
	real = realpath(fx->dir, NULL);
	assert_string_equal(root, real);
	assert_int_equal(site_open(root, &s, &err), NT_OK);
	rel = site_relpath(s, post);
	assert_string_equal(rel, "_posts/2026-01-01-a.md");
	free(rel);
	site_free(s);
	free(real);
	free(root);
	unlink(fx->cfg);
	assert_int_equal(site_find_root("/proc/self/none.md", &root, &err),
			 NT_ENOENT);
	/* a bare file name is looked for from the current folder (ASan
	 * checks the no-slash path) */
	root = NULL;
	if (site_find_root("", &root, &err) == NT_OK)
		free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_style_is_date),
		cmocka_unit_test(builtin_styles),
		cmocka_unit_test(pattern_placeholders),
		cmocka_unit_test(front_matter_permalink_wins),
		cmocka_unit_test(values_are_percent_encoded),
		cmocka_unit_test(hostile_permalink_is_encoded),
		cmocka_unit_test(site_without_url_has_no_post_url),
		cmocka_unit_test(config_keys_and_yaml_aliases),
		cmocka_unit_test(null_and_unsafe_urls_are_no_url),
		cmocka_unit_test(yes_is_true_for_future),
		cmocka_unit_test(bad_config_names_file_and_line),
		cmocka_unit_test(root_is_found_from_the_post),
	};

	return cmocka_run_group_tests(tests, S_setup, S_teardown);
}
