#include "notify/text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "notify/buf.h"
#include "notify/result.h"

/* Decodes one well-formed sequence at s[0..n); returns its length, or 0
 * when the bytes there are not well-formed UTF-8. */
static size_t S_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, c &= 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, c &= 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	/* reject overlong forms, surrogates and code points past U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		return 0;
	*cp = c;
	return len;
}

bool text_utf8_valid(const char *s, size_t n, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		size_t len;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		len = S_decode(u + i, n - i, &cp);
		if (len == 0) {
			if (bad)
				*bad = i;
			return false;
		}
		i += len;
	}
	return true;
}

size_t text_utf8_put(uint32_t cp, char out[4])
{
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		cp = 0xFFFD;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static bool S_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

char *text_collapse_ws(const char *s, size_t n)
{
	char *out = nt_xmalloc(n + 1);
	size_t o = 0;
	bool pending = false;

	for (size_t i = 0; i < n; i++) {
		if (S_is_space(s[i])) {
			pending = o > 0;
			continue;
		}
		if (pending)
			out[o++] = ' ';
		pending = false;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/* ASCII base letters of U+00C0..U+00FF, lower case; 0 keeps the letter. */
static const char S_latin1_base[64] = {
	'a', 'a', 'a', 'a', 'a', 'a', 0,   'c', 'e', 'e', 'e', 'e', 'i',
	'i', 'i', 'i', 'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u',
	'u', 'u', 'u', 'y', 0,	 0,   'a', 'a', 'a', 'a', 'a', 'a', 0,
	'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i', 'd', 'n', 'o', 'o',
	'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 0,   'y',
};

/* What S_fold_cp() returns for a code point that folds to nothing. */
#define FOLD_DROP '\x01'

/* One folded code point: its ASCII replacement, FOLD_DROP, or 0 to keep
 * it. */
static char S_fold_cp(uint32_t cp)
{
	/* combining accents, as decomposed (NFD) text carries them */
	if (cp >= 0x300 && cp <= 0x36F)
		return FOLD_DROP;
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? (char)(cp - 'A' + 'a')
						: (char)cp;
	if (cp >= 0xC0 && cp <= 0xFF)
		return S_latin1_base[cp - 0xC0];
	switch (cp) {
	case 0xA0:   /* no-break space */
	case 0x202F: /* narrow no-break space, French typography */
	case 0x2009: /* thin space */
		return ' ';
	case 0x2019: /* right single quotation mark */
	case 0x2018:
	case 0x02BC:
		return '\'';
	case 0x0152: /* OE ligature: folds to its first letter, enough */
	case 0x0153:
		return 'o';
	}
	return 0;
}

char *text_fold(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	struct nt_buf b = NT_BUF_INIT;
	char *out;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = S_decode(u + i, n - i, &cp);
		char f;

		if (len == 0) { /* not reached on valid input; be safe */
			i++;
			continue;
		}
		f = S_fold_cp(cp);
		if (f == 0)
			nt_buf_add(&b, s + i, len);
		else if (f != FOLD_DROP)
			nt_buf_addc(&b, f);
		i += len;
	}
	out = text_collapse_ws(nt_buf_str(&b), b.len);
	nt_buf_release(&b);
	return out;
}

struct S_entity {
	const char *name;
	uint32_t cp;
};

/* The named references a blog title realistically carries. */
static const struct S_entity S_entities[] = {
	{"amp", '&'},	   {"lt", '<'},	      {"gt", '>'},
	{"quot", '"'},	   {"apos", '\''},    {"nbsp", 0xA0},
	{"laquo", 0xAB},   {"raquo", 0xBB},   {"hellip", 0x2026},
	{"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018},
	{"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
	{"copy", 0xA9},	   {"reg", 0xAE},     {"trade", 0x2122},
	{"euro", 0x20AC},  {"eacute", 0xE9},  {"egrave", 0xE8},
	{"ecirc", 0xEA},   {"agrave", 0xE0},  {"ccedil", 0xE7},
	{"Eacute", 0xC9},  {"lbrack", '['},   {"rbrack", ']'},
	{"num", '#'},	   {"lpar", '('},     {"rpar", ')'},
};

/* Decodes the reference at s (just after '&'); returns the bytes consumed
 * including the ';', or 0 when it is not a reference. */
static size_t S_entity(const char *s, uint32_t *cp)
{
	size_t i = 0;
	uint32_t v = 0;

	if (s[0] == '#') {
		bool hex = s[1] == 'x' || s[1] == 'X';
		size_t digits = 0;

		i = hex ? 2 : 1;
		for (;; i++, digits++) {
			char c = s[i];
			uint32_t d;

			if (c >= '0' && c <= '9')
				d = (uint32_t)(c - '0');
			else if (hex && c >= 'a' && c <= 'f')
				d = (uint32_t)(c - 'a' + 10);
			else if (hex && c >= 'A' && c <= 'F')
				d = (uint32_t)(c - 'A' + 10);
			else
				break;
			if (digits >= 8) /* too long to be a code point */
				return 0;
			v = v * (hex ? 16 : 10) + d;
		}
		if (digits == 0 || s[i] != ';')
			return 0;
		*cp = v;
		return i + 1;
	}
	for (size_t k = 0; k < sizeof(S_entities) / sizeof(*S_entities); k++) {
		size_t len = strlen(S_entities[k].name);

		if (strncmp(s, S_entities[k].name, len) == 0 && s[len] == ';') {
			*cp = S_entities[k].cp;
			return len + 1;
		}
	}
	return 0;
}

char *text_decode_entities(const char *s)
{
	struct nt_buf b = NT_BUF_INIT;

	for (size_t i = 0; s[i];) {
		uint32_t cp;
		size_t len;
		char enc[4];

		if (s[i] != '&') {
			nt_buf_addc(&b, s[i++]);
			continue;
		}
		len = S_entity(s + i + 1, &cp);
		if (len == 0) {
			nt_buf_addc(&b, s[i++]);
			continue;
		}
		nt_buf_add(&b, enc, text_utf8_put(cp, enc));
		i += 1 + len;
	}
	return nt_buf_detach(&b);
}

size_t text_utf8_cut(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n <= max)
		return n;
	i = max;
	/* step back over continuation bytes to the start of a sequence */
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

char *text_md_escape(const char *s)
{
	struct nt_buf b = NT_BUF_INIT;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' || c == '\r' || c == '\t') {
			nt_buf_addc(&b, ' ');
			continue;
		}
		if (c < 0x80 && ispunct(c))
			nt_buf_addc(&b, '\\');
		nt_buf_addc(&b, (char)c);
	}
	return nt_buf_detach(&b);
}

char *text_ellipsize(const char *s, size_t max)
{
	size_t n = strlen(s);
	size_t cut = text_utf8_cut(s, n, max);
	char *out;

	if (cut == n)
		return nt_xstrdup(s);
	out = nt_xmalloc(cut + 4);
	memcpy(out, s, cut);
	memcpy(out + cut, "\xE2\x80\xA6", 4); /* U+2026 and the NUL */
	return out;
}

/* One code point of text_printable(): the ASCII it becomes, or 0 to keep
 * it.  C1 controls are U+0080..U+009F, whose encodings start with 0xC2. */
static char S_printable_cp(uint32_t cp)
{
	if (cp == '\t' || cp == '\n' || cp == '\r')
		return ' ';
	if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
		return '?';
	return 0;
}

/* Copies 'src' into dst, at most 'room' bytes and a NUL, whole
 * characters only: a bad byte becomes '?', and with 'printable' controls
 * are replaced as text_printable() says.  The copy is never longer than
 * 'src'. */
static void S_clean(char *dst, size_t room, const char *src, bool printable)
{
	const unsigned char *u = (const unsigned char *)src;
	size_t n = strlen(src), i = 0, o = 0;

	while (i < n) {
		uint32_t cp = 0;
		size_t len = S_decode(u + i, n - i, &cp);
		char c = len == 0 ? '?' : printable ? S_printable_cp(cp) : 0;
		size_t out = c ? 1 : len;

		if (o + out > room)
			break;
		if (c)
			dst[o] = c;
		else
			memcpy(dst + o, src + i, len);
		o += out;
		i += len ? len : 1;
	}
	dst[o] = '\0';
}

char *text_printable(const char *s)
{
	size_t n;
	char *out;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	out = nt_xmalloc(n + 1);
	S_clean(out, n, s, true);
	return out;
}

void text_printable_to(char *dst, size_t size, const char *src)
{
	if (size == 0)
		return;
	S_clean(dst, size - 1, src ? src : "", true);
}

char *text_utf8_scrub(const char *s)
{
	size_t n;
	char *out;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	out = nt_xmalloc(n + 1);
	S_clean(out, n, s, false);
	return out;
}
