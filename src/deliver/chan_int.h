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

/* The operations of each type (channels/ *.c). */
extern const struct chan_ops chan_slack_ops;
extern const struct chan_ops chan_matrix_ops;
extern const struct chan_ops chan_hookshot_ops;
extern const struct chan_ops chan_smtp_ops;

/* A type whose keys the configuration parser checks whole. */
nt_rc chan_check_nothing(const struct chan_conf *ch, struct nt_err *err);

/* One job a send: what every chat channel takes. */
size_t chan_batch_one(const struct chan_conf *ch);

/* A webhook sender (slack, hookshot): one POST of the payload to the
 * secret URL (webhook.c), named by webhook_url_file. */
const char *chan_webhook_secret_file(const struct chan_conf *ch);
nt_rc chan_webhook_open(const struct chan_conf *ch, const char *secret,
			const struct chan_memo *memo, struct chan_sender **out,
			struct nt_err *err);
void chan_webhook_send(struct chan_sender *s, struct chan_job *jobs, size_t n,
		       chan_done_fn done, void *ctx);
void chan_webhook_close(struct chan_sender *s);

/* The outcome of an HTTP answer by status alone: 2xx sent, 429 and 5xx
 * temporary (429 with its Retry-After, in seconds, -1 when none), other
 * 4xx permanent with the body as the reason.  What both webhook kinds
 * document. */
void chan_classify_http(long status, const char *body, long retry_after,
			struct chan_outcome *out);
/* A transport failure: NT_ETEMP is temporary, anything else permanent. */
void chan_transport_failed(nt_rc rc, const char *why, struct chan_outcome *out);

/* Appends a JSON message; takes the object's reference. */
void chan_push_json(struct chan_msgs *out, json_object *o);
/* Appends an e-mail body for rcpts[0..n) (copied), To: lines at to_at. */
void chan_push_mail(struct chan_msgs *out, const char *body, size_t len,
		    size_t to_at, const char *const *rcpts, size_t n);

/* A string member of 'o', or NULL. */
const char *chan_str(json_object *o, const char *key);

/* Renders the text and html templates, what Matrix, hookshot and email
 * all carry; on failure both buffers are released. */
nt_rc chan_text_html(const struct chan_env *env, const struct chan_item *item,
		     struct nt_buf *text, struct nt_buf *html,
		     struct nt_err *err);

/* Renders template 'fmt' into a fresh buffer 'b' (released on failure). */
nt_rc chan_template(const struct chan_env *env, const struct chan_item *item,
		    enum render_fmt fmt, struct nt_buf *b, struct nt_err *err);

#endif
