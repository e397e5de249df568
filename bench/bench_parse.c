/*
 * bench_parse.c - how many posts a second the parser and the alert model
 * get through on one core.
 *
 * usage: bench_parse [--iterations N] [--min-rate R] [--strict] POSTS_DIR
 *
 * Every *.md file of POSTS_DIR is read into memory once, so that the timed
 * loop measures parsing, not the disk.  The site is opened once on the
 * parent of POSTS_DIR (where _config.yml lives), resolved with realpath(3)
 * as site_find_root() does for the command line, so that alerts carry the
 * same relative paths.  One pass is, for every post: post_parse_buffer(),
 * alert_create(), alert_to_json() and the frees.  The fastest pass is
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
#include "notify/post.h"
#include "notify/site.h"

/* 1000 passes over the 48-post corpus take about 3 s on one core (2026):
 * long enough to swamp timer noise, short enough for a test suite. */
#define BENCH_ITERATIONS_DEFAULT 1000

struct opts {
	const char *dir;
	long iterations;
	double min_rate; /* 0: no target */
	int strict;
};

static const char S_usage[] =
	"usage: bench_parse [--iterations N] [--min-rate POSTS_PER_S] "
	"[--strict] POSTS_DIR\n";

/* One post through the whole pipeline; returns the JSON length, or -1
 * when the post was rejected ('err' then says why). */
static long S_one(const struct sample *s, const struct site *site,
		  struct nt_err *err)
{
	struct post *p = NULL;
	json_object *alert;
	long n;

	if (post_parse_buffer(s->path, s->data, s->len, NULL, &p, err))
		return -1;
	alert = alert_create(p, site);
	n = (long)strlen(alert_to_json(alert));
	json_object_put(alert);
	post_free(p);
	return n;
}

/* Untimed pass: warms the caches and reports posts the parser rejects,
 * since a benchmark over rejected posts would measure less work. */
static size_t S_check(const struct corpus *c, const struct site *site,
		      long *json_bytes)
{
	struct nt_err err;
	size_t bad = 0;

	*json_bytes = 0;
	for (size_t i = 0; i < c->n; i++) {
		long n = S_one(&c->v[i], site, &err);

		if (n < 0) {
			fprintf(stderr, "bench_parse: rejected: %s\n", err.msg);
			bad++;
			continue;
		}
		*json_bytes += n;
	}
	return bad;
}

/* The timed loop; returns the elapsed seconds and, in *best, those of the
 * fastest pass. */
static double S_run(const struct corpus *c, const struct site *site,
		    long iterations, double *best, long *sink)
{
	struct nt_err err;
	double t0 = bench_now();
	double prev = t0;

	*best = 0;
	for (long it = 0; it < iterations; it++) {
		double now;

		for (size_t i = 0; i < c->n; i++)
			*sink += S_one(&c->v[i], site, &err);
		now = bench_now();
		if (it == 0 || now - prev < *best)
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double v;
	int c;

	o->iterations = BENCH_ITERATIONS_DEFAULT;
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
		default:
			return -1;
		}
	}
	if (optind != argc - 1)
		return -1;
	o->dir = argv[optind];
	return 0;
}

/* Prints the results; returns 1 when --strict turns them into a failure. */
static int S_report(const struct opts *o, const struct corpus *c, size_t bad,
		    long json_bytes, double secs, double best)
{
	double total = (double)c->n * (double)o->iterations;
	double rate = secs > 0 ? total / secs : 0;
	int fail = o->strict && bad > 0;

	printf("corpus: %zu posts, %.1f KiB of Markdown, %.1f KiB of JSON a "
	       "pass\n",
	       c->n, (double)c->bytes / 1024.0, (double)json_bytes / 1024.0);
	if (bad)
		printf("warning: %zu posts rejected by the parser\n", bad);
	printf("parse: %.0f posts in %.2f s = %.0f posts/s (one core)\n", total,
	       secs, rate);
	printf("per post: %.1f us, %.1f MiB/s of Markdown\n",
	       rate > 0 ? 1e6 / rate : 0,
	       secs > 0 ? (double)c->bytes * (double)o->iterations / secs /
				  (1024.0 * 1024.0)
			: 0);
	printf("fastest pass: %.0f posts/s\n",
	       best > 0 ? (double)c->n / best : 0);
	printf("peak RSS: %.1f MB\n", bench_peak_rss_mb());
	if (o->min_rate > 0) {
		int met = rate >= o->min_rate;

		printf("target %.0f posts/s: %s\n", o->min_rate,
		       met ? "met" : "NOT met");
		fail |= o->strict && !met;
	}
	return fail;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct corpus c = {0};
	struct site *site = NULL;
	long json_bytes = 0;
	long sink = 0;
	size_t bad;
	double secs;
	double best;
	int rc;

	if (S_parse_args(argc, argv, &o)) {
		fputs(S_usage, stderr);
		return BENCH_EXIT_USAGE;
	}
	rc = bench_open("bench_parse", o.dir, &c, &site);
	if (rc) {
		bench_corpus_free(&c);
		return rc;
	}
	bad = S_check(&c, site, &json_bytes);
	secs = S_run(&c, site, o.iterations, &best, &sink);
	rc = S_report(&o, &c, bad, json_bytes, secs, best) ? EXIT_FAILURE
							   : EXIT_SUCCESS;
	site_free(site);
	bench_corpus_free(&c);
	return rc;
}
