/*
 * slack.c - a Slack incoming webhook message: Block Kit (header, section,
 * context, button) with a text fallback, or, for Slack-compatible
 * receivers that ignore blocks (Mattermost, Rocket.Chat, Discord's /slack),
 * the whole alert in text.  Limits are Slack's documented ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../chan_int.h"
#include "notify/format.h"
#include "notify/text.h"

#define SLACK_HEADER_MAX 150 /* characters of a header block */
#define SLACK_TEXT_MAX 3000  /* characters of any text object */
#define SLACK_URL_MAX 3000   /* characters of a button url */
/* A long post is cut to this many times SLACK_TEXT_MAX characters and
 * spread over sections between lines: at most twice as many sections (a
 * line never straddles two), within Slack's 50 blocks.  A digest is
 * never cut: it takes at most this many sections, or it lists fewer
 * posts (announce.c). */
#define SLACK_SECTIONS_MAX 10
/* Discord's content limit, the smallest of the Slack-compatible ones */
#define SLACK_COMPAT_MAX 2000
/* What RFC 3986 lets a URL hold as it is (percent-escapes included) */
#define S_URL_CHARS                                                            \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"       \
	"-._~:/?#[]@!$&'()*+,;=%"

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
	     strncmp(url, "http://", 7) != 0) ||
	    url[strspn(url, S_URL_CHARS)] != '\0')
		return; /* Slack refuses the whole message for a bad url */
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
	/* on failure the caller releases p, chan_template() the subject */
	rc = chan_template(env, it, RENDER_MRKDWN, &p->body, err);
	if (rc == NT_OK)
		rc = chan_template(env, it, RENDER_SUBJECT, &subject, err);
	if (rc)
		return rc;
	if (it->digest) {
		S_plain(nt_buf_str(&subject), SLACK_HEADER_MAX, &p->header);
	} else {
		fmt_truncate(&p->body, 0, SLACK_TEXT_MAX * SLACK_SECTIONS_MAX);
		S_plain(chan_str(it->view, "title"), SLACK_HEADER_MAX,
			&p->header);
	}
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

static size_t S_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Adds 'text' as a section (none when empty: Slack refuses an empty
 * text object); false when a line too long had to be cut. */
static bool S_section(json_object *blocks, struct nt_buf *text)
{
	json_object *b, *t;
	bool whole = S_chars(text->buf, text->len) <= SLACK_TEXT_MAX;

	fmt_truncate(text, 0, SLACK_TEXT_MAX); /* one line too long */
	if (text->len == 0)
		return true;
	b = S_block("section");
	t = S_text_obj("mrkdwn", nt_buf_str(text));
	json_object_object_add(t, "verbatim", json_object_new_boolean(1));
	json_object_object_add(b, "text", t);
	json_object_array_add(blocks, b);
	text->len = 0;
	return whole;
}

/* The body in sections of at most SLACK_TEXT_MAX characters each, cut
 * between lines, so that no post of a digest is cut off.  Returns how
 * many sections it took, SIZE_MAX when a line had to be cut. */
static size_t S_sections(json_object *blocks, const char *body, size_t len)
{
	struct nt_buf chunk = NT_BUF_INIT;
	size_t chars = 0, count = 0;
	bool whole = true;

	for (const char *p = body, *end = body + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		size_t c = S_chars(p, n);

		if (chunk.len && chars + c > SLACK_TEXT_MAX) {
			whole = S_section(blocks, &chunk) && whole;
			chars = 0;
			count++;
		}
		nt_buf_add(&chunk, p, n);
		chars += c;
		p += n;
	}
	count += chunk.len > 0;
	whole = S_section(blocks, &chunk) && whole;
	nt_buf_release(&chunk);
	return whole ? count : SIZE_MAX;
}

/* The Block Kit message; *sections is how many sections the body took
 * (SIZE_MAX when a line of it had to be cut). */
static json_object *S_block_kit(const struct chan_env *env,
				const struct chan_item *it, struct parts *p,
				size_t *sections)
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
	*sections = S_sections(blocks, nt_buf_str(&p->body), p->body.len);
	if (p->context.len) {
		json_object *elems = json_object_new_array();
		json_object *t = S_text_obj("mrkdwn", nt_buf_str(&p->context));

		/* verbatim: no channel or mention parsing of the tags */
		json_object_object_add(t, "verbatim",
				       json_object_new_boolean(1));
		b = S_block("context");
		json_object_array_add(elems, t);
		json_object_object_add(b, "elements", elems);
		json_object_array_add(blocks, b);
	}
	if (!it->digest)
		S_add_button(blocks, chan_str(it->alert, "url"), env->locale);
	json_object_object_add(msg, "blocks", blocks);
	return msg;
}

/* Slack-compatible receivers ignore blocks and read text as Markdown,
 * pinging on any "@name": the whole plain-text alert, made inert. */
static nt_rc S_compat(const struct chan_env *env, const struct chan_item *it,
		      struct chan_msgs *out, struct nt_err *err)
{
	struct nt_buf text = NT_BUF_INIT, t = NT_BUF_INIT;
	json_object *msg;
	nt_rc rc = chan_template(env, it, RENDER_TEXT, &text, err);

	if (rc)
		return rc;
	fmt_compat(nt_buf_str(&text), text.len, &t);
	nt_buf_release(&text);
	if (it->digest && S_chars(t.buf, t.len) > SLACK_COMPAT_MAX) {
		nt_buf_release(&t);
		return nt_fail(err, NT_ETOOBIG, "digest over %d characters",
			       SLACK_COMPAT_MAX);
	}
	fmt_truncate(&t, 0, SLACK_COMPAT_MAX);
	msg = json_object_new_object();
	json_object_object_add(msg, "text",
			       json_object_new_string(nt_buf_str(&t)));
	chan_push_json(out, msg);
	nt_buf_release(&t);
	return NT_OK;
}

nt_rc chan_slack_render(const struct chan_conf *ch, const struct chan_env *env,
			const struct chan_item *item, struct chan_msgs *out,
			struct nt_err *err)
{
	struct parts p;
	json_object *msg = NULL;
	size_t sections = 0;
	nt_rc rc;

	if (ch->flavor && strcmp(ch->flavor, "compat") == 0)
		return S_compat(env, item, out, err);
	rc = S_parts(env, item, &p, err);
	if (rc == NT_OK)
		msg = S_block_kit(env, item, &p, &sections);
	if (msg && item->digest && sections > SLACK_SECTIONS_MAX) {
		json_object_put(msg);
		msg = NULL;
		rc = nt_fail(err, NT_ETOOBIG, "digest over %d sections",
			     SLACK_SECTIONS_MAX);
	}
	if (msg)
		chan_push_json(out, msg);
	S_parts_release(&p);
	return rc;
}

/* Slack asks for about one message a second per webhook. */
#define SLACK_INTERVAL_MS 1000

const struct chan_ops chan_slack_ops = {
	.name = "slack",
	.secret_file = chan_webhook_secret_file,
	.check = chan_check_nothing,
	.render = chan_slack_render,
	.classify = chan_classify_http,
	.interval_ms = SLACK_INTERVAL_MS,
	.batch = chan_batch_one,
	.open = chan_webhook_open,
	.send = chan_webhook_send,
	.close = chan_webhook_close,
};
