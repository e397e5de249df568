/* Unit tests of config.c.  argv[1] is the shipped conf/notify.conf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/config.h"

static const char *S_shipped;

/* Loads 'text' from a temporary file; returns the result code. */
static nt_rc S_load(const char *text, struct config **c, struct nt_err *err)
{
	char path[] = "/tmp/notify-conf-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	nt_rc rc;

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	*c = NULL;
	rc = config_load(path, c, err);
	unlink(path);
	return rc;
}

static void shipped_config_loads(void **state)
{
	struct config *c = NULL;
	struct nt_err err = {{0}};
	const struct post_opts *o;

	(void)state;
	assert_int_equal(config_load(S_shipped, &c, &err), NT_OK);
	assert_non_null(config_site_repo(c));
	assert_true(config_site_repo(c)[0] == '/');
	assert_non_null(strstr(config_site_repo(c), "examples/site"));
	assert_string_equal(config_posts_dir(c), "_posts");
	o = config_post_opts(c);
	assert_int_equal(o->max_bytes, 262144);
	assert_string_equal(o->aliases->cls[POST_SEC_RECOMMENDATIONS][2],
			    "^mesures");
	config_free(c);
}

static void empty_config_means_defaults(void **state)
{
	struct config *c;
	struct nt_err err;

	(void)state;
	assert_int_equal(S_load("# nothing\n", &c, &err), NT_OK);
	assert_null(config_site_repo(c));
	assert_null(config_site_url(c));
	assert_null(config_post_opts(c)->aliases);
	assert_int_equal(config_post_opts(c)->max_bytes, 0);
	config_free(c);
}

static void errors_name_file_line_and_key(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"site: { repo = \"x\";\n colour = 1; };\n",
		 ":2: unknown key 'colour'"},
		{"sites: { };\n", ":1: unknown key 'sites'"},
		{"site: { repo = 3; };\n", "'repo' must be a string"},
		{"site: { url = \"ftp://x\"; };\n", "'url' must start with"},
		{"site = 1;\n", "'site' must be a group"},
		{"parser: {\n max_post_bytes = \"1M\"; };\n",
		 ":2: 'max_post_bytes' must be an integer"},
		{"parser: { max_post_bytes = 10; };\n", "must be between"},
		{"parser: { key_points = \"a\"; };\n", "must be a list"},
		{"parser: { key_points = [\"\"]; };\n", "non-empty strings"},
		{"parser: {\n\n key_points = [ ;\n", ":3: syntax error"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct config *c;
		struct nt_err err = {{0}};

		assert_int_equal(S_load(cases[i].text, &c, &err), NT_ECONFIG);
		assert_null(c);
		if (strstr(err.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg,
				 cases[i].msg);
		assert_non_null(strstr(err.msg, "/tmp/notify-conf-"));
	}
}

static void missing_file_is_enoent(void **state)
{
	struct config *c = NULL;
	struct nt_err err;

	(void)state;
	assert_int_equal(config_load("/nonexistent/notify.conf", &c, &err),
			 NT_ENOENT);
	assert_null(c);
}

static void empty_alias_list_disables_a_class(void **state)
{
	struct config *c;
	struct nt_err err;
	const struct post_aliases *a;

	(void)state;
	assert_int_equal(
		S_load("parser: { vulnerabilities = []; };\n", &c, &err),
		NT_OK);
	a = config_post_opts(c)->aliases;
	assert_non_null(a);
	assert_null(a->cls[POST_SEC_KEY_POINTS]); /* built-in list */
	assert_non_null(a->cls[POST_SEC_VULNERABILITIES]);
	assert_null(a->cls[POST_SEC_VULNERABILITIES][0]);
	config_free(c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_config_loads),
		cmocka_unit_test(empty_config_means_defaults),
		cmocka_unit_test(errors_name_file_line_and_key),
		cmocka_unit_test(missing_file_is_enoent),
		cmocka_unit_test(empty_alias_list_disables_a_class),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_config NOTIFY_CONF\n");
		return 2;
	}
	S_shipped = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
