/*
 * matrix.c - the content of an m.room.message event: an m.notice (bots
 * must not be answered by other bots) with a plain body, HTML from the
 * html template, and an empty m.mentions so that nothing in a post can
 * ping the room.
 */
#include <string.h>

#include <stdio.h>
#include <stdlib.h>

#include "../chan_int.h"
#include "notify/http.h"
#include "notify/text.h"

/* Bytes of content we allow: the whole event must stay under 65536, and
 * the server adds its own fields around the content. */
#define MATRIX_CONTENT_MAX 60000

static json_object *S_content(const char *body, const char *html)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "msgtype",
			       json_object_new_string("m.notice"));
	json_object_object_add(o, "body", json_object_new_string(body));
	if (html) {
		json_object_object_add(
			o, "format",
			json_object_new_string("org.matrix.custom.html"));
		json_object_object_add(o, "formatted_body",
				       json_object_new_string(html));
	}
	json_object_object_add(o, "m.mentions", json_object_new_object());
	return o;
}

nt_rc chan_matrix_render(const struct chan_conf *ch, const struct chan_env *env,
			 const struct chan_item *item, struct chan_msgs *out,
			 struct nt_err *err)
{
	struct nt_buf text = NT_BUF_INIT, html = NT_BUF_INIT;
	json_object *o;
	size_t size;
	nt_rc rc;

	(void)ch;
	rc = chan_text_html(env, item, &text, &html, err);
	if (rc)
		return rc;
	o = S_content(nt_buf_str(&text), nt_buf_str(&html));
	size = strlen(json_object_to_json_string(o));
	if (size > MATRIX_CONTENT_MAX && item->digest) {
		/* a digest lists fewer posts instead (announce.c) */
		rc = nt_fail(err, NT_ETOOBIG, "digest over %d bytes",
			     MATRIX_CONTENT_MAX);
	} else if (size > MATRIX_CONTENT_MAX) {
		/* HTML cannot be cut safely: send the plain body alone, cut */
		size_t n = text_utf8_cut(text.buf, text.len,
					 MATRIX_CONTENT_MAX / 2);

		json_object_put(o);
		text.buf[n] = '\0';
		o = S_content(text.buf, NULL);
	}
	if (rc == NT_OK)
		chan_push_json(out, o);
	else
		json_object_put(o);
	nt_buf_release(&text);
	nt_buf_release(&html);
	return rc;
}

/* ---- sending ------------------------------------------------------ */

/* How long a Matrix send may take: the spec sets no client timeout. */
#define MATRIX_TOTAL_MS 20000

struct chan_sender {
	const struct chan_conf *ch;
	const char *token; /* the secret */
	struct http *http;
	const struct chan_memo *memo;
	char *memo_key; /* where the room id of the alias is kept */
};

static nt_rc S_call(struct chan_sender *s, const char *method, const char *path,
		    const char *body, size_t len, struct http_resp *resp,
		    struct nt_err *err)
{
	const char *hs = s->ch->homeserver;
	char *url = nt_xasprintf("%s%s%s", hs,
				 hs[strlen(hs) - 1] == '/' ? "" : "/", path);
	struct http_req req = {.method = method,
			       .url = url,
			       .bearer = s->token,
			       .body = body,
			       .len = len,
			       .allow_http = s->ch->allow_http,
			       .total_ms = MATRIX_TOTAL_MS};
	nt_rc rc = http_request(s->http, &req, resp, err);

	free(url);
	return rc;
}

/* errcode of a Matrix error body, or "" */
static void S_errcode(const char *body, char *out, size_t n, long *retry_ms)
{
	json_object *o = json_tokener_parse(body);
	json_object *v = NULL;

	out[0] = '\0';
	*retry_ms = -1;
	if (o && json_object_object_get_ex(o, "errcode", &v) &&
	    json_object_is_type(v, json_type_string))
		text_printable_to(out, n, json_object_get_string(v));
	if (o && json_object_object_get_ex(o, "retry_after_ms", &v) &&
	    json_object_is_type(v, json_type_int)) {
		int64_t ms = json_object_get_int64(v);

		/* a day at most: a hostile server cannot park the lane */
		*retry_ms = ms < 0 ? -1 : ms > 86400000 ? 86400000 : (long)ms;
	}
	json_object_put(o);
}

/* The outcome of a Matrix answer: errcode over status (spec, 2.5);
 * *code is the errcode ("" when none). */
static void S_classify_body(long status, const char *body, long retry_after,
			    struct chan_outcome *out, char *code, size_t n)
{
	long retry_ms;

	S_errcode(body, code, n, &retry_ms);
	chan_classify_http(status, code[0] ? code : body, retry_after, out);
	if (strcmp(code, "M_LIMIT_EXCEEDED") == 0) {
		out->fate = CHAN_TEMP;
		if (retry_ms >= 0)
			out->retry_after_ms = retry_ms;
	} else if (strcmp(code, "M_UNKNOWN_TOKEN") == 0 ||
		   strcmp(code, "M_MISSING_TOKEN") == 0 ||
		   strcmp(code, "M_FORBIDDEN") == 0 ||
		   strcmp(code, "M_NOT_FOUND") == 0 ||
		   strcmp(code, "M_TOO_LARGE") == 0 ||
		   strcmp(code, "M_BAD_JSON") == 0 ||
		   strcmp(code, "M_NOT_JSON") == 0) {
		out->fate = CHAN_PERM;
	}
	if (out->fate != CHAN_SENT && out->reason[0] == '\0')
		snprintf(out->reason, sizeof(out->reason), "http %ld %s",
			 status, code);
}

static void S_classify(const struct http_resp *r, struct chan_outcome *out,
		       char *code, size_t n)
{
	S_classify_body(r->status, r->body, r->retry_after, out, code, n);
}

/* The chan_ops form: an answer's status, body and Retry-After. */
static void S_classify_op(long status, const char *body, long retry_after,
			  struct chan_outcome *out)
{
	char code[64];

	S_classify_body(status, body, retry_after, out, code, sizeof(code));
}

/* The room id: the configured one, the engine's memo of the alias, or
 * a directory look-up (then kept in the memo). */
static char *S_room_id(struct chan_sender *s, struct chan_outcome *out)
{
	char *id, *esc, *path, code[64];
	struct http_resp resp;
	struct nt_err err = {{0}};
	json_object *o, *v = NULL;
	nt_rc rc;

	if (s->ch->room[0] == '!')
		return nt_xstrdup(s->ch->room);
	id = s->memo ? s->memo->get(s->memo->ctx, s->memo_key) : NULL;
	if (id)
		return id;
	esc = http_escape(s->ch->room);
	path = nt_xasprintf("_matrix/client/v3/directory/room/%s", esc);
	rc = S_call(s, "GET", path, NULL, 0, &resp, &err);
	free(esc);
	free(path);
	if (rc) {
		chan_transport_failed(rc, err.msg, out);
		return NULL;
	}
	if (resp.status != 200) {
		S_classify(&resp, out, code, sizeof(code));
		return NULL;
	}
	o = json_tokener_parse(resp.body);
	if (o && json_object_object_get_ex(o, "room_id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string(v)[0] == '!')
		id = nt_xstrdup(json_object_get_string(v));
	json_object_put(o);
	if (id && s->memo)
		s->memo->set(s->memo->ctx, s->memo_key, id);
	if (id == NULL)
		chan_classify_http(502, "no room_id in the answer", -1, out);
	return id;
}

static bool S_join(struct chan_sender *s, struct chan_outcome *out)
{
	char *esc = http_escape(s->ch->room);
	char *path = nt_xasprintf("_matrix/client/v3/join/%s", esc);
	struct http_resp resp;
	struct nt_err err = {{0}};
	char code[64];
	nt_rc rc = S_call(s, "POST", path, "{}", 2, &resp, &err);

	free(esc);
	free(path);
	if (rc) {
		chan_transport_failed(rc, err.msg, out);
		return false;
	}
	if (resp.status != 200) {
		S_classify(&resp, out, code, sizeof(code));
		return false;
	}
	return true;
}

/* One PUT.  *code is the answer's errcode. */
static void S_put(struct chan_sender *s, const char *room,
		  const struct chan_job *j, struct chan_outcome *out,
		  char *code, size_t n)
{
	char *esc = http_escape(room);
	/* the txnId names the delivery in every state file there is: a
	 * retry after a lost answer, even after kill -9, is a
	 * retransmission, and a new state file never reuses one the
	 * homeserver remembers */
	char *path = nt_xasprintf(
		"_matrix/client/v3/rooms/%s/send/m.room.message/notify-%s", esc,
		j->txn);
	struct http_resp resp;
	struct nt_err err = {{0}};
	json_object *o, *v = NULL;
	nt_rc rc = S_call(s, "PUT", path, j->body, j->len, &resp, &err);

	free(esc);
	free(path);
	code[0] = '\0';
	if (rc) {
		chan_transport_failed(rc, err.msg, out);
		return;
	}
	S_classify(&resp, out, code, n);
	if (out->fate != CHAN_SENT)
		return;
	o = json_tokener_parse(resp.body);
	if (o && json_object_object_get_ex(o, "event_id", &v) &&
	    json_object_is_type(v, json_type_string))
		text_printable_to(out->remote_id, sizeof(out->remote_id),
				  json_object_get_string(v));
	json_object_put(o);
}

static void S_send_one(struct chan_sender *s, struct chan_job *j)
{
	char code[64];
	char *room = S_room_id(s, &j->out);

	if (room == NULL)
		return;
	S_put(s, room, j, &j->out, code, sizeof(code));
	if (strcmp(code, "M_FORBIDDEN") == 0 && s->ch->autojoin &&
	    S_join(s, &j->out))
		S_put(s, room, j, &j->out, code, sizeof(code));
	/* the alias may name another room now, or the bot was removed:
	 * resolve it again next time */
	if ((strcmp(code, "M_FORBIDDEN") == 0 ||
	     strcmp(code, "M_NOT_FOUND") == 0) &&
	    s->ch->room[0] != '!' && s->memo)
		s->memo->set(s->memo->ctx, s->memo_key, NULL);
	free(room);
}

static nt_rc S_open(const struct chan_conf *ch, const char *secret,
		    const struct chan_memo *memo, struct chan_sender **out,
		    struct nt_err *err)
{
	struct chan_sender *s;

	if (secret == NULL || secret[0] == '\0')
		return nt_fail(err, NT_EPERM, "channel '%s': no access token",
			       ch->name);
	s = nt_xcalloc(1, sizeof(*s));
	s->ch = ch;
	s->token = secret;
	s->memo = memo;
	s->memo_key =
		nt_xasprintf("matrix.room %s %s", ch->homeserver, ch->room);
	s->http = http_create();
	*out = s;
	return NT_OK;
}

static void S_send(struct chan_sender *s, struct chan_job *jobs, size_t n,
		   chan_done_fn done, void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		S_send_one(s, &jobs[i]);
		done(ctx, &jobs[i]);
	}
}

static void S_close(struct chan_sender *s)
{
	if (s == NULL)
		return;
	http_free(s->http);
	free(s->memo_key);
	free(s);
}

static const char *S_secret_file(const struct chan_conf *ch)
{
	return ch->access_token_file;
}

const struct chan_ops chan_matrix_ops = {
	.name = "matrix",
	.secret_file = S_secret_file,
	.check = chan_check_nothing,
	.render = chan_matrix_render,
	.classify = S_classify_op,
	.interval_ms = 0,
	.batch = chan_batch_one,
	.open = S_open,
	.send = S_send,
	.close = S_close,
};
