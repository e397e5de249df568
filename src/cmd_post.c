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

#include "cli.h"
#include "notify/alert.h"
#include "notify/chan.h"
#include "notify/filter.h"
#include "notify/log.h"
#include "notify/post.h"
#include "notify/render.h"
#include "notify/site.h"

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

static void S_print(const struct chan_conf *ch, const struct chan_msgs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		/* the length lets a script cut the exact payload out */
		printf("--- %s (%s) %s%s%s, %zu bytes\n", ch->name,
		       config_chan_type_name(ch->type), m->v[i].type,
		       m->v[i].recipient ? " to " : "",
		       m->v[i].recipient ? m->v[i].recipient : "", m->v[i].len);
		fwrite(m->v[i].body, 1, m->v[i].len, stdout);
		if (m->v[i].len == 0 || m->v[i].body[m->v[i].len - 1] != '\n')
			putchar('\n');
	}
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

/* Renders the posts that pass the channel's filters: one message each,
 * or one digest past the channel's threshold. */
static nt_rc S_channel(const struct cli_ctx *ctx, struct render *r,
		       const struct chan_conf *ch, const struct loaded *l,
		       struct nt_err *err)
{
	const char *locale = ch->locale ? ch->locale
			     : config_site_locale(ctx->cfg)
				     ? config_site_locale(ctx->cfg)
				     : l->site_locale[0];
	struct chan_env env = {r, render_locale(locale), S_now()};
	struct alert_view_opts vo = {env.locale,
				     config_max_key_points(ctx->cfg)};
	int threshold = ch->digest_threshold > 0
				? ch->digest_threshold
				: config_digest_threshold(ctx->cfg);
	json_object *views[POST_MAX_ARGS];
	json_object *alerts[POST_MAX_ARGS];
	struct chan_msgs msgs = {0};
	size_t n = 0;
	nt_rc rc = NT_OK;

	for (size_t i = 0; i < l->n; i++) {
		const char *why = NULL;

		if (!filter_match(config_filter(ctx->cfg), &ch->filter,
				  l->alerts[i], &why)) {
			printf("--- %s (%s) skips ", ch->name,
			       config_chan_type_name(ch->type));
			S_print_safe(json_object_get_string(
				json_object_object_get(l->alerts[i], "id")));
			printf(": %s\n", why);
			continue;
		}
		alerts[n] = l->alerts[i];
		views[n++] = alert_view(l->alerts[i], &vo);
	}
	if (n > (size_t)threshold) {
		json_object *d = alert_digest_view(views, n);
		struct chan_item it = {NULL, d, true};

		rc = chan_render(ch, &env, &it, &msgs, err);
		json_object_put(d);
	} else {
		for (size_t i = 0; i < n && rc == NT_OK; i++) {
			struct chan_item it = {alerts[i], views[i], false};

			rc = chan_render(ch, &env, &it, &msgs, err);
		}
	}
	if (rc == NT_OK)
		S_print(ch, &msgs);
	chan_msgs_clear(&msgs);
	for (size_t i = 0; i < n; i++)
		json_object_put(views[i]);
	return rc;
}

static int S_dry_run(const struct cli_ctx *ctx, const struct post_args *a,
		     const struct loaded *l)
{
	struct render *r = NULL;
	struct nt_err err = {{0}};
	nt_rc rc = render_create(config_templates_dir(ctx->cfg), &r, &err);

	for (size_t i = 0; rc == NT_OK && i < config_n_channels(ctx->cfg);
	     i++) {
		const struct chan_conf *ch = config_channel(ctx->cfg, i);
		bool named = a->n_chans == 0;

		for (size_t k = 0; k < a->n_chans; k++)
			named = named || strcmp(a->chans[k], ch->name) == 0;
		if (!named || (!ch->enabled && a->n_chans == 0))
			continue;
		rc = S_channel(ctx, r, ch, l, &err);
	}
	render_free(r);
	if (rc)
		log_warnx("%s", err.msg);
	return cli_exit_code(rc);
}

int cmd_post(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct post_args a = {0};
	struct loaded l = {0};
	nt_rc bad;
	int code = S_args(argc, argv, &a);

	if (code)
		return code;
	for (size_t i = 0; i < config_n_channels(ctx->cfg); i++) {
		const struct chan_conf *ch = config_channel(ctx->cfg, i);
		struct nt_err err = {{0}};

		if (chan_check(ch, &err) != NT_OK) {
			log_warnx("%s:%d: %s", config_path(ctx->cfg), ch->line,
				  err.msg);
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
	if (!a.dry_run) {
		fprintf(stderr, "notify: sending needs the outbox, which this "
				"version does not have yet; use --dry-run\n");
		return EX_UNAVAILABLE;
	}
	bad = S_load(ctx, &a, &l);
	code = l.n ? S_dry_run(ctx, &a, &l) : EX_OK;
	for (size_t i = 0; i < l.n; i++) {
		json_object_put(l.alerts[i]);
		free(l.site_locale[i]);
	}
	if (code == EX_OK && bad)
		code = cli_exit_code(bad);
	return code;
}
