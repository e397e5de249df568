/* Unit tests of the watcher (watcher.c) in directory mode: listing,
 * ignored files, renames, the folders to watch.  Git mode is covered end
 * to end by tests/cli/scan.sh and tests/integration/replay.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/store.h"
#include "notify/watcher.h"

struct fx {
	char dir[64];
	char posts[96];
	char db[96];
	struct store *st;
	struct watcher *w;
	struct watch_conf wc;
};

static void S_write(const struct fx *fx, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->posts, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int S_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct nt_err err = {{0}};

	strcpy(fx->dir, "/tmp/notify-watcher-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->posts, sizeof(fx->posts), "%s/_posts", fx->dir);
	snprintf(fx->db, sizeof(fx->db), "%s/state.db", fx->dir);
	mkdir(fx->posts, 0700);
	fx->wc = (struct watch_conf){WATCH_DIR, 0, 0, NULL, NULL};
	if (store_open(fx->db, &fx->st, &err) ||
	    watcher_open(fx->dir, "_posts", &fx->wc, 1000, fx->st, &fx->w,
			 &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static int S_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	watcher_free(fx->w);
	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

/* Records as seen what a batch found (the first 'n_files' candidates)
 * and its renames, with their paths and contents, and its mark, as the
 * caller does. */
static void S_commit(struct fx *fx, struct watch_batch *b, size_t n_files)
{
	struct store_seen seen[16];
	struct store_batch sb = {.seen = seen,
				 .kv_key = b->mark ? WATCHER_MARK_KEY : NULL,
				 .kv_value = b->mark,
				 .kv_check = b->mark != NULL,
				 .kv_old = b->prev};
	struct nt_err err = {{0}};

	assert_true(n_files + b->n_renamed <= 16 && n_files <= b->n);
	for (size_t i = 0; i < n_files; i++)
		seen[sb.n_seen++] = (struct store_seen){b->v[i].id, b->v[i].rel,
							b->v[i].blob};
	for (size_t i = 0; i < b->n_renamed; i++)
		seen[sb.n_seen++] =
			(struct store_seen){b->renamed[i].id, b->renamed[i].rel,
					    b->renamed[i].blob};
	assert_int_equal(store_commit_batch(fx->st, &sb, 1, false, NULL, &err),
			 NT_OK);
}

static void post_names_follow_jekyll(void **state)
{
	(void)state;
	assert_true(watcher_is_post_name("2026-11-28-titre.md"));
	assert_true(watcher_is_post_name("2026-11-28-titre.markdown"));
	assert_true(watcher_is_post_name("2026-11-28-t.html"));
	assert_false(watcher_is_post_name("2026-11-28-.md"));
	assert_false(watcher_is_post_name("2026-11-28.md"));
	assert_false(watcher_is_post_name("README.md"));
	assert_false(watcher_is_post_name("2026-11-28-titre.md~"));
	assert_false(watcher_is_post_name("2026-11-28-titre.txt"));
	assert_false(watcher_is_post_name(".2026-11-28-titre.md.swp"));
	assert_false(watcher_is_post_name("2026-1a-28-titre.md"));
}

/* First scan: a baseline of every file; then only unseen files. */
static void first_scan_is_a_baseline_then_only_new_files(void **state)
{
	struct fx *fx = *state;
	struct watch_batch b;
	struct nt_err err = {{0}};
	char big[1200];

	S_write(fx, "2026-11-01-a.md", "---\ntitle: A\n---\n");
	S_write(fx, "notes.txt", "x");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_true(b.first_run);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.v[0].id, "2026-11-01-a");
	assert_null(b.v[0].skip);
	assert_non_null(b.v[1].skip); /* notes.txt is no post */
	S_commit(fx, &b, b.n);
	watch_batch_clear(&b);

	S_write(fx, "2026-11-02-b.md", "---\ntitle: B\n---\n");
	memset(big, 'x', sizeof(big) - 1); /* over max_bytes (1000) */
	big[sizeof(big) - 1] = '\0';
	S_write(fx, "2026-11-03-big.md", big);
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_false(b.first_run);
	/* a generation a batch: two scans at once cannot both commit */
	assert_string_equal(b.prev, "dir 1");
	assert_string_equal(b.mark, "dir 2");
	assert_int_equal(b.n, 2);
	assert_string_equal(b.v[0].id, "2026-11-02-b");
	assert_string_equal(b.v[1].id, "2026-11-03-big");
	assert_non_null(strstr(b.v[1].skip, "too large"));
	watch_batch_clear(&b);
}

/* A rename inside the folder keeps a seen post seen; a file ignored is
 * listed again once it changes. */
static void renames_and_ignored_files(void **state)
{
	struct fx *fx = *state;
	struct watch_batch b;
	struct nt_err err = {{0}};
	char from[256], to[256];

	S_write(fx, "2026-11-01-a.md", "---\ntitle: A\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	S_commit(fx, &b, b.n);
	watch_batch_clear(&b);

	snprintf(from, sizeof(from), "%s/2026-11-01-a.md", fx->posts);
	snprintf(to, sizeof(to), "%s/2026-11-01-renamed.md", fx->posts);
	assert_int_equal(rename(from, to), 0);
	S_write(fx, "2026-11-05-draft.md", "---\npublished: false\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	/* the contents of a seen post whose file is gone: renamed */
	assert_int_equal(b.n_renamed, 1);
	assert_string_equal(b.renamed[0].id, "2026-11-01-renamed");
	assert_int_equal(b.n, 1);
	assert_string_equal(b.v[0].id, "2026-11-05-draft");
	/* not published: the caller ignores it, it is not seen */
	watcher_ignore(fx->w, &b.v[0]);
	S_commit(fx, &b, 0);
	watch_batch_clear(&b);
	{
		bool seen = false;

		assert_int_equal(store_seen_get(fx->st, "2026-11-01-renamed",
						&seen, &err),
				 NT_OK);
		assert_true(seen);
	}

	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.n_renamed, 0);
	watch_batch_clear(&b);
	/* once changed, it is judged again */
	S_write(fx, "2026-11-05-draft.md", "---\npublished: true\n---\nnow\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.v[0].id, "2026-11-05-draft");
	watch_batch_clear(&b);
}

/* The same contents under a new name while the seen file is still there
 * is a copy, a new post; once the first is gone, a rename. */
static void a_copy_is_new_a_rename_is_not(void **state)
{
	struct fx *fx = *state;
	struct watch_batch b;
	struct nt_err err = {{0}};
	char path[256];

	S_write(fx, "2026-11-01-a.md", "---\ntitle: A\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	S_commit(fx, &b, b.n);
	watch_batch_clear(&b);
	S_write(fx, "2026-11-07-copy.md", "---\ntitle: A\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n_renamed, 0);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.v[0].id, "2026-11-07-copy");
	watch_batch_clear(&b);
	snprintf(path, sizeof(path), "%s/2026-11-01-a.md", fx->posts);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.n_renamed, 1);
	assert_string_equal(b.renamed[0].id, "2026-11-07-copy");
	watch_batch_clear(&b);
}

/* A rename with an edit: the contents differ, only the pair inotify saw
 * (watcher_moved()) tells it is not new. */
static void a_rename_with_an_edit_needs_the_pair(void **state)
{
	struct fx *fx = *state;
	struct watch_batch b;
	struct nt_err err = {{0}};
	char from[256], to[256];

	S_write(fx, "2026-11-01-a.md", "---\ntitle: A\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	S_commit(fx, &b, b.n);
	watch_batch_clear(&b);
	snprintf(from, sizeof(from), "%s/2026-11-01-a.md", fx->posts);
	snprintf(to, sizeof(to), "%s/2026-11-01-b.md", fx->posts);
	assert_int_equal(rename(from, to), 0);
	S_write(fx, "2026-11-01-b.md", "---\ntitle: A, edited\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 1); /* without the pair: new */
	watch_batch_clear(&b);
	watcher_moved(fx->w, "_posts/2026-11-01-a.md",
		      "_posts/2026-11-01-b.md");
	/* a later pair to the same name, from a post never seen (an editor's
	 * temporary file), does not undo it */
	watcher_moved(fx->w, "_posts/2026-11-01-tmp.md",
		      "_posts/2026-11-01-b.md");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.n_renamed, 1);
	assert_string_equal(b.renamed[0].id, "2026-11-01-b");
	watch_batch_clear(&b);
}

struct dirs_seen {
	char rel[4][64];
	int n;
};

static void S_dir_cb(void *ctx, enum watch_dir kind, const char *path,
		     const char *rel)
{
	struct dirs_seen *d = ctx;

	assert_int_equal(kind, WATCH_DIR_POSTS);
	assert_non_null(strstr(path, rel));
	assert_true(d->n < 4);
	snprintf(d->rel[d->n++], sizeof(d->rel[0]), "%s", rel);
}

/* The posts folder and the folders below it, as the last scan found. */
static void dirs_to_watch_include_subfolders(void **state)
{
	struct fx *fx = *state;
	struct watch_batch b;
	struct nt_err err = {{0}};
	struct dirs_seen d = {0};
	char sub[160];

	snprintf(sub, sizeof(sub), "%s/2026", fx->posts);
	assert_int_equal(mkdir(sub, 0700), 0);
	S_write(fx, "2026/2026-11-09-deep.md", "---\ntitle: D\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.v[0].rel, "_posts/2026/2026-11-09-deep.md");
	watch_batch_clear(&b);
	watcher_dirs(fx->w, S_dir_cb, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.rel[0], "_posts");
	assert_string_equal(d.rel[1], "_posts/2026");
}

/* The seen set made unreadable behind the store's back (another handle
 * drops its table): every later "was it seen?" fails. */
static void S_break_seen(const struct fx *fx)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE posts", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

/* A read error on the seen set is an error, never "not seen": taken for
 * new, the whole archive would be announced. */
static void a_seen_set_read_error_fails_the_scan(void **state)
{
	struct fx *fx = *state;
	struct watch_batch b;
	struct nt_err err = {{0}};

	S_write(fx, "2026-11-01-a.md", "---\ntitle: A\n---\n");
	S_write(fx, "2026-11-02-b.md", "---\ntitle: B\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	S_commit(fx, &b, b.n);
	watch_batch_clear(&b);
	S_write(fx, "2026-11-03-c.md", "---\ntitle: C\n---\n");
	S_break_seen(fx);
	assert_int_not_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 0);
	assert_int_equal(b.n_renamed, 0);
	assert_non_null(strstr(err.msg, "state.db"));
}

/* The same for a rename inotify paired: whether the old name was seen is
 * asked at the scan, where an error can fail it. */
static void a_read_error_on_a_paired_rename_fails_the_scan(void **state)
{
	struct fx *fx = *state;
	struct watch_batch b;
	struct nt_err err = {{0}};

	S_write(fx, "2026-11-01-a.md", "---\ntitle: A\n---\n");
	assert_int_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	S_commit(fx, &b, b.n);
	watch_batch_clear(&b);
	S_write(fx, "2026-11-01-a2.md", "---\ntitle: A, edited\n---\n");
	watcher_moved(fx->w, "_posts/2026-11-01-a.md",
		      "_posts/2026-11-01-a2.md");
	S_break_seen(fx);
	assert_int_not_equal(watcher_scan(fx->w, false, &b, &err), NT_OK);
	assert_int_equal(b.n, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, S_setup, S_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(post_names_follow_jekyll),
		T(first_scan_is_a_baseline_then_only_new_files),
		T(renames_and_ignored_files),
		T(a_copy_is_new_a_rename_is_not),
		T(a_rename_with_an_edit_needs_the_pair),
		T(dirs_to_watch_include_subfolders),
		T(a_seen_set_read_error_fails_the_scan),
		T(a_read_error_on_a_paired_rename_fails_the_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
