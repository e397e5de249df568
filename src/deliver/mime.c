#include "notify/mime.h"

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify/buf.h"
#include "notify/text.h"

/* We write the header block ourselves and let GMime parse addresses,
 * format the Date and render the body.  GMime 3.2.13's own header encoder
 * emits base64 encoded-words of ~117 bytes for long non-ASCII runs (RFC
 * 2047 caps them at 75), picks iso-8859-1 for Latin-1-only display names,
 * and leaves literal "=?...?=" text raw, which readers then decode. */

#define FOLD_MAX 76		  /* RFC 2047 2: a line holding encoded-words */
#define EW_MAX 75		  /* RFC 2047 2: one encoded-word */
#define EW_OVERHEAD 12		  /* "=?UTF-8?Q?" + "?=" */
#define EW_MIN (EW_OVERHEAD + 12) /* room for one 4-byte code point in Q */
#define LOCAL_MAX 64		  /* RFC 5321 4.5.3.1.1 */
#define BOUNDARY_HASH 32	  /* hex digits of SHA-256 in the boundary */

static const char S_hex[] = "0123456789ABCDEF";
static const char S_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void S_init(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		g_mime_init();
		g_once_init_leave(&done, 1);
	}
}

/* ---- validation ---------------------------------------------------- */

static bool S_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 5322 atext. */
static bool S_atext(unsigned char c)
{
	return S_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 5322 dot-atom-text: atext runs joined by single dots. */
static bool S_dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !S_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Offset of the first byte that is not printable ASCII (0x21..0x7E) or
 * is in 'also', or n when there is none. */
static size_t S_bad_byte(const char *s, size_t n, const char *also)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7F || (also && strchr(also, c)))
			return i;
	}
	return n;
}

/* Host name: LDH labels joined by dots. */
static bool S_domain(const char *s, size_t n)
{
	size_t lab = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-' ||
			    s[i - lab] == '-')
				return false;
			lab = 0;
			continue;
		}
		if (!S_alnum((unsigned char)s[i]) && s[i] != '-')
			return false;
		lab++;
	}
	return true;
}

static bool S_addr_spec(const char *a)
{
	size_t n = strlen(a);
	const char *at = strchr(a, '@');

	if (n > MIME_ADDR_MAX || at == NULL || strchr(at + 1, '@'))
		return false;
	if ((size_t)(at - a) > LOCAL_MAX || !S_dot_atom(a, (size_t)(at - a)))
		return false;
	return S_domain(at + 1, n - (size_t)(at - a) - 1);
}

/* True when 'in' is 'addr' alone or ends with "<addr>": GMime quietly
 * repairs some input ("x@y@z" parses as x@y), and we would rather refuse
 * it than mail someone else. */
static bool S_input_is(const char *in, const char *addr)
{
	size_t n = strlen(in), an = strlen(addr);

	while (n && in[n - 1] == ' ')
		n--;
	while (n && in[0] == ' ')
		in++, n--;
	if (n == an && memcmp(in, addr, an) == 0)
		return true;
	return n >= an + 2 && in[n - 1] == '>' && in[n - an - 2] == '<' &&
	       memcmp(in + n - an - 1, addr, an) == 0;
}

static nt_rc S_check_id(const char *id, struct nt_err *err)
{
	size_t n = id ? strlen(id) : 0, bad;
	const char *at;

	if (n == 0)
		return nt_fail(err, NT_EINVAL, "Message-ID: missing");
	if (n > MIME_ID_MAX)
		return nt_fail(err, NT_EINVAL, "Message-ID: %zu bytes, over %d",
			       n, MIME_ID_MAX);
	bad = S_bad_byte(id, n, "<>");
	if (bad < n)
		return nt_fail(err, NT_EINVAL,
			       "Message-ID: space, control, non-ASCII or <> "
			       "at byte %zu",
			       bad);
	at = strchr(id, '@');
	if (at == NULL || strchr(at + 1, '@'))
		return nt_fail(err, NT_EINVAL,
			       "Message-ID \"%s\": needs exactly one '@'", id);
	if (!S_dot_atom(id, (size_t)(at - id)) ||
	    !S_dot_atom(at + 1, strlen(at + 1)))
		return nt_fail(err, NT_EINVAL,
			       "Message-ID \"%s\": not dot-atom@dot-atom", id);
	return NT_OK;
}

static nt_rc S_check_list_id(const char *id, struct nt_err *err)
{
	size_t n = strlen(id), bad = S_bad_byte(id, n, NULL);

	if (n == 0 || n > MIME_LIST_ID_MAX)
		return nt_fail(err, NT_EINVAL,
			       "List-Id: %zu bytes, not 1 to %d", n,
			       MIME_LIST_ID_MAX);
	if (bad < n)
		return nt_fail(err, NT_EINVAL,
			       "List-Id: space, control or non-ASCII at byte "
			       "%zu",
			       bad);
	if (!S_dot_atom(id, n) || strchr(id, '.') == NULL)
		return nt_fail(err, NT_EINVAL,
			       "List-Id \"%s\": not a dotted name like "
			       "veille.example.org",
			       id);
	return NT_OK;
}

/* Sets *https; the URL goes between <> in a header, so it must not hold
 * anything that could end the bracket, the header or the list. */
static nt_rc S_check_unsub(const char *u, bool *https, struct nt_err *err)
{
	size_t n = strlen(u), bad = S_bad_byte(u, n, "<>,");

	if (n > MIME_URL_MAX)
		return nt_fail(err, NT_EINVAL,
			       "List-Unsubscribe: %zu bytes, over %d", n,
			       MIME_URL_MAX);
	if (bad < n)
		return nt_fail(err, NT_EINVAL,
			       "List-Unsubscribe: space, control, non-ASCII "
			       "or one of <>, at byte %zu",
			       bad);
	if (n > 8 && strncasecmp(u, "https://", 8) == 0)
		*https = true;
	else if (n > 7 && strncasecmp(u, "mailto:", 7) == 0)
		*https = false;
	else
		return nt_fail(err, NT_EINVAL,
			       "List-Unsubscribe \"%.80s\": not an https:// "
			       "or mailto: URL",
			       u);
	return NT_OK;
}

static nt_rc S_check_utf8(const char *what, const char *s, struct nt_err *err)
{
	size_t bad;

	if (s && !text_utf8_valid(s, strlen(s), &bad))
		return nt_fail(err, NT_EINVAL, "%s: invalid UTF-8 at byte %zu",
			       what, bad);
	return NT_OK;
}

static nt_rc S_check_fields(const struct mime_msg *m, bool *https,
			    struct nt_err *err)
{
	nt_rc rc;

	if (m->subject == NULL || m->text == NULL)
		return nt_fail(err, NT_EINVAL, "%s: missing",
			       m->subject ? "text body" : "Subject");
	rc = S_check_id(m->message_id, err);
	if (!rc && m->list_id)
		rc = S_check_list_id(m->list_id, err);
	if (!rc && m->list_unsubscribe)
		rc = S_check_unsub(m->list_unsubscribe, https, err);
	if (!rc)
		rc = S_check_utf8("Subject", m->subject, err);
	if (!rc)
		rc = S_check_utf8("List-Id label", m->list_label, err);
	if (!rc)
		rc = S_check_utf8("text body", m->text, err);
	if (!rc)
		rc = S_check_utf8("HTML body", m->html, err);
	return rc;
}

/* ---- untrusted text ------------------------------------------------ */

/* Copy of valid UTF-8 's' made safe for a header: line breaks and tabs
 * become spaces, other C0/C1 controls and DEL go, spaces are collapsed
 * and trimmed. */
static char *S_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = nt_xmalloc(strlen(s) + 1);
	size_t o = 0;
	bool space = false;

	while (*p) {
		size_t k = 1;
		bool sp = false, drop = false;

		if (*p < 0x20 || *p == 0x7F) {
			sp = *p == '\t' || (*p >= '\n' && *p <= '\r');
			drop = !sp;
		} else if (*p == ' ') {
			sp = true;
		} else if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			k = 2; /* C1; NEL (U+0085) breaks lines */
			sp = p[1] == 0x85;
			drop = !sp;
		} else if (p[0] == 0xE2 && p[1] == 0x80 &&
			   (p[2] == 0xA8 || p[2] == 0xA9)) {
			k = 3; /* U+2028, U+2029 */
			sp = true;
		}
		if (sp) {
			space = o > 0;
		} else if (!drop) {
			if (space)
				out[o++] = ' ';
			space = false;
			memcpy(out + o, p, k);
			o += k;
		}
		p += k;
	}
	out[o] = '\0';
	return out;
}

/* ---- header writer ------------------------------------------------- */

struct S_hdr {
	struct nt_buf *b;
	size_t col; /* bytes on the current line */
	bool bare;  /* nothing yet after "Name:" */
};

static void S_hdr_begin(struct S_hdr *h, struct nt_buf *b, const char *name)
{
	h->b = b;
	nt_buf_adds(b, name);
	nt_buf_addc(b, ':');
	h->col = strlen(name) + 1;
	h->bare = true;
}

/* Appends " tok", folding first when it would end past FOLD_MAX.  The
 * first token stays on the "Name:" line whatever its length (our header
 * names are short, and the caps keep any token under 998). */
static void S_hdr_token(struct S_hdr *h, const char *tok, size_t n)
{
	if (!h->bare && h->col + 1 + n > FOLD_MAX) {
		nt_buf_add(h->b, "\r\n", 2);
		h->col = 0;
	}
	nt_buf_addc(h->b, ' ');
	nt_buf_add(h->b, tok, n);
	h->col += 1 + n;
	h->bare = false;
}

static void S_hdr_end(struct S_hdr *h)
{
	nt_buf_add(h->b, "\r\n", 2);
}

static void S_hdr_line(struct nt_buf *b, const char *name, const char *val)
{
	nt_buf_addf(b, "%s: %s\r\n", name, val);
}

/* Bytes left on the current line after a separating space. */
static size_t S_hdr_left(const struct S_hdr *h)
{
	return h->col + 1 < FOLD_MAX ? FOLD_MAX - h->col - 1 : 0;
}

/* Longest token S_hdr_token() can place without passing FOLD_MAX: the
 * rest of this line, or a whole continuation line (not after "Name:"). */
static size_t S_hdr_fit(const struct S_hdr *h)
{
	return h->bare ? S_hdr_left(h) : FOLD_MAX - 1;
}

/* Longest encoded-word for the next token: what is left of this line, or
 * a continuation line when that is too little.  Never under EW_MIN, so
 * one code point always fits. */
static size_t S_hdr_room(const struct S_hdr *h)
{
	size_t left = S_hdr_left(h);

	return left < EW_MIN ? EW_MAX : left < EW_MAX ? left : EW_MAX;
}

/* ---- RFC 2047 ------------------------------------------------------ */

/* Bytes in the UTF-8 sequence led by 'c' (input is valid UTF-8). */
static size_t S_seq_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Q may leave 'c' raw: in a phrase only RFC 2047 5(3)'s set; in
 * unstructured text anything printable but '=', '?' and '_'. */
static bool S_q_raw(unsigned char c, bool phrase)
{
	if (phrase)
		return S_alnum(c) || (c && strchr("!*+-/", c));
	return c > 0x20 && c < 0x7F && c != '=' && c != '?' && c != '_';
}

static size_t S_q_cost(const char *s, size_t n, bool phrase)
{
	size_t cost = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		cost += c == ' ' || S_q_raw(c, phrase) ? 1 : 3;
	}
	return cost;
}

static size_t S_b64_cost(size_t n)
{
	return (n + 2) / 3 * 4;
}

static size_t S_q_put(char *w, const char *s, size_t n, bool phrase)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ') {
			w[o++] = '_';
		} else if (S_q_raw(c, phrase)) {
			w[o++] = (char)c;
		} else {
			w[o++] = '=';
			w[o++] = S_hex[c >> 4];
			w[o++] = S_hex[c & 15];
		}
	}
	return o;
}

static size_t S_b64_put(char *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		w[o++] = S_b64[v >> 18 & 63];
		w[o++] = S_b64[v >> 12 & 63];
		w[o++] = i + 1 < n ? S_b64[v >> 6 & 63] : '=';
		w[o++] = i + 2 < n ? S_b64[v & 63] : '=';
	}
	return o;
}

/* Writes s[0..n) as encoded-words, each as long as its line allows, never
 * splitting a UTF-8 sequence (RFC 2047 5).  Decoders drop the folding
 * white space between adjacent encoded-words, so the spaces of the text
 * travel inside them. */
static void S_ew(struct S_hdr *h, const char *s, size_t n, bool phrase)
{
	bool b64 = S_b64_cost(n) < S_q_cost(s, n, phrase);
	char w[EW_MAX + 1];
	size_t i = 0;

	while (i < n) {
		size_t room = S_hdr_room(h) - EW_OVERHEAD, j = i, q = 0, o;

		while (j < n) {
			size_t k = S_seq_len((unsigned char)s[j]);
			size_t c = b64 ? S_b64_cost(j + k - i)
				       : q + S_q_cost(s + j, k, phrase);

			if (c > room)
				break;
			q = c;
			j += k;
		}
		memcpy(w, b64 ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
		o = 10 + (b64 ? S_b64_put(w + 10, s + i, j - i)
			      : S_q_put(w + 10, s + i, j - i, phrase));
		memcpy(w + o, "?=", 2);
		S_hdr_token(h, w, o + 2);
		i = j;
	}
}

/* True when 's' can go out as it is: its bytes pass 'ok' or are spaces,
 * it holds no "=?" a reader could decode, and each word fits a line. */
static bool S_plain(const struct S_hdr *h, const char *s,
		    bool (*ok)(unsigned char))
{
	size_t room = S_hdr_fit(h), word = 0;

	if (strstr(s, "=?"))
		return false;
	for (const char *p = s;; p++) {
		if (*p == ' ' || *p == '\0') {
			if (word > room)
				return false;
			room = FOLD_MAX - 1;
			word = 0;
			if (*p == '\0')
				return true;
			continue;
		}
		if (!ok((unsigned char)*p))
			return false;
		word++;
	}
}

/* Tokens of 's' split at its (single) spaces. */
static void S_words(struct S_hdr *h, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, " ");

		S_hdr_token(h, s, n);
		s += n;
		s += *s == ' ';
	}
}

static bool S_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7F;
}

static bool S_qs_char(unsigned char c)
{
	return c >= 0x20 && c < 0x7F;
}

/* Subject: cleaned text, raw when plain, else encoded-words. */
static void S_text(struct S_hdr *h, const char *s)
{
	if (S_plain(h, s, S_vchar))
		S_words(h, s);
	else
		S_ew(h, s, strlen(s), false);
}

/* Display name or List-Id label, already cleaned: atoms when it is only
 * atoms, a quoted-string when it is printable ASCII that fits the line,
 * else encoded-words. */
static void S_phrase(struct S_hdr *h, const char *s)
{
	size_t n = strlen(s), room = S_hdr_fit(h);
	struct nt_buf q = NT_BUF_INIT;
	const char *p;

	if (n == 0)
		return;
	if (S_plain(h, s, S_atext)) {
		S_words(h, s);
		return;
	}
	for (p = s; *p && S_qs_char((unsigned char)*p); p++)
		;
	if (*p == '\0' && !strstr(s, "=?") && n + 2 <= room) {
		nt_buf_addc(&q, '"');
		for (p = s; *p; p++) {
			if (*p == '"' || *p == '\\')
				nt_buf_addc(&q, '\\');
			nt_buf_addc(&q, *p);
		}
		nt_buf_addc(&q, '"');
		if (q.len <= room) {
			S_hdr_token(h, q.buf, q.len);
			nt_buf_release(&q);
			return;
		}
		nt_buf_release(&q);
	}
	S_ew(h, s, n, true);
}

/* ---- addresses ----------------------------------------------------- */

struct S_mbox {
	char *name; /* cleaned display name, "" for none */
	char *addr;
};

static void S_mbox_free(struct S_mbox *mb)
{
	free(mb->name);
	free(mb->addr);
	mb->name = mb->addr = NULL;
}

/* Parses 'in' as exactly one mailbox.  'what' names the field. */
static nt_rc S_mailbox(GMimeParserOptions *po, const char *what, const char *in,
		       struct S_mbox *mb, struct nt_err *err)
{
	InternetAddressList *l = NULL;
	InternetAddress *ia;
	const char *name, *addr;
	size_t n = in ? strlen(in) : 0;
	nt_rc rc = NT_EINVAL;

	if (n == 0)
		return nt_fail(err, NT_EINVAL, "%s: no address", what);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)in[i] < 0x20 || in[i] == 0x7F)
			return nt_fail(err, NT_EINVAL,
				       "%s: control character (CR, LF...) "
				       "at byte %zu",
				       what, i);
	if (S_check_utf8(what, in, err))
		return NT_EINVAL;
	l = internet_address_list_parse(po, in);
	if (l == NULL || internet_address_list_length(l) != 1) {
		nt_fail(err, rc, "%s \"%s\": not one mailbox", what, in);
		goto out;
	}
	ia = internet_address_list_get_address(l, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		nt_fail(err, rc, "%s \"%s\": a group, not a mailbox", what, in);
		goto out;
	}
	addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
	if (addr == NULL || !S_addr_spec(addr) || !S_input_is(in, addr)) {
		nt_fail(err, rc,
			"%s \"%s\": not a plain ASCII local@domain address",
			what, in);
		goto out;
	}
	/* the name may come from encoded-words in 'in': check it again */
	name = internet_address_get_name(ia);
	if (name && !text_utf8_valid(name, strlen(name), NULL)) {
		nt_fail(err, rc, "%s: display name is not UTF-8", what);
		goto out;
	}
	mb->name = S_clean(name ? name : "");
	mb->addr = nt_xstrdup(addr);
	rc = NT_OK;
out:
	if (l)
		g_object_unref(l);
	return rc;
}

/* Fills *from and the n-entry array *to (owned, free both with
 * S_mbox_free; *to with free(3)).  On failure, frees what it made. */
static nt_rc S_mailboxes(const struct mime_msg *m, bool want_to,
			 struct S_mbox *from, struct S_mbox **to, size_t *nto,
			 struct nt_err *err)
{
	GMimeParserOptions *po = g_mime_parser_options_new();
	size_t n = 0;
	nt_rc rc;

	g_mime_parser_options_set_address_compliance_mode(
		po, GMIME_RFC_COMPLIANCE_STRICT);
	while (want_to && m->to && m->to[n])
		n++;
	*to = nt_xcalloc(n ? n : 1, sizeof(**to));
	*nto = n;
	rc = S_mailbox(po, "From", m->from, from, err);
	if (!rc && n == 0 && want_to)
		rc = nt_fail(err, NT_EINVAL, "To: no recipient");
	for (size_t i = 0; !rc && i < n; i++)
		rc = S_mailbox(po, "To", m->to[i], &(*to)[i], err);
	g_mime_parser_options_free(po);
	if (rc) {
		S_mbox_free(from);
		for (size_t i = 0; i < n; i++)
			S_mbox_free(&(*to)[i]);
		free(*to);
		*to = NULL;
	}
	return rc;
}

static void S_mailbox_out(struct S_hdr *h, const struct S_mbox *mb, bool comma)
{
	bool named = mb->name[0] != '\0';
	char tok[MIME_ADDR_MAX + 4];
	int n;

	S_phrase(h, mb->name);
	n = snprintf(tok, sizeof(tok), "%s%s%s%s", named ? "<" : "", mb->addr,
		     named ? ">" : "", comma ? "," : "");
	S_hdr_token(h, tok, (size_t)n);
}

/* ---- message ------------------------------------------------------- */

static void S_to_line(struct nt_buf *b, const struct S_mbox *to, size_t nto)
{
	struct S_hdr h;

	S_hdr_begin(&h, b, "To");
	for (size_t i = 0; i < nto; i++)
		S_mailbox_out(&h, &to[i], i + 1 < nto);
	S_hdr_end(&h);
}

/* With nto 0 the To: line is left out; *to_at is where it goes. */
static void S_headers(struct nt_buf *b, const struct mime_msg *m,
		      const char *date, const struct S_mbox *from,
		      const struct S_mbox *to, size_t nto, bool https,
		      size_t *to_at)
{
	struct S_hdr h;
	char *s;

	S_hdr_begin(&h, b, "From");
	S_mailbox_out(&h, from, false);
	S_hdr_end(&h);
	*to_at = b->len;
	if (nto > 0)
		S_to_line(b, to, nto);
	S_hdr_begin(&h, b, "Subject");
	s = S_clean(m->subject);
	S_text(&h, s);
	free(s);
	S_hdr_end(&h);
	S_hdr_line(b, "Date", date);
	nt_buf_addf(b, "Message-ID: <%s>\r\n", m->message_id);
	S_hdr_line(b, "MIME-Version", "1.0");
	if (m->list_id) {
		S_hdr_begin(&h, b, "List-Id");
		s = S_clean(m->list_label ? m->list_label : "");
		S_phrase(&h, s);
		free(s);
		s = nt_xasprintf("<%s>", m->list_id);
		S_hdr_token(&h, s, strlen(s));
		free(s);
		S_hdr_end(&h);
	}
	if (m->list_unsubscribe)
		nt_buf_addf(b, "List-Unsubscribe: <%s>\r\n",
			    m->list_unsubscribe);
	if (m->list_unsubscribe && https)
		S_hdr_line(b, "List-Unsubscribe-Post",
			   "List-Unsubscribe=One-Click");
	S_hdr_line(b, "Auto-Submitted", "auto-generated");
	S_hdr_line(b, "Precedence", "bulk");
}

/* RFC 5322 date of 't' in UTC, g_free()d by the caller; NULL when GLib
 * cannot represent 't' (outside years 1..9999). */
static char *S_date(time_t t)
{
	GDateTime *dt = g_date_time_new_from_unix_utc((gint64)t);
	char *s;

	if (dt == NULL)
		return NULL;
	s = g_mime_utils_header_format_date(dt);
	g_date_time_unref(dt);
	return s;
}

/* Copy of 's' with CRLF and lone CR made LF, ending with LF unless empty:
 * GMime's DOS newline filter then writes every line break as CRLF. */
static char *S_lf(const char *s, size_t *len)
{
	size_t n = strlen(s), o = 0;
	char *out = nt_xmalloc(n + 2);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n')
			continue;
		out[o++] = s[i] == '\r' ? '\n' : s[i];
	}
	if (o && out[o - 1] != '\n')
		out[o++] = '\n';
	out[o] = '\0';
	*len = o;
	return out;
}

/* Quoted-printable keeps mostly-ASCII French readable; base64 only when
 * most bytes are non-ASCII (docs/protocols.md 3.2).  Never 7bit or 8bit:
 * the "=_" that starts our boundary cannot occur in either encoding, and
 * both keep lines under 77 bytes. */
static GMimeContentEncoding S_encoding(const char *s, size_t n)
{
	size_t high = 0;

	for (size_t i = 0; i < n; i++)
		high += (unsigned char)s[i] >= 0x80;
	return high * 2 > n ? GMIME_CONTENT_ENCODING_BASE64
			    : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
}

/* A text/<subtype>; charset=utf-8 part holding 'text'.  Built from a data
 * wrapper, not g_mime_text_part_set_text(), which would transcode the text
 * to the smallest charset (iso-8859-1 for French). */
static GMimeObject *S_part(const char *subtype, const char *text)
{
	GMimePart *p = g_mime_part_new_with_type("text", subtype);
	size_t n;
	char *lf = S_lf(text, &n);
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(lf, n);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(
		st, GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(p, w);
	g_object_unref(w);
	g_object_unref(st);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(p), "charset",
						 "utf-8");
	g_mime_part_set_content_encoding(p, S_encoding(lf, n));
	free(lf); /* the stream holds a copy */
	return GMIME_OBJECT(p);
}

/* Appends the body entity: its Content-* headers, a blank line, then
 * the content, all with CRLF line breaks. */
static void S_body(struct nt_buf *b, const struct mime_msg *m)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	GMimeObject *top = S_part("plain", m->text);
	char *s;

	if (m->html) {
		GMimeMultipart *mp =
			g_mime_multipart_new_with_subtype("alternative");
		GMimeObject *html = S_part("html", m->html);
		gchar *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256,
							   m->message_id, -1);

		s = nt_xasprintf("=_notify_%.*s", BOUNDARY_HASH, sum);
		g_free(sum);
		g_mime_multipart_set_boundary(mp, s);
		free(s);
		g_mime_multipart_add(mp, top); /* takes its own reference */
		g_mime_multipart_add(mp, html);
		g_object_unref(top);
		g_object_unref(html);
		top = GMIME_OBJECT(mp);
	}
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	s = g_mime_object_to_string(top, fo);
	nt_buf_adds(b, s);
	g_free(s);
	g_object_unref(top);
	g_mime_format_options_free(fo);
}

/* Belt and braces: what we hand to SMTP is 7-bit, CRLF only, and no line
 * is over 998 bytes (RFC 5322 2.1.1). */
static nt_rc S_check_wire(const struct nt_buf *b, struct nt_err *err)
{
	size_t line = 0;

	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->buf[i];

		if (c == '\r' && i + 1 < b->len && b->buf[i + 1] == '\n') {
			i++;
			line = 0;
			continue;
		}
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80 ||
		    ++line > 998)
			return nt_fail(err, NT_EINVAL,
				       "internal: bad output byte %zu", i);
	}
	return NT_OK;
}

static nt_rc S_build(const struct mime_msg *m, bool want_to, char **out,
		     size_t *len, size_t *to_at, struct nt_err *err)
{
	struct S_mbox from = {NULL, NULL}, *to = NULL;
	struct nt_buf b = NT_BUF_INIT;
	size_t nto = 0;
	bool https = false;
	char *date;
	nt_rc rc;

	S_init();
	rc = S_check_fields(m, &https, err);
	if (rc)
		return rc;
	date = S_date(m->date);
	if (date == NULL)
		return nt_fail(err, NT_EINVAL, "Date: %jd is out of range",
			       (intmax_t)m->date);
	rc = S_mailboxes(m, want_to, &from, &to, &nto, err);
	if (rc)
		goto fail;
	S_headers(&b, m, date, &from, to, nto, https, to_at);
	S_body(&b, m);
	rc = S_check_wire(&b, err);
	if (rc)
		goto fail;
	*len = b.len;
	*out = nt_buf_detach(&b);
fail:
	g_free(date);
	S_mbox_free(&from);
	for (size_t i = 0; i < nto && to; i++)
		S_mbox_free(&to[i]);
	free(to);
	nt_buf_release(&b);
	return rc;
}

nt_rc mime_build(const struct mime_msg *m, char **out, size_t *len,
		 struct nt_err *err)
{
	size_t to_at;

	return S_build(m, true, out, len, &to_at, err);
}

nt_rc mime_build_shared(const struct mime_msg *m, char **out, size_t *len,
			size_t *to_at, struct nt_err *err)
{
	size_t at = 0;
	nt_rc rc = S_build(m, false, out, len, &at, err);

	if (rc == NT_OK)
		*to_at = at;
	return rc;
}

/* A bare local@domain needs no parser: the common case, and the one of
 * every subscriber, is served without GMime. */
static nt_rc S_one_mailbox(const char *in, struct S_mbox *mb,
			   struct nt_err *err)
{
	GMimeParserOptions *po;
	nt_rc rc;

	if (in && strlen(in) <= MIME_ADDR_MAX && S_addr_spec(in)) {
		mb->name = nt_xstrdup("");
		mb->addr = nt_xstrdup(in);
		return NT_OK;
	}
	S_init();
	po = g_mime_parser_options_new();
	g_mime_parser_options_set_address_compliance_mode(
		po, GMIME_RFC_COMPLIANCE_STRICT);
	rc = S_mailbox(po, "To", in, mb, err);
	g_mime_parser_options_free(po);
	return rc;
}

nt_rc mime_compose(const char *shared, size_t len, size_t to_at,
		   const char *rcpt, struct nt_buf *out, struct nt_err *err)
{
	struct S_mbox mb = {NULL, NULL};
	nt_rc rc;

	if (to_at > len)
		return nt_fail(err, NT_EINVAL, "To: position %zu past the end",
			       to_at);
	rc = S_one_mailbox(rcpt, &mb, err);
	if (rc)
		return rc;
	nt_buf_add(out, shared, to_at);
	S_to_line(out, &mb, 1);
	nt_buf_add(out, shared + to_at, len - to_at);
	S_mbox_free(&mb);
	return NT_OK;
}

nt_rc mime_to_line(const char *rcpt, struct nt_buf *out, struct nt_err *err)
{
	struct S_mbox mb = {NULL, NULL};
	nt_rc rc = S_one_mailbox(rcpt, &mb, err);

	if (rc)
		return rc;
	S_to_line(out, &mb, 1);
	S_mbox_free(&mb);
	return NT_OK;
}

nt_rc mime_check(const struct mime_msg *m, struct nt_err *err)
{
	struct S_mbox from = {NULL, NULL}, *to = NULL;
	size_t nto = 0;
	bool https = false;
	nt_rc rc;

	S_init();
	rc = S_check_fields(m, &https, err);
	if (rc == NT_OK)
		rc = S_mailboxes(m, true, &from, &to, &nto, err);
	S_mbox_free(&from);
	for (size_t i = 0; i < nto && to; i++)
		S_mbox_free(&to[i]);
	free(to);
	return rc;
}
