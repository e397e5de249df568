/*
 * chan.h - the delivery channels: Slack (and Slack-compatible), Matrix,
 * matrix-hookshot and SMTP, each behind one table of operations
 * (struct chan_ops, as OpenSMTPD's queue backends): its secret, its
 * checks, its rendering, and a sender that takes a batch of deliveries
 * and tells the outcome of each as it is known.  A channel knows its
 * protocol and nothing of posts, sites, git or the outbox: it sees the
 * alert model and its view when rendering, and bytes when sending.  What
 * it must remember across processes (the room id of a Matrix alias) it
 * asks the engine to keep (struct chan_memo).
 */
#ifndef NOTIFY_CHAN_H
#define NOTIFY_CHAN_H

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "notify/config.h"
#include "notify/render.h"
#include "notify/result.h"

/* One message: the exact payload and, for email, its recipients.  An
 * e-mail body is shared by its recipients: the To: line of each goes at
 * byte to_at (mime_compose()). */
struct chan_msg {
	char *body; /* owned; NUL-terminated after len bytes */
	size_t len;
	char **rcpts; /* owned; smtp only (n_rcpts > 0), else NULL */
	size_t n_rcpts;
	int64_t to_at;	  /* smtp: where the To: line goes; else -1 */
	const char *type; /* static: "application/json", "message/rfc822" */
};

struct chan_msgs {
	struct chan_msg *v;
	size_t n;
};

struct nt_buf;

/* Appends to 'out' the bytes recipient k of 'm' gets (the whole body
 * when it has no recipient or no To: position): what --dry-run shows
 * and, byte for byte, what the sender sends.  Results: mime_compose()'s
 * (an address the message cannot carry). */
nt_rc chan_compose(const struct chan_msg *m, size_t k, struct nt_buf *out,
		   struct nt_err *err);

/* Frees every message and resets *m to empty. */
void chan_msgs_clear(struct chan_msgs *m);

/* What rendering needs besides the channel and the alert. */
struct chan_env {
	struct render *render; /* borrowed */
	const char *locale;    /* template locale, see render_locale() */
	time_t now;	       /* Date of emails */
};

/* What to render: one post (alert and its view) or a digest (its view,
 * alert NULL).  Borrowed. */
struct chan_item {
	json_object *alert;
	json_object *view;
	bool digest;
};

/* Appends to 'out' the messages channel 'ch' would send for 'item'.
 * Every limit of the receiver is respected whatever the post holds (Slack
 * Block Kit lengths, Matrix event size).  On failure 'out' is as before.
 * Results: the template's (render_view()), NT_EINVAL (an address or
 * header the message cannot carry). */
nt_rc chan_render(const struct chan_conf *ch, const struct chan_env *env,
		  const struct chan_item *item, struct chan_msgs *out,
		  struct nt_err *err);

enum chan_fate { CHAN_SENT, CHAN_TEMP, CHAN_PERM };

/* How one attempt ended. */
struct chan_outcome {
	enum chan_fate fate;
	long retry_after_ms; /* what the receiver asked to wait, or -1 */
	long status;	     /* HTTP status or SMTP reply code; 0: none */
	char remote_id[128]; /* Matrix event id, SMTP queue reply */
	char reason[200];    /* one line for logs and status; no secret;
			      * empty when sent */
};

/* One delivery handed to a sender.  Borrowed by the sender for the
 * call; 'out' is the sender's to fill. */
struct chan_job {
	int64_t row_id;
	const char *txn;       /* an idempotency key no other delivery of
				* any state file shares (Matrix txnId) */
	const char *recipient; /* smtp: one mailbox; else NULL */
	const char *body;      /* the stored body, shared by recipients */
	size_t len;
	int64_t to_at; /* smtp: where the To: line goes; -1: whole */
	/* Set (SIGTERM): a sender of many jobs starts no other message;
	 * the ones it leaves are temporary failures due at once.  May be
	 * NULL. */
	volatile sig_atomic_t *stop;
	struct chan_outcome out;
};

/* Told once per job, as soon as its outcome is known, while the batch
 * may still be running (so that it is recorded before the next send). */
typedef void (*chan_done_fn)(void *ctx, struct chan_job *job);

/* What a sender may keep across processes, kept by the engine: get
 * returns an owned string or NULL; set with a NULL value forgets.  Keys
 * are the channel's own. */
struct chan_memo {
	char *(*get)(void *ctx, const char *key);
	void (*set)(void *ctx, const char *key, const char *value);
	void *ctx;
};

struct chan_sender;

/* One channel type.  Every member is set. */
struct chan_ops {
	const char *name; /* "slack", "matrix", "hookshot", "smtp" */
	/* The *_file key of 'ch' holding its secret, or NULL. */
	const char *(*secret_file)(const struct chan_conf *ch);
	/* What the configuration parser cannot know; as chan_check(). */
	nt_rc (*check)(const struct chan_conf *ch, struct nt_err *err);
	/* As chan_render(). */
	nt_rc (*render)(const struct chan_conf *ch, const struct chan_env *env,
			const struct chan_item *item, struct chan_msgs *out,
			struct nt_err *err);
	/* The outcome of an answer as the receiver documents it: an HTTP
	 * status, its body (untrusted, NUL-terminated, cut at
	 * HTTP_BODY_MAX) and Retry-After in seconds (-1: none); for SMTP
	 * a final reply code and its text.  Fills every field of 'out'
	 * it sets; the reason is printable UTF-8. */
	void (*classify)(long status, const char *body, long retry_after,
			 struct chan_outcome *out);
	/* Milliseconds between two sends the receiver asks for (Slack:
	 * about one message a second per webhook); 0: none. */
	long interval_ms;
	/* Jobs one send() takes at most: 1 for a chat message, many for an
	 * SMTP channel's sessions. */
	size_t (*batch)(const struct chan_conf *ch);
	/* A sender for 'ch' with its secret (borrowed, may be NULL when
	 * the channel has none; valid until close) and the engine's memo
	 * (borrowed, likewise).  Results: NT_OK, NT_EPERM (unusable). */
	nt_rc (*open)(const struct chan_conf *ch, const char *secret,
		      const struct chan_memo *memo, struct chan_sender **out,
		      struct nt_err *err);
	/* Sends jobs[0..n) and calls done() once for each, in any order;
	 * every job is done when it returns.  A sender is used by one
	 * thread at a time; two senders may run in two threads. */
	void (*send)(struct chan_sender *s, struct chan_job *jobs, size_t n,
		     chan_done_fn done, void *ctx);
	void (*close)(struct chan_sender *s);
};

/* ops->classify of type 't', 'out' zeroed first: for tests and the
 * fuzzer of receivers' answers. */
void chan_classify(enum chan_type t, long status, const char *body,
		   long retry_after, struct chan_outcome *out);

/* The operations of type 't'; never NULL for a valid type. */
const struct chan_ops *chan_ops(enum chan_type t);

/* Checks what the configuration parser cannot know of channel 'ch': for
 * smtp, that mime accepts its from, to, list_id and list_unsubscribe.
 * Results: NT_OK, NT_ECONFIG with 'err' reading "channel 'NAME': what". */
nt_rc chan_check(const struct chan_conf *ch, struct nt_err *err);

#endif
