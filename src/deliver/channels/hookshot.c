/*
 * hookshot.c - a matrix-hookshot generic webhook body: `text` (which
 * hookshot reads as Markdown, so it is our plain text) and `html`, which
 * becomes the event's formatted_body.
 */
#include <string.h>

#include "../chan_int.h"
#include "notify/text.h"

/* Bytes of text, and of the whole body, that keep the event hookshot
 * makes of it under Matrix's 65536 bytes. */
#define HOOKSHOT_TEXT_MAX 28000
#define HOOKSHOT_BODY_MAX 60000

static json_object *S_body(const struct nt_buf *text, const struct nt_buf *html)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "text",
			       json_object_new_string(nt_buf_str(text)));
	json_object_object_add(o, "html",
			       json_object_new_string(nt_buf_str(html)));
	return o;
}

nt_rc chan_hookshot_render(const struct chan_conf *ch,
			   const struct chan_env *env,
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
	/* hookshot posts one event, under Matrix's 64 KiB: a digest lists
	 * fewer posts instead (announce.c); a post's text is cut and its
	 * HTML, which cannot be cut safely, dropped */
	o = S_body(&text, &html);
	if (item->digest &&
	    (text.len > HOOKSHOT_TEXT_MAX ||
	     strlen(json_object_to_json_string(o)) > HOOKSHOT_BODY_MAX)) {
		rc = nt_fail(err, NT_ETOOBIG, "digest over %d bytes",
			     HOOKSHOT_BODY_MAX);
	} else if (text.len > HOOKSHOT_TEXT_MAX) {
		text.len = text_utf8_cut(text.buf, text.len, HOOKSHOT_TEXT_MAX);
		text.buf[text.len] = '\0';
		json_object_put(o);
		o = S_body(&text, &html);
	}
	if (rc == NT_OK &&
	    strlen(json_object_to_json_string(o)) > HOOKSHOT_BODY_MAX)
		json_object_object_del(o, "html");
	if (rc == NT_OK)
		chan_push_json(out, o);
	else
		json_object_put(o);
	nt_buf_release(&text);
	nt_buf_release(&html);
	return rc;
}

const struct chan_ops chan_hookshot_ops = {
	.name = "hookshot",
	.secret_file = chan_webhook_secret_file,
	.check = chan_check_nothing,
	.render = chan_hookshot_render,
	.classify = chan_classify_http,
	.interval_ms = 0,
	.batch = chan_batch_one,
	.open = chan_webhook_open,
	.send = chan_webhook_send,
	.close = chan_webhook_close,
};
