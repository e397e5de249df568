/*
 * smtp.h - hand messages to a submission server (or a local relay) over
 * one SMTP session, with libESMTP 1.1.
 *
 * One item is one message to one recipient (each subscriber gets their own
 * copy, see docs/protocols.md 3.4).  smtp_send() sends every item over ONE
 * connection, then fills each item's status with the server's reply for
 * it.  Item statuses are the truth about delivery; the result says what
 * happened to the session.
 *
 * Security rules, enforced here and not left to the caller:
 * - STARTTLS is verified with OpenSSL against 'ca_file' (or the system
 *   store) and the configured host name (or IP address, RFC 6125 rules).
 * - AUTH only goes over TLS (starttls = STARTTLS_REQUIRED) or to a
 *   loopback host (127.0.0.0/8, "localhost"); anything else is refused
 *   before connecting.  With credentials, nothing is sent unless AUTH
 *   succeeded, and with STARTTLS_REQUIRED nothing is sent in clear.
 * - The password never appears in err, in an item or in the log.
 * - Addresses and data are checked first, so a CR, LF or bare line end
 *   cannot inject a command or end the DATA phase early.
 *
 * libESMTP has no connect timeout: connect() to an unreachable host may
 * block for the kernel's SYN retries (about 2 minutes on Linux).  Every
 * later phase is bounded by 'timeout_s'.
 *
 * Speed: one session carries every item; the socket gets TCP_NODELAY
 * (libESMTP writes a message over 2 KB in two writes, and the tail would
 * wait for the server's delayed ACK, ~40 ms a message); PIPELINING is
 * used when offered (libESMTP).
 */
#ifndef NOTIFY_SMTP_H
#define NOTIFY_SMTP_H

#include <signal.h>
#include <stddef.h>

#include "notify/config.h"
#include "notify/result.h"

/* Session settings.  Everything is borrowed for the call only. */
struct smtp_opts {
	const char *host; /* name or IPv4 address; no IPv6 literal */
	int port;	  /* 1..65535 */
	enum chan_starttls starttls;
	const char *username;  /* NULL: no AUTH */
	const char *password;  /* a secret: never logged, never in err */
	const char *ca_file;   /* PEM CA bundle; NULL: system CAs */
	const char *mail_from; /* envelope sender, a bare address */
	int timeout_s;	       /* per command; <= 0: SMTP_DEFAULT_TIMEOUT_S */
	const char *helo_name; /* EHLO name; NULL: libESMTP's (the host
				* name, which a relay may refuse) */
	/* Called from inside smtp_send() as soon as item i has its final
	 * status (its DATA answered, or its MAIL or RCPT refused), so that
	 * the caller can record it before the next message goes; NULL:
	 * none.  Never called for an item the session did not reach. */
	void (*done)(void *ctx, size_t i);
	void *done_ctx;
	/* Set (SIGTERM): the message being sent ends, no other starts; the
	 * items left have status 0.  May be NULL. */
	volatile sig_atomic_t *stop;
};

/* Seconds each SMTP phase may wait when opts.timeout_s is not set. */
#define SMTP_DEFAULT_TIMEOUT_S 30

/* One message to one recipient: data, with ins[0..ins_len) inserted at
 * byte ins_at (a per-recipient To: line in a shared body), or data alone
 * when ins_len is 0.  Items may share 'data' (the same pointer): it is
 * checked once. */
struct smtp_item {
	const char *rcpt; /* bare address, borrowed */
	const char *data; /* the RFC 5322 message, borrowed */
	size_t len;	  /* bytes in data; every line ends in CRLF */
	const char *ins;  /* whole CRLF lines, borrowed; may be NULL */
	size_t ins_len;
	size_t ins_at; /* a line start of data, <= len */
	/* results, filled by smtp_send(): */
	int status;	/* the server's reply for this item, 0 if none */
	char text[160]; /* its text, printable ASCII, NUL-terminated */
};

/*
 * Sends every item over one session: one MAIL FROM:<mail_from>, one RCPT
 * and one DATA per item, and the data exactly as given (libESMTP does the
 * dot-stuffing; it adds Date, From and Message-Id only if missing and
 * drops a Return-Path header).
 *
 * An item's status is the first failure among MAIL, RCPT and DATA, else
 * the reply that ended DATA (250 when the server took the message); 0 when
 * the session ended before that reply.  'text' is that reply's text with
 * its enhanced code ("5.1.1 No such user"), untrusted: printable ASCII
 * only, cut to fit.  Read it with smtp_item_fate().
 *
 * Results:
 * - NT_OK: the session ran to its end; each item's status says its fate.
 * - NT_ETEMP: no session or a broken one: the host does not resolve or
 *   refuses, a timeout, a 4xx greeting, 421, a lost connection, a failed
 *   TLS handshake or certificate check, a temporary AUTH failure (454).
 * - NT_EPERM: a permanent session error: AUTH rejected (535) or not
 *   offered, STARTTLS required but not offered, a 5xx greeting or EHLO,
 *   or AUTH asked over plain text to a host that is not loopback.
 * - NT_EINVAL: bad options, addresses or data (a bare CR or LF, a NUL, a
 *   line over 998 bytes, no final CRLF); nothing was sent.
 * - NT_ECONFIG: ca_file cannot be loaded; nothing was sent.
 * On any failure, items the server accepted before it keep their 2xx
 * status (never resend them) and every other item has status 0.  'err'
 * says why, never with the password.
 */
nt_rc smtp_send(const struct smtp_opts *o, struct smtp_item *items, size_t n,
		struct nt_err *err);

/* What an item's status means: 2xx sent, 4xx (or 0, not reached)
 * temporary, 5xx permanent.  Any other value counts as temporary. */
enum smtp_fate { SMTP_SENT, SMTP_TEMP, SMTP_PERM };
enum smtp_fate smtp_item_fate(const struct smtp_item *it);

/* Static name of 'f': "sent", "temp", "perm". */
const char *smtp_fate_name(enum smtp_fate f);

#endif
