/*
 * cmd_config.c - `notify check-config [--no-secrets]`: the configuration
 * checked as delivery will need it (secret files, templates), and a
 * summary that shows no secret.  --no-secrets checks the file alone.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "notify/chan.h"
#include "notify/log.h"
#include "notify/render.h"
#include "notify/site.h"

static void S_list(const char *label, const char *const *v)
{
	if (v == NULL || v[0] == NULL)
		return;
	printf(" %s=", label);
	for (size_t i = 0; v[i]; i++)
		printf("%s%s", i ? "," : "", v[i]);
}

static void S_channel(const struct chan_conf *ch)
{
	printf("  %-12s %-8s %s", ch->name, config_chan_type_name(ch->type),
	       ch->enabled ? "" : "(disabled) ");
	switch (ch->type) {
	case CHAN_SLACK:
		printf("webhook=… flavor=%s", ch->flavor);
		break;
	case CHAN_HOOKSHOT:
		printf("webhook=…");
		break;
	case CHAN_MATRIX:
		printf("homeserver=%s room=%s token=…%s", ch->homeserver,
		       ch->room, ch->autojoin ? " autojoin" : "");
		break;
	case CHAN_SMTP:
		printf("server=%s:%d starttls=%s from=%s", ch->host, ch->port,
		       ch->starttls == STARTTLS_REQUIRED ? "required"
		       : ch->starttls == STARTTLS_OPPORTUNISTIC
			       ? "opportunistic"
			       : "none",
		       ch->from);
		S_list("to", ch->to);
		if (ch->username)
			printf(" auth=%s:…", ch->username);
		if (ch->subscribers)
			printf(" +subscribers");
		break;
	}
	S_list("tags_any", ch->filter.tags_any);
	S_list("tags_none", ch->filter.tags_none);
	S_list("keywords", ch->filter.keywords);
	if (ch->filter.cve_only)
		printf(" cve_only");
	printf("\n");
}

/* The locale the site gives channels that name none, or NULL when
 * unknown: no site.repo (each post's own site then decides). */
static char *S_site_locale(const struct config *c, bool *known)
{
	struct site *site = NULL;
	struct nt_err ignored;
	char *loc = NULL;

	*known = config_site_locale(c) != NULL;
	if (*known)
		return nt_xstrdup(config_site_locale(c));
	if (config_site_repo(c) == NULL ||
	    site_open(config_site_repo(c), &site, &ignored) != NT_OK)
		return NULL;
	*known = true;
	if (site_locale(site))
		loc = nt_xstrdup(site_locale(site));
	site_free(site);
	return loc;
}

/* Compiles the templates of 'locale' (its every file: the first render
 * of a locale compiles them all). */
static nt_rc S_compile(struct render *r, const char *locale, json_object *view,
		       struct nt_err *err)
{
	struct nt_buf b = NT_BUF_INIT;
	nt_rc rc = render_view(r, render_locale(locale), RENDER_SUBJECT, false,
			       view, &b, err);

	nt_buf_release(&b);
	return rc;
}

/* Compiles the templates of every locale an enabled channel renders in
 * (both when the site's is unknown): a missing folder, a missing file or
 * a template error would otherwise fail every send.  'err' names the
 * template file. */
static nt_rc S_check_templates(const struct config *c, struct nt_err *err)
{
	bool known = false;
	char *site_loc = S_site_locale(c, &known);
	json_object *view = json_object_new_object();
	struct render *r = NULL;
	nt_rc rc = render_create(config_templates_dir(c), &r, err);

	for (size_t i = 0; rc == NT_OK && i < config_n_channels(c); i++) {
		const struct chan_conf *ch = config_channel(c, i);

		if (!ch->enabled)
			continue;
		if (ch->locale || known) {
			rc = S_compile(r, ch->locale ? ch->locale : site_loc,
				       view, err);
			continue;
		}
		rc = S_compile(r, "en", view, err);
		if (rc == NT_OK)
			rc = S_compile(r, "fr", view, err);
	}
	render_free(r);
	json_object_put(view);
	free(site_loc);
	return rc;
}

int cmd_check_config(const struct cli_ctx *ctx, int argc, char **argv)
{
	bool secrets = true;
	struct config *c = NULL;
	struct nt_err err = {{0}};
	nt_rc rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-secrets") == 0) {
			secrets = false;
			continue;
		}
		fprintf(stderr, "usage: notify check-config [--no-secrets]\n");
		return EX_USAGE;
	}
	/* again, this time with the secret files as delivery reads them */
	rc = config_load(ctx->cfg_path, secrets, &c, &err);
	if (rc) {
		log_warnx("%s", err.msg);
		return cli_exit_code(rc);
	}
	if (cli_check_channels(c, &err) != NT_OK ||
	    (secrets && S_check_templates(c, &err) != NT_OK)) {
		log_warnx("%s", err.msg);
		config_free(c);
		return cli_exit_code(NT_ECONFIG);
	}
	printf("config: %s: ok%s\n", config_path(c),
	       secrets ? "" : " (secret files not checked)");
	printf("site: %s\n", config_site_repo(c) ? config_site_repo(c)
						 : "(found from each post)");
	printf("state: %s\n", config_state(c) ? config_state(c) : "(none)");
	printf("templates: %s\n", config_templates_dir(c)
					  ? config_templates_dir(c)
					  : "(built in)");
	printf("channels: %zu\n", config_n_channels(c));
	for (size_t i = 0; i < config_n_channels(c); i++)
		S_channel(config_channel(c, i));
	config_free(c);
	return EX_OK;
}
