/*
 * cmd_watch.c - `notify watch` (the service) and `notify scan` (one
 * pass): the watcher finds new files, they are parsed and judged (not
 * published, held until their date), announced through the outbox, and
 * the outbox is worked.
 *
 * `watch` is one poll(2) loop over three descriptors: inotify (the
 * watcher), a timerfd (the next thing due: a settled scan, a retry, a
 * held post, a fetch, the watchdog) and a signalfd (SIGTERM, SIGINT,
 * SIGHUP), so that a signal is handled between two sends, never in the
 * middle of one.
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
#include "notify/watcher.h"

/* Rows sent between two looks at the signals (one send at a time, so a
 * SIGTERM waits for the send in flight only). */
#define SEND_STEP 1

/* Everything one configuration sets up. */
struct svc {
	struct config *cfg;
	struct store *st;
	struct watcher *w;
	struct dispatch *d;
	bool dry_run;
	bool progress; /* a terminal: a progress line instead of lines */
	/* counts since start, for STATUS */
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
	struct nt_strv seen; /* marked seen without being announced */
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
	nt_strv_clear(&pl->seen);
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

static void S_say_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(buf, n, "%Y-%m-%d %H:%M:%S %z", localtime_r(&tt, &tm));
}

/* Reads, parses and judges file 'f': into pl->ready, a hold, or a log
 * line saying why not. */
static void S_judge(struct svc *s, struct site *site, struct plan *pl,
		    const struct watch_file *f, int64_t now)
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
	} else {
		pl->ready = nt_xrealloc(pl->ready,
					(pl->n_ready + 1) * sizeof(*pl->ready));
		pl->ready[pl->n_ready++] = (struct ready){
			alert_create(p, site), when, nt_xstrdup(f->rel)};
	}
	post_free(p);
}

/* ---- one batch ------------------------------------------------------ */

static void S_print_skip(struct announce_sink *sk, const struct chan_conf *ch,
			 json_object *alert, const char *why)
{
	(void)sk;
	log_info("%s: %s skips it: %s",
		 json_object_get_string(json_object_object_get(alert, "id")),
		 ch->name, why);
}

static nt_rc S_dry_put(struct announce_sink *sk, const struct chan_conf *ch,
		       const char *key, struct chan_msgs *msgs,
		       json_object *const *covered, size_t n_covered,
		       struct nt_err *err)
{
	(void)sk, (void)covered, (void)err;
	for (size_t i = 0; i < msgs->n; i++) {
		printf("--- %s (%s) %s%s%s, %zu bytes: %s", ch->name,
		       config_chan_type_name(ch->type), msgs->v[i].type,
		       msgs->v[i].recipient ? " to " : "",
		       msgs->v[i].recipient ? msgs->v[i].recipient : "",
		       msgs->v[i].len, key);
		if (n_covered > 1)
			printf(" (%zu posts)", n_covered);
		putchar('\n');
		fwrite(msgs->v[i].body, 1, msgs->v[i].len, stdout);
		putchar('\n');
	}
	return NT_OK;
}

/* Announces what 'pl' made ready and commits the whole batch. */
static nt_rc S_commit(struct svc *s, struct site *site, struct plan *pl,
		      const char *mark, char *const *renamed, size_t n_renamed,
		      int64_t now, struct nt_err *err)
{
	struct announce_queue q;
	json_object **alerts = nt_xcalloc(pl->n_ready + 1, sizeof(*alerts));
	const char *locale = site ? site_locale(site) : NULL;
	struct store_batch b = {0};
	nt_rc rc;

	if (pl->n_ready > 0) /* qsort(NULL, 0, ...) is undefined */
		qsort(pl->ready, pl->n_ready, sizeof(*pl->ready), S_by_date);
	for (size_t i = 0; i < pl->n_ready; i++) {
		alerts[i] = pl->ready[i].alert;
		/* one every filter leaves out is handled all the same */
		nt_strv_pushdup(&pl->seen,
				json_object_get_string(json_object_object_get(
					alerts[i], "id")));
	}
	for (size_t i = 0; i < n_renamed; i++)
		nt_strv_pushdup(&pl->seen, renamed[i]);
	S_fix_holds(pl);
	announce_queue_init(&q);
	q.base.skip = S_print_skip;
	if (s->dry_run) {
		struct announce_sink dry = {S_dry_put, S_print_skip};

		rc = announce_render(s->cfg, alerts, pl->n_ready, locale, NULL,
				     (time_t)now, &dry, err);
		goto out;
	}
	rc = announce_render(s->cfg, alerts, pl->n_ready, locale, NULL,
			     (time_t)now, &q.base, err);
	if (rc == NT_OK) {
		b.items = announce_queue_items(&q, &b.n_items);
		b.seen = (const char *const *)pl->seen.v;
		b.n_seen = pl->seen.n;
		b.holds = pl->holds;
		b.n_holds = pl->n_holds;
		b.unholds = (const char *const *)pl->unholds.v;
		b.n_unholds = pl->unholds.n;
		b.kv_key = mark ? WATCHER_MARK_KEY : NULL;
		b.kv_value = mark;
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

		nt_strv_pushdup(&pl->seen,
				json_object_get_string(json_object_object_get(
					r->alert, "id")));
		json_object_put(r->alert);
		free(r->rel);
		memmove(r, r + 1, --pl->n_ready * sizeof(*r));
	}
}

/* One scan: what is new is judged, announced and committed.  Returns the
 * store's or the watcher's error; a bad post is only logged. */
static nt_rc S_pass(struct svc *s, enum pass how, size_t backfill,
		    struct nt_err *err)
{
	struct watch_batch b;
	struct plan pl = {0};
	struct site *site = NULL;
	int64_t now = (int64_t)time(NULL);
	nt_rc rc = watcher_scan(s->w, how != PASS_NEW, &b, err);

	if (rc)
		return rc;
	if (b.rewritten)
		log_warnx("%s: the last processed commit is no longer in the "
			  "history of %s: only posts never seen are new",
			  config_site_repo(s->cfg),
			  watcher_branch(s->w) ? watcher_branch(s->w) : "HEAD");
	if ((b.first_run && how == PASS_NEW) || how == PASS_BASELINE) {
		for (size_t i = 0; i < b.n; i++)
			nt_strv_pushdup(&pl.seen, b.v[i].id);
		log_notice("baseline: %zu files recorded as seen%s%s; nothing "
			   "sent",
			   b.n, b.commit[0] ? " at commit " : "", b.commit);
	} else {
		if (b.n > 0 || b.n_renamed > 0)
			site = S_site(s);
		for (size_t i = 0; i < b.n; i++)
			S_judge(s, site, &pl, &b.v[i], now);
		if (how == PASS_BACKFILL)
			S_keep_newest(&pl, backfill);
		if (pl.n_ready)
			log_notice("%zu new post%s%s%s", pl.n_ready,
				   pl.n_ready > 1 ? "s" : "",
				   b.commit[0] ? " at commit " : "", b.commit);
	}
	if (b.mark || pl.n_ready || pl.seen.n || pl.n_holds || b.n_renamed)
		rc = S_commit(s, site, &pl, b.mark, b.renamed, b.n_renamed, now,
			      err);
	S_plan_clear(&pl);
	site_free(site);
	watch_batch_clear(&b);
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

		if (watcher_lookup(s->w, l.rels.v[i], &f, &gone) != NT_OK) {
			log_info("drops the hold on %s: %s", l.ids.v[i],
				 gone.msg);
			nt_strv_pushdup(&pl.unholds, l.ids.v[i]);
			continue;
		}
		if (store_is_seen(s->st, f.id))
			nt_strv_pushdup(&pl.unholds, l.ids.v[i]);
		else
			S_judge(s, site, &pl, &f, now);
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
		     const struct chan_outcome *o, int64_t next_at)
{
	struct svc *s = ctx;
	const char *to = row->recipient && row->recipient[0] ? " to " : "";
	const char *rcpt = row->recipient ? row->recipient : "";
	char when[64];

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
	fprintf(stderr, "\rnotify: %zu/%zu sent, now %.60s\033[K",
		s->batch_done, s->batch_rows, row->post_id);
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

static void S_status(const struct svc *s, const char *doing)
{
	sdn_status("%s; %zu posts, %zu sent, %zu retried, %zu failed", doing,
		   s->posts, s->sent, s->retried, s->failed);
}

/* Whether a signal waits on 'sfd' (-1: none to look at). */
static bool S_signalled(int sfd)
{
	struct pollfd p = {sfd, POLLIN, 0};

	return sfd >= 0 && poll(&p, 1, 0) > 0;
}

/* Sends the rows due now, one at a time, until none is due or a signal
 * comes; a summary line closes a batch. */
static nt_rc S_deliver(struct svc *s, int sfd, struct nt_err *err)
{
	size_t sent = s->sent, retried = s->retried, failed = s->failed;
	bool any = false;
	nt_rc rc = NT_OK;

	if (s->dry_run)
		return NT_OK;
	if (s->progress)
		log_set_level(LOG_LVL_NOTICE);
	for (;;) {
		int64_t now = (int64_t)time(NULL);
		int64_t due = store_next_due(s->st, NULL);

		if (due < 0 || due > now || S_signalled(sfd))
			break;
		if (!any)
			S_status(s, "sending");
		any = true;
		rc = dispatch_run(s->d, now, SEND_STEP, S_report, s, err);
		if (rc)
			break;
	}
	if (s->progress)
		log_set_level(LOG_LVL_INFO);
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

/* ---- scan ------------------------------------------------------------ */

static const char S_scan_usage[] =
	"usage: notify [-c FILE] scan [--baseline | --backfill N] "
	"[--dry-run]\n";

int cmd_scan(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"baseline", no_argument, NULL, 'b'},
		{"backfill", required_argument, NULL, 'n'},
		{"dry-run", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0}};
	struct svc s = {0};
	struct nt_err err = {{0}};
	enum pass how = PASS_NEW;
	long backfill = 0;
	char *end;
	int c;
	nt_rc rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'b' && how == PASS_NEW) {
			how = PASS_BASELINE;
		} else if (c == 'n' && how == PASS_NEW) {
			how = PASS_BACKFILL;
			errno = 0;
			backfill = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || errno || backfill < 0 ||
			    backfill > 100000)
				goto usage;
		} else if (c == 'd') {
			s.dry_run = true;
		} else {
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	s.progress = isatty(STDERR_FILENO) && !log_to_journal();
	rc = S_up(&s, ctx->cfg, &err);
	if (rc == NT_OK)
		rc = S_pass(&s, how, (size_t)backfill, &err);
	if (rc == NT_OK && !s.dry_run)
		rc = S_held_pass(&s, &err);
	if (rc == NT_OK)
		rc = S_deliver(&s, -1, &err);
	S_down(&s);
	if (rc) {
		log_warnx("%s", err.msg);
		return cli_exit_code(rc);
	}
	if (s.failed)
		return EX_UNAVAILABLE;
	return s.retried ? EX_TEMPFAIL : EX_OK;
usage:
	fputs(S_scan_usage, stderr);
	return EX_USAGE;
}

/* ---- watch ----------------------------------------------------------- */

static int64_t S_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the loop waits for, in monotonic milliseconds (-1: nothing). */
struct deadlines {
	int64_t scan, fetch, watchdog;
};

static int64_t S_min(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* A time of the outbox (unix seconds) on the monotonic clock. */
static int64_t S_at(int64_t unix_s, int64_t now_ms)
{
	int64_t d;

	if (unix_s < 0)
		return -1;
	d = unix_s - (int64_t)time(NULL);
	return now_ms + (d > 0 ? d * 1000 : 0);
}

static void S_arm(int tfd, int64_t at, int64_t now)
{
	struct itimerspec its = {{0, 0}, {0, 0}};
	int64_t d = at - now;

	if (at >= 0) {
		if (d < 1)
			d = 1; /* 0 would disarm the timer */
		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
	}
	timerfd_settime(tfd, 0, &its, NULL);
}

/* SIGHUP: a new configuration, or the old one kept. */
static void S_reload(struct svc *s, const char *path, struct config **owned)
{
	struct nt_err err = {{0}};
	struct config *cfg = NULL;
	struct svc n = {0};

	if (config_load(path, true, &cfg, &err) != NT_OK ||
	    S_up(&n, cfg, &err) != NT_OK) {
		log_warnx("reload: %s; the running configuration is kept",
			  err.msg);
		config_free(cfg);
		return;
	}
	S_down(s);
	config_free(*owned);
	*owned = cfg;
	s->cfg = cfg;
	s->st = n.st;
	s->w = n.w;
	s->d = n.d;
	log_notice("reloaded %s", path);
}

static int S_signal_fd(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/*
 * Fetching runs in a child process: a remote that stalls must not stop
 * the loop (the watchdog, SIGTERM, deliveries), and libgit2 1.5 leaks
 * PCRE2 match data on every remote lookup (fixed upstream in 1.6, PR
 * #6382), which a short-lived child gives back when it exits.  The child
 * reports a failure as one line on a pipe; the fast-forward it makes is
 * seen by the parent's inotify like any other commit.
 */
#define FETCH_TIMEOUT_MS (120 * 1000)

struct fetcher {
	pid_t pid; /* 0: none running */
	int fd;	   /* the child's report, -1 when none */
	int64_t deadline;
};

static void S_fetch_start(struct svc *s, struct fetcher *f, int64_t now)
{
	int p[2];
	pid_t pid;

	if (f->pid > 0)
		return; /* the last one is still at it */
	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("fetch: pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct nt_err err = {{0}};
		sigset_t none;
		ssize_t w = 0;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(p[0]);
		if (watcher_fetch(s->w, &err) != NT_OK)
			w = write(p[1], err.msg, strlen(err.msg));
		_exit(w > 0 ? 1 : 0);
	}
	close(p[1]);
	if (pid < 0) {
		log_warn("fetch: fork");
		close(p[0]);
		return;
	}
	f->pid = pid;
	f->fd = p[0];
	f->deadline = now + FETCH_TIMEOUT_MS;
}

enum fetch_end { FETCH_DONE, FETCH_LATE, FETCH_STOP };

/* The child is done (its pipe closed), or late, or the loop stops: a
 * failure is logged and tried again at the next interval; never fatal. */
static void S_fetch_end(struct fetcher *f, enum fetch_end how)
{
	char msg[sizeof(((struct nt_err *)0)->msg)] = "";
	ssize_t n;
	int status = 0;

	if (f->pid <= 0)
		return;
	if (how != FETCH_DONE)
		kill(f->pid, SIGKILL);
	n = read(f->fd, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	waitpid(f->pid, &status, 0);
	close(f->fd);
	if (how == FETCH_STOP)
		;
	else if (how == FETCH_LATE)
		log_warnx("fetch: no answer in %d s (will try again)",
			  FETCH_TIMEOUT_MS / 1000);
	else if (msg[0])
		log_warnx("%s (will try again)", msg);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warnx("fetch: the fetching process failed (will try "
			  "again)");
	f->pid = 0;
	f->fd = -1;
}

static void S_watch_status(const struct svc *s)
{
	char doing[160];

	snprintf(doing, sizeof(doing), "watching %s (%s%s%s)",
		 config_site_repo(s->cfg),
		 watcher_is_git(s->w) ? "git" : "folder",
		 watcher_branch(s->w) ? ", " : "",
		 watcher_branch(s->w) ? watcher_branch(s->w) : "");
	S_status(s, doing);
}

/* Runs until SIGTERM or SIGINT.  Returns an exit code. */
static int S_loop(struct svc *s, const char *cfg_path, struct config **owned)
{
	sigset_t old;
	int sfd = S_signal_fd(&old);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int64_t wd = sdn_watchdog_usec() / 2000; /* ping twice a period */
	struct deadlines dl = {-1, -1, -1};
	struct fetcher fetch = {0, -1, -1};
	struct nt_err err = {{0}};
	bool stop = false;
	int ino;

	ino = watcher_watch(s->w, &err);
	if (sfd < 0 || tfd < 0 || ino < 0) {
		log_warnx("%s", ino < 0 ? err.msg : "signalfd/timerfd failed");
		return EX_OSERR;
	}
	if (watcher_is_git(s->w) && config_watch(s->cfg)->remote &&
	    config_watch(s->cfg)->fetch_interval > 0)
		dl.fetch = S_mono_ms();
	if (wd > 0)
		dl.watchdog = S_mono_ms();
	sdn_notify("READY=1", &err);
	S_watch_status(s);
	log_notice("watching %s (%s mode)", config_site_repo(s->cfg),
		   watcher_is_git(s->w) ? "git" : "directory");
	while (!stop) {
		int64_t now = S_mono_ms(), next;
		struct pollfd pf[4] = {{sfd, POLLIN, 0},
				       {ino, POLLIN, 0},
				       {tfd, POLLIN, 0},
				       {fetch.fd, POLLIN, 0}};
		struct signalfd_siginfo si;
		uint64_t ticks;
		int ms;

		/* what is due now */
		if (dl.watchdog >= 0 && dl.watchdog <= now) {
			sdn_notify("WATCHDOG=1", &err);
			dl.watchdog = now + wd;
		}
		if (fetch.pid > 0 && fetch.deadline <= now)
			S_fetch_end(&fetch, FETCH_LATE);
		if (dl.fetch >= 0 && dl.fetch <= now) {
			S_fetch_start(s, &fetch, now);
			dl.fetch =
				now +
				(int64_t)config_watch(s->cfg)->fetch_interval *
					1000;
		}
		if (dl.scan >= 0 && dl.scan <= now) {
			dl.scan = -1;
			if (S_pass(s, PASS_NEW, 0, &err) != NT_OK)
				log_warnx("%s", err.msg);
		}
		if (S_held_pass(s, &err) != NT_OK)
			log_warnx("%s", err.msg);
		if (S_deliver(s, sfd, &err) != NT_OK)
			log_warnx("%s", err.msg);
		S_watch_status(s);

		/* then wait for what comes next */
		now = S_mono_ms();
		next = S_min(dl.scan, S_min(dl.fetch, dl.watchdog));
		next = S_min(next, fetch.pid > 0 ? fetch.deadline : -1);
		next = S_min(next, S_at(store_next_due(s->st, NULL), now));
		next = S_min(next, S_at(store_held_next(s->st), now));
		S_arm(tfd, next, now);
		if (poll(pf, fetch.pid > 0 ? 4 : 3, -1) < 0 && errno != EINTR) {
			log_warn("poll");
			break;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				sdn_notify("RELOADING=1", &err);
				S_reload(s, cfg_path, owned);
				/* a new watcher: its own descriptor */
				ino = watcher_watch(s->w, &err);
				sdn_notify("READY=1", &err);
				dl.scan = S_mono_ms();
			} else {
				stop = true;
			}
		}
		if (ino < 0) {
			log_warnx("%s", err.msg);
			break;
		}
		ms = watcher_events(s->w);
		if (ms >= 0) {
			int64_t at = S_mono_ms() + ms;

			/* git: the first event decides; a folder: quiet time
			 * after the last one */
			dl.scan = watcher_is_git(s->w) && dl.scan >= 0 ? dl.scan
								       : at;
		}
		if (fetch.pid > 0 && pf[3].revents)
			S_fetch_end(&fetch, FETCH_DONE);
		while (read(tfd, &ticks, sizeof(ticks)) > 0)
			;
	}
	S_fetch_end(&fetch, FETCH_STOP);
	sdn_notify("STOPPING=1", &err);
	log_notice("stopping: %zu posts, %zu sent, %zu retried, %zu failed",
		   s->posts, s->sent, s->retried, s->failed);
	close(tfd);
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return stop ? EX_OK : EX_SOFTWARE;
}

int cmd_watch(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct config *owned = NULL;
	struct svc s = {0};
	struct nt_err err = {{0}};
	int code;
	nt_rc rc;

	(void)argv;
	if (argc != 1) {
		fputs("usage: notify [-c FILE] watch\n", stderr);
		return EX_USAGE;
	}
	/* the secrets too: a service should fail at start, not at the
	 * first post */
	rc = config_load(ctx->cfg_path, true, &owned, &err);
	if (rc == NT_OK)
		rc = S_up(&s, owned, &err);
	if (rc == NT_OK)
		rc = S_pass(&s, PASS_NEW, 0, &err);
	if (rc) {
		log_warnx("%s", err.msg);
		S_down(&s);
		config_free(owned);
		return cli_exit_code(rc);
	}
	code = S_loop(&s, ctx->cfg_path, &owned);
	S_down(&s);
	config_free(owned);
	return code;
}
