/*
 * smtp.c - one RFC 5322 message per recipient (so that the list stays
 * hidden), built by mime.c: subject, text and html templates, List-Id and
 * List-Unsubscribe for list-style mail, a Message-ID derived from the
 * post and the sender's domain.
 */
#include <stdlib.h>
#include <string.h>

#include "../chan_int.h"
#include "notify/mime.h"

/* The domain of "Name <user@domain>" or "user@domain", owned. */
static char *S_domain(const char *from)
{
	const char *at = strrchr(from, '@');
	size_t n;

	if (at == NULL)
		return nt_xstrdup("localhost");
	n = strcspn(at + 1, "> \t");
	return n ? nt_xstrndup(at + 1, n) : nt_xstrdup("localhost");
}

/* "<post id>.<channel>@<domain>", the id kept to Message-ID-safe bytes:
 * the same post on the same channel always has the same id. */
static char *S_message_id(const struct chan_conf *ch,
			  const struct chan_item *it)
{
	const char *id = chan_str(it->alert, "id"); /* the model, unescaped */
	struct nt_buf b = NT_BUF_INIT;
	char *domain = S_domain(ch->from);

	if (it->digest) {
		json_object *posts = NULL;

		json_object_object_get_ex(it->view, "posts", &posts);
		id = chan_str(json_object_array_get_idx(posts, 0), "id");
		nt_buf_addf(&b, "digest%zu.", json_object_array_length(posts));
	}
	for (const char *s = id ? id : "post"; *s && b.len < 160; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_';

		if (c == '\\') /* the view escapes punctuation */
			continue;
		nt_buf_addc(&b, ok ? c : '-');
	}
	nt_buf_addf(&b, ".%s@%s", ch->name, domain);
	free(domain);
	return nt_buf_detach(&b);
}

static nt_rc S_one(const struct chan_conf *ch, const struct chan_env *env,
		   struct mime_msg *m, const char *rcpt, struct chan_msgs *out,
		   struct nt_err *err)
{
	const char *to[2] = {rcpt, NULL};
	char *msg = NULL;
	size_t len = 0;
	nt_rc rc;

	(void)ch;
	m->to = to;
	m->date = env->now;
	rc = mime_build(m, &msg, &len, err);
	if (rc)
		return rc;
	chan_push(out, msg, len, rcpt, "message/rfc822");
	free(msg);
	return NT_OK;
}

nt_rc chan_smtp_render(const struct chan_conf *ch, const struct chan_env *env,
		       const struct chan_item *item, struct chan_msgs *out,
		       struct nt_err *err)
{
	struct nt_buf subject = NT_BUF_INIT, text = NT_BUF_INIT,
		      html = NT_BUF_INIT;
	struct mime_msg m = {0};
	size_t before = out->n;
	char *mid = NULL;
	nt_rc rc;

	rc = chan_template(env, item, RENDER_SUBJECT, &subject, err);
	if (rc == NT_OK)
		rc = chan_text_html(env, item, &text, &html, err);
	if (rc)
		goto out;
	mid = S_message_id(ch, item);
	m.from = ch->from;
	m.subject = nt_buf_str(&subject);
	m.message_id = mid;
	m.list_id = ch->list_id;
	m.list_unsubscribe = ch->list_unsubscribe;
	m.text = nt_buf_str(&text);
	m.html = nt_buf_str(&html);
	for (const char *const *t = ch->to; *t && rc == NT_OK; t++)
		rc = S_one(ch, env, &m, *t, out, err);
	if (rc) { /* all or nothing */
		struct chan_msgs tail = {out->v + before, out->n - before};

		for (size_t i = 0; i < tail.n; i++) {
			free(tail.v[i].body);
			free(tail.v[i].recipient);
		}
		out->n = before;
	}
out:
	free(mid);
	nt_buf_release(&subject);
	nt_buf_release(&text);
	nt_buf_release(&html);
	return rc;
}
