/*
 * dispatch.c - the delivery engine: one lane (thread) per channel; the
 * caller's thread writes the outcomes the lanes hand over and renews the
 * leases of what they hold (see dispatch.h).
 */
#include "notify/dispatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/log.h"
#include "notify/store.h"
#include "notify/text.h"

/* The recorder gathers outcomes for up to DISPATCH_GROUP_MS, or until
 * DISPATCH_GROUP have come, before it writes them: a commit each at
 * 5,000 messages a second would cost as much CPU as sending them. */
#define DISPATCH_GROUP 32
#define DISPATCH_GROUP_MS 2

/* Milliseconds a lane sleeps at most before it looks at the stop flag. */
#define DISPATCH_NAP_MS 100

/* An outcome a lane has told and the caller's thread has not written
 * yet; owns its text. */
struct pend {
	struct store_outcome so;
	char *text;
	uint64_t seq;
};

/*
 * Outcomes are written by the caller's thread, the recorder, not by the
 * lanes: a lane hands each one over (d->queue) and goes on with its next
 * message while the recorder writes what has come, in one transaction,
 * then whatever came meanwhile.  A commit per message in the lane would
 * cost about as much as sending it (it writes three pages of the WAL);
 * this way the groups grow with the rate and a kill -9 re-sends only
 * the outcomes not yet written, a few milliseconds' worth, each row once.
 * A lane waits for its outcomes to be written at the end of each batch
 * (one chat message, an SMTP session's share), before it reads the
 * outbox again: what it decides next depends on them.
 */
struct dispatch {
	const struct config *cfg;
	struct store *st; /* the recorder's handle */
	const struct chan_ops *(*ops_of)(enum chan_type t);
	pthread_mutex_t report_mu; /* one report, one log line at a time */
	pthread_mutex_t mu;	   /* what follows; cv wakes the recorder */
	pthread_cond_t cv;
	size_t running;
	struct pend *queue;
	size_t n_queue, cap_queue;
	uint64_t seq_queued, seq_written; /* outcomes handed over, written */
	pthread_cond_t written_cv;	  /* seq_written moved */
	size_t waiting;			  /* lanes in S_wait_written() */
	bool failed; /* an outcome could not be written: lanes stop */
};

struct lane {
	struct dispatch *d;
	const struct dispatch_req *r;
	const struct chan_conf *ch;
	const struct chan_ops *ops;
	struct store *st; /* the lane's own handle */
	struct chan_sender *sender;
	char *secret; /* wiped on free */
	struct chan_memo memo;
	struct nt_err open_err; /* why no sender could be had */
	pthread_t thread;
	bool started;

	pthread_mutex_t mu;    /* what follows; the store handle (memo) */
	struct dlv **rows;     /* the batch being sent (for lease renewal) */
	struct chan_job *jobs; /* jobs[i] is rows[i] */
	bool *finished;
	size_t n_rows;
	uint64_t last_seq;	/* of the last outcome handed over */
	int64_t pause_until_ms; /* the receiver asked to wait */
	int64_t interval_ms;	/* between two sends */
	int64_t token_at_ms;	/* when the receiver said a send would go */
	size_t taken;		/* messages sent since */
	nt_rc rc;
	struct nt_err err;
};

/* ---- time ------------------------------------------------------------ */

static int64_t S_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool S_stopped(const struct lane *l)
{
	bool failed;

	pthread_mutex_lock(&l->d->mu);
	failed = l->d->failed;
	pthread_mutex_unlock(&l->d->mu);
	return failed || (l->r->stop && *l->r->stop);
}

/* Sleeps until monotonic time 'until_ms', or until a stop. */
static void S_nap_until(const struct lane *l, int64_t until_ms)
{
	for (;;) {
		int64_t left = until_ms - S_mono_ms();
		struct timespec ts;

		if (left <= 0 || S_stopped(l))
			return;
		if (left > DISPATCH_NAP_MS)
			left = DISPATCH_NAP_MS;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		nanosleep(&ts, NULL);
	}
}

int64_t dispatch_next_at(int64_t now, int attempts, long retry_after_ms,
			 uint64_t seed)
{
	int64_t delay = DISPATCH_BACKOFF_BASE;
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + (uint64_t)attempts;

	/* the receiver said when; the lane's pause keeps the milliseconds,
	 * so the row itself may be due again in the same second */
	if (retry_after_ms >= 0)
		return now + retry_after_ms / 1000;
	for (int i = 1; i < attempts && delay < DISPATCH_BACKOFF_CAP; i++)
		delay *= 2;
	if (delay > DISPATCH_BACKOFF_CAP)
		delay = DISPATCH_BACKOFF_CAP;
	/* jitter in [-25 %, +25 %], so that retries of a batch spread out */
	x ^= x >> 31;
	return now + delay - delay / 4 +
	       (int64_t)(x % (uint64_t)(2 * (delay / 4) + 1));
}

/* ---- creating -------------------------------------------------------- */

struct dispatch *
dispatch_create_with(const struct config *cfg, struct store *st,
		     const struct chan_ops *(*ops_of)(enum chan_type t))
{
	struct dispatch *d = nt_xcalloc(1, sizeof(*d));

	d->cfg = cfg;
	d->st = st;
	d->ops_of = ops_of ? ops_of : chan_ops;
	pthread_mutex_init(&d->report_mu, NULL);
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	pthread_cond_init(&d->written_cv, NULL);
	return d;
}

struct dispatch *dispatch_create(const struct config *cfg, struct store *st)
{
	return dispatch_create_with(cfg, st, NULL);
}

void dispatch_free(struct dispatch *d)
{
	if (d == NULL)
		return;
	pthread_mutex_destroy(&d->report_mu);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	pthread_cond_destroy(&d->written_cv);
	free(d->queue);
	free(d);
}

/* ---- the memo: what a channel keeps across processes ---------------- */

static char *S_memo_get(void *ctx, const char *key)
{
	struct lane *l = ctx;
	struct nt_err err = {{0}};
	char *v = NULL;

	pthread_mutex_lock(&l->mu);
	if (store_kv_get(l->st, key, &v, &err) != NT_OK)
		log_warnx("%s", err.msg);
	pthread_mutex_unlock(&l->mu);
	return v;
}

static void S_memo_set(void *ctx, const char *key, const char *value)
{
	struct lane *l = ctx;
	struct nt_err err = {{0}};

	pthread_mutex_lock(&l->mu);
	if (store_kv_set(l->st, key, value, &err) != NT_OK)
		log_warnx("%s", err.msg);
	pthread_mutex_unlock(&l->mu);
}

/* ---- outcomes --------------------------------------------------------- */

static const char *S_fate_name(enum chan_fate f)
{
	return f == CHAN_SENT ? "sent" : f == CHAN_TEMP ? "temp" : "failed";
}

/* A temporary failure past delivery.max_age is a failure. */
static void S_give_up(const struct lane *l, const struct dlv *row, int64_t now,
		      struct chan_outcome *o)
{
	long max_age = config_max_age(l->d->cfg);
	size_t n;

	if (o->fate != CHAN_TEMP || now - row->created_at < max_age)
		return;
	o->fate = CHAN_PERM;
	n = strlen(o->reason);
	snprintf(o->reason + n, sizeof(o->reason) - n, " (gave up after %lds)",
		 max_age);
}

/* One line per attempt, in the shape of OpenSMTPD's mta_log(): the
 * reason only for what did not go, the receiver's id for what did. */
static void S_log(const struct dlv *row, const struct chan_outcome *o,
		  int64_t retry_in)
{
	const char *rcpt = row->recipient ? row->recipient : "";
	char tail[320] = "";

	if (o->fate == CHAN_TEMP)
		snprintf(tail, sizeof(tail), " retry_in=%llds",
			 (long long)retry_in);
	if (o->fate != CHAN_SENT && o->reason[0])
		snprintf(tail + strlen(tail), sizeof(tail) - strlen(tail),
			 " reason=%s", o->reason);
	if (o->fate == CHAN_SENT && o->remote_id[0])
		snprintf(tail, sizeof(tail), " remote=%s", o->remote_id);
	log_info("delivery id=%lld chan=%s%s%s post=%s attempt=%d result=%s "
		 "status=%ld%s",
		 (long long)row->id, row->channel, rcpt[0] ? " rcpt=" : "",
		 rcpt, row->post_id, row->attempts, S_fate_name(o->fate),
		 o->status, tail);
}

/* The receiver asked to wait: the lane waits, not each row apart, and
 * keeps the receiver's pace for the rest of the run.  A token bucket
 * (Synapse: burst 10, then 0.2 a second) says only when its next token
 * comes: two such answers with k messages taken between them give its
 * period, (t2 - t1) / k, and the lane sends one message a period, so
 * that it draws no further 429 (retrying each row when told draws one
 * a message). */
static void S_pace(struct lane *l, const struct chan_outcome *o)
{
	int64_t token_at;

	if (o->fate == CHAN_SENT) {
		l->taken++;
		return;
	}
	if (o->fate != CHAN_TEMP || o->retry_after_ms < 0)
		return;
	token_at = S_mono_ms() + o->retry_after_ms;
	l->pause_until_ms = token_at;
	if (l->token_at_ms > 0 && l->taken > 0)
		/* 1 % over the period: a clock's jitter must not cost a 429 */
		l->interval_ms = (token_at - l->token_at_ms) * 101 / 100 /
				 (int64_t)l->taken;
	else if (o->retry_after_ms > l->interval_ms)
		l->interval_ms = o->retry_after_ms;
	if (l->interval_ms < l->ops->interval_ms)
		l->interval_ms = l->ops->interval_ms;
	l->token_at_ms = token_at;
	l->taken = 0;
}

/* Hands an outcome to the recorder (a copy: the lane's job goes on);
 * its sequence number. */
static uint64_t S_hand_over(struct dispatch *d, const struct store_outcome *so)
{
	uint64_t seq;

	pthread_mutex_lock(&d->mu);
	if (d->n_queue == d->cap_queue) {
		d->cap_queue = d->cap_queue ? 2 * d->cap_queue : 64;
		d->queue =
			nt_xrealloc(d->queue, d->cap_queue * sizeof(*d->queue));
	}
	d->queue[d->n_queue].so = *so;
	d->queue[d->n_queue].text = so->text ? nt_xstrdup(so->text) : NULL;
	d->queue[d->n_queue].so.text = d->queue[d->n_queue].text;
	seq = d->queue[d->n_queue].seq = ++d->seq_queued;
	d->n_queue++;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return seq;
}

/* Until the recorder has written the lane's outcomes (or gave up). */
static void S_wait_written(struct lane *l)
{
	struct dispatch *d = l->d;

	pthread_mutex_lock(&d->mu);
	d->waiting++;
	pthread_cond_signal(&d->cv); /* the recorder writes without delay */
	while (d->seq_written < l->last_seq && !d->failed)
		pthread_cond_wait(&d->written_cv, &d->mu);
	d->waiting--;
	pthread_mutex_unlock(&d->mu);
}

/* The outcome of 'row', handed to the recorder. */
static void S_record(struct lane *l, const struct dlv *row,
		     struct chan_outcome *o, int64_t now, int64_t *next)
{
	struct store_outcome so = {row->id, row->claim, DLV_SENT, now, NULL};

	*next = -1;
	S_give_up(l, row, now, o);
	if (o->fate == CHAN_SENT) {
		so.text = o->remote_id[0] ? o->remote_id : NULL;
	} else if (o->fate == CHAN_TEMP) {
		*next = dispatch_next_at(now, row->attempts, o->retry_after_ms,
					 (uint64_t)row->id);
		so.state = DLV_PENDING;
		so.at = *next;
		so.text = o->reason;
	} else {
		so.state = DLV_FAILED;
		so.text = o->reason;
	}
	l->last_seq = S_hand_over(l->d, &so);
}

/* The channel is done with a job: record it (struct dispatch), log,
 * report. */
static void S_done(void *ctx, struct chan_job *job)
{
	struct lane *l = ctx;
	struct dlv *row = NULL;
	int64_t now = (int64_t)time(NULL), next = -1;
	size_t i;

	pthread_mutex_lock(&l->mu);
	i = l->jobs && job >= l->jobs ? (size_t)(job - l->jobs) : l->n_rows;
	if (i < l->n_rows && l->rows[i]->id == job->row_id && !l->finished[i]) {
		row = l->rows[i];
		l->finished[i] = true;
	}
	if (row == NULL) { /* not one of ours, or told twice: a bug */
		pthread_mutex_unlock(&l->mu);
		return;
	}
	S_record(l, row, &job->out, now, &next);
	S_pace(l, &job->out);
	pthread_mutex_unlock(&l->mu);

	pthread_mutex_lock(&l->d->report_mu);
	S_log(row, &job->out, next >= 0 ? next - now : 0);
	if (l->r->report)
		l->r->report(l->r->ctx, row, &job->out, next,
			     next < 0 || next > l->r->wait_until);
	pthread_mutex_unlock(&l->d->report_mu);
}

/* Rows claimed while no sender could be had (a secret file missing or
 * readable by others): failed, as a refused message is; `notify retry`
 * sends them once the administrator has mended the cause. */
static void S_no_sender(struct lane *l, struct chan_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct chan_outcome *o = &jobs[i].out;

		memset(o, 0, sizeof(*o));
		o->fate = CHAN_PERM;
		o->retry_after_ms = -1;
		text_printable_to(o->reason, sizeof(o->reason),
				  l->open_err.msg);
		S_done(l, &jobs[i]);
	}
}

/* ---- a lane ----------------------------------------------------------- */

/* The body of each row, read once for the rows that share it. */
static nt_rc S_jobs(struct lane *l, struct dlv **rows, size_t n,
		    struct chan_job *jobs, char **txns)
{
	char *body = NULL;
	size_t len = 0;
	int64_t body_id = 0;
	nt_rc rc = NT_OK;

	for (size_t i = 0; i < n && rc == NT_OK; i++) {
		if (rows[i]->body_id != body_id) {
			/* later rows keep pointing at earlier bodies: the
			 * first row of each owns its body */
			rc = store_body(l->st, rows[i]->body_id, &body, &len,
					&l->err);
			if (rc)
				break;
			rows[i]->payload = body;
			rows[i]->len = len;
			body_id = rows[i]->body_id;
		}
		txns[i] = nt_xasprintf("%s-%lld", store_id(l->st),
				       (long long)rows[i]->id);
		jobs[i] = (struct chan_job){
			.row_id = rows[i]->id,
			.txn = txns[i],
			.recipient = rows[i]->recipient,
			.body = body,
			.len = len,
			.to_at = rows[i]->to_at,
			.stop = l->r->stop,
			.out = {.retry_after_ms = -1},
		};
	}
	return rc;
}

/* The posts of the scope whose rows this lane may still have due, or
 * none.  *at is the earliest due time, -1 when nothing waits. */
static nt_rc S_next_due(struct lane *l, int64_t *at)
{
	const struct dispatch_scope *sc = &l->r->scope;
	nt_rc rc = NT_OK;

	*at = -1;
	if (sc->n_posts == 0)
		return store_next_due(l->st, NULL, l->ch->name, at, &l->err);
	for (size_t i = 0; i < sc->n_posts && rc == NT_OK; i++) {
		int64_t t = -1;

		rc = store_next_due(l->st, sc->posts[i], l->ch->name, &t,
				    &l->err);
		if (rc == NT_OK && t >= 0 && (*at < 0 || t < *at))
			*at = t;
	}
	return rc;
}

/* Waits for the next due row within the run's window (due now, or by
 * r->wait_until): false when there is none (or a stop). */
static bool S_wait_due(struct lane *l)
{
	int64_t at = -1, now = (int64_t)time(NULL);

	l->rc = S_next_due(l, &at);
	if (l->rc || at < 0 || S_stopped(l) ||
	    (at > now && at > l->r->wait_until))
		return false;
	if (at > now)
		S_nap_until(l, S_mono_ms() + (at - now) * 1000);
	return !S_stopped(l);
}

/* Keeps the receiver's pace: the interval since the last send, and any
 * pause it asked for; *at is when this send is due.  A pause that ends
 * past the run's window ends the lane: its rows wait for the next run.
 * Under a learned rate limit, sends keep to a schedule (*at, not the
 * moment the lane woke): a token bucket lets a late send be followed
 * on time, so a busy machine's lateness does not add up. */
static bool S_keep_pace(struct lane *l, int64_t last_ms, int64_t *at)
{
	int64_t now_ms = S_mono_ms();
	int64_t until = last_ms ? last_ms + l->interval_ms : 0;
	int64_t left;

	if (l->pause_until_ms > until)
		until = l->pause_until_ms;
	left = until - now_ms;
	if (l->pause_until_ms > now_ms &&
	    (int64_t)time(NULL) + (left + 999) / 1000 > l->r->wait_until)
		return false;
	S_nap_until(l, until);
	now_ms = S_mono_ms();
	*at = now_ms;
	/* never earlier than one interval ago: no burst after a long wait */
	if (l->token_at_ms > 0 && until > now_ms - l->interval_ms)
		*at = until < now_ms ? until : now_ms;
	return !S_stopped(l);
}

static void S_set_batch(struct lane *l, struct dlv **rows,
			struct chan_job *jobs, size_t n)
{
	pthread_mutex_lock(&l->mu);
	l->rows = rows;
	l->jobs = jobs;
	l->n_rows = n;
	l->finished = n ? nt_xcalloc(n, sizeof(*l->finished)) : NULL;
	pthread_mutex_unlock(&l->mu);
}

static void S_end_batch(struct lane *l)
{
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n_rows; i++)
		dlv_free(l->rows[i]);
	free(l->rows);
	free(l->finished);
	l->jobs = NULL;
	l->rows = NULL;
	l->finished = NULL;
	l->n_rows = 0;
	pthread_mutex_unlock(&l->mu);
}

/* Claims and sends one batch; false when there was nothing to claim. */
static bool S_batch(struct lane *l, size_t max)
{
	struct store_lane sl = {l->ch->name, l->r->scope.posts,
				l->r->scope.n_posts};
	struct dlv **rows = nt_xcalloc(max, sizeof(*rows));
	struct chan_job *jobs;
	char **txns;
	size_t n = 0;

	/* a fresh clock for every claim: a lease starts when it is taken */
	l->rc = store_claim_batch(l->st, &sl, (int64_t)time(NULL),
				  config_lease(l->d->cfg), max, rows, &n,
				  &l->err);
	if (l->rc || n == 0) {
		free(rows);
		return false;
	}
	jobs = nt_xcalloc(n, sizeof(*jobs));
	S_set_batch(l, rows, jobs, n);
	txns = nt_xcalloc(n, sizeof(*txns));
	l->rc = S_jobs(l, rows, n, jobs, txns);
	if (l->rc == NT_OK && l->sender == NULL)
		S_no_sender(l, jobs, n);
	else if (l->rc == NT_OK)
		l->ops->send(l->sender, jobs, n, S_done, l);
	S_end_batch(l);
	S_wait_written(l);
	for (size_t i = 0; i < n; i++)
		free(txns[i]);
	free(txns);
	free(jobs);
	return true;
}

static void *S_lane_main(void *arg)
{
	struct lane *l = arg;
	size_t max = l->ops->batch(l->ch);
	int64_t last_ms = 0, at = 0;

	/* a row due first, then the pace: a lane with nothing left to
	 * send ends at once, not after Slack's second */
	while (l->rc == NT_OK && S_wait_due(l) &&
	       S_keep_pace(l, last_ms, &at)) {
		if (S_batch(l, max ? max : 1))
			last_ms = at;
	}
	pthread_mutex_lock(&l->d->mu);
	l->d->running--;
	pthread_cond_signal(&l->d->cv);
	pthread_mutex_unlock(&l->d->mu);
	return NULL;
}

/* ---- the run ---------------------------------------------------------- */

static bool S_in_scope(const struct dispatch_scope *sc,
		       const struct chan_conf *ch)
{
	if (sc->n_chans == 0)
		return ch->enabled;
	for (size_t i = 0; i < sc->n_chans; i++)
		if (strcmp(sc->chans[i], ch->name) == 0)
			return true;
	return false;
}

/* The lane's store handle, secret and sender.  A missing sender is not
 * an error of the run: its rows are retried later (S_no_sender). */
static nt_rc S_lane_open(struct lane *l, struct nt_err *err)
{
	const char *file = l->ops->secret_file(l->ch);
	nt_rc rc = store_open(store_path(l->d->st), &l->st, err);

	if (rc == NT_OK)
		rc = store_relax_sync(l->st, err);
	if (rc)
		return rc;
	l->memo = (struct chan_memo){S_memo_get, S_memo_set, l};
	if (file && config_read_secret(file, &l->secret, &l->open_err))
		return NT_OK;
	if (l->ops->open(l->ch, l->secret, &l->memo, &l->sender, &l->open_err))
		l->sender = NULL;
	return NT_OK;
}

static void S_lane_close(struct lane *l)
{
	if (l->sender)
		l->ops->close(l->sender);
	config_secret_free(l->secret);
	store_close(l->st);
	pthread_mutex_destroy(&l->mu);
}

/* Extends the leases of what every lane holds. */
static void S_renew(struct dispatch *d, struct lane *lanes, size_t n)
{
	int64_t until = (int64_t)time(NULL) + config_lease(d->cfg);

	for (size_t i = 0; i < n; i++) {
		struct lane *l = &lanes[i];
		const struct dlv **held;
		size_t k = 0;
		struct nt_err err = {{0}};

		pthread_mutex_lock(&l->mu);
		held = nt_xcalloc(l->n_rows ? l->n_rows : 1, sizeof(*held));
		for (size_t j = 0; j < l->n_rows; j++)
			if (!l->finished[j])
				held[k++] = l->rows[j];
		if (k > 0 && store_renew(d->st, held, k, until, &err) != NT_OK)
			log_warnx("%s", err.msg);
		pthread_mutex_unlock(&l->mu);
		free(held);
	}
}

/* Writes the outcomes taken from the queue, in one transaction. */
static void S_write(struct dispatch *d, struct pend *v, size_t n, nt_rc *rc,
		    struct nt_err *err)
{
	struct store_outcome *so = nt_xcalloc(n ? n : 1, sizeof(*so));
	struct nt_err e = {{0}};

	for (size_t i = 0; i < n; i++)
		so[i] = v[i].so;
	if (n > 0 && store_record(d->st, so, n, &e) != NT_OK) {
		log_warnx("%s", e.msg);
		if (*rc == NT_OK) {
			*rc = NT_ESTATE;
			*err = e;
		}
		pthread_mutex_lock(&d->mu);
		d->failed = true; /* no lane sends what it cannot record */
		pthread_mutex_unlock(&d->mu);
	}
	if (n > 0) {
		pthread_mutex_lock(&d->mu);
		d->seq_written = v[n - 1].seq;
		pthread_cond_broadcast(&d->written_cv);
		pthread_mutex_unlock(&d->mu);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(so);
}

/* Waits for outcomes or the end of the lanes, DISPATCH_NAP_MS at most;
 * *v, *n are what was queued (owned).  True when no lane runs and
 * nothing is left to write. */
/* *t = the real-time clock plus 'ms' (what pthread_cond_timedwait
 * takes). */
static void S_after_ms(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_REALTIME, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool S_wait_work(struct dispatch *d, struct pend **v, size_t *n)
{
	struct timespec until;
	bool done;

	S_after_ms(&until, DISPATCH_NAP_MS);
	pthread_mutex_lock(&d->mu);
	if (d->running > 0 && d->n_queue == 0)
		pthread_cond_timedwait(&d->cv, &d->mu, &until);
	if (d->running > 0 && d->n_queue > 0 && d->n_queue < DISPATCH_GROUP) {
		/* a busy lane tells more within a moment: one commit for
		 * them, not one each (a lane waiting for its outcomes, at
		 * the end of its batch, wakes us at once) */
		S_after_ms(&until, DISPATCH_GROUP_MS);
		while (d->running > 0 && d->n_queue < DISPATCH_GROUP &&
		       !d->waiting)
			if (pthread_cond_timedwait(&d->cv, &d->mu, &until))
				break;
	}
	*v = d->queue;
	*n = d->n_queue;
	d->queue = NULL;
	d->n_queue = d->cap_queue = 0;
	done = d->running == 0 && *n == 0;
	pthread_mutex_unlock(&d->mu);
	return done;
}

/* The caller's thread while the lanes run: the recorder, which writes
 * the outcomes the lanes hand over, and renews the leases of what they
 * hold at a third of the lease, so that none runs out under a live
 * sender.  Returns when no lane runs and every outcome is written;
 * *rc is the first outcome that could not be. */
static void S_watch_lanes(struct dispatch *d, struct lane *lanes, size_t n,
			  nt_rc *rc, struct nt_err *err)
{
	int64_t every = config_lease(d->cfg) * 1000 / 3;
	int64_t next = S_mono_ms() + every;
	struct pend *v;
	size_t k;

	while (!S_wait_work(d, &v, &k)) {
		S_write(d, v, k, rc, err);
		free(v);
		if (S_mono_ms() >= next) {
			S_renew(d, lanes, n);
			next = S_mono_ms() + every;
		}
	}
	free(v);
}

static size_t S_lanes(struct dispatch *d, const struct dispatch_req *r,
		      struct lane *lanes)
{
	size_t n = 0;

	for (size_t i = 0; i < config_n_channels(d->cfg); i++) {
		const struct chan_conf *ch = config_channel(d->cfg, i);
		const struct chan_ops *ops = d->ops_of(ch->type);

		if (ops == NULL || !S_in_scope(&r->scope, ch))
			continue;
		memset(&lanes[n], 0, sizeof(lanes[n]));
		lanes[n].d = d;
		lanes[n].r = r;
		lanes[n].ch = ch;
		lanes[n].ops = ops;
		lanes[n].interval_ms = ops->interval_ms;
		pthread_mutex_init(&lanes[n].mu, NULL);
		n++;
	}
	return n;
}

struct orphans {
	const struct config *cfg;
	struct nt_strv gone;
};

static void S_orphan(void *ctx, const char *channel)
{
	struct orphans *o = ctx;

	if (config_channel_by_name(o->cfg, channel) == NULL)
		nt_strv_pushdup(&o->gone, channel);
}

/* Rows of a channel gone from the configuration fail, said once a
 * channel: no lane would ever send them, and they would wait for ever.
 * Only in a run over everything (a pass): `--post` touches no other
 * post's rows. */
static nt_rc S_fail_orphans(struct dispatch *d, struct nt_err *err)
{
	struct orphans o = {d->cfg, NT_STRV_INIT};
	nt_rc rc = store_waiting_channels(d->st, S_orphan, &o, err);

	for (size_t i = 0; i < o.gone.n && rc == NT_OK; i++) {
		char why[200];
		size_t n = 0;

		snprintf(why, sizeof(why),
			 "no channel '%.64s' in the "
			 "configuration",
			 o.gone.v[i]);
		rc = store_fail_channel(d->st, o.gone.v[i], why,
					(int64_t)time(NULL), &n, err);
		if (rc == NT_OK && n > 0)
			log_warnx("%s: %zu deliveries failed", why, n);
	}
	nt_strv_clear(&o.gone);
	return rc;
}

nt_rc dispatch_run(struct dispatch *d, const struct dispatch_req *r,
		   struct nt_err *err)
{
	size_t n_ch = config_n_channels(d->cfg), n;
	struct lane *lanes = nt_xcalloc(n_ch ? n_ch : 1, sizeof(*lanes));
	struct nt_err werr = {{0}};
	nt_rc rc = NT_OK, wrc = NT_OK;

	d->failed = false; /* a run of its own: no lane has started yet */
	if (r->scope.n_posts == 0 && r->scope.n_chans == 0)
		rc = S_fail_orphans(d, err);
	n = rc == NT_OK ? S_lanes(d, r, lanes) : 0;
	for (size_t i = 0; i < n && rc == NT_OK; i++)
		rc = S_lane_open(&lanes[i], err);
	for (size_t i = 0; i < n && rc == NT_OK; i++) {
		pthread_mutex_lock(&d->mu);
		d->running++;
		pthread_mutex_unlock(&d->mu);
		lanes[i].started = pthread_create(&lanes[i].thread, NULL,
						  S_lane_main, &lanes[i]) == 0;
		if (!lanes[i].started) {
			pthread_mutex_lock(&d->mu);
			d->running--;
			pthread_mutex_unlock(&d->mu);
			rc = nt_fail(err, NT_EIO, "cannot start a lane: %s",
				     strerror(errno));
		}
	}
	/* on a failed start the lanes that run are stopped by their end
	 * of rows; the leases of theirs are renewed meanwhile all the same,
	 * and their outcomes written */
	S_watch_lanes(d, lanes, n, &wrc, &werr);
	for (size_t i = 0; i < n; i++) {
		if (lanes[i].started)
			pthread_join(lanes[i].thread, NULL);
		if (rc == NT_OK && lanes[i].rc) {
			rc = lanes[i].rc;
			*err = lanes[i].err;
		}
		S_lane_close(&lanes[i]);
	}
	if (rc == NT_OK && wrc) {
		rc = wrc;
		*err = werr;
	}
	free(lanes);
	return rc;
}
