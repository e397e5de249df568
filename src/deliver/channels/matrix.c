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
#include "notify/store.h"
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
	nt_rc rc;

	(void)ch;
	rc = chan_text_html(env, item, &text, &html, err);
	if (rc)
		return rc;
	o = S_content(nt_buf_str(&text), nt_buf_str(&html));
	if (strlen(json_object_to_json_string(o)) > MATRIX_CONTENT_MAX) {
		/* HTML cannot be cut safely: send the plain body alone, cut */
		size_t n = text_utf8_cut(text.buf, text.len,
					 MATRIX_CONTENT_MAX / 2);

		json_object_put(o);
		text.buf[n] = '\0';
		o = S_content(text.buf, NULL);
	}
	chan_push_json(out, o);
	nt_buf_release(&text);
	nt_buf_release(&html);
	return NT_OK;
}

/* ---- sending ------------------------------------------------------ */

/* How long a Matrix send may take: the spec sets no client timeout. */
#define MATRIX_TOTAL_MS 20000

static nt_rc S_call(const struct chan_conf *ch, struct chan_send_env *env,
		    const char *method, const char *path, const char *body,
		    size_t len, struct http_resp *resp, struct nt_err *err)
{
	char *url = nt_xasprintf(
		"%s%s%s", ch->homeserver,
		ch->homeserver[strlen(ch->homeserver) - 1] == '/' ? "" : "/",
		path);
	struct http_req req = {.method = method,
			       .url = url,
			       .bearer = env->secret,
			       .body = body,
			       .len = len,
			       .allow_http = ch->allow_http,
			       .total_ms = MATRIX_TOTAL_MS};
	nt_rc rc = http_request(env->http, &req, resp, err);

	free(url);
	return rc;
}

/* errcode of a Matrix error body, or "" */
static void S_errcode(const struct http_resp *r, char *out, size_t n,
		      long *retry_ms)
{
	json_object *o = json_tokener_parse(r->body);
	json_object *v = NULL;

	out[0] = '\0';
	*retry_ms = -1;
	if (o && json_object_object_get_ex(o, "errcode", &v))
		text_printable_to(out, n, json_object_get_string(v));
	if (o && json_object_object_get_ex(o, "retry_after_ms", &v))
		*retry_ms = (long)json_object_get_int64(v);
	json_object_put(o);
}

/* The outcome of a Matrix answer: errcode over status (spec, 2.5). */
static void S_classify(const struct http_resp *r, struct chan_outcome *out)
{
	char code[64];
	long retry_ms;

	S_errcode(r, code, sizeof(code), &retry_ms);
	chan_classify_http(r->status, code[0] ? code : r->body, r->retry_after,
			   out);
	if (strcmp(code, "M_LIMIT_EXCEEDED") == 0) {
		out->fate = CHAN_TEMP;
		if (out->retry_after < 0 && retry_ms >= 0)
			out->retry_after = (retry_ms + 999) / 1000;
	} else if (strcmp(code, "M_UNKNOWN_TOKEN") == 0 ||
		   strcmp(code, "M_MISSING_TOKEN") == 0 ||
		   strcmp(code, "M_FORBIDDEN") == 0 ||
		   strcmp(code, "M_NOT_FOUND") == 0 ||
		   strcmp(code, "M_TOO_LARGE") == 0 ||
		   strcmp(code, "M_BAD_JSON") == 0 ||
		   strcmp(code, "M_NOT_JSON") == 0) {
		out->fate = CHAN_PERM;
	}
}

/* The room id: the configured one, the cached resolution of the alias,
 * or a directory look-up (cached, so done once). */
static char *S_room_id(const struct chan_conf *ch, struct chan_send_env *env,
		       struct chan_outcome *out)
{
	char *key = nt_xasprintf("matrix.room %s %s", ch->homeserver, ch->room);
	char *id = NULL, *esc, *path;
	struct http_resp resp;
	struct nt_err err = {{0}};
	json_object *o, *v = NULL;
	nt_rc rc;

	if (ch->room[0] == '!') {
		free(key);
		return nt_xstrdup(ch->room);
	}
	if (env->store && store_kv_get(env->store, key, &id, &err) == NT_OK &&
	    id) {
		free(key);
		return id;
	}
	esc = http_escape(ch->room);
	path = nt_xasprintf("_matrix/client/v3/directory/room/%s", esc);
	rc = S_call(ch, env, "GET", path, NULL, 0, &resp, &err);
	free(esc);
	free(path);
	if (rc) {
		chan_transport_failed(rc, err.msg, out);
	} else if (resp.status != 200) {
		S_classify(&resp, out);
	} else {
		o = json_tokener_parse(resp.body);
		if (o && json_object_object_get_ex(o, "room_id", &v) &&
		    json_object_is_type(v, json_type_string))
			id = nt_xstrdup(json_object_get_string(v));
		json_object_put(o);
		if (id && env->store)
			store_kv_set(env->store, key, id, &err);
		if (id == NULL)
			chan_classify_http(502, "no room_id in the answer", -1,
					   out);
	}
	free(key);
	return id;
}

static bool S_join(const struct chan_conf *ch, struct chan_send_env *env,
		   struct chan_outcome *out)
{
	char *esc = http_escape(ch->room);
	char *path = nt_xasprintf("_matrix/client/v3/join/%s", esc);
	struct http_resp resp;
	struct nt_err err = {{0}};
	nt_rc rc = S_call(ch, env, "POST", path, "{}", 2, &resp, &err);

	free(esc);
	free(path);
	if (rc) {
		chan_transport_failed(rc, err.msg, out);
		return false;
	}
	if (resp.status != 200) {
		S_classify(&resp, out);
		return false;
	}
	return true;
}

/* One PUT; true when it should be tried again after joining. */
static bool S_put(const struct chan_conf *ch, struct chan_send_env *env,
		  const char *room, int64_t row_id, const char *payload,
		  size_t len, struct chan_outcome *out)
{
	char *esc = http_escape(room);
	/* txnId from the row id: a retry after a lost answer, even after
	 * kill -9, is a retransmission, not a second message */
	char *path = nt_xasprintf(
		"_matrix/client/v3/rooms/%s/send/m.room.message/notify-%lld",
		esc, (long long)row_id);
	struct http_resp resp;
	struct nt_err err = {{0}};
	json_object *o, *v = NULL;
	nt_rc rc = S_call(ch, env, "PUT", path, payload, len, &resp, &err);

	free(esc);
	free(path);
	if (rc) {
		chan_transport_failed(rc, err.msg, out);
		return false;
	}
	S_classify(&resp, out);
	if (out->fate == CHAN_SENT) {
		o = json_tokener_parse(resp.body);
		if (o && json_object_object_get_ex(o, "event_id", &v))
			snprintf(out->remote_id, sizeof(out->remote_id), "%s",
				 json_object_get_string(v));
		json_object_put(o);
	}
	return resp.status == 403 && strstr(resp.body, "M_FORBIDDEN");
}

void chan_matrix_send(const struct chan_conf *ch, struct chan_send_env *env,
		      int64_t row_id, const char *payload, size_t len,
		      struct chan_outcome *out)
{
	char *room = S_room_id(ch, env, out);

	if (room == NULL)
		return;
	if (S_put(ch, env, room, row_id, payload, len, out) && ch->autojoin &&
	    S_join(ch, env, out))
		S_put(ch, env, room, row_id, payload, len, out);
	free(room);
}
