/*
 * chan.c - the table of channel types, and what their files share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_int.h"
#include "notify/mime.h"
#include "notify/text.h"

const struct chan_ops *chan_ops(enum chan_type t)
{
	switch (t) {
	case CHAN_SLACK:
		return &chan_slack_ops;
	case CHAN_MATRIX:
		return &chan_matrix_ops;
	case CHAN_HOOKSHOT:
		return &chan_hookshot_ops;
	case CHAN_SMTP:
		return &chan_smtp_ops;
	}
	return NULL;
}

void chan_classify(enum chan_type t, long status, const char *body,
		   long retry_after, struct chan_outcome *out)
{
	const struct chan_ops *ops = chan_ops(t);

	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	if (ops)
		ops->classify(status, body ? body : "", retry_after, out);
}

nt_rc chan_check_nothing(const struct chan_conf *ch, struct nt_err *err)
{
	(void)ch, (void)err;
	return NT_OK;
}

size_t chan_batch_one(const struct chan_conf *ch)
{
	(void)ch;
	return 1;
}

nt_rc chan_render(const struct chan_conf *ch, const struct chan_env *env,
		  const struct chan_item *item, struct chan_msgs *out,
		  struct nt_err *err)
{
	const struct chan_ops *ops = chan_ops(ch->type);

	if (ops == NULL)
		return nt_fail(err, NT_EINVAL, "unknown channel type");
	return ops->render(ch, env, item, out, err);
}

nt_rc chan_check(const struct chan_conf *ch, struct nt_err *err)
{
	const struct chan_ops *ops = chan_ops(ch->type);

	if (ops == NULL)
		return nt_fail(err, NT_ECONFIG, "channel '%s': unknown type",
			       ch->name);
	return ops->check(ch, err);
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

nt_rc chan_compose(const struct chan_msg *m, size_t k, struct nt_buf *out,
		   struct nt_err *err)
{
	if (m->to_at < 0 || k >= m->n_rcpts) {
		nt_buf_add(out, m->body, m->len);
		return NT_OK;
	}
	return mime_compose(m->body, m->len, (size_t)m->to_at, m->rcpts[k], out,
			    err);
}

void chan_msgs_clear(struct chan_msgs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].body);
		for (size_t k = 0; k < m->v[i].n_rcpts; k++)
			free(m->v[i].rcpts[k]);
		free(m->v[i].rcpts);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static struct chan_msg *S_push(struct chan_msgs *out, const char *body,
			       size_t len, const char *type)
{
	struct chan_msg *m;

	out->v = nt_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	m = &out->v[out->n++];
	memset(m, 0, sizeof(*m));
	m->body = nt_xstrndup(body, len);
	m->len = len;
	m->to_at = -1;
	m->type = type;
	return m;
}

void chan_push_mail(struct chan_msgs *out, const char *body, size_t len,
		    size_t to_at, const char *const *rcpts, size_t n)
{
	struct chan_msg *m = S_push(out, body, len, "message/rfc822");

	m->to_at = (int64_t)to_at;
	m->rcpts = nt_xcalloc(n ? n : 1, sizeof(*m->rcpts));
	for (size_t i = 0; i < n; i++)
		m->rcpts[i] = nt_xstrdup(rcpts[i]);
	m->n_rcpts = n;
}

void chan_push_json(struct chan_msgs *out, json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&len);

	S_push(out, s, len, "application/json");
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

void chan_classify_http(long status, const char *body, long retry_after,
			struct chan_outcome *out)
{
	char text[120];

	out->status = status;
	text_printable_to(text, sizeof(text), body);
	if (status >= 200 && status < 300) {
		out->fate = CHAN_SENT;
		out->reason[0] = '\0';
		return;
	}
	out->fate = status == 429 || status >= 500 ? CHAN_TEMP : CHAN_PERM;
	out->retry_after_ms =
		status == 429 && retry_after >= 0 ? retry_after * 1000 : -1;
	snprintf(out->reason, sizeof(out->reason), "http %ld %s", status, text);
}

void chan_transport_failed(nt_rc rc, const char *why, struct chan_outcome *out)
{
	out->fate = rc == NT_ETEMP ? CHAN_TEMP : CHAN_PERM;
	out->retry_after_ms = -1;
	text_printable_to(out->reason, sizeof(out->reason), why);
}
