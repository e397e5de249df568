#include "notify/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/text.h"

static enum log_level S_max = LOG_LVL_INFO;

/* S_UNKNOWN until log_init() has looked at fd 2 */
static enum { S_UNKNOWN, S_PLAIN, S_JOURNAL } S_form = S_UNKNOWN;

static const char *const S_prefix[] = {
	[LOG_LVL_ERR] = "<3>",	  [LOG_LVL_WARN] = "<4>",
	[LOG_LVL_NOTICE] = "<5>", [LOG_LVL_INFO] = "<6>",
	[LOG_LVL_DEBUG] = "<7>",
};

/* Reads the decimal number at *p (digits only, no overflow) into *out and
 * moves *p past it. */
static bool S_number(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

/* Is fd 2 the stream named by $JOURNAL_STREAM ("DEV:INO", st_dev and
 * st_ino in decimal, as systemd's own stderr_is_journal() reads it)? */
static bool S_stderr_is_journal(void)
{
	const char *s = getenv("JOURNAL_STREAM");
	uint64_t dev, ino;
	struct stat st;

	if (s == NULL || !S_number(&s, &dev) || s[0] != ':')
		return false;
	s++;
	if (!S_number(&s, &ino) || s[0] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

void log_init(void)
{
	S_form = S_stderr_is_journal() ? S_JOURNAL : S_PLAIN;
}

bool log_to_journal(void)
{
	if (S_form == S_UNKNOWN)
		log_init();
	return S_form == S_JOURNAL;
}

void log_set_level(enum log_level max)
{
	S_max = max;
}

static void S_vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void S_vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char raw[1024], line[1024];

	if (lvl > S_max)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* a line break would end the entry: the rest would lose its
	 * priority in the journal and its "notify: " elsewhere; other
	 * control characters (a hostile file name) never reach a terminal,
	 * and bytes that are not UTF-8 would make journald keep the entry
	 * as a blob */
	text_printable_to(line, sizeof(line), raw);
	fprintf(stderr, "%s%s%s%s\n",
		log_to_journal() ? S_prefix[lvl] : "notify: ", line,
		errnum ? ": " : "", errnum ? strerror(errnum) : "");
}

#define S_LOG(lvl, errnum)                                                     \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		S_vlog(lvl, errnum, fmt, ap);                                  \
		va_end(ap);                                                    \
	} while (0)

void log_warn(const char *fmt, ...)
{
	int saved = errno;

	S_LOG(LOG_LVL_WARN, saved);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	S_LOG(LOG_LVL_WARN, 0);
}

void log_notice(const char *fmt, ...)
{
	S_LOG(LOG_LVL_NOTICE, 0);
}

void log_info(const char *fmt, ...)
{
	S_LOG(LOG_LVL_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
	S_LOG(LOG_LVL_DEBUG, 0);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;

	S_LOG(LOG_LVL_ERR, saved);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	S_LOG(LOG_LVL_ERR, 0);
	exit(1);
}
