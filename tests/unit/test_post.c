/* Unit tests of the post parser (post.c, frontmatter.c, sections.c).
 * argv[1] is the folder of fixtures, tests/data/posts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/post.h"

static const char *S_data;

static struct post *S_parse(const char *text)
{
	struct post *p = NULL;
	struct nt_err err = {{0}};
	nt_rc rc = post_parse_buffer("2026-11-02-unit.md", text, strlen(text),
				     NULL, &p, &err);

	if (rc)
		fail_msg("parse failed: %s", err.msg);
	return p;
}

/* Parses a text that must fail; returns the code, err holds the line. */
static nt_rc S_reject(const char *text, size_t len, struct nt_err *err)
{
	struct post *p = NULL;
	nt_rc rc = post_parse_buffer("2026-11-02-unit.md", text, len, NULL, &p,
				     err);

	assert_null(p);
	return rc;
}

static nt_rc S_fixture(const char *name, struct post **p, struct nt_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", S_data, name);
	*p = NULL;
	return post_create(path, NULL, p, err);
}

static void S_assert_list(const struct post *p, enum post_list which,
			  const char *const *want)
{
	size_t n, i;
	const char *const *got = post_list(p, which, &n);

	for (i = 0; want[i]; i++) {
		assert_true(i < n);
		assert_string_equal(got[i], want[i]);
	}
	assert_int_equal(n, i);
}

#define FM(extra) "---\ntitle: T\ndate: 2026-11-02\n" extra "---\n"

static void quoted_title_keeps_quotes_and_colons(void **state)
{
	struct post *p;
	struct nt_err err;
	const char *const tags[] = {"a", "b", NULL};
	const char *const cats[] = {"one", "two", NULL};

	(void)state;
	assert_int_equal(S_fixture("ok-quoted-title.md", &p, &err), NT_OK);
	assert_string_equal(post_title(p), "It's a \"test\": colon & more");
	S_assert_list(p, POST_LIST_TAGS, tags);
	S_assert_list(p, POST_LIST_CATEGORIES, cats);
	assert_string_equal(post_permalink(p), "/custom/:year/:title/");
	assert_true(post_published(p));
	post_free(p);
}

static void block_and_flow_tags_are_lists(void **state)
{
	struct post *p;
	const char *const want[] = {"veille-cyber", "certfr", NULL};

	(void)state;
	p = S_parse(FM("tags:\n- veille-cyber\n- certfr\n- veille-cyber\n"));
	S_assert_list(p, POST_LIST_TAGS, want);
	post_free(p);
	p = S_parse(FM("tags: [veille-cyber, certfr]\n"));
	S_assert_list(p, POST_LIST_TAGS, want);
	post_free(p);
	p = S_parse(FM("tags: veille-cyber certfr\n"));
	S_assert_list(p, POST_LIST_TAGS, want);
	post_free(p);
}

static void published_false_is_read(void **state)
{
	struct post *p;
	struct nt_err err;

	(void)state;
	assert_int_equal(S_fixture("ok-unpublished.md", &p, &err), NT_OK);
	assert_false(post_published(p));
	post_free(p);
	p = S_parse(FM("published: no\n"));
	assert_false(post_published(p));
	post_free(p);
	p = S_parse(FM("published: true\n"));
	assert_true(post_published(p));
	post_free(p);
}

static void date_with_time_and_zone_is_accepted(void **state)
{
	struct post *p;
	int y, mo, d, h, mi, s;

	(void)state;
	p = S_parse("---\ntitle: T\ndate: 2024-02-29 23:05:09 +0100\n---\n");
	assert_string_equal(post_date(p), "2024-02-29");
	post_datetime(p, &y, &mo, &d, &h, &mi, &s);
	assert_int_equal(h, 23);
	assert_int_equal(mi, 5);
	assert_int_equal(s, 9);
	assert_true(post_zone(p, &mi));
	assert_int_equal(mi, 60);
	post_free(p);
	p = S_parse("---\ntitle: T\ndate: 2024-02-29T23:05-03:30\n---\n");
	assert_true(post_zone(p, &mi));
	assert_int_equal(mi, -210);
	post_free(p);
	p = S_parse("---\ntitle: T\ndate: 2024-02-29 23:05Z\n---\n");
	assert_true(post_zone(p, &mi));
	assert_int_equal(mi, 0);
	post_free(p);
	/* no zone: the caller picks the site's or the machine's */
	p = S_parse("---\ntitle: T\ndate: 2024-02-29 23:05\n---\n");
	assert_false(post_zone(p, &mi));
	assert_int_equal(mi, 0);
	post_free(p);
}

static void date_falls_back_to_file_name(void **state)
{
	struct post *p = S_parse("---\ntitle: T\n---\nbody\n");

	(void)state;
	assert_string_equal(post_date(p), "2026-11-02");
	assert_string_equal(post_id(p), "2026-11-02-unit");
	assert_string_equal(post_slug(p), "unit");
	post_free(p);
}

static void malformed_dates_are_rejected(void **state)
{
	static const char *const bad[] = {
		"2026-13-01",	    "2026-02-30", "2025-02-29", "26-01-01",
		"2026-01-01 25:00", "2026-1-1",	  "yesterday",	"2026-01-01x",
	};
	struct nt_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char text[256];

		snprintf(text, sizeof(text), "---\ntitle: T\ndate: %s\n---\n",
			 bad[i]);
		assert_int_equal(S_reject(text, strlen(text), &err), NT_EPARSE);
		assert_non_null(strstr(err.msg, "2026-11-02-unit.md:3:"));
	}
}

static void title_entities_are_decoded(void **state)
{
	struct post *p = S_parse(
		"---\ntitle: 'A &#x5b;B&#x5d; &#38; C &amp; &quot;D&quot; "
		"&#0; &bogus; &#xZZ;'\ndate: 2026-11-02\n---\n");

	(void)state;
	assert_string_equal(post_title(p), "A [B] & C & \"D\" \xEF\xBF\xBD "
					   "&bogus; &#xZZ;");
	post_free(p);
}

static void heading_styles_are_classified(void **state)
{
	static const char *const headings[] = {
		"**Points clés :**\n",	     "**Points Clés**\n",
		"**Points clés** :\n",	     "#### Points clés\n",
		"### Points clés :\n",	     "#### **Points clés**\n",
		"**Informations clés :**\n", "## KEY POINTS\n",
		"**À retenir**\n",	     "Points clés\n-----------\n",
		"#### Autres points clés\n", "**POINTS CLES :**\n",
	};
	const char *const want[] = {"Un point.", NULL};

	(void)state;
	for (size_t i = 0; i < sizeof(headings) / sizeof(*headings); i++) {
		char text[512];
		struct post *p;

		snprintf(
			text, sizeof(text),
			FM("") "Intro.\n\n* Hors section.\n\n%s\n* Un point.\n",
			headings[i]);
		p = S_parse(text);
		S_assert_list(p, POST_LIST_KEY_POINTS, want);
		post_free(p);
	}
}

static void sections_by_meaning_first_match_wins(void **state)
{
	struct post *p = S_parse(
		FM("") "**Vulnérabilités et recommandations :**\n* v1\n\n"
		       "#### Mesures de remédiation\n* r1\n\n"
		       "**Recommandations pour la défense**\n* r2\n\n"
		       "#### Les mesures prises\n* ignoré\n\n"
		       "**Points clés :**\n* k1\n");
	const char *const v[] = {"v1", NULL};
	const char *const r[] = {"r1", "r2", NULL};
	const char *const k[] = {"k1", NULL};

	(void)state;
	S_assert_list(p, POST_LIST_VULNERABILITIES, v);
	S_assert_list(p, POST_LIST_RECOMMENDATIONS, r);
	S_assert_list(p, POST_LIST_KEY_POINTS, k);
	post_free(p);
}

static void strong_line_with_text_is_not_a_heading(void **state)
{
	struct post *p = S_parse(
		FM("") "**Handala** est un groupe.\n\n**Points clés :**\n"
		       "Texte sur la ligne suivante.\n\n* k1\n\n"
		       "* **Recommandations :** dans un item\n* k2\n");
	const char *const k[] = {"k1", "**Recommandations :** dans un item",
				 "k2", NULL};
	size_t n;

	(void)state;
	assert_string_equal(post_headline(p), "Points clés");
	assert_string_equal(post_summary(p), "**Handala** est un groupe.");
	S_assert_list(p, POST_LIST_KEY_POINTS, k);
	post_list(p, POST_LIST_RECOMMENDATIONS, &n);
	assert_int_equal(n, 0);
	post_free(p);
}

static void items_are_flattened_and_collapsed(void **state)
{
	struct post *p = S_parse(
		FM("") "### Titre\n\nRésumé  sur\ndeux lignes.\n\n"
		       "#### Recommandations\n"
		       "1.  **Un** : `code`   et [lien](https://x.example)\n"
		       "    suite de l'item\n"
		       "    *   sous-item A\n"
		       "        *   sous-sous-item\n"
		       "2.  Deux\n\n"
		       "---\n\n* après la règle\n");
	const char *const r[] = {
		"**Un** : `code` et [lien](https://x.example) suite de l'item",
		"sous-item A", "sous-sous-item", "Deux", NULL};
	const char *const k[] = {r[0], r[1], r[2], r[3], NULL};

	(void)state;
	assert_string_equal(post_headline(p), "Titre");
	assert_string_equal(post_summary(p), "Résumé sur deux lignes.");
	S_assert_list(p, POST_LIST_RECOMMENDATIONS, r);
	/* no key-points heading: the first list of the body */
	S_assert_list(p, POST_LIST_KEY_POINTS, k);
	post_free(p);
}

static void empty_key_points_heading_gives_empty_list(void **state)
{
	struct post *p = S_parse(FM("") "* avant\n\n**Points clés :**\n\n"
					"Pas de liste.\n\n---\n* après\n");
	size_t n;

	(void)state;
	post_list(p, POST_LIST_KEY_POINTS, &n);
	assert_int_equal(n, 0);
	post_free(p);
}

static void cves_are_unique_uppercase_in_order(void **state)
{
	struct post *p = S_parse(
		FM("") "Voir CVE-2026-1234, cve-2025-99999 et Cve-2026-1234.\n"
		       "Pas XCVE-2026-5555 ni CVE-2026-123 ni CVE-26-1234.\n"
		       "[lien](https://nvd.example/CVE-2024-0001) "
		       "`CVE-2023-12345678`\n");
	const char *const want[] = {"CVE-2026-1234", "CVE-2025-99999",
				    "CVE-2024-0001", "CVE-2023-12345678", NULL};

	(void)state;
	S_assert_list(p, POST_LIST_CVES, want);
	post_free(p);
}

static void source_is_last_source_link(void **state)
{
	struct post *p = S_parse(FM(
		"") "[Source](https://a.example/1)\n\n[Autre](https://b)\n"
		    "\n---\n[ Source ](https://a.example/2){:target=\"_b\"}\n");

	(void)state;
	assert_string_equal(post_source(p), "https://a.example/2");
	post_free(p);
}

static void missing_values_are_null(void **state)
{
	struct post *p = S_parse(FM(""));
	size_t n;

	(void)state;
	assert_null(post_headline(p));
	assert_null(post_summary(p));
	assert_null(post_source(p));
	assert_null(post_permalink(p));
	post_list(p, POST_LIST_KEY_POINTS, &n);
	assert_int_equal(n, 0);
	post_free(p);
}

static void configured_aliases_replace_defaults(void **state)
{
	static const char *const kp[] = {"essentiel", NULL};
	struct post_aliases al = {.cls = {kp, NULL, NULL}};
	struct post_opts opts = {.aliases = &al};
	const char *text = FM("") "**Points clés**\n* a\n\n**L'essentiel**\n"
				  "* b\n\n**Vulnérabilités**\n* c\n";
	struct post *p = NULL;
	struct nt_err err;
	const char *const want[] = {"b", NULL};

	(void)state;
	assert_int_equal(
		post_parse_buffer("x.md", text, strlen(text), &opts, &p, &err),
		NT_OK);
	S_assert_list(p, POST_LIST_KEY_POINTS, want);
	post_free(p);
}

static void crlf_and_bom_posts_parse(void **state)
{
	static const char *const names[] = {"ok-crlf.md", "ok-bom.md",
					    "ok-minimal.md"};
	static const size_t counts[] = {2, 1, 2};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct post *p;
		struct nt_err err;
		size_t n;
		const char *const *kp;

		assert_int_equal(S_fixture(names[i], &p, &err), NT_OK);
		kp = post_list(p, POST_LIST_KEY_POINTS, &n);
		assert_int_equal(n, counts[i]);
		assert_null(strchr(kp[0], '\r'));
		assert_string_equal(post_date(p), "2026-11-02");
		assert_null(strchr(post_title(p), '\r'));
		post_free(p);
	}
}

static void setext_headings_are_headings(void **state)
{
	struct post *p;
	struct nt_err err;
	size_t n;

	(void)state;
	assert_int_equal(S_fixture("ok-setext.md", &p, &err), NT_OK);
	assert_string_equal(post_headline(p), "Titre de niveau un");
	post_list(p, POST_LIST_KEY_POINTS, &n);
	assert_int_equal(n, 2);
	post_list(p, POST_LIST_VULNERABILITIES, &n);
	assert_int_equal(n, 1);
	post_list(p, POST_LIST_RECOMMENDATIONS, &n);
	assert_int_equal(n, 1);
	post_free(p);
}

/* Each bad fixture: its code and a message naming file (and line). */
static void bad_fixtures_are_rejected_with_a_clear_error(void **state)
{
	static const struct {
		const char *name;
		nt_rc rc;
		const char *msg;
	} cases[] = {
		{"bad-empty.md", NT_EPARSE, "bad-empty.md: empty file"},
		{"bad-no-frontmatter.md", NT_EPARSE, ":1: no front matter"},
		{"bad-unclosed.md", NT_EPARSE, "not closed"},
		{"bad-yaml.md", NT_EPARSE, "bad-yaml.md:3: invalid YAML"},
		{"bad-no-title.md", NT_EPARSE, "no title"},
		{"bad-date.md", NT_EPARSE, "bad-date.md:3: date '2026-13-45'"},
		{"bad-utf8.md", NT_EPARSE, "bad-utf8.md:9: invalid UTF-8"},
		{"bad-nul.md", NT_EPARSE, "bad-nul.md:9: NUL byte"},
		{"bad-frontmatter-not-map.md", NT_EPARSE, "not a mapping"},
		{"no-such-post.md", NT_ENOENT, "no-such-post.md: no such file"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct post *p;
		struct nt_err err = {{0}};

		assert_int_equal(S_fixture(cases[i].name, &p, &err),
				 cases[i].rc);
		assert_null(p);
		assert_non_null(strstr(err.msg, cases[i].msg));
		assert_null(strchr(err.msg, '\n'));
	}
}

static void directory_and_symlink_are_refused(void **state)
{
	char dir[] = "/tmp/notify-test-XXXXXX";
	char *link, *target, *real;
	struct post *p = NULL;
	struct nt_err err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(post_create(dir, NULL, &p, &err), NT_EIO);
	assert_non_null(strstr(err.msg, "is a directory"));
	target = malloc(4096);
	link = malloc(4096);
	snprintf(target, 4096, "%s/ok-minimal.md", S_data);
	real = realpath(target, NULL);
	assert_non_null(real);
	snprintf(link, 4096, "%s/link.md", dir);
	assert_int_equal(symlink(real, link), 0);
	free(real);
	assert_int_equal(post_create(link, NULL, &p, &err), NT_EIO);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_null(p);
	unlink(link);
	rmdir(dir);
	free(link);
	free(target);
}

static void oversized_post_is_refused_by_the_cap(void **state)
{
	char path[] = "/tmp/notify-big-XXXXXX";
	size_t big = 20u * 1024 * 1024;
	char *buf = malloc(big);
	int fd = mkstemp(path);
	struct post *p = NULL;
	struct nt_err err;
	struct post_opts opts = {.max_bytes = 32 * 1024 * 1024};

	(void)state;
	assert_true(fd >= 0);
	memset(buf, 'a', big);
	memcpy(buf, "---\ntitle: big\ndate: 2026-11-02\n---\n", 36);
	assert_int_equal(write(fd, buf, big), (ssize_t)big);
	close(fd);
	assert_int_equal(post_create(path, NULL, &p, &err), NT_ETOOBIG);
	assert_non_null(strstr(err.msg, "byte cap"));
	assert_null(p);
	/* the cap is configurable: a larger one lets it through */
	assert_int_equal(post_create(path, &opts, &p, &err), NT_OK);
	post_free(p);
	assert_int_equal(S_reject(buf, big, &err), NT_ETOOBIG);
	unlink(path);
	free(buf);
}

static void control_bytes_and_bad_utf8_in_buffers(void **state)
{
	static const char nul[] = "---\ntitle: T\ndate: 2026-11-02\n---\na\0b";
	static const char overlong[] = "---\ntitle: T\ndate: 2026-11-02\n"
				       "---\n\xC0\xAF";
	static const char surrogate[] = "---\ntitle: \xED\xA0\x80\n---\n";
	struct nt_err err;
	struct post *p;

	(void)state;
	assert_int_equal(S_reject(nul, sizeof(nul) - 1, &err), NT_EPARSE);
	assert_non_null(strstr(err.msg, ":5: NUL"));
	assert_int_equal(S_reject(overlong, sizeof(overlong) - 1, &err),
			 NT_EPARSE);
	assert_int_equal(S_reject(surrogate, sizeof(surrogate) - 1, &err),
			 NT_EPARSE);
	assert_non_null(strstr(err.msg, ":2: invalid UTF-8"));
	/* a stray control character is text, not an error */
	p = S_parse("---\ntitle: \"T\\x01\"\ndate: 2026-11-02\n---\na\x01z\n");
	post_free(p);
}

static void front_matter_shape_errors(void **state)
{
	static const char *const bad[] = {
		"---\ntitle: [a, b]\ndate: 2026-11-02\n---\n",
		"---\ntitle: T\ntags: {a: b}\n---\n",
		"---\ntitle: T\ntags: [[a]]\n---\n",
		"---\n---\n",
		"---\ntitle: ''\n---\n",
		"---\ntitle: ~\n---\n",
		"---\n- a\n---\n",
		"---\ntitle: T\n",
		"--- \ntitle: *x\n---\n",
	};
	struct nt_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(S_reject(bad[i], strlen(bad[i]), &err),
				 NT_EPARSE);
}

/* Regressions from review: inputs far bigger than the fuzzer's. */
static void deep_list_nesting_does_not_crash(void **state)
{
	size_t depth = 300000, len = 0;
	char *buf = malloc(depth * 2 + 64);
	struct post_opts opts = {.max_bytes = 4 * 1024 * 1024};
	struct nt_err err;
	struct post *p = NULL;

	(void)state;
	if (buf == NULL)
		abort();
	len += (size_t)sprintf(buf, "---\ntitle: T\ndate: 2026-11-02\n---\n");
	for (size_t i = 0; i < depth; i++, len += 2)
		memcpy(buf + len, "- ", 2);
	buf[len++] = 'x';
	buf[len] = '\0';
	/* past the default cap: the cap is configurable up to 64 MiB */
	assert_int_equal(
		post_parse_buffer("deep.md", buf, len, &opts, &p, &err), NT_OK);
	post_free(p);
	free(buf);
}

static void deep_yaml_nesting_is_refused_quickly(void **state)
{
	size_t depth = 100000, len = 0;
	char *buf = malloc(depth + 64);
	struct nt_err err;

	(void)state;
	if (buf == NULL)
		abort();
	len += (size_t)sprintf(buf, "---\ntitle: T\nx: ");
	memset(buf + len, '[', depth);
	len += depth;
	len += (size_t)sprintf(buf + len, "\n---\n");
	assert_int_equal(S_reject(buf, len, &err), NT_EPARSE);
	assert_non_null(strstr(err.msg, ":3: invalid YAML: nested too deeply"));
	free(buf);
}

static void lone_cr_ends_lines(void **state)
{
	struct post *p = S_parse("---\rtitle: T\rdate: 2026-11-02\r---\r"
				 "**Points clés :**\r- a\r- b\r\nSuite\n");
	const char *const want[] = {"a", "b Suite", NULL};

	(void)state;
	S_assert_list(p, POST_LIST_KEY_POINTS, want);
	post_free(p);
}

static void nul_escape_in_title_is_refused(void **state)
{
	const char *text = "---\ntitle: \"a\\0b\"\ndate: 2026-11-02\n---\n";
	struct nt_err err;

	(void)state;
	assert_int_equal(S_reject(text, strlen(text), &err), NT_EPARSE);
	assert_non_null(strstr(err.msg, ":2: NUL byte in 'title'"));
}

static void repeated_words_in_tag_strings_are_merged(void **state)
{
	struct post *p = S_parse(FM("tags: a a b a c b\n"));
	const char *const want[] = {"a", "b", "c", NULL};

	(void)state;
	S_assert_list(p, POST_LIST_TAGS, want);
	post_free(p);
}

static void bold_span_over_two_lines_is_not_a_heading(void **state)
{
	struct post *p = S_parse(FM("") "**Points\nclés :**\nLe texte suit.\n");

	(void)state;
	assert_null(post_headline(p));
	assert_string_equal(post_summary(p),
			    "**Points clés :** Le texte suit.");
	post_free(p);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quoted_title_keeps_quotes_and_colons),
		cmocka_unit_test(block_and_flow_tags_are_lists),
		cmocka_unit_test(published_false_is_read),
		cmocka_unit_test(date_with_time_and_zone_is_accepted),
		cmocka_unit_test(date_falls_back_to_file_name),
		cmocka_unit_test(malformed_dates_are_rejected),
		cmocka_unit_test(title_entities_are_decoded),
		cmocka_unit_test(heading_styles_are_classified),
		cmocka_unit_test(sections_by_meaning_first_match_wins),
		cmocka_unit_test(strong_line_with_text_is_not_a_heading),
		cmocka_unit_test(items_are_flattened_and_collapsed),
		cmocka_unit_test(empty_key_points_heading_gives_empty_list),
		cmocka_unit_test(cves_are_unique_uppercase_in_order),
		cmocka_unit_test(source_is_last_source_link),
		cmocka_unit_test(missing_values_are_null),
		cmocka_unit_test(configured_aliases_replace_defaults),
		cmocka_unit_test(crlf_and_bom_posts_parse),
		cmocka_unit_test(setext_headings_are_headings),
		cmocka_unit_test(bad_fixtures_are_rejected_with_a_clear_error),
		cmocka_unit_test(directory_and_symlink_are_refused),
		cmocka_unit_test(oversized_post_is_refused_by_the_cap),
		cmocka_unit_test(control_bytes_and_bad_utf8_in_buffers),
		cmocka_unit_test(front_matter_shape_errors),
		cmocka_unit_test(deep_list_nesting_does_not_crash),
		cmocka_unit_test(deep_yaml_nesting_is_refused_quickly),
		cmocka_unit_test(lone_cr_ends_lines),
		cmocka_unit_test(nul_escape_in_title_is_refused),
		cmocka_unit_test(repeated_words_in_tag_strings_are_merged),
		cmocka_unit_test(bold_span_over_two_lines_is_not_a_heading),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: test_post FIXTURES_DIR\n");
		return 2;
	}
	S_data = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
