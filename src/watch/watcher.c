/*
 * watcher.c - which files may be new posts: libgit2 in git mode, a
 * listing of the posts folder in directory mode.  Which folders to watch
 * is told (watcher_dirs()); the watching is the supervisor's (watchd.c).
 */
#include "notify/watcher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify/buf.h"
#include "notify/log.h"
#include "notify/store.h"

/* Similarity (percent) from which a deleted and an added post are one
 * renamed post. */
#define RENAME_THRESHOLD 90
/* Folders below the posts folder a listing descends into. */
#define DIR_MAX_DEPTH 8

struct ignored {
	char *rel;
	uint64_t size;
	int64_t mtime;
};

struct watcher {
	char *repo;	 /* absolute, no trailing '/' */
	char *posts;	 /* relative to repo, no trailing '/' */
	char *posts_abs; /* repo/posts */
	size_t max_bytes;
	struct store *st;
	int settle_ms;
	const struct watch_conf *wc;

	git_repository *git; /* NULL in dir mode */
	char *ref;	     /* "refs/heads/NAME", or NULL: a detached HEAD */
	char *branch;	     /* NAME */

	struct nt_strv subdirs; /* dir mode: folders below posts, as listed */
	/* dir mode: renames inotify paired (watcher_moved()), the ids from
	 * and to, by position; whether the old one was seen is asked at the
	 * scan, where a read error can fail it */
	struct nt_strv moved_from, moved_to;
	struct ignored *ign;
	size_t n_ign;
};

static bool S_git_ready; /* git_libgit2_init() once a process */

/* ---- names --------------------------------------------------------- */

static const char *S_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The post id of a path: its file name less the extension. */
static char *S_id_of(const char *rel)
{
	const char *b = S_base(rel);
	const char *dot = strrchr(b, '.');

	return nt_xstrndup(b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

/* Whether the post of path 'rel' was seen.  A read error is an error, not
 * "new": taken for new, every post of the folder would be announced. */
static nt_rc S_seen(struct watcher *w, const char *rel, bool *seen,
		    struct nt_err *err)
{
	char *id = S_id_of(rel);
	nt_rc rc = store_seen_get(w->st, id, seen, err);

	free(id);
	return rc;
}

static bool S_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool watcher_is_post_name(const char *name)
{
	static const char *const exts[] = {
		".md", ".markdown", ".mkdown", ".mkdn", ".mkd", ".html", NULL};
	const char *dot = strrchr(name, '.');

	/* YYYY-MM-DD-x: Jekyll reads the date of a post from its name */
	if (name[0] == '.' || strlen(name) < 12 || !S_digits(name, 4) ||
	    name[4] != '-' || !S_digits(name + 5, 2) || name[7] != '-' ||
	    !S_digits(name + 8, 2) || name[10] != '-' || dot == NULL ||
	    dot <= name + 11)
		return false;
	for (size_t i = 0; exts[i]; i++)
		if (strcmp(dot, exts[i]) == 0)
			return true;
	return false;
}

static void S_file_init(struct watcher *w, struct watch_file *f,
			const char *rel)
{
	memset(f, 0, sizeof(*f));
	f->rel = nt_xstrdup(rel);
	f->path = nt_xasprintf("%s/%s", w->repo, rel);
	f->id = S_id_of(rel);
	if (!watcher_is_post_name(S_base(rel)))
		f->skip = "not a post (the name is not "
			  "YYYY-MM-DD-title.md)";
}

/* What a file's size says about it, once known. */
static void S_file_size(struct watcher *w, struct watch_file *f, uint64_t size)
{
	f->size = size;
	if (f->skip == NULL && size > w->max_bytes)
		f->skip = "too large (parser.max_post_bytes)";
}

void watch_file_clear(struct watch_file *f)
{
	free(f->rel);
	free(f->path);
	free(f->id);
	memset(f, 0, sizeof(*f));
}

void watch_batch_clear(struct watch_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		watch_file_clear(&b->v[i]);
	free(b->v);
	for (size_t i = 0; i < b->n_renamed; i++)
		watch_file_clear(&b->renamed[i]);
	free(b->renamed);
	free(b->mark);
	free(b->prev);
	memset(b, 0, sizeof(*b));
}

static struct watch_file *S_push(struct watch_batch *b)
{
	b->v = nt_xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
	return &b->v[b->n++];
}

/* A seen post under a new name: handed out to be recorded as seen. */
static struct watch_file *S_push_renamed(struct watch_batch *b)
{
	b->renamed = nt_xrealloc(b->renamed,
				 (b->n_renamed + 1) * sizeof(*b->renamed));
	return &b->renamed[b->n_renamed++];
}

static int S_by_rel(const void *a, const void *b)
{
	return strcmp(((const struct watch_file *)a)->rel,
		      ((const struct watch_file *)b)->rel);
}

/* ---- git ----------------------------------------------------------- */

static nt_rc S_git_fail(nt_rc rc, struct nt_err *err, const char *repo,
			const char *what)
{
	const git_error *e = git_error_last();

	return nt_fail(err, rc, "%s: %s: %s", repo, what,
		       e && e->message ? e->message : "libgit2 error");
}

/* The tip: the watched branch, or HEAD when it is detached.  GIT_
 * EUNBORNBRANCH / GIT_ENOTFOUND: no commit yet. */
static int S_tip(struct watcher *w, git_oid *oid)
{
	return git_reference_name_to_id(oid, w->git, w->ref ? w->ref : "HEAD");
}

/* libgit2, once a process: directory mode hashes contents with it too. */
static void S_git_init(void)
{
	if (S_git_ready)
		return;
	S_git_ready = true;
	git_libgit2_init();
	/* The owner check (CVE-2022-24765) guards the discovery of a
	 * repository planted above the current folder; site.repo is named
	 * by the administrator and opened without discovery, and a service
	 * (DynamicUser=) never owns it: without this, libgit2 refuses it as
	 * "not found". */
	git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	/* nor is the repository read through the settings of whoever runs
	 * it: a ~/.gitconfig of another user (HOME kept by su) cannot be
	 * read, and fails the open */
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL, "");
	git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG, "");
}

static nt_rc S_git_open(struct watcher *w, bool must, struct nt_err *err)
{
	char *dotgit = nt_xasprintf("%s/.git", w->repo);
	bool has_git = access(dotgit, F_OK) == 0;
	git_reference *head = NULL;
	int r;

	free(dotgit);
	if (!has_git && !must)
		return NT_OK; /* auto: not a work tree, directory mode */
	r = git_repository_open_ext(&w->git, w->repo,
				    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (r)
		return S_git_fail(NT_ECONFIG, err, w->repo,
				  has_git ? "cannot open the git repository"
					  : "not a git work tree "
					    "(watch.mode = git)");
	if (git_repository_is_bare(w->git))
		return nt_fail(err, NT_ECONFIG, "%s: a bare repository",
			       w->repo);
	if (w->wc->branch) {
		w->branch = nt_xstrdup(w->wc->branch);
		w->ref = nt_xasprintf("refs/heads/%s", w->wc->branch);
		if (git_reference_lookup(&head, w->git, w->ref))
			return S_git_fail(NT_ECONFIG, err, w->repo,
					  "watch.branch");
		git_reference_free(head);
		return NT_OK;
	}
	/* the branch HEAD names, even an unborn one (no commit yet) */
	r = git_reference_lookup(&head, w->git, "HEAD");
	if (r)
		return S_git_fail(NT_EIO, err, w->repo, "HEAD");
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		const char *t = git_reference_symbolic_target(head);

		w->ref = nt_xstrdup(t);
		w->branch = nt_xstrdup(
			strncmp(t, "refs/heads/", 11) == 0 ? t + 11 : t);
	}
	git_reference_free(head);
	return NT_OK;
}

static void S_hex(const git_oid *oid, char out[GIT_OID_HEXSZ + 1])
{
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, oid);
}

/* The posts folder in the tree of 'commit', or NULL when it has none. */
static git_tree *S_posts_tree(struct watcher *w, const git_oid *commit, int *r)
{
	git_commit *c = NULL;
	git_tree *root = NULL, *sub = NULL;
	git_tree_entry *e = NULL;

	*r = git_commit_lookup(&c, w->git, commit);
	if (*r == 0)
		*r = git_commit_tree(&root, c);
	if (*r == 0 && git_tree_entry_bypath(&e, root, w->posts) == 0 &&
	    git_tree_entry_type(e) == GIT_OBJECT_TREE)
		*r = git_tree_lookup(&sub, w->git, git_tree_entry_id(e));
	git_tree_entry_free(e);
	git_tree_free(root);
	git_commit_free(c);
	return sub;
}

/* A file of the tree as a candidate. */
static void S_git_file(struct watcher *w, struct watch_file *f, const char *rel,
		       git_filemode_t mode, const git_oid *oid)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t size = 0;

	S_file_init(w, f, rel);
	memcpy(f->oid, oid->id, sizeof(f->oid));
	git_oid_tostr(f->blob, sizeof(f->blob), oid);
	if (mode == GIT_FILEMODE_LINK) {
		f->skip = "a symbolic link";
		return;
	}
	if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
		f->skip = "not a file";
		return;
	}
	if (git_repository_odb(&odb, w->git) == 0 &&
	    git_odb_read_header(&size, &type, odb, oid) == 0)
		S_file_size(w, f, size);
	git_odb_free(odb);
}

struct walk {
	struct watcher *w;
	struct watch_batch *b;
	nt_rc rc;
	struct nt_err *err;
};

static int S_walk_cb(const char *root, const git_tree_entry *e, void *ctx)
{
	struct walk *k = ctx;
	bool seen = false;
	char *rel;

	if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
		return 0;
	rel = nt_xasprintf("%s/%s%s", k->w->posts, root,
			   git_tree_entry_name(e));
	k->rc = S_seen(k->w, rel, &seen, k->err);
	if (k->rc == NT_OK && !seen)
		S_git_file(k->w, S_push(k->b), rel, git_tree_entry_filemode(e),
			   git_tree_entry_id(e));
	free(rel);
	return k->rc ? -1 : 0; /* a negative value ends the walk */
}

/* Every post of the tip never seen. */
static nt_rc S_git_all(struct watcher *w, const git_oid *tip,
		       struct watch_batch *b, struct nt_err *err)
{
	int r;
	git_tree *t = S_posts_tree(w, tip, &r);
	struct walk k = {w, b, NT_OK, err};

	if (r)
		return S_git_fail(NT_EIO, err, w->repo, "reading the tip");
	if (t && git_tree_walk(t, GIT_TREEWALK_PRE, S_walk_cb, &k))
		r = -1;
	git_tree_free(t);
	if (k.rc)
		return k.rc; /* the store's error, in err */
	return r ? S_git_fail(NT_EIO, err, w->repo, "listing the posts")
		 : NT_OK;
}

static bool S_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static nt_rc S_delta(struct watcher *w, const git_diff_delta *d,
		     struct watch_batch *b, struct nt_err *err)
{
	bool seen = false, old_seen = false;
	nt_rc rc;

	if (!S_under(d->new_file.path, w->posts)) {
		if (d->status == GIT_DELTA_ADDED) {
			S_file_init(w, S_push(b), d->new_file.path);
			b->v[b->n - 1].skip = "a draft (_drafts/)";
		}
		return NT_OK;
	}
	rc = S_seen(w, d->new_file.path, &seen, err);
	if (rc == NT_OK && d->status == GIT_DELTA_RENAMED && !seen)
		rc = S_seen(w, d->old_file.path, &old_seen, err);
	if (rc)
		return rc;

	switch (d->status) {
	case GIT_DELTA_ADDED:
	case GIT_DELTA_MODIFIED: /* a post never announced: now it may be */
	case GIT_DELTA_TYPECHANGE:
		if (!seen)
			S_git_file(w, S_push(b), d->new_file.path,
				   d->new_file.mode, &d->new_file.id);
		break;
	case GIT_DELTA_RENAMED:
		if (seen)
			break;
		if (old_seen) /* not new: seen before */
			S_git_file(w, S_push_renamed(b), d->new_file.path,
				   d->new_file.mode, &d->new_file.id);
		else
			S_git_file(w, S_push(b), d->new_file.path,
				   d->new_file.mode, &d->new_file.id);
		break;
	default: /* deleted, unmodified */
		break;
	}
	return NT_OK;
}

/* The files of posts folder that 'from' (NULL: the empty tree) and
 * 'to' differ by, renames detected. */
static nt_rc S_git_diff(struct watcher *w, const git_oid *from,
			const git_oid *to, struct watch_batch *b,
			struct nt_err *err)
{
	git_diff_options o;
	git_diff_find_options fo;
	git_commit *c1 = NULL, *c2 = NULL;
	git_tree *t1 = NULL, *t2 = NULL;
	git_diff *diff = NULL;
	/* _drafts too, to say why a draft is not announced */
	char *spec[] = {w->posts, (char *)"_drafts"};
	nt_rc rc = NT_OK;
	int r = 0;

	/* the _init calls, not the macros: those leave fields out */
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	git_diff_find_options_init(&fo, GIT_DIFF_FIND_OPTIONS_VERSION);
	o.pathspec.strings = spec;
	o.pathspec.count = 2;
	/* A post is renamed whole (a slug fixed): only a near copy is a
	 * rename.  git's 50 % pairs a new post with a deleted one written
	 * on the same template, and a new post taken for a rename is an
	 * alert lost. */
	fo.flags = GIT_DIFF_FIND_RENAMES;
	fo.rename_threshold = RENAME_THRESHOLD;
	if (from)
		r = git_commit_lookup(&c1, w->git, from);
	if (r == 0 && from)
		r = git_commit_tree(&t1, c1);
	if (r == 0)
		r = git_commit_lookup(&c2, w->git, to);
	if (r == 0)
		r = git_commit_tree(&t2, c2);
	if (r == 0)
		r = git_diff_tree_to_tree(&diff, w->git, t1, t2, &o);
	if (r == 0)
		r = git_diff_find_similar(diff, &fo);
	for (size_t i = 0;
	     r == 0 && rc == NT_OK && i < git_diff_num_deltas(diff); i++)
		rc = S_delta(w, git_diff_get_delta(diff, i), b, err);
	git_diff_free(diff);
	git_tree_free(t1);
	git_tree_free(t2);
	git_commit_free(c1);
	git_commit_free(c2);
	if (rc)
		return rc; /* the store's error, in err */
	return r ? S_git_fail(NT_EIO, err, w->repo, "comparing commits")
		 : NT_OK;
}

/* The mark of a repository without any commit yet. */
#define MARK_EMPTY "empty"

static nt_rc S_git_scan(struct watcher *w, bool all, const char *mark,
			struct watch_batch *b, struct nt_err *err)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid tip, old;
	int r = S_tip(w, &tip);
	bool from_empty = false;

	if (r == GIT_EUNBORNBRANCH || r == GIT_ENOTFOUND) {
		/* nothing committed yet: nothing to list */
		b->first_run = mark == NULL;
		b->mark = mark ? NULL : nt_xstrdup(MARK_EMPTY);
		return NT_OK;
	}
	if (r)
		return S_git_fail(NT_EIO, err, w->repo, "resolving the tip");
	S_hex(&tip, hex);
	snprintf(b->commit, sizeof(b->commit), "%.12s", hex);
	if (mark == NULL) {
		b->first_run = true;
		all = true;
	} else if (!all && strcmp(mark, hex) == 0) {
		return NT_OK; /* nothing new */
	} else if (!all && strcmp(mark, MARK_EMPTY) == 0) {
		from_empty = true;
	} else if (!all) {
		git_commit *c = NULL;

		/* gone from the history (a rebase, a forced push): the seen
		 * set decides, so that old posts are not announced again */
		if (git_oid_fromstrn(&old, mark, strlen(mark)) != 0 ||
		    strlen(mark) != GIT_OID_HEXSZ ||
		    git_commit_lookup(&c, w->git, &old) != 0 ||
		    (!git_oid_equal(&old, &tip) &&
		     git_graph_descendant_of(w->git, &tip, &old) != 1)) {
			b->rewritten = true;
			all = true;
		}
		git_commit_free(c);
	}
	b->mark = nt_xstrdup(hex);
	if (all)
		return S_git_all(w, &tip, b, err);
	return S_git_diff(w, from_empty ? NULL : &old, &tip, b, err);
}

/* Whether HEAD names the watched branch (its files are the work tree). */
static bool S_checked_out(struct watcher *w)
{
	git_reference *head = NULL;
	bool yes = false;

	if (git_reference_lookup(&head, w->git, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
		yes = strcmp(git_reference_symbolic_target(head), w->ref) == 0;
	git_reference_free(head);
	return yes;
}

nt_rc watcher_fetch(struct watcher *w, struct nt_err *err)
{
	git_fetch_options fo;
	git_checkout_options co;
	git_remote *remote = NULL;
	git_reference *ref = NULL, *moved = NULL;
	git_object *target = NULL;
	git_oid local, theirs;
	char *tracking;
	nt_rc rc = NT_OK;

	if (w->git == NULL || w->wc->remote == NULL || w->branch == NULL)
		return NT_OK;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	if (git_remote_lookup(&remote, w->git, w->wc->remote))
		return S_git_fail(NT_EIO, err, w->repo, "watch.remote");
	if (git_remote_fetch(remote, NULL, &fo, "notify: fetch")) {
		rc = S_git_fail(NT_ETEMP, err, w->repo, "fetch");
		git_remote_free(remote);
		return rc;
	}
	git_remote_free(remote);
	tracking = nt_xasprintf("refs/remotes/%s/%s", w->wc->remote, w->branch);
	if (git_reference_name_to_id(&theirs, w->git, tracking) ||
	    git_reference_lookup(&ref, w->git, w->ref) ||
	    git_reference_name_to_id(&local, w->git, w->ref)) {
		rc = S_git_fail(NT_EIO, err, w->repo, tracking);
	} else if (git_oid_equal(&local, &theirs)) {
		rc = NT_OK;
	} else if (git_graph_descendant_of(w->git, &theirs, &local) != 1) {
		rc = nt_fail(err, NT_EIO,
			     "%s: %s cannot be fast-forwarded to %s", w->repo,
			     w->branch, tracking);
	} else {
		/* the work tree first, and only when the branch is checked
		 * out: SAFE refuses to overwrite local changes */
		co.checkout_strategy = GIT_CHECKOUT_SAFE;
		if (git_object_lookup(&target, w->git, &theirs,
				      GIT_OBJECT_COMMIT) ||
		    (S_checked_out(w) &&
		     git_checkout_tree(w->git, target, &co)) ||
		    git_reference_set_target(&moved, ref, &theirs,
					     "notify: fast-forward"))
			rc = S_git_fail(NT_EIO, err, w->repo, "fast-forward");
	}
	git_object_free(target);
	git_reference_free(moved);
	git_reference_free(ref);
	free(tracking);
	return rc;
}

/* ---- directory mode ------------------------------------------------ */

static bool S_ignored(const struct watcher *w, const char *rel,
		      const struct stat *sb)
{
	for (size_t i = 0; i < w->n_ign; i++)
		if (strcmp(w->ign[i].rel, rel) == 0)
			return w->ign[i].size == (uint64_t)sb->st_size &&
			       w->ign[i].mtime == (int64_t)sb->st_mtime;
	return false;
}

void watcher_ignore(struct watcher *w, const struct watch_file *f)
{
	size_t i = 0;

	if (w->git)
		return;
	while (i < w->n_ign && strcmp(w->ign[i].rel, f->rel) != 0)
		i++;
	if (i == w->n_ign) {
		w->ign = nt_xrealloc(w->ign, (w->n_ign + 1) * sizeof(*w->ign));
		w->ign[w->n_ign++].rel = nt_xstrdup(f->rel);
	}
	w->ign[i].size = f->size;
	w->ign[i].mtime = f->mtime;
}

/* A directory entry as a candidate. */
static void S_dir_file(struct watcher *w, struct watch_file *f, const char *rel,
		       const struct stat *sb)
{
	S_file_init(w, f, rel);
	f->mtime = (int64_t)sb->st_mtime;
	if (S_ISLNK(sb->st_mode))
		f->skip = "a symbolic link";
	else if (!S_ISREG(sb->st_mode))
		f->skip = "not a file";
	S_file_size(w, f, (uint64_t)sb->st_size);
}

/* Dir mode: the file's git blob id, as git would compute it, so that a
 * post keeps the same content id in both modes.  "" when unreadable
 * (the read that follows says why). */
static void S_dir_blob(struct watcher *w, struct watch_file *f)
{
	char *buf = NULL;
	size_t len = 0;
	struct nt_err err;
	git_oid oid;

	if (f->skip ||
	    nt_read_file(f->path, w->max_bytes, &buf, &len, &err) != NT_OK)
		return;
	if (git_odb_hash(&oid, buf, len, GIT_OBJECT_BLOB) == 0) {
		memcpy(f->oid, oid.id, sizeof(f->oid));
		git_oid_tostr(f->blob, sizeof(f->blob), &oid);
	}
	free(buf);
}

struct gone {
	struct watcher *w;
	bool found;
};

/* A seen post with the same contents whose file is gone: renamed. */
static void S_gone_cb(void *ctx, const char *post_id, const char *path)
{
	struct gone *g = ctx;
	char *abs = nt_xasprintf("%s/%s", g->w->repo, path);
	struct stat sb;

	(void)post_id;
	if (lstat(abs, &sb) != 0 && errno == ENOENT)
		g->found = true;
	free(abs);
}

/* Whether 'f' is a seen post renamed: inotify paired the rename
 * (watcher_moved()) and the old name was seen, or its contents are a seen
 * post's whose file is gone.  A read error fails the scan. */
static nt_rc S_renamed(struct watcher *w, const struct watch_file *f,
		       bool *renamed, struct nt_err *err)
{
	struct gone g = {w, false};
	nt_rc rc = NT_OK;

	*renamed = false;
	for (size_t i = 0; rc == NT_OK && !*renamed && i < w->moved_to.n; i++)
		if (strcmp(w->moved_to.v[i], f->id) == 0)
			rc = store_seen_get(w->st, w->moved_from.v[i], renamed,
					    err);
	if (rc || *renamed || f->blob[0] == '\0')
		return rc;
	rc = store_seen_blob(w->st, f->blob, S_gone_cb, &g, err);
	*renamed = g.found;
	return rc;
}

/* One file of a listing: a candidate, a seen post renamed, or nothing
 * (seen, or ignored until it changes). */
static nt_rc S_dir_entry(struct watcher *w, const char *rel,
			 const struct stat *sb, struct watch_batch *b,
			 struct nt_err *err)
{
	struct watch_file f;
	bool seen = false, renamed = false;
	nt_rc rc = S_seen(w, rel, &seen, err);

	if (rc || seen || S_ignored(w, rel, sb))
		return rc;
	S_dir_file(w, &f, rel, sb);
	S_dir_blob(w, &f);
	rc = S_renamed(w, &f, &renamed, err);
	if (rc) {
		watch_file_clear(&f);
		return rc;
	}
	/* the same contents under another name: not new */
	*(renamed ? S_push_renamed(b) : S_push(b)) = f;
	return NT_OK;
}

static nt_rc S_dir_list(struct watcher *w, const char *rel, int depth,
			struct watch_batch *b, struct nt_err *err)
{
	char *abs = nt_xasprintf("%s/%s", w->repo, rel);
	DIR *d = opendir(abs);
	struct dirent *de;
	nt_rc rc = NT_OK;

	if (d == NULL) {
		rc = nt_fail(err, errno == ENOENT ? NT_ENOENT : NT_EIO,
			     "%s: %s", abs, strerror(errno));
		free(abs);
		return rc;
	}
	if (depth > 0) /* to be watched too */
		nt_strv_pushdup(&w->subdirs, rel);
	while (rc == NT_OK && (de = readdir(d)) != NULL) {
		struct stat sb;
		char *sub;

		if (de->d_name[0] == '.')
			continue; /* ., .., hidden and editors' files */
		sub = nt_xasprintf("%s/%s", rel, de->d_name);
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW)) {
			free(sub);
			continue; /* gone since readdir() */
		}
		if (!S_ISDIR(sb.st_mode))
			rc = S_dir_entry(w, sub, &sb, b, err);
		else if (depth < DIR_MAX_DEPTH)
			rc = S_dir_list(w, sub, depth + 1, b, err);
		free(sub);
	}
	closedir(d);
	free(abs);
	return rc;
}

/* Dir mode has no commit to record: each batch moves a generation
 * ("dir N"), so that two scans at once cannot both commit theirs. */
static nt_rc S_dir_scan(struct watcher *w, const char *mark,
			struct watch_batch *b, struct nt_err *err)
{
	unsigned long long gen = 0;

	b->first_run = mark == NULL;
	if (mark && sscanf(mark, "dir %llu", &gen) != 1)
		gen = 0;
	b->mark = nt_xasprintf("dir %llu", gen + 1);
	nt_strv_clear(&w->subdirs);
	return S_dir_list(w, w->posts, 0, b, err);
}

/* ---- both ---------------------------------------------------------- */

nt_rc watcher_open(const char *repo, const char *posts_dir,
		   const struct watch_conf *wc, size_t max_bytes,
		   struct store *st, struct watcher **out, struct nt_err *err)
{
	struct watcher *w = nt_xcalloc(1, sizeof(*w));
	size_t n = strlen(repo);
	struct stat sb;
	nt_rc rc = NT_OK;

	while (n > 1 && repo[n - 1] == '/')
		n--;
	w->repo = nt_xstrndup(repo, n);
	w->posts = nt_xstrdup(posts_dir);
	for (n = strlen(w->posts); n > 1 && w->posts[n - 1] == '/';)
		w->posts[--n] = '\0';
	w->posts_abs = nt_xasprintf("%s/%s", w->repo, w->posts);
	w->max_bytes = max_bytes;
	w->st = st;
	w->wc = wc;
	w->settle_ms = wc->settle_ms;
	S_git_init();
	if (stat(w->repo, &sb) != 0 || !S_ISDIR(sb.st_mode))
		rc = nt_fail(err, NT_ENOENT, "%s: no such folder (site.repo)",
			     w->repo);
	else if (wc->mode != WATCH_DIR)
		rc = S_git_open(w, wc->mode == WATCH_GIT, err);
	if (rc == NT_OK && w->git == NULL &&
	    (stat(w->posts_abs, &sb) != 0 || !S_ISDIR(sb.st_mode)))
		rc = nt_fail(err, NT_ENOENT, "%s: no such folder (posts_dir)",
			     w->posts_abs);
	if (rc) {
		watcher_free(w);
		return rc;
	}
	*out = w;
	return NT_OK;
}

void watcher_free(struct watcher *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n_ign; i++)
		free(w->ign[i].rel);
	free(w->ign);
	nt_strv_clear(&w->subdirs);
	nt_strv_clear(&w->moved_from);
	nt_strv_clear(&w->moved_to);
	git_repository_free(w->git);
	free(w->ref);
	free(w->branch);
	free(w->posts_abs);
	free(w->posts);
	free(w->repo);
	free(w);
}

bool watcher_is_git(const struct watcher *w)
{
	return w->git != NULL;
}

const char *watcher_branch(const struct watcher *w)
{
	return w->branch;
}

nt_rc watcher_scan(struct watcher *w, bool all, struct watch_batch *b,
		   struct nt_err *err)
{
	char *mark = NULL;
	nt_rc rc = store_kv_get(w->st, WATCHER_MARK_KEY, &mark, err);

	memset(b, 0, sizeof(*b));
	if (rc == NT_OK)
		rc = w->git ? S_git_scan(w, all, mark, b, err)
			    : S_dir_scan(w, mark, b, err);
	b->prev = mark;
	if (rc) {
		watch_batch_clear(b);
		return rc;
	}
	if (b->n > 0) /* qsort(NULL, 0, ...) is undefined */
		qsort(b->v, b->n, sizeof(*b->v), S_by_rel);
	return NT_OK;
}

nt_rc watcher_read(struct watcher *w, const struct watch_file *f, char **buf,
		   size_t *len, struct nt_err *err)
{
	git_blob *blob = NULL;
	git_oid oid;
	size_t n;

	if (w->git == NULL)
		return nt_read_file(f->path, w->max_bytes, buf, len, err);
	memcpy(oid.id, f->oid, sizeof(f->oid));
	if (git_blob_lookup(&blob, w->git, &oid))
		return S_git_fail(NT_EIO, err, f->path, "reading the commit");
	n = (size_t)git_blob_rawsize(blob);
	if (n > w->max_bytes) {
		git_blob_free(blob);
		return nt_fail(err, NT_ETOOBIG, "%s: larger than %zu bytes",
			       f->path, w->max_bytes);
	}
	*buf = nt_xmalloc(n + 1);
	memcpy(*buf, git_blob_rawcontent(blob), n);
	(*buf)[n] = '\0';
	*len = n;
	git_blob_free(blob);
	return NT_OK;
}

nt_rc watcher_lookup(struct watcher *w, const char *rel, struct watch_file *f,
		     struct nt_err *err)
{
	git_commit *c = NULL;
	git_tree *root = NULL;
	git_tree_entry *e = NULL;
	git_oid tip;
	struct stat sb;
	char *abs;
	int r;

	if (w->git == NULL) {
		abs = nt_xasprintf("%s/%s", w->repo, rel);
		r = lstat(abs, &sb);
		free(abs);
		if (r)
			return nt_fail(err, NT_ENOENT, "%s/%s: %s", w->repo,
				       rel, strerror(errno));
		S_dir_file(w, f, rel, &sb);
		return NT_OK;
	}
	r = S_tip(w, &tip);
	if (r == 0)
		r = git_commit_lookup(&c, w->git, &tip);
	if (r == 0)
		r = git_commit_tree(&root, c);
	if (r == 0)
		r = git_tree_entry_bypath(&e, root, rel);
	if (r == 0)
		S_git_file(w, f, rel, git_tree_entry_filemode(e),
			   git_tree_entry_id(e));
	git_tree_entry_free(e);
	git_tree_free(root);
	git_commit_free(c);
	if (r == GIT_ENOTFOUND)
		return nt_fail(err, NT_ENOENT, "%s/%s: gone", w->repo, rel);
	return r ? S_git_fail(NT_EIO, err, w->repo, rel) : NT_OK;
}

/* ---- what to watch ------------------------------------------------- */

void watcher_dirs(struct watcher *w,
		  void (*fn)(void *ctx, enum watch_dir kind, const char *path,
			     const char *rel),
		  void *ctx)
{
	if (w->git) {
		/* HEAD and packed-refs live in the git folder(s), loose refs
		 * below refs/heads (a branch "a/b" in a folder of its own) */
		const char *gitdir = git_repository_path(w->git);
		const char *common = git_repository_commondir(w->git);
		char *heads = nt_xasprintf("%srefs/heads", common);
		char *dir = w->branch ? nt_xasprintf("%s/%s", heads, w->branch)
				      : NULL;

		fn(ctx, WATCH_DIR_GIT, gitdir, NULL);
		if (strcmp(common, gitdir) != 0)
			fn(ctx, WATCH_DIR_GIT, common, NULL);
		fn(ctx, WATCH_DIR_REFS, heads, NULL);
		if (dir) {
			*strrchr(dir, '/') = '\0';
			if (strcmp(dir, heads) != 0)
				fn(ctx, WATCH_DIR_REFS, dir, NULL);
		}
		free(dir);
		free(heads);
		return;
	}
	fn(ctx, WATCH_DIR_POSTS, w->posts_abs, w->posts);
	for (size_t i = 0; i < w->subdirs.n; i++) {
		char *abs = nt_xasprintf("%s/%s", w->repo, w->subdirs.v[i]);

		fn(ctx, WATCH_DIR_POSTS, abs, w->subdirs.v[i]);
		free(abs);
	}
}

void watcher_moved(struct watcher *w, const char *from_rel, const char *to_rel)
{
	nt_strv_push(&w->moved_from, S_id_of(from_rel));
	nt_strv_push(&w->moved_to, S_id_of(to_rel));
}
