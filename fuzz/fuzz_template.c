/*
 * fuzz_template.c - libFuzzer entry point for the Mustache compiler and
 * renderer, and through the HTML and mrkdwn escapers, the format module:
 * the input is a template, rendered over a fixed alert-like view.  A
 * partial named "self" is the input itself, so recursion is exercised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/format.h"
#include "notify/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *data;
	size_t size;
};

static nt_rc S_partial(void *ctx, const char *name, char **src, size_t *len,
		       struct nt_err *err)
{
	const struct input *in = ctx;

	(void)err;
	if (strcmp(name, "self") != 0)
		return NT_ENOENT;
	*src = malloc(in->size ? in->size : 1);
	if (*src == NULL)
		abort();
	memcpy(*src, in->data, in->size);
	*len = in->size;
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
	fmt_truncate(o, 0, 3000);
}

static json_object *S_view(void)
{
	static json_object *view;

	if (view == NULL)
		view = json_tokener_parse(
			"{\"title\":\"T *x* <b> @room\",\"url\":\"https://x/\","
			"\"key_points\":[\"**a** "
			"[l](javascript:x)\",\"<!here>\","
			"\"`c`\"],\"has_cves\":true,\"cves\":[\"CVE-2026-1\"],"
			"\"n\":1.5,\"o\":{\"p\":{\"q\":\"deep\"}},\"e\":[],"
			"\"f\":false,\"z\":0}");
	return view;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct tmpl *t = NULL;
	struct nt_err err = {{0}};
	struct nt_buf out = NT_BUF_INIT;

	if (tmpl_compile("fuzz", (const char *)data, size, S_partial, &in, &t,
			 &err) != NT_OK) {
		if (err.msg[0] == '\0')
			abort(); /* a failure must say why */
		return 0;
	}
	/* a failed render restores out's length; its buffer stays ours */
	tmpl_render(t, S_view(), S_esc_html, NULL, &out, &err);
	nt_buf_release(&out);
	tmpl_render(t, S_view(), S_esc_mrkdwn, NULL, &out, &err);
	nt_buf_release(&out);
	tmpl_free(t);
	return 0;
}
