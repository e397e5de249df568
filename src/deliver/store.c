/*
 * store.c - the outbox in SQLite (store.h).
 *
 * Every statement is prepared once per handle (SQLITE_PREPARE_PERSISTENT)
 * and reset after each use, so no read transaction outlives a call.
 * Writes of more than one statement run in BEGIN IMMEDIATE: in WAL mode a
 * deferred transaction that upgrades to a write fails at once with
 * SQLITE_BUSY_SNAPSHOT instead of waiting on the busy timeout.
 */
#include "notify/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/log.h"

/*
 * Forward migrations: S_migrations[v] takes a file from user_version v to
 * v + 1; the steps a file needs run in one transaction.  Append only;
 * never edit a released step.
 *
 * Version 1, the outbox.  recipient is '' rather than NULL for chat
 * channels, because NULLs are distinct in a UNIQUE key and the key must
 * make enqueueing idempotent.  AUTOINCREMENT keeps ids from being reused
 * after rows are deleted (a forced resend, a future purge): the Matrix
 * txnId is derived from the id, and a reused one would be swallowed by
 * the homeserver as a retry.
 */
static const char *const S_migrations[] = {
	"CREATE TABLE posts ("
	"  post_id TEXT PRIMARY KEY NOT NULL,"
	"  seen_at INTEGER NOT NULL"
	");"
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  post_id TEXT NOT NULL REFERENCES posts (post_id),"
	"  channel TEXT NOT NULL,"
	"  recipient TEXT NOT NULL DEFAULT '',"
	"  payload BLOB NOT NULL,"
	"  content_type TEXT,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'sending', 'sent', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  next_at INTEGER NOT NULL,"
	"  lease_until INTEGER NOT NULL DEFAULT 0,"
	"  sent_at INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  remote_id TEXT,"
	"  UNIQUE (post_id, channel, recipient)"
	");"
	"CREATE INDEX deliveries_due ON deliveries (state, next_at);"
	"CREATE TABLE kv ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	");",
	/* Version 2, the watcher: posts held until their date (future:
	 * false), and where a seen post was and what it held (its git blob
	 * id), so that a post renamed while nobody watched is known. */
	"CREATE TABLE held ("
	"  post_id TEXT PRIMARY KEY NOT NULL,"
	"  path TEXT NOT NULL,"
	"  due_at INTEGER NOT NULL"
	");"
	"ALTER TABLE posts ADD COLUMN path TEXT;"
	"ALTER TABLE posts ADD COLUMN blob TEXT;"
	"CREATE INDEX posts_blob ON posts (blob);",
	/* Version 3, the delivery engine.
	 * - bodies: what the rows of one post and channel share is stored
	 *   once (an e-mail to 10,000 addresses is one body); to_at is where
	 *   a recipient's To: line goes in it, -1 when the body is whole.
	 * - due_at: when a row can be claimed (next_at while pending, just
	 *   after the end of the lease while being sent, NULL once done), so
	 *   that a
	 *   lane's claim is one range of a partial index: O(log n).
	 * - claim: who holds a row being sent; an outcome from a sender
	 *   whose lease ran out and whose row was claimed again changes
	 *   nothing.
	 * - store_id: a random identity, so that no two state files ever
	 *   derive the same Matrix txnId for one access token. */
	"CREATE TABLE bodies ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  payload BLOB NOT NULL,"
	"  content_type TEXT,"
	"  to_at INTEGER NOT NULL DEFAULT -1"
	");"
	"INSERT INTO bodies (id, payload, content_type) "
	"  SELECT id, payload, content_type FROM deliveries;"
	"ALTER TABLE deliveries ADD COLUMN body_id INTEGER "
	"  REFERENCES bodies (id);"
	"ALTER TABLE deliveries ADD COLUMN due_at INTEGER;"
	"ALTER TABLE deliveries ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;"
	"UPDATE deliveries SET body_id = id, payload = x'', due_at = "
	"  CASE state WHEN 'pending' THEN next_at "
	"  WHEN 'sending' THEN lease_until + 1 END;"
	"DROP INDEX deliveries_due;"
	"CREATE INDEX deliveries_lane ON deliveries (channel, due_at) "
	"  WHERE due_at IS NOT NULL;"
	"CREATE INDEX deliveries_post ON deliveries (post_id, channel, due_at) "
	"  WHERE due_at IS NOT NULL;"
	"INSERT INTO kv (key, value) VALUES "
	"  ('store_id', lower(hex(randomblob(12))));",
};
_Static_assert(sizeof(S_migrations) / sizeof(S_migrations[0]) ==
		       STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

#define DLV_COLS                                                               \
	"d.id, d.post_id, d.channel, d.recipient, d.body_id, b.content_type, " \
	"d.state, d.attempts, d.created_at, d.next_at, d.lease_until, "        \
	"d.sent_at, d.last_error, d.remote_id, d.claim, b.to_at "              \
	"FROM deliveries d LEFT JOIN bodies b ON b.id = d.body_id"

/* The outcome statements touch a row only while its claim holds: ?9 is
 * the claim (0 in store_mark_*(): whoever holds it). */
#define HELD "state = 'sending' AND (?9 = 0 OR claim = ?9)"

enum q {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SEEN_ADD,
	Q_SEEN_AT,
	Q_SEEN_BLOB,
	Q_SEEN_GET,
	Q_DLV_ADD,
	Q_DLV_DROP,
	Q_POST_STATE,
	Q_BODY_ADD,
	Q_BODY_GET,
	Q_BODY_ORPHANS,
	Q_BODY_DEL,
	Q_PICK_ANY,
	Q_PICK_LANE,
	Q_PICK_POST,
	Q_TAKE,
	Q_RENEW,
	Q_LOAD,
	Q_SENT,
	Q_RETRY,
	Q_FAILED,
	Q_EXISTS,
	Q_NEXT_DUE,
	Q_LIST,
	Q_LIST_POST,
	Q_REVIVE,
	Q_HURRY,
	Q_CHANNELS,
	Q_ORPHAN,
	Q_KV_GET,
	Q_KV_SET,
	Q_KV_DEL,
	Q_HOLD,
	Q_UNHOLD,
	Q_HELD_DUE,
	Q_HELD_NEXT,
	Q_COUNT
};

static const char *const S_sql[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SEEN_ADD] = "INSERT INTO posts (post_id, seen_at) VALUES (?1, ?2) "
		       "ON CONFLICT DO NOTHING",
	[Q_SEEN_AT] = "UPDATE posts SET path = ?2, blob = ?3 "
		      "WHERE post_id = ?1",
	[Q_SEEN_BLOB] = "SELECT post_id, path FROM posts WHERE blob = ?1 "
			"ORDER BY seen_at",
	[Q_SEEN_GET] = "SELECT 1 FROM posts WHERE post_id = ?1",
	/* the content type is the body's: not stored again a row */
	[Q_DLV_ADD] = "INSERT INTO deliveries (post_id, channel, recipient, "
		      "payload, created_at, next_at, due_at, body_id) "
		      "VALUES (?1, ?2, ?3, x'', ?6, ?6, ?6, ?4) "
		      "ON CONFLICT DO NOTHING",
	[Q_BODY_ADD] = "INSERT INTO bodies (payload, content_type, to_at) "
		       "VALUES (?1, ?2, ?3)",
	[Q_BODY_DEL] = "DELETE FROM bodies WHERE id = ?1",
	[Q_BODY_GET] = "SELECT payload, to_at FROM bodies WHERE id = ?1",
	/* after a forced resend replaced rows; rare, so a scan is fine */
	[Q_BODY_ORPHANS] = "DELETE FROM bodies WHERE id NOT IN "
			   "(SELECT body_id FROM deliveries "
			   "WHERE body_id IS NOT NULL)",
	[Q_DLV_DROP] = "DELETE FROM deliveries WHERE post_id = ?1 AND "
		       "channel = ?2 AND recipient = ?3 AND "
		       "(state <> 'sending' OR lease_until < ?4)",
	[Q_POST_STATE] = "SELECT count(*), "
			 "count(CASE WHEN state = 'sent' THEN 1 END), "
			 "count(CASE WHEN state = 'failed' THEN 1 END) "
			 "FROM deliveries WHERE post_id = ?1",
	/* both walk a partial index of the rows not done, in due order */
	[Q_PICK_ANY] = "SELECT id FROM deliveries WHERE due_at <= ?1 AND "
		       "(?2 IS NULL OR channel = ?2) "
		       "ORDER BY due_at, id LIMIT 1",
	[Q_PICK_LANE] = "SELECT id FROM deliveries WHERE channel = ?1 AND "
			"due_at <= ?2 ORDER BY due_at, id LIMIT ?3",
	[Q_PICK_POST] = "SELECT id FROM deliveries WHERE post_id = ?4 AND "
			"channel = ?1 AND due_at <= ?2 "
			"ORDER BY due_at, id LIMIT ?3",
	[Q_TAKE] = "UPDATE deliveries SET state = 'sending', "
		   "lease_until = ?3, due_at = ?3 + 1, claim = ?4, "
		   "attempts = attempts + 1 WHERE id = ?2 AND due_at <= ?1",
	[Q_RENEW] = "UPDATE deliveries SET lease_until = ?2, due_at = ?2 + 1 "
		    "WHERE id = ?1 AND state = 'sending' AND claim = ?3",
	[Q_LOAD] = "SELECT " DLV_COLS " WHERE d.id = ?1",
	[Q_SENT] = "UPDATE deliveries SET state = 'sent', sent_at = ?2, "
		   "remote_id = ?3, lease_until = 0, due_at = NULL "
		   "WHERE id = ?1 AND " HELD,
	[Q_RETRY] = "UPDATE deliveries SET state = 'pending', next_at = ?2, "
		    "due_at = ?2, last_error = ?3, lease_until = 0 "
		    "WHERE id = ?1 AND " HELD,
	[Q_FAILED] = "UPDATE deliveries SET state = 'failed', next_at = ?2, "
		     "due_at = NULL, last_error = ?3, lease_until = 0 "
		     "WHERE id = ?1 AND " HELD,
	[Q_EXISTS] = "SELECT 1 FROM deliveries WHERE id = ?1",
	[Q_NEXT_DUE] = "SELECT min(due_at) FROM deliveries "
		       "WHERE due_at IS NOT NULL "
		       "AND (?1 IS NULL OR post_id = ?1) "
		       "AND (?2 IS NULL OR channel = ?2)",
	[Q_LIST] = "SELECT " DLV_COLS " "
		   "WHERE instr(?1, ',' || d.state || ',') > 0 "
		   "ORDER BY d.id DESC LIMIT ?2",
	[Q_LIST_POST] = "SELECT " DLV_COLS " WHERE d.post_id = ?1 "
			"ORDER BY d.channel, d.id",
	/* created_at too: a retried delivery gets a whole max_age again */
	[Q_REVIVE] = "UPDATE deliveries SET state = 'pending', attempts = 0, "
		     "next_at = ?1, due_at = ?1, created_at = ?1, "
		     "lease_until = 0 "
		     "WHERE state = 'failed' AND (?2 IS NULL OR id = ?2)",
	/* a waiting row made due now (retry --now) */
	[Q_CHANNELS] = "SELECT DISTINCT channel FROM deliveries "
		       "WHERE due_at IS NOT NULL",
	/* a channel gone from the configuration: its rows never go */
	[Q_ORPHAN] = "UPDATE deliveries SET state = 'failed', next_at = ?2, "
		     "due_at = NULL, last_error = ?3, lease_until = 0 "
		     "WHERE channel = ?1 AND state = 'pending'",
	[Q_HURRY] = "UPDATE deliveries SET next_at = ?1, due_at = ?1 "
		    "WHERE state = 'pending' AND next_at > ?1 "
		    "AND (?2 IS NULL OR id = ?2)",
	[Q_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
	[Q_KV_SET] = "INSERT INTO kv (key, value) VALUES (?1, ?2) "
		     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[Q_KV_DEL] = "DELETE FROM kv WHERE key = ?1",
	[Q_HOLD] = "INSERT INTO held (post_id, path, due_at) "
		   "VALUES (?1, ?2, ?3) ON CONFLICT (post_id) DO UPDATE "
		   "SET path = excluded.path, due_at = excluded.due_at",
	[Q_UNHOLD] = "DELETE FROM held WHERE post_id = ?1",
	[Q_HELD_DUE] = "SELECT post_id, path, due_at FROM held "
		       "WHERE due_at <= ?1 ORDER BY due_at, post_id",
	[Q_HELD_NEXT] = "SELECT min(due_at) FROM held",
};

static const char *const S_state_names[] = {
	[DLV_PENDING] = "pending",
	[DLV_SENDING] = "sending",
	[DLV_SENT] = "sent",
	[DLV_FAILED] = "failed",
};
#define N_STATES (sizeof(S_state_names) / sizeof(S_state_names[0]))

struct store {
	sqlite3 *db;
	char *path;
	char id[32];   /* kv store_id: the file's random identity */
	uint64_t salt; /* random, and a count: claim tokens */
	uint64_t claims;
	sqlite3_stmt *q[Q_COUNT]; /* prepared on first use */
};

/* ---- errors and statements ---------------------------------------- */

static nt_rc S_rc_of(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return NT_ETEMP;
	case SQLITE_TOOBIG:
		return NT_ETOOBIG;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_CONSTRAINT:
		return NT_EINVAL;
	default:
		return NT_ESTATE;
	}
}

/* Fills 'err' from the handle's last error; call it before any reset or
 * rollback, which would replace the message. */
static nt_rc S_fail(struct store *st, const char *what, struct nt_err *err)
{
	nt_rc rc = S_rc_of(sqlite3_extended_errcode(st->db));

	return nt_fail(err, rc, "%s: %s: %s", st->path, what,
		       sqlite3_errmsg(st->db));
}

/* The cached statement 'q', or NULL (the error is in the handle). */
static sqlite3_stmt *S_stmt(struct store *st, enum q q)
{
	if (st->q[q] == NULL &&
	    sqlite3_prepare_v3(st->db, S_sql[q], -1, SQLITE_PREPARE_PERSISTENT,
			       &st->q[q], NULL) != SQLITE_OK)
		return NULL;
	return st->q[q];
}

/* Makes 's' ready for its next use; NULL-safe. */
static void S_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Runs a cached statement that takes no parameter and returns no row. */
static nt_rc S_simple(struct store *st, enum q q, const char *what,
		      struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, q);
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, what, err);
	S_done(s);
	return rc;
}

static nt_rc S_begin(struct store *st, const char *what, struct nt_err *err)
{
	return S_simple(st, Q_BEGIN, what, err);
}

/* Ends a failed transaction; keeps whatever error was reported. */
static void S_rollback(struct store *st)
{
	struct nt_err ignored;

	if (!sqlite3_get_autocommit(st->db))
		S_simple(st, Q_ROLLBACK, "rollback", &ignored);
}

static nt_rc S_commit(struct store *st, const char *what, struct nt_err *err)
{
	nt_rc rc = S_simple(st, Q_COMMIT, what, err);

	if (rc)
		S_rollback(st);
	return rc;
}

/* ---- rows ---------------------------------------------------------- */

static void S_oom(void)
{
	fputs("notify: out of memory\n", stderr);
	abort();
}

/* Column i as an owned string, NULL for SQL NULL (or for '' when
 * 'empty_is_null'). */
static char *S_col_str(sqlite3_stmt *s, int i, bool empty_is_null)
{
	int type = sqlite3_column_type(s, i);
	const unsigned char *t = sqlite3_column_text(s, i);

	if (type == SQLITE_NULL)
		return NULL;
	if (t == NULL)
		S_oom(); /* a value SQLite could not convert */
	if (empty_is_null && t[0] == '\0')
		return NULL;
	return nt_xstrdup((const char *)t);
}

static enum dlv_state S_state_of(const char *name)
{
	for (size_t i = 0; name && i < N_STATES; i++)
		if (strcmp(name, S_state_names[i]) == 0)
			return (enum dlv_state)i;
	return DLV_FAILED; /* the CHECK constraint makes this unreachable */
}

/* The row under 's', selected as DLV_COLS; owned by the caller.  The
 * payload is not read: rows share bodies (store_body()). */
static struct dlv *S_row(sqlite3_stmt *s)
{
	struct dlv *d = nt_xcalloc(1, sizeof(*d));
	char *state;

	d->id = sqlite3_column_int64(s, 0);
	d->post_id = S_col_str(s, 1, false);
	d->channel = S_col_str(s, 2, false);
	d->recipient = S_col_str(s, 3, true);
	d->body_id = sqlite3_column_int64(s, 4);
	d->content_type = S_col_str(s, 5, false);
	state = S_col_str(s, 6, false);
	d->state = S_state_of(state);
	free(state);
	d->attempts = sqlite3_column_int(s, 7);
	d->created_at = sqlite3_column_int64(s, 8);
	d->next_at = sqlite3_column_int64(s, 9);
	d->lease_until = sqlite3_column_int64(s, 10);
	d->sent_at = sqlite3_column_int64(s, 11);
	d->last_error = S_col_str(s, 12, false);
	d->remote_id = S_col_str(s, 13, false);
	d->claim = sqlite3_column_int64(s, 14);
	d->to_at = sqlite3_column_type(s, 15) == SQLITE_NULL
			   ? -1
			   : sqlite3_column_int64(s, 15);
	return d;
}

void dlv_free(struct dlv *d)
{
	if (d == NULL)
		return;
	free(d->post_id);
	free(d->channel);
	free(d->recipient);
	free(d->payload);
	free(d->content_type);
	free(d->last_error);
	free(d->remote_id);
	free(d);
}

const char *dlv_state_name(enum dlv_state s)
{
	if ((unsigned)s >= N_STATES)
		return "?";
	return S_state_names[s];
}

/* ---- opening ------------------------------------------------------- */

static nt_rc S_exec(struct store *st, const char *sql, const char *what,
		    struct nt_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return S_fail(st, what, err);
	return NT_OK;
}

/* WAL lets the CLI read and claim while the daemon writes.  FULL syncs
 * the WAL at each commit: NORMAL would survive kill -9 too, but could
 * lose the last commits on power loss, and a lost mark_sent is a
 * duplicate alert.  At a few dozen commits a day the fsync is free. */
static nt_rc S_connect(struct store *st, struct nt_err *err)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	nt_rc rc = NT_OK;

	if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		if (st->db == NULL)
			S_oom();
		return S_fail(st, "open", err);
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* the file is data, never code: no schema tricks, no triggers
	 * calling functions with side effects */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
			  (int *)NULL);
	rc = S_exec(st, "PRAGMA foreign_keys = ON", "open", err);
	if (rc)
		return rc;
	/* the first statement that reads the file: garbage fails here */
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = S_fail(st, "open", err);
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		rc = nt_fail(err, NT_ESTATE,
			     "%s: open: cannot use WAL mode (journal mode "
			     "is '%s')",
			     st->path, mode ? (const char *)mode : "?");
		goto out;
	}
	rc = S_exec(st, "PRAGMA synchronous = FULL", "open", err);
out:
	sqlite3_finalize(s);
	return rc;
}

static nt_rc S_version(struct store *st, int *v, struct nt_err *err)
{
	sqlite3_stmt *s = NULL;
	nt_rc rc = NT_OK;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		rc = S_fail(st, "read the schema version", err);
	else
		*v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc;
}

static nt_rc S_check_version(struct store *st, int v, struct nt_err *err)
{
	if (v > STORE_SCHEMA_VERSION)
		return nt_fail(err, NT_ECONFIG,
			       "%s: schema version %d is newer than this "
			       "notify supports (%d): upgrade notify",
			       st->path, v, STORE_SCHEMA_VERSION);
	if (v < 0)
		return nt_fail(err, NT_ESTATE,
			       "%s: unknown schema version %d: not an outbox",
			       st->path, v);
	return NT_OK;
}

/* Takes the file one version up from *v (or finds that another process
 * has done it meanwhile), in one transaction. */
/* Every step from the file's version to ours, in one transaction: a
 * new file costs one commit (one fsync), not one a step, and a crash
 * leaves the old version whole. */
static nt_rc S_steps_up(struct store *st, int *v, struct nt_err *err)
{
	char what[64], sql[64];
	nt_rc rc = S_begin(st, "migrate", err);

	if (rc)
		return rc;
	/* re-read under the write lock: another process may have won */
	rc = S_version(st, v, err);
	if (rc == NT_OK)
		rc = S_check_version(st, *v, err);
	if (rc || *v == STORE_SCHEMA_VERSION) {
		S_rollback(st);
		return rc;
	}
	snprintf(what, sizeof(what), "migrate to schema version %d",
		 STORE_SCHEMA_VERSION);
	for (int i = *v; rc == NT_OK && i < STORE_SCHEMA_VERSION; i++)
		rc = S_exec(st, S_migrations[i], what, err);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 STORE_SCHEMA_VERSION);
	if (rc == NT_OK)
		rc = S_exec(st, sql, what, err);
	if (rc == NT_OK)
		rc = S_commit(st, what, err);
	if (rc) {
		S_rollback(st);
		return rc;
	}
	*v = STORE_SCHEMA_VERSION;
	return NT_OK;
}

/* Takes the file to our schema version.  Only a file S_create() is
 * making may be at version 0: any outbox has committed its tables, so an
 * existing file at 0 is another program's database or what a bad restore
 * left, and taking it for a new outbox would lose what was waiting. */
static nt_rc S_migrate(struct store *st, bool fresh, struct nt_err *err)
{
	int v = 0;
	nt_rc rc = S_version(st, &v, err);

	if (rc == NT_OK && v == 0 && !fresh)
		return nt_fail(err, NT_ESTATE,
			       "%s: not an outbox (a database without "
			       "notify's tables): move it away to start a "
			       "new one",
			       st->path);
	if (rc == NT_OK)
		rc = S_check_version(st, v, err);
	if (rc == NT_OK && v < STORE_SCHEMA_VERSION)
		rc = S_steps_up(st, &v, err);
	return rc;
}

/* The file's random identity (schema 3), and this handle's claim salt. */
static nt_rc S_identity(struct store *st, struct nt_err *err)
{
	char *id = NULL;
	nt_rc rc = store_kv_get(st, "store_id", &id, err);

	if (rc == NT_OK &&
	    (id == NULL || strlen(id) < 16 || strlen(id) >= sizeof(st->id) ||
	     id[strspn(id, "0123456789abcdef")] != '\0'))
		rc = nt_fail(err, NT_ESTATE,
			     "%s: no valid store_id: not an outbox", st->path);
	if (rc == NT_OK)
		memcpy(st->id, id, strlen(id) + 1);
	free(id);
	sqlite3_randomness(sizeof(st->salt), &st->salt);
	return rc;
}

/* Finalizes the cached statements and closes the handle; the last
 * handle of a file also checkpoints and removes the WAL. */
static void S_disconnect(struct store *st)
{
	for (int i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(st->q[i]);
		st->q[i] = NULL;
	}
	sqlite3_close_v2(st->db);
	st->db = NULL;
}

/* Connects 'st' to its file and brings the schema up to date. */
static nt_rc S_open_at(struct store *st, bool fresh, struct nt_err *err)
{
	nt_rc rc = S_connect(st, err);

	return rc ? rc : S_migrate(st, fresh, err);
}

/* Out of WAL mode, so that the main file holds everything (the WAL goes
 * with it): for a file about to be renamed. */
static nt_rc S_unwal(struct store *st, struct nt_err *err)
{
	sqlite3_stmt *s = NULL;
	nt_rc rc = NT_OK;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = DELETE", -1, &s,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		rc = S_fail(st, "create", err);
	else if (sqlite3_column_text(s, 0) == NULL ||
		 strcmp((const char *)sqlite3_column_text(s, 0), "delete"))
		rc = nt_fail(err, NT_ESTATE, "%s: create: the WAL stays",
			     st->path);
	sqlite3_finalize(s);
	return rc;
}

/* Creates the outbox at 'path' whole or not at all, so that an existing
 * file can always be taken for an outbox: the tables are made in a file
 * of our own in the same folder (mode 0600 from mkostemp(), whatever the
 * umask; the -wal and -shm files copy it), which is then linked in under
 * the name.  link() never replaces: if another process created the
 * outbox meanwhile, its file stays.  kill -9 may leave a PATH.new-XXXXXX
 * behind, never a half-made outbox. */
static nt_rc S_create(const char *path, struct nt_err *err)
{
	struct store *st = nt_xcalloc(1, sizeof(*st));
	int fd, e;
	nt_rc rc;

	st->path = nt_xasprintf("%s.new-XXXXXX", path);
	fd = mkostemp(st->path, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		rc = nt_fail(err, e == ENOENT ? NT_ENOENT : NT_ESTATE,
			     "%s: cannot create the outbox: %s", path,
			     strerror(e));
		store_close(st);
		return rc;
	}
	close(fd);
	rc = S_open_at(st, true, err);
	if (rc == NT_OK)
		rc = S_unwal(st, err);
	S_disconnect(st);
	if (rc == NT_OK && link(st->path, path) != 0 && errno != EEXIST) {
		e = errno;
		rc = nt_fail(err, NT_ESTATE, "%s: cannot create the outbox: %s",
			     path, strerror(e));
	}
	unlink(st->path);
	store_close(st);
	return rc;
}

/* An existing file must be an outbox; a missing one is created. */
static nt_rc S_prepare(const char *path, struct nt_err *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return errno == ENOENT ? S_create(path, err)
				       : NT_OK; /* SQLite names the problem */
	if (S_ISREG(sb.st_mode) && sb.st_size == 0)
		return nt_fail(err, NT_ESTATE,
			       "%s: not an outbox (an empty file): move it "
			       "away to start a new one",
			       path);
	return NT_OK;
}

nt_rc store_open(const char *path, struct store **out, struct nt_err *err)
{
	struct store *st;
	nt_rc rc;

	if (path == NULL || path[0] == '\0')
		return nt_fail(err, NT_EINVAL, "outbox: no database path");
	rc = S_prepare(path, err);
	if (rc)
		return rc;
	st = nt_xcalloc(1, sizeof(*st));
	st->path = nt_xstrdup(path);
	rc = S_open_at(st, false, err);
	if (rc == NT_OK)
		rc = S_identity(st, err);
	if (rc) {
		store_close(st);
		return rc;
	}
	*out = st;
	return NT_OK;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	S_disconnect(st);
	free(st->path);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

const char *store_id(const struct store *st)
{
	return st->id;
}

nt_rc store_relax_sync(struct store *st, struct nt_err *err)
{
	return S_exec(st, "PRAGMA synchronous = NORMAL", "open", err);
}

/* ---- enqueueing ---------------------------------------------------- */

static nt_rc S_seen_add(struct store *st, const char *post_id, int64_t now,
			const char *what, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_SEEN_ADD);
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 2, now) || sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, what, err);
	S_done(s);
	return rc;
}

/* Stores the body of row 'r'; *id is its rowid. */
static nt_rc S_body_add(struct store *st, const struct dlv_new *r, int64_t *id,
			struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_BODY_ADD);
	const char *payload = r->payload ? r->payload : "";
	nt_rc rc = NT_OK;

	/* a zero-length blob, not NULL: the column is NOT NULL */
	if (s == NULL || sqlite3_bind_blob64(s, 1, payload, r->len, NULL) ||
	    sqlite3_bind_text(s, 2, r->content_type, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 3, r->to_at) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "enqueue", err);
	else
		*id = sqlite3_last_insert_rowid(st->db);
	S_done(s);
	return rc;
}

/* Inserts row 'r' on body 'body' unless its key exists; *fresh tells
 * which. */
static nt_rc S_dlv_add(struct store *st, const char *post_id,
		       const struct dlv_new *r, int64_t body, int64_t now,
		       bool *fresh, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_DLV_ADD);
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, r->channel, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, r->recipient ? r->recipient : "", -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 4, body) || sqlite3_bind_int64(s, 6, now) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "enqueue", err);
	else
		*fresh = sqlite3_changes(st->db) > 0;
	S_done(s);
	return rc;
}

/* Deletes the existing row of r's key unless a live sender holds it;
 * *gone tells whether it was deleted. */
static nt_rc S_dlv_drop(struct store *st, const char *post_id,
			const struct dlv_new *r, int64_t now, bool *gone,
			struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_DLV_DROP);
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, r->channel, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, r->recipient ? r->recipient : "", -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 4, now) || sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "enqueue", err);
	else
		*gone = sqlite3_changes(st->db) > 0;
	S_done(s);
	return rc;
}

static nt_rc S_check_rows(struct store *st, const char *post_id,
			  const struct dlv_new *rows, size_t n,
			  struct nt_err *err)
{
	if (post_id == NULL)
		return nt_fail(err, NT_EINVAL, "%s: enqueue: no post id",
			       st->path);
	if (n > 0 && rows == NULL)
		return nt_fail(err, NT_EINVAL, "%s: enqueue %s: no rows",
			       st->path, post_id);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].channel == NULL)
			return nt_fail(err, NT_EINVAL,
				       "%s: enqueue %s: row %zu has no channel",
				       st->path, post_id, i);
		if (rows[i].payload == NULL && rows[i].len > 0)
			return nt_fail(err, NT_EINVAL,
				       "%s: enqueue %s: row %zu has no payload",
				       st->path, post_id, i);
	}
	return NT_OK;
}

static nt_rc S_seen_at(struct store *st, const struct store_seen *e,
		       struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_SEEN_AT);
	nt_rc rc = NT_OK;

	if (s == NULL ||
	    sqlite3_bind_text(s, 1, e->post_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, e->path, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, e->blob, -1, SQLITE_STATIC) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "mark seen", err);
	S_done(s);
	return rc;
}

/* In the open transaction: 'key' still holds 'old' (NULL: is absent).
 * Another process that got there first makes this batch stale. */
static nt_rc S_kv_expect(struct store *st, const char *key, const char *old,
			 struct nt_err *err)
{
	char *now = NULL;
	nt_rc rc = store_kv_get(st, key, &now, err);
	bool same = rc == NT_OK &&
		    (now == NULL || old == NULL ? now == old
						: strcmp(now, old) == 0);

	free(now);
	if (rc == NT_OK && !same)
		rc = nt_fail(err, NT_ETEMP,
			     "%s: %s changed meanwhile (another scan?)",
			     st->path, key);
	return rc;
}

/* Drops body 'id' that no row came to use. */
static nt_rc S_body_unused(struct store *st, int64_t id, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_BODY_DEL);
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_int64(s, 1, id) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "enqueue", err);
	S_done(s);
	return rc;
}

/* Whether row i of 'it' starts a new body: consecutive rows with the
 * same payload share one, so a message to many recipients is stored
 * once. */
static bool S_new_body(const struct store_item *it, size_t i)
{
	return i == 0 || it->rows[i].payload != it->rows[i - 1].payload ||
	       it->rows[i].len != it->rows[i - 1].len ||
	       it->rows[i].to_at != it->rows[i - 1].to_at;
}

/* Row 'r' on body 'body'; with 'force' an existing row is enqueued
 * afresh (*dropped: its old body may be unused now). */
static nt_rc S_row_add(struct store *st, const char *post_id,
		       const struct dlv_new *r, int64_t body, int64_t now,
		       bool force, bool *fresh, bool *dropped,
		       struct nt_err *err)
{
	bool gone = false;
	nt_rc rc = S_dlv_add(st, post_id, r, body, now, fresh, err);

	/* afresh = a new row, hence a new id and a new txnId */
	if (rc == NT_OK && !*fresh && force)
		rc = S_dlv_drop(st, post_id, r, now, &gone, err);
	if (rc == NT_OK && gone) {
		*dropped = true;
		rc = S_dlv_add(st, post_id, r, body, now, fresh, err);
	}
	return rc;
}

/* Rows of one item, in the open transaction; *added counts fresh rows. */
static nt_rc S_item_add(struct store *st, const struct store_item *it,
			int64_t now, bool force, size_t *added,
			struct nt_err *err)
{
	nt_rc rc = S_seen_add(st, it->post_id, now, "enqueue", err);
	bool dropped = false, used = true;
	int64_t body = 0;

	for (size_t i = 0; i < it->n_covered && rc == NT_OK; i++)
		rc = S_seen_add(st, it->covered[i], now, "enqueue", err);
	for (size_t i = 0; i < it->n && rc == NT_OK; i++) {
		bool fresh = false;

		if (S_new_body(it, i)) {
			if (!used) /* every row of the last one existed */
				rc = S_body_unused(st, body, err);
			if (rc == NT_OK)
				rc = S_body_add(st, &it->rows[i], &body, err);
			used = false;
		}
		if (rc == NT_OK)
			rc = S_row_add(st, it->post_id, &it->rows[i], body, now,
				       force, &fresh, &dropped, err);
		*added += fresh;
		used |= fresh;
	}
	if (rc == NT_OK && !used)
		rc = S_body_unused(st, body, err);
	/* rows a resend replaced leave their bodies; rare, so a scan */
	if (rc == NT_OK && dropped)
		rc = S_simple(st, Q_BODY_ORPHANS, "enqueue", err);
	return rc;
}

static nt_rc S_post_id_run(struct store *st, enum q q, const char *post_id,
			   const char *path, int64_t t, const char *what,
			   struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, q);
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC) ||
	    (path && (sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC) ||
		      sqlite3_bind_int64(s, 3, t))) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, what, err);
	S_done(s);
	return rc;
}

static nt_rc S_check_batch(struct store *st, const struct store_batch *b,
			   struct nt_err *err)
{
	nt_rc rc = NT_OK;

	for (size_t i = 0; i < b->n_items && rc == NT_OK; i++)
		rc = S_check_rows(st, b->items[i].post_id, b->items[i].rows,
				  b->items[i].n, err);
	for (size_t i = 0; i < b->n_seen && rc == NT_OK; i++)
		if (b->seen[i].post_id == NULL)
			rc = nt_fail(err, NT_EINVAL,
				     "%s: mark seen: no post id", st->path);
	for (size_t i = 0; i < b->n_holds && rc == NT_OK; i++)
		if (b->holds[i].post_id == NULL || b->holds[i].path == NULL)
			rc = nt_fail(err, NT_EINVAL, "%s: hold: no post id",
				     st->path);
	return rc;
}

nt_rc store_commit_batch(struct store *st, const struct store_batch *b,
			 int64_t now, bool force, size_t *added,
			 struct nt_err *err)
{
	nt_rc rc = S_check_batch(st, b, err);

	if (rc == NT_OK)
		rc = S_begin(st, "enqueue", err);
	if (rc)
		return rc;
	if (b->kv_key && b->kv_check)
		rc = S_kv_expect(st, b->kv_key, b->kv_old, err);
	for (size_t i = 0; i < b->n_items && rc == NT_OK; i++) {
		size_t fresh = 0;

		rc = S_item_add(st, &b->items[i], now, force, &fresh, err);
		if (rc == NT_OK)
			rc = S_post_id_run(st, Q_UNHOLD, b->items[i].post_id,
					   NULL, 0, "unhold", err);
		if (added)
			added[i] = fresh;
	}
	for (size_t i = 0; i < b->n_seen && rc == NT_OK; i++) {
		const struct store_seen *e = &b->seen[i];

		rc = S_seen_add(st, e->post_id, now, "mark seen", err);
		if (rc == NT_OK && (e->path || e->blob))
			rc = S_seen_at(st, e, err);
		if (rc == NT_OK)
			rc = S_post_id_run(st, Q_UNHOLD, e->post_id, NULL, 0,
					   "unhold", err);
	}
	for (size_t i = 0; i < b->n_holds && rc == NT_OK; i++)
		rc = S_post_id_run(st, Q_HOLD, b->holds[i].post_id,
				   b->holds[i].path, b->holds[i].due_at, "hold",
				   err);
	for (size_t i = 0; i < b->n_unholds && rc == NT_OK; i++)
		rc = S_post_id_run(st, Q_UNHOLD, b->unholds[i], NULL, 0,
				   "unhold", err);
	if (rc == NT_OK && b->kv_key) {
		sqlite3_stmt *s = S_stmt(st, Q_KV_SET);

		if (s == NULL ||
		    sqlite3_bind_text(s, 1, b->kv_key, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(s, 2, b->kv_value, -1, SQLITE_STATIC) ||
		    sqlite3_step(s) != SQLITE_DONE)
			rc = S_fail(st, "kv set", err);
		S_done(s);
	}
	if (rc == NT_OK)
		rc = S_commit(st, "enqueue", err);
	if (rc)
		S_rollback(st);
	return rc;
}

nt_rc store_enqueue(struct store *st, const char *post_id,
		    const struct dlv_new *rows, size_t n, int64_t now,
		    bool force, size_t *added, struct nt_err *err)
{
	struct store_item it = {post_id, rows, n, NULL, 0};
	struct store_batch b = {.items = &it, .n_items = 1};
	size_t count = 0;
	nt_rc rc = store_commit_batch(st, &b, now, force, &count, err);

	if (rc == NT_OK && added)
		*added = count;
	return rc;
}

nt_rc store_seen_get(struct store *st, const char *post_id, bool *seen,
		     struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_SEEN_GET);
	int r = SQLITE_MISUSE;
	nt_rc rc = NT_OK;

	if (post_id == NULL)
		return nt_fail(err, NT_EINVAL, "%s: is seen: no post id",
			       st->path);
	if (s && sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC) == 0)
		r = sqlite3_step(s);
	if (r == SQLITE_ROW || r == SQLITE_DONE)
		*seen = r == SQLITE_ROW;
	else
		rc = S_fail(st, "is seen", err);
	S_done(s);
	return rc;
}

nt_rc store_post_state(struct store *st, const char *post_id, size_t *n_rows,
		       size_t *n_sent, size_t *n_failed, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_POST_STATE);
	nt_rc rc = NT_OK;

	if (post_id == NULL)
		return nt_fail(err, NT_EINVAL, "%s: post state: no post id",
			       st->path);
	if (s == NULL || sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC) ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = S_fail(st, "post state", err);
	} else {
		if (n_rows)
			*n_rows = (size_t)sqlite3_column_int64(s, 0);
		if (n_sent)
			*n_sent = (size_t)sqlite3_column_int64(s, 1);
		if (n_failed)
			*n_failed = (size_t)sqlite3_column_int64(s, 2);
	}
	S_done(s);
	return rc;
}

/* ---- claiming ------------------------------------------------------ */

/* The due row of 'channel' (NULL: any) that has waited longest, or 0. */
static nt_rc S_pick_any(struct store *st, const char *channel, int64_t now,
			int64_t *id, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_PICK_ANY);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	*id = 0;
	if (s && sqlite3_bind_int64(s, 1, now) == 0 &&
	    sqlite3_bind_text(s, 2, channel, -1, SQLITE_STATIC) == 0)
		r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	else if (r != SQLITE_DONE)
		rc = S_fail(st, "claim", err);
	S_done(s);
	return rc;
}

/* Up to 'max' due ids of 'lane' (one post of it when 'post'), appended
 * to ids[*n]. */
static nt_rc S_pick(struct store *st, const struct store_lane *lane,
		    const char *post, int64_t now, size_t max, int64_t *ids,
		    size_t *n, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, post ? Q_PICK_POST : Q_PICK_LANE);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s &&
	    sqlite3_bind_text(s, 1, lane->channel, -1, SQLITE_STATIC) == 0 &&
	    sqlite3_bind_int64(s, 2, now) == 0 &&
	    sqlite3_bind_int64(s, 3, (int64_t)(max - *n)) == 0 &&
	    (post == NULL ||
	     sqlite3_bind_text(s, 4, post, -1, SQLITE_STATIC) == 0))
		while ((r = sqlite3_step(s)) == SQLITE_ROW && *n < max)
			ids[(*n)++] = sqlite3_column_int64(s, 0);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		rc = S_fail(st, "claim", err);
	S_done(s);
	return rc;
}

static nt_rc S_load(struct store *st, int64_t id, struct dlv **out,
		    const char *what, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_LOAD);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s && sqlite3_bind_int64(s, 1, id) == 0)
		r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*out = S_row(s);
	else if (r != SQLITE_DONE)
		rc = S_fail(st, what, err);
	S_done(s);
	return rc;
}

/* Within a write transaction: claims row 'id' if it is due; *out stays
 * NULL when it is not. */
static nt_rc S_take(struct store *st, int64_t id, int64_t now, int64_t until,
		    int64_t claim, struct dlv **out, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_TAKE);
	bool hit = false;
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_int64(s, 1, now) ||
	    sqlite3_bind_int64(s, 2, id) || sqlite3_bind_int64(s, 3, until) ||
	    sqlite3_bind_int64(s, 4, claim) || sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "claim", err);
	else
		hit = sqlite3_changes(st->db) > 0;
	S_done(s);
	if (rc == NT_OK && hit)
		rc = S_load(st, id, out, "claim", err);
	return rc;
}

static nt_rc S_check_lease(struct store *st, int64_t now, int64_t lease,
			   struct nt_err *err)
{
	if (lease < 0 || now > INT64_MAX - lease)
		return nt_fail(err, NT_EINVAL, "%s: claim: bad lease %" PRId64,
			       st->path, lease);
	return NT_OK;
}

/* A claim token no other claim of this handle or process shares. */
static int64_t S_claim_token(struct store *st)
{
	return (int64_t)(((uint64_t)getpid() << 32) ^ ++st->claims ^ st->salt) &
	       INT64_MAX;
}

/* Takes ids[0..n) in the open transaction, appending what it got. */
static nt_rc S_take_all(struct store *st, const int64_t *ids, size_t n,
			int64_t now, int64_t lease, struct dlv **out,
			size_t *got, struct nt_err *err)
{
	int64_t claim = S_claim_token(st);
	nt_rc rc = NT_OK;

	for (size_t i = 0; i < n && rc == NT_OK; i++) {
		struct dlv *d = NULL;

		rc = S_take(st, ids[i], now, now + lease, claim, &d, err);
		if (d)
			out[(*got)++] = d;
	}
	return rc;
}

nt_rc store_claim_batch(struct store *st, const struct store_lane *lane,
			int64_t now, int64_t lease, size_t max,
			struct dlv **out, size_t *n, struct nt_err *err)
{
	int64_t *ids;
	size_t k = 0, got = 0;
	nt_rc rc = S_check_lease(st, now, lease, err);

	if (rc == NT_OK && (lane == NULL || lane->channel == NULL))
		rc = nt_fail(err, NT_EINVAL, "%s: claim: no channel", st->path);
	if (rc == NT_OK)
		rc = S_begin(st, "claim", err);
	if (rc)
		return rc;
	ids = nt_xcalloc(max ? max : 1, sizeof(*ids));
	if (lane->n_posts == 0)
		rc = S_pick(st, lane, NULL, now, max, ids, &k, err);
	for (size_t i = 0; i < lane->n_posts && rc == NT_OK && k < max; i++)
		rc = S_pick(st, lane, lane->posts[i], now, max, ids, &k, err);
	if (rc == NT_OK)
		rc = S_take_all(st, ids, k, now, lease, out, &got, err);
	if (rc == NT_OK)
		rc = S_commit(st, "claim", err);
	free(ids);
	if (rc) {
		S_rollback(st);
		while (got > 0)
			dlv_free(out[--got]);
		return rc;
	}
	*n = got;
	return NT_OK;
}

nt_rc store_body(struct store *st, int64_t body_id, char **payload, size_t *len,
		 struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_BODY_GET);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s && sqlite3_bind_int64(s, 1, body_id) == 0)
		r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(s, 0);
		int n = sqlite3_column_bytes(s, 0);

		if (blob == NULL && n > 0)
			S_oom();
		*len = (size_t)n;
		*payload = nt_xmalloc(*len + 1);
		if (n > 0)
			memcpy(*payload, blob, *len);
		(*payload)[*len] = '\0';
	} else if (r == SQLITE_DONE) {
		rc = nt_fail(err, NT_ESTATE, "%s: no body %" PRId64, st->path,
			     body_id);
	} else {
		rc = S_fail(st, "read body", err);
	}
	S_done(s);
	return rc;
}

/* One row, claimed and with its payload: the single-row form. */
static nt_rc S_claim_one(struct store *st, int64_t id, const char *channel,
			 int64_t now, int64_t lease, struct dlv **out,
			 struct nt_err *err)
{
	struct dlv *d = NULL;
	nt_rc rc = S_check_lease(st, now, lease, err);

	if (rc == NT_OK)
		rc = S_begin(st, "claim", err);
	if (rc)
		return rc;
	if (id == 0)
		rc = S_pick_any(st, channel, now, &id, err);
	if (rc == NT_OK && id != 0)
		rc = S_take(st, id, now, now + lease, S_claim_token(st), &d,
			    err);
	if (rc == NT_OK)
		rc = S_commit(st, "claim", err);
	if (rc == NT_OK && d)
		rc = store_body(st, d->body_id, &d->payload, &d->len, err);
	if (rc) {
		S_rollback(st);
		dlv_free(d);
		return rc;
	}
	*out = d;
	return NT_OK;
}

nt_rc store_claim(struct store *st, const char *channel, int64_t now,
		  int64_t lease, struct dlv **out, struct nt_err *err)
{
	return S_claim_one(st, 0, channel, now, lease, out, err);
}

nt_rc store_claim_id(struct store *st, int64_t id, int64_t now, int64_t lease,
		     struct dlv **out, struct nt_err *err)
{
	if (id <= 0) {
		*out = NULL;
		return NT_OK;
	}
	return S_claim_one(st, id, NULL, now, lease, out, err);
}

nt_rc store_renew(struct store *st, const struct dlv *const *rows, size_t n,
		  int64_t until, struct nt_err *err)
{
	sqlite3_stmt *s;
	nt_rc rc = n ? S_begin(st, "renew lease", err) : NT_OK;

	for (size_t i = 0; i < n && rc == NT_OK; i++) {
		s = S_stmt(st, Q_RENEW);
		if (s == NULL || sqlite3_bind_int64(s, 1, rows[i]->id) ||
		    sqlite3_bind_int64(s, 2, until) ||
		    sqlite3_bind_int64(s, 3, rows[i]->claim) ||
		    sqlite3_step(s) != SQLITE_DONE)
			rc = S_fail(st, "renew lease", err);
		S_done(s);
	}
	if (n && rc == NT_OK)
		rc = S_commit(st, "renew lease", err);
	if (rc)
		S_rollback(st);
	return rc;
}

/* ---- outcomes ------------------------------------------------------ */

/* NT_OK when row 'id' exists, else NT_EINVAL. */
static nt_rc S_exists(struct store *st, int64_t id, const char *what,
		      struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_EXISTS);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s && sqlite3_bind_int64(s, 1, id) == 0)
		r = sqlite3_step(s);
	if (r == SQLITE_DONE)
		rc = nt_fail(err, NT_EINVAL, "%s: %s: no delivery %" PRId64,
			     st->path, what, id);
	else if (r != SQLITE_ROW)
		rc = S_fail(st, what, err);
	S_done(s);
	return rc;
}

/* Runs outcome 'q' on row 'id' held by 'claim' (?1 id, ?2 a time, ?3 a
 * text, ?9 the claim).  A row no longer held is left alone: its lease
 * ran out and another sender has it, or finished it. */
static nt_rc S_outcome(struct store *st, enum q q, int64_t id, int64_t claim,
		       int64_t t, const char *text, const char *what,
		       struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, q);
	bool hit = false;
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_int64(s, 1, id) ||
	    sqlite3_bind_int64(s, 2, t) ||
	    sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 9, claim) || sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, what, err);
	else
		hit = sqlite3_changes(st->db) > 0;
	S_done(s);
	if (rc == NT_OK && !hit)
		rc = S_exists(st, id, what, err);
	return rc;
}

nt_rc store_mark_sent(struct store *st, int64_t id, const char *remote_id,
		      int64_t now, struct nt_err *err)
{
	return S_outcome(st, Q_SENT, id, 0, now, remote_id, "mark sent", err);
}

nt_rc store_mark_retry(struct store *st, int64_t id, int64_t next_at,
		       const char *error, struct nt_err *err)
{
	return S_outcome(st, Q_RETRY, id, 0, next_at, error, "mark retry", err);
}

nt_rc store_mark_failed(struct store *st, int64_t id, const char *error,
			int64_t now, struct nt_err *err)
{
	return S_outcome(st, Q_FAILED, id, 0, now, error, "mark failed", err);
}

nt_rc store_record(struct store *st, const struct store_outcome *v, size_t n,
		   struct nt_err *err)
{
	static const enum q q_of[] = {[DLV_SENT] = Q_SENT,
				      [DLV_PENDING] = Q_RETRY,
				      [DLV_FAILED] = Q_FAILED};
	nt_rc rc = NT_OK;

	for (size_t i = 0; i < n && rc == NT_OK; i++)
		if (v[i].state == DLV_SENDING || (unsigned)v[i].state >= 4)
			rc = nt_fail(err, NT_EINVAL, "%s: record: bad outcome",
				     st->path);
	if (rc == NT_OK && n > 0)
		rc = S_begin(st, "record", err);
	for (size_t i = 0; i < n && rc == NT_OK; i++)
		rc = S_outcome(st, q_of[v[i].state], v[i].id, v[i].claim,
			       v[i].at, v[i].text, "record", err);
	if (rc == NT_OK && n > 0)
		rc = S_commit(st, "record", err);
	if (rc)
		S_rollback(st);
	return rc;
}

nt_rc store_next_due(struct store *st, const char *post_id, const char *channel,
		     int64_t *at, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_NEXT_DUE);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s && sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC) == 0 &&
	    sqlite3_bind_text(s, 2, channel, -1, SQLITE_STATIC) == 0)
		r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*at = sqlite3_column_type(s, 0) == SQLITE_NULL
			      ? -1
			      : sqlite3_column_int64(s, 0);
	else
		rc = S_fail(st, "next due", err);
	S_done(s);
	return rc;
}

/* ---- status and retry ---------------------------------------------- */

/* ",pending,failed," for a mask; instr() in Q_LIST matches it. */
static void S_state_set(unsigned states, char *buf, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_STATES; i++) {
		if (!(states & 1u << i))
			continue;
		off += (size_t)snprintf(buf + off, n - off, ",%s",
					S_state_names[i]);
	}
	if (off > 0)
		snprintf(buf + off, n - off, ",");
}

/* Calls fn for each row 's' yields, then resets it. */
static nt_rc S_rows(struct store *st, sqlite3_stmt *s,
		    void (*fn)(void *ctx, const struct dlv *d), void *ctx,
		    struct nt_err *err)
{
	nt_rc rc = NT_OK;

	for (;;) {
		int r = sqlite3_step(s);
		struct dlv *d;

		if (r == SQLITE_DONE)
			break;
		if (r != SQLITE_ROW) {
			rc = S_fail(st, "list", err);
			break;
		}
		d = S_row(s);
		fn(ctx, d);
		dlv_free(d);
	}
	S_done(s);
	return rc;
}

nt_rc store_list(struct store *st, unsigned states, size_t limit,
		 void (*fn)(void *ctx, const struct dlv *d), void *ctx,
		 struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_LIST);
	char set[64];

	S_state_set(states, set, sizeof(set));
	if (s == NULL || sqlite3_bind_text(s, 1, set, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(
		    s, 2,
		    limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit)) {
		nt_rc rc = S_fail(st, "list", err);

		S_done(s);
		return rc;
	}
	return S_rows(st, s, fn, ctx, err);
}

nt_rc store_list_post(struct store *st, const char *post_id,
		      void (*fn)(void *ctx, const struct dlv *d), void *ctx,
		      struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_LIST_POST);

	if (s == NULL || sqlite3_bind_text(s, 1, post_id, -1, SQLITE_STATIC)) {
		nt_rc rc = S_fail(st, "list", err);

		S_done(s);
		return rc;
	}
	return S_rows(st, s, fn, ctx, err);
}

nt_rc store_waiting_channels(struct store *st,
			     void (*fn)(void *ctx, const char *channel),
			     void *ctx, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_CHANNELS);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s)
		while ((r = sqlite3_step(s)) == SQLITE_ROW)
			fn(ctx, (const char *)sqlite3_column_text(s, 0));
	if (r != SQLITE_DONE)
		rc = S_fail(st, "channels", err);
	S_done(s);
	return rc;
}

nt_rc store_fail_channel(struct store *st, const char *channel,
			 const char *error, int64_t now, size_t *n,
			 struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_ORPHAN);
	nt_rc rc = NT_OK;

	if (s == NULL || sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 2, now) ||
	    sqlite3_bind_text(s, 3, error, -1, SQLITE_STATIC) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "fail channel", err);
	else if (n)
		*n = (size_t)sqlite3_changes(st->db);
	S_done(s);
	return rc;
}

/* Runs 'q' (Q_REVIVE, Q_HURRY) on row 'id' (0: every row it takes),
 * adding to *count. */
static nt_rc S_revive(struct store *st, enum q q, int64_t id, int64_t now,
		      size_t *count, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, q);
	int b = SQLITE_OK;
	nt_rc rc = NT_OK;

	if (s && id != 0)
		b = sqlite3_bind_int64(s, 2, id);
	if (s == NULL || b || sqlite3_bind_int64(s, 1, now) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "retry", err);
	else
		*count += (size_t)sqlite3_changes(st->db);
	S_done(s);
	return rc;
}

nt_rc store_retry(struct store *st, const int64_t *ids, size_t n, int64_t now,
		  bool waiting, size_t *changed, struct nt_err *err)
{
	size_t count = 0;
	nt_rc rc = S_begin(st, "retry", err);

	if (rc)
		return rc;
	if (ids == NULL || n == 0) {
		rc = S_revive(st, Q_REVIVE, 0, now, &count, err);
		if (rc == NT_OK && waiting)
			rc = S_revive(st, Q_HURRY, 0, now, &count, err);
	}
	for (size_t i = 0; ids && i < n && rc == NT_OK; i++) {
		if (ids[i] <= 0) /* 0 would mean every row */
			continue;
		rc = S_revive(st, Q_REVIVE, ids[i], now, &count, err);
		if (rc == NT_OK && waiting)
			rc = S_revive(st, Q_HURRY, ids[i], now, &count, err);
	}
	if (rc == NT_OK)
		rc = S_commit(st, "retry", err);
	if (rc) {
		S_rollback(st);
		return rc;
	}
	if (changed)
		*changed = count;
	return NT_OK;
}

/* ---- key/value ----------------------------------------------------- */

nt_rc store_kv_get(struct store *st, const char *key, char **value,
		   struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_KV_GET);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (key == NULL)
		return nt_fail(err, NT_EINVAL, "%s: kv get: no key", st->path);
	if (s && sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) == 0)
		r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		*value = S_col_str(s, 0, false);
	else if (r == SQLITE_DONE)
		*value = NULL;
	else
		rc = S_fail(st, "kv get", err);
	S_done(s);
	return rc;
}

nt_rc store_kv_set(struct store *st, const char *key, const char *value,
		   struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, value ? Q_KV_SET : Q_KV_DEL);
	nt_rc rc = NT_OK;

	if (key == NULL)
		return nt_fail(err, NT_EINVAL, "%s: kv set: no key", st->path);
	if (s == NULL || sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) ||
	    (value && sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC)) ||
	    sqlite3_step(s) != SQLITE_DONE)
		rc = S_fail(st, "kv set", err);
	S_done(s);
	return rc;
}

/* ---- held posts ---------------------------------------------------- */

nt_rc store_held_due(struct store *st, int64_t now,
		     void (*fn)(void *ctx, const char *post_id,
				const char *path, int64_t due_at),
		     void *ctx, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_HELD_DUE);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s && sqlite3_bind_int64(s, 1, now) == 0)
		while ((r = sqlite3_step(s)) == SQLITE_ROW)
			fn(ctx, (const char *)sqlite3_column_text(s, 0),
			   (const char *)sqlite3_column_text(s, 1),
			   sqlite3_column_int64(s, 2));
	if (r != SQLITE_DONE)
		rc = S_fail(st, "held posts", err);
	S_done(s);
	return rc;
}

int64_t store_held_next(struct store *st)
{
	sqlite3_stmt *s = S_stmt(st, Q_HELD_NEXT);
	int64_t t = -1;
	struct nt_err err;

	if (s && sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			t = sqlite3_column_int64(s, 0);
	} else {
		S_fail(st, "held posts", &err);
		log_warnx("%s", err.msg);
	}
	S_done(s);
	return t;
}

nt_rc store_seen_blob(struct store *st, const char *blob,
		      void (*fn)(void *ctx, const char *post_id,
				 const char *path),
		      void *ctx, struct nt_err *err)
{
	sqlite3_stmt *s = S_stmt(st, Q_SEEN_BLOB);
	nt_rc rc = NT_OK;
	int r = SQLITE_MISUSE;

	if (s && sqlite3_bind_text(s, 1, blob, -1, SQLITE_STATIC) == 0)
		while ((r = sqlite3_step(s)) == SQLITE_ROW)
			if (sqlite3_column_type(s, 1) != SQLITE_NULL)
				fn(ctx, (const char *)sqlite3_column_text(s, 0),
				   (const char *)sqlite3_column_text(s, 1));
	if (r != SQLITE_DONE)
		rc = S_fail(st, "seen by content", err);
	S_done(s);
	return rc;
}
