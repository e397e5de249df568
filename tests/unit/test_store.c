/* Unit tests of the outbox (store.c).  Each test gets a fresh folder and
 * an open store in it; times are passed in, never read from a clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify/store.h"

#define LEASE 60

struct fx {
	char dir[64];
	char db[128];
	struct store *st;
};

static int S_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct nt_err err = {{0}};

	strcpy(fx->dir, "/tmp/notify-store-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->db, sizeof(fx->db), "%s/state.db", fx->dir);
	if (store_open(fx->db, &fx->st, &err) != NT_OK) {
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

	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

/* store_seen_get(), which must not fail here. */
static bool S_is_seen(struct store *st, const char *post)
{
	struct nt_err err = {{0}};
	bool seen = false;

	assert_int_equal(store_seen_get(st, post, &seen, &err), NT_OK);
	return seen;
}

/* store_next_due() of any channel, -1 on error too (then failing). */
static int64_t S_next_due(struct store *st, const char *post)
{
	struct nt_err err = {{0}};
	int64_t at = -2;

	assert_int_equal(store_next_due(st, post, NULL, &at, &err), NT_OK);
	return at;
}

static struct dlv_new S_new(const char *channel, const char *recipient,
			    const char *payload)
{
	return (struct dlv_new){channel,	 recipient,	     payload,
				strlen(payload), "application/json", -1};
}

/* Enqueues one row per channel in the NULL-terminated list. */
static size_t S_enqueue(struct store *st, const char *post,
			const char *const *channels, int64_t now, bool force)
{
	struct dlv_new rows[16];
	struct nt_err err = {{0}};
	size_t n = 0, added = 99;

	for (; channels[n]; n++)
		rows[n] = S_new(channels[n], NULL, "{\"text\":\"hi\"}");
	if (store_enqueue(st, post, rows, n, now, force, &added, &err))
		fail_msg("enqueue: %s", err.msg);
	return added;
}

static struct dlv *S_claim(struct store *st, const char *channel, int64_t now)
{
	struct dlv *d = (struct dlv *)1;
	struct nt_err err = {{0}};

	if (store_claim(st, channel, now, LEASE, &d, &err))
		fail_msg("claim: %s", err.msg);
	return d;
}

/* Row 'id' as it is now, read through store_list() so that nothing is
 * claimed. */
struct find {
	int64_t id;
	struct dlv copy;
	bool found;
	char state_name[16];
	char last_error[64];
	char remote_id[64];
};

static void S_find_fn(void *ctx, const struct dlv *d)
{
	struct find *f = ctx;

	if (d->id != f->id)
		return;
	f->found = true;
	f->copy = *d;
	snprintf(f->state_name, sizeof(f->state_name), "%s",
		 dlv_state_name(d->state));
	snprintf(f->last_error, sizeof(f->last_error), "%s",
		 d->last_error ? d->last_error : "(null)");
	snprintf(f->remote_id, sizeof(f->remote_id), "%s",
		 d->remote_id ? d->remote_id : "(null)");
	/* the strings are borrowed: keep none of them */
	f->copy.post_id = f->copy.channel = f->copy.recipient = NULL;
	f->copy.payload = f->copy.content_type = NULL;
	f->copy.last_error = f->copy.remote_id = NULL;
}

static struct find S_find(struct store *st, int64_t id)
{
	struct find f = {.id = id};
	struct nt_err err = {{0}};

	if (store_list(st, 0xf, 0, S_find_fn, &f, &err))
		fail_msg("list: %s", err.msg);
	assert_true(f.found);
	return f;
}

static int S_pragma_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int v;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

static void S_write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static const char *const S_ab[] = {"a", "b", NULL};
static const char *const S_a[] = {"a", NULL};

/* ---- opening ------------------------------------------------------- */

static void open_creates_the_file_with_mode_0600(void **state)
{
	struct fx *fx = *state;
	char path[160], side[200];
	struct store *st = NULL;
	struct nt_err err = {{0}};
	struct stat sb;
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	assert_int_equal(store_open(path, &st, &err), NT_OK);
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_equal(stat(side, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_string_equal(store_path(st), path);
	store_close(st);
}

static void open_sets_schema_version_and_wal(void **state)
{
	struct fx *fx = *state;
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;

	assert_int_equal(S_pragma_int(fx->db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(
		sqlite3_open_v2(fx->db, &h, SQLITE_OPEN_READONLY, NULL),
		SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(h);
}

static void reopen_keeps_the_data(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	size_t rows = 0, sent = 9, failed = 9;
	char *v = NULL;

	assert_int_equal(S_enqueue(fx->st, "p1", S_ab, 100, false), 2);
	assert_int_equal(store_kv_set(fx->st, "k", "v", &err), NT_OK);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(store_open(fx->db, &fx->st, &err), NT_OK);
	assert_true(S_is_seen(fx->st, "p1"));
	assert_int_equal(
		store_post_state(fx->st, "p1", &rows, &sent, &failed, &err),
		NT_OK);
	assert_int_equal(rows, 2);
	assert_int_equal(sent, 0);
	assert_int_equal(failed, 0);
	assert_int_equal(store_kv_get(fx->st, "k", &v, &err), NT_OK);
	assert_string_equal(v, "v");
	free(v);
}

static void newer_schema_is_refused(void **state)
{
	struct fx *fx = *state;
	struct store *st = (struct store *)1;
	struct nt_err err = {{0}};
	sqlite3 *h = NULL;

	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(sqlite3_open(fx->db, &h), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(store_open(fx->db, &st, &err), NT_ECONFIG);
	assert_ptr_equal(st, (struct store *)1);
	assert_non_null(strstr(err.msg, fx->db));
	assert_non_null(strstr(err.msg, "schema version 99 is newer"));
	/* and the file was left as it was */
	assert_int_equal(S_pragma_int(fx->db, "PRAGMA user_version"), 99);
}

static void garbage_file_is_a_clear_error(void **state)
{
	struct fx *fx = *state;
	char path[160], junk[8192];
	struct store *st = NULL;
	struct nt_err err = {{0}};

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = "not a database, just some text\n"[i % 31];
	snprintf(path, sizeof(path), "%s/garbage.db", fx->dir);
	S_write_file(path, junk, sizeof(junk));
	assert_int_equal(store_open(path, &st, &err), NT_ESTATE);
	assert_null(st);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "file is not a database"));
}

static void damaged_database_is_a_clear_error(void **state)
{
	struct fx *fx = *state;
	struct store *st = NULL;
	struct nt_err err = {{0}};
	char junk[3000];
	int fd;

	assert_int_equal(S_enqueue(fx->st, "p1", S_ab, 100, false), 2);
	store_close(fx->st);
	fx->st = NULL;
	/* page 1 after the 100-byte header: the schema table */
	memset(junk, 0xa5, sizeof(junk));
	fd = open(fx->db, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 100), sizeof(junk));
	close(fd);
	assert_int_not_equal(store_open(fx->db, &st, &err), NT_OK);
	assert_null(st);
	assert_non_null(strstr(err.msg, fx->db));
	assert_non_null(strstr(err.msg, "malformed"));
}

static void missing_folder_names_the_path(void **state)
{
	struct fx *fx = *state;
	char path[160];
	struct store *st = NULL;
	struct nt_err err = {{0}};

	snprintf(path, sizeof(path), "%s/no/such/state.db", fx->dir);
	assert_int_equal(store_open(path, &st, &err), NT_ENOENT);
	assert_null(st);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(store_open("", &st, &err), NT_EINVAL);
}

/* A 0-byte state file is what is left of an outbox truncated by a full
 * disk or a bad restore: taking it for a new install would record a
 * baseline and lose what was waiting. */
static void empty_file_is_not_a_new_outbox(void **state)
{
	struct fx *fx = *state;
	char path[160];
	struct store *st = NULL;
	struct nt_err err = {{0}};
	struct stat sb;

	snprintf(path, sizeof(path), "%s/empty.db", fx->dir);
	S_write_file(path, "", 0);
	assert_int_equal(store_open(path, &st, &err), NT_ESTATE);
	assert_null(st);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "not an outbox"));
	assert_null(strchr(err.msg, '\n'));
	/* and it was left as it was */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
}

/* Another program's SQLite file (user_version 0) is no outbox either:
 * no table of ours is added to it. */
static void foreign_database_is_refused(void **state)
{
	struct fx *fx = *state;
	char path[160];
	struct store *st = NULL;
	struct nt_err err = {{0}};
	sqlite3 *h = NULL;

	snprintf(path, sizeof(path), "%s/foreign.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(h, "CREATE TABLE t (x)", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(store_open(path, &st, &err), NT_ESTATE);
	assert_null(st);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "not an outbox"));
	assert_int_equal(S_pragma_int(path,
				      "SELECT count(*) FROM sqlite_master "
				      "WHERE name = 'deliveries'"),
			 0);
}

/* A new outbox appears whole or not at all: nothing else is left in
 * its folder. */
static void creation_leaves_only_the_outbox(void **state)
{
	struct fx *fx = *state;
	char dir[160], path[200];
	struct store *st = NULL;
	struct nt_err err = {{0}};
	struct dirent *de;
	DIR *d;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/fresh", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/state.db", dir);
	assert_int_equal(store_open(path, &st, &err), NT_OK);
	store_close(st);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_string_equal(de->d_name, "state.db");
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
	assert_int_equal(S_pragma_int(path, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
}

/* ---- enqueueing ---------------------------------------------------- */

static void enqueue_is_idempotent(void **state)
{
	struct fx *fx = *state;
	const char *const abc[] = {"a", "b", "c", NULL};
	size_t rows = 0;
	struct nt_err err = {{0}};

	assert_int_equal(S_enqueue(fx->st, "p1", S_ab, 100, false), 2);
	assert_int_equal(S_enqueue(fx->st, "p1", S_ab, 200, false), 0);
	assert_int_equal(S_enqueue(fx->st, "p1", abc, 300, false), 1);
	assert_int_equal(
		store_post_state(fx->st, "p1", &rows, NULL, NULL, &err), NT_OK);
	assert_int_equal(rows, 3);
}

static void recipients_are_part_of_the_key(void **state)
{
	struct fx *fx = *state;
	struct dlv_new rows[3] = {S_new("mail", "a@example.org", "x"),
				  S_new("mail", "b@example.org", "x"),
				  S_new("mail", "a@example.org", "x")};
	struct nt_err err = {{0}};
	size_t added = 0;

	assert_int_equal(
		store_enqueue(fx->st, "p1", rows, 3, 100, false, &added, &err),
		NT_OK);
	assert_int_equal(added, 2);
}

static void enqueue_marks_the_post_seen(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	size_t added = 9;

	assert_false(S_is_seen(fx->st, "p1"));
	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 100, false), 1);
	assert_true(S_is_seen(fx->st, "p1"));
	/* no rows: the post is seen all the same */
	assert_int_equal(
		store_enqueue(fx->st, "p2", NULL, 0, 100, false, &added, &err),
		NT_OK);
	assert_int_equal(added, 0);
	assert_true(S_is_seen(fx->st, "p2"));
	/* seen without rows, twice: the second changes nothing */
	{
		struct store_seen seen[] = {{"p3", NULL, NULL}};
		struct store_batch b = {.seen = seen, .n_seen = 1};

		assert_int_equal(
			store_commit_batch(fx->st, &b, 100, false, NULL, &err),
			NT_OK);
		assert_int_equal(
			store_commit_batch(fx->st, &b, 200, false, NULL, &err),
			NT_OK);
	}
	assert_true(S_is_seen(fx->st, "p3"));
	assert_false(S_is_seen(fx->st, "p4"));
	{
		bool seen = true;
		struct nt_err e = {{0}};

		assert_int_equal(store_seen_get(fx->st, NULL, &seen, &e),
				 NT_EINVAL);
	}
}

static void enqueue_rejects_bad_rows_and_writes_nothing(void **state)
{
	struct fx *fx = *state;
	struct dlv_new rows[2] = {S_new("a", NULL, "x"), S_new("b", NULL, "x")};
	struct nt_err err = {{0}};
	size_t added = 7;

	rows[1].channel = NULL;
	assert_int_equal(
		store_enqueue(fx->st, "p1", rows, 2, 100, false, &added, &err),
		NT_EINVAL);
	assert_int_equal(added, 7);
	assert_non_null(strstr(err.msg, fx->db));
	assert_false(S_is_seen(fx->st, "p1"));
	assert_int_equal(
		store_enqueue(fx->st, NULL, rows, 1, 100, false, &added, &err),
		NT_EINVAL);
}

static void payload_bytes_round_trip(void **state)
{
	struct fx *fx = *state;
	static const char bin[] = "a\0b\xff\n";
	struct dlv_new rows[2] = {
		{"mail", "x@example.org", bin, sizeof(bin) - 1,
		 "message/rfc822", -1},
		{"chat", NULL, NULL, 0, NULL, -1},
	};
	struct nt_err err = {{0}};
	struct dlv *d;

	assert_int_equal(
		store_enqueue(fx->st, "p1", rows, 2, 100, false, NULL, &err),
		NT_OK);
	d = S_claim(fx->st, "mail", 100);
	assert_non_null(d);
	assert_int_equal(d->len, sizeof(bin) - 1);
	assert_memory_equal(d->payload, bin, sizeof(bin));
	assert_string_equal(d->recipient, "x@example.org");
	assert_string_equal(d->content_type, "message/rfc822");
	assert_string_equal(d->post_id, "p1");
	assert_string_equal(d->channel, "mail");
	assert_int_equal(d->created_at, 100);
	dlv_free(d);
	d = S_claim(fx->st, "chat", 100);
	assert_non_null(d);
	assert_int_equal(d->len, 0);
	assert_string_equal(d->payload, "");
	assert_null(d->recipient);
	assert_null(d->content_type);
	assert_null(d->last_error);
	assert_null(d->remote_id);
	dlv_free(d);
}

static void force_enqueues_rows_afresh(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	struct dlv_new row = S_new("a", NULL, "v2");
	size_t rows = 0, sent = 0, added = 0;
	struct dlv *d;
	int64_t old;

	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 100, false), 1);
	d = S_claim(fx->st, NULL, 100);
	old = d->id;
	assert_int_equal(store_mark_sent(fx->st, d->id, "$ev", 101, &err),
			 NT_OK);
	dlv_free(d);
	assert_int_equal(
		store_post_state(fx->st, "p1", &rows, &sent, NULL, &err),
		NT_OK);
	assert_int_equal(sent, 1);
	/* without force: nothing; with force: pending again, new payload */
	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 200, false), 0);
	assert_int_equal(
		store_enqueue(fx->st, "p1", &row, 1, 300, true, &added, &err),
		NT_OK);
	assert_int_equal(added, 1);
	assert_int_equal(
		store_post_state(fx->st, "p1", &rows, &sent, NULL, &err),
		NT_OK);
	assert_int_equal(rows, 1);
	assert_int_equal(sent, 0);
	d = S_claim(fx->st, NULL, 300);
	assert_non_null(d);
	assert_int_not_equal(d->id, old); /* a new Matrix txnId */
	assert_int_equal(d->attempts, 1);
	assert_int_equal(d->created_at, 300);
	assert_string_equal(d->payload, "v2");
	assert_null(d->remote_id);
	dlv_free(d);
}

static void force_leaves_a_row_being_sent(void **state)
{
	struct fx *fx = *state;
	struct dlv *d;

	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 100, false), 1);
	d = S_claim(fx->st, NULL, 100);
	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 120, true), 0);
	assert_string_equal(S_find(fx->st, d->id).state_name, "sending");
	/* once the lease has run out its sender is dead: force wins */
	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 100 + LEASE + 1, true),
			 1);
	dlv_free(d);
}

/* ---- claiming ------------------------------------------------------ */

static void claim_takes_the_longest_waiting_due_row(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	struct dlv *d, *e;

	assert_null(S_claim(fx->st, NULL, 100));
	assert_int_equal(S_enqueue(fx->st, "p1", S_ab, 100, false), 2);
	assert_int_equal(S_enqueue(fx->st, "p0", S_a, 50, false), 1);
	assert_null(S_claim(fx->st, NULL, 49));
	d = S_claim(fx->st, NULL, 100);
	assert_string_equal(d->post_id, "p0");
	assert_int_equal(d->state, DLV_SENDING);
	assert_int_equal(d->attempts, 1);
	assert_int_equal(d->lease_until, 100 + LEASE);
	/* a retry later than the rest goes behind them */
	assert_int_equal(store_mark_retry(fx->st, d->id, 150, "503", &err),
			 NT_OK);
	e = S_claim(fx->st, "b", 100);
	assert_string_equal(e->post_id, "p1");
	assert_string_equal(e->channel, "b");
	dlv_free(e);
	e = S_claim(fx->st, NULL, 100);
	assert_string_equal(e->post_id, "p1");
	assert_string_equal(e->channel, "a");
	dlv_free(e);
	assert_null(S_claim(fx->st, NULL, 149));
	assert_null(S_claim(fx->st, "b", 150));
	e = S_claim(fx->st, "a", 150);
	assert_int_equal(e->id, d->id);
	assert_int_equal(e->attempts, 2);
	assert_string_equal(e->last_error, "503");
	dlv_free(e);
	dlv_free(d);
}

static void expired_lease_is_claimed_again(void **state)
{
	struct fx *fx = *state;
	struct dlv *d, *e;

	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 100, false), 1);
	d = S_claim(fx->st, NULL, 100);
	assert_non_null(d);
	/* the sender dies here: no mark */
	assert_null(S_claim(fx->st, NULL, 100 + LEASE));
	e = S_claim(fx->st, NULL, 100 + LEASE + 1);
	assert_non_null(e);
	assert_int_equal(e->id, d->id);
	assert_int_equal(e->attempts, 2);
	assert_int_equal(e->lease_until, 100 + 2 * LEASE + 1);
	dlv_free(e);
	dlv_free(d);
}

static void claim_id_takes_only_a_due_row(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	struct dlv *d = NULL, *e = (struct dlv *)1;

	assert_int_equal(S_enqueue(fx->st, "p1", S_ab, 100, false), 2);
	d = S_claim(fx->st, "b", 100);
	assert_int_equal(store_mark_retry(fx->st, d->id, 200, "429", &err),
			 NT_OK);
	assert_int_equal(store_claim_id(fx->st, d->id, 199, LEASE, &e, &err),
			 NT_OK);
	assert_null(e);
	assert_int_equal(store_claim_id(fx->st, d->id, 200, LEASE, &e, &err),
			 NT_OK);
	assert_non_null(e);
	assert_int_equal(e->id, d->id);
	assert_int_equal(e->attempts, 2);
	dlv_free(e);
	/* held under a live lease, or no such row: nothing */
	assert_int_equal(store_claim_id(fx->st, d->id, 201, LEASE, &e, &err),
			 NT_OK);
	assert_null(e);
	assert_int_equal(store_claim_id(fx->st, 999, 201, LEASE, &e, &err),
			 NT_OK);
	assert_null(e);
	assert_int_equal(store_claim(fx->st, NULL, 100, -1, &e, &err),
			 NT_EINVAL);
	dlv_free(d);
}

static void two_handles_never_claim_the_same_row(void **state)
{
	struct fx *fx = *state;
	const char *const chans[] = {"c0", "c1", "c2", "c3", "c4",
				     "c5", "c6", "c7", NULL};
	struct store *other = NULL;
	struct nt_err err = {{0}};
	int64_t seen[16];
	size_t n = 0, by_other = 0;
	bool done[2] = {false, false};

	assert_int_equal(store_open(fx->db, &other, &err), NT_OK);
	assert_int_equal(S_enqueue(fx->st, "p1", chans, 100, false), 8);
	assert_int_equal(S_enqueue(other, "p2", chans, 100, false), 8);
	for (unsigned turn = 0; !done[0] || !done[1]; turn++) {
		bool b = turn % 2;
		struct dlv *d = S_claim(b ? other : fx->st, NULL, 100);

		if (d == NULL) {
			done[b] = true;
			continue;
		}
		assert_true(n < 16);
		for (size_t i = 0; i < n; i++)
			assert_true(seen[i] != d->id);
		seen[n++] = d->id;
		by_other += b;
		dlv_free(d);
	}
	store_close(other);
	/* 16 rows, each claimed once, half of them through each handle */
	assert_int_equal(n, 16);
	assert_int_equal(by_other, 8);
}

#define N_PROCS 3
#define N_ROWS 60

/* One child: claims until nothing is due, writes the ids to 'fd'. */
static void S_claimer(const char *db, int fd)
{
	struct store *st = NULL;
	struct nt_err err = {{0}};
	int code = 0;

	if (store_open(db, &st, &err)) {
		fprintf(stderr, "child: %s\n", err.msg);
		_exit(1);
	}
	for (;;) {
		struct dlv *d = NULL;

		if (store_claim(st, NULL, 1000, LEASE, &d, &err)) {
			fprintf(stderr, "child: %s\n", err.msg);
			code = 1;
			break;
		}
		if (d == NULL)
			break;
		if (write(fd, &d->id, sizeof(d->id)) != sizeof(d->id))
			code = 1;
		dlv_free(d);
	}
	store_close(st);
	_exit(code);
}

static void processes_never_claim_the_same_row(void **state)
{
	struct fx *fx = *state;
	struct dlv_new rows[N_ROWS];
	char names[N_ROWS][8];
	struct nt_err err = {{0}};
	int64_t got[N_ROWS + 1];
	size_t n = 0;
	int fds[2];
	pid_t pids[N_PROCS];
	int64_t id;

	for (int i = 0; i < N_ROWS; i++) {
		snprintf(names[i], sizeof(names[i]), "c%d", i);
		rows[i] = S_new(names[i], NULL, "x");
	}
	assert_int_equal(store_enqueue(fx->st, "p1", rows, N_ROWS, 1000, false,
				       NULL, &err),
			 NT_OK);
	assert_int_equal(pipe(fds), 0);
	for (int i = 0; i < N_PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(fds[0]);
			S_claimer(fx->db, fds[1]);
		}
	}
	close(fds[1]);
	while (read(fds[0], &id, sizeof(id)) == sizeof(id)) {
		assert_true(n < N_ROWS);
		for (size_t i = 0; i < n; i++)
			assert_true(got[i] != id);
		got[n++] = id;
	}
	close(fds[0]);
	for (int i = 0; i < N_PROCS; i++) {
		int status = 0;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(n, N_ROWS);
	assert_null(S_claim(fx->st, NULL, 1000));
}

/* ---- outcomes ------------------------------------------------------ */

static void marks_record_each_outcome(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	struct dlv *d, *e;
	struct find f;

	assert_int_equal(S_enqueue(fx->st, "p1", S_ab, 100, false), 2);
	d = S_claim(fx->st, "a", 100);
	assert_int_equal(store_mark_retry(fx->st, d->id, 500, "http 503", &err),
			 NT_OK);
	f = S_find(fx->st, d->id);
	assert_int_equal(f.copy.state, DLV_PENDING);
	assert_int_equal(f.copy.next_at, 500);
	assert_int_equal(f.copy.lease_until, 0);
	assert_string_equal(f.last_error, "http 503");
	dlv_free(d);
	d = S_claim(fx->st, "a", 500);
	assert_int_equal(d->attempts, 2);
	assert_int_equal(
		store_mark_failed(fx->st, d->id, "http 400", 600, &err), NT_OK);
	f = S_find(fx->st, d->id);
	assert_int_equal(f.copy.state, DLV_FAILED);
	assert_int_equal(f.copy.next_at, 600);
	assert_string_equal(f.last_error, "http 400");
	assert_null(S_claim(fx->st, "a", 10000)); /* failed is for good */
	e = S_claim(fx->st, "b", 100);
	assert_int_equal(store_mark_sent(fx->st, e->id, "$event:x", 700, &err),
			 NT_OK);
	f = S_find(fx->st, e->id);
	assert_int_equal(f.copy.state, DLV_SENT);
	assert_int_equal(f.copy.sent_at, 700);
	assert_string_equal(f.remote_id, "$event:x");
	dlv_free(e);
	dlv_free(d);
}

static void mark_on_a_finished_row_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	struct dlv *d;

	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 100, false), 1);
	d = S_claim(fx->st, NULL, 100);
	assert_int_equal(store_mark_sent(fx->st, d->id, NULL, 110, &err),
			 NT_OK);
	/* a slow sender whose lease ran out reports late */
	assert_int_equal(store_mark_retry(fx->st, d->id, 200, "late", &err),
			 NT_OK);
	assert_int_equal(store_mark_failed(fx->st, d->id, "late", 200, &err),
			 NT_OK);
	assert_string_equal(S_find(fx->st, d->id).state_name, "sent");
	assert_int_equal(store_mark_sent(fx->st, 999, NULL, 110, &err),
			 NT_EINVAL);
	assert_non_null(strstr(err.msg, fx->db));
	assert_non_null(strstr(err.msg, "no delivery 999"));
	dlv_free(d);
}

static void post_state_counts_rows(void **state)
{
	struct fx *fx = *state;
	const char *const abc[] = {"a", "b", "c", NULL};
	struct nt_err err = {{0}};
	size_t rows = 9, sent = 9, failed = 9;
	struct dlv *d;

	assert_int_equal(
		store_post_state(fx->st, "nope", &rows, &sent, &failed, &err),
		NT_OK);
	assert_int_equal(rows + sent + failed, 0);
	assert_int_equal(S_enqueue(fx->st, "p1", abc, 100, false), 3);
	assert_int_equal(S_enqueue(fx->st, "p2", abc, 100, false), 3);
	d = S_claim(fx->st, "a", 100);
	store_mark_sent(fx->st, d->id, NULL, 100, &err);
	dlv_free(d);
	d = S_claim(fx->st, "b", 100);
	store_mark_failed(fx->st, d->id, "no", 100, &err);
	dlv_free(d);
	assert_int_equal(
		store_post_state(fx->st, "p1", &rows, &sent, &failed, &err),
		NT_OK);
	assert_int_equal(rows, 3);
	assert_int_equal(sent, 1);
	assert_int_equal(failed, 1);
	assert_int_equal(
		store_post_state(fx->st, "p2", &rows, &sent, &failed, &err),
		NT_OK);
	assert_int_equal(rows, 3);
	assert_int_equal(sent + failed, 0);
}

static void next_due_is_the_earliest_claimable_time(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	struct dlv *d;

	assert_int_equal(S_next_due(fx->st, NULL), -1);
	assert_int_equal(S_enqueue(fx->st, "p1", S_a, 100, false), 1);
	assert_int_equal(S_enqueue(fx->st, "p2", S_a, 300, false), 1);
	assert_int_equal(S_next_due(fx->st, NULL), 100);
	assert_int_equal(S_next_due(fx->st, "p2"), 300);
	assert_int_equal(S_next_due(fx->st, "p3"), -1);
	d = S_claim(fx->st, NULL, 100);
	/* claimable again when the lease runs out */
	assert_int_equal(S_next_due(fx->st, "p1"), 100 + LEASE + 1);
	assert_int_equal(store_mark_retry(fx->st, d->id, 250, "x", &err),
			 NT_OK);
	assert_int_equal(S_next_due(fx->st, NULL), 250);
	dlv_free(d);
	d = S_claim(fx->st, NULL, 250);
	assert_int_equal(store_mark_sent(fx->st, d->id, NULL, 250, &err),
			 NT_OK);
	assert_int_equal(S_next_due(fx->st, "p1"), -1);
	assert_int_equal(S_next_due(fx->st, NULL), 300);
	dlv_free(d);
}

/* ---- status and retry ---------------------------------------------- */

struct listing {
	int64_t ids[16];
	enum dlv_state states[16];
	size_t n;
};

static void S_list_fn(void *ctx, const struct dlv *d)
{
	struct listing *l = ctx;

	assert_true(l->n < 16);
	l->ids[l->n] = d->id;
	l->states[l->n++] = d->state;
}

static void list_filters_by_state_newest_first(void **state)
{
	struct fx *fx = *state;
	const char *const abcd[] = {"a", "b", "c", "d", NULL};
	struct nt_err err = {{0}};
	struct listing l = {0};
	struct dlv *d;

	assert_int_equal(S_enqueue(fx->st, "p1", abcd, 100, false), 4);
	d = S_claim(fx->st, "a", 100);
	store_mark_sent(fx->st, d->id, NULL, 100, &err);
	dlv_free(d);
	d = S_claim(fx->st, "b", 100);
	store_mark_failed(fx->st, d->id, "no", 100, &err);
	dlv_free(d);
	dlv_free(S_claim(fx->st, "c", 100));
	assert_int_equal(store_list(fx->st, 0xf, 0, S_list_fn, &l, &err),
			 NT_OK);
	assert_int_equal(l.n, 4);
	for (size_t i = 1; i < l.n; i++)
		assert_true(l.ids[i - 1] > l.ids[i]);
	assert_int_equal(l.states[0], DLV_PENDING); /* d */
	assert_int_equal(l.states[1], DLV_SENDING); /* c */
	assert_int_equal(l.states[2], DLV_FAILED);  /* b */
	assert_int_equal(l.states[3], DLV_SENT);    /* a */
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_list(fx->st, 1u << DLV_PENDING | 1u << DLV_SENT,
				    0, S_list_fn, &l, &err),
			 NT_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.states[0], DLV_PENDING);
	assert_int_equal(l.states[1], DLV_SENT);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_list(fx->st, 0xf, 3, S_list_fn, &l, &err),
			 NT_OK);
	assert_int_equal(l.n, 3);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_list(fx->st, 0, 0, S_list_fn, &l, &err), NT_OK);
	assert_int_equal(l.n, 0);
}

static void retry_requeues_failed_rows(void **state)
{
	struct fx *fx = *state;
	const char *const abc[] = {"a", "b", "c", NULL};
	struct nt_err err = {{0}};
	int64_t ids[3];
	size_t changed = 9;
	struct find f;

	assert_int_equal(S_enqueue(fx->st, "p1", abc, 100, false), 3);
	for (int i = 0; i < 3; i++) {
		struct dlv *d = S_claim(fx->st, NULL, 100);

		ids[i] = d->id;
		store_mark_failed(fx->st, d->id, "gone", 110, &err);
		dlv_free(d);
	}
	{
		int64_t some[] = {ids[1], 999, 0};

		assert_int_equal(store_retry(fx->st, some, 3, 500, false,
					     &changed, &err),
				 NT_OK);
	}
	assert_int_equal(changed, 1);
	f = S_find(fx->st, ids[1]);
	assert_int_equal(f.copy.state, DLV_PENDING);
	assert_int_equal(f.copy.attempts, 0);
	assert_int_equal(f.copy.next_at, 500);
	assert_int_equal(S_find(fx->st, ids[0]).copy.state, DLV_FAILED);
	/* a pending row is not failed: not counted again */
	assert_int_equal(
		store_retry(fx->st, NULL, 0, 600, false, &changed, &err),
		NT_OK);
	assert_int_equal(changed, 2);
	assert_int_equal(S_find(fx->st, ids[0]).copy.state, DLV_PENDING);
	assert_int_equal(S_find(fx->st, ids[2]).copy.next_at, 600);
	assert_int_equal(
		store_retry(fx->st, NULL, 0, 700, false, &changed, &err),
		NT_OK);
	assert_int_equal(changed, 0);
}

/* ---- key/value ----------------------------------------------------- */

static void kv_sets_replaces_and_removes(void **state)
{
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	char *v = (char *)1;

	assert_int_equal(store_kv_get(fx->st, "room:#a:x", &v, &err), NT_OK);
	assert_null(v);
	assert_int_equal(store_kv_set(fx->st, "room:#a:x", "!abc:x", &err),
			 NT_OK);
	assert_int_equal(store_kv_get(fx->st, "room:#a:x", &v, &err), NT_OK);
	assert_string_equal(v, "!abc:x");
	free(v);
	assert_int_equal(store_kv_set(fx->st, "room:#a:x", "!def:x", &err),
			 NT_OK);
	assert_int_equal(store_kv_get(fx->st, "room:#a:x", &v, &err), NT_OK);
	assert_string_equal(v, "!def:x");
	free(v);
	assert_int_equal(store_kv_set(fx->st, "room:#a:x", NULL, &err), NT_OK);
	assert_int_equal(store_kv_get(fx->st, "room:#a:x", &v, &err), NT_OK);
	assert_null(v);
	assert_int_equal(store_kv_set(fx->st, NULL, "x", &err), NT_EINVAL);
}

static void state_names(void **state)
{
	(void)state;
	assert_string_equal(dlv_state_name(DLV_PENDING), "pending");
	assert_string_equal(dlv_state_name(DLV_SENDING), "sending");
	assert_string_equal(dlv_state_name(DLV_SENT), "sent");
	assert_string_equal(dlv_state_name(DLV_FAILED), "failed");
	assert_string_equal(dlv_state_name((enum dlv_state)42), "?");
	dlv_free(NULL);
	store_close(NULL);
}

/* Everything a batch names lands together: rows, covered posts, seen
 * posts, holds and the mark. */
static void batch_writes_everything_at_once(void **state)
{
	struct fx *fx = *state;
	struct dlv_new rows[] = {S_new("soc", NULL, "{}"),
				 S_new("mail", "a@example.org", "m")};
	const char *covered[] = {"p1", "p2"};
	struct store_seen seen[] = {
		{"p3", NULL, NULL},
		{"renamed", "_posts/renamed.md",
		 "0123456789abcdef0123456789abcdef01234567"}};
	struct store_item items[] = {{"digest-2-p1", rows, 2, covered, 2},
				     {"p4", rows, 1, NULL, 0}};
	struct store_hold holds[] = {{"later", "_posts/later.md", 500}};
	struct store_batch b = {.items = items,
				.n_items = 2,
				.seen = seen,
				.n_seen = 2,
				.holds = holds,
				.n_holds = 1,
				.kv_key = "watch.mark",
				.kv_value = "abc"};
	struct nt_err err = {{0}};
	size_t added[2] = {9, 9};
	char *v = NULL;

	assert_int_equal(
		store_commit_batch(fx->st, &b, 100, false, added, &err), NT_OK);
	assert_int_equal(added[0], 2);
	assert_int_equal(added[1], 1);
	for (const char *const *id =
		     (const char *const[]){"digest-2-p1", "p1", "p2", "p3",
					   "p4", "renamed", NULL};
	     *id; id++)
		assert_true(S_is_seen(fx->st, *id));
	assert_false(S_is_seen(fx->st, "later"));
	assert_int_equal(store_held_next(fx->st), 500);
	assert_int_equal(store_kv_get(fx->st, "watch.mark", &v, &err), NT_OK);
	assert_string_equal(v, "abc");
	free(v);
	/* the same batch again adds no row */
	assert_int_equal(
		store_commit_batch(fx->st, &b, 101, false, added, &err), NT_OK);
	assert_int_equal(added[0], 0);
	assert_int_equal(added[1], 0);
}

/* A bad part refuses the whole batch: nothing of it is written. */
static void bad_batch_writes_nothing(void **state)
{
	struct fx *fx = *state;
	struct dlv_new rows[] = {S_new("soc", NULL, "{}"),
				 {NULL, NULL, "x", 1, NULL, -1}};
	struct store_seen seen[] = {{"p3", NULL, NULL}};
	struct store_item items[] = {{"p1", rows, 1, NULL, 0},
				     {"p2", rows + 1, 1, NULL, 0}};
	struct store_batch b = {.items = items,
				.n_items = 2,
				.seen = seen,
				.n_seen = 1,
				.kv_key = "watch.mark",
				.kv_value = "abc"};
	struct nt_err err = {{0}};
	char *v = (char *)1;

	assert_int_equal(store_commit_batch(fx->st, &b, 100, false, NULL, &err),
			 NT_EINVAL);
	assert_non_null(strstr(err.msg, "no channel"));
	assert_false(S_is_seen(fx->st, "p1"));
	assert_false(S_is_seen(fx->st, "p3"));
	assert_int_equal(store_kv_get(fx->st, "watch.mark", &v, &err), NT_OK);
	assert_null(v);
	assert_int_equal(S_next_due(fx->st, NULL), -1);
}

struct held_seen {
	char ids[4][32];
	int64_t at[4];
	int n;
};

static void S_held_cb(void *ctx, const char *id, const char *path, int64_t at)
{
	struct held_seen *h = ctx;

	assert_non_null(strstr(path, id));
	snprintf(h->ids[h->n], sizeof(h->ids[0]), "%s", id);
	h->at[h->n++] = at;
}

/* Holds come out when due, earliest first; a new due time replaces the
 * old; marking a post seen (or an unhold) ends its hold. */
static void holds_are_due_in_order_and_end_when_seen(void **state)
{
	struct fx *fx = *state;
	struct store_hold holds[] = {{"b", "_posts/b.md", 300},
				     {"a", "_posts/a.md", 200},
				     {"c", "_posts/c.md", 900}};
	struct store_batch b = {.holds = holds, .n_holds = 3};
	struct nt_err err = {{0}};
	struct held_seen h = {0};
	struct store_seen seen[] = {{"a", NULL, NULL}};
	const char *unhold[] = {"c"};

	assert_int_equal(store_held_next(fx->st), -1);
	assert_int_equal(store_commit_batch(fx->st, &b, 100, false, NULL, &err),
			 NT_OK);
	assert_int_equal(store_held_next(fx->st), 200);
	assert_int_equal(store_held_due(fx->st, 299, S_held_cb, &h, &err),
			 NT_OK);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.ids[0], "a");
	memset(&h, 0, sizeof(h));
	assert_int_equal(store_held_due(fx->st, 1000, S_held_cb, &h, &err),
			 NT_OK);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.ids[0], "a");
	assert_string_equal(h.ids[1], "b");
	assert_string_equal(h.ids[2], "c");
	/* b moves later; a is announced; c's file is gone */
	holds[0].due_at = 700;
	b = (struct store_batch){.holds = holds,
				 .n_holds = 1,
				 .seen = seen,
				 .n_seen = 1,
				 .unholds = unhold,
				 .n_unholds = 1};
	assert_int_equal(store_commit_batch(fx->st, &b, 100, false, NULL, &err),
			 NT_OK);
	memset(&h, 0, sizeof(h));
	assert_int_equal(store_held_due(fx->st, 1000, S_held_cb, &h, &err),
			 NT_OK);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.ids[0], "b");
	assert_int_equal(h.at[0], 700);
}

struct blob_hits {
	char ids[4][32];
	int n;
};

static void S_blob_cb(void *ctx, const char *id, const char *path)
{
	struct blob_hits *h = ctx;

	assert_non_null(strstr(path, id));
	snprintf(h->ids[h->n++], sizeof(h->ids[0]), "%s", id);
}

/* A file written by schema 1 (as notify 0.1 left it, with a seen post)
 * gains the held table and the path and blob of posts on open. */
static void version_1_file_is_migrated(void **state)
{
	static const char v1[] =
		"CREATE TABLE posts (post_id TEXT PRIMARY KEY NOT NULL,"
		"  seen_at INTEGER NOT NULL);"
		"CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT,"
		"  post_id TEXT NOT NULL REFERENCES posts (post_id),"
		"  channel TEXT NOT NULL, recipient TEXT NOT NULL DEFAULT '',"
		"  payload BLOB NOT NULL, content_type TEXT,"
		"  state TEXT NOT NULL DEFAULT 'pending'"
		"    CHECK (state IN ('pending', 'sending', 'sent', 'failed')),"
		"  attempts INTEGER NOT NULL DEFAULT 0,"
		"  created_at INTEGER NOT NULL, next_at INTEGER NOT NULL,"
		"  lease_until INTEGER NOT NULL DEFAULT 0,"
		"  sent_at INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
		"  remote_id TEXT, UNIQUE (post_id, channel, recipient));"
		"CREATE INDEX deliveries_due ON deliveries (state, next_at);"
		"CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL,"
		"  value TEXT NOT NULL);"
		"INSERT INTO posts VALUES ('old', 1);"
		"PRAGMA user_version = 1;";
	struct fx *fx = *state;
	struct nt_err err = {{0}};
	struct store_hold holds[] = {{"a", "_posts/a.md", 200}};
	struct store_seen seen[] = {{"old", "_posts/old.md", "abc"}};
	struct store_batch b = {
		.holds = holds, .n_holds = 1, .seen = seen, .n_seen = 1};
	struct blob_hits hits = {0};
	sqlite3 *h = NULL;

	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(unlink(fx->db), 0);
	assert_int_equal(sqlite3_open(fx->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(store_open(fx->db, &fx->st, &err), NT_OK);
	assert_int_equal(S_pragma_int(fx->db, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	assert_true(S_is_seen(fx->st, "old"));
	assert_int_equal(store_commit_batch(fx->st, &b, 100, false, NULL, &err),
			 NT_OK);
	assert_int_equal(store_held_next(fx->st), 200);
	assert_int_equal(store_seen_blob(fx->st, "abc", S_blob_cb, &hits, &err),
			 NT_OK);
	assert_int_equal(hits.n, 1);
}

/* A seen post's path and contents are found again by its blob id. */
static void seen_posts_are_found_by_contents(void **state)
{
	struct fx *fx = *state;
	const char *blob = "0123456789abcdef0123456789abcdef01234567";
	struct store_seen seen[] = {{"a", "_posts/a.md", blob},
				    {"b", "_posts/b.md", "ffff"},
				    {"c", NULL, NULL}};
	struct store_batch b = {.seen = seen, .n_seen = 3};
	struct nt_err err = {{0}};
	struct blob_hits h = {0};

	assert_int_equal(store_commit_batch(fx->st, &b, 100, false, NULL, &err),
			 NT_OK);
	assert_int_equal(store_seen_blob(fx->st, blob, S_blob_cb, &h, &err),
			 NT_OK);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.ids[0], "a");
	h.n = 0;
	assert_int_equal(store_seen_blob(fx->st, "none", S_blob_cb, &h, &err),
			 NT_OK);
	assert_int_equal(h.n, 0);
}

/* A batch read from an older state than the one stored is refused whole:
 * another scan committed meanwhile. */
static void stale_batch_is_refused(void **state)
{
	struct fx *fx = *state;
	struct store_seen seen[] = {{"p", NULL, NULL}};
	struct store_batch b = {.seen = seen,
				.n_seen = 1,
				.kv_key = "watch.mark",
				.kv_value = "two",
				.kv_check = true,
				.kv_old = NULL};
	struct nt_err err = {{0}};
	char *v = NULL;

	assert_int_equal(store_kv_set(fx->st, "watch.mark", "one", &err),
			 NT_OK);
	/* read "nothing", but "one" is there now */
	assert_int_equal(store_commit_batch(fx->st, &b, 1, false, NULL, &err),
			 NT_ETEMP);
	assert_non_null(strstr(err.msg, "changed meanwhile"));
	assert_false(S_is_seen(fx->st, "p"));
	b.kv_old = "zero";
	assert_int_equal(store_commit_batch(fx->st, &b, 1, false, NULL, &err),
			 NT_ETEMP);
	b.kv_old = "one";
	assert_int_equal(store_commit_batch(fx->st, &b, 1, false, NULL, &err),
			 NT_OK);
	assert_true(S_is_seen(fx->st, "p"));
	assert_int_equal(store_kv_get(fx->st, "watch.mark", &v, &err), NT_OK);
	assert_string_equal(v, "two");
	free(v);
}

#define T(f) cmocka_unit_test_setup_teardown(f, S_setup, S_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(open_creates_the_file_with_mode_0600),
		T(open_sets_schema_version_and_wal),
		T(reopen_keeps_the_data),
		T(newer_schema_is_refused),
		T(garbage_file_is_a_clear_error),
		T(damaged_database_is_a_clear_error),
		T(empty_file_is_not_a_new_outbox),
		T(foreign_database_is_refused),
		T(creation_leaves_only_the_outbox),
		T(missing_folder_names_the_path),
		T(enqueue_is_idempotent),
		T(recipients_are_part_of_the_key),
		T(enqueue_marks_the_post_seen),
		T(enqueue_rejects_bad_rows_and_writes_nothing),
		T(payload_bytes_round_trip),
		T(force_enqueues_rows_afresh),
		T(force_leaves_a_row_being_sent),
		T(claim_takes_the_longest_waiting_due_row),
		T(expired_lease_is_claimed_again),
		T(claim_id_takes_only_a_due_row),
		T(two_handles_never_claim_the_same_row),
		T(processes_never_claim_the_same_row),
		T(marks_record_each_outcome),
		T(mark_on_a_finished_row_changes_nothing),
		T(post_state_counts_rows),
		T(next_due_is_the_earliest_claimable_time),
		T(list_filters_by_state_newest_first),
		T(retry_requeues_failed_rows),
		T(kv_sets_replaces_and_removes),
		T(state_names),
		T(batch_writes_everything_at_once),
		T(bad_batch_writes_nothing),
		T(holds_are_due_in_order_and_end_when_seen),
		T(version_1_file_is_migrated),
		T(seen_posts_are_found_by_contents),
		T(stale_batch_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
