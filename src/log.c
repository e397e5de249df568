#include "notify/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum log_level S_max = LOG_LVL_INFO;

void log_set_level(enum log_level max)
{
	S_max = max;
}

static void S_vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void S_vlog(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char line[1024];

	if (lvl > S_max)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (errnum)
		fprintf(stderr, "notify: %s: %s\n", line, strerror(errnum));
	else
		fprintf(stderr, "notify: %s\n", line);
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
