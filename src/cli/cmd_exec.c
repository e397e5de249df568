/*
 * cmd_exec.c - the commands carried out by programs of their own, in
 * LIBEXECDIR/notify, as processes by role:
 * - `notify watch` becomes notify-watchd (watchd.c), the supervisor: it
 *   links no library beyond libc, so the idle service holds little
 *   memory, and runs one pass per batch;
 * - `notify scan` is notify-scan (cmd_scan.c), the pass, which alone
 *   links libgit2: every other command starts without it (its loading
 *   cost a `notify --post` 1.5 ms and 0.7 MB).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "notify/buf.h"
#include "notify/log.h"

#ifndef NOTIFY_LIBEXECDIR /* set by meson */
#define NOTIFY_LIBEXECDIR "/usr/local/libexec/notify"
#endif

/* The helper program 'name' into 'out': beside this program (a build
 * tree), below its prefix (a relocated install: a DESTDIR, /opt), else
 * the installed one. */
static void S_helper(const char *name, char *out, size_t n)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	snprintf(out, n, "%s/%s", NOTIFY_LIBEXECDIR, name);
	if (len <= 0)
		return;
	self[len] = '\0';
	/* replaced on disk since it started (an upgrade): the new one */
	if (len > 10 && strcmp(self + len - 10, " (deleted)") == 0)
		self[len - 10] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	snprintf(out, n, "%s/%s", self, name);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, n, "%s/../libexec/notify/%s", self, name);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, n, "%s/%s", NOTIFY_LIBEXECDIR, name);
}

static int S_exec(const char *path, char *const *argv)
{
	execv(path, argv);
	log_warn("%s", path);
	return errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR;
}

int cmd_watch(const struct cli_ctx *ctx, int argc, char **argv)
{
	char watchd[PATH_MAX + 64], scan[PATH_MAX + 64];
	char *args[] = {(char *)"notify-watchd", (char *)"--scan",	scan,
			(char *)"--config",	 (char *)ctx->cfg_path, NULL};

	(void)argv;
	if (argc != 1) {
		fputs("usage: notify [-c FILE] watch\n", stderr);
		return EX_USAGE;
	}
	S_helper("notify-watchd", watchd, sizeof(watchd));
	S_helper("notify-scan", scan, sizeof(scan));
	return S_exec(watchd, args);
}

int cmd_scan_exec(const struct cli_ctx *ctx, int argc, char **argv)
{
	char scan[PATH_MAX + 64];
	struct nt_strv args = NT_STRV_INIT;
	int code;

	S_helper("notify-scan", scan, sizeof(scan));
	nt_strv_pushdup(&args, "notify-scan");
	nt_strv_pushdup(&args, "--config");
	nt_strv_pushdup(&args, ctx->cfg_path);
	for (int i = 0; i < argc; i++)
		nt_strv_pushdup(&args, argv[i]);
	nt_strv_push(&args, NULL);
	code = S_exec(scan, args.v);
	nt_strv_clear(&args);
	return code;
}
