/*
 * corpus.h - what the benchmarks share: a folder of posts loaded once
 * into memory (so that they time the work, not the disk), the site above
 * it, the clock and the peak RSS.
 */
#ifndef NOTIFY_BENCH_CORPUS_H
#define NOTIFY_BENCH_CORPUS_H

#include <stddef.h>

struct site;

/* Exit statuses meson reads: 77 is "skipped". */
#define BENCH_EXIT_SKIP 77
#define BENCH_EXIT_USAGE 2

struct sample {
	char *path; /* POSTS_DIR/name.md: the name the parser sees */
	char *data;
	size_t len;
};

struct corpus {
	struct sample *v;
	size_t n;
	size_t cap;
	size_t bytes;
};

/* Loads the posts of 'dir_arg' and opens the site above them: 0, or
 * BENCH_EXIT_SKIP (no such folder, said on stdout), or 1 after a message
 * naming 'prog'.  On 0, *site is owned (site_free()). */
int bench_open(const char *prog, const char *dir_arg, struct corpus *c,
	       struct site **site);

/* Loads every *.md of 'dir', sorted by name; 0, or -1 after a message. */
int bench_corpus_load(struct corpus *c, const char *dir);
void bench_corpus_free(struct corpus *c);
/* The parent of 'dir' (owned), where the site's _config.yml is. */
char *bench_parent(const char *dir);
/* Peak resident set of this process (VmHWM), in MB. */
double bench_peak_rss_mb(void);
/* Monotonic seconds. */
double bench_now(void);
/* A positive decimal number; 0, or -1 when 's' is not one. */
int bench_parse_number(const char *s, double *out);

#endif
