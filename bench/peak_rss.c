/*
 * peak_rss.c - runs a program and writes its peak RSS (KiB) to a file.
 *
 * usage: peak_rss FILE PROGRAM [ARG]...
 *
 * Why not os.wait4() from Python: at exec, Linux keeps the peak of the
 * memory the child had before it (the forked, or vfork-shared, Python
 * interpreter) as the child's ru_maxrss, so every figure was Python's
 * ~14 MB at least.  Started from this small program, the peak before exec
 * is about 1 MB, below any figure measured.  Exit status: the program's
 * (128 + N when killed by signal N); 127 when it cannot be started.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status = 0;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fputs("usage: peak_rss FILE PROGRAM [ARG]...\n", stderr);
		return 64;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
		perror("peak_rss");
		return 127;
	}
	out = fopen(argv[1], "w");
	if (out == NULL || fprintf(out, "%ld\n", ru.ru_maxrss) < 0 ||
	    fclose(out) != 0) {
		perror(argv[1]);
		return 127;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
