/* Unit tests of text.c: UTF-8, folding, entities. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "notify/text.h"

static void utf8_validation(void **state)
{
	const char *ok = "Vulnérabilités \xF0\x9F\x94\x92";
	size_t bad = 0;

	(void)state;
	assert_true(text_utf8_valid(ok, strlen(ok), &bad));
	assert_false(text_utf8_valid("ab\xC3\x28", 4, &bad));
	assert_int_equal(bad, 2);
	assert_false(text_utf8_valid("\xE0\x80\xAF", 3, &bad)); /* overlong */
	assert_false(text_utf8_valid("\xED\xA0\x80", 3, &bad)); /* surrogate */
	assert_false(text_utf8_valid("\xF4\x90\x80\x80", 4, &bad));
	assert_false(text_utf8_valid("\xC3", 1, &bad)); /* truncated */
	assert_false(text_utf8_valid("\xFF", 1, &bad));
}

static void fold_drops_case_and_accents(void **state)
{
	char *f = text_fold("  À RETENIR\xC2\xA0: Vulnérabilités Œuvre "
			    "l\xE2\x80\x99\xC3\xA9t\xC3\xA9  ");

	(void)state;
	assert_string_equal(f, "a retenir : vulnerabilites ouvre l'ete");
	free(f);
	f = text_fold("Vulne\xCC\x81rabilite\xCC\x81s"); /* NFD */
	assert_string_equal(f, "vulnerabilites");
	free(f);
}

static void collapse_whitespace(void **state)
{
	const char *in = " a \t\n b\r\n  c ";
	char *s = text_collapse_ws(in, strlen(in));

	(void)state;
	assert_string_equal(s, "a b c");
	free(s);
}

static void entities(void **state)
{
	char *s = text_decode_entities(
		"&#x5b;x&#x5D; &#38; &amp;amp; &#233; "
		"&#x1F512; &#xD800; &#99999999; &#123456789; &;");

	(void)state;
	assert_string_equal(s, "[x] & &amp; é \xF0\x9F\x94\x92 \xEF\xBF\xBD "
			       "\xEF\xBF\xBD &#123456789; &;");
	free(s);
}

static void utf8_cut_keeps_sequences_whole(void **state)
{
	const char *s = "é\xF0\x9F\x94\x92x"; /* 2 + 4 + 1 bytes */

	(void)state;
	assert_int_equal(text_utf8_cut(s, 7, 10), 7);
	assert_int_equal(text_utf8_cut(s, 7, 1), 0);
	assert_int_equal(text_utf8_cut(s, 7, 2), 2);
	assert_int_equal(text_utf8_cut(s, 7, 5), 2);
	assert_int_equal(text_utf8_cut(s, 7, 6), 6);
}

static void md_escape_round_trips_punctuation(void **state)
{
	char *s = text_md_escape("a*b_[c](d) #1 & <x>\né");

	(void)state;
	assert_string_equal(s, "a\\*b\\_\\[c\\]\\(d\\) \\#1 \\& \\<x\\> é");
	free(s);
}

static void ellipsize_cuts_on_boundaries(void **state)
{
	char *s = text_ellipsize("ééé", 3);

	(void)state;
	assert_string_equal(s, "é\xE2\x80\xA6");
	free(s);
	s = text_ellipsize("abc", 3);
	assert_string_equal(s, "abc");
	free(s);
}

static void printable_replaces_controls(void **state)
{
	/* ESC ] 0 ; BEL (a terminal title), CR LF, tab, DEL, a C1 CSI
	 * (U+009B), a lone continuation byte, a cut sequence at the end */
	char *s = text_printable("a\x1b]0;x\x07 b\r\nc\td\x7f"
				 "\xc2\x9b"
				 "2J \x80 \xc3\xa9\xe2\x80");

	(void)state;
	/* one "?" a bad byte: the cut sequence gives two */
	assert_string_equal(s, "a?]0;x? b  c d??2J ? \xc3\xa9??");
	free(s);
	assert_null(text_printable(NULL));
	/* U+00A0 is no control: kept, as every other character */
	s = text_printable("\xc2\xa0\xe2\x82\xac\xf0\x9f\x94\x92");
	assert_string_equal(s, "\xc2\xa0\xe2\x82\xac\xf0\x9f\x94\x92");
	free(s);
}

static void printable_to_cuts_on_boundaries(void **state)
{
	char buf[6];

	(void)state;
	/* "aé" is 3 bytes; "aéé" 5: 5 bytes and the NUL fit exactly */
	text_printable_to(buf, sizeof(buf), "a\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_string_equal(buf, "a\xc3\xa9\xc3\xa9");
	text_printable_to(buf, 5, "a\xc3\xa9\xc3\xa9");
	assert_string_equal(buf, "a\xc3\xa9");
	text_printable_to(buf, sizeof(buf), "\x1b\x1b\x1b\x1b\x1b\x1b\x1b");
	assert_string_equal(buf, "?????");
	text_printable_to(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "");
	text_printable_to(buf, 1, "abc");
	assert_string_equal(buf, "");
}

static void utf8_scrub_keeps_controls(void **state)
{
	char *s = text_utf8_scrub("caf\xe9\n\x1b\xc2\x9b\xc3\xa9\xc3");

	(void)state;
	assert_string_equal(s, "caf?\n\x1b\xc2\x9b\xc3\xa9?");
	free(s);
	assert_null(text_utf8_scrub(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_validation),
		cmocka_unit_test(fold_drops_case_and_accents),
		cmocka_unit_test(collapse_whitespace),
		cmocka_unit_test(entities),
		cmocka_unit_test(utf8_cut_keeps_sequences_whole),
		cmocka_unit_test(md_escape_round_trips_punctuation),
		cmocka_unit_test(ellipsize_cuts_on_boundaries),
		cmocka_unit_test(printable_replaces_controls),
		cmocka_unit_test(printable_to_cuts_on_boundaries),
		cmocka_unit_test(utf8_scrub_keeps_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
