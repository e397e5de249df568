/*
 * Runs the Mustache spec (https://github.com/mustache/spec): every test of
 * every *.json file in the folder argv[1], with tmpl_escape_html and the
 * test's partials.  One line per failure, then "N passed, N failed".
 * Exits 77 (skip) when the folder is missing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/template.h"

struct tally {
	int passed;
	int failed;
};

/* Partials of one test: the keys of its "partials" object. */
static nt_rc S_loader(void *ctx, const char *name, char **src, size_t *len,
		      struct nt_err *err)
{
	json_object *partials = ctx;
	json_object *v;

	if (!json_object_object_get_ex(partials, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return nt_fail(err, NT_ENOENT, "%s: no such partial", name);
	*len = (size_t)json_object_get_string_len(v);
	*src = nt_xstrndup(json_object_get_string(v), *len);
	return NT_OK;
}

/* JSON text of a string, for a one-line report. */
static char *S_quote(const char *s, size_t n)
{
	json_object *o = json_object_new_string_len(s, (int)n);
	char *q = nt_xstrdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return q;
}

static void S_run_test(const char *file, json_object *test, struct tally *t)
{
	json_object *name = json_object_object_get(test, "name");
	json_object *tpl = json_object_object_get(test, "template");
	json_object *want = json_object_object_get(test, "expected");
	json_object *partials = json_object_object_get(test, "partials");
	struct nt_buf out = NT_BUF_INIT;
	struct tmpl *tm = NULL;
	struct nt_err err = {{0}};
	nt_rc rc;

	rc = tmpl_compile(json_object_get_string(name),
			  json_object_get_string(tpl),
			  (size_t)json_object_get_string_len(tpl), S_loader,
			  partials, &tm, &err);
	if (rc == NT_OK)
		rc = tmpl_render(tm, json_object_object_get(test, "data"),
				 tmpl_escape_html, NULL, &out, &err);
	if (rc == NT_OK &&
	    out.len == (size_t)json_object_get_string_len(want) &&
	    memcmp(nt_buf_str(&out), json_object_get_string(want), out.len) ==
		    0) {
		t->passed++;
	} else if (rc) {
		t->failed++;
		printf("FAIL %s: %s: %s\n", file, json_object_get_string(name),
		       err.msg);
	} else {
		char *got = S_quote(nt_buf_str(&out), out.len);

		t->failed++;
		printf("FAIL %s: %s: expected %s, got %s\n", file,
		       json_object_get_string(name),
		       json_object_to_json_string_ext(
			       want, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE),
		       got);
		free(got);
	}
	tmpl_free(tm);
	nt_buf_release(&out);
}

static int S_is_json(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static void S_run_file(const char *dir, const char *file, struct tally *t)
{
	char *path = nt_xasprintf("%s/%s", dir, file);
	json_object *doc = json_object_from_file(path);
	json_object *tests = json_object_object_get(doc, "tests");
	size_t n = json_object_array_length(tests);

	if (!json_object_is_type(tests, json_type_array)) {
		printf("FAIL %s: not a spec file\n", file);
		t->failed++;
	}
	for (size_t i = 0; i < n; i++)
		S_run_test(file, json_object_array_get_idx(tests, i), t);
	json_object_put(doc);
	free(path);
}

int main(int argc, char **argv)
{
	struct tally t = {0, 0};
	struct dirent **files = NULL;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SPEC-DIR\n", argv[0]);
		return 2;
	}
	n = scandir(argv[1], &files, S_is_json, alphasort);
	if (n < 0 && errno == ENOENT) {
		const char *ci = getenv("CI");

		/* scripts/setup runs beside ../shared: CI must not skip */
		if (ci && strcmp(ci, "true") == 0) {
			printf("FAIL: no mustache spec at %s (CI=true)\n",
			       argv[1]);
			return 1;
		}
		printf("SKIP: no mustache spec at %s\n", argv[1]);
		return 77;
	}
	if (n < 0) {
		printf("%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		S_run_file(argv[1], files[i]->d_name, &t);
		free(files[i]);
	}
	free(files);
	printf("%d passed, %d failed\n", t.passed, t.failed);
	return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
