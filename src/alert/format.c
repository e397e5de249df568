/*
 * format.c - renders one inline Markdown value for HTML, Slack mrkdwn and
 * plain text.  One walk over the cmark tree with an iterator and a switch,
 * as cmark's own src/html.c does; the three targets differ only in the
 * strings written and in what is escaped.
 */
#include "notify/format.h"

#include <cmark.h>
#include <stdbool.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify/text.h"

#define S_ZWSP "\xE2\x80\x8B"	  /* U+200B, breaks "@room" without showing */
#define S_ELLIPSIS "\xE2\x80\xA6" /* U+2026 */
#define S_BOM "\xEF\xBB\xBF"	  /* cmark skips it, so columns start after */

/* Longest list marker or quote marker kept as text ("123456789." is 10). */
#define S_MARKER_MAX 10
/* Longest character reference a cut may land in ("&#x10FFFF;" is 10). */
#define S_ENTITY_MAX 10

enum S_fmt { S_HTML, S_MRKDWN, S_TEXT };

struct S_ctx {
	enum S_fmt fmt;
	struct nt_buf *out;
	size_t base;	  /* out->len when rendering began */
	bool sep;	  /* a block ended: one space before what follows */
	size_t in_image;  /* depth of image descriptions: plain text there */
	cmark_node *link; /* the open link: an autolink can sit in a link */
	size_t link_at;	  /* S_TEXT: offset of the open link's text */
	const char *md;	  /* the source, for list and quote markers */
	size_t n;
	size_t *lines; /* offset of each line start, built on first use */
	size_t nlines;
};

static const char *const S_mentions[] = {"channel", "here", "everyone", "all",
					 "room"};

/* True when s[0..n) starts with a mention word, without case. */
static bool S_mention(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(S_mentions) / sizeof(*S_mentions); i++) {
		size_t len = strlen(S_mentions[i]);

		if (n >= len && strncasecmp(s, S_mentions[i], len) == 0)
			return true;
	}
	return false;
}

/* Shortens 'b' to 'len' bytes, keeping the NUL that buf.h promises. */
static void S_shrink(struct nt_buf *b, size_t len)
{
	b->len = len;
	if (b->buf)
		b->buf[len] = '\0';
}

static void S_sep(struct S_ctx *c)
{
	if (c->sep && c->out->len > c->base)
		nt_buf_addc(c->out, ' ');
	c->sep = false;
}

/* Markup written by us, never text from the post. */
static void S_raw(struct S_ctx *c, const char *s)
{
	S_sep(c);
	nt_buf_adds(c->out, s);
}

static const char *S_escape(enum S_fmt fmt, unsigned char ch)
{
	if (fmt == S_TEXT)
		return NULL;
	switch (ch) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return fmt == S_HTML ? "&quot;" : NULL;
	case '\'':
		return fmt == S_HTML ? "&#39;" : NULL;
	default:
		return NULL;
	}
}

/* What replaces the character at s[0..n) in text: NULL to copy it, ""
 * to drop it, else the replacement.  *len is the bytes it spans. */
static const char *S_repl(enum S_fmt fmt, const unsigned char *s, size_t n,
			  size_t *len)
{
	*len = 1;
	if (s[0] == '\t' || s[0] == '\n' || s[0] == '\r')
		return " ";
	if (s[0] < 0x20 || s[0] == 0x7F)
		return "";
	if (s[0] == 0xC2 && n > 1 && s[1] >= 0x80 && s[1] <= 0x9F) {
		*len = 2; /* C1 control; U+0085 is a line break to some */
		return "";
	}
	if (s[0] == 0xE2 && n > 2 && s[1] == 0x80 &&
	    (s[2] == 0xA8 || s[2] == 0xA9)) {
		*len = 3; /* line and paragraph separators */
		return " ";
	}
	return S_escape(fmt, s[0]);
}

/* Text from the post, escaped for the target. */
static void S_text(struct S_ctx *c, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0; /* start of the bytes not yet copied */

	S_sep(c);
	for (size_t i = 0; i < n;) {
		size_t len;
		const char *rep = S_repl(c->fmt, u + i, n - i, &len);

		if (!rep) {
			i++;
			continue;
		}
		nt_buf_add(c->out, s + run, i - run);
		nt_buf_adds(c->out, rep);
		i += len;
		run = i;
	}
	nt_buf_add(c->out, s + run, n - run);
}

static void S_texts(struct S_ctx *c, const char *s)
{
	S_text(c, s ? s : "", s ? strlen(s) : 0);
}

static bool S_url_ok(const char *url)
{
	if (!url)
		return false;
	if (strncasecmp(url, "https://", 8) == 0)
		return url[8] != '\0';
	if (strncasecmp(url, "http://", 7) == 0)
		return url[7] != '\0';
	if (strncasecmp(url, "mailto:", 7) == 0)
		return url[7] != '\0';
	return false;
}

/* A URL the scheme check accepted.  Controls, space and the characters
 * RFC 3986 never allows are percent-encoded ('|', '<' and '>' among them,
 * which end a mrkdwn link); HTML escapes the rest for the attribute. */
static void S_url(struct S_ctx *c, const char *url)
{
	size_t n = strlen(url);

	S_sep(c);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)url[i];
		const char *esc =
			c->fmt == S_HTML ? S_escape(c->fmt, ch) : NULL;
		bool pct =
			ch <= 0x20 || ch == 0x7F || strchr("\"<>\\^`{|}", ch);

		if (ch == '@' && c->fmt != S_HTML)
			pct = S_mention(url + i + 1, n - i - 1);
		if (pct)
			nt_buf_addf(c->out, "%%%02X", ch);
		else if (esc)
			nt_buf_adds(c->out, esc);
		else
			nt_buf_addc(c->out, (char)ch);
	}
}

static void S_code(struct S_ctx *c, const char *s, size_t n)
{
	bool marked = c->in_image == 0 && c->fmt != S_TEXT;
	const char *open = c->fmt == S_HTML ? "<code>" : "`";

	if (marked)
		S_raw(c, open);
	S_text(c, s, n);
	if (marked)
		S_raw(c, c->fmt == S_HTML ? "</code>" : "`");
}

static void S_mark(struct S_ctx *c, cmark_node_type type, bool enter)
{
	bool strong = type == CMARK_NODE_STRONG;

	if (c->in_image || c->fmt == S_TEXT)
		return;
	if (c->fmt == S_MRKDWN)
		S_raw(c, strong ? "*" : "_");
	else if (strong)
		S_raw(c, enter ? "<strong>" : "</strong>");
	else
		S_raw(c, enter ? "<em>" : "</em>");
}

static void S_link_enter(struct S_ctx *c, cmark_node *n)
{
	const char *url = cmark_node_get_url(n);
	bool empty = cmark_node_first_child(n) == NULL;

	if (c->in_image || c->link || !S_url_ok(url))
		return; /* an inner link is just its text */
	c->link = n;
	switch (c->fmt) {
	case S_HTML:
		S_raw(c, "<a href=\"");
		S_url(c, url);
		S_raw(c, "\">");
		if (empty)
			S_texts(c, url);
		break;
	case S_MRKDWN:
		S_raw(c, "<");
		S_url(c, url);
		if (!empty)
			S_raw(c, "|");
		break;
	case S_TEXT:
		S_sep(c);
		c->link_at = c->out->len;
		break;
	}
}

/* Plain text: "text (url)", or the URL alone when it is the text. */
static void S_text_link_exit(struct S_ctx *c, const char *url)
{
	struct nt_buf *o = c->out;
	size_t tn = o->len - c->link_at;
	size_t un = strlen(url);
	const char *t;

	if (tn == 0) {
		S_url(c, url);
		return;
	}
	t = o->buf + c->link_at;
	if (tn == un && memcmp(t, url, un) == 0) {
		S_shrink(o, c->link_at); /* again, with '@' percent-encoded */
		S_url(c, url);
		return;
	}
	if (strncasecmp(url, "mailto:", 7) == 0 && tn == un - 7 &&
	    memcmp(t, url + 7, tn) == 0)
		return;
	S_raw(c, " (");
	S_url(c, url);
	S_raw(c, ")");
}

static void S_link_exit(struct S_ctx *c, cmark_node *n)
{
	const char *url = cmark_node_get_url(n);

	if (n != c->link)
		return;
	c->link = NULL;
	if (c->fmt == S_HTML)
		S_raw(c, "</a>");
	else if (c->fmt == S_MRKDWN)
		S_raw(c, ">");
	else
		S_text_link_exit(c, url);
}

/* cmark's line ends are LF, CR and CR LF. */
static void S_index_lines(struct S_ctx *c)
{
	size_t cap = 1;

	for (size_t i = 0; i < c->n; i++)
		cap += c->md[i] == '\n' || c->md[i] == '\r';
	c->lines = nt_xmalloc(cap * sizeof(*c->lines));
	c->lines[0] = 0;
	if (c->n >= 3 && memcmp(c->md, S_BOM, 3) == 0)
		c->lines[0] = 3;
	c->nlines = 1;
	for (size_t i = 0; i < c->n; i++) {
		bool crlf = c->md[i] == '\r' && i + 1 < c->n &&
			    c->md[i + 1] == '\n';

		if ((c->md[i] == '\n' || c->md[i] == '\r') && !crlf)
			c->lines[c->nlines++] = i + 1;
	}
}

/* Bytes [*from, *to) of line 'line' from column 'col' (both 1-based, as
 * cmark counts) to the line end; false when out of range. */
static bool S_span(struct S_ctx *c, int line, int col, size_t *from, size_t *to)
{
	size_t at, end;

	if (!c->lines)
		S_index_lines(c);
	if (line < 1 || col < 1 || (size_t)line > c->nlines)
		return false;
	at = c->lines[line - 1];
	end = (size_t)line < c->nlines ? c->lines[line] : c->n;
	while (end > at && (c->md[end - 1] == '\n' || c->md[end - 1] == '\r'))
		end--;
	if ((size_t)(col - 1) >= end - at)
		return false;
	*from = at + (size_t)(col - 1);
	*to = end;
	return true;
}

/* The marker of a list item or block quote ("-", "12)", ">") as written:
 * the source from the start of 'n' to its first child on the same line. */
static void S_marker(struct S_ctx *c, cmark_node *n)
{
	cmark_node *child = cmark_node_first_child(n);
	int line = cmark_node_get_start_line(n);
	size_t from, to, cfrom, cto, len = 0;

	if (!S_span(c, line, cmark_node_get_start_column(n), &from, &to))
		return;
	if (child && cmark_node_get_start_line(child) == line &&
	    S_span(c, line, cmark_node_get_start_column(child), &cfrom, &cto) &&
	    cfrom > from)
		to = cfrom;
	while (from + len < to && len <= S_MARKER_MAX &&
	       c->md[from + len] != '\0' &&
	       strchr("0123456789.)-+*>", c->md[from + len]))
		len++;
	if (len == 0 || len > S_MARKER_MAX)
		return;
	if (from + len < to && c->md[from + len] != ' ' &&
	    c->md[from + len] != '\t')
		return; /* columns shifted by U+FFFD: not a marker after all */
	S_text(c, c->md + from, len);
	c->sep = true;
}

/* Code block and HTML block literals end with a newline. */
static size_t S_trim_end(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
			 s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

static void S_enter(struct S_ctx *c, cmark_node *n)
{
	const char *lit = cmark_node_get_literal(n);

	switch (cmark_node_get_type(n)) {
	case CMARK_NODE_TEXT:
	case CMARK_NODE_HTML_INLINE: /* shown, never passed through */
		S_texts(c, lit);
		break;
	case CMARK_NODE_CODE:
		S_code(c, lit ? lit : "", lit ? strlen(lit) : 0);
		break;
	case CMARK_NODE_SOFTBREAK:
		S_text(c, " ", 1);
		break;
	case CMARK_NODE_LINEBREAK:
		if (c->fmt == S_HTML && c->in_image == 0)
			S_raw(c, "<br>");
		else
			S_text(c, " ", 1);
		break;
	case CMARK_NODE_EMPH:
	case CMARK_NODE_STRONG:
		S_mark(c, cmark_node_get_type(n), true);
		break;
	case CMARK_NODE_LINK:
		S_link_enter(c, n);
		break;
	case CMARK_NODE_IMAGE:
		c->in_image++;
		break;
	case CMARK_NODE_CODE_BLOCK:
		S_code(c, lit ? lit : "", lit ? S_trim_end(lit) : 0);
		c->sep = true;
		break;
	case CMARK_NODE_HTML_BLOCK:
		S_text(c, lit ? lit : "", lit ? S_trim_end(lit) : 0);
		c->sep = true;
		break;
	case CMARK_NODE_THEMATIC_BREAK:
		c->sep = true;
		break;
	case CMARK_NODE_ITEM:
	case CMARK_NODE_BLOCK_QUOTE:
		S_marker(c, n);
		break;
	default:
		break;
	}
}

static void S_exit(struct S_ctx *c, cmark_node *n)
{
	cmark_node_type type = cmark_node_get_type(n);

	switch (type) {
	case CMARK_NODE_EMPH:
	case CMARK_NODE_STRONG:
		S_mark(c, type, false);
		break;
	case CMARK_NODE_LINK:
		S_link_exit(c, n);
		break;
	case CMARK_NODE_IMAGE:
		c->in_image--;
		break;
	default:
		if (type <= CMARK_NODE_LAST_BLOCK)
			c->sep = true; /* paragraphs are joined by a space */
		break;
	}
}

/* Inserts U+200B after the '@' of every mention word appended since
 * 'base'.  A pass over the output, not the text nodes, because "@*room*"
 * and "@&#114;oom" only become "@room" once rendered. */
static void S_defuse(struct nt_buf *out, size_t base)
{
	struct nt_buf tail = NT_BUF_INIT;
	size_t hits = 0, run = 0;

	for (size_t i = base; i < out->len; i++)
		hits += out->buf[i] == '@' &&
			S_mention(out->buf + i + 1, out->len - i - 1);
	if (hits == 0)
		return;
	nt_buf_add(&tail, out->buf + base, out->len - base);
	S_shrink(out, base);
	for (size_t i = 0; i < tail.len; i++) {
		if (tail.buf[i] != '@' ||
		    !S_mention(tail.buf + i + 1, tail.len - i - 1))
			continue;
		nt_buf_add(out, tail.buf + run, i + 1 - run);
		nt_buf_adds(out, S_ZWSP);
		run = i + 1;
	}
	nt_buf_add(out, tail.buf + run, tail.len - run);
	nt_buf_release(&tail);
}

/* The full path: cmark parses the value, one iterator walk renders it. */
static void S_render_cmark(const char *md, size_t n, enum S_fmt fmt,
			   struct nt_buf *out)
{
	struct S_ctx c = {.fmt = fmt, .out = out, .base = out->len};
	cmark_node *doc;
	cmark_iter *it;
	cmark_event_type ev;

	c.md = md;
	c.n = n;
	/* U+FFFD for bad UTF-8, so every output is valid UTF-8 */
	doc = cmark_parse_document(
		c.md, n, CMARK_OPT_SOURCEPOS | CMARK_OPT_VALIDATE_UTF8);
	it = cmark_iter_new(doc);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		if (ev == CMARK_EVENT_ENTER)
			S_enter(&c, cmark_iter_get_node(it));
		else
			S_exit(&c, cmark_iter_get_node(it));
	}
	cmark_iter_free(it);
	cmark_node_free(doc);
	free(c.lines);
}

static bool S_ascii_punct(unsigned char ch)
{
	return ch < 0x80 && ispunct(ch);
}

/* Is md[0..n) one line of text that cmark would render as its own
 * characters, backslash escapes aside?  Nothing that opens markup
 * (unescaped * _ ` [ ] < > ! &), no line break, nothing at the start that
 * opens a block (heading, quote, list, rule, indented code).  Most view
 * values are such text: titles, dates, URLs, plain key points. */
static bool S_is_plain(const char *md, size_t n)
{
	const unsigned char *u = (const unsigned char *)md;
	size_t i = 0;

	if (n == 0 || strchr(" \t#>-+*=_~`|[<", u[0]) ||
	    (n >= 3 && memcmp(md, S_BOM, 3) == 0))
		return false;
	while (i < n && isdigit(u[i]))
		i++;
	if (i > 0 && i < n && (u[i] == '.' || u[i] == ')'))
		return false; /* "1." opens an ordered list */
	for (i = 0; i < n; i++) {
		if (u[i] == '\\' && i + 1 < n && S_ascii_punct(u[i + 1]))
			i++; /* an escaped character is text */
		else if (strchr("\n\r*_`[]<>!&", u[i]) || u[i] == '\0')
			return false;
	}
	return text_utf8_valid(md, n, NULL);
}

/* What cmark would make of plain text: backslash escapes removed,
 * trailing blanks dropped; then escaped as S_text() does. */
static void S_render_plain(const char *md, size_t n, enum S_fmt fmt,
			   struct nt_buf *out)
{
	struct S_ctx c = {.fmt = fmt, .out = out, .base = out->len};
	struct nt_buf t = NT_BUF_INIT;

	while (n > 0 && (md[n - 1] == ' ' || md[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n; i++) {
		if (md[i] == '\\' && i + 1 < n &&
		    S_ascii_punct((unsigned char)md[i + 1]))
			i++;
		nt_buf_addc(&t, md[i]);
	}
	S_text(&c, nt_buf_str(&t), t.len);
	nt_buf_release(&t);
}

static void S_render(const char *md, size_t n, enum S_fmt fmt, bool defuse,
		     struct nt_buf *out)
{
	size_t base = out->len;

	if (!md)
		md = "", n = 0;
	/* a third of a render's time went to parsing values that hold no
	 * markup at all: those skip cmark (test_format_fast checks both
	 * paths agree) */
	if (S_is_plain(md, n))
		S_render_plain(md, n, fmt, out);
	else
		S_render_cmark(md, n, fmt, out);
	if (defuse)
		S_defuse(out, base);
}

void fmt_html(const char *md, size_t n, struct nt_buf *out)
{
	S_render(md, n, S_HTML, false, out);
}

void fmt_mrkdwn(const char *md, size_t n, struct nt_buf *out)
{
	S_render(md, n, S_MRKDWN, true, out);
}

void fmt_text(const char *md, size_t n, struct nt_buf *out)
{
	S_render(md, n, S_TEXT, true, out);
}

void fmt_header_text(const char *s, size_t n, struct nt_buf *out)
{
	struct nt_buf tmp = NT_BUF_INIT;
	char *flat;

	/* no mention to defuse: headers and plain_text objects never ping */
	S_render(s, n, S_TEXT, false, &tmp);
	/* fmt_text() already dropped every other C0 control and DEL */
	flat = text_collapse_ws(nt_buf_str(&tmp), tmp.len);
	nt_buf_adds(out, flat);
	free(flat);
	nt_buf_release(&tmp);
}

static bool S_is_lead(char ch)
{
	return ((unsigned char)ch & 0xC0) != 0x80;
}

/* Moves a cut at 'cut' back so that it does not split a character
 * reference or a mrkdwn link "<https://...|text>". */
static size_t S_safe_cut(const char *s, size_t start, size_t cut)
{
	for (size_t i = cut; i > start && cut - i <= S_ENTITY_MAX; i--) {
		char ch = s[i - 1];

		if (ch == '&') {
			cut = i - 1;
			break;
		}
		if (!(ch == '#' || (ch >= '0' && ch <= '9') ||
		      ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')))
			break;
	}
	for (size_t i = cut; i > start; i--) {
		const char *p = s + i - 1;

		if (*p == '>')
			break;
		if (*p == '<' && (strncasecmp(p + 1, "http://", 7) == 0 ||
				  strncasecmp(p + 1, "https://", 8) == 0 ||
				  strncasecmp(p + 1, "mailto:", 7) == 0)) {
			cut = i - 1;
			break;
		}
	}
	return cut;
}

size_t fmt_truncate(struct nt_buf *b, size_t start, size_t max_chars)
{
	size_t count = 0, kept = 0, cut = 0;

	if (start >= b->len)
		return 0;
	for (size_t i = start; i < b->len; i++)
		count += S_is_lead(b->buf[i]);
	if (count <= max_chars)
		return count;
	if (max_chars == 0) {
		S_shrink(b, start);
		return 0;
	}
	/* keep max_chars - 1 code points, then the ellipsis */
	for (cut = start; cut < b->len; cut++) {
		if (S_is_lead(b->buf[cut]) && kept++ == max_chars - 1)
			break;
	}
	cut = S_safe_cut(b->buf, start, cut);
	while (cut > start && b->buf[cut - 1] == ' ')
		cut--;
	S_shrink(b, cut);
	count = 0;
	for (size_t i = start; i < cut; i++)
		count += S_is_lead(b->buf[i]);
	nt_buf_adds(b, S_ELLIPSIS);
	return count + 1;
}

void fmt_compat(const char *s, size_t n, struct nt_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		unsigned char next = i + 1 < n ? (unsigned char)s[i + 1] : 0;

		/* no '<' at all: these receivers also read Slack's <!here>
		 * and <url|label>, whatever Markdown escaping says */
		if (c == '<') {
			nt_buf_adds(out, "\xE2\x80\xB9"); /* U+2039 */
			continue;
		}
		if (c == '>') {
			nt_buf_adds(out, "\xE2\x80\xBA"); /* U+203A */
			continue;
		}
		if (c != '\0' && strchr("\\[]()!`", c))
			nt_buf_addc(out, '\\');
		nt_buf_addc(out, (char)c);
		if (c == '@' && (isalnum(next) || next >= 0x80))
			nt_buf_adds(out, S_ZWSP);
	}
}
