/* Unit tests of log.c: the journal form ("<N>message") when stderr is the
 * stream $JOURNAL_STREAM names, the "notify: " form otherwise, one line per
 * message in both.  fd 2 is pointed at a capture file around each batch of
 * log calls, and put back before any assertion so cmocka's own reports
 * still reach the terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify/log.h"

static int S_file = -1;	 /* where fd 2 points while capturing */
static int S_other = -1; /* a second file, for JOURNAL_STREAM to name */
static int S_saved = -1; /* the real stderr */

static int S_open_tmp(void)
{
	char path[] = "/tmp/notify-log-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

static int S_setup(void **state)
{
	(void)state;
	S_file = S_open_tmp();
	S_other = S_open_tmp();
	S_saved = dup(STDERR_FILENO);
	return S_file < 0 || S_other < 0 || S_saved < 0;
}

static int S_teardown(void **state)
{
	(void)state;
	close(S_file);
	close(S_other);
	close(S_saved);
	unsetenv("JOURNAL_STREAM");
	return 0;
}

/* Sets JOURNAL_STREAM to "DEV:INO" of 'fd', as systemd does. */
static void S_stream_env(int fd)
{
	struct stat st;
	char v[64];

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

/* Points fd 2 at the emptied capture file. */
static void S_begin(void)
{
	assert_int_equal(ftruncate(S_file, 0), 0);
	assert_int_equal(lseek(S_file, 0, SEEK_SET), 0);
	assert_int_equal(dup2(S_file, STDERR_FILENO), STDERR_FILENO);
}

/* Puts the real stderr back; returns what was captured (static buffer). */
static const char *S_end(void)
{
	static char buf[4096];
	ssize_t n;

	dup2(S_saved, STDERR_FILENO);
	n = pread(S_file, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void journal_lines_carry_priorities(void **state)
{
	char want[256];
	const char *out;
	bool journal;

	(void)state;
	S_begin();
	S_stream_env(STDERR_FILENO);
	log_init();
	journal = log_to_journal();
	log_warnx("w %d", 1);
	log_notice("n");
	log_info("i");
	log_debug("dropped at the default level");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("d");
	log_set_level(LOG_LVL_INFO);
	errno = ENOENT;
	log_warn("open %s", "x");
	out = S_end();
	assert_true(journal);
	snprintf(want, sizeof(want),
		 "<4>w 1\n<5>n\n<6>i\n<7>d\n<4>open x: %s\n", strerror(ENOENT));
	assert_string_equal(out, want);
}

static void fatal_is_priority_err(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	S_begin();
	S_stream_env(STDERR_FILENO);
	log_init();
	fflush(stdout); /* or the child's exit() would print it again */
	pid = fork();
	if (pid == 0)
		fatalx("boom\nbang");
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_string_equal(S_end(), "<3>boom bang\n");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

/* The line log_info("i") gives with JOURNAL_STREAM set to 'env' (unset
 * when NULL) and fd 2 the capture file; also checks log_to_journal(). */
static void S_plain(const char *env)
{
	bool journal;

	S_begin();
	if (env)
		setenv("JOURNAL_STREAM", env, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_init();
	journal = log_to_journal();
	log_info("i");
	assert_string_equal(S_end(), "notify: i\n");
	assert_false(journal);
}

static void other_stream_is_plain(void **state)
{
	struct stat st;
	char v[64];

	(void)state;
	/* a child that inherited JOURNAL_STREAM but writes to a file */
	S_stream_env(S_other);
	S_plain(getenv("JOURNAL_STREAM"));
	/* same device, other inode */
	assert_int_equal(fstat(S_file, &st), 0);
	snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino + 1);
	S_plain(v);
	S_plain(NULL);
	S_plain("");
	S_plain("1:2");
	S_plain("abc");
	S_plain(":5");
	snprintf(v, sizeof(v), "%ju:", (uintmax_t)st.st_dev);
	S_plain(v);
	snprintf(v, sizeof(v), "%ju:%jux", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	S_plain(v);
	snprintf(v, sizeof(v), "%ju %ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	S_plain(v);
	S_plain("99999999999999999999999:1");
}

static void line_breaks_become_spaces(void **state)
{
	(void)state;
	S_begin();
	S_stream_env(STDERR_FILENO);
	log_init();
	log_info("250-first\r\n250 second\nthird");
	assert_string_equal(S_end(), "<6>250-first  250 second third\n");

	S_begin();
	unsetenv("JOURNAL_STREAM");
	log_init();
	log_warnx("a\nb");
	assert_string_equal(S_end(), "notify: a b\n");

	/* a hostile file name: no escape sequence reaches a terminal */
	S_begin();
	log_info("skips _posts/\033[2Jx\t\x7f.md");
	assert_string_equal(S_end(), "notify: skips _posts/?[2Jx ?.md\n");

	/* nor a C1 CSI (U+009B); a byte that is not UTF-8 (journald would
	 * keep the whole message as a blob) becomes '?' too */
	S_begin();
	log_info("skips \xc2\x9b"
		 "2J caf\xe9 \xc3\xa9t\xc3\xa9.md");
	assert_string_equal(S_end(),
			    "notify: skips ?2J caf? \xc3\xa9t\xc3\xa9.md\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(journal_lines_carry_priorities),
		cmocka_unit_test(fatal_is_priority_err),
		cmocka_unit_test(other_stream_is_plain),
		cmocka_unit_test(line_breaks_become_spaces),
	};

	return cmocka_run_group_tests(tests, S_setup, S_teardown);
}
