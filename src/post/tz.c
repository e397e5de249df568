/*
 * tz.c - a zone's offsets from its TZif file (RFC 8536) and the POSIX TZ
 * string of its footer, so that a post's local date is placed in time
 * without setenv("TZ") (tz.h).
 */
#include "notify/tz.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "notify/buf.h"

#define TZ_HEADER 44	      /* bytes of a TZif header */
#define TZ_COUNT_MAX 65536    /* of transitions, types, leap records */
#define TZ_TYPES_MAX 256      /* a transition's type is one byte */
#define TZ_UTOFF_MIN (-89999) /* RFC 8536: -25 h < offset < 26 h */
#define TZ_UTOFF_MAX 93599
#define TZ_RULE_TIME_DEFAULT 7200 /* POSIX: a change at 02:00 */
#define TZ_RULE_HOURS_MAX 167	  /* RFC 8536 widens POSIX's 24 */

/* When a change of the POSIX TZ string falls. */
struct tz_rule {
	char kind; /* 'J': Jn, 'D': n, 'M': Mm.w.d */
	int n, m, w, d;
	int32_t time; /* seconds after local midnight */
};

struct tz {
	int64_t *at; /* transitions, ascending */
	uint8_t *idx;
	size_t n_at;
	int32_t utoff[TZ_TYPES_MAX];
	size_t n_types;
	/* the footer: what holds after the last transition */
	bool footer, has_dst;
	int32_t std_off, dst_off;
	struct tz_rule start, end;
};

bool tz_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/')
		return false;
	/* no '.': neither ".." nor a hidden file */
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			    "wxyz0123456789_+-/") == n;
}

/* ---- calendar -------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil).  m may run past 1..12. */
static int64_t S_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y += (m - 1) >= 0 ? (m - 1) / 12 : -((12 - m) / 12);
	m = ((m - 1) % 12 + 12) % 12 + 1;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The year of day 'z' (days from 1970-01-01). */
static int64_t S_year(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static int64_t S_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static bool S_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The day (from 1970-01-01) on which rule 'r' falls in year 'y'. */
static int64_t S_rule_day(int64_t y, const struct tz_rule *r)
{
	int64_t first, dow, day, mdays;

	if (r->kind == 'J') /* 1..365, February 29 never counted */
		return S_days(y, 1, 1) + r->n - 1 + (S_leap(y) && r->n >= 60);
	if (r->kind == 'D') /* 0..365, February 29 counted */
		return S_days(y, 1, 1) + r->n;
	first = S_days(y, r->m, 1);
	mdays = S_days(y, r->m + 1, 1) - first;
	dow = ((first + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
	day = (r->d - dow + 7) % 7 + (int64_t)(r->w - 1) * 7;
	while (day >= mdays) /* week 5: the last such day */
		day -= 7;
	return first + day;
}

/* ---- the offset at an instant ---------------------------------------- */

static int32_t S_posix(const struct tz *z, int64_t t)
{
	int64_t y, s, e;
	bool dst;

	if (!z->has_dst)
		return z->std_off;
	y = S_year(S_floor_div(t + z->std_off, 86400));
	/* a change happens at a local time: standard time for the start,
	 * summer time for the end */
	s = S_rule_day(y, &z->start) * 86400 + z->start.time - z->std_off;
	e = S_rule_day(y, &z->end) * 86400 + z->end.time - z->dst_off;
	if (s < e)
		dst = s <= t && t < e;
	else /* southern hemisphere: summer spans the new year */
		dst = !(e <= t && t < s);
	return dst ? z->dst_off : z->std_off;
}

int32_t tz_utoff(const struct tz *z, int64_t t)
{
	size_t lo = 0, hi = z->n_at;

	if ((z->n_at == 0 || t >= z->at[z->n_at - 1]) && z->footer)
		return S_posix(z, t);
	if (z->n_at == 0 || t < z->at[0])
		return z->utoff[0]; /* RFC 8536: type 0 before the first */
	while (hi - lo > 1) {	    /* the last transition at or before t */
		size_t mid = lo + (hi - lo) / 2;

		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->utoff[z->idx[lo]];
}

int64_t tz_mktime(const struct tz *z, int year, int mon, int day, int hour,
		  int min, int sec)
{
	int64_t l = S_days(year, mon, day) * 86400 + (int64_t)hour * 3600 +
		    (int64_t)min * 60 + sec;
	/* the offsets either side of a change near l (changes are months
	 * apart, and no offset reaches a day) */
	int32_t before = tz_utoff(z, l - 86400), after = tz_utoff(z, l + 86400);
	int64_t tb = l - before, ta = l - after;
	bool vb = tz_utoff(z, tb) == before, va = tz_utoff(z, ta) == after;

	if (vb && va) /* it occurs twice: the second, as glibc */
		return tb > ta ? tb : ta;
	if (va)
		return ta;
	return tb; /* it occurs once before, or never: the offset before */
}

/* ---- the footer: a POSIX TZ string ----------------------------------- */

static bool S_is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool S_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A zone abbreviation: 3 letters or more, or "<...>" ("<+03>"). */
static bool S_abbr(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		s++;
		while (S_is_alpha(*s) || S_is_digit(*s) || *s == '+' ||
		       *s == '-')
			s++;
		if (*s != '>' || s - *p < 4)
			return false;
		*p = s + 1;
		return true;
	}
	while (S_is_alpha(*s))
		s++;
	if (s - *p < 3)
		return false;
	*p = s;
	return true;
}

/* A number of at most 3 digits, at most 'max'. */
static bool S_num(const char **p, int max, int *out)
{
	int v = 0, n = 0;

	while (S_is_digit(**p) && n < 3) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*out = v;
	return n > 0 && v <= max && !S_is_digit(**p);
}

/* [+-]hh[:mm[:ss]] in seconds; hours at most 'max_h'. */
static bool S_hms(const char **p, int max_h, int32_t *out)
{
	int sign = 1, h = 0, m = 0, s = 0;

	if (**p == '+' || **p == '-')
		sign = *(*p)++ == '-' ? -1 : 1;
	if (!S_num(p, max_h, &h))
		return false;
	if (**p == ':' && (++*p, !S_num(p, 59, &m)))
		return false;
	if (**p == ':' && (++*p, !S_num(p, 59, &s)))
		return false;
	*out = sign * (h * 3600 + m * 60 + s);
	return true;
}

/* ",start[/time]" or ",end[/time]". */
static bool S_rule(const char **p, struct tz_rule *r)
{
	bool ok;

	if (*(*p)++ != ',')
		return false;
	memset(r, 0, sizeof(*r));
	r->time = TZ_RULE_TIME_DEFAULT;
	if (**p == 'M') {
		++*p;
		r->kind = 'M';
		ok = S_num(p, 12, &r->m) && r->m >= 1 && *(*p)++ == '.' &&
		     S_num(p, 5, &r->w) && r->w >= 1 && *(*p)++ == '.' &&
		     S_num(p, 6, &r->d);
	} else if (**p == 'J') {
		++*p;
		r->kind = 'J';
		ok = S_num(p, 365, &r->n) && r->n >= 1;
	} else {
		r->kind = 'D';
		ok = S_num(p, 365, &r->n);
	}
	if (ok && **p == '/')
		ok = (++*p, S_hms(p, TZ_RULE_HOURS_MAX, &r->time));
	return ok;
}

/* "CET-1CEST,M3.5.0,M10.5.0/3": offsets are west of Greenwich there. */
static bool S_footer(struct tz *z, const char *s)
{
	int32_t off;

	if (*s == '\0') /* allowed: nothing said past the last change */
		return true;
	z->footer = true;
	if (!S_abbr(&s) || !S_hms(&s, 24, &off))
		return false;
	z->std_off = -off;
	if (*s == '\0')
		return true;
	if (!S_abbr(&s))
		return false;
	z->has_dst = true;
	z->dst_off = z->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (!S_hms(&s, 24, &off))
			return false;
		z->dst_off = -off;
	}
	/* a footer always says when; POSIX's default rules are the US's */
	return S_rule(&s, &z->start) && S_rule(&s, &z->end) && *s == '\0';
}

/* ---- the TZif file --------------------------------------------------- */

static uint32_t S_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t S_be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)S_be32(p) << 32 | S_be32(p + 4));
}

/* The counts of a header: isutcnt, isstdcnt, leapcnt, timecnt, typecnt,
 * charcnt; and the size of the data block after it, with 4- or 8-byte
 * times ('tsize'). */
struct tz_head {
	size_t c[6];
	size_t data;
};

static bool S_head(const unsigned char *p, size_t len, size_t tsize,
		   struct tz_head *h)
{
	if (len < TZ_HEADER || memcmp(p, "TZif", 4) != 0)
		return false;
	for (int i = 0; i < 6; i++) {
		h->c[i] = S_be32(p + 20 + 4 * i);
		if (h->c[i] > TZ_COUNT_MAX)
			return false;
	}
	if (h->c[4] == 0 || h->c[4] > TZ_TYPES_MAX)
		return false;
	h->data = h->c[3] * (tsize + 1) + h->c[4] * 6 + h->c[5] +
		  h->c[2] * (tsize + 4) + h->c[1] + h->c[0];
	return len - TZ_HEADER >= h->data;
}

/* The transitions and types of a data block of header 'h'. */
static bool S_data(struct tz *z, const unsigned char *p, size_t tsize,
		   const struct tz_head *h)
{
	const unsigned char *idx = p + h->c[3] * tsize, *tt = idx + h->c[3];

	z->n_at = h->c[3];
	z->at = nt_xcalloc(z->n_at + 1, sizeof(*z->at));
	z->idx = nt_xcalloc(z->n_at + 1, 1);
	for (size_t i = 0; i < z->n_at; i++) {
		z->at[i] = tsize == 8 ? S_be64(p + 8 * i)
				      : (int32_t)S_be32(p + 4 * i);
		z->idx[i] = idx[i];
		if (idx[i] >= h->c[4] || (i > 0 && z->at[i] <= z->at[i - 1]))
			return false;
	}
	z->n_types = h->c[4];
	for (size_t i = 0; i < z->n_types; i++) {
		int32_t off = (int32_t)S_be32(tt + 6 * i);

		if (off < TZ_UTOFF_MIN || off > TZ_UTOFF_MAX)
			return false;
		z->utoff[i] = off;
	}
	return true;
}

/* Version 1: 4-byte times, no footer.  Version 2 and later: the same
 * again with 8-byte times, then "\nFOOTER\n". */
static bool S_tzif(struct tz *z, const unsigned char *p, size_t len)
{
	struct tz_head h;
	const unsigned char *nl;
	char *footer;
	bool ok;

	if (!S_head(p, len, 4, &h))
		return false;
	if (p[4] == '\0')
		return S_data(z, p + TZ_HEADER, 4, &h);
	p += TZ_HEADER + h.data;
	len -= TZ_HEADER + h.data;
	if (!S_head(p, len, 8, &h) || !S_data(z, p + TZ_HEADER, 8, &h))
		return false;
	p += TZ_HEADER + h.data;
	len -= TZ_HEADER + h.data;
	if (len < 2 || p[0] != '\n')
		return false;
	nl = memchr(p + 1, '\n', len - 1);
	if (nl == NULL || memchr(p + 1, '\0', (size_t)(nl - p - 1)) != NULL)
		return false;
	footer = nt_xstrndup((const char *)p + 1, (size_t)(nl - p - 1));
	ok = S_footer(z, footer);
	free(footer);
	return ok;
}

void tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->at);
	free(z->idx);
	free(z);
}

/* 'dir'/'name', resolved, if it lies inside 'dir' (the zoneinfo folder
 * links zones to one another; nothing there links out of it). */
static nt_rc S_path(const char *dir, const char *name, char **out,
		    struct nt_err *err)
{
	char *base = realpath(dir, NULL);
	char *want = nt_xasprintf("%s/%s", dir, name);
	char *real = realpath(want, NULL);
	nt_rc rc = NT_OK;
	size_t n = base ? strlen(base) : 0;

	if (base == NULL || real == NULL)
		rc = nt_fail(err, NT_ENOENT,
			     "time zone '%s': no such zone in %s", name, dir);
	else if (strncmp(real, base, n) != 0 || real[n] != '/')
		rc = nt_fail(err, NT_EINVAL, "time zone '%s': outside %s", name,
			     dir);
	if (rc == NT_OK)
		*out = real;
	else
		free(real);
	free(want);
	free(base);
	return rc;
}

/* 'name' fit for a log line: at most 64 bytes, control bytes as '?'. */
static void S_clean(const char *name, char *out, size_t n)
{
	size_t i = 0;

	for (; name && name[i] && i + 1 < n; i++)
		out[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f
				 ? '?'
				 : name[i];
	out[i] = '\0';
}

nt_rc tz_open(const char *dir, const char *name, struct tz **out,
	      struct nt_err *err)
{
	char shown[65];

	struct tz *z;
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	nt_rc rc;

	if (dir == NULL)
		dir = TZ_DIR_DEFAULT;
	if (!tz_name_ok(name)) {
		S_clean(name, shown, sizeof(shown));
		return nt_fail(err, NT_EINVAL,
			       "time zone '%s': not a zone name (letters, "
			       "digits, '_', '+', '-' and '/')",
			       shown);
	}
	rc = S_path(dir, name, &path, err);
	if (rc == NT_OK)
		rc = nt_read_file(path, TZ_FILE_MAX, &buf, &len, err);
	free(path);
	if (rc)
		return rc;
	z = nt_xcalloc(1, sizeof(*z));
	if (!S_tzif(z, (const unsigned char *)buf, len)) {
		tz_free(z);
		free(buf);
		return nt_fail(err, NT_EPARSE,
			       "time zone '%s': %s/%s is not a valid TZif file",
			       name, dir, name);
	}
	free(buf);
	*out = z;
	return NT_OK;
}
