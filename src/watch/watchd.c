/*
 * watchd.c - notify-watchd, the supervisor behind `notify watch`.
 *
 * One poll(2) loop over a signalfd (SIGTERM, SIGINT, SIGHUP), an inotify
 * descriptor (the folders the last pass named), a timerfd (the next
 * thing due) and the pipe of the running worker.  The work itself -- the
 * git history, the posts, the outbox, the sends -- is done by workers,
 * `notify-scan scan --worker` (the program of `notify scan`), one at a
 * time: this program links none of
 * those libraries, so the idle service is small, a worker gives back all
 * it took (libgit2 1.5 leaks on every remote lookup) and a worker that
 * crashes on a hostile post costs one pass, not the service.
 *
 * A worker reports on its stdout (report.h): once its batch is committed,
 * the mode and the folders to watch, applied at once, so that a post
 * written while it sends is seen; at its end, when the next retry or held
 * post is due, and the counts.  A folder watched anew is scanned again
 * after the pass: a post written there before the watch was in place
 * would be seen by no event.  The configuration in force is a snapshot (a
 * memfd) taken at start and on SIGHUP and given to each worker as fd 3: an edit
 * of the file takes effect on reload, and a reloaded file the worker refuses
 * (exit 78) leaves the snapshot before it in force.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "notify/buf.h"
#include "notify/config.h" /* CONFIG_MAX_BYTES alone: no link to it */
#include "notify/log.h"
#include "notify/report.h"
#include "notify/sdnotify.h"

/* Git writes a ref through NAME.lock and a rename: wait this long after
 * the first event so that one commit makes one pass. */
#define GIT_DEBOUNCE_MS 10
/* A pass that has not ended by then is killed (its deliveries are
 * leased, so the next pass takes them over). */
#define WORKER_TIMEOUT_MS (15 * 60 * 1000)
/* After a pass that failed (not a bad post: the repository, the disk),
 * the next one waits this long. */
#define WORKER_RETRY_MS (30 * 1000)
/* A pass that ran too long gets SIGTERM (it ends the send in flight),
 * then SIGKILL after this. */
#define WORKER_GRACE_MS (30 * 1000)
/* The least wait before a pass for something its predecessor left due. */
#define DUE_FLOOR_MS 1000
/* bytes of configuration snapshot: what config_load() reads at most */
#define CONFIG_MAX CONFIG_MAX_BYTES
#define MOVES_MAX 256		/* renames handed to one pass */
#define PENDING_MAX 32		/* renames waiting for their pair */
#define REPORT_MAX (256 * 1024) /* bytes of a worker's report */

enum dir_kind { DIR_GIT, DIR_REFS, DIR_POSTS };

struct wdir {
	int wd;
	enum dir_kind kind;
	char *rel; /* DIR_POSTS: the folder's path from the site root */
	bool keep; /* named by the last report */
};

struct moved {
	uint32_t cookie;
	char *rel;
};

struct worker {
	pid_t pid; /* 0: none running */
	int out;   /* its stdout, the report */
	struct nt_buf rep;
	int64_t deadline;
	int cfg;       /* the snapshot it was given */
	bool trial;    /* a reloaded configuration on trial */
	bool overflow; /* its report ran past REPORT_MAX */
	bool termed;   /* sent SIGTERM for running too long */
	bool head;     /* what to watch ("scanned") is applied */
	bool refused;  /* a line of its report was refused (said once) */
};

struct sup {
	const char *scan;     /* notify-scan, the program of a pass */
	const char *cfg_path; /* the configuration file as named */
	int snap;	      /* the configuration in force (memfd) */
	int ino, tfd, sfd;

	struct wdir *dirs;
	size_t n_dirs;
	/* Renames inside the posts folders, paired by inotify and handed to
	 * the next pass: a seen post renamed (and edited) is not new.  The
	 * pass also knows a rename without them, by the contents of a seen
	 * post whose file is gone; these cover a rename with an edit while
	 * the service runs. */
	struct moved pending[PENDING_MAX];
	size_t next_pending;
	struct nt_strv from, to;

	/* what the last report said */
	bool ready, git;
	char *repo, *branch;
	int settle_ms, fetch_interval;
	size_t posts, sent, retried, failed;

	/* when things are due (monotonic ms, -1: not) */
	int64_t scan_at, fetch_at, due_at, retry_at, wd_at, wd_every;
	bool want_reload, stopping, fetch_next;
	bool added; /* a report added a watch: the next pass rescans */
	struct worker w;
};

static int64_t S_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t S_min(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static bool S_due(int64_t at, int64_t now)
{
	return at >= 0 && at <= now;
}

/* ---- the configuration snapshot ------------------------------------- */

/* A sealed copy of 'path' in memory, or -1 (logged). */
static int S_snapshot(const char *path)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	int fd = -1;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n = 0;

	if (in < 0) {
		log_warn("%s", path);
		return -1;
	}
	buf = nt_xmalloc(CONFIG_MAX + 1);
	while (len <= CONFIG_MAX &&
	       (n = read(in, buf + len, CONFIG_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	if (n < 0) {
		log_warn("%s", path);
	} else if (len > CONFIG_MAX) {
		log_warnx("%s: larger than %d bytes", path, CONFIG_MAX);
	} else if ((fd = memfd_create("notify.conf",
				      MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0 ||
		   write(fd, buf, len) != (ssize_t)len ||
		   /* what the workers read cannot change under them */
		   fcntl(fd, F_ADD_SEALS,
			 F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW |
				 F_SEAL_SEAL) != 0) {
		log_warn("%s: snapshot", path);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	close(in);
	free(buf);
	return fd;
}

/* ---- workers --------------------------------------------------------- */

/* Starts `notify scan --worker` on configuration 'cfg'. */
static bool S_spawn(struct sup *s, int cfg, bool fetch, bool trial)
{
	struct nt_strv argv = NT_STRV_INIT;
	int p[2];
	pid_t pid, parent;

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("pipe");
		return false;
	}
	nt_strv_pushdup(&argv, s->scan);
	nt_strv_pushdup(&argv, "--config");
	nt_strv_pushdup(&argv, "/proc/self/fd/3");
	nt_strv_pushdup(&argv, "--config-origin");
	nt_strv_pushdup(&argv, s->cfg_path);
	nt_strv_pushdup(&argv, "scan");
	nt_strv_pushdup(&argv, "--worker");
	if (fetch)
		nt_strv_pushdup(&argv, "--fetch");
	for (size_t i = 0; i < s->from.n; i++) {
		nt_strv_pushdup(&argv, "--moved-from");
		nt_strv_pushdup(&argv, s->from.v[i]);
		nt_strv_pushdup(&argv, "--moved-to");
		nt_strv_pushdup(&argv, s->to.v[i]);
	}
	nt_strv_push(&argv, NULL);
	parent = getpid();
	pid = fork();
	if (pid == 0) {
		/* a supervisor killed (SIGKILL) ends its pass too, after the
		 * send in flight, as SIGTERM would.  SIGTERM stays blocked
		 * across exec: the pass unblocks it once it catches it, so a
		 * SIGTERM meanwhile waits instead of killing it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(EX_TEMPFAIL);
		/* the service's protocol is the supervisor's alone */
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		if (dup2(p[1], STDOUT_FILENO) < 0 ||
		    (cfg == 3 ? fcntl(3, F_SETFD, 0) : dup2(cfg, 3)) < 0)
			_exit(EX_OSERR);
		closefrom(4); /* nothing else of ours, or of our starter */
		execv(s->scan, argv.v);
		log_warn("%s", s->scan);
		_exit(EX_UNAVAILABLE);
	}
	close(p[1]);
	nt_strv_clear(&argv);
	if (pid < 0) {
		log_warn("fork");
		close(p[0]);
		return false;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	memset(&s->w, 0, sizeof(s->w));
	s->w.pid = pid;
	s->w.out = p[0];
	s->w.deadline = S_now() + WORKER_TIMEOUT_MS;
	s->w.cfg = cfg;
	s->w.trial = trial;
	/* the renames are the pass's now */
	nt_strv_clear(&s->from);
	nt_strv_clear(&s->to);
	return true;
}

/* ---- what a report says ---------------------------------------------- */

static void S_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = nt_xstrdup(v);
}

static struct wdir *S_dir_by_wd(struct sup *s, int wd)
{
	for (size_t i = 0; i < s->n_dirs; i++)
		if (s->dirs[i].wd == wd)
			return &s->dirs[i];
	return NULL;
}

/* A watch line: watched from now on. */
static void S_watch_line(struct sup *s, const struct report_line *l)
{
	static const enum dir_kind kinds[] = {[REPORT_DIR_GIT] = DIR_GIT,
					      [REPORT_DIR_REFS] = DIR_REFS,
					      [REPORT_DIR_POSTS] = DIR_POSTS};
	uint32_t mask = IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_ONLYDIR |
			IN_MOVE_SELF | IN_DELETE_SELF;
	struct wdir *d;
	int wd;

	if (l->dir == REPORT_DIR_POSTS)
		mask |= IN_MOVED_FROM;
	wd = inotify_add_watch(s->ino, l->path, mask);
	if (wd < 0) {
		log_warn("inotify: %s", l->path);
		return;
	}
	d = S_dir_by_wd(s, wd);
	if (d == NULL) {
		s->dirs = nt_xrealloc(s->dirs, (s->n_dirs + 1) * sizeof(*d));
		d = &s->dirs[s->n_dirs++];
		d->wd = wd;
		d->rel = NULL;
		s->added = true;
	}
	d->kind = kinds[l->dir];
	S_set_str(&d->rel, l->rel);
	d->keep = true;
}

/* Calls fn for each whole line of the report 'rep' that parses (a copy:
 * parsing cuts it), until fn returns false.  A line refused is skipped
 * (the report comes from a process that read hostile posts). */
static void S_lines(const struct nt_buf *rep,
		    bool (*fn)(struct sup *s, const struct report_line *l),
		    struct sup *s)
{
	char *copy, *p, *nl;
	size_t line = 0;

	if (rep->len == 0)
		return;
	copy = nt_xstrndup(rep->buf, rep->len);
	for (p = copy; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		struct report_line l;

		*nl = '\0';
		line++;
		if (report_parse(p, (size_t)(nl - p), &l) != NT_OK) {
			if (!s->w.refused)
				log_warnx("a pass's report: line %zu refused "
					  "(report.h), skipped",
					  line);
			s->w.refused = true;
			continue;
		}
		if (!fn(s, &l))
			break;
	}
	free(copy);
}

static bool S_is_scanned(struct sup *s, const struct report_line *l)
{
	s->w.head = s->w.head || l->kind == REPORT_SCANNED;
	return !s->w.head;
}

/* The first part of a report, up to "scanned": what to watch. */
static bool S_head_line(struct sup *s, const struct report_line *l)
{
	switch (l->kind) {
	case REPORT_MODE:
		s->git = l->git;
		break;
	case REPORT_REPO:
		S_set_str(&s->repo, l->str);
		break;
	case REPORT_BRANCH:
		S_set_str(&s->branch, l->str);
		break;
	case REPORT_WATCH:
		S_watch_line(s, l);
		break;
	case REPORT_SETTLE_MS:
		s->settle_ms = (int)l->num;
		break;
	case REPORT_FETCH_INTERVAL:
		s->fetch_interval = (int)l->num;
		break;
	default:
		break;
	}
	return l->kind != REPORT_SCANNED;
}

/* Applies what to watch: folders the report no longer names are let go,
 * a folder watched anew is scanned again. */
static void S_apply_head(struct sup *s)
{
	int64_t now = S_now();
	bool was_git = s->git;
	int was_fetch = s->fetch_interval;

	for (size_t i = 0; i < s->n_dirs; i++)
		s->dirs[i].keep = false;
	s->added = false;
	S_lines(&s->w.rep, S_head_line, s);
	for (size_t i = 0; i < s->n_dirs;) {
		if (s->dirs[i].keep) {
			i++;
			continue;
		}
		inotify_rm_watch(s->ino, s->dirs[i].wd);
		free(s->dirs[i].rel);
		s->dirs[i] = s->dirs[--s->n_dirs];
	}
	/* a post written before the watch was in place makes no event;
	 * one written after it does */
	if (s->added)
		s->scan_at = S_min(s->scan_at, now + (s->git ? GIT_DEBOUNCE_MS
							     : s->settle_ms));
	/* a remote named (at start, on reload): caught up with at once */
	if (s->fetch_interval == 0)
		s->fetch_at = -1;
	else if (s->fetch_at < 0 || s->git != was_git ||
		 s->fetch_interval != was_fetch)
		s->fetch_at = now;
}

/* The rest, at the end of a pass: when to come back, the counts. */
static bool S_tail_line(struct sup *s, const struct report_line *l)
{
	if (l->kind == REPORT_NEXT && l->num >= 0) {
		long long d = l->num - (long long)time(NULL);

		/* what the pass left due is not due again at once: a row it
		 * could not take must not spin passes */
		s->due_at = S_now() + (d > 0 ? d * 1000 : DUE_FLOOR_MS);
	} else if (l->kind == REPORT_COUNTS) {
		s->posts += l->counts[0];
		s->sent += l->counts[1];
		s->retried += l->counts[2];
		s->failed += l->counts[3];
	}
	return true;
}

/* Whether the report holds an "end" line: the pass went through. */
static bool S_whole(struct sup *s)
{
	const char *b = s->w.rep.buf;
	size_t n = s->w.rep.len;

	/* the last line, whole, is "end" */
	return !s->w.overflow && n >= 4 && memcmp(b + n - 4, "end\n", 4) == 0 &&
	       (n == 4 || b[n - 5] == '\n');
}

/* The worker's pipe closed: it is done.  Returns the exit code to end
 * the service with, or -1 to go on. */
static int S_reap(struct sup *s)
{
	struct worker *w = &s->w;
	int status = 0, code;
	bool ok;

	waitpid(w->pid, &status, 0);
	close(w->out);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	/* 69 and 75: some deliveries failed or wait; the pass went well if
	 * its report is whole ("end"): 75 is also a locked database */
	ok = (code == EX_OK || code == EX_UNAVAILABLE || code == EX_TEMPFAIL) &&
	     S_whole(s);
	if (w->trial) {
		if (ok) {
			close(s->snap);
			s->snap = w->cfg;
			log_notice("reloaded %s", s->cfg_path);
		} else {
			close(w->cfg);
			log_warnx("reload: %s was refused (see above); the "
				  "configuration in force is kept",
				  s->cfg_path);
			/* the pass did not run: run it on the old one */
			s->scan_at = S_now();
		}
	}
	if (ok) {
		if (!w->head)
			S_apply_head(s);
		s->due_at = -1;
		S_lines(&w->rep, S_tail_line, s);
	} else if (!w->trial) {
		if (WIFSIGNALED(status))
			log_warnx("a pass ended on signal %d; the next one in "
				  "%d s",
				  WTERMSIG(status), WORKER_RETRY_MS / 1000);
		else
			log_warnx("a pass failed (exit %d); the next one in "
				  "%d s",
				  code, WORKER_RETRY_MS / 1000);
		s->retry_at = S_now() + WORKER_RETRY_MS;
	}
	nt_buf_release(&w->rep);
	memset(w, 0, sizeof(*w));
	if (!s->ready && !ok) /* the first pass: the service cannot start */
		return code > 0 ? code : EX_SOFTWARE;
	return -1;
}

/* The pass has committed what it found (its report says "scanned"): what
 * to watch is applied now, before its sends end; after the first pass
 * the service is up, whatever is left to send.  A reloaded configuration
 * on trial waits for the end of its pass. */
static void S_scanned(struct sup *s)
{
	struct nt_err err = {{0}};

	if (s->w.head || s->w.trial || s->w.overflow)
		return;
	S_lines(&s->w.rep, S_is_scanned, s);
	if (!s->w.head)
		return;
	S_apply_head(s);
	if (s->ready)
		return;
	s->ready = true;
	sdn_notify("READY=1", &err);
	log_notice("watching %s (%s mode)", s->repo ? s->repo : "?",
		   s->git ? "git" : "directory");
}

/* Reads what the worker wrote; at the end of it, reaps it. */
static int S_worker_out(struct sup *s)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(s->w.out, buf, sizeof(buf))) > 0) {
		if (s->w.rep.len + (size_t)n > REPORT_MAX)
			s->w.overflow = true; /* not applied, but drained */
		else
			nt_buf_add(&s->w.rep, buf, (size_t)n);
	}
	S_scanned(s);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	return S_reap(s);
}

/* ---- inotify --------------------------------------------------------- */

static bool S_git_event(const struct wdir *d, const char *name)
{
	size_t n = strlen(name);

	if (d->kind == DIR_GIT)
		return strcmp(name, "HEAD") == 0 ||
		       strcmp(name, "packed-refs") == 0;
	return !(n >= 5 && strcmp(name + n - 5, ".lock") == 0);
}

/* A rename inside the posts folders: paired by cookie, handed to the next
 * pass so that a seen post renamed is not announced again. */
static void S_move(struct sup *s, const struct wdir *d,
		   const struct inotify_event *ev)
{
	char *rel = d->rel[0] ? nt_xasprintf("%s/%s", d->rel, ev->name)
			      : nt_xstrdup(ev->name);

	if (ev->mask & IN_MOVED_FROM) {
		struct moved *m = &s->pending[s->next_pending++ % PENDING_MAX];

		free(m->rel);
		*m = (struct moved){ev->cookie, rel};
		return;
	}
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct moved *m = &s->pending[i];

		if (m->rel == NULL || m->cookie != ev->cookie)
			continue;
		if (s->from.n < MOVES_MAX) {
			nt_strv_push(&s->from, m->rel);
			nt_strv_pushdup(&s->to, rel);
		} else {
			free(m->rel);
		}
		m->rel = NULL;
		break;
	}
	free(rel);
}

static void S_events(struct sup *s)
{
	char buf[8192]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t now = S_now();
	ssize_t n;

	while ((n = read(s->ino, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			const struct wdir *d = S_dir_by_wd(s, ev->wd);

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				s->scan_at = now; /* a pass lists everything */
				continue;
			}
			if (d && (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF |
					      IN_IGNORED))) {
				/* a folder we watch was swapped (a deploy) or
				 * removed: a pass names the one there now
				 * (one we let go of is no longer known) */
				s->scan_at = S_min(s->scan_at,
						   now + GIT_DEBOUNCE_MS);
				continue;
			}
			if (d == NULL || ev->len == 0 || ev->name[0] == '\0')
				continue;
			if (d->kind != DIR_POSTS) {
				if (S_git_event(d, ev->name))
					s->scan_at =
						S_min(s->scan_at,
						      now + GIT_DEBOUNCE_MS);
				continue;
			}
			if (ev->name[0] == '.')
				continue; /* hidden, editors' files */
			if (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO))
				S_move(s, d, ev);
			/* a quiet time after the last change */
			if (!(ev->mask & IN_MOVED_FROM))
				s->scan_at = now + s->settle_ms;
		}
	}
}

/* ---- the loop -------------------------------------------------------- */

static void S_status(const struct sup *s)
{
	sdn_status("%s %s (%s%s%s); %zu posts, %zu sent, %zu retried, %zu "
		   "failed",
		   s->w.pid ? "working on" : "watching",
		   s->repo ? s->repo : "?", s->git ? "git" : "folder",
		   s->branch ? ", " : "", s->branch ? s->branch : "", s->posts,
		   s->sent, s->retried, s->failed);
}

/* Starts what is due, if no pass runs. */
static void S_start(struct sup *s, int64_t now)
{
	int trial;

	if (s->w.pid || s->stopping)
		return;
	if (s->want_reload) {
		s->want_reload = false;
		trial = S_snapshot(s->cfg_path);
		if (trial >= 0 && !S_spawn(s, trial, false, true))
			close(trial);
		if (trial >= 0)
			return;
		log_warnx("reload: the configuration in force is kept");
	}
	if (S_due(s->fetch_at, now)) {
		s->fetch_at = now + (int64_t)s->fetch_interval * 1000;
		s->scan_at = s->due_at = s->retry_at = -1;
		if (!S_spawn(s, s->snap, true, false))
			s->retry_at = now + WORKER_RETRY_MS;
	} else if (S_due(s->scan_at, now) || S_due(s->due_at, now) ||
		   S_due(s->retry_at, now)) {
		s->scan_at = s->due_at = s->retry_at = -1;
		if (!S_spawn(s, s->snap, false, false))
			s->retry_at = now + WORKER_RETRY_MS;
	}
}

static void S_arm(struct sup *s, int64_t now)
{
	struct itimerspec its = {{0, 0}, {0, 0}};
	int64_t at = s->wd_at;

	if (s->w.pid)
		at = S_min(at, s->w.deadline);
	else
		at = S_min(at, S_min(S_min(s->scan_at, s->fetch_at),
				     S_min(s->due_at, s->retry_at)));
	if (at >= 0) {
		int64_t d = at - now < 1 ? 1 : at - now; /* 0 disarms */

		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
	}
	timerfd_settime(s->tfd, 0, &its, NULL);
}

static int S_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			s->want_reload = true;
			continue;
		}
		if (!s->stopping)
			log_notice("stopping%s",
				   s->w.pid ? " after the send in flight" : "");
		s->stopping = true;
		if (s->w.pid) /* it ends its send, then exits */
			kill(s->w.pid, SIGTERM);
	}
	return 0;
}

static int S_loop(struct sup *s)
{
	struct nt_err err = {{0}};
	uint64_t ticks;
	int code = -1;

	s->scan_at = S_now(); /* the first pass: a baseline, or what's new */
	while (code < 0 && !(s->stopping && s->w.pid == 0)) {
		int64_t now = S_now();
		struct pollfd pf[4];

		S_start(s, now);
		/* after S_start(): the pass it started is polled too */
		pf[0] = (struct pollfd){s->sfd, POLLIN, 0};
		pf[1] = (struct pollfd){s->ino, POLLIN, 0};
		pf[2] = (struct pollfd){s->tfd, POLLIN, 0};
		pf[3] = (struct pollfd){s->w.pid ? s->w.out : -1, POLLIN, 0};
		if (s->w.pid && s->w.deadline <= now) {
			log_warnx("a pass ran past %d s: %s",
				  WORKER_TIMEOUT_MS / 1000,
				  s->w.termed ? "killed" : "stopped");
			kill(s->w.pid, s->w.termed ? SIGKILL : SIGTERM);
			s->w.termed = true;
			s->w.deadline = now + WORKER_GRACE_MS;
		}
		if (S_due(s->wd_at, now)) {
			sdn_notify("WATCHDOG=1", &err);
			s->wd_at = now + s->wd_every;
		}
		S_arm(s, now);
		if (poll(pf, 4, -1) < 0 && errno != EINTR) {
			log_warn("poll");
			return EX_OSERR;
		}
		if (pf[0].revents)
			S_signals(s);
		if (pf[1].revents)
			S_events(s);
		if (pf[2].revents)
			while (read(s->tfd, &ticks, sizeof(ticks)) > 0)
				;
		if (pf[3].revents) {
			code = S_worker_out(s);
			S_status(s);
		}
	}
	return code < 0 ? EX_OK : code;
}

static const char S_usage[] =
	"usage: notify-watchd --scan PROGRAM --config FILE\n"
	"(run by `notify watch`; see notify(1))\n";

int main(int argc, char **argv)
{
	struct sup s = {.snap = -1,
			.scan_at = -1,
			.fetch_at = -1,
			.due_at = -1,
			.retry_at = -1,
			.wd_at = -1};
	struct nt_err err = {{0}};
	sigset_t set;
	int code;

	log_init();
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--scan") == 0)
			s.scan = argv[i + 1];
		else if (strcmp(argv[i], "--config") == 0)
			s.cfg_path = argv[i + 1];
	}
	if (s.scan == NULL || s.cfg_path == NULL || argc != 5) {
		fputs(S_usage, stderr);
		return EX_USAGE;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s.ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s.sfd < 0 || s.tfd < 0 || s.ino < 0) {
		log_warn("signalfd, timerfd or inotify");
		return EX_OSERR;
	}
	s.snap = S_snapshot(s.cfg_path);
	if (s.snap < 0)
		return EX_CONFIG;
	s.wd_every = sdn_watchdog_usec() / 2000; /* twice a period */
	if (s.wd_every > 0)
		s.wd_at = S_now();
	code = S_loop(&s);
	sdn_notify("STOPPING=1", &err);
	log_notice("stopped: %zu posts, %zu sent, %zu retried, %zu failed",
		   s.posts, s.sent, s.retried, s.failed);
	for (size_t i = 0; i < s.n_dirs; i++)
		free(s.dirs[i].rel);
	for (size_t i = 0; i < PENDING_MAX; i++)
		free(s.pending[i].rel);
	nt_strv_clear(&s.from);
	nt_strv_clear(&s.to);
	free(s.dirs);
	free(s.repo);
	free(s.branch);
	close(s.snap);
	return code;
}
