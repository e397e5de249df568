/*
 * permalink.c - Jekyll's URL for a post: the permalink template (the
 * post's own, else the site's style) with its placeholders filled in, as
 * Jekyll's URL and UrlDrop classes do.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "notify/buf.h"
#include "notify/post.h"
#include "notify/site.h"

static const char *const S_month_short[] = {"Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec"};
static const char *const S_month_long[] = {
	"January", "February", "March",	    "April",   "May",	   "June",
	"July",	   "August",   "September", "October", "November", "December"};
static const char *const S_day_short[] = {"Sun", "Mon", "Tue", "Wed",
					  "Thu", "Fri", "Sat"};
static const char *const S_day_long[] = {"Sunday",    "Monday",	  "Tuesday",
					 "Wednesday", "Thursday", "Friday",
					 "Saturday"};

/* Jekyll's built-in permalink styles. */
static const char *S_style(const char *name)
{
	static const struct {
		const char *name, *tmpl;
	} styles[] = {
		{"date", "/:categories/:year/:month/:day/:title:output_ext"},
		{"pretty", "/:categories/:year/:month/:day/:title/"},
		{"ordinal", "/:categories/:year/:y_day/:title:output_ext"},
		{"weekdate",
		 "/:categories/:year/W:week/:short_day/:title:output_ext"},
		{"none", "/:categories/:title:output_ext"},
	};

	for (size_t i = 0; i < sizeof(styles) / sizeof(*styles); i++)
		if (strcmp(name, styles[i].name) == 0)
			return styles[i].tmpl;
	return name;
}

static bool S_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int S_yday(int y, int m, int d)
{
	static const int before[] = {0,	  31,  59,  90,	 120, 151,
				     181, 212, 243, 273, 304, 334};

	return before[m - 1] + d + (m > 2 && S_leap(y));
}

/* 0 = Sunday (Sakamoto's method). */
static int S_wday(int y, int m, int d)
{
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};

	y -= m < 3;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* ISO 8601 week number. */
static int S_iso_week(int y, int m, int d)
{
	int wd = (S_wday(y, m, d) + 6) % 7; /* Monday = 0 */
	int week = (S_yday(y, m, d) - wd + 9) / 7;

	if (week < 1) {
		int py = y - 1;
		int pwd = (S_wday(py, 12, 31) + 6) % 7;

		return (S_yday(py, 12, 31) - pwd + 9) / 7;
	}
	if (week == 53 && (S_wday(y, 12, 31) + 6) % 7 < 3)
		return 1;
	return week;
}

/* Characters a URL path keeps as they are (Addressable's path set). */
static bool S_path_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/", c);
}

static void S_add_escaped(struct nt_buf *b, const char *s)
{
	for (; *s; s++) {
		if (S_path_safe((unsigned char)*s))
			nt_buf_addc(b, *s);
		else
			nt_buf_addf(b, "%%%02X", (unsigned char)*s);
	}
}

/* One literal character of a permalink (a post's front matter is
 * untrusted): kept when a URL path may hold it, an existing %XX kept,
 * anything else percent-encoded. */
static void S_add_literal(struct nt_buf *b, const char **s)
{
	unsigned char c = (unsigned char)**s;

	if (c == '%' && isxdigit((unsigned char)(*s)[1]) &&
	    isxdigit((unsigned char)(*s)[2]))
		nt_buf_addc(b, '%');
	else if (S_path_safe(c))
		nt_buf_addc(b, (char)c);
	else
		nt_buf_addf(b, "%%%02X", c);
	(*s)++;
}

/* Jekyll's slugify: 'pretty' keeps case and ._~!$&'()+,;=@, 'default'
 * lower-cases and keeps only letters and digits; other runs become '-'. */
static char *S_slugify(const char *s, bool pretty)
{
	struct nt_buf b = NT_BUF_INIT;
	bool dash = false;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c >= 0x80 ||
			    (pretty && strchr("._~!$&'()+,;=@", c) && c);

		if (!keep) {
			dash = b.len > 0;
			continue;
		}
		if (dash)
			nt_buf_addc(&b, '-');
		dash = false;
		if (!pretty && c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		nt_buf_addc(&b, (char)c);
	}
	return nt_buf_detach(&b);
}

static char *S_categories(const struct post *p)
{
	size_t n;
	const char *const *cats = post_list(p, POST_LIST_CATEGORIES, &n);
	struct nt_buf b = NT_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (i)
			nt_buf_addc(&b, '/');
		for (const char *c = cats[i]; *c; c++)
			nt_buf_addc(&b, (*c >= 'A' && *c <= 'Z')
						? (char)(*c - 'A' + 'a')
						: *c);
	}
	return nt_buf_detach(&b);
}

/* Value of placeholder 'name' (owned), or NULL when unknown. */
static char *S_value(const struct post *p, const char *name, size_t len)
{
	int y, m, d, hh, mi, ss;

#define IS(s) (len == sizeof(s) - 1 && strncmp(name, s, len) == 0)
	post_datetime(p, &y, &m, &d, &hh, &mi, &ss);
	if (IS("year"))
		return nt_xasprintf("%04d", y);
	if (IS("short_year"))
		return nt_xasprintf("%02d", y % 100);
	if (IS("month"))
		return nt_xasprintf("%02d", m);
	if (IS("i_month"))
		return nt_xasprintf("%d", m);
	if (IS("short_month"))
		return nt_xstrdup(S_month_short[m - 1]);
	if (IS("long_month"))
		return nt_xstrdup(S_month_long[m - 1]);
	if (IS("day"))
		return nt_xasprintf("%02d", d);
	if (IS("i_day"))
		return nt_xasprintf("%d", d);
	if (IS("y_day"))
		return nt_xasprintf("%03d", S_yday(y, m, d));
	if (IS("short_day"))
		return nt_xstrdup(S_day_short[S_wday(y, m, d)]);
	if (IS("long_day"))
		return nt_xstrdup(S_day_long[S_wday(y, m, d)]);
	if (IS("week"))
		return nt_xasprintf("%02d", S_iso_week(y, m, d));
	if (IS("hour"))
		return nt_xasprintf("%02d", hh);
	if (IS("minute"))
		return nt_xasprintf("%02d", mi);
	if (IS("second"))
		return nt_xasprintf("%02d", ss);
	if (IS("title"))
		return S_slugify(post_slug(p), true);
	if (IS("slug"))
		return S_slugify(post_slug(p), false);
	if (IS("name"))
		return S_slugify(post_id(p), false);
	if (IS("categories"))
		return S_categories(p);
	if (IS("output_ext"))
		return nt_xstrdup(".html");
#undef IS
	return NULL;
}

static bool S_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

/* Fills the placeholders of 'tmpl', then folds repeated slashes. */
static char *S_expand(const struct post *p, const char *tmpl)
{
	struct nt_buf b = NT_BUF_INIT, out = NT_BUF_INIT;

	for (const char *s = tmpl; *s;) {
		size_t n = 0;
		char *v;

		if (*s != ':') {
			S_add_literal(&b, &s);
			continue;
		}
		while (S_name_char(s[1 + n]))
			n++;
		/* the longest known name wins: ":titlefoo" is not :title */
		while (n > 0 && (v = S_value(p, s + 1, n)) == NULL)
			n--;
		if (n == 0) {
			nt_buf_addc(&b, *s++);
			continue;
		}
		S_add_escaped(&b, v);
		free(v);
		s += 1 + n;
	}
	if (nt_buf_str(&b)[0] != '/')
		nt_buf_addc(&out, '/');
	for (const char *s = nt_buf_str(&b); *s; s++)
		if (!(*s == '/' && out.len && out.buf[out.len - 1] == '/'))
			nt_buf_addc(&out, *s);
	nt_buf_release(&b);
	return nt_buf_detach(&out);
}

char *site_post_url(const struct site *s, const struct post *p)
{
	const char *tmpl = post_permalink(p);
	char *path, *url;

	if (site_url(s) == NULL)
		return NULL;
	path = S_expand(p, tmpl ? tmpl : S_style(site_permalink(s)));
	url = nt_xasprintf("%s%s%s", site_url(s), site_baseurl(s), path);
	free(path);
	return url;
}
