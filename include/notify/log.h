/*
 * log.h - the one logger, the only global mutable state of notify.
 *
 * Lines go to stderr as "notify: message".  When stderr is the journal
 * (see log_init()) they are "<N>message" instead: journald strips the
 * syslog priority N and adds the identifier itself (docs/protocols.md
 * 6.2).  In both forms a message goes through text_printable() (text.h):
 * CR and LF become spaces, so a multi-line SMTP reply stays one line, one
 * journal entry; other controls and bytes that are not UTF-8 become '?'.
 *
 * log_warn() appends strerror(errno) and leaves errno as it was.  fatal()
 * and fatalx() log at priority err and exit(1); only main.c and start-up
 * code may call them.  Never pass a secret: callers redact URLs and tokens
 * before logging.
 */
#ifndef NOTIFY_LOG_H
#define NOTIFY_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR,	/* <3> */
	LOG_LVL_WARN,	/* <4> */
	LOG_LVL_NOTICE, /* <5> */
	LOG_LVL_INFO,	/* <6> */
	LOG_LVL_DEBUG,	/* <7> */
};

/* Decides the form of the lines: the journal form when $JOURNAL_STREAM
 * ("DEV:INO", set by systemd) names the device and inode of fd 2 right
 * now, as fstat(2) reports them; else the "notify: " form.  A child that
 * inherited the variable but whose stderr was redirected thus keeps the
 * plain form.  Call it first thing in main(), before any thread; without
 * it the first log call or log_to_journal() decides.  Each call looks
 * again (tests redirect fd 2 and call it anew).  Never fails. */
void log_init(void);

/* Whether lines carry journald priority prefixes, i.e. stderr is the
 * journal rather than a terminal or file: the service shows a summary line
 * there instead of a progress display. */
bool log_to_journal(void);

/* Messages above 'max' are dropped (default LOG_LVL_INFO). */
void log_set_level(enum log_level max);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For normal but significant events, above the info chatter: start-up,
 * shutdown, a configuration reload (`journalctl -p notice` shows them). */
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
