/* Unit tests of report.c: the lines between a pass and the supervisor,
 * written by one side and read by the other (report.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/report.h"

/* 'l' written, then read back: the text, and *back (strings into buf). */
static void S_round(const struct report_line *l, char *buf, size_t n,
		    struct report_line *back)
{
	FILE *f = fmemopen(buf, n, "w");
	size_t len;

	assert_non_null(f);
	assert_true(report_put(f, l));
	fclose(f);
	len = strlen(buf);
	assert_true(len > 0 && buf[len - 1] == '\n');
	buf[--len] = '\0';
	assert_int_equal(report_parse(buf, len, back), NT_OK);
	assert_int_equal(back->kind, l->kind);
}

static void every_kind_reads_back_as_written(void **state)
{
	char buf[512];
	struct report_line b;

	(void)state;
	S_round(&(struct report_line){.kind = REPORT_MODE, .git = true}, buf,
		sizeof(buf), &b);
	assert_true(b.git);
	S_round(&(struct report_line){.kind = REPORT_MODE}, buf, sizeof(buf),
		&b);
	assert_false(b.git);
	S_round(&(struct report_line){.kind = REPORT_REPO, .str = "/srv/b l"},
		buf, sizeof(buf), &b);
	assert_string_equal(b.str, "/srv/b l");
	S_round(&(struct report_line){.kind = REPORT_WATCH,
				      .dir = REPORT_DIR_POSTS,
				      .path = "/srv/blog/_posts/2026",
				      .rel = "_posts/2026"},
		buf, sizeof(buf), &b);
	assert_int_equal(b.dir, REPORT_DIR_POSTS);
	assert_string_equal(b.path, "/srv/blog/_posts/2026");
	assert_string_equal(b.rel, "_posts/2026");
	S_round(&(struct report_line){.kind = REPORT_WATCH,
				      .dir = REPORT_DIR_REFS,
				      .path = "/srv/blog/.git/refs/heads"},
		buf, sizeof(buf), &b);
	assert_int_equal(b.dir, REPORT_DIR_REFS);
	assert_string_equal(b.rel, "");
	S_round(&(struct report_line){.kind = REPORT_NEXT, .num = -1}, buf,
		sizeof(buf), &b);
	assert_int_equal(b.num, -1);
	S_round(&(struct report_line){.kind = REPORT_NEXT, .num = 1796000000},
		buf, sizeof(buf), &b);
	assert_int_equal(b.num, 1796000000);
	S_round(&(struct report_line){.kind = REPORT_COUNTS,
				      .counts = {30, 28, 1, 1}},
		buf, sizeof(buf), &b);
	assert_int_equal(b.counts[0], 30);
	assert_int_equal(b.counts[3], 1);
	S_round(&(struct report_line){.kind = REPORT_SCANNED}, buf, sizeof(buf),
		&b);
	assert_string_equal(buf, "scanned");
	S_round(&(struct report_line){.kind = REPORT_END}, buf, sizeof(buf),
		&b);
}

/* What the writer cannot carry it does not write. */
static void the_writer_refuses_what_a_line_cannot_carry(void **state)
{
	static char big[REPORT_LINE_MAX + 2];
	char buf[64] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_non_null(f);
	memset(big, 'a', REPORT_LINE_MAX + 1);
	big[0] = '/';
	big[REPORT_LINE_MAX + 1] = '\0';
	assert_false(
		report_put(f, &(struct report_line){.kind = REPORT_WATCH,
						    .dir = REPORT_DIR_POSTS,
						    .path = "/a\tb",
						    .rel = "_posts"}));
	assert_false(
		report_put(f, &(struct report_line){.kind = REPORT_WATCH,
						    .dir = REPORT_DIR_POSTS,
						    .path = "/a",
						    .rel = "_po\nsts"}));
	assert_false(
		report_put(f, &(struct report_line){.kind = REPORT_WATCH,
						    .dir = REPORT_DIR_GIT,
						    .path = "relative/.git"}));
	assert_false(report_put(f, &(struct report_line){.kind = REPORT_WATCH,
							 .dir = REPORT_DIR_GIT,
							 .path = big}));
	assert_false(report_put(
		f, &(struct report_line){.kind = REPORT_REPO, .str = "/a\r"}));
	assert_false(report_put(
		f, &(struct report_line){.kind = REPORT_SETTLE_MS,
					 .num = REPORT_SETTLE_MAX + 1}));
	assert_false(report_put(
		f, &(struct report_line){.kind = REPORT_NEXT, .num = -2}));
	fclose(f);
	assert_string_equal(buf, "");
}

/* Each hostile line is refused whole, and *l is left as it was. */
static void hostile_lines_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\t",
		"mode",
		"mode\t",
		"mode\tGIT",
		"mode\tgit\t",
		"mode\tgit\tdir",
		"MODE\tgit",
		" mode\tgit",
		"nosuchkind\t1",
		"repo",
		"repo\t",
		"repo\t/a\t/b",
		"repo\t/a\r",
		"watch\tposts\t/srv/_posts",	  /* a field missing */
		"watch\tposts\t/srv/_posts\t",	  /* posts without rel */
		"watch\tgit\t/srv/.git\t_posts",  /* git with a rel */
		"watch\tposts\trelative\t_posts", /* not absolute */
		"watch\tfiles\t/srv\t",		  /* no such kind */
		"watch\tgit\t/a\t\t",		  /* one field too many */
		"settle_ms\t-1",
		"settle_ms\t60001",
		"settle_ms\t+5",
		"settle_ms\t05",
		"settle_ms\t5 ",
		"settle_ms\t 5",
		"settle_ms\t1e3",
		"settle_ms\t0x10",
		"fetch_interval\t86401",
		"next\t-2",
		"next\t--1",
		"next\t-",
		"next\t99999999999999999999999",
		"next\t1\t2",
		"counts\t1\t2\t3",
		"counts\t1\t2\t3\t4\t5",
		"counts\t1 2 3 4",
		"counts\t1\t2\t3\t-4",
		"scanned\t1",
		"end\t1",
		"end\t",
	};
	struct report_line l, keep;
	char buf[128];

	(void)state;
	memset(&keep, 0x5a, sizeof(keep));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		strcpy(buf, bad[i]);
		l = keep;
		if (report_parse(buf, strlen(buf), &l) != NT_EPARSE)
			fail_msg("taken: '%s'", bad[i]);
		assert_memory_equal(&l, &keep, sizeof(l));
	}
}

/* A NUL inside, or a line past the cap, is refused; the cap itself is
 * not. */
static void nul_bytes_and_overlong_lines_are_refused(void **state)
{
	char nul[] = "repo\t/a\0b";
	static char big[REPORT_LINE_MAX + 2];
	size_t n = REPORT_LINE_MAX + 1;
	struct report_line l;

	(void)state;
	assert_int_equal(report_parse(nul, sizeof(nul) - 1, &l), NT_EPARSE);
	memcpy(big, "repo\t/", 6);
	memset(big + 6, 'a', n - 6);
	big[n] = '\0';
	assert_int_equal(report_parse(big, n, &l), NT_EPARSE);
	memcpy(big, "repo\t/", 6);
	memset(big + 6, 'a', n - 7);
	big[n - 1] = '\0';
	assert_int_equal(report_parse(big, n - 1, &l), NT_OK);
	assert_int_equal(strlen(l.str), n - 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_kind_reads_back_as_written),
		cmocka_unit_test(the_writer_refuses_what_a_line_cannot_carry),
		cmocka_unit_test(hostile_lines_are_refused),
		cmocka_unit_test(nul_bytes_and_overlong_lines_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
