/* Unit tests of the delivery engine (dispatch.c): its retry schedule,
 * and its lanes driven over a recording channel (no network).  Where two
 * lanes must run at once, one waits for the other's send (an event, with
 * a generous bound): lanes taken one after the other would never meet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify/config.h"
#include "notify/dispatch.h"
#include "notify/store.h"

static void retry_after_is_obeyed(void **state)
{
	(void)state;
	assert_int_equal(dispatch_next_at(1000, 1, 7000, 1), 1007);
	assert_int_equal(dispatch_next_at(1000, 9, 1000, 1), 1001);
	/* Matrix's retry_after_ms of 200: due again this second; the
	 * lane's pause keeps the milliseconds */
	assert_int_equal(dispatch_next_at(1000, 1, 200, 1), 1000);
}

static void backoff_doubles_with_jitter_and_a_cap(void **state)
{
	(void)state;
	for (uint64_t seed = 0; seed < 200; seed++) {
		int64_t prev_hi = 0;

		for (int attempt = 1; attempt <= 12; attempt++) {
			int64_t base = DISPATCH_BACKOFF_BASE;
			int64_t d;

			for (int i = 1; i < attempt; i++)
				base = base * 2 > DISPATCH_BACKOFF_CAP
					       ? DISPATCH_BACKOFF_CAP
					       : base * 2;
			d = dispatch_next_at(0, attempt, -1, seed);
			/* within ±25 % of the doubled delay */
			assert_true(d >= base - base / 4);
			assert_true(d <= base + base / 4);
			assert_true(d <= DISPATCH_BACKOFF_CAP * 5 / 4);
			assert_true(base + base / 4 >= prev_hi);
			prev_hi = base + base / 4;
		}
	}
}

static void jitter_spreads_a_batch(void **state)
{
	int64_t first = dispatch_next_at(0, 3, -1, 1);
	int distinct = 0;

	(void)state;
	for (uint64_t seed = 2; seed < 50; seed++)
		distinct += dispatch_next_at(0, 3, -1, seed) != first;
	assert_true(distinct > 10);
}

/* ---- the recording channel ------------------------------------------ */

#define MAX_SENDS 64

struct chan_sender {
	const struct chan_conf *ch;
	const struct chan_memo *memo;
};

/* What the recording channel saw and how it answers; one per test. */
static struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct {
		char chan[16];
		char txn[64];
		char body[64];
		char rcpt[64];
	} sent[MAX_SENDS];
	size_t n;
	/* answers, by channel name: "temp" once, "perm", "rate" once */
	const char *answer_chan, *answer;
	int answered;
	/* channel "slow" waits for a send of channel "fast" */
	bool fast_sent;
	char memo_seen[64];
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static nt_rc S_open(const struct chan_conf *ch, const char *secret,
		    const struct chan_memo *memo, struct chan_sender **out,
		    struct nt_err *err)
{
	struct chan_sender *s = calloc(1, sizeof(*s));

	(void)secret, (void)err;
	s->ch = ch;
	s->memo = memo;
	*out = s;
	return NT_OK;
}

static void S_close(struct chan_sender *s)
{
	free(s);
}

static void S_wait_fast(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30; /* a safety net: a lane taken alone waits this */
	pthread_mutex_lock(&R.mu);
	while (!R.fast_sent)
		if (pthread_cond_timedwait(&R.cv, &R.mu, &until) != 0)
			break;
	pthread_mutex_unlock(&R.mu);
}

static void S_answer(struct chan_sender *s, struct chan_job *j)
{
	j->out.fate = CHAN_SENT;
	j->out.retry_after_ms = -1;
	snprintf(j->out.remote_id, sizeof(j->out.remote_id), "id-%lld",
		 (long long)j->row_id);
	if (R.answer_chan == NULL || strcmp(R.answer_chan, s->ch->name) != 0)
		return;
	if (strcmp(R.answer, "perm") == 0) {
		j->out.fate = CHAN_PERM;
		snprintf(j->out.reason, sizeof(j->out.reason), "refused");
	} else if (R.answered++ == 0) { /* "temp", "rate": once */
		j->out.fate = CHAN_TEMP;
		j->out.retry_after_ms = strcmp(R.answer, "rate") == 0 ? 0 : -1;
		snprintf(j->out.reason, sizeof(j->out.reason), "busy");
	}
}

static void S_send(struct chan_sender *s, struct chan_job *jobs, size_t n,
		   chan_done_fn done, void *ctx)
{
	if (strcmp(s->ch->name, "slow") == 0)
		S_wait_fast();
	for (size_t i = 0; i < n; i++) {
		struct chan_job *j = &jobs[i];
		char *m = s->memo->get(s->memo->ctx, "rec.memo");

		pthread_mutex_lock(&R.mu);
		if (m)
			snprintf(R.memo_seen, sizeof(R.memo_seen), "%s", m);
		if (R.n < MAX_SENDS) {
			snprintf(R.sent[R.n].chan, 16, "%s", s->ch->name);
			snprintf(R.sent[R.n].txn, 64, "%s", j->txn);
			snprintf(R.sent[R.n].body, 64, "%.*s", (int)j->len,
				 j->body);
			snprintf(R.sent[R.n].rcpt, 64, "%s",
				 j->recipient ? j->recipient : "");
			R.n++;
		}
		if (strcmp(s->ch->name, "fast") == 0)
			R.fast_sent = true;
		pthread_cond_broadcast(&R.cv);
		S_answer(s, j);
		pthread_mutex_unlock(&R.mu);
		free(m);
		s->memo->set(s->memo->ctx, "rec.memo", s->ch->name);
		done(ctx, j);
	}
}

static const char *S_no_secret(const struct chan_conf *ch)
{
	(void)ch;
	return NULL;
}

static nt_rc S_check(const struct chan_conf *ch, struct nt_err *err)
{
	(void)ch, (void)err;
	return NT_OK;
}

static size_t S_batch_two(const struct chan_conf *ch)
{
	(void)ch;
	return 2;
}

static const struct chan_ops S_rec_ops = {
	.name = "recording",
	.secret_file = S_no_secret,
	.check = S_check,
	.render = NULL,
	.interval_ms = 0,
	.batch = S_batch_two,
	.open = S_open,
	.send = S_send,
	.close = S_close,
};

static const struct chan_ops *S_rec_of(enum chan_type t)
{
	(void)t;
	return &S_rec_ops;
}

/* ---- fixture ----------------------------------------------------------- */

struct fx {
	char dir[64];
	struct config *cfg;
	struct store *st;
	struct dispatch *d;
	int64_t now;
};

/* Reports: per row id, how many, and the last final fate. */
struct seen {
	int reports, finals;
	enum chan_fate last;
};

static struct seen S_seen[64];

static void S_report(void *ctx, const struct dlv *row,
		     const struct chan_outcome *o, int64_t next_at, bool final)
{
	(void)ctx, (void)next_at;
	if (row->id <= 0 || row->id >= 64)
		return;
	S_seen[row->id].reports++;
	S_seen[row->id].finals += final;
	S_seen[row->id].last = o->fate;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct nt_err err = {{0}};
	char path[128];
	FILE *f;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_dispatch.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(path, sizeof(path), "%s/n.conf", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"state = \"%s/state.db\";\n"
		"delivery: { lease = \"60s\"; max_age = \"1h\"; };\n"
		"channels = (\n"
		" { name = \"slow\"; type = \"hookshot\";"
		" webhook_url_file = \"x\"; },\n"
		" { name = \"fast\"; type = \"hookshot\";"
		" webhook_url_file = \"x\"; },\n"
		" { name = \"mail\"; type = \"smtp\"; host = \"localhost\";"
		" starttls = \"none\"; from = \"a@example.org\";"
		" to = [\"b@example.org\"]; }\n);\n",
		fx->dir);
	fclose(f);
	assert_int_equal(config_load(path, false, &fx->cfg, &err), NT_OK);
	snprintf(path, sizeof(path), "%s/state.db", fx->dir);
	assert_int_equal(store_open(path, &fx->st, &err), NT_OK);
	fx->d = dispatch_create_with(fx->cfg, fx->st, S_rec_of);
	fx->now = (int64_t)time(NULL);
	memset(S_seen, 0, sizeof(S_seen));
	pthread_mutex_lock(&R.mu);
	R.n = 0;
	R.answer_chan = R.answer = NULL;
	R.answered = 0;
	R.fast_sent = false;
	R.memo_seen[0] = '\0';
	pthread_mutex_unlock(&R.mu);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	dispatch_free(fx->d);
	store_close(fx->st);
	config_free(fx->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Post 'post' with one row on each channel named (NULL-terminated). */
static void S_queue(struct fx *fx, const char *post, const char *const *chans)
{
	struct dlv_new rows[4];
	struct nt_err err = {{0}};
	size_t n = 0, added = 0;

	for (; chans[n]; n++)
		rows[n] = (struct dlv_new){
			chans[n],
			strcmp(chans[n], "mail") ? NULL : "b@example.org",
			post,
			strlen(post),
			NULL,
			-1};
	assert_int_equal(store_enqueue(fx->st, post, rows, n, fx->now, false,
				       &added, &err),
			 NT_OK);
	assert_int_equal(added, n);
}

static size_t S_count(const char *chan, const char *body)
{
	size_t k = 0;

	for (size_t i = 0; i < R.n; i++)
		k += (!chan || strcmp(R.sent[i].chan, chan) == 0) &&
		     (!body || strcmp(R.sent[i].body, body) == 0);
	return k;
}

static nt_rc S_run(struct fx *fx, const struct dispatch_scope *scope,
		   int64_t window)
{
	struct dispatch_req r = {.wait_until = window ? fx->now + window : 0,
				 .report = S_report};
	struct nt_err err = {{0}};

	if (scope)
		r.scope = *scope;
	return dispatch_run(fx->d, &r, &err);
}

static enum dlv_state S_state(struct fx *fx, int64_t id)
{
	struct dlv *d = NULL;
	struct nt_err err = {{0}};
	enum dlv_state s;

	/* a claim far in the future takes any row that is not done */
	assert_int_equal(
		store_claim_id(fx->st, id, fx->now + 100000, 1, &d, &err),
		NT_OK);
	s = d ? DLV_PENDING : DLV_SENT;
	dlv_free(d);
	return s;
}

/* ---- tests ------------------------------------------------------------- */

static int S_reasons;

static void S_has_reason(void *ctx, const struct dlv *d)
{
	(void)ctx;
	S_reasons += d->last_error &&
		     strcmp(d->last_error,
			    "no channel 'gone' in the configuration") == 0;
}

static const char *const S_all[] = {"slow", "fast", "mail", NULL};

static void every_row_goes_once_and_is_recorded(void **state)
{
	struct fx *fx = *state;

	R.fast_sent = true; /* "slow" need not wait here */
	S_queue(fx, "p1", S_all);
	S_queue(fx, "p2", S_all);
	assert_int_equal(S_run(fx, NULL, 0), NT_OK);
	assert_int_equal(R.n, 6);
	assert_int_equal(S_count("mail", "p1"), 1);
	assert_int_equal(S_count("slow", "p2"), 1);
	for (int id = 1; id <= 6; id++) {
		assert_int_equal(S_seen[id].reports, 1);
		assert_int_equal(S_seen[id].finals, 1);
		assert_int_equal(S_seen[id].last, CHAN_SENT);
		assert_int_equal(S_state(fx, id), DLV_SENT);
	}
	/* a second run finds nothing due */
	assert_int_equal(S_run(fx, NULL, 0), NT_OK);
	assert_int_equal(R.n, 6);
}

static void a_channel_waiting_holds_no_other_back(void **state)
{
	struct fx *fx = *state;
	static const char *const both[] = {"slow", "fast", NULL};

	/* "slow" sends only once "fast" has: lanes one after the other
	 * ("slow" first, in the configuration's order) would wait 30 s
	 * and then "slow" would have sent first */
	S_queue(fx, "p1", both);
	assert_int_equal(S_run(fx, NULL, 0), NT_OK);
	assert_int_equal(R.n, 2);
	assert_string_equal(R.sent[0].chan, "fast");
	assert_string_equal(R.sent[1].chan, "slow");
}

static void txn_ids_name_the_state_file_and_the_row(void **state)
{
	struct fx *fx = *state;
	static const char *const one[] = {"fast", NULL};
	char want[64];

	S_queue(fx, "p1", one);
	assert_int_equal(S_run(fx, NULL, 0), NT_OK);
	snprintf(want, sizeof(want), "%s-1", store_id(fx->st));
	assert_string_equal(R.sent[0].txn, want);
	assert_int_equal(strlen(store_id(fx->st)), 24);
}

static void only_the_posts_and_channels_in_scope_go(void **state)
{
	struct fx *fx = *state;
	static const char *const posts[] = {"p2"};
	static const char *const chans[] = {"mail"};
	struct dispatch_scope sc = {posts, 1, chans, 1};

	R.fast_sent = true;
	S_queue(fx, "p1", S_all);
	S_queue(fx, "p2", S_all);
	assert_int_equal(S_run(fx, &sc, 0), NT_OK);
	assert_int_equal(R.n, 1);
	assert_string_equal(R.sent[0].chan, "mail");
	assert_string_equal(R.sent[0].body, "p2");
	assert_string_equal(R.sent[0].rcpt, "b@example.org");
}

static void a_retry_due_in_the_window_is_sent_in_the_run(void **state)
{
	struct fx *fx = *state;
	static const char *const one[] = {"fast", NULL};

	R.answer_chan = "fast";
	R.answer = "rate"; /* wait 0 ms, once */
	S_queue(fx, "p1", one);
	assert_int_equal(S_run(fx, NULL, 10), NT_OK);
	assert_int_equal(R.n, 2);
	assert_int_equal(S_seen[1].reports, 2);
	assert_int_equal(S_seen[1].finals, 1); /* the end state only */
	assert_int_equal(S_seen[1].last, CHAN_SENT);
	assert_int_equal(S_state(fx, 1), DLV_SENT);
}

static void a_retry_past_the_window_waits(void **state)
{
	struct fx *fx = *state;
	static const char *const one[] = {"fast", NULL};

	R.answer_chan = "fast";
	R.answer = "temp"; /* backoff: 30 s and more */
	S_queue(fx, "p1", one);
	assert_int_equal(S_run(fx, NULL, 10), NT_OK);
	assert_int_equal(R.n, 1);
	assert_int_equal(S_seen[1].finals, 1);
	assert_int_equal(S_seen[1].last, CHAN_TEMP);
	assert_int_equal(S_state(fx, 1), DLV_PENDING);
}

static void a_refusal_fails_for_good(void **state)
{
	struct fx *fx = *state;
	static const char *const one[] = {"slow", NULL};
	struct nt_err err = {{0}};
	int64_t at = 0;

	R.answer_chan = "slow";
	R.answer = "perm";
	R.fast_sent = true; /* nothing to wait for */
	S_queue(fx, "p1", one);
	assert_int_equal(S_run(fx, NULL, 10), NT_OK);
	assert_int_equal(S_seen[1].last, CHAN_PERM);
	assert_int_equal(store_next_due(fx->st, "p1", NULL, &at, &err), NT_OK);
	assert_int_equal(at, -1); /* nothing waits */
}

static void the_memo_is_kept_by_the_engine(void **state)
{
	struct fx *fx = *state;
	static const char *const one[] = {"fast", NULL};
	struct nt_err err = {{0}};
	char *v = NULL;

	S_queue(fx, "p1", one);
	assert_int_equal(S_run(fx, NULL, 0), NT_OK);
	assert_int_equal(store_kv_get(fx->st, "rec.memo", &v, &err), NT_OK);
	assert_string_equal(v, "fast");
	free(v);
	S_queue(fx, "p2", one);
	assert_int_equal(S_run(fx, NULL, 0), NT_OK);
	assert_string_equal(R.memo_seen, "fast");
}

static void rows_of_a_channel_gone_fail_in_a_pass(void **state)
{
	struct fx *fx = *state;
	static const char *const gone[] = {"gone", NULL};
	static const char *const posts[] = {"p1"};
	struct dispatch_scope only_p1 = {posts, 1, NULL, 0};
	struct nt_err err = {{0}};
	int64_t at = 0;

	S_queue(fx, "p1", gone);
	/* a --post run leaves other channels' rows to the passes */
	assert_int_equal(S_run(fx, &only_p1, 0), NT_OK);
	assert_int_equal(store_next_due(fx->st, "p1", NULL, &at, &err), NT_OK);
	assert_int_equal(at, fx->now);
	/* a pass fails them, naming the channel */
	assert_int_equal(S_run(fx, NULL, 0), NT_OK);
	assert_int_equal(R.n, 0);
	assert_int_equal(store_next_due(fx->st, "p1", NULL, &at, &err), NT_OK);
	assert_int_equal(at, -1);
	assert_int_equal(store_list(fx->st, 1u << DLV_FAILED, 0, S_has_reason,
				    NULL, &err),
			 NT_OK);
	assert_int_equal(S_reasons, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_after_is_obeyed),
		cmocka_unit_test(backoff_doubles_with_jitter_and_a_cap),
		cmocka_unit_test(jitter_spreads_a_batch),
		cmocka_unit_test_setup_teardown(
			every_row_goes_once_and_is_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_channel_waiting_holds_no_other_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
			txn_ids_name_the_state_file_and_the_row, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			only_the_posts_and_channels_in_scope_go, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_retry_due_in_the_window_is_sent_in_the_run, setup,
			teardown),
		cmocka_unit_test_setup_teardown(a_retry_past_the_window_waits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_refusal_fails_for_good, setup,
						teardown),
		cmocka_unit_test_setup_teardown(the_memo_is_kept_by_the_engine,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			rows_of_a_channel_gone_fail_in_a_pass, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
