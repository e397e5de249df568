/* Private to chan.c and the files of channels/. */
#ifndef NOTIFY_CHAN_INT_H
#define NOTIFY_CHAN_INT_H

#include "notify/buf.h"
#include "notify/chan.h"

typedef nt_rc (*chan_render_fn)(const struct chan_conf *ch,
				const struct chan_env *env,
				const struct chan_item *item,
				struct chan_msgs *out, struct nt_err *err);

nt_rc chan_slack_render(const struct chan_conf *ch, const struct chan_env *env,
			const struct chan_item *item, struct chan_msgs *out,
			struct nt_err *err);
nt_rc chan_matrix_render(const struct chan_conf *ch, const struct chan_env *env,
			 const struct chan_item *item, struct chan_msgs *out,
			 struct nt_err *err);
nt_rc chan_hookshot_render(const struct chan_conf *ch,
			   const struct chan_env *env,
			   const struct chan_item *item, struct chan_msgs *out,
			   struct nt_err *err);
nt_rc chan_smtp_render(const struct chan_conf *ch, const struct chan_env *env,
		       const struct chan_item *item, struct chan_msgs *out,
		       struct nt_err *err);

/* Appends a JSON message; takes the object's reference. */
void chan_push_json(struct chan_msgs *out, json_object *o);
/* Appends a message of 'type' holding body[0..len) (copied). */
void chan_push(struct chan_msgs *out, const char *body, size_t len,
	       const char *recipient, const char *type);

/* A string member of 'o', or NULL. */
const char *chan_str(json_object *o, const char *key);

/* Renders template 'fmt' into a fresh buffer 'b' (released on failure). */
nt_rc chan_template(const struct chan_env *env, const struct chan_item *item,
		    enum render_fmt fmt, struct nt_buf *b, struct nt_err *err);

#endif
