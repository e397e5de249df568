/*
 * fuzz_report.c - libFuzzer entry point for the parser of a pass's report
 * (report.h), the input notify-watchd takes from its workers.
 *
 * An input is a report: lines cut at '\n', each given to report_parse().
 * A line it accepts is written again with report_put() and read back: the
 * second reading must give the same line (a writer and a reader that
 * disagree are a bug as much as a crash is).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void S_same(const struct report_line *a, const struct report_line *b)
{
	if (a->kind != b->kind || a->git != b->git || a->num != b->num ||
	    a->dir != b->dir ||
	    memcmp(a->counts, b->counts, sizeof(a->counts)) != 0 ||
	    (a->str && strcmp(a->str, b->str) != 0) ||
	    (a->path && strcmp(a->path, b->path) != 0) ||
	    (a->rel && strcmp(a->rel, b->rel) != 0))
		abort();
}

/* Writes 'l' and reads it back. */
static void S_round_trip(const struct report_line *l)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct report_line back;

	if (f == NULL)
		return;
	if (!report_put(f, l)) /* every line read can be written */
		abort();
	fclose(f);
	if (len == 0 || text[len - 1] != '\n')
		abort();
	text[--len] = '\0';
	if (report_parse(text, len, &back) != NT_OK)
		abort();
	S_same(l, &back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	char *p = copy, *end = copy + size;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (p <= end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct report_line l;

		p[n] = '\0';
		if (report_parse(p, n, &l) == NT_OK)
			S_round_trip(&l);
		p += n + 1;
	}
	free(copy);
	return 0;
}
