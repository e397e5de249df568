/*
 * dispatch.h - the dispatcher (DESIGN.md step 8): claims due delivery
 * rows from the outbox, sends each through its channel, and records what
 * happened: sent, a retry at a later time (exponential backoff with
 * jitter, or what the receiver asked for), or failed (a permanent refusal,
 * or a temporary one that lasted past delivery.max_age).
 *
 * A row is claimed with a lease (delivery.lease), so a daemon and a
 * `notify --post` never send the same row twice, and a row whose sender
 * died is claimed again once its lease has run out.
 */
#ifndef NOTIFY_DISPATCH_H
#define NOTIFY_DISPATCH_H

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

/* Told once per attempt: the row (borrowed), how it ended, and when it
 * will be tried again (-1: never, it is sent or failed). */
typedef void (*dispatch_report_fn)(void *ctx, const struct dlv *row,
				   const struct chan_outcome *o,
				   int64_t next_at);

/* A dispatcher over 'cfg' and 'st' (both borrowed, outliving it).  Secrets
 * are read from the channels' *_file when first needed. */
struct dispatch *dispatch_create(const struct config *cfg, struct store *st);

/* Frees 'd', wiping the secrets it read; dispatch_free(NULL) does
 * nothing. */
void dispatch_free(struct dispatch *d);

/* Sends every row due at 'now' (at most 'max_rows'), oldest first, and
 * records each outcome.  Returns NT_OK when the outbox could be worked
 * (however the sends ended), else the store's error. */
nt_rc dispatch_run(struct dispatch *d, int64_t now, size_t max_rows,
		   dispatch_report_fn fn, void *ctx, struct nt_err *err);

/* When row 'attempts' times tried and answered 'o' should be tried
 * again, 'now' being now; 'seed' varies the jitter. */
int64_t dispatch_next_at(int64_t now, int attempts, long retry_after,
			 uint64_t seed);

#endif
