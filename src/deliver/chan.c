#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_int.h"
#include "notify/mime.h"
#include "notify/text.h"

static const chan_render_fn S_render[] = {
	[CHAN_SLACK] = chan_slack_render,
	[CHAN_MATRIX] = chan_matrix_render,
	[CHAN_HOOKSHOT] = chan_hookshot_render,
	[CHAN_SMTP] = chan_smtp_render,
};

nt_rc chan_render(const struct chan_conf *ch, const struct chan_env *env,
		  const struct chan_item *item, struct chan_msgs *out,
		  struct nt_err *err)
{
	if ((unsigned)ch->type >= sizeof(S_render) / sizeof(*S_render))
		return nt_fail(err, NT_EINVAL, "unknown channel type");
	return S_render[ch->type](ch, env, item, out, err);
}

nt_rc chan_text_html(const struct chan_env *env, const struct chan_item *item,
		     struct nt_buf *text, struct nt_buf *html,
		     struct nt_err *err)
{
	nt_rc rc = chan_template(env, item, RENDER_TEXT, text, err);

	if (rc == NT_OK)
		rc = chan_template(env, item, RENDER_HTML, html, err);
	if (rc)
		nt_buf_release(text);
	return rc;
}

void chan_msgs_clear(struct chan_msgs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].body);
		free(m->v[i].recipient);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

void chan_push(struct chan_msgs *out, const char *body, size_t len,
	       const char *recipient, const char *type)
{
	struct chan_msg *m;

	out->v = nt_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	m = &out->v[out->n++];
	m->body = nt_xstrndup(body, len);
	m->len = len;
	m->recipient = recipient ? nt_xstrdup(recipient) : NULL;
	m->type = type;
}

void chan_push_json(struct chan_msgs *out, json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&len);

	chan_push(out, s, len, NULL, "application/json");
	json_object_put(o);
}

const char *chan_str(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

nt_rc chan_template(const struct chan_env *env, const struct chan_item *item,
		    enum render_fmt fmt, struct nt_buf *b, struct nt_err *err)
{
	nt_rc rc = render_view(env->render, env->locale, fmt, item->digest,
			       item->view, b, err);

	if (rc)
		nt_buf_release(b);
	return rc;
}

nt_rc chan_check(const struct chan_conf *ch, struct nt_err *err)
{
	struct mime_msg m = {0};
	struct nt_err inner = {{0}};

	if (ch->type != CHAN_SMTP)
		return NT_OK;
	m.from = ch->from;
	m.to = ch->to;
	m.subject = "";
	m.text = "";
	m.message_id = "check@example.org";
	m.list_id = ch->list_id;
	m.list_unsubscribe = ch->list_unsubscribe;
	if (m.to[0] == NULL) { /* subscribers only: check the sender alone */
		static const char *const self[] = {"check@example.org", NULL};

		m.to = self;
	}
	if (mime_check(&m, &inner) != NT_OK)
		return nt_fail(err, NT_ECONFIG, "channel '%s': %s", ch->name,
			       inner.msg);
	return NT_OK;
}

static const chan_send_fn S_send[] = {
	[CHAN_SLACK] = chan_webhook_send,
	[CHAN_MATRIX] = chan_matrix_send,
	[CHAN_HOOKSHOT] = chan_webhook_send,
};

void chan_send(const struct chan_conf *ch, struct chan_send_env *env,
	       int64_t row_id, const char *payload, size_t len,
	       struct chan_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->retry_after = -1;
	if ((unsigned)ch->type >= sizeof(S_send) / sizeof(*S_send) ||
	    S_send[ch->type] == NULL) {
		out->fate = CHAN_PERM;
		snprintf(out->reason, sizeof(out->reason),
			 "%s channels are not sent one message at a time",
			 config_chan_type_name(ch->type));
		return;
	}
	S_send[ch->type](ch, env, row_id, payload, len, out);
}

void chan_classify_http(long status, const char *body, long retry_after,
			struct chan_outcome *out)
{
	char text[120];

	out->http_status = status;
	text_printable_to(text, sizeof(text), body);
	if (status >= 200 && status < 300) {
		out->fate = CHAN_SENT;
		return;
	}
	out->fate = status == 429 || status >= 500 ? CHAN_TEMP : CHAN_PERM;
	out->retry_after = status == 429 ? retry_after : -1;
	snprintf(out->reason, sizeof(out->reason), "http %ld %s", status, text);
}

void chan_transport_failed(nt_rc rc, const char *why, struct chan_outcome *out)
{
	out->fate = rc == NT_ETEMP ? CHAN_TEMP : CHAN_PERM;
	text_printable_to(out->reason, sizeof(out->reason), why);
}
