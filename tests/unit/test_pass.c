/* Unit tests of pass.c: one pass over a small site in a temporary folder
 * (directory mode), its outbox in the same folder, a fixed clock.  No
 * network: the one channel's secret file is missing, so a delivery fails
 * at once, before any connection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "notify/config.h"
#include "notify/pass.h"
#include "notify/store.h"

static const char *S_templates; /* argv[1]: conf/templates */

/* 2026-11-10 hh:mm:ss UTC */
static int64_t S_nov10(int h, int m, int s)
{
	struct tm tm = {.tm_year = 126,
			.tm_mon = 10,
			.tm_mday = 10,
			.tm_hour = h,
			.tm_min = m,
			.tm_sec = s};

	return (int64_t)timegm(&tm);
}

struct fx {
	char dir[64];
	char path[256];
	struct config *cfg;
	struct pass *p;
};

static const char *S_path(struct fx *fx, const char *rel)
{
	snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, rel);
	return fx->path;
}

static void S_write(struct fx *fx, const char *rel, const char *text)
{
	FILE *f = fopen(S_path(fx, rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A post of day 'day' (2026-11-DD), at 'time' ("09:00:00", no zone). */
static void S_post(struct fx *fx, int day, const char *slug, const char *time)
{
	char rel[128], text[512];

	snprintf(rel, sizeof(rel), "site/_posts/2026-11-%02d-%s.md", day, slug);
	snprintf(text, sizeof(text),
		 "---\ntitle: 'Post %s'\ndate: 2026-11-%02d %s\n---\n"
		 "**Points clés :**\n\n*   %s, un point.\n",
		 slug, day, time, slug);
	S_write(fx, rel, text);
}

/* The site's _config.yml is 'config'; the pass is opened afresh, as each
 * pass of the service is a process of its own. */
static void S_open(struct fx *fx, int64_t now)
{
	struct nt_err err = {{0}};

	pass_free(fx->p);
	fx->p = NULL;
	if (pass_open(fx->cfg, &fx->p, &err) != NT_OK)
		fail_msg("%s", err.msg);
	pass_set_clock(fx->p, now);
}

/* The configuration, watching the site in 'mode' ("dir", "git"). */
static int S_config(struct fx *fx, const char *mode)
{
	struct nt_err err = {{0}};
	char conf[1024];

	config_free(fx->cfg);
	fx->cfg = NULL;
	snprintf(conf, sizeof(conf),
		 "site: { repo = \"%s/site\"; };\n"
		 "state = \"%s/state.db\";\n"
		 "watch: { mode = \"%s\"; };\n"
		 "alerts: { templates = \"%s\"; };\n"
		 "channels = ( { name = \"soc\"; type = \"slack\"; "
		 "webhook_url_file = \"missing.url\"; } );\n",
		 fx->dir, fx->dir, mode, S_templates);
	S_write(fx, "notify.conf", conf);
	if (config_load(S_path(fx, "notify.conf"), false, &fx->cfg, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int S_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/notify-pass-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	mkdir(S_path(fx, "site"), 0700);
	mkdir(S_path(fx, "site/_posts"), 0700);
	S_write(fx, "site/_config.yml", "url: https://blog.example.org\n");
	if (S_config(fx, "dir"))
		return -1;
	*state = fx;
	return 0;
}

static int S_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	pass_free(fx->p);
	config_free(fx->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

static void S_count_cb(void *ctx, const struct dlv *d)
{
	(void)d;
	++*(size_t *)ctx;
}

/* Delivery rows in 'states', read through a handle of our own. */
static size_t S_rows(struct fx *fx, unsigned states)
{
	struct store *st = NULL;
	struct nt_err err = {{0}};
	size_t n = 0;

	assert_int_equal(store_open(S_path(fx, "state.db"), &st, &err), NT_OK);
	assert_int_equal(store_list(st, states, 0, S_count_cb, &n, &err),
			 NT_OK);
	store_close(st);
	return n;
}

#define ALL_ROWS                                                               \
	(1u << DLV_PENDING | 1u << DLV_SENDING | 1u << DLV_SENT |              \
	 1u << DLV_FAILED)

static int64_t S_next_due(struct fx *fx)
{
	struct nt_err err = {{0}};
	int64_t at = -2;

	assert_int_equal(pass_next_due(fx->p, &at, &err), NT_OK);
	return at;
}

static nt_rc S_scan(struct fx *fx, int64_t now)
{
	struct nt_err err = {{0}};

	nt_rc rc;

	S_open(fx, now);
	rc = pass_scan(fx->p, PASS_NEW, 0, &err);
	if (rc)
		fprintf(stderr, "pass: %s\n", err.msg);
	return rc;
}

static void first_pass_is_a_baseline_then_new_posts_are_queued(void **state)
{
	struct fx *fx = *state;

	S_post(fx, 1, "a", "09:00:00");
	S_post(fx, 2, "b", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 0);
	assert_int_equal(S_rows(fx, ALL_ROWS), 0);
	S_post(fx, 3, "c", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 1);
	assert_int_equal(pass_counts(fx->p)->rows, 1);
	assert_int_equal(S_rows(fx, 1u << DLV_PENDING), 1);
	/* seen now: the next pass finds nothing */
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 0);
	assert_int_equal(S_rows(fx, ALL_ROWS), 1);
}

static char *S_dry(struct fx *fx, nt_rc *rc)
{
	struct nt_err err = {{0}};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	S_open(fx, S_nov10(12, 0, 0));
	pass_set_dry_run(fx->p, f);
	*rc = pass_scan(fx->p, PASS_NEW, 0, &err);
	fclose(f);
	return out;
}

static void a_dry_run_prints_and_commits_nothing(void **state)
{
	struct fx *fx = *state;
	nt_rc rc;
	char *out;

	S_post(fx, 1, "a", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	S_post(fx, 3, "c", "09:00:00");
	out = S_dry(fx, &rc);
	assert_int_equal(rc, NT_OK);
	assert_non_null(strstr(out, "--- soc (slack)"));
	assert_non_null(strstr(out, "Post c"));
	assert_null(strstr(out, "Post a"));
	free(out);
	assert_int_equal(S_rows(fx, ALL_ROWS), 0);
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 1);
}

/* 09:00 in New York on 2026-11-10 is 14:00 UTC: held until then to the
 * second, whatever the machine's zone (TZ is set to another here, and
 * the pass neither reads nor changes it). */
static void a_post_dated_ahead_is_held_in_the_sites_zone(void **state)
{
	struct fx *fx = *state;

	setenv("TZ", "Asia/Tokyo", 1);
	S_write(fx, "site/_config.yml",
		"url: https://blog.example.org\nfuture: false\n"
		"timezone: America/New_York\n");
	S_post(fx, 10, "ahead", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(13, 59, 59)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 0);
	assert_int_equal(S_next_due(fx), S_nov10(14, 0, 0));
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	assert_int_equal(S_scan(fx, S_nov10(13, 59, 59)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 0);
	assert_int_equal(S_scan(fx, S_nov10(14, 0, 0)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 1);
	assert_int_equal(S_rows(fx, 1u << DLV_PENDING), 1);
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
}

/* A zone name from the blog that is no zone: said, and the machine's
 * zone (here UTC) is used; the pass goes on. */
static void a_hostile_site_timezone_is_refused(void **state)
{
	struct fx *fx = *state;

	setenv("TZ", "UTC", 1);
	S_write(fx, "site/_config.yml",
		"url: https://blog.example.org\nfuture: false\n"
		"timezone: ../../../../etc/passwd\n");
	S_post(fx, 10, "ahead", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(8, 0, 0)), NT_OK);
	assert_int_equal(S_next_due(fx), S_nov10(9, 0, 0));
	assert_string_equal(getenv("TZ"), "UTC");
	unsetenv("TZ");
}

/* The seen set made unreadable behind the pass's back. */
static void S_break_seen(struct fx *fx)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(S_path(fx, "state.db"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE posts", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

/* A read error on "was this post seen?" fails the pass: taken for "new",
 * it would announce the whole archive (what the dry run would show). */
static void a_seen_read_error_fails_the_pass_and_announces_nothing(void **state)
{
	struct fx *fx = *state;
	nt_rc rc;
	char *out;

	S_post(fx, 1, "a", "09:00:00");
	S_post(fx, 2, "b", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	S_post(fx, 3, "c", "09:00:00");
	S_break_seen(fx);
	out = S_dry(fx, &rc);
	assert_int_not_equal(rc, NT_OK);
	assert_string_equal(out, ""); /* not a, b and c */
	free(out);
	assert_int_not_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	assert_int_equal(pass_counts(fx->p)->posts, 0);
	assert_int_equal(S_rows(fx, ALL_ROWS), 0);
}

/* git in the site, never reading the user's or the machine's settings. */
static int S_git(struct fx *fx, const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "cd '%s/site' && GIT_CONFIG_NOSYSTEM=1 "
		 "GIT_CONFIG_GLOBAL=/dev/null git -c user.name=t "
		 "-c user.email=t@example.org -c commit.gpgsign=false %s "
		 ">/dev/null 2>&1",
		 fx->dir, args);
	return system(cmd);
}

/* The same in git mode: the posts added by the new commit are judged by
 * the seen set too, and an error there fails the pass. */
static void git_mode_a_seen_read_error_fails_the_pass(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	nt_rc rc;
	char *out;

	if (system("git --version >/dev/null 2>&1") != 0)
		skip();
	assert_int_equal(S_config(fx, "git"), 0);
	S_post(fx, 1, "a", "09:00:00");
	assert_int_equal(S_git(fx, "init -q -b main ."), 0);
	assert_int_equal(S_git(fx, "add -A"), 0);
	assert_int_equal(S_git(fx, "commit -q -m first"), 0);
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	S_post(fx, 3, "c", "09:00:00");
	assert_int_equal(S_git(fx, "add -A"), 0);
	assert_int_equal(S_git(fx, "commit -q -m second"), 0);
	out = S_dry(fx, &rc); /* what is new: c */
	assert_int_equal(rc, NT_OK);
	assert_non_null(strstr(out, "Post c"));
	free(out);
	S_break_seen(fx);
	out = S_dry(fx, &rc);
	assert_int_not_equal(rc, NT_OK);
	assert_string_equal(out, "");
	free(out);
	/* and when every post of the tip is listed (--baseline) */
	S_open(fx, S_nov10(12, 0, 0));
	assert_int_not_equal(pass_scan(fx->p, PASS_BASELINE, 0, &err), NT_OK);
	assert_non_null(strstr(err.msg, "no such table"));
}

struct heard {
	size_t n;
	enum chan_fate fate;
};

static void S_heard(void *ctx, const struct dlv *row,
		    const struct chan_outcome *o, int64_t next_at)
{
	struct heard *h = ctx;

	(void)row, (void)next_at;
	h->n++;
	h->fate = o->fate;
}

/* The stop flag is read before each send; each outcome is counted and
 * told. */
static void delivery_stops_on_the_flag_and_counts_outcomes(void **state)
{
	struct fx *fx = *state;
	volatile sig_atomic_t stop = 1;
	struct heard h = {0, CHAN_SENT};
	struct nt_err err = {{0}};

	S_post(fx, 1, "a", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	S_post(fx, 3, "c", "09:00:00");
	assert_int_equal(S_scan(fx, S_nov10(12, 0, 0)), NT_OK);
	assert_int_equal(pass_deliver(fx->p, &stop, S_heard, &h, &err), NT_OK);
	assert_int_equal(h.n, 0);
	assert_int_equal(S_rows(fx, 1u << DLV_PENDING), 1);
	stop = 0;
	assert_int_equal(pass_deliver(fx->p, &stop, S_heard, &h, &err), NT_OK);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.fate, CHAN_PERM); /* no secret file */
	assert_int_equal(pass_counts(fx->p)->failed, 1);
	assert_int_equal(pass_counts(fx->p)->sent, 0);
	assert_int_equal(S_rows(fx, 1u << DLV_FAILED), 1);
	assert_int_equal(S_next_due(fx), -1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, S_setup, S_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(first_pass_is_a_baseline_then_new_posts_are_queued),
		T(a_dry_run_prints_and_commits_nothing),
		T(a_post_dated_ahead_is_held_in_the_sites_zone),
		T(a_hostile_site_timezone_is_refused),
		T(a_seen_read_error_fails_the_pass_and_announces_nothing),
		T(git_mode_a_seen_read_error_fails_the_pass),
		T(delivery_stops_on_the_flag_and_counts_outcomes),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_pass TEMPLATES_DIR\n");
		return 2;
	}
	S_templates = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
