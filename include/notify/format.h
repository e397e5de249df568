/*
 * format.h - one value of the alert model, rendered safely for a target.
 *
 * Values (titles, summaries, list items) are inline Markdown written by the
 * blog's authors: untrusted.  Each renderer parses md[0..n) with cmark and
 * appends one inline fragment to 'out'; it never fails (allocation aborts
 * on OOM, see result.h) and never emits a block tag or a newline.  A
 * value that parses as several blocks (paragraph + list...) is flattened:
 * blocks are joined with one space, and the markers of list items and
 * block quotes ("-", "3.", ">") are kept as text, since in a one-line
 * title they are words ("2025. Une année noire", "> 50 % des cas").
 *
 * Input is meant to be valid UTF-8; invalid sequences and NUL become
 * U+FFFD, and nothing is read outside md[0..n).  Time is linear in n and no
 * function recurses on nesting depth.  C0 controls and DEL are dropped
 * (tab, CR and LF become a space), C1 controls too, and U+2028/U+2029
 * become a space.  Links keep their target only for http:, https: and
 * mailto: URLs; any other scheme (javascript:, data:, relative) keeps
 * just the link text.  Images give their alt text.  Raw HTML in the post is
 * shown as text, never passed through.
 *
 * "Mentions neutralised" means that U+200B is inserted after the '@' of
 * any "@channel", "@here", "@everyone", "@all" or "@room", compared without
 * case and as a prefix ("@Here", "@everyone's", "@allianz"): receivers
 * tokenise differently, and an invisible character is cheaper than a ping
 * to a whole room.  In a URL the '@' is written %40 instead.
 */
#ifndef NOTIFY_FORMAT_H
#define NOTIFY_FORMAT_H

#include <stddef.h>

#include "notify/buf.h"

/* HTML for email bodies and Matrix formatted_body.  Only the tags strong,
 * em, code, a (href only) and br are emitted, always balanced; text and
 * attributes escape & < > " and '.  Mentions are left alone: Matrix pings
 * come from 'body' (fmt_text) and email has none. */
void fmt_html(const char *md, size_t n, struct nt_buf *out);

/* Slack mrkdwn: *strong*, _em_, `code`, <url|text>.  Text escapes exactly
 * & < > (as &amp; &lt; &gt;), so the only raw '<' in the output opens a
 * link built here; '|', '<' and '>' in a URL are percent-encoded.  Mentions
 * are neutralised.  Meant for "verbatim": true text objects. */
void fmt_mrkdwn(const char *md, size_t n, struct nt_buf *out);

/* Plain text (Matrix body, text/plain mail): markup dropped, a link as
 * "text (url)" when its URL is allowed and differs from its text.  Nothing
 * is escaped; mentions are neutralised. */
void fmt_text(const char *md, size_t n, struct nt_buf *out);

/* The plain text of s[0..n) for an email header or a Slack plain_text
 * object: as fmt_text(), but mentions are left as written (neither pings,
 * and a Subject must read back as the title), every run of white space
 * becomes one space, none at either end, and the result holds no CR, LF,
 * NUL, other C0 or DEL. */
void fmt_header_text(const char *s, size_t n, struct nt_buf *out);

/* Plain text s[0..n) (fmt_text() output, or a text template's) made
 * inert for receivers that read Markdown, Slack's <…> syntax, and ping on
 * "@name" (Mattermost, Rocket.Chat, Discord): '<' and '>' become the
 * look-alikes U+2039 and U+203A, the characters that open links, images
 * and code (\ [ ] ( ) ! `) are backslash-escaped, and U+200B follows
 * every '@' before a letter or digit.  Emphasis characters are left: they
 * change looks, not meaning. */
void fmt_compat(const char *s, size_t n, struct nt_buf *out);

/* Cuts what was appended to 'b' since byte offset 'start' to at most
 * 'max_chars' code points, ending with U+2026 (counted in max_chars) when
 * something was cut, and returns the number of code points left after
 * 'start'.  A cut never splits a UTF-8 sequence, a character reference
 * ("&amp;") or a mrkdwn link ("<https://...|text>": the whole link goes).
 * HTML elements are not re-closed, so cut mrkdwn or plain text, not HTML.
 * A 'start' past the end leaves 'b' alone and returns 0. */
size_t fmt_truncate(struct nt_buf *b, size_t start, size_t max_chars);

#endif
