/*
 * main.c - the notify command line.  The only place that maps nt_rc
 * results to sysexits.h exit codes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "notify/alert.h"
#include "notify/log.h"
#include "notify/post.h"
#include "notify/site.h"

#ifndef NOTIFY_VERSION
#define NOTIFY_VERSION "0"
#endif

static const char S_usage[] =
	"usage: notify parse [--json] PATH...\n"
	"       notify --help | --version\n"
	"\n"
	"Commands:\n"
	"  parse PATH...   print the alert model of each post; with --json,\n"
	"                  one JSON object a line (the model of DESIGN.md)\n"
	"\n"
	"Options:\n"
	"  --json          machine-readable output (parse)\n"
	"  -h, --help      this help\n"
	"  -V, --version   the version\n"
	"\n"
	"Exit status: 0 ok, 64 usage, 65 bad post, 66 missing or unreadable "
	"file.\n";

static int S_exit_code(nt_rc rc)
{
	switch (rc) {
	case NT_OK:
		return EX_OK;
	case NT_EINVAL:
		return EX_USAGE;
	case NT_ENOENT:
	case NT_EIO:
		return EX_NOINPUT;
	case NT_EPARSE:
	case NT_ETOOBIG:
		return EX_DATAERR;
	case NT_ECONFIG:
		return EX_CONFIG;
	case NT_ETEMP:
		return EX_TEMPFAIL;
	case NT_EPERM:
		return EX_UNAVAILABLE;
	}
	return EX_SOFTWARE;
}

static void S_print_list(const char *label, const struct post *p,
			 enum post_list which)
{
	size_t n;
	const char *const *v = post_list(p, which, &n);

	if (n == 0)
		return;
	printf("  %s (%zu):\n", label, n);
	for (size_t i = 0; i < n; i++)
		printf("    - %s\n", v[i]);
}

static void S_print_human(const struct post *p, json_object *alert)
{
	json_object *url = json_object_object_get(alert, "url");
	size_t n;
	const char *const *v = post_list(p, POST_LIST_TAGS, &n);

	printf("%s  %s\n", post_date(p), post_title(p));
	printf("  url: %s\n", url ? json_object_get_string(url) : "(unknown)");
	printf("  tags:");
	for (size_t i = 0; i < n; i++)
		printf(" %s", v[i]);
	printf("\n");
	if (post_headline(p))
		printf("  headline: %s\n", post_headline(p));
	S_print_list("key points", p, POST_LIST_KEY_POINTS);
	S_print_list("vulnerabilities", p, POST_LIST_VULNERABILITIES);
	S_print_list("recommendations", p, POST_LIST_RECOMMENDATIONS);
	S_print_list("CVEs", p, POST_LIST_CVES);
	if (post_source(p))
		printf("  source: %s\n", post_source(p));
}

/* Keeps the last site opened: a batch of posts shares one site. */
static nt_rc S_site_for(const char *path, struct site **site,
			struct nt_err *err)
{
	char *root = NULL;
	nt_rc rc = site_find_root(path, &root, err);

	if (rc == NT_ENOENT) { /* a post outside any site: no url */
		site_free(*site);
		*site = NULL;
		return NT_OK;
	}
	if (rc)
		return rc;
	if (*site == NULL || strcmp(site_root(*site), root) != 0) {
		site_free(*site);
		*site = NULL;
		rc = site_open(root, site, err);
	}
	free(root);
	return rc;
}

static nt_rc S_parse_one(const char *path, bool json, struct site **site,
			 struct nt_err *err)
{
	struct post *p = NULL;
	json_object *alert;
	nt_rc rc = post_create(path, NULL, &p, err);

	if (rc == NT_OK)
		rc = S_site_for(path, site, err);
	if (rc) {
		post_free(p);
		return rc;
	}
	alert = alert_create(p, *site);
	if (json)
		printf("%s\n", alert_to_json(alert));
	else
		S_print_human(p, alert);
	json_object_put(alert);
	post_free(p);
	return NT_OK;
}

static int S_cmd_parse(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
	bool json = false;
	struct site *site = NULL;
	nt_rc first = NT_OK;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j') {
			fputs(S_usage, stderr);
			return EX_USAGE;
		}
		json = true;
	}
	if (optind >= argc) {
		fprintf(stderr, "notify: parse needs at least one PATH\n");
		return EX_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		struct nt_err err = {{0}};
		nt_rc rc = S_parse_one(argv[i], json, &site, &err);

		if (rc) {
			log_warnx("%s", err.msg);
			if (first == NT_OK)
				first = rc;
		}
	}
	site_free(site);
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return S_exit_code(first);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(S_usage, stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(S_usage, stdout);
		return EX_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("notify %s\n", NOTIFY_VERSION);
		return EX_OK;
	}
	if (strcmp(argv[1], "parse") == 0)
		return S_cmd_parse(argc - 1, argv + 1);
	fprintf(stderr, "notify: unknown command '%s' (see notify --help)\n",
		argv[1]);
	return EX_USAGE;
}
