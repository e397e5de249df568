/*
 * replay.c - runs LLVMFuzzerTestOneInput() once on every file named on the
 * command line, or found (not recursively) in a folder named there, so
 * that any compiler can replay a fuzz corpus without libFuzzer.
 *
 * usage: fuzz_replay PATH...
 *
 * Exit status: 0 when every input ran; 1 when a path could not be read or
 * there was no input at all (a wrong seeds path must not pass quietly).
 * A bug found by an input aborts, as under libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "notify/buf.h"
#include "notify/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int S_replay_file(const char *path)
{
	struct nt_err err = {{0}};
	char *data = NULL;
	size_t len = 0;

	/* the cap of a replayed input: far above what libFuzzer makes */
	if (nt_read_file(path, 64 * 1024 * 1024, &data, &len, &err)) {
		fprintf(stderr, "fuzz_replay: %s\n", err.msg);
		return -1;
	}
	printf("Running: %s\n", path);
	fflush(stdout); /* so the name precedes any sanitizer report */
	/* An exact-size copy, so ASan sees a read one past the end. */
	data = nt_xrealloc(data, len ? len : 1);
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	return 0;
}

static int S_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of 'dir' in name order, skipping dot files;
 * adds their number to *count. */
static int S_replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "fuzz_replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = nt_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = nt_xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), S_name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		if (S_replay_file(names[i]) != 0)
			rc = -1;
		else
			(*count)++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i],
				strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc |= S_replay_dir(argv[i], &count);
		} else if (S_replay_file(argv[i]) == 0) {
			count++;
		} else {
			rc = -1;
		}
	}
	printf("replayed %zu inputs\n", count);
	return rc == 0 && count > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
