/* Unit tests of format.c: HTML, mrkdwn, plain text, headers, truncation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "notify/buf.h"
#include "notify/format.h"
#include "notify/text.h"

#define ZWSP "\xE2\x80\x8B"
#define ELLIPSIS "\xE2\x80\xA6"

typedef void (*render_fn)(const char *, size_t, struct nt_buf *);

/* The example value of the brief, with every trap at once. */
static const char *const hostile =
	"**CVE-2026-1234** : faille dans `foo` [lien](https://x.example) "
	"<script>alert(1)</script> @room <!channel>";

static char *render(render_fn fn, const char *md)
{
	struct nt_buf b = NT_BUF_INIT;

	fn(md, strlen(md), &b);
	return nt_buf_detach(&b);
}

static void check(render_fn fn, const char *md, const char *want)
{
	char *got = render(fn, md);

	assert_string_equal(got, want);
	free(got);
}

static char *repeat(const char *unit, size_t times, const char *tail)
{
	struct nt_buf b = NT_BUF_INIT;

	for (size_t i = 0; i < times; i++)
		nt_buf_adds(&b, unit);
	nt_buf_adds(&b, tail);
	return nt_buf_detach(&b);
}

/* Tags of an fmt_html() output: only strong, em, code, a (with href
 * only) and br, closed in order; no stray '<' or '>'.  Returns false
 * with a reason in *why. */
static bool tags_ok(const char *s, const char **why)
{
	static const char *const names[] = {"strong", "em", "code", "a"};
	size_t cap = strlen(s) + 1, depth = 0;
	int *stack = calloc(cap, sizeof(*stack));
	bool ok = true, a_open = false;

	assert_non_null(stack);
	*why = "";
	for (const char *p = s; *p && ok; p++) {
		const char *end;
		bool close;
		size_t len;
		int k = -1;

		if (*p == '>') {
			*why = "stray >";
			ok = false;
			break;
		}
		if (*p != '<')
			continue;
		end = strchr(p, '>');
		if (!end) {
			*why = "unclosed <";
			ok = false;
			break;
		}
		close = p[1] == '/';
		p += close ? 2 : 1;
		len = strcspn(p, " >");
		if (!close && len == 2 && strncmp(p, "br", 2) == 0 &&
		    p + 2 == end) {
			p = end;
			continue;
		}
		for (int i = 0; i < 4; i++)
			if (strlen(names[i]) == len &&
			    strncmp(p, names[i], len) == 0)
				k = i;
		if (k < 0) {
			*why = "tag not allowed";
			ok = false;
		} else if (close) {
			ok = p + len == end && depth > 0 && stack[--depth] == k;
			a_open = a_open && k != 3;
			*why = ok ? "" : "bad closing tag";
		} else if (k == 3) {
			ok = strncmp(p, "a href=\"", 8) == 0 && !a_open &&
			     memchr(p + 8, '"', (size_t)(end - p - 8)) ==
				     end - 1;
			*why = ok ? "" : "bad or nested <a>";
			stack[depth++] = k;
			a_open = true;
		} else {
			ok = p + len == end;
			*why = ok ? "" : "attribute on tag";
			stack[depth++] = k;
		}
		p = end;
	}
	if (ok && depth != 0) {
		*why = "unclosed element";
		ok = false;
	}
	free(stack);
	return ok;
}

static void assert_tags_ok(const char *html)
{
	const char *why;

	if (!tags_ok(html, &why))
		fail_msg("%s in: %.200s", why, html);
}

static void tag_scanner_rejects_bad_html(void **state)
{
	static const char *const bad[] = {
		"<script>",
		"<em>a",
		"a</em>",
		"<strong>a</em>",
		"a > b",
		"<em class=\"x\">a</em>",
		"<a href=\"x\" onclick=\"y\">z</a>",
		"<img src=x>",
		"<a>x</a>",
		"<br/>",
		"a <b",
		"<a href=\"x\"><a href=\"y\">z</a></a>",
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(tags_ok(bad[i], &why));
	assert_true(tags_ok("<strong><em>a</em></strong><br>"
			    "<a href=\"https://x\"><code>b</code></a>",
			    &why));
}

static void html_converts_inline_markup(void **state)
{
	(void)state;
	check(fmt_html,
	      "**CVE-2026-1234** : faille dans `foo` _et_ "
	      "[lien](https://x.example)",
	      "<strong>CVE-2026-1234</strong> : faille dans <code>foo</code> "
	      "<em>et</em> <a href=\"https://x.example\">lien</a>");
	check(fmt_html, "a\nb", "a b");
	check(fmt_html, "a  \nb", "a<br>b");
	check(fmt_html, "a\\\nb", "a<br>b");
	check(fmt_html, "", "");
	check(fmt_html, "[](https://x.example)",
	      "<a href=\"https://x.example\">https://x.example</a>");
}

static void html_escapes_text_and_raw_html(void **state)
{
	(void)state;
	check(fmt_html, "a & b \"q\" 'x' 1 < 2 > 0",
	      "a &amp; b &quot;q&quot; &#39;x&#39; 1 &lt; 2 &gt; 0");
	check(fmt_html, "<script>alert(1)</script>",
	      "&lt;script&gt;alert(1)&lt;/script&gt;");
	check(fmt_html, "x <img src=x onerror=alert(1)> y",
	      "x &lt;img src=x onerror=alert(1)&gt; y");
	check(fmt_html, "<img src=x onerror=alert(1)>",
	      "&lt;img src=x onerror=alert(1)&gt;");
	check(fmt_html, "&lt;b&gt; &amp;amp;", "&lt;b&gt; &amp;amp;");
	check(fmt_html, "`<b>`", "<code>&lt;b&gt;</code>");
	check(fmt_html, hostile,
	      "<strong>CVE-2026-1234</strong> : faille dans <code>foo</code> "
	      "<a href=\"https://x.example\">lien</a> "
	      "&lt;script&gt;alert(1)&lt;/script&gt; @room &lt;!channel&gt;");
}

static void html_links_only_for_web_and_mail(void **state)
{
	(void)state;
	check(fmt_html, "[x](javascript:alert(1))", "x");
	check(fmt_html, "[x](JavaScript:alert(1))", "x");
	check(fmt_html, "[x](javascript&#58;alert(1))", "x");
	check(fmt_html, "[x](data:text/html,<b>)", "x");
	check(fmt_html, "[x](vbscript:msgbox)", "x");
	check(fmt_html, "[x](/relative)", "x");
	check(fmt_html, "[x](https:)", "x");
	check(fmt_html, "<javascript:alert(1)>", "javascript:alert(1)");
	check(fmt_html, "[m](mailto:a@b.example)",
	      "<a href=\"mailto:a@b.example\">m</a>");
	check(fmt_html, "[*e*](HTTP://x.example)",
	      "<a href=\"HTTP://x.example\"><em>e</em></a>");
	check(fmt_html, "[q](<https://x/a b?c=1&d='\"'>)",
	      "<a href=\"https://x/a%20b?c=1&amp;d=&#39;%22&#39;\">q</a>");
	check(fmt_html, "[a <https://y> b](https://x)",
	      "<a href=\"https://x\">a https://y b</a>");
	check(fmt_mrkdwn, "[a <https://y> b](https://x)",
	      "<https://x|a https://y b>");
	check(fmt_text, "[a <https://y> b](https://x)",
	      "a https://y b (https://x)");
	check(fmt_text, "[<https://y>](https://x)", "https://y (https://x)");
	check(fmt_html, "[q](https://x/&#10;y)",
	      "<a href=\"https://x/%0Ay\">q</a>");
}

static void html_images_give_alt_text(void **state)
{
	(void)state;
	check(fmt_html, "![a](https://x/y.png)", "a");
	check(fmt_html, "![*a* [l](https://x) `c`](https://x/y.png)", "a l c");
	check(fmt_html, "[![logo](https://x/y.png)](https://x)",
	      "<a href=\"https://x\">logo</a>");
	check(fmt_html, "![<b>](x)", "&lt;b&gt;");
}

static void html_flattens_blocks(void **state)
{
	(void)state;
	check(fmt_html, "p1\n\np2", "p1 p2");
	check(fmt_html, "intro\n\n- a\n- *b*", "intro - a - <em>b</em>");
	check(fmt_html,
	      "2025. Une ann\xC3\xA9"
	      "e noire",
	      "2025. Une ann\xC3\xA9"
	      "e noire");
	check(fmt_html, "3) x\n4) y", "3) x 4) y");
	check(fmt_html, "+ 3 CVE", "+ 3 CVE");
	check(fmt_html, "> 50 % des cas", "&gt; 50 % des cas");
	check(fmt_html, "> - a\n> - b", "&gt; - a - b");
	check(fmt_html, "-", "-");
	check(fmt_html, "# Titre", "Titre");
	check(fmt_html, "Titre\n=====", "Titre");
	check(fmt_html, "a\n\n---\n\nb", "a b");
	check(fmt_html, "    int x;", "<code>int x;</code>");
	check(fmt_html, "```\na < b\nc\n```", "<code>a &lt; b c</code>");
	check(fmt_html, "\xEF\xBB\xBF- x", "- x");
	check(fmt_html, "a\r\n\r\n1. b", "a 1. b");
}

static void html_output_uses_only_allowed_tags(void **state)
{
	static const char *const inputs[] = {
		"**a** *b* `c` [d](https://x) ![e](https://x/e.png) f  \ng",
		"<script>alert(1)</script>",
		"<img src=x onerror=alert(1)>",
		"<a href=\"javascript:alert(1)\">x</a>",
		"<!channel> <!here|x> <@U123>",
		"[x](javascript:alert(1)) [y](https://x/\"onmouseover=\"a)",
		"<div>\n*block*\n</div>",
		"# h\n\n> q\n\n- l\n\n1. o\n\n```\ncode\n```\n\n---",
		"***a*** **_b_** [**c** `d`](https://x)",
		"[a](<https://x/\"><script>>)",
		"[a <https://y> [b](https://z)](https://x)",
	};
	char *html;

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		html = render(fmt_html, inputs[i]);
		assert_tags_ok(html);
		free(html);
	}
	html = render(fmt_html, hostile);
	assert_tags_ok(html);
	free(html);
}

static void mrkdwn_converts_inline_markup(void **state)
{
	(void)state;
	check(fmt_mrkdwn, "**b** *i* `c` [l](https://x.example/a)",
	      "*b* _i_ `c` <https://x.example/a|l>");
	check(fmt_mrkdwn, "[l](https://x.example/a|b<c>)",
	      "<https://x.example/a%7Cb%3Cc%3E|l>");
	check(fmt_mrkdwn, "[l](https://x/?a=1&b=2)", "<https://x/?a=1&b=2|l>");
	check(fmt_mrkdwn, "<https://x.example>",
	      "<https://x.example|https://x.example>");
	check(fmt_mrkdwn, "[](https://x.example)", "<https://x.example>");
	check(fmt_mrkdwn, "[x](javascript:alert(1))", "x");
	check(fmt_mrkdwn, "![a](https://x/y.png)", "a");
	check(fmt_mrkdwn, "p1\n\n- a", "p1 - a");
	check(fmt_mrkdwn, hostile,
	      "*CVE-2026-1234* : faille dans `foo` <https://x.example|lien> "
	      "&lt;script&gt;alert(1)&lt;/script&gt; @" ZWSP
	      "room &lt;!channel&gt;");
}

static void mrkdwn_never_passes_a_raw_angle_bracket(void **state)
{
	static const char *const inputs[] = {
		"<!channel>",
		"<!here|x>",
		"<@U123> <#C123> <!subteam^S1>",
		"&lt;!channel&gt;",
		"\\<!everyone\\>",
		"`<!here>`",
		"[<!channel>](javascript:x)",
		"![<!here>](https://x/y.png)",
		"<div>\n<!channel>\n</div>",
	};

	(void)state;
	check(fmt_mrkdwn, "<!channel> a & b > c",
	      "&lt;!channel&gt; a &amp; b &gt; c");
	check(fmt_mrkdwn, "<!here|x>", "&lt;!here|x&gt;");
	check(fmt_mrkdwn, "`a & <b>`", "`a &amp; &lt;b&gt;`");
	check(fmt_mrkdwn, "[a <b> & c](https://x)",
	      "<https://x|a &lt;b&gt; &amp; c>");
	check(fmt_mrkdwn, "\"l'a\"", "\"l'a\"");
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		char *s = render(fmt_mrkdwn, inputs[i]);

		if (strchr(s, '<') || strchr(s, '>'))
			fail_msg("raw bracket from \"%s\": %s", inputs[i], s);
		free(s);
	}
}

static void mentions_are_neutralised(void **state)
{
	render_fn fns[] = {fmt_mrkdwn, fmt_text};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		check(fns[i], "@room @channel @here @everyone @all",
		      "@" ZWSP "room @" ZWSP "channel @" ZWSP "here @" ZWSP
		      "everyone @" ZWSP "all");
		check(fns[i], "@Room, @HERE. (@everyone's)",
		      "@" ZWSP "Room, @" ZWSP "HERE. (@" ZWSP "everyone's)");
		check(fns[i], "@&#114;oom x@\x01here",
		      "@" ZWSP "room x@" ZWSP "here");
		check(fns[i], "@alice @rooms", "@alice @" ZWSP "rooms");
		check(fns[i], "@" ZWSP "room", "@" ZWSP "room");
	}
	check(fmt_text, "@*room* @`here`", "@" ZWSP "room @" ZWSP "here");
	check(fmt_html, "@room", "@room"); /* Matrix pings come from body */
	check(fmt_text, "[x](https://x.example/@here/p)",
	      "x (https://x.example/%40here/p)");
	check(fmt_mrkdwn, "[x](https://x.example/@here/p)",
	      "<https://x.example/%40here/p|x>");
	check(fmt_text, "[x](https://x.example/@alice)",
	      "x (https://x.example/@alice)");
}

static void text_strips_markup(void **state)
{
	(void)state;
	check(fmt_text, hostile,
	      "CVE-2026-1234 : faille dans foo lien (https://x.example) "
	      "<script>alert(1)</script> @" ZWSP "room <!channel>");
	check(fmt_text, "**a** _b_ `c & d`", "a b c & d");
	check(fmt_text, "<https://x.example/a>", "https://x.example/a");
	check(fmt_text, "[https://x.example](https://x.example)",
	      "https://x.example");
	check(fmt_text, "<a@b.example>", "a@b.example");
	check(fmt_text,
	      "[\xC3\xA9"
	      "crire](mailto:a@b.example)",
	      "\xC3\xA9"
	      "crire (mailto:a@b.example)");
	check(fmt_text, "[x](javascript:alert(1))", "x");
	check(fmt_text, "[](https://x.example)", "https://x.example");
	check(fmt_text, "[![](https://x/i.png)](https://x.example)",
	      "https://x.example");
	check(fmt_text, "[x](<https://x/a b>)", "x (https://x/a%20b)");
	check(fmt_text, "![alt](https://x/y.png)", "alt");
	check(fmt_text,
	      "a\x01"
	      "b\tc\x7f"
	      "d\xC2\x85"
	      "e\xE2\x80\xA8"
	      "f",
	      "ab cde f");
	check(fmt_text, "a  \nb\n\n- c", "a b - c");
}

static void header_text_is_one_clean_line(void **state)
{
	struct nt_buf b = NT_BUF_INIT;
	const char nul[] = "a\0b\r\nBcc: x@y.example";

	(void)state;
	check(fmt_header_text, "Titre\r\nBcc: evil@x.example\r\n",
	      "Titre Bcc: evil@x.example");
	check(fmt_header_text, "  a \t\x1b[31m  b\x7f  ", "a [31m b");
	/* headers never ping: a Subject reads back as the title */
	check(fmt_header_text, "**Faille** dans `foo` @room",
	      "Faille dans foo @room");
	check(fmt_header_text, "Sujet\n=====\n\nsuite", "Sujet suite");
	check(fmt_header_text, "a  \nb\rc", "a b c");
	fmt_header_text(nul, sizeof(nul) - 1, &b);
	assert_null(memchr(b.buf, '\0', b.len));
	assert_null(strpbrk(b.buf, "\r\n"));
	assert_string_equal(b.buf, "a\xEF\xBF\xBD"
				   "b Bcc: x@y.example");
	nt_buf_release(&b);
	fmt_header_text(NULL, 0, &b);
	assert_int_equal(b.len, 0);
	nt_buf_release(&b);
}

static void appends_after_existing_content(void **state)
{
	struct nt_buf b = NT_BUF_INIT;

	(void)state;
	nt_buf_adds(&b, "x:");
	fmt_html("*a*\n\nb", 6, &b);
	assert_string_equal(nt_buf_str(&b), "x:<em>a</em> b");
	fmt_text("@room", 5, &b);
	assert_string_equal(nt_buf_str(&b), "x:<em>a</em> b@" ZWSP "room");
	fmt_mrkdwn("**c**", 3, &b); /* n bounds the read: "**c" */
	assert_string_equal(nt_buf_str(&b), "x:<em>a</em> b@" ZWSP "room**c");
	nt_buf_release(&b);
}

static void truncate_cuts_on_code_points(void **state)
{
	struct nt_buf b = NT_BUF_INIT;
	char *md = repeat("\xC3\xA9", 10000, ""); /* 10,000 chars, 20,000 B */
	size_t start;

	(void)state;
	nt_buf_adds(&b, "head ");
	start = b.len;
	fmt_text(md, strlen(md), &b);
	assert_int_equal(fmt_truncate(&b, start, 3000), 3000);
	assert_int_equal(b.len, start + 2999 * 2 + 3);
	assert_true(text_utf8_valid(b.buf, b.len, NULL));
	assert_memory_equal(b.buf + b.len - 3, ELLIPSIS, 3);
	assert_memory_equal(b.buf, "head \xC3\xA9", 7);
	/* already short enough: untouched */
	assert_int_equal(fmt_truncate(&b, start, 3000), 3000);
	assert_int_equal(b.len, start + 2999 * 2 + 3);
	assert_int_equal(fmt_truncate(&b, b.len + 1, 5), 0);
	assert_int_equal(fmt_truncate(&b, start, 1), 1);
	assert_string_equal(b.buf, "head " ELLIPSIS);
	assert_int_equal(fmt_truncate(&b, start, 0), 0);
	assert_string_equal(b.buf, "head ");
	nt_buf_release(&b);
	free(md);
}

static void truncate_keeps_entities_and_links_whole(void **state)
{
	struct nt_buf b = NT_BUF_INIT;

	(void)state;
	fmt_mrkdwn("ab & c", 6, &b); /* "ab &amp; c" */
	assert_int_equal(fmt_truncate(&b, 0, 6), 3);
	assert_string_equal(b.buf, "ab" ELLIPSIS);
	nt_buf_release(&b);
	nt_buf_adds(&b, "voir <https://x.example|le lien> ici");
	assert_int_equal(fmt_truncate(&b, 0, 20), 5);
	assert_string_equal(b.buf, "voir" ELLIPSIS);
	nt_buf_release(&b);
	nt_buf_adds(&b, "<https://x|a> b c d e");
	assert_int_equal(fmt_truncate(&b, 0, 17), 16); /* no space before … */
	assert_string_equal(b.buf, "<https://x|a> b" ELLIPSIS);
	nt_buf_release(&b);
	nt_buf_adds(&b, "1 < 2 and more text here");
	assert_int_equal(fmt_truncate(&b, 0, 10), 10);
	assert_string_equal(b.buf, "1 < 2 and" ELLIPSIS);
	nt_buf_release(&b);
}

static void deep_nesting_is_handled(void **state)
{
	static const struct {
		const char *unit, *tail;
		size_t times;
	} cases[] = {
		{"*", "", 10000},  {"*", "a", 10000},  {"_", "a", 10000},
		{"[", "a", 10000}, {"![", "a", 5000},  {">", " a", 10000},
		{"- ", "a", 5000}, {"1. ", "a", 3000}, {"`", "a", 10000},
		{"<", "a", 10000}, {"**a ", "", 5000}, {"[a](", "", 5000},
	};
	render_fn fns[] = {fmt_html, fmt_mrkdwn, fmt_text, fmt_header_text};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *md = repeat(cases[i].unit, cases[i].times, cases[i].tail);

		for (size_t f = 0; f < 4; f++) {
			char *out = render(fns[f], md);

			if (f == 0)
				assert_tags_ok(out);
			if (f == 1 && strchr(out, '<'))
				fail_msg("raw < in mrkdwn of case %zu", i);
			free(out);
		}
		free(md);
	}
	{
		char *md = repeat("*", 10000, "a");
		char *tail = repeat("*", 10000, "");
		struct nt_buf in = NT_BUF_INIT;
		char *out;

		nt_buf_adds(&in, md);
		nt_buf_adds(&in, tail);
		out = render(fmt_html, nt_buf_str(&in));
		assert_non_null(strstr(out, "a"));
		assert_tags_ok(out);
		free(out);
		out = render(fmt_text, nt_buf_str(&in));
		assert_string_equal(out, "a");
		free(out);
		nt_buf_release(&in);
		free(md);
		free(tail);
	}
}

static void invalid_utf8_becomes_replacement(void **state)
{
	render_fn fns[] = {fmt_html, fmt_mrkdwn, fmt_text, fmt_header_text};
	const char bad[] = "a\xC3(\xFF\xED\xA0\x80 [x](https://x/\xFE)";

	(void)state;
	for (size_t f = 0; f < 4; f++) {
		struct nt_buf b = NT_BUF_INIT;

		fns[f](bad, sizeof(bad) - 1, &b);
		assert_true(text_utf8_valid(nt_buf_str(&b), b.len, NULL));
		nt_buf_release(&b);
	}
}

static void compat_text_is_inert(void **state)
{
	struct nt_buf b = NT_BUF_INIT;
	const char *in = "![x](https://t.example/p.png) <!here> @alice [a](b)";

	(void)state;
	fmt_compat(in, strlen(in), &b);
	assert_string_equal(nt_buf_str(&b),
			    "\\!\\[x\\]\\(https://t.example/p.png\\) "
			    "\xE2\x80\xB9\\!here\xE2\x80\xBA @" ZWSP
			    "alice \\[a\\]\\(b\\)");
	assert_null(strchr(nt_buf_str(&b), '<'));
	nt_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tag_scanner_rejects_bad_html),
		cmocka_unit_test(html_converts_inline_markup),
		cmocka_unit_test(html_escapes_text_and_raw_html),
		cmocka_unit_test(html_links_only_for_web_and_mail),
		cmocka_unit_test(html_images_give_alt_text),
		cmocka_unit_test(html_flattens_blocks),
		cmocka_unit_test(html_output_uses_only_allowed_tags),
		cmocka_unit_test(mrkdwn_converts_inline_markup),
		cmocka_unit_test(mrkdwn_never_passes_a_raw_angle_bracket),
		cmocka_unit_test(mentions_are_neutralised),
		cmocka_unit_test(text_strips_markup),
		cmocka_unit_test(header_text_is_one_clean_line),
		cmocka_unit_test(compat_text_is_inert),
		cmocka_unit_test(appends_after_existing_content),
		cmocka_unit_test(truncate_cuts_on_code_points),
		cmocka_unit_test(truncate_keeps_entities_and_links_whole),
		cmocka_unit_test(deep_nesting_is_handled),
		cmocka_unit_test(invalid_utf8_becomes_replacement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
