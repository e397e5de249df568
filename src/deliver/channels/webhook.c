/*
 * webhook.c - sending to a Slack (or Slack-compatible) incoming webhook or
 * a matrix-hookshot generic webhook: one POST of the rendered payload to
 * the secret URL.  Both answer 2xx when done, 429 with Retry-After when
 * rate limited, 5xx when unwell, and another 4xx when the payload or the
 * hook itself is refused (invalid_blocks, no_service, "Webhook not
 * found"), which no retry will change.
 */
#include <string.h>

#include "../chan_int.h"
#include "notify/http.h"

void chan_webhook_send(const struct chan_conf *ch, struct chan_send_env *env,
		       int64_t row_id, const char *payload, size_t len,
		       struct chan_outcome *out)
{
	struct http_req req = {.method = "POST",
			       .url = env->secret,
			       .body = payload,
			       .len = len,
			       .allow_http = ch->allow_http};
	struct http_resp resp;
	struct nt_err err = {{0}};
	nt_rc rc;

	(void)row_id;
	rc = http_request(env->http, &req, &resp, &err);
	if (rc) {
		chan_transport_failed(rc, err.msg, out);
		return;
	}
	chan_classify_http(resp.status, resp.body, resp.retry_after, out);
}
