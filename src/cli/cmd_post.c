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

/* Posts one call may name: a morning batch is 4 to 30. */
#define POST_MAX_ARGS 256

struct post_args {
	const char *posts[POST_MAX_ARGS];
	size_t n_posts;
	const char *chans[64];
	size_t n_chans;
	bool dry_run;
	bool force;
};

struct loaded {
	json_object *alerts[POST_MAX_ARGS];
	char *site_locale[POST_MAX_ARGS];
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
			if (a->n_posts == POST_MAX_ARGS)
				goto usage;
			a->posts[a->n_posts++] = optarg;
			break;
		case 'c':
			if (a->n_chans == sizeof(a->chans) / sizeof(*a->chans))
				goto usage;
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
	fputs(S_usage, stderr);
	return EX_USAGE;
}

/* Parses every post; a bad one is reported and left out. */
static nt_rc S_load(const struct cli_ctx *ctx, const struct post_args *a,
		    struct loaded *l)
{
	struct site *site = NULL;
	nt_rc first = NT_OK;

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
		l->n++;
		post_free(p);
	}
	site_free(site);
	return first;
}

/* A file name reaches the terminal: no control character with it. */
static void S_print_safe(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7F ? '?' : *s);
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

	return announce_render(ctx->cfg, l->alerts, l->n, l->site_locale[0],
			       &sel, S_now(), sink, err);
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

/* Nothing was queued for 'key': say so when it was all sent before. */
static void S_say_delivered(struct store *st, const char *key)
{
	size_t rows = 0, sent = 0, failed = 0;
	struct nt_err err = {{0}};

	if (store_post_state(st, key, &rows, &sent, &failed, &err) == NT_OK &&
	    rows > 0 && sent == rows)
		printf("%s: already delivered (use --force to send again)\n",
		       key);
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

/* What each row came to, for the closing lines and the exit status. */
struct results {
	size_t sent, temp, failed;
};

static void S_report(void *ctx, const struct dlv *row,
		     const struct chan_outcome *o, int64_t next_at)
{
	struct results *r = ctx;
	char when[32] = "";

	if (next_at >= 0) {
		time_t t = (time_t)next_at;
		struct tm tm;

		strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
	}
	S_print_safe(row->post_id); /* a file name: no control character */
	printf(" %s%s%s: ", row->channel,
	       row->recipient && row->recipient[0] ? " to " : "",
	       row->recipient ? row->recipient : "");
	if (o->fate == CHAN_SENT) {
		printf("sent\n");
		r->sent++;
	} else if (o->fate == CHAN_TEMP) {
		printf("queued for retry at %s (%s)\n", when, o->reason);
		r->temp++;
	} else {
		printf("failed (%s)\n", o->reason);
		r->failed++;
	}
}

/* Earliest retry of the rows just queued, or -1. */
static int64_t S_next_due(struct store *st, struct announce_queue *q)
{
	int64_t best = -1;
	size_t n = 0;
	const struct store_item *items = announce_queue_items(q, &n);

	for (size_t i = 0; i < n; i++) {
		int64_t t = store_next_due(st, items[i].post_id);

		if (t >= 0 && (best < 0 || t < best))
			best = t;
	}
	return best;
}

/* Sends what is due; a retry due within delivery.inline_retry is waited
 * for here, later ones are left to `notify watch` or `notify scan`. */
static nt_rc S_deliver(const struct cli_ctx *ctx, struct store *st,
		       struct announce_queue *q, struct results *res,
		       struct nt_err *err)
{
	struct dispatch *d = dispatch_create(ctx->cfg, st);
	int64_t start = (int64_t)time(NULL);
	nt_rc rc;

	for (int rounds = 0;; rounds++) {
		int64_t now = (int64_t)time(NULL), next;
		struct results round = {0};

		rc = dispatch_run(d, now, SIZE_MAX, S_report, &round, err);
		res->sent += round.sent;
		res->failed += round.failed;
		res->temp = round.temp ? round.temp : res->temp;
		next = S_next_due(st, q);
		if (rc || next < 0 || rounds >= 100 ||
		    next > start + config_inline_retry(ctx->cfg))
			break;
		if (next > now)
			sleep((unsigned)(next - now));
		res->temp = 0;
	}
	dispatch_free(d);
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
		rc = S_deliver(ctx, st, &q, &res, &err);
	announce_queue_free(&q);
	store_close(st);
	if (rc) {
		log_warnx("%s", err.msg);
		return cli_exit_code(rc);
	}
	if (res.failed)
		return EX_UNAVAILABLE;
	return res.temp ? EX_TEMPFAIL : EX_OK;
}

int cmd_post(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct post_args a = {0};
	struct loaded l = {0};
	nt_rc bad;
	int code = S_args(argc, argv, &a);

	if (code)
		return code;
	{
		struct nt_err err = {{0}};

		if (cli_check_channels(ctx->cfg, &err) != NT_OK) {
			log_warnx("%s", err.msg);
			return cli_exit_code(NT_ECONFIG);
		}
	}
	for (size_t k = 0; k < a.n_chans; k++) {
		if (config_channel_by_name(ctx->cfg, a.chans[k]) == NULL) {
			fprintf(stderr, "notify: no channel named '%s' in %s\n",
				a.chans[k], config_path(ctx->cfg));
			return EX_USAGE;
		}
	}
	bad = S_load(ctx, &a, &l);
	if (l.n == 0)
		code = EX_OK;
	else
		code = a.dry_run ? S_dry_run(ctx, &a, &l) : S_send(ctx, &a, &l);
	for (size_t i = 0; i < l.n; i++) {
		json_object_put(l.alerts[i]);
		free(l.site_locale[i]);
	}
	if (code == EX_OK && bad)
		code = cli_exit_code(bad);
	return code;
}
