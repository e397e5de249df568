/*
 * dispatch.h - the delivery engine (DESIGN.md step 8): each channel
 * drains its own due rows of the outbox in a lane of its own, and every
 * lane runs at once, so that one channel's pace (Slack, about one message
 * a second), rate limit (a Matrix 429 pauses that lane only) or outage
 * never delays another.  A lane claims its rows in batches (store.h),
 * hands them to its channel (chan.h: one row per chat message, a session
 * of many for SMTP), and hands each outcome over to be written as soon
 * as the channel tells it: sent, a retry at a later time (exponential backoff
 * with jitter, or what the receiver asked for), or failed (a permanent refusal,
 * or a temporary one that lasted past delivery.max_age).
 *
 * Crash safety: a row is claimed under a lease (delivery.lease) that the
 * engine renews while its send runs, so a slow server never lets another
 * process take it; a row whose sender died (kill -9) is claimed again
 * once its lease has run out, and then sent at most once more (Matrix:
 * never twice, the txnId is the same).  Outcomes are written by the
 * caller's thread as the lanes hand them over, a few milliseconds'
 * worth in one transaction, so a kill re-sends at most those not yet
 * written; a lane waits for its own at the end of each batch (for a
 * chat channel, each message).
 *
 * Lanes are threads; each has its own handle on the outbox.  A channel
 * must therefore be safe to use from one thread at a time (chan.h).
 */
#ifndef NOTIFY_DISPATCH_H
#define NOTIFY_DISPATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/chan.h"
#include "notify/config.h"
#include "notify/result.h"

struct dispatch;
struct store;
struct dlv;

/* First retry delay, doubled each attempt up to the cap (seconds). */
#define DISPATCH_BACKOFF_BASE 30
#define DISPATCH_BACKOFF_CAP 3600

/* Told once per attempt, from any lane but never two at once: the row
 * (borrowed for the call), how it ended, when it will be tried again
 * (-1: never, it is sent or failed), and whether that is its end state
 * for this run ('final' false: a retry this run will make). */
typedef void (*dispatch_report_fn)(void *ctx, const struct dlv *row,
				   const struct chan_outcome *o,
				   int64_t next_at, bool final);

/* Which rows a run works: those of the posts named (none: every post)
 * on the channels named (none: every enabled channel).  Borrowed. */
struct dispatch_scope {
	const char *const *posts;
	size_t n_posts;
	const char *const *chans;
	size_t n_chans;
};

struct dispatch_req {
	struct dispatch_scope scope;
	/* Unix seconds: a lane waits for a retry due by then (`--post`
	 * waits delivery.inline_retry); 0: it sends what is due now. */
	int64_t wait_until;
	/* Set (by a signal handler): each lane finishes the send in flight
	 * and stops.  May be NULL. */
	volatile sig_atomic_t *stop;
	dispatch_report_fn report; /* may be NULL */
	void *ctx;
};

/* An engine over 'cfg' and 'st' (both borrowed, outliving it; lanes open
 * handles of their own on store_path(st)).  Secrets are read from the
 * channels' *_file when a lane starts. */
struct dispatch *dispatch_create(const struct config *cfg, struct store *st);

/* The same with the channel operations of 'ops_of' instead of chan_ops()
 * (a recording channel, for tests). */
struct dispatch *
dispatch_create_with(const struct config *cfg, struct store *st,
		     const struct chan_ops *(*ops_of)(enum chan_type t));

/* Frees 'd'; dispatch_free(NULL) does nothing. */
void dispatch_free(struct dispatch *d);

/* Runs one lane per channel in scope until none has a row due (or due
 * by r->wait_until), or r->stop is set.  Returns NT_OK when the outbox
 * could be worked, however the sends ended; else the first store error
 * of a lane (the other lanes finish their batch and stop). */
nt_rc dispatch_run(struct dispatch *d, const struct dispatch_req *r,
		   struct nt_err *err);

/* When a row tried 'attempts' times and answered with a wait of
 * 'retry_after_ms' (-1: none) should be tried again, 'now' being now
 * (unix seconds); 'seed' varies the jitter. */
int64_t dispatch_next_at(int64_t now, int attempts, long retry_after_ms,
			 uint64_t seed);

#endif
