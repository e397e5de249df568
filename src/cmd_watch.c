/*
 * cmd_watch.c - `notify watch`: hands the process over to the supervisor,
 * notify-watchd (watchd.c).  The supervisor is a program of its own, with
 * none of the libraries a pass needs (libgit2, libcurl, GMime...): idle,
 * the service holds little memory, and each batch runs in a fresh
 * `notify scan --worker` that gives back all it took when it exits.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "notify/log.h"

#ifndef NOTIFY_LIBEXECDIR /* set by meson */
#define NOTIFY_LIBEXECDIR "/usr/local/libexec/notify"
#endif

int cmd_watch(const struct cli_ctx *ctx, int argc, char **argv)
{
	char self[PATH_MAX], near[PATH_MAX + 64];
	const char *watchd = NOTIFY_LIBEXECDIR "/notify-watchd";
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	(void)argv;
	if (argc != 1) {
		fputs("usage: notify [-c FILE] watch\n", stderr);
		return EX_USAGE;
	}
	if (n <= 0) {
		log_warn("/proc/self/exe");
		return EX_OSERR;
	}
	self[n] = '\0';
	/* replaced on disk since it started (an upgrade): the new one */
	if (n > 10 && strcmp(self + n - 10, " (deleted)") == 0)
		self[n - 10] = '\0';
	/* a build tree keeps both side by side; a relocated install (a
	 * DESTDIR, /opt) keeps the layout below its prefix */
	slash = strrchr(self, '/');
	snprintf(near, sizeof(near), "%.*s/notify-watchd", (int)(slash - self),
		 self);
	if (access(near, X_OK) != 0)
		snprintf(near, sizeof(near),
			 "%.*s/../libexec/notify/notify-watchd",
			 (int)(slash - self), self);
	if (access(near, X_OK) == 0)
		watchd = near;
	execl(watchd, "notify-watchd", "--notify", self, "--config",
	      ctx->cfg_path, (char *)NULL);
	log_warn("%s", watchd);
	return errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR;
}
