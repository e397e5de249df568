/*
 * template.c - Mustache: a compiler from template text to a flat list of
 * instructions, and a renderer that runs the list with heap stacks.
 *
 * Nothing here recurses.  The compiler matches sections with a fixed stack
 * of TMPL_MAX_NESTING and compiles partials from a work list (t->progs
 * grows as tags name new partials, so a partial naming itself is loaded
 * once).  The renderer keeps sections and partial calls on one frame
 * stack; a section jumps back to its first instruction for each element.
 *
 * Partial indentation is done at render time.  Text is cut after each
 * newline and every instruction that begins a source line is flagged
 * 'bol'; the renderer writes the current indent before such an
 * instruction.  This gives what indenting the partial's source would
 * give, without copying the partial once per indent.
 */
#include "notify/template.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Slots of the partial-name hash: a power of two, twice the cap, so a
 * probe always ends on a free slot. */
#define TMPL_NSLOTS (2 * TMPL_MAX_PARTIALS)

enum op {
	OP_TEXT,     /* src[off, off + len) */
	OP_VAR,	     /* {{x}}: escaped */
	OP_RAW,	     /* {{{x}}}, {{&x}} */
	OP_SECTION,  /* arg: index of the matching OP_END */
	OP_INVERTED, /* arg: index of the matching OP_END */
	OP_END,
	OP_PARTIAL, /* arg: index in t->progs; off, len: indent */
};

struct instr {
	enum op op;
	bool bol;	 /* begins a source line: the indent goes first */
	bool standalone; /* OP_PARTIAL: its line's indent applies inside */
	size_t at;	 /* offset of the tag, for messages */
	size_t off, len; /* text; a section's raw name; a partial's indent */
	size_t name;	 /* offset of the name's parts in prog->names */
	size_t nseg;	 /* parts of the name; 0: the implicit iterator */
	size_t arg;
};

struct prog {
	char *name;
	char *src;
	size_t len;
	struct instr *code;
	size_t n, cap;
	struct nt_buf names; /* parts of dotted names, each NUL-terminated */
};

struct tmpl {
	struct prog **progs; /* [0] is the template, then its partials */
	size_t n, cap;
	size_t *slots; /* partial names hashed: index in progs, 0 free */
};

/*
 * Compiler.
 */

struct cc {
	struct tmpl *t;
	struct prog *p;
	struct nt_err *err;
	size_t pos; /* first byte not yet compiled */
	const char *otag, *ctag;
	size_t olen, clen;
	bool bol; /* the next instruction begins a source line */
	size_t depth;
	size_t open[TMPL_MAX_NESTING]; /* indexes of open sections */
};

struct tag {
	char type;   /* 0 for a variable, or one of # ^ / ! > & { = */
	size_t at;   /* offset of the opening delimiter */
	size_t end;  /* offset just past the closing delimiter */
	size_t a, b; /* content, trimmed */
};

static bool S_is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void S_line_col(const char *s, size_t at, size_t *line, size_t *col)
{
	size_t bol = 0;

	*line = 1;
	for (size_t i = 0; i < at; i++) {
		if (s[i] == '\n') {
			(*line)++;
			bol = i + 1;
		}
	}
	*col = at - bol + 1;
}

/* Fails with "NAME:LINE:COL: what" for the tag at 'at' of 'p'. */
static nt_rc S_fail_at(struct nt_err *err, nt_rc rc, const struct prog *p,
		       size_t at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static nt_rc S_fail_at(struct nt_err *err, nt_rc rc, const struct prog *p,
		       size_t at, const char *fmt, ...)
{
	char what[sizeof(err->msg)];
	size_t line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	S_line_col(p->src, at, &line, &col);
	return nt_fail(err, rc, "%s:%zu:%zu: %s", p->name, line, col, what);
}

static struct instr *S_emit(struct cc *c, enum op op, size_t at,
			    bool standalone)
{
	struct prog *p = c->p;
	struct instr *in;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->code = nt_xrealloc(p->code, p->cap * sizeof(*p->code));
	}
	in = &p->code[p->n++];
	memset(in, 0, sizeof(*in));
	in->op = op;
	in->at = at;
	/* a standalone tag's line is gone: the next line begins a line */
	if (!standalone) {
		in->bol = c->bol;
		c->bol = false;
	}
	return in;
}

/* Template text [from, to), one instruction per line. */
static void S_text(struct cc *c, size_t from, size_t to)
{
	const char *s = c->p->src;

	while (from < to) {
		const char *nl = memchr(s + from, '\n', to - from);
		size_t end = nl ? (size_t)(nl - s) + 1 : to;
		struct instr *in = S_emit(c, OP_TEXT, from, false);

		in->off = from;
		in->len = end - from;
		c->bol = nl != NULL;
		from = end;
	}
}

/* Finds the closing delimiter from 'from' on; with 'pre', the one right
 * after a 'pre' byte ("}}}" ends a triple mustache, "=}}" a set-delimiter
 * tag).  Returns the offset of the delimiter, or SIZE_MAX. */
static size_t S_find_close(const struct cc *c, size_t from, char pre)
{
	const char *s = c->p->src;
	size_t i = from;

	while (i < c->p->len) {
		const char *q = memmem(s + i, c->p->len - i, c->ctag, c->clen);
		size_t at;

		if (q == NULL)
			return SIZE_MAX;
		at = (size_t)(q - s);
		if (!pre || (at > from && s[at - 1] == pre))
			return at;
		i = at + 1;
	}
	return SIZE_MAX;
}

static nt_rc S_read_tag(struct cc *c, size_t at, struct tag *tg)
{
	const char *s = c->p->src;
	size_t i = at + c->olen;
	char pre = 0;
	size_t q;

	tg->at = at;
	tg->type = 0;
	if (i < c->p->len && s[i] && strchr("#^/!>&{=", s[i]))
		tg->type = s[i++];
	if (tg->type == '{')
		pre = '}';
	else if (tg->type == '=')
		pre = '=';
	q = S_find_close(c, i, pre);
	if (q == SIZE_MAX)
		return S_fail_at(c->err, NT_EPARSE, c->p, at, "unclosed tag");
	tg->a = i;
	tg->b = pre ? q - 1 : q;
	tg->end = q + c->clen;
	while (tg->a < tg->b && S_is_space(s[tg->a]))
		tg->a++;
	while (tg->b > tg->a && S_is_space(s[tg->b - 1]))
		tg->b--;
	return NT_OK;
}

/* A section, inverted section, closing, comment, partial or set-delimiter
 * tag alone on its line but for blanks is "standalone": the line goes,
 * blanks and newline included.  On true, [*ls, tg->at) is the line's
 * indent and *next is where the next line starts. */
static bool S_standalone(const struct cc *c, const struct tag *tg, size_t *ls,
			 size_t *next)
{
	const char *s = c->p->src;
	size_t len = c->p->len;
	size_t i = tg->at, j = tg->end;

	if (!tg->type || tg->type == '&' || tg->type == '{')
		return false;
	while (i > c->pos && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	/* c->pos follows a tag (a delimiter never ends in '\n') or a
	 * standalone line, so s[i - 1] tells whether a line starts here */
	if (i > 0 && s[i - 1] != '\n')
		return false;
	while (j < len && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (j + 1 < len && s[j] == '\r' && s[j + 1] == '\n')
		j += 2;
	else if (j < len && s[j] == '\n')
		j++;
	else if (j < len)
		return false;
	*ls = i;
	*next = j;
	return true;
}

/* Checks a variable or section name and stores its parts. */
static nt_rc S_name(struct cc *c, const struct tag *tg, size_t *off,
		    size_t *nseg)
{
	const char *s = c->p->src + tg->a;
	size_t n = tg->b - tg->a;
	struct nt_buf *names = &c->p->names;

	if (n == 0)
		return S_fail_at(c->err, NT_EPARSE, c->p, tg->at, "empty tag");
	*off = names->len;
	*nseg = 0;
	if (n == 1 && s[0] == '.')
		return NT_OK;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool dot = ch == '.';

		if (ch <= ' ' || ch == 0x7f ||
		    (dot && (i == 0 || i + 1 == n || s[i - 1] == '.')))
			return S_fail_at(c->err, NT_EPARSE, c->p, tg->at,
					 "bad tag name");
		nt_buf_addc(names, dot ? '\0' : (char)ch);
		*nseg += dot;
	}
	nt_buf_addc(names, '\0');
	(*nseg)++;
	return NT_OK;
}

static nt_rc S_var(struct cc *c, const struct tag *tg)
{
	size_t off, nseg;
	nt_rc rc = S_name(c, tg, &off, &nseg);
	struct instr *in;

	if (rc)
		return rc;
	in = S_emit(c, tg->type ? OP_RAW : OP_VAR, tg->at, false);
	in->name = off;
	in->nseg = nseg;
	return NT_OK;
}

static nt_rc S_open(struct cc *c, const struct tag *tg, bool standalone)
{
	size_t off, nseg;
	nt_rc rc = S_name(c, tg, &off, &nseg);
	struct instr *in;

	if (rc)
		return rc;
	if (c->depth == TMPL_MAX_NESTING)
		return S_fail_at(c->err, NT_EPARSE, c->p, tg->at,
				 "sections nested deeper than %d",
				 TMPL_MAX_NESTING);
	c->open[c->depth++] = c->p->n;
	in = S_emit(c, tg->type == '#' ? OP_SECTION : OP_INVERTED, tg->at,
		    standalone);
	in->name = off;
	in->nseg = nseg;
	in->off = tg->a;
	in->len = tg->b - tg->a;
	return NT_OK;
}

/* At most this much of a name is quoted in a message. */
#define QUOTE_LEN(n) ((int)((n) > 40 ? 40 : (n)))

static nt_rc S_close(struct cc *c, const struct tag *tg, bool standalone)
{
	const char *s = c->p->src;
	size_t n = tg->b - tg->a;
	struct instr *open;
	size_t at;

	if (c->depth == 0)
		return S_fail_at(c->err, NT_EPARSE, c->p, tg->at,
				 "closing tag '%.*s' without a section",
				 QUOTE_LEN(n), s + tg->a);
	at = c->open[c->depth - 1];
	open = &c->p->code[at];
	if (open->len != n || memcmp(s + open->off, s + tg->a, n) != 0)
		return S_fail_at(c->err, NT_EPARSE, c->p, tg->at,
				 "section '%.*s' closed by '%.*s'",
				 QUOTE_LEN(open->len), s + open->off,
				 QUOTE_LEN(n), s + tg->a);
	c->depth--;
	c->p->code[at].arg = c->p->n;
	S_emit(c, OP_END, tg->at, standalone)->arg = at;
	return NT_OK;
}

static size_t S_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h & (TMPL_NSLOTS - 1);
}

/* Index in t->progs of the partial named s[0..n), added (not yet loaded)
 * when new. */
static nt_rc S_partial_index(struct cc *c, const struct tag *tg, size_t *idx)
{
	struct tmpl *t = c->t;
	const char *s = c->p->src + tg->a;
	size_t n = tg->b - tg->a;
	size_t h = S_hash(s, n);
	struct prog *p;

	if (t->slots == NULL)
		t->slots = nt_xcalloc(TMPL_NSLOTS, sizeof(*t->slots));
	for (; t->slots[h]; h = (h + 1) & (TMPL_NSLOTS - 1)) {
		const char *name = t->progs[t->slots[h]]->name;

		if (strlen(name) == n && memcmp(name, s, n) == 0) {
			*idx = t->slots[h];
			return NT_OK;
		}
	}
	if (t->n > TMPL_MAX_PARTIALS)
		return S_fail_at(c->err, NT_ETOOBIG, c->p, tg->at,
				 "more than %d partials", TMPL_MAX_PARTIALS);
	p = nt_xcalloc(1, sizeof(*p));
	p->name = nt_xstrndup(s, n);
	if (t->n == t->cap) {
		t->cap *= 2;
		t->progs = nt_xrealloc(t->progs, t->cap * sizeof(*t->progs));
	}
	t->progs[t->n] = p;
	t->slots[h] = t->n;
	*idx = t->n++;
	return NT_OK;
}

static nt_rc S_partial(struct cc *c, const struct tag *tg, bool standalone,
		       size_t ls)
{
	struct instr *in;
	size_t idx = 0;
	nt_rc rc;

	if (tg->a == tg->b)
		return S_fail_at(c->err, NT_EPARSE, c->p, tg->at,
				 "empty partial name");
	for (size_t i = tg->a; i < tg->b; i++)
		if ((unsigned char)c->p->src[i] <= ' ' || c->p->src[i] == 0x7f)
			return S_fail_at(c->err, NT_EPARSE, c->p, tg->at,
					 "bad partial name");
	rc = S_partial_index(c, tg, &idx);
	if (rc)
		return rc;
	in = S_emit(c, OP_PARTIAL, tg->at, standalone);
	in->arg = idx;
	in->standalone = standalone;
	if (standalone) {
		in->off = ls;
		in->len = tg->at - ls;
	}
	return NT_OK;
}

/* {{=<% %>=}}: two delimiters, no white space or '=' in them. */
static nt_rc S_delims(struct cc *c, const struct tag *tg)
{
	const char *s = c->p->src;
	size_t i = tg->a, mid, j;

	while (i < tg->b && !S_is_space(s[i]) && s[i] != '=')
		i++;
	mid = i;
	while (i < tg->b && S_is_space(s[i]))
		i++;
	j = i;
	while (j < tg->b && !S_is_space(s[j]) && s[j] != '=')
		j++;
	if (mid == tg->a || mid == i || i == tg->b || j != tg->b)
		return S_fail_at(c->err, NT_EPARSE, c->p, tg->at,
				 "bad set-delimiter tag");
	c->otag = s + tg->a;
	c->olen = mid - tg->a;
	c->ctag = s + i;
	c->clen = tg->b - i;
	return NT_OK;
}

static nt_rc S_tag(struct cc *c, const struct tag *tg, bool standalone,
		   size_t ls)
{
	nt_rc rc = NT_OK;

	switch (tg->type) {
	case 0:
	case '&':
	case '{':
		return S_var(c, tg);
	case '#':
	case '^':
		return S_open(c, tg, standalone);
	case '/':
		return S_close(c, tg, standalone);
	case '>':
		return S_partial(c, tg, standalone, ls);
	case '=':
		rc = S_delims(c, tg);
		break;
	default: /* '!' */
		break;
	}
	/* an inline comment still leaves its line to be indented */
	if (rc == NT_OK && !standalone && c->bol)
		S_emit(c, OP_TEXT, tg->at, false);
	return rc;
}

static nt_rc S_compile_prog(struct tmpl *t, struct prog *p, struct nt_err *err)
{
	struct cc c = {.t = t, .p = p, .err = err, .bol = true};

	c.otag = "{{";
	c.ctag = "}}";
	c.olen = c.clen = 2;
	for (;;) {
		const char *hit =
			memmem(p->src + c.pos, p->len - c.pos, c.otag, c.olen);
		struct tag tg;
		size_t ls = 0, next;
		bool standalone;
		nt_rc rc;

		if (hit == NULL)
			break;
		rc = S_read_tag(&c, (size_t)(hit - p->src), &tg);
		if (rc)
			return rc;
		standalone = S_standalone(&c, &tg, &ls, &next);
		S_text(&c, c.pos, standalone ? ls : tg.at);
		c.pos = standalone ? next : tg.end;
		rc = S_tag(&c, &tg, standalone, ls);
		if (rc)
			return rc;
	}
	S_text(&c, c.pos, p->len);
	if (c.depth) {
		const struct instr *in = &p->code[c.open[c.depth - 1]];

		return S_fail_at(err, NT_EPARSE, p, in->at,
				 "unclosed section '%.*s'", QUOTE_LEN(in->len),
				 p->src + in->off);
	}
	return NT_OK;
}

static nt_rc S_load(struct prog *p, tmpl_partial_fn loader, void *pctx,
		    struct nt_err *err)
{
	char *src = NULL;
	size_t len = 0;
	nt_rc rc = loader ? loader(pctx, p->name, &src, &len, err) : NT_ENOENT;

	if (rc == NT_ENOENT || (rc == NT_OK && src == NULL)) {
		p->src = nt_xstrdup("");
		return NT_OK; /* the spec: a missing partial is empty */
	}
	if (rc)
		return rc;
	p->src = src;
	p->len = len;
	return NT_OK;
}

static void S_prog_free(struct prog *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->src);
	free(p->code);
	nt_buf_release(&p->names);
	free(p);
}

void tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		S_prog_free(t->progs[i]);
	free(t->progs);
	free(t->slots);
	free(t);
}

nt_rc tmpl_compile(const char *name, const char *src, size_t len,
		   tmpl_partial_fn partials, void *pctx, struct tmpl **out,
		   struct nt_err *err)
{
	struct tmpl *t;
	struct prog *root;
	nt_rc rc = NT_OK;

	if (name == NULL || src == NULL || out == NULL)
		return nt_fail(err, NT_EINVAL, "tmpl_compile: NULL argument");
	t = nt_xcalloc(1, sizeof(*t));
	t->cap = 8;
	t->progs = nt_xcalloc(t->cap, sizeof(*t->progs));
	root = nt_xcalloc(1, sizeof(*root));
	root->name = nt_xstrdup(name);
	root->src = nt_xmalloc(len + 1);
	memcpy(root->src, src, len);
	root->len = len;
	t->progs[t->n++] = root;
	/* t->n grows as partials are named: a work list, not recursion */
	for (size_t i = 0; i < t->n && rc == NT_OK; i++) {
		if (i > 0)
			rc = S_load(t->progs[i], partials, pctx, err);
		if (rc == NT_OK)
			rc = S_compile_prog(t, t->progs[i], err);
	}
	if (rc) {
		tmpl_free(t);
		return rc;
	}
	free(t->slots); /* only the compiler looks names up */
	t->slots = NULL;
	*out = t;
	return NT_OK;
}

/*
 * Renderer.
 */

enum fkind {
	F_SECTION,  /* a section running once per element of 'list' */
	F_INVERTED, /* an inverted section running once */
	F_PARTIAL,  /* a partial, to return to prog at pc */
};

struct frame {
	enum fkind kind;
	size_t pc; /* F_SECTION: its opening op; F_PARTIAL: where to return */
	const struct prog *prog;  /* F_PARTIAL: the caller */
	json_object *list;	  /* F_SECTION over an array, else NULL */
	size_t i, n;		  /* F_SECTION: element, elements */
	size_t ibase, ilen, itop; /* F_PARTIAL: the caller's indent */
};

struct rs {
	const struct tmpl *t;
	const struct prog *prog;
	size_t pc;
	json_object **ctx; /* context stack, innermost last */
	size_t nctx, capctx;
	struct frame *fr;
	size_t nfr, capfr;
	/* The current indent is indent.buf[ibase, ibase + ilen); it always
	 * ends the buffer, so a standalone partial extends it in place. */
	struct nt_buf indent;
	size_t ibase, ilen;
	size_t depth; /* partials entered */
	size_t steps;
	tmpl_escape_fn esc;
	void *ectx;
	struct nt_buf *out;
	size_t start; /* out->len before the render */
	struct nt_err *err;
};

static void S_push_ctx(struct rs *r, json_object *o)
{
	if (r->nctx == r->capctx) {
		r->capctx = r->capctx ? r->capctx * 2 : 16;
		r->ctx = nt_xrealloc(r->ctx, r->capctx * sizeof(*r->ctx));
	}
	r->ctx[r->nctx++] = o;
}

static struct frame *S_push_frame(struct rs *r, enum fkind kind)
{
	struct frame *f;

	if (r->nfr == r->capfr) {
		r->capfr = r->capfr ? r->capfr * 2 : 16;
		r->fr = nt_xrealloc(r->fr, r->capfr * sizeof(*r->fr));
	}
	f = &r->fr[r->nfr++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	return f;
}

/* Resolves the name of 'in': the first part in the context stack, the
 * others in that value only.  False on a miss; a JSON null found is
 * true with *val NULL. */
static bool S_lookup(struct rs *r, const struct instr *in, json_object **val)
{
	/* names.buf is NULL in a template that names nothing but "." */
	const char *seg = nt_buf_str(&r->prog->names) + in->name;
	json_object *v = NULL;
	size_t k;

	if (in->nseg == 0) {
		*val = r->ctx[r->nctx - 1];
		return true;
	}
	for (k = r->nctx; k > 0; k--) {
		json_object *o = r->ctx[k - 1];

		r->steps++;
		if (json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, seg, &v))
			break;
	}
	if (k == 0)
		return false;
	for (size_t i = 1; i < in->nseg; i++) {
		seg += strlen(seg) + 1;
		if (!json_object_is_type(v, json_type_object) ||
		    !json_object_object_get_ex(v, seg, &v))
			return false;
	}
	*val = v;
	return true;
}

/* JavaScript's truth, as the spec's "!!data": false for null, false, 0,
 * "" and [] (an empty object is true). */
static bool S_truthy(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return false;
	case json_type_boolean:
		return json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) != 0 ||
		       json_object_get_uint64(v) != 0;
	case json_type_double:
		return json_object_get_double(v) != 0;
	case json_type_string:
		return json_object_get_string_len(v) != 0;
	case json_type_array:
		return json_object_array_length(v) != 0;
	default:
		return true;
	}
}

/* Shortest text that reads back as 'd'; integral values without
 * decimals.  The decimal point is '.' whatever LC_NUMERIC says. */
static void S_double(double d, char *buf, size_t size)
{
	if (d == 0) {
		snprintf(buf, size, "0");
		return;
	}
	if (d > -1e15 && d < 1e15 && d == (double)(int64_t)d) {
		snprintf(buf, size, "%" PRId64, (int64_t)d);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	for (char *s = buf; *s; s++)
		if (*s == ',')
			*s = '.';
}

static void S_value(struct rs *r, const struct instr *in)
{
	char num[64];
	const char *s = num;
	size_t n;
	json_object *v;

	if (!S_lookup(r, in, &v))
		return;
	switch (json_object_get_type(v)) {
	case json_type_string:
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		break;
	case json_type_int:
		if (json_object_get_int64(v) == INT64_MAX)
			snprintf(num, sizeof(num), "%" PRIu64,
				 json_object_get_uint64(v));
		else
			snprintf(num, sizeof(num), "%" PRId64,
				 json_object_get_int64(v));
		n = strlen(num);
		break;
	case json_type_double:
		S_double(json_object_get_double(v), num, sizeof(num));
		n = strlen(num);
		break;
	case json_type_boolean:
		s = "true";
		n = json_object_get_boolean(v) ? 4 : 0;
		break;
	default:
		return;
	}
	if (n == 0)
		return;
	if (in->op == OP_VAR && r->esc)
		r->esc(r->ectx, s, n, r->out);
	else
		nt_buf_add(r->out, s, n);
}

static void S_section(struct rs *r, const struct instr *in)
{
	json_object *v = NULL;
	bool truthy = S_lookup(r, in, &v) && S_truthy(v);
	struct frame *f;

	if (truthy == (in->op == OP_INVERTED)) {
		r->pc = in->arg + 1; /* past the OP_END */
		return;
	}
	f = S_push_frame(r, in->op == OP_SECTION ? F_SECTION : F_INVERTED);
	f->pc = r->pc;
	if (in->op == OP_SECTION && json_object_is_type(v, json_type_array)) {
		f->list = v;
		f->n = json_object_array_length(v);
		S_push_ctx(r, json_object_array_get_idx(v, 0));
	} else if (in->op == OP_SECTION) {
		f->n = 1;
		S_push_ctx(r, v);
	}
	r->pc++;
}

static void S_end(struct rs *r)
{
	struct frame *f = &r->fr[r->nfr - 1];

	if (f->kind == F_SECTION && ++f->i < f->n) {
		r->ctx[r->nctx - 1] = json_object_array_get_idx(f->list, f->i);
		r->pc = f->pc + 1;
		return;
	}
	if (f->kind == F_SECTION)
		r->nctx--;
	r->nfr--;
	r->pc++;
}

static nt_rc S_call(struct rs *r, const struct instr *in)
{
	const struct prog *callee = r->t->progs[in->arg];
	struct frame *f;

	if (callee->n == 0) {
		r->pc++;
		return NT_OK;
	}
	if (r->depth == TMPL_MAX_DEPTH)
		return S_fail_at(r->err, NT_EPARSE, r->prog, in->at,
				 "partials nested deeper than %d",
				 TMPL_MAX_DEPTH);
	if (r->indent.len + in->len > TMPL_MAX_OUTPUT)
		return S_fail_at(r->err, NT_ETOOBIG, r->prog, in->at,
				 "indent over %d bytes", TMPL_MAX_OUTPUT);
	f = S_push_frame(r, F_PARTIAL);
	f->prog = r->prog;
	f->pc = r->pc + 1;
	f->ibase = r->ibase;
	f->ilen = r->ilen;
	f->itop = r->indent.len;
	if (in->standalone) {
		nt_buf_add(&r->indent, r->prog->src + in->off, in->len);
		r->ilen += in->len;
	} else {
		r->ibase = r->indent.len; /* an inline partial: no indent */
		r->ilen = 0;
	}
	r->depth++;
	r->prog = callee;
	r->pc = 0;
	return NT_OK;
}

static void S_return(struct rs *r)
{
	struct frame *f = &r->fr[--r->nfr];

	r->prog = f->prog;
	r->pc = f->pc;
	r->ibase = f->ibase;
	r->ilen = f->ilen;
	r->indent.len = f->itop;
	if (r->indent.buf)
		r->indent.buf[r->indent.len] = '\0';
	r->depth--;
}

static nt_rc S_step(struct rs *r)
{
	const struct instr *in = &r->prog->code[r->pc];

	if (in->bol && r->ilen)
		nt_buf_add(r->out, r->indent.buf + r->ibase, r->ilen);
	switch (in->op) {
	case OP_TEXT:
		nt_buf_add(r->out, r->prog->src + in->off, in->len);
		break;
	case OP_VAR:
	case OP_RAW:
		S_value(r, in);
		break;
	case OP_SECTION:
	case OP_INVERTED:
		S_section(r, in);
		return NT_OK;
	case OP_END:
		S_end(r);
		return NT_OK;
	case OP_PARTIAL:
		return S_call(r, in);
	}
	r->pc++;
	return NT_OK;
}

static nt_rc S_run(struct rs *r)
{
	nt_rc rc;

	for (;;) {
		if (r->pc == r->prog->n) {
			if (r->nfr == 0)
				return NT_OK;
			S_return(r); /* sections are balanced: a partial */
			continue;
		}
		if (++r->steps > TMPL_MAX_STEPS)
			return S_fail_at(r->err, NT_ETOOBIG, r->prog,
					 r->prog->code[r->pc].at,
					 "render over %d steps",
					 TMPL_MAX_STEPS);
		if (r->out->len - r->start > TMPL_MAX_OUTPUT)
			return S_fail_at(r->err, NT_ETOOBIG, r->prog,
					 r->prog->code[r->pc].at,
					 "output over %d bytes",
					 TMPL_MAX_OUTPUT);
		rc = S_step(r);
		if (rc)
			return rc;
	}
}

nt_rc tmpl_render(const struct tmpl *t, json_object *data, tmpl_escape_fn esc,
		  void *ectx, struct nt_buf *out, struct nt_err *err)
{
	struct rs r = {.t = t, .esc = esc, .ectx = ectx, .out = out};
	nt_rc rc;

	if (t == NULL || out == NULL)
		return nt_fail(err, NT_EINVAL, "tmpl_render: NULL argument");
	r.prog = t->progs[0];
	r.start = out->len;
	r.err = err;
	S_push_ctx(&r, data);
	rc = S_run(&r);
	if (rc && out->buf) {
		out->len = r.start;
		out->buf[out->len] = '\0';
	}
	free(r.ctx);
	free(r.fr);
	nt_buf_release(&r.indent);
	return rc;
}

void tmpl_escape_html(void *ctx, const char *s, size_t n, struct nt_buf *out)
{
	size_t run = 0;

	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		const char *ent;

		switch (s[i]) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		default:
			continue;
		}
		nt_buf_add(out, s + run, i - run);
		nt_buf_adds(out, ent);
		run = i + 1;
	}
	nt_buf_add(out, s + run, n - run);
}
