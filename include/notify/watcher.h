/*
 * watcher.h - which files of the site may be new posts (DESIGN.md step 2).
 *
 * Git mode (site.repo is a git work tree, or watch.mode = "git"): the new
 * files are those added under the posts folder between the last
 * processed commit and the tip of the branch (libgit2, renames detected,
 * modifications and deletions ignored, merges seen through their trees),
 * plus modified files whose post was never announced (a `published:
 * false` turned true, a broken post fixed).  Contents are read from the
 * commit, not from the work tree, so what is announced is what was
 * committed.  When the last processed commit is no longer an ancestor
 * (history rewritten), every post of the tip that was never seen is a
 * candidate: the seen set, not the history, keeps old posts out.
 *
 * Directory mode: every file of the posts folder whose post was never
 * seen, unless its contents are those of a seen post whose file is gone
 * (renamed, even while nobody watched).  When to look is not decided here:
 * `notify watch` follows the folders watcher_dirs() names with inotify
 * (watchd.c).
 *
 * The watcher reads the outbox (the seen set, the last processed commit)
 * but never writes it: a scan hands out a batch whose 'mark' the caller
 * commits with the deliveries (store_commit_batch()), so a crash between
 * the two cannot happen.  Not thread-safe.
 */
#ifndef NOTIFY_WATCHER_H
#define NOTIFY_WATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/config.h"
#include "notify/result.h"

struct store;
struct watcher;

/* The outbox key under which the last processed state is kept. */
#define WATCHER_MARK_KEY "watch.mark"

/* One file that may be a new post. */
struct watch_file {
	char *rel;	  /* path from the repository root */
	char *path;	  /* absolute path, for messages */
	char *id;	  /* post id: the file name less its extension */
	const char *skip; /* static reason it is not a post, or NULL */
	uint64_t size;
	int64_t mtime;	       /* dir mode */
	unsigned char oid[20]; /* git mode: the blob */
	char blob[41];	       /* the contents' git blob id, "" unknown */
};

/* What one scan found.  Owned by the caller: watch_batch_clear(). */
struct watch_batch {
	struct watch_file *v; /* candidates, never seen before */
	size_t n;
	/* seen posts under a new name (a rename git detected, or the same
	 * contents as a seen post whose file is gone): to be marked seen */
	struct watch_file *renamed;
	size_t n_renamed;
	char *mark;	 /* the state to record as processed (with
			  * WATCHER_MARK_KEY), NULL when nothing changed */
	char *prev;	 /* the state this scan started from (NULL: none):
			  * the batch commits only if it still holds */
	bool first_run;	 /* no state recorded yet: a baseline is due */
	bool rewritten;	 /* the recorded commit is gone from the history */
	char commit[13]; /* git mode: short id of the tip, else "" */
};

void watch_batch_clear(struct watch_batch *b);

/* Opens the watcher of the site at 'repo' (absolute), posts under
 * 'posts_dir' (relative to it), in mode w->mode (auto: git when 'repo' is
 * a git work tree), reading 'st' (borrowed, outliving the watcher).
 * 'max_bytes' is the size over which a file is skipped.  On NT_OK *out is
 * owned (watcher_free()).  Errors: NT_ENOENT (no such folder), NT_ECONFIG
 * (mode "git" on a folder that is no work tree, a branch that does not
 * exist), NT_EIO (the repository cannot be read). */
nt_rc watcher_open(const char *repo, const char *posts_dir,
		   const struct watch_conf *wc, size_t max_bytes,
		   struct store *st, struct watcher **out, struct nt_err *err);

/* Frees 'w'; watcher_free(NULL) does nothing. */
void watcher_free(struct watcher *w);

bool watcher_is_git(const struct watcher *w);

/* The branch watched (git mode, e.g. "main"), else NULL.  Borrowed. */
const char *watcher_branch(const struct watcher *w);

/* Finds what is new.  all = false: since the recorded state (first_run
 * when there is none; then, as with all = true, every unseen post is
 * listed).  all = true: every post of the tip (or folder) never seen.
 * Candidates come sorted by path.  Results: NT_OK (b filled), NT_EIO
 * (the repository or the folder cannot be read; b left empty), or the
 * outbox's error when it cannot say whether a post was seen: a read error
 * never makes a post new (in directory mode, the whole archive). */
nt_rc watcher_scan(struct watcher *w, bool all, struct watch_batch *b,
		   struct nt_err *err);

/* Reads the contents of 'f' (from its commit, or the file): on NT_OK
 * *buf (owned, NUL-terminated) holds *len bytes.  Errors: NT_ETOOBIG,
 * NT_ENOENT (gone), NT_EIO, each naming the file. */
nt_rc watcher_read(struct watcher *w, const struct watch_file *f, char **buf,
		   size_t *len, struct nt_err *err);

/* Reads the file at 'rel' as it is now at the tip (a held post whose day
 * has come): fills *f (watch_file_clear()).  NT_ENOENT when it is gone. */
nt_rc watcher_lookup(struct watcher *w, const char *rel, struct watch_file *f,
		     struct nt_err *err);
void watch_file_clear(struct watch_file *f);

/* Dir mode: do not list 'f' again until it changes (a file that is no
 * post, or not yet published).  Git mode needs none of it. */
void watcher_ignore(struct watcher *w, const struct watch_file *f);

/* The folders whose changes call for a scan, as the last scan left them:
 * - WATCH_DIR_GIT: a git folder, where HEAD or packed-refs may change;
 * - WATCH_DIR_REFS: a folder of branch refs (NAME, not NAME.lock);
 * - WATCH_DIR_POSTS: the posts folder and the folders below it (dir
 *   mode), 'rel' being its path from the site root.
 * fn gets each once; the strings are borrowed for the call. */
enum watch_dir { WATCH_DIR_GIT, WATCH_DIR_REFS, WATCH_DIR_POSTS };
void watcher_dirs(struct watcher *w,
		  void (*fn)(void *ctx, enum watch_dir kind, const char *path,
			     const char *rel),
		  void *ctx);

/* Dir mode: 'from_rel' was renamed 'to_rel' (paths from the site root,
 * as inotify paired them).  When the old name was seen, the next scan
 * hands the new one out as renamed, not new, even if it was edited too
 * (the contents alone tell a rename without an edit). */
void watcher_moved(struct watcher *w, const char *from_rel, const char *to_rel);

/* Git mode with watch.remote: fetches it and fast-forwards the branch
 * (and the work tree, when the branch is checked out).  A failure is
 * returned (NT_ETEMP: network; NT_EIO: not a fast-forward, a dirty work
 * tree) for the caller to log; nothing is changed then. */
nt_rc watcher_fetch(struct watcher *w, struct nt_err *err);

/* Whether a post file name: YYYY-MM-DD-slug and a Markdown or HTML
 * extension, not hidden. */
bool watcher_is_post_name(const char *name);

#endif
