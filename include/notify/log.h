/*
 * log.h - the one logger, the only global mutable state of notify.
 *
 * Lines go to stderr as "notify: message".  log_warn() appends
 * strerror(errno) and leaves errno as it was.  fatal() and fatalx() log
 * and exit(1); only main.c and start-up code may call them.  Never pass a
 * secret: callers redact URLs and tokens before logging.
 */
#ifndef NOTIFY_LOG_H
#define NOTIFY_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Messages above 'max' are dropped (default LOG_LVL_INFO). */
void log_set_level(enum log_level max);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
