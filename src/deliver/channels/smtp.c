/*
 * smtp.c - one RFC 5322 message per recipient (so that the list stays
 * hidden), built by mime.c: subject, text and html templates, List-Id and
 * List-Unsubscribe for list-style mail, a Message-ID derived from the
 * post and the sender's domain.  The recipients of one post share one
 * body; each one's To: line is made when its message is sent.
 *
 * Sending: smtp.c runs one libESMTP session over a slice of the jobs;
 * with `sessions = N`, N slices go at once, one thread each.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../chan_int.h"
#include "notify/text.h"
#include "notify/mime.h"
#include "notify/smtp.h"

/* The domain of "Name <user@domain>" or "user@domain", owned. */
static char *S_domain(const char *from)
{
	const char *at = strrchr(from, '@');
	size_t n;

	if (at == NULL)
		return nt_xstrdup("localhost");
	n = strcspn(at + 1, "> \t");
	return n ? nt_xstrndup(at + 1, n) : nt_xstrdup("localhost");
}

/* "<post id>.<channel>@<domain>", the id kept to Message-ID-safe bytes:
 * the same post on the same channel always has the same id. */
static char *S_message_id(const struct chan_conf *ch,
			  const struct chan_item *it)
{
	const char *id = chan_str(it->alert, "id"); /* the model, unescaped */
	struct nt_buf b = NT_BUF_INIT;
	char *domain = S_domain(ch->from);

	if (it->digest) {
		json_object *posts = NULL;

		json_object_object_get_ex(it->view, "posts", &posts);
		id = chan_str(json_object_array_get_idx(posts, 0), "id");
		nt_buf_addf(&b, "digest%zu.", json_object_array_length(posts));
	}
	for (const char *s = id ? id : "post"; *s && b.len < 160; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_';

		if (c == '\\') /* the view escapes punctuation */
			continue;
		nt_buf_addc(&b, ok ? c : '-');
	}
	nt_buf_addf(&b, ".%s@%s", ch->name, domain);
	free(domain);
	return nt_buf_detach(&b);
}

nt_rc chan_smtp_render(const struct chan_conf *ch, const struct chan_env *env,
		       const struct chan_item *item, struct chan_msgs *out,
		       struct nt_err *err)
{
	struct nt_buf subject = NT_BUF_INIT, text = NT_BUF_INIT,
		      html = NT_BUF_INIT;
	struct mime_msg m = {0};
	char *mid = NULL, *msg = NULL;
	size_t len = 0, to_at = 0, n_to = 0;
	nt_rc rc;

	rc = chan_template(env, item, RENDER_SUBJECT, &subject, err);
	if (rc == NT_OK)
		rc = chan_text_html(env, item, &text, &html, err);
	if (rc)
		goto out;
	mid = S_message_id(ch, item);
	m.from = ch->from;
	m.subject = nt_buf_str(&subject);
	m.message_id = mid;
	m.list_id = ch->list_id;
	m.list_unsubscribe = ch->list_unsubscribe;
	m.text = nt_buf_str(&text);
	m.html = nt_buf_str(&html);
	m.date = env->now;
	rc = mime_build_shared(&m, &msg, &len, &to_at, err);
	while (ch->to[n_to])
		n_to++;
	/* every address is checked now, not at send time */
	for (size_t i = 0; rc == NT_OK && i < n_to; i++) {
		struct nt_buf line = NT_BUF_INIT;

		rc = mime_to_line(ch->to[i], &line, err);
		nt_buf_release(&line);
	}
	if (rc == NT_OK && n_to > 0)
		chan_push_mail(out, msg, len, to_at, ch->to, n_to);
out:
	free(msg);
	free(mid);
	nt_buf_release(&subject);
	nt_buf_release(&text);
	nt_buf_release(&html);
	return rc;
}

static nt_rc S_check(const struct chan_conf *ch, struct nt_err *err)
{
	struct mime_msg m = {0};
	struct nt_err inner = {{0}};

	m.from = ch->from;
	m.to = ch->to;
	m.subject = "";
	m.text = "";
	m.message_id = "check@example.org";
	m.list_id = ch->list_id;
	m.list_unsubscribe = ch->list_unsubscribe;
	if (m.to[0] == NULL) { /* subscribers only: check the sender alone */
		static const char *const self[] = {"check@example.org", NULL};

		m.to = self;
	}
	if (mime_check(&m, &inner) != NT_OK)
		return nt_fail(err, NT_ECONFIG, "channel '%s': %s", ch->name,
			       inner.msg);
	return NT_OK;
}

static const char *S_secret_file(const struct chan_conf *ch)
{
	return ch->password_file;
}

/* ---- sending ------------------------------------------------------ */

/* Messages one session carries at most.  A session ends after them and
 * the next one connects (about a millisecond on a LAN): it bounds what a
 * session holds in memory and what a lane renews leases for, and a
 * relay's per-session limits (Postfix: none by default; Exchange: 100
 * recipients a message, not messages a session) are far above it. */
#define SMTP_SESSION_MESSAGES 500

struct chan_sender {
	const struct chan_conf *ch;
	const char *password; /* the secret, or NULL */
	char *envelope;	      /* the bare address of 'from' */
	char *helo;	      /* EHLO name */
};

/* The envelope sender: the address inside "Name <user@domain>". */
static char *S_envelope(const char *from)
{
	const char *lt = strrchr(from, '<');

	if (lt == NULL)
		return nt_xstrdup(from);
	return nt_xstrndup(lt + 1, strcspn(lt + 1, ">"));
}

/* The host's fully-qualified name, else the domain of 'from': what a
 * relay with reject_non_fqdn_helo_hostname accepts.  libESMTP would send
 * gethostname(), often a bare "vm". */
static char *S_helo(const struct chan_conf *ch)
{
	struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;
	char host[256] = "";
	char *name = NULL;

	if (ch->helo_name)
		return nt_xstrdup(ch->helo_name);
	if (gethostname(host, sizeof(host) - 1) == 0 && strchr(host, '.'))
		return nt_xstrdup(host);
	if (host[0] && getaddrinfo(host, NULL, &hints, &ai) == 0 && ai &&
	    ai->ai_canonname && strchr(ai->ai_canonname, '.'))
		name = nt_xstrdup(ai->ai_canonname);
	if (ai)
		freeaddrinfo(ai);
	return name ? name : S_domain(ch->from);
}

static nt_rc S_open(const struct chan_conf *ch, const char *secret,
		    const struct chan_memo *memo, struct chan_sender **out,
		    struct nt_err *err)
{
	struct chan_sender *s = nt_xcalloc(1, sizeof(*s));

	(void)memo, (void)err;
	s->ch = ch;
	s->password = secret;
	s->envelope = S_envelope(ch->from);
	s->helo = S_helo(ch);
	*out = s;
	return NT_OK;
}

static void S_close(struct chan_sender *s)
{
	if (s == NULL)
		return;
	free(s->envelope);
	free(s->helo);
	free(s);
}

/* One session's share of the jobs. */
struct S_slice {
	struct chan_sender *s;
	struct chan_job *jobs;
	size_t n;
	chan_done_fn done;
	void *ctx;
	struct smtp_item *items;
	struct nt_buf *to; /* each job's To: line */
	size_t *job_of;	   /* item -> job */
	bool *told;	   /* per job */
	nt_rc session;
	struct nt_err err;
	bool stopped; /* a SIGTERM ended the session early */
};

/* "2.0.0 Ok: queued as 4Xb2Q" -> "4Xb2Q"; else the whole text. */
static void S_remote_id(const char *text, char *out, size_t n)
{
	const char *q = strstr(text, "queued as ");

	text_printable_to(out, n, q ? q + 10 : text);
}

static void S_outcome(const struct smtp_item *it, nt_rc session,
		      const char *why, struct chan_outcome *o)
{
	enum smtp_fate f = smtp_item_fate(it);
	int k;

	o->retry_after_ms = -1;
	o->status = it->status;
	if (f == SMTP_SENT) {
		o->fate = CHAN_SENT;
		o->reason[0] = '\0';
		S_remote_id(it->text, o->remote_id, sizeof(o->remote_id));
		return;
	}
	if (it->status == 0) { /* the session ended before this item */
		o->fate = session == NT_EPERM ? CHAN_PERM : CHAN_TEMP;
		text_printable_to(o->reason, sizeof(o->reason), why);
		return;
	}
	o->fate = f == SMTP_PERM ? CHAN_PERM : CHAN_TEMP;
	k = snprintf(o->reason, sizeof(o->reason), "smtp %d ", it->status);
	text_printable_to(o->reason + k, sizeof(o->reason) - (size_t)k,
			  it->text);
}

static void S_tell(struct S_slice *sl, size_t item, nt_rc session,
		   const char *why)
{
	size_t j = sl->job_of[item];

	if (sl->told[j])
		return;
	sl->told[j] = true;
	S_outcome(&sl->items[item], session, why, &sl->jobs[j].out);
	/* not sent because of the stop: due again at once, not backed off */
	if (sl->stopped && sl->items[item].status == 0)
		sl->jobs[j].out.retry_after_ms = 0;
	sl->done(sl->ctx, &sl->jobs[j]);
}

static void S_item_done(void *ctx, size_t i)
{
	S_tell(ctx, i, NT_OK, "");
}

static void *S_run_slice(void *arg)
{
	struct S_slice *sl = arg;
	const struct chan_conf *ch = sl->s->ch;
	struct smtp_opts so = {ch->host,
			       ch->port,
			       ch->starttls,
			       ch->username,
			       sl->s->password,
			       ch->ca_file,
			       sl->s->envelope,
			       30,
			       sl->s->helo,
			       S_item_done,
			       sl,
			       NULL};
	size_t k = 0;

	for (size_t j = 0; j < sl->n; j++) {
		struct chan_job *job = &sl->jobs[j];
		struct nt_err e = {{0}};

		if (job->to_at >= 0 &&
		    mime_to_line(job->recipient, &sl->to[j], &e) != NT_OK) {
			sl->told[j] = true;
			chan_transport_failed(NT_EPERM, e.msg, &job->out);
			sl->done(sl->ctx, job);
			continue;
		}
		sl->items[k] = (struct smtp_item){
			.rcpt = job->recipient,
			.data = job->body,
			.len = job->len,
			.ins = sl->to[j].buf,
			.ins_len = sl->to[j].len,
			.ins_at = job->to_at >= 0 ? (size_t)job->to_at : 0};
		sl->job_of[k++] = j;
	}
	so.stop = sl->n > 0 ? sl->jobs[0].stop : NULL;
	sl->session = smtp_send(&so, sl->items, k, &sl->err);
	sl->stopped = so.stop && *so.stop;
	for (size_t i = 0; i < k; i++)
		S_tell(sl, i, sl->session, sl->err.msg);
	return NULL;
}

static void S_slice_init(struct S_slice *sl, struct chan_sender *s,
			 struct chan_job *jobs, size_t n, chan_done_fn done,
			 void *ctx)
{
	memset(sl, 0, sizeof(*sl));
	sl->s = s;
	sl->jobs = jobs;
	sl->n = n;
	sl->done = done;
	sl->ctx = ctx;
	sl->items = nt_xcalloc(n ? n : 1, sizeof(*sl->items));
	sl->to = nt_xcalloc(n ? n : 1, sizeof(*sl->to));
	sl->job_of = nt_xcalloc(n ? n : 1, sizeof(*sl->job_of));
	sl->told = nt_xcalloc(n ? n : 1, sizeof(*sl->told));
}

static void S_slice_free(struct S_slice *sl)
{
	for (size_t j = 0; j < sl->n; j++)
		nt_buf_release(&sl->to[j]);
	free(sl->items);
	free(sl->to);
	free(sl->job_of);
	free(sl->told);
}

/* Splits the jobs over the channel's sessions, one thread each (the
 * first in this thread). */
static void S_send(struct chan_sender *s, struct chan_job *jobs, size_t n,
		   chan_done_fn done, void *ctx)
{
	size_t k = (size_t)(s->ch->sessions > 0 ? s->ch->sessions : 1);
	struct S_slice *sl;
	pthread_t *t;
	bool *started;

	if (k > n)
		k = n ? n : 1;
	sl = nt_xcalloc(k, sizeof(*sl));
	t = nt_xcalloc(k, sizeof(*t));
	started = nt_xcalloc(k, sizeof(*started));
	for (size_t i = 0, at = 0; i < k; i++) {
		size_t m = n / k + (i < n % k);

		S_slice_init(&sl[i], s, jobs + at, m, done, ctx);
		at += m;
	}
	for (size_t i = 1; i < k; i++)
		started[i] =
			pthread_create(&t[i], NULL, S_run_slice, &sl[i]) == 0;
	S_run_slice(&sl[0]);
	for (size_t i = 1; i < k; i++) {
		if (started[i])
			pthread_join(t[i], NULL);
		else /* no thread: this one, after the first */
			S_run_slice(&sl[i]);
	}
	for (size_t i = 0; i < k; i++)
		S_slice_free(&sl[i]);
	free(sl);
	free(t);
	free(started);
}

static size_t S_batch(const struct chan_conf *ch)
{
	return SMTP_SESSION_MESSAGES *
	       (size_t)(ch->sessions > 0 ? ch->sessions : 1);
}

/* A final SMTP reply 'status' and its text: what an item's status means
 * (smtp_item_fate()). */
static void S_classify(long status, const char *text, long retry_after,
		       struct chan_outcome *o)
{
	struct smtp_item it = {.status = (int)status};

	(void)retry_after;
	memset(o, 0, sizeof(*o));
	text_printable_to(it.text, sizeof(it.text), text);
	S_outcome(&it, NT_OK, "", o);
}

const struct chan_ops chan_smtp_ops = {
	.name = "smtp",
	.secret_file = S_secret_file,
	.check = S_check,
	.render = chan_smtp_render,
	.classify = S_classify,
	.interval_ms = 0,
	.batch = S_batch,
	.open = S_open,
	.send = S_send,
	.close = S_close,
};
