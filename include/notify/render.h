/*
 * render.h - the alert templates, compiled once per locale, rendered
 * with the escaping of each output format (DESIGN.md step 6).
 *
 * The templates of conf/templates are built into the program; a folder
 * of the same shape overrides them file by file.  It holds one
 * sub-folder per locale ("fr" and "en"), each with subject, text, html
 * and mrkdwn templates and a digest_ variant of each, as
 * <name>.mustache; {{> name}} includes <name>.mustache of the same
 * locale.  A file the folder lacks is the built-in one.  View values are inline
 * Markdown (see alert_view()), so {{x}} renders x safely for the format: HTML
 * for html, Slack mrkdwn for mrkdwn, plain text for text, one header-safe line
 * for subject; {{{x}}} is the Markdown source as it is.
 */
#ifndef NOTIFY_RENDER_H
#define NOTIFY_RENDER_H

#include <json-c/json.h>
#include <stdbool.h>

#include "notify/buf.h"
#include "notify/result.h"

enum render_fmt {
	RENDER_SUBJECT,
	RENDER_TEXT,
	RENDER_HTML,
	RENDER_MRKDWN,
	RENDER_FMT_COUNT
};

struct render;

/* Prepares rendering from the built-in templates overridden by those of
 * folder 'dir' (borrowed, copied; NULL: the built-in ones alone).  Only
 * 'dir' itself is looked at yet: a locale's templates are read and
 * compiled on first use.  On NT_OK *out is owned (render_free()).
 * Results: NT_ENOENT ('dir' is not a folder: a configured folder that
 * is missing is a mistake, not a wish for the defaults). */
nt_rc render_create(const char *dir, struct render **out, struct nt_err *err);

void render_free(struct render *r);

/* The template locale for a configured one: "fr-FR" → "fr", anything
 * else (NULL included) → "en", the two sets notify ships.  Static. */
const char *render_locale(const char *want);

/* Renders the 'fmt' template (its digest_ variant when 'digest') of
 * 'locale' with 'view' (borrowed) and appends it to 'out', trailing white
 * space dropped.  Compiles the locale's templates on first use.  On
 * failure 'out' is as before and 'err' names the template file and line.
 * Results: NT_EINVAL (no such format), NT_ENOENT (a partial neither
 * the folder nor the program has), NT_EPARSE (a template error), NT_ETOOBIG
 * (render limits of template.h). */
nt_rc render_view(struct render *r, const char *locale, enum render_fmt fmt,
		  bool digest, json_object *view, struct nt_buf *out,
		  struct nt_err *err);

#endif
