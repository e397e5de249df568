/*
 * template.h - Mustache templates (https://mustache.github.io/): the
 * message bodies of alerts.
 *
 * The full core of the spec is supported: variables ({{x}}, {{{x}}},
 * {{&x}}), dotted names and the implicit iterator {{.}}, sections and
 * inverted sections, comments, partials (with the indentation of standalone
 * partial tags) and set-delimiter tags, with every standalone-line rule.
 * The optional modules (lambdas, dynamic names, inheritance) are not.
 *
 * Values are json-c objects.  A name is looked up in the context stack,
 * innermost first; the first object holding the first part of a dotted name
 * wins, and the rest of the name is resolved in that value only.  Strings
 * render as they are, integers in decimal, doubles in the shortest form that
 * reads back the same (1.5 renders "1.5", 85.0 renders "85"), true renders
 * "true"; null, false, objects, arrays and misses render as nothing.  A
 * section is skipped for a miss, null, false, 0, "" and []; it repeats for
 * each element of a non-empty array and runs once, with the value pushed
 * on the context stack, for anything else.
 *
 * A template is untrusted: compiling it costs time linear in its size and
 * the sizes of its partials, and neither compiling nor rendering recurses on
 * the template's nesting.  The caps below bound what a hostile template can
 * make a render cost, whatever the data.  A compiled template is immutable:
 * it may be rendered any number of times, by several threads at once
 * provided each has its own output buffer (data is only read).
 */
#ifndef NOTIFY_TEMPLATE_H
#define NOTIFY_TEMPLATE_H

#include <stddef.h>

#include <json-c/json.h>

#include "notify/buf.h"
#include "notify/result.h"

/* Sections open at once in one template or partial: real templates nest
 * two or three; more is refused at compile time. */
#define TMPL_MAX_NESTING 100
/* Partials entered at once while rendering: a recursive partial (a tree of
 * replies, say) goes this deep before the render fails. */
#define TMPL_MAX_DEPTH 64
/* Distinct partials one template may name, its own and its partials'. */
#define TMPL_MAX_PARTIALS 1024
/* Bytes one render may produce: an alert is a few KiB, but sections nested
 * over lists, or partials named twice per level, grow exponentially. */
#define TMPL_MAX_OUTPUT (16 * 1024 * 1024)
/* Work units one render may spend (an instruction run, or a context
 * searched during a name look-up): the same blow-up can produce no output
 * at all.  About a second of CPU at worst. */
#define TMPL_MAX_STEPS (1 << 25)

/* A compiled template, with every partial it can reach. */
struct tmpl;

/* Appends the escaped form of s[0..n) to 'out'.  Used for {{x}} only:
 * never for {{{x}}}, {{&x}} or the template's own text.  's' is borrowed
 * for the call and need not be NUL-terminated. */
typedef void (*tmpl_escape_fn)(void *ctx, const char *s, size_t n,
			       struct nt_buf *out);

/* Loads the text of the partial 'name'.  On NT_OK, *src is owned by the
 * caller of the loader (it is freed with free(3)) and holds *len bytes,
 * not necessarily NUL-terminated; a NULL *src is an empty partial.
 * NT_ENOENT means there is no such partial: it renders as nothing, as the
 * spec requires.  Any other result fails the compile, with 'err' as the
 * loader wrote it.  'name' is untrusted (it comes from template text, with
 * no white space or control characters): a loader that maps it to a file
 * must refuse '/' and "..". */
typedef nt_rc (*tmpl_partial_fn)(void *ctx, const char *name, char **src,
				 size_t *len, struct nt_err *err);

/* Compiles the template src[0..len) (untrusted, need not be
 * NUL-terminated, borrowed for the call) and, through 'partials', every
 * partial it reaches, each loaded once and cached by name (a recursive
 * partial is loaded once too).  'name' is used in messages only.
 * 'partials' may be NULL: every partial is then missing.  'pctx' is passed
 * to the loader.
 *
 * On NT_OK, *out is owned: free it with tmpl_free().  On failure *out is
 * untouched and 'err' reads "NAME:LINE:COL: what", NAME being the
 * template or partial at fault and LINE:COL (1-based, in bytes) the tag at
 * fault.  Results: NT_EINVAL (NULL name, src or out), NT_EPARSE (an
 * unclosed tag, an unclosed, unopened or mismatched section, sections
 * nested deeper than TMPL_MAX_NESTING, an empty or malformed name, a bad
 * set-delimiter tag), NT_ETOOBIG (over TMPL_MAX_PARTIALS partials), or the
 * loader's own result. */
nt_rc tmpl_compile(const char *name, const char *src, size_t len,
		   tmpl_partial_fn partials, void *pctx, struct tmpl **out,
		   struct nt_err *err);

/* Renders 't' with 'data' as the root context and appends the text to
 * 'out'.  'data' is borrowed for the call and only read; it may be NULL
 * (JSON null).  {{x}} values go through 'esc' (with 'ectx'); a NULL 'esc'
 * copies them as they are, for plain-text output.
 *
 * On failure 'out' is restored to its length before the call and 'err'
 * reads "NAME:LINE:COL: what", naming the partial tag at fault where
 * there is one.  Results: NT_EINVAL (NULL t or out), NT_EPARSE (partials
 * nested deeper than TMPL_MAX_DEPTH), NT_ETOOBIG (over TMPL_MAX_OUTPUT
 * bytes or TMPL_MAX_STEPS steps). */
nt_rc tmpl_render(const struct tmpl *t, json_object *data, tmpl_escape_fn esc,
		  void *ectx, struct nt_buf *out, struct nt_err *err);

/* Frees 't' and its partials; tmpl_free(NULL) does nothing. */
void tmpl_free(struct tmpl *t);

/* A tmpl_escape_fn for HTML, the spec's escaping: & < > " become &amp;
 * &lt; &gt; &quot;, other bytes are copied.  'ctx' is unused. */
void tmpl_escape_html(void *ctx, const char *s, size_t n, struct nt_buf *out);

#endif
