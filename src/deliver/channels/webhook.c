/*
 * webhook.c - sending to a Slack (or Slack-compatible) incoming webhook or
 * a matrix-hookshot generic webhook: one POST of the rendered payload to
 * the secret URL.  Both answer 2xx when done, 429 with Retry-After when
 * rate limited, 5xx when unwell, and another 4xx when the payload or the
 * hook itself is refused (invalid_blocks, no_service, "Webhook not
 * found"), which no retry will change.
 */
#include <stdlib.h>
#include <string.h>

#include "../chan_int.h"
#include "notify/http.h"

struct chan_sender {
	const struct chan_conf *ch;
	const char *url; /* the secret */
	struct http *http;
};

const char *chan_webhook_secret_file(const struct chan_conf *ch)
{
	return ch->webhook_url_file;
}

nt_rc chan_webhook_open(const struct chan_conf *ch, const char *secret,
			const struct chan_memo *memo, struct chan_sender **out,
			struct nt_err *err)
{
	struct chan_sender *s;

	(void)memo;
	if (secret == NULL || secret[0] == '\0')
		return nt_fail(err, NT_EPERM, "channel '%s': no webhook URL",
			       ch->name);
	s = nt_xcalloc(1, sizeof(*s));
	s->ch = ch;
	s->url = secret;
	s->http = http_create();
	*out = s;
	return NT_OK;
}

void chan_webhook_send(struct chan_sender *s, struct chan_job *jobs, size_t n,
		       chan_done_fn done, void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		struct chan_job *j = &jobs[i];
		struct http_req req = {.method = "POST",
				       .url = s->url,
				       .body = j->body,
				       .len = j->len,
				       .allow_http = s->ch->allow_http};
		struct http_resp resp;
		struct nt_err err = {{0}};
		nt_rc rc = http_request(s->http, &req, &resp, &err);

		if (rc)
			chan_transport_failed(rc, err.msg, &j->out);
		else
			chan_classify_http(resp.status, resp.body,
					   resp.retry_after, &j->out);
		done(ctx, j);
	}
}

void chan_webhook_close(struct chan_sender *s)
{
	if (s == NULL)
		return;
	http_free(s->http);
	free(s);
}
