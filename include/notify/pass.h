/*
 * pass.h - one pass over the site, the plan behind `notify scan` and each
 * pass of `notify watch` (DESIGN.md steps 2 to 8 in a row):
 *
 * 1. the watcher lists the files that may be new (watcher.h);
 * 2. each is read, parsed and judged: announced, held until its date (a
 *    site with future: false), recorded as seen (a baseline, the older
 *    posts of a backfill), or skipped with a log line (a draft, not
 *    published, a bad post: left unseen, so that a fix brings it in);
 * 3. the batch -- its delivery rows, what it marks seen, its holds, the
 *    watcher's new mark -- is committed to the outbox in one transaction,
 *    which is refused when another process committed meanwhile (the pass
 *    then reads again, up to PASS_TRIES times);
 * 4. held posts whose date has come are judged again (step 2) and
 *    committed the same way;
 * 5. the outbox is worked: pass_deliver(), the one call of the dispatcher.
 *
 * A post without a zone in its date is placed in time in the site's
 * `timezone` (tz.h, never through the process's TZ), else in the
 * machine's, as Jekyll does.  The outbox is never taken as "not seen" on a
 * read error: the pass fails instead (in directory mode, an error taken
 * for "new" would announce the whole archive).
 *
 * Nothing here prints, except the dry run (pass_set_dry_run()); outcomes
 * are told to the caller (pass_deliver()).  Not thread-safe.
 */
#ifndef NOTIFY_PASS_H
#define NOTIFY_PASS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "notify/chan.h"
#include "notify/config.h"
#include "notify/result.h"

struct pass;
struct dlv;
struct watcher;

/* Times a pass reads again when another process committed first. */
#define PASS_TRIES 3
/* Seconds a pass waits for a retry due soon (a receiver's rate limit)
 * rather than leave it to another pass, which costs a process. */
#define PASS_WAIT_S 5

enum pass_how {
	PASS_NEW,      /* what is new (a baseline on the first run) */
	PASS_BASELINE, /* every post recorded as seen, nothing sent */
	PASS_BACKFILL, /* the newest N posts never seen are sent */
};

/* What this pass did so far. */
struct pass_counts {
	size_t posts; /* announced (committed to the outbox) */
	size_t rows;  /* delivery rows of the last batch committed */
	size_t sent, retried, failed;
};

/* Told once per delivery attempt: the row (borrowed for the call), how it
 * ended, and when it is tried again (-1: never). */
typedef void (*pass_outcome_fn)(void *ctx, const struct dlv *row,
				const struct chan_outcome *o, int64_t next_at);

/* Opens the outbox (config 'state') and the watcher of site.repo, for
 * configuration 'cfg' (borrowed, outliving the pass; its channels are
 * taken as checked).  On NT_OK *out is owned (pass_free()); on failure it
 * is untouched.  Results: NT_ECONFIG (no site.repo, no state), or those
 * of store_open() and watcher_open(). */
nt_rc pass_open(const struct config *cfg, struct pass **out,
		struct nt_err *err);

/* Frees 'p' and closes what it opened; pass_free(NULL) does nothing. */
void pass_free(struct pass *p);

/* Tests: the time the pass takes for "now" (unix seconds); 0, the
 * default, is the clock. */
void pass_set_clock(struct pass *p, int64_t now);

/* Nothing is committed or sent: what each channel would get is printed to
 * 'out' (borrowed) as `notify --post --dry-run` prints it. */
void pass_set_dry_run(struct pass *p, FILE *out);

/* Git mode with watch.remote: fetches and fast-forwards (watcher_fetch());
 * a failure is logged, and the pass goes on with what it has. */
void pass_fetch(struct pass *p);

/* Directory mode: inotify saw 'from_rel' renamed 'to_rel' (paths from the
 * site root; untrusted, only compared): see watcher_moved(). */
void pass_moved(struct pass *p, const char *from_rel, const char *to_rel);

/* Steps 1 to 4 above ('backfill': how many, for PASS_BACKFILL).  A bad
 * post is only logged.  Results: the watcher's or the outbox's error
 * (NT_EIO, NT_ETEMP: another process kept committing first...), in which
 * case nothing of the failed batch was committed. */
nt_rc pass_scan(struct pass *p, enum pass_how how, size_t backfill,
		struct nt_err *err);

/* Step 5: sends the rows due now, every channel in its own lane, waiting
 * PASS_WAIT_S for a retry due soon, until none is due or '*stop' (may be
 * NULL) is set -- by a signal handler: each lane then finishes the send
 * in flight.  fn (may be NULL) hears of each outcome, after the counts.
 * Returns NT_OK when the outbox could be worked (however the sends
 * ended), else the store's error.  Does nothing in a dry run. */
nt_rc pass_deliver(struct pass *p, volatile sig_atomic_t *stop,
		   pass_outcome_fn fn, void *ctx, struct nt_err *err);

/* The counts so far; borrowed, valid until pass_free(). */
const struct pass_counts *pass_counts(const struct pass *p);

/* When the pass should be run again: *at = the earliest retry or held
 * post (unix seconds), or -1 when nothing waits.  On failure (the outbox
 * cannot be read) *at is untouched. */
nt_rc pass_next_due(struct pass *p, int64_t *at, struct nt_err *err);

/* The watcher, for what to watch (watcher_dirs()); borrowed, valid until
 * pass_free(). */
struct watcher *pass_watcher(struct pass *p);

#endif
