/* The fast path of format.c (values without markup skip cmark) must give
 * exactly what cmark gives.  This file includes format.c itself to reach
 * both paths; it compares them on many generated values. */
#include "../../src/alert/format.c"

#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>

/* Small deterministic generator (xorshift), so a failure reproduces. */
static uint32_t S_rand(uint32_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

static const char *const S_atoms[] = {
	"a",
	"Z",
	"7",
	" ",
	"\t",
	".",
	"-",
	"\\",
	"\\.",
	"\\*",
	"\\[",
	"\\\\",
	":",
	"/",
	"'",
	"\"",
	"(",
	")",
	"#",
	"@room",
	"@x",
	"%",
	"é",
	"’",
	"\xE2\x80\xAF",
	"1.",
	"2)",
	"=",
	"~",
	"|",
	"{",
	"}",
	"?",
	",",
	";",
	"$",
	"^",
	"+",
	"CVE-2026-1234",
	"https://x.example/a_b",
};

static void S_make(uint32_t *st, char *buf, size_t cap)
{
	size_t len = 0, atoms = S_rand(st) % 12;

	buf[0] = '\0';
	for (size_t i = 0; i < atoms; i++) {
		const char *a = S_atoms[S_rand(st) %
					(sizeof(S_atoms) / sizeof(*S_atoms))];
		size_t n = strlen(a);

		if (len + n + 1 >= cap)
			break;
		memcpy(buf + len, a, n + 1);
		len += n;
	}
}

static void fast_path_agrees_with_cmark(void **state)
{
	uint32_t st = 2463534242u;
	size_t plain = 0;
	char buf[256];

	(void)state;
	for (int round = 0; round < 200000; round++) {
		size_t n;

		S_make(&st, buf, sizeof(buf));
		n = strlen(buf);
		if (!S_is_plain(buf, n))
			continue;
		plain++;
		for (int f = S_HTML; f <= S_TEXT; f++) {
			struct nt_buf a = NT_BUF_INIT, b = NT_BUF_INIT;

			S_render_plain(buf, n, (enum S_fmt)f, &a);
			S_render_cmark(buf, n, (enum S_fmt)f, &b);
			if (strcmp(nt_buf_str(&a), nt_buf_str(&b)) != 0)
				fail_msg("format %d of '%s': fast '%s' cmark "
					 "'%s'",
					 f, buf, nt_buf_str(&a),
					 nt_buf_str(&b));
			nt_buf_release(&a);
			nt_buf_release(&b);
		}
	}
	/* the comparison must have covered many plain values */
	assert_true(plain > 20000);
	printf("# %zu plain values compared in 3 formats\n", plain);
}

static void markup_takes_the_cmark_path(void **state)
{
	static const char *const marked[] = {
		"*a*",	 "a_b_",	  "`c`", "[l](u)", "<b>",  "!x",
		"&amp;", "# h",		  "> q", "- i",	   "1. i", "    code",
		"a\nb",	 "\xEF\xBB\xBFx", "a\\", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(marked) / sizeof(*marked); i++) {
		size_t n = strlen(marked[i]);

		/* "a\\" is plain (a lone backslash is text); the rest not */
		if (strcmp(marked[i], "a\\") == 0)
			assert_true(S_is_plain(marked[i], n));
		else
			assert_false(S_is_plain(marked[i], n));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fast_path_agrees_with_cmark),
		cmocka_unit_test(markup_takes_the_cmark_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
