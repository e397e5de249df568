/*
 * cmd_status.c - `notify status [--json]` (the outbox: what waits, what
 * failed, what went lately) and `notify retry [ID...]` (failed
 * deliveries back to the queue).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"
#include "notify/log.h"
#include "notify/store.h"
#include "notify/text.h"

/* Rows shown per state: enough to see a problem, not a log. */
#define STATUS_ROWS 50

static nt_rc S_open(const struct cli_ctx *ctx, struct store **st,
		    struct nt_err *err)
{
	const char *path = config_state(ctx->cfg);

	if (path == NULL)
		return nt_fail(err, NT_ECONFIG, "%s: 'state' is not set",
			       config_path(ctx->cfg));
	return store_open(path, st, err);
}

static void S_when(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", localtime_r(&tt, &tm));
}

/* What the time of a row is: a failure's is when it gave up. */
static const char *S_when_label(enum dlv_state state)
{
	switch (state) {
	case DLV_SENT:
		return "sent";
	case DLV_FAILED:
		return "failed";
	default:
		return "next";
	}
}

/* Post ids come from file names and errors from peers: untrusted, so
 * shown with their controls replaced (text_printable()). */
static void S_human(void *ctx, const struct dlv *d)
{
	char *post = text_printable(d->post_id);
	char *chan = text_printable(d->channel);
	char *rcpt = text_printable(d->recipient);
	char *why = text_printable(d->last_error);
	char when[32];

	(void)ctx;
	S_when(d->state == DLV_SENT ? d->sent_at : d->next_at, when,
	       sizeof(when));
	printf("%6" PRId64 " %-8s %-12s %s%s%s attempts=%d %s %s\n", d->id,
	       dlv_state_name(d->state), chan, post,
	       rcpt && rcpt[0] ? " to " : "", rcpt ? rcpt : "", d->attempts,
	       S_when_label(d->state), when);
	if (why && why[0] && d->state != DLV_SENT)
		printf("       last error: %s\n", why);
	free(post);
	free(chan);
	free(rcpt);
	free(why);
}

/* Adds string 's' as 'key' of 'o' when not NULL, made valid UTF-8: JSON
 * escapes controls, but bytes that are not UTF-8 would make the whole
 * output invalid. */
static void S_json_str(json_object *o, const char *key, const char *s)
{
	char *v = text_utf8_scrub(s);

	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
	free(v);
}

static void S_json(void *ctx, const struct dlv *d)
{
	json_object *arr = ctx, *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(d->id));
	S_json_str(o, "post", d->post_id);
	S_json_str(o, "channel", d->channel);
	if (d->recipient && d->recipient[0])
		S_json_str(o, "recipient", d->recipient);
	json_object_object_add(
		o, "state", json_object_new_string(dlv_state_name(d->state)));
	json_object_object_add(o, "attempts", json_object_new_int(d->attempts));
	json_object_object_add(o, "created_at",
			       json_object_new_int64(d->created_at));
	json_object_object_add(o, "next_at", json_object_new_int64(d->next_at));
	json_object_object_add(o, "sent_at", json_object_new_int64(d->sent_at));
	S_json_str(o, "last_error", d->last_error);
	S_json_str(o, "remote_id", d->remote_id);
	json_object_array_add(arr, o);
}

int cmd_status(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const unsigned waiting = 1u << DLV_PENDING | 1u << DLV_SENDING;
	struct store *st = NULL;
	struct nt_err err = {{0}};
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	nt_rc rc;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: notify status [--json]\n");
		return EX_USAGE;
	}
	rc = S_open(ctx, &st, &err);
	if (rc == NT_OK && json) {
		json_object *arr = json_object_new_array();

		rc = store_list(st, waiting | 1u << DLV_FAILED | 1u << DLV_SENT,
				STATUS_ROWS * 3, S_json, arr, &err);
		if (rc == NT_OK)
			printf("%s\n", json_object_to_json_string_ext(
					       arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
	} else if (rc == NT_OK) {
		printf("waiting:\n");
		rc = store_list(st, waiting, STATUS_ROWS, S_human, NULL, &err);
		if (rc == NT_OK) {
			printf("failed:\n");
			rc = store_list(st, 1u << DLV_FAILED, STATUS_ROWS,
					S_human, NULL, &err);
		}
		if (rc == NT_OK) {
			printf("recently sent:\n");
			rc = store_list(st, 1u << DLV_SENT, 10, S_human, NULL,
					&err);
		}
	}
	store_close(st);
	if (rc)
		log_warnx("%s", err.msg);
	return cli_exit_code(rc);
}

/* `retry [--now] [ID...]`: failed rows queued again; with --now,
 * waiting rows are made due now too. */
int cmd_retry(const struct cli_ctx *ctx, int argc, char **argv)
{
	int64_t *ids = nt_xcalloc((size_t)argc, sizeof(*ids));
	struct store *st = NULL;
	struct nt_err err = {{0}};
	size_t changed = 0, n = 0;
	bool now = false;
	nt_rc rc = NT_OK;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--now") == 0) {
			now = true;
			continue;
		}
		ids[n] = strtoll(argv[i], &end, 10);
		if (*end || ids[n] <= 0) {
			fprintf(stderr,
				"usage: notify retry [--now] [ID...]\n");
			free(ids);
			return EX_USAGE;
		}
		n++;
	}
	rc = S_open(ctx, &st, &err);
	if (rc == NT_OK)
		rc = store_retry(st, n ? ids : NULL, n, (int64_t)time(NULL),
				 now, &changed, &err);
	store_close(st);
	free(ids);
	if (rc) {
		log_warnx("%s", err.msg);
		return cli_exit_code(rc);
	}
	printf("%zu deliveries queued again\n", changed);
	return EX_OK;
}
