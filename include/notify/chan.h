/*
 * chan.h - the delivery channels: Slack (and Slack-compatible), Matrix,
 * matrix-hookshot and SMTP.  A channel turns an alert into the exact
 * bytes its receiver gets; sending comes with the outbox.  A channel
 * knows its protocol and nothing of posts, sites or git: it sees the
 * alert model and its view only.
 */
#ifndef NOTIFY_CHAN_H
#define NOTIFY_CHAN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "notify/config.h"
#include "notify/render.h"
#include "notify/result.h"

/* One message: the exact payload and, for email, its recipient. */
struct chan_msg {
	char *body; /* owned; NUL-terminated after len bytes */
	size_t len;
	char *recipient;  /* owned; smtp only, else NULL */
	const char *type; /* static: "application/json", "message/rfc822" */
};

struct chan_msgs {
	struct chan_msg *v;
	size_t n;
};

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

struct http;
struct store;

/* What sending a chat message needs besides the message itself. */
struct chan_send_env {
	struct http *http;   /* the channel's handle (kept-alive connection) */
	struct store *store; /* matrix: the room id of an alias is cached */
	const char *secret;  /* webhook URL or access token; never logged */
};

enum chan_fate { CHAN_SENT, CHAN_TEMP, CHAN_PERM };

/* How one attempt ended. */
struct chan_outcome {
	enum chan_fate fate;
	long retry_after;    /* seconds the receiver asked for, or -1 */
	long http_status;    /* 0 when none */
	char remote_id[128]; /* Matrix event id, when sent */
	char reason[200];    /* one line for logs and status; no secret */
};

/* Sends one message (a payload chan_render() made) of delivery row
 * 'row_id' through chat channel 'ch' (slack, matrix or hookshot) and
 * classifies the answer as the receiver documents it: sent, temporary
 * (network, 429 with its Retry-After, 5xx) or permanent (a refused
 * payload, a revoked webhook, a bad token).  Matrix derives its txnId
 * from 'row_id', so a retry of the same row never posts twice. */
void chan_send(const struct chan_conf *ch, struct chan_send_env *env,
	       int64_t row_id, const char *payload, size_t len,
	       struct chan_outcome *out);

/* Checks what the configuration parser cannot know of channel 'ch': for
 * smtp, that mime accepts its from, to, list_id and list_unsubscribe.
 * Results: NT_OK, NT_ECONFIG with 'err' reading "channel 'NAME': what". */
nt_rc chan_check(const struct chan_conf *ch, struct nt_err *err);

#endif
