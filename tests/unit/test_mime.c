/* Unit tests of mime.c: headers, encodings, wire format, injection, and a
 * cross-check of the output with Python's email package.
 *
 * usage: test_mime [PYTHON CHECK_EMAIL_PY]; without them the Python
 * cross-check is skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify/mime.h"

static const char *S_python, *S_checker;

static const char *const S_to[] = {"Alice <alice@example.net>", NULL};

#define FR_SUBJECT                                                             \
	"Faille critique dans l\xE2\x80\x99hyperviseur : correctif "           \
	"publi\xC3\xA9"
#define HOSTILE "Hi\r\nBcc: evil@x.example"
#define BOUNDARY "=_notify_8be4f59b374e6a36eb14ff6d918c3d27"

static struct mime_msg S_msg(void)
{
	struct mime_msg m = {
		.from = "Veille S\xC3\xA9"
			"curit\xC3\xA9 <veille@example.org>",
		.to = S_to,
		.subject = FR_SUBJECT,
		.date = 1794220200, /* Mon, 09 Nov 2026 10:30:00 UTC */
		.message_id = "2026-11-09-slug.a1b2@example.org",
		.list_id = "veille.example.org",
		.list_label = "Veille cyber",
		.list_unsubscribe = "https://veille.example.org/u/9f2c",
		.text = "Un correctif a \xC3\xA9t\xC3\xA9 publi\xC3\xA9.\n",
		.html = "<p>Un correctif a \xC3\xA9t\xC3\xA9 "
			"publi\xC3\xA9.</p>\n",
	};
	return m;
}

static char *S_build(const struct mime_msg *m, size_t *len)
{
	struct nt_err err = {{0}};
	char *out = NULL;
	size_t n = 0;
	nt_rc rc = mime_build(m, &out, &n, &err);

	if (rc)
		fail_msg("mime_build: %s", err.msg);
	assert_non_null(out);
	assert_int_equal(strlen(out), n);
	if (len)
		*len = n;
	return out;
}

/* Length of the header block, up to and including its empty line. */
static size_t S_head_len(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");

	assert_non_null(end);
	return (size_t)(end - msg) + 4;
}

/* Offset of the header field 'name' (start of its line), or -1. */
static long S_field(const char *msg, const char *name)
{
	size_t head = S_head_len(msg), n = strlen(name);

	for (size_t i = 0; i < head; i = strstr(msg + i, "\r\n") - msg + 2)
		if (strncasecmp(msg + i, name, n) == 0 && msg[i + n] == ':')
			return (long)i;
	return -1;
}

static int S_count_fields(const char *msg, const char *name)
{
	size_t head = S_head_len(msg), n = strlen(name);
	int count = 0;

	for (size_t i = 0; i < head; i = strstr(msg + i, "\r\n") - msg + 2)
		count +=
			strncasecmp(msg + i, name, n) == 0 && msg[i + n] == ':';
	return count;
}

/* CRLF only, 7-bit, no line over 998 bytes and no header line over 78. */
static void S_assert_wire(const char *msg, size_t len)
{
	size_t head = S_head_len(msg), line = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		assert_true(c != 0 && c < 0x80);
		if (c == '\r') {
			assert_true(i + 1 < len && msg[i + 1] == '\n');
			assert_true(line <= (i < head ? 78u : 998u));
			line = 0;
			i++;
			continue;
		}
		assert_true(c != '\n'); /* a bare LF */
		line++;
	}
	assert_int_equal(line, 0); /* ends with CRLF */
}

static void headers_present_in_order(void **state)
{
	static const char *const order[] = {"From",
					    "To",
					    "Subject",
					    "Date",
					    "Message-ID",
					    "MIME-Version",
					    "List-Id",
					    "List-Unsubscribe",
					    "List-Unsubscribe-Post",
					    "Auto-Submitted",
					    "Precedence",
					    "Content-Type",
					    NULL};
	struct mime_msg m = S_msg();
	char *out = S_build(&m, NULL);
	long last = -1;

	(void)state;
	for (int i = 0; order[i]; i++) {
		long at = S_field(out, order[i]);

		if (at <= last)
			fail_msg("%s missing or out of order", order[i]);
		assert_int_equal(S_count_fields(out, order[i]), 1);
		last = at;
	}
	assert_non_null(strstr(out, "\r\nTo: Alice <alice@example.net>\r\n"));
	assert_non_null(strstr(out, "\r\nDate: Mon, 09 Nov 2026 10:30:00 "
				    "+0000\r\n"));
	assert_non_null(strstr(out, "\r\nMessage-ID: "
				    "<2026-11-09-slug.a1b2@example.org>\r\n"));
	assert_non_null(strstr(out, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(out, "\r\nList-Id: Veille cyber "
				    "<veille.example.org>\r\n"));
	assert_non_null(strstr(out, "\r\nList-Unsubscribe: "
				    "<https://veille.example.org/u/9f2c>\r\n"
				    "List-Unsubscribe-Post: "
				    "List-Unsubscribe=One-Click\r\n"
				    "Auto-Submitted: auto-generated\r\n"
				    "Precedence: bulk\r\n"));
	free(out);
}

static void subject_and_name_are_rfc2047(void **state)
{
	struct mime_msg m = S_msg();
	char *out = S_build(&m, NULL);

	(void)state;
	assert_non_null(strstr(out,
			       "\r\nSubject: =?UTF-8?Q?Faille_critique_dans_l="
			       "E2=80=99hyperviseur_:_correctif_?=\r\n"
			       " =?UTF-8?Q?publi=C3=A9?=\r\nDate: "));
	assert_ptr_equal(strstr(out,
				"From: =?UTF-8?B?VmVpbGxlIFPDqWN1cml0w6k=?= "
				"<veille@example.org>\r\nTo: "),
			 out);
	free(out);
}

static void plain_ascii_subject_stays_readable(void **state)
{
	struct mime_msg m = S_msg();
	char *out;

	(void)state;
	m.subject = "  Patch Tuesday:\tfix \"now\" (CVE-2026-1234)  ";
	out = S_build(&m, NULL);
	assert_non_null(strstr(out, "\r\nSubject: Patch Tuesday: fix \"now\" "
				    "(CVE-2026-1234)\r\n"));
	free(out);
	/* text a reader would decode as an encoded-word is encoded itself */
	m.subject = "=?utf-8?q?spoof?=";
	out = S_build(&m, NULL);
	assert_non_null(strstr(out, "\r\nSubject: =?UTF-8?"));
	assert_null(strstr(out, "spoof"));
	free(out);
}

static void body_is_alternative_plain_then_html(void **state)
{
	struct mime_msg m = S_msg();
	size_t len;
	char *out = S_build(&m, &len);
	const char *plain, *html;

	(void)state;
	assert_non_null(strstr(out, "Content-Type: multipart/alternative;"
				    "\r\n\tboundary=\"" BOUNDARY "\"\r\n"));
	plain = strstr(out, "--" BOUNDARY "\r\nContent-Type: text/plain; "
			    "charset=utf-8\r\nContent-Transfer-Encoding: "
			    "quoted-printable\r\n\r\nUn correctif a "
			    "=C3=A9t=C3=A9 publi=C3=A9.\r\n");
	html = strstr(out, "--" BOUNDARY "\r\nContent-Type: text/html; "
			   "charset=utf-8\r\nContent-Transfer-Encoding: "
			   "quoted-printable\r\n\r\n<p>");
	assert_non_null(plain);
	assert_non_null(html);
	assert_true(plain < html);
	assert_string_equal(out + len - strlen(BOUNDARY) - 6,
			    "--" BOUNDARY "--\r\n");
	free(out);
}

static void mostly_non_ascii_body_is_base64(void **state)
{
	struct mime_msg m = S_msg();
	char *out;

	(void)state;
	m.text = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"; /* 日本語 */
	out = S_build(&m, NULL);
	assert_non_null(strstr(out, "text/plain; charset=utf-8\r\n"
				    "Content-Transfer-Encoding: base64\r\n"
				    "\r\n5pel5pys6KqeCg==\r\n"));
	free(out);
}

static void text_only_is_one_part(void **state)
{
	struct mime_msg m = S_msg();
	size_t len;
	char *out;

	(void)state;
	m.html = NULL;
	m.text = "line one\r\nline two\rline three";
	out = S_build(&m, &len);
	assert_null(strstr(out, "multipart"));
	assert_non_null(strstr(out, "Precedence: bulk\r\nContent-Type: "
				    "text/plain; charset=utf-8\r\n"
				    "Content-Transfer-Encoding: "
				    "quoted-printable\r\n\r\nline one\r\n"
				    "line two\r\nline three\r\n"));
	S_assert_wire(out, len);
	free(out);
}

static void wire_format_is_crlf_7bit_short_lines(void **state)
{
	const char *subjects[] = {FR_SUBJECT, HOSTILE, "", "x\ny\rz", NULL};
	struct mime_msg m = S_msg();
	char text[3000];

	(void)state;
	/* one 2999-byte line: quoted-printable must wrap it */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	m.text = text;
	for (int i = 0; subjects[i]; i++) {
		size_t len;
		char *out;

		m.subject = subjects[i];
		out = S_build(&m, &len);
		S_assert_wire(out, len);
		free(out);
	}
}

/* Every encoded-word at most 75 bytes, every Subject line at most 76. */
static void S_assert_subject_folded(const char *out, int min_lines)
{
	const char *p = out + S_field(out, "Subject");
	int lines = 0;

	for (;;) {
		const char *eol = strstr(p, "\r\n");
		const char *w = p;

		assert_true(eol - p <= 76);
		while ((w = strstr(w, "=?")) && w < eol) {
			const char *end = strstr(w + 10, "?=");

			assert_true(end && end + 2 - w <= 75);
			w = end + 2;
		}
		lines++;
		p = eol + 2;
		if (*p != ' ')
			break;
	}
	assert_true(lines >= min_lines);
}

static void long_subjects_are_folded(void **state)
{
	struct mime_msg m = S_msg();
	char fr[400] = "", ascii[400] = "", word[301];
	char *out;

	(void)state;
	while (strlen(fr) < 300)
		strcat(fr, "\xC3\x89l\xC3\xA9vation de privil\xC3\xA8ges ");
	while (strlen(ascii) < 300)
		strcat(ascii, "Remote code execution in widget ");
	memset(word, 'w', 300);
	word[300] = '\0';
	m.subject = fr;
	out = S_build(&m, NULL);
	S_assert_subject_folded(out, 5);
	free(out);
	m.subject = ascii;
	out = S_build(&m, NULL);
	assert_non_null(strstr(out, "Subject: Remote code execution"));
	S_assert_subject_folded(out, 4);
	free(out);
	m.subject = word; /* cannot fold at a space: encoded instead */
	out = S_build(&m, NULL);
	assert_non_null(strstr(out, "Subject: =?UTF-8?Q?www"));
	S_assert_subject_folded(out, 5);
	free(out);
}

static void header_injection_is_neutralised(void **state)
{
	const char *subjects[] = {HOSTILE, "Hi\nBcc: evil@x.example",
				  "Hi\rBcc: evil@x.example",
				  "Hi\r\n\r\nfake body", NULL};
	struct mime_msg m = S_msg();

	(void)state;
	for (int i = 0; subjects[i]; i++) {
		char *out;

		m.subject = subjects[i];
		out = S_build(&m, NULL);
		assert_int_equal(S_count_fields(out, "Subject"), 1);
		assert_int_equal(S_count_fields(out, "Bcc"), 0);
		assert_true(S_field(out, "Precedence") >= 0);
		free(out);
	}
	m.subject = HOSTILE;
	{
		char *out = S_build(&m, NULL);

		assert_non_null(strstr(out, "\r\nSubject: Hi Bcc: "
					    "evil@x.example\r\nDate: "));
		free(out);
	}
	/* a display name whose encoded-words decode to CR LF */
	m.from = "=?utf-8?q?Evil=0D=0ABcc=3A_x=40evil.example?= "
		 "<veille@example.org>";
	{
		char *out = S_build(&m, NULL);

		assert_int_equal(S_count_fields(out, "Bcc"), 0);
		assert_int_equal(S_count_fields(out, "From"), 1);
		free(out);
	}
}

/* The call fails with NT_EINVAL, says why and leaves *out alone. */
static void S_assert_refused(const struct mime_msg *m)
{
	struct nt_err err = {{0}};
	char sentinel, *out = &sentinel;
	size_t len = 7;

	assert_int_equal(mime_build(m, &out, &len, &err), NT_EINVAL);
	assert_ptr_equal(out, &sentinel);
	assert_int_equal(len, 7);
	assert_true(err.msg[0] != '\0');
}

static const char *const S_bad_addrs[] = {
	"",
	"veille",
	"veille@",
	"@example.org",
	"x@y@example.org",
	"a..b@example.org",
	"Veille <veille@example.org>\r\nBcc: evil@x.example",
	"Veille <veille@example.org>\n",
	"a@example.org, b@example.org",
	"Veille <veille@example.org> junk",
	"list: a@example.org, b@example.org;",
	"Bob <bob@exa mple.org>",
	"Bob <bob@-example.org>",
	"\xC3\xA9@example.org",
	"Bob <bob@\xC3\xA9xample.org>",
	"Bob \xC3\x28 <bob@example.org>",
	NULL};

static void bad_addresses_are_refused(void **state)
{
	struct mime_msg m = S_msg();
	static const char *const none[] = {NULL};
	const char *to[2] = {NULL, NULL};

	(void)state;
	for (int i = 0; S_bad_addrs[i]; i++) {
		m = S_msg();
		m.from = S_bad_addrs[i];
		S_assert_refused(&m);
		m = S_msg();
		to[0] = S_bad_addrs[i];
		m.to = to;
		S_assert_refused(&m);
	}
	m = S_msg();
	m.from = NULL;
	S_assert_refused(&m);
	m = S_msg();
	m.to = none;
	S_assert_refused(&m);
	m.to = NULL;
	S_assert_refused(&m);
}

static void several_recipients(void **state)
{
	static const char *const to[] = {
		"a@example.net", "Bob Smith <bob@example.net>",
		"\"Dr. C\" <c@example.net>",
		"\"Dr. Jean-\xC3\x89"
		"douard O'Neil, CERT\" <j@example.net>",
		NULL};
	struct mime_msg m = S_msg();
	char *out;

	(void)state;
	m.to = to;
	out = S_build(&m, NULL);
	assert_non_null(strstr(out,
			       "\r\nTo: a@example.net, Bob Smith "
			       "<bob@example.net>, \"Dr. C\" "
			       "<c@example.net>,\r\n"
			       " =?UTF-8?Q?Dr=2E_Jean-=C3=89douard_O=27Neil"
			       "=2C_CERT?= <j@example.net>\r\nSubject: "));
	free(out);
}

static void bad_message_ids_are_refused(void **state)
{
	static const char *const ids[] = {"",
					  "no-at-sign",
					  "a@b@example.org",
					  "a b@example.org",
					  "<a@example.org>",
					  "a@example.org\r\nBcc: x@y.example",
					  "a..b@example.org",
					  ".a@example.org",
					  "a@",
					  "\xC3\xA9@example.org",
					  NULL};
	struct mime_msg m = S_msg();
	char longid[MIME_ID_MAX + 2];

	(void)state;
	for (int i = 0; ids[i]; i++) {
		m.message_id = ids[i];
		S_assert_refused(&m);
	}
	m.message_id = NULL;
	S_assert_refused(&m);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	longid[10] = '@';
	m.message_id = longid;
	S_assert_refused(&m);
	longid[MIME_ID_MAX] = '\0'; /* exactly at the cap is fine */
	free(S_build(&m, NULL));
}

static void bad_list_fields_are_refused(void **state)
{
	static const char *const urls[] = {
		"http://veille.example.org/u/1",
		"javascript:alert(1)",
		"https://",
		"https://veille.example.org/u 1",
		"https://veille.example.org/u>",
		"https://a.example,https://b.example",
		"https://x.example/\r\nBcc: y@z.ex",
		"https://x.example/\xC3\xA9",
		"ftp://x.example/",
		NULL};
	static const char *const ids[] = {"",
					  "nodot",
					  "a b.example",
					  "<veille.example.org>",
					  "a..b",
					  ".veille.example",
					  NULL};
	struct mime_msg m = S_msg();

	(void)state;
	for (int i = 0; urls[i]; i++) {
		m.list_unsubscribe = urls[i];
		S_assert_refused(&m);
	}
	m = S_msg();
	for (int i = 0; ids[i]; i++) {
		m.list_id = ids[i];
		S_assert_refused(&m);
	}
}

static void mailto_unsubscribe_has_no_one_click(void **state)
{
	struct mime_msg m = S_msg();
	char *out;

	(void)state;
	m.list_unsubscribe = "mailto:unsub+9f2c@veille.example.org";
	m.list_id = NULL;
	out = S_build(&m, NULL);
	assert_non_null(strstr(out, "\r\nList-Unsubscribe: "
				    "<mailto:unsub+9f2c@veille.example.org>"
				    "\r\nAuto-Submitted: "));
	assert_int_equal(S_count_fields(out, "List-Unsubscribe-Post"), 0);
	assert_int_equal(S_count_fields(out, "List-Id"), 0);
	free(out);
	m.list_unsubscribe = NULL;
	out = S_build(&m, NULL);
	assert_int_equal(S_count_fields(out, "List-Unsubscribe"), 0);
	free(out);
}

static void list_label_is_encoded(void **state)
{
	struct mime_msg m = S_msg();
	char *out;

	(void)state;
	m.list_label = "Veille s\xC3\xA9"
		       "curit\xC3\xA9\r\nBcc: x";
	out = S_build(&m, NULL);
	assert_non_null(strstr(out, "\r\nList-Id: =?UTF-8?"));
	assert_non_null(strstr(out, "?= <veille.example.org>\r\n"));
	assert_int_equal(S_count_fields(out, "Bcc"), 0);
	free(out);
}

static void invalid_utf8_is_refused(void **state)
{
	struct mime_msg m = S_msg();

	(void)state;
	m.subject = "caf\xC3\x28";
	S_assert_refused(&m);
	m = S_msg();
	m.text = "\xFF";
	S_assert_refused(&m);
	m = S_msg();
	m.html = "\xED\xA0\x80"; /* a surrogate */
	S_assert_refused(&m);
	m = S_msg();
	m.subject = NULL;
	S_assert_refused(&m);
	m = S_msg();
	m.text = NULL;
	S_assert_refused(&m);
}

static void output_is_deterministic(void **state)
{
	struct mime_msg m = S_msg();
	size_t n1, n2;
	char *a = S_build(&m, &n1), *b = S_build(&m, &n2);

	(void)state;
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(b);
	m.message_id = "2026-11-09-other.c3d4@example.org";
	b = S_build(&m, NULL);
	assert_null(strstr(b, BOUNDARY));
	assert_non_null(strstr(b, "boundary=\"=_notify_"));
	free(a);
	free(b);
}

/* ---- cross-check with Python ---------------------------------------- */

static void S_write(const char *dir, const char *name, const char *data,
		    size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void S_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int S_run_checker(const char *dir, const char *json)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(S_python, S_python, S_checker, dir, json, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void python_email_parses_them(void **state)
{
	static const char *const names[] = {"fr.eml", "long.eml", "hostile.eml",
					    "tricky.eml"};
	const char *subjects[4], *expected[4];
	char dir[] = "/tmp/test_mime.XXXXXX", json[600], path[600], fr[400];
	struct mime_msg m = S_msg();
	FILE *f;

	(void)state;
	if (S_python == NULL || S_checker == NULL)
		skip();
	fr[0] = '\0';
	while (strlen(fr) < 300)
		strcat(fr, "Vuln\xC3\xA9rabilit\xC3\xA9 \xC2\xAB critique "
			   "\xC2\xBB l\xE2\x80\x99h\xC3\xB4te ");
	fr[strlen(fr) - 1] = '\0'; /* the cleaner trims the last space */
	subjects[0] = expected[0] = FR_SUBJECT;
	subjects[1] = expected[1] = fr;
	subjects[2] = HOSTILE;
	expected[2] = "Hi Bcc: evil@x.example";
	subjects[3] = "=?utf-8?q?spoof?= \t tabs\x01"
		      "ctl \xC2\x85 nel";
	expected[3] = "=?utf-8?q?spoof?= tabsctl nel";
	assert_non_null(mkdtemp(dir));
	snprintf(json, sizeof(json), "%s/expected.json", dir);
	f = fopen(json, "wb");
	assert_non_null(f);
	fputc('{', f);
	for (int i = 0; i < 4; i++) {
		size_t len;
		char *out;

		m.subject = subjects[i];
		out = S_build(&m, &len);
		S_write(dir, names[i], out, len);
		free(out);
		fprintf(f, "%s\"%s\": ", i ? ", " : "", names[i]);
		S_json_str(f, expected[i]);
	}
	fputs("}\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(S_run_checker(dir, json), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	unlink(json);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(headers_present_in_order),
		cmocka_unit_test(subject_and_name_are_rfc2047),
		cmocka_unit_test(plain_ascii_subject_stays_readable),
		cmocka_unit_test(body_is_alternative_plain_then_html),
		cmocka_unit_test(mostly_non_ascii_body_is_base64),
		cmocka_unit_test(text_only_is_one_part),
		cmocka_unit_test(wire_format_is_crlf_7bit_short_lines),
		cmocka_unit_test(long_subjects_are_folded),
		cmocka_unit_test(header_injection_is_neutralised),
		cmocka_unit_test(bad_addresses_are_refused),
		cmocka_unit_test(several_recipients),
		cmocka_unit_test(bad_message_ids_are_refused),
		cmocka_unit_test(bad_list_fields_are_refused),
		cmocka_unit_test(mailto_unsubscribe_has_no_one_click),
		cmocka_unit_test(list_label_is_encoded),
		cmocka_unit_test(invalid_utf8_is_refused),
		cmocka_unit_test(output_is_deterministic),
		cmocka_unit_test(python_email_parses_them),
	};

	if (argc == 3) {
		S_python = argv[1];
		S_checker = argv[2];
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
