/* Unit tests of tz.c: a zone's offsets read from its TZif file, without
 * setenv("TZ") (the process's environment is never touched by tz.c; the
 * oracle test below sets TZ itself, to compare with glibc). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "notify/tz.h"

#define ZONEINFO TZ_DIR_DEFAULT

static struct tz *S_zone(const char *name)
{
	struct tz *z = NULL;
	struct nt_err err = {{0}};

	if (tz_open(NULL, name, &z, &err) != NT_OK)
		fail_msg("%s", err.msg);
	return z;
}

/* 2026-MM-DD hh:mm:ss UTC */
static int64_t S_utc(int mon, int day, int h, int m, int s)
{
	struct tm tm = {.tm_year = 126,
			.tm_mon = mon - 1,
			.tm_mday = day,
			.tm_hour = h,
			.tm_min = m,
			.tm_sec = s};

	return (int64_t)timegm(&tm);
}

static void paris_changes_at_one_utc_on_the_last_sundays(void **state)
{
	struct tz *z = S_zone("Europe/Paris");

	(void)state;
	assert_int_equal(tz_utoff(z, S_utc(3, 29, 0, 59, 59)), 3600);
	assert_int_equal(tz_utoff(z, S_utc(3, 29, 1, 0, 0)), 7200);
	assert_int_equal(tz_utoff(z, S_utc(10, 25, 0, 59, 59)), 7200);
	assert_int_equal(tz_utoff(z, S_utc(10, 25, 1, 0, 0)), 3600);
	/* local times either side of the changes */
	assert_int_equal(tz_mktime(z, 2026, 3, 29, 1, 59, 59),
			 S_utc(3, 29, 0, 59, 59));
	assert_int_equal(tz_mktime(z, 2026, 3, 29, 3, 0, 0),
			 S_utc(3, 29, 1, 0, 0));
	assert_int_equal(tz_mktime(z, 2026, 10, 25, 1, 59, 0),
			 S_utc(10, 24, 23, 59, 0));
	assert_int_equal(tz_mktime(z, 2026, 10, 25, 3, 0, 0),
			 S_utc(10, 25, 2, 0, 0));
	/* 02:30 never happens in March: the offset before (+1) */
	assert_int_equal(tz_mktime(z, 2026, 3, 29, 2, 30, 0),
			 S_utc(3, 29, 1, 30, 0));
	/* 02:30 happens twice in October: the second (+1), as glibc */
	assert_int_equal(tz_mktime(z, 2026, 10, 25, 2, 30, 0),
			 S_utc(10, 25, 1, 30, 0));
	/* fields past their range carry over, as timegm() */
	assert_int_equal(tz_mktime(z, 2026, 13, 1, 12, 0, 0),
			 S_utc(13, 1, 11, 0, 0));
	tz_free(z);
}

static void new_york_and_utc(void **state)
{
	struct tz *z = S_zone("America/New_York");

	(void)state;
	assert_int_equal(tz_utoff(z, S_utc(3, 8, 6, 59, 59)), -5 * 3600);
	assert_int_equal(tz_utoff(z, S_utc(3, 8, 7, 0, 0)), -4 * 3600);
	assert_int_equal(tz_utoff(z, S_utc(11, 1, 5, 59, 59)), -4 * 3600);
	assert_int_equal(tz_utoff(z, S_utc(11, 1, 6, 0, 0)), -5 * 3600);
	assert_int_equal(tz_mktime(z, 2026, 7, 14, 9, 0, 0),
			 S_utc(7, 14, 13, 0, 0));
	assert_int_equal(tz_mktime(z, 2026, 3, 8, 2, 30, 0),
			 S_utc(3, 8, 7, 30, 0));
	assert_int_equal(tz_mktime(z, 2026, 11, 1, 1, 30, 0),
			 S_utc(11, 1, 6, 30, 0));
	tz_free(z);
	z = S_zone("UTC"); /* a link to Etc/UTC, inside the folder */
	assert_int_equal(tz_utoff(z, S_utc(7, 1, 0, 0, 0)), 0);
	assert_int_equal(tz_mktime(z, 2026, 7, 1, 10, 0, 0),
			 S_utc(7, 1, 10, 0, 0));
	tz_free(z);
}

/* Whether the local time hour:min, glibc's answer to which is 't',
 * occurs exactly once: glibc answers the others
 * by its previous call. */
static bool S_exists_once(time_t t, int hour, int min)
{
	struct tm a, b, c;
	time_t before = t - 3600, after = t + 3600;

	localtime_r(&t, &a);
	if (a.tm_hour != hour || a.tm_min != min)
		return false; /* skipped: it does not occur */
	localtime_r(&before, &b);
	localtime_r(&after, &c);
	/* an hour before or after shows the same wall clock: twice */
	return !(b.tm_hour == hour && b.tm_min == min) &&
	       !(c.tm_hour == hour && c.tm_min == min);
}

/* glibc, through TZ, is the oracle: every half hour of a year, now and
 * past the last transition of the files (2037), in five zones (both
 * hemispheres, a half-hour zone, one without summer time). */
static void every_half_hour_agrees_with_glibc(void **state)
{
	static const char *const zones[] = {"Europe/Paris", "America/New_York",
					    "Australia/Sydney", "Asia/Kolkata",
					    "America/Sao_Paulo"};
	static const int years[] = {1995, 2026, 2041};

	(void)state;
	for (size_t i = 0; i < sizeof(zones) / sizeof(*zones); i++) {
		struct tz *z = S_zone(zones[i]);

		setenv("TZ", zones[i], 1);
		tzset();
		for (size_t y = 0; y < sizeof(years) / sizeof(*years); y++)
			for (int h = 0; h < 365 * 48; h++) {
				struct tm tm = {.tm_year = years[y] - 1900,
						.tm_mday = 1 + h / 48,
						.tm_hour = (h % 48) / 2,
						.tm_min = (h % 2) * 30,
						.tm_isdst = -1};
				int64_t want = (int64_t)mktime(&tm);
				int64_t got = tz_mktime(
					z, years[y], 1, 1 + h / 48,
					(h % 48) / 2, (h % 2) * 30, 0);

				if (got != want &&
				    S_exists_once((time_t)want, (h % 48) / 2,
						  (h % 2) * 30))
					fail_msg(
						"%s %d day %d %02d:%02d: %lld, "
						"glibc %lld",
						zones[i], years[y], 1 + h / 48,
						(h % 48) / 2, (h % 2) * 30,
						(long long)got,
						(long long)want);
			}
		tz_free(z);
	}
	unsetenv("TZ");
	tzset();
}

static void hostile_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"/etc/passwd",
		"../../../etc/passwd",
		"Europe/../../etc/passwd",
		"Europe/.Paris",
		"Europe/Paris\n",
		"Europe/Paris;id",
		"Europe Paris",
		"Europe\\Paris",
		"$(id)",
	};
	char longname[TZ_NAME_MAX + 2];
	struct tz *z = NULL;
	struct nt_err err = {{0}};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_false(tz_name_ok(bad[i]));
		assert_int_equal(tz_open(NULL, bad[i], &z, &err), NT_EINVAL);
		assert_null(z);
		assert_null(strchr(err.msg, '\n'));
	}
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(tz_open(NULL, longname, &z, &err), NT_EINVAL);
	assert_int_equal(tz_open(NULL, NULL, &z, &err), NT_EINVAL);
	assert_int_equal(tz_open(NULL, "Mars/Olympus_Mons", &z, &err),
			 NT_ENOENT);
	assert_non_null(strstr(err.msg, "Mars/Olympus_Mons"));
	assert_int_equal(tz_open(NULL, "Europe", &z, &err), NT_EIO);
	assert_null(z);
	assert_true(tz_name_ok("Etc/GMT+5"));
	assert_true(tz_name_ok("America/Port-au-Prince"));
}

/* ---- files made here ------------------------------------------------- */

struct fx {
	char dir[64];
};

static int S_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/notify-tz-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int S_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

static void S_put(const struct fx *fx, const char *name, const void *p,
		  size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void S_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A "slim" version 2 file: no transition, one type, and a footer that
 * says it all (zic -b slim writes such files). */
static size_t S_slim(unsigned char *out, int32_t utoff, const char *footer)
{
	size_t n = 0;

	for (int part = 0; part < 2; part++) {
		memset(out + n, 0, 44);
		memcpy(out + n, "TZif2", 5);
		S_be32(out + n + 20 + 4 * 4, 1); /* typecnt */
		S_be32(out + n + 20 + 4 * 5, 4); /* charcnt */
		n += 44;
		S_be32(out + n, (uint32_t)utoff);
		out[n + 4] = 0;
		out[n + 5] = 0;
		memcpy(out + n + 6, "XXX", 4);
		n += 10;
	}
	n += (size_t)sprintf((char *)out + n, "\n%s\n", footer);
	return n;
}

/* The footer alone gives the same offsets as the full files. */
static void a_footer_alone_gives_the_rules(void **state)
{
	struct fx *fx = *state;
	unsigned char buf[512];
	struct tz *mine = NULL, *sys;
	struct nt_err err = {{0}};
	static const struct {
		const char *zone, *footer;
		int32_t std;
	} cases[] = {
		{"Europe/Paris", "CET-1CEST,M3.5.0,M10.5.0/3", 3600},
		{"America/New_York", "EST5EDT,M3.2.0,M11.1.0", -18000},
		{"Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3", 36000},
		{"Asia/Kolkata", "IST-5:30", 19800},
		{"America/Sao_Paulo", "<-03>3", -10800},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		S_put(fx, "Slim", buf,
		      S_slim(buf, cases[i].std, cases[i].footer));
		assert_int_equal(tz_open(fx->dir, "Slim", &mine, &err), NT_OK);
		sys = S_zone(cases[i].zone);
		for (int64_t t = S_utc(1, 1, 0, 0, 0);
		     t < S_utc(13, 1, 0, 0, 0); t += 1800)
			assert_int_equal(tz_utoff(mine, t), tz_utoff(sys, t));
		tz_free(sys);
		tz_free(mine);
		mine = NULL;
	}
}

static void bad_files_are_refused(void **state)
{
	struct fx *fx = *state;
	unsigned char buf[512];
	size_t n = S_slim(buf, 3600, "CET-1CEST,M3.5.0,M10.5.0/3");
	struct tz *z = NULL;
	struct nt_err err = {{0}};
	static const char *const footers[] = {
		"CET",	     /* no offset */
		"CE-1",	     /* a name of 2 letters */
		"CET-1CEST", /* summer time without rules */
		"CET-1CEST,M13.5.0,M10.5.0/3",
		"CET-1CEST,M3.6.0,M10.5.0/3",
		"CET-1CEST,M3.5.7,M10.5.0/3",
		"CET-1CEST,J0,J100",
		"CET-1CEST,M3.5.0,M10.5.0/200",
		"CET-99",
		"CET-1CEST,M3.5.0,M10.5.0 junk",
	};
	char path[128];

	for (size_t cut = 0; cut < n; cut += 7) { /* truncated anywhere */
		S_put(fx, "Cut", buf, cut);
		assert_int_equal(tz_open(fx->dir, "Cut", &z, &err), NT_EPARSE);
	}
	for (size_t i = 0; i < sizeof(footers) / sizeof(*footers); i++) {
		S_put(fx, "Bad", buf, S_slim(buf, 3600, footers[i]));
		if (tz_open(fx->dir, "Bad", &z, &err) != NT_EPARSE)
			fail_msg("footer '%s' taken", footers[i]);
	}
	n = S_slim(buf, 3600, "CET-1");
	S_be32(buf + 20 + 4 * 4, 0); /* no type at all */
	S_put(fx, "NoType", buf, n);
	assert_int_equal(tz_open(fx->dir, "NoType", &z, &err), NT_EPARSE);
	n = S_slim(buf, 30 * 3600, "CET-1"); /* an offset of 30 h */
	S_put(fx, "Far", buf, n);
	assert_int_equal(tz_open(fx->dir, "Far", &z, &err), NT_EPARSE);
	/* a link out of the folder is not followed */
	snprintf(path, sizeof(path), "%s/Out", fx->dir);
	assert_int_equal(symlink(ZONEINFO "/Europe/Paris", path), 0);
	assert_int_equal(tz_open(fx->dir, "Out", &z, &err), NT_EINVAL);
	assert_null(z);
}

#define T(f) cmocka_unit_test_setup_teardown(f, S_setup, S_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paris_changes_at_one_utc_on_the_last_sundays),
		cmocka_unit_test(new_york_and_utc),
		cmocka_unit_test(every_half_hour_agrees_with_glibc),
		cmocka_unit_test(hostile_names_are_refused),
		T(a_footer_alone_gives_the_rules),
		T(bad_files_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
