/*
 * text.h - UTF-8 and text helpers shared by the parsers and renderers.
 *
 * All functions take untrusted bytes; none reads past the given length.
 * Returned strings are owned by the caller (free(3)).
 */
#ifndef NOTIFY_TEXT_H
#define NOTIFY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF).  On false, *bad (if not NULL) is the offset
 * of the first bad byte. */
bool text_utf8_valid(const char *s, size_t n, size_t *bad);

/* Appends the UTF-8 encoding of 'cp' to out (at most 4 bytes) and returns
 * the number written; invalid code points are written as U+FFFD. */
size_t text_utf8_put(uint32_t cp, char out[4]);

/* Copy of s[0..n) with every run of ASCII white space turned into one
 * space, and none at either end. */
char *text_collapse_ws(const char *s, size_t n);

/* Folded copy of 's' for matching headings: lower case, Latin accents
 * removed, typographic apostrophes and no-break spaces made ASCII, white
 * space collapsed.  's' must be valid UTF-8. */
char *text_fold(const char *s);

/* Copy of 's' with HTML character references decoded: numeric (&#38;,
 * &#x5b;) and the common named ones.  Unknown or malformed references are
 * kept as they are; references to invalid code points become U+FFFD. */
char *text_decode_entities(const char *s);

/* Length of the longest prefix of s[0..n) that is at most 'max' bytes and
 * does not end inside a UTF-8 sequence. */
size_t text_utf8_cut(const char *s, size_t n, size_t max);

/* Inline Markdown that reads as 's' exactly: every ASCII punctuation
 * character backslash-escaped, line breaks turned into spaces.  For plain
 * values (title, URL, date) that go where Markdown is expected. */
char *text_md_escape(const char *s);

/* Copy of 's' cut to at most 'max' bytes on a UTF-8 boundary, with "…"
 * appended when it was cut (the result is then at most max + 3 bytes). */
char *text_ellipsize(const char *s, size_t max);

/* Owned copy of 's' that is safe to print as part of one line, on a
 * terminal or in a log: tab, CR and LF become a space; every other C0
 * control, DEL, every C1 control (U+0080..U+009F: U+009B is CSI to some
 * terminals) and every byte that is not part of well-formed UTF-8 become
 * '?'.  All else is kept.  NULL gives NULL.  For file names, titles and
 * error texts, which are untrusted: an ESC or a C1 control would let
 * them drive the terminal. */
char *text_printable(const char *s);

/* text_printable() of 'src' into dst[0..size): at most size - 1 bytes
 * and a NUL, cut on a character boundary, so that a fixed buffer (a log
 * line, an error text) never ends inside a character.  'src' NULL gives
 * ""; size 0 writes nothing. */
void text_printable_to(char *dst, size_t size, const char *src);

/* Owned copy of 's' that is well-formed UTF-8: each byte that is not part
 * of a well-formed sequence becomes '?'; all else is kept, controls
 * included (for JSON, which escapes those).  NULL gives NULL. */
char *text_utf8_scrub(const char *s);

#endif
