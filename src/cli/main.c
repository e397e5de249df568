/*
 * main.c - the notify command line.  The only place that maps nt_rc
 * results to sysexits.h exit codes.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "notify/config.h"
#include "notify/http.h"
#include "notify/log.h"

#ifndef NOTIFY_VERSION
#define NOTIFY_VERSION "0"
#endif
#ifndef NOTIFY_SYSCONFDIR /* set by meson */
#define NOTIFY_SYSCONFDIR "/usr/local/etc"
#endif

static const char S_usage[] =
	"usage: notify [-c FILE] --post PATH [--post PATH]... [--channel "
	"NAME]...\n"
	"              [--dry-run] [--force]\n"
	"       notify [-c FILE] parse [--json] PATH...\n"
	"       notify [-c FILE] check-config [--no-secrets]\n"
	"       notify [-c FILE] status [--json]\n"
	"       notify [-c FILE] retry [ID...]\n"
	"       notify [-c FILE] watch\n"
	"       notify [-c FILE] scan [--baseline | --backfill N] [--dry-run]\n"
	"       notify --help | --version\n"
	"\n"
	"Commands:\n"
	"  --post PATH       send the post to every enabled channel (or those\n"
	"                    named by --channel): its deliveries are queued "
	"in\n"
	"                    the outbox (state) and sent; a retry due within\n"
	"                    delivery.inline_retry is waited for.  One line "
	"per\n"
	"                    delivery: sent, queued for retry at T (why), or\n"
	"                    failed (why).  Several --post PATH past\n"
	"                    delivery.digest_threshold make one digest\n"
	"    --dry-run       print instead, per channel, a header line\n"
	"                    \"--- NAME (TYPE) CONTENT-TYPE[ to RCPT], N "
	"bytes\"\n"
	"                    and the exact payload; no network, no state\n"
	"    --channel NAME  only this channel (repeatable)\n"
	"    --force         send again a post already delivered\n"
	"  watch             the service: new posts of site.repo (commits in "
	"git\n"
	"                    mode, files in dir mode) are announced as they "
	"come;\n"
	"                    the first run records a baseline and sends "
	"nothing.\n"
	"                    SIGTERM: ends after the send in flight; SIGHUP:\n"
	"                    reloads the configuration\n"
	"  scan              one pass of the same, then exit (a timer, cron)\n"
	"    --baseline      record every post as seen, send nothing\n"
	"    --backfill N    send the newest N posts not yet seen\n"
	"    --dry-run       print what would be sent; no network, no state\n"
	"  status [--json]   the outbox: waiting, failed and recent "
	"deliveries\n"
	"  retry [ID...]     failed deliveries (all, or these) queued again\n"
	"  parse PATH...     print the alert model of each post; with --json,\n"
	"                    one JSON object a line (the model of DESIGN.md)\n"
	"  check-config      check the configuration, its secret files and\n"
	"                    templates, and print a summary (secrets shown\n"
	"                    as …); --no-secrets checks the file alone\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE  the configuration (see conf/notify.conf); "
	"default\n"
	"                    $NOTIFY_CONFIG, else " NOTIFY_SYSCONFDIR
	"/notify/notify.conf.\n"
	"                    parse runs without one, on the site's "
	"_config.yml\n"
	"  -h, --help        this help\n"
	"  -V, --version     the version\n"
	"\n"
	"Environment: NOTIFY_CONFIG, CREDENTIALS_DIRECTORY (secret files),\n"
	"SOURCE_DATE_EPOCH (the Date of rendered emails); set by systemd:\n"
	"NOTIFY_SOCKET, WATCHDOG_USEC (watch), JOURNAL_STREAM (log "
	"priorities).\n"
	"\n"
	"Manual pages: notify(1), notify.conf(5).\n"
	"\n"
	"Exit status: 0 ok (all sent), 64 usage, 65 bad post, 66 missing or\n"
	"unreadable file, 69 a delivery failed for good, 75 some will be\n"
	"retried later, 78 bad configuration.\n";

/* $NOTIFY_CONFIG, else the installed file. */
static const char *S_default_config(void)
{
	const char *env = getenv("NOTIFY_CONFIG");

	return env && env[0] ? env : NOTIFY_SYSCONFDIR "/notify/notify.conf";
}

struct command {
	const char *name;
	int (*run)(const struct cli_ctx *ctx, int argc, char **argv);
	bool needs_config; /* parse works without one */
	bool secrets;	   /* unattended: a missing secret fails at start */
	bool elsewhere;	   /* another program reads it (cmd_exec.c) */
};

#ifdef NOTIFY_SCAN_PROGRAM
/* notify-scan: the one command that links libgit2 (cmd_exec.c) */
static const struct command S_commands[] = {
	{"scan", cmd_scan, true, true, false},
};
#else
static const struct command S_commands[] = {
	{"parse", cmd_parse, false, false, false},
	{"check-config", cmd_check_config, true, false, false},
	{"--post", cmd_post, true, false, false},
	{"status", cmd_status, true, false, false},
	{"retry", cmd_retry, true, false, false},
	{"scan", cmd_scan_exec, true, true, true},
	/* checked here, so that a bad one fails the start at once */
	{"watch", cmd_watch, true, true, false},
};
#endif

/* Options of the `--post PATH` form, which has no command word. */
static bool S_is_post_option(const char *a)
{
	return strcmp(a, "--post") == 0 || strncmp(a, "--post=", 7) == 0 ||
	       strcmp(a, "--dry-run") == 0 || strcmp(a, "--force") == 0 ||
	       strcmp(a, "--channel") == 0 || strncmp(a, "--channel=", 10) == 0;
}

static const struct command *S_command(const char *name)
{
	for (size_t i = 0; i < sizeof(S_commands) / sizeof(*S_commands); i++)
		if (strcmp(S_commands[i].name, name) == 0)
			return &S_commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = {0};
	const char *cfg_path = NULL, *origin = NULL;
	struct nt_err err = {{0}};
	const struct command *cmd;
	int i = 1, code;

	/* one malloc arena for every thread: a lane or SMTP session thread
	 * would otherwise get an arena of its own, and its pages stay in
	 * the peak RSS (41 MB for four sessions, 28 MB with one arena) */
	mallopt(M_ARENA_MAX, 1);
	log_init(); /* stderr may be the journal: decide the line form once */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(S_usage, stdout);
			return EX_OK;
		}
		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("notify %s\n", NOTIFY_VERSION);
			return EX_OK;
		}
		if (S_is_post_option(a)) {
			/* The --post form has no command word: cmd_post reads
			 * from here on, the slot before standing in as its
			 * argv[0] (the name S_command() looks up). */
			argv[--i] = (char *)"--post";
			break;
		}
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) &&
		    i + 1 < argc) {
			cfg_path = argv[++i];
			continue;
		}
		/* private to notify-watchd: -c names a snapshot of this */
		if (strcmp(a, "--config-origin") == 0 && i + 1 < argc) {
			origin = argv[++i];
			continue;
		}
		fprintf(stderr, "notify: unknown option '%s'\n", a);
		fputs(S_usage, stderr);
		return EX_USAGE;
	}
	if (i >= argc) {
		fputs(S_usage, stderr);
		return EX_USAGE;
	}
	cmd = S_command(argv[i]);
	if (cmd == NULL) {
		fprintf(stderr,
			"notify: unknown command '%s' (see notify --help)\n",
			argv[i]);
		return EX_USAGE;
	}
	http_global_init(); /* once, before anything could start a thread */
	ctx.cfg_path = cfg_path ? cfg_path : S_default_config();
	if ((cfg_path || cmd->needs_config) && !cmd->elsewhere &&
	    config_load_as(ctx.cfg_path, origin, cmd->secrets, &ctx.cfg,
			   &err) != NT_OK) {
		log_warnx("%s", err.msg);
		return EX_CONFIG;
	}
	code = cmd->run(&ctx, argc - i, argv + i);
	config_free(ctx.cfg);
	return code;
}
