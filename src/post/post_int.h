/* Private to post.c, frontmatter.c and sections.c. */
#ifndef NOTIFY_POST_INT_H
#define NOTIFY_POST_INT_H

#include "notify/buf.h"
#include "notify/post.h"

struct post {
	char *path;
	char *id;
	char *slug;
	char *title;
	char date[11];
	int year, month, day, hour, min, sec;
	bool has_zone; /* the date named its offset from UTC */
	int zone_min;  /* that offset, minutes east of UTC */
	char *permalink;
	bool published;
	struct nt_strv tags;
	struct nt_strv categories;

	char *headline;
	char *summary;
	char *source;
	struct nt_strv sections[POST_SEC_COUNT];
	struct nt_strv cves;
};

/* Front matter: fills title, date, permalink, published, tags and
 * categories from yaml[0..len), which starts on line 2 of the file 'name'.
 * Errors read "name:line: what". */
nt_rc fm_parse(struct post *p, const char *name, const char *yaml, size_t len,
	       struct nt_err *err);

/* Body: fills headline, summary, source, sections and cves. */
void sections_parse(struct post *p, const char *body, size_t len,
		    const struct post_aliases *aliases);

#endif
