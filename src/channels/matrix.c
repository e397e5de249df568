/*
 * matrix.c - the content of an m.room.message event: an m.notice (bots
 * must not be answered by other bots) with a plain body, HTML from the
 * html template, and an empty m.mentions so that nothing in a post can
 * ping the room.
 */
#include <string.h>

#include "../chan_int.h"
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
	rc = chan_template(env, item, RENDER_TEXT, &text, err);
	if (rc == NT_OK)
		rc = chan_template(env, item, RENDER_HTML, &html, err);
	if (rc) {
		nt_buf_release(&text);
		return rc;
	}
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
