/*
 * announce.h - from alerts to the messages each channel sends: the
 * channel filters, one message per post or one digest past the channel's
 * threshold, rendered with the templates.  Shared by `notify --post`,
 * `notify scan` and `notify watch`; it knows channels and the outbox's
 * row shape, not where posts come from.
 */
#ifndef NOTIFY_ANNOUNCE_H
#define NOTIFY_ANNOUNCE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "notify/chan.h"
#include "notify/config.h"
#include "notify/result.h"
#include "notify/store.h"

/* Where rendered messages go.  put() gets the messages of one post (key
 * = its id) or of one digest (key = "digest-N-FIRSTID", covered = the N
 * alerts it announces); it may take the messages (leaving *msgs empty).
 * skip() (may be NULL) hears of a post a channel's filters left out. */
struct announce_sink {
	nt_rc (*put)(struct announce_sink *s, const struct chan_conf *ch,
		     const char *key, struct chan_msgs *msgs,
		     json_object *const *covered, size_t n_covered,
		     struct nt_err *err);
	void (*skip)(struct announce_sink *s, const struct chan_conf *ch,
		     json_object *alert, const char *why);
};

/* Which channels take part: chans[0..n_chans) by name, else every
 * enabled one (a disabled channel renders only when named). */
struct announce_sel {
	const char *const *chans;
	size_t n_chans;
};

/* What rendering takes from the site (borrowed; each may be NULL). */
struct announce_site {
	const char *locale; /* the language when neither the channel nor
			     * the configuration names one */
	const char *link;   /* its home page: a digest's "… and N more" */
};

/* Renders alerts[0..n) (borrowed, in the order they are to be sent) for
 * every selected channel of 'cfg' into 'sink'.  'site' may be NULL;
 * 'now' dates emails.  A digest lists every post a channel can carry
 * within its receiver's limits, the first ones, and says how many more
 * there are; it still covers all n.  Errors: the templates cannot be
 * read or rendered (NT_EIO, NT_EPARSE, with the file), NT_ETOOBIG (a
 * digest that does not fit a channel even listing no post), or what
 * put() returned. */
nt_rc announce_render(const struct config *cfg, json_object *const *alerts,
		      size_t n, const struct announce_site *site,
		      const struct announce_sel *sel, time_t now,
		      struct announce_sink *sink, struct nt_err *err);

/* Prints 'msgs' of channel 'ch' to 'out' as --dry-run shows them: per
 * message a header line "--- NAME (TYPE) CONTENT-TYPE[ to RCPT], N
 * bytes" (with 'key', when not NULL: ": KEY[ (N posts)]"), then exactly
 * the N bytes and a line break if they lack one.  Control characters of
 * the key (a file name) are shown as '?'. */
void announce_print(FILE *out, const struct chan_conf *ch, const char *key,
		    size_t n_covered, const struct chan_msgs *msgs);

/* A sink that collects the outbox rows of each post or digest, across
 * channels, ready for store_commit_batch(): one store_item per key, in
 * the order first met.  Zero-initialise, call announce_queue_init(),
 * free with announce_queue_free(); the fields are private. */
struct announce_bucket;
struct announce_queue {
	struct announce_sink base;
	struct announce_bucket *b;
	size_t n;
	struct chan_msgs keep;	  /* the payloads the rows point into */
	struct store_item *items; /* the view announce_queue_items() lends */
};

void announce_queue_init(struct announce_queue *q);

/* The collected items, *n of them; borrowed from 'q', valid until the
 * next put() or announce_queue_free(). */
const struct store_item *announce_queue_items(struct announce_queue *q,
					      size_t *n);

/* Frees everything 'q' holds (not 'q' itself). */
void announce_queue_free(struct announce_queue *q);

#endif
