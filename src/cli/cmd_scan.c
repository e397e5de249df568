/*
 * cmd_scan.c - `notify scan`: one pass.  The watcher finds new files,
 * they are parsed and judged (not published, held until their date),
 * announced through the outbox, and the outbox is worked.
 *
 * It is also the worker of `notify watch` (watchd.c): a supervisor
 * without any of the libraries here runs `scan --worker` for each
 * batch, so the service idles small and every pass starts afresh.
 * With --worker the pass ends with a report on stdout, one "KEY<TAB>
 * VALUE" line each, for the supervisor: what to watch, when the next
 * retry or held post is due, the counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "notify/alert.h"
#include "notify/announce.h"
#include "notify/dispatch.h"
#include "notify/log.h"
#include "notify/post.h"
#include "notify/sdnotify.h"
#include "notify/site.h"
#include "notify/store.h"
#include "notify/text.h"
#include "notify/watcher.h"

/* Seconds a pass waits for a retry due soon (a receiver's rate limit)
 * rather than leave it to another pass, which costs a process. */
#define SCAN_WAIT_S 5

/* Everything one configuration sets up. */
struct svc {
	struct config *cfg;
	struct store *st;
	struct watcher *w;
	struct dispatch *d;
	bool dry_run;
	bool progress; /* a terminal: a progress line instead of lines */
	/* what this pass did, for the report to the supervisor */
	size_t posts, sent, retried, failed;
	/* the batch being delivered, for the progress line */
	size_t batch_rows, batch_done;
};

/* ---- set up -------------------------------------------------------- */

static void S_down(struct svc *s)
{
	dispatch_free(s->d);
	watcher_free(s->w);
	store_close(s->st);
	s->d = NULL;
	s->w = NULL;
	s->st = NULL;
}

static nt_rc S_up(struct svc *s, struct config *cfg, struct nt_err *err)
{
	const char *repo = config_site_repo(cfg);
	nt_rc rc;

	if (repo == NULL)
		return nt_fail(err, NT_ECONFIG,
			       "%s: site.repo is not set: watching needs it",
			       config_path(cfg));
	if (config_state(cfg) == NULL)
		return nt_fail(err, NT_ECONFIG,
			       "%s: 'state' is not set: watching needs the "
			       "outbox",
			       config_path(cfg));
	rc = cli_check_channels(cfg, err);
	if (rc == NT_OK)
		rc = store_open(config_state(cfg), &s->st, err);
	if (rc == NT_OK)
		rc = watcher_open(repo, config_posts_dir(cfg),
				  config_watch(cfg),
				  config_post_opts(cfg)->max_bytes
					  ? config_post_opts(cfg)->max_bytes
					  : POST_MAX_BYTES_DEFAULT,
				  s->st, &s->w, err);
	if (rc) {
		S_down(s);
		return rc;
	}
	s->d = dispatch_create(cfg, s->st);
	s->cfg = cfg;
	return NT_OK;
}

/* ---- judging the files of a batch ---------------------------------- */

/* When a post is published: a date with a zone is exact; without one it
 * is taken in the site's timezone, else in the machine's, as Jekyll. */
static int64_t S_post_time(const struct post *p, const struct site *site)
{
	struct tm tm = {0};
	int zone = 0;
	const char *tz = site ? site_timezone(site) : NULL;
	char *saved = NULL;
	time_t t;

	post_datetime(p, &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		      &tm.tm_min, &tm.tm_sec);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	if (post_zone(p, &zone))
		return (int64_t)timegm(&tm) - (int64_t)zone * 60;
	if (tz == NULL)
		return (int64_t)mktime(&tm);
	/* mktime() in another zone: only through TZ (one thread here) */
	if (getenv("TZ"))
		saved = nt_xstrdup(getenv("TZ"));
	setenv("TZ", tz, 1);
	tzset();
	t = mktime(&tm);
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	return (int64_t)t;
}

/* A post to announce, with what orders it. */
struct ready {
	json_object *alert;
	int64_t when;
	char *rel;
	char blob[41];
};

static int S_by_date(const void *a, const void *b)
{
	const struct ready *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

/* What one pass decides, before it is committed. */
struct plan {
	struct ready *ready;
	size_t n_ready;
	/* marked seen (with where they are and their contents, when known):
	 * announced posts, baseline ones, renamed ones */
	struct store_seen *seen;
	size_t n_seen;
	struct nt_strv seen_strs; /* what seen points into, 3 an entry */
	struct store_hold *holds;
	size_t n_holds;
	struct nt_strv hold_strs; /* what holds point into */
	struct nt_strv unholds;
};

static void S_plan_clear(struct plan *pl)
{
	for (size_t i = 0; i < pl->n_ready; i++) {
		json_object_put(pl->ready[i].alert);
		free(pl->ready[i].rel);
	}
	free(pl->ready);
	free(pl->seen);
	nt_strv_clear(&pl->seen_strs);
	free(pl->holds);
	nt_strv_clear(&pl->hold_strs);
	nt_strv_clear(&pl->unholds);
	memset(pl, 0, sizeof(*pl));
}

static void S_hold(struct plan *pl, const struct watch_file *f, int64_t when)
{
	nt_strv_pushdup(&pl->hold_strs, f->id);
	nt_strv_pushdup(&pl->hold_strs, f->rel);
	pl->holds =
		nt_xrealloc(pl->holds, (pl->n_holds + 1) * sizeof(*pl->holds));
	/* the strings are set once the vector stops moving: S_fix_holds() */
	pl->holds[pl->n_holds++] = (struct store_hold){NULL, NULL, when};
}

static void S_fix_holds(struct plan *pl)
{
	for (size_t i = 0; i < pl->n_holds; i++) {
		pl->holds[i].post_id = pl->hold_strs.v[2 * i];
		pl->holds[i].path = pl->hold_strs.v[2 * i + 1];
	}
}

/* 'id' to be marked seen; 'rel' and 'blob' may be NULL or "". */
static void S_seen(struct plan *pl, const char *id, const char *rel,
		   const char *blob)
{
	nt_strv_pushdup(&pl->seen_strs, id);
	nt_strv_pushdup(&pl->seen_strs, rel ? rel : "");
	nt_strv_pushdup(&pl->seen_strs, blob ? blob : "");
	pl->seen = nt_xrealloc(pl->seen, (pl->n_seen + 1) * sizeof(*pl->seen));
	pl->n_seen++;
}

static void S_fix_seen(struct plan *pl)
{
	char *const *all = pl->seen_strs.v;

	for (size_t i = 0; i < pl->n_seen; i++) {
		const char *rel = all[3 * i + 1], *blob = all[3 * i + 2];

		pl->seen[i] = (struct store_seen){
			all[3 * i], rel[0] ? rel : NULL, blob[0] ? blob : NULL};
	}
}

static void S_say_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(buf, n, "%Y-%m-%d %H:%M:%S %z", localtime_r(&tt, &tm));
}

/* Reads, parses and judges file 'f': into pl->ready (or, for a
 * baseline, pl->seen), a hold, or a log line saying why not.  A post
 * that is not published, or cannot be read, is left unseen, so that a
 * later change (published: true, a fix) brings it in. */
static void S_judge(struct svc *s, struct site *site, struct plan *pl,
		    const struct watch_file *f, int64_t now, bool baseline)
{
	struct nt_err err = {{0}};
	struct post *p = NULL;
	char *buf = NULL;
	size_t len = 0;
	int64_t when;
	nt_rc rc;

	if (f->skip) {
		log_info("skips %s: %s", f->rel, f->skip);
		watcher_ignore(s->w, f);
		return;
	}
	rc = watcher_read(s->w, f, &buf, &len, &err);
	if (rc == NT_OK)
		rc = post_parse_buffer(f->path, buf, len,
				       config_post_opts(s->cfg), &p, &err);
	free(buf);
	if (rc) {
		log_warnx("skips %s", err.msg);
		watcher_ignore(s->w, f);
		return;
	}
	when = S_post_time(p, site);
	if (!post_published(p)) {
		log_info("skips %s: published: false", f->rel);
		watcher_ignore(s->w, f);
	} else if (site && !site_future(site) && when > now) {
		char t[64];

		S_say_time(when, t, sizeof(t));
		log_info("holds %s until %s (a future date; the site has "
			 "future: false)",
			 post_id(p), t);
		S_hold(pl, f, when);
		watcher_ignore(s->w, f);
	} else if (baseline) {
		S_seen(pl, post_id(p), f->rel, f->blob);
	} else {
		struct ready *r;

		pl->ready = nt_xrealloc(pl->ready,
					(pl->n_ready + 1) * sizeof(*pl->ready));
		r = &pl->ready[pl->n_ready++];
		*r = (struct ready){alert_create(p, site), when,
				    nt_xstrdup(f->rel), ""};
		memcpy(r->blob, f->blob, sizeof(r->blob));
	}
	post_free(p);
}

/* ---- one batch ------------------------------------------------------ */

static void S_print_skip(struct announce_sink *sk, const struct chan_conf *ch,
			 json_object *alert, const char *why)
{
	(void)sk;
	log_info("%s: %s skips it: %s", alert_id(alert), ch->name, why);
}

static nt_rc S_dry_put(struct announce_sink *sk, const struct chan_conf *ch,
		       const char *key, struct chan_msgs *msgs,
		       json_object *const *covered, size_t n_covered,
		       struct nt_err *err)
{
	(void)sk, (void)covered, (void)err;
	announce_print(stdout, ch, key, n_covered, msgs);
	return NT_OK;
}

/* The state a batch moves the outbox from and to (the last processed
 * commit): committed only if no other process moved it meanwhile. */
struct mark {
	const char *key, *old, *value; /* key NULL: none */
};

/* Announces what 'pl' made ready and commits the whole batch. */
static nt_rc S_commit(struct svc *s, struct site *site, struct plan *pl,
		      const struct mark *mark, const struct watch_file *renamed,
		      size_t n_renamed, int64_t now, struct nt_err *err)
{
	struct announce_queue q;
	json_object **alerts = nt_xcalloc(pl->n_ready + 1, sizeof(*alerts));
	char *link = cli_site_link(site);
	struct announce_site as = {site ? site_locale(site) : NULL, link};
	struct store_batch b = {0};
	nt_rc rc;

	if (pl->n_ready > 0) /* qsort(NULL, 0, ...) is undefined */
		qsort(pl->ready, pl->n_ready, sizeof(*pl->ready), S_by_date);
	for (size_t i = 0; i < pl->n_ready; i++) {
		struct ready *r = &pl->ready[i];

		alerts[i] = r->alert;
		/* one every filter leaves out is handled all the same */
		S_seen(pl, alert_id(r->alert), r->rel, r->blob);
	}
	for (size_t i = 0; i < n_renamed; i++)
		S_seen(pl, renamed[i].id, renamed[i].rel, renamed[i].blob);
	S_fix_holds(pl);
	S_fix_seen(pl);
	announce_queue_init(&q);
	q.base.skip = S_print_skip;
	if (s->dry_run) {
		struct announce_sink dry = {S_dry_put, S_print_skip};

		rc = announce_render(s->cfg, alerts, pl->n_ready, &as, NULL,
				     (time_t)now, &dry, err);
		goto out;
	}
	rc = announce_render(s->cfg, alerts, pl->n_ready, &as, NULL,
			     (time_t)now, &q.base, err);
	if (rc == NT_OK) {
		b.items = announce_queue_items(&q, &b.n_items);
		b.seen = pl->seen;
		b.n_seen = pl->n_seen;
		b.holds = pl->holds;
		b.n_holds = pl->n_holds;
		b.unholds = (const char *const *)pl->unholds.v;
		b.n_unholds = pl->unholds.n;
		b.kv_key = mark ? mark->key : NULL;
		b.kv_value = mark ? mark->value : NULL;
		b.kv_old = mark ? mark->old : NULL;
		b.kv_check = b.kv_key != NULL;
		rc = store_commit_batch(s->st, &b, now, false, NULL, err);
	}
	s->batch_rows = 0;
	s->batch_done = 0;
	for (size_t i = 0; rc == NT_OK && i < b.n_items; i++)
		s->batch_rows += b.items[i].n;
	if (rc == NT_OK)
		s->posts += pl->n_ready;
out:
	announce_queue_free(&q);
	free(alerts);
	free(link);
	return rc;
}

static struct site *S_site(struct svc *s)
{
	struct cli_ctx c = {s->cfg, config_path(s->cfg)};
	struct site *site = NULL;
	struct nt_err err = {{0}};

	if (cli_site_for(&c, config_site_repo(s->cfg), &site, &err) != NT_OK)
		log_warnx("%s (links will lack the site's url)", err.msg);
	return site;
}

enum pass { PASS_NEW, PASS_BASELINE, PASS_BACKFILL };

/* Backfill: the newest 'keep' of the ready posts stay, the others are
 * only recorded as seen. */
static void S_keep_newest(struct plan *pl, size_t keep)
{
	if (pl->n_ready > 0) /* qsort(NULL, 0, ...) is undefined */
		qsort(pl->ready, pl->n_ready, sizeof(*pl->ready), S_by_date);
	while (pl->n_ready > keep) {
		struct ready *r = &pl->ready[0];

		S_seen(pl, alert_id(r->alert), r->rel, r->blob);
		json_object_put(r->alert);
		free(r->rel);
		memmove(r, r + 1, --pl->n_ready * sizeof(*r));
	}
}

/* One scan: what is new is judged, announced and committed.  Returns the
 * store's or the watcher's error (NT_ETEMP when another process
 * committed meanwhile); a bad post is only logged. */
static nt_rc S_scan_once(struct svc *s, enum pass how, size_t backfill,
			 struct nt_err *err)
{
	struct watch_batch b;
	struct plan pl = {0};
	struct site *site = NULL;
	int64_t now = (int64_t)time(NULL);
	nt_rc rc = watcher_scan(s->w, how != PASS_NEW, &b, err);
	struct mark mark = {WATCHER_MARK_KEY, NULL, NULL};

	if (rc)
		return rc;
	mark.old = b.prev;
	mark.value = b.mark;
	if (b.rewritten)
		log_warnx("%s: the last processed commit is no longer in the "
			  "history of %s: only posts never seen are new",
			  config_site_repo(s->cfg),
			  watcher_branch(s->w) ? watcher_branch(s->w) : "HEAD");
	if (b.n > 0 || b.n_renamed > 0)
		site = S_site(s);
	if ((b.first_run && how == PASS_NEW) || how == PASS_BASELINE) {
		/* every published post is seen; one not yet published, or
		 * dated ahead, is still to come */
		for (size_t i = 0; i < b.n; i++)
			S_judge(s, site, &pl, &b.v[i], now, true);
		log_notice("baseline: %zu posts recorded as seen%s%s; nothing "
			   "sent",
			   pl.n_seen, b.commit[0] ? " at commit " : "",
			   b.commit);
	} else {
		for (size_t i = 0; i < b.n; i++)
			S_judge(s, site, &pl, &b.v[i], now, false);
		if (how == PASS_BACKFILL)
			S_keep_newest(&pl, backfill);
		if (pl.n_ready)
			log_notice("%zu new post%s%s%s", pl.n_ready,
				   pl.n_ready > 1 ? "s" : "",
				   b.commit[0] ? " at commit " : "", b.commit);
	}
	if (b.mark || pl.n_ready || pl.n_seen || pl.n_holds || b.n_renamed)
		rc = S_commit(s, site, &pl, b.mark ? &mark : NULL, b.renamed,
			      b.n_renamed, now, err);
	S_plan_clear(&pl);
	site_free(site);
	watch_batch_clear(&b);
	return rc;
}

/* A scan; when another process (a timer's scan beside the service)
 * committed between our reading and our writing, our batch is stale:
 * read again. */
static nt_rc S_pass(struct svc *s, enum pass how, size_t backfill,
		    struct nt_err *err)
{
	nt_rc rc = NT_OK;

	for (int tries = 0; tries < 3; tries++) {
		rc = S_scan_once(s, how, backfill, err);
		if (rc != NT_ETEMP)
			break;
		log_info("%s; reading again", err->msg);
	}
	return rc;
}

/* Held posts whose date has come: read again (the date may have moved)
 * and announced, or held anew, or dropped when the file is gone. */
struct due_list {
	struct nt_strv ids, rels;
};

static void S_due_cb(void *ctx, const char *id, const char *rel, int64_t at)
{
	struct due_list *l = ctx;

	(void)at;
	nt_strv_pushdup(&l->ids, id);
	nt_strv_pushdup(&l->rels, rel);
}

static nt_rc S_held_pass(struct svc *s, struct nt_err *err)
{
	struct due_list l = {NT_STRV_INIT, NT_STRV_INIT};
	struct plan pl = {0};
	struct site *site = NULL;
	int64_t now = (int64_t)time(NULL);
	nt_rc rc = store_held_due(s->st, now, S_due_cb, &l, err);

	if (rc == NT_OK && l.ids.n > 0)
		site = S_site(s);
	for (size_t i = 0; rc == NT_OK && i < l.ids.n; i++) {
		struct watch_file f;
		struct nt_err gone = {{0}};

		nt_rc r = watcher_lookup(s->w, l.rels.v[i], &f, &gone);
		size_t before = pl.n_ready + pl.n_holds;

		if (r == NT_ENOENT) {
			log_info("drops the hold on %s: %s", l.ids.v[i],
				 gone.msg);
			nt_strv_pushdup(&pl.unholds, l.ids.v[i]);
			continue;
		}
		if (r) { /* held still: this pass fails, the next tries */
			rc = nt_fail(err, r, "%s", gone.msg);
			break;
		}
		if (!store_is_seen(s->st, f.id))
			S_judge(s, site, &pl, &f, now, false);
		/* neither sent nor held again (seen meanwhile, skipped now):
		 * no longer held, or it would be due at every pass; unseen,
		 * a later change still brings it in */
		if (pl.n_ready + pl.n_holds == before)
			nt_strv_pushdup(&pl.unholds, l.ids.v[i]);
		watch_file_clear(&f);
	}
	if (rc == NT_OK && (pl.n_ready || pl.n_holds || pl.unholds.n))
		rc = S_commit(s, site, &pl, NULL, NULL, 0, now, err);
	S_plan_clear(&pl);
	site_free(site);
	nt_strv_clear(&l.ids);
	nt_strv_clear(&l.rels);
	return rc;
}

/* ---- delivering ----------------------------------------------------- */

/* Counts each outcome.  The dispatcher logs one line per attempt; on a
 * terminal those are held back (S_deliver) for one progress line, and
 * only what went wrong is written out in full. */
static void S_report(void *ctx, const struct dlv *row,
		     const struct chan_outcome *o, int64_t next_at, bool final)
{
	struct svc *s = ctx;
	const char *to = row->recipient && row->recipient[0] ? " to " : "";
	const char *rcpt = row->recipient ? row->recipient : "";
	char when[64], id[61];

	(void) final; /* a pass waits for no retry: every report is final */
	s->batch_done++;
	if (o->fate == CHAN_SENT)
		s->sent++;
	else if (o->fate == CHAN_TEMP)
		s->retried++;
	else
		s->failed++;
	if (!s->progress)
		return;
	if (s->batch_rows < s->batch_done)
		s->batch_rows = s->batch_done;
	/* the id is a file name: no control of it reaches the terminal */
	text_printable_to(id, sizeof(id), row->post_id);
	fprintf(stderr, "\rnotify: %zu/%zu sent, now %s\033[K", s->batch_done,
		s->batch_rows, id);
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

/* Sends the rows due now, every channel in its own lane, until none is
 * due or a signal comes (each lane then finishes the send in flight); a
 * summary line closes a batch. */
static nt_rc S_deliver(struct svc *s, struct nt_err *err)
{
	size_t sent = s->sent, retried = s->retried, failed = s->failed;
	struct dispatch_req r = {.wait_until =
					 (int64_t)time(NULL) + SCAN_WAIT_S,
				 .stop = &S_stop,
				 .report = S_report,
				 .ctx = s};
	bool any;
	nt_rc rc;

	if (s->dry_run)
		return NT_OK;
	if (s->progress)
		log_set_level(LOG_LVL_NOTICE);
	rc = dispatch_run(s->d, &r, err);
	if (s->progress)
		log_set_level(LOG_LVL_INFO);
	any = s->sent + s->retried + s->failed > sent + retried + failed;
	if (any && s->progress)
		fputc('\n', stderr);
	if (any)
		log_notice("delivered: %zu sent, %zu queued for retry, %zu "
			   "failed",
			   s->sent - sent, s->retried - retried,
			   s->failed - failed);
	s->batch_rows = s->batch_done = 0;
	return rc;
}

/* ---- the worker's report ------------------------------------------- */

static const char *const S_dir_kinds[] = {"git", "refs", "posts"};

/* A path with a tab or a line break would break the report's lines: such
 * a folder is not watched (scans still find its files). */
static bool S_reportable(const char *s)
{
	return s && s[strcspn(s, "\t\r\n")] == '\0';
}

static void S_report_dir(void *ctx, enum watch_dir kind, const char *path,
			 const char *rel)
{
	(void)ctx;
	if (S_reportable(path) && (rel == NULL || S_reportable(rel)))
		printf("watch\t%s\t%s\t%s\n", S_dir_kinds[kind], path,
		       rel ? rel : "");
}

/* The first part, once the new posts are committed to the outbox and
 * before they are sent: what to watch.  It ends with "scanned", on which
 * the supervisor's first pass says READY=1: a backlog to send (a restart
 * after a long outage) must not hold the service in "starting". */
static void S_worker_scanned(struct svc *s)
{
	const struct watch_conf *wc = config_watch(s->cfg);

	printf("mode\t%s\n", watcher_is_git(s->w) ? "git" : "dir");
	printf("repo\t%s\n", config_site_repo(s->cfg));
	if (watcher_branch(s->w))
		printf("branch\t%s\n", watcher_branch(s->w));
	watcher_dirs(s->w, S_report_dir, NULL);
	printf("settle_ms\t%d\n", wc->settle_ms);
	printf("fetch_interval\t%d\n",
	       watcher_is_git(s->w) && wc->remote ? wc->fetch_interval : 0);
	printf("scanned\t1\n");
	fflush(stdout);
}

/* The rest, at the end of the pass: when to come back, the counts, and
 * "end" when the pass went through (the supervisor applies no report
 * without it, and tries again later). */
static void S_worker_report(struct svc *s, bool whole)
{
	struct nt_err err = {{0}};
	int64_t due = -1;
	int64_t held = store_held_next(s->st);

	if (store_next_due(s->st, NULL, NULL, &due, &err) != NT_OK) {
		log_warnx("%s", err.msg);
		whole = false; /* the supervisor tries again later */
	}

	if (due < 0 || (held >= 0 && held < due))
		due = held;
	printf("next\t%lld\n", (long long)due);
	printf("counts\t%zu %zu %zu %zu\n", s->posts, s->sent, s->retried,
	       s->failed);
	if (whole)
		printf("end\t1\n");
	fflush(stdout);
}

/* ---- scan ------------------------------------------------------------ */

static const char S_scan_usage[] =
	"usage: notify [-c FILE] scan [--baseline | --backfill N] "
	"[--dry-run]\n";

struct scan_args {
	enum pass how;
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

/* A fetch failure is logged and tried again at the next interval. */
static void S_fetch(struct svc *s)
{
	struct nt_err err = {{0}};

	if (watcher_fetch(s->w, &err) != NT_OK)
		log_warnx("%s (will try again)", err.msg);
}

static int S_scan(const struct cli_ctx *ctx, struct scan_args *a)
{
	struct svc s = {0};
	struct nt_err err = {{0}};
	nt_rc rc;

	s.dry_run = a->dry_run;
	s.progress = isatty(STDERR_FILENO) && !log_to_journal();
	rc = S_up(&s, ctx->cfg, &err);
	if (rc == NT_OK && a->fetch)
		S_fetch(&s);
	for (size_t i = 0; rc == NT_OK && i < a->moved_from.n; i++)
		watcher_moved(s.w, a->moved_from.v[i], a->moved_to.v[i]);
	if (rc == NT_OK)
		rc = S_pass(&s, a->how, (size_t)a->backfill, &err);
	if (rc == NT_OK && !s.dry_run)
		rc = S_held_pass(&s, &err);
	if (rc == NT_OK && a->worker)
		S_worker_scanned(&s);
	if (rc == NT_OK)
		rc = S_deliver(&s, &err);
	/* even after a failed delivery: what waits must be come back to */
	if (a->worker && s.st)
		S_worker_report(&s, rc == NT_OK);
	S_down(&s);
	if (rc) {
		log_warnx("%s", err.msg);
		return cli_exit_code(rc);
	}
	if (s.failed)
		return EX_UNAVAILABLE;
	return s.retried ? EX_TEMPFAIL : EX_OK;
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
