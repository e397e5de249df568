/*
 * slack.c - a Slack incoming webhook message: Block Kit (header, section,
 * context, button) with a text fallback, or, for Slack-compatible
 * receivers that ignore blocks (Mattermost, Rocket.Chat, Discord's /slack),
 * the whole alert in text.  Limits are Slack's documented ones.
 */
#include <stdlib.h>
#include <string.h>

#include "../chan_int.h"
#include "notify/format.h"
#include "notify/text.h"

#define SLACK_HEADER_MAX 150 /* characters of a header block */
#define SLACK_TEXT_MAX 3000  /* characters of any text object */
#define SLACK_BUTTON_MAX 75  /* characters of a button label */
#define SLACK_URL_MAX 3000   /* characters of a button url */

static json_object *S_text_obj(const char *type, const char *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "text", json_object_new_string(s));
	return o;
}

static json_object *S_block(const char *type)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

/* Plain text of a view value (inline Markdown), cut to 'max' chars. */
static void S_plain(const char *md, size_t max, struct nt_buf *b)
{
	size_t start = b->len;

	if (md)
		fmt_header_text(md, strlen(md), b);
	fmt_truncate(b, start, max);
}

/* "date · tag · CVE-…", each part in mrkdwn. */
static void S_context(json_object *view, struct nt_buf *b)
{
	static const char *const keys[] = {"date_display", "tag", "cves_text"};
	size_t start = b->len;

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *v = chan_str(view, keys[i]);

		if (v == NULL || v[0] == '\0')
			continue;
		if (b->len > start)
			nt_buf_adds(b, " · ");
		fmt_mrkdwn(v, strlen(v), b);
	}
	fmt_truncate(b, start, SLACK_TEXT_MAX);
}

static const char *S_button_label(const char *locale)
{
	return strcmp(locale, "fr") == 0 ? "Lire l’article" : "Read the post";
}

static void S_add_button(json_object *blocks, const char *url,
			 const char *locale)
{
	json_object *actions, *elems, *button;

	if (url == NULL || strlen(url) > SLACK_URL_MAX ||
	    (strncmp(url, "https://", 8) != 0 &&
	     strncmp(url, "http://", 7) != 0))
		return;
	actions = S_block("actions");
	elems = json_object_new_array();
	button = S_block("button");
	json_object_object_add(button, "action_id",
			       json_object_new_string("open_post"));
	json_object_object_add(
		button, "text",
		S_text_obj("plain_text", S_button_label(locale)));
	json_object_object_add(button, "url", json_object_new_string(url));
	json_object_array_add(elems, button);
	json_object_object_add(actions, "elements", elems);
	json_object_array_add(blocks, actions);
}

/* The parts every flavour needs, rendered once. */
struct parts {
	struct nt_buf header, body, context, fallback;
};

static void S_parts_release(struct parts *p)
{
	nt_buf_release(&p->header);
	nt_buf_release(&p->body);
	nt_buf_release(&p->context);
	nt_buf_release(&p->fallback);
}

static nt_rc S_parts(const struct chan_env *env, const struct chan_item *it,
		     struct parts *p, struct nt_err *err)
{
	struct nt_buf subject = NT_BUF_INIT;
	char *md;
	nt_rc rc;

	memset(p, 0, sizeof(*p));
	rc = chan_template(env, it, RENDER_MRKDWN, &p->body, err);
	if (rc == NT_OK)
		rc = chan_template(env, it, RENDER_SUBJECT, &subject, err);
	if (rc)
		return rc;
	fmt_truncate(&p->body, 0, SLACK_TEXT_MAX);
	if (it->digest)
		S_plain(nt_buf_str(&subject), SLACK_HEADER_MAX, &p->header);
	else
		S_plain(chan_str(it->view, "title"), SLACK_HEADER_MAX,
			&p->header);
	if (p->header.len == 0) /* Slack refuses an empty header */
		nt_buf_adds(&p->header, "…");
	if (!it->digest)
		S_context(it->view, &p->context);
	/* the subject is plain text: as Markdown, then as mrkdwn */
	md = text_md_escape(nt_buf_str(&subject));
	fmt_mrkdwn(md, strlen(md), &p->fallback);
	fmt_truncate(&p->fallback, 0, SLACK_TEXT_MAX);
	free(md);
	nt_buf_release(&subject);
	return NT_OK;
}

static json_object *S_block_kit(const struct chan_env *env,
				const struct chan_item *it, struct parts *p)
{
	json_object *msg = json_object_new_object();
	json_object *blocks = json_object_new_array();
	json_object *b;

	json_object_object_add(
		msg, "text", json_object_new_string(nt_buf_str(&p->fallback)));
	b = S_block("header");
	json_object_object_add(
		b, "text", S_text_obj("plain_text", nt_buf_str(&p->header)));
	json_object_array_add(blocks, b);
	if (p->body.len) { /* Slack refuses an empty text object */
		b = S_block("section");
		json_object *t = S_text_obj("mrkdwn", nt_buf_str(&p->body));

		json_object_object_add(t, "verbatim",
				       json_object_new_boolean(1));
		json_object_object_add(b, "text", t);
		json_object_array_add(blocks, b);
	}
	if (p->context.len) {
		json_object *elems = json_object_new_array();

		b = S_block("context");
		json_object_array_add(
			elems, S_text_obj("mrkdwn", nt_buf_str(&p->context)));
		json_object_object_add(b, "elements", elems);
		json_object_array_add(blocks, b);
	}
	if (!it->digest)
		S_add_button(blocks, chan_str(it->alert, "url"), env->locale);
	json_object_object_add(msg, "blocks", blocks);
	return msg;
}

/* Slack-compatible receivers render text only: all of it goes there. */
static json_object *S_compat(const struct chan_env *env,
			     const struct chan_item *it, struct parts *p)
{
	json_object *msg = json_object_new_object();
	struct nt_buf t = NT_BUF_INIT;
	const char *url = it->digest ? NULL : chan_str(it->alert, "url");
	char *md = text_md_escape(nt_buf_str(&p->header));

	nt_buf_addc(&t, '*');
	fmt_mrkdwn(md, strlen(md), &t);
	nt_buf_adds(&t, "*\n");
	free(md);
	if (p->body.len)
		nt_buf_addf(&t, "%s\n", nt_buf_str(&p->body));
	if (p->context.len)
		nt_buf_addf(&t, "%s\n", nt_buf_str(&p->context));
	if (url && strpbrk(url, "|<> ") == NULL)
		nt_buf_addf(&t, "<%s|%s>", url, S_button_label(env->locale));
	fmt_truncate(&t, 0, SLACK_TEXT_MAX);
	json_object_object_add(msg, "text",
			       json_object_new_string(nt_buf_str(&t)));
	nt_buf_release(&t);
	return msg;
}

nt_rc chan_slack_render(const struct chan_conf *ch, const struct chan_env *env,
			const struct chan_item *item, struct chan_msgs *out,
			struct nt_err *err)
{
	struct parts p;
	nt_rc rc = S_parts(env, item, &p, err);

	if (rc)
		return rc;
	if (ch->flavor && strcmp(ch->flavor, "compat") == 0)
		chan_push_json(out, S_compat(env, item, &p));
	else
		chan_push_json(out, S_block_kit(env, item, &p));
	S_parts_release(&p);
	return NT_OK;
}
