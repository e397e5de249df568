/*
 * fuzz_response.c - libFuzzer entry point for the reading of receivers'
 * answers (chan_classify()): Slack's and hookshot's error bodies,
 * Matrix's JSON errors with errcode and retry_after_ms, SMTP's final
 * replies.  All of them come from a server that may be hostile.
 *
 * An input is: one byte choosing the channel type, two bytes of status
 * (0..65535, most of them no status at all), one byte of Retry-After
 * (255: none), then the body.  Whatever it holds, the outcome must be a
 * fate of the three, "sent" only for a 2xx, a wait within a day, and a
 * reason that is valid UTF-8 with no control character (it reaches logs
 * and `status --json`).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/chan.h"
#include "notify/http.h"
#include "notify/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void S_check_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap || !text_utf8_valid(s, n, NULL))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum chan_type types[] = {CHAN_SLACK, CHAN_MATRIX,
					       CHAN_HOOKSHOT, CHAN_SMTP};
	char body[HTTP_BODY_MAX + 1];
	struct chan_outcome o;
	enum chan_type t;
	long status, retry;
	size_t n;

	if (size < 4)
		return 0;
	t = types[data[0] % 4];
	status = (long)data[1] << 8 | data[2];
	retry = data[3] == 255 ? -1 : data[3];
	n = size - 4 > HTTP_BODY_MAX ? HTTP_BODY_MAX : size - 4;
	memcpy(body, data + 4, n);
	body[n] = '\0'; /* as http.c gives it: cut, NUL-terminated */
	chan_classify(t, status, body, retry, &o);
	if (o.fate != CHAN_SENT && o.fate != CHAN_TEMP && o.fate != CHAN_PERM)
		abort();
	if (o.fate == CHAN_SENT && status / 100 != 2)
		abort();
	if (o.retry_after_ms < -1 || o.retry_after_ms > 86400000L)
		abort();
	S_check_text(o.reason, sizeof(o.reason));
	S_check_text(o.remote_id, sizeof(o.remote_id));
	return 0;
}
