#include "notify/dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/http.h"
#include "notify/log.h"
#include "notify/smtp.h"
#include "notify/store.h"
#include "notify/text.h"

/* Rows of one SMTP channel sent over one session, at most. */
#define DISPATCH_SMTP_BATCH 100
/* Slack asks for about one message a second per webhook. */
#define DISPATCH_SLACK_INTERVAL_MS 1000

struct chan_state {
	const struct chan_conf *ch;
	struct http *http;
	char *secret;	 /* read on first use; wiped on free */
	int64_t last_ms; /* monotonic time of the last send, for pacing */
};

struct dispatch {
	const struct config *cfg;
	struct store *st;
	struct chan_state *cs;
	size_t n;
};

struct dispatch *dispatch_create(const struct config *cfg, struct store *st)
{
	struct dispatch *d = nt_xcalloc(1, sizeof(*d));

	d->cfg = cfg;
	d->st = st;
	d->n = config_n_channels(cfg);
	d->cs = nt_xcalloc(d->n ? d->n : 1, sizeof(*d->cs));
	for (size_t i = 0; i < d->n; i++)
		d->cs[i].ch = config_channel(cfg, i);
	return d;
}

void dispatch_free(struct dispatch *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		http_free(d->cs[i].http);
		config_secret_free(d->cs[i].secret);
	}
	free(d->cs);
	free(d);
}

static int64_t S_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits so that sends to one channel keep the receiver's pace. */
static void S_pace(struct chan_state *cs)
{
	int64_t gap =
		cs->ch->type == CHAN_SLACK ? DISPATCH_SLACK_INTERVAL_MS : 0;
	int64_t wait = cs->last_ms + gap - S_mono_ms();

	if (cs->last_ms && wait > 0) {
		struct timespec ts = {wait / 1000, (wait % 1000) * 1000000};

		nanosleep(&ts, NULL);
	}
	cs->last_ms = S_mono_ms();
}

int64_t dispatch_next_at(int64_t now, int attempts, long retry_after,
			 uint64_t seed)
{
	int64_t delay = DISPATCH_BACKOFF_BASE;
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + (uint64_t)attempts;

	if (retry_after >= 0) /* the receiver said when */
		return now + (retry_after > 0 ? retry_after : 1);
	for (int i = 1; i < attempts && delay < DISPATCH_BACKOFF_CAP; i++)
		delay *= 2;
	if (delay > DISPATCH_BACKOFF_CAP)
		delay = DISPATCH_BACKOFF_CAP;
	/* jitter in [-25 %, +25 %], so that retries of a batch spread out */
	x ^= x >> 31;
	return now + delay - delay / 4 +
	       (int64_t)(x % (uint64_t)(2 * (delay / 4) + 1));
}

static struct chan_state *S_state(struct dispatch *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->cs[i].ch->name, name) == 0)
			return &d->cs[i];
	return NULL;
}

static const char *S_secret_file(const struct chan_conf *ch)
{
	switch (ch->type) {
	case CHAN_SLACK:
	case CHAN_HOOKSHOT:
		return ch->webhook_url_file;
	case CHAN_MATRIX:
		return ch->access_token_file;
	case CHAN_SMTP:
		return ch->password_file;
	}
	return NULL;
}

/* Bytes of an error text kept in a reason (at least 151 bytes long):
 * enough to say why, with room for " (gave up after Ns)". */
#define REASON_MAX 150

/* Copies the start of error text 'src' into 'dst', cut on a character
 * boundary: status --json must stay valid UTF-8. */
static void S_reason(char *dst, const char *src)
{
	text_printable_to(dst, REASON_MAX + 1, src);
}

/* Reads the channel's secret once; false (and 'o' says why) if it
 * cannot be had. */
static bool S_secret(struct chan_state *cs, struct chan_outcome *o)
{
	const char *file = S_secret_file(cs->ch);
	struct nt_err err = {{0}};

	if (cs->secret || file == NULL)
		return true;
	if (config_read_secret(file, &cs->secret, &err) == NT_OK)
		return true;
	o->fate = CHAN_PERM;
	S_reason(o->reason, err.msg);
	return false;
}

static const char *S_fate_name(enum chan_fate f)
{
	return f == CHAN_SENT ? "sent" : f == CHAN_TEMP ? "temp" : "failed";
}

/* Writes the outcome of one attempt of 'row' to the store. */
static nt_rc S_record(struct dispatch *d, const struct dlv *row,
		      struct chan_outcome *o, int64_t now,
		      dispatch_report_fn fn, void *ctx, struct nt_err *err)
{
	int64_t next = -1;
	nt_rc rc;

	if (o->fate == CHAN_TEMP &&
	    now - row->created_at >= config_max_age(d->cfg)) {
		o->fate = CHAN_PERM;
		snprintf(o->reason + strlen(o->reason),
			 sizeof(o->reason) - strlen(o->reason),
			 " (gave up after %lds)", config_max_age(d->cfg));
	}
	if (o->fate == CHAN_SENT) {
		rc = store_mark_sent(d->st, row->id, o->remote_id, now, err);
	} else if (o->fate == CHAN_TEMP) {
		next = dispatch_next_at(now, row->attempts, o->retry_after,
					(uint64_t)row->id);
		rc = store_mark_retry(d->st, row->id, next, o->reason, err);
	} else {
		rc = store_mark_failed(d->st, row->id, o->reason, now, err);
	}
	log_info("delivery id=%lld chan=%s%s%s post=%s attempt=%d result=%s "
		 "http=%ld retry_in=%llds%s%s",
		 (long long)row->id, row->channel,
		 row->recipient && row->recipient[0] ? " rcpt=" : "",
		 row->recipient ? row->recipient : "", row->post_id,
		 row->attempts, S_fate_name(o->fate), o->http_status,
		 (long long)(next >= 0 ? next - now : 0),
		 o->reason[0] ? " reason=" : "", o->reason);
	if (fn)
		fn(ctx, row, o, next);
	return rc;
}

static nt_rc S_chat(struct dispatch *d, struct chan_state *cs,
		    const struct dlv *row, int64_t now, dispatch_report_fn fn,
		    void *ctx, struct nt_err *err)
{
	struct chan_outcome o = {.retry_after = -1};

	if (S_secret(cs, &o)) {
		struct chan_send_env env = {NULL, d->st, cs->secret};

		if (cs->http == NULL)
			cs->http = http_create();
		env.http = cs->http;
		S_pace(cs);
		chan_send(cs->ch, &env, row->id, row->payload, row->len, &o);
	}
	return S_record(d, row, &o, now, fn, ctx, err);
}

/* The envelope sender: the address inside "Name <user@domain>". */
static char *S_envelope(const char *from)
{
	const char *lt = strrchr(from, '<');
	size_t n;

	if (lt == NULL)
		return nt_xstrdup(from);
	n = strcspn(lt + 1, ">");
	return nt_xstrndup(lt + 1, n);
}

static void S_smtp_outcome(const struct smtp_item *it, nt_rc session,
			   const char *why, struct chan_outcome *o)
{
	enum smtp_fate f = smtp_item_fate(it);

	memset(o, 0, sizeof(*o));
	o->retry_after = -1;
	if (session == NT_EPERM) {
		o->fate = CHAN_PERM;
		S_reason(o->reason, why);
		return;
	}
	o->fate = f == SMTP_SENT   ? CHAN_SENT
		  : f == SMTP_PERM ? CHAN_PERM
				   : CHAN_TEMP;
	if (f != SMTP_SENT) {
		int k = snprintf(o->reason, sizeof(o->reason), "smtp %d ",
				 it->status);

		text_printable_to(o->reason + k, sizeof(o->reason) - (size_t)k,
				  it->status ? it->text : why);
	}
}

/* Claims the due rows of one SMTP channel (the first already claimed)
 * and sends them over one session: each recipient gets its own fate, a
 * 4xx recipient is retried alone. */
static nt_rc S_smtp(struct dispatch *d, struct chan_state *cs,
		    struct dlv *first, int64_t now, size_t max,
		    dispatch_report_fn fn, void *ctx, size_t *done,
		    struct nt_err *err)
{
	struct dlv *rows[DISPATCH_SMTP_BATCH] = {first};
	struct smtp_item items[DISPATCH_SMTP_BATCH];
	struct chan_outcome o = {.retry_after = -1};
	struct nt_err serr = {{0}};
	struct smtp_opts so = {0};
	size_t n = 1;
	nt_rc rc = NT_OK, session = NT_EPERM;

	while (n < DISPATCH_SMTP_BATCH && n < max && rc == NT_OK) {
		rc = store_claim(d->st, cs->ch->name, now, config_lease(d->cfg),
				 &rows[n], err);
		if (rc == NT_OK && rows[n] == NULL)
			break;
		n += rc == NT_OK;
	}
	memset(items, 0, sizeof(items));
	for (size_t i = 0; i < n; i++) {
		items[i].rcpt = rows[i]->recipient;
		items[i].data = rows[i]->payload;
		items[i].len = rows[i]->len;
	}
	if (S_secret(cs, &o)) {
		char *envelope = S_envelope(cs->ch->from);

		so = (struct smtp_opts){cs->ch->host,	  cs->ch->port,
					cs->ch->starttls, cs->ch->username,
					cs->secret,	  cs->ch->ca_file,
					envelope,	  30};
		session = smtp_send(&so, items, n, &serr);
		free(envelope);
	} else {
		S_reason(serr.msg, o.reason);
	}
	for (size_t i = 0; i < n; i++) {
		S_smtp_outcome(&items[i], session, serr.msg, &o);
		if (rc == NT_OK)
			rc = S_record(d, rows[i], &o, now, fn, ctx, err);
		if (i > 0)
			dlv_free(rows[i]);
	}
	*done = n;
	return rc;
}

nt_rc dispatch_run(struct dispatch *d, int64_t now, size_t max_rows,
		   dispatch_report_fn fn, void *ctx, struct nt_err *err)
{
	size_t done = 0;
	nt_rc rc = NT_OK;

	while (done < max_rows && rc == NT_OK) {
		struct dlv *row = NULL;
		struct chan_state *cs;
		size_t k = 1;

		rc = store_claim(d->st, NULL, now, config_lease(d->cfg), &row,
				 err);
		if (rc || row == NULL)
			break;
		cs = S_state(d, row->channel);
		if (cs == NULL) {
			struct chan_outcome o = {.fate = CHAN_PERM,
						 .retry_after = -1};

			snprintf(o.reason, sizeof(o.reason),
				 "no channel '%s' in the configuration",
				 row->channel);
			rc = S_record(d, row, &o, now, fn, ctx, err);
		} else if (cs->ch->type == CHAN_SMTP) {
			rc = S_smtp(d, cs, row, now, max_rows - done, fn, ctx,
				    &k, err);
		} else {
			rc = S_chat(d, cs, row, now, fn, ctx, err);
		}
		dlv_free(row);
		done += k;
	}
	return rc;
}
