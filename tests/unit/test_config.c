/* Unit tests of config.c.  argv[1] is the shipped conf/notify.conf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/config.h"
#include "notify/post.h"

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
	rc = config_load(path, false, c, err);
	unlink(path);
	return rc;
}

static void shipped_config_loads(void **state)
{
	struct config *c = NULL;
	struct nt_err err = {{0}};
	const struct post_opts *o;

	(void)state;
	assert_int_equal(config_load(S_shipped, false, &c, &err), NT_OK);
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
		{"channels = ( { name = \"a\"; type = \"irc\"; } );\n",
		 "'type' has an unknown value"},
		{"channels = ( { type = \"slack\"; } );\n",
		 ":1: a channel needs 'name'"},
		{"channels = (\n { name = \"a\"; type = \"slack\"; } );\n",
		 ":2: a slack channel needs 'webhook_url_file'"},
		{"channels = ( { name = \"a b\"; type = \"slack\";\n"
		 " webhook_url_file = \"x\"; } );\n",
		 "'name' must be 1 to 64"},
		{"channels = ( { name = \"a\"; type = \"slack\";\n"
		 " webhook_url_file = \"x\"; },\n"
		 " { name = \"a\"; type = \"hookshot\";\n"
		 " webhook_url_file = \"y\"; } );\n",
		 ":3: a channel named 'a' exists already"},
		{"channels = ( { name = \"a\"; type = \"slack\";\n"
		 " webhook_url_file = \"x\"; room = \"#r:x\"; } );\n",
		 ":2: unknown key 'room'"},
		{"channels = ( { name = \"m\"; type = \"matrix\";\n"
		 " homeserver = \"http://matrix.example.org\";\n"
		 " room = \"#r:x\"; access_token_file = \"t\"; } );\n",
		 ":2: 'homeserver' must be an https:// URL"},
		{"channels = ( { name = \"m\"; type = \"matrix\";\n"
		 " homeserver = \"https://m.example\";\n"
		 " room = \"#nope\"; access_token_file = \"t\"; } );\n",
		 ":3: 'room' must be a room alias"},
		{"channels = ( { name = \"e\"; type = \"smtp\";\n"
		 " host = \"h\"; from = \"nobody\"; to = [\"a@b\"]; } );\n",
		 "'from' must be an address"},
		{"channels = ( { name = \"e\"; type = \"smtp\"; host = \"h\";\n"
		 " from = \"a@b\"; } );\n",
		 ":1: an smtp channel needs 'to' or 'subscribers = true'"},
		{"channels = ( { name = \"e\"; type = \"smtp\"; host = \"h\";\n"
		 " from = \"a@b\"; to = [\"c@d\"]; port = 70000; } );\n",
		 "'port' must be between 1 and 65535"},
		{"channels = ( { name = \"e\"; type = \"smtp\"; host = \"h\";\n"
		 " from = \"a@b\"; to = [\"c@d\"]; starttls = \"yes\"; } );\n",
		 "'starttls' has an unknown value"},
		{"channels = ( { name = \"e\"; type = \"smtp\"; host = \"h\";\n"
		 " from = \"a@b\"; to = [\"c@d\"]; username = \"u\"; } );\n",
		 "'username' and 'password_file' go together"},
		{"channels = ( { name = \"m\"; type = \"matrix\";\n"
		 " homeserver = \"http://127.0.0.1.evil.example\";\n"
		 " room = \"#r:x\"; access_token_file = \"t\"; } );\n",
		 ":2: 'homeserver' must be an https:// URL"},
		{"channels = ( { name = \"m\"; type = \"matrix\";\n"
		 " homeserver = \"http://127.1@evil.example/\";\n"
		 " room = \"#r:x\"; access_token_file = \"t\"; } );\n",
		 ":2: 'homeserver' must be an https:// URL"},
		{"channels = ( { name = \"m\"; type = \"matrix\";\n"
		 " homeserver = \"https://\"; room = \"#r:x\";\n"
		 " access_token_file = \"t\"; } );\n",
		 ":2: 'homeserver' must be an https:// URL"},
		{"channels = ( { name = \"m\"; type = \"matrix\";\n"
		 " homeserver = \"https://m.example\";\n"
		 " room = \"#:\"; access_token_file = \"t\"; } );\n",
		 ":3: 'room' must be a room alias"},
		{"channels = ( { name = \"e\"; type = \"smtp\"; host = "
		 "\"mx.example\";\n"
		 " from = \"a@b\"; to = [\"c@d\"]; starttls = \"none\";\n"
		 " username = \"u\"; password_file = \"p\"; } );\n",
		 ":1: AUTH needs starttls = \"required\""},
		{"delivery: { max_age = \"3w\"; };\n", "unknown unit"},
		{"delivery: { max_age = \"40d\"; };\n",
		 "between 0 and 30 days"},
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
	assert_int_equal(
		config_load("/nonexistent/notify.conf", false, &c, &err),
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

static void loopback_http_and_local_auth_are_allowed(void **state)
{
	static const char *const ok[] = {
		"channels = ( { name = \"m\"; type = \"matrix\";\n"
		" homeserver = \"http://127.0.0.1:8008\"; room = \"!abc\";\n"
		" access_token_file = \"t\"; } );\n",
		"channels = ( { name = \"m\"; type = \"matrix\";\n"
		" homeserver = \"http://[::1]:8008/\"; room = \"#r:x\";\n"
		" access_token_file = \"t\"; } );\n",
		"channels = ( { name = \"e\"; type = \"smtp\"; host = "
		"\"127.0.0.1\";\n"
		" from = \"a@b\"; to = [\"c@d\"]; starttls = \"none\";\n"
		" username = \"u\"; password_file = \"p\"; } );\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		struct config *c;
		struct nt_err err = {{0}};

		if (S_load(ok[i], &c, &err) != NT_OK)
			fail_msg("case %zu: %s", i, err.msg);
		config_free(c);
	}
}

static void channels_are_read_in_order(void **state)
{
	struct config *c = NULL;
	struct nt_err err = {{0}};
	const struct chan_conf *ch;

	(void)state;
	assert_int_equal(config_load(S_shipped, false, &c, &err), NT_OK);
	assert_int_equal(config_n_channels(c), 4);
	ch = config_channel(c, 0);
	assert_string_equal(ch->name, "soc");
	assert_int_equal(ch->type, CHAN_SLACK);
	assert_string_equal(ch->flavor, "slack");
	assert_true(ch->webhook_url_file[0] == '/');
	assert_string_equal(ch->filter.tags_any[0], "veille-cyber");
	assert_null(ch->filter.tags_any[1]);
	assert_int_equal(ch->filter.skip_without_key_points, -1);
	ch = config_channel_by_name(c, "mail");
	assert_non_null(ch);
	assert_int_equal(ch->type, CHAN_SMTP);
	assert_int_equal(ch->port, 587);
	assert_int_equal(ch->starttls, STARTTLS_REQUIRED);
	assert_string_equal(ch->to[0], "veille@lists.example.org");
	assert_false(config_channel_by_name(c, "hook")->enabled);
	assert_null(config_channel(c, 4));
	assert_int_equal(config_max_age(c), 24 * 3600);
	assert_int_equal(config_inline_retry(c), 10);
	assert_int_equal(config_digest_threshold(c), 6);
	assert_int_equal(config_max_key_points(c), 5);
	assert_int_equal(config_filter(c)->skip_without_key_points, 1);
	config_free(c);
}

/* Secret files: checked only when asked, refused when others can read
 * them, read relative to $CREDENTIALS_DIRECTORY when set. */
static void secret_files_are_checked(void **state)
{
	char dir[] = "/tmp/notify-cred-XXXXXX";
	char conf[128], secret[128];
	struct config *c = NULL;
	struct nt_err err = {{0}};
	char *value = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/n.conf", dir);
	snprintf(secret, sizeof(secret), "%s/slack.url", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("channels = ( { name = \"s\"; type = \"slack\";\n"
	      "  webhook_url_file = \"slack.url\"; } );\n",
	      f);
	fclose(f);
	assert_int_equal(config_load(conf, false, &c, &err), NT_OK);
	config_free(c);
	assert_int_equal(config_load(conf, true, &c, &err), NT_ECONFIG);
	assert_non_null(strstr(err.msg, "n.conf:2: secret file"));
	/* a disabled channel's secret is not required */
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("channels = ( { name = \"s\"; type = \"slack\"; enabled = "
	      "false;\n  webhook_url_file = \"slack.url\"; } );\n",
	      f);
	fclose(f);
	assert_int_equal(config_load(conf, true, &c, &err), NT_OK);
	config_free(c);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("channels = ( { name = \"s\"; type = \"slack\";\n"
	      "  webhook_url_file = \"slack.url\"; } );\n",
	      f);
	fclose(f);
	f = fopen(secret, "w");
	assert_non_null(f);
	fputs("https://hooks.example/T/B/sekrit\n", f);
	fclose(f);
	chmod(secret, 0644);
	assert_int_equal(config_load(conf, true, &c, &err), NT_ECONFIG);
	assert_non_null(strstr(err.msg, "readable by others"));
	assert_null(strstr(err.msg, "sekrit"));
	chmod(secret, 0600);
	assert_int_equal(config_load(conf, true, &c, &err), NT_OK);
	assert_int_equal(
		config_read_secret(config_channel(c, 0)->webhook_url_file,
				   &value, &err),
		NT_OK);
	assert_string_equal(value, "https://hooks.example/T/B/sekrit");
	config_secret_free(value);
	config_free(c);
	setenv("CREDENTIALS_DIRECTORY", "/nonexistent-creds", 1);
	assert_int_equal(config_load(conf, false, &c, &err), NT_OK);
	assert_string_equal(config_channel(c, 0)->webhook_url_file,
			    "/nonexistent-creds/slack.url");
	config_free(c);
	unsetenv("CREDENTIALS_DIRECTORY");
	unlink(secret);
	unlink(conf);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_config_loads),
		cmocka_unit_test(empty_config_means_defaults),
		cmocka_unit_test(errors_name_file_line_and_key),
		cmocka_unit_test(missing_file_is_enoent),
		cmocka_unit_test(empty_alias_list_disables_a_class),
		cmocka_unit_test(channels_are_read_in_order),
		cmocka_unit_test(loopback_http_and_local_auth_are_allowed),
		cmocka_unit_test(secret_files_are_checked),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_config NOTIFY_CONF\n");
		return 2;
	}
	S_shipped = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
