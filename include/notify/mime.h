/*
 * mime.h - one alert e-mail, rendered as a complete RFC 5322 message.
 *
 * The output is 7-bit ASCII with CRLF line endings and no line over 998
 * bytes (header lines are folded to 76 where they can be), ready for SMTP
 * DATA; dot-stuffing is the transport's business.  Headers come in this
 * order: From, To, Subject, Date, Message-ID, MIME-Version, List-Id,
 * List-Unsubscribe, List-Unsubscribe-Post, Auto-Submitted: auto-generated,
 * Precedence: bulk (docs/protocols.md, 3.1).  The body is
 * multipart/alternative with a text/plain part then a text/html part, or a
 * single text/plain part when there is no HTML; both are charset=utf-8,
 * quoted-printable, or base64 when GMime finds it smaller (mostly
 * non-ASCII text).
 *
 * The output is a function of the inputs alone: the multipart boundary is
 * "=_notify_" plus a SHA-256 prefix of the Message-ID, and the Date is
 * rendered in UTC.  "=_" cannot occur in quoted-printable or base64 text,
 * so the boundary never collides with a part.
 *
 * Header injection: the Subject, display names and the List-Id label are
 * untrusted.  Line breaks (CR, LF, VT, FF, NEL, U+2028, U+2029) and tabs
 * become spaces, other C0/C1 controls and DEL are dropped, runs of spaces
 * are collapsed and the ends trimmed; what is not plain printable ASCII
 * (or holds "=?") is RFC 2047-encoded as UTF-8 encoded-words of at most 75
 * bytes that never split a UTF-8 sequence.  Every other header value is
 * validated and refused (NT_EINVAL) rather than repaired.
 *
 * GMime: mime_build() calls g_mime_init() once per process (guarded by
 * g_once) and never g_mime_shutdown(), so GMime's one-time tables live until
 * exit.  mime_build() is meant for one thread at a time.
 */
#ifndef NOTIFY_MIME_H
#define NOTIFY_MIME_H

#include <stddef.h>
#include <time.h>

#include "notify/result.h"

/* Limits of the validated fields, in bytes. */
#define MIME_ID_MAX 250	     /* Message-ID, without <>: fits on one line */
#define MIME_LIST_ID_MAX 255 /* RFC 2919 */
#define MIME_URL_MAX 900     /* "List-Unsubscribe: <url>" stays under 998 */
#define MIME_ADDR_MAX 254    /* RFC 5321: a path is 256 with its <> */

/* All strings are borrowed for the duration of mime_build() and must be
 * UTF-8 (NT_EINVAL otherwise). */
struct mime_msg {
	/* One mailbox, "Veille cyber <veille@example.org>" or a bare
	 * address; the display name may be UTF-8, the address must be
	 * ASCII (no SMTPUTF8: write an IDN domain in its xn-- form). */
	const char *from;
	/* NULL-terminated list, at least one; each entry is one mailbox in
	 * the same syntax as 'from'.  One message per recipient is the
	 * caller's choice. */
	const char *const *to;
	const char *subject; /* untrusted; may be "" */
	time_t date;	     /* rendered in UTC, "+0000" */
	/* Without <>: "2026-11-09-slug.a1b2@example.org".  Dot-atom text
	 * on both sides of exactly one '@', at most MIME_ID_MAX bytes. */
	const char *message_id;
	/* Optional (NULL: no List-Id).  A dot-atom with at least one dot,
	 * "veille.example.org", rendered "List-Id: <veille.example.org>". */
	const char *list_id;
	/* Optional phrase before the List-Id, "Veille cyber"; untrusted,
	 * cleaned and encoded like the Subject.  Ignored without list_id. */
	const char *list_label;
	/* Optional "https://..." or "mailto:..." URL, at most MIME_URL_MAX
	 * bytes, without spaces, controls, non-ASCII, '<', '>' or ','.
	 * Rendered "List-Unsubscribe: <url>"; an https URL also gets
	 * "List-Unsubscribe-Post: List-Unsubscribe=One-Click" (RFC 8058). */
	const char *list_unsubscribe;
	const char *text; /* text/plain body; required */
	const char *html; /* text/html body; NULL: a single text/plain part */
};

/* Renders 'm'.  Bodies may use LF, CRLF or CR line endings; each part
 * ends with a line break.  On NT_OK *out is owned (free(3)), NUL-terminated
 * after *len bytes; on failure *out and *len are untouched and 'err' names
 * the field at fault.  Results: NT_EINVAL (a missing field, a From or To
 * that is not exactly one valid mailbox or holds a control character, a bad
 * Message-ID, List-Id or List-Unsubscribe URL, invalid UTF-8).  Running
 * out of memory aborts (result.h; GLib does the same). */
nt_rc mime_build(const struct mime_msg *m, char **out, size_t *len,
		 struct nt_err *err);

/* The message of 'm' without its To: line (m->to is ignored), for many
 * recipients: on NT_OK *out is owned (free(3)), *len bytes, and *to_at is
 * where a recipient's To: line goes (mime_compose()).  Otherwise as
 * mime_build(). */
nt_rc mime_build_shared(const struct mime_msg *m, char **out, size_t *len,
			size_t *to_at, struct nt_err *err);

struct nt_buf;

/* Appends to 'out' the message for recipient 'rcpt' (a mailbox as in
 * mime_msg.to): shared[0..to_at), its To: line, shared[to_at..len) --
 * byte for byte what mime_build() makes for that one recipient.  On
 * failure 'out' may hold part of it.  Results: NT_EINVAL (not one valid
 * mailbox, to_at past the end).  A bare address needs no GMime, so this
 * may run in any thread; a display name is parsed with GMime. */
nt_rc mime_compose(const char *shared, size_t len, size_t to_at,
		   const char *rcpt, struct nt_buf *out, struct nt_err *err);

/* Appends the To: line (CRLF included) of 'rcpt' alone, as
 * mime_compose() inserts it.  Results as mime_compose(). */
nt_rc mime_to_line(const char *rcpt, struct nt_buf *out, struct nt_err *err);

/* Checks 'm' as mime_build() would (addresses, Message-ID, List-Id,
 * List-Unsubscribe, UTF-8) without building anything: for validating a
 * channel's configuration before any post.  Same results and messages. */
nt_rc mime_check(const struct mime_msg *m, struct nt_err *err);

#endif
