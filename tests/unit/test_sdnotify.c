/* Unit tests of sdnotify.c: datagrams as a systemd peer receives them, and
 * the watchdog variables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify/sdnotify.h"
#include "notify/text.h"

/* A bound datagram socket standing in for systemd's notify socket. */
struct peer {
	char dir[64];  /* temporary directory of a path socket, or "" */
	char env[128]; /* the NOTIFY_SOCKET value naming it */
	int fd;
};

/* /tmp rather than $TMPDIR: sun_path holds only 108 bytes. */
static int S_path_peer(void **state)
{
	struct peer *p = calloc(1, sizeof(*p));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	assert_non_null(p);
	strcpy(p->dir, "/tmp/notify-sdn-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->env, sizeof(p->env), "%s/notify.sock", p->dir);
	strcpy(sa.sun_path, p->env);
	p->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", p->env, 1), 0);
	*state = p;
	return 0;
}

/* Named after the pid: tests run in parallel and share the namespace. */
static int S_abstract_peer(void **state)
{
	struct peer *p = calloc(1, sizeof(*p));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;

	assert_non_null(p);
	snprintf(p->env, sizeof(p->env), "@notify-sdn-test-%ld",
		 (long)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(p->env));
	memcpy(sa.sun_path + 1, p->env + 1, strlen(p->env) - 1);
	p->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", p->env, 1), 0);
	*state = p;
	return 0;
}

static int S_peer_free(void **state)
{
	struct peer *p = *state;

	close(p->fd);
	if (p->dir[0]) {
		unlink(p->env);
		rmdir(p->dir);
	}
	free(p);
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

/* The next datagram, NUL-terminated, or -1 (errno EAGAIN) when none. */
static ssize_t S_recv(const struct peer *p, char *buf, size_t size)
{
	ssize_t n = recv(p->fd, buf, size - 1, MSG_DONTWAIT);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void S_expect(const struct peer *p, const char *want)
{
	char buf[512];

	assert_int_equal(S_recv(p, buf, sizeof(buf)), strlen(want));
	assert_memory_equal(buf, want, strlen(want));
}

static void path_socket_gets_one_datagram(void **state)
{
	struct nt_err err = {{0}};

	assert_int_equal(sdn_notify("READY=1\nSTATUS=watching", &err), NT_OK);
	assert_int_equal(sdn_notify("WATCHDOG=1", &err), NT_OK);
	S_expect(*state, "READY=1\nSTATUS=watching");
	S_expect(*state, "WATCHDOG=1");
}

static void abstract_socket_gets_one_datagram(void **state)
{
	struct nt_err err = {{0}};

	assert_int_equal(sdn_notify("READY=1\nSTATUS=watching", &err), NT_OK);
	S_expect(*state, "READY=1\nSTATUS=watching");
}

static void unset_or_empty_socket_sends_nothing(void **state)
{
	struct nt_err err = {{0}};
	char buf[64];

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdn_notify("READY=1", &err), NT_OK);
	assert_int_equal(sdn_status("idle"), NT_OK);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sdn_notify("READY=1", &err), NT_OK);
	assert_int_equal(S_recv(*state, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
}

static void S_refused(const char *env, nt_rc want, const char *msg_part)
{
	struct nt_err err = {{0}};

	setenv("NOTIFY_SOCKET", env, 1);
	assert_int_equal(sdn_notify("READY=1", &err), want);
	assert_non_null(strstr(err.msg, msg_part));
	unsetenv("NOTIFY_SOCKET");
}

static void too_long_socket_is_refused(void **state)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	char path[256];

	(void)state;
	/* a path keeps a byte for its NUL; for an abstract name the '@'
	 * is the NUL: the longest of each is accepted, one more refused */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[max] = '\0';
	S_refused(path, NT_EINVAL, "too long");
	path[max - 1] = '\0';
	S_refused(path, NT_EIO, "connect");
	path[0] = '@';
	path[max - 1] = 'a';
	path[max] = 'a';
	path[max + 1] = '\0';
	S_refused(path, NT_EINVAL, "too long");
	path[max] = '\0';
	S_refused(path, NT_EIO, "connect");
}

static void bad_socket_or_state_is_refused(void **state)
{
	struct nt_err err = {{0}};

	(void)state;
	S_refused("run/systemd/notify", NT_EINVAL, "neither");
	S_refused("vsock:2:1234", NT_EINVAL, "neither");
	S_refused("/nonexistent/notify.sock", NT_EIO,
		  "/nonexistent/notify.sock: connect: No such file");
	setenv("NOTIFY_SOCKET", "/nonexistent/notify.sock", 1);
	assert_int_equal(sdn_notify(NULL, &err), NT_EINVAL);
	assert_int_equal(sdn_notify("", NULL), NT_EINVAL);
	assert_int_equal(sdn_status("x"), NT_EIO);
	unsetenv("NOTIFY_SOCKET");
}

static void status_is_one_line(void **state)
{
	assert_int_equal(sdn_status("last poll %s, %d alerts", "09:30", 2),
			 NT_OK);
	S_expect(*state, "STATUS=last poll 09:30, 2 alerts");
	/* a title must not add "READY=1" or anything else */
	assert_int_equal(sdn_status("sent '%s'", "a\nREADY=1\r\n"), NT_OK);
	S_expect(*state, "STATUS=sent 'a READY=1  '");
	assert_int_equal(sdn_status("%s", ""), NT_OK);
	S_expect(*state, "STATUS=");
}

static void long_status_is_cut_on_a_character(void **state)
{
	char text[512] = "x", buf[512];
	ssize_t n;

	/* 'x' then two-byte characters: byte SDN_STATUS_MAX (even) is the
	 * second byte of one, so that character goes */
	for (size_t i = 1; i + 2 < sizeof(text); i += 2)
		strcat(text, "\xC3\xA9");
	assert_int_equal(sdn_status("%s", text), NT_OK);
	n = S_recv(*state, buf, sizeof(buf));
	assert_int_equal(n, strlen("STATUS=") + SDN_STATUS_MAX - 1);
	assert_memory_equal(buf, "STATUS=x\xC3\xA9", 10);
	assert_true(text_utf8_valid(buf, (size_t)n, NULL));
}

static void S_watchdog(const char *usec, const char *pid, int64_t want)
{
	if (usec)
		setenv("WATCHDOG_USEC", usec, 1);
	else
		unsetenv("WATCHDOG_USEC");
	if (pid)
		setenv("WATCHDOG_PID", pid, 1);
	else
		unsetenv("WATCHDOG_PID");
	assert_int_equal(sdn_watchdog_usec(), want);
}

static void watchdog_usec_is_strict(void **state)
{
	char me[32], other[32];

	(void)state;
	snprintf(me, sizeof(me), "%ld", (long)getpid());
	snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
	S_watchdog("60000000", NULL, 60000000);
	S_watchdog("60000000", me, 60000000);
	S_watchdog("9223372036854775807", NULL, INT64_MAX);
	S_watchdog(NULL, NULL, 0);
	S_watchdog("", NULL, 0);
	S_watchdog("abc", NULL, 0);
	S_watchdog("-5", NULL, 0);
	S_watchdog("+5", NULL, 0);
	S_watchdog(" 5", NULL, 0);
	S_watchdog("5s", NULL, 0);
	S_watchdog("0", NULL, 0);
	S_watchdog("9223372036854775808", NULL, 0);
	S_watchdog("60000000", other, 0);
	S_watchdog("60000000", "", 0);
	S_watchdog("60000000", "abc", 0);
	S_watchdog(NULL, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(path_socket_gets_one_datagram,
						S_path_peer, S_peer_free),
		cmocka_unit_test_setup_teardown(
			abstract_socket_gets_one_datagram, S_abstract_peer,
			S_peer_free),
		cmocka_unit_test_setup_teardown(
			unset_or_empty_socket_sends_nothing, S_path_peer,
			S_peer_free),
		cmocka_unit_test(too_long_socket_is_refused),
		cmocka_unit_test(bad_socket_or_state_is_refused),
		cmocka_unit_test_setup_teardown(status_is_one_line, S_path_peer,
						S_peer_free),
		cmocka_unit_test_setup_teardown(
			long_status_is_cut_on_a_character, S_abstract_peer,
			S_peer_free),
		cmocka_unit_test(watchdog_usec_is_strict),
	};

	unsetenv("NOTIFY_SOCKET");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
