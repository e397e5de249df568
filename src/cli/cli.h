/* Private to the command-line front end: main.c and the cmd_*.c files,
 * one per command.  Library modules never include this. */
#ifndef NOTIFY_CLI_H
#define NOTIFY_CLI_H

#include "notify/config.h"
#include "notify/result.h"

struct site;

/* What every command gets from main(). */
struct cli_ctx {
	struct config *cfg; /* NULL when no configuration was given */
	const char *cfg_path;
};

/* sysexits.h code for a result: the one place of that mapping. */
int cli_exit_code(nt_rc rc);

/* Opens (or keeps) in *site the site of post 'path': site.repo of the
 * configuration when set, else the nearest folder above the post with a
 * _config.yml; *site becomes NULL for a post outside any site. */
nt_rc cli_site_for(const struct cli_ctx *ctx, const char *path,
		   struct site **site, struct nt_err *err);

/* The home page of 'site' (may be NULL), "URL/BASEURL/", owned (free());
 * NULL when its url is unknown.  A digest links to it for the posts it
 * could not list. */
char *cli_site_link(const struct site *site);

/* Checks what the configuration parser cannot know of each channel
 * (chan_check()).  NT_ECONFIG with "FILE:LINE: why" in 'err'. */
nt_rc cli_check_channels(const struct config *cfg, struct nt_err *err);

/* Commands: argv[0] is the command's name; the result is an exit code. */
int cmd_parse(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_check_config(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_post(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_retry(const struct cli_ctx *ctx, int argc, char **argv);
/* cmd_scan.c, the program notify-scan; `notify scan` execs it
 * (cmd_scan_exec(), cmd_exec.c), as `notify watch` execs notify-watchd
 * (cmd_watch()).  On success these do not return. */
int cmd_scan(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_scan_exec(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_watch(const struct cli_ctx *ctx, int argc, char **argv);

#endif
