/*
 * cmd_parse.c - `notify parse [--json] PATH...`: the alert model of each
 * post, for people and for scripts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "notify/chan.h"
#include "notify/alert.h"
#include "notify/log.h"
#include "notify/post.h"
#include "notify/site.h"
#include "notify/text.h"

int cli_exit_code(nt_rc rc)
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
	case NT_ESTATE:
		return EX_IOERR;
	}
	return EX_SOFTWARE;
}

/* Prints before, 's' made printable (text_printable()) and after: post
 * text is untrusted, and an ESC or CR in a title would drive the
 * terminal or forge a line. */
static void S_show(const char *before, const char *s, const char *after)
{
	char *safe = text_printable(s);

	printf("%s%s%s", before, safe ? safe : "", after);
	free(safe);
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
		S_show("    - ", v[i], "\n");
}

static void S_print_human(const struct post *p, json_object *alert)
{
	json_object *url = json_object_object_get(alert, "url");
	size_t n;
	const char *const *v = post_list(p, POST_LIST_TAGS, &n);

	S_show("", post_date(p), "  ");
	S_show("", post_title(p), "\n");
	S_show("  url: ", url ? json_object_get_string(url) : "(unknown)",
	       "\n");
	printf("  tags:");
	for (size_t i = 0; i < n; i++)
		S_show(" ", v[i], "");
	printf("\n");
	if (post_headline(p))
		S_show("  headline: ", post_headline(p), "\n");
	S_print_list("key points", p, POST_LIST_KEY_POINTS);
	S_print_list("vulnerabilities", p, POST_LIST_VULNERABILITIES);
	S_print_list("recommendations", p, POST_LIST_RECOMMENDATIONS);
	S_print_list("CVEs", p, POST_LIST_CVES);
	if (post_source(p))
		S_show("  source: ", post_source(p), "\n");
}

/* A batch of posts shares one site: the one open is kept when it fits. */
nt_rc cli_site_for(const struct cli_ctx *ctx, const char *path,
		   struct site **site, struct nt_err *err)
{
	const char *repo = ctx->cfg ? config_site_repo(ctx->cfg) : NULL;
	char *root = NULL;
	nt_rc rc = repo ? NT_OK : site_find_root(path, &root, err);

	if (rc == NT_ENOENT) { /* a post outside any site: no url */
		site_free(*site);
		*site = NULL;
		return NT_OK;
	}
	if (rc)
		return rc;
	if (repo == NULL || *site == NULL) {
		const char *want = repo ? repo : root;

		if (*site == NULL || strcmp(site_root(*site), want) != 0) {
			site_free(*site);
			*site = NULL;
			rc = site_open(want, site, err);
		}
		if (rc == NT_OK && ctx->cfg)
			site_set_url(*site, config_site_url(ctx->cfg));
	}
	free(root);
	return rc;
}

char *cli_site_link(const struct site *site)
{
	if (site == NULL || site_url(site) == NULL)
		return NULL;
	return nt_xasprintf("%s%s/", site_url(site), site_baseurl(site));
}

nt_rc cli_check_channels(const struct config *cfg, struct nt_err *err)
{
	for (size_t i = 0; i < config_n_channels(cfg); i++) {
		const struct chan_conf *ch = config_channel(cfg, i);
		struct nt_err why = {{0}};

		if (chan_check(ch, &why) != NT_OK)
			return nt_fail(err, NT_ECONFIG, "%s:%d: %s",
				       config_path(cfg), ch->line, why.msg);
	}
	return NT_OK;
}

static nt_rc S_parse_one(const struct cli_ctx *ctx, const char *path, bool json,
			 struct site **site, struct nt_err *err)
{
	const struct post_opts *opts =
		ctx->cfg ? config_post_opts(ctx->cfg) : NULL;
	struct post *p = NULL;
	json_object *alert;
	nt_rc rc = post_create(path, opts, &p, err);

	if (rc == NT_OK)
		rc = cli_site_for(ctx, path, site, err);
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

int cmd_parse(const struct cli_ctx *ctx, int argc, char **argv)
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
			fprintf(stderr,
				"usage: notify parse [--json] PATH...\n");
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
		nt_rc rc = S_parse_one(ctx, argv[i], json, &site, &err);

		if (rc) {
			log_warnx("%s", err.msg);
			if (first == NT_OK)
				first = rc;
		}
	}
	site_free(site);
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return cli_exit_code(first);
}
