/* Unit tests of template.c: errors, reuse, escaping, the caps.  The
 * Mustache spec itself is run by test_mustache_spec.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "notify/template.h"

/* Partials from a NULL-terminated list of name, text pairs; counts the
 * loads. */
struct parts {
	const char *const *kv;
	int loads;
};

static nt_rc S_loader(void *ctx, const char *name, char **src, size_t *len,
		      struct nt_err *err)
{
	struct parts *p = ctx;

	p->loads++;
	for (const char *const *kv = p->kv; kv[0]; kv += 2) {
		if (strcmp(kv[0], name) == 0) {
			*src = nt_xstrdup(kv[1]);
			*len = strlen(kv[1]);
			return NT_OK;
		}
	}
	return nt_fail(err, NT_ENOENT, "%s: no such partial", name);
}

static nt_rc S_compile(const char *src, struct parts *p, struct tmpl **t,
		       struct nt_err *err)
{
	return tmpl_compile("t", src, strlen(src), p ? S_loader : NULL, p, t,
			    err);
}

/* Compiles 'src', expecting NT_EPARSE with message 'msg'. */
static void S_refused(const char *src, const char *msg)
{
	struct tmpl *t = (struct tmpl *)&t; /* must stay untouched */
	struct tmpl *const canary = t;
	struct nt_err err = {{0}};

	assert_int_equal(S_compile(src, NULL, &t, &err), NT_EPARSE);
	assert_string_equal(err.msg, msg);
	assert_ptr_equal(t, canary);
}

/* Renders 'src' with JSON 'data' and escaping 'esc'; returns the text
 * (free it) or NULL with *rc set. */
static char *S_render(const char *src, const char *data, struct parts *p,
		      tmpl_escape_fn esc, void *ectx, nt_rc *rc,
		      struct nt_err *err)
{
	/* json-c's default depth, 32, is less than TMPL_MAX_DEPTH */
	json_tokener *tok = json_tokener_new_ex(1000);
	json_object *d = json_tokener_parse_ex(tok, data, (int)strlen(data));
	struct nt_buf out = NT_BUF_INIT;
	struct tmpl *t = NULL;

	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	json_tokener_free(tok);

	*rc = S_compile(src, p, &t, err);
	if (*rc == NT_OK)
		*rc = tmpl_render(t, d, esc, ectx, &out, err);
	tmpl_free(t);
	json_object_put(d);
	if (*rc) {
		assert_int_equal(out.len, 0);
		nt_buf_release(&out);
		return NULL;
	}
	return nt_buf_detach(&out);
}

static void parse_errors_name_line_and_column(void **state)
{
	(void)state;
	S_refused("ab\n  {{x", "t:2:3: unclosed tag");
	S_refused("{{{x}}", "t:1:1: unclosed tag");
	S_refused("a\n{{#a}}\n{{#b}}x{{/b}}\n", "t:2:1: unclosed section 'a'");
	S_refused("{{#a}}\n x {{/b}}", "t:2:4: section 'a' closed by 'b'");
	S_refused("x\n\n{{/a}}", "t:3:1: closing tag 'a' without a section");
	S_refused("{{=<% %>=}}\n<%x", "t:2:1: unclosed tag");
	S_refused("  {{= <% =}}", "t:1:3: bad set-delimiter tag");
	S_refused("{{=<% %> x=}}", "t:1:1: bad set-delimiter tag");
	S_refused("{{=a=b c=}}", "t:1:1: bad set-delimiter tag");
	S_refused("x {{ }}", "t:1:3: empty tag");
	S_refused("{{a b}}", "t:1:1: bad tag name");
	S_refused("{{a..b}}", "t:1:1: bad tag name");
	S_refused("{{#a.}}{{/a.}}", "t:1:1: bad tag name");
	S_refused("{{>}}", "t:1:1: empty partial name");
}

static void parse_errors_in_a_partial_name_the_partial(void **state)
{
	const char *kv[] = {"p", "ok\n{{>q}}", "q", "\n\n  {{#x}}", NULL};
	struct parts p = {kv, 0};
	struct tmpl *t = NULL;
	struct nt_err err = {{0}};

	(void)state;
	assert_int_equal(S_compile("{{>p}}", &p, &t, &err), NT_EPARSE);
	assert_string_equal(err.msg, "q:3:3: unclosed section 'x'");
	assert_null(t);
}

static nt_rc S_broken(void *ctx, const char *name, char **src, size_t *len,
		      struct nt_err *err)
{
	(void)ctx;
	(void)src;
	(void)len;
	return nt_fail(err, NT_EIO, "%s: disk on fire", name);
}

static void loader_errors_are_passed_up(void **state)
{
	struct tmpl *t = NULL;
	struct nt_err err = {{0}};

	(void)state;
	assert_int_equal(
		tmpl_compile("t", "{{>p}}", 6, S_broken, NULL, &t, &err),
		NT_EIO);
	assert_string_equal(err.msg, "p: disk on fire");
	assert_null(t);
	/* no loader: every partial is missing, and renders as nothing */
	assert_int_equal(tmpl_compile("t", "{{>p}}", 6, NULL, NULL, &t, &err),
			 NT_OK);
	tmpl_free(t);
	assert_int_equal(tmpl_compile(NULL, "", 0, NULL, NULL, &t, &err),
			 NT_EINVAL);
}

static void compile_once_render_many(void **state)
{
	const char *kv[] = {"item", "<{{.}}>", NULL};
	struct parts p = {kv, 0};
	struct tmpl *t = NULL;
	struct nt_err err = {{0}};
	const char *data[] = {"{\"l\":[1,2]}", "{\"l\":[]}", "{\"l\":[\"a\"]}"};
	const char *want[] = {"[<1><2>]", "[]", "[<a>]"};

	(void)state;
	assert_int_equal(S_compile("[{{#l}}{{>item}}{{/l}}]", &p, &t, &err),
			 NT_OK);
	assert_int_equal(p.loads, 1);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			json_object *d = json_tokener_parse(data[i]);
			struct nt_buf out = NT_BUF_INIT;

			nt_buf_adds(&out, "> "); /* render appends */
			assert_int_equal(
				tmpl_render(t, d, NULL, NULL, &out, &err),
				NT_OK);
			assert_string_equal(out.buf + 2, want[i]);
			nt_buf_release(&out);
			json_object_put(d);
		}
	}
	assert_int_equal(p.loads, 1);
	tmpl_free(t);
}

struct calls {
	int n;
	char seen[64];
};

static void S_upper(void *ctx, const char *s, size_t n, struct nt_buf *out)
{
	struct calls *c = ctx;

	c->n++;
	strncat(c->seen, s, n);
	for (size_t i = 0; i < n; i++)
		nt_buf_addc(out,
			    (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A'
							      : s[i]));
}

static void escape_is_used_for_double_mustache_only(void **state)
{
	struct calls c = {0, ""};
	struct nt_err err = {{0}};
	nt_rc rc;
	char *s = S_render("text {{a}} {{{b}}} {{&c}} {{=| |=}}|d|",
			   "{\"a\":\"x<\",\"b\":\"y<\",\"c\":\"z<\",\"d\":7}",
			   NULL, S_upper, &c, &rc, &err);

	(void)state;
	assert_string_equal(s, "text X< y< z< 7");
	assert_int_equal(c.n, 2);
	assert_string_equal(c.seen, "x<7");
	free(s);
	/* NULL: plain text, no escaping */
	s = S_render("{{a}}", "{\"a\":\"<&>\"}", NULL, NULL, NULL, &rc, &err);
	assert_string_equal(s, "<&>");
	free(s);
}

static void values_render_as_documented(void **state)
{
	struct nt_err err = {{0}};
	nt_rc rc;
	char *s = S_render(
		"{{i}}|{{d}}|{{w}}|{{big}}|{{neg}}|{{t}}|{{f}}|{{n}}|{{o}}|{{a}"
		"}"
		"|{{#z}}z{{/z}}{{#e}}e{{/e}}{{#eo}}eo{{/eo}}",
		"{\"i\":85,\"d\":1.5,\"w\":85.0,\"big\":18446744073709551615,"
		"\"neg\":-0.25,\"t\":true,\"f\":false,\"n\":null,\"o\":{},"
		"\"a\":[1],\"z\":0,\"e\":\"\",\"eo\":{}}",
		NULL, tmpl_escape_html, NULL, &rc, &err);

	(void)state;
	assert_string_equal(s, "85|1.5|85|18446744073709551615|-0.25|true||||"
			       "|eo");
	free(s);
}

static void html_escape(void **state)
{
	struct nt_buf out = NT_BUF_INIT;

	(void)state;
	tmpl_escape_html(NULL, "a&b<c>d\"e'f", 11, &out);
	assert_string_equal(nt_buf_str(&out), "a&amp;b&lt;c&gt;d&quot;e'f");
	nt_buf_release(&out);
	tmpl_escape_html(NULL, "x\0<", 3, &out); /* bytes, not C strings */
	assert_int_equal(out.len, 6);
	assert_memory_equal(out.buf, "x\0&lt;", 6);
	nt_buf_release(&out);
	tmpl_escape_html(NULL, "", 0, &out);
	assert_int_equal(out.len, 0);
	nt_buf_release(&out);
}

/* 'n' nested sections "{{#a}}" ... "{{/a}}" around "x". */
static char *S_nested(int n)
{
	struct nt_buf b = NT_BUF_INIT;

	for (int i = 0; i < n; i++)
		nt_buf_adds(&b, "{{#a}}");
	nt_buf_adds(&b, "x");
	for (int i = 0; i < n; i++)
		nt_buf_adds(&b, "{{/a}}");
	return nt_buf_detach(&b);
}

static void deep_nesting_is_refused(void **state)
{
	char *ok = S_nested(TMPL_MAX_NESTING);
	char *bad = S_nested(TMPL_MAX_NESTING + 1);
	struct nt_err err = {{0}};
	nt_rc rc;
	char *s = S_render(ok, "{\"a\":true}", NULL, NULL, NULL, &rc, &err);

	(void)state;
	assert_string_equal(s, "x");
	free(s);
	assert_null(S_render(bad, "{}", NULL, NULL, NULL, &rc, &err));
	assert_int_equal(rc, NT_EPARSE);
	assert_string_equal(err.msg,
			    "t:1:601: sections nested deeper than 100");
	free(ok);
	free(bad);
}

static void recursion_depth_is_bounded(void **state)
{
	const char *kv[] = {"self", "x{{>self}}", "tree",
			    "({{#kids}}{{>tree}}{{/kids}})", NULL};
	struct parts p = {kv, 0};
	struct nt_buf data = NT_BUF_INIT;
	struct nt_err err = {{0}};
	nt_rc rc;
	char *s;

	(void)state;
	assert_null(S_render("a\n {{>self}}", "{}", &p, NULL, NULL, &rc, &err));
	assert_int_equal(rc, NT_EPARSE);
	assert_string_equal(err.msg,
			    "self:1:2: partials nested deeper than 64");
	assert_int_equal(p.loads, 1);

	/* a tree TMPL_MAX_DEPTH deep renders; one more level fails */
	for (int i = 0; i < TMPL_MAX_DEPTH; i++)
		nt_buf_adds(&data, "{\"kids\":[");
	for (int i = 0; i < TMPL_MAX_DEPTH; i++)
		nt_buf_adds(&data, "]}");
	s = S_render("{{>tree}}", nt_buf_str(&data), &p, NULL, NULL, &rc, &err);
	assert_non_null(s);
	assert_int_equal(strlen(s), 2 * TMPL_MAX_DEPTH);
	free(s);
	nt_buf_release(&data);
	nt_buf_adds(&data, "{\"kids\":[");
	for (int i = 0; i < TMPL_MAX_DEPTH; i++)
		nt_buf_adds(&data, "{\"kids\":[");
	for (int i = 0; i <= TMPL_MAX_DEPTH; i++)
		nt_buf_adds(&data, "]}");
	assert_null(S_render("{{>tree}}", nt_buf_str(&data), &p, NULL, NULL,
			     &rc, &err));
	assert_int_equal(rc, NT_EPARSE);
	nt_buf_release(&data);
}

static void exponential_templates_are_capped(void **state)
{
	/* p0 names p1 twice, p1 names p2 twice...: 2^40 calls, no output */
	const char *kv[2 * 40 + 1];
	struct parts p = {kv, 0};
	struct nt_err err = {{0}};
	nt_rc rc;
	char *out;

	(void)state;
	for (int i = 0; i < 40; i++) {
		kv[2 * i] = nt_xasprintf("p%d", i);
		kv[2 * i + 1] = nt_xasprintf("{{>p%d}}{{>p%d}}", i + 1, i + 1);
	}
	kv[80] = NULL;
	assert_null(S_render("{{>p0}}", "{}", &p, NULL, NULL, &rc, &err));
	assert_int_equal(rc, NT_ETOOBIG);
	assert_non_null(strstr(err.msg, "render over 33554432 steps"));
	assert_int_equal(p.loads, 41);
	for (int i = 0; i < 80; i++)
		free((char *)kv[i]);
	/* sections nested over a list: 10^6 lines of output */
	out = S_render("{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}{{#l}}"
		       "0123456789abcdef0123456789abcdef\n"
		       "{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}{{/l}}",
		       "{\"l\":[0,1,2,3,4,5,6,7,8,9]}", NULL, NULL, NULL, &rc,
		       &err);
	assert_null(out);
	assert_int_equal(rc, NT_ETOOBIG);
	assert_non_null(strstr(err.msg, "output over 16777216 bytes"));
}

static void partial_indent_applies_to_template_lines(void **state)
{
	const char *kv[] = {"outer", "a\n  {{>inner}}\n{{v}}\n", "inner",
			    "b\n{{!c}}{{!d}}\nc\n", NULL};
	struct parts p = {kv, 0};
	struct nt_err err = {{0}};
	nt_rc rc;
	char *s = S_render(" {{>outer}}\n", "{\"v\":\"1\\n2\"}", &p, NULL, NULL,
			   &rc, &err);

	(void)state;
	assert_string_equal(s, " a\n   b\n   \n   c\n 1\n2\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_errors_name_line_and_column),
		cmocka_unit_test(parse_errors_in_a_partial_name_the_partial),
		cmocka_unit_test(loader_errors_are_passed_up),
		cmocka_unit_test(compile_once_render_many),
		cmocka_unit_test(escape_is_used_for_double_mustache_only),
		cmocka_unit_test(values_render_as_documented),
		cmocka_unit_test(html_escape),
		cmocka_unit_test(deep_nesting_is_refused),
		cmocka_unit_test(recursion_depth_is_bounded),
		cmocka_unit_test(exponential_templates_are_capped),
		cmocka_unit_test(partial_indent_applies_to_template_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
