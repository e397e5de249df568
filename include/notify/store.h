/*
 * store.h - the outbox (DESIGN.md, step 7): one SQLite file where work
 * waits, shared by the daemon (`notify watch`) and the command line.
 *
 * Invariants:
 * - A post is either not seen, or seen with all its delivery rows
 *   committed: store_enqueue() writes both in one transaction.
 * - A delivery row is unique per (post, channel, recipient), so enqueueing
 *   a post twice adds nothing.
 * - A row is sent by at most one process at a time: store_claim() moves it
 *   to DLV_SENDING under a lease in one write transaction, and a row whose
 *   sender died (kill -9) is claimable again once its lease has run out.
 * - Row ids are never reused (AUTOINCREMENT), and each file has a random
 *   identity (store_id()), so the pair is an idempotency key no other
 *   row of any state file shares (the Matrix txnId).
 * - What the rows of one post and channel share (an e-mail to many
 *   recipients) is stored once, as a body; a row names its body.
 * - A row being sent carries its sender's claim token: an outcome from a
 *   sender whose lease ran out (the row claimed again since) changes
 *   nothing.
 *
 * The file is created with mode 0600 and opened in WAL mode with
 * synchronous=FULL, so a commit survives power loss as well as kill -9.
 * Nothing here sees a secret: rows hold rendered payloads and addresses.
 *
 * Errors: every failure fills 'err' with one line naming the database
 * file, what was being done and SQLite's message.  Results: NT_ENOENT (the
 * folder of the file does not exist), NT_ESTATE (unreadable, not a
 * database, corrupt, disk full), NT_ECONFIG (written by a newer notify),
 * NT_ETEMP (another process held the database past the busy timeout: retry
 * later), NT_EINVAL (a bad argument).  A failed call changes nothing.
 *
 * Times are unix seconds, always passed in by the caller ('now'), so that
 * tests need no clock.  A struct store is not thread-safe; two processes,
 * or two handles in one process, may share one file.
 */
#ifndef NOTIFY_STORE_H
#define NOTIFY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/result.h"

struct store;

/* Schema version this build writes (PRAGMA user_version).  An older file
 * is migrated forward on open; a newer one is refused. */
#define STORE_SCHEMA_VERSION 3

/* Milliseconds a call waits for another process's write to finish. */
#define STORE_BUSY_TIMEOUT_MS 5000

enum dlv_state { DLV_PENDING, DLV_SENDING, DLV_SENT, DLV_FAILED };

/* One delivery to enqueue; every pointer is borrowed for the call.
 * Consecutive rows of an item with the same payload pointer, length and
 * to_at share one stored body. */
struct dlv_new {
	const char *channel;   /* channel name, never NULL */
	const char *recipient; /* NULL for chat channels; smtp: the address */
	const char *payload;   /* exact bytes to send (may hold NULs) */
	size_t len;
	const char *content_type; /* may be NULL */
	int64_t to_at; /* e-mail: where the recipient's To: line goes in
			* the payload; -1: the payload is whole */
};

/* One row as read.  Owned by whoever got it from a claim (free with
 * dlv_free()); borrowed in store_list()'s callback.  payload is read
 * only by store_claim() and store_claim_id() (NUL-terminated after len
 * bytes), else NULL: read the body with store_body().  recipient,
 * content_type, last_error and remote_id may be NULL.  Times not yet
 * reached are 0.  For a failed row, next_at is when it failed. */
struct dlv {
	int64_t id;
	char *post_id;
	char *channel;
	char *recipient;
	int64_t body_id;
	int64_t to_at; /* of the body; -1: whole */
	int64_t claim; /* the claim token while being sent */
	char *payload;
	size_t len;
	char *content_type;
	enum dlv_state state;
	int attempts; /* claims so far, this one included */
	int64_t created_at, next_at, lease_until, sent_at;
	char *last_error;
	char *remote_id;
};

/* Opens the outbox at 'path', creating it (mode 0600, whatever the
 * umask) when no file is there, and migrating an older schema forward
 * (the steps in one transaction).  A new outbox appears whole, tables
 * and all, or not at all, so an existing file that is not an outbox is
 * never taken for a new install: an empty file, or a database without
 * notify's tables, is refused ("not an outbox"), as is garbage.  On
 * NT_OK *out is owned: close it with store_close().  On failure *out is
 * untouched.  Results: NT_ENOENT, NT_ESTATE (not an outbox; a garbage or
 * corrupt file is refused with "file is not a database" or "database
 * disk image is malformed"), NT_ECONFIG (schema newer than
 * STORE_SCHEMA_VERSION), NT_ETEMP, NT_EINVAL ('path' NULL or empty). */
nt_rc store_open(const char *path, struct store **out, struct nt_err *err);

/* Finalizes the cached statements and closes the file; the last handle
 * of a file also checkpoints and removes the WAL.  store_close(NULL) does
 * nothing. */
void store_close(struct store *st);

/* Path as given to store_open(); borrowed, valid until store_close(). */
const char *store_path(const struct store *st);

/* The file's random identity, 24 hex digits made when the file was
 * created (or migrated to schema 3); borrowed, valid until
 * store_close(). */
const char *store_id(const struct store *st);

/* Commits of this handle from now on are synced at checkpoints only
 * (synchronous=NORMAL): they survive kill -9 as before, but a power loss
 * may roll back the last ones.  For a sender's outcomes, where a lost
 * one costs one duplicate message and a synced one costs an fsync per
 * message. */
nt_rc store_relax_sync(struct store *st, struct nt_err *err);

/* In one transaction: marks post 'post_id' seen (at 'now', if it was not
 * already) and inserts its n rows (n may be 0), each pending and due at
 * 'now'.  A row whose (post, channel, recipient) already exists is left
 * as it is, unless 'force': then it is enqueued afresh (pending, attempts
 * 0, due at 'now', a new id so that a channel's idempotency key changes)
 * -- except a row being sent right now under a live lease, which is left
 * to its sender.  *added (may be NULL) is the number of rows inserted or
 * enqueued afresh.  Results: NT_EINVAL (post_id or a channel NULL), or a
 * database error, in which case nothing was written. */
nt_rc store_enqueue(struct store *st, const char *post_id,
		    const struct dlv_new *rows, size_t n, int64_t now,
		    bool force, size_t *added, struct nt_err *err);

/* One post (or digest) of a batch: its rows, and for a digest the posts
 * it announces (marked seen with it).  Every pointer is borrowed. */
struct store_item {
	const char *post_id; /* the post's id, or the digest's key */
	const struct dlv_new *rows;
	size_t n;
	const char *const *covered;
	size_t n_covered;
};

/* A post held until its date (a site with future: false). */
struct store_hold {
	const char *post_id;
	const char *path; /* where to read it again when due */
	int64_t due_at;
};

/* A post marked seen, with (when known) where it was and its contents'
 * git blob id, so that the same contents under another name later are
 * known as that post renamed (store_seen_blob()). */
struct store_seen {
	const char *post_id;
	const char *path; /* may be NULL */
	const char *blob; /* 40 hex digits; may be NULL */
};

/* What one batch of new posts changes, all of it in one transaction, so
 * that a crash leaves either the state before or the state after:
 * - items: enqueued as by store_enqueue();
 * - seen: posts marked seen without rows (a baseline, posts every
 *   filter left out), or given their path and blob (announced ones);
 * - holds: posts held (a held post already there gets the new due time);
 *   unholds: holds dropped (the file is gone);
 * - kv_key/kv_value: one key set with it (the last processed commit);
 *   kv_key NULL: none.  With kv_check, the batch is refused (NT_ETEMP,
 *   nothing written) unless the key still holds kv_old (NULL: absent):
 *   a scan that read an older state than another process wrote since
 *   must not commit, it would announce again what the other did.
 * Any post marked seen, by an item or by 'seen', stops being held. */
struct store_batch {
	const struct store_item *items;
	size_t n_items;
	const struct store_seen *seen;
	size_t n_seen;
	const struct store_hold *holds;
	size_t n_holds;
	const char *const *unholds;
	size_t n_unholds;
	const char *kv_key, *kv_value;
	bool kv_check;
	const char *kv_old;
};

/* Writes batch 'b' in one transaction (see struct store_batch); 'force'
 * as for store_enqueue().  added[i] (added may be NULL, else n_items
 * long) is the number of rows item i inserted or enqueued afresh.
 * Results as store_enqueue(); on failure nothing was written. */
nt_rc store_commit_batch(struct store *st, const struct store_batch *b,
			 int64_t now, bool force, size_t *added,
			 struct nt_err *err);

/* Calls fn for each seen post whose contents had git blob id 'blob' and
 * whose path is known, first seen first.  The strings are borrowed for
 * the call; fn must not use 'st'. */
nt_rc store_seen_blob(struct store *st, const char *blob,
		      void (*fn)(void *ctx, const char *post_id,
				 const char *path),
		      void *ctx, struct nt_err *err);

/* Calls fn for each post held with due_at <= now, earliest first.  The
 * strings are borrowed for the call; fn must not use 'st'. */
nt_rc store_held_due(struct store *st, int64_t now,
		     void (*fn)(void *ctx, const char *post_id,
				const char *path, int64_t due_at),
		     void *ctx, struct nt_err *err);

/* The earliest due_at of a held post, or -1 when none is held (or the
 * database cannot be read, which is logged). */
int64_t store_held_next(struct store *st);

/* Whether 'post_id' was seen, for a caller that must not take a read
 * error for "not seen" (the watcher: a post taken for new is announced).
 * On NT_OK *seen is set; on failure it is untouched.  Results: NT_EINVAL
 * (post_id NULL), or a database error (NT_ESTATE, NT_ETEMP...). */
nt_rc store_seen_get(struct store *st, const char *post_id, bool *seen,
		     struct nt_err *err);

/* Counts the delivery rows of 'post_id': all of them, the sent ones and
 * the failed ones (any pointer may be NULL).  A post that is delivered
 * has n_rows > 0 and n_sent == n_rows. */
nt_rc store_post_state(struct store *st, const char *post_id, size_t *n_rows,
		       size_t *n_sent, size_t *n_failed, struct nt_err *err);

/* What a lane claims: the rows of one channel, of every post (n_posts
 * 0) or of the posts named.  Borrowed. */
struct store_lane {
	const char *channel;
	const char *const *posts;
	size_t n_posts;
};

/* Claims up to 'max' due rows of 'lane', those that have waited longest
 * first (per post, in the order given): pending rows whose time has
 * come, and rows whose sender's lease ran out (it died).  In one write
 * transaction each becomes DLV_SENDING with lease_until = now + lease,
 * attempts + 1 and a claim token of this call, so two processes never
 * claim the same row.  Cost: O(log n) a row (partial indexes).  On NT_OK
 * out[0..*n) are owned (dlv_free() each; payload NULL, see
 * store_body()); on failure nothing was claimed and *n is untouched.
 * NT_EINVAL: no channel or a bad lease. */
nt_rc store_claim_batch(struct store *st, const struct store_lane *lane,
			int64_t now, int64_t lease, size_t max,
			struct dlv **out, size_t *n, struct nt_err *err);

/* The payload of body 'body_id': on NT_OK *payload is owned (free(3)),
 * NUL-terminated after *len bytes.  NT_ESTATE when there is no such body. */
nt_rc store_body(struct store *st, int64_t body_id, char **payload, size_t *len,
		 struct nt_err *err);

/* One claimed row of 'channel' (NULL: any channel), with its payload: the
 * single-row form of store_claim_batch(), for tests and tools.  *out is
 * NULL when nothing is due; on failure it is untouched. */
nt_rc store_claim(struct store *st, const char *channel, int64_t now,
		  int64_t lease, struct dlv **out, struct nt_err *err);

/* Same as store_claim() for row 'id' only: *out is NULL when that row
 * does not exist or is not due at 'now'. */
nt_rc store_claim_id(struct store *st, int64_t id, int64_t now, int64_t lease,
		     struct dlv **out, struct nt_err *err);

/* Extends the lease of rows[0..n) (claimed by this process, borrowed) to
 * 'until', in one transaction: a send that outlasts the lease keeps its
 * rows.  A row no longer held by its claim is left alone. */
nt_rc store_renew(struct store *st, const struct dlv *const *rows, size_t n,
		  int64_t until, struct nt_err *err);

/* The outcome of a claimed row, for store_record(): DLV_SENT (text: the
 * receiver's id of the message, may be NULL), DLV_PENDING (a retry due
 * at 'at'; text: why) or DLV_FAILED (for good; text: why). */
struct store_outcome {
	int64_t id, claim; /* the row and its claim token (dlv.claim) */
	enum dlv_state state;
	int64_t at; /* sent: when; pending: next attempt; failed: when */
	const char *text;
};

/* Writes v[0..n) in one transaction.  An outcome whose row is no longer
 * held by its claim changes nothing (another process has the row now).
 * NT_EINVAL for a row that does not exist or an outcome DLV_SENDING. */
nt_rc store_record(struct store *st, const struct store_outcome *v, size_t n,
		   struct nt_err *err);

/* The outcome of a claimed row, whoever holds it (claim token not
 * checked): store_record() for one row, for tests and tools.  Each
 * applies only to a row in DLV_SENDING; NT_EINVAL when no row 'id'
 * exists.
 * - sent: remote_id (may be NULL) is the receiver's id of the message.
 * - retry: pending again, due at next_at; 'error' is kept as last_error.
 * - failed: for good (store_retry() revives it); 'error' is kept. */
nt_rc store_mark_sent(struct store *st, int64_t id, const char *remote_id,
		      int64_t now, struct nt_err *err);
nt_rc store_mark_retry(struct store *st, int64_t id, int64_t next_at,
		       const char *error, struct nt_err *err);
nt_rc store_mark_failed(struct store *st, int64_t id, const char *error,
			int64_t now, struct nt_err *err);

/* *at = the earliest time a row of 'post_id' (NULL: any post) on
 * 'channel' (NULL: any channel) becomes claimable -- next_at of a
 * pending row, the end of the lease of a row being sent -- or -1 when no
 * such row waits.  On failure *at is untouched. */
nt_rc store_next_due(struct store *st, const char *post_id, const char *channel,
		     int64_t *at, struct nt_err *err);

/* Calls fn for each row whose state is in 'states' (a mask of 1u <<
 * DLV_PENDING ...), newest first, at most 'limit' rows (0: no limit).
 * The row is borrowed for the call; fn must not use 'st'. */
nt_rc store_list(struct store *st, unsigned states, size_t limit,
		 void (*fn)(void *ctx, const struct dlv *d), void *ctx,
		 struct nt_err *err);

/* Calls fn for each channel that has rows not done (pending or being
 * sent).  The name is borrowed for the call; fn must not use 'st'. */
nt_rc store_waiting_channels(struct store *st,
			     void (*fn)(void *ctx, const char *channel),
			     void *ctx, struct nt_err *err);

/* The pending rows of 'channel' fail for good with 'error' (a channel
 * gone from the configuration: nothing would ever send them); *n (may
 * be NULL) is how many.  A row being sent is left to its sender. */
nt_rc store_fail_channel(struct store *st, const char *channel,
			 const char *error, int64_t now, size_t *n,
			 struct nt_err *err);

/* Calls fn for every row of 'post_id', by channel then id.  The row is
 * borrowed for the call; fn must not use 'st'. */
nt_rc store_list_post(struct store *st, const char *post_id,
		      void (*fn)(void *ctx, const struct dlv *d), void *ctx,
		      struct nt_err *err);

/* Puts failed rows back in the queue: pending, attempts 0, due at 'now'
 * and counted from it for delivery.max_age; with 'waiting', pending rows
 * due later are made due at 'now' too.  ids[0..n) names them (ids NULL
 * or n 0: every such row); an id that does not exist or is in another
 * state is skipped.  *changed (may be NULL) is the number of rows
 * changed.  One transaction. */
nt_rc store_retry(struct store *st, const int64_t *ids, size_t n, int64_t now,
		  bool waiting, size_t *changed, struct nt_err *err);

/* A small key/value table (the Matrix room id of an alias, the last
 * processed commit).  On NT_OK *value is owned (free(3)), NULL when 'key'
 * is absent; on failure it is untouched.  store_kv_set() replaces the
 * value; a NULL 'value' removes the key. */
nt_rc store_kv_get(struct store *st, const char *key, char **value,
		   struct nt_err *err);
nt_rc store_kv_set(struct store *st, const char *key, const char *value,
		   struct nt_err *err);

/* Frees 'd' and everything it owns; dlv_free(NULL) does nothing. */
void dlv_free(struct dlv *d);

/* Static name of 's' ("pending", "sending", "sent", "failed"); "?" for
 * anything else.  Never NULL. */
const char *dlv_state_name(enum dlv_state s);

#endif
