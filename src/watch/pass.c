/*
 * pass.c - one pass: judge what the watcher found, hold what is dated
 * ahead, commit the batch, deliver (pass.h).
 */
#include "notify/pass.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/alert.h"
#include "notify/announce.h"
#include "notify/dispatch.h"
#include "notify/log.h"
#include "notify/post.h"
#include "notify/site.h"
#include "notify/store.h"
#include "notify/tz.h"
#include "notify/watcher.h"

struct pass {
	const struct config *cfg;
	struct store *st;
	struct watcher *w;
	struct dispatch *d;
	FILE *dry; /* a dry run prints here; NULL: a real pass */
	int64_t clock;
	struct pass_counts n;
	/* the site's zone, read once per name (tz_bad: it could not be,
	 * which was said once) */
	char *tz_name;
	struct tz *tz;
	bool tz_bad;
	/* pass_deliver()'s caller */
	pass_outcome_fn fn;
	void *fn_ctx;
};

static int64_t S_now(const struct pass *p)
{
	return p->clock ? p->clock : (int64_t)time(NULL);
}

nt_rc pass_open(const struct config *cfg, struct pass **out, struct nt_err *err)
{
	const char *repo = config_site_repo(cfg);
	size_t max = config_post_opts(cfg)->max_bytes;
	struct pass *p;
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
	p = nt_xcalloc(1, sizeof(*p));
	p->cfg = cfg;
	rc = store_open(config_state(cfg), &p->st, err);
	if (rc == NT_OK)
		rc = watcher_open(
			repo, config_posts_dir(cfg), config_watch(cfg),
			max ? max : POST_MAX_BYTES_DEFAULT, p->st, &p->w, err);
	if (rc) {
		pass_free(p);
		return rc;
	}
	p->d = dispatch_create(cfg, p->st);
	*out = p;
	return NT_OK;
}

void pass_free(struct pass *p)
{
	if (p == NULL)
		return;
	dispatch_free(p->d);
	watcher_free(p->w);
	store_close(p->st);
	tz_free(p->tz);
	free(p->tz_name);
	free(p);
}

void pass_set_clock(struct pass *p, int64_t now)
{
	p->clock = now;
}

void pass_set_dry_run(struct pass *p, FILE *out)
{
	p->dry = out;
}

void pass_fetch(struct pass *p)
{
	struct nt_err err = {{0}};

	if (watcher_fetch(p->w, &err) != NT_OK)
		log_warnx("%s (will try again)", err.msg);
}

void pass_moved(struct pass *p, const char *from_rel, const char *to_rel)
{
	watcher_moved(p->w, from_rel, to_rel);
}

const struct pass_counts *pass_counts(const struct pass *p)
{
	return &p->n;
}

struct watcher *pass_watcher(struct pass *p)
{
	return p->w;
}

nt_rc pass_next_due(struct pass *p, int64_t *at, struct nt_err *err)
{
	int64_t due = -1;
	int64_t held = store_held_next(p->st);
	nt_rc rc = store_next_due(p->st, NULL, NULL, &due, err);

	if (rc)
		return rc;
	if (due < 0 || (held >= 0 && held < due))
		due = held;
	*at = due;
	return NT_OK;
}

/* ---- when a post is published ---------------------------------------- */

/* The zone of 'site', or NULL (none, or one that cannot be read: said
 * once, naming the file it comes from). */
static const struct tz *S_zone(struct pass *p, const struct site *site)
{
	const char *name = site ? site_timezone(site) : NULL;
	struct nt_err err = {{0}};

	if (name == NULL)
		return NULL;
	if (p->tz_name && strcmp(p->tz_name, name) == 0)
		return p->tz;
	tz_free(p->tz);
	free(p->tz_name);
	p->tz = NULL;
	p->tz_name = nt_xstrdup(name);
	p->tz_bad = tz_open(NULL, name, &p->tz, &err) != NT_OK;
	if (p->tz_bad)
		log_warnx("%s/_config.yml: timezone: %s; dates without a zone "
			  "are taken in the machine's",
			  site_root(site), err.msg);
	return p->tz;
}

/* When a post is published: a date with a zone is exact; without one it
 * is taken in the site's timezone, else in the machine's, as Jekyll. */
static int64_t S_post_time(struct pass *p, const struct post *post,
			   const struct site *site)
{
	int y, mo, d, h, mi, s, zone = 0;
	const struct tz *z;
	struct tm tm;

	post_datetime(post, &y, &mo, &d, &h, &mi, &s);
	tm = (struct tm){.tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = s,
			 .tm_isdst = -1};
	if (post_zone(post, &zone))
		return (int64_t)timegm(&tm) - (int64_t)zone * 60;
	z = S_zone(p, site);
	if (z)
		return tz_mktime(z, y, mo, d, h, mi, s);
	return (int64_t)mktime(&tm);
}

static void S_say_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(buf, n, "%Y-%m-%d %H:%M:%S %z", localtime_r(&tt, &tm));
}

/* ---- the plan of a batch --------------------------------------------- */

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

/* What one batch decides, before it is committed. */
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

static void S_ready(struct plan *pl, const struct watch_file *f,
		    const struct post *post, const struct site *site,
		    int64_t when)
{
	struct ready *r;

	pl->ready =
		nt_xrealloc(pl->ready, (pl->n_ready + 1) * sizeof(*pl->ready));
	r = &pl->ready[pl->n_ready++];
	*r = (struct ready){alert_create(post, site), when, nt_xstrdup(f->rel),
			    ""};
	memcpy(r->blob, f->blob, sizeof(r->blob));
}

/* Reads and parses 'f'; NULL (logged, and not listed again until it
 * changes) when it is no post. */
static struct post *S_read(struct pass *p, const struct watch_file *f)
{
	struct nt_err err = {{0}};
	struct post *post = NULL;
	char *buf = NULL;
	size_t len = 0;
	nt_rc rc;

	if (f->skip) {
		log_info("skips %s: %s", f->rel, f->skip);
		watcher_ignore(p->w, f);
		return NULL;
	}
	rc = watcher_read(p->w, f, &buf, &len, &err);
	if (rc == NT_OK)
		rc = post_parse_buffer(f->path, buf, len,
				       config_post_opts(p->cfg), &post, &err);
	free(buf);
	if (rc) {
		log_warnx("skips %s", err.msg);
		watcher_ignore(p->w, f);
		return NULL;
	}
	return post;
}

/* Reads, parses and judges file 'f': into pl->ready (or, for a
 * baseline, pl->seen), a hold, or a log line saying why not.  A post
 * that is not published, or cannot be read, is left unseen, so that a
 * later change (published: true, a fix) brings it in. */
static void S_judge(struct pass *p, const struct site *site, struct plan *pl,
		    const struct watch_file *f, int64_t now, bool baseline)
{
	struct post *post = S_read(p, f);
	int64_t when;

	if (post == NULL)
		return;
	when = S_post_time(p, post, site);
	if (!post_published(post)) {
		log_info("skips %s: published: false", f->rel);
		watcher_ignore(p->w, f);
	} else if (site && !site_future(site) && when > now) {
		char t[64];

		S_say_time(when, t, sizeof(t));
		log_info("holds %s until %s (a future date; the site has "
			 "future: false)",
			 post_id(post), t);
		S_hold(pl, f, when);
		watcher_ignore(p->w, f);
	} else if (baseline) {
		S_seen(pl, post_id(post), f->rel, f->blob);
	} else {
		S_ready(pl, f, post, site, when);
	}
	post_free(post);
}

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

/* ---- committing a batch ---------------------------------------------- */

static void S_print_skip(struct announce_sink *sk, const struct chan_conf *ch,
			 json_object *alert, const char *why)
{
	(void)sk;
	log_info("%s: %s skips it: %s", alert_id(alert), ch->name, why);
}

/* The dry run's sink: what each channel would get, printed. */
struct dry_sink {
	struct announce_sink base; /* first: the sink is cast back */
	FILE *out;
};

static nt_rc S_dry_put(struct announce_sink *sk, const struct chan_conf *ch,
		       const char *key, struct chan_msgs *msgs,
		       json_object *const *covered, size_t n_covered,
		       struct nt_err *err)
{
	struct dry_sink *dry = (struct dry_sink *)sk;

	(void)covered, (void)err;
	announce_print(dry->out, ch, key, n_covered, msgs);
	return NT_OK;
}

/* The state a batch moves the outbox from and to (the last processed
 * commit): committed only if no other process moved it meanwhile. */
struct mark {
	const char *key, *old, *value; /* key NULL: none */
};

/* The store batch of plan 'pl' and the rows 'q' collected. */
static void S_batch(struct store_batch *b, struct plan *pl,
		    struct announce_queue *q, const struct mark *mark)
{
	memset(b, 0, sizeof(*b));
	b->items = announce_queue_items(q, &b->n_items);
	b->seen = pl->seen;
	b->n_seen = pl->n_seen;
	b->holds = pl->holds;
	b->n_holds = pl->n_holds;
	b->unholds = (const char *const *)pl->unholds.v;
	b->n_unholds = pl->unholds.n;
	b->kv_key = mark ? mark->key : NULL;
	b->kv_value = mark ? mark->value : NULL;
	b->kv_old = mark ? mark->old : NULL;
	b->kv_check = b->kv_key != NULL;
}

/* Every post of 'pl' (and each renamed one) to be marked seen; the alerts
 * to render, in the order they are to be sent. */
static json_object **S_order(struct plan *pl, const struct watch_file *renamed,
			     size_t n_renamed)
{
	json_object **alerts = nt_xcalloc(pl->n_ready + 1, sizeof(*alerts));

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
	return alerts;
}

/* Announces what 'pl' made ready and commits the whole batch (a dry run
 * prints it instead). */
static nt_rc S_commit(struct pass *p, const struct site *site, struct plan *pl,
		      const struct mark *mark, const struct watch_file *renamed,
		      size_t n_renamed, int64_t now, struct nt_err *err)
{
	json_object **alerts = S_order(pl, renamed, n_renamed);
	/* its home page: a digest's "... and N more" */
	char *link = site && site_url(site)
			     ? nt_xasprintf("%s%s/", site_url(site),
					    site_baseurl(site))
			     : NULL;
	struct announce_site as = {site ? site_locale(site) : NULL, link};
	struct dry_sink dry = {{S_dry_put, S_print_skip}, p->dry};
	struct announce_queue q;
	struct store_batch b;
	nt_rc rc;

	announce_queue_init(&q);
	q.base.skip = S_print_skip;
	rc = announce_render(p->cfg, alerts, pl->n_ready, &as, NULL,
			     (time_t)now, p->dry ? &dry.base : &q.base, err);
	if (rc == NT_OK && p->dry == NULL) {
		S_batch(&b, pl, &q, mark);
		rc = store_commit_batch(p->st, &b, now, false, NULL, err);
		if (rc == NT_OK) {
			p->n.rows = 0;
			for (size_t i = 0; i < b.n_items; i++)
				p->n.rows += b.items[i].n;
			p->n.posts += pl->n_ready;
		}
	}
	announce_queue_free(&q);
	free(alerts);
	free(link);
	return rc;
}

/* ---- a scan ------------------------------------------------------------ */

/* The site of site.repo, for links, dates and the language; NULL when its
 * _config.yml cannot be read (logged: links then lack the site's url). */
static struct site *S_site(struct pass *p)
{
	struct site *site = NULL;
	struct nt_err err = {{0}};

	if (site_open(config_site_repo(p->cfg), &site, &err) != NT_OK) {
		log_warnx("%s (links will lack the site's url)", err.msg);
		return NULL;
	}
	site_set_url(site, config_site_url(p->cfg));
	return site;
}

/* Judges every file of 'b' into 'pl', and says what it found. */
static void S_plan(struct pass *p, const struct site *site,
		   const struct watch_batch *b, struct plan *pl,
		   enum pass_how how, size_t backfill, int64_t now)
{
	bool baseline =
		(b->first_run && how == PASS_NEW) || how == PASS_BASELINE;

	if (b->rewritten)
		log_warnx("%s: the last processed commit is no longer in the "
			  "history of %s: only posts never seen are new",
			  config_site_repo(p->cfg),
			  watcher_branch(p->w) ? watcher_branch(p->w) : "HEAD");
	/* a baseline: every published post is seen; one not yet
	 * published, or dated ahead, is still to come */
	for (size_t i = 0; i < b->n; i++)
		S_judge(p, site, pl, &b->v[i], now, baseline);
	if (baseline) {
		log_notice("baseline: %zu posts recorded as seen%s%s; nothing "
			   "sent",
			   pl->n_seen, b->commit[0] ? " at commit " : "",
			   b->commit);
		return;
	}
	if (how == PASS_BACKFILL)
		S_keep_newest(pl, backfill);
	if (pl->n_ready)
		log_notice("%zu new post%s%s%s", pl->n_ready,
			   pl->n_ready > 1 ? "s" : "",
			   b->commit[0] ? " at commit " : "", b->commit);
}

/* One scan: what is new is judged, announced and committed.  NT_ETEMP
 * when another process committed meanwhile. */
static nt_rc S_scan_once(struct pass *p, enum pass_how how, size_t backfill,
			 struct nt_err *err)
{
	struct watch_batch b;
	struct plan pl = {0};
	struct site *site = NULL;
	int64_t now = S_now(p);
	nt_rc rc = watcher_scan(p->w, how != PASS_NEW, &b, err);
	struct mark mark = {WATCHER_MARK_KEY, b.prev, b.mark};

	if (rc)
		return rc;
	if (b.n > 0 || b.n_renamed > 0)
		site = S_site(p);
	S_plan(p, site, &b, &pl, how, backfill, now);
	if (b.mark || pl.n_ready || pl.n_seen || pl.n_holds || b.n_renamed)
		rc = S_commit(p, site, &pl, b.mark ? &mark : NULL, b.renamed,
			      b.n_renamed, now, err);
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

/* Judges held post 'id' at 'rel' again, into 'pl'. */
static nt_rc S_held_one(struct pass *p, const struct site *site,
			struct plan *pl, const char *id, const char *rel,
			int64_t now, struct nt_err *err)
{
	struct watch_file f;
	struct nt_err gone = {{0}};
	size_t before = pl->n_ready + pl->n_holds;
	bool seen = false;
	nt_rc rc = watcher_lookup(p->w, rel, &f, &gone);

	if (rc == NT_ENOENT) {
		log_info("drops the hold on %s: %s", id, gone.msg);
		nt_strv_pushdup(&pl->unholds, id);
		return NT_OK;
	}
	if (rc) /* held still: this pass fails, the next tries */
		return nt_fail(err, rc, "%s", gone.msg);
	rc = store_seen_get(p->st, f.id, &seen, err);
	if (rc == NT_OK && !seen)
		S_judge(p, site, pl, &f, now, false);
	/* neither sent nor held again (seen meanwhile, skipped now): no
	 * longer held, or it would be due at every pass; unseen, a later
	 * change still brings it in */
	if (rc == NT_OK && pl->n_ready + pl->n_holds == before)
		nt_strv_pushdup(&pl->unholds, id);
	watch_file_clear(&f);
	return rc;
}

static nt_rc S_held_pass(struct pass *p, struct nt_err *err)
{
	struct due_list l = {NT_STRV_INIT, NT_STRV_INIT};
	struct plan pl = {0};
	struct site *site = NULL;
	int64_t now = S_now(p);
	nt_rc rc = store_held_due(p->st, now, S_due_cb, &l, err);

	if (rc == NT_OK && l.ids.n > 0)
		site = S_site(p);
	for (size_t i = 0; rc == NT_OK && i < l.ids.n; i++)
		rc = S_held_one(p, site, &pl, l.ids.v[i], l.rels.v[i], now,
				err);
	if (rc == NT_OK && (pl.n_ready || pl.n_holds || pl.unholds.n))
		rc = S_commit(p, site, &pl, NULL, NULL, 0, now, err);
	S_plan_clear(&pl);
	site_free(site);
	nt_strv_clear(&l.ids);
	nt_strv_clear(&l.rels);
	return rc;
}

nt_rc pass_scan(struct pass *p, enum pass_how how, size_t backfill,
		struct nt_err *err)
{
	nt_rc rc = NT_OK;

	/* another process (a timer's scan beside the service) committed
	 * between our reading and our writing: our batch is stale */
	for (int tries = 0; tries < PASS_TRIES; tries++) {
		rc = S_scan_once(p, how, backfill, err);
		if (rc != NT_ETEMP)
			break;
		log_info("%s; reading again", err->msg);
	}
	if (rc == NT_OK && p->dry == NULL)
		rc = S_held_pass(p, err);
	return rc;
}

/* ---- delivering -------------------------------------------------------- */

static void S_outcome(void *ctx, const struct dlv *row,
		      const struct chan_outcome *o, int64_t next_at, bool final)
{
	struct pass *p = ctx;

	(void) final; /* counted as before the lanes: every attempt */
	if (o->fate == CHAN_SENT)
		p->n.sent++;
	else if (o->fate == CHAN_TEMP)
		p->n.retried++;
	else
		p->n.failed++;
	if (p->fn)
		p->fn(p->fn_ctx, row, o, next_at);
}

/* The one call of the dispatcher. */
nt_rc pass_deliver(struct pass *p, volatile sig_atomic_t *stop,
		   pass_outcome_fn fn, void *ctx, struct nt_err *err)
{
	struct dispatch_req r = {.wait_until = S_now(p) + PASS_WAIT_S,
				 .stop = stop,
				 .report = S_outcome,
				 .ctx = p};
	nt_rc rc;

	if (p->dry)
		return NT_OK;
	p->fn = fn;
	p->fn_ctx = ctx;
	rc = dispatch_run(p->d, &r, err);
	p->fn = NULL;
	p->fn_ctx = NULL;
	return rc;
}
