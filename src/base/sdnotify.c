/*
 * sdnotify.c - sd_notify() without libsystemd (docs/protocols.md 6.1).
 */
#include "notify/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify/text.h"

/* Fills 'sa' and '*len' from the $NOTIFY_SOCKET value 'path'. */
static nt_rc S_address(const char *path, struct sockaddr_un *sa, socklen_t *len,
		       struct nt_err *err)
{
	size_t n = strlen(path);
	/* a path needs room for its NUL; an abstract name's NUL is the '@' */
	size_t max = sizeof(sa->sun_path) - (path[0] == '/');

	if (path[0] != '/' && path[0] != '@')
		return nt_fail(err, NT_EINVAL,
			       "NOTIFY_SOCKET '%.64s' is neither a path nor "
			       "@abstract",
			       path);
	if (n > max)
		return nt_fail(err, NT_EINVAL,
			       "NOTIFY_SOCKET is too long (%zu bytes, at most "
			       "%zu)",
			       n, max);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			   (path[0] == '/'));
	return NT_OK;
}

nt_rc sdn_notify(const char *state, struct nt_err *err)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *step = "socket";
	struct sockaddr_un sa;
	socklen_t len = 0; /* set by S_address() on NT_OK */
	ssize_t sent;
	nt_rc rc;
	int fd;

	if (state == NULL || state[0] == '\0')
		return nt_fail(err, NT_EINVAL, "sd_notify: empty state");
	if (path == NULL || path[0] == '\0')
		return NT_OK;
	rc = S_address(path, &sa, &len, err);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	step = "connect";
	if (connect(fd, (const struct sockaddr *)&sa, len) != 0)
		goto fail;
	step = "send";
	/* MSG_NOSIGNAL: a dead peer is an error here, never a SIGPIPE.
	 * MSG_DONTWAIT: a manager that stopped reading costs a lost status
	 * (EAGAIN), never a frozen service.  A datagram goes whole or fails
	 * (EMSGSIZE), so no short sends. */
	do
		sent = send(fd, state, strlen(state),
			    MSG_NOSIGNAL | MSG_DONTWAIT);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		goto fail;
	close(fd);
	return NT_OK;
fail:
	rc = nt_fail(err, NT_EIO, "NOTIFY_SOCKET %.100s: %s: %s", path, step,
		     strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

nt_rc sdn_status(const char *fmt, ...)
{
	/* one byte past the cap, which text_utf8_cut() reads */
	char text[SDN_STATUS_MAX + 4];
	char msg[sizeof("STATUS=") + SDN_STATUS_MAX];
	va_list ap;
	size_t n;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r < 0)
		return NT_EINVAL;
	n = (size_t)r < sizeof(text) ? (size_t)r : sizeof(text) - 1;
	n = text_utf8_cut(text, n, SDN_STATUS_MAX);
	for (size_t i = 0; i < n; i++)
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = ' ';
	snprintf(msg, sizeof(msg), "STATUS=%.*s", (int)n, text);
	return sdn_notify(msg, NULL);
}

/* 's' as a number when it is all digits and fits in int64_t, else -1:
 * no sign, blank or suffix, as systemd writes these variables. */
static int64_t S_digits(const char *s)
{
	int64_t v = 0;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (; *s; s++) {
		int d = *s - '0';

		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

int64_t sdn_watchdog_usec(void)
{
	const char *pid = getenv("WATCHDOG_PID");
	int64_t usec = S_digits(getenv("WATCHDOG_USEC"));

	if (pid != NULL && S_digits(pid) != (int64_t)getpid())
		return 0;
	return usec > 0 ? usec : 0;
}
