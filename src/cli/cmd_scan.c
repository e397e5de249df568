/*
 * cmd_scan.c - `notify scan`: the arguments of one pass and what it
 * prints.  The pass itself -- judge, hold, commit, deliver -- is
 * src/watch/pass.c (pass.h).
 *
 * It is also the worker of `notify watch` (watchd.c): a supervisor
 * without any of the libraries here runs `scan --worker` for each
 * batch, so the service idles small and every pass starts afresh.
 * With --worker the pass writes its report on stdout for the supervisor
 * (report.h): what to watch once the batch is committed, then when the
 * next retry or held post is due and the counts.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "notify/log.h"
#include "notify/pass.h"
#include "notify/report.h"
#include "notify/store.h"
#include "notify/text.h"
#include "notify/watcher.h"

/* What one run of the command prints about: the pass, and where its
 * progress line stands. */
struct svc {
	struct pass *p;
	bool progress; /* a terminal: a progress line instead of lines */
	size_t batch_done;
};

static void S_say_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(buf, n, "%Y-%m-%d %H:%M:%S %z", localtime_r(&tt, &tm));
}

/* ---- delivering ----------------------------------------------------- */

/* The dispatcher logs one line per attempt; on a terminal those are held
 * back (S_deliver) for one progress line, and only what went wrong is
 * written out in full. */
static void S_outcome(void *ctx, const struct dlv *row,
		      const struct chan_outcome *o, int64_t next_at)
{
	struct svc *s = ctx;
	const char *to = row->recipient && row->recipient[0] ? " to " : "";
	const char *rcpt = row->recipient ? row->recipient : "";
	size_t rows = pass_counts(s->p)->rows;
	char when[64], id[61];

	s->batch_done++;
	if (!s->progress)
		return;
	/* the id is a file name: no control of it reaches the terminal */
	text_printable_to(id, sizeof(id), row->post_id);
	fprintf(stderr, "\rnotify: %zu/%zu sent, now %s\033[K", s->batch_done,
		rows > s->batch_done ? rows : s->batch_done, id);
	if (o->fate == CHAN_SENT)
		return;
	fputc('\n', stderr);
	S_say_time(next_at, when, sizeof(when));
	if (o->fate == CHAN_TEMP)
		log_warnx("%s %s%s%s: queued for retry at %s (%s)",
			  row->post_id, row->channel, to, rcpt, when,
			  o->reason);
	else
		log_warnx("%s %s%s%s: failed (%s)", row->post_id, row->channel,
			  to, rcpt, o->reason);
}

/* SIGTERM or SIGINT came: the send in flight ends, no other starts. */
static volatile sig_atomic_t S_stop;

static void S_on_stop(int sig)
{
	(void)sig;
	S_stop = 1;
}

/* The pass's delivery, with a progress line on a terminal and a summary
 * line that closes a batch. */
static nt_rc S_deliver(struct svc *s, struct nt_err *err)
{
	struct pass_counts was = *pass_counts(s->p);
	const struct pass_counts *now = pass_counts(s->p);
	nt_rc rc;

	if (s->progress)
		log_set_level(LOG_LVL_NOTICE);
	rc = pass_deliver(s->p, &S_stop, S_outcome, s, err);
	if (s->progress)
		log_set_level(LOG_LVL_INFO);
	if (s->batch_done && s->progress)
		fputc('\n', stderr);
	if (s->batch_done)
		log_notice("delivered: %zu sent, %zu queued for retry, %zu "
			   "failed",
			   now->sent - was.sent, now->retried - was.retried,
			   now->failed - was.failed);
	s->batch_done = 0;
	return rc;
}

/* ---- the worker's report (report.h) -------------------------------- */

static void S_put(const struct report_line *l)
{
	report_put(stdout, l);
}

static void S_report_dir(void *ctx, enum watch_dir kind, const char *path,
			 const char *rel)
{
	static const enum report_dir dirs[] = {
		[WATCH_DIR_GIT] = REPORT_DIR_GIT,
		[WATCH_DIR_REFS] = REPORT_DIR_REFS,
		[WATCH_DIR_POSTS] = REPORT_DIR_POSTS};
	struct report_line l = {.kind = REPORT_WATCH,
				.dir = dirs[kind],
				.path = path,
				.rel = rel};

	(void)ctx;
	/* a folder whose name the report cannot carry is not watched
	 * (scans still find its files) */
	if (!report_put(stdout, &l))
		log_info("%s: not watched (a tab or a line break in its name)",
			 path);
}

/* The first part, once the new posts are committed to the outbox and
 * before they are sent: what to watch, ending with "scanned". */
static void S_worker_scanned(const struct config *cfg, struct pass *p)
{
	const struct watch_conf *wc = config_watch(cfg);
	struct watcher *w = pass_watcher(p);
	bool git = watcher_is_git(w);

	S_put(&(struct report_line){.kind = REPORT_MODE, .git = git});
	S_put(&(struct report_line){.kind = REPORT_REPO,
				    .str = config_site_repo(cfg)});
	if (watcher_branch(w))
		S_put(&(struct report_line){.kind = REPORT_BRANCH,
					    .str = watcher_branch(w)});
	watcher_dirs(w, S_report_dir, NULL);
	S_put(&(struct report_line){.kind = REPORT_SETTLE_MS,
				    .num = wc->settle_ms});
	S_put(&(struct report_line){
		.kind = REPORT_FETCH_INTERVAL,
		.num = git && wc->remote ? wc->fetch_interval : 0});
	S_put(&(struct report_line){.kind = REPORT_SCANNED});
	fflush(stdout);
}

/* The rest, at the end of the pass: when to come back, the counts, and
 * "end" when the pass went through. */
static void S_worker_report(struct pass *p, bool whole)
{
	const struct pass_counts *n = pass_counts(p);
	struct nt_err err = {{0}};
	int64_t due = -1;

	if (pass_next_due(p, &due, &err) != NT_OK) {
		log_warnx("%s", err.msg);
		whole = false; /* the supervisor tries again later */
	}
	S_put(&(struct report_line){.kind = REPORT_NEXT, .num = due});
	S_put(&(struct report_line){
		.kind = REPORT_COUNTS,
		.counts = {n->posts, n->sent, n->retried, n->failed}});
	if (whole)
		S_put(&(struct report_line){.kind = REPORT_END});
	fflush(stdout);
}

/* ---- scan ------------------------------------------------------------ */

static const char S_scan_usage[] =
	"usage: notify [-c FILE] scan [--baseline | --backfill N] "
	"[--dry-run]\n";

struct scan_args {
	enum pass_how how;
	long backfill;
	bool dry_run;
	bool worker, fetch;		     /* for watchd.c */
	struct nt_strv moved_from, moved_to; /* paired by position */
};

static int S_scan_args(int argc, char **argv, struct scan_args *a)
{
	static const struct option opts[] = {
		{"baseline", no_argument, NULL, 'b'},
		{"backfill", required_argument, NULL, 'n'},
		{"dry-run", no_argument, NULL, 'd'},
		/* private to watchd.c */
		{"worker", no_argument, NULL, 'W'},
		{"fetch", no_argument, NULL, 'F'},
		{"moved-from", required_argument, NULL, 'M'},
		{"moved-to", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0}};
	char *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'b' && a->how == PASS_NEW) {
			a->how = PASS_BASELINE;
		} else if (c == 'n' && a->how == PASS_NEW) {
			a->how = PASS_BACKFILL;
			errno = 0;
			a->backfill = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || errno ||
			    a->backfill < 0 || a->backfill > 100000)
				return EX_USAGE;
		} else if (c == 'd') {
			a->dry_run = true;
		} else if (c == 'W') {
			a->worker = true;
		} else if (c == 'F') {
			a->fetch = true;
		} else if (c == 'M') {
			nt_strv_pushdup(&a->moved_from, optarg);
		} else if (c == 'T') {
			nt_strv_pushdup(&a->moved_to, optarg);
		} else {
			return EX_USAGE;
		}
	}
	if (optind != argc || a->moved_from.n != a->moved_to.n)
		return EX_USAGE;
	return EX_OK;
}

/* SIGTERM and SIGINT end the pass after the send in flight. */
static void S_catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = S_on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* a worker of notify-watchd starts with them blocked (a SIGTERM
	 * before now must not kill it): caught now, let them in */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGINT);
	sigprocmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
}

static int S_scan(const struct cli_ctx *ctx, struct scan_args *a)
{
	struct svc s = {0};
	struct nt_err err = {{0}};
	const struct pass_counts *n;
	int code = EX_OK;
	nt_rc rc;

	s.progress = isatty(STDERR_FILENO) && !log_to_journal();
	rc = cli_check_channels(ctx->cfg, &err);
	if (rc == NT_OK)
		rc = pass_open(ctx->cfg, &s.p, &err);
	if (rc == NT_OK && a->dry_run)
		pass_set_dry_run(s.p, stdout);
	if (rc == NT_OK && a->fetch)
		pass_fetch(s.p);
	for (size_t i = 0; rc == NT_OK && i < a->moved_from.n; i++)
		pass_moved(s.p, a->moved_from.v[i], a->moved_to.v[i]);
	if (rc == NT_OK)
		rc = pass_scan(s.p, a->how, (size_t)a->backfill, &err);
	if (rc == NT_OK && a->worker)
		S_worker_scanned(ctx->cfg, s.p);
	if (rc == NT_OK)
		rc = S_deliver(&s, &err);
	/* even after a failed delivery: what waits must be come back to */
	if (a->worker && s.p)
		S_worker_report(s.p, rc == NT_OK);
	n = s.p ? pass_counts(s.p) : NULL;
	if (rc) {
		log_warnx("%s", err.msg);
		code = cli_exit_code(rc);
	} else if (n->failed) {
		code = EX_UNAVAILABLE;
	} else if (n->retried) {
		code = EX_TEMPFAIL;
	}
	pass_free(s.p);
	return code;
}

int cmd_scan(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct scan_args a = {0};
	int code = S_scan_args(argc, argv, &a);

	if (code) {
		fputs(S_scan_usage, stderr);
	} else {
		S_catch_stop();
		code = S_scan(ctx, &a);
	}
	nt_strv_clear(&a.moved_from);
	nt_strv_clear(&a.moved_to);
	return code;
}
