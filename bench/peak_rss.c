/*
 * peak_rss.c - runs a program and writes its peak RSS and CPU time to a file.
 *
 * usage: peak_rss [-t SECONDS] FILE PROGRAM [ARG]...
 *
 * FILE gets two lines: the child's peak RSS in KiB (ru_maxrss), then its
 * user and system CPU seconds ("0.512 0.128"), both from wait4().
 *
 * Why not os.wait4() from Python: at exec, Linux keeps the peak of the
 * memory the child had before it (the forked, or vfork-shared, Python
 * interpreter) as the child's ru_maxrss, so every figure was Python's
 * ~14 MB at least.  Started from this small program, the peak before exec
 * is about 1 MB, below any figure measured.
 *
 * -t SECONDS: the child gets SIGKILL after that long, and FILE is still
 * written (what it used until then).  Killing this launcher from outside
 * would leave the child running and lose its figures.
 *
 * Exit status: the program's (128 + N when killed by signal N); 127 when
 * it cannot be started or measured; 64 usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child;

/* kill() is async-signal-safe; the child's pid is set before the alarm. */
static void on_alarm(int sig)
{
	(void)sig;
	if (child > 0)
		kill((pid_t)child, SIGKILL);
}

static int parse_secs(const char *arg, unsigned *secs)
{
	char *end = NULL;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end != '\0' || v < 1 || v > 86400)
		return -1;
	*secs = (unsigned)v;
	return 0;
}

static int arm_timeout(pid_t pid, unsigned secs)
{
	struct sigaction sa;

	if (secs == 0)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	child = pid;
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		return -1;
	alarm(secs);
	return 0;
}

static int report(const char *path, const struct rusage *ru)
{
	FILE *out = fopen(path, "w");

	if (out == NULL)
		return -1;
	if (fprintf(out, "%ld\n%ld.%06ld %ld.%06ld\n", ru->ru_maxrss,
		    (long)ru->ru_utime.tv_sec, (long)ru->ru_utime.tv_usec,
		    (long)ru->ru_stime.tv_sec,
		    (long)ru->ru_stime.tv_usec) < 0) {
		fclose(out);
		return -1;
	}
	return fclose(out);
}

int main(int argc, char **argv)
{
	struct rusage ru;
	int status = 0, arg = 1;
	unsigned secs = 0;
	pid_t pid;

	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		if (parse_secs(argv[2], &secs) != 0) {
			fputs("peak_rss: -t wants whole seconds\n", stderr);
			return 64;
		}
		arg = 3;
	}
	if (argc - arg < 2) {
		fputs("usage: peak_rss [-t SECONDS] FILE PROGRAM [ARG]...\n",
		      stderr);
		return 64;
	}
	pid = fork();
	if (pid == 0) {
		execvp(argv[arg + 1], argv + arg + 1);
		perror(argv[arg + 1]);
		_exit(127);
	}
	if (pid < 0 || arm_timeout(pid, secs) != 0 ||
	    wait4(pid, &status, 0, &ru) != pid) {
		perror("peak_rss");
		return 127;
	}
	if (report(argv[arg], &ru) != 0) {
		perror(argv[arg]);
		return 127;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
