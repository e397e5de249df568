/* corpus.c - see corpus.h. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "notify/buf.h"
#include "notify/result.h"
#include "notify/site.h"

/* A post the benchmarks load: far above any real one. */
#define BENCH_POST_MAX (16 * 1024 * 1024)

static int S_has_md_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && strcmp(name + n - 3, ".md") == 0;
}

static int S_sample_cmp(const void *a, const void *b)
{
	const struct sample *x = a;
	const struct sample *y = b;

	return strcmp(x->path, y->path);
}

static int S_corpus_add(struct corpus *c, const char *dir, const char *name)
{
	struct sample s;
	struct nt_err err = {{0}};

	s.path = nt_xasprintf("%s/%s", dir, name);
	if (nt_read_file(s.path, BENCH_POST_MAX, &s.data, &s.len, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		free(s.path);
		return -1;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = nt_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = s;
	c->bytes += s.len;
	return 0;
}

void bench_corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].data);
	}
	free(c->v);
}

/* Loads every *.md of 'dir', sorted by name so runs are comparable. */
int bench_corpus_load(struct corpus *c, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "bench: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !S_has_md_suffix(de->d_name))
			continue;
		rc = S_corpus_add(c, dir, de->d_name);
	}
	closedir(d);
	if (rc == 0 && c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), S_sample_cmp);
	return rc;
}

/* Parent of 'dir' ("." when it has no slash), without trailing slashes. */
char *bench_parent(const char *dir)
{
	char *p = nt_xstrdup(dir);
	size_t n = strlen(p);
	char *slash;

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	slash = strrchr(p, '/');
	if (slash == NULL) {
		free(p);
		return nt_xstrdup(".");
	}
	if (slash == p)
		slash[1] = '\0';
	else
		*slash = '\0';
	return p;
}

/* Peak RSS in MiB.  VmHWM first: Linux carries ru_maxrss across execve(),
 * so under meson test it reports meson's own Python (about 28 MB), not
 * us.  getrusage() is the fallback where /proc is missing. */
double bench_peak_rss_mb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	struct rusage ru;

	while (f && kib < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) != 1)
			kib = -1;
	if (f)
		fclose(f);
	if (kib < 0 && getrusage(RUSAGE_SELF, &ru) == 0)
		kib = ru.ru_maxrss; /* Linux: KiB */
	return kib < 0 ? 0 : (double)kib / 1024.0;
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_parse_number(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && *out > 0 ? 0 : -1;
}

int bench_open(const char *prog, const char *dir_arg, struct corpus *c,
	       struct site **site)
{
	struct nt_err err = {{0}};
	char dir[PATH_MAX];
	char *root;
	int rc;

	if (access(dir_arg, F_OK) != 0) {
		printf("%s: SKIP: no corpus at %s\n", prog, dir_arg);
		return BENCH_EXIT_SKIP;
	}
	if (realpath(dir_arg, dir) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir_arg, strerror(errno));
		return 1;
	}
	if (bench_corpus_load(c, dir))
		return 1;
	if (c->n == 0) {
		fprintf(stderr, "%s: %s: no *.md files\n", prog, dir);
		return 1;
	}
	root = bench_parent(dir);
	rc = site_open(root, site, &err) ? 1 : 0;
	if (rc)
		fprintf(stderr, "%s: %s\n", prog, err.msg);
	free(root);
	return rc;
}
