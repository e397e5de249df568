/*
 * fuzz_post.c - libFuzzer entry point for the post parser (post.h) and the
 * alert model built on it (alert.h).
 *
 * An input is a whole post file, so any post is a seed as it stands.  Each
 * accepted post goes through every getter and alert_create(), then
 * alert_to_json(), and everything is freed: under -fsanitize=address a
 * leak or a stray byte is a crash.
 *
 * Links are built too (site_post_url() and the permalink styles): a few
 * sites, one per permalink style of site.h plus "no site", are opened once
 * on a temporary _config.yml and kept for the life of the process.  The
 * input length picks the site, so that every input always meets the same
 * one and a crash replays.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/alert.h"
#include "notify/post.h"
#include "notify/site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One _config.yml per site; NULL stands for alerts built without a site. */
static const char *const S_configs[] = {
	NULL,
	"url: https://fuzz.example.org\n",
	"url: https://fuzz.example.org/\nbaseurl: blog/\npermalink: pretty\n",
	"url: http://fuzz.example.org\npermalink: ordinal\n",
	"url: https://fuzz.example.org\nbaseurl: /b\npermalink: weekdate\n",
	"url: https://fuzz.example.org\npermalink: none\n",
	"url: https://fuzz.example.org\n"
	"permalink: /:categories/:year/:month/:day/:title:output_ext\n",
	"url: https://fuzz.example.org\n"
	"permalink: /:short_year/:i_month/:i_day/:y_day/:hour:minute:second/"
	":slug/:name/:path\n",
	"url: https://fuzz.example.org\npermalink: \":title\"\n",
};

#define S_NSITES (sizeof(S_configs) / sizeof(S_configs[0]))

/* The one piece of mutable state: opened on the first input, never freed,
 * and still reachable at exit, so LeakSanitizer does not count it. */
static struct site *S_sites[S_NSITES];
static int S_sites_ready;

/* Opens the site of 'config' in a fresh temporary folder, then removes
 * the folder: site_open() reads _config.yml once and keeps no handle. */
static struct site *S_site_open(const char *config)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = nt_xasprintf("%s/fuzz-site-XXXXXX", tmp ? tmp : "/tmp");
	char *cfg = NULL;
	struct site *s = NULL;
	struct nt_err err;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		goto fail;
	cfg = nt_xasprintf("%s/_config.yml", dir);
	f = fopen(cfg, "w");
	if (f != NULL) {
		fputs(config, f);
		if (fclose(f) == 0 && site_open(dir, &s, &err) != NT_OK)
			fprintf(stderr, "fuzz_post: %s\n", err.msg);
		unlink(cfg);
	}
	rmdir(dir);
fail:
	if (s == NULL) {
		/* A fuzzer that silently skipped links would test less. */
		fprintf(stderr, "fuzz_post: cannot set up a site in %s\n", dir);
		abort();
	}
	free(cfg);
	free(dir);
	return s;
}

static void S_sites_init(void)
{
	for (size_t i = 0; i < S_NSITES; i++)
		if (S_configs[i] != NULL)
			S_sites[i] = S_site_open(S_configs[i]);
	S_sites_ready = 1;
}

/* strlen() every string the post hands out, so that ASan sees a string
 * that is not NUL-terminated or was already freed. */
static size_t S_touch(const struct post *p)
{
	static const enum post_list lists[] = {
		POST_LIST_TAGS,
		POST_LIST_CATEGORIES,
		POST_LIST_KEY_POINTS,
		POST_LIST_VULNERABILITIES,
		POST_LIST_RECOMMENDATIONS,
		POST_LIST_CVES,
	};
	const char *s[] = {
		post_path(p),	  post_id(p),	   post_slug(p),
		post_title(p),	  post_date(p),	   post_permalink(p),
		post_headline(p), post_summary(p), post_source(p),
	};
	size_t sum = post_published(p);
	int dt[6];

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		sum += s[i] ? strlen(s[i]) : 0;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		size_t n;
		const char *const *v = post_list(p, lists[i], &n);

		for (size_t j = 0; j < n; j++)
			sum += strlen(v[j]);
	}
	post_datetime(p, &dt[0], &dt[1], &dt[2], &dt[3], &dt[4], &dt[5]);
	return sum + (size_t)dt[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct site *site;
	struct post *p = NULL;
	struct nt_err err;
	json_object *alert;

	if (!S_sites_ready)
		S_sites_init();
	site = S_sites[size % S_NSITES];
	memset(err.msg, 0xff, sizeof(err.msg));
	if (post_parse_buffer("fuzz.md", (const char *)data, size, NULL, &p,
			      &err) != NT_OK) {
		/* result.h: a failure leaves a terminated, non-empty msg. */
		if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL ||
		    err.msg[0] == '\0')
			abort();
		return 0;
	}
	/* The comparison keeps the compiler from dropping the strlen()s. */
	if (S_touch(p) == SIZE_MAX)
		abort();
	alert = alert_create(p, site); /* site_post_url(), site_relpath() */
	if (alert_to_json(alert) == NULL)
		abort();
	json_object_put(alert);
	post_free(p);
	return 0;
}
