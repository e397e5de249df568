#include "notify/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/format.h"
#include "notify/template.h"

/* A template file is a few hundred bytes; more is not a template. */
#define RENDER_MAX_TEMPLATE (256 * 1024)
/* Locales compiled at most, whatever the configuration asks. */
#define RENDER_MAX_LOCALES 8

static const char *const S_names[2][RENDER_FMT_COUNT] = {
	{"subject", "text", "html", "mrkdwn"},
	{"digest_subject", "digest_text", "digest_html", "digest_mrkdwn"},
};

struct locale_set {
	char name[16];
	struct tmpl *t[2][RENDER_FMT_COUNT];
};

struct render {
	char *dir;
	struct locale_set sets[RENDER_MAX_LOCALES];
	size_t n_sets;
};

struct loader {
	const struct render *r;
	const char *locale;
};

nt_rc render_create(const char *dir, struct render **out, struct nt_err *err)
{
	struct render *r;

	if (dir == NULL)
		return nt_fail(err, NT_EINVAL, "no templates folder");
	r = nt_xcalloc(1, sizeof(*r));
	r->dir = nt_xstrdup(dir);
	*out = r;
	return NT_OK;
}

void render_free(struct render *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_sets; i++)
		for (int d = 0; d < 2; d++)
			for (int f = 0; f < RENDER_FMT_COUNT; f++)
				tmpl_free(r->sets[i].t[d][f]);
	free(r->dir);
	free(r);
}

/* "fr-FR", "fr_FR.UTF-8", "FR" → "fr"; anything else → "en". */
const char *render_locale(const char *want)
{
	if (want && (want[0] | 0x20) == 'f' && (want[1] | 0x20) == 'r' &&
	    !((want[2] | 0x20) >= 'a' && (want[2] | 0x20) <= 'z'))
		return "fr";
	return "en";
}

/* Partial names come from template text: a plain word, no path. */
static bool S_safe_name(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n < 64 && name[n] == '\0';
}

static nt_rc S_load(const struct render *r, const char *locale,
		    const char *name, char **src, size_t *len,
		    struct nt_err *err)
{
	char *path = nt_xasprintf("%s/%s/%s.mustache", r->dir, locale, name);
	nt_rc rc = nt_read_file(path, RENDER_MAX_TEMPLATE, src, len, err);

	free(path);
	return rc;
}

static nt_rc S_partial(void *ctx, const char *name, char **src, size_t *len,
		       struct nt_err *err)
{
	const struct loader *l = ctx;

	if (!S_safe_name(name))
		return nt_fail(err, NT_EPARSE,
			       "partial name '%.64s' is not a plain word",
			       name);
	return S_load(l->r, l->locale, name, src, len, err);
}

static nt_rc S_compile_set(struct render *r, const char *locale,
			   struct locale_set **out, struct nt_err *err)
{
	struct locale_set *set;
	struct loader l = {r, locale};

	if (r->n_sets == RENDER_MAX_LOCALES)
		return nt_fail(err, NT_ETOOBIG, "too many locales");
	set = &r->sets[r->n_sets];
	memset(set, 0, sizeof(*set));
	snprintf(set->name, sizeof(set->name), "%s", locale);
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < RENDER_FMT_COUNT; f++) {
			char *src = NULL, *file;
			size_t len = 0;
			nt_rc rc = S_load(r, locale, S_names[d][f], &src, &len,
					  err);

			file = nt_xasprintf("%s/%s/%s.mustache", r->dir, locale,
					    S_names[d][f]);
			if (rc == NT_OK)
				rc = tmpl_compile(file, src, len, S_partial, &l,
						  &set->t[d][f], err);
			free(src);
			free(file);
			if (rc) {
				for (int dd = 0; dd < 2; dd++)
					for (int ff = 0; ff < RENDER_FMT_COUNT;
					     ff++)
						tmpl_free(set->t[dd][ff]);
				return rc;
			}
		}
	}
	r->n_sets++;
	*out = set;
	return NT_OK;
}

static void S_esc_html(void *ctx, const char *s, size_t n, struct nt_buf *o)
{
	(void)ctx;
	fmt_html(s, n, o);
}

static void S_esc_mrkdwn(void *ctx, const char *s, size_t n, struct nt_buf *o)
{
	(void)ctx;
	fmt_mrkdwn(s, n, o);
}

static void S_esc_text(void *ctx, const char *s, size_t n, struct nt_buf *o)
{
	(void)ctx;
	fmt_text(s, n, o);
}

static void S_esc_header(void *ctx, const char *s, size_t n, struct nt_buf *o)
{
	(void)ctx;
	fmt_header_text(s, n, o);
}

static const tmpl_escape_fn S_escapers[RENDER_FMT_COUNT] = {
	S_esc_header, S_esc_text, S_esc_html, S_esc_mrkdwn};

nt_rc render_view(struct render *r, const char *locale, enum render_fmt fmt,
		  bool digest, json_object *view, struct nt_buf *out,
		  struct nt_err *err)
{
	struct locale_set *set = NULL;
	size_t start = out->len;
	nt_rc rc;

	if ((unsigned)fmt >= RENDER_FMT_COUNT)
		return nt_fail(err, NT_EINVAL, "no such template format");
	for (size_t i = 0; i < r->n_sets && set == NULL; i++)
		if (strcmp(r->sets[i].name, locale) == 0)
			set = &r->sets[i];
	if (set == NULL) {
		rc = S_compile_set(r, locale, &set, err);
		if (rc)
			return rc;
	}
	rc = tmpl_render(set->t[digest][fmt], view, S_escapers[fmt], NULL, out,
			 err);
	if (rc)
		return rc;
	while (out->len > start &&
	       strchr(" \t\r\n", out->buf[out->len - 1]) != NULL)
		out->buf[--out->len] = '\0';
	return NT_OK;
}
