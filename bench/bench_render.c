/*
 * bench_render.c - how many posts a second the channels render into the
 * exact bytes their receivers get, on one core.
 *
 * usage: bench_render [--iterations N] [--min-rate R] [--strict]
 *                     [--templates DIR] POSTS_DIR
 *
 * Every *.md file of POSTS_DIR is read into memory once, the site is
 * opened once on the parent of POSTS_DIR (resolved with realpath(3), as
 * bench_parse does), and every post is parsed once into its alert and its
 * view (locale "fr", 5 key points), so that the timed loop measures
 * rendering only: neither the disk nor the parser.  Four channels are
 * built by hand, one of each kind (Slack Block Kit, Matrix, hookshot,
 * SMTP with one recipient), and rendered with the templates of DIR.
 *
 * One warm-up pass compiles the templates and checks that every post
 * renders on every channel.  One timed pass is, for every post and every
 * channel: chan_render() and chan_msgs_clear(); a post rendered into all
 * four channels counts once.  A second timed pass renders each channel
 * kind alone, for the cost of one message of each.  The fastest pass is
 * reported as well as the mean, because shared machines are noisy.
 *
 * Exit status: 0 done (even when --min-rate is missed, unless --strict),
 * 1 failure (or, with --strict, a missed target or a post that failed to
 * parse), 2 usage, 77 skip (no corpus).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "notify/alert.h"
#include "notify/chan.h"
#include "notify/config.h"
#include "notify/post.h"
#include "notify/render.h"
#include "notify/site.h"

/* 250 passes over the 48-post corpus take about 2 s on one core (2026),
 * and as much again for the per-channel passes: long enough to swamp
 * timer noise, short enough for a test suite. */
#define BENCH_ITERATIONS_DEFAULT 250

#define BENCH_LOCALE "fr"
#define BENCH_MAX_KEY_POINTS 5
#define BENCH_N_CHANS 4

/* What the channels see of one post, built once. */
struct item {
	json_object *alert;
	json_object *view;
};

struct items {
	struct item *v;
	size_t n;
};

/* Messages and bytes a pass gives, per channel. */
struct tally {
	size_t msgs[BENCH_N_CHANS];
	size_t bytes[BENCH_N_CHANS];
};

struct opts {
	const char *dir;
	const char *templates;
	long iterations;
	double min_rate; /* 0: no target */
	int strict;
};

static const char S_usage[] =
	"usage: bench_render [--iterations N] [--min-rate POSTS_PER_S] "
	"[--strict] [--templates DIR] POSTS_DIR\n";

/* Filters are NULL-terminated lists, never NULL. */
static const char *const S_no_filter[] = {NULL};
static const char *const S_smtp_to[] = {"veille@lists.example.org", NULL};

/* Parses every post once into its alert and view; returns the number of
 * posts the parser rejected (they are left out). */
static size_t S_items_build(struct items *it, const struct corpus *c,
			    const struct site *site)
{
	const struct alert_view_opts vo = {BENCH_LOCALE, BENCH_MAX_KEY_POINTS};
	struct nt_err err;
	size_t bad = 0;

	it->v = nt_xcalloc(c->n ? c->n : 1, sizeof(*it->v));
	it->n = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct sample *s = &c->v[i];
		struct post *p = NULL;
		struct item *x = &it->v[it->n];

		if (post_parse_buffer(s->path, s->data, s->len, NULL, &p,
				      &err)) {
			fprintf(stderr, "bench_render: rejected: %s\n",
				err.msg);
			bad++;
			continue;
		}
		x->alert = alert_create(p, site);
		x->view = alert_view(x->alert, &vo);
		post_free(p);
		it->n++;
	}
	return bad;
}

static void S_items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++) {
		json_object_put(it->v[i].view);
		json_object_put(it->v[i].alert);
	}
	free(it->v);
}

static void S_chan_init(struct chan_conf *ch, const char *name,
			enum chan_type type)
{
	memset(ch, 0, sizeof(*ch));
	ch->name = name;
	ch->type = type;
	ch->enabled = true;
	ch->digest_threshold = -1;
	ch->filter.tags_any = S_no_filter;
	ch->filter.tags_none = S_no_filter;
	ch->filter.keywords = S_no_filter;
	ch->filter.skip_without_key_points = -1;
}

/* One channel of each kind, as a config file would give them. */
static void S_chans_init(struct chan_conf ch[BENCH_N_CHANS])
{
	S_chan_init(&ch[0], "soc", CHAN_SLACK);
	ch[0].flavor = "slack";
	S_chan_init(&ch[1], "veille", CHAN_MATRIX);
	S_chan_init(&ch[2], "hook", CHAN_HOOKSHOT);
	S_chan_init(&ch[3], "mail", CHAN_SMTP);
	ch[3].port = 587;
	ch[3].from = "Veille cyber <veille@example.org>";
	ch[3].to = S_smtp_to;
	ch[3].list_id = "veille.example.org";
}

/* Renders item 'x' on channel 'ch' and frees the messages; 0 on success.
 * With 't', counts the messages and their bytes in t[k]. */
static int S_render_one(const struct chan_conf *ch, const struct chan_env *env,
			const struct item *x, struct tally *t, size_t k)
{
	const struct chan_item ci = {x->alert, x->view, false};
	struct chan_msgs msgs = {0};
	struct nt_err err;

	if (chan_render(ch, env, &ci, &msgs, &err)) {
		fprintf(stderr, "bench_render: %s: %s\n", ch->name, err.msg);
		return -1;
	}
	t->msgs[k] += msgs.n;
	for (size_t m = 0; m < msgs.n; m++)
		t->bytes[k] += msgs.v[m].len;
	chan_msgs_clear(&msgs);
	return 0;
}

/* Untimed pass: compiles the templates, warms the caches and checks that
 * every post renders on every channel; fills 't' for one pass. */
static int S_check(const struct items *it, const struct chan_conf *ch,
		   const struct chan_env *env, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < it->n; i++)
		for (size_t k = 0; k < BENCH_N_CHANS; k++)
			if (S_render_one(&ch[k], env, &it->v[i], t, k))
				return -1;
	return 0;
}

/* Timed loop over the channels [k0, k1): every post into each of them,
 * 'iterations' times.  Returns the elapsed seconds (negative on a render
 * failure) and, in *best, those of the fastest pass. */
static double S_run(const struct items *it, const struct chan_conf *ch,
		    size_t k0, size_t k1, const struct chan_env *env,
		    long iterations, double *best, struct tally *t)
{
	double t0 = bench_now();
	double prev = t0;

	*best = 0;
	for (long n = 0; n < iterations; n++) {
		double now;

		for (size_t i = 0; i < it->n; i++)
			for (size_t k = k0; k < k1; k++)
				if (S_render_one(&ch[k], env, &it->v[i], t, k))
					return -1;
		now = bench_now();
		if (n == 0 || now - prev < *best)
			*best = now - prev;
		prev = now;
	}
	return prev - t0;
}

static int S_parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"iterations", required_argument, NULL, 'n'},
		{"min-rate", required_argument, NULL, 'r'},
		{"strict", no_argument, NULL, 's'},
		{"templates", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double v;
	int c;

	o->iterations = BENCH_ITERATIONS_DEFAULT;
	o->templates = "conf/templates";
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (bench_parse_number(optarg, &v) || v != (long)v)
				return -1;
			o->iterations = (long)v;
			break;
		case 'r':
			if (bench_parse_number(optarg, &o->min_rate))
				return -1;
			break;
		case 's':
			o->strict = 1;
			break;
		case 't':
			o->templates = optarg;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 1)
		return -1;
	o->dir = argv[optind];
	return 0;
}

/* Each channel kind alone, 'iterations' passes: one line per channel,
 * in microseconds per message.  0 on success. */
static int S_report_chans(const struct opts *o, const struct items *it,
			  const struct chan_conf *ch,
			  const struct chan_env *env, const struct tally *one)
{
	printf("per channel (each alone, %ld passes):\n", o->iterations);
	for (size_t k = 0; k < BENCH_N_CHANS; k++) {
		struct tally t = {{0}, {0}};
		double best;
		double secs =
			S_run(it, ch, k, k + 1, env, o->iterations, &best, &t);
		double per_pass = (double)one->msgs[k];

		if (secs < 0)
			return -1;
		printf("  %-8s %-6s %7.1f us/msg (fastest pass %.1f), "
		       "%.0f msgs/s, %.0f B/msg\n",
		       config_chan_type_name(ch[k].type), ch[k].name,
		       t.msgs[k] ? secs * 1e6 / (double)t.msgs[k] : 0,
		       per_pass > 0 ? best * 1e6 / per_pass : 0,
		       secs > 0 ? (double)t.msgs[k] / secs : 0,
		       per_pass > 0 ? (double)one->bytes[k] / per_pass : 0);
	}
	return 0;
}

/* Prints the results; returns 1 when --strict turns them into a failure. */
static int S_report(const struct opts *o, const struct corpus *c,
		    const struct items *it, size_t bad, const struct tally *one,
		    double secs, double best)
{
	double total = (double)it->n * (double)o->iterations;
	double rate = secs > 0 ? total / secs : 0;
	size_t msgs = 0;
	size_t bytes = 0;
	int fail = o->strict && bad > 0;

	for (size_t k = 0; k < BENCH_N_CHANS; k++) {
		msgs += one->msgs[k];
		bytes += one->bytes[k];
	}
	printf("corpus: %zu posts, %.1f KiB of Markdown, %zu messages and "
	       "%.1f KiB of payload a pass\n",
	       c->n, (double)c->bytes / 1024.0, msgs, (double)bytes / 1024.0);
	if (bad)
		printf("warning: %zu posts rejected by the parser\n", bad);
	printf("render: %.0f posts into %d channels in %.2f s = %.0f posts/s "
	       "(one core)\n",
	       total, BENCH_N_CHANS, secs, rate);
	printf("per post: %.1f us for all channels, %.1f us per message\n",
	       rate > 0 ? 1e6 / rate : 0,
	       msgs > 0 && secs > 0
		       ? secs * 1e6 / ((double)msgs * (double)o->iterations)
		       : 0);
	printf("fastest pass: %.0f posts/s\n",
	       best > 0 ? (double)it->n / best : 0);
	return fail;
}

/* The target line, after the peak RSS; returns 1 when --strict turns a
 * miss into a failure. */
static int S_report_target(const struct opts *o, const struct items *it,
			   double secs)
{
	double rate =
		secs > 0 ? (double)it->n * (double)o->iterations / secs : 0;
	int met = rate >= o->min_rate;

	printf("peak RSS: %.1f MB\n", bench_peak_rss_mb());
	if (o->min_rate <= 0)
		return 0;
	printf("target %.0f posts/s: %s\n", o->min_rate,
	       met ? "met" : "NOT met");
	return o->strict && !met;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct corpus c = {0};
	struct items it = {0};
	struct chan_conf ch[BENCH_N_CHANS];
	struct site *site = NULL;
	struct render *r = NULL;
	struct nt_err err;
	struct tally one;
	struct tally all = {{0}, {0}};
	struct chan_env env;
	size_t bad;
	double secs;
	double best;
	int fail;
	int rc = EXIT_FAILURE;

	if (S_parse_args(argc, argv, &o)) {
		fputs(S_usage, stderr);
		return BENCH_EXIT_USAGE;
	}
	rc = bench_open("bench_render", o.dir, &c, &site);
	if (rc) {
		bench_corpus_free(&c);
		return rc;
	}
	rc = EXIT_FAILURE;
	if (render_create(o.templates, &r, &err)) {
		fprintf(stderr, "bench_render: %s\n", err.msg);
		goto out;
	}
	bad = S_items_build(&it, &c, site);
	if (it.n == 0) {
		fprintf(stderr, "bench_render: no post parsed\n");
		goto out;
	}
	S_chans_init(ch);
	env.render = r;
	env.locale = render_locale(BENCH_LOCALE);
	env.now = time(NULL);
	if (S_check(&it, ch, &env, &one))
		goto out;
	secs = S_run(&it, ch, 0, BENCH_N_CHANS, &env, o.iterations, &best,
		     &all);
	if (secs < 0)
		goto out;
	fail = S_report(&o, &c, &it, bad, &one, secs, best);
	if (S_report_chans(&o, &it, ch, &env, &one))
		goto out;
	fail |= S_report_target(&o, &it, secs);
	rc = fail ? EXIT_FAILURE : EXIT_SUCCESS;
out:
	S_items_free(&it);
	render_free(r);
	site_free(site);
	bench_corpus_free(&c);
	return rc;
}
