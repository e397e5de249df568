/*
 * sections.c - finds the headline, summary, sections, CVE ids and source of
 * a post body in the cmark tree.  Values are cut from the source text by
 * cmark's source positions, so list items keep their inline Markdown as the
 * author wrote it.
 */
#include <cmark.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify/text.h"
#include "post_int.h"

/* CVE ids kept at most: the de-duplication is quadratic, and the
 * largest real bulletin names a few hundred. */
#define SECTIONS_MAX_CVES 1000

struct sctx {
	struct post *p;
	const char *body;
	size_t len;
	size_t *lines; /* byte offset of each line start; lines[nlines] = len */
	int nlines;
	const struct post_aliases *aliases;
	enum post_section cur;
	bool have_kp_heading;
	cmark_node *first_list;
};

static bool S_is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool S_is_word(char ch)
{
	char lower = (char)(ch | 0x20);

	return S_is_digit(ch) || (lower >= 'a' && lower <= 'z');
}

static void S_index_lines(struct sctx *c)
{
	int n = 1;

	for (size_t i = 0; i < c->len; i++)
		n += c->body[i] == '\n';
	c->lines = nt_xmalloc(((size_t)n + 1) * sizeof(*c->lines));
	c->lines[0] = 0;
	c->nlines = 1;
	for (size_t i = 0; i < c->len; i++)
		if (c->body[i] == '\n')
			c->lines[c->nlines++] = i + 1;
	c->lines[c->nlines] = c->len + 1; /* as if a final newline followed */
}

/* Source text of lines [from, to] of node 'n', starting at the node's
 * start column on its first line and ending at its end column on its last
 * line, white space collapsed.  Lines are 1-based, as in cmark. */
static char *S_source(const struct sctx *c, cmark_node *n, int from, int to)
{
	int sl = cmark_node_get_start_line(n);
	int el = cmark_node_get_end_line(n);
	struct nt_buf b = NT_BUF_INIT;
	char *out;

	if (from < 1 || to > c->nlines || from > to)
		return nt_xstrdup("");
	for (int l = from; l <= to; l++) {
		size_t start = c->lines[l - 1];
		size_t end = c->lines[l] - 1; /* the newline */
		int sc = cmark_node_get_start_column(n);
		int ec = cmark_node_get_end_column(n);

		if (end > c->len)
			end = c->len;
		if (l == sl && sc > 1 && start + (size_t)(sc - 1) <= end)
			start += (size_t)(sc - 1);
		if (l == el && ec > 0 && c->lines[l - 1] + (size_t)ec < end)
			end = c->lines[l - 1] + (size_t)ec;
		nt_buf_add(&b, c->body + start, end - start);
		nt_buf_addc(&b, '\n');
	}
	out = text_collapse_ws(nt_buf_str(&b), b.len);
	nt_buf_release(&b);
	return out;
}

/* Plain text of the subtree of 'n': markup dropped, breaks as spaces.
 * An iterator, not recursion: a hostile post nests without limit. */
static void S_plain_tree(cmark_node *n, struct nt_buf *b)
{
	cmark_iter *it = cmark_iter_new(n);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *cur = cmark_iter_get_node(it);

		if (ev != CMARK_EVENT_ENTER)
			continue;
		switch (cmark_node_get_type(cur)) {
		case CMARK_NODE_TEXT:
		case CMARK_NODE_CODE:
			nt_buf_adds(b, cmark_node_get_literal(cur));
			break;
		case CMARK_NODE_SOFTBREAK:
		case CMARK_NODE_LINEBREAK:
			nt_buf_addc(b, ' ');
			break;
		default:
			break;
		}
	}
	cmark_iter_free(it);
}

/* Plain text of 'n' and its following siblings up to 'stop' (exclusive;
 * NULL for all). */
static void S_plain(cmark_node *n, cmark_node *stop, struct nt_buf *b)
{
	for (; n && n != stop; n = cmark_node_next(n))
		S_plain_tree(n, b);
}

/* Heading text without the closing colon: "Points clés :" → "Points
 * clés".  Takes ownership of the buffer. */
static char *S_heading_text(struct nt_buf *b)
{
	char *t = text_collapse_ws(nt_buf_str(b), b->len);
	size_t n = strlen(t);

	nt_buf_release(b);
	for (;;) {
		if (n > 0 && (t[n - 1] == ':' || t[n - 1] == ' '))
			n--;
		else if (n >= 2 && (unsigned char)t[n - 2] == 0xC2 &&
			 (unsigned char)t[n - 1] == 0xA0)
			n -= 2; /* no-break space */
		else if (n >= 3 && memcmp(t + n - 3, "\xE2\x80\xAF", 3) == 0)
			n -= 3; /* narrow no-break space */
		else
			break;
	}
	t[n] = '\0';
	return t;
}

static bool S_is_break(cmark_node *n)
{
	cmark_node_type t = cmark_node_get_type(n);

	return t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK;
}

/* Only blanks and colons, the tail of "**Points clés** :". */
static bool S_is_colon_tail(cmark_node *n)
{
	const char *s;

	if (cmark_node_get_type(n) != CMARK_NODE_TEXT)
		return false;
	s = cmark_node_get_literal(n);
	for (; *s; s++) {
		if (*s == ' ' || *s == ':' || *s == '\t')
			continue;
		if (strncmp(s, "\xC2\xA0", 2) == 0) {
			s++;
			continue;
		}
		if (strncmp(s, "\xE2\x80\xAF", 3) == 0) {
			s += 2;
			continue;
		}
		return false;
	}
	return true;
}

/* Does the strong span 'n' wrap onto another line? */
static bool S_has_break(cmark_node *n)
{
	cmark_iter *it = cmark_iter_new(n);
	cmark_event_type ev;
	bool found = false;

	while (!found && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE)
		found = ev == CMARK_EVENT_ENTER &&
			S_is_break(cmark_iter_get_node(it));
	cmark_iter_free(it);
	return found;
}

/* A paragraph whose first line is one strong span (plus an optional
 * colon) is a heading; returns the first node after that line (NULL when
 * the paragraph is that line alone), or 'para' itself when it is not. */
static cmark_node *S_strong_heading(cmark_node *para)
{
	cmark_node *n = cmark_node_first_child(para);

	if (n == NULL || cmark_node_get_type(n) != CMARK_NODE_STRONG ||
	    S_has_break(n))
		return para;
	for (n = cmark_node_next(n); n; n = cmark_node_next(n)) {
		if (S_is_break(n))
			return cmark_node_next(n);
		if (!S_is_colon_tail(n))
			return para;
	}
	return NULL;
}

/* Does folded alias 'a' match folded heading 'h'?  An alias matches at the
 * start of any word ("autres points cles"); one written "^mesures" only at
 * the start of the heading, for words too common to match anywhere. */
static bool S_alias_matches(const char *h, const char *a)
{
	bool anchored = a[0] == '^';
	size_t n;

	if (anchored)
		a++;
	n = strlen(a);
	if (n == 0)
		return false;
	for (const char *w = h; *w; w++) {
		if (w > h && (anchored || S_is_word(w[-1])))
			continue;
		if (strncmp(w, a, n) == 0)
			return true;
		if (anchored)
			break;
	}
	return false;
}

static enum post_section S_classify(const struct sctx *c, const char *text)
{
	char *folded = text_fold(text);
	enum post_section found = POST_SEC_NONE;

	for (int s = 0; s < POST_SEC_COUNT && found == POST_SEC_NONE; s++) {
		const char *const *al = c->aliases && c->aliases->cls[s]
						? c->aliases->cls[s]
						: post_default_aliases(s);

		for (; *al && found == POST_SEC_NONE; al++) {
			char *a = text_fold(*al);

			if (S_alias_matches(folded, a))
				found = (enum post_section)s;
			free(a);
		}
	}
	free(folded);
	return found;
}

static void S_on_heading(struct sctx *c, char *text)
{
	c->cur = S_classify(c, text);
	if (c->cur == POST_SEC_KEY_POINTS)
		c->have_kp_heading = true;
	if (c->p->headline == NULL && text[0])
		c->p->headline = text;
	else
		free(text);
}

/* Items of 'list' and of the lists nested in them, in document order;
 * an item is its first paragraph.  An iterator walks the nesting, which
 * a hostile post can make as deep as its size allows. */
static void S_items(const struct sctx *c, cmark_node *list, struct nt_strv *out)
{
	cmark_iter *it = cmark_iter_new(list);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *item = cmark_iter_get_node(it);
		cmark_node *first = cmark_node_first_child(item);
		char *s;

		if (ev != CMARK_EVENT_ENTER ||
		    cmark_node_get_type(item) != CMARK_NODE_ITEM || !first ||
		    cmark_node_get_type(first) != CMARK_NODE_PARAGRAPH)
			continue;
		s = S_source(c, first, cmark_node_get_start_line(first),
			     cmark_node_get_end_line(first));
		if (s[0])
			nt_strv_push(out, s);
		else
			free(s);
	}
	cmark_iter_free(it);
}

static void S_summary(struct sctx *c, cmark_node *para, int from)
{
	char *s;

	if (c->p->summary)
		return;
	s = S_source(c, para, from, cmark_node_get_end_line(para));
	if (s[0])
		c->p->summary = s;
	else
		free(s);
}

static void S_on_paragraph(struct sctx *c, cmark_node *para)
{
	cmark_node *rest = S_strong_heading(para);
	struct nt_buf b = NT_BUF_INIT;
	int sl = cmark_node_get_start_line(para);

	if (rest == para) {
		S_summary(c, para, sl);
		return;
	}
	S_plain(cmark_node_first_child(para), rest, &b);
	S_on_heading(c, S_heading_text(&b));
	/* text after the heading line stays an ordinary paragraph */
	if (rest)
		S_summary(c, para, sl + 1);
}

static void S_block(struct sctx *c, cmark_node *n)
{
	struct nt_buf b = NT_BUF_INIT;

	switch (cmark_node_get_type(n)) {
	case CMARK_NODE_HEADING:
		S_plain(cmark_node_first_child(n), NULL, &b);
		S_on_heading(c, S_heading_text(&b));
		break;
	case CMARK_NODE_PARAGRAPH:
		S_on_paragraph(c, n);
		break;
	case CMARK_NODE_THEMATIC_BREAK:
		c->cur = POST_SEC_NONE;
		break;
	case CMARK_NODE_LIST:
		if (c->first_list == NULL)
			c->first_list = n;
		if (c->cur != POST_SEC_NONE)
			S_items(c, n, &c->p->sections[c->cur]);
		break;
	default:
		break;
	}
}

/* CVE-YYYY-NNNN... anywhere in the body, any case, not glued to a word. */
static void S_cves(struct post *p, const char *s, size_t n)
{
	for (size_t i = 0; i + 13 <= n; i++) {
		size_t j;
		char *id;

		if ((s[i] | 0x20) != 'c' || strncasecmp(s + i, "cve-", 4) != 0)
			continue;
		if (i > 0 && S_is_word(s[i - 1]))
			continue;
		for (j = i + 4; j < i + 8 && S_is_digit(s[j]); j++)
			;
		if (j != i + 8 || s[j] != '-')
			continue;
		for (j++; j < n && S_is_digit(s[j]); j++)
			;
		if (j - (i + 9) < 4)
			continue;
		if (p->cves.n >= SECTIONS_MAX_CVES)
			break;
		id = nt_xstrndup(s + i, j - i);
		memcpy(id, "CVE", 3);
		if (nt_strv_contains(&p->cves, id))
			free(id);
		else
			nt_strv_push(&p->cves, id);
		i = j - 1;
	}
}

/* The last link whose text is "Source" names the article summarised. */
static void S_source_link(struct post *p, cmark_node *doc)
{
	cmark_iter *it = cmark_iter_new(doc);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		struct nt_buf b = NT_BUF_INIT;
		char *text;

		if (ev != CMARK_EVENT_ENTER ||
		    cmark_node_get_type(n) != CMARK_NODE_LINK)
			continue;
		S_plain(cmark_node_first_child(n), NULL, &b);
		text = S_heading_text(&b);
		if (strcasecmp(text, "source") == 0) {
			free(p->source);
			p->source = nt_xstrdup(cmark_node_get_url(n));
		}
		free(text);
	}
	cmark_iter_free(it);
}

void sections_parse(struct post *p, const char *body, size_t len,
		    const struct post_aliases *aliases)
{
	struct sctx c = {.p = p,
			 .body = body,
			 .len = len,
			 .aliases = aliases,
			 .cur = POST_SEC_NONE};
	cmark_node *doc = cmark_parse_document(body, len, CMARK_OPT_DEFAULT);

	S_index_lines(&c);
	for (cmark_node *n = cmark_node_first_child(doc); n;
	     n = cmark_node_next(n))
		S_block(&c, n);
	if (!c.have_kp_heading && c.first_list)
		S_items(&c, c.first_list, &p->sections[POST_SEC_KEY_POINTS]);
	S_cves(p, body, len);
	S_source_link(p, doc);
	cmark_node_free(doc);
	free(c.lines);
}
