/*
 * cmd_post.c - `notify --post PATH... [--channel NAME]... [--dry-run]`:
 * one post (or several, a digest past the threshold) rendered for each
 * channel.  With --dry-run it prints, per channel, a header line and the
 * exact payload, and touches neither network nor state.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <stdint.h>

#include "cli.h"
#include "notify/alert.h"
#include "notify/announce.h"
#include "notify/chan.h"
#include "notify/dispatch.h"
#include "notify/filter.h"
#include "notify/log.h"
#include "notify/post.h"
#include "notify/render.h"
#include "notify/site.h"
#include "notify/store.h"
#include "notify/text.h"

/* Channels one call may name; a configuration has a handful. */
#define POST_MAX_CHANS 64

/* No limit on --post: a morning's backfill may name thousands. */
struct post_args {
	const char **posts; /* owned array, borrowed strings */
	size_t n_posts;
	const char *chans[POST_MAX_CHANS];
	size_t n_chans;
	bool dry_run;
	bool force;
};

struct loaded {
	json_object **alerts; /* owned, n of them */
	char **site_locale;
	char *site_link; /* the first post's site's */
	size_t n;
};

static const char S_usage[] =
	"usage: notify [-c FILE] --post PATH [--post PATH]... "
	"[--channel NAME]... [--dry-run] [--force]\n";

static int S_args(int argc, char **argv, struct post_args *a)
{
	static const struct option opts[] = {
		{"post", required_argument, NULL, 'p'},
		{"channel", required_argument, NULL, 'c'},
		{"dry-run", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0}};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->posts = nt_xrealloc(
				a->posts, (a->n_posts + 1) * sizeof(*a->posts));
			a->posts[a->n_posts++] = optarg;
			break;
		case 'c':
			if (a->n_chans == POST_MAX_CHANS) {
				fprintf(stderr,
					"notify: at most %d --channel\n",
					POST_MAX_CHANS);
				return EX_USAGE;
			}
			a->chans[a->n_chans++] = optarg;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'f':
			a->force = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind == argc && a->n_posts > 0)
		return EX_OK;
usage:
	free(a->posts);
	a->posts = NULL;
	fputs(S_usage, stderr);
	return EX_USAGE;
}

/* Parses every post; a bad one is reported and left out. */
static nt_rc S_load(const struct cli_ctx *ctx, const struct post_args *a,
		    struct loaded *l)
{
	struct site *site = NULL;
	nt_rc first = NT_OK;

	l->alerts = nt_xcalloc(a->n_posts + 1, sizeof(*l->alerts));
	l->site_locale = nt_xcalloc(a->n_posts + 1, sizeof(*l->site_locale));
	for (size_t i = 0; i < a->n_posts; i++) {
		struct nt_err err = {{0}};
		struct post *p = NULL;
		nt_rc rc = post_create(a->posts[i], config_post_opts(ctx->cfg),
				       &p, &err);

		if (rc == NT_OK)
			rc = cli_site_for(ctx, a->posts[i], &site, &err);
		if (rc) {
			log_warnx("%s", err.msg);
			first = first ? first : rc;
			post_free(p);
			continue;
		}
		l->alerts[l->n] = alert_create(p, site);
		l->site_locale[l->n] = site && site_locale(site)
					       ? nt_xstrdup(site_locale(site))
					       : NULL;
		if (l->n == 0)
			l->site_link = cli_site_link(site);
		l->n++;
		post_free(p);
	}
	site_free(site);
	return first;
}

/* A file name, an error text: untrusted, no control character reaches
 * the terminal (text_printable()). */
static void S_print_safe(const char *s)
{
	char *p = text_printable(s);

	if (p)
		fputs(p, stdout);
	free(p);
}

/* SOURCE_DATE_EPOCH makes the Date of emails reproducible. */
static time_t S_now(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (e && e[0]) {
		v = strtoll(e, &end, 10);
		if (*end == '\0' && v >= 0)
			return (time_t)v;
	}
	return time(NULL);
}

static nt_rc S_print_put(struct announce_sink *s, const struct chan_conf *ch,
			 const char *key, struct chan_msgs *msgs,
			 json_object *const *covered, size_t n_covered,
			 struct nt_err *err)
{
	(void)s, (void)key, (void)covered, (void)n_covered, (void)err;
	announce_print(stdout, ch, NULL, 0, msgs);
	return NT_OK;
}

static void S_print_skip(struct announce_sink *s, const struct chan_conf *ch,
			 json_object *alert, const char *why)
{
	(void)s;
	printf("--- %s (%s) skips ", ch->name, config_chan_type_name(ch->type));
	S_print_safe(alert_id(alert));
	printf(": %s\n", why);
}

static nt_rc S_render_all(const struct cli_ctx *ctx, const struct post_args *a,
			  const struct loaded *l, struct announce_sink *sink,
			  struct nt_err *err)
{
	struct announce_sel sel = {a->chans, a->n_chans};
	struct announce_site site = {l->site_locale[0], l->site_link};

	return announce_render(ctx->cfg, l->alerts, l->n, &site, &sel, S_now(),
			       sink, err);
}

static int S_dry_run(const struct cli_ctx *ctx, const struct post_args *a,
		     const struct loaded *l)
{
	struct announce_sink sink = {S_print_put, S_print_skip};
	struct nt_err err = {{0}};
	nt_rc rc = S_render_all(ctx, a, l, &sink, &err);

	if (rc)
		log_warnx("%s", err.msg);
	return cli_exit_code(rc);
}

/* ---- sending ------------------------------------------------------ */

/* What each row came to, for the closing lines and the exit status. */
struct results {
	size_t sent, temp, failed;
	int64_t *told; /* ids of the rows whose end state was printed */
	size_t n_told;
};

static bool S_told(const struct results *r, int64_t id)
{
	for (size_t i = 0; i < r->n_told; i++)
		if (r->told[i] == id)
			return true;
	return false;
}

static void S_when(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	buf[0] = '\0';
	if (t >= 0)
		strftime(buf, n, "%H:%M:%S", localtime_r(&tt, &tm));
}

/* "POST CHANNEL[ to RCPT]: " */
static void S_row_head(const struct dlv *row)
{
	S_print_safe(row->post_id); /* a file name: no control character */
	printf(" %s%s", row->channel,
	       row->recipient && row->recipient[0] ? " to " : "");
	S_print_safe(row->recipient);
	fputs(": ", stdout);
}

/* The end state of a row this run sent, one line. */
static void S_report(void *ctx, const struct dlv *row,
		     const struct chan_outcome *o, int64_t next_at, bool final)
{
	struct results *r = ctx;
	char when[32];

	if (!final) /* retried in this run: its end state comes later */
		return;
	r->told = nt_xrealloc(r->told, (r->n_told + 1) * sizeof(*r->told));
	r->told[r->n_told++] = row->id;
	S_row_head(row);
	if (o->fate == CHAN_SENT) {
		printf("sent\n");
		r->sent++;
	} else if (o->fate == CHAN_TEMP) {
		S_when(next_at, when, sizeof(when));
		printf("queued for retry at %s (", when);
		S_print_safe(o->reason);
		printf(")\n");
		r->temp++;
	} else {
		printf("failed (");
		S_print_safe(o->reason);
		printf(")\n");
		r->failed++;
	}
}

struct leftover {
	struct results *r;
	const struct post_args *a;
};

static bool S_chan_selected(const struct post_args *a, const char *name)
{
	if (a->n_chans == 0)
		return true;
	for (size_t i = 0; i < a->n_chans; i++)
		if (strcmp(a->chans[i], name) == 0)
			return true;
	return false;
}

/* A row of the posts given that this run did not bring to an end state
 * (queued before, failed before, or held by another sender): said too,
 * since the exit status speaks for every row of these posts. */
static void S_leftover(void *ctx, const struct dlv *row)
{
	struct leftover *lo = ctx;
	char when[32];

	if (row->state == DLV_SENT || S_told(lo->r, row->id) ||
	    !S_chan_selected(lo->a, row->channel))
		return;
	S_row_head(row);
	if (row->state == DLV_FAILED) {
		printf("failed (");
		S_print_safe(row->last_error ? row->last_error : "?");
		printf(")\n");
		lo->r->failed++;
		return;
	}
	if (row->state == DLV_SENDING) {
		S_when(row->lease_until, when, sizeof(when));
		printf("being sent by another process (lease until %s)\n",
		       when);
	} else {
		S_when(row->next_at, when, sizeof(when));
		printf("queued for retry at %s (", when);
		S_print_safe(row->last_error ? row->last_error
					     : "not tried yet");
		printf(")\n");
	}
	lo->r->temp++;
}

/* Nothing was queued for 'key' and all of it went before: say so. */
static void S_say_delivered(struct store *st, const char *key)
{
	size_t rows = 0, sent = 0, failed = 0;
	struct nt_err err = {{0}};

	if (store_post_state(st, key, &rows, &sent, &failed, &err) == NT_OK &&
	    rows > 0 && sent == rows) {
		S_print_safe(key);
		printf(": already delivered (use --force to send again)\n");
	}
}

/* Every post (or digest) with all its rows, in one transaction. */
static nt_rc S_enqueue(struct store *st, struct announce_queue *q, bool force,
		       int64_t now, struct nt_err *err)
{
	size_t n = 0;
	const struct store_item *items = announce_queue_items(q, &n);
	struct store_batch b = {.items = items, .n_items = n};
	size_t *added = nt_xcalloc(n + 1, sizeof(*added));
	nt_rc rc = store_commit_batch(st, &b, now, force, added, err);

	/* idempotent: a (post, channel, recipient) queued before adds
	 * nothing, so a new channel still gets the post */
	for (size_t i = 0; rc == NT_OK && i < n; i++)
		if (added[i] == 0)
			S_say_delivered(st, items[i].post_id);
	free(added);
	return rc;
}

/* Sends the rows of these posts on these channels, and only those; a
 * retry due within delivery.inline_retry is waited for here, later
 * ones are left to `notify watch` or `notify scan`.  Then says what
 * became of every row of the posts. */
static nt_rc S_deliver(const struct cli_ctx *ctx, const struct post_args *a,
		       struct store *st, struct announce_queue *q,
		       struct results *res, struct nt_err *err)
{
	size_t n = 0;
	const struct store_item *items = announce_queue_items(q, &n);
	const char **keys = nt_xcalloc(n + 1, sizeof(*keys));
	struct dispatch *d = dispatch_create(ctx->cfg, st);
	struct dispatch_req r = {.wait_until = (int64_t)time(NULL) +
					       config_inline_retry(ctx->cfg),
				 .report = S_report,
				 .ctx = res};
	struct leftover lo = {res, a};
	nt_rc rc;

	for (size_t i = 0; i < n; i++)
		keys[i] = items[i].post_id;
	r.scope = (struct dispatch_scope){keys, n, a->chans, a->n_chans};
	rc = dispatch_run(d, &r, err);
	for (size_t i = 0; i < n && rc == NT_OK; i++)
		rc = store_list_post(st, keys[i], S_leftover, &lo, err);
	dispatch_free(d);
	free(keys);
	return rc;
}

static int S_send(const struct cli_ctx *ctx, const struct post_args *a,
		  const struct loaded *l)
{
	struct announce_queue q;
	struct store *st = NULL;
	struct results res = {0};
	struct nt_err err = {{0}};
	const char *path = config_state(ctx->cfg);
	nt_rc rc;

	if (path == NULL) {
		log_warnx("%s: 'state' is not set: sending needs the outbox",
			  config_path(ctx->cfg));
		return cli_exit_code(NT_ECONFIG);
	}
	announce_queue_init(&q);
	q.base.skip = S_print_skip;
	rc = store_open(path, &st, &err);
	if (rc == NT_OK)
		rc = S_render_all(ctx, a, l, &q.base, &err);
	if (rc == NT_OK)
		rc = S_enqueue(st, &q, a->force, (int64_t)time(NULL), &err);
	if (rc == NT_OK)
		rc = S_deliver(ctx, a, st, &q, &res, &err);
	announce_queue_free(&q);
	store_close(st);
	free(res.told);
	if (rc) {
		log_warnx("%s", err.msg);
		return cli_exit_code(rc);
	}
	if (res.failed)
		return EX_UNAVAILABLE;
	return res.temp ? EX_TEMPFAIL : EX_OK;
}

/* The configuration's channels are usable and every --channel names
 * one; else the exit status. */
static int S_check_chans(const struct cli_ctx *ctx, const struct post_args *a)
{
	struct nt_err err = {{0}};

	if (cli_check_channels(ctx->cfg, &err) != NT_OK) {
		log_warnx("%s", err.msg);
		return cli_exit_code(NT_ECONFIG);
	}
	for (size_t k = 0; k < a->n_chans; k++) {
		if (config_channel_by_name(ctx->cfg, a->chans[k]) == NULL) {
			fprintf(stderr, "notify: no channel named '%s' in %s\n",
				a->chans[k], config_path(ctx->cfg));
			return EX_USAGE;
		}
	}
	return EX_OK;
}

int cmd_post(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct post_args a = {0};
	struct loaded l = {0};
	nt_rc bad = NT_OK;
	int code = S_args(argc, argv, &a);

	if (code == EX_OK)
		code = S_check_chans(ctx, &a);
	if (code == EX_OK) {
		bad = S_load(ctx, &a, &l);
		if (l.n > 0)
			code = a.dry_run ? S_dry_run(ctx, &a, &l)
					 : S_send(ctx, &a, &l);
	}
	for (size_t i = 0; i < l.n; i++) {
		json_object_put(l.alerts[i]);
		free(l.site_locale[i]);
	}
	free(l.alerts);
	free(l.site_locale);
	free(l.site_link);
	free(a.posts);
	if (code == EX_OK && bad)
		code = cli_exit_code(bad);
	return code;
}
